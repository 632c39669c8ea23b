//! Today's work of a party member (我联系的住户): the member record the
//! account stands for, the households they look after with who lives there
//! (masked), when anyone last called and when they did, the members and key
//! residents a 中心户 looks after, and revealing the phone of a household
//! they look after (audited). Everything starts from the member linked to the
//! account ([`crate::duties::member_of`]): nobody names a member id here, so
//! nobody can ask for another member's households.

pub mod glance;

use crate::args;
use crate::audit::{self, Actor};
use crate::db::{Conn, Db};
use crate::error::StoreError;
use crate::registry::households::ROOM_SQL as ROOM;
use crate::scope::{self, Principal};
use chrono::NaiveDate;
use redcell_domain::CodeEnum;
use redcell_domain::coverage::ContactLevel;
use redcell_domain::registry::HouseholdTags;

use serde::Serialize;

/// The member an account stands for, as they see themselves.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyRecord {
    pub member_id: i64,
    pub name: String,
    pub org_id: i64,
    pub org_name: String,
    pub central_household: bool,
    /// Where they live, in words (community, building and room).
    pub home: Option<String>,
    pub joined_on: Option<NaiveDate>,
    pub work_unit: Option<String>,
    pub skills: Option<String>,
}

/// A household the member looks after.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyHousehold {
    pub household_id: i64,
    /// Community, building, unit and room.
    pub label: String,
    pub grid_name: String,
    /// `member_household` or `central_key_resident`.
    pub level: String,
    #[schema(value_type = Vec<String>)]
    pub tags: HouseholdTags,
    /// Who lives there, masked (王**).
    pub residents: Vec<String>,
    /// Someone in the household has a phone on record.
    pub has_phone: bool,
    /// The last visit by anyone.
    pub last_visit: Option<NaiveDate>,
    /// The caller's own last visit.
    pub my_last_visit: Option<NaiveDate>,
}

impl MyHousehold {
    pub fn level_label(&self) -> &'static str {
        match ContactLevel::from_code(&self.level) {
            Some(ContactLevel::CentralKeyResident) => "重点群众",
            _ => "联系户",
        }
    }
    pub fn tag_labels(&self) -> Vec<&'static str> {
        self.tags.labels()
    }
}

/// A member a 中心户 looks after.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyMember {
    pub member_id: i64,
    /// Masked.
    pub name: String,
    pub org_name: String,
}

/// The member's page: who they are and whom they look after.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberHome {
    pub me: MyRecord,
    pub households: Vec<MyHousehold>,
    pub members: Vec<MyMember>,
}

/// A name masked as on every list: the first character, then asterisks.
pub fn mask_name(n: &str) -> String {
    crate::requests::wishes::mask_name(n)
}

