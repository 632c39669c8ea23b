//! Resident requests, micro-wishes and errands (SPEC §3): categories with
//! their routing and deadline, submission (public, on a resident's behalf,
//! Open311), the transitions of the one state machine with their append-only
//! history, 联办 parts, 上报 chases, revisit links, the wish board and the
//! statistics. Every list goes through the scope filter on the routed
//! organisation; every change writes its audit row in the same transaction.

pub mod escalate;
pub mod keys;
pub mod seed;
pub mod wishes;

use crate::audit;
use crate::calendar;
use crate::db::{Args, Db, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, catalogue, local_time, opt, phone_text, yes};
use crate::registry::{Page, Paged};
use crate::scope::{Capability, Principal};
use crate::{args, auth};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use redcell_domain::calendar::shanghai_date;
use redcell_domain::export::{Column, ColumnKind};
use redcell_domain::phone::mask_phone;
use redcell_domain::requests::{
    Action, ActorRole, Card, Ctx, ErrandClass, FixOutcome, NewCategory, NewRequest, PartStatus, RequestKind,
    RequestState, Satisfaction, TransitionError, due_date, transition,
};
use redcell_domain::{CodeEnum, FieldError, OrgPath, i18n};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Public submissions allowed per client address in [`SUBMIT_WINDOW_MINUTES`].
pub const SUBMITS_PER_WINDOW: i64 = 5;
pub const SUBMIT_WINDOW_MINUTES: i64 = 10;
/// How long a revisit link stays valid.
pub const REVISIT_LINK_DAYS: i64 = 14;

fn label<T: CodeEnum>(code: &str) -> &'static str {
    T::from_code(code).map(T::label).unwrap_or("")
}

// ---- categories

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Category {
    pub id: i64,
    pub tenant_id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub org_id: Option<i64>,
    pub working_days: i64,
    pub class: String,
}

impl Category {
    pub fn kind_label(&self) -> &'static str {
        label::<RequestKind>(&self.kind)
    }
    pub fn class_label(&self) -> &'static str {
        label::<ErrandClass>(&self.class)
    }
}

const CAT_COLS: &str = "id, tenant_id, code, name, kind, org_id, working_days, class";

/// The categories of a tenant (public: the submission form and Open311 list them).
pub async fn categories(db: &Db, tenant_id: i64) -> Result<Vec<Category>, StoreError> {
    db.all(
        &format!("SELECT {CAT_COLS} FROM request_categories WHERE tenant_id = $1 ORDER BY kind, code"),
        args![tenant_id],
    )
    .await
}

pub async fn category_by_code(db: &Db, tenant_id: i64, code: &str) -> Result<Category, StoreError> {
    db.opt(
        &format!("SELECT {CAT_COLS} FROM request_categories WHERE tenant_id = $1 AND code = $2"),
        args![tenant_id, code.trim()],
    )
    .await?
    .ok_or_else(|| FieldError::new("category", "unknown", i18n::REQ_CATEGORY_UNKNOWN).into())
}

/// The tenant that takes public submissions when the page names none: the
/// first one with categories.
pub async fn default_tenant(db: &Db) -> Result<i64, StoreError> {
    let t: Option<(i64,)> =
        db.opt("SELECT tenant_id FROM request_categories ORDER BY tenant_id LIMIT 1", Args::new()).await?;
    t.map(|(t,)| t).ok_or(StoreError::NotFound)
}

/// Add a category; the caller must edit the tenant's root (categories are tenant-wide).
pub async fn create_category(db: &Db, p: &Principal, c: NewCategory) -> Result<Category, StoreError> {
    let root = crate::registry::orgs::get(db, p, p.tenant_id).await.map_err(|_| StoreError::Forbidden)?;
    if !p.scope(Capability::EditRegistry).contains(&root.org_path()) {
        return Err(StoreError::Forbidden);
    }
    if let Some(org) = c.org_id {
        crate::registry::orgs::get(db, p, org)
            .await
            .map_err(|_| FieldError::new("org_id", "unknown", i18n::NOT_FOUND))?;
    }
    let mut tx = db.begin().await?;
    let id = insert_category(&mut tx, p.tenant_id, &c).await.map_err(|e| {
        if e.is_unique_violation() { FieldError::new("code", "duplicate", "类别编码已存在").into() } else { e }
    })?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "create", "request_category", Some(id), &c.name).await?;
    tx.commit().await?;
    db.one(
        &format!("SELECT {CAT_COLS} FROM request_categories WHERE tenant_id = $1 AND id = $2"),
        args![p.tenant_id, id],
    )
    .await
}

pub(crate) async fn insert_category(tx: &mut Tx, tenant_id: i64, c: &NewCategory) -> Result<i64, StoreError> {
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
}

// ---- requests

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Resident,
    Staff,
    Open311,
    Demo,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Source::Resident => "resident",
            Source::Staff => "staff",
            Source::Open311 => "open311",
            Source::Demo => "demo",
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Request {
    pub id: i64,
    pub tenant_id: i64,
    pub code: String,
    pub kind: String,
    pub category_id: i64,
    pub category_code: String,
    pub category_name: String,
    pub class: String,
    pub source: String,
    pub description: String,
    pub grid_id: Option<i64>,
    pub building_id: Option<i64>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub contact_name: Option<String>,
    /// Never serialised in the clear: masked as in [`Request::phone_masked`].
    #[serde(serialize_with = "masked_phone")]
    #[schema(value_type = Option<String>, example = "139****5678")]
    pub contact_phone: Option<String>,
    pub photo_file_id: Option<i64>,
    /// The micro-wish completion photo.
    pub wish_photo_file_id: Option<i64>,
    pub org_id: i64,
    pub org_name: String,
    pub org_path: String,
    pub handler_user_id: Option<i64>,
    pub handler_name: Option<String>,
    pub state: String,
    pub received_on: NaiveDate,
    pub promised_date: Option<NaiveDate>,
    pub due_date: NaiveDate,
    pub paused_on: Option<NaiveDate>,
    pub days_left: Option<i64>,
    pub materials_requested: bool,
    pub card: String,
    pub escalated_org_id: Option<i64>,
    pub duplicate_of: Option<i64>,
    pub refusal_reason: Option<String>,
    pub fix_outcome: Option<String>,
    pub satisfaction: Option<String>,
    pub revisit_comment: Option<String>,
    pub wish_stage: Option<String>,
    pub wish_round: Option<i64>,
    pub wish_claimed_by: Option<i64>,
    pub wish_claimed_on: Option<NaiveDate>,
    pub wish_contacted_on: Option<NaiveDate>,
    pub submitted_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

fn masked_phone<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(p) => s.serialize_some(&mask_phone(p)),
        None => s.serialize_none(),
    }
}

impl Request {
    pub fn state(&self) -> RequestState {
        RequestState::from_code(&self.state).unwrap_or(RequestState::Submitted)
    }
    pub fn state_label(&self) -> &'static str {
        label::<RequestState>(&self.state)
    }
    pub fn kind_label(&self) -> &'static str {
        label::<RequestKind>(&self.kind)
    }
    pub fn class_label(&self) -> &'static str {
        label::<ErrandClass>(&self.class)
    }
    pub fn card_label(&self) -> &'static str {
        label::<Card>(&self.card)
    }
    pub fn outcome_label(&self) -> &'static str {
        self.fix_outcome.as_deref().map(label::<FixOutcome>).unwrap_or("")
    }
    pub fn satisfaction_label(&self) -> &'static str {
        self.satisfaction.as_deref().map(label::<Satisfaction>).unwrap_or("")
    }
    pub fn phone_masked(&self) -> String {
        self.contact_phone.as_deref().map(mask_phone).unwrap_or_default()
    }
    pub fn path(&self) -> OrgPath {
        OrgPath::parse(&self.org_path).unwrap_or_else(|_| OrgPath::root(self.tenant_id))
    }
    /// Open and past its due date (the clock is not paused).
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.state().is_open() && self.paused_on.is_none() && today > self.due_date
    }
}

