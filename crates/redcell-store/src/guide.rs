//! The service guide (便民服务指南): the errands an organisation handles,
//! kept by its staff and read by residents without an account.
//!
//! Who may do what: anyone reads a tenant's guide (it is public, as a window
//! notice is); `EditRegistry` over an organisation adds, changes and removes
//! its entries; `Export` downloads the guide of the subtrees where it is held.

use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Db, Tx};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask};
use crate::registry::{Page, Paged, like, paged};
use crate::scope::{self, Capability, Owned, Principal};
use crate::{Code, args};
use chrono::{DateTime, Utc};
use redcell_domain::OrgId;
use redcell_domain::export::Column;
use redcell_domain::guide::{GuideEntryId, NewGuideEntry};
use redcell_domain::i18n;
use redcell_domain::requests::ErrandClass;
use serde::{Deserialize, Serialize};

impl Owned for GuideEntryId {
    const TABLE: &'static str = "service_guide";
}

/// A guide entry as the API and the public page show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GuideEntryView {
    pub id: GuideEntryId,
    pub org_id: OrgId,
    /// The organisation offering the errand.
    pub org_name: String,
    pub name: String,
    #[schema(value_type = String)]
    pub class: Code<ErrandClass>,
    /// Materials to bring, one per line.
    pub materials: String,
    pub working_days: i64,
    pub place: String,
    pub proxy: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl GuideEntryView {
    /// The materials, one item each.
    pub fn material_list(&self) -> Vec<&str> {
        self.materials.lines().filter(|l| !l.trim().is_empty()).collect()
    }
}

/// A guide entry as read: its view and its tenant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GuideEntry {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: GuideEntryView,
}

impl std::ops::Deref for GuideEntry {
    type Target = GuideEntryView;
    fn deref(&self) -> &GuideEntryView {
        &self.view
    }
}

const SELECT: &str = "SELECT e.id, e.tenant_id, e.org_id, o.name AS org_name, e.name, e.class, e.materials, \
    e.working_days, e.place, e.proxy, e.updated_at";
const FROM: &str = "service_guide e JOIN orgs o ON o.tenant_id = e.tenant_id AND o.id = e.org_id";
const ORDER: &str = "o.path, e.class, e.name, e.id";

/// Filters of the guide.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GuideFilter {
    /// Errands of this organisation and its subtree.
    pub org_id: Option<OrgId>,
    /// Handling class code, e.g. `immediate`.
    pub class: Option<String>,
    /// Name contains.
    pub q: Option<String>,
}

