//! Contact responsibility and full coverage (联系全覆盖, SPEC §2): the levels of
//! the contact pyramid, quota rules and their presets, and exemption from
//! contact duty with its three approvals.

use crate::code_enum;
use crate::error::{FieldError, Invalid};
use crate::i18n;
use crate::input::stringish;
use crate::registry::{HouseholdTag, HouseholdTags};
use crate::text::{Text, past_date};
use chrono::NaiveDate;
use serde::Deserialize;

/// What stands at either end of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Member,
    Cadre,
    Household,
    Org,
    /// A party-member demonstration post (示范岗).
    Post,
}

impl Party {
    /// The code stored in `contacts.from_kind` / `to_kind`.
    pub fn code(self) -> &'static str {
        match self {
            Party::Member => "member",
            Party::Cadre => "cadre",
            Party::Household => "household",
            Party::Org => "org",
            Party::Post => "post",
        }
    }
    /// The table holding rows of this kind.
    pub fn table(self) -> &'static str {
        match self {
            Party::Member => "members",
            Party::Cadre => "cadres",
            Party::Household => "households",
            Party::Org => "orgs",
            Party::Post => "demo_posts",
        }
    }
}

code_enum!(
    /// One level of the contact pyramid: who looks after whom.
    ContactLevel {
        MemberHousehold = "member_household": "党员联系户",
        CentralMember = "central_member": "中心户联系党员",
        CentralKeyResident = "central_key_resident": "中心户联系重点群众",
        GroupLeaderCentral = "group_leader_central": "党小组长联系中心户",
        BranchCommitteeGroup = "branch_committee_group": "支部委员联系党小组",
        GeneralCommitteeBranch = "general_committee_branch": "总支委员联系网格支部",
        CadreBranch = "cadre_branch": "街道干部联系支部",
        CadreMember = "cadre_member": "街道干部联系党员",
        LeaderCommunity = "leader_community": "包社领导联系社区",
    }
);

impl ContactLevel {
    /// Who is responsible.
    pub fn from(self) -> Party {
        use ContactLevel::*;
        match self {
            CadreBranch | CadreMember | LeaderCommunity => Party::Cadre,
            _ => Party::Member,
        }
    }
    /// Whom they look after.
    pub fn to(self) -> Party {
        use ContactLevel::*;
        match self {
            MemberHousehold | CentralKeyResident => Party::Household,
            CentralMember | GroupLeaderCentral | CadreMember => Party::Member,
            BranchCommitteeGroup | GeneralCommitteeBranch | CadreBranch | LeaderCommunity => Party::Org,
        }
    }
    /// Short label of the person responsible at this level.
    pub fn from_label(self) -> &'static str {
        use ContactLevel::*;
        match self {
            MemberHousehold => "党员",
            CentralMember | CentralKeyResident => "党员中心户",
            GroupLeaderCentral => "党小组长",
            BranchCommitteeGroup => "支部委员",
            GeneralCommitteeBranch => "总支委员",
            CadreBranch | CadreMember => "街道干部",
            LeaderCommunity => "包社领导",
        }
    }
    /// Short label of what is looked after, with its unit for quotas.
    pub fn to_label(self) -> &'static str {
        use ContactLevel::*;
        match self {
            MemberHousehold => "户",
            CentralMember => "名党员",
            CentralKeyResident => "户重点群众",
            GroupLeaderCentral => "户中心户",
            BranchCommitteeGroup => "个党小组",
            GeneralCommitteeBranch => "个网格支部",
            CadreBranch => "个支部",
            CadreMember => "名党员（含所联系支部的党员）",
            LeaderCommunity => "个社区",
        }
    }
    /// Column prefix in `quota_rules` (`<code>_min`, `<code>_max`).
    pub fn column(self) -> &'static str {
        self.code()
    }
    /// Is every eligible person at this level expected to carry the quota
    /// (so that having fewer than `min` is a gap)? For the other levels only
    /// those who hold at least one contact of the level are judged.
    pub fn pool_level(self) -> bool {
        matches!(self, ContactLevel::MemberHousehold | ContactLevel::CentralMember | ContactLevel::CentralKeyResident)
    }
    /// The party role whose holders carry the quota of this level (all of
    /// them are judged, with or without contacts).
    pub fn holder_role(self) -> Option<PartyRole> {
        match self {
            ContactLevel::GroupLeaderCentral => Some(PartyRole::GroupLeader),
            ContactLevel::BranchCommitteeGroup => Some(PartyRole::BranchCommittee),
            ContactLevel::GeneralCommitteeBranch => Some(PartyRole::GeneralCommittee),
            _ => None,
        }
    }
    /// Kinds the side looked after may have: the level's own, and for
    /// 党小组长 → 中心户 also a demonstration post (示范岗).
    pub fn accepts(self, to: Party) -> bool {
        to == self.to() || (self == ContactLevel::GroupLeaderCentral && to == Party::Post)
    }
}

