//! Duties and their rhythm (SPEC §4): rules as data and a pure evaluator.
//!
//! A [`Rule`] says who owes the duty ([`Who`]), what record fulfils it
//! ([`What`]), how often ([`Rhythm`]), how many records a period needs and how
//! many days before the due date to warn. Rules come from TOML
//! (`data/duties.toml` is the shipped set) through [`RawRule`], the same flat
//! shape the edit form and the import/export use; [`RawRule::validate`] refuses
//! impossible rhythms with a named [`RuleError`].
//!
//! [`evaluate`] is pure: given a rule, the subject's records, its set (the
//! households or members it must reach), its events (new arrivals), the
//! holiday calendar and the dates `from`/`today` (Asia/Shanghai business dates),
//! it lists every period with expected/actual counts, a status and the next
//! due date.
//!
//! Choices where the duty text is silent:
//! - Week periods run Monday to Sunday; month-based periods are aligned on
//!   calendar months (every 2 months: Jan–Feb, Mar–Apr, …; every 5 months
//!   counted from January of year 0, so the periods never depend on when the
//!   rule was created).
//! - A weekday duty (Tuesday grid day) is satisfied by a matching record on any
//!   day of that week; it is due on the weekday, and when that day is a holiday
//!   the due date moves to the next working day of the same week (make-up
//!   Saturdays count). When no working day is left in that week the week is
//!   exempt (expected 0).
//! - "Within N days of an event" counts calendar days, or working days when
//!   `working_days = true`; events of kind `holiday` are the first days of each
//!   holiday block in the calendar, events of kind `new_household` come from
//!   the registry and must be met by a record about that household.
//! - A period is `done` when actual ≥ expected, `overdue` after its due date,
//!   `due_soon` within `warn_days` days before the due date, `due` otherwise.

use crate::calendar::{DayKind, HolidayCalendar};
use crate::code_enum;
use crate::error::FieldError;
use crate::i18n;
use crate::org::OrgKind;
use crate::registry::CadreKind;
use crate::role::Role;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

code_enum!(
    /// The kinds of record a duty can be fulfilled by.
    RecordKind {
        Visit = "visit": "走访",
        Meeting = "meeting": "会议",
        Activity = "activity": "活动",
    }
);

code_enum!(
    /// Why a visit was made (民情日记).
    VisitPurpose {
        MustArrive = "must_arrive": "必到",
        MustReport = "must_report": "必报",
        MustVisit = "must_visit": "必访",
        Routine = "routine": "日常走访",
        Holiday = "holiday": "节日走访",
        NewArrival = "new_arrival": "新迁入走访",
        HomeStudy = "home_study": "送教上门",
        Hardship = "hardship": "困难帮扶走访",
    }
);

code_enum!(
    /// What a visit, or a duty's set, is about.
    TargetKind {
        Household = "household": "住户",
        Building = "building": "楼栋",
        Grid = "grid": "网格",
        Community = "community": "社区",
        Member = "member": "党员",
    }
);

code_enum!(
    /// Meetings of organisational life and of the network.
    MeetingKind {
        GeneralMeeting = "general_meeting": "支部党员大会",
        Committee = "committee": "支委会",
        PartyGroup = "party_group": "党小组会",
        Lecture = "lecture": "党课",
        ThemeDay = "theme_day": "主题党日",
        OrgLife = "org_life": "组织生活会",
        Appraisal = "appraisal": "民主评议党员",
        Analysis = "analysis": "月度分析例会",
        Forum = "forum": "书记座谈会",
        JointCommittee = "joint_committee": "1+3联席会",
        Progress = "progress": "推进会",
    }
);

impl MeetingKind {
    /// Meetings that count as recorded organisational life (for the
    /// silent-branch warning).
    pub fn is_org_life(self) -> bool {
        use MeetingKind::*;
        matches!(self, GeneralMeeting | Committee | PartyGroup | Lecture | ThemeDay | OrgLife | Appraisal)
    }
}

code_enum!(
    /// Activities with participants.
    ActivityKind {
        Service = "service": "志愿服务",
        Publicity = "publicity": "主题宣传",
        Study = "study": "学习活动",
        Birthday = "birthday": "集体生日",
    }
);

code_enum!(
    /// Excused absences from a meeting.
    AbsenceReason {
        Mobile = "mobile": "外出流动",
        Ill = "ill": "患病",
        Abroad = "abroad": "出国（境）",
        Other = "other": "其他事由",
    }
);

code_enum!(
    /// Flags on a member that a duty can select.
    MemberFlag {
        CentralHousehold = "central_household": "党员中心户",
        InService = "in_service": "在职党员",
    }
);

