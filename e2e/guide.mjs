// Headless-Chromium test of the service guide (办事指南) on a 390 px phone:
// a branch secretary adds an errand (a form error first, then a good one),
// corrects it; a resident without an account reads it and finds the link to
// submit a request. Screenshots go to e2e/out/guide-*.png.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_SECRETARY=zb0101 RC_PASSWORD=... node guide.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.BASE_URL || 'http://127.0.0.1:8080';
const user = process.env.RC_SECRETARY || 'zb0101';
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
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
const fitsPhone = page => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);

const name = `居住证明开具${Date.now() % 100000}`;
const staff = await launch();
const page = staff.pages()[0] || await staff.newPage();
const problems = [];
page.on('pageerror', e => problems.push(String(e)));
try {
  await page.goto(base + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  // The navigation leads to the secretary's own organisation's guide.
  await Promise.all([page.waitForNavigation(), page.click('header nav a:has-text("办事指南")')]);
  check('nav opens the organisation guide', /\/orgs\/\d+\/guide$/.test(page.url()), page.url());
  check('the staff page fits a phone', await fitsPhone(page));
  // A form with mistakes: every one named beside its field, nothing saved.
  await page.fill('input[name=working_days]', '99');
  await Promise.all([page.waitForNavigation(), page.click('form.card button[type=submit]')]);
  for (const f of ['name', 'place', 'working_days']) {
    check(`error named beside ${f}`, await page.locator(`#err-${f}`).isVisible());
  }
  await page.screenshot({ path: out + 'guide-1-errors.png', fullPage: true });
  // The good one.
  await page.fill('input[name=name]', name);
  await page.selectOption('select[name=class]', 'promised');
  await page.fill('input[name=working_days]', '');
  await page.fill('textarea[name=materials]', '身份证\n户口簿\n租房合同或房产证');
  await page.fill('input[name=place]', '社区党群服务中心一楼窗口，工作日9:00–17:00');
  await page.fill('input[name=proxy]', '家人持双方身份证可代办');
  await Promise.all([page.waitForNavigation(), page.click('form.card button[type=submit]')]);
  const card = page.locator('section.card', { hasText: name });
  check('the errand is listed', await card.count() === 1);
  check('the class gives the working days', (await card.textContent()).includes('5 个工作日内办结'));
  await page.screenshot({ path: out + 'guide-2-staff.png', fullPage: true });
  // Correct it.
  await Promise.all([page.waitForNavigation(), card.locator('a:has-text("修改")').click()]);
  await page.fill('input[name=working_days]', '3');
  await Promise.all([page.waitForNavigation(), page.click('form.card button[type=submit]')]);
  check('the change is saved', (await page.locator('section.card', { hasText: name }).textContent()).includes('3 个工作日内办结'));
} catch (e) {
  failed++; console.log('FAIL staff flow', e.message);
} finally {
  await staff.close();
}

// A resident without an account.
const resident = await launch();
const rp = resident.pages()[0] || await resident.newPage();
try {
  await rp.goto(base + '/guide');
  check('the public guide opens without login', !rp.url().includes('/login'), rp.url());
  const card = rp.locator('section.card', { hasText: name });
  check('the resident sees the new errand', await card.count() === 1);
  check('with its materials', (await card.textContent()).includes('租房合同或房产证'));
  check('the public guide fits a phone', await fitsPhone(rp));
  await rp.screenshot({ path: out + 'guide-3-public.png', fullPage: true });
  await Promise.all([rp.waitForNavigation(), card.locator('a:has-text("在线提交")').click()]);
  check('the errand leads to the request form', rp.url().includes('/r/new'), rp.url());
} catch (e) {
  failed++; console.log('FAIL resident flow', e.message);
} finally {
  await resident.close();
}

check('no script errors', problems.length === 0, problems.join('; '));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
