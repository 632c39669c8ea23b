//! Volunteering (志愿服务): service posts an organisation publishes, members
//! claiming them under a generated agreement (领岗协议) that follows every
//! version of the post, and service hours logged by the member against a
//! post they hold or a request they handled, counted only once confirmed by
//! someone who may edit the organisation where the service was done — never
//! the member themselves.
//!
//! Staff act through their scope (`EditRegistry` to publish and confirm,
//! `ReadRegistry` to read); members act as the member linked to their
//! account ([`crate::duties::member_of`]) on posts inside or above the
//! organisations where they may claim requests. Totals are listed by
//! organisation and name, never ranked.

use crate::args;
use crate::audit;
use crate::db::{Args, Conn, Db, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask};
use crate::scope::{self, OrgRef, Owned, Principal};
use chrono::{Datelike, NaiveDate, Utc};
use redcell_domain::export::Column;
use redcell_domain::text::Text;
use redcell_domain::volunteer::{
    self as v, ClaimId, HoursId, HoursState, InvitationId, InvitationState, Logged, PostInput, PostTerms, ReportId,
    ServicePostId, Span, TeamId,
};
use redcell_domain::{Capability, CodeEnum, FieldError, Invalid, MemberId, OrgId, Phone};
use serde::{Deserialize, Serialize};

impl Owned for ServicePostId {
    const TABLE: &'static str = "service_posts";
}
impl Owned for ClaimId {
    const TABLE: &'static str = "service_claims";
}
impl Owned for HoursId {
    const TABLE: &'static str = "service_hours";
}

/// Publishing posts and confirming hours need the right to edit the
/// organisation.
const CAP: Capability = Capability::EditRegistry;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ServicePost)]
pub struct Post {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub title: String,
    pub duty: String,
    pub place: String,
    pub schedule: String,
    pub headcount: i64,
    pub skills: String,
    pub version: i64,
    pub closed_on: Option<NaiveDate>,
    /// Members holding the post now.
    pub taken: i64,
}

impl Post {
    pub fn is_open(&self) -> bool {
        self.closed_on.is_none()
    }
    pub fn is_full(&self) -> bool {
        self.taken >= self.headcount
    }
    fn terms(&self) -> PostTerms {
        PostTerms {
            title: self.title.clone(),
            duty: self.duty.clone(),
            place: self.place.clone(),
            schedule: self.schedule.clone(),
            headcount: self.headcount,
            skills: self.skills.clone(),
        }
    }
}

/// A member holding (or having held) a post, with the agreement they signed
/// last. Names are shown: the agreement says it is published with the name.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Claim {
    pub id: i64,
    pub post_id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub claimed_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    /// The version of the post's terms the member last signed.
    pub version: i64,
    pub agreement: String,
    pub signed_on: NaiveDate,
}

/// A post with its claims.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostView {
    pub post: Post,
    pub claims: Vec<Claim>,
    /// The agreement as it would read for a new claim today (the member's
    /// name left as a blank line).
    pub draft: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Hours {
    pub id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub org_id: i64,
    pub org_name: String,
    pub post_id: Option<i64>,
    pub post_title: Option<String>,
    pub request_id: Option<i64>,
    pub request_code: Option<String>,
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    pub activity_id: Option<i64>,
    pub activity_title: Option<String>,
    pub work_date: NaiveDate,
    /// Minutes after midnight.
    pub start_min: i64,
    pub end_min: i64,
    pub minutes: i64,
    pub note: String,
    /// `pending`, `confirmed` or `rejected`.
    pub state: String,
    pub decided_by_name: Option<String>,
    pub decision_note: Option<String>,
    /// Who confirmed or rejected: `staff` (the organisation) or `resident`
    /// (the resident served, through their revisit link).
    pub decided_via: Option<String>,
}

impl Hours {
    pub fn state_label(&self) -> &'static str {
        HoursState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
    pub fn time(&self) -> String {
        format!("{}–{}", Span::clock(self.start_min), Span::clock(self.end_min))
    }
    pub fn length(&self) -> String {
        v::hours_label(self.minutes)
    }
    /// What the service was for, in words.
    pub fn what(&self) -> String {
        match (&self.post_title, &self.request_code, &self.team_name) {
            (Some(t), _, _) => t.clone(),
            (None, Some(c), _) => format!("诉求 {c}"),
            (None, None, Some(t)) => t.clone(),
            _ => self.activity_title.as_ref().map(|t| format!("活动：{t}")).unwrap_or_default(),
        }
    }
    /// Who decided, in words (the resident served, or the staff member).
    pub fn decided_by(&self) -> String {
        match (self.decided_via.as_deref(), &self.decided_by_name) {
            (Some("resident"), _) => "服务对象（居民）".into(),
            (_, Some(n)) => n.clone(),
            _ => String::new(),
        }
    }
    pub fn is_pending(&self) -> bool {
        self.state == HoursState::Pending.code()
    }
}

/// A request the member handled (hours may be logged against it).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Handled {
    pub id: i64,
    /// The follow code.
    pub code: String,
}

/// An activity the member was present at (hours may be logged for it).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Attended {
    pub id: i64,
    pub title: String,
    pub held_on: NaiveDate,
}

/// A post a member holds and their claim of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Holding {
    pub post: Post,
    pub claim: Claim,
}

impl Holding {
    /// The post changed since the member signed.
    pub fn outdated(&self) -> bool {
        self.claim.version < self.post.version
    }
}

/// A member's confirmed hours in a year.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberTotal {
    pub member_id: i64,
    pub name: String,
    pub org_name: String,
    pub minutes: i64,
}

impl MemberTotal {
    pub fn length(&self) -> String {
        v::hours_label(self.minutes)
    }
}

/// An organisation's service in a year: confirmed hours per member (by
/// organisation and name, never ranked) and what waits for confirmation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrgService {
    pub year: i32,
    pub total_minutes: i64,
    pub members: Vec<MemberTotal>,
    pub pending: Vec<Hours>,
}

/// What a member sees of their own service.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyService {
    pub member_id: i64,
    pub year: i32,
    /// Confirmed this year.
    pub confirmed_minutes: i64,
    pub pending_minutes: i64,
    /// Posts the member holds now, with the agreement signed.
    pub holding: Vec<Holding>,
    /// Open posts near the member they may claim.
    pub open: Vec<Post>,
    /// Requests the member handled that hours may be logged against.
    pub requests: Vec<Handled>,
    /// Activities of the last 60 days the member was present at.
    pub activities: Vec<Attended>,
    /// The member's hours, newest first (the last two years).
    pub hours: Vec<Hours>,
    /// Invitations waiting for the member's answer.
    pub invitations: Vec<Invitation>,
    /// Invitations to published micro-wishes and unclaimed requests waiting
    /// for the answer (the field keeps its first name).
    pub wish_invitations: Vec<crate::matching::RequestInvitation>,
    /// Service teams the member serves in, and open teams near them.
    pub teams: Vec<crate::teams::Team>,
    pub open_teams: Vec<crate::teams::Team>,
    /// The member's reviewed yearly evaluations, newest first.
    pub evaluations: Vec<crate::teams::Evaluation>,
    /// The member's own ledger of skills, interests and free time.
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub free_time: Option<String>,
}

/// Form and API input for a post.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = RawServicePost)]
pub struct RawPost {
    /// The organisation publishing the post (on creation only).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    /// e.g. 楼道环境监督岗.
    pub title: Option<String>,
    /// What the member does.
    pub duty: Option<String>,
    pub place: Option<String>,
    /// When, in words: 每周六上午 9:00–11:00.
    pub schedule: Option<String>,
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub headcount: Option<String>,
    /// Skills wanted, in words (may be empty).
    pub skills: Option<String>,
}

impl RawPost {
    fn terms(&self) -> Result<PostTerms, Invalid> {
        let s = |x: &Option<String>| x.clone().unwrap_or_default();
        let (title, duty, place, schedule, headcount, skills) =
            (s(&self.title), s(&self.duty), s(&self.place), s(&self.schedule), s(&self.headcount), s(&self.skills));
        PostInput {
            title: &title,
            duty: &duty,
            place: &place,
            schedule: &schedule,
            headcount: &headcount,
            skills: &skills,
        }
        .validate()
    }
    /// The form filled with a post's terms (for editing).
    pub fn of(p: &Post) -> RawPost {
        RawPost {
            org_id: Some(p.org_id.to_string()),
            title: Some(p.title.clone()),
            duty: Some(p.duty.clone()),
            place: Some(p.place.clone()),
            schedule: Some(p.schedule.clone()),
            headcount: Some(p.headcount.to_string()),
            skills: Some(p.skills.clone()),
        }
    }
}

/// Hours as the member logs them: against a post they hold or a request they
/// handled (one of the two).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawHours {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub post_id: Option<String>,
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub request_id: Option<String>,
    /// A service team the member belongs to (one of post, request, team, activity).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub team_id: Option<String>,
    /// An activity the member was present at (the date is the activity's).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub activity_id: Option<String>,
    /// `YYYY-MM-DD`, not in the future (default: today).
    pub date: Option<String>,
    /// `HH:MM`.
    pub start: Option<String>,
    /// `HH:MM`.
    pub end: Option<String>,
    /// What was done (optional).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawConfirm {
    /// `confirm` or `reject`.
    pub decision: Option<String>,
    /// Required when rejecting.
    pub note: Option<String>,
}

