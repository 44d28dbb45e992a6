//! The demand questions — `DemandSummary`, `DemandTrend`, `ShortageAlerts` and
//! `JointReport` — answered by the view of the shared fixture or of small logs made for
//! the thresholds, and checked by hand.

mod support;

use hub_log::Log;
use hub_proto::pb;
use hub_types::values::Industry;
use hub_types::Body;
use hub_view::{Thresholds, View, ViewConfig};
use support::query_fixture::*;
use support::*;

/// The method text every trend carries.
const METHOD: &str =
    "ordinary least squares over the shown periods (x = 0..n-1), evaluated at x = n, clamped at 0";

fn assert_close(got: f64, expected: f64) {
    assert!(
        (got - expected).abs() < 1e-9,
        "got {got}, expected {expected}"
    );
}

fn g(key: &str, open: u64, signals: u32, filled: u64) -> (String, u64, u32, u64) {
    (key.to_owned(), open, signals, filled)
}

#[tokio::test]
async fn demand_summary_groups_by_each_key() {
    let f = fixture().await;
    let v = &f.view;
    assert_eq!(
        summary(v, "2026-06-01", 0, pb::GroupBy::Industry, None),
        (
            vec![
                g("artificial_intelligence", 65, 2, 25),
                g("integrated_circuits", 190, 3, 0)
            ],
            255
        )
    );
    assert_eq!(
        summary(v, "2026-06-01", 0, pb::GroupBy::City, None),
        (
            vec![
                g(SHANGHAI, 110, 2, 25),
                g(SUZHOU, 80, 1, 0),
                g(HANGZHOU, 65, 2, 0)
            ],
            255
        )
    );
    assert_eq!(
        summary(v, "2026-06-01", 0, pb::GroupBy::Occupation, None),
        (
            vec![
                g("2-02-09-06", 110, 2, 0),
                g("2-02-10-09", 65, 2, 25),
                g("6-25-02-03", 80, 1, 0)
            ],
            255
        )
    );
    assert_eq!(
        summary(v, "2026-06-01", 0, pb::GroupBy::Period, None),
        (
            vec![
                g("2026-Q1", 40, 1, 0),
                g("2026-Q2", 90, 2, 25),
                g("2026-Q3", 125, 2, 0)
            ],
            255
        )
    );
    // Hangzhou's Q2 signal expires on 2026-07-01 with 5 filled.
    assert_eq!(
        summary(v, "2026-07-15", 0, pb::GroupBy::Industry, None),
        (
            vec![
                g("artificial_intelligence", 45, 1, 30),
                g("integrated_circuits", 190, 3, 0)
            ],
            235
        )
    );
    // Record time: before the revision and the closures, everything was open.
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            f.at["d2 revised"] - 1,
            pb::GroupBy::Industry,
            None
        ),
        (
            vec![
                g("artificial_intelligence", 95, 3, 0),
                g("integrated_circuits", 230, 4, 0)
            ],
            325
        )
    );
    assert_eq!(
        summary(v, "2026-06-01", 9, pb::GroupBy::Industry, None),
        (vec![], 0)
    );
}

#[tokio::test]
async fn demand_summary_applies_every_filter() {
    let f = fixture().await;
    let v = &f.view;
    let ic = hub_proto::convert::industry_to_proto(Industry::IntegratedCircuits) as i32;
    let filter = |industry: i32, city: &str, period: &str, occupation: &str| {
        Some(pb::DemandFilter {
            industry,
            city: city.into(),
            period: period.into(),
            occupation_code: occupation.into(),
        })
    };
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            0,
            pb::GroupBy::Period,
            filter(ic, SUZHOU, "", "")
        ),
        (vec![g("2026-Q2", 0, 0, 0), g("2026-Q3", 80, 1, 0)], 80)
    );
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            0,
            pb::GroupBy::City,
            filter(0, "", "2026-Q2", "")
        ),
        (
            vec![
                g(SHANGHAI, 70, 1, 25),
                g(SUZHOU, 0, 0, 0),
                g(HANGZHOU, 20, 1, 0)
            ],
            90
        )
    );
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            0,
            pb::GroupBy::Industry,
            filter(0, "", "", "2-02-10-09")
        ),
        (vec![g("artificial_intelligence", 65, 2, 25)], 65)
    );
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            0,
            pb::GroupBy::Industry,
            filter(ic, NANJING, "", "")
        ),
        (vec![], 0)
    );
}

