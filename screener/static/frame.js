/*
 * The framed side of embedding (the host side is embed.js). Loaded only on /embed/ pages whose
 * host origin the server checked against the clinic's allowed origins (data-embed-host).
 * It posts {type: "screener:resize", v: 1, height} whenever this page's height changes, and
 * {type: "screener:completed", v: 1} once after the answers were sent. Messages go to exactly
 * the host origin and carry no answers, names or links.
 */
(function () {
  "use strict";
  var root = document.documentElement;
  var host = root.getAttribute("data-embed-host");
  if (!host || window.parent === window) return;

  function send(message) {
    window.parent.postMessage(message, host);
  }

  var last = -1;
  function resize() {
    // The root element's own box: its content, not the (host-sized) viewport.
    var height = Math.ceil(root.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    send({ type: "screener:resize", v: 1, height: height });
  }
  if (window.ResizeObserver) new ResizeObserver(resize).observe(root);
  window.addEventListener("load", resize);
  window.addEventListener("resize", resize);
  // A page restored from the back/forward cache may meet an iframe sized for another page.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      last = -1;
      resize();
    }
  });
  resize();

  if (root.hasAttribute("data-embed-completed")) {
    send({ type: "screener:completed", v: 1 });
    // Only the page reached by submitting carries the mark: drop it from this history entry
    // so that reloading (or coming back to) the summary does not announce it again.
    var url = new URL(window.location.href);
    url.searchParams.delete("done");
    window.history.replaceState(window.history.state, "", url.href);
  }
})();
