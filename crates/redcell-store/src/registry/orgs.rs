//! Organisations: a tree of any depth with a materialised path.

use super::{Page, Paged, check_edit, ensure_none, like, owner_for_edit, paged};
use crate::audit;
use crate::db::{Args, Db};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, opt, personal, phone};
use crate::scope::{Capability, Principal};
use crate::{Code, PhoneNo, args};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::input::NewOrg;
use redcell_domain::{FieldError, OrgKind, OrgPath, i18n};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Org {
    pub id: i64,
    pub tenant_id: i64,
    pub parent_id: Option<i64>,
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

impl Org {
    pub fn org_path(&self) -> OrgPath {
        OrgPath::parse(&self.path).unwrap_or_else(|_| OrgPath::root(self.id))
    }
}

pub(crate) const SELECT: &str = "SELECT o.id, o.tenant_id, o.parent_id, o.path, o.kind, o.code, o.name, o.secretary, o.phone, \
    p.name AS parent_name, o.created_at, o.updated_at";
pub(crate) const FROM: &str = "orgs o LEFT JOIN orgs p ON p.tenant_id = o.tenant_id AND p.id = o.parent_id";

/// Filters of the organisation list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct OrgFilter {
    /// Direct children of this organisation.
    pub parent_id: Option<i64>,
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
        w.push(format!("o.kind = {}", a.push(k)));
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

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Org, StoreError> {
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
pub async fn breadcrumbs(db: &Db, p: &Principal, org: &Org) -> Result<Vec<(i64, String)>, StoreError> {
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
    let pat = org.org_path().like_pattern();
    // The whole tenant needs no subtree condition: a plain count on the
    // tenant's index is much cheaper on a street of a million households.
    let whole = org.parent_id.is_none();
    let sub = "SELECT id FROM orgs WHERE tenant_id = $1 AND path LIKE $2";
    let count = |table: &'static str, extra: &'static str| {
        let (sql, a) = if whole {
            (format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1{extra}"), args![org.tenant_id])
        } else {
            (
                format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 AND org_id IN ({sub}){extra}"),
                args![org.tenant_id, pat.clone()],
            )
        };
        async move { db.int(&sql, a).await }
    };
    Ok(OrgCounts {
        sub_orgs: db
            .int("SELECT COUNT(*) FROM orgs WHERE tenant_id = $1 AND path LIKE $2", args![org.tenant_id, pat.clone()])
            .await?
            - 1,
        grids: count("grids", "").await?,
        buildings: count("buildings", "").await?,
        households: count("households", "").await?,
        residents: count("residents", "").await?,
        members: count("members", "").await?,
        central_households: count("members", " AND central_household = TRUE").await?,
        cadres: count("cadres", "").await?,
    })
}

pub async fn create(db: &Db, p: &Principal, n: NewOrg) -> Result<Org, StoreError> {
    let mut tx = db.begin().await?;
    let now = Utc::now();
    let id = match n.parent_id {
        Some(parent_id) => {
            owner_for_edit(&mut tx, p, "orgs", parent_id, "parent_id").await?;
            let (tenant_id, ppath, pkind): (i64, String, Code<OrgKind>) =
                tx.one("SELECT tenant_id, path, kind FROM orgs WHERE id = $1", args![parent_id]).await?;
            if !n.kind.may_be_child_of(pkind.0) {
                return Err(FieldError::new(
                    "kind",
                    "kind",
                    format!("{}（{} 不能挂在 {} 下）", i18n::PARENT_KIND, n.kind.label(), pkind.0.label()),
                )
                .into());
            }
            let id = tx
                .int(
                    "INSERT INTO orgs (tenant_id, parent_id, path, kind, code, name, secretary, phone, created_at, updated_at) \
                     VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                    args![tenant_id, parent_id, n.kind.code(), n.code.as_str(), n.name.clone(), n.secretary.clone(), n.phone.as_ref().map(|x| x.as_str().to_string()), now],
                )
                .await
                .unique_as("code", i18n::DUPLICATE_CODE)?;
            let path = OrgPath::parse(&ppath).map_err(StoreError::from)?.child(id);
            tx.exec("UPDATE orgs SET path = $1 WHERE tenant_id = $2 AND id = $3", args![path.as_str(), tenant_id, id])
                .await?;
            audit::change(&mut tx, audit::Actor::of(p), audit::Change::Create, "org", "orgs", tenant_id, id, None)
                .await?;
            id
        }
        None => {
            // A new tenant: only a system administrator may open one.
            if !p.grants.iter().any(|g| g.role == redcell_domain::Role::Admin) {
                return Err(StoreError::Denied(FieldError::new("parent_id", "scope", i18n::FORBIDDEN)));
            }
            create_root(&mut tx, &n).await?
        }
    };
    tx.commit().await?;
    get(db, p, id).await
}

/// Create a top-level organisation (a tenant of its own). Used by the CLI and demo.
pub async fn create_root(tx: &mut crate::Tx, n: &NewOrg) -> Result<i64, StoreError> {
    if !n.kind.may_be_root() {
        return Err(FieldError::new("kind", "kind", i18n::PARENT_KIND).into());
    }
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO orgs (tenant_id, parent_id, path, kind, code, name, secretary, phone, created_at, updated_at) \
             VALUES (0, NULL, '', $1, $2, $3, $4, $5, $6, $6) RETURNING id",
            args![
                n.kind.code(),
                n.code.as_str(),
                n.name.clone(),
                n.secretary.clone(),
                n.phone.as_ref().map(|x| x.as_str().to_string()),
                now
            ],
        )
        .await?;
    tx.exec(
        "UPDATE orgs SET tenant_id = $1, path = $2 WHERE tenant_id = 0 AND id = $1",
        args![id, OrgPath::root(id).as_str()],
    )
    .await?;
    audit::change(tx, audit::Actor::system(), audit::Change::Create, "org", "orgs", id, id, None).await?;
    Ok(id)
}

pub async fn update(db: &Db, p: &Principal, id: i64, n: NewOrg) -> Result<Org, StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "orgs", id).await?;
    let before = audit::snapshot(&mut tx, "orgs", owner.tenant_id, id).await?;
    let (old_path, old_parent): (String, Option<i64>) =
        tx.one("SELECT path, parent_id FROM orgs WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    let old = OrgPath::parse(&old_path)?;
    let mut new_path = old.clone();
    if n.parent_id != old_parent {
        let Some(parent_id) = n.parent_id else {
            return Err(FieldError::new("parent_id", "required", i18n::REQUIRED).into());
        };
        owner_for_edit(&mut tx, p, "orgs", parent_id, "parent_id").await?;
        let (ppath, ptenant): (String, i64) =
            tx.one("SELECT path, tenant_id FROM orgs WHERE id = $1", args![parent_id]).await?;
        let ppath = OrgPath::parse(&ppath)?;
        if ptenant != owner.tenant_id || old.contains(&ppath) {
            return Err(FieldError::new("parent_id", "cycle", i18n::PARENT_CYCLE).into());
        }
        new_path = ppath.child(id);
    }
    if let Some(pid) = n.parent_id {
        let (pkind,): (Code<OrgKind>,) =
            tx.one("SELECT kind FROM orgs WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, pid]).await?;
        if !n.kind.may_be_child_of(pkind.0) {
            return Err(FieldError::new(
                "kind",
                "kind",
                format!("{}（{} 不能挂在 {} 下）", i18n::PARENT_KIND, n.kind.label(), pkind.0.label()),
            )
            .into());
        }
    } else if !n.kind.may_be_root() {
        return Err(FieldError::new("kind", "kind", i18n::PARENT_KIND).into());
    }
    // A new kind must still be one the children may hang under.
    let kids: Vec<(Code<OrgKind>,)> =
        tx.all("SELECT kind FROM orgs WHERE tenant_id = $1 AND parent_id = $2", args![owner.tenant_id, id]).await?;
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
            owner.tenant_id,
            id
        ],
    )
    .await
    .unique_as("code", i18n::DUPLICATE_CODE)?;
    if new_path != old {
        // Move the whole subtree: rewrite the prefix of every descendant's path.
        tx.exec(
            "UPDATE orgs SET path = $1 || substr(path, CAST($2 AS INTEGER)) WHERE tenant_id = $3 AND path LIKE $4",
            args![new_path.as_str(), (old.as_str().len() + 1) as i64, owner.tenant_id, old.like_pattern()],
        )
        .await?;
    }
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Update, "org", "orgs", owner.tenant_id, id, before)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "orgs", id).await?;
    let before = audit::snapshot(&mut tx, "orgs", owner.tenant_id, id).await?;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM orgs WHERE parent_id = $1", id, "下级组织").await?;
    for (table, what) in [("grids", "网格"), ("members", "党员"), ("cadres", "干部"), ("residents", "居民")] {
        ensure_none(&mut tx, &format!("SELECT COUNT(*) FROM {table} WHERE org_id = $1"), id, what).await?;
    }
    ensure_none(&mut tx, "SELECT COUNT(*) FROM cadre_stations WHERE org_id = $1", id, "驻点干部").await?;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM grants WHERE org_id = $1", id, "账号授权").await?;
    tx.exec("DELETE FROM orgs WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Delete, "org", "orgs", owner.tenant_id, id, before)
        .await?;
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
