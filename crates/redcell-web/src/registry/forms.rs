//! Create and edit forms for every registry resource. One generic flow
//! (`new` → `create`, `edit` → `update`, `delete`), with each resource saying
//! only which fields it has and which service to call.

use super::pages::{Crumbs, can_edit};
use super::raw::{self, Validate};
use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{CsrfForm, Surface, gates};
use crate::pages::{Nav, PageError, render_status};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use redcell_domain::ids::*;
use redcell_domain::input::*;
use redcell_domain::registry::{Education, PartyPost};
use redcell_domain::{CadreKind, CodeEnum, HouseholdTag, Invalid, MemberCategory, MemberStatus, OrgKind, UnitKind};
use redcell_store::registry::{self as reg, Page};
use redcell_store::{Capability, Db, Principal, StoreError};
use serde::Deserialize;
use std::future::Future;

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `number`, `date`, `tel`, `select`, `textarea`, `checkbox`, `checkboxes`, `hidden`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<Opt>,
    pub error: Option<String>,
    pub hint: Option<String>,
    pub required: bool,
}

impl Field {
    fn new(name: &'static str, label: &'static str, kind: &'static str, value: &Option<String>) -> Field {
        Field {
            name,
            label,
            kind,
            value: value.clone().unwrap_or_default(),
            options: vec![],
            error: None,
            hint: None,
            required: false,
        }
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
    fn select(name: &'static str, label: &'static str, value: &Option<String>, opts: Vec<(String, String)>) -> Field {
        let v = value.clone().unwrap_or_default();
        let options = opts.into_iter().map(|(value, label)| Opt { selected: value == v, value, label }).collect();
        Field { options, ..Field::new(name, label, "select", value) }
    }
    fn enumeration<E: CodeEnum>(name: &'static str, label: &'static str, value: &Option<String>, all: &[E]) -> Field {
        Field::select(name, label, value, all.iter().map(|e| (e.code().to_string(), e.label().to_string())).collect())
    }
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    title: String,
    action: String,
    cancel: String,
    csrf: String,
    fields: Vec<Field>,
    errors_summary: String,
    delete_action: Option<String>,
}

/// Where a "new" form was opened from.
#[derive(Deserialize, Default, Clone)]
pub struct Ctx {
    parent: Option<i64>,
    org: Option<i64>,
    grid: Option<i64>,
    building: Option<i64>,
    household: Option<i64>,
    resident: Option<i64>,
}

/// Organisations the caller may edit under, indented by depth.
async fn org_options(db: &Db, p: &Principal, max_level: u8) -> Result<Vec<(String, String)>, StoreError> {
    super::pages::org_options(db, p, Capability::EditRegistry, max_level).await
}

fn opt_id(v: Option<i64>) -> Option<String> {
    v.map(|x| x.to_string())
}

/// One registry resource as the forms see it.
pub trait Resource: Send + Sync + 'static {
    type Raw: Validate + Send + Sync;
    type Row: Send;
    /// The type of the resource's id.
    type Id: TypedId + serde::de::DeserializeOwned + Send;
    /// URL segment, e.g. `orgs`.
    const PATH: &'static str;
    /// Name shown in titles, e.g. `组织`.
    const NOUN: &'static str;
    /// Form fields that are lists (repeated keys).
    const LISTS: &'static [&'static str] = &[];
    /// Fields never echoed into an edit form; left empty they keep the stored value.
    const SENSITIVE: &'static [&'static str] = &[];

    fn initial(ctx: &Ctx) -> Self::Raw;
    fn fields(db: &Db, p: &Principal, raw: &Self::Raw) -> impl Future<Output = Result<Vec<Field>, StoreError>> + Send;
    fn base(db: &Db, p: &Principal, id: Self::Id) -> impl Future<Output = Result<Self::Raw, StoreError>> + Send;
    /// The organisation owning the row (to decide whether it may be edited).
    fn owner(db: &Db, p: &Principal, id: Self::Id) -> impl Future<Output = Result<OrgId, StoreError>> + Send;
    fn create(
        db: &Db,
        p: &Principal,
        n: <Self::Raw as Validate>::New,
    ) -> impl Future<Output = Result<Self::Id, StoreError>> + Send;
    fn update(
        db: &Db,
        p: &Principal,
        id: Self::Id,
        n: <Self::Raw as Validate>::New,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete(db: &Db, p: &Principal, id: Self::Id) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Where to go after a delete.
    fn after_delete(raw: &Self::Raw) -> String;
    /// The page that shows the row (after a save, and the form's cancel).
    fn shown_at(id: Self::Id, _raw: &Self::Raw) -> String {
        format!("/{}/{id}", Self::PATH)
    }
}

