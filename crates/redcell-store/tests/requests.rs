//! Stories of resident requests, errands and micro-wishes, each run on SQLite
//! and (when `REDCELL_TEST_PG` is set) on PostgreSQL:
//! `cargo test -p redcell-store --test requests`.

#[macro_use]
mod common;

use chrono::{Duration, Utc};
use common::*;
use redcell_domain::Role;
use redcell_domain::calendar::{HolidayCalendar, shanghai_date};
use redcell_domain::requests::{Action, FixOutcome, RawRequest, RequestState, Satisfaction, resume_due};
use redcell_store::demo::{DemoOptions, delete_tenant, generate};
use redcell_store::registry::Page;
use redcell_store::requests::{self, ActInput, Filter, Photo, Source, escalate, wishes};
use redcell_store::{Db, StoreError, args, auth, calendar};

stories!(
    request_walks_from_submission_to_close,
    supplement_stops_and_resumes_the_clock,
    bad_input_and_scope_change_nothing,
    escalation_is_idempotent_across_processes,
    wishes_are_claimed_once,
    holiday_calendar_is_editable,
    demo_history_and_tenant_deletion,
    members_claim_once_and_open311_keys,
);

async fn setup(db: &Db) -> Tenant {
    let t = tenant(db).await;
    let mut tx = db.begin().await.unwrap();
    requests::seed::default_categories(&mut tx, t.root.id).await.unwrap();
    tx.commit().await.unwrap();
    t
}

fn raw(category: &str, grid: i64, text: &str) -> RawRequest {
    RawRequest {
        category: s(category),
        description: s(text),
        grid_id: s(grid),
        contact_name: s("王秀英"),
        contact_phone: s("13912345678"),
        ..RawRequest::default()
    }
}

async fn count(db: &Db, sql: &str, id: i64) -> i64 {
    db.int(sql, args![id]).await.unwrap()
}

