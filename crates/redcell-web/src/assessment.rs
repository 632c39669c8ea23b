//! Assessment (考评) on the web: the half-year's assessments of an
//! organisation's subtree, an assessment's page (measured items with the
//! records behind them, assessor scores, the steps from self-assessment to
//! final, objections), the records behind a measured item, and the rubric
//! versions (public to those assessed). JSON under `/api/v1/assessments` and
//! `/api/v1/rubrics`.

use crate::Shared;
use crate::api::Q;
use crate::auth::{ApiUser, PageUser};
use crate::error::{ApiResult, ErrorBody};
use crate::form::FormData;
use crate::kit::{Access, ApiJson, CsrfForm, Errors, Surface, gates};
use crate::pages::{Nav, PageResult, render_status};
use crate::registry::pages::{Crumbs, org_crumbs};
use crate::requests::flash_to;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use redcell_domain::assessment::{AssessmentId, Period, Stage};
use redcell_domain::{Capability, MemberId, OrgId};
use redcell_store::assessment::{
    self as asm, Assessment, AssessmentView, Brand, ItemEvidence, MemberPoints, Objection, RawAnswer, RawBrand,
    RawObjection, RawOpen, RawScore, RawStep, RawVersion, RubricVersion, RubricView, Score,
};
use serde::Deserialize;
use utoipa_axum::routes;

mod incentives;

/// Assessors: opening, scoring and moving assessments on.
const ASSESS: Access = Access::Any(&[Capability::Assess]);
/// Reading assessments and rubrics: staff who read the registry, and assessors.
const READ: Access = Access::Any(&[Capability::ReadRegistry, Capability::Assess]);

#[derive(Deserialize, Default)]
struct HomeQuery {
    org_id: Option<i64>,
    period: Option<String>,
    flash: Option<String>,
}

// ---- the half-year's assessments

#[derive(Template)]
#[template(path = "assessment_home.html")]
struct HomePage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    period: Period,
    list: Vec<Assessment>,
    rubrics: Vec<RubricVersion>,
    /// Organisations the caller may open an assessment of (none with one this period).
    openable: Vec<(i64, String)>,
    /// The rubrics one may open an assessment under: (code, name).
    rubric_choices: Vec<(String, String)>,
    /// The caller assesses (sees the warnings).
    assessor: bool,
    csrf: String,
    flash: Option<String>,
    errs: Errors,
}

impl HomePage {
    /// A total as a share of its points, 0–100, for the bar.
    fn pct(total: &str, of: &u32) -> u32 {
        let t: f64 = total.parse().unwrap_or(0.0);
        if *of == 0 { 0 } else { ((t * 100.0 / *of as f64).round() as u32).min(100) }
    }
}

async fn home_view(
    s: &Shared,
    u: &PageUser,
    org: Option<i64>,
    period: Option<String>,
    flash: Option<String>,
    errs: Errors,
) -> PageResult {
    let org = OrgId::new(redcell_store::coverage::org_or_home(&u.p, org)?);
    let period = match period.as_deref() {
        Some(p) if !p.trim().is_empty() => Period::parse("period", p).map_err(redcell_store::StoreError::from)?,
        _ => Period::of(crate::today()),
    };
    let list = asm::list(&s.db, &u.p, org, Some(&period.code())).await?;
    let rubrics = asm::rubrics(&s.db, &u.p).await?;
    let openable = asm::openable(&s.db, &u.p, org, period).await?;
    let mut rubric_choices: Vec<(String, String)> = Vec::new();
    for r in &rubrics {
        if !rubric_choices.iter().any(|(c, _)| *c == r.code) {
            rubric_choices.push((r.code.clone(), r.name.clone()));
        }
    }
    // The shipped six-in-one rubric first: it is what most assessments use.
    rubric_choices.sort_by_key(|(c, _)| c != asm::SIX_IN_ONE);
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/assessment?org_id={org}"), "考评".into()));
    Ok(render_status(
        errs.status(),
        &HomePage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            period,
            list,
            rubrics,
            openable,
            rubric_choices,
            assessor: u.p.holds(Capability::Assess),
            csrf: u.csrf.clone(),
            flash,
            errs,
        },
    ))
}

