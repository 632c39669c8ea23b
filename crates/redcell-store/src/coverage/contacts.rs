//! Contacts: who looks after whom, as dated events. Starting a contact inserts
//! a row; ending it sets `until`, `ended_by` and `end_reason` once (an ended
//! contact is never edited or reopened). The roster on any date `D` is the set
//! of rows with `since <= D AND (until IS NULL OR until > D)`.

use super::{OrgRef, not_found, today};
use crate::audit;
use crate::db::{Args, Db, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, opt, personal, phone};
use crate::registry::{Page, Paged, paged};
use crate::scope::{Capability, Principal};
use crate::{Code, PhoneNo, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::coverage::{ContactLevel, EndContact, NewContact, Party, key_resident_tags};
use redcell_domain::export::Column;
use redcell_domain::ids::*;
use redcell_domain::{CadreKind, FieldError, OrgKind, OrgPath, i18n};
use serde::{Deserialize, Serialize};

/// One contact with the names of both ends (phones masked).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Contact {
    pub id: i64,
    /// Never shown (the tenant is the caller's own).
    #[serde(skip)]
    pub tenant_id: i64,
    #[schema(value_type = String)]
    pub level: Code<ContactLevel>,
    pub from_kind: String,
    pub from_id: i64,
    pub from_name: String,
    /// Masked.
    #[schema(value_type = Option<String>)]
    pub from_phone: Option<PhoneNo>,
    /// The member's organisation, or the cadre's title.
    pub from_org: Option<String>,
    pub to_kind: String,
    pub to_id: i64,
    /// A household as `3幢2单元301`, a member's or an organisation's name.
    pub to_name: String,
    /// A household's address, a member's organisation.
    pub to_detail: Option<String>,
    /// The organisation of the side looked after.
    pub org_id: i64,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
    pub reason: Option<String>,
    pub end_reason: Option<String>,
    pub created_by_name: Option<String>,
    pub ended_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub proposal_id: Option<i64>,
    /// The caller cannot open the responsible person's page (a street cadre
    /// seen from a branch): they are named without a link.
    #[sqlx(skip)]
    #[serde(skip)]
    pub from_hidden: bool,
}

impl Contact {
    pub fn level_label(&self) -> &'static str {
        self.level.0.label()
    }
    /// Link to the side looked after.
    pub fn to_href(&self) -> String {
        match self.to_kind.as_str() {
            "household" => format!("/households/{}", self.to_id),
            "member" => format!("/members/{}", self.to_id),
            "post" => format!("/posts/{}", self.to_id),
            _ => format!("/orgs/{}", self.to_id),
        }
    }
    /// Link to the person responsible; empty when the caller cannot open it.
    pub fn from_href(&self) -> String {
        if self.from_hidden {
            return String::new();
        }
        match self.from_kind.as_str() {
            "cadre" => format!("/cadres/{}", self.from_id),
            _ => format!("/members/{}", self.from_id),
        }
    }
    pub fn active(&self) -> bool {
        self.until.is_none()
    }
}

/// The columns of a contact (a household named with its community).
pub(crate) fn select() -> String {
    format!(
        "SELECT c.id, c.tenant_id, c.level, c.from_kind, c.from_id, COALESCE(fr.name, fc.name, '') AS from_name, \
    COALESCE(fr.phone, fc.phone) AS from_phone, COALESCE(fmo.name, fc.title) AS from_org, c.to_kind, c.to_id, \
    COALESCE({household}, tr.name, tor.name, tp.name, '') AS to_name, \
    COALESCE(tb.address, tmo.name, tpg.name) AS to_detail, c.org_id, c.since, c.until, c.reason, c.end_reason, \
    cu.display_name AS created_by_name, eu.display_name AS ended_by_name, c.created_at, c.ended_at, c.proposal_id",
        household = crate::registry::households::place_sql("th", "tb")
    )
}

