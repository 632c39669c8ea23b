//! Mobile members: a member flows out with a card, contact is kept, another
//! branch receives them by the card's number and their ID number (the wrong
//! person refused), the rosters follow, a long silence shows as lost
//! contact, the member comes back. Bad input is named by field and writes
//! nothing. Runs on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL:
//! `cargo test -p redcell-store --test mobility`.

use redcell_domain::mobility::{CardId, Standing, TransferId};
use redcell_store::mobility::{self as mb, RawCard, RawContact, RawEnd, RawRefusal};
use redcell_store::transfers::{self as tr, RawDecision, RawReceipt, RawTransfer, RawTransferSettings};
use redcell_store::{Db, args};
use redcell_testkit::store::*;

stories!(
    a_member_flows_out_is_received_and_comes_back,
    bad_cards_are_named,
    a_relation_is_transferred_step_by_step,
    deadlines_fall_on_the_responsible,
    a_street_roster_page_shows_its_first_lines
);

async fn count(db: &Db, table: &str) -> i64 {
    db.int(&format!("SELECT COUNT(*) FROM {table}"), redcell_store::Args::new()).await.unwrap()
}

/// At the top, every member is on exactly one roster, and the self-managed
/// page lists all of them (fewer than the page's limit here).
async fn rosters_add_up(db: &Db, t: &Tenant) {
    let r = mb::rosters(db, &t.admin, t.root.id, Some("self")).await.unwrap();
    let members = count(db, "members").await as usize;
    assert_eq!(r.self_managed + r.inservice + r.mobile, members, "{r:?}");
    assert_eq!(r.lines.len(), r.self_managed);
    assert!(!r.truncated);
}

fn outflow(member: impl std::fmt::Display, no: &str) -> RawCard {
    RawCard {
        direction: s("out"),
        member_id: s(member),
        card_no: s(no),
        place: s("广东省深圳市"),
        reason: s("外出务工"),
        started_on: s(today() - chrono::Duration::days(30)),
        channel: s("微信群：幸福社区流动党员群"),
        ..RawCard::default()
    }
}