async fn home_page(u: PageUser, State(s): State<Shared>, Query(q): Query<HomeQuery>) -> PageResult {
    home_view(&s, &u, q.org_id, q.period, q.flash, Errors::none()).await
}

async fn open_page(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawOpen = f.to_raw(&[]);
    match asm::open(&s.db, &u.p, &raw).await {
        Ok(x) => Ok(flash_to(&format!("/assessments/{}", x.id), "考评已开始：请先自评", false)),
        Err(e) => {
            let org = f.get("back_org").and_then(|x| x.parse().ok());
            home_view(&s, &u, org, raw.period.clone(), None, Errors::of(e)?).await
        }
    }
}

// ---- an assessment

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    v: AssessmentView,
    stage: Option<Stage>,
    csrf: String,
    flash: Option<String>,
    /// The form the errors belong to (`score-3`, `submit`, `publish`, ...).
    form: String,
    values: FormData,
    errs: Errors,
    today: chrono::NaiveDate,
    may_export: bool,
}

impl AssessmentPage {
    fn on(&self, f: &str) -> bool {
        self.form == f
    }
    fn errs_of(&self, f: &str) -> Errors {
        if self.on(f) { self.errs.clone() } else { Errors::none() }
    }
    fn val(&self, f: &str, name: &str) -> String {
        if self.on(f) { self.values.get(name).unwrap_or("").to_string() } else { String::new() }
    }
    /// What to prefill a score form with: what was typed, else the caller's stage's score, else (on review) the self score.
    fn prefill(&self, no: &u32, name: &str) -> String {
        let f = format!("score-{no}");
        if self.on(&f) {
            return self.values.get(name).unwrap_or("").to_string();
        }
        let Some(i) = self.v.item(*no) else { return String::new() };
        let mine = match self.stage {
            Some(Stage::Review) => i.review_score.as_ref().or(i.self_score.as_ref()),
            _ => i.self_score.as_ref(),
        };
        match (name, mine) {
            ("score", Some(s)) => s.shown(),
            ("reason", Some(s)) => s.reason.clone(),
            ("evidence", Some(s)) => s.evidence.clone().unwrap_or_default(),
            _ => String::new(),
        }
    }
    fn score_label(&self) -> &'static str {
        match self.stage {
            Some(Stage::Review) => "保存审核得分",
            _ => "保存自评得分",
        }
    }
    fn open_objections(&self) -> usize {
        self.v.objections.iter().filter(|o| o.answer.is_none()).count()
    }
    fn in_objection_period(&self) -> bool {
        self.v.a.state == "published" && self.v.a.objections_until.is_none_or(|d| d >= self.today)
    }
}

#[allow(clippy::too_many_arguments)]
async fn assessment_view(
    s: &Shared,
    u: &PageUser,
    id: AssessmentId,
    flash: Option<String>,
    form: &str,
    values: FormData,
    errs: Errors,
) -> PageResult {
    let v = asm::get(&s.db, &u.p, id).await?;
    let v_path = v.a.org_path.clone();
    let org = OrgId::new(v.a.org_id);
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/assessment?org_id={org}&period={}", v.a.period), "考评".into()));
    crumbs.push((format!("/assessments/{id}"), v.a.period_label()));
    Ok(render_status(
        errs.status(),
        &AssessmentPage {
            nav: Nav::of(u),
            crumbs,
            stage: v.scoring_stage(),
            v,
            csrf: u.csrf.clone(),
            flash,
            form: form.to_string(),
            values,
            errs,
            today: crate::today(),
            may_export: redcell_domain::OrgPath::parse(&v_path).is_ok_and(|x| crate::export::may_export_at(&u.p, &x)),
        },
    ))
}

#[derive(Deserialize, Default)]
struct PageQuery {
    flash: Option<String>,
}