code_enum!(
    /// A member's role in the party organisation that carries a contact quota
    /// (recorded on the member; the 中心户 flag is `central_household`).
    PartyRole {
        GroupLeader = "group_leader": "党小组长",
        BranchCommittee = "branch_committee": "支部委员",
        GeneralCommittee = "general_committee": "总支委员",
    }
);

impl PartyRole {
    /// The contact level this role's holders are judged on.
    pub fn level(self) -> ContactLevel {
        match self {
            PartyRole::GroupLeader => ContactLevel::GroupLeaderCentral,
            PartyRole::BranchCommittee => ContactLevel::BranchCommitteeGroup,
            PartyRole::GeneralCommittee => ContactLevel::GeneralCommitteeBranch,
        }
    }
}

code_enum!(
    /// Quotas that are not one contact level: a street leadership member's
    /// branches (beside their community), and households per 党员中心户 in a
    /// grid or village group.
    ExtraQuota {
        LeaderBranch = "leader_branch": "包社领导联系支部",
        HouseholdsPerCentral = "households_per_central": "每个中心户对应住户",
    }
);

impl ExtraQuota {
    pub fn from_label(self) -> &'static str {
        match self {
            ExtraQuota::LeaderBranch => "包社领导",
            ExtraQuota::HouseholdsPerCentral => "网格（村民小组）",
        }
    }
    pub fn to_label(self) -> &'static str {
        match self {
            ExtraQuota::LeaderBranch => "个支部",
            ExtraQuota::HouseholdsPerCentral => "户/中心户",
        }
    }
}

/// The household tags that make a household a "key resident" household
/// (重点群众) that a 党员中心户 looks after.
pub fn key_resident_tags() -> HouseholdTags {
    [
        HouseholdTag::KeyResident,
        HouseholdTag::Hardship,
        HouseholdTag::ElderlyAlone,
        HouseholdTag::LeftBehindChild,
        HouseholdTag::SpecialGroup,
    ]
    .into_iter()
    .fold(HouseholdTags::default(), HouseholdTags::with)
}

/// The quota of one level: at least `min`, at most `max` contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Range {
    pub min: i64,
    pub max: i64,
}

/// The largest quota accepted for any level.
pub const MAX_QUOTA: i64 = 1000;

/// A quota rule: a range per level (levels without one are not checked) and
/// whether every building needs a 党员中心户. Serialised as
/// `{"levels": {"member_household": {"min": 10, "max": 15}, ...}, "central_per_building": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaRule {
    /// (level, range), in [`ContactLevel::ALL`] order.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, Range>))]
    pub levels: Vec<(ContactLevel, Range)>,
    /// (quota, range), in [`ExtraQuota::ALL`] order.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, Range>))]
    pub extra: Vec<(ExtraQuota, Range)>,
    pub central_per_building: bool,
}

impl serde::Serialize for QuotaRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let levels: std::collections::BTreeMap<&str, Range> = self.levels.iter().map(|(l, r)| (l.code(), *r)).collect();
        let extra: std::collections::BTreeMap<&str, Range> = self.extra.iter().map(|(l, r)| (l.code(), *r)).collect();
        let mut st = s.serialize_struct("QuotaRule", 3)?;
        st.serialize_field("levels", &levels)?;
        st.serialize_field("extra", &extra)?;
        st.serialize_field("central_per_building", &self.central_per_building)?;
        st.end()
    }
}

