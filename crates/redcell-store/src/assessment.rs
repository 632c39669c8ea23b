//! Assessment (考评) of organisations against versioned rubrics.
//!
//! A rubric is TOML text kept in `rubric_versions` (a change is a new
//! version with an effective date, never an edit); an assessment pins the
//! version in effect when it was opened. Measured items are computed from
//! the records (each figure with the records behind it); the rest are scored
//! by named assessors: the assessed organisation scores itself
//! (`Stage::SelfAssessed`, by an assessor whose grant sits on that
//! organisation), the level above reviews (`Stage::Review`, a grant on an
//! ancestor), publishes for objections (measures frozen then) and makes the
//! result final. Every step is audited and kept in `assessment_steps`.

use crate::args;
use crate::audit;
use crate::db::{Conn, Db, Tx};
use crate::error::StoreError;
use crate::scope::{self, Owned, Principal};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use redcell_domain::assessment::{
    self as a, AssessmentId, AssessmentState, Figure, Item, Outcome, Period, PointSource, Rubric, Stage, StepKind,
    Tenths,
};
use redcell_domain::input::opt_text;
use redcell_domain::text::Text;
use redcell_domain::{Capability, CodeEnum, FieldError, Invalid, OrgId, OrgPath};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub mod commend;
pub mod stars;
pub mod warnings;

impl Owned for AssessmentId {
    const TABLE: &'static str = "assessments";
}

const CAP: Capability = Capability::Assess;
const READ: Capability = Capability::ReadRegistry;

/// The code of the rubric shipped with redcell.
pub const SIX_IN_ONE: &str = "six-in-one";

fn today() -> NaiveDate {
    crate::coverage::today()
}

// ---- rubrics

/// One version of a rubric (its text is public to those assessed).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RubricVersion {
    pub id: i64,
    pub rubric_id: i64,
    pub code: String,
    pub name: String,
    pub version: i64,
    pub effective_from: NaiveDate,
    pub note: Option<String>,
    pub created_by_name: String,
    pub created_at: DateTime<Utc>,
    /// The rubric's TOML text.
    pub body: String,
}

/// A rubric version read: its text and what it says.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AssessmentRubric)]
pub struct RubricView {
    pub version: RubricVersion,
    #[schema(value_type = Object)]
    pub rubric: Rubric,
    /// Every version of the same rubric, newest first.
    pub versions: Vec<VersionLine>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VersionLine {
    pub id: i64,
    pub version: i64,
    pub effective_from: NaiveDate,
    pub note: Option<String>,
}

/// A new version of a rubric (a new rubric when the code is new).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawVersion {
    /// The rubric's code (letters, digits, `-`); default: the shipped six-in-one rubric.
    pub code: Option<String>,
    /// The rubric as TOML (see the shipped example).
    pub body: Option<String>,
    /// `YYYY-MM-DD`, today or later: assessments opened before keep their version.
    pub effective_from: Option<String>,
    /// Why the rubric changed.
    pub note: Option<String>,
}

const VERSION_SELECT: &str = "SELECT v.id, v.rubric_id, r.code, r.name, v.version, v.effective_from, v.note, \
    COALESCE(u.display_name, '系统') AS created_by_name, v.created_at, v.body \
    FROM rubric_versions v JOIN rubrics r ON r.tenant_id = v.tenant_id AND r.id = v.rubric_id \
    LEFT JOIN users u ON u.id = v.created_by";

/// Every rubric's versions (newest first within a rubric).
pub async fn rubrics(db: &Db, p: &Principal) -> Result<Vec<RubricVersion>, StoreError> {
    if !p.holds(READ) && !p.holds(CAP) {
        return Err(StoreError::Forbidden);
    }
    // A tenant starts with the shipped rubric (written once, the first time anyone looks).
    ensure_seeded(db, p.tenant_id).await?;
    db.all(&format!("{VERSION_SELECT} WHERE v.tenant_id = $1 ORDER BY r.code, v.version DESC"), args![p.tenant_id])
        .await
}

async fn version_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<RubricVersion, StoreError> {
    c.opt(&format!("{VERSION_SELECT} WHERE v.tenant_id = $1 AND v.id = $2"), args![tenant, id])
        .await?
        .ok_or(StoreError::NotFound)
}

fn parse_body(v: &RubricVersion) -> Result<Rubric, StoreError> {
    Rubric::parse(&v.body).map_err(|e| StoreError::Internal(format!("stored rubric {} does not parse: {e:?}", v.id)))
}

/// A rubric version with its rules and the other versions.
pub async fn rubric(db: &Db, p: &Principal, id: i64) -> Result<RubricView, StoreError> {
    if !p.holds(READ) && !p.holds(CAP) {
        return Err(StoreError::Forbidden);
    }
    let mut c = db.conn();
    let version = version_row(&mut c, p.tenant_id, id).await?;
    let rubric = parse_body(&version)?;
    let versions = c
        .all(
            "SELECT id, version, effective_from, note FROM rubric_versions WHERE tenant_id = $1 AND rubric_id = $2 \
             ORDER BY version DESC",
            args![p.tenant_id, version.rubric_id],
        )
        .await?;
    Ok(RubricView { version, rubric, versions })
}

/// Write a rubric version (the one writer; also used to seed the shipped rubric).
#[allow(clippy::too_many_arguments)]
async fn put_version(
    tx: &mut Tx,
    tenant: i64,
    code: &str,
    rubric: &Rubric,
    body: &str,
    effective_from: NaiveDate,
    note: Option<String>,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    let now = Utc::now();
    let existing: Option<(i64,)> =
        tx.opt("SELECT id FROM rubrics WHERE tenant_id = $1 AND code = $2", args![tenant, code.to_string()]).await?;
    let rubric_id = match existing {
        Some((id,)) => {
            tx.exec(
                "UPDATE rubrics SET name = $1 WHERE tenant_id = $2 AND id = $3",
                args![rubric.name.clone(), tenant, id],
            )
            .await?;
            id
        }
        None => {
            tx.int(
                "INSERT INTO rubrics (tenant_id, code, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                args![tenant, code.to_string(), rubric.name.clone(), now],
            )
            .await?
        }
    };
    let version = tx
        .int(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM rubric_versions WHERE tenant_id = $1 AND rubric_id = $2",
            args![tenant, rubric_id],
        )
        .await?;
    tx.int(
        "INSERT INTO rubric_versions (tenant_id, rubric_id, version, effective_from, body, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![tenant, rubric_id, version, effective_from, body.to_string(), note, by, now],
    )
    .await
}

/// The shipped rubrics (the six-in-one rubric and the five-star indicator
/// set), in effect from the start, for a tenant that lacks them.
pub async fn ensure_seeded(db: &Db, tenant: i64) -> Result<(), StoreError> {
    let shipped = [(SIX_IN_ONE, a::SIX_IN_ONE), (stars::FIVE_STAR, a::FIVE_STAR)];
    let n = db
        .int(
            "SELECT COUNT(*) FROM rubrics WHERE tenant_id = $1 AND code IN ($2, $3)",
            args![tenant, SIX_IN_ONE, stars::FIVE_STAR],
        )
        .await?;
    if n as usize >= shipped.len() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (code, text) in shipped {
        let have =
            tx.int("SELECT COUNT(*) FROM rubrics WHERE tenant_id = $1 AND code = $2", args![tenant, code]).await?;
        if have > 0 {
            continue;
        }
        let rubric = Rubric::parse(text).map_err(|e| StoreError::Internal(format!("shipped rubric {code}: {e:?}")))?;
        let from = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        put_version(&mut tx, tenant, code, &rubric, text, from, Some("随系统提供的示例".into()), None).await?;
    }
    tx.commit().await
}

/// Add a version of a rubric (at the tenant's root, by an assessor there).
/// A change dated in the past is refused: scores already computed under the
/// earlier version stay as they were.
pub async fn add_version(db: &Db, p: &Principal, raw: &RawVersion) -> Result<RubricVersion, StoreError> {
    p.access(CAP)?;
    if !may_change_rubrics(db, p).await? {
        return Err(StoreError::Forbidden);
    }
    let today = today();
    let mut e = Invalid::default();
    let code = raw.code.as_deref().unwrap_or(SIX_IN_ONE).trim().to_string();
    if code.is_empty() || code.len() > 40 || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        e.push(FieldError::new("code", "format", "细则编码只能用字母、数字和 -，最长 40 个字符"));
    }
    let from = e.check(redcell_domain::text::parse_date("effective_from", raw.effective_from.as_deref().unwrap_or("")));
    let from = match from.flatten() {
        Some(d) if d < today => {
            e.push(FieldError::new(
                "effective_from",
                "past",
                "生效日期不能早于今天：已按旧版本计算的得分保持不变，新版本只能从今天或以后生效",
            ));
            None
        }
        Some(d) => Some(d),
        None if from.is_some() => Some(today),
        None => None,
    };
    let note = e.check(opt_text("note", &raw.note, 200)).flatten();
    let body = raw.body.as_deref().unwrap_or("");
    let rubric = match Rubric::parse(body) {
        Ok(r) => Some(r),
        Err(inv) => {
            for x in inv.0 {
                e.push(x);
            }
            None
        }
    };
    e.into_result()?;
    let (Some(rubric), Some(from)) = (rubric, from) else { return Err(StoreError::Internal("rubric".into())) };
    let mut tx = db.begin().await?;
    let id = put_version(&mut tx, p.tenant_id, &code, &rubric, body, from, note, Some(p.user_id)).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "rubric_version",
        "rubric_versions",
        p.tenant_id,
        id,
        None,
    )
    .await?;
    let v = version_row(&mut tx, p.tenant_id, id).await?;
    tx.commit().await?;
    Ok(v)
}

// ---- assessments

/// An assessment, as listed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Assessment {
    pub id: i64,
    #[serde(skip)]
    pub tenant: i64,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub rubric_id: i64,
    pub rubric_name: String,
    pub version_id: i64,
    pub version: i64,
    /// `2026H2`.
    pub period: String,
    #[schema(value_type = AssessmentState)]
    pub state: String,
    /// Objections are accepted until this day (while published).
    pub objections_until: Option<NaiveDate>,
    /// Residents' satisfaction from a survey (thousandths), used for a star rating where no revisits measure it.
    pub survey_permille: Option<i64>,
    /// How the survey was made (who, how many households).
    pub survey_note: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// The total once published (then it no longer moves with the records).
    #[sqlx(skip)]
    pub total: Option<String>,
    #[sqlx(skip)]
    pub of: Option<u32>,
}

