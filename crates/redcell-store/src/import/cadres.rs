//! Cadres, one row per cadre. Within an organisation a cadre is the same
//! person when the row names the same party member (by ID number), or the
//! same name and phone, or (phone left blank) the only cadre of that name. A
//! blank phone, title or ID number keeps what the database holds. Stations are left as they are (the cadre page edits them).

use super::{
    Counts, FieldChange, InRow, Progress, Report, RowChange, RowError, RowErrors, Stage, Undo, Upload, editable_orgs,
    now, read_each, reserve_ids, row_error, show, write_batch,
};
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::registry::cadres::CadreRecord;
use crate::scope::{Capability, Principal};
use crate::{Code, args};
use chrono::{DateTime, Utc};
use redcell_domain::ids::*;
use redcell_domain::input::{NewCadre, RawCadre};
use redcell_domain::rosters::{ImportKind, header_of, normalise_text};
use redcell_domain::{CadreKind, IdNumber, i18n};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

const K: ImportKind = ImportKind::Cadres;

struct Parsed {
    row: u32,
    org_code: String,
    /// The member's ID number, when given.
    id_number: Option<IdNumber>,
    c: NewCadre,
}

fn parse(r: &InRow) -> Result<Parsed, Vec<RowError>> {
    let mut e = RowErrors::new(K, r);
    e.check_cells(&["id_number"]);
    let org_code = normalise_text(&r.text(K, "org_code"));
    if org_code.is_empty() {
        e.push("org_code", i18n::REQUIRED);
    }
    let id_text = r.text(K, "id_number");
    let id_number = if id_text.trim().is_empty() {
        None
    } else {
        match IdNumber::parse(&id_text) {
            Ok(id) => Some(id),
            Err(x) => {
                e.push("id_number", x.message);
                None
            }
        }
    };
    let c = RawCadre {
        org_id: Some("1".into()),
        kind: Some(normalise_text(&r.text(K, "kind"))),
        name: Some(normalise_text(&r.text(K, "name"))),
        phone: r.opt(K, "phone"),
        public_phone: None,
        title: r.opt(K, "title"),
        member_id: None,
        stations: None,
    }
    .validate();
    if let Err(x) = &c {
        e.invalid(x, &|f| f.to_string());
    }
    match (c, e.is_empty()) {
        (Ok(c), true) => Ok(Parsed { row: r.row, org_code, id_number, c }),
        _ => Err(e.out),
    }
}

#[derive(sqlx::FromRow, Clone)]
struct CadreRow {
    id: i64,
    org_id: i64,
    kind: Code<CadreKind>,
    name: String,
    phone: Option<String>,
    title: Option<String>,
    member_id: Option<i64>,
    updated_at: DateTime<Utc>,
}

