/* The complaint maps of the console (console/complaints.py): no inline script (the CSP forbids
   it), Leaflet from /console/static/vendor/leaflet/, tiles from OpenStreetMap.

   * #ticket-map: one ticket's pin (data-lat, data-lon, data-code).
   * #complaints-map: the listed tickets' pins, fetched from data-points (map.json with the
     list's filters); #map-shown says how many are drawn.

   When a tile cannot load (no internet) or Leaflet itself did not load, #map-offline is shown:
   the page's words and its table hold everything the map shows. */
(function () {
  "use strict";

  var TILES = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png";
  var PALEMBANG = [-2.976, 104.775];

  function offline() {
    var notice = document.getElementById("map-offline");
    if (notice) {
      notice.hidden = false;
    }
  }

  function escapeText(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  function baseMap(element) {
    var map = L.map(element, { scrollWheelZoom: false });
    var label = element.getAttribute("data-attribution") || "OpenStreetMap";
    var layer = L.tileLayer(TILES, {
      maxZoom: 19,
      attribution:
        '&copy; <a href="https://www.openstreetmap.org/copyright">' + escapeText(label) + "</a>",
    });
    var warned = false;
    layer.on("tileerror", function () {
      if (!warned) {
        warned = true;
        offline();
      }
    });
    layer.addTo(map);
    return map;
  }

  function ticketMap(element) {
    var lat = parseFloat(element.getAttribute("data-lat"));
    var lon = parseFloat(element.getAttribute("data-lon"));
    if (!isFinite(lat) || !isFinite(lon)) {
      return;
    }
    var map = baseMap(element);
    map.setView([lat, lon], 17);
    L.marker([lat, lon], {
      title: element.getAttribute("data-code") || "",
      alt: element.getAttribute("data-code") || "",
    }).addTo(map);
  }

  function popup(point) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = point.url;
    link.textContent = point.code;
    box.appendChild(link);
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(point.category_label));
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(point.status_label));
    return box;
  }

  function say(element, data) {
    var shown = document.getElementById("map-shown");
    if (!shown) {
      return;
    }
    var text = (shown.getAttribute("data-template") || "").replace("{shown}", data.shown);
    if (data.capped) {
      text += " " + (shown.getAttribute("data-capped") || "");
    }
    shown.textContent = text;
  }

  function listMap(element) {
    var map = baseMap(element);
    map.setView(PALEMBANG, 12);
    var url = element.getAttribute("data-points");
    if (!url) {
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) {
          throw new Error("map.json answered " + answer.status);
        }
        return answer.json();
      })
      .then(function (data) {
        var renderer = L.canvas();
        var bounds = [];
        data.points.forEach(function (point) {
          var where = [point.lat, point.lon];
          bounds.push(where);
          L.circleMarker(where, {
            renderer: renderer,
            radius: 6,
            weight: 2,
            color: "#5b1a5e",
            fillColor: "#ffffff",
            fillOpacity: 0.9,
          })
            .bindPopup(popup(point))
            .addTo(map);
        });
        if (bounds.length) {
          map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 });
        }
        say(element, data);
      })
      .catch(function () {
        offline();
      });
  }

  function start() {
    var ticket = document.getElementById("ticket-map");
    var list = document.getElementById("complaints-map");
    if (!ticket && !list) {
      return;
    }
    if (typeof L === "undefined") {
      offline();
      return;
    }
    if (ticket) {
      ticketMap(ticket);
    }
    if (list) {
      listMap(list);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
