// Progressive enhancement of the simulator. Everything works without this file: htmx posts the
// form and swaps the summary; here each slider and its amount field are kept in step (the field
// shows grouped digits, "17,000,000"; the slider announces money), the arrow keys step the
// field, the line filter is offered, "Reset" buttons act in place instead of reloading the page,
// and a failed recalculation says so and offers to try again.
"use strict";
(function () {
  document.documentElement.classList.add("js");
  var form = document.getElementById("simulator");
  var GROUP = (form && form.getAttribute("data-group")) || ",";
  var DECIMAL = (form && form.getAttribute("data-decimal")) || ".";
  var MONEY = (form && form.getAttribute("data-money")) || "$#";

  function announce(input) {
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // "17000000.5" (a slider's value) -> "17,000,000.50" (as the server writes amounts).
  function grouped(units) {
    var negative = units.charAt(0) === "-";
    var parts = (negative ? units.slice(1) : units).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, GROUP);
    var cents = parts[1] ? DECIMAL + (parts[1] + "0").slice(0, 2) : "";
    return (negative ? "-" : "") + whole + cents;
  }

  function money(units) {
    var text = grouped(String(Math.round(Math.abs(Number(units)))));
    return (Number(units) < 0 ? "-" : "") + MONEY.replace("#", text);
  }

  // What the slider can take of a typed amount ("$17,000,000" -> 17000000); the server reads
  // the field itself, this only moves the slider.
  function units(text) {
    var fraction = text.match(/[.,](\d{1,2})\s*$/);
    var whole = (fraction ? text.slice(0, fraction.index) : text).replace(/[^0-9]/g, "");
    if (!whole) return null;
    var negative = /^\s*[-\u2212]/.test(text);
    return (negative ? -1 : 1) * (Number(whole) + (fraction ? Number(fraction[1]) / 100 : 0));
  }

  function setSlider(slider, value) {
    if (value === null) return;
    slider.value = String(value);
    slider.setAttribute("aria-valuetext", money(slider.value));
  }

  document.addEventListener("input", function (event) {
    var source = event.target;
    var id = source.getAttribute && source.getAttribute("data-pair");
    if (!id) return;
    var pair = document.getElementById(id);
    if (!pair) return;
    if (source.type === "range") {
      source.setAttribute("aria-valuetext", money(source.value));
      var text = grouped(source.value);
      if (pair.value !== text) pair.value = text;
    } else {
      setSlider(pair, units(source.value));
    }
  });

  // The arrow keys step an amount field as they step its slider (a text field has no steps).
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (!field.classList || !field.classList.contains("amount")) return;
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    var slider = document.getElementById(field.getAttribute("data-pair"));
    var now = units(field.value);
    if (!slider || now === null) return;
    event.preventDefault();
    var step = Number(slider.step) || 1;
    var next = now + (event.key === "ArrowUp" ? step : -step);
    next = Math.min(Number(slider.max), Math.max(Number(slider.min), next));
    field.value = grouped(String(Math.round(next * 100) / 100));
    setSlider(slider, next);
    announce(field);
  });

  var resetAll = false;
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
      if (slider) setSlider(slider, units(input.value));
      var change = document.querySelector("#r-" + CSS.escape(input.id.slice(2)) + " .change");
      if (change) change.remove();  // back at the city's amount: no change to show
      last = input;
    });
    if (last) {
      resetAll = target === "*";  // the recalculation then refreshes every department
      announce(last);
    }
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
    if (resetAll) detail.headers["X-Budget-Line"] = "*";
    // The chart's table, if the resident opened it, stays open when the chart is redrawn.
    var table = document.querySelector("#money-chart .chart-data");
    if (table && table.open) detail.headers["X-Chart-Table"] = "open";
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

  // A recalculation that fails (no network, a server error, a timeout) leaves the totals out of
  // date: say so, and offer to send it again. A later success hides the message.
  var failed = document.getElementById("recalc-failed");
  var lastSource = null;
  function recalculation(event) {
    return event.detail && event.detail.elt && event.detail.elt.id === "simulator"
      && !(event.detail.requestConfig && event.detail.requestConfig.verb !== "post");
  }
  function showFailure(event) {
    if (!failed || !recalculation(event)) return;
    failed.hidden = false;
  }
  ["htmx:sendError", "htmx:responseError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, showFailure);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "summary") return;
    resetAll = false;
    if (failed) failed.hidden = true;
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    if (trigger && trigger.target && trigger.target.classList) lastSource = trigger.target;
  });
  var retry = document.getElementById("recalc-retry");
  if (retry) retry.addEventListener("click", function () {
    var source = lastSource && document.body.contains(lastSource)
      ? lastSource : document.querySelector("#simulator input.amount");
    if (source && source.type === "range") source = document.getElementById(source.getAttribute("data-pair"));
    if (source) source.dispatchEvent(new Event("change", { bubbles: true }));
  });

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
