//! Demand questions: summaries, trends with a forecast, shortage alerts, the joint report.
//!
//! Terms used throughout:
//! - a signal is *open* on a date unless it was closed on or before that date;
//! - the *demanded* headcount of a period is the headcount of every signal for that period
//!   except those cancelled on or before the date (filled and expired demand was real);
//! - the *forecast* is an ordinary least-squares line through the demanded headcount of
//!   the last N periods (x = 0..N-1), evaluated at x = N and clamped at 0.

use std::collections::{BTreeMap, BTreeSet};

use hub_proto::convert::{industry_from_proto, industry_to_proto};
use hub_proto::pb;
use hub_types::error::AtField;
use hub_types::fold::DemandSignal;
use hub_types::values::{CloseReason, Industry};
use hub_types::{Date, MemberId, Period, ValidationError};

use crate::axes::{resolve, Axes};
use crate::{Inner, Result, View};

/// How the forecast is made, returned with every trend.
pub const FORECAST_METHOD: &str =
    "ordinary least squares over the shown periods (x = 0..n-1), evaluated at x = n, clamped at 0";

/// Default and bounds of the number of periods in a trend.
const DEFAULT_PERIODS: u32 = 4;
const MAX_PERIODS: u32 = 20;

fn demanded(signal: &DemandSignal, date: Date) -> u64 {
    match &signal.closed {
        Some(c) if c.reason == CloseReason::Cancelled && c.closed_at <= date => 0,
        _ => u64::from(signal.terms.headcount),
    }
}

fn filled(signal: &DemandSignal, date: Date) -> u64 {
    match &signal.closed {
        Some(c) if c.closed_at <= date => u64::from(c.filled),
        _ => 0,
    }
}

/// The signals visible at the question's cut.
fn signals<'a>(inner: &'a Inner, axes: &'a Axes) -> impl Iterator<Item = &'a DemandSignal> + 'a {
    inner
        .state
        .signals
        .values()
        .filter_map(move |h| axes.version(h))
}

/// Least-squares slope and the value at x = n of points at x = 0..n-1.
pub fn least_squares_forecast(ys: &[f64]) -> (f64, f64) {
    let n = ys.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / nf;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in ys.iter().enumerate() {
        let dx = x as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    let forecast = (mean_y + slope * (nf - mean_x)).max(0.0);
    (slope, forecast)
}

fn opt_industry(raw: i32, field: &str) -> Result<Option<Industry>, ValidationError> {
    if raw == 0 {
        return Ok(None);
    }
    industry_from_proto(raw).at(field).map(Some)
}

fn opt_parse<T: std::str::FromStr<Err = ValidationError>>(
    s: &str,
    field: &str,
) -> Result<Option<T>, ValidationError> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<T>().at(field).map(Some)
}

fn period(s: &str, field: &str) -> Result<Period, ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::new(field, "must be set (YYYY-Qn)"));
    }
    s.parse::<Period>().at(field)
}

/// Demanded headcount per period of every industry with signals (or only `industry`),
/// optionally of one city, in one pass over the signals.
fn demand_by_industry(
    inner: &Inner,
    axes: &Axes,
    industry: Option<Industry>,
    city: Option<MemberId>,
) -> BTreeMap<Industry, BTreeMap<Period, u64>> {
    let mut by_industry: BTreeMap<Industry, BTreeMap<Period, u64>> = BTreeMap::new();
    for s in signals(inner, axes) {
        if industry.is_none_or(|i| i == s.terms.industry) && city.is_none_or(|c| c == s.origin) {
            *by_industry
                .entry(s.terms.industry)
                .or_default()
                .entry(s.terms.period)
                .or_default() += demanded(s, axes.date);
        }
    }
    by_industry
}

/// The number of periods a trend request asks for, checked.
fn trend_periods(raw: u32) -> Result<u32, ValidationError> {
    match raw {
        0 => Ok(DEFAULT_PERIODS),
        n if (2..=MAX_PERIODS).contains(&n) => Ok(n),
        n => Err(ValidationError::new(
            "periods",
            format!("expected 2..={MAX_PERIODS}, got {n}"),
        )),
    }
}

/// The trend of `n` periods ending with the last period of `by_period`, and its forecast.
fn trend(by_period: &BTreeMap<Period, u64>, n: u32, axes: &Axes) -> pb::DemandTrendResponse {
    let Some(last) = by_period.keys().next_back().copied() else {
        return pb::DemandTrendResponse {
            method: FORECAST_METHOD.into(),
            basis: Some(axes.basis()),
            ..Default::default()
        };
    };
    let points = series(by_period, last, n);
    let ys: Vec<f64> = points.iter().map(|(_, y)| *y as f64).collect();
    let (slope, forecast) = least_squares_forecast(&ys);
    pb::DemandTrendResponse {
        points: points
            .into_iter()
            .map(|(p, y)| pb::TrendPoint {
                period: p.to_string(),
                demanded: y,
            })
            .collect(),
        forecast_period: last.next().to_string(),
        forecast,
        slope,
        method: FORECAST_METHOD.into(),
        basis: Some(axes.basis()),
    }
}

