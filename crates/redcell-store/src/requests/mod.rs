//! Resident requests, micro-wishes and errands (SPEC §3).
//!
//! One module per part of the work:
//! - [`categories`]: categories as data (routing, deadline, default class);
//! - [`submit`]: submission (public page, staff on a resident's behalf,
//!   Open311), the one writer of `requests` rows;
//! - [`queue`]: the back-office queue, one request, its history, my tasks,
//!   what members may claim, the pickers, the export of the register;
//! - [`act`]: the transitions of the one state machine, single and bulk;
//! - [`revisit`]: one-time revisit links for residents;
//! - [`parts`]: 联办 parts and 上报 chases;
//! - [`stats`]: the statistics;
//! - [`public`]: what residents and Open311 clients see without an account;
//! - [`wishes`]: the micro-wish board; [`escalate`]: the background cards;
//!   [`keys`]: Open311 API keys; [`seed`]: default categories and the demo.
//!
//! Who may do what (each entry point states it):
//! - reading the queue, statistics and the register needs `ReadRegistry`
//!   over the routed organisation (the request carries personal data);
//! - registering and every staff action need `HandleRequests` over it; a
//!   handler assigned by staff must hold `HandleRequests` over it as well;
//! - claiming needs `ClaimRequests` over it (in-service members);
//! - the tenant's settings (categories, holidays, Open311 keys) need
//!   `EditRegistry` over the tenant's root;
//! - submitting, following a code, answering a revisit link and Open311
//!   are public.
//!
//! Every change writes its history row and audit row in the same transaction.

pub mod act;
pub mod categories;
pub mod escalate;
pub mod keys;
pub mod parts;
pub mod public;
pub mod queue;
pub mod revisit;
pub mod seed;
pub mod stats;
pub mod submit;
pub mod wishes;

pub use act::{ActInput, BulkOutcome, act, actions_for, bulk};
pub use categories::{
    Category, CategoryView, categories, category_by_code, create_category, default_tenant, tenant_or_default,
};
pub use parts::{Chase, Part, add_part, chase, chases, parts, set_part_status};
pub use public::{
    LOOKUP_MISSES_PER_WINDOW, LOOKUP_WINDOW_MINUTES, PublicBuilding, PublicFilter, PublicNote, PublicView,
    public_buildings, public_grids, public_list, public_lookup, public_place, public_view,
};
pub use queue::{
    Filter, HistoryRow, RequestList, bulk_handlers, claimable, get, handlers_for, history_of, list, my_tasks,
    open_by_deadline,
};
pub use revisit::{REVISIT_LINK_DAYS, revisit_by_link, revisit_hours, revisit_link, revisit_target};
pub use stats::{Stats, stats};
pub use submit::{
    LookedAfter, Photo, SUBMIT_WINDOW_MINUTES, SUBMITS_PER_WINDOW, Source, Submitted, Submitter, check_photo,
    find_households, insert_file, rate_limit, resolve_household, submit, submit_in,
};

use crate::args;
use crate::db::{Conn, Tx};
use crate::error::StoreError;
use crate::scope::{Access, Capability, Principal};
use crate::types::Code;
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::OrgPath;
use redcell_domain::ids::*;
use redcell_domain::phone::mask_phone;
use redcell_domain::requests::{
    ActorRole, Card, ErrandClass, FixOutcome, RequestKind, RequestSource, RequestState, Satisfaction, WishStage,
};
use serde::Serialize;

/// The requests capability's exportable lists.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&RequestList]
}

/// The caller's right to change the tenant's settings (request categories,
/// the holiday calendar, Open311 keys): `EditRegistry` over the tenant's root.
pub(crate) fn tenant_settings(p: &Principal) -> Result<Access<'_>, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    if !access.covers(&OrgPath::root(p.tenant_id)) {
        return Err(StoreError::Forbidden);
    }
    Ok(access)
}

