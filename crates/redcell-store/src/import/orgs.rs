//! Organisations, upserted by code. A new organisation's parent may be in the
//! database or anywhere in the same file (rows in any order); a cycle or an
//! unknown parent is named. Import does not move organisations or change
//! their kind (that rewrites subtrees; the organisation page does it).

use super::{
    Counts, FieldChange, InRow, Progress, Report, RowChange, RowErrors, Undo, Upload, editable_orgs, now, read_each,
    reserve_ids, show, write_batch,
};
use crate::args;
use crate::db::Db;
use crate::error::StoreError;
use crate::registry::orgs::OrgRecord;
use crate::scope::Principal;
use crate::types::Code;
use redcell_domain::ids::*;
use redcell_domain::input::{NewOrg, RawOrg};
use redcell_domain::rosters::{ImportKind, normalise_text};
use redcell_domain::{OrgKind, OrgPath, i18n};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

const K: ImportKind = ImportKind::Orgs;

#[derive(sqlx::FromRow, Clone)]
struct OrgRow {
    id: i64,
    code: String,
    parent_code: Option<String>,
    path: String,
    kind: Code<OrgKind>,
    name: String,
    secretary: Option<String>,
    phone: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
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
    let existing: HashMap<String, OrgRow> = db
        .all::<OrgRow>(
            "SELECT o.id, o.code, q.code AS parent_code, o.path, o.kind, o.name, o.secretary, o.phone, o.updated_at \
             FROM orgs o LEFT JOIN orgs q ON q.tenant_id = o.tenant_id AND q.id = o.parent_id WHERE o.tenant_id = $1",
            args![t],
        )
        .await?
        .into_iter()
        .map(|o| (o.code.clone(), o))
        .collect();
    let by_row: HashMap<u32, &InRow> = rows.iter().map(|r| (r.row, r)).collect();
    let mut counts = Counts { rows: report.counts.rows, ..Counts::default() };
    let mut seen: HashMap<String, u32> = HashMap::new();
    // New organisations waiting for their parent: (row, parent code, values).
    let mut pending: Vec<(u32, String, NewOrg)> = Vec::new();
    let mut changed: Vec<(OrgRow, NewOrg)> = Vec::new();
    for r in &rows {
        let mut e = RowErrors::new(K, r);
        e.check_cells(&[]);
        let parent_code = normalise_text(&r.text(K, "parent_code"));
        if parent_code.is_empty() {
            e.push("parent_code", i18n::REQUIRED);
        }
        let n = RawOrg {
            parent_id: Some("1".into()),
            kind: r.opt(K, "kind"),
            code: Some(normalise_text(&r.text(K, "code"))),
            name: r.opt(K, "name"),
            secretary: r.opt(K, "secretary"),
            phone: r.opt(K, "phone"),
        }
        .validate();
        let n = match n {
            Ok(n) => n,
            Err(x) => {
                e.invalid(&x, &|f| if f == "parent_id" { "parent_code".into() } else { f.to_string() });
                report.errors.extend(e.out);
                continue;
            }
        };
        let code = n.code.as_str().to_string();
        if let Some(first) = seen.get(&code) {
            e.push("code", format!("{}{first}行", i18n::IMPORT_DUPLICATE_IN_FILE));
        }
        if !e.is_empty() {
            report.errors.extend(e.out);
            continue;
        }
        seen.insert(code.clone(), r.row);
        match existing.get(&code) {
            Some(o) => {
                if !editable.contains(&o.id) {
                    e.push("code", format!("该组织{}", i18n::IMPORT_OUT_OF_SCOPE));
                } else if o.parent_code.as_deref() != Some(parent_code.as_str()) {
                    e.push("parent_code", "导入不能移动组织，请在组织页面调整上级");
                } else if o.kind.0 != n.kind {
                    e.push("kind", "导入不能改变组织类型，请在组织页面修改");
                }
                if !e.is_empty() {
                    report.errors.extend(e.out);
                    continue;
                }
                let mut fields = Vec::new();
                let mut diff = |col: &str, c: &str, a: String, b: String| {
                    if a != b {
                        fields.push(FieldChange { column: c.into(), before: show(col, &a), after: show(col, &b) });
                    }
                };
                diff("name", "组织名称", o.name.clone(), n.name.clone());
                diff(
                    "secretary",
                    "书记",
                    o.secretary.clone().unwrap_or_default(),
                    n.secretary.clone().unwrap_or_default(),
                );
                let ph = n.phone.as_ref().map(|x| x.as_str().to_string());
                diff("phone", "联系电话", o.phone.clone().unwrap_or_default(), ph.unwrap_or_default());
                if fields.is_empty() {
                    counts.unchanged += 1;
                } else {
                    counts.changed += 1;
                    report.changes.push(RowChange { row: r.row, key: code.clone(), fields });
                    changed.push((o.clone(), n));
                }
            }
            None => pending.push((r.row, parent_code, n)),
        }
    }

