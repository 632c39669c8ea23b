//! The coverage report of an organisation's subtree: the three coverages
//! (households with a member, members with a cadre, communities with a
//! leader), every level of the pyramid as a rate, and every gap named.
//!
//! Set-based SQL throughout (`COUNT` with `EXISTS` / `NOT EXISTS` on the
//! partial indexes of active contacts); nothing loops over households.

use super::quotas::{effective_at, load_rules};
use super::{OrgRef, Tree, exempt_members_sql, in_list, today};
use crate::Code;
use crate::args;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use chrono::{Months, NaiveDate};
use redcell_domain::coverage::{
    CentralRatio, ContactLevel, ExtraQuota, Party, QuotaRule, central_ratio, key_resident_tags,
};
use redcell_domain::{CadreKind, HouseholdTag, HouseholdTags, OrgKind};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Members of this age or older are contacted first.
pub const OLD_AGE: u32 = 70;
/// Named gaps listed per kind (the total is always given).
pub const GAP_LIMIT: i64 = 100;

/// A share: `covered` of `total`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub key: String,
    pub label: String,
    pub covered: i64,
    pub total: i64,
    /// Percent with one decimal; `None` when there is nothing to cover.
    pub percent: Option<f64>,
}

impl Rate {
    fn new(key: &str, label: &str, covered: i64, total: i64) -> Rate {
        let percent = (total > 0).then(|| (covered as f64 * 1000.0 / total as f64).round() / 10.0);
        Rate { key: key.into(), label: label.into(), covered, total, percent }
    }
    /// The bar length for a chart of width `w`.
    pub fn bar(&self, w: f64) -> f64 {
        (self.percent.unwrap_or(0.0) / 100.0 * w * 10.0).round() / 10.0
    }
    pub fn percent_text(&self) -> String {
        match self.percent {
            Some(p) => format!("{p:.1}%"),
            None => "—".into(),
        }
    }
    /// CSS class by level of attainment.
    pub fn class(&self) -> &'static str {
        match self.percent {
            None => "na",
            Some(p) if p >= 99.95 => "full",
            Some(p) if p >= 85.0 => "good",
            Some(_) => "low",
        }
    }
}

/// One named gap, with a link (empty when the caller cannot open the page).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GapItem {
    pub id: i64,
    pub href: String,
    pub name: String,
    pub detail: String,
}

/// A kind of gap: how many, and the first of them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub key: String,
    pub label: String,
    pub total: i64,
    pub items: Vec<GapItem>,
}

impl Gap {
    pub fn more(&self) -> i64 {
        self.total - self.items.len() as i64
    }
}

/// The coverage report of an organisation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub org: OrgRef,
    pub date: NaiveDate,
    pub households: i64,
    pub households_covered: i64,
    pub members: i64,
    pub members_with_cadre: i64,
    pub exempt_members: i64,
    pub communities: i64,
    pub communities_with_leader: i64,
    pub buildings: i64,
    pub buildings_with_central: i64,
    /// The quota rule in force at the organisation and where it comes from.
    pub quota_source: Option<String>,
    pub quota_preset: Option<String>,
    /// The three coverages first, then the levels of the pyramid, then quota attainment.
    pub rates: Vec<Rate>,
    pub gaps: Vec<Gap>,
    /// Seconds the report took.
    pub seconds: f64,
}

impl Report {
    pub fn gap(&self, key: &str) -> Option<&Gap> {
        self.gaps.iter().find(|g| g.key == key)
    }
    pub fn main_rates(&self) -> &[Rate] {
        &self.rates[..3.min(self.rates.len())]
    }
}

/// A household has a member now. Removing a member or household from the
/// registry ends its contacts, so an active contact always has both ends.
const MH_ACTIVE: &str = "EXISTS (SELECT 1 FROM contacts c \
    WHERE c.tenant_id = h.tenant_id AND c.level = 'member_household' AND c.to_id = h.id AND c.until IS NULL)";

fn active_to(level: ContactLevel, alias: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM contacts c WHERE c.tenant_id = {alias}.tenant_id AND c.level = '{}' AND c.to_id = {alias}.id AND c.until IS NULL)",
        level.code()
    )
}

async fn count(db: &Db, org: &OrgRef, table_alias: &str, from: &str, extra: &str) -> Result<i64, StoreError> {
    let mut a = Args::new();
    let u = org.under(table_alias, &mut a);
    db.int(&format!("SELECT COUNT(*) FROM {from} WHERE {u}{extra}"), a).await
}

/// Distinct organisations that have an active contact of `level` to them.
async fn org_targets(db: &Db, tenant: i64, level: ContactLevel) -> Result<HashSet<i64>, StoreError> {
    let rows: Vec<(i64,)> = db
        .all(
            "SELECT DISTINCT to_id FROM contacts WHERE tenant_id = $1 AND level = $2 AND until IS NULL",
            args![tenant, level.code()],
        )
        .await?;
    Ok(rows.into_iter().map(|(x,)| x).collect())
}

