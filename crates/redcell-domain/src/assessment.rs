//! Assessment (考评): rubrics as data, the figures a measured item is
//! computed from, the scores of an item (in tenths of a point) and the one
//! rule of adding them up. A rubric is a TOML text (the shipped example is
//! `data/rubric-six-in-one.toml`): groups of items with points; an item is
//! either *measured* (a condition over figures the system computes from
//! records) or scored by a named *assessor* with a reason. A measured item
//! earns all its points when its condition holds and none when it does not;
//! when a figure has no data the item is *missing* (never 0) and an assessor
//! scores it instead.

use crate::code_enum;

pub mod incentives;
pub mod stars;
use crate::error::{FieldError, Invalid};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

crate::id_types!(
    RubricId: "an assessment rubric",
    AssessmentId: "the assessment of one organisation for one period under one rubric",
);

code_enum!(
    /// Where an assessment stands: the assessed organisation scores itself,
    /// the level above reviews, the result is published for objections, then
    /// final.
    AssessmentState {
        Open = "open": "自评中",
        Submitted = "submitted": "待上级审核",
        Published = "published": "公示中",
        Final = "final": "已确定",
    }
);

code_enum!(
    /// Who entered an assessor score.
    Stage {
        SelfAssessed = "self": "自评",
        Review = "review": "上级审核",
    }
);

code_enum!(
    /// What a measured item's condition came to.
    Outcome {
        Met = "met": "达标",
        Unmet = "unmet": "未达标",
        Missing = "missing": "数据缺失",
    }
);

code_enum!(
    /// A step in an assessment's history.
    StepKind {
        Opened = "opened": "开始考评",
        Submitted = "submitted": "提交自评",
        Returned = "returned": "退回重评",
        Published = "published": "公示",
        Finalized = "finalized": "确定结果",
    }
);

code_enum!(
    /// What earns a member points (积分): things done, each recorded once in
    /// its own register. Never logins, clicks, reading time or likes.
    PointSource {
        Visit = "visit": "走访联系户",
        Wish = "wish": "完成认领的微心愿",
        Hours = "hours": "经确认的志愿服务",
        Attendance = "attendance": "参加组织生活和活动",
    }
);

impl PointSource {
    /// Points per unit, in tenths.
    pub fn per_unit(self) -> Tenths {
        match self {
            PointSource::Visit => Tenths(10),
            PointSource::Wish => Tenths(50),
            PointSource::Hours => Tenths(10),
            PointSource::Attendance => Tenths(20),
        }
    }
    /// The rule in words ("每次 1 分").
    pub fn rule(self) -> String {
        let p = self.per_unit();
        match self {
            PointSource::Visit => format!("每次 {p} 分（同一户同一天只算一次）"),
            PointSource::Wish => format!("每个 {p} 分"),
            PointSource::Hours => format!("每小时 {p} 分"),
            PointSource::Attendance => format!("每次 {p} 分（按实到记录）"),
        }
    }
    /// Points for `units` tenths of a unit (hours may be fractional).
    pub fn points_for_tenth_units(self, tenth_units: u32) -> Tenths {
        Tenths(self.per_unit().0 * tenth_units / 10)
    }
}

/// A figure the system computes from its records, by the name a rubric's
/// `measure` uses. The one catalogue: an unknown name is refused when the
/// rubric is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// Share of secretaries with a college degree or higher.
    SecretaryDegree,
    /// Share of secretaries holding the social worker's certificate.
    SecretaryCertificate,
    /// Share of committee members appointed to both committees.
    CommitteeCrossAppointed,
    /// The fewest training days this year over the community's cadres.
    CadreTrainingDays,
    /// Satisfied or basically satisfied among the revisited requests this year.
    Satisfaction,
    /// Party-building brands registered.
    Brands,
    /// Share of the members who took part in an activity or served hours this year.
    Participation,
    /// The longest gap in days between collective service activities this year.
    ServiceGap,
    /// Organisational-life duties done on time among those due in the period.
    OrgLifeCompliance,
    /// Meetings of the 1+3 joint committee this year.
    JointCommitteeMeetings,
}