async fn a_member_flows_out_is_received_and_comes_back(db: Db) {
    let t = tenant(&db).await;
    let zhang = t.members[0].id; // B1, under C1
    let before = mb::rosters(&db, &t.admin, t.c1.id, Some("mobile")).await.unwrap();
    assert_eq!(before.mobile, 0);

    // The branch records the outflow card; the member is on the mobile roster.
    let out = mb::record(&db, &t.sec, &outflow(zhang, "lc-2026-001")).await.unwrap();
    assert_eq!((out.card_no.as_str(), out.org_id), ("LC-2026-001", t.b1.id.get()));
    assert_eq!(mb::standing_of(&db, t.root.id.get(), zhang).await.unwrap(), Standing::FlowedOut);
    let r = mb::rosters(&db, &t.admin, t.c1.id, Some("mobile")).await.unwrap();
    assert_eq!(r.lines.iter().map(|l| l.member_id).collect::<Vec<_>>(), vec![zhang.get()]);
    assert_eq!(r.mobile, 1);
    // A second open outflow card is refused naming the member.
    assert_invalid(mb::record(&db, &t.sec, &outflow(zhang, "LC-2026-002")).await, "member_id");

    // Contact is kept.
    let call = RawContact { on_date: None, channel: s("call"), note: s("电话问候，近况良好") };
    mb::add_contact(&db, &t.sec, CardId::new(out.id), &call).await.unwrap();
    let view = mb::card(&db, &t.sec, CardId::new(out.id)).await.unwrap();
    assert_eq!(view.contacts.len(), 1);
    assert_eq!(view.standing, "out");

    // Branch 2 receives the member by the card's number and their ID number; the wrong person is refused.
    let inflow = |id_number: &str| RawCard {
        direction: s("in"),
        org_id: s(t.b2.id),
        paired_card_no: s("lc-2026-001"),
        id_number: s(id_number),
        card_no: s("LR-2026-001"),
        place: s("幸福社区第一街坊党支部"),
        reason: s("来本社区务工"),
        channel: s("电话"),
        ..RawCard::default()
    };
    // Branch 3 declines first, with its reason: the sending side sees it; a
    // refusal needs a reason and the right person, and writes nothing else.
    let refusal = |id_number: &str, reason: &str| RawRefusal {
        org_id: s(t.b3.id),
        paired_card_no: s("lc-2026-001"),
        id_number: s(id_number),
        refused_on: None,
        reason: s(reason),
    };
    assert_invalid(mb::refuse(&db, &t.admin, &refusal(&t.id_numbers[0], " ")).await, "reason");
    assert_invalid(mb::refuse(&db, &t.admin, &refusal(&t.id_numbers[3], "不在服务范围")).await, "id_number");
    assert_refused(mb::refuse(&db, &t.sec, &refusal(&t.id_numbers[0], "不在服务范围")).await);
    assert_eq!(count(&db, "mobility_refusals").await, 0);
    let no = mb::refuse(&db, &t.admin, &refusal(&t.id_numbers[0], "不在本组织服务范围")).await.unwrap();
    assert_eq!(no.card_no, "LC-2026-001");
    let seen = mb::card(&db, &t.sec, CardId::new(out.id)).await.unwrap();
    assert_eq!(seen.refusals.iter().map(|x| x.reason.as_str()).collect::<Vec<_>>(), vec!["不在本组织服务范围"]);
    assert_eq!(seen.standing, "out", "a refusal changes nothing on the card");

    let before = count(&db, "mobility_cards").await;
    assert_invalid(mb::record(&db, &t.admin, &inflow(&t.id_numbers[3])).await, "id_number");
    assert_eq!(count(&db, "mobility_cards").await, before, "nothing written");
    let received = mb::record(&db, &t.admin, &inflow(&t.id_numbers[0])).await.unwrap();
    assert_eq!((received.member_id, received.paired_id), (zhang.get(), Some(out.id)));
    // Both sides see the pairing, and no more of it.
    let sent = mb::card(&db, &t.sec, CardId::new(out.id)).await.unwrap();
    assert_eq!(sent.paired.as_ref().map(|x| x.card_no.as_str()), Some("LR-2026-001"));
    let got = mb::card(&db, &t.admin, CardId::new(received.id)).await.unwrap();
    assert_eq!(got.paired.as_ref().map(|x| x.card_no.as_str()), Some("LC-2026-001"));
    // The branch secretary of B1 cannot open B2's card.
    assert_refused(mb::card(&db, &t.sec, CardId::new(received.id)).await);
    // B2's mobile roster lists the member received from B1.
    let r2 = mb::rosters(&db, &t.admin, t.b2.id, Some("mobile")).await.unwrap();
    assert!(r2.lines.iter().any(|l| l.member_id == zhang.get() && l.standing == "in"), "{:?}", r2.lines);
    // A second inflow for the same card is refused.
    let again = RawCard { card_no: s("LR-2026-002"), org_id: s(t.b3.id), ..inflow(&t.id_numbers[0]) };
    assert_invalid(mb::record(&db, &t.admin, &again).await, "paired_card_no");

    // Six months of silence: lost contact, still on the mobile roster.
    db.exec(
        "UPDATE mobility_cards SET started_on = $1 WHERE id = $2",
        args![today() - chrono::Duration::days(400), out.id],
    )
    .await
    .unwrap();
    db.exec("UPDATE mobility_contacts SET on_date = $1", args![today() - chrono::Duration::days(200)]).await.unwrap();
    let r = mb::rosters(&db, &t.admin, t.c1.id, Some("mobile")).await.unwrap();
    assert_eq!((r.lost, r.lines[0].standing.as_str()), (1, "lost"));

    // The member comes back: the card ends, the member is self-managed (returned) again.
    let back = RawEnd { ended_on: None, reason: s("返回本社区居住") };
    mb::end(&db, &t.admin, CardId::new(received.id), &back).await.unwrap();
    mb::end(&db, &t.sec, CardId::new(out.id), &back).await.unwrap();
    assert_invalid(mb::end(&db, &t.sec, CardId::new(out.id), &back).await, "card");
    assert_eq!(mb::standing_of(&db, t.root.id.get(), zhang).await.unwrap(), Standing::Returned);
    let r = mb::rosters(&db, &t.admin, t.c1.id, Some("self")).await.unwrap();
    assert!(r.lines.iter().any(|l| l.member_id == zhang.get() && l.standing == "returned"));
    assert_eq!(r.mobile, 0);
    let history = mb::member_cards(&db, &t.admin, zhang).await.unwrap();
    assert_eq!(history.len(), 2);
    rosters_add_up(&db, &t).await;
}