impl Assessment {
    pub fn state_label(&self) -> &'static str {
        AssessmentState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
    pub fn period_label(&self) -> String {
        Period::parse("period", &self.period).map(|p| p.label()).unwrap_or_else(|_| self.period.clone())
    }
    fn state(&self) -> Result<AssessmentState, StoreError> {
        scope::stored("assessment state", &self.state)
    }
    fn path(&self) -> Result<OrgPath, StoreError> {
        Ok(OrgPath::parse(&self.org_path)?)
    }
}

const SELECT: &str = "SELECT x.id, x.tenant_id AS tenant, x.org_id, o.name AS org_name, o.path AS org_path, x.rubric_id, r.name AS rubric_name, \
    x.version_id, v.version, x.period, x.state, x.objections_until, x.survey_permille, x.survey_note, x.updated_at \
    FROM assessments x JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.org_id \
    JOIN rubrics r ON r.tenant_id = x.tenant_id AND r.id = x.rubric_id \
    JOIN rubric_versions v ON v.tenant_id = x.tenant_id AND v.id = x.version_id";

async fn row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Assessment, StoreError> {
    c.one(&format!("{SELECT} WHERE x.tenant_id = $1 AND x.id = $2"), args![tenant, id]).await
}

/// Where the caller stands towards an organisation's assessment: on the
/// organisation itself (self-assessment) and/or above it (review).
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
#[schema(as = AssessorStanding)]
pub struct Standing {
    /// Holds the assessing right on the organisation itself.
    pub own: bool,
    /// Holds it on an organisation above.
    pub above: bool,
}

pub fn standing(p: &Principal, path: &OrgPath) -> Standing {
    let mut s = Standing::default();
    for g in p.grants.iter().filter(|g| g.role.can(CAP)) {
        if g.path == *path {
            s.own = true;
        } else if g.path.contains(path) {
            s.above = true;
        }
    }
    s
}

/// The assessments of an organisation's subtree for a period (default: the current half-year).
pub async fn list(db: &Db, p: &Principal, org_id: OrgId, period: Option<&str>) -> Result<Vec<Assessment>, StoreError> {
    let access = p.access(READ)?;
    let org = access.org(&mut db.conn(), org_id).await?;
    let period = match period {
        Some(s) if !s.trim().is_empty() => Period::parse("period", s)?,
        _ => Period::of(today()),
    };
    let mut a = args![period.code()];
    let u = org.under("x", &mut a);
    let mut rows: Vec<Assessment> = db.all(&format!("{SELECT} WHERE x.period = $1 AND {u} ORDER BY o.path"), a).await?;
    // Published and final results are read from what was frozen (cheap);
    // open ones would be computed item by item, so the list leaves them out.
    for x in rows.iter_mut().filter(|x| x.state == "published" || x.state == "final") {
        let v = current(db, p, AssessmentId::new(x.id)).await?;
        x.total = Some(v.total);
        x.of = Some(v.of);
    }
    Ok(rows)
}

/// Organisations under `org_id` the caller may open an assessment of for
/// `period` (in their assessing scope, not the top, not yet under every rubric): (id, name).
pub async fn openable(db: &Db, p: &Principal, org_id: OrgId, period: Period) -> Result<Vec<(i64, String)>, StoreError> {
    if !p.holds(CAP) {
        return Ok(vec![]);
    }
    let org = p.access(READ)?.org(&mut db.conn(), org_id).await?;
    let mut a = args![period.code()];
    let u = org.orgs_under("o", &mut a);
    let mine = p.scope(CAP).orgs("o", &mut a);
    db.all(
        &format!(
            "SELECT o.id, o.name FROM orgs o WHERE {u} AND {mine} AND o.parent_id IS NOT NULL \
             AND o.kind NOT IN ('party_group') \
             AND (SELECT COUNT(*) FROM assessments x WHERE x.tenant_id = o.tenant_id AND x.org_id = o.id AND x.period = $1) \
                 < (SELECT COUNT(*) FROM rubrics r WHERE r.tenant_id = o.tenant_id) \
             ORDER BY o.path LIMIT 300"
        ),
        a,
    )
    .await
}

/// May the caller add rubric versions (an assessor at the tenant's root)?
pub async fn may_change_rubrics(db: &Db, p: &Principal) -> Result<bool, StoreError> {
    let (root,): (String,) = db
        .one("SELECT path FROM orgs WHERE tenant_id = $1 AND parent_id IS NULL ORDER BY id LIMIT 1", args![p.tenant_id])
        .await?;
    Ok(p.holds_at(CAP, &OrgPath::parse(&root)?))
}

/// Open an assessment of an organisation for a half-year under the rubric
/// version in effect today (by an assessor on it or above it).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawOpen {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    /// `2026H2`; default: the current half-year.
    pub period: Option<String>,
    /// The rubric's code; default: the shipped six-in-one rubric.
    pub rubric: Option<String>,
}

pub async fn open(db: &Db, p: &Principal, raw: &RawOpen) -> Result<Assessment, StoreError> {
    let access = p.access(CAP)?;
    let today = today();
    let mut e = Invalid::default();
    let org_id = e.check(redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, true)).flatten();
    let period = match raw.period.as_deref() {
        Some(s) if !s.trim().is_empty() => e.check(Period::parse("period", s)),
        _ => Some(Period::of(today)),
    };
    if let Some(pd) = period
        && pd.start() > today
    {
        e.push(FieldError::new("period", "future", "考评期尚未开始"));
    }
    e.into_result()?;
    let (Some(org_id), Some(period)) = (org_id, period) else { return Err(StoreError::Internal("open".into())) };
    let code = raw.rubric.as_deref().unwrap_or(SIX_IN_ONE).trim().to_string();
    ensure_seeded(db, p.tenant_id).await?;
    let mut tx = db.begin().await?;
    let org = access.org_ref(&mut tx, org_id, "org_id").await?;
    if org.path.depth() <= 1 {
        return Err(FieldError::new("org_id", "root", "最上级组织没有上级审核，不能在本系统内考评").into());
    }
    let version: Option<(i64, i64)> = tx
        .opt(
            "SELECT v.id, v.rubric_id FROM rubric_versions v JOIN rubrics r ON r.tenant_id = v.tenant_id AND r.id = v.rubric_id \
             WHERE v.tenant_id = $1 AND r.code = $2 AND v.effective_from <= $3 ORDER BY v.effective_from DESC, v.version DESC LIMIT 1",
            args![p.tenant_id, code.clone(), today],
        )
        .await?;
    let Some((version_id, rubric_id)) = version else {
        return Err(FieldError::new("rubric", "not_found", format!("没有已生效的考评细则：{code}")).into());
    };
    let dup = tx
        .int(
            "SELECT COUNT(*) FROM assessments WHERE tenant_id = $1 AND org_id = $2 AND rubric_id = $3 AND period = $4",
            args![p.tenant_id, org_id, rubric_id, period.code()],
        )
        .await?;
    if dup > 0 {
        return Err(FieldError::new("period", "duplicate", format!("{}已有这项考评", period.label())).into());
    }
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO assessments (tenant_id, org_id, rubric_id, version_id, period, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            args![p.tenant_id, org_id, rubric_id, version_id, period.code(), AssessmentState::Open.code(), now],
        )
        .await?;
    step(&mut tx, p.tenant_id, id, StepKind::Opened, None, p.user_id, &p.display_name).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "assessment",
        "assessments",
        p.tenant_id,
        id,
        None,
    )
    .await?;
    let x = row(&mut tx, p.tenant_id, id).await?;
    tx.commit().await?;
    Ok(x)
}

async fn step(
    tx: &mut Tx,
    tenant: i64,
    id: i64,
    kind: StepKind,
    note: Option<String>,
    by: i64,
    by_name: &str,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO assessment_steps (tenant_id, assessment_id, kind, note, by_user, by_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![tenant, id, kind.code(), note, by, by_name.to_string(), Utc::now()],
    )
    .await?;
    Ok(())
}

// ---- figures from the records

/// A record behind a figure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = AssessmentEvidence)]
pub struct Evidence {
    /// `member`, `request`, `meeting`, `activity`, `brand` or `duty`.
    pub kind: String,
    pub id: i64,
    pub label: String,
    pub on: Option<NaiveDate>,
    /// What this record adds ("大专", "满意", "未按期").
    pub note: String,
}

/// A figure's value for an organisation and period, with its records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct FigureValue {
    #[schema(value_type = String)]
    pub figure: Figure,
    /// `None`: no data (shown as missing, never as 0).
    pub value: Option<f64>,
    /// How the value was reached, in words ("12 人中 9 人").
    pub basis: String,
    pub evidence: Vec<Evidence>,
}

impl FigureValue {
    pub fn shown(&self) -> String {
        self.value.map(|v| self.figure.show(v)).unwrap_or_else(|| "缺数据".into())
    }
}

fn share(figure: Figure, of: &[(i64, String, Option<bool>, String)], what: &str) -> FigureValue {
    // (member id, name, qualifies (None: not recorded), note)
    let evidence: Vec<Evidence> = of
        .iter()
        .map(|(id, name, _, note)| Evidence {
            kind: "member".into(),
            id: *id,
            label: name.clone(),
            on: None,
            note: note.clone(),
        })
        .collect();
    let unknown = of.iter().filter(|x| x.2.is_none()).count();
    let yes = of.iter().filter(|x| x.2 == Some(true)).count();
    if of.is_empty() {
        return FigureValue { figure, value: None, basis: format!("没有登记{what}"), evidence };
    }
    if unknown > 0 {
        return FigureValue {
            figure, value: None, basis: format!("{} 人中 {unknown} 人未登记", of.len()), evidence
        };
    }
    FigureValue {
        figure,
        value: Some(yes as f64 / of.len() as f64),
        basis: format!("{} 人中 {yes} 人", of.len()),
        evidence,
    }
}

#[derive(sqlx::FromRow)]
struct Officer {
    id: i64,
    name: String,
    party_post: Option<String>,
    education: Option<String>,
    social_worker_cert: bool,
    cross_appointed: bool,
    training_year: Option<i64>,
    training_days: Option<i64>,
}

