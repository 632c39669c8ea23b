//! Households and residents in one sheet, one row per resident. Households
//! are keyed by (grid code, building name, unit, room) and created when new;
//! residents are upserted by ID number. A blank optional cell (phone, note,
//! tags) keeps what the database holds.

use super::{
    Counts, FieldChange, InRow, Progress, Report, RowChange, RowErrors, Stage, Undo, Upload, editable_orgs, now,
    read_each, reserve_ids, row_error, show, write_batch,
};
use crate::db::{Arg, Db};
use crate::demo::bulk;
use crate::error::StoreError;
use crate::scope::Principal;
use crate::{Code, args};
use chrono::NaiveDate;
use redcell_domain::input::{NewResident, RawHousehold, RawResident};
use redcell_domain::rosters::{ImportKind, normalise_date, normalise_text, split_list};
use redcell_domain::{Gender, i18n};
use std::collections::{BTreeMap, HashMap};

const K: ImportKind = ImportKind::Households;

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

#[derive(sqlx::FromRow)]
struct ResRow {
    id: i64,
    id_number: String,
    household_id: Option<i64>,
    org_id: i64,
    name: String,
    gender: Code<Gender>,
    birth_date: NaiveDate,
    phone: Option<String>,
    note: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hh {
    Old(i64),
    New(usize),
}

struct NewHh {
    building_id: i64,
    grid_id: i64,
    org_id: i64,
    unit_no: i64,
    room: String,
    tags: i64,
}

struct Plan {
    new_hh: Vec<NewHh>,
    /// Existing households whose tags change: (id, new tags, old tags).
    hh_tags: Vec<(i64, i64, i64)>,
    new_res: Vec<(Hh, i64, NewResident)>,
    /// Existing residents that change: (household, org, new values, prior row).
    changed_res: Vec<(Hh, i64, NewResident, ResRow)>,
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
    // Each row is parsed as it is read; its cells are dropped at once.
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
    let editable = editable_orgs(db, p).await?;
    let grids: HashMap<String, (i64, i64)> = db
        .all::<(String, i64, i64)>("SELECT code, id, org_id FROM grids WHERE tenant_id = $1", args![t])
        .await?
        .into_iter()
        .map(|(c, id, o)| (c, (id, o)))
        .collect();
    let buildings: HashMap<(i64, String), (i64, i64, i64)> = db
        .all::<(i64, String, i64, i32, i64)>(
            "SELECT grid_id, name, id, units, org_id FROM buildings WHERE tenant_id = $1",
            args![t],
        )
        .await?
        .into_iter()
        .map(|(g, n, id, u, o)| ((g, n), (id, i64::from(u), o)))
        .collect();
    let mut households: HashMap<(i64, i64, String), (i64, i64)> = db
        .all::<(i64, i32, String, i64, i64)>(
            "SELECT building_id, unit_no, room, id, tags FROM households WHERE tenant_id = $1",
            args![t],
        )
        .await?
        .into_iter()
        .map(|(b, u, r, id, tags)| ((b, i64::from(u), r), (id, tags)))
        .collect();
    let mut residents: HashMap<String, ResRow> = db
        .all::<ResRow>(
            "SELECT id, id_number, household_id, org_id, name, gender, birth_date, phone, note FROM residents WHERE tenant_id = $1",
            args![t],
        )
        .await?
        .into_iter()
        .map(|r| (r.id_number.clone(), r))
        .collect();
    let labels: HashMap<i64, String> = db
        .all::<(i64, String, i32, String)>(
            "SELECT h.id, b.name, h.unit_no, h.room FROM households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id WHERE h.tenant_id = $1 AND h.id IN (SELECT household_id FROM residents WHERE tenant_id = $1)",
            args![t],
        )
        .await
        .map(|v| v.into_iter().map(|(id, b, u, r)| (id, format!("{b}{u}单元{r}"))).collect())
        .unwrap_or_default();

