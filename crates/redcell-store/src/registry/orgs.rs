//! Organisations: a tree of any depth with a materialised path.

use super::{Page, Paged, ensure_none, like, paged};
use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Db, Tx};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, opt, personal, phone};
use crate::scope::{self, Capability, Principal};
use crate::{Code, PhoneNo, args};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::ids::*;
use redcell_domain::input::NewOrg;
use redcell_domain::{FieldError, OrgKind, OrgPath, i18n};
use serde::{Deserialize, Serialize};

/// An organisation as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrgView {
    pub id: OrgId,
    pub parent_id: Option<OrgId>,
    pub path: String,
    #[schema(value_type = String)]
    pub kind: Code<OrgKind>,
    pub code: String,
    pub name: String,
    pub secretary: Option<String>,
    #[schema(value_type = Option<String>)]
    pub phone: Option<PhoneNo>,
    pub parent_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An organisation as read from the database: what the API shows and
/// the tenant it belongs to (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Org {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: OrgView,
}

impl std::ops::Deref for Org {
    type Target = OrgView;
    fn deref(&self) -> &OrgView {
        &self.view
    }
}

impl OrgView {
    pub fn org_path(&self) -> OrgPath {
        OrgPath::parse(&self.path).unwrap_or_else(|_| OrgPath::root(self.id.get()))
    }
}

pub(crate) const SELECT: &str = "SELECT o.id, o.tenant_id, o.parent_id, o.path, o.kind, o.code, o.name, o.secretary, o.phone, \
    p.name AS parent_name, o.created_at, o.updated_at";
pub(crate) const FROM: &str = "orgs o LEFT JOIN orgs p ON p.tenant_id = o.tenant_id AND p.id = o.parent_id";

/// Filters of the organisation list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgFilter {
    /// Direct children of this organisation.
    pub parent_id: Option<OrgId>,
    /// Kind code, e.g. `community_committee`.
    pub kind: Option<String>,
    /// Name or code contains.
    pub q: Option<String>,
}

pub async fn list(db: &Db, p: &Principal, f: &OrgFilter, page: Page) -> Result<Paged<Org>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// The order of the list.
pub(crate) const ORDER: &str = "o.path";

/// The `FROM ... WHERE ...` of the list (the caller's scope and the filters) and its arguments.
pub(crate) fn filtered(p: &Principal, f: &OrgFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).orgs("o", &mut a)];
    if let Some(pid) = f.parent_id {
        w.push(format!("o.parent_id = {}", a.push(pid)));
    }
    if let Some(k) = f.kind.as_deref().filter(|k| !k.is_empty()) {
        w.push(format!("o.kind = {}", a.push(OrgKind::parse("kind", k)?.code())));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let n = a.push(like(q));
        w.push(format!("(o.name LIKE {n} ESCAPE '\\' OR o.code LIKE {n} ESCAPE '\\')"));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

/// Every organisation in scope, in tree order (for the tree page and pickers).
pub async fn tree(db: &Db, p: &Principal) -> Result<Vec<Org>, StoreError> {
    let mut a = Args::new();
    let c = p.scope(Capability::ReadRegistry).orgs("o", &mut a);
    db.all(&format!("{SELECT} FROM {FROM} WHERE {c} ORDER BY o.path"), a).await
}

pub async fn get(db: &Db, p: &Principal, id: OrgId) -> Result<Org, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).orgs("o", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE o.id = $1 AND {c}"), a).await
}

pub async fn by_code(db: &Db, p: &Principal, code: &str) -> Result<Org, StoreError> {
    let mut a = args![code];
    let c = p.scope(Capability::ReadRegistry).orgs("o", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE o.code = $1 AND {c}"), a).await
}

/// The ancestors of an organisation that the caller can see, root first.
pub async fn breadcrumbs(db: &Db, p: &Principal, org: &Org) -> Result<Vec<(OrgId, String)>, StoreError> {
    // The ancestors are the ids in the path; one query, in path order.
    let ids: Vec<String> = org.org_path().ids().iter().map(i64::to_string).collect();
    let mut a = args![org.tenant_id];
    let c = p.scope(Capability::ReadRegistry).orgs("o", &mut a);
    db.all(
        &format!(
            "SELECT o.id, o.name FROM orgs o WHERE o.tenant_id = $1 AND o.id IN ({}) AND {c} ORDER BY o.path",
            ids.join(", ")
        ),
        a,
    )
    .await
}

/// Counts shown on an organisation page (whole subtree).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct OrgCounts {
    pub sub_orgs: i64,
    pub grids: i64,
    pub buildings: i64,
    pub households: i64,
    pub residents: i64,
    pub members: i64,
    pub central_households: i64,
    pub cadres: i64,
}

