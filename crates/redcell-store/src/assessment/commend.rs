//! Commendations (评选表彰: 最美党员中心户, 最美街坊主事, 最美义工 and titles
//! a street names itself). An assessor opens a round with a nominating
//! window; assessors below nominate members of the round's subtree with
//! their reasons, and the nominee's record at that moment is kept beside
//! the nomination (points and how they were earned, households contacted,
//! whether a 中心户 or in-service member). Each level up to the round's
//! organisation passes the nomination on or rejects it with a reason; the
//! round's organisation publishes the round once nothing is pending, and the
//! commended are listed per year.

use super::{CAP, points_of, today};
use crate::args;
use crate::audit;
use crate::db::{Conn, Db, Tx};
use crate::error::StoreError;
use crate::scope::{Owned, Principal};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use redcell_domain::assessment::incentives::{
    CommendationKind, NominationId, NominationState, NominationStep, RoundId, RoundState,
};
use redcell_domain::input::opt_text;
use redcell_domain::text::{Text, parse_date};
use redcell_domain::{Capability, CodeEnum, FieldError, Invalid, MemberId, OrgId, OrgPath};
use serde::{Deserialize, Serialize};

impl Owned for RoundId {
    const TABLE: &'static str = "commendation_rounds";
}
impl Owned for NominationId {
    const TABLE: &'static str = "nominations";
}

/// A commendation round.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Round {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    #[schema(value_type = CommendationKind)]
    pub kind: String,
    pub title: String,
    pub year: i64,
    pub nominate_from: NaiveDate,
    pub nominate_until: NaiveDate,
    #[schema(value_type = RoundState)]
    pub state: String,
    pub note: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// Nominations: pending, approved.
    pub pending: i64,
    pub approved: i64,
}

impl Round {
    pub fn state_label(&self) -> &'static str {
        RoundState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
    pub fn accepting(&self, today: NaiveDate) -> bool {
        self.state == "open" && self.nominate_from <= today && today <= self.nominate_until
    }
}

const ROUND_SELECT: &str = "SELECT c.id, c.org_id, o.name AS org_name, o.path AS org_path, c.kind, c.title, c.year, \
    c.nominate_from, c.nominate_until, c.state, c.note, c.published_at, \
    (SELECT COUNT(*) FROM nominations n WHERE n.tenant_id = c.tenant_id AND n.round_id = c.id AND n.state = 'pending') AS pending, \
    (SELECT COUNT(*) FROM nominations n WHERE n.tenant_id = c.tenant_id AND n.round_id = c.id AND n.state = 'approved') AS approved \
    FROM commendation_rounds c JOIN orgs o ON o.tenant_id = c.tenant_id AND o.id = c.org_id";

/// The nominee's record when nominated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Snapshot {
    pub year: i32,
    /// Points this year (积分) and how they were earned.
    pub points: String,
    pub lines: Vec<SnapshotLine>,
    /// Households the member was responsible for.
    pub households: i64,
    pub central_household: bool,
    pub in_service: bool,
}

/// One source of the nominee's points: what, how much, points.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SnapshotLine {
    pub label: String,
    pub units: String,
    pub points: String,
}

/// A nomination.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Nomination {
    pub id: i64,
    pub round_id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub org_id: i64,
    pub org_name: String,
    pub reasons: String,
    #[serde(skip)]
    pub snapshot: String,
    #[schema(value_type = NominationState)]
    pub state: String,
    /// The organisation whose assessors act next (while pending).
    pub level_org_id: Option<i64>,
    pub level_org_name: Option<String>,
    pub nominated_by_name: String,
    pub nominated_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub record: Option<Snapshot>,
    #[sqlx(skip)]
    pub steps: Vec<NomStep>,
}

impl Nomination {
    pub fn state_label(&self) -> &'static str {
        NominationState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NomStep {
    pub nomination_id: i64,
    #[schema(value_type = NominationStep)]
    pub kind: String,
    pub org_name: String,
    pub note: Option<String>,
    pub by_name: String,
    pub at: DateTime<Utc>,
}

impl NomStep {
    pub fn label(&self) -> &'static str {
        NominationStep::from_code(&self.kind).map(|s| s.label()).unwrap_or("")
    }
}

