// Participant pickers: a filter box (added only when JavaScript runs) to find people in
// long lists by name or email. Checked people stay visible.
(function () {
  "use strict";
  document.querySelectorAll(".people-picker").forEach(function (picker) {
    if (picker.querySelector(".people-filter")) return;
    var box = document.createElement("input");
    box.type = "search";
    box.className = "people-filter";
    box.placeholder = "Filter by name or email";
    box.setAttribute("aria-label", "Filter people");
    picker.insertBefore(box, picker.querySelector(".group-heading"));
    box.addEventListener("input", function () {
      var query = box.value.trim().toLowerCase();
      picker.querySelectorAll(".checkbox-list li").forEach(function (item) {
        var checkbox = item.querySelector("input[type=checkbox]");
        var match = !query || item.textContent.toLowerCase().indexOf(query) !== -1;
        item.hidden = !(match || (checkbox && checkbox.checked));
      });
    });
  });
})();
