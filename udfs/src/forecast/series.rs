//! From (timestamp, value) rows to a regular series: the step (hourly, daily, weekly, monthly,
//! …) inferred from the timestamps, missing steps filled, the season length inferred from the
//! step, and the future timestamps that continue it.

use std::collections::BTreeMap;

const MICROS_PER_DAY: i64 = 86_400_000_000;
const WEEK: i64 = 7 * MICROS_PER_DAY;
const QUARTER_HOUR: i64 = 15 * 60_000_000;

/// The spacing of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A fixed duration in microseconds (hours, days, weeks, …).
    Fixed(i64),
    /// Calendar months (1 = monthly, 3 = quarterly, 12 = yearly), same day of month and time.
    Months(i32),
}

/// A regular series: `values[i]` is at `start` + i steps (missing steps filled).
#[derive(Debug, Clone)]
pub struct Series {
    pub start: i64,
    pub step: Step,
    pub values: Vec<f64>,
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (month index since year 0, day of month, time of day in µs) of a timestamp.
fn month_parts(micros: i64) -> (i64, i64, i64) {
    let day = micros.div_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(day);
    (y * 12 + m - 1, d, micros.rem_euclid(MICROS_PER_DAY))
}

impl Step {
    /// The timestamp `k` steps after `start`.
    pub fn advance(self, start: i64, k: i64) -> i64 {
        match self {
            Step::Fixed(d) => start.saturating_add(k.saturating_mul(d)),
            Step::Months(n) => {
                let (month, day, time) = month_parts(start);
                let target = month + k * i64::from(n);
                let (y, m) = (target.div_euclid(12), target.rem_euclid(12) + 1);
                // Month ends: clamp the day (Jan 31 + 1 month = Feb 28/29).
                let last =
                    days_from_civil(y + (m == 12) as i64, m % 12 + 1, 1) - days_from_civil(y, m, 1);
                days_from_civil(y, m, day.min(last)) * MICROS_PER_DAY + time
            }
        }
    }

    /// The usual season length of data at this step.
    pub fn default_season(self) -> usize {
        match self {
            Step::Months(1) => 12,
            Step::Months(3) => 4,
            Step::Months(_) => 1,
            Step::Fixed(MICROS_PER_DAY) => 7,
            Step::Fixed(WEEK) => 52,
            Step::Fixed(3_600_000_000) => 24,
            Step::Fixed(60_000_000) => 60,
            Step::Fixed(QUARTER_HOUR) => 96,
            Step::Fixed(_) => 1,
        }
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// Builds the regular series of `points` (µs timestamp, value), NULL values already dropped.
/// Errors say what is wrong in words a caller can act on.
pub fn regularize(points: &[(i64, f64)]) -> Result<Series, String> {
    let mut by_time: BTreeMap<i64, f64> = BTreeMap::new();
    for &(t, v) in points {
        if !v.is_finite() {
            return Err(format!(
                "a value is {v}; values must be finite numbers (NULLs are skipped)"
            ));
        }
        if by_time.insert(t, v).is_some() {
            return Err(
                "two rows have the same timestamp; aggregate to one value per time step first"
                    .into(),
            );
        }
    }
    let times: Vec<i64> = by_time.keys().copied().collect();
    if times.len() > 1 && times[times.len() - 1].checked_sub(times[0]).is_none() {
        return Err("the timestamps span more than the representable range".into());
    }
    let values: Vec<f64> = by_time.values().copied().collect();
    if times.len() == 1 {
        return Ok(Series {
            start: times[0],
            step: Step::Fixed(MICROS_PER_DAY),
            values,
        });
    }
    // Calendar months first: every point on the same day of month and time of day.
    let parts: Vec<(i64, i64, i64)> = times.iter().map(|&t| month_parts(t)).collect();
    let same_day = parts.iter().all(|p| p.1 == parts[0].1 && p.2 == parts[0].2)
        && parts.windows(2).all(|w| w[1].0 > w[0].0);
    let monthly_candidate = same_day && parts.windows(2).all(|w| w[1].0 - w[0].0 >= 1);
    let (step, index): (Step, Vec<i64>) =
        if monthly_candidate && times.windows(2).any(|w| w[1] - w[0] >= 27 * MICROS_PER_DAY) {
            let g = parts.windows(2).fold(0, |g, w| gcd(g, w[1].0 - w[0].0));
            let index = parts.iter().map(|p| (p.0 - parts[0].0) / g).collect();
            (Step::Months(g as i32), index)
        } else {
            let g = times.windows(2).fold(0, |g, w| gcd(g, w[1] - w[0]));
            let index = times.iter().map(|t| (t - times[0]) / g).collect();
            (Step::Fixed(g), index)
        };
    let len = (index[index.len() - 1] + 1) as usize;
    if len > 2 * times.len() + 10 {
        return Err(format!(
            "the timestamps are irregular: at the common step they span {len} steps but only {} hold values; \
             bucket them (date_trunc) and aggregate to one value per step first",
            times.len()
        ));
    }
    // Missing steps are filled by linear interpolation between their neighbours.
    let mut series = vec![f64::NAN; len];
    for (&i, &v) in index.iter().zip(&values) {
        series[i as usize] = v;
    }
    for w in index.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        for k in a + 1..b {
            let frac = (k - a) as f64 / (b - a) as f64;
            series[k] = series[a] + frac * (series[b] - series[a]);
        }
    }
    Ok(Series {
        start: times[0],
        step,
        values: series,
    })
}

impl Series {
    /// The timestamps of the `h` steps after the last point.
    pub fn future(&self, h: usize) -> Vec<i64> {
        let n = self.values.len() as i64;
        (0..h as i64)
            .map(|k| self.step.advance(self.start, n + k))
            .collect()
    }

