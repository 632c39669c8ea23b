//! Default categories and the demo history of requests.

use super::submit::{RequestRecord, Source, insert};
use super::{HistoryRecord, StoredPath, history};
use crate::calendar;
use crate::db::{Db, Tx};
use crate::error::StoreError;
use crate::scope::{Capability, accounts_holding};
use crate::{Args, args};
use chrono::{Duration, NaiveDate, Utc};
use redcell_domain::calendar::shanghai_date;
use redcell_domain::ids::*;
use redcell_domain::requests::{
    Action, ActorRole, ErrandClass, FixOutcome, NewCategory, RequestKind, RequestState, Satisfaction, WishStage,
    due_date,
};
use std::collections::BTreeMap;

/// The categories every new tenant starts with: (code, name, kind, working days, class).
pub const DEFAULT_CATEGORIES: &[(&str, &str, RequestKind, u32, ErrandClass)] = &[
    ("wish", "微心愿", RequestKind::Wish, 20, ErrandClass::Promised),
    ("opinion", "意见建议", RequestKind::Opinion, 10, ErrandClass::Joint),
    ("environment", "环境卫生", RequestKind::Opinion, 5, ErrandClass::Joint),
    ("neighbour", "邻里纠纷", RequestKind::Dispute, 7, ErrandClass::Joint),
    ("property", "物业纠纷", RequestKind::Dispute, 10, ErrandClass::Escalated),
    ("fire", "消防隐患", RequestKind::Hazard, 2, ErrandClass::Immediate),
    ("facility", "设施损坏", RequestKind::Hazard, 5, ErrandClass::Joint),
    ("certificate", "证明开具", RequestKind::Errand, 0, ErrandClass::Immediate),
    ("benefit", "补贴申领", RequestKind::Errand, 10, ErrandClass::Supplement),
    ("elderly", "助老服务", RequestKind::Errand, 5, ErrandClass::Promised),
];

/// Give a tenant the default categories (routed by area) if it has none.
pub async fn default_categories(tx: &mut Tx, tenant_id: i64) -> Result<(), StoreError> {
    let n = tx.int("SELECT COUNT(*) FROM request_categories WHERE tenant_id = $1", args![tenant_id]).await?;
    if n > 0 {
        return Ok(());
    }
    for (code, name, kind, days, class) in DEFAULT_CATEGORIES {
        let c = NewCategory {
            code: code.to_string(),
            name: name.to_string(),
            kind: *kind,
            org_id: None,
            working_days: *days,
            class: *class,
        };
        super::categories::insert_category(tx, tenant_id, &c).await?;
    }
    Ok(())
}

const PROBLEMS: &[(&str, &str)] = &[
    ("environment", "楼道堆放杂物，影响通行，请协调清理"),
    ("facility", "单元门禁损坏，夜间无法关闭"),
    ("fire", "地下车库电动车违规充电，存在火灾隐患"),
    ("neighbour", "楼上住户夜间噪音扰民，多次沟通无果"),
    ("property", "小区物业费上涨未公示，希望有个说法"),
    ("certificate", "需要开具居住证明办理子女入学"),
    ("benefit", "申请高龄老人补贴，不清楚需要哪些材料"),
    ("elderly", "独居老人需要每周代购药品"),
    ("opinion", "建议在小区增设休息座椅"),
    ("wish", "孙子想要一套课外读物"),
    ("facility", "路灯不亮，晚上回家不安全"),
    ("environment", "垃圾分类点气味大，希望增加清运次数"),
];

const NAMES: &[&str] = &["王秀英", "李建国", "张桂兰", "刘德明", "陈玉珍", "杨志强", "赵淑芬", "黄海涛"];

