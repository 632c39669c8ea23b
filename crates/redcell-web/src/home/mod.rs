//! Today's work of a party member (我的工作): the households they look after
//! with a visit in two taps and a call button for their own contacts, their
//! duties, micro-wishes open to claim, their requests and claims, and their
//! own record. The services decide everything from the member linked to the
//! account; a signed-in account without a member link sees how to get one.
//! [`public`]: the face residents without an account see at `/`.

pub mod glance;
pub mod grid;
pub mod public;

use crate::Shared;
use crate::auth::{ApiUser, PageUser};
use crate::error::{ApiResult, ErrorBody};
use crate::kit::{Access, CsrfForm, Errors, Surface};
use crate::pages::{Nav, PageResult, render_status};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use redcell_domain::duties::VisitPurpose;
use redcell_domain::requests::RawRequest;
use redcell_domain::{Capability, i18n};
use redcell_store::duties::{self, records};
use redcell_store::home::{self, HouseholdPhone, MemberHome};
use redcell_store::requests::{self, Category, Request};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

/// One duty of the member, as the page lists it.
pub struct DutyRow {
    pub rule: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub due: Option<chrono::NaiveDate>,
    pub progress: String,
}

#[derive(Template)]
#[template(path = "my.html")]
struct MyPage {
    nav: Option<Nav>,
    csrf: String,
    today: chrono::NaiveDate,
    home: Option<MemberHome>,
    duties: Vec<DutyRow>,
    claimable: Vec<Request>,
    tasks: Vec<Request>,
    categories: Vec<Category>,
    /// The household whose visit form failed, its errors, and what was typed.
    failed: Option<i64>,
    errs: Errors,
    learned: String,
    /// The household whose phones were revealed, and them.
    called: Option<i64>,
    phones: Vec<HouseholdPhone>,
    flash: Option<String>,
}

impl MyPage {
    fn is_called(&self, household: &i64) -> bool {
        self.called == Some(*household)
    }
    fn errs_for(&self, household: &i64) -> Option<&Errors> {
        (self.failed == Some(*household)).then_some(&self.errs)
    }
}

#[derive(Deserialize, Default)]
struct MyQuery {
    saved: Option<String>,
    request: Option<String>,
}

/// What the page shows besides the lists.
#[derive(Default)]
struct Shown {
    failed: Option<i64>,
    errs: Errors,
    learned: String,
    called: Option<i64>,
    phones: Vec<HouseholdPhone>,
    flash: Option<String>,
}

async fn show(s: &Shared, u: &PageUser, shown: Shown, status: StatusCode) -> PageResult {
    let today = crate::today();
    let home = home::member_home(&s.db, &u.p).await?;
    let duties = duties::my_duties(&s.db, &u.p, today)
        .await?
        .into_iter()
        .filter(|l| home.is_none() || l.subject.kind == "member")
        .take(12)
        .map(|l| {
            let st = l.status(today);
            let focus = l.focus(today);
            DutyRow {
                rule: l.rule_name.clone(),
                status: st.code(),
                status_label: st.label(),
                due: focus.map(|p| p.due),
                progress: focus.map(|p| format!("{}/{}", p.actual, p.expected)).unwrap_or_default(),
            }
        })
        .collect();
    let may_claim = u.p.holds(Capability::ClaimRequests);
    let claimable = if may_claim { requests::claimable(&s.db, &u.p).await? } else { vec![] };
    let tasks = requests::my_tasks(&s.db, &u.p).await?;
    let categories = requests::categories(&s.db, u.p.tenant_id).await?;
    let Shown { failed, errs, learned, called, phones, flash } = shown;
    Ok(render_status(
        status,
        &MyPage {
            nav: Nav::of(u),
            csrf: u.csrf.clone(),
            today,
            home,
            duties,
            claimable,
            tasks,
            categories,
            failed,
            errs,
            learned,
            called,
            phones,
            flash,
        },
    ))
}

