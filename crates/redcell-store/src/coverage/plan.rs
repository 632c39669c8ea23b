//! Proposed assignment plans: build an instance of the assignment problem from
//! the database (households of a subtree with their building's position,
//! eligible members with their quota, the contacts in force), solve it with
//! `redcell-plan`, and keep the proposal in the database as the households
//! whose member would change, so that any server process can show it. Applying
//! ends the old contacts and starts the new ones in one transaction, refused
//! when the contacts changed since the proposal was made.

use super::quotas::{effective_at, load_rules};
use super::{OrgRef, Tree, exempt_members_sql, in_list, insert_rows, metres, today};
use crate::audit;
use crate::db::{Arg, Args, Db, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, catalogue, local_time, opt, yes};
use crate::registry::{Page, Paged, paged};
use crate::scope::{Capability, Principal, Scope};
use crate::{Code, args};
use chrono::{DateTime, Utc};
use redcell_domain::coverage::{ContactLevel, QuotaPreset, Range};
use redcell_domain::export::{Column, ColumnKind};
use redcell_domain::{FieldError, i18n};
use redcell_plan::{Instance, Pair, Params, SolveOptions};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Proposal status codes.
pub const OPEN: &str = "open";
pub const APPLIED: &str = "applied";
pub const DISCARDED: &str = "discarded";

redcell_domain::code_enum!(
    /// Where a proposal stands.
    ProposalStatus {
        Open = "open": "待审核",
        Applied = "applied": "已应用",
        Discarded = "discarded": "已放弃",
    }
);

/// A member and where they live (or the first building of their organisation, `fb`).
#[derive(sqlx::FromRow)]
struct MemberPlace {
    id: i64,
    org_id: i64,
    building: Option<i64>,
    grid: Option<i64>,
    x: Option<f64>,
    y: Option<f64>,
    fb: Option<i64>,
}

/// An instance built from the database, with what is needed to read the plan back.
pub struct Built {
    pub instance: Instance,
    /// Household id → (x, y).
    households: HashMap<i64, (f64, f64)>,
    /// Eligible member id → (x, y).
    members: HashMap<i64, (f64, f64)>,
    /// Household id → member id of every contact in force (also those not in `current`).
    old: HashMap<i64, i64>,
    /// Total capacity of the eligible members.
    pub capacity: i64,
    /// Notes for the reviewer (members skipped and why).
    pub notes: Vec<String>,
}

fn hid(id: i64) -> String {
    format!("h{id}")
}
fn mid(id: i64) -> String {
    format!("m{id}")
}
fn num(s: &str) -> i64 {
    s.get(1..).and_then(|x| x.parse().ok()).unwrap_or(0)
}

