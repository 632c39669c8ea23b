//! Export of any list (导出): the same filters as the list, every matching row
//! (streamed from one query, never collected), masked as the list shows it,
//! only inside the caller's `Export` scope, and recorded in the audit trail.
//!
//! The rows are handed to a sink as text cells with [`columns`] describing
//! them; writing the file (xlsx or CSV) is the caller's part (`redcell-docs`).
//!
//! Who may export what:
//! - registry lists, people search and contact rosters: roles with
//!   `Capability::Export`, over the subtrees where they hold it (a grant that
//!   only reads, e.g. a cadre's, does not widen what is exported);
//! - the account list: `Export` together with `ManageUsers` on the same grant;
//! - the audit trail: its readers (auditors of the whole tenant), who have no
//!   other export right; the system administrator cannot read it;
//! - the request register, exemptions, contact plans and demonstration
//!   posts: like the registry lists, `Export` over the subtrees where it is
//!   held, with the same scope rule as the list (a list of one organisation's
//!   subtree needs the right over that whole subtree).

use crate::accounts::{self, Account};
use crate::audit::{self, Actor, AuditFilter, Entry};
use crate::coverage::contacts::{self, Contact, RosterFilter};
use crate::coverage::exemptions::{self, Exemption, ExemptionFilter};
use crate::coverage::plan::{self, PlanFilter, Proposal};
use crate::coverage::posts::{self, Post, PostFilter};
use crate::db::{Args, Db, NoPace, Pace};
use crate::error::StoreError;
use crate::registry::buildings::{self, Building, BuildingFilter};
use crate::registry::cadres::{self, Cadre, CadreFilter};
use crate::registry::grids::{self, Grid, GridFilter};
use crate::registry::households::{self, Household, HouseholdFilter};
use crate::registry::members::{self, Member, MemberFilter};
use crate::registry::orgs::{self, Org, OrgFilter};
use crate::registry::residents::{self, Resident, ResidentFilter};
use crate::registry::search;
use crate::registry::units::{self, Unit, UnitFilter};
use crate::requests::{self, Request};
use crate::scope::{Capability, Principal};
use crate::{IdNo, PhoneNo};
use redcell_domain::export::{Column, ColumnKind, ExportFormat, ExportKind};
use redcell_domain::i18n;

/// A list to export with its filters (the same structs the list takes).
#[derive(Debug, Clone)]
pub enum ExportFilter {
    Orgs(OrgFilter),
    Grids(GridFilter),
    Buildings(BuildingFilter),
    Households(HouseholdFilter),
    Residents(ResidentFilter),
    Members(MemberFilter),
    Cadres(CadreFilter),
    Units(UnitFilter),
    /// People found by a name, phone or ID number.
    Search(String),
    /// Accounts whose username or name contains the text.
    Users(Option<String>),
    Audit(AuditFilter),
    Contacts(RosterFilter),
    Requests(requests::Filter),
    Exemptions(ExemptionFilter),
    Plans(PlanFilter),
    Posts(PostFilter),
}

impl ExportFilter {
    pub fn kind(&self) -> ExportKind {
        match self {
            ExportFilter::Orgs(_) => ExportKind::Orgs,
            ExportFilter::Grids(_) => ExportKind::Grids,
            ExportFilter::Buildings(_) => ExportKind::Buildings,
            ExportFilter::Households(_) => ExportKind::Households,
            ExportFilter::Residents(_) => ExportKind::Residents,
            ExportFilter::Members(_) => ExportKind::Members,
            ExportFilter::Cadres(_) => ExportKind::Cadres,
            ExportFilter::Units(_) => ExportKind::Units,
            ExportFilter::Search(_) => ExportKind::Search,
            ExportFilter::Users(_) => ExportKind::Users,
            ExportFilter::Audit(_) => ExportKind::Audit,
            ExportFilter::Contacts(_) => ExportKind::Contacts,
            ExportFilter::Requests(_) => ExportKind::Requests,
            ExportFilter::Exemptions(_) => ExportKind::Exemptions,
            ExportFilter::Plans(_) => ExportKind::Plans,
            ExportFilter::Posts(_) => ExportKind::Posts,
        }
    }
}

