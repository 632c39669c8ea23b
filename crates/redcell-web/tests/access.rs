//! Access control and privacy over HTTP, end to end on SQLite and PostgreSQL:
//! the role × capability table as the API and the pages apply it, revealing
//! personal data, the audit trail, CSRF and refused writes, account
//! management, login hardening, files, and input limits.

use axum::http::Method;
use chrono::{DateTime, Duration, Utc};
use redcell_domain::{Capability, Role};
use redcell_testkit::app::*;
use serde_json::{Value, json};
use std::net::SocketAddr;

stories!(
    role_capability_table,
    reveal_personal_data,
    audit_trail,
    csrf_and_refused_writes,
    first_login_must_change_password,
    org_admin_limits,
    account_lifecycle,
    login_rate_limit_and_lockout,
    expired_and_idle_sessions,
    files,
    long_fields_and_escaping,
);

/// The password of every account these stories add.
const PW: &str = "role-pass-2026";

// ---------------------------------------------------------------- helpers

#[track_caller]
fn assert_redirect(r: &Resp, to: &str) {
    assert!(matches!(r.code(), 302 | 303), "{}: expected a redirect to {to}, got {} {}", r.what, r.status, r.body);
    assert_eq!(r.location(), to, "{}", r.what);
}

/// Every answer carries a CSP that allows no inline script or style.
#[track_caller]
fn assert_csp(r: &Resp) {
    let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{}: no CSP", r.what));
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{}: CSP {csp}", r.what);
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{}: CSP {csp}", r.what);
    assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"), "{}", r.what);
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"), "{}", r.what);
}

