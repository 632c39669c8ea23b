//! Stories of resident requests, errands and micro-wishes, each run on SQLite
//! and (when `REDCELL_TEST_PG` is set) on PostgreSQL:
//! `cargo test -p redcell-store --test requests`.

use chrono::{Duration, Utc};
use redcell_domain::Role;
use redcell_domain::calendar::{HolidayCalendar, shanghai_date};
use redcell_domain::requests::{Action, FixOutcome, RawRequest, RequestState, Satisfaction, resume_due};
use redcell_store::demo::{DemoOptions, delete_tenant, generate};
use redcell_store::registry::Page;
use redcell_store::requests::{self, ActInput, Filter, Photo, Source, escalate, wishes};
use redcell_store::{Db, StoreError, args, auth, calendar};
use redcell_testkit::store::*;

/// A resident's request in B1's grid, submitted on the public page.
async fn in_b1(db: &Db, t: &Tenant, text: &str) -> requests::Submitted {
    let n = raw("facility", t.grids[0].id, text).validate().unwrap();
    requests::submit(db, t.root.id.get(), n, Source::Resident, None, None).await.unwrap()
}

/// An account holding `role` on the organisation `code`, signed in.
async fn account(db: &Db, username: &str, display: &str, role: Role, code: &str) -> redcell_store::Principal {
    auth::add_user(db, username, display, PASSWORD, role, code).await.unwrap();
    sign_in(db, username).await.0
}

stories!(
    request_walks_from_submission_to_close,
    supplement_stops_and_resumes_the_clock,
    bad_input_and_scope_change_nothing,
    escalation_is_idempotent_across_processes,
    wishes_are_claimed_once,
    holiday_calendar_is_editable,
    demo_history_and_tenant_deletion,
    members_claim_once_and_open311_keys,
    assignment_needs_an_account_that_handles_the_request,
    duplicates_name_only_visible_requests,
    staff_registration_checks_every_id,
    unknown_codes_are_refused_not_defaulted,
    wishes_are_claimed_by_members_only,
    guessing_follow_codes_is_refused,
);

/// Follow codes are not a sequence to walk, and an address that tries too
/// many unknown codes is refused every lookup for a while; a resident
/// mistyping their own code a few times is not.
async fn guessing_follow_codes_is_refused(db: Db) {
    let t = setup(&db).await;
    let a = in_b1(&db, &t, "楼道灯不亮").await;
    let b = in_b1(&db, &t, "单元门坏了").await;
    assert_ne!(a.code[..6], b.code[..6], "codes are not sequential");
    let ip = Some("203.0.113.9");
    for _ in 0..3 {
        assert!(matches!(requests::public_lookup(&db, "ZZZZ2222", ip).await, Err(StoreError::NotFound)));
    }
    assert_eq!(requests::public_lookup(&db, &a.code, ip).await.unwrap().1.code, a.code);
    for _ in 3..requests::LOOKUP_MISSES_PER_WINDOW {
        assert!(matches!(requests::public_lookup(&db, "ZZZZ2222", ip).await, Err(StoreError::NotFound)));
    }
    let e = requests::public_lookup(&db, &a.code, ip).await.unwrap_err();
    assert!(matches!(e, StoreError::RateLimited(s) if s == requests::LOOKUP_WINDOW_MINUTES * 60), "{e:?}");
    // Another address is not held back.
    assert_eq!(requests::public_lookup(&db, &b.code, Some("198.51.100.7")).await.unwrap().1.code, b.code);
}

async fn setup(db: &Db) -> Tenant {
    let t = tenant(db).await;
    let mut tx = db.begin().await.unwrap();
    requests::seed::default_categories(&mut tx, t.root.id.get()).await.unwrap();
    tx.commit().await.unwrap();
    t
}

fn raw(category: &str, grid: impl std::fmt::Display, text: &str) -> RawRequest {
    RawRequest {
        category: s(category),
        description: s(text),
        grid_id: s(grid),
        contact_name: s("王秀英"),
        contact_phone: s("13912345678"),
        ..RawRequest::default()
    }
}

async fn count(db: &Db, sql: &str, id: impl Into<redcell_store::Arg>) -> i64 {
    db.int(sql, redcell_store::Args(vec![id.into()])).await.unwrap()
}

