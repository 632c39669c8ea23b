//! Request categories as data: a code, a name, the kind they belong to, where
//! they are routed, their working days and default handling class.

use super::tenant_settings;
use crate::args;
use crate::audit;
use crate::db::{Args, Conn, Db, Tx};
use crate::error::{ResultExt, StoreError};
use crate::scope::Principal;
use crate::types::Code;
use redcell_domain::ids::*;
use redcell_domain::requests::{ErrandClass, NewCategory, RequestKind};
use redcell_domain::{FieldError, i18n};
use serde::Serialize;

/// A category as the API and the public pages show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CategoryView {
    pub id: CategoryId,
    pub code: String,
    pub name: String,
    #[schema(value_type = String)]
    pub kind: Code<RequestKind>,
    /// The organisation every request of this category goes to (none: by the grid).
    pub org_id: Option<OrgId>,
    pub working_days: i64,
    #[schema(value_type = String)]
    pub class: Code<ErrandClass>,
}

/// A category as read from the database.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Category {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: CategoryView,
}

impl std::ops::Deref for Category {
    type Target = CategoryView;
    fn deref(&self) -> &CategoryView {
        &self.view
    }
}

impl CategoryView {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
    pub fn class_label(&self) -> &'static str {
        self.class.label()
    }
}

const COLS: &str = "id, tenant_id, code, name, kind, org_id, working_days, class";

/// The categories of a tenant. Public by design: the submission page and
/// Open311 list them to anyone.
pub async fn categories(db: &Db, tenant_id: i64) -> Result<Vec<Category>, StoreError> {
    db.all(&format!("SELECT {COLS} FROM request_categories WHERE tenant_id = $1 ORDER BY kind, code"), args![tenant_id])
        .await
}

/// One category by its code (public, as [`categories`]).
pub async fn category_by_code(db: &Db, tenant_id: i64, code: &str) -> Result<Category, StoreError> {
    by_code_in(&mut db.conn(), tenant_id, code).await
}

/// [`category_by_code`] on any connection.
pub(crate) async fn by_code_in(c: &mut impl Conn, tenant_id: i64, code: &str) -> Result<Category, StoreError> {
    c.opt(
        &format!("SELECT {COLS} FROM request_categories WHERE tenant_id = $1 AND code = $2"),
        args![tenant_id, code.trim()],
    )
    .await?
    .ok_or_else(|| FieldError::new("category", "unknown", i18n::REQ_CATEGORY_UNKNOWN).into())
}

/// The tenant a public page names (`?t=`), else [`default_tenant`].
pub async fn tenant_or_default(db: &Db, t: Option<i64>) -> Result<i64, StoreError> {
    match t {
        Some(t) => Ok(t),
        None => default_tenant(db).await,
    }
}

/// The tenant that takes public submissions when the page names none: the
/// first one with categories.
pub async fn default_tenant(db: &Db) -> Result<i64, StoreError> {
    let t: Option<(i64,)> =
        db.opt("SELECT tenant_id FROM request_categories ORDER BY tenant_id LIMIT 1", Args::new()).await?;
    t.map(|(t,)| t).ok_or(StoreError::NotFound)
}

/// Add a category: a setting of the tenant (`EditRegistry` over its root).
/// The organisation it routes to is checked as a reference of `org_id`.
pub async fn create_category(db: &Db, p: &Principal, c: NewCategory) -> Result<Category, StoreError> {
    let access = tenant_settings(p)?;
    let mut tx = db.begin().await?;
    if let Some(org) = c.org_id {
        access.org_ref(&mut tx, org, "org_id").await?;
    }
    let id = insert_category(&mut tx, p.tenant_id, &c).await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "create", "request_category", Some(id.get()), &c.name).await?;
    tx.commit().await?;
    db.one(&format!("SELECT {COLS} FROM request_categories WHERE tenant_id = $1 AND id = $2"), args![p.tenant_id, id])
        .await
}

/// Insert a category: the one writer of `request_categories` (the settings
/// page and the default categories of a new tenant).
pub(crate) async fn insert_category(tx: &mut Tx, tenant_id: i64, c: &NewCategory) -> Result<CategoryId, StoreError> {
    tx.int(
        "INSERT INTO request_categories (tenant_id, code, name, kind, org_id, working_days, class) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        args![
            tenant_id,
            c.code.as_str(),
            c.name.as_str(),
            c.kind.code(),
            c.org_id,
            i64::from(c.working_days),
            c.class.code()
        ],
    )
    .await
    .unique_as("code", i18n::REQ_CATEGORY_CODE_TAKEN)
    .map(CategoryId::new)
}