code_enum!(
    /// The sets a duty may have to reach in full.
    SetKind {
        CentralHouseholds = "central_households": "党员中心户",
        KeyHouseholds = "key_households": "重点户",
        Members = "members": "党员",
    }
);

code_enum!(
    /// Events that start a duty with a deadline.
    EventKind {
        NewHousehold = "new_household": "新迁入住户",
        Holiday = "holiday": "节假日",
    }
);

code_enum!(
    /// The status of one period of a duty.
    Status {
        Done = "done": "已完成",
        Due = "due": "待完成",
        DueSoon = "due_soon": "即将到期",
        Overdue = "overdue": "已逾期",
        Exempt = "exempt": "本期免除",
    }
);

/// Who owes a duty. An empty selector matches nobody; the store resolves the
/// subjects (people or organisations) it names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Who {
    pub role: Option<Role>,
    pub org_kinds: Vec<OrgKind>,
    pub cadre_kind: Option<CadreKind>,
    pub member_flag: Option<MemberFlag>,
}

impl Who {
    /// Whether the duty falls on organisations (meetings) rather than people.
    pub fn is_org(&self) -> bool {
        self.role.is_none() && self.cadre_kind.is_none() && self.member_flag.is_none()
    }

    /// Whether a candidate owes this duty. Every stated part must hold:
    /// - org kinds alone: organisations of those kinds;
    /// - a cadre kind: cadres of that kind (in an organisation of the stated
    ///   kinds, if any);
    /// - a member flag: members with it (same org-kind filter);
    /// - a role alone: those it stands for in the registry — 驻格干部 and
    ///   网格员 the cadres of that kind, 党员 every member, 书记/委员 and
    ///   组织管理员 the organisations (of the stated kinds, else every party
    ///   organisation below the street or township) — and anyone whose linked account holds
    ///   the role;
    /// - a role with a cadre kind or member flag: the person must also hold
    ///   the role through a linked account.
    pub fn applies(&self, c: &Candidate) -> bool {
        let kinds_ok = self.org_kinds.is_empty() || self.org_kinds.contains(&c.org_kind);
        let role_held = self.role.is_some_and(|r| c.roles.contains(&r));
        match c.class {
            SubjectClass::Org => {
                if self.cadre_kind.is_some() || self.member_flag.is_some() {
                    return false;
                }
                match self.role {
                    None => !self.org_kinds.is_empty() && kinds_ok,
                    Some(Role::Secretary | Role::OrgAdmin) => {
                        if self.org_kinds.is_empty() {
                            !matches!(
                                c.org_kind,
                                OrgKind::DistrictDept | OrgKind::StreetCommittee | OrgKind::TownshipCommittee
                            )
                        } else {
                            kinds_ok
                        }
                    }
                    Some(_) => false,
                }
            }
            SubjectClass::Cadre => {
                if self.member_flag.is_some() || !kinds_ok {
                    return false;
                }
                match (self.cadre_kind, self.role) {
                    (Some(k), None) => c.cadre_kind == Some(k),
                    (Some(k), Some(_)) => c.cadre_kind == Some(k) && role_held,
                    (None, Some(r)) => role_held || Self::role_cadre(r).is_some_and(|k| c.cadre_kind == Some(k)),
                    (None, None) => false,
                }
            }
            SubjectClass::Member => {
                if self.cadre_kind.is_some() || !kinds_ok {
                    return false;
                }
                let flag_ok = |f: MemberFlag| match f {
                    MemberFlag::CentralHousehold => c.central_household,
                    MemberFlag::InService => c.in_service,
                };
                match (self.member_flag, self.role) {
                    (Some(f), None) => flag_ok(f),
                    (Some(f), Some(_)) => flag_ok(f) && role_held,
                    (None, Some(r)) => role_held || r == Role::Member,
                    (None, None) => false,
                }
            }
        }
    }

    /// The cadre kind a role stands for in the registry.
    fn role_cadre(r: Role) -> Option<CadreKind> {
        match r {
            Role::Cadre => Some(CadreKind::StationedCadre),
            Role::GridWorker => Some(CadreKind::GridWorker),
            _ => None,
        }
    }
}

/// What a subject of duties is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectClass {
    Org,
    Cadre,
    Member,
}

/// The facts about a possible subject that decide whether a rule's "who"
/// names it (see [`Who::applies`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub class: SubjectClass,
    /// The organisation itself, or the one the person belongs to.
    pub org_kind: OrgKind,
    pub cadre_kind: Option<CadreKind>,
    pub central_household: bool,
    pub in_service: bool,
    /// Roles held by the login account linked to this person.
    pub roles: Vec<Role>,
}

/// Which records count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub kind: RecordKind,
    /// Codes of purposes / meeting kinds / activity kinds; empty = any.
    pub subs: Vec<String>,
    /// What a visit must be about; `None` = anything.
    pub target: Option<TargetKind>,
}