async fn request_walks_from_submission_to_close(db: Db) {
    let t = setup(&db).await;
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    let sub = requests::submit(
        &db,
        t.root.id,
        raw("facility", t.grids[0].id, "单元门禁损坏").validate().unwrap(),
        Source::Resident,
        None,
        Some(Photo { name: "door.png", bytes: &png }),
    )
    .await
    .unwrap();
    assert_eq!(sub.code.len(), 8);
    // Routed by area to B1, so B1's secretary sees it in the queue.
    let q = requests::list(&db, &t.sec, &Filter::default(), Page::first(50)).await.unwrap();
    assert_eq!(q.total, 1);
    let r = &q.items[0];
    assert_eq!(r.org_id, t.b1.id);
    assert!(r.photo_file_id.is_some());
    assert_eq!(r.phone_masked(), "139****5678");
    assert_eq!(
        requests::actions_for(&t.sec, r),
        vec![Action::Accept, Action::Assign, Action::Refuse, Action::MarkDuplicate]
    );

    let (n, failed) = requests::bulk(&db, &t.sec, &[sub.id], Action::Accept, ActInput::default()).await.unwrap();
    assert_eq!((n, failed.len()), (1, 0));
    let assign = ActInput { handler_user_id: Some(t.sec.user_id), ..ActInput::default() };
    requests::act(&db, &t.sec, sub.id, Action::Assign, assign).await.unwrap();
    assert_eq!(requests::my_tasks(&db, &t.sec).await.unwrap().len(), 1);
    requests::act(&db, &t.sec, sub.id, Action::Start, ActInput::default()).await.unwrap();
    let done = ActInput { note: s("已更换门禁电机"), ..ActInput::default() };
    let r = requests::act(&db, &t.sec, sub.id, Action::Resolve, done).await.unwrap();
    assert_eq!(r.state(), RequestState::Resolved);

    let token = requests::revisit_link(&db, &t.sec, sub.id).await.unwrap();
    let view = requests::revisit_target(&db, &token).await.unwrap();
    assert_eq!(view.code, sub.code);
    let end =
        requests::revisit_by_link(&db, &token, FixOutcome::Fixed, Satisfaction::Satisfied, Some("谢谢")).await.unwrap();
    assert_eq!(end, RequestState::Closed);
    // The link works once.
    let again = requests::revisit_by_link(&db, &token, FixOutcome::NotFixed, Satisfaction::Dissatisfied, None).await;
    assert!(
        matches!(again, Err(StoreError::Invalid(ref i)) if i.for_field("token").is_some_and(|m| m.contains("已使用")))
    );
    let (r, public) = requests::public_view(&db, &sub.code).await.unwrap();
    assert_eq!(r.state(), RequestState::Closed);
    assert_eq!(r.satisfaction.as_deref(), Some("satisfied"));
    assert_eq!(public.state_code, "closed");
    let json = serde_json::to_string(&public).unwrap();
    assert!(!json.contains("13912345678") && !json.contains("一支部书记"), "no phones, no staff names: {json}");

    // submit, accept, assign, start, resolve, revisit, close
    let h = requests::history_of(&db, &t.sec, sub.id).await.unwrap();
    let actions: Vec<&str> = h.iter().map(|x| x.action.as_str()).collect();
    assert_eq!(actions, ["submit", "accept", "assign", "start", "resolve", "revisit", "close"]);
    assert_eq!(h[2].actor_user_id, Some(t.sec.user_id));
    assert_eq!((h[6].from_state.as_str(), h[6].to_state.as_str()), ("revisited", "closed"));
    let audits = count(&db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'request' AND entity_id = $1", sub.id).await;
    assert_eq!(audits, 8, "submit, six transitions and the revisit link");
    // History is append-only.
    assert!(db.exec("UPDATE request_history SET note = 'x'", args![]).await.is_err());

    // Staff can still reopen a closed request, with a reason; a phone revisit "not fixed" reopens too.
    let re = ActInput { note: s("居民再次反映"), ..ActInput::default() };
    let r = requests::act(&db, &t.sec, sub.id, Action::Reopen, re).await.unwrap();
    assert_eq!(r.state(), RequestState::Reopened);
    assert_eq!(r.card, "none");
}

async fn supplement_stops_and_resumes_the_clock(db: Db) {
    let t = setup(&db).await;
    let sub = requests::submit(
        &db,
        t.root.id,
        raw("benefit", t.grids[0].id, "申请高龄补贴").validate().unwrap(),
        Source::Staff,
        Some(&t.sec),
        None,
    )
    .await
    .unwrap();
    let a = ActInput { handler_user_id: Some(t.sec.user_id), ..ActInput::default() };
    requests::act(&db, &t.sec, sub.id, Action::Assign, a).await.unwrap();
    // The list of missing materials is required.
    let e = requests::act(&db, &t.sec, sub.id, Action::RequestMaterials, ActInput::default()).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("note").is_some()));
    let m = ActInput {
        note: s("请补充：户口簿复印件、银行卡复印件、近期照片"), ..ActInput::default()
    };
    let r = requests::act(&db, &t.sec, sub.id, Action::RequestMaterials, m.clone()).await.unwrap();
    assert_eq!(r.state(), RequestState::AwaitingMaterials);
    let today = shanghai_date(Utc::now());
    let cal = HolidayCalendar::shipped();
    assert_eq!(r.paused_on, Some(today));
    let left = r.days_left.unwrap();
    assert_eq!(left, cal.working_days_between(today, sub.due_date).max(0));
    // Pretend the clock stopped three calendar days ago; it resumes today with the days left.
    db.exec("UPDATE requests SET paused_on = $1 WHERE id = $2", args![today - Duration::days(3), sub.id])
        .await
        .unwrap();
    let r = requests::act(&db, &t.sec, sub.id, Action::SupplyMaterials, ActInput::default()).await.unwrap();
    assert_eq!(r.state(), RequestState::InProgress);
    assert_eq!(r.due_date, resume_due(cal, today, left));
    assert!(r.paused_on.is_none());
    // The notice goes out once only.
    let e = requests::act(&db, &t.sec, sub.id, Action::RequestMaterials, m).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("action").is_some_and(|m| m.contains("一次"))));
    let (_, public) = requests::public_view(&db, &sub.code).await.unwrap();
    assert!(public.notes.iter().any(|n| n.note.as_deref().is_some_and(|x| x.contains("户口簿"))));

    // An expired revisit link changes nothing; a phone revisit "not fixed" reopens with the reason.
    requests::act(&db, &t.sec, sub.id, Action::Resolve, ActInput::default()).await.unwrap();
    let token = requests::revisit_link(&db, &t.sec, sub.id).await.unwrap();
    db.exec(
        "UPDATE revisit_links SET expires_at = $1 WHERE request_id = $2",
        args![Utc::now() - Duration::hours(1), sub.id],
    )
    .await
    .unwrap();
    let e = requests::revisit_by_link(&db, &token, FixOutcome::Fixed, Satisfaction::Satisfied, None).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("token").is_some_and(|m| m.contains("过期"))));
    assert_eq!(requests::get(&db, &t.sec, sub.id).await.unwrap().state(), RequestState::Resolved);
    let phone = ActInput {
        outcome: Some(FixOutcome::NotFixed),
        satisfaction: Some(Satisfaction::Dissatisfied),
        note: s("补贴仍未到账"),
        acting_for: s("申请人本人（电话）"),
        ..ActInput::default()
    };
    let r = requests::act(&db, &t.sec, sub.id, Action::Revisit, phone).await.unwrap();
    assert_eq!(r.state(), RequestState::Reopened);
    assert_eq!(r.revisit_comment.as_deref(), Some("补贴仍未到账"));
    let h = requests::history_of(&db, &t.sec, sub.id).await.unwrap();
    let last = h.last().unwrap();
    assert_eq!((last.action.as_str(), last.to_state.as_str()), ("revisit", "reopened"));
    assert_eq!(last.acting_for.as_deref(), Some("申请人本人（电话）"));
}