pub async fn counts(db: &Db, org: &Org) -> Result<OrgCounts, StoreError> {
    let path = org.org_path();
    let count = |table: &'static str, extra: &'static str| {
        let mut a = Args::new();
        // The whole tenant is a condition on the tenant alone (the scope
        // module writes it so): a plain count on the tenant's index is much
        // cheaper on a street of a million households.
        let cond = scope::rows_under_path("x", org.tenant_id, &path, &mut a);
        let sql = format!("SELECT COUNT(*) FROM {table} x WHERE {cond}{extra}");
        async move { db.int(&sql, a).await }
    };
    let mut a = Args::new();
    let sub = scope::orgs_under_path("o", org.tenant_id, &path, &mut a);
    Ok(OrgCounts {
        sub_orgs: db.int(&format!("SELECT COUNT(*) FROM orgs o WHERE {sub}"), a).await? - 1,
        grids: count("grids", "").await?,
        buildings: count("buildings", "").await?,
        households: count("households", "").await?,
        residents: count("residents", "").await?,
        members: count("members", "").await?,
        central_households: count("members", " AND x.central_household = TRUE").await?,
        cadres: count("cadres", "").await?,
    })
}

/// An organisation row as written: the one write path of the table (the
/// service, the roster import, the demo generator).
#[derive(Debug, Clone)]
pub(crate) struct OrgRecord {
    pub id: OrgId,
    pub parent_id: Option<OrgId>,
    pub path: OrgPath,
    pub kind: OrgKind,
    pub code: String,
    pub name: String,
    pub secretary: Option<String>,
    pub phone: Option<String>,
}

/// Insert `rows` of `tenant` created at `at` (ids reserved by the caller,
/// paths computed from them), parents before children.
pub(crate) async fn insert(tx: &mut Tx, tenant: i64, at: DateTime<Utc>, rows: &[OrgRecord]) -> Result<(), StoreError> {
    let statements = bulk_statements(
        tx.backend(),
        "INSERT INTO orgs (id, tenant_id, parent_id, path, kind, code, name, secretary, phone, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        BATCH_ROWS,
        |o, a| {
            a.0.extend([
                Arg::from(o.id),
                Arg::from(o.parent_id),
                Arg::Text(o.path.as_str().to_string()),
                Arg::from(o.kind.code()),
                Arg::Text(o.code.clone()),
                Arg::Text(o.name.clone()),
                Arg::OptText(o.secretary.clone()),
                Arg::OptText(o.phone.clone()),
            ])
        },
    );
    for (sql, a) in statements {
        tx.exec(&sql, a).await.unique_as("code", i18n::DUPLICATE_CODE)?;
    }
    Ok(())
}

fn kind_error(kind: OrgKind, parent: OrgKind) -> StoreError {
    FieldError::new("kind", "kind", format!("{}（{} 不能挂在 {} 下）", i18n::PARENT_KIND, kind.label(), parent.label()))
        .into()
}

/// A new organisation under one the caller may edit. A new tenant (no
/// parent) is not opened here: the command line opens tenants.
pub async fn create(db: &Db, p: &Principal, n: NewOrg) -> Result<Org, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let Some(parent_id) = n.parent_id else {
        return Err(FieldError::new("parent_id", "required", i18n::ORG_PARENT_REQUIRED).into());
    };
    let mut tx = db.begin().await?;
    let parent = access.org_ref(&mut tx, parent_id, "parent_id").await?;
    if !n.kind.may_be_child_of(parent.kind) {
        return Err(kind_error(n.kind, parent.kind));
    }
    let id = OrgId::new(reserve_ids(&mut tx, "orgs", 1).await?);
    let row = OrgRecord {
        id,
        parent_id: Some(parent_id),
        path: parent.path.child(id.get()),
        kind: n.kind,
        code: n.code.as_str().to_string(),
        name: n.name.clone(),
        secretary: n.secretary.clone(),
        phone: n.phone.as_ref().map(|x| x.as_str().to_string()),
    };
    insert(&mut tx, parent.tenant_id, Utc::now(), &[row]).await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Create, "org", "orgs", parent.tenant_id, id.get(), None)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// Create a top-level organisation (a tenant of its own). Used by the CLI and demo.
pub async fn create_root(tx: &mut Tx, n: &NewOrg) -> Result<OrgId, StoreError> {
    if !n.kind.may_be_root() {
        return Err(FieldError::new("kind", "kind", i18n::PARENT_KIND).into());
    }
    let id = OrgId::new(reserve_ids(tx, "orgs", 1).await?);
    let row = OrgRecord {
        id,
        parent_id: None,
        path: OrgPath::root(id.get()),
        kind: n.kind,
        code: n.code.as_str().to_string(),
        name: n.name.clone(),
        secretary: n.secretary.clone(),
        phone: n.phone.as_ref().map(|x| x.as_str().to_string()),
    };
    insert(tx, id.get(), Utc::now(), &[row]).await?;
    audit::change(tx, audit::Actor::system(), audit::Change::Create, "org", "orgs", id.get(), id.get(), None).await?;
    Ok(id)
}

