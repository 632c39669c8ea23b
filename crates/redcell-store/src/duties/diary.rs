//! The visit diary (民情日记) as a list: visits by visitor, household, grid
//! and organisation over a date range, inside the caller's read scope; and
//! the meetings of a subtree. The same filter serves the page and the API.

use super::records::Held;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::registry::{Page, Paged, paged};
use crate::scope::{Capability, OrgRef, Principal};
use chrono::NaiveDate;
use redcell_domain::duties::{TargetKind, VisitPurpose};
use redcell_domain::{CodeEnum, FieldError, i18n};
use serde::{Deserialize, Serialize};

/// Which visits to list. Every field is optional; the organisation defaults
/// to the caller's own (its subtree).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitFilter {
    /// The organisation whose subtree the visits lie in.
    pub org_id: Option<i64>,
    /// `cadre` or `member` (with `visitor_id`).
    pub visitor_kind: Option<String>,
    pub visitor_id: Option<i64>,
    /// Visits to this household.
    pub household_id: Option<i64>,
    /// Visits in this grid (to the grid or to a household or building in it).
    pub grid_id: Option<i64>,
    /// From this date (inclusive).
    pub from: Option<NaiveDate>,
    /// Up to this date (inclusive).
    pub to: Option<NaiveDate>,
}

/// One visit of the diary, named in words.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DiaryVisit {
    pub id: i64,
    pub visited_on: NaiveDate,
    pub org_id: i64,
    pub org_name: String,
    pub visitor_kind: String,
    pub visitor_id: i64,
    pub visitor_name: String,
    pub target_kind: String,
    pub target_id: i64,
    /// What was visited, in words (a household with its community, building and room).
    pub target: String,
    pub purpose: String,
    pub learned: Option<String>,
    pub request_id: Option<i64>,
}

impl DiaryVisit {
    pub fn purpose_label(&self) -> &'static str {
        VisitPurpose::from_code(&self.purpose).map(|p| p.label()).unwrap_or("")
    }
    pub fn visitor_label(&self) -> &'static str {
        if self.visitor_kind == "cadre" { "干部" } else { "党员" }
    }
}

/// The `SELECT` of a diary row over `duty_visits v JOIN orgs o`.
fn select() -> String {
    format!(
        "SELECT v.id, v.visited_on, v.org_id, o.name AS org_name, v.visitor_kind, v.visitor_id, \
         COALESCE(CASE WHEN v.visitor_kind = 'cadre' THEN (SELECT c.name FROM cadres c WHERE c.tenant_id = v.tenant_id AND c.id = v.visitor_id) \
         ELSE (SELECT r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
               WHERE m.tenant_id = v.tenant_id AND m.id = v.visitor_id) END, '') AS visitor_name, \
         v.target_kind, v.target_id, \
         COALESCE(CASE v.target_kind \
           WHEN 'household' THEN (SELECT COALESCE(cm.name || ' ', '') || {room} \
                FROM households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
                JOIN orgs ho ON ho.tenant_id = h.tenant_id AND ho.id = h.org_id {community} \
                WHERE h.tenant_id = v.tenant_id AND h.id = v.target_id ORDER BY cm.path DESC LIMIT 1) \
           WHEN 'building' THEN (SELECT b.name FROM buildings b WHERE b.tenant_id = v.tenant_id AND b.id = v.target_id) \
           WHEN 'grid' THEN (SELECT g.name FROM grids g WHERE g.tenant_id = v.tenant_id AND g.id = v.target_id) \
           WHEN 'member' THEN (SELECT r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                WHERE m.tenant_id = v.tenant_id AND m.id = v.target_id) \
           ELSE (SELECT t.name FROM orgs t WHERE t.tenant_id = v.tenant_id AND t.id = v.target_id) END, '') AS target, \
         v.purpose, v.learned, v.request_id",
        community = crate::scope::community_join("ho"),
        room = crate::registry::households::ROOM_SQL
    )
}

/// The visits matching `f` inside the caller's read scope, newest first.
pub async fn visits(db: &Db, p: &Principal, f: &VisitFilter, page: Page) -> Result<Paged<DiaryVisit>, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let org_id = crate::coverage::org_or_home(p, f.org_id)?;
    let org = OrgRef::in_scope(&mut db.conn(), &access.scope, org_id).await?;
    let mut a = Args::new();
    let mut w = vec![org.under("v", &mut a)];
    match (f.visitor_kind.as_deref().map(str::trim).filter(|k| !k.is_empty()), f.visitor_id) {
        (Some(k @ ("cadre" | "member")), Some(id)) => {
            w.push(format!("v.visitor_kind = {} AND v.visitor_id = {}", a.push(k), a.push(id)));
        }
        (None, None) => {}
        (Some("cadre" | "member"), None) => {
            return Err(FieldError::new("visitor_id", "required", i18n::DUTY_MISSING).into());
        }
        (Some(_), _) => return Err(FieldError::new("visitor_kind", "enum", i18n::ENUM_INVALID).into()),
        (None, Some(_)) => return Err(FieldError::new("visitor_kind", "required", i18n::DUTY_MISSING).into()),
    }
    if let Some(h) = f.household_id {
        w.push(format!("v.target_kind = '{}' AND v.target_id = {}", TargetKind::Household.code(), a.push(h)));
    }
    if let Some(g) = f.grid_id {
        let g = a.push(g);
        w.push(format!(
            "((v.target_kind = 'grid' AND v.target_id = {g}) \
             OR (v.target_kind = 'household' AND v.target_id IN (SELECT hh.id FROM households hh WHERE hh.tenant_id = v.tenant_id AND hh.grid_id = {g})) \
             OR (v.target_kind = 'building' AND v.target_id IN (SELECT bb.id FROM buildings bb WHERE bb.tenant_id = v.tenant_id AND bb.grid_id = {g})))"
        ));
    }
    if let (Some(from), Some(to)) = (f.from, f.to)
        && from > to
    {
        return Err(FieldError::new("to", "range", i18n::DATE_RANGE_INVALID).into());
    }
    if let Some(d) = f.from {
        w.push(format!("v.visited_on >= {}", a.push(d)));
    }
    if let Some(d) = f.to {
        w.push(format!("v.visited_on <= {}", a.push(d)));
    }
    let from_where =
        format!("duty_visits v JOIN orgs o ON o.tenant_id = v.tenant_id AND o.id = v.org_id WHERE {}", w.join(" AND "));
    paged(db, &select(), &from_where, "v.visited_on DESC, v.id DESC", a, page).await
}

/// The meetings of an organisation's subtree, newest first (a page of at most 200).
pub async fn meetings(db: &Db, p: &Principal, org_id: Option<i64>) -> Result<Vec<Held>, StoreError> {
    let org = crate::coverage::org_or_home(p, org_id)?;
    let all = super::records::held_in(db, p, org, 200).await?;
    Ok(all.into_iter().filter(|h| h.record == "meeting").collect())
}
