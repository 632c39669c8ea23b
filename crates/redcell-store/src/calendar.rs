//! The stored, editable holiday calendar of a tenant.
//!
//! While a tenant has no rows in `holidays`, the shipped calendar applies. The
//! first edit (and the demo generator) copies the shipped days into the table,
//! and from then on the table is the tenant's whole calendar: administrators
//! add the next year's days when the State Council announces them, or remove a
//! day entered by mistake.

use crate::args;
use crate::audit;
use crate::db::{Db, Tx};
use crate::error::StoreError;
use crate::requests::tenant_settings;
use crate::scope::Principal;
use crate::types::Code;
use chrono::{Datelike, NaiveDate};
use redcell_domain::FieldError;
use redcell_domain::calendar::{DayKind, HolidayCalendar, SpecialDay, check_day};
use serde::Serialize;

/// One listed day as the settings page shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HolidayRow {
    pub date: NaiveDate,
    pub kind: Code<DayKind>,
    pub name: String,
}

impl HolidayRow {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
}

/// The stored days; a kind this program does not know is an error.
async fn rows(db: &Db, tenant_id: i64) -> Result<Vec<HolidayRow>, StoreError> {
    db.all("SELECT date, kind, name FROM holidays WHERE tenant_id = $1 ORDER BY date", args![tenant_id]).await
}

/// The working-day calendar of a tenant: its stored days, or the shipped
/// calendar while it has none. A stored day that no longer passes the checks
/// (e.g. after a rule got stricter) is skipped and logged rather than failing
/// every deadline computation.
pub async fn load(db: &Db, tenant_id: i64) -> Result<HolidayCalendar, StoreError> {
    let rows = rows(db, tenant_id).await?;
    if rows.is_empty() {
        return Ok(HolidayCalendar::shipped().clone());
    }
    let mut days = Vec::with_capacity(rows.len());
    for r in rows {
        let day = SpecialDay { date: r.date, kind: r.kind.0, name: r.name };
        match check_day(&day) {
            Ok(()) => days.push(day),
            Err(e) => tracing::warn!("holiday calendar of tenant {tenant_id}: {} skipped: {e}", day.date),
        }
    }
    HolidayCalendar::new(days).map_err(|e| StoreError::Internal(format!("holiday calendar of tenant {tenant_id}: {e}")))
}

/// The days as listed for the settings page (the shipped ones while nothing
/// is stored), and whether they are the tenant's own copy. A setting of the
/// tenant: `EditRegistry` over its root.
pub async fn list(db: &Db, p: &Principal) -> Result<(Vec<HolidayRow>, bool), StoreError> {
    tenant_settings(p)?;
    let stored = rows(db, p.tenant_id).await?;
    if !stored.is_empty() {
        return Ok((stored, true));
    }
    let shipped = HolidayCalendar::shipped()
        .days()
        .map(|d| HolidayRow { date: d.date, kind: Code(d.kind), name: d.name.clone() })
        .collect();
    Ok((shipped, false))
}

/// Insert one day: the one writer of `holidays` (the copy of the shipped
/// calendar and the settings page).
async fn insert_day(tx: &mut Tx, tenant_id: i64, d: &SpecialDay) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO holidays (tenant_id, date, kind, name) VALUES ($1, $2, $3, $4)",
        args![tenant_id, d.date, d.kind.code(), d.name.as_str()],
    )
    .await?;
    Ok(())
}

/// Copy the shipped days into the tenant's table if it has none yet.
pub async fn seed(tx: &mut Tx, tenant_id: i64) -> Result<(), StoreError> {
    let n = tx.int("SELECT COUNT(*) FROM holidays WHERE tenant_id = $1", args![tenant_id]).await?;
    if n > 0 {
        return Ok(());
    }
    for d in HolidayCalendar::shipped().days() {
        insert_day(tx, tenant_id, d).await?;
    }
    Ok(())
}

/// Add a day. A make-up working day must be a Saturday or Sunday; a date
/// already listed is refused.
pub async fn add(db: &Db, p: &Principal, date: &str, kind: &str, name: &str) -> Result<(), StoreError> {
    tenant_settings(p)?;
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
    insert_day(&mut tx, p.tenant_id, &day).await?;
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
    tenant_settings(p)?;
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
