//! Cadres (街道干部, 驻格干部, 班子成员, 网格员) and where they are stationed.

use super::{Page, Paged, like, paged};
use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Db, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, opt, personal, phone};
use crate::scope::{self, Access, Capability, Principal};
use crate::{Code, PhoneNo, args};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::ids::*;
use redcell_domain::input::NewCadre;
use redcell_domain::{CadreKind, i18n};
use serde::{Deserialize, Serialize};

/// A cadre as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CadreView {
    pub id: CadreId,
    pub org_id: OrgId,
    pub org_name: String,
    #[schema(value_type = String)]
    pub kind: Code<CadreKind>,
    pub name: String,
    #[schema(value_type = Option<String>)]
    pub phone: Option<PhoneNo>,
    /// The work phone the cadre agreed to publish (shown on public pages).
    pub public_phone: Option<String>,
    pub title: Option<String>,
    pub member_id: Option<MemberId>,
    /// Names of the organisations the cadre is stationed in, joined by `、`.
    pub stations: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A cadre as read from the database: what the API shows and
/// the tenant it belongs to (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Cadre {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: CadreView,
}

impl std::ops::Deref for Cadre {
    type Target = CadreView;
    fn deref(&self) -> &CadreView {
        &self.view
    }
}

/// The columns of a cadre; station names only of organisations the caller can see.
pub(crate) fn select(p: &Principal) -> String {
    let visible = p.scope(Capability::ReadRegistry).orgs_literal("so2");
    format!(
        "SELECT c.id, c.tenant_id, c.org_id, o.name AS org_name, c.kind, c.name, c.phone, c.public_phone, c.title, c.member_id, \
         (SELECT string_agg(so2.name, '、' ORDER BY so2.path) FROM cadre_stations cs JOIN orgs so2 ON so2.tenant_id = cs.tenant_id AND so2.id = cs.org_id \
           WHERE cs.tenant_id = c.tenant_id AND cs.cadre_id = c.id AND {visible}) AS stations, c.created_at, c.updated_at"
    )
}
pub(crate) const FROM: &str = "cadres c JOIN orgs o ON o.tenant_id = c.tenant_id AND o.id = c.org_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CadreFilter {
    /// Cadres of this organisation's subtree, or stationed in it.
    pub org_id: Option<OrgId>,
    /// Kind code, e.g. `stationed_cadre`.
    pub kind: Option<String>,
    /// Name contains.
    pub q: Option<String>,
}

pub async fn list(db: &Db, p: &Principal, f: &CadreFilter, page: Page) -> Result<Paged<Cadre>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, &select(p), &from_where, ORDER, a, page).await
}

/// The order of the list.
pub(crate) const ORDER: &str = "o.path, c.id";

/// The `FROM ... WHERE ...` of the list (the caller's scope and the filters) and its arguments.
pub(crate) fn filtered(p: &Principal, f: &CadreFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("c", &mut a)];
    if let Some(o) = f.org_id {
        let under = scope::org_under_id("o", p.tenant_id, o, &mut a);
        let (t, n) = (a.push(p.tenant_id), a.push(o));
        w.push(format!(
            "({under} OR c.id IN (SELECT cs.cadre_id FROM cadre_stations cs WHERE cs.tenant_id = {t} AND cs.org_id = {n}))"
        ));
    }
    if let Some(k) = f.kind.as_deref().filter(|k| !k.is_empty()) {
        w.push(format!("c.kind = {}", a.push(CadreKind::parse("kind", k)?.code())));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        w.push(format!("c.name LIKE {} ESCAPE '\\'", a.push(like(q))));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: CadreId) -> Result<Cadre, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("c", &mut a);
    db.one(&format!("{} FROM {FROM} WHERE c.id = $1 AND {c}", select(p)), a).await
}