/// Build the instance for `org`'s subtree as seen through `read` (the scope in
/// which members may be picked).
pub(crate) async fn build(db: &Db, org: &OrgRef, read: &Scope, move_penalty: i64) -> Result<Built, StoreError> {
    let t = org.tenant_id;
    let tree = Tree::load(db, t).await?;
    let rules = load_rules(db, t).await?;
    let mut notes = Vec::new();

    // Households of the subtree with their building's position.
    let mut a = Args::new();
    let u = org.under("h", &mut a);
    let hrows: Vec<(i64, i64, i64, f64, f64)> = db
        .all(
            &format!(
                "SELECT h.id, h.grid_id, h.building_id, b.x, b.y FROM households h \
                 JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id WHERE {u} ORDER BY h.grid_id, h.id"
            ),
            a,
        )
        .await?;
    let grids: HashSet<i64> = hrows.iter().map(|r| r.1).collect();

    // Eligible members: not exempt, visible to the caller, registered with or living in the subtree.
    let mut a = Args::new();
    let um = org.under("m", &mut a);
    let uh = org.under("h", &mut a);
    let vis = read.rows("m", &mut a);
    let tt = a.push(t);
    let mrows: Vec<MemberPlace> = db
        .all(
            &format!(
                "SELECT m.id, m.org_id, h.building_id AS building, h.grid_id AS grid, hb.x, hb.y, \
                 (SELECT MIN(b2.id) FROM buildings b2 WHERE b2.tenant_id = m.tenant_id AND b2.org_id = m.org_id) AS fb \
                 FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 LEFT JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
                 LEFT JOIN buildings hb ON hb.tenant_id = h.tenant_id AND hb.id = h.building_id \
                 WHERE m.tenant_id = {tt} AND ({um} OR (h.id IS NOT NULL AND {uh})) AND {vis} \
                 AND m.id NOT IN ({}) ORDER BY m.id",
                exempt_members_sql(&tt)
            ),
            a,
        )
        .await?;
    let fallback_ids: Vec<i64> = mrows
        .iter()
        .filter(|r| r.building.is_none())
        .filter_map(|r| r.fb)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let fallback: HashMap<i64, (i64, f64, f64)> = if fallback_ids.is_empty() {
        HashMap::new()
    } else {
        let rows: Vec<(i64, i64, f64, f64)> = db
            .all(
                &format!(
                    "SELECT b.id, b.grid_id, b.x, b.y FROM buildings b WHERE b.tenant_id = $1 AND {}",
                    in_list("b.id", &fallback_ids)
                ),
                args![t],
            )
            .await?;
        rows.into_iter().map(|(id, g, x, y)| (id, (g, x, y))).collect()
    };

    // Households each member already looks after outside the subtree use up their capacity.
    let mut a = Args::new();
    let tt = a.push(t);
    let uh = org.under("h", &mut a);
    let outside: Vec<(i64, i64)> = db
        .all(
            &format!(
                "SELECT c.from_id, COUNT(*) FROM contacts c JOIN households h ON h.tenant_id = c.tenant_id AND h.id = c.to_id \
                 WHERE c.tenant_id = {tt} AND c.level = 'member_household' AND c.until IS NULL AND NOT {uh} GROUP BY c.from_id"
            ),
            a,
        )
        .await?;
    let outside: HashMap<i64, i64> = outside.into_iter().collect();

    let mut members = Vec::new();
    let mut mpos = HashMap::new();
    let mut mgrid = HashMap::new();
    let (mut skipped, mut elsewhere) = (0, 0);
    let mut capacity = 0i64;
    let mut cache: HashMap<i64, Range> = HashMap::new();
    for MemberPlace { id, org_id: morg, building, grid, x, y, fb } in mrows {
        let place = match (building, grid, x, y) {
            (Some(b), Some(g), Some(x), Some(y)) => Some((b, g, x, y)),
            _ => fb.and_then(|b| fallback.get(&b).map(|(g, x, y)| (b, *g, *x, *y))),
        };
        let Some((b, g, x, y)) = place else {
            skipped += 1;
            continue;
        };
        if !grids.contains(&g) {
            elsewhere += 1;
            continue;
        }
        let range = *cache.entry(morg).or_insert_with(|| {
            let path = tree.get(morg).map(|o| o.path.clone()).unwrap_or_else(|| org.path.clone());
            effective_at(&path, &rules)
                .1
                .get(ContactLevel::MemberHousehold)
                .or_else(|| QuotaPreset::Urban.rule().get(ContactLevel::MemberHousehold))
                .unwrap_or(Range { min: 0, max: 10 })
        });
        let max = (range.max - outside.get(&id).copied().unwrap_or(0)).max(0);
        capacity += max;
        members.push(redcell_plan::Member {
            id: mid(id),
            x,
            y,
            grid: format!("g{g}"),
            building: format!("b{b}"),
            max,
            min: range.min.min(max),
        });
        mpos.insert(id, (x, y));
        mgrid.insert(id, g);
    }
    if skipped > 0 {
        notes.push(format!("{skipped} 名党员未登记住址且所在组织无楼栋，无法定位，未参与分配"));
    }
    if elsewhere > 0 {
        notes.push(format!("{elsewhere} 名党员居住在本组织网格以外，不跨网格分配"));
    }

    // Contacts in force.
    let mut a = Args::new();
    let uh = org.under("h", &mut a);
    let cur: Vec<(i64, i64)> = db
        .all(
            &format!(
                "SELECT c.to_id, c.from_id FROM contacts c JOIN households h ON h.tenant_id = c.tenant_id AND h.id = c.to_id \
                 WHERE {uh} AND c.level = 'member_household' AND c.until IS NULL"
            ),
            a,
        )
        .await?;
    let old: HashMap<i64, i64> = cur.into_iter().collect();
    let mut households = Vec::with_capacity(hrows.len());
    let mut hpos = HashMap::with_capacity(hrows.len());
    let mut current = Vec::new();
    let mut moved_out = 0;
    for (id, g, b, x, y) in &hrows {
        households.push(redcell_plan::Household {
            id: hid(*id),
            x: *x,
            y: *y,
            grid: format!("g{g}"),
            building: format!("b{b}"),
        });
        hpos.insert(*id, (*x, *y));
        if let Some(m) = old.get(id) {
            if mgrid.get(m) == Some(g) {
                current.push(Pair { household: hid(*id), member: mid(*m) });
            } else {
                moved_out += 1;
            }
        }
    }
    if moved_out > 0 {
        notes.push(format!("{moved_out} 户的现联系党员已免除、不在本网格或不可见，将重新分配"));
    }
    let instance = Instance {
        version: redcell_plan::FORMAT_VERSION,
        households,
        members,
        current,
        params: Params { cross_grid: false, move_penalty },
    };
    Ok(Built { instance, households: hpos, members: mpos, old, capacity, notes })
}