impl Figure {
    pub const ALL: &'static [Figure] = &[
        Figure::SecretaryDegree,
        Figure::SecretaryCertificate,
        Figure::CommitteeCrossAppointed,
        Figure::CadreTrainingDays,
        Figure::Satisfaction,
        Figure::Brands,
        Figure::Participation,
        Figure::ServiceGap,
        Figure::OrgLifeCompliance,
        Figure::JointCommitteeMeetings,
    ];
    /// The expression a rubric writes (spaces do not matter).
    pub fn expr(self) -> &'static str {
        match self {
            Figure::SecretaryDegree => "share(secretaries, degree >= college)",
            Figure::SecretaryCertificate => "share(secretaries, social_worker_cert)",
            Figure::CommitteeCrossAppointed => "share(committee_members, cross_appointed)",
            Figure::CadreTrainingDays => "min_over(cadres, training_days_this_year)",
            Figure::Satisfaction => "satisfaction_rate(requests, this_year)",
            Figure::Brands => "count(brands)",
            Figure::Participation => "participation_rate(members_in_community)",
            Figure::ServiceGap => "max_gap_days(collective_service)",
            Figure::OrgLifeCompliance => "compliance(org_life, this_year)",
            Figure::JointCommitteeMeetings => "count(meetings, kind = joint_committee, this_year)",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Figure::SecretaryDegree => "书记大专及以上学历占比",
            Figure::SecretaryCertificate => "书记持社会工作者证书占比",
            Figure::CommitteeCrossAppointed => "两委成员交叉任职占比",
            Figure::CadreTrainingDays => "社区干部本年度培训天数（最少者）",
            Figure::Satisfaction => "本年度回访满意率",
            Figure::Brands => "党建品牌数",
            Figure::Participation => "党员本年度参与活动比例",
            Figure::ServiceGap => "本年度集中服务活动最长间隔（天）",
            Figure::OrgLifeCompliance => "本期组织生活按期完成率",
            Figure::JointCommitteeMeetings => "本年度1+3联席会次数",
        }
    }
    /// A share (shown as a percentage) rather than a count.
    pub fn is_share(self) -> bool {
        matches!(
            self,
            Figure::SecretaryDegree
                | Figure::SecretaryCertificate
                | Figure::CommitteeCrossAppointed
                | Figure::Satisfaction
                | Figure::Participation
                | Figure::OrgLifeCompliance
        )
    }
    /// A value of this figure in words ("72.0%", "3").
    pub fn show(self, v: f64) -> String {
        if self.is_share() { format!("{:.1}%", v * 100.0) } else { format!("{}", v.round() as i64) }
    }
    fn from_expr(s: &str) -> Option<Figure> {
        let key = squash(s);
        Figure::ALL.iter().copied().find(|f| squash(f.expr()) == key)
    }
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A comparison in a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Cmp {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Ge => "≥",
            Cmp::Gt => ">",
            Cmp::Le => "≤",
            Cmp::Lt => "<",
        }
    }
    pub fn holds(self, a: f64, b: f64) -> bool {
        // Figures are rounded to a tenth of a percent before comparing, so
        // 0.65 computed as 0.6499999 still meets "≥ 0.65".
        let a = (a * 1000.0).round() / 1000.0;
        match self {
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
            Cmp::Le => a <= b,
            Cmp::Lt => a < b,
        }
    }
}

/// One condition of a measure: `figure cmp threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Clause {
    pub figure: Figure,
    pub cmp: Cmp,
    pub threshold: f64,
}

impl Clause {
    /// "≥ 65.0%".
    pub fn target(&self) -> String {
        format!("{} {}", self.cmp.symbol(), self.figure.show(self.threshold))
    }
}