/// Personal data in the file: masked (every page and API export), or in the
/// clear (only the command line, on the operator's explicit request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    Masked,
    Clear,
}

fn id_no(x: &IdNo, m: Mask) -> String {
    match m {
        Mask::Masked => x.masked(),
        Mask::Clear => x.reveal().to_string(),
    }
}

fn phone(x: &Option<PhoneNo>, m: Mask) -> String {
    match (x, m) {
        (None, _) => String::new(),
        (Some(p), Mask::Masked) => p.masked(),
        (Some(p), Mask::Clear) => p.reveal().to_string(),
    }
}

/// A phone kept as text (a request's contact): masked as the list shows it.
fn phone_text(x: &Option<String>, m: Mask) -> String {
    match (x, m) {
        (None, _) => String::new(),
        (Some(p), Mask::Masked) => redcell_domain::phone::mask_phone(p),
        (Some(p), Mask::Clear) => p.clone(),
    }
}

fn opt<T: ToString>(x: &Option<T>) -> String {
    x.as_ref().map(T::to_string).unwrap_or_default()
}

fn yes(b: bool) -> String {
    if b { i18n::EXPORT_YES } else { i18n::EXPORT_NO }.to_string()
}

fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The header of a personal column: marked when the file masks it.
fn personal(header: &str, m: Mask) -> String {
    match m {
        Mask::Masked => format!("{header}{}", i18n::EXPORT_MASKED_SUFFIX),
        Mask::Clear => header.to_string(),
    }
}

/// Columns from the catalogue's headers and their kinds; identifier columns
/// holding personal data get the masked header.
fn catalogue<const N: usize>(headers: [&str; N], kinds: [ColumnKind; N], m: Mask) -> Vec<Column> {
    headers
        .iter()
        .zip(kinds)
        .map(|(h, k)| {
            let h =
                if [i18n::EXPORT_ID_NUMBER, i18n::EXPORT_PHONE].contains(h) { personal(h, m) } else { h.to_string() };
            Column::new(h, k)
        })
        .collect()
}

