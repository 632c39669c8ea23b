//! Service teams (服务队) and the yearly service evaluation (年度服务评价).
//!
//! A team is an organisation's standing group — 矛盾调解, 综合信息, 文艺活动 … —
//! with its service items, times and rules shown on its public page and the
//! members serving in it over time. Staff who may edit the organisation set
//! teams up and add members; a member may join a team near them and leave it.
//! Hours logged for a team ([`crate::volunteer::log_hours`]) count once the
//! team's organisation confirms them.
//!
//! Each year the member's organisation drafts an evaluation per member from
//! the confirmed record only (hours, posts held, teams, requests served), and
//! reviews it with a grade and a comment. Nothing counts clicks or time
//! online; evaluations are seen in scope and by the member, never ranked.

use crate::args;
use crate::audit;
use crate::db::{Conn, Db, Tx};
use crate::error::StoreError;
use crate::scope::{OrgRef, Owned, Principal};
use crate::volunteer::{Closing, HOURS_SELECT, Hours, MemberTotal, me, near, today, year_bounds};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use redcell_domain::text::Text;
use redcell_domain::volunteer::{
    self as v, EvaluationId, EvaluationState, Grade, HoursState, TeamId, TeamInput, TeamTerms, YearRecord,
};
use redcell_domain::{Capability, CodeEnum, FieldError, Invalid, MemberId, OrgId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

impl Owned for TeamId {
    const TABLE: &'static str = "service_teams";
}
impl Owned for EvaluationId {
    const TABLE: &'static str = "service_evaluations";
}

/// Setting teams up, adding members, drafting and reviewing evaluations.
const CAP: Capability = Capability::EditRegistry;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Team {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub name: String,
    /// The service items (服务项目).
    pub items: String,
    /// When the team serves.
    pub schedule: String,
    /// The team's rules, shown on its public page.
    pub rules: String,
    pub closed_on: Option<NaiveDate>,
    /// Members serving now.
    pub members: i64,
}

impl Team {
    pub fn is_open(&self) -> bool {
        self.closed_on.is_none()
    }
}

/// A member's time in a team.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TeamMember {
    pub id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
}

/// A team with its members (serving first) and, for staff, the year's
/// confirmed hours per member and the latest hours.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub team: Team,
    pub members: Vec<TeamMember>,
    pub year: i32,
    pub year_minutes: i64,
    /// Confirmed hours this year per member, by name (never ranked).
    pub totals: Vec<MemberTotal>,
    pub hours: Vec<Hours>,
}

/// Form and API input for a team.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawTeam {
    /// The organisation the team belongs to (on creation only).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    pub name: Option<String>,
    pub items: Option<String>,
    pub schedule: Option<String>,
    pub rules: Option<String>,
}

impl RawTeam {
    pub fn of(t: &Team) -> RawTeam {
        RawTeam {
            org_id: Some(t.org_id.to_string()),
            name: Some(t.name.clone()),
            items: Some(t.items.clone()),
            schedule: Some(t.schedule.clone()),
            rules: Some(t.rules.clone()),
        }
    }

    fn terms(&self) -> Result<TeamTerms, Invalid> {
        TeamInput {
            name: self.name.as_deref().unwrap_or(""),
            items: self.items.as_deref().unwrap_or(""),
            schedule: self.schedule.as_deref().unwrap_or(""),
            rules: self.rules.as_deref().unwrap_or(""),
        }
        .validate()
    }
}

/// A member to add to a team.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawTeamMember {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub member_id: Option<String>,
}

const TEAM_COLS: &str = "t.id, t.org_id, o.name AS org_name, t.name, t.items, t.schedule, t.rules, t.closed_on, \
    (SELECT COUNT(*) FROM service_team_members tm WHERE tm.tenant_id = t.tenant_id AND tm.team_id = t.id \
    AND tm.left_on IS NULL) AS members";
const TEAM_FROM: &str = "service_teams t JOIN orgs o ON o.tenant_id = t.tenant_id AND o.id = t.org_id";
const MEMBER_SELECT: &str = "SELECT tm.id, tm.member_id, r.name AS member_name, tm.joined_on, tm.left_on \
    FROM service_team_members tm JOIN members m ON m.tenant_id = tm.tenant_id AND m.id = tm.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id";

async fn team_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Team, StoreError> {
    c.one(&format!("SELECT {TEAM_COLS} FROM {TEAM_FROM} WHERE t.tenant_id = $1 AND t.id = $2"), args![tenant, id]).await
}

