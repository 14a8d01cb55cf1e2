// The application form, enhanced: as the applicant types, the server says which of the
// office's rules the answers so far do not meet (the same text as after sending). Without
// JavaScript the form works alike; the summary comes after sending.
(function () {
  "use strict";
  var form = document.getElementById("application-form");
  var live = document.getElementById("eligibility-live");
  if (!form || !live || !window.fetch || !window.FormData) {
    return;
  }
  // Back after sending, with rules not met: the applicant lands on why, by the checkbox.
  var summary = document.getElementById("eligibility-summary");
  if (summary && !document.getElementById("error-summary")) {
    summary.focus();
  }
  var timer = null;
  var asked = 0;

  function ask() {
    var data = new FormData(form);
    data.delete("proof"); // the file is not needed to compare answers with the rules
    var mine = ++asked;
    fetch(form.dataset.eligibilityUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        // An older answer arriving late must not replace a newer one.
        if (answer && mine === asked) {
          live.innerHTML = answer.html;
        }
      })
      .catch(function () {
        // Only a hint: the summary after sending still comes from the server.
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 600);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
