// Optional enhancements of the dashboard; every page works without this file.
(function () {
  "use strict";
  // Copy buttons, shown only when the browser can copy (what they copy is on the page as text
  // for anyone else): data-copy names an element (an input: its value, else its text), or
  // data-copy-text holds the text. The button's .copy-status neighbour, or a status line after
  // it, says it is done.
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-copy],[data-copy-text]").forEach(function (button) {
    var id = button.getAttribute("data-copy");
    var source = id ? document.getElementById(id) : null;
    if (id && !source) return;
    var status = button.parentNode.querySelector(".copy-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = !source ? button.getAttribute("data-copy-text")
        : "value" in source ? source.value : source.textContent;
      navigator.clipboard.writeText(text).then(function () {
        var message = button.getAttribute("data-copied");
        if (status) {
          status.textContent = message;
          return;
        }
        var done = document.createElement("span");
        done.setAttribute("role", "status");
        done.className = "copied";
        done.textContent = " " + message;
        button.after(done);
        setTimeout(function () { done.remove(); }, 4000);
      });
    });
  });
})();
