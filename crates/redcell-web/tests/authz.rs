//! The generated authorization test. It enumerates every route the
//! application mounts — from the surface, not from a list kept here, so a
//! new route is covered the day it is added — and calls each one as every
//! role, on an object inside the caller's scope, on one in another community
//! of the same street and on one of another tenant:
//!
//! - a caller without the route's capability is refused (403) and changes nothing;
//! - no write on an object outside the caller's scope succeeds or changes anything;
//! - no read outside the caller's scope returns data of it (names of the other
//!   community's people and places never appear in an answer);
//! - no answer carries a clear ID number or mobile number (except the reveal
//!   routes, for those allowed to reveal, inside their scope);
//! - nothing answers 5xx.
//!
//! What the test needs to know per route is small and checked: how to find
//! an object of each kind of path parameter (`Kind::of`), and a sample body
//! for each write (`api_body`; page forms are taken from the page that shows
//! them). A route it cannot resolve fails the test with what to add.

use axum::http::Method;
use redcell_domain::{OrgPath, Role};
use redcell_store::{Args, Db, args};
use redcell_testkit::app::*;
use redcell_web::kit::{Access, Front, RouteInfo};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

stories!(every_route_for_every_role);

const PASSWORD: &str = "Authz-Test-2026";

/// Where an object lies relative to a caller granted on community A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// Inside community A (the caller's grant).
    Mine,
    /// In community B of the same street.
    Theirs,
    /// In another tenant.
    Foreign,
}

const SIDES: [Side; 3] = [Side::Mine, Side::Theirs, Side::Foreign];

/// A signed-in caller.
struct Caller {
    label: String,
    token: String,
    csrf: String,
    principal: redcell_store::Principal,
}

/// The organisations the sides stand for.
struct Places {
    tenant: i64,
    a: OrgPath,
    b: OrgPath,
    foreign_tenant: i64,
    foreign: OrgPath,
}

impl Places {
    fn of(&self, side: Side) -> (i64, &OrgPath) {
        match side {
            Side::Mine => (self.tenant, &self.a),
            Side::Theirs => (self.tenant, &self.b),
            Side::Foreign => (self.foreign_tenant, &self.foreign),
        }
    }
}

/// How to find an object of one kind inside an organisation's subtree: a
/// query over `table` (alias `x`) whose owning organisation is `x.<org_col>`,
/// answering the value used in paths (`x.id` by default).
struct KindSql {
    table: &'static str,
    org_col: &'static str,
    value: &'static str,
    extra: &'static str,
}

/// The kinds of path parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Org,
    Grid,
    Building,
    Household,
    Resident,
    Member,
    Cadre,
    Unit,
    File,
    Guide,
    Request,
    /// A request's follow code (public pages).
    RequestCode,
    /// A request's follow code with the Open311 format suffix.
    Open311Request,
    /// A request category's code with the Open311 format suffix.
    Open311Service,
    /// Anything under Open311 that is not a resource.
    Open311Rest,
    /// A revisit link's token (public; a made-up one is refused).
    RevisitToken,
    /// What is done to a micro-wish (`claim`, ...).
    WishAction,
    /// An export list's code (not scoped: every caller names the same lists).
    ExportList,
    Contact,
    Exemption,
    Plan,
    Post,
    Meeting,
    Activity,
    /// An import batch (it belongs to the organisation holding all it touched).
    Batch,
    /// An account, found by a grant inside the side.
    User,
    /// A duty rule's code (rules are the tenant's, not an organisation's).
    RuleCode,
    /// A roster kind (templates are the same for everyone).
    Roster,
    /// An import job: the uploader's own; a made-up one is "not found".
    ImportJob,
    /// A session id: the account's own; a made-up one is "not found".
    Session,
    CareFund,
    CareEntry,
    CareApplication,
    ServicePost,
    ServiceClaim,
    ServiceHours,
    InserviceReport,
    HardshipCase,
    ServiceInvitation,
    ServiceTeam,
    ServiceEvaluation,
    WishInvitation,
    MobilityCard,
    Transfer,
    Proposal,
    Assessment,
    Round,
    Nomination,
    Warning,
    /// A rubric version (the tenant's, public to everyone assessed).
    Rubric,
}

impl Kind {
    /// Does an object of this kind belong to an organisation (so that a side
    /// can be inside or outside the caller's scope)?
    fn scoped(self) -> bool {
        !matches!(
            self,
            Kind::ExportList
                | Kind::RequestCode
                | Kind::Open311Request
                | Kind::Open311Service
                | Kind::Open311Rest
                | Kind::RevisitToken
                | Kind::WishAction
                | Kind::RuleCode
                | Kind::Roster
                | Kind::ImportJob
                | Kind::Session
                | Kind::Rubric
        )
    }

    /// The kind of the parameter `name` in `path`, from the segment before it.
    fn of(path: &str, name: &str) -> Option<Kind> {
        let segs: Vec<&str> = path.split('/').collect();
        let i = segs.iter().position(|s| *s == format!("{{{name}}}"))?;
        let before = if i > 0 { segs[i - 1] } else { "" };
        let open311 = path.starts_with("/open311/");
        Some(match (before, name) {
            ("requests", "id") if open311 => Kind::Open311Request,
            ("services", "code") if open311 => Kind::Open311Service,
            (_, "*rest") if open311 => Kind::Open311Rest,
            ("requests", "id") => Kind::Request,
            ("r", "code") => Kind::RequestCode,
            ("revisit", "token") => Kind::RevisitToken,
            ("wishes", "id") => Kind::Request,
            (_, "what") if path.starts_with("/wishes/") => Kind::WishAction,
            ("orgs", "id") => Kind::Org,
            ("grids", "id") => Kind::Grid,
            ("buildings", "id") | ("b", "id") => Kind::Building,
            ("households", "id") => Kind::Household,
            ("residents", "id") => Kind::Resident,
            ("members", "id") => Kind::Member,
            ("cadres", "id") => Kind::Cadre,
            ("units", "id") => Kind::Unit,
            ("files", "id") => Kind::File,
            ("guide", "id") => Kind::Guide,
            ("export", "list") => Kind::ExportList,
            ("contacts", "id") => Kind::Contact,
            ("exemptions", "id") => Kind::Exemption,
            ("plans", "id") => Kind::Plan,
            ("posts", "id") if path.starts_with("/service/") || path.starts_with("/api/v1/service/") => {
                Kind::ServicePost
            }
            ("claims", "id") => Kind::ServiceClaim,
            ("hours", "id") => Kind::ServiceHours,
            ("inservice", "id") => Kind::InserviceReport,
            ("hardship", "id") | ("cases", "id") => Kind::HardshipCase,
            ("invitations", "id") => Kind::ServiceInvitation,
            ("teams", "id") => Kind::ServiceTeam,
            ("evaluations", "id") => Kind::ServiceEvaluation,
            ("wish-invitations", "id") => Kind::WishInvitation,
            ("cards", "id") => Kind::MobilityCard,
            ("transfers", "id") => Kind::Transfer,
            ("proposals", "id") => Kind::Proposal,
            ("assessments", "id") => Kind::Assessment,
            ("commendations", "id") => Kind::Round,
            ("nominations", "id") => Kind::Nomination,
            ("warnings", "id") => Kind::Warning,
            ("rubrics", "id") => Kind::Rubric,
            ("reports", "id") if path.starts_with("/api/v1/service/") => Kind::InserviceReport,
            ("posts", "id") => Kind::Post,
            ("meetings", "id") => Kind::Meeting,
            ("activities", "id") => Kind::Activity,
            ("quotas", "org_id") => Kind::Org,
            ("batches", "id") => Kind::Batch,
            ("users", "id") | ("sessions", "id") => Kind::User,
            (_, "sid") => Kind::Session,
            ("rules", "code") => Kind::RuleCode,
            ("templates", "kind") => Kind::Roster,
            ("jobs", "id") => Kind::ImportJob,
            ("care", "id") | ("funds", "id") => Kind::CareFund,
            ("entries", "id") => Kind::CareEntry,
            ("applications", "id") => Kind::CareApplication,
            _ => return None,
        })
    }