/// Organisations whose members a cadre reaches through an active
/// cadre→branch contact (the branch and everything below it).
fn reached_orgs(tree: &Tree, branches: &HashSet<i64>) -> Vec<i64> {
    let paths: Vec<_> = branches.iter().filter_map(|b| tree.get(*b)).map(|o| o.path.clone()).collect();
    tree.orgs.iter().filter(|o| paths.iter().any(|p| p.contains(&o.path))).map(|o| o.id).collect()
}

/// The SQL condition "member `m` has a cadre": their organisation is reached
/// through a branch, or a cadre contacts them directly.
pub(crate) async fn member_has_cadre(db: &Db, tree: &Tree, tenant: i64) -> Result<String, StoreError> {
    let branches = org_targets(db, tenant, ContactLevel::CadreBranch).await?;
    let reached = reached_orgs(tree, &branches);
    Ok(format!("({} OR {})", in_list("m.org_id", &reached), active_to(ContactLevel::CadreMember, "m")))
}

fn gap(key: &str, label: &str, total: i64, items: Vec<GapItem>) -> Gap {
    Gap { key: key.into(), label: label.into(), total, items }
}

#[derive(sqlx::FromRow)]
struct Named {
    id: i64,
    name: String,
    detail: Option<String>,
    tags: i64,
}

impl Named {
    /// The row as a named gap linking to `/{kind}/{id}`; household tags, if any, follow the detail.
    fn item(self, kind: &str) -> GapItem {
        GapItem {
            id: self.id,
            href: format!("/{kind}/{}", self.id),
            name: self.name,
            detail: format!("{}{}", self.detail.unwrap_or_default(), tag_text(self.tags)),
        }
    }
}

fn tag_text(tags: i64) -> String {
    let l = HouseholdTags::from_bits(tags).labels();
    if l.is_empty() { String::new() } else { format!("（{}）", l.join("、")) }
}

/// The coverage report for an organisation the caller can read.
pub async fn report(db: &Db, p: &Principal, org_id: i64) -> Result<Report, StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::ReadRegistry).await?;
    let mut r = report_of(db, &org).await?;
    // A person outside the caller's read scope (a street cadre judged on a
    // branch) is named without a link to a page they cannot open.
    for item in r.gaps.iter_mut().flat_map(|g| g.items.iter_mut()) {
        let Some(id) = item.href.strip_prefix("/cadres/").and_then(|x| x.parse::<i64>().ok()) else { continue };
        if !crate::scope::cadre_readable(db, p, id).await? {
            item.href = String::new();
        }
    }
    Ok(r)
}

