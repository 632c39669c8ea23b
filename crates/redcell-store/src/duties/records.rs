//! Records that fulfil duties, each entered once: visits (民情日记), meetings
//! with attendance and a computed quorum, activities with participants.
//! Everything is checked before the first write; one transaction with its
//! audit row.

use crate::args;
use crate::audit::{self, Actor, Change};
use crate::coverage::OrgRef;
use crate::db::{Db, Tx};
use crate::error::StoreError;
use crate::requests::Submitted;
use crate::scope::{Capability, Principal};
use chrono::{NaiveDate, Utc};
use redcell_domain::CodeEnum;
use redcell_domain::duties::{self as d, AbsenceReason, ActivityKind, MeetingKind, TargetKind, VisitPurpose};
use redcell_domain::input::stringish;
use redcell_domain::requests::RawRequest;
use redcell_domain::{CadreId, FieldError, Invalid, MemberId, OrgId, i18n};
use serde::{Deserialize, Serialize};

fn date(field: &str, v: &Option<String>) -> Result<NaiveDate, FieldError> {
    let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| required(field))?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| FieldError::new(field, "date", i18n::DATE_INVALID))
}

fn required(field: &str) -> FieldError {
    FieldError::new(field, "required", i18n::DUTY_MISSING)
}

fn int(field: &str, v: &Option<String>) -> Result<i64, FieldError> {
    v.as_deref().and_then(|s| s.trim().parse().ok()).ok_or_else(|| required(field))
}

fn text(field: &str, v: &Option<String>, max: usize, needed: bool) -> Result<Option<String>, FieldError> {
    let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty());
    match s {
        None if needed => Err(required(field)),
        Some(s) if s.chars().count() > max => Err(FieldError::new(field, "too_long", i18n::DUTY_TOO_LARGE)),
        s => Ok(s.map(str::to_string)),
    }
}

/// A visit as typed into the form or the API.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawVisit {
    /// `cadre` or `member`; with neither kind nor id: the cadre, else the
    /// member, linked to the caller's account.
    #[serde(default, deserialize_with = "stringish")]
    pub visitor_kind: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = Option<i64>)]
    pub visitor_id: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = TargetKind, required = true)]
    pub target_kind: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = i64, required = true)]
    pub target_id: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = NaiveDate, required = true)]
    pub visited_on: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = Option<VisitPurpose>)]
    pub purpose: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    pub learned: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Visit {
    pub id: i64,
    pub org_id: i64,
    pub visitor_kind: String,
    pub visitor_id: i64,
    pub target_kind: String,
    pub target_id: i64,
    pub visited_on: NaiveDate,
    pub purpose: String,
    pub learned: Option<String>,
    /// The request this visit raised, if any.
    pub request_id: Option<i64>,
}

/// The organisation of what a visit is about (for the scope check).
async fn target_org(db: &Db, tenant: i64, kind: TargetKind, id: i64) -> Result<Option<i64>, StoreError> {
    let sql = match kind {
        TargetKind::Household => "SELECT org_id FROM households WHERE tenant_id = $1 AND id = $2",
        TargetKind::Building => "SELECT org_id FROM buildings WHERE tenant_id = $1 AND id = $2",
        TargetKind::Grid => "SELECT org_id FROM grids WHERE tenant_id = $1 AND id = $2",
        TargetKind::Community => "SELECT id FROM orgs WHERE tenant_id = $1 AND id = $2",
        TargetKind::Member => "SELECT org_id FROM members WHERE tenant_id = $1 AND id = $2",
    };
    let r: Option<(i64,)> = db.opt(sql, args![tenant, id]).await?;
    Ok(r.map(|(o,)| o))
}

/// Record a visit. A visit to a household freshens `duty_last_visits`.
pub async fn record_visit(db: &Db, p: &Principal, raw: &RawVisit, today: NaiveDate) -> Result<Visit, StoreError> {
    let v = check_visit(db, p, raw, today).await?;
    let mut tx = db.begin().await?;
    let visit = insert_visit(&mut tx, p, v, None).await?;
    tx.commit().await?;
    Ok(visit)
}

