//! What residents and Open311 clients see without an account: a request
//! followed by its code (state and public notes, no staff names, no phones),
//! the grids and buildings to pick from, the Open311 list. Public by design.

use super::queue::history_rows;
use super::{Request, SELECT, open_clause};
use crate::args;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope;
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::ids::*;
use serde::Serialize;

/// What a resident sees when following a request by its code: state, public
/// notes (without who wrote them), refusal reason, due date. No staff names,
/// no phone numbers.
#[derive(Debug, Clone, Serialize)]
pub struct PublicView {
    pub code: String,
    pub kind: String,
    pub category: String,
    pub state: String,
    pub state_code: String,
    pub submitted_on: NaiveDate,
    pub due_date: NaiveDate,
    pub paused: bool,
    pub refusal_reason: Option<String>,
    pub notes: Vec<PublicNote>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicNote {
    /// Shanghai local time for display.
    pub at: String,
    /// The instant (for machine readers such as Open311).
    pub at_utc: DateTime<Utc>,
    pub what: String,
    pub state: String,
    pub note: Option<String>,
}

/// A request by its follow code, in any tenant (codes are random and long
/// enough not to be guessed), with what the resident may see of it.
pub async fn public_view(db: &Db, code: &str) -> Result<(Request, PublicView), StoreError> {
    let code = code.trim().to_ascii_uppercase();
    let r: Request = db.one(&format!("{SELECT} WHERE r.code = $1 ORDER BY r.id LIMIT 1"), args![code]).await?;
    let notes = history_rows(db, r.tenant_id, r.id, true)
        .await?
        .into_iter()
        .map(|h| PublicNote {
            at: h.local(),
            at_utc: h.at,
            what: h.action_label(),
            state: h.to_label().into(),
            note: h.note.clone(),
        })
        .collect();
    let v = PublicView {
        code: r.code.clone(),
        kind: r.kind_label().into(),
        category: r.category_name.clone(),
        state: r.state_label().into(),
        state_code: r.state.code().into(),
        submitted_on: r.received_on,
        due_date: r.due_date,
        paused: r.paused_on.is_some(),
        refusal_reason: r.refusal_reason.clone(),
        notes,
    };
    Ok((r, v))
}

/// The grids a resident can pick on the public page: (id, "organisation · grid").
pub async fn public_grids(db: &Db, tenant_id: i64) -> Result<Vec<(GridId, String)>, StoreError> {
    let rows: Vec<(GridId, String, String)> = db
        .all(
            "SELECT g.id, o.name, g.name FROM grids g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
             WHERE g.tenant_id = $1 ORDER BY o.path, g.code LIMIT 500",
            args![tenant_id],
        )
        .await?;
    Ok(rows.into_iter().map(|(id, o, g)| (id, format!("{o} · {g}"))).collect())
}

/// A building a resident can pick on the public page: where it is and its
/// address, nothing about who lives there.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublicBuilding {
    pub id: BuildingId,
    pub community: String,
    pub grid: String,
    pub name: String,
    pub address: String,
}

/// The buildings of a tenant for the public page, ordered community → grid → building.
pub async fn public_buildings(db: &Db, tenant_id: i64) -> Result<Vec<PublicBuilding>, StoreError> {
    db.all(
        &format!(
            "SELECT b.id, COALESCE(cm.name, o.name) AS community, g.name AS grid, b.name, b.address FROM buildings b \
             JOIN grids g ON g.tenant_id = b.tenant_id AND g.id = b.grid_id \
             JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id {} \
             WHERE b.tenant_id = $1 ORDER BY COALESCE(cm.path, o.path), g.code, b.name, b.id LIMIT 3000",
            scope::community_join("o")
        ),
        args![tenant_id],
    )
    .await
}

