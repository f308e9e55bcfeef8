// breachflow's workspace: progressive enhancement only. Every page works without this script;
// with it, the time left on each obligation counts down every 30 seconds, in the same words
// the server uses ("2 d 3 h 5 min left", "OVERDUE by 4 h"). Time runs on from the server's
// "now" at the page's making (its clock is the one deadlines are kept by, not this machine's).
// Served from the binary; no network.
"use strict";

function words(totalMinutes) {
  const d = Math.floor(totalMinutes / 1440);
  const h = Math.floor((totalMinutes % 1440) / 60);
  const m = totalMinutes % 60;
  const parts = [];
  if (d) parts.push(d + " d");
  if (h) parts.push(h + " h");
  if (m || parts.length === 0) parts.push(m + " min");
  return parts.join(" ");
}

let offset = 0;

function tick() {
  const now = Date.now() + offset;
  document.querySelectorAll("[data-due]").forEach(function (el) {
    const due = Date.parse(el.getAttribute("data-due"));
    if (Number.isNaN(due)) return;
    const statutory = el.getAttribute("data-statutory") === "true";
    const minutes = Math.floor((due - now) / 60000);
    if (minutes >= 0) {
      el.textContent = statutory ? words(minutes) + " left" : "internal target in " + words(minutes);
    } else if (statutory) {
      el.textContent = "OVERDUE by " + words(-minutes);
      const row = el.closest("tr");
      if (row) row.classList.add("overdue");
    } else {
      el.textContent = "internal target passed " + words(-minutes) + " ago";
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  const meta = document.querySelector('meta[name="breachflow-now"]');
  const serverNow = meta ? Date.parse(meta.getAttribute("content")) : NaN;
  if (!Number.isNaN(serverNow)) offset = serverNow - Date.now();
  if (document.querySelector("[data-due]")) {
    setInterval(tick, 30000);
  }
});