fn blank_sensitive<R: Resource>(raw: &R::Raw) -> R::Raw {
    let mut v = serde_json::to_value(raw).unwrap_or_default();
    for f in R::SENSITIVE {
        v[*f] = serde_json::Value::Null;
    }
    serde_json::from_value(v).unwrap_or_default()
}

fn keep_sensitive<R: Resource>(submitted: &R::Raw, stored: &R::Raw) -> R::Raw {
    let mut v = serde_json::to_value(submitted).unwrap_or_default();
    let old = serde_json::to_value(stored).unwrap_or_default();
    for f in R::SENSITIVE {
        if v[*f].as_str().is_none_or(|s| s.trim().is_empty()) {
            v[*f] = old[*f].clone();
        }
    }
    serde_json::from_value(v).unwrap_or_default()
}

/// Title and links of a form page.
struct FormMeta {
    title: String,
    action: String,
    cancel: String,
    delete_action: Option<String>,
}

impl FormMeta {
    fn new_of<R: Resource>(cancel: String) -> FormMeta {
        FormMeta {
            title: format!("新增{}", R::NOUN), action: format!("/{}/new", R::PATH), cancel, delete_action: None
        }
    }
    fn edit_of<R: Resource>(id: R::Id, raw: &R::Raw) -> FormMeta {
        let p = R::PATH;
        FormMeta {
            title: format!("编辑{}", R::NOUN),
            action: format!("/{p}/{id}/edit"),
            cancel: R::shown_at(id, raw),
            delete_action: Some(format!("/{p}/{id}/delete")),
        }
    }
}

/// Render a form; `stored` (on edit) supplies the masked hints of sensitive fields.
async fn show<R: Resource>(
    db: &Db,
    u: &PageUser,
    raw: &R::Raw,
    errors: Option<&Invalid>,
    meta: FormMeta,
    sensitive_hint: Option<&R::Raw>,
) -> Result<Response, StoreError> {
    let mut fields = R::fields(db, &u.p, raw).await?;
    if let Some(stored) = sensitive_hint {
        let masked = serde_json::to_value(stored).unwrap_or_default();
        for f in fields.iter_mut().filter(|f| R::SENSITIVE.contains(&f.name)) {
            let shown = masked[f.name].as_str().map(|s| {
                if f.name == "id_number" {
                    redcell_domain::ident::mask_id(s)
                } else {
                    redcell_domain::phone::mask_phone(s)
                }
            });
            if let Some(m) = shown {
                f.hint = Some(format!("当前：{m}。留空则保持不变。"));
            }
        }
    }
    let mut summary = String::new();
    if let Some(inv) = errors {
        for e in &inv.0 {
            match fields.iter_mut().find(|f| f.name == e.field) {
                Some(f) if f.kind != "hidden" => f.error = Some(e.message.clone()),
                _ => summary.push_str(&format!("{}：{}。", e.field, e.message)),
            }
        }
    }
    let page = FormPage {
        nav: Nav::of(u),
        crumbs: vec![(meta.cancel.clone(), "返回".into())],
        title: meta.title,
        action: meta.action,
        cancel: meta.cancel,
        csrf: u.csrf.clone(),
        fields,
        errors_summary: summary,
        delete_action: meta.delete_action,
    };
    let status = if errors.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(render_status(status, &page))
}

fn cancel_for(raw_ctx: &Ctx) -> String {
    match raw_ctx {
        Ctx { parent: Some(o), .. } | Ctx { org: Some(o), .. } => format!("/orgs/{o}"),
        Ctx { grid: Some(g), .. } => format!("/grids/{g}"),
        Ctx { building: Some(b), .. } => format!("/buildings/{b}"),
        Ctx { household: Some(h), .. } => format!("/households/{h}"),
        Ctx { resident: Some(r), .. } => format!("/residents/{r}"),
        _ => "/".into(),
    }
}