const NOM_SELECT: &str = "SELECT n.id, n.round_id, n.member_id, r.name AS member_name, n.org_id, o.name AS org_name, n.reasons, \
    n.snapshot, n.state, n.level_org_id, lo.name AS level_org_name, COALESCE(u.display_name, '') AS nominated_by_name, n.nominated_at \
    FROM nominations n JOIN members m ON m.tenant_id = n.tenant_id AND m.id = n.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    JOIN orgs o ON o.tenant_id = n.tenant_id AND o.id = n.org_id \
    LEFT JOIN orgs lo ON lo.tenant_id = n.tenant_id AND lo.id = n.level_org_id \
    LEFT JOIN users u ON u.id = n.nominated_by";

/// A round with the nominations the caller may see (those of members in
/// their assessing or reading scope; all of them at the round's organisation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoundView {
    pub round: Round,
    pub nominations: Vec<Nomination>,
    /// The caller may nominate now (window open, assessor inside the round's subtree).
    pub may_nominate: bool,
    /// The caller is an assessor at the round's organisation (publishes).
    pub at_round: bool,
}

fn readable(p: &Principal) -> Result<(), StoreError> {
    if p.holds(CAP) || p.holds(Capability::ReadRegistry) { Ok(()) } else { Err(StoreError::Forbidden) }
}

/// A round is seen by those who read its organisation, and by those below
/// it (who nominate); another community's round is not their business.
fn sees(p: &Principal, round: &OrgPath) -> bool {
    p.scope(Capability::ReadRegistry).contains(round)
        || p.scope(CAP).contains(round)
        || p.grants.iter().any(|g| round.contains(&g.path))
}

/// The rounds of a year (default: this year) the caller sees.
pub async fn rounds(db: &Db, p: &Principal, year: Option<i32>) -> Result<Vec<Round>, StoreError> {
    readable(p)?;
    let year = year.unwrap_or_else(|| today().year());
    let all: Vec<Round> = db
        .all(
            &format!("{ROUND_SELECT} WHERE c.tenant_id = $1 AND c.year = $2 ORDER BY c.nominate_until DESC, c.id"),
            args![p.tenant_id, year as i64],
        )
        .await?;
    Ok(all.into_iter().filter(|r| OrgPath::parse(&r.org_path).is_ok_and(|path| sees(p, &path))).collect())
}

async fn round_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Round, StoreError> {
    c.opt(&format!("{ROUND_SELECT} WHERE c.tenant_id = $1 AND c.id = $2"), args![tenant, id])
        .await?
        .ok_or(StoreError::NotFound)
}

/// A new round.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawRound {
    /// The organisation holding the round; default: the caller's own.
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    /// `central_household`, `neighbourhood_chief`, `volunteer` or `custom`.
    pub kind: Option<String>,
    /// The title (required for `custom`; default: the kind's name).
    pub title: Option<String>,
    /// The year commended (default: the year nominations open).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub year: Option<String>,
    /// `YYYY-MM-DD`; default: today.
    pub nominate_from: Option<String>,
    /// `YYYY-MM-DD`, not before today.
    pub nominate_until: Option<String>,
    pub note: Option<String>,
}

pub async fn open_round(db: &Db, p: &Principal, raw: &RawRound) -> Result<Round, StoreError> {
    let access = p.access(CAP)?;
    let today = today();
    let mut e = Invalid::default();
    let org_id = e.check(redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, false)).flatten();
    let kind = e.check(CommendationKind::parse("kind", raw.kind.as_deref().unwrap_or("").trim()));
    let title = e.check(opt_text("title", &raw.title, 40)).flatten();
    if kind == Some(CommendationKind::Custom) && title.is_none() {
        e.push(FieldError::new("title", "required", "自定义评选要写明名称"));
    }
    let from = match raw.nominate_from.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => e.check(parse_date("nominate_from", s)).flatten(),
        None => Some(today),
    };
    let until = e.check(parse_date("nominate_until", raw.nominate_until.as_deref().unwrap_or(""))).flatten();
    if raw.nominate_until.as_deref().unwrap_or("").trim().is_empty() {
        e.push(FieldError::new("nominate_until", "required", "请填写提名截止日期"));
    }
    if let Some(u) = until {
        if u < today {
            e.push(FieldError::new("nominate_until", "past", "提名截止日期不能早于今天"));
        } else if from.is_some_and(|f| u < f) {
            e.push(FieldError::new("nominate_until", "order", "提名截止日期不能早于开始日期"));
        }
    }
    let note = e.check(opt_text("note", &raw.note, 500)).flatten();
    let year = match raw.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        None => from.map(|f| f.year()),
        Some(y) => match y.parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) => Some(y),
            _ => {
                e.push(FieldError::new("year", "range", "年份应在 2000 到 2100 之间"));
                None
            }
        },
    };
    e.into_result()?;
    let (Some(kind), Some(from), Some(until), Some(year)) = (kind, from, until, year) else {
        return Err(StoreError::Internal("round".into()));
    };
    let org_id = match org_id {
        Some(o) => o,
        None => OrgId::new(crate::coverage::org_or_home(p, None)?),
    };
    let mut tx = db.begin().await?;
    let org = access.org_ref(&mut tx, org_id, "org_id").await?;
    let title = title.unwrap_or_else(|| kind.label().to_string());
    let id = tx
        .int(
            "INSERT INTO commendation_rounds (tenant_id, org_id, kind, title, year, nominate_from, nominate_until, state, note, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            args![
                org.tenant_id,
                org.id,
                kind.code(),
                title,
                year as i64,
                from,
                until,
                RoundState::Open.code(),
                note,
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "commendation_round",
        "commendation_rounds",
        org.tenant_id,
        id,
        None,
    )
    .await?;
    let r = round_row(&mut tx, org.tenant_id, id).await?;
    tx.commit().await?;
    Ok(r)
}

