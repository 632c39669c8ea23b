//! The back-office queue (read scope), one request with its history, "my
//! tasks", what members may claim, the handler pickers, and the register as
//! a file.

use super::{Request, SELECT, open_clause};
use crate::args;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, catalogue, local_time, opt, phone_text, yes};
use crate::registry::{Page, Paged, like};
use crate::scope::{self, Access, Capability, Principal};
use crate::types::Code;
use chrono::{DateTime, Duration, Utc};
use redcell_domain::calendar::shanghai_date;
use redcell_domain::export::{Column, ColumnKind};
use redcell_domain::ids::*;
use redcell_domain::requests::{Action, ActorRole, Card, RequestKind, RequestState};
use redcell_domain::{CodeEnum, FieldError, Role, i18n};
use serde::{Deserialize, Serialize};

/// Filters of the back-office queue (and of its export). An unknown code
/// is refused naming its field, never ignored.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Request kind code (wish, opinion, dispute, hazard, errand).
    pub kind: Option<String>,
    /// A state code, or `open` for every state still to be handled.
    pub state: Option<String>,
    /// Any non-empty value: only open requests past their due date.
    pub overdue: Option<String>,
    /// Only open requests with this card (warning, yellow, red).
    pub card: Option<String>,
    /// Only requests routed inside this organisation's subtree.
    pub org_id: Option<OrgId>,
    /// Follow code or text in the description.
    pub q: Option<String>,
}

fn given(x: &Option<String>) -> Option<&str> {
    x.as_deref().map(str::trim).filter(|x| !x.is_empty())
}

/// The queue: requests routed inside the caller's read scope (`ReadRegistry`:
/// requests carry the contact's personal data), newest first.
pub async fn list(db: &Db, p: &Principal, f: &Filter, page: Page) -> Result<Paged<Request>, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let (cond, a) = filtered(&access, f)?;
    paged(db, &cond, a, page).await
}

/// The order of the queue: newest first.
pub(crate) const ORDER: &str = "r.id DESC";

/// The condition of the queue (the scope of `access` and the filters, on
/// `requests r` alone) and its arguments: the list and its export share it.
pub(crate) fn filtered(access: &Access<'_>, f: &Filter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![access.rows("r", &mut a)];
    if let Some(k) = given(&f.kind) {
        let k = RequestKind::parse("kind", k)?;
        w.push(format!("r.kind = {}", a.push(k.code())));
    }
    if let Some(s) = given(&f.state) {
        if s == "open" {
            w.push(open_clause());
        } else {
            let s = RequestState::parse("state", s)
                .map_err(|_| FieldError::new("state", "enum", i18n::REQ_FILTER_STATE))?;
            w.push(format!("r.state = {}", a.push(s.code())));
        }
    }
    if given(&f.overdue).is_some() {
        w.push(format!(
            "{} AND r.paused_on IS NULL AND r.due_date < {}",
            open_clause(),
            a.push(shanghai_date(Utc::now()))
        ));
    }
    if let Some(c) = given(&f.card) {
        let c = Card::parse("card", c).map_err(|_| FieldError::new("card", "enum", i18n::REQ_FILTER_CARD))?;
        w.push(format!("{} AND r.card = {}", open_clause(), a.push(c.code())));
    }
    if let Some(o) = f.org_id {
        w.push(scope::rows_under_id("r", access.tenant_id(), o, &mut a));
    }
    if let Some(q) = given(&f.q) {
        let n = a.push(like(q));
        w.push(format!("(r.code LIKE {n} ESCAPE '\\' OR r.description LIKE {n} ESCAPE '\\')"));
    }
    Ok((w.join(" AND "), a))
}

async fn paged(db: &Db, cond: &str, mut a: Args, page: Page) -> Result<Paged<Request>, StoreError> {
    let total = db.int(&format!("SELECT COUNT(*) FROM requests r WHERE {cond}"), a.clone()).await?;
    let limit = a.push(i64::from(page.size()));
    let offset = a.push(i64::from(page.number() - 1) * i64::from(page.size()));
    let items = db.all(&format!("{SELECT} WHERE {cond} ORDER BY {ORDER} LIMIT {limit} OFFSET {offset}"), a).await?;
    Ok(Paged { items, total, page: page.number(), per_page: page.size() })
}

