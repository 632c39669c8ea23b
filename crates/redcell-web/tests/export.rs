//! Export of lists (xlsx and CSV), end to end on SQLite and PostgreSQL: the
//! files are read back with calamine and a CSV parser.

use calamine::{Data, Reader, Xlsx};
use redcell_domain::Role;
use redcell_testkit::app::*;
use serde_json::json;

stories!(
    xlsx_has_every_filtered_row_masked,
    scope_of_a_secretary,
    formulas_are_neutralised,
    csv_utf8_and_gb18030,
    exports_are_audited,
    refused_without_the_capability,
    other_lists,
    pages_link_to_exports,
    bad_parameters,
    large_exports_stream_every_row,
    requests_register_exports,
    coverage_lists_export,
    inservice_register_exports,
    care_and_service_ledgers_export,
);

/// The rows of the first sheet as text (numbers and dates rendered), header first.
fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    assert_eq!(&bytes[..4], b"PK\x03\x04", "an xlsx is a zip file");
    let mut x: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx opens");
    let name = x.sheet_names()[0].clone();
    let formulas = x.worksheet_formula(&name).expect("formulas");
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no cell holds a formula");
    let range = x.worksheet_range(&name).expect("sheet");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    // Days since 1899-12-30 (Excel's day zero).
                    Data::DateTime(d) => (date(1899, 12, 30) + chrono::Duration::days(d.as_f64() as i64)).to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// RFC 4180 CSV (quoted fields, doubled quotes, CRLF).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// The column `header` of rows (header row first).
fn column(rows: &[Vec<String>], header: &str) -> Vec<String> {
    let i = rows[0].iter().position(|h| h == header).unwrap_or_else(|| panic!("no column {header}: {:?}", rows[0]));
    rows[1..].iter().map(|r| r.get(i).cloned().unwrap_or_default()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn xlsx_has_every_filtered_row_masked(t: &TestApp) {
    let w = world(t).await;
    let r = t.get("/api/v1/residents/export?format=xlsx", &w.admin).await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let cd = r.header("content-disposition").expect("content-disposition");
    assert!(cd.starts_with("attachment; filename=\"residents-"), "{cd}");
    // 居民名册 in UTF-8, percent-encoded (RFC 5987).
    assert!(cd.contains("filename*=UTF-8''%E5%B1%85%E6%B0%91%E5%90%8D%E5%86%8C-"), "{cd}");
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(rows[0][0], "姓名");
    let mut all_names: Vec<String> = w.b.iter().flat_map(|b| b.resident_names.clone()).collect();
    all_names.sort();
    assert_eq!(sorted(column(&rows, "姓名")), all_names, "every resident, not one page");
    // Masked exactly as the list shows them.
    let ids = column(&rows, "身份证号（脱敏）");
    let phones = column(&rows, "联系电话（脱敏）");
    for b in &w.b {
        for (id, ph) in b.id_numbers.iter().zip(&b.phones) {
            assert!(ids.contains(&masked_id(id)), "{id} masked in the file");
            assert!(phones.contains(&masked_mobile(ph)), "{ph} masked in the file");
        }
    }
    for row in &rows {
        for cell in row {
            for s in t.secrets() {
                assert!(!cell.contains(&s), "clear value {s} in the export");
            }
        }
    }
    assert_eq!(column(&rows, "出生日期")[0].len(), 10, "dates are dates");

    // The list's filters: one household; a name fragment; both (every row, not a page).
    let hh = w.b[1].household;
    let r = t.get(&format!("/api/v1/residents/export?household_id={hh}&page=2&per_page=1"), &w.admin).await;
    r.expect(200);
    assert_eq!(sorted(column(&xlsx_rows(&r.bytes), "姓名")), sorted(w.b[1].resident_names.clone()));
    let r = t.get(&format!("/api/v1/residents/export?q={}", url("王")), &w.admin).await;
    r.expect(200);
    assert_eq!(sorted(column(&xlsx_rows(&r.bytes), "姓名")), vec!["王东风".to_string(), "王西湖".to_string()]);
    // An exact ID number finds its person; the file still shows it masked.
    let r = t.get(&format!("/api/v1/residents/export?q={}", w.b[0].id_numbers[1]), &w.admin).await;
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "姓名"), vec![w.b[0].resident_names[1].clone()]);
    assert_eq!(column(&rows, "身份证号（脱敏）"), vec![masked_id(&w.b[0].id_numbers[1])]);

    // Every registry list exports the same rows as its JSON list, with its filters.
    for res in RESOURCES {
        let list = t.get(&format!("/api/v1/{res}?per_page=200"), &w.admin).await.json();
        let r = t.get(&format!("/api/v1/{res}/export"), &w.admin).await;
        r.expect(200);
        let rows = xlsx_rows(&r.bytes);
        assert_eq!(rows.len() as i64 - 1, list["total"].as_i64().expect("total"), "{res}: row count");
    }
    let grid = w.b[0].grid;
    for res in ["buildings", "households", "members", "units"] {
        let list = t.get(&format!("/api/v1/{res}?grid_id={grid}"), &w.admin).await.json();
        let r = t.get(&format!("/api/v1/{res}/export?grid_id={grid}"), &w.admin).await;
        let rows = xlsx_rows(&r.bytes);
        assert_eq!(rows.len() as i64 - 1, list["total"].as_i64().expect("total"), "{res} of a grid");
        assert!(rows.iter().flatten().all(|c| !c.contains(B2_MARK)), "{res}: only branch 1's grid");
    }
}