async fn bad_input_and_scope_change_nothing(db: Db) {
    let t = setup(&db).await;
    let before = count(&db, "SELECT COUNT(*) FROM requests WHERE tenant_id = $1", t.root.id).await;
    let e = requests::submit(
        &db,
        t.root.id,
        raw("nope", t.grids[0].id, "x").validate().unwrap(),
        Source::Resident,
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("category").is_some()));
    let no_place = RawRequest { grid_id: None, ..raw("facility", 0, "路灯") };
    assert!(no_place.validate().unwrap_err().for_field("address").is_some());
    let pdf = b"%PDF-1.4 ...";
    let e = requests::submit(
        &db,
        t.root.id,
        raw("facility", t.grids[0].id, "路灯").validate().unwrap(),
        Source::Resident,
        None,
        Some(Photo { name: "x.pdf", bytes: pdf }),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("photo").is_some()));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM requests WHERE tenant_id = $1", t.root.id).await, before);

    // Routed to B3 (grid 3): B1's secretary neither lists nor reads it.
    let other = requests::submit(
        &db,
        t.root.id,
        raw("neighbour", t.grids[2].id, "楼上噪音").validate().unwrap(),
        Source::Resident,
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(requests::list(&db, &t.sec, &Filter::default(), Page::first(50)).await.unwrap().total, 0);
    assert!(matches!(requests::get(&db, &t.sec, other.id).await, Err(StoreError::NotFound)));
    assert!(requests::act(&db, &t.sec, other.id, Action::Accept, ActInput::default()).await.is_err());
    // Not allowed from the current state: nothing written.
    let hist = count(&db, "SELECT COUNT(*) FROM request_history WHERE request_id = $1", other.id).await;
    let e = requests::act(&db, &t.admin, other.id, Action::Resolve, ActInput::default()).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("action").is_some()));
    let e = requests::act(&db, &t.admin, other.id, Action::Refuse, ActInput::default()).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("note").is_some()));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM request_history WHERE request_id = $1", other.id).await, hist);
    // Refusal with a reason the resident sees.
    let why = ActInput { note: s("属于物业合同纠纷，请向物业公司反映"), ..ActInput::default() };
    requests::act(&db, &t.admin, other.id, Action::Refuse, why).await.unwrap();
    let (_, v) = requests::public_view(&db, &other.code).await.unwrap();
    assert_eq!(v.refusal_reason.as_deref(), Some("属于物业合同纠纷，请向物业公司反映"));
    // Duplicate needs the other request's code.
    let third = requests::submit(
        &db,
        t.root.id,
        raw("neighbour", t.grids[2].id, "楼上噪音又来了").validate().unwrap(),
        Source::Resident,
        None,
        None,
    )
    .await
    .unwrap();
    let dup = ActInput { duplicate_of: Some(other.code.clone()), ..ActInput::default() };
    let r = requests::act(&db, &t.admin, third.id, Action::MarkDuplicate, dup).await.unwrap();
    assert_eq!(r.duplicate_of, Some(other.id));
    // Rate limit per address.
    for _ in 0..requests::SUBMITS_PER_WINDOW {
        requests::rate_limit(&db, "203.0.113.9").await.unwrap();
    }
    assert!(matches!(requests::rate_limit(&db, "203.0.113.9").await, Err(StoreError::RateLimited(_))));
    requests::rate_limit(&db, "203.0.113.10").await.unwrap();
}

