//! Questions to the view: every `Query` request, page tokens, and view snapshots.

use hub_proto::pb;
use hub_view::{Error, View};
use prost::Message;

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
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"THVIEW07";

/// A view snapshot file, restored against the sample log. The first byte says how the
/// rest becomes the file: `0` as it is (magic and checks untouched); `1` as the parts of
/// a state, framed with matching checks ([`framed`]); `2` as the view state alone, after a
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

/// The snapshot file of `payload`, the parts of a state as the inputs give them: the
/// bincode of (position, the log's record hash there, the small section's bytes, then each
/// of the nine maps' pieces' bytes). It is framed as `hub_view::snapshot` writes a file:
/// magic, the header's length and CRC32, the header (position, hash, every section's length
/// and CRC32), the sections. A payload that is not such parts becomes the header itself, so
/// that the header's decoding is fuzzed too.
pub fn framed(payload: &[u8]) -> Vec<u8> {
    let (header, sections) = match parts(payload) {
        Some(parts) => {
            let mut header = parts.position.to_le_bytes().to_vec();
            header.extend_from_slice(parts.hash);
            let mut sections = Vec::new();
            let mut section = |header: &mut Vec<u8>, bytes: &[u8]| {
                header.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
                header.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
                sections.extend_from_slice(bytes);
            };
            section(&mut header, parts.small);
            for pieces in &parts.maps {
                header.extend_from_slice(&(pieces.len() as u64).to_le_bytes());
                for piece in pieces {
                    section(&mut header, piece);
                }
            }
            (header, sections)
        }
        None => (payload.to_vec(), Vec::new()),
    };
    let mut file = SNAPSHOT_MAGIC.to_vec();
    file.extend_from_slice(&(header.len() as u32).to_be_bytes());
    file.extend_from_slice(&crc32fast::hash(&header).to_be_bytes());
    file.extend_from_slice(&header);
    file.extend_from_slice(&sections);
    file
}

/// The inverse of [`framed`] for a file the view wrote: its parts, as [`framed`] takes
/// them.
pub fn unframed(file: &[u8]) -> Option<Vec<u8>> {
    let len = u32::from_be_bytes(file.get(8..12)?.try_into().ok()?) as usize;
    let mut header = Cursor(file.get(16..16 + len)?);
    let mut sections = Cursor(file.get(16 + len..)?);
    let mut payload = header.take(40)?.to_vec();
    let mut section = |header: &mut Cursor<'_>, payload: &mut Vec<u8>| -> Option<()> {
        let len = header.u64()?;
        header.take(4)?;
        payload.extend_from_slice(&len.to_le_bytes());
        payload.extend_from_slice(sections.take(usize::try_from(len).ok()?)?);
        Some(())
    };
    section(&mut header, &mut payload)?;
    for _ in 0..9 {
        let count = header.u64()?;
        payload.extend_from_slice(&count.to_le_bytes());
        for _ in 0..count {
            section(&mut header, &mut payload)?;
        }
    }
    Some(payload)
}

/// The parts of a snapshot as [`framed`] reads them.
struct Parts<'a> {
    position: u64,
    hash: &'a [u8],
    small: &'a [u8],
    maps: Vec<Vec<&'a [u8]>>,
}

/// Reads `payload` as [`Parts`] (bincode's fixed-width little-endian integers), if it is
/// exactly that.
fn parts(payload: &[u8]) -> Option<Parts<'_>> {
    let mut at = Cursor(payload);
    let position = at.u64()?;
    let hash = at.take(32)?;
    let small = at.bytes()?;
    let mut maps = Vec::new();
    for _ in 0..9 {
        let count = at.u64()?;
        // Each piece takes at least its length's 8 bytes.
        if count > at.0.len() as u64 / 8 {
            return None;
        }
        maps.push((0..count).map(|_| at.bytes()).collect::<Option<_>>()?);
    }
    at.0.is_empty().then_some(Parts {
        position,
        hash,
        small,
        maps,
    })
}

/// Bytes being read from the front.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(taken)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u64()?).ok()?;
        self.take(len)
    }
}
