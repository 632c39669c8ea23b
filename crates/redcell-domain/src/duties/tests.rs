use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::collections::BTreeMap;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn raw(every: &str) -> RawRule {
    RawRule {
        code: "x".into(),
        name: "测试".into(),
        cadre_kind: Some("stationed_cadre".into()),
        record: Some("visit".into()),
        every: every.into(),
        ..RawRule::default()
    }
}

fn visit(date: &str, target: Option<Target>) -> Record {
    Record { date: d(date), kind: RecordKind::Visit, sub: "routine".into(), target }
}

#[test]
fn shipped_rules_parse_and_round_trip() {
    let rules = shipped_rules();
    assert!(rules.len() >= 20, "{} rules", rules.len());
    for code in ["grid_day", "four_ones", "general_meeting", "joint_committee", "in_service_service", "visit_holiday"] {
        assert!(rules.iter().any(|r| r.code == code), "{code} shipped");
    }
    let again = parse_rules(&rules_to_toml(&rules)).unwrap();
    assert_eq!(again, rules, "export then import gives the same rules");
    let gd = rules.iter().find(|r| r.code == "grid_day").unwrap();
    assert_eq!(gd.rhythm, Rhythm::Weekday(Weekday::Tue));
    assert_eq!(gd.rhythm_label(), "每周二");
    let jc = rules.iter().find(|r| r.code == "joint_committee").unwrap();
    assert_eq!((jc.rhythm, jc.expected), (Rhythm::Months(12), 2));
}

#[test]
fn impossible_rhythms_are_named() {
    let mut r = raw("yearly_by");
    (r.month, r.day) = (Some(2), Some(31));
    assert_eq!(r.validate().unwrap_err(), RuleError::ImpossibleDate { month: 2, day: 31 });
    (r.month, r.day) = (Some(2), Some(29));
    assert!(matches!(r.validate().unwrap_err(), RuleError::ImpossibleDate { .. }), "not every year has 29 February");
    (r.month, r.day) = (Some(13), Some(1));
    assert!(matches!(r.validate().unwrap_err(), RuleError::ImpossibleDate { .. }));
    (r.month, r.day) = (Some(7), Some(1));
    assert_eq!(r.validate().unwrap().rhythm, Rhythm::YearlyBy { month: 7, day: 1 });

    let mut r = raw("weeks");
    r.n = Some(0);
    let e = r.validate().unwrap_err();
    assert_eq!((e.clone(), e.field(), e.code()), (RuleError::ZeroWeeks, "n", "zero_weeks"));
    let mut r = raw("months");
    r.n = Some(0);
    assert_eq!(r.validate().unwrap_err(), RuleError::ZeroN);
    let mut r = raw("after_event");
    (r.event, r.n) = (Some("new_household".into()), Some(0));
    assert_eq!(r.validate().unwrap_err(), RuleError::ZeroN);

    let mut r = raw("half_year");
    r.each_of = Some(vec![]);
    assert_eq!(r.validate().unwrap_err(), RuleError::EmptySet);

    let r = raw("fortnightly");
    assert_eq!(r.validate().unwrap_err(), RuleError::UnknownKind { field: "every", value: "fortnightly".into() });
    let mut r = raw("month");
    r.record = Some("party".into());
    assert_eq!(r.validate().unwrap_err().field(), "record");
    let mut r = raw("month");
    r.sub = vec!["general_meeting".into()];
    assert_eq!(r.validate().unwrap_err().field(), "sub", "a meeting kind is not a visit purpose");
    let mut r = raw("month");
    r.expected = Some(0);
    assert_eq!(r.validate().unwrap_err(), RuleError::ZeroExpected);
    let mut r = raw("month");
    r.cadre_kind = None;
    assert_eq!(r.validate().unwrap_err(), RuleError::NoSubject);
    let fe: FieldError = RuleError::ZeroWeeks.into();
    assert_eq!(fe.message, i18n::DUTY_ZERO_WEEKS);

    let e = parse_rules("[[rule]]\ncode='a'\nname='甲'\ncadre_kind='x'\nrecord='visit'\nevery='week'").unwrap_err();
    assert_eq!((e.rule.as_deref(), e.field), (Some("a"), Some("cadre_kind")));
    assert!(parse_rules("[[rule]]\ncode=").is_err());
    let twice = "[[rule]]\ncode='a'\nname='甲'\nrole='cadre'\nrecord='visit'\nevery='week'\n";
    assert_eq!(parse_rules(&format!("{twice}{twice}")).unwrap_err().field, Some("code"));
}

