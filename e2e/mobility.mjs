// Headless-Chromium story of mobile members on a phone (390×844): the
// community opens its three rosters (the demo has members away, one silent
// for months); a member leaves to work elsewhere — the outflow card is
// refused with the missing field named, then recorded; a call is logged;
// the member's page shows where they stand and their card; the member comes
// back and is on the self-managed roster again, marked as returned; another
// member's relation is transferred to the other branch: proposed (the own
// branch refused by name), approved by the community, received — and only
// then does the member move; the receipt slip of a transfer out of the district
// comes back and the member leaves the registry; a refusal to receive names what
// is missing; the administrator sets how long letters are valid. Every page
// fits a 360 px screen.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_PASSWORD=... node mobility.mjs
//   (the demo account sq01 shares RC_PASSWORD)
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
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rc-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
});
const page = ctx.pages()[0] || await ctx.newPage();
page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
page.on('pageerror', e => problems.push(String(e)));
async function fits(name) {
  await page.setViewportSize({ width: 360, height: 800 });
  const ok = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  await page.setViewportSize({ width: 390, height: 844 });
  check(`${name} fits a 360 px phone`, ok, page.url());
}
const submitIn = async selector => Promise.all([page.waitForNavigation(), page.click(selector)]);
const text = async sel => ((await page.locator(sel).first().textContent().catch(() => '')) || '').trim();

