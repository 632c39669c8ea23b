//! The one scope module. Every subtree and tenant predicate is written here
//! and nowhere else: a caller sees the subtrees of the organisations on which
//! they hold a suitable role, within their tenant, and nothing else.
//!
//! A service entry point starts from the capability it needs:
//!
//! ```ignore
//! let access = p.access(Capability::HandleRequests)?;   // 403 if held nowhere
//! let req = access.target(&mut tx, id).await?;          // 404 unseen, 403 seen but not covered
//! let handler = access.account(&mut tx, user, Capability::HandleRequests, &req.path, "handler_user_id").await?;
//! let cond = access.rows("r", &mut args);               // SQL: rows inside the scope
//! ```
//!
//! Every id a service is given goes through [`Access::target`] (the object
//! acted on), [`Access::reference`] (an id in a field: the field is named in
//! the error), [`Access::org`], [`Access::account`] or a predicate built here.

use crate::args;
use crate::db::{Args, Conn};
use crate::error::StoreError;
use crate::types::Code;
use redcell_domain::{CodeEnum, FieldError, OrgKind, OrgPath, Role, i18n, ids::*};
use serde::Serialize;

pub use redcell_domain::Capability;

/// A role held on an organisation.
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    pub org_id: i64,
    pub org_name: String,
    pub path: OrgPath,
    pub role: Role,
}

/// The authenticated caller.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub tenant_id: i64,
    pub username: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
}

impl Principal {
    /// The scope in which this caller has `cap` (possibly empty).
    pub fn scope(&self, cap: Capability) -> Scope {
        let mut paths: Vec<OrgPath> = self.grants.iter().filter(|g| g.role.can(cap)).map(|g| g.path.clone()).collect();
        paths.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        // Drop paths already covered by a shorter one.
        let mut kept: Vec<OrgPath> = Vec::new();
        for p in paths {
            if !kept.iter().any(|k| k.contains(&p)) {
                kept.push(p);
            }
        }
        Scope { tenant_id: self.tenant_id, paths: kept }
    }

    /// The caller's right `cap`: "forbidden" when they hold it nowhere.
    /// Every service entry point that needs a capability starts here.
    pub fn access(&self, cap: Capability) -> Result<Access<'_>, StoreError> {
        let scope = self.scope(cap);
        if scope.is_empty() {
            return Err(StoreError::Forbidden);
        }
        Ok(Access { p: self, cap, scope })
    }

    /// Does the caller hold `cap` anywhere?
    pub fn holds(&self, cap: Capability) -> bool {
        !self.scope(cap).is_empty()
    }

    /// Does the caller hold `cap` over the organisation at `path`?
    pub fn holds_at(&self, cap: Capability, path: &OrgPath) -> bool {
        self.scope(cap).contains(path)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// The highest organisations this caller can read: where their pages start.
    pub fn home_orgs(&self) -> Vec<i64> {
        self.scope(Capability::ReadRegistry).paths.iter().map(OrgPath::id).collect()
    }

    /// The caller's own id as a typed account id.
    pub fn user(&self) -> UserId {
        UserId::new(self.user_id)
    }
}

/// A set of disjoint organisation subtrees inside one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub tenant_id: i64,
    pub paths: Vec<OrgPath>,
}

impl Scope {
    /// Everything in a tenant (used by the CLI, which runs as the operator).
    pub fn whole_tenant(tenant_id: i64) -> Scope {
        Scope { tenant_id, paths: vec![OrgPath::root(tenant_id)] }
    }

