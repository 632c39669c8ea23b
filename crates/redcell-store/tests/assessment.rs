//! Assessment on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL: a community
//! is taken from self-assessment through review, publication (measures
//! frozen), an objection and final; scores from the wrong level, out of
//! range or on a measured item are refused and write nothing; a rubric
//! change is a new version that leaves open assessments on theirs.
//! `cargo test -p redcell-store --test assessment`.

use redcell_domain::Role;
use redcell_domain::assessment::AssessmentId;
use redcell_store::assessment::{self as asm, RawAnswer, RawObjection, RawOpen, RawScore, RawStep, RawVersion};
use redcell_store::{Db, Principal, StoreError, args, auth};
use redcell_testkit::store::*;

stories!(
    a_community_goes_from_self_assessment_to_final,
    rubric_changes_are_new_versions,
    member_points_come_from_records,
    evidence_files_go_with_scores
);

async fn account(db: &Db, name: &str, role: Role, code: &str) -> Principal {
    auth::add_user(db, name, name, PASSWORD, role, code).await.unwrap();
    sign_in(db, name).await.0
}

fn field(e: &StoreError) -> String {
    match e {
        StoreError::Invalid(i) => i.0.iter().map(|f| format!("{}:{}", f.field, f.code)).collect::<Vec<_>>().join(","),
        StoreError::Denied(f) => format!("denied:{}", f.field),
        other => format!("{other:?}"),
    }
}

async fn count(db: &Db, table: &str) -> i64 {
    db.int(&format!("SELECT COUNT(*) FROM {table}"), args![]).await.unwrap()
}

fn score(v: &str, reason: &str) -> RawScore {
    RawScore { score: s(v), reason: s(reason), evidence: None }
}

