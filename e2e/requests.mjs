// Headless-Chromium test of resident requests: a resident submits on a phone
// without an account and gets a code; staff accept, claim, start and resolve;
// the resident answers the one-time revisit link and the request closes; a
// 补办件 goes through its one missing-materials notice and resumes; staff
// register a promised errand on a resident's behalf.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_USER=admin RC_PASSWORD=... node requests.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync } from 'node:fs';
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

const launch = () => chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 390, height: 844 }, // a phone
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
const resident = await launch();
const staff = await launch();
const rp = resident.pages()[0] || await resident.newPage();
const sp = staff.pages()[0] || await staff.newPage();
const problems = [];
for (const p of [rp, sp]) {
  p.on('console', m => { if (m.type() === 'error' && !/status of (422|410)/.test(m.text())) problems.push(m.text()); });
  p.on('pageerror', e => problems.push(String(e)));
}

async function submit(category, text, byBuilding = false) {
  await rp.goto(base + '/r/new');
  await rp.selectOption('#category', category);
  await rp.fill('#description', text);
  if (byBuilding) {
    // Community → grid → building (grouped), and a room number.
    await rp.selectOption('#building_id', { index: 1 });
    await rp.fill('#room', '2单元301');
  } else {
    await rp.selectOption('#grid_id', { index: 1 });
  }
  await rp.fill('#contact_name', '王女士');
  await rp.fill('#contact_phone', '13955501234');
  await Promise.all([rp.waitForNavigation(), rp.click('#submit')]);
  return (await rp.textContent('#code')).trim();
}

async function act(id, button, fill) {
  await sp.goto(`${base}/requests/${id}`);
  if (fill) await sp.fill(fill[0], fill[1]);
  await Promise.all([sp.waitForNavigation(), sp.click(button)]);
}

async function openByCode(code) {
  await sp.goto(`${base}/requests?q=${code}`);
  await Promise.all([sp.waitForNavigation(), sp.click(`a:has-text("${code}")`)]);
  return sp.url().split('/').pop();
}

try {
  // The resident, no account, on a phone.
  await rp.goto(base + '/r/new');
  check('the submission page opens without logging in', !rp.url().includes('/login'), rp.url());
  await rp.screenshot({ path: out + 'r1-new.png', fullPage: true });
  // Bad input first: no description, no place.
  await rp.selectOption('#category', 'facility');
  await rp.click('#submit');
  await rp.waitForLoadState();
  check('missing description and place are named', (await rp.textContent('main')).includes('请描述您的诉求'));
  const code = await submit('facility', '单元门禁损坏，夜里关不上');
  check('the resident gets a follow code', /^[0-9A-Z]{8}$/.test(code), code);
  await rp.screenshot({ path: out + 'r2-code.png', fullPage: true });

  // Staff log in and triage.
  await sp.goto(base + '/login');
  await sp.fill('input[name=username]', user);
  await sp.fill('input[name=password]', password);
  await Promise.all([sp.waitForNavigation(), sp.click('button[type=submit]')]);
  const id = await openByCode(code);
  check('staff find the request in the queue', /^\d+$/.test(id), id);
  check('the phone is masked for staff', (await sp.textContent('main')).includes('139****1234'));
  check('resolve is not offered before acceptance', (await sp.locator('#act-resolve').count()) === 0);
  await act(id, '#act-accept');
  check('accepted', (await sp.textContent('#state')).includes('已受理'));
  await act(id, '#act-claim');
  check('claimed', (await sp.textContent('#state')).includes('已分派'));
  await act(id, '#act-start');
  check('in progress', (await sp.textContent('#state')).includes('办理中'));
  await act(id, '#act-resolve', ['#resolve-note', '已更换门禁电机']);
  check('resolved', (await sp.textContent('#state')).includes('已办结'));
  const full = await sp.getAttribute('#revisit-link', 'href');
  check('a one-time revisit link is issued as a full address', !!full && /^https?:\/\/[^/]+\/r\/revisit\//.test(full), String(full));
  check('with a QR code and a message ready to send',
    (await sp.locator('#revisit-share svg').count()) === 1 && (await sp.inputValue('#revisit-message')).includes(full));
  const link = new URL(full).pathname;
  await sp.screenshot({ path: out + 'r3-resolved.png', fullPage: true });

  // The resident answers through the link; the request closes.
  await rp.goto(base + link);
  await rp.check('input[name=outcome][value=fixed]');
  await rp.check('input[name=satisfaction][value=satisfied]');
  await rp.fill('textarea[name=comment]', '修得很快，谢谢');
  await Promise.all([rp.waitForNavigation(), rp.click('#revisit-submit')]);
  check('the revisit is recorded', (await rp.textContent('main')).includes('已办结关闭'));
  await rp.goto(base + link);
  check('the link cannot be used twice', (await rp.textContent('main')).includes('已使用'));
  await rp.goto(`${base}/r/${code}`);
  check('the resident sees the request closed', (await rp.textContent('#state')).includes('已关闭'));
  check('no phone on the public page', !(await rp.textContent('main')).includes('13955501234'));

  // A 补办件: one missing-materials notice, the clock stops and resumes.
  const code2 = await submit('benefit', '申请高龄津贴', true);
  const id2 = await openByCode(code2);
  await act(id2, '#act-accept');
  await act(id2, '#act-claim');
  await act(id2, '#act-request_materials', ['#materials-note', '请一次补齐：户口簿复印件、银行卡复印件']);
  check('awaiting materials', (await sp.textContent('#state')).includes('待补材料'));
  check('the notice can be sent only once', (await sp.locator('#act-request_materials').count()) === 0);
  await rp.goto(`${base}/r/${code2}`);
  const pub = await rp.textContent('main');
  check('the resident sees everything missing and the paused clock', pub.includes('户口簿') && pub.includes('计时暂停'), pub.slice(0, 300));
  await act(id2, '#act-supply_materials');
  check('work resumes when the materials arrive', (await sp.textContent('#state')).includes('办理中'));
  await sp.screenshot({ path: out + 'r4-supplement.png', fullPage: true });

  // Staff register a promised errand on a resident's behalf (代为登记).
  await sp.goto(base + '/requests');
  await Promise.all([sp.waitForNavigation(), sp.click('#register-link')]);
  await sp.selectOption('#category', 'elderly');
  await sp.selectOption('#class', 'promised');
  await sp.fill('#description', '独居老人每周代购药品');
  await sp.fill('#address', '幸福路8号');
  await sp.fill('#contact_name', '张阿姨');
  await sp.fill('#contact_phone', '13955507777');
  await Promise.all([sp.waitForNavigation(), sp.click('#register')]);
  check('a promised errand needs its date', (await sp.textContent('main')).includes('承诺件须填写承诺办结日期'));
  await sp.fill('#promised_date', '2099-12-31');
  await Promise.all([sp.waitForNavigation(), sp.click('#register')]);
  const reg = await sp.textContent('main');
  check('the registration names whom it was entered for', reg.includes('代 张阿姨') && reg.includes('2099-12-31'), reg.slice(0, 300));
  await sp.screenshot({ path: out + 'r5-register.png', fullPage: true });

  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
} catch (e) {
  failed++;
  console.log('FAIL unexpected: ' + e);
  await rp.screenshot({ path: out + 'r-failure-resident.png', fullPage: true }).catch(() => {});
  await sp.screenshot({ path: out + 'r-failure-staff.png', fullPage: true }).catch(() => {});
} finally {
  await resident.close();
  await staff.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
