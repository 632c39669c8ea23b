//! Service teams and the yearly evaluation on SQLite and (with
//! `REDCELL_TEST_PG`) PostgreSQL: a team set up with its terms, members added
//! by staff or joining themselves, hours logged for the team and confirmed;
//! hours for a request confirmed by the resident served through the revisit
//! link (and nothing written when the ids are not theirs); the year's
//! evaluations drafted from the confirmed record only and reviewed once, never
//! by the member; hours for an activity only by those present, on its day;
//! a published wish suggesting members whose skills fit, invited and answering.
//! `cargo test -p redcell-store --test teams`.

use chrono::Datelike;
use redcell_domain::Role;
use redcell_domain::requests::{Action, FixOutcome, RawRequest, Satisfaction};
use redcell_domain::volunteer::{EvaluationId, HoursId, TeamId};
use redcell_store::requests::{self, ActInput, Source};
use redcell_store::teams::{self as tm, RawDraft, RawReview, RawTeam, RawTeamMember};
use redcell_store::volunteer::{self as vol, RawConfirm, RawHours};
use redcell_store::{Db, Principal, args, auth, duties};
use redcell_testkit::store::*;

stories!(
    a_team_serves_and_its_year_is_evaluated,
    the_resident_served_confirms_hours,
    hours_for_an_activity_attended,
    a_published_wish_suggests_members_who_answer
);

async fn account(db: &Db, name: &str, role: Role, code: &str) -> Principal {
    auth::add_user(db, name, name, PASSWORD, role, code).await.unwrap();
    sign_in(db, name).await.0
}

async fn member_account(db: &Db, t: &Tenant, name: &str, role: Role, member: usize, code: &str) -> Principal {
    let p = account(db, name, role, code).await;
    duties::link_user(db, &t.admin, p.user_id, Some(duties::Link::Member(t.members[member].id.get()))).await.unwrap();
    p
}

fn team(org: i64, name: &str) -> RawTeam {
    RawTeam {
        org_id: s(org),
        name: s(name),
        items: s("邻里纠纷调解；物业矛盾协调"),
        schedule: s("每周二下午，社区调解室"),
        rules: s("24 小时内联系当事人"),
    }
}

fn team_hours(team: i64, date: chrono::NaiveDate, start: &str, end: &str) -> RawHours {
    RawHours { team_id: s(team), date: s(date), start: s(start), end: s(end), note: s("调解"), ..RawHours::default() }
}

async fn count(db: &Db, table: &str) -> i64 {
    db.int(&format!("SELECT COUNT(*) FROM {table}"), args![]).await.unwrap()
}

