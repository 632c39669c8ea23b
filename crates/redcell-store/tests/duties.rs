//! Stories of duties (SPEC §4) on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL:
//! `cargo test -p redcell-store --test duties`.

#[macro_use]
mod common;

use common::*;
use redcell_domain::duties::{RawRule, Status};
use redcell_domain::i18n;
use redcell_store::demo::{self, DemoOptions};
use redcell_store::duties::records::{self, RawActivity, RawAttendee, RawMeeting, RawVisit};
use redcell_store::duties::{self as duties, notices, rules};
use redcell_store::{Db, StoreError, args};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

stories!(
    rules_seed_edit_import_export,
    records_refuse_bad_input,
    my_duties_turn_done_and_reminders,
    demo_history_is_realistic
);

fn sh_today() -> chrono::NaiveDate {
    redcell_domain::calendar::shanghai_today()
}

fn field_of(e: &StoreError) -> String {
    match e {
        StoreError::Invalid(i) => i.first().map(|f| f.field.clone()).unwrap_or_default(),
        StoreError::Denied(f) => f.field.clone(),
        other => format!("{other:?}"),
    }
}

async fn n(db: &Db, table: &str) -> i64 {
    db.int(&format!("SELECT COUNT(*) FROM {table}"), args![]).await.unwrap()
}

async fn rules_seed_edit_import_export(db: Db) {
    let t = tenant(&db).await;
    let listed = rules::list(&db, t.root.tenant_id).await.unwrap();
    assert_eq!(listed.len(), redcell_domain::duties::shipped_rules().len());
    assert_eq!(rules::list(&db, t.root.tenant_id).await.unwrap().len(), listed.len(), "seeded once");

    let gd = listed.iter().find(|r| r.code == "grid_day").unwrap();
    let mut raw: RawRule = serde_json::from_str(&gd.body).unwrap();
    raw.weekday = Some("wed".into());
    raw.warn_days = Some(2);
    let audits = n(&db, "audit_log").await;
    let changed = rules::update(&db, &t.admin, "grid_day", raw.clone()).await.unwrap();
    assert_eq!(changed.rule().unwrap().rhythm_label(), "每周三");
    assert_eq!(n(&db, "audit_log").await, audits + 1, "the change is audited");

    // Impossible rhythms are refused with the field named, nothing written.
    let mut bad = raw.clone();
    (bad.every, bad.n) = ("weeks".into(), Some(0));
    let e = rules::update(&db, &t.admin, "grid_day", bad).await.unwrap_err();
    assert_eq!(field_of(&e), "n");
    let mut bad = raw.clone();
    (bad.every, bad.month, bad.day) = ("yearly_by".into(), Some(2), Some(31));
    let e = rules::update(&db, &t.admin, "grid_day", bad).await.unwrap_err();
    assert_eq!(field_of(&e), "day");
    let again = rules::list(&db, t.root.tenant_id).await.unwrap();
    assert_eq!(again.iter().find(|r| r.code == "grid_day").unwrap().body, changed.body);
    assert_eq!(n(&db, "audit_log").await, audits + 1);

    // A secretary of one branch may not change the tenant's rules.
    assert!(matches!(rules::update(&db, &t.sec, "grid_day", raw).await, Err(StoreError::Forbidden)));

    // Export, import of a broken file refused whole, import of the export restores.
    let text = rules::export(&db, &t.admin).await.unwrap();
    assert!(text.contains("weekday = \"wed\""));
    let broken = text.replace("every = \"month\"", "every = \"fortnight\"");
    assert!(rules::import(&db, &t.admin, &broken).await.is_err());
    assert_eq!(rules::list(&db, t.root.tenant_id).await.unwrap().len(), listed.len());
    assert_eq!(rules::import(&db, &t.admin, &text).await.unwrap(), listed.len());
    assert_eq!(rules::export(&db, &t.admin).await.unwrap(), text);
}

