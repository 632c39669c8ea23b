//! Pages of contact responsibility and full coverage (联系全覆盖): the coverage
//! report with its charts, the rosters (and their xlsx), contacts, quotas,
//! exemptions and proposed plans.

use crate::Shared;
use crate::auth::{PageUser, url_encode};
use crate::export::ExportLink;
use crate::kit::{Surface, gates};
use crate::pages::{CheckedForm, Nav, PageError, PageResult, Pager, render, render_status};
use crate::registry::pages::{Crumbs, org_crumbs};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::NaiveDate;
use redcell_domain::FieldError;
use redcell_domain::coverage::{
    ContactLevel, ExemptionReason, ExtraQuota, Party, QuotaPreset, RawContact, RawDecision, RawEndContact,
    RawExemption, RawQuota, parse_move_penalty,
};
use redcell_store::coverage::contacts::{self, Contact, RosterFilter};
use redcell_store::coverage::exemptions::{self, Exemption, ExemptionFilter};
use redcell_store::coverage::pick::{self, Candidate, PickKind};
use redcell_store::coverage::plan::{self, Change, MemberDelta, Proposal};
use redcell_store::coverage::quotas::{self, Effective, OwnRule};
use redcell_store::coverage::report::{self, Report};
use redcell_store::coverage::{OrgRef, today};
use redcell_store::registry::{Page, Paged};
use redcell_store::{Capability, Db, Principal, StoreError};
use serde::Deserialize;

/// Field errors of a form shown again.
#[derive(Default)]
pub struct Errs(pub Vec<FieldError>);

impl Errs {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Every error as `field：message`, for a summary above the form.
    pub fn summary(&self) -> String {
        self.0.iter().map(|e| format!("{}：{}", label_of(&e.field), e.message)).collect::<Vec<_>>().join("；")
    }
}

/// The Chinese name of a form field, for summaries.
pub(super) fn label_of(field: &str) -> String {
    let l = match field {
        "level" => "联系层级",
        "from_id" => "联系人编号",
        "to_id" => "联系对象编号",
        "since" => "开始日期",
        "until" => "结束日期",
        "reason" => "理由",
        "member_id" => "党员编号",
        "note" => "说明",
        "step" => "审批步骤",
        "decision" => "审批结果",
        "date" => "日期",
        "move_penalty" => "调整代价",
        "proposal" => "方案",
        "status" => "状态",
        "preset" => "预设方案",
        "org_id" => "组织",
        "to_kind" => "联系对象类别",
        "name" => "名称",
        "grid_id" => "网格",
        "unit_id" => "单位",
        "party_role" => "党内职务",
        _ => "",
    };
    if !l.is_empty() {
        return l.to_string();
    }
    for q in ExtraQuota::ALL {
        if field == format!("{}_min", q.code()) {
            return format!("{}下限", q.label());
        }
        if field == format!("{}_max", q.code()) {
            return format!("{}上限", q.label());
        }
    }
    for lv in ContactLevel::ALL {
        if field == format!("{}_min", lv.code()) {
            return format!("{}下限", lv.label());
        }
        if field == format!("{}_max", lv.code()) {
            return format!("{}上限", lv.label());
        }
    }
    field.to_string()
}

/// A failed write as field errors to show again, with its status; other errors
/// become an error page.
pub(super) fn form_errors(e: StoreError) -> Result<(StatusCode, Errs), PageError> {
    match e {
        StoreError::Invalid(inv) => Ok((StatusCode::UNPROCESSABLE_ENTITY, Errs(inv.0))),
        StoreError::Denied(f) => Ok((StatusCode::FORBIDDEN, Errs(vec![f]))),
        StoreError::Forbidden => {
            Ok((StatusCode::FORBIDDEN, Errs(vec![FieldError::new("_", "forbidden", redcell_domain::i18n::FORBIDDEN)])))
        }
        e => Err(e.into()),
    }
}

pub(super) async fn crumbs_to(
    db: &Db,
    p: &Principal,
    org: &OrgRef,
    last: Option<(String, String)>,
) -> Result<Crumbs, StoreError> {
    let mut c = org_crumbs(db, p, redcell_domain::OrgId::new(org.id)).await?;
    c.extend(last);
    Ok(c)
}

