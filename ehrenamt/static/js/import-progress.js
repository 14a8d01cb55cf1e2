// The progress page of an import of old cards (templates/legacy/progress.html) while a
// worker imports: fetch the figures every second and show them; once the import is over,
// load the page again for the final word. Without JavaScript the page refreshes itself.
(function () {
  "use strict";

  var section = document.getElementById("import-progress");
  if (!section || section.getAttribute("data-complete") === "true") {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var bar = document.getElementById("import-bar");
  var names = ["total", "processed", "created", "skipped"];

  function show(name, value) {
    var element = section.querySelector('[data-count="' + name + '"]');
    var text = String(value);
    // Only on change: the figures are in a live region, read out when they change.
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function update(figures) {
    names.forEach(function (name) {
      if (typeof figures[name] === "number") {
        show(name, figures[name]);
      }
    });
    if (bar) {
      bar.max = Math.max(figures.total, 1);
      bar.value = figures.processed;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (figures) {
        update(figures);
        if (figures.complete) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        // Signed out, or the server is away for a moment: try again, more slowly.
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