/// An organisation path read from a row: a malformed one is an error, never
/// a substitute path on which a scope decision would be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPath(pub OrgPath);

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for StoredPath
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(v: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let s = <String as sqlx::Decode<DB>>::decode(v)?;
        OrgPath::parse(&s).map(StoredPath).map_err(|_| format!("malformed organisation path {s:?}").into())
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for StoredPath
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

/// A request as the API shows it: typed ids and codes, the contact phone
/// masked, no tenant or internal column.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RequestView {
    pub id: RequestId,
    /// The follow code a resident reads aloud.
    pub code: String,
    #[schema(value_type = String)]
    pub kind: Code<RequestKind>,
    pub category_id: CategoryId,
    pub category_code: String,
    pub category_name: String,
    #[schema(value_type = String)]
    pub class: Code<ErrandClass>,
    #[schema(value_type = String)]
    pub source: Code<RequestSource>,
    pub description: String,
    pub grid_id: Option<GridId>,
    /// The grid's name (for "where" in words).
    pub grid_name: Option<String>,
    pub building_id: Option<BuildingId>,
    /// The building's name, when the request names one.
    pub building_name: Option<String>,
    /// The building and room of a household, or the address typed.
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub contact_name: Option<String>,
    /// Never serialised in the clear: masked as in [`RequestView::phone_masked`].
    #[serde(serialize_with = "masked_phone")]
    #[schema(value_type = Option<String>, example = "139****5678")]
    pub contact_phone: Option<String>,
    pub photo_file_id: Option<FileId>,
    /// The micro-wish completion photo.
    pub wish_photo_file_id: Option<FileId>,
    pub org_id: OrgId,
    pub org_name: String,
    pub handler_user_id: Option<UserId>,
    pub handler_name: Option<String>,
    #[schema(value_type = String)]
    pub state: Code<RequestState>,
    pub received_on: NaiveDate,
    pub promised_date: Option<NaiveDate>,
    pub due_date: NaiveDate,
    pub paused_on: Option<NaiveDate>,
    pub days_left: Option<i64>,
    pub materials_requested: bool,
    #[schema(value_type = String)]
    pub card: Code<Card>,
    pub escalated_org_id: Option<OrgId>,
    /// The organisation it was escalated to, by name.
    pub escalated_org_name: Option<String>,
    pub duplicate_of: Option<RequestId>,
    pub refusal_reason: Option<String>,
    #[schema(value_type = Option<String>)]
    pub fix_outcome: Option<Code<FixOutcome>>,
    #[schema(value_type = Option<String>)]
    pub satisfaction: Option<Code<Satisfaction>>,
    pub revisit_comment: Option<String>,
    #[schema(value_type = Option<String>)]
    pub wish_stage: Option<Code<WishStage>>,
    pub wish_round: Option<i64>,
    pub wish_claimed_by: Option<UserId>,
    pub wish_claimed_on: Option<NaiveDate>,
    pub wish_contacted_on: Option<NaiveDate>,
    pub submitted_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A request as read from the database: the view, its tenant and the path
/// of its routed organisation (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    pub tenant_id: i64,
    pub org_path: StoredPath,
    #[sqlx(flatten)]
    pub view: RequestView,
}

impl std::ops::Deref for Request {
    type Target = RequestView;
    fn deref(&self) -> &RequestView {
        &self.view
    }
}

impl Request {
    /// The routed organisation's place in the tree.
    pub fn path(&self) -> &OrgPath {
        &self.org_path.0
    }
}

fn masked_phone<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(p) => s.serialize_some(&mask_phone(p)),
        None => s.serialize_none(),
    }
}

impl RequestView {
    /// A micro-wish (微心愿), which moves on the wish board.
    pub fn is_wish(&self) -> bool {
        self.kind.0 == RequestKind::Wish
    }

    /// Where it is, in words: the household's building and room or the
    /// address typed (else the building), and the grid.
    pub fn place(&self) -> String {
        let spot = self.address.clone().or_else(|| self.building_name.clone());
        match (spot, &self.grid_name) {
            (Some(s), Some(g)) => format!("{s}（{g}）"),
            (Some(s), None) => s,
            (None, Some(g)) => g.clone(),
            (None, None) => "未填写".into(),
        }
    }
    pub fn state(&self) -> RequestState {
        self.state.0
    }
    pub fn state_label(&self) -> &'static str {
        self.state.label()
    }
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
    pub fn class_label(&self) -> &'static str {
        self.class.label()
    }
    pub fn card_label(&self) -> &'static str {
        self.card.label()
    }
    /// Carded (warning, yellow or red).
    pub fn carded(&self) -> bool {
        self.card.0 != Card::None
    }
    pub fn outcome_label(&self) -> &'static str {
        self.fix_outcome.map(|o| o.label()).unwrap_or("")
    }
    pub fn satisfaction_label(&self) -> &'static str {
        self.satisfaction.map(|o| o.label()).unwrap_or("")
    }
    pub fn phone_masked(&self) -> String {
        self.contact_phone.as_deref().map(mask_phone).unwrap_or_default()
    }
    /// Open and past its due date (the clock is not paused).
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.state().is_open() && self.paused_on.is_none() && today > self.due_date
    }
}

/// The `SELECT ... FROM` of a request row (with its category, organisation and handler).
pub(crate) const SELECT: &str = "SELECT r.id, r.tenant_id, o.path AS org_path, r.code, r.kind, r.category_id, \
    c.code AS category_code, c.name AS category_name, r.class, r.source, r.description, r.grid_id, \
    rg.name AS grid_name, r.building_id, rb.name AS building_name, r.address, r.lat, r.lon, r.contact_name, r.contact_phone, r.photo_file_id, r.wish_photo_file_id, r.org_id, \
    o.name AS org_name, r.handler_user_id, u.display_name AS handler_name, r.state, r.received_on, r.promised_date, \
    r.due_date, r.paused_on, r.days_left, r.materials_requested, r.card, r.escalated_org_id, eo.name AS escalated_org_name, r.duplicate_of, \
    r.refusal_reason, r.fix_outcome, r.satisfaction, r.revisit_comment, r.wish_stage, r.wish_round, r.wish_claimed_by, \
    r.wish_claimed_on, r.wish_contacted_on, r.submitted_at, r.resolved_at, r.closed_at, r.updated_at \
    FROM requests r JOIN request_categories c ON c.tenant_id = r.tenant_id AND c.id = r.category_id \
    JOIN orgs o ON o.tenant_id = r.tenant_id AND o.id = r.org_id \
    LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.handler_user_id \
    LEFT JOIN grids rg ON rg.tenant_id = r.tenant_id AND rg.id = r.grid_id \
    LEFT JOIN buildings rb ON rb.tenant_id = r.tenant_id AND rb.id = r.building_id \
    LEFT JOIN orgs eo ON eo.tenant_id = r.tenant_id AND eo.id = r.escalated_org_id";

