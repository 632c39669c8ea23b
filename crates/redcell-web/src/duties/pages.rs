//! Pages of duties: "my duties" for a cadre's phone with a quick visit form,
//! an organisation's compliance (table, silent branches, SVG trend, xlsx),
//! the rules (edit one, import/export TOML) and the reminder inbox.

use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{Surface, gates};
use crate::pages::{CheckedForm, Nav, PageResult, render, render_status};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use chrono::NaiveDate;
use redcell_domain::FieldError;
use redcell_domain::duties::{ActivityKind, MeetingKind, RawRule, VisitPurpose};
use redcell_domain::i18n;
use redcell_domain::requests::{RawRequest, RequestKind};
use redcell_store::StoreError;
use redcell_store::duties::notices::{self, Notice};
use redcell_store::duties::records::{
    self, Held, HeldDetail, RawActivity, RawAttendee, RawMeeting, RawVisit, RosterMember, Upload,
};
use redcell_store::duties::rules::{self, StoredRule};
use redcell_store::duties::{self, Compliance, DutyLine, Place};
use redcell_store::requests::Category;
use serde::Deserialize;

/// Field errors shown again beside a form.
#[derive(Default)]
pub struct Errs(pub Vec<FieldError>);

impl Errs {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn summary(&self) -> String {
        self.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；")
    }
}

fn form_errors(e: StoreError) -> Result<(StatusCode, Errs), crate::pages::PageError> {
    match e {
        StoreError::Invalid(inv) => Ok((StatusCode::UNPROCESSABLE_ENTITY, Errs(inv.0))),
        StoreError::Denied(f) => Ok((StatusCode::FORBIDDEN, Errs(vec![f]))),
        StoreError::Forbidden => {
            Ok((StatusCode::FORBIDDEN, Errs(vec![FieldError::new("_", "forbidden", redcell_domain::i18n::FORBIDDEN)])))
        }
        e => Err(e.into()),
    }
}

/// One line of "my duties" ready to show.
pub struct Row {
    pub rule: String,
    pub rhythm: String,
    pub what: String,
    pub subject: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub period: String,
    pub expected: u32,
    pub actual: u32,
    pub due: String,
    pub overdue: usize,
}

