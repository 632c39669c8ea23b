//! Star ratings (五星争创 · 评星定级): an assessor above the rated
//! organisations rates, in one round, every organisation under them whose
//! assessment under a star indicator set is final for the half-year. The
//! stars come from the frozen total, the residents' satisfaction (read from
//! the revisits when rating, and kept with the rating) and the set's quotas;
//! the rating keeps the previous one beside it (争星晋位).

use super::{CAP, READ, current, figures, load_rubric, today};
use crate::args;
use crate::audit;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::Principal;
use chrono::{DateTime, Utc};
use redcell_domain::assessment::stars::{Rated, movement, stars_text};
use redcell_domain::assessment::{AssessmentId, Figure, Period, Tenths};
use redcell_domain::{FieldError, OrgId};
use serde::{Deserialize, Serialize};

/// The code of the shipped star indicator set.
pub const FIVE_STAR: &str = "five-star";

/// One organisation's star rating for a half-year.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StarRating {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub rubric_id: i64,
    pub rubric_name: String,
    pub version: i64,
    /// The final assessment the rating was made from.
    pub assessment_id: i64,
    /// `2026H2`.
    pub period: String,
    /// The rating score in tenths of points (assessed total plus satisfaction points).
    pub score_tenths: i64,
    pub of_points: i64,
    /// Satisfied share of revisited requests, in thousandths, when the rating was made.
    pub satisfaction_permille: Option<i64>,
    /// Stars the score alone gives.
    pub by_score: i64,
    pub stars: i64,
    /// Why fewer stars than the score gives (satisfaction floor, quota).
    pub limit_note: Option<String>,
    pub previous_stars: Option<i64>,
    pub rated_by_name: String,
    pub rated_at: DateTime<Utc>,
}

impl StarRating {
    pub fn stars_text(&self) -> String {
        stars_text(self.stars.max(0) as u32)
    }
    pub fn score(&self) -> String {
        Tenths(self.score_tenths.max(0) as u32).to_string()
    }
    pub fn satisfaction(&self) -> String {
        self.satisfaction_permille.map(|s| format!("{:.1}%", s as f64 / 10.0)).unwrap_or_else(|| "—".into())
    }
    /// 首次评定 / 晋位 / 降级 / 保持.
    pub fn movement(&self) -> &'static str {
        movement(self.previous_stars.map(|p| p.max(0) as u32), self.stars.max(0) as u32)
    }
    pub fn period_label(&self) -> String {
        Period::parse("period", &self.period).map(|p| p.label()).unwrap_or_else(|_| self.period.clone())
    }
}

const SELECT: &str = "SELECT s.id, s.org_id, o.name AS org_name, s.rubric_id, r.name AS rubric_name, v.version, \
    s.assessment_id, s.period, s.score_tenths, s.of_points, s.satisfaction_permille, s.by_score, s.stars, s.limit_note, \
    s.previous_stars, s.rated_by_name, s.rated_at \
    FROM star_ratings s JOIN orgs o ON o.tenant_id = s.tenant_id AND o.id = s.org_id \
    JOIN rubrics r ON r.tenant_id = s.tenant_id AND r.id = s.rubric_id \
    JOIN rubric_versions v ON v.tenant_id = s.tenant_id AND v.id = s.version_id";

/// An organisation rated in a round, before the quotas.
struct Pending {
    rated: Rated,
    assessment: i64,
    org: i64,
    version: i64,
    satisfaction: Option<i64>,
    of: u32,
    kind: String,
}

/// A round of rating.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawRate {
    /// The organisation rating those under it; default: the caller's own.
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    /// `2026H2`; default: the current half-year.
    pub period: Option<String>,
    /// The star indicator set's code; default: the shipped five-star set.
    pub rubric: Option<String>,
}

/// What a round did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RatingRound {
    pub rated: Vec<StarRating>,
    /// Final assessments left unrated, with the reason (e.g. no revisits to measure satisfaction).
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub org_id: i64,
    pub org_name: String,
    pub reason: String,
}

