//! Validation of demand signal values: periods, occupation codes, pay bands and headcounts
//! are rejected at the exact path of the offending field.

mod support;

use hub_proto::pb::{self, event_body::Kind};
use support::{body_rejected, closed, published, revised, SIGNAL_STREAM};

// ---------------------------------------------------------------------------------------
// Demand values

#[test]
fn bad_periods_are_rejected() {
    // "202éQ1" is seven bytes with 'é' across byte 4: it used to panic the parser.
    for period in [
        "2026-Q5",
        "2026-Q0",
        "2026Q1",
        "2026-q1",
        "26-Q1",
        "2026-Q12",
        "",
        "1900-Q1",
        "202éQ1",
        "2026-Q١",
        "２026-Q1",
    ] {
        let mut p = published();
        p.period = period.into();
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.period",
        );
        let mut r = revised();
        r.period = period.into();
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalRevised(r),
            "demand_signal_revised.period",
        );
    }
}

#[test]
fn bad_occupation_codes_are_rejected() {
    for code in [
        "9-02-10-09",
        "0-02-10-09",
        "2-2-10-09",
        "2-02-10",
        "2-00-10-09",
        "2-02-10-0x",
        "2/02/10/09",
        "",
    ] {
        let mut p = published();
        p.occupation_code = code.into();
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.occupation_code",
        );
    }
}

#[test]
fn pay_bands_need_min_not_above_max() {
    let mut p = published();
    p.pay_band = Some(pb::PayBand {
        min: 42_001,
        max: 42_000,
    });
    let reason = body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalPublished(p),
        "demand_signal_published.pay_band.min",
    );
    assert!(reason.contains("must not exceed"), "{reason}");

    let mut r = revised();
    r.pay_band = Some(pb::PayBand {
        min: 0,
        max: 1_000_001,
    });
    body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalRevised(r),
        "demand_signal_revised.pay_band.max",
    );
}

#[test]
fn headcounts_must_be_between_one_and_the_maximum() {
    for headcount in [0, 100_001, u32::MAX] {
        let mut p = published();
        p.headcount = headcount;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.headcount",
        );
        let mut r = revised();
        r.headcount = headcount;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalRevised(r),
            "demand_signal_revised.headcount",
        );
    }
    let mut c = closed();
    c.filled = 100_001;
    body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalClosed(c),
        "demand_signal_closed.filled",
    );
}