async fn a_community_goes_from_self_assessment_to_final(db: Db) {
    let db = &db;
    let t = tenant(db).await;
    let community = account(db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let street = t.admin.clone();
    // The top has nobody above it.
    let e = asm::open(db, &street, &RawOpen { org_id: s(t.root.id), ..Default::default() }).await.unwrap_err();
    assert_eq!(field(&e), "org_id:root");
    // A branch secretary cannot open the community's assessment.
    assert!(asm::open(db, &t.sec, &RawOpen { org_id: s(t.c1.id), ..Default::default() }).await.is_err());
    // The previous half-year, scored, is shown beside the current one.
    let before_period = redcell_domain::assessment::Period::of(redcell_store::coverage::today()).previous();
    let prev = asm::open(
        db,
        &community,
        &RawOpen { org_id: s(t.c1.id), period: s(before_period.code()), ..Default::default() },
    )
    .await
    .unwrap();
    asm::score(db, &community, AssessmentId::new(prev.id), 4, &score("2", "上期")).await.unwrap();
    let x = asm::open(db, &community, &RawOpen { org_id: s(t.c1.id), ..Default::default() }).await.unwrap();
    let id = AssessmentId::new(x.id);
    let v = asm::get(db, &community, id).await.unwrap();
    assert_eq!(v.previous.as_ref().map(|p| p.id), Some(prev.id));
    assert_eq!(v.history.iter().map(|h| h.id).collect::<Vec<_>>(), vec![x.id, prev.id], "newest first");
    assert_eq!(v.item(4).unwrap().previous.as_deref(), Some("2"));
    let e = asm::open(db, &street, &RawOpen { org_id: s(t.c1.id), ..Default::default() }).await.unwrap_err();
    assert_eq!(field(&e), "period:duplicate");

    // Measured items come from the records; missing data is missing, never 0.
    let v = asm::get(db, &community, id).await.unwrap();
    assert_eq!(v.a.state, "open");
    assert!(v.standing.own && !v.standing.above);
    let i1 = v.item(1).unwrap();
    assert_eq!(i1.outcome.as_deref(), Some("missing"), "no secretary is recorded yet");
    assert!(i1.score.is_none() && i1.needs_assessor);
    let i21 = v.item(21).unwrap();
    assert_eq!(i21.outcome.as_deref(), Some("unmet"), "no joint committee met");
    assert_eq!(i21.score.as_deref(), Some("0"));
    // Record a secretary with a degree and a certificate: item 1 is met and its evidence names her.
    let m = t.members[0].id;
    let mut raw = redcell_domain::input::RawMember {
        resident_id: s(t.members[0].resident_id),
        org_id: s(t.members[0].org_id),
        category: s(t.members[0].category.0.code()),
        party_post: s("书记"),
        education: s("博士"),
        ..Default::default()
    };
    let e = raw.validate(redcell_store::coverage::today()).unwrap_err();
    assert_eq!(e.0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), vec!["education"]);
    raw.education = s("bachelor");
    raw.social_worker_cert = s("是");
    raw.cross_appointed = s("true");
    raw.training_days = s("367");
    assert_eq!(raw.validate(redcell_store::coverage::today()).unwrap_err().0[0].field, "training_days");
    raw.training_days = s("8");
    let n = raw.validate(redcell_store::coverage::today()).unwrap();
    let saved = redcell_store::registry::members::update(db, &t.admin, m, n).await.unwrap();
    assert_eq!(saved.training_days, Some(8));
    assert_eq!(saved.party_post.map(|c| c.0), Some(redcell_domain::registry::PartyPost::Secretary));
    let v = asm::get(db, &community, id).await.unwrap();
    assert_eq!(v.item(1).unwrap().outcome.as_deref(), Some("met"));
    assert_eq!(v.item(1).unwrap().score.as_deref(), Some("6"));
    let ev = asm::evidence(db, &community, id, 1).await.unwrap();
    assert_eq!(ev.figures.len(), 2);
    assert_eq!(ev.figures[0].evidence.iter().map(|e| e.id).collect::<Vec<_>>(), vec![m.get()]);
    assert!(matches!(asm::evidence(db, &community, id, 4).await, Err(StoreError::NotFound)), "item 4 is not measured");

    // Refusals write nothing.
    let before = count(db, "assessment_scores").await;
    let e = asm::score(db, &street, id, 4, &score("3", "上级")).await.unwrap_err();
    assert_eq!(field(&e), "denied:score", "the level above does not self-assess");
    let e = asm::score(db, &community, id, 4, &score("4.5", "超出")).await.unwrap_err();
    assert_eq!(field(&e), "score:range");
    let e = asm::score(db, &community, id, 4, &score("3", "")).await.unwrap_err();
    assert_eq!(field(&e), "reason:required");
    let e = asm::score(db, &community, id, 21, &score("4", "开过会")).await.unwrap_err();
    assert_eq!(field(&e), "score:measured", "a measured item with data is not scored by hand");
    let e = asm::submit(db, &community, id, &RawStep::default()).await.unwrap_err();
    assert_eq!(field(&e), "score:incomplete");
    assert_eq!(count(db, "assessment_scores").await, before);

    // Self-assessment: every item an assessor must score.
    let v = asm::get(db, &community, id).await.unwrap();
    let todo: Vec<u32> =
        v.groups.iter().flat_map(|g| g.items.iter()).filter(|i| i.needs_assessor).map(|i| i.no).collect();
    assert!(todo.contains(&4) && !todo.contains(&1) && !todo.contains(&21));
    for no in &todo {
        asm::score(db, &community, id, *no, &score("2.5", "按台账自评")).await.unwrap();
    }
    asm::submit(db, &community, id, &RawStep::default()).await.unwrap();
    let e = asm::score(db, &community, id, 4, &score("3", "再改")).await.unwrap_err();
    assert_eq!(field(&e), "denied:score", "after submission the community cannot change its scores");

    // Review: the street changes one score and publishes; the measures freeze.
    asm::score(db, &street, id, 4, &score("1", "材料不全")).await.unwrap();
    let e = asm::publish(db, &street, id, &RawStep { note: None, days: s("31") }).await.unwrap_err();
    assert_eq!(field(&e), "days:range");
    let e = asm::publish(db, &community, id, &RawStep { note: None, days: s("0") }).await.unwrap_err();
    assert_eq!(field(&e), "denied:state");
    asm::publish(db, &street, id, &RawStep { note: None, days: s("0") }).await.unwrap();
    let published = asm::get(db, &community, id).await.unwrap();
    assert!(published.frozen);
    assert_eq!(published.item(4).unwrap().score.as_deref(), Some("1"));
    // A joint committee now meets twice: the frozen result does not move.
    for d in ["2026-01-10", "2026-02-10"] {
        db.exec(
            "INSERT INTO duty_meetings (tenant_id, org_id, kind, held_on, topic, created_at) VALUES ($1, $2, 'joint_committee', $3, '联席会', $4)",
            args![t.root.tenant_id, t.c1.id.get(), chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap(), chrono::Utc::now()],
        )
        .await
        .unwrap();
    }
    let again = asm::get(db, &community, id).await.unwrap();
    assert_eq!(again.item(21).unwrap().outcome, published.item(21).unwrap().outcome);
    assert_eq!(again.total, published.total);

    // An objection must be answered before the result is final.
    let e = asm::object(db, &community, id, &RawObjection { item_no: s("99"), body: s("异议") }).await.unwrap_err();
    assert_eq!(field(&e), "item_no:not_found");
    asm::object(db, &community, id, &RawObjection { item_no: s("4"), body: s("材料在台账第12页") }).await.unwrap();
    let e = asm::finalize(db, &street, id, &RawStep::default()).await.unwrap_err();
    assert_eq!(field(&e), "state:objections");
    let o = asm::get(db, &street, id).await.unwrap().objections[0].id;
    let e =
        asm::answer(db, &community, id, &RawAnswer { objection_id: s(o), answer: s("自己答复") }).await.unwrap_err();
    assert_eq!(field(&e), "denied:answer");
    asm::answer(db, &street, id, &RawAnswer { objection_id: s(o), answer: s("维持") }).await.unwrap();
    asm::finalize(db, &street, id, &RawStep::default()).await.unwrap();
    let fin = asm::get(db, &community, id).await.unwrap();
    assert_eq!(fin.a.state, "final");
    assert_eq!(
        fin.steps.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
        vec!["opened", "submitted", "published", "finalized"]
    );
    // The total is the sum of the item scores.
    let sum: f64 = fin
        .groups
        .iter()
        .flat_map(|g| g.items.iter())
        .filter_map(|i| i.score.as_deref())
        .map(|s| s.parse::<f64>().unwrap())
        .sum();
    assert!((sum - fin.total.parse::<f64>().unwrap()).abs() < 1e-9);
    assert!(asm::score(db, &street, id, 4, &score("2", "晚了")).await.is_err());
    // The report as a table: every item, the total last, the change beside the previous score.
    let (_, headers, rows) = asm::report_sheet(db, &street, id).await.unwrap();
    assert_eq!(rows.len(), 24);
    let change = headers.iter().position(|h| *h == "变化").unwrap();
    assert_eq!(rows.iter().find(|r| r[0] == "4").unwrap()[change], "-1");
    assert_eq!(rows[23][11], fin.total);
    assert!(matches!(asm::report_sheet(db, &t.sec, id).await, Err(StoreError::NotFound) | Err(StoreError::Forbidden)));
    // Every step and score is in the audit trail.
    let audited = db
        .int(
            "SELECT COUNT(*) FROM audit_log WHERE entity IN ('assessment', 'assessment_score', 'assessment_objection')",
            args![],
        )
        .await
        .unwrap();
    assert!(audited >= (todo.len() + 6) as i64, "{audited}");
}