async fn request_walks_from_submission_to_close(db: Db) {
    let t = setup(&db).await;
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    let sub = requests::submit(
        &db,
        t.root.id.get(),
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

    let out = requests::bulk(&db, &t.sec, &[sub.id], Action::Accept, ActInput::default()).await.unwrap();
    assert_eq!((out.ok, out.failed.len(), out.refused), (1, 0, false));
    let assign = ActInput { handler_user_id: Some(t.sec.user()), ..ActInput::default() };
    requests::act(&db, &t.sec, sub.id, Action::Assign, assign).await.unwrap();
    assert_eq!(requests::my_tasks(&db, &t.sec).await.unwrap().len(), 1);
    requests::act(&db, &t.sec, sub.id, Action::Start, ActInput::default()).await.unwrap();
    let done = ActInput { note: s("已更换门禁电机"), ..ActInput::default() };
    let r = requests::act(&db, &t.sec, sub.id, Action::Resolve, done).await.unwrap();
    assert_eq!(r.state(), RequestState::Resolved);

    let token = requests::revisit_link(&db, &t.sec, sub.id).await.unwrap();
    let view = requests::revisit_target(&db, &token).await.unwrap();
    assert_eq!(view.code, sub.code);
    let end = requests::revisit_by_link(&db, &token, FixOutcome::Fixed, Satisfaction::Satisfied, Some("谢谢"), &[])
        .await
        .unwrap();
    assert_eq!(end, RequestState::Closed);
    // The link works once.
    let again =
        requests::revisit_by_link(&db, &token, FixOutcome::NotFixed, Satisfaction::Dissatisfied, None, &[]).await;
    assert!(
        matches!(again, Err(StoreError::Invalid(ref i)) if i.for_field("token").is_some_and(|m| m.contains("已使用")))
    );
    let (r, public) = requests::public_view(&db, &sub.code).await.unwrap();
    assert_eq!(r.state(), RequestState::Closed);
    assert_eq!(r.satisfaction.map(|x| x.code()), Some("satisfied"));
    assert_eq!(public.state_code, "closed");
    let json = serde_json::to_string(&public).unwrap();
    assert!(!json.contains("13912345678") && !json.contains("一支部书记"), "no phones, no staff names: {json}");

    // submit, accept, assign, start, resolve, revisit, close
    let h = requests::history_of(&db, &t.sec, sub.id).await.unwrap();
    let actions: Vec<&str> = h.iter().map(|x| x.action.as_str()).collect();
    assert_eq!(actions, ["submit", "accept", "assign", "start", "resolve", "revisit", "close"]);
    assert_eq!(h[2].actor_user_id, Some(t.sec.user()));
    assert_eq!((h[6].from_state.code(), h[6].to_state.code()), ("revisited", "closed"));
    let audits = count(&db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'request' AND entity_id = $1", sub.id).await;
    assert_eq!(audits, 8, "submit, six transitions and the revisit link");
    // History is append-only.
    assert!(db.exec("UPDATE request_history SET note = 'x'", args![]).await.is_err());

    // Staff can still reopen a closed request, with a reason; a phone revisit "not fixed" reopens too.
    let re = ActInput { note: s("居民再次反映"), ..ActInput::default() };
    let r = requests::act(&db, &t.sec, sub.id, Action::Reopen, re).await.unwrap();
    assert_eq!(r.state(), RequestState::Reopened);
    assert_eq!(r.card.code(), "none");
}

async fn supplement_stops_and_resumes_the_clock(db: Db) {
    let t = setup(&db).await;
    let sub = requests::submit(
        &db,
        t.root.id.get(),
        raw("benefit", t.grids[0].id, "申请高龄补贴").validate().unwrap(),
        Source::Staff,
        Some(&t.sec),
        None,
    )
    .await
    .unwrap();
    let a = ActInput { handler_user_id: Some(t.sec.user()), ..ActInput::default() };
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

    // Resolving needs a result the resident can read: refused without one, nothing written.
    let e = requests::act(&db, &t.sec, sub.id, Action::Resolve, ActInput::default()).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("note").is_some_and(|m| m.contains("办理结果"))));
    assert_eq!(requests::get(&db, &t.sec, sub.id).await.unwrap().state(), RequestState::InProgress);
    // An expired revisit link changes nothing; a phone revisit "not fixed" reopens with the reason.
    let done = ActInput { note: s("已提交补贴申请"), ..ActInput::default() };
    requests::act(&db, &t.sec, sub.id, Action::Resolve, done).await.unwrap();
    let token = requests::revisit_link(&db, &t.sec, sub.id).await.unwrap();
    db.exec(
        "UPDATE revisit_links SET expires_at = $1 WHERE request_id = $2",
        args![Utc::now() - Duration::hours(1), sub.id],
    )
    .await
    .unwrap();
    let e = requests::revisit_by_link(&db, &token, FixOutcome::Fixed, Satisfaction::Satisfied, None, &[])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("token").is_some_and(|m| m.contains("过期"))));
    assert_eq!(requests::get(&db, &t.sec, sub.id).await.unwrap().state(), RequestState::Resolved);
    let phone = ActInput {
        outcome: Some(FixOutcome::NotFixed),
        satisfaction: Some(Satisfaction::Dissatisfied),
        note: s("补贴仍未到账"),
        acting_for: s("申请人本人（电话）"),
        ..ActInput::default()
    };
    // The handler does not record the phone revisit of their own work; a colleague does.
    let r = requests::get(&db, &t.sec, sub.id).await.unwrap();
    assert!(!requests::actions_for(&t.sec, &r).contains(&Action::Revisit), "not offered to the handler");
    let e = requests::act(&db, &t.sec, sub.id, Action::Revisit, phone.clone()).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("action").is_some_and(|m| m.contains("承办人"))));
    assert_eq!(requests::get(&db, &t.sec, sub.id).await.unwrap().state(), RequestState::Resolved);
    let r = requests::act(&db, &t.admin, sub.id, Action::Revisit, phone).await.unwrap();
    assert_eq!(r.state(), RequestState::Reopened);
    assert_eq!(r.revisit_comment.as_deref(), Some("补贴仍未到账"));
    let h = requests::history_of(&db, &t.sec, sub.id).await.unwrap();
    let last = h.last().unwrap();
    assert_eq!((last.action.as_str(), last.to_state.code()), ("revisit", "reopened"));
    assert_eq!(last.acting_for.as_deref(), Some("申请人本人（电话）"));
}