/// Candidates offered for a form field whose text found several (or none).
pub struct Choice {
    pub field: String,
    pub items: Vec<Candidate>,
}

/// Candidates for a field, for the template.
pub(crate) fn choices_for<'a>(choices: &'a [Choice], field: &str) -> Option<&'a Choice> {
    choices.iter().find(|c| c.field == field)
}

pub(super) fn pick_kind(p: Party) -> PickKind {
    match p {
        Party::Member => PickKind::Member,
        Party::Cadre => PickKind::Cadre,
        Party::Household => PickKind::Household,
        Party::Org => PickKind::Org,
        Party::Post => PickKind::Post,
    }
}

/// The no-JavaScript picker: a field may hold a number (an id), a candidate
/// chosen from the list offered last time (`_pick_<field>`), or text to look
/// for inside `org_id`. One match replaces the text by its id; none or several
/// become a field error with the candidates to choose from.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn pick_field(
    db: &Db,
    p: &Principal,
    f: &crate::form::FormData,
    field: &str,
    kind: PickKind,
    org_id: i64,
    value: &mut Option<String>,
    errs: &mut Vec<FieldError>,
    choices: &mut Vec<Choice>,
) -> Result<(), StoreError> {
    if let Some(id) = f.get(&format!("_pick_{field}")).filter(|v| !v.is_empty()) {
        *value = Some(id.to_string());
        return Ok(());
    }
    match pick::resolve(db, p, kind, field, value.as_deref().unwrap_or(""), Some(org_id)).await? {
        Ok(Some(id)) => *value = Some(id.to_string()),
        Ok(None) => {}
        Err((e, items)) => {
            errs.push(e);
            if !items.is_empty() {
                choices.push(Choice { field: field.into(), items });
            }
        }
    }
    Ok(())
}

/// Validation after picking: the picker's errors first, then those of the
/// other fields; `Ok` only when both are clean.
pub(super) fn after_pick<T>(picked: Vec<FieldError>, v: Result<T, redcell_domain::Invalid>) -> Result<T, StoreError> {
    match v {
        Ok(n) if picked.is_empty() => Ok(n),
        Ok(_) => Err(StoreError::Invalid(redcell_domain::Invalid(picked))),
        Err(inv) => {
            let mut all = picked;
            for e in inv.0 {
                if !all.iter().any(|x| x.field == e.field) {
                    all.push(e);
                }
            }
            Err(StoreError::Invalid(redcell_domain::Invalid(all)))
        }
    }
}

/// `{level: [from kind, to kind]}` for the picker script.
pub(super) fn level_kinds() -> String {
    let m: serde_json::Map<String, serde_json::Value> = ContactLevel::ALL
        .iter()
        .map(|l| (l.code().to_string(), serde_json::json!([l.from().code(), l.to().code()])))
        .collect();
    serde_json::Value::Object(m).to_string()
}

pub(super) fn may(p: &Principal, org: &OrgRef, cap: Capability) -> bool {
    p.scope(cap).contains(&org.path)
}

/// The download of an organisation's list with the page's filters, for who
/// may export that organisation's subtree.
pub(super) fn export_link<E: redcell_store::export::Exportable>(
    p: &Principal,
    org: &OrgRef,
    filters: &[(&str, String)],
) -> Vec<ExportLink> {
    if !may(p, org, Capability::Export) {
        return vec![];
    }
    let mut all = vec![("org_id", org.id.to_string())];
    all.extend(filters.iter().cloned());
    vec![crate::export::link::<E>(E::LABEL, &all)]
}

pub(super) fn levels() -> Vec<(&'static str, &'static str)> {
    ContactLevel::ALL.iter().map(|l| (l.code(), l.label())).collect()
}

// ---- the coverage report

#[derive(Template)]
#[template(path = "coverage.html")]
pub(super) struct CoveragePage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    r: Report,
    chart_h: usize,
    can_export: bool,
    can_edit: bool,
}

