//! Party-member demonstration posts (党员示范岗): a post held by a member in
//! a grid, optionally at a unit (shop, facility, enterprise), with dates. A
//! 党小组长 looks after posts at the level "党小组长联系中心户/示范岗"; a post
//! without one is a gap in the coverage report. Ending a post ends the
//! contacts to it in the same transaction. Members' party roles (党小组长,
//! 支部委员, 总支委员) are set here too: holding one makes the report judge
//! the member against that level's quota.

use super::{not_found, today};
use crate::audit;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, catalogue, opt};
use crate::registry::{Page, Paged, paged};
use crate::scope::{Capability, Principal};
use crate::{Code, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::coverage::{EndContact, NewPost, PartyRole};
use redcell_domain::export::{Column, ColumnKind};
use redcell_domain::ids::*;
use redcell_domain::{FieldError, i18n};
use serde::{Deserialize, Serialize};

/// One demonstration post with the names around it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Post {
    pub id: i64,
    pub tenant_id: i64,
    pub org_id: i64,
    pub grid_id: i64,
    pub grid_name: String,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub member_id: i64,
    /// The member holding the post (empty when no longer registered).
    pub member_name: String,
    pub name: String,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
    pub note: Option<String>,
    pub end_reason: Option<String>,
    /// The 党小组长 looking after the post now, if any.
    pub leader_id: Option<i64>,
    pub leader_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Post {
    pub fn active(&self) -> bool {
        self.until.is_none()
    }
}

pub(crate) const SELECT: &str = "SELECT dp.id, dp.tenant_id, dp.org_id, dp.grid_id, g.name AS grid_name, dp.unit_id, un.name AS unit_name, \
    dp.member_id, COALESCE(r.name, '') AS member_name, dp.name, dp.since, dp.until, dp.note, dp.end_reason, \
    lc.from_id AS leader_id, lr.name AS leader_name, dp.created_at";

const FROM: &str = "demo_posts dp JOIN grids g ON g.tenant_id = dp.tenant_id AND g.id = dp.grid_id \
    LEFT JOIN units un ON un.tenant_id = dp.tenant_id AND un.id = dp.unit_id \
    LEFT JOIN members m ON m.tenant_id = dp.tenant_id AND m.id = dp.member_id \
    LEFT JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    LEFT JOIN contacts lc ON lc.tenant_id = dp.tenant_id AND lc.level = 'group_leader_central' AND lc.to_kind = 'post' \
        AND lc.to_id = dp.id AND lc.until IS NULL \
    LEFT JOIN members lm ON lm.tenant_id = lc.tenant_id AND lm.id = lc.from_id \
    LEFT JOIN residents lr ON lr.tenant_id = lm.tenant_id AND lr.id = lm.resident_id";

/// Which posts a list shows.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostFilter {
    /// Posts of this organisation's subtree (default: the caller's highest organisation).
    pub org_id: Option<i64>,
    /// Posts in this grid.
    pub grid_id: Option<i64>,
    /// Posts held by this member.
    pub member_id: Option<i64>,
    /// Ended posts too.
    pub all: Option<bool>,
}

