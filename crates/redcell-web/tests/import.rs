//! Rosters in through the pages: upload, check as a background job, see each
//! error, download the error sheet, import the corrected file, undo the batch.
//! On SQLite and (with `REDCELL_TEST_PG`) PostgreSQL:
//! `cargo test -p redcell-web --test import`.

use redcell_testkit::app::*;

stories!(upload_check_commit_undo);

async fn upload_check_commit_undo(t: &TestApp) {
    let w = world(t).await;
    let s = w.admin.as_str();
    let b = &w.b[0];
    let grid_code = "C1-G1";
    let new_id = synth_id(date(1991, 5, 6), 771);
    t.secret(&new_id);
    let page = t.page("/import", s).await;
    page.expect(200);
    let csrf = csrf_of(&page.body);
    assert!(page.body.contains("/import/templates/households.xlsx"));
    let tpl = t.page("/import/templates/households.xlsx", s).await;
    tpl.expect(200);
    assert!(tpl.bytes.starts_with(b"PK"));

    // A file with errors: bad ID check digit, unknown building.
    let mut bad_id = new_id.clone();
    bad_id.replace_range(17..18, if new_id.ends_with('1') { "2" } else { "1" });
    let bad = format!(
        "网格编码,楼栋名称,单元,房号,姓名,身份证号\n{grid_code},{},1,302,新住户,{bad_id}\n{grid_code},无此楼,1,303,另一人,{new_id}\n",
        b.building_name
    );
    let before = t.counts(s).await;
    let r = t.upload_import(s, &csrf, "households", "名单.csv", bad.as_bytes()).await;
    r.expect(303);
    let job = r.location();
    let waiting = t.page(&job, s).await;
    waiting.expect(200);
    assert!(waiting.body.contains("data-job-poll"), "a queued job shows progress: {}", waiting.body);
    t.work_imports().await;
    let checked = t.page(&job, s).await;
    checked.expect(200);
    assert!(checked.body.contains("校验位"), "{}", checked.body);
    assert!(checked.body.contains("楼栋名称") && checked.body.contains("无此楼"), "{}", checked.body);
    assert!(!checked.body.contains("id=\"commit\""), "no import button when there are errors");
    let sheet = t.page(&format!("{job}/errors.xlsx"), s).await;
    sheet.expect(200);
    let mut rows = Vec::new();
    redcell_docs::read::read_rows(&sheet.bytes, 1 << 20, &mut |n, c| {
        rows.push((n, c.into_iter().map(|c| c.text).collect::<Vec<_>>()));
        true
    })
    .expect("error sheet reads back");
    assert!(rows[1].1.last().unwrap().contains("身份证号"), "{rows:?}");
    assert!(rows[2].1.last().unwrap().contains("楼栋名称"), "{rows:?}");
    assert_eq!(t.counts(s).await, before, "nothing written");

    // The corrected file.
    let good =
        format!("网格编码,楼栋名称,单元,房号,姓名,身份证号\n{grid_code},{},1,302,新住户,{new_id}\n", b.building_name);
    let r = t.upload_import(s, &csrf, "households", "名单.csv", good.as_bytes()).await;
    let job = r.location();
    t.work_imports().await;
    let checked = t.page(&job, s).await;
    assert!(checked.body.contains("id=\"count-new\">1<"), "{}", checked.body);
    assert!(checked.body.contains("id=\"commit\""));
    t.session_form(&format!("{job}/commit"), s, &[("_csrf", &csrf)]).await.expect(303);
    t.work_imports().await;
    let done = t.page(&job, s).await;
    assert!(done.body.contains("id=\"import-done\""), "{}", done.body);
    let after = t.counts(s).await;
    assert_eq!(after["residents"], before["residents"] + 1);
    let list = t.page("/import", s).await;
    assert!(list.body.contains("名单.csv"));
    let batch: i64 =
        list.body.split("/import/batches/").nth(1).and_then(|x| x.split('/').next()).unwrap().parse().unwrap();
    t.session_form(&format!("/import/batches/{batch}/undo"), s, &[("_csrf", &csrf)]).await.expect(303);
    assert_eq!(t.counts(s).await["residents"], before["residents"]);
    // The secretary of the other branch cannot see the admin's job.
    let other = t.page(&job, &w.sec1).await;
    assert_eq!(other.code(), 404);
}
