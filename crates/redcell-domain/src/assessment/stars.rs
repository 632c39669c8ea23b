//! Star ratings (五星争创): how an assessed total becomes a number of stars.
//!
//! A star indicator set is a rubric with a `[rating]` table: the thresholds
//! (points, on the scale of the rubric's total plus the satisfaction points)
//! at which an organisation holds one to five stars, an optional part of the
//! rating that comes from residents' satisfaction (the revisits' share of
//! satisfied), an optional floor below which the rating is capped, and
//! optional quotas (at most this share of the rated organisations may hold
//! at least so many stars). The rules are pure; the store reads the scores
//! and the satisfaction from the records.

use super::Tenths;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// Ratings have one to five stars.
pub const MAX_STARS: u32 = 5;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRating {
    thresholds: Option<Vec<i64>>,
    #[serde(default)]
    satisfaction_points: i64,
    satisfaction_floor: Option<f64>,
    floor_cap: Option<i64>,
    #[serde(default)]
    quota: Vec<RawQuota>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    stars: Option<i64>,
    share: Option<f64>,
}

/// At most `share` of the rated organisations may hold `stars` stars or more.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quota {
    pub stars: u32,
    pub share: f64,
}

impl Quota {
    /// How many of `n` rated organisations may hold the quota's stars: the
    /// share rounded down, but one at least when the share is above zero (a
    /// street of three communities can still have a five-star one).
    pub fn places(&self, n: usize) -> usize {
        if self.share <= 0.0 || n == 0 {
            return 0;
        }
        ((self.share * n as f64).floor() as usize).clamp(1, n)
    }
}

/// The rating rules of a star indicator set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingRules {
    /// Points (on `of`) for 1, 2, … stars, strictly rising.
    pub thresholds: Vec<u32>,
    /// Points of the rating that come from residents' satisfaction (0: none).
    pub satisfaction_points: u32,
    /// Below this share of satisfied residents the rating is capped.
    pub satisfaction_floor: Option<f64>,
    /// The most stars below the floor.
    pub floor_cap: u32,
    pub quotas: Vec<Quota>,
    /// The scale of the thresholds: the rubric's total plus the satisfaction points.
    pub of: u32,
}

impl RatingRules {
    pub(super) fn parse(r: &RawRating, total: u32) -> Result<RatingRules, FieldError> {
        let sp = r.satisfaction_points;
        if !(0..=1000).contains(&sp) {
            return Err(FieldError::new("rating.satisfaction_points", "range", "满意度分值应在 0 到 1000 之间"));
        }
        let of = total + sp as u32;
        let th = r.thresholds.clone().unwrap_or_default();
        if th.is_empty() || th.len() > MAX_STARS as usize {
            return Err(FieldError::new("rating.thresholds", "required", "评星分数线应有 1 到 5 个（一星到五星）"));
        }
        let mut last = 0i64;
        for (i, t) in th.iter().enumerate() {
            if *t <= last || *t > of as i64 {
                return Err(FieldError::new(
                    "rating.thresholds",
                    "order",
                    format!("第 {} 个分数线 {t} 应大于前一个且不超过 {of} 分", i + 1),
                ));
            }
            last = *t;
        }
        let floor = match r.satisfaction_floor {
            Some(f) if !(0.0..=1.0).contains(&f) => {
                return Err(FieldError::new("rating.satisfaction_floor", "range", "满意度底线是 0 到 1 之间的比例"));
            }
            f => f,
        };
        let floor_cap = match (floor, r.floor_cap) {
            (Some(_), None) => {
                return Err(FieldError::new(
                    "rating.floor_cap",
                    "required",
                    "设了满意度底线，还要写明低于底线时最多几星",
                ));
            }
            (_, Some(c)) if !(0..=MAX_STARS as i64).contains(&c) => {
                return Err(FieldError::new("rating.floor_cap", "range", "低于底线时的星级上限应在 0 到 5 之间"));
            }
            (_, c) => c.unwrap_or(MAX_STARS as i64) as u32,
        };
        let mut quotas: Vec<Quota> = Vec::new();
        for (i, q) in r.quota.iter().enumerate() {
            let f = |x: &str| format!("rating.quota[{}].{x}", i + 1);
            let stars = match q.stars {
                Some(s) if (1..=MAX_STARS as i64).contains(&s) => s as u32,
                _ => return Err(FieldError::new(f("stars"), "range", "名额限制的星级应在 1 到 5 之间")),
            };
            let share = match q.share {
                Some(s) if (0.0..=1.0).contains(&s) => s,
                _ => return Err(FieldError::new(f("share"), "range", "名额比例是 0 到 1 之间的小数")),
            };
            if quotas.iter().any(|x| x.stars == stars) {
                return Err(FieldError::new(f("stars"), "duplicate", format!("{stars} 星的名额写了两次")));
            }
            quotas.push(Quota { stars, share });
        }
        quotas.sort_by_key(|q| std::cmp::Reverse(q.stars));
        Ok(RatingRules {
            thresholds: th.iter().map(|t| *t as u32).collect(),
            satisfaction_points: sp as u32,
            satisfaction_floor: floor,
            floor_cap,
            quotas,
            of,
        })
    }

