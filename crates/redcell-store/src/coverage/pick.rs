//! Finding the people, households, organisations and posts a form refers to
//! by name, building and room, or code instead of by number: the candidates
//! inside the caller's scope (and the organisation the form is about), with
//! no personal data beyond a name (no ID numbers, no phones).

use super::OrgRef;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use redcell_domain::{FieldError, i18n};
use serde::{Deserialize, Serialize};

/// What a picker looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PickKind {
    Member,
    Cadre,
    Household,
    Org,
    Post,
}

impl PickKind {
    pub fn parse(raw: &str) -> Option<PickKind> {
        Some(match raw {
            "member" => PickKind::Member,
            "cadre" => PickKind::Cadre,
            "household" => PickKind::Household,
            "org" => PickKind::Org,
            "post" => PickKind::Post,
            _ => return None,
        })
    }
}

/// One candidate: its id, what to show, and where it is.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Candidate {
    pub id: i64,
    pub label: String,
    pub detail: Option<String>,
}

/// The most candidates answered.
pub const PICK_LIMIT: i64 = 20;

/// Candidates of `kind` matching `q` inside `org_id`'s subtree (default: the
/// caller's highest organisation) and the caller's read scope. A number
/// matches that id exactly; otherwise names (and codes, buildings and rooms)
/// starting with `q`, organisations and posts containing it.
pub async fn search(
    db: &Db,
    p: &Principal,
    kind: PickKind,
    q: &str,
    org_id: Option<i64>,
) -> Result<Vec<Candidate>, StoreError> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(vec![]);
    }
    let org = OrgRef::for_cap(&mut db.conn(), p, super::org_or_home(p, org_id)?, Capability::ReadRegistry).await?;
    let scope = p.scope(Capability::ReadRegistry);
    let mut a = Args::new();
    let household = crate::registry::households::place_sql("h", "b");
    let (alias, from, label, detail, order): (&str, &str, &str, &str, &str) = match kind {
        PickKind::Member => (
            "m",
            "members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id",
            "r.name",
            "o.name",
            "r.name, m.id",
        ),
        PickKind::Cadre => ("k", "cadres k", "k.name", "k.title", "k.name, k.id"),
        PickKind::Household => (
            "h",
            "households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id",
            household.as_str(),
            "b.address",
            "b.name, h.unit_no, h.room, h.id",
        ),
        PickKind::Org => ("o", "orgs o", "o.name", "o.code", "o.path"),
        PickKind::Post => (
            "dp",
            "demo_posts dp JOIN grids g ON g.tenant_id = dp.tenant_id AND g.id = dp.grid_id",
            "dp.name",
            "g.name",
            "dp.name, dp.id",
        ),
    };
    let mut w = vec![];
    if kind == PickKind::Org {
        w.push(scope.orgs("o", &mut a));
        w.push(org.orgs_under("o", &mut a));
    } else {
        w.push(scope.rows(alias, &mut a));
        w.push(org.under(alias, &mut a));
    }
    if let Ok(id) = q.parse::<i64>() {
        w.push(format!("{alias}.id = {}", a.push(id)));
    } else {
        let like = format!("{}%", q.replace(['%', '_'], ""));
        let contains = format!("%{}%", q.replace(['%', '_'], ""));
        let cond = match kind {
            // A name prefix, through the index on names (the range), checked by LIKE.
            PickKind::Member => {
                let lo = a.push(q);
                let hi = a.push(format!("{q}\u{10FFFF}"));
                format!("r.name >= {lo} AND r.name < {hi} AND r.name LIKE {}", a.push(like))
            }
            PickKind::Cadre => format!("k.name LIKE {}", a.push(like)),
            // Buildings first (a small table): the text starts with the building's name or the reverse.
            PickKind::Household => {
                let qq = a.push(q);
                let lk = a.push(like);
                format!(
                    "h.building_id IN (SELECT b2.id FROM buildings b2 WHERE b2.tenant_id = h.tenant_id \
                     AND ({qq} LIKE b2.name || '%' OR b2.name LIKE {lk})) \
                     AND (b.name || CAST(h.unit_no AS TEXT) || '单元' || h.room LIKE {lk} OR b.name LIKE {lk} \
                     OR b.name || h.room = {qq})"
                )
            }
            PickKind::Org => {
                let c = a.push(contains);
                format!("(o.name LIKE {c} OR o.code = {})", a.push(q))
            }
            PickKind::Post => format!("dp.until IS NULL AND dp.name LIKE {}", a.push(contains)),
        };
        w.push(cond);
    }
    let lim = a.push(PICK_LIMIT);
    db.all(
        &format!(
            "SELECT {alias}.id, {label} AS label, {detail} AS detail FROM {from} WHERE {} ORDER BY {order} LIMIT {lim}",
            w.join(" AND ")
        ),
        a,
    )
    .await
}

/// A form field that holds either an id or text to search: the id, or the
/// one candidate the text finds. None or several: a field error (the
/// candidates are answered too, for the form to offer them).
pub async fn resolve(
    db: &Db,
    p: &Principal,
    kind: PickKind,
    field: &str,
    raw: &str,
    org_id: Option<i64>,
) -> Result<Result<Option<i64>, (FieldError, Vec<Candidate>)>, StoreError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(Ok(None));
    }
    if let Ok(id) = t.parse::<i64>() {
        return Ok(Ok(Some(id)));
    }
    let found = search(db, p, kind, t, org_id).await?;
    Ok(match found.len() {
        1 => Ok(Some(found[0].id)),
        0 => Err((FieldError::new(field, "not_found", i18n::PICK_NONE), found)),
        _ => Err((FieldError::new(field, "ambiguous", i18n::PICK_AMBIGUOUS), found)),
    })
}