/// The instance of an organisation named by code, for the command line (the
/// operator sees the whole tenant).
pub async fn export_instance(
    db: &Db,
    org_code: &str,
    move_penalty: i64,
) -> Result<(Instance, Vec<String>), StoreError> {
    let found: Vec<(i64, i64)> = db.all("SELECT id, tenant_id FROM orgs WHERE code = $1", args![org_code]).await?;
    let (id, tenant) = match found.as_slice() {
        [] => return Err(FieldError::new("org", "not_found", format!("{}：{org_code}", i18n::NOT_FOUND)).into()),
        [one] => *one,
        _ => return Err(FieldError::new("org", "ambiguous", format!("组织编码 {org_code} 在多个单位中使用")).into()),
    };
    let scope = Scope::whole_tenant(tenant);
    let org = OrgRef::in_scope(&mut db.conn(), &scope, id).await?;
    let b = build(db, &org, &scope, move_penalty).await?;
    Ok((b.instance, b.notes))
}

/// A fingerprint of the member→household contacts of a subtree: it changes
/// whenever one starts (a new id) or ends (one more ended row).
async fn fingerprint(tx: &mut Tx, org: &OrgRef) -> Result<String, StoreError> {
    let mut a = Args::new();
    let u = org.under("c", &mut a);
    let (n, max, ended): (i64, i64, i64) = tx
        .one(
            &format!(
                "SELECT COUNT(*), COALESCE(MAX(c.id), 0), COUNT(c.until) FROM contacts c WHERE {u} AND c.level = 'member_household'"
            ),
            a,
        )
        .await?;
    Ok(format!("{n}:{max}:{ended}"))
}

