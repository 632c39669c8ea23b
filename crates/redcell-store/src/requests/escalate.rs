//! The background escalation job: cards open requests by their deadline and
//! passes red-carded ones to the level above. Safe with several server
//! processes: each change is a conditional UPDATE on the card read, so only
//! one process writes a given step, and running it twice changes nothing.

use crate::audit;
use crate::calendar;
use crate::db::Db;
use crate::error::StoreError;
use crate::types::Code;
use crate::{Args, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::calendar::shanghai_date;
use redcell_domain::ids::*;
use redcell_domain::requests::{ActorRole, Card, RequestState, card};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Escalated {
    pub warnings: u64,
    pub yellow: u64,
    pub red: u64,
}

/// One pass over every tenant at the instant `now`. A tenant whose rows
/// cannot be read (e.g. a stored code this program does not know) does not
/// stop the others: its error is answered after every tenant had its pass.
pub async fn run(db: &Db, now: DateTime<Utc>) -> Result<Escalated, StoreError> {
    let tenants: Vec<(i64,)> =
        db.all("SELECT DISTINCT tenant_id FROM requests ORDER BY tenant_id", Args::new()).await?;
    let mut out = Escalated::default();
    let mut first_error = None;
    for (tenant,) in tenants {
        match run_tenant(db, tenant, now, &mut out).await {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!("request escalation of tenant {tenant}: {e}");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// id, code, card, due date, routed organisation, its parent.
type CardRow = (RequestId, String, Code<Card>, NaiveDate, OrgId, Option<OrgId>);

async fn run_tenant(db: &Db, tenant: i64, now: DateTime<Utc>, out: &mut Escalated) -> Result<(), StoreError> {
    let today = shanghai_date(now);
    let open: Vec<String> =
        RequestState::ALL.iter().filter(|s| s.is_open()).map(|s| format!("'{}'", s.code())).collect();
    {
        let cal = calendar::load(db, tenant).await?;
        // Only rows that could change: open, clock running, due by tomorrow's working day.
        let horizon = cal.add_working_days(today, 1);
        let rows: Vec<CardRow> = db
            .all(
                &format!(
                    "SELECT r.id, r.code, r.card, r.due_date, r.org_id, o.parent_id FROM requests r \
                     JOIN orgs o ON o.tenant_id = r.tenant_id AND o.id = r.org_id \
                     WHERE r.tenant_id = $1 AND r.state IN ({}) AND r.paused_on IS NULL AND r.due_date <= $2 \
                     AND r.card <> '{}' ORDER BY r.id",
                    open.join(", "),
                    Card::Red.code()
                ),
                args![tenant, horizon],
            )
            .await?;
        for (id, code, old, due, org_id, parent) in rows {
            let old_card = old.0;
            let new_card = card(&cal, due, today);
            if new_card.rank() <= old_card.rank() {
                continue;
            }
            // Red: the level above takes notice (the routed organisation's parent).
            let escalate_to = if new_card == Card::Red { parent.or(Some(org_id)) } else { None };
            let mut tx = db.begin().await?;
            let n = tx
                .exec(
                    "UPDATE requests SET card = $1, card_at = $2, escalated_org_id = COALESCE($3, escalated_org_id) \
                     WHERE tenant_id = $4 AND id = $5 AND card = $6",
                    args![new_card.code(), now, escalate_to, tenant, id, old_card.code()],
                )
                .await?;
            if n == 0 {
                continue; // another process got there first
            }
            let (state,): (Code<RequestState>,) =
                tx.one("SELECT state FROM requests WHERE tenant_id = $1 AND id = $2", args![tenant, id]).await?;
            let st = state.0;
            let note = match new_card {
                Card::Red => "逾期亮红牌，已上报上级组织督办".to_string(),
                Card::Yellow => "已超过办理时限，亮黄牌".to_string(),
                _ => format!("临近办理时限（{due}）"),
            };
            let row = super::HistoryRecord {
                request: id,
                at: now,
                actor: None,
                role: ActorRole::System,
                acting_for: None,
                action: "card",
                from: st,
                to: st,
                note: Some(&note),
                public: false,
            };
            super::history(&mut tx, tenant, row).await?;
            audit::record(
                &mut tx,
                tenant,
                None,
                "request_card",
                "request",
                Some(id.get()),
                &format!("{code} {}", new_card.label()),
            )
            .await?;
            tx.commit().await?;
            match new_card {
                Card::Warning => out.warnings += 1,
                Card::Yellow => out.yellow += 1,
                Card::Red => out.red += 1,
                Card::None => {}
            }
        }
    }
    Ok(())
}
