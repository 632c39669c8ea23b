//! Reminders before a deadline: an in-app inbox filled by a job that any
//! number of server processes may run (one notice per user, rule, subject and
//! period, whichever process inserts it first), and an outbound webhook that
//! is off until a tenant configures a URL. Nothing pretends a message was
//! sent: without a channel the notice says so; with one, the outcome of the
//! POST is recorded.

use super::{DutyLine, World};
use crate::args;
use crate::coverage::OrgRef;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::Principal;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use redcell_domain::duties::Status;
use redcell_domain::{FieldError, i18n};
use serde::Serialize;
use std::time::Duration as StdDuration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notice {
    pub id: i64,
    pub rule_code: String,
    pub subject_key: String,
    pub period_start: NaiveDate,
    pub due: NaiveDate,
    pub message: String,
    pub channel_status: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A user's inbox, newest first.
pub async fn inbox(db: &Db, p: &Principal, limit: i64) -> Result<Vec<Notice>, StoreError> {
    db.all(
        "SELECT id, rule_code, subject_key, period_start, due, message, channel_status, created_at, read_at \
         FROM duty_notices WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
        args![p.tenant_id, p.user_id, limit],
    )
    .await
}

/// The tenant's webhook URL, if configured.
pub async fn webhook(db: &Db, tenant: i64) -> Result<Option<String>, StoreError> {
    let r: Option<(Option<String>,)> =
        db.opt("SELECT webhook_url FROM duty_settings WHERE tenant_id = $1", args![tenant]).await?;
    Ok(r.and_then(|(u,)| u).filter(|u| !u.trim().is_empty()))
}

/// Set or clear (empty) the tenant's webhook URL; only `http://` URLs are
/// accepted by the built-in sender.
pub async fn set_webhook(db: &Db, p: &Principal, url: Option<&str>) -> Result<(), StoreError> {
    let root = redcell_domain::OrgPath::root(p.tenant_id);
    if !p.scope(crate::scope::Capability::EditRegistry).contains(&root) {
        return Err(StoreError::Forbidden);
    }
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = url {
        check_url(u)?;
    }
    let mut tx = db.begin().await?;
    tx.exec(
        "INSERT INTO duty_settings (tenant_id, webhook_url, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET webhook_url = excluded.webhook_url, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
        args![p.tenant_id, url.map(str::to_string), p.user_id, Utc::now()],
    )
    .await?;
    let detail =
        if url.is_some() { "通知渠道（webhook）已设置" } else { "通知渠道（webhook）已关闭" };
    crate::audit::record(&mut tx, p.tenant_id, Some(p.user_id), "update", "duty_settings", None, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// A webhook URL the built-in sender can use: `http://host[:port][/path]`.
pub fn check_url(u: &str) -> Result<(), FieldError> {
    let bad = || FieldError::new("webhook_url", "invalid", i18n::DUTY_WEBHOOK_HTTP_ONLY);
    let rest = u.strip_prefix("http://").ok_or_else(bad)?;
    let hostport = rest.split('/').next().unwrap_or("");
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hostport, None),
    };
    let host_ok =
        !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if !host_ok || !port_ok || u.len() > 500 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    Ok(())
}

/// One attempt of the outbound channel.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub notice_id: Option<i64>,
    pub url: String,
    pub ok: bool,
    /// Delivered, or the class of failure (never the remote answer).
    pub detail: String,
    pub is_test: bool,
    pub created_at: DateTime<Utc>,
}

async fn log_delivery(
    db: &Db,
    tenant: i64,
    notice: Option<i64>,
    url: &str,
    outcome: &Result<(), Failure>,
    is_test: bool,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    let (ok, detail) = (outcome.is_ok(), outcome_text(outcome));
    db.int(
        "INSERT INTO duty_deliveries (tenant_id, notice_id, url, ok, detail, is_test, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![tenant, notice, url, ok, detail, is_test, by, Utc::now()],
    )
    .await
}

fn settings_allowed(p: &Principal) -> Result<(), StoreError> {
    let root = redcell_domain::OrgPath::root(p.tenant_id);
    if p.scope(crate::scope::Capability::EditRegistry).contains(&root) { Ok(()) } else { Err(StoreError::Forbidden) }
}

/// The channel's recent attempts, newest first (for whoever may configure it).
pub async fn deliveries(db: &Db, p: &Principal, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    settings_allowed(p)?;
    db.all(
        "SELECT id, notice_id, url, ok, detail, is_test, created_at FROM duty_deliveries \
         WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        args![p.tenant_id, limit],
    )
    .await
}

