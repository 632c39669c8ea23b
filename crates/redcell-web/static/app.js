// Progressive enhancement only: every page works without this file.
document.addEventListener('submit', function (e) {
  var f = e.target;
  var msg = f.getAttribute('data-confirm');
  if (msg && !window.confirm(msg)) { e.preventDefault(); }
});

// Pickers: a field marked data-pick ("member", "cadre", "household", "org",
// "post", or "from"/"to" of a contact form whose level decides the kind)
// offers matches from /pick as buttons; choosing one puts its id in the field.
// Without this script the server resolves the typed text itself.
(function () {
  function kindOf(input) {
    var k = input.getAttribute('data-pick');
    if (k !== 'from' && k !== 'to') { return k; }
    var form = input.form;
    var levels = {};
    try { levels = JSON.parse(form.getAttribute('data-levels') || '{}'); } catch (err) { levels = {}; }
    var level = form.elements.level ? form.elements.level.value : '';
    var pair = levels[level] || ['member', 'household'];
    if (k === 'to' && form.elements.to_kind && form.elements.to_kind.value === 'post') { return 'post'; }
    return k === 'from' ? pair[0] : pair[1];
  }
  function setup(input) {
    var box = document.createElement('div');
    box.className = 'pick-results';
    box.setAttribute('role', 'listbox');
    var chosen = document.createElement('span');
    chosen.className = 'hint pick-chosen';
    input.parentNode.insertBefore(box, input.nextSibling);
    input.parentNode.insertBefore(chosen, box);
    var timer = null;
    var seq = 0;
    input.addEventListener('input', function () {
      chosen.textContent = '';
      clearTimeout(timer);
      var q = input.value.trim();
      if (q === '' || /^\d+$/.test(q)) { box.textContent = ''; return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        var url = '/pick?kind=' + encodeURIComponent(kindOf(input)) + '&q=' + encodeURIComponent(q) +
          '&org_id=' + encodeURIComponent(input.getAttribute('data-org') || '');
        fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            if (mine !== seq) { return; }
            box.textContent = '';
            if (!items.length) {
              var none = document.createElement('span');
              none.className = 'muted';
              none.textContent = '没有找到';
              box.appendChild(none);
              return;
            }
            items.forEach(function (c) {
              var b = document.createElement('button');
              b.type = 'button';
              b.className = 'btn secondary pick-item';
              b.setAttribute('data-id', String(c.id));
              b.textContent = c.label + (c.detail ? '（' + c.detail + '）' : '');
              b.addEventListener('click', function () {
                input.value = String(c.id);
                chosen.textContent = '已选：' + b.textContent;
                box.textContent = '';
              });
              box.appendChild(b);
            });
          })
          .catch(function () { box.textContent = ''; });
      }, 250);
    });
  }
  document.querySelectorAll('input[data-pick]').forEach(setup);
})();

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

// A button that prints the page (feedback cards and other printable pages).
document.querySelectorAll('[data-print]').forEach(b => b.addEventListener('click', () => window.print()));
