//! Contacts for the demo district: a realistic, deliberately partial network
//! so that the coverage report has gaps to name. Deterministic for a tenant.

use super::plan::build;
use super::{OrgRef, Tree, exempt_members_sql, insert_rows, today};
use crate::db::{Arg, Db};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{Code, args, audit};
use chrono::{Days, NaiveDate, Utc};
use redcell_domain::CadreKind;
use redcell_domain::coverage::{ContactLevel, QuotaPreset, Range, key_resident_tags};
use redcell_plan::SolveOptions;
use std::collections::{BTreeMap, HashMap};

/// What was seeded.
#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    pub households: i64,
    pub households_covered: i64,
    pub member_household: i64,
    pub central: i64,
    pub cadre_branch: i64,
    pub leader_community: i64,
    pub exempt: i64,
    pub members_with_cadre: i64,
    pub members: i64,
    pub communities: i64,
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable pseudo-random number in `0..n` for an id and a purpose.
fn pick(id: i64, purpose: u64, n: u64) -> u64 {
    mix((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ mix(purpose)) % n.max(1)
}

fn since(today: NaiveDate, id: i64, purpose: u64) -> NaiveDate {
    today - Days::new(30 + pick(id, purpose, 700))
}

#[allow(clippy::too_many_arguments)]
fn row(
    tenant: i64,
    level: ContactLevel,
    from: i64,
    to: i64,
    org: i64,
    since: NaiveDate,
    reason: &str,
    now: chrono::DateTime<Utc>,
) -> Vec<Arg> {
    vec![
        tenant.into(),
        level.code().into(),
        level.from().code().into(),
        from.into(),
        level.to().code().into(),
        to.into(),
        org.into(),
        since.into(),
        reason.into(),
        now.into(),
    ]
}

/// Start a partial set of contacts in the demo tenant: the urban quota preset
/// on the street, a few very old members exempted, about 85 % of households
/// given to the nearest member of their grid with capacity, most branches a
/// street cadre, most communities a leader, and 中心户 looking after members
/// and key residents of their grid. Does nothing when the tenant already has
/// contacts.
pub async fn seed_demo_contacts(db: &Db, tenant_id: i64) -> Result<SeedSummary, StoreError> {
    let mut s = SeedSummary::default();
    if db.int("SELECT COUNT(*) FROM contacts WHERE tenant_id = $1", args![tenant_id]).await? > 0 {
        return Ok(s);
    }
    let day = today();
    let now = Utc::now();
    let scope = Scope::whole_tenant(tenant_id);
    let root = OrgRef::in_scope(&mut db.conn(), &scope, tenant_id).await?;
    let tree = Tree::load(db, tenant_id).await?;

    let mut tx = db.begin().await?;
    // The urban preset on the street, plus quotas for 党小组长 (2–5 中心户/示范岗) and
    // 支部委员 (1–2 党小组) borrowed from the rural pyramid, so that role holders are judged.
    let mut rule = QuotaPreset::Urban.rule();
    rule.set(ContactLevel::GroupLeaderCentral, Some(Range { min: 2, max: 5 }));
    rule.set(ContactLevel::BranchCommitteeGroup, Some(Range { min: 1, max: 2 }));
    let mut cols = vec![
        "tenant_id".to_string(),
        "org_id".into(),
        "preset".into(),
        "central_per_building".into(),
        "updated_at".into(),
    ];
    let mut vals: Vec<Arg> = vec![
        tenant_id.into(),
        tenant_id.into(),
        Option::<String>::None.into(),
        rule.central_per_building.into(),
        now.into(),
    ];
    for l in ContactLevel::ALL {
        if let Some(r) = rule.get(*l) {
            cols.push(format!("{}_min", l.column()));
            vals.push(r.min.into());
            cols.push(format!("{}_max", l.column()));
            vals.push(r.max.into());
        }
    }
    for (q, r) in &rule.extra {
        cols.push(format!("{}_min", q.code()));
        vals.push(r.min.into());
        cols.push(format!("{}_max", q.code()));
        vals.push(r.max.into());
    }
    insert_rows(&mut tx, &format!("INSERT INTO quota_rules ({})", cols.join(", ")), &[vals], 1).await?;

    // Some members of 88 and over are exempt (all three approvals on file).
    let old_cut = day.checked_sub_months(chrono::Months::new(12 * 88)).unwrap_or(day);
    let old: Vec<(i64, i64)> = tx
        .all(
            "SELECT m.id, m.org_id FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             WHERE m.tenant_id = $1 AND r.birth_date <= $2 ORDER BY m.id",
            args![tenant_id, old_cut],
        )
        .await?;
    let mut ex_rows = Vec::new();
    for (id, org) in old.into_iter().filter(|(id, _)| pick(*id, 1, 3) == 0) {
        let d0 = since(day, id, 2);
        let (d1, d2, d3) = (d0 + Days::new(7), d0 + Days::new(21), d0 + Days::new(30));
        ex_rows.push(vec![
            tenant_id.into(),
            id.into(),
            org.into(),
            "old_frail".into(),
            "exempt".into(),
            (d0.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc()).into(),
            d1.into(),
            "支部大会决定".into(),
            d2.into(),
            "社区党委会议同意".into(),
            d3.into(),
            "已报街道党工委备案".into(),
            now.into(),
        ]);
    }
    s.exempt = ex_rows.len() as i64;
    insert_rows(
        &mut tx,
        "INSERT INTO exemptions (tenant_id, member_id, org_id, reason, status, requested_at, branch_on, branch_note, \
         community_on, community_note, street_on, street_note, updated_at)",
        &ex_rows,
        200,
    )
    .await?;
    tx.commit().await?;

    // Members → households: the optimal plan of the whole street, then about 15 % left out.
    let built = build(db, &root, &scope, 0).await?;
    s.households = built.instance.households.len() as i64;
    let inst = built.instance;
    let plan = tokio::task::spawn_blocking(move || redcell_plan::solve(&inst, &SolveOptions::default()))
        .await
        .map_err(|e| StoreError::Internal(format!("solver task: {e}")))?
        .map_err(|e| StoreError::Internal(format!("solver: {e}")))?;
    let hh_org: HashMap<i64, i64> = db
        .all::<(i64, i64)>("SELECT id, org_id FROM households WHERE tenant_id = $1", args![tenant_id])
        .await?
        .into_iter()
        .collect();
    let num = |s: &str| s.get(1..).and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
    let mut rows = Vec::new();
    for a in &plan.assignments {
        let (h, m) = (num(&a.household), num(&a.member));
        // Whole staircases are sometimes left out, and single households too.
        if pick(h / 12, 3, 100) < 7 || pick(h, 4, 100) < 8 {
            continue;
        }
        let org = hh_org.get(&h).copied().unwrap_or(tenant_id);
        rows.push(row(tenant_id, ContactLevel::MemberHousehold, m, h, org, since(day, h, 5), "网格内就近联系", now));
    }
    s.member_household = rows.len() as i64;
    s.households_covered = s.member_household;

    // 中心户 → members and key residents of their grid.
    let people: Vec<(i64, i64, bool, i64)> = db
        .all(
            &format!(
                "SELECT m.id, m.org_id, m.central_household, h.grid_id FROM members m \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
                 WHERE m.tenant_id = $1 AND m.id NOT IN ({}) ORDER BY h.grid_id, m.id",
                exempt_members_sql("$1")
            ),
            args![tenant_id],
        )
        .await?;
    let keys: Vec<(i64, i64, i64)> = db
        .all(
            "SELECT h.id, h.org_id, h.grid_id FROM households h WHERE h.tenant_id = $1 AND (h.tags & $2) <> 0 ORDER BY h.grid_id, h.id",
            args![tenant_id, key_resident_tags().bits()],
        )
        .await?;
    // grid → (central members, other members with their org, key households with their org)
    type Grid = (Vec<i64>, Vec<(i64, i64)>, Vec<(i64, i64)>);
    let mut by_grid: BTreeMap<i64, Grid> = BTreeMap::new();
    for (id, org, central, grid) in people {
        let e = by_grid.entry(grid).or_default();
        if central { e.0.push(id) } else { e.1.push((id, org)) }
    }
    for (id, org, grid) in keys {
        by_grid.entry(grid).or_default().2.push((id, org));
    }
    let mut central_rows = 0;
    for (centrals, plain, key) in by_grid.values() {
        if centrals.is_empty() {
            continue;
        }
        for (i, (m, org)) in plain.iter().enumerate() {
            let c = centrals[i % centrals.len()];
            if i / centrals.len() >= 4 || pick(*m, 6, 10) == 0 {
                continue;
            }
            rows.push(row(
                tenant_id,
                ContactLevel::CentralMember,
                c,
                *m,
                *org,
                since(day, *m, 7),
                "同楼栋/网格党员",
                now,
            ));
            central_rows += 1;
        }
        for (i, (h, org)) in key.iter().enumerate() {
            let c = centrals[i % centrals.len()];
            if i / centrals.len() >= 8 || pick(*h, 8, 10) == 0 {
                continue;
            }
            rows.push(row(
                tenant_id,
                ContactLevel::CentralKeyResident,
                c,
                *h,
                *org,
                since(day, *h, 9),
                "重点群众结对联系",
                now,
            ));
            central_rows += 1;
        }
    }
    s.central = central_rows;

    // Street cadres → the branches of the community they are stationed in; leaders → their community.
    let stations: Vec<(i64, Code<CadreKind>, i64)> = db
        .all(
            "SELECT c.id, c.kind, cs.org_id FROM cadres c JOIN cadre_stations cs ON cs.tenant_id = c.tenant_id AND cs.cadre_id = c.id \
             WHERE c.tenant_id = $1 ORDER BY cs.org_id, c.id",
            args![tenant_id],
        )
        .await?;
    let communities: Vec<&OrgRef> = tree.orgs.iter().filter(|o| o.kind.is_community()).collect();
    s.communities = communities.len() as i64;
    for (ci, com) in communities.into_iter().enumerate() {
        let here: Vec<(i64, CadreKind)> =
            stations.iter().filter(|(_, _, o)| *o == com.id).map(|(id, k, _)| (*id, k.0)).collect();
        // About one community in five has no leader yet.
        if pick(com.id, 10, 10) != 0
            && ci % 5 != 4
            && let Some((leader, _)) = here.iter().find(|(_, k)| *k == CadreKind::Leadership)
        {
            rows.push(row(
                tenant_id,
                ContactLevel::LeaderCommunity,
                *leader,
                com.id,
                com.id,
                since(day, com.id, 11),
                "包社联系",
                now,
            ));
            s.leader_community += 1;
        }
        let street: Vec<i64> = here.iter().filter(|(_, k)| *k == CadreKind::StreetCadre).map(|(id, _)| *id).collect();
        if street.is_empty() {
            continue;
        }
        let branches: Vec<&OrgRef> = tree.subtree(&com.path).filter(|o| o.kind.is_branch()).collect();
        let first = branches.iter().map(|b| b.id).min();
        for (i, b) in branches.iter().enumerate() {
            // Every other community has its first branch without a cadre, and now and then another.
            if pick(b.id, 12, 100) < 8 || (ci % 2 == 0 && Some(b.id) == first) {
                continue;
            }
            let c = street[i % street.len()];
            rows.push(row(
                tenant_id,
                ContactLevel::CadreBranch,
                c,
                b.id,
                b.id,
                since(day, b.id, 13),
                "街道干部联系支部",
                now,
            ));
            s.cadre_branch += 1;
        }
    }

    let mut tx = db.begin().await?;
    insert_rows(
        &mut tx,
        "INSERT INTO contacts (tenant_id, level, from_kind, from_id, to_kind, to_id, org_id, since, reason, created_at)",
        &rows,
        500,
    )
    .await?;
    audit::record(
        &mut tx,
        tenant_id,
        None,
        "demo",
        "contacts",
        Some(tenant_id),
        &format!(
            "演示联系关系：党员联系户 {}，中心户联系 {}，干部联系支部 {}，包社领导 {}，免除联系任务 {}",
            s.member_household, s.central, s.cadre_branch, s.leader_community, s.exempt
        ),
    )
    .await?;
    tx.commit().await?;
    super::posts::seed_demo(db, tenant_id, &tree).await?;
    let has_cadre = super::report::member_has_cadre(db, &tree, tenant_id).await?;
    s.members = db.int("SELECT COUNT(*) FROM members m WHERE m.tenant_id = $1", args![tenant_id]).await?;
    s.members_with_cadre = db
        .int(&format!("SELECT COUNT(*) FROM members m WHERE m.tenant_id = $1 AND {has_cadre}"), args![tenant_id])
        .await?;
    Ok(s)
}
