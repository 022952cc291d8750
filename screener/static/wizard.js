// Optional enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // What a page needs from this script: run on load and on each page a step change brings.
  function enhance() {
    var summary = document.querySelector("[data-autofocus]");
    if (summary && document.activeElement !== summary) summary.focus();

    // An error link moves to its field and scrolls the whole question (its legend too) into view.
    document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var field = document.getElementById(link.getAttribute("href").slice(1));
        if (!field) return;
        event.preventDefault();
        (field.closest(".question") || field).scrollIntoView();
        field.focus({ preventScroll: true });
      });
    });

    // Show a conditional question only while its controlling answer selects it.
    document.querySelectorAll("[data-reveal-q]").forEach(function (block) {
      var name = block.getAttribute("data-reveal-q");
      var values = block.getAttribute("data-reveal-values").split(" ");
      var inputs = document.querySelectorAll('input[name="' + name + '"]');
      function update() {
        var on = Array.prototype.some.call(inputs, function (i) {
          return i.checked && values.indexOf(i.value) !== -1;
        });
        block.hidden = !on;
      }
      inputs.forEach(function (i) { i.addEventListener("change", update); });
      update();
    });

    // "None of these" clears the other boxes, and the other boxes clear it.
    document.querySelectorAll("input[data-exclusive]").forEach(function (none) {
      var group = document.querySelectorAll('input[name="' + none.name + '"]');
      group.forEach(function (box) {
        box.addEventListener("change", function () {
          if (!box.checked) return;
          group.forEach(function (other) {
            if (other !== box && (box === none || other === none)) other.checked = false;
          });
        });
      });
    });

    // Copy buttons for the private link (hidden without this script).
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var status = button.parentNode.querySelector(".copy-status");
      button.parentNode.hidden = false;
      function said(ok) {
        status.textContent = button.getAttribute(ok ? "data-copied" : "data-failed");
      }
      function fallback() {
        // Where the Clipboard API is missing or refused (a frame without clipboard-write).
        var area = document.createElement("textarea");
        area.value = button.getAttribute("data-copy");
        area.setAttribute("readonly", "");
        area.style.position = "fixed";
        area.style.opacity = "0";
        document.body.appendChild(area);
        area.select();
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        document.body.removeChild(area);
        button.focus();
        said(ok);
      }
      button.addEventListener("click", function () {
        status.textContent = "";
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
            said(true);
          }, fallback);
        } else {
          fallback();
        }
      });
    });

    // "Print or save as PDF" (hidden without this script; the browser's own print works anyway).
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.parentNode.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });

    // One click sends the answers once (the server ignores a second send anyway).
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function () {
        var once = form.querySelector("[data-once]");
        if (once) setTimeout(function () { once.disabled = true; }, 0);
      });
    });
    return summary;
  }
  enhance();

  // A step change in one round trip: the step's form goes by fetch with the header
  // Screener-Fetch; the server answers a valid step with the next page (its URL in
  // Screener-Location), an invalid one with the same page and its errors. Without this (or if it fails) the form posts as usual (303, GET).
  var busy = false;
  var shown = location.pathname + location.search;
  function swap(html, url, first) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.title = doc.title;
    document.documentElement.lang = doc.documentElement.lang;
    document.body.className = doc.body.className;
    // Scripts parsed here never run: this one carries on, enhancing the new content.
    document.body.replaceChildren.apply(document.body, Array.prototype.slice.call(doc.body.childNodes));
    // A page's own script (data-rerun: the review's signature pad) runs for its new content.
    document.querySelectorAll("script[data-rerun]").forEach(function (old) {
      var script = document.createElement("script");
      script.src = old.getAttribute("src");
      old.parentNode.replaceChild(script, old);
    });
    if (first) history.replaceState(null, "", first);  // Back stays in the draft
    if (url && new URL(url, location.href).href !== location.href) history.pushState(null, "", url);
    shown = location.pathname + location.search;
    window.scrollTo(0, 0);
    var target = enhance();
    if (!target) {
      target = document.querySelector("main h1") || document.getElementById("main");
      target.setAttribute("tabindex", "-1");
      target.focus();
    }
    // What a screen reader says when a page loads: its title.
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    document.body.appendChild(status);
    setTimeout(function () { status.textContent = document.title; }, 100);
  }
  window.addEventListener("popstate", function () {
    if (location.pathname + location.search !== shown) location.reload();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "step-form" || !window.fetch || !document.body.replaceChildren) return;
    event.preventDefault();
    if (busy) return;
    busy = true;
    var data = new URLSearchParams(new FormData(form));
    var button = event.submitter;
    if (button && button.name) data.append(button.name, button.value);
    // getAttribute: form.action would be the button named "action".
    fetch(form.getAttribute("action") || location.href, {
      method: "POST", body: data, cache: "no-store", credentials: "same-origin",
      headers: { "Screener-Fetch": "1" }
    }).then(function (response) {
      if ((response.headers.get("Content-Type") || "").indexOf("text/html") !== 0) throw response;
      return response.text().then(function (html) {
        busy = false;
        swap(html, response.headers.get("Screener-Location") || (response.redirected && response.url),
             response.headers.get("Screener-First"));
      });
    }).catch(function () {
      // The usual post, with the button that was pressed.
      if (button && button.name) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = button.name;
        input.value = button.value;
        form.appendChild(input);
      }
      form.submit();
    });
  });
})();
