//! Demonstration posts (党员示范岗), party roles and the people picker: the
//! pages beside the coverage report.

use super::pages::*;
use crate::Shared;
use crate::auth::PageUser;
use crate::export::ExportLink;
use crate::pages::{CheckedForm, Nav, PageResult, Pager, render, render_status};
use crate::registry::pages::Crumbs;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::NaiveDate;
use redcell_domain::coverage::{PartyRole, RawEndContact, RawPost, parse_party_role};
use redcell_store::coverage::pick::{Candidate, PickKind};
use redcell_store::coverage::posts::{self, MemberDuties, Post, PostFilter};
use redcell_store::coverage::{OrgRef, today};
use redcell_store::registry::{Page, Paged};
use redcell_store::{Capability, Db, Principal, StoreError};
use serde::Deserialize;

// ---- demonstration posts, party roles, the picker

#[derive(Deserialize, Default)]
pub(super) struct PostsQuery {
    all: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "posts.html")]
pub(super) struct PostsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org: OrgRef,
    list: Paged<Post>,
    pager: Pager,
    all: bool,
    form: RawPost,
    errs: Errs,
    choices: Vec<Choice>,
    csrf: String,
    can_edit: bool,
    exports: Vec<ExportLink>,
}

impl PostsPage {
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn choices(&self, field: &str) -> Option<&Choice> {
        choices_for(&self.choices, field)
    }
}

pub(super) async fn show_posts(
    db: &Db,
    u: &PageUser,
    id: i64,
    q: PostsQuery,
    form: RawPost,
    (errs, choices): (Errs, Vec<Choice>),
    status: StatusCode,
) -> PageResult {
    let p = &u.p;
    let all = q.all.as_deref() == Some("1");
    let f = PostFilter { org_id: Some(id), all: Some(all), ..Default::default() };
    let list = posts::list(db, p, &f, Page { page: q.page, per_page: Some(50) }).await?;
    let org = OrgRef::for_cap(&mut db.conn(), p, id, Capability::ReadRegistry).await?;
    let crumbs = crumbs_to(db, p, &org, Some((format!("/orgs/{id}/posts"), "党员示范岗".into()))).await?;
    let pager = Pager::of(&list, format!("/orgs/{id}/posts?{}", if all { "all=1&" } else { "" }));
    let exports = export_link::<redcell_store::coverage::posts::PostList>(
        p,
        &org,
        &[("all", if all { "true".to_string() } else { String::new() })],
    );
    let page = PostsPage {
        nav: Nav::of(u),
        crumbs,
        can_edit: may(p, &org, Capability::EditRegistry),
        org,
        list,
        pager,
        all,
        form,
        errs,
        choices,
        csrf: u.csrf.clone(),
        exports,
    };
    Ok(render_status(status, &page))
}

pub(super) async fn posts_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<PostsQuery>,
) -> PageResult {
    show_posts(&s.db, &u, id, q, RawPost::default(), (Errs::default(), vec![]), StatusCode::OK).await
}

pub(super) async fn create_post(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let mut raw: RawPost = f.to_raw(&[]);
    let (mut picked, mut choices) = (vec![], vec![]);
    pick_field(&s.db, &u.p, &f, "member_id", PickKind::Member, id, &mut raw.member_id, &mut picked, &mut choices)
        .await?;
    let result = match after_pick(picked, raw.validate(today())) {
        Ok(n) => posts::create(&s.db, &u.p, n).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(post) => Ok(Redirect::to(&format!("/posts/{}", post.id)).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_posts(&s.db, &u, id, PostsQuery::default(), raw, (errs, choices), status).await
        }
    }
}

#[derive(Template)]
#[template(path = "post.html")]
pub(super) struct PostPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    post: Post,
    csrf: String,
    can_edit: bool,
    today: NaiveDate,
}

pub(super) async fn post_page(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let post = posts::get(db, p, id).await?;
    let org = OrgRef::for_cap(&mut db.conn(), p, post.org_id, Capability::ReadRegistry).await?;
    let mut crumbs = crumbs_to(db, p, &org, Some((format!("/orgs/{}/posts", org.id), "党员示范岗".into()))).await?;
    crumbs.push((format!("/posts/{id}"), post.name.clone()));
    let can_edit = may(p, &org, Capability::EditRegistry);
    Ok(render(&PostPage { nav: Nav::of(&u), crumbs, post, csrf: u.csrf.clone(), can_edit, today: today() }))
}

pub(super) async fn end_post(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let raw: RawEndContact = f.to_raw(&[]);
    let back = format!("/posts/{id}");
    let result = match raw.validate(today()) {
        Ok(e) => posts::end(&s.db, &u.p, id, e).await,
        Err(inv) => Err(StoreError::Invalid(inv)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            message_page(&u, status, "未能撤销示范岗", &errs.summary(), &back)
        }
    }
}

pub(super) async fn set_party_role(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let back = format!("/members/{id}");
    let result = match parse_party_role(f.get("party_role").unwrap_or("")) {
        Ok(role) => posts::set_party_role(&s.db, &u.p, id, role).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            message_page(&u, status, "未能设置党内职务", &errs.summary(), &back)
        }
    }
}

/// The picker's search for the pages' script (session, same scope as the API).
pub(super) async fn pick_json(
    u: PageUser,
    State(s): State<Shared>,
    Query(q): Query<super::api::PickQuery>,
) -> axum::response::Response {
    match super::api::pick_for(&s.db, &u.p, &q).await {
        Ok(items) => axum::Json(items).into_response(),
        Err(StoreError::Invalid(_)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(Vec::<Candidate>::new())).into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, axum::Json(Vec::<Candidate>::new())).into_response(),
    }
}

/// Posts in a grid (for the grid page).
pub async fn grid_posts(db: &Db, p: &Principal, grid_id: i64) -> Vec<Post> {
    let f = PostFilter { grid_id: Some(grid_id), ..Default::default() };
    posts::list(db, p, &f, Page::first(100)).await.map(|x| x.items).unwrap_or_default()
}

/// A member's party role and posts (for the member page).
pub async fn member_duties(db: &Db, p: &Principal, member_id: i64) -> Option<MemberDuties> {
    posts::member_duties(db, p, member_id).await.ok()
}

/// The party roles for the member page's form.
pub fn party_roles() -> Vec<(&'static str, &'static str)> {
    PartyRole::ALL.iter().map(|r| (r.code(), r.label())).collect()
}