/// Where a request is, for anyone to read: its community and building in
/// words, never finer (no unit, no room, not the free address a resident or
/// staff typed, which may name a room). `None` when it names no building.
pub async fn public_place(db: &Db, r: &Request) -> Result<Option<String>, StoreError> {
    let Some(b) = r.building_id else { return Ok(None) };
    let row: Option<(String, String)> = db
        .opt(
            &format!(
                "SELECT COALESCE(cm.name, o.name), b.name FROM buildings b \
                 JOIN grids g ON g.tenant_id = b.tenant_id AND g.id = b.grid_id \
                 JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id {} \
                 WHERE b.tenant_id = $1 AND b.id = $2 ORDER BY cm.path DESC LIMIT 1",
                scope::community_join("o")
            ),
            args![r.tenant_id, b],
        )
        .await?;
    Ok(row.map(|(community, building)| crate::home::place_label(Some(&community), &building)))
}

/// Unknown follow codes an address may try in [`LOOKUP_WINDOW_MINUTES`]
/// before every lookup from it is refused for the window: a resident who
/// mistypes their code a few times is not stopped, guessing codes is.
pub const LOOKUP_MISSES_PER_WINDOW: i64 = 20;
pub const LOOKUP_WINDOW_MINUTES: i64 = 10;

/// [`public_view`] for an anonymous caller at `ip`: refused while the
/// address has tried too many unknown codes; an unknown code counts.
pub async fn public_lookup(db: &Db, code: &str, ip: Option<&str>) -> Result<(Request, PublicView), StoreError> {
    let Some(ip) = ip else { return public_view(db, code).await };
    let since = Utc::now() - chrono::Duration::minutes(LOOKUP_WINDOW_MINUTES);
    let misses =
        db.int("SELECT COUNT(*) FROM request_lookup_misses WHERE ip = $1 AND at > $2", args![ip, since]).await?;
    if misses >= LOOKUP_MISSES_PER_WINDOW {
        return Err(StoreError::RateLimited(LOOKUP_WINDOW_MINUTES * 60));
    }
    match public_view(db, code).await {
        Err(StoreError::NotFound) => {
            db.exec("INSERT INTO request_lookup_misses (ip, at) VALUES ($1, $2)", args![ip, Utc::now()]).await?;
            Err(StoreError::NotFound)
        }
        other => other,
    }
}

/// Filters of the public Open311 list.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    pub ids: Vec<String>,
    pub service_codes: Vec<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// `open` or `closed`.
    pub status: Option<String>,
    /// Paging (an extension): 1-based page and its size (at most 1000).
    pub page: u32,
    pub page_size: u32,
}

impl PublicFilter {
    pub const DEFAULT_PAGE_SIZE: u32 = 1000;
}

/// Requests of a tenant for the public Open311 list (a page of at most 1000,
/// newest first; the answer carries no personal data).
pub async fn public_list(db: &Db, tenant_id: i64, f: &PublicFilter) -> Result<Vec<Request>, StoreError> {
    let mut a = args![tenant_id];
    let mut w = vec!["r.tenant_id = $1".to_string()];
    if !f.ids.is_empty() {
        let p: Vec<String> = f.ids.iter().map(|c| a.push(c.to_ascii_uppercase())).collect();
        w.push(format!("r.code IN ({})", p.join(", ")));
    }
    if !f.service_codes.is_empty() {
        let p: Vec<String> = f.service_codes.iter().map(|c| a.push(c.as_str())).collect();
        w.push(format!("c.code IN ({})", p.join(", ")));
    }
    if let Some(s) = f.start {
        w.push(format!("r.submitted_at >= {}", a.push(s)));
    }
    if let Some(e) = f.end {
        w.push(format!("r.submitted_at <= {}", a.push(e)));
    }
    match f.status.as_deref() {
        Some("open") => w.push(open_clause()),
        Some("closed") => w.push(format!("NOT ({})", open_clause())),
        _ => {}
    }
    let size = if f.page_size == 0 { PublicFilter::DEFAULT_PAGE_SIZE } else { f.page_size.min(1000) };
    let lim = a.push(i64::from(size));
    let off = a.push(i64::from(f.page.max(1) - 1) * i64::from(size));
    db.all(&format!("{SELECT} WHERE {} ORDER BY r.id DESC LIMIT {lim} OFFSET {off}", w.join(" AND ")), a).await
}