#[test]
fn tuesday_grid_day_moves_off_holidays() {
    let cal = HolidayCalendar::shipped();
    let rule = shipped_rules().into_iter().find(|r| r.code == "grid_day").unwrap();
    let grid = Some(Target { kind: TargetKind::Grid, id: 1 });
    // Week of Mon 2026-09-28: Tue 29 is a working day.
    // Week of Mon 2026-10-05: Tue 6 is National Day holiday, Thu 8 works.
    // Week of Mon 2026-11-16: nothing recorded, today is Tue 24 Nov (next week).
    let records = vec![visit("2026-09-29", grid), visit("2026-10-09", grid)];
    let ev = evaluate(&rule, &Subject::default(), &records, cal, d("2026-09-28"), d("2026-11-24"));
    let first = &ev.periods[0];
    assert_eq!((first.start, first.due, first.status), (d("2026-09-28"), d("2026-09-29"), Status::Done));
    let holiday = &ev.periods[1];
    assert_eq!((holiday.start, holiday.due, holiday.status), (d("2026-10-05"), d("2026-10-08"), Status::Done));
    let last = ev.periods.last().unwrap();
    assert_eq!((last.start, last.due, last.status), (d("2026-11-23"), d("2026-11-24"), Status::DueSoon));
    assert!(ev.periods.iter().any(|p| p.start == d("2026-11-16") && p.status == Status::Overdue));
    assert_eq!(ev.next_due, Some(d("2026-10-13")), "the earliest open due date comes first");
    // Spring Festival 2026: 15–23 Feb off, no working day left from Tue 17 to Sun 22.
    let ev = evaluate(&rule, &Subject::default(), &[], cal, d("2026-02-16"), d("2026-02-20"));
    assert_eq!(ev.periods[0].status, Status::Exempt);
    assert_eq!(ev.next_due, Some(d("2026-02-24")));
}

#[test]
fn warning_window_and_done() {
    let cal = HolidayCalendar::shipped();
    let mut r = raw("month");
    r.warn_days = Some(5);
    let rule = r.validate().unwrap();
    let s = Subject::default();
    let st = |today: &str, recs: &[Record]| evaluate(&rule, &s, recs, cal, d(today), d(today)).periods[0].status;
    assert_eq!(st("2026-11-20", &[]), Status::Due);
    assert_eq!(st("2026-11-25", &[]), Status::DueSoon);
    assert_eq!(st("2026-11-30", &[]), Status::DueSoon);
    assert_eq!(st("2026-11-30", &[visit("2026-11-02", None)]), Status::Done);
    let ev = evaluate(&rule, &s, &[], cal, d("2026-10-15"), d("2026-11-03"));
    assert_eq!(ev.periods[0].status, Status::Overdue);
    assert_eq!(ev.overdue(), 1);
    assert_eq!(ev.next_due, Some(d("2026-10-31")));
    let ev = evaluate(&rule, &s, &[visit("2026-11-02", None)], cal, d("2026-11-01"), d("2026-11-03"));
    assert_eq!(ev.next_due, Some(d("2026-12-31")), "done this month: next month's end");
}