async fn members_of(c: &mut impl Conn, tenant: i64, team: i64) -> Result<Vec<TeamMember>, StoreError> {
    c.all(
        &format!(
            "{MEMBER_SELECT} WHERE tm.tenant_id = $1 AND tm.team_id = $2 ORDER BY tm.left_on IS NOT NULL, tm.joined_on, tm.id"
        ),
        args![tenant, team],
    )
    .await
}

/// The teams of an organisation and the organisations under it, open first.
pub async fn teams(db: &Db, p: &Principal, org_id: OrgId) -> Result<Vec<Team>, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let mut c = db.conn();
    let org: OrgRef = access.org(&mut c, org_id).await?;
    let mut a = args![];
    let u = org.under("t", &mut a);
    c.all(&format!("SELECT {TEAM_COLS} FROM {TEAM_FROM} WHERE {u} ORDER BY t.closed_on IS NOT NULL, o.path, t.id"), a)
        .await
}

/// A team's own row (no members or hours), for those who read it.
pub async fn team_row_of(db: &Db, p: &Principal, id: TeamId) -> Result<Team, StoreError> {
    let mut c = db.conn();
    let owner = p.access(Capability::ReadRegistry)?.target(&mut c, id).await?;
    team_row(&mut c, owner.tenant_id, id.get()).await
}

/// A team as staff see it.
pub async fn team(db: &Db, p: &Principal, id: TeamId) -> Result<TeamView, StoreError> {
    let mut c = db.conn();
    let owner = p.access(Capability::ReadRegistry)?.target(&mut c, id).await?;
    let team = team_row(&mut c, owner.tenant_id, id.get()).await?;
    let members = members_of(&mut c, owner.tenant_id, id.get()).await?;
    let year = today().year();
    let (from, to) = year_bounds(year);
    let sums: Vec<(i64, String, String, i64)> = c
        .all(
            "SELECT h.member_id, r.name, mo.name, CAST(SUM(h.minutes) AS BIGINT) FROM service_hours h \
             JOIN members m ON m.tenant_id = h.tenant_id AND m.id = h.member_id \
             JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             JOIN orgs mo ON mo.tenant_id = m.tenant_id AND mo.id = m.org_id \
             WHERE h.tenant_id = $1 AND h.team_id = $2 AND h.state = $3 AND h.work_date >= $4 AND h.work_date < $5 \
             GROUP BY h.member_id, r.name, mo.name, mo.path ORDER BY mo.path, r.name, h.member_id",
            args![owner.tenant_id, id.get(), HoursState::Confirmed.code(), from, to],
        )
        .await?;
    let totals: Vec<MemberTotal> = sums
        .into_iter()
        .map(|(member_id, name, org_name, minutes)| MemberTotal { member_id, name, org_name, minutes })
        .collect();
    let year_minutes = totals.iter().map(|t| t.minutes).sum();
    let hours: Vec<Hours> = c
        .all(
            &format!(
                "{HOURS_SELECT} WHERE h.tenant_id = $1 AND h.team_id = $2 ORDER BY h.work_date DESC, h.id DESC LIMIT 50"
            ),
            args![owner.tenant_id, id.get()],
        )
        .await?;
    Ok(TeamView { team, members, year, year_minutes, totals, hours })
}

/// A team's public page: its terms and the names of the members serving now.
pub async fn public_team(db: &Db, id: i64) -> Result<TeamView, StoreError> {
    let tenant: Option<(i64,)> = db.opt("SELECT tenant_id FROM service_teams WHERE id = $1", args![id]).await?;
    let (tenant,) = tenant.ok_or(StoreError::NotFound)?;
    let mut c = db.conn();
    let team = team_row(&mut c, tenant, id).await?;
    let mut members = members_of(&mut c, tenant, id).await?;
    members.retain(|m| m.left_on.is_none());
    Ok(TeamView { team, members, year: today().year(), year_minutes: 0, totals: vec![], hours: vec![] })
}

