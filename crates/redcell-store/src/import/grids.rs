//! Grids and their buildings: one row per building (or a row with the
//! building columns blank for a grid alone). Grids are upserted by code,
//! buildings by (grid, building name).

use super::{
    Counts, FieldChange, InRow, Progress, Report, RowChange, RowErrors, Undo, Upload, editable_orgs, now, read_each,
    reserve_ids, write_batch,
};
use crate::args;
use crate::db::Db;
use crate::error::StoreError;
use crate::registry::buildings::BuildingRecord;
use crate::registry::grids::GridRecord;
use crate::scope::Principal;
use redcell_domain::i18n;
use redcell_domain::ids::*;
use redcell_domain::input::{NewBuilding, NewGrid, RawBuilding, RawGrid};
use redcell_domain::rosters::{ImportKind, normalise_text};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

const K: ImportKind = ImportKind::Grids;

struct Parsed {
    row: u32,
    org_code: String,
    grid: NewGrid,
    building: Option<NewBuilding>,
}

fn parse(r: &InRow) -> Result<Parsed, Vec<super::RowError>> {
    let mut e = RowErrors::new(K, r);
    e.check_cells(&[]);
    let org_code = normalise_text(&r.text(K, "org_code"));
    if org_code.is_empty() {
        e.push("org_code", i18n::REQUIRED);
    }
    let grid = RawGrid {
        org_id: Some("1".into()),
        code: Some(normalise_text(&r.text(K, "code"))),
        name: r.opt(K, "name"),
        description: r.opt(K, "description"),
    }
    .validate();
    if let Err(x) = &grid {
        e.invalid(x, &|f| f.to_string());
    }
    let has_building = ["building", "address", "units", "floors"].iter().any(|k| !r.text(K, k).trim().is_empty());
    let building = if has_building {
        let b = RawBuilding {
            grid_id: Some("1".into()),
            name: r.opt(K, "building"),
            address: r.opt(K, "address"),
            units: Some(normalise_text(&r.text(K, "units"))),
            floors: Some(normalise_text(&r.text(K, "floors"))),
            ..Default::default()
        }
        .validate();
        match b {
            Ok(b) => Some(b),
            Err(x) => {
                e.invalid(&x, &|f| if f == "name" { "building".into() } else { f.to_string() });
                None
            }
        }
    } else {
        None
    };
    match (grid, e.is_empty()) {
        (Ok(grid), true) => Ok(Parsed { row: r.row, org_code, grid, building }),
        _ => Err(e.out),
    }
}

#[derive(sqlx::FromRow, Clone)]
struct GridRow {
    id: i64,
    code: String,
    org_id: i64,
    name: String,
    description: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(sqlx::FromRow, Clone)]
struct BuildingRow {
    id: i64,
    grid_id: i64,
    name: String,
    address: String,
    units: i32,
    floors: i32,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Copy)]
enum G {
    Old(i64),
    New(usize),
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
    // A small kind: its rows are kept (see the module comment of `import`).
    let mut rows: Vec<InRow> = Vec::new();
    if read_each(up, report, progress, &mut |r| rows.push(r)).is_none() {
        return Ok(());
    }
    let editable = editable_orgs(db, p).await?;
    let orgs: HashMap<String, i64> = db
        .all::<(String, i64)>("SELECT code, id FROM orgs WHERE tenant_id = $1", args![t])
        .await?
        .into_iter()
        .collect();
    let grids: HashMap<String, GridRow> = db
        .all::<GridRow>(
            "SELECT id, code, org_id, name, description, updated_at FROM grids WHERE tenant_id = $1",
            args![t],
        )
        .await?
        .into_iter()
        .map(|g| (g.code.clone(), g))
        .collect();
    let buildings: HashMap<(i64, String), BuildingRow> = db
        .all::<BuildingRow>(
            "SELECT id, grid_id, name, address, units, floors, updated_at FROM buildings WHERE tenant_id = $1",
            args![t],
        )
        .await?
        .into_iter()
        .map(|b| ((b.grid_id, b.name.clone()), b))
        .collect();