async fn my_page(u: PageUser, State(s): State<Shared>, Query(q): Query<MyQuery>) -> PageResult {
    let flash = q.saved.map(|_| match q.request.filter(|c| c.chars().all(|c| c.is_ascii_alphanumeric())) {
        Some(code) => i18n::HOME_VISIT_SAVED_WITH_REQUEST.replace("{code}", &code),
        None => i18n::HOME_VISIT_SAVED.to_string(),
    });
    show(&s, &u, Shown { flash, ..Shown::default() }, StatusCode::OK).await
}

/// One tap: "visited today". With what was learned, and optionally a wish
/// or request of the household passed on in the same step.
async fn visit(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let household = f.get("household").unwrap_or("").trim().to_string();
    let today = crate::today();
    let raw = records::RawVisit {
        visitor_kind: Some("member".into()),
        visitor_id: None,
        target_kind: Some("household".into()),
        target_id: Some(household.clone()),
        visited_on: Some(f.get("visited_on").map(str::to_string).unwrap_or_else(|| today.to_string())),
        purpose: Some(f.get("purpose").map(str::to_string).unwrap_or_else(|| VisitPurpose::Routine.code().into())),
        learned: f.get("learned").map(str::to_string),
    };
    let txt = |k: &str| f.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let raise = txt("req_category").is_some();
    let done = if raise {
        let req =
            RawRequest { category: txt("req_category"), description: txt("req_description"), ..RawRequest::default() };
        records::record_visit_raising(&s.db, &u.p, &raw, req, today).await.map(|(_, sub)| Some(sub.code))
    } else {
        records::record_visit(&s.db, &u.p, &raw, today).await.map(|_| None)
    };
    match done {
        Ok(None) => Ok(Redirect::to("/my?saved=1").into_response()),
        Ok(Some(code)) => Ok(Redirect::to(&format!("/my?saved=1&request={code}")).into_response()),
        Err(e) => {
            let mut errs = Errors::of(e)?;
            for e in errs.0.iter_mut() {
                if ["category", "description", "kind"].contains(&e.field.as_str()) {
                    e.field = format!("req_{}", e.field);
                }
            }
            let shown = Shown {
                failed: household.parse().ok(),
                errs,
                learned: f.get("learned").unwrap_or("").to_string(),
                ..Shown::default()
            };
            show(&s, &u, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Reveal the phones of a household the member looks after, to call them.
async fn call(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, _f: CsrfForm) -> PageResult {
    let phones = home::reveal_household_phones(&s.db, &u.p, id).await?;
    show(&s, &u, Shown { called: Some(id), phones, ..Shown::default() }, StatusCode::OK).await
}

/// The member's home as JSON.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MyHome {
    /// `null` when the account stands for no party member.
    pub home: Option<MemberHome>,
}

/// The caller's member record and the households they look after (masked).
#[utoipa::path(get, path = "/api/v1/me/home", tag = "home", operation_id = "my_home",
    responses((status = 200, body = MyHome), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_home(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<MyHome>> {
    Ok(Json(MyHome { home: home::member_home(&s.db, &p).await? }))
}

/// The phones of a household the caller's member looks after (audited).
#[utoipa::path(post, path = "/api/v1/me/households/{id}/phones", tag = "home", operation_id = "reveal_my_household_phones",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<HouseholdPhone>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_phones(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<HouseholdPhone>>> {
    Ok(Json(home::reveal_household_phones(&s.db, &p, id).await?))
}

/// Members and cadres working on their own: recording their visits or claiming.
pub const OWN_WORK: Access = Access::Any(&[Capability::RecordOwnVisits, Capability::ClaimRequests]);

pub fn mount(s: &mut Surface) {
    public::mount(s);
    grid::mount(s);
    glance::mount(s);
    s.api(OWN_WORK, routes!(api_home)).api(OWN_WORK, routes!(api_phones));
    s.get("/my", OWN_WORK, my_page).post("/my/visit", OWN_WORK, visit).post("/my/households/{id}/call", OWN_WORK, call);
    s.nav(5, "/my", i18n::HOME_NAV, OWN_WORK);
}
