/* The directory's enhancements; without them the search form and the list work alone.
   - "In meiner Nähe": asks the browser for the position, puts it into the form's hidden
     lat/lon fields and sends the form (the server filters by radius and sorts by distance).
   - The map: one marker per listed partner, read from the cards' data attributes (the
     Content-Security-Policy allows no inline script). Tiles that fail to load leave the
     list untouched. */
(function () {
  "use strict";

  var button = document.getElementById("near-me");
  var form = document.getElementById("directory-search");
  var status = document.getElementById("near-me-status");
  if (button && form && "geolocation" in navigator) {
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = button.dataset.locating;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          form.elements.lat.value = position.coords.latitude.toFixed(5);
          form.elements.lon.value = position.coords.longitude.toFixed(5);
          form.submit();
        },
        function () {
          status.textContent = button.dataset.failed;
          form.elements.place.focus();
        },
        { timeout: 15000, maximumAge: 300000 }
      );
    });
  }

  var container = document.getElementById("directory-map");
  if (!container || typeof L === "undefined") {
    return;
  }
  // Hidden in the page: without Leaflet an empty box would only take room.
  container.hidden = false;
  var cards = document.querySelectorAll(".directory-results [data-lat]");
  var points = [];
  // keyboard: false for the map, whose arrow-key panning needs it to be a tab stop; the
  // markers are tab stops with the partner's name, then Tab moves on to the list.
  // No fading: a popup half faded in has too little contrast for anyone reading it then.
  var map = L.map(container, {
    keyboard: false,
    scrollWheelZoom: false,
    zoomControl: false,
    fadeAnimation: false
  });
  L.control.zoom({
    zoomInTitle: container.dataset.zoomIn,
    zoomOutTitle: container.dataset.zoomOut
  }).addTo(map);
  L.tileLayer(container.dataset.tileUrl, {
    attribution: container.dataset.attribution,
    maxZoom: 18
  }).addTo(map);
  cards.forEach(function (card) {
    var point = [parseFloat(card.dataset.lat), parseFloat(card.dataset.lon)];
    var link = document.createElement("a");
    link.href = card.dataset.url;
    link.textContent = card.dataset.name;
    L.marker(point, { title: card.dataset.name, alt: card.dataset.name })
      .bindPopup(link)
      .addTo(map);
    points.push(point);
  });
  if (container.dataset.lat) {
    var here = [parseFloat(container.dataset.lat), parseFloat(container.dataset.lon)];
    L.circleMarker(here, { radius: 8, color: "#0b4f8a", fillOpacity: 0.6 })
      .bindTooltip(container.dataset.here)
      .addTo(map);
    points.push(here);
  }
  if (points.length === 0) {
    container.hidden = true;
    return;
  }
  map.fitBounds(points, { padding: [30, 30], maxZoom: 15 });
})();
