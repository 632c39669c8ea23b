//! Read pages: from the street down to a household in a few clicks.

use crate::Shared;
use crate::auth::{PageUser, url_encode};
use crate::export::{ExportLink, link};
use crate::kit::{CsrfForm, CsrfMultipart, Surface, gates};
use crate::pages::{Nav, PageResult, Pager, render};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use redcell_domain::ids::*;
use redcell_domain::{Role, i18n};
use redcell_store::files;
use redcell_store::registry::{
    Page, Paged, buildings, cadres, grids, households, members, orgs, residents, search, units,
};
use redcell_store::{Capability, Db, Principal, StoreError};
use serde::Deserialize;

pub type Crumbs = Vec<(String, String)>;

/// Breadcrumbs from the highest visible ancestor down to `org_id`.
pub async fn org_crumbs(db: &Db, p: &Principal, org_id: OrgId) -> Result<Crumbs, StoreError> {
    let org = orgs::get(db, p, org_id).await?;
    Ok(orgs::breadcrumbs(db, p, &org).await?.into_iter().map(|(id, name)| (format!("/orgs/{id}"), name)).collect())
}

/// May the caller edit rows owned by `org_id`?
pub async fn can_edit(db: &Db, p: &Principal, org_id: OrgId) -> bool {
    may(db, p, org_id, Capability::EditRegistry).await
}

/// Organisations where the caller holds `cap`, at most `max_level` deep in the
/// pyramid, as `(id, name indented by depth)` for a select box.
pub async fn org_options(
    db: &Db,
    p: &Principal,
    cap: Capability,
    max_level: u8,
) -> Result<Vec<(String, String)>, StoreError> {
    let scope = p.scope(cap);
    let all = orgs::tree(db, p).await?;
    let top = all.iter().map(|o| o.org_path().depth()).min().unwrap_or(1);
    Ok(all
        .into_iter()
        .filter(|o| scope.contains(&o.org_path()) && o.kind.level() <= max_level)
        .map(|o| (o.id.to_string(), format!("{}{}", "　".repeat(o.org_path().depth() - top), o.name)))
        .collect())
}

/// Does the caller hold `cap` over organisation `org_id`?
pub async fn may(db: &Db, p: &Principal, org_id: OrgId, cap: Capability) -> bool {
    match orgs::get(db, p, org_id).await {
        Ok(o) => p.scope(cap).contains(&o.org_path()),
        Err(_) => false,
    }
}

/// Where a signed-in account starts (`/` shows residents the public face).
pub fn landing(u: &PageUser) -> Redirect {
    if u.p.scope(Capability::ReadRegistry).is_empty() {
        // Members start at today's work; roles without any (residents) at their account.
        if u.p.holds(Capability::RecordOwnVisits) || u.p.holds(Capability::ClaimRequests) {
            return Redirect::to("/my");
        }
        return Redirect::to("/account");
    }
    // A grid worker (and nothing more) starts at the day of their grid.
    let above_grid = [Role::Admin, Role::OrgAdmin, Role::Secretary, Role::Auditor];
    if u.p.has_role(Role::GridWorker) && !above_grid.iter().any(|r| u.p.has_role(*r)) {
        return Redirect::to("/grid/today");
    }
    // Secretaries, communities and the street: their organisation at a glance.
    match u.p.home_orgs().as_slice() {
        [one] => Redirect::to(&format!("/orgs/{one}/glance")),
        _ => Redirect::to("/orgs"),
    }
}

pub struct TreeNode {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub depth: usize,
}

#[derive(Template)]
#[template(path = "tree.html")]
struct TreePage {
    nav: Option<Nav>,
    nodes: Vec<TreeNode>,
}

async fn tree(u: PageUser, State(s): State<Shared>) -> PageResult {
    let all = orgs::tree(&s.db, &u.p).await?;
    let top = all.iter().map(|o| o.org_path().depth()).min().unwrap_or(1);
    // Party groups are many and shown on their branch's page.
    let nodes = all
        .iter()
        .filter(|o| o.kind.0 != redcell_domain::OrgKind::PartyGroup)
        .map(|o| TreeNode {
            id: o.id.get(),
            name: o.name.clone(),
            kind: o.kind.to_string(),
            depth: (o.org_path().depth() - top).min(6),
        })
        .collect();
    Ok(render(&TreePage { nav: Nav::of(&u), nodes }))
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org: orgs::Org,
    counts: orgs::OrgCounts,
    children: Vec<orgs::Org>,
    grids: Paged<grids::Grid>,
    cadres: Paged<cadres::Cadre>,
    can_edit: bool,
    exports: Vec<ExportLink>,
}

