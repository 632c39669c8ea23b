//! Duties (SPEC §4): the tenant's rules (seeded from the shipped TOML,
//! editable, audited), the records that fulfil them (visits, meetings with
//! attendance and quorum, activities with participants), compliance computed
//! by the pure evaluator of `redcell_domain::duties`, in-app reminders with an
//! outbound webhook that is off until configured, and the demo history.

pub mod demo;
pub mod diary;
pub mod notices;
pub mod records;
pub mod rules;

use crate::coverage::{OrgRef, Tree};
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use crate::{Code, args};
use chrono::{Duration, NaiveDate};
use redcell_domain::Role;
use redcell_domain::calendar::HolidayCalendar;
use redcell_domain::duties::{
    self as d, Candidate, Evaluation, Event, EventKind, Record, RecordKind, Rule, SetKind, Status, Subject,
    SubjectClass, Target, TargetKind,
};
use redcell_domain::registry::{CadreKind, HouseholdTag};
use redcell_domain::{FieldError, OrgKind, OrgPath};
use serde::Serialize;
use std::collections::HashMap;

/// Households whose tags make them "key households" for visiting duties.
pub fn key_household_mask() -> i64 {
    use HouseholdTag::*;
    [Hardship, Unemployed, ElderlyAlone, LeftBehindChild, SpecialGroup, KeyResident].iter().map(|t| t.bit()).sum()
}

/// How far back compliance looks by default (about eight months).
pub const LOOKBACK_DAYS: i64 = 240;

/// Who a duty falls on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct SubjectRef {
    /// `org`, `cadre` or `member`.
    pub kind: String,
    pub id: i64,
    pub name: String,
    /// The organisation the subject belongs to.
    pub org_id: i64,
    pub org_name: String,
}

impl SubjectRef {
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind, self.id)
    }
}

/// One rule evaluated for one subject.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DutyLine {
    pub rule_code: String,
    pub rule_name: String,
    pub rhythm: String,
    pub what: String,
    pub subject: SubjectRef,
    #[schema(value_type = Object)]
    pub evaluation: Evaluation,
}

impl DutyLine {
    /// The current period (earlier overdue ones are counted by `overdue`).
    pub fn focus(&self, today: NaiveDate) -> Option<&d::Period> {
        self.evaluation.current(today)
    }
    pub fn overdue(&self) -> usize {
        self.evaluation.overdue()
    }
    pub fn status(&self, today: NaiveDate) -> Status {
        self.focus(today).map(|p| p.status).unwrap_or(Status::Exempt)
    }
    pub fn status_code(&self, today: NaiveDate) -> &'static str {
        self.status(today).code()
    }
}

#[derive(sqlx::FromRow)]
struct CadreRow {
    id: i64,
    name: String,
    org_id: i64,
    kind: Code<CadreKind>,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    name: String,
    org_id: i64,
    central_household: bool,
    in_service: bool,
}

#[derive(sqlx::FromRow)]
struct HouseholdRow {
    id: i64,
    org_id: i64,
    tags: i64,
    created_on: NaiveDate,
}

#[derive(sqlx::FromRow)]
struct VisitRow {
    org_id: i64,
    visitor_kind: String,
    visitor_id: i64,
    target_kind: String,
    target_id: i64,
    visited_on: NaiveDate,
    purpose: String,
}

#[derive(sqlx::FromRow)]
struct HeldRow {
    id: i64,
    org_id: i64,
    kind: String,
    held_on: NaiveDate,
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    record_kind: String,
    record_id: i64,
    person_kind: String,
    person_id: i64,
}