async fn assessment_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    assessment_view(&s, &u, id, q.flash, "", FormData(vec![]), Errors::none()).await
}

async fn after<T>(
    s: &Shared,
    u: &PageUser,
    id: AssessmentId,
    form: &str,
    values: FormData,
    r: Result<T, redcell_store::StoreError>,
    ok: &str,
) -> PageResult {
    match r {
        Ok(_) => Ok(flash_to(&format!("/assessments/{id}"), ok, false)),
        Err(e) => assessment_view(s, u, id, None, form, values, Errors::of(e)?).await,
    }
}

fn item_no(f: &FormData) -> u32 {
    f.get("item_no").and_then(|x| x.trim().parse().ok()).unwrap_or(0)
}

async fn score_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    crate::kit::CsrfMultipart { form: f, files }: crate::kit::CsrfMultipart,
) -> PageResult {
    let raw: RawScore = f.to_raw(&[]);
    let no = item_no(&f);
    let file = files
        .iter()
        .find(|x| x.field == "file" && !x.bytes.is_empty())
        .map(|x| asm::EvidenceFile { name: &x.file_name, bytes: &x.bytes });
    let r = asm::score_with(&s.db, &u.p, id, no, &raw, file).await;
    let form = format!("score-{no}");
    after(&s, &u, id, &form, f, r, &format!("第 {no} 项得分已保存")).await
}

async fn submit_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawStep = f.to_raw(&[]);
    let r = asm::submit(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, "submit", f, r, "自评已提交，等待上级审核").await
}

async fn return_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawStep = f.to_raw(&[]);
    let r = asm::send_back(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, "return", f, r, "已退回重新自评").await
}

async fn publish_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawStep = f.to_raw(&[]);
    let r = asm::publish(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, "publish", f, r, "考评结果已公示，公示期内可提出异议").await
}

async fn finalize_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawStep = f.to_raw(&[]);
    let r = asm::finalize(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, "finalize", f, r, "考评结果已确定").await
}

async fn object_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawObjection = f.to_raw(&[]);
    let r = asm::object(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, "object", f, r, "异议已提交，等待上级答复").await
}

async fn answer_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawAnswer = f.to_raw(&[]);
    let form = format!("answer-{}", raw.objection_id.clone().unwrap_or_default());
    let r = asm::answer(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, &form, f, r, "异议已答复").await
}

async fn survey_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: redcell_store::assessment::stars::RawSurvey = f.to_raw(&[]);
    let r = redcell_store::assessment::stars::record_survey(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, "survey", f, r, "满意度测评结果已保存").await
}

/// Record residents' satisfaction from a survey (the level above), used for a star rating without revisits.
#[utoipa::path(post, path = "/api/v1/assessments/{id}/survey", tag = "assessment", operation_id = "assessment_survey",
    params(("id" = i64, Path)), request_body = redcell_store::assessment::stars::RawSurvey,
    responses((status = 200, body = Assessment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_survey(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    ApiJson(raw): ApiJson<redcell_store::assessment::stars::RawSurvey>,
) -> ApiResult<Json<Assessment>> {
    Ok(Json(redcell_store::assessment::stars::record_survey(&s.db, &p, id, &raw).await?))
}

async fn brand_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawBrand = f.to_raw(&[]);
    let v = asm::get(&s.db, &u.p, id).await?;
    let r = asm::add_brand(&s.db, &u.p, OrgId::new(v.a.org_id), &raw).await;
    after(&s, &u, id, "brand", f, r, "党建品牌已登记").await
}

// ---- the half-year report as a workbook

async fn report_workbook(
    db: &redcell_store::Db,
    p: &redcell_store::Principal,
    id: AssessmentId,
) -> Result<axum::response::Response, redcell_store::StoreError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (title, headers, rows) = asm::report_sheet(db, p, id).await?;
    let sheet = redcell_docs::xlsx::Sheet { name: "考评结果", headers: &headers, rows: &rows, numbered: true };
    let bytes = redcell_docs::xlsx::workbook(&title, &[sheet])
        .map_err(|e| redcell_store::StoreError::Internal(e.to_string()))?;
    let name = format!("{title}.xlsx");
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"assessment-{id}.xlsx\"; filename*=UTF-8''{}",
                    crate::auth::url_encode(&name)
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

async fn report_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
) -> Result<axum::response::Response, crate::pages::PageError> {
    Ok(report_workbook(&s.db, &u.p, id).await?)
}