/// Requests open for claiming by the caller as an in-service member:
/// accepted or reopened, nobody handling them, routed inside an organisation
/// the caller is a member of (micro-wishes have their own board). `o` is the
/// routed organisation of `r`.
fn claimable_clause(p: &Principal, a: &mut Args) -> String {
    let inside = scope::orgs_where_role(p, Role::Member, "o", a);
    format!(
        "(r.handler_user_id IS NULL AND r.kind <> '{}' AND r.state IN ('{}', '{}') AND {inside})",
        RequestKind::Wish.code(),
        RequestState::Accepted.code(),
        RequestState::Reopened.code(),
    )
}

/// SQL condition: the caller handles `r` and still holds `HandleRequests` or
/// `ClaimRequests` over it.
fn handled_by_caller(p: &Principal, a: &mut Args) -> String {
    let me = a.push(p.user());
    let handle = p.scope(Capability::HandleRequests).rows("r", a);
    let claim = p.scope(Capability::ClaimRequests).rows("r", a);
    format!("(r.handler_user_id = {me} AND ({handle} OR {claim}))")
}

/// A request the caller may see: inside their read scope, handled by them,
/// or open for them to claim. Anything else is "not found".
pub async fn get(db: &Db, p: &Principal, id: RequestId) -> Result<Request, StoreError> {
    let mut a = args![id, p.tenant_id];
    let read = p.scope(Capability::ReadRegistry).rows("r", &mut a);
    let handled = handled_by_caller(p, &mut a);
    let claimable = claimable_clause(p, &mut a);
    db.one(&format!("{SELECT} WHERE r.id = $1 AND r.tenant_id = $2 AND ({read} OR {handled} OR {claimable})"), a).await
}

/// What an in-service member may claim now (for "my tasks").
pub async fn claimable(db: &Db, p: &Principal) -> Result<Vec<Request>, StoreError> {
    let mut a = args![p.tenant_id];
    let m = claimable_clause(p, &mut a);
    db.all(&format!("{SELECT} WHERE r.tenant_id = $1 AND {m} ORDER BY r.due_date, r.id LIMIT 100"), a).await
}

/// "My tasks": open requests the caller handles.
pub async fn my_tasks(db: &Db, p: &Principal) -> Result<Vec<Request>, StoreError> {
    let mut a = args![p.tenant_id];
    let handled = handled_by_caller(p, &mut a);
    db.all(&format!("{SELECT} WHERE r.tenant_id = $1 AND {handled} AND {} ORDER BY r.due_date, r.id", open_clause()), a)
        .await
}

/// The accounts a request may be assigned to: those holding `HandleRequests`
/// over its organisation (the same rule the assignment checks).
pub async fn handlers_for(db: &Db, r: &Request) -> Result<Vec<(UserId, String)>, StoreError> {
    let found = scope::accounts_holding(&mut db.conn(), r.tenant_id, Capability::HandleRequests, r.path()).await?;
    Ok(found.into_iter().map(|(id, name)| (UserId::new(id), name)).collect())
}

/// The accounts offered for bulk assignment on the queue: those holding
/// `HandleRequests` over every request the caller may assign (over each
/// organisation where the caller holds it). Empty when the caller handles
/// nothing.
pub async fn bulk_handlers(db: &Db, p: &Principal) -> Result<Vec<(UserId, String)>, StoreError> {
    let mut out: Option<Vec<(i64, String)>> = None;
    for path in &p.scope(Capability::HandleRequests).paths {
        let found = scope::accounts_holding(&mut db.conn(), p.tenant_id, Capability::HandleRequests, path).await?;
        out = Some(match out {
            None => found,
            Some(so_far) => so_far.into_iter().filter(|(id, _)| found.iter().any(|(f, _)| f == id)).collect(),
        });
    }
    Ok(out.unwrap_or_default().into_iter().map(|(id, name)| (UserId::new(id), name)).collect())
}

/// One row of a request's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryRow {
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<UserId>,
    pub actor_name: Option<String>,
    #[schema(value_type = String)]
    pub actor_role: Code<ActorRole>,
    pub acting_for: Option<String>,
    /// An action code, or `submit`, `card` (warning and cards), `chase`,
    /// `part` (联办 progress), `wish` (the wish board).
    pub action: String,
    #[schema(value_type = String)]
    pub from_state: Code<RequestState>,
    #[schema(value_type = String)]
    pub to_state: Code<RequestState>,
    pub note: Option<String>,
    pub public: bool,
}

