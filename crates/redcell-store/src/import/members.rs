//! Party members, one row per member, keyed by ID number. The person is the
//! resident with that ID number when one is registered (any organisation of
//! the tenant, as the member form allows); otherwise a resident is created
//! in the member's organisation from the row's name, ID number, birth date and
//! phone. A blank optional cell keeps what the database holds.

use super::{
    Counts, FieldChange, InRow, Progress, Report, RowChange, RowError, RowErrors, Stage, Undo, Upload, editable_orgs,
    now, read_each, reserve_ids, row_error, show, write_batch,
};
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::registry::members::MemberRecord;
use crate::registry::residents::ResidentRecord;
use crate::scope::{Capability, Principal};
use crate::{Code, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::ids::*;
use redcell_domain::input::{NewMember, NewResident, RawMember, RawResident, check_joined_on};
use redcell_domain::registry::{Education, PartyPost};
use redcell_domain::rosters::{ImportKind, normalise_date, normalise_text};
use redcell_domain::{MemberCategory, MemberStatus, i18n};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

const K: ImportKind = ImportKind::Members;

/// Stands in for a blank name while the other resident fields are checked.
const NO_NAME: &str = i18n::IMPORT_NO_NAME;

struct Parsed {
    row: u32,
    /// The resident as the row describes them (name `NO_NAME` when blank).
    res: NewResident,
    name_given: bool,
    org_code: String,
    m: NewMember,
    /// Which optional cells were filled (a blank one keeps the stored value).
    status_given: bool,
    joined_given: bool,
    central_given: bool,
    cert_given: bool,
    cross_given: bool,
}

/// `是`/`否` or blank.
fn yes_no(raw: &str) -> Result<Option<bool>, ()> {
    match normalise_text(raw).as_str() {
        "" => Ok(None),
        i18n::IMPORT_YES | "Y" | "y" | "1" | "true" => Ok(Some(true)),
        i18n::IMPORT_NO | "N" | "n" | "0" | "false" => Ok(Some(false)),
        _ => Err(()),
    }
}

fn parse(r: &InRow, today: NaiveDate) -> Result<Parsed, Vec<RowError>> {
    let mut e = RowErrors::new(K, r);
    e.check_cells(&["id_number"]);
    let org_code = normalise_text(&r.text(K, "org_code"));
    if org_code.is_empty() {
        e.push("org_code", i18n::REQUIRED);
    }
    let name = normalise_text(&r.text(K, "name"));
    let name_given = !name.is_empty();
    let res = RawResident {
        household_id: None,
        org_id: Some("1".into()),
        name: Some(if name_given { name } else { NO_NAME.into() }),
        gender: None,
        birth_date: Some(normalise_date(&r.text(K, "birth_date"))),
        id_number: r.opt(K, "id_number"),
        phone: r.opt(K, "phone"),
        note: None,
    }
    .validate(today);
    if let Err(x) = &res {
        e.invalid(x, &|f| f.to_string());
    }
    let central = yes_no(&r.text(K, "central_household"));
    if central.is_err() {
        e.push("central_household", i18n::IMPORT_YES_NO);
    }
    let cert = yes_no(&r.text(K, "social_worker_cert"));
    if cert.is_err() {
        e.push("social_worker_cert", i18n::IMPORT_YES_NO);
    }
    let cross = yes_no(&r.text(K, "cross_appointed"));
    if cross.is_err() {
        e.push("cross_appointed", i18n::IMPORT_YES_NO);
    }
    let yes =
        |b: &Result<Option<bool>, ()>| Some(if *b == Ok(Some(true)) { i18n::IMPORT_YES.into() } else { String::new() });
    let joined_text = normalise_date(&r.text(K, "joined_on"));
    let m = RawMember {
        resident_id: Some("1".into()),
        org_id: Some("1".into()),
        category: Some(normalise_text(&r.text(K, "category"))),
        status: Some(normalise_text(&r.text(K, "status"))),
        joined_on: Some(joined_text.clone()),
        work_unit: r.opt(K, "work_unit"),
        skills: r.opt(K, "skills"),
        interests: r.opt(K, "interests"),
        free_time: r.opt(K, "free_time"),
        central_household: yes(&central),
        party_post: Some(normalise_text(&r.text(K, "party_post"))),
        education: Some(normalise_text(&r.text(K, "education"))),
        social_worker_cert: yes(&cert),
        cross_appointed: yes(&cross),
        training_days: Some(normalise_text(&r.text(K, "training_days"))),
    }
    .validate(today);
    if let Err(x) = &m {
        e.invalid(x, &|f| f.to_string());
    }
    if let (Ok(res), Ok(m)) = (&res, &m)
        && let Err(x) = check_joined_on(res.birth_date, m.joined_on)
    {
        e.push("joined_on", x.message);
    }
    match (res, m, central, cert, cross, e.is_empty()) {
        (Ok(res), Ok(m), Ok(central), Ok(cert), Ok(cross), true) => Ok(Parsed {
            row: r.row,
            res,
            name_given,
            org_code,
            m,
            status_given: !r.text(K, "status").trim().is_empty(),
            joined_given: !joined_text.is_empty(),
            central_given: central.is_some(),
            cert_given: cert.is_some(),
            cross_given: cross.is_some(),
        }),
        _ => Err(e.out),
    }
}

#[derive(sqlx::FromRow)]
struct ResRow {
    id: i64,
    id_number: String,
    org_id: i64,
    name: String,
    phone: Option<String>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MemRow {
    id: i64,
    id_number: String,
    org_id: i64,
    org_code: String,
    category: Code<MemberCategory>,
    status: Code<MemberStatus>,
    joined_on: Option<NaiveDate>,
    work_unit: Option<String>,
    skills: Option<String>,
    interests: Option<String>,
    free_time: Option<String>,
    central_household: bool,
    party_post: Option<Code<PartyPost>>,
    education: Option<Code<Education>>,
    social_worker_cert: bool,
    cross_appointed: bool,
    training_year: Option<i64>,
    training_days: Option<i64>,
    updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy)]
enum Res {
    Old(i64),
    New(usize),
}

/// A registered resident whose phone changes: (id, new phone, prior phone,
/// prior stamp, sheet row, ID number).
type PhoneChange = (i64, String, Option<String>, DateTime<Utc>, u32, String);

#[derive(Default)]
struct Plan {
    new_res: Vec<(i64, NewResident)>,
    /// Registered residents whose phone changes.
    res_phone: Vec<PhoneChange>,
    new_members: Vec<(Res, NewMember)>,
    /// (new values, prior row, sheet row).
    changed_members: Vec<(NewMember, MemRow, u32)>,
}

/// Residents the caller may see (`ReadRegistry`, as the member form allows)
/// with these ID numbers, looked up in chunks. A resident outside that scope
/// is not found: the file is told nothing about them.
async fn residents_by_id(db: &Db, p: &Principal, ids: &[String]) -> Result<HashMap<String, ResRow>, StoreError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut a = Args::new();
        let c = p.scope(Capability::ReadRegistry).rows("r", &mut a);
        let list: Vec<String> = chunk.iter().map(|s| a.push(s.clone())).collect();
        let rows: Vec<ResRow> = db
            .all(
                &format!(
                    "SELECT r.id, r.id_number, r.org_id, r.name, r.phone, r.updated_at FROM residents r WHERE {c} AND r.id_number IN ({})",
                    list.join(",")
                ),
                a,
            )
            .await?;
        out.extend(rows.into_iter().map(|r| (r.id_number.clone(), r)));
    }
    Ok(out)
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
    let ids: Vec<String> = parsed.iter().map(|x| x.res.id_number.as_str().to_string()).collect();
    let residents = residents_by_id(db, p, &ids).await?;
    // Members the caller may see; one outside that scope is not found.
    let mut a = args![t];
    let c = p.scope(Capability::ReadRegistry).rows("m", &mut a);
    let mut members: HashMap<String, MemRow> = db
        .all::<MemRow>(
            &format!(
                "SELECT r.id_number, m.id, m.org_id, o.code AS org_code, m.category, m.status, m.joined_on, m.work_unit, m.skills, \
                 m.interests, m.free_time, m.central_household, m.party_post, m.education, m.social_worker_cert, m.cross_appointed, \
                 m.training_year, m.training_days, m.updated_at FROM members m \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id WHERE m.tenant_id = $1 AND {c}"
            ),
            a,
        )
        .await?
        .into_iter()
        .map(|m| (m.id_number.clone(), m))
        .collect();

    let mut plan = Plan::default();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut phone_done: HashSet<i64> = HashSet::new();
    let mut counts = Counts { rows: report.counts.rows, ..Counts::default() };
    for x in parsed {
        let id_text = x.res.id_number.as_str().to_string();
        let err = |key: &str, value: &str, reason: String| row_error(K, x.row, key, value, reason);
        let mut bad = Vec::new();
        if let Some(first) = seen.get(&id_text) {
            bad.push(err(
                "id_number",
                &id_text,
                format!("{}{first}{}", i18n::IMPORT_DUPLICATE_IN_FILE, i18n::IMPORT_ROW_SUFFIX),
            ));
        }
        let org_id = match orgs.get(&x.org_code) {
            None => {
                bad.push(err(
                    "org_code",
                    &x.org_code,
                    format!("{}{}", i18n::IMPORT_REF_PARTY_ORG_CODE, i18n::IMPORT_UNKNOWN_REF),
                ));
                None
            }
            Some(o) if !editable.contains(o) => {
                bad.push(err("org_code", &x.org_code, i18n::IMPORT_OUT_OF_SCOPE.into()));
                None
            }
            Some(o) => Some(*o),
        };
        let old_res = residents.get(&id_text);
        match old_res {
            None if !x.name_given => {
                bad.push(err("name", "", i18n::IMPORT_MEMBER_NAME_NEEDED.into()));
            }
            Some(r) if x.name_given && r.name != x.res.name => {
                bad.push(err("name", &x.res.name, i18n::IMPORT_NAME_MISMATCH.into()));
            }
            _ => {}
        }
        let new_phone = x.res.phone.as_ref().map(|p| p.as_str().to_string());
        let phone_change = match (old_res, &new_phone) {
            (Some(r), Some(ph)) if r.phone.as_deref() != Some(ph.as_str()) => {
                if !editable.contains(&r.org_id) {
                    bad.push(err("phone", ph, format!("{}{}", i18n::IMPORT_REF_RESIDENT, i18n::IMPORT_OUT_OF_SCOPE)));
                }
                true
            }
            _ => false,
        };
        let old_member = members.get(&id_text);
        if let Some(m) = old_member
            && !editable.contains(&m.org_id)
        {
            bad.push(err("id_number", &id_text, format!("{}{}", i18n::IMPORT_REF_MEMBER, i18n::IMPORT_OUT_OF_SCOPE)));
        }
        let (Some(org_id), true) = (org_id, bad.is_empty()) else {
            report.errors.extend(bad);
            continue;
        };
        seen.insert(id_text.clone(), x.row);
        let mut n = x.m;
        n.org_id = OrgId::new(org_id);
        let mut fields = Vec::new();
        let mut diff = |col: &str, before: String, after: String| {
            if before != after {
                fields.push(FieldChange {
                    column: redcell_domain::rosters::header_of(K, col).into(),
                    before: show(col, &before),
                    after: show(col, &after),
                });
            }
        };
        if phone_change && let Some(r) = old_res {
            diff("phone", r.phone.clone().unwrap_or_default(), new_phone.clone().unwrap_or_default());
        }
        let res = match old_res {
            Some(r) => {
                if phone_change && phone_done.insert(r.id) {
                    plan.res_phone.push((
                        r.id,
                        new_phone.clone().unwrap_or_default(),
                        r.phone.clone(),
                        r.updated_at,
                        x.row,
                        id_text.clone(),
                    ));
                }
                Res::Old(r.id)
            }
            None => {
                let mut res = x.res.clone();
                res.org_id = Some(OrgId::new(org_id));
                plan.new_res.push((org_id, res));
                Res::New(plan.new_res.len() - 1)
            }
        };
        let is_new = !members.contains_key(&id_text);
        match members.remove(&id_text) {
            None => {
                counts.new += 1;
                plan.new_members.push((res, n));
            }
            Some(o) => {
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                if !x.status_given {
                    n.status = o.status.0;
                }
                if !x.joined_given {
                    n.joined_on = o.joined_on;
                }
                if !x.central_given {
                    n.central_household = o.central_household;
                }
                n.work_unit = n.work_unit.or(o.work_unit.clone());
                n.skills = n.skills.or(o.skills.clone());
                n.interests = n.interests.or(o.interests.clone());
                n.free_time = n.free_time.or(o.free_time.clone());
                if !x.cert_given {
                    n.quals.social_worker_cert = o.social_worker_cert;
                }
                if !x.cross_given {
                    n.quals.cross_appointed = o.cross_appointed;
                }
                n.quals.party_post = n.quals.party_post.or(o.party_post.map(|c| c.0));
                n.quals.education = n.quals.education.or(o.education.map(|c| c.0));
                let old_training = o.training_year.zip(o.training_days).map(|(y, d)| (y as i32, d as u16));
                n.quals.training = n.quals.training.or(old_training);
                diff("org_code", o.org_code.clone(), x.org_code.clone());
                diff("category", o.category.0.label().into(), n.category.label().into());
                diff("status", o.status.0.label().into(), n.status.label().into());
                let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
                diff("joined_on", day(o.joined_on), day(n.joined_on));
                diff("work_unit", opt(&o.work_unit), opt(&n.work_unit));
                diff("skills", opt(&o.skills), opt(&n.skills));
                diff("interests", opt(&o.interests), opt(&n.interests));
                diff("free_time", opt(&o.free_time), opt(&n.free_time));
                let yn = |b: bool| if b { i18n::IMPORT_YES } else { i18n::IMPORT_NO }.to_string();
                diff("central_household", yn(o.central_household), yn(n.central_household));
                let label = |c: Option<&'static str>| c.unwrap_or("").to_string();
                diff(
                    "party_post",
                    label(o.party_post.map(|c| c.0.label())),
                    label(n.quals.party_post.map(|c| c.label())),
                );
                diff("education", label(o.education.map(|c| c.0.label())), label(n.quals.education.map(|c| c.label())));
                diff("social_worker_cert", yn(o.social_worker_cert), yn(n.quals.social_worker_cert));
                diff("cross_appointed", yn(o.cross_appointed), yn(n.quals.cross_appointed));
                let days = |t: Option<(i32, u16)>| t.map(|t| t.1.to_string()).unwrap_or_default();
                diff("training_days", days(old_training), days(n.quals.training));
                let member_same = fields.iter().all(|f| f.column == redcell_domain::rosters::header_of(K, "phone"));
                if !member_same {
                    plan.changed_members.push((n.clone(), o, x.row));
                }
            }
        }
        if !is_new {
            if fields.is_empty() {
                counts.unchanged += 1;
            } else {
                counts.changed += 1;
            }
        }
        if !fields.is_empty() {
            report.changes.push(RowChange {
                row: x.row,
                key: format!(
                    "{} {}",
                    old_res.map(|r| r.name.clone()).unwrap_or_else(|| x.res.name.clone()),
                    x.res.id_number.masked()
                ),
                fields,
            });
        }
    }
    report.counts.new = counts.new;
    report.counts.changed = counts.changed;
    report.counts.unchanged = counts.unchanged;
    if !report.errors.is_empty() || !commit {
        return Ok(());
    }
    progress(Stage::Writing, 0);
    match write(db, p, up, &counts, plan).await? {
        Ok(batch) => report.batch_id = Some(batch),
        Err(e) => report.errors.push(e),
    }
    Ok(())
}

