/* The browser simulator: new messages (a notice, a broadcast, a login code) appear without
   reloading. Only an enhancement: without JavaScript the page's "see new messages" link and
   its forms do the same. */
(function () {
  "use strict";
  var log = document.getElementById("sim-log");
  if (!log || !window.fetch || !document.createElement("template").content) {
    return;
  }
  var source = log.getAttribute("data-src");
  var busy = false;

  function poll() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    var after = log.getAttribute("data-after") || "0";
    fetch(source + "?after=" + encodeURIComponent(after), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html; // our own page's escaped markup
        var items = holder.content.querySelectorAll("li.sim-line");
        for (var i = 0; i < items.length; i++) {
          log.appendChild(items[i]);
          log.setAttribute("data-after", items[i].getAttribute("data-seq"));
        }
        var empty = document.getElementById("sim-empty");
        if (items.length && empty) {
          empty.parentNode.removeChild(empty);
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, 4000);
})();
