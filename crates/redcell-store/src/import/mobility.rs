//! Mobile members' registration cards (流出/流入登记卡), one row per card: the
//! spreadsheet a branch kept until now. The rules are those of the card form
//! ([`crate::mobility::record`]): an outflow card is kept by the member's own
//! organisation, an inflow card by the receiving one — for a member of the
//! registry, or for another branch's member named by their outflow card's
//! number and ID number. A card number already imported is updated from the
//! row (never moved to another member or direction); a card that has ended is
//! left alone. A last-contact date records one contact, so that the
//! lost-contact clock starts from what the branch knows rather than from the
//! day of the import.

use super::{
    Counts, FieldChange, InRow, Progress, Report, RowChange, RowError, RowErrors, Stage, Undo, Upload, editable_orgs,
    now, read_each, reserve_ids, row_error, show, write_batch,
};
use crate::args;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::mobility::{CardTerms, ContactChannel, Direction, card_terms};
use redcell_domain::rosters::{ImportKind, header_of, normalise_date, normalise_text};
use redcell_domain::text::past_date;
use redcell_domain::{IdNumber, i18n};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

const K: ImportKind = ImportKind::Mobility;

struct Parsed {
    row: u32,
    dir: Direction,
    id_number: IdNumber,
    name: String,
    org_code: String,
    paired_no: Option<String>,
    terms: CardTerms,
    last_contact: Option<(NaiveDate, ContactChannel)>,
}

fn parse(r: &InRow, today: NaiveDate) -> Result<Parsed, Vec<RowError>> {
    let mut e = RowErrors::new(K, r);
    e.check_cells(&["id_number"]);
    let dir = match Direction::parse("direction", &normalise_text(&r.text(K, "direction"))) {
        Ok(d) => Some(d),
        Err(x) => {
            e.push("direction", x.message);
            None
        }
    };
    let id_number = match IdNumber::parse(&r.text(K, "id_number")) {
        Ok(id) => Some(id),
        Err(x) => {
            e.push("id_number", x.message);
            None
        }
    };
    let org_code = normalise_text(&r.text(K, "org_code"));
    let paired_no = Some(normalise_text(&r.text(K, "paired_card_no")).to_uppercase()).filter(|x| !x.is_empty());
    match dir {
        Some(Direction::In) if org_code.is_empty() => e.push("org_code", "流入登记卡请填写接收的组织编码"),
        Some(Direction::Out) if paired_no.is_some() => e.push("paired_card_no", "流出登记卡不填对应的流出卡号"),
        _ => {}
    }
    let date = |key: &str| Some(normalise_date(&r.text(K, key))).filter(|x| !x.is_empty());
    let terms = match card_terms(
        &normalise_text(&r.text(K, "card_no")),
        &normalise_text(&r.text(K, "place")),
        &normalise_text(&r.text(K, "reason")),
        &date("started_on"),
        &date("expected_until"),
        &normalise_text(&r.text(K, "channel")),
        &normalise_text(&r.text(K, "other_org")),
        today,
    ) {
        Ok(t) => Some(t),
        Err(x) => {
            e.invalid(&x, &|f| f.to_string());
            None
        }
    };
    let last = match date("last_contact") {
        None => None,
        Some(text) => match past_date("last_contact", &Some(text), today) {
            Ok(d) => Some(d),
            Err(x) => {
                e.push("last_contact", x.message);
                None
            }
        },
    };
    let channel_text = normalise_text(&r.text(K, "last_channel"));
    let channel = if channel_text.is_empty() {
        Some(ContactChannel::Call)
    } else {
        match ContactChannel::parse("last_channel", &channel_text) {
            Ok(c) => Some(c),
            Err(x) => {
                e.push("last_channel", x.message);
                None
            }
        }
    };
    if let (Some(t), Some(d)) = (&terms, last)
        && d < t.started_on
    {
        e.push("last_contact", format!("不能早于开始日期 {}", t.started_on));
    }
    match (dir, id_number, terms, channel, e.is_empty()) {
        (Some(dir), Some(id_number), Some(terms), Some(channel), true) => Ok(Parsed {
            row: r.row,
            dir,
            id_number,
            name: normalise_text(&r.text(K, "name")),
            org_code,
            paired_no,
            terms,
            last_contact: last.map(|d| (d, channel)),
        }),
        _ => Err(e.out),
    }
}