impl Matcher {
    pub fn matches(&self, r: &Record) -> bool {
        r.kind == self.kind
            && (self.subs.is_empty() || self.subs.contains(&r.sub))
            && self.target.is_none_or(|t| r.target.is_some_and(|rt| rt.kind == t))
    }
    pub fn label(&self) -> String {
        let mut s = self.kind.label().to_string();
        let subs: Vec<&str> = self.subs.iter().map(|c| sub_label(self.kind, c)).collect();
        if !subs.is_empty() {
            s = format!("{s}（{}）", subs.join("/"));
        }
        if let Some(t) = self.target {
            s = format!("{s}·{}", t.label());
        }
        s
    }
}

pub fn sub_label(kind: RecordKind, code: &str) -> &'static str {
    use crate::CodeEnum;
    match kind {
        RecordKind::Visit => VisitPurpose::from_code(code).map(|v| v.label()),
        RecordKind::Meeting => MeetingKind::from_code(code).map(|v| v.label()),
        RecordKind::Activity => ActivityKind::from_code(code).map(|v| v.label()),
    }
    .unwrap_or("?")
}

/// What fulfils the duty in one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum What {
    /// `expected` matching records.
    One(Matcher),
    /// One record of each kind listed ("the four ones").
    AllOf(Vec<Matcher>),
    /// A matching record about every item of the subject's set.
    EachOf { matcher: Matcher, sets: Vec<SetKind> },
}

/// How often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rhythm {
    /// Every `n` weeks (Monday–Sunday).
    Weeks(u32),
    /// Every week, due on this weekday.
    Weekday(Weekday),
    /// Every `n` calendar months (1 month, 3 quarter, 6 half-year, 12 year).
    Months(u32),
    /// Every calendar year, due on this day.
    YearlyBy { month: u32, day: u32 },
    /// Within `days` of each event.
    AfterEvent { event: EventKind, days: u32, working_days: bool },
}

/// A validated duty rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub code: String,
    pub name: String,
    pub who: Who,
    pub what: What,
    pub rhythm: Rhythm,
    /// Records needed per period for [`What::One`] (others count items).
    pub expected: u32,
    pub warn_days: u32,
    pub enabled: bool,
    /// The day the rule starts: no period before it is judged.
    pub since: Option<NaiveDate>,
}

/// A refused rule, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("{}：{month}月{day}日", i18n::DUTY_IMPOSSIBLE_DATE)]
    ImpossibleDate { month: u32, day: u32 },
    #[error("{}", i18n::DUTY_ZERO_WEEKS)]
    ZeroWeeks,
    #[error("{}", i18n::DUTY_ZERO_N)]
    ZeroN,
    #[error("{}", i18n::DUTY_EMPTY_SET)]
    EmptySet,
    #[error("{}：{field} = {value}", i18n::DUTY_UNKNOWN_KIND)]
    UnknownKind { field: &'static str, value: String },
    #[error("{}：{field}", i18n::DUTY_MISSING, field = .0)]
    Missing(&'static str),
    #[error("{}", i18n::DUTY_ZERO_EXPECTED)]
    ZeroExpected,
    #[error("{}", i18n::DUTY_TOO_LARGE)]
    TooLarge(&'static str),
    #[error("{}", i18n::DUTY_NO_SUBJECT)]
    NoSubject,
    #[error("{}", i18n::DUTY_CADRE_AND_MEMBER)]
    CadreAndMember,
    #[error("{}", i18n::DATE_INVALID)]
    BadSince,
}

impl RuleError {
    pub fn field(&self) -> &'static str {
        match self {
            RuleError::ImpossibleDate { .. } => "day",
            RuleError::ZeroWeeks | RuleError::ZeroN => "n",
            RuleError::EmptySet => "each_of",
            RuleError::UnknownKind { field, .. } | RuleError::Missing(field) | RuleError::TooLarge(field) => field,
            RuleError::ZeroExpected => "expected",
            RuleError::NoSubject => "who",
            RuleError::CadreAndMember => "member_flag",
            RuleError::BadSince => "since",
        }
    }
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::ImpossibleDate { .. } => "impossible_date",
            RuleError::ZeroWeeks => "zero_weeks",
            RuleError::ZeroN => "zero_n",
            RuleError::EmptySet => "empty_set",
            RuleError::UnknownKind { .. } => "unknown_kind",
            RuleError::Missing(_) => "required",
            RuleError::ZeroExpected => "zero_expected",
            RuleError::TooLarge(_) => "too_large",
            RuleError::NoSubject => "no_subject",
            RuleError::CadreAndMember => "cadre_and_member",
            RuleError::BadSince => "date",
        }
    }
}

