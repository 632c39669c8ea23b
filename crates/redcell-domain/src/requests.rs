//! Resident requests, micro-wishes and errands (民情、微心愿、事项代办): kinds,
//! handling classes and their deadline rules, the one state machine, and the
//! warning / yellow card / red card levels. Pure functions, no I/O.

use crate::calendar::HolidayCalendar;
use crate::code_enum;
use crate::error::{FieldError, Invalid};
use crate::i18n;
use crate::ids::{BuildingId, GridId, HouseholdId, OrgId};
use crate::phone::Phone;
use chrono::NaiveDate;

code_enum!(
    /// What a resident asks for.
    RequestKind {
        Wish = "wish": "微心愿",
        Opinion = "opinion": "微民情/微民意",
        Dispute = "dispute": "矛盾纠纷",
        Hazard = "hazard": "安全隐患",
        Errand = "errand": "代办事项",
    }
);

code_enum!(
    /// How an item is handled, each with its deadline rule.
    ErrandClass {
        Immediate = "immediate": "即办件",
        Promised = "promised": "承诺件",
        Supplement = "supplement": "补办件",
        Joint = "joint": "联办件",
        Escalated = "escalated": "上报件",
    }
);

code_enum!(
    /// Where a request stands.
    RequestState {
        Submitted = "submitted": "已提交",
        Accepted = "accepted": "已受理",
        Assigned = "assigned": "已分派",
        InProgress = "in_progress": "办理中",
        AwaitingMaterials = "awaiting_materials": "待补材料",
        Resolved = "resolved": "已办结",
        Revisited = "revisited": "已回访",
        Closed = "closed": "已关闭",
        Refused = "refused": "不予办理",
        Duplicate = "duplicate": "重复诉求",
        Reopened = "reopened": "重新办理",
    }
);

code_enum!(
    /// What someone does to a request.
    Action {
        Accept = "accept": "受理",
        Assign = "assign": "分派",
        Claim = "claim": "认领",
        Start = "start": "开始办理",
        RequestMaterials = "request_materials": "一次性告知补齐材料",
        SupplyMaterials = "supply_materials": "材料已补齐",
        Resolve = "resolve": "办结",
        Revisit = "revisit": "回访",
        Close = "close": "关闭",
        Refuse = "refuse": "不予办理",
        MarkDuplicate = "mark_duplicate": "标记为重复",
        Reopen = "reopen": "重新办理",
    }
);

code_enum!(
    /// Where a request came from.
    RequestSource {
        Resident = "resident": "居民自助",
        Staff = "staff": "代为登记",
        Open311 = "open311": "Open311",
        Demo = "demo": "演示数据",
    }
);

impl RequestSource {
    /// May the request's own text (its description and the notes written on
    /// it) appear in the anonymous public list? Only what residents wrote and
    /// sent themselves: a request staff registered (at a visit, on the phone)
    /// often tells of a family's situation the family never meant to publish.
    pub fn text_is_public(self) -> bool {
        matches!(self, RequestSource::Resident | RequestSource::Open311)
    }
}

code_enum!(
    /// In what capacity someone acts on a request: the back office of the
    /// routed organisation (or above), the assigned handler, an in-service
    /// member (may claim), the resident, the background job.
    ActorRole {
        Staff = "staff": "受理人员",
        Handler = "handler": "承办人",
        Member = "member": "党员",
        Resident = "resident": "居民",
        System = "system": "系统",
    }
);

code_enum!(
    /// Whether the problem was fixed, as the resident says at the revisit.
    FixOutcome {
        Fixed = "fixed": "已解决",
        Partly = "partly": "部分解决",
        NotFixed = "not_fixed": "未解决",
    }
);

code_enum!(
    /// The resident's satisfaction at the revisit.
    Satisfaction {
        Satisfied = "satisfied": "满意",
        Basically = "basically": "基本满意",
        Dissatisfied = "dissatisfied": "不满意",
    }
);

code_enum!(
    /// How close to (or past) its deadline an open request is.
    Card {
        None = "none": "正常",
        Warning = "warning": "临期预警",
        Yellow = "yellow": "黄牌",
        Red = "red": "红牌",
    }
);

code_enum!(
    /// The status of one participating unit's part of a 联办件.
    PartStatus {
        Pending = "pending": "待办",
        Doing = "doing": "办理中",
        Done = "done": "已完成",
    }
);

code_enum!(
    /// Where a 微心愿 stands on the board.
    WishStage {
        Unverified = "unverified": "待核实",
        Published = "published": "已发布",
        Claimed = "claimed": "已认领",
        Contacted = "contacted": "已联系",
        Done = "done": "已完成",
    }
);