async fn new_form<R: Resource>(
    u: PageUser,
    State(s): State<Shared>,
    Query(ctx): Query<Ctx>,
) -> Result<Response, PageError> {
    let raw = R::initial(&ctx);
    Ok(show::<R>(&s.db, &u, &raw, None, FormMeta::new_of::<R>(cancel_for(&ctx)), None).await?)
}

/// Turn a store error from a write into the form again (field errors) or an error page.
async fn write_failed<R: Resource>(
    db: &Db,
    u: &PageUser,
    raw: &R::Raw,
    e: StoreError,
    meta: FormMeta,
    stored: Option<&R::Raw>,
) -> Result<Response, PageError> {
    let inv = match e {
        StoreError::Invalid(inv) => inv,
        StoreError::Denied(f) => Invalid(vec![f]),
        e => return Err(e.into()),
    };
    Ok(show::<R>(db, u, raw, Some(&inv), meta, stored).await?)
}

async fn create<R: Resource>(
    u: PageUser,
    State(s): State<Shared>,
    CsrfForm(f): CsrfForm,
) -> Result<Response, PageError> {
    let raw: R::Raw = f.to_raw(R::LISTS);
    let cancel = crate::auth::safe_next(f.get("_cancel"));
    let result = match raw.check() {
        Ok(n) => R::create(&s.db, &u.p, n).await,
        Err(inv) => Err(StoreError::Invalid(inv)),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&R::shown_at(id, &raw)).into_response()),
        Err(e) => write_failed::<R>(&s.db, &u, &raw, e, FormMeta::new_of::<R>(cancel), None).await,
    }
}

async fn edit_form<R: Resource>(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<R::Id>,
) -> Result<Response, PageError> {
    let stored = R::base(&s.db, &u.p, id).await?;
    let org = R::owner(&s.db, &u.p, id).await?;
    if !can_edit(&s.db, &u.p, org).await {
        return Err(StoreError::Forbidden.into());
    }
    let raw = blank_sensitive::<R>(&stored);
    Ok(show::<R>(&s.db, &u, &raw, None, FormMeta::edit_of::<R>(id, &stored), Some(&stored)).await?)
}

async fn update<R: Resource>(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<R::Id>,
    CsrfForm(f): CsrfForm,
) -> Result<Response, PageError> {
    let stored = R::base(&s.db, &u.p, id).await?;
    let submitted: R::Raw = f.to_raw(R::LISTS);
    let raw = keep_sensitive::<R>(&submitted, &stored);
    let result = match raw.check() {
        Ok(n) => R::update(&s.db, &u.p, id, n).await,
        Err(inv) => Err(StoreError::Invalid(inv)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&R::shown_at(id, &raw)).into_response()),
        Err(e) => {
            write_failed::<R>(
                &s.db,
                &u,
                &blank_sensitive::<R>(&submitted),
                e,
                FormMeta::edit_of::<R>(id, &stored),
                Some(&stored),
            )
            .await
        }
    }
}

async fn delete<R: Resource>(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<R::Id>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let stored = R::base(&s.db, &u.p, id).await?;
    let result = R::delete(&s.db, &u.p, id).await;
    match result {
        Ok(()) => Ok(Redirect::to(&R::after_delete(&stored)).into_response()),
        Err(StoreError::Invalid(inv)) => Err(PageError::from(StoreError::Invalid(inv))),
        Err(e) => Err(e.into()),
    }
}

fn mount_one<R: Resource>(s: &mut Surface) {
    let p = R::PATH;
    s.get(&format!("/{p}/new"), gates::EDIT, new_form::<R>)
        .post(&format!("/{p}/new"), gates::EDIT, create::<R>)
        .get(&format!("/{p}/{{id}}/edit"), gates::EDIT, edit_form::<R>)
        .post(&format!("/{p}/{{id}}/edit"), gates::EDIT, update::<R>)
        .post(&format!("/{p}/{{id}}/delete"), gates::EDIT, delete::<R>);
}