pub async fn update(db: &Db, p: &Principal, id: OrgId, n: NewOrg) -> Result<Org, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.org(&mut tx, id).await?;
    let t = me.tenant_id;
    let before = audit::snapshot(&mut tx, "orgs", t, id.get()).await?;
    let old = me.path.clone();
    let mut new_path = old.clone();
    let old_parent = me.parent_id.map(OrgId::new);
    match n.parent_id {
        Some(parent_id) => {
            let parent = access.org_ref(&mut tx, parent_id, "parent_id").await?;
            if n.parent_id != old_parent {
                if old.contains(&parent.path) {
                    return Err(FieldError::new("parent_id", "cycle", i18n::PARENT_CYCLE).into());
                }
                new_path = parent.path.child(id.get());
            }
            if !n.kind.may_be_child_of(parent.kind) {
                return Err(kind_error(n.kind, parent.kind));
            }
        }
        // A tenant's root stays a root; nothing else may become one.
        None if old_parent.is_some() => {
            return Err(FieldError::new("parent_id", "required", i18n::REQUIRED).into());
        }
        None if !n.kind.may_be_root() => return Err(FieldError::new("kind", "kind", i18n::PARENT_KIND).into()),
        None => {}
    }
    // A new kind must still be one the children may hang under.
    let kids: Vec<(Code<OrgKind>,)> =
        tx.all("SELECT kind FROM orgs WHERE tenant_id = $1 AND parent_id = $2", args![t, id]).await?;
    if let Some((kid,)) = kids.iter().find(|(k,)| !k.0.may_be_child_of(n.kind)) {
        return Err(FieldError::new(
            "kind",
            "kind",
            format!("{}（下级{}不能挂在{}下）", i18n::PARENT_KIND, kid.0.label(), n.kind.label()),
        )
        .into());
    }
    tx.exec(
        "UPDATE orgs SET parent_id = $1, kind = $2, code = $3, name = $4, secretary = $5, phone = $6, updated_at = $7 \
         WHERE tenant_id = $8 AND id = $9",
        args![
            n.parent_id,
            n.kind.code(),
            n.code.as_str(),
            n.name.clone(),
            n.secretary.clone(),
            n.phone.as_ref().map(|x| x.as_str().to_string()),
            Utc::now(),
            t,
            id
        ],
    )
    .await
    .unique_as("code", i18n::DUPLICATE_CODE)?;
    if new_path != old {
        // Move the whole subtree: rewrite the prefix of every descendant's path.
        let mut a = args![new_path.as_str(), (old.as_str().len() + 1) as i64];
        let under = scope::orgs_under_path("orgs", t, &old, &mut a);
        tx.exec(&format!("UPDATE orgs SET path = $1 || substr(path, CAST($2 AS INTEGER)) WHERE {under}"), a).await?;
    }
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Update, "org", "orgs", t, id.get(), before).await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: OrgId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.org(&mut tx, id).await?;
    let t = me.tenant_id;
    let before = audit::snapshot(&mut tx, "orgs", t, id.get()).await?;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM orgs WHERE tenant_id = $1 AND parent_id = $2", t, id.get(), "下级组织")
        .await?;
    for (table, what) in [
        ("grids", "网格"),
        ("members", "党员"),
        ("cadres", "干部"),
        ("residents", "居民"),
        ("cadre_stations", "驻点干部"),
        ("grants", "账号授权"),
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 AND org_id = $2");
        ensure_none(&mut tx, &sql, t, id.get(), what).await?;
    }
    tx.exec("DELETE FROM orgs WHERE tenant_id = $1 AND id = $2", args![t, id]).await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Delete, "org", "orgs", t, id.get(), before).await?;
    tx.commit().await?;
    Ok(())
}

/// The list as a file (导出).
pub struct OrgList;

impl Exportable for OrgList {
    const CODE: &'static str = "orgs";
    const LABEL: &'static str = "组织名册";
    const TAG: &'static str = "orgs";
    type Filter = OrgFilter;
    type Row = Org;
    fn columns(m: Mask) -> Vec<Column> {
        let _ = m;
        vec![
            Column::ident("编码"),
            Column::text("名称"),
            Column::text("类型"),
            Column::text("上级组织"),
            Column::text("书记"),
            Column::ident(personal(i18n::EXPORT_PHONE, m)),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f)?, SELECT, ORDER))
    }
    fn cells(o: &Self::Row, m: Mask) -> Vec<String> {
        vec![
            o.code.clone(),
            o.name.clone(),
            o.kind.to_string(),
            opt(&o.parent_name),
            opt(&o.secretary),
            phone(&o.phone, m),
        ]
    }
}