    /// The subtree of one organisation.
    pub fn subtree(tenant_id: i64, path: OrgPath) -> Scope {
        Scope { tenant_id, paths: vec![path] }
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn contains(&self, path: &OrgPath) -> bool {
        self.paths.iter().any(|p| p.contains(path))
    }

    /// Is the whole tenant inside (a predicate on `tenant_id` alone suffices)?
    pub fn is_whole_tenant(&self) -> bool {
        self.paths.iter().any(|p| p.depth() == 1 && p.id() == self.tenant_id)
    }

    fn path_clause(&self, col: &str, args: &mut Args) -> String {
        if self.paths.is_empty() {
            return "1 = 0".into();
        }
        let parts: Vec<String> =
            self.paths.iter().map(|p| format!("{col} LIKE {}", args.push(p.like_pattern()))).collect();
        format!("({})", parts.join(" OR "))
    }

    /// SQL condition: the row `alias` (which has `tenant_id` and `org_id`)
    /// belongs to an organisation inside this scope.
    pub fn rows(&self, alias: &str, args: &mut Args) -> String {
        self.rows_by(alias, "org_id", args)
    }

    /// [`Scope::rows`] for a table whose organisation column is `org_col`.
    pub fn rows_by(&self, alias: &str, org_col: &str, args: &mut Args) -> String {
        let t = args.push(self.tenant_id);
        if self.is_whole_tenant() {
            return format!("{alias}.tenant_id = {t}");
        }
        let paths = self.path_clause("so.path", args);
        format!(
            "({alias}.tenant_id = {t} AND {alias}.{org_col} IN (SELECT so.id FROM orgs so WHERE so.tenant_id = {t} AND {paths}))"
        )
    }

    /// The same condition as [`Scope::orgs`] written with literals, for a
    /// sub-select whose statement cannot take more parameters. Safe: a tenant
    /// id is an integer and an [`OrgPath`] holds only digits and slashes.
    pub fn orgs_literal(&self, alias: &str) -> String {
        let parts: Vec<String> = self
            .paths
            .iter()
            .filter(|p| p.as_str().bytes().all(|b| b.is_ascii_digit() || b == b'/'))
            .map(|p| format!("{alias}.path LIKE '{}'", p.like_pattern()))
            .collect();
        if parts.is_empty() {
            return "1 = 0".into();
        }
        format!("({alias}.tenant_id = {} AND ({}))", self.tenant_id, parts.join(" OR "))
    }

    /// SQL condition on the `orgs` table itself.
    pub fn orgs(&self, alias: &str, args: &mut Args) -> String {
        let t = args.push(self.tenant_id);
        let paths = self.path_clause(&format!("{alias}.path"), args);
        format!("({alias}.tenant_id = {t} AND {paths})")
    }
}

/// SQL condition: the organisation row `alias` (of `orgs`) lies in the
/// subtree of organisation `org` (an id, looked up in the same tenant).
/// Used by list filters such as "grids of this organisation and below";
/// the caller's scope is a separate condition.
pub fn org_under_id(alias: &str, tenant_id: i64, org: impl Into<crate::db::Arg>, args: &mut Args) -> String {
    let t = args.push(tenant_id);
    let o = args.push(org);
    format!(
        "({alias}.tenant_id = {t} AND {alias}.path LIKE (SELECT sp.path FROM orgs sp WHERE sp.tenant_id = {t} AND sp.id = {o}) || '%')"
    )
}

/// Can `p` open the page of cadre `id` (the cadre's organisation lies in
/// their read scope)? A street cadre seen from a branch cannot: lists name
/// such a person without a link.
pub(crate) async fn cadre_readable(db: &crate::Db, p: &Principal, id: i64) -> Result<bool, StoreError> {
    let path: Option<(String,)> = db
        .opt(
            "SELECT o.path FROM cadres x JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.org_id \
             WHERE x.tenant_id = $1 AND x.id = $2",
            crate::args![p.tenant_id, id],
        )
        .await?;
    let read = p.scope(Capability::ReadRegistry);
    Ok(path.is_some_and(|(x,)| OrgPath::parse(&x).is_ok_and(|x| read.contains(&x))))
}

/// SQL joining `orgs cm`: the community-level organisations (居委会/村) above
/// or at the organisation row `org`, deepest last in `cm.path` order (a
/// `LEFT JOIN`: an organisation outside any community gets NULLs). The one
/// place that says which organisations are communities, for labels in words.
pub fn community_join(org: &str) -> String {
    let kinds = [OrgKind::CommunityCommittee, OrgKind::VillageGeneralBranch]
        .iter()
        .map(|k| format!("'{}'", k.code()))
        .collect::<Vec<_>>()
        .join(", ");
    format!("LEFT JOIN orgs cm ON cm.kind IN ({kinds}) AND {}", org_is_above("cm", org))
}

/// SQL: the short name of the community (社区/村; "党委" and "党总支" left
/// off) that the row `alias` (with `tenant_id`, `org_id`) belongs to, or NULL
/// outside any community. A scalar subquery, for naming places in words: "1幢
/// 1单元101" alone names a room in every community of a street.
pub fn community_of(alias: &str) -> String {
    format!(
        "(SELECT REPLACE(REPLACE(cm.name, '党委', ''), '党总支', '') FROM orgs co {} \
         WHERE co.tenant_id = {alias}.tenant_id AND co.id = {alias}.org_id ORDER BY cm.path DESC LIMIT 1)",
        community_join("co")
    )
}

/// SQL condition: the row `alias` (with `tenant_id`, `org_id`) belongs to
/// the subtree of organisation `org` (an id, looked up in the same tenant).
pub fn rows_under_id(alias: &str, tenant_id: i64, org: impl Into<crate::db::Arg>, args: &mut Args) -> String {
    rows_under_id_by(alias, "org_id", tenant_id, org, args)
}

/// [`rows_under_id`] over another organisation column of the row (e.g. a
/// transfer's receiving organisation).
pub fn rows_under_id_by(
    alias: &str,
    org_col: &str,
    tenant_id: i64,
    org: impl Into<crate::db::Arg>,
    args: &mut Args,
) -> String {
    let t = args.push(tenant_id);
    let o = args.push(org);
    format!(
        "({alias}.tenant_id = {t} AND {alias}.{org_col} IN (SELECT so.id FROM orgs so WHERE so.tenant_id = {t} AND so.path LIKE \
         (SELECT sp.path FROM orgs sp WHERE sp.tenant_id = {t} AND sp.id = {o}) || '%'))"
    )
}

/// SQL condition: the organisation row `alias` lies in the subtree at `path`.
pub fn orgs_under_path(alias: &str, tenant_id: i64, path: &OrgPath, args: &mut Args) -> String {
    Scope::subtree(tenant_id, path.clone()).orgs(alias, args)
}

/// SQL condition: the row `alias` belongs to the subtree at `path`.
pub fn rows_under_path(alias: &str, tenant_id: i64, path: &OrgPath, args: &mut Args) -> String {
    Scope::subtree(tenant_id, path.clone()).rows(alias, args)
}

/// SQL condition: the organisation row `alias` is `path`'s organisation or
/// one of its ancestors (where a grant reaching `path` can sit).
pub fn orgs_above_path(alias: &str, tenant_id: i64, path: &OrgPath, args: &mut Args) -> String {
    let t = args.push(tenant_id);
    let p = args.push(path.as_str());
    format!("({alias}.tenant_id = {t} AND {p} LIKE {alias}.path || '%')")
}

/// SQL condition joining two `orgs` rows of one tenant: `above` is `below`
/// itself or one of its ancestors (e.g. the community a grid's branch is in).
pub fn org_is_above(above: &str, below: &str) -> String {
    format!("({above}.tenant_id = {below}.tenant_id AND {below}.path LIKE {above}.path || '%')")
}

/// SQL condition: the organisation row `alias` is inside a subtree where the
/// caller holds `role` (e.g. the organisations whose open micro-wishes a
/// member may claim).
pub fn orgs_where_role(p: &Principal, role: Role, alias: &str, args: &mut Args) -> String {
    let paths: Vec<OrgPath> = p.grants.iter().filter(|g| g.role == role).map(|g| g.path.clone()).collect();
    Scope { tenant_id: p.tenant_id, paths }.orgs(alias, args)
}

/// The codes of the roles that carry `cap`, as an SQL list (`'admin', ...`):
/// literal, as role codes are fixed identifiers.
pub fn roles_with(cap: Capability) -> String {
    let codes: Vec<String> = Role::ALL.iter().filter(|r| r.can(cap)).map(|r| format!("'{}'", r.code())).collect();
    if codes.is_empty() { "NULL".into() } else { codes.join(", ") }
}

/// An organisation the caller may work on, with its place in the tree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrgRef {
    pub id: i64,
    #[serde(skip)]
    pub tenant_id: i64,
    pub name: String,
    #[schema(value_type = String)]
    pub path: OrgPath,
    #[schema(value_type = String)]
    pub kind: OrgKind,
    pub parent_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgRow {
    id: i64,
    tenant_id: i64,
    name: String,
    path: String,
    kind: Code<OrgKind>,
    parent_id: Option<i64>,
}

impl OrgRow {
    pub(crate) fn into_ref(self) -> Result<OrgRef, StoreError> {
        let path = OrgPath::parse(&self.path)
            .map_err(|_| StoreError::Internal(format!("organisation {} has a malformed path", self.id)))?;
        Ok(OrgRef {
            id: self.id,
            tenant_id: self.tenant_id,
            name: self.name,
            path,
            kind: self.kind.0,
            parent_id: self.parent_id,
        })
    }
}

pub(crate) const ORG_COLS: &str = "o.id, o.tenant_id, o.name, o.path, o.kind, o.parent_id";

impl OrgRef {
    pub fn org_id(&self) -> OrgId {
        OrgId::new(self.id)
    }