try {
  await page.goto(base + '/login');
  await page.fill('input[name=username]', 'sq01');
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.goto(base + '/care/mine');
  const org = (page.url().match(/orgs\/(\d+)/) || [])[1];
  check('the community account has an organisation', !!org, page.url());

  // The mobile roster: the demo's members away, one silent for months.
  await page.goto(`${base}/orgs/${org}`);
  await Promise.all([page.waitForNavigation(), page.click('#mobility-link')]);
  check('the rosters open on the mobile one', (await text('#roster-tabs [aria-current=page]')).startsWith('流动党员'));
  check('members away are listed', (await page.locator('#roster li.card').count()) >= 2);
  check('a member silent for six months is flagged', (await text('#lost-count')).includes('半年以上没有联系'));
  await fits('the mobile roster');
  await page.screenshot({ path: out + 'mobility-1-roster.png', fullPage: true });

  // A member of the self-managed roster leaves to work elsewhere.
  await page.goto(`${base}/orgs/${org}/mobility?roster=self`);
  const before = await page.locator('#roster li.card').count();
  const name = await text('#roster li.card b');
  check('the self-managed roster lists members', before > 0 && name.length > 0);
  const cardNo = `LC-E2E-${Date.now() % 100000}`;
  await page.click('summary:has-text("党员外出")');
  await page.fill('#out-form input[name=member_id]', name);
  await page.fill('#out-form input[name=card_no]', cardNo);
  await page.fill('#out-form input[name=reason]', '外出务工');
  await page.fill('#out-form input[name=channel]', '电话、支部微信群');
  await submitIn('#out-submit');
  check('a missing destination is named beside its field', (await text('#out-form label.has-error')).includes('流向'));
  await fits('the outflow form with an error');
  await page.fill('#out-form input[name=place]', '上海市浦东新区');
  await submitIn('#out-submit');
  if (await page.locator('input[name=_pick_member_id]').count()) {
    await page.locator('.pick-choices input').first().check();
    await page.fill('#out-form input[name=place]', '上海市浦东新区');
    await submitIn('#out-submit');
  }
  check('the outflow card is recorded', (await text('#card-flash')).includes('流出登记卡已登记'), page.url());
  check('the member stands as flowed out', (await text('#standing')) === '流出');
  await fits('the outflow card');

  // A call while away.
  await page.click('summary:has-text("记一次联系")');
  await page.selectOption('#contact-form select[name=channel]', 'call');
  await page.fill('#contact-form input[name=note]', '电话问候，工作顺利');
  await submitIn('#contact-submit');
  check('the call is recorded', (await text('#card-flash')).includes('联系已记录') && (await text('#contacts')).includes('工作顺利'));
  await page.screenshot({ path: out + 'mobility-2-card.png', fullPage: true });
  const cardUrl = page.url().split('?')[0];

  // The member's page shows where they stand and the card.
  await Promise.all([page.waitForNavigation(), page.click('#card a[href^="/members/"]')]);
  check('the member page shows the standing', (await text('#member-standing')) === '流出');
  check('the member page lists the card', (await text('#moves + ul')).includes(cardNo) || (await page.textContent('main')).includes(cardNo));
  await fits('the member page with moves');

  // Back home: the card ends; the member is on the self-managed roster, returned.
  await page.goto(cardUrl);
  await page.click('summary:has-text("结束登记卡")');
  await page.fill('#end-form input[name=reason]', '返回本社区居住');
  await submitIn('#end-submit');
  check('the card is ended', (await text('#card-flash')).includes('已结束') && (await text('#standing')) === '已返回');
  await page.goto(`${base}/orgs/${org}/mobility?roster=self`);
  const back = page.locator('#roster li.card', { hasText: name }).first();
  check('the member is back on the self-managed roster', ((await back.textContent().catch(() => '')) || '').includes('已返回'));
  check('the rosters offer their export', (await page.locator('.exports a').count()) >= 1);
  const files = [];
  for (const h of ['/export/mobility-cards', '/export/org-transfers']) files.push(await page.locator(`a[href^="${h}"]`).count());
  check('the rosters offer the cards\' and transfers\' files', files.every(n => n > 0), JSON.stringify(files));
  check('the cards kept in a spreadsheet can be imported', (await page.locator('#cards-import a[href="/import?kind=mobility"]').count()) === 1);
  await fits('the self-managed roster');
  // Declining a member who arrives with an outflow card: a reason and a real card are required.
  await page.click('summary:has-text("不接收流入党员")');
  await page.fill('#refuse-form input[name=paired_card_no]', 'LC-NONE-0001');
  await page.fill('#refuse-form input[name=id_number]', '11010519491231002X');
  await submitIn('#refuse-submit');
  check('a refusal without its reason is named', (await text('#refuse-form label.has-error')).includes('理由'));
  await page.fill('#refuse-form input[name=reason]', '不在本组织服务范围');
  await submitIn('#refuse-submit');
  check('a card that does not exist is named', (await text('#refuse-form')).includes('没有这张流出登记卡'));
  await fits('the refusal form');
  await page.screenshot({ path: out + 'mobility-5-refuse.png', fullPage: true });
  // The deadlines fall on the community's staff: the silent member, the demo's transfers.
  await page.goto(base + '/duties/my');
  const deadlines = await text('#mobility-deadlines');
  check('my duties name the member silent for half a year', deadlines.includes('没有联系已满半年'), deadlines.slice(0, 200));
  check('my duties name the transfer waiting for approval', deadlines.includes('审批'), deadlines.slice(0, 200));
  check('my duties name the receipt slip due back', deadlines.includes('回执应在'), deadlines.slice(0, 300));
  await fits('my duties with the mobility deadlines');

  // The branch proposes stopping the silent member's membership and decides it (people decide, not the system).
  await page.goto(`${base}/orgs/${org}/mobility?roster=mobile`);
  const lost = page.locator('#roster li.card', { hasText: '失去联系' }).first();
  await Promise.all([page.waitForNavigation(), lost.locator('a:has-text("查看登记卡")').click()]);
  await submitIn('#propose');
  check('a proposal without its reason is named', (await text('#propose-form label.has-error')).includes('情况和理由'));
  await page.fill('#propose-form textarea[name=reason]', '电话、微信、回乡走访均联系不上');
  await submitIn('#propose');
  check('the proposal waits for the branch', (await text('#card-flash')).includes('等待支部决定') && (await text('#proposals')).includes('待支部决定'));
  await submitIn('#adopt');
  check('the branch\'s decision is recorded', (await text('#proposals')).includes('通过'));
  await fits('the card with its proposal');
  await page.screenshot({ path: out + 'mobility-4-proposal.png', fullPage: true });

  // A member moves to the community's other branch: the transfer is proposed, the community
  // approves it (the letter is issued), the receiving branch confirms, and only then the member moves.
  await page.goto(`${base}/orgs/${org}`);
  await Promise.all([page.waitForNavigation(), page.click('#mobility-link')]);
  await Promise.all([page.waitForNavigation(), page.click('#transfers-link')]);
  check('the demo\'s transfers wait for the community', (await page.locator('#waiting li.card').count()) >= 1);
  await fits('the transfers page');
  await page.goto(`${base}/orgs/${org}/mobility?roster=self`);
  const mover = page.locator('#roster li.card', { hasText: '第一街坊党支部' }).filter({ hasNotText: name }).first();
  const moverName = ((await mover.locator('b').first().textContent()) || '').trim();
  await page.goto(`${base}/orgs/${org}/transfers`);
  await page.click('summary:has-text("提出转接")');
  await page.fill('#transfer-form input[name=member_id]', moverName);
  await page.fill('#transfer-form input[name=to_org_code]', 'DEMO-SQ01-ZB01');
  await page.fill('#transfer-form input[name=reason]', '搬到第二楼宇居住');
  await submitIn('#transfer-submit');
  if (await page.locator('input[name=_pick_member_id]').count()) {
    await page.locator('.pick-choices input').first().check();
    await submitIn('#transfer-submit');
  }
  check('a transfer to the member\'s own branch is refused, naming the field',
    (await text('#transfer-form label.has-error')).includes('接收组织编码'));
  await page.fill('#transfer-form input[name=to_org_code]', 'DEMO-SQ01-ZB02');
  await submitIn('#transfer-submit');
  if (await page.locator('input[name=_pick_member_id]').count()) {
    await page.locator('.pick-choices input').first().check();
    await submitIn('#transfer-submit');
  }
  check('the transfer is proposed', (await text('#transfer-flash')).includes('等待上级组织审批') && (await text('#transfer-state')) === '审批中', page.url());
  check('the community is the step to approve', (await text('#steps')).includes('幸福社区党委'));
  await submitIn('#approve');
  check('approved: the letter is issued', (await text('#transfer-state')) === '待接收' && (await text('#letter')).includes('前有效'));
  await page.screenshot({ path: out + 'mobility-3-transfer.png', fullPage: true });
  await fits('the transfer page');
  await submitIn('#receive');
  check('received', (await text('#transfer-state')) === '已接收');
  await page.goto(`${base}/orgs/${org}/mobility?roster=self`);
  check('the member is now with the receiving branch',
    ((await page.locator('#roster li.card', { hasText: moverName }).first().textContent()) || '').includes('第二楼宇党支部'));
  // The demo's transfer out of the district: the receipt slip comes back, and the member
  // leaves the registry (the transfer keeps their name).
  await page.goto(`${base}/orgs/${org}/transfers`);
  const away = page.locator('#waiting li.card', { hasText: '外省' }).first();
  const awayName = ((await away.locator('b').first().textContent()) || '').trim();
  await Promise.all([page.waitForNavigation(), away.locator('a').first().click()]);
  await submitIn('#receive');
  check('the receipt slip is recorded', (await text('#transfer-state')) === '已接收');
  page.once('dialog', d => d.accept());
  await submitIn('#release');
  check('the member transferred out leaves the registry', (await text('#transfer-flash')).includes('已移出党员名册')
    && (await text('#released')) === '已移出' && (await page.textContent('h1')).includes(awayName), awayName);
  await fits('the released transfer');
  await page.goto(`${base}/orgs/${org}/mobility?roster=self`);
  check('the released member is on no roster', !((await page.textContent('#roster')) || '').includes(awayName));

  // The street's administrator sets how long letters are valid (at most three months).
  await ctx.clearCookies();
  await page.goto(base + '/login');
  await page.fill('input[name=username]', process.env.RC_USER || 'admin');
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.goto(`${base}/orgs/${org}/transfers`);
  await page.click('summary:has-text("介绍信有效期")');
  await page.fill('#letter-days-form input[name=letter_days]', '120');
  await submitIn('#letter-days-submit');
  check('a validity over three months is refused', (await text('#letter-days-form label.has-error')).includes('90'));
  await page.fill('#letter-days-form input[name=letter_days]', '60');
  await submitIn('#letter-days-submit');
  check('letters are now valid for 60 days', (await text('#transfers-flash')).includes('60 天')
    && (await page.textContent('main')).includes('60 天内有效'));
  await fits('the transfers page with the letter setting');
  await page.screenshot({ path: out + 'mobility-6-letter-days.png', fullPage: true });
  await page.click('summary:has-text("介绍信有效期")');
  await page.fill('#letter-days-form input[name=letter_days]', '90');
  await submitIn('#letter-days-submit');
  check('no console errors', problems.filter(p => !/status of 4(03|04|22)/.test(p)).length === 0, [...new Set(problems)].join(' | ').slice(0, 500));
} catch (e) {
  failed++;
  console.log(`FAIL exception ${e.stack || e}`);
} finally {
  await ctx.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
