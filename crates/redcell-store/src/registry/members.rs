//! Party members: a resident registered with a branch, with category, status
//! and the central-household (党员中心户) flag.

use super::{Page, Paged, paged};
use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Db, Tx};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, id_no, opt, personal, phone, yes};
use crate::scope::{self, Access, Capability, Principal};
use crate::{Code, IdNo, PhoneNo, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::export::Column;
use redcell_domain::ids::*;
use redcell_domain::input::{NewMember, Qualifications};
use redcell_domain::registry::{Education, PartyPost};
use redcell_domain::{MemberCategory, MemberStatus, i18n};
use serde::{Deserialize, Serialize};

/// A party member as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MemberView {
    pub id: MemberId,
    pub resident_id: ResidentId,
    pub org_id: OrgId,
    pub org_name: String,
    pub name: String,
    pub birth_date: NaiveDate,
    #[schema(value_type = String)]
    pub id_number: IdNo,
    #[schema(value_type = Option<String>)]
    pub phone: Option<PhoneNo>,
    pub household_id: Option<HouseholdId>,
    pub grid_id: Option<GridId>,
    #[schema(value_type = String)]
    pub category: Code<MemberCategory>,
    #[schema(value_type = String)]
    pub status: Code<MemberStatus>,
    pub joined_on: Option<NaiveDate>,
    pub work_unit: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub free_time: Option<String>,
    pub central_household: bool,
    /// `secretary`, `deputy` or `committee`.
    #[schema(value_type = Option<String>)]
    pub party_post: Option<Code<PartyPost>>,
    #[schema(value_type = Option<String>)]
    pub education: Option<Code<Education>>,
    pub social_worker_cert: bool,
    pub cross_appointed: bool,
    /// The year of the recorded training days.
    pub training_year: Option<i64>,
    pub training_days: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A party member as read from the database: what the API shows and
/// the tenant it belongs to (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: MemberView,
}

impl std::ops::Deref for Member {
    type Target = MemberView;
    fn deref(&self) -> &MemberView {
        &self.view
    }
}

pub(crate) const SELECT: &str = "SELECT m.id, m.tenant_id, m.resident_id, m.org_id, o.name AS org_name, r.name, r.birth_date, r.id_number, r.phone, \
    r.household_id, h.grid_id, m.category, m.status, m.joined_on, m.work_unit, m.skills, m.interests, m.free_time, m.central_household, \
    m.party_post, m.education, m.social_worker_cert, m.cross_appointed, m.training_year, m.training_days, m.created_at, m.updated_at";
pub(crate) const FROM: &str = "members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
    LEFT JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberFilter {
    /// Members of this organisation and its subtree.
    pub org_id: Option<OrgId>,
    /// Members living in this grid.
    pub grid_id: Option<GridId>,
    /// Members living in this building.
    pub building_id: Option<BuildingId>,
    /// Category code, e.g. `retired`.
    pub category: Option<String>,
    /// Only 党员中心户.
    pub central_household: Option<bool>,
    /// Name contains, or the exact phone or ID number.
    pub q: Option<String>,
}

pub async fn list(db: &Db, p: &Principal, f: &MemberFilter, page: Page) -> Result<Paged<Member>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// The order of the list.
pub(crate) const ORDER: &str = "o.path, m.id";

/// The `FROM ... WHERE ...` of the list (the caller's scope and the filters) and its arguments.
pub(crate) fn filtered(p: &Principal, f: &MemberFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("m", &mut a)];
    if let Some(o) = f.org_id {
        w.push(scope::org_under_id("o", p.tenant_id, o, &mut a));
    }
    // Through the households of the grid/building, so the index on
    // residents.household_id drives the query (not a scan of all members).
    if let Some(g) = f.grid_id {
        let (t, n) = (a.push(p.tenant_id), a.push(g));
        w.push(format!("r.household_id IN (SELECT id FROM households WHERE tenant_id = {t} AND grid_id = {n})"));
    }
    if let Some(b) = f.building_id {
        let (t, n) = (a.push(p.tenant_id), a.push(b));
        w.push(format!("r.household_id IN (SELECT id FROM households WHERE tenant_id = {t} AND building_id = {n})"));
    }
    if let Some(c) = f.category.as_deref().filter(|c| !c.is_empty()) {
        w.push(format!("m.category = {}", a.push(MemberCategory::parse("category", c)?.code())));
    }
    if f.central_household == Some(true) {
        w.push("m.central_household = TRUE".into());
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        w.push(super::residents::search_cond(q, &mut a));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: MemberId) -> Result<Member, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("m", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE m.id = $1 AND {c}"), a).await
}