async fn escalation_is_idempotent_across_processes(db: Db) {
    let t = setup(&db).await;
    let sub = requests::submit(
        &db,
        t.root.id,
        raw("facility", t.grids[0].id, "路灯不亮").validate().unwrap(),
        Source::Resident,
        None,
        None,
    )
    .await
    .unwrap();
    let today = shanghai_date(Utc::now());
    // Three processes run the job at once on a request a month overdue.
    db.exec("UPDATE requests SET due_date = $1 WHERE id = $2", args![today - Duration::days(30), sub.id])
        .await
        .unwrap();
    let now = Utc::now();
    let (a, b, c) = tokio::join!(escalate::run(&db, now), escalate::run(&db, now), escalate::run(&db, now));
    let total = a.unwrap().red + b.unwrap().red + c.unwrap().red;
    assert_eq!(total, 1);
    let cards =
        count(&db, "SELECT COUNT(*) FROM request_history WHERE request_id = $1 AND action = 'card'", sub.id).await;
    assert_eq!(cards, 1);
    let r = requests::get(&db, &t.sec, sub.id).await.unwrap();
    assert_eq!(r.card, "red");
    assert_eq!(r.escalated_org_id, Some(t.c1.id), "escalated to the level above B1");
    assert_eq!(escalate::run(&db, now).await.unwrap(), escalate::Escalated::default());
    let st = requests::stats(&db, &t.admin).await.unwrap();
    assert_eq!((st.total, st.overdue, st.red), (1, 1, 1));
    // Overdue filter.
    let f = Filter { overdue: s("1"), ..Filter::default() };
    assert_eq!(requests::list(&db, &t.sec, &f, Page::first(10)).await.unwrap().total, 1);
}

async fn wishes_are_claimed_once(db: Db) {
    let t = setup(&db).await;
    auth::add_user(&db, "member1", "党员甲", PASSWORD, Role::Member, "B1").await.unwrap();
    auth::add_user(&db, "member2", "党员乙", PASSWORD, Role::Member, "C1").await.unwrap();
    let (m1, _) = sign_in(&db, "member1").await;
    let (m2, _) = sign_in(&db, "member2").await;
    let sub = requests::submit(
        &db,
        t.root.id,
        raw("wish", t.grids[0].id, "孙子想要一套课外读物").validate().unwrap(),
        Source::Resident,
        None,
        None,
    )
    .await
    .unwrap();
    // Unverified wishes are not on the board and cannot be claimed.
    assert!(wishes::board(&db, &m1).await.unwrap().is_empty());
    assert!(wishes::claim(&db, &m1, sub.id).await.is_err());
    wishes::verify(&db, &t.sec, sub.id).await.unwrap();
    let board = wishes::board(&db, &m1).await.unwrap();
    assert_eq!(board.len(), 1);
    assert_eq!(board[0].name, "王**");
    let r = wishes::claim(&db, &m1, sub.id).await.unwrap();
    assert_eq!(r.wish_claimed_by, Some(m1.user_id));
    let e = wishes::claim(&db, &m2, sub.id).await.unwrap_err();
    assert!(
        matches!(e, StoreError::Invalid(ref i) if i.for_field("wish").is_some_and(|m| m.contains("已被"))),
        "{e:?}"
    );
    wishes::contacted(&db, &m1, sub.id).await.unwrap();
    let gif = b"GIF89a......";
    wishes::complete(&db, &m1, sub.id, Some(Photo { name: "done.gif", bytes: gif })).await.unwrap();
    let r = requests::get(&db, &t.sec, sub.id).await.unwrap();
    assert_eq!(r.state(), RequestState::Resolved);
    assert_eq!(r.wish_stage.as_deref(), Some("done"));
    // An unclaimed one rolls into the next round.
    let w2 = requests::submit(
        &db,
        t.root.id,
        raw("wish", t.grids[0].id, "想学智能手机").validate().unwrap(),
        Source::Resident,
        None,
        None,
    )
    .await
    .unwrap();
    wishes::verify(&db, &m1, w2.id).await.unwrap();
    assert_eq!(
        requests::get(&db, &t.sec, w2.id).await.unwrap().state(),
        RequestState::Accepted,
        "verified by a member"
    );
    assert_eq!(wishes::next_round(&db, &t.sec).await.unwrap(), 1);
    assert_eq!(requests::get(&db, &t.sec, w2.id).await.unwrap().wish_round, Some(2));
}

