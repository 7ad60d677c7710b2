// The portal's service worker (served at /sw.js, scope /): shows Web Push notifications,
// focuses the room when one is clicked, and keeps static assets (CSS, scripts, icons) for
// the installed portal. It never caches pages, fragments, files or streams: they hold data.
"use strict";

var STATIC_CACHE = "portal-static-v1";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name !== STATIC_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// A push carries {title, body, tag, url} (portal/notify/push.py), encrypted for this
// browser; the tag makes a room's newer notification replace the older one.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "New message", {
    body: data.body || "",
    tag: data.tag || "portal",
    icon: "/static/favicon.svg",
    data: { url: data.url || "/" },
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (tabs) {
      var open = tabs.filter(function (tab) { return tab.url.split("#")[0] === url; })[0];
      if (open) return open.focus();
      if (tabs.length && tabs[0].navigate) {
        return tabs[0].focus().then(function (tab) { return tab.navigate(url); });
      }
      return self.clients.openWindow(url);
    })
  );
});

// Static assets only: served from the cache at once and refreshed behind (so a release
// shows from the next load on); everything else goes to the network untouched.
self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") !== 0) return;
  event.respondWith(caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
      if (hit) {
        event.waitUntil(fresh.catch(function () {}));
        return hit;
      }
      return fresh;
    });
  }));
});