async fn bad_cards_are_named(db: Db) {
    let t = tenant(&db).await;
    let before = count(&db, "mobility_cards").await;
    let bad = RawCard {
        direction: s("out"),
        member_id: s(t.members[0].id),
        card_no: s("卡号"),
        place: s(""),
        reason: s("务工"),
        started_on: s(today() + chrono::Duration::days(3)),
        channel: s(""),
        ..RawCard::default()
    };
    let e = assert_invalid(mb::record(&db, &t.sec, &bad).await, "card_no");
    for f in ["place", "started_on", "channel"] {
        assert!(fields(&e).iter().any(|x| x == f), "{f}: {e:?}");
    }
    assert_invalid(mb::record(&db, &t.sec, &RawCard { direction: s("sideways"), ..bad.clone() }).await, "direction");
    // Another branch's member is out of a branch secretary's scope.
    assert_refused(mb::record(&db, &t.sec, &outflow(t.members[2].id, "LC-9")).await);
    // An inflow with neither a member nor a card.
    let inflow = RawCard { direction: s("in"), org_id: s(t.b1.id), ..outflow("", "LR-9") };
    assert_invalid(mb::record(&db, &t.sec, &RawCard { member_id: None, ..inflow }).await, "member_id");
    // Card numbers are unique.
    mb::record(&db, &t.sec, &outflow(t.members[0].id, "LC-1")).await.unwrap();
    assert_invalid(mb::record(&db, &t.sec, &outflow(t.members[1].id, "lc-1")).await, "card_no");
    // A contact before the card started, and one on a bad channel.
    let id: i64 =
        db.int("SELECT id FROM mobility_cards WHERE card_no = 'LC-1'", redcell_store::Args::new()).await.unwrap();
    let early = RawContact { on_date: s(today() - chrono::Duration::days(365)), channel: s("call"), note: None };
    assert_invalid(mb::add_contact(&db, &t.sec, CardId::new(id), &early).await, "on_date");
    let odd = RawContact { on_date: None, channel: s("pigeon"), note: None };
    assert_invalid(mb::add_contact(&db, &t.sec, CardId::new(id), &odd).await, "channel");
    assert_eq!(count(&db, "mobility_cards").await, before + 1);
    assert_eq!(count(&db, "mobility_contacts").await, 0);
}