impl QuotaRule {
    pub fn get(&self, level: ContactLevel) -> Option<Range> {
        self.levels.iter().find(|(l, _)| *l == level).map(|(_, r)| *r)
    }
    pub fn set(&mut self, level: ContactLevel, r: Option<Range>) {
        self.levels.retain(|(l, _)| *l != level);
        if let Some(r) = r {
            self.levels.push((level, r));
            self.levels.sort_by_key(|(l, _)| ContactLevel::ALL.iter().position(|x| x == l));
        }
    }
    pub fn get_extra(&self, q: ExtraQuota) -> Option<Range> {
        self.extra.iter().find(|(l, _)| *l == q).map(|(_, r)| *r)
    }
    pub fn set_extra(&mut self, q: ExtraQuota, r: Option<Range>) {
        self.extra.retain(|(l, _)| *l != q);
        if let Some(r) = r {
            self.extra.push((q, r));
            self.extra.sort_by_key(|(l, _)| ExtraQuota::ALL.iter().position(|x| x == l));
        }
    }
    /// The range `n` is judged against: a level's own, except that a street
    /// leadership member's branches follow `leader_branch` when it is set.
    pub fn range_for(&self, level: ContactLevel, leader: bool) -> Option<Range> {
        if leader
            && level == ContactLevel::CadreBranch
            && let Some(r) = self.get_extra(ExtraQuota::LeaderBranch)
        {
            return Some(r);
        }
        self.get(level)
    }
}

/// How households per 中心户 in one grid stand against the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CentralRatio {
    Within,
    /// Households but no (non-exempt) 中心户 at all.
    NoCentral,
    /// Too many households per 中心户: more 中心户 are needed.
    TooFew,
    /// Too few households per 中心户.
    TooMany,
}

/// Judge a grid's `households` against its `centrals` under `r`
/// (households per 中心户 between `r.min` and `r.max`). A grid without
/// households is within.
pub fn central_ratio(households: i64, centrals: i64, r: Range) -> CentralRatio {
    if households == 0 {
        return CentralRatio::Within;
    }
    if centrals == 0 {
        return CentralRatio::NoCentral;
    }
    if households > r.max * centrals {
        CentralRatio::TooFew
    } else if households < r.min * centrals {
        CentralRatio::TooMany
    } else {
        CentralRatio::Within
    }
}

code_enum!(
    /// The two shipped quota presets (SPEC §2).
    QuotaPreset {
        Urban = "urban": "城市街道（每名党员联系10户）",
        Rural = "rural": "农村金字塔（1–2、1–2、2–5、5–10、10–15）",
    }
);

impl QuotaPreset {
    pub fn rule(self) -> QuotaRule {
        use ContactLevel::*;
        let r = |min, max| Range { min, max };
        match self {
            QuotaPreset::Urban => QuotaRule {
                levels: vec![
                    (MemberHousehold, r(10, 10)),
                    (CentralMember, r(3, 5)),
                    (CentralKeyResident, r(5, 10)),
                    (CadreBranch, r(2, 3)),
                    (CadreMember, r(40, 60)),
                    (LeaderCommunity, r(1, 1)),
                ],
                // About ten branches beside the community.
                extra: vec![(ExtraQuota::LeaderBranch, r(8, 12))],
                central_per_building: true,
            },
            QuotaPreset::Rural => QuotaRule {
                levels: vec![
                    (MemberHousehold, r(10, 15)),
                    (CentralMember, r(5, 10)),
                    (GroupLeaderCentral, r(2, 5)),
                    (BranchCommitteeGroup, r(1, 2)),
                    (GeneralCommitteeBranch, r(1, 2)),
                ],
                // One 中心户 for every 10–15 households of a village group.
                extra: vec![(ExtraQuota::HouseholdsPerCentral, r(10, 15))],
                central_per_building: false,
            },
        }
    }
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn id_field(field: &str, v: &Option<String>) -> Result<i64, FieldError> {
    let t = s(v).trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "required", i18n::REQUIRED));
    }
    t.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| FieldError::new(field, "number", i18n::NUMBER_INVALID))
}