/// The columns of an export of `kind`.
pub fn columns(kind: ExportKind, m: Mask) -> Vec<Column> {
    use ColumnKind::{Date, Identifier as Ident, Number, Text};
    let (idh, phh) = (personal(i18n::EXPORT_ID_NUMBER, m), personal(i18n::EXPORT_PHONE, m));
    let (idh, phh) = (idh.as_str(), phh.as_str());
    let person = || {
        vec![
            Column::text("姓名"),
            Column::text("性别"),
            Column::date("出生日期"),
            Column::ident(idh),
            Column::ident(phh),
            Column::text("住户"),
            Column::text("党员"),
            Column::text("备注"),
        ]
    };
    match kind {
        ExportKind::Orgs => vec![
            Column::ident("编码"),
            Column::text("名称"),
            Column::text("类型"),
            Column::text("上级组织"),
            Column::text("书记"),
            Column::ident(phh),
        ],
        ExportKind::Grids => {
            vec![Column::ident("编码"), Column::text("名称"), Column::text("所属组织"), Column::text("说明")]
        }
        ExportKind::Buildings => vec![
            Column::text("楼栋"),
            Column::text("地址"),
            Column::text("网格"),
            Column::number("单元数"),
            Column::number("层数"),
            Column::number("住户数"),
        ],
        ExportKind::Households => vec![
            Column::text("楼栋"),
            Column::number("单元"),
            Column::ident("房号"),
            Column::text("地址"),
            Column::text("标签"),
            Column::number("人数"),
            Column::text("备注"),
        ],
        ExportKind::Residents | ExportKind::Search => person(),
        ExportKind::Members => vec![
            Column::text("姓名"),
            Column::text("所在组织"),
            Column::text("类别"),
            Column::text("状态"),
            Column::date("入党日期"),
            Column::date("出生日期"),
            Column::ident(idh),
            Column::ident(phh),
            Column::text("党员中心户"),
            Column::text("工作单位"),
            Column::text("特长"),
            Column::text("兴趣"),
            Column::text("空闲时间"),
        ],
        ExportKind::Cadres => vec![
            Column::text("姓名"),
            Column::text("类别"),
            Column::text("所属组织"),
            Column::text("职务"),
            Column::ident(phh),
            Column::text("驻点组织"),
        ],
        ExportKind::Units => vec![
            Column::text("名称"),
            Column::text("类别"),
            Column::text("地址"),
            Column::text("联系人"),
            Column::ident(phh),
        ],
        ExportKind::Users => vec![
            Column::ident("用户名"),
            Column::text("姓名"),
            Column::text("状态"),
            Column::text("锁定至"),
            Column::text("须修改密码"),
            Column::text("创建时间"),
        ],
        ExportKind::Audit => vec![
            Column::text("时间"),
            Column::ident("用户"),
            Column::ident("代居民"),
            Column::text("操作"),
            Column::text("对象"),
            Column::ident("编号"),
            Column::text("说明"),
            Column::text("变更前"),
            Column::text("变更后"),
        ],
        ExportKind::Contacts => vec![
            Column::text("联系层级"),
            Column::text("联系人"),
            Column::text("所在组织/职务"),
            Column::ident(phh),
            Column::text("联系对象"),
            Column::text("对象住址/组织"),
            Column::date("开始日期"),
            Column::date("结束日期"),
            Column::text("建立原因"),
            Column::text("结束原因"),
        ],
        ExportKind::Requests => catalogue(
            i18n::EXPORT_REQUESTS,
            [
                Ident, Text, Text, Text, Text, Text, Text, Ident, Text, Text, Text, Text, Date, Date, Text, Date, Text,
                Text, Text, Text,
            ],
            m,
        ),
        ExportKind::Exemptions => catalogue(
            i18n::EXPORT_EXEMPTIONS,
            [
                Text, Text, Text, Text, Text, Text, Text, Text, Date, Text, Text, Date, Text, Text, Date, Text, Text,
                Text, Date, Text, Text,
            ],
            m,
        ),
        ExportKind::Plans => catalogue(
            i18n::EXPORT_PLANS,
            [
                Number, Text, Text, Number, Text, Number, Number, Number, Number, Number, Number, Text, Text, Number,
                Number, Number, Number, Number, Text, Text, Text, Text, Text,
            ],
            m,
        ),
        ExportKind::Posts => catalogue(i18n::EXPORT_POSTS, [Text, Text, Text, Text, Text, Date, Date, Text, Text], m),
    }
}

fn person_cells(r: &Resident, m: Mask) -> Vec<String> {
    vec![
        r.name.clone(),
        r.gender.to_string(),
        r.birth_date.to_string(),
        id_no(&r.id_number, m),
        phone(&r.phone, m),
        opt(&r.household_label),
        yes(r.member_id.is_some()),
        opt(&r.note),
    ]
}

fn request_cells(r: &Request, today: chrono::NaiveDate, m: Mask) -> Vec<String> {
    vec![
        r.code.clone(),
        r.kind_label().to_string(),
        r.category_name.clone(),
        r.class_label().to_string(),
        r.description.clone(),
        opt(&r.address),
        opt(&r.contact_name),
        phone_text(&r.contact_phone, m),
        r.org_name.clone(),
        opt(&r.handler_name),
        r.state_label().to_string(),
        r.card_label().to_string(),
        r.received_on.to_string(),
        r.due_date.to_string(),
        yes(r.overdue(today)),
        opt(&r.paused_on),
        r.outcome_label().to_string(),
        r.satisfaction_label().to_string(),
        local_time(r.submitted_at),
        r.closed_at.map(local_time).unwrap_or_default(),
    ]
}

fn exemption_cells(e: &Exemption) -> Vec<String> {
    vec![
        e.member_name.clone(),
        e.org_name.clone(),
        e.reason.to_string(),
        opt(&e.note),
        e.status.to_string(),
        e.pending_label().to_string(),
        opt(&e.requested_by_name),
        local_time(e.requested_at),
        opt(&e.branch_on),
        opt(&e.branch_by_name),
        opt(&e.branch_note),
        opt(&e.community_on),
        opt(&e.community_by_name),
        opt(&e.community_note),
        opt(&e.street_on),
        opt(&e.street_by_name),
        opt(&e.street_note),
        e.rejected_step_label().to_string(),
        opt(&e.rejected_on),
        opt(&e.rejected_by_name),
        opt(&e.reject_reason),
    ]
}