/// Write the plan in one transaction; a row changed since it was checked
/// fails the whole batch with an error on that row (nothing written).
async fn write(
    db: &Db,
    p: &Principal,
    up: &Upload<'_>,
    counts: &Counts,
    plan: Plan,
) -> Result<Result<i64, RowError>, StoreError> {
    let t = p.tenant_id;
    let at = now();
    let mut undo = Undo::default();
    let mut tx = db.begin().await?;
    let first_res = reserve_ids(&mut tx, "residents", plan.new_res.len()).await?;
    let first_mem = reserve_ids(&mut tx, "members", plan.new_members.len()).await?;
    let res_rows: Vec<ResidentRecord> = plan
        .new_res
        .iter()
        .enumerate()
        .map(|(i, (org, n))| ResidentRecord {
            id: ResidentId::new(first_res + i as i64),
            household_id: None,
            org_id: OrgId::new(*org),
            name: n.name.clone(),
            gender: n.gender,
            birth_date: n.birth_date,
            id_number: n.id_number.as_str().to_string(),
            phone: n.phone.as_ref().map(|x| x.as_str().to_string()),
            note: None,
        })
        .collect();
    crate::registry::residents::insert(&mut tx, t, at, &res_rows).await?;
    undo.created.insert("residents".into(), res_rows.iter().map(|r| r.id.get()).collect());
    let res_id = |r: Res| match r {
        Res::Old(id) => id,
        Res::New(i) => first_res + i as i64,
    };
    let mem_rows: Vec<MemberRecord> = plan
        .new_members
        .iter()
        .enumerate()
        .map(|(i, (r, n))| MemberRecord {
            id: MemberId::new(first_mem + i as i64),
            resident_id: ResidentId::new(res_id(*r)),
            org_id: n.org_id,
            category: n.category,
            status: n.status,
            joined_on: n.joined_on,
            work_unit: n.work_unit.clone(),
            skills: n.skills.clone(),
            interests: n.interests.clone(),
            free_time: n.free_time.clone(),
            central_household: n.central_household,
            quals: n.quals.clone(),
        })
        .collect();
    crate::registry::members::insert(&mut tx, t, at, &mem_rows).await?;
    undo.created.insert("members".into(), mem_rows.iter().map(|m| m.id.get()).collect());
    let mut prior_res = Vec::new();
    for (id, phone, old, updated_at, row, id_text) in &plan.res_phone {
        let n = tx
            .exec(
                "UPDATE residents SET phone = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND updated_at = $5",
                args![phone.clone(), at, t, *id, *updated_at],
            )
            .await?;
        if n != 1 {
            return Ok(Err(row_error(K, *row, "id_number", id_text, i18n::IMPORT_CHANGED_SINCE_CHECK)));
        }
        let mut m = BTreeMap::new();
        m.insert("phone".to_string(), json!(old));
        m.insert("updated_at".to_string(), json!(updated_at));
        prior_res.push((*id, m));
    }
    let mut prior_mem = Vec::new();
    for (n, o, row) in &plan.changed_members {
        let changed = tx
            .exec(
                "UPDATE members SET org_id = $1, category = $2, status = $3, joined_on = $4, work_unit = $5, skills = $6, interests = $7, \
                 free_time = $8, central_household = $9, updated_at = $10, party_post = $14, education = $15, social_worker_cert = $16, \
                 cross_appointed = $17, training_year = $18, training_days = $19 WHERE tenant_id = $11 AND id = $12 AND updated_at = $13",
                args![n.org_id, n.category.code(), n.status.code(), n.joined_on, n.work_unit.clone(), n.skills.clone(),
                    n.interests.clone(), n.free_time.clone(), n.central_household, at, t, o.id, o.updated_at,
                    n.quals.party_post.map(|x| x.code().to_string()), n.quals.education.map(|x| x.code().to_string()),
                    n.quals.social_worker_cert, n.quals.cross_appointed, n.quals.training.map(|x| x.0 as i64),
                    n.quals.training.map(|x| x.1 as i64)],
            )
            .await?;
        if changed != 1 {
            return Ok(Err(row_error(K, *row, "id_number", &o.id_number, i18n::IMPORT_CHANGED_SINCE_CHECK)));
        }
        let mut m = BTreeMap::new();
        m.insert("org_id".to_string(), json!(o.org_id));
        m.insert("category".to_string(), json!(o.category.0.code()));
        m.insert("status".to_string(), json!(o.status.0.code()));
        m.insert("joined_on".to_string(), json!(o.joined_on));
        m.insert("work_unit".to_string(), json!(o.work_unit));
        m.insert("skills".to_string(), json!(o.skills));
        m.insert("interests".to_string(), json!(o.interests));
        m.insert("free_time".to_string(), json!(o.free_time));
        m.insert("central_household".to_string(), json!(o.central_household));
        m.insert("party_post".to_string(), json!(o.party_post.map(|c| c.0.code())));
        m.insert("education".to_string(), json!(o.education.map(|c| c.0.code())));
        m.insert("social_worker_cert".to_string(), json!(o.social_worker_cert));
        m.insert("cross_appointed".to_string(), json!(o.cross_appointed));
        m.insert("training_year".to_string(), json!(o.training_year));
        m.insert("training_days".to_string(), json!(o.training_days));
        m.insert("updated_at".to_string(), json!(o.updated_at));
        prior_mem.push((o.id, m));
    }
    if !prior_res.is_empty() {
        undo.changed.insert("residents".into(), prior_res);
    }
    if !prior_mem.is_empty() {
        undo.changed.insert("members".into(), prior_mem);
    }
    let id = write_batch(&mut tx, p, up, at, counts, &undo).await?;
    tx.commit().await?;
    Ok(Ok(id))
}
