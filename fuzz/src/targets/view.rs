//! Questions to the view: every `Query` request, page tokens, and view snapshots.

use hub_proto::pb;
use hub_view::{Error, View};
use prost::Message;
use sha2::{Digest, Sha256};

use super::wire::names_a_field;
use crate::fixtures::{samples, scratch_dir, view_config};

/// Asserts what any answer of the view must be: an answer, a position not reached yet, or
/// a refusal naming the field.
fn answered<T: Message>(result: hub_view::Result<T>, what: &str) -> Option<T> {
    match result {
        Ok(answer) => {
            let _ = answer.encoded_len();
            Some(answer)
        }
        Err(Error::Invalid(e)) => {
            names_a_field(&e, what);
            None
        }
        Err(Error::NotYet {
            field,
            requested,
            position,
        }) => {
            assert!(
                requested > position,
                "{what}: not yet at a reached position"
            );
            assert!(field.ends_with("at_position"), "{what}: names {field}");
            None
        }
        Err(Error::Log(e)) => panic!("{what}: the in-memory log failed: {e}"),
    }
}

/// Decodes a request of type `R` from `data` and asks `view` with `ask`.
fn ask<R: Message + Default, T: Message>(
    view: &View,
    data: &[u8],
    what: &str,
    ask: impl Fn(&View, &R) -> hub_view::Result<T>,
) -> Option<(R, T)> {
    let req = R::decode(data).ok()?;
    let answer = answered(ask(view, &req), what)?;
    Some((req, answer))
}

/// Every `Query` request (the first byte picks which) asked of a view of the samples. A
/// listing's next page token is accepted when asked for the next page.
pub fn query(data: &[u8]) {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let view = &samples().view;
    match which % 10 {
        0 => {
            if let Some((_, a)) = ask(view, data, "is_recognized", View::is_recognized) {
                assert_eq!(a.recognized, !a.matching_rules.is_empty());
            }
        }
        1 => {
            if let Some((mut req, a)) =
                ask(view, data, "list_recognitions", View::list_recognitions)
            {
                if !a.next_page_token.is_empty() {
                    assert!(!a.rules.is_empty(), "a page with a next token but no item");
                    req.page_token = a.next_page_token;
                    let next = view.list_recognitions(&req);
                    assert!(next.is_ok(), "the next page is refused: {next:?}");
                }
            }
        }
        2 => {
            let _ = ask(view, data, "recognition_matrix", View::recognition_matrix);
        }
        3 => {
            let _ = ask(view, data, "demand_summary", View::demand_summary);
        }
        4 => {
            let _ = ask(view, data, "demand_trend", View::demand_trend);
        }
        5 => {
            let _ = ask(view, data, "shortage_alerts", View::shortage_alerts);
        }
        6 => {
            let _ = ask(view, data, "joint_report", View::joint_report);
        }
        7 => {
            if let Some((_, a)) = ask(view, data, "check_subject", View::check_subject) {
                let active = pb::EntryStatus::Active as i32;
                assert_eq!(a.any_active, a.entries.iter().any(|e| e.status == active));
            }
        }
        8 => {
            if let Some((mut req, a)) = ask(view, data, "list_entries", View::list_entries) {
                if !a.next_page_token.is_empty() {
                    assert!(
                        !a.entries.is_empty(),
                        "a page with a next token but no item"
                    );
                    req.page_token = a.next_page_token;
                    let next = view.list_entries(&req);
                    assert!(next.is_ok(), "the next page is refused: {next:?}");
                }
            }
        }
        _ => {
            if let Some((req, a)) = ask(view, data, "view_info", View::info) {
                assert!(req.at_position == 0 || a.position == req.at_position);
            }
        }
    }
}

/// The origins whose blacklist entries the samples hold, and one more without any.
const ORIGINS: [&str; 4] = ["310000", "320500", "330100", "340100"];