async fn org(u: PageUser, State(s): State<Shared>, Path(id): Path<OrgId>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let org = orgs::get(db, p, id).await?;
    let crumbs = org_crumbs(db, p, id).await?;
    let counts = orgs::counts(db, &org).await?;
    let children = orgs::list(db, p, &orgs::OrgFilter { parent_id: Some(id), ..Default::default() }, Page::first(200))
        .await?
        .items;
    let grids = grids::list(db, p, &grids::GridFilter { org_id: Some(id), q: None }, Page::first(100)).await?;
    let cadres =
        cadres::list(db, p, &cadres::CadreFilter { org_id: Some(id), ..Default::default() }, Page::first(50)).await?;
    let can_edit = p.scope(Capability::EditRegistry).contains(&org.org_path());
    let exports = if crate::export::may_export_at(p, &org.org_path()) {
        let o = || vec![("org_id", id.to_string())];
        vec![
            link::<redcell_store::registry::orgs::OrgList>("下级组织", &[("parent_id", id.to_string())]),
            link::<redcell_store::registry::grids::GridList>("网格", &o()),
            link::<redcell_store::registry::cadres::CadreList>("干部", &o()),
            link::<redcell_store::registry::members::MemberList>("党员", &o()),
            link::<redcell_store::registry::residents::ResidentList>("居民", &o()),
        ]
    } else {
        vec![]
    };
    Ok(render(&OrgPage { nav: Nav::of(&u), crumbs, org, counts, children, grids, cadres, can_edit, exports }))
}

#[derive(Template)]
#[template(path = "grid.html")]
struct GridPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    grid: grids::Grid,
    buildings: Paged<buildings::Building>,
    households: i64,
    members: Paged<members::Member>,
    central: Paged<members::Member>,
    units: Paged<units::Unit>,
    coverage: Option<redcell_store::coverage::report::Rate>,
    posts: Vec<redcell_store::coverage::posts::Post>,
    can_edit: bool,
    exports: Vec<ExportLink>,
}

async fn grid(u: PageUser, State(s): State<Shared>, Path(id): Path<GridId>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let grid = grids::get(db, p, id).await?;
    let mut crumbs = org_crumbs(db, p, grid.org_id).await?;
    crumbs.push((format!("/grids/{id}"), grid.name.clone()));
    let buildings =
        buildings::list(db, p, &buildings::BuildingFilter { grid_id: Some(id), q: None }, Page::first(200)).await?;
    let households = households::list(
        db,
        p,
        &households::HouseholdFilter { grid_id: Some(id), ..Default::default() },
        Page::first(1),
    )
    .await?
    .total;
    let members =
        members::list(db, p, &members::MemberFilter { grid_id: Some(id), ..Default::default() }, Page::first(100))
            .await?;
    let central = members::list(
        db,
        p,
        &members::MemberFilter { grid_id: Some(id), central_household: Some(true), ..Default::default() },
        Page::first(100),
    )
    .await?;
    let units =
        units::list(db, p, &units::UnitFilter { grid_id: Some(id), ..Default::default() }, Page::first(100)).await?;
    let can_edit = can_edit(db, p, grid.org_id).await;
    let coverage = crate::coverage::pages::grid_rate(db, p, id.get()).await;
    let exports = if may(db, p, grid.org_id, Capability::Export).await {
        let g = || vec![("grid_id", id.to_string())];
        vec![
            link::<redcell_store::registry::buildings::BuildingList>("楼栋", &g()),
            link::<redcell_store::registry::households::HouseholdList>("住户", &g()),
            link::<redcell_store::registry::members::MemberList>("党员", &g()),
            link::<redcell_store::registry::units::UnitList>("两新组织与公共设施", &g()),
        ]
    } else {
        vec![]
    };
    let posts = crate::coverage::posts::grid_posts(db, p, id.get()).await;
    Ok(render(&GridPage {
        nav: Nav::of(&u),
        crumbs,
        grid,
        buildings,
        households,
        members,
        central,
        units,
        coverage,
        posts,
        can_edit,
        exports,
    }))
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "building.html")]
struct BuildingPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    building: buildings::Building,
    households: Paged<households::Household>,
    central: Vec<members::Member>,
    pager: Pager,
    can_edit: bool,
    exports: Vec<ExportLink>,
}

