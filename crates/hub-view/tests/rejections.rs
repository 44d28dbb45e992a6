//! Bad questions of every kind — time axes, recognition, demand and blacklist — are
//! rejected with an error that names the offending field.

mod support;

use hub_proto::convert::credential_to_proto;
use hub_proto::pb;
use hub_view::Error;
use support::query_fixture::*;
use support::*;

#[tokio::test]
async fn bad_time_axes_are_rejected_naming_the_field() {
    let f = fixture().await;
    let v = &f.view;
    let ask = |time: Option<pb::TimeAxes>| {
        v.check_subject(&pb::CheckSubjectRequest {
            time,
            subject_ref: s1(),
            ..Default::default()
        })
    };
    for bad in [
        "2026-02-30",
        "2026/01/01",
        "yesterday",
        "2026-1-1",
        "2250-01-01",
    ] {
        assert_eq!(invalid(ask(on(bad, 0))), "time.on_date", "{bad}");
    }
    assert!(matches!(
        ask(on("2026-01-01", 31)),
        Err(Error::NotYet {
            field: "time.at_position",
            requested: 31,
            position: 30
        })
    ));
    let mut both = as_of("2026-01-01", 1_790_000_000_000_000);
    if let Some(t) = both.as_mut() {
        t.at_position = 3;
    }
    assert_eq!(invalid(ask(both)), "time.as_of");
    let mut bad_instant = as_of("2026-01-01", 1_790_000_000_000_000);
    if let Some(t) = bad_instant.as_mut().and_then(|t| t.as_of.as_mut()) {
        t.nanos = -1;
    }
    assert_eq!(invalid(ask(bad_instant)), "time.as_of");

    // Every question resolves its time axes the same way.
    let beyond = on("2026-01-01", 99);
    let not_yet = |r: Result<(), Error>| {
        assert!(
            matches!(r, Err(Error::NotYet { requested: 99, .. })),
            "{r:?}"
        )
    };
    let eng = Some(credential_to_proto(&title("engineering", "senior_deputy")));
    not_yet(
        v.is_recognized(&pb::IsRecognizedRequest {
            time: beyond.clone(),
            recognizer: JIAXING.into(),
            credential: eng,
            issuer: SHANGHAI.into(),
        })
        .map(drop),
    );
    not_yet(
        v.list_recognitions(&pb::ListRecognitionsRequest {
            time: beyond.clone(),
            ..Default::default()
        })
        .map(drop),
    );
    not_yet(
        v.recognition_matrix(&pb::RecognitionMatrixRequest {
            time: beyond.clone(),
            kind: 0,
        })
        .map(drop),
    );
    not_yet(
        v.demand_summary(&pb::DemandSummaryRequest {
            time: beyond.clone(),
            group_by: pb::GroupBy::City as i32,
            filter: None,
        })
        .map(drop),
    );
    not_yet(
        v.demand_trend(&pb::DemandTrendRequest {
            time: beyond.clone(),
            industry: pb::Industry::Aerospace as i32,
            city: String::new(),
            periods: 0,
        })
        .map(drop),
    );
    not_yet(
        v.shortage_alerts(&pb::ShortageAlertsRequest {
            time: beyond.clone(),
            period: "2026-Q1".into(),
        })
        .map(drop),
    );
    not_yet(
        v.joint_report(&pb::JointReportRequest {
            time: beyond.clone(),
            period: "2026-Q1".into(),
        })
        .map(drop),
    );
    not_yet(
        v.list_entries(&pb::ListEntriesRequest {
            time: beyond.clone(),
            origin: SHANGHAI.into(),
            ..Default::default()
        })
        .map(drop),
    );
    let bad_date = on("2026-13-01", 0);
    assert_eq!(
        invalid(v.joint_report(&pb::JointReportRequest {
            time: bad_date.clone(),
            period: "2026-Q1".into()
        })),
        "time.on_date"
    );
    assert_eq!(
        invalid(v.demand_summary(&pb::DemandSummaryRequest {
            time: bad_date,
            group_by: 1,
            filter: None
        })),
        "time.on_date"
    );
}