/// Grids whose members cannot take all their households: how many are left
/// and about how many more members the grid needs (in Chinese, for the reviewer).
async fn shortfalls(
    db: &Db,
    tenant: i64,
    inst: &Instance,
    plan: &redcell_plan::Plan,
) -> Result<Vec<String>, StoreError> {
    use std::collections::BTreeMap;
    let grid_of: HashMap<&str, &str> = inst.households.iter().map(|h| (h.id.as_str(), h.grid.as_str())).collect();
    let mut left: BTreeMap<i64, i64> = BTreeMap::new();
    for h in &plan.unassigned {
        if let Some(g) = grid_of.get(h.as_str()) {
            *left.entry(num(g)).or_default() += 1;
        }
    }
    if left.is_empty() {
        return Ok(vec![]);
    }
    // (households, members, capacity, largest single capacity) per grid.
    let mut per: HashMap<i64, (i64, i64, i64, i64)> = HashMap::new();
    for h in &inst.households {
        per.entry(num(&h.grid)).or_default().0 += 1;
    }
    for m in &inst.members {
        let e = per.entry(num(&m.grid)).or_default();
        e.1 += 1;
        e.2 += m.max;
        e.3 = e.3.max(m.max);
    }
    let ids: Vec<i64> = left.keys().copied().collect();
    let names: HashMap<i64, String> = db
        .all::<(i64, String)>(
            &format!("SELECT g.id, g.name FROM grids g WHERE g.tenant_id = $1 AND {}", in_list("g.id", &ids)),
            args![tenant],
        )
        .await?
        .into_iter()
        .collect();
    let total: i64 = left.values().sum();
    let mut out = vec![format!("容量不足：{} 个网格共 {total} 户暂无党员可联系", left.len())];
    for (g, k) in left {
        let (hh, m, cap, big) = per.get(&g).copied().unwrap_or_default();
        let need = if big > 0 { (k + big - 1) / big } else { k.min(1) };
        out.push(format!(
            "网格「{}」{hh} 户，可分配党员 {m} 名最多联系 {cap} 户，{k} 户无人联系，约需再增加 {need} 名党员",
            names.get(&g).cloned().unwrap_or_else(|| format!("#{g}"))
        ));
    }
    Ok(out)
}

/// A proposal and its totals.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Proposal {
    pub id: i64,
    pub tenant_id: i64,
    pub org_id: i64,
    pub org_name: String,
    #[schema(value_type = String)]
    pub status: Code<ProposalStatus>,
    pub move_penalty: i64,
    pub cross_grid: bool,
    pub households: i64,
    pub members: i64,
    pub capacity: i64,
    pub covered_before: i64,
    pub covered_after: i64,
    /// The largest coverage any plan can reach with these members.
    pub max_coverage: i64,
    pub cost: i64,
    pub lower_bound: i64,
    pub moves: i64,
    /// Households that get a (new) member.
    pub gains: i64,
    /// Households that lose their member.
    pub losses: i64,
    pub seconds: f64,
    pub notes: Option<String>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
}