/// A contact to start, as typed in a form or sent to the API.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawContact {
    /// Level code, e.g. `member_household`.
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = ContactLevel, required = true))]
    pub level: Option<String>,
    /// The member or cadre responsible.
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = i64, required = true))]
    pub from_id: Option<String>,
    /// The household, member or organisation looked after.
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = i64, required = true))]
    pub to_id: Option<String>,
    /// `post` when a 党小组长 looks after a demonstration post (示范岗)
    /// rather than a 中心户; empty: the level's own kind.
    #[serde(default, deserialize_with = "stringish")]
    pub to_kind: Option<String>,
    /// From this date (`YYYY-MM-DD`, default today).
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<NaiveDate>))]
    pub since: Option<String>,
    /// Why (optional).
    #[serde(default, deserialize_with = "stringish")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub level: ContactLevel,
    pub from_id: i64,
    pub to_id: i64,
    /// The kind of the side looked after (the level's own, or a post).
    pub to_kind: Party,
    pub since: NaiveDate,
    pub reason: Option<String>,
}

impl RawContact {
    pub fn validate(&self, today: NaiveDate) -> Result<NewContact, Invalid> {
        let mut e = Invalid::default();
        let level = e.check(ContactLevel::parse("level", s(&self.level)));
        let from_id = e.check(id_field("from_id", &self.from_id));
        let to_id = e.check(id_field("to_id", &self.to_id));
        let since = e.check(past_date("since", &self.since, today));
        let reason = e.check(Text::parse("reason", s(&self.reason), 200).map(Text::into_option));
        let to_kind = match (level, s(&self.to_kind).trim()) {
            (Some(l), "" | "member" | "household" | "org") => Some(l.to()),
            (Some(l), "post" | "示范岗") if l.accepts(Party::Post) => Some(Party::Post),
            (Some(_), _) => {
                e.push(FieldError::new("to_kind", "kind", i18n::CONTACT_POST_LEVEL));
                None
            }
            (None, _) => None,
        };
        match (level, from_id, to_id, since, reason, to_kind) {
            (Some(level), Some(from_id), Some(to_id), Some(since), Some(reason), Some(to_kind)) if e.is_empty() => {
                Ok(NewContact { level, from_id, to_id, to_kind, since, reason })
            }
            _ => Err(e),
        }
    }
}

/// Ending a contact: the date it ends and why.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawEndContact {
    /// The first day the contact no longer holds (`YYYY-MM-DD`, default today).
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<NaiveDate>))]
    pub until: Option<String>,
    /// Why it ends (required).
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EndContact {
    pub until: NaiveDate,
    pub reason: String,
}

impl RawEndContact {
    pub fn validate(&self, today: NaiveDate) -> Result<EndContact, Invalid> {
        let mut e = Invalid::default();
        let until = e.check(past_date("until", &self.until, today));
        let reason = e.check(Text::required("reason", s(&self.reason), 200).map(Text::into_string));
        match (until, reason) {
            (Some(until), Some(reason)) if e.is_empty() => Ok(EndContact { until, reason }),
            _ => Err(e),
        }
    }
}

/// A quota rule as typed: `<level>_min` / `<level>_max` for every level
/// (both empty: no quota at that level), and `central_per_building`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct RawQuota {
    /// `{"member_household_min": "10", "member_household_max": "15", ...}`.
    #[serde(flatten)]
    pub values: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The document names every key a quota rule takes.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for RawQuota {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut o = ObjectBuilder::new().description(Some(
            "A quota rule: `<code>_min` and `<code>_max` (0–1000, both or neither) for every contact level \
             and extra quota, and `central_per_building`. Numbers may be sent as strings.",
        ));
        for code in quota_codes() {
            for end in ["min", "max"] {
                let n = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(MAX_QUOTA));
                o = o.property(format!("{code}_{end}"), n);
            }
        }
        o = o.property("central_per_building", ObjectBuilder::new().schema_type(Type::Boolean));
        o.into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for RawQuota {}

/// Codes of every quota a rule may set: the levels, then the extra ones.
pub fn quota_codes() -> impl Iterator<Item = &'static str> {
    ContactLevel::ALL.iter().map(|l| l.code()).chain(ExtraQuota::ALL.iter().map(|q| q.code()))
}

fn json_str(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.trim().to_string(),
        Some(x) => x.to_string(),
    }
}