    /// The organisation `id` if it lies inside `scope` (otherwise "not found").
    pub async fn in_scope(c: &mut impl Conn, scope: &Scope, id: i64) -> Result<OrgRef, StoreError> {
        let mut a = args![id];
        let cond = scope.orgs("o", &mut a);
        let row: OrgRow = c.one(&format!("SELECT {ORG_COLS} FROM orgs o WHERE o.id = $1 AND {cond}"), a).await?;
        row.into_ref()
    }

    /// The organisation `id` of the caller's tenant, wherever it is.
    pub(crate) async fn of_tenant(c: &mut impl Conn, tenant_id: i64, id: i64) -> Result<Option<OrgRef>, StoreError> {
        let row: Option<OrgRow> = c
            .opt(&format!("SELECT {ORG_COLS} FROM orgs o WHERE o.tenant_id = $1 AND o.id = $2"), args![tenant_id, id])
            .await?;
        row.map(OrgRow::into_ref).transpose()
    }

    /// The organisation `id` for a caller who needs `cap` over it: outside
    /// their read scope it is "not found", readable but without `cap` "forbidden".
    pub async fn for_cap(c: &mut impl Conn, p: &Principal, id: i64, cap: Capability) -> Result<OrgRef, StoreError> {
        p.access(cap)?.org(c, OrgId::new(id)).await
    }