#[test]
fn four_ones_and_sets() {
    let cal = HolidayCalendar::shipped();
    let rules = shipped_rules();
    let four = rules.iter().find(|r| r.code == "four_ones").unwrap();
    let m = |kind, sub: &str, date: &str, target| Record { date: d(date), kind, sub: sub.into(), target };
    let member = Some(Target { kind: TargetKind::Member, id: 9 });
    let mut recs = vec![
        m(RecordKind::Visit, "routine", "2026-07-10", member),
        m(RecordKind::Meeting, "org_life", "2026-08-10", None),
        m(RecordKind::Activity, "service", "2026-09-10", None),
    ];
    let ev = evaluate(four, &Subject::default(), &recs, cal, d("2026-07-01"), d("2026-11-22"));
    let p = &ev.periods[0];
    assert_eq!((p.expected, p.actual, p.status), (4, 3, Status::Due));
    let ev = evaluate(four, &Subject::default(), &recs, cal, d("2026-07-01"), d("2026-12-01"));
    assert_eq!(ev.periods[0].status, Status::DueSoon, "30 days before the end of the half-year");
    recs.push(m(RecordKind::Activity, "publicity", "2026-11-20", None));
    let ev = evaluate(four, &Subject::default(), &recs, cal, d("2026-07-01"), d("2026-11-22"));
    assert_eq!(ev.periods[0].status, Status::Done);

    let reach = rules.iter().find(|r| r.code == "reach_central_key").unwrap();
    let h = |id| Target { kind: TargetKind::Household, id };
    let subject = Subject {
        sets: vec![
            (SetKind::CentralHouseholds, h(1)),
            (SetKind::KeyHouseholds, h(2)),
            (SetKind::KeyHouseholds, h(1)),
            (SetKind::Members, h(3)),
        ],
        events: vec![],
    };
    let recs = vec![visit("2026-07-02", Some(h(1))), visit("2026-06-30", Some(h(2))), visit("2026-08-02", Some(h(3)))];
    let ev = evaluate(reach, &subject, &recs, cal, d("2026-07-01"), d("2026-08-22"));
    let p = &ev.periods[0];
    assert_eq!((p.expected, p.actual), (2, 1), "households 1 and 2 counted once; the June visit is last period");
}

#[test]
fn events_new_households_and_holidays() {
    let cal = HolidayCalendar::shipped();
    let rules = shipped_rules();
    let arrivals = rules.iter().find(|r| r.code == "visit_new_arrival").unwrap();
    let h = |id| Target { kind: TargetKind::Household, id };
    let subject = Subject {
        sets: vec![],
        events: vec![
            Event { kind: EventKind::NewHousehold, date: d("2026-11-02"), target: Some(h(1)) },
            Event { kind: EventKind::NewHousehold, date: d("2026-11-18"), target: Some(h(2)) },
        ],
    };
    let recs = vec![visit("2026-11-05", Some(h(1))), visit("2026-11-19", Some(h(3)))];
    let ev = evaluate(arrivals, &subject, &recs, cal, d("2026-10-01"), d("2026-11-22"));
    let st: Vec<_> = ev.periods.iter().map(|p| (p.due, p.status)).collect();
    assert_eq!(st, vec![(d("2026-11-09"), Status::Done), (d("2026-11-25"), Status::Due)]);
    let ev = evaluate(arrivals, &subject, &recs, cal, d("2026-10-01"), d("2026-11-23"));
    assert_eq!(ev.periods[1].status, Status::DueSoon, "two days before the deadline");

    let hol = rules.iter().find(|r| r.code == "visit_holiday").unwrap();
    let ev = evaluate(hol, &Subject::default(), &[], cal, d("2026-09-01"), d("2026-11-22"));
    let starts: Vec<_> = ev.periods.iter().map(|p| p.start).collect();
    assert_eq!(starts, vec![d("2026-09-25"), d("2026-10-01")], "Mid-Autumn and National Day blocks");
    assert!(ev.periods.iter().all(|p| p.status == Status::Overdue));
}

#[test]
fn compliance_rate_counts_closed_periods() {
    let cal = HolidayCalendar::shipped();
    let rule = raw("month").validate().unwrap();
    let recs = vec![visit("2026-09-02", None), visit("2026-11-02", None)];
    let ev = evaluate(&rule, &Subject::default(), &recs, cal, d("2026-08-01"), d("2026-11-22"));
    assert_eq!(compliance_rate(&ev.periods, d("2026-08-01"), d("2026-10-31")), Some(1.0 / 3.0));
    assert_eq!(compliance_rate(&ev.periods, d("2027-01-01"), d("2027-12-31")), None);
}

// ---- brute force: walk day by day -----------------------------------------