impl From<RuleError> for FieldError {
    fn from(e: RuleError) -> Self {
        FieldError::new(e.field(), e.code(), e.to_string())
    }
}

/// One matcher in its flat TOML shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RawMatcher {
    #[cfg_attr(feature = "openapi", schema(value_type = RecordKind))]
    pub record: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TargetKind>))]
    pub target: Option<String>,
}

/// A rule in its flat TOML / form shape (see `data/duties.toml`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::Role>))]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<OrgKind>))]
    pub org_kind: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CadreKind>))]
    pub cadre_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<MemberFlag>))]
    pub member_flag: Option<String>,
    /// `one` (default), `all_of` or `each_of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<RecordKind>))]
    pub record: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TargetKind>))]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all_of: Vec<RawMatcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<SetKind>>))]
    pub each_of: Option<Vec<String>>,
    /// `week`, `weekday`, `month`, `quarter`, `half_year`, `year`, `months`,
    /// `weeks`, `yearly_by`, `after_event`.
    #[cfg_attr(feature = "openapi", schema(schema_with = every_schema))]
    pub every: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = weekday_schema))]
    pub weekday: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<EventKind>))]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_days: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// YYYY-MM-DD: the day the rule starts (no earlier period is judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<NaiveDate>))]
    pub since: Option<String>,
}

/// The rhythms (`every` of [`RawRule`]).
#[cfg(feature = "openapi")]
fn every_schema() -> utoipa::openapi::schema::Object {
    let codes =
        ["week", "weekday", "month", "quarter", "half_year", "year", "months", "weeks", "yearly_by", "after_event"];
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(codes))
        .build()
}

/// The days of the week (`weekday` of [`RawRule`], with `every = "weekday"`).
#[cfg(feature = "openapi")]
fn weekday_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(WEEKDAYS.iter().map(|(c, _)| serde_json::Value::from(*c)).chain([serde_json::Value::Null])))
        .build()
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

pub fn weekday_code(w: Weekday) -> &'static str {
    WEEKDAYS.iter().find(|(_, x)| *x == w).map(|(c, _)| *c).unwrap_or("mon")
}

pub fn weekday_label(w: Weekday) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][w.num_days_from_monday() as usize]
}

fn enum_of<T: crate::CodeEnum>(field: &'static str, v: &str) -> Result<T, RuleError> {
    T::from_code(v.trim()).ok_or_else(|| RuleError::UnknownKind { field, value: v.to_string() })
}

fn matcher(field: &'static str, record: &str, subs: &[String], target: Option<&str>) -> Result<Matcher, RuleError> {
    let kind: RecordKind = enum_of(field, record)?;
    for s in subs {
        let ok = match kind {
            RecordKind::Visit => enum_of::<VisitPurpose>("sub", s).is_ok(),
            RecordKind::Meeting => enum_of::<MeetingKind>("sub", s).is_ok(),
            RecordKind::Activity => enum_of::<ActivityKind>("sub", s).is_ok(),
        };
        if !ok {
            return Err(RuleError::UnknownKind { field: "sub", value: s.clone() });
        }
    }
    let target = target.filter(|t| !t.trim().is_empty()).map(|t| enum_of::<TargetKind>("target", t)).transpose()?;
    Ok(Matcher { kind, subs: subs.iter().map(|s| s.trim().to_string()).collect(), target })
}

/// Whether `month`/`day` exists in every year (29 February does not).
fn day_exists_every_year(month: u32, day: u32) -> bool {
    (1..=12).contains(&month) && day >= 1 && NaiveDate::from_ymd_opt(2023, month, day).is_some()
}