const POST_COLS: &str = "sp.id, sp.org_id, o.name AS org_name, sp.title, sp.duty, sp.place, sp.schedule, sp.headcount, \
    sp.skills, sp.version, sp.closed_on, (SELECT COUNT(*) FROM service_claims c WHERE c.tenant_id = sp.tenant_id \
    AND c.post_id = sp.id AND c.ended_on IS NULL) AS taken";
const POST_FROM: &str = "service_posts sp JOIN orgs o ON o.tenant_id = sp.tenant_id AND o.id = sp.org_id";

const CLAIM_SELECT: &str = "SELECT c.id, c.post_id, c.member_id, r.name AS member_name, c.claimed_on, c.ended_on, \
    a.version, a.body AS agreement, a.signed_on FROM service_claims c \
    JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    JOIN service_agreements a ON a.tenant_id = c.tenant_id AND a.claim_id = c.id AND a.version = \
    (SELECT MAX(a2.version) FROM service_agreements a2 WHERE a2.tenant_id = c.tenant_id AND a2.claim_id = c.id)";

pub(crate) const HOURS_SELECT: &str = "SELECT h.id, h.member_id, r.name AS member_name, h.org_id, o.name AS org_name, h.post_id, \
    sp.title AS post_title, h.request_id, rq.code AS request_code, h.work_date, h.start_min, h.end_min, h.minutes, \
    h.note, h.state, u.display_name AS decided_by_name, h.decision_note, h.team_id, st.name AS team_name, \
    h.decided_via, h.activity_id, da.title AS activity_title FROM service_hours h \
    JOIN members m ON m.tenant_id = h.tenant_id AND m.id = h.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    JOIN orgs o ON o.tenant_id = h.tenant_id AND o.id = h.org_id \
    LEFT JOIN service_posts sp ON sp.tenant_id = h.tenant_id AND sp.id = h.post_id \
    LEFT JOIN requests rq ON rq.tenant_id = h.tenant_id AND rq.id = h.request_id \
    LEFT JOIN service_teams st ON st.tenant_id = h.tenant_id AND st.id = h.team_id \
    LEFT JOIN duty_activities da ON da.tenant_id = h.tenant_id AND da.id = h.activity_id \
    LEFT JOIN users u ON u.id = h.decided_by";

pub(crate) fn today() -> NaiveDate {
    crate::coverage::today()
}

async fn post_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Post, StoreError> {
    c.one(&format!("SELECT {POST_COLS} FROM {POST_FROM} WHERE sp.tenant_id = $1 AND sp.id = $2"), args![tenant, id])
        .await
}

async fn claims_of(c: &mut impl Conn, tenant: i64, post: i64) -> Result<Vec<Claim>, StoreError> {
    c.all(
        &format!("{CLAIM_SELECT} WHERE c.tenant_id = $1 AND c.post_id = $2 ORDER BY c.ended_on IS NOT NULL, c.claimed_on, c.id"),
        args![tenant, post],
    )
    .await
}

pub(crate) async fn hours_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Hours, StoreError> {
    c.one(&format!("{HOURS_SELECT} WHERE h.tenant_id = $1 AND h.id = $2"), args![tenant, id]).await
}

// ---- staff: posts

/// The posts of an organisation's subtree the caller reads, open ones first.
pub async fn posts(db: &Db, p: &Principal, org_id: OrgId) -> Result<Vec<Post>, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let org = access.org(&mut db.conn(), org_id).await?;
    let mut a = args![];
    let u = org.under("sp", &mut a);
    db.all(
        &format!("SELECT {POST_COLS} FROM {POST_FROM} WHERE {u} ORDER BY sp.closed_on IS NOT NULL, o.path, sp.id DESC"),
        a,
    )
    .await
}

/// A post the caller reads (staff) with its claims.
pub async fn post(db: &Db, p: &Principal, id: ServicePostId) -> Result<PostView, StoreError> {
    let owner = p.access(Capability::ReadRegistry)?.target(&mut db.conn(), id).await?;
    view(db, owner.tenant_id, id.get()).await
}

async fn view(db: &Db, tenant: i64, id: i64) -> Result<PostView, StoreError> {
    let mut c = db.conn();
    let post = post_row(&mut c, tenant, id).await?;
    let claims = claims_of(&mut c, tenant, id).await?;
    let draft = v::agreement_text(&post.org_name, &post.terms(), post.version, "＿＿＿＿", today());
    Ok(PostView { post, claims, draft })
}

pub async fn create_post(db: &Db, p: &Principal, raw: &RawPost) -> Result<Post, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let org_id = e.check(redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, true));
    let terms = raw.terms();
    if let Err(more) = &terms {
        e.0.extend(more.0.iter().cloned());
    }
    e.into_result()?;
    let (Some(Some(org_id)), Ok(t)) = (org_id, terms) else { return Err(StoreError::Internal("post input".into())) };
    let mut tx = db.begin().await?;
    let org = access.org_ref(&mut tx, org_id, "org_id").await?;
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO service_posts (tenant_id, org_id, title, duty, place, schedule, headcount, skills, version, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $10) RETURNING id",
            args![org.tenant_id, org.id, t.title, t.duty, t.place, t.schedule, t.headcount, t.skills, p.user_id, now],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "service_post",
        "service_posts",
        org.tenant_id,
        id,
        None,
    )
    .await?;
    let post = post_row(&mut tx, org.tenant_id, id).await?;
    tx.commit().await?;
    Ok(post)
}

/// Change a post's terms: a new version when anything changed. Members
/// holding the post keep the agreement they signed until they sign the new
/// one; a headcount below those holding it now is refused.
pub async fn update_post(db: &Db, p: &Principal, id: ServicePostId, raw: &RawPost) -> Result<Post, StoreError> {
    let access = p.access(CAP)?;
    let t = raw.terms()?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = post_row(&mut tx, owner.tenant_id, id.get()).await?;
    if before.closed_on.is_some() {
        return Err(FieldError::new("title", "closed", "岗位已撤销，不能修改").into());
    }
    if t.headcount < before.taken {
        return Err(FieldError::new(
            "headcount",
            "range",
            format!("已有 {} 人在岗，人数不能少于在岗人数", before.taken),
        )
        .into());
    }
    if t == before.terms() {
        tx.commit().await?;
        return Ok(before);
    }
    let snap = audit::snapshot(&mut tx, "service_posts", owner.tenant_id, id.get()).await?;
    tx.exec(
        "UPDATE service_posts SET title = $1, duty = $2, place = $3, schedule = $4, headcount = $5, skills = $6, \
         version = version + 1, updated_at = $7 WHERE tenant_id = $8 AND id = $9",
        args![t.title, t.duty, t.place, t.schedule, t.headcount, t.skills, Utc::now(), owner.tenant_id, id.get()],
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "service_post",
        "service_posts",
        owner.tenant_id,
        id.get(),
        snap,
    )
    .await?;
    let post = post_row(&mut tx, owner.tenant_id, id.get()).await?;
    tx.commit().await?;
    Ok(post)
}

/// Closing a record that people hold (a post and its claims, a team and its
/// members): the record's `closed_on` becomes today and every open holding
/// ends today; the history stays.
pub(crate) struct Closing {
    pub table: &'static str,
    pub holders: &'static str,
    /// The holders' column naming the record, and the one ending a holding.
    pub key: &'static str,
    pub end: &'static str,
}

