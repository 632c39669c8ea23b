//! Mobile members (流动党员): the outflow and inflow registration cards
//! (流出/流入登记卡) a branch keeps for a member living away or arriving, the
//! contact kept while they are away, and the one rule that says where a
//! member stands — self-managed, in service elsewhere and reported here,
//! flowed out, lost contact, flowed in, returned — and so on which of the
//! three rosters (自管, 在职, 流动) they appear. The standing is derived from
//! the records, never typed.

use crate::error::{FieldError, Invalid};
use crate::text::Text;
use chrono::NaiveDate;

crate::id_types!(
    CardId: "a mobile member's outflow or inflow registration card",
    ProposalId: "a proposal to stop a member's membership or remove them",
    TransferId: "an organisation-relation transfer (组织关系转接)",
);

crate::code_enum!(
    /// Where a transfer is.
    TransferState {
        Pending = "pending": "审批中",
        Approved = "approved": "待接收",
        Received = "received": "已接收",
        Revoked = "revoked": "已撤回",
        Refused = "refused": "未通过",
    }
);

impl TransferState {
    /// Still to be done (the member's relation is on its way).
    pub fn is_open(self) -> bool {
        matches!(self, TransferState::Pending | TransferState::Approved)
    }
}

crate::code_enum!(
    /// A proposal about a member out of contact, decided by their branch.
    ProposalKind {
        Stop = "stop": "停止党籍",
        Remove = "remove": "除名",
    }
);

crate::code_enum!(
    /// The branch's decision on a proposal.
    ProposalDecision {
        Adopted = "adopted": "通过",
        Rejected = "rejected": "不通过",
    }
);

/// Days after stopping membership before removal may be proposed (two years).
pub const REMOVE_AFTER_DAYS: i64 = 730;

/// Days an introduction letter (介绍信) is valid by default; at most three months.
pub const LETTER_DAYS: i64 = 90;

/// The days a tenant's introduction letters are valid: a whole number from 1
/// to [`LETTER_DAYS`] (three months, the regulation's limit).
pub fn letter_days(field: &str, raw: &str) -> Result<i64, FieldError> {
    let n: i64 = raw.trim().parse().map_err(|_| FieldError::new(field, "number", "请填写天数（整数）"))?;
    if !(1..=LETTER_DAYS).contains(&n) {
        return Err(FieldError::new(field, "range", format!("介绍信有效期为 1 到 {LETTER_DAYS} 天（最长三个月）")));
    }
    Ok(n)
}

/// Who approves a transfer, nearest first: the organisations above the
/// sending one up to the common ancestor of both ends (the sending one itself
/// when the receiving one lies below it); for a transfer out of the
/// deployment (`to` is `None`), every organisation above the sending one up to
/// the top. Refused when both ends are the same organisation.
pub fn approval_chain(from: &crate::OrgPath, to: Option<&crate::OrgPath>) -> Result<Vec<i64>, FieldError> {
    let ids = from.ids();
    let Some(to) = to else {
        let mut up: Vec<i64> = ids[..ids.len().saturating_sub(1)].iter().rev().copied().collect();
        if up.is_empty() {
            up.push(from.id());
        }
        return Ok(up);
    };
    if to == from {
        return Err(FieldError::new("to_org", "same", "接收组织不能是党员现在所在的组织"));
    }
    let theirs = to.ids();
    let common = ids.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return approval_chain(from, None);
    }
    if common == ids.len() {
        return Ok(vec![from.id()]);
    }
    // Above the sending organisation, up to and including the common ancestor.
    Ok(ids[common - 1..ids.len() - 1].iter().rev().copied().collect())
}

crate::code_enum!(
    /// Which way a card records a move.
    Direction {
        Out = "out": "流出",
        In = "in": "流入",
    }
);

crate::code_enum!(
    /// How contact was kept with a member away.
    ContactChannel {
        Call = "call": "电话",
        Message = "message": "短信或微信",
        Group = "group": "群聊",
        Visit = "visit": "回乡走访",
        Letter = "letter": "书信",
    }
);