pub(super) async fn coverage_page(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let (db, p) = (&s.db, &u.p);
    let r = report::report(db, p, id).await?;
    let crumbs = crumbs_to(db, p, &r.org, Some((format!("/orgs/{id}/coverage"), "覆盖情况".into()))).await?;
    let chart_h = r.rates.len() * 28 + 8;
    let (can_export, can_edit) = (may(p, &r.org, Capability::Export), may(p, &r.org, Capability::EditRegistry));
    Ok(render(&CoveragePage { nav: Nav::of(&u), crumbs, r, chart_h, can_export, can_edit }))
}

#[derive(Deserialize)]
pub(super) struct DateQuery {
    date: Option<String>,
}

pub(super) async fn rosters_xlsx(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<DateQuery>,
) -> PageResult {
    let date = redcell_domain::text::parse_date("date", q.date.as_deref().unwrap_or(""))?;
    Ok(super::api::roster_workbook(&s.db, &u.p, id, date).await?)
}

// ---- contacts

#[derive(Deserialize, Default)]
pub(super) struct ContactsQuery {
    level: Option<String>,
    date: Option<String>,
    history: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "contacts.html")]
pub(super) struct ContactsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org: OrgRef,
    list: Paged<Contact>,
    pager: Pager,
    level: String,
    date: String,
    history: bool,
    levels: Vec<(&'static str, &'static str)>,
    form: RawContact,
    errs: Errs,
    choices: Vec<Choice>,
    kinds: String,
    csrf: String,
    can_edit: bool,
    today: NaiveDate,
    exports: Vec<ExportLink>,
}

impl ContactsPage {
    fn choices(&self, field: &str) -> Option<&Choice> {
        choices_for(&self.choices, field)
    }
    fn to_post(&self) -> bool {
        Self::v(&self.form.to_kind) == "post"
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn form_level(&self) -> &str {
        Self::v(&self.form.level)
    }
}

pub(super) async fn show_contacts(
    db: &Db,
    u: &PageUser,
    id: i64,
    q: ContactsQuery,
    form: RawContact,
    (errs, choices): (Errs, Vec<Choice>),
    status: StatusCode,
) -> PageResult {
    let p = &u.p;
    let date = redcell_domain::text::parse_date("date", q.date.as_deref().unwrap_or(""))?;
    let history = q.history.as_deref() == Some("1");
    let f = RosterFilter {
        org_id: Some(id),
        level: q.level.clone().filter(|l| !l.is_empty()),
        date,
        history: Some(history),
        ..Default::default()
    };
    let list = contacts::roster(db, p, &f, Page { page: q.page, per_page: Some(100) }).await?;
    let org = OrgRef::for_cap(&mut db.conn(), p, id, Capability::ReadRegistry).await?;
    let crumbs = crumbs_to(db, p, &org, Some((format!("/orgs/{id}/contacts"), "联系名册".into()))).await?;
    let level = q.level.unwrap_or_default();
    let date_s = date.map(|d| d.to_string()).unwrap_or_default();
    let base = format!(
        "/orgs/{id}/contacts?level={}&date={}&{}",
        url_encode(&level),
        url_encode(&date_s),
        if history { "history=1&" } else { "" }
    );
    let pager = Pager::of(&list, base);
    let can_edit = may(p, &org, Capability::EditRegistry);
    let filters = [
        ("level", level.clone()),
        ("date", date_s.clone()),
        ("history", if history { "true".to_string() } else { String::new() }),
    ];
    let exports = export_link::<redcell_store::coverage::contacts::ContactList>(p, &org, &filters);
    let page = ContactsPage {
        nav: Nav::of(u),
        crumbs,
        org,
        list,
        pager,
        level,
        date: date_s,
        history,
        levels: levels(),
        form,
        errs,
        choices,
        kinds: level_kinds(),
        csrf: u.csrf.clone(),
        can_edit,
        today: today(),
        exports,
    };
    Ok(render_status(status, &page))
}

pub(super) async fn contacts_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<ContactsQuery>,
) -> PageResult {
    show_contacts(&s.db, &u, id, q, RawContact::default(), (Errs::default(), vec![]), StatusCode::OK).await
}