fn url(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn scope_of_a_secretary(t: &TestApp) {
    let w = world(t).await;
    for res in RESOURCES {
        let r = t.get(&format!("/api/v1/{res}/export?format=csv"), &w.sec1).await;
        r.expect(200);
        let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
        assert!(rows.len() > 1, "{res}: the secretary exports their own rows");
        assert!(rows.iter().flatten().all(|c| !c.contains(B2_MARK)), "{res}: nothing of the other community: {rows:?}");
    }
    let r = t.get("/api/v1/residents/export", &w.sec1).await;
    assert_eq!(sorted(column(&xlsx_rows(&r.bytes), "姓名")), sorted(w.b[0].resident_names.clone()));
    // A filter naming the other community's rows gives nothing, not an error that leaks.
    let r = t.get(&format!("/api/v1/residents/export?household_id={}", w.b[1].household), &w.sec1).await;
    r.expect(200);
    assert_eq!(xlsx_rows(&r.bytes).len(), 1, "header only");
    let r = t.get(&format!("/api/v1/search/export?q={}", url("王")), &w.sec1).await;
    assert_eq!(column(&xlsx_rows(&r.bytes), "姓名"), vec!["王东风".to_string()]);

    // A secretary of one community who only reads another (a cadre's grant) exports only their own.
    let id = redcell_store::auth::add_user(&t.db, "mixed", "两处", "mixed-pass-2026", Role::Secretary, "C1-B1")
        .await
        .expect("add user");
    t.db.exec(
        "INSERT INTO grants (tenant_id, user_id, org_id, role) VALUES ($1, $2, $3, 'cadre')",
        redcell_store::args![w.root, id, w.b[1].community],
    )
    .await
    .expect("grant");
    let mixed = t.api_login("mixed", "mixed-pass-2026").await;
    let list = t.get("/api/v1/residents?per_page=200", &mixed).await.json();
    assert_eq!(list["total"], 4, "reads both communities");
    let r = t.get("/api/v1/residents/export", &mixed).await;
    r.expect(200);
    assert_eq!(sorted(column(&xlsx_rows(&r.bytes), "姓名")), sorted(w.b[0].resident_names.clone()));
}

async fn formulas_are_neutralised(t: &TestApp) {
    let w = world(t).await;
    let evil = "=HYPERLINK(\"http://evil.example\",\"点我\")";
    t.create(
        &w.admin,
        "residents",
        json!({"household_id": w.b[0].household, "name": evil, "id_number": synth_id(date(1970, 1, 1), 91), "note": "@SUM(A1:A9)"}),
    )
    .await;
    t.patch(&format!("/api/v1/grids/{}", w.b[0].grid), &w.admin, json!({"description": "-1+2"})).await.expect(200);

    let r = t.get(&format!("/api/v1/residents/export?household_id={}", w.b[0].household), &w.admin).await;
    let rows = xlsx_rows(&r.bytes); // asserts that no cell is a formula
    let names = column(&rows, "姓名");
    assert!(names.contains(&format!("'{evil}")), "prefixed: {names:?}");
    assert!(column(&rows, "备注").contains(&"'@SUM(A1:A9)".to_string()));
    let r = t.get(&format!("/api/v1/residents/export?format=csv&household_id={}", w.b[0].household), &w.admin).await;
    let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
    assert!(column(&rows, "姓名").contains(&format!("'{evil}")));
    let r = t.get(&format!("/api/v1/grids/export?format=csv&q={}", url("东风")), &w.admin).await;
    let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
    assert_eq!(column(&rows, "说明"), vec!["'-1+2".to_string()]);
}

async fn csv_utf8_and_gb18030(t: &TestApp) {
    let w = world(t).await;
    let r = t.get("/api/v1/cadres/export?format=csv", &w.admin).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    assert!(r.header("content-disposition").is_some_and(|c| c.contains(".csv")));
    assert_eq!(&r.bytes[..3], b"\xEF\xBB\xBF", "UTF-8 with a byte-order mark");
    let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
    assert_eq!(rows[0], vec!["姓名", "类别", "所属组织", "职务", "联系电话（脱敏）", "驻点组织"]);
    assert_eq!(sorted(column(&rows, "姓名")), vec!["钱东风".to_string(), "钱西湖".to_string()]);
    assert!(column(&rows, "联系电话（脱敏）").iter().all(|p| p.contains("****")));

    let r = t.get("/api/v1/cadres/export?format=csv&encoding=gb18030", &w.admin).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("text/csv; charset=gb18030"));
    assert!(std::str::from_utf8(&r.bytes).is_err(), "not UTF-8");
    let (text, _, bad) = encoding_rs::GB18030.decode(&r.bytes);
    assert!(!bad);
    assert_eq!(sorted(column(&csv_rows(&text), "姓名")), vec!["钱东风".to_string(), "钱西湖".to_string()]);
}

async fn exports_are_audited(t: &TestApp) {
    let w = world(t).await;
    let q = format!("/api/v1/residents/export?format=csv&household_id={}", w.b[0].household);
    t.get(&q, &w.sec1).await.expect(200);
    let rows: Vec<(Option<i64>, String, String, String)> =
        t.db.all(
            "SELECT user_id, action, entity, detail FROM audit_log WHERE action = 'export' ORDER BY id",
            redcell_store::Args::new(),
        )
        .await
        .expect("audit rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (user, _, entity, detail) = &rows[0];
    assert_eq!(*user, Some(w.sec1_id));
    assert_eq!(entity, "residents");
    assert!(detail.contains("居民名册") && detail.contains("CSV") && detail.contains("2 行"), "{detail}");
    assert!(detail.contains(&format!("household_id={}", w.b[0].household)), "filters recorded: {detail}");

    // The auditor finds it, and may export the trail (which is itself audited).
    redcell_store::auth::add_user(&t.db, "aud", "审计员", "audit-pass-2026", Role::Auditor, "S1")
        .await
        .expect("auditor");
    let aud = t.api_login("aud", "audit-pass-2026").await;
    let r = t.get("/api/v1/audit/export?action=export", &aud).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "操作"), vec!["导出".to_string()]);
    assert_eq!(column(&rows, "用户"), vec![SEC.to_string()]);
    let n: i64 =
        t.db.int(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND entity = 'audit_log'",
            redcell_store::Args::new(),
        )
        .await
        .expect("count");
    assert_eq!(n, 1);
}