fn plan_cells(x: &Proposal) -> Vec<String> {
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

/// The caller reduced to the grants that carry `cap`: their read scope is
/// then exactly the scope in which they may export.
fn restricted(p: &Principal, cap: Capability) -> Principal {
    Principal { grants: p.grants.iter().filter(|g| g.role.can(cap)).cloned().collect(), ..p.clone() }
}

/// The `entity` of an export's audit row: the list's code (the audit trail's
/// own export keeps the name it has always had, `audit_log`).
fn entity(kind: ExportKind) -> &'static str {
    match kind {
        ExportKind::Audit => "audit_log",
        k => k.code(),
    }
}

/// A sink for the rows of an export (the file writer).
pub type Sink<'a> = dyn FnMut(&[String]) -> Result<(), StoreError> + Send + 'a;

/// Export every row of the filtered list that the caller may export, in the
/// list's order, handing each row to `sink`; then record the export (kind,
/// format, filters as `filters` describes them, row count) in the audit
/// trail. A caller without the right is refused (and the refusal audited).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    db: &Db,
    p: &Principal,
    actor: Actor,
    filter: &ExportFilter,
    format: ExportFormat,
    filters: &str,
    m: Mask,
    sink: &mut Sink<'_>,
) -> Result<u64, StoreError> {
    run_paced(db, p, actor, filter, format, filters, m, sink, &NoPace).await
}

