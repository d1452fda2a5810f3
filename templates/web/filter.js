// The preferences page's category search: hide the categories that do not match.
document.getElementById("category-filter").addEventListener("input", function (e) {
  var q = e.target.value.trim().toLowerCase();
  document.querySelectorAll("#categories .choice").forEach(function (el) {
    el.hidden = q !== "" && el.dataset.search.indexOf(q) < 0;
  });
});
