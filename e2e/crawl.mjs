// Every page reachable from each role's home, on the narrowest phone we
// support (360 px): no horizontal scroll, no console error or CSP violation,
// no server error, no link that refuses its own user. Follows same-origin
// links breadth-first (GET only: forms are not submitted), a bounded number
// of pages per role, skipping downloads and one-time links.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_PASSWORD=... node crawl.mjs
//   (the demo accounts admin, sq01, zb0101, wg0101, dy0101, zxh0101 share RC_PASSWORD)
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.BASE_URL || 'http://127.0.0.1:8080';
const password = process.env.RC_PASSWORD;
if (!password) { console.error('RC_PASSWORD is required'); process.exit(2); }
const perRole = Number(process.env.RC_CRAWL_PAGES || 100);
const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; }
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

// Not pages to look at: downloads, files, one-time links, signing out.
const skip = u => /\/(logout|export|files)\b|\.(xlsx|csv|json|toml|svg|ico)(\?|$)|\/r\/revisit\/|\/api\//.test(u);
// One page of each shape is enough: ids and query strings vary the data, not the layout.
const shape = u => u.replace(/\?.*$/, '').replace(/\/\d+/g, '/N');

const roles = [
  ['匿名居民', null, '/'],
  ['党员', 'dy0101', '/'],
  ['党员中心户', 'zxh0101', '/'],
  ['网格员', 'wg0101', '/'],
  ['支部书记', 'zb0101', '/'],
  ['社区管理员', 'sq01', '/'],
  ['街道管理员', 'admin', '/'],
];

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 360, height: 780 },
  isMobile: true,
  hasTouch: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
try {
  for (const [who, user, start] of roles) {
    await browser.clearCookies();
    const page = await browser.newPage();
    const problems = [];
    page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', e => problems.push(String(e)));
    if (user) {
      await page.goto(base + '/login');
      await page.fill('input[name=username]', user);
      await page.fill('input[name=password]', password);
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    }
    const queue = [[start, '(home)']];
    const seen = new Set();
    let visited = 0;
    while (queue.length && visited < perRole) {
      const [path, from] = queue.shift();
      if (seen.has(shape(path))) continue;
      seen.add(shape(path));
      visited++;
      problems.length = 0;
      const res = await page.goto(base + path);
      const status = res ? res.status() : 0;
      const url = `${page.url().replace(base, '')} (linked from ${from})`;
      check(`${who} ${url}: answered`, status > 0 && status < 500, String(status));
      check(`${who} ${url}: not refused to its own user`, status !== 403, String(status));
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 361) {
        await page.screenshot({ path: `${out}crawl-overflow-${user || 'anon'}-${visited}.png`, fullPage: false });
        const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('table, .scroll, .table-wrap, .chart-card'))
          .slice(0, 3).map(e => `${e.tagName.toLowerCase()}.${e.className}`).join(', '));
        check(`${who} ${url}: fits 360 px`, false, `scrollWidth ${width}: ${wide}`);
      } else {
        check(`${who} ${url}: fits 360 px`, true);
      }
      check(`${who} ${url}: no console errors`, problems.length === 0, problems.join(' | '));
      const links = await page.evaluate(() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')));
      for (const h of links) {
        if (!h || !h.startsWith('/') || h.startsWith('//') || skip(h)) continue;
        if (!seen.has(shape(h))) queue.push([h, page.url().replace(base, '')]);
      }
    }
    console.log(`${who}: ${visited} pages`);
    await page.close();
  }
} catch (e) {
  failed++;
  console.log(`FAIL exception ${e.stack || e}`);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