/// Parse a measure: clauses joined by `and`, each `figure cmp number`.
pub fn parse_measure(field: &str, s: &str) -> Result<Vec<Clause>, FieldError> {
    let mut out = Vec::new();
    for part in s.split(" and ") {
        let part = part.trim();
        let (pos, cmp, len) = [(">=", Cmp::Ge), ("<=", Cmp::Le), (">", Cmp::Gt), ("<", Cmp::Lt)]
            .iter()
            .filter_map(|(t, c)| {
                // The comparison after the closing parenthesis (the figure's own
                // arguments may hold one, as in `degree >= college`).
                let close = part.rfind(')')?;
                part[close..].find(t).map(|i| (close + i, *c, t.len()))
            })
            .min_by_key(|(i, _, l)| (*i, usize::MAX - l))
            .ok_or_else(|| {
                FieldError::new(field, "syntax", format!("无法识别的条件：「{part}」，应为 指标 比较符 数值"))
            })?;
        let figure = Figure::from_expr(&part[..pos]).ok_or_else(|| {
            FieldError::new(
                field,
                "unknown_figure",
                format!(
                    "未知的指标：「{}」；可用的指标：{}",
                    part[..pos].trim(),
                    Figure::ALL.iter().map(|f| f.expr()).collect::<Vec<_>>().join("；")
                ),
            )
        })?;
        let num = part[pos + len..].trim();
        let threshold: f64 = num
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| FieldError::new(field, "number", format!("「{num}」不是有效的数值")))?;
        if figure.is_share() && threshold > 1.0 {
            return Err(FieldError::new(field, "range", format!("比例应写成 0 到 1 之间的小数：「{num}」")));
        }
        out.push(Clause { figure, cmp, threshold });
    }
    Ok(out)
}

/// Points in tenths (4.5 points = 45).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Tenths(pub u32);

impl Tenths {
    pub fn points(p: u32) -> Tenths {
        Tenths(p * 10)
    }
    /// A score as typed: up to one decimal ("4", "4.5"), within `0..=max`.
    pub fn parse(field: &str, s: &str, max: Tenths) -> Result<Tenths, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "required", crate::i18n::REQUIRED));
        }
        let bad = || FieldError::new(field, "number", format!("分数应为数字，最多一位小数：「{s}」"));
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 1
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let i: u32 = int.parse().map_err(|_| bad())?;
        let f: u32 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
        let v = i.checked_mul(10).and_then(|x| x.checked_add(f)).ok_or_else(bad)?;
        if v > max.0 {
            return Err(FieldError::new(field, "range", format!("分数应在 0 到 {max} 分之间")));
        }
        Ok(Tenths(v))
    }
}

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_multiple_of(10) {
            write!(f, "{}", self.0 / 10)
        } else {
            write!(f, "{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

impl std::ops::Add for Tenths {
    type Output = Tenths;
    fn add(self, o: Tenths) -> Tenths {
        Tenths(self.0 + o.0)
    }
}

impl std::iter::Sum for Tenths {
    fn sum<I: Iterator<Item = Tenths>>(it: I) -> Tenths {
        it.fold(Tenths(0), |a, b| a + b)
    }
}

/// How an item is scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Scoring {
    /// All the clauses must hold.
    Measured {
        clauses: Vec<Clause>,
    },
    Assessor,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    pub no: u32,
    pub points: u32,
    pub text: String,
    pub scoring: Scoring,
}

impl Item {
    pub fn max(&self) -> Tenths {
        Tenths::points(self.points)
    }
    pub fn clauses(&self) -> &[Clause] {
        match &self.scoring {
            Scoring::Measured { clauses } => clauses,
            Scoring::Assessor => &[],
        }
    }
    pub fn is_measured(&self) -> bool {
        matches!(self.scoring, Scoring::Measured { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub key: String,
    pub name: String,
    pub points: u32,
    pub items: Vec<Item>,
}

/// A validated rubric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rubric {
    pub name: String,
    pub total: u32,
    pub cycle_years: u32,
    pub report_every_months: u32,
    pub groups: Vec<Group>,
    /// How a total becomes a star rating (五星争创), for a star indicator set.
    pub rating: Option<stars::RatingRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRubric {
    name: Option<String>,
    total: Option<i64>,
    cycle_years: Option<i64>,
    report_every_months: Option<i64>,
    #[serde(default)]
    group: Vec<RawGroup>,
    rating: Option<stars::RawRating>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    key: Option<String>,
    name: Option<String>,
    points: Option<i64>,
    #[serde(default)]
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    no: Option<i64>,
    points: Option<i64>,
    text: Option<String>,
    measure: Option<String>,
    #[serde(default)]
    assessor: bool,
}

fn count(field: &str, v: Option<i64>, range: std::ops::RangeInclusive<i64>) -> Result<u32, FieldError> {
    match v {
        None => Err(FieldError::new(field, "required", format!("缺少 {field}"))),
        Some(x) if range.contains(&x) => Ok(x as u32),
        Some(x) => Err(FieldError::new(
            field,
            "range",
            format!("{field} = {x} 超出范围（{} 到 {}）", range.start(), range.end()),
        )),
    }
}

fn words(field: &str, v: &Option<String>, max: usize) -> Result<String, FieldError> {
    let s = v.as_deref().unwrap_or("").trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "required", format!("缺少 {field}")));
    }
    if s.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("{field} 不能超过 {max} 个字")));
    }
    Ok(s.to_string())
}