/// Compute the figures `want` for the subtree at `path` over `period`, as of `today`.
#[allow(clippy::too_many_arguments)]
pub async fn figures(
    db: &Db,
    p: &Principal,
    tenant: i64,
    org_id: i64,
    path: &OrgPath,
    period: Period,
    today: NaiveDate,
    want: &[Figure],
) -> Result<HashMap<Figure, FigureValue>, StoreError> {
    let mut out = HashMap::new();
    let c = db.conn();
    let end = period.end().min(today);
    let year_from = period.year_start();
    let mut officers: Option<Vec<Officer>> = None;
    for &f in want {
        let v = match f {
            Figure::SecretaryDegree
            | Figure::SecretaryCertificate
            | Figure::CommitteeCrossAppointed
            | Figure::CadreTrainingDays => {
                if officers.is_none() {
                    let mut a = args![];
                    let u = scope::rows_under_path("m", tenant, path, &mut a);
                    officers = Some(
                        c.all(
                            &format!(
                                "SELECT m.id, r.name, m.party_post, m.education, m.social_worker_cert, m.cross_appointed, \
                                 m.training_year, m.training_days FROM members m \
                                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                                 WHERE {u} AND (m.party_post IS NOT NULL OR m.party_role IN ('branch_committee', 'general_committee')) \
                                 ORDER BY m.id"
                            ),
                            a,
                        )
                        .await?,
                    );
                }
                let os = officers.as_deref().unwrap_or(&[]);
                let secretaries: Vec<&Officer> =
                    os.iter().filter(|o| o.party_post.as_deref() == Some("secretary")).collect();
                match f {
                    Figure::SecretaryDegree => {
                        let rows: Vec<_> = secretaries
                            .iter()
                            .map(|o| {
                                let ed =
                                    o.education.as_deref().and_then(redcell_domain::registry::Education::from_code);
                                (
                                    o.id,
                                    o.name.clone(),
                                    ed.map(|e| e.college_or_above()),
                                    ed.map(|e| e.label()).unwrap_or("学历未登记").to_string(),
                                )
                            })
                            .collect();
                        share(f, &rows, "书记")
                    }
                    Figure::SecretaryCertificate => {
                        let rows: Vec<_> = secretaries
                            .iter()
                            .map(|o| {
                                (
                                    o.id,
                                    o.name.clone(),
                                    Some(o.social_worker_cert),
                                    if o.social_worker_cert { "持证" } else { "未持证" }.to_string(),
                                )
                            })
                            .collect();
                        share(f, &rows, "书记")
                    }
                    Figure::CommitteeCrossAppointed => {
                        let rows: Vec<_> = os
                            .iter()
                            .map(|o| {
                                (
                                    o.id,
                                    o.name.clone(),
                                    Some(o.cross_appointed),
                                    if o.cross_appointed { "交叉任职" } else { "未交叉任职" }.to_string(),
                                )
                            })
                            .collect();
                        share(f, &rows, "两委成员")
                    }
                    _ => {
                        let y = period.year as i64;
                        let evidence: Vec<Evidence> = os
                            .iter()
                            .map(|o| Evidence {
                                kind: "member".into(),
                                id: o.id,
                                label: o.name.clone(),
                                on: None,
                                note: match (o.training_year, o.training_days) {
                                    (Some(ty), Some(d)) if ty == y => format!("{d} 天"),
                                    _ => "本年度未登记".into(),
                                },
                            })
                            .collect();
                        let days: Vec<Option<i64>> = os
                            .iter()
                            .map(|o| if o.training_year == Some(y) { o.training_days } else { None })
                            .collect();
                        if os.is_empty() {
                            FigureValue { figure: f, value: None, basis: "没有登记社区干部".into(), evidence }
                        } else if days.iter().any(|d| d.is_none()) {
                            let n = days.iter().filter(|d| d.is_none()).count();
                            FigureValue {
                                figure: f,
                                value: None,
                                basis: format!("{} 人中 {n} 人本年度培训天数未登记", os.len()),
                                evidence,
                            }
                        } else {
                            let min = days.iter().flatten().min().copied().unwrap_or(0);
                            FigureValue {
                                figure: f,
                                value: Some(min as f64),
                                basis: format!("{} 人，最少 {min} 天", os.len()),
                                evidence,
                            }
                        }
                    }
                }
            }
            Figure::Satisfaction => {
                let mut a = args![year_from, end];
                let u = scope::rows_under_path("r", tenant, path, &mut a);
                let rows: Vec<(i64, String, NaiveDate, String)> = c
                    .all(
                        &format!(
                            "SELECT r.id, r.code, r.received_on, r.satisfaction FROM requests r WHERE {u} \
                             AND r.satisfaction IS NOT NULL AND r.received_on >= $1 AND r.received_on <= $2 ORDER BY r.received_on, r.id"
                        ),
                        a,
                    )
                    .await?;
                let good = rows.iter().filter(|r| r.3 == "satisfied" || r.3 == "basically").count();
                let evidence = rows
                    .iter()
                    .map(|(id, code, on, s)| Evidence {
                        kind: "request".into(),
                        id: *id,
                        label: code.clone(),
                        on: Some(*on),
                        note: redcell_domain::requests::Satisfaction::from_code(s)
                            .map(|x| x.label())
                            .unwrap_or("")
                            .into(),
                    })
                    .collect();
                if rows.is_empty() {
                    FigureValue { figure: f, value: None, basis: "本年度没有回访评价".into(), evidence }
                } else {
                    FigureValue {
                        figure: f,
                        value: Some(good as f64 / rows.len() as f64),
                        basis: format!("回访 {} 件，满意和基本满意 {good} 件", rows.len()),
                        evidence,
                    }
                }
            }
            Figure::Brands => {
                let mut a = args![end];
                let u = scope::rows_under_path("b", tenant, path, &mut a);
                let rows: Vec<(i64, String, NaiveDate)> = c
                    .all(&format!("SELECT b.id, b.name, b.since FROM party_brands b WHERE {u} AND b.since <= $1 ORDER BY b.since"), a)
                    .await?;
                FigureValue {
                    figure: f,
                    value: Some(rows.len() as f64),
                    basis: format!("登记品牌 {} 个", rows.len()),
                    evidence: rows
                        .into_iter()
                        .map(|(id, name, since)| Evidence {
                            kind: "brand".into(),
                            id,
                            label: name,
                            on: Some(since),
                            note: String::new(),
                        })
                        .collect(),
                }
            }
            Figure::Participation => {
                let mut a = args![];
                let u = scope::rows_under_path("m", tenant, path, &mut a);
                let members = c.int(&format!("SELECT COUNT(*) FROM members m WHERE {u}"), a).await?;
                let mut a = args![year_from, end];
                let u = scope::rows_under_path("m", tenant, path, &mut a);
                let took: Vec<(i64, String, NaiveDate)> = c
                    .all(
                        &format!(
                            "SELECT m.id, r.name, MIN(x.d) FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                             JOIN (SELECT p.tenant_id, p.person_id AS member_id, ac.held_on AS d FROM duty_people p \
                                   JOIN duty_activities ac ON ac.tenant_id = p.tenant_id AND ac.id = p.record_id \
                                   WHERE p.record_kind = 'activity' AND p.person_kind = 'member' AND p.presence = 'present' \
                                   AND ac.held_on >= $1 AND ac.held_on <= $2 \
                                   UNION ALL SELECT h.tenant_id, h.member_id, h.work_date FROM service_hours h \
                                   WHERE h.state = 'confirmed' AND h.work_date >= $1 AND h.work_date <= $2) x \
                               ON x.tenant_id = m.tenant_id AND x.member_id = m.id \
                             WHERE {u} GROUP BY m.id, r.name ORDER BY m.id"
                        ),
                        a,
                    )
                    .await?;
                let evidence = took
                    .iter()
                    .map(|(id, name, d)| Evidence {
                        kind: "member".into(),
                        id: *id,
                        label: name.clone(),
                        on: Some(*d),
                        note: "参与活动或志愿服务".into(),
                    })
                    .collect();
                if members == 0 {
                    FigureValue { figure: f, value: None, basis: "没有党员".into(), evidence }
                } else {
                    FigureValue {
                        figure: f,
                        value: Some(took.len() as f64 / members as f64),
                        basis: format!("党员 {members} 人，本年度参与 {} 人", took.len()),
                        evidence,
                    }
                }
            }
            Figure::ServiceGap => {
                let mut a = args![year_from, end];
                let u = scope::rows_under_path("ac", tenant, path, &mut a);
                let rows: Vec<(i64, String, NaiveDate)> = c
                    .all(
                        &format!(
                            "SELECT ac.id, ac.title, ac.held_on FROM duty_activities ac WHERE {u} AND ac.kind = 'service' \
                             AND ac.held_on >= $1 AND ac.held_on <= $2 ORDER BY ac.held_on, ac.id"
                        ),
                        a,
                    )
                    .await?;
                let mut last = year_from;
                let mut gap = 0i64;
                for r in &rows {
                    gap = gap.max((r.2 - last).num_days());
                    last = r.2;
                }
                gap = gap.max((end - last).num_days());
                FigureValue {
                    figure: f,
                    value: Some(gap as f64),
                    basis: format!("{year_from} 至 {end} 集中服务 {} 次，最长间隔 {gap} 天", rows.len()),
                    evidence: rows
                        .into_iter()
                        .map(|(id, t, d)| Evidence {
                            kind: "activity".into(),
                            id,
                            label: t,
                            on: Some(d),
                            note: String::new(),
                        })
                        .collect(),
                }
            }
            Figure::JointCommitteeMeetings => {
                let mut a = args![year_from, end];
                let u = scope::rows_under_path("mt", tenant, path, &mut a);
                let rows: Vec<(i64, String, NaiveDate)> = c
                    .all(
                        &format!(
                            "SELECT mt.id, mt.topic, mt.held_on FROM duty_meetings mt WHERE {u} AND mt.kind = 'joint_committee' \
                             AND mt.held_on >= $1 AND mt.held_on <= $2 ORDER BY mt.held_on, mt.id"
                        ),
                        a,
                    )
                    .await?;
                FigureValue {
                    figure: f,
                    value: Some(rows.len() as f64),
                    basis: format!("{year_from} 至 {end} 召开 {} 次", rows.len()),
                    evidence: rows
                        .into_iter()
                        .map(|(id, t, d)| Evidence {
                            kind: "meeting".into(),
                            id,
                            label: t,
                            on: Some(d),
                            note: String::new(),
                        })
                        .collect(),
                }
            }
            Figure::OrgLifeCompliance => org_life(db, p, tenant, org_id, period, end).await?,
        };
        out.insert(f, v);
    }
    Ok(out)
}

