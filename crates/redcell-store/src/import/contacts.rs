//! Contact relations (联系关系), one row per contact: who is responsible (a
//! member by ID number, or a cadre by organisation code and name) and whom
//! they look after (a household by grid, building, unit and room; a member by
//! ID number; an organisation by code), at the level named in the row.
//!
//! Every rule of starting a contact (kinds at both ends, scope, one member
//! per household, no overlap, exemptions) is the coverage service's own
//! (`coverage::contacts::start_in`): each row is started inside one
//! transaction, under a savepoint so that a refused row leaves nothing, and
//! the transaction is committed only when every row passed (a dry run always
//! rolls back). A contact already in force is counted as unchanged; an import
//! never ends or replaces a contact (the roster page does that).
//!
//! The people a row names (members by ID number, cadres by organisation and
//! name) are looked up only among those the caller may see: one outside that
//! scope gets the very error of one that does not exist, so an import tells
//! nothing of people out of reach.

use super::{
    Counts, InRow, Progress, Report, RowError, RowErrors, Stage, Undo, Upload, read_each, row_error, write_batch,
};
use crate::args;
use crate::coverage::contacts::{check_ends, start_in};
use crate::db::{Args, Db, Tx};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use redcell_domain::coverage::{ContactLevel, NewContact, Party, RawContact};
use redcell_domain::rosters::{ImportKind, normalise_text};
use redcell_domain::{IdNumber, i18n};
use std::collections::HashMap;

const K: ImportKind = ImportKind::Contacts;

enum From {
    Member(IdNumber),
    Cadre { org_code: String, name: String },
}

enum To {
    Household { grid_code: String, building: String, unit_no: i64, room: String },
    Member(IdNumber),
    Org(String),
}

struct Parsed {
    row: u32,
    n: NewContact,
    from: From,
    to: To,
}

fn parse(r: &InRow, today: chrono::NaiveDate) -> Result<Parsed, Vec<RowError>> {
    let mut e = RowErrors::new(K, r);
    e.check_cells(&["member_id_number", "to_id_number"]);
    let level_text = normalise_text(&r.text(K, "level"));
    let c = RawContact {
        level: Some(level_text),
        from_id: Some("1".into()),
        to_id: Some("1".into()),
        to_kind: None,
        since: Some(redcell_domain::rosters::normalise_date(&r.text(K, "since"))),
        reason: None,
    }
    .validate(today);
    let n = match c {
        Ok(n) => n,
        Err(x) => {
            e.invalid(&x, &|f| if f == "since" { "since".into() } else { "level".into() });
            if r.text(K, "level").trim().is_empty() {
                e.out.retain(|x| x.column != redcell_domain::rosters::header_of(K, "level"));
                e.push("level", i18n::REQUIRED);
            }
            return Err(e.out);
        }
    };
    let need = |e: &mut RowErrors, key: &str| -> String {
        let v = normalise_text(&r.text(K, key));
        if v.is_empty() {
            e.push(key, i18n::IMPORT_CADRE_LEVEL_NEEDS);
        }
        v
    };
    let id = |e: &mut RowErrors, key: &str| -> Option<IdNumber> {
        let v = r.text(K, key);
        if v.trim().is_empty() {
            e.push(key, i18n::IMPORT_CADRE_LEVEL_NEEDS);
            return None;
        }
        IdNumber::parse(&v).map_err(|x| e.push(key, x.message)).ok()
    };
    let from = match n.level.from() {
        Party::Cadre => {
            let name = need(&mut e, "cadre_name");
            let org_code = need(&mut e, "cadre_org_code");
            Some(From::Cadre { org_code, name })
        }
        _ => id(&mut e, "member_id_number").map(From::Member),
    };
    let to = match n.to_kind {
        Party::Household => {
            let grid_code = need(&mut e, "grid_code");
            let building = need(&mut e, "building");
            let room = need(&mut e, "room");
            let unit = normalise_text(&r.text(K, "unit_no"));
            let unit_no =
                if unit.is_empty() { Some(1) } else { unit.parse::<i64>().ok().filter(|u| (1..=50).contains(u)) };
            if unit_no.is_none() {
                e.push("unit_no", i18n::NUMBER_INVALID);
            }
            unit_no.map(|unit_no| To::Household { grid_code, building, unit_no, room })
        }
        Party::Member => id(&mut e, "to_id_number").map(To::Member),
        _ => Some(To::Org(need(&mut e, "to_org_code"))),
    };
    match (from, to, e.is_empty()) {
        (Some(from), Some(to), true) => Ok(Parsed { row: r.row, n, from, to }),
        _ => Err(e.out),
    }
}

