// Headless-Chromium story of the care fund on a phone (390×844): the
// community records income, opens a hardship case for a member of the
// 生活困难党员 class, records help and applies from the case; the
// street approves it (whoever applied cannot); the community pays it; a
// resident without an account sees it on the publication with the family
// name only and no reason. Every page fits a 360 px screen.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_PASSWORD=... node care.mjs
//   (demo accounts sq01 and admin share RC_PASSWORD)
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
async function fits(page, name) {
  await page.setViewportSize({ width: 360, height: 800 });
  const ok = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  await page.setViewportSize({ width: 390, height: 844 });
  check(`${name} fits a 360 px phone`, ok, page.url());
}
const submitIn = async (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);
const yuan = t => Number((t || '').replace(/[^\d.-]/g, ''));

const community = await session();
const street = await session();
const resident = await session();
try {
  const cp = community.page;
  await login(cp, 'sq01');
  await cp.goto(base + '/care/mine');
  check('the community finds its fund', (await cp.locator('#funds a').count()) > 0, cp.url());
  await fits(cp, 'the fund list');
  await submitIn(cp, '#funds a >> nth=0');
  const fundUrl = cp.url();
  const before = yuan(await cp.textContent('#balance'));
  check('the fund shows its balance from a year of history', before > 0, String(before));

  // Income with its receipt.
  await cp.click('summary:has-text("登记收入")');
  await cp.selectOption('select[name=source]', 'donation');
  await cp.fill('form[action$="/income"] input[name=amount]', '1,200.50');
  await cp.fill('form[action$="/income"] input[name=memo]', '重阳节党员募捐');
  await cp.fill('form[action$="/income"] input[name=receipt]', 'SJ-E2E-1');
  await submitIn(cp, '#income-submit');
  check('income is booked', (await cp.textContent('#care-flash')).includes('入账'));
  const after = yuan(await cp.textContent('#balance'));
  check('the balance grows by the income', Math.abs(after - before - 1200.5) < 0.001, `${before} → ${after}`);

  // A mistake is named beside its field, nothing booked.
  await cp.click('summary:has-text("登记收入")');
  await cp.fill('form[action$="/income"] input[name=amount]', '12.345');
  await cp.fill('form[action$="/income"] input[name=memo]', '错误金额');
  await submitIn(cp, '#income-submit');
  check('a bad amount is named', (await cp.textContent('form[action$="/income"]')).includes('最多两位小数'));
  check('nothing was booked', Math.abs(yuan(await cp.textContent('#balance')) - after) < 0.001);

  // A member in hardship: the community opens their case from the list of
  // hardship members without one, records help, and applies from the case.
  await cp.goto(base + '/care/mine');
  await submitIn(cp, '#hardship-link');
  check('hardship members without a case are offered', (await cp.locator('#uncovered li').count()) > 0);
  await fits(cp, 'the hardship cases');
  const first = cp.locator('#uncovered li').first();
  await first.locator('summary:has-text("建档")').click();
  await first.locator('textarea[name=situation]').fill('老伴住院手术，自付部分较多，家中无其他收入');
  await Promise.all([cp.waitForNavigation(), first.locator('button:has-text("建档")').click()]);
  check('the case opens', /\/hardship\/\d+/.test(cp.url()), cp.url());
  const subject = (await cp.textContent('#subject')).trim();
  const caseUrl = cp.url().split('?')[0];
  await cp.click('summary:has-text("记录帮扶")');
  await cp.selectOption('form[action$="/help"] select[name=kind]', 'goods');
  await cp.fill('form[action$="/help"] input[name=what]', '送米面油一套');
  await submitIn(cp, '#help-submit');
  check('help is recorded on the case', (await cp.textContent('#help')).includes('送米面油一套'));
  await cp.click('summary:has-text("申请关爱基金资助")');
  check('the situation is not typed twice', (await cp.inputValue('form[action$="/apply"] textarea[name=reason]')).includes('老伴住院'));
  await cp.selectOption('form[action$="/apply"] select[name=purpose]', 'illness');
  await cp.fill('form[action$="/apply"] input[name=amount]', '800');
  await submitIn(cp, '#case-apply');
  const appUrl = cp.url().split('?')[0];
  check('the application opens', /\/care\/applications\/\d+$/.test(appUrl), appUrl);
  await fits(cp, 'the application');
  await cp.fill('input[name=reason]', '同意');
  await submitIn(cp, '#approve');
  check('whoever applied cannot approve', (await cp.textContent('main')).includes('不能审批自己登记的申请'));

  // The street approves.
  const sp = street.page;
  await login(sp, 'admin');
  await sp.goto(appUrl);
  await sp.fill('input[name=reason]', '经走访核实，情况属实');
  await submitIn(sp, '#approve');
  check('the street approves', (await sp.textContent('#state')).includes('已批准'));
  check('an approver cannot also pay', (await sp.locator('#pay').count()) === 1);
  await submitIn(sp, '#pay');
  check('the approver\'s payment is refused', (await sp.textContent('main')).includes('审批人不能同时登记支付'));

  // The community pays.
  await cp.goto(appUrl);
  await submitIn(cp, '#pay');
  check('the payment is booked', (await cp.textContent('#state')).includes('已支付'));
  await cp.screenshot({ path: out + 'care-1-paid.png', fullPage: true });
  await cp.goto(fundUrl);
  check('the balance falls by the payment', Math.abs(yuan(await cp.textContent('#balance')) - (after - 800)) < 0.001);
  await fits(cp, 'the fund');
  await cp.screenshot({ path: out + 'care-2-fund.png', fullPage: true });

  // Collective birthdays: this month's members by organisation; the
  // activity form opens with them already ticked; the event is listed after.
  await cp.goto(caseUrl);
  await cp.goto(base + '/care/mine');
  await submitIn(cp, '#hardship-link');
  await submitIn(cp, '#birthdays-link');
  await fits(cp, 'the birthdays of the month');
  const groups = cp.locator('#birthdays > li');
  check('members with a birthday this month are listed', (await groups.count()) > 0);
  const ticked = await groups.first().locator('ul li').count();
  const birthdaysUrl = cp.url();
  await Promise.all([cp.waitForNavigation(), groups.first().locator('a:has-text("记录集体生日")').click()]);
  check('the activity form has the kind chosen', (await cp.inputValue('select[name=kind]')) === 'birthday');
  check('the members are already ticked', (await cp.locator('input[name=m]:checked').count()) === ticked, String(ticked));
  await Promise.all([cp.waitForNavigation(), cp.click('button:has-text("保存活动记录")')]);
  check('the collective birthday is recorded', (await cp.locator('#held-saved').count()) === 1, cp.url());
  await cp.goto(birthdaysUrl);
  check('the birthdays page lists the event', (await cp.locator('#birthday-events li').count()) > 0);

  // The publication, without an account.
  const rp = resident.page;
  await rp.goto(fundUrl + '/public');
  const pub = await rp.textContent('#published');
  check('the publication names the family only', pub.includes(subject[0] + '某') && !pub.includes(subject), `${subject}: ${pub}`);
  // The case shows the payment.
  await cp.goto(caseUrl);
  check('the case shows the paid application', (await cp.textContent('#case-applications')).includes('已支付'));
  await fits(cp, 'the hardship case');
  await cp.screenshot({ path: out + 'care-4-case.png', fullPage: true });
  check('the publication keeps the reason to itself', !pub.includes('住院'));
  await fits(rp, 'the publication');
  await rp.screenshot({ path: out + 'care-3-public.png', fullPage: true });
  check('no console errors', problems.filter(p => !/status of 4(03|04|22)/.test(p)).length === 0, [...new Set(problems)].join(' | ').slice(0, 500));
} catch (e) {
  failed++;
  console.log(`FAIL exception ${e.stack || e}`);
} finally {
  for (const s of [community, street, resident]) await s.ctx.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
