// Chat pane grouping, as the server does it on page render (portal/messaging/grouping.py):
// each message is marked against the previous one — same author within five minutes →
// "threaded" (CSS hides the avatar and name), a new day in the reader's zone → "first-of-day"
// (CSS shows the day separator). Runs once over the page, then room.js calls it on arrivals.
// Loaded first of the room page's scripts.
(function () {
  "use strict";
  var WINDOW_MS = 5 * 60 * 1000;

  function dayKey(date) {
    return date.getFullYear() + "-" + date.getMonth() + "-" + date.getDate();
  }

  function previousMessage(li) {
    var node = li.previousElementSibling;
    while (node && !node.classList.contains("message")) node = node.previousElementSibling;
    return node;
  }

  function mark(li) {
    var previous = previousMessage(li);
    var at = new Date(li.dataset.at);
    var newDay = !previous || dayKey(new Date(previous.dataset.at)) !== dayKey(at);
    var threaded = !newDay && !!li.dataset.authorId &&
      li.dataset.authorId === previous.dataset.authorId &&
      at - new Date(previous.dataset.at) <= WINDOW_MS;
    li.classList.toggle("first-of-day", newDay);
    li.classList.toggle("threaded", threaded);
  }

  function markAll(list) {
    list.querySelectorAll(":scope > li.message").forEach(mark);
  }

  // The room page's parts, for room.js, message_actions.js and seen.js (null elsewhere).
  function page() {
    var list = document.getElementById("messages");
    var room = document.getElementById("room");
    if (!list || !room) return null;
    return { list: list, room: room, roomId: Number(room.dataset.roomId) };
  }

  window.chatPane = { mark: mark, markAll: markAll, page: page };
  var list = document.getElementById("messages");
  if (list) markAll(list);
})();