/// Set a team up in an organisation the caller may edit.
pub async fn create_team(db: &Db, p: &Principal, raw: &RawTeam) -> Result<Team, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let org = e.check(redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, true)).flatten();
    let terms = match raw.terms() {
        Ok(t) => Some(t),
        Err(inv) => {
            e.0.extend(inv.0);
            None
        }
    };
    e.into_result()?;
    let (Some(org), Some(terms)) = (org, terms) else {
        return Err(StoreError::Internal("team input".into()));
    };
    let mut tx = db.begin().await?;
    let o = access.org(&mut tx, org).await?;
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO service_teams (tenant_id, org_id, name, items, schedule, rules, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            args![o.tenant_id, o.id, terms.name, terms.items, terms.schedule, terms.rules, p.user_id, now],
        )
        .await?;
    audit::record(&mut tx, o.tenant_id, Some(p.user_id), "service_team_create", "service_team", Some(id), "").await?;
    let t = team_row(&mut tx, o.tenant_id, id).await?;
    tx.commit().await?;
    Ok(t)
}

/// Change a team's terms (the public page shows the new ones).
pub async fn update_team(db: &Db, p: &Principal, id: TeamId, raw: &RawTeam) -> Result<Team, StoreError> {
    let access = p.access(CAP)?;
    let terms = raw.terms()?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = team_row(&mut tx, owner.tenant_id, id.get()).await?;
    if !before.is_open() {
        return Err(FieldError::new("name", "closed", "服务队已撤销，不能修改").into());
    }
    tx.exec(
        "UPDATE service_teams SET name = $1, items = $2, schedule = $3, rules = $4, updated_at = $5 \
         WHERE tenant_id = $6 AND id = $7",
        args![terms.name, terms.items, terms.schedule, terms.rules, Utc::now(), owner.tenant_id, id.get()],
    )
    .await?;
    audit::record(&mut tx, owner.tenant_id, Some(p.user_id), "service_team_update", "service_team", Some(id.get()), "")
        .await?;
    let t = team_row(&mut tx, owner.tenant_id, id.get()).await?;
    tx.commit().await?;
    Ok(t)
}

/// Close a team: its members leave it today; the history stays.
pub async fn close_team(db: &Db, p: &Principal, id: TeamId) -> Result<Team, StoreError> {
    let access = p.access(CAP)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let closing = Closing { table: "service_teams", holders: "service_team_members", key: "team_id", end: "left_on" };
    if !closing.close(&mut tx, owner.tenant_id, id.get()).await? {
        return Err(FieldError::new("team_id", "closed", "服务队已撤销").into());
    }
    audit::record(&mut tx, owner.tenant_id, Some(p.user_id), "service_team_close", "service_team", Some(id.get()), "")
        .await?;
    let t = team_row(&mut tx, owner.tenant_id, id.get()).await?;
    tx.commit().await?;
    Ok(t)
}

/// Put `member` in the open team inside `tx` (once: not while serving in it).
async fn enrol(tx: &mut Tx, tenant: i64, team: &Team, member: i64) -> Result<TeamMember, StoreError> {
    if !team.is_open() {
        return Err(FieldError::new("team_id", "closed", "服务队已撤销").into());
    }
    let serving = tx
        .int(
            "SELECT COUNT(*) FROM service_team_members WHERE tenant_id = $1 AND team_id = $2 AND member_id = $3 \
             AND left_on IS NULL",
            args![tenant, team.id, member],
        )
        .await?;
    if serving > 0 {
        return Err(FieldError::new("member_id", "duplicate", "已在这个服务队").into());
    }
    let id = tx
        .int(
            "INSERT INTO service_team_members (tenant_id, org_id, team_id, member_id, joined_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            args![tenant, team.org_id, team.id, member, today(), Utc::now()],
        )
        .await?;
    tx.one(&format!("{MEMBER_SELECT} WHERE tm.tenant_id = $1 AND tm.id = $2"), args![tenant, id]).await
}

/// Staff add a member to a team: a member in their scope, or of an
/// organisation above the team's.
pub async fn add_member(db: &Db, p: &Principal, id: TeamId, raw: &RawTeamMember) -> Result<TeamMember, StoreError> {
    let access = p.access(CAP)?;
    let member = redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, true)?
        .ok_or_else(|| FieldError::new("member_id", "required", "请选择党员"))?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    access.participant(&mut tx, member, &owner.path, "member_id").await?;
    // One enrolment at a time per team.
    tx.exec(
        "UPDATE service_teams SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2",
        args![owner.tenant_id, id.get()],
    )
    .await?;
    let team = team_row(&mut tx, owner.tenant_id, id.get()).await?;
    let m = enrol(&mut tx, owner.tenant_id, &team, member.get()).await?;
    audit::record(
        &mut tx,
        owner.tenant_id,
        Some(p.user_id),
        "service_team_add",
        "service_team",
        Some(id.get()),
        &m.member_name,
    )
    .await?;
    tx.commit().await?;
    Ok(m)
}

