// The bell in the page header: shows the logged-in pilot's unread notifications.
// Pages are cached and shared, so the count is fetched here rather than rendered in.
(function () {
  "use strict";
  var bell = document.getElementById("bell");
  if (!bell || !window.fetch) { return; }
  // The account block says whether a pilot is logged in: visitors skip the request.
  var account = document.querySelector(".account");
  if (account && !account.querySelector(".pilot")) { return; }
  fetch("/api/v1/me/notifications/unread", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data || typeof data.unread !== "number") { return; }
      var count = document.getElementById("bell-count");
      count.textContent = String(data.unread);
      bell.setAttribute("aria-label", data.unread + " unread notifications");
      bell.classList.toggle("has-unread", data.unread > 0);
      bell.hidden = false;
    })
    .catch(function () { /* a visitor or an outage: no bell */ });
})();