/// A community's short name for an address: "幸福社区党委" reads "幸福社区".
pub fn community_short(name: &str) -> &str {
    ["党委", "党总支", "党支部", "居委会", "村委会"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
}

/// A place in words: the community, then the building and room.
pub fn place_label(community: Option<&str>, room: &str) -> String {
    match community {
        Some(c) => format!("{} {room}", community_short(c)),
        None => room.to_string(),
    }
}

/// The member's home, or `None` when the account stands for no member.
pub async fn member_home(db: &Db, p: &Principal) -> Result<Option<MemberHome>, StoreError> {
    let Some(member) = crate::duties::member_of(db, p).await? else { return Ok(None) };
    let t = p.tenant_id;
    type MeRow = (
        i64,
        String,
        i64,
        String,
        bool,
        Option<NaiveDate>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<MeRow> = db
        .opt(
            &format!(
                "SELECT m.id, r.name, m.org_id, o.name, m.central_household, m.joined_on, m.work_unit, m.skills, \
                 cm.name, CASE WHEN h.id IS NULL THEN NULL ELSE {room} END \
                 FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                 LEFT JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
                 LEFT JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
                 LEFT JOIN orgs ho ON ho.tenant_id = h.tenant_id AND ho.id = h.org_id {} \
                 WHERE m.tenant_id = $1 AND m.id = $2 ORDER BY cm.path DESC LIMIT 1",
                scope::community_join("ho"),
                room = ROOM
            ),
            args![t, member],
        )
        .await?;
    let Some((member_id, name, org_id, org_name, central, joined_on, work_unit, skills, community, home)) = row else {
        return Ok(None);
    };
    let home = home.map(|h| place_label(community.as_deref(), &h));
    let me =
        MyRecord { member_id, name, org_id, org_name, central_household: central, home, joined_on, work_unit, skills };
    let households = households_of(&mut db.conn(), t, member).await?;
    let members: Vec<(i64, String, String)> = db
        .all(
            "SELECT m.id, r.name, o.name FROM contacts c \
             JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.to_id \
             JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
             WHERE c.tenant_id = $1 AND c.level = $2 AND c.from_kind = 'member' AND c.from_id = $3 \
             AND c.until IS NULL ORDER BY m.id LIMIT 200",
            args![t, ContactLevel::CentralMember.code(), member],
        )
        .await?;
    let members = members
        .into_iter()
        .map(|(member_id, name, org_name)| MyMember { member_id, name: mask_name(&name), org_name })
        .collect();
    Ok(Some(MemberHome { me, households, members }))
}

/// The levels whose households a member looks after.
fn household_levels() -> String {
    [ContactLevel::MemberHousehold, ContactLevel::CentralKeyResident]
        .iter()
        .map(|l| format!("'{}'", l.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn households_of(c: &mut impl Conn, t: i64, member: i64) -> Result<Vec<MyHousehold>, StoreError> {
    type Row = (i64, Option<String>, String, String, String, i64, Option<NaiveDate>, Option<NaiveDate>);
    let rows: Vec<Row> = c
        .all(
            &format!(
                "SELECT h.id, cm.name, {room}, \
                 g.name, c.level, h.tags, lv.last_visited, \
                 (SELECT MAX(v.visited_on) FROM duty_visits v WHERE v.tenant_id = h.tenant_id AND v.target_kind = 'household' \
                  AND v.target_id = h.id AND v.visitor_kind = 'member' AND v.visitor_id = $3) \
                 FROM contacts c JOIN households h ON h.tenant_id = c.tenant_id AND h.id = c.to_id \
                 JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
                 JOIN grids g ON g.tenant_id = h.tenant_id AND g.id = h.grid_id \
                 JOIN orgs ho ON ho.tenant_id = h.tenant_id AND ho.id = h.org_id {} \
                 LEFT JOIN duty_last_visits lv ON lv.tenant_id = h.tenant_id AND lv.household_id = h.id \
                 WHERE c.tenant_id = $1 AND c.from_kind = 'member' AND c.from_id = $2 AND c.to_kind = 'household' \
                 AND c.level IN ({}) AND c.until IS NULL \
                 ORDER BY b.name, h.unit_no, h.room, h.id, cm.path DESC LIMIT 400",
                scope::community_join("ho"),
                household_levels(), room = ROOM
            ),
            args![t, member, member],
        )
        .await?;
    // Who lives in them, in one query (not one per household).
    let people: Vec<(i64, String, Option<String>)> = c
        .all(
            &format!(
                "SELECT r.household_id, r.name, r.phone FROM residents r JOIN contacts c ON c.tenant_id = r.tenant_id \
                 AND c.to_id = r.household_id WHERE c.tenant_id = $1 AND c.from_kind = 'member' AND c.from_id = $2 \
                 AND c.to_kind = 'household' AND c.level IN ({}) AND c.until IS NULL ORDER BY r.household_id, r.id",
                household_levels()
            ),
            args![t, member],
        )
        .await?;
    let mut by_household: std::collections::HashMap<i64, Vec<(String, Option<String>)>> =
        std::collections::HashMap::new();
    for (h, name, phone) in people {
        by_household.entry(h).or_default().push((name, phone));
    }
    let mut out: Vec<MyHousehold> = Vec::new();
    for (id, community, room, grid_name, level, tags, last, mine) in rows {
        let label = place_label(community.as_deref(), &room);
        // Nested communities give one row each: the deepest (first) wins.
        if out.last().is_some_and(|h| h.household_id == id) {
            continue;
        }
        let people: &[(String, Option<String>)] = by_household.get(&id).map(Vec::as_slice).unwrap_or_default();
        let people = &people[..people.len().min(20)];
        out.push(MyHousehold {
            household_id: id,
            label,
            grid_name,
            level,
            tags: HouseholdTags::from_bits(tags),
            has_phone: people.iter().any(|(_, ph)| ph.as_deref().is_some_and(|x| !x.is_empty())),
            residents: people.iter().map(|(n, _)| mask_name(n)).collect(),
            last_visit: last,
            my_last_visit: mine,
        });
    }
    Ok(out)
}

/// Does the member look after this household now (an active contact of
/// theirs)? The rule behind a member's own visits and calls.
pub async fn looks_after(c: &mut impl Conn, t: i64, member: i64, household: i64) -> Result<bool, StoreError> {
    let n = c
        .int(
            &format!(
                "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND from_kind = 'member' AND from_id = $2 \
                 AND to_kind = 'household' AND to_id = $3 AND level IN ({}) AND until IS NULL",
                household_levels()
            ),
            args![t, member, household],
        )
        .await?;
    Ok(n > 0)
}

/// A resident of a household with the phone in the clear.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdPhone {
    pub name: String,
    pub phone: String,
}

/// The phones of a household the caller's member looks after, to call them.
/// Anyone else's household is "not found" (and the attempt is on the trail).
/// Audited.
pub async fn reveal_household_phones(
    db: &Db,
    p: &Principal,
    household: i64,
) -> Result<Vec<HouseholdPhone>, StoreError> {
    let actor = Actor::of(p);
    let member = crate::duties::member_of(db, p).await?;
    let mine = match member {
        Some(m) => looks_after(&mut db.conn(), p.tenant_id, m, household).await?,
        None => false,
    };
    if !mine {
        audit::access(db, p.tenant_id, actor, "reveal_denied", "household", Some(household), "联系户电话").await?;
        return Err(StoreError::NotFound);
    }
    let rows: Vec<(String, String)> = db
        .all(
            "SELECT name, phone FROM residents WHERE tenant_id = $1 AND household_id = $2 \
             AND phone IS NOT NULL AND phone <> '' ORDER BY id LIMIT 20",
            args![p.tenant_id, household],
        )
        .await?;
    audit::access(db, p.tenant_id, actor, "reveal", "household", Some(household), "联系户电话").await?;
    Ok(rows.into_iter().map(|(name, phone)| HouseholdPhone { name, phone }).collect())
}

/// Someone who serves a building, as residents may see them: a member's
/// name masked, a cadre's role.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Server {
    pub name: String,
    /// 党员, 党员中心户, 驻格干部, 网格员 …
    pub role: String,
    /// The work phone they agreed to publish (grid staff only).
    pub phone: Option<String>,
}

/// Who serves a building, for the anonymous public page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BuildingServers {
    pub building_id: i64,
    pub building: String,
    pub address: String,
    pub community: Option<String>,
    pub grid: String,
    /// The organisation (branch) the grid belongs to.
    pub branch: String,
    /// Members looking after households of the building, and 中心户 living there.
    pub members: Vec<Server>,
    /// Cadres stationed with the grid's organisation.
    pub staff: Vec<Server>,
    /// Open service posts and teams of the grid's organisation and those
    /// above it: what they do and when, how many serve, with a link to the
    /// public page that shows the agreement or the team's rules.
    pub services: Vec<NearService>,
}

/// A service post or team a resident may turn to (no names: the public
/// page it links to shows who serves, masked).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NearService {
    /// `post` or `team`.
    pub kind: String,
    pub id: i64,
    pub name: String,
    pub what: String,
    pub schedule: String,
    pub org_name: String,
    /// Members holding the post or serving in the team now.
    pub serving: i64,
}

impl NearService {
    pub fn kind_label(&self) -> &'static str {
        if self.kind == "team" { "服务队" } else { "服务岗位" }
    }
    /// Its public page.
    pub fn href(&self) -> String {
        let part = if self.kind == "team" { "teams" } else { "posts" };
        format!("/service/{part}/{}/public", self.id)
    }
}

