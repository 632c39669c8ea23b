//! Working days in mainland China: weekends, public holidays and the weekend
//! days worked instead (调休), from a calendar kept as data.
//!
//! Business dates are dates in Asia/Shanghai (UTC+8 all year, no daylight
//! saving). The shipped calendar (`data/holidays-cn.txt`) covers the years
//! announced so far; the store keeps a per-tenant copy that administrators can
//! extend, and builds a [`HolidayCalendar`] from it. For a year with no entry
//! the calendar falls back to plain weekends and says so through
//! [`HolidayCalendar::covers`], so a page can warn that a deadline may be off.

use crate::i18n;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Whether a listed day is a day off or a worked weekend day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    /// A day off (a public holiday or a weekday moved into a holiday block).
    Off,
    /// A Saturday or Sunday that is a working day (调休上班).
    Work,
}

impl DayKind {
    pub fn code(self) -> &'static str {
        match self {
            DayKind::Off => "off",
            DayKind::Work => "work",
        }
    }
    pub fn from_code(s: &str) -> Option<DayKind> {
        match s {
            "off" => Some(DayKind::Off),
            "work" => Some(DayKind::Work),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            DayKind::Off => i18n::DAY_OFF,
            DayKind::Work => i18n::DAY_WORK,
        }
    }
}

impl crate::CodeEnum for DayKind {
    fn from_code(s: &str) -> Option<Self> {
        DayKind::from_code(s)
    }
    fn code(self) -> &'static str {
        DayKind::code(self)
    }
    fn label(self) -> &'static str {
        DayKind::label(self)
    }
}

/// One listed day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpecialDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

/// A calendar entry that cannot be accepted, with the line (1-based) when it
/// came from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", line.map(|l| format!("第{l}行：")).unwrap_or_default())]
pub struct CalendarError {
    pub line: Option<usize>,
    pub reason: String,
}

fn weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Check one entry on its own: a worked day must fall on a weekend, a name is
/// required and short.
pub fn check_day(day: &SpecialDay) -> Result<(), String> {
    if day.kind == DayKind::Work && !weekend(day.date) {
        return Err(format!("{} {}", day.date, i18n::WORKDAY_NOT_WEEKEND));
    }
    let name = day.name.trim();
    if name.is_empty() {
        return Err(i18n::HOLIDAY_NAME_REQUIRED.to_string());
    }
    if name.chars().count() > 20 {
        return Err(i18n::HOLIDAY_NAME_TOO_LONG.to_string());
    }
    if !(2000..=2100).contains(&day.date.year()) {
        return Err(i18n::HOLIDAY_YEAR_RANGE.to_string());
    }
    Ok(())
}

/// Parse the text format of `data/holidays-cn.txt`: `YYYY-MM-DD off|work name`
/// per line, `#` comments and blank lines ignored.
pub fn parse(text: &str) -> Result<Vec<SpecialDay>, CalendarError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let err = |reason: String| CalendarError { line: Some(i + 1), reason };
        let mut parts = line.split_whitespace();
        let (Some(date), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err(i18n::HOLIDAY_LINE_FORMAT.to_string()));
        };
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| err(i18n::DATE_INVALID.to_string()))?;
        let kind = DayKind::from_code(kind).ok_or_else(|| err(i18n::HOLIDAY_KIND_INVALID.to_string()))?;
        let day = SpecialDay { date, kind, name: name.to_string() };
        check_day(&day).map_err(err)?;
        out.push(day);
    }
    Ok(out)
}

/// Working days and holidays, built from listed days.
#[derive(Debug, Clone, Default)]
pub struct HolidayCalendar {
    special: BTreeMap<NaiveDate, SpecialDay>,
    years: BTreeSet<i32>,
}

impl HolidayCalendar {
    /// Build from listed days; the same date twice is refused.
    pub fn new(days: impl IntoIterator<Item = SpecialDay>) -> Result<HolidayCalendar, CalendarError> {
        let mut cal = HolidayCalendar::default();
        for day in days {
            check_day(&day).map_err(|reason| CalendarError { line: None, reason })?;
            if cal.special.contains_key(&day.date) {
                return Err(CalendarError { line: None, reason: format!("{} {}", day.date, i18n::HOLIDAY_DUPLICATE) });
            }
            cal.years.insert(day.date.year());
            cal.special.insert(day.date, day);
        }
        Ok(cal)
    }

    /// The calendar shipped with redcell.
    pub fn shipped() -> &'static HolidayCalendar {
        static CAL: OnceLock<HolidayCalendar> = OnceLock::new();
        CAL.get_or_init(|| {
            let days = parse(include_str!("../data/holidays-cn.txt")).expect("shipped holiday calendar parses");
            HolidayCalendar::new(days).expect("shipped holiday calendar is consistent")
        })
    }

    /// The listed days in date order.
    pub fn days(&self) -> impl Iterator<Item = &SpecialDay> {
        self.special.values()
    }

    /// The listed entry for a date, if any.
    pub fn special(&self, d: NaiveDate) -> Option<&SpecialDay> {
        self.special.get(&d)
    }

    /// Whether the calendar lists any day of this year (otherwise only
    /// weekends are known for it).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.special.get(&d) {
            Some(s) => s.kind == DayKind::Work,
            None => !weekend(d),
        }
    }

    /// The first working day on or after `d`.
    pub fn next_working_day(&self, d: NaiveDate) -> NaiveDate {
        let mut d = d;
        while !self.is_working_day(d) {
            d += Duration::days(1);
        }
        d
    }

    /// `n` working days after `d`: with `n == 0` the first working day on or
    /// after `d` (something due "the same working day" that arrives on a
    /// holiday is due on the next working day); with `n > 0` the n-th working
    /// day strictly after `d`.
    pub fn add_working_days(&self, d: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            return self.next_working_day(d);
        }
        let mut d = d;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days in the half-open range `(from, to]`; negative when `to`
    /// is before `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let mut n = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

