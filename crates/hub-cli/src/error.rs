//! What can go wrong in `hubctl`, as one readable line and an exit code.
//!
//! Exit codes: 2 for bad usage or input (nothing was sent), 1 for errors the server
//! answered with (and a replay that disagrees with it), 3 when the node cannot be reached.

use std::fmt;

use tonic::{Code, Status};

/// The result of a command.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// A failed command.
#[derive(Debug)]
pub enum CliError {
    /// Bad flags, a bad file or a bad line: nothing was sent.
    Input(String),
    /// The server answered a call with an error status.
    Server {
        /// What the call was trying to do, e.g. `append to demand/310000/x`.
        what: String,
        /// The status code.
        code: Code,
        /// The server's message, plus a hint when one helps.
        message: String,
    },
    /// The node could not be reached.
    Connect {
        /// The endpoint tried.
        endpoint: String,
        /// Why, from the innermost transport error.
        cause: String,
    },
    /// A local check failed against the server's answer (e.g. a digest mismatch).
    Mismatch(String),
}

impl CliError {
    /// Wraps a status from the call described by `what`.
    pub fn status(what: impl Into<String>, status: &Status) -> Self {
        Self::Server {
            what: what.into(),
            code: status.code(),
            message: status.message().to_owned(),
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Input(_) => 2,
            // Unavailable means the node cannot take the call now (it is stopping, or the
            // connection dropped): a reachability problem, like a refused connection.
            Self::Server {
                code: Code::Unavailable,
                ..
            } => 3,
            Self::Server { .. } | Self::Mismatch(_) => 1,
            Self::Connect { .. } => 3,
        }
    }

    /// The status code of a server error, if this is one.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(msg) | Self::Mismatch(msg) => f.write_str(msg),
            Self::Server {
                what,
                code,
                message,
            } => write!(f, "{what} ({}): {message}", code_name(*code)),
            Self::Connect { endpoint, cause } => write!(
                f,
                "cannot connect to {endpoint} (unavailable): {cause}; is a node running there? \
                 start one with `talent-hub` (or `talent-hub --sandbox` for the demo), or point \
                 --endpoint / HUBCTL_ENDPOINT at it"
            ),
        }
    }
}

impl std::error::Error for CliError {}

/// The snake_case name of a gRPC status code, as in the gRPC spec (`permission_denied`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The innermost message of an error's source chain: for a refused connection that is the
/// OS error rather than tonic's generic "transport error".
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_name_the_call_the_code_and_the_message() {
        let e = CliError::status("query info", &Status::unauthenticated("unknown token"));
        assert_eq!(e.to_string(), "query info (unauthenticated): unknown token");
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn exit_codes_separate_input_server_and_connection_failures() {
        assert_eq!(CliError::Input("x".into()).exit_code(), 2);
        assert_eq!(CliError::Mismatch("x".into()).exit_code(), 1);
        let refused = CliError::Connect {
            endpoint: "http://127.0.0.1:1".into(),
            cause: "connection refused".into(),
        };
        assert_eq!(refused.exit_code(), 3);
        assert!(refused.to_string().contains("talent-hub"));
        let stopping = CliError::status("tail", &Status::unavailable("stopping"));
        assert_eq!(stopping.exit_code(), 3);
    }
}