pub(super) async fn start_contact(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let mut raw: RawContact = f.to_raw(&[]);
    let (mut picked, mut choices) = (vec![], vec![]);
    if let Ok(level) = ContactLevel::parse("level", raw.level.as_deref().unwrap_or("")) {
        let to = if raw.to_kind.as_deref() == Some("post") { Party::Post } else { level.to() };
        let from_kind = pick_kind(level.from());
        pick_field(&s.db, &u.p, &f, "from_id", from_kind, id, &mut raw.from_id, &mut picked, &mut choices).await?;
        pick_field(&s.db, &u.p, &f, "to_id", pick_kind(to), id, &mut raw.to_id, &mut picked, &mut choices).await?;
    }
    let result = match after_pick(picked, raw.validate(today())) {
        Ok(n) => contacts::start(&s.db, &u.p, n).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => Ok(Redirect::to(&format!("/orgs/{id}/contacts?level={}", c.level.0.code())).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            let q = ContactsQuery { level: raw.level.clone(), ..Default::default() };
            show_contacts(&s.db, &u, id, q, raw, (errs, choices), status).await
        }
    }
}

pub(super) async fn end_contact(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let raw: RawEndContact = f.to_raw(&[]);
    let back = crate::auth::safe_next(f.get("_back"));
    let result = match raw.validate(today()) {
        Ok(e) => contacts::end(&s.db, &u.p, id, e).await,
        Err(inv) => Err(StoreError::Invalid(inv)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            message_page(&u, status, "未能结束联系", &errs.summary(), &back)
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(super) struct MessagePage {
    nav: Option<Nav>,
    title: String,
    message: String,
    back: String,
}

pub(super) fn message_page(u: &PageUser, status: StatusCode, title: &str, message: &str, back: &str) -> PageResult {
    Ok(render_status(
        status,
        &MessagePage { nav: Nav::of(u), title: title.into(), message: message.into(), back: back.into() },
    ))
}

// ---- quotas

pub struct QuotaRow {
    pub code: &'static str,
    pub label: &'static str,
    pub from_label: &'static str,
    pub to_label: &'static str,
    pub min: String,
    pub max: String,
    pub err: Option<String>,
}

#[derive(Template)]
#[template(path = "quotas.html")]
pub(super) struct QuotasPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    e: Effective,
    below: Vec<OwnRule>,
    rows: Vec<QuotaRow>,
    central: bool,
    presets: Vec<(&'static str, &'static str)>,
    errs: Errs,
    saved: bool,
    csrf: String,
    can_edit: bool,
}

pub(super) async fn show_quotas(
    db: &Db,
    u: &PageUser,
    id: i64,
    form: Option<RawQuota>,
    errs: Errs,
    status: StatusCode,
    saved: bool,
) -> PageResult {
    let p = &u.p;
    let e = quotas::effective(db, p, id).await?;
    let org = OrgRef::for_cap(&mut db.conn(), p, id, Capability::ReadRegistry).await?;
    let below = quotas::rules_below(db, p, id).await?;
    let crumbs = crumbs_to(db, p, &org, Some((format!("/orgs/{id}/quotas"), "联系定额".into()))).await?;
    let raw = form.unwrap_or_else(|| RawQuota::from_rule(&e.rule));
    let rows = ContactLevel::ALL
        .iter()
        .map(|l| {
            let (kmin, kmax) = (format!("{}_min", l.code()), format!("{}_max", l.code()));
            let err = [errs.get(&kmin), errs.get(&kmax)].into_iter().flatten().next().map(str::to_string);
            QuotaRow {
                code: l.code(),
                label: l.label(),
                from_label: l.from_label(),
                to_label: l.to_label(),
                min: raw.get(&kmin),
                max: raw.get(&kmax),
                err,
            }
        })
        .chain(ExtraQuota::ALL.iter().map(|q| {
            let (kmin, kmax) = (format!("{}_min", q.code()), format!("{}_max", q.code()));
            let err = [errs.get(&kmin), errs.get(&kmax)].into_iter().flatten().next().map(str::to_string);
            QuotaRow {
                code: q.code(),
                label: q.label(),
                from_label: q.from_label(),
                to_label: q.to_label(),
                min: raw.get(&kmin),
                max: raw.get(&kmax),
                err,
            }
        }))
        .collect();
    let central = matches!(raw.get("central_per_building").as_str(), "true" | "on" | "1");
    let page = QuotasPage {
        nav: Nav::of(u),
        crumbs,
        e,
        below,
        rows,
        central,
        presets: QuotaPreset::ALL.iter().map(|x| (x.code(), x.label())).collect(),
        errs,
        saved,
        csrf: u.csrf.clone(),
        can_edit: may(p, &org, Capability::EditRegistry),
    };
    Ok(render_status(status, &page))
}

#[derive(Deserialize)]
pub(super) struct SavedQuery {
    saved: Option<String>,
}

pub(super) async fn quotas_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    show_quotas(&s.db, &u, id, None, Errs::default(), StatusCode::OK, q.saved.is_some()).await
}

pub(super) async fn quota_write(u: PageUser, s: Shared, id: i64, body: Bytes, what: &'static str) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let mut raw = RawQuota::default();
    for (k, v) in &f.0 {
        if !k.starts_with('_') && k != "preset" {
            raw.values.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
    }
    let result = match what {
        "preset" => match quotas::preset_of(f.get("preset").unwrap_or("")) {
            Ok(preset) => quotas::apply_preset(&s.db, &u.p, id, preset).await,
            Err(e) => Err(e),
        },
        "clear" => quotas::clear(&s.db, &u.p, id).await,
        _ => match raw.validate() {
            Ok(rule) => quotas::set(&s.db, &u.p, id, &rule, None).await,
            Err(inv) => Err(StoreError::Invalid(inv)),
        },
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{id}/quotas?saved=1")).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            let form = (what == "custom").then_some(raw);
            show_quotas(&s.db, &u, id, form, errs, status, false).await
        }
    }
}

pub(super) async fn save_quota(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    quota_write(u, s, id, body, "custom").await
}

pub(super) async fn preset_quota(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    quota_write(u, s, id, body, "preset").await
}

pub(super) async fn clear_quota(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    quota_write(u, s, id, body, "clear").await
}

// ---- exemptions

#[derive(Deserialize, Default)]
pub(super) struct ExemptionsQuery {
    status: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "exemptions.html")]
