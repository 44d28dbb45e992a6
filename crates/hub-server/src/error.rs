//! What the node itself refuses, beside the errors of the library crates: who the caller
//! is, what it may do, the node's limits, and the requests the services check themselves.
//! [`crate::status`] turns each into its gRPC status, in one place.

use hub_types::{MemberId, StreamId};

use crate::identity::Role;

/// A call the node refuses.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No credentials, or credentials that name nobody (`UNAUTHENTICATED`).
    #[error("{0}")]
    Unauthenticated(#[from] Credentials),
    /// The caller may not do this (`PERMISSION_DENIED`).
    #[error("{0}")]
    Denied(#[from] Denial),
    /// Over one of the node's limits; retry shortly (`RESOURCE_EXHAUSTED`).
    #[error("{0}")]
    Overloaded(#[from] Overload),
    /// A request field outside what it may hold (`INVALID_ARGUMENT`).
    #[error("{field}: {problem}")]
    BadField {
        /// The field's path in the request.
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// A proof asked for sizes or positions the tree cannot prove (`INVALID_ARGUMENT`).
    #[error("{field}: {source}")]
    Unprovable {
        /// The request field the proof was asked with.
        field: &'static str,
        /// What the tree said.
        source: hub_audit::Error,
    },
    /// A tree size beyond the log (`OUT_OF_RANGE`: retry once the log has grown).
    #[error("{field}: {requested} is beyond the log's {len} events")]
    BeyondLog {
        /// The request field naming the size.
        field: &'static str,
        /// The size asked for.
        requested: u64,
        /// The events in the log.
        len: u64,
    },
    /// The Merkle tree does not (yet) hold the size asked for (`OUT_OF_RANGE`).
    #[error("{0}")]
    TreeBehind(hub_audit::Error),
    /// A position inside the log whose event cannot be found (`NOT_FOUND`).
    #[error("position: no event is stored at {0}")]
    NoSuchPosition(u64),
    /// A batch names a rule, signal or entry its city never created
    /// (`FAILED_PRECONDITION`, with the stream's version in `th-actual-version`).
    #[error(
        "events[{}].body.{}: {} {} of {owner} does not exist",
        unknown.index,
        unknown.field,
        unknown.what,
        hub_types::Quoted(unknown.id.as_str())
    )]
    UnknownReference {
        /// What is named and where.
        unknown: hub_types::fold::UnknownReference,
        /// The city whose entity it would be.
        owner: MemberId,
        /// The stream's version (0 = no such stream), so that a client can tell a
        /// mistyped stream from a missing rule in an existing list.
        stream_version: u64,
    },
    /// A new event for an entry whose personal data is erased (`FAILED_PRECONDITION`).
    #[error("the personal data of {0} is erased: the entry takes no more events")]
    Erased(StreamId),
    /// The view has not folded the log's head in time (`UNAVAILABLE`).
    #[error("the view has not folded position {0} yet; retry")]
    ViewBehind(u64),
    /// The node is shutting down (`UNAVAILABLE`); a subscription is told where to resume.
    #[error("the node is shutting down{}", resume_hint(*.resume_after))]
    ShuttingDown {
        /// The subscription's last position, sent in `th-resume-after`.
        resume_after: Option<u64>,
    },
    /// A subscriber whose buffer stayed full for the lag timeout (`RESOURCE_EXHAUSTED`,
    /// with `th-resume-after`).
    #[error("subscriber fell behind: resubscribe with after_position = {after}")]
    FellBehind {
        /// The last position it was sent.
        after: u64,
    },
    /// A repair asked of a node without replication (`FAILED_PRECONDITION`).
    #[error("this node does not replicate (no [kafka] section)")]
    NotReplicating,
    /// A repair asked while replication is stopping (`FAILED_PRECONDITION`).
    #[error("replication stopped")]
    ReplicationStopped,
    /// Work handed to a blocking task that did not come back (`INTERNAL`).
    #[error("a background task failed: {0}")]
    TaskFailed(String),
}

fn resume_hint(after: Option<u64>) -> String {
    after.map_or_else(String::new, |after| {
        format!(": resubscribe with after_position = {after}")
    })
}

/// Why the caller's credentials name nobody.
#[derive(Debug, thiserror::Error)]
pub enum Credentials {
    /// Mutual TLS without a client certificate.
    #[error("a client certificate is required")]
    NoCertificate,
    /// A client certificate that is not X.509.
    #[error("client certificate cannot be parsed")]
    CertificateUnreadable,
    /// A client certificate without a CN.
    #[error("client certificate has no common name")]
    NoCommonName,
    /// A CN that is not a member code.
    #[error("client certificate common name {} is not a member code", hub_types::Quoted(.0))]
    CommonNameNotMember(String),
    /// A client certificate without an OU.
    #[error("client certificate names no role (OU)")]
    NoRole,
    /// An OU that is not a role.
    #[error(
        "client certificate role {} is not member, auditor or operator",
        hub_types::Quoted(.0)
    )]
    UnknownRole(String),
    /// No `authorization` metadata.
    #[error("missing authorization header (Bearer token)")]
    NoAuthorization,
    /// `authorization` metadata that is not ASCII text.
    #[error("authorization header is not text")]
    AuthorizationNotText,
    /// `authorization` metadata of another scheme.
    #[error("authorization must be \"Bearer <token>\"")]
    NotBearer,
    /// A bearer token the node does not know.
    #[error("unknown token")]
    UnknownToken,
}

/// Why an authenticated caller may not do what it asks.
#[derive(Debug, thiserror::Error)]
pub enum Denial {
    /// The role may not do this at all.
    #[error("role {} may not {what}", role.as_str())]
    Role {
        /// The caller's role.
        role: Role,
        /// What it asked, as a verb phrase.
        what: &'static str,
    },
    /// A member publishing to another city's stream.
    #[error("stream {stream}: member {member} may only publish to its own streams")]
    NotOwnStream {
        /// The stream asked for.
        stream: StreamId,
        /// The caller's city.
        member: MemberId,
    },
    /// A member publishing on a node that publishes for another city.
    #[error("this node publishes for {node}; {member} must publish on its own node")]
    OtherCitysNode {
        /// The city this node publishes for.
        node: MemberId,
        /// The caller's city.
        member: MemberId,
    },
    /// A member publishing on a read replica.
    #[error("this node is a read replica and accepts no appends")]
    ReadReplica,
    /// A member publishing that the roster does not hold.
    #[error("{0} is not in the roster")]
    NotInRoster(MemberId),
}

/// Which of the node's limits a call is over.
#[derive(Debug, thiserror::Error)]
pub enum Overload {
    /// The member's token bucket is empty.
    #[error("member {member} is over its rate of {rate} requests per second; retry shortly")]
    MemberRate {
        /// The member.
        member: MemberId,
        /// `server.member_rate_per_second`.
        rate: u64,
    },
    /// Every unary request slot is taken.
    #[error("the node is serving {0} requests; retry shortly")]
    InFlight(usize),
    /// Every subscription slot is taken.
    #[error("the node serves at most {0} subscriptions")]
    Subscriptions(usize),
    /// Every `AppendStream` slot is taken.
    #[error(
        "the node serves at most {0} append streams at once (server.max_append_streams); \
         retry shortly or send on an open one"
    )]
    AppendStreams(usize),
}