impl Closing {
    /// Inside `tx`; false (nothing written) when it was closed already.
    pub async fn close(&self, tx: &mut Tx, tenant: i64, id: i64) -> Result<bool, StoreError> {
        let today = today();
        let n = tx
            .exec(
                &format!(
                    "UPDATE {} SET closed_on = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND closed_on IS NULL",
                    self.table
                ),
                args![today, Utc::now(), tenant, id],
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        tx.exec(
            &format!(
                "UPDATE {holders} SET {end} = $1 WHERE tenant_id = $2 AND {key} = $3 AND {end} IS NULL",
                holders = self.holders,
                end = self.end,
                key = self.key
            ),
            args![today, tenant, id],
        )
        .await?;
        Ok(true)
    }
}

/// Close a post: it takes no more claims and everyone holding it leaves it
/// today; hours already logged stay.
pub async fn close_post(db: &Db, p: &Principal, id: ServicePostId) -> Result<Post, StoreError> {
    let access = p.access(CAP)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let closing = Closing { table: "service_posts", holders: "service_claims", key: "post_id", end: "ended_on" };
    if !closing.close(&mut tx, owner.tenant_id, id.get()).await? {
        return Err(FieldError::new("post_id", "closed", "岗位已撤销").into());
    }
    audit::record(&mut tx, owner.tenant_id, Some(p.user_id), "service_post_close", "service_post", Some(id.get()), "")
        .await?;
    let post = post_row(&mut tx, owner.tenant_id, id.get()).await?;
    tx.commit().await?;
    Ok(post)
}

// ---- the public page of a post

/// A post as the public sees it: its terms and who holds it under which
/// agreement (names shown, as each agreement says).
pub async fn public_post(db: &Db, id: i64) -> Result<PostView, StoreError> {
    let tenant: Option<(i64,)> = db.opt("SELECT tenant_id FROM service_posts WHERE id = $1", args![id]).await?;
    let (tenant,) = tenant.ok_or(StoreError::NotFound)?;
    let mut pv = view(db, tenant, id).await?;
    pv.claims.retain(|c| c.ended_on.is_none());
    Ok(pv)
}

// ---- members

/// The member linked to the caller's account, who must be able to claim.
pub(crate) async fn me(db: &Db, p: &Principal) -> Result<i64, StoreError> {
    p.access(Capability::ClaimRequests)?;
    crate::duties::member_of(db, p).await?.ok_or(StoreError::Forbidden)
}

/// SQL condition: the organisation row `o` is where the member may serve —
/// inside or above an organisation where they may claim requests.
pub(crate) fn near(p: &Principal, a: &mut Args) -> String {
    let scope = p.scope(Capability::ClaimRequests);
    let mut parts = vec![scope.orgs("o", a)];
    for path in &scope.paths {
        parts.push(scope::orgs_above_path("o", p.tenant_id, path, a));
    }
    format!("({})", parts.join(" OR "))
}

/// A post the member may see and claim, inside `c`.
async fn near_post(c: &mut impl Conn, p: &Principal, id: i64, field: &str) -> Result<Post, StoreError> {
    let mut a = args![p.tenant_id, id];
    let near = near(p, &mut a);
    let found: Option<Post> = c
        .opt(&format!("SELECT {POST_COLS} FROM {POST_FROM} WHERE sp.tenant_id = $1 AND sp.id = $2 AND {near}"), a)
        .await?;
    found.ok_or_else(|| FieldError::new(field, "not_found", redcell_domain::i18n::NOT_FOUND).into())
}

/// What the member sees of their own service this year.
pub async fn mine(db: &Db, p: &Principal) -> Result<MyService, StoreError> {
    let member = me(db, p).await?;
    let t = p.tenant_id;
    let year = today().year();
    let mut c = db.conn();
    let claims: Vec<Claim> = c
        .all(
            &format!("{CLAIM_SELECT} WHERE c.tenant_id = $1 AND c.member_id = $2 AND c.ended_on IS NULL ORDER BY c.claimed_on"),
            args![t, member],
        )
        .await?;
    // The posts held, in one query, paired with their claims in memory.
    let held: Vec<Post> = c
        .all(
            &format!(
                "SELECT {POST_COLS} FROM {POST_FROM} WHERE sp.tenant_id = $1 AND sp.id IN (SELECT post_id FROM service_claims \
                 WHERE tenant_id = $1 AND member_id = $2 AND ended_on IS NULL)"
            ),
            args![t, member],
        )
        .await?;
    let holding: Vec<Holding> = claims
        .into_iter()
        .filter_map(|claim| {
            held.iter().find(|x| x.id == claim.post_id).map(|post| Holding { post: post.clone(), claim })
        })
        .collect();
    let mut a = args![t, member];
    let near = near(p, &mut a);
    let open: Vec<Post> = c
        .all(
            &format!(
                "SELECT {POST_COLS} FROM {POST_FROM} WHERE sp.tenant_id = $1 AND sp.closed_on IS NULL AND {near} \
                 AND NOT EXISTS (SELECT 1 FROM service_claims c2 WHERE c2.tenant_id = sp.tenant_id AND c2.post_id = sp.id \
                 AND c2.member_id = $2 AND c2.ended_on IS NULL) ORDER BY o.path, sp.id DESC LIMIT 50"
            ),
            a,
        )
        .await?;
    let open = open.into_iter().filter(|x| !x.is_full()).collect();
    let requests: Vec<Handled> = c
        .all(
            "SELECT id, code FROM requests WHERE tenant_id = $1 AND handler_user_id = $2 ORDER BY id DESC LIMIT 20",
            args![t, p.user_id],
        )
        .await?;
    let since = NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or(today());
    let hours: Vec<Hours> = c
        .all(
            &format!("{HOURS_SELECT} WHERE h.tenant_id = $1 AND h.member_id = $2 AND h.work_date >= $3 ORDER BY h.work_date DESC, h.start_min DESC"),
            args![t, member, since],
        )
        .await?;
    let logged: Vec<Logged> = hours.iter().filter_map(logged).collect();
    let confirmed_minutes = v::year_totals(year, &logged).first().map(|x| x.1).unwrap_or(0);
    let pending_minutes =
        hours.iter().filter(|h| h.is_pending() && h.work_date.year() == year).map(|h| h.minutes).sum();
    let invitations: Vec<Invitation> = c
        .all(
            &format!(
                "{INVITATION_SELECT} WHERE i.tenant_id = $1 AND i.member_id = $2 AND i.state = $3 ORDER BY i.id DESC"
            ),
            args![t, member, InvitationState::Pending.code()],
        )
        .await?;
    let (skills, interests, free_time): (Option<String>, Option<String>, Option<String>) = c
        .one("SELECT skills, interests, free_time FROM members WHERE tenant_id = $1 AND id = $2", args![t, member])
        .await?;
    let activities: Vec<Attended> = c
        .all(
            "SELECT a.id, a.title, a.held_on FROM duty_activities a JOIN duty_people dp ON dp.tenant_id = a.tenant_id \
             AND dp.record_kind = 'activity' AND dp.record_id = a.id AND dp.person_kind = 'member' AND dp.person_id = $2 \
             AND dp.presence = 'present' WHERE a.tenant_id = $1 AND a.held_on >= $3 AND a.held_on <= $4 \
             ORDER BY a.held_on DESC, a.id DESC LIMIT 20",
            args![t, member, today() - chrono::Duration::days(60), today()],
        )
        .await?;
    let wish_invitations = crate::matching::pending_for(&mut c, t, member).await?;
    let teams = crate::teams::member_teams(&mut c, t, member).await?;
    let open_teams = crate::teams::open_teams(&mut c, p, member).await?;
    let evaluations = crate::teams::member_evaluations(&mut c, t, member).await?;
    Ok(MyService {
        member_id: member,
        year,
        confirmed_minutes,
        pending_minutes,
        holding,
        open,
        requests,
        activities,
        hours,
        invitations,
        wish_invitations,
        teams,
        open_teams,
        evaluations,
        skills,
        interests,
        free_time,
    })
}

fn logged(h: &Hours) -> Option<Logged> {
    Some(Logged { member: h.member_id, date: h.work_date, minutes: h.minutes, state: HoursState::from_code(&h.state)? })
}

/// Claim a post: the member signs the agreement for its current version.
pub async fn claim(db: &Db, p: &Principal, id: ServicePostId) -> Result<Claim, StoreError> {
    let member = me(db, p).await?;
    let mut tx = db.begin().await?;
    let claim = claim_in(&mut tx, p, member, id).await?;
    tx.commit().await?;
    Ok(claim)
}

/// Claim a post for `member` inside `tx` (a claim, or an accepted invitation).
async fn claim_in(tx: &mut Tx, p: &Principal, member: i64, id: ServicePostId) -> Result<Claim, StoreError> {
    // One claim at a time per post: the headcount read here is the one kept.
    tx.exec(
        "UPDATE service_posts SET version = version WHERE tenant_id = $1 AND id = $2",
        args![p.tenant_id, id.get()],
    )
    .await?;
    let post = near_post(tx, p, id.get(), "post_id").await?;
    if !post.is_open() {
        return Err(FieldError::new("post_id", "closed", "岗位已撤销").into());
    }
    let held = tx
        .int(
            "SELECT COUNT(*) FROM service_claims WHERE tenant_id = $1 AND post_id = $2 AND member_id = $3 AND ended_on IS NULL",
            args![p.tenant_id, post.id, member],
        )
        .await?;
    if held > 0 {
        return Err(FieldError::new("post_id", "duplicate", "您已在这个岗位").into());
    }
    if post.is_full() {
        return Err(FieldError::new("post_id", "full", "岗位人数已满").into());
    }
    let today = today();
    let id = tx
        .int(
            "INSERT INTO service_claims (tenant_id, org_id, post_id, member_id, claimed_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            args![p.tenant_id, post.org_id, post.id, member, today, Utc::now()],
        )
        .await?;
    sign(tx, p, &post, id, member, today).await?;
    audit::record(tx, p.tenant_id, Some(p.user_id), "service_claim", "service_claim", Some(id), &post.title).await?;
    claim_row(tx, p.tenant_id, id).await
}

async fn claim_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Claim, StoreError> {
    c.one(&format!("{CLAIM_SELECT} WHERE c.tenant_id = $1 AND c.id = $2"), args![tenant, id]).await
}

/// Write the agreement of `claim` at the post's current version.
async fn sign(
    tx: &mut Tx,
    p: &Principal,
    post: &Post,
    claim: i64,
    member: i64,
    on: NaiveDate,
) -> Result<(), StoreError> {
    let name: (String,) = tx
        .one(
            "SELECT r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             WHERE m.tenant_id = $1 AND m.id = $2",
            args![p.tenant_id, member],
        )
        .await?;
    let body = v::agreement_text(&post.org_name, &post.terms(), post.version, &name.0, on);
    tx.exec(
        "INSERT INTO service_agreements (tenant_id, claim_id, version, body, signed_on, signed_by) VALUES ($1, $2, $3, $4, $5, $6)",
        args![p.tenant_id, claim, post.version, body, on, p.user_id],
    )
    .await?;
    Ok(())
}

/// A claim of the caller's member still held, inside `tx`, with its post.
async fn my_claim(tx: &mut Tx, p: &Principal, member: i64, id: ClaimId) -> Result<(Claim, Post), StoreError> {
    let found: Option<Claim> = tx
        .opt(
            &format!("{CLAIM_SELECT} WHERE c.tenant_id = $1 AND c.id = $2 AND c.member_id = $3 AND c.ended_on IS NULL"),
            args![p.tenant_id, id.get(), member],
        )
        .await?;
    let claim = found.ok_or(StoreError::NotFound)?;
    let post = post_row(tx, p.tenant_id, claim.post_id).await?;
    Ok((claim, post))
}

/// Sign the post's current terms (after the post changed).
pub async fn renew(db: &Db, p: &Principal, id: ClaimId) -> Result<Claim, StoreError> {
    let member = me(db, p).await?;
    let mut tx = db.begin().await?;
    let (claim, post) = my_claim(&mut tx, p, member, id).await?;
    if claim.version >= post.version {
        return Err(FieldError::new("claim_id", "current", "已签订最新版协议").into());
    }
    sign(&mut tx, p, &post, claim.id, member, today()).await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "service_renew", "service_claim", Some(claim.id), "").await?;
    let claim = claim_row(&mut tx, p.tenant_id, claim.id).await?;
    tx.commit().await?;
    Ok(claim)
}

