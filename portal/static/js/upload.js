// Composer: a styled "Attach files" button with the chosen files listed, images pasted or
// dropped become attachments, limits checked before sending, a progress bar while files
// go up — and every message sent as its own. Send (or Enter) moves the text and files out
// of the box at once into a pending message below the conversation; pending messages go
// out one at a time, in order. One refused for a passing reason (sending too fast: 429;
// the database away: 503; no connection) stays pending, says so, and goes out again after
// the server's Retry-After, under the same id (so an attempt that did arrive is not stored
// twice). Message boundaries are data: nothing typed meanwhile is ever glued to it.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form || form.dataset.uploadReady) return;
  form.dataset.uploadReady = "1";
  form.classList.add("enhanced");
  var input = form.querySelector("input[type=file]");
  var box = form.querySelector("textarea");
  var bar = document.getElementById("upload-progress");
  var error = document.getElementById("composer-error");
  var chosen = document.getElementById("files-chosen");
  var maxBytes = Number(form.dataset.maxFileBytes);
  var maxFiles = Number(form.dataset.maxFiles);
  var outbox = document.getElementById("outbox");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var queue = []; // pending messages, oldest first: {id, text, files, li, state}
  var sending = false;
  // Waits when the server names none: a dropped connection, a proxy's 502/504.
  var DEFAULT_WAIT_SECONDS = 5;

  function show(message) {
    error.textContent = message;
  }

  function files() {
    return input ? Array.prototype.slice.call(input.files) : [];
  }

  function changed() {
    form.dispatchEvent(new CustomEvent("composer:changed"));
  }

  function listChosen() {
    chosen.textContent = "";
    files().forEach(function (file) {
      var li = document.createElement("li");
      li.textContent = file.name;
      chosen.appendChild(li);
    });
    if (files().length) {
      var clear = document.createElement("button");
      clear.type = "button";
      clear.className = "link-button";
      clear.textContent = "Remove files";
      clear.addEventListener("click", function () { setFiles([]); box.focus(); });
      var li = document.createElement("li");
      li.appendChild(clear);
      chosen.appendChild(li);
    }
    chosen.hidden = files().length === 0;
  }

  function setFiles(list) {
    var transfer = new DataTransfer();
    list.forEach(function (file) { transfer.items.add(file); });
    input.files = transfer.files;
    listChosen();
  }

  // Pasted or dropped files join the ones already chosen.
  function addFiles(extra) {
    if (!input || !extra.length) return;
    setFiles(files().concat(extra));
    show("");
  }

  function refusal() {
    var list = files();
    if (list.length > maxFiles) {
      return "You attached " + list.length + " files; a message can carry at most " +
        maxFiles + ". Nothing was sent.";
    }
    for (var i = 0; i < list.length; i++) {
      if (list[i].size > maxBytes) {
        return "\u201c" + list[i].name + "\u201d is larger than " + form.dataset.maxUploadMb +
          " MB, the limit for one file. Nothing was sent.";
      }
    }
    return null;
  }

  if (input) input.addEventListener("change", listChosen);

  box.addEventListener("paste", function (event) {
    var pasted = Array.prototype.slice.call((event.clipboardData || {}).files || []);
    if (!pasted.length) return;
    addFiles(pasted);
    // A picture copied from a page also carries its address as text: keep only the file.
    if (!event.clipboardData.getData("text/plain")) event.preventDefault();
  });
  form.addEventListener("dragover", function (event) {
    if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
      event.preventDefault();
      form.classList.add("dropping");
    }
  });
  form.addEventListener("dragleave", function () { form.classList.remove("dropping"); });
  form.addEventListener("drop", function (event) {
    form.classList.remove("dropping");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    addFiles(Array.prototype.slice.call(event.dataTransfer.files));
  });

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function button(label, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "link-button";
    b.textContent = label;
    b.addEventListener("click", action);
    return b;
  }

  // The pending message as the sender sees it: its text, its files, where it stands.
  function render(item) {
    var li = document.createElement("li");
    li.className = "pending";
    var body = document.createElement("p");
    body.className = "body";
    body.textContent = item.text;
    li.appendChild(body);
    if (item.files.length) {
      var names = document.createElement("p");
      names.className = "pending-files";
      names.textContent = item.files.map(function (file) { return file.name; }).join(", ");
      li.appendChild(names);
    }
    var status = document.createElement("p");
    status.className = "pending-status";
    li.appendChild(status);
    outbox.appendChild(li);
    outbox.hidden = false;
    return li;
  }

  function setState(item, state, text, actions) {
    item.state = state;
    item.li.dataset.state = state;
    var status = item.li.querySelector(".pending-status");
    status.textContent = text + " ";
    (actions || []).forEach(function (action) { status.appendChild(action); });
  }

  function forget(item) {
    clearTimeout(item.timer);
    queue.splice(queue.indexOf(item), 1);
    item.li.remove();
    outbox.hidden = queue.length === 0;
    pump();
  }

  function discardButton(item) {
    return button("Discard", function () { forget(item); box.focus(); });
  }

  // Back into the box to change it — only into an empty box: never glued to other text.
  function editButton(item) {
    return button("Edit", function () {
      if (box.value.trim() !== "" || files().length) {
        show("Send or clear the message you are writing first, then edit this one.");
        return;
      }
      box.value = item.text;
      if (input) setFiles(item.files);
      forget(item);
      changed();
      box.focus();
    });
  }

  // The one sentence an error response to a composer request carries (portal/web/errors.py).
  function reason(xhr) {
    var text = (xhr.responseText || "").trim();
    if (!text || text.length > 400 || text.indexOf("<") !== -1) return "";
    var decoder = document.createElement("textarea");
    decoder.innerHTML = text; // the error partial is escaped HTML text
    return decoder.value;
  }

  function pump() {
    if (sending) return;
    var next = queue.filter(function (item) { return item.state !== "failed"; })[0];
    if (next && next.state === "queued") send(next);
  }

  function send(item) {
    sending = true;
    setState(item, "sending", "Sending…");
    var data = new FormData();
    data.append("csrf_token", csrf);
    data.append("client_msg_id", item.id);
    data.append("body", item.text);
    item.files.forEach(function (file) { data.append("files", file, file.name); });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    if (item.files.length) {
      bar.value = 0;
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable || !event.total) return;
        bar.value = Math.max(bar.value, Math.round((100 * event.loaded) / event.total));
        form.dispatchEvent(new CustomEvent("composer:progress", { detail: { value: bar.value } }));
      });
    }
    xhr.addEventListener("load", function () { answered(item, xhr); });
    xhr.addEventListener("error", function () { answered(item, xhr); });
    xhr.send(data);
  }

  function answered(item, xhr) {
    sending = false;
    bar.hidden = true;
    var status = xhr.status;
    if (status === 200) {
      forget(item);
      document.dispatchEvent(new CustomEvent("composer:sent", { detail: { html: xhr.responseText } }));
      return;
    }
    if (status === 429 || status === 503 || status === 0 || status === 502 || status === 504) {
      var wait = Number(xhr.getResponseHeader("Retry-After")) || DEFAULT_WAIT_SECONDS;
      var why = status === 429 ? "you are sending messages very fast."
        : status === 503 ? "the portal cannot save messages just now."
        : "the portal could not be reached.";
      setState(item, "waiting", "Not sent yet: " + why + " Sending it again in " + wait + " s.",
        [discardButton(item)]);
      item.timer = setTimeout(function () { item.state = "queued"; pump(); }, wait * 1000);
    } else {
      var text = reason(xhr) || "error " + status + ".";
      setState(item, "failed", "Not sent: " + text, [editButton(item), discardButton(item)]);
    }
    pump();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (form.classList.contains("closed")) return;
    var refused = refusal();
    if (refused) {
      show(refused);
      return;
    }
    if (box.value.trim() === "" && !files().length) {
      show("Write a message or attach a file before sending.");
      return;
    }
    show("");
    var item = { id: newId(), text: box.value, files: files(), state: "queued" };
    item.li = render(item);
    queue.push(item);
    box.value = "";
    if (item.files.length) setFiles([]);
    changed();
    pump();
  });

  // Leaving with messages still pending would lose them: the browser asks first.
  window.addEventListener("beforeunload", function (event) {
    if (!queue.length) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