/// Organisational-life duties (rules asking for meetings of organisational
/// life) done on time among those due in the period.
async fn org_life(
    db: &Db,
    p: &Principal,
    tenant: i64,
    org_id: i64,
    period: Period,
    end: NaiveDate,
) -> Result<FigureValue, StoreError> {
    use redcell_domain::duties::{MeetingKind, RecordKind, Status, What};
    let f = Figure::OrgLifeCompliance;
    let rules = crate::duties::rules::active(db, tenant).await?;
    let life = |m: &redcell_domain::duties::Matcher| {
        m.kind == RecordKind::Meeting
            && !m.subs.is_empty()
            && m.subs.iter().all(|s| MeetingKind::from_code(s).is_some_and(|k| k.is_org_life()))
    };
    let codes: Vec<String> = rules
        .iter()
        .filter(|r| match &r.what {
            What::One(m) => life(m),
            What::AllOf(ms) => !ms.is_empty() && ms.iter().all(life),
            What::EachOf { .. } => false,
        })
        .map(|r| r.code.clone())
        .collect();
    let comp = crate::duties::compliance(db, p, org_id, end).await?;
    let mut done = 0usize;
    let mut closed = 0usize;
    let mut evidence = Vec::new();
    for l in comp.lines.iter().filter(|l| codes.contains(&l.rule_code)) {
        for pd in l.evaluation.periods.iter().filter(|x| x.due >= period.start() && x.due <= end) {
            let ok = pd.status == Status::Done;
            let is_closed = ok || pd.status == Status::Overdue;
            if !is_closed {
                continue;
            }
            closed += 1;
            if ok {
                done += 1;
            } else {
                evidence.push(Evidence {
                    kind: "duty".into(),
                    id: l.subject.id,
                    label: format!("{} · {}", l.subject.name, l.rule_name),
                    on: Some(pd.due),
                    note: format!("{} 未按期", pd.label()),
                });
            }
        }
    }
    if closed == 0 {
        return Ok(FigureValue {
            figure: f, value: None, basis: "本期没有到期的组织生活要求".into(), evidence
        });
    }
    evidence.truncate(300);
    Ok(FigureValue {
        figure: f,
        value: Some(done as f64 / closed as f64),
        basis: format!("到期 {closed} 项，按期完成 {done} 项（未按期的列在下面）"),
        evidence,
    })
}

// ---- the assessment page

/// An entered score.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Score {
    pub item_no: i64,
    #[schema(value_type = Stage)]
    pub stage: String,
    /// The score in tenths of a point (35 = 3.5 points).
    pub tenths: i64,
    pub reason: String,
    pub evidence: Option<String>,
    /// A photo or PDF attached as evidence (downloaded at `/files/{id}` by those who read the organisation).
    pub file_id: Option<i64>,
    pub scorer_name: String,
    pub scored_at: DateTime<Utc>,
}

impl Score {
    pub fn shown(&self) -> String {
        Tenths(self.tenths.max(0) as u32).to_string()
    }
    fn tenths(&self) -> Tenths {
        Tenths(self.tenths.max(0) as u32)
    }
}

/// One condition of a measured item as it stands.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClauseView {
    pub label: String,
    /// "≥ 65.0%".
    pub target: String,
    /// "72.0%" or "缺数据".
    pub value: String,
    pub basis: String,
    /// `None`: no data.
    pub met: Option<bool>,
    pub evidence_count: usize,
}

/// An item with what it stands at.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub no: u32,
    pub points: u32,
    pub text: String,
    pub measured: bool,
    pub clauses: Vec<ClauseView>,
    /// `met`, `unmet`, `missing` for a measured item.
    pub outcome: Option<String>,
    pub self_score: Option<Score>,
    pub review_score: Option<Score>,
    /// The score the item stands at (in points), `None` while unknown.
    pub score: Option<String>,
    /// An assessor may (still) score it: assessor items, and measured items without data.
    pub needs_assessor: bool,
    /// The score the same item had in the previous half-year's assessment.
    pub previous: Option<String>,
}

impl ItemView {
    pub fn outcome_label(&self) -> &'static str {
        self.outcome.as_deref().and_then(Outcome::from_code).map(|o| o.label()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    pub key: String,
    pub name: String,
    pub points: u32,
    pub score: String,
    pub open: u32,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = AssessmentStep)]
pub struct Step {
    #[schema(value_type = StepKind)]
    pub kind: String,
    pub note: Option<String>,
    pub by_name: String,
    pub at: DateTime<Utc>,
}

impl Step {
    pub fn kind_label(&self) -> &'static str {
        StepKind::from_code(&self.kind).map(|k| k.label()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Objection {
    pub id: i64,
    pub item_no: Option<i64>,
    pub body: String,
    pub by_name: String,
    pub at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Brand {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub since: NaiveDate,
    pub note: Option<String>,
}

/// An assessment with every item, the tally, its history and what the caller may do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssessmentView {
    pub a: Assessment,
    pub groups: Vec<GroupView>,
    pub total: String,
    pub of: u32,
    /// Items without a score yet.
    pub open: u32,
    /// Measures frozen at publication (`false`: computed now from the records).
    pub frozen: bool,
    pub steps: Vec<Step>,
    pub objections: Vec<Objection>,
    pub brands: Vec<Brand>,
    pub standing: Standing,
    /// The previous half-year's assessment of the organisation under the same rubric.
    pub previous: Option<Previous>,
    /// The organisation's star ratings (评星定级 history), newest first.
    pub stars: Vec<stars::StarRating>,
    /// The organisation's assessments under the same rubric, newest first
    /// (the rubric's cycle at a glance; totals once published).
    pub history: Vec<HistoryLine>,
}

/// One half-year's assessment of the same organisation under the same rubric.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryLine {
    pub id: i64,
    pub period: String,
    #[schema(value_type = AssessmentState)]
    pub state: String,
    pub total: Option<String>,
    pub of: u32,
}

impl HistoryLine {
    pub fn state_label(&self) -> &'static str {
        AssessmentState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
}

/// The previous half-year's result, for "changes since the last report".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Previous {
    pub id: i64,
    pub period: String,
    #[schema(value_type = AssessmentState)]
    pub state: String,
    pub total: String,
}

impl AssessmentView {
    pub fn item(&self, no: u32) -> Option<&ItemView> {
        self.groups.iter().flat_map(|g| g.items.iter()).find(|i| i.no == no)
    }
    /// The caller may enter scores now (self-assessment while open, review while submitted).
    pub fn scoring_stage(&self) -> Option<Stage> {
        match self.a.state.as_str() {
            "open" if self.standing.own => Some(Stage::SelfAssessed),
            "submitted" if self.standing.above => Some(Stage::Review),
            _ => None,
        }
    }
}

/// A measured item's figures as stored at publication.
#[derive(Serialize, Deserialize)]
struct Frozen {
    outcome: String,
    clauses: Vec<ClauseView>,
}

