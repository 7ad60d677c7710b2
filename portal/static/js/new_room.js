// New Conversation: picking a client suggests their name as the title.
(function () {
  "use strict";
  var title = document.getElementById("title");
  if (!title) return;
  var suggested = "";
  document.querySelectorAll('input[name="participant_ids"][data-kind="client"]').forEach(function (box) {
    box.addEventListener("change", function () {
      if (box.checked && (title.value === "" || title.value === suggested)) {
        suggested = box.dataset.name;
        title.value = suggested;
      }
    });
  });
})();