async fn a_relation_is_transferred_step_by_step(db: Db) {
    let t = tenant(&db).await;
    let zhang = t.members[0].id; // B1, under C1
    let to = |code: &str| RawTransfer {
        member_id: s(zhang),
        to_org_code: s(code),
        to_outside: None,
        reason: s("工作调动，常住东风社区"),
    };
    // Bad input, named and not written.
    assert_invalid(tr::start(&db, &t.sec, &to("B1")).await, "to_org_code");
    assert_invalid(tr::start(&db, &t.sec, &to("NOPE")).await, "to_org_code");
    assert_invalid(tr::start(&db, &t.sec, &RawTransfer { to_org_code: None, ..to("B2") }).await, "to_org_code");
    assert_eq!(count(&db, "org_transfers").await, 0);

    // Within the community: the community approves. The branch may revoke before that.
    let first = tr::start(&db, &t.sec, &to("B2")).await.unwrap();
    assert_eq!(first.state, "pending");
    assert_eq!(mb::standing_of(&db, t.root.id.get(), zhang).await.unwrap(), Standing::Transferring);
    assert_invalid(tr::start(&db, &t.sec, &to("B2")).await, "member_id");
    let id = TransferId::new(first.id);
    let view = tr::transfer(&db, &t.sec, id).await.unwrap();
    assert_eq!(view.steps.iter().map(|x| x.org_id).collect::<Vec<_>>(), vec![t.c1.id.get()]);
    assert!(!view.may_decide && view.may_revoke);
    // The branch is not in the chain.
    let yes = RawDecision { decision: s("approve"), reason: None };
    assert_refused(tr::decide(&db, &t.sec, id, &yes).await);
    // Receipt before approval is refused.
    assert_invalid(tr::receive(&db, &t.admin, id, &RawReceipt::default()).await, "received_on");
    tr::revoke(&db, &t.sec, id).await.unwrap();
    assert_eq!(mb::standing_of(&db, t.root.id.get(), zhang).await.unwrap(), Standing::SelfManaged);

    // Submitted again; the community (here the street's admin, above it) approves: the letter is issued.
    let again = tr::start(&db, &t.sec, &to("B2")).await.unwrap();
    let id = TransferId::new(again.id);
    let no = RawDecision { decision: s("refuse"), reason: None };
    assert_invalid(tr::decide(&db, &t.admin, id, &no).await, "reason");
    // The tenant's administrators set letters valid for 60 days (at most 90; a branch may not).
    let days = |d: &str| RawTransferSettings { letter_days: s(d) };
    assert_eq!(tr::settings(&db, &t.sec).await.unwrap().letter_days, 90);
    assert_invalid(tr::set_settings(&db, &t.admin, &days("91")).await, "letter_days");
    assert_invalid(tr::set_settings(&db, &t.admin, &days("")).await, "letter_days");
    assert_refused(tr::set_settings(&db, &t.sec, &days("30")).await);
    assert_eq!(tr::set_settings(&db, &t.admin, &days("60")).await.unwrap().letter_days, 60);
    let approved = tr::decide(&db, &t.admin, id, &yes).await.unwrap();
    assert_eq!(approved.state, "approved");
    assert!(approved.letter_no.is_some());
    assert_eq!(approved.valid_until, approved.letter_on.map(|d| d + chrono::Duration::days(60)));
    assert_invalid(tr::revoke(&db, &t.sec, id).await, "transfer");
    // The sending branch cannot receive for the receiving one; the member stays with B1 until receipt.
    assert_refused(tr::receive(&db, &t.sec, id, &RawReceipt::default()).await);
    let (org,): (i64,) = db.one("SELECT org_id FROM members WHERE id = $1", args![zhang]).await.unwrap();
    assert_eq!(org, t.b1.id.get());
    let done = tr::receive(&db, &t.admin, id, &RawReceipt::default()).await.unwrap();
    assert_eq!(done.state, "received");
    let (org,): (i64,) = db.one("SELECT org_id FROM members WHERE id = $1", args![zhang]).await.unwrap();
    assert_eq!(org, t.b2.id.get());
    assert_eq!(mb::standing_of(&db, t.root.id.get(), zhang).await.unwrap(), Standing::SelfManaged);

    // Across communities: the member's community, then the street. A refusal needs a reason and ends it.
    let far = RawTransfer { member_id: s(zhang), to_org_code: s("B3"), to_outside: None, reason: s("搬家") };
    let x = tr::start(&db, &t.admin, &far).await.unwrap();
    let view = tr::transfer(&db, &t.admin, TransferId::new(x.id)).await.unwrap();
    assert_eq!(view.steps.iter().map(|s| s.org_id).collect::<Vec<_>>(), vec![t.c1.id.get(), t.root.id.get()]);
    tr::decide(&db, &t.admin, TransferId::new(x.id), &yes).await.unwrap();
    let refused = RawDecision { decision: s("refuse"), reason: s("材料不全") };
    let r = tr::decide(&db, &t.admin, TransferId::new(x.id), &refused).await.unwrap();
    assert_eq!((r.state.as_str(), r.closed_reason.as_deref()), ("refused", Some("材料不全")));
    let list = tr::transfers(&db, &t.admin, t.root.id).await.unwrap();
    assert_eq!(list.closed.len(), 3);
    // The member's history of moves, as far as each reader sees: the branch it left sees its own.
    assert_eq!(tr::member_transfers(&db, &t.admin, zhang).await.unwrap().len(), 3);
    assert_eq!(tr::member_transfers(&db, &t.sec, zhang).await.unwrap().len(), 2);
    assert!(list.waiting.is_empty() && list.open.is_empty());
    rosters_add_up(&db, &t).await;
    // A transfer received inside the deployment moves the member: nothing to release.
    assert_invalid(tr::release(&db, &t.admin, id).await, "transfer");

    // Out of the district: approved up to the top, the receipt slip back, then
    // the member leaves the registry — their open card ends, the transfer keeps their name.
    let li = t.members[2].id; // B2
    mb::record(&db, &t.admin, &outflow(li, "LC-2026-900")).await.unwrap();
    let out = RawTransfer {
        member_id: s(li),
        to_org_code: None,
        to_outside: s("外省某市某区某街道党工委"),
        reason: s("定居外省"),
    };
    let x = tr::start(&db, &t.admin, &out).await.unwrap();
    let xid = TransferId::new(x.id);
    assert_invalid(tr::release(&db, &t.admin, xid).await, "transfer");
    while tr::transfer(&db, &t.admin, xid).await.unwrap().may_decide {
        tr::decide(&db, &t.admin, xid, &yes).await.unwrap();
    }
    tr::receive(&db, &t.admin, xid, &RawReceipt::default()).await.unwrap();
    let view = tr::transfer(&db, &t.admin, xid).await.unwrap();
    assert!(view.may_release && !view.transfer.released);
    assert_refused(tr::release(&db, &t.sec, xid).await);
    let gone = tr::release(&db, &t.admin, xid).await.unwrap();
    assert!(gone.released);
    assert_eq!(gone.member_name, x.member_name);
    assert_eq!(db.int("SELECT COUNT(*) FROM members WHERE id = $1", args![li]).await.unwrap(), 0);
    let (open,): (i64,) = db
        .one("SELECT COUNT(*) FROM mobility_cards WHERE member_id = $1 AND ended_on IS NULL", args![li])
        .await
        .unwrap();
    assert_eq!(open, 0, "the open card ended");
    assert!(tr::transfers(&db, &t.admin, t.root.id).await.unwrap().closed.iter().any(|c| c.id == x.id && c.released));
    assert_invalid(tr::release(&db, &t.admin, xid).await, "transfer");
}