    fn sql(self) -> Option<KindSql> {
        let k = |table, org_col, value, extra| Some(KindSql { table, org_col, value, extra });
        match self {
            // An organisation below the community itself, so that "inside" means the subtree.
            Kind::Org => k("orgs", "id", "x.id", " AND x.parent_id IS NOT NULL"),
            Kind::Grid => k("grids", "org_id", "x.id", ""),
            Kind::Building => k("buildings", "org_id", "x.id", ""),
            Kind::Household => k("households", "org_id", "x.id", ""),
            Kind::Resident => k("residents", "org_id", "x.id", ""),
            Kind::Member => k("members", "org_id", "x.id", ""),
            Kind::Cadre => k("cadres", "org_id", "x.id", ""),
            Kind::Unit => k("units", "org_id", "x.id", ""),
            Kind::Guide => k("service_guide", "org_id", "x.id", ""),
            Kind::Request => k("requests", "org_id", "x.id", ""),
            Kind::RequestCode => k("requests", "org_id", "x.code", ""),
            Kind::Open311Request => k("requests", "org_id", "x.code || '.json'", ""),
            Kind::Contact => k("contacts", "org_id", "x.id", ""),
            Kind::Exemption => k("exemptions", "org_id", "x.id", ""),
            Kind::Plan => k("plan_proposals", "org_id", "x.id", ""),
            Kind::Post => k("demo_posts", "org_id", "x.id", ""),
            Kind::Meeting => k("duty_meetings", "org_id", "x.id", ""),
            Kind::Activity => k("duty_activities", "org_id", "x.id", ""),
            Kind::Batch => k("import_batches", "org_id", "x.id", ""),
            Kind::CareFund => k("care_funds", "org_id", "x.id", ""),
            Kind::CareEntry => k("care_entries", "org_id", "x.id", ""),
            Kind::CareApplication => k("care_applications", "org_id", "x.id", ""),
            Kind::ServicePost => k("service_posts", "org_id", "x.id", ""),
            Kind::ServiceClaim => k("service_claims", "org_id", "x.id", ""),
            Kind::ServiceHours => k("service_hours", "org_id", "x.id", ""),
            Kind::InserviceReport => k("inservice_reports", "org_id", "x.id", ""),
            Kind::HardshipCase => k("hardship_cases", "org_id", "x.id", ""),
            Kind::ServiceInvitation => k("service_invitations", "org_id", "x.id", ""),
            Kind::ServiceTeam => k("service_teams", "org_id", "x.id", ""),
            Kind::ServiceEvaluation => k("service_evaluations", "org_id", "x.id", ""),
            Kind::WishInvitation => k("wish_invitations", "org_id", "x.id", ""),
            Kind::MobilityCard => k("mobility_cards", "org_id", "x.id", ""),
            Kind::Transfer => k("org_transfers", "org_id", "x.id", ""),
            Kind::Proposal => k("membership_proposals", "org_id", "x.id", ""),
            Kind::Assessment => k("assessments", "org_id", "x.id", ""),
            Kind::Round => k("commendation_rounds", "org_id", "x.id", ""),
            Kind::Nomination => k("nominations", "org_id", "x.id", ""),
            Kind::Warning => k("member_warnings", "org_id", "x.id", ""),
            Kind::File
            | Kind::User
            | Kind::RuleCode
            | Kind::Rubric
            | Kind::Roster
            | Kind::ImportJob
            | Kind::Session
            | Kind::ExportList
            | Kind::Open311Service
            | Kind::Open311Rest
            | Kind::RevisitToken
            | Kind::WishAction => None,
        }
    }
}

/// The objects each side offers, found once.
struct Objects {
    found: BTreeMap<(Kind, Side), String>,
}

impl Objects {
    async fn find(db: &Db, places: &Places, kinds: &BTreeSet<Kind>) -> Objects {
        let mut found = BTreeMap::new();
        for kind in kinds {
            for side in SIDES {
                let (tenant, path) = places.of(side);
                let value = match kind.sql() {
                    Some(q) => {
                        let sql = format!(
                            "SELECT CAST({value} AS TEXT) FROM {table} x JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.{org} \
                             WHERE x.tenant_id = $1 AND o.path LIKE $2{extra} ORDER BY x.id LIMIT 1",
                            value = q.value,
                            table = q.table,
                            org = q.org_col,
                            extra = q.extra
                        );
                        let row: Option<(String,)> =
                            db.opt(&sql, args![tenant, path.like_pattern()]).await.expect("fixture lookup");
                        row.map(|(v,)| v)
                    }
                    None => special(db, *kind, tenant, path).await,
                };
                let value = value.unwrap_or_else(|| panic!("no fixture of {kind:?} on side {side:?}: create one"));
                found.insert((*kind, side), value);
            }
        }
        Objects { found }
    }

    fn get(&self, kind: Kind, side: Side) -> &str {
        &self.found[&(kind, side)]
    }
}

/// Objects that are not one row owned by an organisation.
async fn special(db: &Db, kind: Kind, tenant: i64, path: &OrgPath) -> Option<String> {
    match kind {
        Kind::File => {
            let row: Option<(String,)> = db
                .opt(
                    "SELECT CAST(f.id AS TEXT) FROM files f JOIN households h ON h.tenant_id = f.tenant_id AND h.id = f.owner_id \
                     JOIN orgs o ON o.tenant_id = h.tenant_id AND o.id = h.org_id \
                     WHERE f.tenant_id = $1 AND f.owner_kind = 'household' AND o.path LIKE $2 ORDER BY f.id LIMIT 1",
                    args![tenant, path.like_pattern()],
                )
                .await
                .expect("file lookup");
            row.map(|(v,)| v)
        }
        Kind::ExportList => Some("households".into()),
        Kind::Roster => Some("households".into()),
        Kind::ImportJob => Some("987654".into()),
        Kind::Session => Some("0000000000000000".into()),
        Kind::Rubric => {
            let row: Option<(String,)> = db
                .opt(
                    "SELECT CAST(id AS TEXT) FROM rubric_versions WHERE tenant_id = $1 ORDER BY id LIMIT 1",
                    args![tenant],
                )
                .await
                .expect("rubric lookup");
            Some(row.map(|(c,)| c).unwrap_or_else(|| "987654".into()))
        }
        Kind::RuleCode => {
            let row: Option<(String,)> = db
                .opt("SELECT code FROM duty_rules WHERE tenant_id = $1 ORDER BY id LIMIT 1", args![tenant])
                .await
                .expect("rule lookup");
            Some(row.map(|(c,)| c).unwrap_or_else(|| "no-such-rule".into()))
        }
        Kind::User => {
            // The first account granted inside the side that is not one of
            // the test's callers (those keep their sessions to the end).
            let row: Option<(Option<String>,)> = db
                .opt(
                    "SELECT CAST(MIN(g.user_id) AS TEXT) FROM grants g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
                     JOIN users u ON u.id = g.user_id WHERE g.tenant_id = $1 AND o.path LIKE $2 AND u.username NOT LIKE 'az-%'",
                    args![tenant, path.like_pattern()],
                )
                .await
                .expect("user lookup");
            row.and_then(|(v,)| v)
        }
        Kind::Open311Rest => Some("unknown.json".into()),
        Kind::RevisitToken => Some("0123456789abcdef".into()),
        Kind::WishAction => Some("claim".into()),
        Kind::Open311Service => {
            let row: Option<(String,)> = db
                .opt(
                    "SELECT code || '.json' FROM request_categories WHERE tenant_id = $1 ORDER BY id LIMIT 1",
                    args![tenant],
                )
                .await
                .expect("category lookup");
            Some(row.map(|(c,)| c).unwrap_or_else(|| "none.json".into()))
        }
        _ => None,
    }
}

fn fill(route: &RouteInfo, objects: &Objects, side: Side) -> Result<String, String> {
    let mut out = String::new();
    for seg in route.path.split('/').skip(1) {
        out.push('/');
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let kind = Kind::of(&route.path, name).ok_or_else(|| {
                format!("{} {}: no fixture kind for {{{name}}} — add it to Kind::of", route.method, route.path)
            })?;
            out.push_str(objects.get(kind, side));
        } else {
            out.push_str(seg);
        }
    }
    Ok(out)
}

/// Does the path name an object that lies on a side?
fn has_params(route: &RouteInfo) -> bool {
    route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .any(|name| Kind::of(&route.path, name).is_none_or(Kind::scoped))
}

/// Does the path name anything at all?
fn has_any_params(route: &RouteInfo) -> bool {
    route.path.contains('{')
}