async fn records_refuse_bad_input(db: Db) {
    let t = tenant(&db).await;
    let today = sh_today();
    let iso = |d: chrono::NaiveDate| Some(d.format("%Y-%m-%d").to_string());
    let v = RawVisit {
        visitor_kind: s("cadre"),
        visitor_id: s(t.cadres[0].id),
        target_kind: s("household"),
        target_id: s(t.households[0].id),
        visited_on: iso(today),
        purpose: s("必访"),
        learned: s("老人腿脚不便，需要送药"),
    };
    let visit = records::record_visit(&db, &t.sec, &v, today).await.unwrap();
    assert_eq!(visit.purpose, "must_visit");
    assert_eq!(records::last_visited(&db, t.root.tenant_id, t.households[0].id).await.unwrap(), Some(today));

    let before = n(&db, "duty_visits").await;
    let future = RawVisit { visited_on: iso(today + chrono::Duration::days(1)), ..v.clone() };
    assert_eq!(field_of(&records::record_visit(&db, &t.sec, &future, today).await.unwrap_err()), "visited_on");
    let outside = RawVisit { target_id: s(t.households[3].id), ..v.clone() };
    let e = records::record_visit(&db, &t.sec, &outside, today).await.unwrap_err();
    assert!(matches!(e, StoreError::Denied(_)), "B3's household is outside B1's secretary: {e:?}");
    let bad_purpose = RawVisit { purpose: s("gossip"), ..v.clone() };
    assert_eq!(field_of(&records::record_visit(&db, &t.sec, &bad_purpose, today).await.unwrap_err()), "purpose");
    assert_eq!(n(&db, "duty_visits").await, before, "nothing written");

    let present = |m: i64| RawAttendee { member_id: m, presence: "present".into(), reason: None };
    let meeting = RawMeeting {
        org_id: s(t.b1.id),
        kind: s("general_meeting"),
        held_on: iso(today),
        topic: s("学习传达上级精神"),
        minutes: s("到会党员讨论通过"),
        attendance: vec![present(t.members[0].id), present(t.members[1].id)],
        cadres: vec![],
        quorum_claimed: Some(true),
    };
    let (meetings, people, audits) =
        (n(&db, "duty_meetings").await, n(&db, "duty_people").await, n(&db, "audit_log").await);
    let fut = RawMeeting { held_on: iso(today + chrono::Duration::days(3)), ..meeting.clone() };
    let e = records::record_meeting(&db, &t.sec, &fut, today).await.unwrap_err();
    assert_eq!(field_of(&e), "held_on");
    assert!(format!("{e:?}").contains(i18n::DUTY_MEETING_FUTURE));
    let stranger =
        RawMeeting { attendance: vec![present(t.members[0].id), present(t.members[3].id)], ..meeting.clone() };
    let e = records::record_meeting(&db, &t.sec, &stranger, today).await.unwrap_err();
    assert_eq!(field_of(&e), "attendance[1]", "B3's member is not in B1");
    let no_numbers = RawMeeting { attendance: vec![], ..meeting.clone() };
    let e = records::record_meeting(&db, &t.sec, &no_numbers, today).await.unwrap_err();
    assert!(format!("{e:?}").contains(i18n::DUTY_QUORUM_WITHOUT_NUMBERS));
    let thin = RawMeeting {
        attendance: vec![
            present(t.members[0].id),
            RawAttendee { member_id: t.members[1].id, presence: "absent".into(), reason: None },
        ],
        ..meeting.clone()
    };
    let e = records::record_meeting(&db, &t.sec, &thin, today).await.unwrap_err();
    assert!(format!("{e:?}").contains(i18n::DUTY_QUORUM_NOT_MET), "1 of 2 is not more than half");
    assert_eq!(
        (n(&db, "duty_meetings").await, n(&db, "duty_people").await, n(&db, "audit_log").await),
        (meetings, people, audits),
        "refused meetings leave nothing behind"
    );
    // Excused for being away: left out of the base, so one of one is a quorum.
    let away = RawMeeting {
        attendance: vec![
            present(t.members[0].id),
            RawAttendee { member_id: t.members[1].id, presence: "excused".into(), reason: s("mobile") },
        ],
        ..meeting.clone()
    };
    let m = records::record_meeting(&db, &t.sec, &away, today).await.unwrap();
    assert_eq!((m.voting_total, m.voting_present, m.quorum_met), (1, 1, Some(true)));
    let m = records::record_meeting(&db, &t.sec, &meeting, today).await.unwrap();
    assert_eq!((m.expected_count, m.present_count, m.quorum_met), (2, 2, Some(true)));

    let act = RawActivity {
        org_id: s(t.b1.id),
        kind: s("service"),
        held_on: iso(today),
        title: s("为独居老人送菜"),
        note: None,
        members: vec![t.members[0].id],
        cadres: vec![t.cadres[0].id],
    };
    assert_eq!(records::record_activity(&db, &t.sec, &act, today).await.unwrap().participants, 2);
    let out = RawActivity { members: vec![t.members[3].id], ..act.clone() };
    assert_eq!(field_of(&records::record_activity(&db, &t.sec, &out, today).await.unwrap_err()), "members");
}