/// Staff end a member's time in a team (the history stays).
pub async fn remove_member(db: &Db, p: &Principal, id: TeamId, raw: &RawTeamMember) -> Result<(), StoreError> {
    let access = p.access(CAP)?;
    let member = redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, true)?
        .ok_or_else(|| FieldError::new("member_id", "required", "请选择党员"))?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    end_membership(&mut tx, owner.tenant_id, id.get(), member.get()).await?;
    audit::record(&mut tx, owner.tenant_id, Some(p.user_id), "service_team_remove", "service_team", Some(id.get()), "")
        .await?;
    tx.commit().await
}

async fn end_membership(tx: &mut Tx, tenant: i64, team: i64, member: i64) -> Result<(), StoreError> {
    let n = tx
        .exec(
            "UPDATE service_team_members SET left_on = $1 WHERE tenant_id = $2 AND team_id = $3 AND member_id = $4 \
             AND left_on IS NULL",
            args![today(), tenant, team, member],
        )
        .await?;
    if n == 0 {
        return Err(FieldError::new("member_id", "not_member", "不在这个服务队").into());
    }
    Ok(())
}

/// A member joins an open team near them (as for posts: inside or above an
/// organisation where they may claim requests).
pub async fn join(db: &Db, p: &Principal, id: TeamId) -> Result<TeamMember, StoreError> {
    let member = me(db, p).await?;
    let mut tx = db.begin().await?;
    tx.exec(
        "UPDATE service_teams SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2",
        args![p.tenant_id, id.get()],
    )
    .await?;
    let mut a = args![p.tenant_id, id.get()];
    let near = near(p, &mut a);
    let team: Option<Team> = tx
        .opt(&format!("SELECT {TEAM_COLS} FROM {TEAM_FROM} WHERE t.tenant_id = $1 AND t.id = $2 AND {near}"), a)
        .await?;
    let team = team.ok_or_else(|| FieldError::new("team_id", "not_found", redcell_domain::i18n::NOT_FOUND))?;
    let m = enrol(&mut tx, p.tenant_id, &team, member).await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "service_team_join", "service_team", Some(team.id), "")
        .await?;
    tx.commit().await?;
    Ok(m)
}

/// A member leaves a team they serve in.
pub async fn leave(db: &Db, p: &Principal, id: TeamId) -> Result<(), StoreError> {
    let member = me(db, p).await?;
    let mut tx = db.begin().await?;
    end_membership(&mut tx, p.tenant_id, id.get(), member).await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "service_team_leave", "service_team", Some(id.get()), "")
        .await?;
    tx.commit().await
}

/// The teams a member serves in now.
pub(crate) async fn member_teams(c: &mut impl Conn, tenant: i64, member: i64) -> Result<Vec<Team>, StoreError> {
    c.all(
        &format!(
            "SELECT {TEAM_COLS} FROM {TEAM_FROM} WHERE t.tenant_id = $1 AND t.closed_on IS NULL AND t.id IN \
             (SELECT team_id FROM service_team_members WHERE tenant_id = $1 AND member_id = $2 AND left_on IS NULL) \
             ORDER BY o.path, t.id"
        ),
        args![tenant, member],
    )
    .await
}

/// Open teams near the member that they are not in.
pub(crate) async fn open_teams(c: &mut impl Conn, p: &Principal, member: i64) -> Result<Vec<Team>, StoreError> {
    let mut a = args![p.tenant_id, member];
    let near = near(p, &mut a);
    c.all(
        &format!(
            "SELECT {TEAM_COLS} FROM {TEAM_FROM} WHERE t.tenant_id = $1 AND t.closed_on IS NULL AND {near} \
             AND NOT EXISTS (SELECT 1 FROM service_team_members x WHERE x.tenant_id = t.tenant_id AND x.team_id = t.id \
             AND x.member_id = $2 AND x.left_on IS NULL) ORDER BY o.path, t.id LIMIT 50"
        ),
        a,
    )
    .await
}

// ---- the yearly evaluation