impl Proposal {
    pub fn is_open(&self) -> bool {
        self.status.0 == ProposalStatus::Open
    }
    pub fn pct(n: i64, d: i64) -> String {
        if d <= 0 { "—".into() } else { format!("{:.1}%", n as f64 * 100.0 / d as f64) }
    }
    pub fn before_pct(&self) -> String {
        Self::pct(self.covered_before, self.households)
    }
    pub fn after_pct(&self) -> String {
        Self::pct(self.covered_after, self.households)
    }
    pub fn optimal(&self) -> bool {
        self.cost == self.lower_bound
    }
    pub fn note_lines(&self) -> Vec<&str> {
        self.notes.as_deref().map(|n| n.lines().filter(|l| !l.trim().is_empty()).collect()).unwrap_or_default()
    }
    pub fn created_local(&self) -> String {
        (self.created_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
    }
}

pub(crate) const SELECT: &str = "SELECT pp.id, pp.tenant_id, pp.org_id, o.name AS org_name, pp.status, pp.move_penalty, pp.cross_grid, pp.households, \
    pp.members, pp.capacity, pp.covered_before, pp.covered_after, pp.max_coverage, pp.cost, pp.lower_bound, pp.moves, pp.gains, pp.losses, \
    pp.seconds, pp.notes, cu.display_name AS created_by_name, pp.created_at, du.display_name AS decided_by_name, pp.decided_at, pp.decision_reason";
const FROM: &str = "plan_proposals pp JOIN orgs o ON o.tenant_id = pp.tenant_id AND o.id = pp.org_id \
    LEFT JOIN users cu ON cu.id = pp.created_by LEFT JOIN users du ON du.id = pp.decided_by";

/// Propose a plan for an organisation the caller may edit: solve, store, audit.
pub async fn propose(db: &Db, p: &Principal, org_id: i64, move_penalty: i64) -> Result<Proposal, StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::EditRegistry).await?;
    let built = build(db, &org, &p.scope(Capability::ReadRegistry), move_penalty).await?;
    if built.instance.households.is_empty() {
        return Err(FieldError::new("org_id", "empty", i18n::PLAN_NO_HOUSEHOLDS).into());
    }
    // Solve off the async workers: a city-size instance takes a second or so.
    let inst = built.instance;
    let (inst, sol) = tokio::task::spawn_blocking(move || {
        let sol = redcell_plan::solve_with(&inst, &SolveOptions::default(), None);
        (inst, sol)
    })
    .await
    .map_err(|e| StoreError::Internal(format!("solver task: {e}")))?;
    let sol = sol.map_err(|e| StoreError::Internal(format!("solver: {e}")))?;
    let plan = &sol.plan;
    let mut notes = built.notes.clone();
    notes.extend(shortfalls(db, org.tenant_id, &inst, plan).await?);

    // The households whose member changes.
    let new: HashMap<i64, i64> = plan.assignments.iter().map(|a| (num(&a.household), num(&a.member))).collect();
    let mut rows: Vec<Vec<Arg>> = Vec::new();
    let (mut gains, mut losses) = (0i64, 0i64);
    for h in &inst.households {
        let h = num(&h.id);
        let (o, n) = (built.old.get(&h).copied(), new.get(&h).copied());
        if o == n {
            continue;
        }
        let (hx, hy) = built.households.get(&h).copied().unwrap_or_default();
        let dist = |m: Option<i64>| m.and_then(|m| built.members.get(&m)).map(|(x, y)| metres(hx, hy, *x, *y));
        gains += i64::from(n.is_some());
        losses += i64::from(o.is_some());
        rows.push(vec![
            org.tenant_id.into(),
            Arg::I64(0),
            h.into(),
            o.into(),
            n.into(),
            dist(o).into(),
            dist(n).into(),
        ]);
    }
    let covered_before = built.old.len() as i64;
    let mut tx = db.begin().await?;
    let fp = fingerprint(&mut tx, &org).await?;
    let id = tx
        .int(
            "INSERT INTO plan_proposals (tenant_id, org_id, status, move_penalty, cross_grid, households, members, capacity, covered_before, \
             covered_after, max_coverage, cost, lower_bound, moves, gains, losses, seconds, notes, fingerprint, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id",
            args![
                org.tenant_id,
                org.id,
                OPEN,
                move_penalty,
                inst.params.cross_grid,
                inst.households.len() as i64,
                inst.members.len() as i64,
                built.capacity,
                covered_before,
                plan.assignments.len() as i64,
                sol.stats.max_coverage as i64,
                plan.cost,
                plan.lower_bound,
                plan.moves as i64,
                gains,
                losses,
                plan.seconds,
                (!notes.is_empty()).then(|| notes.join("\n")),
                fp,
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    for r in rows.iter_mut() {
        r[1] = Arg::I64(id);
    }
    insert_rows(
        &mut tx,
        "INSERT INTO plan_proposal_rows (tenant_id, proposal_id, household_id, old_member_id, new_member_id, old_distance, new_distance)",
        &rows,
        500,
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "plan_proposal",
        "plan_proposals",
        org.tenant_id,
        id,
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Proposal, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("pp", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE pp.id = $1 AND {c}"), a).await
}

/// Proposals made for an organisation's subtree, newest first.
pub async fn list(db: &Db, p: &Principal, org_id: i64, page: Page) -> Result<Paged<Proposal>, StoreError> {
    let (from_where, a) = filtered(db, p, org_id).await?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// Which proposals a list shows.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanFilter {
    /// Proposals of this organisation's subtree (default: the caller's highest organisation).
    pub org_id: Option<i64>,
}

/// The order of the list: newest first.
pub(crate) const ORDER: &str = "pp.id DESC";

/// The `FROM ... WHERE ...` of the list (the organisation's subtree, which the
/// caller must read whole) and its arguments: the list and its export share it.
pub(crate) async fn filtered(db: &Db, p: &Principal, org_id: i64) -> Result<(String, Args), StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::ReadRegistry).await?;
    let mut a = Args::new();
    let u = org.under("pp", &mut a);
    Ok((format!("{FROM} WHERE {u}"), a))
}

/// One household whose member would change.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Change {
    pub household_id: i64,
    pub household: String,
    pub grid_name: String,
    pub old_member_id: Option<i64>,
    pub old_member: Option<String>,
    pub new_member_id: Option<i64>,
    pub new_member: Option<String>,
    /// Metres from the household to the member.
    pub old_distance: Option<i64>,
    pub new_distance: Option<i64>,
}

