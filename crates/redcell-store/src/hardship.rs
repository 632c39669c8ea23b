//! Hardship cases (困难帮扶): a member or a household in hardship, opened with
//! the situation (seen in scope only) and a date to review it; the help given
//! (goods, care, visits by people who are not in the registry's visit
//! diary), the visits already recorded in the diary, and the care fund's
//! payments applied for from the case. Closing a case (the hardship is over)
//! keeps its history. Members of the 生活困难党员 class without an open case
//! are offered for opening one, so nobody types twice what the registry knows.

use crate::args;
use crate::audit;
use crate::care::{self, Application, Fund};
use crate::db::{Conn, Db};
use crate::error::StoreError;
use crate::scope::{self, Owned, Principal};
use chrono::{NaiveDate, Utc};
use redcell_domain::care::{CaseId, HelpKind};
use redcell_domain::duties::{ActivityKind, VisitPurpose};
use redcell_domain::registry::MemberCategory;
use redcell_domain::text::Text;
use redcell_domain::{Capability, CodeEnum, FieldError, HouseholdId, Invalid, MemberId, OrgId};
use serde::{Deserialize, Serialize};

impl Owned for CaseId {
    const TABLE: &'static str = "hardship_cases";
}

const CAP: Capability = Capability::EditRegistry;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Case {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub member_id: Option<i64>,
    pub household_id: Option<i64>,
    /// The member's name or the household's place, in words.
    pub subject: String,
    /// Seen in scope only, never published.
    pub situation: String,
    pub opened_on: NaiveDate,
    pub review_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    pub close_reason: Option<String>,
    pub opened_by_name: String,
}

impl Case {
    pub fn is_open(&self) -> bool {
        self.closed_on.is_none()
    }
    /// Open and its review date has come.
    pub fn review_due(&self, today: &NaiveDate) -> bool {
        self.is_open() && self.review_on <= *today
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Help {
    pub id: i64,
    pub given_on: NaiveDate,
    /// `goods`, `care`, `visit` or `other`.
    pub kind: String,
    pub what: String,
    pub recorded_by_name: String,
}

impl Help {
    pub fn kind_label(&self) -> &'static str {
        HelpKind::from_code(&self.kind).map(|k| k.label()).unwrap_or("")
    }
}

/// A visit from the diary to the case's member or household.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CaseVisit {
    pub visited_on: NaiveDate,
    pub purpose: String,
    pub learned: Option<String>,
}

impl CaseVisit {
    pub fn purpose_label(&self) -> &'static str {
        VisitPurpose::from_code(&self.purpose).map(|p| p.label()).unwrap_or("")
    }
}

/// A case with everything done for it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub case: Case,
    pub help: Vec<Help>,
    pub visits: Vec<CaseVisit>,
    pub applications: Vec<Application>,
    /// The applications whose page the caller may open (their fund is in the caller's read scope).
    pub readable: Vec<i64>,
    /// Funds the caller may apply to for this case (the case's organisation's or above).
    pub funds: Vec<Fund>,
}

/// A member of the 生活困难党员 class with no open case.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Uncovered {
    pub member_id: i64,
    pub name: String,
    pub org_name: String,
}