impl RequestState {
    /// Still to be handled (the deadline runs or is paused).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            RequestState::Resolved
                | RequestState::Revisited
                | RequestState::Closed
                | RequestState::Refused
                | RequestState::Duplicate
        )
    }
    /// Open311 `status`: `open` or `closed`.
    pub fn open311_status(self) -> &'static str {
        if self.is_open() { "open" } else { "closed" }
    }
}

/// Facts about the request and the input that the transition rules need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ctx {
    /// A non-empty note (a reason, the list of missing materials, ...).
    pub has_note: bool,
    /// The request this one duplicates was named.
    pub has_duplicate_of: bool,
    /// A handler was named (assign).
    pub has_handler: bool,
    /// The missing-materials notice was already sent once for this request.
    pub materials_requested_before: bool,
    /// The revisit outcome.
    pub outcome: Option<FixOutcome>,
    /// The request already has a handler (nobody else may claim it).
    pub has_current_handler: bool,
    /// The caller is the request's handler (who may not record the phone
    /// revisit of their own work).
    pub caller_is_handler: bool,
}

/// Why a transition is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{action:?} is not allowed from {from:?}")]
    NotAllowed { from: RequestState, action: Action },
    #[error("{role:?} may not {action:?}")]
    RoleNotAllowed { role: ActorRole, action: Action },
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the duplicated request is required")]
    DuplicateOfRequired,
    #[error("a handler is required")]
    HandlerRequired,
    #[error("the missing-materials notice was already sent")]
    MaterialsAlreadyRequested,
    #[error("the list of missing materials is required")]
    MaterialsListRequired,
    #[error("the revisit outcome is required")]
    OutcomeRequired,
    #[error("the request already has a handler")]
    AlreadyClaimed,
    #[error("a resident-visible result is required to resolve")]
    ResultRequired,
    #[error("the handler may not record the revisit of their own work")]
    OwnRevisit,
}

impl TransitionError {
    /// The error as a field error with a Chinese message.
    pub fn field_error(self) -> FieldError {
        match self {
            TransitionError::NotAllowed { from, action } => FieldError::new(
                "action",
                "not_allowed",
                format!("{}（当前状态：{}，操作：{}）", i18n::REQ_NOT_ALLOWED, from.label(), action.label()),
            ),
            TransitionError::RoleNotAllowed { role, action } => FieldError::new(
                "action",
                "role",
                format!("{}（{}不能{}）", i18n::REQ_ROLE_NOT_ALLOWED, role.label(), action.label()),
            ),
            TransitionError::ReasonRequired => FieldError::new("note", "required", i18n::REQ_REASON_REQUIRED),
            TransitionError::DuplicateOfRequired => {
                FieldError::new("duplicate_of", "required", i18n::REQ_DUPLICATE_OF_REQUIRED)
            }
            TransitionError::HandlerRequired => FieldError::new("handler", "required", i18n::REQ_HANDLER_REQUIRED),
            TransitionError::ResultRequired => FieldError::new("note", "required", i18n::REQ_RESULT_REQUIRED),
            TransitionError::OwnRevisit => FieldError::new("action", "own_revisit", i18n::REQ_OWN_REVISIT),
            TransitionError::MaterialsAlreadyRequested => FieldError::new("action", "once", i18n::REQ_MATERIALS_ONCE),
            TransitionError::MaterialsListRequired => {
                FieldError::new("note", "required", i18n::REQ_MATERIALS_LIST_REQUIRED)
            }
            TransitionError::OutcomeRequired => FieldError::new("outcome", "required", i18n::REQ_OUTCOME_REQUIRED),
            TransitionError::AlreadyClaimed => FieldError::new("action", "claimed", i18n::REQ_ALREADY_CLAIMED),
        }
    }
}

impl From<TransitionError> for FieldError {
    fn from(e: TransitionError) -> Self {
        e.field_error()
    }
}

/// Who may take an action (whatever the state).
fn role_may(action: Action, role: ActorRole) -> bool {
    use ActorRole::*;
    match action {
        // A member accepts by verifying a micro-wish with the family.
        Action::Accept => matches!(role, Staff | Member),
        Action::Assign | Action::Refuse | Action::MarkDuplicate | Action::Close => {
            matches!(role, Staff) || (action == Action::Close && role == System)
        }
        Action::Claim => matches!(role, Member | Staff),
        Action::Start | Action::Resolve | Action::RequestMaterials => matches!(role, Handler | Staff),
        Action::SupplyMaterials => matches!(role, Resident | Staff | Handler),
        Action::Revisit => matches!(role, Resident | Staff),
        Action::Reopen => matches!(role, Staff),
    }
}

