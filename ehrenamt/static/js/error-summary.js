// After a failed submit, focus goes to the error summary, so that a screen reader reads it
// and the keyboard starts there. A script, not `autofocus`: Chromium skips autofocus when
// the address has a fragment (forms posting to "…#invite" keep their place on the page),
// and moving to the fragment after loading takes focus away again, hence once more then.
(function () {
  var summary = document.getElementById("error-summary");
  if (!summary) {
    return;
  }
  summary.focus();
  window.addEventListener("load", function () {
    window.setTimeout(function () { summary.focus(); }, 0);
  });
})();