/// An organisation's cases: open ones (review due first), then closed ones,
/// and the hardship members without a case.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Cases {
    pub cases: Vec<Case>,
    pub uncovered: Vec<Uncovered>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawCase {
    /// The member in hardship (or a household: one of the two).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub member_id: Option<String>,
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub household_id: Option<String>,
    pub situation: Option<String>,
    /// `YYYY-MM-DD`, after today and within a year (default: in three months).
    pub review_on: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawHelp {
    /// `YYYY-MM-DD`, not in the future (default: today).
    pub given_on: Option<String>,
    #[schema(value_type = HelpKind)]
    pub kind: Option<String>,
    pub what: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawReview {
    /// The next review (on review), after today and within a year.
    pub review_on: Option<String>,
    /// Why the case is closed (on closing).
    pub reason: Option<String>,
}

const SELECT: &str = "SELECT c.id, c.org_id, o.name AS org_name, c.member_id, c.household_id, c.subject, c.situation, \
    c.opened_on, c.review_on, c.closed_on, c.close_reason, COALESCE(u.display_name, '') AS opened_by_name \
    FROM hardship_cases c JOIN orgs o ON o.tenant_id = c.tenant_id AND o.id = c.org_id LEFT JOIN users u ON u.id = c.opened_by";

fn today() -> NaiveDate {
    crate::coverage::today()
}

fn review_date(field: &str, v: &Option<String>, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let d = redcell_domain::text::parse_date(field, v.as_deref().unwrap_or(""))?
        .unwrap_or(today + chrono::Duration::days(91));
    if d <= today || d > today + chrono::Duration::days(366) {
        return Err(FieldError::new(field, "range", "复核日期应在今天之后、一年之内"));
    }
    Ok(d)
}

async fn case_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Case, StoreError> {
    c.one(&format!("{SELECT} WHERE c.tenant_id = $1 AND c.id = $2"), args![tenant, id]).await
}

/// The cases of an organisation's subtree the caller reads.
pub async fn cases(db: &Db, p: &Principal, org_id: OrgId) -> Result<Cases, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let org = access.org(&mut db.conn(), org_id).await?;
    let mut a = args![];
    let u = org.under("c", &mut a);
    let cases: Vec<Case> =
        db.all(&format!("{SELECT} WHERE {u} ORDER BY c.closed_on IS NOT NULL, c.review_on, c.id"), a).await?;
    let mut a = args![MemberCategory::Hardship.code()];
    let u = org.under("m", &mut a);
    let uncovered: Vec<Uncovered> = db
        .all(
            &format!(
                "SELECT m.id AS member_id, r.name, mo.name AS org_name FROM members m \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs mo ON mo.tenant_id = m.tenant_id AND mo.id = m.org_id \
                 WHERE m.category = $1 AND {u} AND NOT EXISTS (SELECT 1 FROM hardship_cases c WHERE c.tenant_id = m.tenant_id \
                 AND c.member_id = m.id AND c.closed_on IS NULL) ORDER BY mo.path, r.name LIMIT 100"
            ),
            a,
        )
        .await?;
    Ok(Cases { cases, uncovered })
}

/// A case with its help, visits, applications and the funds to apply to.
pub async fn case(db: &Db, p: &Principal, id: CaseId) -> Result<CaseView, StoreError> {
    let owner = p.access(Capability::ReadRegistry)?.target(&mut db.conn(), id).await?;
    let t = owner.tenant_id;
    let mut c = db.conn();
    let case = case_row(&mut c, t, id.get()).await?;
    let help: Vec<Help> = c
        .all(
            "SELECT h.id, h.given_on, h.kind, h.what, COALESCE(u.display_name, '') AS recorded_by_name FROM hardship_help h \
             LEFT JOIN users u ON u.id = h.recorded_by WHERE h.tenant_id = $1 AND h.case_id = $2 ORDER BY h.given_on DESC, h.id DESC",
            args![t, id.get()],
        )
        .await?;
    let since = case.opened_on - chrono::Duration::days(365);
    let visits: Vec<CaseVisit> = c
        .all(
            "SELECT visited_on, purpose, learned FROM duty_visits WHERE tenant_id = $1 AND visited_on >= $2 AND \
             ((target_kind = 'member' AND target_id = $3) OR (target_kind = 'household' AND target_id = $4)) \
             ORDER BY visited_on DESC, id DESC LIMIT 30",
            args![t, since, case.member_id.unwrap_or(0), case.household_id.unwrap_or(0)],
        )
        .await?;
    let applications = care::applications_of_case(&mut c, t, id.get()).await?;
    let paths: Vec<(i64, String)> = c
        .all(
            "SELECT a.id, o.path FROM care_applications a JOIN care_funds f ON f.tenant_id = a.tenant_id AND f.id = a.fund_id \
             JOIN orgs o ON o.tenant_id = f.tenant_id AND o.id = f.org_id WHERE a.tenant_id = $1 AND a.case_id = $2",
            args![t, id.get()],
        )
        .await?;
    let readable = paths
        .into_iter()
        .filter(|(_, path)| {
            redcell_domain::OrgPath::parse(path).is_ok_and(|x| p.holds_at(Capability::ReadRegistry, &x))
        })
        .map(|(a, _)| a)
        .collect();
    let funds = if p.holds_at(CAP, &owner.path) || p.holds(CAP) {
        let mut a = args![];
        let above = scope::orgs_above_path("o", t, &owner.path, &mut a);
        let edit = p.scope(CAP).orgs("o", &mut a);
        c.all(
            &format!(
                "SELECT {} FROM {} WHERE {above} AND {edit} ORDER BY o.path DESC, f.name",
                care::FUND_COLS,
                care::FUND_FROM
            ),
            a,
        )
        .await?
    } else {
        vec![]
    };
    Ok(CaseView { case, help, visits, applications, readable, funds })
}

/// Open a case on a member or a household in scope (one open case each).
pub async fn open(db: &Db, p: &Principal, raw: &RawCase) -> Result<Case, StoreError> {
    let access = p.access(CAP)?;
    let today = today();
    let mut e = Invalid::default();
    let member = e.check(redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, false)).flatten();
    let household =
        e.check(redcell_domain::input::id_ref::<HouseholdId>("household_id", &raw.household_id, false)).flatten();
    let situation = e.check(Text::required("situation", raw.situation.as_deref().unwrap_or(""), 500));
    let review = e.check(review_date("review_on", &raw.review_on, today));
    if e.is_empty() && member.is_some() == household.is_some() {
        e.push(FieldError::new("member_id", "required", "请选择党员或住户（二选一）"));
    }
    e.into_result()?;
    let (Some(situation), Some(review)) = (situation, review) else { return Err(StoreError::Internal("case".into())) };
    let mut tx = db.begin().await?;
    let (owner, subject, col, subject_id) = match (member, household) {
        (Some(m), _) => {
            let o = access.reference(&mut tx, m, "member_id").await?;
            let (n,): (String,) = tx
                .one(
                    "SELECT r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                     WHERE m.tenant_id = $1 AND m.id = $2",
                    args![o.tenant_id, m.get()],
                )
                .await?;
            (o, n, "member_id", m.get())
        }
        (None, Some(h)) => {
            let o = access.reference(&mut tx, h, "household_id").await?;
            let (n,): (String,) = tx
                .one(
                    &format!(
                        "SELECT {} FROM {} WHERE h.tenant_id = $1 AND h.id = $2",
                        crate::registry::households::place_sql("h", "b"),
                        crate::registry::households::FROM
                    ),
                    args![o.tenant_id, h.get()],
                )
                .await?;
            (o, n, "household_id", h.get())
        }
        (None, None) => return Err(StoreError::Internal("case subject".into())),
    };
    let open = tx
        .int(
            &format!("SELECT COUNT(*) FROM hardship_cases WHERE tenant_id = $1 AND {col} = $2 AND closed_on IS NULL"),
            args![owner.tenant_id, subject_id],
        )
        .await?;
    if open > 0 {
        return Err(FieldError::new(col, "duplicate", "已有未结的帮扶档案").into());
    }
    let id = tx
        .int(
            "INSERT INTO hardship_cases (tenant_id, org_id, member_id, household_id, subject, situation, opened_on, review_on, \
             opened_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            args![
                owner.tenant_id,
                owner.org_id,
                member.map(|m| m.get()),
                household.map(|h| h.get()),
                subject,
                situation.into_string(),
                today,
                review,
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "hardship_case",
        "hardship_cases",
        owner.tenant_id,
        id,
        None,
    )
    .await?;
    let c = case_row(&mut tx, owner.tenant_id, id).await?;
    tx.commit().await?;
    Ok(c)
}