pub(crate) async fn report_of(db: &Db, org: &OrgRef) -> Result<Report, StoreError> {
    let started = std::time::Instant::now();
    let t = org.tenant_id;
    let date = today();
    let tree = Tree::load(db, t).await?;
    let household = crate::registry::households::place_sql("h", "b");
    let sub: Vec<&super::OrgRef> = tree.subtree(&org.path).collect();
    let mut gaps = Vec::new();
    let mut rates = Vec::new();
    let keys = key_resident_tags().bits();

    // 1. Households with a member.
    let hh_from = "households h";
    let households = count(db, org, "h", hh_from, "").await?;
    let households_covered = if org.parent_id.is_none() {
        // The whole tenant: one active member contact per household (a unique
        // index) and contacts end with their household, so counting the
        // contacts is exact and avoids a probe per household.
        db.int(
            "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND level = 'member_household' AND until IS NULL",
            args![t],
        )
        .await?
    } else {
        count(db, org, "h", hh_from, &format!(" AND {MH_ACTIVE}")).await?
    };
    {
        // Households with a duty tag first; two short scans instead of sorting every gap.
        let mut rows: Vec<Named> = Vec::new();
        for tagged in [true, false] {
            let want = GAP_LIMIT - rows.len() as i64;
            if want <= 0 {
                break;
            }
            let mut a = Args::new();
            let u = org.under("h", &mut a);
            let k = a.push(keys);
            let lim = a.push(want);
            // Tagged households through the partial index on `tags <> 0`.
            let tag_cond =
                if tagged { format!("h.tags <> 0 AND (h.tags & {k}) <> 0") } else { format!("(h.tags & {k}) = 0") };
            rows.extend(
                db.all::<Named>(
                    &format!(
                        "SELECT h.id, {household} AS name, b.address AS detail, h.tags \
                         FROM households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
                         WHERE {u} AND {tag_cond} AND NOT {MH_ACTIVE} ORDER BY h.id LIMIT {lim}"
                    ),
                    a,
                )
                .await?,
            );
        }
        let items = rows.into_iter().map(|r| r.item("households")).collect();
        gaps.push(gap("households_without_member", "无党员联系的住户", households - households_covered, items));
    }
    rates.push(Rate::new("households", "住户有党员联系", households_covered, households));

    // 2. Members with a cadre.
    let has_cadre = member_has_cadre(db, &tree, t).await?;
    let members = count(db, org, "m", "members m", "").await?;
    let members_with_cadre = count(db, org, "m", "members m", &format!(" AND {has_cadre}")).await?;
    {
        let mut a = Args::new();
        let u = org.under("m", &mut a);
        let lim = a.push(GAP_LIMIT);
        let rows: Vec<Named> = db
            .all(
                &format!(
                    "SELECT m.id, r.name, o.name AS detail, CAST(0 AS BIGINT) AS tags FROM members m \
                     JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                     JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                     WHERE {u} AND NOT {has_cadre} ORDER BY o.path, m.id LIMIT {lim}"
                ),
                a,
            )
            .await?;
        let items = rows.into_iter().map(|r| r.item("members")).collect();
        gaps.push(gap("members_without_cadre", "无干部联系的党员", members - members_with_cadre, items));
    }
    rates.push(Rate::new("members", "党员有干部联系", members_with_cadre, members));
    let exempt_members = {
        let mut a = Args::new();
        let u = org.under("m", &mut a);
        db.int(
            &format!("SELECT COUNT(*) FROM members m WHERE {u} AND m.id IN ({})", exempt_members_sql(&t.to_string())),
            a,
        )
        .await?
    };

    // 3. Communities with a leader.
    let leaders = org_targets(db, t, ContactLevel::LeaderCommunity).await?;
    let communities: Vec<&&OrgRef> = sub.iter().filter(|o| o.kind.is_community()).collect();
    let lacking: Vec<GapItem> = communities
        .iter()
        .filter(|o| !leaders.contains(&o.id))
        .map(|o| GapItem {
            id: o.id,
            href: format!("/orgs/{}", o.id),
            name: o.name.clone(),
            detail: o.kind.label().into(),
        })
        .collect();
    let communities_with_leader = communities.len() as i64 - lacking.len() as i64;
    rates.push(Rate::new("communities", "社区有包社领导", communities_with_leader, communities.len() as i64));
    gaps.push(gap("communities_without_leader", "无包社领导的社区", lacking.len() as i64, lacking));

    // 4. Buildings with a 党员中心户 (a non-exempt central member living there).
    // Uncorrelated (the tenant is a literal integer), so it is evaluated once.
    let with_central = format!(
        "b.id IN (SELECT hc.building_id FROM members mc JOIN residents rc ON rc.tenant_id = mc.tenant_id AND rc.id = mc.resident_id \
         JOIN households hc ON hc.tenant_id = rc.tenant_id AND hc.id = rc.household_id \
         WHERE mc.tenant_id = {t} AND mc.central_household = TRUE AND mc.id NOT IN ({}))",
        exempt_members_sql(&t.to_string())
    );
    let buildings = count(db, org, "b", "buildings b", "").await?;
    let buildings_with_central = count(db, org, "b", "buildings b", &format!(" AND {with_central}")).await?;
    {
        let mut a = Args::new();
        let u = org.under("b", &mut a);
        let lim = a.push(GAP_LIMIT);
        let rows: Vec<Named> = db
            .all(
                &format!(
                    "SELECT b.id, b.name, b.address AS detail, CAST(0 AS BIGINT) AS tags FROM buildings b \
                     WHERE {u} AND NOT {with_central} ORDER BY b.grid_id, b.id LIMIT {lim}"
                ),
                a,
            )
            .await?;
        let items = rows.into_iter().map(|r| r.item("buildings")).collect();
        gaps.push(gap("buildings_without_central", "无党员中心户的楼栋", buildings - buildings_with_central, items));
    }

    // 5. The levels of the pyramid as rates (the side looked after).
    let plain_members = count(db, org, "m", "members m", " AND m.central_household = FALSE").await?;
    let plain_with = count(
        db,
        org,
        "m",
        "members m",
        &format!(" AND m.central_household = FALSE AND {}", active_to(ContactLevel::CentralMember, "m")),
    )
    .await?;
    rates.push(Rate::new("central_member", "党员有中心户联系", plain_with, plain_members));
    // `h.tags <> 0` lets both databases use the partial index on tagged households.
    let key_cond = format!(" AND h.tags <> 0 AND (h.tags & {keys}) <> 0");
    let key_total = count(db, org, "h", hh_from, &key_cond).await?;
    let key_with =
        count(db, org, "h", hh_from, &format!("{key_cond} AND {}", active_to(ContactLevel::CentralKeyResident, "h")))
            .await?;
    rates.push(Rate::new("central_key_resident", "重点群众有中心户联系", key_with, key_total));
    {
        let mut a = Args::new();
        let u = org.under("h", &mut a);
        let lim = a.push(GAP_LIMIT);
        let rows: Vec<Named> = db
            .all(
                &format!(
                    "SELECT h.id, {household} AS name, b.address AS detail, h.tags \
                     FROM households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
                     WHERE {u}{key_cond} AND NOT {} ORDER BY h.id LIMIT {lim}",
                    active_to(ContactLevel::CentralKeyResident, "h")
                ),
                a,
            )
            .await?;
        let items = rows.into_iter().map(|r| r.item("households")).collect();
        gaps.push(gap("key_residents_without_central", "无中心户联系的重点群众", key_total - key_with, items));
    }
    let centrals = count(db, org, "m", "members m", " AND m.central_household = TRUE").await?;
    let centrals_with = count(
        db,
        org,
        "m",
        "members m",
        &format!(" AND m.central_household = TRUE AND {}", active_to(ContactLevel::GroupLeaderCentral, "m")),
    )
    .await?;
    rates.push(Rate::new("group_leader_central", "中心户有党小组长联系", centrals_with, centrals));
    let org_rate = |key: &str, label: &str, pick: &dyn Fn(&OrgRef) -> bool, targets: &HashSet<i64>| {
        let all: Vec<&&OrgRef> = sub.iter().filter(|o| pick(o)).collect();
        let with = all.iter().filter(|o| targets.contains(&o.id)).count();
        Rate::new(key, label, with as i64, all.len() as i64)
    };
    let groups = org_targets(db, t, ContactLevel::BranchCommitteeGroup).await?;
    rates.push(org_rate("branch_committee_group", "党小组有支部委员联系", &|o| o.kind == OrgKind::PartyGroup, &groups));
    let gb = org_targets(db, t, ContactLevel::GeneralCommitteeBranch).await?;
    let under_general = |o: &OrgRef| {
        o.kind.is_branch()
            && o.parent_id
                .and_then(|p| tree.get(p))
                .is_some_and(|pp| matches!(pp.kind, OrgKind::GeneralBranch | OrgKind::VillageGeneralBranch))
    };
    rates.push(org_rate("general_committee_branch", "网格支部有总支委员联系", &under_general, &gb));
    let cb = org_targets(db, t, ContactLevel::CadreBranch).await?;
    rates.push(org_rate("cadre_branch", "支部有街道干部联系", &|o| o.kind.is_branch(), &cb));
    rates.push(Rate::new("buildings", "楼栋有党员中心户", buildings_with_central, buildings));

    // 6. People over or under their quota: every holder of a role is judged
    // (members from the per-person counts kept with each contact event,
    // aggregated in SQL per group of organisations sharing a rule; cadres,
    // a few hundred at most, one by one).
    let rules = load_rules(db, t).await?;
    let (source, _, preset) = effective_at(&org.path, &rules);
    let quota_source = source.and_then(|s| tree.get(s)).map(|o| o.name.clone());
    let mut rule_cache: HashMap<i64, QuotaRule> = HashMap::new();
    let mut rule_of = |org_id: i64| -> QuotaRule {
        rule_cache
            .entry(org_id)
            .or_insert_with(|| match tree.get(org_id) {
                Some(o) => effective_at(&o.path, &rules).1,
                None => effective_at(&org.path, &rules).1,
            })
            .clone()
    };
    // Organisations of the subtree grouped by the rule in force there.
    let mut groups: Vec<(QuotaRule, Vec<i64>)> = Vec::new();
    for o in &sub {
        let r = rule_of(o.id);
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, ids)) => ids.push(o.id),
            None => groups.push((r, vec![o.id])),
        }
    }
    let mut over = Judgements::default();
    let mut under = Judgements::default();
    for level in ContactLevel::ALL.iter().copied() {
        let (judged, within) = match level.from() {
            Party::Member => judge_members(db, org, level, &groups, &mut over, &mut under).await?,
            _ => {
                let rows = quota_counts(db, org, &tree, level).await?;
                let (mut judged, mut within) = (0i64, 0i64);
                for (person, person_org, n, leader) in rows {
                    let Some(r) = rule_of(person_org).range_for(level, leader) else { continue };
                    judged += 1;
                    let leader = leader && level == ContactLevel::CadreBranch;
                    let j = Judged { level, leader, id: person, is_member: false, n, min: r.min, max: r.max };
                    if n > r.max {
                        over.push(j);
                    } else if n < r.min {
                        under.push(j);
                    } else {
                        within += 1;
                    }
                }
                (judged, within)
            }
        };
        if judged > 0 {
            rates.push(Rate::new(
                &format!("quota_{}", level.code()),
                &format!("{}联系{}数达标", level.from_label(), level.to_label().trim_start_matches(['户', '名', '个'])),
                within,
                judged,
            ));
        }
    }
    gaps.push(quota_gap(db, t, "over_quota", "超出联系定额的人员", &over).await?);
    gaps.push(quota_gap(db, t, "under_quota", "未达联系定额的人员", &under).await?);

    // 6b. Households per 中心户 in each grid (where a rule asks for it, e.g. the rural preset).
    gaps.push(central_ratio_gap(db, org, &groups).await?);

    // 6c. Demonstration posts without a 党小组长.
    {
        let mut a = Args::new();
        let u = org.under("dp", &mut a);
        let cond = format!(
            "{u} AND dp.until IS NULL AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.tenant_id = dp.tenant_id \
             AND c.level = 'group_leader_central' AND c.to_kind = 'post' AND c.to_id = dp.id AND c.until IS NULL)"
        );
        let total = db.int(&format!("SELECT COUNT(*) FROM demo_posts dp WHERE {cond}"), a.clone()).await?;
        let all_posts = {
            let mut a = Args::new();
            let u = org.under("dp", &mut a);
            db.int(&format!("SELECT COUNT(*) FROM demo_posts dp WHERE {u} AND dp.until IS NULL"), a).await?
        };
        let lim = a.push(GAP_LIMIT);
        let rows: Vec<Named> = db
            .all(
                &format!(
                    "SELECT dp.id, dp.name, g.name AS detail, CAST(0 AS BIGINT) AS tags FROM demo_posts dp \
                     JOIN grids g ON g.tenant_id = dp.tenant_id AND g.id = dp.grid_id WHERE {cond} ORDER BY dp.id LIMIT {lim}"
                ),
                a,
            )
            .await?;
        let items = rows.into_iter().map(|r| r.item("posts")).collect();
        rates.push(Rate::new("posts", "示范岗有党小组长联系", all_posts - total, all_posts));
        gaps.push(gap("posts_without_leader", "无党小组长联系的党员示范岗", total, items));
    }

    // 7. Old (≥ 70), frail and hardship members without a personal contact.
    {
        let cutoff = date.checked_sub_months(Months::new(12 * OLD_AGE)).unwrap_or(date);
        let mut a = Args::new();
        let u = org.under("m", &mut a);
        let cut = a.push(cutoff);
        let hb = a.push(HouseholdTag::Hardship.bit());
        let cond = format!(
            "{u} AND (r.birth_date <= {cut} OR m.category = 'hardship' OR (COALESCE(hh.tags, 0) & {hb}) <> 0 \
             OR EXISTS (SELECT 1 FROM exemptions ex WHERE ex.tenant_id = m.tenant_id AND ex.member_id = m.id AND ex.status <> 'rejected')) \
             AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.tenant_id = m.tenant_id AND c.level IN ('central_member', 'cadre_member') \
             AND c.to_id = m.id AND c.until IS NULL)"
        );
        let from = "members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             LEFT JOIN households hh ON hh.tenant_id = r.tenant_id AND hh.id = r.household_id \
             JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id";
        let total = db.int(&format!("SELECT COUNT(*) FROM {from} WHERE {cond}"), a.clone()).await?;
        let lim = a.push(GAP_LIMIT);
        let rows: Vec<(i64, String, NaiveDate, String, String, i64)> = db
            .all(
                &format!(
                    "SELECT m.id, r.name, r.birth_date, m.category, o.name, COALESCE(hh.tags, 0) FROM {from} WHERE {cond} \
                     ORDER BY r.birth_date, m.id LIMIT {lim}"
                ),
                a,
            )
            .await?;
        let items = rows
            .into_iter()
            .map(|(id, name, birth, cat, org_name, tags)| {
                let mut why = Vec::new();
                let age = date.years_since(birth).unwrap_or(0);
                if age >= OLD_AGE {
                    why.push(format!("{age}岁"));
                }
                if cat == "hardship" || HouseholdTags::from_bits(tags).has(HouseholdTag::Hardship) {
                    why.push("生活困难".into());
                }
                if why.is_empty() {
                    why.push("体弱/病休".into());
                }
                GapItem {
                    id,
                    href: format!("/members/{id}"),
                    name,
                    detail: format!("{org_name}（{}）", why.join("、")),
                }
            })
            .collect();
        gaps.push(gap("priority_uncontacted", "未落实联系的老、弱、困难党员（应优先联系）", total, items));
    }
    Ok(Report {
        org: org.clone(),
        date,
        households,
        households_covered,
        members,
        members_with_cadre,
        exempt_members,
        communities: communities.len() as i64,
        communities_with_leader,
        buildings,
        buildings_with_central,
        quota_source,
        quota_preset: preset,
        rates,
        gaps,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// (cadre, their organisation, active contacts at `level`, is a street
/// leadership member) of the cadres judged at a cadre level: those holding
/// the role (street cadres and leaders for branches, leaders for
/// communities) in the subtree (by organisation or station), and anyone
/// holding contacts of the level into it.
async fn quota_counts(
    db: &Db,
    org: &OrgRef,
    tree: &Tree,
    level: ContactLevel,
) -> Result<Vec<(i64, i64, i64, bool)>, StoreError> {
    use ContactLevel::*;
    let holders = match level {
        CadreBranch => "k.kind IN ('street_cadre', 'leadership')",
        LeaderCommunity => "k.kind = 'leadership'",
        CadreMember => return cadre_reach(db, org, tree).await,
        _ => return Ok(vec![]),
    };
    let mut a = Args::new();
    let l = a.push(level.code());
    let t = a.push(org.tenant_id);
    let inside = if org.parent_id.is_none() {
        "1 = 1".to_string()
    } else {
        let ko = org.under("k", &mut a);
        let cs = org.under("cs", &mut a);
        let c2 = org.under("c2", &mut a);
        format!(
            "({ko} OR k.id IN (SELECT cs.cadre_id FROM cadre_stations cs WHERE {cs}) \
             OR k.id IN (SELECT c2.from_id FROM contacts c2 WHERE {c2} AND c2.level = {l} AND c2.until IS NULL))"
        )
    };
    let rows: Vec<(i64, i64, i64, Code<CadreKind>)> = db
        .all(
            &format!(
                "SELECT k.id, k.org_id, COALESCE(cc.n, 0), k.kind FROM cadres k \
                 LEFT JOIN contact_counts cc ON cc.tenant_id = k.tenant_id AND cc.level = {l} AND cc.from_id = k.id \
                 WHERE k.tenant_id = {t} AND ({holders} OR cc.n > 0) AND {inside} ORDER BY k.id"
            ),
            a,
        )
        .await?;
    Ok(rows.into_iter().map(|(id, o, n, k)| (id, o, n, k.0 == CadreKind::Leadership)).collect())
}

/// Judge the members at a member level, one aggregate query per group of
/// organisations sharing a rule; only the first of those over or under are
/// fetched by name. Exempt members carry no quota (holding contacts anyway
/// is "over"). Answers (judged, within).
async fn judge_members(
    db: &Db,
    org: &OrgRef,
    level: ContactLevel,
    groups: &[(QuotaRule, Vec<i64>)],
    over: &mut Judgements,
    under: &mut Judgements,
) -> Result<(i64, i64), StoreError> {
    let t = org.tenant_id;
    let exempt = exempt_members_sql(&t.to_string());
    let who = match level.holder_role() {
        Some(role) => format!(" AND (m.party_role = '{}' OR cc.n > 0)", role.code()),
        None if level == ContactLevel::MemberHousehold => String::new(),
        None => " AND m.central_household = TRUE".into(),
    };
    let from = |a: &mut Args| {
        let l = a.push(level.code());
        let u = org.under("m", a);
        format!(
            "FROM members m LEFT JOIN contact_counts cc ON cc.tenant_id = m.tenant_id AND cc.level = {l} AND cc.from_id = m.id \
             WHERE {u}{who}"
        )
    };
    let (mut judged, mut within) = (0, 0);
    for (rule, orgs) in groups {
        let Some(r) = rule.get(level) else { continue };
        let in_orgs = if groups.len() == 1 { String::new() } else { format!(" AND {}", in_list("m.org_id", orgs)) };
        let (min, max) = (r.min, r.max);
        let mut a = Args::new();
        let base = format!("{}{in_orgs} AND m.id NOT IN ({exempt})", from(&mut a));
        let (n, o, u): (i64, i64, i64) = db
            .one(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN COALESCE(cc.n, 0) > {max} THEN 1 ELSE 0 END), 0), \
                     COALESCE(SUM(CASE WHEN COALESCE(cc.n, 0) < {min} THEN 1 ELSE 0 END), 0) {base}"
                ),
                a.clone(),
            )
            .await?;
        judged += n;
        within += n - o - u;
        for (is_over, total, out) in [(true, o, &mut *over), (false, u, &mut *under)] {
            out.total += total;
            let want = GAP_LIMIT - out.items.len() as i64;
            if total == 0 || want <= 0 {
                continue;
            }
            let cond =
                if is_over { format!("COALESCE(cc.n, 0) > {max}") } else { format!("COALESCE(cc.n, 0) < {min}") };
            let rows: Vec<(i64, i64)> = db
                .all(&format!("SELECT m.id, COALESCE(cc.n, 0) {base} AND {cond} ORDER BY m.id LIMIT {want}"), a.clone())
                .await?;
            out.items.extend(rows.into_iter().map(|(id, n)| Judged {
                level,
                leader: false,
                id,
                is_member: true,
                n,
                min,
                max,
            }));
        }
    }
    // Exempt members who still hold contacts of this level.
    let mut a = Args::new();
    let base = from(&mut a);
    let rows: Vec<(i64, i64)> =
        db.all(&format!("SELECT m.id, cc.n {base} AND cc.n > 0 AND m.id IN ({exempt}) ORDER BY m.id"), a).await?;
    for (id, n) in rows {
        over.push(Judged { level, leader: false, id, is_member: true, n, min: 0, max: 0 });
    }
    Ok((judged, within))
}