/// Add an account holding `role` on the organisation `org_code`; answers its
/// id and a bearer token (also usable as the page session cookie).
async fn account(t: &TestApp, username: &str, role: Role, org_code: &str) -> (i64, String) {
    let id = redcell_store::auth::add_user(&t.db, username, username, PW, role, org_code)
        .await
        .unwrap_or_else(|e| panic!("add {username}: {e:?}"));
    (id, t.api_login(username, PW).await)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

async fn send_maybe_from(
    t: &TestApp,
    from: Option<SocketAddr>,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp {
    match from {
        Some(a) => t.send_from(a, method, uri, headers, body).await,
        None => t.send(method, uri, headers, body).await,
    }
}

/// Log in through the login page (login CSRF cookie and token included).
async fn page_login(t: &TestApp, from: Option<SocketAddr>, username: &str, password: &str) -> Resp {
    let form = send_maybe_from(t, from, Method::GET, "/login", &[], Vec::new()).await;
    form.expect(200);
    let token = form.set_cookie("rc_login_csrf").expect("login CSRF cookie");
    let cookie = format!("rc_login_csrf={token}");
    let body = qs(&[("_csrf", &token), ("username", username), ("password", password), ("next", "/")]);
    let h = [("content-type", "application/x-www-form-urlencoded"), ("cookie", cookie.as_str())];
    send_maybe_from(t, from, Method::POST, "/login", &h, body.into_bytes()).await
}

/// Log in through the API from `from`.
async fn api_login_from(t: &TestApp, from: Option<SocketAddr>, username: &str, password: &str) -> Resp {
    let body = serde_json::to_vec(&json!({"username": username, "password": password})).expect("json");
    send_maybe_from(t, from, Method::POST, "/api/v1/auth/login", &[("content-type", "application/json")], body).await
}

/// Audit rows of one action: (user id, entity, entity id, detail), oldest first.
async fn audit_rows(t: &TestApp, action: &str) -> Vec<(Option<i64>, String, Option<i64>, Option<String>)> {
    t.db.all(
        "SELECT user_id, entity, entity_id, detail FROM audit_log WHERE action = $1 ORDER BY id",
        redcell_store::args![action],
    )
    .await
    .expect("audit rows")
}

async fn count(t: &TestApp, sql: &str, args: redcell_store::Args) -> i64 {
    t.db.int(sql, args).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

async fn user_count(t: &TestApp) -> i64 {
    count(t, "SELECT COUNT(*) FROM users", redcell_store::Args::new()).await
}

async fn file_count(t: &TestApp) -> i64 {
    count(t, "SELECT COUNT(*) FROM files", redcell_store::Args::new()).await
}

/// Pairs for `TestApp::form` from owned values.
fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
}

/// Today in China.
fn china_today() -> chrono::NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// The number after `共 ` on a list page.
#[track_caller]
fn total_shown(r: &Resp) -> i64 {
    let i = r.body.find("共 ").unwrap_or_else(|| panic!("{}: no total: {}", r.what, r.body)) + "共 ".len();
    let digits: String = r.body[i..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("{}: total not a number", r.what))
}

/// The text of an element up to the closing `</label>` that follows `needle`.
#[track_caller]
fn label_around<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html.find(needle).unwrap_or_else(|| panic!("{needle} not in {html}"));
    let end = at + html[at..].find("</label>").expect("</label>");
    &html[at..end]
}

// ---------------------------------------------------------------- 1. roles

/// For every role granted on branch 1, the API and the pages allow exactly what
/// `Role::can` says.
async fn role_capability_table(t: &TestApp) {
    use Capability::*;
    let w = world(t).await;
    let b1 = &w.b[0];
    let target = b1.residents[1];
    let mut table = vec![format!(
        "{:<12} {:>5} {:>4} {:>6} {:>5} {:>6} {:>6} {:>5} {:>5} {:>5}",
        "role", "list", "get", "create", "patch", "delete", "reveal", "audit", "users", "+user"
    )];
    for (n, role) in Role::ALL.iter().copied().enumerate() {
        let username = format!("r_{}", role.code());
        let (_, tok) = account(t, &username, role, &b1.branch_code).await;
        let tok = tok.as_str();
        // The audit trail holds (masked) data of every subtree: it is read only
        // with ReadAudit over the whole tenant: by no role granted on a branch,
        // the auditor included (see the roles granted on the root below).
        let audit = false;
        let (read, edit, reveal, manage) =
            (role.can(ReadRegistry), role.can(EditRegistry), role.can(RevealPersonal), role.can(ManageUsers));
        let who = role.code();

        // Registry reads: roles without ReadRegistry are refused at the gate.
        let list = t.get("/api/v1/residents", tok).await;
        let total = if read {
            list.expect(200);
            list.json()["total"].as_i64().expect("total")
        } else {
            list.error(403);
            0
        };
        assert_eq!(total, if read { 2 } else { 0 }, "{who}: residents listed");
        for r in RESOURCES {
            let l = t.get(&format!("/api/v1/{r}"), tok).await;
            l.expect(if read { 200 } else { 403 });
        }
        let get = t.get(&format!("/api/v1/residents/{target}"), tok).await;
        get.expect(if read { 200 } else { 403 });
        let page = t.page(&format!("/residents/{target}"), tok).await;
        page.expect(if read { 200 } else { 403 });
        if read {
            assert_eq!(page.body.contains("/reveal\""), reveal, "{who}: reveal form shown");
            assert_eq!(page.body.contains(&format!("/residents/{target}/edit")), edit, "{who}: edit link shown");
        }
        let home = t.page("/", tok).await;
        let own_work = role.can(RecordOwnVisits) || role.can(ClaimRequests);
        let landing = match (read, own_work) {
            // A grid worker starts at the day of their grid, other staff at a glance.
            (true, _) if role == Role::GridWorker => "/grid/today".to_string(),
            (true, _) => format!("/orgs/{}/glance", b1.branch),
            (false, true) => "/my".to_string(),
            (false, false) => "/account".to_string(),
        };
        assert_redirect(&home, &landing);
        let acct = t.page("/account", tok).await;
        acct.expect(200);
        assert_eq!(acct.body.contains("href=\"/orgs\""), read, "{who}: registry link");
        assert_eq!(acct.body.contains("href=\"/audit\""), audit, "{who}: audit link");
        assert_eq!(acct.body.contains("href=\"/admin/users\""), manage, "{who}: users link");
        let csrf = csrf_of(&acct.body);

        // Registry writes: refused ones write nothing.
        let before = t.counts(&w.admin).await;
        let id_number = synth_id(date(1977, 5, 5), 600 + n as u32);
        t.secret(&id_number);
        let created = t
            .post(
                "/api/v1/residents",
                tok,
                json!({"household_id": b1.household, "name": "新来的居民", "id_number": id_number}),
            )
            .await;
        let patched;
        let deleted;
        if edit {
            created.expect(201);
            let id = created.json()["id"].as_i64().expect("id");
            patched = t.patch(&format!("/api/v1/residents/{target}"), tok, json!({"note": format!("{who} 改")})).await;
            patched.expect(200);
            deleted = t.delete(&format!("/api/v1/residents/{id}"), tok).await;
            deleted.expect(204);
            assert_eq!(t.counts(&w.admin).await, before, "{who}: create then delete");
        } else {
            // Without the right to edit anywhere, every write is refused at
            // the gate (403) before any id is looked at.
            created.error(403);
            patched = t.patch(&format!("/api/v1/residents/{target}"), tok, json!({"note": "不该写入"})).await;
            patched.error(403);
            deleted = t.delete(&format!("/api/v1/residents/{target}"), tok).await;
            deleted.error(403);
            let del_page =
                t.session_form(&format!("/residents/{target}/delete"), tok, &[("_csrf", csrf.as_str())]).await;
            del_page.expect(403);
            assert_eq!(t.counts(&w.admin).await, before, "{who}: a refused write changed rows");
            let row = t.get(&format!("/api/v1/residents/{target}"), &w.admin).await.json();
            assert_ne!(row["note"], "不该写入", "{who}: a refused PATCH was written");
        }

        // Reveal: only with RevealPersonal; without it the gate refuses (403).
        let rv = t.post(&format!("/api/v1/residents/{target}/reveal"), tok, json!({"reason": "核对"})).await;
        let rv_page = t
            .session_form(&format!("/residents/{target}/reveal"), tok, &[("_csrf", csrf.as_str()), ("reason", "核对")])
            .await;
        if reveal {
            rv.expect(200);
            assert_eq!(rv.json()["id_number"], b1.id_numbers[1], "{who}: reveal answers the clear number");
            rv_page.expect(200);
            assert!(rv_page.body.contains(&b1.id_numbers[1]), "{who}: reveal page");
        } else {
            rv.error(403);
            rv_page.expect(403);
            for r in [&rv, &rv_page] {
                assert!(!r.body.contains(&b1.id_numbers[1]) && !r.body.contains(&b1.phones[1]), "{who}: {}", r.body);
            }
        }

        // The audit trail: an auditor only (separation of duties: not even the admin).
        let a_api = t.get("/api/v1/audit", tok).await;
        let a_page = t.page("/audit", tok).await;
        let exports = audit_rows(t, "export").await.len();
        let a_csv = t.page("/audit/export.csv", tok).await;
        for r in [&a_api, &a_page, &a_csv] {
            r.expect(if audit { 200 } else { 403 });
        }
        assert_eq!(audit_rows(t, "export").await.len(), exports + usize::from(audit), "{who}: export audited");

        // Accounts: account managers only.
        let u_api = t.get("/api/v1/users", tok).await;
        let u_page = t.page("/admin/users", tok).await;
        for r in [&u_api, &u_page] {
            r.expect(if manage { 200 } else { 403 });
        }
        let users = user_count(t).await;
        let made = t
            .post(
                "/api/v1/users",
                tok,
                json!({"username": format!("made_by_{who}"), "password": "made-pass-2026", "role": "grid_worker", "org_id": b1.branch}),
            )
            .await;
        if manage {
            made.expect(201);
            assert_eq!(user_count(t).await, users + 1);
        } else {
            // Without the right to manage accounts anywhere: refused at the gate.
            made.expect(403);
        }
        if !manage {
            assert_eq!(user_count(t).await, users, "{who}: a refused account creation wrote a user");
        }

        table.push(format!(
            "{:<12} {:>5} {:>4} {:>6} {:>5} {:>6} {:>6} {:>5} {:>5} {:>5}",
            who,
            total,
            get.code(),
            created.code(),
            patched.code(),
            deleted.code(),
            rv.code(),
            a_api.code(),
            u_api.code(),
            made.code()
        ));
    }

    // The same roles granted on the root: the auditor reads the trail, the admin still does not.
    for role in Role::ALL.iter().copied() {
        let (_, tok) = account(t, &format!("root_{}", role.code()), role, "S1").await;
        let code = if role.can(ReadAudit) { 200 } else { 403 };
        let a_api = t.get("/api/v1/audit", &tok).await;
        a_api.expect(code);
        t.page("/audit", &tok).await.expect(code);
        t.page("/audit/export.csv", &tok).await.expect(code);
        assert_eq!(t.page("/account", &tok).await.body.contains("href=\"/audit\""), role.can(ReadAudit));
        let list = t.get("/api/v1/residents", &tok).await.json()["total"].as_i64().unwrap_or(0);
        assert_eq!(list, if role.can(ReadRegistry) { 4 } else { 0 }, "{role:?} on the root");
        if role == Role::Auditor {
            table.push(format!(
                "{:<12} {:>5} {:>4} {:>6} {:>5} {:>6} {:>6} {:>5}",
                "auditor@S1",
                list,
                "",
                "",
                "",
                "",
                "",
                a_api.code()
            ));
        }
    }
    println!("role × capability as observed (granted on branch 1; API status codes, list = residents seen):");
    for line in table {
        println!("  {line}");
    }
}

// ---------------------------------------------------------------- 2. reveal

async fn reveal_personal_data(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    let r0 = b1.residents[0];

    // sec1, on a resident of their branch: the clear values, audited with actor and entity.
    let r = t.post(&format!("/api/v1/residents/{r0}/reveal"), &w.sec1, json!({"reason": "入户走访需联系本人"})).await;
    r.expect(200);
    let v = r.json();
    assert_eq!(v["id"], r0);
    assert_eq!(v["id_number"].as_str().map(str::len), Some(18));
    assert_eq!(v["id_number"], b1.id_numbers[0]);
    assert_eq!(v["phone"], b1.phones[0]);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"), "the API answer of a reveal is not cached");
    let rows = audit_rows(t, "reveal").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0], (Some(w.sec1_id), "resident".into(), Some(r0), Some("入户走访需联系本人".into())));

    // A resident of branch 2: 404, nothing clear, nothing revealed.
    let b2r = b2.residents[0];
    let r = t.post(&format!("/api/v1/residents/{b2r}/reveal"), &w.sec1, json!({})).await;
    r.error(404);
    for s in t.secrets() {
        assert!(!r.body.contains(&s), "a refused reveal shows {s}: {}", r.body);
    }
    assert_eq!(audit_rows(t, "reveal").await.len(), 1);

    // The page: the form on the resident's page, the clear values on a no-store page.
    let page = t.page(&format!("/residents/{r0}"), &w.sec1).await;
    page.expect(200);
    assert!(page.body.contains(&format!("action=\"/residents/{r0}/reveal\"")));
    let csrf = csrf_of(&page.body);
    let shown = t
        .session_form(&format!("/residents/{r0}/reveal"), &w.sec1, &[("_csrf", csrf.as_str()), ("reason", "回访")])
        .await;
    shown.expect(200);
    assert!(shown.body.contains(&b1.id_numbers[0]) && shown.body.contains(&b1.phones[0]), "{}", shown.body);
    assert_eq!(shown.header("cache-control").as_deref(), Some("no-store"));
    assert_csp(&shown);
    assert_eq!(audit_rows(t, "reveal").await.len(), 2);
    let refused = t.session_form(&format!("/residents/{b2r}/reveal"), &w.sec1, &[("_csrf", csrf.as_str())]).await;
    refused.expect(404);
    for s in t.secrets() {
        assert!(!refused.body.contains(&s), "a refused reveal page shows {s}");
    }
    // Without the CSRF token nothing is revealed.
    let forged = t.session_form(&format!("/residents/{r0}/reveal"), &w.sec1, &[("_csrf", "forged")]).await;
    forged.expect(403);
    assert!(!forged.body.contains(&b1.id_numbers[0]));
    assert_eq!(audit_rows(t, "reveal").await.len(), 2);

    // A cadre may reveal; a member and an auditor may not (403 at the gate,
    // audited as refused).
    let (cadre_id, cadre) = account(t, "cadre1", Role::Cadre, &b1.branch_code).await;
    let r = t.post(&format!("/api/v1/residents/{r0}/reveal"), &cadre, json!({"reason": "驻格走访"})).await;
    r.expect(200);
    assert_eq!(r.json()["phone"], b1.phones[0]);
    assert_eq!(audit_rows(t, "reveal").await.last().map(|x| x.0), Some(Some(cadre_id)));
    let (member_id, member) = account(t, "member1", Role::Member, &b1.branch_code).await;
    let r = t.post(&format!("/api/v1/residents/{r0}/reveal"), &member, json!({})).await;
    r.error(403);
    assert!(!r.body.contains(&b1.id_numbers[0]));
    assert!(audit_rows(t, "reveal").await.iter().all(|x| x.0 != Some(member_id)));
    let (auditor_id, auditor) = account(t, "auditor1", Role::Auditor, "S1").await;
    let r = t.post(&format!("/api/v1/residents/{r0}/reveal"), &auditor, json!({"reason": "抽查"})).await;
    r.error(403);
    assert!(!r.body.contains(&b1.id_numbers[0]));
    let denied = audit_rows(t, "forbidden").await;
    let path = format!("POST /api/v1/residents/{r0}/reveal");
    assert!(denied.iter().any(|x| x.0 == Some(auditor_id) && x.3.as_deref() == Some(&*path)), "{denied:?}");
    assert!(denied.iter().any(|x| x.0 == Some(member_id) && x.3.as_deref() == Some(&*path)), "{denied:?}");
    // Probing an id outside one's scope with the right is a refused reveal.
    let denied = audit_rows(t, "reveal_denied").await;
    let path = format!("POST /residents/{b2r}/reveal");
    assert!(denied.iter().any(|x| x.0 == Some(w.sec1_id) && x.3.as_deref() == Some(&*path)), "{denied:?}");
}

