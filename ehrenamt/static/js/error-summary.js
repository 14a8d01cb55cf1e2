// A form came back with errors: the focus moves to the summary at the top, which names
// every faulty field as a link to it (screen readers read it first; Tab reaches the links).
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
