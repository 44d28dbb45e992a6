//! Paged listings stay at the position of their first page: events folded between two
//! pages never make a listing mix two states of the view.

mod support;

use hub_log::Log;
use hub_proto::pb;
use hub_view::View;
use support::*;

fn page(view: &View, token: &str, at_position: u64) -> Result<pb::ListEntriesResponse, String> {
    view.list_entries(&pb::ListEntriesRequest {
        origin: SHANGHAI.into(),
        time: on("2026-06-01", at_position),
        page_size: 2,
        page_token: token.into(),
        ..Default::default()
    })
    .map_err(|e| e.to_string())
}

fn ids(r: &pb::ListEntriesResponse) -> Vec<&str> {
    r.entries.iter().map(|e| e.entry_id.as_str()).collect()
}

#[tokio::test]
async fn later_pages_are_answered_at_the_first_pages_position() {
    let log = Log::in_memory();
    for id in ["b", "c", "d"] {
        append(
            &log,
            SHANGHAI,
            added(id, &subject(1), "2026-01-01", "2027-01-01"),
        )
        .await;
    }
    let view = View::open(config(), &log).expect("view");
    let first = page(&view, "", 0).expect("first page");
    assert_eq!(ids(&first), ["b", "c"]);
    assert_eq!(first.basis.as_ref().expect("basis").position, 3);

    // An entry that sorts after the first page arrives before the second is asked for.
    append(
        &log,
        SHANGHAI,
        added("c2", &subject(2), "2026-01-01", "2027-01-01"),
    )
    .await;
    view.catch_up(&log).expect("catch up");
    let second = page(&view, &first.next_page_token, 0).expect("second page");
    assert_eq!(ids(&second), ["d"], "the listing is the view at position 3");
    assert_eq!(second.basis.expect("basis").position, 3);
    assert!(second.next_page_token.is_empty());
    // Naming the same position is fine; naming another one is refused.
    assert_eq!(
        ids(&page(&view, &first.next_page_token, 3).expect("same")),
        ["d"]
    );
    let err = page(&view, &first.next_page_token, 4).expect_err("another position");
    assert!(err.starts_with("page_token:"), "{err}");
    // A fresh listing sees the new entry.
    let fresh = page(&view, "", 0).expect("fresh");
    let rest = page(&view, &fresh.next_page_token, 0).expect("rest");
    assert_eq!([ids(&fresh), ids(&rest)].concat(), ["b", "c", "c2", "d"]);
}
