// Headless-Chromium test of the duty calendar on a phone: a grid worker opens
// "my duties", sees their own must-visit duty (not the stationed cadre's grid
// day), records key-household visits with the quick form and sees them count;
// raises a request from a visit;
// records a meeting (errors beside the fields, computed quorum, a photo) and
// an activity from the organisation's duty page.
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

const OWN = '网格员必访：困难、失业、孤寡、留守、特殊人群每季度';
const GRID_DAY = '驻格干部每周二网格日';
const line = () => page.locator('li.duty', { has: page.locator(`b:text-is("${OWN}")`) });
const progress = async () => {
  const m = ((await line().textContent()) || '').match(/已完成 (\d+)\/(\d+)/);
  return m ? Number(m[1]) : -1;
};

try {
  await page.goto(base + '/duties/my');
  check('unauthenticated visit lands on the login page', page.url().includes('/login'), page.url());
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (!page.url().includes('/duties/my')) await page.goto(base + '/duties/my');
  check('my duties opened', page.url().includes('/duties/my'), page.url());
  await page.screenshot({ path: out + 'duties-1-my.png', fullPage: true });

  // A grid worker sees their own duty (the must-visit households), not the stationed cadre's.
  check('the grid worker\'s own must-visit duty is listed', (await line().count()) === 1);
  check('the stationed cadre\'s grid day is not theirs',
    (await page.locator('li.duty', { has: page.locator(`b:text-is("${GRID_DAY}")`) }).count()) === 0);
  const noScroll = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  check('the page fits the phone width', noScroll);

  const options = await page.locator('#visit-place option').count();
  check('the quick form offers the grid and its key households', options > 1, String(options));
  const first = await page.locator('#visit-place option').first().getAttribute('value');
  check('the first place is a grid', (first || '').startsWith('grid:'), String(first));
  // Visit key households until one not yet visited this quarter counts.
  const before = await progress();
  let counted = false;
  const values = await page.locator('#visit-place option').evaluateAll(os => os.map(o => o.value));
  for (const v of values.filter(v => v.startsWith('household:')).slice(0, 12)) {
    await page.selectOption('#visit-place', v);
    await page.selectOption('select[name=purpose]', 'routine');
    await page.fill('textarea[name=learned]', '必访：了解家中近况，老人身体尚可');
    await Promise.all([page.waitForNavigation(), page.click('#quick-visit button[type=submit]')]);
    if ((await page.locator('#visit-saved').count()) !== 1) break;
    if (await progress() > before) { counted = true; break; }
  }
  check('the visit is saved', (await page.locator('#visit-saved').count()) === 1, page.url());
  check('a must-visit household visited counts toward the grid worker\'s own duty', counted && before >= 0, `${before} -> ${await progress()}`);
  await page.screenshot({ path: out + 'duties-2-done.png', fullPage: true });

  // A visit dated tomorrow is refused with a clear message, and nothing changes.
  const tomorrow = new Date(Date.now() + 8 * 3600e3 + 86400e3).toISOString().slice(0, 10);
  await page.fill('input[name=visited_on]', tomorrow);
  await Promise.all([page.waitForNavigation(), page.click('#quick-visit button[type=submit]')]);
  const msg = await page.textContent('.flash.error');
  check('a future visit is refused', (msg || '').includes('不能在未来'), String(msg));

  // The same visit raises a resident request without retyping.
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  await page.fill('input[name=visited_on]', today);
  await page.fill('textarea[name=learned]', '一户反映楼道路灯不亮');
  await page.click('#raise-request summary');
  await page.check('#raise');
  const cat = await page.locator('#req-category option').nth(1).getAttribute('value');
  await page.selectOption('#req-category', cat);
  await Promise.all([page.waitForNavigation(), page.click('#quick-visit button[type=submit]')]);
  const code = await page.locator('#raised-code').textContent().catch(() => null);
  check('the visit raised a request and names its code', !!code && code.length >= 6, String(code));

  // A meeting recorded from the page: errors beside the field, quorum computed, a photo kept.
  await Promise.all([page.waitForNavigation(), page.locator('a.org-duties').first().click()]);
  check('the organisation duty page opened', /\/orgs\/\d+\/duties$/.test(page.url()), page.url());
  await Promise.all([page.waitForNavigation(), page.click('#new-meeting')]);
  const assumed = await page.locator('#attendance select').evaluateAll(ss => ss.filter(s => s.value === 'present').length);
  check('presence is marked, not assumed (nobody starts present)', assumed === 0, String(assumed));
  await Promise.all([page.waitForNavigation(), page.click('#all-present')]);
  await page.selectOption('#meeting-kind', 'general_meeting');
  await page.fill('#meeting-topic', '支部党员大会：学习传达全会精神');
  await page.fill('#meeting-date', tomorrow);
  await Promise.all([page.waitForNavigation(), page.click('#meeting-save')]);
  check('a future meeting with attendance is refused beside the date', (await page.locator('#err-held_on').count()) === 1);
  await page.fill('#meeting-date', today);
  const selects = page.locator('#attendance select');
  const n = await selects.count();
  check('the branch members are listed as expected attendees', n > 0, String(n));
  for (let i = 0; i < n; i++) await selects.nth(i).selectOption('absent');
  await page.check('input[name=quorum_claimed]');
  await Promise.all([page.waitForNavigation(), page.click('#meeting-save')]);
  check('a claimed quorum against the numbers is refused beside the box', (await page.locator('#err-quorum').count()) === 1);
  const again = page.locator('#attendance select');
  for (let i = 0; i < n; i++) await again.nth(i).selectOption(i === 0 && n > 2 ? 'mobile' : 'present');
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
  await page.setInputFiles('input[name=photos]', { name: '会场.png', mimeType: 'image/png', buffer: png });
  await Promise.all([page.waitForNavigation(), page.click('#meeting-save')]);
  const quorum = await page.locator('#quorum').textContent().catch(() => '');
  check('the meeting is saved with its quorum computed', page.url().includes('/duties/meetings/') && quorum.includes('已达到'), quorum);
  check('the photo is shown', (await page.locator('.photos img').count()) === 1);
  await page.screenshot({ path: out + 'duties-3-meeting.png', fullPage: true });

  // An activity with a participant.
  await Promise.all([page.waitForNavigation(), page.click('.crumbs a')]);
  check('the meeting is listed on the duty page', ((await page.textContent('#held')) || '').includes('学习传达全会精神'));
  await Promise.all([page.waitForNavigation(), page.click('#new-activity')]);
  await page.selectOption('select[name=kind]', 'service');
  await page.fill('input[name=title]', '为独居老人送餐');
  await page.locator('input[name=m]').first().check();
  await Promise.all([page.waitForNavigation(), page.click('#activity-form button[type=submit]')]);
  check('the activity is saved with its participant', page.url().includes('/duties/activities/') &&
    (await page.locator('#people tbody tr').count()) === 1, page.url());
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  check('the record page fits the phone width', fits);
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