/// Everything needed to evaluate the duties inside one subtree, read once.
pub(crate) struct World {
    pub tree: Tree,
    pub root: OrgRef,
    cadres: Vec<CadreRow>,
    stations: HashMap<i64, Vec<i64>>,
    members: Vec<MemberRow>,
    /// (member id → household id) for central households.
    member_household: HashMap<i64, i64>,
    households: Vec<HouseholdRow>,
    visits: Vec<VisitRow>,
    meetings: Vec<HeldRow>,
    activities: Vec<HeldRow>,
    people: Vec<PersonRow>,
    /// Roles held by the accounts linked to cadres and members.
    linked_roles: HashMap<(&'static str, i64), Vec<Role>>,
    /// When each subject came into being (Asia/Shanghai): compliance is
    /// judged from then on, never for periods before it existed.
    created: HashMap<(&'static str, i64), NaiveDate>,
    pub cal: HolidayCalendar,
    pub rules: Vec<Rule>,
    idx: Index,
}

/// Where each row above is, by what a subject's inputs are looked up by, so
/// that one subject's records are found without scanning every row (the
/// street's page judged thousands of subjects, each scanning every visit,
/// household and attendance row: 54 s at 100,000 households). Positions are
/// kept in row order, so the records come out in the order they were read.
#[derive(Default)]
struct Index {
    visits_by_org: HashMap<i64, Vec<usize>>,
    visits_by_visitor: HashMap<(String, i64), Vec<usize>>,
    meetings_by_org: HashMap<i64, Vec<usize>>,
    activities_by_org: HashMap<i64, Vec<usize>>,
    meeting_at: HashMap<i64, usize>,
    activity_at: HashMap<i64, usize>,
    /// (record kind, person kind, person id) → the records they were present at.
    attended: HashMap<(String, String, i64), Vec<i64>>,
    households_by_org: HashMap<i64, Vec<usize>>,
    members_by_org: HashMap<i64, Vec<usize>>,
    /// Organisation → its children (for the organisations of an area).
    children: HashMap<i64, Vec<i64>>,
}

impl Index {
    fn build(w: &World) -> Index {
        let mut x = Index::default();
        for (i, v) in w.visits.iter().enumerate() {
            x.visits_by_org.entry(v.org_id).or_default().push(i);
            x.visits_by_visitor.entry((v.visitor_kind.clone(), v.visitor_id)).or_default().push(i);
        }
        for (i, m) in w.meetings.iter().enumerate() {
            x.meetings_by_org.entry(m.org_id).or_default().push(i);
            x.meeting_at.insert(m.id, i);
        }
        for (i, m) in w.activities.iter().enumerate() {
            x.activities_by_org.entry(m.org_id).or_default().push(i);
            x.activity_at.insert(m.id, i);
        }
        for p in &w.people {
            x.attended
                .entry((p.record_kind.clone(), p.person_kind.clone(), p.person_id))
                .or_default()
                .push(p.record_id);
        }
        for (i, h) in w.households.iter().enumerate() {
            x.households_by_org.entry(h.org_id).or_default().push(i);
        }
        for (i, m) in w.members.iter().enumerate() {
            x.members_by_org.entry(m.org_id).or_default().push(i);
        }
        for o in &w.tree.orgs {
            if let Some(parent) = o.parent_id {
                x.children.entry(parent).or_default().push(o.id);
            }
        }
        x
    }

    /// The organisations inside any of `area`'s subtrees, each once.
    fn orgs_of(&self, area: &[i64]) -> Vec<i64> {
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<i64> = area.to_vec();
        let mut out = Vec::new();
        while let Some(o) = stack.pop() {
            if seen.insert(o) {
                out.push(o);
                stack.extend(self.children.get(&o).into_iter().flatten().copied());
            }
        }
        out
    }

    /// The positions listed under any of `keys` in `by`, in row order, each once.
    fn rows(by: &HashMap<i64, Vec<usize>>, keys: &[i64]) -> Vec<usize> {
        let mut out: Vec<usize> = keys.iter().filter_map(|k| by.get(k)).flatten().copied().collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl World {
    pub(crate) async fn load(db: &Db, root: OrgRef, since: NaiveDate) -> Result<World, StoreError> {
        let t = root.tenant_id;
        let tree = Tree::load(db, t).await?;
        // The cadres of the subtree, and the stationed cadres and grid workers
        // serving in it from above (a street's stationed cadres are judged on a
        // community's page too; leadership is judged where it sits).
        let mut a = args![];
        let under = root.under("x", &mut a);
        let stationed = root.orgs_under("so", &mut a);
        let serving = [CadreKind::StationedCadre, CadreKind::GridWorker]
            .iter()
            .map(|k| format!("'{}'", k.code()))
            .collect::<Vec<_>>()
            .join(", ");
        let cadres: Vec<CadreRow> = db
            .all(
                &format!(
                    "SELECT x.id, x.name, x.org_id, x.kind FROM cadres x WHERE {under} \
                     OR (x.kind IN ({serving}) AND x.id IN (SELECT s.cadre_id FROM cadre_stations s \
                     JOIN orgs so ON so.tenant_id = s.tenant_id AND so.id = s.org_id WHERE {stationed})) ORDER BY x.id"
                ),
                a,
            )
            .await?;
        let st: Vec<(i64, i64)> =
            db.all("SELECT cadre_id, org_id FROM cadre_stations WHERE tenant_id = $1", args![t]).await?;
        let mut stations: HashMap<i64, Vec<i64>> = HashMap::new();
        for (c, o) in st {
            stations.entry(c).or_default().push(o);
        }
        let mut a = args![];
        let under = root.under("x", &mut a);
        let members: Vec<MemberRow> = db
            .all(
                &format!(
                    "SELECT x.id, r.name, x.org_id, x.central_household, \
                     (x.work_unit IS NOT NULL AND x.work_unit <> '') AS in_service \
                     FROM members x JOIN residents r ON r.tenant_id = x.tenant_id AND r.id = x.resident_id \
                     WHERE {under} ORDER BY x.id"
                ),
                a,
            )
            .await?;
        let mh: Vec<(i64, i64)> = db
            .all(
                "SELECT m.id, r.household_id FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE m.tenant_id = $1 AND m.central_household AND r.household_id IS NOT NULL",
                args![t],
            )
            .await?;
        let mut a = args![key_household_mask() | HouseholdTag::NewArrival.bit()];
        let under = root.under("x", &mut a);
        let households: Vec<(i64, i64, i64, chrono::DateTime<chrono::Utc>)> = db
            .all(
                &format!(
                    "SELECT x.id, x.org_id, x.tags, x.created_at FROM households x WHERE (x.tags & $1) <> 0 AND {under}"
                ),
                a,
            )
            .await?;
        let households = households
            .into_iter()
            .map(|(id, org_id, tags, at)| HouseholdRow {
                id,
                org_id,
                tags,
                created_on: redcell_domain::calendar::shanghai_date(at),
            })
            .collect();
        let from = since - Duration::days(400);
        let mut a = args![from];
        let under = root.under("x", &mut a);
        let visits: Vec<VisitRow> = db
            .all(
                &format!(
                    "SELECT x.org_id, x.visitor_kind, x.visitor_id, x.target_kind, x.target_id, x.visited_on, x.purpose \
                     FROM duty_visits x WHERE x.visited_on >= $1 AND {under}"
                ),
                a,
            )
            .await?;
        let mut a = args![from];
        let under = root.under("x", &mut a);
        let meetings: Vec<HeldRow> = db
            .all(
                &format!(
                    // A meeting whose attendance was taken with nobody present was not held.
                    "SELECT x.id, x.org_id, x.kind, x.held_on FROM duty_meetings x WHERE x.held_on >= $1 AND {under} \
                     AND (x.present_count > 0 OR x.expected_count = 0)"
                ),
                a,
            )
            .await?;
        let mut a = args![from];
        let under = root.under("x", &mut a);
        let activities: Vec<HeldRow> = db
            .all(
                &format!(
                    "SELECT x.id, x.org_id, x.kind, x.held_on FROM duty_activities x WHERE x.held_on >= $1 AND {under}"
                ),
                a,
            )
            .await?;
        // Only the attendance of the records loaded above (the whole tenant's
        // was read for every page, one row per person per meeting).
        let mut a = args![t, from];
        let m_under = root.under("x", &mut a);
        let a_under = root.under("y", &mut a);
        let people: Vec<PersonRow> = db
            .all(
                &format!(
                    "SELECT p.record_kind, p.record_id, p.person_kind, p.person_id FROM duty_people p \
                     WHERE p.tenant_id = $1 AND p.presence = 'present' AND ( \
                     (p.record_kind = 'meeting' AND p.record_id IN (SELECT x.id FROM duty_meetings x WHERE x.held_on >= $2 AND {m_under})) \
                     OR (p.record_kind = 'activity' AND p.record_id IN (SELECT y.id FROM duty_activities y WHERE y.held_on >= $2 AND {a_under})))"
                ),
                a,
            )
            .await?;
        let cal = crate::calendar::load(db, t).await?;
        let rules = rules::active(db, t).await?;
        let mut linked_roles: HashMap<(&'static str, i64), Vec<Role>> = HashMap::new();
        let lr: Vec<(i64, Code<Role>)> = db
            .all(
                "SELECT a.cadre_id, g.role FROM duty_accounts a JOIN grants g ON g.user_id = a.user_id \
                 WHERE a.tenant_id = $1 AND g.tenant_id = $1",
                args![t],
            )
            .await?;
        for (c, r) in lr {
            linked_roles.entry(("cadre", c)).or_default().push(r.0);
        }
        let lr: Vec<(i64, Code<Role>)> = db
            .all(
                "SELECT a.member_id, g.role FROM duty_member_accounts a JOIN grants g ON g.user_id = a.user_id \
                 WHERE a.tenant_id = $1 AND g.tenant_id = $1",
                args![t],
            )
            .await?;
        for (m, r) in lr {
            linked_roles.entry(("member", m)).or_default().push(r.0);
        }
        let mut created: HashMap<(&'static str, i64), NaiveDate> = HashMap::new();
        for (kind, table, alias) in [("org", "orgs", "x"), ("cadre", "cadres", "x"), ("member", "members", "x")] {
            let mut a = args![];
            let cond = if table == "orgs" { root.orgs_under("x", &mut a) } else { root.under(alias, &mut a) };
            let rows: Vec<(i64, chrono::DateTime<chrono::Utc>)> =
                db.all(&format!("SELECT x.id, x.created_at FROM {table} x WHERE {cond}"), a).await?;
            for (id, at) in rows {
                created.insert((kind, id), redcell_domain::calendar::shanghai_date(at));
            }
        }
        Ok(World {
            tree,
            root,
            cadres,
            stations,
            members,
            member_household: mh.into_iter().collect(),
            households,
            visits,
            meetings,
            activities,
            people,
            linked_roles,
            created,
            cal,
            rules,
            idx: Index::default(),
        }
        .indexed())
    }

    fn indexed(mut self) -> World {
        self.idx = Index::build(&self);
        self
    }

    fn org_name(&self, id: i64) -> String {
        self.tree.get(id).map(|o| o.name.clone()).unwrap_or_default()
    }

    /// The subjects of a rule inside the root's subtree: every organisation,
    /// cadre and member its "who" names ([`Who::applies`]), so a rule that
    /// gives only a role, a cadre kind or org kinds reaches everyone it means.
    pub(crate) fn subjects(&self, rule: &Rule) -> Vec<SubjectRef> {
        let w = &rule.who;
        let mut out = Vec::new();
        let kind_of = |org_id: i64| self.tree.get(org_id).map(|o| o.kind);
        let roles = |k: &'static str, id: i64| self.linked_roles.get(&(k, id)).cloned().unwrap_or_default();
        for o in self.tree.subtree(&self.root.path) {
            let c = Candidate {
                class: SubjectClass::Org,
                org_kind: o.kind,
                cadre_kind: None,
                central_household: false,
                in_service: false,
                roles: vec![],
            };
            if w.applies(&c) {
                out.push(SubjectRef {
                    kind: "org".into(),
                    id: o.id,
                    name: o.name.clone(),
                    org_id: o.id,
                    org_name: o.name.clone(),
                });
            }
        }
        for x in &self.cadres {
            let Some(org_kind) = kind_of(x.org_id) else { continue };
            let c = Candidate {
                class: SubjectClass::Cadre,
                org_kind,
                cadre_kind: Some(x.kind.0),
                central_household: false,
                in_service: false,
                roles: roles("cadre", x.id),
            };
            if w.applies(&c) {
                out.push(SubjectRef {
                    kind: "cadre".into(),
                    id: x.id,
                    name: x.name.clone(),
                    org_id: x.org_id,
                    org_name: self.org_name(x.org_id),
                });
            }
        }
        for m in &self.members {
            let Some(org_kind) = kind_of(m.org_id) else { continue };
            let c = Candidate {
                class: SubjectClass::Member,
                org_kind,
                cadre_kind: None,
                central_household: m.central_household,
                in_service: m.in_service,
                roles: roles("member", m.id),
            };
            if w.applies(&c) {
                out.push(SubjectRef {
                    kind: "member".into(),
                    id: m.id,
                    name: m.name.clone(),
                    org_id: m.org_id,
                    org_name: self.org_name(m.org_id),
                });
            }
        }
        out
    }

    /// The first day a subject is judged on under a rule: the latest of
    /// `from`, the subject's creation and the rule's start.
    pub(crate) fn start_of(&self, s: &SubjectRef, rule: &Rule, from: NaiveDate) -> NaiveDate {
        let k: &'static str = match s.kind.as_str() {
            "org" => "org",
            "cadre" => "cadre",
            _ => "member",
        };
        let created = self.created.get(&(k, s.id)).map_or(from, |c| (*c).max(from));
        rule.since.map_or(created, |r| r.max(created))
    }

    /// The area a subject answers for: the organisations of an org's
    /// subtree, of a cadre's stations (or home org), of a member's org.
    fn area(&self, s: &SubjectRef) -> Vec<i64> {
        let ids = match s.kind.as_str() {
            "cadre" => self.stations.get(&s.id).cloned().filter(|v| !v.is_empty()).unwrap_or(vec![s.org_id]),
            _ => vec![s.org_id],
        };
        // Only organisations of the tree (as the paths were before).
        let ids: Vec<i64> = ids.into_iter().filter(|i| self.tree.get(*i).is_some()).collect();
        self.idx.orgs_of(&ids)
    }

    /// The records (meetings or activities) of `kind` a person was present
    /// at, as positions in `rows` order.
    fn attended(&self, record_kind: &str, person_kind: &str, person_id: i64) -> Vec<usize> {
        let at = if record_kind == "meeting" { &self.idx.meeting_at } else { &self.idx.activity_at };
        let key = (record_kind.to_string(), person_kind.to_string(), person_id);
        let mut out: Vec<usize> =
            self.idx.attended.get(&key).into_iter().flatten().filter_map(|id| at.get(id)).copied().collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The records and subject data of one subject.
    pub(crate) fn inputs(&self, s: &SubjectRef) -> (Subject, Vec<Record>) {
        let area = self.area(s);
        let mut recs = Vec::new();
        let visit = |v: &VisitRow| Record {
            date: v.visited_on,
            kind: RecordKind::Visit,
            sub: v.purpose.clone(),
            target: TargetKind::from_code_str(&v.target_kind).map(|kind| Target { kind, id: v.target_id }),
        };
        let held = |kind: RecordKind, h: &HeldRow| Record { date: h.held_on, kind, sub: h.kind.clone(), target: None };
        let x = &self.idx;
        match s.kind.as_str() {
            "org" => {
                recs.extend(Index::rows(&x.visits_by_org, &area).into_iter().map(|i| visit(&self.visits[i])));
                let own = [s.id];
                recs.extend(
                    Index::rows(&x.meetings_by_org, &own)
                        .into_iter()
                        .map(|i| held(RecordKind::Meeting, &self.meetings[i])),
                );
                recs.extend(
                    Index::rows(&x.activities_by_org, &own)
                        .into_iter()
                        .map(|i| held(RecordKind::Activity, &self.activities[i])),
                );
            }
            kind => {
                let mine = x.visits_by_visitor.get(&(kind.to_string(), s.id));
                recs.extend(mine.into_iter().flatten().map(|i| visit(&self.visits[*i])));
                let ms = self.attended("meeting", kind, s.id);
                recs.extend(ms.into_iter().map(|i| held(RecordKind::Meeting, &self.meetings[i])));
                let acts = self.attended("activity", kind, s.id);
                recs.extend(acts.into_iter().map(|i| held(RecordKind::Activity, &self.activities[i])));
            }
        }
        let mut subject = Subject::default();
        let key = key_household_mask();
        for h in Index::rows(&x.households_by_org, &area).into_iter().map(|i| &self.households[i]) {
            let t = Target { kind: TargetKind::Household, id: h.id };
            if h.tags & key != 0 {
                subject.sets.push((SetKind::KeyHouseholds, t));
            }
            if h.tags & HouseholdTag::NewArrival.bit() != 0 {
                subject.events.push(Event { kind: EventKind::NewHousehold, date: h.created_on, target: Some(t) });
            }
        }
        for m in Index::rows(&x.members_by_org, &area).into_iter().map(|i| &self.members[i]) {
            subject.sets.push((SetKind::Members, Target { kind: TargetKind::Member, id: m.id }));
            if m.central_household
                && let Some(h) = self.member_household.get(&m.id)
            {
                subject.sets.push((SetKind::CentralHouseholds, Target { kind: TargetKind::Household, id: *h }));
            }
        }
        (subject, recs)
    }

    pub(crate) fn evaluate(&self, rule: &Rule, s: &SubjectRef, from: NaiveDate, today: NaiveDate) -> DutyLine {
        let (subject, recs) = self.inputs(s);
        DutyLine {
            rule_code: rule.code.clone(),
            rule_name: rule.name.clone(),
            rhythm: rule.rhythm_label(),
            what: rule.what_label(),
            subject: s.clone(),
            evaluation: d::evaluate(rule, &subject, &recs, &self.cal, self.start_of(s, rule, from).min(today), today),
        }
    }

    /// Every enabled rule for every subject in the subtree.
    pub(crate) fn lines(&self, from: NaiveDate, today: NaiveDate) -> Vec<DutyLine> {
        let mut out = Vec::new();
        for r in self.rules.iter().filter(|r| r.enabled) {
            for s in self.subjects(r) {
                out.push(self.evaluate(r, &s, from, today));
            }
        }
        out
    }

    /// Branches (and party groups) with no recorded organisational life for
    /// `days` days: (org, last meeting date).
    pub(crate) fn silent(&self, today: NaiveDate, days: i64) -> Vec<(OrgRef, Option<NaiveDate>)> {
        let mut out = Vec::new();
        for o in self.tree.subtree(&self.root.path) {
            if !(o.kind.is_branch() || o.kind == OrgKind::PartyGroup) {
                continue;
            }
            let last = self
                .meetings
                .iter()
                .filter(|m| {
                    m.org_id == o.id
                        && m.held_on <= today
                        && d::MeetingKind::from_code_str(&m.kind).is_some_and(|k| k.is_org_life())
                })
                .map(|m| m.held_on)
                .max();
            if last.is_none_or(|l| (today - l).num_days() > days) {
                out.push((o.clone(), last));
            }
        }
        out
    }
}

/// `from_code` for a `&str` without importing the trait everywhere.
trait FromCodeStr: Sized {
    fn from_code_str(s: &str) -> Option<Self>;
}
impl<T: redcell_domain::CodeEnum> FromCodeStr for T {
    fn from_code_str(s: &str) -> Option<Self> {
        T::from_code(s)
    }
}

/// A compliance summary of one rule in a subtree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleCompliance {
    pub rule_code: String,
    pub rule_name: String,
    pub rhythm: String,
    pub subjects: usize,
    /// Periods closed (due date passed or done) in the window.
    pub periods: usize,
    pub done: usize,
    pub overdue: usize,
    pub due_soon: usize,
    /// done / closed periods, 0–100; `None` when nothing was due.
    pub rate: Option<f64>,
}

/// Compliance of an organisation's subtree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Compliance {
    pub org_id: i64,
    pub org_name: String,
    pub from: NaiveDate,
    pub today: NaiveDate,
    pub rules: Vec<RuleCompliance>,
    /// Branches without organisational life for 30 days.
    pub silent: Vec<SilentOrg>,
    /// Compliance rate per month (periods due in that month), oldest first.
    pub trend: Vec<MonthRate>,
    /// The lines behind the table.
    #[serde(skip)]
    pub lines: Vec<DutyLine>,
}

/// The compliance rate of the periods due in one month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthRate {
    /// `YYYY-MM`.
    pub month: String,
    /// done / closed periods, 0–100; `None` when nothing was due.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SilentOrg {
    pub org_id: i64,
    pub org_name: String,
    pub last_meeting: Option<NaiveDate>,
}

/// Days without organisational life after which a branch counts as silent.
pub const SILENT_DAYS: i64 = 30;

fn closed(p: &d::Period, today: NaiveDate) -> bool {
    p.status == Status::Done && p.due <= today || p.status == Status::Overdue
}

/// Compliance per rule for the subtree of `org_id` (in the caller's read scope).
pub async fn compliance(db: &Db, p: &Principal, org_id: i64, today: NaiveDate) -> Result<Compliance, StoreError> {
    let root = OrgRef::in_scope(&mut db.conn(), &p.scope(Capability::ReadRegistry), org_id).await?;
    let from = today - Duration::days(LOOKBACK_DAYS);
    let world = World::load(db, root.clone(), from).await?;
    let lines = world.lines(from, today);
    let mut rules = Vec::new();
    for r in world.rules.iter().filter(|r| r.enabled) {
        let mine: Vec<&DutyLine> = lines.iter().filter(|l| l.rule_code == r.code).collect();
        let ps: Vec<&d::Period> = mine.iter().flat_map(|l| l.evaluation.periods.iter()).collect();
        let closed_n = ps.iter().filter(|p| closed(p, today)).count();
        let done = ps.iter().filter(|p| p.status == Status::Done && p.due <= today).count();
        rules.push(RuleCompliance {
            rule_code: r.code.clone(),
            rule_name: r.name.clone(),
            rhythm: r.rhythm_label(),
            subjects: mine.len(),
            periods: closed_n,
            done,
            overdue: ps.iter().filter(|p| p.status == Status::Overdue).count(),
            due_soon: ps.iter().filter(|p| p.status == Status::DueSoon).count(),
            rate: (closed_n > 0).then(|| (done as f64 * 1000.0 / closed_n as f64).round() / 10.0),
        });
    }
    let silent = world
        .silent(today, SILENT_DAYS)
        .into_iter()
        .map(|(o, last)| SilentOrg { org_id: o.id, org_name: o.name, last_meeting: last })
        .collect();
    // Trend: per calendar month of the window, share of periods due then that were done.
    let mut trend = Vec::new();
    // Every period once (cloned for each month before).
    let ps: Vec<d::Period> = lines.iter().flat_map(|l| l.evaluation.periods.iter().cloned()).collect();
    let mut m =
        NaiveDate::from_ymd_opt(chrono::Datelike::year(&from), chrono::Datelike::month(&from), 1).unwrap_or(from);
    while m <= today {
        let next = m.checked_add_months(chrono::Months::new(1)).unwrap_or(today);
        let end = (next - Duration::days(1)).min(today);
        let rate = d::compliance_rate(&ps, m.max(from), end).map(|r| (r * 1000.0).round() / 10.0);
        trend.push(MonthRate { month: format!("{}", m.format("%Y-%m")), rate });
        m = next;
    }
    Ok(Compliance { org_id: root.id, org_name: root.name.clone(), from, today, rules, silent, trend, lines })
}

/// The cadre a login account stands for, if linked.
pub async fn cadre_of(db: &Db, p: &Principal) -> Result<Option<i64>, StoreError> {
    let r: Option<(i64,)> = db
        .opt("SELECT cadre_id FROM duty_accounts WHERE tenant_id = $1 AND user_id = $2", args![p.tenant_id, p.user_id])
        .await?;
    Ok(r.map(|(c,)| c))
}

/// The community (居委会/村 level organisation) a member's organisation lies in.
async fn member_community(db: &Db, tenant: i64, member: i64) -> Result<Option<i64>, StoreError> {
    let r: Option<(Option<i64>,)> = db
        .opt(
            &format!(
                "SELECT cm.id FROM members m JOIN orgs mo ON mo.tenant_id = m.tenant_id AND mo.id = m.org_id {} \
                 WHERE m.tenant_id = $1 AND m.id = $2 ORDER BY cm.path DESC LIMIT 1",
                crate::scope::community_join("mo")
            ),
            args![tenant, member],
        )
        .await?;
    Ok(r.and_then(|(c,)| c))
}

/// The party member a login account stands for, if linked.
pub async fn member_of(db: &Db, p: &Principal) -> Result<Option<i64>, StoreError> {
    let r: Option<(i64,)> = db
        .opt(
            "SELECT member_id FROM duty_member_accounts WHERE tenant_id = $1 AND user_id = $2",
            args![p.tenant_id, p.user_id],
        )
        .await?;
    Ok(r.map(|(c,)| c))
}

/// Link a login account to a cadre (used by the demo and tests; people use
/// [`link_user`], which checks and audits).
pub async fn link_account(db: &Db, tenant_id: i64, user_id: i64, cadre_id: i64) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO duty_accounts (tenant_id, user_id, cadre_id) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET cadre_id = excluded.cadre_id",
        args![tenant_id, user_id, cadre_id],
    )
    .await?;
    Ok(())
}

/// Who an account stands for in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Link {
    Cadre(i64),
    Member(i64),
}