/// The create, edit and delete forms of every registry resource.
pub fn mount(s: &mut Surface) {
    mount_one::<OrgForm>(s);
    mount_one::<GridForm>(s);
    mount_one::<BuildingForm>(s);
    mount_one::<HouseholdForm>(s);
    mount_one::<ResidentForm>(s);
    mount_one::<MemberForm>(s);
    mount_one::<CadreForm>(s);
    mount_one::<UnitForm>(s);
}

fn parent_url(kind: &str, id: &Option<String>) -> String {
    match id {
        Some(i) if !i.is_empty() => format!("/{kind}/{i}"),
        _ => "/orgs".into(),
    }
}

// ---- the resources ----

pub struct OrgForm;
impl Resource for OrgForm {
    type Id = OrgId;
    type Raw = RawOrg;
    type Row = reg::orgs::Org;
    const PATH: &'static str = "orgs";
    const NOUN: &'static str = "组织";
    /// Phones are masked like everyone else's; left empty, the stored one is kept.
    const SENSITIVE: &'static [&'static str] = &["phone"];
    fn initial(ctx: &Ctx) -> RawOrg {
        RawOrg { parent_id: opt_id(ctx.parent), ..Default::default() }
    }
    async fn fields(db: &Db, p: &Principal, r: &RawOrg) -> Result<Vec<Field>, StoreError> {
        Ok(vec![
            Field::select("parent_id", "上级组织", &r.parent_id, org_options(db, p, 4).await?).required(),
            Field::enumeration("kind", "组织类型", &r.kind, OrgKind::ALL).required(),
            Field::new("code", "组织编码", "text", &r.code)
                .required()
                .hint("字母、数字、短横线，街道内唯一，如 SQ01-ZB02"),
            Field::new("name", "组织名称", "text", &r.name).required(),
            Field::new("secretary", "书记", "text", &r.secretary),
            Field::new("phone", "联系电话", "tel", &r.phone),
        ])
    }
    async fn base(db: &Db, p: &Principal, id: Self::Id) -> Result<RawOrg, StoreError> {
        raw::org_base(db, p, id).await
    }
    async fn owner(_db: &Db, _p: &Principal, id: Self::Id) -> Result<OrgId, StoreError> {
        Ok(id)
    }
    async fn create(db: &Db, p: &Principal, n: NewOrg) -> Result<Self::Id, StoreError> {
        Ok(reg::orgs::create(db, p, n).await?.id)
    }
    async fn update(db: &Db, p: &Principal, id: Self::Id, n: NewOrg) -> Result<(), StoreError> {
        reg::orgs::update(db, p, id, n).await.map(|_| ())
    }
    async fn delete(db: &Db, p: &Principal, id: Self::Id) -> Result<(), StoreError> {
        reg::orgs::delete(db, p, id).await
    }
    fn after_delete(r: &RawOrg) -> String {
        parent_url("orgs", &r.parent_id)
    }
}

pub struct GridForm;
impl Resource for GridForm {
    type Id = GridId;
    type Raw = RawGrid;
    type Row = reg::grids::Grid;
    const PATH: &'static str = "grids";
    const NOUN: &'static str = "网格";
    fn initial(ctx: &Ctx) -> RawGrid {
        RawGrid { org_id: opt_id(ctx.org), ..Default::default() }
    }
    async fn fields(db: &Db, p: &Principal, r: &RawGrid) -> Result<Vec<Field>, StoreError> {
        Ok(vec![
            Field::select("org_id", "所属组织（支部或党小组）", &r.org_id, org_options(db, p, 5).await?).required(),
            Field::new("code", "网格编码", "text", &r.code).required(),
            Field::new("name", "网格名称", "text", &r.name).required(),
            Field::new("description", "范围说明", "textarea", &r.description),
        ])
    }
    async fn base(db: &Db, p: &Principal, id: Self::Id) -> Result<RawGrid, StoreError> {
        raw::grid_base(db, p, id).await
    }
    async fn owner(db: &Db, p: &Principal, id: Self::Id) -> Result<OrgId, StoreError> {
        Ok(reg::grids::get(db, p, id).await?.org_id)
    }
    async fn create(db: &Db, p: &Principal, n: NewGrid) -> Result<Self::Id, StoreError> {
        Ok(reg::grids::create(db, p, n).await?.id)
    }
    async fn update(db: &Db, p: &Principal, id: Self::Id, n: NewGrid) -> Result<(), StoreError> {
        reg::grids::update(db, p, id, n).await.map(|_| ())
    }
    async fn delete(db: &Db, p: &Principal, id: Self::Id) -> Result<(), StoreError> {
        reg::grids::delete(db, p, id).await
    }
    fn after_delete(r: &RawGrid) -> String {
        parent_url("orgs", &r.org_id)
    }
}