/// A simple deterministic generator (the demo is reproducible per seed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A follow code for a demo request: random like a real one (never a
/// sequence a visitor could walk through), reproducible per seed, unique.
fn demo_code(rng: &mut Lcg, taken: &mut std::collections::HashSet<String>) -> String {
    loop {
        let bytes: Vec<u8> = (0..8).map(|_| rng.below(256) as u8).collect();
        let code = redcell_domain::requests::follow_code(&bytes);
        if taken.insert(code.clone()) {
            return code;
        }
    }
}

/// The path each demo request has walked, by its final state.
const PLANS: &[&[(Action, RequestState)]] = {
    use RequestState as S;
    &[
        &[],
        &[(Action::Accept, S::Accepted)],
        &[(Action::Accept, S::Accepted), (Action::Assign, S::Assigned)],
        &[(Action::Accept, S::Accepted), (Action::Claim, S::Assigned), (Action::Start, S::InProgress)],
        &[
            (Action::Accept, S::Accepted),
            (Action::Assign, S::Assigned),
            (Action::RequestMaterials, S::AwaitingMaterials),
        ],
        &[
            (Action::Accept, S::Accepted),
            (Action::Assign, S::Assigned),
            (Action::Start, S::InProgress),
            (Action::Resolve, S::Resolved),
        ],
        &[
            (Action::Accept, S::Accepted),
            (Action::Assign, S::Assigned),
            (Action::Start, S::InProgress),
            (Action::Resolve, S::Resolved),
            (Action::Revisit, S::Revisited),
            (Action::Close, S::Closed),
        ],
        &[(Action::Refuse, S::Refused)],
        &[(Action::MarkDuplicate, S::Duplicate)],
        &[
            (Action::Accept, S::Accepted),
            (Action::Assign, S::Assigned),
            (Action::Resolve, S::Resolved),
            (Action::Revisit, S::Reopened),
        ],
    ]
};

/// The accounts of a grid's organisation that may act in the demo history:
/// handlers hold `HandleRequests` over it, claimers `ClaimRequests` (the
/// same rules the services check).
struct Actors {
    handlers: Vec<UserId>,
    claimers: Vec<UserId>,
}