fn rows(lines: &[DutyLine], today: NaiveDate) -> Vec<Row> {
    lines
        .iter()
        .map(|l| {
            let cur = l.focus(today);
            let st = l.status(today);
            Row {
                rule: l.rule_name.clone(),
                rhythm: l.rhythm.clone(),
                what: l.what.clone(),
                subject: l.subject.name.clone(),
                status: st.code(),
                status_label: st.label(),
                period: cur.map(|p| p.label()).unwrap_or_default(),
                expected: cur.map(|p| p.expected).unwrap_or(0),
                actual: cur.map(|p| p.actual).unwrap_or(0),
                due: cur.map(|p| p.due.to_string()).unwrap_or_default(),
                overdue: l.overdue(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "duties_my.html")]
struct MyPage {
    nav: Option<Nav>,
    today: NaiveDate,
    rows: Vec<Row>,
    places: Vec<Place>,
    purposes: Vec<(&'static str, &'static str)>,
    form: RawVisit,
    place: String,
    errs: Errs,
    saved: bool,
    csrf: String,
    /// The request section of the visit form.
    raise: bool,
    req: RawRequest,
    categories: Vec<Category>,
    kinds: Vec<(&'static str, &'static str)>,
    raised: Option<String>,
    /// The organisations the account holds a role on (their duty pages).
    orgs: Vec<(i64, String)>,
    /// The caller reads the registry (the rules and the organisations' duty pages).
    reader: bool,
    /// Deadlines of mobile members and transfers falling on the caller.
    mobility: Vec<redcell_store::mobility::Reminder>,
}

impl MyPage {
    fn count(&self, status: &str) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
    request: Option<String>,
}

/// The visit form as posted, with its optional request section.
struct VisitForm {
    form: RawVisit,
    place: String,
    raise: bool,
    req: RawRequest,
}

async fn show_my(s: &Shared, u: &PageUser, vf: VisitForm, errs: Errs, q: SavedQuery, status: StatusCode) -> PageResult {
    let today = crate::today();
    let VisitForm { form, place, raise, req } = vf;
    let saved = q.saved.is_some();
    let categories = redcell_store::requests::categories(&s.db, u.p.tenant_id).await?;
    let kinds = RequestKind::ALL.iter().map(|k| (k.code(), k.label())).collect();
    let lines = duties::my_duties(&s.db, &u.p, today).await?;
    let places = duties::my_places(&s.db, &u.p, 80).await?;
    let purposes = VisitPurpose::ALL.iter().map(|p| (p.code(), p.label())).collect();
    let page = MyPage {
        nav: Nav::of(u),
        today,
        rows: rows(&lines, today),
        places,
        purposes,
        form,
        place,
        errs,
        saved,
        csrf: u.csrf.clone(),
        raise,
        req,
        categories,
        kinds,
        raised: q.request.filter(|c| c.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')),
        orgs: u.p.grants.iter().map(|g| (g.org_id, g.org_name.clone())).collect(),
        reader: gates::READ.admits(&u.p),
        mobility: {
            let mut r = redcell_store::mobility::reminders(&s.db, &u.p, today).await?;
            r.extend(redcell_store::assessment::warnings::reminders(&s.db, &u.p, today).await?);
            r
        },
    };
    Ok(render_status(status, &page))
}

async fn my_page(u: PageUser, State(s): State<Shared>, Query(q): Query<SavedQuery>) -> PageResult {
    let form = RawVisit {
        visited_on: Some(crate::today().to_string()),
        purpose: Some("routine".into()),
        ..RawVisit::default()
    };
    let vf = VisitForm { form, place: String::new(), raise: false, req: RawRequest::default() };
    show_my(&s, &u, vf, Errs::default(), q, StatusCode::OK).await
}

async fn my_visit(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let place = f.get("place").unwrap_or("").to_string();
    let (kind, id) = place.split_once(':').unwrap_or(("", ""));
    let raw = RawVisit {
        visitor_kind: None,
        visitor_id: None,
        target_kind: Some(kind.to_string()),
        target_id: Some(id.to_string()),
        visited_on: f.get("visited_on").map(str::to_string),
        purpose: f.get("purpose").map(str::to_string),
        learned: f.get("learned").map(str::to_string),
    };
    let raise = f.get("raise") == Some("1");
    let txt = |k: &str| f.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let req = RawRequest {
        kind: txt("req_kind"),
        category: txt("req_category"),
        description: txt("req_description"),
        ..RawRequest::default()
    };
    let today = crate::today();
    let done = if raise {
        records::record_visit_raising(&s.db, &u.p, &raw, req.clone(), today).await.map(|(_, sub)| Some(sub.code))
    } else {
        records::record_visit(&s.db, &u.p, &raw, today).await.map(|_| None)
    };
    match done {
        Ok(None) => Ok(Redirect::to("/duties/my?saved=1").into_response()),
        Ok(Some(code)) => Ok(Redirect::to(&format!("/duties/my?saved=1&request={code}")).into_response()),
        Err(e) => {
            let (status, mut errs) = form_errors(e)?;
            for e in errs.0.iter_mut() {
                if e.field == "target_kind" || e.field == "target_id" {
                    e.field = "place".into();
                } else if raise
                    && ["kind", "category", "description", "class", "grid_id", "building_id", "address"]
                        .contains(&e.field.as_str())
                {
                    e.field = format!("req_{}", e.field);
                }
            }
            let vf = VisitForm { form: raw, place, raise, req };
            show_my(&s, &u, vf, errs, SavedQuery::default(), status).await
        }
    }
}

/// A bar of the monthly trend chart.
pub struct Bar {
    pub x: usize,
    pub y: f64,
    pub h: f64,
    pub label: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "duties_org.html")]
struct OrgPage {
    nav: Option<Nav>,
    c: Compliance,
    bars: Vec<Bar>,
    chart_w: usize,
    rows: Vec<Row>,
    held: Vec<Held>,
}

impl OrgPage {
    fn rate(r: &Option<f64>) -> String {
        r.map(|x| format!("{x:.1}%")).unwrap_or_else(|| "—".into())
    }
}

async fn org_page(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let today = crate::today();
    let c = duties::compliance(&s.db, &u.p, id, today).await?;
    let bars: Vec<Bar> = c
        .trend
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let h = t.rate.unwrap_or(0.0) * 1.5;
            Bar { x: 40 + i * 56, y: 170.0 - h, h, label: t.month.clone(), text: OrgPage::rate(&t.rate) }
        })
        .collect();
    let chart_w = 60 + bars.len() * 56;
    let mut lines: Vec<DutyLine> = c.lines.clone();
    lines.retain(|l| l.status(today) != redcell_domain::duties::Status::Exempt);
    lines.sort_by_key(|l| std::cmp::Reverse(l.overdue()));
    lines.truncate(200);
    let rows = rows(&lines, today);
    let held = records::held_in(&s.db, &u.p, id, 50).await?;
    Ok(render(&OrgPage { nav: Nav::of(&u), c, bars, chart_w, rows, held }))
}

async fn org_xlsx(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    Ok(super::api::compliance_workbook(&s.db, &u.p, id).await?)
}

#[derive(Template)]
#[template(path = "duties_rules.html")]
struct RulesPage {
    nav: Option<Nav>,
    rules: Vec<(StoredRule, String, String)>,
    csrf: String,
    errs: Errs,
    toml: String,
    imported: Option<usize>,
    /// The caller edits the tenant's settings (the import form, the channel).
    settings: bool,
}

async fn show_rules(
    s: &Shared,
    u: &PageUser,
    errs: Errs,
    toml: String,
    imported: Option<usize>,
    status: StatusCode,
) -> PageResult {
    let list = rules::list(&s.db, u.p.tenant_id).await?;
    let rules = list
        .into_iter()
        .map(|r| {
            let (rh, what) = r.rule().map(|x| (x.rhythm_label(), x.what_label())).unwrap_or_default();
            (r, rh, what)
        })
        .collect();
    Ok(render_status(
        status,
        &RulesPage {
            nav: Nav::of(u),
            rules,
            csrf: u.csrf.clone(),
            errs,
            toml,
            imported,
            settings: gates::SETTINGS.admits(&u.p),
        },
    ))
}

async fn rules_page(u: PageUser, State(s): State<Shared>) -> PageResult {
    show_rules(&s, &u, Errs::default(), String::new(), None, StatusCode::OK).await
}

async fn rules_toml(u: PageUser, State(s): State<Shared>) -> PageResult {
    let text = rules::export(&s.db, &u.p).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/toml; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"duties.toml\""),
        ],
        text,
    )
        .into_response())
}