impl RawQuota {
    pub fn from_rule(r: &QuotaRule) -> RawQuota {
        let mut values = std::collections::BTreeMap::new();
        for (l, range) in &r.levels {
            values.insert(format!("{}_min", l.code()), serde_json::Value::from(range.min));
            values.insert(format!("{}_max", l.code()), serde_json::Value::from(range.max));
        }
        for (q, range) in &r.extra {
            values.insert(format!("{}_min", q.code()), serde_json::Value::from(range.min));
            values.insert(format!("{}_max", q.code()), serde_json::Value::from(range.max));
        }
        values.insert("central_per_building".into(), serde_json::Value::from(r.central_per_building));
        RawQuota { values }
    }

    pub fn get(&self, key: &str) -> String {
        json_str(self.values.get(key))
    }

    pub fn validate(&self) -> Result<QuotaRule, Invalid> {
        let mut e = Invalid::default();
        let known = |k: &str| {
            k == "central_per_building" || quota_codes().any(|c| k == format!("{c}_min") || k == format!("{c}_max"))
        };
        for k in self.values.keys().filter(|k| !k.starts_with('_') && !known(k)) {
            e.push(FieldError::new(k.as_str(), "unknown", i18n::UNKNOWN_FIELD));
        }
        let mut rule = QuotaRule {
            central_per_building: matches!(
                self.get("central_per_building").as_str(),
                "true" | "on" | "1" | "yes" | "是"
            ),
            ..QuotaRule::default()
        };
        for code in quota_codes() {
            let (kmin, kmax) = (format!("{code}_min"), format!("{code}_max"));
            let (rmin, rmax) = (self.get(&kmin), self.get(&kmax));
            if rmin.is_empty() && rmax.is_empty() {
                continue;
            }
            let num = |k: &str, raw: &str| -> Result<i64, FieldError> {
                if raw.is_empty() {
                    return Err(FieldError::new(k, "required", i18n::QUOTA_BOTH));
                }
                let n: i64 = raw.parse().map_err(|_| FieldError::new(k, "number", i18n::NUMBER_INVALID))?;
                if !(0..=MAX_QUOTA).contains(&n) {
                    return Err(FieldError::new(k, "range", format!("{}（0–{MAX_QUOTA}）", i18n::RANGE_INVALID)));
                }
                Ok(n)
            };
            let min = e.check(num(&kmin, &rmin));
            let max = e.check(num(&kmax, &rmax));
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    e.push(FieldError::new(kmin.as_str(), "range", i18n::QUOTA_MIN_MAX));
                } else if let Ok(l) = ContactLevel::parse("level", code) {
                    rule.set(l, Some(Range { min, max }));
                } else if let Ok(q) = ExtraQuota::parse("quota", code) {
                    rule.set_extra(q, Some(Range { min, max }));
                }
            }
        }
        e.into_result().map(|()| rule)
    }
}

code_enum!(
    /// Why a member is exempted from contact duty.
    ExemptionReason {
        OldFrail = "old_frail": "年老体弱",
        LongSick = "long_sick": "长期病休",
    }
);

code_enum!(
    /// The three approvals of an exemption, in order.
    ExemptionStep {
        Branch = "branch": "支部大会决定",
        Community = "community": "社区党委同意",
        Street = "street": "报街道党工委备案",
    }
);

impl ExemptionStep {
    /// The level (rank of [`crate::OrgKind::level`]) of the organisation that takes this step.
    pub fn org_level(self) -> u8 {
        match self {
            ExemptionStep::Branch => 4,
            ExemptionStep::Community => 2,
            ExemptionStep::Street => 1,
        }
    }
    pub fn next(self) -> Option<ExemptionStep> {
        match self {
            ExemptionStep::Branch => Some(ExemptionStep::Community),
            ExemptionStep::Community => Some(ExemptionStep::Street),
            ExemptionStep::Street => None,
        }
    }
}

code_enum!(
    /// Where an exemption stands.
    ExemptionStatus {
        Requested = "requested": "待支部大会决定",
        BranchApproved = "branch_approved": "待社区党委同意",
        CommunityApproved = "community_approved": "待报街道备案",
        Exempt = "exempt": "已免除联系任务",
        Rejected = "rejected": "未通过",
    }
);

