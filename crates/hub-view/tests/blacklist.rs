//! The blacklist questions — `CheckSubject` and `ListEntries` — answered by the view of
//! the shared fixture on both time axes, and checked by hand.

mod support;

use hub_proto::pb;
use hub_view::View;
use support::query_fixture::*;
use support::*;

fn entries(v: &View, date: &str, origin: &str, status: pb::EntryStatus) -> Vec<String> {
    let r = v
        .list_entries(&pb::ListEntriesRequest {
            time: on(date, 0),
            origin: origin.to_owned(),
            status: status as i32,
            page_size: 0,
            page_token: String::new(),
        })
        .expect("list_entries");
    r.entries.into_iter().map(|e| e.entry_id).collect()
}

#[tokio::test]
async fn check_subject_gives_each_status_on_each_date() {
    use pb::EntryStatus::{Active, Expired, Pending, Revoked, Suspended};
    let f = fixture().await;
    let sh = "310000/sh-2026-001";
    let sz = "320500/sz-2025-009";
    for (date, sh_status, sz_status, any_active) in [
        ("2024-12-31", Pending, Pending, false),
        ("2025-01-01", Pending, Active, true),
        ("2025-12-31", Pending, Active, true),
        ("2026-01-01", Pending, Expired, false),
        ("2026-02-01", Active, Expired, true),
        ("2026-04-30", Active, Expired, true),
        ("2026-05-01", Suspended, Expired, false),
        ("2026-05-31", Suspended, Expired, false),
        ("2026-06-01", Active, Expired, true),
        ("2026-07-31", Active, Expired, true),
        ("2026-08-01", Suspended, Expired, false),
        ("2026-08-31", Suspended, Expired, false),
        ("2026-09-01", Revoked, Expired, false),
        ("2029-01-01", Revoked, Expired, false),
    ] {
        let r = check(&f.view, date, 0, &s1());
        assert_eq!(
            statuses(&r),
            [(sh.to_owned(), sh_status), (sz.to_owned(), sz_status)],
            "on {date}"
        );
        assert_eq!(r.any_active, any_active, "on {date}");
    }
    let r = check(&f.view, "2026-06-15", 0, &s1());
    let e = &r.entries[0];
    assert_eq!(
        e.history,
        [
            "suspended 2026-05-01",
            "reinstated 2026-06-01",
            "suspended 2026-08-01",
            "revoked (REVOKE_REASON_APPEAL_UPHELD) 2026-09-01"
        ]
    );
    assert_eq!(e.revoke_reason, pb::RevokeReason::AppealUpheld as i32);
    assert_eq!(
        (e.subject_ref.as_str(), e.subject_display.as_str()),
        (s1().as_str(), "张*")
    );
    assert_eq!(e.category, pb::BlacklistCategory::ApplicationFraud as i32);
    assert_eq!(
        (
            e.decided_at.as_str(),
            e.effective_from.as_str(),
            e.expires_at.as_str()
        ),
        ("2026-02-01", "2026-02-01", "2028-01-31")
    );
    assert_eq!(e.decision_ref, "沪人社信〔2026〕1号");
    assert_eq!(e.measures.len(), 1);

    // Revoked as an error from 2026-03-01.
    let r = check(&f.view, "2026-02-28", 0, &s3());
    assert_eq!(statuses(&r), [("310000/sh-2026-002".to_owned(), Active)]);
    let r = check(&f.view, "2026-03-01", 0, &s3());
    assert_eq!(statuses(&r), [("310000/sh-2026-002".to_owned(), Revoked)]);
    assert_eq!(r.entries[0].revoke_reason, pb::RevokeReason::Error as i32);
    // Two cities list subject 2, in key order; Shanghai's entry starts later.
    let r = check(&f.view, "2026-06-15", 0, &s2());
    assert_eq!(
        statuses(&r),
        [
            ("310000/sh-2026-003".to_owned(), Pending),
            ("330100/hz-2026-002".to_owned(), Active)
        ]
    );
    let r = check(&f.view, "2026-06-15", 0, &subject(0x99));
    assert!(r.entries.is_empty() && !r.any_active);
}

#[tokio::test]
async fn check_subject_on_both_axes_sees_only_the_steps_recorded_by_then() {
    use pb::EntryStatus::{Active, Revoked, Suspended};
    let f = fixture().await;
    let suspended_at = f.at["e1 suspended"];
    let sh = |date: &str, at: u64| {
        let r = check(&f.view, date, at, &s1());
        (
            statuses(&r)[0].1,
            r.entries[0].history.len(),
            r.entries[0].revoke_reason,
        )
    };
    assert_eq!(sh("2026-05-15", suspended_at - 1), (Active, 0, 0));
    assert_eq!(sh("2026-05-15", suspended_at), (Suspended, 1, 0));
    // The second suspension was recorded, the revocation not yet.
    let again = f.at["e1 suspended again"];
    assert_eq!(sh("2026-09-15", again), (Suspended, 3, 0));
    assert_eq!(
        sh("2026-09-15", again + 1),
        (Revoked, 4, pb::RevokeReason::AppealUpheld as i32)
    );
    // Before Suzhou's entry was recorded, only Shanghai's shows.
    let r = check(&f.view, "2025-06-01", 21, &s1());
    assert_eq!(r.entries.len(), 1);
    assert_eq!(r.basis.expect("basis").position, 21);
    assert!(check(&f.view, "2025-06-01", 20, &s1()).entries.is_empty());
}

