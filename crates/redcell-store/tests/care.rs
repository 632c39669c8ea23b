//! The care fund on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL: income,
//! an application decided at two levels by different people and paid, the
//! publication, refusals that write nothing, reversal, bank check and close.
//! `cargo test -p redcell-store --test care`.

use redcell_domain::Role;
use redcell_domain::care::{ApplicationId, EntryId, FundId};
use redcell_store::care::{self, RawApplication, RawDated, RawDecision, RawFund, RawIncome};
use redcell_store::{Db, Principal, StoreError, args, auth};
use redcell_testkit::store::*;

stories!(
    a_payment_goes_from_application_to_publication,
    refusals_write_nothing,
    a_hardship_case_gathers_help_and_payments
);

async fn account(db: &Db, name: &str, role: Role, code: &str) -> Principal {
    auth::add_user(db, name, name, PASSWORD, role, code).await.unwrap();
    sign_in(db, name).await.0
}

fn field(e: &StoreError) -> String {
    match e {
        StoreError::Invalid(i) => i.0.iter().map(|f| f.field.clone()).collect::<Vec<_>>().join(","),
        StoreError::Denied(f) => format!("denied:{}", f.field),
        other => format!("{other:?}"),
    }
}

async fn count(db: &Db, table: &str) -> i64 {
    db.int(&format!("SELECT COUNT(*) FROM {table}"), args![]).await.unwrap()
}

struct World {
    t: Tenant,
    community: Principal,
    street: Principal,
    fund: FundId,
}