/// [`run`], with `pace` asked after every row whether to wait (a download
/// waits for its reader: see [`Db::each_paced`]). Nothing reaches the sink
/// before the caller's right and the filters have been checked.
#[allow(clippy::too_many_arguments)]
pub async fn run_paced(
    db: &Db,
    p: &Principal,
    actor: Actor,
    filter: &ExportFilter,
    format: ExportFormat,
    filters: &str,
    m: Mask,
    sink: &mut Sink<'_>,
    pace: &dyn Pace,
) -> Result<u64, StoreError> {
    let kind = filter.kind();
    let allowed = match kind {
        ExportKind::Audit => audit::may_search(p),
        ExportKind::Users => !restricted(p, Capability::Export).scope(Capability::ManageUsers).is_empty(),
        _ => !p.scope(Capability::Export).is_empty(),
    };
    if !allowed {
        let detail = format!("{}：{}", redcell_domain::i18n::EXPORT_REFUSED, kind.label());
        audit::access(db, p.tenant_id, actor, "forbidden", entity(kind), None, &detail).await?;
        return Err(StoreError::Forbidden);
    }
    // Audit rows are not tied to organisations: their readers see the whole tenant.
    let q = if kind == ExportKind::Audit { p.clone() } else { restricted(p, Capability::Export) };
    let q = &q;
    let sql = |select: &str, (from_where, a): (String, Args), order: &str| {
        (format!("{select} FROM {from_where} ORDER BY {order}"), a)
    };
    let n = match filter {
        ExportFilter::Orgs(f) => {
            let (s, a) = sql(orgs::SELECT, orgs::filtered(q, f)?, orgs::ORDER);
            db.each_paced(
                &s,
                a,
                |o: Org| {
                    sink(&[
                        o.code.clone(),
                        o.name.clone(),
                        o.kind.to_string(),
                        opt(&o.parent_name),
                        opt(&o.secretary),
                        phone(&o.phone, m),
                    ])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Grids(f) => {
            let (s, a) = sql(grids::SELECT, grids::filtered(q, f)?, grids::ORDER);
            db.each_paced(
                &s,
                a,
                |g: Grid| sink(&[g.code.clone(), g.name.clone(), g.org_name.clone(), opt(&g.description)]),
                pace,
            )
            .await?
        }
        ExportFilter::Buildings(f) => {
            let (s, a) = sql(buildings::SELECT, buildings::filtered(q, f)?, buildings::ORDER);
            db.each_paced(
                &s,
                a,
                |b: Building| {
                    sink(&[
                        b.name.clone(),
                        b.address.clone(),
                        b.grid_name.clone(),
                        b.units.to_string(),
                        b.floors.to_string(),
                        b.households.to_string(),
                    ])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Households(f) => {
            let (s, a) = sql(households::SELECT, households::filtered(q, f)?, households::ORDER);
            db.each_paced(
                &s,
                a,
                |h: Household| {
                    sink(&[
                        h.building_name.clone(),
                        h.unit_no.to_string(),
                        h.room.clone(),
                        h.address.clone(),
                        h.tag_set().labels().join("、"),
                        h.residents.to_string(),
                        opt(&h.note),
                    ])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Residents(f) => {
            // By organisation, then id: the order the index on (tenant_id, org_id)
            // yields, so SQLite streams the rows instead of sorting them all in memory.
            let (s, a) = sql(residents::SELECT, residents::filtered(q, f)?, "r.org_id, r.id");
            db.each_paced(&s, a, |r: Resident| sink(&person_cells(&r, m)), pace).await?
        }
        ExportFilter::Search(text) => {
            if text.trim().is_empty() {
                0
            } else {
                let (s, a) = sql(residents::SELECT, search::filtered(q, text), search::ORDER);
                db.each_paced(&s, a, |r: Resident| sink(&person_cells(&r, m)), pace).await?
            }
        }
        ExportFilter::Members(f) => {
            let (s, a) = sql(members::SELECT, members::filtered(q, f)?, members::ORDER);
            db.each_paced(
                &s,
                a,
                |x: Member| {
                    sink(&[
                        x.name.clone(),
                        x.org_name.clone(),
                        x.category.to_string(),
                        x.status.to_string(),
                        opt(&x.joined_on),
                        x.birth_date.to_string(),
                        id_no(&x.id_number, m),
                        phone(&x.phone, m),
                        yes(x.central_household),
                        opt(&x.work_unit),
                        opt(&x.skills),
                        opt(&x.interests),
                        opt(&x.free_time),
                    ])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Cadres(f) => {
            let (s, a) = sql(&cadres::select(q), cadres::filtered(q, f)?, cadres::ORDER);
            db.each_paced(
                &s,
                a,
                |c: Cadre| {
                    sink(&[
                        c.name.clone(),
                        c.kind.to_string(),
                        c.org_name.clone(),
                        opt(&c.title),
                        phone(&c.phone, m),
                        opt(&c.stations),
                    ])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Units(f) => {
            let (s, a) = sql(units::SELECT, units::filtered(q, f)?, units::ORDER);
            db.each_paced(
                &s,
                a,
                |u: Unit| {
                    sink(&[u.name.clone(), u.kind.to_string(), opt(&u.address), opt(&u.contact), phone(&u.phone, m)])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Users(text) => {
            let (s, a) = sql(accounts::ACCOUNT, accounts::filtered(q, text.as_deref()), "u.username");
            db.each_paced(
                &s,
                a,
                |u: Account| {
                    sink(&[
                        u.username.clone(),
                        u.display_name.clone(),
                        if u.disabled { "已停用" } else { "正常" }.to_string(),
                        u.locked_until.filter(|t| *t > chrono::Utc::now()).map(local_time).unwrap_or_default(),
                        yes(u.must_change_password),
                        local_time(u.created_at),
                    ])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Audit(f) => {
            let (s, a) = sql(audit::SELECT, audit::filtered(q, f)?, "l.id DESC");
            db.each_paced(
                &s,
                a,
                |e: Entry| {
                    sink(&[
                        e.at_local(),
                        opt(&e.username),
                        opt(&e.on_behalf_of),
                        e.action_label().to_string(),
                        e.entity.clone(),
                        opt(&e.entity_id),
                        opt(&e.detail),
                        opt(&e.before_json),
                        opt(&e.after_json),
                    ])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Contacts(f) => {
            let (w, a) = contacts::roster_where(db, q, f, Capability::ReadRegistry).await?;
            let s =
                format!("{} FROM {} WHERE {w} ORDER BY {}", contacts::SELECT, contacts::FROM, contacts::ROSTER_ORDER);
            db.each_paced(
                &s,
                a,
                |c: Contact| {
                    sink(&[
                        c.level_label().to_string(),
                        c.from_name.clone(),
                        opt(&c.from_org),
                        phone(&c.from_phone, m),
                        c.to_name.clone(),
                        opt(&c.to_detail),
                        c.since.to_string(),
                        opt(&c.until),
                        opt(&c.reason),
                        opt(&c.end_reason),
                    ])
                },
                pace,
            )
            .await?
        }
        ExportFilter::Requests(f) => {
            let (w, a) = requests::filtered(q, f);
            let s = format!("{} WHERE {w} ORDER BY {}", requests::SELECT, requests::ORDER);
            let today = redcell_domain::calendar::shanghai_date(chrono::Utc::now());
            db.each_paced(&s, a, |r: Request| sink(&request_cells(&r, today, m)), pace).await?
        }
        ExportFilter::Exemptions(f) => {
            let (s, a) = sql(exemptions::SELECT, exemptions::filtered(db, q, f).await?, exemptions::ORDER);
            db.each_paced(&s, a, |e: Exemption| sink(&exemption_cells(&e)), pace).await?
        }
        ExportFilter::Plans(f) => {
            let org = crate::coverage::org_or_home(q, f.org_id)?;
            let (s, a) = sql(plan::SELECT, plan::filtered(db, q, org).await?, plan::ORDER);
            db.each_paced(&s, a, |x: Proposal| sink(&plan_cells(&x)), pace).await?
        }
        ExportFilter::Posts(f) => {
            let (s, a) = sql(posts::SELECT, posts::filtered(db, q, f).await?, posts::ORDER);
            db.each_paced(
                &s,
                a,
                |x: Post| {
                    sink(&[
                        x.name.clone(),
                        x.member_name.clone(),
                        x.grid_name.clone(),
                        opt(&x.unit_name),
                        opt(&x.leader_name),
                        x.since.to_string(),
                        opt(&x.until),
                        opt(&x.note),
                        opt(&x.end_reason),
                    ])
                },
                pace,
            )
            .await?
        }
    };
    let clear = if m == Mask::Clear { "，未脱敏" } else { "" };
    let filters: String = filters.chars().take(500).collect();
    let detail = format!(
        "{}：{}，{n} 行{clear}；筛选：{}",
        kind.label(),
        format.label(),
        if filters.is_empty() { "无" } else { &filters }
    );
    audit::access(db, p.tenant_id, actor, "export", entity(kind), None, &detail).await?;
    Ok(n)
}

/// The operator at the command line, acting on the organisation with code
/// `org_code` and its subtree: a system administrator there (who may export
/// every list) who also reads the audit trail when the organisation is the
/// top of its tenant. Exports made this way are audited as the system's.
pub async fn operator(db: &Db, org_code: &str) -> Result<Principal, StoreError> {
    use redcell_domain::{FieldError, OrgPath, Role, i18n};
    let found: Vec<(i64, i64, String, String)> =
        db.all("SELECT id, tenant_id, name, path FROM orgs WHERE code = $1", crate::args![org_code]).await?;
    let (id, tenant_id, name, path) = match found.as_slice() {
        [] => return Err(FieldError::new("org", "not_found", format!("{}：{org_code}", i18n::NOT_FOUND)).into()),
        [one] => one.clone(),
        _ => return Err(FieldError::new("org", "ambiguous", format!("组织编码 {org_code} 在多个单位中使用")).into()),
    };
    let path = OrgPath::parse(&path)?;
    let grant = |role| crate::scope::Grant { org_id: id, org_name: name.clone(), path: path.clone(), role };
    Ok(Principal {
        user_id: 0,
        tenant_id,
        username: "cli".into(),
        display_name: "命令行".into(),
        grants: vec![grant(Role::Admin), grant(Role::Auditor)],
    })
}
