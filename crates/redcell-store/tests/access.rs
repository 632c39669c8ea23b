//! Access control and privacy in the store, each story on SQLite and (when
//! `REDCELL_TEST_PG` is set) on PostgreSQL: `cargo test -p redcell-store --test access`.
//! The role × capability table over the registry, revealing personal data, the
//! append-only audit trail, account management, login limits and sessions, files.

use chrono::{DateTime, Duration, Utc};
use redcell_domain::ident::mask_id;
use redcell_domain::phone::mask_phone;
use redcell_domain::{Capability, Role};
use redcell_store::accounts::{self, NewAccount};
use redcell_store::audit::{self, AuditFilter};
use redcell_store::auth::{self, Client};
use redcell_store::files::{self, Owner};
use redcell_store::registry::Page;
use redcell_store::registry::residents::{self, ResidentFilter};
use redcell_store::{Args, Backend, Db, Principal, StoreError, args};
use redcell_testkit::store::*;
use serde_json::Value;

stories!(
    session_use_is_written_once_a_minute,
    role_capabilities,
    reveal_needs_the_capability,
    audit_rows_snapshot_changes,
    audit_is_append_only,
    account_management_rules,
    login_rate_limit_and_sessions,
    files_are_sniffed_and_scoped,
);

const ALL: Page = Page { page: Some(1), per_page: Some(200) };

/// Add an account with one grant and sign it in.
async fn user(db: &Db, username: &str, role: Role, org_code: &str) -> (Principal, String) {
    auth::add_user(db, username, username, PASSWORD, role, org_code)
        .await
        .unwrap_or_else(|e| panic!("add {username}: {e:?}"));
    sign_in(db, username).await
}