#[tokio::test]
async fn list_entries_filters_by_status_and_pages() {
    use pb::EntryStatus::{Active, Pending, Revoked, Suspended, Unspecified};
    let f = fixture().await;
    let v = &f.view;
    assert_eq!(
        entries(v, "2026-06-15", SHANGHAI, Unspecified),
        ["sh-2026-001", "sh-2026-002", "sh-2026-003"]
    );
    assert_eq!(entries(v, "2026-06-15", SHANGHAI, Active), ["sh-2026-001"]);
    assert_eq!(entries(v, "2026-06-15", SHANGHAI, Revoked), ["sh-2026-002"]);
    assert_eq!(entries(v, "2026-06-15", SHANGHAI, Pending), ["sh-2026-003"]);
    assert!(entries(v, "2026-06-15", SHANGHAI, Suspended).is_empty());
    assert_eq!(
        entries(v, "2026-08-15", SHANGHAI, Suspended),
        ["sh-2026-001"]
    );
    assert_eq!(
        entries(v, "2026-09-15", SHANGHAI, Revoked),
        ["sh-2026-001", "sh-2026-002"]
    );
    assert_eq!(
        entries(v, "2026-06-15", HANGZHOU, Unspecified),
        ["hz-2026-002"]
    );
    assert!(entries(v, "2026-06-15", JIAXING, Unspecified).is_empty());
    assert!(entries(v, "2026-06-15", NANJING, Unspecified).is_empty());

    let walk = |status: pb::EntryStatus, date: &str| {
        let mut token = String::new();
        let mut pages = Vec::new();
        loop {
            let page = v
                .list_entries(&pb::ListEntriesRequest {
                    time: on(date, 0),
                    origin: SHANGHAI.into(),
                    status: status as i32,
                    page_size: 1,
                    page_token: token,
                })
                .expect("a page");
            token = page.next_page_token.clone();
            pages.push(
                page.entries
                    .into_iter()
                    .map(|e| e.entry_id)
                    .collect::<Vec<_>>(),
            );
            if token.is_empty() {
                return pages;
            }
        }
    };
    assert_eq!(
        walk(Unspecified, "2026-06-15"),
        [["sh-2026-001"], ["sh-2026-002"], ["sh-2026-003"]]
    );
    assert_eq!(
        walk(Revoked, "2026-09-15"),
        [["sh-2026-001"], ["sh-2026-002"]]
    );

    let first = v
        .list_entries(&pb::ListEntriesRequest {
            time: on("2026-06-15", 0),
            origin: SHANGHAI.into(),
            page_size: 1,
            ..Default::default()
        })
        .expect("a page");
    let elsewhere = v.list_entries(&pb::ListEntriesRequest {
        origin: HANGZHOU.into(),
        page_token: first.next_page_token,
        ..Default::default()
    });
    assert_eq!(invalid(elsewhere), "page_token");
    let garbage = v.list_entries(&pb::ListEntriesRequest {
        origin: HANGZHOU.into(),
        page_token: "zz".into(),
        ..Default::default()
    });
    assert_eq!(invalid(garbage), "page_token");
}

#[tokio::test]
async fn entry_status_counts_agree_with_the_listings() {
    use pb::EntryStatus::{Active, Erased, Expired, Pending, Revoked, Suspended};
    let f = fixture().await;
    for (date, at_position) in [
        ("2026-06-15", 0),
        ("2026-08-15", 0),
        ("2026-09-15", 0),
        ("2026-09-15", 20),
    ] {
        let (counts, basis) = f
            .view
            .entry_status_counts(on(date, at_position).as_ref())
            .expect("counts");
        assert_eq!(basis.on_date, date);
        for origin in CITIES {
            for status in [Pending, Active, Suspended, Expired, Revoked, Erased] {
                let listed = f
                    .view
                    .list_entries(&pb::ListEntriesRequest {
                        time: on(date, at_position),
                        origin: origin.to_owned(),
                        status: status as i32,
                        page_size: 0,
                        page_token: String::new(),
                    })
                    .expect("list_entries")
                    .entries
                    .len() as u64;
                let counted = counts
                    .get(&m(origin))
                    .into_iter()
                    .flatten()
                    .filter(|(s, _)| hub_view::status_to_proto(**s) == status)
                    .map(|(_, n)| *n)
                    .sum::<u64>();
                assert_eq!(
                    counted, listed,
                    "{origin} {status:?} on {date} at {at_position}"
                );
            }
        }
    }
    let (counts, _) = f
        .view
        .entry_status_counts(on("2026-06-15", 0).as_ref())
        .expect("counts");
    assert_eq!(counts[&m(SHANGHAI)].values().sum::<u64>(), 3);
}
