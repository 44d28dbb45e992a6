//! The one place where errors become gRPC statuses: the node's own refusals
//! ([`Refusal`]) and the errors of the log, the view, the vault and the audit crate.

use hub_types::ValidationError;
use tonic::{Code, Status};

use crate::error::Refusal;

impl From<Refusal> for Status {
    fn from(refusal: Refusal) -> Self {
        refused(refusal)
    }
}

impl From<crate::error::Credentials> for Status {
    fn from(e: crate::error::Credentials) -> Self {
        refused(e.into())
    }
}

impl From<crate::error::Denial> for Status {
    fn from(e: crate::error::Denial) -> Self {
        refused(e.into())
    }
}

/// Maps a refusal of the node's own.
pub fn refused(refusal: Refusal) -> Status {
    use Refusal as R;
    let message = refusal.to_string();
    match refusal {
        R::Unauthenticated(_) => Status::unauthenticated(message),
        R::Denied(_) => Status::permission_denied(message),
        R::Overloaded(_) => Status::resource_exhausted(message),
        R::FellBehind { after } => with_position(
            Status::resource_exhausted(message),
            "th-resume-after",
            after,
        ),
        R::BadField { .. } | R::Unprovable { .. } => Status::invalid_argument(message),
        R::BeyondLog { .. } | R::TreeBehind(_) => Status::out_of_range(message),
        R::NoSuchPosition(_) => Status::not_found(message),
        R::UnknownReference { stream_version, .. } => with_position(
            Status::failed_precondition(message),
            "th-actual-version",
            stream_version,
        ),
        R::Erased(_) | R::NotReplicating | R::ReplicationStopped => {
            Status::failed_precondition(message)
        }
        R::ViewBehind(_) => Status::unavailable(message),
        R::ShuttingDown { resume_after } => {
            let status = Status::unavailable(message);
            match resume_after {
                Some(after) => with_position(status, "th-resume-after", after),
                None => status,
            }
        }
        R::TaskFailed(_) => {
            tracing::error!(error = %message, "background task failed");
            Status::internal(message)
        }
    }
}

/// Adds a position or version as decimal metadata under `key`.
fn with_position(mut status: Status, key: &'static str, value: u64) -> Status {
    if let Ok(v) = value.to_string().parse() {
        status.metadata_mut().insert(key, v);
    }
    status
}

/// Names the refused batch of an `AppendStream` in its status and says which batches before
/// it were applied; the stream ends with it.
pub fn in_batch(index: usize, status: Status) -> Status {
    let applied = match index {
        0 => "no batch was applied".to_owned(),
        1 => "batch 0 was applied".to_owned(),
        n => format!("batches 0 to {} were applied", n - 1),
    };
    Status::with_metadata(
        status.code(),
        format!("batch {index}: {} ({applied})", status.message()),
        status.metadata().clone(),
    )
}

/// Bad input: `INVALID_ARGUMENT` naming the field.
pub fn invalid(e: &ValidationError) -> Status {
    Status::invalid_argument(e.to_string())
}

/// Maps what the transport reports about a request: a message above the size limit is
/// `RESOURCE_EXHAUSTED` (gRPC's guidance), not tonic's `OUT_OF_RANGE`.
pub fn from_transport(status: Status) -> Status {
    if is_oversize(status.code(), status.message()) {
        return Status::resource_exhausted(oversize_message(status.message()));
    }
    status
}

/// Rewrites tonic's trailers-only answer to a unary request above the size limit (sent
/// before any handler runs) into `RESOURCE_EXHAUSTED`.
pub fn oversize_response<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from);
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(|m| {
            percent_encoding::percent_decode_str(m)
                .decode_utf8_lossy()
                .into_owned()
        });
    if let (Some(code), Some(message)) = (code, message) {
        if is_oversize(code, &message) {
            let status = Status::resource_exhausted(oversize_message(&message));
            if let Ok(v) =
                http::HeaderValue::from_str(&(Code::ResourceExhausted as i32).to_string())
            {
                headers.insert("grpc-status", v);
            }
            // The new message is plain ASCII: no percent-encoding is needed.
            if let Ok(v) = http::HeaderValue::from_str(status.message()) {
                headers.insert("grpc-message", v);
            }
        }
    }
    response
}

