//! The service guide (办事指南) end to end on SQLite and PostgreSQL: staff
//! keep their organisation's errands from the page and the API, inside their
//! scope only; residents read the guide without an account; the guide
//! exports to a file.

use axum::http::Method;
use redcell_testkit::app::*;
use serde_json::json;

/// A page form answered with a redirect to `to` (saved).
fn redirected(r: &Resp, to: &str) {
    assert!(r.status.is_redirection(), "expected a redirect to {to}, got {}: {}", r.code(), r.body);
    assert_eq!(r.location(), to);
}

stories!(staff_keep_the_guide_residents_read_it, the_api_and_the_export);

fn errand(org: i64, name: &str) -> serde_json::Value {
    json!({
        "org_id": org,
        "name": name,
        "class": "immediate",
        "materials": "身份证\n户口簿\n一寸照片两张",
        "place": "社区党群服务中心一楼窗口",
        "proxy": "子女持双方身份证可代办",
    })
}

async fn staff_keep_the_guide_residents_read_it(t: &TestApp) {
    let w = world(t).await;
    let b1 = &w.b[0];
    // The secretary of branch 1 adds an errand from the page.
    let page = t.page(&format!("/orgs/{}/guide", b1.branch), &w.sec1).await;
    page.expect(200);
    assert!(page.body.contains("尚未登记办事事项"), "{}", page.body);
    let csrf = csrf_of(&page.body);
    let path = format!("/orgs/{}/guide", b1.branch);
    let saved = t
        .session_form(
            &path,
            &w.sec1,
            &[
                ("_csrf", &csrf),
                ("name", "老年人优待证办理"),
                ("class", "immediate"),
                ("materials", "身份证\r\n\r\n户口簿\r\n一寸照片两张"),
                ("place", "社区党群服务中心一楼窗口"),
                ("proxy", "子女持双方身份证可代办"),
            ],
        )
        .await;
    redirected(&saved, &path);
    let page = t.page(&path, &w.sec1).await;
    assert!(page.body.contains("老年人优待证办理") && page.body.contains("<li>户口簿</li>"), "{}", page.body);
    assert!(page.body.contains("当场办结"), "an immediate errand is done on the spot");

    // Bad input: every bad field named beside its field, nothing written.
    let bad = t
        .session_form(&path, &w.sec1, &[("_csrf", &csrf), ("name", ""), ("class", "someday"), ("working_days", "99")])
        .await;
    bad.expect(422);
    for field in ["name", "class", "working_days", "place"] {
        assert!(bad.body.contains(&format!("id=\"err-{field}\"")), "{field} named: {}", bad.body);
    }
    // Without the CSRF token: refused, audited, nothing written.
    t.session_form(&path, &w.sec1, &[("name", "伪造事项"), ("class", "immediate"), ("place", "某处")])
        .await
        .expect(403);
    // Branch 2 is outside the secretary's scope: its guide cannot be read or changed.
    let other = format!("/orgs/{}/guide", w.b[1].branch);
    t.page(&other, &w.sec1).await.expect(404);
    let r = t
        .session_form(
            &other,
            &w.sec1,
            &[("_csrf", &csrf), ("name", "越权事项"), ("class", "immediate"), ("place", "某处")],
        )
        .await;
    assert!(matches!(r.code(), 403 | 404), "out of scope: {}", r.code());

    // Residents read the guide without an account.
    let public = t.send(Method::GET, &format!("/guide?t={}", w.root), &[], vec![]).await;
    public.expect(200);
    assert!(public.body.contains("老年人优待证办理") && public.body.contains("一寸照片两张"), "{}", public.body);
    assert!(!public.body.contains("伪造事项") && !public.body.contains("越权事项"));
    assert!(public.body.contains(&format!("/r/new?t={}", w.root)), "the guide links to the request form");

    // Edit, then delete, from the pages.
    let list = t.get(&format!("/api/v1/guide?org_id={}", b1.branch), &w.sec1).await;
    let id = list.json()["items"][0]["id"].as_i64().expect("id");
    let edit = t.page(&format!("/guide/{id}/edit"), &w.sec1).await;
    edit.expect(200);
    let mut values = form_values(&edit.body, &format!("/guide/{id}/edit"));
    set_field(&mut values, "working_days", "3");
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    redirected(&t.session_form(&format!("/guide/{id}/edit"), &w.sec1, &pairs).await, &path);
    assert!(t.page(&path, &w.sec1).await.body.contains("3 个工作日内办结"));
    let del = t.session_form(&format!("/guide/{id}/delete"), &w.sec1, &[("_csrf", &csrf)]).await;
    redirected(&del, &path);
    assert_eq!(t.get("/api/v1/guide", &w.sec1).await.json()["total"], 0);
}