/// The offset of Asia/Shanghai from UTC (no daylight saving since 1991).
pub const SHANGHAI_OFFSET_HOURS: i64 = 8;

/// The business date in Asia/Shanghai of an instant.
pub fn shanghai_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(SHANGHAI_OFFSET_HOURS)).date_naive()
}

/// Today in Asia/Shanghai.
pub fn shanghai_today() -> NaiveDate {
    shanghai_date(Utc::now())
}

/// The years a report, a card or a list may ask about: 1949 to 2200 (a
/// year outside them is a mistake, and would overflow date arithmetic).
pub fn check_year(field: &str, year: i32) -> Result<i32, crate::error::FieldError> {
    if (1949..=2200).contains(&year) {
        Ok(year)
    } else {
        Err(crate::error::FieldError::new(field, "range", "年份应在 1949 到 2200 之间"))
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
    fn shipped_calendar_knows_holidays_and_make_up_days() {
        let c = HolidayCalendar::shipped();
        assert!(c.covers(2025) && c.covers(2026));
        assert!(!c.is_working_day(d("2026-10-01")), "National Day is off");
        assert!(c.is_working_day(d("2026-10-10")), "a Saturday worked in exchange");
        assert!(c.is_working_day(d("2026-01-04")), "a Sunday worked after New Year");
        assert!(!c.is_working_day(d("2026-02-16")), "Spring Festival");
        assert!(!c.is_working_day(d("2026-11-22")), "an ordinary Sunday");
        assert!(c.is_working_day(d("2026-11-23")), "an ordinary Monday");
    }

    #[test]
    fn deadlines_skip_holidays() {
        let c = HolidayCalendar::shipped();
        // Submitted on the last working day before National Day (Wed 30 Sep 2026):
        // one working day later is Fri 9 Oct (1–7 off, 8 Thu works).
        assert_eq!(c.add_working_days(d("2026-09-30"), 1), d("2026-10-08"));
        assert_eq!(c.add_working_days(d("2026-09-30"), 3), d("2026-10-10"), "the make-up Saturday counts");
        // Same-day errand handed in on a holiday is due on the next working day.
        assert_eq!(c.add_working_days(d("2026-10-03"), 0), d("2026-10-08"));
        assert_eq!(c.add_working_days(d("2026-11-23"), 0), d("2026-11-23"));
        assert_eq!(c.working_days_between(d("2026-09-30"), d("2026-10-10")), 3);
        assert_eq!(c.working_days_between(d("2026-10-10"), d("2026-09-30")), -3);
    }

    #[test]
    fn uncovered_years_fall_back_to_weekends() {
        let c = HolidayCalendar::shipped();
        assert!(!c.covers(2031));
        assert!(c.is_working_day(d("2031-01-01")), "no data: a Wednesday is a working day");
        assert!(!c.is_working_day(d("2031-01-04")));
    }

    #[test]
    fn bad_entries_are_named() {
        let e = parse("2026-10-01 off 国庆\n2026-10-12 work 调休").unwrap_err();
        assert_eq!(e.line, Some(2), "a Monday cannot be a make-up working day");
        assert!(parse("2026-02-30 off x").unwrap_err().to_string().starts_with("第1行"));
        assert!(parse("2026-10-01 rest 国庆").is_err());
        assert!(parse("2026-10-01 off").is_err());
        let dup = vec![
            SpecialDay { date: d("2026-10-01"), kind: DayKind::Off, name: "国庆".into() },
            SpecialDay { date: d("2026-10-01"), kind: DayKind::Off, name: "国庆".into() },
        ];
        assert!(HolidayCalendar::new(dup).is_err());
    }

    #[test]
    fn shanghai_dates_turn_at_utc_16() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T15:59:59Z").unwrap().with_timezone(&Utc);
        assert_eq!(shanghai_date(t), d("2026-11-22"));
        assert_eq!(shanghai_date(t + Duration::seconds(1)), d("2026-11-23"));
    }

    proptest! {
        #[test]
        fn adding_working_days_agrees_with_counting(start in 0i64..1100, n in 0u32..40) {
            let c = HolidayCalendar::shipped();
            let s = d("2025-01-01") + Duration::days(start);
            let due = c.add_working_days(s, n);
            prop_assert!(c.is_working_day(due));
            prop_assert!(due >= s);
            if n > 0 {
                prop_assert_eq!(c.working_days_between(s, due), n as i64);
                prop_assert!(c.working_days_between(s, due - Duration::days(1)) < n as i64);
            } else {
                prop_assert!((0..(due - s).num_days()).all(|k| !c.is_working_day(s + Duration::days(k))));
            }
        }
    }
}