crate::code_enum!(
    /// Where a member stands, derived from their records.
    Standing {
        SelfManaged = "self": "自管",
        Inservice = "inservice": "在职报到",
        FlowedOut = "out": "流出",
        LostContact = "lost": "失去联系",
        FlowedIn = "in": "流入",
        Transferring = "transferring": "组织关系转接中",
        Returned = "returned": "已返回",
    }
);

crate::code_enum!(
    /// The three rosters (三本名册).
    Roster {
        SelfManaged = "self": "自管党员",
        Inservice = "inservice": "在职党员",
        Mobile = "mobile": "流动党员",
    }
);

/// Days without contact after which a member away counts as lost (six months).
pub const LOST_AFTER_DAYS: i64 = 183;
/// Days after coming back during which a member shows as returned.
pub const RETURNED_DAYS: i64 = 90;

impl Standing {
    /// The roster the member appears on.
    pub fn roster(self) -> Roster {
        match self {
            Standing::FlowedOut | Standing::LostContact | Standing::FlowedIn => Roster::Mobile,
            Standing::Inservice => Roster::Inservice,
            Standing::SelfManaged | Standing::Returned | Standing::Transferring => Roster::SelfManaged,
        }
    }
}

/// What a member's records say now: the open outflow card's start and the
/// latest contact since, an open inflow card, an open in-service report, and
/// when the latest outflow card was closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    pub open_out: Option<NaiveDate>,
    pub last_contact: Option<NaiveDate>,
    pub open_in: bool,
    pub open_report: bool,
    pub last_return: Option<NaiveDate>,
    /// A transfer of the member's relation is under way.
    pub open_transfer: bool,
}

/// The one rule: a transfer under way first; then away (flowed out) — lost
/// once six months pass with no contact since leaving or since the last
/// contact; then arrived (flowed in);
/// then reported here while working elsewhere; then back within 90 days;
/// else self-managed.
pub fn standing(f: &Facts, today: NaiveDate) -> Standing {
    if f.open_transfer {
        return Standing::Transferring;
    }
    if let Some(left) = f.open_out {
        let since = f.last_contact.map_or(left, |c| c.max(left));
        return if (today - since).num_days() >= LOST_AFTER_DAYS { Standing::LostContact } else { Standing::FlowedOut };
    }
    if f.open_in {
        return Standing::FlowedIn;
    }
    if f.open_report {
        return Standing::Inservice;
    }
    match f.last_return {
        Some(back) if (today - back).num_days() < RETURNED_DAYS => Standing::Returned,
        _ => Standing::SelfManaged,
    }
}

/// A card as typed (form or API), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardTerms {
    pub card_no: String,
    pub place: String,
    pub reason: String,
    pub started_on: NaiveDate,
    pub expected_until: Option<NaiveDate>,
    pub channel: String,
    pub other_org: Option<String>,
}

/// Check a card's fields, each error naming its field.
#[allow(clippy::too_many_arguments)]
pub fn card_terms(
    card_no: &str,
    place: &str,
    reason: &str,
    started_on: &Option<String>,
    expected_until: &Option<String>,
    channel: &str,
    other_org: &str,
    today: NaiveDate,
) -> Result<CardTerms, Invalid> {
    let mut e = Invalid::default();
    let no = card_no.trim();
    if no.is_empty() {
        e.push(FieldError::new("card_no", "required", crate::i18n::REQUIRED));
    } else if no.chars().count() > 30 || !no.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        e.push(FieldError::new("card_no", "format", "卡号只能用字母、数字和连字符，最多30位"));
    }
    let place = e.check(Text::required("place", place, 100));
    let reason = e.check(Text::required("reason", reason, 100));
    let channel = e.check(Text::required("channel", channel, 100));
    let other = e.check(Text::parse("other_org", other_org, 100)).map(Text::into_string).filter(|s| !s.is_empty());
    let started = e.check(crate::text::past_date("started_on", started_on, today));
    let until = e.check(crate::text::parse_date("expected_until", expected_until.as_deref().unwrap_or(""))).flatten();
    if let (Some(s), Some(u)) = (started, until)
        && u < s
    {
        e.push(FieldError::new("expected_until", "order", "预计返回日期不能早于开始日期"));
    }
    e.into_result()?;
    match (place, reason, channel, started) {
        (Some(place), Some(reason), Some(channel), Some(started_on)) => Ok(CardTerms {
            card_no: no.to_uppercase(),
            place: place.into_string(),
            reason: reason.into_string(),
            started_on,
            expected_until: until,
            channel: channel.into_string(),
            other_org: other,
        }),
        _ => Err(Invalid(vec![FieldError::new("card_no", "invalid", crate::i18n::REQUIRED)])),
    }
}

