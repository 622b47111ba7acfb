// budget-sim embed, for a city's own web page. Paste two lines where the simulator should go
// (`budget-sim embed SLUG --base-url URL` prints them for a budget):
//
//   <div data-budget-sim="https://budget.example.org/b/cambridge-fy2026" data-lang="es"></div>
//   <script src="https://budget.example.org/static/embed.js" async></script>
//
// Each such element gets an iframe of that budget's embed view (no site header or footer),
// 100% wide and as tall as its content: the frame posts its height to this page's origin only,
// and this script accepts a message only from that very iframe and the budget's origin.
// The page's origin must be on the budget's allow-list (embed_origins), or the browser refuses
// the frame. Optional attributes: data-lang (a language the budget offers), data-title.
(function () {
  "use strict";
  var MESSAGE = "budget-sim:height";
  var STATUS = "budget-sim:status";
  var INITIAL_HEIGHT = 600;
  var MIN_HEIGHT = 150;
  var MAX_HEIGHT = 100000;
  var script = document.currentScript;
  var base = (script && script.src) || document.baseURI;
  var frames = []; // {iframe, origin, loads}

  if (window.budgetSimEmbed && typeof window.budgetSimEmbed.mount === "function") {
    // Pasted more than once (several embeds): one listener serves them all.
    window.budgetSimEmbed.mount();
    return;
  }
  window.budgetSimEmbed = { mount: mountAll };

  function embedUrl(address, lang) {
    var url;
    try {
      url = new URL(address, base);
    } catch (error) {
      return null;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    url.pathname = url.pathname.replace(/\/+$/, "") + "/embed";
    url.search = "";
    url.hash = "";
    if (lang) url.searchParams.set("lang", lang);
    url.searchParams.set("embed", "1");
    var here = window.location.origin;
    if (here && here !== "null") url.searchParams.set("parent", here);
    return url;
  }

  function mount(holder) {
    if (holder.hasAttribute("data-budget-sim-ready")) return;
    var url = embedUrl(holder.getAttribute("data-budget-sim") || "", holder.getAttribute("data-lang"));
    if (!url) return;
    holder.setAttribute("data-budget-sim-ready", "");
    var iframe = document.createElement("iframe");
    iframe.title = holder.getAttribute("data-title") || "Budget simulator";
    iframe.loading = "lazy";
    iframe.src = url.href;
    iframe.style.display = "block";
    iframe.style.width = "100%";
    iframe.style.border = "0";
    iframe.style.height = INITIAL_HEIGHT + "px";
    var frame = { iframe: iframe, origin: url.origin, loads: 0, bar: statusBar() };
    holder.appendChild(frame.bar);
    iframe.addEventListener("load", function () {
      // A new page inside the frame (the receipt after submitting, another language): show its
      // top if the resident had scrolled past it.
      frame.loads += 1;
      if (frame.loads > 1 && iframe.getBoundingClientRect().top < 0) {
        iframe.scrollIntoView({ block: "start" });
      }
    });
    frames.push(frame);
    holder.appendChild(iframe);
  }

  // The balance stays in view: a bar that sticks to the top of this page's window while the
  // frame (as tall as its content, so nothing inside it can stick) is on screen. Its text comes
  // from the frame; screen readers hear the frame's own status, so the bar is for the eyes.
  function statusBar() {
    var bar = document.createElement("div");
    bar.className = "budget-sim-status";
    bar.setAttribute("aria-hidden", "true");
    bar.hidden = true;
    var style = bar.style;
    style.position = "sticky";
    style.top = "0";
    style.zIndex = "1";
    style.padding = "0.4rem 0.75rem";
    style.font = "600 1rem/1.4 system-ui, sans-serif";
    style.borderBottom = "2px solid currentColor";
    return bar;
  }

  function showStatus(frame, status) {
    var bar = frame.bar;
    if (!status || typeof status !== "object") {
      bar.hidden = true;
      return;
    }
    var figure = typeof status.figure === "string" ? status.figure.slice(0, 80) : "";
    var text = typeof status.text === "string" ? status.text.slice(0, 300) : "";
    bar.textContent = figure + (figure && text ? " · " : "") + text;
    bar.lang = typeof status.lang === "string" ? status.lang.slice(0, 16) : "";
    bar.style.background = status.ok ? "#e6f4ea" : "#fff4e0";
    bar.style.color = status.ok ? "#106b36" : "#8a4b00";
    bar.hidden = false;
  }

  function mountAll() {
    var holders = document.querySelectorAll("[data-budget-sim]");
    for (var i = 0; i < holders.length; i += 1) mount(holders[i]);
  }

  window.addEventListener("message", function (event) {
    for (var i = 0; i < frames.length; i += 1) {
      var frame = frames[i];
      if (event.source !== frame.iframe.contentWindow) continue;
      if (event.origin !== frame.origin) return;
      var data = event.data;
      if (data && typeof data === "object" && data.type === STATUS) {
        showStatus(frame, data.status);
        return;
      }
      if (!data || typeof data !== "object" || data.type !== MESSAGE) return;
      var height = data.height;
      if (typeof height !== "number" || !isFinite(height)) return;
      height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.ceil(height)));
      frame.iframe.style.height = height + "px";
      return;
    }
  });

  mountAll();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  }
})();
