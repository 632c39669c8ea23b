// Headless-Chromium smoke test: log in, walk from the street to a household,
// check masking, trigger a form error, search, log out.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_USER=admin RC_PASSWORD=... node smoke.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.BASE_URL || 'http://127.0.0.1:8080';
const user = process.env.RC_USER || 'admin';
const password = process.env.RC_PASSWORD;
const auditor = process.env.RC_AUDITOR;            // optional: an account with the auditor role
const auditorPassword = process.env.RC_AUDITOR_PASSWORD;
if (!password) { console.error('RC_PASSWORD is required'); process.exit(2); }
const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const CLEAR_ID = /\b\d{17}[\dX]\b/;
const MASKED_ID = /\d{4}\*{10}[\dX]{4}/;
let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 412, height: 915 }, // a phone
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
const page = browser.pages()[0] || await browser.newPage();
const problems = [];
// A form answered 422 on purpose is logged by Chromium as a failed resource; anything else counts.
page.on('console', m => { if (m.type() === 'error' && !m.text().includes('status of 422')) problems.push(m.text()); });
page.on('pageerror', e => problems.push(String(e)));

try {
  await page.goto(base + '/');
  check('without an account, / is the residents\' page with a staff login link',
    (await page.locator('#find-building').count()) === 1 && (await page.locator('a[href="/login"]').count()) > 0);
  await page.goto(base + '/orgs');
  check('unauthenticated visit to a staff page lands on the login page', page.url().includes('/login'), page.url());
  await page.goto(base + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check('login leaves the login page', !page.url().includes('/login'), page.url());
  await page.screenshot({ path: out + '1-home.png', fullPage: true });

  if (/\/orgs\/\d+\/glance$/.test(page.url())) {
    check('the street lands on its organisation at a glance', (await page.locator('svg.ring').count()) === 2, page.url());
    await Promise.all([page.waitForNavigation(), page.click('a:text-is("组织详情")')]);
  } else if (!/\/orgs\/\d+$/.test(page.url())) {
    await page.click('.tree a >> nth=0');
  }
  check('street page shows counts', (await page.textContent('.stats')).includes('住户'));
  const streetUrl = page.url();
  // Street → community
  await Promise.all([page.waitForNavigation(), page.click('h2:has-text("下级组织") + div table a >> nth=0')]);
  await page.screenshot({ path: out + '2-community.png', fullPage: true });
  check('community page opened', /\/orgs\/\d+$/.test(page.url()), page.url());
  // Community → grid
  await Promise.all([page.waitForNavigation(), page.click('table a[href^="/grids/"] >> nth=0')]);
  await page.screenshot({ path: out + '3-grid.png', fullPage: true });
  check('grid page lists buildings', (await page.locator('table a[href^="/buildings/"]').count()) > 0);
  // Grid → building → household
  await Promise.all([page.waitForNavigation(), page.click('table a[href^="/buildings/"] >> nth=0')]);
  await Promise.all([page.waitForNavigation(), page.click('table a[href^="/households/"] >> nth=0')]);
  await page.screenshot({ path: out + '4-household.png', fullPage: true });
  const hh = await page.textContent('main');
  check('household page shows masked ID numbers', MASKED_ID.test(hh));
  check('household page shows no clear ID number', !CLEAR_ID.test(hh));
  const householdUrl = page.url();
  const residentName = (await page.textContent('table tbody tr td a >> nth=0')).trim();

  // Reveal one resident's full ID number: an explicit, audited action.
  await Promise.all([page.waitForNavigation(), page.click('table tbody tr td a[href^="/residents/"] >> nth=0')]);
  const residentUrl = page.url();
  const residentId = residentUrl.split('/').pop();
  check('resident page is masked', !CLEAR_ID.test(await page.textContent('main')));
  await page.fill('input[name=reason]', '入户走访核对身份');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("查看完整信息")')]);
  const revealed = (await page.textContent('#revealed-id')).trim();
  check('reveal shows the full ID number', CLEAR_ID.test(revealed), revealed);
  await page.screenshot({ path: out + '4b-revealed.png', fullPage: true });
  const audit = await page.request.get(base + '/audit');
  check('the administrator cannot read the audit log', audit.status() === 403, String(audit.status()));

  // A form with a wrong check digit shows the error beside the field and writes nothing.
  const hid = householdUrl.split('/').pop();
  await page.goto(`${base}/residents/new?household=${hid}`);
  await page.fill('input[name=name]', '测试人');
  await page.fill('input[name=id_number]', '110105194912310021');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("保存")')]);
  const err = await page.textContent('#err-id_number').catch(() => '');
  check('bad ID number is named beside the field', err.includes('校验位'), err);
  await page.screenshot({ path: out + '5-form-error.png', fullPage: true });

  // Search by name, results masked.
  await page.goto(`${base}/search?q=${encodeURIComponent(residentName)}`);
  const res = await page.textContent('main');
  check('search finds the resident', res.includes(residentName));
  check('search results are masked', !CLEAR_ID.test(res));

  // Coverage: the report names the gaps; a proposed plan closes what capacity allows; applying it raises coverage.
  const rootId = streetUrl.split('/').pop();
  await page.goto(`${base}/orgs/${rootId}/coverage`);
  const cov = await page.textContent('main');
  check('coverage report shows the three coverages', cov.includes('住户') && cov.includes('党员') && cov.includes('社区'));
  check('coverage report draws SVG charts', (await page.locator('main svg').count()) > 0);
  await page.screenshot({ path: out + '7-coverage.png', fullPage: true });
  await page.goto(`${base}/orgs/${rootId}/plans`);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("生成联系方案")')]);
  const plan = await page.textContent('main');
  check('a proposed plan is proven optimal', plan.includes('已证明最优'), plan.slice(0, 300));
  await page.screenshot({ path: out + '8-plan.png', fullPage: true });
  await page.fill('input[name=reason]', 'CI 冒烟测试');
  page.once('dialog', d => d.accept());
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("应用方案")')]);
  await page.goto(`${base}/orgs/${rootId}/coverage`);
  const after = await page.textContent('main');
  check('coverage changed after applying the plan', after !== cov);

  await Promise.all([page.waitForNavigation(), page.click('header form button')]);
  check('logout returns to login', page.url().includes('/login'), page.url());
  await page.goto(householdUrl);
  check('after logout the household is not reachable', page.url().includes('/login'), page.url());
  if (auditor) {
    // Start from a settled login page (the redirect after logout may still
    // be loading on a busy machine), and wait until the login has landed.
    await page.goto(`${base}/login`, { waitUntil: 'load' });
    await page.fill('input[name=username]', auditor);
    await page.fill('input[name=password]', auditorPassword);
    await Promise.all([page.waitForURL(u => !u.pathname.startsWith('/login'), { timeout: 60000 }), page.click('button[type=submit]')]);
    await page.goto(`${base}/audit?action=reveal&entity=resident&entity_id=${residentId}`);
    const log = await page.textContent('main');
    check('the auditor sees the reveal in the audit log', log.includes('查看完整信息') && log.includes(`#${residentId}`) && log.includes(user), log.slice(0, 200));
    check('the audit log shows no clear ID number', !CLEAR_ID.test(log));
    await page.screenshot({ path: out + '6-audit.png', fullPage: true });
    const edit = await page.request.get(`${base}/residents/${residentId}/edit`);
    check('the auditor cannot open an edit form', edit.status() === 403, String(edit.status()));
  }
  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
} catch (e) {
  failed++;
  console.log('FAIL unexpected: ' + e);
  await page.screenshot({ path: out + 'failure.png', fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