    // Grids of the file: code -> (first row, org, values).
    let mut file_grids: HashMap<String, (u32, i64, NewGrid)> = HashMap::new();
    let mut new_grids: Vec<(String, i64, NewGrid)> = Vec::new();
    let mut new_index: HashMap<String, usize> = HashMap::new();
    let mut changed_grids: Vec<(GridRow, i64, NewGrid)> = Vec::new();
    let mut new_buildings: Vec<(G, i64, NewBuilding)> = Vec::new();
    let mut changed_buildings: Vec<(BuildingRow, NewBuilding)> = Vec::new();
    let mut seen_buildings: HashMap<(String, String), u32> = HashMap::new();
    let mut counts = Counts { rows: report.counts.rows, ..Counts::default() };
    for r in &rows {
        let x = match parse(r) {
            Ok(x) => x,
            Err(errs) => {
                report.errors.extend(errs);
                continue;
            }
        };
        let mut e = RowErrors::new(K, r);
        let Some(&org_id) = orgs.get(&x.org_code) else {
            e.push("org_code", format!("组织编码{}", i18n::IMPORT_UNKNOWN_REF));
            report.errors.extend(e.out);
            continue;
        };
        if !editable.contains(&org_id) {
            e.push("org_code", i18n::IMPORT_OUT_OF_SCOPE);
        }
        let code = x.grid.code.as_str().to_string();
        let old = grids.get(&code);
        if let Some(o) = old {
            if !editable.contains(&o.org_id) {
                e.push("code", format!("该网格{}", i18n::IMPORT_OUT_OF_SCOPE));
            } else if o.org_id != org_id {
                e.push("org_code", "导入不能改变网格所属的组织，请在网格页面修改");
            }
        }
        match file_grids.get(&code) {
            Some((first, o, g)) if *o != org_id || g.name != x.grid.name || g.description != x.grid.description => {
                e.push("name", format!("同一网格在第{first}行的名称、说明或所属组织与本行不同"));
            }
            _ => {}
        }
        if let Some(b) = &x.building
            && let Some(first) = seen_buildings.get(&(code.clone(), b.name.clone()))
        {
            e.push("building", format!("{}{first}行", i18n::IMPORT_DUPLICATE_IN_FILE));
        }
        if !e.is_empty() {
            report.errors.extend(e.out);
            continue;
        }
        let mut row_new = false;
        let mut fields = Vec::new();
        let first_time = !file_grids.contains_key(&code);
        file_grids.entry(code.clone()).or_insert((x.row, org_id, x.grid.clone()));
        let g = match old {
            Some(o) => {
                if first_time {
                    let mut diff = |c: &str, a: String, b: String| {
                        if a != b {
                            fields.push(FieldChange { column: c.into(), before: a, after: b });
                        }
                    };
                    diff("网格名称", o.name.clone(), x.grid.name.clone());
                    diff(
                        "网格说明",
                        o.description.clone().unwrap_or_default(),
                        x.grid.description.clone().unwrap_or_default(),
                    );
                    if !fields.is_empty() {
                        changed_grids.push((o.clone(), org_id, x.grid.clone()));
                    }
                }
                G::Old(o.id)
            }
            None => {
                let idx = *new_index.entry(code.clone()).or_insert_with(|| {
                    row_new = true;
                    new_grids.push((code.clone(), org_id, x.grid.clone()));
                    new_grids.len() - 1
                });
                G::New(idx)
            }
        };
        if let Some(b) = x.building {
            seen_buildings.insert((code.clone(), b.name.clone()), x.row);
            let existing = match g {
                G::Old(gid) => buildings.get(&(gid, b.name.clone())),
                G::New(_) => None,
            };
            match existing {
                Some(ob) => {
                    let mut diff = |c: &str, a: String, b: String| {
                        if a != b {
                            fields.push(FieldChange { column: c.into(), before: a, after: b });
                        }
                    };
                    diff("楼栋地址", ob.address.clone(), b.address.clone());
                    diff("单元数", ob.units.to_string(), b.units.to_string());
                    diff("层数", ob.floors.to_string(), b.floors.to_string());
                    if ob.units as i64 != b.units || ob.floors as i64 != b.floors || ob.address != b.address {
                        changed_buildings.push((ob.clone(), b));
                    }
                }
                None => {
                    row_new = true;
                    new_buildings.push((g, org_id, b));
                }
            }
        }
        if row_new {
            counts.new += 1;
        } else if !fields.is_empty() {
            counts.changed += 1;
            report.changes.push(RowChange { row: x.row, key: code.clone(), fields });
        } else {
            counts.unchanged += 1;
        }
    }
    report.counts.new = counts.new;
    report.counts.changed = counts.changed;
    report.counts.unchanged = counts.unchanged;
    if !report.errors.is_empty() || !commit {
        return Ok(());
    }

