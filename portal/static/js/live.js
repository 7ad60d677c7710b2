// Live delivery: one event stream per browser, shared by its tabs (a browser opens at most
// 6 connections per host over HTTP/1.1). Where the browser has SharedWorker, live_worker.js
// holds /stream for every tab; else the tabs elect a holder with a Web Lock and pass its
// events on over a BroadcastChannel (the next tab takes over when the holder closes);
// without either, each tab holds its own. Every tab announces each event to its page as
// live:<type> and catches up from the database on live:open (?after=). This file also
// keeps the room list's unread badges current. window.PortalLive.mode says which way.
(function () {
  "use strict";
  var element = document.getElementById("live");
  if (!element) return;
  var streamUrl = element.dataset.stream;
  var workerUrl = element.dataset.worker;
  var TYPES = ["message", "unread", "access", "room", "update", "seen"];
  var CHANNEL = "portal-live";

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

  // What every way of receiving does with what the stream said.
  function received(message) {
    if (message.kind === "open") {
      document.body.dataset.live = "open";
      announce("live:open", {});
    } else if (message.kind === "error") {
      document.body.dataset.live = "reconnecting";
      checkSession();
    } else if (message.kind === "event") {
      var data = JSON.parse(message.data);
      if (message.type === "unread") {
        setBadge(data);
        showTotal();
      }
      announce("live:" + message.type, data);
    }
  }

  // An EventSource of this tab's own (the holder, or every tab without sharing).
  var source = null;
  function openSource(tell) {
    if (source) source.close();
    source = new EventSource(streamUrl);
    source.onopen = function () { tell({ kind: "open" }); };
    source.onerror = function () {
      tell({ kind: "error" });
      if (source.readyState === EventSource.CLOSED) {
        // An HTTP error: EventSource gives up; try again while the session lasts.
        source = null;
        setTimeout(function () { if (!source) openSource(tell); }, 5000);
      }
    };
    TYPES.forEach(function (type) {
      source.addEventListener(type, function (event) {
        tell({ kind: "event", type: type, data: event.data, id: event.lastEventId });
      });
    });
  }

  var control; // how tests and checkSession reach whoever holds the stream
  var mode;
  if (window.SharedWorker && workerUrl) {
    mode = "shared";
    var worker = new SharedWorker(workerUrl, { name: "portal-live" });
    worker.port.onmessage = function (event) { received(event.data); };
    worker.port.start();
    worker.port.postMessage({ kind: "hello", url: new URL(streamUrl, location.href).href });
    window.addEventListener("pagehide", function (event) {
      if (!event.persisted) worker.port.postMessage({ kind: "bye" });
    });
    control = function (kind) { worker.port.postMessage({ kind: kind }); };
  } else if (window.BroadcastChannel && navigator.locks) {
    mode = "follower";
    var channel = new BroadcastChannel(CHANNEL);
    var holding = false;
    var me = Math.random().toString(36).slice(2);
    channel.onmessage = function (event) {
      var message = event.data || {};
      if (message.kind === "control") {
        if (holding) hold(message.what, message.from);
        return;
      }
      if (!holding && (!message.to || message.to === me)) received(message);
    };
    var hold = function (what, from) {
      // A tab that just opened: tell it (only it) that the stream is open.
      if (what === "hello" && source && source.readyState === EventSource.OPEN) {
        channel.postMessage({ kind: "open", to: from });
      }
      if (what === "drop" && source) { source.close(); source = null; }
      if (what === "reconnect" || (what === "retry" && !source)) openSource(tellAll);
    };
    var tellAll = function (message) {
      channel.postMessage(message);
      received(message);
    };
    // The lock is held until this tab closes; then the browser grants it to the next tab.
    navigator.locks.request(CHANNEL, function () {
      holding = true;
      mode = "holder";
      document.body.dataset.liveRole = "holder";
      openSource(tellAll);
      return new Promise(function () {});
    });
    control = function (kind) {
      if (holding) hold(kind);
      else channel.postMessage({ kind: "control", what: kind, from: me });
    };
    control("hello");
  } else {
    mode = "own";
    openSource(received);
    control = function (kind) {
      if (kind === "drop" && source) { source.close(); source = null; }
      if (kind === "reconnect" || (kind === "retry" && !source)) openSource(received);
    };
  }
  document.body.dataset.liveRole = document.body.dataset.liveRole || mode;

  // A stream that fails may mean the session ended (logged out elsewhere, deactivated):
  // if this page now redirects, reload it so the login page shows instead of a page
  // that silently stopped updating; else ask the holder to reconnect now.
  var checking = false;
  function checkSession() {
    if (checking) return;
    checking = true;
    fetch(location.pathname, { redirect: "manual", credentials: "same-origin" })
      .then(function (response) {
        checking = false;
        if (response.type === "opaqueredirect") location.reload();
        else if (response.ok) control("retry");
      })
      .catch(function () { checking = false; });
  }

  window.PortalLive = {
    get mode() { return mode; },
    // For tests: drop the shared stream as a lost connection does, then reconnect it.
    drop: function () { control("drop"); },
    reconnect: function () { control("reconnect"); },
  };

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
})();