async fn scores(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Vec<Score>, StoreError> {
    c.all(
        "SELECT item_no, stage, tenths, reason, evidence, file_id, scorer_name, scored_at FROM assessment_scores \
         WHERE tenant_id = $1 AND assessment_id = $2 ORDER BY item_no, stage",
        args![tenant, id],
    )
    .await
}

async fn load_rubric(c: &mut impl Conn, tenant: i64, version_id: i64) -> Result<Rubric, StoreError> {
    let v = version_row(c, tenant, version_id).await?;
    parse_body(&v)
}

/// The clauses of a measured item against the figures.
fn clause_views(item: &Item, fig: &HashMap<Figure, FigureValue>) -> (Outcome, Vec<ClauseView>) {
    let outcome = a::judge(item.clauses(), |f| fig.get(&f).and_then(|v| v.value));
    let clauses = item
        .clauses()
        .iter()
        .map(|c| {
            let v = fig.get(&c.figure);
            ClauseView {
                label: c.figure.label().into(),
                target: c.target(),
                value: v.map(|v| v.shown()).unwrap_or_else(|| "缺数据".into()),
                basis: v.map(|v| v.basis.clone()).unwrap_or_default(),
                met: v.and_then(|v| v.value).map(|x| c.cmp.holds(x, c.threshold)),
                evidence_count: v.map(|v| v.evidence.len()).unwrap_or(0),
            }
        })
        .collect();
    (outcome, clauses)
}

/// An assessment as it stands (measures computed now unless frozen), with
/// the previous half-year's scores beside it.
pub async fn get(db: &Db, p: &Principal, id: AssessmentId) -> Result<AssessmentView, StoreError> {
    let mut v = current(db, p, id).await?;
    let prev_period = Period::parse("period", &v.a.period)?.previous();
    let prev: Option<(i64,)> = db
        .opt(
            "SELECT id FROM assessments WHERE tenant_id = $1 AND org_id = $2 AND rubric_id = $3 AND period = $4",
            args![v.a.tenant, v.a.org_id, v.a.rubric_id, prev_period.code()],
        )
        .await?;
    if let Some((pid,)) = prev {
        let pv = current(db, p, AssessmentId::new(pid)).await?;
        for i in v.groups.iter_mut().flat_map(|g| g.items.iter_mut()) {
            i.previous = pv.item(i.no).and_then(|x| x.score.clone());
        }
        v.previous =
            Some(Previous { id: pid, period: pv.a.period_label(), state: pv.a.state.clone(), total: pv.total });
    }
    v.stars = stars::history(db, p, OrgId::new(v.a.org_id)).await?;
    let others: Vec<(i64, String, String)> = db
        .all(
            "SELECT id, period, state FROM assessments WHERE tenant_id = $1 AND org_id = $2 AND rubric_id = $3 \
             ORDER BY period DESC LIMIT 8",
            args![v.a.tenant, v.a.org_id, v.a.rubric_id],
        )
        .await?;
    for (oid, period, state) in others {
        let frozen = state == "published" || state == "final";
        let (total, of) = if oid == v.a.id {
            (frozen.then(|| v.total.clone()), v.of)
        } else if frozen {
            let o = current(db, p, AssessmentId::new(oid)).await?;
            (Some(o.total), o.of)
        } else {
            (None, v.of)
        };
        let label = Period::parse("period", &period).map(|x| x.label()).unwrap_or(period);
        v.history.push(HistoryLine { id: oid, period: label, state, total, of });
    }
    Ok(v)
}

async fn current(db: &Db, p: &Principal, id: AssessmentId) -> Result<AssessmentView, StoreError> {
    let owner = p.access(READ)?.target(&mut db.conn(), id).await?;
    let t = owner.tenant_id;
    let mut c = db.conn();
    let x = row(&mut c, t, id.get()).await?;
    let rubric = load_rubric(&mut c, t, x.version_id).await?;
    let state = x.state()?;
    let frozen = matches!(state, AssessmentState::Published | AssessmentState::Final);
    let mut measured: HashMap<u32, (Outcome, Vec<ClauseView>)> = HashMap::new();
    if frozen {
        let rows: Vec<(i64, String)> = c
            .all(
                "SELECT item_no, figures FROM assessment_measures WHERE tenant_id = $1 AND assessment_id = $2",
                args![t, id.get()],
            )
            .await?;
        for (no, json) in rows {
            let fz: Frozen =
                serde_json::from_str(&json).map_err(|e| StoreError::Internal(format!("frozen measure: {e}")))?;
            measured.insert(no as u32, (scope::stored("outcome", &fz.outcome)?, fz.clauses));
        }
    } else {
        let period = Period::parse("period", &x.period)?;
        let fig = figures(db, p, t, x.org_id, &owner.path, period, today(), &rubric.figures()).await?;
        for item in rubric.items().filter(|i| i.is_measured()) {
            measured.insert(item.no, clause_views(item, &fig));
        }
    }
    let sc = scores(&mut c, t, id.get()).await?;
    let find = |no: u32, st: Stage| sc.iter().find(|s| s.item_no == no as i64 && s.stage == st.code()).cloned();
    let score_of = |i: &Item| {
        a::item_score(
            i,
            measured.get(&i.no).map(|m| m.0),
            find(i.no, Stage::SelfAssessed).map(|s| s.tenths()),
            find(i.no, Stage::Review).map(|s| s.tenths()),
        )
    };
    let tally = a::tally(&rubric, score_of);
    let groups = rubric
        .groups
        .iter()
        .zip(&tally.groups)
        .map(|(g, gt)| GroupView {
            key: g.key.clone(),
            name: g.name.clone(),
            points: g.points,
            score: gt.score.to_string(),
            open: gt.open,
            items: g
                .items
                .iter()
                .map(|i| {
                    let m = measured.get(&i.no);
                    ItemView {
                        no: i.no,
                        points: i.points,
                        text: i.text.clone(),
                        measured: i.is_measured(),
                        clauses: m.map(|m| m.1.clone()).unwrap_or_default(),
                        outcome: m.map(|m| m.0.code().to_string()),
                        self_score: find(i.no, Stage::SelfAssessed),
                        review_score: find(i.no, Stage::Review),
                        score: score_of(i).map(|t| t.to_string()),
                        needs_assessor: !i.is_measured() || m.is_some_and(|m| m.0 == Outcome::Missing),
                        previous: None,
                    }
                })
                .collect(),
        })
        .collect();
    let steps = c
        .all(
            "SELECT kind, note, by_name, at FROM assessment_steps WHERE tenant_id = $1 AND assessment_id = $2 ORDER BY at, id",
            args![t, id.get()],
        )
        .await?;
    let objections = c
        .all(
            "SELECT id, item_no, body, by_name, at, answer, answered_by FROM assessment_objections \
             WHERE tenant_id = $1 AND assessment_id = $2 ORDER BY at, id",
            args![t, id.get()],
        )
        .await?;
    let mut ba = args![];
    let u = scope::rows_under_path("b", t, &owner.path, &mut ba);
    let brands = c
        .all(
            &format!(
                "SELECT b.id, b.org_id, b.name, b.since, b.note FROM party_brands b WHERE {u} ORDER BY b.since, b.id"
            ),
            ba,
        )
        .await?;
    Ok(AssessmentView {
        standing: standing(p, &x.path()?),
        a: x,
        groups,
        total: tally.total.to_string(),
        of: tally.of,
        open: tally.open,
        frozen,
        steps,
        objections,
        brands,
        previous: None,
        stars: Vec::new(),
        history: Vec::new(),
    })
}

/// The half-year report of an assessment as a table (audited as an export):
/// every item with how it was scored, the figures, the assessors' scores
/// and reasons, the score, the previous half-year's and the change.
pub async fn report_sheet(
    db: &Db,
    p: &Principal,
    id: AssessmentId,
) -> Result<(String, Vec<&'static str>, Vec<Vec<String>>), StoreError> {
    let owner = p.access(Capability::Export)?.target(&mut db.conn(), id).await?;
    let v = get(db, p, id).await?;
    let headers = vec![
        "序号",
        "分组",
        "考评内容",
        "分值",
        "计分方式",
        "数据与要求",
        "依据记录数",
        "自评",
        "自评理由",
        "审核",
        "审核理由",
        "得分",
        "上期得分",
        "变化",
    ];
    let mut rows = Vec::new();
    for g in &v.groups {
        for i in &g.items {
            let figures: Vec<String> =
                i.clauses.iter().map(|c| format!("{}：{}（要求 {}）", c.label, c.value, c.target)).collect();
            let change = match (
                i.score.as_deref().and_then(|x| x.parse::<f64>().ok()),
                i.previous.as_deref().and_then(|x| x.parse::<f64>().ok()),
            ) {
                (Some(a), Some(b)) => {
                    let d = ((a - b) * 10.0).round() / 10.0;
                    if d > 0.0 { format!("+{d}") } else { format!("{d}") }
                }
                _ => String::new(),
            };
            rows.push(vec![
                i.no.to_string(),
                g.name.clone(),
                i.text.clone(),
                i.points.to_string(),
                if i.measured { format!("按记录（{}）", i.outcome_label()) } else { "考评人打分".into() },
                figures.join("；"),
                i.clauses.iter().map(|c| c.evidence_count).sum::<usize>().to_string(),
                i.self_score.as_ref().map(|x| x.shown()).unwrap_or_default(),
                i.self_score.as_ref().map(|x| format!("{}（{}）", x.reason, x.scorer_name)).unwrap_or_default(),
                i.review_score.as_ref().map(|x| x.shown()).unwrap_or_default(),
                i.review_score.as_ref().map(|x| format!("{}（{}）", x.reason, x.scorer_name)).unwrap_or_default(),
                i.score.clone().unwrap_or_else(|| "未打分".into()),
                i.previous.clone().unwrap_or_default(),
                change,
            ]);
        }
    }
    rows.push(vec![
        String::new(),
        "合计".into(),
        format!("{} · {}", v.a.state_label(), v.a.rubric_name),
        v.of.to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        v.total.clone(),
        v.previous.as_ref().map(|x| x.total.clone()).unwrap_or_default(),
        String::new(),
    ]);
    // The organisation's star history below the items (评星定级, 争星晋位).
    for r in &v.stars {
        let mut row = vec![String::new(); 14];
        row[1] = "星级记录".into();
        row[2] = format!("{} {} {} 星（{}）", r.period_label(), r.stars_text(), r.stars, r.movement());
        row[3] = r.of_points.to_string();
        row[5] = format!(
            "群众满意率 {}{}",
            r.satisfaction(),
            r.limit_note.as_deref().map(|n| format!("；{n}")).unwrap_or_default()
        );
        row[11] = r.score();
        row[12] = r.previous_stars.map(|p| format!("{p} 星")).unwrap_or_default();
        rows.push(row);
    }
    let title = format!("{} {}考评", v.a.org_name, v.a.period_label());
    audit::access(
        db,
        owner.tenant_id,
        audit::Actor::of(p),
        "export",
        "assessment",
        Some(v.a.id),
        &format!("考评报告：{title}，{} 行", rows.len()),
    )
    .await?;
    Ok((title, headers, rows))
}

/// The records behind a measured item's figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemEvidence {
    pub assessment_id: i64,
    pub org_name: String,
    pub period: String,
    pub no: u32,
    pub text: String,
    pub figures: Vec<FigureValue>,
    pub frozen: bool,
}

pub async fn evidence(db: &Db, p: &Principal, id: AssessmentId, no: u32) -> Result<ItemEvidence, StoreError> {
    let owner = p.access(READ)?.target(&mut db.conn(), id).await?;
    let t = owner.tenant_id;
    let mut c = db.conn();
    let x = row(&mut c, t, id.get()).await?;
    let rubric = load_rubric(&mut c, t, x.version_id).await?;
    let item = rubric.item(no).filter(|i| i.is_measured()).ok_or(StoreError::NotFound)?;
    let want: Vec<Figure> = item.clauses().iter().map(|c| c.figure).collect();
    let frozen = matches!(x.state()?, AssessmentState::Published | AssessmentState::Final);
    let figures = if frozen {
        let (json,): (String,) = c
            .one(
                "SELECT evidence FROM assessment_measures WHERE tenant_id = $1 AND assessment_id = $2 AND item_no = $3",
                args![t, id.get(), no as i64],
            )
            .await?;
        serde_json::from_str(&json).map_err(|e| StoreError::Internal(format!("frozen evidence: {e}")))?
    } else {
        let period = Period::parse("period", &x.period)?;
        let mut fig = figures(db, p, t, x.org_id, &owner.path, period, today(), &want).await?;
        want.iter().filter_map(|f| fig.remove(f)).collect()
    };
    Ok(ItemEvidence {
        assessment_id: x.id,
        period: x.period_label(),
        org_name: x.org_name,
        no,
        text: item.text.clone(),
        figures,
        frozen,
    })
}

// ---- scoring and steps

/// A score entered by an assessor.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawScore {
    /// Points, up to one decimal, within the item's range.
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub score: Option<String>,
    /// Why (required).
    pub reason: Option<String>,
    /// Where the evidence is (files, links to records), optional.
    pub evidence: Option<String>,
}

async fn locked(db: &Db, p: &Principal, id: AssessmentId) -> Result<(Tx, Assessment, Standing), StoreError> {
    let owner = p.access(CAP)?.target(&mut db.conn(), id).await?;
    let mut tx = db.begin().await?;
    let x = row(&mut tx, owner.tenant_id, id.get()).await?;
    let s = standing(p, &owner.path);
    Ok((tx, x, s))
}

fn wrong_state(x: &Assessment, want: &str) -> StoreError {
    FieldError::new("state", "state", format!("这项考评现在是「{}」，{want}", x.state_label())).into()
}

/// Enter (or change) a score: the assessed organisation while it is open,
/// the level above while it is submitted for review.
pub async fn score(db: &Db, p: &Principal, id: AssessmentId, no: u32, raw: &RawScore) -> Result<Score, StoreError> {
    score_with(db, p, id, no, raw, None).await
}