// ---------------------------------------------------------------- 3. audit trail

async fn audit_trail(t: &TestApp) {
    let w = world(t).await;
    let b1 = &w.b[0];
    let rid = b1.residents[1];
    let (auditor_id, auditor) = account(t, "auditor1", Role::Auditor, "S1").await;

    // A PATCH writes an `update` row with the row before and after, masked.
    let old_name = b1.resident_names[1].clone();
    t.patch(&format!("/api/v1/residents/{rid}"), &w.admin, json!({"name": "赵东风二", "note": "搬来三年"}))
        .await
        .expect(200);
    let r = t.get(&format!("/api/v1/audit?action=update&entity=resident&entity_id={rid}"), &auditor).await;
    r.expect(200);
    let v = r.json();
    assert_eq!(v["total"], 1, "{v}");
    let e = &v["items"][0];
    assert_eq!(e["user_id"], w.admin_id);
    assert_eq!(e["username"], ADMIN);
    let before: Value = serde_json::from_str(e["before_json"].as_str().expect("before_json")).expect("before is JSON");
    let after: Value = serde_json::from_str(e["after_json"].as_str().expect("after_json")).expect("after is JSON");
    assert_eq!(before["name"], old_name.as_str());
    assert_eq!(after["name"], "赵东风二");
    assert!(before["note"].is_null(), "{before}");
    assert_eq!(after["note"], "搬来三年");
    for snap in [&before, &after] {
        assert_eq!(snap["id_number"].as_str(), Some(masked_id(&b1.id_numbers[1]).as_str()), "{snap}");
        assert_eq!(snap["phone"].as_str(), Some(masked_mobile(&b1.phones[1]).as_str()), "{snap}");
        let text = snap.to_string();
        assert!(!text.contains(&b1.id_numbers[1]) && !text.contains(&b1.phones[1]), "{text}");
    }

    // Rows to filter: reveals by sec1 (reasons that look like formulas), an old row.
    for reason in ["=1+2", "=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(A1)", "正常事由"] {
        t.post(&format!("/api/v1/residents/{}/reveal", b1.residents[0]), &w.sec1, json!({"reason": reason}))
            .await
            .expect(200);
    }
    let (tenant,): (i64,) =
        t.db.one("SELECT tenant_id FROM users WHERE id = $1", redcell_store::args![w.admin_id]).await.expect("tenant");
    let old_at = Utc::now() - Duration::days(400);
    t.db.exec(
        "INSERT INTO audit_log (tenant_id, at, user_id, action, entity, entity_id, detail) VALUES ($1, $2, $3, 'login', 'user', $3, 'old')",
        redcell_store::args![tenant, old_at, w.sec1_id],
    )
    .await
    .expect("insert an old row");

    // The page: by action, by user, by date.
    let reveals = t.page("/audit?action=reveal", &auditor).await;
    reveals.expect(200);
    assert_eq!(total_shown(&reveals), 4);
    assert!(reveals.body.contains("=HYPERLINK("), "{}", reveals.body);
    let sec_rows = count(t, "SELECT COUNT(*) FROM audit_log WHERE user_id = $1", redcell_store::args![w.sec1_id]).await;
    let by_user = t.page(&format!("/audit?{}", qs(&[("username", SEC)])), &auditor).await;
    by_user.expect(200);
    assert_eq!(total_shown(&by_user), sec_rows);
    assert!(sec_rows >= 6, "login, four reveals and the old row: {sec_rows}");
    let all = count(t, "SELECT COUNT(*) FROM audit_log", redcell_store::Args::new()).await;
    let today = china_today();
    let recent = t
        .page(
            &format!(
                "/audit?{}",
                qs(&[
                    ("from", &(today - Duration::days(1)).to_string()),
                    ("to", &(today + Duration::days(1)).to_string())
                ])
            ),
            &auditor,
        )
        .await;
    recent.expect(200);
    assert_eq!(total_shown(&recent), all - 1, "every row but the old one");
    let old = t.page(&format!("/audit?{}", qs(&[("to", &(today - Duration::days(30)).to_string())])), &auditor).await;
    old.expect(200);
    assert_eq!(total_shown(&old), 1);
    assert!(old.body.contains("<td>old</td>"), "{}", old.body);
    let both = t.page(&format!("/audit?{}", qs(&[("username", SEC), ("action", "reveal")])), &auditor).await;
    assert_eq!(total_shown(&both), 4);
    t.page("/audit?from=not-a-date", &auditor).await.expect(422);

    // The CSV export: BOM, header, CRLF, formulas neutralised; the export is audited.
    let exports = audit_rows(t, "export").await.len();
    let csv = t.page("/audit/export.csv?action=reveal", &auditor).await;
    csv.expect(200);
    assert!(csv.header("content-type").is_some_and(|c| c.starts_with("text/csv")), "{:?}", csv.headers);
    assert!(csv.header("content-disposition").is_some_and(|c| c.contains("attachment")));
    assert_eq!(csv.header("cache-control").as_deref(), Some("no-store"));
    assert_csp(&csv);
    assert!(csv.body.starts_with("\u{feff}时间,用户,代居民,操作,对象,编号,说明,变更前,变更后\r\n"), "{}", csv.body);
    let lines: Vec<&str> = csv.body.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 1 + 4, "{}", csv.body);
    assert!(csv.body.contains(",'=1+2,"), "{}", csv.body);
    assert!(csv.body.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","), "{}", csv.body);
    assert!(csv.body.contains(",'@SUM(A1),"), "{}", csv.body);
    for line in &lines {
        for cell in line.split(',') {
            let c = cell.trim_start_matches('"');
            assert!(!c.starts_with(['=', '+', '@']), "a formula cell in the export: {line}");
        }
    }
    let after_export = audit_rows(t, "export").await;
    assert_eq!(after_export.len(), exports + 1);
    let last = after_export.last().expect("export row");
    assert_eq!((last.0, last.1.as_str()), (Some(auditor_id), "audit_log"));
    assert!(last.3.as_deref().is_some_and(|d| d.contains("action=reveal")), "{last:?}");

    // An auditor granted on one branch does not read the tenant's trail (it
    // holds the people of other branches); nothing is exported.
    let (_, aud_b1) = account(t, "auditor_b1", Role::Auditor, &b1.branch_code).await;
    let exports = audit_rows(t, "export").await.len();
    for r in [
        t.get("/api/v1/audit", &aud_b1).await,
        t.page("/audit", &aud_b1).await,
        t.page("/audit/export.csv", &aud_b1).await,
    ] {
        r.expect(403);
        assert!(!r.body.contains(B2_MARK), "{}: {}", r.what, r.body);
    }
    assert_eq!(audit_rows(t, "export").await.len(), exports);

    // The API filters too; the admin may not read the trail at all.
    let r = t.get(&format!("/api/v1/audit?{}", qs(&[("username", SEC), ("action", "reveal")])), &auditor).await;
    assert_eq!(r.json()["total"], 4);
    t.get("/api/v1/audit", &w.admin).await.error(403);
    t.page("/audit", &w.admin).await.expect(403);
    t.page("/audit/export.csv", &w.admin).await.expect(403);
}