/// Grids whose households per 中心户 fall outside the `households_per_central`
/// range of their rule (no 中心户 at all counts too). Nothing is computed when
/// no rule in the subtree asks for it.
async fn central_ratio_gap(db: &Db, org: &OrgRef, groups: &[(QuotaRule, Vec<i64>)]) -> Result<Gap, StoreError> {
    let mut items = Vec::new();
    let mut total = 0;
    let t = org.tenant_id;
    for (rule, orgs) in groups {
        let Some(r) = rule.get_extra(ExtraQuota::HouseholdsPerCentral) else { continue };
        let gcond = in_list("g.org_id", orgs);
        let households: Vec<(i64, String, i64)> = db
            .all(
                &format!(
                    "SELECT g.id, g.name, (SELECT COUNT(*) FROM households h WHERE h.tenant_id = g.tenant_id AND h.grid_id = g.id) \
                     FROM grids g WHERE g.tenant_id = $1 AND {gcond} ORDER BY g.id"
                ),
                args![t],
            )
            .await?;
        let centrals: Vec<(i64, i64)> = db
            .all(
                &format!(
                    "SELECT h.grid_id, COUNT(*) FROM members m JOIN residents rr ON rr.tenant_id = m.tenant_id AND rr.id = m.resident_id \
                     JOIN households h ON h.tenant_id = rr.tenant_id AND h.id = rr.household_id \
                     JOIN grids g ON g.tenant_id = h.tenant_id AND g.id = h.grid_id \
                     WHERE m.tenant_id = $1 AND m.central_household = TRUE AND m.id NOT IN ({}) AND {gcond} GROUP BY h.grid_id",
                    exempt_members_sql("$1")
                ),
                args![t],
            )
            .await?;
        let centrals: HashMap<i64, i64> = centrals.into_iter().collect();
        for (grid, name, hh) in households {
            let c = centrals.get(&grid).copied().unwrap_or(0);
            let why = match central_ratio(hh, c, r) {
                CentralRatio::Within => continue,
                CentralRatio::NoCentral => "没有党员中心户".to_string(),
                CentralRatio::TooFew => format!("中心户偏少，至少需要 {} 个", (hh + r.max - 1) / r.max.max(1)),
                CentralRatio::TooMany => "每个中心户对应住户偏少".to_string(),
            };
            total += 1;
            if (items.len() as i64) < GAP_LIMIT {
                items.push(GapItem {
                    id: grid,
                    href: format!("/grids/{grid}"),
                    name,
                    detail: format!("{hh} 户 / {c} 个中心户，{why}（每个中心户 {}–{} 户）", r.min, r.max),
                });
            }
        }
    }
    Ok(gap("grids_central_ratio", "中心户与住户比例不在定额范围内的网格（村民小组）", total, items))
}