async fn holiday_calendar_is_editable(db: Db) {
    let t = setup(&db).await;
    let shipped = calendar::load(&db, t.root.id).await.unwrap();
    assert!(shipped.covers(2026) && !shipped.covers(2031));
    let (rows, own) = calendar::list(&db, &t.admin).await.unwrap();
    assert!(!own && !rows.is_empty());
    // A Monday is not a make-up working day.
    let e = calendar::add(&db, &t.admin, "2031-01-06", "work", "调休").await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("date").is_some()));
    calendar::add(&db, &t.admin, "2031-01-01", "off", "元旦").await.unwrap();
    let e = calendar::add(&db, &t.admin, "2031-01-01", "off", "元旦").await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("date").is_some()));
    let cal = calendar::load(&db, t.root.id).await.unwrap();
    assert!(cal.covers(2031) && cal.covers(2026), "shipped days were copied in");
    assert!(!cal.is_working_day(date(2031, 1, 1)));
    calendar::remove(&db, &t.admin, date(2031, 1, 1)).await.unwrap();
    assert!(calendar::load(&db, t.root.id).await.unwrap().is_working_day(date(2031, 1, 1)));
    // Only the tenant's root administrators edit it.
    assert!(matches!(calendar::add(&db, &t.sec, "2031-01-02", "off", "x").await, Err(StoreError::Forbidden)));
}

async fn demo_history_and_tenant_deletion(db: Db) {
    let opts = DemoOptions { households: 40, seed: 7, admin_password: None, replace: false };
    let s = generate(&db, &opts, &|_, _| {}).await.unwrap();
    let states: Vec<(String,)> =
        db.all("SELECT DISTINCT state FROM requests WHERE tenant_id = $1", args![s.tenant_id]).await.unwrap();
    assert!(states.len() >= 8, "demo requests in many states: {states:?}");
    let carded =
        count(&db, "SELECT COUNT(*) FROM requests WHERE tenant_id = $1 AND card IN ('yellow', 'red')", s.tenant_id)
            .await;
    assert!(carded > 0, "some demo requests are overdue with cards");
    let revisited =
        count(&db, "SELECT COUNT(*) FROM requests WHERE tenant_id = $1 AND satisfaction IS NOT NULL", s.tenant_id)
            .await;
    assert!(revisited > 0);
    assert!(count(&db, "SELECT COUNT(*) FROM holidays WHERE tenant_id = $1", s.tenant_id).await > 0);
    delete_tenant(&db, s.tenant_id).await.unwrap();
    for t in ["requests", "request_history", "request_categories", "holidays"] {
        assert_eq!(count(&db, &format!("SELECT COUNT(*) FROM {t} WHERE tenant_id = $1"), s.tenant_id).await, 0, "{t}");
    }
}