/// A visit checked and ready to write.
struct CheckedVisit {
    org_id: i64,
    vkind: String,
    visitor: i64,
    tkind: TargetKind,
    tid: i64,
    on: NaiveDate,
    purpose: VisitPurpose,
    learned: Option<String>,
    /// Set when a member visited a household they look after.
    looked_after: Option<crate::requests::LookedAfter>,
}

/// Every check of a visit, before anything is written.
async fn check_visit(db: &Db, p: &Principal, raw: &RawVisit, today: NaiveDate) -> Result<CheckedVisit, StoreError> {
    if !p.holds(Capability::RecordDuties) && !p.holds(Capability::RecordOwnVisits) {
        return Err(StoreError::Forbidden);
    }
    let mut bad = Invalid::default();
    let on = bad.check(date("visited_on", &raw.visited_on));
    if on.is_some_and(|d| d > today) {
        bad.push(FieldError::new("visited_on", "future", i18n::DUTY_VISIT_FUTURE));
    }
    let purpose = bad.check(VisitPurpose::parse("purpose", raw.purpose.as_deref().unwrap_or("routine")));
    let tkind = bad.check(TargetKind::parse("target_kind", raw.target_kind.as_deref().unwrap_or("")));
    let tid = bad.check(int("target_id", &raw.target_id));
    let learned = bad.check(text("learned", &raw.learned, 2000, false));
    let given_kind = raw.visitor_kind.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if given_kind.is_some_and(|k| k != "cadre" && k != "member") {
        bad.push(FieldError::new("visitor_kind", "enum", i18n::ENUM_INVALID));
    }
    bad.clone().into_result()?;
    let (on, purpose, tkind, tid, learned) =
        (on.unwrap(), purpose.unwrap(), tkind.unwrap(), tid.unwrap(), learned.flatten());
    let missing = || FieldError::new("visitor_id", "required", i18n::DUTY_MISSING);
    let (vkind, visitor) = match (given_kind, raw.visitor_id.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
        (k, Some(v)) => (
            k.unwrap_or("cadre"),
            v.parse::<i64>().map_err(|_| FieldError::new("visitor_id", "int", i18n::DUTY_MISSING))?,
        ),
        (Some("cadre"), None) => ("cadre", super::cadre_of(db, p).await?.ok_or_else(missing)?),
        (Some(_), None) => ("member", super::member_of(db, p).await?.ok_or_else(missing)?),
        // Neither given: whoever the caller's account stands for, cadre or member.
        (None, None) => match super::cadre_of(db, p).await? {
            Some(c) => ("cadre", c),
            None => ("member", super::member_of(db, p).await?.ok_or_else(missing)?),
        },
    };
    let vkind = vkind.to_string();
    let org_id = target_org(db, p.tenant_id, tkind, tid)
        .await?
        .ok_or_else(|| FieldError::new("target_id", "not_found", i18n::DUTY_TARGET_OUTSIDE))?;
    let conn = &mut db.conn();
    let outside = || StoreError::Denied(FieldError::new("target_id", "scope", i18n::DUTY_TARGET_OUTSIDE));
    let mut looked_after = None;
    if p.holds(Capability::RecordDuties) {
        // Staff who record duties: the visit happens inside their scope, by a
        // visitor of theirs or from above (never another community's person).
        let access = p.access(Capability::RecordDuties)?;
        let place = OrgRef::in_scope(conn, &access.scope, org_id).await.map_err(|_| outside())?;
        if vkind == "cadre" {
            access.participant(conn, CadreId::new(visitor), &place.path, "visitor_id").await?;
        } else {
            access.participant(conn, MemberId::new(visitor), &place.path, "visitor_id").await?;
        }
    } else {
        // A cadre records their own visits only, where they may read.
        p.access(Capability::RecordOwnVisits)?;
        let own = if vkind == "cadre" { super::cadre_of(db, p).await? } else { super::member_of(db, p).await? };
        if own != Some(visitor) {
            return Err(StoreError::Denied(FieldError::new("visitor_id", "own", i18n::DUTY_OWN_VISITS_ONLY)));
        }
        // A member visits the households they look after; a cadre, what they may read.
        let theirs = vkind == "member"
            && tkind == TargetKind::Household
            && crate::home::looks_after(conn, p.tenant_id, visitor, tid).await?;
        if theirs {
            looked_after = Some(crate::requests::LookedAfter(redcell_domain::HouseholdId::new(tid)));
        } else {
            OrgRef::in_scope(conn, &p.scope(Capability::ReadRegistry), org_id).await.map_err(|_| outside())?;
        }
    }
    Ok(CheckedVisit { org_id, vkind, visitor, tkind, tid, on, purpose, learned, looked_after })
}