/// The organisations a cadre is stationed in: (id, name).
pub async fn stations(db: &Db, p: &Principal, id: CadreId) -> Result<Vec<(OrgId, String)>, StoreError> {
    let mut a = args![p.tenant_id, id];
    let c = p.scope(Capability::ReadRegistry).orgs("o", &mut a);
    db.all(
        &format!(
            "SELECT o.id, o.name FROM cadre_stations cs JOIN orgs o ON o.tenant_id = cs.tenant_id AND o.id = cs.org_id \
             WHERE cs.tenant_id = $1 AND cs.cadre_id = $2 AND {c} ORDER BY o.path"
        ),
        a,
    )
    .await
}

/// A cadre row as written: the one write path of the table (the service,
/// the roster import, the demo generator), with the stations.
#[derive(Debug, Clone)]
pub(crate) struct CadreRecord {
    pub id: CadreId,
    pub org_id: OrgId,
    pub kind: CadreKind,
    pub name: String,
    pub phone: Option<String>,
    pub public_phone: Option<String>,
    pub title: Option<String>,
    pub member_id: Option<MemberId>,
}

/// Insert `rows` of `tenant` created at `at` (ids reserved by the caller).
pub(crate) async fn insert(
    tx: &mut Tx,
    tenant: i64,
    at: DateTime<Utc>,
    rows: &[CadreRecord],
) -> Result<(), StoreError> {
    let statements = bulk_statements(
        tx.backend(),
        "INSERT INTO cadres (id, tenant_id, org_id, kind, name, phone, public_phone, title, member_id, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        BATCH_ROWS,
        |c, a| {
            a.0.extend([
                Arg::from(c.id),
                Arg::from(c.org_id),
                Arg::from(c.kind.code()),
                Arg::Text(c.name.clone()),
                Arg::OptText(c.phone.clone()),
                Arg::OptText(c.public_phone.clone()),
                Arg::OptText(c.title.clone()),
                Arg::from(c.member_id),
            ])
        },
    );
    for (sql, a) in statements {
        tx.exec(&sql, a).await?;
    }
    Ok(())
}

/// Insert stations `(cadre, organisation)` of `tenant`: the one write path of
/// `cadre_stations`.
pub(crate) async fn insert_stations(tx: &mut Tx, tenant: i64, rows: &[(CadreId, OrgId)]) -> Result<(), StoreError> {
    let statements = bulk_statements(
        tx.backend(),
        "INSERT INTO cadre_stations (tenant_id, cadre_id, org_id) VALUES ",
        "($1,?,?)",
        &[Arg::I64(tenant)],
        rows,
        BATCH_ROWS,
        |(c, o), a| a.0.extend([Arg::from(*c), Arg::from(*o)]),
    );
    for (sql, a) in statements {
        tx.exec(&sql, a).await?;
    }
    Ok(())
}

/// Replace the stations the caller may edit with `n.stations`. Stations in
/// organisations outside the caller's edit scope (which their form does not
/// show) are kept as they are.
async fn write_stations(
    tx: &mut Tx,
    access: &Access<'_>,
    tenant_id: i64,
    id: CadreId,
    n: &NewCadre,
) -> Result<(), StoreError> {
    let mut a = args![tenant_id, id];
    let c = access.orgs("so", &mut a);
    tx.exec(
        &format!("DELETE FROM cadre_stations WHERE tenant_id = $1 AND cadre_id = $2 AND org_id IN (SELECT so.id FROM orgs so WHERE {c})"),
        a,
    )
    .await?;
    let kept: Vec<(OrgId,)> = tx
        .all("SELECT org_id FROM cadre_stations WHERE tenant_id = $1 AND cadre_id = $2", args![tenant_id, id])
        .await?;
    let mut added = Vec::new();
    for org in n.stations.iter().filter(|o| !kept.contains(&(**o,))) {
        access.org_ref(tx, *org, "stations").await?;
        added.push((id, *org));
    }
    insert_stations(tx, tenant_id, &added).await
}

