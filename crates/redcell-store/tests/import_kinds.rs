//! Rosters in for members, cadres and contact relations: errors named by row
//! and column, nothing written while any row is wrong, upsert with the changes
//! shown, the coverage service's rules for contacts, batches undone.
//! Each story runs on SQLite and (with `REDCELL_TEST_PG`) on PostgreSQL:
//! `cargo test -p redcell-store --test import_kinds`.

use redcell_domain::rosters::ImportKind;
use redcell_store::import::{self, Report, Stage, Upload};
use redcell_store::registry::members;
use redcell_store::{Db, Principal, StoreError, args};
use redcell_testkit::store::import_id as id;
use redcell_testkit::store::*;

stories!(
    members_assessment_columns,
    members_errors_named_and_nothing_written,
    members_upsert_create_residents_and_undo,
    members_limited_to_scope,
    cadres_upsert_link_members_and_undo,
    contacts_follow_the_coverage_rules_and_undo,
    contacts_cadre_outside_read_scope_unknown,
    abandoned_jobs_purged_after_a_day,
    undo_refused_while_duties_point_at_the_rows,
    members_outside_read_scope_unknown,
    rows_changed_after_the_check_fail_the_batch,
    undo_needs_the_prior_organisations_in_scope,
    inservice_reports_upsert_and_undo,
    mobility_cards_upsert_pair_and_undo,
);

async fn run(db: &Db, p: &Principal, kind: ImportKind, bytes: &[u8], commit: bool) -> Report {
    run_import(db, p, kind, "名册.csv", bytes, commit).await
}

async fn count(db: &Db, table: &str) -> i64 {
    db.int(&format!("SELECT COUNT(*) FROM {table}"), redcell_store::Args::new()).await.unwrap()
}

const MEMBERS_HEAD: &str =
    "身份证号,姓名,出生日期,联系电话,所在党组织编码,党员类别,党员状态,入党日期,工作单位,中心户\n";