/// Leave a post (moving away, no more time): the history stays.
pub async fn leave(db: &Db, p: &Principal, id: ClaimId) -> Result<(), StoreError> {
    let member = me(db, p).await?;
    let mut tx = db.begin().await?;
    let (claim, _) = my_claim(&mut tx, p, member, id).await?;
    tx.exec(
        "UPDATE service_claims SET ended_on = $1 WHERE tenant_id = $2 AND id = $3",
        args![today(), p.tenant_id, claim.id],
    )
    .await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "service_leave", "service_claim", Some(claim.id), "").await?;
    tx.commit().await?;
    Ok(())
}

/// Log a span of service: against a post the member holds (not before the
/// claim) or a request they handled; never overlapping their other hours.
pub async fn log_hours(db: &Db, p: &Principal, raw: &RawHours) -> Result<Hours, StoreError> {
    let member = me(db, p).await?;
    let mut e = Invalid::default();
    let post = e.check(redcell_domain::input::id_ref::<ServicePostId>("post_id", &raw.post_id, false)).flatten();
    let request = e
        .check(redcell_domain::input::id_ref::<redcell_domain::RequestId>("request_id", &raw.request_id, false))
        .flatten();
    let team = e.check(redcell_domain::input::id_ref::<TeamId>("team_id", &raw.team_id, false)).flatten();
    let activity = e
        .check(redcell_domain::input::id_ref::<redcell_domain::ActivityId>("activity_id", &raw.activity_id, false))
        .flatten();
    let note = e.check(redcell_domain::text::Text::parse("note", raw.note.as_deref().unwrap_or(""), 200));
    let targets =
        [post.is_some(), request.is_some(), team.is_some(), activity.is_some()].iter().filter(|x| **x).count();
    if e.is_empty() && targets != 1 {
        e.push(FieldError::new("post_id", "required", "请选择服务的岗位、诉求、服务队或活动（选一项）"));
    }
    e.into_result()?;
    let mut tx = db.begin().await?;
    // One writer per member at a time: the overlap check sees every span.
    tx.exec("UPDATE members SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2", args![p.tenant_id, member])
        .await?;
    let mut activity_day = None;
    let (org_id, earliest) = match (post, request, team) {
        (Some(post), _, _) => {
            let claimed: Option<(i64, NaiveDate)> = tx
                .opt(
                    "SELECT org_id, claimed_on FROM service_claims WHERE tenant_id = $1 AND post_id = $2 AND member_id = $3 \
                     AND ended_on IS NULL",
                    args![p.tenant_id, post.get(), member],
                )
                .await?;
            let (org, on) =
                claimed.ok_or_else(|| FieldError::new("post_id", "not_held", "您不在这个岗位，不能登记"))?;
            (org, Some(on))
        }
        (None, Some(req), _) => {
            let mut a = args![p.tenant_id, req.get(), p.user_id];
            let claim = p.scope(Capability::ClaimRequests).rows("r", &mut a);
            let handle = p.scope(Capability::HandleRequests).rows("r", &mut a);
            let found: Option<(i64,)> = tx
                .opt(
                    &format!(
                        "SELECT r.org_id FROM requests r WHERE r.tenant_id = $1 AND r.id = $2 AND r.handler_user_id = $3 \
                         AND ({claim} OR {handle})"
                    ),
                    a,
                )
                .await?;
            let (org,) = found.ok_or_else(|| FieldError::new("request_id", "not_handled", "只能登记您承办的诉求"))?;
            (org, None)
        }
        (None, None, Some(team)) => {
            let joined: Option<(i64, NaiveDate)> = tx
                .opt(
                    "SELECT tm.org_id, tm.joined_on FROM service_team_members tm JOIN service_teams t \
                     ON t.tenant_id = tm.tenant_id AND t.id = tm.team_id WHERE tm.tenant_id = $1 AND tm.team_id = $2 \
                     AND tm.member_id = $3 AND tm.left_on IS NULL AND t.closed_on IS NULL",
                    args![p.tenant_id, team.get(), member],
                )
                .await?;
            let (org, on) =
                joined.ok_or_else(|| FieldError::new("team_id", "not_member", "您不在这个服务队，不能登记"))?;
            (org, Some(on))
        }
        (None, None, None) => match activity {
            Some(activity) => {
                let at: Option<(i64, NaiveDate)> = tx
                    .opt(
                        "SELECT a.org_id, a.held_on FROM duty_activities a JOIN duty_people dp ON dp.tenant_id = a.tenant_id \
                         AND dp.record_kind = 'activity' AND dp.record_id = a.id AND dp.person_kind = 'member' \
                         AND dp.person_id = $3 AND dp.presence = 'present' WHERE a.tenant_id = $1 AND a.id = $2",
                        args![p.tenant_id, activity.get(), member],
                    )
                    .await?;
                let (org, on) =
                    at.ok_or_else(|| FieldError::new("activity_id", "not_present", "只能登记您到场参加的活动"))?;
                activity_day = Some(on);
                (org, Some(on))
            }
            None => return Err(StoreError::Internal("hours target".into())),
        },
    };
    // An activity's hours are on its day: an empty date means that day, another is named.
    let date = match (activity_day, raw.date.as_deref().map(str::trim).filter(|d| !d.is_empty())) {
        (Some(day), None) => Some(day.to_string()),
        (Some(day), Some(d)) if d != day.to_string() => {
            return Err(FieldError::new("date", "activity_day", format!("活动在 {day} 举行，请登记当天的时长")).into());
        }
        _ => raw.date.clone(),
    };
    let span = Span::parse(&date, &raw.start, &raw.end, today(), earliest)?;
    let same_day: Vec<(i64, i64)> = tx
        .all(
            "SELECT start_min, end_min FROM service_hours WHERE tenant_id = $1 AND member_id = $2 AND work_date = $3 \
             AND state <> $4",
            args![p.tenant_id, member, span.date, HoursState::Rejected.code()],
        )
        .await?;
    if let Some((s, t)) =
        same_day.into_iter().find(|(s, t)| span.overlaps(&Span { date: span.date, start: *s, end: *t }))
    {
        return Err(FieldError::new(
            "start",
            "overlap",
            format!("与当天已登记的 {}–{} 重叠", Span::clock(s), Span::clock(t)),
        )
        .into());
    }
    let id = tx
        .int(
            "INSERT INTO service_hours (tenant_id, org_id, member_id, post_id, request_id, team_id, activity_id, work_date, \
             start_min, end_min, minutes, note, state, logged_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15) RETURNING id",
            args![
                p.tenant_id,
                org_id,
                member,
                post.map(|x| x.get()),
                request.map(|x| x.get()),
                team.map(|x| x.get()),
                activity.map(|x| x.get()),
                span.date,
                span.start,
                span.end,
                span.minutes(),
                note.map(|n| n.into_string()).unwrap_or_default(),
                HoursState::Pending.code(),
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "service_hours_log", "service_hours", Some(id), "").await?;
    let h = hours_row(&mut tx, p.tenant_id, id).await?;
    tx.commit().await?;
    Ok(h)
}

// ---- staff: confirming and totals

/// Confirm or reject a span of hours: by someone who may edit the
/// organisation where the service was done, never the member themselves,
/// once.
pub async fn decide(db: &Db, p: &Principal, id: HoursId, raw: &RawConfirm) -> Result<Hours, StoreError> {
    let access = p.access(CAP)?;
    let confirm = match raw.decision.as_deref().map(str::trim) {
        Some("confirm") => true,
        Some("reject") => false,
        _ => return Err(FieldError::new("decision", "required", "请选择确认或不予确认").into()),
    };
    let note = redcell_domain::text::Text::parse("note", raw.note.as_deref().unwrap_or(""), 200)?;
    if !confirm && note.as_str().is_empty() {
        return Err(FieldError::new("note", "required", "不予确认时请写明原因").into());
    }
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let h = hours_row(&mut tx, owner.tenant_id, id.get()).await?;
    if crate::duties::member_of(db, p).await? == Some(h.member_id) {
        return Err(FieldError::new("decision", "own", "不能确认自己的服务时长").into());
    }
    let state = if confirm { HoursState::Confirmed } else { HoursState::Rejected };
    let n = tx
        .exec(
            "UPDATE service_hours SET state = $1, decided_by = $2, decided_at = $3, decision_note = $4, \
             decided_via = 'staff' WHERE tenant_id = $5 AND id = $6 AND state = $7",
            args![
                state.code(),
                p.user_id,
                Utc::now(),
                note.into_option(),
                owner.tenant_id,
                id.get(),
                HoursState::Pending.code()
            ],
        )
        .await?;
    if n == 0 {
        return Err(FieldError::new("decision", "decided", "这条记录已处理").into());
    }
    audit::record(
        &mut tx,
        owner.tenant_id,
        Some(p.user_id),
        "service_hours_decide",
        "service_hours",
        Some(id.get()),
        state.code(),
    )
    .await?;
    let h = hours_row(&mut tx, owner.tenant_id, id.get()).await?;
    tx.commit().await?;
    Ok(h)
}

/// Pending hours logged against a request (what the resident served may
/// confirm through their revisit link).
pub(crate) async fn pending_for_request(
    c: &mut impl Conn,
    tenant: i64,
    request: i64,
) -> Result<Vec<Hours>, StoreError> {
    c.all(
        &format!(
            "{HOURS_SELECT} WHERE h.tenant_id = $1 AND h.request_id = $2 AND h.state = $3 ORDER BY h.work_date, h.id"
        ),
        args![tenant, request, HoursState::Pending.code()],
    )
    .await
}

/// The resident served confirms hours logged against their request, inside
/// the revisit's transaction: every id must be pending hours of that very
/// request, or nothing is written.
pub(crate) async fn confirm_by_resident(tx: &mut Tx, tenant: i64, request: i64, ids: &[i64]) -> Result<(), StoreError> {
    let pending = pending_for_request(tx, tenant, request).await?;
    for id in ids {
        if !pending.iter().any(|h| h.id == *id) {
            return Err(FieldError::new("hours", "not_yours", "只能确认为您这件诉求服务的时长").into());
        }
        tx.exec(
            "UPDATE service_hours SET state = $1, decided_at = $2, decided_via = 'resident', \
             decision_note = '服务对象回访确认' WHERE tenant_id = $3 AND id = $4 AND state = $5",
            args![HoursState::Confirmed.code(), Utc::now(), tenant, *id, HoursState::Pending.code()],
        )
        .await?;
        audit::record(tx, tenant, None, "service_hours_decide", "service_hours", Some(*id), "resident").await?;
    }
    Ok(())
}

/// An organisation's service in a year: confirmed hours per member and the
/// hours waiting for confirmation, in the caller's read scope.
pub async fn org_service(db: &Db, p: &Principal, org_id: OrgId, year: i32) -> Result<OrgService, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let year = redcell_domain::calendar::check_year("year", year)?;
    let mut c = db.conn();
    let org: OrgRef = access.org(&mut c, org_id).await?;
    let (from, to) = year_bounds(year);
    let mut a = args![from, to];
    let u = org.under("h", &mut a);
    let rows: Vec<(i64, String, String, NaiveDate, i64, String)> = c
        .all(
            &format!(
                "SELECT h.member_id, r.name, mo.name, h.work_date, h.minutes, h.state FROM service_hours h \
                 JOIN members m ON m.tenant_id = h.tenant_id AND m.id = h.member_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs mo ON mo.tenant_id = m.tenant_id AND mo.id = m.org_id \
                 WHERE h.work_date >= $1 AND h.work_date < $2 AND {u} ORDER BY mo.path, r.name, h.member_id"
            ),
            a,
        )
        .await?;
    let logged: Vec<Logged> = rows
        .iter()
        .filter_map(|r| Some(Logged { member: r.0, date: r.3, minutes: r.4, state: HoursState::from_code(&r.5)? }))
        .collect();
    let members: Vec<MemberTotal> = v::year_totals(year, &logged)
        .into_iter()
        .filter_map(|(m, minutes)| {
            rows.iter().find(|r| r.0 == m).map(|r| MemberTotal {
                member_id: m,
                name: r.1.clone(),
                org_name: r.2.clone(),
                minutes,
            })
        })
        .collect();
    let total_minutes = members.iter().map(|m| m.minutes).sum();
    let mut a = args![HoursState::Pending.code()];
    let u = org.under("h", &mut a);
    let pending: Vec<Hours> =
        c.all(&format!("{HOURS_SELECT} WHERE h.state = $1 AND {u} ORDER BY h.work_date, h.id LIMIT 200"), a).await?;
    Ok(OrgService { year, total_minutes, members, pending })
}

