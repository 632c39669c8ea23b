//! Stories of duties (SPEC §4) on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL:
//! `cargo test -p redcell-store --test duties`.

use redcell_domain::duties::{RawRule, Status};
use redcell_domain::i18n;
use redcell_store::demo::{self, DemoOptions};
use redcell_store::duties::records::{self, RawActivity, RawAttendee, RawMeeting, RawVisit};
use redcell_store::duties::{self as duties, notices, rules};
use redcell_store::{Db, StoreError, args};
use redcell_testkit::store::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

stories!(
    rules_seed_edit_import_export,
    records_refuse_bad_input,
    my_duties_turn_done_and_reminders,
    demo_history_is_realistic,
    meeting_photos_lists_and_visit_raising_a_request,
    role_only_rules_and_compliance_from_creation,
    webhook_settings_test_and_delivery_log,
    accounts_link_to_cadres_and_members,
    meeting_form_lists_every_member_quorum_counts,
    records_only_by_recorders_naming_people_of_their_own,
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

/// Pretend a registry row was created `days` ago.
async fn backdate(db: &Db, table: &str, id: i64, days: i64) {
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    db.exec(&format!("UPDATE {table} SET created_at = $1 WHERE id = $2"), args![at, id]).await.unwrap();
}

/// A tiny PNG (the store checks the signature, not the pixels).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

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
        visitor_id: s(t.cadres[0].id.get()),
        target_kind: s("household"),
        target_id: s(t.households[0].id.get()),
        visited_on: iso(today),
        purpose: s("必访"),
        learned: s("老人腿脚不便，需要送药"),
    };
    let visit = records::record_visit(&db, &t.sec, &v, today).await.unwrap();
    assert_eq!(visit.purpose, "must_visit");
    assert_eq!(records::last_visited(&db, t.root.tenant_id, t.households[0].id.get()).await.unwrap(), Some(today));

    let before = n(&db, "duty_visits").await;
    let future = RawVisit { visited_on: iso(today + chrono::Duration::days(1)), ..v.clone() };
    assert_eq!(field_of(&records::record_visit(&db, &t.sec, &future, today).await.unwrap_err()), "visited_on");
    let outside = RawVisit { target_id: s(t.households[3].id.get()), ..v.clone() };
    let e = records::record_visit(&db, &t.sec, &outside, today).await.unwrap_err();
    assert!(matches!(e, StoreError::Denied(_)), "B3's household is outside B1's secretary: {e:?}");
    let bad_purpose = RawVisit { purpose: s("gossip"), ..v.clone() };
    assert_eq!(field_of(&records::record_visit(&db, &t.sec, &bad_purpose, today).await.unwrap_err()), "purpose");
    assert_eq!(n(&db, "duty_visits").await, before, "nothing written");

    let present = |m: i64| RawAttendee { member_id: m, presence: "present".into(), reason: None };
    let meeting = RawMeeting {
        org_id: s(t.b1.id.get()),
        kind: s("general_meeting"),
        held_on: iso(today),
        topic: s("学习传达上级精神"),
        minutes: s("到会党员讨论通过"),
        attendance: vec![present(t.members[0].id.get()), present(t.members[1].id.get())],
        cadres: vec![],
        quorum_claimed: Some(true),
    };
    let (meetings, people, audits) =
        (n(&db, "duty_meetings").await, n(&db, "duty_people").await, n(&db, "audit_log").await);
    let fut = RawMeeting { held_on: iso(today + chrono::Duration::days(3)), ..meeting.clone() };
    let e = records::record_meeting(&db, &t.sec, &fut, today).await.unwrap_err();
    assert_eq!(field_of(&e), "held_on");
    assert!(format!("{e:?}").contains(i18n::DUTY_MEETING_FUTURE));
    let stranger = RawMeeting {
        attendance: vec![present(t.members[0].id.get()), present(t.members[3].id.get())],
        ..meeting.clone()
    };
    let e = records::record_meeting(&db, &t.sec, &stranger, today).await.unwrap_err();
    assert_eq!(field_of(&e), "attendance[1]", "B3's member is not in B1");
    let twice = RawMeeting {
        attendance: vec![
            present(t.members[0].id.get()),
            present(t.members[1].id.get()),
            present(t.members[0].id.get()),
        ],
        ..meeting.clone()
    };
    let e = records::record_meeting(&db, &t.sec, &twice, today).await.unwrap_err();
    assert_eq!(field_of(&e), "attendance[2]", "a member listed twice is refused: {e:?}");
    assert!(format!("{e:?}").contains(i18n::DUTY_ATTENDEE_TWICE));
    let no_numbers = RawMeeting { attendance: vec![], ..meeting.clone() };
    let e = records::record_meeting(&db, &t.sec, &no_numbers, today).await.unwrap_err();
    assert!(format!("{e:?}").contains(i18n::DUTY_QUORUM_WITHOUT_NUMBERS));
    let thin = RawMeeting {
        attendance: vec![
            present(t.members[0].id.get()),
            RawAttendee { member_id: t.members[1].id.get(), presence: "absent".into(), reason: None },
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
            present(t.members[0].id.get()),
            RawAttendee { member_id: t.members[1].id.get(), presence: "excused".into(), reason: s("mobile") },
        ],
        ..meeting.clone()
    };
    let m = records::record_meeting(&db, &t.sec, &away, today).await.unwrap();
    assert_eq!((m.voting_total, m.voting_present, m.quorum_met), (1, 1, Some(true)));
    let m = records::record_meeting(&db, &t.sec, &meeting, today).await.unwrap();
    assert_eq!((m.expected_count, m.present_count, m.quorum_met), (2, 2, Some(true)));

    let act = RawActivity {
        org_id: s(t.b1.id.get()),
        kind: s("service"),
        held_on: iso(today),
        title: s("为独居老人送菜"),
        note: None,
        members: vec![t.members[0].id.get()],
        cadres: vec![t.cadres[0].id.get()],
    };
    assert_eq!(records::record_activity(&db, &t.sec, &act, today).await.unwrap().participants, 2);
    let out = RawActivity { members: vec![t.members[3].id.get()], ..act.clone() };
    assert_eq!(field_of(&records::record_activity(&db, &t.sec, &out, today).await.unwrap_err()), "members");
}