/// The `n` periods ending with `last`, oldest first, with their demand (0 where none).
fn series(by_period: &BTreeMap<Period, u64>, last: Period, n: u32) -> Vec<(Period, u64)> {
    (0..i64::from(n))
        .rev()
        .map(|back| {
            let p = Period::from_index(last.index() - back);
            (p, by_period.get(&p).copied().unwrap_or(0))
        })
        .collect()
}

impl View {
    /// Answers `DemandSummary`: open headcount on the date, grouped and filtered.
    pub fn demand_summary(
        &self,
        req: &pb::DemandSummaryRequest,
    ) -> Result<pb::DemandSummaryResponse> {
        let group_by = match pb::GroupBy::try_from(req.group_by) {
            Ok(pb::GroupBy::Unspecified) => {
                return Err(ValidationError::new("group_by", "must be set").into())
            }
            Ok(g) => g,
            Err(_) => {
                return Err(ValidationError::new(
                    "group_by",
                    format!("unknown value {}", req.group_by),
                )
                .into())
            }
        };
        let f = req.filter.clone().unwrap_or_default();
        let industry = opt_industry(f.industry, "filter.industry")?;
        let city: Option<MemberId> = opt_parse(&f.city, "filter.city")?;
        let period: Option<Period> = opt_parse(&f.period, "filter.period")?;
        let occupation: Option<hub_types::values::OccupationCode> =
            opt_parse(&f.occupation_code, "filter.occupation_code")?;
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let mut groups: BTreeMap<String, pb::DemandGroup> = BTreeMap::new();
        for s in signals(&inner, &axes) {
            let t = &s.terms;
            if industry.is_some_and(|i| i != t.industry)
                || city.is_some_and(|c| c != s.origin)
                || period.is_some_and(|p| p != t.period)
                || occupation.is_some_and(|o| o != t.occupation_code)
            {
                continue;
            }
            let key = match group_by {
                pb::GroupBy::Industry => t.industry.to_string(),
                pb::GroupBy::City => s.origin.to_string(),
                pb::GroupBy::Occupation => t.occupation_code.to_string(),
                pb::GroupBy::Period | pb::GroupBy::Unspecified => t.period.to_string(),
            };
            let g = groups
                .entry(key.clone())
                .or_insert_with(|| pb::DemandGroup {
                    key,
                    ..Default::default()
                });
            if s.open_on(axes.date) {
                g.open_headcount += u64::from(t.headcount);
                g.open_signals += 1;
            }
            g.filled += filled(s, axes.date);
        }
        let total = groups.values().map(|g| g.open_headcount).sum();
        Ok(pb::DemandSummaryResponse {
            groups: groups.into_values().collect(),
            total_open_headcount: total,
            basis: Some(axes.basis()),
        })
    }

    /// Answers `DemandTrend`: demanded headcount over the last periods with data, and the
    /// least-squares forecast for the next one.
    pub fn demand_trend(&self, req: &pb::DemandTrendRequest) -> Result<pb::DemandTrendResponse> {
        let industry = industry_from_proto(req.industry).at("industry")?;
        let city: Option<MemberId> = opt_parse(&req.city, "city")?;
        let n = trend_periods(req.periods)?;
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let by_industry = demand_by_industry(&inner, &axes, Some(industry), city);
        let none = BTreeMap::new();
        Ok(trend(by_industry.get(&industry).unwrap_or(&none), n, &axes))
    }

    /// Answers `DemandTrend` for every industry, in [`Industry::ALL`] order, with one pass
    /// over the signals: each answer is the one [`View::demand_trend`] gives for its
    /// industry with the same time, city and periods (`req.industry` is not read).
    pub fn demand_trends(
        &self,
        req: &pb::DemandTrendRequest,
    ) -> Result<Vec<(Industry, pb::DemandTrendResponse)>> {
        let city: Option<MemberId> = opt_parse(&req.city, "city")?;
        let n = trend_periods(req.periods)?;
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let by_industry = demand_by_industry(&inner, &axes, None, city);
        let none = BTreeMap::new();
        Ok(Industry::ALL
            .into_iter()
            .map(|i| (i, trend(by_industry.get(&i).unwrap_or(&none), n, &axes)))
            .collect())
    }

