//! Volunteering (志愿服务): service posts (服务岗位) a community or branch
//! publishes, the agreement (领岗协议) a member signs when claiming one,
//! generated from the post and the member and versioned with the post, and
//! service hours that count only once someone other than the member confirms
//! them. The one place for the rules: what a post and a span of hours may
//! hold, when two spans collide, what an agreement says, and what counts in a
//! total.

use crate::error::{FieldError, Invalid};
use crate::text::Text;
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};

crate::id_types!(
    ServicePostId: "a service post",
    ClaimId: "a member's claim of a service post",
    HoursId: "a span of service hours",
    ReportId: "an in-service member's report to their residence community",
    InvitationId: "an invitation of a member to a service post",
    TeamId: "a service team (服务队)",
    EvaluationId: "a member's yearly service evaluation",
    WishInvitationId: "an invitation of a member to a published micro-wish",
);

crate::code_enum!(
    /// The grade the branch gives when it reviews a member's year of service.
    Grade {
        Excellent = "excellent": "优秀",
        Good = "good": "良好",
        Pass = "pass": "合格",
        Improve = "improve": "需改进",
    }
);

crate::code_enum!(
    /// A yearly evaluation: drafted from confirmed hours, then reviewed.
    EvaluationState {
        Draft = "draft": "待评议",
        Reviewed = "reviewed": "已评议",
    }
);

/// A service team's public terms: its name, what it does, when, its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamTerms {
    pub name: String,
    pub items: String,
    pub schedule: String,
    pub rules: String,
}

/// A team's fields as typed (form or API), named as the form names them.
#[derive(Debug, Clone, Copy, Default)]
pub struct TeamInput<'a> {
    pub name: &'a str,
    pub items: &'a str,
    pub schedule: &'a str,
    pub rules: &'a str,
}

impl TeamInput<'_> {
    pub fn validate(&self) -> Result<TeamTerms, Invalid> {
        let mut e = Invalid::default();
        let name = e.check(Text::required("name", self.name, 40));
        let items = e.check(Text::required("items", self.items, 500));
        let schedule = e.check(Text::required("schedule", self.schedule, 100));
        let rules = e.check(Text::parse("rules", self.rules, 1000));
        match (name, items, schedule, rules) {
            (Some(name), Some(items), Some(schedule), Some(rules)) if e.is_empty() => Ok(TeamTerms {
                name: name.into_string(),
                items: items.into_string(),
                schedule: schedule.into_string(),
                rules: rules.into_string(),
            }),
            _ => Err(e),
        }
    }
}

/// What a member did in a year, as the records show it: the ground of the
/// drafted evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearRecord {
    /// Confirmed minutes and the number of confirmed spans.
    pub minutes: i64,
    pub spans: i64,
    /// Posts held during the year and teams served in, by name.
    pub posts: Vec<String>,
    pub teams: Vec<String>,
    /// Requests (wishes and errands) the member served, by count.
    pub requests: i64,
}

/// The evaluation's draft text, from the confirmed record only: what the
/// member did, never a score. The branch writes its own comment and grade.
pub fn evaluation_draft(year: i32, member: &str, r: &YearRecord) -> String {
    let mut parts = Vec::new();
    if !r.posts.is_empty() {
        parts.push(format!("领岗：{}", r.posts.join("、")));
    }
    if !r.teams.is_empty() {
        parts.push(format!("参加：{}", r.teams.join("、")));
    }
    if r.requests > 0 {
        parts.push(format!("承办群众诉求和微心愿 {} 件", r.requests));
    }
    if r.spans == 0 {
        parts.push("没有经确认的服务时长".to_string());
    } else {
        parts.push(format!("经确认的服务 {} 次，共 {}", r.spans, hours_label(r.minutes)));
    }
    format!("{year} 年，{member}　{}。", parts.join("；"))
}

crate::code_enum!(
    /// Where an invitation to a post stands.
    InvitationState {
        Pending = "pending": "待回复",
        Accepted = "accepted": "已接受",
        Declined = "declined": "已婉拒",
    }
);

crate::code_enum!(
    /// Where a span of hours stands: only confirmed hours count.
    HoursState {
        Pending = "pending": "待确认",
        Confirmed = "confirmed": "已确认",
        Rejected = "rejected": "未确认",
    }
);

/// The most people one post takes.
pub const MAX_HEADCOUNT: i64 = 200;
/// The shortest and the longest span one entry may record, in minutes.
pub const MIN_MINUTES: i64 = 15;
pub const MAX_MINUTES: i64 = 12 * 60;