async fn bad_input_and_scope_change_nothing(db: Db) {
    let t = setup(&db).await;
    let before = count(&db, "SELECT COUNT(*) FROM requests WHERE tenant_id = $1", t.root.id).await;
    let e = requests::submit(
        &db,
        t.root.id.get(),
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
        t.root.id.get(),
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
        t.root.id.get(),
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
        t.root.id.get(),
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
        t.root.id.get(),
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
    assert_eq!(r.card.code(), "red");
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
        t.root.id.get(),
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
    assert_eq!(r.wish_claimed_by, Some(m1.user()));
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
    assert_eq!(r.wish_stage.map(|x| x.code()), Some("done"));
    // An unclaimed one rolls into the next round.
    let w2 = requests::submit(
        &db,
        t.root.id.get(),
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
    let shipped = calendar::load(&db, t.root.id.get()).await.unwrap();
    assert!(shipped.covers(2026) && !shipped.covers(2031));
    let (rows, own) = calendar::list(&db, &t.admin).await.unwrap();
    assert!(!own && !rows.is_empty());
    // A Monday is not a make-up working day.
    let e = calendar::add(&db, &t.admin, "2031-01-06", "work", "调休").await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("date").is_some()));
    calendar::add(&db, &t.admin, "2031-01-01", "off", "元旦").await.unwrap();
    let e = calendar::add(&db, &t.admin, "2031-01-01", "off", "元旦").await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("date").is_some()));
    let cal = calendar::load(&db, t.root.id.get()).await.unwrap();
    assert!(cal.covers(2031) && cal.covers(2026), "shipped days were copied in");
    assert!(!cal.is_working_day(date(2031, 1, 1)));
    calendar::remove(&db, &t.admin, date(2031, 1, 1)).await.unwrap();
    assert!(calendar::load(&db, t.root.id.get()).await.unwrap().is_working_day(date(2031, 1, 1)));
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
        t.root.id.get(),
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
    assert_eq!(r.handler_user_id, Some(winner.user()));
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
    let k = requests::keys::check(&db, t.root.id.get(), None).await;
    assert!(k.is_ok());
    assert!(requests::keys::create(&db, &t.sec, "x").await.is_err(), "a branch secretary cannot issue keys");
    let key = requests::keys::create(&db, &t.admin, "12345热线").await.unwrap();
    assert!(matches!(requests::keys::check(&db, t.root.id.get(), None).await, Err(StoreError::Denied(_))));
    assert!(matches!(requests::keys::check(&db, t.root.id.get(), Some("nope")).await, Err(StoreError::Denied(_))));
    requests::keys::check(&db, t.root.id.get(), Some(&key)).await.unwrap();
    let keys = requests::keys::list(&db, &t.admin).await.unwrap();
    requests::keys::revoke(&db, &t.admin, keys[0].id).await.unwrap();
    assert!(matches!(requests::keys::revoke(&db, &t.admin, keys[0].id).await, Err(StoreError::NotFound)));
    requests::keys::check(&db, t.root.id.get(), Some("anything")).await.unwrap();
    let audited = db
        .int("SELECT COUNT(*) FROM audit_log WHERE action = 'open311_key'", redcell_store::Args::new())
        .await
        .unwrap();
    assert_eq!(audited, 2);
}