async fn insert_visit(
    tx: &mut Tx,
    p: &Principal,
    v: CheckedVisit,
    request_id: Option<i64>,
) -> Result<Visit, StoreError> {
    let CheckedVisit { org_id, vkind, visitor, tkind, tid, on, purpose, learned, .. } = v;
    let (id,): (i64,) = tx
        .one(
            "INSERT INTO duty_visits (tenant_id, org_id, visitor_kind, visitor_id, target_kind, target_id, visited_on, \
             purpose, learned, request_id, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            args![
                p.tenant_id,
                org_id,
                vkind.clone(),
                visitor,
                tkind.code(),
                tid,
                on,
                purpose.code(),
                learned.clone(),
                request_id,
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    if tkind == TargetKind::Household {
        freshen(tx, p.tenant_id, tid, on).await?;
    }
    audit::change(tx, Actor::of(p), Change::Create, "duty_visit", "duty_visits", p.tenant_id, id, None).await?;
    Ok(Visit {
        id,
        org_id,
        visitor_kind: vkind,
        visitor_id: visitor,
        target_kind: tkind.code().into(),
        target_id: tid,
        visited_on: on,
        purpose: purpose.code().into(),
        learned,
        request_id,
    })
}

/// Record a visit that also raises a resident request (民情诉求) without
/// retyping: the description defaults to what was learned, the grid and
/// building come from what was visited. The visit is checked first, then the
/// request is registered through the staff submission
/// ([`crate::requests::submit_in`]) and the visit written naming it, in one
/// transaction: a refused request or a failed visit leaves nothing written.
pub async fn record_visit_raising(
    db: &Db,
    p: &Principal,
    raw: &RawVisit,
    mut req: RawRequest,
    today: NaiveDate,
) -> Result<(Visit, Submitted), StoreError> {
    let v = check_visit(db, p, raw, today).await?;
    if req.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
        req.description = v.learned.clone();
    }
    if req.category.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(FieldError::new("category", "required", i18n::DUTY_REQUEST_NEEDS_CATEGORY).into());
    }
    let place: Option<(Option<i64>, Option<i64>)> = match v.tkind {
        TargetKind::Household => {
            db.opt(
                "SELECT grid_id, building_id FROM households WHERE tenant_id = $1 AND id = $2",
                args![p.tenant_id, v.tid],
            )
            .await?
        }
        TargetKind::Building => db
            .opt("SELECT grid_id, id FROM buildings WHERE tenant_id = $1 AND id = $2", args![p.tenant_id, v.tid])
            .await?
            .map(|(g, b): (Option<i64>, i64)| (g, Some(b))),
        TargetKind::Grid => Some((Some(v.tid), None)),
        _ => None,
    };
    if let Some((g, b)) = place {
        if req.building_id.as_deref().is_none_or(|x| x.trim().is_empty()) {
            req.building_id = b.map(|x| x.to_string());
        }
        if req.grid_id.as_deref().is_none_or(|x| x.trim().is_empty()) && req.building_id.is_none() {
            req.grid_id = g.map(|x| x.to_string());
        }
    }
    let n = req.validate()?;
    let cal = crate::calendar::load(db, p.tenant_id).await?;
    let mut tx = db.begin().await?;
    // Staff register it in their scope; a member passes on what a household
    // they look after asked (the visit check above proved which).
    let by = match v.looked_after {
        _ if p.holds(Capability::HandleRequests) => crate::requests::Submitter::Staff(p),
        Some(h) => crate::requests::Submitter::Relayed(p, h),
        None => return Err(StoreError::Forbidden),
    };
    let sub =
        crate::requests::submit_in(&mut tx, &cal, p.tenant_id, n, crate::requests::Source::Staff, by, None).await?;
    let visit = insert_visit(&mut tx, p, v, Some(sub.id.get())).await?;
    tx.commit().await?;
    Ok((visit, sub))
}