pub async fn list(db: &Db, p: &Principal, f: &PostFilter, page: Page) -> Result<Paged<Post>, StoreError> {
    let (from_where, a) = filtered(db, p, f).await?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// The order of the list: by grid, then name.
pub(crate) const ORDER: &str = "dp.grid_id, dp.name, dp.id";

/// The `FROM ... WHERE ...` of the list (the caller's read scope, the
/// organisation's subtree and the filters) and its arguments: the list and
/// its export share it.
pub(crate) async fn filtered(db: &Db, p: &Principal, f: &PostFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("dp", &mut a)];
    if f.grid_id.is_none() && f.member_id.is_none() {
        let org = super::OrgRef::for_cap(&mut db.conn(), p, super::org_or_home(p, f.org_id)?, Capability::ReadRegistry)
            .await?;
        w.push(org.under("dp", &mut a));
    }
    if let Some(g) = f.grid_id {
        w.push(format!("dp.grid_id = {}", a.push(g)));
    }
    if let Some(m) = f.member_id {
        w.push(format!("dp.member_id = {}", a.push(m)));
    }
    if f.all != Some(true) {
        w.push("dp.until IS NULL".into());
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Post, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("dp", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE dp.id = $1 AND {c}"), a).await
}

fn wrong(field: &str, code: &'static str, msg: impl Into<String>) -> StoreError {
    FieldError::new(field, code, msg).into()
}

/// Set up a post: its place (a unit or a grid) must be in the caller's edit
/// scope, its member visible to them in the same tenant. Audited.
pub async fn create(db: &Db, p: &Principal, n: NewPost) -> Result<Post, StoreError> {
    let mut tx = db.begin().await?;
    let (tenant, grid_id) = match (n.unit_id, n.grid_id) {
        (Some(u), g) => {
            let o = p.access(Capability::EditRegistry)?.reference(&mut tx, UnitId::new(u), "unit_id").await?;
            let (ug,): (i64,) =
                tx.one("SELECT grid_id FROM units WHERE tenant_id = $1 AND id = $2", args![o.tenant_id, u]).await?;
            if g.is_some_and(|g| g != ug) {
                return Err(wrong("unit_id", "grid", i18n::POST_UNIT_GRID));
            }
            (o.tenant_id, ug)
        }
        (None, Some(g)) => {
            let o = p.access(Capability::EditRegistry)?.reference(&mut tx, GridId::new(g), "grid_id").await?;
            (o.tenant_id, g)
        }
        (None, None) => return Err(wrong("grid_id", "required", i18n::POST_PLACE)),
    };
    let (grid_org,): (i64,) =
        tx.one("SELECT org_id FROM grids WHERE tenant_id = $1 AND id = $2", args![tenant, grid_id]).await?;
    let mut a = args![n.member_id, tenant];
    let c = p.scope(Capability::ReadRegistry).rows("m", &mut a);
    let seen: Option<(i64,)> =
        tx.opt(&format!("SELECT m.id FROM members m WHERE m.id = $1 AND m.tenant_id = $2 AND {c}"), a).await?;
    if seen.is_none() {
        return Err(not_found("member_id"));
    }
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO demo_posts (tenant_id, org_id, grid_id, unit_id, member_id, name, since, note, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            args![tenant, grid_org, grid_id, n.unit_id, n.member_id, n.name.clone(), n.since, n.note.clone(), p.user_id, now],
        )
        .await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Create, "demo_post", "demo_posts", tenant, id, None)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// End a post (once) and, in the same transaction, the contacts to it. Audited.
pub async fn end(db: &Db, p: &Principal, id: i64, e: EndContact) -> Result<Post, StoreError> {
    let mut tx = db.begin().await?;
    let owner = p.access(Capability::EditRegistry)?.target(&mut tx, PostId::new(id)).await?;
    let (since, until): (NaiveDate, Option<NaiveDate>) = tx
        .one("SELECT since, until FROM demo_posts WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id])
        .await?;
    if until.is_some() {
        return Err(wrong("until", "ended", i18n::POST_ENDED));
    }
    if e.until < since {
        return Err(wrong("until", "range", format!("{}（开始于 {since}）", i18n::CONTACT_UNTIL_BEFORE_SINCE)));
    }
    let before = audit::snapshot(&mut tx, "demo_posts", owner.tenant_id, id).await?;
    tx.exec(
        "UPDATE demo_posts SET until = $1, end_reason = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5",
        args![e.until, e.reason.clone(), Utc::now(), owner.tenant_id, id],
    )
    .await?;
    super::contacts::end_all_for(&mut tx, owner.tenant_id, "post", id, p.user_id, &e.reason).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "demo_post",
        "demo_posts",
        owner.tenant_id,
        id,
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// A member's party role and the posts they hold (for the member page).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberDuties {
    pub member_id: i64,
    /// `group_leader`, `branch_committee`, `general_committee` or none.
    #[schema(value_type = Option<String>)]
    pub party_role: Option<Code<PartyRole>>,
    pub posts: Vec<Post>,
}

impl MemberDuties {
    pub fn role_label(&self) -> &'static str {
        self.party_role.as_ref().map(|r| r.0.label()).unwrap_or("")
    }
    pub fn role_code(&self) -> &'static str {
        self.party_role.as_ref().map(|r| r.0.code()).unwrap_or("")
    }
}

pub async fn member_duties(db: &Db, p: &Principal, member_id: i64) -> Result<MemberDuties, StoreError> {
    let mut a = args![member_id];
    let c = p.scope(Capability::ReadRegistry).rows("m", &mut a);
    let (party_role,): (Option<Code<PartyRole>>,) =
        db.one(&format!("SELECT m.party_role FROM members m WHERE m.id = $1 AND {c}"), a).await?;
    let f = PostFilter { member_id: Some(member_id), ..Default::default() };
    let posts = list(db, p, &f, Page::first(Page::MAX)).await?.items;
    Ok(MemberDuties { member_id, party_role, posts })
}

/// Record (or clear) a member's party role; audited.
pub async fn set_party_role(
    db: &Db,
    p: &Principal,
    member_id: i64,
    role: Option<PartyRole>,
) -> Result<MemberDuties, StoreError> {
    let mut tx = db.begin().await?;
    let owner = p.access(Capability::EditRegistry)?.target(&mut tx, MemberId::new(member_id)).await?;
    let before = audit::snapshot(&mut tx, "members", owner.tenant_id, member_id).await?;
    tx.exec(
        "UPDATE members SET party_role = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
        args![role.map(|r| r.code().to_string()), Utc::now(), owner.tenant_id, member_id],
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "member",
        "members",
        owner.tenant_id,
        member_id,
        before,
    )
    .await?;
    tx.commit().await?;
    member_duties(db, p, member_id).await
}

/// Seed party roles, leaders' branches and a few posts into the demo
/// district, leaving some gaps on purpose: some 党小组长 with no or too few
/// 中心户/示范岗, some posts without a 党小组长, some leaders short of branches.
pub(crate) async fn seed_demo(db: &Db, tenant: i64, tree: &super::Tree) -> Result<(), StoreError> {
    let now = Utc::now();
    let day = today();
    let mut tx = db.begin().await?;
    let link = |level: &'static str, from_kind: &'static str, from: i64, to_kind: &'static str, to: i64, org: i64| {
        (level, from_kind, from, to_kind, to, org)
    };
    let mut links = Vec::new();
    // In each branch with members: the first plain member leads the party group, the second sits on the committee.
    let branches: Vec<&super::OrgRef> = tree.orgs.iter().filter(|o| o.kind.is_branch()).collect();
    let mut bi = 0usize;
    for b in branches {
        let people: Vec<(i64, bool)> = tx
            .all(
                "SELECT m.id, m.central_household FROM members m WHERE m.tenant_id = $1 AND m.org_id = $2 \
                 AND m.id NOT IN (SELECT ex.member_id FROM exemptions ex WHERE ex.tenant_id = $1 AND ex.status = 'exempt') \
                 ORDER BY m.id LIMIT 60",
                args![tenant, b.id],
            )
            .await?;
        let plain: Vec<i64> = people.iter().filter(|(_, c)| !c).map(|(id, _)| *id).collect();
        let central: Vec<i64> = people.iter().filter(|(_, c)| *c).map(|(id, _)| *id).collect();
        let Some(&leader) = plain.first() else { continue };
        bi += 1;
        tx.exec(
            "UPDATE members SET party_role = 'group_leader' WHERE tenant_id = $1 AND id = $2",
            args![tenant, leader],
        )
        .await?;
        if let Some(&committee) = plain.get(1) {
            tx.exec(
                "UPDATE members SET party_role = 'branch_committee' WHERE tenant_id = $1 AND id = $2",
                args![tenant, committee],
            )
            .await?;
        }
        // One leader in three looks after nobody yet; the others after up to three 中心户.
        if !bi.is_multiple_of(3) {
            for c in central.iter().take(3) {
                links.push(link("group_leader_central", "member", leader, "member", *c, b.id));
            }
        }
        // A post in every other branch's first grid (at most 40), at a unit there if any.
        if bi % 2 == 1 && bi < 80 {
            let place: Option<(i64, Option<i64>)> = tx
                .opt(
                    "SELECT g.id, (SELECT MIN(u.id) FROM units u WHERE u.tenant_id = g.tenant_id AND u.grid_id = g.id) \
                     FROM grids g WHERE g.tenant_id = $1 AND g.org_id = $2 ORDER BY g.id LIMIT 1",
                    args![tenant, b.id],
                )
                .await?;
            let holder = central.first().or(plain.get(2)).copied();
            if let (Some((grid, unit)), Some(holder)) = (place, holder) {
                let names = ["便民服务示范岗", "文明经营示范岗", "志愿服务示范岗", "邻里互助示范岗"];
                let post = tx
                    .int(
                        "INSERT INTO demo_posts (tenant_id, org_id, grid_id, unit_id, member_id, name, since, note, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, '演示数据', $8, $8) RETURNING id",
                        args![tenant, b.id, grid, unit, holder, names[(bi / 2) % names.len()], day, now],
                    )
                    .await?;
                // Every other post has its group leader; the rest are gaps.
                if (bi / 2).is_multiple_of(2) {
                    links.push(link("group_leader_central", "member", leader, "post", post, b.id));
                }
            }
        }
    }
    // Leaders with a community: the first of them also look after about ten branches of it.
    let leaders: Vec<(i64, i64)> = tx
        .all(
            "SELECT c.from_id, c.to_id FROM contacts c WHERE c.tenant_id = $1 AND c.level = 'leader_community' \
             AND c.until IS NULL ORDER BY c.from_id",
            args![tenant],
        )
        .await?;
    for (i, (leader, community)) in leaders.iter().enumerate() {
        if i % 2 == 1 {
            continue;
        }
        let Some(com) = tree.get(*community) else { continue };
        for b in tree.subtree(&com.path).filter(|o| o.kind.is_branch()).take(10) {
            links.push(link("cadre_branch", "cadre", *leader, "org", b.id, b.id));
        }
    }
    for (level, fk, from, tk, to, org) in links {
        tx.exec(
            "INSERT INTO contacts (tenant_id, level, from_kind, from_id, to_kind, to_id, org_id, since, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '演示数据', $9)",
            args![tenant, level, fk, from, tk, to, org, day, now],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The demonstration posts as a file (导出).
pub struct PostList;

impl Exportable for PostList {
    const CODE: &'static str = "posts";
    const LABEL: &'static str = "党员示范岗";
    const TAG: &'static str = "coverage";
    type Filter = PostFilter;
    type Row = Post;
    fn columns(m: Mask) -> Vec<Column> {
        use ColumnKind::{Date, Text};
        catalogue(i18n::EXPORT_POSTS, [Text, Text, Text, Text, Text, Date, Date, Text, Text], m)
    }
    async fn query(db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(db, q, f).await?, SELECT, ORDER))
    }
    fn cells(x: &Post, _m: Mask) -> Vec<String> {
        vec![
            x.name.clone(),
            x.member_name.clone(),
            x.grid_name.clone(),
            opt(&x.unit_name),
            opt(&x.leader_name),
            x.since.to_string(),
            opt(&x.until),
            opt(&x.note),
            opt(&x.end_reason),
        ]
    }
}
