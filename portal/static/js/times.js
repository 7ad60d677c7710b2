// Show <time datetime="…"> in the reader's own time zone (the server writes UTC, which
// is what people without JavaScript see). New messages are covered as they arrive.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function localize(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.title = el.textContent;
      el.textContent = format.format(when);
      el.dataset.local = "1";
    });
  }

  localize(document);
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(function (node) {
        if (node.nodeType === 1) localize(node.parentNode || node);
      });
    });
  }).observe(document.body, { childList: true, subtree: true });
})();