impl ExemptionStatus {
    /// The step that comes next, if any.
    pub fn pending_step(self) -> Option<ExemptionStep> {
        match self {
            ExemptionStatus::Requested => Some(ExemptionStep::Branch),
            ExemptionStatus::BranchApproved => Some(ExemptionStep::Community),
            ExemptionStatus::CommunityApproved => Some(ExemptionStep::Street),
            ExemptionStatus::Exempt | ExemptionStatus::Rejected => None,
        }
    }
    /// The status after `step` is approved.
    pub fn after(step: ExemptionStep) -> ExemptionStatus {
        match step {
            ExemptionStep::Branch => ExemptionStatus::BranchApproved,
            ExemptionStep::Community => ExemptionStatus::CommunityApproved,
            ExemptionStep::Street => ExemptionStatus::Exempt,
        }
    }
}

/// A request for exemption, as typed.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawExemption {
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = i64, required = true))]
    pub member_id: Option<String>,
    /// `old_frail` (年老体弱) or `long_sick` (长期病休).
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = ExemptionReason, required = true))]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewExemption {
    pub member_id: i64,
    pub reason: ExemptionReason,
    pub note: Option<String>,
}

impl RawExemption {
    pub fn validate(&self) -> Result<NewExemption, Invalid> {
        let mut e = Invalid::default();
        let member_id = e.check(id_field("member_id", &self.member_id));
        let reason = e.check(ExemptionReason::parse("reason", s(&self.reason)));
        let note = e.check(Text::parse("note", s(&self.note), 500).map(Text::into_option));
        match (member_id, reason, note) {
            (Some(member_id), Some(reason), Some(note)) if e.is_empty() => Ok(NewExemption { member_id, reason, note }),
            _ => Err(e),
        }
    }
}

/// One approval step decided: approve or reject, on a date, with a note
/// (a rejection needs its reason).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawDecision {
    /// `branch`, `community` or `street`.
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = ExemptionStep, required = true))]
    pub step: Option<String>,
    /// `approve` or `reject`.
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(schema_with = decision_schema, required = true))]
    pub decision: Option<String>,
    /// The date of the meeting or filing (`YYYY-MM-DD`, default today).
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<NaiveDate>))]
    pub date: Option<String>,
    /// Minutes reference or remark; the reason when rejecting (required then).
    #[serde(default, deserialize_with = "stringish")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub step: ExemptionStep,
    pub approve: bool,
    pub date: NaiveDate,
    pub note: Option<String>,
}

/// The two decisions (`decision` of [`RawDecision`]).
#[cfg(feature = "openapi")]
fn decision_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["approve", "reject"]))
        .description(Some("`approve` (通过) or `reject` (驳回); input also accepts the label."))
        .build()
}

impl RawDecision {
    pub fn validate(&self, today: NaiveDate) -> Result<Decision, Invalid> {
        let mut e = Invalid::default();
        let step = e.check(ExemptionStep::parse("step", s(&self.step)));
        let approve = match s(&self.decision).trim() {
            "approve" | "通过" | "同意" => Some(true),
            "reject" | "驳回" | "不同意" => Some(false),
            "" => {
                e.push(FieldError::new("decision", "required", i18n::REQUIRED));
                None
            }
            other => {
                e.push(FieldError::new("decision", "enum", format!("{}：{other}", i18n::ENUM_INVALID)));
                None
            }
        };
        let date = e.check(past_date("date", &self.date, today));
        let note = e.check(Text::parse("note", s(&self.note), 500).map(Text::into_option));
        if approve == Some(false) && matches!(note, Some(None)) {
            e.push(FieldError::new("note", "required", i18n::REJECT_REASON));
        }
        match (step, approve, date, note) {
            (Some(step), Some(approve), Some(date), Some(note)) if e.is_empty() => {
                Ok(Decision { step, approve, date, note })
            }
            _ => Err(e),
        }
    }
}