impl Rubric {
    /// Read a rubric from its TOML text; every problem names its field
    /// (`group[2].items[1].measure`) and nothing is half-accepted.
    pub fn parse(text: &str) -> Result<Rubric, Invalid> {
        let raw: RawRubric = toml::from_str(text).map_err(|e| {
            Invalid(vec![FieldError::new("body", "toml", format!("规则文件格式有误：{}", e.message()))])
        })?;
        let mut e = Invalid::default();
        let name = e.check(words("name", &raw.name, 60));
        let total = e.check(count("total", raw.total, 1..=1000));
        let cycle_years = e.check(count("cycle_years", raw.cycle_years, 1..=5));
        let report_every_months = e.check(count("report_every_months", raw.report_every_months, 1..=24));
        if raw.group.is_empty() {
            e.push(FieldError::new("group", "required", "规则至少要有一组考评项目"));
        }
        let mut groups = Vec::new();
        let mut seen_no = std::collections::BTreeSet::new();
        let mut seen_key = std::collections::BTreeSet::new();
        for (gi, g) in raw.group.iter().enumerate() {
            let f = |x: &str| format!("group[{}].{x}", gi + 1);
            let key = e.check(words(&f("key"), &g.key, 40));
            if let Some(k) = &key
                && !seen_key.insert(k.clone())
            {
                e.push(FieldError::new(f("key"), "duplicate", format!("分组 key「{k}」重复")));
            }
            let gname = e.check(words(&f("name"), &g.name, 60));
            let points = e.check(count(&f("points"), g.points, 1..=1000));
            if g.items.is_empty() {
                e.push(FieldError::new(f("items"), "required", "每组至少要有一个考评项目"));
            }
            let mut items = Vec::new();
            for (ii, it) in g.items.iter().enumerate() {
                let f = |x: &str| format!("group[{}].items[{}].{x}", gi + 1, ii + 1);
                let no = e.check(count(&f("no"), it.no, 1..=999));
                if let Some(n) = no
                    && !seen_no.insert(n)
                {
                    e.push(FieldError::new(f("no"), "duplicate", format!("项目编号 {n} 重复")));
                }
                let ipoints = e.check(count(&f("points"), it.points, 1..=1000));
                let text = e.check(words(&f("text"), &it.text, 200));
                let scoring = match (&it.measure, it.assessor) {
                    (Some(_), true) => {
                        e.push(FieldError::new(
                            f("measure"),
                            "both",
                            "一个项目不能既按数据计算（measure）又由考评人打分（assessor）",
                        ));
                        None
                    }
                    (Some(m), false) => {
                        e.check(parse_measure(&f("measure"), m)).map(|clauses| Scoring::Measured { clauses })
                    }
                    (None, _) => Some(Scoring::Assessor),
                };
                if let (Some(no), Some(points), Some(text), Some(scoring)) = (no, ipoints, text, scoring) {
                    items.push(Item { no, points, text, scoring });
                }
            }
            if let Some(p) = points {
                let sum: i64 = g.items.iter().filter_map(|i| i.points).sum();
                if e.is_empty() && sum != p as i64 {
                    e.push(FieldError::new(
                        f("points"),
                        "sum",
                        format!("第 {} 组各项分值之和为 {sum}，与本组分值 {p} 不符", gi + 1),
                    ));
                }
            }
            if let (Some(key), Some(name), Some(points)) = (key, gname, points) {
                groups.push(Group { key, name, points, items });
            }
        }
        if let Some(t) = total {
            let sum: i64 = raw.group.iter().filter_map(|g| g.points).sum();
            if e.is_empty() && sum != t as i64 {
                e.push(FieldError::new("total", "sum", format!("各组分值之和为 {sum}，与总分 {t} 不符")));
            }
        }
        let rating = match (&raw.rating, total) {
            (Some(r), Some(t)) => e.check(stars::RatingRules::parse(r, t)),
            _ => None,
        };
        e.into_result()?;
        match (name, total, cycle_years, report_every_months) {
            (Some(name), Some(total), Some(cycle_years), Some(report_every_months)) => {
                Ok(Rubric { name, total, cycle_years, report_every_months, groups, rating })
            }
            _ => Err(Invalid(vec![FieldError::new("body", "invalid", "规则文件不完整")])),
        }
    }
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.groups.iter().flat_map(|g| g.items.iter())
    }
    pub fn item(&self, no: u32) -> Option<&Item> {
        self.items().find(|i| i.no == no)
    }
    /// Every figure some item measures (each once).
    pub fn figures(&self) -> Vec<Figure> {
        let mut v: Vec<Figure> = Vec::new();
        for c in self.items().flat_map(|i| i.clauses()) {
            if !v.contains(&c.figure) {
                v.push(c.figure);
            }
        }
        v
    }
}

