// Headless-Chromium story of an assessment on a phone (390×844): the
// community (sq01) opens its half-year assessment under the six-in-one
// rubric, reads the measured items and the records behind one, scores the
// items an assessor must score (a score out of range is refused naming the
// field) and submits; the street (admin) reviews, changes one score and
// publishes with no objection period days; the community objects to an
// item; the street answers and makes the result final. The total always
// equals the sum of the item scores. Every page fits a 360 px screen.
// Usage: BASE_URL=http://127.0.0.1:8080 RC_PASSWORD=... node assessment.mjs
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
// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
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
const submitIn = async (page, locator) => Promise.all([page.waitForNavigation(), locator.click()]);
const num = t => Number((t || '').replace(/[^\d.]/g, ''));
// The total equals the sum of the shown item scores.
async function addsUp(page, name) {
  const items = await page.locator('.item-score').allTextContents();
  const sum = items.filter(t => /\d/.test(t)).reduce((a, t) => a + num(t), 0);
  const total = num(await page.locator('#total b').textContent());
  check(`${name}: the total ${total} is the sum of the items`, Math.abs(sum - total) < 0.05, `sum ${sum}`);
  for (const g of await page.locator('section.group').all()) {
    const [got, of] = (await g.locator('h2 .score').textContent()).split('/').map(num);
    const gs = (await g.locator('.item-score').allTextContents()).filter(t => /\d/.test(t)).reduce((a, t) => a + num(t), 0);
    if (Math.abs(gs - got) > 0.05 || got > of) check(`${name}: a group adds up`, false, `${gs} vs ${got}/${of}`);
  }
}