pub(crate) const FROM: &str = "contacts c \
    LEFT JOIN members fm ON c.from_kind = 'member' AND fm.tenant_id = c.tenant_id AND fm.id = c.from_id \
    LEFT JOIN residents fr ON fr.tenant_id = fm.tenant_id AND fr.id = fm.resident_id \
    LEFT JOIN orgs fmo ON fmo.tenant_id = fm.tenant_id AND fmo.id = fm.org_id \
    LEFT JOIN cadres fc ON c.from_kind = 'cadre' AND fc.tenant_id = c.tenant_id AND fc.id = c.from_id \
    LEFT JOIN households th ON c.to_kind = 'household' AND th.tenant_id = c.tenant_id AND th.id = c.to_id \
    LEFT JOIN buildings tb ON tb.tenant_id = th.tenant_id AND tb.id = th.building_id \
    LEFT JOIN members tm ON c.to_kind = 'member' AND tm.tenant_id = c.tenant_id AND tm.id = c.to_id \
    LEFT JOIN residents tr ON tr.tenant_id = tm.tenant_id AND tr.id = tm.resident_id \
    LEFT JOIN orgs tmo ON tmo.tenant_id = tm.tenant_id AND tmo.id = tm.org_id \
    LEFT JOIN orgs tor ON c.to_kind = 'org' AND tor.tenant_id = c.tenant_id AND tor.id = c.to_id \
    LEFT JOIN demo_posts tp ON c.to_kind = 'post' AND tp.tenant_id = c.tenant_id AND tp.id = c.to_id \
    LEFT JOIN grids tpg ON tpg.tenant_id = tp.tenant_id AND tpg.id = tp.grid_id \
    LEFT JOIN users cu ON cu.id = c.created_by \
    LEFT JOIN users eu ON eu.id = c.ended_by";

/// Which contacts a roster lists.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterFilter {
    /// Contacts of this organisation's subtree (the side looked after);
    /// default: the caller's highest organisation.
    pub org_id: Option<i64>,
    /// Only this level (code, e.g. `member_household`).
    pub level: Option<String>,
    /// The roster in force on this date (`YYYY-MM-DD`, default today).
    pub date: Option<NaiveDate>,
    /// Only contacts of this member or cadre (with `from_kind`).
    pub from_id: Option<i64>,
    /// `member` or `cadre` (with `from_id`).
    pub from_kind: Option<String>,
    /// Only contacts of this household, member or organisation (with `to_kind`).
    pub to_id: Option<i64>,
    /// `household`, `member` or `org` (with `to_id`).
    pub to_kind: Option<String>,
    /// Every contact ever recorded (ended ones too), not only those in force on the date.
    pub history: Option<bool>,
}

/// Conditions of a roster, scope included.
pub(crate) async fn roster_where(
    db: &Db,
    p: &Principal,
    f: &RosterFilter,
    cap: Capability,
) -> Result<(String, Args), StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, super::org_or_home(p, f.org_id)?, cap).await?;
    let mut a = Args::new();
    let mut w = vec![org.under("c", &mut a)];
    if let Some(l) = f.level.as_deref().filter(|l| !l.is_empty()) {
        w.push(format!("c.level = {}", a.push(ContactLevel::parse("level", l)?.code())));
    }
    if let (Some(id), Some(k)) = (f.from_id, f.from_kind.as_deref()) {
        w.push(format!("c.from_kind = {} AND c.from_id = {}", a.push(k), a.push(id)));
    }
    if let (Some(id), Some(k)) = (f.to_id, f.to_kind.as_deref()) {
        w.push(format!("c.to_kind = {} AND c.to_id = {}", a.push(k), a.push(id)));
    }
    if f.history != Some(true) {
        let d = f.date.unwrap_or_else(today);
        let n = a.push(d);
        w.push(format!("c.since <= {n} AND (c.until IS NULL OR c.until > {n})"));
    }
    Ok((w.join(" AND "), a))
}