// ---------------------------------------------------------------- 4. CSRF and refusals

async fn csrf_and_refused_writes(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    let s = w.sec1.as_str();
    let forged = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    // A forged token on an edit form: 403, nothing written, audited.
    let rid = b1.residents[1];
    let edit_path = format!("/residents/{rid}/edit");
    let edit = t.page(&edit_path, s).await;
    edit.expect(200);
    let mut values = form_values(&edit.body, &edit_path);
    set_field(&mut values, "name", "伪造的名字");
    set_field(&mut values, "_csrf", forged);
    let before = t.counts(&w.admin).await;
    let r = t.session_form(&edit_path, s, &pairs(&values)).await;
    r.expect(403);
    assert_eq!(t.get(&format!("/api/v1/residents/{rid}"), s).await.json()["name"], b1.resident_names[1].as_str());
    let mut new_values =
        form_values(&t.page(&format!("/residents/new?household={}", b1.household), s).await.body, "/residents/new");
    set_field(&mut new_values, "name", "伪造新增");
    set_field(&mut new_values, "id_number", &synth_id(date(1990, 1, 1), 901));
    set_field(&mut new_values, "_csrf", forged);
    t.session_form("/residents/new", s, &pairs(&new_values)).await.expect(403);
    t.session_form(&format!("/residents/{rid}/delete"), s, &[("_csrf", forged)]).await.expect(403);
    assert_eq!(t.counts(&w.admin).await, before, "a forged form wrote rows");
    let csrf_rows = audit_rows(t, "csrf_failed").await;
    assert_eq!(csrf_rows.len(), 3, "{csrf_rows:?}");
    assert!(csrf_rows.iter().all(|r| r.0 == Some(w.sec1_id)), "{csrf_rows:?}");

    // PATCH and DELETE of branch-2 rows: 404, unchanged, audited as `forbidden`.
    for (resource, id) in
        [("residents", b2.residents[0]), ("households", b2.household), ("orgs", b2.branch), ("units", b2.unit)]
    {
        let before = t.get(&format!("/api/v1/{resource}/{id}"), &w.admin).await.json();
        let n = audit_rows(t, "forbidden").await.len();
        t.patch(&format!("/api/v1/{resource}/{id}"), s, json!({"note": "越权"})).await.error(404);
        t.delete(&format!("/api/v1/{resource}/{id}"), s).await.error(404);
        let rows = audit_rows(t, "forbidden").await;
        assert!(rows.len() >= n + 2, "{resource}: {rows:?}");
        let details: Vec<&str> = rows[n..].iter().filter_map(|r| r.3.as_deref()).collect();
        assert!(details.contains(&format!("PATCH /api/v1/{resource}/{id}").as_str()), "{details:?}");
        assert!(details.contains(&format!("DELETE /api/v1/{resource}/{id}").as_str()), "{details:?}");
        assert!(rows[n..].iter().all(|r| r.0 == Some(w.sec1_id)));
        assert_eq!(t.get(&format!("/api/v1/{resource}/{id}"), &w.admin).await.json(), before, "{resource} changed");
    }
    // The same through the pages.
    let csrf = csrf_of(&edit.body);
    let n = audit_rows(t, "forbidden").await.len();
    let b2r = b2.residents[0];
    t.session_form(&format!("/residents/{b2r}/edit"), s, &[("_csrf", csrf.as_str()), ("name", "越权")])
        .await
        .expect(404);
    t.session_form(&format!("/residents/{b2r}/delete"), s, &[("_csrf", csrf.as_str())]).await.expect(404);
    let rows = audit_rows(t, "forbidden").await;
    let details: Vec<&str> = rows[n..].iter().filter_map(|r| r.3.as_deref()).collect();
    assert!(details.contains(&format!("POST /residents/{b2r}/edit").as_str()), "{details:?}");
    assert!(details.contains(&format!("POST /residents/{b2r}/delete").as_str()), "{details:?}");
    assert_eq!(t.counts(&w.admin).await, before);
}

// ---------------------------------------------------------------- 5. accounts

async fn first_login_must_change_password(t: &TestApp) {
    let w = world(t).await;
    let b1 = &w.b[0];
    let temp = "Temp-pass-2026";
    let r = t
        .post(
            "/api/v1/users",
            &w.admin,
            json!({"username": "user2", "display_name": "新书记", "password": temp, "role": "secretary", "org_id": b1.branch}),
        )
        .await;
    r.expect(201);
    let v = r.json();
    assert_eq!(v["account"]["must_change_password"], true, "{v}");
    assert_eq!(v["grants"][0]["role"], "secretary");
    assert_eq!(v["grants"][0]["org_id"], b1.branch);
    let u2 = v["account"]["id"].as_i64().expect("id");

    // The API login says so; the page login goes straight to the password form.
    let api = api_login_from(t, None, "user2", temp).await;
    api.expect(200);
    assert_eq!(api.json()["must_change_password"], true);
    let login = page_login(t, None, "user2", temp).await;
    assert_redirect(&login, "/account/password");
    let session = login.set_cookie("rc_session").expect("session");
    for p in [
        "/".to_string(),
        "/orgs".into(),
        format!("/orgs/{}", b1.branch),
        format!("/households/{}", b1.household),
        format!("/residents/{}", b1.residents[0]),
        "/search?q=x".into(),
        "/members".into(),
        "/audit".into(),
        "/admin/users".into(),
        format!("/files/{}", 1),
    ] {
        assert_redirect(&t.page(&p, &session).await, "/account/password");
    }
    let form = t.page("/account/password", &session).await;
    form.expect(200);
    assert!(form.body.contains("请先修改密码"), "{}", form.body);
    t.page("/account", &session).await.expect(200);
    let csrf = csrf_of(&form.body);
    // Forms elsewhere are refused too (nothing revealed).
    let r =
        t.session_form(&format!("/residents/{}/reveal", b1.residents[0]), &session, &[("_csrf", csrf.as_str())]).await;
    assert_redirect(&r, "/account/password");
    assert!(audit_rows(t, "reveal").await.is_empty());

    // A wrong old password: 422, the message beside the field.
    let new = "U2-new-pass-2026";
    let r = t
        .session_form(
            "/account/password",
            &session,
            &[("_csrf", csrf.as_str()), ("old_password", "not-my-pass-1"), ("new_password", new)],
        )
        .await;
    r.expect(422);
    let beside = label_around(&r.body, "name=\"old_password\"");
    assert!(beside.contains("id=\"err-old_password\"") && beside.contains("原密码不正确"), "{beside}");
    // A weak new one: 422 beside the new password.
    let r = t
        .session_form(
            "/account/password",
            &session,
            &[("_csrf", csrf.as_str()), ("old_password", temp), ("new_password", "short")],
        )
        .await;
    r.expect(422);
    assert!(label_around(&r.body, "name=\"new_password\"").contains("id=\"err-new_password\""), "{}", r.body);
    assert_redirect(&t.page("/orgs", &session).await, "/account/password");

    // The right one: the pages open.
    let r = t
        .session_form(
            "/account/password",
            &session,
            &[("_csrf", csrf.as_str()), ("old_password", temp), ("new_password", new)],
        )
        .await;
    r.expect(200);
    assert!(r.body.contains("密码已修改"), "{}", r.body);
    assert!(!r.body.contains("请先修改密码"));
    assert_redirect(&t.page("/", &session).await, &format!("/orgs/{}/glance", b1.branch));
    t.page(&format!("/residents/{}", b1.residents[0]), &session).await.expect(200);
    let detail = t.get(&format!("/api/v1/users/{u2}"), &w.admin).await.json();
    assert_eq!(detail["account"]["must_change_password"], false);
    api_login_from(t, None, "user2", temp).await.error(401);
    assert_eq!(api_login_from(t, None, "user2", new).await.json()["must_change_password"], false);
    assert!(audit_rows(t, "change_password").await.iter().any(|r| r.0 == Some(u2)));
}

