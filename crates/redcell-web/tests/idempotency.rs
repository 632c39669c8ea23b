//! `Idempotency-Key` on API writes, on SQLite and PostgreSQL: a retry with
//! the same key gets the first answer and writes nothing; the same key for a
//! different request is refused; a failed write frees its key; keys are each
//! account's own.

use axum::http::Method;
use redcell_testkit::app::*;
use serde_json::{Value, json};

stories!(a_retry_with_the_same_key_gets_the_first_answer);

async fn post(t: &TestApp, token: &str, key: &str, body: &Value) -> Resp {
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json"), ("idempotency-key", key)];
    t.send(Method::POST, "/api/v1/units", &headers, serde_json::to_vec(body).unwrap()).await
}

async fn units(t: &TestApp) -> i64 {
    t.db.int("SELECT COUNT(*) FROM units", redcell_store::Args::new()).await.unwrap()
}

async fn a_retry_with_the_same_key_gets_the_first_answer(t: &TestApp) {
    let w = world(t).await;
    let grid = w.b[0].grid;
    let shop = |name: &str| json!({"grid_id": grid, "kind": "shop", "name": name});
    let before = units(t).await;

    let first = post(t, &w.admin, "k-2026-12-06-001", &shop("幂等便利店")).await;
    first.expect(201);
    assert_eq!(units(t).await, before + 1);
    // The client never saw that answer and sends the same request again.
    let again = post(t, &w.admin, "k-2026-12-06-001", &shop("幂等便利店")).await;
    again.expect(201);
    assert_eq!(again.body, first.body, "the first answer, again");
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(units(t).await, before + 1, "no second shop");

    // The same key for something else is a client bug: refused, nothing written.
    let other = post(t, &w.admin, "k-2026-12-06-001", &shop("另一家店")).await;
    assert_eq!(other.error(422)["code"], "idempotency_mismatch");
    assert_eq!(units(t).await, before + 1);

    // A write that failed keeps nothing: the corrected request may use the key.
    let bad = post(t, &w.admin, "k-2026-12-06-002", &json!({"grid_id": grid, "kind": "casino", "name": "x"})).await;
    bad.expect(422);
    post(t, &w.admin, "k-2026-12-06-002", &shop("改正后的店")).await.expect(201);
    assert_eq!(units(t).await, before + 2);

    // Keys are each account's own: the secretary's same key is a new write.
    post(t, &w.sec1, "k-2026-12-06-001", &shop("书记登记的店")).await.expect(201);
    assert_eq!(units(t).await, before + 3);

    // A key that is not plain text of a sensible length is refused.
    let long = "k".repeat(201);
    assert_eq!(post(t, &w.admin, &long, &shop("长键")).await.error(400)["code"], "bad_request");
    // Without a key, writes behave as always.
    let plain = t.post("/api/v1/units", &w.admin, shop("普通的店")).await;
    plain.expect(201);
    assert!(plain.header("idempotent-replayed").is_none());
}