async fn a_team_serves_and_its_year_is_evaluated(db: Db) {
    let t = tenant(&db).await;
    let today = redcell_store::coverage::today();
    let community = account(&db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;

    // Bad terms name every field; a branch secretary does not set up the community's team.
    let bad = RawTeam { name: s(" "), items: None, ..team(t.c1.id.get(), "x") };
    let e = tm::create_team(&db, &community, &bad).await.unwrap_err();
    assert_eq!(fields(&e), vec!["name", "items"]);
    assert_refused(tm::create_team(&db, &t.sec, &team(t.c1.id.get(), "矛盾调解队")).await);
    assert_eq!(count(&db, "service_teams").await, 0);
    let x = tm::create_team(&db, &community, &team(t.c1.id.get(), "矛盾调解队")).await.unwrap();
    let id = TeamId::new(x.id);

    // Staff add a member of their scope; another community's member is refused naming the field.
    let m0 = member_account(&db, &t, "member.0", Role::Member, 0, &t.b1.code).await;
    let added = tm::add_member(&db, &community, id, &RawTeamMember { member_id: s(t.members[0].id) }).await.unwrap();
    assert_eq!(added.member_name, "张一");
    assert_invalid(
        tm::add_member(&db, &community, id, &RawTeamMember { member_id: s(t.members[0].id) }).await,
        "member_id",
    );
    let other = tm::add_member(&db, &community, id, &RawTeamMember { member_id: s(t.members[3].id) }).await;
    assert_eq!(fields(&other.unwrap_err()), vec!["member_id"]);
    // A member of the branch sees the team near them and joins; one of another community does not.
    let m1 = member_account(&db, &t, "member.1", Role::Member, 1, &t.b1.code).await;
    assert!(vol::mine(&db, &m1).await.unwrap().open_teams.iter().any(|x| x.id == id.get()));
    tm::join(&db, &m1, id).await.unwrap();
    assert_invalid(tm::join(&db, &m1, id).await, "member_id");
    let m3 = member_account(&db, &t, "member.3", Role::Member, 3, &t.b3.code).await;
    assert!(vol::mine(&db, &m3).await.unwrap().open_teams.is_empty());
    assert_invalid(tm::join(&db, &m3, id).await, "team_id");
    let public = tm::public_team(&db, x.id).await.unwrap();
    assert_eq!(public.members.len(), 2);
    assert!(public.hours.is_empty() && public.totals.is_empty(), "the public page shows no hours");

    // Hours for the team: only a member of it logs them; the team's organisation confirms.
    let h = vol::log_hours(&db, &m0, &team_hours(x.id, today, "14:00", "16:30")).await.unwrap();
    assert_eq!((h.minutes, h.team_name.as_deref(), h.what()), (150, Some("矛盾调解队"), "矛盾调解队".to_string()));
    assert_invalid(vol::log_hours(&db, &m3, &team_hours(x.id, today, "14:00", "15:00")).await, "team_id");
    let two = RawHours { post_id: s(1), ..team_hours(x.id, today, "17:00", "18:00") };
    assert_invalid(vol::log_hours(&db, &m0, &two).await, "post_id");
    let pending = vol::log_hours(&db, &m1, &team_hours(x.id, today, "09:00", "10:00")).await.unwrap();
    let confirm = RawConfirm { decision: s("confirm"), note: None };
    vol::decide(&db, &community, HoursId::new(h.id), &confirm).await.unwrap();
    let view = tm::team(&db, &community, id).await.unwrap();
    assert_eq!((view.year_minutes, view.totals.len(), view.hours.len()), (150, 1, 2));
    let c2 = account(&db, "c2.admin", Role::OrgAdmin, &t.c2.code).await;
    assert_refused(tm::team(&db, &c2, id).await);

    // Leaving keeps the history; closing ends every membership and refuses new hours.
    tm::leave(&db, &m1, id).await.unwrap();
    assert_invalid(tm::leave(&db, &m1, id).await, "member_id");
    assert_eq!(tm::team(&db, &community, id).await.unwrap().members.len(), 2);

    // The year's evaluations: drafted from confirmed hours only, for members who served.
    let year = today.year();
    let draft = RawDraft { org_id: s(t.c1.id), year: s(year) };
    assert_refused(tm::draft(&db, &t.sec, &RawDraft { org_id: s(t.c1.id), year: s(year) }).await);
    assert_invalid(tm::draft(&db, &community, &RawDraft { year: s(year + 1), ..draft.clone() }).await, "year");
    assert_eq!(tm::draft(&db, &community, &draft).await.unwrap(), 2, "both served in the team this year");
    let list = tm::evaluations(&db, &community, t.c1.id, year).await.unwrap();
    assert_eq!((list.evaluations.len(), list.drafts), (2, 2));
    let e0 = list.evaluations.iter().find(|e| e.member_id == t.members[0].id.get()).unwrap();
    assert_eq!((e0.minutes, e0.spans), (150, 1));
    assert!(e0.draft.contains("矛盾调解队") && e0.draft.contains("2.5 小时"), "{}", e0.draft);
    let e1 = list.evaluations.iter().find(|e| e.member_id == t.members[1].id.get()).unwrap();
    assert_eq!(e1.minutes, 0, "pending hours do not count");

    // Review: a grade is needed; never by the member; once.
    let eid = EvaluationId::new(e0.id);
    let e = tm::review(&db, &community, eid, &RawReview { grade: s("best"), comment: None }).await.unwrap_err();
    assert_eq!(fields(&e), vec!["grade"]);
    let own = member_account(&db, &t, "c1.self", Role::OrgAdmin, 0, &t.c1.code).await;
    assert_invalid(tm::review(&db, &own, eid, &RawReview { grade: s("excellent"), comment: None }).await, "grade");
    let done = tm::review(&db, &community, eid, &RawReview { grade: s("good"), comment: s("按时到岗") }).await.unwrap();
    assert_eq!((done.grade_label(), done.comment.as_deref()), ("良好", Some("按时到岗")));
    assert_invalid(tm::review(&db, &community, eid, &RawReview { grade: s("pass"), comment: None }).await, "grade");

    // More confirmed hours: a redraft refreshes drafts only, never a reviewed evaluation.
    vol::decide(&db, &community, HoursId::new(pending.id), &confirm).await.unwrap();
    assert_eq!(tm::draft(&db, &community, &draft).await.unwrap(), 1);
    let list = tm::evaluations(&db, &community, t.c1.id, year).await.unwrap();
    let e1 = list.evaluations.iter().find(|e| e.member_id == t.members[1].id.get()).unwrap();
    assert_eq!(e1.minutes, 60);
    let e0 = list.evaluations.iter().find(|e| e.member_id == t.members[0].id.get()).unwrap();
    assert_eq!((e0.state.as_str(), e0.minutes), ("reviewed", 150));
    // The member sees their reviewed evaluation; the other branch's secretary sees none.
    assert_eq!(vol::mine(&db, &m0).await.unwrap().evaluations.len(), 1);
    assert!(tm::evaluations(&db, &t.admin, t.c2.id, year).await.unwrap().evaluations.is_empty());

    tm::close_team(&db, &community, id).await.unwrap();
    assert!(vol::mine(&db, &m0).await.unwrap().teams.is_empty());
    assert_invalid(vol::log_hours(&db, &m0, &team_hours(x.id, today, "19:00", "20:00")).await, "team_id");
    assert_invalid(tm::close_team(&db, &community, id).await, "team_id");
    assert_invalid(tm::update_team(&db, &community, id, &team(t.c1.id.get(), "新名")).await, "name");
}

async fn the_resident_served_confirms_hours(db: Db) {
    let t = tenant(&db).await;
    let mut tx = db.begin().await.unwrap();
    requests::seed::default_categories(&mut tx, t.root.id.get()).await.unwrap();
    tx.commit().await.unwrap();
    let today = redcell_store::coverage::today();
    // A branch secretary who is also member 0 (and serves as one) handles a resident's request.
    let handler = member_account(&db, &t, "sec.m0", Role::Secretary, 0, &t.b1.code).await;
    let mut tx = db.begin().await.unwrap();
    auth::grant(&mut tx, t.root.id.get(), handler.user_id, t.b1.id.get(), Role::Member).await.unwrap();
    tx.commit().await.unwrap();
    let handler = sign_in(&db, "sec.m0").await.0;
    let raw = RawRequest {
        category: s("facility"),
        description: s("楼道灯坏了"),
        grid_id: s(t.grids[0].id),
        contact_name: s("王秀英"),
        contact_phone: s("13912345678"),
        ..RawRequest::default()
    };
    let sub =
        requests::submit(&db, t.root.id.get(), raw.validate().unwrap(), Source::Resident, None, None).await.unwrap();
    requests::act(&db, &t.sec, sub.id, Action::Accept, ActInput::default()).await.unwrap();
    let assign = ActInput { handler_user_id: Some(handler.user()), ..ActInput::default() };
    requests::act(&db, &t.sec, sub.id, Action::Assign, assign).await.unwrap();
    requests::act(&db, &handler, sub.id, Action::Start, ActInput::default()).await.unwrap();
    let h = RawHours {
        request_id: s(sub.id),
        date: s(today),
        start: s("09:00"),
        end: s("10:30"),
        note: s("换灯"),
        ..RawHours::default()
    };
    let h = vol::log_hours(&db, &handler, &h).await.unwrap();
    let done = ActInput { note: s("已更换灯泡"), ..ActInput::default() };
    requests::act(&db, &handler, sub.id, Action::Resolve, done).await.unwrap();

    let token = requests::revisit_link(&db, &t.sec, sub.id).await.unwrap();
    let shown = requests::revisit_hours(&db, &token).await.unwrap();
    assert_eq!(shown.iter().map(|x| x.id).collect::<Vec<_>>(), vec![h.id]);
    // Ids that are not pending hours of this request: refused, the link not spent, nothing written.
    let e = requests::revisit_by_link(&db, &token, FixOutcome::Fixed, Satisfaction::Satisfied, None, &[h.id + 1000])
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["hours"]);
    assert!(requests::revisit_target(&db, &token).await.is_ok(), "the link is still good");
    assert_eq!(vol::mine(&db, &handler).await.unwrap().pending_minutes, 90);
    // The resident confirms with their answer; the hours count, confirmed by the resident served.
    requests::revisit_by_link(&db, &token, FixOutcome::Fixed, Satisfaction::Satisfied, None, &[h.id]).await.unwrap();
    let mine = vol::mine(&db, &handler).await.unwrap();
    assert_eq!((mine.confirmed_minutes, mine.pending_minutes), (90, 0));
    let h = mine.hours.iter().find(|x| x.id == h.id).unwrap();
    assert_eq!((h.decided_via.as_deref(), h.decided_by().as_str()), (Some("resident"), "服务对象（居民）"));
    // Staff cannot decide them again.
    let again =
        vol::decide(&db, &t.admin, HoursId::new(h.id), &RawConfirm { decision: s("reject"), note: s("x") }).await;
    assert_invalid(again, "decision");
}

