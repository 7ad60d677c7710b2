// Composer: a styled "Attach files" button with the chosen files listed, images pasted or
// dropped become attachments, limits checked before sending, a progress bar while files
// go up, and the draft is never lost: only what was sent is cleared when the send
// succeeds, so text typed while it was in flight stays in the box.
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
  var inFlight = null; // what the request on its way carries: {text, files}

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

  form.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt !== form) return;
    var message = refusal();
    if (message) {
      event.preventDefault();
      show(message);
      return;
    }
    inFlight = { text: box.value, files: files() };
    if (inFlight.files.length) {
      bar.value = 0;
      bar.hidden = false;
    }
  });
  // htmx reports both the upload and the (small) response download; only the upload counts.
  form.addEventListener("htmx:xhr:progress", function (event) {
    if (!bar.hidden && event.detail.lengthComputable && event.detail.total) {
      bar.value = Math.max(bar.value, Math.round((100 * event.detail.loaded) / event.detail.total));
    }
  });
  form.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt !== form) return;
    bar.hidden = true;
    var sent = inFlight;
    inFlight = null;
    if (!sent || event.detail.xhr.status !== 200) return;
    // Clear what was sent, keep whatever was typed or attached meanwhile.
    if (box.value.indexOf(sent.text) === 0) box.value = box.value.slice(sent.text.length).replace(/^\n+/, "");
    var left = files().filter(function (file) { return sent.files.indexOf(file) < 0; });
    if (left.length !== files().length) setFiles(left);
    changed();
  });
  // 4xx/5xx other than 422 don't swap: put their (short, plain-text) reason in the form.
  form.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    // Error responses to htmx requests are one sentence of plain text (portal/errors.py).
    var reason = xhr.status < 500 && xhr.responseText && xhr.responseText.length < 400 &&
      xhr.responseText.indexOf("<") === -1 ? xhr.responseText + " " : "";
    show(reason + "That message was not sent (error " + xhr.status + "); your text is still here.");
  });
  form.addEventListener("htmx:sendError", function () {
    show("The upload did not reach the server. Check your connection and send again.");
  });
})();