/// A round with the nominations the caller may see.
pub async fn round(db: &Db, p: &Principal, id: RoundId) -> Result<RoundView, StoreError> {
    readable(p)?;
    let mut c = db.conn();
    let round = round_row(&mut c, p.tenant_id, id.get()).await?;
    let path = OrgPath::parse(&round.org_path)?;
    if !sees(p, &path) {
        return Err(StoreError::NotFound);
    }
    let at_round = p.holds_at(CAP, &path);
    let mut a = args![p.tenant_id, id.get()];
    let mine = if at_round {
        "1 = 1".to_string()
    } else {
        let s = if p.holds(CAP) { p.scope(CAP) } else { p.scope(Capability::ReadRegistry) };
        s.rows("n", &mut a)
    };
    let mut nominations: Vec<Nomination> = c
        .all(&format!("{NOM_SELECT} WHERE n.tenant_id = $1 AND n.round_id = $2 AND {mine} ORDER BY o.path, n.id"), a)
        .await?;
    let steps: Vec<NomStep> = c
        .all(
            "SELECT s.nomination_id, s.kind, o.name AS org_name, s.note, s.by_name, s.at FROM nomination_steps s \
             JOIN nominations n ON n.tenant_id = s.tenant_id AND n.id = s.nomination_id \
             JOIN orgs o ON o.tenant_id = s.tenant_id AND o.id = s.org_id \
             WHERE s.tenant_id = $1 AND n.round_id = $2 ORDER BY s.at, s.id",
            args![p.tenant_id, id.get()],
        )
        .await?;
    for n in nominations.iter_mut() {
        n.record = serde_json::from_str(&n.snapshot).ok();
        n.steps = steps.iter().filter(|s| s.nomination_id == n.id).cloned().collect();
    }
    let may_nominate = round.accepting(today())
        && p.grants.iter().any(|g| g.role.can(CAP) && (path.contains(&g.path) || g.path == path));
    Ok(RoundView { round, nominations, may_nominate, at_round })
}

/// A nomination.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawNomination {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub member_id: Option<String>,
    /// Why this member (what they did), in the nominator's words.
    pub reasons: Option<String>,
}