/// A one-shot HTTP server answering 200 and returning the request it got.
async fn hook_server() -> (String, tokio::task::JoinHandle<String>) {
    // The receiver is on loopback, which a shared server refuses by default.
    notices::allow_private_webhooks();
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
    let sc = cadre(&db, &t.admin, raw_cadre(t.root.id.get(), "stationed_cadre", "驻格干部丁", vec![t.b1.id])).await;
    duties::link_account(&db, tid, t.sec.user_id, sc.id.get()).await.unwrap();
    let mine = duties::my_duties(&db, &t.sec, today).await.unwrap();
    let grid_day = mine.iter().find(|l| l.rule_code == "grid_day").expect("grid day listed");
    assert_ne!(grid_day.status(today), Status::Done);
    assert!(mine.iter().any(|l| l.rule_code == "four_ones"));
    assert!(mine.iter().all(|l| l.subject.kind == "cadre" && l.subject.id == sc.id.get()));

    let v = RawVisit {
        target_kind: s("grid"),
        target_id: s(t.grids[0].id.get()),
        visited_on: Some(today.format("%Y-%m-%d").to_string()),
        purpose: s("routine"),
        ..RawVisit::default()
    };
    records::record_visit(&db, &t.sec, &v, today).await.expect("visitor defaults to the linked cadre");
    let mine = duties::my_duties(&db, &t.sec, today).await.unwrap();
    let grid_day = mine.iter().find(|l| l.rule_code == "grid_day").unwrap();
    assert_eq!(grid_day.status(today), Status::Done, "this week's grid day is done");

    // Compliance of B1 names B1's meeting duties and calls B1 silent (B1
    // dated back: compliance starts at an organisation's creation).
    backdate(&db, "orgs", t.b1.id.get(), 200).await;
    let c = duties::compliance(&db, &t.sec, t.b1.id.get(), today).await.unwrap();
    assert!(c.rules.iter().any(|r| r.rule_code == "theme_day" && r.subjects == 1 && r.overdue > 0));
    assert!(c.silent.iter().any(|s| s.org_id == t.b1.id.get()));
    assert!(!c.trend.is_empty());
    assert!(matches!(duties::compliance(&db, &t.sec, t.b3.id.get(), today).await, Err(StoreError::NotFound)));

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
    assert_eq!(sent.channel_status, i18n::DUTY_CHANNEL_SENT);
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
    // A community's page judges the street's cadres stationed in it (it counted none).
    let (community,): (i64,) = db
        .one(
            "SELECT id FROM orgs WHERE tenant_id = $1 AND kind = 'community_committee' ORDER BY id LIMIT 1",
            args![s.tenant_id],
        )
        .await
        .unwrap();
    let cc = duties::compliance(&db, &admin, community, today).await.unwrap();
    let grid_day = cc.rules.iter().find(|r| r.rule_code == "grid_day").expect("the grid-day rule");
    assert!(grid_day.subjects > 0, "stationed cadres are judged on the community's page");
    let street_day = c.rules.iter().find(|r| r.rule_code == "grid_day").unwrap();
    assert!(grid_day.subjects <= street_day.subjects);
    let rates: Vec<f64> = c.trend.iter().filter_map(|m| m.rate).collect();
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

async fn meeting_photos_lists_and_visit_raising_a_request(db: Db) {
    let t = tenant(&db).await;
    let mut tx = db.begin().await.unwrap();
    redcell_store::requests::seed::default_categories(&mut tx, t.root.id.get()).await.unwrap();
    tx.commit().await.unwrap();
    let today = sh_today();
    let iso = |d: chrono::NaiveDate| Some(d.format("%Y-%m-%d").to_string());
    // The attendance form offers B1's subtree: its own member and G1's, not B3's.
    let roster = records::roster(&db, &t.sec, t.b1.id.get()).await.unwrap();
    let ids: Vec<i64> = roster.iter().map(|m| m.id).collect();
    assert!(
        ids.contains(&t.members[0].id.get())
            && ids.contains(&t.members[1].id.get())
            && !ids.contains(&t.members[3].id.get())
    );

    let present = |m: i64| RawAttendee { member_id: m, presence: "present".into(), reason: None };
    let meeting = RawMeeting {
        org_id: s(t.b1.id.get()),
        kind: s("theme_day"),
        held_on: iso(today),
        topic: s("主题党日：清理楼道"),
        minutes: s("清理了3个单元的楼道"),
        attendance: vec![
            present(t.members[0].id.get()),
            RawAttendee { member_id: t.members[1].id.get(), presence: "excused".into(), reason: s("ill") },
        ],
        cadres: vec![],
        quorum_claimed: None,
    };
    let before = (n(&db, "duty_meetings").await, n(&db, "files").await);
    let pdf = records::Upload { name: "minutes.pdf".into(), bytes: b"%PDF-1.4 ...".to_vec() };
    let e = records::record_meeting_with_photos(&db, &t.sec, &meeting, &[pdf], today).await.unwrap_err();
    assert_eq!(field_of(&e), "photos");
    let many = vec![records::Upload { name: "p.png".into(), bytes: PNG.to_vec() }; records::MAX_PHOTOS + 1];
    let e = records::record_meeting_with_photos(&db, &t.sec, &meeting, &many, today).await.unwrap_err();
    assert!(format!("{e:?}").contains(i18n::DUTY_PHOTO_TOO_MANY));
    assert_eq!((n(&db, "duty_meetings").await, n(&db, "files").await), before, "nothing written");

    let photo = records::Upload { name: "楼道.png".into(), bytes: PNG.to_vec() };
    let m = records::record_meeting_with_photos(&db, &t.sec, &meeting, &[photo], today).await.unwrap();
    let act = RawActivity {
        org_id: s(t.g1.id.get()),
        kind: s("study"),
        held_on: iso(today),
        title: s("学习党章"),
        note: s("集中学习一小时"),
        members: vec![t.members[1].id.get()],
        cadres: vec![],
    };
    let a = records::record_activity(&db, &t.sec, &act, today).await.unwrap();
    let held = records::held_in(&db, &t.sec, t.b1.id.get(), 50).await.unwrap();
    let hm = held.iter().find(|h| h.record == "meeting" && h.id == m.id).expect("meeting listed");
    assert_eq!((hm.photos, hm.present, hm.kind_label()), (1, 1, "主题党日"));
    assert!(held.iter().any(|h| h.record == "activity" && h.id == a.id && h.present == 1), "G1 is inside B1");
    assert!(records::held_in(&db, &t.sec, t.b3.id.get(), 50).await.is_err(), "B3 is outside the secretary");

    let dm = records::held_detail(&db, &t.sec, "meeting", m.id).await.unwrap();
    assert_eq!(dm.photos.len(), 1);
    assert_eq!(dm.minutes.as_deref(), Some("清理了3个单元的楼道"));
    let ill = dm.people.iter().find(|p| p.person_id == t.members[1].id.get()).unwrap();
    assert_eq!(ill.label(), "患病");
    let (info, bytes) = redcell_store::files::download(&db, &t.sec, dm.photos[0].id).await.unwrap();
    assert_eq!((info.content_type.as_str(), bytes.as_slice()), ("image/png", PNG));
    let da = records::held_detail(&db, &t.sec, "activity", a.id).await.unwrap();
    assert_eq!(da.people.len(), 1);

    // A visit raises a request without retyping: the description is what was learned.
    let v = RawVisit {
        visitor_kind: s("cadre"),
        visitor_id: s(t.cadres[0].id.get()),
        target_kind: s("household"),
        target_id: s(t.households[0].id.get()),
        visited_on: iso(today),
        purpose: s("routine"),
        learned: s("楼道灯坏了一个月"),
    };
    let (visits, requests) = (n(&db, "duty_visits").await, n(&db, "requests").await);
    let bad = redcell_domain::requests::RawRequest { category: s("no_such_category"), ..Default::default() };
    assert!(records::record_visit_raising(&db, &t.sec, &v, bad, today).await.is_err());
    let none = redcell_domain::requests::RawRequest::default();
    let e = records::record_visit_raising(&db, &t.sec, &v, none, today).await.unwrap_err();
    assert_eq!(field_of(&e), "category");
    let fut = RawVisit { visited_on: iso(today + chrono::Duration::days(1)), ..v.clone() };
    let req = redcell_domain::requests::RawRequest { category: s("facility"), ..Default::default() };
    assert_eq!(
        field_of(&records::record_visit_raising(&db, &t.sec, &fut, req.clone(), today).await.unwrap_err()),
        "visited_on"
    );
    assert_eq!((n(&db, "duty_visits").await, n(&db, "requests").await), (visits, requests), "nothing written");

    let (visit, sub) = records::record_visit_raising(&db, &t.sec, &v, req, today).await.unwrap();
    assert_eq!(visit.request_id, Some(sub.id.get()));
    let r = redcell_store::requests::get(&db, &t.sec, sub.id).await.unwrap();
    assert_eq!(r.description, "楼道灯坏了一个月");
    assert_eq!(r.grid_id, Some(t.grids[0].id), "placed where the visit was");
    let mine = records::visits_by(&db, &t.sec, "cadre", t.cadres[0].id.get(), 10).await.unwrap();
    assert_eq!(mine[0].request_id, Some(sub.id.get()));

    // The visit fails after its request was checked and written (here: the
    // household's last-visit row cannot be kept): the request goes with it.
    let (visits, requests, audits) = (n(&db, "duty_visits").await, n(&db, "requests").await, n(&db, "audit_log").await);
    db.exec("ALTER TABLE duty_last_visits RENAME TO duty_last_visits_away", args![]).await.unwrap();
    let req = redcell_domain::requests::RawRequest { category: s("facility"), ..Default::default() };
    let failed = records::record_visit_raising(&db, &t.sec, &v, req, today).await;
    db.exec("ALTER TABLE duty_last_visits_away RENAME TO duty_last_visits", args![]).await.unwrap();
    assert!(failed.is_err());
    assert_eq!(
        (n(&db, "duty_visits").await, n(&db, "requests").await, n(&db, "audit_log").await),
        (visits, requests, audits),
        "one transaction: no request without its visit"
    );
}

async fn role_only_rules_and_compliance_from_creation(db: Db) {
    let t = tenant(&db).await;
    let today = sh_today();
    let tid = t.root.tenant_id;
    let body = |code: &str, list: &[redcell_store::duties::rules::StoredRule]| -> RawRule {
        serde_json::from_str(&list.iter().find(|r| r.code == code).unwrap().body).unwrap()
    };
    let list = rules::list(&db, tid).await.unwrap();
    // Grid workers' must-visit duty named only by the role 网格员.
    let mut gm = body("grid_must_visit", &list);
    (gm.cadre_kind, gm.role) = (None, s("grid_worker"));
    rules::update(&db, &t.admin, "grid_must_visit", gm).await.unwrap();
    // The theme day named only by the role 书记/委员: every party organisation.
    let mut td = body("theme_day", &list);
    (td.org_kind, td.role) = (vec![], s("secretary"));
    rules::update(&db, &t.admin, "theme_day", td).await.unwrap();

    let c = duties::compliance(&db, &t.admin, t.root.id.get(), today).await.unwrap();
    let subjects = |code: &str| -> Vec<(String, i64)> {
        c.lines.iter().filter(|l| l.rule_code == code).map(|l| (l.subject.kind.clone(), l.subject.id)).collect()
    };
    let gm = subjects("grid_must_visit");
    assert!(
        gm.contains(&("cadre".into(), t.cadres[0].id.get())) && gm.contains(&("cadre".into(), t.cadres[1].id.get()))
    );
    assert!(!gm.contains(&("cadre".into(), t.cadres[2].id.get())), "a street cadre is no grid worker");
    let td = subjects("theme_day");
    for o in [&t.c1, &t.b1, &t.b2, &t.b3, &t.g1] {
        assert!(td.contains(&("org".into(), o.id.get())), "{} owes the theme day", o.name);
    }
    assert!(!td.contains(&("org".into(), t.root.id.get())), "not the street itself");
    // The secretary of B1 sees B1's theme day among "my duties" (no account link).
    let mine = duties::my_duties(&db, &t.sec, today).await.unwrap();
    assert!(
        mine.iter().any(|l| l.rule_code == "theme_day" && l.subject.kind == "org" && l.subject.id == t.b1.id.get())
    );
    assert!(mine.iter().all(|l| l.subject.kind == "org" && l.subject.id == t.b1.id.get()));

    // Everything was created today: nothing can be overdue yet.
    let overdue: usize = c.rules.iter().map(|r| r.overdue).sum();
    assert_eq!(overdue, 0, "no periods before the subjects existed");
    // Dated back eight months, B1 has missed its monthly theme days.
    backdate(&db, "orgs", t.b1.id.get(), 240).await;
    let c = duties::compliance(&db, &t.admin, t.b1.id.get(), today).await.unwrap();
    let line = c.lines.iter().find(|l| l.rule_code == "theme_day" && l.subject.id == t.b1.id.get()).unwrap();
    assert!(line.overdue() >= 5, "{}", line.overdue());
    // A rule added by an import starts today: B1 is not overdue under it.
    let text = rules::export(&db, &t.admin).await.unwrap();
    let extra = text.clone()
        + "\n[[rule]]\ncode = \"theme_day_2\"\nname = \"第二主题党日\"\nrole = \"secretary\"\nrecord = \"meeting\"\nsub = [\"theme_day\"]\nevery = \"month\"\n";
    rules::import(&db, &t.admin, &extra).await.unwrap();
    assert!(rules::export(&db, &t.admin).await.unwrap().contains(&format!("since = \"{today}\"")));
    let c = duties::compliance(&db, &t.admin, t.b1.id.get(), today).await.unwrap();
    let line = c.lines.iter().find(|l| l.rule_code == "theme_day_2" && l.subject.id == t.b1.id.get()).unwrap();
    assert_eq!(line.overdue(), 0);
    assert!(
        c.lines.iter().find(|l| l.rule_code == "theme_day" && l.subject.id == t.b1.id.get()).unwrap().overdue() >= 5
    );
    // A branch created now under it is not overdue for periods before it existed.
    let fresh = org(&db, &t.admin, t.c1.id.get(), "branch_grid", "B9", "新建网格党支部").await;
    let c = duties::compliance(&db, &t.admin, fresh.id.get(), today).await.unwrap();
    assert!(c.lines.iter().all(|l| l.overdue() == 0 && l.evaluation.periods.iter().all(|p| p.due >= today)));
}

async fn webhook_settings_test_and_delivery_log(db: Db) {
    let t = tenant(&db).await;
    let today = sh_today();
    for bad in ["https://example.org/hook", "ftp://x", "http://", "http://host:99999/x", "http://a b/"] {
        let e = notices::set_webhook(&db, &t.admin, Some(bad)).await.unwrap_err();
        assert_eq!(field_of(&e), "webhook_url", "{bad}");
    }
    assert_eq!(notices::webhook(&db, t.root.tenant_id).await.unwrap(), None, "off until configured");
    let e = notices::send_test(&db, &t.admin, today).await.unwrap_err();
    assert!(format!("{e:?}").contains(i18n::DUTY_WEBHOOK_OFF));
    assert!(notices::deliveries(&db, &t.admin, 10).await.unwrap().is_empty(), "no pretend delivery");

    let (url, server) = hook_server().await;
    notices::set_webhook(&db, &t.admin, Some(&url)).await.unwrap();
    let d = notices::send_test(&db, &t.admin, today).await.unwrap();
    assert!(d.ok && d.is_test && d.detail == i18n::DUTY_CHANNEL_DELIVERED, "{d:?}");
    assert!(server.await.unwrap().contains("\"test\":true"));
    // A closed port: the failure and its reason are logged, nothing claims success.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/hook", l.local_addr().unwrap());
    drop(l);
    notices::set_webhook(&db, &t.admin, Some(&dead)).await.unwrap();
    let d = notices::send_test(&db, &t.admin, today).await.unwrap();
    assert!(!d.ok && d.detail == i18n::DUTY_CHANNEL_REFUSED, "only the class of failure: {d:?}");
    // Without the operator's switch, loopback, link-local and unspecified
    // addresses are refused before connecting (and nothing of the remote shown).
    for url in ["http://127.0.0.1:9/x", "http://169.254.169.254/latest", "http://0.0.0.0:80/", "http://[::1]:80/"] {
        assert_eq!(notices::post_json(url, "{}", false).await, Err(notices::Failure::Blocked), "{url}");
    }
    assert!(notices::blocked_ip("fe80::1".parse().unwrap()));
    assert!(!notices::blocked_ip("10.1.2.3".parse().unwrap()), "a LAN receiver stays possible");
    let log = notices::deliveries(&db, &t.admin, 10).await.unwrap();
    assert_eq!(log.iter().map(|d| d.ok).collect::<Vec<_>>(), vec![false, true]);
    assert!(matches!(notices::deliveries(&db, &t.sec, 10).await, Err(StoreError::Forbidden)));
    assert!(matches!(notices::send_test(&db, &t.sec, today).await, Err(StoreError::Forbidden)));
    notices::set_webhook(&db, &t.admin, None).await.unwrap();
    assert_eq!(notices::webhook(&db, t.root.tenant_id).await.unwrap(), None);
}

async fn accounts_link_to_cadres_and_members(db: Db) {
    let t = tenant(&db).await;
    let today = sh_today();
    let tid = t.root.tenant_id;
    let audits = n(&db, "audit_log").await;
    assert!(matches!(
        duties::link_user(&db, &t.sec, t.sec.user_id, Some(duties::Link::Cadre(t.cadres[0].id.get()))).await,
        Err(StoreError::Forbidden)
    ));
    let e = duties::link_user(&db, &t.admin, t.sec.user_id, Some(duties::Link::Cadre(999_999))).await.unwrap_err();
    assert_eq!(field_of(&e), "cadre");
    assert_eq!(n(&db, "audit_log").await, audits, "refused links write nothing");

    duties::link_user(&db, &t.admin, t.sec.user_id, Some(duties::Link::Cadre(t.cadres[0].id.get()))).await.unwrap();
    assert_eq!(duties::cadre_of(&db, &t.sec).await.unwrap(), Some(t.cadres[0].id.get()));
    let l = duties::linked(&db, tid, t.sec.user_id).await.unwrap().unwrap();
    assert_eq!((l.link, l.name.as_str()), (duties::Link::Cadre(t.cadres[0].id.get()), "网格员甲"));
    let mine = duties::my_duties(&db, &t.sec, today).await.unwrap();
    assert!(mine.iter().any(|l| l.rule_code == "grid_must_visit" && l.subject.id == t.cadres[0].id.get()));

    // Relinked to a member (in service, so the service duty is theirs).
    db.exec("UPDATE members SET work_unit = '区医院' WHERE id = $1", args![t.members[0].id.get()]).await.unwrap();
    duties::link_user(&db, &t.admin, t.sec.user_id, Some(duties::Link::Member(t.members[0].id.get()))).await.unwrap();
    assert_eq!(duties::cadre_of(&db, &t.sec).await.unwrap(), None, "one link per account");
    assert_eq!(duties::member_of(&db, &t.sec).await.unwrap(), Some(t.members[0].id.get()));
    let mine = duties::my_duties(&db, &t.sec, today).await.unwrap();
    assert!(
        mine.iter().any(|l| l.rule_code == "in_service_service"),
        "{:?}",
        mine.iter().map(|l| &l.rule_code).collect::<Vec<_>>()
    );
    assert!(mine.iter().all(|l| l.subject.kind == "member" && l.subject.id == t.members[0].id.get()));
    // An account linked to a member records a visit without naming the visitor.
    let v = RawVisit {
        target_kind: s("household"),
        target_id: s(t.households[0].id.get()),
        visited_on: Some(today.format("%Y-%m-%d").to_string()),
        ..Default::default()
    };
    let visit = records::record_visit(&db, &t.sec, &v, today).await.expect("the linked member is the visitor");
    assert_eq!((visit.visitor_kind.as_str(), visit.visitor_id), ("member", t.members[0].id.get()));
    duties::link_user(&db, &t.admin, t.sec.user_id, None).await.unwrap();
    assert_eq!(duties::linked(&db, tid, t.sec.user_id).await.unwrap().map(|l| l.link), None);
    let actions: Vec<(String,)> =
        db.all("SELECT action FROM audit_log WHERE action LIKE '%link_account' ORDER BY id", args![]).await.unwrap();
    let actions: Vec<&str> = actions.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(actions, vec!["link_account", "link_account", "unlink_account"]);
}

/// A branch with more members than one screen: the attendance form lists every
/// member the quorum counts.
async fn meeting_form_lists_every_member_quorum_counts(db: Db) {
    let t = tenant(&db).await;
    let today = sh_today();
    let m0 = t.members[0].id.get();
    db.exec(
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 520) \
         INSERT INTO residents (tenant_id, household_id, org_id, name, gender, birth_date, id_number, phone, note, created_at, updated_at) \
         SELECT r.tenant_id, r.household_id, r.org_id, r.name, r.gender, r.birth_date, r.id_number || '-' || CAST(seq.i AS TEXT), \
         r.phone, r.note, r.created_at, r.updated_at FROM residents r JOIN members m ON m.resident_id = r.id, seq WHERE m.id = $1",
        args![m0],
    )
    .await
    .unwrap();
    db.exec(
        "INSERT INTO members (tenant_id, resident_id, org_id, category, status, joined_on, created_at, updated_at) \
         SELECT m.tenant_id, r.id, m.org_id, m.category, m.status, m.joined_on, m.created_at, m.updated_at \
         FROM members m JOIN residents r0 ON r0.id = m.resident_id JOIN residents r ON r.id_number LIKE r0.id_number || '-%' \
         WHERE m.id = $1",
        args![m0],
    )
    .await
    .unwrap();
    let roster = records::roster(&db, &t.sec, t.b1.id.get()).await.unwrap();
    assert!(roster.len() > 520, "{}", roster.len());
    let present = RawAttendee { member_id: roster.last().unwrap().id, presence: "present".into(), reason: None };
    let meeting = RawMeeting {
        org_id: s(t.b1.id.get()),
        kind: s("general_meeting"),
        held_on: Some(today.format("%Y-%m-%d").to_string()),
        topic: s("党员大会"),
        attendance: vec![present],
        ..Default::default()
    };
    let m = records::record_meeting(&db, &t.sec, &meeting, today).await.unwrap();
    assert_eq!(m.expected_count, roster.len() as i64, "the form lists the members the quorum counts");
    assert_eq!(m.voting_total, roster.iter().filter(|r| r.status == "full").count() as i64);
}

