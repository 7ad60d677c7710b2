// Composer uploads: a progress bar while files go up, and limits checked before sending.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form || form.dataset.uploadReady) return;
  form.dataset.uploadReady = "1";
  var input = form.querySelector("input[type=file]");
  var bar = document.getElementById("upload-progress");
  var error = document.getElementById("composer-error");
  var maxBytes = Number(form.dataset.maxFileBytes);
  var maxFiles = Number(form.dataset.maxFiles);

  function show(message) {
    error.textContent = message;
  }

  function refusal() {
    var files = input ? Array.prototype.slice.call(input.files) : [];
    if (files.length > maxFiles) {
      return "You attached " + files.length + " files; a message can carry at most " +
        maxFiles + ". Nothing was sent.";
    }
    for (var i = 0; i < files.length; i++) {
      if (files[i].size > maxBytes) {
        return "\u201c" + files[i].name + "\u201d is larger than " + form.dataset.maxUploadMb +
          " MB, the limit for one file. Nothing was sent.";
      }
    }
    return null;
  }

  form.addEventListener("htmx:beforeRequest", function (event) {
    var message = refusal();
    if (message) {
      event.preventDefault();
      show(message);
      return;
    }
    if (input && input.files.length) {
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
    bar.hidden = true;
    if (event.detail.elt === form && event.detail.xhr.status === 200) {
      form.querySelector("textarea").value = ""; // sent: clear the draft
      if (input) input.value = "";
    }
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