/// A request of the tenant, wherever it is (inside a checked call only).
pub(crate) async fn get_in(c: &mut impl Conn, tenant_id: i64, id: RequestId) -> Result<Request, StoreError> {
    c.one(&format!("{SELECT} WHERE r.tenant_id = $1 AND r.id = $2"), args![tenant_id, id]).await
}

/// In what capacities the caller may act on a request: its handler (who
/// still holds `HandleRequests` or `ClaimRequests` over it), staff holding
/// `HandleRequests` over its organisation, a member holding `ClaimRequests`
/// over it.
pub(crate) fn roles_of(p: &Principal, r: &Request) -> Vec<ActorRole> {
    let path = r.path();
    let handles = p.holds_at(Capability::HandleRequests, path);
    let claims = p.holds_at(Capability::ClaimRequests, path);
    let mut v = Vec::new();
    if r.handler_user_id == Some(p.user()) && (handles || claims) {
        v.push(ActorRole::Handler);
    }
    if handles {
        v.push(ActorRole::Staff);
    }
    if claims {
        v.push(ActorRole::Member);
    }
    v
}

/// One row of a request's history, as written.
pub(crate) struct HistoryRecord<'a> {
    pub request: RequestId,
    pub at: DateTime<Utc>,
    pub actor: Option<UserId>,
    pub role: ActorRole,
    pub acting_for: Option<&'a str>,
    /// An action code, or `submit`, `card`, `chase`, `part`, `wish`.
    pub action: &'a str,
    pub from: RequestState,
    pub to: RequestState,
    pub note: Option<&'a str>,
    /// Shown to the resident on the follow page.
    pub public: bool,
}

/// Append a history row: the one writer of `request_history` (the history is append-only).
pub(crate) async fn history(tx: &mut Tx, tenant_id: i64, h: HistoryRecord<'_>) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO request_history (tenant_id, request_id, at, actor_user_id, actor_role, acting_for, action, \
         from_state, to_state, note, public) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![
            tenant_id,
            h.request,
            h.at,
            h.actor,
            h.role.code(),
            h.acting_for.map(str::to_string),
            h.action,
            h.from.code(),
            h.to.code(),
            h.note.map(str::to_string),
            h.public
        ],
    )
    .await?;
    Ok(())
}

/// The account behind an actor (none for the resident or the system).
pub(crate) fn uid(p: &Principal) -> Option<UserId> {
    (p.user_id != 0).then(|| p.user())
}

/// The resident (or the system) as an actor without an account.
pub(crate) fn resident_principal(tenant_id: i64) -> Principal {
    Principal { user_id: 0, tenant_id, username: String::new(), display_name: "居民".into(), grants: vec![] }
}

/// `r.state IN (...)` over the states still to be handled.
pub(crate) fn open_clause() -> String {
    let open: Vec<String> =
        RequestState::ALL.iter().filter(|s| s.is_open()).map(|s| format!("'{}'", s.code())).collect();
    format!("r.state IN ({})", open.join(", "))
}

/// The contact of a request in the clear, for the person who will call them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevealedContact {
    pub request_id: RequestId,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// The rule of [`reveal_contact`] (the page offers the call button by it).
pub fn may_reveal_contact(p: &Principal, r: &Request) -> bool {
    roles_of(p, r).contains(&ActorRole::Handler)
        || (p.holds_at(Capability::RevealPersonal, r.path()) && p.holds_at(Capability::HandleRequests, r.path()))
}

/// Reveal the contact's phone of a request to someone who works on it: its
/// handler (a member who claimed a micro-wish included) while they still
/// hold the capacity they took it in, or staff who handle requests and may
/// see personal data over its organisation. Audited; a refusal too.
pub async fn reveal_contact(db: &crate::Db, p: &Principal, id: RequestId) -> Result<RevealedContact, StoreError> {
    let r = get(db, p, id).await?;
    let actor = crate::audit::Actor::of(p);
    if !may_reveal_contact(p, &r) {
        crate::audit::access(db, r.tenant_id, actor, "reveal_denied", "request", Some(id.get()), "诉求联系人电话")
            .await?;
        return Err(StoreError::Forbidden);
    }
    crate::audit::access(db, r.tenant_id, actor, "reveal", "request", Some(id.get()), "诉求联系人电话").await?;
    Ok(RevealedContact { request_id: id, name: r.contact_name.clone(), phone: r.contact_phone.clone() })
}
