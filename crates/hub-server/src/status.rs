//! The one place where errors become gRPC statuses.

use hub_types::ValidationError;
use tonic::{Code, Status};

/// Bad input: `INVALID_ARGUMENT` naming the field.
pub fn invalid(e: &ValidationError) -> Status {
    Status::invalid_argument(e.to_string())
}

/// Maps a log error.
pub fn from_log(e: hub_log::Error) -> Status {
    use hub_log::Error as E;
    match &e {
        E::WrongExpectedVersion { actual, .. } => {
            let mut s = Status::failed_precondition(e.to_string());
            if let Ok(v) = actual.to_string().parse() {
                s.metadata_mut().insert("th-actual-version", v);
            }
            s
        }
        E::EventIdReused { .. } | E::PartialRetry { .. } => Status::already_exists(e.to_string()),
        E::Invalid(v) => invalid(v),
        E::Gap { .. } | E::ChainBroken { .. } | E::Conflict { .. } => {
            Status::failed_precondition(e.to_string())
        }
        E::Closed => Status::unavailable("the node is shutting down"),
        E::Corrupt { .. } | E::Storage(_) | E::Io(_) => {
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
    }
}
