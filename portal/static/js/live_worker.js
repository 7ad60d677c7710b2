// The browser's one live connection, shared by every tab of the portal (a SharedWorker:
// live.js starts it). It holds the user's /stream and passes each event to every tab; a
// browser allows 6 connections per host over HTTP/1.1, so one stream per tab would leave
// the 7th tab waiting forever. The EventSource's own reconnects send Last-Event-ID, and
// the server replays what was missed (portal/live/catch_up.py).
"use strict";

var TYPES = ["message", "unread", "access", "room", "update", "seen"];
var ports = [];
var source = null;
var url = null;
var isOpen = false;
var retryMs = 2000;
var retryTimer = null;
var dropped = false;

function tell(message) {
  ports.forEach(function (port) { port.postMessage(message); });
}

function open() {
  if (source || dropped || !url) return;
  source = new EventSource(url);
  source.onopen = function () {
    retryMs = 2000;
    isOpen = true;
    tell({ kind: "open" });
  };
  source.onerror = function () {
    isOpen = false;
    tell({ kind: "error" });
    // CONNECTING: the browser reconnects by itself (with Last-Event-ID). CLOSED: an HTTP
    // error (401 after a logout, 502 during a deploy): try again later, more slowly.
    if (source.readyState === EventSource.CLOSED) {
      source = null;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    }
  };
  TYPES.forEach(function (type) {
    source.addEventListener(type, function (event) {
      tell({ kind: "event", type: type, data: event.data, id: event.lastEventId });
    });
  });
}

function close() {
  if (source) source.close();
  source = null;
  isOpen = false;
}

self.onconnect = function (connection) {
  var port = connection.ports[0];
  ports.push(port);
  port.onmessage = function (event) {
    var message = event.data || {};
    if (message.kind === "hello") {
      url = url || message.url;
      if (isOpen) port.postMessage({ kind: "open" }); // the new tab catches up now
      open();
    } else if (message.kind === "bye") {
      ports = ports.filter(function (other) { return other !== port; });
    } else if (message.kind === "retry") {
      // A tab found its session fine after an error: reconnect now, not after the backoff.
      if (!source) { clearTimeout(retryTimer); open(); }
    } else if (message.kind === "drop") {
      dropped = true;
      close();
    } else if (message.kind === "reconnect") {
      dropped = false;
      close();
      open();
    }
  };
  port.start();
};
