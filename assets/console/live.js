// webhook-relay console: live event rows. A table body with data-live-src is refreshed from
// that address every second (the relay renders the rows, escaped, from the store), so events
// accepted by any replica appear without a reload. Served from the binary: the
// Content-Security-Policy allows no inline script. Without it the page still works.
"use strict";
(function () {
  var body = document.querySelector("tbody[data-live-src]");
  if (!body || !window.fetch) {
    return;
  }
  var src = body.getAttribute("data-live-src");
  var busy = false;
  var last = null;
  function refresh() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        // Only a rows fragment is swapped in (a signed-out session gets the sign-in page).
        if (!res.ok || res.headers.get("X-Console-Fragment") !== "event-rows") {
          return null;
        }
        return res.text();
      })
      .then(function (html) {
        if (html !== null && html !== last) {
          last = html;
          body.innerHTML = html;
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
      });
  }
  window.setInterval(refresh, 1000);
})();
