//! A realistic history of duties for the demo district: about eight months of
//! visits, meetings and activities, kept imperfect on purpose (some cadres
//! visit less often, some branches have fallen silent) so that compliance
//! shows overdue duties and silent branches.

use super::records::{freshen, person};
use super::{LOOKBACK_DAYS, key_household_mask, rules};
use crate::args;
use crate::db::{Db, Tx};
use crate::error::StoreError;
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use redcell_domain::calendar::{HolidayCalendar, shanghai_today};
use std::collections::{HashMap, HashSet};

/// A small deterministic generator (xorshift), seeded from the demo seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() % 10_000) as f64 / 10_000.0
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[allow(clippy::too_many_arguments)]
async fn visit(
    tx: &mut Tx,
    t: i64,
    org: i64,
    vk: &str,
    vid: i64,
    tk: &str,
    tid: i64,
    on: NaiveDate,
    purpose: &str,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO duty_visits (tenant_id, org_id, visitor_kind, visitor_id, target_kind, target_id, visited_on, purpose, \
         learned, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![t, org, vk, vid, tk, tid, on, purpose, "了解近况，无新增诉求", Utc::now()],
    )
    .await?;
    if tk == "household" {
        freshen(tx, t, tid, on).await?;
    }
    Ok(())
}

async fn held(
    tx: &mut Tx,
    t: i64,
    table: &str,
    org: i64,
    kind: &str,
    on: NaiveDate,
    title: &str,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = if table == "duty_meetings" {
        tx.one(
            "INSERT INTO duty_meetings (tenant_id, org_id, kind, held_on, topic, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            args![t, org, kind, on, title, Utc::now()],
        )
        .await?
    } else {
        tx.one(
            "INSERT INTO duty_activities (tenant_id, org_id, kind, held_on, title, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            args![t, org, kind, on, title, Utc::now()],
        )
        .await?
    };
    Ok(id)
}

/// Calendar-aligned windows of `months` months overlapping `[from, to]`.
fn windows(from: NaiveDate, to: NaiveDate, months: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let m0 = (from.month0() / months) * months;
    let mut start = NaiveDate::from_ymd_opt(from.year(), m0 + 1, 1).unwrap_or(from);
    while start <= to {
        let next = start.checked_add_months(chrono::Months::new(months)).unwrap_or(to + Duration::days(1));
        out.push((start.max(from), next - Duration::days(1)));
        start = next;
    }
    out
}

fn day_in(rng: &mut Rng, start: NaiveDate, end: NaiveDate) -> NaiveDate {
    start + Duration::days(rng.below(((end - start).num_days() + 1).max(1) as u64) as i64)
}

