// Room page: open at the first unread (else the newest) message, Enter sends and
// Shift+Enter adds a line, live messages appear in id order exactly once (grouped by
// chat.js), missed ones are fetched after reconnects, a "Jump to latest" button shows
// while reading back, and what arrives while the tab is visible is marked read.
(function () {
  "use strict";
  var page = window.chatPane && window.chatPane.page();
  if (!page) return;
  var list = page.list, room = page.room, roomId = page.roomId;
  var composer = document.getElementById("composer");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var lost = false;
  var markedThrough = 0;
  var catching = false;
  var catchAgain = false;

  var pane = document.getElementById("pane");
  var jump = document.getElementById("jump-latest");

  // The pane is a column-reverse scroller: it opens at the newest message without
  // JavaScript; here it opens at the "New messages" divider when there is one.
  var divider = document.getElementById("new-messages");
  if (!location.hash && divider) divider.scrollIntoView({ block: "start" });

  // How far the newest message is below the pane's visible bottom edge (in pixels).
  function distanceFromBottom() {
    return pane.firstElementChild.getBoundingClientRect().bottom - pane.getBoundingClientRect().bottom;
  }

  function atBottom() {
    return distanceFromBottom() < 80;
  }

  function toBottom(smooth) {
    pane.scrollTo({ top: pane.scrollHeight, behavior: smooth ? "smooth" : "auto" });
    jump.hidden = true;
  }

  pane.addEventListener("scroll", function () {
    if (atBottom()) jump.hidden = true;
    else if (distanceFromBottom() > 300) jump.hidden = false;
  }, { passive: true });
  jump.addEventListener("click", function () { toBottom(true); });

  function regroup() {
    if (window.chatPane) window.chatPane.markAll(list);
  }

  function messageId(li) {
    return Number(li.dataset.messageId);
  }

  function shown() {
    return Array.prototype.slice.call(list.querySelectorAll(":scope > li.message"));
  }

  function lastId() {
    return shown().reduce(function (max, li) { return Math.max(max, messageId(li)); }, 0);
  }

  // Insert message <li>s by id; ones already on the page are skipped. Returns how many were new.
  function insert(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var added = 0;
    template.content.querySelectorAll("li.message").forEach(function (li) {
      var id = messageId(li);
      if (list.querySelector(':scope > li.message[data-message-id="' + id + '"]')) return;
      var next = shown().find(function (other) { return messageId(other) > id; });
      list.insertBefore(li, next || null);
      if (window.htmx) htmx.process(li);
      added += 1;
    });
    if (added) {
      var empty = document.getElementById("no-messages");
      if (empty) empty.remove();
      regroup();
    }
    return added;
  }

  // After htmx appends our own sent message, the live copy may already be there.
  function tidy() {
    var seen = {};
    var previous = 0;
    shown().forEach(function (li) {
      var id = messageId(li);
      if (seen[id]) { li.remove(); return; }
      seen[id] = true;
      if (id < previous) {
        var next = shown().find(function (other) { return messageId(other) > id; });
        list.insertBefore(li, next);
      }
      previous = Math.max(previous, id);
    });
  }

  function markRead() {
    if (lost || document.visibilityState !== "visible") return;
    var through = lastId();
    if (!through || through <= markedThrough) return;
    markedThrough = through;
    var body = new FormData();
    body.append("through", String(through));
    fetch(room.dataset.readUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "HX-Request": "true" },
    }).catch(function () { markedThrough = 0; });
  }

  function loseAccess() {
    if (lost) return;
    lost = true;
    var notice = document.getElementById("access-lost");
    if (notice) notice.hidden = false;
    var changed = document.getElementById("room-changed");
    if (changed) changed.hidden = true; // one notice at a time: losing access says it all
    if (composer) {
      composer.classList.add("closed");
      composer.querySelectorAll("textarea, button, input").forEach(function (el) {
        el.disabled = true;
      });
    }
  }

  // Fetch everything after the newest message shown, a page at a time.
  function catchUp() {
    if (lost) return;
    if (catching) { catchAgain = true; return; }
    catching = true;
    fetch(room.dataset.messagesUrl + "?after=" + lastId(), {
      credentials: "same-origin",
      headers: { "HX-Request": "true" },
    }).then(function (response) {
      if (response.status === 404 || response.status === 403) { loseAccess(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      catching = false;
      if (html && insert(html)) catchAgain = true;
      if (catchAgain) { catchAgain = false; catchUp(); } else { markRead(); }
    }).catch(function () { catching = false; });
  }

  document.addEventListener("live:open", catchUp);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") catchUp();
  });
  document.addEventListener("live:message", function (event) {
    if (lost || event.detail.room_id !== roomId) return;
    var wasAtBottom = atBottom();
    if (insert(event.detail.html)) {
      if (wasAtBottom) toBottom(true);
      else jump.hidden = false;
      markRead();
    }
  });
  document.addEventListener("live:room", function (event) {
    var data = event.detail;
    if (data.room_id !== roomId) return;
    var heading = room.querySelector("h1");
    if (heading) heading.textContent = data.title;
    document.title = data.title + " · Portal Messaging";
    var notice = document.getElementById("room-changed");
    if (notice && !lost && data.archived !== (room.dataset.archived === "true")) {
      notice.hidden = false;
      if (data.archived && composer) {
        composer.querySelectorAll("textarea, input, button").forEach(function (el) { el.disabled = true; });
      }
    }
  });
  document.addEventListener("live:access", function (event) {
    if (event.detail.room_id === roomId) loseAccess();
    else if (event.detail.room_id === null) catchUp();
  });

  // Our own message, sent by the composer (upload.js): the live copy may be there already.
  document.addEventListener("composer:sent", function (event) {
    insert(event.detail.html);
    toBottom(true);
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === list) {
      tidy();
      var empty = document.getElementById("no-messages");
      if (empty) empty.remove();
      toBottom(true);
    }
    regroup(); // our own message, or a page of older ones above the first
  });

  if (!composer) return;
  var box = composer.querySelector("textarea");
  var hint = document.getElementById("composer-hint");
  // On touch screens Enter keeps adding lines: there is no Shift key to hold.
  var enterSends = !window.matchMedia("(pointer: coarse)").matches;
  if (hint && enterSends) hint.hidden = false;

  function hasContent() {
    var files = composer.querySelector("input[type=file]");
    return box.value.trim() !== "" || (files && files.files.length > 0);
  }

  composer.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing || lost || event.target !== box) return;
    if (event.defaultPrevented) return; // e.g. Enter picked a @mention suggestion
    var send = event.ctrlKey || event.metaKey || (enterSends && !event.shiftKey && !event.altKey);
    if (!send) return;
    event.preventDefault();
    if (hasContent()) composer.requestSubmit();
  });

  // The box grows with its text, up to a third of the screen (CSS max-height).
  function fit() {
    box.style.height = "auto";
    box.style.height = box.scrollHeight + 2 + "px";
  }
  box.addEventListener("input", fit);
  composer.addEventListener("composer:changed", fit);
})();
