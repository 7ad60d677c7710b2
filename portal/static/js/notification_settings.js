// Notifications preferences, "On this device": the buttons that switch on this browser's
// notifications (the permission prompt comes only from a click here) and its Web Push
// subscription (POST /push/subscriptions with the browser's PushSubscription.toJSON()).
(function () {
  "use strict";
  var section = document.getElementById("this-device");
  if (!section || !("Notification" in window)) return;
  var SWITCH = "portal:notifications";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var status = section.querySelector("[data-status]");
  var buttons = {};
  section.querySelectorAll("button[data-action]").forEach(function (button) {
    buttons[button.dataset.action] = button;
  });
  var pushable = "serviceWorker" in navigator && "PushManager" in window;
  section.hidden = false;

  function say(text) { status.textContent = text; }

  function registration() {
    return navigator.serviceWorker.register(section.dataset.worker, { scope: "/" })
      .then(function () { return navigator.serviceWorker.ready; });
  }

  function showState() {
    var on = Notification.permission === "granted" && localStorage.getItem(SWITCH) === "on";
    buttons["notifications-on"].hidden = on;
    buttons["notifications-off"].hidden = !on;
    section.dataset.notifications = on ? "on" : "off";
    if (Notification.permission === "denied") {
      say("This browser blocks notifications from the portal: allow them in its site settings.");
    }
    if (!pushable) {
      buttons["push-on"].hidden = buttons["push-off"].hidden = true;
      return Promise.resolve();
    }
    return navigator.serviceWorker.getRegistration("/").then(function (worker) {
      return worker ? worker.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      buttons["push-on"].hidden = !!subscription;
      buttons["push-off"].hidden = !subscription;
      section.dataset.push = subscription ? "on" : "off";
    });
  }

  function permission() {
    return Notification.requestPermission().then(function (answer) {
      if (answer !== "granted") {
        say("Notifications were not allowed, so none will show.");
        throw new Error(answer);
      }
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.error || "The portal refused this device.");
        return data;
      });
    });
  }

  function keyBytes(base64url) {
    var text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(text, function (c) { return c.charCodeAt(0); });
  }

  buttons["notifications-on"].addEventListener("click", function () {
    permission().then(function () {
      localStorage.setItem(SWITCH, "on");
      say("Notifications are on in this browser while no portal tab is visible.");
    }).catch(function () {}).then(showState);
  });
  buttons["notifications-off"].addEventListener("click", function () {
    localStorage.removeItem(SWITCH);
    say("Notifications are off in this browser.");
    showState();
  });
  buttons["push-on"].addEventListener("click", function () {
    permission().then(function () {
      return Promise.all([registration(), fetch(section.dataset.key, { credentials: "same-origin" }).then(function (r) { return r.json(); })]);
    }).then(function (both) {
      return both[0].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(both[1].key) });
    }).then(function (subscription) {
      return post(section.dataset.subscribe, subscription.toJSON());
    }).then(function () {
      say("Push notifications are on for this device. Reload to see it listed.");
    }).catch(function (error) {
      if (error && error.message && !/denied|default/.test(error.message)) say(error.message);
    }).then(showState);
  });
  buttons["push-off"].addEventListener("click", function () {
    navigator.serviceWorker.getRegistration("/").then(function (worker) {
      return worker && worker.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) return null;
      return post(section.dataset.unsubscribe, { endpoint: subscription.endpoint })
        .catch(function () {})
        .then(function () { return subscription.unsubscribe(); });
    }).then(function () {
      say("Push notifications are off for this device.");
    }).then(showState);
  });
  showState();
})();