impl RawRule {
    pub fn validate(&self) -> Result<Rule, RuleError> {
        let code = self.code.trim();
        if code.is_empty() || code.len() > 40 || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(RuleError::Missing("code"));
        }
        let name = self.name.trim();
        if name.is_empty() {
            return Err(RuleError::Missing("name"));
        }
        if name.chars().count() > 60 {
            return Err(RuleError::TooLarge("name"));
        }
        let role = self.role.as_deref().filter(|s| !s.trim().is_empty()).map(|s| enum_of("role", s)).transpose()?;
        let org_kinds =
            self.org_kind.iter().map(|s| enum_of::<OrgKind>("org_kind", s)).collect::<Result<Vec<_>, _>>()?;
        let cadre_kind = self
            .cadre_kind
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| enum_of("cadre_kind", s))
            .transpose()?;
        let member_flag = self
            .member_flag
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| enum_of("member_flag", s))
            .transpose()?;
        let who = Who { role, org_kinds, cadre_kind, member_flag };
        if who.role.is_none() && who.org_kinds.is_empty() && who.cadre_kind.is_none() && who.member_flag.is_none() {
            return Err(RuleError::NoSubject);
        }
        if who.cadre_kind.is_some() && who.member_flag.is_some() {
            return Err(RuleError::CadreAndMember);
        }
        let what = if !self.all_of.is_empty() {
            What::AllOf(
                self.all_of
                    .iter()
                    .map(|m| matcher("all_of", &m.record, &m.sub, m.target.as_deref()))
                    .collect::<Result<_, _>>()?,
            )
        } else {
            let record = self.record.as_deref().ok_or(RuleError::Missing("record"))?;
            let m = matcher("record", record, &self.sub, self.target.as_deref())?;
            match &self.each_of {
                Some(sets) => {
                    if sets.is_empty() {
                        return Err(RuleError::EmptySet);
                    }
                    let sets = sets.iter().map(|s| enum_of::<SetKind>("each_of", s)).collect::<Result<_, _>>()?;
                    What::EachOf { matcher: m, sets }
                }
                None => What::One(m),
            }
        };
        let n = |zero: RuleError| -> Result<u32, RuleError> {
            match self.n {
                None => Err(RuleError::Missing("n")),
                Some(0) => Err(zero),
                Some(n) if n > 120 => Err(RuleError::TooLarge("n")),
                Some(n) => Ok(n),
            }
        };
        let rhythm = match self.every.trim() {
            "week" => Rhythm::Weeks(1),
            "weeks" => Rhythm::Weeks(n(RuleError::ZeroWeeks)?),
            "weekday" => {
                let w = self.weekday.as_deref().ok_or(RuleError::Missing("weekday"))?;
                let w = WEEKDAYS
                    .iter()
                    .find(|(c, _)| *c == w.trim())
                    .map(|(_, d)| *d)
                    .ok_or_else(|| RuleError::UnknownKind { field: "weekday", value: w.to_string() })?;
                Rhythm::Weekday(w)
            }
            "month" => Rhythm::Months(1),
            "quarter" => Rhythm::Months(3),
            "half_year" => Rhythm::Months(6),
            "year" => Rhythm::Months(12),
            "months" => Rhythm::Months(n(RuleError::ZeroN)?),
            "yearly_by" => {
                let month = self.month.ok_or(RuleError::Missing("month"))?;
                let day = self.day.ok_or(RuleError::Missing("day"))?;
                if !day_exists_every_year(month, day) {
                    return Err(RuleError::ImpossibleDate { month, day });
                }
                Rhythm::YearlyBy { month, day }
            }
            "after_event" => {
                let event = enum_of("event", self.event.as_deref().ok_or(RuleError::Missing("event"))?)?;
                let days = n(RuleError::ZeroN)?;
                Rhythm::AfterEvent { event, days, working_days: self.working_days.unwrap_or(false) }
            }
            other => return Err(RuleError::UnknownKind { field: "every", value: other.to_string() }),
        };
        let expected = self.expected.unwrap_or(1);
        if expected == 0 {
            return Err(RuleError::ZeroExpected);
        }
        if expected > 100 {
            return Err(RuleError::TooLarge("expected"));
        }
        let warn_days = self.warn_days.unwrap_or(0);
        if warn_days > 366 {
            return Err(RuleError::TooLarge("warn_days"));
        }
        let since = match self.since.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| RuleError::BadSince)?),
        };
        Ok(Rule {
            code: code.to_string(),
            name: name.to_string(),
            who,
            what,
            rhythm,
            expected,
            warn_days,
            enabled: self.enabled.unwrap_or(true),
            since,
        })
    }
}

fn raw_matcher(m: &Matcher) -> RawMatcher {
    RawMatcher { record: m.kind.code().into(), sub: m.subs.clone(), target: m.target.map(|t| t.code().into()) }
}