async fn int(db: &Db, sql: &str, a: Args) -> i64 {
    db.int(sql, a).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

async fn audit_count(db: &Db, action: &str) -> i64 {
    int(db, "SELECT COUNT(*) FROM audit_log WHERE action = $1", args![action]).await
}

/// The raw input that created `t.residents[i]`, to change it.
fn raw_of(t: &Tenant, i: usize) -> redcell_domain::input::RawResident {
    let r = &t.residents[i];
    redcell_domain::input::RawResident {
        household_id: r.household_id.map(|h| h.to_string()),
        org_id: r.household_id.is_none().then(|| r.org_id.to_string()),
        name: s(&r.name),
        gender: None,
        birth_date: s(r.birth_date.format("%Y-%m-%d")),
        id_number: s(&t.id_numbers[i]),
        phone: s(&t.phones[i]),
        note: None,
    }
}

#[track_caller]
fn assert_denied_on<T: std::fmt::Debug>(r: Result<T, StoreError>, field: &str) {
    match r {
        Err(StoreError::Denied(f)) => assert_eq!(f.field, field),
        other => panic!("expected a refusal naming `{field}`, got {other:?}"),
    }
}

// ---------------------------------------------------------------- roles

/// Every role granted on B1: its scopes and what the registry services allow
/// follow `Role::can` exactly.
async fn role_capabilities(db: Db) {
    use Capability::*;
    let t = tenant(&db).await;
    let b1_residents = 3;
    for (n, role) in Role::ALL.iter().copied().enumerate() {
        let (p, _) = user(&db, &format!("role_{}", role.code()), role, "B1").await;
        for cap in Capability::ALL {
            assert_eq!(p.scope(*cap).is_empty(), !role.can(*cap), "{role:?} {cap:?}");
            if role.can(*cap) {
                assert_eq!(p.scope(*cap).paths, vec![t.b1.org_path()], "{role:?} {cap:?}");
            }
        }
        let listed = residents::list(&db, &p, &ResidentFilter::default(), ALL).await.expect("list");
        assert_eq!(listed.total, if role.can(ReadRegistry) { b1_residents } else { 0 }, "{role:?}");
        assert_eq!(residents::get(&db, &p, t.residents[0].id).await.is_ok(), role.can(ReadRegistry), "{role:?}");

        let before = counts(&db).await;
        let raw =
            raw_resident(Some(t.households[0].id), None, "新居民", date(1979, 9, 9), 700 + n as u32, "13700000001");
        let created = residents::create(&db, &p, raw.validate(today()).expect("valid")).await;
        let updated =
            residents::update(&db, &p, t.residents[2].id, raw_of(&t, 2).validate(today()).expect("valid")).await;
        if role.can(EditRegistry) {
            let id = created.expect("create").id;
            updated.expect("update");
            residents::delete(&db, &p, id).await.expect("delete");
        } else {
            // Without the right to edit anywhere: refused before any row is looked at.
            assert!(matches!(created, Err(StoreError::Forbidden)), "{role:?} create: {created:?}");
            assert!(matches!(updated, Err(StoreError::Forbidden)), "{role:?} update: {updated:?}");
            let deleted = residents::delete(&db, &p, t.residents[2].id).await;
            assert!(matches!(deleted, Err(StoreError::Forbidden | StoreError::NotFound)), "{role:?}: {deleted:?}");
            assert_eq!(counts(&db).await, before, "{role:?}: a refused write wrote");
        }
        let revealed = residents::reveal(&db, &p, t.residents[0].id, "").await;
        assert_eq!(revealed.is_ok(), role.can(RevealPersonal), "{role:?}: {revealed:?}");
        // The trail needs ReadAudit over the whole tenant: no role on B1 reads it.
        let searched = audit::search(&db, &p, &AuditFilter::default(), ALL).await;
        assert!(matches!(searched, Err(StoreError::Forbidden)), "{role:?}: {searched:?}");
        assert!(!audit::may_search(&p));
        assert_eq!(auth::require(&p, ManageUsers).is_ok(), role.can(ManageUsers), "{role:?}");
        let managed = accounts::list(&db, &p, None, ALL).await.expect("accounts");
        assert_eq!(managed.total > 0, role.can(ManageUsers), "{role:?} sees accounts");
    }
    // On the root, the auditor reads the whole trail; the admin never does.
    for role in Role::ALL.iter().copied() {
        let (p, _) = user(&db, &format!("root_{}", role.code()), role, "ST").await;
        let searched = audit::search(&db, &p, &AuditFilter::default(), ALL).await;
        assert_eq!(searched.is_ok(), role.can(ReadAudit), "{role:?} on the root");
        assert_eq!(audit::may_search(&p), role.can(ReadAudit));
        if let Ok(found) = searched {
            assert!(found.total > 0 && found.items.iter().all(|e| !e.action.is_empty()));
        }
    }
}

// ---------------------------------------------------------------- reveal

async fn reveal_needs_the_capability(db: Db) {
    let t = tenant(&db).await;
    let r0 = t.residents[0].id;

    let r = residents::reveal(&db, &t.sec, r0, "入户走访").await.expect("reveal");
    assert_eq!((r.id, r.id_number.as_str()), (r0, t.id_numbers[0].as_str()));
    assert_eq!(r.phone.as_deref(), Some(t.phones[0].as_str()));
    let row: (Option<i64>, String, Option<i64>, Option<String>) = db
        .one(
            "SELECT user_id, entity, entity_id, detail FROM audit_log WHERE action = 'reveal' ORDER BY id DESC LIMIT 1",
            Args::new(),
        )
        .await
        .expect("reveal row");
    assert_eq!(row, (Some(t.sec.user_id), "resident".into(), Some(r0.get()), Some("入户走访".into())));

    // Outside the secretary's branch: not found, nothing revealed; the probe is logged as denied.
    let n = audit_count(&db, "reveal").await;
    assert!(matches!(residents::reveal(&db, &t.sec, t.residents[3].id, "").await, Err(StoreError::NotFound)));
    assert_eq!(audit_count(&db, "reveal").await, n);
    assert_eq!(audit_count(&db, "reveal_denied").await, 1);

    // A reader without the capability: forbidden, logged as denied.
    let (auditor, _) = user(&db, "auditor1", Role::Auditor, "ST").await;
    assert!(matches!(residents::reveal(&db, &auditor, r0, "抽查").await, Err(StoreError::Forbidden)));
    assert_eq!(audit_count(&db, "reveal_denied").await, 2);
    assert_eq!(audit_count(&db, "reveal").await, n);

    // Cadres and grid workers may; members may not even read.
    let (cadre, _) = user(&db, "cadre1", Role::Cadre, "B1").await;
    assert!(residents::reveal(&db, &cadre, r0, "").await.is_ok());
    let (gw, _) = user(&db, "gw_c1", Role::GridWorker, "C1").await;
    assert_eq!(residents::reveal(&db, &gw, t.residents[3].id, "").await.expect("in C1").id_number, t.id_numbers[3]);
    let (member, _) = user(&db, "member1", Role::Member, "B1").await;
    assert!(matches!(residents::reveal(&db, &member, r0, "").await, Err(StoreError::Forbidden)));
    // Lists stay masked for everyone, revealers included.
    let listed = residents::list(&db, &t.sec, &ResidentFilter::default(), ALL).await.expect("list");
    let json = serde_json::to_string(&listed.map(|x| x.view)).expect("json");
    assert!(json.contains(&mask_id(&t.id_numbers[0])));
    assert!(!json.contains(&t.id_numbers[0]) && !json.contains(&t.phones[0]), "{json}");
}

// ---------------------------------------------------------------- audit

async fn audit_rows_snapshot_changes(db: Db) {
    let t = tenant(&db).await;
    let id = t.residents[2].id;

    let mut raw = raw_of(&t, 2);
    raw.name = s("王一改");
    raw.note = s("搬来三年");
    residents::update(&db, &t.sec, id, raw.validate(today()).expect("valid")).await.expect("update");
    let (user_id, before, after): (Option<i64>, Option<String>, Option<String>) = db
        .one(
            "SELECT user_id, before_json, after_json FROM audit_log \
             WHERE action = 'update' AND entity = 'resident' AND entity_id = $1 ORDER BY id DESC LIMIT 1",
            args![id],
        )
        .await
        .expect("update row");
    assert_eq!(user_id, Some(t.sec.user_id));
    let before: Value = serde_json::from_str(&before.expect("before")).expect("before is JSON");
    let after: Value = serde_json::from_str(&after.expect("after")).expect("after is JSON");
    assert_eq!((before["name"].as_str(), after["name"].as_str()), (Some("王一"), Some("王一改")));
    assert!(before["note"].is_null());
    assert_eq!(after["note"], "搬来三年");
    for snap in [&before, &after] {
        assert_eq!(snap["id"], id.get());
        assert_eq!(snap["id_number"].as_str(), Some(mask_id(&t.id_numbers[2]).as_str()), "{snap}");
        assert_eq!(snap["phone"].as_str(), Some(mask_phone(&t.phones[2]).as_str()), "{snap}");
    }

    // A refused change writes no audit row: the row lives in the change's transaction.
    let updates = audit_count(&db, "update").await;
    let mut dup = raw_of(&t, 2);
    dup.id_number = s(&t.id_numbers[0]);
    dup.birth_date = None;
    assert_invalid(residents::update(&db, &t.sec, id, dup.validate(today()).expect("valid")).await, "id_number");
    assert_eq!(audit_count(&db, "update").await, updates);

    // Create has an after-image, delete a before-image.
    let raw = raw_resident(Some(t.households[0].id), None, "临时", date(2001, 1, 1), 801, "13700000009");
    let new_id = residents::create(&db, &t.sec, raw.validate(today()).expect("valid")).await.expect("create").id;
    residents::delete(&db, &t.sec, new_id).await.expect("delete");
    let rows: Vec<(String, Option<String>, Option<String>)> = db
        .all(
            "SELECT action, before_json, after_json FROM audit_log WHERE entity = 'resident' AND entity_id = $1 ORDER BY id",
            args![new_id],
        )
        .await
        .expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[0].1.is_none(), rows[0].2.is_some()), ("create", true, true));
    assert_eq!((rows[1].0.as_str(), rows[1].1.is_some(), rows[1].2.is_none()), ("delete", true, true));
    assert!(rows[1].1.as_deref().is_some_and(|b| b.contains("临时") && b.contains(&mask_phone("13700000009"))));

    // No clear ID number or phone anywhere in the trail.
    let all: Vec<(Option<String>, Option<String>, Option<String>)> =
        db.all("SELECT detail, before_json, after_json FROM audit_log", Args::new()).await.expect("all");
    let mut clear: Vec<String> = t.id_numbers.iter().chain(&t.phones).cloned().collect();
    clear.push("13700000009".into());
    for (d, b, a) in &all {
        for text in [d, b, a].into_iter().flatten() {
            for c in &clear {
                assert!(!text.contains(c.as_str()), "the audit trail holds {c}: {text}");
            }
        }
    }
}