    /// SQL condition: row `alias` (with `tenant_id`, `org_id`) lies in this subtree.
    pub fn under(&self, alias: &str, a: &mut Args) -> String {
        rows_under_path(alias, self.tenant_id, &self.path, a)
    }

    /// SQL condition on an `orgs` row `alias`: it lies in this subtree.
    pub fn orgs_under(&self, alias: &str, a: &mut Args) -> String {
        orgs_under_path(alias, self.tenant_id, &self.path, a)
    }
}

/// A table whose rows belong to an organisation, by the type of its id.
pub trait Owned: TypedId {
    const TABLE: &'static str;
    /// The column naming the owning organisation (`id` for `orgs` itself).
    const ORG_COL: &'static str = "org_id";
}

macro_rules! owned {
    ($($id:ty => $table:literal $(, $col:literal)?);+ $(;)?) => {$(
        impl Owned for $id {
            const TABLE: &'static str = $table;
            $(const ORG_COL: &'static str = $col;)?
        }
    )+};
}

owned!(
    OrgId => "orgs", "id";
    GridId => "grids";
    BuildingId => "buildings";
    HouseholdId => "households";
    ResidentId => "residents";
    MemberId => "members";
    CadreId => "cadres";
    UnitId => "units";
    RequestId => "requests";
    VisitId => "duty_visits";
    MeetingId => "duty_meetings";
    ActivityId => "duty_activities";
    PostId => "demo_posts";
    PlanId => "plan_proposals";
    ContactId => "contacts";
    ExemptionId => "exemptions";
    QuotaRuleId => "quota_rules";
    BatchId => "import_batches";
);

/// Where a checked row lives: its tenant, owning organisation and its path.
#[derive(Debug, Clone)]
pub struct Owner {
    pub tenant_id: i64,
    pub org_id: i64,
    pub path: OrgPath,
}

impl Owner {
    pub fn org(&self) -> OrgId {
        OrgId::new(self.org_id)
    }
}

/// An account checked to hold a capability over an organisation.
#[derive(Debug, Clone)]
pub struct AccountRef {
    pub id: UserId,
    pub display_name: String,
}

/// A caller's right to one capability, and the scope where it holds.
#[derive(Debug, Clone)]
pub struct Access<'p> {
    pub p: &'p Principal,
    pub cap: Capability,
    pub scope: Scope,
}

impl Access<'_> {
    pub fn tenant_id(&self) -> i64 {
        self.p.tenant_id
    }