    /// Answers `ShortageAlerts` for a period: every industry, per city and alliance-wide,
    /// whose growth over the previous period or whose forecast crosses the thresholds.
    pub fn shortage_alerts(
        &self,
        req: &pb::ShortageAlertsRequest,
    ) -> Result<pb::ShortageAlertsResponse> {
        let period = period(&req.period, "period")?;
        let th = self.config().thresholds;
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        // Demand per period of every industry and city in one pass over the signals; the
        // alliance-wide demand (`None`) and the cities seen follow from those few sums.
        let mut demand: BTreeMap<(Industry, Option<MemberId>), BTreeMap<Period, u64>> =
            BTreeMap::new();
        for s in signals(&inner, &axes) {
            *demand
                .entry((s.terms.industry, Some(s.origin)))
                .or_default()
                .entry(s.terms.period)
                .or_default() += demanded(s, axes.date);
        }
        let mut seen = BTreeSet::new();
        let mut alliance: BTreeMap<(Industry, Option<MemberId>), BTreeMap<Period, u64>> =
            BTreeMap::new();
        for ((industry, city), by_period) in &demand {
            seen.extend(*city);
            let total = alliance.entry((*industry, None)).or_default();
            for (period, n) in by_period {
                *total.entry(*period).or_default() += n;
            }
        }
        demand.extend(alliance);
        let cities: Vec<Option<MemberId>> = std::iter::once(None)
            .chain(seen.into_iter().map(Some))
            .collect();
        let none = BTreeMap::new();
        let mut alerts = Vec::new();
        for industry in Industry::ALL {
            for city in &cities {
                let by_period = demand.get(&(industry, *city)).unwrap_or(&none);
                let points = series(by_period, period, DEFAULT_PERIODS);
                let cur = points.last().map_or(0, |p| p.1);
                let prev = points.len().checked_sub(2).map_or(0, |i| points[i].1);
                if cur < th.min_headcount {
                    continue;
                }
                let ys: Vec<f64> = points.iter().map(|(_, y)| *y as f64).collect();
                let (_, forecast) = least_squares_forecast(&ys);
                let growth = if prev == 0 {
                    0.0
                } else {
                    (cur as f64 - prev as f64) / prev as f64
                };
                let mut reasons = Vec::new();
                if prev > 0 && growth >= th.growth {
                    reasons.push("growth".to_owned());
                }
                if (forecast - cur as f64) / cur as f64 >= th.forecast_growth {
                    reasons.push("forecast".to_owned());
                }
                if reasons.is_empty() {
                    continue;
                }
                alerts.push(pb::ShortageAlert {
                    industry: industry_to_proto(industry) as i32,
                    city: city.map(|c| c.to_string()).unwrap_or_default(),
                    demanded: cur,
                    previous: prev,
                    growth,
                    forecast,
                    reasons,
                });
            }
        }
        Ok(pb::ShortageAlertsResponse {
            alerts,
            growth_threshold: th.growth,
            forecast_growth_threshold: th.forecast_growth,
            min_headcount: th.min_headcount,
            basis: Some(axes.basis()),
        })
    }

    /// Answers `JointReport`: per industry and city, the period's demand, what is open and
    /// filled on the date, and median pay; plus per-industry alliance totals.
    pub fn joint_report(&self, req: &pb::JointReportRequest) -> Result<pb::JointReportResponse> {
        let period = period(&req.period, "period")?;
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        type Acc = (pb::JointReportRow, Vec<u32>, Vec<u32>);
        let mut rows: BTreeMap<(Industry, Option<MemberId>), Acc> = BTreeMap::new();
        for s in signals(&inner, &axes).filter(|s| s.terms.period == period) {
            for city in [Some(s.origin), None] {
                let (row, mins, maxs) = rows.entry((s.terms.industry, city)).or_default();
                row.demanded += demanded(s, axes.date);
                if s.open_on(axes.date) {
                    row.open_headcount += u64::from(s.terms.headcount);
                }
                row.filled += filled(s, axes.date);
                row.signals += 1;
                mins.push(s.terms.pay_band.min);
                maxs.push(s.terms.pay_band.max);
            }
        }
        let mut out = pb::JointReportResponse {
            period: period.to_string(),
            basis: Some(axes.basis()),
            ..Default::default()
        };
        for ((industry, city), (mut row, mut mins, mut maxs)) in rows {
            row.industry = industry_to_proto(industry) as i32;
            row.city = city.map(|c| c.to_string()).unwrap_or_default();
            row.median_pay_min = median(&mut mins);
            row.median_pay_max = median(&mut maxs);
            if city.is_some() {
                out.rows.push(row);
            } else {
                out.totals.push(row);
            }
        }
        Ok(out)
    }
}

/// The lower median (an actual value from the list); 0 for an empty list.
fn median(values: &mut [u32]) -> u32 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    values[(values.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_fits_a_line() {
        let (slope, forecast) = least_squares_forecast(&[10.0, 20.0, 30.0, 40.0]);
        assert!((slope - 10.0).abs() < 1e-9);
        assert!((forecast - 50.0).abs() < 1e-9);
        let (slope, forecast) = least_squares_forecast(&[5.0]);
        assert_eq!((slope, forecast), (0.0, 5.0));
        let (_, forecast) = least_squares_forecast(&[40.0, 30.0, 20.0, 10.0, 0.0]);
        assert_eq!(forecast, 0.0, "forecasts are clamped at zero");
        // Noisy: 1, 3, 2, 4 -> slope 0.8, mean 2.5, at x=4: 2.5 + 0.8 * 2.5 = 4.5
        let (slope, forecast) = least_squares_forecast(&[1.0, 3.0, 2.0, 4.0]);
        assert!((slope - 0.8).abs() < 1e-9);
        assert!((forecast - 4.5).abs() < 1e-9);
    }

    #[test]
    fn medians_are_actual_values() {
        assert_eq!(median(&mut []), 0);
        assert_eq!(median(&mut [3, 1, 2]), 2);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
    }
}