/// Who serves a building of `tenant`: its grid and branch, the members who
/// look after its households (names masked), the 中心户 living there, and
/// the cadres stationed with its branch. Nothing about who lives there.
pub async fn who_serves(db: &Db, tenant: i64, building: i64) -> Result<BuildingServers, StoreError> {
    type Row = (i64, String, String, String, i64, String, Option<String>, String);
    let row: Option<Row> = db
        .opt(
            &format!(
                "SELECT b.id, b.name, b.address, g.name, g.org_id, go.name, cm.name, go.path FROM buildings b \
                 JOIN grids g ON g.tenant_id = b.tenant_id AND g.id = b.grid_id \
                 JOIN orgs go ON go.tenant_id = g.tenant_id AND go.id = g.org_id {} \
                 WHERE b.tenant_id = $1 AND b.id = $2 ORDER BY cm.path DESC LIMIT 1",
                scope::community_join("go")
            ),
            args![tenant, building],
        )
        .await?;
    let (building_id, name, address, grid, grid_org, branch, community, grid_path) = row.ok_or(StoreError::NotFound)?;
    let people: Vec<(i64, String, bool, String)> = db
        .all(
            &format!(
                "SELECT DISTINCT m.id, r.name, m.central_household, c.level FROM contacts c \
                 JOIN households h ON h.tenant_id = c.tenant_id AND h.id = c.to_id \
                 JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.from_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE c.tenant_id = $1 AND h.building_id = $2 AND c.from_kind = 'member' AND c.to_kind = 'household' \
                 AND c.level IN ({}) AND c.until IS NULL \
                 UNION SELECT m.id, r.name, m.central_household, 'lives_here' FROM members m \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
                 WHERE m.tenant_id = $1 AND h.building_id = $2 AND m.central_household = TRUE \
                 ORDER BY 1 LIMIT 60",
                household_levels()
            ),
            args![tenant, building],
        )
        .await?;
    let mut members: Vec<(i64, Server)> = Vec::new();
    for (id, n, central, _) in people {
        if members.iter().any(|(m, _)| *m == id) {
            continue;
        }
        let role = if central { "党员中心户" } else { "联系党员" };
        members.push((id, Server { name: mask_name(&n), role: role.into(), phone: None }));
    }
    let staff: Vec<(String, String, Option<String>)> = db
        .all(
            "SELECT DISTINCT x.name, x.kind, x.public_phone FROM cadre_stations s JOIN cadres x ON x.tenant_id = s.tenant_id AND x.id = s.cadre_id \
             WHERE s.tenant_id = $1 AND s.org_id = $2 ORDER BY x.kind, x.name LIMIT 20",
            args![tenant, grid_org],
        )
        .await?;
    let staff = staff
        .into_iter()
        .map(|(n, k, phone)| Server {
            name: n,
            role: redcell_domain::CadreKind::from_code(&k).map(|k| k.label()).unwrap_or("工作人员").into(),
            phone,
        })
        .collect();
    // Posts and teams of the grid's organisation or one above it, nearest first.
    type ServiceRow = (String, i64, String, String, String, String, i64, String);
    let services: Vec<ServiceRow> = db
        .all(
            "SELECT 'post', sp.id, sp.title, sp.duty, sp.schedule, o.name, \
             (SELECT COUNT(*) FROM service_claims c WHERE c.tenant_id = sp.tenant_id AND c.post_id = sp.id \
             AND c.ended_on IS NULL), o.path FROM service_posts sp JOIN orgs o ON o.tenant_id = sp.tenant_id AND o.id = sp.org_id \
             WHERE sp.tenant_id = $1 AND sp.closed_on IS NULL AND $2 LIKE o.path || '%' \
             UNION ALL SELECT 'team', t.id, t.name, t.items, t.schedule, o.name, \
             (SELECT COUNT(*) FROM service_team_members m WHERE m.tenant_id = t.tenant_id AND m.team_id = t.id \
             AND m.left_on IS NULL), o.path FROM service_teams t JOIN orgs o ON o.tenant_id = t.tenant_id AND o.id = t.org_id \
             WHERE t.tenant_id = $1 AND t.closed_on IS NULL AND $2 LIKE o.path || '%' \
             ORDER BY 8 DESC, 1, 2 LIMIT 20",
            args![tenant, grid_path],
        )
        .await?;
    let services = services
        .into_iter()
        .map(|(kind, id, name, what, schedule, org_name, serving, _)| NearService {
            kind,
            id,
            name,
            what,
            schedule,
            org_name,
            serving,
        })
        .collect();
    Ok(BuildingServers {
        building_id,
        building: name,
        address,
        community: community.map(|c| community_short(&c).to_string()),
        grid,
        branch,
        members: members.into_iter().map(|(_, s)| s).collect(),
        staff,
        services,
    })
}