/// A file given with a score: the name the browser sent and the bytes.
pub struct EvidenceFile<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Enter a score with a photo or PDF as its evidence (replacing the one the
/// same stage attached before; without a file the earlier one stays).
pub async fn score_with(
    db: &Db,
    p: &Principal,
    id: AssessmentId,
    no: u32,
    raw: &RawScore,
    file: Option<EvidenceFile<'_>>,
) -> Result<Score, StoreError> {
    let (mut tx, x, s) = locked(db, p, id).await?;
    let stage = match x.state()? {
        AssessmentState::Open if s.own => Stage::SelfAssessed,
        AssessmentState::Submitted if s.above => Stage::Review,
        AssessmentState::Open | AssessmentState::Submitted => {
            return Err(StoreError::Denied(FieldError::new(
                "score",
                "level",
                if x.state == "open" {
                    "自评由被考评组织本级的考评人填写"
                } else {
                    "审核由上级组织的考评人填写"
                },
            )));
        }
        _ => return Err(wrong_state(&x, "不能再打分")),
    };
    let rubric = load_rubric(&mut tx, x.tenant, x.version_id).await?;
    let item = rubric.item(no).ok_or(StoreError::NotFound)?;
    let mut e = Invalid::default();
    let tenths = e.check(Tenths::parse("score", raw.score.as_deref().unwrap_or(""), item.max()));
    let reason = e.check(Text::required("reason", raw.reason.as_deref().unwrap_or(""), 500));
    let evidence = e.check(opt_text("evidence", &raw.evidence, 500)).flatten();
    let content_type = match &file {
        None => None,
        Some(f) if f.bytes.len() > crate::files::MAX_BYTES => {
            e.push(FieldError::new(
                "file",
                "too_large",
                format!("文件过大（最大{}MB）", crate::files::MAX_BYTES / 1024 / 1024),
            ));
            None
        }
        Some(f) => match crate::files::sniff(f.bytes) {
            Some(t) => Some(t),
            None => {
                e.push(FieldError::new("file", "type", "依据文件只接受 PNG、JPEG、GIF、WebP 图片或 PDF 文件"));
                None
            }
        },
    };
    if item.is_measured() && e.is_empty() {
        let period = Period::parse("period", &x.period)?;
        let path = x.path()?;
        let want: Vec<Figure> = item.clauses().iter().map(|c| c.figure).collect();
        let fig = figures(db, p, x.tenant, x.org_id, &path, period, today(), &want).await?;
        if clause_views(item, &fig).0 != Outcome::Missing {
            e.push(FieldError::new("score", "measured", "这一项按数据自动计分，只有数据缺失时才由考评人打分"));
        }
    }
    e.into_result()?;
    let (Some(tenths), Some(reason)) = (tenths, reason) else { return Err(StoreError::Internal("score".into())) };
    let file_id = match (file, content_type) {
        (Some(f), Some(content_type)) => Some(
            crate::files::insert(
                &mut tx,
                &crate::files::FileRecord {
                    tenant_id: x.tenant,
                    org_id: x.org_id,
                    owner_kind: "assessment",
                    owner_id: x.id,
                    name: crate::files::file_name(f.name, "evidence"),
                    content_type,
                    bytes: f.bytes,
                    by: Some(p.user_id),
                },
            )
            .await?,
        ),
        _ => {
            let before: Option<(Option<i64>,)> = tx
                .opt(
                    "SELECT file_id FROM assessment_scores WHERE tenant_id = $1 AND assessment_id = $2 AND item_no = $3 AND stage = $4",
                    args![x.tenant, x.id, no as i64, stage.code()],
                )
                .await?;
            before.and_then(|b| b.0)
        }
    };
    put_score(
        &mut tx,
        x.tenant,
        x.id,
        no,
        stage,
        tenths,
        reason.into_string(),
        evidence,
        file_id,
        p.user_id,
        &p.display_name,
    )
    .await?;
    touch(&mut tx, &x).await?;
    let sid = tx
        .int(
            "SELECT id FROM assessment_scores WHERE tenant_id = $1 AND assessment_id = $2 AND item_no = $3 AND stage = $4",
            args![x.tenant, x.id, no as i64, stage.code()],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "assessment_score",
        "assessment_scores",
        x.tenant,
        sid,
        None,
    )
    .await?;
    let sc = scores(&mut tx, x.tenant, x.id).await?;
    tx.commit().await?;
    sc.into_iter().find(|s| s.item_no == no as i64 && s.stage == stage.code()).ok_or(StoreError::NotFound)
}

/// The one writer of scores (the service and the demo).
#[allow(clippy::too_many_arguments)]
async fn put_score(
    tx: &mut Tx,
    tenant: i64,
    id: i64,
    no: u32,
    stage: Stage,
    tenths: Tenths,
    reason: String,
    evidence: Option<String>,
    file_id: Option<i64>,
    by: i64,
    by_name: &str,
) -> Result<(), StoreError> {
    tx.exec(
        "DELETE FROM assessment_scores WHERE tenant_id = $1 AND assessment_id = $2 AND item_no = $3 AND stage = $4",
        args![tenant, id, no as i64, stage.code()],
    )
    .await?;
    tx.exec(
        "INSERT INTO assessment_scores (tenant_id, assessment_id, item_no, stage, tenths, reason, evidence, file_id, scored_by, scorer_name, scored_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![tenant, id, no as i64, stage.code(), tenths.0 as i64, reason, evidence, file_id, by, by_name.to_string(), Utc::now()],
    )
    .await?;
    Ok(())
}

async fn touch(tx: &mut Tx, x: &Assessment) -> Result<(), StoreError> {
    tx.exec(
        "UPDATE assessments SET updated_at = $1 WHERE tenant_id = $2 AND id = $3",
        args![Utc::now(), x.tenant, x.id],
    )
    .await?;
    Ok(())
}

async fn set_state(
    tx: &mut Tx,
    p: &Principal,
    x: &Assessment,
    to: AssessmentState,
    kind: StepKind,
    note: Option<String>,
    until: Option<NaiveDate>,
) -> Result<(), StoreError> {
    tx.exec(
        "UPDATE assessments SET state = $1, objections_until = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5",
        args![to.code(), until, Utc::now(), x.tenant, x.id],
    )
    .await?;
    step(tx, x.tenant, x.id, kind, note, p.user_id, &p.display_name).await?;
    audit::change(tx, audit::Actor::of(p), audit::Change::Update, "assessment", "assessments", x.tenant, x.id, None)
        .await
}

/// A step's note (required for returning, optional elsewhere) and the publication's days.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawStep {
    pub note: Option<String>,
    /// Days of the publication period for objections (0–30, default 5); on publication only.
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub days: Option<String>,
}

/// Refuse a step while items are unscored, listing them.
fn all_scored(v: &AssessmentView, what: &str) -> Result<(), StoreError> {
    let missing: Vec<String> = v
        .groups
        .iter()
        .flat_map(|g| g.items.iter())
        .filter(|i| i.score.is_none())
        .map(|i| format!("第{}项", i.no))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(FieldError::new("score", "incomplete", format!("还有 {} 项没有{what}：{}", missing.len(), missing.join("、")))
        .into())
}

/// The assessed organisation submits its self-assessment for review: every
/// item it must score is scored.
pub async fn submit(db: &Db, p: &Principal, id: AssessmentId, raw: &RawStep) -> Result<Assessment, StoreError> {
    let view = current(db, p, id).await?;
    let (mut tx, x, s) = locked(db, p, id).await?;
    if x.state()? != AssessmentState::Open {
        return Err(wrong_state(&x, "不能提交自评"));
    }
    if !s.own {
        return Err(StoreError::Denied(FieldError::new("state", "level", "自评由被考评组织本级的考评人提交")));
    }
    all_scored(&view, "自评")?;
    let note = opt_text("note", &raw.note, 500)?;
    set_state(&mut tx, p, &x, AssessmentState::Submitted, StepKind::Submitted, note, None).await?;
    let y = row(&mut tx, x.tenant, x.id).await?;
    tx.commit().await?;
    Ok(y)
}

/// The level above returns a submitted self-assessment with a reason.
pub async fn send_back(db: &Db, p: &Principal, id: AssessmentId, raw: &RawStep) -> Result<Assessment, StoreError> {
    let (mut tx, x, s) = locked(db, p, id).await?;
    if x.state()? != AssessmentState::Submitted {
        return Err(wrong_state(&x, "不能退回"));
    }
    if !s.above {
        return Err(StoreError::Denied(FieldError::new("state", "level", "只有上级组织的考评人可以退回")));
    }
    let note = Text::required("note", raw.note.as_deref().unwrap_or(""), 500)?.into_string();
    set_state(&mut tx, p, &x, AssessmentState::Open, StepKind::Returned, Some(note), None).await?;
    let y = row(&mut tx, x.tenant, x.id).await?;
    tx.commit().await?;
    Ok(y)
}

/// The level above publishes the result for objections: the measures are
/// frozen with their evidence as they stand today.
pub async fn publish(db: &Db, p: &Principal, id: AssessmentId, raw: &RawStep) -> Result<Assessment, StoreError> {
    let days = a::objection_days("days", raw.days.as_deref().unwrap_or(""))?;
    let view = current(db, p, id).await?;
    let (mut tx, x, s) = locked(db, p, id).await?;
    if x.state()? != AssessmentState::Submitted {
        return Err(wrong_state(&x, "不能公示"));
    }
    if !s.above {
        return Err(StoreError::Denied(FieldError::new("state", "level", "只有上级组织的考评人可以公示")));
    }
    all_scored(&view, "得分")?;
    let rubric = load_rubric(&mut tx, x.tenant, x.version_id).await?;
    let period = Period::parse("period", &x.period)?;
    let fig = figures(db, p, x.tenant, x.org_id, &x.path()?, period, today(), &rubric.figures()).await?;
    let now = Utc::now();
    tx.exec("DELETE FROM assessment_measures WHERE tenant_id = $1 AND assessment_id = $2", args![x.tenant, x.id])
        .await?;
    for item in rubric.items().filter(|i| i.is_measured()) {
        let (outcome, clauses) = clause_views(item, &fig);
        let ev: Vec<&FigureValue> = item.clauses().iter().filter_map(|c| fig.get(&c.figure)).collect();
        let frozen = serde_json::to_string(&Frozen { outcome: outcome.code().into(), clauses })
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let ev = serde_json::to_string(&ev).map_err(|e| StoreError::Internal(e.to_string()))?;
        tx.exec(
            "INSERT INTO assessment_measures (tenant_id, assessment_id, item_no, outcome, figures, evidence, computed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![x.tenant, x.id, item.no as i64, outcome.code(), frozen, ev, now],
        )
        .await?;
    }
    let note = Some(format!("总分 {} / {}，公示 {days} 天", view.total, view.of));
    set_state(
        &mut tx,
        p,
        &x,
        AssessmentState::Published,
        StepKind::Published,
        note,
        Some(today() + Duration::days(days as i64)),
    )
    .await?;
    let y = row(&mut tx, x.tenant, x.id).await?;
    tx.commit().await?;
    Ok(y)
}

/// An objection during publication (anyone who reads the organisation).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawObjection {
    /// The item objected to (optional: the whole result).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub item_no: Option<String>,
    pub body: Option<String>,
}