#[tokio::test]
async fn bad_recognition_questions_are_rejected_naming_the_field() {
    let f = fixture().await;
    let v = &f.view;
    let eng = credential_to_proto(&title("engineering", "senior_deputy"));
    let ask = |recognizer: &str, credential: Option<pb::Credential>, issuer: &str| {
        invalid(v.is_recognized(&pb::IsRecognizedRequest {
            time: on("2026-03-01", 0),
            recognizer: recognizer.into(),
            credential,
            issuer: issuer.into(),
        }))
    };
    assert_eq!(ask("", Some(eng.clone()), SHANGHAI), "recognizer");
    assert_eq!(ask("999900", Some(eng.clone()), SHANGHAI), "recognizer");
    assert_eq!(ask("330401", Some(eng.clone()), SHANGHAI), "recognizer");
    assert_eq!(ask(JIAXING, Some(eng.clone()), ""), "issuer");
    assert_eq!(ask(JIAXING, Some(eng.clone()), "*"), "issuer");
    assert_eq!(ask(JIAXING, None, SHANGHAI), "credential");
    let with = |kind: i32, code: &str, level: &str| {
        Some(pb::Credential {
            kind,
            code: code.into(),
            level: level.into(),
        })
    };
    assert_eq!(
        ask(JIAXING, with(0, "engineering", "senior_deputy"), SHANGHAI),
        "credential.kind"
    );
    assert_eq!(
        ask(JIAXING, with(77, "engineering", "senior_deputy"), SHANGHAI),
        "credential.kind"
    );
    assert_eq!(
        ask(JIAXING, with(1, "Engineering", "senior_deputy"), SHANGHAI),
        "credential.code"
    );
    assert_eq!(
        ask(JIAXING, with(1, "engineering", "chief"), SHANGHAI),
        "credential.level"
    );
    assert_eq!(
        ask(JIAXING, with(2, "6-31-01-03", "6"), SHANGHAI),
        "credential.level"
    );

    let list = |recognizer: &str, issuer: &str, page_size: u32| {
        invalid(v.list_recognitions(&pb::ListRecognitionsRequest {
            recognizer: recognizer.into(),
            issuer: issuer.into(),
            page_size,
            ..Default::default()
        }))
    };
    assert_eq!(list("31000", "", 0), "recognizer");
    assert_eq!(list("", "abc", 0), "issuer");
    assert_eq!(list("", "*", 0), "issuer");
    assert_eq!(list("", "", 1001), "page_size");
    assert!(v
        .list_recognitions(&pb::ListRecognitionsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .is_ok());

    let matrix =
        |kind| invalid(v.recognition_matrix(&pb::RecognitionMatrixRequest { time: None, kind }));
    assert_eq!(matrix(99), "kind");
    assert_eq!(matrix(-1), "kind");
}

#[tokio::test]
async fn bad_demand_questions_are_rejected_naming_the_field() {
    let f = fixture().await;
    let v = &f.view;
    let summary = |group_by: i32, filter: pb::DemandFilter| {
        invalid(v.demand_summary(&pb::DemandSummaryRequest {
            time: None,
            group_by,
            filter: Some(filter),
        }))
    };
    let none = pb::DemandFilter::default;
    assert_eq!(summary(0, none()), "group_by");
    assert_eq!(summary(9, none()), "group_by");
    assert_eq!(
        summary(
            1,
            pb::DemandFilter {
                industry: 42,
                ..none()
            }
        ),
        "filter.industry"
    );
    assert_eq!(
        summary(
            1,
            pb::DemandFilter {
                city: "1".into(),
                ..none()
            }
        ),
        "filter.city"
    );
    assert_eq!(
        summary(
            1,
            pb::DemandFilter {
                period: "2026-Q5".into(),
                ..none()
            }
        ),
        "filter.period"
    );
    assert_eq!(
        summary(
            1,
            pb::DemandFilter {
                occupation_code: "9-99".into(),
                ..none()
            }
        ),
        "filter.occupation_code"
    );

    let trend = |industry: i32, city: &str, periods: u32| {
        invalid(v.demand_trend(&pb::DemandTrendRequest {
            time: None,
            industry,
            city: city.into(),
            periods,
        }))
    };
    let ic = pb::Industry::IntegratedCircuits as i32;
    assert_eq!(trend(0, "", 4), "industry");
    assert_eq!(trend(42, "", 4), "industry");
    assert_eq!(trend(ic, "Shanghai", 4), "city");
    assert_eq!(trend(ic, "", 1), "periods");
    assert_eq!(trend(ic, "", 21), "periods");
    for periods in [2, 20] {
        assert!(v
            .demand_trend(&pb::DemandTrendRequest {
                time: None,
                industry: ic,
                city: String::new(),
                periods,
            })
            .is_ok());
    }

    let trends = |city: &str, periods: u32| {
        invalid(v.demand_trends(&pb::DemandTrendRequest {
            time: None,
            industry: 0,
            city: city.into(),
            periods,
        }))
    };
    assert_eq!(trends("Shanghai", 4), "city");
    assert_eq!(trends("", 1), "periods");
    assert_eq!(trends("", 21), "periods");

    for period in ["", "2026Q1", "2026-Q0", "26-Q1"] {
        let alerts = v.shortage_alerts(&pb::ShortageAlertsRequest {
            time: None,
            period: period.into(),
        });
        assert_eq!(invalid(alerts), "period", "{period:?}");
        let report = v.joint_report(&pb::JointReportRequest {
            time: None,
            period: period.into(),
        });
        assert_eq!(invalid(report), "period", "{period:?}");
    }
}

#[tokio::test]
async fn bad_blacklist_questions_are_rejected_naming_the_field() {
    let f = fixture().await;
    let v = &f.view;
    let check = |subject_ref: &str| {
        invalid(v.check_subject(&pb::CheckSubjectRequest {
            time: None,
            subject_ref: subject_ref.into(),
            ..Default::default()
        }))
    };
    assert_eq!(check(""), "subject_ref");
    assert_eq!(check(&subject(0xab).to_uppercase()), "subject_ref");
    assert_eq!(check(&s1()[1..]), "subject_ref");
    assert_eq!(check(&format!("{}0", s1())), "subject_ref");
    assert_eq!(check("11010519491231002X"), "subject_ref");

    let list = |origin: &str, status: i32, page_size: u32| {
        invalid(v.list_entries(&pb::ListEntriesRequest {
            time: None,
            origin: origin.into(),
            status,
            page_size,
            page_token: String::new(),
        }))
    };
    assert_eq!(list("", 0, 0), "origin");
    assert_eq!(list("shanghai", 0, 0), "origin");
    assert_eq!(list(SHANGHAI, 9, 0), "status");
    assert_eq!(list(SHANGHAI, -2, 0), "status");
    assert_eq!(list(SHANGHAI, 0, 5000), "page_size");
}