/// A member's yearly evaluation: the draft from the record, and the
/// branch's grade and comment once reviewed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Evaluation {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub member_id: i64,
    pub member_name: String,
    pub year: i64,
    /// Confirmed minutes and spans when drafted.
    pub minutes: i64,
    pub spans: i64,
    pub draft: String,
    /// `draft` or `reviewed`.
    pub state: String,
    /// `excellent`, `good`, `pass` or `improve`, once reviewed.
    pub grade: Option<String>,
    pub comment: Option<String>,
    pub reviewed_by_name: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl Evaluation {
    pub fn state_label(&self) -> &'static str {
        EvaluationState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
    pub fn grade_label(&self) -> &'static str {
        self.grade.as_deref().and_then(Grade::from_code).map(|g| g.label()).unwrap_or("")
    }
    pub fn is_draft(&self) -> bool {
        self.state == EvaluationState::Draft.code()
    }
    pub fn length(&self) -> String {
        v::hours_label(self.minutes)
    }
}

/// An organisation's evaluations of a year (by organisation and name).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvaluationList {
    pub year: i32,
    pub evaluations: Vec<Evaluation>,
    /// Drafts still waiting for review.
    pub drafts: i64,
}

/// Drafting the evaluations of a year.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawDraft {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub year: Option<String>,
}

/// The branch's review of a draft.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = RawEvaluationReview)]
pub struct RawReview {
    /// `excellent`, `good`, `pass` or `improve`.
    pub grade: Option<String>,
    /// The branch's comment (optional).
    pub comment: Option<String>,
}

const EVAL_SELECT: &str = "SELECT e.id, e.org_id, o.name AS org_name, e.member_id, r.name AS member_name, e.year, \
    e.minutes, e.spans, e.draft, e.state, e.grade, e.comment, u.display_name AS reviewed_by_name, e.reviewed_at \
    FROM service_evaluations e JOIN orgs o ON o.tenant_id = e.tenant_id AND o.id = e.org_id \
    JOIN members m ON m.tenant_id = e.tenant_id AND m.id = e.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    LEFT JOIN users u ON u.id = e.reviewed_by";

fn check_year(year: i32) -> Result<i32, StoreError> {
    let year = redcell_domain::calendar::check_year("year", year)?;
    if year > today().year() {
        return Err(FieldError::new("year", "future", "不能评议还没到的年度").into());
    }
    Ok(year)
}

/// The evaluations of a year for the members of an organisation's subtree.
pub async fn evaluations(db: &Db, p: &Principal, org_id: OrgId, year: i32) -> Result<EvaluationList, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let year = check_year(year)?;
    let mut c = db.conn();
    let org = access.org(&mut c, org_id).await?;
    let mut a = args![i64::from(year)];
    let u = org.under("e", &mut a);
    let evaluations: Vec<Evaluation> =
        c.all(&format!("{EVAL_SELECT} WHERE e.year = $1 AND {u} ORDER BY o.path, r.name, e.id"), a).await?;
    let drafts = evaluations.iter().filter(|e| e.is_draft()).count() as i64;
    Ok(EvaluationList { year, evaluations, drafts })
}

/// The year's record of the members of a subtree who served: confirmed
/// hours, posts held and teams served in during the year, requests served.
async fn records(c: &mut impl Conn, org: &OrgRef, year: i32) -> Result<BTreeMap<i64, YearRecord>, StoreError> {
    let (from, to) = year_bounds(year);
    let mut out: BTreeMap<i64, YearRecord> = BTreeMap::new();
    let mut a = args![HoursState::Confirmed.code(), from, to];
    let u = org.under("m", &mut a);
    let hours: Vec<(i64, i64, i64, i64)> = c
        .all(
            &format!(
                "SELECT h.member_id, CAST(SUM(h.minutes) AS BIGINT), COUNT(*), COUNT(DISTINCT h.request_id) \
                 FROM service_hours h JOIN members m ON m.tenant_id = h.tenant_id AND m.id = h.member_id \
                 WHERE h.state = $1 AND h.work_date >= $2 AND h.work_date < $3 AND {u} GROUP BY h.member_id"
            ),
            a,
        )
        .await?;
    for (member, minutes, spans, requests) in hours {
        let r = out.entry(member).or_default();
        r.minutes = minutes;
        r.spans = spans;
        r.requests = requests;
    }
    let held = [
        // (holding table, its record table, the record's key and name, start and end columns)
        ("service_claims", "service_posts", "post_id", "title", "claimed_on", "ended_on"),
        ("service_team_members", "service_teams", "team_id", "name", "joined_on", "left_on"),
    ];
    for (i, (holders, table, key, name, start, end)) in held.into_iter().enumerate() {
        let mut a = args![from, to];
        let u = org.under("m", &mut a);
        let rows: Vec<(i64, String)> = c
            .all(
                &format!(
                    "SELECT DISTINCT h.member_id, x.{name} FROM {holders} h \
                     JOIN {table} x ON x.tenant_id = h.tenant_id AND x.id = h.{key} \
                     JOIN members m ON m.tenant_id = h.tenant_id AND m.id = h.member_id \
                     WHERE h.{start} < $2 AND (h.{end} IS NULL OR h.{end} >= $1) AND {u} ORDER BY h.member_id, x.{name}"
                ),
                a,
            )
            .await?;
        for (member, what) in rows {
            let r = out.entry(member).or_default();
            if i == 0 { r.posts.push(what) } else { r.teams.push(what) }
        }
    }
    Ok(out)
}