/// The one transition function: from a state, an action by someone acting in
/// `role`, with the facts in `ctx`, to the new state or a named error.
///
/// `Closed` is reachable only from `Revisited`, which is reachable only from
/// `Resolved`: nothing is closed that was not resolved. A revisit saying "not
/// fixed" reopens the request. A claim takes an accepted (or reopened) request
/// that nobody handles yet: open for claiming by in-service members in the
/// organisations above it (and by staff); a request with a handler is not.
pub fn transition(
    from: RequestState,
    action: Action,
    role: ActorRole,
    ctx: &Ctx,
) -> Result<RequestState, TransitionError> {
    use Action as A;
    use RequestState as S;
    let next = match (from, action) {
        (S::Submitted, A::Accept) => S::Accepted,
        (S::Submitted | S::Accepted | S::Assigned | S::InProgress | S::Reopened, A::Assign) => S::Assigned,
        (S::Accepted | S::Reopened, A::Claim) => S::Assigned,
        (S::Assigned | S::Reopened, A::Start) => S::InProgress,
        (S::Assigned | S::InProgress, A::RequestMaterials) => S::AwaitingMaterials,
        (S::AwaitingMaterials, A::SupplyMaterials) => S::InProgress,
        (S::Assigned | S::InProgress, A::Resolve) => S::Resolved,
        (S::Resolved, A::Revisit) => match ctx.outcome {
            Some(FixOutcome::NotFixed) => S::Reopened,
            Some(_) => S::Revisited,
            None => return Err(TransitionError::OutcomeRequired),
        },
        (S::Revisited, A::Close) => S::Closed,
        (S::Submitted | S::Accepted | S::Assigned | S::InProgress | S::AwaitingMaterials | S::Reopened, A::Refuse) => {
            S::Refused
        }
        (S::Submitted | S::Accepted, A::MarkDuplicate) => S::Duplicate,
        (S::Resolved | S::Revisited | S::Closed, A::Reopen) => S::Reopened,
        _ => return Err(TransitionError::NotAllowed { from, action }),
    };
    if !role_may(action, role) {
        return Err(TransitionError::RoleNotAllowed { role, action });
    }
    match action {
        A::Refuse | A::Reopen if !ctx.has_note => return Err(TransitionError::ReasonRequired),
        A::MarkDuplicate if !ctx.has_duplicate_of => return Err(TransitionError::DuplicateOfRequired),
        A::Assign if !ctx.has_handler => return Err(TransitionError::HandlerRequired),
        A::Claim if ctx.has_current_handler => return Err(TransitionError::AlreadyClaimed),
        A::Resolve if !ctx.has_note => return Err(TransitionError::ResultRequired),
        // Someone other than the handler asks the resident (a resident
        // answering their own link is never the handler).
        A::Revisit if role != ActorRole::Resident && ctx.caller_is_handler => return Err(TransitionError::OwnRevisit),
        A::RequestMaterials if ctx.materials_requested_before => {
            return Err(TransitionError::MaterialsAlreadyRequested);
        }
        A::RequestMaterials if !ctx.has_note => return Err(TransitionError::MaterialsListRequired),
        _ => {}
    }
    Ok(next)
}

/// The actions `role` may take from `state` (ignoring missing input such as
/// a reason, which the form asks for).
pub fn allowed_actions(state: RequestState, role: ActorRole, materials_requested_before: bool) -> Vec<Action> {
    allowed_actions_on(state, role, materials_requested_before, false, false)
}

/// [`allowed_actions`] for a request that may already have a handler (then
/// nobody may claim it).
pub fn allowed_actions_on(
    state: RequestState,
    role: ActorRole,
    materials_requested_before: bool,
    has_current_handler: bool,
    caller_is_handler: bool,
) -> Vec<Action> {
    let full = Ctx {
        has_note: true,
        has_duplicate_of: true,
        has_handler: true,
        materials_requested_before,
        outcome: Some(FixOutcome::Fixed),
        has_current_handler,
        caller_is_handler,
    };
    Action::ALL.iter().copied().filter(|a| transition(state, *a, role, &full).is_ok()).collect()
}

/// The working days a class allows when its category does not say.
pub fn default_working_days(class: ErrandClass) -> u32 {
    match class {
        ErrandClass::Immediate => 0,
        ErrandClass::Promised => 5,
        ErrandClass::Supplement => 5,
        ErrandClass::Joint => 10,
        ErrandClass::Escalated => 15,
    }
}