/// One event in a member's history, for replaying it (tests and audits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    OutOpened(NaiveDate),
    OutClosed(NaiveDate),
    Contact(NaiveDate),
    InOpened,
    InClosed,
    ReportOpened,
    ReportReturned,
    TransferOpened,
    TransferClosed,
}

/// The facts after a sequence of events, as the records would hold them:
/// at most one card of each direction and one report open at a time (an
/// event that would open a second, or close what is not open, is refused by
/// the service and skipped here); contacts count only while away.
pub fn facts_of(events: &[Event]) -> Facts {
    let mut f = Facts::default();
    for e in events {
        match *e {
            Event::OutOpened(d) if f.open_out.is_none() => {
                f.open_out = Some(d);
                f.last_contact = None;
            }
            Event::OutClosed(d) if f.open_out.is_some() => {
                f.open_out = None;
                f.last_contact = None;
                f.last_return = Some(d);
            }
            Event::Contact(d) if f.open_out.is_some() => {
                f.last_contact = Some(f.last_contact.map_or(d, |c| c.max(d)));
            }
            Event::InOpened => f.open_in = true,
            Event::InClosed => f.open_in = false,
            Event::ReportOpened => f.open_report = true,
            Event::ReportReturned => f.open_report = false,
            Event::TransferOpened => f.open_transfer = true,
            Event::TransferClosed => f.open_transfer = false,
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_letter_is_valid_for_one_day_to_three_months() {
        assert_eq!(letter_days("d", " 30 "), Ok(30));
        assert_eq!(letter_days("d", "90"), Ok(90));
        for bad in ["0", "91", "-3", "三十", "", "1.5"] {
            let e = letter_days("d", bad).unwrap_err();
            assert_eq!(e.field, "d", "{bad}");
        }
    }

    #[test]
    fn away_then_lost_then_back() {
        let today = d(2026, 12, 1);
        let away = Facts { open_out: Some(d(2026, 9, 1)), ..Facts::default() };
        assert_eq!(standing(&away, today), Standing::FlowedOut);
        let long = Facts { open_out: Some(d(2026, 1, 1)), ..Facts::default() };
        assert_eq!(standing(&long, today), Standing::LostContact);
        let called = Facts { last_contact: Some(d(2026, 11, 1)), ..long };
        assert_eq!(standing(&called, today), Standing::FlowedOut);
        let back = Facts { last_return: Some(d(2026, 10, 1)), ..Facts::default() };
        assert_eq!(standing(&back, today), Standing::Returned);
        assert_eq!(standing(&back, d(2027, 3, 1)), Standing::SelfManaged);
        assert_eq!(Standing::LostContact.roster(), Roster::Mobile);
        assert_eq!(Standing::Returned.roster(), Roster::SelfManaged);
    }

    #[test]
    fn approvals_go_up_to_the_common_ancestor() {
        let p = |s: &str| crate::OrgPath::parse(s).unwrap();
        // Street 1 > community 2 > branches 3 and 4; community 5 > branch 6.
        assert_eq!(approval_chain(&p("/1/2/3/"), Some(&p("/1/2/4/"))).unwrap(), vec![2]);
        assert_eq!(approval_chain(&p("/1/2/3/"), Some(&p("/1/5/6/"))).unwrap(), vec![2, 1]);
        assert_eq!(approval_chain(&p("/1/2/3/"), None).unwrap(), vec![2, 1]);
        assert_eq!(approval_chain(&p("/1/2/"), Some(&p("/1/2/3/"))).unwrap(), vec![2]);
        assert_eq!(approval_chain(&p("/1/2/3/"), Some(&p("/1/2/"))).unwrap(), vec![2]);
        assert_eq!(approval_chain(&p("/1/2/3/"), Some(&p("/1/2/3/"))).unwrap_err().field, "to_org");
    }

    #[test]
    fn card_fields_named() {
        let today = d(2026, 12, 1);
        let e = card_terms("卡1", "", "务工", &Some("2027-01-01".into()), &None, "", "", today).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, vec!["card_no", "place", "channel", "started_on"]);
        let e = card_terms(
            "LC-1",
            "深圳",
            "务工",
            &Some("2026-05-01".into()),
            &Some("2026-04-01".into()),
            "微信",
            "",
            today,
        )
        .unwrap_err();
        assert_eq!(e.0[0].field, "expected_until");
        let ok = card_terms("lc-1", "深圳", "务工", &None, &None, "微信群", "", today).unwrap();
        assert_eq!((ok.card_no.as_str(), ok.started_on), ("LC-1", today));
    }

    fn event() -> impl Strategy<Value = Event> {
        let day = (0i64..900).prop_map(|n| d(2024, 1, 1) + chrono::Duration::days(n));
        prop_oneof![
            day.clone().prop_map(Event::OutOpened),
            day.clone().prop_map(Event::OutClosed),
            day.prop_map(Event::Contact),
            Just(Event::InOpened),
            Just(Event::InClosed),
            Just(Event::ReportOpened),
            Just(Event::ReportReturned),
            Just(Event::TransferOpened),
            Just(Event::TransferClosed),
        ]
    }

    /// Brute force: walk the events one by one and decide the standing
    /// from the whole history, without the summary.
    fn replay(events: &[Event], today: NaiveDate) -> Standing {
        let (mut away, mut contacts, mut inn, mut report, mut back) = (None, Vec::new(), false, false, None);
        let mut moving = false;
        for e in events {
            match *e {
                Event::OutOpened(x) if away.is_none() => {
                    away = Some(x);
                    contacts.clear();
                }
                Event::OutClosed(x) if away.is_some() => {
                    away = None;
                    contacts.clear();
                    back = Some(x);
                }
                Event::Contact(x) if away.is_some() => contacts.push(x),
                Event::InOpened => inn = true,
                Event::InClosed => inn = false,
                Event::ReportOpened => report = true,
                Event::ReportReturned => report = false,
                Event::TransferOpened => moving = true,
                Event::TransferClosed => moving = false,
                _ => {}
            }
        }
        if moving {
            return Standing::Transferring;
        }
        if let Some(left) = away {
            let quiet_since = contacts.iter().copied().chain([left]).max().unwrap_or(left);
            return if (today - quiet_since).num_days() >= LOST_AFTER_DAYS {
                Standing::LostContact
            } else {
                Standing::FlowedOut
            };
        }
        if inn {
            Standing::FlowedIn
        } else if report {
            Standing::Inservice
        } else if back.is_some_and(|b| (today - b).num_days() < RETURNED_DAYS) {
            Standing::Returned
        } else {
            Standing::SelfManaged
        }
    }

    proptest! {
        #[test]
        fn standing_from_the_records_equals_the_replay(events in proptest::collection::vec(event(), 0..30), t in 0i64..1200) {
            let today = d(2024, 1, 1) + chrono::Duration::days(t);
            prop_assert_eq!(standing(&facts_of(&events), today), replay(&events, today));
        }
    }
}