impl Rule {
    /// The flat shape (for export and the edit form); `validate` gives it back.
    pub fn to_raw(&self) -> RawRule {
        let mut r = RawRule {
            code: self.code.clone(),
            name: self.name.clone(),
            role: self.who.role.map(|x| x.code().into()),
            org_kind: self.who.org_kinds.iter().map(|k| k.code().into()).collect(),
            cadre_kind: self.who.cadre_kind.map(|x| x.code().into()),
            member_flag: self.who.member_flag.map(|x| x.code().into()),
            expected: Some(self.expected),
            warn_days: Some(self.warn_days),
            enabled: Some(self.enabled),
            since: self.since.map(|d| d.to_string()),
            ..RawRule::default()
        };
        match &self.what {
            What::One(m) => {
                let m = raw_matcher(m);
                (r.record, r.sub, r.target) = (Some(m.record), m.sub, m.target);
            }
            What::AllOf(ms) => r.all_of = ms.iter().map(raw_matcher).collect(),
            What::EachOf { matcher, sets } => {
                let m = raw_matcher(matcher);
                (r.record, r.sub, r.target) = (Some(m.record), m.sub, m.target);
                r.each_of = Some(sets.iter().map(|s| s.code().into()).collect());
            }
        }
        match self.rhythm {
            Rhythm::Weeks(1) => r.every = "week".into(),
            Rhythm::Weeks(n) => (r.every, r.n) = ("weeks".into(), Some(n)),
            Rhythm::Weekday(w) => (r.every, r.weekday) = ("weekday".into(), Some(weekday_code(w).into())),
            Rhythm::Months(1) => r.every = "month".into(),
            Rhythm::Months(3) => r.every = "quarter".into(),
            Rhythm::Months(6) => r.every = "half_year".into(),
            Rhythm::Months(12) => r.every = "year".into(),
            Rhythm::Months(n) => (r.every, r.n) = ("months".into(), Some(n)),
            Rhythm::YearlyBy { month, day } => (r.every, r.month, r.day) = ("yearly_by".into(), Some(month), Some(day)),
            Rhythm::AfterEvent { event, days, working_days } => {
                r.every = "after_event".into();
                r.event = Some(event.code().into());
                r.n = Some(days);
                r.working_days = Some(working_days);
            }
        }
        r
    }

    /// The rhythm in words, e.g. "每周二", "每季度", "事件后7天内".
    pub fn rhythm_label(&self) -> String {
        match self.rhythm {
            Rhythm::Weeks(1) => "每周".into(),
            Rhythm::Weeks(n) => format!("每{n}周"),
            Rhythm::Weekday(w) => format!("每{}", weekday_label(w)),
            Rhythm::Months(1) => "每月".into(),
            Rhythm::Months(3) => "每季度".into(),
            Rhythm::Months(6) => "每半年".into(),
            Rhythm::Months(12) => "每年".into(),
            Rhythm::Months(n) => format!("每{n}个月"),
            Rhythm::YearlyBy { month, day } => format!("每年{month}月{day}日前"),
            Rhythm::AfterEvent { event, days, working_days } => {
                format!("{}后{days}个{}内", event.label(), if working_days { "工作日" } else { "自然日" })
            }
        }
    }

    /// Records needed per period (for sets: per item; for all-of: each part).
    pub fn what_label(&self) -> String {
        match &self.what {
            What::One(m) => m.label(),
            What::AllOf(ms) => ms.iter().map(|m| m.label()).collect::<Vec<_>>().join(" + "),
            What::EachOf { matcher, sets } => {
                format!("{}：{}", matcher.label(), sets.iter().map(|s| s.label()).collect::<Vec<_>>().join("、"))
            }
        }
    }
}

/// The file format: `[[rule]]` tables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub rule: Vec<RawRule>,
}

/// A refused rule file, naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", rule.as_ref().map(|r| format!("规则 {r}：")).unwrap_or_default())]
pub struct RuleFileError {
    pub rule: Option<String>,
    pub field: Option<&'static str>,
    pub reason: String,
}

/// Parse and validate a rule file; codes must be unique.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, RuleFileError> {
    let file: RuleFile = toml::from_str(text).map_err(|e| RuleFileError {
        rule: None,
        field: None,
        reason: format!("{}：{}", i18n::DUTY_TOML_INVALID, e.message()),
    })?;
    let mut out: Vec<Rule> = Vec::new();
    for raw in &file.rule {
        let rule = raw.validate().map_err(|e| RuleFileError {
            rule: Some(raw.code.clone()),
            field: Some(e.field()),
            reason: e.to_string(),
        })?;
        if out.iter().any(|r| r.code == rule.code) {
            return Err(RuleFileError {
                rule: Some(rule.code),
                field: Some("code"),
                reason: i18n::DUTY_DUPLICATE_CODE.into(),
            });
        }
        out.push(rule);
    }
    Ok(out)
}

/// Write rules as a rule file.
pub fn rules_to_toml(rules: &[Rule]) -> String {
    let file = RuleFile { rule: rules.iter().map(Rule::to_raw).collect() };
    toml::to_string(&file).unwrap_or_default()
}

/// The shipped rule set.
pub const SHIPPED_RULES: &str = include_str!("../data/duties.toml");

pub fn shipped_rules() -> Vec<Rule> {
    parse_rules(SHIPPED_RULES).expect("shipped duty rules are valid")
}

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub id: i64,
}

/// One recorded visit, meeting or activity, reduced to what duties need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub date: NaiveDate,
    pub kind: RecordKind,
    /// Code of the purpose / meeting kind / activity kind.
    pub sub: String,
    pub target: Option<Target>,
}

/// An event that starts a duty (e.g. a household moving in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub date: NaiveDate,
    /// The household (or member) the duty is about.
    pub target: Option<Target>,
}