/// Keep the latest visit date of a household.
pub(crate) async fn freshen(tx: &mut Tx, tenant: i64, household: i64, on: NaiveDate) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO duty_last_visits (tenant_id, household_id, last_visited) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, household_id) DO UPDATE SET last_visited = excluded.last_visited \
         WHERE excluded.last_visited > duty_last_visits.last_visited",
        args![tenant, household, on],
    )
    .await?;
    Ok(())
}

/// When a household was last visited (for coverage freshness).
pub async fn last_visited(db: &Db, tenant: i64, household: i64) -> Result<Option<NaiveDate>, StoreError> {
    let r: Option<(NaiveDate,)> = db
        .opt(
            "SELECT last_visited FROM duty_last_visits WHERE tenant_id = $1 AND household_id = $2",
            args![tenant, household],
        )
        .await?;
    Ok(r.map(|(d,)| d))
}

/// The recent visits of a visitor (newest first).
pub async fn visits_by(db: &Db, p: &Principal, kind: &str, id: i64, limit: i64) -> Result<Vec<Visit>, StoreError> {
    let mut a = args![kind, id, limit];
    let c = p.scope(Capability::ReadRegistry).rows("v", &mut a);
    db.all(
        &format!(
            "SELECT v.id, v.org_id, v.visitor_kind, v.visitor_id, v.target_kind, v.target_id, v.visited_on, v.purpose, v.learned, \
             v.request_id \
             FROM duty_visits v WHERE v.visitor_kind = $1 AND v.visitor_id = $2 AND {c} ORDER BY v.visited_on DESC, v.id DESC LIMIT $3"
        ),
        a,
    )
    .await
}

/// The three presences of an attendee.
fn presence_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["present", "absent", "excused"]))
        .build()
}