/// Hole 1 of issue 13: an assignment accepted any account id. The handler
/// must hold `HandleRequests` over the request's organisation; the picker
/// offers exactly those; a refusal names no account and writes nothing.
async fn assignment_needs_an_account_that_handles_the_request(db: Db) {
    let t = setup(&db).await;
    let sub = in_b1(&db, &t, "路灯不亮").await;
    let auditor = account(&db, "audit1", "审计员甲", Role::Auditor, "ST").await;
    let sec_b3 = account(&db, "sec_b3", "三支部书记", Role::Secretary, "B3").await;
    let member = account(&db, "member1", "党员甲", Role::Member, "B1").await;
    let gw = account(&db, "gw_b1", "一支部网格员", Role::GridWorker, "B1").await;
    let r = requests::get(&db, &t.sec, sub.id).await.unwrap();
    let offered: Vec<_> = requests::handlers_for(&db, &r).await.unwrap().into_iter().map(|(id, _)| id).collect();
    for ok in [&t.sec, &t.admin, &gw] {
        assert!(offered.contains(&ok.user()), "{} is offered", ok.username);
    }
    for not in [&auditor, &sec_b3, &member] {
        assert!(!offered.contains(&not.user()), "{} is not offered", not.username);
    }
    assert_eq!(offered.len(), 3, "exactly those who handle B1: {offered:?}");
    let hist = count(&db, "SELECT COUNT(*) FROM request_history WHERE request_id = $1", sub.id).await;
    for not in [&auditor, &sec_b3, &member] {
        let assign = ActInput { handler_user_id: Some(not.user()), ..ActInput::default() };
        match requests::act(&db, &t.sec, sub.id, Action::Assign, assign).await {
            Err(StoreError::Denied(f)) => {
                assert_eq!(f.field, "handler_user_id");
                assert!(!f.message.contains(&not.display_name), "the refusal names no account: {}", f.message);
            }
            other => panic!("assigning to {} must be refused, got {other:?}", not.username),
        }
    }
    // An account id that does not exist is refused the same way.
    let ghost = ActInput { handler_user_id: Some(redcell_domain::UserId::new(999_999)), ..ActInput::default() };
    let e = requests::act(&db, &t.sec, sub.id, Action::Assign, ghost).await.unwrap_err();
    assert!(matches!(e, StoreError::Denied(ref f) if f.field == "handler_user_id"), "{e:?}");
    let r = requests::get(&db, &t.sec, sub.id).await.unwrap();
    assert_eq!((r.state(), r.handler_user_id), (RequestState::Submitted, None), "nothing written");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM request_history WHERE request_id = $1", sub.id).await, hist);
    // Bulk assignment: the same rule, each refusal named and flagged.
    let bulk_offer: Vec<_> =
        requests::bulk_handlers(&db, &t.sec).await.unwrap().into_iter().map(|(id, _)| id).collect();
    assert!(bulk_offer.contains(&gw.user()) && !bulk_offer.contains(&auditor.user()));
    let to_auditor = ActInput { handler_user_id: Some(auditor.user()), ..ActInput::default() };
    let out = requests::bulk(&db, &t.sec, &[sub.id], Action::Assign, to_auditor).await.unwrap();
    assert_eq!((out.ok, out.failed.len(), out.refused), (0, 1, true));
    assert!(!out.failed[0].1.contains("审计员甲"));
    // The auditor reads the request but cannot act on it.
    assert!(requests::actions_for(&auditor, &requests::get(&db, &auditor, sub.id).await.unwrap()).is_empty());
    // Assigning to the grid worker works; they may then start it.
    let assign = ActInput { handler_user_id: Some(gw.user()), ..ActInput::default() };
    let r = requests::act(&db, &t.sec, sub.id, Action::Assign, assign).await.unwrap();
    assert_eq!(r.handler_user_id, Some(gw.user()));
    requests::act(&db, &gw, sub.id, Action::Start, ActInput::default()).await.unwrap();
    // A handler stored before this rule (here written directly) gains nothing
    // from it: without the capability over the request it may not act.
    let other = in_b1(&db, &t, "井盖松动").await;
    db.exec(
        "UPDATE requests SET handler_user_id = $1, state = 'assigned' WHERE id = $2",
        args![auditor.user(), other.id],
    )
    .await
    .unwrap();
    let e = requests::act(&db, &auditor, other.id, Action::Start, ActInput::default()).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden), "{e:?}");
    db.exec("UPDATE requests SET handler_user_id = $1 WHERE id = $2", args![sec_b3.user(), other.id]).await.unwrap();
    assert!(matches!(requests::get(&db, &sec_b3, other.id).await, Err(StoreError::NotFound)));
    assert!(requests::my_tasks(&db, &sec_b3).await.unwrap().is_empty());
}