/// What the store knows about the subject beyond its records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Items to reach, per set kind.
    pub sets: Vec<(SetKind, Target)>,
    pub events: Vec<Event>,
}

/// One period of a duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub due: NaiveDate,
    pub expected: u32,
    pub actual: u32,
    pub status: Status,
}

impl Period {
    /// A short name: "2026-11", "2026 Q4", "2026-11-17起一周", …
    pub fn label(&self) -> String {
        if self.start.day() == 1 && self.end == last_of_month(self.end) {
            let months = month_index(self.end) - month_index(self.start) + 1;
            return match months {
                1 => format!("{}年{}月", self.start.year(), self.start.month()),
                3 => format!("{}年第{}季度", self.start.year(), self.start.month0() / 3 + 1),
                6 => format!("{}年{}半年", self.start.year(), if self.start.month() == 1 { "上" } else { "下" }),
                12 if self.start.month() == 1 => format!("{}年", self.start.year()),
                _ => format!("{}至{}", self.start, self.end),
            };
        }
        format!("{}至{}", self.start, self.end)
    }
}

/// The periods of one rule for one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub periods: Vec<Period>,
    /// The earliest due date still open (an overdue one first), or the due
    /// date of the next period when all are done.
    pub next_due: Option<NaiveDate>,
}

impl Evaluation {
    /// The period containing `today`, or the last one.
    pub fn current(&self, today: NaiveDate) -> Option<&Period> {
        self.periods.iter().rev().find(|p| p.start <= today && today <= p.end).or(self.periods.last())
    }
    pub fn overdue(&self) -> usize {
        self.periods.iter().filter(|p| p.status == Status::Overdue).count()
    }
}

fn month_index(d: NaiveDate) -> i64 {
    d.year() as i64 * 12 + d.month0() as i64
}

fn first_of_month_index(m: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(m.div_euclid(12) as i32, (m.rem_euclid(12) + 1) as u32, 1).expect("valid month")
}

fn last_of_month(d: NaiveDate) -> NaiveDate {
    first_of_month_index(month_index(d) + 1) - Duration::days(1)
}

/// The Monday that week periods are counted from.
const WEEK_EPOCH: (i32, u32, u32) = (2000, 1, 3);

fn week_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(WEEK_EPOCH.0, WEEK_EPOCH.1, WEEK_EPOCH.2).expect("epoch")
}

/// The bounds and due date of the periodic period containing `d`; `None`
/// for the due date means the period is exempt.
fn period_at(rhythm: Rhythm, cal: &HolidayCalendar, d: NaiveDate) -> (NaiveDate, NaiveDate, Option<NaiveDate>) {
    match rhythm {
        Rhythm::Weeks(n) => {
            let len = 7 * n as i64;
            let k = (d - week_epoch()).num_days().div_euclid(len);
            let start = week_epoch() + Duration::days(k * len);
            let end = start + Duration::days(len - 1);
            (start, end, Some(end))
        }
        Rhythm::Weekday(w) => {
            let start = d - Duration::days(d.weekday().num_days_from_monday() as i64);
            let end = start + Duration::days(6);
            let mut due = start + Duration::days(w.num_days_from_monday() as i64);
            while due <= end && !cal.is_working_day(due) {
                due += Duration::days(1);
            }
            (start, end, (due <= end).then_some(due))
        }
        Rhythm::Months(n) => {
            let k = month_index(d).div_euclid(n as i64);
            let start = first_of_month_index(k * n as i64);
            let end = first_of_month_index((k + 1) * n as i64) - Duration::days(1);
            (start, end, Some(end))
        }
        Rhythm::YearlyBy { month, day } => {
            let start = NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("jan 1");
            let end = NaiveDate::from_ymd_opt(d.year(), 12, 31).expect("dec 31");
            (start, end, NaiveDate::from_ymd_opt(d.year(), month, day))
        }
        Rhythm::AfterEvent { .. } => unreachable!("event rhythms have no calendar periods"),
    }
}

fn status(expected: u32, actual: u32, due: NaiveDate, warn_days: u32, today: NaiveDate) -> Status {
    if expected == 0 {
        Status::Exempt
    } else if actual >= expected {
        Status::Done
    } else if today > due {
        Status::Overdue
    } else if today >= due - Duration::days(warn_days as i64) {
        Status::DueSoon
    } else {
        Status::Due
    }
}

/// The first day of each holiday block in the calendar, in `[from, to]`.
pub fn holiday_starts(cal: &HolidayCalendar, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    cal.days()
        .filter(|s| s.kind == DayKind::Off && s.date >= from && s.date <= to)
        .filter(|s| cal.special(s.date - Duration::days(1)).is_none_or(|p| p.kind != DayKind::Off || p.name != s.name))
        .map(|s| s.date)
        .collect()
}