/// Nominate a member of the round's subtree, inside the window. The
/// nomination goes to the level above the nominator's (or stays at the
/// round's organisation when nominated there).
pub async fn nominate(db: &Db, p: &Principal, id: RoundId, raw: &RawNomination) -> Result<Nomination, StoreError> {
    let access = p.access(CAP)?;
    let today = today();
    let mut c = db.conn();
    let round = round_row(&mut c, p.tenant_id, id.get()).await?;
    drop(c);
    if !sees(p, &OrgPath::parse(&round.org_path)?) {
        return Err(StoreError::NotFound);
    }
    if round.state != "open" {
        return Err(FieldError::new("round", "state", "这次评选已公布，不能再提名").into());
    }
    if today < round.nominate_from || today > round.nominate_until {
        return Err(FieldError::new(
            "round",
            "window",
            format!("提名时间为 {} 至 {}", round.nominate_from, round.nominate_until),
        )
        .into());
    }
    let mut e = Invalid::default();
    let member = e.check(redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, true)).flatten();
    let reasons = e.check(Text::required("reasons", raw.reasons.as_deref().unwrap_or(""), 1000));
    e.into_result()?;
    let (Some(member), Some(reasons)) = (member, reasons) else { return Err(StoreError::Internal("nominate".into())) };
    let round_path = OrgPath::parse(&round.org_path)?;
    let mut tx = db.begin().await?;
    let owner = access.reference(&mut tx, member, "member_id").await?;
    if !round_path.contains(&owner.path) && round_path != owner.path {
        return Err(
            FieldError::new("member_id", "outside", format!("该党员不在「{}」的评选范围内", round.org_name)).into()
        );
    }
    let dup = tx
        .int(
            "SELECT COUNT(*) FROM nominations WHERE tenant_id = $1 AND round_id = $2 AND member_id = $3",
            args![p.tenant_id, round.id, member.get()],
        )
        .await?;
    if dup > 0 {
        return Err(FieldError::new("member_id", "duplicate", "该党员已被提名").into());
    }
    // The nominator's level: their deepest assessing grant covering the member.
    // A nominator at or above the round's organisation leaves the decision to it.
    let grant = p
        .grants
        .iter()
        .filter(|g| g.role.can(CAP) && (g.path == owner.path || g.path.contains(&owner.path)))
        .max_by_key(|g| g.path.depth())
        .ok_or(StoreError::Forbidden)?;
    let (level, next) = if grant.path == round_path || grant.path.contains(&round_path) {
        (round.org_id, round.org_id)
    } else {
        (grant.org_id, parent_within(&mut tx, p.tenant_id, grant.org_id, &round_path).await?)
    };
    let snap = snapshot(db, &mut tx, p.tenant_id, member.get(), round.year as i32).await?;
    let now = Utc::now();
    let nid = tx
        .int(
            "INSERT INTO nominations (tenant_id, round_id, member_id, org_id, reasons, snapshot, state, level_org_id, nominated_by, nominated_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            args![
                p.tenant_id,
                round.id,
                member.get(),
                owner.org_id,
                reasons.into_string(),
                serde_json::to_string(&snap).map_err(|e| StoreError::Internal(e.to_string()))?,
                NominationState::Pending.code(),
                next,
                p.user_id,
                now
            ],
        )
        .await?;
    nom_step(&mut tx, p, nid, NominationStep::Nominated, level, None).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "nomination",
        "nominations",
        p.tenant_id,
        nid,
        None,
    )
    .await?;
    let n = nom_row(&mut tx, p.tenant_id, nid).await?;
    tx.commit().await?;
    Ok(n)
}

async fn parent_within(tx: &mut Tx, tenant: i64, org: i64, top: &OrgPath) -> Result<i64, StoreError> {
    let (parent, path): (Option<i64>, String) =
        tx.one("SELECT parent_id, path FROM orgs WHERE tenant_id = $1 AND id = $2", args![tenant, org]).await?;
    let path = OrgPath::parse(&path)?;
    match parent {
        Some(p) if top.contains(&path) => Ok(p),
        _ => Err(StoreError::Internal(format!("organisation {org} is not below the round's"))),
    }
}

async fn snapshot(db: &Db, tx: &mut Tx, tenant: i64, member: i64, year: i32) -> Result<Snapshot, StoreError> {
    let pts = points_of(db, tenant, member, year).await?;
    let (central_household, in_service): (bool, bool) = tx
        .one("SELECT central_household, (work_unit IS NOT NULL AND work_unit <> '') FROM members WHERE tenant_id = $1 AND id = $2", args![tenant, member])
        .await?;
    let households = tx
        .int(
            "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND level = 'member_household' AND from_id = $2 \
             AND from_kind = 'member' AND to_kind = 'household' AND until IS NULL",
            args![tenant, member],
        )
        .await?;
    Ok(Snapshot {
        year,
        points: pts.total,
        lines: pts
            .lines
            .into_iter()
            .map(|l| SnapshotLine { label: l.label, units: l.units, points: l.points })
            .collect(),
        households,
        central_household,
        in_service,
    })
}