/// Hole 3 of issue 13: `mark_duplicate` took any code of the tenant (and
/// answered whether it existed). Only a request in the caller's read scope
/// may be named, and an unseen code reads exactly like a missing one.
async fn duplicates_name_only_visible_requests(db: Db) {
    let t = setup(&db).await;
    let mine = in_b1(&db, &t, "楼道堆物").await;
    let again = in_b1(&db, &t, "楼道堆物，又来了").await;
    let n = raw("neighbour", t.grids[2].id, "楼上噪音").validate().unwrap();
    let far = requests::submit(&db, t.root.id.get(), n, Source::Resident, None, None).await.unwrap();
    let dup = |code: &str| ActInput { duplicate_of: s(code), ..ActInput::default() };
    let foreign = requests::act(&db, &t.sec, again.id, Action::MarkDuplicate, dup(&far.code)).await.unwrap_err();
    let missing = requests::act(&db, &t.sec, again.id, Action::MarkDuplicate, dup("ZZZZ9999")).await.unwrap_err();
    let message = |e: &StoreError| match e {
        StoreError::Invalid(i) => i.for_field("duplicate_of").map(str::to_string),
        _ => None,
    };
    assert!(message(&foreign).is_some(), "{foreign:?}");
    assert_eq!(message(&foreign), message(&missing), "no oracle of codes");
    assert_eq!(requests::get(&db, &t.sec, again.id).await.unwrap().state(), RequestState::Submitted);
    // A member may not mark duplicates: refused on the action, before any code is looked up.
    let member = account(&db, "member1", "党员甲", Role::Member, "B1").await;
    let open = in_b1(&db, &t, "楼道堆物，第三次").await;
    requests::act(&db, &t.sec, open.id, Action::Accept, ActInput::default()).await.unwrap();
    let e = requests::act(&db, &member, open.id, Action::MarkDuplicate, dup(&far.code)).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("action").is_some()), "{e:?}");
    let r = requests::act(&db, &t.sec, again.id, Action::MarkDuplicate, dup(&mine.code)).await.unwrap();
    assert_eq!((r.state(), r.duplicate_of), (RequestState::Duplicate, Some(mine.id)));
    // The admin sees both branches and may name the other one.
    let third = in_b1(&db, &t, "楼道堆物三").await;
    let r = requests::act(&db, &t.admin, third.id, Action::MarkDuplicate, dup(&far.code.to_lowercase())).await.unwrap();
    assert_eq!(r.duplicate_of, Some(far.id));
}