/// The demo: default categories, the shipped holidays copied in, and a
/// history of requests in every state over the last two months — some
/// overdue (carded by the escalation job), some revisited, one awaiting
/// materials, wishes on the board. Requests go to grids whose organisation
/// has an account that may handle them; every handler is such an account,
/// and a wish is claimed only by an account that may claim it.
pub async fn demo(db: &Db, tenant_id: i64, seed: u64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    calendar::seed(&mut tx, tenant_id).await?;
    default_categories(&mut tx, tenant_id).await?;
    tx.commit().await?;
    let cal = calendar::load(db, tenant_id).await?;
    let cats = super::categories(db, tenant_id).await?;
    let all_grids: Vec<(GridId, OrgId, StoredPath)> = db
        .all(
            "SELECT g.id, g.org_id, o.path FROM grids g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
             WHERE g.tenant_id = $1 ORDER BY g.id",
            args![tenant_id],
        )
        .await?;
    let mut actors: BTreeMap<OrgId, Actors> = BTreeMap::new();
    let mut grids = Vec::new();
    for (grid, org, path) in all_grids {
        if grids.len() == 20 {
            break;
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = actors.entry(org) {
            let ids = |v: Vec<(i64, String)>| v.into_iter().map(|(id, _)| UserId::new(id)).collect::<Vec<_>>();
            let mut c = db.conn();
            let handlers = ids(accounts_holding(&mut c, tenant_id, Capability::HandleRequests, &path.0).await?);
            let claimers = ids(accounts_holding(&mut c, tenant_id, Capability::ClaimRequests, &path.0).await?);
            slot.insert(Actors { handlers, claimers });
        }
        if actors.get(&org).is_some_and(|a| !a.handlers.is_empty()) {
            grids.push((grid, org));
        }
    }
    if grids.is_empty() || cats.is_empty() {
        return Ok(());
    }
    let mut rng = Lcg(seed ^ 0x5eed_0005);
    let now = Utc::now();
    let today = shanghai_date(now);
    use RequestState as S;
    let count = 60 + rng.below(20);
    let mut codes = std::collections::HashSet::new();
    let mut tx = db.begin().await?;
    let mut first_id: Option<RequestId> = None;
    for i in 0..count {
        let (cat_code, text) = PROBLEMS[rng.below(PROBLEMS.len() as u64) as usize];
        let Some(cat) = cats.iter().find(|c| c.code == cat_code) else { continue };
        let (kind, days, class) = (cat.kind.0, cat.working_days, cat.class.0);
        // Older requests are more often finished.
        let age = rng.below(60) as i64;
        let plan_ix = if i < 6 {
            (i as usize) % PLANS.len()
        } else if age > 30 {
            [6, 6, 6, 5, 7, 9, 3][rng.below(7) as usize]
        } else {
            rng.below(PLANS.len() as u64) as usize
        };
        let plan_ix = if plan_ix == 8 && first_id.is_none() { 1 } else { plan_ix };
        let received: NaiveDate = today - Duration::days(age);
        let mut at = now - Duration::days(age) - Duration::hours(rng.below(8) as i64);
        let promised = (class == ErrandClass::Promised).then(|| cal.add_working_days(received, 5));
        let due = due_date(&cal, class, received, u32::try_from(days).unwrap_or(5), promised).unwrap_or(received);
        let (grid, org) = grids[rng.below(grids.len() as u64) as usize];
        let who = &actors[&org];
        let name = NAMES[rng.below(NAMES.len() as u64) as usize];
        let phone = format!("139{:08}", rng.below(100_000_000));
        let wish = kind == RequestKind::Wish;
        let staff = who.handlers[rng.below(who.handlers.len() as u64) as usize];
        // A wish is handled by the member who claims it: without one it stays on the board.
        let mut plan: Vec<(Action, S)> = PLANS[plan_ix].to_vec();
        let handler = if wish {
            if plan.iter().any(|(a, _)| matches!(a, Action::Assign | Action::Claim)) {
                match who.claimers.first() {
                    Some(m) => {
                        for step in plan.iter_mut() {
                            if step.0 == Action::Assign {
                                step.0 = Action::Claim;
                            }
                        }
                        Some(*m)
                    }
                    None => {
                        plan = PLANS[1].to_vec();
                        None
                    }
                }
            } else {
                None
            }
        } else {
            Some(staff)
        };
        let record = RequestRecord {
            code: demo_code(&mut rng, &mut codes),
            kind,
            category_id: cat.id,
            class,
            source: Source::Demo,
            description: text.to_string(),
            grid_id: Some(grid),
            building_id: None,
            address: None,
            lat: None,
            lon: None,
            contact_name: Some(name.to_string()),
            contact_phone: Some(phone),
            org_id: org,
            received_on: received,
            promised_date: promised,
            due_date: due,
            wish_stage: wish.then_some(WishStage::Unverified),
            wish_round: wish.then_some(1),
            submitted_at: at,
        };
        let id = insert(&mut tx, tenant_id, &record).await?;
        first_id.get_or_insert(id);
        let submitted = HistoryRecord {
            request: id,
            at,
            actor: None,
            role: ActorRole::Resident,
            acting_for: None,
            action: "submit",
            from: S::Submitted,
            to: S::Submitted,
            note: None,
            public: true,
        };
        history(&mut tx, tenant_id, submitted).await?;
        let mut state = S::Submitted;
        let mut a = Args::new();
        let mut sets: Vec<String> = Vec::new();
        for (action, to) in &plan {
            at += Duration::hours(4 + rng.below(40) as i64);
            if at > now {
                at = now;
            }
            let (role, note): (ActorRole, Option<&str>) = match action {
                Action::Refuse => (ActorRole::Staff, Some("不属于社区职责范围，已告知居民向相关部门反映")),
                Action::MarkDuplicate => (ActorRole::Staff, Some("与此前登记的诉求为同一事项")),
                Action::RequestMaterials => (ActorRole::Handler, Some("请补充：户口簿复印件、银行卡复印件")),
                Action::Resolve => (ActorRole::Handler, Some("已现场处理完毕")),
                Action::Revisit if *to == S::Reopened => (ActorRole::Resident, Some("问题仍未解决")),
                Action::Revisit => (ActorRole::Resident, None),
                Action::Close => (ActorRole::System, None),
                Action::Claim if wish => (ActorRole::Member, None),
                Action::Accept | Action::Assign | Action::Claim => (ActorRole::Staff, None),
                _ => (ActorRole::Handler, None),
            };
            let actor = match role {
                ActorRole::Resident | ActorRole::System => None,
                ActorRole::Handler | ActorRole::Member => handler,
                ActorRole::Staff if *action == Action::Claim => handler,
                ActorRole::Staff => Some(staff),
            };
            let row = HistoryRecord {
                request: id,
                at,
                actor,
                role,
                acting_for: None,
                action: action.code(),
                from: state,
                to: *to,
                note,
                public: true,
            };
            history(&mut tx, tenant_id, row).await?;
            match action {
                Action::Assign | Action::Claim => sets.push(format!("handler_user_id = {}", a.push(handler))),
                Action::RequestMaterials => {
                    let paused = shanghai_date(at);
                    sets.push("materials_requested = TRUE".into());
                    sets.push(format!("paused_on = {}", a.push(paused)));
                    sets.push(format!(
                        "days_left = {}",
                        a.push(redcell_domain::requests::days_left(&cal, due, paused))
                    ));
                }
                Action::Resolve => sets.push(format!("resolved_at = {}", a.push(at))),
                Action::Refuse => sets.push(format!("refusal_reason = {}", a.push(note.map(str::to_string)))),
                Action::MarkDuplicate => sets.push(format!("duplicate_of = {}", a.push(first_id))),
                Action::Revisit => {
                    let (o, sat) = if *to == S::Reopened {
                        (FixOutcome::NotFixed, Satisfaction::Dissatisfied)
                    } else if rng.below(5) == 0 {
                        (FixOutcome::Fixed, Satisfaction::Basically)
                    } else {
                        (FixOutcome::Fixed, Satisfaction::Satisfied)
                    };
                    sets.push(format!("fix_outcome = {}", a.push(o.code())));
                    sets.push(format!("satisfaction = {}", a.push(sat.code())));
                }
                Action::Close => sets.push(format!("closed_at = {}", a.push(at))),
                _ => {}
            }
            state = *to;
        }
        if state == S::Reopened {
            // A reopened request runs on a fresh clock from the day it was reopened.
            let fresh = cal.add_working_days(shanghai_date(at), u32::try_from(days.max(1)).unwrap_or(5));
            sets.push(format!("due_date = {}", a.push(fresh)));
        }
        sets.push(format!("state = {}", a.push(state.code())));
        sets.push(format!("updated_at = {}", a.push(at)));
        if wish {
            let claimed = handler.is_some();
            let stage = match state {
                S::Submitted | S::Refused | S::Duplicate => WishStage::Unverified,
                S::Resolved | S::Revisited | S::Closed => WishStage::Done,
                _ if claimed => WishStage::Claimed,
                _ => WishStage::Published,
            };
            sets.push(format!("wish_stage = {}", a.push(stage.code())));
            if claimed {
                sets.push(format!("wish_claimed_by = {}", a.push(handler)));
                sets.push(format!("wish_claimed_on = {}", a.push(received + Duration::days(1))));
            }
        }
        let t = a.push(tenant_id);
        let i = a.push(id);
        tx.exec(&format!("UPDATE requests SET {} WHERE tenant_id = {t} AND id = {i}", sets.join(", ")), a).await?;
    }
    tx.commit().await?;
    // Cards for the overdue ones, as the background job would have given them.
    super::escalate::run(db, now).await?;
    Ok(())
}