    /// Is the organisation at `path` inside this scope?
    pub fn covers(&self, path: &OrgPath) -> bool {
        self.scope.contains(path)
    }

    /// SQL condition: rows of `alias` inside this scope.
    pub fn rows(&self, alias: &str, args: &mut Args) -> String {
        self.scope.rows(alias, args)
    }

    /// SQL condition: `orgs` rows of `alias` inside this scope.
    pub fn orgs(&self, alias: &str, args: &mut Args) -> String {
        self.scope.orgs(alias, args)
    }

    /// Where the row `id` lives, if it is in the caller's tenant.
    async fn locate<K: Owned>(&self, c: &mut impl Conn, id: K) -> Result<Option<Owner>, StoreError> {
        let sql = if K::TABLE == "orgs" {
            "SELECT o.tenant_id, o.id, o.path FROM orgs o WHERE o.tenant_id = $1 AND o.id = $2".to_string()
        } else {
            format!(
                "SELECT t.tenant_id, o.id, o.path FROM {table} t JOIN orgs o ON o.tenant_id = t.tenant_id AND o.id = t.{col} \
                 WHERE t.tenant_id = $1 AND t.id = $2",
                table = K::TABLE,
                col = K::ORG_COL
            )
        };
        let row: Option<(i64, i64, String)> = c.opt(&sql, args![self.p.tenant_id, id.get()]).await?;
        match row {
            None => Ok(None),
            Some((tenant_id, org_id, path)) => {
                let path = OrgPath::parse(&path)
                    .map_err(|_| StoreError::Internal(format!("organisation {org_id} has a malformed path")))?;
                Ok(Some(Owner { tenant_id, org_id, path }))
            }
        }
    }

    /// The object a call acts on: "not found" when the caller cannot see it,
    /// "forbidden" when they can see it but do not hold this capability over it.
    pub async fn target<K: Owned>(&self, c: &mut impl Conn, id: K) -> Result<Owner, StoreError> {
        match self.locate(c, id).await? {
            Some(o) if self.covers(&o.path) => Ok(o),
            Some(o) if self.p.holds_at(Capability::ReadRegistry, &o.path) => Err(StoreError::Forbidden),
            _ => Err(StoreError::NotFound),
        }
    }

