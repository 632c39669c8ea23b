//! Rosters in: errors named by row and column, all-or-nothing, upsert by ID
//! number or code, references in any row order, scope, batches and undo.
//! Each story runs on SQLite and (with `REDCELL_TEST_PG`) on PostgreSQL:
//! `cargo test -p redcell-store --test import`.

use redcell_domain::rosters::ImportKind;
use redcell_store::import::{self, Upload};
use redcell_store::registry::residents;
use redcell_store::{Db, StoreError};
use redcell_testkit::store::*;
use redcell_testkit::store::{import_id as id, run_import as run};

stories!(
    household_errors_named_and_nothing_written,
    household_upsert_and_undo,
    long_file_written_as_checked_rolls_back_on_a_late_error,
    undo_refused_after_later_change,
    secretary_limited_to_scope,
    garbage_files_write_nothing,
    grids_and_buildings_upsert,
    orgs_in_any_order,
    batches_listed_and_undone_inside_scope_only,
);

async fn household_errors_named_and_nothing_written(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    let good = id(901, 1980);
    let mut bad_check = id(902, 1981);
    bad_check.replace_range(17..18, if bad_check.ends_with('0') { "1" } else { "0" });
    // Full-width digits and spaces in an ID number are normalised, not refused.
    let full_width: String = id(903, 1982)
        .chars()
        .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap() } else { c })
        .collect();
    let csv = format!(
        "姓名,身份证号,网格编码,楼栋名称,单元,房号,出生日期,联系电话\n\
         新人甲,{good},GR1,1幢,1,102,,\n\
         新人乙,{bad_check},GR1,1幢,1,102,,\n\
         新人丙,{full_width} ,GR9,1幢,1,102,,\n\
         新人丁,{},GR1,9幢,1,102,,\n\
         新人戊,{},GR1,1幢,5,102,,\n\
         新人己,{good},GR1,1幢,1,103,,\n\
         新人庚,{},GR1,1幢,1,104,1999-01-01,12345\n",
        id(904, 1983),
        id(905, 1984),
        id(906, 1985),
    );
    // Chinese Excel writes CSV in GBK.
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let r = run(&db, &t.admin, ImportKind::Households, "居民.csv", &gbk, true).await;
    assert_eq!(r.format, "csv GB18030");
    assert!(r.batch_id.is_none());
    assert!(has_error(&r, 3, "身份证号", "校验"), "{:#?}", r.errors);
    assert!(has_error(&r, 4, "网格编码", "不存在"), "{:#?}", r.errors);
    assert!(has_error(&r, 5, "楼栋名称", "不存在"), "{:#?}", r.errors);
    assert!(has_error(&r, 6, "单元", "2个单元"), "{:#?}", r.errors);
    assert!(has_error(&r, 7, "身份证号", "第2行"), "{:#?}", r.errors);
    assert!(has_error(&r, 8, "出生日期", ""), "{:#?}", r.errors);
    assert!(has_error(&r, 8, "联系电话", ""), "{:#?}", r.errors);
    assert!(!r.errors.iter().any(|e| e.row == 2), "row 2 is fine: {:#?}", r.errors);
    assert_eq!(r.counts.errors, 6);
    assert_eq!(counts(&db).await, before, "nothing written when any row has an error");

    // The error sheet mirrors the file with an error column.
    let up = Upload {
        kind: ImportKind::Households,
        file_name: "居民.csv",
        bytes: &gbk,
        max_bytes: import::MAX_BYTES,
        today: today(),
    };
    let sheet = import::error_sheet(&up, &r).unwrap();
    let mut rows = Vec::new();
    redcell_docs::read::read_rows(&sheet, import::MAX_BYTES, &mut |n, c| {
        rows.push((n, c.into_iter().map(|c| c.text).collect::<Vec<_>>()));
        true
    })
    .unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[0].1.last().map(String::as_str), Some("错误说明"));
    assert!(rows[2].1.last().unwrap().contains("身份证号"));
    assert!(rows[1].1.len() <= 8, "a good row has no error text: {:?}", rows[1]);

    // A missing or renamed header is named.
    let r = run(&db, &t.admin, ImportKind::Households, "x.csv", "姓名,证件号码,网格编码,楼栋,房号\n".as_bytes(), true)
        .await;
    assert!(r.errors.iter().any(|e| e.reason.contains("身份证号")), "{:#?}", r.errors);
    assert!(r.errors.iter().any(|e| e.reason.contains("楼栋名称")), "{:#?}", r.errors);
    // Header only.
    let r =
        run(&db, &t.admin, ImportKind::Households, "x.csv", "网格编码,楼栋名称,房号,姓名,身份证号\n".as_bytes(), true)
            .await;
    assert!(r.errors[0].reason.contains("没有数据行"), "{:#?}", r.errors);
    assert_eq!(counts(&db).await, before);
}