pub(super) struct ExemptionsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org: OrgRef,
    list: Paged<Exemption>,
    pager: Pager,
    form: RawExemption,
    reasons: Vec<(&'static str, &'static str)>,
    errs: Errs,
    choices: Vec<Choice>,
    csrf: String,
    can_edit: bool,
    today: NaiveDate,
    exports: Vec<ExportLink>,
}

impl ExemptionsPage {
    fn choices(&self, field: &str) -> Option<&Choice> {
        choices_for(&self.choices, field)
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

pub(super) async fn show_exemptions(
    db: &Db,
    u: &PageUser,
    id: i64,
    q: ExemptionsQuery,
    form: RawExemption,
    (errs, choices): (Errs, Vec<Choice>),
    status: StatusCode,
) -> PageResult {
    let p = &u.p;
    let f = ExemptionFilter { org_id: Some(id), status: q.status.clone().filter(|s| !s.is_empty()), member_id: None };
    let list = exemptions::list(db, p, &f, Page { page: q.page, per_page: Some(50) }).await?;
    let org = OrgRef::for_cap(&mut db.conn(), p, id, Capability::ReadRegistry).await?;
    let crumbs = crumbs_to(db, p, &org, Some((format!("/orgs/{id}/exemptions"), "免除联系任务".into()))).await?;
    let pager =
        Pager::of(&list, format!("/orgs/{id}/exemptions?status={}&", url_encode(q.status.as_deref().unwrap_or(""))));
    let exports = export_link::<redcell_store::coverage::exemptions::ExemptionList>(
        p,
        &org,
        &[("status", q.status.clone().unwrap_or_default())],
    );
    let page = ExemptionsPage {
        nav: Nav::of(u),
        crumbs,
        can_edit: may(p, &org, Capability::EditRegistry),
        org,
        list,
        pager,
        form,
        reasons: ExemptionReason::ALL.iter().map(|r| (r.code(), r.label())).collect(),
        errs,
        choices,
        csrf: u.csrf.clone(),
        today: today(),
        exports,
    };
    Ok(render_status(status, &page))
}

pub(super) async fn exemptions_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<ExemptionsQuery>,
) -> PageResult {
    show_exemptions(&s.db, &u, id, q, RawExemption::default(), (Errs::default(), vec![]), StatusCode::OK).await
}

pub(super) async fn request_exemption(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let mut raw: RawExemption = f.to_raw(&[]);
    let (mut picked, mut choices) = (vec![], vec![]);
    pick_field(&s.db, &u.p, &f, "member_id", PickKind::Member, id, &mut raw.member_id, &mut picked, &mut choices)
        .await?;
    let result = match after_pick(picked, raw.validate()) {
        Ok(n) => exemptions::request(&s.db, &u.p, n).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{id}/exemptions")).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_exemptions(&s.db, &u, id, ExemptionsQuery::default(), raw, (errs, choices), status).await
        }
    }
}