async fn refused_without_the_capability(t: &TestApp) {
    let w = world(t).await;
    // A grid worker reads the registry but may not export it.
    redcell_store::auth::add_user(&t.db, "gw1", "网格员", "grid-pass-2026", Role::GridWorker, "C1-B1")
        .await
        .expect("gw");
    let gw = t.api_login("gw1", "grid-pass-2026").await;
    t.get("/api/v1/residents", &gw).await.expect(200);
    for path in ["residents", "members", "orgs", "search", "contacts", "users", "audit"] {
        let r = t.get(&format!("/api/v1/{path}/export?q=x"), &gw).await;
        assert_eq!(r.error(403)["code"], "forbidden", "{path}");
    }
    // The auditor reads the registry and the trail, and exports only the trail.
    redcell_store::auth::add_user(&t.db, "aud", "审计员", "audit-pass-2026", Role::Auditor, "S1")
        .await
        .expect("auditor");
    let aud = t.api_login("aud", "audit-pass-2026").await;
    t.get("/api/v1/residents/export", &aud).await.error(403);
    t.get("/api/v1/audit/export", &aud).await.expect(200);
    // The system administrator exports the registry, not the audit trail; a secretary has no account list.
    t.get("/api/v1/audit/export", &w.admin).await.error(403);
    t.get("/api/v1/users/export", &w.sec1).await.error(403);
    // Nothing was exported by the refused calls; the refusals are on record.
    let exports: i64 =
        t.db.int(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND entity <> 'audit_log'",
            redcell_store::Args::new(),
        )
        .await
        .expect("count");
    assert_eq!(exports, 0);
    let refused: i64 =
        t.db.int("SELECT COUNT(*) FROM audit_log WHERE action = 'forbidden'", redcell_store::Args::new())
            .await
            .expect("count");
    assert_eq!(refused, 10);
    // No token: 401.
    t.api(axum::http::Method::GET, "/api/v1/residents/export", None, None).await.error(401);
}

async fn other_lists(t: &TestApp) {
    let w = world(t).await;
    // Accounts the admin manages.
    let r = t.get("/api/v1/users/export?format=csv", &w.admin).await;
    r.expect(200);
    let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
    assert_eq!(sorted(column(&rows, "用户名")), vec![ADMIN.to_string(), SEC.to_string()]);
    let r = t.get("/api/v1/users/export?q=sec", &w.admin).await;
    assert_eq!(column(&xlsx_rows(&r.bytes), "用户名"), vec![SEC.to_string()]);
    // The contacts in force: one member looks after branch 1's household.
    t.post(
        "/api/v1/contacts",
        &w.admin,
        json!({"level": "member_household", "from_id": w.b[0].member, "to_id": w.b[0].household, "since": "2025-01-01"}),
    )
    .await
    .expect(201);
    let r = t.get(&format!("/api/v1/contacts/export?org_id={}", w.root), &w.admin).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "联系人"), vec![w.b[0].resident_names[0].clone()]);
    assert_eq!(column(&rows, "联系电话（脱敏）"), vec![masked_mobile(&w.b[0].phones[0])]);
    let r = t.get(&format!("/api/v1/contacts/export?org_id={}", w.b[1].community), &w.admin).await;
    assert_eq!(xlsx_rows(&r.bytes).len(), 1, "none in the other community");
    // A search with an empty text exports nothing (as the page lists nothing).
    let r = t.get("/api/v1/search/export?q=", &w.admin).await;
    r.expect(200);
    assert_eq!(xlsx_rows(&r.bytes).len(), 1);
    // Documented in the OpenAPI document.
    let doc = t.send(axum::http::Method::GET, "/api/v1/openapi.json", &[], Vec::new()).await.json();
    for p in [
        "orgs",
        "grids",
        "buildings",
        "households",
        "residents",
        "members",
        "cadres",
        "units",
        "search",
        "users",
        "audit",
        "contacts",
    ] {
        let op = &doc["paths"][format!("/api/v1/{p}/export")]["get"];
        assert!(op.is_object(), "{p}/export documented");
        let params: Vec<&str> =
            op["parameters"].as_array().expect("params").iter().filter_map(|x| x["name"].as_str()).collect();
        assert!(params.contains(&"format") && params.contains(&"encoding"), "{p}: {params:?}");
    }
}