/// Write the history for demo tenant `t`. Called once from `demo::generate`.
pub async fn seed(db: &Db, t: i64, seed: u64) -> Result<(), StoreError> {
    rules::ensure_seeded(db, t).await?;
    let today = shanghai_today();
    // History starts before the compliance window so that the periods at its
    // start (a half-year, a quarter) are complete.
    let from = today - Duration::days(LOOKBACK_DAYS + 100);
    let cal = HolidayCalendar::shipped();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let orgs: Vec<(i64, String, String)> =
        db.all("SELECT id, kind, path FROM orgs WHERE tenant_id = $1 ORDER BY path", args![t]).await?;
    let cadres: Vec<(i64, String, i64)> =
        db.all("SELECT id, kind, org_id FROM cadres WHERE tenant_id = $1 ORDER BY id", args![t]).await?;
    let stations: Vec<(i64, i64)> =
        db.all("SELECT cadre_id, org_id FROM cadre_stations WHERE tenant_id = $1", args![t]).await?;
    let grids: Vec<(i64, i64)> =
        db.all("SELECT id, org_id FROM grids WHERE tenant_id = $1 ORDER BY id", args![t]).await?;
    let keyh: Vec<(i64, i64)> = db
        .all(
            "SELECT id, org_id FROM households WHERE tenant_id = $1 AND (tags & $2) <> 0 ORDER BY id",
            args![t, key_household_mask()],
        )
        .await?;
    let members: Vec<(i64, i64, String, bool)> = db
        .all(
            "SELECT id, org_id, status, (work_unit IS NOT NULL AND work_unit <> '') FROM members WHERE tenant_id = $1 ORDER BY id",
            args![t],
        )
        .await?;
    // Households of 党员中心户, visited like key households.
    let central: Vec<(i64, i64)> = db
        .all(
            "SELECT h.id, h.org_id FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
             WHERE m.tenant_id = $1 AND m.central_household ORDER BY h.id",
            args![t],
        )
        .await?;
    let mut reach: Vec<(i64, i64)> = keyh.iter().chain(central.iter()).copied().collect();
    reach.sort();
    reach.dedup();
    // Rows are found by organisation, never by comparing every row with every
    // organisation (that kept a 1,000,000-household demo busy for hours).
    let path_by_id: HashMap<i64, &str> = orgs.iter().map(|o| (o.0, o.2.as_str())).collect();
    let path_of = |id: i64| path_by_id.get(&id).map(|p| p.to_string()).unwrap_or_default();
    let under = |area: &str, org: i64| !area.is_empty() && path_by_id.get(&org).is_some_and(|p| p.starts_with(area));
    let orgs_under = |area: &str| -> Vec<i64> {
        orgs.iter().filter(|o| !area.is_empty() && o.2.starts_with(area)).map(|o| o.0).collect()
    };
    let by_org = |orgs_of: &mut dyn Iterator<Item = i64>| -> HashMap<i64, Vec<usize>> {
        let mut m: HashMap<i64, Vec<usize>> = HashMap::new();
        for (i, o) in orgs_of.enumerate() {
            m.entry(o).or_default().push(i);
        }
        m
    };
    // Positions (in row order) of the rows whose organisation lies under `area`.
    let within = |idx: &HashMap<i64, Vec<usize>>, area: &str| -> Vec<usize> {
        let mut v: Vec<usize> = orgs_under(area).iter().filter_map(|o| idx.get(o)).flatten().copied().collect();
        v.sort_unstable();
        v
    };
    let reach_idx = by_org(&mut reach.iter().map(|h| h.1));
    let keyh_idx = by_org(&mut keyh.iter().map(|h| h.1));
    let members_idx = by_org(&mut members.iter().map(|m| m.1));
    let stationed: HashSet<i64> = cadres.iter().filter(|c| c.1 == "stationed_cadre").map(|c| c.0).collect();

    let mut tx = db.begin().await?;
    // Cadres: weekly / Tuesday visits and key households, reliability per cadre.
    let mondays: Vec<NaiveDate> = (0..=(LOOKBACK_DAYS + 100) / 7 + 1)
        .map(|k| from - Duration::days(from.weekday().num_days_from_monday() as i64) + Duration::days(7 * k))
        .filter(|d| *d <= today)
        .collect();
    let communities: Vec<i64> = orgs.iter().filter(|o| o.1 == "community_committee").map(|o| o.0).collect();
    for (i, (cid, kind, _)) in cadres.iter().enumerate() {
        let reliable = [0.97, 0.9, 0.75, 0.5][i % 4];
        let st: Vec<i64> = stations.iter().filter(|s| s.0 == *cid).map(|s| s.1).collect();
        match kind.as_str() {
            "stationed_cadre" => {
                let Some(area) = st.first().map(|o| path_of(*o)) else { continue };
                let grid = grids.iter().find(|g| under(&area, g.1));
                if let Some((gid, gorg)) = grid {
                    for m in &mondays {
                        let mut tue = *m + Duration::days(1);
                        while !cal.is_working_day(tue) && tue.weekday() != Weekday::Sun {
                            tue += Duration::days(1);
                        }
                        // The current week stays open so that "my duties" shows a due visit.
                        if tue < today - Duration::days(6) && rng.unit() < reliable {
                            visit(&mut tx, t, *gorg, "cadre", *cid, "grid", *gid, tue, "routine").await?;
                        }
                    }
                }
                let mine: Vec<&(i64, i64)> = within(&reach_idx, &area).into_iter().map(|i| &reach[i]).collect();
                let first_member = within(&members_idx, &area).first().map(|i| &members[*i]);
                for (ws, we) in windows(from, today, 6) {
                    let last = we.min(today - Duration::days(7));
                    if last < ws {
                        continue;
                    }
                    for (hid, horg) in mine.iter().copied() {
                        if reliable > 0.95 || rng.unit() < reliable {
                            let on = day_in(&mut rng, ws, last);
                            visit(&mut tx, t, *horg, "cadre", *cid, "household", *hid, on, "must_visit").await?;
                        }
                    }
                    if let Some((mid, morg, _, _)) = first_member
                        && rng.unit() < reliable + 0.1
                    {
                        let on = day_in(&mut rng, ws, last);
                        visit(&mut tx, t, *morg, "cadre", *cid, "member", *mid, on, "routine").await?;
                    }
                }
            }
            "grid_worker" => {
                let Some(area) = st.first().map(|o| path_of(*o)) else { continue };
                let mine: Vec<&(i64, i64)> = within(&keyh_idx, &area).into_iter().map(|i| &keyh[i]).collect();
                for (ws, we) in windows(from, today, 3) {
                    let last = we.min(today - Duration::days(1));
                    if last < ws {
                        continue;
                    }
                    for (hid, horg) in mine.iter().copied() {
                        if reliable > 0.8 || rng.unit() < reliable {
                            let on = day_in(&mut rng, ws, last);
                            visit(&mut tx, t, *horg, "cadre", *cid, "household", *hid, on, "must_visit").await?;
                        }
                    }
                }
                // Holiday visits (三必访) within a few days of each holiday.
                for h in redcell_domain::duties::holiday_starts(cal, from, today - Duration::days(4)) {
                    if let Some((hid, horg)) = mine.first().copied()
                        && rng.unit() < reliable
                    {
                        let on = h + Duration::days(rng.below(4) as i64);
                        visit(&mut tx, t, *horg, "cadre", *cid, "household", *hid, on, "holiday").await?;
                    }
                }
            }
            "leadership" if !communities.is_empty() => {
                let c = communities[i % communities.len()];
                for m in &mondays {
                    if rng.unit() < reliable {
                        let on = day_in(&mut rng, *m, (*m + Duration::days(4)).min(today - Duration::days(1)));
                        if on >= *m {
                            visit(&mut tx, t, c, "cadre", *cid, "community", c, on, "routine").await?;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // Organisations: meetings by kind, with a few branches gone silent.
    let months: Vec<NaiveDate> = {
        let mut v = vec![];
        let mut m = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
        while m <= today {
            v.push(m);
            m = m.checked_add_months(chrono::Months::new(1)).unwrap_or(today + Duration::days(1));
        }
        v
    };
    let month_day = |rng: &mut Rng, m: NaiveDate| {
        let end = (m.checked_add_months(chrono::Months::new(1)).unwrap_or(m) - Duration::days(1))
            .min(today - Duration::days(1));
        day_in(rng, m.max(from), end.max(m.max(from)))
    };
    let mut cells = 0usize;
    for (k, (oid, kind, opath)) in orgs.iter().enumerate() {
        // One in four branches and party groups has gone silent (no organisational life lately).
        let cell = kind.starts_with("branch_") || kind == "party_group";
        if cell {
            cells += 1;
        }
        let silent = cell && cells % 4 == 2;
        let stop = if silent { today - Duration::days(45 + (k as i64 % 30)) } else { today };
        let reliable = if k % 5 == 1 { 0.6 } else { 0.93 };
        // The members whose attendance a cell's meetings take.
        let people: Vec<&(i64, i64, String, bool)> =
            if cell { within(&members_idx, opath).into_iter().map(|i| &members[i]).collect() } else { vec![] };
        let meet = async |tx: &mut Tx, rng: &mut Rng, kinds: &[(&str, &str, u32)]| -> Result<(), StoreError> {
            for (mi, m) in months.iter().enumerate() {
                for (code, title, every) in kinds {
                    if mi as u32 % every != every - 1 && *every > 1 {
                        continue;
                    }
                    let on = month_day(rng, *m);
                    if on > stop || on < from || on >= today || rng.unit() >= reliable {
                        continue;
                    }
                    let id = held(tx, t, "duty_meetings", *oid, code, on, title).await?;
                    let minutes = format!("{title}：传达学习上级精神，通报近期工作，研究下一步安排并明确分工。");
                    tx.exec(
                        "UPDATE duty_meetings SET minutes = $1 WHERE tenant_id = $2 AND id = $3",
                        args![minutes, t, id],
                    )
                    .await?;
                    // Attendance is taken at branch and party-group meetings
                    // (presence marked per member, somebody always there);
                    // street and community meetings are of cadres.
                    if cell {
                        let mut full = 0;
                        let mut present = 0;
                        let mut expected = 0;
                        let mut here_count = 0;
                        for (i, (mid, _, status, _)) in people.iter().enumerate() {
                            // The last member comes when nobody else did: a meeting is people meeting.
                            let here = rng.unit() < 0.8 || (i + 1 == people.len() && here_count == 0);
                            let (presence, reason) = if here {
                                ("present", None)
                            } else if rng.unit() < 0.5 {
                                ("excused", Some(["mobile", "ill", "abroad"][rng.below(3) as usize]))
                            } else {
                                ("absent", None)
                            };
                            person(tx, t, "meeting", id, "member", *mid, presence, reason).await?;
                            expected += 1;
                            here_count += i64::from(here);
                            if status == "full" {
                                full += 1;
                                present += i64::from(here);
                            }
                        }
                        // -1: no quorum rule for this kind (NULL), else whether it was met.
                        let quorum: i64 = if *code == "general_meeting" || *code == "theme_day" {
                            i64::from(present * 2 > full)
                        } else {
                            -1
                        };
                        tx.exec(
                            "UPDATE duty_meetings SET voting_total = $1, voting_present = $2, present_count = $3, \
                             expected_count = $4, quorum_met = CASE WHEN $5 < 0 THEN NULL ELSE $5 = 1 END \
                             WHERE tenant_id = $6 AND id = $7",
                            args![full, present, here_count, expected, quorum, t, id],
                        )
                        .await?;
                    }
                }
            }
            Ok(())
        };
        match kind.as_str() {
            "street_committee" | "township_committee" => {
                meet(
                    &mut tx,
                    &mut rng,
                    &[("analysis", "月度形势分析", 1), ("forum", "社区书记座谈", 3), ("progress", "工作推进暨督查", 2)],
                )
                .await?
            }
            "community_committee" | "village_general_branch" => {
                meet(&mut tx, &mut rng, &[("joint_committee", "1+3联席会议", 6)]).await?
            }
            "party_group" => meet(&mut tx, &mut rng, &[("party_group", "党小组学习讨论", 1)]).await?,
            k if k.starts_with("branch_") => {
                meet(
                    &mut tx,
                    &mut rng,
                    &[
                        ("committee", "支委会研究近期工作", 1),
                        ("theme_day", "主题党日", 1),
                        ("general_meeting", "支部党员大会", 3),
                        ("lecture", "书记讲党课", 3),
                    ],
                )
                .await?;
                // Each half-year: an organisational-life meeting and publicity and
                // service, with the branch's stationed cadre taking part.
                let cadre = stations.iter().find(|s| s.1 == *oid && stationed.contains(&s.0)).map(|s| s.0);
                for (ws, we) in windows(from, today, 6) {
                    let last = we.min(stop).min(today - Duration::days(5));
                    if last < ws {
                        continue;
                    }
                    for (table, kind, title) in [
                        ("duty_meetings", "org_life", "组织生活会"),
                        ("duty_activities", "publicity", "政策宣传进楼栋"),
                        ("duty_activities", "service", "志愿服务"),
                    ] {
                        if rng.unit() < reliable {
                            let on = day_in(&mut rng, ws, last);
                            let id = held(&mut tx, t, table, *oid, kind, on, title).await?;
                            if let Some(c) = cadre {
                                let rk = if table == "duty_meetings" { "meeting" } else { "activity" };
                                person(&mut tx, t, rk, id, "cadre", c, "present", None).await?;
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // In-service members: collective service in their community every two months.
    for c in &communities {
        let cpath = path_of(*c);
        let ins: Vec<i64> =
            within(&members_idx, &cpath).into_iter().map(|i| &members[i]).filter(|m| m.3).map(|m| m.0).collect();
        if ins.is_empty() {
            continue;
        }
        for m in months.iter().step_by(2) {
            let on = month_day(&mut rng, *m);
            if on >= today || on < from {
                continue;
            }
            let id = held(&mut tx, t, "duty_activities", *c, "service", on, "在职党员进社区集中服务").await?;
            for mid in &ins {
                if rng.unit() < 0.65 {
                    person(&mut tx, t, "activity", id, "member", *mid, "present", None).await?;
                }
            }
        }
    }

    // The grid worker account of the first branch is the grid worker there
    // (their own duties: the must-visit households).
    let user: Option<(i64, String)> = tx
        .opt(
            "SELECT u.id, o.path FROM users u JOIN grants g ON g.user_id = u.id JOIN orgs o ON o.id = g.org_id \
             WHERE u.username = 'wg0101' AND g.tenant_id = $1",
            args![t],
        )
        .await?;
    if let Some((uid, upath)) = user {
        let sc = cadres
            .iter()
            .filter(|c| c.1 == "grid_worker")
            .find(|c| stations.iter().any(|s| s.0 == c.0 && path_of(s.1).starts_with(upath.as_str())));
        if let Some((cid, _, _)) = sc {
            tx.exec(
                "INSERT INTO duty_accounts (tenant_id, user_id, cadre_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                args![t, uid, *cid],
            )
            .await?;
        }
    }
    // The district existed before its history: compliance judges each
    // organisation, cadre and member from its creation, so date them back to
    // the start of the history (households keep theirs: new arrivals).
    let since = from.and_hms_opt(0, 0, 0).map(|d| d.and_utc()).unwrap_or_else(Utc::now);
    for table in ["orgs", "cadres", "members"] {
        tx.exec(
            &format!("UPDATE {table} SET created_at = $1 WHERE tenant_id = $2 AND created_at > $1"),
            args![since, t],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