/// Members each cadre reaches (through their branches and directly), for the
/// cadres with such contacts in the subtree.
async fn cadre_reach(db: &Db, org: &OrgRef, tree: &Tree) -> Result<Vec<(i64, i64, i64, bool)>, StoreError> {
    let t = org.tenant_id;
    let mut a = Args::new();
    let u = org.under("c2", &mut a);
    let tt = a.push(t);
    // (cadre, cadre org, level, target, target's org for members)
    let rows: Vec<(i64, i64, String, i64, Option<i64>)> = db
        .all(
            &format!(
                "SELECT cc.id, cc.org_id, c.level, c.to_id, tm.org_id FROM contacts c \
                 JOIN cadres cc ON cc.tenant_id = c.tenant_id AND cc.id = c.from_id \
                 LEFT JOIN members tm ON c.to_kind = 'member' AND tm.tenant_id = c.tenant_id AND tm.id = c.to_id \
                 WHERE c.tenant_id = {tt} AND c.level IN ('cadre_branch', 'cadre_member') AND c.until IS NULL AND c.from_id IN \
                 (SELECT c2.from_id FROM contacts c2 WHERE {u} AND c2.level IN ('cadre_branch', 'cadre_member') AND c2.until IS NULL)"
            ),
            a,
        )
        .await?;
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let per_org: Vec<(i64, i64)> =
        db.all("SELECT org_id, COUNT(*) FROM members WHERE tenant_id = $1 GROUP BY org_id", args![t]).await?;
    let per_org: HashMap<i64, i64> = per_org.into_iter().collect();
    // (cadre, their org) → (branches contacted, members contacted directly with their org)
    type Reach = (HashSet<i64>, Vec<(i64, Option<i64>)>);
    let mut by_cadre: HashMap<(i64, i64), Reach> = HashMap::new();
    for (cadre, corg, level, to, torg) in rows {
        let e = by_cadre.entry((cadre, corg)).or_default();
        if level == "cadre_branch" {
            e.0.insert(to);
        } else {
            e.1.push((to, torg));
        }
    }
    let mut out = Vec::new();
    for ((cadre, corg), (branches, direct)) in by_cadre {
        let reached = reached_orgs(tree, &branches);
        let reached_set: HashSet<i64> = reached.iter().copied().collect();
        let through: i64 = reached.iter().map(|o| per_org.get(o).copied().unwrap_or(0)).sum();
        let extra = direct.iter().filter(|(_, o)| !o.is_some_and(|o| reached_set.contains(&o))).count() as i64;
        out.push((cadre, corg, through + extra, false));
    }
    Ok(out)
}