pub(crate) fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
    let to = NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(NaiveDate::MAX);
    (from, to)
}

/// Hours of a post the caller reads (newest first).
pub async fn post_hours(db: &Db, p: &Principal, id: ServicePostId) -> Result<Vec<Hours>, StoreError> {
    let owner = p.access(Capability::ReadRegistry)?.target(&mut db.conn(), id).await?;
    db.all(
        &format!(
            "{HOURS_SELECT} WHERE h.tenant_id = $1 AND h.post_id = $2 ORDER BY h.work_date DESC, h.id DESC LIMIT 100"
        ),
        args![owner.tenant_id, id.get()],
    )
    .await
}

// ---- skills matched to posts, invitations

impl Owned for InvitationId {
    const TABLE: &'static str = "service_invitations";
}

/// A member suggested for a post by their skills and interests.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggested {
    pub member_id: i64,
    pub name: String,
    pub org_name: String,
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub free_time: Option<String>,
    /// Invited already, waiting for the answer.
    pub invited: bool,
}

/// An invitation of a member to a post.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Invitation {
    pub id: i64,
    pub post_id: i64,
    pub post_title: String,
    pub org_name: String,
    pub member_id: i64,
    pub member_name: String,
    /// `pending`, `accepted` or `declined`.
    pub state: String,
    pub invited_by_name: String,
}

impl Invitation {
    pub fn state_label(&self) -> &'static str {
        InvitationState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawInvite {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub member_id: Option<String>,
}

/// The member's own skills, interests and free time (they edit them).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawSkills {
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub free_time: Option<String>,
}

const INVITATION_SELECT: &str = "SELECT i.id, i.post_id, sp.title AS post_title, o.name AS org_name, i.member_id, \
    r.name AS member_name, i.state, COALESCE(u.display_name, '') AS invited_by_name FROM service_invitations i \
    JOIN service_posts sp ON sp.tenant_id = i.tenant_id AND sp.id = i.post_id \
    JOIN orgs o ON o.tenant_id = sp.tenant_id AND o.id = sp.org_id \
    JOIN members m ON m.tenant_id = i.tenant_id AND m.id = i.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    LEFT JOIN users u ON u.id = i.invited_by";

/// Members of the post's organisation (and below) whose skills or interests
/// fit what the post wants, best fit first (then by name), who do not hold
/// it: for staff who may edit the post, to invite.
pub async fn suggestions(db: &Db, p: &Principal, id: ServicePostId) -> Result<Vec<Suggested>, StoreError> {
    let owner = p.access(CAP)?.target(&mut db.conn(), id).await?;
    let t = owner.tenant_id;
    let post = post_row(&mut db.conn(), t, id.get()).await?;
    if post.skills.trim().is_empty() || !post.is_open() {
        return Ok(vec![]);
    }
    type Row = (i64, String, String, Option<String>, Option<String>, Option<String>, bool);
    let mut a = args![t, id.get(), InvitationState::Pending.code()];
    let under = scope::rows_under_id("m", t, post.org_id, &mut a);
    let rows: Vec<Row> = db
        .all(
            &format!(
                "SELECT m.id, r.name, mo.name, m.skills, m.interests, m.free_time, \
                 EXISTS (SELECT 1 FROM service_invitations i WHERE i.tenant_id = m.tenant_id AND i.member_id = m.id \
                 AND i.post_id = $2 AND i.state = $3) FROM members m \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs mo ON mo.tenant_id = m.tenant_id AND mo.id = m.org_id \
                 WHERE m.tenant_id = $1 AND {under} AND (COALESCE(m.skills, '') <> '' OR COALESCE(m.interests, '') <> '') \
                 AND NOT EXISTS (SELECT 1 FROM service_claims c WHERE c.tenant_id = m.tenant_id AND c.member_id = m.id \
                 AND c.post_id = $2 AND c.ended_on IS NULL) ORDER BY r.name, m.id LIMIT 5000"
            ),
            a,
        )
        .await?;
    let mut fits: Vec<(usize, Suggested)> = rows
        .into_iter()
        .filter_map(|(member_id, name, org_name, skills, interests, free_time, invited)| {
            let f = v::fit(&post.skills, skills.as_deref().unwrap_or(""), interests.as_deref().unwrap_or(""));
            (f > 0).then_some((f, Suggested { member_id, name, org_name, skills, interests, free_time, invited }))
        })
        .collect();
    fits.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(fits.into_iter().take(10).map(|(_, s)| s).collect())
}