async fn hours_for_an_activity_attended(db: Db) {
    use redcell_store::duties::records::{self, RawActivity};
    let t = tenant(&db).await;
    let today = redcell_store::coverage::today();
    let day = today - chrono::Duration::days(3);
    let act = RawActivity {
        org_id: s(t.b1.id.get()),
        kind: s("service"),
        held_on: s(day),
        title: s("为独居老人送菜"),
        note: None,
        members: vec![t.members[0].id.get()],
        cadres: vec![],
    };
    let a = records::record_activity(&db, &t.sec, &act, today).await.unwrap();
    let m0 = member_account(&db, &t, "member.0", Role::Member, 0, &t.b1.code).await;
    let m1 = member_account(&db, &t, "member.1", Role::Member, 1, &t.b1.code).await;
    let mine = vol::mine(&db, &m0).await.unwrap();
    assert_eq!(mine.activities.iter().map(|x| x.id).collect::<Vec<_>>(), vec![a.id]);
    assert!(vol::mine(&db, &m1).await.unwrap().activities.is_empty(), "only those present");
    let raw = |date: Option<String>| RawHours {
        activity_id: s(a.id),
        date,
        start: s("09:00"),
        end: s("11:00"),
        ..RawHours::default()
    };
    let before = count(&db, "service_hours").await;
    assert_invalid(vol::log_hours(&db, &m1, &raw(None)).await, "activity_id");
    assert_invalid(vol::log_hours(&db, &m0, &raw(s(today))).await, "date");
    assert_eq!(count(&db, "service_hours").await, before, "nothing written");
    // No date: the activity's day.
    let h = vol::log_hours(&db, &m0, &raw(None)).await.unwrap();
    assert_eq!((h.work_date, h.what(), h.org_id), (day, "活动：为独居老人送菜".to_string(), t.b1.id.get()));
    vol::decide(&db, &t.sec, HoursId::new(h.id), &RawConfirm { decision: s("confirm"), note: None }).await.unwrap();
    assert_eq!(vol::mine(&db, &m0).await.unwrap().confirmed_minutes, 120);
}

