//! Submitting a request: by a resident on the public page, through Open311,
//! or by staff on a resident's behalf (代为登记). The one writer of
//! `requests` rows ([`insert`]), used here and by the demo.

use super::categories::{Category, by_code_in};
use super::{HistoryRecord, history};
use crate::args;
use crate::audit;
use crate::calendar;
use crate::coverage::pick::{self, Candidate, PickKind};
use crate::db::{Args, Conn, Db, Tx};
use crate::error::StoreError;
use crate::scope::{Access, Capability, Principal};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::calendar::{HolidayCalendar, shanghai_date};
use redcell_domain::ids::*;
use redcell_domain::requests::{ActorRole, ErrandClass, NewRequest, RequestKind, RequestState, WishStage, due_date};
use redcell_domain::{FieldError, OrgPath, i18n};
use serde::Serialize;

/// Where a request came from.
pub use redcell_domain::requests::RequestSource as Source;

/// Public submissions allowed per client address in [`SUBMIT_WINDOW_MINUTES`].
pub const SUBMITS_PER_WINDOW: i64 = 5;
pub const SUBMIT_WINDOW_MINUTES: i64 = 10;

/// What the submitter gets back: the code to follow the request by.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    pub id: RequestId,
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

/// A request row as written.
pub(crate) struct RequestRecord {
    pub code: String,
    pub kind: RequestKind,
    pub category_id: CategoryId,
    pub class: ErrandClass,
    pub source: Source,
    pub description: String,
    pub grid_id: Option<GridId>,
    pub building_id: Option<BuildingId>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub org_id: OrgId,
    pub received_on: NaiveDate,
    pub promised_date: Option<NaiveDate>,
    pub due_date: NaiveDate,
    pub wish_stage: Option<WishStage>,
    pub wish_round: Option<i64>,
    pub submitted_at: DateTime<Utc>,
}

/// Insert a new request (state `submitted`): the one writer of `requests`.
pub(crate) async fn insert(tx: &mut Tx, tenant_id: i64, r: &RequestRecord) -> Result<RequestId, StoreError> {
    tx.int(
        "INSERT INTO requests (tenant_id, code, kind, category_id, class, source, description, grid_id, \
         building_id, address, lat, lon, contact_name, contact_phone, org_id, state, received_on, \
         promised_date, due_date, wish_stage, wish_round, submitted_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22) \
         RETURNING id",
        args![
            tenant_id,
            r.code.as_str(),
            r.kind.code(),
            r.category_id,
            r.class.code(),
            r.source.code(),
            r.description.as_str(),
            r.grid_id,
            r.building_id,
            r.address.clone(),
            r.lat,
            r.lon,
            r.contact_name.clone(),
            r.contact_phone.clone(),
            r.org_id,
            RequestState::Submitted.code(),
            r.received_on,
            r.promised_date,
            r.due_date,
            r.wish_stage.map(|s| s.code().to_string()),
            r.wish_round,
            r.submitted_at
        ],
    )
    .await
    .map(RequestId::new)
}

/// Where a new request goes: the category's own organisation when it names
/// one, else the organisation of the grid (or the building's grid), else the
/// tenant's root. Staff (`access`) may name only grids and buildings inside
/// their scope; the public may name any of the tenant's.
async fn route(
    tx: &mut Tx,
    tenant_id: i64,
    cat: &Category,
    n: &NewRequest,
    access: Option<&Access<'_>>,
) -> Result<(OrgId, Option<GridId>), StoreError> {
    if let Some(a) = access {
        a.reference_opt(tx, n.grid_id, "grid_id").await?;
        a.reference_opt(tx, n.building_id, "building_id").await?;
    }
    let mut grid_id = n.grid_id;
    if let Some(b) = n.building_id {
        let g: Option<(GridId,)> =
            tx.opt("SELECT grid_id FROM buildings WHERE tenant_id = $1 AND id = $2", args![tenant_id, b]).await?;
        let Some((g,)) = g else {
            return Err(FieldError::new("building_id", "unknown", i18n::NOT_FOUND).into());
        };
        grid_id = Some(g);
    }
    let grid_org = match grid_id {
        Some(g) => {
            let o: Option<(OrgId,)> =
                tx.opt("SELECT org_id FROM grids WHERE tenant_id = $1 AND id = $2", args![tenant_id, g]).await?;
            match o {
                Some((o,)) => Some(o),
                None => return Err(FieldError::new("grid_id", "unknown", i18n::NOT_FOUND).into()),
            }
        }
        None => None,
    };
    Ok((cat.org_id.or(grid_org).unwrap_or(OrgId::new(tenant_id)), grid_id))
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
    let by = match by {
        Some(p) => Submitter::Staff(p),
        None => Submitter::Resident,
    };
    let sub = submit_in(&mut tx, &cal, tenant_id, n, source, by, photo).await?;
    tx.commit().await?;
    Ok(sub)
}