async fn nom_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Nomination, StoreError> {
    let mut n: Nomination =
        c.one(&format!("{NOM_SELECT} WHERE n.tenant_id = $1 AND n.id = $2"), args![tenant, id]).await?;
    n.record = serde_json::from_str(&n.snapshot).ok();
    Ok(n)
}

async fn nom_step(
    tx: &mut Tx,
    p: &Principal,
    id: i64,
    kind: NominationStep,
    org: i64,
    note: Option<String>,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO nomination_steps (tenant_id, nomination_id, kind, org_id, note, by_user, by_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![p.tenant_id, id, kind.code(), org, note, p.user_id, p.display_name.clone(), Utc::now()],
    )
    .await?;
    Ok(())
}

/// A level's decision on a nomination.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = NominationReview)]
pub struct RawReview {
    /// `pass` (on to the level above, or approved at the round's organisation) or `reject`.
    pub decision: Option<String>,
    /// Required when rejecting.
    pub note: Option<String>,
}

/// Pass a nomination on (approved at the round's organisation) or reject it
/// with a reason, by an assessor of the level it waits at.
pub async fn review(db: &Db, p: &Principal, id: NominationId, raw: &RawReview) -> Result<Nomination, StoreError> {
    p.access(CAP)?;
    let mut tx = db.begin().await?;
    let n = nom_row(&mut tx, p.tenant_id, id.get()).await?;
    let round = round_row(&mut tx, p.tenant_id, n.round_id).await?;
    // Those outside the nominee's organisation and the round's do not learn the nomination exists.
    let own = OrgPath::parse(&n_path(&mut tx, p.tenant_id, n.org_id).await?)?;
    let round_path = OrgPath::parse(&round.org_path)?;
    if !p.scope(CAP).contains(&own) && !p.holds_at(CAP, &round_path) {
        return Err(StoreError::NotFound);
    }
    let Some(level) = n.level_org_id.filter(|_| n.state == "pending") else {
        return Err(FieldError::new("decision", "state", format!("这个提名已{}", n.state_label())).into());
    };
    let (level_path,): (String,) =
        tx.one("SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2", args![p.tenant_id, level]).await?;
    let level_path = OrgPath::parse(&level_path)?;
    if !p.holds_at(CAP, &level_path) {
        let whose = n.level_org_name.clone().unwrap_or_default();
        return Err(StoreError::Denied(FieldError::new("decision", "level", format!("这个提名等待「{whose}」审核"))));
    }
    // Level by level: nobody nominates and passes on, or passes on twice.
    let acted = tx
        .int(
            "SELECT COUNT(*) FROM nomination_steps WHERE tenant_id = $1 AND nomination_id = $2 AND by_user = $3",
            args![p.tenant_id, n.id, p.user_id],
        )
        .await?;
    if acted > 0 {
        return Err(
            FieldError::new("decision", "twice", "你已经在前一级处理过这个提名，要由本级的其他考评人审核").into()
        );
    }
    let note = opt_text("note", &raw.note, 500)?;
    let now = Utc::now();
    match raw.decision.as_deref().map(str::trim) {
        Some("pass") => {
            if level == round.org_id {
                moved(
                    tx.exec(
                        "UPDATE nominations SET state = $1, level_org_id = NULL, updated_at = $2 \
                         WHERE tenant_id = $3 AND id = $4 AND state = 'pending' AND level_org_id = $5",
                        args![NominationState::Approved.code(), now, p.tenant_id, n.id, level],
                    )
                    .await?,
                )?;
                nom_step(&mut tx, p, n.id, NominationStep::Approved, level, note).await?;
            } else {
                let up = parent_within(&mut tx, p.tenant_id, level, &OrgPath::parse(&round.org_path)?).await?;
                moved(
                    tx.exec(
                        "UPDATE nominations SET level_org_id = $1, updated_at = $2 \
                         WHERE tenant_id = $3 AND id = $4 AND state = 'pending' AND level_org_id = $5",
                        args![up, now, p.tenant_id, n.id, level],
                    )
                    .await?,
                )?;
                nom_step(&mut tx, p, n.id, NominationStep::Passed, level, note).await?;
            }
        }
        Some("reject") => {
            let Some(note) = note else {
                return Err(FieldError::new("note", "required", "不通过时请写明理由").into());
            };
            moved(
                tx.exec(
                    "UPDATE nominations SET state = $1, level_org_id = NULL, updated_at = $2 \
                     WHERE tenant_id = $3 AND id = $4 AND state = 'pending' AND level_org_id = $5",
                    args![NominationState::Rejected.code(), now, p.tenant_id, n.id, level],
                )
                .await?,
            )?;
            nom_step(&mut tx, p, n.id, NominationStep::Rejected, level, Some(note)).await?;
        }
        _ => return Err(FieldError::new("decision", "invalid", "请选择「通过」或「不通过」").into()),
    }
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "nomination",
        "nominations",
        p.tenant_id,
        n.id,
        None,
    )
    .await?;
    let n = nom_row(&mut tx, p.tenant_id, n.id).await?;
    tx.commit().await?;
    Ok(n)
}