const community = await session();
const street = await session();
try {
  const cp = community.page;
  await login(cp, 'sq01');
  await cp.goto(base + '/');
  await submitIn(cp, cp.locator('nav a[href="/assessment"]').first());
  check('the community reaches assessment from its menu', cp.url().includes('/assessment'), cp.url());
  await fits(cp, 'the assessment list');
  await cp.screenshot({ path: out + 'assessment-list.png', fullPage: true });
  const mine = cp.locator('#assessments li', { hasText: '自评中' }).first();
  check('its own assessment is open for self-assessment', (await mine.count()) === 1);
  await submitIn(cp, mine.locator('a'));
  const url = cp.url();
  const id = url.match(/assessments\/(\d+)/)[1];
  check('measured items show their figures', (await cp.locator('#item-8 .clauses li').count()) === 1);
  await fits(cp, 'the assessment page');
  await cp.screenshot({ path: out + 'assessment-open.png', fullPage: true });

  // The records behind the satisfaction figure.
  await submitIn(cp, cp.locator('#item-8 a.evidence-link'));
  const links = await cp.locator('ul.evidence a').count();
  check('the evidence page links the records behind the figure', links > 0, `${links}`);
  await fits(cp, 'the evidence page');
  await cp.screenshot({ path: out + 'assessment-evidence.png', fullPage: true });
  if (links > 0) {
    await submitIn(cp, cp.locator('ul.evidence a').first());
    check('an evidence link opens the record', cp.url().includes('/requests/'), cp.url());
  }
  await cp.goto(url);

  // A score out of range is refused, naming the field.
  let form = cp.locator('li.item:has(details.score-form)').first();
  let no = await form.getAttribute('id');
  await form.locator('details.score-form').evaluate(d => { d.open = true; });
  await form.locator('input[name=score]').fill('99');
  await form.locator('textarea[name=reason]').fill('按台账自评');
  await submitIn(cp, form.locator('button[type=submit]'));
  const err = await cp.locator(`#${no} .field-error`).textContent().catch(() => '');
  check('a score out of range is refused on its field', /0 到 \d+ 分/.test(err || ''), err);

  // Score every item an assessor must score.
  let n = 0;
  for (;;) {
    const todo = cp.locator('li.item:has(details.score-form)').filter({ has: cp.locator('.item-score', { hasText: '未打分' }) }).first();
    if ((await todo.count()) === 0 || n > 40) break;
    await todo.locator('details.score-form').evaluate(d => { d.open = true; });
    await todo.locator('input[name=score]').fill(n % 2 ? '3.5' : '3');
    await todo.locator('textarea[name=reason]').fill('按年度工作台账自评：已完成，材料齐全');
    // The first one carries a photo of the ledger as its evidence (optional for the others).
    if (n === 0) await todo.locator('input[name=file]').setInputFiles({ name: '台账.png', mimeType: 'image/png', buffer: PNG });
    await submitIn(cp, todo.locator('button[type=submit]'));
    n++;
  }
  const fileLink = cp.locator('a[href^="/files/"]', { hasText: '依据文件' }).first();
  check('the evidence file is linked beside its score', (await fileLink.count()) === 1);
  if ((await fileLink.count()) === 1) {
    const r = await cp.request.get(base + (await fileLink.getAttribute('href')));
    check('the evidence file downloads as the picture it was', r.status() === 200 && (r.headers()['content-type'] || '').includes('image/png'), `${r.status()}`);
  }
  check('every assessor item was scored', (await cp.locator('.item-score', { hasText: '未打分' }).count()) === 0, `${n} scored`);
  await addsUp(cp, 'after self-assessment');
  await submitIn(cp, cp.locator('#submit'));
  check('the self-assessment is submitted', (await cp.locator('#state').textContent()).includes('待上级审核'));
  check('the community cannot score any more', (await cp.locator('details.score-form').count()) === 0);

  // The street reviews.
  const sp = street.page;
  await login(sp, 'admin');
  await sp.goto(base + `/assessments/${id}`);
  check('the street sees the review actions', (await sp.locator('#review-actions').count()) === 1);
  form = sp.locator('li.item:has(details.score-form)').first();
  no = await form.getAttribute('id');
  await form.locator('details.score-form').evaluate(d => { d.open = true; });
  await form.locator('input[name=score]').fill('2.5');
  await form.locator('textarea[name=reason]').fill('承诺书有，但群众满意率材料不全，扣分');
  await submitIn(sp, form.locator('button[type=submit]'));
  check('the review score stands', (await sp.locator(`#${no} .item-score`).textContent()).trim() === '2.5');
  await addsUp(sp, 'after review');
  await sp.locator('#review-actions input[name=days]').fill('0');
  await submitIn(sp, sp.locator('#publish'));
  check('the result is published', (await sp.locator('#state').textContent()).includes('公示中'));
  await fits(sp, 'the published assessment');

  // The community objects to the reviewed item; the street answers and finalises.
  await cp.goto(base + `/assessments/${id}`);
  await cp.locator('summary', { hasText: '对考评结果提出异议' }).click();
  await cp.locator('form[action$="/objections"] input[name=item_no]').fill(no.replace('item-', ''));
  await cp.locator('form[action$="/objections"] textarea[name=body]').fill('满意率材料已在台账第12页，请复核');
  await submitIn(cp, cp.locator('form[action$="/objections"] button[type=submit]'));
  check('the objection is recorded', (await cp.locator('#objections li').count()) === 1);
  await sp.goto(base + `/assessments/${id}`);
  await submitIn(sp, sp.locator('#finalize'));
  check('finalising with an open objection is refused', (await sp.locator('#finalize-form .flash.error').count()) === 1);
  await sp.locator('#objections textarea[name=answer]').fill('已复核：材料在公示前未提交，维持审核得分');
  await submitIn(sp, sp.locator('#objections button[type=submit]'));
  await submitIn(sp, sp.locator('#finalize'));
  check('the result is final', (await sp.locator('#state').textContent()).includes('已确定'));
  check('every step is in the history', (await sp.locator('#steps li').count()) >= 4);
  await addsUp(sp, 'final');
  const xlsx = await sp.request.get(base + `/assessments/${id}/report.xlsx`);
  check('the street downloads the report as a workbook', xlsx.status() === 200
    && (xlsx.headers()['content-type'] || '').includes('spreadsheetml') && (await xlsx.body()).subarray(0, 2).toString() === 'PK',
    `${xlsx.status()}`);
  await sp.screenshot({ path: out + 'assessment-final.png', fullPage: true });

  // The rubric is public to those assessed.
  await cp.goto(base + '/assessment');
  await submitIn(cp, cp.locator('#rubrics a', { hasText: '六位一体' }).first());
  check('the community reads the rubric', (await cp.locator('section.card').count()) === 6);
  await fits(cp, 'the rubric');
  // A member sees her own points and where each came from; nothing is ranked.
  const member = await session();
  try {
    const mp = member.page;
    await login(mp, 'dy0101');
    await mp.goto(base + '/my');
    await submitIn(mp, mp.locator('#my-points'));
    check('a member opens her points from her home', mp.url().includes('/my/points'), mp.url());
    check('her points show a total and four sources', /\d/.test(await mp.locator('#points-total').textContent())
      && (await mp.locator('#points-lines tbody tr').count()) === 4);
    check('no ranking on the points page', !/排名第|排行/.test(await mp.locator('main').textContent()));
    await fits(mp, 'the points page');
    await mp.screenshot({ path: out + 'points.png', fullPage: true });
  } finally {
    await member.ctx.close();
  }

  // A secretary records what the assessment reads on a member's form.
  const sec = await session();
  try {
    const sp2 = sec.page;
    await login(sp2, 'zb0101');
    await sp2.goto(base + '/members?per_page=5');
    await submitIn(sp2, sp2.locator('table a[href^="/members/"]').first());
    const memberUrl = sp2.url();
    await sp2.goto(memberUrl + '/edit');
    await sp2.selectOption('select[name=education]', 'bachelor');
    await sp2.fill('input[name=training_days]', '400');
    await submitIn(sp2, sp2.locator('main button[type=submit]', { hasText: '保存' }));
    check('a training figure out of range is refused on its field', (await sp2.locator('.has-error input[name=training_days]').count()) === 1);
    await sp2.fill('input[name=training_days]', '8');
    await submitIn(sp2, sp2.locator('main button[type=submit]', { hasText: '保存' }));
    const page = await sp2.locator('main').textContent();
    check('the member page shows education and training', page.includes('本科') && /\d{4} 年 8 天/.test(page), sp2.url());
    await fits(sp2, 'the member page');
  } finally {
    await sec.ctx.close();
  }
} finally {
  await community.ctx.close();
  await street.ctx.close();
}
check('no console errors', problems.filter(p => !/status of 4(03|22)/.test(p)).length === 0, [...new Set(problems)].join(' | ').slice(0, 500));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