/// The due date of an item received on `received` (a Shanghai business date):
/// 即办件 the same working day (the next one when received on a day off);
/// 承诺件 the date promised to the resident (not before `received`); the
/// others `working_days` working days after receipt.
pub fn due_date(
    cal: &HolidayCalendar,
    class: ErrandClass,
    received: NaiveDate,
    working_days: u32,
    promised: Option<NaiveDate>,
) -> Result<NaiveDate, FieldError> {
    match class {
        ErrandClass::Immediate => Ok(cal.add_working_days(received, 0)),
        ErrandClass::Promised => match promised {
            None => Err(FieldError::new("promised_date", "required", i18n::REQ_PROMISED_REQUIRED)),
            Some(p) if p < received => Err(FieldError::new("promised_date", "past", i18n::REQ_PROMISED_PAST)),
            Some(p) => Ok(p),
        },
        _ => Ok(cal.add_working_days(received, working_days)),
    }
}

/// Working days left on the clock when it stops on `paused_on` (at least 0).
pub fn days_left(cal: &HolidayCalendar, due: NaiveDate, paused_on: NaiveDate) -> i64 {
    cal.working_days_between(paused_on, due).max(0)
}

/// The deadline when the clock resumes on `resumed_on` with `left` working
/// days left: the same number of working days after the resumption.
pub fn resume_due(cal: &HolidayCalendar, resumed_on: NaiveDate, left: i64) -> NaiveDate {
    cal.add_working_days(resumed_on, u32::try_from(left.max(0)).unwrap_or(u32::MAX))
}

/// Working days past the deadline at which a yellow card turns red.
pub const RED_AFTER_WORKING_DAYS: i64 = 3;

/// The card of an open request due on `due`, on the business date `today`:
/// a warning on the due date and the working day before it, a yellow card once
/// the due date has passed, a red card from `RED_AFTER_WORKING_DAYS` working
/// days after it.
pub fn card(cal: &HolidayCalendar, due: NaiveDate, today: NaiveDate) -> Card {
    let left = cal.working_days_between(today, due);
    if today <= due {
        if left <= 1 { Card::Warning } else { Card::None }
    } else {
        let late = cal.working_days_between(due, today);
        if late >= RED_AFTER_WORKING_DAYS { Card::Red } else { Card::Yellow }
    }
}

impl Card {
    /// Cards only grow while a request stays open.
    pub fn rank(self) -> u8 {
        match self {
            Card::None => 0,
            Card::Warning => 1,
            Card::Yellow => 2,
            Card::Red => 3,
        }
    }
}

/// Categories live as data: a code, a name, the kind they belong to, where
/// they are routed, how many working days they allow and their default class.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RawCategory {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub org_id: Option<String>,
    pub working_days: Option<String>,
    pub class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    pub code: String,
    pub name: String,
    pub kind: RequestKind,
    pub org_id: Option<OrgId>,
    pub working_days: u32,
    pub class: ErrandClass,
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().map(str::trim).unwrap_or("")
}

/// An optional id typed into a field: empty is none, anything but a number is named.
fn opt_id<T: std::str::FromStr>(field: &str, v: &Option<String>) -> Result<Option<T>, FieldError> {
    match s(v) {
        "" => Ok(None),
        x => x.parse::<T>().map(Some).map_err(|_| FieldError::new(field, "number", i18n::ENUM_INVALID)),
    }
}

impl RawCategory {
    pub fn validate(&self) -> Result<NewCategory, Invalid> {
        let mut inv = Invalid::default();
        let code = s(&self.code).to_string();
        if !(2..=32).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            inv.push(FieldError::new("code", "format", i18n::REQ_CODE_INVALID));
        }
        let name = inv.check(crate::text::Text::required("name", s(&self.name), 40));
        let kind = inv.check(RequestKind::parse("kind", s(&self.kind)));
        let org_id = inv.check(opt_id::<OrgId>("org_id", &self.org_id));
        let working_days = match s(&self.working_days).parse::<u32>() {
            Ok(n) if n <= 60 => Some(n),
            _ => {
                inv.push(FieldError::new("working_days", "range", i18n::REQ_DEADLINE_RANGE));
                None
            }
        };
        let class = inv.check(ErrandClass::parse("class", s(&self.class)));
        inv.clone().into_result()?;
        match (name, kind, org_id, working_days, class) {
            (Some(name), Some(kind), Some(org_id), Some(working_days), Some(class)) => {
                Ok(NewCategory { code, name: name.into_string(), kind, org_id, working_days, class })
            }
            _ => Err(inv),
        }
    }
}

/// Longest request description.
pub const MAX_DESCRIPTION: usize = 1000;

/// A request as submitted (by a resident on the public page, by staff on a
/// resident's behalf, or through Open311).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RawRequest {
    pub kind: Option<String>,
    pub category: Option<String>,
    pub class: Option<String>,
    pub description: Option<String>,
    pub grid_id: Option<String>,
    pub building_id: Option<String>,
    pub address: Option<String>,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub promised_date: Option<String>,
    /// The household (staff registering on a resident's behalf only).
    pub household_id: Option<String>,
    /// A room number typed on the public page, added to the address.
    pub room: Option<String>,
    /// Whom staff act for when registering (a resident's name).
    pub acting_for: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub kind: Option<RequestKind>,
    pub category: String,
    pub class: Option<ErrandClass>,
    pub description: String,
    pub grid_id: Option<GridId>,
    pub building_id: Option<BuildingId>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<Phone>,
    pub promised_date: Option<NaiveDate>,
    pub household_id: Option<HouseholdId>,
    pub acting_for: Option<String>,
}