impl HistoryRow {
    pub fn action_label(&self) -> String {
        match Action::from_code(&self.action) {
            Some(a) => a.label().to_string(),
            None => match self.action.as_str() {
                "submit" => "提交".into(),
                "card" => "催办/预警".into(),
                "chase" => "催报".into(),
                "part" => "联办进度".into(),
                "wish" => "微心愿".into(),
                other => other.into(),
            },
        }
    }
    pub fn to_label(&self) -> &'static str {
        self.to_state.label()
    }
    pub fn role_label(&self) -> &'static str {
        self.actor_role.label()
    }
    /// Shanghai local time for display.
    pub fn local(&self) -> String {
        (self.at + Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
    }
}

pub(crate) async fn history_rows(
    db: &Db,
    tenant_id: i64,
    id: RequestId,
    public_only: bool,
) -> Result<Vec<HistoryRow>, StoreError> {
    let filter = if public_only { " AND h.public = TRUE" } else { "" };
    db.all(
        &format!(
            "SELECT h.at, h.actor_user_id, u.display_name AS actor_name, h.actor_role, h.acting_for, h.action, \
             h.from_state, h.to_state, h.note, h.public FROM request_history h \
             LEFT JOIN users u ON u.tenant_id = h.tenant_id AND u.id = h.actor_user_id \
             WHERE h.tenant_id = $1 AND h.request_id = $2{filter} ORDER BY h.id"
        ),
        args![tenant_id, id],
    )
    .await
}

/// The full history of a request the caller may see.
pub async fn history_of(db: &Db, p: &Principal, id: RequestId) -> Result<Vec<HistoryRow>, StoreError> {
    let r = get(db, p, id).await?;
    history_rows(db, r.tenant_id, r.id, false).await
}

/// The request register (民情诉求台账) as a file (导出).
pub struct RequestList;

impl Exportable for RequestList {
    const CODE: &'static str = "requests";
    const LABEL: &'static str = "民情诉求";
    const TAG: &'static str = "requests";
    type Filter = Filter;
    type Row = Request;
    fn columns(m: Mask) -> Vec<Column> {
        use ColumnKind::{Date, Identifier as Ident, Text};
        catalogue(
            i18n::EXPORT_REQUESTS,
            [
                Ident, Text, Text, Text, Text, Text, Text, Ident, Text, Text, Text, Text, Date, Date, Text, Date, Text,
                Text, Text, Text,
            ],
            m,
        )
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        let access = q.access(Capability::ReadRegistry)?;
        let (w, a) = filtered(&access, f)?;
        Ok(Some((format!("{SELECT} WHERE {w} ORDER BY {ORDER}"), a)))
    }
    fn cells(r: &Request, m: Mask) -> Vec<String> {
        let today = shanghai_date(Utc::now());
        vec![
            r.code.clone(),
            r.kind_label().to_string(),
            r.category_name.clone(),
            r.class_label().to_string(),
            r.description.clone(),
            opt(&r.address),
            opt(&r.contact_name),
            phone_text(&r.contact_phone, m),
            r.org_name.clone(),
            opt(&r.handler_name),
            r.state_label().to_string(),
            r.card_label().to_string(),
            r.received_on.to_string(),
            r.due_date.to_string(),
            yes(r.overdue(today)),
            opt(&r.paused_on),
            r.outcome_label().to_string(),
            r.satisfaction_label().to_string(),
            local_time(r.submitted_at),
            r.closed_at.map(local_time).unwrap_or_default(),
        ]
    }
}

/// Open requests inside the caller's read scope, the nearest deadline first
/// (a grid worker's day).
pub async fn open_by_deadline(db: &Db, p: &Principal, limit: i64) -> Result<Vec<Request>, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let mut a = args![];
    let read = access.scope.rows("r", &mut a);
    let lim = a.push(limit);
    db.all(&format!("{SELECT} WHERE {read} AND {} ORDER BY r.due_date, r.id LIMIT {lim}", open_clause()), a).await
}