async fn pages_link_to_exports(t: &TestApp) {
    let w = world(t).await;
    let org = w.b[0].branch;
    let page = t.page(&format!("/members?org_id={org}&q={}", url("王")), &w.sec1).await;
    page.expect(200);
    let href = format!("/export/members?org_id={org}&q=%E7%8E%8B&format=xlsx");
    assert!(unescape(&page.body).contains(&href), "export link with the filters: {}", page.body);
    assert!(page.body.contains("导出 Excel") && page.body.contains("导出 CSV"));
    let r = t.page(&href, &w.sec1).await;
    r.expect(200);
    assert_eq!(column(&xlsx_rows(&r.bytes), "姓名"), vec!["王东风".to_string()]);
    // The street, grid, building and household pages offer their lists.
    for (path, kind) in [
        (format!("/orgs/{org}"), "/export/residents?org_id="),
        (format!("/grids/{}", w.b[0].grid), "/export/households?grid_id="),
        (format!("/buildings/{}", w.b[0].building), "/export/households?building_id="),
        (format!("/households/{}", w.b[0].household), "/export/residents?household_id="),
        (format!("/orgs/{org}/contacts"), "/export/contacts?org_id="),
        (format!("/search?q={}", url("王")), "/export/search?q="),
    ] {
        let p = t.page(&path, &w.sec1).await;
        p.expect(200);
        assert!(p.body.contains(kind), "{path} links to {kind}");
    }
    let csv = t.page(&format!("/export/households?grid_id={}&format=csv", w.b[0].grid), &w.sec1).await;
    csv.expect(200);
    assert!(csv.body.starts_with('\u{feff}'));
    // Who may not export sees no link, and the download is refused.
    redcell_store::auth::add_user(&t.db, "gw1", "网格员", "grid-pass-2026", Role::GridWorker, "C1-B1")
        .await
        .expect("gw");
    let gw = t.api_login("gw1", "grid-pass-2026").await;
    let p = t.page(&format!("/members?org_id={org}"), &gw).await;
    p.expect(200);
    assert!(!p.body.contains("/export/"), "no export link for a grid worker");
    t.page(&format!("/export/members?org_id={org}"), &gw).await.expect(403);
    t.page("/export/nothing", &w.sec1).await.expect(404);
    // Accounts and the audit trail.
    let p = t.page("/admin/users", &w.admin).await;
    assert!(p.body.contains("/export/users?"));
    redcell_store::auth::add_user(&t.db, "aud", "审计员", "audit-pass-2026", Role::Auditor, "S1")
        .await
        .expect("auditor");
    let aud = t.api_login("aud", "audit-pass-2026").await;
    let p = t.page("/audit?action=export", &aud).await;
    assert!(p.body.contains("/export/audit?"), "audit page links to its export");
    // The former CSV address of the audit page still works.
    let r = t.page("/audit/export.csv?action=export", &aud).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
}

async fn bad_parameters(t: &TestApp) {
    let w = world(t).await;
    t.get("/api/v1/residents/export?format=xls", &w.admin).await.field_error(422, "format");
    t.get("/api/v1/residents/export?format=csv&encoding=latin1", &w.admin).await.field_error(422, "encoding");
    t.get("/api/v1/residents/export?household_id=abc", &w.admin).await.field_error(422, "query");
    t.get("/api/v1/households/export?tag=nope", &w.admin).await.field_error(422, "tag");
    let n: i64 =
        t.db.int("SELECT COUNT(*) FROM audit_log WHERE action = 'export'", redcell_store::Args::new())
            .await
            .expect("count");
    assert_eq!(n, 0, "a refused request exports nothing");
}

/// A list far larger than one streamed chunk (64 KB): the CSV, streamed to
/// the body as the rows are read, and the xlsx, streamed from its temporary
/// file, both read back whole, masked, and audited once each.
async fn large_exports_stream_every_row(t: &TestApp) {
    use redcell_domain::{IdNumber, ident::DEMO_REGION};
    let w = world(t).await;
    let hh = w.b[0].household;
    let (tenant, org): (i64, i64) =
        t.db.one("SELECT tenant_id, org_id FROM households WHERE id = $1", redcell_store::args![hh])
            .await
            .expect("household");
    const N: usize = 4000;
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for chunk in (0..N).collect::<Vec<_>>().chunks(400) {
        let mut a = redcell_store::Args::new();
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                let birth = date(1940, 1, 1) + chrono::Duration::days(*i as i64);
                let id = IdNumber::synthesise(DEMO_REGION, birth, 7).into_string();
                ids.push(id.clone());
                format!(
                    "({}, {}, {}, {}, 'female', {}, {}, {}, {}, {}, {})",
                    a.push(tenant),
                    a.push(hh),
                    a.push(org),
                    a.push(format!("批量居民{i:05}")),
                    a.push(birth),
                    a.push(id),
                    a.push(format!("137{i:08}")),
                    a.push(format!("=HYPERLINK(\"x\") 备注{i}")),
                    a.push(now),
                    a.push(now)
                )
            })
            .collect();
        t.db.exec(
            &format!(
                "INSERT INTO residents (tenant_id, household_id, org_id, name, gender, birth_date, id_number, phone, note, created_at, updated_at) VALUES {}",
                values.join(",")
            ),
            a,
        )
        .await
        .expect("residents");
    }
    let expected = N + w.b[0].resident_names.len();
    let q = format!("/api/v1/residents/export?household_id={hh}");

    let r = t.get(&format!("{q}&format=csv"), &w.admin).await;
    r.expect(200);
    assert!(r.bytes.len() > 4 * 64 * 1024, "several chunks: {} bytes", r.bytes.len());
    assert_eq!(&r.bytes[..3], b"\xEF\xBB\xBF");
    let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
    assert_eq!(rows.len(), expected + 1, "header and every row");
    assert!(rows[1..].iter().all(|row| row.len() == rows[0].len()), "no row cut between chunks");
    let names = column(&rows, "姓名");
    for i in [0, 1, N / 2, N - 1] {
        assert!(names.contains(&format!("批量居民{i:05}")), "row {i}");
    }
    let masked = column(&rows, "身份证号（脱敏）");
    assert!(masked.contains(&masked_id(&ids[N - 1])));
    assert!(!r.body.contains(&ids[N - 1]), "ID numbers masked");
    assert!(
        column(&rows, "备注").iter().filter(|n| n.contains("备注")).all(|n| n.starts_with("'=")),
        "no live formula"
    );

    let r = t.get(&format!("{q}&format=xlsx"), &w.admin).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(rows.len(), expected + 1);
    assert_eq!(sorted(column(&rows, "姓名")), sorted(names));

    let details: Vec<(String,)> =
        t.db.all("SELECT detail FROM audit_log WHERE action = 'export' ORDER BY id", redcell_store::Args::new())
            .await
            .expect("audit");
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details.iter().all(|(d,)| d.contains(&format!("{expected} 行"))), "{details:?}");
}