/// A service post as published: what, where, when, how many, skills wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostTerms {
    pub title: String,
    pub duty: String,
    pub place: String,
    pub schedule: String,
    pub headcount: i64,
    pub skills: String,
}

/// A post's fields as typed (form or API), named as the form names them.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostInput<'a> {
    pub title: &'a str,
    pub duty: &'a str,
    pub place: &'a str,
    pub schedule: &'a str,
    pub headcount: &'a str,
    pub skills: &'a str,
}

impl PostInput<'_> {
    pub fn validate(&self) -> Result<PostTerms, Invalid> {
        let mut e = Invalid::default();
        let title = e.check(Text::required("title", self.title, 40));
        let duty = e.check(Text::required("duty", self.duty, 500));
        let place = e.check(Text::required("place", self.place, 100));
        let schedule = e.check(Text::required("schedule", self.schedule, 100));
        let skills = e.check(Text::parse("skills", self.skills, 100));
        let headcount = match self.headcount.trim() {
            "" => Some(1),
            s => match s.parse::<i64>() {
                Ok(n) if (1..=MAX_HEADCOUNT).contains(&n) => Some(n),
                _ => {
                    e.push(FieldError::new("headcount", "range", format!("人数应为 1 到 {MAX_HEADCOUNT} 之间的整数")));
                    None
                }
            },
        };
        e.into_result()?;
        match (title, duty, place, schedule, skills, headcount) {
            (Some(t), Some(d), Some(p), Some(s), Some(k), Some(h)) => Ok(PostTerms {
                title: t.into_string(),
                duty: d.into_string(),
                place: p.into_string(),
                schedule: s.into_string(),
                headcount: h,
                skills: k.into_string(),
            }),
            _ => Err(Invalid::default()),
        }
    }
}

/// The agreement (领岗协议) a member signs for a post: generated from the
/// post's terms at a version, the organisation and the member, never typed.
pub fn agreement_text(org: &str, terms: &PostTerms, version: i64, member: &str, signed: NaiveDate) -> String {
    let skills =
        if terms.skills.is_empty() { String::new() } else { format!("岗位需要的特长：{}。\n", terms.skills) };
    format!(
        "领岗协议（第 {version} 版）\n\
         设岗组织：{org}\n\
         领岗党员：{member}\n\
         岗位：{title}\n\
         一、岗位职责：{duty}\n\
         二、服务地点：{place}；服务时间：{schedule}。\n\
         {skills}\
         三、领岗党员按时履职，服务情况如实登记，服务时长经设岗组织确认后计入。\n\
         四、设岗组织为领岗党员提供必要条件，岗位内容调整时另行确认新版协议。\n\
         五、本协议连同领岗党员姓名在岗位公示页公开，接受群众监督。\n\
         签订日期：{y}年{m}月{d}日",
        title = terms.title,
        duty = terms.duty,
        place = terms.place,
        schedule = terms.schedule,
        y = signed.year(),
        m = signed.month(),
        d = signed.day(),
    )
}

/// A span of service on one day, from `start` to `end` minutes after
/// midnight: at least [`MIN_MINUTES`], at most [`MAX_MINUTES`], never in the
/// future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub date: NaiveDate,
    pub start: i64,
    pub end: i64,
}

impl Span {
    pub fn minutes(&self) -> i64 {
        self.end - self.start
    }