/// What an account is linked to, with a name to show.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Linked {
    pub link: Link,
    pub name: String,
    pub org_name: String,
}

/// The cadre or member an account is linked to (for the user page).
pub async fn linked(db: &Db, tenant_id: i64, user_id: i64) -> Result<Option<Linked>, StoreError> {
    let c: Option<(i64, String, String)> = db
        .opt(
            "SELECT c.id, c.name, o.name FROM duty_accounts a JOIN cadres c ON c.tenant_id = a.tenant_id AND c.id = a.cadre_id \
             JOIN orgs o ON o.id = c.org_id WHERE a.tenant_id = $1 AND a.user_id = $2",
            args![tenant_id, user_id],
        )
        .await?;
    if let Some((id, name, org_name)) = c {
        return Ok(Some(Linked { link: Link::Cadre(id), name, org_name }));
    }
    let m: Option<(i64, String, String)> = db
        .opt(
            "SELECT m.id, r.name, o.name FROM duty_member_accounts a JOIN members m ON m.tenant_id = a.tenant_id AND m.id = a.member_id \
             JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             JOIN orgs o ON o.id = m.org_id WHERE a.tenant_id = $1 AND a.user_id = $2",
            args![tenant_id, user_id],
        )
        .await?;
    Ok(m.map(|(id, name, org_name)| Linked { link: Link::Member(id), name, org_name }))
}