/// The `SELECT ... FROM` of a request row (with its category, organisation and handler).
pub(crate) const SELECT: &str = "SELECT r.id, r.tenant_id, r.code, r.kind, r.category_id, c.code AS category_code, \
    c.name AS category_name, r.class, r.source, r.description, r.grid_id, r.building_id, r.address, r.lat, r.lon, \
    r.contact_name, r.contact_phone, r.photo_file_id, r.wish_photo_file_id, r.org_id, o.name AS org_name, o.path AS org_path, \
    r.handler_user_id, u.display_name AS handler_name, r.state, r.received_on, r.promised_date, r.due_date, \
    r.paused_on, r.days_left, r.materials_requested, r.card, r.escalated_org_id, r.duplicate_of, r.refusal_reason, \
    r.fix_outcome, r.satisfaction, r.revisit_comment, r.wish_stage, r.wish_round, r.wish_claimed_by, \
    r.wish_claimed_on, r.wish_contacted_on, r.submitted_at, r.resolved_at, r.closed_at, r.updated_at \
    FROM requests r JOIN request_categories c ON c.tenant_id = r.tenant_id AND c.id = r.category_id \
    JOIN orgs o ON o.tenant_id = r.tenant_id AND o.id = r.org_id LEFT JOIN users u ON u.id = r.handler_user_id";

/// What the submitter gets back: the code to follow the request by.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    pub id: i64,
    pub code: String,
    pub due_date: NaiveDate,
}

/// An uploaded photo: the file name and bytes.
pub struct Photo<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Count a public submission from `ip`; refuse when there were too many recently.
pub async fn rate_limit(db: &Db, ip: &str) -> Result<(), StoreError> {
    crate::auth::sliding_window_limit(db, "request_submit_attempts", ip, SUBMIT_WINDOW_MINUTES, SUBMITS_PER_WINDOW)
        .await
}

/// Check a photo: a sniffed image (not a PDF) within the size limit.
pub fn check_photo(bytes: &[u8]) -> Result<&'static str, FieldError> {
    if bytes.len() > crate::files::MAX_BYTES {
        return Err(FieldError::new("photo", "too_large", i18n::REQ_PHOTO_TOO_LARGE));
    }
    match crate::files::sniff(bytes) {
        Some(t) if t.starts_with("image/") => Ok(t),
        _ => Err(FieldError::new("photo", "type", i18n::REQ_PHOTO_TYPE)),
    }
}

/// Where a new request goes: the category's own organisation when it names
/// one, else the organisation of the grid (or the building's grid), else the
/// tenant's root.
async fn route(tx: &mut Tx, tenant_id: i64, cat: &Category, n: &NewRequest) -> Result<(i64, Option<i64>), StoreError> {
    let mut grid_id = n.grid_id;
    if let Some(b) = n.building_id {
        let g: Option<(i64,)> =
            tx.opt("SELECT grid_id FROM buildings WHERE tenant_id = $1 AND id = $2", args![tenant_id, b]).await?;
        let Some((g,)) = g else {
            return Err(FieldError::new("building_id", "unknown", i18n::NOT_FOUND).into());
        };
        grid_id = Some(g);
    }
    let grid_org = match grid_id {
        Some(g) => {
            let o: Option<(i64,)> =
                tx.opt("SELECT org_id FROM grids WHERE tenant_id = $1 AND id = $2", args![tenant_id, g]).await?;
            match o {
                Some((o,)) => Some(o),
                None => return Err(FieldError::new("grid_id", "unknown", i18n::NOT_FOUND).into()),
            }
        }
        None => None,
    };
    Ok((cat.org_id.or(grid_org).unwrap_or(tenant_id), grid_id))
}

fn new_code() -> Result<String, StoreError> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| StoreError::Internal(format!("random: {e}")))?;
    Ok(redcell_domain::requests::follow_code(&b))
}

/// Register a request. `by` is the staff member entering it on a resident's
/// behalf (None for the public page and Open311). The deadline follows the
/// class: the category's default unless the input names one.
pub async fn submit(
    db: &Db,
    tenant_id: i64,
    n: NewRequest,
    source: Source,
    by: Option<&Principal>,
    photo: Option<Photo<'_>>,
) -> Result<Submitted, StoreError> {
    let cal = calendar::load(db, tenant_id).await?;
    let mut tx = db.begin().await?;
    let sub = submit_in(&mut tx, &cal, tenant_id, n, source, by, photo).await?;
    tx.commit().await?;
    Ok(sub)
}