/// People judged out of range: how many, and the first [`GAP_LIMIT`] of them.
#[derive(Default)]
struct Judgements {
    total: i64,
    items: Vec<Judged>,
}

impl Judgements {
    fn push(&mut self, j: Judged) {
        self.total += 1;
        if (self.items.len() as i64) < GAP_LIMIT {
            self.items.push(j);
        }
    }
}

/// A person judged against a quota: level, id, member or cadre, contacts held, the quota.
struct Judged {
    level: ContactLevel,
    /// A street leadership member judged on branches (`leader_branch`).
    leader: bool,
    id: i64,
    is_member: bool,
    n: i64,
    min: i64,
    max: i64,
}

async fn quota_gap(db: &Db, tenant: i64, key: &str, label: &str, people: &Judgements) -> Result<Gap, StoreError> {
    let shown = &people.items[..];
    let member_ids: Vec<i64> = shown.iter().filter(|x| x.is_member).map(|x| x.id).collect();
    let cadre_ids: Vec<i64> = shown.iter().filter(|x| !x.is_member).map(|x| x.id).collect();
    let mut names: HashMap<(bool, i64), String> = HashMap::new();
    if !member_ids.is_empty() {
        let rows: Vec<(i64, String)> = db
            .all(
                &format!(
                    "SELECT m.id, r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                     WHERE m.tenant_id = $1 AND {}",
                    in_list("m.id", &member_ids)
                ),
                args![tenant],
            )
            .await?;
        names.extend(rows.into_iter().map(|(id, n)| ((true, id), n)));
    }
    if !cadre_ids.is_empty() {
        let rows: Vec<(i64, String)> = db
            .all(
                &format!(
                    "SELECT c.id, c.name FROM cadres c WHERE c.tenant_id = $1 AND {}",
                    in_list("c.id", &cadre_ids)
                ),
                args![tenant],
            )
            .await?;
        names.extend(rows.into_iter().map(|(id, n)| ((false, id), n)));
    }
    let items = shown
        .iter()
        .map(|j| {
            let (id, n) = (j.id, j.n);
            let quota = if j.max == 0 && j.min == 0 {
                "已免除联系任务".to_string()
            } else {
                format!("定额 {}–{}", j.min, j.max)
            };
            GapItem {
                id,
                href: if j.is_member { format!("/members/{id}") } else { format!("/cadres/{id}") },
                name: names.get(&(j.is_member, id)).cloned().unwrap_or_else(|| format!("#{id}")),
                detail: format!(
                    "{}：{n}（{quota}）",
                    if j.leader { ExtraQuota::LeaderBranch.label() } else { j.level.label() }
                ),
            }
        })
        .collect();
    Ok(gap(key, label, people.total, items))
}

/// Households and those with a member in one grid (for the grid page).
pub async fn grid_coverage(db: &Db, p: &Principal, grid_id: i64) -> Result<Rate, StoreError> {
    let mut a = args![grid_id];
    let c = p.scope(Capability::ReadRegistry).rows("h", &mut a);
    let total = db.int(&format!("SELECT COUNT(*) FROM households h WHERE h.grid_id = $1 AND {c}"), a.clone()).await?;
    let covered =
        db.int(&format!("SELECT COUNT(*) FROM households h WHERE h.grid_id = $1 AND {c} AND {MH_ACTIVE}"), a).await?;
    Ok(Rate::new("households", "住户有党员联系", covered, total))
}