/// The contacts in force on a date (or the whole history) in an organisation's subtree.
pub async fn roster(db: &Db, p: &Principal, f: &RosterFilter, page: Page) -> Result<Paged<Contact>, StoreError> {
    let (w, a) = roster_where(db, p, f, Capability::ReadRegistry).await?;
    let mut list: Paged<Contact> = paged(db, &select(), &format!("{FROM} WHERE {w}"), ROSTER_ORDER, a, page).await?;
    let mut readable: std::collections::HashMap<i64, bool> = std::collections::HashMap::new();
    for c in list.items.iter_mut().filter(|c| c.from_kind == "cadre") {
        let ok = match readable.get(&c.from_id) {
            Some(ok) => *ok,
            None => {
                let ok = crate::scope::cadre_readable(db, p, c.from_id).await?;
                readable.insert(c.from_id, ok);
                ok
            }
        };
        c.from_hidden = !ok;
    }
    Ok(list)
}

pub(crate) const ROSTER_ORDER: &str = "c.level, from_name, c.from_id, c.since, c.id";

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Contact, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("c", &mut a);
    db.one(&format!("{} FROM {FROM} WHERE c.id = $1 AND {c}", select()), a).await
}

/// What the checks need to know about a member.
#[derive(sqlx::FromRow)]
struct MemberFacts {
    tenant_id: i64,
    org_id: i64,
    path: String,
    central_household: bool,
    exempt: bool,
}

async fn member_facts(
    tx: &mut Tx,
    p: &Principal,
    id: i64,
    field: &str,
    cap: Capability,
) -> Result<MemberFacts, StoreError> {
    let mut a = args![id];
    let c = p.scope(cap).rows("m", &mut a);
    tx.opt(
        &format!(
            "SELECT m.tenant_id, m.org_id, o.path, m.central_household, \
             EXISTS (SELECT 1 FROM exemptions ex WHERE ex.tenant_id = m.tenant_id AND ex.member_id = m.id AND ex.status = 'exempt') AS exempt \
             FROM members m JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id WHERE m.id = $1 AND {c}"
        ),
        a,
    )
    .await?
    .ok_or_else(|| not_found(field))
}

fn path_of(s: &str) -> OrgPath {
    OrgPath::parse(s).unwrap_or_else(|_| OrgPath::root(0))
}

fn wrong(field: &str, code: &'static str, msg: impl Into<String>) -> StoreError {
    FieldError::new(field, code, msg).into()
}