async fn org_admin_limits(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    let (oa_id, oa) = account(t, "oa1", Role::OrgAdmin, "C1").await;
    let (sec2_id, _) = account(t, "sec2", Role::Secretary, &b2.branch_code).await;
    let new_user = |name: &str, role: &str, org: i64| json!({"username": name, "password": "made-pass-2026", "role": role, "org_id": org});

    // A secretary on a branch inside the community: allowed.
    let r = t.post("/api/v1/users", &oa, new_user("oa_sec", "secretary", b1.branch)).await;
    r.expect(201);
    let oa_sec = r.json()["account"]["id"].as_i64().expect("id");
    // Admin or auditor: never, even inside; an organisation outside: not found.
    let users = user_count(t).await;
    for role in ["admin", "auditor"] {
        let r = t.post("/api/v1/users", &oa, new_user(&format!("oa_{role}"), role, b1.branch)).await;
        let e = r.field_error(403, "role");
        assert_eq!(e["code"], "forbidden");
    }
    t.post("/api/v1/users", &oa, new_user("oa_far", "secretary", b2.branch)).await.field_error(422, "org_id");
    t.post("/api/v1/users", &oa, new_user("oa_root", "secretary", w.root)).await.field_error(422, "org_id");
    assert_eq!(user_count(t).await, users, "a refused creation wrote a user");

    // The page offers only grantable roles and refuses the others with the message.
    let page = t.page("/admin/users", &oa).await;
    page.expect(200);
    assert!(page.body.contains("value=\"secretary\""));
    assert!(!page.body.contains("value=\"admin\"") && !page.body.contains("value=\"auditor\""), "{}", page.body);
    let csrf = csrf_of(&page.body);
    let b1_branch = b1.branch.to_string();
    let r = t
        .session_form(
            "/admin/users",
            &oa,
            &[
                ("_csrf", csrf.as_str()),
                ("username", "oa_admin2"),
                ("password", "made-pass-2026"),
                ("role", "admin"),
                ("org_id", b1_branch.as_str()),
            ],
        )
        .await;
    r.expect(422);
    assert!(r.body.contains("您不能在该组织授予此角色"), "{}", r.body);
    let r = t
        .session_form(
            &format!("/admin/users/{}/grants", w.sec1_id),
            &oa,
            &[("_csrf", csrf.as_str()), ("role", "auditor"), ("org_id", b1_branch.as_str())],
        )
        .await;
    r.expect(422);
    assert!(r.body.contains("您不能在该组织授予此角色"), "{}", r.body);
    assert_eq!(user_count(t).await, users);
    let sec1 = t.get(&format!("/api/v1/users/{}", w.sec1_id), &oa).await.json();
    assert_eq!(sec1["grants"].as_array().map(Vec::len), Some(1), "{sec1}");
    assert_eq!(sec1["manageable"], true);

    // Accounts outside the subtree are invisible and untouchable.
    let list = t.get("/api/v1/users?per_page=200", &oa).await.json();
    let names: Vec<&str> =
        list["items"].as_array().expect("items").iter().filter_map(|u| u["username"].as_str()).collect();
    assert!(names.contains(&SEC) && names.contains(&"oa_sec") && names.contains(&"oa1"), "{names:?}");
    assert!(!names.contains(&ADMIN) && !names.contains(&"sec2"), "{names:?}");
    for id in [w.admin_id, sec2_id] {
        t.get(&format!("/api/v1/users/{id}"), &oa).await.error(404);
        t.patch(&format!("/api/v1/users/{id}"), &oa, json!({"disabled": true})).await.error(404);
        t.patch(&format!("/api/v1/users/{id}"), &oa, json!({"password": "taken-over-2026"})).await.error(404);
        t.page(&format!("/admin/users/{id}"), &oa).await.expect(404);
        t.session_form(&format!("/admin/users/{id}/disable"), &oa, &[("_csrf", csrf.as_str())]).await.expect(404);
    }
    t.get("/api/v1/auth/me", &w.admin).await.expect(200);
    assert_eq!(t.get(&format!("/api/v1/users/{sec2_id}"), &w.admin).await.json()["account"]["disabled"], false);

    // An account that also holds a role outside: visible, not manageable.
    let admin_page = t.page(&format!("/admin/users/{oa_sec}"), &w.admin).await;
    let admin_csrf = csrf_of(&admin_page.body);
    let b2_branch = b2.branch.to_string();
    let r = t
        .session_form(
            &format!("/admin/users/{oa_sec}/grants"),
            &w.admin,
            &[("_csrf", admin_csrf.as_str()), ("role", "grid_worker"), ("org_id", b2_branch.as_str())],
        )
        .await;
    r.expect(200);
    assert!(r.body.contains("已增加授权"), "{}", r.body);
    let d = t.get(&format!("/api/v1/users/{oa_sec}"), &oa).await;
    d.expect(200);
    assert_eq!(d.json()["manageable"], false);
    t.patch(&format!("/api/v1/users/{oa_sec}"), &oa, json!({"disabled": true})).await.error(403);
    t.session_form(&format!("/admin/users/{oa_sec}/disable"), &oa, &[("_csrf", csrf.as_str())]).await.expect(403);
    assert_eq!(t.get(&format!("/api/v1/users/{oa_sec}"), &w.admin).await.json()["account"]["disabled"], false);

    // Inside, the org admin does manage; never themselves.
    t.patch(&format!("/api/v1/users/{}", w.sec1_id), &oa, json!({"unlock": true})).await.expect(200);
    t.patch(&format!("/api/v1/users/{oa_id}"), &oa, json!({"disabled": true})).await.error(403);
    t.get("/api/v1/auth/me", &oa).await.expect(200);
}

