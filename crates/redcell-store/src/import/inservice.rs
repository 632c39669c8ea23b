//! In-service members' reports (在职党员报到), one row per member: the list an
//! employer's party organisation sends, or the community's own register kept
//! in a spreadsheet until now. A member is named by ID number and must be in
//! the registry, inside the caller's scope. A member already reported to the
//! same organisation (and not returned) is updated from the row — a blank
//! phone or date keeps what is recorded; one reported elsewhere is refused,
//! naming where (the report is returned there first, as on the register page).

use super::{
    Counts, FieldChange, InRow, Progress, Report, RowChange, RowError, RowErrors, Stage, Undo, Upload, editable_orgs,
    now, read_each, reserve_ids, row_error, show, write_batch,
};
use crate::args;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::rosters::{ImportKind, header_of, normalise_date, normalise_text};
use redcell_domain::text::{Text, parse_date, past_date};
use redcell_domain::{IdNumber, Phone, i18n};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

const K: ImportKind = ImportKind::Inservice;

struct Parsed {
    row: u32,
    id_number: IdNumber,
    name: String,
    org_code: String,
    employer: String,
    employer_org: String,
    phone: Option<String>,
    /// `None` when the cell is blank (today for a new report; an open one keeps its date).
    reported_on: Option<NaiveDate>,
}

fn parse(r: &InRow, today: NaiveDate) -> Result<Parsed, Vec<RowError>> {
    let mut e = RowErrors::new(K, r);
    e.check_cells(&["id_number"]);
    let id_number = match IdNumber::parse(&r.text(K, "id_number")) {
        Ok(id) => Some(id),
        Err(x) => {
            e.push("id_number", x.message);
            None
        }
    };
    let org_code = normalise_text(&r.text(K, "org_code"));
    if org_code.is_empty() {
        e.push("org_code", i18n::REQUIRED);
    }
    let mut text = |key: &str| match Text::required(key, &normalise_text(&r.text(K, key)), 80) {
        Ok(t) => t.into_string(),
        Err(x) => {
            e.push(key, x.message);
            String::new()
        }
    };
    let employer = text("employer");
    let employer_org = text("employer_org");
    let phone_text = normalise_text(&r.text(K, "employer_phone"));
    let phone = if phone_text.is_empty() {
        None
    } else {
        match Phone::parse(&phone_text) {
            Ok(p) => Some(p.as_str().to_string()),
            Err(x) => {
                e.push("employer_phone", x.message);
                None
            }
        }
    };
    let date_text = normalise_date(&r.text(K, "reported_on"));
    let reported_on = match parse_date("reported_on", &date_text) {
        Ok(None) => None,
        Ok(Some(_)) => match past_date("reported_on", &Some(date_text.clone()), today) {
            Ok(d) => Some(d),
            Err(x) => {
                e.push("reported_on", x.message);
                None
            }
        },
        Err(x) => {
            e.push("reported_on", x.message);
            None
        }
    };
    match (id_number, e.is_empty()) {
        (Some(id_number), true) => Ok(Parsed {
            row: r.row,
            id_number,
            name: normalise_text(&r.text(K, "name")),
            org_code,
            employer,
            employer_org,
            phone,
            reported_on,
        }),
        _ => Err(e.out),
    }
}

/// An open report as recorded.
#[derive(sqlx::FromRow, Clone)]
struct Open {
    id: i64,
    org_id: i64,
    org_name: String,
    member_id: i64,
    employer: String,
    employer_org: String,
    employer_phone: Option<String>,
    reported_on: NaiveDate,
    updated_at: Option<DateTime<Utc>>,
}

/// A report to write: new, or the open one it changes.
struct Write {
    row: u32,
    org_id: i64,
    member_id: i64,
    employer: String,
    employer_org: String,
    phone: Option<String>,
    reported_on: NaiveDate,
    old: Option<Open>,
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
    progress(Stage::Checking, 0);
    let editable = editable_orgs(db, p).await?;
    let orgs: HashMap<String, i64> = db
        .all::<(String, i64)>("SELECT code, id FROM orgs WHERE tenant_id = $1", args![t])
        .await?
        .into_iter()
        .collect();
    // Members the caller may record a report for (as the register's form allows).
    let mut a = args![t];
    let c = p.scope(Capability::EditRegistry).rows("m", &mut a);
    let members: HashMap<String, (i64, String)> = db
        .all::<(String, i64, String)>(
            &format!(
                "SELECT r.id_number, m.id, r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id \
                 AND r.id = m.resident_id WHERE m.tenant_id = $1 AND {c}"
            ),
            a,
        )
        .await?
        .into_iter()
        .map(|(id, m, name)| (id, (m, name)))
        .collect();
    let open: HashMap<i64, Open> = db
        .all::<Open>(
            "SELECT x.id, x.org_id, o.name AS org_name, x.member_id, x.employer, x.employer_org, x.employer_phone, \
             x.reported_on, x.updated_at FROM inservice_reports x JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.org_id \
             WHERE x.tenant_id = $1 AND x.returned_on IS NULL",
            args![t],
        )
        .await?
        .into_iter()
        .map(|o| (o.member_id, o))
        .collect();