/// [`submit`] inside the caller's transaction (e.g. a visit that raises a
/// request writes both or neither). `cal` is the tenant's holiday calendar
/// ([`calendar::load`]). Nothing is committed here.
pub async fn submit_in(
    tx: &mut Tx,
    cal: &redcell_domain::calendar::HolidayCalendar,
    tenant_id: i64,
    n: NewRequest,
    source: Source,
    by: Option<&Principal>,
    photo: Option<Photo<'_>>,
) -> Result<Submitted, StoreError> {
    let cat: Category = tx
        .opt(
            &format!("SELECT {CAT_COLS} FROM request_categories WHERE tenant_id = $1 AND code = $2"),
            args![tenant_id, n.category.trim()],
        )
        .await?
        .ok_or_else(|| StoreError::from(FieldError::new("category", "unknown", i18n::REQ_CATEGORY_UNKNOWN)))?;
    if let Some(k) = n.kind
        && k.code() != cat.kind
    {
        return Err(FieldError::new("category", "kind", i18n::REQ_CATEGORY_KIND).into());
    }
    let photo_type = match &photo {
        Some(ph) => Some(check_photo(ph.bytes)?),
        None => None,
    };
    let now = Utc::now();
    let today = shanghai_date(now);
    let class = n.class.unwrap_or_else(|| ErrandClass::from_code(&cat.class).unwrap_or(ErrandClass::Promised));
    let working_days = u32::try_from(cat.working_days.max(0)).unwrap_or(0);
    // A category whose default class is 承诺件 takes the promised date when the
    // submitter gives one; otherwise its working days until the promise is made.
    let rule = if class == ErrandClass::Promised && n.promised_date.is_none() && n.class.is_none() {
        ErrandClass::Joint
    } else {
        class
    };
    let due = due_date(cal, rule, today, working_days, n.promised_date)?;
    let wish = cat.kind == RequestKind::Wish.code();
    let mut n = n;
    if let Some(h) = n.household_id {
        // Only staff registering on a resident's behalf pick a household, inside their scope.
        let Some(p) = by else {
            return Err(FieldError::new("household_id", "staff", i18n::REQ_HOUSEHOLD_STAFF_ONLY).into());
        };
        let hh = crate::registry::households::get_in(tx, p, h)
            .await
            .map_err(|_| FieldError::new("household_id", "unknown", i18n::NOT_FOUND))?;
        n.building_id = Some(hh.building_id);
        if n.address.is_none() {
            n.address = Some(hh.label());
        }
    }
    let (org_id, grid_id) = route(tx, tenant_id, &cat, &n).await?;
    if let Some(p) = by
        && !p.scope(Capability::EditRegistry).contains(&org_path(tx, tenant_id, org_id).await?)
    {
        return Err(StoreError::Forbidden);
    }
    let mut attempt = 0;
    let (id, code) = loop {
        let code = new_code()?;
        let r = tx
            .int(
                "INSERT INTO requests (tenant_id, code, kind, category_id, class, source, description, grid_id, \
                 building_id, address, lat, lon, contact_name, contact_phone, org_id, state, received_on, \
                 promised_date, due_date, wish_stage, wish_round, submitted_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22) \
                 RETURNING id",
                args![
                    tenant_id,
                    code.as_str(),
                    cat.kind.as_str(),
                    cat.id,
                    class.code(),
                    source.code(),
                    n.description.as_str(),
                    grid_id,
                    n.building_id,
                    n.address.clone(),
                    n.lat,
                    n.lon,
                    n.contact_name.clone(),
                    n.contact_phone.as_ref().map(|p| p.as_str().to_string()),
                    org_id,
                    RequestState::Submitted.code(),
                    today,
                    n.promised_date,
                    due,
                    wish.then(|| redcell_domain::requests::WishStage::Unverified.code().to_string()),
                    wish.then_some(1i64),
                    now
                ],
            )
            .await;
        match r {
            Ok(id) => break (id, code),
            Err(e) if e.is_unique_violation() && attempt < 3 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    if let (Some(ph), Some(ct)) = (photo, photo_type) {
        let fid =
            insert_file(tx, tenant_id, org_id, "request", id, ph.name, ct, ph.bytes, by.map(|p| p.user_id)).await?;
        tx.exec("UPDATE requests SET photo_file_id = $1 WHERE tenant_id = $2 AND id = $3", args![fid, tenant_id, id])
            .await?;
    }
    let role = if by.is_some() { ActorRole::Staff } else { ActorRole::Resident };
    let acting_for = if by.is_some() { n.acting_for.as_deref().or(n.contact_name.as_deref()) } else { None };
    history(
        tx,
        tenant_id,
        id,
        by.map(|p| p.user_id),
        role,
        acting_for,
        "submit",
        RequestState::Submitted,
        RequestState::Submitted,
        None,
        true,
    )
    .await?;
    audit::record(
        tx,
        tenant_id,
        by.map(|p| p.user_id),
        "submit_request",
        "request",
        Some(id),
        &format!("{code} {} ({})", cat.name, source.code()),
    )
    .await?;
    Ok(Submitted { id, code, due_date: due })
}

/// Store an uploaded image in the shared files table (owner `request`/`wish`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_file(
    tx: &mut Tx,
    tenant_id: i64,
    org_id: i64,
    owner_kind: &str,
    owner_id: i64,
    name: &str,
    content_type: &str,
    bytes: &[u8],
    by: Option<i64>,
) -> Result<i64, StoreError> {
    let name: String =
        name.rsplit(['/', '\\']).next().unwrap_or("").chars().filter(|c| !c.is_control()).take(100).collect();
    let name = if name.trim().is_empty() { "photo".to_string() } else { name };
    tx.int(
        "INSERT INTO files (tenant_id, org_id, owner_kind, owner_id, name, content_type, size, sha256, data, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        Args(vec![
            tenant_id.into(),
            org_id.into(),
            owner_kind.into(),
            owner_id.into(),
            name.into(),
            content_type.into(),
            (bytes.len() as i64).into(),
            hex::encode(Sha256::digest(bytes)).into(),
            crate::db::Arg::Bytes(bytes.to_vec()),
            by.into(),
            Utc::now().into(),
        ]),
    )
    .await
}

async fn org_path(tx: &mut Tx, tenant_id: i64, org_id: i64) -> Result<OrgPath, StoreError> {
    let (path,): (String,) =
        tx.one("SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2", args![tenant_id, org_id]).await?;
    OrgPath::parse(&path).map_err(|e| StoreError::Internal(format!("org path: {e:?}")))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn history(
    tx: &mut Tx,
    tenant_id: i64,
    request_id: i64,
    actor: Option<i64>,
    role: ActorRole,
    acting_for: Option<&str>,
    action: &str,
    from: RequestState,
    to: RequestState,
    note: Option<&str>,
    public: bool,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO request_history (tenant_id, request_id, at, actor_user_id, actor_role, acting_for, action, \
         from_state, to_state, note, public) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![
            tenant_id,
            request_id,
            Utc::now(),
            actor,
            role.code(),
            acting_for.map(str::to_string),
            action,
            from.code(),
            to.code(),
            note.map(str::to_string),
            public
        ],
    )
    .await?;
    Ok(())
}

/// Who may see a request: staff whose read scope covers its organisation, its
/// handler, or a member of an organisation above it (to claim it).
fn roles_of(p: &Principal, r: &Request) -> Vec<ActorRole> {
    let path = r.path();
    let mut v = Vec::new();
    if r.handler_user_id == Some(p.user_id) {
        v.push(ActorRole::Handler);
    }
    if p.scope(Capability::EditRegistry).contains(&path) {
        v.push(ActorRole::Staff);
    }
    if p.grants.iter().any(|g| matches!(g.role, redcell_domain::Role::Member) && g.path.contains(&path)) {
        v.push(ActorRole::Member);
    }
    v
}

/// A request the caller may see (read scope, or they handle it).
pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Request, StoreError> {
    let mut a = args![id, p.user_id];
    let c = p.scope(Capability::ReadRegistry).rows("r", &mut a);
    let m = claimable_clause(p, &mut a);
    let t = a.push(p.tenant_id);
    db.one(&format!("{SELECT} WHERE r.id = $1 AND r.tenant_id = {t} AND ({c} OR r.handler_user_id = $2 OR {m})"), a)
        .await
}

/// Requests open for claiming by the caller as an in-service member: accepted
/// or reopened, nobody handling them, routed inside an organisation the caller
/// is a member of (micro-wishes have their own board).
fn claimable_clause(p: &Principal, a: &mut Args) -> String {
    let paths: Vec<String> = p
        .grants
        .iter()
        .filter(|g| matches!(g.role, redcell_domain::Role::Member))
        .map(|g| format!("o.path LIKE {}", a.push(g.path.like_pattern())))
        .collect();
    if paths.is_empty() {
        return "1 = 0".into();
    }
    format!(
        "(r.handler_user_id IS NULL AND r.kind <> 'wish' AND r.state IN ('{}', '{}') AND ({}))",
        RequestState::Accepted.code(),
        RequestState::Reopened.code(),
        paths.join(" OR ")
    )
}

/// What an in-service member may claim now (for "my tasks").
pub async fn claimable(db: &Db, p: &Principal) -> Result<Vec<Request>, StoreError> {
    let mut a = args![p.tenant_id];
    let m = claimable_clause(p, &mut a);
    db.all(&format!("{SELECT} WHERE r.tenant_id = $1 AND {m} ORDER BY r.due_date, r.id LIMIT 100"), a).await
}

async fn get_in(tx: &mut Tx, tenant_id: i64, id: i64) -> Result<Request, StoreError> {
    tx.one(&format!("{SELECT} WHERE r.tenant_id = $1 AND r.id = $2"), args![tenant_id, id]).await
}

