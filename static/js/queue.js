// The moderation queue's keyboard and focus. The page works without this file: every
// decision is a plain form. Keys: j/k next/previous, a approve, r reject (or change the
// reason of a rejected message: 1-9 or the arrow keys choose a reason, Enter sends,
// Escape or Cancel closes it and focus goes back to the message), x select, u undo.
(function () {
  "use strict";

  var queue = document.querySelector("[data-queue]");
  if (!queue) return;

  var STORAGE_KEY = "queue-shortcuts";
  var current = null; // the letter the keys act on
  var focusAfter = null; // what to focus once htmx has swapped the answer in
  var hideTimer = null;

  function announce(text) {
    var announcer = document.getElementById("announcer");
    if (!announcer) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function openItems() {
    return Array.prototype.slice.call(queue.querySelectorAll("[data-queue-item][data-open]"));
  }

  function itemOf(node) {
    return node && node.closest ? node.closest("[data-queue-item]") : null;
  }

  function currentItem() {
    var item = itemOf(document.activeElement);
    if (item) return item;
    if (current && current.isConnected) return current;
    return openItems()[0] || null;
  }

  function focusItem(item) {
    if (!item) return;
    current = item;
    item.focus();
    item.scrollIntoView({ block: "nearest" });
  }

  // The open letter after `item` in the page, else the one before it, else the page's end.
  function nextOpenAfter(item) {
    var all = Array.prototype.slice.call(queue.querySelectorAll("[data-queue-item]"));
    var at = all.indexOf(item);
    var later = all.slice(at + 1).filter(function (each) { return each.hasAttribute("data-open"); });
    if (later.length) return later[0];
    var earlier = all.slice(0, Math.max(at, 0)).filter(function (each) { return each.hasAttribute("data-open"); });
    return earlier.length ? earlier[earlier.length - 1] : null;
  }

  function move(step) {
    var items = openItems();
    if (!items.length) return;
    var at = items.indexOf(itemOf(document.activeElement) || current);
    var next = at === -1 ? items[0] : items[Math.min(Math.max(at + step, 0), items.length - 1)];
    focusItem(next);
  }

  function openReject(item) {
    var chooser = item.querySelector("[data-reject]");
    if (!chooser) return;
    chooser.open = true;
    chooser.scrollIntoView({ block: "nearest" });
    var radio = chooser.querySelector("input[type=radio]:checked") || chooser.querySelector("input[type=radio]");
    if (radio) radio.focus({ preventScroll: true });
  }

  // Close a reason chooser without deciding; focus goes back to its letter.
  function closeReject(chooser) {
    chooser.open = false;
    focusItem(itemOf(chooser));
  }

  // The open reason chooser the keys act on: the one focus is in, else the current
  // letter's (focus on the letter itself, or on nothing after a click on the page).
  function openChooser(target) {
    var inside = target.closest ? target.closest("[data-reject]") : null;
    if (inside) return inside.open ? inside : null;
    if (target !== document.body && !target.hasAttribute("data-queue-item")) return null;
    var item = currentItem();
    return item ? item.querySelector("[data-reject][open]") : null;
  }

  // 1-9 pick the reason with that number (checked and focused: a screen reader reads it).
  function pickReason(chooser, key) {
    var radio = chooser.querySelector('input[type=radio][data-key="' + key + '"]');
    if (!radio) return false;
    radio.checked = true;
    radio.focus();
    return true;
  }

  // An opened chooser shows what needs JavaScript: its keys and its Cancel button. Only
  // one is open at a time, so Tab never wanders through a letter left half-rejected.
  queue.addEventListener("toggle", function (event) {
    var chooser = event.target;
    if (!chooser.matches || !chooser.matches("[data-reject]") || !chooser.open) return;
    Array.prototype.forEach.call(chooser.querySelectorAll("[data-keys-hint], [data-reject-cancel]"), function (node) {
      node.hidden = false;
    });
    Array.prototype.forEach.call(queue.querySelectorAll("[data-reject][open]"), function (other) {
      if (other !== chooser) other.open = false;
    });
  }, true);

  queue.addEventListener("click", function (event) {
    var cancel = event.target.closest ? event.target.closest("[data-reject-cancel]") : null;
    if (cancel) closeReject(cancel.closest("[data-reject]"));
  });

  function toggleSelect(item) {
    var box = item.querySelector("[data-select]");
    if (!box) return;
    box.checked = !box.checked;
    updateSelection();
    var said = queue.getAttribute(box.checked ? "data-msg-selected" : "data-msg-unselected");
    announce(said.replace("{id}", item.getAttribute("data-letter")));
  }

  function selectedBoxes() {
    return Array.prototype.slice.call(queue.querySelectorAll("[data-select]:checked"));
  }

  function updateSelection() {
    var count = queue.querySelector("[data-selected-count]");
    if (!count) return;
    var n = selectedBoxes().length;
    count.hidden = n === 0;
    count.textContent = "(" + n + ")";
  }

  function shortcutsOn() {
    var box = document.getElementById("queue-keys-on");
    return !box || box.checked;
  }

  // Keys belong to the field while one is being filled in (and to the open reason
  // chooser); a checkbox, a button or a link leaves them to the queue.
  function typing(target) {
    if (!target.closest) return false;
    if (target.closest("textarea, select, [contenteditable], [data-reject][open]")) return true;
    return target.matches("input") && !/^(checkbox|button|submit|reset)$/.test(target.type);
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    // In an open reason chooser: Escape closes it wherever focus is, 1-9 pick a reason
    // (not while typing the note), Enter on a reason sends it.
    var chooser = openChooser(target);
    if (chooser && event.key === "Escape") {
      closeReject(chooser);
      event.preventDefault();
      return;
    }
    if (chooser && /^[1-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey &&
        !target.matches("input[type=text]") && shortcutsOn()) {
      if (pickReason(chooser, event.key)) event.preventDefault();
      return;
    }
    if (chooser && event.key === "Enter" && target.type === "radio") {
      event.preventDefault();
      target.form.requestSubmit(target.form.querySelector("button[type=submit]"));
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typing(target) || !shortcutsOn()) return;
    var item;
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a":
        item = currentItem();
        var approve = item && item.querySelector("[data-approve] button[type=submit]");
        if (!approve) return;
        if (!approve.form.classList.contains("htmx-request")) approve.click(); // once
        break;
      case "r":
        item = currentItem();
        if (!item) return;
        current = item;
        openReject(item);
        break;
      case "x":
        item = currentItem();
        if (!item) return;
        current = item;
        toggleSelect(item);
        break;
      case "u":
        var undo = document.querySelector("#queue-toast [data-undo] button[type=submit]");
        if (!undo) return;
        undo.click();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  queue.addEventListener("change", function (event) {
    if (event.target.matches("[data-select]")) updateSelection();
  });

  queue.addEventListener("focusin", function (event) {
    var item = itemOf(event.target);
    if (item) current = item;
  });

  // Before a decision is sent, decide where focus goes once the answer is in: to the
  // next letter still open after the one decided (after the last selected, in bulk).
  document.addEventListener("htmx:before:request", function (event) {
    var source = event.detail.ctx.sourceElement;
    var form = source && source.closest ? source.closest("form") : null;
    if (!form || !queue.contains(form)) return;
    if (form.hasAttribute("data-undo")) {
      focusAfter = { undo: true };
      return;
    }
    var item = itemOf(form);
    if (!item && form.id === "bulk-form") {
      var boxes = selectedBoxes();
      item = boxes.length ? itemOf(boxes[boxes.length - 1]) : null;
    }
    focusAfter = item ? { id: item.id } : null;
  });

  document.addEventListener("htmx:after:swap", function () {
    window.setTimeout(afterAnswer, 0);
  });

  function afterAnswer() {
    updateSelection();
    startUndoTimer();
    var plan = focusAfter;
    focusAfter = null;
    if (!plan) return;
    if (plan.undo) {
      var restored = queue.querySelector("[data-queue-item][data-open][data-restored]") || openItems()[0];
      focusItem(restored);
      return;
    }
    var item = document.getElementById(plan.id);
    if (!item) return;
    if (item.hasAttribute("data-open")) {
      focusItem(item); // not decided (refused, or still in this list): stay on it
      return;
    }
    var next = nextOpenAfter(item);
    if (next) {
      focusItem(next);
    } else {
      // Every letter on the page is decided: the way on is the next batch.
      var more = queue.querySelector("[data-next-batch]");
      if (more) more.focus();
    }
  }

  // The Undo button goes away after the undo window (the server refuses after it too).
  function startUndoTimer() {
    var toast = document.querySelector("#queue-toast [data-toast][data-undo-seconds]");
    if (!toast || toast.hasAttribute("data-timed")) return;
    toast.setAttribute("data-timed", "");
    window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(function () {
      var undo = toast.querySelector("[data-undo]");
      if (undo && toast.contains(document.activeElement)) focusItem(currentItem());
      if (toast.isConnected) toast.remove();
    }, parseInt(toast.getAttribute("data-undo-seconds"), 10) * 1000);
  }

  // 5xx answers are not swapped in, and a network failure has no answer: say so in the toast.
  function showProblem(message) {
    var region = document.getElementById("queue-toast");
    if (!region) return;
    region.innerHTML = "";
    var box = document.createElement("div");
    box.className = "toast toast--problem";
    box.setAttribute("data-toast", "");
    var text = document.createElement("p");
    text.className = "toast__message";
    text.textContent = message;
    box.appendChild(text);
    region.appendChild(box);
    announce(message);
  }

  document.addEventListener("htmx:response:error", function (event) {
    if (event.detail.ctx.response.status >= 500) {
      showProblem(document.documentElement.dataset.msgServer || "Sorry, that did not work. Please try again.");
    }
  });
  document.addEventListener("htmx:error", function () {
    showProblem(document.documentElement.dataset.msgNetwork || "We could not reach our server.");
  });

  // Show what needs JavaScript, and remember the shortcut switch.
  var keys = document.getElementById("queue-keys");
  if (keys) keys.hidden = false;
  var switchBox = document.getElementById("queue-keys-on");
  if (switchBox) {
    try { switchBox.checked = window.localStorage.getItem(STORAGE_KEY) !== "off"; } catch (e) { /* private mode */ }
    // With the shortcuts off, the letters stop showing keys that do nothing.
    queue.classList.toggle("queue--no-keys", !switchBox.checked);
    switchBox.addEventListener("change", function () {
      queue.classList.toggle("queue--no-keys", !switchBox.checked);
      try { window.localStorage.setItem(STORAGE_KEY, switchBox.checked ? "on" : "off"); } catch (e) { /* private mode */ }
    });
  }
  var selectAll = queue.querySelector("[data-select-all]");
  if (selectAll) {
    selectAll.hidden = false;
    selectAll.addEventListener("click", function () {
      var boxes = Array.prototype.slice.call(queue.querySelectorAll("[data-select]"));
      var all = boxes.every(function (box) { return box.checked; });
      boxes.forEach(function (box) { box.checked = !all; });
      updateSelection();
    });
  }
  startUndoTimer();
})();
