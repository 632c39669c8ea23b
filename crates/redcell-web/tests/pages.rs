//! The server-rendered pages, end to end on SQLite and PostgreSQL.

use axum::http::Method;
use redcell_testkit::app::*;
use serde_json::json;

stories!(
    login_flow,
    admin_reads_every_page,
    resident_forms,
    html_is_escaped,
    secretary_sees_only_own_branch,
    login_destinations,
    edit_forms_never_show_clear_data,
);

#[track_caller]
fn assert_redirect(r: &Resp, to: &str) {
    assert!(matches!(r.code(), 302 | 303), "{}: expected a redirect, got {} {}", r.what, r.status, r.body);
    assert_eq!(r.location(), to, "{}", r.what);
}

async fn login_flow(t: &TestApp) {
    let w = world(t).await;

    // Without a session `/` is the residents' page (with the way to the staff login); every staff
    // page sends the visitor to the login page, keeping the destination.
    let front = t.send(Method::GET, "/", &[], Vec::new()).await;
    front.expect(200);
    assert!(front.body.contains("href=\"/login\""));
    assert_redirect(&t.send(Method::GET, "/orgs", &[], Vec::new()).await, "/login?next=/orgs");
    assert_redirect(
        &t.send(Method::GET, &format!("/members?org_id={}", w.root), &[], Vec::new()).await,
        &format!("/login?next=/members%3Forg_id%3D{}", w.root),
    );
    assert_redirect(&t.page("/orgs", "not-a-session").await, "/login?next=/orgs");
    assert_redirect(&t.send(Method::GET, "/orgs", &[("cookie", "rc_session=")], Vec::new()).await, "/login?next=/orgs");

    // The login page sets the login CSRF cookie and carries the same token in its form.
    let page = t.send(Method::GET, "/login?next=/orgs", &[], Vec::new()).await;
    page.expect(200);
    let token = page.set_cookie("rc_login_csrf").expect("rc_login_csrf cookie");
    assert!(token.len() >= 32, "short login CSRF token {token}");
    assert_eq!(csrf_of(&page.body), token);
    let raw = page.header("set-cookie").expect("set-cookie");
    assert!(raw.contains("HttpOnly") && raw.contains("SameSite=Lax") && raw.contains("Path=/"), "{raw}");
    assert!(page.body.contains("name=\"next\" value=\"/orgs\""), "next kept in the form");
    let cookie = format!("rc_login_csrf={token}");

    // Without the token, with a wrong one, or without the cookie: 403 and no session.
    for (c, pairs) in [
        (Some(cookie.as_str()), vec![("username", ADMIN), ("password", ADMIN_PASSWORD)]),
        (
            Some(cookie.as_str()),
            vec![
                ("_csrf", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
                ("username", ADMIN),
                ("password", ADMIN_PASSWORD),
            ],
        ),
        (Some(cookie.as_str()), vec![("_csrf", ""), ("username", ADMIN), ("password", ADMIN_PASSWORD)]),
        (None, vec![("_csrf", token.as_str()), ("username", ADMIN), ("password", ADMIN_PASSWORD)]),
        (Some("rc_login_csrf="), vec![("_csrf", ""), ("username", ADMIN), ("password", ADMIN_PASSWORD)]),
    ] {
        let r = t.form("/login", c, &pairs).await;
        r.expect(403);
        assert!(r.set_cookie("rc_session").is_none(), "a refused login set a session");
    }

    // Wrong password: 401, the form again with the message.
    let r = t
        .form(
            "/login",
            Some(&cookie),
            &[("_csrf", &token), ("username", ADMIN), ("password", "wrong-pass-2026"), ("next", "/orgs")],
        )
        .await;
    r.expect(401);
    assert!(r.body.contains("用户名或密码错误"), "{}", r.body);
    assert!(r.set_cookie("rc_session").is_none());
    assert!(!r.body.contains("wrong-pass-2026"), "the password is echoed");

    // The right password: a redirect to `next` with the session cookie.
    let r = t
        .form(
            "/login",
            Some(&cookie),
            &[("_csrf", &token), ("username", ADMIN), ("password", ADMIN_PASSWORD), ("next", "/orgs")],
        )
        .await;
    assert_redirect(&r, "/orgs");
    let session = r.set_cookie("rc_session").expect("rc_session cookie");
    assert!(session.len() >= 32);
    let raw: Vec<String> =
        r.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
    assert!(
        raw.iter().any(|c| c.starts_with("rc_session=") && c.contains("HttpOnly") && c.contains("SameSite=Lax")),
        "{raw:?}"
    );
    assert_eq!(r.set_cookie("rc_login_csrf").as_deref(), Some(""), "the login CSRF cookie is cleared");

    let home = t.page("/", &session).await;
    assert_redirect(&home, &format!("/orgs/{}/glance", w.root));
    let tree = t.page("/orgs", &session).await;
    tree.expect(200);
    assert!(tree.body.contains(&w.b[0].community_name) && tree.body.contains(&w.b[1].community_name));

    // Only local destinations after login.
    let r = t
        .form(
            "/login",
            Some(&cookie),
            &[("_csrf", &token), ("username", SEC), ("password", SEC_PASSWORD), ("next", "//evil.example/x")],
        )
        .await;
    assert_redirect(&r, "/");
    let sec_session = r.set_cookie("rc_session").expect("sec1 session");
    assert_redirect(&t.page("/", &sec_session).await, &format!("/orgs/{}/glance", w.b[0].branch));

    // Logging out needs the session's CSRF token and ends the session.
    let csrf = csrf_of(&tree.body);
    t.session_form("/logout", &session, &[]).await.expect(403);
    t.session_form("/logout", &session, &[("_csrf", "nope")]).await.expect(403);
    t.page("/orgs", &session).await.expect(200);
    let out = t.session_form("/logout", &session, &[("_csrf", &csrf)]).await;
    assert_redirect(&out, "/login");
    assert_eq!(out.set_cookie("rc_session").as_deref(), Some(""));
    assert_redirect(&t.page("/orgs", &session).await, "/login?next=/orgs");
}

#[track_caller]
fn assert_shows(r: &Resp, texts: &[&str]) {
    r.expect(200);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{}: not HTML", r.what);
    for x in texts {
        assert!(r.body.contains(x), "{} does not show {x}: {}", r.what, r.body);
    }
}

async fn admin_reads_every_page(t: &TestApp) {
    let w = world(t).await;
    let s = w.admin.as_str();

    let tree = t.page("/orgs", s).await;
    let mut all_names: Vec<&str> = vec![&w.root_name];
    for b in &w.b {
        all_names.extend([b.community_name.as_str(), b.branch_name.as_str()]);
    }
    assert_shows(&tree, &all_names);

    for b in &w.b {
        let masked_ids: Vec<String> = b.id_numbers.iter().map(|i| masked_id(i)).collect();
        let masked_phones: Vec<String> = b.phones.iter().map(|p| masked_mobile(p)).collect();
        assert_shows(
            &t.page(&format!("/orgs/{}", b.community), s).await,
            &[&b.community_name, &b.branch_name, &w.root_name],
        );
        assert_shows(
            &t.page(&format!("/orgs/{}", b.branch), s).await,
            &[&b.branch_name, &b.grid_name, &b.cadre_name, &b.community_name],
        );
        assert_shows(
            &t.page(&format!("/grids/{}", b.grid), s).await,
            &[&b.grid_name, &b.building_name, &b.unit_name, &b.resident_names[0]],
        );
        assert_shows(
            &t.page(&format!("/buildings/{}", b.building), s).await,
            &[&b.building_name, "301", &b.resident_names[0]],
        );
        assert_shows(
            &t.page(&format!("/households/{}", b.household), s).await,
            &[
                &b.resident_names[0],
                &b.resident_names[1],
                &masked_ids[0],
                &masked_ids[1],
                &masked_phones[0],
                "困难家庭",
            ],
        );
        for i in 0..2 {
            assert_shows(
                &t.page(&format!("/residents/{}", b.residents[i]), s).await,
                &[&b.resident_names[i], &masked_ids[i], &masked_phones[i], &b.building_name],
            );
        }
        assert_shows(&t.page(&format!("/members/{}", b.member), s).await, &[&b.resident_names[0], &b.branch_name]);
        assert_shows(
            &t.page(&format!("/cadres/{}", b.cadre), s).await,
            &[&b.cadre_name, &masked_mobile(&b.cadre_phone)],
        );
        let roster = t.page(&format!("/members?org_id={}", b.community), s).await;
        assert_shows(&roster, &[&b.resident_names[0], &b.community_name]);
        let other = &w.b[if b.branch == w.b[0].branch { 1 } else { 0 }];
        assert!(
            !roster.body.contains(&other.resident_names[0]),
            "the roster of one community lists the other's member"
        );
        assert_shows(&t.page(&format!("/members?grid_id={}", b.grid), s).await, &[&b.resident_names[0]]);
        let found = t.page(&format!("/search?{}", qs(&[("q", &b.resident_names[1])])), s).await;
        assert_shows(&found, &[&b.resident_names[1], &masked_ids[1], "共找到 1 人"]);
        // Searching by the exact phone finds the person; the page shows it masked.
        let by_phone = t.page(&format!("/search?{}", qs(&[("q", &b.phones[0])])), s).await;
        assert_shows(&by_phone, &[&b.resident_names[0], &masked_phones[0], "共找到 1 人"]);
    }
    assert_shows(&t.page("/members", s).await, &[&w.b[0].resident_names[0], &w.b[1].resident_names[0]]);
    assert_shows(&t.page("/search", s).await, &["查找人员"]);

    // Unknown rows are a 404 page.
    for p in [
        "/orgs/999999",
        "/grids/999999",
        "/buildings/999999",
        "/households/999999",
        "/residents/999999",
        "/members/999999",
        "/cadres/999999",
    ] {
        let r = t.page(p, s).await;
        r.expect(404);
        assert!(r.body.contains("未找到"), "{p}: {}", r.body);
    }
}

async fn resident_count(t: &TestApp, w: &World) -> i64 {
    t.get("/api/v1/residents?per_page=1", &w.admin).await.json()["total"].as_i64().expect("total")
}

async fn resident_forms(t: &TestApp) {
    let w = world(t).await;
    let s = w.admin.as_str();
    let hh = w.b[0].household;

    let new = t.page(&format!("/residents/new?household={hh}"), s).await;
    new.expect(200);
    let csrf = csrf_of(&new.body);
    assert!(new.body.contains(&format!("name=\"_csrf\" value=\"{csrf}\"")));
    let blank = form_values(&new.body, "/residents/new");
    assert_eq!(field(&blank, "household_id"), Some(hh.to_string().as_str()), "household prefilled");

    let clear = synth_id(date(1993, 4, 5), 321);
    t.secret(&clear);
    let n0 = resident_count(t, &w).await;
    let submit = |id: &str| {
        let mut v = blank.clone();
        set_field(&mut v, "name", "孙东风");
        set_field(&mut v, "id_number", id);
        set_field(&mut v, "phone", "13600136000");
        v
    };
    t.secret("13600136000");
    let post = |v: Vec<(String, String)>| async move {
        let pairs: Vec<(&str, &str)> = v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
        t.session_form("/residents/new", s, &pairs).await
    };

    // A bad check digit: the form again, 422, the message beside the field.
    let bad = format!("{}{}", &clear[..17], if clear.ends_with('0') { '1' } else { '0' });
    let r = post(submit(&bad)).await;
    r.expect(422);
    let input = r.body.find("name=\"id_number\"").expect("id_number input");
    let label_end = input + r.body[input..].find("</label>").expect("label end");
    let beside = &r.body[input..label_end];
    assert!(
        beside.contains("id=\"err-id_number\"") && beside.contains("身份证号校验位不正确"),
        "message not beside the field: {beside}"
    );
    assert!(r.body.contains("孙东风"), "what was typed is kept");
    assert_eq!(resident_count(t, &w).await, n0, "a rejected form wrote a row");

    // Without the CSRF token, or with another session's: 403, nothing written.
    let mut no_csrf = submit(&clear);
    no_csrf.retain(|(k, _)| k != "_csrf");
    post_form_expect(t, s, "/residents/new", &no_csrf, 403).await;
    let sec_csrf = csrf_of(&t.page("/orgs", &w.sec1).await.body);
    let mut foreign = submit(&clear);
    set_field(&mut foreign, "_csrf", &sec_csrf);
    post_form_expect(t, s, "/residents/new", &foreign, 403).await;
    assert_eq!(resident_count(t, &w).await, n0, "a form without a valid CSRF token wrote a row");

    // A valid number: redirect to the new resident.
    let r = post(submit(&clear)).await;
    assert!(matches!(r.code(), 302 | 303), "{} {}", r.status, r.body);
    let loc = r.location();
    let id: i64 =
        loc.strip_prefix("/residents/").and_then(|x| x.parse().ok()).unwrap_or_else(|| panic!("redirect to {loc}"));
    assert_eq!(resident_count(t, &w).await, n0 + 1);
    let row = t.get(&format!("/api/v1/residents/{id}"), s).await.json();
    assert_eq!(row["name"], "孙东风");
    assert_eq!(row["household_id"], hh);
    assert_eq!(row["id_number"].as_str(), Some(masked_id(&clear).as_str()));
    assert_eq!(row["birth_date"], "1993-04-05");
    let shown = t.page(&loc, s).await;
    assert!(shown.body.contains(&masked_id(&clear)) && shown.body.contains("136****6000"));

    // The edit form never carries the clear number; left empty, the number is kept.
    let edit_path = format!("/residents/{id}/edit");
    let edit = t.page(&edit_path, s).await;
    edit.expect(200);
    let mut values = form_values(&edit.body, &edit_path);
    assert_eq!(field(&values, "id_number"), Some(""), "the edit form shows the ID number");
    assert_eq!(field(&values, "phone"), Some(""), "the edit form shows the phone");
    assert!(edit.body.contains(&masked_id(&clear)), "the edit form hints the masked number");
    assert_eq!(field(&values, "name"), Some("孙东风"));
    set_field(&mut values, "name", "孙东风改");
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
    let r = t.session_form(&edit_path, s, &pairs).await;
    assert_redirect(&r, &format!("/residents/{id}"));
    let after = t.get(&format!("/api/v1/residents/{id}"), s).await.json();
    assert_eq!(after["name"], "孙东风改");
    assert_eq!(after["id_number"], row["id_number"]);
    assert_eq!(after["phone"], row["phone"]);
    let found = t.get(&format!("/api/v1/search?{}", qs(&[("q", &clear)])), s).await.json();
    assert_eq!(found["items"][0]["id"], id, "the stored number changed");
    let found = t.get(&format!("/api/v1/search?{}", qs(&[("q", "13600136000")])), s).await.json();
    assert_eq!(found["items"][0]["id"], id, "the stored phone changed");

    // An edit with an error shows the form again, still without the clear number.
    set_field(&mut values, "phone", "12345");
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
    let r = t.session_form(&edit_path, s, &pairs).await;
    r.expect(422);
    assert!(r.body.contains("id=\"err-phone\""), "{}", r.body);
    assert_eq!(t.get(&format!("/api/v1/residents/{id}"), s).await.json()["name"], "孙东风改");
}

async fn post_form_expect(t: &TestApp, session: &str, path: &str, values: &[(String, String)], status: u16) {
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
    t.session_form(path, session, &pairs).await.expect(status);
}

async fn html_is_escaped(t: &TestApp) {
    let w = world(t).await;
    let s = w.admin.as_str();
    let b1 = &w.b[0];
    let evil = "<script>alert(1)</script>";
    let r = t
        .create(s, "residents", json!({"household_id": b1.household, "name": evil, "id_number": synth_id(date(1981, 8, 8), 808), "note": "\"><img src=x onerror=alert(2)>"}))
        .await;
    let id = r["id"].as_i64().expect("id");
    assert_eq!(r["name"], evil, "the API stores and returns the text as typed");
    let org = t.create(s, "orgs", json!({"parent_id": b1.branch, "kind": "party_group", "code": "C1-B1-G1", "name": "<b onmouseover=alert(3)>小组</b>"})).await;

    let pages = [
        format!("/residents/{id}"),
        format!("/residents/{id}/edit"),
        format!("/households/{}", b1.household),
        format!("/search?{}", qs(&[("q", "<script>")])),
        format!("/orgs/{}", b1.branch),
        format!("/orgs/{}", org["id"]),
        format!("/orgs/{}/edit", org["id"]),
    ];
    for p in &pages {
        let r = t.page(p, s).await;
        r.expect(200);
        assert!(
            !r.body.contains("<script>alert(1)")
                && !r.body.contains("<img src=x")
                && !r.body.contains("<b onmouseover"),
            "{p} renders markup from data: {}",
            r.body
        );
        assert!(
            shows_escaped(&r.body, evil) || shows_escaped(&r.body, "<b onmouseover=alert(3)>小组</b>"),
            "{p}: escaped text missing: {}",
            r.body
        );
    }
    let resident = t.page(&format!("/residents/{id}"), s).await;
    assert!(shows_escaped(&resident.body, "<img src=x onerror=alert(2)>"), "{}", resident.body);
}

async fn secretary_sees_only_own_branch(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    let s = w.sec1.as_str();

    assert_redirect(&t.page("/", s).await, &format!("/orgs/{}/glance", b1.branch));
    let tree = t.page("/orgs", s).await;
    assert_shows(&tree, &[&b1.branch_name]);
    assert!(
        !tree.body.contains(B2_MARK) && !tree.body.contains(&w.root_name) && !tree.body.contains(&b1.community_name),
        "{}",
        tree.body
    );
    assert_shows(&t.page(&format!("/orgs/{}", b1.branch), s).await, &[&b1.grid_name, &b1.cadre_name]);
    assert_shows(&t.page(&format!("/residents/{}", b1.residents[0]), s).await, &[&b1.resident_names[0]]);

    // Their branch at a glance: pictures drawn on the server, the grid as its part.
    let glance = t.page(&format!("/orgs/{}/glance", b1.branch), s).await;
    assert_shows(&glance, &[&b1.branch_name, &b1.grid_name, "svg class=\"ring", "住户有党员联系"]);
    assert!(!glance.body.contains(B2_MARK), "{}", glance.body);

    let mut hidden = vec![
        format!("/orgs/{}", w.root),
        format!("/orgs/{}/glance", w.root),
        format!("/orgs/{}/glance", b2.branch),
        format!("/orgs/{}", b1.community),
        format!("/members?org_id={}", b2.branch),
        format!("/members?org_id={}", b2.community),
        format!("/members?grid_id={}", b2.grid),
    ];
    for (res, ids) in [
        ("orgs", b2.ids("orgs")),
        ("grids", vec![b2.grid]),
        ("buildings", vec![b2.building]),
        ("households", vec![b2.household]),
        ("residents", b2.residents.clone()),
        ("members", vec![b2.member]),
        ("cadres", vec![b2.cadre]),
    ] {
        for id in ids {
            hidden.push(format!("/{res}/{id}"));
            hidden.push(format!("/{res}/{id}/edit"));
        }
    }
    hidden.push(format!("/units/{}/edit", b2.unit));
    for p in &hidden {
        let r = t.page(p, s).await;
        r.expect(404);
        assert!(!r.body.contains(B2_MARK), "{p}: {}", r.body);
    }

    // The roster and the search show nothing of branch 2.
    let roster = t.page("/members", s).await;
    assert_shows(&roster, &[&b1.resident_names[0]]);
    assert!(!roster.body.contains(B2_MARK));
    for q in b2.resident_names.iter().chain(&b2.id_numbers).chain(&b2.phones) {
        let r = t.page(&format!("/search?{}", qs(&[("q", q)])), s).await;
        assert_shows(&r, &["共找到 0 人"]);
        for name in &b2.resident_names {
            assert!(!r.body.contains(&format!(">{name}<")), "search {q} shows {name}");
        }
        assert!(!r.body.contains(&masked_id(&b2.id_numbers[0])) && !r.body.contains(&masked_id(&b2.id_numbers[1])));
    }
    let r = t.page(&format!("/search?{}", qs(&[("q", &b1.resident_names[1])])), s).await;
    assert_shows(&r, &[&b1.resident_names[1], "共找到 1 人"]);

    // Forms cannot reach into branch 2 either.
    let csrf = csrf_of(&tree.body);
    let before = t.counts(&w.admin).await;
    let r = t
        .session_form(
            "/residents/new",
            s,
            &[
                ("_csrf", &csrf),
                ("household_id", &b2.household.to_string()),
                ("name", "越界人"),
                ("id_number", &synth_id(date(1970, 1, 1), 909)),
            ],
        )
        .await;
    assert!(matches!(r.code(), 403 | 422), "{} {}", r.status, r.body);
    assert!(!r.body.contains(B2_MARK));
    let r = t
        .session_form(
            "/grids/new",
            s,
            &[("_csrf", &csrf), ("org_id", &b2.branch.to_string()), ("code", "X-G"), ("name", "越界网格")],
        )
        .await;
    assert!(matches!(r.code(), 403 | 422), "{} {}", r.status, r.body);
    let r = t
        .session_form(
            &format!("/grids/{}/edit", b2.grid),
            s,
            &[("_csrf", &csrf), ("org_id", &b2.branch.to_string()), ("code", "X-G"), ("name", "越界网格")],
        )
        .await;
    r.expect(404);
    for (res, id) in [("residents", b2.residents[1]), ("units", b2.unit), ("cadres", b2.cadre), ("orgs", b2.branch)] {
        t.session_form(&format!("/{res}/{id}/delete"), s, &[("_csrf", &csrf)]).await.expect(404);
    }
    assert_eq!(t.counts(&w.admin).await, before, "a refused form wrote something");
    assert_eq!(t.get(&format!("/api/v1/grids/{}", b2.grid), &w.admin).await.json()["name"], b2.grid_name);
}

/// The `Location` of a redirect must be plain ASCII and, read the way a browser
/// reads it (tabs and newlines dropped), a path on this site.
#[track_caller]
fn assert_local_location(r: &Resp) -> String {
    assert!(matches!(r.code(), 302 | 303), "{}: expected a redirect, got {} {}", r.what, r.status, r.body);
    let raw = r.headers.get("location").unwrap_or_else(|| panic!("{}: no Location", r.what)).as_bytes();
    assert!(raw.iter().all(|b| b.is_ascii_graphic()), "{}: Location is not plain ASCII: {raw:?}", r.what);
    let loc = String::from_utf8_lossy(raw).to_string();
    let as_browser: String = loc.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    assert!(
        as_browser.starts_with('/') && !as_browser.starts_with("//") && !as_browser.contains('\\'),
        "{}: Location {loc:?} leaves the site",
        r.what
    );
    loc
}

async fn login_destinations(t: &TestApp) {
    let w = world(t).await;

    // A logged-out visitor searching a Chinese name comes back to the same search after login.
    let q = &w.b[0].resident_names[1];
    let search = format!("/search?{}", qs(&[("q", q)]));
    let to_login = t.send(Method::GET, &search, &[], Vec::new()).await;
    let login_url = assert_local_location(&to_login);
    assert!(login_url.starts_with("/login?next="), "{login_url}");
    let page = t.send(Method::GET, &login_url, &[], Vec::new()).await;
    page.expect(200);
    let token = page.set_cookie("rc_login_csrf").expect("login CSRF cookie");
    let cookie = format!("rc_login_csrf={token}");
    let mut values = form_values(&page.body, "/login");
    set_field(&mut values, "username", ADMIN);
    set_field(&mut values, "password", ADMIN_PASSWORD);
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
    let r = t.form("/login", Some(&cookie), &pairs).await;
    let back = assert_local_location(&r);
    let session = r.set_cookie("rc_session").expect("session");
    let found = t.page(&back, &session).await;
    assert_shows(&found, &[q.as_str(), "共找到 1 人"]);

    // Destinations that would leave the site, or break the header, land on the home page.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/orgs\r\nSet-Cookie: rc_session=x",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let r = t
            .form(
                "/login",
                Some(&cookie),
                &[("_csrf", &token), ("username", SEC), ("password", SEC_PASSWORD), ("next", next)],
            )
            .await;
        let loc = assert_local_location(&r);
        assert_eq!(loc, "/", "next {next:?}");
        assert!(
            r.headers.get_all("set-cookie").iter().all(|c| !c.as_bytes().starts_with(b"rc_session=x")),
            "header injection"
        );
    }
}