/// Grids near the one in `current` (same community), for moving a building.
async fn grid_options(db: &Db, p: &Principal, current: &Option<String>) -> Result<Vec<(String, String)>, StoreError> {
    let mut org = None;
    if let Some(g) = current.as_deref().and_then(|g| g.parse::<GridId>().ok())
        && let Ok(grid) = reg::grids::get(db, p, g).await
    {
        let o = reg::orgs::get(db, p, grid.org_id).await?;
        // Up to the community (second level of a street tenant), so that the
        // grids of sibling branches are offered too.
        org = o.org_path().ids().get(1).copied().map(OrgId::new).or(Some(o.id));
    }
    let list = reg::grids::list(db, p, &reg::grids::GridFilter { org_id: org, q: None }, Page::first(200)).await?;
    Ok(list.items.into_iter().map(|g| (g.id.to_string(), format!("{}（{}）", g.name, g.org_name))).collect())
}

pub struct BuildingForm;
impl Resource for BuildingForm {
    type Id = BuildingId;
    type Raw = RawBuilding;
    type Row = reg::buildings::Building;
    const PATH: &'static str = "buildings";
    const NOUN: &'static str = "楼栋";
    fn initial(ctx: &Ctx) -> RawBuilding {
        RawBuilding {
            grid_id: opt_id(ctx.grid),
            units: Some("1".into()),
            floors: Some("6".into()),
            ..Default::default()
        }
    }
    async fn fields(db: &Db, p: &Principal, r: &RawBuilding) -> Result<Vec<Field>, StoreError> {
        Ok(vec![
            Field::select("grid_id", "所在网格", &r.grid_id, grid_options(db, p, &r.grid_id).await?).required(),
            Field::new("name", "楼栋名称", "text", &r.name).required().hint("如 3幢"),
            Field::new("address", "地址", "text", &r.address).required(),
            Field::new("units", "单元数", "number", &r.units).required(),
            Field::new("floors", "层数", "number", &r.floors).required(),
            Field::new("x", "平面坐标 x（米）", "number", &r.x).hint("本街道平面坐标系，用于就近分配联系党员"),
            Field::new("y", "平面坐标 y（米）", "number", &r.y),
            Field::new("lat", "纬度", "number", &r.lat),
            Field::new("lon", "经度", "number", &r.lon),
        ])
    }
    async fn base(db: &Db, p: &Principal, id: Self::Id) -> Result<RawBuilding, StoreError> {
        raw::building_base(db, p, id).await
    }
    async fn owner(db: &Db, p: &Principal, id: Self::Id) -> Result<OrgId, StoreError> {
        Ok(reg::buildings::get(db, p, id).await?.org_id)
    }
    async fn create(db: &Db, p: &Principal, n: NewBuilding) -> Result<Self::Id, StoreError> {
        Ok(reg::buildings::create(db, p, n).await?.id)
    }
    async fn update(db: &Db, p: &Principal, id: Self::Id, n: NewBuilding) -> Result<(), StoreError> {
        reg::buildings::update(db, p, id, n).await.map(|_| ())
    }
    async fn delete(db: &Db, p: &Principal, id: Self::Id) -> Result<(), StoreError> {
        reg::buildings::delete(db, p, id).await
    }
    fn after_delete(r: &RawBuilding) -> String {
        parent_url("grids", &r.grid_id)
    }
}

