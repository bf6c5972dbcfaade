// The tracker's one script: draws charts from JSON blocks, follows background uploads.
// Loaded with `defer` from our own origin; no inline script anywhere (strict CSP).
(function () {
  "use strict";

  function drawCharts() {
    var blocks = document.querySelectorAll("script[type='application/json'][data-chart]");
    if (!blocks.length || !window.Plotly) { return; }
    blocks.forEach(function (block) {
      var figure = JSON.parse(block.textContent);
      var target = document.getElementById(block.getAttribute("data-chart"));
      if (!target) { return; }
      window.Plotly.newPlot(target, figure.data, figure.layout, {
        displaylogo: false, responsive: true, topojsonURL: target.getAttribute("data-topojson") || undefined
      });
    });
  }

  function followJob() {
    var status = document.querySelector("[data-job-status]");
    if (!status) { return; }
    var url = status.getAttribute("data-job-status");
    var bar = document.querySelector("progress[data-job-progress]");
    var text = document.querySelector("[data-job-text]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (job) {
          if (bar && job.total) { bar.max = job.total; bar.value = job.done; }
          if (text) { text.textContent = job.message; }
          if (job.state === "done" || job.state === "failed") { window.location.assign(job.next); }
          else { window.setTimeout(poll, 700); }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(); followJob(); });
})();