/// A party-member demonstration post (党员示范岗), as typed: a post held by
/// a member at a unit (shop, facility, enterprise) or in a grid.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawPost {
    /// The post's name, e.g. `便民服务示范岗`.
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub name: Option<String>,
    /// The member who holds the post.
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = i64, required = true))]
    pub member_id: Option<String>,
    /// The grid it is in (may be left empty when a unit is given).
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub grid_id: Option<String>,
    /// The unit (shop, facility, enterprise) it is at, if any.
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub unit_id: Option<String>,
    /// From this date (`YYYY-MM-DD`, default today).
    #[serde(default, deserialize_with = "stringish")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<NaiveDate>))]
    pub since: Option<String>,
    #[serde(default, deserialize_with = "stringish")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewPost {
    pub name: String,
    pub member_id: i64,
    pub grid_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub since: NaiveDate,
    pub note: Option<String>,
}

fn opt_id(field: &str, v: &Option<String>) -> Result<Option<i64>, FieldError> {
    if s(v).trim().is_empty() { Ok(None) } else { id_field(field, v).map(Some) }
}

impl RawPost {
    pub fn validate(&self, today: NaiveDate) -> Result<NewPost, Invalid> {
        let mut e = Invalid::default();
        let name = e.check(Text::required("name", s(&self.name), 60).map(Text::into_string));
        let member_id = e.check(id_field("member_id", &self.member_id));
        let grid_id = e.check(opt_id("grid_id", &self.grid_id));
        let unit_id = e.check(opt_id("unit_id", &self.unit_id));
        if matches!((grid_id, unit_id), (Some(None), Some(None))) {
            e.push(FieldError::new("grid_id", "required", i18n::POST_PLACE));
        }
        let since = e.check(past_date("since", &self.since, today));
        let note = e.check(Text::parse("note", s(&self.note), 200).map(Text::into_option));
        match (name, member_id, grid_id, unit_id, since, note) {
            (Some(name), Some(member_id), Some(grid_id), Some(unit_id), Some(since), Some(note)) if e.is_empty() => {
                Ok(NewPost { name, member_id, grid_id, unit_id, since, note })
            }
            _ => Err(e),
        }
    }
}

/// A member's party role as typed: a [`PartyRole`] code or empty (none).
pub fn parse_party_role(raw: &str) -> Result<Option<PartyRole>, FieldError> {
    let t = raw.trim();
    if t.is_empty() || t == "none" { Ok(None) } else { PartyRole::parse("party_role", t).map(Some) }
}

/// The default move penalty of a proposed plan, in metres.
pub const DEFAULT_MOVE_PENALTY: i64 = 200;
/// The largest move penalty accepted from a user.
pub const MAX_MOVE_PENALTY: i64 = 100_000;