/// The registry fields the assessment reads come in with the roster: a blank
/// cell keeps what is stored, a bad one is named, undo restores.
async fn members_assessment_columns(db: Db) {
    let t = tenant(&db).await;
    let head = "身份证号,所在党组织编码,党员类别,党内职务,学历,社工证,两委交叉任职,本年度培训天数\n";
    let zhang = &t.id_numbers[0];
    let bad = format!("{head}{zhang},B1,农民/社区党员,书记,博士,是,否,9\n");
    let r = run(&db, &t.admin, ImportKind::Members, bad.as_bytes(), true).await;
    assert!(r.errors.iter().any(|e| e.row == 2 && e.column == "学历"), "{:#?}", r.errors);
    assert!(r.batch_id.is_none());
    let good = format!("{head}{zhang},B1,农民/社区党员,书记,大专,是,否,9\n");
    let r = run(&db, &t.admin, ImportKind::Members, good.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    let m = members::get(&db, &t.admin, t.members[0].id).await.unwrap();
    assert_eq!(m.party_post.map(|c| c.0.code()), Some("secretary"));
    assert_eq!(m.education.map(|c| c.0.code()), Some("college"));
    assert!(m.social_worker_cert && !m.cross_appointed);
    assert_eq!(m.training_days, Some(9));
    // Blank cells keep the stored values.
    let blank = format!("{head}{zhang},B1,农民/社区党员,,,,,\n");
    let again = run(&db, &t.admin, ImportKind::Members, blank.as_bytes(), false).await;
    assert_eq!((again.counts.changed, again.counts.unchanged), (0, 1), "{:#?}", again.changes);
    import::undo(&db, &t.admin, batch).await.unwrap();
    let m = members::get(&db, &t.admin, t.members[0].id).await.unwrap();
    assert!(m.party_post.is_none() && m.education.is_none() && m.training_days.is_none() && !m.social_worker_cert);
}

async fn members_errors_named_and_nothing_written(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    let mut bad_check = id(801, 1981);
    bad_check.replace_range(17..18, if bad_check.ends_with('0') { "1" } else { "0" });
    let csv = format!(
        "{MEMBERS_HEAD}\
         {good},新党员,,,B1,农民/社区党员,,2010-07-01,,否\n\
         {bad_check},错校验,,,B1,农民/社区党员,,,,\n\
         {b},生日错,1990-01-01,,B1,农民/社区党员,,,,\n\
         {c},无组织,,,NOPE,农民/社区党员,,,,\n\
         {good},重复行,,,B1,农民/社区党员,,,,\n\
         {d},,,,B1,农民/社区党员,,,,\n\
         {known},不是王一,,,B1,农民/社区党员,,,,\n\
         {e},太年轻,,,B1,农民/社区党员,,1990-01-01,,\n\
         {f},类别错,,,B1,群众,也许,,,也许\n",
        good = id(800, 1980),
        b = id(802, 1982),
        c = id(803, 1983),
        d = id(804, 1984),
        known = t.id_numbers[2],
        e = id(805, 1985),
        f = id(806, 1986),
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let r = run(&db, &t.admin, ImportKind::Members, &gbk, true).await;
    assert!(r.batch_id.is_none());
    assert!(has_error(&r, 3, "身份证号", "校验"), "{:#?}", r.errors);
    assert!(has_error(&r, 4, "出生日期", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 5, "所在党组织编码", "不存在"), "{:#?}", r.errors);
    assert!(has_error(&r, 6, "身份证号", "第2行"), "{:#?}", r.errors);
    // The messages come from the one catalogue of UI strings.
    use redcell_domain::i18n;
    let unknown_org = format!("{}{}", i18n::IMPORT_REF_PARTY_ORG_CODE, i18n::IMPORT_UNKNOWN_REF);
    assert!(r.errors.iter().any(|e| e.row == 5 && e.reason == unknown_org), "{:#?}", r.errors);
    let dup = format!("{}2{}", i18n::IMPORT_DUPLICATE_IN_FILE, i18n::IMPORT_ROW_SUFFIX);
    assert!(r.errors.iter().any(|e| e.row == 6 && e.reason == dup), "{:#?}", r.errors);
    assert!(has_error(&r, 7, "姓名", "尚未登记"), "{:#?}", r.errors);
    assert!(has_error(&r, 8, "姓名", "不一致"), "{:#?}", r.errors);
    assert!(has_error(&r, 9, "入党日期", "18岁"), "{:#?}", r.errors);
    assert!(has_error(&r, 10, "党员类别", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 10, "党员状态", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 10, "中心户", "是"), "{:#?}", r.errors);
    assert!(!r.errors.iter().any(|e| e.row == 2), "row 2 is fine: {:#?}", r.errors);
    assert!(!r.errors.iter().any(|e| e.value.contains(&t.id_numbers[2])), "ID numbers masked in errors");
    assert_eq!(r.counts.errors, 8);
    assert_eq!(counts(&db).await, before, "nothing written when any row has an error");

    // The template of members: its header matches, its example rows name an
    // organisation that does not exist here.
    let xlsx = redcell_docs::rosters::template(ImportKind::Members).unwrap();
    let r = run(&db, &t.admin, ImportKind::Members, &xlsx, true).await;
    assert!(has_error(&r, 2, "所在党组织编码", "不存在"), "{:#?}", r.errors);
    assert!(!r.errors.iter().any(|e| e.row == 0), "template headers match: {:#?}", r.errors);
    assert_eq!(counts(&db).await, before);
}

async fn members_upsert_create_residents_and_undo(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    let fresh = id(811, 1975);
    // A new person (resident created); 王一, registered but not yet a member;
    // 张一, a member whose category and central flag change and whose phone
    // changes; 孙三 unchanged (blank cells keep what is stored).
    let csv = format!(
        "{MEMBERS_HEAD}\
         {fresh},新来的,1975-03-04,13911112222,B1,流动党员,预备党员,2025-07-01,,否\n\
         {wang},王一,,,B1,农民/社区党员,,2010-07-01,幸福路小学,\n\
         {zhang},张一,,13822223333,B1,老党员及离退休职工党员,,,,否\n\
         {sun},,,,B3,农民/社区党员,,,,\n",
        wang = t.id_numbers[2],
        zhang = t.id_numbers[0],
        sun = t.id_numbers[4],
    );
    let r = run(&db, &t.admin, ImportKind::Members, csv.as_bytes(), false).await;
    assert!(r.is_ok(), "{:#?}", r.errors);
    assert_eq!((r.counts.new, r.counts.changed, r.counts.unchanged), (2, 1, 1));
    let change = r.changes.iter().find(|c| c.row == 4).expect("张一 changes");
    assert!(change.fields.iter().any(|f| f.column == "党员类别" && f.after == "老党员及离退休职工党员"), "{change:?}");
    assert!(change.fields.iter().any(|f| f.column == "中心户" && f.before == "是" && f.after == "否"), "{change:?}");
    assert!(change.fields.iter().any(|f| f.column == "联系电话" && !f.after.contains("13822223333")), "masked");
    assert_eq!(counts(&db).await, before, "a dry run writes nothing");

    let r = run(&db, &t.admin, ImportKind::Members, csv.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    assert_eq!(count(&db, "members").await, t.members.len() as i64 + 2);
    let (name, org, hh): (String, i64, Option<i64>) = db
        .one("SELECT name, org_id, household_id FROM residents WHERE id_number = $1", args![fresh.clone()])
        .await
        .unwrap();
    assert_eq!(
        (name.as_str(), org, hh),
        ("新来的", t.b1.id.get(), None),
        "resident created in the member's organisation"
    );
    let (cat, status): (String, String) = db
        .one(
            "SELECT m.category, m.status FROM members m JOIN residents r ON r.id = m.resident_id WHERE r.id_number = $1",
            args![fresh.clone()],
        )
        .await
        .unwrap();
    assert_eq!((cat.as_str(), status.as_str()), ("mobile", "probationary"));
    let zhang = members::get(&db, &t.admin, t.members[0].id).await.unwrap();
    assert!(!zhang.central_household);
    assert_eq!(zhang.category.0.code(), "retired");
    let sun = members::get(&db, &t.admin, t.members[3].id).await.unwrap();
    assert_eq!(sun.joined_on, t.members[3].joined_on, "a blank join date keeps the stored one");
    assert!(sun.central_household, "a blank central flag keeps the stored one");

    // The same file again: nothing to do.
    let again = run(&db, &t.admin, ImportKind::Members, csv.as_bytes(), false).await;
    assert_eq!((again.counts.new, again.counts.changed, again.counts.unchanged), (0, 0, 4), "{:#?}", again.changes);

    import::undo(&db, &t.admin, batch).await.unwrap();
    let undone = counts(&db).await;
    for ((name, n), (_, m)) in undone.iter().zip(&before) {
        if *name != "audit_log" {
            assert_eq!(n, m, "{name} restored");
        }
    }
    let zhang = members::get(&db, &t.admin, t.members[0].id).await.unwrap();
    assert!(zhang.central_household);
    assert_eq!(zhang.category.0.code(), "community");
    let phone: (Option<String>,) =
        db.one("SELECT phone FROM residents WHERE id = $1", args![t.residents[0].id]).await.unwrap();
    assert_eq!(phone.0, Some(t.phones[0].clone()), "the resident's phone restored");
}

async fn members_limited_to_scope(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    // The secretary of B1 may not add a member to B2, nor change 赵二 (B2).
    let csv = format!(
        "{MEMBERS_HEAD}{},乙,,,B2,农民/社区党员,,,,\n{},赵二,,,B1,农民/社区党员,,,,\n",
        id(821, 1980),
        t.id_numbers[3]
    );
    let r = run(&db, &t.sec, ImportKind::Members, csv.as_bytes(), true).await;
    assert!(has_error(&r, 2, "所在党组织编码", "范围"), "{:#?}", r.errors);
    assert!(!r.errors.iter().any(|e| e.row == 3), "赵二 is not visible to B1: {:#?}", r.errors);
    assert_eq!(counts(&db).await, before);
    let only = format!("{MEMBERS_HEAD}{},赵二,,,B1,农民/社区党员,,,,\n", t.id_numbers[3]);
    let up = Upload {
        kind: ImportKind::Members,
        file_name: "名册.csv",
        bytes: only.as_bytes(),
        max_bytes: import::MAX_BYTES,
        today: today(),
    };
    assert!(matches!(import::run(&db, &t.sec, up, true, &quiet_import).await, Err(StoreError::Invalid(_))));
    assert_eq!(counts(&db).await, before);
}

/// A person outside the caller's scope behaves like an unknown one: no name
/// compared, none shown.
async fn members_outside_read_scope_unknown(db: Db) {
    let t = tenant(&db).await;
    // 赵二 (B2) is invisible to the secretary of B1; residents[5] lives under C2.
    let csv = format!(
        "{MEMBERS_HEAD}{zhao},别人,,13800009999,B1,农民/社区党员,,,,\n{out},,,,B1,农民/社区党员,,,,\n",
        zhao = t.id_numbers[3],
        out = t.id_numbers[5],
    );
    let admin = run(&db, &t.admin, ImportKind::Members, csv.as_bytes(), false).await;
    assert!(has_error(&admin, 2, "姓名", "不一致"), "{:#?}", admin.errors);
    let r = run(&db, &t.sec, ImportKind::Members, csv.as_bytes(), false).await;
    assert!(!r.errors.iter().any(|e| e.row == 2), "no name compared: {:#?}", r.errors);
    assert!(has_error(&r, 3, "姓名", "尚未登记"), "{:#?}", r.errors);
    assert_eq!(r.counts.new, 1);
    let shown = format!("{:?}", r);
    assert!(!shown.contains(&t.residents[3].name) && !shown.contains(&t.residents[5].name), "{shown}");
}

async fn cadres_upsert_link_members_and_undo(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    let head = "姓名,所属组织编码,干部类型,联系电话,职务,党员身份证号\n";
    let bad = format!(
        "{head}新干部,C1,街道干部,13700000001,组织委员,{zhang}\n\
         无组织,NOPE,街道干部,,,\n\
         非党员,C1,班子成员,,,{wang}\n\
         新干部,C1,街道干部,13700000001,,{zhang}\n\
         类型错,C1,书记,123,,\n",
        zhang = t.id_numbers[0],
        wang = t.id_numbers[2],
    );
    let r = run(&db, &t.admin, ImportKind::Cadres, bad.as_bytes(), true).await;
    assert!(has_error(&r, 3, "所属组织编码", "不存在"), "{:#?}", r.errors);
    assert!(has_error(&r, 4, "党员身份证号", "不是已登记的党员"), "{:#?}", r.errors);
    assert!(has_error(&r, 5, "姓名", "第2行"), "{:#?}", r.errors);
    assert!(has_error(&r, 6, "干部类型", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 6, "联系电话", ""), "{:#?}", r.errors);
    assert_eq!(r.counts.errors, 4);
    assert_eq!(counts(&db).await, before);

    // 网格员甲 of B1 (same name and phone) gets a title; 网格员乙 of B2 is
    // found by name alone (phone left blank); a new cadre is linked to 张一.
    let good = format!(
        "{head}新干部,C1,街道干部,13700000001,组织委员,{zhang}\n网格员甲,B1,网格员,13900000001,网格长,\n网格员乙,B2,网格员,,,\n",
        zhang = t.id_numbers[0]
    );
    let r = run(&db, &t.admin, ImportKind::Cadres, good.as_bytes(), true).await;
    assert!(r.is_ok(), "{:#?}", r.errors);
    assert_eq!((r.counts.new, r.counts.changed, r.counts.unchanged), (1, 1, 1));
    assert!(r.changes[0].fields.iter().any(|f| f.column == "职务" && f.after == "网格长"));
    let (member_id,): (Option<i64>,) =
        db.one("SELECT member_id FROM cadres WHERE name = '新干部'", redcell_store::Args::new()).await.unwrap();
    assert_eq!(member_id, Some(t.members[0].id.get()));
    import::undo(&db, &t.admin, r.batch_id.unwrap()).await.unwrap();
    assert_eq!(count(&db, "cadres").await, t.cadres.len() as i64);
    let (title,): (Option<String>,) =
        db.one("SELECT title FROM cadres WHERE id = $1", args![t.cadres[0].id]).await.unwrap();
    assert_eq!(title, None, "the title restored");
}

async fn contacts_follow_the_coverage_rules_and_undo(db: Db) {
    let t = tenant(&db).await;
    let head =
        "联系层级,党员身份证号,干部姓名,干部所属组织编码,网格编码,楼栋名称,单元,房号,被联系党员身份证号,开始日期\n";
    let zhang = &t.id_numbers[0];
    let li = &t.id_numbers[1];
    let zhao = &t.id_numbers[3];
    let bad = format!(
        "{head}党员联系户,{zhang},,,GR1,1幢,1,101,,2026-01-01\n\
         党员联系户,{li},,,GR1,1幢,1,101,,\n\
         党员联系户,{zhang},,,GR1,1幢,2,999,,\n\
         街道干部联系党员,,网格员甲,B1,,,,,{zhang},\n\
         街道干部联系党员,,街道干部丙,ST,,,,,{zhang},\n\
         党员联系户,{wang},,,GR1,1幢,2,201,,\n\
         党员联系户,{zhang},,,GR1,1幢,2,201,,2999-01-01\n\
         街道干部联系党员,,,,,,,,{zhao},\n",
        wang = t.id_numbers[2],
    );
    let before = count(&db, "contacts").await;
    let r = run(&db, &t.admin, ImportKind::Contacts, bad.as_bytes(), true).await;
    assert!(r.batch_id.is_none());
    assert!(has_error(&r, 3, "房号", "第2行"), "one member per household in the file: {:#?}", r.errors);
    assert!(has_error(&r, 4, "房号", "不存在"), "{:#?}", r.errors);
    // The coverage service's own rule: grid workers do not take contacts.
    assert!(has_error(&r, 5, "干部姓名", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 7, "党员身份证号", "不是已登记的党员"), "{:#?}", r.errors);
    assert!(has_error(&r, 8, "开始日期", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 9, "干部姓名", "必须填写"), "{:#?}", r.errors);
    assert!(!r.errors.iter().any(|e| e.row == 2 || e.row == 6), "rows 2 and 6 are fine: {:#?}", r.errors);
    assert_eq!(count(&db, "contacts").await, before, "nothing written, the service's rows rolled back");

    let good = format!(
        "{head}党员联系户,{zhang},,,GR1,1幢,1,101,,2026-01-01\n\
         街道干部联系党员,,街道干部丙,ST,,,,,{zhang},\n\
         街道干部联系党员,,街道干部丙,ST,,,,,{zhao},\n"
    );
    let dry = run(&db, &t.admin, ImportKind::Contacts, good.as_bytes(), false).await;
    assert!(dry.is_ok(), "{:#?}", dry.errors);
    assert_eq!(dry.counts.new, 3);
    assert_eq!(count(&db, "contacts").await, before, "a dry run writes nothing");
    let audit_before = count(&db, "audit_log").await;
    let r = run(&db, &t.admin, ImportKind::Contacts, good.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    assert_eq!(count(&db, "contacts").await, before + 3);
    assert_eq!(count(&db, "audit_log").await, audit_before + 1, "one summary audit row");
    // Contacts in force are unchanged on a second import; another member for
    // the same household is refused by the service (one member per household).
    let again = format!("{head}党员联系户,{zhang},,,GR1,1幢,1,101,,\n党员联系户,{li},,,GR1,1幢,1,101,,\n");
    let r2 = run(&db, &t.admin, ImportKind::Contacts, again.as_bytes(), false).await;
    assert_eq!(r2.counts.unchanged, 1);
    assert!(has_error(&r2, 3, "房号", ""), "{:#?}", r2.errors);

    // The secretary of B1 may not make contacts for B2's household.
    let sec = format!("{head}党员联系户,{zhang},,,GR2,2幢,1,101,,\n");
    let r3 = run(&db, &t.sec, ImportKind::Contacts, sec.as_bytes(), true).await;
    assert!(has_error(&r3, 2, "房号", "范围"), "{:#?}", r3.errors);
    // A member outside the secretary's scope is "not a member", as an unknown
    // one; a contact already held outside it is not "unchanged" for them.
    let out = format!("{head}党员联系户,{zhao},,,GR1,1幢,2,201,,\n街道干部联系党员,,街道干部丙,ST,,,,,{zhao},\n");
    let r4 = run(&db, &t.sec, ImportKind::Contacts, out.as_bytes(), false).await;
    assert!(has_error(&r4, 2, "党员身份证号", "不是已登记的党员"), "{:#?}", r4.errors);
    assert!(r4.errors.iter().any(|e| e.row == 3), "{:#?}", r4.errors);
    assert_eq!(r4.counts.unchanged, 0);

    // Undo removes the contacts; refused once one of them has been ended.
    let id: (i64,) = db
        .one(
            "SELECT id FROM contacts WHERE level = 'member_household' ORDER BY id DESC LIMIT 1",
            redcell_store::Args::new(),
        )
        .await
        .unwrap();
    db.exec("UPDATE contacts SET until = since WHERE id = $1", args![id.0]).await.unwrap();
    assert!(matches!(import::undo(&db, &t.admin, batch).await, Err(StoreError::Invalid(_))));
    db.exec("UPDATE contacts SET until = NULL WHERE id = $1", args![id.0]).await.unwrap();
    import::undo(&db, &t.admin, batch).await.unwrap();
    assert_eq!(count(&db, "contacts").await, before);
}

const CONTACTS_HEAD: &str =
    "联系层级,党员身份证号,干部姓名,干部所属组织编码,网格编码,楼栋名称,单元,房号,被联系党员身份证号,开始日期\n";

/// A cadre outside the caller's read scope behaves like one that does not
/// exist: the same error, word for word, and no contact made with them.
async fn contacts_cadre_outside_read_scope_unknown(db: Db) {
    let t = tenant(&db).await;
    // 驻格干部丁 works for B2 (out of the secretary's scope), 驻格干部戊 for B1.
    let out = cadre(&db, &t.admin, raw_cadre(t.b2.id, "stationed_cadre", "驻格干部丁", vec![])).await;
    cadre(&db, &t.admin, raw_cadre(t.b1.id, "stationed_cadre", "驻格干部戊", vec![])).await;
    let zhang = &t.id_numbers[0];
    let csv = format!(
        "{CONTACTS_HEAD}街道干部联系党员,,驻格干部丁,B2,,,,,{zhang},\n\
         街道干部联系党员,,查无此人,B2,,,,,{zhang},\n\
         街道干部联系党员,,驻格干部戊,B1,,,,,{zhang},\n"
    );
    // The administrator sees 驻格干部丁: only the unknown name is an error.
    let r = run(&db, &t.admin, ImportKind::Contacts, csv.as_bytes(), false).await;
    assert!(!r.errors.iter().any(|e| e.row != 3), "{:#?}", r.errors);
    assert_eq!(r.counts.new, 2);

    let before = count(&db, "contacts").await;
    let r = run(&db, &t.sec, ImportKind::Contacts, csv.as_bytes(), true).await;
    assert!(r.batch_id.is_none());
    let of = |row: u32| -> Vec<(String, String)> {
        r.errors.iter().filter(|e| e.row == row).map(|e| (e.column.clone(), e.reason.clone())).collect()
    };
    use redcell_domain::i18n;
    let unknown = format!("{}{}", i18n::IMPORT_REF_ORG_CADRE, i18n::IMPORT_UNKNOWN_REF);
    assert_eq!(of(3), vec![("干部姓名".to_string(), unknown)], "{:#?}", r.errors);
    assert_eq!(of(2), of(3), "the out-of-scope cadre reads as an unknown name: {:#?}", r.errors);
    assert!(of(4).is_empty(), "a cadre inside the scope is linked: {:#?}", r.errors);
    assert_eq!(count(&db, "contacts").await, before);
    let held = db
        .int("SELECT COUNT(*) FROM contacts WHERE from_kind = 'cadre' AND from_id = $1", args![out.id])
        .await
        .unwrap();
    assert_eq!(held, 0);
}

async fn abandoned_jobs_purged_after_a_day(db: Db) {
    use redcell_store::import::jobs;
    let t = tenant(&db).await;
    let csv = format!("{MEMBERS_HEAD}{},新党员,,,B1,农民/社区党员,,,,\n", id(831, 1980));
    let work = || async { while jobs::work_one(&db, "test", today()).await.unwrap() {} };
    // One job checked and left, one imported, one checked and left just now.
    let left = jobs::stage(&db, &t.admin, ImportKind::Members, "left.csv", csv.as_bytes()).await.unwrap();
    let done = jobs::stage(&db, &t.admin, ImportKind::Members, "done.csv", csv.as_bytes()).await.unwrap();
    work().await;
    jobs::request_commit(&db, &t.admin, done).await.unwrap();
    work().await;
    assert!(jobs::get(&db, &t.admin, done).await.unwrap().batch_id.is_some());
    let fresh = jobs::stage(&db, &t.admin, ImportKind::Members, "fresh.csv", csv.as_bytes()).await.unwrap();
    work().await;
    // One confirmed for import but not yet worked, one being checked.
    let confirmed = jobs::stage(&db, &t.admin, ImportKind::Members, "confirmed.csv", csv.as_bytes()).await.unwrap();
    work().await;
    jobs::request_commit(&db, &t.admin, confirmed).await.unwrap();
    let running = jobs::stage(&db, &t.admin, ImportKind::Members, "running.csv", csv.as_bytes()).await.unwrap();
    db.exec("UPDATE import_jobs SET status = 'running' WHERE id = $1", args![running]).await.unwrap();
    let two_days_ago = chrono::Utc::now() - chrono::Duration::hours(48);
    db.exec(
        "UPDATE import_jobs SET created_at = $1 WHERE id IN ($2, $3, $4, $5)",
        args![two_days_ago, left, done, confirmed, running],
    )
    .await
    .unwrap();
    let n = jobs::purge_abandoned(&db, chrono::Utc::now()).await.unwrap();
    assert_eq!(n, 1);
    assert!(matches!(jobs::get(&db, &t.admin, left).await, Err(StoreError::NotFound)), "the abandoned job is gone");
    assert!(jobs::get(&db, &t.admin, done).await.is_ok(), "an imported job keeps its row");
    assert!(jobs::get(&db, &t.admin, fresh).await.is_ok(), "a job of today is kept");
    assert!(jobs::get(&db, &t.admin, confirmed).await.is_ok(), "a job confirmed for import is kept");
    assert!(jobs::get(&db, &t.admin, running).await.is_ok(), "a running job is kept");
    assert_eq!(jobs::purge_abandoned(&db, chrono::Utc::now()).await.unwrap(), 0);
}

/// Visits, attendance, plan proposals and login links point at members and
/// cadres without a foreign key: undo is refused while any exists, and an id
/// freed by an undo is not handed out again.
async fn undo_refused_while_duties_point_at_the_rows(db: Db) {
    let t = tenant(&db).await;
    let csv = format!("{MEMBERS_HEAD}{},新党员,,,B1,农民/社区党员,,,,\n", id(841, 1980));
    let r = run(&db, &t.admin, ImportKind::Members, csv.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    let (mid,): (i64,) = db.one("SELECT MAX(id) FROM members", redcell_store::Args::new()).await.unwrap();
    let refused = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Invalid(_)));
    let member_links = [
        format!(
            "INSERT INTO duty_visits (tenant_id, org_id, visitor_kind, visitor_id, target_kind, target_id, visited_on, purpose, created_at) \
                 VALUES ($1, $2, 'member', {mid}, 'household', $3, '2026-01-05', 'routine', '2026-01-05T00:00:00Z')"
        ),
        format!(
            "INSERT INTO duty_people (tenant_id, record_kind, record_id, person_kind, person_id, presence) \
                 VALUES ($1, 'meeting', 1, 'member', {mid}, 'present')"
        ),
    ];
    for sql in &member_links {
        db.exec(sql, args![t.root.tenant_id, t.b1.id, t.households[0].id]).await.unwrap_or_else(|_| panic!("{sql}"));
        assert!(refused(import::undo(&db, &t.admin, batch).await), "{sql}");
        db.exec("DELETE FROM duty_visits", redcell_store::Args::new()).await.unwrap();
        db.exec("DELETE FROM duty_people", redcell_store::Args::new()).await.unwrap();
    }
    import::undo(&db, &t.admin, batch).await.unwrap();

    let head = "姓名,所属组织编码,干部类型,联系电话,职务,党员身份证号\n";
    let csv = format!("{head}新干部,C1,街道干部,13700000001,组织委员,\n");
    let r = run(&db, &t.admin, ImportKind::Cadres, csv.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    let (cid,): (i64,) = db.one("SELECT MAX(id) FROM cadres", redcell_store::Args::new()).await.unwrap();
    db.exec(
        "INSERT INTO duty_accounts (tenant_id, user_id, cadre_id) VALUES ($1, $2, $3)",
        args![t.root.tenant_id, t.admin.user_id, cid],
    )
    .await
    .unwrap();
    assert!(refused(import::undo(&db, &t.admin, batch).await), "a login linked to the cadre");
    db.exec("DELETE FROM duty_accounts", redcell_store::Args::new()).await.unwrap();
    db.exec(
        &format!("INSERT INTO duty_visits (tenant_id, org_id, visitor_kind, visitor_id, target_kind, target_id, visited_on, purpose, created_at) \
                  VALUES ($1, $2, 'cadre', {cid}, 'household', $3, '2026-01-05', 'routine', '2026-01-05T00:00:00Z')"),
        args![t.root.tenant_id, t.b1.id, t.households[0].id],
    )
    .await
    .unwrap();
    assert!(refused(import::undo(&db, &t.admin, batch).await), "a visit by the cadre");
    db.exec("DELETE FROM duty_visits", redcell_store::Args::new()).await.unwrap();
    import::undo(&db, &t.admin, batch).await.unwrap();

    // The freed ids stay freed: the next import gets new ones.
    let csv = format!("{MEMBERS_HEAD}{},又一个,,,B1,农民/社区党员,,,,\n", id(842, 1980));
    run(&db, &t.admin, ImportKind::Members, csv.as_bytes(), true).await.batch_id.expect("committed");
    let (mid2,): (i64,) = db.one("SELECT MAX(id) FROM members", redcell_store::Args::new()).await.unwrap();
    assert!(mid2 > mid, "member id {mid} not reused ({mid2})");
    let r = run(&db, &t.admin, ImportKind::Cadres, csv_cadre(head).as_bytes(), true).await;
    r.batch_id.expect("committed");
    let (cid2,): (i64,) = db.one("SELECT MAX(id) FROM cadres", redcell_store::Args::new()).await.unwrap();
    assert!(cid2 > cid, "cadre id {cid} not reused ({cid2})");
}

fn csv_cadre(head: &str) -> String {
    format!("{head}另一个干部,C1,街道干部,13700000002,,\n")
}

/// The URL of the story's database, for a second connection.
async fn url_of(db: &Db) -> String {
    if db.backend() == redcell_store::db::Backend::Postgres {
        let (name,): (String,) = db.one("SELECT current_database()", redcell_store::Args::new()).await.unwrap();
        let base = std::env::var("REDCELL_TEST_PG").unwrap();
        format!("{}/{name}", base.trim().trim_end_matches('/'))
    } else {
        let (file,): (String,) = db
            .one("SELECT file FROM pragma_database_list WHERE name = 'main'", redcell_store::Args::new())
            .await
            .unwrap();
        format!("sqlite://{file}")
    }
}

/// Run `sql` from another connection (another user saving a form) when the
/// import reaches its writing stage, i.e. after its check.
fn edit_at_write(url: String, sql: String) -> impl Fn(Stage, u64) + Send + Sync {
    let done = std::sync::atomic::AtomicBool::new(false);
    move |stage, _| {
        if stage != Stage::Writing || done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let (url, sql) = (url.clone(), sql.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let other = Db::connect(&url).await.unwrap();
                let n = other.exec(&sql, args![chrono::Utc::now()]).await.unwrap();
                assert_eq!(n, 1, "{sql}");
                other.close().await;
            });
        })
        .join()
        .unwrap();
    }
}

/// A row changed by someone else between the check and the write fails the
/// batch with an error on that row; the other change is kept.
async fn rows_changed_after_the_check_fail_the_batch(db: Db) {
    let t = tenant(&db).await;
    let url = url_of(&db).await;
    let csv = format!("{MEMBERS_HEAD}{},张一,,,B1,老党员及离退休职工党员,,,,\n", t.id_numbers[0]);
    let edit = edit_at_write(
        url.clone(),
        format!("UPDATE members SET work_unit = '别处改的', updated_at = $1 WHERE id = {}", t.members[0].id),
    );
    let up = Upload {
        kind: ImportKind::Members,
        file_name: "名册.csv",
        bytes: csv.as_bytes(),
        max_bytes: import::MAX_BYTES,
        today: today(),
    };
    let r = import::run(&db, &t.admin, up, true, &edit).await.unwrap();
    assert!(r.batch_id.is_none());
    assert!(has_error(&r, 2, "身份证号", "检查后已被修改"), "{:#?}", r.errors);
    let zhang = members::get(&db, &t.admin, t.members[0].id).await.unwrap();
    assert_eq!(zhang.category.0.code(), "community", "nothing written");
    assert_eq!(zhang.work_unit.as_deref(), Some("别处改的"));

    let head = "姓名,所属组织编码,干部类型,联系电话,职务,党员身份证号\n";
    let csv = format!("{head}网格员甲,B1,网格员,13900000001,网格长,\n");
    let edit =
        edit_at_write(url, format!("UPDATE cadres SET title = '别处', updated_at = $1 WHERE id = {}", t.cadres[0].id));
    let up = Upload { kind: ImportKind::Cadres, bytes: csv.as_bytes(), ..up };
    let r = import::run(&db, &t.admin, up, true, &edit).await.unwrap();
    assert!(r.batch_id.is_none());
    assert!(has_error(&r, 2, "姓名", "检查后已被修改"), "{:#?}", r.errors);
    let (title,): (Option<String>,) =
        db.one("SELECT title FROM cadres WHERE id = $1", args![t.cadres[0].id]).await.unwrap();
    assert_eq!(title.as_deref(), Some("别处"));
}

/// Undo moves rows back: the secretary of B1 may not undo a batch that moved
/// 赵二 from B2 into B1.
async fn undo_needs_the_prior_organisations_in_scope(db: Db) {
    let t = tenant(&db).await;
    let csv = format!("{MEMBERS_HEAD}{},赵二,,,B1,农民/社区党员,,,,\n", t.id_numbers[3]);
    let r = run(&db, &t.admin, ImportKind::Members, csv.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    let zhao = members::get(&db, &t.admin, t.members[2].id).await.unwrap();
    assert_eq!(zhao.org_id, t.b1.id);
    // The batch spans B2 (before) and B1 (after): it belongs to C1, outside
    // the secretary's scope, so for them it is not there.
    assert!(matches!(import::undo(&db, &t.sec, batch).await, Err(StoreError::NotFound)));
    assert_eq!(members::get(&db, &t.admin, t.members[2].id).await.unwrap().org_id, t.b1.id, "not moved back");
    import::undo(&db, &t.admin, batch).await.unwrap();
    assert_eq!(members::get(&db, &t.admin, t.members[2].id).await.unwrap().org_id, t.b2.id);
}

/// The in-service members' reports from an employer's list: every bad cell
/// named, nothing written; then new reports, an update of an open one (a
/// blank phone kept), a member reported elsewhere refused, and undo.
async fn inservice_reports_upsert_and_undo(db: Db) {
    let t = tenant(&db).await;
    let head = "党员身份证号,姓名,报到组织编码,工作单位,单位党组织,单位联系电话,报到日期\n";
    let (zhang, li, wang, zhao) = (&t.id_numbers[0], &t.id_numbers[1], &t.id_numbers[2], &t.id_numbers[3]);
    let bad = format!(
        "{head}{zhang},张一,C1,区人民医院,区人民医院党委,0571-86001234,2026-03-01\n\
         {zhang},张一,NOPE,区人民医院,区人民医院党委,,\n\
         {wang},王一,C1,区人民医院,区人民医院党委,,\n\
         {zhang},,C1,区人民医院,区人民医院党委,,\n\
         {li},李二,C1,区人民医院,区人民医院党委,,\n\
         {zhao},赵二,C1,,区人民医院党委,123,2999-01-01\n"
    );
    let r = run(&db, &t.admin, ImportKind::Inservice, bad.as_bytes(), true).await;
    assert!(r.batch_id.is_none());
    assert!(has_error(&r, 3, "报到组织编码", "不存在"), "{:#?}", r.errors);
    assert!(has_error(&r, 4, "党员身份证号", "不是已登记的党员"), "{:#?}", r.errors);
    assert!(has_error(&r, 5, "党员身份证号", "第2行"), "{:#?}", r.errors);
    assert!(has_error(&r, 6, "姓名", "不一致"), "{:#?}", r.errors);
    assert!(has_error(&r, 7, "工作单位", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 7, "单位联系电话", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 7, "报到日期", ""), "{:#?}", r.errors);
    assert_eq!(count(&db, "inservice_reports").await, 0, "nothing written");

    let good = format!(
        "{head}{zhang},张一,C1,区人民医院,区人民医院党委,0571-86001234,2026-03-01\n{li},,C1,幸福路小学,幸福路小学党支部,,\n"
    );
    let dry = run(&db, &t.admin, ImportKind::Inservice, good.as_bytes(), false).await;
    assert!(dry.is_ok() && dry.batch_id.is_none(), "{:#?}", dry.errors);
    let first = run(&db, &t.admin, ImportKind::Inservice, good.as_bytes(), true).await;
    assert!(first.is_ok(), "{:#?}", first.errors);
    assert_eq!((first.counts.new, first.counts.changed), (2, 0));
    let reports = redcell_store::volunteer::reports(&db, &t.admin, t.c1.id).await.unwrap();
    let zhang_report = reports.iter().find(|x| x.member_id == t.members[0].id.get()).expect("张一 reported");
    assert_eq!(zhang_report.employer_phone.as_deref(), Some("0571-86001234"));
    assert_eq!(zhang_report.reported_on.to_string(), "2026-03-01");

    // The employer changes its name; the phone is left blank (kept); 李一 is as before. Another
    // organisation for 张一 is refused, naming where the open report is.
    let next =
        format!("{head}{zhang},张一,C1,区第一人民医院,区第一人民医院党委,,\n{li},,C1,幸福路小学,幸福路小学党支部,,\n");
    let second = run(&db, &t.admin, ImportKind::Inservice, next.as_bytes(), true).await;
    assert!(second.is_ok(), "{:#?}", second.errors);
    assert_eq!((second.counts.new, second.counts.changed, second.counts.unchanged), (0, 1, 1));
    assert!(second.changes[0].fields.iter().any(|f| f.column == "工作单位" && f.after == "区第一人民医院"));
    assert!(!second.changes[0].fields.iter().any(|f| f.column == "单位联系电话"), "a blank phone keeps it");
    let moved = format!("{head}{zhang},张一,C2,区人民医院,区人民医院党委,,\n");
    let r = run(&db, &t.admin, ImportKind::Inservice, moved.as_bytes(), false).await;
    assert!(has_error(&r, 2, "报到组织编码", "回转后才能再报到"), "{:#?}", r.errors);

    // A branch secretary: another branch's member is unknown, the community out of scope.
    let sec =
        format!("{head}{zhao},赵二,B1,区人民医院,区人民医院党委,,\n{zhang},张一,C1,区人民医院,区人民医院党委,,\n");
    let r = run(&db, &t.sec, ImportKind::Inservice, sec.as_bytes(), false).await;
    assert!(has_error(&r, 2, "党员身份证号", "不是已登记的党员"), "{:#?}", r.errors);
    assert!(has_error(&r, 3, "报到组织编码", "范围"), "{:#?}", r.errors);

    // Undo: the update first (the old employer back), then the reports themselves.
    import::undo(&db, &t.admin, second.batch_id.unwrap()).await.unwrap();
    let (employer,): (String,) =
        db.one("SELECT employer FROM inservice_reports WHERE member_id = $1", args![t.members[0].id]).await.unwrap();
    assert_eq!(employer, "区人民医院");
    import::undo(&db, &t.admin, first.batch_id.unwrap()).await.unwrap();
    assert_eq!(count(&db, "inservice_reports").await, 0);
}

/// The branch's sheet of mobile members' cards: every bad cell named and
/// nothing written; then outflow cards with their last contact, an update and
/// an inflow card paired by the outflow card's number, the scope, and undo
/// (refused while a contact recorded since points at a card).
async fn mobility_cards_upsert_pair_and_undo(db: Db) {
    use redcell_domain::mobility::{CardId, Standing};
    use redcell_store::mobility as mb;
    let t = tenant(&db).await;
    let day = |n: i64| (today() - chrono::Duration::days(n)).to_string();
    let head = "类别,党员身份证号,姓名,登记组织编码,对应流出登记卡号,登记卡号,流向或来处,原因,开始日期,预计返回日期,联系方式,对方党组织,最近联系日期,最近联系途径\n";
    let (zhang, li, wang, zhao) = (&t.id_numbers[0], &t.id_numbers[1], &t.id_numbers[2], &t.id_numbers[3]);
    let bad = format!(
        "{head}流出,{zhang},,,,LC-101,深圳,务工,{d30},,电话,,,\n\
         横向,{zhang},,,,LC-102,深圳,务工,,,电话,,,\n\
         流出,{wang},,,,LC-103,深圳,务工,,,电话,,,\n\
         流出,{zhang},,,,LC-104,深圳,务工,,,电话,,,\n\
         流入,{zhao},,,,LR-105,深圳,务工,,,电话,,,\n\
         流出,{li},,,,LC-101,深圳,务工,,,电话,,,\n\
         流出,{zhao},,,,坏 卡号,深圳,务工,{d30},,电话,,{d40},写信\n\
         流出,{zhao},,B1,,LC-108,深圳,务工,,,电话,,,\n\
         流出,{li},,,,LC-110,深圳,务工,{d30},,电话,,{d40},\n",
        d30 = day(30),
        d40 = day(40)
    );
    let r = run(&db, &t.admin, ImportKind::Mobility, bad.as_bytes(), true).await;
    assert!(r.batch_id.is_none());
    assert!(has_error(&r, 3, "类别", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 4, "党员身份证号", "不是已登记的党员"), "{:#?}", r.errors);
    assert!(has_error(&r, 5, "党员身份证号", "未结束的流出登记卡"), "{:#?}", r.errors);
    assert!(has_error(&r, 6, "登记组织编码", "接收的组织"), "{:#?}", r.errors);
    assert!(has_error(&r, 7, "登记卡号", "第2行"), "{:#?}", r.errors);
    assert!(has_error(&r, 8, "登记卡号", "字母"), "{:#?}", r.errors);
    assert!(has_error(&r, 10, "最近联系日期", "开始日期"), "{:#?}", r.errors);
    assert!(has_error(&r, 8, "最近联系途径", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 9, "登记组织编码", "党员所在的组织"), "{:#?}", r.errors);
    assert_eq!(count(&db, "mobility_cards").await, 0, "nothing written");

    // 张 left a month ago, in touch ten days ago; 赵 left a year ago and nobody heard since.
    let good = format!(
        "{head}流出,{zhang},,,,lc-2026-101,广东省深圳市,务工,{d30},,微信群,,{d10},群聊\n\
         流出,{zhao},,,,LC-2026-102,浙江省温州市,经商,{d365},,电话,,,\n",
        d30 = day(30),
        d10 = day(10),
        d365 = day(365)
    );
    let dry = run(&db, &t.admin, ImportKind::Mobility, good.as_bytes(), false).await;
    assert!(dry.is_ok() && dry.batch_id.is_none(), "{:#?}", dry.errors);
    let first = run(&db, &t.admin, ImportKind::Mobility, good.as_bytes(), true).await;
    assert!(first.is_ok(), "{:#?}", first.errors);
    assert_eq!((first.counts.new, first.counts.changed), (2, 0));
    let tenant_id = t.root.id.get();
    assert_eq!(mb::standing_of(&db, tenant_id, t.members[0].id).await.unwrap(), Standing::FlowedOut);
    assert_eq!(mb::standing_of(&db, tenant_id, t.members[2].id).await.unwrap(), Standing::LostContact);
    let (lc101, keeper): (i64, i64) =
        db.one("SELECT id, org_id FROM mobility_cards WHERE card_no = 'LC-2026-101'", args![]).await.unwrap();
    assert_eq!(keeper, t.b1.id.get(), "kept by the member's own branch");
    let view = mb::card(&db, &t.admin, CardId::new(lc101)).await.unwrap();
    assert_eq!(view.contacts.iter().map(|c| c.channel.as_str()).collect::<Vec<_>>(), vec!["group"]);

    // Again with a new place and a later contact for 张, 赵 unchanged, and
    // branch 3 receiving 张 by his outflow card's number.
    let next = format!(
        "{head}流出,{zhang},,,,LC-2026-101,广东省广州市,务工,{d30},,微信群,,{d2},电话\n\
         流出,{zhao},,,,LC-2026-102,浙江省温州市,经商,{d365},,电话,,,\n\
         流入,{zhang},,B3,lc-2026-101,LR-2026-201,幸福社区第一支部,务工,{d5},,电话,,,\n",
        d30 = day(30),
        d2 = day(2),
        d365 = day(365),
        d5 = day(5)
    );
    let second = run(&db, &t.admin, ImportKind::Mobility, next.as_bytes(), true).await;
    assert!(second.is_ok(), "{:#?}", second.errors);
    assert_eq!((second.counts.new, second.counts.changed, second.counts.unchanged), (1, 1, 1));
    let fields: Vec<&str> = second.changes[0].fields.iter().map(|f| f.column.as_str()).collect();
    assert_eq!(fields, vec!["流向或来处", "最近联系日期"]);
    let (paired,): (Option<i64>,) =
        db.one("SELECT paired_id FROM mobility_cards WHERE card_no = 'LR-2026-201'", args![]).await.unwrap();
    assert_eq!(paired, Some(lc101));
    // The same card under another member's row is refused; the branch secretary cannot register for B3.
    let wrong = format!("{head}流出,{li},,,,LC-2026-101,深圳,务工,,,电话,,,\n");
    let r = run(&db, &t.admin, ImportKind::Mobility, wrong.as_bytes(), false).await;
    assert!(has_error(&r, 2, "登记卡号", "另一张登记卡"), "{:#?}", r.errors);
    let sec = format!("{head}流入,{li},,B3,,LR-2026-301,某地,务工,,,电话,,,\n");
    let r = run(&db, &t.sec, ImportKind::Mobility, sec.as_bytes(), false).await;
    assert!(has_error(&r, 2, "登记组织编码", "范围"), "{:#?}", r.errors);

    // Undo the second batch: the inflow card goes, the place and contacts are as before.
    import::undo(&db, &t.admin, second.batch_id.unwrap()).await.unwrap();
    let (place,): (String,) = db.one("SELECT place FROM mobility_cards WHERE id = $1", args![lc101]).await.unwrap();
    assert_eq!(place, "广东省深圳市");
    assert_eq!(count(&db, "mobility_cards").await, 2);
    assert_eq!(count(&db, "mobility_contacts").await, 1);
    // A contact recorded since holds the first batch; without it, the batch goes.
    let call = mb::RawContact { on_date: None, channel: s("call"), note: s("电话问候") };
    mb::add_contact(&db, &t.admin, CardId::new(lc101), &call).await.unwrap();
    assert!(matches!(import::undo(&db, &t.admin, first.batch_id.unwrap()).await, Err(StoreError::Invalid(_))));
    assert_eq!(count(&db, "mobility_cards").await, 2, "nothing undone");
    db.exec("DELETE FROM mobility_contacts WHERE note = '电话问候'", args![]).await.unwrap();
    import::undo(&db, &t.admin, first.batch_id.unwrap()).await.unwrap();
    assert_eq!((count(&db, "mobility_cards").await, count(&db, "mobility_contacts").await), (0, 0));
}