    /// Two spans of the same person collide when they share a day and any
    /// minute.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.date == other.date && self.start < other.end && other.start < self.end
    }

    /// `HH:MM` of a minute of the day.
    pub fn clock(minute: i64) -> String {
        format!("{:02}:{:02}", minute / 60, minute % 60)
    }

    /// A span from a form: the date (not in the future, not before `earliest`
    /// when given), the start and end times (`HH:MM`).
    pub fn parse(
        date: &Option<String>,
        start: &Option<String>,
        end: &Option<String>,
        today: NaiveDate,
        earliest: Option<NaiveDate>,
    ) -> Result<Span, Invalid> {
        let mut e = Invalid::default();
        let d = e.check(crate::text::past_date("date", date, today).and_then(|d| match earliest {
            Some(first) if d < first => Err(FieldError::new("date", "range", format!("日期不能早于领岗日期 {first}"))),
            _ => Ok(d),
        }));
        let s = e.check(clock("start", opt(start)));
        let t = e.check(clock("end", opt(end)));
        if let (Some(s), Some(t)) = (s, t) {
            if t <= s {
                e.push(FieldError::new("end", "order", "结束时间应晚于开始时间"));
            } else if t - s < MIN_MINUTES {
                e.push(FieldError::new("end", "range", format!("一次至少登记 {MIN_MINUTES} 分钟")));
            } else if t - s > MAX_MINUTES {
                e.push(FieldError::new("end", "range", "一次最多登记 12 小时"));
            }
        }
        e.into_result()?;
        match (d, s, t) {
            (Some(date), Some(start), Some(end)) => Ok(Span { date, start, end }),
            _ => Err(Invalid::default()),
        }
    }
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn clock(field: &str, raw: &str) -> Result<i64, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "required", crate::i18n::REQUIRED));
    }
    NaiveTime::parse_from_str(s, "%H:%M")
        .map(|t| i64::from(t.hour()) * 60 + i64::from(t.minute()))
        .map_err(|_| FieldError::new(field, "time", format!("时间应写成 时:分，如 09:30：{s}")))
}

/// Hours as a total counts them: whose, when, how long, and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    pub member: i64,
    pub date: NaiveDate,
    pub minutes: i64,
    pub state: HoursState,
}

/// Confirmed minutes per member in a year, members in the order first seen:
/// the one rule for every total (a member's, a team's, an organisation's).
pub fn year_totals(year: i32, logged: &[Logged]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for l in logged.iter().filter(|l| l.state == HoursState::Confirmed && l.date.year() == year) {
        match out.iter_mut().find(|(m, _)| *m == l.member) {
            Some((_, total)) => *total += l.minutes,
            None => out.push((l.member, l.minutes)),
        }
    }
    out
}

/// The words of a skills text: split at punctuation and spaces, trimmed,
/// empty ones dropped ("法律、调解; 文艺" → 法律, 调解, 文艺).
pub fn skill_words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "、，,；;/／|。.".contains(c))
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// How well a member's skills and interests fit what a post wants: the
/// number of wanted words one of theirs contains or is contained in ("法律"
/// fits "法律咨询"). 0 when nothing fits or nothing is wanted. The one rule
/// for suggesting members; a relevance for the list offered to staff, never
/// a score shown of the member.
pub fn fit(wanted: &str, skills: &str, interests: &str) -> usize {
    let theirs: Vec<String> = skill_words(skills).into_iter().chain(skill_words(interests)).collect();
    skill_words(wanted)
        .iter()
        .filter(|w| theirs.iter().any(|t| t.contains(w.as_str()) || w.contains(t.as_str())))
        .count()
}

