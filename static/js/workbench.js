/* Keyboard-first triage for the stewards' workbench (no dependencies; htmx
   is loaded separately for partial updates).  Every shortcut has a visible
   button or link doing the same thing, so the pages work without it. */
(function () {
  "use strict";

  var ACTION_LABELS = { merge: "merge", not_duplicate: "mark as not a duplicate", defer: "defer" };
  var KEY_ACTIONS = { m: "merge", n: "not_duplicate", d: "defer" };
  var pendingAction = null;
  var gPressed = false;

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable) return true;
    if (tag !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(el.type) === -1;
  }

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /* --- help overlay --------------------------------------------------------- */
  function openHelp() {
    var d = $("#help");
    if (d && !d.open && d.showModal) d.showModal();
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-help-open]")) openHelp();
    var close = e.target.closest("[data-toast-close]");
    if (close) close.closest("[data-toast]").remove();
  });

  /* --- compare page: decisions ---------------------------------------------------- */
  var form = $("[data-decision-form]");
  var reason = form && $("[data-reason]", form);
  var hint = form && $("[data-pending-hint]", form);

  function buttonFor(action) {
    return form && $('button[name="action"][value="' + action + '"]', form);
  }

  function setPending(action) {
    pendingAction = action;
    $all("[data-action-key]", form).forEach(function (b) {
      b.classList.toggle("is-pending", b.value === action);
      b.setAttribute("aria-pressed", b.value === action ? "true" : "false");
    });
    if (hint) {
      hint.hidden = !action;
      hint.textContent = action ? "Type the reason, then press Enter to " + ACTION_LABELS[action] + " (Esc cancels)." : "";
    }
  }

  function decide(action) {
    if (!form) return;
    var button = buttonFor(action);
    if (!button) return;
    if (reason && reason.value.trim()) {
      form.requestSubmit(button);
      return;
    }
    setPending(action);
    if (reason) { reason.focus(); }
  }

  if (form && reason) {
    reason.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        if (!reason.value.trim()) { reason.setAttribute("aria-invalid", "true"); return; }
        if (pendingAction) { form.requestSubmit(buttonFor(pendingAction)); }
        else if (hint) { hint.hidden = false; hint.textContent = "Choose: m merge, n not a duplicate, d defer (or click a button)."; reason.blur(); }
      } else if (e.key === "Escape") {
        setPending(null);
        reason.blur();
      }
    });
    form.addEventListener("submit", function () {
      $all("button[type=submit]", form).forEach(function (b) { b.setAttribute("aria-busy", "true"); });
    });
    // "After merge" column follows the picks.
    form.addEventListener("change", function (e) {
      var radio = e.target;
      if (radio.type !== "radio" || radio.name.indexOf("pick_") !== 0) return;
      var row = radio.closest("tr");
      var out = row && $("[data-result]", row);
      if (out) out.textContent = radio.getAttribute("data-value") || "—";
    });
  }

  function pickSide(side) {
    var active = document.activeElement;
    var row = active && active.closest && active.closest("[data-pick-row]");
    if (!row) return false;
    var radio = $('input[type=radio][value="' + side + '"]', row);
    if (!radio) return false;
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    radio.focus();
    return true;
  }

  /* --- lists: j/k selection, Enter opens ------------------------------------------- */
  var rows = $all("[data-nav-list] [data-nav-row]");
  var current = -1;
  function select(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, k) { r.classList.toggle("is-selected", k === current); });
    rows[current].scrollIntoView({ block: "nearest" });
    var link = $(".row-link", rows[current]) || $("a", rows[current]);
    if (link) link.focus({ preventScroll: true });
  }

  function follow(selector) {
    var a = $(selector);
    if (a && a.getAttribute("href")) { window.location.href = a.getAttribute("href"); return true; }
    return false;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    var dlg = $("#help");
    if (dlg && dlg.open) return;
    if (typing(document.activeElement)) return;
    var key = e.key;
    if (key === "?") { e.preventDefault(); openHelp(); return; }
    if (key === "/") { var s = $("#global-search"); if (s) { e.preventDefault(); s.focus(); s.select(); } return; }
    if (gPressed) {
      gPressed = false;
      if (key === "r") { e.preventDefault(); window.location.href = "/review/"; return; }
      if (key === "d") { e.preventDefault(); window.location.href = "/"; return; }
      if (key === "e") { e.preventDefault(); window.location.href = "/exceptions/"; return; }
    }
    if (key === "g") { gPressed = true; setTimeout(function () { gPressed = false; }, 1200); return; }
    if (form) {
      if (key === "j") { if (follow("[data-key-next]")) e.preventDefault(); return; }
      if (key === "k") { if (follow("[data-key-prev]")) e.preventDefault(); return; }
      if (KEY_ACTIONS[key] && buttonFor(KEY_ACTIONS[key])) { e.preventDefault(); decide(KEY_ACTIONS[key]); return; }
      if (key === "1" && pickSide("a")) { e.preventDefault(); return; }
      if (key === "2" && pickSide("b")) { e.preventDefault(); return; }
      if (key === "Escape") { setPending(null); return; }
      return;
    }
    if (rows.length) {
      if (key === "j") { e.preventDefault(); select(current + 1); return; }
      if (key === "k") { e.preventDefault(); select(current - 1); return; }
      if (key === "Enter" && current >= 0) { e.preventDefault(); window.location.href = rows[current].getAttribute("data-href"); return; }
      if (key === "x" && current >= 0) {
        var box = $("input[type=checkbox]", rows[current]);
        if (box) { e.preventDefault(); box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
      }
    }
  });

  /* --- bulk selection on the queue --------------------------------------------------- */
  function bulkCount() {
    var bulk = $("[data-bulk]");
    if (!bulk) return;
    var n = $all('input[name="tasks"]:checked', bulk).length;
    var label = $("[data-bulk-count]", bulk);
    if (label) label.textContent = n + " selected";
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-select-all]")) {
      var bulk = e.target.closest("[data-bulk]");
      $all('input[name="tasks"]', bulk).forEach(function (b) { b.checked = e.target.checked; });
    }
    if (e.target.matches("[data-autosubmit]")) e.target.form.submit();
    bulkCount();
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    rows = $all("[data-nav-list] [data-nav-row]"); current = -1; bulkCount();
  });

  /* --- confirmations and toasts ---------------------------------------------------------- */
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  $all("[data-toast]").forEach(function (t) {
    if (!$("form", t)) setTimeout(function () { t.remove(); }, 15000);
  });
})();