/// Names of community B's people and places that community A does not
/// share: no answer to a caller of A may contain one.
async fn markers(db: &Db, places: &Places) -> Vec<String> {
    let names = |path: &OrgPath| {
        let sql = "SELECT r.name FROM residents r JOIN orgs o ON o.tenant_id = r.tenant_id AND o.id = r.org_id \
                   WHERE r.tenant_id = $1 AND o.path LIKE $2 \
                   UNION SELECT o.name FROM orgs o WHERE o.tenant_id = $1 AND o.path LIKE $2 \
                   UNION SELECT g.name FROM grids g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
                   WHERE g.tenant_id = $1 AND o.path LIKE $2";
        let pat = path.like_pattern();
        async move {
            let rows: Vec<(String,)> = db.all(sql, args![places.tenant, pat]).await.expect("names");
            rows.into_iter().map(|(n,)| n).collect::<BTreeSet<String>>()
        }
    };
    let a = names(&places.a).await;
    let b = names(&places.b).await;
    // Long enough to be specific (a two-character name may also be a word).
    b.difference(&a).filter(|n| n.chars().count() >= 3).cloned().collect()
}

/// A cheap fingerprint of everything a write could change: the rows of every
/// table and their latest change, except the tables that record the calls
/// themselves (sessions, the audit trail, rate-limit counters). One query.
struct Fingerprint {
    sql: String,
}

impl Fingerprint {
    async fn new(db: &Db) -> Fingerprint {
        let tables: Vec<(String,)> = match db.backend() {
            redcell_store::Backend::Sqlite => {
                db.all(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
                    Args::new(),
                )
                .await
            }
            redcell_store::Backend::Postgres => {
                db.all(
                    "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = 'public' \
                     AND table_name NOT LIKE '_sqlx%' ORDER BY table_name",
                    Args::new(),
                )
                .await
            }
        }
        .expect("tables");
        let skip = ["sessions", "audit_log", "login_attempts", "request_submit_attempts", "id_marks"];
        let mut parts = Vec::new();
        for (t,) in tables.into_iter().filter(|(t,)| !skip.contains(&t.as_str())) {
            let has_updated = match db.backend() {
                redcell_store::Backend::Sqlite => {
                    db.int("SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = 'updated_at'", args![t.clone()]).await
                }
                redcell_store::Backend::Postgres => {
                    db.int(
                        "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = $1 AND column_name = 'updated_at'",
                        args![t.clone()],
                    )
                    .await
                }
            }
            .expect("columns")
                > 0;
            let latest = if has_updated { "CAST(MAX(updated_at) AS TEXT)" } else { "CAST(NULL AS TEXT)" };
            parts.push(format!("SELECT CAST('{t}' AS TEXT), COUNT(*), {latest} FROM {t}"));
        }
        Fingerprint { sql: parts.join(" UNION ALL ") }
    }

    async fn take(&self, db: &Db) -> BTreeMap<String, (i64, String)> {
        let rows: Vec<(String, i64, Option<String>)> = db.all(&self.sql, Args::new()).await.expect("fingerprint");
        rows.into_iter().map(|(t, n, m)| (t, (n, m.unwrap_or_default()))).collect()
    }
}

/// Does the answer carry a clear ID number or mobile number? Runs of digits
/// standing alone (not inside a token of letters and digits) that parse as
/// a valid ID number (check digit) or a mobile number.
/// A clear ID number or mobile number in an answer, other than a work phone
/// its owner agreed to publish (a cadre's `public_phone`: in JSON under that
/// key, on pages in `class="public-phone"` or the form field of that name;
/// the same number elsewhere in the answer, e.g. a `tel:` link, is that phone).
fn clear_personal_data(body: &str) -> Option<String> {
    let published = |start: usize| {
        let before = &body[..start];
        let tag = before.rfind('<').map(|i| &before[i..]).unwrap_or("");
        before.ends_with("\"public_phone\":\"")
            || before.ends_with("class=\"public-phone\">")
            || (!tag.contains('>') && tag.contains("name=\"public_phone\""))
    };
    let mut public = Vec::new();
    let mut i = 0;
    let b = body.as_bytes();
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if published(start) {
                public.push(&body[start..i]);
            }
        } else {
            i += 1;
        }
    }
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || (i - start == 17 && (b[i] == b'X' || b[i] == b'x'))) {
                i += 1;
            }
            let run = &body[start..i];
            let before_ok = start == 0 || !b[start - 1].is_ascii_alphanumeric();
            let after_ok = i >= b.len() || !b[i].is_ascii_alphanumeric();
            if before_ok && after_ok {
                if run.len() == 18 && redcell_domain::IdNumber::parse(run).is_ok() {
                    return Some(run.to_string());
                }
                if run.len() == 11
                    && run.starts_with('1')
                    && redcell_domain::Phone::parse(run).is_ok()
                    && !public.contains(&run)
                {
                    return Some(run.to_string());
                }
            }
        } else {
            i += 1;
        }
    }
    None
}