/// The first tenant there is (the public pages of a fresh install).
pub async fn first_tenant(db: &Db) -> Result<i64, StoreError> {
    let t: Option<(i64,)> =
        db.opt("SELECT tenant_id FROM orgs ORDER BY tenant_id LIMIT 1", crate::db::Args::new()).await?;
    t.map(|(t,)| t).ok_or(StoreError::NotFound)
}

/// A household named for a worker's list, with why it is there.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdLine {
    pub household_id: i64,
    pub label: String,
    pub grid_name: String,
    #[schema(value_type = Vec<String>)]
    pub tags: HouseholdTags,
    pub last_visit: Option<NaiveDate>,
}

impl HouseholdLine {
    pub fn tag_labels(&self) -> Vec<&'static str> {
        self.tags.labels()
    }
}

/// A list and how many there are in all.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Counted<T> {
    pub total: i64,
    pub items: Vec<T>,
}

/// A grid worker's day in the caller's area: key households (困难、孤寡、留守…)
/// not visited since `since` (the start of the quarter), and households no
/// member looks after. Inside the caller's read scope; at most `limit` each.
pub async fn grid_today(
    db: &Db,
    p: &Principal,
    since: NaiveDate,
    limit: i64,
) -> Result<(Counted<HouseholdLine>, Counted<HouseholdLine>), StoreError> {
    let access = p.access(crate::scope::Capability::ReadRegistry)?;
    let key = crate::duties::key_household_mask();
    type Row = (i64, Option<String>, String, String, i64, Option<NaiveDate>);
    let lines = |rows: Vec<Row>| {
        let mut out: Vec<HouseholdLine> = Vec::new();
        for (id, community, room, grid_name, tags, last) in rows {
            if out.last().is_some_and(|h| h.household_id == id) {
                continue;
            }
            out.push(HouseholdLine {
                household_id: id,
                label: place_label(community.as_deref(), &room),
                grid_name,
                tags: HouseholdTags::from_bits(tags),
                last_visit: last,
            });
        }
        out
    };
    let select = format!(
        "SELECT h.id, cm.name, {room}, g.name, h.tags, lv.last_visited \
         FROM households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
         JOIN grids g ON g.tenant_id = h.tenant_id AND g.id = h.grid_id \
         JOIN orgs ho ON ho.tenant_id = h.tenant_id AND ho.id = h.org_id {} \
         LEFT JOIN duty_last_visits lv ON lv.tenant_id = h.tenant_id AND lv.household_id = h.id",
        scope::community_join("ho"),
        room = ROOM
    );
    // Key households not visited this quarter, the longest waiting first.
    let mut a = crate::db::Args::new();
    let scope = access.scope.rows("h", &mut a);
    let k = a.push(key);
    let s = a.push(since);
    let due_where = format!(
        "(h.tags & {k}) <> 0 AND {scope} AND NOT EXISTS (SELECT 1 FROM duty_last_visits v \
         WHERE v.tenant_id = h.tenant_id AND v.household_id = h.id AND v.last_visited >= {s})"
    );
    let due_total = db.int(&format!("SELECT COUNT(*) FROM households h WHERE {due_where}"), a.clone()).await?;
    let lim = a.push(limit);
    let due = db
        .all(
            &format!(
                "{select} WHERE {due_where} ORDER BY COALESCE(lv.last_visited, '1900-01-01'), h.id, cm.path DESC LIMIT {lim}"
            ),
            a,
        )
        .await?;
    // Households no member looks after.
    let mut a = crate::db::Args::new();
    let scope = access.scope.rows("h", &mut a);
    let lvl = a.push(ContactLevel::MemberHousehold.code());
    let alone_where = format!(
        "{scope} AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.tenant_id = h.tenant_id AND c.level = {lvl} \
         AND c.to_kind = 'household' AND c.to_id = h.id AND c.until IS NULL)"
    );
    let alone_total = db.int(&format!("SELECT COUNT(*) FROM households h WHERE {alone_where}"), a.clone()).await?;
    let lim = a.push(limit);
    let alone = db
        .all(
            &format!("{select} WHERE {alone_where} ORDER BY b.name, h.unit_no, h.room, h.id, cm.path DESC LIMIT {lim}"),
            a,
        )
        .await?;
    Ok((Counted { total: due_total, items: lines(due) }, Counted { total: alone_total, items: lines(alone) }))
}
