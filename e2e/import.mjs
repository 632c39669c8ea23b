// Headless-Chromium test of rosters in (花名册导入): upload a file with
// errors, see each one named, download the error sheet, upload the corrected
// file, see the rows appear, and undo the batch.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_USER=admin RC_PASSWORD=... node import.mjs
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

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

// A valid ID number (GB 11643 check digit) in the demo's fake region 990101.
function idNumber(birth, seq) {
  const body = '990101' + birth + String(seq).padStart(3, '0');
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, c, i) => s + Number(c) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}

// A grid and one of its buildings, through the API.
const login = await fetch(base + '/api/v1/auth/login', {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password }),
});
const { token } = await login.json();
const api = async path => (await fetch(base + path, { headers: { authorization: `Bearer ${token}` } })).json();
const grid = (await api('/api/v1/grids?per_page=1')).items[0];
const building = (await api(`/api/v1/buildings?grid_id=${grid.id}&per_page=1`)).items[0];
const stamp = String(Date.now() % 1000);
const room = 'E2E' + stamp;
const name = '导入测试' + '甲乙丙丁戊己庚辛壬癸'[Number(stamp) % 10] + '某';
const good = idNumber('19900101', 500 + (Number(stamp) % 400));
const badCheck = good.slice(0, 17) + (good[17] === '1' ? '2' : '1');
const header = '网格编码,楼栋名称,单元,房号,姓名,身份证号\n';
const withErrors = header +
  `${grid.code},${building.name},1,${room},${name},${badCheck}\n` +
  `${grid.code},不存在的楼,1,${room},${name}二,${idNumber('19900102', 1)}\n`;
const corrected = header + `${grid.code},${building.name},1,${room},${name},${good}\n`;

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  viewport: { width: 412, height: 915 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
const page = browser.pages()[0] || await browser.newPage();
const problems = [];
page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
page.on('pageerror', e => problems.push(String(e)));
page.on('dialog', d => d.accept());

async function upload(fileName, text) {
  await page.goto(base + '/import');
  await page.selectOption('select[name=kind]', 'households');
  await page.setInputFiles('input[name=file]', { name: fileName, mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') });
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("上传并检查")')]);
  // The page polls the job and reloads itself when the check is done.
  await page.waitForSelector('#count-rows', { timeout: 120000 });
}

try {
  await page.goto(base + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.goto(base + '/import');
  check('import page opens', (await page.textContent('h1')).includes('花名册导入'));
  const tpl = await page.request.get(base + '/import/templates/households.xlsx');
  const body = await tpl.body();
  check('template downloads as xlsx', tpl.status() === 200 && body[0] === 0x50 && body[1] === 0x4b, String(tpl.status()));

  await upload('有错误.csv', withErrors);
  await page.screenshot({ path: out + 'import-1-errors.png', fullPage: true });
  const errors = await page.textContent('#errors');
  check('bad check digit named (row 2, 身份证号)', /2\s*身份证号[\s\S]*校验位/.test(errors), errors);
  check('unknown building named (row 3, 楼栋名称)', /3\s*楼栋名称\s*不存在的楼/.test(errors), errors);
  check('no import button while there are errors', (await page.locator('#commit').count()) === 0);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#error-sheet')]);
  const sheetPath = join(out, 'import-errors.xlsx');
  await download.saveAs(sheetPath);
  const sheet = readFileSync(sheetPath);
  check('error sheet downloads as xlsx', sheet.length > 1000 && sheet[0] === 0x50 && sheet[1] === 0x4b, String(sheet.length));

  await upload('已改正.csv', corrected);
  check('corrected file: one new row', (await page.textContent('#count-new')).trim() === '1');
  await Promise.all([page.waitForNavigation(), page.click('#commit')]);
  await page.waitForSelector('#import-done', { timeout: 120000 });
  await page.screenshot({ path: out + 'import-2-done.png', fullPage: true });
  check('import done with a batch', (await page.textContent('#import-done')).includes('批次'));

  await page.goto(`${base}/search?q=${encodeURIComponent(name)}`);
  check('the imported resident appears', (await page.locator('main table tbody tr', { hasText: name }).count()) > 0);

  await page.goto(base + '/import');
  const row = page.locator('#batches tbody tr', { hasText: '已改正.csv' }).first();
  await Promise.all([page.waitForNavigation(), row.locator('button:has-text("撤销")').click()]);
  const after = page.locator('#batches tbody tr', { hasText: '已改正.csv' }).first();
  check('batch shows as undone', (await after.textContent()).includes('已撤销'));
  await page.goto(`${base}/search?q=${encodeURIComponent(name)}`);
  check('the resident is gone after undo', (await page.locator('main table tbody tr', { hasText: name }).count()) === 0);
  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
} catch (e) {
  failed++;
  console.log('FAIL unexpected: ' + (e && e.stack || e));
  await page.screenshot({ path: out + 'import-failure.png', fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