/// An open case the caller may edit, inside `tx`.
async fn open_case(tx: &mut crate::db::Tx, p: &Principal, id: CaseId) -> Result<Case, StoreError> {
    let owner = p.access(CAP)?.target(tx, id).await?;
    let c = case_row(tx, owner.tenant_id, id.get()).await?;
    if !c.is_open() {
        return Err(FieldError::new("case_id", "closed", "帮扶档案已结案").into());
    }
    Ok(c)
}

/// Record help given.
pub async fn add_help(db: &Db, p: &Principal, id: CaseId, raw: &RawHelp) -> Result<i64, StoreError> {
    p.access(CAP)?;
    let mut e = Invalid::default();
    let on = e.check(redcell_domain::text::past_date("given_on", &raw.given_on, today()));
    let kind = e.check(HelpKind::parse("kind", raw.kind.as_deref().unwrap_or("")));
    let what = e.check(Text::required("what", raw.what.as_deref().unwrap_or(""), 200));
    e.into_result()?;
    let (Some(on), Some(kind), Some(what)) = (on, kind, what) else { return Err(StoreError::Internal("help".into())) };
    let mut tx = db.begin().await?;
    let c = open_case(&mut tx, p, id).await?;
    if on < c.opened_on - chrono::Duration::days(30) {
        return Err(
            FieldError::new("given_on", "range", format!("日期不能早于建档日期 {} 前 30 天", c.opened_on)).into()
        );
    }
    let hid = tx
        .int(
            "INSERT INTO hardship_help (tenant_id, case_id, org_id, given_on, kind, what, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![p.tenant_id, c.id, c.org_id, on, kind.code(), what.into_string(), p.user_id, Utc::now()],
        )
        .await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "hardship_help", "hardship_case", Some(c.id), kind.code())
        .await?;
    tx.commit().await?;
    Ok(hid)
}

