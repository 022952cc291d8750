/*
 * Screener embed snippet, for a clinic's own website (served at /embed.js):
 *
 *   <div data-screener-clinic="SLUG" data-title="Consultation questionnaire"></div>
 *   <script src="https://SCREENER/embed.js" async></script>
 *
 * It puts the clinic's questionnaire in an iframe, keeps the iframe as tall as the page shown
 * in it, and, when the client has sent the answers, fires a "screener:completed" CustomEvent
 * on the placeholder element (it bubbles). Messages are accepted only from the Screener origin
 * and only from an iframe this script made; they never carry answers or links.
 * Optional placeholder attributes: data-lang (a code of screener/languages.toml: "en", "zh-Hant",
 * "zh-Hans"), data-height (first height, px).
 */
(function () {
  "use strict";
  if (window.ScreenerEmbed) {  // the snippet pasted twice: one listener is enough
    window.ScreenerEmbed.mount();
    return;
  }
  var script = document.currentScript;
  if (!script || !script.src || !window.URL || !window.postMessage) return;
  var base = new URL(".", script.src);  // the product may live under a path
  var origin = base.origin;
  var VERSION = 1;
  var MAX_HEIGHT = 100000;
  var frames = [];

  function entryFor(source) {
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].iframe.contentWindow === source) return frames[i];
    }
    return null;
  }

  function mountOne(placeholder) {
    if (placeholder.hasAttribute("data-screener-mounted")) return;
    var slug = placeholder.getAttribute("data-screener-clinic");
    if (!slug) return;
    placeholder.setAttribute("data-screener-mounted", "");
    var url = new URL("embed/" + encodeURIComponent(slug) + "/", base);
    // The frame posts its messages to exactly this origin (after the server checked it
    // against the clinic's allowed origins), never to "*".
    url.searchParams.set("host", window.location.origin);
    var lang = placeholder.getAttribute("data-lang");
    if (lang) url.searchParams.set("lang", lang);

    var iframe = document.createElement("iframe");
    iframe.src = url.href;
    iframe.title = placeholder.getAttribute("data-title") || "Consultation questionnaire";
    iframe.setAttribute("data-screener-frame", "");
    // Set through the CSSOM, which a host page's strict CSP does not block.
    iframe.style.display = "block";
    iframe.style.width = "100%";
    iframe.style.border = "0";
    var first = parseInt(placeholder.getAttribute("data-height"), 10);
    iframe.style.height = (first > 0 && first < MAX_HEIGHT ? first : 900) + "px";

    var entry = { iframe: iframe, placeholder: placeholder, slug: slug, loads: 0 };
    // Each step is a new page in the frame: bring its top into view, as a normal page would.
    iframe.addEventListener("load", function () {
      entry.loads += 1;
      if (entry.loads > 1 && iframe.getBoundingClientRect().top < 0) iframe.scrollIntoView();
    });
    frames.push(entry);
    while (placeholder.firstChild) placeholder.removeChild(placeholder.firstChild);
    placeholder.appendChild(iframe);
  }

  function mount() {
    var all = document.querySelectorAll("[data-screener-clinic]");
    for (var i = 0; i < all.length; i++) mountOne(all[i]);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin) return;
    var entry = entryFor(event.source);
    if (!entry) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.v !== VERSION) return;
    if (data.type === "screener:resize") {
      var height = data.height;
      if (typeof height === "number" && height > 0 && height < MAX_HEIGHT) {
        entry.iframe.style.height = Math.ceil(height) + "px";
      }
    } else if (data.type === "screener:completed") {
      var detail = { clinic: entry.slug };
      entry.placeholder.dispatchEvent(
        new CustomEvent("screener:completed", { bubbles: true, detail: detail })
      );
    }
  });

  window.ScreenerEmbed = { version: VERSION, mount: mount };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
