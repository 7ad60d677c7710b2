// Live delivery: the layout's element with sse-connect="/stream" holds the page's one
// event stream (htmx's SSE extension opens and reconnects it). This keeps the room
// list's unread badges current and re-announces each event to the page as live:<type>.
(function () {
  "use strict";
  var listened = new WeakSet();

  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  // The layout's unread total (all rooms) and the tab title follow each room's count.
  // The server counts each room up to a cap (data-cap) and shows "99+" past it; so do we.
  var total = document.getElementById("unread-total");
  var perRoom = total ? JSON.parse(total.dataset.rooms || "{}") : {};
  var cap = total ? parseInt(total.dataset.cap, 10) || 100 : 100;
  function label(count) {
    return count >= cap ? cap - 1 + "+" : String(count);
  }

  // An unread event carries the count (after a read) or an increment (a new message:
  // the server counts nothing per viewer; the page adds it to the count it holds).
  function setBadge(data) {
    var previous = perRoom[data.room_id] || 0;
    var count = Math.min("count" in data ? data.count : previous + data.increment, cap);
    perRoom[data.room_id] = count;
    var badge = document.getElementById("unread-" + data.room_id);
    if (!badge) return;
    badge.textContent = label(count);
    badge.dataset.count = String(count);
    badge.setAttribute("aria-label", label(count) + " unread");
  }

  function showTotal() {
    var sum = Object.keys(perRoom).reduce(function (n, id) { return n + perRoom[id]; }, 0);
    if (total) {
      total.dataset.count = String(sum);
      total.firstChild.textContent = " " + label(sum);
    }
    var title = document.title.replace(/^\(\d+\+?\) /, "");
    document.title = sum ? "(" + label(sum) + ") " + title : title;
  }
  if (total) showTotal();

  function listen(source) {
    ["message", "unread", "access", "room", "update", "seen"].forEach(function (type) {
      source.addEventListener(type, function (event) {
        var data = JSON.parse(event.data);
        if (type === "unread") {
          setBadge(data);
          showTotal();
        }
        announce("live:" + type, data);
      });
    });
  }

  // Room list pages: new messages, new rooms and renames re-order and re-word the list,
  // so fetch it again (at most every half second) rather than patching rows; so do edits
  // and deletions (a row shows its room's latest message).
  var refreshTimer = null;
  function refreshRoomLists() {
    var lists = document.getElementById("room-lists");
    if (!lists || refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      // Same page of the list (?page=); the browser revalidates with If-None-Match, so an
      // unchanged list costs a 304 (portal/web/etags.py).
      htmx.ajax("GET", location.pathname + location.search, { target: "#room-lists", select: "#room-lists", swap: "outerHTML ignoreTitle:true" });
    }, 500);
  }
  var opened = false;
  ["live:message", "live:room", "live:update"].forEach(function (name) {
    document.addEventListener(name, refreshRoomLists);
  });
  document.addEventListener("live:open", function () {
    if (opened) refreshRoomLists(); // a reconnect: the list may have missed events
    opened = true;
  });

  // Fired on every (re)connect. The extension's reconnects send no Last-Event-ID, so
  // pages catch up from the database on live:open instead.
  document.addEventListener("htmx:sseOpen", function (event) {
    var source = event.detail.source;
    if (!listened.has(source)) {
      listened.add(source);
      listen(source);
    }
    document.body.dataset.live = "open";
    announce("live:open", {});
  });
  // A stream that fails may mean the session ended (logged out elsewhere, deactivated):
  // if this page now redirects, reload it so the login page shows instead of a page
  // that silently stopped updating.
  var checking = false;
  document.addEventListener("htmx:sseError", function () {
    document.body.dataset.live = "reconnecting";
    if (checking) return;
    checking = true;
    fetch(location.pathname, { redirect: "manual", credentials: "same-origin" })
      .then(function (response) {
        checking = false;
        if (response.type === "opaqueredirect") location.reload();
      })
      .catch(function () { checking = false; });
  });
})();