/// Check both ends of a new contact; answers (tenant, org of the side looked after).
pub(crate) async fn check_ends(tx: &mut Tx, p: &Principal, n: &NewContact) -> Result<(i64, i64), StoreError> {
    use ContactLevel::*;
    let level = n.level;
    // The side looked after must be in the caller's edit scope.
    if !level.accepts(n.to_kind) {
        return Err(wrong("to_kind", "kind", i18n::CONTACT_POST_LEVEL));
    }
    let edit = p.access(Capability::EditRegistry)?;
    let to = match n.to_kind {
        Party::Member => edit.reference(tx, MemberId::new(n.to_id), "to_id").await?,
        Party::Cadre => edit.reference(tx, CadreId::new(n.to_id), "to_id").await?,
        Party::Household => edit.reference(tx, HouseholdId::new(n.to_id), "to_id").await?,
        Party::Org => edit.reference(tx, OrgId::new(n.to_id), "to_id").await?,
        Party::Post => edit.reference(tx, PostId::new(n.to_id), "to_id").await?,
    };
    // The person responsible must be visible to the caller, in the same tenant.
    match level.from() {
        Party::Member => {
            let m = member_facts(tx, p, n.from_id, "from_id", Capability::ReadRegistry).await?;
            if m.tenant_id != to.tenant_id {
                return Err(not_found("from_id"));
            }
            if m.exempt {
                return Err(wrong("from_id", "exempt", i18n::CONTACT_EXEMPT));
            }
            if matches!(level, CentralMember | CentralKeyResident) && !m.central_household {
                return Err(wrong("from_id", "not_central", format!("联系人{}", i18n::CONTACT_NOT_CENTRAL)));
            }
            if matches!(level, BranchCommitteeGroup | GeneralCommitteeBranch) {
                // The member must belong to the branch (总支) above the organisation looked after.
                let (parent_path,): (String,) = tx
                    .one(
                        "SELECT pp.path FROM orgs o JOIN orgs pp ON pp.tenant_id = o.tenant_id AND pp.id = o.parent_id \
                         WHERE o.tenant_id = $1 AND o.id = $2",
                        args![to.tenant_id, n.to_id],
                    )
                    .await
                    .map_err(|_| wrong("to_id", "kind", i18n::CONTACT_WRONG_BRANCH))?;
                if !path_of(&parent_path).contains(&path_of(&m.path)) {
                    return Err(wrong("from_id", "branch", i18n::CONTACT_WRONG_BRANCH));
                }
            }
            let _ = m.org_id;
        }
        Party::Cadre => {
            let mut a = args![n.from_id];
            let c = p.scope(Capability::ReadRegistry).rows("c", &mut a);
            let (tenant, kind): (i64, Code<CadreKind>) = tx
                .opt(&format!("SELECT c.tenant_id, c.kind FROM cadres c WHERE c.id = $1 AND {c}"), a)
                .await?
                .ok_or_else(|| not_found("from_id"))?;
            if tenant != to.tenant_id {
                return Err(not_found("from_id"));
            }
            if level == LeaderCommunity && kind.0 != CadreKind::Leadership {
                return Err(wrong("from_id", "kind", i18n::CONTACT_LEADER_KIND));
            }
            if kind.0 == CadreKind::GridWorker {
                return Err(wrong("from_id", "kind", i18n::CONTACT_CADRE_KIND));
            }
        }
        _ => unreachable!("contacts start from members or cadres"),
    }
    // The kind of what is looked after.
    match n.to_kind {
        Party::Post => {
            let (until,): (Option<NaiveDate>,) = tx
                .one("SELECT until FROM demo_posts WHERE tenant_id = $1 AND id = $2", args![to.tenant_id, n.to_id])
                .await?;
            if until.is_some() {
                return Err(wrong("to_id", "ended", i18n::POST_ENDED));
            }
        }
        Party::Household => {
            if level == CentralKeyResident {
                let (tags,): (i64,) = tx
                    .one("SELECT tags FROM households WHERE tenant_id = $1 AND id = $2", args![to.tenant_id, n.to_id])
                    .await?;
                if tags & key_resident_tags().bits() == 0 {
                    return Err(wrong("to_id", "not_key", i18n::CONTACT_NOT_KEY));
                }
            }
        }
        Party::Member => {
            if level.from() == Party::Member && n.from_id == n.to_id {
                return Err(wrong("to_id", "self", i18n::CONTACT_SELF));
            }
            if level == GroupLeaderCentral {
                let m = member_facts(tx, p, n.to_id, "to_id", Capability::EditRegistry).await?;
                if !m.central_household {
                    return Err(wrong("to_id", "not_central", format!("联系对象{}", i18n::CONTACT_NOT_CENTRAL)));
                }
            }
        }
        Party::Org => {
            let (kind, parent_kind): (Code<OrgKind>, Option<Code<OrgKind>>) = tx
                .one(
                    "SELECT o.kind, pp.kind FROM orgs o LEFT JOIN orgs pp ON pp.tenant_id = o.tenant_id AND pp.id = o.parent_id \
                     WHERE o.tenant_id = $1 AND o.id = $2",
                    args![to.tenant_id, n.to_id],
                )
                .await?;
            let ok = match level {
                BranchCommitteeGroup => kind.0 == OrgKind::PartyGroup,
                GeneralCommitteeBranch => {
                    kind.0.is_branch()
                        && parent_kind
                            .is_some_and(|k| matches!(k.0, OrgKind::GeneralBranch | OrgKind::VillageGeneralBranch))
                }
                CadreBranch => kind.0.is_branch(),
                LeaderCommunity => kind.0.is_community(),
                _ => false,
            };
            if !ok {
                let want = match level {
                    BranchCommitteeGroup => "党小组",
                    GeneralCommitteeBranch => "党总支下属的支部",
                    CadreBranch => "党支部",
                    _ => "社区党委或村党总支",
                };
                return Err(wrong(
                    "to_id",
                    "kind",
                    format!("{}{want}（所选为{}）", i18n::CONTACT_TO_KIND, kind.0.label()),
                ));
            }
        }
        Party::Cadre => unreachable!("nobody looks after a cadre"),
    }
    Ok((to.tenant_id, to.org_id))
}