/// The half-year report of an assessment as an xlsx workbook (needs the export right; audited).
#[utoipa::path(get, path = "/api/v1/assessments/{id}/report.xlsx", tag = "assessment", operation_id = "assessment_report", params(("id" = i64, Path)),
    responses((status = 200, description = "xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_report(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
) -> ApiResult<axum::response::Response> {
    Ok(report_workbook(&s.db, &p, id).await?)
}

// ---- the records behind an item

#[derive(Deserialize, Default)]
struct ItemQuery {
    item: Option<u32>,
}

#[derive(Template)]
#[template(path = "assessment_evidence.html")]
struct EvidencePage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    e: ItemEvidence,
}

impl EvidencePage {
    fn href(kind: &str, id: &i64) -> String {
        match kind {
            "member" => format!("/members/{id}"),
            "request" => format!("/requests/{id}"),
            "meeting" => format!("/duties/meetings/{id}"),
            "activity" => format!("/duties/activities/{id}"),
            "duty" => format!("/orgs/{id}/duties"),
            _ => String::new(),
        }
    }
}

async fn evidence_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    Query(q): Query<ItemQuery>,
) -> PageResult {
    let e = asm::evidence(&s.db, &u.p, id, q.item.unwrap_or(0)).await?;
    let v = asm::get(&s.db, &u.p, id).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, OrgId::new(v.a.org_id)).await?;
    crumbs.push((format!("/assessments/{id}"), v.a.period_label()));
    crumbs.push((format!("/assessments/{id}/evidence?item={}", e.no), format!("第{}项", e.no)));
    Ok(render_status(StatusCode::OK, &EvidencePage { nav: Nav::of(&u), crumbs, e }))
}

// ---- rubrics

#[derive(Template)]
#[template(path = "rubric.html")]
struct RubricPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    r: RubricView,
    may_change: bool,
    csrf: String,
    flash: Option<String>,
    values: FormData,
    errs: Errors,
}

impl RubricPage {
    fn val(&self, name: &str) -> String {
        match (name, self.values.get(name)) {
            (_, Some(v)) => v.to_string(),
            ("body", None) => self.r.version.body.clone(),
            _ => String::new(),
        }
    }
}

async fn rubric_view(
    s: &Shared,
    u: &PageUser,
    id: i64,
    flash: Option<String>,
    values: FormData,
    errs: Errors,
) -> PageResult {
    let r = asm::rubric(&s.db, &u.p, id).await?;
    let crumbs =
        vec![("/assessment".to_string(), "考评".to_string()), (format!("/rubrics/{id}"), r.rubric.name.clone())];
    Ok(render_status(
        errs.status(),
        &RubricPage {
            nav: Nav::of(u),
            crumbs,
            may_change: asm::may_change_rubrics(&s.db, &u.p).await?,
            r,
            csrf: u.csrf.clone(),
            flash,
            values,
            errs,
        },
    ))
}

async fn rubric_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    rubric_view(&s, &u, id, q.flash, FormData(vec![]), Errors::none()).await
}

async fn rubric_post(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawVersion = f.to_raw(&[]);
    let current = asm::rubric(&s.db, &u.p, id).await?;
    raw.code = Some(current.version.code.clone());
    match asm::add_version(&s.db, &u.p, &raw).await {
        Ok(v) => Ok(flash_to(&format!("/rubrics/{}", v.id), "新版本已保存：生效前开始的考评仍用原版本", false)),
        Err(e) => rubric_view(&s, &u, id, None, f, Errors::of(e)?).await,
    }
}