/// `FROM … WHERE …` of the entries inside `scope` that match `f`.
fn filtered(scope: &scope::Scope, f: &GuideFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![scope.rows("e", &mut a)];
    if let Some(o) = f.org_id {
        w.push(scope::rows_under_id("e", scope.tenant_id, o, &mut a));
    }
    if let Some(c) = f.class.as_deref().filter(|c| !c.trim().is_empty()) {
        w.push(format!("e.class = {}", a.push(ErrandClass::parse("class", c)?.code())));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        w.push(format!("e.name LIKE {} ESCAPE '\\'", a.push(like(q))));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

/// The guide inside the caller's read scope.
pub async fn list(db: &Db, p: &Principal, f: &GuideFilter, page: Page) -> Result<Paged<GuideEntry>, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let (from_where, a) = filtered(&access.scope, f)?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// A tenant's whole guide, for residents without an account: public, as a
/// notice at the service window is. Answers nothing for an unknown tenant.
pub async fn public(db: &Db, tenant_id: i64, f: &GuideFilter) -> Result<Vec<GuideEntry>, StoreError> {
    let (from_where, a) = filtered(&scope::Scope::whole_tenant(tenant_id), f)?;
    db.all(&format!("{SELECT} FROM {from_where} ORDER BY {ORDER} LIMIT 500"), a).await
}

pub async fn get(db: &Db, p: &Principal, id: GuideEntryId) -> Result<GuideEntry, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let mut a = args![id.get()];
    let c = access.rows("e", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE e.id = $1 AND {c}"), a).await
}

/// A guide row as written: the table's one write path.
struct GuideRecord<'a> {
    id: GuideEntryId,
    n: &'a NewGuideEntry,
}

async fn insert(tx: &mut Tx, tenant: i64, at: DateTime<Utc>, rows: &[GuideRecord<'_>]) -> Result<(), StoreError> {
    let statements = bulk_statements(
        tx.backend(),
        "INSERT INTO service_guide (id, tenant_id, org_id, name, class, materials, working_days, place, proxy, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        BATCH_ROWS,
        |r, a| {
            a.0.extend([
                Arg::I64(r.id.get()),
                Arg::from(r.n.org_id),
                Arg::Text(r.n.name.clone()),
                Arg::from(r.n.class.code()),
                Arg::Text(r.n.materials.join("\n")),
                Arg::I64(r.n.working_days),
                Arg::Text(r.n.place.clone()),
                Arg::OptText(r.n.proxy.clone()),
            ])
        },
    );
    for (sql, a) in statements {
        tx.exec(&sql, a).await.unique_as("name", i18n::DUPLICATE_NAME)?;
    }
    Ok(())
}

/// Add an errand to an organisation's guide (editable by the caller).
pub async fn create(db: &Db, p: &Principal, n: NewGuideEntry) -> Result<GuideEntry, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let org = access.org_ref(&mut tx, n.org_id, "org_id").await?;
    let id = GuideEntryId::new(reserve_ids(&mut tx, "service_guide", 1).await?);
    insert(&mut tx, org.tenant_id, Utc::now(), &[GuideRecord { id, n: &n }]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "guide",
        "service_guide",
        org.tenant_id,
        id.get(),
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// Change an entry; it may move to another organisation the caller edits.
pub async fn update(db: &Db, p: &Principal, id: GuideEntryId, n: NewGuideEntry) -> Result<GuideEntry, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.target(&mut tx, id).await?;
    access.org_ref(&mut tx, n.org_id, "org_id").await?;
    let before = audit::snapshot(&mut tx, "service_guide", me.tenant_id, id.get()).await?;
    tx.exec(
        "UPDATE service_guide SET org_id = $1, name = $2, class = $3, materials = $4, working_days = $5, place = $6, \
         proxy = $7, updated_at = $8 WHERE tenant_id = $9 AND id = $10",
        args![
            n.org_id,
            n.name.clone(),
            n.class.code(),
            n.materials.join("\n"),
            n.working_days,
            n.place.clone(),
            n.proxy.clone(),
            Utc::now(),
            me.tenant_id,
            id.get()
        ],
    )
    .await
    .unique_as("name", i18n::DUPLICATE_NAME)?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "guide",
        "service_guide",
        me.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: GuideEntryId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "service_guide", me.tenant_id, id.get()).await?;
    tx.exec("DELETE FROM service_guide WHERE tenant_id = $1 AND id = $2", args![me.tenant_id, id.get()]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "guide",
        "service_guide",
        me.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The guide as a file (导出).
pub struct GuideList;

impl Exportable for GuideList {
    const CODE: &'static str = "guide";
    const LABEL: &'static str = "办事指南";
    const TAG: &'static str = "guide";
    type Filter = GuideFilter;
    type Row = GuideEntry;
    fn columns(_m: Mask) -> Vec<Column> {
        vec![
            Column::text("事项"),
            Column::text("办理组织"),
            Column::text("办件类型"),
            Column::number("承诺时限（工作日）"),
            Column::text("所需材料"),
            Column::text("办理地点"),
            Column::text("可否代办"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        let (from_where, a) = filtered(&q.scope(Capability::ReadRegistry), f)?;
        Ok(crate::export::sql((from_where, a), SELECT, ORDER))
    }
    fn cells(e: &GuideEntry, _m: Mask) -> Vec<String> {
        vec![
            e.name.clone(),
            e.org_name.clone(),
            e.class.to_string(),
            e.working_days.to_string(),
            e.material_list().join("；"),
            e.place.clone(),
            e.proxy.clone().unwrap_or_default(),
        ]
    }
}

/// The guide's exportable lists.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&GuideList]
}