impl RawRequest {
    pub fn validate(&self) -> Result<NewRequest, Invalid> {
        let mut inv = Invalid::default();
        let kind = match s(&self.kind) {
            "" => None,
            k => inv.check(RequestKind::parse("kind", k)),
        };
        let category = s(&self.category).to_string();
        if category.is_empty() {
            inv.push(FieldError::new("category", "required", i18n::REQ_CATEGORY_UNKNOWN));
        }
        let class = match s(&self.class) {
            "" => None,
            c => inv.check(ErrandClass::parse("class", c)),
        };
        let description = s(&self.description).to_string();
        if description.is_empty() {
            inv.push(FieldError::new("description", "required", i18n::REQ_DESCRIPTION_REQUIRED));
        } else if description.chars().count() > MAX_DESCRIPTION {
            inv.push(FieldError::new("description", "too_long", i18n::REQ_DESCRIPTION_TOO_LONG));
        }
        let grid_id = inv.check(opt_id::<GridId>("grid_id", &self.grid_id)).flatten();
        let building_id = inv.check(opt_id::<BuildingId>("building_id", &self.building_id)).flatten();
        let household_id = inv.check(opt_id::<HouseholdId>("household_id", &self.household_id)).flatten();
        let room = s(&self.room);
        if room.chars().count() > 20 {
            inv.push(FieldError::new("room", "too_long", i18n::REQ_ROOM_TOO_LONG));
        }
        let room = room.chars().filter(|c| !c.is_control()).collect::<String>();
        // The room alone is no location: it completes a building or an address.
        let typed = inv.check(crate::text::Text::parse("address", s(&self.address), 200)).and_then(|t| t.into_option());
        let located = grid_id.is_some() || building_id.is_some() || household_id.is_some() || typed.is_some();
        let address = match (typed, room.is_empty()) {
            (a, true) => a,
            (None, false) => Some(format!("{room}室")),
            (Some(a), false) => Some(format!("{a} {room}室")),
        };
        let acting_for = s(&self.acting_for);
        if acting_for.chars().count() > 40 {
            inv.push(FieldError::new("acting_for", "too_long", i18n::REQ_ACTING_FOR_TOO_LONG));
        }
        let acting_for = (!acting_for.is_empty()).then(|| acting_for.to_string());
        if !located {
            inv.push(FieldError::new("address", "required", i18n::REQ_LOCATION_REQUIRED));
        }
        let coord = |field: &str, v: &Option<String>, lim: f64| -> Result<Option<f64>, FieldError> {
            match s(v) {
                "" => Ok(None),
                x => match x.parse::<f64>() {
                    Ok(f) if f.is_finite() && f.abs() <= lim => Ok(Some(f)),
                    _ => Err(FieldError::new(field, "coord", i18n::REQ_LAT_LON)),
                },
            }
        };
        let lat = inv.check(coord("lat", &self.lat, 90.0)).flatten();
        let lon = inv.check(coord("lon", &self.lon, 180.0)).flatten();
        let contact_name = inv
            .check(crate::text::Text::parse("contact_name", s(&self.contact_name), 40))
            .and_then(|t| t.into_option());
        let contact_phone = match s(&self.contact_phone) {
            "" => None,
            p => inv.check(Phone::parse(p).map_err(|e| e.on("contact_phone"))),
        };
        let promised_date = inv.check(crate::text::parse_date("promised_date", s(&self.promised_date))).flatten();
        inv.clone().into_result()?;
        Ok(NewRequest {
            kind,
            category,
            class,
            description,
            grid_id,
            building_id,
            address,
            lat,
            lon,
            contact_name,
            contact_phone,
            promised_date,
            household_id,
            acting_for,
        })
    }
}

/// Days after a claim by which the member must have contacted the family.
pub const WISH_CONTACT_DAYS: i64 = 7;

/// A claimed wish whose family has not been contacted in time.
pub fn wish_contact_overdue(claimed_on: NaiveDate, contacted: bool, today: NaiveDate) -> bool {
    !contacted && (today - claimed_on).num_days() > WISH_CONTACT_DAYS
}