/// What a measured item comes to, given the figures (`None`: no data).
pub fn judge(clauses: &[Clause], value: impl Fn(Figure) -> Option<f64>) -> Outcome {
    let mut met = true;
    for c in clauses {
        match value(c.figure) {
            None => return Outcome::Missing,
            Some(v) => met &= c.cmp.holds(v, c.threshold),
        }
    }
    if met { Outcome::Met } else { Outcome::Unmet }
}

/// The score an item stands at: the reviewer's when entered, else the
/// self-assessment's, else the measure's (met: all points; unmet: none);
/// `None` while nothing is known.
pub fn item_score(
    item: &Item,
    measured: Option<Outcome>,
    selfs: Option<Tenths>,
    review: Option<Tenths>,
) -> Option<Tenths> {
    let cap = |t: Tenths| t.min(item.max());
    if let Some(r) = review {
        return Some(cap(r));
    }
    match (item.is_measured(), measured) {
        (true, Some(Outcome::Met)) => Some(item.max()),
        (true, Some(Outcome::Unmet)) => Some(Tenths(0)),
        _ => selfs.map(cap),
    }
}

/// Group and total scores: each the sum of its items' scores (unknown items
/// count nothing and are counted as open).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tally {
    pub groups: Vec<GroupTally>,
    pub total: Tenths,
    pub of: u32,
    /// Items without a score yet.
    pub open: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupTally {
    pub key: String,
    pub score: Tenths,
    pub of: u32,
    pub open: u32,
}

pub fn tally(r: &Rubric, score: impl Fn(&Item) -> Option<Tenths>) -> Tally {
    let groups: Vec<GroupTally> = r
        .groups
        .iter()
        .map(|g| {
            let scores: Vec<Option<Tenths>> = g.items.iter().map(|i| score(i).map(|t| t.min(i.max()))).collect();
            GroupTally {
                key: g.key.clone(),
                score: scores.iter().flatten().copied().sum(),
                of: g.points,
                open: scores.iter().filter(|s| s.is_none()).count() as u32,
            }
        })
        .collect();
    Tally {
        total: groups.iter().map(|g| g.score).sum(),
        of: r.total,
        open: groups.iter().map(|g| g.open).sum(),
        groups,
    }
}

/// A half-year: the reporting period of an assessment ("2026H2").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Period {
    pub year: i32,
    pub half: u8,
}