/// A one-shot HTTP server answering 200 and returning the request it got.
async fn hook_server() -> (String, tokio::task::JoinHandle<String>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let h = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = vec![0u8; 8192];
        let n = s.read(&mut buf).await.unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await.unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    });
    (url, h)
}

async fn my_duties_turn_done_and_reminders(db: Db) {
    let t = tenant(&db).await;
    let today = sh_today();
    let tid = t.root.tenant_id;
    // A stationed cadre in B1, linked to the secretary's account.
    let sc = cadre(&db, &t.admin, raw_cadre(t.root.id, "stationed_cadre", "驻格干部丁", vec![t.b1.id])).await;
    duties::link_account(&db, tid, t.sec.user_id, sc.id).await.unwrap();
    let mine = duties::my_duties(&db, &t.sec, today).await.unwrap();
    let grid_day = mine.iter().find(|l| l.rule_code == "grid_day").expect("grid day listed");
    assert_ne!(grid_day.status(today), Status::Done);
    assert!(mine.iter().any(|l| l.rule_code == "four_ones"));
    assert!(mine.iter().all(|l| l.subject.kind == "cadre" && l.subject.id == sc.id));

    let v = RawVisit {
        target_kind: s("grid"),
        target_id: s(t.grids[0].id),
        visited_on: Some(today.format("%Y-%m-%d").to_string()),
        purpose: s("routine"),
        ..RawVisit::default()
    };
    records::record_visit(&db, &t.sec, &v, today).await.expect("visitor defaults to the linked cadre");
    let mine = duties::my_duties(&db, &t.sec, today).await.unwrap();
    let grid_day = mine.iter().find(|l| l.rule_code == "grid_day").unwrap();
    assert_eq!(grid_day.status(today), Status::Done, "this week's grid day is done");

    // Compliance of B1 names B1's meeting duties and calls B1 silent.
    let c = duties::compliance(&db, &t.sec, t.b1.id, today).await.unwrap();
    assert!(c.rules.iter().any(|r| r.rule_code == "theme_day" && r.subjects == 1 && r.overdue > 0));
    assert!(c.silent.iter().any(|s| s.org_id == t.b1.id));
    assert!(!c.trend.is_empty());
    assert!(matches!(duties::compliance(&db, &t.sec, t.b3.id, today).await, Err(StoreError::NotFound)));

    // Reminders: a month rule with a 31-day warning window is always in it.
    let mut raw: RawRule = serde_json::from_str(
        &rules::list(&db, tid).await.unwrap().iter().find(|r| r.code == "theme_day").unwrap().body,
    )
    .unwrap();
    raw.warn_days = Some(31);
    rules::update(&db, &t.admin, "theme_day", raw).await.unwrap();
    let made = notices::run(&db, tid, today).await.unwrap();
    assert!(made >= 1);
    assert_eq!(notices::run(&db, tid, today).await.unwrap(), 0, "a second run (or process) adds nothing");
    let inbox = notices::inbox(&db, &t.sec, 50).await.unwrap();
    let theme = inbox.iter().find(|n| n.rule_code == "theme_day").expect("theme day reminder");
    assert_eq!(theme.channel_status, i18n::DUTY_NOT_SENT, "no channel: never claims to have sent");

    // With a webhook configured, the POST happens and its outcome is kept.
    let (url, server) = hook_server().await;
    notices::set_webhook(&db, &t.admin, Some(&url)).await.unwrap();
    let mut raw: RawRule = serde_json::from_str(
        &rules::list(&db, tid).await.unwrap().iter().find(|r| r.code == "general_meeting").unwrap().body,
    )
    .unwrap();
    // A quarter ends within 92 days: a 100-day window is open now, the shipped 14 days may not be.
    raw.warn_days = Some(100);
    rules::update(&db, &t.admin, "general_meeting", raw).await.unwrap();
    // Late in a quarter the first run may already have noted it: start it afresh.
    db.exec("DELETE FROM duty_notices WHERE rule_code = 'general_meeting'", args![]).await.unwrap();
    let made = notices::run(&db, tid, today).await.unwrap();
    assert!(made >= 1, "{made}");
    let req = server.await.unwrap();
    assert!(req.starts_with("POST /hook HTTP/1.1") && req.contains("general_meeting"), "{req}");
    let inbox = notices::inbox(&db, &t.sec, 50).await.unwrap();
    let sent = inbox.iter().find(|n| n.rule_code == "general_meeting").unwrap();
    assert!(sent.channel_status.starts_with("sent: HTTP/1.1 200"), "{}", sent.channel_status);
    assert!(notices::set_webhook(&db, &t.sec, Some(&url)).await.is_err(), "only the tenant's administrators");
}