    /// An id given in `field`: the error names the field ("not found" when
    /// the caller cannot see it, "outside your scope" when they can).
    pub async fn reference<K: Owned>(&self, c: &mut impl Conn, id: K, field: &str) -> Result<Owner, StoreError> {
        match self.locate(c, id).await? {
            Some(o) if self.covers(&o.path) => Ok(o),
            Some(o) if self.p.holds_at(Capability::ReadRegistry, &o.path) => {
                Err(StoreError::Denied(FieldError::new(field, "scope", i18n::OUT_OF_SCOPE)))
            }
            _ => Err(FieldError::new(field, "not_found", i18n::NOT_FOUND).into()),
        }
    }

    /// A person (cadre or member) named in `field` on a record of the
    /// organisation at `record` (a visitor, an attendee, a participant): they
    /// belong inside this scope, or to an organisation above the record's (a
    /// street cadre at a branch's meeting). Anyone else — another community's
    /// people — is refused naming the field, and never named back.
    pub async fn participant<K: Owned>(
        &self,
        c: &mut impl Conn,
        id: K,
        record: &OrgPath,
        field: &str,
    ) -> Result<Owner, StoreError> {
        match self.locate(c, id).await? {
            Some(o) if self.covers(&o.path) || o.path.contains(record) => Ok(o),
            Some(_) => Err(StoreError::Denied(FieldError::new(field, "scope", i18n::OUT_OF_SCOPE))),
            None => Err(FieldError::new(field, "not_found", i18n::NOT_FOUND).into()),
        }
    }

    /// An optional id given in `field` (see [`Access::reference`]).
    pub async fn reference_opt<K: Owned>(
        &self,
        c: &mut impl Conn,
        id: Option<K>,
        field: &str,
    ) -> Result<Option<Owner>, StoreError> {
        match id {
            Some(id) => self.reference(c, id, field).await.map(Some),
            None => Ok(None),
        }
    }

    /// The organisation a call acts on, with its place in the tree
    /// ("not found" / "forbidden" as for [`Access::target`]).
    pub async fn org(&self, c: &mut impl Conn, id: OrgId) -> Result<OrgRef, StoreError> {
        let o = OrgRef::of_tenant(c, self.p.tenant_id, id.get()).await?;
        match o {
            Some(o) if self.covers(&o.path) => Ok(o),
            Some(o) if self.p.holds_at(Capability::ReadRegistry, &o.path) => Err(StoreError::Forbidden),
            _ => Err(StoreError::NotFound),
        }
    }

    /// An organisation given in `field` (see [`Access::reference`]).
    pub async fn org_ref(&self, c: &mut impl Conn, id: OrgId, field: &str) -> Result<OrgRef, StoreError> {
        match self.org(c, id).await {
            Ok(o) => Ok(o),
            Err(StoreError::Forbidden) => Err(StoreError::Denied(FieldError::new(field, "scope", i18n::OUT_OF_SCOPE))),
            Err(StoreError::NotFound) => Err(FieldError::new(field, "not_found", i18n::NOT_FOUND).into()),
            Err(e) => Err(e),
        }
    }

    /// An account given in `field` that must hold `needs` over the
    /// organisation at `over` (e.g. the handler a request is assigned to):
    /// an enabled account of the caller's tenant with a grant, whose role
    /// carries `needs`, on that organisation or above it. The answer never
    /// names an account that does not qualify.
    pub async fn account(
        &self,
        c: &mut impl Conn,
        user: UserId,
        needs: Capability,
        over: &OrgPath,
        field: &str,
    ) -> Result<AccountRef, StoreError> {
        let mut a = args![self.p.tenant_id, user.get()];
        let above = orgs_above_path("o", self.p.tenant_id, over, &mut a);
        let row: Option<(String,)> = c
            .opt(
                &format!(
                    "SELECT u.display_name FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.disabled = FALSE \
                     AND EXISTS (SELECT 1 FROM grants g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
                     WHERE g.user_id = u.id AND g.tenant_id = u.tenant_id AND g.role IN ({roles}) AND {above})",
                    roles = roles_with(needs)
                ),
                a,
            )
            .await?;
        match row {
            Some((display_name,)) => Ok(AccountRef { id: user, display_name }),
            None => Err(StoreError::Denied(FieldError::new(field, "scope", i18n::ACCOUNT_NOT_ELIGIBLE))),
        }
    }
}

