// Staff pages: small helps on top of forms that work without this file.
(function () {
  "use strict";

  // A case preview shows the real letter forms; they must send nothing. Caught before
  // htmx sees the submit (capture phase on window runs first).
  window.addEventListener("submit", function (event) {
    var preview = event.target.closest && event.target.closest("[data-preview]");
    if (!preview) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var status = event.target.querySelector("[data-form-status]");
    if (status) status.textContent = preview.getAttribute("data-preview-message");
  }, true);
  // The email check on blur talks to the server too: not from a preview.
  document.addEventListener("htmx:before:request", function (event) {
    var source = event.detail && event.detail.ctx && event.detail.ctx.sourceElement;
    if (source && source.closest && source.closest("[data-preview]")) event.preventDefault();
  });

  // Say at once when a chosen photo is over the limit, rather than after the upload.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) return;
    var error = document.getElementById(input.id + "-error");
    var file = input.files && input.files[0];
    var tooLarge = file && file.size > Number(input.getAttribute("data-max-bytes"));
    if (error) error.textContent = tooLarge ? input.getAttribute("data-too-large") : "";
    if (tooLarge) {
      input.value = "";
      input.setAttribute("aria-invalid", "true");
      input.focus();
    } else {
      input.removeAttribute("aria-invalid");
    }
  });
})();
