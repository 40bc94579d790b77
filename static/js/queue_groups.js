// A group's page (admin/queue_group.html): after a decision or an undo is swapped in,
// focus goes to the toast's Undo button, else to the group's heading, instead of being
// lost with the button that was replaced. The page works without this file.
(function () {
  "use strict";

  if (!document.getElementById("group-decision")) return;

  document.addEventListener("htmx:after:swap", function () {
    window.setTimeout(function () {
      var active = document.activeElement;
      if (active && active !== document.body && active.isConnected) return;
      var target = document.querySelector("#queue-toast [data-undo] button[type=submit]") ||
        document.getElementById("group-decision-title");
      if (target) target.focus();
    }, 0);
  });
})();