fn brute(
    rule: &Rule,
    subject: &Subject,
    records: &[Record],
    cal: &HolidayCalendar,
    from: NaiveDate,
    today: NaiveDate,
) -> Evaluation {
    let one_day = Duration::days(1);
    let by_day = |day: NaiveDate| records.iter().filter(move |r| r.date == day);
    let counts = |start: NaiveDate, end: NaiveDate, only: Option<Target>| -> (u32, u32) {
        let mut days = vec![];
        let mut x = start;
        while x <= end {
            days.push(x);
            x += one_day;
        }
        let recs: Vec<&Record> =
            days.iter().flat_map(|x| by_day(*x)).filter(|r| only.is_none() || r.target == only).collect();
        match &rule.what {
            What::One(m) => (rule.expected, recs.iter().filter(|r| m.matches(r)).count() as u32),
            What::AllOf(ms) => {
                (ms.len() as u32, ms.iter().filter(|m| recs.iter().any(|r| m.matches(r))).count() as u32)
            }
            What::EachOf { matcher, sets } => {
                let mut items = std::collections::BTreeSet::new();
                for (k, t) in &subject.sets {
                    if sets.contains(k) {
                        items.insert((t.kind.code(), t.id));
                    }
                }
                let reached = items
                    .iter()
                    .filter(|(k, id)| {
                        recs.iter()
                            .any(|r| matcher.matches(r) && r.target.is_some_and(|t| t.kind.code() == *k && t.id == *id))
                    })
                    .count();
                (items.len() as u32, reached as u32)
            }
        }
    };
    let judge = |expected: u32, actual: u32, due: NaiveDate| {
        if expected == 0 {
            return Status::Exempt;
        }
        if actual >= expected {
            return Status::Done;
        }
        if today > due {
            return Status::Overdue;
        }
        let days_left = (due - today).num_days();
        if days_left <= rule.warn_days as i64 { Status::DueSoon } else { Status::Due }
    };
    let open = |ps: &[Period]| {
        ps.iter().filter(|p| matches!(p.status, Status::Due | Status::DueSoon | Status::Overdue)).map(|p| p.due).min()
    };

    if let Rhythm::AfterEvent { event, days, working_days } = rule.rhythm {
        let mut evs: Vec<(NaiveDate, Option<Target>)> = vec![];
        match event {
            EventKind::Holiday => {
                let mut x = d("2024-01-01");
                while x <= today {
                    let off = |y: NaiveDate| cal.special(y).filter(|s| s.kind == DayKind::Off);
                    if let Some(s) = off(x)
                        && off(x - one_day).is_none_or(|p| p.name != s.name)
                    {
                        evs.push((x, None));
                    }
                    x += one_day;
                }
            }
            EventKind::NewHousehold => {
                for e in &subject.events {
                    if e.kind == event {
                        evs.push((e.date, e.target));
                    }
                }
            }
        }
        evs.sort_by_key(|(date, t)| (*date, t.map(|t| t.id)));
        let mut periods = vec![];
        for (start, target) in evs {
            let mut due = start;
            if working_days {
                let mut left = days;
                if left == 0 {
                    while !cal.is_working_day(due) {
                        due += one_day;
                    }
                }
                while left > 0 {
                    due += one_day;
                    if cal.is_working_day(due) {
                        left -= 1;
                    }
                }
            } else {
                for _ in 0..days {
                    due += one_day;
                }
            }
            if start > today || due < from {
                continue;
            }
            let (e, a) = counts(start, due, target);
            periods.push(Period { start, end: due, due, expected: e, actual: a, status: judge(e, a, due) });
        }
        let next_due = open(&periods);
        return Evaluation { periods, next_due };
    }

    // Periodic: label every day from the week epoch with its period key.
    let mut keyed: BTreeMap<i64, (NaiveDate, NaiveDate)> = BTreeMap::new();
    let mut x = d("2000-01-03");
    let (mut weeks, mut months) = (0i64, 0i64);
    let stop = today + Duration::days(800);
    while x <= stop {
        if x.weekday() == Weekday::Mon && x != d("2000-01-03") {
            weeks += 1;
        }
        if x.day() == 1 {
            months += 1;
        }
        let key = match rule.rhythm {
            Rhythm::Weeks(n) => weeks / n as i64,
            Rhythm::Weekday(_) => weeks,
            Rhythm::Months(n) => (2000 * 12 + months).div_euclid(n as i64),
            Rhythm::YearlyBy { .. } => x.year() as i64,
            Rhythm::AfterEvent { .. } => unreachable!(),
        };
        keyed.entry(key).and_modify(|e| e.1 = x).or_insert((x, x));
        x += one_day;
    }
    let due_of = |start: NaiveDate, end: NaiveDate| -> Option<NaiveDate> {
        match rule.rhythm {
            Rhythm::Weekday(w) => {
                let mut y = start;
                while y.weekday() != w {
                    y += one_day;
                }
                while y <= end {
                    if cal.is_working_day(y) {
                        return Some(y);
                    }
                    y += one_day;
                }
                None
            }
            Rhythm::YearlyBy { month, day } => {
                let mut y = start;
                while y <= end {
                    if y.month() == month && y.day() == day {
                        return Some(y);
                    }
                    y += one_day;
                }
                None
            }
            _ => Some(end),
        }
    };
    let mut periods = vec![];
    let mut later = vec![];
    for (start, end) in keyed.values().copied() {
        if start <= today && end >= from && start > d("2000-01-03") {
            let (mut e, a) = counts(start, end, None);
            let due = due_of(start, end);
            if due.is_none() {
                e = 0;
            }
            let due = due.unwrap_or(end);
            periods.push(Period { start, end, due, expected: e, actual: a, status: judge(e, a, due) });
        } else if start > today {
            later.push((start, end));
        }
    }
    let next_due = open(&periods).or_else(|| {
        // The last key may be cut short by `stop`: leave it out.
        later[..later.len().saturating_sub(1)].iter().find_map(|(s, e)| {
            let (exp, _) = counts(*s, *e, None);
            due_of(*s, *e).filter(|_| exp > 0)
        })
    });
    Evaluation { periods, next_due }
}