/// Parse the move penalty of a plan request (empty: the default).
pub fn parse_move_penalty(raw: &str) -> Result<i64, FieldError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(DEFAULT_MOVE_PENALTY);
    }
    let n: i64 = t.parse().map_err(|_| FieldError::new("move_penalty", "number", i18n::NUMBER_INVALID))?;
    if !(0..=MAX_MOVE_PENALTY).contains(&n) {
        return Err(FieldError::new(
            "move_penalty",
            "range",
            format!("{}（0–{MAX_MOVE_PENALTY}）", i18n::RANGE_INVALID),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
    }

    #[test]
    fn levels_have_ends() {
        for l in ContactLevel::ALL {
            assert_eq!(ContactLevel::parse("level", l.code()).unwrap(), *l);
            assert!(!l.from_label().is_empty() && !l.to_label().is_empty());
        }
        assert_eq!(ContactLevel::MemberHousehold.to(), Party::Household);
        assert_eq!(ContactLevel::LeaderCommunity.from(), Party::Cadre);
    }

    #[test]
    fn presets() {
        let u = QuotaPreset::Urban.rule();
        assert_eq!(u.get(ContactLevel::MemberHousehold), Some(Range { min: 10, max: 10 }));
        assert!(u.central_per_building);
        let r = QuotaPreset::Rural.rule();
        assert_eq!(r.get(ContactLevel::MemberHousehold), Some(Range { min: 10, max: 15 }));
        assert_eq!(r.get(ContactLevel::CadreBranch), None);
        // A rule survives its raw form.
        assert_eq!(RawQuota::from_rule(&r).validate().unwrap(), r);
    }

    #[test]
    fn quota_validation_names_fields() {
        let mut q = RawQuota::default();
        q.values.insert("member_household_min".into(), "12".into());
        q.values.insert("member_household_max".into(), "10".into());
        q.values.insert("central_member_min".into(), "x".into());
        q.values.insert("central_member_max".into(), "3".into());
        q.values.insert("cadre_branch_max".into(), "3".into());
        q.values.insert("bogus".into(), "1".into());
        let e = q.validate().unwrap_err();
        for f in ["member_household_min", "central_member_min", "cadre_branch_min", "bogus"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
    }

    #[test]
    fn contacts_validate() {
        let c = RawContact {
            level: Some("党员联系户".into()),
            from_id: Some("3".into()),
            to_id: Some("9".into()),
            ..Default::default()
        }
        .validate(today())
        .unwrap();
        assert_eq!(c.since, today());
        let e = RawContact { level: Some("x".into()), since: Some("2030-01-01".into()), ..Default::default() }
            .validate(today())
            .unwrap_err();
        for f in ["level", "from_id", "to_id", "since"] {
            assert!(e.for_field(f).is_some(), "{f}");
        }
        assert!(RawEndContact::default().validate(today()).unwrap_err().for_field("reason").is_some());
    }

    #[test]
    fn posts_roles_and_ratios() {
        let p = RawPost {
            name: Some("便民示范岗".into()),
            member_id: Some("4".into()),
            unit_id: Some("2".into()),
            ..Default::default()
        }
        .validate(today())
        .unwrap();
        assert_eq!((p.unit_id, p.grid_id, p.since), (Some(2), None, today()));
        let e = RawPost { name: Some(" ".into()), ..Default::default() }.validate(today()).unwrap_err();
        for f in ["name", "member_id", "grid_id"] {
            assert!(e.for_field(f).is_some(), "{f}");
        }
        assert_eq!(parse_party_role("党小组长").unwrap(), Some(PartyRole::GroupLeader));
        assert_eq!(parse_party_role("").unwrap(), None);
        assert!(parse_party_role("x").is_err());
        assert_eq!(PartyRole::GroupLeader.level().holder_role(), Some(PartyRole::GroupLeader));
        let r = Range { min: 10, max: 15 };
        assert_eq!(central_ratio(0, 0, r), CentralRatio::Within);
        assert_eq!(central_ratio(30, 0, r), CentralRatio::NoCentral);
        assert_eq!(central_ratio(31, 2, r), CentralRatio::TooFew);
        assert_eq!(central_ratio(30, 2, r), CentralRatio::Within);
        assert_eq!(central_ratio(19, 2, r), CentralRatio::TooMany);
        // A post is accepted only at the 党小组长 level.
        let c = RawContact {
            level: Some("group_leader_central".into()),
            from_id: Some("1".into()),
            to_id: Some("2".into()),
            to_kind: Some("post".into()),
            ..Default::default()
        };
        assert_eq!(c.validate(today()).unwrap().to_kind, Party::Post);
        let c = RawContact { level: Some("member_household".into()), ..c };
        assert!(c.validate(today()).unwrap_err().for_field("to_kind").is_some());
        // The leader's branches follow their own range.
        let u = QuotaPreset::Urban.rule();
        assert_eq!(u.range_for(ContactLevel::CadreBranch, true), Some(Range { min: 8, max: 12 }));
        assert_eq!(u.range_for(ContactLevel::CadreBranch, false), Some(Range { min: 2, max: 3 }));
        let rural = QuotaPreset::Rural.rule();
        assert_eq!(rural.get_extra(ExtraQuota::HouseholdsPerCentral), Some(r));
        assert_eq!(RawQuota::from_rule(&u).validate().unwrap(), u);
    }

    #[test]
    fn decisions() {
        let d = RawDecision { step: Some("branch".into()), decision: Some("reject".into()), ..Default::default() };
        assert!(d.validate(today()).unwrap_err().for_field("note").is_some());
        let d = RawDecision { step: Some("community".into()), decision: Some("approve".into()), ..Default::default() };
        assert!(d.validate(today()).unwrap().approve);
        assert_eq!(ExemptionStatus::Requested.pending_step(), Some(ExemptionStep::Branch));
        assert_eq!(ExemptionStatus::after(ExemptionStep::Street), ExemptionStatus::Exempt);
        assert_eq!(parse_move_penalty("").unwrap(), DEFAULT_MOVE_PENALTY);
        assert!(parse_move_penalty("-1").is_err());
    }
}