async fn building(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<BuildingId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let building = buildings::get(db, p, id).await?;
    let mut crumbs = org_crumbs(db, p, building.org_id).await?;
    crumbs.push((format!("/grids/{}", building.grid_id), building.grid_name.clone()));
    crumbs.push((format!("/buildings/{id}"), building.name.clone()));
    let page = Page { page: q.page, per_page: Some(200) };
    let households =
        households::list(db, p, &households::HouseholdFilter { building_id: Some(id), ..Default::default() }, page)
            .await?;
    let central = members::list(
        db,
        p,
        &members::MemberFilter { building_id: Some(id), central_household: Some(true), ..Default::default() },
        Page::first(50),
    )
    .await?
    .items;
    let pager = Pager::of(&households, format!("/buildings/{id}?"));
    let can_edit = can_edit(db, p, building.org_id).await;
    let exports = if may(db, p, building.org_id, Capability::Export).await {
        vec![link::<redcell_store::registry::households::HouseholdList>("住户", &[("building_id", id.to_string())])]
    } else {
        vec![]
    };
    Ok(render(&BuildingPage { nav: Nav::of(&u), crumbs, building, households, central, pager, can_edit, exports }))
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    household: households::Household,
    residents: Paged<residents::Resident>,
    files: Vec<redcell_store::files::FileInfo>,
    today: NaiveDate,
    can_edit: bool,
    csrf: String,
    exports: Vec<ExportLink>,
}

async fn household_crumbs(db: &Db, p: &Principal, h: &households::Household) -> Result<Crumbs, StoreError> {
    let mut crumbs = org_crumbs(db, p, h.org_id).await?;
    if let Ok(g) = grids::get(db, p, h.grid_id).await {
        crumbs.push((format!("/grids/{}", g.id), g.view.name));
    }
    crumbs.push((format!("/buildings/{}", h.building_id), h.building_name.clone()));
    crumbs.push((format!("/households/{}", h.id), format!("{}单元{}", h.unit_no, h.room)));
    Ok(crumbs)
}

async fn household(u: PageUser, State(s): State<Shared>, Path(id): Path<HouseholdId>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let household = households::get(db, p, id).await?;
    let crumbs = household_crumbs(db, p, &household).await?;
    let residents = residents::list(
        db,
        p,
        &residents::ResidentFilter { household_id: Some(id), ..Default::default() },
        Page::first(50),
    )
    .await?;
    let can_edit = can_edit(db, p, household.org_id).await;
    let files = redcell_store::files::list(db, p, redcell_store::files::Owner::Household(id)).await?;
    let exports = if may(db, p, household.org_id, Capability::Export).await {
        vec![link::<redcell_store::registry::residents::ResidentList>("家庭成员", &[("household_id", id.to_string())])]
    } else {
        vec![]
    };
    Ok(render(&HouseholdPage {
        nav: Nav::of(&u),
        crumbs,
        household,
        residents,
        files,
        today: crate::today(),
        can_edit,
        csrf: u.csrf.clone(),
        exports,
    }))
}

#[derive(Template)]
#[template(path = "resident.html")]
struct ResidentPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    r: residents::Resident,
    today: NaiveDate,
    can_edit: bool,
    can_reveal: bool,
    csrf: String,
}

async fn resident(u: PageUser, State(s): State<Shared>, Path(id): Path<ResidentId>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let r = residents::get(db, p, id).await?;
    let mut crumbs = match r.household_id {
        Some(h) => household_crumbs(db, p, &households::get(db, p, h).await?).await?,
        None => org_crumbs(db, p, r.org_id).await?,
    };
    crumbs.push((format!("/residents/{id}"), r.name.clone()));
    let can_edit = can_edit(db, p, r.org_id).await;
    let can_reveal = may(db, p, r.org_id, Capability::RevealPersonal).await;
    Ok(render(&ResidentPage {
        nav: Nav::of(&u),
        crumbs,
        r,
        today: crate::today(),
        can_edit,
        can_reveal,
        csrf: u.csrf.clone(),
    }))
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    m: members::Member,
    can_edit: bool,
    duties: Option<redcell_store::coverage::posts::MemberDuties>,
    roles: Vec<(&'static str, &'static str)>,
    csrf: String,
    /// Where the member stands (自管, 流出 …) and their moves (outflow and inflow cards).
    standing: redcell_domain::mobility::Standing,
    moves: Vec<redcell_store::mobility::Card>,
    transfers: Vec<redcell_store::transfers::Transfer>,
}