async fn account_lifecycle(t: &TestApp) {
    let w = world(t).await;
    let b1 = &w.b[0];
    let (u3, tok) = account(t, "user3", Role::Secretary, &b1.branch_code).await;
    let tok2 = t.api_login("user3", PW).await;

    // Disabling ends every session and refuses logins; enabling lets them in again.
    let r = t.patch(&format!("/api/v1/users/{u3}"), &w.admin, json!({"disabled": true})).await;
    r.expect(200);
    assert_eq!(r.json()["account"]["disabled"], true);
    assert_eq!(r.json()["sessions"].as_array().map(Vec::len), Some(0));
    for s in [&tok, &tok2] {
        t.get("/api/v1/auth/me", s).await.error(401);
        assert_redirect(&t.page("/orgs", s).await, "/login?next=/orgs");
    }
    api_login_from(t, None, "user3", PW).await.error(401);
    t.patch(&format!("/api/v1/users/{u3}"), &w.admin, json!({"disabled": false})).await.expect(200);
    let tok = t.api_login("user3", PW).await;
    assert!(audit_rows(t, "disable").await.iter().any(|r| r.2 == Some(u3)));

    // A reset ends the sessions and forces a change at the next login.
    let reset = "Reset-pass-2026";
    let r = t.patch(&format!("/api/v1/users/{u3}"), &w.admin, json!({"password": reset})).await;
    r.expect(200);
    assert_eq!(r.json()["account"]["must_change_password"], true);
    t.get("/api/v1/auth/me", &tok).await.error(401);
    api_login_from(t, None, "user3", PW).await.error(401);
    let r = api_login_from(t, None, "user3", reset).await;
    assert_eq!(r.json()["must_change_password"], true);
    assert_redirect(&page_login(t, None, "user3", reset).await, "/account/password");
    t.patch(&format!("/api/v1/users/{u3}"), &w.admin, json!({"password": "weak"})).await.field_error(422, "password");
    // A PATCH with a bad part changes nothing at all.
    let live = t.api_login("user3", reset).await;
    t.patch(&format!("/api/v1/users/{u3}"), &w.admin, json!({"disabled": true, "password": "weak"}))
        .await
        .field_error(422, "password");
    assert_eq!(t.get(&format!("/api/v1/users/{u3}"), &w.admin).await.json()["account"]["disabled"], false);
    t.get("/api/v1/auth/me", &live).await.expect(200);

    // A lockout: five wrong passwords; the right one is refused until unlocked.
    for i in 1..=5 {
        let r = api_login_from(t, None, "user3", "wrong-pass-2026").await;
        let e = r.error(if i < 5 { 401 } else { 429 });
        if i == 5 {
            assert_eq!(e["code"], "locked");
        }
    }
    assert_eq!(api_login_from(t, None, "user3", reset).await.error(429)["code"], "locked");
    let r = t.patch(&format!("/api/v1/users/{u3}"), &w.admin, json!({"unlock": true})).await;
    r.expect(200);
    assert!(r.json()["account"]["locked_until"].is_null());
    api_login_from(t, None, "user3", reset).await.expect(200);
    // The same through the page.
    for _ in 0..5 {
        api_login_from(t, None, "user3", "wrong-pass-2026").await;
    }
    let user_page = t.page(&format!("/admin/users/{u3}"), &w.admin).await;
    user_page.expect(200);
    let csrf = csrf_of(&user_page.body);
    let r = t.session_form(&format!("/admin/users/{u3}/unlock"), &w.admin, &[("_csrf", csrf.as_str())]).await;
    r.expect(200);
    assert!(r.body.contains("已解除锁定"), "{}", r.body);
    api_login_from(t, None, "user3", reset).await.expect(200);
    assert_eq!(audit_rows(t, "unlock").await.len(), 2);

    // A user lists and ends their own sessions at /account.
    let ua = "revoke-me-agent/1.0";
    let extra = t
        .send(
            Method::POST,
            "/api/v1/auth/login",
            &[("content-type", "application/json"), ("user-agent", ua)],
            serde_json::to_vec(&json!({"username": SEC, "password": SEC_PASSWORD})).expect("json"),
        )
        .await;
    extra.expect(200);
    let extra = extra.json()["token"].as_str().expect("token").to_string();
    let mine = t.page("/account", &w.sec1).await;
    mine.expect(200);
    assert!(mine.body.contains("我的登录会话（2）"), "{}", mine.body);
    assert!(mine.body.contains(ua));
    let me = t.get(&format!("/api/v1/users/{}", w.sec1_id), &w.sec1).await.json();
    let sid = me["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["user_agent"] == ua)
        .and_then(|s| s["id"].as_str())
        .expect("the extra session")
        .to_string();
    let action = format!("/account/sessions/{}/{sid}/revoke", w.sec1_id);
    assert!(mine.body.contains(&format!("action=\"{action}\"")), "{}", mine.body);
    let csrf = csrf_of(&mine.body);
    assert_redirect(&t.session_form(&action, &w.sec1, &[("_csrf", csrf.as_str())]).await, "/account");
    t.get("/api/v1/auth/me", &extra).await.error(401);
    t.get("/api/v1/auth/me", &w.sec1).await.expect(200);
    assert!(t.page("/account", &w.sec1).await.body.contains("我的登录会话（1）"));
    // Not someone else's, and not one that is gone.
    let admin_sessions = t.get(&format!("/api/v1/users/{}", w.admin_id), &w.admin).await.json();
    let admin_sid = admin_sessions["sessions"][0]["id"].as_str().expect("admin session").to_string();
    t.session_form(
        &format!("/account/sessions/{}/{admin_sid}/revoke", w.admin_id),
        &w.sec1,
        &[("_csrf", csrf.as_str())],
    )
    .await
    .expect(404);
    t.session_form(&action, &w.sec1, &[("_csrf", csrf.as_str())]).await.expect(404);
    t.get("/api/v1/auth/me", &w.admin).await.expect(200);

    // Nobody disables themselves.
    t.patch(&format!("/api/v1/users/{}", w.admin_id), &w.admin, json!({"disabled": true})).await.error(403);
    let own = t.page(&format!("/admin/users/{}", w.admin_id), &w.admin).await;
    own.expect(200);
    let csrf = csrf_of(&own.body);
    t.session_form(&format!("/admin/users/{}/disable", w.admin_id), &w.admin, &[("_csrf", csrf.as_str())])
        .await
        .expect(403);
    t.get("/api/v1/auth/me", &w.admin).await.expect(200);
    assert_eq!(t.get(&format!("/api/v1/users/{}", w.admin_id), &w.admin).await.json()["account"]["disabled"], false);
}

// ---------------------------------------------------------------- 6. login hardening

async fn login_rate_limit_and_lockout(t: &TestApp) {
    let w = world(t).await;
    let (a, b) = (addr("203.0.113.7:40001"), addr("198.51.100.9:40002"));

    // Twenty attempts a minute from one address, API and page together.
    for i in 0..redcell_store::auth::LOGIN_ATTEMPTS_PER_MINUTE {
        if i % 2 == 0 {
            api_login_from(t, Some(a), "nobody", "wrong-pass-2026").await.error(401);
        } else {
            page_login(t, Some(a), "nobody", "wrong-pass-2026").await.expect(401);
        }
    }
    // Then 429 with Retry-After, even with the right password.
    let page = page_login(t, Some(a), SEC, SEC_PASSWORD).await;
    page.expect(429);
    assert!(page.set_cookie("rc_session").is_none());
    assert!(page.body.contains("尝试过于频繁"), "{}", page.body);
    assert!(
        page.header("retry-after").is_some_and(|s| s.parse::<u32>().is_ok_and(|n| n > 0)),
        "page: {:?}",
        page.headers
    );
    let api = api_login_from(t, Some(a), SEC, SEC_PASSWORD).await;
    assert_eq!(api.error(429)["code"], "rate_limited");
    assert_eq!(api.header("retry-after").as_deref(), Some("60"));
    // Another address is not affected.
    api_login_from(t, Some(b), SEC, SEC_PASSWORD).await.expect(200);
    assert_redirect(&page_login(t, Some(b), SEC, SEC_PASSWORD).await, "/");

    // Five wrong passwords lock the account; the login page says until when.
    let c = Some(addr("192.0.2.33:40003"));
    for _ in 1..redcell_store::auth::MAX_FAILED_LOGINS {
        let r = page_login(t, c, SEC, "wrong-pass-2026").await;
        r.expect(401);
        assert!(r.body.contains("用户名或密码错误"));
    }
    let locked = page_login(t, c, SEC, "wrong-pass-2026").await;
    locked.expect(429);
    let (until,): (Option<DateTime<Utc>>,) =
        t.db.one("SELECT locked_until FROM users WHERE username = $1", redcell_store::args![SEC]).await.expect("user");
    let until = until.expect("locked");
    let minutes = (until - Utc::now()).num_minutes();
    assert!(
        (redcell_store::auth::LOCK_MINUTES - 1..=redcell_store::auth::LOCK_MINUTES).contains(&minutes),
        "{minutes}"
    );
    let shown = (until + Duration::hours(8)).format("%H:%M").to_string();
    assert!(locked.body.contains(&format!("账号锁定至 {shown}")), "{}", locked.body);
    let again = page_login(t, c, SEC, SEC_PASSWORD).await;
    again.expect(429);
    assert!(again.body.contains(&shown) && again.set_cookie("rc_session").is_none());
    let api = api_login_from(t, c, SEC, SEC_PASSWORD).await;
    let e = api.error(429);
    assert_eq!(e["code"], "locked");
    assert!(e["message"].as_str().is_some_and(|m| m.contains(&shown)), "{e}");
    let fails = audit_rows(t, "login_failed").await;
    assert!(fails.iter().filter(|r| r.0 == Some(w.sec1_id)).count() >= 5, "{fails:?}");
    assert!(fails.iter().any(|r| r.3.as_deref().is_some_and(|d| d.contains("ip=192.0.2.33"))), "{fails:?}");
}

async fn expired_and_idle_sessions(t: &TestApp) {
    let w = world(t).await;
    let code = w.b[0].branch_code.clone();
    let now = Utc::now();
    let (expired_id, expired) = account(t, "exp1", Role::Secretary, &code).await;
    let (idle_id, idle) = account(t, "idle1", Role::Secretary, &code).await;
    let (recent_id, recent) = account(t, "recent1", Role::Secretary, &code).await;
    for (sql, at, id) in [
        ("UPDATE sessions SET expires_at = $1 WHERE user_id = $2", now - Duration::minutes(1), expired_id),
        ("UPDATE sessions SET last_seen = $1 WHERE user_id = $2", now - Duration::hours(3), idle_id),
        ("UPDATE sessions SET last_seen = $1 WHERE user_id = $2", now - Duration::minutes(60), recent_id),
    ] {
        assert_eq!(t.db.exec(sql, redcell_store::args![at, id]).await.expect("update session"), 1);
    }
    for tok in [&expired, &idle] {
        t.get("/api/v1/auth/me", tok).await.error(401);
        assert_redirect(&t.page("/orgs", tok).await, "/login?next=/orgs");
        // `/` is the residents' public face: an expired session sees it, signed out.
        let front = t.page("/", tok).await;
        front.expect(200);
        assert!(front.body.contains("id=\"find-building\"") && front.body.contains("href=\"/login\""));
    }
    t.get("/api/v1/auth/me", &recent).await.expect(200);
    t.page("/orgs", &recent).await.expect(200);
    // Use refreshes the idle clock.
    let (seen,): (Option<DateTime<Utc>>,) =
        t.db.one("SELECT last_seen FROM sessions WHERE user_id = $1", redcell_store::args![recent_id])
            .await
            .expect("session");
    assert!(seen.is_some_and(|s| s > now - Duration::minutes(1)), "{seen:?}");

    // Security headers on pages and API answers, signed in or not.
    assert_csp(&t.send(Method::GET, "/login", &[], Vec::new()).await);
    assert_csp(&t.page("/account", &recent).await);
    assert_csp(&t.page("/orgs", &idle).await);
    assert_csp(&t.get("/api/v1/auth/me", &recent).await);
    assert_csp(&t.get("/api/v1/auth/me", &expired).await);
}

// ---------------------------------------------------------------- 7. files

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut c = kind.to_vec();
    c.extend_from_slice(data);
    out.extend_from_slice(&c);
    out.extend(crc32(&c).to_be_bytes());
}