/// Invite a member in scope to an open post with places left (once while
/// the invitation waits).
pub async fn invite(db: &Db, p: &Principal, id: ServicePostId, raw: &RawInvite) -> Result<Invitation, StoreError> {
    let access = p.access(CAP)?;
    let member = redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, true)?
        .ok_or_else(|| FieldError::new("member_id", "required", redcell_domain::i18n::REQUIRED))?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    access.reference(&mut tx, member, "member_id").await?;
    let post = post_row(&mut tx, owner.tenant_id, id.get()).await?;
    if !post.is_open() || post.is_full() {
        return Err(FieldError::new("member_id", "full", "岗位已撤销或人数已满").into());
    }
    let (held, waiting): (i64, i64) = tx
        .one(
            "SELECT (SELECT COUNT(*) FROM service_claims WHERE tenant_id = $1 AND post_id = $2 AND member_id = $3 AND ended_on IS NULL), \
             (SELECT COUNT(*) FROM service_invitations WHERE tenant_id = $1 AND post_id = $2 AND member_id = $3 AND state = $4)",
            args![owner.tenant_id, post.id, member.get(), InvitationState::Pending.code()],
        )
        .await?;
    if held > 0 {
        return Err(FieldError::new("member_id", "duplicate", "这名党员已在这个岗位").into());
    }
    if waiting > 0 {
        return Err(FieldError::new("member_id", "duplicate", "已邀请，等待回复").into());
    }
    let iid = tx
        .int(
            "INSERT INTO service_invitations (tenant_id, org_id, post_id, member_id, state, invited_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![
                owner.tenant_id,
                post.org_id,
                post.id,
                member.get(),
                InvitationState::Pending.code(),
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    audit::record(
        &mut tx,
        owner.tenant_id,
        Some(p.user_id),
        "service_invite",
        "service_invitation",
        Some(iid),
        &post.title,
    )
    .await?;
    let inv: Invitation = tx
        .one(&format!("{INVITATION_SELECT} WHERE i.tenant_id = $1 AND i.id = $2"), args![owner.tenant_id, iid])
        .await?;
    tx.commit().await?;
    Ok(inv)
}

/// The member's answer to an invitation: accepting claims the post (signing
/// its agreement) in the same transaction; declining just records it.
pub async fn answer(db: &Db, p: &Principal, id: InvitationId, accept: bool) -> Result<Invitation, StoreError> {
    let member = me(db, p).await?;
    let mut tx = db.begin().await?;
    let found: Option<Invitation> = tx
        .opt(
            &format!("{INVITATION_SELECT} WHERE i.tenant_id = $1 AND i.id = $2 AND i.member_id = $3"),
            args![p.tenant_id, id.get(), member],
        )
        .await?;
    let inv = found.ok_or(StoreError::NotFound)?;
    if inv.state != InvitationState::Pending.code() {
        return Err(FieldError::new("invitation_id", "answered", "已回复过这个邀请").into());
    }
    if accept {
        claim_in(&mut tx, p, member, ServicePostId::new(inv.post_id)).await?;
    }
    let state = if accept { InvitationState::Accepted } else { InvitationState::Declined };
    tx.exec(
        "UPDATE service_invitations SET state = $1, answered_at = $2 WHERE tenant_id = $3 AND id = $4",
        args![state.code(), Utc::now(), p.tenant_id, inv.id],
    )
    .await?;
    audit::record(
        &mut tx,
        p.tenant_id,
        Some(p.user_id),
        "service_invite_answer",
        "service_invitation",
        Some(inv.id),
        state.code(),
    )
    .await?;
    let inv: Invitation = tx
        .one(&format!("{INVITATION_SELECT} WHERE i.tenant_id = $1 AND i.id = $2"), args![p.tenant_id, inv.id])
        .await?;
    tx.commit().await?;
    Ok(inv)
}

/// The member edits their own skills, interests and free time.
pub async fn update_skills(db: &Db, p: &Principal, raw: &RawSkills) -> Result<(), StoreError> {
    let member = me(db, p).await?;
    let mut e = Invalid::default();
    let skills = e.check(Text::parse("skills", raw.skills.as_deref().unwrap_or(""), 100));
    let interests = e.check(Text::parse("interests", raw.interests.as_deref().unwrap_or(""), 100));
    let free = e.check(Text::parse("free_time", raw.free_time.as_deref().unwrap_or(""), 100));
    e.into_result()?;
    let (Some(skills), Some(interests), Some(free)) = (skills, interests, free) else {
        return Err(StoreError::Internal("skills".into()));
    };
    let mut tx = db.begin().await?;
    let snap = audit::snapshot(&mut tx, "members", p.tenant_id, member).await?;
    tx.exec(
        "UPDATE members SET skills = $1, interests = $2, free_time = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6",
        args![skills.into_option(), interests.into_option(), free.into_option(), Utc::now(), p.tenant_id, member],
    )
    .await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Update, "member", "members", p.tenant_id, member, snap)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---- in-service members' reports (在职党员报到)

impl Owned for ReportId {
    const TABLE: &'static str = "inservice_reports";
}

/// A member employed elsewhere who reported to the community where they live.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = InserviceReport)]
pub struct Report {
    pub id: i64,
    /// The organisation that received the report (the residence community).
    pub org_id: i64,
    pub org_name: String,
    pub member_id: i64,
    pub member_name: String,
    /// The member's own organisation in the registry.
    pub member_org: String,
    pub employer: String,
    /// The employer's party organisation (receives the feedback card).
    pub employer_org: String,
    pub employer_phone: Option<String>,
    pub reported_on: NaiveDate,
    pub handled_by_name: String,
    pub returned_on: Option<NaiveDate>,
    pub return_reason: Option<String>,
}

impl Report {
    pub fn state_label(&self) -> &'static str {
        if self.returned_on.is_some() { "已回转" } else { "在册" }
    }
}

/// A report as typed (form or API).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawReport {
    /// The organisation receiving the report (a community or under it).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub member_id: Option<String>,
    pub employer: Option<String>,
    pub employer_org: Option<String>,
    pub employer_phone: Option<String>,
    /// `YYYY-MM-DD` (default: today).
    pub reported_on: Option<String>,
}

/// Returning a report when the member moves away.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawReturn {
    /// `YYYY-MM-DD` (default: today), not before the report.
    pub returned_on: Option<String>,
    pub reason: Option<String>,
}

/// The quarterly feedback card for the employer's party organisation: what
/// the member did in the community in a quarter, from confirmed records only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = InserviceCard)]
pub struct Card {
    pub report: Report,
    pub year: i32,
    pub quarter: u32,
    pub from: NaiveDate,
    /// The last day of the quarter.
    pub to: NaiveDate,
    /// Posts the member held at some time in the quarter.
    pub posts: Vec<String>,
    /// Confirmed hours in the quarter.
    pub hours: Vec<Hours>,
    pub minutes: i64,
}

impl Card {
    pub fn length(&self) -> String {
        v::hours_label(self.minutes)
    }
}

const REPORT_SELECT: &str = "SELECT x.id, x.org_id, o.name AS org_name, x.member_id, r.name AS member_name, \
    mo.name AS member_org, x.employer, x.employer_org, x.employer_phone, x.reported_on, \
    COALESCE(u.display_name, '') AS handled_by_name, x.returned_on, x.return_reason";
const REPORT_FROM: &str = "inservice_reports x \
    JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.org_id \
    JOIN members m ON m.tenant_id = x.tenant_id AND m.id = x.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    JOIN orgs mo ON mo.tenant_id = m.tenant_id AND mo.id = m.org_id \
    LEFT JOIN users u ON u.id = x.handled_by";
const REPORT_ORDER: &str = "x.returned_on IS NOT NULL, o.path, r.name, x.id";

async fn report_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Report, StoreError> {
    c.one(&format!("{REPORT_SELECT} FROM {REPORT_FROM} WHERE x.tenant_id = $1 AND x.id = $2"), args![tenant, id]).await
}