/// Set the next review date (the case was reviewed and stays open).
pub async fn review(db: &Db, p: &Principal, id: CaseId, raw: &RawReview) -> Result<Case, StoreError> {
    p.access(CAP)?;
    let next = review_date("review_on", &raw.review_on, today())?;
    let mut tx = db.begin().await?;
    let c = open_case(&mut tx, p, id).await?;
    tx.exec(
        "UPDATE hardship_cases SET review_on = $1 WHERE tenant_id = $2 AND id = $3",
        args![next, p.tenant_id, c.id],
    )
    .await?;
    audit::record(
        &mut tx,
        p.tenant_id,
        Some(p.user_id),
        "hardship_review",
        "hardship_case",
        Some(c.id),
        &next.to_string(),
    )
    .await?;
    let c = case_row(&mut tx, p.tenant_id, c.id).await?;
    tx.commit().await?;
    Ok(c)
}

/// Close a case (the hardship is over): its history stays.
pub async fn close(db: &Db, p: &Principal, id: CaseId, raw: &RawReview) -> Result<Case, StoreError> {
    p.access(CAP)?;
    let reason = Text::required("reason", raw.reason.as_deref().unwrap_or(""), 100)?;
    let mut tx = db.begin().await?;
    let c = open_case(&mut tx, p, id).await?;
    tx.exec(
        "UPDATE hardship_cases SET closed_on = $1, close_reason = $2 WHERE tenant_id = $3 AND id = $4",
        args![today(), reason.into_string(), p.tenant_id, c.id],
    )
    .await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "hardship_close", "hardship_case", Some(c.id), "").await?;
    let c = case_row(&mut tx, p.tenant_id, c.id).await?;
    tx.commit().await?;
    Ok(c)
}

/// A member whose birthday falls in the month.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Birthday {
    pub member_id: i64,
    pub name: String,
    pub birth_date: NaiveDate,
    pub org_id: i64,
    pub org_name: String,
}

impl Birthday {
    /// The age reached at this year's birthday.
    pub fn age(&self, year: &i32) -> i32 {
        year - chrono::Datelike::year(&self.birth_date)
    }
    /// A round age (70, 80, 90, ...) worth marking.
    pub fn milestone(&self, year: &i32) -> bool {
        let a = self.age(year);
        a >= 60 && a % 10 == 0
    }
}

/// A collective birthday recorded as an activity.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct BirthdayEvent {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub held_on: NaiveDate,
    pub title: String,
}

/// One organisation's members with a birthday in the month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BranchBirthdays {
    pub org_id: i64,
    pub org_name: String,
    pub members: Vec<Birthday>,
}

/// A month's birthdays in an organisation's subtree and the collective
/// birthdays recorded for them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Birthdays {
    pub year: i32,
    pub month: u32,
    pub groups: Vec<BranchBirthdays>,
    pub events: Vec<BirthdayEvent>,
}

