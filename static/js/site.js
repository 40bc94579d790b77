// Small enhancements on top of htmx. Every page works without this file.
(function () {
  "use strict";

  var announcer = function () { return document.getElementById("announcer"); };

  // Say what htmx just swapped in: the thank-you heading, or the summary of errors.
  // (htmx itself moves focus to the [autofocus] element of the new content.)
  document.addEventListener("htmx:after:swap", function () {
    var node = document.querySelector("[data-announce]:not([data-announced])");
    if (!node || !announcer()) return;
    node.setAttribute("data-announced", "");
    announcer().textContent = "";
    window.setTimeout(function () { announcer().textContent = node.textContent.trim(); }, 50);
  });

  // 5xx answers and network failures are not swapped in (see the htmx-config meta tag),
  // so the form stays as it was, with the supporter's text. Tell them what happened.
  function requestSource(event) {
    var source = event.detail && event.detail.ctx && event.detail.ctx.sourceElement;
    return source && source.closest ? source : document.documentElement;
  }

  function formStatus(event) {
    var form = requestSource(event).closest("form");
    return form ? form.querySelector("[data-form-status]") : null;
  }

  // The status region (role=status) announces the message itself: not #announcer too,
  // or a screen reader would say it twice.
  function showProblem(event, message) {
    var status = formStatus(event);
    if (!status) return;
    status.classList.remove("form-status--busy");
    status.textContent = message;
  }

  document.addEventListener("htmx:response:error", function (event) {
    if (event.detail.ctx.response.status >= 500) {
      showProblem(event, document.documentElement.dataset.msgServer ||
        "Sorry, we could not send that just now. Your text is still here: please try again in a moment.");
    }
  });

  document.addEventListener("htmx:error", function (event) {
    showProblem(event, document.documentElement.dataset.msgNetwork ||
      "We could not reach our server. Please check your connection: your text is still here.");
  });

  // Sending the form itself (not the inline email check): the button shows "Sending…"
  // to the eye, the status region says it to screen readers (the answer replaces it).
  document.addEventListener("htmx:before:request", function (event) {
    var status = formStatus(event);
    if (!status) return;
    var sendingForm = requestSource(event).matches("form");
    status.classList.toggle("form-status--busy", sendingForm);
    status.textContent = sendingForm ? status.getAttribute("data-sending") : "";
  });

  // An answer that left the form in place without a problem to tell (a 204, a cancelled
  // request): "Sending…" is over.
  document.addEventListener("htmx:finally:request", function (event) {
    var status = formStatus(event);
    if (status && status.classList.contains("form-status--busy")) {
      status.classList.remove("form-status--busy");
      status.textContent = "";
    }
  });

  // Counters poll only while the tab is seen: a hidden tab's polls are dropped, and the
  // visibilitychange in their trigger brings the count up to date as it is seen again.
  document.addEventListener("htmx:before:request", function (event) {
    var source = requestSource(event);
    if (document.visibilityState === "hidden" && source.matches("[data-poll-while-visible]")) {
      event.preventDefault();
    }
  });

  // A suggested solidarity message, picked, goes into the message box to be edited
  // (without this, a picked one is sent when the box is left empty). Words the supporter
  // wrote are replaced only if they say so.
  document.addEventListener("change", function (event) {
    var group = event.target.closest ? event.target.closest("[data-suggestions]") : null;
    if (!group || event.target.type !== "radio") return;
    var box = document.getElementById(group.getAttribute("data-suggestions"));
    if (!box) return;
    var current = box.value.trim();
    var suggested = Array.prototype.some.call(group.querySelectorAll("input[type=radio]"), function (radio) {
      return radio.value.trim() === current;
    });
    if (current && !suggested && !window.confirm(group.getAttribute("data-replace"))) return;
    box.value = event.target.value;
    if (announcer()) announcer().textContent = group.getAttribute("data-filled");
  });

  // "Copy link" buttons are shown only where they can work.
  function revealCopyButtons(root) {
    if (!navigator.clipboard) return;
    (root.querySelectorAll ? root : document).querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { revealCopyButtons(document); });
  document.addEventListener("htmx:after:swap", function () { revealCopyButtons(document); });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".copy-status");
    navigator.clipboard.writeText(input.value).then(function () {
      if (status) status.textContent = button.getAttribute("data-copied") || "Link copied";
    }, function () {
      input.select();
    });
  });
})();