impl Period {
    pub fn of(d: NaiveDate) -> Period {
        Period { year: d.year(), half: if d.month() <= 6 { 1 } else { 2 } }
    }
    pub fn parse(field: &str, s: &str) -> Result<Period, FieldError> {
        let s = s.trim().to_ascii_uppercase();
        let bad = || FieldError::new(field, "format", format!("考评期应写成 年份H1 或 年份H2，如 2026H2：「{s}」"));
        let (y, h) = s.split_once('H').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let half: u8 = h.parse().map_err(|_| bad())?;
        if !(2000..=2100).contains(&year) || !(1..=2).contains(&half) {
            return Err(bad());
        }
        Ok(Period { year, half })
    }
    pub fn code(&self) -> String {
        format!("{}H{}", self.year, self.half)
    }
    pub fn label(&self) -> String {
        format!("{}年{}", self.year, if self.half == 1 { "上半年" } else { "下半年" })
    }
    pub fn start(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, if self.half == 1 { 1 } else { 7 }, 1).unwrap_or_default()
    }
    pub fn end(&self) -> NaiveDate {
        if self.half == 1 {
            NaiveDate::from_ymd_opt(self.year, 6, 30).unwrap_or_default()
        } else {
            NaiveDate::from_ymd_opt(self.year, 12, 31).unwrap_or_default()
        }
    }
    pub fn year_start(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, 1, 1).unwrap_or_default()
    }
    pub fn previous(&self) -> Period {
        if self.half == 2 { Period { year: self.year, half: 1 } } else { Period { year: self.year - 1, half: 2 } }
    }
}

/// Days of the publication period for objections.
pub fn objection_days(field: &str, s: &str) -> Result<u32, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(5);
    }
    match s.parse::<u32>() {
        Ok(d) if d <= 30 => Ok(d),
        _ => Err(FieldError::new(field, "range", "公示天数应为 0 到 30 之间的整数")),
    }
}

/// The six-in-one community rubric (6 groups, 23 items, 100 points), shipped
/// as the example a street starts from.
pub const SIX_IN_ONE: &str = include_str!("../data/rubric-six-in-one.toml");