async fn rules_import(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let text = f.get("toml").unwrap_or("").to_string();
    match rules::import(&s.db, &u.p, &text).await {
        Ok(n) => show_rules(&s, &u, Errs::default(), String::new(), Some(n), StatusCode::OK).await,
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_rules(&s, &u, errs, text, None, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "duties_rule.html")]
struct RulePage {
    nav: Option<Nav>,
    code: String,
    form: RawRule,
    errs: Errs,
    csrf: String,
    saved: bool,
}

impl RulePage {
    fn num(x: &Option<u32>) -> String {
        x.map(|v| v.to_string()).unwrap_or_default()
    }
    fn s(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn everies() -> Vec<(&'static str, &'static str)> {
        vec![
            ("week", "每周"),
            ("weeks", "每N周"),
            ("weekday", "每周某日"),
            ("month", "每月"),
            ("quarter", "每季度"),
            ("half_year", "每半年"),
            ("year", "每年"),
            ("months", "每N个月"),
            ("yearly_by", "每年某月某日前"),
            ("after_event", "事件后N天内"),
        ]
    }
    fn weekdays() -> Vec<(&'static str, &'static str)> {
        vec![
            ("mon", "周一"),
            ("tue", "周二"),
            ("wed", "周三"),
            ("thu", "周四"),
            ("fri", "周五"),
            ("sat", "周六"),
            ("sun", "周日"),
        ]
    }
}

async fn rule_raw(s: &Shared, u: &PageUser, code: &str) -> Result<RawRule, StoreError> {
    let list = rules::list(&s.db, u.p.tenant_id).await?;
    let r = list.iter().find(|r| r.code == code).ok_or(StoreError::NotFound)?;
    let mut raw: RawRule = serde_json::from_str(&r.body).map_err(|e| StoreError::Internal(e.to_string()))?;
    raw.enabled = Some(r.enabled);
    Ok(raw)
}

async fn rule_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(code): Path<String>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let form = rule_raw(&s, &u, &code).await?;
    Ok(render(&RulePage {
        nav: Nav::of(&u),
        code,
        form,
        errs: Errs::default(),
        csrf: u.csrf.clone(),
        saved: q.saved.is_some(),
    }))
}

async fn rule_save(u: PageUser, State(s): State<Shared>, Path(code): Path<String>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let mut raw = rule_raw(&s, &u, &code).await?;
    let num = |k: &str| f.get(k).map(str::trim).filter(|v| !v.is_empty()).map(|v| v.parse::<u32>().unwrap_or(u32::MAX));
    let txt = |k: &str| f.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    raw.name = f.get("name").unwrap_or("").to_string();
    raw.every = f.get("every").unwrap_or("").to_string();
    raw.n = num("n");
    raw.weekday = txt("weekday");
    raw.month = num("month");
    raw.day = num("day");
    raw.expected = num("expected");
    raw.warn_days = num("warn_days");
    raw.enabled = Some(f.get("enabled") == Some("1"));
    raw.since = txt("since");
    match rules::update(&s.db, &u.p, &code, raw.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("/duties/rules/{code}?saved=1")).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            Ok(render_status(
                status,
                &RulePage { nav: Nav::of(&u), code, form: raw, errs, csrf: u.csrf.clone(), saved: false },
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "duties_inbox.html")]
struct InboxPage {
    nav: Option<Nav>,
    notices: Vec<Notice>,
}

async fn inbox_page(u: PageUser, State(s): State<Shared>) -> PageResult {
    let notices = notices::inbox(&s.db, &u.p, 100).await?;
    Ok(render(&InboxPage { nav: Nav::of(&u), notices }))
}

// ---- meetings and activities recorded from the pages

#[derive(Template)]
#[template(path = "duties_meeting_new.html")]
struct MeetingNewPage {
    nav: Option<Nav>,
    org_id: i64,
    org_name: String,
    kinds: Vec<(&'static str, &'static str)>,
    roster: Vec<RosterMember>,
    /// Posted values: field → value (att_{id} for each member).
    values: Vec<(String, String)>,
    errs: Errs,
    csrf: String,
    presence: &'static [(&'static str, &'static str)],
}

impl MeetingNewPage {
    fn v(&self, k: &str) -> &str {
        self.values.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    fn att(&self, id: &i64) -> String {
        format!("att_{id}")
    }
}

async fn org_name(s: &Shared, u: &PageUser, id: i64) -> Result<String, StoreError> {
    let o = redcell_store::coverage::OrgRef::in_scope(
        &mut s.db.conn(),
        &u.p.scope(redcell_store::scope::Capability::ReadRegistry),
        id,
    )
    .await?;
    Ok(o.name)
}

async fn show_meeting_form(
    s: &Shared,
    u: &PageUser,
    id: i64,
    values: Vec<(String, String)>,
    errs: Errs,
    status: StatusCode,
) -> PageResult {
    let org_name = org_name(s, u, id).await?;
    let roster = records::roster(&s.db, &u.p, id).await?;
    let kinds = MeetingKind::ALL.iter().map(|k| (k.code(), k.label())).collect();
    let page = MeetingNewPage {
        nav: Nav::of(u),
        org_id: id,
        org_name,
        kinds,
        roster,
        values,
        errs,
        csrf: u.csrf.clone(),
        presence: i18n::DUTY_PRESENCE_OPTIONS,
    };
    Ok(render_status(status, &page))
}

#[derive(Deserialize)]
struct MeetingNewQuery {
    /// `present`: the secretary asked to mark everyone present in one tap.
    all: Option<String>,
}

/// The meeting form: presence is marked, not assumed. Everyone starts as
/// absent; one tap ("全部出席") marks everyone present for a full meeting.
async fn meeting_new(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<MeetingNewQuery>,
) -> PageResult {
    let mut values = vec![("held_on".to_string(), crate::today().to_string())];
    let mark = if q.all.as_deref() == Some("present") { "present" } else { "absent" };
    for m in records::roster(&s.db, &u.p, id).await? {
        values.push((format!("att_{}", m.id), mark.into()));
    }
    show_meeting_form(&s, &u, id, values, Errs::default(), StatusCode::OK).await
}

fn unreadable_upload(e: &axum::extract::multipart::MultipartError) -> crate::pages::PageError {
    tracing::info!("meeting photos not readable: {e}");
    let f = FieldError::new("photos", "unreadable", i18n::DUTY_PHOTO_UNREADABLE);
    StoreError::Invalid(f.into()).into()
}

async fn meeting_create(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, mut mp: Multipart) -> PageResult {
    let mut values: Vec<(String, String)> = Vec::new();
    let mut photos: Vec<Upload> = Vec::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(unreadable_upload(&e)),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "photos" {
            let fname = field.file_name().unwrap_or("photo").to_string();
            match field.bytes().await {
                Ok(b) if !b.is_empty() => photos.push(Upload { name: fname, bytes: b.to_vec() }),
                Ok(_) => {}
                Err(e) => return Err(unreadable_upload(&e)),
            }
        } else if let Ok(t) = field.text().await {
            values.push((name, t));
        }
    }
    let get = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if !get("_csrf").is_some_and(|t| crate::auth::same_token(&t, &u.csrf)) {
        let _ = redcell_store::accounts::refused(&s.db, &u.p, "csrf_failed", "duty meeting").await;
        return Err(crate::pages::PageError::csrf());
    }
    let mut order = Vec::new();
    let mut attendance = Vec::new();
    for (k, v) in &values {
        let Some(m) = k.strip_prefix("att_").and_then(|m| m.parse::<i64>().ok()) else { continue };
        let line = match v.as_str() {
            "" => continue,
            "present" | "absent" => RawAttendee { member_id: m, presence: v.clone(), reason: None },
            r => RawAttendee { member_id: m, presence: "excused".into(), reason: Some(r.to_string()) },
        };
        order.push(m);
        attendance.push(line);
    }
    let raw = RawMeeting {
        org_id: Some(id.to_string()),
        kind: get("kind"),
        held_on: get("held_on"),
        topic: get("topic"),
        minutes: get("minutes"),
        attendance,
        cadres: vec![],
        quorum_claimed: get("quorum_claimed").map(|v| v == "1"),
    };
    match records::record_meeting_with_photos(&s.db, &u.p, &raw, &photos, crate::today()).await {
        Ok(m) => Ok(Redirect::to(&format!("/duties/meetings/{}?saved=1", m.id)).into_response()),
        Err(e) => {
            let (status, mut errs) = form_errors(e)?;
            let mut extra = Vec::new();
            for e in errs.0.iter_mut() {
                if let Some(i) =
                    e.field.strip_prefix("attendance[").and_then(|r| r.trim_end_matches(']').parse::<usize>().ok())
                {
                    let m = order.get(i).copied().unwrap_or_default();
                    e.field = format!("att_{m}");
                    extra.push(FieldError::new("attendance", e.code, format!("{}（党员编号 {m}）", e.message)));
                }
            }
            errs.0.extend(extra);
            show_meeting_form(&s, &u, id, values, errs, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "duties_activity_new.html")]
struct ActivityNewPage {
    nav: Option<Nav>,
    org_id: i64,
    org_name: String,
    kinds: Vec<(&'static str, &'static str)>,
    roster: Vec<RosterMember>,
    form: RawActivity,
    errs: Errs,
    csrf: String,
}

impl ActivityNewPage {
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn picked(&self, id: &i64) -> bool {
        self.form.members.contains(id)
    }
}

async fn show_activity_form(
    s: &Shared,
    u: &PageUser,
    id: i64,
    form: RawActivity,
    errs: Errs,
    status: StatusCode,
) -> PageResult {
    let org_name = org_name(s, u, id).await?;
    let roster = records::roster(&s.db, &u.p, id).await?;
    let kinds = ActivityKind::ALL.iter().map(|k| (k.code(), k.label())).collect();
    let page =
        ActivityNewPage { nav: Nav::of(u), org_id: id, org_name, kinds, roster, form, errs, csrf: u.csrf.clone() };
    Ok(render_status(status, &page))
}

/// The form, optionally filled from the query (`kind`, `title`, `m` per
/// member): e.g. the birthday list's "record the collective birthday".
async fn activity_new(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> PageResult {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let get = |k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let form = RawActivity {
        held_on: Some(crate::today().to_string()),
        kind: get("kind").filter(|k| ActivityKind::parse("kind", k).is_ok()),
        title: get("title"),
        members: pairs.iter().filter(|(k, _)| k == "m").filter_map(|(_, v)| v.parse().ok()).collect(),
        ..RawActivity::default()
    };
    show_activity_form(&s, &u, id, form, Errs::default(), StatusCode::OK).await
}

async fn activity_create(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let members: Vec<i64> = f.all("m").iter().filter_map(|v| v.trim().parse().ok()).collect();
    let raw = RawActivity {
        org_id: Some(id.to_string()),
        kind: f.get("kind").map(str::to_string),
        held_on: f.get("held_on").map(str::to_string),
        title: f.get("title").map(str::to_string),
        note: f.get("note").map(str::to_string),
        members,
        cadres: vec![],
    };
    match records::record_activity(&s.db, &u.p, &raw, crate::today()).await {
        Ok(a) => Ok(Redirect::to(&format!("/duties/activities/{}?saved=1", a.id)).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_activity_form(&s, &u, id, raw, errs, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "duties_held.html")]
struct HeldPage {
    nav: Option<Nav>,
    d: HeldDetail,
    saved: bool,
}

impl HeldPage {
    fn quorum(&self) -> &'static str {
        match self.d.held.quorum_met {
            Some(true) => i18n::DUTY_QUORUM_MET_LABEL,
            Some(false) => i18n::DUTY_QUORUM_NOT_MET_LABEL,
            None => i18n::DUTY_QUORUM_NA_LABEL,
        }
    }
}

async fn held_page(s: &Shared, u: &PageUser, record: &str, id: i64, q: SavedQuery) -> PageResult {
    let d = records::held_detail(&s.db, &u.p, record, id).await?;
    Ok(render(&HeldPage { nav: Nav::of(u), d, saved: q.saved.is_some() }))
}

async fn meeting_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    held_page(&s, &u, "meeting", id, q).await
}

async fn activity_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    held_page(&s, &u, "activity", id, q).await
}

// ---- the outbound channel

#[derive(Template)]
#[template(path = "duties_channel.html")]
struct ChannelPage {
    nav: Option<Nav>,
    url: String,
    configured: bool,
    deliveries: Vec<notices::Delivery>,
    errs: Errs,
    message: Option<String>,
    csrf: String,
}

async fn show_channel(
    s: &Shared,
    u: &PageUser,
    input: Option<String>,
    errs: Errs,
    message: Option<String>,
    status: StatusCode,
) -> PageResult {
    let deliveries = notices::deliveries(&s.db, &u.p, 50).await?;
    let current = notices::webhook(&s.db, u.p.tenant_id).await?;
    let page = ChannelPage {
        nav: Nav::of(u),
        configured: current.is_some(),
        url: input.or(current).unwrap_or_default(),
        deliveries,
        errs,
        message,
        csrf: u.csrf.clone(),
    };
    Ok(render_status(status, &page))
}

async fn channel_page(u: PageUser, State(s): State<Shared>) -> PageResult {
    show_channel(&s, &u, None, Errs::default(), None, StatusCode::OK).await
}

async fn channel_save(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let url =
        if f.get("clear").is_some() { String::new() } else { f.get("webhook_url").unwrap_or("").trim().to_string() };
    match notices::set_webhook(&s.db, &u.p, Some(&url)).await {
        Ok(()) => {
            let m = if url.is_empty() { i18n::DUTY_CHANNEL_CLOSED } else { i18n::DUTY_CHANNEL_SAVED };
            show_channel(&s, &u, None, Errs::default(), Some(m.into()), StatusCode::OK).await
        }
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_channel(&s, &u, Some(url), errs, None, status).await
        }
    }
}

async fn channel_test(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    if let Err(r) = CheckedForm::check(&u, &s.db, &body).await {
        return Ok(r);
    }
    match notices::send_test(&s.db, &u.p, crate::today()).await {
        Ok(d) => {
            let m = if d.ok {
                i18n::DUTY_CHANNEL_TEST_SENT.to_string()
            } else {
                format!("{}{}", i18n::DUTY_CHANNEL_TEST_FAILED, d.detail)
            };
            show_channel(&s, &u, None, Errs::default(), Some(m), StatusCode::OK).await
        }
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_channel(&s, &u, None, errs, None, status).await
        }
    }
}

// ---- linking an account to a cadre or a member

#[derive(Template)]
#[template(path = "duties_link.html")]
struct LinkPage {
    nav: Option<Nav>,
    user_id: i64,
    username: String,
    linked: Option<duties::Linked>,
    errs: Errs,
    message: Option<String>,
    csrf: String,
}

impl LinkPage {
    fn what(&self) -> String {
        match &self.linked {
            Some(l) => match l.link {
                duties::Link::Cadre(id) => format!("干部 {}（编号 {id}，{}）", l.name, l.org_name),
                duties::Link::Member(id) => format!("党员 {}（编号 {id}，{}）", l.name, l.org_name),
            },
            None => i18n::DUTY_LINK_NONE.into(),
        }
    }
}

async fn show_link(
    s: &Shared,
    u: &PageUser,
    id: i64,
    errs: Errs,
    message: Option<String>,
    status: StatusCode,
) -> PageResult {
    let d = redcell_store::accounts::get(&s.db, &u.p, id).await?;
    let linked = duties::linked(&s.db, u.p.tenant_id, id).await?;
    let page = LinkPage {
        nav: Nav::of(u),
        user_id: id,
        username: d.account.username.clone(),
        linked,
        errs,
        message,
        csrf: u.csrf.clone(),
    };
    Ok(render_status(status, &page))
}

async fn link_page(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    show_link(&s, &u, id, Errs::default(), None, StatusCode::OK).await
}

async fn link_save(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let num = |k: &str| f.get(k).map(str::trim).filter(|v| !v.is_empty()).map(|v| v.parse::<i64>().unwrap_or(-1));
    let link = if f.get("clear").is_some() {
        Ok(None)
    } else {
        match (num("cadre_id"), num("member_id")) {
            (Some(c), None) => Ok(Some(duties::Link::Cadre(c))),
            (None, Some(m)) => Ok(Some(duties::Link::Member(m))),
            _ => Err(StoreError::from(FieldError::new("cadre_id", "one_of", i18n::DUTY_LINK_ONE))),
        }
    };
    match async { duties::link_user(&s.db, &u.p, id, link?).await }.await {
        Ok(()) => show_link(&s, &u, id, Errs::default(), Some(i18n::DUTY_LINK_SAVED.into()), StatusCode::OK).await,
        Err(e) => {
            let (status, mut errs) = form_errors(e)?;
            for e in errs.0.iter_mut() {
                if e.field == "cadre" || e.field == "member" {
                    e.field = format!("{}_id", e.field);
                }
            }
            show_link(&s, &u, id, errs, None, status).await
        }
    }
}

/// The duties pages (see [`super::api::mount`] for the gates' reasons).
pub fn mount(s: &mut Surface) {
    const VISIT: crate::kit::Access = crate::kit::Access::Any(&[
        redcell_domain::Capability::RecordDuties,
        redcell_domain::Capability::RecordOwnVisits,
    ]);
    let photos = records::MAX_PHOTOS * redcell_store::files::MAX_BYTES + 256 * 1024;
    s.get("/duties/my", gates::SIGNED_IN, my_page)
        .post("/duties/my/visit", VISIT, my_visit)
        .get("/orgs/{id}/duties", gates::READ, org_page)
        .get("/orgs/{id}/duties.xlsx", gates::READ, org_xlsx)
        .get("/duties/rules", gates::READ, rules_page)
        .get("/duties/rules.toml", gates::READ, rules_toml)
        .post("/duties/rules/import", gates::EDIT, rules_import)
        .get("/duties/rules/{code}", gates::READ, rule_page)
        .post("/duties/rules/{code}", gates::EDIT, rule_save)
        .get("/duties/inbox", gates::SIGNED_IN, inbox_page)
        .get("/orgs/{id}/duties/meetings/new", gates::RECORD, meeting_new)
        .upload("/orgs/{id}/duties/meetings", gates::RECORD, photos, meeting_create)
        .get("/orgs/{id}/duties/activities/new", gates::RECORD, activity_new)
        .post("/orgs/{id}/duties/activities", gates::RECORD, activity_create)
        .get("/duties/meetings/{id}", gates::READ, meeting_page)
        .get("/duties/activities/{id}", gates::READ, activity_page)
        .get("/admin/duties/channel", gates::SETTINGS, channel_page)
        .post("/admin/duties/channel", gates::SETTINGS, channel_save)
        .post("/admin/duties/channel/test", gates::SETTINGS, channel_test)
        .get("/admin/users/{id}/duty-link", gates::USERS, link_page)
        .post("/admin/users/{id}/duty-link", gates::USERS, link_save);
    s.nav(40, "/duties/my", "我的职责", gates::SIGNED_IN);
}