/// Hole 2 of issue 13: an auditor (and a cadre) could record visits, meetings
/// and activities, and visitor, attendee and cadre ids of other communities
/// were accepted and their names shown back. Recording needs the right to
/// record duties (a cadre records their own visits only), and every person
/// named belongs to the caller's scope or to an organisation above the record.
async fn records_only_by_recorders_naming_people_of_their_own(db: Db) {
    let t = tenant(&db).await;
    let today = sh_today();
    let iso = Some(today.format("%Y-%m-%d").to_string());
    let visit = |visitor_kind: &str, visitor: i64| RawVisit {
        visitor_kind: s(visitor_kind),
        visitor_id: s(visitor),
        target_kind: s("household"),
        target_id: s(t.households[0].id.get()),
        visited_on: iso.clone(),
        purpose: s("routine"),
        learned: None,
    };
    let meeting = |cadres: Vec<i64>| RawMeeting {
        org_id: s(t.b1.id.get()),
        kind: s("general_meeting"),
        held_on: iso.clone(),
        topic: s("学习"),
        minutes: None,
        attendance: vec![RawAttendee { member_id: t.members[0].id.get(), presence: "present".into(), reason: None }],
        cadres,
        quorum_claimed: None,
    };
    let activity = |members: Vec<i64>, cadres: Vec<i64>| RawActivity {
        org_id: s(t.b1.id.get()),
        kind: s("service"),
        held_on: iso.clone(),
        title: s("清理楼道"),
        note: None,
        members,
        cadres,
    };
    let counts =
        || async { (n(&db, "duty_visits").await, n(&db, "duty_meetings").await, n(&db, "duty_activities").await) };
    let before = counts().await;

    // An auditor reads; it records nothing.
    redcell_store::auth::add_user(&db, "aud_st", "审计员", PASSWORD, redcell_domain::Role::Auditor, "ST")
        .await
        .unwrap();
    let (auditor, _) = sign_in(&db, "aud_st").await;
    let e = records::record_visit(&db, &auditor, &visit("cadre", t.cadres[0].id.get()), today).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden), "{e:?}");
    let e = records::record_meeting(&db, &auditor, &meeting(vec![]), today).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden), "{e:?}");
    let e = records::record_activity(&db, &auditor, &activity(vec![], vec![]), today).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden), "{e:?}");

    // The secretary of B1 cannot name B2's grid worker or B3's member as the
    // visitor, nor put them on a meeting or an activity; the refusal names
    // the field and never the person.
    let other_cadre = t.cadres[1].id.get();
    let other_member = t.members[3].id.get();
    for (kind, id) in [("cadre", other_cadre), ("member", other_member)] {
        let e = records::record_visit(&db, &t.sec, &visit(kind, id), today).await.unwrap_err();
        assert_eq!(field_of(&e), "visitor_id", "{kind} {id}: {e:?}");
        assert!(matches!(e, StoreError::Denied(_)));
        assert!(!format!("{e:?}").contains(&t.cadres[1].name), "{e:?}");
    }
    let e = records::record_meeting(&db, &t.sec, &meeting(vec![other_cadre]), today).await.unwrap_err();
    assert_eq!(field_of(&e), "cadres", "{e:?}");
    let e = records::record_activity(&db, &t.sec, &activity(vec![other_member], vec![]), today).await.unwrap_err();
    assert_eq!(field_of(&e), "members", "{e:?}");
    let e = records::record_activity(&db, &t.sec, &activity(vec![], vec![other_cadre]), today).await.unwrap_err();
    assert_eq!(field_of(&e), "cadres", "{e:?}");
    assert_eq!(counts().await, before, "refused records write nothing");

    // People of B1, and the street's cadre (above B1), are fine.
    let street_cadre = t.cadres[2].id.get();
    records::record_visit(&db, &t.sec, &visit("cadre", t.cadres[0].id.get()), today).await.unwrap();
    records::record_visit(&db, &t.sec, &visit("cadre", street_cadre), today).await.unwrap();
    records::record_meeting(&db, &t.sec, &meeting(vec![street_cadre]), today).await.unwrap();
    records::record_activity(&db, &t.sec, &activity(vec![t.members[0].id.get()], vec![t.cadres[0].id.get()]), today)
        .await
        .unwrap();

    // A cadre account records its own visits, nobody else's, and no meetings.
    redcell_store::auth::add_user(&db, "cadre_b1", "网格员甲", PASSWORD, redcell_domain::Role::Cadre, "B1")
        .await
        .unwrap();
    let (cadre, _) = sign_in(&db, "cadre_b1").await;
    duties::link_user(&db, &t.admin, cadre.user_id, Some(duties::Link::Cadre(t.cadres[0].id.get()))).await.unwrap();
    records::record_visit(&db, &cadre, &visit("cadre", t.cadres[0].id.get()), today).await.unwrap();
    let e = records::record_visit(&db, &cadre, &visit("cadre", street_cadre), today).await.unwrap_err();
    assert_eq!(field_of(&e), "visitor_id", "{e:?}");
    let e = records::record_meeting(&db, &cadre, &meeting(vec![]), today).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden), "{e:?}");
}