/// True for tonic's report of a message above the decoding limit.
pub(crate) fn is_oversize(code: Code, message: &str) -> bool {
    code == Code::OutOfRange && message.contains("decoded message length too large")
}

/// The size limit's message in the house style: what was sent, what is allowed.
pub(crate) fn oversize_message(tonic_message: &str) -> String {
    let numbers: Vec<&str> = tonic_message
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    match numbers.as_slice() {
        [found, limit, ..] => format!(
            "request of {found} bytes is above the message limit of {limit} bytes \
             (server.max_message_bytes)"
        ),
        _ => "request is above the message limit (server.max_message_bytes)".to_owned(),
    }
}

/// Maps a log error.
pub fn from_log(e: hub_log::Error) -> Status {
    use hub_log::Error as E;
    match &e {
        E::WrongExpectedVersion { actual, .. } => with_position(
            Status::failed_precondition(e.to_string()),
            "th-actual-version",
            *actual,
        ),
        E::EventIdReused { .. } | E::PartialRetry { .. } | E::NotTheStoredBatch { .. } => {
            Status::already_exists(e.to_string())
        }
        E::Invalid(v) => invalid(v),
        E::Gap { .. } | E::ChainBroken { .. } | E::Conflict { .. } => {
            Status::failed_precondition(e.to_string())
        }
        E::Closed => Status::unavailable("the node is shutting down"),
        // Logged by the log's writer when it starts and stops refusing.
        E::DiskLow { .. } => Status::resource_exhausted(e.to_string()),
        E::WriteFailed { disk_full, .. } => {
            tracing::error!(error = %e, "log write failed");
            if *disk_full {
                Status::resource_exhausted(e.to_string())
            } else {
                Status::unavailable(e.to_string())
            }
        }
        E::Corrupt { .. } => {
            tracing::error!(error = %e, "the log is damaged; see docs/operations.md, corruption at rest");
            Status::data_loss(e.to_string())
        }
        E::Storage(_) | E::Io(_) => {
            // A read of a store poisoned by a full file system fails as the write did.
            if let full @ E::WriteFailed {
                disk_full: true, ..
            } = E::write_failed(&e)
            {
                return Status::resource_exhausted(full.to_string());
            }
            tracing::error!(error = %e, "log failure");
            Status::internal(format!("storage failure: {e}"))
        }
    }
}

/// Maps a view error.
pub fn from_view(e: hub_view::Error) -> Status {
    match e {
        hub_view::Error::Invalid(v) => invalid(&v),
        hub_view::Error::NotYet { .. } => Status::new(Code::OutOfRange, e.to_string()),
        hub_view::Error::Log(e) => from_log(e),
    }
}

/// Maps an entry-key vault error.
pub fn from_vault(e: hub_log::vault::VaultError) -> Status {
    use hub_log::vault::VaultError as E;
    match &e {
        E::Erased(_) => Status::failed_precondition(e.to_string()),
        E::StreamTooLong(_) => Status::invalid_argument(format!("stream: {e}")),
        E::Io { .. } => {
            tracing::error!(error = %e, "vault failure");
            Status::internal(format!("storage failure: {e}"))
        }
        E::Corrupt { .. } => {
            tracing::error!(error = %e, "the vault is damaged");
            Status::data_loss(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_position_is_not_found_naming_the_field() {
        let status = refused(Refusal::NoSuchPosition(7));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "position: no event is stored at 7");
    }

    #[test]
    fn a_bad_certificate_name_is_quoted_short() {
        use crate::error::Credentials;
        for refusal in [
            Credentials::CommonNameNotMember("9".repeat(300)),
            Credentials::UnknownRole("r".repeat(300)),
        ] {
            let status = refused(Refusal::Unauthenticated(refusal));
            assert_eq!(status.code(), Code::Unauthenticated);
            assert!(
                status.message().contains("…\" (300 characters) is not"),
                "{}",
                status.message()
            );
            assert!(status.message().len() < 200, "{}", status.message());
        }
        let status = refused(Refusal::Unauthenticated(Credentials::UnknownRole(
            "admin".into(),
        )));
        assert_eq!(
            status.message(),
            "client certificate role \"admin\" is not member, auditor or operator"
        );
    }
}