pub struct HouseholdForm;
impl Resource for HouseholdForm {
    type Id = HouseholdId;
    type Raw = RawHousehold;
    type Row = reg::households::Household;
    const PATH: &'static str = "households";
    const NOUN: &'static str = "住户";
    const LISTS: &'static [&'static str] = &["tags"];
    fn initial(ctx: &Ctx) -> RawHousehold {
        RawHousehold { building_id: opt_id(ctx.building), unit_no: Some("1".into()), ..Default::default() }
    }
    async fn fields(_db: &Db, _p: &Principal, r: &RawHousehold) -> Result<Vec<Field>, StoreError> {
        let tags = r.tags.clone().unwrap_or_default();
        let mut f = Field::new("tags", "户情标签", "checkboxes", &None);
        f.options = HouseholdTag::ALL
            .iter()
            .map(|t| Opt {
                value: t.code().into(),
                label: t.label().into(),
                selected: tags.iter().any(|x| x == t.code() || x == t.label()),
            })
            .collect();
        Ok(vec![
            Field::new("building_id", "楼栋编号", "number", &r.building_id)
                .required()
                .hint("楼栋页面地址中的编号；一般无需修改"),
            Field::new("unit_no", "单元", "number", &r.unit_no).required(),
            Field::new("room", "房号", "text", &r.room).required().hint("如 301"),
            f,
            Field::new("note", "备注", "textarea", &r.note),
        ])
    }
    async fn base(db: &Db, p: &Principal, id: Self::Id) -> Result<RawHousehold, StoreError> {
        raw::household_base(db, p, id).await
    }
    async fn owner(db: &Db, p: &Principal, id: Self::Id) -> Result<OrgId, StoreError> {
        Ok(reg::households::get(db, p, id).await?.org_id)
    }
    async fn create(db: &Db, p: &Principal, n: NewHousehold) -> Result<Self::Id, StoreError> {
        Ok(reg::households::create(db, p, n).await?.id)
    }
    async fn update(db: &Db, p: &Principal, id: Self::Id, n: NewHousehold) -> Result<(), StoreError> {
        reg::households::update(db, p, id, n).await.map(|_| ())
    }
    async fn delete(db: &Db, p: &Principal, id: Self::Id) -> Result<(), StoreError> {
        reg::households::delete(db, p, id).await
    }
    fn after_delete(r: &RawHousehold) -> String {
        parent_url("buildings", &r.building_id)
    }
}

pub struct ResidentForm;
impl Resource for ResidentForm {
    type Id = ResidentId;
    type Raw = RawResident;
    type Row = reg::residents::Resident;
    const PATH: &'static str = "residents";
    const NOUN: &'static str = "居民";
    const SENSITIVE: &'static [&'static str] = &["id_number", "phone"];
    fn initial(ctx: &Ctx) -> RawResident {
        RawResident { household_id: opt_id(ctx.household), org_id: opt_id(ctx.org), ..Default::default() }
    }
    async fn fields(db: &Db, p: &Principal, r: &RawResident) -> Result<Vec<Field>, StoreError> {
        let gender =
            Field::enumeration("gender", "性别", &r.gender, redcell_domain::Gender::ALL).hint("留空则按身份证号判断");
        Ok(vec![
            Field::new("household_id", "住户编号", "number", &r.household_id)
                .hint("住户页面标题中的 # 号；不在辖区居住的人留空并选择所属组织"),
            Field::select("org_id", "所属组织（不在辖区居住时）", &r.org_id, org_options(db, p, 5).await?),
            Field::new("name", "姓名", "text", &r.name).required(),
            Field::new("id_number", "身份证号", "text", &r.id_number).required(),
            gender,
            Field::new("birth_date", "出生日期", "date", &r.birth_date).hint("留空则取身份证号中的日期"),
            Field::new("phone", "联系电话", "tel", &r.phone),
            Field::new("note", "备注", "textarea", &r.note),
        ])
    }
    async fn base(db: &Db, p: &Principal, id: Self::Id) -> Result<RawResident, StoreError> {
        raw::resident_base(db, p, id).await
    }
    async fn owner(db: &Db, p: &Principal, id: Self::Id) -> Result<OrgId, StoreError> {
        Ok(reg::residents::get(db, p, id).await?.org_id)
    }
    async fn create(db: &Db, p: &Principal, n: NewResident) -> Result<Self::Id, StoreError> {
        Ok(reg::residents::create(db, p, n).await?.id)
    }
    async fn update(db: &Db, p: &Principal, id: Self::Id, n: NewResident) -> Result<(), StoreError> {
        reg::residents::update(db, p, id, n).await.map(|_| ())
    }
    async fn delete(db: &Db, p: &Principal, id: Self::Id) -> Result<(), StoreError> {
        reg::residents::delete(db, p, id).await
    }
    fn after_delete(r: &RawResident) -> String {
        match &r.household_id {
            Some(h) if !h.is_empty() => format!("/households/{h}"),
            _ => parent_url("orgs", &r.org_id),
        }
    }
}