/// The members of an organisation's subtree whose birthday falls in `month`
/// of `year`, grouped by their organisation, with the collective birthdays
/// recorded that month (activities of the kind 集体生日).
pub async fn birthdays(db: &Db, p: &Principal, org_id: OrgId, year: i32, month: u32) -> Result<Birthdays, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let org = access.org(&mut db.conn(), org_id).await?;
    let year = redcell_domain::calendar::check_year("year", year)?;
    let from =
        NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| FieldError::new("month", "range", "月份应为 1 到 12"))?;
    let to =
        if month == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, month + 1, 1) }
            .ok_or_else(|| FieldError::new("month", "range", "月份应为 1 到 12"))?;
    let month_of = match db.backend() {
        crate::Backend::Sqlite => "CAST(strftime('%m', r.birth_date) AS INTEGER)",
        crate::Backend::Postgres => "CAST(EXTRACT(MONTH FROM r.birth_date) AS BIGINT)",
    };
    let mut a = args![i64::from(month)];
    let u = org.under("m", &mut a);
    let members: Vec<Birthday> = db
        .all(
            &format!(
                "SELECT m.id AS member_id, r.name, r.birth_date, m.org_id, mo.name AS org_name FROM members m \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs mo ON mo.tenant_id = m.tenant_id AND mo.id = m.org_id \
                 WHERE {month_of} = $1 AND {u} ORDER BY mo.path, r.birth_date, r.name LIMIT 2000"
            ),
            a,
        )
        .await?;
    let mut a = args![ActivityKind::Birthday.code(), from, to];
    let u = org.under("x", &mut a);
    let events: Vec<BirthdayEvent> = db
        .all(
            &format!(
                "SELECT x.id, x.org_id, xo.name AS org_name, x.held_on, x.title FROM duty_activities x \
                 JOIN orgs xo ON xo.tenant_id = x.tenant_id AND xo.id = x.org_id WHERE x.kind = $1 AND x.held_on >= $2 AND x.held_on < $3 AND {u} ORDER BY x.held_on"
            ),
            a,
        )
        .await?;
    let mut out: Vec<BranchBirthdays> = Vec::new();
    for m in members {
        match out.iter_mut().find(|b| b.org_id == m.org_id) {
            Some(b) => b.members.push(m),
            None => out.push(BranchBirthdays { org_id: m.org_id, org_name: m.org_name.clone(), members: vec![m] }),
        }
    }
    Ok(Birthdays { year, month, groups: out, events })
}

/// The demo district's cases: every member the care fund helped, opened
/// before their first application (which is linked to the case), with help
/// given twice; one case in each community is due for review, one is closed.
pub async fn seed_demo(tx: &mut crate::db::Tx, tenant: i64, by: i64, today: NaiveDate) -> Result<(), StoreError> {
    let apps: Vec<(i64, i64, i64, String, String, chrono::DateTime<Utc>)> = tx
        .all(
            "SELECT a.id, m.org_id, a.member_id, a.person_name, a.purpose, a.created_at FROM care_applications a \
             JOIN members m ON m.tenant_id = a.tenant_id AND m.id = a.member_id \
             WHERE a.tenant_id = $1 AND a.member_id IS NOT NULL ORDER BY a.fund_id, a.id",
            args![tenant],
        )
        .await?;
    let mut opened: Vec<(i64, i64)> = Vec::new();
    for (i, (app, org, member, name, purpose, at)) in apps.into_iter().enumerate() {
        let case = match opened.iter().find(|(m, _)| *m == member) {
            Some((_, c)) => *c,
            None => {
                let on = at.date_naive() - chrono::Duration::days(12);
                let label = redcell_domain::care::Purpose::from_code(&purpose).map(|p| p.label()).unwrap_or("");
                let (review, closed) = match i % 6 {
                    0 => (today - chrono::Duration::days(3), None),
                    5 if on + chrono::Duration::days(80) < today - chrono::Duration::days(30) => {
                        (on + chrono::Duration::days(90), Some(on + chrono::Duration::days(80)))
                    }
                    k => (today + chrono::Duration::days(20 + 10 * k as i64), None),
                };
                let id = tx
                    .int(
                        "INSERT INTO hardship_cases (tenant_id, org_id, member_id, subject, situation, opened_on, review_on, \
                         closed_on, close_reason, opened_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                        args![
                            tenant,
                            org,
                            member,
                            name,
                            format!("{label}，家庭收入不足以负担日常开支"),
                            on,
                            review,
                            closed,
                            closed.map(|_| "家人已就业，收入稳定".to_string()),
                            by,
                            Utc::now()
                        ],
                    )
                    .await?;
                for (k, (kind, what)) in
                    [(HelpKind::Visit, "上门慰问，送米面油一套"), (HelpKind::Care, "联系志愿者每周上门打扫")]
                        .iter()
                        .enumerate()
                {
                    tx.exec(
                        "INSERT INTO hardship_help (tenant_id, case_id, org_id, given_on, kind, what, recorded_by, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        args![tenant, id, org, on + chrono::Duration::days(3 + 20 * k as i64), kind.code(), what.to_string(), by, Utc::now()],
                    )
                    .await?;
                }
                opened.push((member, id));
                id
            }
        };
        tx.exec("UPDATE care_applications SET case_id = $1 WHERE tenant_id = $2 AND id = $3", args![case, tenant, app])
            .await?;
    }
    Ok(())
}