async fn rubric_changes_are_new_versions(db: Db) {
    let db = &db;
    let t = tenant(db).await;
    let community = account(db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let first = asm::rubrics(db, &community).await.unwrap();
    assert_eq!(first.len(), 2, "the shipped rubric and five-star set are there");
    let x = asm::open(db, &community, &RawOpen { org_id: s(t.c1.id), ..Default::default() }).await.unwrap();
    let body = redcell_domain::assessment::SIX_IN_ONE
        .replace("points = 6, text = \"社区党组织书记", "points = 5, text = \"社区党组织书记");
    let today = redcell_store::coverage::today();
    let raw = |body: &str, from: chrono::NaiveDate| RawVersion {
        code: None,
        body: s(body),
        effective_from: s(from),
        note: s("调整分值"),
    };
    // Only an assessor at the top changes rubrics.
    assert!(matches!(
        asm::add_version(db, &community, &raw(redcell_domain::assessment::SIX_IN_ONE, today)).await,
        Err(StoreError::Forbidden)
    ));
    // Points that do not add up name the group; a date in the past is refused.
    let e = asm::add_version(db, &t.admin, &raw(&body, today)).await.unwrap_err();
    assert_eq!(field(&e), "group[1].points:sum");
    let e =
        asm::add_version(db, &t.admin, &raw(redcell_domain::assessment::SIX_IN_ONE, today - chrono::Duration::days(1)))
            .await
            .unwrap_err();
    assert_eq!(field(&e), "effective_from:past");
    assert_eq!(count(db, "rubric_versions").await, 2, "the two shipped ones, nothing written");
    let fixed = body.replace("points = 4, text = \"鼓励40周岁", "points = 5, text = \"鼓励40周岁");
    let v2 = asm::add_version(db, &t.admin, &raw(&fixed, today)).await.unwrap();
    assert_eq!(v2.version, 2);
    // The open assessment keeps version 1; a new one takes version 2.
    let v = asm::get(db, &community, AssessmentId::new(x.id)).await.unwrap();
    assert_eq!((v.a.version, v.item(1).unwrap().points), (1, 6));
    let y = asm::open(db, &community, &RawOpen { org_id: s(t.b1.id), ..Default::default() }).await.unwrap();
    let w = asm::get(db, &community, AssessmentId::new(y.id)).await.unwrap();
    assert_eq!((w.a.version, w.item(1).unwrap().points, w.item(4).unwrap().points), (2, 5, 5));
}

async fn member_points_come_from_records(db: Db) {
    let db = &db;
    let t = tenant(db).await;
    let tn = t.root.tenant_id;
    let m = t.members[0].id.get();
    let (y, now) = (2026, chrono::Utc::now());
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let h = t.households[0].id.get();
    // Two visits to one household on one day count once; another day counts again.
    for day in ["2026-03-01", "2026-03-01", "2026-04-01"] {
        db.exec(
            "INSERT INTO duty_visits (tenant_id, org_id, visitor_kind, visitor_id, target_kind, target_id, visited_on, purpose, created_at) \
             VALUES ($1, $2, 'member', $3, 'household', $4, $5, 'routine', $6)",
            args![tn, t.b1.id.get(), m, h, d(day), now],
        )
        .await
        .unwrap();
    }
    // An hour and a half confirmed; a pending hour does not count.
    for (mins, state) in [(90i64, "confirmed"), (60, "pending")] {
        db.exec(
            "INSERT INTO service_hours (tenant_id, org_id, member_id, work_date, start_min, end_min, minutes, note, state, logged_by, created_at) \
             VALUES ($1, $2, $3, $4, 540, $5, $6, '清扫楼道', $7, 1, $8)",
            args![tn, t.b1.id.get(), m, d("2026-05-01"), 540 + mins, mins, state, now],
        )
        .await
        .unwrap();
    }
    // Present at one meeting, absent from another.
    for (topic, presence) in [("支部党员大会", "present"), ("党课", "absent")] {
        let id = db
            .int(
                "INSERT INTO duty_meetings (tenant_id, org_id, kind, held_on, topic, created_at) VALUES ($1, $2, 'general_meeting', $3, $4, $5) RETURNING id",
                args![tn, t.b1.id.get(), d("2026-06-01"), topic, now],
            )
            .await
            .unwrap();
        db.exec(
            "INSERT INTO duty_people (tenant_id, record_kind, record_id, person_kind, person_id, presence) VALUES ($1, 'meeting', $2, 'member', $3, $4)",
            args![tn, id, m, presence],
        )
        .await
        .unwrap();
    }
    let pts = asm::points(db, &t.sec, t.members[0].id, y).await.unwrap();
    assert_eq!(pts.total, "5.5", "{:?}", pts.lines);
    let line =
        |src: &str| pts.lines.iter().find(|l| l.source == src).map(|l| (l.units.clone(), l.points.clone())).unwrap();
    assert_eq!(line("visit"), ("2".into(), "2".into()));
    assert_eq!(line("hours"), ("1.5".into(), "1.5".into()));
    assert_eq!(line("attendance"), ("1".into(), "2".into()));
    assert_eq!(line("wish"), ("0".into(), "0".into()));
    assert_eq!(pts.records.len(), 4);
    // Another year holds nothing; a member outside the secretary's branch is not hers to see.
    assert_eq!(asm::points(db, &t.sec, t.members[0].id, 2025).await.unwrap().total, "0");
    assert!(asm::points(db, &t.sec, t.members[2].id, y).await.is_err());
    // The member sees her own points through her account, and nobody else's.
    let me = account(db, "member0", Role::Member, &t.b1.code).await;
    assert!(matches!(asm::my_points(db, &me, y).await, Err(StoreError::NotFound)), "not linked yet");
    db.exec(
        "INSERT INTO duty_member_accounts (tenant_id, user_id, member_id) VALUES ($1, $2, $3)",
        args![tn, me.user_id, m],
    )
    .await
    .unwrap();
    assert_eq!(asm::my_points(db, &me, y).await.unwrap().total, "5.5");
    assert!(asm::points(db, &me, t.members[2].id, y).await.is_err());
}

async fn evidence_files_go_with_scores(db: Db) {
    let db = &db;
    let t = tenant(db).await;
    let community = account(db, "c1.admin", Role::OrgAdmin, &t.c1.code).await;
    let x = asm::open(db, &community, &RawOpen { org_id: s(t.c1.id), ..Default::default() }).await.unwrap();
    let id = AssessmentId::new(x.id);
    // A text file passed off as evidence is refused naming the field; nothing is written.
    let fake = asm::EvidenceFile { name: "台账.png", bytes: b"not really a picture" };
    let e = asm::score_with(db, &community, id, 4, &score("3", "有台账"), Some(fake)).await.unwrap_err();
    assert_eq!(field(&e), "file:type");
    assert_eq!((count(db, "assessment_scores").await, count(db, "files").await), (0, 0));
    let png: Vec<u8> = [&[0x89u8, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..], &[0u8; 32][..]].concat();
    let sc = asm::score_with(
        db,
        &community,
        id,
        4,
        &score("3", "有台账"),
        Some(asm::EvidenceFile { name: "C:\\scans\\台账.png", bytes: &png }),
    )
    .await
    .unwrap();
    let fid = sc.file_id.expect("the file is attached");
    let (info, bytes) = redcell_store::files::download(db, &community, fid).await.unwrap();
    assert_eq!((info.name.as_str(), info.content_type.as_str(), bytes.len()), ("台账.png", "image/png", 40));
    // Changing the score without a file keeps the file.
    let sc = asm::score(db, &community, id, 4, &score("3.5", "补充了会议记录")).await.unwrap();
    assert_eq!(sc.file_id, Some(fid));
    // Someone who cannot read the community cannot download it.
    let other = account(db, "c2.admin", Role::OrgAdmin, &t.c2.code).await;
    assert!(redcell_store::files::download(db, &other, fid).await.is_err());
}
