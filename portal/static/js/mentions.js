// chat: typing "@" plus a few letters in the composer offers the room's participants;
// picking one writes "@First Last ". Without JavaScript, typing the full name works too.
(function () {
  "use strict";
  var box = document.querySelector("#composer textarea[name=body]");
  if (!box) return;
  var names = Array.prototype.map.call(
    document.querySelectorAll("[data-mention-name]"),
    function (li) { return li.dataset.mentionName; }
  );
  if (!names.length) return;
  var menu = document.createElement("ul");
  menu.className = "mention-menu";
  menu.id = "mention-menu";
  menu.setAttribute("role", "listbox");
  menu.setAttribute("aria-label", "Mention a participant");
  menu.hidden = true;
  box.after(menu);
  var active = 0;

  function query() {
    var before = box.value.slice(0, box.selectionStart);
    var match = /(^|\s)@([^@\n]{0,30})$/.exec(before);
    return match ? match[2] : null;
  }

  function options() {
    return Array.prototype.slice.call(menu.querySelectorAll("li"));
  }

  function render() {
    var typed = query();
    menu.textContent = "";
    if (typed === null) { menu.hidden = true; return; }
    var lower = typed.toLowerCase();
    names.filter(function (name) { return name.toLowerCase().indexOf(lower) === 0; })
      .slice(0, 8)
      .forEach(function (name, index) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.textContent = name;
        li.setAttribute("aria-selected", index === 0 ? "true" : "false");
        li.addEventListener("mousedown", function (event) { event.preventDefault(); pick(name); });
        menu.append(li);
      });
    active = 0;
    menu.hidden = options().length === 0;
  }

  function pick(name) {
    var caret = box.selectionStart;
    var before = box.value.slice(0, caret);
    var start = before.lastIndexOf("@");
    box.value = box.value.slice(0, start) + "@" + name + " " + box.value.slice(caret);
    var end = start + name.length + 2;
    box.setSelectionRange(end, end);
    menu.hidden = true;
    box.focus();
  }

  box.addEventListener("input", render);
  box.addEventListener("blur", function () { menu.hidden = true; });
  box.addEventListener("keydown", function (event) {
    if (menu.hidden) return;
    var items = options();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === active ? "true" : "false"); });
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      pick(items[active].textContent);
    } else if (event.key === "Escape") {
      menu.hidden = true;
    }
  });
})();