async fn household_upsert_and_undo(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    let (new1, new2) = (id(911, 1990), id(912, 1992));
    // Two residents of one new household, on rows far apart; an existing
    // resident renamed; an existing one unchanged (blank phone keeps the phone).
    let csv = format!(
        "\u{feff}网格编码,楼栋名称,单元,房号,户标签,姓名,身份证号,性别,出生日期,联系电话\n\
         GR1,1幢,2,202,困难家庭,新居民一,{new1},,,13900000001\n\
         GR1,1幢,1,101,,李一,{},,1962/7/1,\n\
         GR1,1幢,1,101,,张改名,{},,,\n\
         GR1,1幢,2,202,失业,新居民二,{new2},,,\n",
        t.id_numbers[1], t.id_numbers[0],
    );
    let r = run(&db, &t.admin, ImportKind::Households, "居民.csv", csv.as_bytes(), false).await;
    assert!(r.is_ok(), "{:#?}", r.errors);
    assert_eq!((r.counts.new, r.counts.changed, r.counts.unchanged), (2, 1, 1));
    assert_eq!(r.changes.len(), 1);
    assert_eq!(r.changes[0].row, 4);
    assert!(r.changes[0].fields.iter().any(|f| f.column == "姓名" && f.after == "张改名"));
    assert!(!r.changes[0].key.contains(&t.id_numbers[0]), "ID numbers masked in the change list");
    assert_eq!(counts(&db).await, before, "a dry run writes nothing");

    let r = run(&db, &t.admin, ImportKind::Households, "居民.csv", csv.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    let after = counts(&db).await;
    let get = |name: &str| after.iter().find(|(t, _)| *t == name).unwrap().1;
    let was = |name: &str| before.iter().find(|(t, _)| *t == name).unwrap().1;
    assert_eq!(get("residents"), was("residents") + 2);
    assert_eq!(get("households"), was("households") + 1, "one household for both rows");
    assert_eq!(get("audit_log"), was("audit_log") + 1, "one summary audit row per batch");
    let renamed = residents::get(&db, &t.admin, t.residents[0].id).await.unwrap();
    assert_eq!(renamed.name, "张改名");
    let tags: i64 = db
        .int(
            "SELECT h.tags FROM households h JOIN residents r ON r.household_id = h.id WHERE r.id_number = $1",
            redcell_store::args![new2.clone()],
        )
        .await
        .unwrap();
    assert_eq!(tags.count_ones(), 2, "tags of the household's rows are combined");
    let list = import::batches(&db, &t.admin, 10).await.unwrap();
    assert_eq!(list[0].id, batch);
    assert_eq!((list[0].created_count, list[0].changed_count, list[0].unchanged_count), (2, 1, 1));

    // Importing the same file again changes nothing.
    let again = run(&db, &t.admin, ImportKind::Households, "居民.csv", csv.as_bytes(), false).await;
    assert_eq!((again.counts.new, again.counts.changed, again.counts.unchanged), (0, 0, 4));

    import::undo(&db, &t.admin, batch).await.unwrap();
    let undone = counts(&db).await;
    for ((name, n), (_, m)) in undone.iter().zip(&before) {
        if *name != "audit_log" {
            assert_eq!(n, m, "{name} restored");
        }
    }
    let restored = residents::get(&db, &t.admin, t.residents[0].id).await.unwrap();
    assert_eq!(restored.name, t.residents[0].name);
    assert_eq!(restored.phone.as_ref().map(|p| p.reveal().to_string()), Some(t.phones[0].clone()));
    let again = import::undo(&db, &t.admin, batch).await;
    assert_invalid(again, "batch");
}

/// A committing import writes each chunk as soon as it is checked: an error
/// in the last row of a file of several chunks still leaves the database
/// exactly as before; the corrected file then commits whole, a household
/// introduced in the first chunk takes tags given further down, and the
/// batch undoes.
async fn long_file_written_as_checked_rolls_back_on_a_late_error(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    let ids_before: i64 = db.int("SELECT COALESCE(MAX(id), 0) FROM residents", redcell_store::args![]).await.unwrap();
    let rows = 4_500; // more than two chunks
    let mut csv = String::from("网格编码,楼栋名称,单元,房号,户标签,姓名,身份证号\n");
    for i in 0..rows {
        let room = 1000 + i / 2;
        csv.push_str(&format!("GR1,1幢,1,{room},,长表{i},{}\n", id(100 + i % 900, 1940 + (i / 900) as i32)));
    }
    // Far down: a tag for the first new household, and a change to a registered resident.
    csv.push_str(&format!("GR1,1幢,1,1000,困难家庭,长表尾,{}\n", id(100, 1949)));
    csv.push_str(&format!("GR1,1幢,1,101,,张又改名,{}\n", t.id_numbers[0]));
    let bad = format!("{csv}GR404,1幢,1,1,,错行,{}\n", id(101, 1949));

    let r = run(&db, &t.admin, ImportKind::Households, "长表.csv", bad.as_bytes(), true).await;
    assert!(r.batch_id.is_none());
    assert_eq!(r.errors.len(), 1, "{:#?}", r.errors);
    assert!(has_error(&r, rows + 4, "网格编码", "不存在"), "{:#?}", r.errors);
    assert_eq!(counts(&db).await, before, "chunks written before the error are rolled back");
    let ids_after: i64 = db.int("SELECT COALESCE(MAX(id), 0) FROM residents", redcell_store::args![]).await.unwrap();
    assert_eq!(ids_after, ids_before);

    let r = run(&db, &t.admin, ImportKind::Households, "长表.csv", csv.as_bytes(), true).await;
    assert!(r.is_ok(), "{:#?}", r.errors);
    let batch = r.batch_id.expect("committed");
    assert_eq!((r.counts.rows, r.counts.new, r.counts.changed), (u64::from(rows) + 2, u64::from(rows) + 1, 1));
    let after = counts(&db).await;
    let get = |list: &[(&str, i64)], name: &str| list.iter().find(|(t, _)| *t == name).unwrap().1;
    assert_eq!(get(&after, "residents"), get(&before, "residents") + i64::from(rows) + 1);
    assert_eq!(get(&after, "households"), get(&before, "households") + i64::from(rows / 2));
    let tags: i64 = db
        .int(
            "SELECT h.tags FROM households h JOIN residents r ON r.household_id = h.id WHERE r.id_number = $1",
            redcell_store::args![id(100, 1940)],
        )
        .await
        .unwrap();
    assert_eq!(tags.count_ones(), 1, "a tag given further down reaches the household inserted earlier");
    let renamed = residents::get(&db, &t.admin, t.residents[0].id).await.unwrap();
    assert_eq!(renamed.name, "张又改名");

    import::undo(&db, &t.admin, batch).await.unwrap();
    let undone = counts(&db).await;
    for ((name, n), (_, m)) in undone.iter().zip(&before) {
        if *name != "audit_log" {
            assert_eq!(n, m, "{name} restored");
        }
    }
    let restored = residents::get(&db, &t.admin, t.residents[0].id).await.unwrap();
    assert_eq!(restored.name, t.residents[0].name);
}

async fn undo_refused_after_later_change(db: Db) {
    let t = tenant(&db).await;
    let new1 = id(921, 1991);
    let csv = format!("网格编码,楼栋名称,房号,姓名,身份证号\nGR1,1幢,301,后改者,{new1}\n");
    let r = run(&db, &t.admin, ImportKind::Households, "a.csv", csv.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    let created = residents::list(
        &db,
        &t.admin,
        &residents::ResidentFilter { q: Some(new1.clone()), ..Default::default() },
        redcell_store::registry::Page::first(10),
    )
    .await
    .unwrap();
    let rid = created.items[0].id;
    let mut raw = raw_resident(created.items[0].household_id, None, "改过了", date(1991, 3, 4), 921, "13700000000");
    raw.id_number = Some(new1.clone());
    residents::update(&db, &t.admin, rid, raw.validate(today()).unwrap()).await.unwrap();
    let r = import::undo(&db, &t.admin, batch).await;
    let e = assert_invalid(r, "batch");
    assert!(format!("{e:?}").contains("修改"), "{e:?}");
    assert!(residents::get(&db, &t.admin, rid).await.is_ok(), "nothing removed");
}

async fn secretary_limited_to_scope(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    // The secretary of B1 may import into GR1 but not GR2 (B2), and may not
    // change a resident of B2 by naming their ID number.
    let csv = format!(
        "网格编码,楼栋名称,房号,姓名,身份证号\nGR1,1幢,301,甲,{}\nGR2,2幢,301,乙,{}\nGR1,1幢,302,赵二,{}\n",
        id(931, 1990),
        id(932, 1990),
        t.id_numbers[3]
    );
    let r = run(&db, &t.sec, ImportKind::Households, "s.csv", csv.as_bytes(), true).await;
    assert!(has_error(&r, 3, "网格编码", "范围"), "{:#?}", r.errors);
    assert!(has_error(&r, 4, "身份证号", "范围"), "{:#?}", r.errors);
    assert_eq!(r.counts.errors, 2);
    assert_eq!(counts(&db).await, before);
    // Undo of someone else's batch outside one's scope is refused: for the
    // secretary it is not there.
    let csv = format!("网格编码,楼栋名称,房号,姓名,身份证号\nGR2,2幢,301,乙,{}\n", id(932, 1990));
    let r = run(&db, &t.admin, ImportKind::Households, "a.csv", csv.as_bytes(), true).await;
    let batch = r.batch_id.expect("committed");
    assert!(matches!(import::undo(&db, &t.sec, batch).await, Err(StoreError::NotFound)));
}

async fn garbage_files_write_nothing(db: Db) {
    let t = tenant(&db).await;
    let before = counts(&db).await;
    let xlsx = redcell_docs::rosters::template(ImportKind::Households).unwrap();
    let mut samples: Vec<(Vec<u8>, &str)> = vec![
        (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec(), "xls"),
        (b"%PDF-1.7".to_vec(), "文件类型"),
        (Vec::new(), "空"),
        (xlsx[..xlsx.len() / 2].to_vec(), "损坏"),
        (vec![b'a'; import::MAX_BYTES + 1], "过大"),
    ];
    let mut state = 7u64;
    for _ in 0..30 {
        let mut b = xlsx.clone();
        for _ in 0..4 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let at = (state >> 33) as usize % b.len();
            b[at] = (state >> 20) as u8;
        }
        samples.push((b, ""));
    }
    for (bytes, reason) in &samples {
        let r = run(&db, &t.admin, ImportKind::Households, "g.xlsx", bytes, true).await;
        assert!(r.batch_id.is_none());
        if !reason.is_empty() {
            assert!(r.errors.iter().any(|e| e.row == 0 && e.reason.contains(reason)), "{reason}: {:#?}", r.errors);
        }
    }
    // The template itself: its example rows reference a grid that does not exist here.
    let r = run(&db, &t.admin, ImportKind::Households, "t.xlsx", &xlsx, true).await;
    assert!(has_error(&r, 2, "网格编码", "不存在"), "{:#?}", r.errors);
    assert_eq!(counts(&db).await, before);
}

async fn grids_and_buildings_upsert(db: Db) {
    let t = tenant(&db).await;
    let csv = "网格编码,网格名称,所属组织编码,楼栋名称,楼栋地址,单元数,层数\n\
               GR9,第九网格,B1,9幢,幸福路9号,2,6\n\
               GR9,第九网格,B1,10幢,幸福路10号,1,18\n\
               GR1,第一网格改,B1,1幢,新地址,2,7\n\
               GR8,第八网格,B2,,,,\n\
               GR7,第七网格,NOPE,,,,\n";
    let r = run(&db, &t.admin, ImportKind::Grids, "g.csv", csv.as_bytes(), true).await;
    assert!(has_error(&r, 6, "所属组织编码", "不存在"), "{:#?}", r.errors);
    assert!(r.batch_id.is_none());
    let csv = csv.lines().take(5).collect::<Vec<_>>().join("\n");
    let r = run(&db, &t.admin, ImportKind::Grids, "g.csv", csv.as_bytes(), true).await;
    assert!(r.is_ok(), "{:#?}", r.errors);
    assert_eq!((r.counts.new, r.counts.changed), (3, 1));
    let n = db
        .int("SELECT COUNT(*) FROM buildings WHERE name IN ('9幢','10幢')", redcell_store::Args::new())
        .await
        .unwrap();
    assert_eq!(n, 2);
    // A households file can now use the new grid and building.
    let hh = format!("网格编码,楼栋名称,房号,姓名,身份证号\nGR9,9幢,101,九号楼人,{}\n", id(941, 1970));
    let r2 = run(&db, &t.admin, ImportKind::Households, "h.csv", hh.as_bytes(), true).await;
    assert!(r2.is_ok(), "{:#?}", r2.errors);
    // Undoing the grids batch is refused while the household depends on it.
    let e = import::undo(&db, &t.admin, r.batch_id.unwrap()).await;
    assert_invalid(e, "batch");
    import::undo(&db, &t.admin, r2.batch_id.unwrap()).await.unwrap();
    import::undo(&db, &t.admin, r.batch_id.unwrap()).await.unwrap();
    let name: (String, String) = db
        .one(
            "SELECT g.name, b.address FROM grids g JOIN buildings b ON b.grid_id = g.id WHERE g.code = 'GR1'",
            redcell_store::Args::new(),
        )
        .await
        .unwrap();
    assert_eq!(name.0, t.grids[0].name);
    assert_eq!(name.1, t.buildings[0].address);
}

async fn orgs_in_any_order(db: Db) {
    let t = tenant(&db).await;
    // The child comes before its parent; C1 is renamed; a cycle is refused.
    let csv = "组织编码,组织名称,组织类型,上级组织编码\n\
               B9,新支部,街坊党支部,C9\n\
               C9,新社区党委,社区党委,ST\n\
               C1,一社区党委改,社区党委,ST\n";
    let r = run(&db, &t.admin, ImportKind::Orgs, "o.csv", csv.as_bytes(), true).await;
    assert!(r.is_ok(), "{:#?}", r.errors);
    assert_eq!((r.counts.new, r.counts.changed), (2, 1));
    let path: (String, String) = db
        .one(
            "SELECT c.path, p.path FROM orgs c JOIN orgs p ON p.id = c.parent_id WHERE c.code = 'B9'",
            redcell_store::Args::new(),
        )
        .await
        .unwrap();
    assert!(path.0.starts_with(&path.1), "{path:?}");
    let cyc = "组织编码,组织名称,组织类型,上级组织编码\nX1,甲,街坊党支部,X2\nX2,乙,街坊党支部,X1\n";
    let r2 = run(&db, &t.admin, ImportKind::Orgs, "c.csv", cyc.as_bytes(), true).await;
    assert!(has_error(&r2, 2, "上级组织编码", ""), "{:#?}", r2.errors);
    // The secretary of B1 may not add an organisation under C1.
    let r3 = run(
        &db,
        &t.sec,
        ImportKind::Orgs,
        "s.csv",
        "组织编码,组织名称,组织类型,上级组织编码\nB8,支部,街坊党支部,C1\n".as_bytes(),
        true,
    )
    .await;
    assert!(has_error(&r3, 2, "上级组织编码", "范围"), "{:#?}", r3.errors);
    import::undo(&db, &t.admin, r.batch_id.unwrap()).await.unwrap();
    let n = db.int("SELECT COUNT(*) FROM orgs WHERE code IN ('B9', 'C9')", redcell_store::Args::new()).await.unwrap();
    assert_eq!(n, 0);
}

/// Hole 4 of issue 13: the batch list showed every batch of the tenant to
/// anyone who could edit anything. A batch now belongs to the lowest
/// organisation holding all it touched, and is listed and undone inside the
/// caller's scope only.
async fn batches_listed_and_undone_inside_scope_only(db: Db) {
    let t = tenant(&db).await;
    let row =
        |n: u32, grid: &str, building: &str| format!("新人{n},{},{grid},{building},1,90{n},,\n", id(960 + n, 1990));
    let head = "姓名,身份证号,网格编码,楼栋名称,单元,房号,出生日期,联系电话\n";
    // The admin imports into B1's grid, then into B3's (another community).
    let in_b1 = format!("{head}{}", row(1, "GR1", "1幢"));
    let in_b3 = format!("{head}{}", row(2, "GR3", "3幢"));
    let both = format!("{head}{}{}", row(3, "GR1", "1幢"), row(4, "GR3", "3幢"));
    let b1 = run(&db, &t.admin, ImportKind::Households, "一.csv", in_b1.as_bytes(), true).await.batch_id.unwrap();
    let b3 = run(&db, &t.admin, ImportKind::Households, "三.csv", in_b3.as_bytes(), true).await.batch_id.unwrap();
    let wide = run(&db, &t.admin, ImportKind::Households, "两.csv", both.as_bytes(), true).await.batch_id.unwrap();
    let org_of = |batch: i64| {
        let db = db.clone();
        async move { db.int("SELECT org_id FROM import_batches WHERE id = $1", redcell_store::args![batch]).await.unwrap() }
    };
    assert_eq!(org_of(b1).await, t.b1.id.get(), "a batch in B1's grid belongs to B1");
    assert_eq!(org_of(b3).await, t.b3.id.get());
    assert_eq!(org_of(wide).await, t.root.id.get(), "a batch across communities belongs to the street");

    // The admin sees all three; the secretary of B1 only B1's.
    let ids = |list: Vec<import::Batch>| list.into_iter().map(|b| b.id).collect::<Vec<_>>();
    assert_eq!(ids(import::batches(&db, &t.admin, 10).await.unwrap()), vec![wide, b3, b1]);
    assert_eq!(ids(import::batches(&db, &t.sec, 10).await.unwrap()), vec![b1]);
    // Another branch's batch cannot be undone by the secretary: not even there.
    assert!(matches!(import::undo(&db, &t.sec, b3).await, Err(StoreError::NotFound)));
    assert!(matches!(import::undo(&db, &t.sec, wide).await, Err(StoreError::NotFound)));
    // Their own one can.
    import::undo(&db, &t.sec, b1).await.unwrap();
    // An auditor (no editing right) is refused the list outright.
    auth_user(&db, "auditor_b", redcell_domain::Role::Auditor, "ST").await;
    let (auditor, _) = sign_in(&db, "auditor_b").await;
    assert!(matches!(import::batches(&db, &auditor, 10).await, Err(StoreError::Forbidden)));
}

async fn auth_user(db: &Db, username: &str, role: redcell_domain::Role, org: &str) {
    redcell_store::auth::add_user(db, username, username, PASSWORD, role, org).await.unwrap();
}
