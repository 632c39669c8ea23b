//! Volunteering on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL: a post
//! published, claimed under a generated agreement, changed and re-signed;
//! hours logged, refused when they collide or come from the future, confirmed
//! only by someone else with the right over the post; totals counting
//! confirmed hours only; refusals that write nothing.
//! `cargo test -p redcell-store --test volunteer`.

use chrono::Datelike;
use redcell_domain::Role;
use redcell_domain::volunteer::{ClaimId, HoursId, InvitationId, ReportId, ServicePostId};
use redcell_store::volunteer::{
    self as vol, RawConfirm, RawHours, RawInvite, RawPost, RawReport, RawReturn, RawSkills,
};
use redcell_store::{Db, Principal, args, auth, duties};
use redcell_testkit::store::*;

stories!(
    a_post_is_claimed_served_and_counted,
    refusals_write_nothing,
    an_in_service_member_reports_and_is_fed_back,
    skills_suggest_members_who_answer_invitations
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

fn post(org: i64, headcount: &str) -> RawPost {
    RawPost {
        org_id: s(org),
        title: s("楼道环境监督岗"),
        duty: s("每周巡查楼道堆物，发现隐患报告网格员"),
        place: s("1幢"),
        schedule: s("每周六上午"),
        headcount: s(headcount),
        skills: None,
    }
}

fn hours(post: i64, date: chrono::NaiveDate, start: &str, end: &str) -> RawHours {
    RawHours {
        post_id: s(post),
        request_id: None,
        team_id: None,
        activity_id: None,
        date: s(date),
        start: s(start),
        end: s(end),
        note: s("清理楼道"),
    }
}

fn confirm() -> RawConfirm {
    RawConfirm { decision: s("confirm"), note: None }
}

async fn count(db: &Db, table: &str) -> i64 {
    db.int(&format!("SELECT COUNT(*) FROM {table}"), args![]).await.unwrap()
}

async fn a_post_is_claimed_served_and_counted(db: Db) {
    let t = tenant(&db).await;
    let today = redcell_store::coverage::today();
    let community = account(&db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    // A branch secretary does not publish for the community.
    assert_refused(vol::create_post(&db, &t.sec, &post(t.c1.id.get(), "1")).await);
    let p = vol::create_post(&db, &community, &post(t.c1.id.get(), "1")).await.unwrap();
    assert_eq!((p.version, p.taken, p.headcount), (1, 0, 1));
    let id = ServicePostId::new(p.id);

    // A member of a branch under the community sees it and claims it.
    let m0 = member_account(&db, &t, "member.0", Role::Member, 0, &t.b1.code).await;
    let mine = vol::mine(&db, &m0).await.unwrap();
    assert!(mine.open.iter().any(|x| x.id == p.id), "the community's post is near a member of its branch");
    let claim = vol::claim(&db, &m0, id).await.unwrap();
    assert_eq!(claim.version, 1);
    assert!(
        claim.agreement.contains("张一")
            && claim.agreement.contains("楼道环境监督岗")
            && claim.agreement.contains("第 1 版")
    );
    assert_invalid(vol::claim(&db, &m0, id).await, "post_id");
    // Full: another member of the branch is told so; a member of another community never sees it.
    let m1 = member_account(&db, &t, "member.1", Role::Member, 1, &t.b1.code).await;
    let e = assert_invalid(vol::claim(&db, &m1, id).await, "post_id");
    assert!(format!("{e:?}").contains("full"), "{e:?}");
    let m3 = member_account(&db, &t, "member.3", Role::Member, 3, &t.b3.code).await;
    assert!(vol::mine(&db, &m3).await.unwrap().open.is_empty());
    assert_refused(vol::claim(&db, &m3, id).await);

    // Hours: today is fine; the future, before the claim, or a collision are refused.
    let h = vol::log_hours(&db, &m0, &hours(p.id, today, "09:00", "11:00")).await.unwrap();
    assert_eq!((h.minutes, h.state.as_str()), (120, "pending"));
    assert_invalid(
        vol::log_hours(&db, &m0, &hours(p.id, today + chrono::Duration::days(1), "09:00", "10:00")).await,
        "date",
    );
    assert_invalid(
        vol::log_hours(&db, &m0, &hours(p.id, today - chrono::Duration::days(1), "09:00", "10:00")).await,
        "date",
    );
    assert_invalid(vol::log_hours(&db, &m0, &hours(p.id, today, "10:30", "12:00")).await, "start");
    let later = vol::log_hours(&db, &m0, &hours(p.id, today, "11:00", "12:00")).await.unwrap();
    // Someone else's post, or a request they did not handle, is not theirs to log.
    assert_invalid(vol::log_hours(&db, &m1, &hours(p.id, today, "09:00", "10:00")).await, "post_id");
    let req = RawHours { post_id: None, request_id: s(999_999), ..hours(0, today, "13:00", "14:00") };
    assert_invalid(vol::log_hours(&db, &m0, &req).await, "request_id");

    // Confirming: never by the member (no right) nor by staff who are that member; not out of scope.
    assert_refused(vol::decide(&db, &m0, HoursId::new(h.id), &confirm()).await);
    let own = member_account(&db, &t, "c1.self", Role::OrgAdmin, 0, &t.c1.code).await;
    assert_invalid(vol::decide(&db, &own, HoursId::new(h.id), &confirm()).await, "decision");
    assert_refused(vol::decide(&db, &t.sec, HoursId::new(h.id), &confirm()).await);
    let rejected = RawConfirm { decision: s("reject"), note: None };
    assert_invalid(vol::decide(&db, &community, HoursId::new(later.id), &rejected).await, "note");
    let done = vol::decide(&db, &community, HoursId::new(h.id), &confirm()).await.unwrap();
    assert_eq!(done.state, "confirmed");
    assert_invalid(vol::decide(&db, &community, HoursId::new(h.id), &confirm()).await, "decision");
    let rejected = RawConfirm { decision: s("reject"), note: s("当天岗位无人值守") };
    vol::decide(&db, &community, HoursId::new(later.id), &rejected).await.unwrap();

    // Only confirmed hours count, for the member and for the organisation.
    let mine = vol::mine(&db, &m0).await.unwrap();
    assert_eq!((mine.confirmed_minutes, mine.pending_minutes), (120, 0));
    let year = today.year();
    let org = vol::org_service(&db, &t.admin, t.root.id, year).await.unwrap();
    assert_eq!((org.total_minutes, org.members.len(), org.pending.len()), (120, 1, 0));
    assert_eq!(org.members[0].name, "张一");
    // A rejected span frees its time.
    vol::log_hours(&db, &m0, &hours(p.id, today, "11:00", "11:30")).await.unwrap();

    // A change of terms is a new version: the member signs it; a headcount below those holding it is refused.
    assert_invalid(vol::update_post(&db, &community, id, &post(t.c1.id.get(), "0")).await, "headcount");
    let changed = RawPost { schedule: s("每周六、周日上午"), ..post(t.c1.id.get(), "2") };
    assert_eq!(vol::update_post(&db, &community, id, &changed).await.unwrap().version, 2);
    let mine = vol::mine(&db, &m0).await.unwrap();
    assert!(mine.holding[0].outdated());
    let renewed = vol::renew(&db, &m0, ClaimId::new(claim.id)).await.unwrap();
    assert!(renewed.version == 2 && renewed.agreement.contains("周日"));
    assert_invalid(vol::renew(&db, &m0, ClaimId::new(claim.id)).await, "claim_id");
    let versions = db.int("SELECT COUNT(*) FROM service_agreements", args![]).await.unwrap();
    assert_eq!(versions, 2, "every version signed is kept");

    // The public page names who serves, with the agreement.
    let public = vol::public_post(&db, p.id).await.unwrap();
    assert_eq!(public.claims.len(), 1);
    assert!(public.claims[0].agreement.contains("第 2 版"));

    // Closing ends the claim; no more hours against it.
    vol::close_post(&db, &community, id).await.unwrap();
    assert!(vol::mine(&db, &m0).await.unwrap().holding.is_empty());
    assert!(vol::public_post(&db, p.id).await.unwrap().claims.is_empty());
    assert_invalid(vol::log_hours(&db, &m0, &hours(p.id, today, "15:00", "16:00")).await, "post_id");
    assert_invalid(vol::claim(&db, &m1, id).await, "post_id");
}

async fn refusals_write_nothing(db: Db) {
    let t = tenant(&db).await;
    let today = redcell_store::coverage::today();
    let p = vol::create_post(&db, &t.admin, &post(t.b1.id.get(), "2")).await.unwrap();
    let m0 = member_account(&db, &t, "member.0", Role::Member, 0, &t.b1.code).await;
    vol::claim(&db, &m0, ServicePostId::new(p.id)).await.unwrap();
    let before =
        (count(&db, "service_posts").await, count(&db, "service_hours").await, count(&db, "service_claims").await);

    let bad = RawPost { title: s(" "), headcount: s("300"), ..post(t.b1.id.get(), "1") };
    let e = vol::create_post(&db, &t.admin, &bad).await.unwrap_err();
    assert_eq!(fields(&e), vec!["title", "headcount"]);
    let e = vol::log_hours(&db, &m0, &hours(p.id, today, "9点", "08:00")).await.unwrap_err();
    assert_eq!(fields(&e), vec!["start"]);
    let e = vol::log_hours(&db, &m0, &hours(p.id, today, "09:00", "09:05")).await.unwrap_err();
    assert_eq!(fields(&e), vec!["end"]);
    let both = RawHours { request_id: s(1), ..hours(p.id, today, "09:00", "10:00") };
    assert_invalid(vol::log_hours(&db, &m0, &both).await, "post_id");
    // A staff account that is no member has nothing of its own to serve.
    assert_refused(vol::mine(&db, &t.sec).await);
    assert_refused(vol::claim(&db, &t.sec, ServicePostId::new(p.id)).await);

    let after =
        (count(&db, "service_posts").await, count(&db, "service_hours").await, count(&db, "service_claims").await);
    assert_eq!(before, after);
}

fn report(t: &Tenant, org: i64, member: usize) -> RawReport {
    RawReport {
        org_id: s(org),
        member_id: s(t.members[member].id),
        employer: s("区人民医院"),
        employer_org: s("区人民医院党委"),
        employer_phone: s("0571-86001234"),
        reported_on: None,
    }
}

async fn an_in_service_member_reports_and_is_fed_back(db: Db) {
    let t = tenant(&db).await;
    let today = redcell_store::coverage::today();
    let community = account(&db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let before = count(&db, "inservice_reports").await;
    // Refused, naming the field: another community's member, a branch secretary
    // recording for the community, a bad phone, a future date, no employer.
    assert_refused(vol::record_report(&db, &community, &report(&t, t.c1.id.get(), 3)).await);
    assert_refused(vol::record_report(&db, &t.sec, &report(&t, t.c1.id.get(), 0)).await);
    let bad = RawReport {
        employer: None,
        employer_phone: s("12345"),
        reported_on: s(today + chrono::Duration::days(3)),
        ..report(&t, t.c1.id.get(), 0)
    };
    let e = vol::record_report(&db, &community, &bad).await.unwrap_err();
    assert_eq!(fields(&e), vec!["employer", "employer_phone", "reported_on"]);
    assert_eq!(count(&db, "inservice_reports").await, before, "nothing written");

    let r = vol::record_report(&db, &community, &report(&t, t.c1.id.get(), 0)).await.unwrap();
    assert_eq!((r.member_name.as_str(), r.state_label(), r.reported_on), ("张一", "在册", today));
    assert_invalid(vol::record_report(&db, &community, &report(&t, t.c1.id.get(), 0)).await, "member_id");
    assert_eq!(vol::reports(&db, &community, t.c1.id).await.unwrap().len(), 1);
    assert!(vol::reports(&db, &t.admin, t.c2.id).await.unwrap().is_empty());

    // The quarter's card counts confirmed hours and the posts held, nothing else.
    let p = vol::create_post(&db, &community, &post(t.c1.id.get(), "1")).await.unwrap();
    let m0 = member_account(&db, &t, "member.0", Role::Member, 0, &t.b1.code).await;
    vol::claim(&db, &m0, ServicePostId::new(p.id)).await.unwrap();
    let h = vol::log_hours(&db, &m0, &hours(p.id, today, "09:00", "10:30")).await.unwrap();
    vol::log_hours(&db, &m0, &hours(p.id, today, "14:00", "15:00")).await.unwrap();
    vol::decide(&db, &community, HoursId::new(h.id), &confirm()).await.unwrap();
    let (y, q) = vol::quarter_of(today);
    let card = vol::card(&db, &community, ReportId::new(r.id), y, q).await.unwrap();
    assert_eq!((card.minutes, card.hours.len(), card.posts.clone()), (90, 1, vec!["楼道环境监督岗".to_string()]));
    let (py, pq) = if q == 1 { (y - 1, 4) } else { (y, q - 1) };
    let earlier = vol::card(&db, &community, ReportId::new(r.id), py, pq).await.unwrap();
    assert!(earlier.minutes == 0 && earlier.posts.is_empty());
    assert_invalid(vol::card(&db, &community, ReportId::new(r.id), y, 5).await, "quarter");
    assert_invalid(vol::card(&db, &community, ReportId::new(r.id), i32::MAX, 4).await, "year");
    assert_invalid(vol::org_service(&db, &community, t.c1.id, i32::MIN).await, "year");
    assert_refused(vol::card(&db, &t.sec, ReportId::new(r.id), y, q).await);

    // Returned when they move: a reason, not before the report; once.
    let id = ReportId::new(r.id);
    assert_invalid(vol::return_report(&db, &community, id, &RawReturn::default()).await, "reason");
    let early = RawReturn { returned_on: s(today - chrono::Duration::days(1)), reason: s("搬离") };
    assert_invalid(vol::return_report(&db, &community, id, &early).await, "returned_on");
    let back = RawReturn { returned_on: None, reason: s("搬至外区居住") };
    assert_eq!(vol::return_report(&db, &community, id, &back).await.unwrap().state_label(), "已回转");
    assert_invalid(vol::return_report(&db, &community, id, &back).await, "returned_on");
    // The history stays, and the member may report again.
    vol::record_report(&db, &community, &report(&t, t.c1.id.get(), 0)).await.unwrap();
    assert_eq!(vol::reports(&db, &community, t.c1.id).await.unwrap().len(), 2);
}

async fn skills_suggest_members_who_answer_invitations(db: Db) {
    let t = tenant(&db).await;
    let community = account(&db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let raw = RawPost { skills: s("法律、调解"), ..post(t.c1.id.get(), "2") };
    let p = vol::create_post(&db, &community, &raw).await.unwrap();
    let id = ServicePostId::new(p.id);
    let m0 = member_account(&db, &t, "member.0", Role::Member, 0, &t.b1.code).await;
    let m1 = member_account(&db, &t, "member.1", Role::Member, 1, &t.b1.code).await;

    // The member keeps their own ledger of skills; too long is named.
    let long = RawSkills { skills: s("法".repeat(101)), ..RawSkills::default() };
    assert_invalid(vol::update_skills(&db, &m0, &long).await, "skills");
    let mine = RawSkills { skills: s("法律咨询、电工"), interests: s("下棋"), free_time: s("周末上午") };
    vol::update_skills(&db, &m0, &mine).await.unwrap();
    assert_eq!(vol::mine(&db, &m0).await.unwrap().free_time.as_deref(), Some("周末上午"));
    assert_refused(vol::update_skills(&db, &t.sec, &mine).await);

    // Suggested by fit, to staff who may edit the post only.
    let names = |v: Vec<vol::Suggested>| v.into_iter().map(|x| (x.name, x.invited)).collect::<Vec<_>>();
    assert_eq!(names(vol::suggestions(&db, &community, id).await.unwrap()), vec![("张一".to_string(), false)]);
    assert_refused(vol::suggestions(&db, &t.sec, id).await);
    assert_refused(vol::suggestions(&db, &m0, id).await);

    // Invited once; out of scope refused.
    let inv = |m: usize| RawInvite { member_id: s(t.members[m].id) };
    let i0 = vol::invite(&db, &community, id, &inv(0)).await.unwrap();
    assert_eq!(i0.state, "pending");
    assert_invalid(vol::invite(&db, &community, id, &inv(0)).await, "member_id");
    assert_refused(vol::invite(&db, &community, id, &inv(3)).await);
    assert_eq!(names(vol::suggestions(&db, &community, id).await.unwrap()), vec![("张一".to_string(), true)]);
    assert_eq!(vol::mine(&db, &m0).await.unwrap().invitations.len(), 1);

    // Only the member invited answers; accepting claims the post with its agreement.
    assert_refused(vol::answer(&db, &m1, InvitationId::new(i0.id), true).await);
    let a = vol::answer(&db, &m0, InvitationId::new(i0.id), true).await.unwrap();
    assert_eq!(a.state, "accepted");
    let mine = vol::mine(&db, &m0).await.unwrap();
    assert!(mine.invitations.is_empty());
    assert_eq!(mine.holding.len(), 1);
    assert!(mine.holding[0].claim.agreement.contains("张一"));
    assert_invalid(vol::answer(&db, &m0, InvitationId::new(i0.id), false).await, "invitation_id");
    assert!(vol::suggestions(&db, &community, id).await.unwrap().is_empty(), "holders are not suggested");

    // Declining records the answer and claims nothing.
    let i1 = vol::invite(&db, &community, id, &inv(1)).await.unwrap();
    assert_eq!(vol::answer(&db, &m1, InvitationId::new(i1.id), false).await.unwrap().state, "declined");
    assert!(vol::mine(&db, &m1).await.unwrap().holding.is_empty());
}
