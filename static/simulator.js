// Progressive enhancement of the simulator. Everything works without this file: htmx posts the
// form and swaps the summary; here each slider and its number input are kept in step, the line
// filter is offered, and "Reset" buttons act in place instead of reloading the page.
"use strict";
(function () {
  document.documentElement.classList.add("js");

  function announce(input) {
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("input", function (event) {
    var source = event.target;
    var id = source.getAttribute && source.getAttribute("data-pair");
    if (!id) return;
    var pair = document.getElementById(id);
    if (pair && pair.value !== source.value) pair.value = source.value;
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-reset]");
    if (!button) return;
    event.preventDefault();
    var target = button.getAttribute("data-reset");
    var inputs = target === "*"
      ? document.querySelectorAll("input.amount[data-city]")
      : [document.getElementById("n-" + target)];
    var last = null;
    Array.prototype.forEach.call(inputs, function (input) {
      if (!input || input.value === input.getAttribute("data-city")) return;
      input.value = input.getAttribute("data-city");
      var slider = document.getElementById(input.getAttribute("data-pair"));
      if (slider) slider.value = input.value;
      last = input;
    });
    if (last) announce(last);
    if (target !== "*") {
      var input = document.getElementById("n-" + target);
      if (input) input.focus();
    }
  });

  // A recalculation needs only what differs from the city's budget: a line left out counts at
  // the city's amount on the server, and empty comments say nothing. Oakland's form shrinks
  // from 673 fields (35 KB) to a handful per slider move. Submitting still sends everything.
  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (!detail.elt || detail.elt.id !== "simulator" || !detail.formData) return;
    // Which line changed, for the participation funnel's "last line touched" (no cookie).
    var changed = detail.triggeringEvent && detail.triggeringEvent.target;
    if (changed && /^[sn]-/.test(changed.id || "")) detail.headers["X-Budget-Line"] = changed.id.slice(2);
    document.querySelectorAll("#simulator input.amount[data-city]").forEach(function (input) {
      if (input.value === input.getAttribute("data-city") && input.getAttribute("aria-invalid") !== "true") {
        detail.formData.delete(input.name);
      }
    });
    document.querySelectorAll("#simulator textarea").forEach(function (box) {
      if (!box.value.trim()) detail.formData.delete(box.name);
    });
  });

  // "policia" finds "Policía": accents and case do not matter to the filter.
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function setUpFilter() {
    var tools = document.getElementById("tools");
    var box = document.getElementById("line-filter");
    var count = document.getElementById("filter-count");
    if (!tools || !box) return;
    tools.hidden = false;
    var timer = null;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var words = fold(box.value).trim().split(/\s+/).filter(Boolean);
        var shown = 0;
        document.querySelectorAll("details.department").forEach(function (section) {
          var matches = 0;
          section.querySelectorAll(".line").forEach(function (line) {
            var name = fold(line.getAttribute("data-name") || "");
            var hit = words.every(function (word) { return name.indexOf(word) !== -1; });
            line.hidden = !hit;
            if (hit) matches += 1;
          });
          section.hidden = matches === 0;
          if (words.length && matches) section.open = true;
          shown += matches;
        });
        count.textContent = words.length ? count.getAttribute("data-template-" + (shown === 1 ? "one" : "many")).replace("%d", shown) : "";
      }, 150);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpFilter);
  } else {
    setUpFilter();
  }
})();
