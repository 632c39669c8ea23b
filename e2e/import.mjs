// Headless-Chromium test of rosters in (花名册导入): upload a file with
// errors, see each one named, download the error sheet, upload the corrected
// file, see the rows appear, and undo the batch; for households and residents,
// then for party members (the error sheet read cell by cell) and cadres.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_USER=admin RC_PASSWORD=... node import.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

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

async function upload(fileName, text, kind = 'households') {
  await page.goto(base + '/import');
  await page.selectOption('select[name=kind]', kind);
  await page.setInputFiles('input[name=file]', { name: fileName, mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') });
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("上传并检查")')]);
  // The page polls the job and reloads itself when the check is done.
  await page.waitForSelector('#count-rows', { timeout: 120000 });
}

// The files of a zip archive (an xlsx), by name: enough of the format to
// read what rust_xlsxwriter writes (stored or deflated entries).
function unzip(buf) {
  let end = buf.length - 22;
  while (end >= 0 && buf.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip archive');
  const files = {};
  let p = buf.readUInt32LE(end + 16);
  for (let i = 0, n = buf.readUInt16LE(end + 10); i < n; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad zip directory');
    const method = buf.readUInt16LE(p + 10), size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28), extraLen = buf.readUInt16LE(p + 30), noteLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    files[name] = (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    p += 46 + nameLen + extraLen + noteLen;
  }
  return files;
}

// The first sheet of an xlsx as rows of cell texts: { rowNumber: [text, ...] }.
function sheetRows(buf) {
  const files = unzip(buf);
  const unescape = t => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const shared = [...(files['xl/sharedStrings.xml'] || '').matchAll(/<si>([\s\S]*?)<\/si>/g)]
    .map(m => unescape([...m[1].matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map(t => t[1]).join('')));
  const rows = {};
  for (const c of (files['xl/worksheets/sheet1.xml'] || '').matchAll(/<c r="([A-Z]+)(\d+)"([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
    const [, col, row, attrs, inner = ''] = c;
    const v = (inner.match(/<v>([\s\S]*?)<\/v>/) || [])[1];
    const inline = (inner.match(/<t[^>]*>([\s\S]*?)<\/t>/) || [])[1];
    const text = / t="s"/.test(attrs) ? shared[Number(v)] : unescape(inline ?? v ?? '');
    const index = [...col].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
    (rows[row] ||= [])[index] = text;
  }
  return rows;
}

// The rows of the error table on a job page: [row, column, value, reason].
async function errorRows() {
  return page.$$eval('#errors tbody tr', trs => trs.map(tr => [...tr.cells].map(td => td.textContent.trim())));
}

async function undoBatch(fileName) {
  await page.goto(base + '/import');
  const row = page.locator('#batches tbody tr', { hasText: fileName }).first();
  await Promise.all([page.waitForNavigation(), row.locator('button:has-text("撤销")').click()]);
  return (await page.locator('#batches tbody tr', { hasText: fileName }).first().textContent()).includes('已撤销');
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

  check('batch shows as undone', await undoBatch('已改正.csv'));
  await page.goto(`${base}/search?q=${encodeURIComponent(name)}`);
  check('the resident is gone after undo', (await page.locator('main table tbody tr', { hasText: name }).count()) === 0);

  // Party members: a branch of the district, two new people made members.
  const someMember = (await api('/api/v1/members?per_page=1')).items[0];
  const branch = await api(`/api/v1/orgs/${someMember.org_id}`);
  const tag = '甲乙丙丁戊己庚辛壬癸'[Number(stamp) % 10] + '子丑寅卯辰巳午未申酉'[Math.floor(Number(stamp) / 10) % 10];
  const mName = '导入党员' + tag;
  const mA = idNumber('19750615', 100 + (Number(stamp) % 400)), mB = idNumber('19760716', 100 + (Number(stamp) % 400));
  const mC = idNumber('19770817', 100 + (Number(stamp) % 400)), mD = idNumber('19780918', 100 + (Number(stamp) % 400));
  const mBad = mA.slice(0, 17) + (mA[17] === '1' ? '2' : '1');
  const mHeader = '身份证号,姓名,出生日期,联系电话,所在党组织编码,党员类别,党员状态,入党日期,工作单位,中心户\n';
  const mErrors = mHeader +
    `${mBad},${mName}甲,,,${branch.code},农民/社区党员,,2001-07-01,,否\n` +
    `${mB},${mName}乙,,,NOPE-${stamp},农民/社区党员,,,,\n` +
    `${mC},${mName}丙,,,${branch.code},群众,,,,\n` +
    `${mD},,,,${branch.code},农民/社区党员,,,,\n`;
  const mCorrected = mHeader +
    `${mA},${mName}甲,,,${branch.code},农民/社区党员,,2001-07-01,,否\n` +
    `${mB},${mName}乙,,,${branch.code},流动党员,预备党员,,,\n`;

  await upload('党员有错误.csv', mErrors, 'members');
  await page.screenshot({ path: out + 'import-3-members-errors.png', fullPage: true });
  const rows = await errorRows();
  const named = (r, col, part) => rows.some(e => e[0] === String(r) && e[1] === col && e[3].includes(part));
  check('members: four rows with errors', (await page.textContent('#count-errors')).trim() === '4');
  check('members: bad check digit named (row 2, 身份证号)', named(2, '身份证号', '校验'), JSON.stringify(rows));
  check('members: unknown organisation named (row 3, 所在党组织编码)', named(3, '所在党组织编码', '不存在'), JSON.stringify(rows));
  check('members: wrong category named (row 4, 党员类别)', rows.some(e => e[0] === '4' && e[1] === '党员类别' && e[2] === '群众'), JSON.stringify(rows));
  check('members: missing name of a new person named (row 5, 姓名)', named(5, '姓名', '尚未登记'), JSON.stringify(rows));
  check('members: ID numbers masked in the error list', !rows.some(e => e[2].includes(mBad)), JSON.stringify(rows));
  check('members: no import button while there are errors', (await page.locator('#commit').count()) === 0);
  const [mDownload] = await Promise.all([page.waitForEvent('download'), page.click('#error-sheet')]);
  const mSheetPath = join(out, 'import-members-errors.xlsx');
  await mDownload.saveAs(mSheetPath);
  const sheet2 = sheetRows(readFileSync(mSheetPath));
  const head = sheet2['1'] || [];
  const errCol = head.indexOf('错误说明');
  check('error sheet: the header with an error column after the file\'s columns',
    head[0] === '身份证号' && errCol === 10, JSON.stringify(head));
  const errOf = r => (sheet2[String(r)] || [])[errCol] || '';
  check('error sheet: each row keeps its cells', (sheet2['3'] || [])[4] === `NOPE-${stamp}`, JSON.stringify(sheet2['3']));
  check('error sheet: row 2 explains the ID number', errOf(2).includes('身份证号') && errOf(2).includes('校验'), errOf(2));
  check('error sheet: row 3 explains the organisation', errOf(3).includes('所在党组织编码') && errOf(3).includes('不存在'), errOf(3));
  check('error sheet: rows 4 and 5 explained', errOf(4).includes('党员类别') && errOf(5).includes('姓名'), errOf(4) + errOf(5));

  await upload('党员改正后.csv', mCorrected, 'members');
  check('members corrected: two new rows, no errors',
    (await page.textContent('#count-new')).trim() === '2' && (await page.textContent('#count-errors')).trim() === '0');
  await Promise.all([page.waitForNavigation(), page.click('#commit')]);
  await page.waitForSelector('#import-done', { timeout: 120000 });
  await page.screenshot({ path: out + 'import-4-members-done.png', fullPage: true });
  check('members imported with a batch', (await page.textContent('#import-done')).includes('批次'));
  await page.goto(`${base}/members?q=${encodeURIComponent(mName)}`);
  const listed = page.locator('main table tbody tr', { hasText: mName });
  check('the new members appear in the members list', (await listed.count()) === 2);
  check('the branch and category as imported',
    (await listed.filter({ hasText: mName + '乙' }).textContent()).includes('流动党员'));
  const viaApi = await api(`/api/v1/members?q=${encodeURIComponent(mName)}`);
  check('the new members through the API', viaApi.items.length === 2 &&
    viaApi.items.every(m => m.org_id === branch.id), JSON.stringify(viaApi.items.map(m => [m.name, m.org_id])));

  check('members batch shows as undone', await undoBatch('党员改正后.csv'));
  await page.goto(`${base}/members?q=${encodeURIComponent(mName)}`);
  check('the members are gone after undo', (await page.locator('main table tbody tr', { hasText: mName }).count()) === 0);
  check('the members are gone from the API', (await api(`/api/v1/members?q=${encodeURIComponent(mName)}`)).items.length === 0);

  // Cadres of the same branch: errors named, the corrected file imported, undone.
  const cName = '导入干部' + tag;
  const cHeader = '姓名,所属组织编码,干部类型,联系电话,职务,党员身份证号\n';
  const cErrors = cHeader +
    `${cName}甲,NOPE-${stamp},街道干部,13700000001,,\n` +
    `${cName}乙,${branch.code},书记,123,,\n` +
    `${cName}丙,${branch.code},街道干部,,,${mD}\n`;
  const cCorrected = cHeader +
    `${cName}甲,${branch.code},街道干部,13700000001,组织委员,\n` +
    `${cName}乙,${branch.code},驻格干部,13700000002,,\n`;
  await upload('干部有错误.csv', cErrors, 'cadres');
  const cRows = await errorRows();
  const cNamed = (r, col, part) => cRows.some(e => e[0] === String(r) && e[1] === col && e[3].includes(part));
  check('cadres: unknown organisation named (row 2, 所属组织编码)', cNamed(2, '所属组织编码', '不存在'), JSON.stringify(cRows));
  check('cadres: wrong kind and phone named (row 3)',
    cRows.some(e => e[0] === '3' && e[1] === '干部类型' && e[2] === '书记') && cRows.some(e => e[0] === '3' && e[1] === '联系电话'),
    JSON.stringify(cRows));
  check('cadres: a member ID number that is no member named (row 4)', cNamed(4, '党员身份证号', '不是已登记的党员'), JSON.stringify(cRows));
  await upload('干部改正后.csv', cCorrected, 'cadres');
  check('cadres corrected: two new rows', (await page.textContent('#count-new')).trim() === '2');
  await Promise.all([page.waitForNavigation(), page.click('#commit')]);
  await page.waitForSelector('#import-done', { timeout: 120000 });
  const cadres = await api(`/api/v1/cadres?q=${encodeURIComponent(cName)}`);
  check('the new cadres through the API', cadres.items.length === 2 && cadres.items.every(c => c.org_id === branch.id),
    JSON.stringify(cadres.items.map(c => [c.name, c.org_id])));
  check('cadres batch shows as undone', await undoBatch('干部改正后.csv'));
  check('the cadres are gone after undo', (await api(`/api/v1/cadres?q=${encodeURIComponent(cName)}`)).items.length === 0);
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