/// Start a contact (an event: a new row). Checks the kinds at both ends, the
/// caller's scope, one member per household at a time, no overlap with the
/// household's or the pair's earlier contacts; audited.
pub async fn start(db: &Db, p: &Principal, n: NewContact) -> Result<Contact, StoreError> {
    let mut tx = db.begin().await?;
    let (tenant, id) = start_in(&mut tx, p, &n).await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Create, "contact", "contacts", tenant, id, None).await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// The checks and the insert of `start`, inside the caller's transaction and
/// without the audit row (roster import records one summary row per batch).
/// Answers (tenant, contact id).
pub(crate) async fn start_in(tx: &mut Tx, p: &Principal, n: &NewContact) -> Result<(i64, i64), StoreError> {
    let (tenant, org_id) = check_ends(tx, p, n).await?;
    let level = n.level;
    let dup = tx
        .int(
            "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND level = $2 AND from_id = $3 AND to_id = $4 AND to_kind = $5 AND until IS NULL",
            args![tenant, level.code(), n.from_id, n.to_id, n.to_kind.code()],
        )
        .await?;
    if dup > 0 {
        return Err(wrong("to_id", "duplicate", i18n::CONTACT_DUPLICATE));
    }
    if level == ContactLevel::MemberHousehold {
        let holder: Option<(String,)> = tx
            .opt(
                "SELECT r.name FROM contacts c JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.from_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE c.tenant_id = $1 AND c.level = 'member_household' AND c.to_id = $2 AND c.until IS NULL",
                args![tenant, n.to_id],
            )
            .await?;
        let other = tx
            .int(
                "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND level = 'member_household' AND to_id = $2 AND until IS NULL",
                args![tenant, n.to_id],
            )
            .await?;
        if other > 0 {
            let who = holder.map(|(n,)| format!("（{n}）")).unwrap_or_default();
            return Err(wrong("to_id", "taken", format!("{}{who}", i18n::CONTACT_HOUSEHOLD_TAKEN)));
        }
    }
    // No overlap with earlier contacts of the same household (member level) or the same pair.
    let overlap = if level == ContactLevel::MemberHousehold {
        tx.int(
            "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND level = $2 AND to_id = $3 AND until > $4",
            args![tenant, level.code(), n.to_id, n.since],
        )
        .await?
    } else {
        tx.int(
            "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND level = $2 AND from_id = $3 AND to_id = $4 AND to_kind = $5 AND until > $6",
            args![tenant, level.code(), n.from_id, n.to_id, n.to_kind.code(), n.since],
        )
        .await?
    };
    if overlap > 0 {
        return Err(wrong("since", "overlap", i18n::CONTACT_OVERLAP));
    }
    let id = tx
        .int(
            "INSERT INTO contacts (tenant_id, level, from_kind, from_id, to_kind, to_id, org_id, since, reason, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            args![
                tenant,
                level.code(),
                level.from().code(),
                n.from_id,
                n.to_kind.code(),
                n.to_id,
                org_id,
                n.since,
                n.reason.clone(),
                p.user_id,
                Utc::now()
            ],
        )
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                let msg = if level == ContactLevel::MemberHousehold {
                    i18n::CONTACT_HOUSEHOLD_TAKEN
                } else {
                    i18n::CONTACT_DUPLICATE
                };
                wrong("to_id", "duplicate", msg)
            } else {
                e
            }
        })?;
    Ok((tenant, id))
}