/// One attendee line: a member and whether they came.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawAttendee {
    pub member_id: i64,
    /// `present`, `absent` or `excused`.
    #[schema(schema_with = presence_schema)]
    pub presence: String,
    /// For `excused`: `mobile`, `ill`, `abroad`, `other`.
    #[schema(value_type = Option<AbsenceReason>)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawMeeting {
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = i64, required = true)]
    pub org_id: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = MeetingKind, required = true)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = NaiveDate, required = true)]
    pub held_on: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = String, required = true)]
    pub topic: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    pub minutes: Option<String>,
    #[serde(default)]
    pub attendance: Vec<RawAttendee>,
    /// Cadres who took part (e.g. a stationed cadre at an 组织生活会).
    #[serde(default)]
    pub cadres: Vec<i64>,
    /// The caller says the meeting had a quorum: checked against the numbers.
    pub quorum_claimed: Option<bool>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Meeting {
    pub id: i64,
    pub org_id: i64,
    pub kind: String,
    pub held_on: NaiveDate,
    pub topic: String,
    pub minutes: Option<String>,
    pub expected_count: i64,
    pub present_count: i64,
    pub voting_total: i64,
    pub voting_present: i64,
    pub quorum_met: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct OrgMember {
    id: i64,
    status: String,
}

/// Members of an organisation's subtree (id, status).
async fn members_under(db: &Db, org: &OrgRef) -> Result<Vec<(i64, String)>, StoreError> {
    let mut a = args![];
    let c = org.under("m", &mut a);
    let rows: Vec<OrgMember> = db.all(&format!("SELECT m.id, m.status FROM members m WHERE {c}"), a).await?;
    Ok(rows.into_iter().map(|m| (m.id, m.status)).collect())
}

/// Record a meeting with its attendance. Refused: a future date with
/// attendance, attendees outside the organisation, a quorum claimed without
/// numbers or against them.
pub async fn record_meeting(db: &Db, p: &Principal, raw: &RawMeeting, today: NaiveDate) -> Result<Meeting, StoreError> {
    record_meeting_with_photos(db, p, raw, &[], today).await
}

/// A photo uploaded with a record: the file name and bytes.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// How many photos a meeting may carry.
pub const MAX_PHOTOS: usize = 6;

/// [`record_meeting`] with photos, stored in the shared files table (owner
/// `meeting`, the meeting's organisation for the scope of downloads) in the
/// same transaction. Each photo is checked (an image, at most 5 MB) before
/// anything is written.
pub async fn record_meeting_with_photos(
    db: &Db,
    p: &Principal,
    raw: &RawMeeting,
    photos: &[Upload],
    today: NaiveDate,
) -> Result<Meeting, StoreError> {
    let access = p.access(Capability::RecordDuties)?;
    let mut bad = Invalid::default();
    let mut types = Vec::new();
    if photos.len() > MAX_PHOTOS {
        bad.push(FieldError::new("photos", "too_many", i18n::DUTY_PHOTO_TOO_MANY));
    }
    for ph in photos {
        match crate::requests::check_photo(&ph.bytes) {
            Ok(t) => types.push(t),
            Err(mut e) => {
                e.field = "photos".into();
                bad.push(e);
            }
        }
    }
    let org_id = bad.check(int("org_id", &raw.org_id));
    let kind = bad.check(MeetingKind::parse("kind", raw.kind.as_deref().unwrap_or("")));
    let on = bad.check(date("held_on", &raw.held_on));
    let topic = bad.check(text("topic", &raw.topic, 200, true));
    let minutes = bad.check(text("minutes", &raw.minutes, 20000, false));
    if on.is_some_and(|d| d > today) && !raw.attendance.is_empty() {
        bad.push(FieldError::new("held_on", "future", i18n::DUTY_MEETING_FUTURE));
    }
    let mut lines = Vec::new();
    for (i, a) in raw.attendance.iter().enumerate() {
        let field = format!("attendance[{i}]");
        let reason = match a.presence.as_str() {
            "present" | "absent" => None,
            "excused" => match a.reason.as_deref().map(|r| AbsenceReason::parse(&field, r)) {
                Some(Ok(r)) => Some(r),
                Some(Err(e)) => {
                    bad.push(e);
                    continue;
                }
                None => {
                    bad.push(FieldError::new(field, "required", i18n::DUTY_MISSING));
                    continue;
                }
            },
            _ => {
                bad.push(FieldError::new(field, "enum", i18n::ENUM_INVALID));
                continue;
            }
        };
        if lines.iter().any(|(m, _, _)| *m == a.member_id) {
            bad.push(FieldError::new(field, "duplicate", i18n::DUTY_ATTENDEE_TWICE));
            continue;
        }
        lines.push((a.member_id, a.presence.clone(), reason));
    }
    bad.clone().into_result()?;
    let (org_id, kind, on, topic, minutes) =
        (org_id.unwrap(), kind.unwrap(), on.unwrap(), topic.flatten().unwrap_or_default(), minutes.flatten());
    let org = access.org(&mut db.conn(), OrgId::new(org_id)).await?;
    let members = members_under(db, &org).await?;
    for (i, (m, _, _)) in lines.iter().enumerate() {
        if !members.iter().any(|(id, _)| id == m) {
            return Err(FieldError::new(format!("attendance[{i}]"), "outside", i18n::DUTY_ATTENDEE_OUTSIDE).into());
        }
    }
    for c in &raw.cadres {
        access.participant(&mut db.conn(), CadreId::new(*c), &org.path, "cadres").await?;
    }
    let full = |id: i64| members.iter().any(|(m, s)| *m == id && s == "full");
    let present: Vec<i64> = lines.iter().filter(|l| l.1 == "present").map(|l| l.0).collect();
    // Members away (mobile, abroad) with an excused absence are left out of the base.
    let away: Vec<i64> = lines
        .iter()
        .filter(|l| matches!(l.2, Some(AbsenceReason::Mobile | AbsenceReason::Abroad)))
        .map(|l| l.0)
        .collect();
    let voting_total = members.iter().filter(|(m, s)| s == "full" && !away.contains(m)).count() as i64;
    let voting_present = present.iter().filter(|m| full(**m)).count() as i64;
    let quorum_met = if kind == MeetingKind::GeneralMeeting && !lines.is_empty() {
        Some(voting_present * 2 > voting_total)
    } else {
        None
    };
    if raw.quorum_claimed == Some(true) {
        match quorum_met {
            None => {
                return Err(FieldError::new("quorum_claimed", "no_numbers", i18n::DUTY_QUORUM_WITHOUT_NUMBERS).into());
            }
            Some(false) => return Err(FieldError::new("quorum_claimed", "not_met", i18n::DUTY_QUORUM_NOT_MET).into()),
            Some(true) => {}
        }
    }
    // Attendance taken and nobody there: the meeting did not take place.
    if !lines.is_empty() && present.is_empty() && on <= today {
        return Err(FieldError::new("attendance", "nobody", i18n::DUTY_NOBODY_PRESENT).into());
    }
    let mut tx = db.begin().await?;
    let (id,): (i64,) = tx
        .one(
            "INSERT INTO duty_meetings (tenant_id, org_id, kind, held_on, topic, minutes, expected_count, present_count, \
             voting_total, voting_present, quorum_met, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $11 < 0 THEN NULL ELSE $11 = 1 END, $12, $13) RETURNING id",
            args![
                p.tenant_id,
                org.id,
                kind.code(),
                on,
                topic.clone(),
                minutes.clone(),
                members.len() as i64,
                present.len() as i64,
                voting_total,
                voting_present,
                quorum_met.map(i64::from).unwrap_or(-1),
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    for (m, presence, reason) in &lines {
        person(&mut tx, p.tenant_id, "meeting", id, "member", *m, presence, reason.map(|r| r.code())).await?;
    }
    for c in &raw.cadres {
        person(&mut tx, p.tenant_id, "meeting", id, "cadre", *c, "present", None).await?;
    }
    let mut first = None;
    for (ph, ct) in photos.iter().zip(&types) {
        let f = crate::requests::insert_file(
            &mut tx,
            p.tenant_id,
            org.id,
            "meeting",
            id,
            &ph.name,
            ct,
            &ph.bytes,
            Some(p.user_id),
        )
        .await?;
        first.get_or_insert(f);
    }
    if let Some(f) = first {
        tx.exec(
            "UPDATE duty_meetings SET photo_file_id = $1 WHERE tenant_id = $2 AND id = $3",
            args![f, p.tenant_id, id],
        )
        .await?;
    }
    audit::change(&mut tx, Actor::of(p), Change::Create, "duty_meeting", "duty_meetings", p.tenant_id, id, None)
        .await?;
    tx.commit().await?;
    Ok(Meeting {
        id,
        org_id: org.id,
        kind: kind.code().into(),
        held_on: on,
        topic,
        minutes,
        expected_count: members.len() as i64,
        present_count: present.len() as i64,
        voting_total,
        voting_present,
        quorum_met,
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn person(
    tx: &mut Tx,
    tenant: i64,
    record_kind: &str,
    record_id: i64,
    person_kind: &str,
    person_id: i64,
    presence: &str,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO duty_people (tenant_id, record_kind, record_id, person_kind, person_id, presence, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        args![tenant, record_kind, record_id, person_kind, person_id, presence, reason.map(str::to_string)],
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawActivity {
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = i64, required = true)]
    pub org_id: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = ActivityKind, required = true)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = NaiveDate, required = true)]
    pub held_on: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    #[schema(value_type = String, required = true)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    pub note: Option<String>,
    #[serde(default)]
    pub members: Vec<i64>,
    #[serde(default)]
    pub cadres: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: i64,
    pub org_id: i64,
    pub kind: String,
    pub held_on: NaiveDate,
    pub title: String,
    pub participants: usize,
}

/// Record an activity with its participants (members in the caller's scope,
/// cadres of the tenant).
pub async fn record_activity(
    db: &Db,
    p: &Principal,
    raw: &RawActivity,
    today: NaiveDate,
) -> Result<Activity, StoreError> {
    let access = p.access(Capability::RecordDuties)?;
    let mut bad = Invalid::default();
    let org_id = bad.check(int("org_id", &raw.org_id));
    let kind = bad.check(ActivityKind::parse("kind", raw.kind.as_deref().unwrap_or("")));
    let on = bad.check(date("held_on", &raw.held_on));
    let title = bad.check(text("title", &raw.title, 200, true));
    let note = bad.check(text("note", &raw.note, 5000, false));
    if on.is_some_and(|d| d > today) && !(raw.members.is_empty() && raw.cadres.is_empty()) {
        bad.push(FieldError::new("held_on", "future", i18n::DUTY_MEETING_FUTURE));
    }
    bad.clone().into_result()?;
    let (org_id, kind, on, title, note) =
        (org_id.unwrap(), kind.unwrap(), on.unwrap(), title.flatten().unwrap_or_default(), note.flatten());
    let org = access.org(&mut db.conn(), OrgId::new(org_id)).await?;
    for m in &raw.members {
        access.participant(&mut db.conn(), MemberId::new(*m), &org.path, "members").await?;
    }
    for c in &raw.cadres {
        access.participant(&mut db.conn(), CadreId::new(*c), &org.path, "cadres").await?;
    }
    let mut tx = db.begin().await?;
    let (id,): (i64,) = tx
        .one(
            "INSERT INTO duty_activities (tenant_id, org_id, kind, held_on, title, note, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![p.tenant_id, org.id, kind.code(), on, title.clone(), note, p.user_id, Utc::now()],
        )
        .await?;
    for m in &raw.members {
        person(&mut tx, p.tenant_id, "activity", id, "member", *m, "present", None).await?;
    }
    for c in &raw.cadres {
        person(&mut tx, p.tenant_id, "activity", id, "cadre", *c, "present", None).await?;
    }
    audit::change(&mut tx, Actor::of(p), Change::Create, "duty_activity", "duty_activities", p.tenant_id, id, None)
        .await?;
    tx.commit().await?;
    Ok(Activity {
        id,
        org_id: org.id,
        kind: kind.code().into(),
        held_on: on,
        title,
        participants: raw.members.len() + raw.cadres.len(),
    })
}

/// A meeting or an activity in an organisation's list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Held {
    /// `meeting` or `activity`.
    pub record: String,
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub kind: String,
    pub held_on: NaiveDate,
    pub title: String,
    pub present: i64,
    pub quorum_met: Option<bool>,
    pub photos: i64,
}

impl Held {
    pub fn kind_label(&self) -> &'static str {
        let k = if self.record == "meeting" { d::RecordKind::Meeting } else { d::RecordKind::Activity };
        d::sub_label(k, &self.kind)
    }
}

/// The meetings and activities of an organisation's subtree, newest first.
pub async fn held_in(db: &Db, p: &Principal, org_id: i64, limit: i64) -> Result<Vec<Held>, StoreError> {
    let org = OrgRef::in_scope(&mut db.conn(), &p.scope(Capability::ReadRegistry), org_id).await?;
    let mut a = args![limit];
    let c1 = org.under("x", &mut a);
    let c2 = org.under("y", &mut a);
    db.all(
        &format!(
            "SELECT * FROM (\
             SELECT 'meeting' AS record, x.id, x.org_id, o.name AS org_name, x.kind, x.held_on, x.topic AS title, \
             x.present_count AS present, x.quorum_met, \
             (SELECT COUNT(*) FROM files f WHERE f.tenant_id = x.tenant_id AND f.owner_kind = 'meeting' AND f.owner_id = x.id) AS photos \
             FROM duty_meetings x JOIN orgs o ON o.id = x.org_id WHERE {c1} \
             UNION ALL \
             SELECT 'activity' AS record, y.id, y.org_id, o.name AS org_name, y.kind, y.held_on, y.title, \
             (SELECT COUNT(*) FROM duty_people dp WHERE dp.tenant_id = y.tenant_id AND dp.record_kind = 'activity' AND dp.record_id = y.id) AS present, \
             NULL AS quorum_met, CAST(0 AS BIGINT) AS photos \
             FROM duty_activities y JOIN orgs o ON o.id = y.org_id WHERE {c2}) z \
             ORDER BY z.held_on DESC, z.record, z.id DESC LIMIT $1"
        ),
        a,
    )
    .await
}

/// A person at a meeting or activity.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Attendee {
    pub person_kind: String,
    pub person_id: i64,
    pub name: String,
    pub presence: String,
    pub reason: Option<String>,
}