fn arb_matcher() -> impl Strategy<Value = Matcher> {
    (0usize..3, proptest::collection::vec(0usize..3, 0..3), proptest::option::of(0usize..5)).prop_map(
        |(k, subs, target)| {
            let kind = RecordKind::ALL[k];
            let pool: &[&str] = match kind {
                RecordKind::Visit => &["routine", "holiday", "must_visit"],
                RecordKind::Meeting => &["committee", "org_life", "general_meeting"],
                RecordKind::Activity => &["service", "publicity", "study"],
            };
            let mut subs: Vec<String> = subs.into_iter().map(|i| pool[i].to_string()).collect();
            subs.sort();
            subs.dedup();
            Matcher { kind, subs, target: target.map(|t| TargetKind::ALL[t]) }
        },
    )
}

fn arb_rhythm() -> impl Strategy<Value = Rhythm> {
    prop_oneof![
        (1u32..5).prop_map(Rhythm::Weeks),
        (0u8..7).prop_map(|w| Rhythm::Weekday(WEEKDAYS[w as usize].1)),
        (1u32..15).prop_map(Rhythm::Months),
        (1u32..13, 1u32..32)
            .prop_filter("exists every year", |(m, d)| day_exists_every_year(*m, *d))
            .prop_map(|(month, day)| Rhythm::YearlyBy { month, day }),
        (0usize..2, 1u32..25, any::<bool>()).prop_map(|(e, days, working_days)| Rhythm::AfterEvent {
            event: EventKind::ALL[e],
            days,
            working_days
        }),
    ]
}

fn arb_what() -> impl Strategy<Value = What> {
    prop_oneof![
        arb_matcher().prop_map(What::One),
        proptest::collection::vec(arb_matcher(), 1..5).prop_map(What::AllOf),
        (arb_matcher(), proptest::collection::vec(0usize..3, 1..3))
            .prop_map(|(matcher, s)| What::EachOf { matcher, sets: s.into_iter().map(|i| SetKind::ALL[i]).collect() }),
    ]
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    (arb_what(), arb_rhythm(), 1u32..4, 0u32..20).prop_map(|(what, rhythm, expected, warn_days)| Rule {
        code: "p".into(),
        name: "性质".into(),
        who: Who { role: Some(Role::Cadre), ..Who::default() },
        what,
        rhythm,
        expected,
        warn_days,
        enabled: true,
        since: None,
    })
}