impl Parsed {
    /// The column that names the responsible side.
    fn responsible_key(&self) -> &'static str {
        match self.from {
            From::Member(_) => "member_id_number",
            From::Cadre { .. } => "cadre_name",
        }
    }
    fn responsible_value(&self) -> String {
        match &self.from {
            From::Member(id) => id.as_str().to_string(),
            From::Cadre { name, .. } => name.clone(),
        }
    }
    /// The column that names the side looked after.
    fn target_key(&self) -> &'static str {
        match self.to {
            To::Household { .. } => "room",
            To::Member(_) => "to_id_number",
            To::Org(_) => "to_org_code",
        }
    }
    fn target_value(&self) -> String {
        match &self.to {
            To::Household { room, .. } => room.clone(),
            To::Member(id) => id.as_str().to_string(),
            To::Org(code) => code.clone(),
        }
    }
}

/// The member with this ID number, when the caller may see them
/// (`ReadRegistry`); one outside that scope is not found.
async fn member_by_id(tx: &mut Tx, p: &Principal, id: &IdNumber) -> Result<Option<i64>, StoreError> {
    let mut a = args![p.tenant_id, id.as_str()];
    let c = p.scope(Capability::ReadRegistry).rows("m", &mut a);
    Ok(tx
        .opt::<(i64,)>(
            &format!(
                "SELECT m.id FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE m.tenant_id = $1 AND r.id_number = $2 AND {c}"
            ),
            a,
        )
        .await?
        .map(|(i,)| i))
}

/// The cadres of this name in the organisation of this code, among those the
/// caller may see (`ReadRegistry`, the coverage service's rule for the person
/// responsible): one outside that scope is not found, and is not counted when
/// telling namesakes apart, so an error never tells of it.
async fn cadres_by_name(tx: &mut Tx, p: &Principal, org_code: &str, name: &str) -> Result<Vec<i64>, StoreError> {
    let mut a = args![p.tenant_id, org_code, name];
    let c = p.scope(Capability::ReadRegistry).rows("c", &mut a);
    let ids: Vec<(i64,)> = tx
        .all(
            &format!(
                "SELECT c.id FROM cadres c JOIN orgs o ON o.tenant_id = c.tenant_id AND o.id = c.org_id \
                 WHERE c.tenant_id = $1 AND o.code = $2 AND c.name = $3 AND {c} ORDER BY c.id"
            ),
            a,
        )
        .await?;
    Ok(ids.into_iter().map(|(i,)| i).collect())
}

/// Resolve both ends to ids; an unresolved end is an error on its column.
async fn resolve(tx: &mut Tx, p: &Principal, x: &Parsed) -> Result<Result<(i64, i64), RowError>, StoreError> {
    let t = p.tenant_id;
    let err = |key: &str, value: &str, reason: String| row_error(K, x.row, key, value, reason);
    let from = match &x.from {
        From::Member(id) => match member_by_id(tx, p, id).await? {
            Some(m) => m,
            None => return Ok(Err(err("member_id_number", id.as_str(), i18n::IMPORT_NOT_MEMBER.into()))),
        },
        From::Cadre { org_code, name } => {
            let ids = cadres_by_name(tx, p, org_code, name).await?;
            match ids.as_slice() {
                [id] => *id,
                [] => {
                    return Ok(Err(err(
                        "cadre_name",
                        name,
                        format!("{}{}", i18n::IMPORT_REF_ORG_CADRE, i18n::IMPORT_UNKNOWN_REF),
                    )));
                }
                _ => return Ok(Err(err("cadre_name", name, i18n::IMPORT_CADRE_AMBIGUOUS.into()))),
            }
        }
    };
    let to = match &x.to {
        To::Household { grid_code, building, unit_no, room } => {
            let id: Option<(i64,)> = tx
                .opt(
                    "SELECT h.id FROM households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
                     JOIN grids g ON g.tenant_id = b.tenant_id AND g.id = b.grid_id \
                     WHERE h.tenant_id = $1 AND g.code = $2 AND b.name = $3 AND h.unit_no = $4 AND h.room = $5",
                    args![t, grid_code.clone(), building.clone(), *unit_no, room.clone()],
                )
                .await?;
            match id {
                Some((id,)) => id,
                None => {
                    return Ok(Err(err(
                        "room",
                        room,
                        format!("{}{}", i18n::IMPORT_REF_HOUSEHOLD, i18n::IMPORT_UNKNOWN_REF),
                    )));
                }
            }
        }
        To::Member(id) => match member_by_id(tx, p, id).await? {
            Some(m) => m,
            None => return Ok(Err(err("to_id_number", id.as_str(), i18n::IMPORT_NOT_MEMBER.into()))),
        },
        To::Org(code) => {
            match tx
                .opt::<(i64,)>("SELECT id FROM orgs WHERE tenant_id = $1 AND code = $2", args![t, code.clone()])
                .await?
            {
                Some((id,)) => id,
                None => {
                    return Ok(Err(err(
                        "to_org_code",
                        code,
                        format!("{}{}", i18n::IMPORT_REF_ORG_CODE, i18n::IMPORT_UNKNOWN_REF),
                    )));
                }
            }
        }
    };
    Ok(Ok((from, to)))
}