/// The register of an organisation's subtree: open reports first, by name.
pub async fn reports(db: &Db, p: &Principal, org_id: OrgId) -> Result<Vec<Report>, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let org = access.org(&mut db.conn(), org_id).await?;
    let mut a = args![];
    let u = org.under("x", &mut a);
    db.all(&format!("{REPORT_SELECT} FROM {REPORT_FROM} WHERE {u} ORDER BY {REPORT_ORDER}"), a).await
}

/// A report the caller reads.
pub async fn report(db: &Db, p: &Principal, id: ReportId) -> Result<Report, StoreError> {
    let owner = p.access(Capability::ReadRegistry)?.target(&mut db.conn(), id).await?;
    report_row(&mut db.conn(), owner.tenant_id, id.get()).await
}

/// Record a member's report to the community: one open report per member.
pub async fn record_report(db: &Db, p: &Principal, raw: &RawReport) -> Result<Report, StoreError> {
    let access = p.access(CAP)?;
    let today = today();
    let mut e = Invalid::default();
    let org_id = e.check(redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, true)).flatten();
    let member = e.check(redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, true)).flatten();
    let employer = e.check(Text::required("employer", raw.employer.as_deref().unwrap_or(""), 80));
    let employer_org = e.check(Text::required("employer_org", raw.employer_org.as_deref().unwrap_or(""), 80));
    let phone = match raw.employer_phone.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => None,
        Some(x) => e.check(Phone::parse(x).map_err(|f| f.on("employer_phone"))).map(|ph| ph.as_str().to_string()),
    };
    let on = e.check(redcell_domain::text::past_date("reported_on", &raw.reported_on, today));
    e.into_result()?;
    let (Some(org_id), Some(member), Some(employer), Some(employer_org), Some(on)) =
        (org_id, member, employer, employer_org, on)
    else {
        return Err(StoreError::Internal("report input".into()));
    };
    let mut tx = db.begin().await?;
    let org = access.org_ref(&mut tx, org_id, "org_id").await?;
    access.reference(&mut tx, member, "member_id").await?;
    tx.exec(
        "UPDATE members SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2",
        args![org.tenant_id, member.get()],
    )
    .await?;
    let open: Option<(String,)> = tx
        .opt(
            "SELECT o.name FROM inservice_reports x JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.org_id \
             WHERE x.tenant_id = $1 AND x.member_id = $2 AND x.returned_on IS NULL",
            args![org.tenant_id, member.get()],
        )
        .await?;
    if let Some((at,)) = open {
        return Err(FieldError::new("member_id", "duplicate", format!("这名党员已在{at}报到，回转后才能再报到")).into());
    }
    let id = tx
        .int(
            "INSERT INTO inservice_reports (tenant_id, org_id, member_id, employer, employer_org, employer_phone, reported_on, \
             handled_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            args![
                org.tenant_id,
                org.id,
                member.get(),
                employer.into_string(),
                employer_org.into_string(),
                phone,
                on,
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "inservice_report",
        "inservice_reports",
        org.tenant_id,
        id,
        None,
    )
    .await?;
    let r = report_row(&mut tx, org.tenant_id, id).await?;
    tx.commit().await?;
    Ok(r)
}

/// Return a report (the member moved away): the history stays.
pub async fn return_report(db: &Db, p: &Principal, id: ReportId, raw: &RawReturn) -> Result<Report, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let on = e.check(redcell_domain::text::past_date("returned_on", &raw.returned_on, today()));
    let reason = e.check(Text::required("reason", raw.reason.as_deref().unwrap_or(""), 100));
    e.into_result()?;
    let (Some(on), Some(reason)) = (on, reason) else { return Err(StoreError::Internal("return input".into())) };
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = report_row(&mut tx, owner.tenant_id, id.get()).await?;
    if before.returned_on.is_some() {
        return Err(FieldError::new("returned_on", "returned", "已回转").into());
    }
    if on < before.reported_on {
        return Err(FieldError::new(
            "returned_on",
            "order",
            format!("回转日期不能早于报到日期 {}", before.reported_on),
        )
        .into());
    }
    let snap = audit::snapshot(&mut tx, "inservice_reports", owner.tenant_id, id.get()).await?;
    tx.exec(
        "UPDATE inservice_reports SET returned_on = $1, return_reason = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5",
        args![on, reason.into_string(), Utc::now(), owner.tenant_id, id.get()],
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "inservice_report",
        "inservice_reports",
        owner.tenant_id,
        id.get(),
        snap,
    )
    .await?;
    let r = report_row(&mut tx, owner.tenant_id, id.get()).await?;
    tx.commit().await?;
    Ok(r)
}

/// The first and the last day of a quarter (1–4).
pub fn quarter_bounds(year: i32, quarter: u32) -> Option<(NaiveDate, NaiveDate)> {
    if !(1..=4).contains(&quarter) {
        return None;
    }
    let from = NaiveDate::from_ymd_opt(year, (quarter - 1) * 3 + 1, 1)?;
    let next = if quarter == 4 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, quarter * 3 + 1, 1)?
    };
    Some((from, next.pred_opt()?))
}

/// The quarter a day is in.
pub fn quarter_of(d: NaiveDate) -> (i32, u32) {
    (d.year(), (d.month() - 1) / 3 + 1)
}

/// The feedback card of a report for a quarter.
pub async fn card(db: &Db, p: &Principal, id: ReportId, year: i32, quarter: u32) -> Result<Card, StoreError> {
    let report = report(db, p, id).await?;
    let year = redcell_domain::calendar::check_year("year", year)?;
    let (from, to) =
        quarter_bounds(year, quarter).ok_or_else(|| FieldError::new("quarter", "range", "季度应为 1 到 4"))?;
    let t = p.tenant_id;
    let c = db.conn();
    let hours: Vec<Hours> = c
        .all(
            &format!(
                "{HOURS_SELECT} WHERE h.tenant_id = $1 AND h.member_id = $2 AND h.state = $3 AND h.work_date >= $4 \
                 AND h.work_date <= $5 ORDER BY h.work_date, h.start_min"
            ),
            args![t, report.member_id, HoursState::Confirmed.code(), from, to],
        )
        .await?;
    let posts: Vec<(String,)> = c
        .all(
            "SELECT DISTINCT sp.title FROM service_claims c JOIN service_posts sp ON sp.tenant_id = c.tenant_id AND sp.id = c.post_id \
             WHERE c.tenant_id = $1 AND c.member_id = $2 AND c.claimed_on <= $3 AND (c.ended_on IS NULL OR c.ended_on >= $4) \
             ORDER BY sp.title",
            args![t, report.member_id, to, from],
        )
        .await?;
    let minutes = hours.iter().map(|h| h.minutes).sum();
    Ok(Card { report, year, quarter, from, to, posts: posts.into_iter().map(|(x,)| x).collect(), hours, minutes })
}

/// Filters of the register's export.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportFilter {
    /// Reports received by this organisation and its subtree.
    pub org_id: Option<OrgId>,
    /// The quarter whose confirmed hours are counted, e.g. `2026-4` (default: this quarter).
    pub quarter: Option<String>,
}

/// A register row with the quarter's confirmed minutes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    #[sqlx(flatten)]
    pub report: Report,
    pub minutes: i64,
}

/// The register with each member's confirmed hours in a quarter: the
/// quarterly feedback to the employers' party organisations, as a file.
pub struct ReportList;

fn parse_quarter(raw: Option<&str>) -> Result<(NaiveDate, NaiveDate), StoreError> {
    let (y, q) = match raw.map(str::trim).filter(|x| !x.is_empty()) {
        None => quarter_of(today()),
        Some(s) => s
            .split_once('-')
            .and_then(|(y, q)| Some((y.parse::<i32>().ok()?, q.parse::<u32>().ok()?)))
            .ok_or_else(|| FieldError::new("quarter", "format", "季度应写成 年-季度，如 2026-4"))?,
    };
    let y = redcell_domain::calendar::check_year("quarter", y)?;
    Ok(quarter_bounds(y, q).ok_or_else(|| FieldError::new("quarter", "range", "季度应为 1 到 4"))?)
}