/// A follow code a resident can read aloud: 8 characters without look-alikes.
pub fn follow_code(random: &[u8]) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    random.iter().take(8).map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(x: &str) -> NaiveDate {
        NaiveDate::parse_from_str(x, "%Y-%m-%d").unwrap()
    }

    fn full() -> Ctx {
        Ctx { has_note: true, has_duplicate_of: true, has_handler: true, ..Ctx::default() }
    }

    #[test]
    fn happy_path_and_named_errors() {
        use Action as A;
        use ActorRole as R;
        use RequestState as S;
        let c = full();
        let s = transition(S::Submitted, A::Accept, R::Staff, &c).unwrap();
        let s = transition(s, A::Claim, R::Member, &c).unwrap();
        assert_eq!(s, S::Assigned);
        let s = transition(s, A::Start, R::Handler, &c).unwrap();
        let s = transition(s, A::Resolve, R::Handler, &c).unwrap();
        assert_eq!(s, S::Resolved);
        let revisit = Ctx { outcome: Some(FixOutcome::Fixed), ..c };
        let s = transition(s, A::Revisit, R::Resident, &revisit).unwrap();
        assert_eq!(transition(s, A::Close, R::System, &c), Ok(S::Closed));
        assert_eq!(
            transition(S::Submitted, A::Close, R::Staff, &c),
            Err(TransitionError::NotAllowed { from: S::Submitted, action: A::Close })
        );
        assert_eq!(
            transition(S::Accepted, A::Claim, R::Resident, &c),
            Err(TransitionError::RoleNotAllowed { role: R::Resident, action: A::Claim })
        );
        assert_eq!(
            transition(S::Submitted, A::Refuse, R::Staff, &Ctx::default()),
            Err(TransitionError::ReasonRequired)
        );
        assert_eq!(transition(S::Resolved, A::Revisit, R::Resident, &c), Err(TransitionError::OutcomeRequired));
        let not_fixed = Ctx { outcome: Some(FixOutcome::NotFixed), ..c };
        assert_eq!(transition(S::Resolved, A::Revisit, R::Resident, &not_fixed), Ok(S::Reopened));
        let again = Ctx { materials_requested_before: true, ..c };
        assert_eq!(
            transition(S::InProgress, A::RequestMaterials, R::Handler, &again),
            Err(TransitionError::MaterialsAlreadyRequested)
        );
        assert!(TransitionError::MaterialsAlreadyRequested.field_error().message.contains("一次"));
        // Open for claiming only while nobody handles it.
        let taken = Ctx { has_current_handler: true, ..c };
        assert_eq!(transition(S::Accepted, A::Claim, R::Member, &taken), Err(TransitionError::AlreadyClaimed));
        assert_eq!(transition(S::Reopened, A::Claim, R::Member, &c), Ok(S::Assigned));
        assert!(!allowed_actions_on(S::Reopened, R::Member, false, true, false).contains(&A::Claim));
        assert_eq!(allowed_actions_on(S::Reopened, R::Member, false, false, false), vec![A::Claim]);
        // Resolving needs a result the resident can read.
        let silent = Ctx { has_note: false, ..c };
        assert_eq!(transition(S::InProgress, A::Resolve, R::Handler, &silent), Err(TransitionError::ResultRequired));
        // The handler does not record the phone revisit of their own work;
        // a colleague does, and the resident's own answer is always taken.
        let own = Ctx { outcome: Some(FixOutcome::Fixed), caller_is_handler: true, ..c };
        assert_eq!(transition(S::Resolved, A::Revisit, R::Staff, &own), Err(TransitionError::OwnRevisit));
        assert_eq!(transition(S::Resolved, A::Revisit, R::Resident, &own), Ok(S::Revisited));
        assert!(!allowed_actions_on(S::Resolved, R::Staff, false, true, true).contains(&A::Revisit));
        assert!(allowed_actions_on(S::Resolved, R::Staff, false, true, false).contains(&A::Revisit));
    }

    #[test]
    fn every_state_has_its_allowed_actions() {
        use Action as A;
        use RequestState as S;
        let staff = |s| allowed_actions(s, ActorRole::Staff, false);
        assert_eq!(staff(S::Submitted), vec![A::Accept, A::Assign, A::Refuse, A::MarkDuplicate]);
        assert_eq!(staff(S::Accepted), vec![A::Assign, A::Claim, A::Refuse, A::MarkDuplicate]);
        assert_eq!(staff(S::Assigned), vec![A::Assign, A::Start, A::RequestMaterials, A::Resolve, A::Refuse]);
        assert_eq!(staff(S::InProgress), vec![A::Assign, A::RequestMaterials, A::Resolve, A::Refuse]);
        assert_eq!(staff(S::AwaitingMaterials), vec![A::SupplyMaterials, A::Refuse]);
        assert_eq!(staff(S::Resolved), vec![A::Revisit, A::Reopen]);
        assert_eq!(staff(S::Revisited), vec![A::Close, A::Reopen]);
        assert_eq!(staff(S::Closed), vec![A::Reopen]);
        assert!(staff(S::Refused).is_empty());
        assert!(staff(S::Duplicate).is_empty());
        assert_eq!(staff(S::Reopened), vec![A::Assign, A::Claim, A::Start, A::Refuse]);
        assert_eq!(allowed_actions(S::InProgress, ActorRole::Handler, true), vec![A::Resolve]);
        assert_eq!(allowed_actions(S::Accepted, ActorRole::Member, false), vec![A::Claim]);
        assert_eq!(allowed_actions(S::Submitted, ActorRole::Member, false), vec![A::Accept]);
        assert_eq!(allowed_actions(S::AwaitingMaterials, ActorRole::Resident, true), vec![A::SupplyMaterials]);
        assert_eq!(allowed_actions(S::Revisited, ActorRole::System, false), vec![A::Close]);
    }

    #[test]
    fn deadline_rules_by_class() {
        let cal = HolidayCalendar::shipped();
        // Received on a National Day holiday: same-working-day items fall due on 8 Oct.
        assert_eq!(due_date(cal, ErrandClass::Immediate, d("2026-10-03"), 5, None).unwrap(), d("2026-10-08"));
        assert_eq!(due_date(cal, ErrandClass::Immediate, d("2026-11-23"), 5, None).unwrap(), d("2026-11-23"));
        assert_eq!(
            due_date(cal, ErrandClass::Promised, d("2026-11-23"), 5, Some(d("2026-12-01"))).unwrap(),
            d("2026-12-01")
        );
        assert_eq!(due_date(cal, ErrandClass::Promised, d("2026-11-23"), 5, None).unwrap_err().field, "promised_date");
        assert!(due_date(cal, ErrandClass::Promised, d("2026-11-23"), 5, Some(d("2026-11-01"))).is_err());
        // 3 working days from 30 Sep 2026 counts the make-up Saturday 10 Oct.
        assert_eq!(due_date(cal, ErrandClass::Joint, d("2026-09-30"), 3, None).unwrap(), d("2026-10-10"));
    }

    #[test]
    fn cards_by_working_day() {
        let cal = HolidayCalendar::shipped();
        let due = d("2026-11-25"); // a Wednesday
        assert_eq!(card(cal, due, d("2026-11-23")), Card::None);
        assert_eq!(card(cal, due, d("2026-11-24")), Card::Warning);
        assert_eq!(card(cal, due, d("2026-11-25")), Card::Warning);
        assert_eq!(card(cal, due, d("2026-11-26")), Card::Yellow);
        assert_eq!(card(cal, due, d("2026-11-29")), Card::Yellow, "the weekend does not count");
        assert_eq!(card(cal, due, d("2026-11-30")), Card::Red);
        // Due before National Day: the holiday week does not make it red.
        assert_eq!(card(cal, d("2026-09-30"), d("2026-10-07")), Card::Yellow);
        assert_eq!(card(cal, d("2026-09-30"), d("2026-10-10")), Card::Red);
    }

    #[test]
    fn request_input_is_checked() {
        let bad =
            RawRequest { category: Some("x".into()), description: Some("修".repeat(1001)), ..Default::default() };
        let e = bad.validate().unwrap_err();
        assert!(e.for_field("description").is_some());
        assert!(e.for_field("address").is_some(), "location is required");
        let ok = RawRequest {
            category: Some("road".into()),
            description: Some("路灯不亮".into()),
            address: Some("一号楼南侧".into()),
            contact_phone: Some("138 0000 0001".into()),
            lat: Some("30.25".into()),
            ..Default::default()
        };
        let n = ok.validate().unwrap();
        assert_eq!(n.contact_phone.unwrap().as_str(), "13800000001");
        // A room completes a building or an address; alone it is no location.
        let room = RawRequest { building_id: Some("7".into()), room: Some("2单元301".into()), ..ok.clone() };
        assert_eq!(room.validate().unwrap().address.as_deref(), Some("一号楼南侧 2单元301室"));
        let only_room = RawRequest { address: None, room: Some("301".into()), ..ok.clone() };
        assert!(only_room.validate().unwrap_err().for_field("address").is_some());
        let long_room = RawRequest { room: Some("1".repeat(21)), ..ok.clone() };
        assert!(long_room.validate().unwrap_err().for_field("room").is_some());
        let household = RawRequest { address: None, household_id: Some("12".into()), ..ok.clone() };
        assert_eq!(household.validate().unwrap().household_id, Some(HouseholdId::new(12)));
        let acting = RawRequest { acting_for: Some("王".repeat(41)), ..ok.clone() };
        assert!(acting.validate().unwrap_err().for_field("acting_for").is_some());
        let bad_phone = RawRequest { contact_phone: Some("12345".into()), ..ok.clone() };
        assert!(bad_phone.validate().unwrap_err().for_field("contact_phone").is_some());
        let bad_cat = RawCategory {
            code: Some("路".into()),
            name: Some("".into()),
            kind: Some("x".into()),
            working_days: Some("99".into()),
            class: Some("immediate".into()),
            org_id: None,
        };
        let e = bad_cat.validate().unwrap_err();
        for f in ["code", "name", "kind", "working_days"] {
            assert!(e.for_field(f).is_some(), "{f}");
        }
    }

    #[test]
    fn wish_contact_deadline() {
        assert!(!wish_contact_overdue(d("2026-11-01"), false, d("2026-11-08")));
        assert!(wish_contact_overdue(d("2026-11-01"), false, d("2026-11-09")));
        assert!(!wish_contact_overdue(d("2026-11-01"), true, d("2026-12-09")));
        assert_eq!(follow_code(&[0, 1, 2, 3, 4, 5, 6, 7, 8]).len(), 8);
    }

    fn any_action() -> impl Strategy<Value = Action> {
        (0..Action::ALL.len()).prop_map(|i| Action::ALL[i])
    }
    fn any_role() -> impl Strategy<Value = ActorRole> {
        (0..ActorRole::ALL.len()).prop_map(|i| ActorRole::ALL[i])
    }
    fn any_outcome() -> impl Strategy<Value = Option<FixOutcome>> {
        (0..4usize).prop_map(|i| FixOutcome::ALL.get(i).copied())
    }

    proptest! {
        /// Random walks: nothing reaches `Closed` without passing `Resolved`
        /// since submission or the last reopening; terminal states stay put;
        /// the materials notice goes out at most once.
        #[test]
        fn closed_only_after_resolved(steps in prop::collection::vec((any_action(), any_role(), any::<bool>(), any_outcome()), 1..60)) {
            let mut state = RequestState::Submitted;
            let mut resolved_since_open = false;
            let mut materials_sent = false;
            for (action, role, note, outcome) in steps {
                let ctx = Ctx { has_note: note, has_duplicate_of: note, has_handler: true, materials_requested_before: materials_sent, outcome, has_current_handler: false, caller_is_handler: false };
                match transition(state, action, role, &ctx) {
                    Ok(next) => {
                        prop_assert!(allowed_actions(state, role, materials_sent).contains(&action));
                        prop_assert!(!matches!(state, RequestState::Refused | RequestState::Duplicate));
                        if next == RequestState::Resolved { resolved_since_open = true; }
                        if next == RequestState::Reopened { resolved_since_open = false; }
                        if next == RequestState::Closed { prop_assert!(resolved_since_open); }
                        if action == Action::RequestMaterials { prop_assert!(!materials_sent); materials_sent = true; }
                        state = next;
                    }
                    Err(e) => {
                        // A refusal names its cause and leaves the state as it was.
                        prop_assert!(!e.field_error().message.is_empty());
                    }
                }
            }
        }

        /// Stopping the clock for k working days moves the deadline by exactly
        /// k working days, across holidays and make-up days.
        #[test]
        fn paused_clock_moves_deadline_by_pause(start in 0i64..700, n in 1u32..30, pause_at in 0u32..30, k in 0u32..20) {
            let cal = HolidayCalendar::shipped();
            let received = cal.add_working_days(d("2025-01-01") + chrono::Duration::days(start), 0);
            let due = due_date(cal, ErrandClass::Supplement, received, n, None).unwrap();
            let paused_on = cal.add_working_days(received, pause_at % n); // strictly before the due date
            let resumed_on = cal.add_working_days(paused_on, k);
            let left = days_left(cal, due, paused_on);
            prop_assert!(left >= 1);
            let new_due = resume_due(cal, resumed_on, left);
            prop_assert_eq!(cal.working_days_between(due, new_due), k as i64);
            prop_assert!(cal.is_working_day(new_due));
        }

        /// Cards never shrink as days pass, and a due date in the future is never carded past a warning.
        #[test]
        fn cards_grow_with_time(start in 0i64..700, n in 0u32..20, a in 0i64..40, b in 0i64..40) {
            let cal = HolidayCalendar::shipped();
            let due = cal.add_working_days(d("2025-01-01") + chrono::Duration::days(start), n);
            let (x, y) = (due - chrono::Duration::days(20) + chrono::Duration::days(a.min(b)), due - chrono::Duration::days(20) + chrono::Duration::days(a.max(b)));
            prop_assert!(card(cal, due, x).rank() <= card(cal, due, y).rank());
            if x <= due { prop_assert!(card(cal, due, x).rank() <= Card::Warning.rank()); }
        }
    }
}