/// The nomination was still where this decision found it (two at once: one wins).
fn moved(rows: u64) -> Result<(), StoreError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(FieldError::new("decision", "changed", "这个提名刚刚已有人审核，请刷新后再看").into())
    }
}

async fn n_path(tx: &mut Tx, tenant: i64, org: i64) -> Result<String, StoreError> {
    let (path,): (String,) =
        tx.one("SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2", args![tenant, org]).await?;
    Ok(path)
}

/// Publish a round (by an assessor at its organisation, nothing pending).
pub async fn publish(db: &Db, p: &Principal, id: RoundId) -> Result<Round, StoreError> {
    let access = p.access(CAP)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let round = round_row(&mut tx, owner.tenant_id, id.get()).await?;
    if round.state != "open" {
        return Err(FieldError::new("state", "state", "这次评选已经公布").into());
    }
    if round.pending > 0 {
        return Err(FieldError::new("state", "pending", format!("还有 {} 个提名没有审核完", round.pending)).into());
    }
    tx.exec(
        "UPDATE commendation_rounds SET state = $1, published_at = $2 WHERE tenant_id = $3 AND id = $4",
        args![RoundState::Published.code(), Utc::now(), owner.tenant_id, round.id],
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "commendation_round",
        "commendation_rounds",
        owner.tenant_id,
        round.id,
        None,
    )
    .await?;
    let r = round_row(&mut tx, owner.tenant_id, round.id).await?;
    tx.commit().await?;
    Ok(r)
}

/// One commended member, as published.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Commended {
    pub round_id: i64,
    pub title: String,
    pub year: i64,
    pub by_org: String,
    pub name: String,
    pub org_name: String,
    pub reasons: String,
}

/// Those commended in a year's published rounds among the members of an
/// organisation's subtree (public: names, their organisation and the
/// reasons; nothing else about them).
pub async fn commended(db: &Db, org_id: OrgId, year: i32) -> Result<(String, Vec<Commended>), StoreError> {
    let (tenant, name, path): (i64, String, String) = db
        .opt("SELECT tenant_id, name, path FROM orgs WHERE id = $1", args![org_id.get()])
        .await?
        .ok_or(StoreError::NotFound)?;
    let org_path = OrgPath::parse(&path)?;
    // An organisation with nobody ever commended is not shown (nor named) to the public.
    let mut b = args![];
    let ub = crate::scope::rows_under_path("n", tenant, &org_path, &mut b);
    let ever = db
        .int(
            &format!(
                "SELECT COUNT(*) FROM nominations n JOIN commendation_rounds c ON c.tenant_id = n.tenant_id AND c.id = n.round_id \
                 WHERE n.state = 'approved' AND c.state = 'published' AND {ub}"
            ),
            b,
        )
        .await?;
    if ever == 0 {
        return Err(StoreError::NotFound);
    }
    let mut a = args![tenant, year as i64];
    let u = crate::scope::rows_under_path("n", tenant, &org_path, &mut a);
    let list = db
        .all(
            &format!(
                "SELECT c.id AS round_id, c.title, c.year, co.name AS by_org, r.name, o.name AS org_name, n.reasons \
                 FROM commendation_rounds c JOIN orgs co ON co.tenant_id = c.tenant_id AND co.id = c.org_id \
                 JOIN nominations n ON n.tenant_id = c.tenant_id AND n.round_id = c.id AND n.state = 'approved' \
                 JOIN members m ON m.tenant_id = n.tenant_id AND m.id = n.member_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs o ON o.tenant_id = n.tenant_id AND o.id = n.org_id \
                 WHERE c.tenant_id = $1 AND c.year = $2 AND c.state = 'published' AND {u} ORDER BY c.id, o.path, n.id"
            ),
            a,
        )
        .await?;
    Ok((name, list))
}
