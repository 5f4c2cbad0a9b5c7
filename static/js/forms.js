// Every page's forms (loaded by templates/base.html; no inline script, so the CSP holds):
// 1. A warning before leaving a page whose POST form was changed and not submitted: each form's fields are
//    read when the page loads and again on leaving; a difference asks the browser's "leave site?" question.
//    A form sent back with errors (it holds an error summary or a field in error) counts as changed: what it
//    shows was not saved. A form opts out with data-no-unsaved-warning. Submitting a form stops the warning
//    (an htmx form that stays on the page takes what it sent as its new starting point).
// 2. The error summary (templates/trial/_error_summary.html) takes the focus when the page loads, and each of
//    its links moves the focus to the field it names.
(function () {
  "use strict";

  var IGNORED = { csrfmiddlewaretoken: true, form_token: true };

  function tracked(form) {
    return (form.getAttribute("method") || "get").toLowerCase() === "post" &&
      !form.hasAttribute("data-no-unsaved-warning");
  }

  function snapshot(form) {
    var parts = [];
    var data = new FormData(form);
    data.forEach(function (value, name) {
      if (IGNORED[name]) { return; }
      var text = (typeof value === "string") ? value : (value && value.name) || "";
      parts.push(name + "=" + text);
    });
    return parts.join("&");
  }

  var initial = new Map();
  var submitting = false;

  function rejected(form) {
    return form.querySelector("#error-summary, .has-error") !== null;
  }

  function remember() {
    document.querySelectorAll("form").forEach(function (form) {
      if (tracked(form) && !initial.has(form)) { initial.set(form, rejected(form) ? null : snapshot(form)); }
    });
  }

  function changed() {
    var dirty = false;
    initial.forEach(function (state, form) {
      if (form.isConnected && snapshot(form) !== state) { dirty = true; }
    });
    return dirty;
  }

  function viaHtmx(form) {
    return ["hx-post", "data-hx-post", "hx-put", "data-hx-put"].some(function (a) { return form.hasAttribute(a); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!tracked(form)) { return; }
    if (viaHtmx(form)) { initial.set(form, snapshot(form)); } else { submitting = true; }
  }, true);

  // htmx swaps in new forms: track them as they arrive (a form already tracked keeps its starting point)
  document.addEventListener("htmx:afterSettle", remember);

  window.addEventListener("beforeunload", function (event) {
    if (submitting || !changed()) { return undefined; }
    event.preventDefault();
    event.returnValue = "";  // older browsers need a value to show the dialog
    return "";
  });

  // back from the bfcache after a submit: the page is live again
  window.addEventListener("pageshow", function () { submitting = false; });

  function focusSummary() {
    var summary = document.getElementById("error-summary");
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[data-error-field]") : null;
      if (!link) { return; }
      var field = document.getElementById(link.getAttribute("data-error-field"));
      if (!field) { return; }
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus();
    });
  }

  function start() {
    remember();
    focusSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
