// Headless-Chromium test of the duty calendar on a phone: a cadre opens
// "my duties" on Tuesday morning, records a grid visit with the quick form and
// sees the grid-day duty turn from due to done.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_CADRE=wg0101 RC_PASSWORD=... node duties.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.BASE_URL || 'http://127.0.0.1:8080';
const user = process.env.RC_CADRE || 'wg0101';
const password = process.env.RC_CADRE_PASSWORD || process.env.RC_PASSWORD;
if (!password) { console.error('RC_PASSWORD (or RC_CADRE_PASSWORD) is required'); process.exit(2); }
const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 390, height: 844 }, // a phone
  isMobile: true,
  hasTouch: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
const page = browser.pages()[0] || await browser.newPage();
const problems = [];
page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
page.on('pageerror', e => problems.push(String(e)));

const GRID_DAY = '驻格干部每周二网格日';
const statusOf = async () =>
  page.locator('li.duty', { has: page.locator(`b:text-is("${GRID_DAY}")`) }).getAttribute('data-status');

try {
  await page.goto(base + '/duties/my');
  check('unauthenticated visit lands on the login page', page.url().includes('/login'), page.url());
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (!page.url().includes('/duties/my')) await page.goto(base + '/duties/my');
  check('my duties opened', page.url().includes('/duties/my'), page.url());
  await page.screenshot({ path: out + 'duties-1-my.png', fullPage: true });

  const before = await statusOf();
  check('the grid-day duty is listed and not yet done', before && before !== 'done', String(before));
  const noScroll = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  check('the page fits the phone width', noScroll);

  const options = await page.locator('#visit-place option').count();
  check('the quick form offers the cadre\'s grid and key households', options > 0, String(options));
  const first = await page.locator('#visit-place option').first().getAttribute('value');
  check('the first place is a grid', (first || '').startsWith('grid:'), String(first));
  await page.selectOption('#visit-place', first);
  await page.selectOption('select[name=purpose]', 'routine');
  await page.fill('textarea[name=learned]', '网格日走访：楼道消防通道畅通，一户反映路灯不亮');
  await Promise.all([page.waitForNavigation(), page.click('#quick-visit button[type=submit]')]);
  check('the visit is saved', (await page.locator('#visit-saved').count()) === 1, page.url());
  const after = await statusOf();
  check('the grid-day duty turned to done', after === 'done', String(after));
  await page.screenshot({ path: out + 'duties-2-done.png', fullPage: true });

  // A visit dated tomorrow is refused with a clear message, and nothing changes.
  const tomorrow = new Date(Date.now() + 8 * 3600e3 + 86400e3).toISOString().slice(0, 10);
  await page.fill('input[name=visited_on]', tomorrow);
  await Promise.all([page.waitForNavigation(), page.click('#quick-visit button[type=submit]')]);
  const msg = await page.textContent('.flash.error');
  check('a future visit is refused', (msg || '').includes('不能在未来'), String(msg));
  check('no console errors or CSP violations', problems.filter(p => !p.includes('status of 422')).length === 0, problems.join(' | '));
} catch (e) {
  failed++;
  console.log('FAIL unexpected: ' + e);
  await page.screenshot({ path: out + 'duties-failure.png', fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
