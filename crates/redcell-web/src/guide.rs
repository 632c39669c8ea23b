//! The service guide (办事指南) on the web: a public page residents read
//! without an account, the staff page of an organisation's errands with a
//! form to add one, edit and delete forms, the JSON resource and its export.

use crate::Shared;
use crate::auth::{ApiUser, PageUser};
use crate::error::{ApiResult, ErrorBody};
use crate::kit::{ApiJson, CsrfForm, Errors, Q, Surface, gates};
use crate::pages::{Nav, PageResult, render, render_status};
use crate::registry::pages::{Crumbs, org_crumbs};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use redcell_domain::guide::{GuideEntryId, RawGuideEntry};
use redcell_domain::requests::ErrandClass;
use redcell_domain::{Capability, OrgId};
use redcell_store::guide::{self, GuideEntry, GuideEntryView, GuideFilter};
use redcell_store::registry::{Page, Paged};
use serde::Deserialize;
use utoipa_axum::routes;

/// The classes for the form's select, as (code, label).
fn classes() -> Vec<(String, String)> {
    ErrandClass::ALL.iter().map(|c| (c.code().to_string(), c.label().to_string())).collect()
}

/// The form's values from a stored entry.
fn raw_of(e: &GuideEntry) -> RawGuideEntry {
    RawGuideEntry {
        org_id: Some(e.org_id.to_string()),
        name: Some(e.name.clone()),
        class: Some(e.class.code().to_string()),
        materials: Some(e.materials.clone()),
        working_days: Some(e.working_days.to_string()),
        place: Some(e.place.clone()),
        proxy: e.proxy.clone(),
    }
}

fn v(x: &Option<String>) -> &str {
    x.as_deref().unwrap_or("")
}

/// The three views of one template: the public guide, an organisation's
/// errands with the add form, and the edit form of one errand.
#[derive(Template)]
#[template(path = "guide.html")]
struct GuidePage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    /// `public`, `staff` or `edit`.
    view: &'static str,
    title: String,
    entries: Vec<GuideEntryView>,
    /// The tenant of the public page (for the link to submit a request).
    tenant: i64,
    org_id: Option<OrgId>,
    can_edit: bool,
    csrf: String,
    /// Where the form posts (staff: add; edit: save).
    action: String,
    form: RawGuideEntry,
    errs: Errors,
    classes: Vec<(String, String)>,
}

impl GuidePage {
    fn v(x: &Option<String>) -> &str {
        v(x)
    }
}

#[derive(Deserialize)]
struct TenantQuery {
    t: Option<i64>,
}

/// The public guide of a tenant: what to bring, how long, where to go.
async fn public_page(State(s): State<Shared>, Query(q): Query<TenantQuery>) -> PageResult {
    let tenant = redcell_store::requests::tenant_or_default(&s.db, q.t).await?;
    let entries = guide::public(&s.db, tenant, &GuideFilter::default()).await?.into_iter().map(|e| e.view).collect();
    Ok(render(&GuidePage {
        nav: None,
        crumbs: vec![],
        view: "public",
        title: "办事指南".into(),
        entries,
        tenant,
        org_id: None,
        can_edit: false,
        csrf: String::new(),
        action: String::new(),
        form: RawGuideEntry::default(),
        errs: Errors::none(),
        classes: classes(),
    }))
}

async fn staff_view(s: &Shared, u: &PageUser, org: OrgId, form: RawGuideEntry, errs: Errors) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let o = redcell_store::registry::orgs::get(db, p, org).await?;
    let list =
        guide::list(db, p, &GuideFilter { org_id: Some(org), ..Default::default() }, Page::first(Page::MAX)).await?;
    let status = errs.status();
    let mut crumbs = org_crumbs(db, p, org).await?;
    crumbs.push((format!("/orgs/{org}/guide"), "办事指南".into()));
    Ok(render_status(
        status,
        &GuidePage {
            nav: Nav::of(u),
            crumbs,
            view: "staff",
            title: format!("{} 办事指南", o.name),
            entries: list.items.into_iter().map(|e| e.view).collect(),
            tenant: p.tenant_id,
            org_id: Some(org),
            can_edit: p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            action: format!("/orgs/{org}/guide"),
            form,
            errs,
            classes: classes(),
        },
    ))
}

/// The guide of the caller's own organisation (the navigation's entry).
async fn mine(u: PageUser) -> PageResult {
    match u.p.home_orgs().first() {
        Some(o) => Ok(Redirect::to(&format!("/orgs/{o}/guide")).into_response()),
        None => Ok(Redirect::to("/guide").into_response()),
    }
}

/// An organisation's errands, with the form to add one.
async fn staff_page(u: PageUser, State(s): State<Shared>, Path(org): Path<OrgId>) -> PageResult {
    let form = RawGuideEntry { org_id: Some(org.to_string()), ..Default::default() };
    staff_view(&s, &u, org, form, Errors::none()).await
}

async fn create(u: PageUser, State(s): State<Shared>, Path(org): Path<OrgId>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawGuideEntry = f.to_raw(&[]);
    raw.org_id = Some(org.to_string());
    let result = match raw.validate() {
        Ok(n) => guide::create(&s.db, &u.p, n).await,
        Err(inv) => Err(inv.into()),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{org}/guide")).into_response()),
        Err(e) => staff_view(&s, &u, org, raw, Errors::of(e)?).await,
    }
}