async fn audit_is_append_only(db: Db) {
    let t = tenant(&db).await;
    let n = int(&db, "SELECT COUNT(*) FROM audit_log", Args::new()).await;
    assert!(n > 10, "the fixture wrote audit rows: {n}");
    let details: Vec<(i64, Option<String>)> =
        db.all("SELECT id, detail FROM audit_log ORDER BY id", Args::new()).await.expect("rows");

    // The database itself refuses changes and removal of young rows.
    let mut refused = vec![
        "UPDATE audit_log SET detail = 'tampered'",
        "UPDATE audit_log SET user_id = NULL WHERE id = (SELECT MAX(id) FROM audit_log)",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = (SELECT MIN(id) FROM audit_log)",
    ];
    if db.backend() == Backend::Postgres {
        refused.push("TRUNCATE audit_log");
    }
    for sql in refused {
        match db.exec(sql, Args::new()).await {
            Err(StoreError::Db(e)) => assert!(e.to_string().contains("audit_log"), "{sql}: {e}"),
            other => panic!("{sql} was not refused: {other:?}"),
        }
    }
    // Also inside a transaction that does other work: the whole transaction fails.
    let mut tx = db.begin().await.expect("begin");
    tx.exec("UPDATE users SET display_name = 'x' WHERE id = $1", args![t.sec.user_id]).await.expect("update user");
    assert!(tx.exec("DELETE FROM audit_log WHERE action = 'login'", Args::new()).await.is_err());
    drop(tx);
    assert_eq!(
        db.all::<(i64, Option<String>)>("SELECT id, detail FROM audit_log ORDER BY id", Args::new())
            .await
            .expect("rows"),
        details
    );

    // Old rows may be purged, never younger than the retention period.
    let old = |days: i64| {
        db.exec(
            "INSERT INTO audit_log (tenant_id, at, user_id, action, entity, entity_id, detail) VALUES ($1, $2, NULL, 'login', 'user', NULL, $3)",
            args![t.root.id, Utc::now() - Duration::days(days), format!("{days} days old")],
        )
    };
    old(400).await.expect("insert an old row");
    old(190).await.expect("insert an old row");
    assert!(db.exec("UPDATE audit_log SET detail = 'x' WHERE detail = '400 days old'", Args::new()).await.is_err());
    for days in [0, 30, audit::RETENTION_DAYS - 1] {
        assert_invalid(audit::purge(&db, days).await, "days");
    }
    assert_eq!(int(&db, "SELECT COUNT(*) FROM audit_log", Args::new()).await, n + 2);
    assert_eq!(audit::purge(&db, 200).await.expect("purge 200"), 1);
    assert_eq!(int(&db, "SELECT COUNT(*) FROM audit_log WHERE detail = '190 days old'", Args::new()).await, 1);
    assert_eq!(audit::purge(&db, audit::RETENTION_DAYS).await.expect("purge at the limit"), 1);
    assert_eq!(int(&db, "SELECT COUNT(*) FROM audit_log", Args::new()).await, n, "young rows were purged");
    assert!(db.exec("DELETE FROM audit_log", Args::new()).await.is_err());
}