    /// Whether the rating needs the residents' satisfaction.
    pub fn needs_satisfaction(&self) -> bool {
        self.satisfaction_points > 0 || self.satisfaction_floor.is_some()
    }

    /// Rate one organisation from its assessed total (tenths of points) and
    /// the satisfied share of its revisited requests. `None` when the rating
    /// needs the satisfaction and there is none (missing is not zero).
    pub fn rate(&self, total: Tenths, satisfaction: Option<f64>) -> Option<Rated> {
        if self.needs_satisfaction() && satisfaction.is_none() {
            return None;
        }
        let sat = satisfaction.unwrap_or(0.0).clamp(0.0, 1.0);
        let from_sat = (sat * self.satisfaction_points as f64 * 10.0).floor() as u32;
        let score = Tenths(total.0.min((self.of - self.satisfaction_points) * 10) + from_sat);
        let by_score = self.thresholds.iter().filter(|t| score.0 >= **t * 10).count() as u32;
        let mut r = Rated { score, by_score, stars: by_score, limit: None };
        if let Some(floor) = self.satisfaction_floor
            && sat < floor
            && by_score > self.floor_cap
        {
            r.stars = self.floor_cap;
            r.limit = Some(Limit::Floor);
        }
        Some(r)
    }

    /// Apply the quotas to the ratings of one round (all organisations rated
    /// together). From the highest quota down, the organisations beyond the
    /// places (lowest scores first; equal scores keep their order) lose a
    /// star, so that at most the quota's places hold that many stars or more.
    pub fn apply_quotas(&self, rated: &mut [Rated]) {
        let n = rated.len();
        for q in &self.quotas {
            let places = q.places(n);
            let mut holders: Vec<usize> = (0..n).filter(|i| rated[*i].stars >= q.stars).collect();
            holders.sort_by(|a, b| rated[*b].score.cmp(&rated[*a].score).then(a.cmp(b)));
            for i in holders.into_iter().skip(places) {
                rated[i].stars = q.stars - 1;
                rated[i].limit = Some(Limit::Quota(q.stars));
            }
        }
    }
}

/// Why a rating is below what the score alone gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// Residents' satisfaction below the floor.
    Floor,
    /// The quota of this many stars was full.
    Quota(u32),
}

impl Limit {
    pub fn explain(&self, rules: &RatingRules) -> String {
        match self {
            Limit::Floor => format!(
                "群众满意率低于 {:.0}%，最多评 {} 星",
                rules.satisfaction_floor.unwrap_or(0.0) * 100.0,
                rules.floor_cap
            ),
            Limit::Quota(s) => format!("{s} 星名额已满（按得分排序）"),
        }
    }
}

/// One organisation's rating.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rated {
    /// The rating score: the assessed total plus the satisfaction points.
    pub score: Tenths,
    /// Stars the score alone gives.
    pub by_score: u32,
    /// Stars held.
    pub stars: u32,
    pub limit: Option<Limit>,
}