/// Count (expected, actual) for records in `[start, end]`, optionally about
/// one target.
fn count(rule: &Rule, subject: &Subject, records: &[Record], start: NaiveDate, end: NaiveDate) -> (u32, u32) {
    let inside = |r: &&Record| r.date >= start && r.date <= end;
    match &rule.what {
        What::One(m) => (rule.expected, records.iter().filter(inside).filter(|r| m.matches(r)).count() as u32),
        What::AllOf(ms) => {
            let done = ms.iter().filter(|m| records.iter().filter(inside).any(|r| m.matches(r))).count();
            (ms.len() as u32, done as u32)
        }
        What::EachOf { matcher, sets } => {
            let mut items: Vec<Target> =
                subject.sets.iter().filter(|(k, _)| sets.contains(k)).map(|(_, t)| *t).collect();
            items.sort_by_key(|t| (t.kind.code(), t.id));
            items.dedup();
            let reached = items
                .iter()
                .filter(|t| records.iter().filter(inside).any(|r| matcher.matches(r) && r.target == Some(**t)))
                .count();
            (items.len() as u32, reached as u32)
        }
    }
}

/// Evaluate a rule for a subject over the periods that overlap `[from, today]`.
pub fn evaluate(
    rule: &Rule,
    subject: &Subject,
    records: &[Record],
    cal: &HolidayCalendar,
    from: NaiveDate,
    today: NaiveDate,
) -> Evaluation {
    let mut periods = Vec::new();
    if from > today {
        return Evaluation { periods, next_due: None };
    }
    if let Rhythm::AfterEvent { event, days, working_days } = rule.rhythm {
        let due_of = |d: NaiveDate| {
            if working_days { cal.add_working_days(d, days) } else { d + Duration::days(days as i64) }
        };
        let mut events: Vec<Event> = match event {
            EventKind::Holiday => holiday_starts(cal, from - Duration::days(400), today)
                .into_iter()
                .map(|date| Event { kind: event, date, target: None })
                .collect(),
            EventKind::NewHousehold => subject.events.iter().filter(|e| e.kind == event).copied().collect(),
        };
        events.sort_by_key(|e| (e.date, e.target.map(|t| t.id)));
        for e in events {
            let due = due_of(e.date);
            if e.date > today || due < from {
                continue;
            }
            let (expected, actual) = match e.target {
                Some(t) => {
                    let rs: Vec<Record> = records.iter().filter(|r| r.target == Some(t)).cloned().collect();
                    count(rule, subject, &rs, e.date, due)
                }
                None => count(rule, subject, records, e.date, due),
            };
            let st = status(expected, actual, due, rule.warn_days, today);
            periods.push(Period { start: e.date, end: due, due, expected, actual, status: st });
        }
        let next_due = periods
            .iter()
            .filter(|p| matches!(p.status, Status::Due | Status::DueSoon | Status::Overdue))
            .map(|p| p.due)
            .min();
        return Evaluation { periods, next_due };
    }
    let mut d = from;
    loop {
        let (start, end, due) = period_at(rule.rhythm, cal, d);
        if start > today {
            break;
        }
        let (mut expected, actual) = count(rule, subject, records, start, end);
        if due.is_none() {
            expected = 0;
        }
        let due = due.unwrap_or(end);
        let st = status(expected, actual, due, rule.warn_days, today);
        periods.push(Period { start, end, due, expected, actual, status: st });
        d = end + Duration::days(1);
    }
    let open = periods
        .iter()
        .filter(|p| matches!(p.status, Status::Due | Status::DueSoon | Status::Overdue))
        .map(|p| p.due)
        .min();
    let next_due = open.or_else(|| {
        // All done: the first later period that is not exempt.
        let mut d = periods.last().map(|p| p.end + Duration::days(1)).unwrap_or(from);
        for _ in 0..60 {
            let (start, end, due) = period_at(rule.rhythm, cal, d);
            let (expected, _) = count(rule, subject, &[], start, end);
            if let Some(due) = due.filter(|_| expected > 0) {
                return Some(due);
            }
            d = end + Duration::days(1);
        }
        None
    });
    Evaluation { periods, next_due }
}

/// Share of periods done among the periods that ended in `[from, to]`
/// (exempt ones left out); `None` when no period counts.
pub fn compliance_rate(periods: &[Period], from: NaiveDate, to: NaiveDate) -> Option<f64> {
    let closed: Vec<&Period> =
        periods.iter().filter(|p| p.due >= from && p.due <= to && p.status != Status::Exempt).collect();
    if closed.is_empty() {
        return None;
    }
    Some(closed.iter().filter(|p| p.status == Status::Done).count() as f64 / closed.len() as f64)
}

#[cfg(test)]
mod tests;
