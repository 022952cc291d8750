// An optional drawn signature on the review page (the typed name signs without it). Strokes
// of a pointer (finger, pen, mouse) go into the hidden input as vector data, the format that
// screener/questionnaire/consent.py checks: {"w": 600, "h": 200, "strokes": [[x, y, ...], ...]}.
(function () {
  "use strict";
  var pad = document.querySelector("[data-signature]");
  if (!pad || !window.PointerEvent || !document.createElement("canvas").getContext) return;
  var input = document.getElementById(pad.getAttribute("data-signature"));
  var W = 600, H = 200, MAX_STROKES = 60, MAX_POINTS = 2000;
  var strokes = [];
  try {
    var saved = JSON.parse(input.value || "null");
    if (saved && saved.strokes) strokes = saved.strokes;
  } catch (e) { strokes = []; }

  var canvas = document.createElement("canvas");
  canvas.width = W;
  canvas.height = H;
  canvas.className = "signature-canvas";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-labelledby", "signature-label");
  canvas.setAttribute("aria-describedby", "signature-hint");
  var clear = document.createElement("button");
  clear.type = "button";
  clear.className = "button secondary";
  clear.textContent = pad.getAttribute("data-clear");
  pad.insertBefore(canvas, input);
  pad.insertBefore(clear, input);
  pad.hidden = false;
  var ctx = canvas.getContext("2d");

  function points() {
    return strokes.reduce(function (n, s) { return n + s.length / 2; }, 0);
  }
  function draw() {
    ctx.clearRect(0, 0, W, H);
    ctx.lineWidth = 3;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.strokeStyle = "#1b1b1b";
    strokes.forEach(function (s) {
      ctx.beginPath();
      ctx.moveTo(s[0], s[1]);
      for (var i = 2; i < s.length; i += 2) ctx.lineTo(s[i], s[i + 1]);
      if (s.length === 2) ctx.lineTo(s[0] + 0.1, s[1]);
      ctx.stroke();
    });
  }
  function save() {
    input.value = strokes.length ? JSON.stringify({ w: W, h: H, strokes: strokes }) : "";
  }
  function at(event) {
    var box = canvas.getBoundingClientRect();
    var x = Math.round((event.clientX - box.left) * W / box.width);
    var y = Math.round((event.clientY - box.top) * H / box.height);
    return [Math.max(0, Math.min(W, x)), Math.max(0, Math.min(H, y))];
  }

  var current = null;
  canvas.addEventListener("pointerdown", function (event) {
    if (strokes.length >= MAX_STROKES || points() >= MAX_POINTS) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    current = at(event);
    strokes.push(current);
    draw();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!current || points() >= MAX_POINTS) return;
    var p = at(event), n = current.length;
    if (Math.abs(p[0] - current[n - 2]) + Math.abs(p[1] - current[n - 1]) < 3) return;
    current.push(p[0], p[1]);
    draw();
  });
  function end() {
    if (current) save();
    current = null;
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  clear.addEventListener("click", function () {
    strokes = [];
    save();
    draw();
  });
  draw();
})();