    /// The timestamp of point `i`.
    pub fn time(&self, i: usize) -> i64 {
        self.step.advance(self.start, i as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i64, m: i64, d: i64) -> i64 {
        days_from_civil(y, m, d) * MICROS_PER_DAY
    }

    #[test]
    fn daily_with_a_gap_is_filled() {
        let pts = [
            (day(2025, 1, 1), 1.0),
            (day(2025, 1, 2), 2.0),
            (day(2025, 1, 4), 4.0),
        ];
        let s = regularize(&pts).unwrap();
        assert_eq!(s.step, Step::Fixed(MICROS_PER_DAY));
        assert_eq!(s.values, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.future(2), vec![day(2025, 1, 5), day(2025, 1, 6)]);
        assert_eq!(s.step.default_season(), 7);
    }

    #[test]
    fn months_follow_the_calendar() {
        let pts: Vec<(i64, f64)> = (1..=14)
            .map(|k| {
                let (y, m) = (2024 + (k - 1) / 12, (k - 1) % 12 + 1);
                (day(y, m, 1), k as f64)
            })
            .collect();
        let s = regularize(&pts).unwrap();
        assert_eq!(s.step, Step::Months(1));
        assert_eq!(s.future(1), vec![day(2025, 3, 1)]);
        assert_eq!(s.step.default_season(), 12);
        let q: Vec<(i64, f64)> = (0..8)
            .map(|k| (day(2020 + k / 4, (k % 4) * 3 + 1, 1), 1.0))
            .collect();
        assert_eq!(regularize(&q).unwrap().step, Step::Months(3));
        assert_eq!(
            Step::Months(1).advance(day(2024, 1, 31), 1),
            day(2024, 2, 29)
        );
    }

    #[test]
    fn irregular_and_duplicate_timestamps_are_refused() {
        let pts = [(0, 1.0), (7, 1.0), (1_000_000, 2.0)];
        assert!(regularize(&pts).unwrap_err().contains("irregular"));
        assert!(regularize(&[(0, 1.0), (0, 2.0)])
            .unwrap_err()
            .contains("same timestamp"));
    }
}
