// chat: read positions, live. Staff pages ("names") move each reader's initials under the
// newest shown message they have read; client pages ("plain") show "Seen" on the client's
// own latest message once staff read that far.
(function () {
  "use strict";
  var page = window.chatPane && window.chatPane.page();
  if (!page) return;
  var list = page.list, room = page.room, roomId = page.roomId;
  var viewerId = room.dataset.viewerId;
  var mode = room.dataset.seenMode;
  var staffThrough = Number(room.dataset.staffThrough || 0);

  function messages() {
    return Array.prototype.slice.call(list.querySelectorAll(":scope > li.message"));
  }

  function markerFor(li, text) {
    var marker = list.querySelector(':scope > li.seen-by[data-seen-for="' + li.dataset.messageId + '"]');
    if (!marker) {
      marker = document.createElement("li");
      marker.className = "seen-by";
      marker.dataset.seenFor = li.dataset.messageId;
      marker.textContent = text;
      li.after(marker);
    }
    return marker;
  }

  // Markers follow their message when messages are inserted or replaced.
  function tidy() {
    list.querySelectorAll(":scope > li.seen-by").forEach(function (marker) {
      var li = document.getElementById("message-" + marker.dataset.seenFor);
      if (!li || (mode === "names" && !marker.querySelector("abbr"))) { marker.remove(); return; }
      if (li.nextElementSibling !== marker) li.after(marker);
    });
  }

  function placeReader(data) {
    var old = list.querySelector('li.seen-by abbr[data-user-id="' + data.user_id + '"]');
    if (old) old.remove();
    var spot = null;
    messages().forEach(function (li) {
      if (Number(li.dataset.messageId) <= data.through) spot = li;
    });
    if (spot) {
      var marker = markerFor(spot, "Seen by ");
      var abbr = document.createElement("abbr");
      abbr.dataset.userId = String(data.user_id);
      abbr.title = data.name;
      abbr.textContent = data.initials;
      if (marker.querySelector("abbr")) marker.append(" ");
      marker.append(abbr);
    }
    tidy();
  }

  function placeSeen() {
    list.querySelectorAll(":scope > li.seen-by").forEach(function (marker) { marker.remove(); });
    var own = messages().filter(function (li) { return li.dataset.authorId === viewerId; });
    var latest = own[own.length - 1];
    if (latest && Number(latest.dataset.messageId) <= staffThrough) markerFor(latest, "Seen");
  }

  document.addEventListener("live:seen", function (event) {
    var data = event.detail;
    if (data.room_id !== roomId) return;
    if (mode === "names" && data.user_id !== undefined) placeReader(data);
    if (mode === "plain" && data.staff_through !== undefined) {
      staffThrough = Math.max(staffThrough, data.staff_through);
      placeSeen();
    }
  });
  ["live:message", "chat:message-replaced", "htmx:afterSwap", "composer:sent"].forEach(function (name) {
    document.addEventListener(name, function () {
      setTimeout(mode === "plain" ? placeSeen : tidy, 0);
    });
  });
})();
