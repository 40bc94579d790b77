/*! Write for Rights partner embed, version 1: fits each letter-form frame to its content.
    Never change this file: partners' snippets pin it by its integrity hash. A new
    behaviour is a new file (embed-2.js) and new snippets. */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !window.URL) return;
  var appOrigin = new URL(script.src).origin;
  var MAX = 20000; // px: no letter form is taller, whatever a message says

  function ourFrames() {
    var frames = document.querySelectorAll("iframe[data-w4r-embed]");
    return Array.prototype.filter.call(frames, function (frame) {
      try { return new URL(frame.src, window.location.href).origin === appOrigin; } catch (e) { return false; }
    });
  }

  function fit(frame) {
    frame.style.border = "0";
    frame.style.width = "100%";
    frame.style.display = "block";
  }
  ourFrames().forEach(fit);

  function inRange(value) {
    return typeof value === "number" && isFinite(value) && value >= 0 && value <= MAX;
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== appOrigin) return; // only our own framed page
    var data = event.data;
    if (!data || typeof data !== "object" || typeof data.type !== "string") return;
    var frame = ourFrames().filter(function (each) { return each.contentWindow === event.source; })[0];
    if (!frame) return;

    if (data.type === "w4r:height" && inRange(data.height) && data.height > 0) {
      fit(frame);
      frame.style.height = Math.ceil(data.height) + "px";
    } else if (data.type === "w4r:show" && inRange(data.top)) {
      var top = frame.getBoundingClientRect().top + data.top;
      if (top < 0 || top > window.innerHeight * 0.8) {
        var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
        window.scrollBy({ top: top - 16, behavior: still ? "auto" : "smooth" });
      }
    }
  });
})();