/// A member row as written: the one write path of the table (the service,
/// the roster import, the demo generator).
#[derive(Debug, Clone)]
pub(crate) struct MemberRecord {
    pub id: MemberId,
    pub resident_id: ResidentId,
    pub org_id: OrgId,
    pub category: MemberCategory,
    pub status: MemberStatus,
    pub joined_on: Option<NaiveDate>,
    pub work_unit: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub free_time: Option<String>,
    pub central_household: bool,
    pub quals: Qualifications,
}

/// Insert `rows` of `tenant` created at `at` (ids reserved by the caller).
pub(crate) async fn insert(
    tx: &mut Tx,
    tenant: i64,
    at: DateTime<Utc>,
    rows: &[MemberRecord],
) -> Result<(), StoreError> {
    let statements = bulk_statements(
        tx.backend(),
        "INSERT INTO members (id, tenant_id, resident_id, org_id, category, status, joined_on, work_unit, skills, interests, free_time, central_household, party_post, education, social_worker_cert, cross_appointed, training_year, training_days, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        BATCH_ROWS,
        |m, a| {
            a.0.extend([
                Arg::from(m.id),
                Arg::from(m.resident_id),
                Arg::from(m.org_id),
                Arg::from(m.category.code()),
                Arg::from(m.status.code()),
                Arg::OptDate(m.joined_on),
                Arg::OptText(m.work_unit.clone()),
                Arg::OptText(m.skills.clone()),
                Arg::OptText(m.interests.clone()),
                Arg::OptText(m.free_time.clone()),
                Arg::Bool(m.central_household),
                Arg::OptText(m.quals.party_post.map(|x| x.code().to_string())),
                Arg::OptText(m.quals.education.map(|x| x.code().to_string())),
                Arg::Bool(m.quals.social_worker_cert),
                Arg::Bool(m.quals.cross_appointed),
                Arg::OptI64(m.quals.training.map(|t| t.0 as i64)),
                Arg::OptI64(m.quals.training.map(|t| t.1 as i64)),
            ])
        },
    );
    for (sql, a) in statements {
        tx.exec(&sql, a).await.unique_as("resident_id", i18n::DUPLICATE_MEMBER)?;
    }
    Ok(())
}

/// Checks shared by create and update; returns the tenant. The member's
/// organisation must be one the caller may edit; the person must be one the
/// caller can see (they may live in another branch's grid: registering them
/// as a member changes nothing of their resident record).
async fn check(tx: &mut Tx, p: &Principal, access: &Access<'_>, n: &NewMember) -> Result<i64, StoreError> {
    let org = access.org_ref(tx, n.org_id, "org_id").await?;
    p.access(Capability::ReadRegistry)?.reference(tx, n.resident_id, "resident_id").await?;
    let birth: NaiveDate = tx
        .one::<(NaiveDate,)>(
            "SELECT birth_date FROM residents WHERE tenant_id = $1 AND id = $2",
            args![org.tenant_id, n.resident_id],
        )
        .await?
        .0;
    redcell_domain::input::check_joined_on(birth, n.joined_on)?;
    Ok(org.tenant_id)
}