// ---------------------------------------------------------------- accounts

fn new_account(username: &str, role: &str, org_id: i64) -> NewAccount {
    NewAccount {
        username: username.into(),
        display_name: String::new(),
        password: "made-pass-2026".into(),
        role: role.into(),
        org_id,
    }
}

async fn account_management_rules(db: Db) {
    let t = tenant(&db).await;
    let (oa, _) = user(&db, "oa_c1", Role::OrgAdmin, "C1").await;
    let (far, _) = user(&db, "sec_b3", Role::Secretary, "B3").await;

    // An org admin creates accounts inside their community, below their own power.
    let made = accounts::create(&db, &oa, &new_account("new_sec", "secretary", t.b1.id.get())).await.expect("create");
    let d = accounts::get(&db, &oa, made).await.expect("get");
    assert!(d.account.must_change_password && d.manageable);
    assert_eq!((d.grants[0].org_id, d.grants[0].role.0), (t.b1.id.get(), Role::Secretary));
    let users = int(&db, "SELECT COUNT(*) FROM users", Args::new()).await;
    assert_denied_on(accounts::create(&db, &oa, &new_account("new_admin", "admin", t.b1.id.get())).await, "role");
    assert_denied_on(accounts::create(&db, &oa, &new_account("new_aud", "auditor", t.c1.id.get())).await, "role");
    assert_invalid(accounts::create(&db, &oa, &new_account("new_far", "secretary", t.b3.id.get())).await, "org_id");
    assert_invalid(accounts::create(&db, &oa, &new_account("a b", "secretary", t.b1.id.get())).await, "username");
    assert_invalid(accounts::create(&db, &oa, &new_account("new_sec", "secretary", t.b1.id.get())).await, "username");
    let mut weak = new_account("weak_one", "secretary", t.b1.id.get());
    weak.password = "short".into();
    assert_invalid(accounts::create(&db, &oa, &weak).await, "password");
    assert_invalid(accounts::create(&db, &oa, &new_account("bad_role", "king", t.b1.id.get())).await, "role");
    assert_eq!(int(&db, "SELECT COUNT(*) FROM users", Args::new()).await, users);
    // The secretary manages no one.
    assert_denied_on(accounts::create(&db, &t.sec, &new_account("by_sec", "member", t.b1.id.get())).await, "role");

    // Outside the subtree: invisible, untouchable.
    let names: Vec<String> =
        accounts::list(&db, &oa, None, ALL).await.expect("list").items.into_iter().map(|a| a.username).collect();
    assert!(names.contains(&"sec_b1".into()) && names.contains(&"new_sec".into()), "{names:?}");
    assert!(!names.contains(&"admin".into()) && !names.contains(&"sec_b3".into()), "{names:?}");
    for id in [t.admin.user_id, far.user_id] {
        assert!(matches!(accounts::get(&db, &oa, id).await, Err(StoreError::NotFound)));
        assert!(matches!(accounts::set_disabled(&db, &oa, id, true).await, Err(StoreError::NotFound)));
        assert!(matches!(accounts::reset_password(&db, &oa, id, "taken-over-2026").await, Err(StoreError::NotFound)));
        assert!(matches!(accounts::unlock(&db, &oa, id).await, Err(StoreError::NotFound)));
    }
    assert_denied_on(accounts::add_grant(&db, &oa, t.sec.user_id, t.b1.id.get(), Role::Admin).await, "role");
    assert_invalid(accounts::add_grant(&db, &oa, t.sec.user_id, t.b3.id.get(), Role::Member).await, "org_id");
    // An account that also holds a role outside the subtree is seen but not managed.
    accounts::add_grant(&db, &t.admin, made, t.b3.id.get(), Role::Member).await.expect("admin grants outside");
    assert!(!accounts::get(&db, &oa, made).await.expect("visible").manageable);
    assert!(matches!(accounts::set_disabled(&db, &oa, made, true).await, Err(StoreError::Forbidden)));
    accounts::remove_grant(&db, &t.admin, made, t.b3.id.get(), Role::Member).await.expect("remove");
    assert!(accounts::get(&db, &oa, made).await.expect("visible").manageable);
    assert_invalid(accounts::remove_grant(&db, &oa, made, t.b1.id.get(), Role::Secretary).await, "role");
    assert!(matches!(
        accounts::remove_grant(&db, &oa, made, t.b1.id.get(), Role::Cadre).await,
        Err(StoreError::NotFound)
    ));

    // Nobody acts on themselves.
    for p in [&oa, &t.admin] {
        assert!(matches!(accounts::set_disabled(&db, p, p.user_id, true).await, Err(StoreError::Forbidden)));
        assert!(matches!(
            accounts::reset_password(&db, p, p.user_id, "new-pass-2026x").await,
            Err(StoreError::Forbidden)
        ));
    }

    // Disabling ends the sessions; enabling lets the user in again.
    let (_, tok) = sign_in(&db, "sec_b1").await;
    accounts::set_disabled(&db, &oa, t.sec.user_id, true).await.expect("disable");
    for token in [&t.sec_token, &tok] {
        assert!(matches!(auth::principal(&db, token).await, Err(StoreError::Unauthorized)));
    }
    assert!(matches!(auth::login(&db, "sec_b1", PASSWORD).await, Err(StoreError::Unauthorized)));
    accounts::set_disabled(&db, &oa, t.sec.user_id, false).await.expect("enable");
    let (_, tok) = sign_in(&db, "sec_b1").await;

    // A reset ends the sessions and forces a change.
    accounts::reset_password(&db, &oa, t.sec.user_id, "Reset-pass-2026").await.expect("reset");
    assert!(matches!(auth::principal(&db, &tok).await, Err(StoreError::Unauthorized)));
    let s = auth::login(&db, "sec_b1", "Reset-pass-2026").await.expect("login");
    assert!(s.must_change_password);
    let sess = auth::session(&db, &s.token).await.expect("session");
    assert!(sess.must_change_password);
    let p = sess.principal;
    assert_invalid(accounts::change_own_password(&db, &p, "wrong-old-1", "Fresh-pass-2026").await, "old_password");
    assert_invalid(accounts::change_own_password(&db, &p, "Reset-pass-2026", "short").await, "new_password");
    assert_invalid(accounts::change_own_password(&db, &p, "Reset-pass-2026", "Reset-pass-2026").await, "new_password");
    accounts::change_own_password(&db, &p, "Reset-pass-2026", "Fresh-pass-2026").await.expect("change");
    assert!(!auth::session(&db, &s.token).await.expect("still signed in").must_change_password);

    // Unlock clears a lockout.
    for _ in 0..auth::MAX_FAILED_LOGINS {
        let _ = auth::login(&db, "sec_b1", "wrong-pass-2026").await;
    }
    assert!(matches!(auth::login(&db, "sec_b1", "Fresh-pass-2026").await, Err(StoreError::Locked(_))));
    accounts::unlock(&db, &oa, t.sec.user_id).await.expect("unlock");
    let s2 = auth::login(&db, "sec_b1", "Fresh-pass-2026").await.expect("unlocked");

    // Own sessions: listed, and each can be ended; someone else's cannot.
    let mine = accounts::get(&db, &p, p.user_id).await.expect("own account");
    assert_eq!(mine.sessions.len(), 2);
    assert!(!mine.manageable, "nobody manages their own account");
    let (_, other_hash) = {
        let h: (String,) = db
            .one(
                "SELECT token_hash FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1",
                args![p.user_id],
            )
            .await
            .expect("session");
        ((), h.0)
    };
    accounts::revoke_session(&db, &p, p.user_id, &other_hash[..16]).await.expect("revoke own");
    let alive = [auth::principal(&db, &s.token).await.is_ok(), auth::principal(&db, &s2.token).await.is_ok()];
    assert_eq!(alive.iter().filter(|x| **x).count(), 1, "exactly one session ended");
    assert!(matches!(accounts::revoke_session(&db, &p, p.user_id, &other_hash[..16]).await, Err(StoreError::NotFound)));
    assert!(matches!(accounts::revoke_session(&db, &p, p.user_id, "not-hex").await, Err(StoreError::NotFound)));
    let admin_hash: (String,) = db
        .one("SELECT token_hash FROM sessions WHERE user_id = $1 LIMIT 1", args![t.admin.user_id])
        .await
        .expect("admin");
    assert!(matches!(
        accounts::revoke_session(&db, &p, t.admin.user_id, &admin_hash.0[..16]).await,
        Err(StoreError::NotFound)
    ));
    assert!(auth::principal(&db, &t.admin_token).await.is_ok());
    for action in
        ["create", "grant", "disable", "enable", "reset_password", "change_password", "unlock", "revoke_session"]
    {
        assert!(audit_count(&db, action).await > 0, "{action} is audited");
    }
}