/// Draft (or redraft) the year's evaluations for the members of an
/// organisation's subtree who served: from the confirmed record only.
/// Reviewed evaluations stay as reviewed. Returns how many were written.
pub async fn draft(db: &Db, p: &Principal, raw: &RawDraft) -> Result<usize, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let org = e.check(redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, true)).flatten();
    let year = match raw.year.as_deref().map(str::trim).unwrap_or("") {
        "" => Some(today().year()),
        s => match s.parse::<i32>() {
            Ok(y) => e.check(check_year(y).map_err(|_| FieldError::new("year", "range", "年度应为 1949 年到今年之间"))),
            Err(_) => {
                e.push(FieldError::new("year", "format", "年度应为四位数字"));
                None
            }
        },
    };
    e.into_result()?;
    let (Some(org), Some(year)) = (org, year) else {
        return Err(StoreError::Internal("draft input".into()));
    };
    let mut tx = db.begin().await?;
    let org = access.org(&mut tx, org).await?;
    let records = records(&mut tx, &org, year).await?;
    let names: Vec<(i64, i64, String)> = {
        let mut a = args![];
        let u = org.under("m", &mut a);
        tx.all(
            &format!(
                "SELECT m.id, m.org_id, r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id \
                 AND r.id = m.resident_id WHERE {u}"
            ),
            a,
        )
        .await?
    };
    let existing: Vec<(i64, String)> = {
        let mut a = args![i64::from(year)];
        let u = org.under("m", &mut a);
        tx.all(
            &format!(
                "SELECT e.member_id, e.state FROM service_evaluations e JOIN members m ON m.tenant_id = e.tenant_id \
                 AND m.id = e.member_id WHERE e.year = $1 AND {u}"
            ),
            a,
        )
        .await?
    };
    let existing: BTreeMap<i64, String> = existing.into_iter().collect();
    let now = Utc::now();
    let mut written = 0;
    for (member, member_org, name) in names {
        let Some(record) = records.get(&member) else { continue };
        let text = v::evaluation_draft(year, &name, record);
        match existing.get(&member).map(String::as_str) {
            Some(s) if s == EvaluationState::Reviewed.code() => continue,
            Some(_) => {
                tx.exec(
                    "UPDATE service_evaluations SET org_id = $1, minutes = $2, spans = $3, draft = $4, drafted_by = $5, \
                     drafted_at = $6 WHERE tenant_id = $7 AND member_id = $8 AND year = $9",
                    args![
                        member_org,
                        record.minutes,
                        record.spans,
                        text,
                        p.user_id,
                        now,
                        org.tenant_id,
                        member,
                        i64::from(year)
                    ],
                )
                .await?;
            }
            None => {
                tx.exec(
                    "INSERT INTO service_evaluations (tenant_id, org_id, member_id, year, minutes, spans, draft, state, \
                     drafted_by, drafted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    args![
                        org.tenant_id,
                        member_org,
                        member,
                        i64::from(year),
                        record.minutes,
                        record.spans,
                        text,
                        EvaluationState::Draft.code(),
                        p.user_id,
                        now
                    ],
                )
                .await?;
            }
        }
        written += 1;
    }
    audit::record(
        &mut tx,
        org.tenant_id,
        Some(p.user_id),
        "service_evaluation_draft",
        "org",
        Some(org.id),
        &format!("{year}: {written}"),
    )
    .await?;
    tx.commit().await?;
    Ok(written)
}