/// A card as recorded, with the last contact kept on it.
#[derive(sqlx::FromRow, Clone)]
struct Existing {
    card_no: String,
    id: i64,
    org_id: i64,
    member_id: i64,
    direction: String,
    place: String,
    reason: String,
    started_on: NaiveDate,
    expected_until: Option<NaiveDate>,
    channel: String,
    other_org: Option<String>,
    paired_id: Option<i64>,
    ended_on: Option<NaiveDate>,
    updated_at: DateTime<Utc>,
    last_contact: Option<NaiveDate>,
    id_number: String,
}

/// A card to write: new, or the one it changes; and a contact to add.
struct Write {
    row: u32,
    org_id: i64,
    member_id: i64,
    dir: Direction,
    terms: CardTerms,
    paired_id: Option<i64>,
    contact: Option<(NaiveDate, ContactChannel)>,
    old: Option<Existing>,
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
    // Members the caller may record a card for (as the card form allows).
    let mut a = args![t];
    let c = p.scope(Capability::EditRegistry).rows("m", &mut a);
    let members: HashMap<String, (i64, String, i64)> = db
        .all::<(String, i64, String, i64)>(
            &format!(
                "SELECT r.id_number, m.id, r.name, m.org_id FROM members m JOIN residents r ON r.tenant_id = m.tenant_id \
                 AND r.id = m.resident_id WHERE m.tenant_id = $1 AND {c}"
            ),
            a,
        )
        .await?
        .into_iter()
        .map(|(id, m, name, org)| (id, (m, name, org)))
        .collect();
    // Every card of the tenant by number (numbers are the tenant's), with
    // its member's ID number for pairing.
    let cards: HashMap<String, Existing> = db
        .all::<Existing>(
            "SELECT c.card_no, c.id, c.org_id, c.member_id, c.direction, c.place, c.reason, c.started_on, c.expected_until, \
             c.channel, c.other_org, c.paired_id, c.ended_on, c.updated_at, \
             (SELECT MAX(x.on_date) FROM mobility_contacts x WHERE x.tenant_id = c.tenant_id AND x.card_id = c.id) \
             AS last_contact, r.id_number FROM mobility_cards c \
             JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.member_id \
             JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id WHERE c.tenant_id = $1",
            args![t],
        )
        .await?
        .into_iter()
        .map(|c| (c.card_no.clone(), c))
        .collect();
    // Open cards by member and direction, and outflow cards already received.
    let mut open_of: HashSet<(i64, String)> = HashSet::new();
    let mut received: HashSet<i64> = HashSet::new();
    for c in cards.values().filter(|c| c.ended_on.is_none()) {
        open_of.insert((c.member_id, c.direction.clone()));
        if let Some(out) = c.paired_id {
            received.insert(out);
        }
    }