pub(super) async fn run(
    db: &Db,
    p: &Principal,
    up: &Upload<'_>,
    commit: bool,
    report: &mut Report,
    progress: Progress<'_>,
) -> Result<(), StoreError> {
    let t = p.tenant_id;
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    let ok = read_each(up, report, progress, &mut |r| match parse(&r, up.today) {
        Ok(x) => parsed.push(x),
        Err(errs) => errors.extend(errs),
    });
    report.errors.extend(errors);
    if ok.is_none() {
        return Ok(());
    }
    let at = super::now();
    let mut counts = Counts { rows: report.counts.rows, ..Counts::default() };
    let mut created = Vec::new();
    // (level, from, to kind, to) and, for 党员联系户, the household: the first row naming it.
    let mut seen: HashMap<(ContactLevel, i64, &'static str, i64), u32> = HashMap::new();
    let mut seen_household: HashMap<i64, u32> = HashMap::new();
    let mut tx = db.begin().await?;
    for (i, x) in parsed.iter_mut().enumerate() {
        if i.is_multiple_of(1_000) {
            progress(Stage::Checking, i as u64);
        }
        let (from, to) = match resolve(&mut tx, p, x).await? {
            Ok(ids) => ids,
            Err(e) => {
                report.errors.push(e);
                continue;
            }
        };
        x.n.from_id = from;
        x.n.to_id = to;
        let err = |key: &str, value: &str, reason: String| row_error(K, x.row, key, value, reason);
        let key = (x.n.level, from, x.n.to_kind.code(), to);
        if let Some(first) = seen.get(&key) {
            report.errors.push(err(
                x.target_key(),
                &x.target_value(),
                format!("{}{first}{}", i18n::IMPORT_DUPLICATE_IN_FILE, i18n::IMPORT_ROW_SUFFIX),
            ));
            continue;
        }
        if x.n.level == ContactLevel::MemberHousehold
            && let Some(first) = seen_household.get(&to)
        {
            report.errors.push(err(
                x.target_key(),
                &x.target_value(),
                format!("{}{first}{}", i18n::IMPORT_DUPLICATE_IN_FILE, i18n::IMPORT_ROW_SUFFIX),
            ));
            continue;
        }
        seen.insert(key, x.row);
        if x.n.level == ContactLevel::MemberHousehold {
            seen_household.insert(to, x.row);
        }
        // The scope and rules of the contact first: a contact already held
        // counts as unchanged only for a caller who may make it.
        if let Err(e) = check_ends(&mut tx, p, &x.n).await {
            report.errors.extend(service_errors(x, e)?);
            continue;
        }
        let held = tx
            .int(
                "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND level = $2 AND from_id = $3 AND to_kind = $4 AND to_id = $5 AND until IS NULL",
                args![t, x.n.level.code(), from, x.n.to_kind.code(), to],
            )
            .await?;
        if held > 0 {
            counts.unchanged += 1;
            continue;
        }
        tx.exec("SAVEPOINT import_row", Args::new()).await?;
        match start_in(&mut tx, p, &x.n).await {
            Ok((_, id)) => {
                tx.exec("RELEASE SAVEPOINT import_row", Args::new()).await?;
                counts.new += 1;
                created.push(id);
            }
            Err(e) => {
                tx.exec("ROLLBACK TO SAVEPOINT import_row", Args::new()).await?;
                report.errors.extend(service_errors(x, e)?);
            }
        }
    }
    report.counts.new = counts.new;
    report.counts.unchanged = counts.unchanged;
    if !report.errors.is_empty() || !commit {
        // Dropping the transaction rolls every started contact back.
        return Ok(());
    }
    progress(Stage::Writing, created.len() as u64);
    let mut undo = Undo::default();
    undo.created.insert("contacts".into(), created);
    let id = write_batch(&mut tx, p, up, at, &counts, &undo).await?;
    tx.commit().await?;
    report.batch_id = Some(id);
    Ok(())
}

/// The coverage service's refusal as row errors (other errors pass through).
fn service_errors(x: &Parsed, e: StoreError) -> Result<Vec<RowError>, StoreError> {
    let err = |key: &str, value: &str, reason: String| row_error(K, x.row, key, value, reason);
    match e {
        StoreError::Invalid(inv) => Ok(inv
            .0
            .into_iter()
            .map(|f| {
                let (k, v) = column_of(x, &f.field);
                err(k, &v, f.message)
            })
            .collect()),
        StoreError::Denied(f) => {
            let (k, v) = column_of(x, &f.field);
            Ok(vec![err(k, &v, i18n::IMPORT_OUT_OF_SCOPE.into())])
        }
        e => Err(e),
    }
}

/// The column (and its value) a service error's field names.
fn column_of(x: &Parsed, field: &str) -> (&'static str, String) {
    match field {
        "from_id" => (x.responsible_key(), x.responsible_value()),
        "to_id" | "to_kind" => (x.target_key(), x.target_value()),
        "since" | "until" => ("since", x.n.since.to_string()),
        _ => ("level", x.n.level.label().to_string()),
    }
}