/// The actions the caller may take on a request now.
pub fn actions_for(p: &Principal, r: &Request) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::new();
    for role in roles_of(p, r) {
        let handled = r.handler_user_id.is_some();
        for a in redcell_domain::requests::allowed_actions_on(r.state(), role, r.materials_requested, handled) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// Filters of the back-office queue.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Request kind code (wish, opinion, dispute, hazard, errand).
    pub kind: Option<String>,
    /// A state code, or `open` for every state still to be handled.
    pub state: Option<String>,
    /// Any non-empty value: only open requests past their due date.
    pub overdue: Option<String>,
    /// Only requests routed inside this organisation's subtree.
    pub org_id: Option<String>,
    /// Follow code or text in the description.
    pub q: Option<String>,
}

/// The queue: requests routed inside the caller's read scope.
pub async fn list(db: &Db, p: &Principal, f: &Filter, page: Page) -> Result<Paged<Request>, StoreError> {
    let (cond, a) = filtered(p, f);
    paged(db, &cond, a, page).await
}

/// The order of the queue: newest first.
pub(crate) const ORDER: &str = "r.id DESC";

/// The condition of the queue (the caller's read scope and the filters, on
/// `requests r` alone) and its arguments: the list and its export share it.
pub(crate) fn filtered(p: &Principal, f: &Filter) -> (String, Args) {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("r", &mut a)];
    if let Some(k) = f.kind.as_deref().and_then(RequestKind::from_code) {
        w.push(format!("r.kind = {}", a.push(k.code())));
    }
    if let Some(s) = f.state.as_deref().filter(|s| !s.is_empty()) {
        if s == "open" {
            w.push(open_clause());
        } else if let Some(s) = RequestState::from_code(s) {
            w.push(format!("r.state = {}", a.push(s.code())));
        }
    }
    if f.overdue.as_deref().is_some_and(|x| !x.is_empty()) {
        w.push(format!(
            "{} AND r.paused_on IS NULL AND r.due_date < {}",
            open_clause(),
            a.push(shanghai_date(Utc::now()))
        ));
    }
    if let Some(o) = f.org_id.as_deref().and_then(|o| o.trim().parse::<i64>().ok()) {
        w.push(format!(
            "r.org_id IN (SELECT x.id FROM orgs x WHERE x.tenant_id = r.tenant_id AND x.path LIKE \
             (SELECT y.path FROM orgs y WHERE y.tenant_id = r.tenant_id AND y.id = {}) || '%')",
            a.push(o)
        ));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let n = a.push(format!("%{}%", q.replace(['%', '_'], "")));
        w.push(format!("(r.code LIKE {n} OR r.description LIKE {n})"));
    }
    (w.join(" AND "), a)
}

fn open_clause() -> String {
    let open: Vec<String> =
        RequestState::ALL.iter().filter(|s| s.is_open()).map(|s| format!("'{}'", s.code())).collect();
    format!("r.state IN ({})", open.join(", "))
}

async fn paged(db: &Db, cond: &str, mut a: Args, page: Page) -> Result<Paged<Request>, StoreError> {
    let total = db.int(&format!("SELECT COUNT(*) FROM requests r WHERE {cond}"), a.clone()).await?;
    let limit = a.push(i64::from(page.size()));
    let offset = a.push(i64::from(page.number() - 1) * i64::from(page.size()));
    let items = db.all(&format!("{SELECT} WHERE {cond} ORDER BY {ORDER} LIMIT {limit} OFFSET {offset}"), a).await?;
    Ok(Paged { items, total, page: page.number(), per_page: page.size() })
}

/// "My tasks": open requests the caller handles.
pub async fn my_tasks(db: &Db, p: &Principal) -> Result<Vec<Request>, StoreError> {
    db.all(
        &format!(
            "{SELECT} WHERE r.tenant_id = $1 AND r.handler_user_id = $2 AND {} ORDER BY r.due_date, r.id",
            open_clause()
        ),
        args![p.tenant_id, p.user_id],
    )
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryRow {
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_name: Option<String>,
    pub actor_role: String,
    pub acting_for: Option<String>,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub note: Option<String>,
    pub public: bool,
}

impl HistoryRow {
    pub fn action_label(&self) -> String {
        match Action::from_code(&self.action) {
            Some(a) => a.label().to_string(),
            None => match self.action.as_str() {
                "submit" => "提交".into(),
                "card" => "催办/预警".into(),
                "chase" => "催报".into(),
                "part" => "联办进度".into(),
                "wish" => "微心愿".into(),
                other => other.into(),
            },
        }
    }
    pub fn to_label(&self) -> &'static str {
        label::<RequestState>(&self.to_state)
    }
    pub fn role_label(&self) -> &'static str {
        label::<ActorRole>(&self.actor_role)
    }
    /// Shanghai local time for display.
    pub fn local(&self) -> String {
        (self.at + Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
    }
}

async fn history_rows(db: &Db, tenant_id: i64, id: i64, public_only: bool) -> Result<Vec<HistoryRow>, StoreError> {
    let filter = if public_only { " AND h.public = TRUE" } else { "" };
    db.all(
        &format!(
            "SELECT h.at, h.actor_user_id, u.display_name AS actor_name, h.actor_role, h.acting_for, h.action, \
             h.from_state, h.to_state, h.note, h.public FROM request_history h LEFT JOIN users u ON u.id = h.actor_user_id \
             WHERE h.tenant_id = $1 AND h.request_id = $2{filter} ORDER BY h.id"
        ),
        args![tenant_id, id],
    )
    .await
}

/// The full history of a request the caller may see.
pub async fn history_of(db: &Db, p: &Principal, id: i64) -> Result<Vec<HistoryRow>, StoreError> {
    let r = get(db, p, id).await?;
    history_rows(db, r.tenant_id, r.id, false).await
}

