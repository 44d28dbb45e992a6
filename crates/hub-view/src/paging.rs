//! Opaque page tokens: the hex of the position the listing is answered at and the last key
//! returned.

use std::ops::Bound;

use hub_proto::budget::ByteBudget;
use hub_proto::pb;
use hub_types::{LocalId, MemberId, ValidationError};

/// Default and largest page sizes.
pub(crate) const DEFAULT_PAGE: usize = 100;
pub(crate) const MAX_PAGE: usize = 1000;

/// Checks a requested page size (0 = default).
fn page_size(requested: u32) -> Result<usize, ValidationError> {
    match requested as usize {
        0 => Ok(DEFAULT_PAGE),
        n if n > MAX_PAGE => Err(ValidationError::new(
            "page_size",
            format!("expected at most {MAX_PAGE}, got {n}"),
        )),
        n => Ok(n),
    }
}

/// Fills one page of a listing in key order: at most `limit` items and at most the page's
/// byte budget; when items remain, the page's token names its last key.
#[derive(Debug)]
pub(crate) struct Pager<'a> {
    limit: usize,
    budget: ByteBudget,
    position: u64,
    last: Option<(MemberId, &'a LocalId)>,
    next: String,
}

impl<'a> Pager<'a> {
    /// A page answered at `position`.
    pub(crate) fn new(limit: usize, bytes: usize, position: u64) -> Self {
        Self {
            limit,
            budget: ByteBudget::new(bytes),
            position,
            last: None,
            next: String::new(),
        }
    }

    /// Adds the item `make` builds for `key` to `items`; false when the page is full (the
    /// listing stops there and continues from the page's token).
    pub(crate) fn push<M: prost::Message>(
        &mut self,
        items: &mut Vec<M>,
        key: (MemberId, &'a LocalId),
        make: impl FnOnce() -> M,
    ) -> bool {
        if items.len() < self.limit {
            let item = make();
            if self.budget.admit(&item) {
                items.push(item);
                self.last = Some(key);
                return true;
            }
        }
        if let Some((member, id)) = self.last {
            self.next = token(self.position, member, id);
        }
        false
    }

    /// The token of the next page; empty when the listing ended on this page.
    pub(crate) fn next_token(self) -> String {
        self.next
    }
}

/// A decoded page token: the position the first page was answered at, and the key of the
/// last item returned so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct After {
    /// The record-time position every page of the listing is answered at.
    pub(crate) position: u64,
    /// The last key returned.
    pub(crate) key: (MemberId, LocalId),
}

/// Encodes the position a listing is answered at and the key of its page's last item.
pub(crate) fn token(position: u64, member: MemberId, id: &LocalId) -> String {
    hex::encode(format!("{position}/{member}/{id}"))
}

/// Decodes a page token; `None` for the first page.
fn parse_token(token: &str) -> Result<Option<After>, ValidationError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ValidationError::new("page_token", "not a token this server issued");
    let bytes = hex::decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(3, '/');
    let (Some(position), Some(member), Some(id)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok(Some(After {
        position: position.parse().map_err(|_| bad())?,
        key: (
            member.parse().map_err(|_| bad())?,
            id.parse().map_err(|_| bad())?,
        ),
    }))
}

/// The time axes a page is answered on: a later page stays at the position of the first,
/// so a listing never mixes two states of the view. A request that names its own
/// `at_position` must name that one; an `as_of` instant resolves to the same position
/// anyway.
fn page_time(
    time: Option<&pb::TimeAxes>,
    after: Option<&After>,
) -> Result<Option<pb::TimeAxes>, ValidationError> {
    let Some(after) = after else {
        return Ok(time.cloned());
    };
    let mut time = time.cloned().unwrap_or_default();
    if time.as_of.is_none() {
        match time.at_position {
            0 => time.at_position = after.position,
            p if p == after.position => {}
            p => {
                return Err(ValidationError::new(
                    "page_token",
                    format!(
                        "was issued for at_position {}, the request asks for {p}",
                        after.position
                    ),
                ))
            }
        }
    }
    Ok(Some(time))
}

/// A listing request's paging, checked: the page size, where the listing continues, and
/// the time axes every page is answered on.
#[derive(Debug)]
pub(crate) struct Listing {
    /// Items per page at most.
    pub(crate) limit: usize,
    /// Where the previous page ended; `None` on the first page.
    pub(crate) after: Option<After>,
    /// The time axes, held at the first page's position on later pages.
    pub(crate) time: Option<pb::TimeAxes>,
}

impl Listing {
    /// Checks `page_size`, `page_token` and `time`. The token of a listing of one city's
    /// items must name that city (`origin`).
    pub(crate) fn parse(
        page_size: u32,
        page_token: &str,
        time: Option<&pb::TimeAxes>,
        origin: Option<MemberId>,
    ) -> Result<Self, ValidationError> {
        let limit = self::page_size(page_size)?;
        let after = parse_token(page_token)?;
        if let (Some(a), Some(origin)) = (&after, origin) {
            if a.key.0 != origin {
                return Err(ValidationError::new(
                    "page_token",
                    "belongs to another origin",
                ));
            }
        }
        let time = page_time(time, after.as_ref())?;
        Ok(Self { limit, after, time })
    }

    /// Where the page starts reading keys: after the previous page's last key, else at
    /// `first`.
    pub(crate) fn start(&self, first: Bound<Key>) -> (Bound<Key>, Bound<Key>) {
        let lower = match &self.after {
            Some(a) => Bound::Excluded(a.key.clone()),
            None => first,
        };
        (lower, Bound::Unbounded)
    }
}

/// The key of a listed item: its city and its id there.
pub(crate) type Key = (MemberId, LocalId);

/// The first key of `origin`'s items: no valid local id sorts before `0`.
pub(crate) fn first_of(origin: MemberId) -> Bound<Key> {
    Bound::Included((origin, "0".parse().expect("\"0\" is a valid local id")))
}