fn arb_target() -> impl Strategy<Value = Target> {
    (0usize..5, 1i64..4).prop_map(|(k, id)| Target { kind: TargetKind::ALL[k], id })
}

fn arb_record() -> impl Strategy<Value = Record> {
    (0i64..730, arb_matcher(), 0usize..3, proptest::option::of(arb_target())).prop_map(|(day, m, s, target)| {
        let pool: &[&str] = match m.kind {
            RecordKind::Visit => &["routine", "holiday", "must_visit"],
            RecordKind::Meeting => &["committee", "org_life", "general_meeting"],
            RecordKind::Activity => &["service", "publicity", "study"],
        };
        Record { date: d("2025-01-01") + Duration::days(day), kind: m.kind, sub: pool[s].into(), target }
    })
}

fn arb_subject() -> impl Strategy<Value = Subject> {
    (
        proptest::collection::vec((0usize..3, arb_target()), 0..6),
        proptest::collection::vec((0i64..730, proptest::option::of(arb_target())), 0..5),
    )
        .prop_map(|(sets, events)| Subject {
            sets: sets.into_iter().map(|(k, t)| (SetKind::ALL[k], t)).collect(),
            events: events
                .into_iter()
                .map(|(day, target)| Event {
                    kind: EventKind::NewHousehold,
                    date: d("2025-01-01") + Duration::days(day),
                    target,
                })
                .collect(),
        })
}

proptest! {
    #![proptest_config(Config {
        cases: 300,
        rng_seed: RngSeed::Fixed(20261122),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn evaluator_agrees_with_day_by_day_walk(
        rule in arb_rule(),
        subject in arb_subject(),
        records in proptest::collection::vec(arb_record(), 0..40),
        today in 0i64..730,
        back in 0i64..300,
    ) {
        let cal = HolidayCalendar::shipped();
        let today = d("2025-01-01") + Duration::days(today);
        let from = today - Duration::days(back);
        let fast = evaluate(&rule, &subject, &records, cal, from, today);
        let slow = brute(&rule, &subject, &records, cal, from, today);
        prop_assert_eq!(fast, slow);
    }
}

/// Every kind of subject there can be: each class × org kind × cadre kind or
/// member flags × the role of a linked account (or none).
fn population() -> Vec<Candidate> {
    let mut out = Vec::new();
    let roles: Vec<Vec<Role>> = std::iter::once(vec![]).chain(Role::ALL.iter().map(|r| vec![*r])).collect();
    for ok in OrgKind::ALL {
        for roles in &roles {
            let base = Candidate {
                class: SubjectClass::Org,
                org_kind: *ok,
                cadre_kind: None,
                central_household: false,
                in_service: false,
                roles: roles.clone(),
            };
            out.push(base.clone());
            for ck in CadreKind::ALL {
                out.push(Candidate { class: SubjectClass::Cadre, cadre_kind: Some(*ck), ..base.clone() });
            }
            for (c, s) in [(false, false), (true, false), (false, true), (true, true)] {
                out.push(Candidate {
                    class: SubjectClass::Member,
                    central_household: c,
                    in_service: s,
                    ..base.clone()
                });
            }
        }
    }
    out
}