async fn members_claim_once_and_open311_keys(db: Db) {
    let t = setup(&db).await;
    auth::add_user(&db, "member1", "党员甲", PASSWORD, Role::Member, "B1").await.unwrap();
    auth::add_user(&db, "member2", "党员乙", PASSWORD, Role::Member, "B1").await.unwrap();
    auth::add_user(&db, "member3", "党员丙", PASSWORD, Role::Member, "B2").await.unwrap();
    let (m1, _) = sign_in(&db, "member1").await;
    let (m2, _) = sign_in(&db, "member2").await;
    let (m3, _) = sign_in(&db, "member3").await;
    let sub = requests::submit(
        &db,
        t.root.id,
        raw("environment", t.grids[0].id, "楼道堆放杂物").validate().unwrap(),
        Source::Resident,
        None,
        None,
    )
    .await
    .unwrap();
    // Not open for claiming before it is accepted, nor outside the member's organisations.
    assert!(requests::claimable(&db, &m1).await.unwrap().is_empty());
    requests::act(&db, &t.sec, sub.id, Action::Accept, ActInput::default()).await.unwrap();
    assert_eq!(requests::claimable(&db, &m1).await.unwrap().len(), 1);
    assert!(requests::claimable(&db, &m3).await.unwrap().is_empty());
    assert!(matches!(
        requests::act(&db, &m3, sub.id, Action::Claim, ActInput::default()).await,
        Err(StoreError::NotFound)
    ));
    // Two members claim at once: exactly one gets it.
    let (a, b) = tokio::join!(
        requests::act(&db, &m1, sub.id, Action::Claim, ActInput::default()),
        requests::act(&db, &m2, sub.id, Action::Claim, ActInput::default())
    );
    assert!(a.is_ok() != b.is_ok(), "one claim wins: {a:?} / {b:?}");
    let winner = if a.is_ok() { &m1 } else { &m2 };
    let r = requests::get(&db, winner, sub.id).await.unwrap();
    assert_eq!(r.handler_user_id, Some(winner.user_id));
    assert_eq!(r.state(), RequestState::Assigned);
    assert_eq!(requests::my_tasks(&db, winner).await.unwrap().len(), 1);
    assert!(requests::claimable(&db, &m1).await.unwrap().is_empty());
    let claims =
        count(&db, "SELECT COUNT(*) FROM request_history WHERE request_id = $1 AND action = 'claim'", sub.id).await;
    assert_eq!(claims, 1);
    // Reopened with its handler kept: not open for claiming (the rule in transition()).
    requests::act(&db, winner, sub.id, Action::Resolve, ActInput { note: s("已清理"), ..ActInput::default() })
        .await
        .unwrap();
    requests::act(&db, &t.sec, sub.id, Action::Reopen, ActInput { note: s("又堆上了"), ..ActInput::default() })
        .await
        .unwrap();
    assert!(requests::claimable(&db, &m1).await.unwrap().is_empty());
    let e = requests::act(&db, &t.sec, sub.id, Action::Claim, ActInput::default()).await.unwrap_err();
    match e {
        StoreError::Invalid(inv) => assert_eq!(inv.first().unwrap().code, "claimed"),
        e => panic!("{e:?}"),
    }

    // Open311 keys: open while none; then only a live key.
    let k = requests::keys::check(&db, t.root.id, None).await;
    assert!(k.is_ok());
    assert!(requests::keys::create(&db, &t.sec, "x").await.is_err(), "a branch secretary cannot issue keys");
    let key = requests::keys::create(&db, &t.admin, "12345热线").await.unwrap();
    assert!(matches!(requests::keys::check(&db, t.root.id, None).await, Err(StoreError::Denied(_))));
    assert!(matches!(requests::keys::check(&db, t.root.id, Some("nope")).await, Err(StoreError::Denied(_))));
    requests::keys::check(&db, t.root.id, Some(&key)).await.unwrap();
    let keys = requests::keys::list(&db, &t.admin).await.unwrap();
    requests::keys::revoke(&db, &t.admin, keys[0].id).await.unwrap();
    assert!(matches!(requests::keys::revoke(&db, &t.admin, keys[0].id).await, Err(StoreError::NotFound)));
    requests::keys::check(&db, t.root.id, Some("anything")).await.unwrap();
    let audited = db
        .int("SELECT COUNT(*) FROM audit_log WHERE action = 'open311_key'", redcell_store::Args::new())
        .await
        .unwrap();
    assert_eq!(audited, 2);
}
