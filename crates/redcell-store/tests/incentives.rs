//! Incentives on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL: star
//! ratings from final five-star assessments and residents' satisfaction
//! (missing satisfaction is not zero; the floor caps; a rerun replaces and
//! keeps the previous half-year beside it), a commendation round from
//! nomination through two levels to publication, and a warning case from the
//! records through help, rectification (once) and removal by the level above.
//! `cargo test -p redcell-store --test incentives`.

use redcell_domain::Role;
use redcell_domain::assessment::AssessmentId;
use redcell_domain::assessment::incentives::{NominationId, RoundId, WarningId};
use redcell_store::assessment::commend::{self, RawNomination, RawReview, RawRound};
use redcell_store::assessment::stars::{self, RawRate};
use redcell_store::assessment::warnings::{self, RawDecision, RawProposal};
use redcell_store::assessment::{self as asm, RawOpen, RawScore, RawStep};
use redcell_store::{Db, Principal, StoreError, args, auth};
use redcell_testkit::store::*;

stories!(
    stars_come_from_final_assessments_and_satisfaction,
    a_commendation_goes_up_the_levels,
    warnings_follow_the_path
);

async fn account(db: &Db, name: &str, role: Role, code: &str) -> Principal {
    auth::add_user(db, name, name, PASSWORD, role, code).await.unwrap();
    sign_in(db, name).await.0
}

fn field(e: &StoreError) -> String {
    match e {
        StoreError::Invalid(i) => i.0.iter().map(|f| format!("{}:{}", f.field, f.code)).collect::<Vec<_>>().join(","),
        StoreError::Denied(f) => format!("denied:{}", f.field),
        other => format!("{other:?}"),
    }
}

async fn count(db: &Db, table: &str) -> i64 {
    db.int(&format!("SELECT COUNT(*) FROM {table}"), args![]).await.unwrap()
}

/// Take a community's five-star assessment to final, every open item scored `per_item` of its points.
async fn final_five_star(db: &Db, own: &Principal, street: &Principal, org: i64, full: bool) -> i64 {
    let x =
        asm::open(db, own, &RawOpen { org_id: s(org), rubric: s("five-star"), ..Default::default() }).await.unwrap();
    let id = AssessmentId::new(x.id);
    let v = asm::get(db, own, id).await.unwrap();
    for i in v.groups.iter().flat_map(|g| g.items.iter()).filter(|i| i.needs_assessor) {
        let pts = if full { i.points } else { i.points / 2 };
        asm::score(db, own, id, i.no, &RawScore { score: s(pts), reason: s("有台账"), evidence: None }).await.unwrap();
    }
    asm::submit(db, own, id, &RawStep::default()).await.unwrap();
    asm::publish(db, street, id, &RawStep { note: None, days: s("0") }).await.unwrap();
    asm::finalize(db, street, id, &RawStep::default()).await.unwrap();
    x.id
}

async fn revisited(db: &Db, tenant: i64, org: i64, satisfaction: &[&str]) {
    let cat = match db
        .opt::<(i64,)>("SELECT id FROM request_categories WHERE tenant_id = $1 ORDER BY id LIMIT 1", args![tenant])
        .await
        .unwrap()
    {
        Some((c,)) => c,
        None => db
            .int(
                "INSERT INTO request_categories (tenant_id, code, name, kind, working_days, class) \
                 VALUES ($1, 'test', '测试', 'errand', 5, 'promise') RETURNING id",
                args![tenant],
            )
            .await
            .unwrap(),
    };
    let today = redcell_store::coverage::today();
    for (i, sat) in satisfaction.iter().enumerate() {
        db.exec(
            "INSERT INTO requests (tenant_id, code, kind, category_id, class, source, description, org_id, state, received_on, \
             due_date, submitted_at, updated_at, satisfaction) VALUES ($1, $2, 'errand', $3, 'promise', 'walk_in', '测试', $4, 'closed', $5, $5, $6, $6, $7)",
            args![tenant, format!("T{org}-{i}"), cat, org, today, chrono::Utc::now(), sat.to_string()],
        )
        .await
        .unwrap();
    }
}