#[test]
fn role_or_kind_only_rules_resolve_to_people_and_orgs() {
    let pop = population();
    let of = |who: &Who| pop.iter().filter(|c| who.applies(c)).cloned().collect::<Vec<_>>();
    // A role alone: 驻格干部 means every stationed cadre, with or without an account.
    let r = of(&Who { role: Some(Role::Cadre), ..Who::default() });
    assert!(r.iter().any(|c| c.class == SubjectClass::Cadre && c.cadre_kind == Some(CadreKind::StationedCadre)));
    assert!(r.iter().all(|c| c.class != SubjectClass::Org));
    // 书记 alone: the party organisations below the street, not the street itself.
    let r = of(&Who { role: Some(Role::Secretary), ..Who::default() });
    assert!(r.iter().any(|c| c.class == SubjectClass::Org && c.org_kind == OrgKind::BranchGrid));
    assert!(!r.iter().any(|c| c.class == SubjectClass::Org && c.org_kind == OrgKind::StreetCommittee));
    // 党员 alone: every member.
    let r = of(&Who { role: Some(Role::Member), ..Who::default() });
    assert_eq!(
        r.iter().filter(|c| c.class == SubjectClass::Member).count(),
        OrgKind::ALL.len() * 4 * (Role::ALL.len() + 1)
    );
    // A cadre kind with org kinds: only cadres sitting in those organisations.
    let w =
        Who { cadre_kind: Some(CadreKind::GridWorker), org_kinds: vec![OrgKind::CommunityCommittee], ..Who::default() };
    assert!(
        of(&w).iter().all(|c| c.org_kind == OrgKind::CommunityCommittee && c.cadre_kind == Some(CadreKind::GridWorker))
    );
    // A role with a cadre kind: cadres of that kind whose account holds the role.
    let w = Who { role: Some(Role::Secretary), cadre_kind: Some(CadreKind::Leadership), ..Who::default() };
    let r = of(&w);
    assert!(!r.is_empty() && r.iter().all(|c| c.roles == vec![Role::Secretary]));
    // A start date round-trips; a bad one is named.
    let mut r = raw("week");
    r.since = Some("2026-09-01".into());
    let rule = r.validate().unwrap();
    assert_eq!(rule.since, Some(d("2026-09-01")));
    assert_eq!(rule.to_raw().since.as_deref(), Some("2026-09-01"));
    r.since = Some("2026-02-30".into());
    assert_eq!(r.validate().unwrap_err().field(), "since");
    // Both a cadre kind and a member flag is refused when the rule is read.
    let mut bad = raw("week");
    bad.member_flag = Some("in_service".into());
    assert_eq!(bad.validate().unwrap_err(), RuleError::CadreAndMember);
}

fn arb_who() -> impl Strategy<Value = Who> {
    (
        proptest::option::of(proptest::sample::select(Role::ALL.to_vec())),
        proptest::sample::subsequence(OrgKind::ALL.to_vec(), 0..4),
        proptest::option::of(proptest::sample::select(CadreKind::ALL.to_vec())),
        proptest::option::of(proptest::sample::select(vec![MemberFlag::CentralHousehold, MemberFlag::InService])),
    )
        .prop_map(|(role, org_kinds, cadre_kind, member_flag)| Who { role, org_kinds, cadre_kind, member_flag })
        .prop_filter("a rule the reader accepts", |w| {
            let someone =
                w.role.is_some() || !w.org_kinds.is_empty() || w.cadre_kind.is_some() || w.member_flag.is_some();
            let both = w.cadre_kind.is_some() && w.member_flag.is_some();
            someone && !both
        })
}

proptest! {
    #![proptest_config(Config {
        cases: 300,
        rng_seed: RngSeed::Fixed(20261123),
        failure_persistence: None,
        ..Config::default()
    })]

    /// No rule the reader accepts resolves to nobody in a district that has
    /// every kind of subject, and whoever it resolves to meets every part of
    /// its "who".
    #[test]
    fn every_accepted_who_names_someone_and_only_the_right_ones(who in arb_who()) {
        let pop = population();
        let got: Vec<&Candidate> = pop.iter().filter(|c| who.applies(c)).collect();
        prop_assert!(!got.is_empty(), "{who:?} resolves to nobody");
        for c in got {
            if let Some(k) = who.cadre_kind {
                prop_assert!(c.class == SubjectClass::Cadre && c.cadre_kind == Some(k));
            }
            if let Some(f) = who.member_flag {
                prop_assert_eq!(c.class, SubjectClass::Member);
                let has = match f {
                    MemberFlag::CentralHousehold => c.central_household,
                    MemberFlag::InService => c.in_service,
                };
                prop_assert!(has);
            }
            if !who.org_kinds.is_empty() {
                prop_assert!(who.org_kinds.contains(&c.org_kind));
            }
            if who.role.is_some() && (who.cadre_kind.is_some() || who.member_flag.is_some()) {
                prop_assert!(c.roles.contains(&who.role.unwrap()));
            }
            if who.is_org() {
                prop_assert_eq!(c.class, SubjectClass::Org);
            }
        }
    }
}
