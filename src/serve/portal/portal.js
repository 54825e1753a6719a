// The run page's live log: the run's log lines over Server-Sent Events, appended as
// they come; when the run ends the page reloads to show its result. Without scripts
// the page refreshes itself instead (a <noscript> refresh).
(function () {
  var log = document.getElementById('log');
  if (!log || !log.dataset.events || !window.EventSource) return;
  var fresh = true;
  var source = new EventSource(log.dataset.events);
  source.addEventListener('log', function (e) {
    // The stream starts from the first line: it replaces what the page was given.
    if (fresh) { log.textContent = ''; fresh = false; }
    log.textContent += e.data + '\n';
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener('end', function (e) {
    source.close();
    var status = document.getElementById('run-status');
    try { if (status) status.textContent = JSON.parse(e.data).status; } catch (_) {}
    window.location.reload();
  });
  source.onerror = function () {
    source.close();
    setTimeout(function () { window.location.reload(); }, 1000);
  };
})();