    let mut writes: Vec<Write> = Vec::new();
    let mut seen: HashMap<i64, u32> = HashMap::new();
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
        let Some((member_id, name)) = members.get(x.id_number.as_str()) else {
            report.errors.push(err("id_number", x.id_number.as_str(), i18n::IMPORT_NOT_MEMBER.into()));
            continue;
        };
        if !x.name.is_empty() && x.name != *name {
            report.errors.push(err("name", &x.name, "与登记的姓名不一致".into()));
            continue;
        }
        if let Some(first) = seen.get(member_id) {
            report.errors.push(err(
                "id_number",
                x.id_number.as_str(),
                format!("{}{first}{}", i18n::IMPORT_DUPLICATE_IN_FILE, i18n::IMPORT_ROW_SUFFIX),
            ));
            continue;
        }
        seen.insert(*member_id, x.row);
        let old = open.get(member_id).cloned();
        if let Some(o) = &old
            && o.org_id != org_id
        {
            let why = format!("这名党员已在{}报到，回转后才能再报到", o.org_name);
            report.errors.push(err("org_code", &x.org_code, why));
            continue;
        }
        let w = Write {
            row: x.row,
            org_id,
            member_id: *member_id,
            employer: x.employer,
            employer_org: x.employer_org,
            phone: x.phone.or_else(|| old.as_ref().and_then(|o| o.employer_phone.clone())),
            reported_on: x.reported_on.or(old.as_ref().map(|o| o.reported_on)).unwrap_or(up.today),
            old,
        };
        match &w.old {
            None => {
                counts.new += 1;
                writes.push(w);
            }
            Some(o) => {
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
                diff("employer", o.employer.clone(), w.employer.clone());
                diff("employer_org", o.employer_org.clone(), w.employer_org.clone());
                diff(
                    "employer_phone",
                    o.employer_phone.clone().unwrap_or_default(),
                    w.phone.clone().unwrap_or_default(),
                );
                diff("reported_on", o.reported_on.to_string(), w.reported_on.to_string());
                if fields.is_empty() {
                    counts.unchanged += 1;
                } else {
                    counts.changed += 1;
                    report.changes.push(RowChange { row: x.row, key: name.clone(), fields });
                    writes.push(w);
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
    let fresh = writes.iter().filter(|w| w.old.is_none()).count();
    let mut next = reserve_ids(&mut tx, "inservice_reports", fresh).await?;
    let mut created = Vec::new();
    let mut prior = Vec::new();
    for w in &writes {
        match &w.old {
            None => {
                tx.exec(
                    "INSERT INTO inservice_reports (id, tenant_id, org_id, member_id, employer, employer_org, employer_phone, \
                     reported_on, handled_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                    args![
                        next,
                        t,
                        w.org_id,
                        w.member_id,
                        w.employer.clone(),
                        w.employer_org.clone(),
                        w.phone.clone(),
                        w.reported_on,
                        p.user_id,
                        at
                    ],
                )
                .await?;
                created.push(next);
                next += 1;
            }
            Some(o) => {
                let done = tx
                    .exec(
                        "UPDATE inservice_reports SET employer = $1, employer_org = $2, employer_phone = $3, reported_on = $4, \
                         updated_at = $5 WHERE tenant_id = $6 AND id = $7 AND returned_on IS NULL AND updated_at = $8",
                        args![
                            w.employer.clone(),
                            w.employer_org.clone(),
                            w.phone.clone(),
                            w.reported_on,
                            at,
                            t,
                            o.id,
                            o.updated_at
                        ],
                    )
                    .await?;
                if done != 1 {
                    // Dropping the transaction writes nothing.
                    report.errors.push(row_error(K, w.row, "id_number", "", i18n::IMPORT_CHANGED_SINCE_CHECK));
                    return Ok(());
                }
                let mut m = BTreeMap::new();
                m.insert("employer".to_string(), json!(o.employer));
                m.insert("employer_org".to_string(), json!(o.employer_org));
                m.insert("employer_phone".to_string(), json!(o.employer_phone));
                m.insert("reported_on".to_string(), json!(o.reported_on));
                m.insert("updated_at".to_string(), json!(o.updated_at));
                prior.push((o.id, m));
            }
        }
    }
    if !created.is_empty() {
        undo.created.insert("inservice_reports".into(), created);
    }
    if !prior.is_empty() {
        undo.changed.insert("inservice_reports".into(), prior);
    }
    let id = write_batch(&mut tx, p, up, at, &counts, &undo).await?;
    tx.commit().await?;
    report.batch_id = Some(id);
    Ok(())
}