pub async fn create(db: &Db, p: &Principal, n: NewMember) -> Result<Member, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let tenant_id = check(&mut tx, p, &access, &n).await?;
    let id = MemberId::new(reserve_ids(&mut tx, "members", 1).await?);
    let row = MemberRecord {
        id,
        resident_id: n.resident_id,
        org_id: n.org_id,
        category: n.category,
        status: n.status,
        joined_on: n.joined_on,
        work_unit: n.work_unit.clone(),
        skills: n.skills.clone(),
        interests: n.interests.clone(),
        free_time: n.free_time.clone(),
        central_household: n.central_household,
        quals: n.quals.clone(),
    };
    insert(&mut tx, tenant_id, Utc::now(), &[row]).await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Create, "member", "members", tenant_id, id.get(), None)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: MemberId, n: NewMember) -> Result<Member, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "members", me.tenant_id, id.get()).await?;
    check(&mut tx, p, &access, &n).await?;
    tx.exec(
        "UPDATE members SET resident_id = $1, org_id = $2, category = $3, status = $4, joined_on = $5, work_unit = $6, skills = $7, \
         interests = $8, free_time = $9, central_household = $10, updated_at = $11, party_post = $14, education = $15, \
         social_worker_cert = $16, cross_appointed = $17, training_year = $18, training_days = $19 WHERE tenant_id = $12 AND id = $13",
        args![n.resident_id, n.org_id, n.category.code(), n.status.code(), n.joined_on, n.work_unit.clone(), n.skills.clone(),
            n.interests.clone(), n.free_time.clone(), n.central_household, Utc::now(), me.tenant_id, id,
            n.quals.party_post.map(|x| x.code().to_string()), n.quals.education.map(|x| x.code().to_string()),
            n.quals.social_worker_cert, n.quals.cross_appointed, n.quals.training.map(|t| t.0 as i64),
            n.quals.training.map(|t| t.1 as i64)],
    )
    .await
    .unique_as("resident_id", i18n::DUPLICATE_MEMBER)?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "member",
        "members",
        me.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: MemberId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    delete_in(&mut tx, p, owner.tenant_id, id, "党员信息已删除").await?;
    tx.commit().await?;
    Ok(())
}

/// Take a member off the registry inside the caller's transaction (the
/// caller has checked the right to): their contact relations end with `why`,
/// a cadre keeps their record without the link, the row goes (audited).
pub(crate) async fn delete_in(
    tx: &mut crate::db::Tx,
    p: &Principal,
    tenant: i64,
    id: MemberId,
    why: &str,
) -> Result<(), StoreError> {
    crate::coverage::contacts::end_all_for(tx, tenant, "member", id.get(), p.user_id, why).await?;
    let before = audit::snapshot(tx, "members", tenant, id.get()).await?;
    tx.exec("UPDATE cadres SET member_id = NULL WHERE tenant_id = $1 AND member_id = $2", args![tenant, id]).await?;
    tx.exec("DELETE FROM members WHERE tenant_id = $1 AND id = $2", args![tenant, id]).await?;
    audit::change(tx, audit::Actor::of(p), audit::Change::Delete, "member", "members", tenant, id.get(), before)
        .await?;
    Ok(())
}

/// The list as a file (导出).
pub struct MemberList;

impl Exportable for MemberList {
    const CODE: &'static str = "members";
    const LABEL: &'static str = "党员名册";
    const TAG: &'static str = "members";
    type Filter = MemberFilter;
    type Row = Member;
    fn columns(m: Mask) -> Vec<Column> {
        vec![
            Column::text("姓名"),
            Column::text("所在组织"),
            Column::text("类别"),
            Column::text("状态"),
            Column::date("入党日期"),
            Column::date("出生日期"),
            Column::ident(personal(i18n::EXPORT_ID_NUMBER, m)),
            Column::ident(personal(i18n::EXPORT_PHONE, m)),
            Column::text("党员中心户"),
            Column::text("工作单位"),
            Column::text("特长"),
            Column::text("兴趣"),
            Column::text("空闲时间"),
            Column::text("党内职务"),
            Column::text("学历"),
            Column::text("社工证"),
            Column::text("两委交叉任职"),
            Column::text("培训年度"),
            Column::text("培训天数"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f)?, SELECT, ORDER))
    }
    fn cells(x: &Self::Row, m: Mask) -> Vec<String> {
        vec![
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
            x.party_post.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            x.education.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            yes(x.social_worker_cert),
            yes(x.cross_appointed),
            opt(&x.training_year),
            opt(&x.training_days),
        ]
    }
}