/// Staff registration: the household was checked with the read scope only,
/// the grid and building only within the tenant when the category routes
/// elsewhere. Every id is now checked against the `HandleRequests` scope.
async fn staff_registration_checks_every_id(db: Db) {
    let t = setup(&db).await;
    // A category routed to B1 itself, whatever grid the resident names.
    let cat = redcell_domain::requests::RawCategory {
        code: s("b1-only"),
        name: s("一支部专办"),
        kind: s("opinion"),
        org_id: s(t.b1.id),
        working_days: s(5),
        class: s("joint"),
    };
    requests::create_category(&db, &t.admin, cat.validate().unwrap()).await.unwrap();
    let before = count(&db, "SELECT COUNT(*) FROM requests WHERE tenant_id = $1", t.root.id).await;
    let staff = |n: RawRequest| n.validate().unwrap();
    let submit = |n| requests::submit(&db, t.root.id.get(), n, Source::Staff, Some(&t.sec), None);
    let far_grid = RawRequest { grid_id: s(t.grids[2].id), ..raw("b1-only", t.grids[2].id, "x") };
    assert_refused_field(submit(staff(far_grid)).await, "grid_id");
    let far_building =
        RawRequest { grid_id: None, building_id: s(t.buildings[2].id), ..raw("b1-only", t.grids[0].id, "x") };
    assert_refused_field(submit(staff(far_building)).await, "building_id");
    let far_household =
        RawRequest { grid_id: None, household_id: s(t.households[3].id), ..raw("b1-only", t.grids[0].id, "x") };
    assert_refused_field(submit(staff(far_household)).await, "household_id");
    // An account that reads the whole street (auditor at the root) but
    // handles only B1: reading a household is not handling it.
    let mixed = account(&db, "mixed", "兼任", Role::Secretary, "B1").await;
    let mut tx = db.begin().await.unwrap();
    auth::grant(&mut tx, t.root.id.get(), mixed.user_id, t.root.id.get(), Role::Auditor).await.unwrap();
    tx.commit().await.unwrap();
    let (mixed, _) = sign_in(&db, "mixed").await;
    let read_only =
        RawRequest { grid_id: None, household_id: s(t.households[3].id), ..raw("b1-only", t.grids[0].id, "x") };
    let r = requests::submit(&db, t.root.id.get(), staff(read_only), Source::Staff, Some(&mixed), None).await;
    match r {
        Err(StoreError::Denied(f)) => assert_eq!(f.field, "household_id"),
        other => panic!("a household read but not handled must be refused, got {other:?}"),
    }
    // A category routed outside the caller's scope is refused naming the category.
    let street = redcell_domain::requests::RawCategory {
        code: s("street"),
        name: s("街道专办"),
        kind: s("opinion"),
        org_id: s(t.root.id),
        working_days: s(5),
        class: s("joint"),
    };
    requests::create_category(&db, &t.admin, street.validate().unwrap()).await.unwrap();
    match submit(staff(raw("street", t.grids[0].id, "x"))).await {
        Err(StoreError::Denied(f)) => assert_eq!(f.field, "category"),
        other => panic!("{other:?}"),
    }
    // An auditor registers nothing.
    let auditor = account(&db, "audit1", "审计员", Role::Auditor, "ST").await;
    let r = requests::submit(
        &db,
        t.root.id.get(),
        staff(raw("facility", t.grids[0].id, "x")),
        Source::Staff,
        Some(&auditor),
        None,
    )
    .await;
    assert!(matches!(r, Err(StoreError::Forbidden)), "{r:?}");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM requests WHERE tenant_id = $1", t.root.id).await, before);
    // Inside the scope it works, and the category's organisation takes it.
    let ok = RawRequest { grid_id: None, household_id: s(t.households[0].id), ..raw("b1-only", t.grids[0].id, "x") };
    let sub = submit(staff(ok)).await.unwrap();
    assert_eq!(requests::get(&db, &t.sec, sub.id).await.unwrap().org_id, t.b1.id);
}

#[track_caller]
fn assert_refused_field<T: std::fmt::Debug>(r: Result<T, StoreError>, field: &str) {
    match r {
        Err(StoreError::Denied(f)) if f.field == field => {}
        Err(StoreError::Invalid(i)) if i.0.iter().any(|f| f.field == field && f.code == "not_found") => {}
        other => panic!("expected `{field}` refused, got {other:?}"),
    }
}

