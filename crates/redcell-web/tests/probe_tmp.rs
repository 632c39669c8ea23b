#[macro_use]
mod common;
use axum::http::Method;
use common::*;

stories!(probe);

async fn probe(t: &TestApp) {
    let w = world(t).await;
    let a = w.admin.as_str();
    for (m, p) in [(Method::GET, "/api/v1/residents/abc"), (Method::GET, "/api/v1/nope"), (Method::PUT, "/api/v1/orgs"), (Method::GET, "/api/v1/residents/99999999999999999999")] {
        let r = t.api(m.clone(), p, Some(a), None).await;
        println!("PROBE {m} {p} -> {} {:?} {}", r.status, r.header("content-type"), r.body);
    }
    let auth = format!("Bearer {a}");
    let r = t.send(Method::POST, "/api/v1/residents", &[("authorization", &auth), ("content-type", "text/plain")], b"{}".to_vec()).await;
    println!("PROBE text/plain -> {} {}", r.status, r.body);
    let r = t.send(Method::POST, "/api/v1/residents", &[("authorization", &auth)], b"{}".to_vec()).await;
    println!("PROBE no ct -> {} {}", r.status, r.body);
    let page = t.send(Method::GET, "/login", &[], Vec::new()).await;
    let tok = page.set_cookie("rc_login_csrf").unwrap();
    let cookie = format!("rc_login_csrf={tok}");
    for next in ["/\t/evil.example", "/orgs\r\nX: y", "/search?q=张三"] {
        let r = t.form("/login", Some(&cookie), &[("_csrf", &tok), ("username", SEC), ("password", SEC_PASSWORD), ("next", next)]).await;
        println!("PROBE next {next:?} -> {} {:?} {}", r.status, r.headers.get("location"), r.body);
    }
    for p in [format!("/units/{}/edit", w.b[0].unit), format!("/orgs/{}/edit", w.b[0].branch), format!("/cadres/{}/edit", w.b[0].cadre)] {
        let r = t.page(&p, a).await;
        println!("PROBE {p} -> {}", r.status);
    }
}