async fn request_categories(t: &TestApp, tenant: i64) {
    let mut tx = t.db.begin().await.expect("begin");
    redcell_store::requests::seed::default_categories(&mut tx, tenant).await.expect("categories");
    tx.commit().await.expect("commit");
}

/// The values of `field` in a JSON list's items, in its order (numbers as text).
fn listed(list: &serde_json::Value, field: &str) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|x| match &x[field] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

async fn export_audits(t: &TestApp, entity: &str) -> Vec<(Option<i64>, String)> {
    t.db.all(
        "SELECT user_id, detail FROM audit_log WHERE action = 'export' AND entity = $1 ORDER BY id",
        redcell_store::args![entity],
    )
    .await
    .expect("audit rows")
}

/// The request register (民情诉求): every filter of the queue, the same rows
/// in the same order as its JSON list, masked, neutralised, scoped, audited.
async fn requests_register_exports(t: &TestApp) {
    let w = world(t).await;
    request_categories(t, w.root).await;
    t.secret("13911112222");
    let made = |r: Resp| {
        r.expect(201);
        r.json()
    };
    let benefit = made(
        t.post(
            "/api/v1/requests",
            &w.sec1,
            json!({"category": "benefit", "description": "代王大爷申请高龄津贴", "household_id": w.b[0].household,
                "contact_name": "王东风", "contact_phone": "13911112222"}),
        )
        .await,
    );
    let evil = "=HYPERLINK(\"http://evil.example\",\"点我\")";
    made(
        t.post(
            "/api/v1/requests",
            &w.sec1,
            json!({"category": "elderly", "class": "promised", "promised_date": "2099-01-05", "description": evil, "grid_id": w.b[0].grid}),
        )
        .await,
    );
    made(
        t.post(
            "/api/v1/requests",
            &w.admin,
            json!({"category": "fire", "description": "西湖苑车库充电", "grid_id": w.b[1].grid}),
        )
        .await,
    );
    // One request past its due date, for the overdue filter.
    t.db.exec(
        "UPDATE requests SET due_date = $1 WHERE id = $2",
        redcell_store::args![date(2020, 1, 6), benefit["id"].as_i64().expect("id")],
    )
    .await
    .expect("backdate");

    // Each filter of the list, alone and together: the export has the list's rows in its order.
    for filters in ["", "kind=errand", "kind=hazard", "state=open", "state=submitted&kind=errand", "overdue=1"]
        .into_iter()
        .map(String::from)
        .chain([format!("q={}", url("高龄")), format!("org_id={}", w.b[1].community)])
    {
        let list = t.get(&format!("/api/v1/requests?per_page=200&{filters}"), &w.admin).await;
        list.expect(200);
        let list = list.json();
        let r = t.get(&format!("/api/v1/requests/export?{filters}"), &w.admin).await;
        r.expect(200);
        let rows = xlsx_rows(&r.bytes);
        assert_eq!(column(&rows, "编号"), listed(&list, "code"), "xlsx, filters {filters:?}");
        let r = t.get(&format!("/api/v1/requests/export?format=csv&{filters}"), &w.admin).await;
        r.expect(200);
        let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
        assert_eq!(column(&rows, "编号"), listed(&list, "code"), "csv, filters {filters:?}");
    }
    let r = t.get("/api/v1/requests/export?overdue=1", &w.admin).await;
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "编号"), vec![benefit["code"].as_str().expect("code").to_string()]);
    assert_eq!(column(&rows, "超期"), vec!["是".to_string()]);
    assert_eq!(column(&rows, "办结时限"), vec!["2020-01-06".to_string()], "a date cell");

    // Masked as the list shows it; no clear value anywhere; the formula neutralised.
    let r = t.get("/api/v1/requests/export?kind=errand", &w.admin).await;
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(rows[0][0], "编号");
    assert!(column(&rows, "联系电话（脱敏）").contains(&"139****2222".to_string()));
    assert!(column(&rows, "内容").contains(&format!("'{evil}")), "{rows:?}");
    let r = t.get("/api/v1/requests/export?format=csv&kind=errand", &w.admin).await;
    assert!(column(&csv_rows(r.body.trim_start_matches('\u{feff}')), "内容").contains(&format!("'{evil}")));
    for cell in rows.iter().flatten().chain(csv_rows(&r.body).iter().flatten()) {
        for s in t.secrets() {
            assert!(!cell.contains(&s), "clear value {s} in the export");
        }
    }

    // The secretary exports their branch's requests only, whatever the filter names.
    let mine = t.get("/api/v1/requests?per_page=200", &w.sec1).await.json();
    assert_eq!(mine["total"], 2);
    let r = t.get("/api/v1/requests/export?format=csv", &w.sec1).await;
    r.expect(200);
    let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
    assert_eq!(column(&rows, "编号"), listed(&mine, "code"));
    assert!(rows.iter().flatten().all(|c| !c.contains(B2_MARK)), "{rows:?}");
    let r = t.get(&format!("/api/v1/requests/export?org_id={}", w.b[1].community), &w.sec1).await;
    r.expect(200);
    assert_eq!(xlsx_rows(&r.bytes).len(), 1, "header only");

    // Audited with the kind, the format, the row count and the filters.
    let audits = export_audits(t, "requests").await;
    let last = audits.last().expect("audited");
    assert_eq!(last.0, Some(w.sec1_id));
    assert!(last.1.contains("民情诉求") && last.1.contains("0 行"), "{}", last.1);
    assert!(last.1.contains(&format!("org_id={}", w.b[1].community)), "{}", last.1);
    assert!(audits.iter().any(|(_, d)| d.contains("CSV") && d.contains("kind=errand")), "{audits:?}");

    // The queue page links to the download with its filters; "my tasks" does not.
    let page = t.page(&format!("/requests?kind=errand&state=open&q={}", url("高龄")), &w.sec1).await;
    page.expect(200);
    let href = "/export/requests?kind=errand&state=open&q=%E9%AB%98%E9%BE%84&format=xlsx";
    assert!(unescape(&page.body).contains(href), "export link with the filters");
    let r = t.page(href, &w.sec1).await;
    r.expect(200);
    assert_eq!(column(&xlsx_rows(&r.bytes), "编号"), vec![benefit["code"].as_str().expect("code").to_string()]);
    let p = t.page("/requests/mine", &w.sec1).await;
    p.expect(200);
    assert!(!p.body.contains("/export/"));
    // A grid worker handles requests but may not export them.
    redcell_store::auth::add_user(&t.db, "gw1", "网格员", "grid-pass-2026", Role::GridWorker, "C1-B1")
        .await
        .expect("gw");
    let gw = t.api_login("gw1", "grid-pass-2026").await;
    assert_eq!(t.get("/api/v1/requests", &gw).await.json()["total"], 2);
    let p = t.page("/requests", &gw).await;
    p.expect(200);
    assert!(!p.body.contains("/export/"), "no export link for a grid worker");
    assert_eq!(t.get("/api/v1/requests/export", &gw).await.error(403)["code"], "forbidden");
}

