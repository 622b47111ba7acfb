// Nothing a resident typed is lost (progressive enhancement; the page works without it):
// - leaving the page with changes not yet sent asks first (beforeunload);
// - "Reset all" can be undone in place;
// - a form too large for the site is not sent: the page says so and keeps everything;
// - the list of problems after a refused submission takes focus, also inside a cross-site
//   frame, where the browser ignores `autofocus`.
"use strict";
(function () {
  var form = document.getElementById("simulator");
  if (!form) return;
  var sending = false;

  function state() {
    var parts = [];
    form.querySelectorAll("input.amount, textarea, select").forEach(function (field) {
      parts.push(field.name + "=" + field.value);
    });
    return parts.join("&");
  }

  function cityState() {
    // What the page holds when nothing differs from the city's budget.
    var parts = [];
    form.querySelectorAll("input.amount, textarea, select").forEach(function (field) {
      var city = field.matches("input.amount") ? field.getAttribute("data-city") || "" : "";
      parts.push(field.name + "=" + city);
    });
    return parts.join("&");
  }

  // A saved draft is unchanged until it is edited; any other page is unsaved work as soon as it
  // differs from the city's budget (a refused submission's page included).
  var clean = form.hasAttribute("data-saved") ? state() : cityState();

  window.addEventListener("beforeunload", function (event) {
    if (sending || state() === clean) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers need a value to ask
  });

  function encodedSize() {
    var data = new FormData(form);
    var size = 0;
    data.forEach(function (value, name) {
      var text = typeof value === "string" ? value.replace(/\r?\n/g, "\r\n") : "";
      size += encodeURIComponent(name).length + encodeURIComponent(text).length + 2;
    });
    return size;
  }

  function showProblem(text) {
    var box = document.getElementById("too-large");
    if (!box) {
      box = document.createElement("div");
      box.id = "too-large";
      box.className = "error-summary";
      box.setAttribute("role", "alert");
      box.tabIndex = -1;
      form.parentNode.insertBefore(box, form);
    }
    box.textContent = text;
    box.focus();
  }

  form.addEventListener("submit", function (event) {
    var limit = Number(form.getAttribute("data-max-bytes"));
    if (limit && encodedSize() > limit) {
      event.preventDefault();
      showProblem(form.getAttribute("data-too-large"));
      return;
    }
    sending = true; // submitting, saving a draft or switching language: nothing to ask
  });

  // "Reset all": remember every amount first (this runs before simulator.js resets in place),
  // then offer to put them back.
  var undo = document.getElementById("undo-reset");
  var before = null;
  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest && event.target.closest("button[data-reset='*']");
      if (!button) return;
      before = [];
      form.querySelectorAll("input.amount[data-city]").forEach(function (input) {
        if (input.value !== input.getAttribute("data-city")) before.push([input, input.value]);
      });
      var details = button.closest("details");
      if (details) details.open = false;
      if (undo && before.length) {
        undo.firstElementChild.hidden = false;
        var again = undo.querySelector("button");
        if (again) setTimeout(function () { again.focus(); }, 0);
      }
    },
    true
  );
  if (undo) {
    undo.addEventListener("click", function (event) {
      if (!event.target.closest("button") || !before) return;
      var last = null;
      before.forEach(function (pair) {
        pair[0].value = pair[1];
        // simulator.js moves the field's slider to the amount typed ("1,806,729" included).
        pair[0].dispatchEvent(new Event("input", { bubbles: true }));
        last = pair[0];
      });
      before = null;
      undo.firstElementChild.hidden = true;
      if (last) {
        last.dispatchEvent(new Event("change", { bubbles: true }));
        last.focus();
      }
    });
  }

  var problems = document.getElementById("problems");
  if (problems && document.activeElement !== problems) {
    problems.focus();
  }
})();