/// Link (or, with `None`, unlink) an account to a cadre or a member. The
/// caller must manage users where the account holds a grant and read the
/// registry where the cadre or member sits. One link per account: linking
/// to a cadre drops a member link and the other way round. Audited.
pub async fn link_user(db: &Db, p: &Principal, user_id: i64, link: Option<Link>) -> Result<(), StoreError> {
    let t = p.tenant_id;
    let grants: Vec<(String,)> = db
        .all(
            "SELECT o.path FROM grants g JOIN orgs o ON o.id = g.org_id WHERE g.tenant_id = $1 AND g.user_id = $2",
            args![t, user_id],
        )
        .await?;
    let manage = p.scope(Capability::ManageUsers);
    let managed = !grants.is_empty()
        && grants.iter().all(|(path,)| OrgPath::parse(path).is_ok_and(|path| manage.contains(&path)));
    if !managed {
        return Err(StoreError::Forbidden);
    }
    let read = p.scope(Capability::ReadRegistry);
    let detail = match link {
        Some(Link::Cadre(c)) => {
            let mut a = args![c];
            let cond = read.rows("x", &mut a);
            let n: Option<(String,)> =
                db.opt(&format!("SELECT x.name FROM cadres x WHERE x.id = $1 AND {cond}"), a).await?;
            let (name,) =
                n.ok_or_else(|| FieldError::new("cadre", "not_found", redcell_domain::i18n::DUTY_LINK_UNKNOWN_CADRE))?;
            format!("账号#{user_id} → 干部 {name}（#{c}）")
        }
        Some(Link::Member(m)) => {
            let mut a = args![m];
            let cond = read.rows("x", &mut a);
            let n: Option<(i64,)> =
                db.opt(&format!("SELECT x.id FROM members x WHERE x.id = $1 AND {cond}"), a).await?;
            n.ok_or_else(|| FieldError::new("member", "not_found", redcell_domain::i18n::DUTY_LINK_UNKNOWN_MEMBER))?;
            format!("账号#{user_id} → 党员#{m}")
        }
        None => format!("账号#{user_id}"),
    };
    let mut tx = db.begin().await?;
    tx.exec("DELETE FROM duty_accounts WHERE tenant_id = $1 AND user_id = $2", args![t, user_id]).await?;
    tx.exec("DELETE FROM duty_member_accounts WHERE tenant_id = $1 AND user_id = $2", args![t, user_id]).await?;
    match link {
        Some(Link::Cadre(c)) => {
            tx.exec(
                "INSERT INTO duty_accounts (tenant_id, user_id, cadre_id) VALUES ($1, $2, $3)",
                args![t, user_id, c],
            )
            .await?;
        }
        Some(Link::Member(m)) => {
            tx.exec(
                "INSERT INTO duty_member_accounts (tenant_id, user_id, member_id) VALUES ($1, $2, $3)",
                args![t, user_id, m],
            )
            .await?;
        }
        None => {}
    }
    let action = if link.is_some() { "link_account" } else { "unlink_account" };
    crate::audit::record(&mut tx, t, Some(p.user_id), action, "user", Some(user_id), &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// The command line: link the account `username` to a cadre or a member (or
/// unlink it with `None`), acting as the operator of the account's tenant.
/// Audited like the page. Returns the tenant's root code for the message.
pub async fn link_username(db: &Db, username: &str, link: Option<Link>) -> Result<String, StoreError> {
    let found: Option<(i64,)> = db.opt("SELECT id FROM users WHERE username = $1", args![username.trim()]).await?;
    let (user_id,) = found.ok_or_else(|| {
        FieldError::new("username", "not_found", format!("{}：{username}", redcell_domain::i18n::NOT_FOUND))
    })?;
    let tenant: Option<(i64,)> =
        db.opt("SELECT tenant_id FROM grants WHERE user_id = $1 ORDER BY tenant_id LIMIT 1", args![user_id]).await?;
    let (tenant,) = tenant.ok_or(StoreError::Forbidden)?;
    let (code,): (String,) = db.one("SELECT code FROM orgs WHERE id = $1", args![tenant]).await?;
    let p = crate::export::operator(db, &code).await?;
    link_user(db, &p, user_id, link).await?;
    Ok(code)
}

/// "My duties": the lines of the cadre linked to the caller, or else of the
/// organisations the caller's grants sit on. Sorted overdue first.
pub async fn my_duties(db: &Db, p: &Principal, today: NaiveDate) -> Result<Vec<DutyLine>, StoreError> {
    let from = today - Duration::days(LOOKBACK_DAYS);
    let scope = p.scope(Capability::ReadRegistry);
    let mut out = Vec::new();
    let person = match cadre_of(db, p).await? {
        Some(c) => Some(("cadre", c)),
        None => member_of(db, p).await?.map(|m| ("member", m)),
    };
    if let Some((kind, pid)) = person {
        // The account is linked to this person on purpose. A cadre's own
        // duties are evaluated over the whole tenant (their stations may lie
        // anywhere); a member's within their community, where their
        // organisational life and service happen (a whole district's records
        // took seconds to load for one member's page).
        let whole = crate::scope::Scope::whole_tenant(p.tenant_id);
        let community = if kind == "member" { member_community(db, p.tenant_id, pid).await? } else { None };
        let root = OrgRef::in_scope(&mut db.conn(), &whole, community.unwrap_or(p.tenant_id)).await?;
        let world = World::load(db, root, from).await?;
        for r in world.rules.iter().filter(|r| r.enabled) {
            for s in world.subjects(r).into_iter().filter(|s| s.kind == kind && s.id == pid) {
                out.push(world.evaluate(r, &s, from, today));
            }
        }
    } else {
        for g in &p.grants {
            let Ok(root) = OrgRef::in_scope(&mut db.conn(), &scope, g.org_id).await else { continue };
            let world = World::load(db, root.clone(), from).await?;
            // Organisation duties of the organisation itself, whichever way
            // the rule names it (org kinds or a role standing for organisations).
            for r in world.rules.iter().filter(|r| r.enabled) {
                for s in world.subjects(r).into_iter().filter(|s| s.kind == "org" && s.id == root.id) {
                    out.push(world.evaluate(r, &s, from, today));
                }
            }
        }
    }
    let rank = |s: Status| match s {
        Status::Overdue => 0,
        Status::DueSoon => 1,
        Status::Due => 2,
        Status::Done => 3,
        Status::Exempt => 4,
    };
    out.sort_by_key(|l| {
        (rank(l.status(today)), std::cmp::Reverse(l.overdue()), l.evaluation.next_due, l.rule_code.clone())
    });
    Ok(out)
}

/// The compliance table of an organisation as spreadsheet rows (per rule and
/// subject: the current period and the counts over the window). Needs the
/// export right; audited.
pub async fn compliance_sheet(
    db: &Db,
    p: &Principal,
    org_id: i64,
    today: NaiveDate,
) -> Result<(String, Vec<&'static str>, Vec<Vec<String>>), StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::Export).await?;
    let c = compliance(db, p, org.id, today).await?;
    let headers = vec![
        "序号",
        "规则",
        "频次",
        "责任对象",
        "所属组织",
        "本期",
        "应完成",
        "已完成",
        "本期状态",
        "逾期期数",
        "下次到期",
    ];
    let mut rows = Vec::new();
    for l in &c.lines {
        let cur = l.focus(today);
        rows.push(vec![
            (rows.len() + 1).to_string(),
            l.rule_name.clone(),
            l.rhythm.clone(),
            l.subject.name.clone(),
            l.subject.org_name.clone(),
            cur.map(|p| p.label()).unwrap_or_default(),
            cur.map(|p| p.expected.to_string()).unwrap_or_default(),
            cur.map(|p| p.actual.to_string()).unwrap_or_default(),
            l.status(today).label().to_string(),
            l.overdue().to_string(),
            l.evaluation.next_due.map(|d| d.to_string()).unwrap_or_default(),
        ]);
    }
    crate::audit::access(
        db,
        org.tenant_id,
        crate::audit::Actor::of(p),
        "export",
        "duties",
        Some(org.id),
        &format!("履职合规表：{}，{today}，{} 行", org.name, rows.len()),
    )
    .await?;
    Ok((org.name, headers, rows))
}

/// A place a cadre may record a visit to, for the quick form.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Place {
    pub target_kind: String,
    pub target_id: i64,
    pub label: String,
}

/// The grids and key households of the caller's linked cadre's stations (or,
/// without a link, of the caller's own organisations), at most `limit`.
pub async fn my_places(db: &Db, p: &Principal, limit: usize) -> Result<Vec<Place>, StoreError> {
    let orgs: Vec<i64> = match cadre_of(db, p).await? {
        Some(c) => {
            let st: Vec<(i64,)> = db
                .all("SELECT org_id FROM cadre_stations WHERE tenant_id = $1 AND cadre_id = $2", args![p.tenant_id, c])
                .await?;
            st.into_iter().map(|(o,)| o).collect()
        }
        None => p.grants.iter().map(|g| g.org_id).collect(),
    };
    let scope = p.scope(Capability::ReadRegistry);
    let mut out = Vec::new();
    for o in orgs {
        let Ok(org) = OrgRef::in_scope(&mut db.conn(), &scope, o).await else { continue };
        let mut a = args![];
        let c = org.under("g", &mut a);
        let grids: Vec<(i64, String)> =
            db.all(&format!("SELECT g.id, g.name FROM grids g WHERE {c} ORDER BY g.id LIMIT 20"), a).await?;
        out.extend(grids.into_iter().map(|(id, name)| Place {
            target_kind: "grid".into(),
            target_id: id,
            label: name,
        }));
        let mut a = args![key_household_mask() | HouseholdTag::NewArrival.bit()];
        let c = org.under("h", &mut a);
        let hh: Vec<(i64, String, i64, String)> = db
            .all(
                &format!(
                    "SELECT h.id, b.name, CAST(h.unit_no AS BIGINT), h.room FROM households h \
                     JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
                     WHERE (h.tags & $1) <> 0 AND {c} ORDER BY h.id LIMIT 60"
                ),
                a,
            )
            .await?;
        out.extend(hh.into_iter().map(|(id, b, u, r)| Place {
            target_kind: "household".into(),
            target_id: id,
            label: format!("{b}{u}单元{r}（重点户）"),
        }));
    }
    out.truncate(limit);
    Ok(out)
}