async fn the_api_and_the_export(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    // Create in scope; out of scope is refused naming the field.
    let made = t.post("/api/v1/guide", &w.sec1, errand(b1.branch, "居住证明开具")).await;
    made.expect(201);
    let id = made.json()["id"].as_i64().expect("id");
    assert!(made.json().get("tenant_id").is_none(), "the view has no internal column");
    // (branch 2 is not even visible to the secretary: "not found", naming the field)
    t.post("/api/v1/guide", &w.sec1, errand(b2.branch, "越权事项")).await.field_error(422, "org_id");
    // Every bad field in one answer.
    let bad = t.post("/api/v1/guide", &w.sec1, json!({"org_id": b1.branch, "class": "x", "working_days": -1})).await;
    let fields: Vec<String> = bad.error(422)["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap_or("").to_string())
        .collect();
    for f in ["name", "class", "working_days", "place"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    // The admin adds one in branch 2; the secretary never sees it.
    t.post("/api/v1/guide", &w.admin, errand(b2.branch, "西湖事项")).await.expect(201);
    let mine = t.get("/api/v1/guide", &w.sec1).await;
    assert_eq!(mine.json()["total"], 1);
    assert!(!mine.body.contains(B2_MARK) && !mine.body.contains("西湖事项"));
    let all = t.get("/api/v1/guide?class=immediate", &w.admin).await;
    assert_eq!(all.json()["total"], 2);
    t.get("/api/v1/guide?class=someday", &w.admin).await.field_error(422, "class");
    // Update replaces the entry; out of scope is not found.
    let mut changed = errand(b1.branch, "居住证明开具");
    changed["working_days"] = json!(2);
    changed["class"] = json!("promised");
    let up = t.api(Method::PUT, &format!("/api/v1/guide/{id}"), Some(&w.sec1), Some(&changed)).await;
    up.expect(200);
    assert_eq!((up.json()["working_days"].as_i64(), up.json()["class"].as_str()), (Some(2), Some("promised")));
    let theirs = all.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["name"] == "西湖事项")
        .and_then(|e| e["id"].as_i64())
        .expect("branch 2 entry");
    t.api(Method::PUT, &format!("/api/v1/guide/{theirs}"), Some(&w.sec1), Some(&errand(b1.branch, "改名")))
        .await
        .error(404);
    t.delete(&format!("/api/v1/guide/{theirs}"), &w.sec1).await.error(404);

    // The export: the caller's scope only, masked nothing personal, audited.
    let csv = t.get("/api/v1/guide/export?format=csv", &w.sec1).await;
    csv.expect(200);
    assert!(csv.body.contains("居住证明开具") && csv.body.contains("身份证；户口簿；一寸照片两张"), "{}", csv.body);
    assert!(!csv.body.contains("西湖事项"));
    let xlsx = t.get("/api/v1/guide/export", &w.admin).await;
    xlsx.expect(200);
    assert!(xlsx.header("content-disposition").unwrap_or_default().contains("filename*=UTF-8''"));
    // The documented operation exists with its filters.
    let doc = t.send(Method::GET, "/api/v1/openapi.json", &[], vec![]).await.json();
    let params =
        doc["paths"]["/api/v1/guide/export"]["get"]["parameters"].as_array().expect("export parameters").clone();
    assert!(params.iter().any(|p| p["name"] == "class" && p["in"] == "query"));

    t.delete(&format!("/api/v1/guide/{id}"), &w.sec1).await.expect(204);
}
