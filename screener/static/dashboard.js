/* Copy buttons for invitation links: shown only when the browser can copy (the link is on the
   page as text for anyone else). data-copy names an input; data-copy-text holds the text. */
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-copy],[data-copy-text]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = button.getAttribute("data-copy");
      var text = source ? document.getElementById(source).value : button.getAttribute("data-copy-text");
      navigator.clipboard.writeText(text).then(function () {
        var done = document.createElement("span");
        done.setAttribute("role", "status");
        done.className = "copied";
        done.textContent = " " + button.getAttribute("data-copied");
        button.after(done);
        setTimeout(function () { done.remove(); }, 4000);
      });
    });
  });
})();