async fn deadlines_fall_on_the_responsible(db: Db) {
    let t = tenant(&db).await;
    let kinds = |r: &[mb::Reminder]| r.iter().map(|x| (x.kind.clone(), x.status.clone())).collect::<Vec<_>>();
    // Away 200 days without a word: the branch should consider a proposal; away 170 days and in touch:
    // the relation should move soon.
    let mut silent = outflow(t.members[0].id, "LC-A");
    silent.started_on = s(today() - chrono::Duration::days(200));
    mb::record(&db, &t.sec, &silent).await.unwrap();
    let mut away = outflow(t.members[1].id, "LC-B");
    away.started_on = s(today() - chrono::Duration::days(170));
    let card = mb::record(&db, &t.sec, &away).await.unwrap();
    let call = RawContact { on_date: s(today() - chrono::Duration::days(10)), channel: s("call"), note: None };
    mb::add_contact(&db, &t.sec, CardId::new(card.id), &call).await.unwrap();
    let r = mb::reminders(&db, &t.sec, today()).await.unwrap();
    assert_eq!(
        kinds(&r),
        vec![("lost_contact".to_string(), "overdue".to_string()), ("away_half_year".into(), "due_soon".into())],
        "{r:?}"
    );
    // A transfer from B2 to B1: the community approves (the admin above it is asked), then B1 receives.
    let raw =
        RawTransfer { member_id: s(t.members[2].id), to_org_code: s("B1"), to_outside: None, reason: s("搬家") };
    let x = tr::start(&db, &t.admin, &raw).await.unwrap();
    assert!(
        kinds(&mb::reminders(&db, &t.admin, today()).await.unwrap()).contains(&("approve".into(), "waiting".into()))
    );
    assert!(!kinds(&mb::reminders(&db, &t.sec, today()).await.unwrap()).iter().any(|k| k.0 == "approve"));
    tr::decide(&db, &t.admin, TransferId::new(x.id), &RawDecision { decision: s("approve"), reason: None })
        .await
        .unwrap();
    assert!(kinds(&mb::reminders(&db, &t.sec, today()).await.unwrap()).contains(&("receive".into(), "waiting".into())));
    // The branch proposes stopping the silent member's membership; it waits for the branch's decision
    // (nothing is decided by the system); a second proposal is refused; removal is not due.
    let silent_card: i64 =
        db.int("SELECT id FROM mobility_cards WHERE card_no = 'LC-A'", redcell_store::Args::new()).await.unwrap();
    let stop = mb::RawProposal { kind: s("stop"), reason: s("电话、微信均联系不上") };
    let early = mb::RawProposal { kind: s("stop"), reason: s("太早") };
    assert_invalid(mb::propose(&db, &t.sec, CardId::new(card.id), &early).await, "kind");
    let pr = mb::propose(&db, &t.sec, CardId::new(silent_card), &stop).await.unwrap();
    assert_invalid(mb::propose(&db, &t.sec, CardId::new(silent_card), &stop).await, "kind");
    let remove = mb::RawProposal { kind: s("remove"), reason: s("x") };
    assert_invalid(mb::propose(&db, &t.sec, CardId::new(silent_card), &remove).await, "kind");
    assert!(
        kinds(&mb::reminders(&db, &t.sec, today()).await.unwrap())
            .contains(&("decide_proposal".into(), "waiting".into()))
    );
    let adopt = mb::RawProposalDecision { decision: s("adopted"), note: s("支部大会讨论通过") };
    let decided =
        mb::decide_proposal(&db, &t.sec, redcell_domain::mobility::ProposalId::new(pr.id), &adopt).await.unwrap();
    assert_eq!(decided.decision_label(), "通过");
    assert_invalid(
        mb::decide_proposal(&db, &t.sec, redcell_domain::mobility::ProposalId::new(pr.id), &adopt).await,
        "decision",
    );
    let view = mb::card(&db, &t.sec, CardId::new(silent_card)).await.unwrap();
    assert_eq!((view.proposals.len(), view.proposable), (1, None), "removal only two years on");
    // A member's account has no such deadlines.
    let member =
        redcell_store::auth::add_user(&db, "member.0", "党员", PASSWORD, redcell_domain::Role::Member, "B1").await;
    member.unwrap();
    let (m0, _) = sign_in(&db, "member.0").await;
    assert!(mb::reminders(&db, &m0, today()).await.unwrap().is_empty());
}