// ---------------------------------------------------------------- logins and sessions

async fn login_rate_limit_and_sessions(db: Db) {
    let t = tenant(&db).await;
    let client = |ip: &str| Client { ip: Some(ip.into()), user_agent: Some("test".into()) };

    // Twenty attempts a minute per address, whatever their outcome.
    for i in 0..auth::LOGIN_ATTEMPTS_PER_MINUTE {
        let r = if i == 0 {
            auth::login_from(&db, "sec_b1", PASSWORD, &client("198.51.100.1")).await.map(|_| ())
        } else {
            auth::login_from(&db, "nobody", PASSWORD, &client("198.51.100.1")).await.map(|_| ())
        };
        assert!((i == 0 && r.is_ok()) || matches!(r, Err(StoreError::Unauthorized)), "attempt {i}: {r:?}");
    }
    let r = auth::login_from(&db, "sec_b1", PASSWORD, &client("198.51.100.1")).await;
    assert!(matches!(r, Err(StoreError::RateLimited(60))), "{r:?}");
    assert!(auth::login_from(&db, "sec_b1", PASSWORD, &client("198.51.100.2")).await.is_ok());
    assert!(auth::login(&db, "sec_b1", PASSWORD).await.is_ok(), "no address, no limit");
    // The window slides: attempts older than a minute no longer count.
    db.exec("UPDATE login_attempts SET at = $1 WHERE ip = '198.51.100.1'", args![Utc::now() - Duration::minutes(2)])
        .await
        .expect("age attempts");
    let s = auth::login_from(&db, "sec_b1", PASSWORD, &client("198.51.100.1")).await.expect("after a minute");
    let row: (Option<String>, Option<String>) = db
        .one(
            "SELECT ip, user_agent FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1",
            args![t.sec.user_id],
        )
        .await
        .expect("session");
    assert_eq!(row, (Some("198.51.100.1".into()), Some("test".into())));

    // Expired and idle sessions are refused; a recent one is refreshed.
    let (_, expired) = user(&db, "exp_user", Role::Member, "B1").await;
    let (_, idle) = user(&db, "idle_user", Role::Member, "B1").await;
    let (recent_p, recent) = user(&db, "recent_user", Role::Member, "B1").await;
    let now = Utc::now();
    let set = |sql: &'static str, at: DateTime<Utc>, who: &str| db.exec(sql, args![at, who.to_string()]);
    set(
        "UPDATE sessions SET expires_at = $1 WHERE user_id = (SELECT id FROM users WHERE username = $2)",
        now - Duration::seconds(1),
        "exp_user",
    )
    .await
    .expect("expire");
    set(
        "UPDATE sessions SET last_seen = $1 WHERE user_id = (SELECT id FROM users WHERE username = $2)",
        now - Duration::minutes(auth::SESSION_IDLE_MINUTES + 60),
        "idle_user",
    )
    .await
    .expect("idle");
    set(
        "UPDATE sessions SET last_seen = $1 WHERE user_id = (SELECT id FROM users WHERE username = $2)",
        now - Duration::minutes(60),
        "recent_user",
    )
    .await
    .expect("recent");
    for token in [&expired, &idle] {
        assert!(matches!(auth::session(&db, token).await, Err(StoreError::Unauthorized)));
    }
    assert!(auth::session(&db, &recent).await.is_ok());
    let (seen,): (Option<DateTime<Utc>>,) =
        db.one("SELECT last_seen FROM sessions WHERE user_id = $1", args![recent_p.user_id]).await.expect("seen");
    assert!(seen.is_some_and(|x| x > now - Duration::minutes(1)), "{seen:?}");
    // Accounts list only live sessions; the purge removes the dead ones.
    let dead = int(
        &db,
        "SELECT COUNT(*) FROM sessions WHERE expires_at <= $1 OR last_seen < $2",
        args![Utc::now(), Utc::now() - Duration::minutes(auth::SESSION_IDLE_MINUTES)],
    )
    .await;
    assert_eq!(dead, 2);
    assert_eq!(auth::purge_expired_sessions(&db).await.expect("purge"), 2);
    assert!(auth::session(&db, &recent).await.is_ok());
    assert!(auth::session(&db, &s.token).await.is_ok());
    // A disabled account's sessions are refused even if a row is left.
    db.exec("UPDATE users SET disabled = TRUE WHERE id = $1", args![recent_p.user_id]).await.expect("disable");
    assert!(matches!(auth::session(&db, &recent).await, Err(StoreError::Unauthorized)));
}