/// Exemptions, contact plans and demonstration posts: the organisation's
/// list with its filters, scoped, neutralised, audited, linked from the pages.
async fn coverage_lists_export(t: &TestApp) {
    let w = world(t).await;
    let a = &w.admin;
    let (b0, b1) = (&w.b[0], &w.b[1]);
    let root = w.root;

    // Exemptions: one per branch, the first approved by its branch.
    let e0 = t
        .post("/api/v1/exemptions", &w.sec1, json!({"member_id": b0.member, "reason": "old_frail", "note": "=1+1"}))
        .await;
    e0.expect(201);
    let e0 = e0.json()["id"].as_i64().expect("id");
    t.post("/api/v1/exemptions", a, json!({"member_id": b1.member, "reason": "long_sick"})).await.expect(201);
    let decided = t
        .post(
            &format!("/api/v1/exemptions/{e0}/decide"),
            &w.sec1,
            json!({"step": "branch", "decision": "approve", "note": "支部大会"}),
        )
        .await;
    decided.expect(200);
    let branch_on = decided.json()["branch_on"].as_str().expect("branch_on").to_string();
    for filters in
        [format!("org_id={root}"), format!("org_id={root}&status=requested"), format!("org_id={}", b0.branch)]
    {
        let list = t.get(&format!("/api/v1/exemptions?per_page=200&{filters}"), a).await.json();
        let r = t.get(&format!("/api/v1/exemptions/export?{filters}"), a).await;
        r.expect(200);
        let rows = xlsx_rows(&r.bytes);
        assert_eq!(column(&rows, "党员"), listed(&list, "member_name"), "exemptions {filters}");
        let r = t.get(&format!("/api/v1/exemptions/export?format=csv&{filters}"), a).await;
        let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
        assert_eq!(column(&rows, "党员"), listed(&list, "member_name"), "exemptions csv {filters}");
    }
    let r = t.get(&format!("/api/v1/exemptions/export?org_id={}", b0.branch), a).await;
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "说明"), vec!["'=1+1".to_string()]);
    assert_eq!(column(&rows, "支部大会决定日期"), vec![branch_on], "a date cell");
    assert_eq!(column(&rows, "状态"), vec!["待社区党委同意".to_string()]);
    assert_eq!(column(&rows, "待办环节"), vec!["社区党委同意".to_string()]);
    assert_eq!(column(&rows, "支部经办人"), vec!["东风书记".to_string()]);
    // The secretary: their branch by default; the street is not theirs (as for the list).
    let r = t.get("/api/v1/exemptions/export?format=csv", &w.sec1).await;
    r.expect(200);
    assert_eq!(column(&csv_rows(r.body.trim_start_matches('\u{feff}')), "党员"), vec![b0.resident_names[0].clone()]);
    let list = t.get(&format!("/api/v1/exemptions?org_id={root}"), &w.sec1).await;
    let r = t.get(&format!("/api/v1/exemptions/export?org_id={root}"), &w.sec1).await;
    assert_eq!(r.code(), list.code(), "the export refuses what the list refuses");
    assert!(matches!(r.code(), 403 | 404));

    // Plans: the street's (admin) and the branch's (secretary).
    t.post("/api/v1/plans", a, json!({"org_id": root})).await.expect(201);
    t.post("/api/v1/plans", &w.sec1, json!({"org_id": b0.branch})).await.expect(201);
    let list = t.get(&format!("/api/v1/plans?org_id={root}"), a).await.json();
    assert_eq!(list["total"], 2);
    let r = t.get(&format!("/api/v1/plans/export?org_id={root}"), a).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "方案编号"), listed(&list, "id"));
    assert_eq!(column(&rows, "状态"), vec!["待审核".to_string(); 2]);
    assert_eq!(column(&rows, "住户数")[0], list["items"][0]["households"].to_string(), "a number cell");
    let mine = t.get("/api/v1/plans", &w.sec1).await.json();
    assert_eq!(mine["total"], 1);
    let r = t.get("/api/v1/plans/export?format=csv", &w.sec1).await;
    r.expect(200);
    let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
    assert_eq!(column(&rows, "方案编号"), listed(&mine, "id"));
    assert_eq!(column(&rows, "范围"), vec![b0.branch_name.clone()]);

    // Posts: one per branch and an ended one; the list shows the posts in force unless `all`.
    let post =
        |name: &str, b: &Branch| json!({"name": name, "member_id": b.member, "grid_id": b.grid, "since": "2026-01-01"});
    let ended = t.post("/api/v1/posts", a, post("已撤销示范岗", b0)).await;
    ended.expect(201);
    let ended = ended.json()["id"].as_i64().expect("id");
    t.post(&format!("/api/v1/posts/{ended}/end"), a, json!({"until": "2026-06-01", "reason": "调整"}))
        .await
        .expect(200);
    t.post("/api/v1/posts", a, post("@便民服务示范岗", b0)).await.expect(201);
    t.post("/api/v1/posts", a, post("西湖文明示范岗", b1)).await.expect(201);
    for filters in [format!("org_id={root}"), format!("org_id={root}&all=true"), format!("grid_id={}", b0.grid)] {
        let list = t.get(&format!("/api/v1/posts?per_page=200&{filters}"), a).await.json();
        let r = t.get(&format!("/api/v1/posts/export?{filters}"), a).await;
        r.expect(200);
        assert_eq!(
            column(&xlsx_rows(&r.bytes), "示范岗"),
            listed(&list, "name")
                .into_iter()
                .map(|n| if n.starts_with('@') { format!("'{n}") } else { n })
                .collect::<Vec<_>>(),
            "posts {filters}"
        );
    }
    let r = t.get("/api/v1/posts/export?format=csv&all=true", &w.sec1).await;
    r.expect(200);
    let rows = csv_rows(r.body.trim_start_matches('\u{feff}'));
    assert_eq!(sorted(column(&rows, "示范岗")), vec!["'@便民服务示范岗".to_string(), "已撤销示范岗".to_string()]);
    assert!(rows.iter().flatten().all(|c| !c.contains(B2_MARK)), "{rows:?}");
    assert_eq!(column(&rows, "撤销日期").iter().filter(|d| !d.is_empty()).collect::<Vec<_>>(), vec!["2026-06-01"]);

    // Audited; documented; linked from the pages with their filters.
    for entity in ["exemptions", "plans", "posts"] {
        assert!(!export_audits(t, entity).await.is_empty(), "{entity} audited");
    }
    let last = export_audits(t, "posts").await.pop().expect("audit");
    assert_eq!(last.0, Some(w.sec1_id));
    assert!(last.1.contains("党员示范岗") && last.1.contains("2 行") && last.1.contains("all=true"), "{}", last.1);
    let doc = t.send(axum::http::Method::GET, "/api/v1/openapi.json", &[], Vec::new()).await.json();
    for p in ["requests", "exemptions", "plans", "posts"] {
        let op = &doc["paths"][format!("/api/v1/{p}/export")]["get"];
        let params: Vec<&str> =
            op["parameters"].as_array().expect("params").iter().filter_map(|x| x["name"].as_str()).collect();
        assert!(params.contains(&"format") && params.contains(&"org_id"), "{p}: {params:?}");
    }
    let branch = b0.branch;
    for (path, href) in [
        (
            format!("/orgs/{branch}/exemptions?status=requested"),
            format!("/export/exemptions?org_id={branch}&status=requested&format=xlsx"),
        ),
        (format!("/orgs/{branch}/plans"), format!("/export/plans?org_id={branch}&format=csv")),
        (format!("/orgs/{branch}/posts?all=1"), format!("/export/posts?org_id={branch}&all=true&format=xlsx")),
    ] {
        let p = t.page(&path, &w.sec1).await;
        p.expect(200);
        assert!(unescape(&p.body).contains(&href), "{path} links to {href}");
        t.page(&href, &w.sec1).await.expect(200);
    }
}