/// A street of 3,000 households: the self-managed roster has more members
/// than a page lists; the counts still add up to every member, the page
/// shows the first lines in the organisations' order, the file has all.
async fn a_street_roster_page_shows_its_first_lines(db: Db) {
    let opts = redcell_store::demo::DemoOptions { households: 3000, seed: 5, admin_password: None, replace: false };
    let demo = redcell_store::demo::generate(&db, &opts, &|_, _| {}).await.expect("demo");
    redcell_store::auth::add_user(&db, "street_admin", "街道管理员", PASSWORD, redcell_domain::Role::Admin, "DEMO")
        .await
        .unwrap();
    let (admin, _) = sign_in(&db, "street_admin").await;
    let street = redcell_domain::OrgId::new(demo.tenant_id);
    let r = mb::rosters(&db, &admin, street, Some("self")).await.unwrap();
    let members = db.int("SELECT COUNT(*) FROM members WHERE tenant_id = $1", args![demo.tenant_id]).await.unwrap();
    assert_eq!(
        (r.self_managed + r.inservice + r.mobile) as i64,
        members,
        "{} {} {}",
        r.self_managed,
        r.inservice,
        r.mobile
    );
    assert!(r.self_managed > mb::ROSTER_LINES, "the demo has {} self-managed", r.self_managed);
    assert!(r.truncated && r.lines.len() == mb::ROSTER_LINES);
    assert!(r.lines.iter().all(|l| ["self", "returned", "transferring"].contains(&l.standing.as_str())));
    // The first lines are those of the first organisations in the tree.
    let first: Vec<(i64,)> = db
        .all(
            "SELECT m.id FROM members m JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
             JOIN residents x ON x.tenant_id = m.tenant_id AND x.id = m.resident_id \
             WHERE m.tenant_id = $1 ORDER BY o.path, x.name, m.id LIMIT 5",
            args![demo.tenant_id],
        )
        .await
        .unwrap();
    let shown: Vec<i64> = r.lines.iter().map(|l| l.member_id).collect();
    assert!(first.iter().all(|(id,)| shown.contains(id)), "the first members in order are listed");
    // The mobile roster lists everyone away, the lost first.
    let m = mb::rosters(&db, &admin, street, Some("mobile")).await.unwrap();
    assert_eq!(m.lines.len(), m.mobile);
    let lost = m.lines.iter().take_while(|l| l.standing == "lost").count();
    assert_eq!(lost, m.lost);
}
