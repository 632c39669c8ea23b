//! Rosters in for members through the pages, and the import link shown only
//! to those who may import. On SQLite and (with `REDCELL_TEST_PG`) PostgreSQL:
//! `cargo test -p redcell-web --test import_kinds`.

use redcell_domain::Role;
use redcell_testkit::app::*;

stories!(members_errors_then_corrected_file, import_link_only_for_importers);

async fn members_errors_then_corrected_file(t: &TestApp) {
    let w = world(t).await;
    let s = w.admin.as_str();
    let b = &w.b[0];
    let page = t.page("/import", s).await;
    page.expect(200);
    let csrf = csrf_of(&page.body);
    assert!(page.body.contains("/import/templates/members.xlsx"));
    let tpl = t.page("/import/templates/members.xlsx", s).await;
    tpl.expect(200);
    assert!(tpl.bytes.starts_with(b"PK"));

    let new1 = synth_id(date(1980, 2, 3), 881);
    let new2 = synth_id(date(1990, 4, 5), 882);
    t.secret(&new1);
    t.secret(&new2);
    let mut bad_id = new1.clone();
    bad_id.replace_range(17..18, if new1.ends_with('1') { "2" } else { "1" });
    let head = "身份证号,姓名,所在党组织编码,党员类别,党员状态,入党日期\n";
    let bad = format!(
        "{head}{bad_id},党员甲,{code},农民/社区党员,正式党员,2005-07-01\n{new2},党员乙,NO-SUCH,流动党员,预备党员,2025-07-01\n",
        code = b.branch_code
    );
    let before = t.counts(s).await;
    let r = t.upload_import(s, &csrf, "members", "党员.csv", bad.as_bytes()).await;
    r.expect(303);
    let job = r.location();
    t.work_imports().await;
    let checked = t.page(&job, s).await;
    checked.expect(200);
    assert!(checked.body.contains("校验位"), "{}", checked.body);
    assert!(checked.body.contains("所在党组织编码") && checked.body.contains("NO-SUCH"), "{}", checked.body);
    assert!(!checked.body.contains("id=\"commit\""), "no import button when there are errors");
    let sheet = t.page(&format!("{job}/errors.xlsx"), s).await;
    sheet.expect(200);
    assert_eq!(t.counts(s).await, before, "nothing written");

    let good = format!(
        "{head}{new1},党员甲,{code},农民/社区党员,正式党员,2005-07-01\n{new2},党员乙,{code},流动党员,预备党员,2025-07-01\n",
        code = b.branch_code
    );
    let r = t.upload_import(s, &csrf, "members", "党员.csv", good.as_bytes()).await;
    let job = r.location();
    t.work_imports().await;
    let checked = t.page(&job, s).await;
    assert!(checked.body.contains("id=\"count-new\">2<"), "{}", checked.body);
    assert!(checked.body.contains("id=\"commit\""));
    t.session_form(&format!("{job}/commit"), s, &[("_csrf", &csrf)]).await.expect(303);
    t.work_imports().await;
    let done = t.page(&job, s).await;
    assert!(done.body.contains("id=\"import-done\""), "{}", done.body);
    let after = t.counts(s).await;
    assert_eq!(after["members"], before["members"] + 2);
    assert_eq!(after["residents"], before["residents"] + 2, "residents created for the new people");
    let list = t.page("/import", s).await;
    let batch: i64 =
        list.body.split("/import/batches/").nth(1).and_then(|x| x.split('/').next()).unwrap().parse().unwrap();
    t.session_form(&format!("/import/batches/{batch}/undo"), s, &[("_csrf", &csrf)]).await.expect(303);
    let undone = t.counts(s).await;
    assert_eq!((undone["members"], undone["residents"]), (before["members"], before["residents"]));
}

async fn import_link_only_for_importers(t: &TestApp) {
    let w = world(t).await;
    // An auditor reads the registry but may not import: no link, and the page is refused.
    redcell_store::auth::add_user(&t.db, "auditor9", "审计员", "audit-pass-2026", Role::Auditor, "S1")
        .await
        .expect("add auditor");
    let auditor = t.api_login("auditor9", "audit-pass-2026").await;
    let home = t.page("/orgs", &auditor).await;
    home.expect(200);
    assert!(home.body.contains("href=\"/orgs\""), "the registry link is there: {}", home.body);
    assert!(!home.body.contains("href=\"/import\""), "no import link for an auditor");
    assert_eq!(t.page("/import", &auditor).await.code(), 403);
    for who in [&w.admin, &w.sec1] {
        let page = t.page("/orgs", who).await;
        assert!(page.body.contains("href=\"/import\""), "importers see the link");
    }
}
