// CTCAE term search on the AE form, by keyboard: Enter never submits the form from the search box, the arrow
// keys move between the results (and back to the box), and choosing a term moves focus on to its grades.
(function () {
  "use strict";

  function options() {
    return Array.prototype.slice.call(document.querySelectorAll("#term-results button"));
  }

  function onSearchKey(event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var first = options()[0];
      if (first) first.focus();
    } else if (event.key === "ArrowDown") {
      var top = options()[0];
      if (top) {
        event.preventDefault();
        top.focus();
      }
    }
  }

  function onResultKey(event) {
    var list = options();
    var index = list.indexOf(event.target);
    if (index < 0) return;
    if (event.key === "ArrowDown" && index + 1 < list.length) {
      event.preventDefault();
      list[index + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      (index > 0 ? list[index - 1] : document.getElementById("term-search")).focus();
    }
  }

  function focusGrades(event) {
    if (!event.detail || !event.detail.target || event.detail.target.id !== "term-block") return;
    var grade = document.querySelector("#grade-options input[type=radio]:checked") ||
      document.querySelector("#grade-options input[type=radio]");
    if (grade) grade.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var search = document.getElementById("term-search");
    if (!search) return;
    search.addEventListener("keydown", onSearchKey);
    var results = document.getElementById("term-results");
    if (results) results.addEventListener("keydown", onResultKey);
    document.body.addEventListener("htmx:afterSwap", focusGrades);
  });
})();