/// The in-service members' register with the quarter's confirmed hours: the
/// file the community sends to the employers' party organisations.
async fn inservice_register_exports(t: &TestApp) {
    let w = world(t).await;
    let body = json!({
        "org_id": w.b[0].community, "member_id": w.b[0].member, "employer": "区人民医院",
        "employer_org": "区人民医院党委", "employer_phone": "0571-86001234"
    });
    t.post("/api/v1/service/reports", &w.admin, body.clone()).await.expect(201);
    t.post("/api/v1/service/reports", &w.admin, body).await.expect(422);
    let r = t.get(&format!("/api/v1/inservice/export?org_id={}", w.root), &w.admin).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "姓名"), vec![w.b[0].resident_names[0].clone()]);
    assert_eq!(column(&rows, "工作单位"), vec!["区人民医院".to_string()]);
    assert_eq!(column(&rows, "状态"), vec!["在册".to_string()]);
    assert_eq!(column(&rows, "本季度确认服务时长（分钟）"), vec!["0".to_string()]);
    let r = t.get(&format!("/api/v1/inservice/export?org_id={}", w.b[1].community), &w.admin).await;
    assert_eq!(xlsx_rows(&r.bytes).len(), 1, "none in the other community");
    // The register offers the employers' lists as a roster import, the kind chosen already.
    let page = t.page(&format!("/orgs/{}/inservice", w.b[0].community), &w.admin).await;
    assert!(page.body.contains("/import?kind=inservice"), "{}", page.body);
    let import = t.page("/import?kind=inservice", &w.admin).await;
    assert!(import.body.contains("value=\"inservice\" selected"), "{}", import.body);
    // A bad quarter is named.
    let r = t.get("/api/v1/inservice/export?quarter=2026-5", &w.admin).await;
    r.expect(422);
    assert!(r.body.contains("quarter"), "{}", r.body);
}

