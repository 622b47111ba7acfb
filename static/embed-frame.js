// Loaded only on embedded resident pages (embed=1). Tells the page that frames this one how
// tall the document is, so static/embed.js on that page can size the iframe to fit.
//
// The target origin comes from <body data-parent-origin>, which the server sets only when the
// `parent` asked for is on the budget's allow-list. Messages go to that origin alone (the
// browser drops them if the framing page is anything else), never to a wildcard. No
// data-parent-origin: nothing is posted.
"use strict";
(function () {
  var target = document.body && document.body.getAttribute("data-parent-origin");
  if (!target || window.parent === window) return;
  var last = -1;

  function post() {
    // The <html> box, not scrollHeight: scrollHeight never falls below the iframe's own height,
    // so a frame that grew once could never shrink again.
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "budget-sim:height", height: height }, target);
  }

  // The balance, for the bar static/embed.js keeps in view on the city's page: the frame is as
  // tall as its content, so nothing inside it can stick to the screen while the resident edits.
  var lastStatus = null;
  function postStatus() {
    var bar = document.getElementById("balance-bar");
    var status = null;
    if (bar && document.getElementById("simulator")) {
      var figure = bar.querySelector(".bar-figure");
      var text = bar.querySelector(".bar-text");
      status = {
        ok: bar.classList.contains("ok"),
        figure: figure ? figure.textContent.trim() : "",
        text: text ? text.textContent.trim() : "",
        lang: document.documentElement.lang || "en"
      };
    }
    var key = JSON.stringify(status);
    if (key === lastStatus) return;
    lastStatus = key;
    window.parent.postMessage({ type: "budget-sim:status", status: status }, target);
  }

  post();
  postStatus();
  window.addEventListener("load", post);
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(post).observe(document.documentElement);
  }
  if (typeof MutationObserver === "function") {
    new MutationObserver(postStatus).observe(document.body, { childList: true, subtree: true, characterData: true });
  }
})();