/// A valid 1×1 grey PNG: signature, IHDR, one stored-zlib IDAT, IEND.
fn tiny_png() -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend(1u32.to_be_bytes());
    ihdr.extend(1u32.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let scanline = [0u8, 0x80];
    let mut z = vec![0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF];
    z.extend_from_slice(&scanline);
    z.extend(adler32(&scanline).to_be_bytes());
    png_chunk(&mut out, b"IDAT", &z);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A `multipart/form-data` form: (field name, file name, bytes); files are PNG.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Multipart {
    parts.iter().fold(Multipart::new(), |form, (name, file, data)| match file {
        Some(f) => form.file(name, f, "image/png", data),
        None => form.text(name, data),
    })
}

/// POST the upload form as a browser does (with `Content-Length`).
async fn upload(t: &TestApp, session: &str, household: i64, parts: &[(&str, Option<&str>, &[u8])]) -> Resp {
    upload_with(t, session, household, parts, true).await
}

async fn upload_with(
    t: &TestApp,
    session: &str,
    household: i64,
    parts: &[(&str, Option<&str>, &[u8])],
    announce_length: bool,
) -> Resp {
    let (ct, body) = multipart(parts).finish();
    let cookie = format!("rc_session={session}");
    let len = body.len().to_string();
    let mut h = vec![("content-type", ct.as_str()), ("cookie", cookie.as_str())];
    if announce_length {
        h.push(("content-length", len.as_str()));
    }
    t.send(Method::POST, &format!("/households/{household}/files"), &h, body).await
}

async fn files(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    let hh = b1.household;
    let s = w.sec1.as_str();
    let png = tiny_png();

    let page = t.page(&format!("/households/{hh}"), s).await;
    page.expect(200);
    assert!(
        page.body.contains(&format!("action=\"/households/{hh}/files\"")) && page.body.contains("multipart/form-data")
    );
    let title = &page.body[page.body.find("<title>").expect("title")..page.body.find("</title>").expect("/title")];
    assert!(!title[7..].contains('<'), "markup inside <title>: {title}");
    let csrf = csrf_of(&page.body);

    // Upload: redirect back to the household, which lists the file.
    let r = upload(t, s, hh, &[("_csrf", None, csrf.as_bytes()), ("file", Some("门牌照片.png"), &png)]).await;
    assert_redirect(&r, &format!("/households/{hh}"));
    assert_eq!(file_count(t).await, 1);
    let listed = t.page(&format!("/households/{hh}"), s).await;
    assert!(listed.body.contains("门牌照片.png"), "{}", listed.body);
    let at = listed.body.find("href=\"/files/").expect("file link") + "href=\"/files/".len();
    let fid: i64 =
        listed.body[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("file id");
    let up = audit_rows(t, "upload").await;
    assert_eq!(up.len(), 1);
    assert_eq!((up[0].0, up[0].1.as_str(), up[0].2), (Some(w.sec1_id), "file", Some(fid)));

    // Download as sec1: the bytes, private and not cached; audited.
    let r = t.page(&format!("/files/{fid}"), s).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("image/png"));
    assert_eq!(r.header("cache-control").as_deref(), Some("private, no-store"));
    assert_eq!(r.bytes, png);
    assert_csp(&r);
    let dl = audit_rows(t, "download").await;
    assert_eq!(dl, vec![(Some(w.sec1_id), "file".to_string(), Some(fid), Some("门牌照片.png".to_string()))]);
    // Signed out: to the login page.
    assert_redirect(
        &t.send(Method::GET, &format!("/files/{fid}"), &[], Vec::new()).await,
        &format!("/login?next=/files/{fid}"),
    );

    // A user of branch 2: neither the file nor the household.
    let (sec2_id, sec2) = account(t, "sec2", Role::Secretary, &b2.branch_code).await;
    let r = t.page(&format!("/files/{fid}"), &sec2).await;
    r.expect(404);
    assert!(r.bytes != png && !r.body.contains("PNG"));
    let csrf2 = csrf_of(&t.page("/account", &sec2).await.body);
    upload(t, &sec2, hh, &[("_csrf", None, csrf2.as_bytes()), ("file", Some("x.png"), &png)]).await.expect(404);
    assert!(audit_rows(t, "download").await.iter().all(|r| r.0 != Some(sec2_id)));
    // An auditor reads it, but may not add files.
    let (_, auditor) = account(t, "auditor1", Role::Auditor, "S1").await;
    t.page(&format!("/files/{fid}"), &auditor).await.expect(200);
    let csrf_a = csrf_of(&t.page("/account", &auditor).await.body);
    upload(t, &auditor, hh, &[("_csrf", None, csrf_a.as_bytes()), ("file", Some("x.png"), &png)]).await.expect(403);
    assert_eq!(file_count(t).await, 1);

    // A text file named .png: 422, nothing stored.
    let r = upload(
        t,
        s,
        hh,
        &[("_csrf", None, csrf.as_bytes()), ("file", Some("notes.png"), b"just some text, not an image\n")],
    )
    .await;
    r.expect(422);
    assert!(r.body.contains("只接受"), "{}", r.body);
    // Without the CSRF token (or with a wrong one): 403, nothing stored, audited.
    let before = audit_rows(t, "csrf_failed").await.len();
    upload(t, s, hh, &[("file", Some("a.png"), &png)]).await.expect(403);
    upload(t, s, hh, &[("_csrf", None, b"forged"), ("file", Some("a.png"), &png)]).await.expect(403);
    let csrf_rows = audit_rows(t, "csrf_failed").await;
    assert_eq!(csrf_rows.len(), before + 2);
    assert!(
        csrf_rows[before..]
            .iter()
            .all(|r| r.0 == Some(w.sec1_id) && r.3.as_deref() == Some(&*format!("POST /households/{hh}/files")))
    );
    assert_eq!(file_count(t).await, 1);

    // Up to the 5 MB limit is accepted; beyond it is refused.
    let mut big = png.clone();
    big.resize(3 * 1024 * 1024, 0);
    let r = upload(t, s, hh, &[("_csrf", None, csrf.as_bytes()), ("file", Some("scan.png"), &big)]).await;
    assert_redirect(&r, &format!("/households/{hh}"));
    assert_eq!(file_count(t).await, 2);
    let mut huge = png.clone();
    huge.resize(redcell_store::files::MAX_BYTES + 1, 0);
    let r = upload(t, s, hh, &[("_csrf", None, csrf.as_bytes()), ("file", Some("huge.png"), &huge)]).await;
    r.expect(422);
    assert!(r.body.contains("文件过大"), "{}", r.body);
    assert_eq!(file_count(t).await, 2);
    // A body over the form's own limit: 413 before the handler when its length
    // is announced; read and refused as too large (not as a CSRF failure) when not.
    let csrf_before = audit_rows(t, "csrf_failed").await.len();
    let mut over = png.clone();
    over.resize(6 * 1024 * 1024, 0);
    let parts = [("_csrf", None, csrf.as_bytes()), ("file", Some("over.png"), over.as_slice())];
    upload(t, s, hh, &parts).await.expect(413);
    let r = upload_with(t, s, hh, &parts, false).await;
    r.expect(422);
    assert!(r.body.contains("文件过大"), "{}", r.body);
    assert_eq!(audit_rows(t, "csrf_failed").await.len(), csrf_before);
    assert_eq!(file_count(t).await, 2);
}

// ---------------------------------------------------------------- 8. input limits and escaping

async fn long_fields_and_escaping(t: &TestApp) {
    let w = world(t).await;
    let b1 = &w.b[0];
    let s = w.sec1.as_str();
    let rid = b1.residents[1];
    let long_name = "王".repeat(41);
    let long_note = "记".repeat(501);

    // The API: 422 naming the field; nothing written. At the limit: accepted.
    let before = t.counts(&w.admin).await;
    let id_number = synth_id(date(1984, 4, 4), 444);
    t.secret(&id_number);
    t.post("/api/v1/residents", s, json!({"household_id": b1.household, "name": long_name, "id_number": id_number}))
        .await
        .field_error(422, "name");
    t.post(
        "/api/v1/residents",
        s,
        json!({"household_id": b1.household, "name": "李四", "id_number": id_number, "note": long_note}),
    )
    .await
    .field_error(422, "note");
    t.patch(&format!("/api/v1/residents/{rid}"), s, json!({"name": long_name})).await.field_error(422, "name");
    t.patch(&format!("/api/v1/residents/{rid}"), s, json!({"note": long_note})).await.field_error(422, "note");
    assert_eq!(t.counts(&w.admin).await, before);
    let row = t.get(&format!("/api/v1/residents/{rid}"), s).await.json();
    assert_eq!(row["name"], b1.resident_names[1].as_str());
    t.patch(&format!("/api/v1/residents/{rid}"), s, json!({"name": "王".repeat(40), "note": "记".repeat(500)}))
        .await
        .expect(200);

    // The pages: the form again, 422, the message beside the field.
    let edit_path = format!("/residents/{rid}/edit");
    let edit = t.page(&edit_path, s).await;
    let values = form_values(&edit.body, &edit_path);
    for (field_name, value) in [("name", &long_name), ("note", &long_note)] {
        let mut v = values.clone();
        set_field(&mut v, field_name, value);
        let r = t.session_form(&edit_path, s, &pairs(&v)).await;
        r.expect(422);
        assert!(r.body.contains(&format!("id=\"err-{field_name}\"")), "{field_name}: {}", r.body);
    }
    assert_eq!(t.get(&format!("/api/v1/residents/{rid}"), s).await.json()["name"], "王".repeat(40));

    // HTML in every free-text field renders as text on every page that shows it.
    let name = "<script>alert(\"n\")</script>";
    let note = "<img src=x onerror=alert('note')>";
    let new = t.page(&format!("/residents/new?household={}", b1.household), s).await;
    let mut v = form_values(&new.body, "/residents/new");
    let id2 = synth_id(date(1986, 6, 6), 666);
    t.secret(&id2);
    set_field(&mut v, "name", name);
    set_field(&mut v, "note", note);
    set_field(&mut v, "id_number", &id2);
    let r = t.session_form("/residents/new", s, &pairs(&v)).await;
    assert!(matches!(r.code(), 302 | 303), "{} {}", r.status, r.body);
    let id: i64 = r.location().trim_start_matches("/residents/").parse().expect("new resident id");
    let row = t.get(&format!("/api/v1/residents/{id}"), s).await.json();
    assert_eq!((row["name"].as_str(), row["note"].as_str()), (Some(name), Some(note)), "stored as typed");
    let (_, auditor) = account(t, "auditor1", Role::Auditor, "S1").await;
    let resident_page = t.page(&format!("/residents/{id}"), s).await;
    let csrf = csrf_of(&resident_page.body);
    let shown = [
        resident_page,
        t.page(&format!("/residents/{id}/edit"), s).await,
        t.page(&format!("/households/{}", b1.household), s).await,
        t.page(&format!("/search?{}", qs(&[("q", "<script>")])), s).await,
        t.session_form(&format!("/residents/{id}/reveal"), s, &[("_csrf", csrf.as_str()), ("reason", note)]).await,
        t.page("/audit?entity=resident", &auditor).await,
    ];
    for r in &shown {
        r.expect(200);
        assert!(
            !r.body.contains("<script>alert") && !r.body.contains("<img src=x"),
            "{} renders markup: {}",
            r.what,
            r.body
        );
        assert!(
            shows_escaped(&r.body, "<script>alert(") || shows_escaped(&r.body, "<img src=x"),
            "{}: {}",
            r.what,
            r.body
        );
    }
    for r in [&shown[0], &shown[1]] {
        assert!(
            shows_escaped(&r.body, "<script>alert(") && shows_escaped(&r.body, "<img src=x"),
            "{}: {}",
            r.what,
            r.body
        );
    }
}
