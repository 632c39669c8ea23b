//! What an operator watches, on SQLite and PostgreSQL: `/healthz` says ok
//! while the storage works and "degraded" while writes fail in the database
//! (and ok again once a write succeeds); `/metrics` counts answers by front
//! and status class, times them, and counts storage errors.

use axum::http::Method;
use redcell_testkit::app::*;
use serde_json::json;

stories!(health_follows_the_storage_and_metrics_count);

/// The value of an unlabelled or labelled sample line of `/metrics`.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
        .parse()
        .unwrap()
}

async fn health_follows_the_storage_and_metrics_count(t: &TestApp) {
    let w = world(t).await;
    let health = t.send(Method::GET, "/healthz", &[], vec![]).await;
    assert_eq!((health.code(), health.body.as_str()), (200, "ok"));

    // Some answers of each kind.
    t.get("/api/v1/grids", &w.admin).await.expect(200);
    t.get("/api/v1/no-such-thing", &w.admin).await.expect(404);
    t.page("/orgs", &w.sec1).await.expect(200);
    let m = t.send(Method::GET, "/metrics", &[], vec![]).await;
    m.expect(200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let text = &m.body;
    assert!(sample(text, r#"redcell_http_requests_total{front="api",class="2xx"}"#) >= 1.0);
    assert!(sample(text, r#"redcell_http_requests_total{front="api",class="4xx"}"#) >= 1.0);
    assert!(sample(text, r#"redcell_http_requests_total{front="page",class="2xx"}"#) >= 1.0);
    let count = sample(text, "redcell_http_request_duration_seconds_count");
    assert_eq!(sample(text, r#"redcell_http_request_duration_seconds_bucket{le="+Inf"}"#), count);
    assert!(count >= 4.0, "{count}");
    assert_eq!(sample(text, "redcell_storage_errors_total"), 0.0);
    assert_eq!(sample(text, "redcell_storage_degraded"), 0.0);
    assert!(text.contains("redcell_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("redcell_job_runs_total{job=\"escalation\",outcome=\"ok\"}"));
    assert!(text.contains("redcell_uptime_seconds"));
    // Nothing personal in the metrics: no user, no path.
    assert!(!text.contains("admin") && !text.contains("/api/v1/grids"));

    // Writes start failing in the database (a table gone stands in for a
    // full or broken disk): the write answers 500, health turns degraded.
    let grid = w.b[0].grid;
    t.db.exec("ALTER TABLE units RENAME TO units_away", redcell_store::Args::new()).await.unwrap();
    let failed = t.post("/api/v1/units", &w.admin, json!({"grid_id": grid, "kind": "shop", "name": "坏盘测试"})).await;
    failed.expect(500);
    assert!(!failed.body.contains("units"), "the cause stays in the log: {}", failed.body);
    let health = t.send(Method::GET, "/healthz", &[], vec![]).await;
    assert_eq!(health.code(), 503, "{}", health.body);
    assert!(health.body.starts_with("degraded: writes failing"), "{}", health.body);
    let text = t.send(Method::GET, "/metrics", &[], vec![]).await.body;
    assert_eq!(sample(&text, "redcell_storage_errors_total"), 1.0);
    assert_eq!(sample(&text, "redcell_storage_degraded"), 1.0);

    // Reads keep working, and a write that succeeds clears the state.
    t.get("/api/v1/grids", &w.admin).await.expect(200);
    t.post("/api/v1/grids", &w.admin, json!({"org_id": w.b[0].branch, "code": "OPS1", "name": "运维测试网格"}))
        .await
        .expect(201);
    let health = t.send(Method::GET, "/healthz", &[], vec![]).await;
    assert_eq!((health.code(), health.body.as_str()), (200, "ok"));
}
