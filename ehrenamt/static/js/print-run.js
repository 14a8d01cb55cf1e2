// The print-run page (templates/letters/print_run.html) while a worker lays out the PDF:
// fetch the progress every second and show it; once the run is no longer queued, load
// the page again for the download. Without JavaScript the page refreshes itself.
(function () {
  "use strict";

  var section = document.getElementById("print-run");
  if (!section || section.getAttribute("data-complete") === "true") {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var bar = document.getElementById("print-bar");
  var count = section.querySelector('[data-count="done"]');

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (run) {
        if (bar) {
          bar.max = Math.max(run.size, 1);
          bar.value = run.done;
        }
        // Only on change: the figure is in a live region, read out when it changes.
        if (count && count.textContent !== String(run.done)) {
          count.textContent = String(run.done);
        }
        if (run.state !== "queued") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