static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A number no other call used (so that a write that should have been
/// refused is not masked by a duplicate of an earlier one).
fn serial() -> u32 {
    SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The sample JSON body of an API write, with ids of `side`.
fn api_body(route: &RouteInfo, objects: &Objects, side: Side) -> Option<Value> {
    let id = |k: Kind| objects.get_or_zero(k, side).parse::<i64>().unwrap_or(0);
    let n = serial();
    let p = route.path.as_str();
    Some(match (route.method.as_str(), p) {
        ("PATCH", _) => json!({}),
        ("DELETE", _) => Value::Null,
        ("POST", "/api/v1/orgs") => {
            json!({"parent_id": id(Kind::Org), "kind": "party_group", "code": format!("AZ-N{n}"), "name": "授权测试党小组"})
        }
        ("POST", "/api/v1/grids") => {
            json!({"org_id": id(Kind::Org), "code": format!("AZ-G{n}"), "name": "授权测试网格"})
        }
        ("POST", "/api/v1/buildings") => {
            json!({"grid_id": id(Kind::Grid), "name": "授权测试楼", "address": "测试路1号", "units": 1, "floors": 6})
        }
        ("POST", "/api/v1/households") => {
            json!({"building_id": id(Kind::Building), "unit_no": 1, "room": format!("9{n}")})
        }
        ("POST", "/api/v1/residents") => json!({
            "household_id": id(Kind::Household), "name": "授权测试人",
            "id_number": redcell_domain::IdNumber::synthesise(redcell_domain::ident::DEMO_REGION, date(1980, 1, 1), 100 + n).as_str()
        }),
        ("POST", "/api/v1/members") => {
            json!({"resident_id": id(Kind::Resident), "org_id": id(Kind::Org), "category": "community"})
        }
        ("POST", "/api/v1/cadres") => json!({"org_id": id(Kind::Org), "kind": "grid_worker", "name": "授权测试干部"}),
        ("POST", "/api/v1/units") => json!({"grid_id": id(Kind::Grid), "kind": "shop", "name": "授权测试商铺"}),
        ("POST", "/api/v1/residents/{id}/reveal") => json!({"reason": "授权测试"}),
        ("POST", "/api/v1/requests/{id}/contact") => json!({}),
        ("POST", "/api/v1/me/households/{id}/phones") => json!({}),
        ("POST", "/api/v1/requests") => json!({
            "category": objects.get_or_zero(Kind::Open311Service, side).trim_end_matches(".json"),
            "description": format!("授权测试诉求{n}"),
            "household_id": id(Kind::Household),
            "contact_name": "授权测试",
        }),
        ("POST", "/api/v1/requests/{id}/actions") => json!({"action": "accept"}),
        ("POST", "/api/v1/care/funds") => json!({"org_id": id(Kind::Org), "name": format!("授权测试基金{n}")}),
        ("POST", "/api/v1/care/funds/{id}/income") => {
            json!({"source": "donation", "amount": "10", "memo": "授权测试"})
        }
        ("POST", "/api/v1/care/funds/{id}/applications") => {
            json!({"person_name": "授权测试", "purpose": "illness", "amount": "10", "reason": "授权测试"})
        }
        ("POST", "/api/v1/care/funds/{id}/checks") => json!({"statement": "10"}),
        ("POST", "/api/v1/care/funds/{id}/close") => json!({"year": "2020"}),
        ("POST", "/api/v1/care/applications/{id}/decision") => {
            json!({"decision": "reject", "reason": "授权测试"})
        }
        ("POST", "/api/v1/care/applications/{id}/payment") => json!({}),
        ("POST", "/api/v1/care/entries/{id}/reversal") => json!({"reason": "授权测试"}),
        ("POST", "/api/v1/service/posts") => json!({
            "org_id": id(Kind::Org), "title": format!("授权测试岗{n}"), "duty": "授权测试", "place": "测试", "schedule": "每周"
        }),
        ("PUT", "/api/v1/service/posts/{id}") => {
            json!({"title": format!("授权测试岗{n}"), "duty": "授权测试", "place": "测试", "schedule": "每周", "headcount": 50})
        }
        ("POST", "/api/v1/service/posts/{id}/close")
        | ("POST", "/api/v1/service/posts/{id}/claim")
        | ("POST", "/api/v1/service/claims/{id}/renewal")
        | ("POST", "/api/v1/service/claims/{id}/leave") => json!({}),
        ("POST", "/api/v1/service/hours") => {
            json!({"post_id": id(Kind::ServicePost), "start": "00:00", "end": "00:30"})
        }
        ("POST", "/api/v1/service/hours/{id}/decision") => json!({"decision": "reject", "note": "授权测试"}),
        ("POST", "/api/v1/service/reports") => json!({
            "org_id": id(Kind::Org), "member_id": id(Kind::Member), "employer": "授权测试", "employer_org": "授权测试"
        }),
        ("POST", "/api/v1/service/reports/{id}/return") => json!({"reason": "授权测试"}),
        ("POST", "/api/v1/service/posts/{id}/invitations") => json!({"member_id": id(Kind::Member)}),
        ("POST", "/api/v1/service/invitations/{id}/answer") => json!({"accept": false}),
        ("PUT", "/api/v1/me/skills") => json!({"skills": "授权测试"}),
        ("POST", "/api/v1/service/teams") => json!({
            "org_id": id(Kind::Org), "name": format!("授权测试队{n}"), "items": "授权测试", "schedule": "每周"
        }),
        ("PUT", "/api/v1/service/teams/{id}") => {
            json!({"name": format!("授权测试队{n}"), "items": "授权测试", "schedule": "每周"})
        }
        ("POST", "/api/v1/service/teams/{id}/close")
        | ("POST", "/api/v1/service/teams/{id}/join")
        | ("POST", "/api/v1/service/teams/{id}/leave") => json!({}),
        ("POST", "/api/v1/service/teams/{id}/members") | ("POST", "/api/v1/service/teams/{id}/members/removal") => {
            json!({"member_id": id(Kind::Member)})
        }
        ("POST", "/api/v1/service/evaluations/drafts") => json!({"org_id": id(Kind::Org)}),
        ("POST", "/api/v1/service/evaluations/{id}/review") => json!({"grade": "pass", "comment": "授权测试"}),
        ("POST", "/api/v1/requests/{id}/invitations") => json!({"member_id": id(Kind::Member)}),
        ("POST", "/api/v1/service/wish-invitations/{id}/answer") => json!({"accept": false}),
        ("POST", "/api/v1/assessments") => json!({"org_id": id(Kind::Org)}),
        ("POST", "/api/v1/assessments/{id}/scores") => json!({"item_no": 4, "score": "1", "reason": "授权测试"}),
        ("POST", "/api/v1/assessments/{id}/objections") => json!({"body": "授权测试"}),
        ("POST", "/api/v1/assessments/{id}/answers") => json!({"objection_id": 1, "answer": "授权测试"}),
        ("POST", "/api/v1/assessments/{id}/brands") => json!({"name": format!("授权测试{n}")}),
        ("POST", "/api/v1/assessments/{id}/survey") => json!({"share": "80", "note": "授权测试"}),
        ("POST", "/api/v1/stars") => json!({"org_id": id(Kind::Org)}),
        ("POST", "/api/v1/commendations") => {
            json!({"org_id": id(Kind::Org), "kind": "custom", "title": format!("授权测试{n}"), "nominate_until": "2099-01-01"})
        }
        ("POST", "/api/v1/commendations/{id}/nominations") => {
            json!({"member_id": id(Kind::Member), "reasons": "授权测试"})
        }
        ("POST", "/api/v1/commendations/{id}/publish") => json!({}),
        ("POST", "/api/v1/nominations/{id}/review") => json!({"decision": "reject", "note": "授权测试"}),
        ("POST", "/api/v1/warnings") => json!({"member_id": id(Kind::Member), "note": "授权测试"}),
        ("POST", "/api/v1/warnings/{id}/decisions") => json!({"action": "dismiss", "note": "授权测试"}),
        ("POST", "/api/v1/rubrics") => json!({"effective_from": "2099-01-01", "body": "name = \"x\""}),
        ("POST", p) if p.starts_with("/api/v1/assessments/{id}/") => json!({"note": "授权测试"}),
        ("POST", "/api/v1/care/cases") => json!({"member_id": id(Kind::Member), "situation": "授权测试"}),
        ("POST", "/api/v1/mobility/cards") => json!({
            "direction": "out", "member_id": id(Kind::Member), "card_no": format!("AZ-{n}"), "place": "外地",
            "reason": "务工", "channel": "电话"
        }),
        ("POST", "/api/v1/mobility/refusals") => json!({
            "org_id": id(Kind::Org), "paired_card_no": format!("AZ-NONE-{n}"), "id_number": "11010519491231002X",
            "reason": "授权测试"
        }),
        ("PUT", "/api/v1/mobility/settings") => json!({"letter_days": 90}),
        ("POST", "/api/v1/mobility/cards/{id}/contacts") => json!({"channel": "call"}),
        ("POST", "/api/v1/mobility/cards/{id}/end") => json!({"reason": "授权测试"}),
        ("POST", "/api/v1/transfers") => {
            json!({"member_id": id(Kind::Member), "to_outside": "授权测试单位党委", "reason": "授权测试"})
        }
        ("POST", "/api/v1/mobility/cards/{id}/proposals") => json!({"kind": "stop", "reason": "授权测试"}),
        ("POST", "/api/v1/mobility/proposals/{id}/decision") => json!({"decision": "rejected"}),
        ("POST", "/api/v1/transfers/{id}/decision") => json!({"decision": "refuse", "reason": "授权测试"}),
        ("POST", "/api/v1/transfers/{id}/revoke") | ("POST", "/api/v1/transfers/{id}/release") => json!({}),
        ("POST", "/api/v1/transfers/{id}/receipt") => json!({"decision": "refuse", "reason": "授权测试"}),
        ("POST", "/api/v1/care/cases/{id}/help") => json!({"kind": "goods", "what": "授权测试"}),
        ("POST", "/api/v1/care/cases/{id}/review") => json!({}),
        ("POST", "/api/v1/care/cases/{id}/close") => json!({"reason": "授权测试"}),
        ("POST", "/api/v1/guide") => json!({
            "org_id": id(Kind::Org), "name": format!("授权测试事项{n}"), "class": "immediate", "place": "测试窗口"
        }),
        ("POST", "/api/v1/auth/login") => json!({"username": "az-nobody", "password": "wrong-password"}),
        ("POST", "/api/v1/contacts") => {
            json!({"level": "member_household", "from_id": id(Kind::Member), "to_id": id(Kind::Household)})
        }
        ("POST", "/api/v1/contacts/{id}/end") | ("POST", "/api/v1/posts/{id}/end") => json!({"reason": "授权测试"}),
        ("PUT", "/api/v1/quotas/{org_id}") => json!({"member_household_min": 1, "member_household_max": 10}),
        ("POST", "/api/v1/quotas/{org_id}/preset") => json!({"preset": "urban"}),
        ("POST", "/api/v1/exemptions") => json!({"member_id": id(Kind::Member), "reason": "old_frail"}),
        ("POST", "/api/v1/exemptions/{id}/decide") => json!({"step": "branch", "decision": "approve"}),
        ("POST", "/api/v1/plans") => json!({"org_id": id(Kind::Org)}),
        ("POST", "/api/v1/plans/{id}/apply") | ("POST", "/api/v1/plans/{id}/discard") => json!({"reason": "授权测试"}),
        ("POST", "/api/v1/posts") => {
            json!({"name": format!("授权测试岗{n}"), "member_id": id(Kind::Member), "grid_id": id(Kind::Grid)})
        }
        ("PUT", "/api/v1/members/{id}/party-role") => json!({"party_role": null}),
        ("POST", "/api/v1/duties/visits") => json!({
            "target_kind": "household", "target_id": id(Kind::Household),
            "visited_on": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string(), "purpose": "routine"
        }),
        ("POST", "/api/v1/duties/meetings") => json!({
            "org_id": id(Kind::Org), "kind": "general_meeting", "topic": "授权测试会议",
            "held_on": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string(),
        }),
        ("POST", "/api/v1/duties/activities") => json!({
            "org_id": id(Kind::Org), "kind": "service", "title": "授权测试活动",
            "held_on": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string(),
        }),
        ("POST", "/api/v1/duties/rules/import") => json!({"toml": ""}),
        ("PUT", "/api/v1/duties/channel") => json!({"webhook_url": null}),
        ("POST", "/api/v1/duties/channel/test") => Value::Null,
        ("PUT", "/api/v1/users/{id}/duty-link") => json!({"cadre_id": null, "member_id": null}),
        ("POST", "/api/v1/users") => json!({
            "username": format!("az-made-{n}"), "password": "Authz-Made-2026", "role": "member", "org_id": id(Kind::Org)
        }),
        ("PUT", "/api/v1/guide/{id}") => json!({
            "org_id": id(Kind::Org), "name": format!("授权测试事项改{n}"), "class": "promised", "place": "测试窗口"
        }),
        _ => return None,
    })
}

/// Routes whose call ends the caller's own session or changes their
/// password: called last, each once, after every other check.
fn ends_session(route: &RouteInfo) -> bool {
    matches!(route.path.as_str(), "/logout" | "/api/v1/auth/logout" | "/account/password" | "/api/v1/auth/password")
}

/// Writes to the caller's own tenant's settings: they name no object, so
/// there is no side to be outside of (the gate and the service decide).
fn tenant_wide(route: &RouteInfo) -> bool {
    matches!(
        route.path.as_str(),
        "/api/v1/duties/rules/import"
            | "/api/v1/duties/channel"
            | "/api/v1/duties/channel/test"
            | "/api/v1/mobility/settings"
            | "/duties/rules/import"
            | "/admin/duties/channel"
            | "/admin/duties/channel/test"
    )
}

/// Is this a write that destroys its object (run after the other writes)?
fn destructive(route: &RouteInfo) -> bool {
    route.method == Method::DELETE
        || ["/delete", "/end", "/undo", "/remove", "/revoke", "/release"].iter().any(|s| route.path.ends_with(s))
}

async fn every_route_for_every_role(t: &TestApp) {
    let db = &t.db;
    // The district: a demo street; callers are granted on its first
    // community (A); the second community (B) is "theirs".
    redcell_store::demo::generate(
        db,
        &redcell_store::demo::DemoOptions {
            households: 160,
            seed: 11,
            admin_password: Some(PASSWORD.into()),
            replace: false,
        },
        &|_, _| {},
    )
    .await
    .expect("demo");
    let communities: Vec<(i64, String, String)> = db
        .all(
            "SELECT o.id, o.code, o.path FROM orgs o WHERE o.kind = 'community_committee' ORDER BY o.path LIMIT 2",
            Args::new(),
        )
        .await
        .expect("communities");
    assert_eq!(communities.len(), 2, "the demo has two communities");
    let (tenant,): (i64,) =
        db.one("SELECT tenant_id FROM orgs WHERE code = 'DEMO'", Args::new()).await.expect("tenant");
    let foreign = other_tenant(db).await;
    let places = Places {
        tenant,
        a: OrgPath::parse(&communities[0].2).expect("path"),
        b: OrgPath::parse(&communities[1].2).expect("path"),
        foreign_tenant: foreign.0,
        foreign: foreign.1,
    };
    let code_a = communities[0].1.clone();
    seed_extras(t, &places).await;

    // Every caller: each role on community A; an auditor and the admin on the street.
    let mut callers = Vec::new();
    for role in Role::ALL {
        callers.push(sign_in(t, &format!("az-{}", role.code()), *role, &code_a).await);
    }
    callers.push(sign_in(t, "az-street-auditor", Role::Auditor, "DEMO").await);
    callers.push(sign_in(t, "az-street-admin", Role::Admin, "DEMO").await);

    let routes: Vec<RouteInfo> = redcell_web::surface().routes().to_vec();
    // The kinds bodies refer to, and those of every path parameter.
    let mut kinds: BTreeSet<Kind> =
        [Kind::Org, Kind::Grid, Kind::Building, Kind::Household, Kind::Resident, Kind::Open311Service]
            .into_iter()
            .collect();
    let mut unresolved = Vec::new();
    for r in &routes {
        for seg in r.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                match Kind::of(&r.path, name) {
                    Some(k) => {
                        kinds.insert(k);
                    }
                    None => unresolved.push(format!("{} {}: parameter {{{name}}}", r.method, r.path)),
                }
            }
        }
        if r.front == Front::Api
            && r.is_write()
            && !ends_session(r)
            && api_body(r, &Objects::empty(), Side::Mine).is_none()
        {
            unresolved.push(format!("{} {}: no sample body in api_body", r.method, r.path));
        }
    }
    assert!(unresolved.is_empty(), "routes the test cannot call yet:\n{}", unresolved.join("\n"));
    let objects = Objects::find(db, &places, &kinds).await;
    let markers = markers(db, &places).await;
    assert!(markers.len() > 10, "too few markers of community B: {markers:?}");

    let started = std::time::Instant::now();
    let mut report = Report::default();
    let forms = Forms::new(t).await;
    // Reads first, then writes (refusals, then the allowed ones), destructive
    // writes last, session-ending calls at the very end.
    let mut order: Vec<&RouteInfo> = routes.iter().collect();
    order.sort_by_key(|r| (r.is_write(), destructive(r), ends_session(r)));
    for route in order.into_iter().filter(|r| !ends_session(r)) {
        for c in &callers {
            // Objects in the path; for a write without one, the body names them.
            let sides: Vec<Option<Side>> = if has_params(route) || (route.is_write() && !tenant_wide(route)) {
                SIDES.iter().map(|s| Some(*s)).collect()
            } else {
                vec![None]
            };
            for side in sides {
                check(t, route, c, side, &objects, &markers, &places, &forms, &mut report).await;
            }
        }
    }
    // Last, the calls that end the caller's session or change their password.
    for route in routes.iter().filter(|r| ends_session(r)) {
        for c in &callers {
            check(t, route, c, None, &objects, &markers, &places, &forms, &mut report).await;
        }
    }
    assert!(report.failures.is_empty(), "{} failures:\n{}", report.failures.len(), report.failures.join("\n"));
    println!(
        "authorization: {} routes, {} calls, {} refusals checked in {:.1} s",
        routes.len(),
        report.calls,
        report.refusals,
        started.elapsed().as_secs_f64()
    );
}