/// Rate every organisation under `org_id` whose assessment under the star
/// set is final for the period (again, when rated before: the round is
/// rerun as a whole so that quotas hold among all of them).
pub async fn rate(db: &Db, p: &Principal, raw: &RawRate) -> Result<RatingRound, StoreError> {
    let access = p.access(CAP)?;
    let period = match raw.period.as_deref() {
        Some(s) if !s.trim().is_empty() => Period::parse("period", s)?,
        _ => Period::of(today()),
    };
    let org_id = match redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, false)? {
        Some(o) => o,
        None => OrgId::new(crate::coverage::org_or_home(p, None)?),
    };
    let org = access.org_ref(&mut db.conn(), org_id, "org_id").await?;
    let code = raw.rubric.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or(FIVE_STAR).to_string();
    super::ensure_seeded(db, p.tenant_id).await?;
    let rubric: Option<(i64, String)> = db
        .opt("SELECT id, name FROM rubrics WHERE tenant_id = $1 AND code = $2", args![p.tenant_id, code.clone()])
        .await?;
    let Some((rubric_id, rubric_name)) = rubric else {
        return Err(FieldError::new("rubric", "not_found", format!("没有这套指标体系：{code}")).into());
    };
    let mut a = args![period.code(), rubric_id, org.id];
    let u = org.under("x", &mut a);
    let finals: Vec<(i64, i64, String, String, i64, String)> = db
        .all(
            &format!(
                "SELECT x.id, x.org_id, o.name, o.path, x.version_id, o.kind FROM assessments x \
                 JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.org_id \
                 WHERE x.period = $1 AND x.rubric_id = $2 AND x.org_id <> $3 AND x.state = 'final' AND {u} ORDER BY o.path"
            ),
            a,
        )
        .await?;
    if finals.is_empty() {
        return Err(FieldError::new(
            "period",
            "none",
            format!("{}{}还没有确定结果的「{rubric_name}」考评，不能评星", org.name, period.label()),
        )
        .into());
    }
    // A round belongs to one organisation: what another level rated this
    // half-year is theirs to change (a lower level re-rating its few would
    // get around the quotas of the larger round).
    let mut a = args![period.code(), rubric_id, org.id];
    let u = org.under("s", &mut a);
    let elsewhere: Option<(String, String)> = db
        .opt(
            &format!(
                "SELECT o.name, ro.name FROM star_ratings s JOIN orgs o ON o.tenant_id = s.tenant_id AND o.id = s.org_id \
                 JOIN orgs ro ON ro.tenant_id = s.tenant_id AND ro.id = s.rated_at_org \
                 WHERE s.period = $1 AND s.rubric_id = $2 AND s.rated_at_org <> $3 AND {u} ORDER BY o.path LIMIT 1"
            ),
            a,
        )
        .await?;
    if let Some((who, by)) = elsewhere {
        return Err(
            FieldError::new("org_id", "rated_elsewhere", format!("「{who}」本期已由「{by}」评星，由他们重评")).into()
        );
    }
    let mut c = db.conn();
    let mut rated: Vec<Pending> = Vec::new();
    let mut skipped = Vec::new();
    let mut rules = None;
    for (xid, oid, oname, opath, version_id, kind) in finals {
        let rubric = load_rubric(&mut c, p.tenant_id, version_id).await?;
        let Some(rr) = rubric.rating.clone() else {
            return Err(
                FieldError::new("rubric", "no_rating", format!("「{rubric_name}」没有评星规则（[rating]）")).into()
            );
        };
        let v = current(db, p, AssessmentId::new(xid)).await?;
        let total = Tenths::parse("total", &v.total, Tenths(u32::MAX))?;
        let path = redcell_domain::OrgPath::parse(&opath)?;
        // The revisits measure satisfaction; where there are none, a survey the level above recorded.
        let sat = if rr.needs_satisfaction() {
            match figures(db, p, p.tenant_id, oid, &path, period, today(), &[Figure::Satisfaction])
                .await?
                .remove(&Figure::Satisfaction)
                .and_then(|f| f.value)
            {
                Some(v) => Some(v),
                None => v.a.survey_permille.map(|s| s as f64 / 1000.0),
            }
        } else {
            None
        };
        match rr.rate(total, sat) {
            Some(r) => {
                rated.push(Pending {
                    rated: r,
                    assessment: xid,
                    org: oid,
                    version: version_id,
                    satisfaction: sat.map(|s| (s * 1000.0).round() as i64),
                    of: rr.of,
                    kind,
                });
                rules.get_or_insert(rr);
            }
            None => skipped.push(Skipped {
                org_id: oid,
                org_name: oname,
                reason: "没有回访评价，也没有录入满意度测评，算不出群众满意率（缺数据不按 0 计），暂不评星".into(),
            }),
        }
    }
    let mut tx = db.begin().await?;
    let mut ids = Vec::new();
    // This round's earlier ratings of organisations no longer rated (e.g. no
    // revisits any more) go: a rating stands only as the round made it.
    for k in &skipped {
        let gone: Option<(i64,)> = tx
            .opt(
                "SELECT id FROM star_ratings WHERE tenant_id = $1 AND org_id = $2 AND rubric_id = $3 AND period = $4",
                args![p.tenant_id, k.org_id, rubric_id, period.code()],
            )
            .await?;
        if let Some((gone,)) = gone {
            tx.exec("DELETE FROM star_ratings WHERE tenant_id = $1 AND id = $2", args![p.tenant_id, gone]).await?;
            audit::change(
                &mut tx,
                audit::Actor::of(p),
                audit::Change::Delete,
                "star_rating",
                "star_ratings",
                p.tenant_id,
                gone,
                None,
            )
            .await?;
        }
    }
    if let Some(rules) = rules {
        // Quotas hold among organisations of one kind (communities with communities).
        let mut just: Vec<Rated> = rated.iter().map(|r| r.rated).collect();
        let mut kinds: Vec<&String> = rated.iter().map(|r| &r.kind).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let idx: Vec<usize> = (0..rated.len()).filter(|i| &rated[*i].kind == kind).collect();
            let mut group: Vec<Rated> = idx.iter().map(|i| just[*i]).collect();
            rules.apply_quotas(&mut group);
            for (i, r) in idx.iter().zip(group) {
                just[*i] = r;
            }
        }
        let now = Utc::now();
        for (r, Pending { assessment: xid, org: oid, version: version_id, satisfaction: sat, of, .. }) in
            just.iter().zip(&rated)
        {
            let previous: Option<(i64,)> = tx
                .opt(
                    "SELECT stars FROM star_ratings WHERE tenant_id = $1 AND org_id = $2 AND rubric_id = $3 AND period < $4 \
                     ORDER BY period DESC LIMIT 1",
                    args![p.tenant_id, *oid, rubric_id, period.code()],
                )
                .await?;
            let old: Option<(i64,)> = tx
                .opt(
                    "SELECT id FROM star_ratings WHERE tenant_id = $1 AND org_id = $2 AND rubric_id = $3 AND period = $4",
                    args![p.tenant_id, *oid, rubric_id, period.code()],
                )
                .await?;
            if let Some((old,)) = old {
                tx.exec("DELETE FROM star_ratings WHERE tenant_id = $1 AND id = $2", args![p.tenant_id, old]).await?;
            }
            let id = tx
                .int(
                    "INSERT INTO star_ratings (tenant_id, org_id, rubric_id, version_id, assessment_id, period, score_tenths, of_points, \
                     satisfaction_permille, by_score, stars, limit_note, previous_stars, rated_at_org, rated_by, rated_by_name, rated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
                    args![
                        p.tenant_id,
                        *oid,
                        rubric_id,
                        *version_id,
                        *xid,
                        period.code(),
                        r.score.0 as i64,
                        *of as i64,
                        *sat,
                        r.by_score as i64,
                        r.stars as i64,
                        r.limit.map(|l| l.explain(&rules)),
                        previous.map(|x| x.0),
                        org.id,
                        p.user_id,
                        p.display_name.clone(),
                        now
                    ],
                )
                .await?;
            audit::change(
                &mut tx,
                audit::Actor::of(p),
                if old.is_some() { audit::Change::Update } else { audit::Change::Create },
                "star_rating",
                "star_ratings",
                p.tenant_id,
                id,
                None,
            )
            .await?;
            ids.push(id);
        }
    }
    let mut out = Vec::new();
    for id in ids {
        out.push(tx.one(&format!("{SELECT} WHERE s.tenant_id = $1 AND s.id = $2"), args![p.tenant_id, id]).await?);
    }
    tx.commit().await?;
    Ok(RatingRound { rated: out, skipped })
}