async fn edit_view(s: &Shared, u: &PageUser, id: GuideEntryId, form: RawGuideEntry, errs: Errors) -> PageResult {
    let e = guide::get(&s.db, &u.p, id).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, e.org_id).await?;
    crumbs.push((format!("/orgs/{}/guide", e.org_id), "办事指南".into()));
    let status = errs.status();
    Ok(render_status(
        status,
        &GuidePage {
            nav: Nav::of(u),
            crumbs,
            view: "edit",
            title: format!("修改：{}", e.name),
            entries: vec![e.view.clone()],
            tenant: u.p.tenant_id,
            org_id: Some(e.org_id),
            can_edit: true,
            csrf: u.csrf.clone(),
            action: format!("/guide/{id}/edit"),
            form,
            errs,
            classes: classes(),
        },
    ))
}

async fn edit_form(u: PageUser, State(s): State<Shared>, Path(id): Path<GuideEntryId>) -> PageResult {
    let e = guide::get(&s.db, &u.p, id).await?;
    edit_view(&s, &u, id, raw_of(&e), Errors::none()).await
}

async fn update(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<GuideEntryId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawGuideEntry = f.to_raw(&[]);
    let result = match raw.validate() {
        Ok(n) => guide::update(&s.db, &u.p, id, n).await,
        Err(inv) => Err(inv.into()),
    };
    match result {
        Ok(e) => Ok(Redirect::to(&format!("/orgs/{}/guide", e.org_id)).into_response()),
        Err(e) => edit_view(&s, &u, id, raw, Errors::of(e)?).await,
    }
}

async fn delete(u: PageUser, State(s): State<Shared>, Path(id): Path<GuideEntryId>, _form: CsrfForm) -> PageResult {
    let e = guide::get(&s.db, &u.p, id).await?;
    guide::delete(&s.db, &u.p, id).await?;
    Ok(Redirect::to(&format!("/orgs/{}/guide", e.org_id)).into_response())
}

/// The guide inside the caller's scope.
#[utoipa::path(get, path = "/api/v1/guide", tag = "guide", params(Page, GuideFilter),
    responses((status = 200, body = Paged<GuideEntryView>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_list(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(page): Q<Page>,
    Q(f): Q<GuideFilter>,
) -> ApiResult<Json<Paged<GuideEntryView>>> {
    Ok(Json(guide::list(&s.db, &p, &f, page).await?.map(|e| e.view)))
}

/// One errand of the guide.
#[utoipa::path(get, path = "/api/v1/guide/{id}", tag = "guide", params(("id" = GuideEntryId, Path)),
    responses((status = 200, body = GuideEntryView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_get(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<GuideEntryId>,
) -> ApiResult<Json<GuideEntryView>> {
    Ok(Json(guide::get(&s.db, &p, id).await?.view))
}

/// Add an errand to an organisation's guide.
#[utoipa::path(post, path = "/api/v1/guide", tag = "guide", request_body = RawGuideEntry,
    responses((status = 201, body = GuideEntryView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_create(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawGuideEntry>,
) -> ApiResult<(StatusCode, Json<GuideEntryView>)> {
    let e = guide::create(&s.db, &p, raw.validate()?).await?;
    Ok((StatusCode::CREATED, Json(e.view)))
}

/// Change an errand (the whole entry is sent).
#[utoipa::path(put, path = "/api/v1/guide/{id}", tag = "guide", params(("id" = GuideEntryId, Path)),
    request_body = RawGuideEntry,
    responses((status = 200, body = GuideEntryView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_update(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<GuideEntryId>,
    ApiJson(raw): ApiJson<RawGuideEntry>,
) -> ApiResult<Json<GuideEntryView>> {
    Ok(Json(guide::update(&s.db, &p, id, raw.validate()?).await?.view))
}

/// Remove an errand.
#[utoipa::path(delete, path = "/api/v1/guide/{id}", tag = "guide", params(("id" = GuideEntryId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_delete(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<GuideEntryId>,
) -> ApiResult<StatusCode> {
    guide::delete(&s.db, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mount the guide: its public page, staff pages, API and export.
pub fn mount(s: &mut Surface) {
    s.get("/guide", gates::PUBLIC, public_page)
        .get("/guide/mine", gates::READ, mine)
        .get("/orgs/{id}/guide", gates::READ, staff_page)
        .post("/orgs/{id}/guide", gates::EDIT, create)
        .get("/guide/{id}/edit", gates::EDIT, edit_form)
        .post("/guide/{id}/edit", gates::EDIT, update)
        .post("/guide/{id}/delete", gates::EDIT, delete);
    s.api(gates::READ, routes!(api_list))
        .api(gates::READ, routes!(api_get))
        .api(gates::EDIT, routes!(api_create))
        .api(gates::EDIT, routes!(api_update))
        .api(gates::EDIT, routes!(api_delete));
    s.exports(guide::exports());
    s.nav(36, "/guide/mine", "办事指南", gates::READ);
}
