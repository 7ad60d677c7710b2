// Room page niceties: start at the newest message, Ctrl/Cmd+Enter sends.
(function () {
  "use strict";
  var list = document.getElementById("messages");
  if (list && !location.hash) {
    list.lastElementChild && list.lastElementChild.scrollIntoView({ block: "end" });
  }
  var composer = document.getElementById("composer");
  if (!composer) return;
  composer.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === list) {
      var empty = document.getElementById("no-messages");
      if (empty) empty.remove();
      list.lastElementChild.scrollIntoView({ block: "end", behavior: "smooth" });
    }
  });
})();
