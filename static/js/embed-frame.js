// Inside the framed letter form: tell the partner's page how tall the content is, and
// where to scroll when htmx swaps in a result. Messages go to the parent's exact origin,
// one of the partner's allowed origins listed by the server, never to "*".
(function () {
  "use strict";

  if (window.parent === window) return;
  var meta = document.querySelector('meta[name="w4r-parent-origins"]');
  var allowed = meta ? meta.content.split(" ").filter(Boolean) : [];

  // Which of the allowed origins the parent is: the browser says so (ancestorOrigins in
  // Chromium and Safari, the referrer elsewhere); with one allowed origin there is no doubt.
  function parentOrigin() {
    var candidates = [];
    if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) {
      candidates.push(window.location.ancestorOrigins[0]);
    }
    if (document.referrer) {
      try { candidates.push(new URL(document.referrer).origin); } catch (e) { /* not a URL */ }
    }
    for (var i = 0; i < candidates.length; i++) {
      if (allowed.indexOf(candidates[i]) !== -1) return candidates[i];
    }
    return allowed.length === 1 ? allowed[0] : null;
  }

  var target = parentOrigin();
  if (!target) return;

  function send(message) {
    window.parent.postMessage(message, target);
  }

  var lastHeight = 0;
  function reportHeight() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height > 0 && height !== lastHeight) {
      lastHeight = height;
      send({ type: "w4r:height", height: height });
    }
  }

  // Ask the parent to bring this part of the frame into view (the frame has no scroll
  // bar of its own once it fits its content).
  function show(element) {
    if (!element || element === document.body) return;
    var top = Math.max(0, Math.floor(element.getBoundingClientRect().top + window.scrollY));
    send({ type: "w4r:show", top: top });
  }

  if (window.ResizeObserver) {
    new ResizeObserver(reportHeight).observe(document.body);
  }
  window.addEventListener("load", reportHeight);
  document.addEventListener("DOMContentLoaded", reportHeight);

  // The thank-you panel or the list of problems has just taken the focus.
  document.addEventListener("htmx:after:settle", function () {
    reportHeight();
    show(document.activeElement);
  });

  // Links to a part of this page ("Now send a message of solidarity", the problem list).
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest('a[href*="#"]') : null;
    if (!link || link.target || link.pathname !== window.location.pathname) return;
    show(document.getElementById(decodeURIComponent(link.hash.slice(1))));
  });
})();