async fn demo_history_is_realistic(db: Db) {
    let s = demo::generate(
        &db,
        &DemoOptions { households: 300, seed: 7, admin_password: None, replace: false },
        &|_, _| {},
    )
    .await
    .unwrap();
    let today = sh_today();
    for table in ["duty_visits", "duty_meetings", "duty_activities", "duty_people", "duty_accounts"] {
        assert!(n(&db, table).await > 0, "{table} has demo rows");
    }
    let root = redcell_store::scope::Scope::whole_tenant(s.tenant_id);
    let _ = root;
    let (sq01,): (i64,) =
        db.one("SELECT id FROM orgs WHERE tenant_id = $1 AND parent_id IS NULL", args![s.tenant_id]).await.unwrap();
    // Read the compliance as the operator would (through the admin of the tenant).
    let admin_pw = PASSWORD;
    redcell_store::auth::add_user(&db, "duty_admin", "管理员", admin_pw, redcell_domain::Role::Admin, &s.street_code)
        .await
        .unwrap();
    let (admin, _) = sign_in(&db, "duty_admin").await;
    let c = duties::compliance(&db, &admin, sq01, today).await.unwrap();
    let overdue: usize = c.rules.iter().map(|r| r.overdue).sum();
    let done: usize = c.rules.iter().map(|r| r.done).sum();
    assert!(overdue > 0 && done > overdue, "realistic: mostly done, some overdue ({done} done, {overdue} overdue)");
    assert!(!c.silent.is_empty(), "some branches have gone silent");
    let rates: Vec<f64> = c.trend.iter().filter_map(|(_, r)| *r).collect();
    assert!(
        rates.iter().all(|r| (0.0..=100.0).contains(r)) && rates.iter().any(|r| *r > 50.0 && *r < 100.0),
        "{rates:?}"
    );

    demo::delete_tenant(&db, s.tenant_id).await.unwrap();
    for table in [
        "duty_rules",
        "duty_visits",
        "duty_meetings",
        "duty_activities",
        "duty_people",
        "duty_accounts",
        "duty_last_visits",
    ] {
        assert_eq!(n(&db, table).await, 0, "{table} emptied with the tenant");
    }
}