    let mut plan = Plan { new_hh: Vec::new(), hh_tags: Vec::new(), new_res: Vec::new(), changed_res: Vec::new() };
    let mut new_hh_index: HashMap<(i64, i64, String), usize> = HashMap::new();
    let mut tag_changes: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut seen_ids: HashMap<String, u32> = HashMap::new();
    let mut counts = Counts { rows: report.counts.rows, ..Counts::default() };
    for (i, x) in parsed.into_iter().enumerate() {
        if i.is_multiple_of(50_000) {
            progress(Stage::Checking, i as u64);
        }
        let id_text = x.res.id_number.as_str().to_string();
        let err = |key: &str, value: &str, reason: String| row_error(K, x.row, key, value, reason);
        let Some(&(grid_id, grid_org)) = grids.get(&x.grid_code) else {
            report.errors.push(err("grid_code", &x.grid_code, format!("网格编码{}", i18n::IMPORT_UNKNOWN_REF)));
            continue;
        };
        if !editable.contains(&grid_org) {
            report.errors.push(err("grid_code", &x.grid_code, i18n::IMPORT_OUT_OF_SCOPE.into()));
            continue;
        }
        let Some(&(building_id, units, org_id)) = buildings.get(&(grid_id, x.building.clone())) else {
            report.errors.push(err("building", &x.building, format!("该网格中的楼栋{}", i18n::IMPORT_UNKNOWN_REF)));
            continue;
        };
        let mut bad = false;
        if x.unit_no > units {
            report.errors.push(err("unit_no", &x.unit_no.to_string(), format!("该楼栋只有{units}个单元")));
            bad = true;
        }
        if let Some(first) = seen_ids.get(id_text.as_str()) {
            report.errors.push(err("id_number", &id_text, format!("{}{first}行", i18n::IMPORT_DUPLICATE_IN_FILE)));
            bad = true;
        }
        let old = residents.get(id_text.as_str());
        if let Some(o) = old
            && !editable.contains(&o.org_id)
        {
            report.errors.push(err("id_number", &id_text, format!("该居民{}", i18n::IMPORT_OUT_OF_SCOPE)));
            bad = true;
        }
        if bad {
            continue;
        }
        seen_ids.insert(x.res.id_number.as_str().to_string(), x.row);
        let key = (building_id, x.unit_no, x.room.clone());
        let hh = match households.get(&key) {
            Some(&(id, tags)) => {
                if let Some(t) = x.tags {
                    let entry = tag_changes.entry(id).or_insert((tags, tags));
                    entry.1 |= t;
                }
                Hh::Old(id)
            }
            None => {
                let idx = *new_hh_index.entry(key.clone()).or_insert_with(|| {
                    plan.new_hh.push(NewHh {
                        building_id,
                        grid_id,
                        org_id,
                        unit_no: x.unit_no,
                        room: x.room.clone(),
                        tags: 0,
                    });
                    plan.new_hh.len() - 1
                });
                plan.new_hh[idx].tags |= x.tags.unwrap_or(0);
                Hh::New(idx)
            }
        };
        let label = format!("{}{}单元{}", x.building, x.unit_no, x.room);
        match residents.remove(x.res.id_number.as_str()) {
            None => {
                counts.new += 1;
                plan.new_res.push((hh, org_id, x.res));
            }
            Some(o) => {
                let mut n = x.res;
                if n.phone.is_none() {
                    n.phone = o.phone.clone().and_then(|s| redcell_domain::Phone::parse(&s).ok());
                }
                if n.note.is_none() {
                    n.note = o.note.clone();
                }
                let mut fields = Vec::new();
                let mut diff = |col: &str, header: &str, before: String, after: String| {
                    if before != after {
                        fields.push(FieldChange {
                            column: header.into(),
                            before: show(col, &before),
                            after: show(col, &after),
                        });
                    }
                };
                let same_hh = matches!(hh, Hh::Old(id) if Some(id) == o.household_id);
                if !same_hh {
                    let before = o.household_id.and_then(|h| labels.get(&h).cloned()).unwrap_or_default();
                    diff("household", "住户", before, label.clone());
                }
                diff("name", "姓名", o.name.clone(), n.name.clone());
                diff("gender", "性别", o.gender.0.label().into(), n.gender.label().into());
                diff("birth_date", "出生日期", o.birth_date.to_string(), n.birth_date.to_string());
                let phone = |p: &Option<String>| p.clone().unwrap_or_default();
                diff(
                    "phone",
                    "联系电话",
                    phone(&o.phone),
                    n.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
                );
                diff("note", "备注", phone(&o.note), n.note.clone().unwrap_or_default());
                if fields.is_empty() {
                    counts.unchanged += 1;
                } else {
                    counts.changed += 1;
                    report.changes.push(RowChange {
                        row: x.row,
                        key: format!("{} {}", n.name, n.id_number.masked()),
                        fields,
                    });
                    plan.changed_res.push((hh, org_id, n, o));
                }
            }
        }
    }
    for (id, (old, new)) in tag_changes {
        if old != new {
            plan.hh_tags.push((id, new, old));
        }
    }
    households.clear();
    report.counts.new = counts.new;
    report.counts.changed = counts.changed;
    report.counts.unchanged = counts.unchanged;
    if !report.errors.is_empty() || !commit {
        return Ok(());
    }
    counts.rows = report.counts.rows;
    progress(Stage::Writing, 0);
    let batch = write(db, p, up, &counts, plan, progress).await?;
    report.batch_id = Some(batch);
    Ok(())
}

async fn write(
    db: &Db,
    p: &Principal,
    up: &Upload<'_>,
    counts: &Counts,
    plan: Plan,
    progress: Progress<'_>,
) -> Result<i64, StoreError> {
    let t = p.tenant_id;
    let at = now();
    let mut undo = Undo::default();
    let mut tx = db.begin().await?;
    let first_hh = reserve_ids(&mut tx, "households", plan.new_hh.len()).await?;
    let first_res = reserve_ids(&mut tx, "residents", plan.new_res.len()).await?;
    let shared = [Arg::I64(t), Arg::Ts(at)];
    let hh_rows: Vec<(i64, &NewHh)> = plan.new_hh.iter().enumerate().map(|(i, h)| (first_hh + i as i64, h)).collect();
    bulk(
        &mut tx,
        "INSERT INTO households (id, tenant_id, building_id, grid_id, org_id, unit_no, room, tags, note, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,NULL,$2,$2)",
        &shared,
        &hh_rows,
        |(id, h), a| {
            a.0.extend([
                Arg::I64(*id),
                Arg::I64(h.building_id),
                Arg::I64(h.grid_id),
                Arg::I64(h.org_id),
                Arg::I64(h.unit_no),
                Arg::Text(h.room.clone()),
                Arg::I64(h.tags),
            ])
        },
    )
    .await?;
    undo.created.insert("households".into(), hh_rows.iter().map(|(id, _)| *id).collect());
    progress(Stage::Writing, hh_rows.len() as u64);
    let hh_id = |h: Hh| match h {
        Hh::Old(id) => id,
        Hh::New(i) => first_hh + i as i64,
    };
    let res_rows: Vec<(i64, i64, i64, &NewResident)> =
        plan.new_res.iter().enumerate().map(|(i, (h, org, n))| (first_res + i as i64, hh_id(*h), *org, n)).collect();
    for (k, chunk) in res_rows.chunks(50_000).enumerate() {
        bulk(
            &mut tx,
            "INSERT INTO residents (id, tenant_id, household_id, org_id, name, gender, birth_date, id_number, phone, note, created_at, updated_at) VALUES ",
            "(?,$1,?,?,?,?,?,?,?,?,$2,$2)",
            &shared,
            chunk,
            |(id, hh, org, n), a| {
                a.0.extend([
                    Arg::I64(*id),
                    Arg::OptI64(Some(*hh)),
                    Arg::I64(*org),
                    Arg::Text(n.name.clone()),
                    Arg::Text(n.gender.code().into()),
                    Arg::Date(n.birth_date),
                    Arg::Text(n.id_number.as_str().into()),
                    Arg::OptText(n.phone.as_ref().map(|x| x.as_str().to_string())),
                    Arg::OptText(n.note.clone()),
                ])
            },
        )
        .await?;
        progress(Stage::Writing, (hh_rows.len() + (k + 1) * 50_000).min(hh_rows.len() + res_rows.len()) as u64);
    }
    undo.created.insert("residents".into(), res_rows.iter().map(|r| r.0).collect());
    let mut prior_hh = Vec::new();
    for (id, new, old) in &plan.hh_tags {
        let (updated_at,): (chrono::DateTime<chrono::Utc>,) =
            tx.one("SELECT updated_at FROM households WHERE tenant_id = $1 AND id = $2", args![t, *id]).await?;
        tx.exec(
            "UPDATE households SET tags = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
            args![*new, at, t, *id],
        )
        .await?;
        let mut m = BTreeMap::new();
        m.insert("tags".to_string(), serde_json::json!(old));
        m.insert("updated_at".to_string(), serde_json::json!(updated_at));
        prior_hh.push((*id, m));
    }
    let mut prior_res = Vec::new();
    for (hh, org, n, o) in &plan.changed_res {
        let (updated_at,): (chrono::DateTime<chrono::Utc>,) =
            tx.one("SELECT updated_at FROM residents WHERE tenant_id = $1 AND id = $2", args![t, o.id]).await?;
        tx.exec(
            "UPDATE residents SET household_id = $1, org_id = $2, name = $3, gender = $4, birth_date = $5, phone = $6, note = $7, updated_at = $8 \
             WHERE tenant_id = $9 AND id = $10",
            args![Some(hh_id(*hh)), *org, n.name.clone(), n.gender.code(), n.birth_date,
                n.phone.as_ref().map(|x| x.as_str().to_string()), n.note.clone(), at, t, o.id],
        )
        .await?;
        let mut m = BTreeMap::new();
        m.insert("household_id".to_string(), serde_json::json!(o.household_id));
        m.insert("org_id".to_string(), serde_json::json!(o.org_id));
        m.insert("name".to_string(), serde_json::json!(o.name));
        m.insert("gender".to_string(), serde_json::json!(o.gender.0.code()));
        m.insert("birth_date".to_string(), serde_json::json!(o.birth_date));
        m.insert("phone".to_string(), serde_json::json!(o.phone));
        m.insert("note".to_string(), serde_json::json!(o.note));
        m.insert("updated_at".to_string(), serde_json::json!(updated_at));
        prior_res.push((o.id, m));
    }
    if !prior_hh.is_empty() {
        undo.changed.insert("households".into(), prior_hh);
    }
    if !prior_res.is_empty() {
        undo.changed.insert("residents".into(), prior_res);
    }
    let id = write_batch(&mut tx, p, up, at, counts, &undo).await?;
    tx.commit().await?;
    Ok(id)
}