pub async fn object(db: &Db, p: &Principal, id: AssessmentId, raw: &RawObjection) -> Result<Objection, StoreError> {
    let owner = p.access(READ)?.target(&mut db.conn(), id).await?;
    let mut tx = db.begin().await?;
    let x = row(&mut tx, owner.tenant_id, id.get()).await?;
    if x.state()? != AssessmentState::Published || x.objections_until.is_some_and(|d| d < today()) {
        return Err(wrong_state(&x, "不在公示期内，不能提出异议"));
    }
    let mut e = Invalid::default();
    let body = e.check(Text::required("body", raw.body.as_deref().unwrap_or(""), 500));
    let item_no = match raw.item_no.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let rubric = load_rubric(&mut tx, owner.tenant_id, x.version_id).await?;
            match s.parse::<u32>().ok().filter(|n| rubric.item(*n).is_some()) {
                Some(n) => Some(n as i64),
                None => {
                    e.push(FieldError::new("item_no", "not_found", format!("细则中没有第 {s} 项")));
                    None
                }
            }
        }
    };
    e.into_result()?;
    let Some(body) = body else { return Err(StoreError::Internal("objection".into())) };
    let oid = tx
        .int(
            "INSERT INTO assessment_objections (tenant_id, assessment_id, item_no, body, by_user, by_name, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![owner.tenant_id, x.id, item_no, body.into_string(), p.user_id, p.display_name.clone(), Utc::now()],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "assessment_objection",
        "assessment_objections",
        owner.tenant_id,
        oid,
        None,
    )
    .await?;
    let o: Objection = tx
        .one(
            "SELECT id, item_no, body, by_name, at, answer, answered_by FROM assessment_objections WHERE tenant_id = $1 AND id = $2",
            args![owner.tenant_id, oid],
        )
        .await?;
    tx.commit().await?;
    Ok(o)
}

/// The level above answers an objection.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawAnswer {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub objection_id: Option<String>,
    pub answer: Option<String>,
}

pub async fn answer(db: &Db, p: &Principal, id: AssessmentId, raw: &RawAnswer) -> Result<(), StoreError> {
    let (mut tx, x, s) = locked(db, p, id).await?;
    if !s.above {
        return Err(StoreError::Denied(FieldError::new("answer", "level", "异议由上级组织的考评人答复")));
    }
    if x.state()? != AssessmentState::Published {
        return Err(wrong_state(&x, "不能答复异议"));
    }
    let mut e = Invalid::default();
    let oid: Option<i64> = raw.objection_id.as_deref().and_then(|s| s.trim().parse().ok());
    if oid.is_none() {
        e.push(FieldError::new("objection_id", "required", "请选择要答复的异议"));
    }
    let text = e.check(Text::required("answer", raw.answer.as_deref().unwrap_or(""), 500));
    e.into_result()?;
    let (Some(oid), Some(text)) = (oid, text) else { return Err(StoreError::Internal("answer".into())) };
    let n = tx
        .exec(
            "UPDATE assessment_objections SET answer = $1, answered_by = $2, answered_at = $3 \
             WHERE tenant_id = $4 AND assessment_id = $5 AND id = $6 AND answer IS NULL",
            args![text.into_string(), p.display_name.clone(), Utc::now(), x.tenant, x.id, oid],
        )
        .await?;
    if n == 0 {
        return Err(FieldError::new("objection_id", "not_found", "没有这条待答复的异议").into());
    }
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "assessment_objection",
        "assessment_objections",
        x.tenant,
        oid,
        None,
    )
    .await?;
    tx.commit().await
}

/// The level above makes the result final once the publication period is
/// over and every objection is answered.
pub async fn finalize(db: &Db, p: &Principal, id: AssessmentId, raw: &RawStep) -> Result<Assessment, StoreError> {
    let (mut tx, x, s) = locked(db, p, id).await?;
    if x.state()? != AssessmentState::Published {
        return Err(wrong_state(&x, "不能确定结果"));
    }
    if !s.above {
        return Err(StoreError::Denied(FieldError::new("state", "level", "只有上级组织的考评人可以确定结果")));
    }
    if let Some(until) = x.objections_until.filter(|d| *d > today()) {
        return Err(
            FieldError::new("state", "objection_period", format!("公示期到 {until} 结束，之后才能确定结果")).into()
        );
    }
    let open = tx
        .int(
            "SELECT COUNT(*) FROM assessment_objections WHERE tenant_id = $1 AND assessment_id = $2 AND answer IS NULL",
            args![x.tenant, x.id],
        )
        .await?;
    if open > 0 {
        return Err(FieldError::new("state", "objections", format!("还有 {open} 条异议没有答复")).into());
    }
    let note = opt_text("note", &raw.note, 500)?;
    set_state(&mut tx, p, &x, AssessmentState::Final, StepKind::Finalized, note, x.objections_until).await?;
    let y = row(&mut tx, x.tenant, x.id).await?;
    tx.commit().await?;
    Ok(y)
}

// ---- brands

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawBrand {
    pub name: Option<String>,
    /// `YYYY-MM-DD`, not in the future.
    pub since: Option<String>,
    pub note: Option<String>,
}

/// Register a party-building brand of an organisation (by an assessor on it or above).
pub async fn add_brand(db: &Db, p: &Principal, org_id: OrgId, raw: &RawBrand) -> Result<Brand, StoreError> {
    let access = p.access(CAP)?;
    let mut tx = db.begin().await?;
    let org = access.org(&mut tx, org_id).await?;
    let today = today();
    let mut e = Invalid::default();
    let name = e.check(Text::required("name", raw.name.as_deref().unwrap_or(""), 60));
    let since = e.check(redcell_domain::text::parse_date("since", raw.since.as_deref().unwrap_or(""))).flatten();
    if since.is_some_and(|d| d > today) {
        e.push(FieldError::new("since", "future", "创建日期不能晚于今天"));
    }
    let note = e.check(opt_text("note", &raw.note, 200)).flatten();
    e.into_result()?;
    let Some(name) = name else { return Err(StoreError::Internal("brand".into())) };
    let id = tx
        .int(
            "INSERT INTO party_brands (tenant_id, org_id, name, since, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![org.tenant_id, org.id, name.into_string(), since.unwrap_or(today), note, p.user_id, Utc::now()],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "party_brand",
        "party_brands",
        org.tenant_id,
        id,
        None,
    )
    .await?;
    let b = tx
        .one(
            "SELECT id, org_id, name, since, note FROM party_brands WHERE tenant_id = $1 AND id = $2",
            args![org.tenant_id, id],
        )
        .await?;
    tx.commit().await?;
    Ok(b)
}

// ---- demo

/// The demo's assessments: the registry fields the measures read (a
/// secretary per organisation with members, education, certificates,
/// training, cross-appointment), a brand for every other community, and the
/// current half-year's assessment of every community. Community SQ01 is left
/// open for its own account to assess; the others are self-assessed (scores
/// marked as demo data) and, every other one, reviewed and published by the
/// street's account.
pub async fn seed_demo(tx: &mut Tx, tenant: i64, decider: i64, today: NaiveDate) -> Result<(), StoreError> {
    let mut rng = DemoRng(16);
    let year = chrono::Datelike::year(&today) as i64;
    // Per organisation with members: its longest-standing member is the
    // secretary; the next three (among them the committee members the
    // contact plan names later) have their education and training recorded.
    let ids: Vec<(i64, i64)> =
        tx.all("SELECT org_id, id FROM members WHERE tenant_id = $1 ORDER BY org_id, id", args![tenant]).await?;
    let levels = ["junior", "senior", "college", "bachelor", "bachelor", "college", "postgraduate"];
    let mut last_org = -1;
    let mut k = 0;
    for (org, m) in ids {
        if org != last_org {
            last_org = org;
            k = 0;
        }
        k += 1;
        if k > 4 {
            continue;
        }
        let ed = levels[rng.below(levels.len() as u64) as usize];
        let post = (k == 1).then(|| "secretary".to_string());
        tx.exec(
            "UPDATE members SET party_post = $1, education = $2, social_worker_cert = $3, cross_appointed = $4, \
             training_year = $5, training_days = $6 WHERE tenant_id = $7 AND id = $8",
            args![post, ed, k == 1 && rng.below(2) == 0, rng.below(10) < 4, year, 5 + rng.below(8) as i64, tenant, m],
        )
        .await?;
    }
    let communities: Vec<(i64, String, String, Option<String>)> = tx
        .all(
            "SELECT id, code, name, secretary FROM orgs WHERE tenant_id = $1 AND kind IN ('community_committee', 'village_general_branch') ORDER BY code",
            args![tenant],
        )
        .await?;
    let period = Period::of(today);
    let (decider_name,): (String,) = tx.one("SELECT display_name FROM users WHERE id = $1", args![decider]).await?;
    let now = Utc::now();
    for (code, text) in [(SIX_IN_ONE, a::SIX_IN_ONE), (stars::FIVE_STAR, a::FIVE_STAR)] {
        let five = code == stars::FIVE_STAR;
        let rubric = Rubric::parse(text).map_err(|e| StoreError::Internal(format!("shipped rubric: {e:?}")))?;
        let (version_id, rubric_id): (i64, i64) = tx
            .one(
                "SELECT v.id, v.rubric_id FROM rubric_versions v JOIN rubrics r ON r.tenant_id = v.tenant_id AND r.id = v.rubric_id \
                 WHERE v.tenant_id = $1 AND r.code = $2 ORDER BY v.version DESC LIMIT 1",
                args![tenant, code],
            )
            .await?;
        for (k, (org, ocode, name, secretary)) in communities.iter().enumerate() {
            if k % 2 == 0 && !five {
                tx.exec(
                    "INSERT INTO party_brands (tenant_id, org_id, name, since, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    args![tenant, *org, format!("{}“红色管家”", name), today - Duration::days(400), Some("演示数据".to_string()), decider, now],
                )
                .await?;
            }
            let id = tx
                .int(
                    "INSERT INTO assessments (tenant_id, org_id, rubric_id, version_id, period, state, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 'open', $6, $6) RETURNING id",
                    args![tenant, *org, rubric_id, version_id, period.code(), now],
                )
                .await?;
            step(tx, tenant, id, StepKind::Opened, None, decider, &decider_name).await?;
            if ocode.ends_with("-SQ01") || ocode == "SQ01" {
                continue;
            }
            let scorer = format!("{}（演示数据）", secretary.clone().unwrap_or_else(|| name.clone()));
            // The five-star set's measured items get a self-assessment too,
            // which counts only where the records lack the data.
            for item in rubric.items().filter(|i| five || !i.is_measured()) {
                let t = Tenths((item.points * 10).saturating_sub(rng.below(if five { 9 } else { 3 }) as u32 * 5));
                put_score(
                    tx,
                    tenant,
                    id,
                    item.no,
                    Stage::SelfAssessed,
                    t,
                    "按年度工作台账自评".into(),
                    None,
                    None,
                    decider,
                    &scorer,
                )
                .await?;
            }
            tx.exec("UPDATE assessments SET state = 'submitted' WHERE tenant_id = $1 AND id = $2", args![tenant, id])
                .await?;
            step(tx, tenant, id, StepKind::Submitted, None, decider, &scorer).await?;
        }
    }
    Ok(())
}