/// How a row names its cadre within an organisation.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Member(i64, i64),
    NamePhone(i64, String, String),
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
    let ok = read_each(up, report, progress, &mut |r| match parse(&r) {
        Ok(x) => parsed.push(x),
        Err(errs) => errors.extend(errs),
    });
    report.errors.extend(errors);
    if ok.is_none() {
        return Ok(());
    }
    progress(Stage::Checking, 0);
    let editable = editable_orgs(db, p).await?;
    let orgs: HashMap<String, i64> = db
        .all::<(String, i64)>("SELECT code, id FROM orgs WHERE tenant_id = $1", args![t])
        .await?
        .into_iter()
        .collect();
    // Members the caller can see, by ID number (as the cadre form allows).
    let mut a = args![t];
    let c = p.scope(Capability::ReadRegistry).rows("m", &mut a);
    let members: HashMap<String, i64> = db
        .all::<(String, i64)>(
            &format!(
                "SELECT r.id_number, m.id FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE m.tenant_id = $1 AND {c}"
            ),
            a,
        )
        .await?
        .into_iter()
        .collect();
    let existing: Vec<CadreRow> = db
        .all(
            "SELECT id, org_id, kind, name, phone, title, member_id, updated_at FROM cadres WHERE tenant_id = $1",
            args![t],
        )
        .await?;
    let mut by_key: HashMap<Key, usize> = HashMap::new();
    for (i, c) in existing.iter().enumerate() {
        if let Some(m) = c.member_id {
            by_key.insert(Key::Member(c.org_id, m), i);
        }
        by_key.entry(Key::NamePhone(c.org_id, c.name.clone(), c.phone.clone().unwrap_or_default())).or_insert(i);
    }
    let mut by_name: HashMap<(i64, String), Vec<usize>> = HashMap::new();
    for (i, c) in existing.iter().enumerate() {
        by_name.entry((c.org_id, c.name.clone())).or_default().push(i);
    }
    let member_ids: HashMap<i64, String> = members.iter().map(|(k, v)| (*v, k.clone())).collect();

    let mut new_rows: Vec<NewCadre> = Vec::new();
    let mut changed: Vec<(NewCadre, CadreRow, u32)> = Vec::new();
    let mut seen: HashMap<Key, u32> = HashMap::new();
    let mut seen_existing: HashMap<i64, u32> = HashMap::new();
    let mut counts = Counts { rows: report.counts.rows, ..Counts::default() };
    for x in parsed {
        let err = |key: &str, value: &str, reason: String| row_error(K, x.row, key, value, reason);
        let Some(&org_id) = orgs.get(&x.org_code) else {
            report.errors.push(err(
                "org_code",
                &x.org_code,
                format!("{}{}", i18n::IMPORT_REF_ORG_CODE, i18n::IMPORT_UNKNOWN_REF),
            ));
            continue;
        };
        if !editable.contains(&org_id) {
            report.errors.push(err("org_code", &x.org_code, i18n::IMPORT_OUT_OF_SCOPE.into()));
            continue;
        }
        let member = match &x.id_number {
            None => None,
            Some(id) => match members.get(id.as_str()) {
                Some(m) => Some(*m),
                None => {
                    report.errors.push(err("id_number", id.as_str(), i18n::IMPORT_NOT_MEMBER.into()));
                    continue;
                }
            },
        };
        let phone = x.c.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default();
        let key = match member {
            Some(m) => Key::Member(org_id, m),
            None => Key::NamePhone(org_id, x.c.name.clone(), phone.clone()),
        };
        if let Some(first) = seen.get(&key) {
            report.errors.push(err(
                "name",
                &x.c.name,
                format!("{}{first}{}", i18n::IMPORT_DUPLICATE_IN_FILE, i18n::IMPORT_ROW_SUFFIX),
            ));
            continue;
        }
        seen.insert(key.clone(), x.row);
        let mut n = x.c;
        n.org_id = OrgId::new(org_id);
        n.member_id = member.map(MemberId::new);
        // The same member; else the same name and phone; else, with no phone
        // given, the one cadre of that name in the organisation.
        let found = by_key
            .get(&key)
            .or_else(|| by_key.get(&Key::NamePhone(org_id, n.name.clone(), phone.clone())))
            .copied()
            .or_else(|| match by_name.get(&(org_id, n.name.clone())).map(Vec::as_slice) {
                Some([only]) if phone.is_empty() => Some(*only),
                _ => None,
            });
        let old = found.map(|i| existing[i].clone());
        if let Some(o) = &old {
            if let Some(first) = seen_existing.get(&o.id) {
                report.errors.push(err(
                    "name",
                    &n.name,
                    format!("{}{first}{}", i18n::IMPORT_DUPLICATE_IN_FILE, i18n::IMPORT_ROW_SUFFIX),
                ));
                continue;
            }
            seen_existing.insert(o.id, x.row);
        }
        match old {
            None => {
                counts.new += 1;
                new_rows.push(n);
            }
            Some(o) => {
                if n.phone.is_none() {
                    n.phone = o.phone.as_deref().and_then(|s| redcell_domain::Phone::parse(s).ok());
                }
                if n.title.is_none() {
                    n.title = o.title.clone();
                }
                if n.member_id.is_none() {
                    n.member_id = o.member_id.map(MemberId::new);
                }
                let mut fields = Vec::new();
                let mut diff = |col: &str, before: String, after: String| {
                    if before != after {
                        fields.push(FieldChange {
                            column: header_of(K, col).into(),
                            before: show(col, &before),
                            after: show(col, &after),
                        });
                    }
                };
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                diff("name", o.name.clone(), n.name.clone());
                diff("kind", o.kind.0.label().into(), n.kind.label().into());
                diff("phone", opt(&o.phone), n.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default());
                diff("title", opt(&o.title), opt(&n.title));
                let id_of = |m: Option<i64>| m.and_then(|m| member_ids.get(&m).cloned()).unwrap_or_default();
                diff("id_number", id_of(o.member_id), id_of(n.member_id.map(|m| m.get())));
                if fields.is_empty() {
                    counts.unchanged += 1;
                } else {
                    counts.changed += 1;
                    report.changes.push(RowChange { row: x.row, key: n.name.clone(), fields });
                    changed.push((n, o, x.row));
                }
            }
        }
    }
    report.counts.new = counts.new;
    report.counts.changed = counts.changed;
    report.counts.unchanged = counts.unchanged;
    if !report.errors.is_empty() || !commit {
        return Ok(());
    }
    progress(Stage::Writing, 0);
    let at = now();
    let mut undo = Undo::default();
    let mut tx = db.begin().await?;
    let first = reserve_ids(&mut tx, "cadres", new_rows.len()).await?;
    let rows: Vec<CadreRecord> = new_rows
        .iter()
        .enumerate()
        .map(|(i, c)| CadreRecord {
            id: CadreId::new(first + i as i64),
            org_id: c.org_id,
            kind: c.kind,
            name: c.name.clone(),
            phone: c.phone.as_ref().map(|x| x.as_str().to_string()),
            public_phone: None,
            title: c.title.clone(),
            member_id: c.member_id,
        })
        .collect();
    crate::registry::cadres::insert(&mut tx, t, at, &rows).await?;
    undo.created.insert("cadres".into(), rows.iter().map(|r| r.id.get()).collect());
    let mut prior = Vec::new();
    for (n, o, row) in &changed {
        let a: Args = args![
            n.kind.code(),
            n.name.clone(),
            n.phone.as_ref().map(|x| x.as_str().to_string()),
            n.title.clone(),
            n.member_id,
            at,
            t,
            o.id,
            o.updated_at
        ];
        let done = tx
            .exec(
                "UPDATE cadres SET kind = $1, name = $2, phone = $3, title = $4, member_id = $5, updated_at = $6 \
                 WHERE tenant_id = $7 AND id = $8 AND updated_at = $9",
                a,
            )
            .await?;
        if done != 1 {
            // Dropping the transaction writes nothing.
            report.errors.push(row_error(K, *row, "name", &o.name, i18n::IMPORT_CHANGED_SINCE_CHECK));
            return Ok(());
        }
        let mut m = BTreeMap::new();
        m.insert("kind".to_string(), json!(o.kind.0.code()));
        m.insert("name".to_string(), json!(o.name));
        m.insert("phone".to_string(), json!(o.phone));
        m.insert("title".to_string(), json!(o.title));
        m.insert("member_id".to_string(), json!(o.member_id));
        m.insert("updated_at".to_string(), json!(o.updated_at));
        prior.push((o.id, m));
    }
    if !prior.is_empty() {
        undo.changed.insert("cadres".into(), prior);
    }
    let id = write_batch(&mut tx, p, up, at, &counts, &undo).await?;
    tx.commit().await?;
    report.batch_id = Some(id);
    Ok(())
}