#[tokio::test]
async fn demand_trend_fits_a_line_through_the_last_periods() {
    let f = fixture().await;
    let v = &f.view;
    // Integrated circuits: Q1 40; Q2 70 (Suzhou's 50 cancelled on 2026-04-20); Q3 80.
    let t = trend(v, "2026-06-01", Industry::IntegratedCircuits, "", 4);
    assert_eq!(
        points(&t),
        [
            pt("2025-Q4", 0),
            pt("2026-Q1", 40),
            pt("2026-Q2", 70),
            pt("2026-Q3", 80)
        ]
    );
    // x = 0..3, mean 1.5; y mean 47.5; Sxy = 135, Sxx = 5: slope 27, at x = 4: 115.
    assert_close(t.slope, 27.0);
    assert_close(t.forecast, 115.0);
    assert_eq!(t.forecast_period, "2026-Q4");
    assert_eq!(t.method, METHOD);
    assert_eq!(t.basis.expect("basis").on_date, "2026-06-01");

    // Before the cancellation took effect Q2 was 120: y mean 60, Sxy 160, slope 32, 140.
    let t = trend(v, "2026-04-01", Industry::IntegratedCircuits, "", 4);
    assert_eq!(
        t.points[2],
        pb::TrendPoint {
            period: "2026-Q2".into(),
            demanded: 120
        }
    );
    assert_close(t.slope, 32.0);
    assert_close(t.forecast, 140.0);

    let t = trend(v, "2026-06-01", Industry::IntegratedCircuits, "", 2);
    assert_eq!(points(&t), [pt("2026-Q2", 70), pt("2026-Q3", 80)]);
    assert_close(t.slope, 10.0);
    assert_close(t.forecast, 90.0);

    // Suzhou alone: 0, 0, 0, 80: y mean 20, Sxy 120, slope 24, at x = 4: 80.
    let t = trend(v, "2026-06-01", Industry::IntegratedCircuits, SUZHOU, 0);
    assert_eq!(
        points(&t),
        [
            pt("2025-Q4", 0),
            pt("2026-Q1", 0),
            pt("2026-Q2", 0),
            pt("2026-Q3", 80)
        ]
    );
    assert_close(t.slope, 24.0);
    assert_close(t.forecast, 80.0);

    // AI: Q2 30 (filled, still demanded) + 20, Q3 45: 0, 0, 50, 45: slope 18.5, 70.
    let t = trend(v, "2026-06-01", Industry::ArtificialIntelligence, "", 0);
    assert_eq!(
        points(&t),
        [
            pt("2025-Q4", 0),
            pt("2026-Q1", 0),
            pt("2026-Q2", 50),
            pt("2026-Q3", 45)
        ]
    );
    assert_close(t.slope, 18.5);
    assert_close(t.forecast, 70.0);

    // No data: no points, no forecast.
    let t = trend(v, "2026-06-01", Industry::Aerospace, "", 4);
    assert!(t.points.is_empty() && t.forecast_period.is_empty());
    assert_eq!((t.forecast, t.slope), (0.0, 0.0));
    assert_eq!(t.method, METHOD);
}

#[tokio::test]
async fn demand_trends_of_every_industry_match_each_trend() {
    let f = fixture().await;
    let v = &f.view;
    let head = v.position();
    let mut with_points = 0;
    for date in ["2026-01-01", "2026-04-01", "2026-06-01", "2026-12-31"] {
        for at_position in [0, 12, 16, head] {
            for city in ["", SUZHOU, SHANGHAI] {
                for periods in [0, 2, 8] {
                    let req = pb::DemandTrendRequest {
                        time: on(date, at_position),
                        industry: 0,
                        city: city.to_owned(),
                        periods,
                    };
                    let all = v.demand_trends(&req).expect("demand_trends");
                    let industries: Vec<Industry> = all.iter().map(|(i, _)| *i).collect();
                    assert_eq!(industries, Industry::ALL);
                    for (industry, got) in all {
                        let one = v
                            .demand_trend(&pb::DemandTrendRequest {
                                industry: hub_proto::convert::industry_to_proto(industry) as i32,
                                ..req.clone()
                            })
                            .expect("demand_trend");
                        assert_eq!(got, one, "{industry:?} on {date} at {at_position} {city:?}");
                        with_points += usize::from(!got.points.is_empty());
                    }
                }
            }
        }
    }
    assert!(with_points > 0, "some trends have points");
}

/// Signals of `city` for one industry over 2026-Q1..Q4 with these headcounts (0 = none).
fn quarters(
    city: &'static str,
    industry: Industry,
    tag: &str,
    counts: [u32; 4],
) -> Vec<(&'static str, Body)> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(q, n)| {
            let id = format!("{tag}-2026q{}", q + 1);
            let period = format!("2026-Q{}", q + 1);
            (
                city,
                signal(&id, industry, "2-02-09-06", *n, &period, (10000, 20000)),
            )
        })
        .collect()
}

