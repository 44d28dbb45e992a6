//! Opaque page tokens: the hex of the last key returned.

use hub_types::{LocalId, MemberId, ValidationError};

/// Default and largest page sizes.
pub(crate) const DEFAULT_PAGE: usize = 100;
pub(crate) const MAX_PAGE: usize = 1000;

/// Checks a requested page size (0 = default).
pub(crate) fn page_size(requested: u32) -> Result<usize, ValidationError> {
    match requested as usize {
        0 => Ok(DEFAULT_PAGE),
        n if n > MAX_PAGE => Err(ValidationError::new(
            "page_size",
            format!("expected at most {MAX_PAGE}, got {n}"),
        )),
        n => Ok(n),
    }
}

/// Encodes the key of the last item of a page.
pub(crate) fn token(member: MemberId, id: &LocalId) -> String {
    hex::encode(format!("{member}/{id}"))
}

/// Decodes a page token; `None` for the first page.
pub(crate) fn parse_token(token: &str) -> Result<Option<(MemberId, LocalId)>, ValidationError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ValidationError::new("page_token", "not a token this server issued");
    let bytes = hex::decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (member, id) = text.split_once('/').ok_or_else(bad)?;
    Ok(Some((
        member.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    )))
}