async fn stars_come_from_final_assessments_and_satisfaction(db: Db) {
    let db = &db;
    let t = tenant(db).await;
    let tn = t.root.tenant_id;
    let c1 = account(db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let c2 = account(db, "c2.admin", Role::OrgAdmin, &t.c2.code).await;
    let street = t.admin.clone();
    // Nothing final yet: a clear refusal, nothing written.
    let e = stars::rate(db, &street, &RawRate::default()).await.unwrap_err();
    assert_eq!(field(&e), "period:none");
    let x1 = final_five_star(db, &c1, &street, t.c1.id.get(), true).await;
    let x2 = final_five_star(db, &c2, &street, t.c2.id.get(), false).await;
    // Without revisits there is no satisfaction: both are skipped, not rated with 0.
    let round = stars::rate(db, &street, &RawRate::default()).await.unwrap();
    assert!(round.rated.is_empty());
    assert_eq!(round.skipped.len(), 2);
    assert_eq!(count(db, "star_ratings").await, 0);
    // A survey is entered by the level above, as a percentage with how it was made.
    let survey = |share: &str, note: Option<&str>| stars::RawSurvey { share: s(share), note: note.map(str::to_string) };
    let x2id = AssessmentId::new(x2);
    assert_eq!(
        field(&stars::record_survey(db, &c2, x2id, &survey("90", Some("自测"))).await.unwrap_err()),
        "denied:share"
    );
    assert_eq!(
        field(&stars::record_survey(db, &street, x2id, &survey("101", None)).await.unwrap_err()),
        "share:range,note:required"
    );
    // A community cannot rate itself (it assesses, but nothing final lies below it).
    assert!(stars::rate(db, &c1, &RawRate::default()).await.is_err());
    // C1's residents are satisfied; C2's are not (below the 60 % floor).
    revisited(db, tn, t.c1.id.get(), &["satisfied", "satisfied", "basically", "satisfied"]).await;
    revisited(db, tn, t.c2.id.get(), &["satisfied", "unsatisfied", "unsatisfied"]).await;
    let round = stars::rate(db, &street, &RawRate::default()).await.unwrap();
    assert_eq!(round.rated.len(), 2, "{:?}", round.skipped);
    let r1 = round.rated.iter().find(|r| r.org_id == t.c1.id.get()).unwrap();
    let r2 = round.rated.iter().find(|r| r.org_id == t.c2.id.get()).unwrap();
    assert_eq!(r1.assessment_id, x1);
    assert_eq!(r1.satisfaction_permille, Some(1000));
    assert!(r1.stars >= r2.stars);
    assert!(r2.stars <= 2, "below the floor at most two stars: {r2:?}");
    assert_eq!(r1.movement(), "首次评定");
    // The score is the assessed total plus the satisfaction points, within 100.
    assert!(r1.score_tenths <= 1000 && r1.score_tenths >= 200);
    // Rerunning the round replaces the ratings (audited), never duplicates them.
    let again = stars::rate(db, &street, &RawRate::default()).await.unwrap();
    assert_eq!(again.rated.len(), 2);
    assert_eq!(count(db, "star_ratings").await, 2);
    let hist = stars::history(db, &c1, t.c1.id).await.unwrap();
    assert_eq!(hist.len(), 1);
    assert_eq!(stars::ratings(db, &street, t.root.id, None).await.unwrap().len(), 2);
    // C1 does not see C2's history.
    assert!(stars::history(db, &c1, t.c2.id).await.is_err());
    // C2's revisits turn out to be mistyped and are cleared: rerun, C2 is no longer rated (not kept stale).
    db.exec("UPDATE requests SET satisfaction = NULL WHERE tenant_id = $1 AND org_id = $2", args![tn, t.c2.id.get()])
        .await
        .unwrap();
    let round = stars::rate(db, &street, &RawRate::default()).await.unwrap();
    assert_eq!((round.rated.len(), round.skipped.len()), (1, 1));
    assert_eq!(count(db, "star_ratings").await, 1);
    // With a survey (55 %) C2 is rated again, below the floor.
    stars::record_survey(db, &street, x2id, &survey("55", Some("入户测评 100 户"))).await.unwrap();
    let round = stars::rate(db, &street, &RawRate::default()).await.unwrap();
    let r2 = round.rated.iter().find(|r| r.org_id == t.c2.id.get()).expect("rated from the survey");
    assert_eq!(r2.satisfaction_permille, Some(550));
    assert!(r2.stars <= 2);
}

async fn a_commendation_goes_up_the_levels(db: Db) {
    let db = &db;
    let t = tenant(db).await;
    let street = t.admin.clone();
    let c1 = account(db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let today = redcell_store::coverage::today();
    // Bad rounds are refused naming the field.
    let e = commend::open_round(
        db,
        &street,
        &RawRound { kind: s("custom"), nominate_until: s(today - chrono::Duration::days(1)), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert_eq!(field(&e), "title:required,nominate_until:past");
    assert_eq!(count(db, "commendation_rounds").await, 0);
    let round = commend::open_round(
        db,
        &street,
        &RawRound {
            org_id: s(t.root.id),
            kind: s("central_household"),
            nominate_until: s(today + chrono::Duration::days(10)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(round.title, "最美党员中心户");
    let rid = RoundId::new(round.id);
    // The branch secretary nominates her member; the nomination waits for the community.
    let e = commend::nominate(db, &t.sec, rid, &RawNomination { member_id: s(t.members[0].id), reasons: None })
        .await
        .unwrap_err();
    assert_eq!(field(&e), "reasons:required");
    let n = commend::nominate(
        db,
        &t.sec,
        rid,
        &RawNomination { member_id: s(t.members[0].id), reasons: s("常年走访联系户，组织邻里互助") },
    )
    .await
    .unwrap();
    assert_eq!(n.level_org_id, Some(t.c1.id.get()));
    assert!(n.record.as_ref().is_some_and(|r| r.year >= 2026), "the record at nomination is kept");
    // Not twice; not a member outside her branch.
    assert_eq!(
        field(
            &commend::nominate(db, &t.sec, rid, &RawNomination { member_id: s(t.members[0].id), reasons: s("x") })
                .await
                .unwrap_err()
        ),
        "member_id:duplicate"
    );
    assert!(
        commend::nominate(db, &t.sec, rid, &RawNomination { member_id: s(t.members[2].id), reasons: s("x") })
            .await
            .is_err()
    );
    let nid = NominationId::new(n.id);
    // The secretary cannot pass it on herself; the street must wait for the community.
    assert!(commend::review(db, &t.sec, nid, &RawReview { decision: s("pass"), note: None }).await.is_err());
    // Publishing with a nomination pending is refused.
    assert_eq!(field(&commend::publish(db, &street, rid).await.unwrap_err()), "state:pending");
    // Rejecting needs a reason.
    assert_eq!(
        field(&commend::review(db, &c1, nid, &RawReview { decision: s("reject"), note: None }).await.unwrap_err()),
        "note:required"
    );
    let n = commend::review(db, &c1, nid, &RawReview { decision: s("pass"), note: s("事迹属实") }).await.unwrap();
    assert_eq!((n.state.as_str(), n.level_org_id), ("pending", Some(t.root.id.get())));
    let n = commend::review(db, &street, nid, &RawReview { decision: s("pass"), note: None }).await.unwrap();
    assert_eq!(n.state, "approved");
    // Nobody nominates and approves alone: the street's own nomination waits for another assessor.
    let own = commend::nominate(db, &street, rid, &RawNomination { member_id: s(t.members[2].id), reasons: s("热心") })
        .await
        .unwrap();
    let e = commend::review(db, &street, NominationId::new(own.id), &RawReview { decision: s("pass"), note: None })
        .await
        .unwrap_err();
    assert_eq!(field(&e), "decision:twice");
    let street2 = account(db, "street.2", Role::Admin, &t.root.code).await;
    commend::review(db, &street2, NominationId::new(own.id), &RawReview { decision: s("reject"), note: s("另行推荐") })
        .await
        .unwrap();
    // A second nomination rejected at the community, with its reason kept.
    let m2 = commend::nominate(db, &c1, rid, &RawNomination { member_id: s(t.members[1].id), reasons: s("热心") })
        .await
        .unwrap();
    let m2 = commend::review(
        db,
        &street,
        NominationId::new(m2.id),
        &RawReview { decision: s("reject"), note: s("事迹不够具体") },
    )
    .await
    .unwrap();
    assert_eq!(m2.state, "rejected");
    let v = commend::round(db, &street, rid).await.unwrap();
    assert_eq!(v.nominations.len(), 3);
    assert!(v.nominations.iter().any(|n| n.steps.iter().any(|s| s.note.as_deref() == Some("事迹不够具体"))));
    // The secretary sees the nominations of her branch's members (G1 lies under B1); C2 sees none.
    assert_eq!(commend::round(db, &t.sec, rid).await.unwrap().nominations.len(), 2);
    let c2 = account(db, "c2.admin", Role::OrgAdmin, &t.c2.code).await;
    assert_eq!(commend::round(db, &c2, rid).await.unwrap().nominations.len(), 0);
    let r = commend::publish(db, &street, rid).await.unwrap();
    assert_eq!((r.state.as_str(), r.approved), ("published", 1));
    let (_, list) = commend::commended(db, t.root.id, chrono::Datelike::year(&today)).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reasons, "常年走访联系户，组织邻里互助");
    // After publication no more nominations.
    assert_eq!(
        field(
            &commend::nominate(db, &t.sec, rid, &RawNomination { member_id: s(t.members[1].id), reasons: s("x") })
                .await
                .unwrap_err()
        ),
        "round:state"
    );
}

async fn warnings_follow_the_path(db: Db) {
    let db = &db;
    let t = tenant(db).await;
    let tn = t.root.tenant_id;
    let c1 = account(db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let today = redcell_store::coverage::today();
    let m = t.members[0].id.get();
    // Absent without excuse from the branch's two meetings of the last months.
    for (days, topic) in [(20i64, "支部党员大会"), (60, "党课")] {
        let id = db
            .int(
                "INSERT INTO duty_meetings (tenant_id, org_id, kind, held_on, topic, created_at) VALUES ($1, $2, 'general_meeting', $3, $4, $5) RETURNING id",
                args![tn, t.b1.id.get(), today - chrono::Duration::days(days), topic, chrono::Utc::now()],
            )
            .await
            .unwrap();
        db.exec(
            "INSERT INTO duty_people (tenant_id, record_kind, record_id, person_kind, person_id, presence) VALUES ($1, 'meeting', $2, 'member', $3, 'absent')",
            args![tn, id, m],
        )
        .await
        .unwrap();
    }
    let cands = warnings::candidates(db, &t.sec, t.b1.id).await.unwrap();
    let c = cands.iter().find(|c| c.member_id == m).expect("the absent member is suggested");
    assert_eq!(c.basis.len(), 2);
    // A member without grounds needs written ones.
    let e =
        warnings::propose(db, &t.sec, &RawProposal { member_id: s(t.members[1].id), note: None }).await.unwrap_err();
    assert_eq!(field(&e), "note:required");
    let w = warnings::propose(db, &t.sec, &RawProposal { member_id: s(m), note: None }).await.unwrap();
    assert!(w.grounds.contains("组织生活"), "{}", w.grounds);
    assert_eq!(
        field(&warnings::propose(db, &t.sec, &RawProposal { member_id: s(m), note: None }).await.unwrap_err()),
        "member_id:open"
    );
    // Not suggested twice while the case is open.
    assert!(warnings::candidates(db, &t.sec, t.b1.id).await.unwrap().iter().all(|c| c.member_id != m));
    let id = WarningId::new(w.id);
    let d = |a: &str| RawDecision { action: s(a), note: s("支部党员大会决议") };
    // A decision needs its record.
    assert_eq!(
        field(&warnings::decide(db, &t.sec, id, &RawDecision { action: s("warn"), note: None }).await.unwrap_err()),
        "note:required"
    );
    // Not on the path: rectify before being found unqualified.
    assert_eq!(field(&warnings::decide(db, &t.sec, id, &d("rectify")).await.unwrap_err()), "action:state");
    let v = warnings::decide(db, &t.sec, id, &d("warn")).await.unwrap();
    assert_eq!(v.warning.state, "warned");
    let v = warnings::decide(db, &t.sec, id, &d("help")).await.unwrap();
    assert_eq!(v.warning.next_due, today.checked_add_months(chrono::Months::new(3)));
    warnings::decide(db, &t.sec, id, &d("unqualify")).await.unwrap();
    let v = warnings::decide(db, &t.sec, id, &d("rectify")).await.unwrap();
    assert_eq!(v.warning.rectify_until, today.checked_add_months(chrono::Months::new(12)));
    // One year, never extended.
    let e = warnings::decide(db, &t.sec, id, &d("rectify")).await.unwrap_err();
    assert_eq!(field(&e), "action:state");
    // The deadline is on the duty calendar of those in scope.
    let rem = warnings::reminders(db, &t.sec, today).await.unwrap();
    assert!(rem.iter().any(|r| r.href == format!("/warnings/{}", w.id)));
    // The community proposes removal; it cannot decide its own proposal.
    warnings::decide(db, &c1, id, &d("propose_removal")).await.unwrap();
    assert_eq!(field(&warnings::decide(db, &c1, id, &d("removed")).await.unwrap_err()), "denied:action");
    // The street declines: back to unqualified, where no second year is given.
    let v = warnings::decide(db, &t.admin, id, &d("decline")).await.unwrap();
    assert_eq!(v.warning.state, "unqualified");
    assert!(!v.actions.contains(&"rectify".to_string()));
    assert_eq!(field(&warnings::decide(db, &t.sec, id, &d("rectify")).await.unwrap_err()), "action:state");
    warnings::decide(db, &t.sec, id, &d("propose_removal")).await.unwrap();
    // Removal is decided above the branch.
    let v = warnings::get(db, &t.sec, id).await.unwrap();
    assert!(v.actions.is_empty());
    assert_eq!(field(&warnings::decide(db, &t.sec, id, &d("removed")).await.unwrap_err()), "denied:action");
    let v = warnings::decide(db, &c1, id, &d("removed")).await.unwrap();
    assert_eq!(v.warning.state, "removed");
    assert_eq!(v.steps.len(), 9, "proposed + eight decisions");
    // A removed member is not suggested again.
    assert!(warnings::candidates(db, &t.sec, t.b1.id).await.unwrap().iter().all(|c| c.member_id != m));
    // Outside the scope the case does not exist.
    let other = account(db, "c2.admin", Role::OrgAdmin, &t.c2.code).await;
    assert!(matches!(warnings::get(db, &other, id).await.unwrap_err(), StoreError::NotFound));
}