/// "★★★☆☆".
pub fn stars_text(n: u32) -> String {
    let n = n.min(MAX_STARS) as usize;
    format!("{}{}", "★".repeat(n), "☆".repeat(MAX_STARS as usize - n))
}

/// 评星定级 / 争星晋位: how a rating compares with the previous one.
pub fn movement(previous: Option<u32>, now: u32) -> &'static str {
    match previous {
        None => "首次评定",
        Some(p) if now > p => "晋位",
        Some(p) if now < p => "降级",
        Some(_) => "保持",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FIVE_STAR, Rubric};
    use super::*;
    use proptest::prelude::*;

    fn rules() -> RatingRules {
        Rubric::parse(FIVE_STAR).expect("shipped five-star set reads").rating.expect("has rating rules")
    }

    #[test]
    fn the_shipped_set_reads() {
        let r = Rubric::parse(FIVE_STAR).unwrap();
        assert_eq!(r.groups.len(), 5);
        let rr = r.rating.unwrap();
        assert_eq!(rr.of, 100);
        assert_eq!(rr.thresholds.len(), 5);
    }

    #[test]
    fn rating_rules_name_the_field() {
        let with = |rating: &str| {
            let text = FIVE_STAR.split("[rating]").next().unwrap().to_string() + "[rating]\n" + rating;
            Rubric::parse(&text).err().map(|e| e.0[0].field.clone())
        };
        assert_eq!(with("thresholds = [60, 50]").as_deref(), Some("rating.thresholds"));
        assert_eq!(with("thresholds = [60, 200]").as_deref(), Some("rating.thresholds"));
        assert_eq!(with("thresholds = [60]\nsatisfaction_floor = 0.6").as_deref(), Some("rating.floor_cap"));
        assert_eq!(
            with("thresholds = [60]\nsatisfaction_floor = 1.5\nfloor_cap = 2").as_deref(),
            Some("rating.satisfaction_floor")
        );
        assert_eq!(
            with("thresholds = [60]\n[[rating.quota]]\nstars = 6\nshare = 0.2").as_deref(),
            Some("rating.quota[1].stars")
        );
        assert_eq!(with("thresholds = [60]").as_deref(), None);
    }

    #[test]
    fn satisfaction_counts_and_caps() {
        let r = rules();
        assert_eq!(r.rate(Tenths(700), None), None, "missing satisfaction is not zero");
        let high = r.rate(Tenths(780), Some(0.95)).unwrap();
        assert_eq!(high.score, Tenths(780 + 190));
        assert_eq!(high.stars, 5);
        let low = r.rate(Tenths(800), Some(0.5)).unwrap();
        assert_eq!(low.limit, Some(Limit::Floor));
        assert_eq!(low.stars, r.floor_cap);
        assert!(low.by_score > low.stars);
    }

    proptest! {
        #[test]
        fn quotas_floor_and_thresholds_hold(orgs in proptest::collection::vec((0u32..=800, 0u32..=100), 1..40)) {
            let r = rules();
            let mut rated: Vec<Rated> = orgs.iter().map(|(t, s)| r.rate(Tenths(*t), Some(*s as f64 / 100.0)).unwrap()).collect();
            let before = rated.clone();
            r.apply_quotas(&mut rated);
            for q in &r.quotas {
                prop_assert!(rated.iter().filter(|x| x.stars >= q.stars).count() <= q.places(rated.len()));
            }
            for ((x, b), (_, s)) in rated.iter().zip(&before).zip(&orgs) {
                prop_assert!(x.stars <= x.by_score);
                prop_assert!(x.stars <= b.stars);
                prop_assert!(b.stars - x.stars <= r.quotas.len() as u32, "each quota takes one star at most");
                prop_assert!(x.score.0 <= r.of * 10);
                if let Some(f) = r.satisfaction_floor && (*s as f64 / 100.0) < f {
                    prop_assert!(x.stars <= r.floor_cap);
                }
            }
            // A higher score never holds fewer stars than a lower one.
            for a in &rated { for b in &rated { if a.score > b.score { prop_assert!(a.stars >= b.stars || a.limit == Some(Limit::Floor)); } } }
        }
    }
}