async fn a_published_wish_suggests_members_who_answer(db: Db) {
    use redcell_domain::volunteer::WishInvitationId;
    use redcell_store::matching;
    use redcell_store::volunteer::{RawInvite, RawSkills};
    let t = tenant(&db).await;
    let mut tx = db.begin().await.unwrap();
    requests::seed::default_categories(&mut tx, t.root.id.get()).await.unwrap();
    tx.commit().await.unwrap();
    let raw = RawRequest {
        category: s("wish"),
        description: s("想请人教孙子书法"),
        grid_id: s(t.grids[0].id),
        contact_name: s("王秀英"),
        contact_phone: s("13912345678"),
        ..RawRequest::default()
    };
    let sub =
        requests::submit(&db, t.root.id.get(), raw.validate().unwrap(), Source::Resident, None, None).await.unwrap();
    // Members of the community with accounts: one whose skills fit, one who does not (member 1 lives in G1).
    let m0 = member_account(&db, &t, "member.0", Role::Member, 0, &t.b1.code).await;
    let m1 = member_account(&db, &t, "member.1", Role::Member, 1, &t.b1.code).await;
    let skills = RawSkills { skills: s("书法、绘画"), interests: None, free_time: s("周末") };
    vol::update_skills(&db, &m0, &skills).await.unwrap();
    // Before it is published there is nothing to suggest or invite.
    assert!(matching::suggestions(&db, &t.sec, sub.id).await.unwrap().is_empty());
    let invite0 = RawInvite { member_id: s(t.members[0].id) };
    assert_invalid(matching::invite(&db, &t.sec, sub.id, &invite0).await, "member_id");
    requests::wishes::verify(&db, &t.sec, sub.id).await.unwrap();
    let suggested = matching::suggestions(&db, &t.sec, sub.id).await.unwrap();
    assert_eq!(suggested.first().map(|x| x.member_id), Some(t.members[0].id.get()), "{suggested:?}");
    // A member of another branch, whose account cannot claim this wish, is not suggested even
    // when their skills fit, nor can be invited.
    let m2 = member_account(&db, &t, "member.2", Role::Member, 2, &t.b2.code).await;
    vol::update_skills(&db, &m2, &skills).await.unwrap();
    let suggested = matching::suggestions(&db, &t.sec, sub.id).await.unwrap();
    assert!(!suggested.iter().any(|x| x.member_id == t.members[2].id.get()), "{suggested:?}");
    let other_branch = RawInvite { member_id: s(t.members[2].id) };
    assert_invalid(matching::invite(&db, &t.sec, sub.id, &other_branch).await, "member_id");
    // A member only reads nothing of it; another community's member cannot be invited.
    assert_refused(matching::suggestions(&db, &m1, sub.id).await);
    let far = RawInvite { member_id: s(t.members[3].id) };
    assert_invalid(matching::invite(&db, &t.sec, sub.id, &far).await, "member_id");
    let inv = matching::invite(&db, &t.sec, sub.id, &invite0).await.unwrap();
    assert_invalid(matching::invite(&db, &t.sec, sub.id, &invite0).await, "member_id");
    assert!(matching::suggestions(&db, &t.sec, sub.id).await.unwrap()[0].invited);
    // The member sees it and accepts: the wish is theirs. Another member cannot answer it.
    let mine = vol::mine(&db, &m0).await.unwrap();
    assert_eq!(mine.wish_invitations.iter().map(|x| x.id).collect::<Vec<_>>(), vec![inv.id]);
    let id = WishInvitationId::new(inv.id);
    assert!(matches!(matching::answer(&db, &m1, id, true).await, Err(redcell_store::StoreError::NotFound)));
    let done = matching::answer(&db, &m0, id, true).await.unwrap();
    assert_eq!(done.state_label(), "已接受");
    let r = requests::get(&db, &t.sec, sub.id).await.unwrap();
    assert_eq!(r.wish_claimed_by, Some(m0.user()));
    assert!(vol::mine(&db, &m0).await.unwrap().wish_invitations.is_empty());
    // Claimed: nothing more to suggest.
    assert!(matching::suggestions(&db, &t.sec, sub.id).await.unwrap().is_empty());

    // A published wish whose request is then refused leaves the board: nobody is suggested, and it
    // can no longer be claimed.
    let again = RawRequest { description: s("想要一台旧收音机"), ..raw.clone() };
    let w2 =
        requests::submit(&db, t.root.id.get(), again.validate().unwrap(), Source::Resident, None, None).await.unwrap();
    requests::wishes::verify(&db, &t.sec, w2.id).await.unwrap();
    assert!(requests::wishes::board(&db, &m0).await.unwrap().iter().any(|c| c.id == w2.id));
    let refuse = requests::ActInput { note: s("家庭已自行解决"), ..Default::default() };
    requests::act(&db, &t.sec, w2.id, Action::Refuse, refuse).await.unwrap();
    assert!(matching::suggestions(&db, &t.sec, w2.id).await.unwrap().is_empty());
    assert!(!requests::wishes::board(&db, &m0).await.unwrap().iter().any(|c| c.id == w2.id));
    assert_invalid(requests::wishes::claim(&db, &m0, w2.id).await, "wish");

    // An ordinary request, accepted and handled by nobody yet, suggests the members living in its
    // grid; the member invited accepts and handles it (the request's own claim).
    let errand =
        RawRequest { category: s("elderly"), description: s("独居老人需要有人帮忙买菜"), ..raw.clone() };
    let e =
        requests::submit(&db, t.root.id.get(), errand.validate().unwrap(), Source::Resident, None, None).await.unwrap();
    assert!(matching::suggestions(&db, &t.sec, e.id).await.unwrap().is_empty(), "not accepted yet");
    requests::act(&db, &t.sec, e.id, Action::Accept, Default::default()).await.unwrap();
    let suggested = matching::suggestions(&db, &t.sec, e.id).await.unwrap();
    let near = suggested.iter().find(|x| x.member_id == t.members[1].id.get()).expect("lives in the grid");
    assert!(near.same_grid, "{suggested:?}");
    let inv = matching::invite(&db, &t.sec, e.id, &RawInvite { member_id: s(t.members[1].id) }).await.unwrap();
    assert!(!inv.is_wish());
    let pending = vol::mine(&db, &m1).await.unwrap().wish_invitations;
    assert_eq!(pending.iter().map(|x| x.id).collect::<Vec<_>>(), vec![inv.id]);
    matching::answer(&db, &m1, WishInvitationId::new(inv.id), true).await.unwrap();
    let r = requests::get(&db, &t.sec, e.id).await.unwrap();
    assert_eq!((r.handler_user_id, r.state()), (Some(m1.user()), redcell_domain::requests::RequestState::Assigned));
    assert!(matching::suggestions(&db, &t.sec, e.id).await.unwrap().is_empty(), "handled now");
}
