// Optional enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

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

  // The first step, reached from the start page: the draft's intro page goes before it in the
  // history, so the browser's Back stays in this draft (the start page would begin a new one).
  var first = document.querySelector("form[data-history-intro]");
  if (first && window.history.pushState) {
    var here = first.getAttribute("action");
    window.history.replaceState(null, "", first.getAttribute("data-history-intro"));
    window.history.pushState(null, "", here);
    window.addEventListener("popstate", function () {
      if (window.location.pathname !== here.split("?")[0]) window.location.reload();
    });
  }

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
})();