/// Send a test message through the configured channel and log the outcome.
/// Without a channel nothing is sent and the answer says so.
pub async fn send_test(db: &Db, p: &Principal, today: NaiveDate) -> Result<Delivery, StoreError> {
    settings_allowed(p)?;
    let Some(url) = webhook(db, p.tenant_id).await? else {
        return Err(FieldError::new("webhook_url", "off", i18n::DUTY_WEBHOOK_OFF).into());
    };
    let body = serde_json::json!({
        "tenant_id": p.tenant_id, "test": true, "message": i18n::DUTY_CHANNEL_TEST_MESSAGE, "date": today,
    })
    .to_string();
    let outcome = post_json(&url, &body, private_allowed()).await;
    let id = log_delivery(db, p.tenant_id, None, &url, &outcome, true, Some(p.user_id)).await?;
    let detail = match &outcome {
        Ok(()) => i18n::DUTY_CHANNEL_TEST_SENT.to_string(),
        Err(f) => format!("{}{}", i18n::DUTY_CHANNEL_TEST_FAILED, f.label()),
    };
    crate::audit::access(db, p.tenant_id, crate::audit::Actor::of(p), "webhook_test", "duty_settings", None, &detail)
        .await?;
    let rows = deliveries(db, p, 50).await?;
    rows.into_iter().find(|d| d.id == id).ok_or(StoreError::NotFound)
}

/// Why a delivery failed, as a class only: what the remote host answered is
/// never shown back (the channel test must not become a probe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Refused,
    NonSuccess,
    /// The host resolves to a loopback, link-local or unspecified address.
    Blocked,
}

impl Failure {
    pub fn label(self) -> &'static str {
        match self {
            Failure::Timeout => i18n::DUTY_CHANNEL_TIMEOUT,
            Failure::Refused => i18n::DUTY_CHANNEL_REFUSED,
            Failure::NonSuccess => i18n::DUTY_CHANNEL_NON_2XX,
            Failure::Blocked => i18n::DUTY_CHANNEL_BLOCKED,
        }
    }
}

static ALLOW_PRIVATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Let webhooks reach loopback and link-local addresses in this process (for
/// tests with a local receiver; operators set `REDCELL_WEBHOOK_ALLOW_PRIVATE=1`).
pub fn allow_private_webhooks() {
    ALLOW_PRIVATE.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn private_allowed() -> bool {
    ALLOW_PRIVATE.load(std::sync::atomic::Ordering::Relaxed)
        || std::env::var("REDCELL_WEBHOOK_ALLOW_PRIVATE").is_ok_and(|v| v.trim() == "1")
}

/// Loopback, link-local (169.254/16, fe80::/10) and unspecified addresses.
pub fn blocked_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v) => v.is_loopback() || v.is_link_local() || v.is_unspecified(),
        std::net::IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
            None => v.is_loopback() || v.is_unspecified() || (v.segments()[0] & 0xffc0) == 0xfe80,
        },
    }
}

/// POST a JSON body to an `http://host[:port]/path` URL; `Ok(())` for a 2xx
/// answer. The host is resolved once and the checked address is the one
/// connected to; loopback/link-local/unspecified addresses are refused unless
/// `allow_private`.
pub async fn post_json(url: &str, body: &str, allow_private: bool) -> Result<(), Failure> {
    let rest = url.strip_prefix("http://").ok_or(Failure::Refused)?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:80") };
    let work = async {
        let addrs: Vec<std::net::SocketAddr> =
            tokio::net::lookup_host(&addr).await.map_err(|_| Failure::Refused)?.collect();
        if addrs.is_empty() {
            return Err(Failure::Refused);
        }
        if !allow_private && addrs.iter().any(|a| blocked_ip(a.ip())) {
            return Err(Failure::Blocked);
        }
        let mut s = tokio::net::TcpStream::connect(&addrs[..]).await.map_err(|_| Failure::Refused)?;
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.map_err(|_| Failure::Refused)?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|_| Failure::Refused)?;
        let text = String::from_utf8_lossy(&buf);
        let status = text.lines().next().unwrap_or("");
        let code = status.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok()).unwrap_or(0);
        if (200..300).contains(&code) { Ok(()) } else { Err(Failure::NonSuccess) }
    };
    tokio::time::timeout(StdDuration::from_secs(10), work).await.map_err(|_| Failure::Timeout)?
}

/// What the delivery log and notices show: delivered, or the failure's class.
fn outcome_text(outcome: &Result<(), Failure>) -> String {
    match outcome {
        Ok(()) => i18n::DUTY_CHANNEL_DELIVERED.to_string(),
        Err(f) => f.label().to_string(),
    }
}

