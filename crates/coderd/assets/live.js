// Live job logs: polls the API's JSON logs (same cookie) after the last
// id shown and appends them; reloads the page once the job has ended so
// its status, history and quota are current. Used by the workspace page
// (build logs) and the template import page.
(function () {
  var el = document.querySelector("[data-live-logs]");
  if (!el) return;
  var logsUrl = el.getAttribute("data-live-logs");
  var jobUrl = el.getAttribute("data-live-job");
  var after = parseInt(el.getAttribute("data-after") || "0", 10);
  var status = document.getElementById("live-status");
  function line(l) {
    var div = document.createElement("div");
    if (l.log_level === "error") div.className = "error";
    var text = (l.stage ? "[" + l.stage + "] " : "") + l.output;
    div.textContent = text;
    el.appendChild(div);
    el.scrollTop = el.scrollHeight;
  }
  function done(s) {
    return s === "succeeded" || s === "failed" || s === "canceled";
  }
  function tick() {
    fetch(logsUrl + (logsUrl.indexOf("?") < 0 ? "?" : "&") + "after=" + after, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (logs) {
        (logs || []).forEach(function (l) { line(l); if (l.id > after) after = l.id; });
        return fetch(jobUrl, { credentials: "same-origin" });
      })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (obj) {
        var job = obj && (obj.job || (obj.latest_build && obj.latest_build.job));
        if (job && status) status.textContent = job.status;
        if (job && done(job.status)) { setTimeout(function () { location.reload(); }, 300); return; }
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 500);
})();
