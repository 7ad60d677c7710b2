// chat: edits and deletions arrive live (live:update) and replace the message in place,
// unless this page is editing it right now. htmx handles the Edit/Delete links themselves.
(function () {
  "use strict";
  var list = document.getElementById("messages");
  var room = document.getElementById("room");
  if (!list || !room) return;
  var roomId = Number(room.dataset.roomId);

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
})();