/// The changes of a proposal, by grid and household.
pub async fn changes(db: &Db, p: &Principal, id: i64, page: Page) -> Result<Paged<Change>, StoreError> {
    let pr = get(db, p, id).await?;
    paged(
        db,
        &format!(
            "SELECT r.household_id, COALESCE({}, '') AS household, \
             COALESCE(g.name, '') AS grid_name, r.old_member_id, orr.name AS old_member, r.new_member_id, nr.name AS new_member, \
             r.old_distance, r.new_distance",
            crate::registry::households::place_sql("h", "b")
        ),
        "plan_proposal_rows r LEFT JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
         LEFT JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
         LEFT JOIN grids g ON g.tenant_id = h.tenant_id AND g.id = h.grid_id \
         LEFT JOIN members om ON om.tenant_id = r.tenant_id AND om.id = r.old_member_id \
         LEFT JOIN residents orr ON orr.tenant_id = om.tenant_id AND orr.id = om.resident_id \
         LEFT JOIN members nm ON nm.tenant_id = r.tenant_id AND nm.id = r.new_member_id \
         LEFT JOIN residents nr ON nr.tenant_id = nm.tenant_id AND nr.id = nm.resident_id \
         WHERE r.tenant_id = $1 AND r.proposal_id = $2",
        "h.grid_id, r.household_id",
        args![pr.tenant_id, id],
        page,
    )
    .await
}

/// Who gains and who loses households in a proposal.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MemberDelta {
    pub member_id: i64,
    pub name: String,
    pub gains: i64,
    pub losses: i64,
}

pub async fn member_deltas(db: &Db, p: &Principal, id: i64, page: Page) -> Result<Paged<MemberDelta>, StoreError> {
    let pr = get(db, p, id).await?;
    paged(
        db,
        "SELECT x.member_id, x.name, x.gains, x.losses",
        "(SELECT d.mid AS member_id, COALESCE(r.name, '') AS name, CAST(SUM(d.g) AS BIGINT) AS gains, CAST(SUM(d.l) AS BIGINT) AS losses \
         FROM (SELECT new_member_id AS mid, 1 AS g, 0 AS l FROM plan_proposal_rows WHERE tenant_id = $1 AND proposal_id = $2 AND new_member_id IS NOT NULL \
          UNION ALL SELECT old_member_id, 0, 1 FROM plan_proposal_rows WHERE tenant_id = $1 AND proposal_id = $2 AND old_member_id IS NOT NULL) d \
         LEFT JOIN members m ON m.tenant_id = $1 AND m.id = d.mid \
         LEFT JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
         GROUP BY d.mid, r.name) x",
        "x.gains + x.losses DESC, x.member_id",
        args![pr.tenant_id, id],
        page,
    )
    .await
}