/// Insert a notice for every line in its warning window; returns how many
/// notices this call created (0 when another process got there first).
async fn notify(db: &Db, tenant: i64, user: i64, lines: &[DutyLine], today: NaiveDate) -> Result<usize, StoreError> {
    let hook = webhook(db, tenant).await?;
    let mut made = 0;
    for l in lines {
        let Some(p) = l.evaluation.periods.iter().find(|p| p.status == Status::DueSoon) else { continue };
        let status =
            if hook.is_some() { i18n::DUTY_CHANNEL_PENDING.to_string() } else { i18n::DUTY_NOT_SENT.to_string() };
        let msg = format!("{}（{}）将于{}到期", l.rule_name, l.subject.name, p.due);
        let r: Option<(i64,)> = db
            .opt(
                "INSERT INTO duty_notices (tenant_id, user_id, rule_code, subject_key, period_start, due, message, \
                 channel_status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (tenant_id, user_id, rule_code, subject_key, period_start) DO NOTHING RETURNING id",
                args![
                    tenant,
                    user,
                    l.rule_code.clone(),
                    l.subject.key(),
                    p.start,
                    p.due,
                    msg.clone(),
                    status,
                    Utc::now()
                ],
            )
            .await?;
        let Some((id,)) = r else { continue };
        made += 1;
        if let Some(url) = &hook {
            let body = serde_json::json!({
                "tenant_id": tenant, "user_id": user, "rule": l.rule_code, "subject": l.subject.key(),
                "period_start": p.start, "due": p.due, "message": msg, "date": today,
            })
            .to_string();
            let result = post_json(url, &body, private_allowed()).await;
            log_delivery(db, tenant, Some(id), url, &result, false, None).await?;
            let outcome = match result {
                Ok(()) => i18n::DUTY_CHANNEL_SENT.to_string(),
                Err(f) => format!("{}{}", i18n::DUTY_CHANNEL_FAILED, f.label()),
            };
            db.exec(
                "UPDATE duty_notices SET channel_status = $1 WHERE tenant_id = $2 AND id = $3",
                args![outcome, tenant, id],
            )
            .await?;
        }
    }
    Ok(made)
}

/// The reminder job for one tenant: each account linked to a cadre gets the
/// cadre's duties entering their warning window; each secretary or
/// organisation administrator gets those of the organisations they hold.
pub async fn run(db: &Db, tenant: i64, today: NaiveDate) -> Result<usize, StoreError> {
    let from = today - Duration::days(super::LOOKBACK_DAYS);
    let mut made = 0;
    let links: Vec<(i64, i64, i64)> = db
        .all(
            "SELECT a.user_id, a.cadre_id, c.org_id FROM duty_accounts a \
             JOIN cadres c ON c.tenant_id = a.tenant_id AND c.id = a.cadre_id WHERE a.tenant_id = $1",
            args![tenant],
        )
        .await?;
    for (user, cadre, org_id) in links {
        let root = org_ref(db, tenant, org_id).await?;
        let w = World::load(db, root, from).await?;
        let lines: Vec<DutyLine> = w
            .rules
            .iter()
            .filter(|r| r.enabled)
            .flat_map(|r| {
                w.subjects(r)
                    .into_iter()
                    .filter(|s| s.kind == "cadre" && s.id == cadre)
                    .map(|s| w.evaluate(r, &s, from, today))
                    .collect::<Vec<_>>()
            })
            .collect();
        made += notify(db, tenant, user, &lines, today).await?;
    }
    let members: Vec<(i64, i64, i64)> = db
        .all(
            "SELECT a.user_id, a.member_id, m.org_id FROM duty_member_accounts a \
             JOIN members m ON m.tenant_id = a.tenant_id AND m.id = a.member_id WHERE a.tenant_id = $1",
            args![tenant],
        )
        .await?;
    for (user, member, org_id) in members {
        let root = org_ref(db, tenant, org_id).await?;
        let w = World::load(db, root, from).await?;
        let lines: Vec<DutyLine> = w
            .rules
            .iter()
            .filter(|r| r.enabled)
            .flat_map(|r| {
                w.subjects(r)
                    .into_iter()
                    .filter(|s| s.kind == "member" && s.id == member)
                    .map(|s| w.evaluate(r, &s, from, today))
                    .collect::<Vec<_>>()
            })
            .collect();
        made += notify(db, tenant, user, &lines, today).await?;
    }
    let grants: Vec<(i64, i64)> = db
        .all(
            "SELECT user_id, org_id FROM grants WHERE tenant_id = $1 AND role IN ('secretary', 'org_admin') ORDER BY user_id",
            args![tenant],
        )
        .await?;
    for (user, org_id) in grants {
        let root = org_ref(db, tenant, org_id).await?;
        let w = World::load(db, root.clone(), from).await?;
        let lines: Vec<DutyLine> = w
            .rules
            .iter()
            .filter(|r| r.enabled)
            .flat_map(|r| {
                w.subjects(r)
                    .into_iter()
                    .filter(|s| s.kind == "org" && s.id == root.id)
                    .map(|s| w.evaluate(r, &s, from, today))
                    .collect::<Vec<_>>()
            })
            .collect();
        made += notify(db, tenant, user, &lines, today).await?;
    }
    Ok(made)
}

async fn org_ref(db: &Db, tenant: i64, id: i64) -> Result<OrgRef, StoreError> {
    OrgRef::in_scope(&mut db.conn(), &crate::scope::Scope::whole_tenant(tenant), id).await
}

/// The reminder job for every tenant (run hourly by each server process; the
/// unique key makes concurrent runs harmless).
pub async fn run_all(db: &Db, today: NaiveDate) -> Result<usize, StoreError> {
    let tenants: Vec<(i64,)> = db.all("SELECT id FROM orgs WHERE parent_id IS NULL ORDER BY id", args![]).await?;
    let mut made = 0;
    for (t,) in tenants {
        made += run(db, t, today).await?;
    }
    Ok(made)
}