/// Filter codes and stored codes: an unknown one is an error, never a
/// silent default (an export by an unknown state exported everything; an
/// unknown stored state read as `submitted`).
async fn unknown_codes_are_refused_not_defaulted(db: Db) {
    let t = setup(&db).await;
    let sub = in_b1(&db, &t, "路灯不亮").await;
    for (f, field) in [
        (Filter { state: s("nope"), ..Filter::default() }, "state"),
        (Filter { kind: s("nope"), ..Filter::default() }, "kind"),
        (Filter { card: s("nope"), ..Filter::default() }, "card"),
    ] {
        let e = requests::list(&db, &t.sec, &f, Page::first(10)).await.unwrap_err();
        assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field(field).is_some()), "{e:?}");
    }
    let open = Filter { state: s("open"), kind: s("hazard"), ..Filter::default() };
    assert_eq!(requests::list(&db, &t.sec, &open, Page::first(10)).await.unwrap().total, 1);
    // A stored state this program does not know: an error, not "submitted".
    db.exec("UPDATE requests SET state = 'lost' WHERE id = $1", args![sub.id]).await.unwrap();
    assert!(matches!(requests::get(&db, &t.sec, sub.id).await, Err(StoreError::Db(_))));
    assert!(requests::stats(&db, &t.sec).await.is_err());
    db.exec("UPDATE requests SET state = 'submitted', card = 'purple' WHERE id = $1", args![sub.id]).await.unwrap();
    db.exec(
        "UPDATE requests SET due_date = $1 WHERE id = $2",
        args![shanghai_date(Utc::now()) - Duration::days(30), sub.id],
    )
    .await
    .unwrap();
    assert!(escalate::run(&db, Utc::now()).await.is_err(), "an unknown card is reported, not skipped forever");
    db.exec("UPDATE requests SET card = 'none' WHERE id = $1", args![sub.id]).await.unwrap();
    assert_eq!(escalate::run(&db, Utc::now()).await.unwrap().red, 1);
    // A wish without a stage is a fault, not "unverified".
    let w = requests::submit(
        &db,
        t.root.id.get(),
        raw("wish", t.grids[0].id, "想要一本字典").validate().unwrap(),
        Source::Resident,
        None,
        None,
    )
    .await
    .unwrap();
    db.exec("UPDATE requests SET wish_stage = NULL WHERE id = $1", args![w.id]).await.unwrap();
    assert!(matches!(wishes::verify(&db, &t.sec, w.id).await, Err(StoreError::Internal(_))));
}

/// Claiming is the members' (`ClaimRequests`): staff publish wishes but do
/// not claim them; the board shows wishes to readers and members, not to
/// residents; only the claimer completes.
async fn wishes_are_claimed_by_members_only(db: Db) {
    let t = setup(&db).await;
    let m1 = account(&db, "member1", "党员甲", Role::Member, "B1").await;
    let m3 = account(&db, "member3", "党员丙", Role::Member, "B3").await;
    let resident = account(&db, "res1", "居民甲", Role::Resident, "B1").await;
    let auditor = account(&db, "audit1", "审计员", Role::Auditor, "ST").await;
    let n = raw("wish", t.grids[0].id, "想学智能手机").validate().unwrap();
    let w = requests::submit(&db, t.root.id.get(), n, Source::Resident, None, None).await.unwrap();
    wishes::verify(&db, &t.sec, w.id).await.unwrap();
    assert_eq!(wishes::board(&db, &m1).await.unwrap().len(), 1);
    assert_eq!(wishes::board(&db, &auditor).await.unwrap().len(), 1);
    assert!(wishes::board(&db, &resident).await.unwrap().is_empty());
    assert!(wishes::board(&db, &m3).await.unwrap().is_empty(), "another branch's member");
    let e = wishes::claim(&db, &t.sec, w.id).await.unwrap_err();
    assert!(matches!(e, StoreError::Denied(ref f) if f.field == "wish"), "{e:?}");
    assert!(matches!(wishes::claim(&db, &m3, w.id).await, Err(StoreError::NotFound)));
    assert!(matches!(wishes::claim(&db, &auditor, w.id).await, Err(StoreError::Forbidden)));
    wishes::claim(&db, &m1, w.id).await.unwrap();
    let e = wishes::complete(&db, &t.sec, w.id, None).await.unwrap_err();
    assert!(matches!(e, StoreError::Denied(ref f) if f.field == "wish"), "only the claimer completes: {e:?}");
    // The photo is written with the completion, or not at all.
    let pdf = b"%PDF-1.4 not a photo";
    let e = wishes::complete(&db, &m1, w.id, Some(Photo { name: "x.pdf", bytes: pdf })).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref i) if i.for_field("photo").is_some()));
    let r = requests::get(&db, &t.sec, w.id).await.unwrap();
    assert_eq!(r.wish_stage.map(|x| x.code()), Some("claimed"));
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];
    let r = wishes::complete(&db, &m1, w.id, Some(Photo { name: "done.png", bytes: &png })).await.unwrap();
    assert_eq!((r.state(), r.wish_stage.map(|x| x.code())), (RequestState::Resolved, Some("done")));
    assert!(r.wish_photo_file_id.is_some());
}