/// Proof that the caller's member looks after a household, made only by the
/// store's visit check: nothing outside the store can make one.
#[derive(Debug, Clone, Copy)]
pub struct LookedAfter(pub(crate) HouseholdId);

/// Who registers a request.
#[derive(Debug, Clone, Copy)]
pub enum Submitter<'a> {
    /// A resident on the public page or an Open311 client: no account.
    Resident,
    /// Staff holding `HandleRequests`: every id they name is checked in that scope.
    Staff(&'a Principal),
    /// A member passing on what a household they look after asked at a visit.
    Relayed(&'a Principal, LookedAfter),
}

impl<'a> Submitter<'a> {
    fn principal(self) -> Option<&'a Principal> {
        match self {
            Submitter::Resident => None,
            Submitter::Staff(p) | Submitter::Relayed(p, _) => Some(p),
        }
    }
}

/// [`submit`] inside the caller's transaction (e.g. a visit that raises a
/// request writes both or neither). `cal` is the tenant's holiday calendar
/// ([`calendar::load`]). Nothing is committed here.
///
/// Staff need `HandleRequests`: the household, grid and building they name
/// must lie inside that scope (each refusal names its field), and so must
/// the organisation the request is routed to. Staff name any household of
/// theirs; a member relaying a wish, only the household they visited.
pub async fn submit_in(
    tx: &mut Tx,
    cal: &HolidayCalendar,
    tenant_id: i64,
    n: NewRequest,
    source: Source,
    submitter: Submitter<'_>,
    photo: Option<Photo<'_>>,
) -> Result<Submitted, StoreError> {
    let by = submitter.principal();
    let access = match submitter {
        Submitter::Staff(p) => Some(p.access(Capability::HandleRequests)?),
        Submitter::Resident | Submitter::Relayed(..) => None,
    };
    let cat = by_code_in(tx, tenant_id, &n.category).await?;
    if let Some(k) = n.kind
        && k != cat.kind.0
    {
        return Err(FieldError::new("category", "kind", i18n::REQ_CATEGORY_KIND).into());
    }
    let photo_type = match &photo {
        Some(ph) => Some(check_photo(ph.bytes)?),
        None => None,
    };
    let now = Utc::now();
    let today = shanghai_date(now);
    let class = n.class.unwrap_or(cat.class.0);
    let working_days = u32::try_from(cat.working_days.max(0)).unwrap_or(0);
    // A category whose default class is 承诺件 takes the promised date when the
    // submitter gives one; otherwise its working days until the promise is made.
    let rule = if class == ErrandClass::Promised && n.promised_date.is_none() && n.class.is_none() {
        ErrandClass::Joint
    } else {
        class
    };
    let due = due_date(cal, rule, today, working_days, n.promised_date)?;
    let wish = cat.kind.0 == RequestKind::Wish;
    let mut n = n;
    let household = match (submitter, n.household_id) {
        (Submitter::Staff(p), Some(h)) => {
            if let Some(access) = &access {
                access.reference(tx, h, "household_id").await?;
            }
            Some(crate::registry::households::get_in(tx, p, h).await?)
        }
        (Submitter::Relayed(_, LookedAfter(h)), given) => {
            if given.is_some_and(|g| g != h) {
                return Err(FieldError::new("household_id", "staff", i18n::REQ_HOUSEHOLD_STAFF_ONLY).into());
            }
            Some(crate::registry::households::get_of_tenant(tx, tenant_id, h).await?)
        }
        (Submitter::Resident, Some(_)) => {
            return Err(FieldError::new("household_id", "staff", i18n::REQ_HOUSEHOLD_STAFF_ONLY).into());
        }
        (_, None) => None,
    };
    if let Some(hh) = household {
        let h = hh.id;
        n.building_id = Some(hh.building_id);
        if n.address.is_none() {
            n.address = Some(hh.label());
        }
        // Nobody is asked to type what the registry knows: without a contact
        // given, the household's first registered resident with a phone.
        if n.contact_name.is_none() && n.contact_phone.is_none() {
            let who: Option<(String, String)> = tx
                .opt(
                    "SELECT name, phone FROM residents WHERE tenant_id = $1 AND household_id = $2 \
                     AND phone IS NOT NULL AND phone <> '' ORDER BY id LIMIT 1",
                    args![tenant_id, h],
                )
                .await?;
            if let Some((name, phone)) = who {
                n.contact_name = Some(name);
                n.contact_phone = redcell_domain::phone::Phone::parse(&phone).ok();
            }
        }
    }
    let (org_id, grid_id) = route(tx, tenant_id, &cat, &n, access.as_ref()).await?;
    if let Some(access) = &access
        && !access.covers(&org_path(tx, tenant_id, org_id).await?)
    {
        let (field, message) = if cat.org_id.is_some() {
            ("category", i18n::REQ_CATEGORY_OUT_OF_SCOPE)
        } else {
            ("grid_id", i18n::OUT_OF_SCOPE)
        };
        return Err(StoreError::Denied(FieldError::new(field, "scope", message)));
    }
    let mut record = RequestRecord {
        code: String::new(),
        kind: cat.kind.0,
        category_id: cat.id,
        class,
        source,
        description: n.description.clone(),
        grid_id,
        building_id: n.building_id,
        address: n.address.clone(),
        lat: n.lat,
        lon: n.lon,
        contact_name: n.contact_name.clone(),
        contact_phone: n.contact_phone.as_ref().map(|p| p.as_str().to_string()),
        org_id,
        received_on: today,
        promised_date: n.promised_date,
        due_date: due,
        wish_stage: wish.then_some(WishStage::Unverified),
        wish_round: wish.then_some(1),
        submitted_at: now,
    };
    let mut attempt = 0;
    let id = loop {
        record.code = new_code()?;
        match insert(tx, tenant_id, &record).await {
            Ok(id) => break id,
            Err(e) if e.is_unique_violation() && attempt < 3 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let code = record.code;
    if let (Some(ph), Some(ct)) = (photo, photo_type) {
        let fid =
            insert_file(tx, tenant_id, org_id.get(), "request", id.get(), ph.name, ct, ph.bytes, by.map(|p| p.user_id))
                .await?;
        tx.exec("UPDATE requests SET photo_file_id = $1 WHERE tenant_id = $2 AND id = $3", args![fid, tenant_id, id])
            .await?;
    }
    let role = match submitter {
        Submitter::Resident => ActorRole::Resident,
        Submitter::Staff(_) => ActorRole::Staff,
        Submitter::Relayed(..) => ActorRole::Member,
    };
    let acting_for = if by.is_some() { n.acting_for.as_deref().or(n.contact_name.as_deref()) } else { None };
    history(
        tx,
        tenant_id,
        HistoryRecord {
            request: id,
            at: now,
            actor: by.map(Principal::user),
            role,
            acting_for,
            action: "submit",
            from: RequestState::Submitted,
            to: RequestState::Submitted,
            note: None,
            public: true,
        },
    )
    .await?;
    audit::record(
        tx,
        tenant_id,
        by.map(|p| p.user_id),
        "submit_request",
        "request",
        Some(id.get()),
        &format!("{code} {} ({})", cat.name, source.code()),
    )
    .await?;
    Ok(Submitted { id, code, due_date: due })
}

/// Store an uploaded image (owner `request`, `wish` or `meeting`) through the
/// files writer; answers the file's id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_file(
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
    let rec = crate::files::FileRecord {
        tenant_id,
        org_id,
        owner_kind,
        owner_id,
        name: crate::files::file_name(name, "photo"),
        content_type,
        bytes,
        by,
    };
    crate::files::insert(tx, &rec).await
}

async fn org_path(c: &mut impl Conn, tenant_id: i64, org_id: OrgId) -> Result<OrgPath, StoreError> {
    let (path,): (String,) =
        c.one("SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2", args![tenant_id, org_id]).await?;
    OrgPath::parse(&path).map_err(|_| StoreError::Internal(format!("organisation {org_id} has a malformed path")))
}

/// Households in the caller's scope for registering on a resident's behalf:
/// by building and room (as the household picker does), or else by the name
/// of someone living there. Answers names only (no ID numbers, no phones).
pub async fn find_households(db: &Db, p: &Principal, q: &str) -> Result<Vec<Candidate>, StoreError> {
    let access = p.access(Capability::HandleRequests)?;
    let q = q.trim();
    if q.is_empty() {
        return Ok(vec![]);
    }
    let found = pick::search(db, p, PickKind::Household, q, None).await?;
    if !found.is_empty() || q.parse::<i64>().is_ok() {
        return Ok(found);
    }
    let mut a = Args::new();
    let c = access.rows("h", &mut a);
    // A name starting with the text: the contains-pattern without its leading `%`.
    let like = a.push(crate::registry::like(q)[1..].to_string());
    let lim = a.push(pick::PICK_LIMIT);
    let household = crate::registry::households::place_sql("h", "b");
    db.all(
        &format!(
            "SELECT h.id, {household} AS label, r.name AS detail \
             FROM residents r JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
             JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
             WHERE {c} AND r.name LIKE {like} ESCAPE '\\' ORDER BY r.name, h.id LIMIT {lim}"
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
) -> Result<Result<Option<HouseholdId>, (FieldError, Vec<Candidate>)>, StoreError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(Ok(None));
    }
    if let Ok(id) = t.parse::<HouseholdId>() {
        return Ok(Ok(Some(id)));
    }
    let found = find_households(db, p, t).await?;
    Ok(match found.as_slice() {
        [one] => Ok(Some(HouseholdId::new(one.id))),
        [] => Err((FieldError::new("household_id", "not_found", i18n::PICK_NONE), found)),
        _ => Err((FieldError::new("household_id", "ambiguous", i18n::PICK_AMBIGUOUS), found)),
    })
}
