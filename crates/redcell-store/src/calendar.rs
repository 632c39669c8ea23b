//! The stored, editable holiday calendar of a tenant.
//!
//! While a tenant has no rows in `holidays`, the shipped calendar applies. The
//! first edit (and the demo generator) copies the shipped days into the table,
//! and from then on the table is the tenant's whole calendar: administrators
//! add the next year's days when the State Council announces them, or remove a
//! day entered by mistake.

use crate::audit;
use crate::db::{Db, Tx};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use crate::{args, registry};
use chrono::{Datelike, NaiveDate};
use redcell_domain::FieldError;
use redcell_domain::calendar::{DayKind, HolidayCalendar, SpecialDay, check_day};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HolidayRow {
    pub id: i64,
    pub date: NaiveDate,
    pub kind: String,
    pub name: String,
}

impl HolidayRow {
    pub fn kind_label(&self) -> &'static str {
        DayKind::from_code(&self.kind).map(DayKind::label).unwrap_or("")
    }
}

async fn rows(db: &Db, tenant_id: i64) -> Result<Vec<HolidayRow>, StoreError> {
    db.all("SELECT id, date, kind, name FROM holidays WHERE tenant_id = $1 ORDER BY date", args![tenant_id]).await
}

fn to_days(rows: &[HolidayRow]) -> Vec<SpecialDay> {
    rows.iter()
        .filter_map(|r| DayKind::from_code(&r.kind).map(|kind| SpecialDay { date: r.date, kind, name: r.name.clone() }))
        .collect()
}

/// The working-day calendar of a tenant: its stored days, or the shipped
/// calendar while it has none. A stored day that no longer passes the checks
/// is skipped (and logged) rather than failing every deadline computation.
pub async fn load(db: &Db, tenant_id: i64) -> Result<HolidayCalendar, StoreError> {
    let rows = rows(db, tenant_id).await?;
    if rows.is_empty() {
        return Ok(HolidayCalendar::shipped().clone());
    }
    let days: Vec<SpecialDay> = to_days(&rows).into_iter().filter(|d| check_day(d).is_ok()).collect();
    HolidayCalendar::new(days).map_err(|e| StoreError::Internal(format!("holiday calendar of tenant {tenant_id}: {e}")))
}

/// The days as listed for the admin page (the shipped ones while nothing is stored),
/// and whether they are the tenant's own copy.
pub async fn list(db: &Db, p: &Principal) -> Result<(Vec<HolidayRow>, bool), StoreError> {
    require_admin(db, p).await?;
    let stored = rows(db, p.tenant_id).await?;
    if !stored.is_empty() {
        return Ok((stored, true));
    }
    let shipped = HolidayCalendar::shipped()
        .days()
        .map(|d| HolidayRow { id: 0, date: d.date, kind: d.kind.code().into(), name: d.name.clone() })
        .collect();
    Ok((shipped, false))
}

/// Holiday administration belongs to whoever manages the tenant's root organisation.
async fn require_admin(db: &Db, p: &Principal) -> Result<(), StoreError> {
    let root = registry::orgs::get(db, p, p.tenant_id).await.map_err(|_| StoreError::Forbidden)?;
    if p.scope(Capability::EditRegistry).contains(&root.org_path()) { Ok(()) } else { Err(StoreError::Forbidden) }
}

/// Copy the shipped days into the tenant's table if it has none yet.
pub async fn seed(tx: &mut Tx, tenant_id: i64) -> Result<(), StoreError> {
    let n = tx.int("SELECT COUNT(*) FROM holidays WHERE tenant_id = $1", args![tenant_id]).await?;
    if n > 0 {
        return Ok(());
    }
    for d in HolidayCalendar::shipped().days() {
        tx.exec(
            "INSERT INTO holidays (tenant_id, date, kind, name) VALUES ($1, $2, $3, $4)",
            args![tenant_id, d.date, d.kind.code(), d.name.as_str()],
        )
        .await?;
    }
    Ok(())
}

/// Add a day. A make-up working day must be a Saturday or Sunday; a date
/// already listed is refused.
pub async fn add(db: &Db, p: &Principal, date: &str, kind: &str, name: &str) -> Result<(), StoreError> {
    require_admin(db, p).await?;
    let date = redcell_domain::text::parse_date("date", date)?
        .ok_or_else(|| FieldError::new("date", "required", redcell_domain::i18n::REQUIRED))?;
    let kind = DayKind::from_code(kind.trim())
        .ok_or_else(|| FieldError::new("kind", "enum", redcell_domain::i18n::HOLIDAY_KIND_INVALID))?;
    let day = SpecialDay { date, kind, name: name.trim().to_string() };
    check_day(&day).map_err(|m| {
        let field =
            if m.contains(redcell_domain::i18n::WORKDAY_NOT_WEEKEND) || m.contains("年份") { "date" } else { "name" };
        FieldError::new(field, "invalid", m)
    })?;
    let mut tx = db.begin().await?;
    seed(&mut tx, p.tenant_id).await?;
    let exists =
        tx.int("SELECT COUNT(*) FROM holidays WHERE tenant_id = $1 AND date = $2", args![p.tenant_id, date]).await?;
    if exists > 0 {
        return Err(FieldError::new(
            "date",
            "duplicate",
            format!("{date} {}", redcell_domain::i18n::HOLIDAY_DUPLICATE),
        )
        .into());
    }
    tx.exec(
        "INSERT INTO holidays (tenant_id, date, kind, name) VALUES ($1, $2, $3, $4)",
        args![p.tenant_id, date, kind.code(), day.name.as_str()],
    )
    .await?;
    audit::record(
        &mut tx,
        p.tenant_id,
        Some(p.user_id),
        "add_holiday",
        "holiday",
        None,
        &format!("{date} {} {}", kind.label(), day.name),
    )
    .await?;
    tx.commit().await
}

/// Remove a listed day (the date becomes an ordinary weekday or weekend day).
pub async fn remove(db: &Db, p: &Principal, date: NaiveDate) -> Result<(), StoreError> {
    require_admin(db, p).await?;
    let mut tx = db.begin().await?;
    seed(&mut tx, p.tenant_id).await?;
    let n = tx.exec("DELETE FROM holidays WHERE tenant_id = $1 AND date = $2", args![p.tenant_id, date]).await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "remove_holiday", "holiday", None, &date.to_string()).await?;
    tx.commit().await
}

/// Years from `from` to `to` (inclusive) that the calendar does not cover.
pub fn uncovered_years(cal: &HolidayCalendar, from: NaiveDate, to: NaiveDate) -> Vec<i32> {
    (from.year().min(to.year())..=from.year().max(to.year())).filter(|y| !cal.covers(*y)).collect()
}
