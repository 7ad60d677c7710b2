// Show <time datetime="…"> in the reader's own time zone (the server writes UTC, which
// is what people without JavaScript see). New messages are covered as they arrive.
// data-format="time": the clock time only (the pane's day separators give the date);
// data-format="day": "Today", "Yesterday", a weekday this week, else the date.
(function () {
  "use strict";
  var formats = {
    full: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }),
    time: new Intl.DateTimeFormat(undefined, { timeStyle: "short" }),
    weekday: new Intl.DateTimeFormat(undefined, { weekday: "long" }),
    date: new Intl.DateTimeFormat(undefined, { dateStyle: "long" }),
  };
  var DAY_MS = 24 * 60 * 60 * 1000;

  function dayLabel(when) {
    var today = new Date();
    today.setHours(0, 0, 0, 0);
    var day = new Date(when.getTime());
    day.setHours(0, 0, 0, 0);
    var daysAgo = Math.round((today - day) / DAY_MS);
    if (daysAgo === 0) return "Today";
    if (daysAgo === 1) return "Yesterday";
    if (daysAgo > 1 && daysAgo < 7) return formats.weekday.format(when);
    return formats.date.format(when);
  }

  function localize(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      var kind = el.dataset.format;
      if (kind !== "day") el.title = el.textContent;
      el.textContent = kind === "day" ? dayLabel(when) : (formats[kind] || formats.full).format(when);
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
