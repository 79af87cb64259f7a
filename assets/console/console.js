// webhook-relay console: the little script the pages use, served from the binary (the
// Content-Security-Policy allows no inline script). Every page works without it.
"use strict";
document.addEventListener("submit", function (e) {
  // A form with data-confirm asks before it is sent (deleting an instance or a webhook).
  var form = e.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    e.preventDefault();
  }
});
