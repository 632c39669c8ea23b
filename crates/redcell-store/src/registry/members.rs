//! Party members: a resident registered with a branch, with category, status
//! and the central-household (党员中心户) flag.

use super::{Page, Paged, check_edit, owner_for_edit, paged};
use crate::audit;
use crate::db::{Args, Db};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, id_no, opt, personal, phone, yes};
use crate::scope::{Capability, Principal};
use crate::{Code, IdNo, PhoneNo, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::export::Column;
use redcell_domain::input::NewMember;
use redcell_domain::{FieldError, MemberCategory, MemberStatus, i18n};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Member {
    pub id: i64,
    pub tenant_id: i64,
    pub resident_id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub name: String,
    pub birth_date: NaiveDate,
    #[schema(value_type = String)]
    pub id_number: IdNo,
    #[schema(value_type = Option<String>)]
    pub phone: Option<PhoneNo>,
    pub household_id: Option<i64>,
    pub grid_id: Option<i64>,
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const SELECT: &str = "SELECT m.id, m.tenant_id, m.resident_id, m.org_id, o.name AS org_name, r.name, r.birth_date, r.id_number, r.phone, \
    r.household_id, h.grid_id, m.category, m.status, m.joined_on, m.work_unit, m.skills, m.interests, m.free_time, m.central_household, \
    m.created_at, m.updated_at";
pub(crate) const FROM: &str = "members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
    LEFT JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct MemberFilter {
    /// Members of this organisation and its subtree.
    pub org_id: Option<i64>,
    /// Members living in this grid.
    pub grid_id: Option<i64>,
    /// Members living in this building.
    pub building_id: Option<i64>,
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
        w.push(format!("o.path LIKE (SELECT path FROM orgs WHERE id = {}) || '%'", a.push(o)));
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

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Member, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("m", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE m.id = $1 AND {c}"), a).await
}

/// Checks shared by create and update; returns the tenant.
async fn check(tx: &mut crate::Tx, p: &Principal, n: &NewMember) -> Result<i64, StoreError> {
    let org = owner_for_edit(tx, p, "orgs", n.org_id, "org_id").await?;
    // The person must be visible to the caller (they may live in another branch's grid).
    let person = super::owner_for_edit(tx, p, "residents", n.resident_id, "resident_id").await;
    let person = match person {
        Err(StoreError::Denied(_)) => {
            let (t, o): (i64, i64) =
                tx.one("SELECT tenant_id, org_id FROM residents WHERE id = $1", args![n.resident_id]).await?;
            super::Owner { tenant_id: t, org_id: o }
        }
        other => other?,
    };
    if person.tenant_id != org.tenant_id {
        return Err(FieldError::new("resident_id", "not_found", i18n::NOT_FOUND).into());
    }
    let birth: NaiveDate =
        tx.one::<(NaiveDate,)>("SELECT birth_date FROM residents WHERE id = $1", args![n.resident_id]).await?.0;
    redcell_domain::input::check_joined_on(birth, n.joined_on)?;
    Ok(org.tenant_id)
}

pub async fn create(db: &Db, p: &Principal, n: NewMember) -> Result<Member, StoreError> {
    let mut tx = db.begin().await?;
    let tenant_id = check(&mut tx, p, &n).await?;
    let id = tx
        .int(
            "INSERT INTO members (tenant_id, resident_id, org_id, category, status, joined_on, work_unit, skills, interests, free_time, central_household, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
            args![tenant_id, n.resident_id, n.org_id, n.category.code(), n.status.code(), n.joined_on, n.work_unit.clone(),
                n.skills.clone(), n.interests.clone(), n.free_time.clone(), n.central_household, Utc::now()],
        )
        .await
        .unique_as("resident_id", i18n::DUPLICATE_MEMBER)?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Create, "member", "members", tenant_id, id, None)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: i64, n: NewMember) -> Result<Member, StoreError> {
    let mut tx = db.begin().await?;
    let me = check_edit(&mut tx, p, "members", id).await?;
    let before = audit::snapshot(&mut tx, "members", me.tenant_id, id).await?;
    check(&mut tx, p, &n).await?;
    tx.exec(
        "UPDATE members SET resident_id = $1, org_id = $2, category = $3, status = $4, joined_on = $5, work_unit = $6, skills = $7, \
         interests = $8, free_time = $9, central_household = $10, updated_at = $11 WHERE tenant_id = $12 AND id = $13",
        args![n.resident_id, n.org_id, n.category.code(), n.status.code(), n.joined_on, n.work_unit.clone(), n.skills.clone(),
            n.interests.clone(), n.free_time.clone(), n.central_household, Utc::now(), me.tenant_id, id],
    )
    .await
    .unique_as("resident_id", i18n::DUPLICATE_MEMBER)?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Update, "member", "members", me.tenant_id, id, before)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "members", id).await?;
    crate::coverage::contacts::end_all_for(&mut tx, owner.tenant_id, "member", id, p.user_id, "党员信息已删除").await?;
    let before = audit::snapshot(&mut tx, "members", owner.tenant_id, id).await?;
    tx.exec("UPDATE cadres SET member_id = NULL WHERE tenant_id = $1 AND member_id = $2", args![owner.tenant_id, id])
        .await?;
    tx.exec("DELETE FROM members WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "member",
        "members",
        owner.tenant_id,
        id,
        before,
    )
    .await?;
    tx.commit().await?;
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
        ]
    }
}