/// End a contact (once): sets `until`, who ended it and why; audited.
pub async fn end(db: &Db, p: &Principal, id: i64, e: EndContact) -> Result<Contact, StoreError> {
    let mut tx = db.begin().await?;
    let owner = p.access(Capability::EditRegistry)?.target(&mut tx, ContactId::new(id)).await?;
    let (since, until): (NaiveDate, Option<NaiveDate>) = tx
        .one("SELECT since, until FROM contacts WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id])
        .await?;
    if let Some(u) = until {
        return Err(wrong("until", "ended", format!("{}（已于 {u} 结束）", i18n::CONTACT_ENDED)));
    }
    if e.until < since {
        return Err(wrong("until", "range", format!("{}（开始于 {since}）", i18n::CONTACT_UNTIL_BEFORE_SINCE)));
    }
    let before = audit::snapshot(&mut tx, "contacts", owner.tenant_id, id).await?;
    let n = tx
        .exec(
            "UPDATE contacts SET until = $1, ended_by = $2, ended_at = $3, end_reason = $4 \
             WHERE tenant_id = $5 AND id = $6 AND until IS NULL",
            args![e.until, p.user_id, Utc::now(), e.reason.clone(), owner.tenant_id, id],
        )
        .await?;
    if n != 1 {
        return Err(wrong("until", "ended", i18n::CONTACT_ENDED));
    }
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "contact",
        "contacts",
        owner.tenant_id,
        id,
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// End every active contact of a person or household that is being removed
/// from the registry (same transaction as the removal). History stays.
pub(crate) async fn end_all_for(
    tx: &mut crate::Tx,
    tenant_id: i64,
    kind: &str,
    id: i64,
    user_id: i64,
    reason: &str,
) -> Result<u64, StoreError> {
    tx.exec(
        "UPDATE contacts SET until = CASE WHEN since > $1 THEN since ELSE $1 END, ended_by = $2, ended_at = $3, end_reason = $4 \
         WHERE tenant_id = $5 AND until IS NULL AND ((from_kind = $6 AND from_id = $7) OR (to_kind = $6 AND to_id = $7))",
        crate::args![super::today(), user_id, chrono::Utc::now(), reason, tenant_id, kind, id],
    )
    .await
}

/// The contact roster as a file (导出).
pub struct ContactList;

impl Exportable for ContactList {
    const CODE: &'static str = "contacts";
    const LABEL: &'static str = "联系名册";
    const TAG: &'static str = "coverage";
    type Filter = RosterFilter;
    type Row = Contact;
    fn columns(m: Mask) -> Vec<Column> {
        vec![
            Column::text("联系层级"),
            Column::text("联系人"),
            Column::text("所在组织/职务"),
            Column::ident(personal(i18n::EXPORT_PHONE, m)),
            Column::text("联系对象"),
            Column::text("对象住址/组织"),
            Column::date("开始日期"),
            Column::date("结束日期"),
            Column::text("建立原因"),
            Column::text("结束原因"),
        ]
    }
    async fn query(db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        let (w, a) = roster_where(db, q, f, Capability::ReadRegistry).await?;
        Ok(Some((format!("{} FROM {FROM} WHERE {w} ORDER BY {ROSTER_ORDER}", select()), a)))
    }
    fn cells(c: &Contact, m: Mask) -> Vec<String> {
        vec![
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
        ]
    }
}