impl Objects {
    fn empty() -> Objects {
        Objects { found: BTreeMap::new() }
    }

    fn get_or_zero(&self, kind: Kind, side: Side) -> &str {
        self.found.get(&(kind, side)).map(String::as_str).unwrap_or("0")
    }
}

#[derive(Default)]
struct Report {
    calls: usize,
    refusals: usize,
    failures: Vec<String>,
}

/// A second tenant with an organisation, a grid and its people.
async fn other_tenant(db: &Db) -> (i64, OrgPath) {
    let root = redcell_domain::input::RawOrg {
        kind: Some("street_committee".into()),
        code: Some("AZ-OTHER".into()),
        name: Some("另一街道党工委".into()),
        ..Default::default()
    }
    .validate()
    .expect("root");
    let mut tx = db.begin().await.expect("begin");
    let id = redcell_store::registry::orgs::create_root(&mut tx, &root).await.expect("root");
    tx.commit().await.expect("commit");
    redcell_store::auth::add_user(db, "az-other-admin", "另一管理员", PASSWORD, Role::Admin, "AZ-OTHER")
        .await
        .expect("admin");
    let (p, _) = redcell_store::auth::principal(
        db,
        &redcell_store::auth::login(db, "az-other-admin", PASSWORD).await.expect("login").token,
    )
    .await
    .expect("principal");
    use redcell_domain::input::*;
    let sub = redcell_store::registry::orgs::create(
        db,
        &p,
        RawOrg {
            parent_id: Some(id.to_string()),
            kind: Some("community_committee".into()),
            code: Some("AZ-OC".into()),
            name: Some("另一社区党委".into()),
            ..Default::default()
        }
        .validate()
        .expect("community"),
    )
    .await
    .expect("community");
    redcell_store::auth::add_user(db, "other-sec", "另一书记", PASSWORD, Role::Secretary, "AZ-OC")
        .await
        .expect("secretary of the other tenant");
    let branch = redcell_store::registry::orgs::create(
        db,
        &p,
        RawOrg {
            parent_id: Some(sub.id.to_string()),
            kind: Some("branch_neighbourhood".into()),
            code: Some("AZ-OB".into()),
            name: Some("另一街坊党支部".into()),
            ..Default::default()
        }
        .validate()
        .expect("branch"),
    )
    .await
    .expect("branch");
    let grid = redcell_store::registry::grids::create(
        db,
        &p,
        RawGrid {
            org_id: Some(branch.id.to_string()),
            code: Some("AZ-OG".into()),
            name: Some("另一网格".into()),
            ..Default::default()
        }
        .validate()
        .expect("grid"),
    )
    .await
    .expect("grid");
    let building = redcell_store::registry::buildings::create(
        db,
        &p,
        RawBuilding {
            grid_id: Some(grid.id.to_string()),
            name: Some("另一幢".into()),
            address: Some("另一路1号".into()),
            ..Default::default()
        }
        .validate()
        .expect("building"),
    )
    .await
    .expect("building");
    let hh = redcell_store::registry::households::create(
        db,
        &p,
        RawHousehold { building_id: Some(building.id.to_string()), room: Some("101".into()), ..Default::default() }
            .validate()
            .expect("household"),
    )
    .await
    .expect("household");
    let today = chrono::Utc::now().date_naive();
    let res = redcell_store::registry::residents::create(
        db,
        &p,
        RawResident {
            household_id: Some(hh.id.to_string()),
            name: Some("另一居民".into()),
            id_number: Some(
                redcell_domain::IdNumber::synthesise(redcell_domain::ident::DEMO_REGION, date(1960, 3, 3), 977)
                    .as_str()
                    .into(),
            ),
            phone: Some("13988887777".into()),
            ..Default::default()
        }
        .validate(today)
        .expect("resident"),
    )
    .await
    .expect("resident");
    redcell_store::registry::members::create(
        db,
        &p,
        RawMember {
            resident_id: Some(res.id.to_string()),
            org_id: Some(branch.id.to_string()),
            category: Some("community".into()),
            ..Default::default()
        }
        .validate(today)
        .expect("member"),
    )
    .await
    .expect("member");
    redcell_store::registry::cadres::create(
        db,
        &p,
        RawCadre {
            org_id: Some(branch.id.to_string()),
            kind: Some("grid_worker".into()),
            name: Some("另一干部".into()),
            ..Default::default()
        }
        .validate()
        .expect("cadre"),
    )
    .await
    .expect("cadre");
    redcell_store::registry::units::create(
        db,
        &p,
        RawUnit {
            grid_id: Some(grid.id.to_string()),
            kind: Some("shop".into()),
            name: Some("另一商铺".into()),
            ..Default::default()
        }
        .validate()
        .expect("unit"),
    )
    .await
    .expect("unit");
    let category = redcell_domain::requests::RawCategory {
        code: Some("az-repair".into()),
        name: Some("维修".into()),
        kind: Some("hazard".into()),
        org_id: None,
        working_days: Some("5".into()),
        class: Some("promised".into()),
    };
    redcell_store::requests::create_category(db, &p, category.validate().expect("category")).await.expect("category");
    let req = redcell_domain::requests::RawRequest {
        category: Some("az-repair".into()),
        description: Some("另一街道的诉求".into()),
        household_id: Some(hh.id.to_string()),
        contact_name: Some("另一居民".into()),
        ..Default::default()
    };
    redcell_store::requests::submit(
        db,
        id.get(),
        req.validate().expect("request"),
        redcell_store::requests::Source::Staff,
        Some(&p),
        None,
    )
    .await
    .expect("request");
    // A care fund with an entry and an application.
    use redcell_store::care;
    let fund = care::create_fund(
        db,
        &p,
        &care::RawFund {
            org_id: Some(sub.id.to_string()), name: Some("另一关爱基金".into()), ..Default::default()
        },
    )
    .await
    .expect("fund");
    let fund = redcell_domain::care::FundId::new(fund.id);
    let income = care::RawIncome {
        source: Some("donation".into()),
        amount: Some("500".into()),
        memo: Some("募捐".into()),
        ..Default::default()
    };
    care::record_income(db, &p, fund, &income).await.expect("income");
    let app = care::RawApplication {
        person_name: Some("另一居民".into()),
        purpose: Some("illness".into()),
        amount: Some("100".into()),
        reason: Some("住院".into()),
        ..Default::default()
    };
    care::apply(db, &p, fund, &app).await.expect("application");
    // A service post with a claim and logged hours (rows as a member would leave them).
    use redcell_store::volunteer;
    let post = volunteer::create_post(
        db,
        &p,
        &volunteer::RawPost {
            org_id: Some(sub.id.to_string()),
            title: Some("另一服务岗".into()),
            duty: Some("巡查".into()),
            place: Some("另一社区".into()),
            schedule: Some("每周六".into()),
            ..Default::default()
        },
    )
    .await
    .expect("post");
    let (member,): (i64,) = db
        .one("SELECT id FROM members WHERE tenant_id = $1 ORDER BY id LIMIT 1", args![id.get()])
        .await
        .expect("member");
    let today = chrono::Utc::now().date_naive();
    db.exec(
        "INSERT INTO service_claims (tenant_id, org_id, post_id, member_id, claimed_on, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![id.get(), sub.id.get(), post.id, member, today, chrono::Utc::now()],
    )
    .await
    .expect("claim");
    db.exec(
        "INSERT INTO service_hours (tenant_id, org_id, member_id, post_id, work_date, start_min, end_min, minutes, note, state, \
         logged_by, created_at) VALUES ($1, $2, $3, $4, $5, 540, 600, 60, '', 'pending', $6, $7)",
        args![id.get(), sub.id.get(), member, post.id, today, p.user_id, chrono::Utc::now()],
    )
    .await
    .expect("hours");
    db.exec(
        "INSERT INTO service_invitations (tenant_id, org_id, post_id, member_id, state, invited_by, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
        args![id.get(), sub.id.get(), post.id, member, p.user_id, chrono::Utc::now()],
    )
    .await
    .expect("invitation");
    let team = redcell_store::teams::create_team(
        db,
        &p,
        &redcell_store::teams::RawTeam {
            org_id: Some(sub.id.to_string()),
            name: Some("另一服务队".into()),
            items: Some("调解".into()),
            schedule: Some("每周二".into()),
            ..Default::default()
        },
    )
    .await
    .expect("team");
    db.exec(
        "INSERT INTO service_team_members (tenant_id, org_id, team_id, member_id, joined_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![id.get(), sub.id.get(), team.id, member, today, chrono::Utc::now()],
    )
    .await
    .expect("team member");
    db.exec(
        "INSERT INTO service_evaluations (tenant_id, org_id, member_id, year, minutes, spans, draft, state, drafted_by, \
         drafted_at) VALUES ($1, $2, $3, $4, 60, 1, '另一评价', 'draft', $5, $6)",
        args![id.get(), sub.id.get(), member, i64::from(chrono::Datelike::year(&today)), p.user_id, chrono::Utc::now()],
    )
    .await
    .expect("evaluation");
    let (request,): (i64,) = db
        .one("SELECT id FROM requests WHERE tenant_id = $1 ORDER BY id LIMIT 1", args![id.get()])
        .await
        .expect("a request of the other tenant");
    db.exec(
        "INSERT INTO wish_invitations (tenant_id, org_id, request_id, member_id, state, invited_by, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
        args![id.get(), sub.id.get(), request, member, p.user_id, chrono::Utc::now()],
    )
    .await
    .expect("wish invitation");
    volunteer::record_report(
        db,
        &p,
        &volunteer::RawReport {
            org_id: Some(sub.id.to_string()),
            member_id: Some(member.to_string()),
            employer: Some("另一单位".into()),
            employer_org: Some("另一单位党委".into()),
            ..Default::default()
        },
    )
    .await
    .expect("report");
    redcell_store::hardship::open(
        db,
        &p,
        &redcell_store::hardship::RawCase {
            member_id: Some(member.to_string()),
            situation: Some("生活困难".into()),
            ..Default::default()
        },
    )
    .await
    .expect("case");
    redcell_store::assessment::open(
        db,
        &p,
        &redcell_store::assessment::RawOpen { org_id: Some(sub.id.to_string()), ..Default::default() },
    )
    .await
    .expect("assessment");
    let path = OrgPath::parse(&sub.path).expect("path");
    (id.get(), path)
}