    let at = now();
    let mut undo = Undo::default();
    let mut tx = db.begin().await?;
    let first_grid = reserve_ids(&mut tx, "grids", new_grids.len()).await?;
    let grid_rows: Vec<GridRecord> = new_grids
        .iter()
        .enumerate()
        .map(|(i, (code, org_id, g))| GridRecord {
            id: GridId::new(first_grid + i as i64),
            org_id: OrgId::new(*org_id),
            code: code.clone(),
            name: g.name.clone(),
            description: g.description.clone(),
        })
        .collect();
    crate::registry::grids::insert(&mut tx, t, at, &grid_rows).await?;
    let created: Vec<i64> = grid_rows.iter().map(|g| g.id.get()).collect();
    undo.created.insert("grids".into(), created);
    let mut prior = Vec::new();
    for (o, _, g) in &changed_grids {
        tx.exec(
            "UPDATE grids SET name = $1, description = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5",
            args![g.name.clone(), g.description.clone(), at, t, o.id],
        )
        .await?;
        let m: BTreeMap<String, serde_json::Value> = [
            ("name".to_string(), json!(o.name)),
            ("description".to_string(), json!(o.description)),
            ("updated_at".to_string(), json!(o.updated_at)),
        ]
        .into();
        prior.push((o.id, m));
    }
    if !prior.is_empty() {
        undo.changed.insert("grids".into(), prior);
    }
    let first_b = reserve_ids(&mut tx, "buildings", new_buildings.len()).await?;
    let building_rows: Vec<BuildingRecord> = new_buildings
        .iter()
        .enumerate()
        .map(|(i, (g, org_id, b))| BuildingRecord {
            id: BuildingId::new(first_b + i as i64),
            grid_id: match g {
                G::Old(id) => GridId::new(*id),
                G::New(i) => GridId::new(first_grid + *i as i64),
            },
            org_id: OrgId::new(*org_id),
            name: b.name.clone(),
            address: b.address.clone(),
            units: b.units,
            floors: b.floors,
            x: b.x,
            y: b.y,
            lat: b.lat,
            lon: b.lon,
        })
        .collect();
    crate::registry::buildings::insert(&mut tx, t, at, &building_rows).await?;
    let created: Vec<i64> = building_rows.iter().map(|b| b.id.get()).collect();
    undo.created.insert("buildings".into(), created);
    let mut prior = Vec::new();
    for (o, b) in &changed_buildings {
        tx.exec(
            "UPDATE buildings SET address = $1, units = $2, floors = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6",
            args![b.address.clone(), b.units, b.floors, at, t, o.id],
        )
        .await?;
        let m: BTreeMap<String, serde_json::Value> = [
            ("address".to_string(), json!(o.address)),
            ("units".to_string(), json!(o.units)),
            ("floors".to_string(), json!(o.floors)),
            ("updated_at".to_string(), json!(o.updated_at)),
        ]
        .into();
        prior.push((o.id, m));
    }
    if !prior.is_empty() {
        undo.changed.insert("buildings".into(), prior);
    }
    let id = write_batch(&mut tx, p, up, at, &counts, &undo).await?;
    tx.commit().await?;
    report.batch_id = Some(id);
    Ok(())
}