/// The care fund's journal (each line of each entry, debit and credit), the
/// hardship register and the service hours ledger: in scope, with the
/// filters named when bad.
async fn care_and_service_ledgers_export(t: &TestApp) {
    let w = world(t).await;
    let fund = t
        .post("/api/v1/care/funds", &w.admin, json!({"org_id": w.b[0].community.to_string(), "name": "东风关爱基金"}))
        .await;
    fund.expect(201);
    let fund = id_of(&fund.json());
    let income = json!({"source": "donation", "amount": "1200.50", "memo": "七一捐款", "receipt": "SJ-001"});
    t.post(&format!("/api/v1/care/funds/{fund}/income"), &w.admin, income).await.expect(201);
    let r = t.get(&format!("/api/v1/care-journal/export?fund_id={fund}"), &w.admin).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "摘要"), vec!["七一捐款".to_string(), "七一捐款".to_string()], "one row per line");
    assert_eq!(column(&rows, "借方（元）"), vec!["1200.5".to_string(), String::new()]);
    assert_eq!(column(&rows, "贷方（元）"), vec![String::new(), "1200.5".to_string()]);
    assert_eq!(column(&rows, "收据号")[0], "SJ-001");
    // The branch secretary, below the fund's community, exports none of it.
    let r = t.get(&format!("/api/v1/care-journal/export?fund_id={fund}&format=csv"), &w.sec1).await;
    if r.status == 200 {
        assert_eq!(r.body.lines().count(), 1, "only the header: {}", r.body);
    }
    t.get("/api/v1/care-journal/export?year=1800", &w.admin).await.expect(422);

    let case = json!({"member_id": w.b[0].member, "situation": "因病住院，家庭收入减少"});
    t.post("/api/v1/care/cases", &w.admin, case).await.expect(201);
    let r = t.get(&format!("/api/v1/hardship-cases/export?org_id={}", w.root), &w.admin).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "困难情况"), vec!["因病住院，家庭收入减少".to_string()]);
    assert_eq!(column(&rows, "状态"), vec!["帮扶中".to_string()]);
    assert_eq!(column(&rows, "帮扶次数"), vec!["0".to_string()]);
    let r = t.get(&format!("/api/v1/hardship-cases/export?org_id={}&state=closed", w.root), &w.admin).await;
    assert_eq!(xlsx_rows(&r.bytes).len(), 1, "no closed case");
    let r = t.get("/api/v1/hardship-cases/export?state=maybe", &w.admin).await;
    r.expect(422);
    assert!(r.body.contains("state"), "{}", r.body);

    let r = t.get(&format!("/api/v1/service-hours/export?org_id={}", w.root), &w.admin).await;
    r.expect(200);
    assert_eq!(xlsx_rows(&r.bytes)[0][..3], ["日期".to_string(), "时间".to_string(), "时长（分钟）".to_string()]);
    let r = t.get("/api/v1/service-hours/export?state=done", &w.admin).await;
    r.expect(422);
    assert!(r.body.contains("state"), "{}", r.body);

    // The three rosters in one file: the member who left is on the mobile roster.
    let card = json!({"direction": "out", "member_id": w.b[0].member, "card_no": "LC-X1", "place": "深圳",
        "reason": "务工", "channel": "电话"});
    t.post("/api/v1/mobility/cards", &w.admin, card).await.expect(201);
    let r = t.get(&format!("/api/v1/mobility-rosters/export?org_id={}", w.b[0].community), &w.admin).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "名册"), vec!["流动党员".to_string()]);
    assert_eq!(column(&rows, "流向"), vec!["深圳".to_string()]);
    let page = t.page(&format!("/orgs/{}/mobility", w.b[0].community), &w.admin).await;
    assert!(unescape(&page.body).contains("/export/mobility-rosters?org_id="), "{}", page.body);
    // The cards' file: the contact channel masked but for its last digits.
    let card = json!({"direction": "out", "member_id": w.b[1].member, "card_no": "LC-X2", "place": "广州",
        "reason": "务工", "channel": "电话 13912345678"});
    t.post("/api/v1/mobility/cards", &w.admin, card).await.expect(201);
    let r = t.get(&format!("/api/v1/mobility-cards/export?org_id={}", w.root), &w.admin).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    let mut nos = column(&rows, "登记卡号");
    nos.sort();
    assert_eq!(nos, vec!["LC-X1".to_string(), "LC-X2".to_string()]);
    let head = &rows[0];
    let i = head.iter().position(|h| h.starts_with("联系方式")).expect("channel column");
    let x2 = rows.iter().find(|r| r[0] == "LC-X2").expect("LC-X2");
    assert_eq!(x2[i], "电话 *******5678");
    let r = t.get("/api/v1/mobility-cards/export?direction=sideways", &w.admin).await;
    r.expect(422);
    // The transfers' file: one started, pending at the community.
    let tr = json!({"member_id": w.b[0].member, "to_outside": "某市某区某街道党工委", "reason": "随子女定居"});
    t.post("/api/v1/transfers", &w.admin, tr).await.expect(201);
    let r = t.get(&format!("/api/v1/org-transfers/export?org_id={}&state=open", w.root), &w.admin).await;
    r.expect(200);
    let rows = xlsx_rows(&r.bytes);
    assert_eq!(column(&rows, "转入组织或去向"), vec!["某市某区某街道党工委".to_string()]);
    assert_eq!(column(&rows, "状态"), vec!["审批中".to_string()]);
    let r = t.get(&format!("/api/v1/org-transfers/export?org_id={}&state=closed", w.root), &w.admin).await;
    assert_eq!(xlsx_rows(&r.bytes).len(), 1, "nothing closed yet");
    // Branch 1's secretary sees branch 1's card, not branch 2's.
    let r = t.get("/api/v1/mobility-cards/export", &w.sec1).await;
    r.expect(200);
    assert_eq!(column(&xlsx_rows(&r.bytes), "登记卡号"), vec!["LC-X1".to_string()]);

    // The fund's, the register's and the service page offer their files.
    let c1 = w.b[0].community;
    for (path, link) in [
        (format!("/care/{fund}"), format!("/export/care-journal?fund_id={fund}&")),
        (format!("/orgs/{c1}/hardship"), format!("/export/hardship-cases?org_id={c1}&")),
        (format!("/orgs/{c1}/service"), format!("/export/service-hours?org_id={c1}&")),
    ] {
        let p = t.page(&path, &w.admin).await;
        p.expect(200);
        assert!(unescape(&p.body).contains(&link), "{path} links to {link}");
    }
}