async fn member(u: PageUser, State(s): State<Shared>, Path(id): Path<MemberId>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let m = members::get(db, p, id).await?;
    let mut crumbs = org_crumbs(db, p, m.org_id).await?;
    crumbs.push((format!("/members/{id}"), m.name.clone()));
    let can_edit = can_edit(db, p, m.org_id).await;
    let duties = crate::coverage::posts::member_duties(db, p, id.get()).await;
    let (roles, csrf) = (crate::coverage::posts::party_roles(), u.csrf.clone());
    let standing = redcell_store::mobility::standing_of(db, p.tenant_id, id).await?;
    let moves = redcell_store::mobility::member_cards(db, p, id).await?;
    let transfers = redcell_store::transfers::member_transfers(db, p, id).await?;
    Ok(render(&MemberPage { nav: Nav::of(&u), crumbs, m, can_edit, duties, roles, csrf, standing, moves, transfers }))
}

#[derive(Template)]
#[template(path = "cadre.html")]
struct CadrePage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    c: cadres::Cadre,
    stations: Vec<(OrgId, String)>,
    can_edit: bool,
}

async fn cadre(u: PageUser, State(s): State<Shared>, Path(id): Path<CadreId>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let c = cadres::get(db, p, id).await?;
    let stations = cadres::stations(db, p, id).await?;
    let mut crumbs = org_crumbs(db, p, c.org_id).await?;
    crumbs.push((format!("/cadres/{id}"), c.name.clone()));
    let can_edit = can_edit(db, p, c.org_id).await;
    Ok(render(&CadrePage { nav: Nav::of(&u), crumbs, c, stations, can_edit }))
}

#[derive(Deserialize, Default)]
struct MembersQuery {
    org_id: Option<OrgId>,
    grid_id: Option<GridId>,
    central_household: Option<bool>,
    q: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    heading: String,
    org_id: Option<OrgId>,
    grid_id: Option<GridId>,
    q: String,
    list: Paged<members::Member>,
    pager: Pager,
    exports: Vec<ExportLink>,
}

async fn member_list(u: PageUser, State(s): State<Shared>, Query(q): Query<MembersQuery>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let mut crumbs = Crumbs::new();
    let mut heading = "党员名册".to_string();
    if let Some(o) = q.org_id {
        crumbs = org_crumbs(db, p, o).await?;
        heading = format!("{} 党员名册", orgs::get(db, p, o).await?.name);
    }
    if let Some(g) = q.grid_id {
        let grid = grids::get(db, p, g).await?;
        crumbs = org_crumbs(db, p, grid.org_id).await?;
        crumbs.push((format!("/grids/{g}"), grid.name.clone()));
        heading = format!("{} 党员名册", grid.name);
    }
    if q.central_household == Some(true) {
        heading = heading.replace("党员名册", "党员中心户名册");
    }
    let f = members::MemberFilter {
        org_id: q.org_id,
        grid_id: q.grid_id,
        central_household: q.central_household,
        q: q.q.clone(),
        category: None,
        building_id: None,
    };
    let list = members::list(db, p, &f, Page { page: q.page, per_page: Some(100) }).await?;
    let mut base = String::from("/members?");
    for (k, v) in [
        ("org_id", q.org_id.map(|x| x.to_string())),
        ("grid_id", q.grid_id.map(|x| x.to_string())),
        ("central_household", q.central_household.map(|x| x.to_string())),
        ("q", q.q.clone()),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            base.push_str(&format!("{k}={}&", url_encode(&v)));
        }
    }
    let pager = Pager::of(&list, base);
    let exports = if crate::export::may_export(p) {
        let filters = [
            ("org_id", q.org_id.map(|x| x.to_string()).unwrap_or_default()),
            ("grid_id", q.grid_id.map(|x| x.to_string()).unwrap_or_default()),
            ("central_household", q.central_household.map(|x| x.to_string()).unwrap_or_default()),
            ("q", q.q.clone().unwrap_or_default()),
        ];
        vec![link::<redcell_store::registry::members::MemberList>(&heading, &filters)]
    } else {
        vec![]
    };
    Ok(render(&MembersPage {
        nav: Nav::of(&u),
        crumbs,
        heading,
        org_id: q.org_id,
        grid_id: q.grid_id,
        q: q.q.unwrap_or_default(),
        list,
        pager,
        exports,
    }))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    nav: Option<Nav>,
    q: String,
    list: Paged<residents::Resident>,
    pager: Pager,
    exports: Vec<ExportLink>,
}