async fn view_of(events: Vec<(&str, Body)>, config: ViewConfig) -> View {
    let log = Log::in_memory();
    for (city, body) in events {
        append(&log, city, body).await;
    }
    View::open(config, &log).expect("open the view")
}

fn alerts(v: &View, period: &str) -> pb::ShortageAlertsResponse {
    v.shortage_alerts(&pb::ShortageAlertsRequest {
        time: on("2026-12-31", 0),
        period: period.into(),
    })
    .expect("shortage_alerts")
}

#[tokio::test]
async fn shortage_alerts_fire_when_growth_or_forecast_cross_the_thresholds() {
    use Industry::*;
    let mut events = Vec::new();
    // Shanghai AI 10, 20, 30, 40: growth 1/3 and forecast 50 (+25 %): both.
    events.extend(quarters(
        SHANGHAI,
        ArtificialIntelligence,
        "sh-ai",
        [10, 20, 30, 40],
    ));
    // Nanjing adds 10 AI in Q3: alliance 10, 20, 40, 40: no growth; forecast 55 (+37.5 %).
    events.extend(quarters(
        NANJING,
        ArtificialIntelligence,
        "nj-ai",
        [0, 0, 10, 0],
    ));
    // Hangzhou life & health 100, 100, 80, 100: growth exactly 25 %; forecast 90 falls.
    events.extend(quarters(
        HANGZHOU,
        LifeAndHealth,
        "hz-lh",
        [100, 100, 80, 100],
    ));
    // Suzhou circuits 20, 40, 60, 70: growth 1/6; forecast 90 (+28.6 %).
    events.extend(quarters(
        SUZHOU,
        IntegratedCircuits,
        "sz-ic",
        [20, 40, 60, 70],
    ));
    // Jiaxing aerospace 100, 100, 100, 110: growth 10 %, forecast 110 (+0 %): quiet.
    events.extend(quarters(JIAXING, Aerospace, "jx-as", [100, 100, 100, 110]));
    // Nanjing hydrogen 5 → 15: tripled, but under the 20-person floor.
    events.extend(quarters(NANJING, HydrogenEnergy, "nj-h2", [0, 0, 5, 15]));
    let view = view_of(events, config()).await;

    let r = alerts(&view, "2026-Q4");
    assert_eq!(
        (
            r.growth_threshold,
            r.forecast_growth_threshold,
            r.min_headcount
        ),
        (0.25, 0.2, 20)
    );
    let got: Vec<(Industry, &str, u64, u64, Vec<&str>)> = r
        .alerts
        .iter()
        .map(|a| {
            (
                hub_proto::convert::industry_from_proto(a.industry).expect("industry"),
                a.city.as_str(),
                a.demanded,
                a.previous,
                a.reasons.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (ArtificialIntelligence, "", 40, 40, vec!["forecast"]),
            (
                ArtificialIntelligence,
                SHANGHAI,
                40,
                30,
                vec!["growth", "forecast"]
            ),
            (LifeAndHealth, "", 100, 80, vec!["growth"]),
            (LifeAndHealth, HANGZHOU, 100, 80, vec!["growth"]),
            (IntegratedCircuits, "", 70, 60, vec!["forecast"]),
            (IntegratedCircuits, SUZHOU, 70, 60, vec!["forecast"]),
        ]
    );
    let numbers: Vec<(f64, f64)> = r.alerts.iter().map(|a| (a.growth, a.forecast)).collect();
    let expected = [
        (0.0, 55.0),
        (1.0 / 3.0, 50.0),
        (0.25, 90.0),
        (0.25, 90.0),
        (1.0 / 6.0, 90.0),
        (1.0 / 6.0, 90.0),
    ];
    for ((growth, forecast), (eg, ef)) in numbers.into_iter().zip(expected) {
        assert_close(growth, eg);
        assert_close(forecast, ef);
    }

    // Q3 of the same data: 2025-Q4 had no demand, so the fitted lines are steep.
    // AI alliance 0, 10, 20, 40: +100 %, forecast 50 (+25 %); Shanghai 0, 10, 20, 30: +50 %,
    // forecast 40. Aerospace 0, 100, 100, 100: flat, but forecast 150. Life & health
    // 0, 100, 100, 80: a fall, but forecast 130. Circuits 0, 20, 40, 60: +50 %, forecast 80.
    assert_eq!(
        reasons(&alerts(&view, "2026-Q3")),
        [
            "artificial_intelligence  growth+forecast",
            "artificial_intelligence 310000 growth+forecast",
            "aerospace  forecast",
            "aerospace 330400 forecast",
            "life_and_health  forecast",
            "life_and_health 330100 forecast",
            "integrated_circuits  growth+forecast",
            "integrated_circuits 320500 growth+forecast",
        ]
    );
}

/// Each alert as `industry city reasons`.
fn reasons(r: &pb::ShortageAlertsResponse) -> Vec<String> {
    r.alerts
        .iter()
        .map(|a| {
            let industry = hub_proto::convert::industry_from_proto(a.industry).expect("industry");
            format!("{industry} {} {}", a.city, a.reasons.join("+"))
        })
        .collect()
}

#[tokio::test]
async fn shortage_alerts_stay_quiet_under_the_thresholds() {
    use Industry::*;
    let mut events = Vec::new();
    events.extend(quarters(JIAXING, Aerospace, "jx-as", [100, 100, 100, 110]));
    events.extend(quarters(
        SHANGHAI,
        IntegratedCircuits,
        "sh-ic",
        [50, 40, 30, 25],
    ));
    events.extend(quarters(NANJING, HydrogenEnergy, "nj-h2", [0, 0, 5, 15]));
    let view = view_of(events.clone(), config()).await;
    assert!(alerts(&view, "2026-Q4").alerts.is_empty());
    assert!(
        alerts(&view, "2027-Q1").alerts.is_empty(),
        "no demand in the period"
    );

    // The same data with lower thresholds: aerospace's 10 % growth now counts, and the
    // hydrogen floor is lower.
    let config = ViewConfig {
        thresholds: Thresholds {
            growth: 0.05,
            forecast_growth: 0.5,
            min_headcount: 10,
        },
        ..config()
    };
    let view = view_of(events, config).await;
    let r = alerts(&view, "2026-Q4");
    assert_eq!(
        (
            r.growth_threshold,
            r.forecast_growth_threshold,
            r.min_headcount
        ),
        (0.05, 0.5, 10)
    );
    // Hydrogen 0, 0, 5, 15: tripled; its forecast 17.5 is only 17 % above 15.
    assert_eq!(
        reasons(&r),
        [
            "aerospace  growth",
            "aerospace 330400 growth",
            "hydrogen_energy  growth",
            "hydrogen_energy 320100 growth",
        ]
    );
}

fn row(r: &pb::JointReportRow) -> (i32, &str, u64, u64, u64, u32, u32, u32) {
    (
        r.industry,
        r.city.as_str(),
        r.demanded,
        r.open_headcount,
        r.filled,
        r.signals,
        r.median_pay_min,
        r.median_pay_max,
    )
}

#[tokio::test]
async fn the_joint_report_has_rows_per_city_and_totals_per_industry() {
    let f = fixture().await;
    let report = |period: &str, date: &str| {
        f.view
            .joint_report(&pb::JointReportRequest {
                time: on(date, 0),
                period: period.into(),
            })
            .expect("joint_report")
    };
    let ai = pb::Industry::ArtificialIntelligence as i32;
    let ic = pb::Industry::IntegratedCircuits as i32;
    let r = report("2026-Q2", "2026-06-01");
    assert_eq!(r.period, "2026-Q2");
    assert_eq!(
        r.rows.iter().map(row).collect::<Vec<_>>(),
        [
            (ai, SHANGHAI, 30, 0, 25, 1, 18000, 28000),
            (ai, HANGZHOU, 20, 20, 0, 1, 15000, 25000),
            (ic, SHANGHAI, 70, 70, 0, 1, 22000, 34000),
            (ic, SUZHOU, 0, 0, 0, 1, 8000, 12000),
        ]
    );
    // Lower medians of two values: the smaller one.
    assert_eq!(
        r.totals.iter().map(row).collect::<Vec<_>>(),
        [
            (ai, "", 50, 20, 25, 2, 15000, 25000),
            (ic, "", 70, 70, 0, 2, 8000, 12000),
        ]
    );
    let r = report("2026-Q3", "2026-06-01");
    assert_eq!(
        r.rows.iter().map(row).collect::<Vec<_>>(),
        [
            (ai, HANGZHOU, 45, 45, 0, 1, 16000, 26000),
            (ic, SUZHOU, 80, 80, 0, 1, 9000, 13000),
        ]
    );
    assert_eq!(r.totals.len(), 2);
    // After Hangzhou's Q2 signal expired.
    let r = report("2026-Q2", "2026-07-01");
    assert_eq!(row(&r.rows[1]), (ai, HANGZHOU, 20, 0, 5, 1, 15000, 25000));
    let r = report("2024-Q1", "2026-06-01");
    assert!(r.rows.is_empty() && r.totals.is_empty());
    assert_eq!(r.period, "2024-Q1");
}