/// The five-star indicator set (五星争创) a street starts from: five stars,
/// 80 points from the records and assessors, 20 from residents' satisfaction.
pub const FIVE_STAR: &str = include_str!("../data/rubric-five-star.toml");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SIX: &str = SIX_IN_ONE;

    #[test]
    fn the_shipped_rubric_reads() {
        let r = Rubric::parse(SIX).expect("six-in-one");
        assert_eq!(r.total, 100);
        assert_eq!(r.groups.len(), 6);
        assert_eq!(r.items().count(), 23);
        let measured: Vec<u32> = r.items().filter(|i| i.is_measured()).map(|i| i.no).collect();
        assert_eq!(measured, vec![1, 2, 3, 8, 12, 16, 18, 21]);
        assert_eq!(r.item(1).map(|i| i.clauses().len()), Some(2));
        assert_eq!(r.item(16).map(|i| i.clauses()[1].figure), Some(Figure::ServiceGap));
        assert_eq!(r.figures().len(), Figure::ALL.len());
    }

    fn err_fields(text: &str) -> Vec<(String, &'static str)> {
        Rubric::parse(text).unwrap_err().0.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn bad_rubrics_name_the_field() {
        let head = "name = \"x\"\ntotal = 10\ncycle_years = 2\nreport_every_months = 6\n";
        let t = format!(
            "{head}[[group]]\nkey = \"a\"\nname = \"A\"\npoints = 10\nitems = [{{ no = 1, points = 6, text = \"t\" }}]\n"
        );
        assert_eq!(err_fields(&t), vec![("group[1].points".to_string(), "sum")]);
        let t = format!(
            "{head}[[group]]\nkey = \"a\"\nname = \"A\"\npoints = 6\nitems = [{{ no = 1, points = 6, text = \"t\" }}]\n"
        );
        assert_eq!(err_fields(&t), vec![("total".to_string(), "sum")]);
        let t = format!(
            "{head}[[group]]\nkey = \"a\"\nname = \"A\"\npoints = 10\nitems = [{{ no = 1, points = 10, text = \"t\", measure = \"count(brands) >= 1\", assessor = true }}]\n"
        );
        assert_eq!(err_fields(&t), vec![("group[1].items[1].measure".to_string(), "both")]);
        let t = format!(
            "{head}[[group]]\nkey = \"a\"\nname = \"A\"\npoints = 10\nitems = [{{ no = 1, points = 10, text = \"t\", measure = \"count(stars) >= 1\" }}]\n"
        );
        assert_eq!(err_fields(&t), vec![("group[1].items[1].measure".to_string(), "unknown_figure")]);
        assert_eq!(err_fields("name = ")[0].1, "toml");
    }

    #[test]
    fn measures_parse_with_arguments_holding_comparisons() {
        let c = parse_measure("m", "share(secretaries, degree >= college) >= 0.65").unwrap();
        assert_eq!(c, vec![Clause { figure: Figure::SecretaryDegree, cmp: Cmp::Ge, threshold: 0.65 }]);
        let c = parse_measure(
            "m",
            "participation_rate(members_in_community) > 0.60 and max_gap_days(collective_service) <= 61",
        )
        .unwrap();
        assert_eq!(c[0].cmp, Cmp::Gt);
        assert_eq!(c[1], Clause { figure: Figure::ServiceGap, cmp: Cmp::Le, threshold: 61.0 });
        assert_eq!(parse_measure("m", "count(brands) >= 1.5x").unwrap_err().code, "number");
        assert_eq!(parse_measure("m", "satisfaction_rate(requests, this_year) >= 90").unwrap_err().code, "range");
        assert_eq!(judge(&c, |f| if f == Figure::Participation { Some(0.7) } else { None }), Outcome::Missing);
        assert_eq!(judge(&c, |f| if f == Figure::Participation { Some(0.7) } else { Some(40.0) }), Outcome::Met);
        assert_eq!(judge(&c, |f| if f == Figure::Participation { Some(0.6) } else { Some(40.0) }), Outcome::Unmet);
    }

    #[test]
    fn scores_parse_in_range() {
        assert_eq!(Tenths::parse("s", "4.5", Tenths::points(6)), Ok(Tenths(45)));
        assert_eq!(Tenths::parse("s", "6", Tenths::points(6)), Ok(Tenths(60)));
        assert_eq!(Tenths::parse("s", "6.5", Tenths::points(6)).unwrap_err().code, "range");
        assert_eq!(Tenths::parse("s", "-1", Tenths::points(6)).unwrap_err().code, "number");
        assert_eq!(Tenths::parse("s", "4.55", Tenths::points(6)).unwrap_err().code, "number");
        assert_eq!(Tenths(45).to_string(), "4.5");
        assert_eq!(Period::parse("p", "2026h2").unwrap().start(), NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        assert!(Period::parse("p", "2026H3").is_err());
    }

    proptest! {
        /// Group and total scores always equal the sum of their items and
        /// never exceed their points, whatever was entered.
        #[test]
        fn tallies_add_up(entered in proptest::collection::vec((any::<bool>(), 0u32..200, 0u32..200, 0u8..4), 23)) {
            let r = Rubric::parse(SIX).unwrap();
            let items: Vec<&Item> = r.items().collect();
            let score = |i: &Item| {
                let k = items.iter().position(|x| x.no == i.no).unwrap();
                let (has_review, s, v, m) = entered[k];
                let outcome = [Some(Outcome::Met), Some(Outcome::Unmet), Some(Outcome::Missing), None][m as usize];
                item_score(i, outcome, Some(Tenths(s)), has_review.then_some(Tenths(v)))
            };
            let t = tally(&r, score);
            for (g, gt) in r.groups.iter().zip(&t.groups) {
                let sum: Tenths = g.items.iter().filter_map(&score).sum();
                prop_assert_eq!(gt.score, sum);
                prop_assert!(gt.score <= Tenths::points(g.points));
            }
            prop_assert_eq!(t.total, t.groups.iter().map(|g| g.score).sum::<Tenths>());
            prop_assert!(t.total <= Tenths::points(r.total));
        }
    }
}