// ---- export

/// Filters of the cases' export.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    /// Cases of this organisation and its subtree.
    pub org_id: Option<OrgId>,
    /// `open` (default), `closed` or `all`.
    pub state: Option<String>,
}

/// A case with the count of help given, as the export reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    #[sqlx(flatten)]
    pub case: Case,
    pub help_count: i64,
}

/// The hardship register (困难党员和家庭帮扶台账): who, the situation (in scope
/// only), since when, the review date, how often helped, and how it ended.
pub struct CaseList;

impl crate::export::Exportable for CaseList {
    const CODE: &'static str = "hardship-cases";
    const LABEL: &'static str = "困难帮扶台账";
    const TAG: &'static str = "care";
    type Filter = CaseFilter;
    type Row = CaseRow;
    fn columns(_m: crate::export::Mask) -> Vec<redcell_domain::export::Column> {
        use redcell_domain::export::Column;
        vec![
            Column::text("帮扶对象"),
            Column::text("所属组织"),
            Column::text("困难情况"),
            Column::date("建档日期"),
            Column::date("复核日期"),
            Column::number("帮扶次数"),
            Column::text("状态"),
            Column::date("结案日期"),
            Column::text("结案原因"),
            Column::text("建档人"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, crate::db::Args)>, StoreError> {
        let mut a = crate::db::Args::new();
        let mut w = vec![q.scope(Capability::ReadRegistry).rows("c", &mut a)];
        match f.state.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
            None | Some("open") => w.push("c.closed_on IS NULL".into()),
            Some("closed") => w.push("c.closed_on IS NOT NULL".into()),
            Some("all") => {}
            Some(_) => return Err(FieldError::new("state", "unknown", "状态应为 open、closed 或 all").into()),
        }
        if let Some(o) = f.org_id {
            w.push(scope::rows_under_id("c", q.tenant_id, o, &mut a));
        }
        let select = SELECT.replacen(
            "SELECT ",
            "SELECT (SELECT COUNT(*) FROM hardship_help hh WHERE hh.tenant_id = c.tenant_id AND hh.case_id = c.id) AS help_count, ",
            1,
        );
        Ok(Some((format!("{select} WHERE {} ORDER BY o.path, c.opened_on, c.id", w.join(" AND ")), a)))
    }
    fn cells(r: &CaseRow, _m: crate::export::Mask) -> Vec<String> {
        let c = &r.case;
        vec![
            c.subject.clone(),
            c.org_name.clone(),
            c.situation.clone(),
            c.opened_on.to_string(),
            c.review_on.to_string(),
            r.help_count.to_string(),
            if c.is_open() { "帮扶中" } else { "已结案" }.to_string(),
            c.closed_on.map(|d| d.to_string()).unwrap_or_default(),
            c.close_reason.clone().unwrap_or_default(),
            c.opened_by_name.clone(),
        ]
    }
}
