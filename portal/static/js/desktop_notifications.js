// Browser notifications while no tab of the portal is visible (switched on per browser in
// Notifications preferences: never a permission prompt on page load). One tab of the
// browser shows them (the holder of a Web Lock); visible tabs hold a shared lock, so any
// tab can ask whether one is visible. What a notification says comes from the server
// (GET /push/notifications/<id>: as the viewer may see it; nothing for a muted room), and
// its tag makes a room's newer notification replace the older one.
(function () {
  "use strict";
  if (!("Notification" in window)) return;
  var SWITCH = "portal:notifications";
  var locks = navigator.locks;

  function wanted() {
    return Notification.permission === "granted" && localStorage.getItem(SWITCH) === "on";
  }

  var release = null;
  function trackVisibility() {
    if (!locks) return;
    if (document.visibilityState === "visible" && !release) {
      locks.request("portal-visible", { mode: "shared" }, function () {
        return new Promise(function (resolve) { release = resolve; });
      });
    } else if (document.visibilityState !== "visible" && release) {
      release();
      release = null;
    }
  }
  document.addEventListener("visibilitychange", trackVisibility);
  trackVisibility();

  var notifier = !locks;
  if (locks) {
    locks.request("portal-notifier", function () {
      notifier = true;
      return new Promise(function () {});
    });
  }

  function noTabVisible() {
    if (!locks) return Promise.resolve(document.visibilityState !== "visible");
    return locks.query().then(function (state) {
      return !state.held.some(function (lock) { return lock.name === "portal-visible"; });
    });
  }

  function show(content) {
    var options = { body: content.body, tag: content.tag, data: { url: content.url } };
    var registration = navigator.serviceWorker ? navigator.serviceWorker.getRegistration() : Promise.resolve(null);
    return registration.then(function (worker) {
      // Through the service worker where there is one: its click handler finds the room's tab.
      if (worker && worker.active) return worker.showNotification(content.title, options);
      var notification = new Notification(content.title, options);
      notification.onclick = function () {
        window.focus();
        if (location.pathname !== content.url) location.assign(content.url);
        notification.close();
      };
    });
  }

  document.addEventListener("live:message", function (event) {
    if (!notifier || !wanted()) return;
    var id = event.detail.message_id;
    noTabVisible().then(function (none) {
      if (!none) return null;
      return fetch("/push/notifications/" + id, { credentials: "same-origin" });
    }).then(function (response) {
      return response && response.status === 200 ? response.json() : null;
    }).then(function (content) {
      if (content) return show(content);
    }).catch(function () {});
  });
})();
