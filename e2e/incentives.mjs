// Headless-Chromium story of the incentives on a phone (390×844): the street
// (admin) reads the half-year's star ratings and opens a commendation round;
// a branch secretary (zb0101) finds a member of her branch and nominates her
// with reasons; the community (sq01) passes it on; the street approves and
// publishes; a resident without an account reads the commended list. The
// secretary proposes a warning from the records, records the decisions to
// warn and to help, and finds the help's review date among her duties.
// Every page fits a 360 px screen.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_PASSWORD=... node incentives.mjs
//   (demo accounts admin, sq01 and zb0101 share RC_PASSWORD)
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.BASE_URL || 'http://127.0.0.1:8080';
const password = process.env.RC_PASSWORD;
if (!password) { console.error('RC_PASSWORD is required'); process.exit(2); }
const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}
const problems = [];
async function session() {
  const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  // A refused sign-in (429, handled in login) is not a script error.
  page.on('console', m => { if (m.type() === 'error' && !m.text().includes('status of 429')) problems.push(m.text()); });
  page.on('pageerror', e => problems.push(String(e)));
  return { ctx, page };
}
async function login(page, user) {
  // The server allows 20 sign-ins a minute from one address; the scripts before this one may have
  // used them up, so a refused sign-in waits for the window to pass and tries once more.
  for (let attempt = 0; attempt < 2; attempt++) {
    await page.goto(base + '/login');
    await page.fill('input[name=username]', user);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    if (!new URL(page.url()).pathname.startsWith('/login')) return;
    console.log(`note sign-in of ${user} refused (${(await page.locator('.flash, .error, [role=alert]').first().textContent().catch(() => '')) || page.url()}); waiting a minute`);
    await page.waitForTimeout(61000);
  }
  check(`${user} signs in`, false, page.url());
}
async function fits(page, name) {
  await page.setViewportSize({ width: 360, height: 800 });
  const ok = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  await page.setViewportSize({ width: 390, height: 844 });
  check(`${name} fits a 360 px phone`, ok, page.url());
}
const shot = (page, name) => page.screenshot({ path: out + `incentives-${name}.png`, fullPage: true });

const street = await session();
const sp = street.page;
await login(sp, 'admin');
await sp.goto(base + '/assessment');
check('the assessment page links to the incentives', await sp.locator('#incentives a[href^="/stars"]').count() === 1);
await sp.click('#incentives a[href^="/stars"]');
const lines = await sp.locator('#stars .star-line').count();
check('the demo shows star ratings of communities', lines > 0, `${lines}`);
check('a rating shows its stars', /[★☆]{5}/.test(await sp.locator('#stars .stars').first().textContent() || ''));
await shot(sp, 'stars');
await fits(sp, 'the star ratings');
await sp.click('#stars .star-line a[href$="/stars"] >> nth=0');
check('an organisation has its star history', (await sp.locator('h1').textContent()).includes('星级记录'));
await fits(sp, 'the star history');

// A round of 最美义工.
await sp.goto(base + '/commendations');
await sp.click('#open-round summary');
await sp.selectOption('#open-round select[name=kind]', 'volunteer');
await Promise.all([sp.waitForNavigation(), sp.click('#open-round button[type=submit]')]);
check('a round without a closing date is refused naming it', (await sp.locator('.flash.error').textContent() || '').includes('截止'));
await sp.click('#open-round summary');
await sp.selectOption('#open-round select[name=kind]', 'volunteer');
const until = new Date(Date.now() + 20 * 86400e3).toISOString().slice(0, 10);
await sp.fill('#open-round input[name=nominate_until]', until);
await Promise.all([sp.waitForNavigation(), sp.click('#open-round button[type=submit]')]);
const roundUrl = sp.url().split('?')[0];
check('the round opens', /\/commendations\/\d+$/.test(roundUrl), sp.url());
await fits(sp, 'the round');