impl Attendee {
    pub fn label(&self) -> &'static str {
        match (self.presence.as_str(), self.reason.as_deref()) {
            ("present", _) => i18n::DUTY_PRESENT,
            ("absent", _) => i18n::DUTY_ABSENT,
            (_, Some(r)) => AbsenceReason::from_code(r).map(|r| r.label()).unwrap_or(i18n::DUTY_EXCUSED),
            _ => i18n::DUTY_EXCUSED,
        }
    }
}

/// A meeting or an activity with its people and photos.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HeldDetail {
    pub held: Held,
    pub minutes: Option<String>,
    pub expected_count: i64,
    pub voting_total: i64,
    pub voting_present: i64,
    pub people: Vec<Attendee>,
    pub photos: Vec<crate::files::FileInfo>,
}

/// One meeting or activity the caller may read.
pub async fn held_detail(db: &Db, p: &Principal, record: &str, id: i64) -> Result<HeldDetail, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("x", &mut a);
    type Extra = (Option<String>, i64, i64, i64);
    let (held, extra): (Held, Extra) = match record {
        "meeting" => {
            let h: Held = db
                .one(
                    &format!(
                        "SELECT 'meeting' AS record, x.id, x.org_id, o.name AS org_name, x.kind, x.held_on, x.topic AS title, \
                         x.present_count AS present, x.quorum_met, CAST(0 AS BIGINT) AS photos \
                         FROM duty_meetings x JOIN orgs o ON o.id = x.org_id WHERE x.id = $1 AND {c}"
                    ),
                    a,
                )
                .await?;
            let e: Extra = db
                .one(
                    "SELECT minutes, expected_count, voting_total, voting_present FROM duty_meetings \
                     WHERE id = $1 AND tenant_id = $2",
                    args![id, p.tenant_id],
                )
                .await?;
            (h, e)
        }
        "activity" => {
            let h: Held = db
                .one(
                    &format!(
                        "SELECT 'activity' AS record, x.id, x.org_id, o.name AS org_name, x.kind, x.held_on, x.title, \
                         CAST(0 AS BIGINT) AS present, NULL AS quorum_met, CAST(0 AS BIGINT) AS photos \
                         FROM duty_activities x JOIN orgs o ON o.id = x.org_id WHERE x.id = $1 AND {c}"
                    ),
                    a,
                )
                .await?;
            let (note,): (Option<String>,) = db
                .one("SELECT note FROM duty_activities WHERE id = $1 AND tenant_id = $2", args![id, p.tenant_id])
                .await?;
            (h, (note, 0, 0, 0))
        }
        _ => return Err(StoreError::NotFound),
    };
    let people: Vec<Attendee> = db
        .all(
            "SELECT dp.person_kind, dp.person_id, COALESCE(r.name, c.name, '') AS name, dp.presence, dp.reason \
             FROM duty_people dp \
             LEFT JOIN members m ON dp.person_kind = 'member' AND m.tenant_id = dp.tenant_id AND m.id = dp.person_id \
             LEFT JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             LEFT JOIN cadres c ON dp.person_kind = 'cadre' AND c.tenant_id = dp.tenant_id AND c.id = dp.person_id \
             WHERE dp.tenant_id = $1 AND dp.record_kind = $2 AND dp.record_id = $3 \
             ORDER BY CASE dp.presence WHEN 'present' THEN 0 WHEN 'excused' THEN 1 ELSE 2 END, dp.person_kind, dp.person_id",
            args![p.tenant_id, record, id],
        )
        .await?;
    let photos: Vec<crate::files::FileInfo> = db
        .all(
            "SELECT id, name, content_type, size, created_at FROM files \
             WHERE tenant_id = $1 AND owner_kind = $2 AND owner_id = $3 ORDER BY id",
            args![p.tenant_id, record, id],
        )
        .await?;
    let (minutes, expected_count, voting_total, voting_present) = extra;
    let mut held = held;
    held.photos = photos.len() as i64;
    if record == "activity" {
        held.present = people.len() as i64;
    }
    Ok(HeldDetail { held, minutes, expected_count, voting_total, voting_present, people, photos })
}

/// A member of an organisation's subtree, for the attendance form.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RosterMember {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub org_name: String,
}

/// The members of an organisation's subtree (the expected attendees): all of
/// them, the same set the meeting's quorum is counted from.
pub async fn roster(db: &Db, p: &Principal, org_id: i64) -> Result<Vec<RosterMember>, StoreError> {
    let org = OrgRef::in_scope(&mut db.conn(), &p.scope(Capability::ReadRegistry), org_id).await?;
    let mut a = args![];
    let c = org.under("m", &mut a);
    db.all(
        &format!(
            "SELECT m.id, r.name, m.status, o.name AS org_name FROM members m \
             JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             JOIN orgs o ON o.id = m.org_id WHERE {c} ORDER BY o.path, m.id"
        ),
        a,
    )
    .await
}
