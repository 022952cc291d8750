// Optional enhancements of the dashboard; every page works without this file.
(function () {
  "use strict";
  // A button that copies the text of the element it names (the embed snippets).
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".copy-status");
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent).then(function () {
        if (status) status.textContent = button.getAttribute("data-copied");
      });
    });
  });
})();