// ---------------------------------------------------------------- files

async fn files_are_sniffed_and_scoped(db: Db) {
    let t = tenant(&db).await;
    let hh = t.households[0].id;
    let cases: [(&[u8], Option<&str>); 9] = [
        (PNG, Some("image/png")),
        (&[0xFF, 0xD8, 0xFF, 0xE0][..], Some("image/jpeg")),
        (b"GIF89a....", Some("image/gif")),
        (b"RIFF\0\0\0\0WEBPVP8 ", Some("image/webp")),
        (b"%PDF-1.7\n", Some("application/pdf")),
        (b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", None),
        (b"<html><script>alert(1)</script>", None),
        (b"MZ\x90\0", None),
        (b"just text", None),
    ];
    for (bytes, ty) in cases {
        assert_eq!(files::sniff(bytes), ty, "{bytes:?}");
    }

    // Refused uploads store nothing.
    let n = || int(&db, "SELECT COUNT(*) FROM files", Args::new());
    assert_invalid(files::upload(&db, &t.sec, Owner::Household(hh), "a.png", b"plain text named .png").await, "file");
    assert_invalid(files::upload(&db, &t.sec, Owner::Household(hh), "a.png", b"").await, "file");
    let mut big = PNG.to_vec();
    big.resize(files::MAX_BYTES + 1, 0);
    assert_invalid(files::upload(&db, &t.sec, Owner::Household(hh), "big.png", &big).await, "file");
    assert!(matches!(
        files::upload(&db, &t.sec, Owner::Household(t.households[3].id), "x.png", PNG).await,
        Err(StoreError::NotFound)
    ));
    let (auditor, _) = user(&db, "auditor1", Role::Auditor, "ST").await;
    assert!(matches!(
        files::upload(&db, &auditor, Owner::Household(hh), "x.png", PNG).await,
        Err(StoreError::Forbidden)
    ));
    assert_eq!(n().await, 0);

    // Accepted: the name loses any path and control characters.
    let mut at_limit = PNG.to_vec();
    at_limit.resize(files::MAX_BYTES, 0);
    let id =
        files::upload(&db, &t.sec, Owner::Household(hh), "../../etc/\u{7}门牌.png", &at_limit).await.expect("upload");
    let rid = files::upload(&db, &t.sec, Owner::Resident(t.residents[0].id), "C:\\scans\\证件.pdf", b"%PDF-1.4\n")
        .await
        .expect("upload to a resident");
    let listed = files::list(&db, &t.sec, Owner::Household(hh)).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].name.as_str(), listed[0].content_type.as_str()), (id, "门牌.png", "image/png"));
    assert_eq!(listed[0].size, files::MAX_BYTES as i64);
    assert_eq!(files::list(&db, &t.sec, Owner::Resident(t.residents[0].id)).await.expect("list")[0].name, "证件.pdf");

    // Downloads: within read scope only, each audited.
    let (info, data) = files::download(&db, &t.sec, id).await.expect("download");
    assert_eq!((info.content_type.as_str(), data.len()), ("image/png", files::MAX_BYTES));
    assert!(files::download(&db, &auditor, rid).await.is_ok());
    let (far, _) = user(&db, "sec_b3", Role::Secretary, "B3").await;
    let (member, _) = user(&db, "member_b1", Role::Member, "B1").await;
    for p in [&far, &member] {
        assert!(matches!(files::download(&db, p, id).await, Err(StoreError::NotFound)));
        assert!(matches!(files::list(&db, p, Owner::Household(hh)).await, Err(StoreError::NotFound)));
    }
    let rows: Vec<(Option<i64>, Option<i64>)> = db
        .all("SELECT user_id, entity_id FROM audit_log WHERE action = 'download' ORDER BY id", Args::new())
        .await
        .expect("rows");
    assert_eq!(rows, vec![(Some(t.sec.user_id), Some(id)), (Some(auditor.user_id), Some(rid))]);
    assert_eq!(audit_count(&db, "upload").await, 2);
}

/// Using a session marks it at most once a minute: a request within the
/// minute writes nothing (on SQLite even an UPDATE matching no row takes the
/// write lock, so it is not issued at all).
async fn session_use_is_written_once_a_minute(db: Db) {
    let t = tenant(&db).await;
    let _ = t;
    let s = auth::login(&db, "sec_b1", PASSWORD).await.unwrap();
    let seen = |db: Db| async move {
        let (l,): (Option<DateTime<Utc>>,) =
            db.one("SELECT last_seen FROM sessions ORDER BY created_at DESC LIMIT 1", Args::new()).await.unwrap();
        l.expect("marked at login")
    };
    let first = seen(db.clone()).await;
    auth::session(&db, &s.token).await.unwrap();
    assert_eq!(seen(db.clone()).await, first, "used within the minute: not written");
    let earlier = Utc::now() - Duration::minutes(2);
    db.exec("UPDATE sessions SET last_seen = $1", args![earlier]).await.unwrap();
    auth::session(&db, &s.token).await.unwrap();
    assert!(seen(db.clone()).await > earlier + Duration::minutes(1), "used after a minute: marked again");
}
