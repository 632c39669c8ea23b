//! The public face at `/` for residents without an account: find my
//! building, see who serves it (grid, branch, the members who look after
//! its households, masked, and the staff stationed with it), then raise a
//! request about it or follow one. A signed-in account is taken to its own
//! start page instead.

use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{Front, Surface, gates};
use crate::pages::{Nav, PageResult, render};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect};
use redcell_store::home::{self, BuildingServers};
use redcell_store::requests::{self, PublicBuilding};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "public_home.html")]
struct PublicHome {
    nav: Option<Nav>,
    q: String,
    /// (community, its buildings matching the search)
    groups: Vec<(String, Vec<PublicBuilding>)>,
    total: usize,
}

#[derive(Deserialize, Default)]
struct HomeQuery {
    q: Option<String>,
    t: Option<i64>,
}

/// The tenant a resident's page is about: the one named, else the one
/// with request categories, else the first there is.
async fn tenant_of(s: &Shared, t: Option<i64>) -> Result<i64, redcell_store::StoreError> {
    match requests::tenant_or_default(&s.db, t).await {
        Err(redcell_store::StoreError::NotFound) => home::first_tenant(&s.db).await,
        other => other,
    }
}

/// `/`: the signed-in go to their start page; residents find their building.
async fn front(State(s): State<Shared>, Query(q): Query<HomeQuery>, parts: Parts) -> PageResult {
    match crate::kit::gate::resolve(&s, Front::Page, &parts).await {
        Ok(Some(c)) if c.must_change_password => return Ok(Redirect::to("/account/password").into_response()),
        Ok(Some(c)) => {
            let u = PageUser { p: c.p, csrf: c.csrf, must_change_password: false };
            return Ok(crate::registry::pages::landing(&u).into_response());
        }
        // No session, or one that expired: the public face.
        Ok(None) | Err(redcell_store::StoreError::Unauthorized) => {}
        Err(e) => return Err(e.into()),
    }
    let needle = q.q.as_deref().map(str::trim).unwrap_or("").to_string();
    let all = match tenant_of(&s, q.t).await {
        Ok(tenant) => requests::public_buildings(&s.db, tenant).await?,
        // A fresh install: nothing to find yet.
        Err(redcell_store::StoreError::NotFound) => vec![],
        Err(e) => return Err(e.into()),
    };
    let total = all.len();
    let mut groups: Vec<(String, Vec<PublicBuilding>)> = Vec::new();
    for b in all {
        let hit = needle.is_empty()
            || b.name.contains(&needle)
            || b.address.contains(&needle)
            || b.community.contains(&needle);
        if !hit {
            continue;
        }
        let community = home::community_short(&b.community).to_string();
        match groups.last_mut() {
            Some((c, v)) if *c == community => v.push(b),
            _ => groups.push((community, vec![b])),
        }
    }
    Ok(render(&PublicHome { nav: None, q: needle, groups, total }).into_response())
}

#[derive(Template)]
#[template(path = "public_building.html")]
struct BuildingPage {
    nav: Option<Nav>,
    b: BuildingServers,
}

/// Who serves one building.
async fn building(State(s): State<Shared>, Path(id): Path<i64>, Query(q): Query<HomeQuery>) -> PageResult {
    let tenant = tenant_of(&s, q.t).await?;
    let b = home::who_serves(&s.db, tenant, id).await?;
    Ok(render(&BuildingPage { nav: None, b }))
}

pub fn mount(s: &mut Surface) {
    s.get("/", gates::PUBLIC, front).get("/b/{id}", gates::PUBLIC, building);
}