/// Review a drafted evaluation: a grade and a comment, by staff who may edit
/// the member's organisation — never the member themselves, once.
pub async fn review(db: &Db, p: &Principal, id: EvaluationId, raw: &RawReview) -> Result<Evaluation, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let grade = match raw.grade.as_deref().map(str::trim).unwrap_or("") {
        "" => {
            e.push(FieldError::new("grade", "required", "请选择评议等次"));
            None
        }
        g => match Grade::from_code(g) {
            Some(g) => Some(g),
            None => {
                e.push(FieldError::new("grade", "invalid", "评议等次只能是优秀、良好、合格或需改进"));
                None
            }
        },
    };
    let comment = e.check(Text::parse("comment", raw.comment.as_deref().unwrap_or(""), 500));
    e.into_result()?;
    let (Some(grade), Some(comment)) = (grade, comment) else {
        return Err(StoreError::Internal("review input".into()));
    };
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before: Evaluation = tx
        .one(&format!("{EVAL_SELECT} WHERE e.tenant_id = $1 AND e.id = $2"), args![owner.tenant_id, id.get()])
        .await?;
    if crate::duties::member_of(db, p).await? == Some(before.member_id) {
        return Err(FieldError::new("grade", "own", "不能评议自己").into());
    }
    let n = tx
        .exec(
            "UPDATE service_evaluations SET state = $1, grade = $2, comment = $3, reviewed_by = $4, reviewed_at = $5 \
             WHERE tenant_id = $6 AND id = $7 AND state = $8",
            args![
                EvaluationState::Reviewed.code(),
                grade.code(),
                comment.into_option(),
                p.user_id,
                Utc::now(),
                owner.tenant_id,
                id.get(),
                EvaluationState::Draft.code()
            ],
        )
        .await?;
    if n == 0 {
        return Err(FieldError::new("grade", "reviewed", "这份评价已评议").into());
    }
    audit::record(
        &mut tx,
        owner.tenant_id,
        Some(p.user_id),
        "service_evaluation_review",
        "service_evaluation",
        Some(id.get()),
        grade.code(),
    )
    .await?;
    let out = tx
        .one(&format!("{EVAL_SELECT} WHERE e.tenant_id = $1 AND e.id = $2"), args![owner.tenant_id, id.get()])
        .await?;
    tx.commit().await?;
    Ok(out)
}

/// A member's reviewed evaluations, newest year first.
pub(crate) async fn member_evaluations(
    c: &mut impl Conn,
    tenant: i64,
    member: i64,
) -> Result<Vec<Evaluation>, StoreError> {
    c.all(
        &format!("{EVAL_SELECT} WHERE e.tenant_id = $1 AND e.member_id = $2 AND e.state = $3 ORDER BY e.year DESC"),
        args![tenant, member, EvaluationState::Reviewed.code()],
    )
    .await
}

/// Demo teams: a mediation team and an information team in the first
/// community, with members and a few confirmed hours.
pub async fn seed_demo(tx: &mut Tx, tenant: i64, by: i64, decider: i64, today: NaiveDate) -> Result<(), StoreError> {
    let communities: Vec<(i64,)> = tx
        .all(
            "SELECT id FROM orgs WHERE tenant_id = $1 AND kind = 'community_committee' ORDER BY path LIMIT 2",
            args![tenant],
        )
        .await?;
    for (k, (community,)) in communities.into_iter().enumerate() {
        seed_community(tx, tenant, community, k, by, decider, today).await?;
    }
    Ok(())
}

