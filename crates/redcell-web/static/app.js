// Progressive enhancement only: every page works without this file.
document.addEventListener('submit', function (e) {
  var f = e.target;
  var msg = f.getAttribute('data-confirm');
  if (msg && !window.confirm(msg)) { e.preventDefault(); }
});

// Import jobs: poll the job's status and reload the page when it is done.
(function () {
  var box = document.querySelector('[data-job-poll]');
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute('data-job-poll');
  function tick() {
    fetch(url, { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (j) {
      var p = document.getElementById('job-progress');
      if (p) { p.textContent = j.progress; }
      if (j.finished) { window.location.reload(); } else { setTimeout(tick, 1000); }
    }).catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 700);
})();