pub(super) async fn decide_exemption(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let raw: RawDecision = f.to_raw(&[]);
    let back = crate::auth::safe_next(f.get("_back"));
    let result = match raw.validate(today()) {
        Ok(d) => exemptions::decide(&s.db, &u.p, id, d).await,
        Err(inv) => Err(StoreError::Invalid(inv)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            message_page(&u, status, "未能办理审批", &errs.summary(), &back)
        }
    }
}

// ---- plans

#[derive(Deserialize, Default)]
pub(super) struct PlansQuery {
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "plans.html")]
pub(super) struct PlansPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org: OrgRef,
    list: Paged<Proposal>,
    pager: Pager,
    penalty: String,
    errs: Errs,
    csrf: String,
    can_edit: bool,
    exports: Vec<ExportLink>,
}

pub(super) async fn show_plans(
    db: &Db,
    u: &PageUser,
    id: i64,
    page: Option<u32>,
    penalty: String,
    errs: Errs,
    status: StatusCode,
) -> PageResult {
    let p = &u.p;
    let list = plan::list(db, p, id, Page { page, per_page: Some(50) }).await?;
    let org = OrgRef::for_cap(&mut db.conn(), p, id, Capability::ReadRegistry).await?;
    let crumbs = crumbs_to(db, p, &org, Some((format!("/orgs/{id}/plans"), "联系方案".into()))).await?;
    let pager = Pager::of(&list, format!("/orgs/{id}/plans?"));
    let exports = export_link::<redcell_store::coverage::plan::PlanList>(p, &org, &[]);
    let page = PlansPage {
        nav: Nav::of(u),
        crumbs,
        can_edit: may(p, &org, Capability::EditRegistry),
        org,
        list,
        pager,
        penalty,
        errs,
        csrf: u.csrf.clone(),
        exports,
    };
    Ok(render_status(status, &page))
}

pub(super) async fn plans_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<PlansQuery>,
) -> PageResult {
    let penalty = redcell_domain::coverage::DEFAULT_MOVE_PENALTY.to_string();
    show_plans(&s.db, &u, id, q.page, penalty, Errs::default(), StatusCode::OK).await
}