    // Place new organisations parent first: (row, parent path or index, kind).
    enum Parent {
        Db(OrgPath),
        New(usize),
    }
    let mut placed: Vec<(u32, Parent, NewOrg)> = Vec::new();
    let mut placed_index: HashMap<String, (usize, OrgKind)> = HashMap::new();
    loop {
        let before = pending.len();
        let mut rest = Vec::new();
        for (row, parent_code, n) in pending {
            let r = by_row[&row];
            let mut e = RowErrors::new(K, r);
            let parent = if let Some(o) = existing.get(&parent_code) {
                if !editable.contains(&o.id) {
                    e.push("parent_code", format!("上级组织{}", i18n::IMPORT_OUT_OF_SCOPE));
                }
                Some((Parent::Db(OrgPath::parse(&o.path).map_err(StoreError::from)?), o.kind.0))
            } else {
                placed_index.get(&parent_code).map(|(i, k)| (Parent::New(*i), *k))
            };
            let Some((parent, pkind)) = parent else {
                rest.push((row, parent_code, n));
                continue;
            };
            if !n.kind.may_be_child_of(pkind) {
                e.push("kind", format!("{}（{} 不能挂在 {} 下）", i18n::PARENT_KIND, n.kind.label(), pkind.label()));
            }
            if !e.is_empty() {
                report.errors.extend(e.out);
                continue;
            }
            counts.new += 1;
            placed_index.insert(n.code.as_str().to_string(), (placed.len(), n.kind));
            placed.push((row, parent, n));
        }
        pending = rest;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for (row, parent_code, _) in pending {
        let mut e = RowErrors::new(K, by_row[&row]);
        if seen.contains_key(&parent_code) {
            e.push("parent_code", format!("{}，或上级组织本身有错误", i18n::IMPORT_CYCLE));
        } else {
            e.push("parent_code", format!("上级组织编码{}", i18n::IMPORT_UNKNOWN_REF));
        }
        report.errors.extend(e.out);
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
    let first = reserve_ids(&mut tx, "orgs", placed.len()).await?;
    let mut rows: Vec<OrgRecord> = Vec::with_capacity(placed.len());
    for (i, (_, parent, n)) in placed.iter().enumerate() {
        let id = first + i as i64;
        let (parent_id, path) = match parent {
            Parent::Db(pp) => (pp.id(), pp.child(id)),
            Parent::New(j) => (first + *j as i64, rows[*j].path.child(id)),
        };
        rows.push(OrgRecord {
            id: OrgId::new(id),
            parent_id: Some(OrgId::new(parent_id)),
            path,
            kind: n.kind,
            code: n.code.as_str().to_string(),
            name: n.name.clone(),
            secretary: n.secretary.clone(),
            phone: n.phone.as_ref().map(|x| x.as_str().to_string()),
        });
    }
    crate::registry::orgs::insert(&mut tx, t, at, &rows).await?;
    let created: Vec<i64> = rows.iter().map(|r| r.id.get()).collect();
    undo.created.insert("orgs".into(), created);
    let mut prior = Vec::new();
    for (o, n) in &changed {
        tx.exec(
            "UPDATE orgs SET name = $1, secretary = $2, phone = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6",
            args![n.name.clone(), n.secretary.clone(), n.phone.as_ref().map(|x| x.as_str().to_string()), at, t, o.id],
        )
        .await?;
        let m: BTreeMap<String, serde_json::Value> = [
            ("name".to_string(), json!(o.name)),
            ("secretary".to_string(), json!(o.secretary)),
            ("phone".to_string(), json!(o.phone)),
            ("updated_at".to_string(), json!(o.updated_at)),
        ]
        .into();
        prior.push((o.id, m));
    }
    if !prior.is_empty() {
        undo.changed.insert("orgs".into(), prior);
    }
    let id = write_batch(&mut tx, p, up, at, &counts, &undo).await?;
    tx.commit().await?;
    report.batch_id = Some(id);
    Ok(())
}
