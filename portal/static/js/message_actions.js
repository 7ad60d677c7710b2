// chat: edits and deletions arrive live (live:update) and replace the message in place,
// unless this page is editing it right now. htmx handles the Edit/Delete links themselves.
// After a reconnect the page asks …/changes what it missed (edits, deletions, read
// positions) and replays it as the same live:update / live:seen events.
(function () {
  "use strict";
  var page = window.chatPane && window.chatPane.page();
  if (!page) return;
  var list = page.list, room = page.room, roomId = page.roomId;

  document.addEventListener("live:update", function (event) {
    var data = event.detail;
    if (data.room_id !== roomId) return;
    var current = document.getElementById("message-" + data.message_id);
    if (!current || current.classList.contains("editing")) return;
    var template = document.createElement("template");
    template.innerHTML = data.html;
    var fresh = template.content.querySelector("li.message");
    if (!fresh) return;
    current.replaceWith(fresh);
    if (window.htmx) htmx.process(fresh);
    document.dispatchEvent(new CustomEvent("chat:message-replaced", { detail: { element: fresh } }));
  });

  var cursor = Number(room.dataset.changesCursor || 0);
  var fetching = false;
  function replay(name, items) {
    items.forEach(function (detail) {
      document.dispatchEvent(new CustomEvent(name, { detail: detail }));
    });
  }
  function catchUpChanges() {
    var shown = list.querySelectorAll(":scope > li.message");
    if (fetching || !shown.length || !room.dataset.changesUrl) return;
    fetching = true;
    var url = room.dataset.changesUrl + "?since=" + cursor +
      "&from=" + shown[0].dataset.messageId + "&through=" + shown[shown.length - 1].dataset.messageId;
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true", Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        fetching = false;
        if (!data) return;
        cursor = Math.max(cursor, data.cursor);
        replay("live:update", data.updates);
        replay("live:seen", data.seen);
      })
      .catch(function () { fetching = false; });
  }
  var opened = false;
  // Every open, the first too: changes made between the page's render and its stream's
  // first open would be missed otherwise.
  document.addEventListener("live:open", function () {
    opened = true;
    catchUpChanges();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && opened) catchUpChanges();
  });
})();
