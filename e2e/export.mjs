// Headless-Chromium test of list exports: log in, open a list page, click
// "导出 Excel" and "导出 CSV", and check that the downloads arrive as an xlsx
// (a zip file) and as a UTF-8 CSV with a byte-order mark, masked.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_USER=admin RC_PASSWORD=... node export.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.BASE_URL || 'http://127.0.0.1:8080';
const user = process.env.RC_USER || 'admin';
const password = process.env.RC_PASSWORD;
if (!password) { console.error('RC_PASSWORD is required'); process.exit(2); }
const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const CLEAR_ID = /\b\d{17}[\dX]\b/;
let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1280, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
const page = browser.pages()[0] || await browser.newPage();
const problems = [];
page.on('pageerror', e => problems.push(String(e)));

async function download(selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const path = join(out, dl.suggestedFilename());
  await dl.saveAs(path);
  return { name: dl.suggestedFilename(), bytes: readFileSync(path) };
}

try {
  await page.goto(base + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check('logged in', !page.url().includes('/login'), page.url());

  // The street's member list: every member, masked.
  // Staff land on their organisation at a glance; its page is one step away.
  if (/\/orgs\/\d+\/glance$/.test(page.url())) {
    await page.goto(page.url().replace(/\/glance$/, ''));
  } else if (!/\/orgs\/\d+$/.test(page.url())) {
    await Promise.all([page.waitForNavigation(), page.click('.tree a >> nth=0')]);
  }
  const org = page.url().split('/').pop();
  await page.goto(`${base}/members?org_id=${org}`);
  check('member list offers the export', await page.locator('a:has-text("导出 Excel")').count() === 1);
  const x = await download('a:has-text("导出 Excel")');
  check('xlsx download has a Chinese name', /^党员名册-\d{8}\.xlsx$/.test(x.name), x.name);
  check('xlsx download is a zip file', x.bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])));
  check('xlsx holds a worksheet', x.bytes.includes(Buffer.from('xl/worksheets/sheet1.xml')));

  const c = await download('a:has-text("导出 CSV")');
  const text = c.bytes.toString('utf8');
  check('csv download has a Chinese name', /^党员名册-\d{8}\.csv$/.test(c.name), c.name);
  check('csv starts with a UTF-8 byte-order mark', c.bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])));
  check('csv has the header row', text.split('\r\n')[0].includes('身份证号（脱敏）'), text.slice(0, 200));
  const rows = text.trim().split('\r\n').length - 1;
  const shown = Number(((await page.textContent('main')).match(/共\s*(\d+)\s*条/) || [])[1] || NaN);
  check('csv has every member of the street', rows > 0 && (Number.isNaN(shown) || rows === shown), `${rows} vs ${shown}`);
  check('csv shows no clear ID number', !CLEAR_ID.test(text));

  // A household page offers its residents.
  await page.goto(`${base}/orgs/${org}`);
  await Promise.all([page.waitForNavigation(), page.click('table a[href^="/grids/"] >> nth=0')]);
  const g = await download('.exports a:has-text("导出 Excel") >> nth=0');
  check('grid page export is an xlsx', g.bytes.subarray(0, 2).toString() === 'PK', g.name);

  // The request register, filtered: the link carries the filter, phones are masked.
  await page.goto(`${base}/requests?state=open`);
  const href = await page.getAttribute('.exports a:has-text("导出 CSV")', 'href');
  check('request register export carries its filter', href === '/export/requests?state=open&format=csv', href);
  const rq = await download('.exports a:has-text("导出 CSV")');
  const rqText = rq.bytes.toString('utf8');
  check('request export has a Chinese name', /^民情诉求-\d{8}\.csv$/.test(rq.name), rq.name);
  check('request export has its header', rqText.split('\r\n')[0].includes('联系电话（脱敏）'), rqText.slice(0, 200));
  check('request export shows no clear mobile number', !/(^|[^\d])1\d{10}([^\d]|$)/.test(rqText));
  check('no page errors', problems.length === 0, problems.join(' | '));
} catch (e) {
  failed++;
  console.log('FAIL unexpected error', e);
  await page.screenshot({ path: out + 'export-failure.png', fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
