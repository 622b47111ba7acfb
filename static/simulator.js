// Keep each slider and its number input showing the same amount. No other script runs here:
// htmx posts the form and swaps the summary; everything also works without JavaScript.
"use strict";
document.addEventListener("input", function (event) {
  var source = event.target;
  var id = source.getAttribute && source.getAttribute("data-pair");
  if (!id) return;
  var pair = document.getElementById(id);
  if (pair && pair.value !== source.value) pair.value = source.value;
});