pub(super) async fn propose(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let raw_penalty = f.get("move_penalty").unwrap_or("").to_string();
    let result = match parse_move_penalty(&raw_penalty) {
        Ok(pen) => plan::propose(&s.db, &u.p, id, pen).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(pr) => Ok(Redirect::to(&format!("/plans/{}", pr.id)).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_plans(&s.db, &u, id, None, raw_penalty, errs, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "plan.html")]
pub(super) struct PlanPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    pr: Proposal,
    deltas: Paged<MemberDelta>,
    changes: Paged<Change>,
    pager: Pager,
    errs: Errs,
    csrf: String,
    can_edit: bool,
}

pub(super) async fn show_plan(
    db: &Db,
    u: &PageUser,
    id: i64,
    page: Option<u32>,
    errs: Errs,
    status: StatusCode,
) -> PageResult {
    let p = &u.p;
    let pr = plan::get(db, p, id).await?;
    let org = OrgRef::for_cap(&mut db.conn(), p, pr.org_id, Capability::ReadRegistry).await?;
    let mut crumbs = crumbs_to(db, p, &org, Some((format!("/orgs/{}/plans", org.id), "联系方案".into()))).await?;
    crumbs.push((format!("/plans/{id}"), format!("方案 #{id}")));
    let deltas = plan::member_deltas(db, p, id, Page::first(50)).await?;
    let changes = plan::changes(db, p, id, Page { page, per_page: Some(100) }).await?;
    let pager = Pager::of(&changes, format!("/plans/{id}?"));
    let can_edit = may(p, &org, Capability::EditRegistry);
    let page = PlanPage { nav: Nav::of(u), crumbs, pr, deltas, changes, pager, errs, csrf: u.csrf.clone(), can_edit };
    Ok(render_status(status, &page))
}

pub(super) async fn plan_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<PlansQuery>,
) -> PageResult {
    show_plan(&s.db, &u, id, q.page, Errs::default(), StatusCode::OK).await
}

pub(super) async fn decide_plan(u: PageUser, s: Shared, id: i64, body: Bytes, apply: bool) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let reason = f.get("reason").unwrap_or("");
    let result =
        if apply { plan::apply(&s.db, &u.p, id, reason).await } else { plan::discard(&s.db, &u.p, id, reason).await };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/plans/{id}")).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_plan(&s.db, &u, id, None, errs, status).await
        }
    }
}

pub(super) async fn apply_plan(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    decide_plan(u, s, id, body, true).await
}

pub(super) async fn discard_plan(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    decide_plan(u, s, id, body, false).await
}

/// Households with a member in one grid, for the grid page (`None` when not readable).
pub async fn grid_rate(db: &Db, p: &Principal, grid_id: i64) -> Option<report::Rate> {
    report::grid_coverage(db, p, grid_id).await.ok()
}

/// The coverage pages: reading needs the registry, every change the right to
/// edit it, the roster workbook the right to export.
pub fn mount(s: &mut Surface) {
    s.get("/orgs/{id}/coverage", gates::READ, coverage_page)
        .get("/orgs/{id}/rosters.xlsx", gates::EXPORT, rosters_xlsx)
        .get("/orgs/{id}/contacts", gates::READ, contacts_page)
        .post("/orgs/{id}/contacts", gates::EDIT, start_contact)
        .post("/contacts/{id}/end", gates::EDIT, end_contact)
        .get("/orgs/{id}/quotas", gates::READ, quotas_page)
        .post("/orgs/{id}/quotas", gates::EDIT, save_quota)
        .post("/orgs/{id}/quotas/preset", gates::EDIT, preset_quota)
        .post("/orgs/{id}/quotas/clear", gates::EDIT, clear_quota)
        .get("/orgs/{id}/exemptions", gates::READ, exemptions_page)
        .post("/orgs/{id}/exemptions", gates::EDIT, request_exemption)
        .post("/exemptions/{id}/decide", gates::EDIT, decide_exemption)
        .get("/orgs/{id}/plans", gates::READ, plans_page)
        .post("/orgs/{id}/plans", gates::EDIT, propose)
        .get("/plans/{id}", gates::READ, plan_page)
        .post("/plans/{id}/apply", gates::EDIT, apply_plan)
        .post("/plans/{id}/discard", gates::EDIT, discard_plan)
        .get("/orgs/{id}/posts", gates::READ, super::posts::posts_page)
        .post("/orgs/{id}/posts", gates::EDIT, super::posts::create_post)
        .get("/posts/{id}", gates::READ, super::posts::post_page)
        .post("/posts/{id}/end", gates::EDIT, super::posts::end_post)
        .post("/members/{id}/party-role", gates::EDIT, super::posts::set_party_role)
        .get("/pick", gates::READ, super::posts::pick_json);
}
