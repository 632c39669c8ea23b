// Headless-Chromium test of the coverage additions: demonstration posts are
// listed, and the picker script finds a member by name and fills in the id.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_USER=admin RC_PASSWORD=... node posts_and_picker.mjs
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.BASE_URL || 'http://127.0.0.1:8080';
const user = process.env.RC_USER || 'admin';
const password = process.env.RC_PASSWORD;
if (!password) { console.error('RC_PASSWORD is required'); process.exit(2); }
let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 412, height: 915 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
const page = browser.pages()[0] || await browser.newPage();
const problems = [];
page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
page.on('pageerror', e => problems.push(String(e)));

try {
  await page.goto(base + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (/\/orgs\/\d+\/glance$/.test(page.url())) { await page.goto(page.url().replace(/\/glance$/, '')); }
  else if (!/\/orgs\/\d+$/.test(page.url())) { await page.click('.tree a >> nth=0'); }
  const rootId = page.url().match(/\/orgs\/(\d+)/)[1];

  // The coverage report links to the posts, which name the posts without a group leader.
  await page.goto(`${base}/orgs/${rootId}/coverage`);
  check('report names posts without a group leader', (await page.textContent('main')).includes('无党小组长联系的党员示范岗'));
  await Promise.all([page.waitForNavigation(), page.click(`a[href="/orgs/${rootId}/posts"]`)]);
  const rows = await page.locator('main table tbody tr').count();
  check('demo posts listed', rows > 0, String(rows));
  const name = (await page.textContent('main table tbody tr >> nth=0 >> td >> nth=1')).trim();

  // The picker: type the member's name, choose the match, the field holds the id.
  await page.goto(`${base}/orgs/${rootId}/contacts`);
  await page.selectOption('form.stack select[name=level]', 'central_member');
  await page.fill('input[name=from_id]', '');
  await page.type('input[name=from_id]', name, { delay: 30 });
  const item = page.locator('.pick-results .pick-item').first();
  await item.waitFor({ timeout: 5000 });
  check('picker offers the member', (await item.textContent()).includes(name), await item.textContent());
  await item.click();
  const v = await page.inputValue('input[name=from_id]');
  check('choosing fills in the id', /^\d+$/.test(v), v);
  check('the choice is shown', (await page.textContent('.pick-chosen')).includes(name));
  check('no console errors', problems.length === 0, problems.join(' | '));
} catch (e) {
  failed++;
  console.log(`FAIL exception ${e}`);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
