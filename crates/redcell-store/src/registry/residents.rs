//! Residents: people with a verified ID number, in a household or registered
//! with an organisation when they live outside the territory.

use super::{Page, Paged, ensure_none, like, paged};
use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Backend, Db, Tx};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, id_no, opt, personal, phone, yes};
use crate::scope::{self, Access, Capability, Owner, Principal};
use crate::{Code, IdNo, PhoneNo, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::export::Column;
use redcell_domain::ids::*;
use redcell_domain::input::NewResident;
use redcell_domain::{Gender, i18n};
use serde::{Deserialize, Serialize};

/// A resident as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ResidentView {
    pub id: ResidentId,
    pub household_id: Option<HouseholdId>,
    pub household_label: Option<String>,
    pub org_id: OrgId,
    pub name: String,
    #[schema(value_type = String)]
    pub gender: Code<Gender>,
    pub birth_date: NaiveDate,
    /// Masked (e.g. `9901**********1234`).
    #[schema(value_type = String)]
    pub id_number: IdNo,
    /// Masked (e.g. `138****5678`).
    #[schema(value_type = Option<String>)]
    pub phone: Option<PhoneNo>,
    pub note: Option<String>,
    pub member_id: Option<MemberId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A resident as read from the database: what the API shows and
/// the tenant it belongs to (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Resident {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: ResidentView,
}

impl std::ops::Deref for Resident {
    type Target = ResidentView;
    fn deref(&self) -> &ResidentView {
        &self.view
    }
}

impl ResidentView {
    pub fn age_on(&self, today: &NaiveDate) -> i32 {
        today.years_since(self.birth_date).map(|y| y as i32).unwrap_or(0)
    }
}

/// The columns of a resident (their household named with its community).
pub(crate) fn select() -> String {
    format!(
        "SELECT r.id, r.tenant_id, r.household_id, \
         CASE WHEN h.id IS NULL THEN NULL ELSE {} END AS household_label, \
         r.org_id, r.name, r.gender, r.birth_date, r.id_number, r.phone, r.note, \
    (SELECT m.id FROM members m WHERE m.tenant_id = r.tenant_id AND m.resident_id = r.id) AS member_id, r.created_at, r.updated_at",
        super::households::place_sql("h", "b")
    )
}
pub(crate) const FROM: &str = "residents r LEFT JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
    LEFT JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResidentFilter {
    pub household_id: Option<HouseholdId>,
    /// Residents of this organisation's subtree.
    pub org_id: Option<OrgId>,
    /// Name contains, or the exact phone or ID number.
    pub q: Option<String>,
}

/// The condition for a search box: a name fragment, or an exact phone or ID number.
pub(crate) fn search_cond(q: &str, a: &mut Args) -> String {
    let q = q.trim();
    // A complete ID number or phone is matched exactly (and by index); names
    // never contain digits, so a number is not also searched as a name.
    let normalised = redcell_domain::ident::normalise(q);
    if let Ok(id) = redcell_domain::IdNumber::parse(&normalised) {
        return format!("r.id_number = {}", a.push(id.into_string()));
    }
    if let Ok(ph) = redcell_domain::Phone::parse(q) {
        return format!("r.phone = {}", a.push(ph.into_string()));
    }
    format!("r.name LIKE {} ESCAPE '\\'", a.push(like(q)))
}

pub async fn list(db: &Db, p: &Principal, f: &ResidentFilter, page: Page) -> Result<Paged<Resident>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, &select(), &from_where, ORDER, a, page).await
}

/// The order of the list.
pub(crate) const ORDER: &str = "r.id";

/// The `FROM ... WHERE ...` of the list (the caller's scope and the filters) and its arguments.
pub(crate) fn filtered(p: &Principal, f: &ResidentFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("r", &mut a)];
    if let Some(h) = f.household_id {
        w.push(format!("r.household_id = {}", a.push(h)));
    }
    if let Some(o) = f.org_id {
        w.push(scope::rows_under_id("r", p.tenant_id, o, &mut a));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        w.push(search_cond(q, &mut a));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: ResidentId) -> Result<Resident, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("r", &mut a);
    db.one(&format!("{} FROM {FROM} WHERE r.id = $1 AND {c}", select()), a).await
}

/// A resident row as written: the one write path of the table (the service,
/// the roster import, the demo generator).
#[derive(Debug, Clone)]
pub(crate) struct ResidentRecord {
    pub id: ResidentId,
    pub household_id: Option<HouseholdId>,
    pub org_id: OrgId,
    pub name: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub id_number: String,
    pub phone: Option<String>,
    pub note: Option<String>,
}

/// The statements inserting `rows` of `tenant` created at `at`, at most
/// `per_statement` rows each (see [`bulk_statements`]).
pub(crate) fn insert_statements(
    backend: Backend,
    tenant: i64,
    at: DateTime<Utc>,
    rows: &[ResidentRecord],
    per_statement: usize,
) -> Vec<(String, Args)> {
    bulk_statements(
        backend,
        "INSERT INTO residents (id, tenant_id, household_id, org_id, name, gender, birth_date, id_number, phone, note, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        per_statement,
        |r, a| {
            a.0.extend([
                Arg::from(r.id),
                Arg::from(r.household_id),
                Arg::from(r.org_id),
                Arg::Text(r.name.clone()),
                Arg::from(r.gender.code()),
                Arg::Date(r.birth_date),
                Arg::Text(r.id_number.clone()),
                Arg::OptText(r.phone.clone()),
                Arg::OptText(r.note.clone()),
            ])
        },
    )
}