/// Rows the demo does not make, on every side: guide entries, a household file.
async fn seed_extras(t: &TestApp, places: &Places) {
    let db = &t.db;
    let admins = [("admin", places.tenant), ("az-other-admin", places.foreign_tenant)];
    for (name, tenant) in admins {
        let session = redcell_store::auth::login(db, name, PASSWORD).await.expect("login");
        let (p, _) = redcell_store::auth::principal(db, &session.token).await.expect("principal");
        for side in SIDES {
            let (st, path) = places.of(side);
            if st != tenant {
                continue;
            }
            let (org,): (i64,) = db
                .one(
                    "SELECT id FROM orgs WHERE tenant_id = $1 AND path LIKE $2 AND parent_id IS NOT NULL ORDER BY path LIMIT 1",
                    args![st, path.like_pattern()],
                )
                .await
                .expect("org of side");
            let entry = redcell_domain::guide::RawGuideEntry {
                org_id: Some(org.to_string()),
                name: Some(format!("授权测试指南{org}")),
                class: Some("immediate".into()),
                place: Some("窗口".into()),
                ..Default::default()
            };
            redcell_store::guide::create(db, &p, entry.validate().expect("guide")).await.expect("guide entry");
            // An account of the side, for the account routes to act on.
            let (code,): (String,) = db.one("SELECT code FROM orgs WHERE id = $1", args![org]).await.expect("code");
            redcell_store::auth::add_user(db, &format!("staff-{org}"), "授权测试员", PASSWORD, Role::Secretary, &code)
                .await
                .expect("account of side");
            let (hh,): (i64,) = db
                .one(
                    "SELECT h.id FROM households h JOIN orgs o ON o.tenant_id = h.tenant_id AND o.id = h.org_id \
                     WHERE h.tenant_id = $1 AND o.path LIKE $2 ORDER BY h.id LIMIT 1",
                    args![st, path.like_pattern()],
                )
                .await
                .expect("household of side");
            redcell_store::files::upload(
                db,
                &p,
                redcell_store::files::Owner::Household(redcell_domain::HouseholdId::new(hh)),
                "scan.png",
                PNG,
            )
            .await
            .expect("file");
            seed_coverage_and_duties(db, &p, st, path).await;
            // An outflow card of the side (on a member without one open).
            let (member,): (i64,) = db
                .one(
                    "SELECT m.id FROM members m JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                     WHERE m.tenant_id = $1 AND o.path LIKE $2 AND NOT EXISTS (SELECT 1 FROM mobility_cards c \
                     WHERE c.tenant_id = m.tenant_id AND c.member_id = m.id) ORDER BY m.id LIMIT 1",
                    args![st, path.like_pattern()],
                )
                .await
                .expect("member of side");
            let card = redcell_store::mobility::RawCard {
                direction: Some("out".into()),
                member_id: Some(member.to_string()),
                card_no: Some(format!("AZ-LC-{org}")),
                place: Some("外地".into()),
                reason: Some("务工".into()),
                channel: Some("电话".into()),
                ..Default::default()
            };
            let card = redcell_store::mobility::record(db, &p, &card).await.expect("mobility card");
            // Away and silent for 200 days: a proposal to stop membership waits for the branch.
            db.exec(
                "UPDATE mobility_cards SET started_on = $1 WHERE id = $2",
                args![chrono::Utc::now().date_naive() - chrono::Duration::days(200), card.id],
            )
            .await
            .expect("card dated");
            let proposal = redcell_store::mobility::RawProposal {
                kind: Some("stop".into()),
                reason: Some("多次联系未果".into()),
            };
            redcell_store::mobility::propose(db, &p, redcell_domain::mobility::CardId::new(card.id), &proposal)
                .await
                .expect("proposal");
            // A transfer of the side, out of the deployment (no other side's name on it).
            let transfer = redcell_store::transfers::RawTransfer {
                member_id: Some(member.to_string()),
                to_org_code: None,
                to_outside: Some("外地某单位党委".into()),
                reason: Some("工作调动".into()),
            };
            redcell_store::transfers::start(db, &p, &transfer).await.expect("transfer");
            // A commendation round held at the side's organisation, a member nominated, a warning case.
            let round = redcell_store::assessment::commend::open_round(
                db,
                &p,
                &redcell_store::assessment::commend::RawRound {
                    org_id: Some(org.to_string()),
                    kind: Some("volunteer".into()),
                    nominate_until: Some((chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string()),
                    ..Default::default()
                },
            )
            .await
            .expect("round");
            redcell_store::assessment::commend::nominate(
                db,
                &p,
                redcell_domain::assessment::incentives::RoundId::new(round.id),
                &redcell_store::assessment::commend::RawNomination {
                    member_id: Some(member.to_string()),
                    reasons: Some("授权测试".into()),
                },
            )
            .await
            .expect("nomination");
            redcell_store::assessment::warnings::propose(
                db,
                &p,
                &redcell_store::assessment::warnings::RawProposal {
                    member_id: Some(member.to_string()),
                    note: Some("授权测试".into()),
                },
            )
            .await
            .expect("warning");
        }
    }
}

/// The first `column` of `table` (alias `x`, owned by `x.org_id`) inside `path`.
async fn first_in(db: &Db, table: &str, column: &str, tenant: i64, path: &OrgPath) -> i64 {
    let sql = format!(
        "SELECT x.{column} FROM {table} x JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.org_id \
         WHERE x.tenant_id = $1 AND o.path LIKE $2 ORDER BY x.id LIMIT 1"
    );
    let (v,): (i64,) =
        db.one(&sql, args![tenant, path.like_pattern()]).await.unwrap_or_else(|e| panic!("{table}: {e:?}"));
    v
}

/// Coverage and duties rows on a side: a contact, an exemption, a proposed
/// plan, a post, a meeting, an activity and an import batch.
async fn seed_coverage_and_duties(db: &Db, p: &redcell_store::Principal, tenant: i64, path: &OrgPath) {
    use redcell_domain::coverage::{RawContact, RawExemption, RawPost};
    use redcell_store::coverage::{contacts, exemptions, plan, posts};
    use redcell_store::duties::records;
    let today = redcell_domain::calendar::shanghai_today();
    let iso = Some(today.format("%Y-%m-%d").to_string());
    let member = first_in(db, "members", "id", tenant, path).await;
    let household = first_in(db, "households", "id", tenant, path).await;
    let grid = first_in(db, "grids", "id", tenant, path).await;
    let branch = first_in(db, "members", "org_id", tenant, path).await;
    let contact = RawContact {
        level: Some("member_household".into()),
        from_id: Some(member.to_string()),
        to_id: Some(household.to_string()),
        reason: Some("授权测试".into()),
        ..Default::default()
    };
    // The demo may already hold this pair: either way one contact exists.
    let _ = contacts::start(db, p, contact.validate(today).expect("contact")).await;
    let ex = RawExemption { member_id: Some(member.to_string()), reason: Some("old_frail".into()), note: None };
    let _ = exemptions::request(db, p, ex.validate().expect("exemption")).await;
    plan::propose(db, p, branch, 1).await.expect("plan");
    let post = RawPost {
        name: Some(format!("授权测试岗{tenant}{}", path.as_str().len())),
        member_id: Some(member.to_string()),
        grid_id: Some(grid.to_string()),
        ..Default::default()
    };
    posts::create(db, p, post.validate(today).expect("post")).await.expect("post");
    let meeting = records::RawMeeting {
        org_id: Some(branch.to_string()),
        kind: Some("general_meeting".into()),
        held_on: iso.clone(),
        topic: Some("授权测试会议".into()),
        ..Default::default()
    };
    records::record_meeting(db, p, &meeting, today).await.expect("meeting");
    let activity = records::RawActivity {
        org_id: Some(branch.to_string()),
        kind: Some("service".into()),
        held_on: iso,
        title: Some("授权测试活动".into()),
        ..Default::default()
    };
    records::record_activity(db, p, &activity, today).await.expect("activity");
    db.exec(
        "INSERT INTO import_batches (tenant_id, org_id, user_id, at, kind, file_name, rows_total, created_count, \
         changed_count, unchanged_count, created_json, changed_json) VALUES ($1, $2, $3, $4, 'households', 'az.csv', 0, 0, 0, 0, '{}', '{}')",
        args![tenant, branch, p.user_id, chrono::Utc::now()],
    )
    .await
    .expect("batch");
}

async fn sign_in(t: &TestApp, username: &str, role: Role, org_code: &str) -> Caller {
    let db = &t.db;
    redcell_store::auth::add_user(db, username, username, PASSWORD, role, org_code).await.expect("add user");
    let session = redcell_store::auth::login(db, username, PASSWORD).await.expect("login");
    let (principal, csrf) = redcell_store::auth::principal(db, &session.token).await.expect("principal");
    Caller { label: format!("{username}({})", role.code()), token: session.token, csrf, principal }
}

/// Is the answer a refusal (nothing done, nothing shown)?
fn refused(status: u16) -> bool {
    matches!(status, 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422)
}

#[allow(clippy::too_many_arguments)]
async fn check(
    t: &TestApp,
    route: &RouteInfo,
    c: &Caller,
    side: Option<Side>,
    objects: &Objects,
    markers: &[String],
    places: &Places,
    forms: &Forms,
    report: &mut Report,
) {
    let uri = match side {
        Some(s) if has_any_params(route) => match fill(route, objects, s) {
            Ok(u) => u,
            Err(e) => {
                report.failures.push(e);
                return;
            }
        },
        None if has_any_params(route) => match fill(route, objects, Side::Mine) {
            Ok(u) => u,
            Err(e) => {
                report.failures.push(e);
                return;
            }
        },
        _ => route.path.clone(),
    };
    let body_side = side.unwrap_or(Side::Mine);
    let admitted = route.access.admits(&c.principal);
    // Should the call be refused? Without the capability, always; with it,
    // when it names something outside the caller's grants.
    let covers_b = c.principal.grants.iter().any(|g| g.path.contains(&places.b));
    let in_scope = match side {
        None | Some(Side::Mine) => true,
        Some(Side::Theirs) => covers_b,
        Some(Side::Foreign) => false,
    };
    let must_refuse = route.access != Access::Public && (!admitted || !in_scope);
    let before = if route.is_write() && must_refuse { Some(forms.fingerprint.take(&t.db).await) } else { None };
    let resp = call(t, route, c, &uri, objects, body_side, forms).await;
    report.calls += 1;
    let what = format!("{} {} as {} ({:?})", route.method, uri, c.label, side);
    let status = resp.code();
    if status >= 500 {
        report.failures.push(format!("{what}: server error {status}: {}", snippet(&resp.body)));
        return;
    }
    if must_refuse {
        report.refusals += 1;
        // A page form may answer a refused write by going back to its page
        // with the reason shown (a redirect): what counts is that nothing
        // changed, checked below.
        let back = route.is_write() && route.front == Front::Page && resp.status.is_redirection();
        if !refused(status) && !is_login_redirect(&resp) && !back {
            report.failures.push(format!("{what}: expected a refusal, got {status}: {}", snippet(&resp.body)));
        }
        if let Some(before) = before {
            let after = forms.fingerprint.take(&t.db).await;
            if after != before {
                let changed: Vec<&String> = after.keys().filter(|k| after.get(*k) != before.get(*k)).collect();
                report.failures.push(format!("{what}: a refused write changed {changed:?}"));
            }
        }
    }
    let reveal = reveals_personal_data(&route.path);
    if (!reveal || must_refuse)
        && let Some(clear) = clear_personal_data(&resp.body)
    {
        report.failures.push(format!("{what}: the answer carries the clear value {clear}"));
    }
    let sees_b = c
        .principal
        .grants
        .iter()
        .any(|g| g.path.contains(&places.b) && g.role.can(redcell_domain::Capability::ReadRegistry));
    if route.access != Access::Public
        && !sees_b
        && let Some(m) = markers.iter().find(|m| resp.body.contains(m.as_str()))
    {
        report.failures.push(format!("{what}: the answer shows {m:?} of the other community"));
    }
}

fn is_login_redirect(r: &Resp) -> bool {
    r.status.is_redirection() && r.location().starts_with("/login")
}

fn snippet(s: &str) -> String {
    s.chars().take(300).collect()
}

async fn call(
    t: &TestApp,
    route: &RouteInfo,
    c: &Caller,
    uri: &str,
    objects: &Objects,
    side: Side,
    forms: &Forms,
) -> Resp {
    match route.front {
        Front::Api => {
            let body = if route.is_write() { api_body(route, objects, side).filter(|b| !b.is_null()) } else { None };
            t.api(route.method.clone(), uri, Some(&c.token), body.as_ref()).await
        }
        Front::Page => {
            let cookie = format!("rc_session={}", c.token);
            if route.method == Method::GET {
                return t.send(Method::GET, uri, &[("cookie", &cookie)], vec![]).await;
            }
            let mut pairs = forms.of(t, route, uri, objects, side).await;
            pairs.retain(|(k, _)| k != "_csrf");
            pairs.insert(0, ("_csrf".into(), c.csrf.clone()));
            if route.upload_limit.is_some() {
                let mut form = Multipart::new();
                for (k, v) in &pairs {
                    form = form.text(k, v);
                }
                return t.post_multipart(uri, &c.token, form.file("file", "a.png", "image/png", PNG)).await;
            }
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            t.form(uri, Some(&cookie), &refs).await
        }
    }
}

/// The values page forms submit: each form as the street's admin sees it on
/// the page that shows it (the same path, or the page `form_page` names), so
/// that the body is valid and only the caller's right decides. Read once per
/// address.
struct Forms {
    fingerprint: Fingerprint,
    cookie: String,
    seen: std::sync::Mutex<BTreeMap<String, Vec<(String, String)>>>,
}

impl Forms {
    async fn new(t: &TestApp) -> Forms {
        let admin = redcell_store::auth::login(&t.db, "admin", PASSWORD).await.expect("admin login");
        Forms {
            fingerprint: Fingerprint::new(&t.db).await,
            cookie: format!("rc_session={}", admin.token),
            seen: Default::default(),
        }
    }

    async fn of(
        &self,
        t: &TestApp,
        route: &RouteInfo,
        uri: &str,
        objects: &Objects,
        side: Side,
    ) -> Vec<(String, String)> {
        let source = form_page(route, uri, objects, side);
        if let Some(v) = self.seen.lock().expect("forms").get(&source) {
            return v.clone();
        }
        let page = t.send(Method::GET, &source, &[("cookie", &self.cookie)], vec![]).await;
        let v = if page.code() == 200 && page.body.contains(&format!("action=\"{uri}\"")) {
            form_values(&page.body, uri)
        } else {
            Vec::new()
        };
        self.seen.lock().expect("forms").insert(source, v.clone());
        v
    }
}

/// The page that shows the form posting to `uri` (for a "new" form, opened
/// from the object it hangs under, on the same side as the call).
fn form_page(route: &RouteInfo, uri: &str, objects: &Objects, side: Side) -> String {
    let p = route.path.as_str();
    let context = match p {
        "/orgs/new" => Some(("parent", Kind::Org)),
        "/grids/new" => Some(("org", Kind::Org)),
        "/buildings/new" | "/units/new" => Some(("grid", Kind::Grid)),
        "/households/new" => Some(("building", Kind::Building)),
        "/residents/new" => Some(("household", Kind::Household)),
        "/members/new" => Some(("resident", Kind::Resident)),
        "/cadres/new" => Some(("org", Kind::Org)),
        _ => None,
    };
    if let Some((key, kind)) = context {
        return format!("{uri}?{key}={}", objects.get_or_zero(kind, side));
    }
    if let Some(base) = uri.strip_suffix("/delete") {
        return format!("{base}/edit");
    }
    if p.ends_with("/reveal") || p.ends_with("/files") || p.ends_with("/contact") {
        return uri.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or_default();
    }
    if p.starts_with("/my/") {
        return "/my".to_string();
    }
    uri.to_string()
}