// ---- member points

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// Default: this year.
    pub year: Option<i32>,
}

impl YearQuery {
    pub(crate) fn year(&self) -> i32 {
        self.year.unwrap_or_else(|| chrono::Datelike::year(&crate::today())).clamp(2000, 2100)
    }
}

#[derive(Template)]
#[template(path = "points.html")]
struct PointsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    pts: MemberPoints,
    /// Where the year links go (`/my/points` or `/members/{id}/points`).
    base: String,
    mine: bool,
}

async fn my_points_page(u: PageUser, State(s): State<Shared>, Query(q): Query<YearQuery>) -> PageResult {
    let pts = asm::my_points(&s.db, &u.p, q.year()).await?;
    let crumbs = vec![("/my".to_string(), "我的工作".to_string()), ("/my/points".to_string(), "我的积分".to_string())];
    Ok(render_status(
        StatusCode::OK,
        &PointsPage { nav: Nav::of(&u), crumbs, pts, base: "/my/points".into(), mine: true },
    ))
}

async fn member_points_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<MemberId>,
    Query(q): Query<YearQuery>,
) -> PageResult {
    let pts = asm::points(&s.db, &u.p, id, q.year()).await?;
    let crumbs =
        vec![(format!("/members/{id}"), pts.name.clone()), (format!("/members/{id}/points"), "积分".to_string())];
    Ok(render_status(
        StatusCode::OK,
        &PointsPage { nav: Nav::of(&u), crumbs, pts, base: format!("/members/{id}/points"), mine: false },
    ))
}