/// A satisfaction survey (入户测评) of an assessed organisation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawSurvey {
    /// Satisfied and basically satisfied, in percent (0–100, one decimal).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub share: Option<String>,
    /// How it was surveyed (who, when, how many households) — required.
    pub note: Option<String>,
}

/// Record residents' satisfaction from a survey for an assessment (by an
/// assessor above the organisation). A star rating uses it only where the
/// revisits give no figure; the records come first.
pub async fn record_survey(
    db: &Db,
    p: &Principal,
    id: AssessmentId,
    raw: &RawSurvey,
) -> Result<super::Assessment, StoreError> {
    let owner = p.access(CAP)?.target(&mut db.conn(), id).await?;
    if !super::standing(p, &owner.path).above {
        return Err(StoreError::Denied(FieldError::new("share", "level", "满意度测评由上级组织录入")));
    }
    let mut e = redcell_domain::Invalid::default();
    let share = raw.share.as_deref().unwrap_or("").trim().trim_end_matches('%').to_string();
    let permille = match share.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) && v.is_finite() => Some((v * 10.0).round() as i64),
        _ => {
            e.push(FieldError::new("share", "range", "满意率填 0 到 100 之间的百分数，如 86.5"));
            None
        }
    };
    let note = e.check(redcell_domain::text::Text::required("note", raw.note.as_deref().unwrap_or(""), 300));
    e.into_result()?;
    let (Some(permille), Some(note)) = (permille, note) else { return Err(StoreError::Internal("survey".into())) };
    let mut tx = db.begin().await?;
    tx.exec(
        "UPDATE assessments SET survey_permille = $1, survey_note = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5",
        args![permille, note.into_string(), Utc::now(), owner.tenant_id, id.get()],
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "assessment_survey",
        "assessments",
        owner.tenant_id,
        id.get(),
        None,
    )
    .await?;
    let x = super::row(&mut tx, owner.tenant_id, id.get()).await?;
    tx.commit().await?;
    Ok(x)
}

/// The ratings of a period under an organisation (where each stands).
pub async fn ratings(
    db: &Db,
    p: &Principal,
    org_id: OrgId,
    period: Option<&str>,
) -> Result<Vec<StarRating>, StoreError> {
    let org = p.access(READ)?.org(&mut db.conn(), org_id).await?;
    let period = match period {
        Some(s) if !s.trim().is_empty() => Period::parse("period", s)?,
        _ => Period::of(today()),
    };
    let mut a = args![period.code()];
    let u = org.under("s", &mut a);
    db.all(&format!("{SELECT} WHERE s.period = $1 AND {u} ORDER BY s.stars DESC, s.score_tenths DESC, o.path"), a).await
}

/// An organisation's star history (评星定级 and 争星晋位), newest first.
pub async fn history(db: &Db, p: &Principal, org_id: OrgId) -> Result<Vec<StarRating>, StoreError> {
    let org = p.access(READ)?.org(&mut db.conn(), org_id).await?;
    db.all(
        &format!("{SELECT} WHERE s.tenant_id = $1 AND s.org_id = $2 ORDER BY s.period DESC, r.name"),
        args![org.tenant_id, org.id],
    )
    .await
}