/// A small deterministic generator for the demo (splitmix64).
struct DemoRng(u64);

impl DemoRng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    }
}

// ---- member points (积分)

/// One record that earned points.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PointRecord {
    #[schema(value_type = PointSource)]
    pub source: String,
    pub day: NaiveDate,
    pub what: String,
    /// Units in tenths (an hour and a half is 15).
    #[serde(skip)]
    pub tenth_units: i64,
}

impl PointRecord {
    pub fn source_label(&self) -> &'static str {
        PointSource::from_code(&self.source).map(|s| s.label()).unwrap_or("")
    }
    pub fn points(&self) -> String {
        PointSource::from_code(&self.source)
            .map(|s| s.points_for_tenth_units(self.tenth_units.max(0) as u32).to_string())
            .unwrap_or_default()
    }
}

/// Points of one source in a year.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointLine {
    #[schema(value_type = PointSource)]
    pub source: String,
    pub label: String,
    pub rule: String,
    /// Units counted ("3.5" hours).
    pub units: String,
    pub points: String,
}

/// A member's points of a year and how each was earned (seen by the member
/// and by staff in scope; never ranked against others).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberPoints {
    pub member_id: i64,
    pub name: String,
    pub year: i32,
    pub total: String,
    pub lines: Vec<PointLine>,
    /// The records, newest first.
    pub records: Vec<PointRecord>,
}

/// The member linked to the caller's account.
pub async fn my_points(db: &Db, p: &Principal, year: i32) -> Result<MemberPoints, StoreError> {
    let m = crate::duties::member_of(db, p).await?.ok_or(StoreError::NotFound)?;
    points_of(db, p.tenant_id, m, year).await
}

/// A member's points, for staff who read the member's organisation.
pub async fn points(
    db: &Db,
    p: &Principal,
    member: redcell_domain::MemberId,
    year: i32,
) -> Result<MemberPoints, StoreError> {
    if crate::duties::member_of(db, p).await? == Some(member.get()) {
        return points_of(db, p.tenant_id, member.get(), year).await;
    }
    let owner = p.access(READ)?.target(&mut db.conn(), member).await?;
    points_of(db, owner.tenant_id, member.get(), year).await
}

async fn points_of(db: &Db, tenant: i64, member: i64, year: i32) -> Result<MemberPoints, StoreError> {
    if !(2000..=2100).contains(&year) {
        return Err(FieldError::new("year", "range", "年份应在 2000 到 2100 之间").into());
    }
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default();
    let c = db.conn();
    let (name,): (String,) = c
        .one(
            "SELECT r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             WHERE m.tenant_id = $1 AND m.id = $2",
            args![tenant, member],
        )
        .await?;
    // Each source from its own register: a visit per household and day, a
    // wish done, confirmed minutes, presence at a meeting or an activity.
    let records: Vec<PointRecord> = c
        .all(
            "SELECT 'visit' AS source, v.visited_on AS day, CAST(v.target_kind AS TEXT) AS what, 10 AS tenth_units \
               FROM duty_visits v WHERE v.tenant_id = $1 AND v.visitor_kind = 'member' AND v.visitor_id = $2 \
               AND v.visited_on >= $3 AND v.visited_on <= $4 \
               AND v.id = (SELECT MIN(w.id) FROM duty_visits w WHERE w.tenant_id = v.tenant_id AND w.visitor_kind = 'member' \
                   AND w.visitor_id = v.visitor_id AND w.target_kind = v.target_kind AND w.target_id = v.target_id AND w.visited_on = v.visited_on) \
             UNION ALL SELECT 'wish', r.wish_claimed_on, r.description, 10 FROM requests r \
               WHERE r.tenant_id = $1 AND r.wish_claimed_by = $2 AND r.wish_stage = 'done' \
               AND r.wish_claimed_on >= $3 AND r.wish_claimed_on <= $4 \
             UNION ALL SELECT 'hours', h.work_date, h.note, CAST(h.minutes / 6 AS BIGINT) FROM service_hours h \
               WHERE h.tenant_id = $1 AND h.member_id = $2 AND h.state = 'confirmed' AND h.work_date >= $3 AND h.work_date <= $4 \
             UNION ALL SELECT 'attendance', mt.held_on, mt.topic, 10 FROM duty_people dp \
               JOIN duty_meetings mt ON mt.tenant_id = dp.tenant_id AND mt.id = dp.record_id \
               WHERE dp.tenant_id = $1 AND dp.record_kind = 'meeting' AND dp.person_kind = 'member' AND dp.person_id = $2 \
               AND dp.presence = 'present' AND mt.held_on >= $3 AND mt.held_on <= $4 \
             UNION ALL SELECT 'attendance', ac.held_on, ac.title, 10 FROM duty_people dp \
               JOIN duty_activities ac ON ac.tenant_id = dp.tenant_id AND ac.id = dp.record_id \
               WHERE dp.tenant_id = $1 AND dp.record_kind = 'activity' AND dp.person_kind = 'member' AND dp.person_id = $2 \
               AND dp.presence = 'present' AND ac.held_on >= $3 AND ac.held_on <= $4 \
             ORDER BY 2 DESC",
            args![tenant, member, from, to],
        )
        .await?;
    let mut lines = Vec::new();
    let mut total = Tenths(0);
    for src in PointSource::ALL {
        let units: i64 = records.iter().filter(|r| r.source == src.code()).map(|r| r.tenth_units.max(0)).sum();
        let pts = src.points_for_tenth_units(units as u32);
        total = total + pts;
        lines.push(PointLine {
            source: src.code().into(),
            label: src.label().into(),
            rule: src.rule(),
            units: Tenths(units as u32).to_string(),
            points: pts.to_string(),
        });
    }
    let mut records = records;
    records.truncate(200);
    for r in records.iter_mut().filter(|r| r.source == "visit") {
        r.what = if r.what == "household" { "走访联系户".into() } else { "走访".into() };
    }
    Ok(MemberPoints { member_id: member, name, year, total: total.to_string(), lines, records })
}

/// Publish and finalise a few of the demo's submitted assessments through
/// the services, as the street's account (`by`, an administrator at the
/// top), so that the demo shows results and their frozen evidence. One whose
/// figures lack data stays submitted.
pub async fn publish_demo(db: &Db, tenant: i64, by: i64) -> Result<(), StoreError> {
    let (username, display_name): (String, String) =
        db.one("SELECT username, display_name FROM users WHERE id = $1", args![by]).await?;
    let (org_id, org_name, path): (i64, String, String) = db
        .one(
            "SELECT id, name, path FROM orgs WHERE tenant_id = $1 AND parent_id IS NULL ORDER BY id LIMIT 1",
            args![tenant],
        )
        .await?;
    let grant = scope::Grant { org_id, org_name, path: OrgPath::parse(&path)?, role: redcell_domain::Role::Admin };
    let p = Principal { user_id: by, tenant_id: tenant, username, display_name, grants: vec![grant] };
    let six: Vec<(i64,)> = db
        .all(
            "SELECT x.id FROM assessments x JOIN rubrics r ON r.tenant_id = x.tenant_id AND r.id = x.rubric_id \
             WHERE x.tenant_id = $1 AND x.state = 'submitted' AND r.code = $2 ORDER BY x.id LIMIT 10",
            args![tenant, SIX_IN_ONE],
        )
        .await?;
    // Every submitted five-star assessment is made final, then rated.
    let five: Vec<(i64,)> = db
        .all(
            "SELECT x.id FROM assessments x JOIN rubrics r ON r.tenant_id = x.tenant_id AND r.id = x.rubric_id \
             WHERE x.tenant_id = $1 AND x.state = 'submitted' AND r.code = $2 ORDER BY x.id LIMIT 50",
            args![tenant, stars::FIVE_STAR],
        )
        .await?;
    for (id,) in six.into_iter().step_by(2).chain(five) {
        let id = AssessmentId::new(id);
        match publish(db, &p, id, &RawStep { note: None, days: Some("0".into()) }).await {
            Ok(_) => {
                finalize(db, &p, id, &RawStep { note: Some("演示数据：公示期内无异议".into()), days: None }).await?;
            }
            Err(StoreError::Invalid(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // Most demo communities have no revisits: the street records a survey's satisfaction for them.
    let finals: Vec<(i64,)> = db
        .all(
            "SELECT x.id FROM assessments x JOIN rubrics r ON r.tenant_id = x.tenant_id AND r.id = x.rubric_id \
             WHERE x.tenant_id = $1 AND x.state = 'final' AND r.code = $2 ORDER BY x.id",
            args![tenant, stars::FIVE_STAR],
        )
        .await?;
    let mut rng = DemoRng(61);
    for (id,) in finals {
        let share = 78 + rng.below(21);
        let raw = stars::RawSurvey {
            share: Some(share.to_string()),
            note: Some("演示数据：街道组织入户测评 100 户".into()),
        };
        stars::record_survey(db, &p, AssessmentId::new(id), &raw).await?;
    }
    match stars::rate(db, &p, &stars::RawRate::default()).await {
        Ok(_) | Err(StoreError::Invalid(_)) => {}
        Err(e) => return Err(e),
    }
    // This year's 最美党员中心户 round at the street, two 中心户 nominated and
    // waiting for the street's decision.
    let until = today() + Duration::days(14);
    let round = commend::open_round(
        db,
        &p,
        &commend::RawRound {
            org_id: Some(org_id.to_string()),
            kind: Some("central_household".into()),
            nominate_until: Some(until.to_string()),
            note: Some("演示数据：各支部推荐本年度表现突出的党员中心户".into()),
            ..Default::default()
        },
    )
    .await?;
    let nominees: Vec<(i64,)> = db
        .all("SELECT id FROM members WHERE tenant_id = $1 AND central_household ORDER BY id LIMIT 2", args![tenant])
        .await?;
    for (m,) in nominees {
        commend::nominate(
            db,
            &p,
            redcell_domain::assessment::incentives::RoundId::new(round.id),
            &commend::RawNomination {
                member_id: Some(m.to_string()),
                reasons: Some("演示数据：常年联系所包楼栋住户，及时反映群众诉求".into()),
            },
        )
        .await?;
    }
    Ok(())
}