/// The caller's own points of a year and how each was earned (a member linked to the account).
#[utoipa::path(get, path = "/api/v1/my/points", tag = "assessment", operation_id = "my_points", params(YearQuery),
    responses((status = 200, body = MemberPoints), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_my_points(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<YearQuery>,
) -> ApiResult<Json<MemberPoints>> {
    Ok(Json(asm::my_points(&s.db, &p, q.year()).await?))
}

/// A member's points of a year (staff in scope, or the member).
#[utoipa::path(get, path = "/api/v1/members/{id}/points", tag = "assessment", operation_id = "member_points", params(("id" = i64, Path), YearQuery),
    responses((status = 200, body = MemberPoints), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_member_points(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<MemberId>,
    Q(q): Q<YearQuery>,
) -> ApiResult<Json<MemberPoints>> {
    Ok(Json(asm::points(&s.db, &p, id, q.year()).await?))
}

// ---- API

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The organisation (its subtree); default: the caller's highest.
    pub org_id: Option<i64>,
    /// `2026H2`; default: the current half-year.
    pub period: Option<String>,
}

/// The assessments of an organisation's subtree for a half-year.
#[utoipa::path(get, path = "/api/v1/assessments", tag = "assessment", operation_id = "assessments", params(ListQuery),
    responses((status = 200, body = Vec<Assessment>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_list(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<ListQuery>,
) -> ApiResult<Json<Vec<Assessment>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(asm::list(&s.db, &p, OrgId::new(org), q.period.as_deref()).await?))
}

/// Open the assessment of an organisation for a half-year under the rubric in effect today.
#[utoipa::path(post, path = "/api/v1/assessments", tag = "assessment", operation_id = "assessment_open", request_body = RawOpen,
    responses((status = 201, body = Assessment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_open(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawOpen>,
) -> ApiResult<(StatusCode, Json<Assessment>)> {
    Ok((StatusCode::CREATED, Json(asm::open(&s.db, &p, &raw).await?)))
}

/// An assessment: every item with its figures or scores, the tally, the steps and objections.
#[utoipa::path(get, path = "/api/v1/assessments/{id}", tag = "assessment", operation_id = "assessment", params(("id" = i64, Path)),
    responses((status = 200, body = AssessmentView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_get(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
) -> ApiResult<Json<AssessmentView>> {
    Ok(Json(asm::get(&s.db, &p, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    /// The measured item's number.
    pub item: Option<u32>,
}

/// The records behind a measured item's figures.
#[utoipa::path(get, path = "/api/v1/assessments/{id}/evidence", tag = "assessment", operation_id = "assessment_evidence",
    params(("id" = i64, Path), EvidenceQuery),
    responses((status = 200, body = ItemEvidence), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_evidence(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    Q(q): Q<EvidenceQuery>,
) -> ApiResult<Json<ItemEvidence>> {
    Ok(Json(asm::evidence(&s.db, &p, id, q.item.unwrap_or(0)).await?))
}

/// A score with the item's number.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawItemScore {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub item_no: Option<String>,
    #[serde(flatten)]
    pub score: RawScore,
}

/// Enter a score: self-assessment (the organisation's own assessor, while open) or review (the level above, while submitted).
#[utoipa::path(post, path = "/api/v1/assessments/{id}/scores", tag = "assessment", operation_id = "assessment_score",
    params(("id" = i64, Path)), request_body = RawItemScore,
    responses((status = 200, body = Score), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_score(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    ApiJson(raw): ApiJson<RawItemScore>,
) -> ApiResult<Json<Score>> {
    let no = raw.item_no.as_deref().and_then(|x| x.trim().parse().ok()).unwrap_or(0);
    Ok(Json(asm::score(&s.db, &p, id, no, &raw.score).await?))
}

macro_rules! step_api {
    ($name:ident, $path:literal, $op:literal, $doc:literal, $f:path) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "assessment", operation_id = $op, params(("id" = i64, Path)), request_body = RawStep,
            responses((status = 200, body = Assessment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
            security(("bearer" = [])))]
        pub async fn $name(
            ApiUser(p): ApiUser,
            State(s): State<Shared>,
            Path(id): Path<AssessmentId>,
            ApiJson(raw): ApiJson<RawStep>,
        ) -> ApiResult<Json<Assessment>> {
            Ok(Json($f(&s.db, &p, id, &raw).await?))
        }
    };
}

step_api!(
    api_submit,
    "/api/v1/assessments/{id}/submit",
    "assessment_submit",
    "Submit the self-assessment for review.",
    asm::submit
);
step_api!(
    api_return,
    "/api/v1/assessments/{id}/return",
    "assessment_return",
    "Return a submitted self-assessment (a note is required).",
    asm::send_back
);
step_api!(
    api_publish,
    "/api/v1/assessments/{id}/publish",
    "assessment_publish",
    "Publish the result for objections (freezes the measures).",
    asm::publish
);
step_api!(
    api_finalize,
    "/api/v1/assessments/{id}/finalize",
    "assessment_finalize",
    "Make the result final after the publication period.",
    asm::finalize
);

/// Object to a published result (within the publication period).
#[utoipa::path(post, path = "/api/v1/assessments/{id}/objections", tag = "assessment", operation_id = "assessment_object",
    params(("id" = i64, Path)), request_body = RawObjection,
    responses((status = 201, body = Objection), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_object(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    ApiJson(raw): ApiJson<RawObjection>,
) -> ApiResult<(StatusCode, Json<Objection>)> {
    Ok((StatusCode::CREATED, Json(asm::object(&s.db, &p, id, &raw).await?)))
}

/// Answer an objection (the level above).
#[utoipa::path(post, path = "/api/v1/assessments/{id}/answers", tag = "assessment", operation_id = "assessment_answer",
    params(("id" = i64, Path)), request_body = RawAnswer,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_answer(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    ApiJson(raw): ApiJson<RawAnswer>,
) -> ApiResult<StatusCode> {
    asm::answer(&s.db, &p, id, &raw).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Register a party-building brand of the assessed organisation.
#[utoipa::path(post, path = "/api/v1/assessments/{id}/brands", tag = "assessment", operation_id = "assessment_brand",
    params(("id" = i64, Path)), request_body = RawBrand,
    responses((status = 201, body = Brand), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_brand(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<AssessmentId>,
    ApiJson(raw): ApiJson<RawBrand>,
) -> ApiResult<(StatusCode, Json<Brand>)> {
    let v = asm::get(&s.db, &p, id).await?;
    Ok((StatusCode::CREATED, Json(asm::add_brand(&s.db, &p, OrgId::new(v.a.org_id), &raw).await?)))
}

/// Every rubric version (newest first within a rubric).
#[utoipa::path(get, path = "/api/v1/rubrics", tag = "assessment", operation_id = "rubrics",
    responses((status = 200, body = Vec<RubricVersion>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_rubrics(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<Vec<RubricVersion>>> {
    Ok(Json(asm::rubrics(&s.db, &p).await?))
}

/// A rubric version with its groups, items and measures.
#[utoipa::path(get, path = "/api/v1/rubrics/{id}", tag = "assessment", operation_id = "rubric", params(("id" = i64, Path)),
    responses((status = 200, body = RubricView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_rubric(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> ApiResult<Json<RubricView>> {
    Ok(Json(asm::rubric(&s.db, &p, id).await?))
}

/// A new version of a rubric (or a new rubric), effective today or later; at the tenant's root.
#[utoipa::path(post, path = "/api/v1/rubrics", tag = "assessment", operation_id = "rubric_version", request_body = RawVersion,
    responses((status = 201, body = RubricVersion), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_add_version(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawVersion>,
) -> ApiResult<(StatusCode, Json<RubricVersion>)> {
    Ok((StatusCode::CREATED, Json(asm::add_version(&s.db, &p, &raw).await?)))
}

pub fn mount(s: &mut Surface) {
    s.get("/assessment", READ, home_page)
        .post("/assessment", ASSESS, open_page)
        .get("/assessments/{id}", READ, assessment_page)
        .get("/assessments/{id}/evidence", READ, evidence_page)
        .get("/assessments/{id}/report.xlsx", gates::EXPORT, report_page)
        .upload("/assessments/{id}/score", ASSESS, redcell_store::files::MAX_BYTES + 64 * 1024, score_page)
        .post("/assessments/{id}/submit", ASSESS, submit_page)
        .post("/assessments/{id}/return", ASSESS, return_page)
        .post("/assessments/{id}/publish", ASSESS, publish_page)
        .post("/assessments/{id}/finalize", ASSESS, finalize_page)
        .post("/assessments/{id}/objections", gates::READ, object_page)
        .post("/assessments/{id}/answers", ASSESS, answer_page)
        .post("/assessments/{id}/brands", ASSESS, brand_page)
        .post("/assessments/{id}/survey", ASSESS, survey_page)
        .get("/my/points", crate::home::OWN_WORK, my_points_page)
        .get("/members/{id}/points", READ, member_points_page)
        .get("/rubrics/{id}", READ, rubric_page)
        .post("/rubrics/{id}", ASSESS, rubric_post);
    s.api(READ, routes!(api_list))
        .api(ASSESS, routes!(api_open))
        .api(READ, routes!(api_get))
        .api(READ, routes!(api_evidence))
        .api(gates::EXPORT, routes!(api_report))
        .api(ASSESS, routes!(api_score))
        .api(ASSESS, routes!(api_submit))
        .api(ASSESS, routes!(api_return))
        .api(ASSESS, routes!(api_publish))
        .api(ASSESS, routes!(api_finalize))
        .api(gates::READ, routes!(api_object))
        .api(ASSESS, routes!(api_answer))
        .api(ASSESS, routes!(api_brand))
        .api(ASSESS, routes!(api_survey))
        .api(crate::home::OWN_WORK, routes!(api_my_points))
        .api(READ, routes!(api_member_points))
        .api(READ, routes!(api_rubrics))
        .api(READ, routes!(api_rubric))
        .api(ASSESS, routes!(api_add_version));
    s.nav(48, "/assessment", "考评", ASSESS);
    incentives::mount(s);
}