/// Minutes as hours in words: `2.5 小时`.
pub fn hours_label(minutes: i64) -> String {
    let h = minutes / 60;
    let rest = minutes % 60;
    if rest == 0 {
        format!("{h} 小时")
    } else {
        let tenths = (rest * 10 + 30) / 60;
        if tenths >= 10 { format!("{} 小时", h + 1) } else { format!("{h}.{tenths} 小时") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn spans() {
        let today = d("2026-06-10");
        let s = |a: &str, b: &str, c: &str| Span::parse(&Some(a.into()), &Some(b.into()), &Some(c.into()), today, None);
        let ok = s("2026-06-09", "09:00", "11:30").unwrap();
        assert_eq!(ok.minutes(), 150);
        assert_eq!(s("2026-06-11", "09:00", "10:00").unwrap_err().first().unwrap().field, "date");
        assert_eq!(s("2026-06-09", "10:00", "09:00").unwrap_err().first().unwrap().code, "order");
        assert_eq!(s("2026-06-09", "10:00", "10:10").unwrap_err().first().unwrap().code, "range");
        assert_eq!(s("2026-06-09", "9点", "10:00").unwrap_err().first().unwrap().field, "start");
        let early = Span::parse(
            &Some("2026-06-01".into()),
            &Some("09:00".into()),
            &Some("10:00".into()),
            today,
            Some(d("2026-06-05")),
        );
        assert_eq!(early.unwrap_err().first().unwrap().field, "date");
        let other = s("2026-06-09", "11:00", "12:00").unwrap();
        assert!(ok.overlaps(&other));
        let after = s("2026-06-09", "11:30", "12:00").unwrap();
        assert!(!ok.overlaps(&after));
        assert_eq!(hours_label(150), "2.5 小时");
        assert_eq!(hours_label(120), "2 小时");
        assert_eq!(Span::clock(570), "09:30");
    }

    #[test]
    fn teams_and_drafts() {
        let bad = TeamInput { name: "", items: "调解邻里纠纷", schedule: "每周二下午", rules: "" }.validate();
        assert_eq!(bad.unwrap_err().first().unwrap().field, "name");
        let ok =
            TeamInput { name: "矛盾调解队", items: "调解邻里纠纷", schedule: "每周二下午", rules: "" }
                .validate()
                .unwrap();
        assert_eq!(ok.name, "矛盾调解队");
        let r = YearRecord {
            minutes: 390,
            spans: 3,
            posts: vec!["楼道环境监督岗".into()],
            teams: vec!["矛盾调解队".into()],
            requests: 2,
        };
        let text = evaluation_draft(2026, "王小明", &r);
        assert!(text.contains("楼道环境监督岗") && text.contains("矛盾调解队"), "{text}");
        assert!(text.contains("3 次") && text.contains("6.5 小时"), "{text}");
        assert!(evaluation_draft(2026, "李红", &YearRecord::default()).contains("没有经确认的服务时长"));
    }

    #[test]
    fn posts_and_agreements() {
        let raw = PostInput {
            title: "楼道环境监督岗",
            duty: "每周巡查楼道堆物",
            place: "3幢",
            schedule: "每周六上午",
            headcount: "0",
            skills: "",
        };
        let err = raw.validate().unwrap_err();
        assert_eq!(err.first().unwrap().field, "headcount");
        let terms = PostInput { headcount: "2", ..raw }.validate().unwrap();
        let text = agreement_text("幸福社区党委", &terms, 2, "王小明", d("2026-06-01"));
        assert!(text.contains("第 2 版") && text.contains("王小明") && text.contains("楼道环境监督岗"));
        assert!(text.contains("2026年6月1日"));
    }

    #[test]
    fn fitting_skills() {
        assert_eq!(skill_words("法律、调解; 文艺 /  "), vec!["法律", "调解", "文艺"]);
        assert_eq!(fit("法律、调解", "法律咨询", "下棋"), 1);
        assert_eq!(fit("法律、调解", "调解，法律", ""), 2);
        assert_eq!(fit("文艺", "", "文艺演出"), 1);
        assert_eq!(fit("", "法律", "文艺"), 0);
        assert_eq!(fit("电工", "法律", ""), 0);
    }

    fn logged() -> impl Strategy<Value = Logged> {
        (1i64..5, 0i64..500, 15i64..600, 0usize..3).prop_map(|(member, day, minutes, st)| Logged {
            member,
            date: d("2025-10-01") + chrono::Duration::days(day),
            minutes,
            state: [HoursState::Pending, HoursState::Confirmed, HoursState::Rejected][st],
        })
    }

    proptest! {
        /// Every total is the sum of that member's confirmed minutes in the
        /// year, and nothing pending or rejected ever counts.
        #[test]
        fn totals_count_only_confirmed(all in proptest::collection::vec(logged(), 0..60), year in 2025i32..2028) {
            let totals = year_totals(year, &all);
            for m in 1..5 {
                let want: i64 = all.iter().filter(|l| l.member == m && l.date.year() == year && l.state == HoursState::Confirmed).map(|l| l.minutes).sum();
                let got = totals.iter().find(|(x, _)| *x == m).map(|(_, t)| *t).unwrap_or(0);
                prop_assert_eq!(want, got);
            }
            prop_assert!(totals.iter().all(|(_, t)| *t > 0));
        }

        /// A fit never exceeds the words wanted, and everyone fits what they have.
        #[test]
        fn fit_bounded(wanted in "[法律调解文艺电工、 ]{0,12}", skills in "[法律调解文艺电工、 ]{0,12}") {
            prop_assert!(fit(&wanted, &skills, "") <= skill_words(&wanted).len());
            prop_assert_eq!(fit(&skills, &skills, ""), skill_words(&skills).len());
        }

        /// Overlap is symmetric and a span always overlaps itself.
        #[test]
        fn overlap_symmetric(a in 0i64..1400, la in 15i64..600, b in 0i64..1400, lb in 15i64..600) {
            let day = d("2026-01-01");
            let x = Span { date: day, start: a, end: a + la };
            let y = Span { date: day, start: b, end: b + lb };
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
            prop_assert!(x.overlaps(&x));
        }
    }
}