/// Page tokens: walking a listing page by page (the first byte sets the page size) yields
/// exactly the items of one large page; and any other token (the rest of the input, as
/// text, or hex-encoded) is refused naming `page_token`, or names a key to continue from.
pub fn page_token(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let view = &samples().view;
    let page_size = u32::from(flags % 8) + 1;
    let origin = ORIGINS[usize::from(flags >> 3) % ORIGINS.len()].to_owned();

    // The page walk: what the tokens of this view encode.
    let whole = view
        .list_entries(&pb::ListEntriesRequest {
            origin: origin.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("a plain listing failed: {e}"));
    let mut walked = Vec::new();
    let mut req = pb::ListEntriesRequest {
        origin: origin.clone(),
        page_size,
        ..Default::default()
    };
    loop {
        let page = view
            .list_entries(&req)
            .unwrap_or_else(|e| panic!("page {} of a listing failed: {e}", walked.len()));
        assert!(page.entries.len() <= page_size as usize);
        walked.extend(page.entries);
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(
            walked.len() <= whole.entries.len(),
            "the walk runs past the listing"
        );
        req.page_token = page.next_page_token;
    }
    assert_eq!(walked, whole.entries, "paging lost or repeated entries");

    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let tokens = [text.to_owned(), hex(text.as_bytes())];
    for token in tokens {
        let entries = view.list_entries(&pb::ListEntriesRequest {
            origin: origin.clone(),
            page_size,
            page_token: token.clone(),
            ..Default::default()
        });
        if let Some(a) = answered(entries, "list_entries") {
            assert!(a.entries.len() <= page_size as usize);
        }
        let rules = view.list_recognitions(&pb::ListRecognitionsRequest {
            page_size,
            page_token: token,
            ..Default::default()
        });
        if let Some(a) = answered(rules, "list_recognitions") {
            assert!(a.rules.len() <= page_size as usize);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The magic of the view snapshot file (`hub_view::snapshot`).
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"THVIEW06";

/// A view snapshot file, restored against the sample log. The first byte says how the
/// rest becomes the file: `0` as it is (magic and checksum untouched); `1` as the payload,
/// with the magic and a matching checksum added; `2` as the view state alone, after a
/// position (the second byte, modulo the log's length plus one) and the hash of the log's
/// event there, so that a state of the right length is restored and asked questions. A
/// restored view writes a snapshot that restores to the same digest.
pub fn snapshot(data: &[u8]) {
    let _ = snapshot_restored(data);
}

/// [`snapshot`], saying whether the view restored the snapshot (for the seeds' test).
pub fn snapshot_restored(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else {
        return false;
    };
    let log = &samples().log;
    let file = match mode % 3 {
        0 => rest.to_vec(),
        1 => framed(rest),
        _ => {
            let Some((&at, state)) = rest.split_first() else {
                return false;
            };
            let position = u64::from(at) % (log.head() + 1);
            let stored = hub_types::Position::new(position).map(|at| log.get(at));
            let hash = match stored {
                Ok(Ok(Some(e))) => hub_proto::record::record_hash(&e.record),
                _ => [0; 32],
            };
            let mut payload = position.to_le_bytes().to_vec();
            payload.extend_from_slice(&hash);
            payload.extend_from_slice(state);
            framed(&payload)
        }
    };
    let dir = scratch_dir();
    let path = hub_view::snapshot::path(dir.path());
    std::fs::write(&path, &file).unwrap_or_else(|e| panic!("cannot write the snapshot: {e}"));
    let view = View::new(view_config(Some(dir.path().to_owned())));
    if !view.restore(log) {
        assert_eq!(view.position(), 0, "a refused snapshot left a state behind");
        return false;
    }
    let position = view.position();
    assert!(position <= log.head());
    assert_eq!(view.snapshot_position(), position);
    let digest = view.digest(hub_view::Cut::Newest);
    let _ = answered(view.info(&pb::ViewInfoRequest::default()), "view_info");
    for origin in ORIGINS {
        let _ = answered(
            view.list_entries(&pb::ListEntriesRequest {
                origin: origin.to_owned(),
                ..Default::default()
            }),
            "list_entries",
        );
    }
    let _ = answered(
        view.list_recognitions(&pb::ListRecognitionsRequest::default()),
        "list_recognitions",
    );
    let _ = answered(
        view.demand_summary(&pb::DemandSummaryRequest::default()),
        "demand_summary",
    );
    let written = view
        .write_snapshot(log)
        .unwrap_or_else(|e| panic!("a restored view cannot write its snapshot: {e}"));
    assert_eq!(written, position);
    let again = View::new(view_config(Some(dir.path().to_owned())));
    assert!(again.restore(log), "a snapshot just written is refused");
    assert_eq!(again.position(), position);
    assert_eq!(
        again.digest(hub_view::Cut::Newest),
        digest,
        "the digest moved"
    );
    true
}

/// The snapshot file of `payload`: magic, SHA-256 of the payload, payload.
pub fn framed(payload: &[u8]) -> Vec<u8> {
    let mut file = SNAPSHOT_MAGIC.to_vec();
    file.extend_from_slice(&Sha256::digest(payload));
    file.extend_from_slice(payload);
    file
}