async fn world(db: &Db) -> World {
    let t = tenant(db).await;
    let community = account(db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let street = account(db, "street.admin", Role::OrgAdmin, &t.root.code).await;
    let raw =
        RawFund {
            org_id: s(t.c1.id), name: s("第一社区关爱基金"), approval_levels: s("2"), publish_days: s("7")
        };
    // A branch secretary cannot open a fund for the community.
    let e = care::create_fund(db, &t.sec, &raw).await.unwrap_err();
    assert_eq!(field(&e), "org_id", "the community is outside a branch secretary's scope");
    let f = care::create_fund(db, &t.admin, &raw).await.unwrap();
    World { t, community, street, fund: FundId::new(f.id) }
}

fn income(yuan: &str) -> RawIncome {
    RawIncome { source: s("party_fee"), amount: s(yuan), date: None, memo: s("党费补贴"), receipt: s("SJ001") }
}

fn approve(reason: &str) -> RawDecision {
    RawDecision { decision: s("approve"), amount: None, reason: s(reason) }
}

async fn a_payment_goes_from_application_to_publication(db: Db) {
    let w = world(&db).await;
    let (t, fund) = (&w.t, w.fund);
    care::record_income(&db, &t.admin, fund, &income("1,000")).await.unwrap();
    assert_eq!(care::view(&db, &t.admin, fund).await.unwrap().bank, 100_000);

    let raw = RawApplication {
        case_id: None,
        member_id: s(t.members[0].id),
        person_name: None,
        purpose: s("illness"),
        amount: s("600"),
        reason: s("住院手术，家庭无力负担"),
    };
    let app = ApplicationId::new(care::apply(&db, &t.admin, fund, &raw).await.unwrap());
    // Whoever applied cannot decide.
    let e = care::decide(&db, &t.admin, app, &approve("同意")).await.unwrap_err();
    assert_eq!(field(&e), "decision");
    // Level 1 (the community) lowers the amount; level 2 is the street's.
    let lower = RawDecision { decision: s("approve"), amount: s("500"), reason: s("核实后按标准") };
    let a = care::decide(&db, &w.community, app, &lower).await.unwrap();
    assert_eq!((a.state.as_str(), a.approved_amount), ("applied", Some(50_000)));
    let e = care::decide(&db, &w.community, app, &approve("同意")).await.unwrap_err();
    assert_eq!(field(&e), "denied:decision", "the community does not decide the street's level");
    let a = care::decide(&db, &w.street, app, &approve("同意")).await.unwrap();
    assert_eq!((a.state.as_str(), a.approved_amount), ("approved", Some(50_000)));
    // A decider does not record the payment.
    let e = care::pay(&db, &w.street, app, &RawDated::default()).await.unwrap_err();
    assert_eq!(field(&e), "date");
    let paid = care::pay(&db, &t.admin, app, &RawDated::default()).await.unwrap();
    let v = care::view(&db, &t.admin, fund).await.unwrap();
    assert_eq!((v.bank, v.paid_this_year), (50_000, 50_000));

    // The publication: family name, no reason, the approved amount.
    let (_, _, days, list) = care::published(&db, fund.get()).await.unwrap();
    assert_eq!(days, 7);
    assert_eq!(list.len(), 1);
    assert!(list[0].name.ends_with('某') && list[0].name.chars().count() == 2, "{}", list[0].name);
    assert_eq!((list[0].amount, list[0].purpose.as_str()), (50_000, "生活困难帮扶"));

    // A correction is a reversal: the money is back and the payment is off the list.
    let back = RawDated { reason: s("金额登记错误"), ..RawDated::default() };
    care::reverse(&db, &t.admin, EntryId::new(paid), &back).await.unwrap();
    let e = care::reverse(&db, &t.admin, EntryId::new(paid), &back).await.unwrap_err();
    assert_eq!(field(&e), "entry", "twice");
    assert_eq!(care::view(&db, &t.admin, fund).await.unwrap().bank, 100_000);
    assert!(care::published(&db, fund.get()).await.unwrap().3.is_empty());
    let (a, decisions, _) = care::application(&db, &t.admin, app).await.unwrap();
    assert_eq!((a.state.as_str(), decisions.len()), ("approved", 2));

    // The bank statement agrees, or the gap is named.
    let check = |yuan: &str| RawDated { statement: s(yuan), ..RawDated::default() };
    assert_eq!(care::assert_balance(&db, &t.admin, fund, &check("1000.00")).await.unwrap(), 0);
    assert_eq!(care::assert_balance(&db, &t.admin, fund, &check("999")).await.unwrap(), -100);

    // Every entry's lines sum to zero.
    let unbalanced = db
        .int(
            "SELECT COUNT(*) FROM (SELECT entry_id FROM care_lines GROUP BY entry_id HAVING SUM(amount) <> 0) x",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(unbalanced, 0);
    // The reason is seen in scope, and a branch secretary outside the community sees nothing.
    assert!(care::view(&db, &t.sec, fund).await.is_err());
}

async fn refusals_write_nothing(db: Db) {
    let w = world(&db).await;
    let (t, fund) = (&w.t, w.fund);
    care::record_income(&db, &t.admin, fund, &income("100")).await.unwrap();
    let before =
        (count(&db, "care_entries").await, count(&db, "care_lines").await, count(&db, "care_applications").await);

    let bad = RawIncome { source: s("lottery"), amount: s("12.345"), memo: None, ..RawIncome::default() };
    let e = care::record_income(&db, &t.admin, fund, &bad).await.unwrap_err();
    assert_eq!(field(&e), "source,amount,memo");
    let bad = RawApplication { purpose: s("illness"), amount: s("0"), reason: s("x"), ..RawApplication::default() };
    let e = care::apply(&db, &t.admin, fund, &bad).await.unwrap_err();
    assert_eq!(field(&e), "amount,person_name");

    // Approved above the balance: the payment is refused, nothing written.
    let raw = RawApplication {
        person_name: s("王秀英"),
        purpose: s("disaster"),
        amount: s("300"),
        reason: s("房屋受损"),
        ..RawApplication::default()
    };
    let app = ApplicationId::new(care::apply(&db, &t.admin, fund, &raw).await.unwrap());
    care::decide(&db, &w.community, app, &approve("同意")).await.unwrap();
    let over = RawDecision { decision: s("approve"), amount: s("400"), reason: s("多给") };
    assert_eq!(field(&care::decide(&db, &w.street, app, &over).await.unwrap_err()), "amount");
    care::decide(&db, &w.street, app, &approve("同意")).await.unwrap();
    let e = care::pay(&db, &t.admin, app, &RawDated::default()).await.unwrap_err();
    assert_eq!(field(&e), "amount");
    assert_eq!(care::application(&db, &t.admin, app).await.unwrap().0.state, "approved");

    // A future date, a missing entry, the current year's close.
    let future = RawIncome { date: s("2999-01-01"), ..income("1") };
    assert_eq!(field(&care::record_income(&db, &t.admin, fund, &future).await.unwrap_err()), "date");
    let back = RawDated { reason: s("错"), ..RawDated::default() };
    assert!(care::reverse(&db, &t.admin, EntryId::new(999_999), &back).await.is_err());
    let this_year = chrono::Datelike::year(&redcell_store::coverage::today()).to_string();
    let e = care::close_year(&db, &t.admin, fund, &RawDated { year: s(this_year), ..RawDated::default() })
        .await
        .unwrap_err();
    assert_eq!(field(&e), "year");

    let after =
        (count(&db, "care_entries").await, count(&db, "care_lines").await, count(&db, "care_applications").await);
    assert_eq!((after.0, after.1), (before.0, before.1), "no entry written by a refusal");
    assert_eq!(after.2, before.2 + 1, "only the valid application");
}

async fn a_hardship_case_gathers_help_and_payments(db: Db) {
    use redcell_domain::care::CaseId;
    use redcell_store::hardship::{self as hs, RawCase, RawHelp, RawReview};
    let w = world(&db).await;
    let t = &w.t;
    let today = redcell_store::coverage::today();
    // A member of the 生活困难党员 class without a case is offered.
    db.exec("UPDATE members SET category = 'hardship' WHERE id = $1", args![t.members[0].id.get()]).await.unwrap();
    let list = hs::cases(&db, &t.admin, t.root.id).await.unwrap();
    assert_eq!(list.uncovered.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), vec!["张一"]);

    let raw = |member: usize| RawCase {
        member_id: s(t.members[member].id),
        household_id: None,
        situation: s("老伴长期住院，家中无其他收入"),
        review_on: None,
    };
    let before = count(&db, "hardship_cases").await;
    // Refused, naming the field: out of scope, neither or both subjects, a review date in the past.
    let e = hs::open(&db, &t.sec, &raw(3)).await.unwrap_err();
    assert_eq!(field(&e), "member_id", "another community's member is not found");
    let e = hs::open(&db, &t.sec, &RawCase { member_id: None, ..raw(0) }).await.unwrap_err();
    assert_eq!(field(&e), "member_id");
    let both = RawCase { household_id: s(t.households[0].id), ..raw(0) };
    assert_eq!(field(&hs::open(&db, &t.sec, &both).await.unwrap_err()), "member_id");
    let past = RawCase { review_on: s(today - chrono::Duration::days(1)), ..raw(0) };
    assert_eq!(field(&hs::open(&db, &t.sec, &past).await.unwrap_err()), "review_on");
    assert_eq!(count(&db, "hardship_cases").await, before);

    // The branch secretary opens it; a second open case is refused.
    let c = hs::open(&db, &t.sec, &raw(0)).await.unwrap();
    assert_eq!((c.subject.as_str(), c.review_on), ("张一", today + chrono::Duration::days(91)));
    assert_eq!(field(&hs::open(&db, &t.sec, &raw(0)).await.unwrap_err()), "member_id");
    assert!(hs::cases(&db, &t.admin, t.root.id).await.unwrap().uncovered.is_empty());
    let id = CaseId::new(c.id);
    // A household case too.
    let hc = hs::open(&db, &t.sec, &RawCase { member_id: None, household_id: s(t.households[0].id), ..raw(0) })
        .await
        .unwrap();
    assert!(hc.subject.contains(&t.buildings[0].name), "{}", hc.subject);

    // Help given.
    let help = |kind: &str, on: chrono::NaiveDate| RawHelp { given_on: s(on), kind: s(kind), what: s("送米面油") };
    assert_eq!(field(&hs::add_help(&db, &t.sec, id, &help("cash", today)).await.unwrap_err()), "kind");
    let e = hs::add_help(&db, &t.sec, id, &help("goods", today + chrono::Duration::days(1))).await.unwrap_err();
    assert_eq!(field(&e), "given_on");
    hs::add_help(&db, &t.sec, id, &help("goods", today)).await.unwrap();

    // A payment applied for from the case: the case's member is the one helped.
    let from_case = RawApplication {
        case_id: s(c.id),
        member_id: None,
        person_name: None,
        purpose: s("illness"),
        amount: s("600"),
        reason: s("住院自付部分"),
    };
    let app = care::apply(&db, &t.admin, w.fund, &from_case).await.unwrap();
    let (a, _, _) = care::application(&db, &t.admin, ApplicationId::new(app)).await.unwrap();
    assert_eq!((a.member_id, a.case_id, a.person_name.as_str()), (Some(t.members[0].id.get()), Some(c.id), "张一"));
    let v = hs::case(&db, &t.admin, id).await.unwrap();
    assert_eq!((v.help.len(), v.applications.len(), v.funds.len()), (1, 1, 1));
    // The branch secretary sees the case but no fund of the community to apply to.
    // nor may they open the application (the community's fund is outside their scope).
    let theirs = hs::case(&db, &t.sec, id).await.unwrap();
    assert!(theirs.funds.is_empty() && theirs.readable.is_empty() && theirs.applications.len() == 1);
    assert_eq!(hs::case(&db, &t.admin, id).await.unwrap().readable, vec![app]);

    // Review moves the date; closing keeps the history and stops new help and payments.
    let next = today + chrono::Duration::days(30);
    assert_eq!(
        hs::review(&db, &t.sec, id, &RawReview { review_on: s(next), reason: None }).await.unwrap().review_on,
        next
    );
    assert_eq!(field(&hs::close(&db, &t.sec, id, &RawReview::default()).await.unwrap_err()), "reason");
    let closed =
        hs::close(&db, &t.sec, id, &RawReview { review_on: None, reason: s("已就业，收入稳定") }).await.unwrap();
    assert!(!closed.is_open());
    assert_eq!(field(&hs::add_help(&db, &t.sec, id, &help("goods", today)).await.unwrap_err()), "case_id");
    assert_eq!(field(&care::apply(&db, &t.admin, w.fund, &from_case).await.unwrap_err()), "case_id");
    let v = hs::case(&db, &t.admin, id).await.unwrap();
    assert_eq!((v.help.len(), v.applications.len()), (1, 1), "the history stays");
    // Collective birthdays: 张一 was born on 15 March.
    let year = chrono::Datelike::year(&today);
    let march = hs::birthdays(&db, &t.admin, t.root.id, year, 3).await.unwrap();
    let names: Vec<&str> = march.groups.iter().flat_map(|g| g.members.iter().map(|m| m.name.as_str())).collect();
    assert_eq!(names, vec!["张一"]);
    assert_eq!(march.groups[0].members[0].age(&year), year - 1960);
    assert!(hs::birthdays(&db, &t.sec, t.root.id, year, 3).await.is_err(), "outside the secretary's scope");
    assert!(hs::birthdays(&db, &t.admin, t.root.id, year, 13).await.is_err());
    // Now the member is offered again for a new case.
    assert_eq!(hs::cases(&db, &t.admin, t.root.id).await.unwrap().uncovered.len(), 1);
}
