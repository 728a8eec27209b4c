// The console's little JavaScript: the comparison run's progress bar, fed by the job.
"use strict";

(function () {
  const box = document.getElementById("run-progress");
  if (!box) return;
  const done = (s) => s === "applied" || s === "failed";
  if (done(box.dataset.status)) return;
  async function tick() {
    try {
      const resp = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      if (resp.ok) {
        const run = await resp.json();
        document.getElementById("run-bar").value = run.percent;
        document.getElementById("run-percent").textContent = run.percent + "%";
        document.getElementById("run-status").textContent = run.status;
        document.getElementById("run-note").textContent = run.progress || "";
        if (done(run.status)) {
          window.location.reload();
          return;
        }
      }
    } catch (e) {
      /* the next tick tries again */
    }
    setTimeout(tick, 1500);
  }
  setTimeout(tick, 1000);
})();