impl Exportable for ReportList {
    const CODE: &'static str = "inservice";
    const LABEL: &'static str = "在职党员报到名册";
    const TAG: &'static str = "service";
    type Filter = ReportFilter;
    type Row = ReportRow;
    fn columns(_m: Mask) -> Vec<Column> {
        vec![
            Column::text("姓名"),
            Column::text("所在党组织"),
            Column::text("工作单位"),
            Column::text("单位党组织"),
            Column::text("单位联系电话"),
            Column::text("报到组织"),
            Column::text("报到日期"),
            Column::text("状态"),
            Column::number("本季度确认服务时长（分钟）"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        let (from, to) = parse_quarter(f.quarter.as_deref())?;
        let mut a = Args::new();
        let conf = a.push(HoursState::Confirmed.code());
        let (f1, t1) = (a.push(from), a.push(to));
        let mut w = vec![q.scope(Capability::ReadRegistry).rows("x", &mut a)];
        if let Some(o) = f.org_id {
            w.push(scope::rows_under_id("x", q.tenant_id, o, &mut a));
        }
        let select = format!(
            "{REPORT_SELECT}, (SELECT CAST(COALESCE(SUM(h.minutes), 0) AS BIGINT) FROM service_hours h WHERE h.tenant_id = x.tenant_id \
             AND h.member_id = x.member_id AND h.state = {conf} AND h.work_date >= {f1} AND h.work_date <= {t1}) AS minutes"
        );
        Ok(crate::export::sql((format!("{REPORT_FROM} WHERE {}", w.join(" AND ")), a), &select, REPORT_ORDER))
    }
    fn cells(row: &ReportRow, _m: Mask) -> Vec<String> {
        let r = &row.report;
        vec![
            r.member_name.clone(),
            r.member_org.clone(),
            r.employer.clone(),
            r.employer_org.clone(),
            r.employer_phone.clone().unwrap_or_default(),
            r.org_name.clone(),
            r.reported_on.to_string(),
            r.state_label().to_string(),
            row.minutes.to_string(),
        ]
    }
}

/// Filters of the hours ledger's export.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoursFilter {
    /// Hours of service done for this organisation and its subtree.
    pub org_id: Option<OrgId>,
    /// The year of the work dates (default: this year).
    pub year: Option<i32>,
    /// `confirmed` (default), `pending`, `rejected`, or `all`.
    pub state: Option<String>,
}

/// The hours ledger (服务时长台账): every span of service logged in a year,
/// with what it was for and who confirmed it; confirmed ones by default.
pub struct HoursList;

impl Exportable for HoursList {
    const CODE: &'static str = "service-hours";
    const LABEL: &'static str = "服务时长台账";
    const TAG: &'static str = "service";
    type Filter = HoursFilter;
    type Row = Hours;
    fn columns(_m: Mask) -> Vec<Column> {
        vec![
            Column::date("日期"),
            Column::text("时间"),
            Column::number("时长（分钟）"),
            Column::text("党员"),
            Column::text("服务组织"),
            Column::text("服务内容"),
            Column::text("说明"),
            Column::text("状态"),
            Column::text("确认人"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        let year = redcell_domain::calendar::check_year("year", f.year.unwrap_or_else(|| today().year()))?;
        let state =
            match f.state.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
                None => Some(HoursState::Confirmed),
                Some("all") => None,
                Some(x) => Some(HoursState::from_code(x).ok_or_else(|| {
                    FieldError::new("state", "unknown", "状态应为 confirmed、pending、rejected 或 all")
                })?),
            };
        let (from, to) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31));
        let (Some(from), Some(to)) = (from, to) else { return Ok(None) };
        let mut a = Args::new();
        let mut w = vec![q.scope(Capability::ReadRegistry).rows("h", &mut a)];
        w.push(format!("h.work_date >= {} AND h.work_date <= {}", a.push(from), a.push(to)));
        if let Some(st) = state {
            w.push(format!("h.state = {}", a.push(st.code())));
        }
        if let Some(o) = f.org_id {
            w.push(scope::rows_under_id("h", q.tenant_id, o, &mut a));
        }
        Ok(Some((format!("{HOURS_SELECT} WHERE {} ORDER BY h.work_date, h.start_min, h.id", w.join(" AND ")), a)))
    }
    fn cells(h: &Hours, _m: Mask) -> Vec<String> {
        vec![
            h.work_date.to_string(),
            h.time(),
            h.minutes.to_string(),
            h.member_name.clone(),
            h.org_name.clone(),
            h.what(),
            h.note.clone(),
            h.state_label().to_string(),
            h.decided_by(),
        ]
    }
}

/// Volunteering's exportable lists.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&ReportList, &HoursList]
}

// ---- the demo district

/// A year of volunteering in every community: two members working elsewhere
/// who reported to it (在职党员报到), three posts published by the
/// community (one with places left), members of the community holding them
/// under signed agreements, and their hours every other week — confirmed by
/// `decider` except the last fortnight's, which wait.
pub async fn seed_demo(tx: &mut Tx, tenant: i64, by: i64, decider: i64, today: NaiveDate) -> Result<(), StoreError> {
    let communities: Vec<(i64, String)> = tx
        .all(
            "SELECT id, name FROM orgs WHERE tenant_id = $1 AND kind IN ('community_committee', 'village_general_branch') ORDER BY id",
            args![tenant],
        )
        .await?;
    let posts = [
        (
            "楼道环境监督岗",
            "每周巡查所在楼栋楼道，劝导清理堆物，发现安全隐患及时报告网格员。",
            "居住楼栋",
            "每周六上午 9:00–11:00",
            3,
            "",
        ),
        (
            "矛盾调解岗",
            "参与邻里纠纷调解，协助社区做好解释和回访。",
            "社区党群服务中心调解室",
            "每月第一、三个周三下午",
            2,
            "法律、调解",
        ),
        (
            "文艺活动岗",
            "组织和参加社区文艺活动，带领居民排练节目。",
            "社区文化活动室",
            "每周二晚上 19:00–21:00",
            4,
            "文艺、组织",
        ),
    ];
    let start = today - chrono::Duration::days(350);
    for (org, org_name) in &communities {
        let members: Vec<(i64, String)> = tx
            .all(
                "SELECT m.id, r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                 WHERE m.tenant_id = $1 AND o.path LIKE (SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2) || '%' \
                 AND m.central_household = FALSE ORDER BY m.id DESC LIMIT 8",
                args![tenant, *org],
            )
            .await?;
        // Two of them work elsewhere and reported to the community.
        let employers = [
            ("区人民医院", "区人民医院党委", "0571-86001234"),
            ("市自来水有限公司", "市自来水有限公司党总支", "0571-87005678"),
        ];
        for ((mid, _), (employer, party, phone)) in members.iter().zip(employers) {
            tx.exec(
                "INSERT INTO inservice_reports (tenant_id, org_id, member_id, employer, employer_org, employer_phone, reported_on, \
                 handled_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                args![tenant, *org, *mid, employer, party, phone, start, by, Utc::now()],
            )
            .await?;
        }
        let mut next = members.iter();
        let mut last_post = 0;
        for (pi, (title, duty, place, schedule, headcount, skills)) in posts.iter().enumerate() {
            let terms = PostTerms {
                title: title.to_string(),
                duty: duty.to_string(),
                place: place.to_string(),
                schedule: schedule.to_string(),
                headcount: *headcount,
                skills: skills.to_string(),
            };
            let created = start.and_hms_opt(9, 0, 0).map(|t| t.and_utc()).unwrap_or_else(Utc::now);
            let post = tx
                .int(
                    "INSERT INTO service_posts (tenant_id, org_id, title, duty, place, schedule, headcount, skills, version, \
                     created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $10) RETURNING id",
                    args![tenant, *org, terms.title.clone(), terms.duty.clone(), terms.place.clone(), terms.schedule.clone(), terms.headcount, terms.skills.clone(), by, created],
                )
                .await?;
            last_post = post;
            // The last post keeps places for members who come later.
            let holders = if pi == posts.len() - 1 { 2 } else { *headcount as usize };
            for (k, (mid, name)) in next.by_ref().take(holders).enumerate() {
                let claimed = start + chrono::Duration::days(7 + 9 * (pi as i64 + k as i64));
                let claim = tx
                    .int(
                        "INSERT INTO service_claims (tenant_id, org_id, post_id, member_id, claimed_on, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                        args![tenant, *org, post, *mid, claimed, Utc::now()],
                    )
                    .await?;
                tx.exec(
                    "INSERT INTO service_agreements (tenant_id, claim_id, version, body, signed_on, signed_by) \
                     VALUES ($1, $2, 1, $3, $4, $5)",
                    args![tenant, claim, v::agreement_text(org_name, &terms, 1, name, claimed), claimed, by],
                )
                .await?;
                let mut day = claimed + chrono::Duration::days(3);
                let mut n = 0i64;
                while day <= today - chrono::Duration::days(2) {
                    let pending = today - day < chrono::Duration::days(14);
                    let (s, e) = if n % 3 == 2 { (14 * 60, 15 * 60 + 30) } else { (9 * 60, 11 * 60) };
                    tx.exec(
                        "INSERT INTO service_hours (tenant_id, org_id, member_id, post_id, work_date, start_min, end_min, minutes, \
                         note, state, decided_by, decided_at, logged_by, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                        args![
                            tenant,
                            *org,
                            *mid,
                            post,
                            day,
                            s,
                            e,
                            e - s,
                            String::new(),
                            if pending { HoursState::Pending.code() } else { HoursState::Confirmed.code() },
                            if pending { None } else { Some(decider) },
                            if pending { None } else { Some(Utc::now()) },
                            by,
                            Utc::now()
                        ],
                    )
                    .await?;
                    day += chrono::Duration::days(14);
                    n += 1;
                }
            }
        }
        // One more member (or, in a small community, the first, who holds
        // another post) is invited to the post with places left.
        if let Some((mid, _)) = next.next().or(members.first()) {
            tx.exec(
                "INSERT INTO service_invitations (tenant_id, org_id, post_id, member_id, state, invited_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args![tenant, *org, last_post, *mid, InvitationState::Pending.code(), by, Utc::now()],
            )
            .await?;
        }
    }
    Ok(())
}