/// The member a cadre is tied to must be one the caller can see (a link that
/// is already there, `current`, may be kept).
async fn check_member(tx: &mut Tx, p: &Principal, n: &NewCadre, current: Option<MemberId>) -> Result<(), StoreError> {
    if let Some(m) = n.member_id.filter(|m| Some(*m) != current) {
        p.access(Capability::ReadRegistry)?.reference(tx, m, "member_id").await?;
    }
    Ok(())
}

pub async fn create(db: &Db, p: &Principal, n: NewCadre) -> Result<Cadre, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.org_ref(&mut tx, n.org_id, "org_id").await?;
    check_member(&mut tx, p, &n, None).await?;
    let id = CadreId::new(reserve_ids(&mut tx, "cadres", 1).await?);
    let row = CadreRecord {
        id,
        org_id: n.org_id,
        kind: n.kind,
        name: n.name.clone(),
        phone: n.phone.as_ref().map(|x| x.as_str().to_string()),
        public_phone: n.public_phone.as_ref().map(|x| x.as_str().to_string()),
        title: n.title.clone(),
        member_id: n.member_id,
    };
    insert(&mut tx, owner.tenant_id, Utc::now(), &[row]).await?;
    write_stations(&mut tx, &access, owner.tenant_id, id, &n).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "cadre",
        "cadres",
        owner.tenant_id,
        id.get(),
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: CadreId, n: NewCadre) -> Result<Cadre, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "cadres", me.tenant_id, id.get()).await?;
    access.org_ref(&mut tx, n.org_id, "org_id").await?;
    let (current,): (Option<MemberId>,) =
        tx.one("SELECT member_id FROM cadres WHERE tenant_id = $1 AND id = $2", args![me.tenant_id, id]).await?;
    check_member(&mut tx, p, &n, current).await?;
    tx.exec(
        "UPDATE cadres SET org_id = $1, kind = $2, name = $3, phone = $4, title = $5, member_id = $6, updated_at = $7, \
         public_phone = $8 WHERE tenant_id = $9 AND id = $10",
        args![
            n.org_id,
            n.kind.code(),
            n.name.clone(),
            n.phone.as_ref().map(|x| x.as_str().to_string()),
            n.title.clone(),
            n.member_id,
            Utc::now(),
            n.public_phone.as_ref().map(|x| x.as_str().to_string()),
            me.tenant_id,
            id
        ],
    )
    .await?;
    write_stations(&mut tx, &access, me.tenant_id, id, &n).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "cadre",
        "cadres",
        me.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: CadreId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    crate::coverage::contacts::end_all_for(&mut tx, owner.tenant_id, "cadre", id.get(), p.user_id, "干部信息已删除")
        .await?;
    let before = audit::snapshot(&mut tx, "cadres", owner.tenant_id, id.get()).await?;
    tx.exec("DELETE FROM cadre_stations WHERE tenant_id = $1 AND cadre_id = $2", args![owner.tenant_id, id]).await?;
    tx.exec("DELETE FROM cadres WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "cadre",
        "cadres",
        owner.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The list as a file (导出).
pub struct CadreList;

impl Exportable for CadreList {
    const CODE: &'static str = "cadres";
    const LABEL: &'static str = "干部名册";
    const TAG: &'static str = "cadres";
    type Filter = CadreFilter;
    type Row = Cadre;
    fn columns(m: Mask) -> Vec<Column> {
        vec![
            Column::text("姓名"),
            Column::text("类别"),
            Column::text("所属组织"),
            Column::text("职务"),
            Column::ident(personal(i18n::EXPORT_PHONE, m)),
            Column::text("驻点组织"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f)?, &select(q), ORDER))
    }
    fn cells(c: &Self::Row, m: Mask) -> Vec<String> {
        vec![
            c.name.clone(),
            c.kind.to_string(),
            c.org_name.clone(),
            opt(&c.title),
            phone(&c.phone, m),
            opt(&c.stations),
        ]
    }
}