    let mut writes: Vec<Write> = Vec::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut counts = Counts { rows: report.counts.rows, ..Counts::default() };
    for x in parsed {
        let err = |key: &str, value: &str, reason: String| row_error(K, x.row, key, value, reason);
        let no = x.terms.card_no.clone();
        if let Some(first) = seen.get(&no) {
            let why = format!("{}{first}{}", i18n::IMPORT_DUPLICATE_IN_FILE, i18n::IMPORT_ROW_SUFFIX);
            report.errors.push(err("card_no", &no, why));
            continue;
        }
        seen.insert(no.clone(), x.row);
        // The member: in the registry and in the caller's scope — or, for an
        // inflow card naming an outflow card, that card's member.
        let paired = match (&x.paired_no, x.dir) {
            (Some(pno), Direction::In) => match cards.get(pno) {
                Some(c) if c.direction == Direction::Out.code() => Some(c.clone()),
                _ => {
                    report.errors.push(err("paired_card_no", pno, "没有这张流出登记卡（请核对卡号）".into()));
                    continue;
                }
            },
            _ => None,
        };
        let (member_id, name, member_org) = match (&paired, members.get(x.id_number.as_str())) {
            (Some(c), found) => (c.member_id, found.map(|f| f.1.clone()), None),
            (None, Some((m, n, o))) => (*m, Some(n.clone()), Some(*o)),
            (None, None) => {
                report.errors.push(err("id_number", x.id_number.as_str(), i18n::IMPORT_NOT_MEMBER.into()));
                continue;
            }
        };
        if let Some(n) = &name
            && !x.name.is_empty()
            && x.name != *n
        {
            report.errors.push(err("name", &x.name, "与登记的姓名不一致".into()));
            continue;
        }
        // The organisation keeping the card.
        let keeper = if x.org_code.is_empty() {
            member_org
        } else {
            match orgs.get(&x.org_code) {
                Some(o) => Some(*o),
                None => {
                    let why = format!("{}{}", i18n::IMPORT_REF_ORG_CODE, i18n::IMPORT_UNKNOWN_REF);
                    report.errors.push(err("org_code", &x.org_code, why));
                    continue;
                }
            }
        };
        let Some(keeper) = keeper else {
            report.errors.push(err("org_code", &x.org_code, "请填写接收的组织编码".into()));
            continue;
        };
        if !editable.contains(&keeper) {
            report.errors.push(err("org_code", &x.org_code, i18n::IMPORT_OUT_OF_SCOPE.into()));
            continue;
        }
        if x.dir == Direction::Out && member_org.is_some_and(|o| o != keeper) {
            report.errors.push(err("org_code", &x.org_code, "流出登记卡由党员所在的组织登记".into()));
            continue;
        }
        // The form's rule of pairing (the same person, an open card, another organisation).
        if let Some(c) = &paired
            && let Err(e) =
                crate::mobility::pairing(&c.id_number, c.ended_on.is_some(), c.org_id, x.id_number.as_str(), keeper)
        {
            let (key, value) = match e.field.as_str() {
                "id_number" => ("id_number", x.id_number.as_str()),
                "paired_card_no" => ("paired_card_no", x.paired_no.as_deref().unwrap_or("")),
                _ => ("org_code", x.org_code.as_str()),
            };
            report.errors.push(err(key, value, e.message));
            continue;
        }
        let old = cards.get(&no).cloned();
        if let Some(o) = &old {
            if o.member_id != member_id || o.direction != x.dir.code() || o.org_id != keeper {
                report.errors.push(err("card_no", &no, "卡号已被另一张登记卡使用".into()));
                continue;
            }
            if o.ended_on.is_some() {
                report.errors.push(err("card_no", &no, "这张登记卡已结束，不再更新".into()));
                continue;
            }
            if o.paired_id != paired.as_ref().map(|c| c.id) {
                report.errors.push(err(
                    "paired_card_no",
                    x.paired_no.as_deref().unwrap_or(""),
                    "与已登记的配对不一致".into(),
                ));
                continue;
            }
        } else {
            if !open_of.insert((member_id, x.dir.code().to_string())) {
                let why = format!("这名党员已有未结束的{}登记卡，结束后才能再登记", x.dir.label());
                report.errors.push(err("id_number", x.id_number.as_str(), why));
                continue;
            }
            if let Some(c) = &paired
                && !received.insert(c.id)
            {
                report.errors.push(err(
                    "paired_card_no",
                    x.paired_no.as_deref().unwrap_or(""),
                    "这张流出登记卡已被接收".into(),
                ));
                continue;
            }
        }
        // Only a contact later than those recorded is news.
        let known = old.as_ref().and_then(|o| o.last_contact);
        let contact = x.last_contact.filter(|(d, _)| known.is_none_or(|l| *d > l));
        let w = Write {
            row: x.row,
            org_id: keeper,
            member_id,
            dir: x.dir,
            paired_id: paired.as_ref().map(|c| c.id),
            contact,
            terms: x.terms,
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
                let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
                diff("place", o.place.clone(), w.terms.place.clone());
                diff("reason", o.reason.clone(), w.terms.reason.clone());
                diff("started_on", o.started_on.to_string(), w.terms.started_on.to_string());
                diff("expected_until", date(o.expected_until), date(w.terms.expected_until));
                diff("channel", o.channel.clone(), w.terms.channel.clone());
                diff(
                    "other_org",
                    o.other_org.clone().unwrap_or_default(),
                    w.terms.other_org.clone().unwrap_or_default(),
                );
                if let Some((d, _)) = w.contact {
                    diff("last_contact", date(o.last_contact), d.to_string());
                }
                if fields.is_empty() {
                    counts.unchanged += 1;
                } else {
                    counts.changed += 1;
                    let key = name.clone().unwrap_or_else(|| no.clone());
                    report.changes.push(RowChange { row: x.row, key, fields });
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
    let mut next = reserve_ids(&mut tx, "mobility_cards", fresh).await?;
    let mut next_contact =
        reserve_ids(&mut tx, "mobility_contacts", writes.iter().filter(|w| w.contact.is_some()).count()).await?;
    let (mut created, mut created_contacts, mut prior) = (Vec::new(), Vec::new(), Vec::new());
    for w in &writes {
        let card = match &w.old {
            None => {
                tx.exec(
                    "INSERT INTO mobility_cards (id, tenant_id, org_id, member_id, direction, card_no, place, reason, \
                     started_on, expected_until, channel, other_org, paired_id, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
                    args![
                        next,
                        t,
                        w.org_id,
                        w.member_id,
                        w.dir.code(),
                        w.terms.card_no.clone(),
                        w.terms.place.clone(),
                        w.terms.reason.clone(),
                        w.terms.started_on,
                        w.terms.expected_until,
                        w.terms.channel.clone(),
                        w.terms.other_org.clone(),
                        w.paired_id,
                        p.user_id,
                        at
                    ],
                )
                .await?;
                created.push(next);
                next += 1;
                next - 1
            }
            Some(o) => {
                let done = tx
                    .exec(
                        "UPDATE mobility_cards SET place = $1, reason = $2, started_on = $3, expected_until = $4, \
                         channel = $5, other_org = $6, updated_at = $7 WHERE tenant_id = $8 AND id = $9 \
                         AND ended_on IS NULL AND updated_at = $10",
                        args![
                            w.terms.place.clone(),
                            w.terms.reason.clone(),
                            w.terms.started_on,
                            w.terms.expected_until,
                            w.terms.channel.clone(),
                            w.terms.other_org.clone(),
                            at,
                            t,
                            o.id,
                            o.updated_at
                        ],
                    )
                    .await?;
                if done != 1 {
                    // Dropping the transaction writes nothing.
                    report.errors.push(row_error(K, w.row, "card_no", "", i18n::IMPORT_CHANGED_SINCE_CHECK));
                    return Ok(());
                }
                let mut m = BTreeMap::new();
                m.insert("place".to_string(), json!(o.place));
                m.insert("reason".to_string(), json!(o.reason));
                m.insert("started_on".to_string(), json!(o.started_on));
                m.insert("expected_until".to_string(), json!(o.expected_until));
                m.insert("channel".to_string(), json!(o.channel));
                m.insert("other_org".to_string(), json!(o.other_org));
                m.insert("updated_at".to_string(), json!(o.updated_at));
                prior.push((o.id, m));
                o.id
            }
        };
        if let Some((on, channel)) = w.contact {
            tx.exec(
                "INSERT INTO mobility_contacts (id, tenant_id, org_id, card_id, member_id, on_date, channel, note, \
                 recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![
                    next_contact,
                    t,
                    w.org_id,
                    card,
                    w.member_id,
                    on,
                    channel.code(),
                    "导入：最近联系",
                    p.user_id,
                    at
                ],
            )
            .await?;
            created_contacts.push(next_contact);
            next_contact += 1;
        }
    }
    if !created_contacts.is_empty() {
        undo.created.insert("mobility_contacts".into(), created_contacts);
    }
    if !created.is_empty() {
        undo.created.insert("mobility_cards".into(), created);
    }
    if !prior.is_empty() {
        undo.changed.insert("mobility_cards".into(), prior);
    }
    let id = write_batch(&mut tx, p, up, at, &counts, &undo).await?;
    tx.commit().await?;
    report.batch_id = Some(id);
    Ok(())
}