async fn search_page(u: PageUser, State(s): State<Shared>, Query(q): Query<SearchQuery>) -> PageResult {
    let text = q.q.unwrap_or_default();
    let list = search::people(&s.db, &u.p, &text, Page { page: q.page, per_page: Some(50) }).await?;
    let pager = Pager::of(&list, format!("/search?q={}&", url_encode(&text)));
    let exports = if crate::export::may_export(&u.p) && !text.trim().is_empty() {
        vec![link::<redcell_store::registry::search::SearchList>("查询结果", &[("q", text.clone())])]
    } else {
        vec![]
    };
    Ok(render(&SearchPage { nav: Nav::of(&u), q: text, list, pager, exports }))
}

#[derive(Template)]
#[template(path = "revealed.html")]
struct RevealedPage {
    nav: Option<Nav>,
    r: residents::Revealed,
}

async fn reveal(u: PageUser, State(s): State<Shared>, Path(id): Path<ResidentId>, CsrfForm(f): CsrfForm) -> Response {
    match residents::reveal(&s.db, &u.p, id, f.get("reason").unwrap_or("")).await {
        Ok(r) => {
            let mut resp = render(&RevealedPage { nav: Nav::of(&u), r });
            resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => {
            let refused = matches!(e, StoreError::Forbidden | StoreError::NotFound | StoreError::Denied(_));
            let mut resp = crate::pages::error_page(e);
            if refused {
                resp.extensions_mut().insert(crate::kit::Refused("reveal_denied"));
            }
            resp
        }
    }
}

/// Attach a file (a photo, a scanned form) to a household.
async fn upload(u: PageUser, State(s): State<Shared>, Path(id): Path<HouseholdId>, form: CsrfMultipart) -> PageResult {
    let Some(file) = form.file("file") else {
        return Err(
            StoreError::Invalid(redcell_domain::FieldError::new("file", "required", i18n::REQUIRED).into()).into()
        );
    };
    files::upload(&s.db, &u.p, files::Owner::Household(id), &file.file_name, &file.bytes).await?;
    Ok(Redirect::to(&format!("/households/{id}")).into_response())
}

async fn download(u: PageUser, State(s): State<Shared>, Path(id): Path<FileId>) -> PageResult {
    let (info, data) = files::download(&s.db, &u.p, id.get()).await?;
    let disposition = if info.content_type.starts_with("image/") { "inline" } else { "attachment" };
    Ok((
        [
            (header::CONTENT_TYPE, info.content_type.clone()),
            (header::CONTENT_DISPOSITION, format!("{disposition}; filename=\"file-{}\"", info.id)),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        data,
    )
        .into_response())
}

/// The registry's pages: from the street down to a household in a few
/// clicks, people search, revealing personal data, household files.
pub fn mount(s: &mut Surface) {
    s.get("/orgs", gates::READ, tree)
        .get("/orgs/{id}", gates::READ, org)
        .get("/grids/{id}", gates::READ, grid)
        .get("/buildings/{id}", gates::READ, building)
        .get("/households/{id}", gates::READ, household)
        .get("/residents/{id}", gates::READ, resident)
        .get("/members", gates::READ, member_list)
        .get("/members/{id}", gates::READ, member)
        .get("/cadres/{id}", gates::READ, cadre)
        .get("/search", gates::READ, search_page)
        .post("/residents/{id}/reveal", gates::REVEAL, reveal)
        .get("/files/{id}", gates::READ, download)
        .upload("/households/{id}/files", gates::EDIT, files::MAX_BYTES + 64 * 1024, upload);
    s.nav(10, "/orgs", "组织架构", gates::READ).nav(11, "/search", "查找人员", gates::READ);
}