/// One community's demo teams (two in the first, one in the second), their
/// members and hours, and the year's evaluations drafted from them.
async fn seed_community(
    tx: &mut Tx,
    tenant: i64,
    community: i64,
    nth: usize,
    by: i64,
    decider: i64,
    today: NaiveDate,
) -> Result<(), StoreError> {
    let path: (String,) =
        tx.one("SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2", args![tenant, community]).await?;
    let members: Vec<(i64, i64)> = tx
        .all(
            "SELECT m.id, m.org_id FROM members m JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
             WHERE m.tenant_id = $1 AND o.path LIKE $2 ORDER BY m.id LIMIT 10",
            args![tenant, format!("{}%", path.0)],
        )
        .await?;
    let now = Utc::now();
    let teams = [
        (
            "矛盾调解服务队",
            "邻里纠纷调解；物业矛盾协调；家庭关系疏导",
            "每周二、周四下午 2:00–5:00，社区调解室",
            "接到求助 24 小时内联系当事人；调解情况如实登记；涉及个人隐私的内容不外传。",
        ),
        (
            "综合信息服务队",
            "楼栋信息采集更新；政策宣传；隐患排查上报",
            "每月第一个周六上午",
            "信息只用于社区服务；发现隐患当日上报网格员。",
        ),
        (
            "文艺活动服务队",
            "节日文艺演出；老年合唱队排练；广场舞教学",
            "每周三晚上 7:00–8:30，社区活动室",
            "活动前一天在楼栋群通知；不收取任何费用。",
        ),
    ];
    let teams: &[(&str, &str, &str, &str)] = if nth == 0 { &teams[..2] } else { &teams[2..] };
    for (i, (name, items, schedule, rules)) in teams.iter().enumerate() {
        let team = tx
            .int(
                "INSERT INTO service_teams (tenant_id, org_id, name, items, schedule, rules, created_by, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                args![tenant, community, *name, *items, *schedule, *rules, by, now],
            )
            .await?;
        for (k, (member, _)) in members.iter().enumerate().skip(i * 4).take(4) {
            let joined = today - chrono::Duration::days(200 - k as i64 * 10);
            tx.exec(
                "INSERT INTO service_team_members (tenant_id, org_id, team_id, member_id, joined_on, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                args![tenant, community, team, *member, joined, now],
            )
            .await?;
            // Two confirmed afternoons and one waiting, spread over the months.
            for (j, state) in [HoursState::Confirmed, HoursState::Confirmed, HoursState::Pending].iter().enumerate() {
                let day = today - chrono::Duration::days(15 + (j as i64) * 40 + k as i64);
                if day <= joined {
                    continue;
                }
                let decided = *state == HoursState::Confirmed;
                tx.exec(
                    "INSERT INTO service_hours (tenant_id, org_id, member_id, team_id, work_date, start_min, end_min, \
                     minutes, note, state, decided_by, decided_at, decision_note, decided_via, logged_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 840, 990, 150, $6, $7, $8, $9, NULL, $10, $11, $12)",
                    args![
                        tenant,
                        community,
                        *member,
                        team,
                        day,
                        "演示数据",
                        state.code(),
                        decided.then_some(decider),
                        decided.then_some(now),
                        decided.then(|| "staff".to_string()),
                        by,
                        now
                    ],
                )
                .await?;
            }
        }
    }
    // A wish of the community with a member invited to take it: waiting for
    // the answer on a published wish, declined on one taken since.
    let wish: Option<(i64, i64, String)> = tx
        .opt(
            "SELECT r.id, r.org_id, r.wish_stage FROM requests r JOIN orgs o ON o.tenant_id = r.tenant_id \
             AND o.id = r.org_id WHERE r.tenant_id = $1 AND r.wish_stage IS NOT NULL AND r.wish_stage <> 'unverified' \
             AND o.path LIKE $2 ORDER BY CASE WHEN r.wish_stage = 'published' THEN 0 ELSE 1 END, r.id LIMIT 1",
            args![tenant, format!("{}%", path.0)],
        )
        .await?;
    if let (Some((wish, wish_org, stage)), Some((member, _))) = (wish, members.last()) {
        let open = stage == "published";
        tx.exec(
            "INSERT INTO wish_invitations (tenant_id, org_id, request_id, member_id, state, invited_by, answered_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                tenant,
                wish_org,
                wish,
                *member,
                if open { "pending" } else { "declined" },
                by,
                (!open).then_some(now),
                now
            ],
        )
        .await?;
    }
    // The year's evaluations drafted from that record.
    let Some(org) = OrgRef::of_tenant(tx, tenant, community).await? else { return Ok(()) };
    let year = today.year();
    let records = records(tx, &org, year).await?;
    let total = records.len();
    for (k, (member, record)) in records.iter().enumerate() {
        let (member_org, name): (i64, String) = tx
            .one(
                "SELECT m.org_id, r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id \
                 AND r.id = m.resident_id WHERE m.tenant_id = $1 AND m.id = $2",
                args![tenant, *member],
            )
            .await?;
        // One reviewed (the last member, away from the demo accounts of the
        // first branches); the rest left as drafts to review.
        let reviewed = k + 1 == total;
        tx.exec(
            "INSERT INTO service_evaluations (tenant_id, org_id, member_id, year, minutes, spans, draft, state, grade, \
             comment, drafted_by, drafted_at, reviewed_by, reviewed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            args![
                tenant,
                member_org,
                *member,
                i64::from(year),
                record.minutes,
                record.spans,
                v::evaluation_draft(year, &name, record),
                if reviewed { EvaluationState::Reviewed.code() } else { EvaluationState::Draft.code() },
                reviewed.then(|| Grade::Good.code().to_string()),
                reviewed.then(|| "按时到岗，群众反映好。".to_string()),
                by,
                now,
                reviewed.then_some(decider),
                reviewed.then_some(now)
            ],
        )
        .await?;
    }
    Ok(())
}