/// The accounts that hold `needs` over the organisation at `over`, by name:
/// the choices offered where [`Access::account`] will check the answer.
pub async fn accounts_holding(
    c: &mut impl Conn,
    tenant_id: i64,
    needs: Capability,
    over: &OrgPath,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut a = args![tenant_id];
    let above = orgs_above_path("o", tenant_id, over, &mut a);
    c.all(
        &format!(
            "SELECT u.id, u.display_name FROM users u WHERE u.tenant_id = $1 AND u.disabled = FALSE \
             AND EXISTS (SELECT 1 FROM grants g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
             WHERE g.user_id = u.id AND g.tenant_id = u.tenant_id AND g.role IN ({roles}) AND {above}) \
             ORDER BY u.display_name, u.id",
            roles = roles_with(needs)
        ),
        a,
    )
    .await
}

/// The code of a stored enumeration, or an error naming the value: a code
/// the program does not know is a fault, never a silent default.
pub fn stored<T: CodeEnum>(what: &str, code: &str) -> Result<T, StoreError> {
    T::from_code(code).ok_or_else(|| StoreError::Internal(format!("unknown stored {what} code {code:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(grants: Vec<(&str, Role)>) -> Principal {
        Principal {
            user_id: 1,
            tenant_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            grants: grants
                .into_iter()
                .map(|(p, role)| {
                    let path = OrgPath::parse(p).unwrap();
                    Grant { org_id: path.id(), org_name: String::new(), path, role }
                })
                .collect(),
        }
    }

    #[test]
    fn nested_grants_collapse_and_roles_filter() {
        let p = principal(vec![("/1/2/", Role::OrgAdmin), ("/1/2/5/", Role::Secretary), ("/1/3/", Role::Auditor)]);
        let read = p.scope(Capability::ReadRegistry);
        assert_eq!(read.paths.len(), 2);
        let edit = p.scope(Capability::EditRegistry);
        assert_eq!(edit.paths, vec![OrgPath::parse("/1/2/").unwrap()]);
        assert!(p.scope(Capability::ManageUsers).contains(&OrgPath::parse("/1/2/9/").unwrap()));
        assert!(!edit.contains(&OrgPath::parse("/1/3/").unwrap()));
        assert!(p.access(Capability::ReadAudit).is_ok());
        assert!(matches!(p.access(Capability::ClaimRequests), Err(StoreError::Forbidden)));
    }

    #[test]
    fn empty_scope_matches_nothing() {
        let p = principal(vec![("/1/", Role::Resident)]);
        let s = p.scope(Capability::ReadRegistry);
        let mut a = Args::new();
        assert!(s.rows("h", &mut a).contains("1 = 0"));
        assert!(p.access(Capability::ReadRegistry).is_err());
    }

    #[test]
    fn whole_tenant_is_one_condition() {
        let p = principal(vec![("/1/", Role::Admin)]);
        let mut a = Args::new();
        assert_eq!(p.scope(Capability::ReadRegistry).rows("h", &mut a), "h.tenant_id = $1");
    }

    #[test]
    fn roles_with_a_capability() {
        assert_eq!(roles_with(Capability::ReadAudit), "'auditor'");
        assert!(roles_with(Capability::HandleRequests).contains("'grid_worker'"));
        assert!(!roles_with(Capability::HandleRequests).contains("'auditor'"));
    }
}