/// The proposal `id` for a caller who may edit its organisation, still open.
async fn open_for_edit(db: &Db, p: &Principal, id: i64) -> Result<(Proposal, OrgRef), StoreError> {
    let pr = get(db, p, id).await?;
    let org = OrgRef::for_cap(&mut db.conn(), p, pr.org_id, Capability::EditRegistry).await?;
    if !pr.is_open() {
        return Err(FieldError::new("status", "closed", i18n::PLAN_CLOSED).into());
    }
    Ok((pr, org))
}

/// Apply a proposal: end the old contacts and start the new ones (dated today,
/// with the caller and the reason), all in one transaction; audited. Refused
/// when the contacts of the subtree changed since the proposal was made, or a
/// household or member of it is gone or exempt.
pub async fn apply(db: &Db, p: &Principal, id: i64, reason: &str) -> Result<Proposal, StoreError> {
    let reason = redcell_domain::Text::required("reason", reason, 200)?.into_string();
    let (pr, org) = open_for_edit(db, p, id).await?;
    let t = pr.tenant_id;
    let mut tx = db.begin().await?;
    let before = audit::snapshot(&mut tx, "plan_proposals", t, id).await?;
    let (stored,): (String,) =
        tx.one("SELECT fingerprint FROM plan_proposals WHERE tenant_id = $1 AND id = $2", args![t, id]).await?;
    if fingerprint(&mut tx, &org).await? != stored {
        return Err(FieldError::new("proposal", "stale", i18n::PLAN_STALE).into());
    }
    let broken = tx
        .int(
            &format!(
                "SELECT COUNT(*) FROM plan_proposal_rows r WHERE r.tenant_id = $1 AND r.proposal_id = $2 AND ( \
                 NOT EXISTS (SELECT 1 FROM households h WHERE h.tenant_id = r.tenant_id AND h.id = r.household_id) \
                 OR (r.new_member_id IS NOT NULL AND (NOT EXISTS (SELECT 1 FROM members m WHERE m.tenant_id = r.tenant_id AND m.id = r.new_member_id) \
                     OR r.new_member_id IN ({}))))",
                exempt_members_sql("$1")
            ),
            args![t, id],
        )
        .await?;
    if broken > 0 {
        return Err(FieldError::new("proposal", "stale", i18n::PLAN_REGISTRY_CHANGED).into());
    }
    // Every new member must be one the caller can see.
    let mut a = args![t, id];
    let vis = p.scope(Capability::ReadRegistry).rows("m", &mut a);
    let hidden = tx
        .int(
            &format!(
                "SELECT COUNT(*) FROM plan_proposal_rows r WHERE r.tenant_id = $1 AND r.proposal_id = $2 AND r.new_member_id IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id = r.new_member_id AND {vis})"
            ),
            a,
        )
        .await?;
    if hidden > 0 {
        return Err(StoreError::Denied(FieldError::new("proposal", "scope", i18n::OUT_OF_SCOPE)));
    }
    let now = Utc::now();
    let day = today();
    let claimed = tx
        .exec(
            "UPDATE plan_proposals SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4 \
             WHERE tenant_id = $5 AND id = $6 AND status = $7",
            args![APPLIED, p.user_id, now, reason.clone(), t, id, OPEN],
        )
        .await?;
    if claimed != 1 {
        return Err(FieldError::new("status", "closed", i18n::PLAN_CLOSED).into());
    }
    let ended = tx
        .exec(
            "UPDATE contacts SET until = $1, ended_by = $2, ended_at = $3, end_reason = $4 \
             WHERE tenant_id = $5 AND level = 'member_household' AND until IS NULL AND to_id IN \
             (SELECT household_id FROM plan_proposal_rows WHERE tenant_id = $5 AND proposal_id = $6 AND old_member_id IS NOT NULL)",
            args![day, p.user_id, now, format!("按联系方案 #{id} 调整：{reason}"), t, id],
        )
        .await?;
    let started = tx
        .exec(
            "INSERT INTO contacts (tenant_id, level, from_kind, from_id, to_kind, to_id, org_id, since, reason, created_by, created_at, proposal_id) \
             SELECT r.tenant_id, 'member_household', 'member', r.new_member_id, 'household', r.household_id, h.org_id, $1, $2, $3, $4, r.proposal_id \
             FROM plan_proposal_rows r JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
             WHERE r.tenant_id = $5 AND r.proposal_id = $6 AND r.new_member_id IS NOT NULL",
            args![day, format!("按联系方案 #{id}：{reason}"), p.user_id, now, t, id],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "plan_proposal",
        "plan_proposals",
        t,
        id,
        before,
    )
    .await?;
    audit::record(
        &mut tx,
        t,
        Some(p.user_id),
        "apply_plan",
        "plan_proposal",
        Some(id),
        &format!("{}：结束联系 {ended} 条，建立联系 {started} 条；理由：{reason}", org.name),
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// Discard a proposal (nothing changes but its status); audited.
pub async fn discard(db: &Db, p: &Principal, id: i64, reason: &str) -> Result<Proposal, StoreError> {
    let reason = redcell_domain::Text::parse("reason", reason, 200)?.into_option();
    let (pr, _org) = open_for_edit(db, p, id).await?;
    let t = pr.tenant_id;
    let mut tx = db.begin().await?;
    let before = audit::snapshot(&mut tx, "plan_proposals", t, id).await?;
    let n = tx
        .exec(
            "UPDATE plan_proposals SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4 \
             WHERE tenant_id = $5 AND id = $6 AND status = $7",
            args![DISCARDED, p.user_id, Utc::now(), reason, t, id, OPEN],
        )
        .await?;
    if n != 1 {
        return Err(FieldError::new("status", "closed", i18n::PLAN_CLOSED).into());
    }
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "plan_proposal",
        "plan_proposals",
        t,
        id,
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// The proposed plans as a file (导出).
pub struct PlanList;

impl Exportable for PlanList {
    const CODE: &'static str = "plans";
    const LABEL: &'static str = "联系方案";
    const TAG: &'static str = "coverage";
    type Filter = PlanFilter;
    type Row = Proposal;
    fn columns(m: Mask) -> Vec<Column> {
        use ColumnKind::{Number, Text};
        catalogue(
            i18n::EXPORT_PLANS,
            [
                Number, Text, Text, Number, Text, Number, Number, Number, Number, Number, Number, Text, Text, Number,
                Number, Number, Number, Number, Text, Text, Text, Text, Text,
            ],
            m,
        )
    }
    async fn query(db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        let org = super::org_or_home(q, f.org_id)?;
        Ok(crate::export::sql(filtered(db, q, org).await?, SELECT, ORDER))
    }
    fn cells(x: &Proposal, _m: Mask) -> Vec<String> {
        vec![
            x.id.to_string(),
            x.org_name.clone(),
            x.status.to_string(),
            x.move_penalty.to_string(),
            yes(x.cross_grid),
            x.households.to_string(),
            x.members.to_string(),
            x.capacity.to_string(),
            x.max_coverage.to_string(),
            x.covered_before.to_string(),
            x.covered_after.to_string(),
            x.before_pct(),
            x.after_pct(),
            x.gains.to_string(),
            x.losses.to_string(),
            x.moves.to_string(),
            x.cost.to_string(),
            x.lower_bound.to_string(),
            opt(&x.created_by_name),
            local_time(x.created_at),
            opt(&x.decided_by_name),
            x.decided_at.map(local_time).unwrap_or_default(),
            opt(&x.decision_reason),
        ]
    }
}
