// Headless-Chromium user story of the red-cell network on a phone (390×844):
// a party member signs in and lands on their households, records a visit in
// one tap, calls a family they look after, and records a visit that passes on
// a child's wish; the branch secretary verifies and publishes it; a 中心户
// claims it, reveals the family's phone (audited) and completes it; the
// secretary sends the revisit link and the resident answers with their own
// choice (nothing pre-selected). Every page on the way fits a 360 px screen.
// Then where staff start: the secretary and the street on their organisation
// at a glance (drilled down street → community → branch → grid), the grid
// worker on today's grid.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_PASSWORD=... node member.mjs
//   (demo accounts dy0101, zxh0101, zb0101, wg0101 and admin share RC_PASSWORD)
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

const launch = () => chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-sync', '--disable-quic'],
});
const problems = [];
async function session() {
  const ctx = await launch();
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', e => problems.push(String(e)));
  return { ctx, page };
}
async function login(page, user) {
  await page.goto(base + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}
// No horizontal scroll at 360 px (the narrowest phone we support).
async function fits(page, name) {
  await page.setViewportSize({ width: 360, height: 800 });
  const ok = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  await page.setViewportSize({ width: 390, height: 844 });
  check(`${name} fits a 360 px phone`, ok, page.url());
}
const submitIn = async (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);

const member = await session();
const central = await session();
const staff = await session();
const resident = await session();
const street = await session();
const grid = await session();
try {
  // 1. A party member lands on the households they look after.
  const mp = member.page;
  await login(mp, 'dy0101');
  if (!mp.url().endsWith('/my')) await mp.goto(base + '/');
  check('the member lands on today\'s work', mp.url().endsWith('/my'), mp.url());
  const cards = mp.locator('li.hh');
  const n = await cards.count();
  check('their households are listed with the building and room', n > 0 &&
    /\d+幢\d+单元\d+/.test(await cards.first().locator('.hh-label').textContent()), String(n));
  check('who lives there is masked', (await cards.first().textContent()).includes('*'));
  await fits(mp, 'the member\'s page');
  await mp.screenshot({ path: out + 'member-1-home.png', fullPage: true });

  // One tap: "visited today".
  const firstId = (await cards.first().getAttribute('id')).replace('hh-', '');
  await submitIn(mp, `#visit-${firstId}`);
  check('a visit is recorded in one tap', (await mp.textContent('#my-flash')).includes('走访已记录'));
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  check('the household shows my visit today', (await mp.textContent(`#hh-${firstId}`)).includes(`我上次：${today}`));

  // Call a family they look after: the phone is revealed only on request.
  const callable = mp.locator('li.hh', { has: mp.locator('button[id^=call-]') }).first();
  const callId = (await callable.getAttribute('id')).replace('hh-', '');
  check('no phone is shown before asking', !/1[3-9]\d{9}/.test(await mp.textContent('main')));
  await submitIn(mp, `#call-${callId}`);
  const tel = await mp.locator(`#calls-${callId} a[href^="tel:"]`).first().getAttribute('href');
  check('the call button dials the family', /^tel:1[3-9]\d{9}$/.test(tel || ''), String(tel));
  await mp.screenshot({ path: out + 'member-2-call.png', fullPage: true });

  // A visit that passes on a wish, without retyping anything the registry knows.
  await mp.click(`#more-${callId}`);
  await mp.fill(`#learned-${callId}`, '孩子想要一套课外读物');
  await mp.selectOption(`#req-category-${callId}`, 'wish');
  await submitIn(mp, `#visit-more-${callId}`);
  const flash = await mp.textContent('#my-flash');
  const code = (flash.match(/编号\s*([0-9A-Z]{6,})/) || [])[1];
  check('the visit passed on a wish and names its code', !!code, flash);
  await mp.screenshot({ path: out + 'member-3-wish.png', fullPage: true });

  // 2. The secretary verifies the wish with the family and publishes it.
  const sp = staff.page;
  await login(sp, 'zb0101');
  check('the secretary lands on the branch at a glance', /\/orgs\/\d+\/glance$/.test(sp.url()), sp.url());
  check('the glance draws its pictures on the server', (await sp.locator('svg.ring').count()) === 2);
  await fits(sp, 'the branch at a glance');
  await sp.goto(`${base}/requests?q=${code}`);
  await submitIn(sp, `a:text-is("${code}")`);
  const requestUrl = sp.url();
  check('the request names the place in words', /\d+幢\d+单元\d+/.test(await sp.textContent('#place')), await sp.textContent('#place'));
  check('the family\'s contact came from the registry', /1[3-9]\d\*{4}\d{4}/.test(await sp.textContent('#contact')));
  await fits(sp, 'the request page');
  await submitIn(sp, '#act-verify');
  check('the wish is on the board', (await sp.textContent('main')).includes('孩子想要一套课外读物'));
  await sp.screenshot({ path: out + 'member-4-published.png', fullPage: true });

  // 3. A 中心户 of the branch claims it and calls the family.
  const cp = central.page;
  await login(cp, 'zxh0101');
  if (!cp.url().endsWith('/my')) await cp.goto(base + '/');
  check('the 中心户 lands on today\'s work', cp.url().endsWith('/my'), cp.url());
  await cp.goto(base + '/wishes');
  const row = cp.locator('tr', { hasText: '孩子想要一套课外读物' });
  await Promise.all([cp.waitForNavigation(), row.locator('button:text-is("认领")').click()]);
  check('the wish is claimed', (await cp.locator('tr', { hasText: '孩子想要一套课外读物' }).textContent()).includes('已认领'));
  await cp.goto(requestUrl);
  await submitIn(cp, '#reveal-contact');
  const dial = await cp.getAttribute('#call', 'href');
  check('the claimer can call the family', /^tel:1[3-9]\d{9}$/.test(dial || ''), String(dial));
  await fits(cp, 'the claimed wish');
  await cp.screenshot({ path: out + 'member-5-claimed.png', fullPage: true });
  await cp.goto(base + '/wishes');
  const mine = cp.locator('tr', { hasText: '孩子想要一套课外读物' });
  await Promise.all([cp.waitForNavigation(), mine.locator('button:text-is("已联系家庭")').click()]);
  await Promise.all([cp.waitForNavigation(),
    cp.locator('tr', { hasText: '孩子想要一套课外读物' }).locator('button:text-is("已完成")').click()]);
  check('the wish is completed', (await cp.locator('tr', { hasText: '孩子想要一套课外读物' }).textContent()).includes('已完成'));

  // 4. The secretary sends the revisit link; the resident answers themselves.
  await sp.goto(requestUrl);
  check('the wish is resolved', (await sp.textContent('#state')).includes('已办结'));
  await submitIn(sp, '#new-link');
  const full = await sp.getAttribute('#revisit-link', 'href');
  check('the revisit link is a full address with a QR code',
    /^https?:\/\//.test(full || '') && (await sp.locator('#revisit-share svg').count()) === 1, String(full));
  await fits(sp, 'the revisit link page');
  await sp.screenshot({ path: out + 'member-6-link.png', fullPage: true });
  const rp = resident.page;
  await rp.goto(base + new URL(full).pathname);
  const preselected = await rp.locator('input[type=radio]:checked').count();
  check('nothing is pre-selected on the revisit form', preselected === 0, String(preselected));
  await fits(rp, 'the revisit form');
  await submitIn(rp, '#revisit-submit');
  check('an answer without a choice is refused', (await rp.locator('#revisit-error').count()) === 1);
  await rp.check('input[name=outcome][value=fixed]');
  await rp.check('input[name=satisfaction][value=satisfied]');
  await submitIn(rp, '#revisit-submit');
  check('the resident\'s own answer closes it', (await rp.textContent('main')).includes('已办结关闭'));

  // Unknown pages are answered in Chinese inside the layout.
  await rp.goto(base + '/no-such-page');
  check('an unknown address gets a Chinese 404 page', (await rp.textContent('h1')).includes('页面不存在'));
  // 5. The street starts at a glance and drills down to a grid.
  const ap = street.page;
  await login(ap, 'admin');
  check('the street lands on its glance', /\/orgs\/\d+\/glance$/.test(ap.url()), ap.url());
  const legend = await ap.locator('ul.legend a').allTextContents();
  check('open requests are shown by card', legend.length === 4 && legend.some(t => t.includes('红牌')), legend.join(','));
  await fits(ap, 'the street at a glance');
  await ap.screenshot({ path: out + 'glance-1-street.png', fullPage: true });
  const streetUrl = ap.url();
  await submitIn(ap, 'li.part a.part-name');
  check('a community opens from the street', /\/orgs\/\d+\/glance$/.test(ap.url()) && ap.url() !== streetUrl, ap.url());
  await fits(ap, 'a community at a glance');
  await submitIn(ap, 'li.part a.part-name');
  check('a branch opens from its community', /\/orgs\/\d+\/glance$/.test(ap.url()), ap.url());
  check('a branch lists its grids', (await ap.textContent('#parts')).includes('各网格'));
  await ap.screenshot({ path: out + 'glance-2-branch.png', fullPage: true });
  await submitIn(ap, 'li.part a.part-name');
  check('a grid opens from its branch', /\/grids\/\d+$/.test(ap.url()), ap.url());
  await ap.goto(streetUrl);
  await submitIn(ap, 'ul.legend a:has-text("红牌")');
  check('the red piece lists the red-carded requests', ap.url().includes('card=red') && (await ap.locator('tbody tr').count()) > 0, ap.url());
  await fits(ap, 'the red-carded requests');
  const gp = grid.page;
  await login(gp, 'wg0101');
  check('the grid worker lands on today\'s grid', gp.url().endsWith('/grid/today'), gp.url());

  check('no console errors or CSP violations',
    problems.filter(p => !/status of 4(04|22)/.test(p)).length === 0, problems.join(' | '));
} catch (e) {
  failed++;
  console.log(`FAIL exception ${e.stack || e}`);
} finally {
  for (const s of [member, central, staff, resident, street, grid]) await s.ctx.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