async fn edit_forms_never_show_clear_data(t: &TestApp) {
    let w = world(t).await;
    let s = w.admin.as_str();
    let b1 = &w.b[0];
    let org_phone = "0571-86001234";
    t.secret(org_phone);
    t.patch(&format!("/api/v1/orgs/{}", b1.branch), s, json!({"phone": org_phone})).await.expect(200);

    let forms = [
        ("orgs", b1.branch),
        ("grids", b1.grid),
        ("buildings", b1.building),
        ("households", b1.household),
        ("residents", b1.residents[0]),
        ("members", b1.member),
        ("cadres", b1.cadre),
        ("units", b1.unit),
    ];
    for (res, id) in forms {
        let path = format!("/{res}/{id}/edit");
        // The harness fails on any clear ID number or phone in the body.
        let r = t.page(&path, s).await;
        r.expect(200);
        let values = form_values(&r.body, &path);
        for f in ["id_number", "phone"] {
            if let Some(v) = field(&values, f) {
                assert_eq!(v, "", "{path}: the {f} field is filled in");
            }
        }
        // Saved unchanged, the form keeps every stored value, the hidden ones included.
        let before = t.get(&format!("/api/v1/{res}/{id}"), s).await.json();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
        let saved = t.session_form(&path, s, &pairs).await;
        assert!(matches!(saved.code(), 302 | 303), "{path}: {} {}", saved.status, saved.body);
        let mut after = t.get(&format!("/api/v1/{res}/{id}"), s).await.json();
        after["updated_at"] = before["updated_at"].clone();
        assert_eq!(after, before, "{path}: saving the form unchanged changed the row");
    }
    let org = t.page(&format!("/orgs/{}/edit", b1.branch), s).await;
    assert!(org.body.contains("0571-****1234"), "the org form hints the masked phone");
}
