//! The contact workbook (包挂联系花名册 — "rosters" in this code base means the
//! roster files people import) of an organisation on a date: members → households, 中心户 → members and key
//! residents, cadres → branches and members, and the committee levels.
//! Phones are masked. Exporting needs `Capability::Export` and is audited.

use super::OrgRef;
use super::contacts::{Contact, FROM, RosterFilter, roster_where, select};
use crate::audit;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use chrono::NaiveDate;
use redcell_domain::coverage::ContactLevel;

/// One sheet: its name, column headers and rows of text (the first column is
/// the running number).
#[derive(Debug, Clone)]
pub struct RosterSheet {
    pub name: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// The rosters in force on `date` in an organisation's subtree.
pub async fn contact_sheets(
    db: &Db,
    p: &Principal,
    org_id: i64,
    date: NaiveDate,
) -> Result<(OrgRef, Vec<RosterSheet>), StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::Export).await?;
    let f = RosterFilter { org_id: Some(org_id), date: Some(date), ..Default::default() };
    let (w, a) = roster_where(db, p, &f, Capability::Export).await?;
    let all: Vec<Contact> = db
        .all(
            &format!(
                "{} FROM {FROM} WHERE {w} ORDER BY c.level, from_org, from_name, c.from_id, to_name, c.id",
                select()
            ),
            a,
        )
        .await?;
    use ContactLevel::*;
    let phone = |c: &Contact| c.from_phone.as_ref().map(|p| p.masked()).unwrap_or_default();
    let mut sheets = vec![
        RosterSheet {
            name: "党员联系户",
            headers: vec!["序号", "党员", "所在支部", "联系电话（脱敏）", "联系户", "住址", "起始日期"],
            rows: vec![],
        },
        RosterSheet {
            name: "中心户联系党员和重点群众",
            headers: vec![
                "序号",
                "党员中心户",
                "所在支部",
                "联系电话（脱敏）",
                "联系类别",
                "联系对象",
                "对象所在支部/住址",
                "起始日期",
            ],
            rows: vec![],
        },
        RosterSheet {
            name: "干部联系支部和党员",
            headers: vec!["序号", "干部", "职务", "联系电话（脱敏）", "联系类别", "联系对象", "说明", "起始日期"],
            rows: vec![],
        },
        RosterSheet {
            name: "党小组长和委员联系",
            headers: vec!["序号", "联系人", "所在组织", "联系电话（脱敏）", "联系类别", "联系对象", "起始日期"],
            rows: vec![],
        },
    ];
    for c in &all {
        let (sheet, row) = match c.level.0 {
            MemberHousehold => (
                0,
                vec![
                    c.from_name.clone(),
                    c.from_org.clone().unwrap_or_default(),
                    phone(c),
                    c.to_name.clone(),
                    c.to_detail.clone().unwrap_or_default(),
                    c.since.to_string(),
                ],
            ),
            CentralMember | CentralKeyResident => (
                1,
                vec![
                    c.from_name.clone(),
                    c.from_org.clone().unwrap_or_default(),
                    phone(c),
                    c.level.0.label().to_string(),
                    c.to_name.clone(),
                    c.to_detail.clone().unwrap_or_default(),
                    c.since.to_string(),
                ],
            ),
            CadreBranch | CadreMember | LeaderCommunity => (
                2,
                vec![
                    c.from_name.clone(),
                    c.from_org.clone().unwrap_or_default(),
                    phone(c),
                    c.level.0.label().to_string(),
                    c.to_name.clone(),
                    c.to_detail.clone().unwrap_or_default(),
                    c.since.to_string(),
                ],
            ),
            GroupLeaderCentral | BranchCommitteeGroup | GeneralCommitteeBranch => (
                3,
                vec![
                    c.from_name.clone(),
                    c.from_org.clone().unwrap_or_default(),
                    phone(c),
                    c.level.0.label().to_string(),
                    c.to_name.clone(),
                    c.since.to_string(),
                ],
            ),
        };
        let s = &mut sheets[sheet];
        let mut r = vec![(s.rows.len() + 1).to_string()];
        r.extend(row);
        s.rows.push(r);
    }
    audit::access(
        db,
        org.tenant_id,
        audit::Actor::of(p),
        "export",
        "contacts",
        Some(org.id),
        &format!("包挂联系花名册：{}，{date}，{} 条", org.name, all.len()),
    )
    .await?;
    Ok((org, sheets))
}
