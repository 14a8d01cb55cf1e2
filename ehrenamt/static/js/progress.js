// A page that shows a worker's progress (an import of old cards, a batch of cards, a
// print run) while the worker runs: fetch the figures every second and show them; once
// the server says the work is complete, load the page again for the final word. Without
// JavaScript the page refreshes itself (its <noscript> refresh).
//
// The page says what to do in data attributes of its progress section, so one script
// serves every such page:
//   data-progress-url    where the figures are (JSON; "complete": true when done)
//   data-complete        "true" when the page was rendered after the end: nothing to do
//   data-progress-bar    id of the <progress> element (optional)
//   data-progress-value  the figure the bar shows, data-progress-max its maximum
// Every element inside with data-count="name" shows the figure of that name.
(function () {
  "use strict";

  function follow(section) {
    var url = section.getAttribute("data-progress-url");
    var bar = document.getElementById(section.getAttribute("data-progress-bar") || "");
    var valueName = section.getAttribute("data-progress-value");
    var maxName = section.getAttribute("data-progress-max");

    function update(figures) {
      section.querySelectorAll("[data-count]").forEach(function (element) {
        var value = figures[element.getAttribute("data-count")];
        // Only on change: the figures are in a live region, read out when they change.
        if (typeof value === "number" && element.textContent !== String(value)) {
          element.textContent = String(value);
        }
      });
      if (bar && typeof figures[valueName] === "number" && typeof figures[maxName] === "number") {
        bar.max = Math.max(figures[maxName], 1);
        // Nothing to do at all is done: a full bar, not an empty one.
        bar.value = figures[maxName] ? figures[valueName] : 1;
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
  }

  document.querySelectorAll("[data-progress-url]").forEach(function (section) {
    if (section.getAttribute("data-complete") !== "true") {
      follow(section);
    }
  });
})();