pub struct MemberForm;
impl Resource for MemberForm {
    type Id = MemberId;
    type Raw = RawMember;
    type Row = reg::members::Member;
    const PATH: &'static str = "members";
    const NOUN: &'static str = "党员";
    fn initial(ctx: &Ctx) -> RawMember {
        RawMember {
            resident_id: opt_id(ctx.resident),
            org_id: opt_id(ctx.org),
            status: Some("full".into()),
            ..Default::default()
        }
    }
    async fn fields(db: &Db, p: &Principal, r: &RawMember) -> Result<Vec<Field>, StoreError> {
        let mut person = Field::new("resident_id", "居民编号", "hidden", &r.resident_id);
        if let Some(rid) = r.resident_id.as_deref().and_then(|x| x.parse::<ResidentId>().ok())
            && let Ok(res) = reg::residents::get(db, p, rid).await
        {
            person.hint = Some(res.view.name);
        }
        Ok(vec![
            person,
            Field::select("org_id", "所在党组织", &r.org_id, org_options(db, p, 5).await?).required(),
            Field::enumeration("category", "党员类别（6×3）", &r.category, MemberCategory::ALL).required(),
            Field::enumeration("status", "党员状态", &r.status, MemberStatus::ALL).required(),
            Field::new("joined_on", "入党日期", "date", &r.joined_on),
            Field::new("work_unit", "工作单位", "text", &r.work_unit).hint("在职党员填写"),
            Field::new("skills", "技能特长", "text", &r.skills),
            Field::new("interests", "兴趣爱好", "text", &r.interests),
            Field::new("free_time", "空闲时间", "text", &r.free_time),
            Field::new("central_household", "党员中心户", "checkbox", &r.central_household),
            Field::enumeration("party_post", "党内职务（书记、副书记、委员）", &r.party_post, PartyPost::ALL),
            Field::enumeration("education", "学历", &r.education, Education::ALL),
            Field::new("social_worker_cert", "持社会工作者职业水平证书", "checkbox", &r.social_worker_cert),
            Field::new("cross_appointed", "两委交叉任职", "checkbox", &r.cross_appointed),
            Field::new("training_days", "本年度集中培训天数", "number", &r.training_days)
                .hint("考评时使用；不填表示本年度未登记"),
        ])
    }
    async fn base(db: &Db, p: &Principal, id: Self::Id) -> Result<RawMember, StoreError> {
        raw::member_base(db, p, id).await
    }
    async fn owner(db: &Db, p: &Principal, id: Self::Id) -> Result<OrgId, StoreError> {
        Ok(reg::members::get(db, p, id).await?.org_id)
    }
    async fn create(db: &Db, p: &Principal, n: NewMember) -> Result<Self::Id, StoreError> {
        Ok(reg::members::create(db, p, n).await?.id)
    }
    async fn update(db: &Db, p: &Principal, id: Self::Id, n: NewMember) -> Result<(), StoreError> {
        reg::members::update(db, p, id, n).await.map(|_| ())
    }
    async fn delete(db: &Db, p: &Principal, id: Self::Id) -> Result<(), StoreError> {
        reg::members::delete(db, p, id).await
    }
    fn after_delete(r: &RawMember) -> String {
        parent_url("residents", &r.resident_id)
    }
}