/// Insert `rows` (ids reserved by the caller with [`reserve_ids`]).
pub(crate) async fn insert(
    tx: &mut Tx,
    tenant: i64,
    at: DateTime<Utc>,
    rows: &[ResidentRecord],
) -> Result<(), StoreError> {
    for (sql, a) in insert_statements(tx.backend(), tenant, at, rows, BATCH_ROWS) {
        tx.exec(&sql, a).await.unique_as("id_number", i18n::DUPLICATE_ID_NUMBER)?;
    }
    Ok(())
}

/// The owning organisation of a new or changed resident: their household's,
/// or the one named when they live outside the territory.
async fn owner_of(tx: &mut Tx, access: &Access<'_>, n: &NewResident) -> Result<Owner, StoreError> {
    match (n.household_id, n.org_id) {
        (Some(h), _) => access.reference(tx, h, "household_id").await,
        (None, Some(o)) => access.reference(tx, o, "org_id").await,
        (None, None) => Err(redcell_domain::FieldError::new("household_id", "required", i18n::REQUIRED).into()),
    }
}

pub async fn create(db: &Db, p: &Principal, n: NewResident) -> Result<Resident, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = owner_of(&mut tx, &access, &n).await?;
    let id = ResidentId::new(reserve_ids(&mut tx, "residents", 1).await?);
    let row = ResidentRecord {
        id,
        household_id: n.household_id,
        org_id: owner.org(),
        name: n.name.clone(),
        gender: n.gender,
        birth_date: n.birth_date,
        id_number: n.id_number.as_str().to_string(),
        phone: n.phone.as_ref().map(|x| x.as_str().to_string()),
        note: n.note.clone(),
    };
    insert(&mut tx, owner.tenant_id, Utc::now(), &[row]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "resident",
        "residents",
        owner.tenant_id,
        id.get(),
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: ResidentId, n: NewResident) -> Result<Resident, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "residents", me.tenant_id, id.get()).await?;
    let owner = owner_of(&mut tx, &access, &n).await?;
    tx.exec(
        "UPDATE residents SET household_id = $1, org_id = $2, name = $3, gender = $4, birth_date = $5, id_number = $6, phone = $7, note = $8, updated_at = $9 \
         WHERE tenant_id = $10 AND id = $11",
        args![n.household_id, owner.org(), n.name.clone(), n.gender.code(), n.birth_date, n.id_number.as_str(),
            n.phone.as_ref().map(|x| x.as_str().to_string()), n.note.clone(), Utc::now(), me.tenant_id, id],
    )
    .await
    .unique_as("id_number", i18n::DUPLICATE_ID_NUMBER)?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "resident",
        "residents",
        me.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: ResidentId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "residents", owner.tenant_id, id.get()).await?;
    ensure_none(
        &mut tx,
        "SELECT COUNT(*) FROM members WHERE tenant_id = $1 AND resident_id = $2",
        owner.tenant_id,
        id.get(),
        "党员登记",
    )
    .await?;
    tx.exec("DELETE FROM residents WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "resident",
        "residents",
        owner.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A resident's ID number and phone in the clear.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Revealed {
    pub id: ResidentId,
    pub name: String,
    pub id_number: String,
    pub phone: Option<String>,
}

/// Reveal a resident's ID number and phone: allowed to roles with
/// `RevealPersonal` over the resident's organisation, and audited. A refusal
/// is audited where every refusal is (the caller's front end marks it
/// `reveal_denied`).
pub async fn reveal(db: &Db, p: &Principal, id: ResidentId, reason: &str) -> Result<Revealed, StoreError> {
    let checked = match p.access(Capability::RevealPersonal) {
        Ok(access) => access.target(&mut db.conn(), id).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = checked {
        // Asking without the right, or probing ids outside one's scope, is a
        // refused attempt to see personal data: it is on the trail whatever
        // door it came through.
        let actor = crate::audit::Actor::of(p);
        crate::audit::access(db, p.tenant_id, actor, "reveal_denied", "resident", Some(id.get()), reason).await?;
        return Err(e);
    }
    let r = get(db, p, id).await?;
    crate::audit::access(db, r.tenant_id, crate::audit::Actor::of(p), "reveal", "resident", Some(id.get()), reason)
        .await?;
    Ok(Revealed {
        id,
        name: r.view.name,
        id_number: r.view.id_number.reveal().to_string(),
        phone: r.view.phone.map(|x| x.reveal().to_string()),
    })
}

/// The list as a file (导出).
pub struct ResidentList;

impl Exportable for ResidentList {
    const CODE: &'static str = "residents";
    const LABEL: &'static str = "居民名册";
    const TAG: &'static str = "residents";
    type Filter = ResidentFilter;
    type Row = Resident;
    fn columns(m: Mask) -> Vec<Column> {
        person_columns(m)
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        // By organisation, then id: the order the index on (tenant_id, org_id)
        // yields, so SQLite streams the rows instead of sorting them all in memory.
        Ok(crate::export::sql(filtered(q, f)?, &select(), "r.org_id, r.id"))
    }
    fn cells(r: &Self::Row, m: Mask) -> Vec<String> {
        person_cells(r, m)
    }
}

/// The columns of a list of people (residents, search results).
pub(crate) fn person_columns(m: Mask) -> Vec<Column> {
    vec![
        Column::text("姓名"),
        Column::text("性别"),
        Column::date("出生日期"),
        Column::ident(personal(i18n::EXPORT_ID_NUMBER, m)),
        Column::ident(personal(i18n::EXPORT_PHONE, m)),
        Column::text("住户"),
        Column::text("党员"),
        Column::text("备注"),
    ]
}

/// One person's cells (see [`person_columns`]).
pub(crate) fn person_cells(r: &Resident, m: Mask) -> Vec<String> {
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
