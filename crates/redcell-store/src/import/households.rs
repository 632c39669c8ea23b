//! Households and residents in one sheet, one row per resident. Households
//! are keyed by (grid code, building name, unit, room) and created when new;
//! residents are upserted by ID number. A blank optional cell (phone, note,
//! tags) keeps what the database holds.
//!
//! One streaming pass ([`run`]; see the module comment of `import`): every
//! row validated, keeping only compact keys (ID numbers as integers, the new
//! households); when committing, each chunk is written with multi-row
//! statements as soon as it is checked, inside the one transaction, which is
//! rolled back if any row of the file has an error.

use super::{
    CHUNK, Counts, DataRows, FieldChange, InRow, Progress, Report, RowChange, RowErrors, Stage, Undo, Upload,
    editable_orgs, now, open, row_error, show, write_batch,
};
use crate::db::{Args, Db, Tx};
use crate::error::StoreError;
use crate::registry::households::HouseholdRecord;
use crate::registry::residents::ResidentRecord;
use crate::scope::Principal;
use crate::{Code, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::ids::*;
use redcell_domain::input::{NewResident, RawHousehold, RawResident};
use redcell_domain::rosters::{ImportKind, normalise_date, normalise_text, split_list};
use redcell_domain::{Gender, IdNumber, i18n};
use std::collections::{BTreeMap, HashMap, HashSet};

const K: ImportKind = ImportKind::Households;

/// One row, validated on its own.
struct Parsed {
    row: u32,
    grid_code: String,
    building: String,
    unit_no: i64,
    room: String,
    /// `None`: the tags cell was blank.
    tags: Option<i64>,
    res: NewResident,
}

fn parse(r: &InRow, today: NaiveDate) -> Result<Parsed, Vec<super::RowError>> {
    let mut e = RowErrors::new(K, r);
    e.check_cells(&["id_number"]);
    let grid_code = normalise_text(&r.text(K, "grid_code"));
    if grid_code.is_empty() {
        e.push("grid_code", i18n::REQUIRED);
    }
    let building = normalise_text(&r.text(K, "building"));
    if building.is_empty() {
        e.push("building", i18n::REQUIRED);
    }
    let tags_text = r.text(K, "tags");
    let hh = RawHousehold {
        building_id: Some("1".into()),
        unit_no: Some(normalise_text(&r.text(K, "unit_no"))),
        room: Some(normalise_text(&r.text(K, "room"))),
        note: None,
        tags: Some(split_list(&tags_text)),
    }
    .validate();
    let res = RawResident {
        household_id: Some("1".into()),
        org_id: None,
        name: r.opt(K, "name"),
        gender: r.opt(K, "gender"),
        birth_date: Some(normalise_date(&r.text(K, "birth_date"))),
        id_number: r.opt(K, "id_number"),
        phone: r.opt(K, "phone"),
        note: r.opt(K, "note"),
    }
    .validate(today);
    if let Err(x) = &hh {
        e.invalid(x, &|f| f.to_string());
    }
    if let Err(x) = &res {
        e.invalid(x, &|f| f.to_string());
    }
    match (hh, res, e.is_empty()) {
        (Ok(h), Ok(res), true) => Ok(Parsed {
            row: r.row,
            grid_code,
            building,
            unit_no: h.unit_no,
            room: h.room,
            tags: if tags_text.trim().is_empty() { None } else { Some(h.tags.bits()) },
            res,
        }),
        _ => Err(e.out),
    }
}

/// A valid ID number as one integer (17 digits, then the check character
/// 0-9 or X as 0-10): the compact key both passes look residents up by.
fn id_key(id: &IdNumber) -> u64 {
    let b = id.as_str().as_bytes();
    let head = b.iter().take(17).fold(0u64, |k, d| k * 10 + u64::from(d.wrapping_sub(b'0') % 10));
    let check = match b.get(17) {
        Some(b'X') => 10,
        Some(d) => u64::from(d.wrapping_sub(b'0') % 10),
        None => 0,
    };
    head * 11 + check
}

/// An existing resident as compared and restored (with the label of its
/// household, for the change list).
#[derive(sqlx::FromRow)]
struct ResRow {
    id: i64,
    household_id: Option<i64>,
    org_id: i64,
    name: String,
    gender: Code<Gender>,
    birth_date: NaiveDate,
    phone: Option<String>,
    note: Option<String>,
    updated_at: DateTime<Utc>,
    building_name: Option<String>,
    unit_no: Option<i32>,
    room: Option<String>,
}

/// The residents with these ids (integers, written as literals).
fn old_rows_sql(ids: &[i64]) -> String {
    format!(
        "SELECT r.id, r.household_id, r.org_id, r.name, r.gender, r.birth_date, r.phone, r.note, r.updated_at, \
         b.name AS building_name, h.unit_no, h.room FROM residents r \
         LEFT JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
         LEFT JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
         WHERE r.tenant_id = $1 AND r.id IN ({})",
        super::id_list(ids)
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hh {
    Old(i64),
    New(u32),
}

struct NewHh {
    building_id: i64,
    grid_id: i64,
    org_id: i64,
    unit_no: i64,
    room: String,
    tags: i64,
}

/// What the database holds, loaded once before the check pass.
struct Known {
    editable: HashSet<i64>,
    /// Grid code → (id, organisation).
    grids: HashMap<String, (i64, i64)>,
    /// (grid, building name) → (id, units, organisation).
    buildings: HashMap<(i64, String), (i64, i64, i64)>,
    /// (building, unit, room) → (id, tags).
    households: HashMap<(i64, i64, String), (i64, i64)>,
    /// Residents of the tenant by ID number key → (id, organisation).
    residents: HashMap<u64, (i64, i64)>,
}

impl Known {
    async fn load(db: &Db, p: &Principal) -> Result<Known, StoreError> {
        let t = p.tenant_id;
        let editable = editable_orgs(db, p).await?;
        let grids = db
            .all::<(String, i64, i64)>("SELECT code, id, org_id FROM grids WHERE tenant_id = $1", args![t])
            .await?
            .into_iter()
            .map(|(c, id, o)| (c, (id, o)))
            .collect();
        let buildings = db
            .all::<(i64, String, i64, i32, i64)>(
                "SELECT grid_id, name, id, units, org_id FROM buildings WHERE tenant_id = $1",
                args![t],
            )
            .await?
            .into_iter()
            .map(|(g, n, id, u, o)| ((g, n), (id, i64::from(u), o)))
            .collect();
        let households = db
            .all::<(i64, i32, String, i64, i64)>(
                "SELECT building_id, unit_no, room, id, tags FROM households WHERE tenant_id = $1",
                args![t],
            )
            .await?
            .into_iter()
            .map(|(b, u, r, id, tags)| ((b, i64::from(u), r), (id, tags)))
            .collect();
        // Streamed: the ID numbers are reduced to keys as they arrive.
        let mut residents = HashMap::new();
        db.each(
            "SELECT id_number, id, org_id FROM residents WHERE tenant_id = $1",
            args![t],
            |(n, id, org): (String, i64, i64)| {
                if let Ok(n) = IdNumber::parse(&n) {
                    residents.insert(id_key(&n), (id, org));
                }
                Ok(())
            },
        )
        .await?;
        Ok(Known { editable, grids, buildings, households, residents })
    }

    /// The building of a row: (grid, building, units, organisation), or the
    /// error naming the grid or building.
    fn building(&self, x: &Parsed) -> Result<(i64, i64, i64, i64), super::RowError> {
        let err = |key: &str, value: &str, reason: String| row_error(K, x.row, key, value, reason);
        let Some(&(grid_id, grid_org)) = self.grids.get(&x.grid_code) else {
            return Err(err("grid_code", &x.grid_code, format!("网格编码{}", i18n::IMPORT_UNKNOWN_REF)));
        };
        if !self.editable.contains(&grid_org) {
            return Err(err("grid_code", &x.grid_code, i18n::IMPORT_OUT_OF_SCOPE.into()));
        }
        match self.buildings.get(&(grid_id, x.building.clone())) {
            Some(&(building_id, units, org_id)) => Ok((grid_id, building_id, units, org_id)),
            None => Err(err("building", &x.building, format!("该网格中的楼栋{}", i18n::IMPORT_UNKNOWN_REF))),
        }
    }
}

/// What the pass learns of households: the new ones (in the order rows
/// introduce them) and the tag changes of existing ones.
#[derive(Default)]
struct Plan {
    new_hh: Vec<NewHh>,
    new_hh_index: HashMap<(i64, i64, String), u32>,
    /// Existing households whose tags change: id → (old tags, new tags).
    tag_changes: BTreeMap<i64, (i64, i64)>,
}

/// Compare a row with the resident it updates: the values to write (a blank
/// phone or note keeps the old one) and the fields that change.
fn compare(mut n: NewResident, hh: Hh, label: &str, o: &ResRow) -> (NewResident, Vec<FieldChange>) {
    if n.phone.is_none() {
        n.phone = o.phone.clone().and_then(|s| redcell_domain::Phone::parse(&s).ok());
    }
    if n.note.is_none() {
        n.note = o.note.clone();
    }
    let mut fields = Vec::new();
    let mut diff = |col: &str, header: &str, before: String, after: String| {
        if before != after {
            fields.push(FieldChange { column: header.into(), before: show(col, &before), after: show(col, &after) });
        }
    };
    let same_hh = matches!(hh, Hh::Old(id) if Some(id) == o.household_id);
    if !same_hh {
        let before = match (&o.building_name, o.unit_no, &o.room) {
            (Some(b), Some(u), Some(r)) => format!("{b}{u}单元{r}"),
            _ => String::new(),
        };
        diff("household", "住户", before, label.to_string());
    }
    diff("name", "姓名", o.name.clone(), n.name.clone());
    diff("gender", "性别", o.gender.0.label().into(), n.gender.label().into());
    diff("birth_date", "出生日期", o.birth_date.to_string(), n.birth_date.to_string());
    let text = |p: &Option<String>| p.clone().unwrap_or_default();
    diff("phone", "联系电话", text(&o.phone), n.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default());
    diff("note", "备注", text(&o.note), n.note.clone().unwrap_or_default());
    (n, fields)
}

/// A row that passed on its own and against what the database holds.
struct Good {
    x: Parsed,
    hh: Hh,
    org_id: i64,
    /// The resident it updates, if registered.
    old: Option<i64>,
}

/// Read the next chunk and check each row on its own, against what the
/// database holds and against the rows before it (duplicates); new
/// households are registered in the plan. `None` at the end of the file.
fn read_and_check(
    rows: &mut DataRows<'_, '_>,
    chunk: &mut Vec<InRow>,
    today: NaiveDate,
    known: &Known,
    plan: &mut Plan,
    seen: &mut HashMap<u64, u32>,
    errors: &mut Vec<super::RowError>,
) -> Result<Option<(u64, Vec<Good>)>, redcell_docs::read::ReadError> {
    rows.next_chunk(CHUNK, chunk)?;
    if chunk.is_empty() {
        return Ok(None);
    }
    let read = chunk.len() as u64;
    let mut good = Vec::with_capacity(chunk.len());
    for r in chunk.drain(..) {
        let x = match parse(&r, today) {
            Ok(x) => x,
            Err(errs) => {
                errors.extend(errs);
                continue;
            }
        };
        let (grid_id, building_id, units, org_id) = match known.building(&x) {
            Ok(b) => b,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let key = id_key(&x.res.id_number);
        let id_text = x.res.id_number.as_str();
        let err = |k: &str, value: &str, reason: String| row_error(K, x.row, k, value, reason);
        let mut bad = false;
        if x.unit_no > units {
            errors.push(err("unit_no", &x.unit_no.to_string(), format!("该楼栋只有{units}个单元")));
            bad = true;
        }
        if let Some(first) = seen.get(&key) {
            errors.push(err("id_number", id_text, format!("{}{first}行", i18n::IMPORT_DUPLICATE_IN_FILE)));
            bad = true;
        }
        let old = known.residents.get(&key).copied();
        if let Some((_, org)) = old
            && !known.editable.contains(&org)
        {
            errors.push(err("id_number", id_text, format!("该居民{}", i18n::IMPORT_OUT_OF_SCOPE)));
            bad = true;
        }
        if bad {
            continue;
        }
        seen.insert(key, x.row);
        let hh_key = (building_id, x.unit_no, x.room.clone());
        let hh = match known.households.get(&hh_key) {
            Some(&(id, tags)) => {
                if let Some(t) = x.tags {
                    plan.tag_changes.entry(id).or_insert((tags, tags)).1 |= t;
                }
                Hh::Old(id)
            }
            None => {
                let next = plan.new_hh.len() as u32;
                let idx = *plan.new_hh_index.entry(hh_key).or_insert(next);
                if idx == next {
                    plan.new_hh.push(NewHh {
                        building_id,
                        grid_id,
                        org_id,
                        unit_no: x.unit_no,
                        room: x.room.clone(),
                        tags: 0,
                    });
                }
                plan.new_hh[idx as usize].tags |= x.tags.unwrap_or(0);
                Hh::New(idx)
            }
        };
        good.push(Good { x, hh, org_id, old: old.map(|(id, _)| id) });
    }
    Ok(Some((read, good)))
}

/// The writing side of a committing pass: the one transaction, and what it
/// has written so far.
struct Writer {
    tx: Tx,
    ids: super::Reserver,
    at: DateTime<Utc>,
    /// Ids given to the plan's new households, in plan order (those inserted so far).
    hh_ids: Vec<i64>,
    /// The tags each new household was inserted with.
    hh_tags: Vec<i64>,
    new_res: Vec<i64>,
    prior_res: Vec<(i64, super::Prior)>,
    /// Statements of the last chunk, run while the next one is read.
    pending: Vec<(String, Args)>,
    /// False once a row has an error: nothing more is written and the
    /// transaction is rolled back at the end.
    writing: bool,
}

impl Writer {
    /// The household id of a row (its new household inserted already).
    fn hh_id(&self, hh: Hh) -> i64 {
        match hh {
            Hh::Old(id) => id,
            Hh::New(i) => self.hh_ids[i as usize],
        }
    }

    /// Queue the writes of one checked chunk: the new households it
    /// introduced, the residents it changes (prior values kept for undo) and
    /// the new ones, with multi-row statements.
    async fn chunk(
        &mut self,
        t: i64,
        plan: &Plan,
        new: Vec<(Hh, i64, NewResident)>,
        changed: Vec<(Hh, i64, NewResident, &ResRow)>,
    ) -> Result<(), StoreError> {
        let backend = self.tx.backend();
        let fresh = &plan.new_hh[self.hh_ids.len()..];
        if !fresh.is_empty() {
            let first = self.ids.reserve(&mut self.tx, "households", fresh.len()).await?;
            let rows: Vec<HouseholdRecord> = fresh
                .iter()
                .enumerate()
                .map(|(i, h)| HouseholdRecord {
                    id: HouseholdId::new(first + i as i64),
                    building_id: BuildingId::new(h.building_id),
                    grid_id: GridId::new(h.grid_id),
                    org_id: OrgId::new(h.org_id),
                    unit_no: h.unit_no,
                    room: h.room.clone(),
                    tags: h.tags,
                    note: None,
                })
                .collect();
            self.pending.extend(crate::registry::households::insert_statements(backend, t, self.at, &rows, CHUNK));
            self.hh_ids.extend(rows.iter().map(|r| r.id.get()));
            self.hh_tags.extend(fresh.iter().map(|h| h.tags));
        }
        for (hh, org, n, o) in changed {
            let hh = self.hh_id(hh);
            self.pending.push((
                "UPDATE residents SET household_id = $1, org_id = $2, name = $3, gender = $4, birth_date = $5, phone = $6, note = $7, updated_at = $8 \
                 WHERE tenant_id = $9 AND id = $10"
                    .into(),
                args![Some(hh), org, n.name.clone(), n.gender.code(), n.birth_date,
                    n.phone.as_ref().map(|x| x.as_str().to_string()), n.note.clone(), self.at, t, o.id],
            ));
            let mut m = BTreeMap::new();
            m.insert("household_id".to_string(), serde_json::json!(o.household_id));
            m.insert("org_id".to_string(), serde_json::json!(o.org_id));
            m.insert("name".to_string(), serde_json::json!(o.name));
            m.insert("gender".to_string(), serde_json::json!(o.gender.0.code()));
            m.insert("birth_date".to_string(), serde_json::json!(o.birth_date));
            m.insert("phone".to_string(), serde_json::json!(o.phone));
            m.insert("note".to_string(), serde_json::json!(o.note));
            m.insert("updated_at".to_string(), serde_json::json!(o.updated_at));
            self.prior_res.push((o.id, m));
        }
        if new.is_empty() {
            return Ok(());
        }
        let first = self.ids.reserve(&mut self.tx, "residents", new.len()).await?;
        let rows: Vec<ResidentRecord> = new
            .into_iter()
            .enumerate()
            .map(|(i, (hh, org, n))| ResidentRecord {
                id: ResidentId::new(first + i as i64),
                household_id: Some(HouseholdId::new(self.hh_id(hh))),
                org_id: OrgId::new(org),
                name: n.name,
                gender: n.gender,
                birth_date: n.birth_date,
                id_number: n.id_number.into_string(),
                phone: n.phone.map(|x| x.into_string()),
                note: n.note,
            })
            .collect();
        self.new_res.extend(rows.iter().map(|r| r.id.get()));
        self.pending.extend(crate::registry::residents::insert_statements(backend, t, self.at, &rows, CHUNK));
        Ok(())
    }

    /// Tags of households: new ones that gained tags from rows further down
    /// than the row that created them, and existing ones (prior values kept).
    async fn tags(&mut self, t: i64, plan: &Plan, undo: &mut Undo) -> Result<(), StoreError> {
        for (i, h) in plan.new_hh.iter().enumerate() {
            if h.tags != self.hh_tags[i] {
                self.tx
                    .exec(
                        "UPDATE households SET tags = $1 WHERE tenant_id = $2 AND id = $3",
                        args![h.tags, t, self.hh_ids[i]],
                    )
                    .await?;
            }
        }
        let mut prior_hh = Vec::new();
        let tag_ids: Vec<i64> = plan.tag_changes.keys().copied().collect();
        for ids in tag_ids.chunks(500) {
            let stamps: HashMap<i64, DateTime<Utc>> = self
                .tx
                .all::<(i64, DateTime<Utc>)>(
                    &format!(
                        "SELECT id, updated_at FROM households WHERE tenant_id = $1 AND id IN ({})",
                        super::id_list(ids)
                    ),
                    args![t],
                )
                .await?
                .into_iter()
                .collect();
            for id in ids {
                let (old, new) = plan.tag_changes[id];
                self.tx
                    .exec(
                        "UPDATE households SET tags = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
                        args![new, self.at, t, *id],
                    )
                    .await?;
                let mut m = BTreeMap::new();
                m.insert("tags".to_string(), serde_json::json!(old));
                m.insert("updated_at".to_string(), serde_json::json!(stamps.get(id)));
                prior_hh.push((*id, m));
            }
        }
        if !prior_hh.is_empty() {
            undo.changed.insert("households".into(), prior_hh);
        }
        Ok(())
    }
}

/// Run statements in order.
async fn run_all(tx: &mut Tx, statements: Vec<(String, Args)>) -> Result<(), StoreError> {
    for (sql, a) in statements {
        tx.exec(&sql, a).await?;
    }
    Ok(())
}

/// Check the file and, when `commit`, write it in the same single pass: the
/// transaction is opened first and each chunk's rows are written as soon as
/// they are checked, so a clean file is read once. The first row with an
/// error stops the writing; the checking goes on to the end of the file, so
/// that every error is reported, and the transaction is then rolled back:
/// nothing of a file with errors is ever committed.
pub(super) async fn run(
    db: &Db,
    p: &Principal,
    up: &Upload<'_>,
    commit: bool,
    report: &mut Report,
    progress: Progress<'_>,
) -> Result<(), StoreError> {
    let t = p.tenant_id;
    let Some(mut book) = open(up, report) else {
        return Ok(());
    };
    let Some(mut rows) = DataRows::start(&mut book, K, report) else {
        return Ok(());
    };
    // On SQLite `begin` takes the write lock, so what `Known` loads (after
    // it) cannot change before the commit.
    let mut w = match commit {
        true => Some(Writer {
            tx: db.begin().await?,
            ids: super::Reserver::default(),
            at: now(),
            hh_ids: Vec::new(),
            hh_tags: Vec::new(),
            new_res: Vec::new(),
            prior_res: Vec::new(),
            pending: Vec::new(),
            writing: true,
        }),
        false => None,
    };
    let known = Known::load(db, p).await?;
    let mut plan = Plan::default();
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut counts = Counts::default();
    let mut chunk = Vec::with_capacity(CHUNK);
    let stage = if commit { Stage::Writing } else { Stage::Checking };
    loop {
        // The statements of the last chunk run (SQLite: in its own thread;
        // PostgreSQL: in the server) while this chunk is read and checked.
        let mut check =
            || read_and_check(&mut rows, &mut chunk, up.today, &known, &mut plan, &mut seen, &mut report.errors);
        let read = match &mut w {
            Some(w) => {
                let statements = std::mem::take(&mut w.pending);
                let (written, read) = tokio::join!(run_all(&mut w.tx, statements), async { check() });
                written?;
                read
            }
            None => check(),
        };
        let good = match read {
            Ok(Some((n, good))) => {
                counts.rows += n;
                good
            }
            Ok(None) => break,
            Err(e) => {
                report.file_error(e.message());
                return Ok(());
            }
        };
        // The existing residents of this chunk, in one query (locked on
        // PostgreSQL until the commit).
        let ids: Vec<i64> = good.iter().filter_map(|g| g.old).collect();
        let olds: HashMap<i64, ResRow> = if ids.is_empty() {
            HashMap::new()
        } else {
            let rows = match &mut w {
                Some(w) => {
                    let lock = if w.tx.backend() == crate::db::Backend::Postgres { " FOR UPDATE OF r" } else { "" };
                    w.tx.all::<ResRow>(&format!("{}{lock}", old_rows_sql(&ids)), args![t]).await?
                }
                None => db.all::<ResRow>(&old_rows_sql(&ids), args![t]).await?,
            };
            rows.into_iter().map(|o| (o.id, o)).collect()
        };
        let mut new = Vec::new();
        let mut changed = Vec::new();
        for g in good {
            let Some(o) = g.old.and_then(|id| olds.get(&id)) else {
                counts.new += 1;
                new.push((g.hh, g.org_id, g.x.res));
                continue;
            };
            let label = format!("{}{}单元{}", g.x.building, g.x.unit_no, g.x.room);
            let (n, fields) = compare(g.x.res, g.hh, &label, o);
            if fields.is_empty() {
                counts.unchanged += 1;
                continue;
            }
            counts.changed += 1;
            report.changes.push(RowChange {
                row: g.x.row,
                key: format!("{} {}", n.name, n.id_number.masked()),
                fields,
            });
            changed.push((g.hh, g.org_id, n, o));
        }
        if let Some(w) = &mut w {
            w.writing &= report.errors.is_empty();
            if w.writing {
                w.chunk(t, &plan, new, changed).await?;
            }
        }
        progress(stage, counts.rows);
    }
    if counts.rows == 0 {
        report.file_error(i18n::IMPORT_NO_ROWS.into());
        return Ok(());
    }
    plan.tag_changes.retain(|_, (old, new)| old != new);
    report.counts.rows = counts.rows;
    report.counts.new = counts.new;
    report.counts.changed = counts.changed;
    report.counts.unchanged = counts.unchanged;
    let Some(mut w) = w else {
        return Ok(());
    };
    if !report.errors.is_empty() {
        // Dropping the transaction rolls back what was written.
        return Ok(());
    }
    let statements = std::mem::take(&mut w.pending);
    run_all(&mut w.tx, statements).await?;
    let mut undo = Undo::default();
    w.tags(t, &plan, &mut undo).await?;
    undo.created.insert("households".into(), std::mem::take(&mut w.hh_ids));
    undo.created.insert("residents".into(), std::mem::take(&mut w.new_res));
    if !w.prior_res.is_empty() {
        undo.changed.insert("residents".into(), std::mem::take(&mut w.prior_res));
    }
    let id = write_batch(&mut w.tx, p, up, w.at, &counts, &undo).await?;
    w.tx.commit().await?;
    report.batch_id = Some(id);
    Ok(())
}