pub struct CadreForm;
impl Resource for CadreForm {
    type Id = CadreId;
    type Raw = RawCadre;
    type Row = reg::cadres::Cadre;
    const PATH: &'static str = "cadres";
    const NOUN: &'static str = "干部";
    const LISTS: &'static [&'static str] = &["stations"];
    const SENSITIVE: &'static [&'static str] = &["phone"];
    fn initial(ctx: &Ctx) -> RawCadre {
        RawCadre { org_id: opt_id(ctx.org), ..Default::default() }
    }
    async fn fields(db: &Db, p: &Principal, r: &RawCadre) -> Result<Vec<Field>, StoreError> {
        let orgs = org_options(db, p, 4).await?;
        let chosen = r.stations.clone().unwrap_or_default();
        let mut st = Field::new("stations", "驻点组织（可多选）", "checkboxes", &None);
        st.options = orgs
            .iter()
            .map(|(v, l)| Opt {
                value: v.clone(),
                label: l.clone(),
                selected: chosen.iter().any(|c| c.to_string() == *v),
            })
            .collect();
        Ok(vec![
            Field::select("org_id", "所在组织", &r.org_id, orgs).required(),
            Field::enumeration("kind", "干部类别", &r.kind, CadreKind::ALL).required(),
            Field::new("name", "姓名", "text", &r.name).required(),
            Field::new("title", "职务", "text", &r.title),
            Field::new("phone", "联系电话", "tel", &r.phone),
            Field::new("public_phone", "公开的工作电话", "tel", &r.public_phone)
                .hint("本人同意后填写：会显示在居民页面和网格公示牌上；不填则不公开"),
            st,
        ])
    }
    async fn base(db: &Db, p: &Principal, id: Self::Id) -> Result<RawCadre, StoreError> {
        raw::cadre_base(db, p, id).await
    }
    async fn owner(db: &Db, p: &Principal, id: Self::Id) -> Result<OrgId, StoreError> {
        Ok(reg::cadres::get(db, p, id).await?.org_id)
    }
    async fn create(db: &Db, p: &Principal, n: NewCadre) -> Result<Self::Id, StoreError> {
        Ok(reg::cadres::create(db, p, n).await?.id)
    }
    async fn update(db: &Db, p: &Principal, id: Self::Id, n: NewCadre) -> Result<(), StoreError> {
        reg::cadres::update(db, p, id, n).await.map(|_| ())
    }
    async fn delete(db: &Db, p: &Principal, id: Self::Id) -> Result<(), StoreError> {
        reg::cadres::delete(db, p, id).await
    }
    fn after_delete(r: &RawCadre) -> String {
        parent_url("orgs", &r.org_id)
    }
}

pub struct UnitForm;
impl Resource for UnitForm {
    type Id = UnitId;
    type Raw = RawUnit;
    type Row = reg::units::Unit;
    const PATH: &'static str = "units";
    const NOUN: &'static str = "单位/设施";
    /// Phones are masked like everyone else's; left empty, the stored one is kept.
    const SENSITIVE: &'static [&'static str] = &["phone"];
    fn initial(ctx: &Ctx) -> RawUnit {
        RawUnit { grid_id: opt_id(ctx.grid), ..Default::default() }
    }
    async fn fields(db: &Db, p: &Principal, r: &RawUnit) -> Result<Vec<Field>, StoreError> {
        Ok(vec![
            Field::select("grid_id", "所在网格", &r.grid_id, grid_options(db, p, &r.grid_id).await?).required(),
            Field::enumeration("kind", "类别", &r.kind, UnitKind::ALL).required(),
            Field::new("name", "名称", "text", &r.name).required(),
            Field::new("address", "地址", "text", &r.address),
            Field::new("contact", "联系人", "text", &r.contact),
            Field::new("phone", "联系电话", "tel", &r.phone),
        ])
    }
    async fn base(db: &Db, p: &Principal, id: Self::Id) -> Result<RawUnit, StoreError> {
        raw::unit_base(db, p, id).await
    }
    async fn owner(db: &Db, p: &Principal, id: Self::Id) -> Result<OrgId, StoreError> {
        Ok(reg::units::get(db, p, id).await?.org_id)
    }
    async fn create(db: &Db, p: &Principal, n: NewUnit) -> Result<Self::Id, StoreError> {
        Ok(reg::units::create(db, p, n).await?.id)
    }
    async fn update(db: &Db, p: &Principal, id: Self::Id, n: NewUnit) -> Result<(), StoreError> {
        reg::units::update(db, p, id, n).await.map(|_| ())
    }
    async fn delete(db: &Db, p: &Principal, id: Self::Id) -> Result<(), StoreError> {
        reg::units::delete(db, p, id).await
    }
    fn after_delete(r: &RawUnit) -> String {
        parent_url("grids", &r.grid_id)
    }
    /// Units are shown on their grid's page (they have none of their own).
    fn shown_at(_id: UnitId, r: &RawUnit) -> String {
        parent_url("grids", &r.grid_id)
    }
}