const sec = await session();
const zp = sec.page;
await login(zp, 'zb0101');
await zp.goto(roundUrl);
let found = 0;
for (const q of ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴']) {
  await zp.fill('#nominate input[name=q]', q);
  await Promise.all([zp.waitForNavigation(), zp.click('#nominate button[type=submit]')]);
  found = await zp.locator('#nominate form[action$="/nominations"]').count();
  if (found > 0) break;
}
check('the secretary finds members of her branch by name', found > 0);
const form = zp.locator('#nominate form[action$="/nominations"]').first();
await Promise.all([zp.waitForNavigation(), form.locator('button').click()]);
check('a nomination without reasons is refused', (await zp.locator('.flash.error').textContent() || '').length > 0);
await zp.fill('#nominate input[name=q]', await zp.locator('#nominate input[name=q]').inputValue() || '王');
await Promise.all([zp.waitForNavigation(), zp.click('#nominate button[type=submit]')]);
const form2 = zp.locator('#nominate form[action$="/nominations"]').first();
await form2.locator('textarea[name=reasons]').fill('常年组织楼道清扫和邻里互助，风雨无阻');
await Promise.all([zp.waitForNavigation(), form2.locator('button').click()]);
check('the nomination is recorded', (await zp.locator('.flash.ok').textContent() || '').includes('已提名'));
check('the nominee\'s record at nomination is kept', await zp.locator('#nominations details summary').count() > 0);
await shot(zp, 'nominated');
await fits(zp, 'the round with a nomination');

const community = await session();
const cp = community.page;
await login(cp, 'sq01');
await cp.goto(roundUrl);
const review = cp.locator('#nominations form.review').first();
check('the community reviews at its level', await review.count() === 1);
await Promise.all([cp.waitForNavigation(), review.locator('button[value=pass]').click()]);
check('passed on to the street', (await cp.locator('.flash.ok').textContent() || '').length > 0);

await sp.goto(roundUrl);
await Promise.all([sp.waitForNavigation(), sp.locator('#nominations form.review button[value=pass]').first().click()]);
check('the street approves', (await sp.locator('#nominations .tag.ok').count()) >= 1);
await Promise.all([sp.waitForNavigation(), sp.click('#publish button')]);
check('the round is published', (await sp.locator('.flash.ok').textContent() || '').includes('已公布'));
const listHref = await sp.locator('a[href*="/commended"]').first().getAttribute('href');

const resident = await session();
const rp = resident.page;
await rp.goto(base + listHref);
check('a resident reads the commended list without an account', (await rp.locator('#commended').textContent()).includes('常年组织楼道清扫'));
await shot(rp, 'commended');
await fits(rp, 'the commended list');

// Warnings from the records.
await zp.goto(base + '/warnings');
await shot(zp, 'warnings');
await fits(zp, 'the warnings page');
const cand = zp.locator('#candidates form').first();
if (await cand.count() === 0) {
  check('the records suggest a member for a warning', false, 'no candidates in the demo');
} else {
  await zp.locator('#candidates details summary').first().click();
  await Promise.all([zp.waitForNavigation(), cand.locator('button').click()]);
  check('the proposal opens a case', /\/warnings\/\d+/.test(zp.url()), zp.url());
  await Promise.all([zp.waitForNavigation(), zp.click('#decide button')]);
  check('a decision without its record is refused', (await zp.locator('.flash.error').textContent() || '').length > 0);
  await zp.selectOption('#decide select[name=action]', 'warn');
  await zp.fill('#decide textarea[name=note]', '支部委员会研究，认定为警示党员，由支部书记谈话');
  await Promise.all([zp.waitForNavigation(), zp.click('#decide button')]);
  await zp.selectOption('#decide select[name=action]', 'help');
  await zp.fill('#decide textarea[name=note]', '确定一名支委结对帮扶，三个月后回顾');
  await Promise.all([zp.waitForNavigation(), zp.click('#decide button')]);
  check('the case is helping, with its steps', (await zp.locator('h1').textContent()).includes('帮扶中') && await zp.locator('#steps li').count() === 3);
  await shot(zp, 'warning');
  await fits(zp, 'the warning case');
  await zp.goto(base + '/duties/my');
  check('the review date is among her duties', await zp.locator('#mobility-deadlines a[href^="/warnings/"]').count() >= 1);
}

for (const s of [street, sec, community, resident]) await s.ctx.close();
check('no script errors', problems.length === 0, problems.join(' | '));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