/// What a resident sees when following a request by its code: state, public
/// notes (without who wrote them), refusal reason, due date. No staff names,
/// no phone numbers.
#[derive(Debug, Clone, Serialize)]
pub struct PublicView {
    pub code: String,
    pub kind: String,
    pub category: String,
    pub state: String,
    pub state_code: String,
    pub submitted_on: NaiveDate,
    pub due_date: NaiveDate,
    pub paused: bool,
    pub refusal_reason: Option<String>,
    pub notes: Vec<PublicNote>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicNote {
    /// Shanghai local time for display.
    pub at: String,
    /// The instant (for machine readers such as Open311).
    pub at_utc: DateTime<Utc>,
    pub what: String,
    pub state: String,
    pub note: Option<String>,
}

pub async fn public_view(db: &Db, code: &str) -> Result<(Request, PublicView), StoreError> {
    let code = code.trim().to_ascii_uppercase();
    let r: Request = db.one(&format!("{SELECT} WHERE r.code = $1 ORDER BY r.id LIMIT 1"), args![code]).await?;
    let notes = history_rows(db, r.tenant_id, r.id, true)
        .await?
        .into_iter()
        .map(|h| PublicNote {
            at: h.local(),
            at_utc: h.at,
            what: h.action_label(),
            state: h.to_label().into(),
            note: h.note.clone(),
        })
        .collect();
    let v = PublicView {
        code: r.code.clone(),
        kind: r.kind_label().into(),
        category: r.category_name.clone(),
        state: r.state_label().into(),
        state_code: r.state.clone(),
        submitted_on: r.received_on,
        due_date: r.due_date,
        paused: r.paused_on.is_some(),
        refusal_reason: r.refusal_reason.clone(),
        notes,
    };
    Ok((r, v))
}

/// One action on a request, with its input.
#[derive(Debug, Clone, Default)]
pub struct ActInput {
    pub note: Option<String>,
    pub handler_user_id: Option<i64>,
    pub duplicate_of: Option<String>,
    pub outcome: Option<FixOutcome>,
    pub satisfaction: Option<Satisfaction>,
    /// The person acted for (a resident on whose behalf staff records something).
    pub acting_for: Option<String>,
    /// The note is internal (not shown to the resident).
    pub internal: bool,
}

/// Take an action on a request as the caller. The state machine decides; the
/// change is a conditional update on the state read, so two people acting at
/// once cannot both succeed.
pub async fn act(db: &Db, p: &Principal, id: i64, action: Action, input: ActInput) -> Result<Request, StoreError> {
    let r = get(db, p, id).await?;
    let roles = roles_of(p, &r);
    if roles.is_empty() {
        return Err(StoreError::Forbidden);
    }
    let cal = calendar::load(db, r.tenant_id).await?;
    let mut tx = db.begin().await?;
    let r = get_in(&mut tx, r.tenant_id, id).await?;
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    if note.as_deref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(FieldError::new("note", "too_long", "说明不能超过1000字").into());
    }
    let dup_id = match input.duplicate_of.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => {
            let d: Option<(i64,)> = tx
                .opt(
                    "SELECT id FROM requests WHERE tenant_id = $1 AND code = $2 AND id <> $3",
                    args![r.tenant_id, code.to_ascii_uppercase(), r.id],
                )
                .await?;
            Some(d.ok_or_else(|| FieldError::new("duplicate_of", "unknown", "找不到该编号的诉求"))?.0)
        }
        None => None,
    };
    let ctx = Ctx {
        has_note: note.is_some(),
        has_duplicate_of: dup_id.is_some(),
        has_handler: input.handler_user_id.is_some(),
        materials_requested_before: r.materials_requested,
        outcome: input.outcome,
        has_current_handler: r.handler_user_id.is_some(),
    };
    let mut result: Result<(RequestState, ActorRole), TransitionError> =
        Err(TransitionError::NotAllowed { from: r.state(), action });
    for role in &roles {
        match transition(r.state(), action, *role, &ctx) {
            Ok(s) => {
                result = Ok((s, *role));
                break;
            }
            Err(e @ TransitionError::RoleNotAllowed { .. }) => {
                if matches!(result, Err(TransitionError::NotAllowed { .. })) && roles.len() == 1 {
                    result = Err(e);
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let (to, role) = result.map_err(|e| StoreError::from(e.field_error()))?;
    if action == Action::Revisit && input.satisfaction.is_none() {
        return Err(FieldError::new("satisfaction", "required", "请选择满意度").into());
    }
    apply(&mut tx, &cal, p, &r, action, to, role, &input, note.as_deref(), dup_id).await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// Write one transition (state, side effects, history, audit) inside `tx`.
#[allow(clippy::too_many_arguments)]
async fn apply(
    tx: &mut Tx,
    cal: &redcell_domain::calendar::HolidayCalendar,
    p: &Principal,
    r: &Request,
    action: Action,
    to: RequestState,
    role: ActorRole,
    input: &ActInput,
    note: Option<&str>,
    dup_id: Option<i64>,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let today = shanghai_date(now);
    let mut a = Args::new();
    let mut sets = vec![format!("state = {}", a.push(to.code())), format!("updated_at = {}", a.push(now))];
    match action {
        Action::Assign => {
            let h = input.handler_user_id.unwrap_or_default();
            let ok = tx
                .int(
                    "SELECT COUNT(*) FROM users u WHERE u.id = $1 AND u.disabled = FALSE AND EXISTS \
                     (SELECT 1 FROM grants g WHERE g.user_id = u.id AND g.tenant_id = $2)",
                    args![h, r.tenant_id],
                )
                .await?;
            if ok == 0 {
                return Err(FieldError::new("handler", "unknown", i18n::REQ_HANDLER_REQUIRED).into());
            }
            sets.push(format!("handler_user_id = {}", a.push(h)));
        }
        Action::Claim => sets.push(format!("handler_user_id = {}", a.push(p.user_id))),
        Action::RequestMaterials => {
            let left = redcell_domain::requests::days_left(cal, r.due_date, today);
            sets.push("materials_requested = TRUE".into());
            sets.push(format!("paused_on = {}", a.push(today)));
            sets.push(format!("days_left = {}", a.push(left)));
        }
        Action::SupplyMaterials => {
            let left = r.days_left.unwrap_or(0);
            let due = redcell_domain::requests::resume_due(cal, today, left);
            sets.push("paused_on = NULL".into());
            sets.push("days_left = NULL".into());
            sets.push(format!("due_date = {}", a.push(due)));
        }
        Action::Resolve => sets.push(format!("resolved_at = {}", a.push(now))),
        Action::Revisit => {
            sets.push(format!("fix_outcome = {}", a.push(input.outcome.map(|o| o.code().to_string()))));
            sets.push(format!("satisfaction = {}", a.push(input.satisfaction.map(|o| o.code().to_string()))));
            sets.push(format!("revisit_comment = {}", a.push(note.map(str::to_string))));
        }
        Action::Close => sets.push(format!("closed_at = {}", a.push(now))),
        Action::Refuse => sets.push(format!("refusal_reason = {}", a.push(note.map(str::to_string)))),
        Action::MarkDuplicate => sets.push(format!("duplicate_of = {}", a.push(dup_id))),
        _ => {}
    }
    if to == RequestState::Reopened {
        // A reopened request gets a fresh clock from today and loses its card.
        let cat_days: i64 = tx
            .int(
                "SELECT working_days FROM request_categories WHERE tenant_id = $1 AND id = $2",
                args![r.tenant_id, r.category_id],
            )
            .await?;
        let class = ErrandClass::from_code(&r.class).unwrap_or(ErrandClass::Promised);
        let days = if class == ErrandClass::Promised { 5 } else { u32::try_from(cat_days.max(0)).unwrap_or(0) };
        let class = if class == ErrandClass::Promised { ErrandClass::Joint } else { class };
        let due = due_date(cal, class, today, days, None)?;
        sets.push(format!("due_date = {}", a.push(due)));
        sets.push("card = 'none'".into());
        sets.push("resolved_at = NULL".into());
        sets.push("closed_at = NULL".into());
    }
    let t = a.push(r.tenant_id);
    let i = a.push(r.id);
    let from = a.push(r.state.as_str());
    let n = tx
        .exec(
            &format!("UPDATE requests SET {} WHERE tenant_id = {t} AND id = {i} AND state = {from}", sets.join(", ")),
            a,
        )
        .await?;
    if n == 0 {
        return Err(TransitionError::NotAllowed { from: r.state(), action }.field_error().into());
    }
    let public_note = match action {
        Action::Refuse | Action::RequestMaterials | Action::Resolve | Action::Reopen | Action::Revisit => true,
        _ => !input.internal,
    };
    history(
        tx,
        r.tenant_id,
        r.id,
        uid(p),
        role,
        input.acting_for.as_deref(),
        action.code(),
        r.state(),
        to,
        note,
        public_note,
    )
    .await?;
    audit::record(
        tx,
        r.tenant_id,
        uid(p),
        "request_action",
        "request",
        Some(r.id),
        &format!("{} {}: {} → {}", r.code, action.label(), r.state_label(), to.label()),
    )
    .await?;
    Ok(())
}

/// Bulk triage: the same action on several requests; each succeeds or fails
/// on its own (one transaction each), and the failures are named.
pub async fn bulk(
    db: &Db,
    p: &Principal,
    ids: &[i64],
    action: Action,
    input: ActInput,
) -> Result<(usize, Vec<(i64, String)>), StoreError> {
    if !matches!(action, Action::Accept | Action::Assign) {
        return Err(FieldError::new("action", "bulk", "批量操作只支持受理和分派").into());
    }
    let mut ok = 0;
    let mut failed = Vec::new();
    for id in ids {
        match act(db, p, *id, action, input.clone()).await {
            Ok(_) => ok += 1,
            Err(StoreError::Invalid(inv)) => {
                failed.push((*id, inv.first().map(|e| e.message.clone()).unwrap_or_default()))
            }
            Err(StoreError::NotFound | StoreError::Forbidden) => failed.push((*id, i18n::FORBIDDEN.to_string())),
            Err(e) => return Err(e),
        }
    }
    Ok((ok, failed))
}

// ---- revisit links

fn token_hash(t: &str) -> String {
    hex::encode(Sha256::digest(t.as_bytes()))
}

/// Issue a one-time revisit link for a resolved request (staff only). The
/// token is returned once; only its hash is kept.
pub async fn revisit_link(db: &Db, p: &Principal, id: i64) -> Result<String, StoreError> {
    let r = get(db, p, id).await?;
    if !roles_of(p, &r).iter().any(|x| matches!(x, ActorRole::Staff | ActorRole::Handler)) {
        return Err(StoreError::Forbidden);
    }
    if r.state() != RequestState::Resolved {
        return Err(TransitionError::NotAllowed { from: r.state(), action: Action::Revisit }.field_error().into());
    }
    let token = auth::random_token()?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    tx.exec(
        "INSERT INTO revisit_links (tenant_id, request_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        args![r.tenant_id, r.id, token_hash(&token), now + Duration::days(REVISIT_LINK_DAYS), now],
    )
    .await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "revisit_link", "request", Some(r.id), &r.code).await?;
    tx.commit().await?;
    Ok(token)
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    tenant_id: i64,
    request_id: i64,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

async fn link(db: &Db, token: &str) -> Result<LinkRow, StoreError> {
    let l: Option<LinkRow> = db
        .opt(
            "SELECT id, tenant_id, request_id, expires_at, used_at FROM revisit_links WHERE token_hash = $1",
            args![token_hash(token.trim())],
        )
        .await?;
    let l = l.ok_or_else(|| FieldError::new("token", "invalid", i18n::REQ_LINK_INVALID))?;
    if l.used_at.is_some() {
        return Err(FieldError::new("token", "used", i18n::REQ_LINK_USED).into());
    }
    if l.expires_at < Utc::now() {
        return Err(FieldError::new("token", "expired", i18n::REQ_LINK_EXPIRED).into());
    }
    Ok(l)
}

/// The request a revisit link is for (public view), or why the link cannot be used.
pub async fn revisit_target(db: &Db, token: &str) -> Result<PublicView, StoreError> {
    let l = link(db, token).await?;
    let (code,): (String,) =
        db.one("SELECT code FROM requests WHERE tenant_id = $1 AND id = $2", args![l.tenant_id, l.request_id]).await?;
    Ok(public_view(db, &code).await?.1)
}

/// The resident answers through the link: fixed or partly closes (fixed) or
/// leaves it revisited (partly) for the back office; not fixed reopens it with
/// the comment as the reason. The link is spent in the same transaction.
pub async fn revisit_by_link(
    db: &Db,
    token: &str,
    outcome: FixOutcome,
    satisfaction: Satisfaction,
    comment: Option<&str>,
) -> Result<RequestState, StoreError> {
    let l = link(db, token).await?;
    let cal = calendar::load(db, l.tenant_id).await?;
    let mut tx = db.begin().await?;
    let spent = tx
        .exec(
            "UPDATE revisit_links SET used_at = $1 WHERE tenant_id = $2 AND id = $3 AND used_at IS NULL",
            args![Utc::now(), l.tenant_id, l.id],
        )
        .await?;
    if spent == 0 {
        return Err(FieldError::new("token", "used", i18n::REQ_LINK_USED).into());
    }
    let r = get_in(&mut tx, l.tenant_id, l.request_id).await?;
    let comment = comment.map(str::trim).filter(|c| !c.is_empty()).map(|c| c.chars().take(500).collect::<String>());
    let reason = match (outcome, &comment) {
        (FixOutcome::NotFixed, None) => Some("居民回访：问题未解决".to_string()),
        _ => comment.clone(),
    };
    let ctx = Ctx { has_note: reason.is_some(), outcome: Some(outcome), ..Ctx::default() };
    let to = transition(r.state(), Action::Revisit, ActorRole::Resident, &ctx)
        .map_err(|e| StoreError::from(e.field_error()))?;
    let system = resident_principal(&r);
    let input = ActInput { outcome: Some(outcome), satisfaction: Some(satisfaction), ..ActInput::default() };
    apply(&mut tx, &cal, &system, &r, Action::Revisit, to, ActorRole::Resident, &input, reason.as_deref(), None)
        .await?;
    let mut end = to;
    if to == RequestState::Revisited && outcome == FixOutcome::Fixed {
        let r2 = get_in(&mut tx, r.tenant_id, r.id).await?;
        end = transition(r2.state(), Action::Close, ActorRole::System, &Ctx::default())
            .map_err(|e| StoreError::from(e.field_error()))?;
        apply(&mut tx, &cal, &system, &r2, Action::Close, end, ActorRole::System, &ActInput::default(), None, None)
            .await?;
    }
    tx.commit().await?;
    Ok(end)
}

/// The account behind an actor (none for the resident or the system).
fn uid(p: &Principal) -> Option<i64> {
    (p.user_id != 0).then_some(p.user_id)
}

/// The resident (or the system) as an actor without an account.
fn resident_principal(r: &Request) -> Principal {
    Principal {
        user_id: 0,
        tenant_id: r.tenant_id,
        username: String::new(),
        display_name: "居民".into(),
        grants: vec![],
    }
}

// ---- 联办 parts and 上报 chases

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Part {
    pub id: i64,
    pub participant: String,
    pub part: String,
    pub status: String,
    pub updated_at: DateTime<Utc>,
}

impl Part {
    pub fn status_label(&self) -> &'static str {
        label::<PartStatus>(&self.status)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Chase {
    pub id: i64,
    pub contact: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

impl Chase {
    pub fn local(&self) -> String {
        (self.at + Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
    }
}

async fn staff_request(db: &Db, p: &Principal, id: i64) -> Result<Request, StoreError> {
    let r = get(db, p, id).await?;
    if !roles_of(p, &r).iter().any(|x| matches!(x, ActorRole::Staff | ActorRole::Handler)) {
        return Err(StoreError::Forbidden);
    }
    if !r.state().is_open() {
        return Err(FieldError::new("action", "closed", i18n::REQ_NOT_ALLOWED).into());
    }
    Ok(r)
}

/// Add a participating unit's part to a 联办件 (the coordinator is the handler).
pub async fn add_part(db: &Db, p: &Principal, id: i64, participant: &str, part: &str) -> Result<(), StoreError> {
    let r = staff_request(db, p, id).await?;
    if r.class != ErrandClass::Joint.code() {
        return Err(FieldError::new("participant", "class", "只有联办件可以添加协办单位").into());
    }
    let participant = redcell_domain::Text::required("participant", participant, 60)?.into_string();
    let part = redcell_domain::Text::required("part", part, 300)?.into_string();
    let mut tx = db.begin().await?;
    tx.exec(
        "INSERT INTO request_parts (tenant_id, request_id, participant, part, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![r.tenant_id, r.id, participant.as_str(), part.as_str(), PartStatus::Pending.code(), Utc::now()],
    )
    .await?;
    let note = format!("{participant}：{part}");
    history(
        &mut tx,
        r.tenant_id,
        r.id,
        Some(p.user_id),
        ActorRole::Staff,
        None,
        "part",
        r.state(),
        r.state(),
        Some(&note),
        false,
    )
    .await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "request_part", "request", Some(r.id), &note).await?;
    tx.commit().await
}

pub async fn set_part_status(
    db: &Db,
    p: &Principal,
    id: i64,
    part_id: i64,
    status: PartStatus,
) -> Result<(), StoreError> {
    let r = staff_request(db, p, id).await?;
    let mut tx = db.begin().await?;
    let n = tx
        .exec(
            "UPDATE request_parts SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND request_id = $4 AND id = $5",
            args![status.code(), Utc::now(), r.tenant_id, r.id, part_id],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let note = format!("协办事项 #{part_id}：{}", status.label());
    history(
        &mut tx,
        r.tenant_id,
        r.id,
        Some(p.user_id),
        ActorRole::Staff,
        None,
        "part",
        r.state(),
        r.state(),
        Some(&note),
        false,
    )
    .await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "request_part", "request", Some(r.id), &note).await?;
    tx.commit().await
}

pub async fn parts(db: &Db, p: &Principal, id: i64) -> Result<Vec<Part>, StoreError> {
    let r = get(db, p, id).await?;
    db.all(
        "SELECT id, participant, part, status, updated_at FROM request_parts WHERE tenant_id = $1 AND request_id = $2 ORDER BY id",
        args![r.tenant_id, r.id],
    )
    .await
}

/// Log a chase of a 上报件's named contact at the level above.
pub async fn chase(db: &Db, p: &Principal, id: i64, contact: &str, note: Option<&str>) -> Result<(), StoreError> {
    let r = staff_request(db, p, id).await?;
    if r.class != ErrandClass::Escalated.code() {
        return Err(FieldError::new("contact", "class", "只有上报件需要催报").into());
    }
    let contact = redcell_domain::Text::required("contact", contact, 60)?.into_string();
    let note = note.map(str::trim).filter(|n| !n.is_empty()).map(|n| n.chars().take(300).collect::<String>());
    let mut tx = db.begin().await?;
    tx.exec(
        "INSERT INTO request_chases (tenant_id, request_id, contact, at, note, by_user_id) VALUES ($1, $2, $3, $4, $5, $6)",
        args![r.tenant_id, r.id, contact.as_str(), Utc::now(), note.clone(), p.user_id],
    )
    .await?;
    let text = format!("催报 {contact}{}", note.as_deref().map(|n| format!("：{n}")).unwrap_or_default());
    history(
        &mut tx,
        r.tenant_id,
        r.id,
        Some(p.user_id),
        ActorRole::Staff,
        None,
        "chase",
        r.state(),
        r.state(),
        Some(&text),
        false,
    )
    .await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "request_chase", "request", Some(r.id), &text).await?;
    tx.commit().await
}

pub async fn chases(db: &Db, p: &Principal, id: i64) -> Result<Vec<Chase>, StoreError> {
    let r = get(db, p, id).await?;
    db.all(
        "SELECT id, contact, at, note FROM request_chases WHERE tenant_id = $1 AND request_id = $2 ORDER BY id",
        args![r.tenant_id, r.id],
    )
    .await
}

// ---- statistics

#[derive(Debug, Clone, Serialize, Default)]
pub struct Stats {
    pub total: i64,
    pub by_kind: Vec<(String, i64)>,
    pub by_state: Vec<(String, i64)>,
    pub overdue: i64,
    pub red: i64,
    pub yellow: i64,
    /// Median days from submission to resolution, over resolved requests.
    pub median_days: Option<f64>,
    /// Share of revisits rated 满意 or 基本满意, in percent.
    pub satisfaction_rate: Option<f64>,
    pub revisits: i64,
}

/// kind, state, card, due date, paused on, submitted at, resolved at, satisfaction.
type StatsRow =
    (String, String, String, NaiveDate, Option<NaiveDate>, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>);

/// Statistics over the requests in the caller's read scope.
pub async fn stats(db: &Db, p: &Principal) -> Result<Stats, StoreError> {
    let mut a = Args::new();
    let c = p.scope(Capability::ReadRegistry).rows("r", &mut a);
    let rows: Vec<StatsRow> = db
        .all(
            &format!(
                "SELECT r.kind, r.state, r.card, r.due_date, r.paused_on, r.submitted_at, r.resolved_at, r.satisfaction \
                 FROM requests r WHERE {c}"
            ),
            a,
        )
        .await?;
    let today = shanghai_date(Utc::now());
    let mut s = Stats { total: rows.len() as i64, ..Stats::default() };
    let mut kinds = std::collections::BTreeMap::new();
    let mut states = std::collections::BTreeMap::new();
    let mut durations = Vec::new();
    let (mut good, mut rated) = (0i64, 0i64);
    for (kind, state, card, due, paused, sub, res, sat) in rows {
        *kinds.entry(kind.clone()).or_insert(0i64) += 1;
        *states.entry(state.clone()).or_insert(0i64) += 1;
        let st = RequestState::from_code(&state).unwrap_or(RequestState::Submitted);
        if st.is_open() && paused.is_none() && today > due {
            s.overdue += 1;
        }
        if st.is_open() {
            match card.as_str() {
                "red" => s.red += 1,
                "yellow" => s.yellow += 1,
                _ => {}
            }
        }
        if let Some(res) = res {
            durations.push((res - sub).num_minutes() as f64 / 1440.0);
        }
        if let Some(sat) = sat {
            rated += 1;
            if sat != Satisfaction::Dissatisfied.code() {
                good += 1;
            }
        }
    }
    s.by_kind =
        RequestKind::ALL.iter().map(|k| (k.label().to_string(), kinds.get(k.code()).copied().unwrap_or(0))).collect();
    s.by_state =
        RequestState::ALL.iter().map(|k| (k.label().to_string(), states.get(k.code()).copied().unwrap_or(0))).collect();
    durations.sort_by(|a, b| a.total_cmp(b));
    if !durations.is_empty() {
        let n = durations.len();
        s.median_days =
            Some(if n % 2 == 1 { durations[n / 2] } else { (durations[n / 2 - 1] + durations[n / 2]) / 2.0 });
    }
    s.revisits = rated;
    if rated > 0 {
        s.satisfaction_rate = Some(100.0 * good as f64 / rated as f64);
    }
    Ok(s)
}

/// Handlers the caller may assign to: active accounts granted inside the
/// caller's edit scope.
pub async fn assignable(db: &Db, p: &Principal) -> Result<Vec<(i64, String)>, StoreError> {
    let mut a = Args::new();
    let c = p.scope(Capability::EditRegistry).orgs("o", &mut a);
    db.all(
        &format!(
            "SELECT DISTINCT u.id, u.display_name FROM users u JOIN grants g ON g.user_id = u.id \
             JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id WHERE u.disabled = FALSE AND {c} ORDER BY u.id"
        ),
        a,
    )
    .await
}

/// The grids a resident can pick on the public page: (id, "organisation · grid").
pub async fn public_grids(db: &Db, tenant_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let rows: Vec<(i64, String, String)> = db
        .all(
            "SELECT g.id, o.name, g.name FROM grids g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
             WHERE g.tenant_id = $1 ORDER BY o.path, g.code LIMIT 500",
            args![tenant_id],
        )
        .await?;
    Ok(rows.into_iter().map(|(id, o, g)| (id, format!("{o} · {g}"))).collect())
}

/// A building a resident can pick on the public page: where it is and its
/// address, nothing about who lives there.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublicBuilding {
    pub id: i64,
    pub community: String,
    pub grid: String,
    pub name: String,
    pub address: String,
}

/// The buildings of a tenant for the public page, ordered community → grid → building.
pub async fn public_buildings(db: &Db, tenant_id: i64) -> Result<Vec<PublicBuilding>, StoreError> {
    db.all(
        "SELECT b.id, COALESCE(c.name, o.name) AS community, g.name AS grid, b.name, b.address FROM buildings b \
         JOIN grids g ON g.tenant_id = b.tenant_id AND g.id = b.grid_id \
         JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
         LEFT JOIN orgs c ON c.tenant_id = o.tenant_id AND c.kind IN ('community_committee', 'village_general_branch') AND o.path LIKE c.path || '%' \
         WHERE b.tenant_id = $1 ORDER BY COALESCE(c.path, o.path), g.code, b.name, b.id LIMIT 3000",
        args![tenant_id],
    )
    .await
}

/// Filters of the public Open311 list.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    pub ids: Vec<String>,
    pub service_codes: Vec<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// `open` or `closed`.
    pub status: Option<String>,
    /// Paging (an extension): 1-based page and its size (at most 1000).
    pub page: u32,
    pub page_size: u32,
}

impl PublicFilter {
    pub const DEFAULT_PAGE_SIZE: u32 = 1000;
}

/// Requests of a tenant for the public Open311 list (a page of at most 1000,
/// newest first; the answer carries no personal data).
pub async fn public_list(db: &Db, tenant_id: i64, f: &PublicFilter) -> Result<Vec<Request>, StoreError> {
    let mut a = args![tenant_id];
    let mut w = vec!["r.tenant_id = $1".to_string()];
    if !f.ids.is_empty() {
        let p: Vec<String> = f.ids.iter().map(|c| a.push(c.to_ascii_uppercase())).collect();
        w.push(format!("r.code IN ({})", p.join(", ")));
    }
    if !f.service_codes.is_empty() {
        let p: Vec<String> = f.service_codes.iter().map(|c| a.push(c.as_str())).collect();
        w.push(format!("c.code IN ({})", p.join(", ")));
    }
    if let Some(s) = f.start {
        w.push(format!("r.submitted_at >= {}", a.push(s)));
    }
    if let Some(e) = f.end {
        w.push(format!("r.submitted_at <= {}", a.push(e)));
    }
    match f.status.as_deref() {
        Some("open") => w.push(open_clause()),
        Some("closed") => w.push(format!("NOT ({})", open_clause())),
        _ => {}
    }
    let size = if f.page_size == 0 { PublicFilter::DEFAULT_PAGE_SIZE } else { f.page_size.min(1000) };
    let lim = a.push(i64::from(size));
    let off = a.push(i64::from(f.page.max(1) - 1) * i64::from(size));
    db.all(&format!("{SELECT} WHERE {} ORDER BY r.id DESC LIMIT {lim} OFFSET {off}", w.join(" AND ")), a).await
}

/// Households in the caller's scope for registering on a resident's behalf:
/// by building and room (as the household picker does), or else by the name
/// of someone living there. Answers names only (no ID numbers, no phones).
pub async fn find_households(
    db: &Db,
    p: &Principal,
    q: &str,
) -> Result<Vec<crate::coverage::pick::Candidate>, StoreError> {
    use crate::coverage::pick::{self, PickKind};
    let q = q.trim();
    if q.is_empty() {
        return Ok(vec![]);
    }
    let found = pick::search(db, p, PickKind::Household, q, None).await?;
    if !found.is_empty() || q.parse::<i64>().is_ok() {
        return Ok(found);
    }
    let mut a = Args::new();
    let c = p.scope(Capability::ReadRegistry).rows("h", &mut a);
    let like = a.push(format!("{}%", q.replace(['%', '_'], "")));
    let lim = a.push(pick::PICK_LIMIT);
    db.all(
        &format!(
            "SELECT h.id, b.name || CAST(h.unit_no AS TEXT) || '单元' || h.room AS label, r.name AS detail \
             FROM residents r JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
             JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
             WHERE {c} AND r.name LIKE {like} ORDER BY r.name, h.id LIMIT {lim}"
        ),
        a,
    )
    .await
}

/// The household field of the registration form: an id, or text that finds
/// exactly one household; none or several is a field error with the candidates.
pub async fn resolve_household(
    db: &Db,
    p: &Principal,
    raw: &str,
) -> Result<Result<Option<i64>, (FieldError, Vec<crate::coverage::pick::Candidate>)>, StoreError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(Ok(None));
    }
    if let Ok(id) = t.parse::<i64>() {
        return Ok(Ok(Some(id)));
    }
    let found = find_households(db, p, t).await?;
    Ok(match found.len() {
        1 => Ok(Some(found[0].id)),
        0 => Err((FieldError::new("household_id", "not_found", i18n::PICK_NONE), found)),
        _ => Err((FieldError::new("household_id", "ambiguous", i18n::PICK_AMBIGUOUS), found)),
    })
}

/// The request register (民情诉求台账) as a file (导出).
pub struct RequestList;

impl Exportable for RequestList {
    const CODE: &'static str = "requests";
    const LABEL: &'static str = "民情诉求";
    const TAG: &'static str = "requests";
    type Filter = Filter;
    type Row = Request;
    fn columns(m: Mask) -> Vec<Column> {
        use ColumnKind::{Date, Identifier as Ident, Text};
        catalogue(
            i18n::EXPORT_REQUESTS,
            [
                Ident, Text, Text, Text, Text, Text, Text, Ident, Text, Text, Text, Text, Date, Date, Text, Date, Text,
                Text, Text, Text,
            ],
            m,
        )
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        let (w, a) = filtered(q, f);
        Ok(Some((format!("{SELECT} WHERE {w} ORDER BY {ORDER}"), a)))
    }
    fn cells(r: &Request, m: Mask) -> Vec<String> {
        let today = redcell_domain::calendar::shanghai_date(chrono::Utc::now());
        vec![
            r.code.clone(),
            r.kind_label().to_string(),
            r.category_name.clone(),
            r.class_label().to_string(),
            r.description.clone(),
            opt(&r.address),
            opt(&r.contact_name),
            phone_text(&r.contact_phone, m),
            r.org_name.clone(),
            opt(&r.handler_name),
            r.state_label().to_string(),
            r.card_label().to_string(),
            r.received_on.to_string(),
            r.due_date.to_string(),
            yes(r.overdue(today)),
            opt(&r.paused_on),
            r.outcome_label().to_string(),
            r.satisfaction_label().to_string(),
            local_time(r.submitted_at),
            r.closed_at.map(local_time).unwrap_or_default(),
        ]
    }
}

/// The requests capability's exportable lists.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&RequestList]
}
