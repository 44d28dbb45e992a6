//! Who is calling, and what they may do: authentication by bearer token and the
//! authorisation matrix, enforced in one place.

use std::collections::HashMap;

use hub_types::{MemberId, StreamId};
use tonic::Request;

use crate::config::TokenConfig;
use crate::error::{Credentials, Denial, Refusal};
pub use crate::identity::{Access, Caller, Role};

/// The operations the matrix decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Append to a stream.
    Append(&'a StreamId),
    /// Ask the view a question without personal data (recognition, demand, view info).
    Query,
    /// Ask about blacklist entries (CheckSubject, ListEntries): personal data.
    QueryPersonal,
    /// Read the log (ReadAll, ReadStream, Subscribe).
    ReadLog,
    /// Read proofs, tree heads and the access trail.
    Audit,
    /// Repair replication (rewind the topic, re-publish own events).
    Repair,
}

/// Maps bearer tokens to callers and decides what they may do.
#[derive(Debug, Clone)]
pub struct Authorizer {
    tokens: HashMap<String, Caller>,
    /// With mutual TLS, callers are named by their certificates and tokens are ignored.
    tls: bool,
    /// The cities this node publishes for.
    publishes_for: PublishesFor,
}

/// Which cities a node accepts appends for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishesFor {
    /// None: a read replica.
    Nobody,
    /// Its own city (the normal case).
    One(MemberId),
    /// Every roster city (the development sandbox).
    Roster(Vec<MemberId>),
}

impl PublishesFor {
    fn includes(&self, member: MemberId) -> bool {
        match self {
            Self::Nobody => false,
            Self::One(m) => *m == member,
            Self::Roster(members) => members.contains(&member),
        }
    }
}

impl Authorizer {
    /// Builds the token table (the config is validated, so members parse).
    pub fn new(tokens: &[TokenConfig], publishes_for: PublishesFor) -> Self {
        let tokens = tokens
            .iter()
            .filter_map(|t| {
                let member = t.member.parse().ok()?;
                Some((
                    t.token.clone(),
                    Caller {
                        member,
                        role: t.role,
                    },
                ))
            })
            .collect();
        Self {
            tokens,
            tls: false,
            publishes_for,
        }
    }

    /// Names callers by their client certificates (mutual TLS) instead of tokens.
    #[must_use]
    pub fn with_tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Identifies the caller of `req`: from its client certificate under mutual TLS,
    /// otherwise from its `authorization: Bearer …` header.
    pub fn authenticate<T>(&self, req: &Request<T>) -> Result<Caller, Credentials> {
        if self.tls {
            let certs = req.peer_certs().ok_or(Credentials::NoCertificate)?;
            let first = certs.first().ok_or(Credentials::NoCertificate)?;
            return crate::tls::caller_from_certificate(first.as_ref());
        }
        let header = req
            .metadata()
            .get("authorization")
            .ok_or(Credentials::NoAuthorization)?;
        let value = header
            .to_str()
            .map_err(|_| Credentials::AuthorizationNotText)?;
        // The scheme name is case-insensitive (RFC 7235 section 2.1).
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .ok_or(Credentials::NotBearer)?;
        self.tokens
            .get(token.trim())
            .copied()
            .ok_or(Credentials::UnknownToken)
    }

    /// Authenticates the caller of `req` and checks that it may perform `action`.
    pub fn authorize<T>(
        &self,
        req: &Request<T>,
        action: Action<'_>,
    ) -> Result<(Caller, Access), Refusal> {
        let caller = self.authenticate(req)?;
        let access = self.check(caller, action)?;
        Ok((caller, access))
    }

    /// The authorisation matrix, in one place:
    ///
    /// | action | member | auditor | operator |
    /// |---|---|---|---|
    /// | append | own city's streams, on a node publishing for it | no | no |
    /// | query (recognition, demand, info) | yes | yes | yes |
    /// | query personal (blacklist) | yes | yes | no |
    /// | read log, subscribe | yes | yes | personal fields redacted |
    /// | audit (proofs, access trail) | yes | yes | no |
    /// | repair replication | no | no | yes |
    pub fn check(&self, caller: Caller, action: Action<'_>) -> Result<Access, Denial> {
        let deny = |what: &'static str| {
            Err(Denial::Role {
                role: caller.role,
                what,
            })
        };
        match (action, caller.role) {
            (Action::Append(stream), Role::Member) => {
                if stream.owner() != caller.member {
                    return Err(Denial::NotOwnStream {
                        stream: stream.clone(),
                        member: caller.member,
                    });
                }
                if !self.publishes_for.includes(caller.member) {
                    return Err(match &self.publishes_for {
                        PublishesFor::One(node) => Denial::OtherCitysNode {
                            node: *node,
                            member: caller.member,
                        },
                        PublishesFor::Nobody => Denial::ReadReplica,
                        PublishesFor::Roster(_) => Denial::NotInRoster(caller.member),
                    });
                }
                Ok(Access::Full)
            }
            (Action::Append(_), _) => deny("publish"),
            (Action::Query, _) => Ok(Access::Full),
            (Action::QueryPersonal | Action::Audit, Role::Member | Role::Auditor) => {
                Ok(Access::Full)
            }
            (Action::QueryPersonal, Role::Operator) => deny("read blacklist entries"),
            (Action::Audit, Role::Operator) => deny("read audit data"),
            (Action::ReadLog, Role::Member | Role::Auditor) => Ok(Access::Full),
            (Action::ReadLog, Role::Operator) => Ok(Access::Redacted),
            (Action::Repair, Role::Operator) => Ok(Access::Full),
            (Action::Repair, _) => deny("repair replication"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorizer() -> Authorizer {
        let t = |token: &str, member: &str, role| TokenConfig {
            token: token.into(),
            member: member.into(),
            role,
        };
        Authorizer::new(
            &[
                t("sh-member-token", "310000", Role::Member),
                t("jx-member-token", "330400", Role::Member),
                t("auditor-token", "310000", Role::Auditor),
                t("operator-token", "310000", Role::Operator),
            ],
            PublishesFor::One("310000".parse().expect("member")),
        )
    }

    fn request(auth: Option<&str>) -> Request<()> {
        let mut req = Request::new(());
        if let Some(a) = auth {
            req.metadata_mut()
                .insert("authorization", a.parse().expect("ascii"));
        }
        req
    }

    #[test]
    fn callers_are_identified_by_token() {
        let a = authorizer();
        let caller = a
            .authenticate(&request(Some("Bearer sh-member-token")))
            .expect("known");
        assert_eq!(caller.role, Role::Member);
        for bad in [
            None,
            Some("sh-member-token"),
            Some("Bearer nope"),
            Some("Basic x"),
            Some("Bearersh-member-token"),
        ] {
            let err = a.authenticate(&request(bad)).expect_err("rejected");
            assert_eq!(
                tonic::Status::from(err).code(),
                tonic::Code::Unauthenticated,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let a = authorizer();
        for header in [
            "bearer sh-member-token",
            "BEARER sh-member-token",
            "BeArEr sh-member-token",
        ] {
            let caller = a.authenticate(&request(Some(header))).expect(header);
            assert_eq!(caller.role, Role::Member, "{header}");
        }
    }

    #[test]
    fn only_the_node_city_member_appends_its_own_streams() {
        let a = authorizer();
        let own: StreamId = "demand/310000/x".parse().expect("stream");
        let foreign: StreamId = "demand/330400/x".parse().expect("stream");
        let caller = |token: &str| {
            a.authenticate(&request(Some(&format!("Bearer {token}"))))
                .expect("known")
        };
        assert!(a
            .check(caller("sh-member-token"), Action::Append(&own))
            .is_ok());
        let denied = [
            ("sh-member-token", &foreign),
            ("jx-member-token", &foreign),
            ("jx-member-token", &own),
            ("auditor-token", &own),
            ("operator-token", &own),
        ];
        for (token, stream) in denied {
            let err = a
                .check(caller(token), Action::Append(stream))
                .expect_err(token);
            assert_eq!(
                tonic::Status::from(err).code(),
                tonic::Code::PermissionDenied,
                "{token} {stream}"
            );
        }
        let full = Ok(Access::Full);
        for token in ["sh-member-token", "jx-member-token", "auditor-token"] {
            for action in [
                Action::Query,
                Action::QueryPersonal,
                Action::ReadLog,
                Action::Audit,
            ] {
                assert_eq!(
                    a.check(caller(token), action)
                        .map_err(|e| tonic::Status::from(e).code()),
                    full,
                    "{token}"
                );
            }
        }
        let op = caller("operator-token");
        assert_eq!(
            a.check(op, Action::Query)
                .map_err(|e| tonic::Status::from(e).code()),
            full
        );
        assert_eq!(
            a.check(op, Action::ReadLog)
                .map_err(|e| tonic::Status::from(e).code()),
            Ok(Access::Redacted)
        );
        for action in [Action::QueryPersonal, Action::Audit] {
            assert_eq!(
                a.check(op, action)
                    .map_err(|e| tonic::Status::from(e).code()),
                Err(tonic::Code::PermissionDenied)
            );
        }
    }

    #[test]
    fn a_sandbox_accepts_every_roster_city_for_itself_only() {
        let mut a = authorizer();
        a.publishes_for = PublishesFor::Roster(vec![
            "310000".parse().expect("member"),
            "330400".parse().expect("member"),
        ]);
        let jx: StreamId = "demand/330400/x".parse().expect("stream");
        let sh: StreamId = "demand/310000/x".parse().expect("stream");
        let jx_caller = a
            .authenticate(&request(Some("Bearer jx-member-token")))
            .expect("known");
        assert!(a.check(jx_caller, Action::Append(&jx)).is_ok());
        assert!(a.check(jx_caller, Action::Append(&sh)).is_err());
    }

    #[test]
    fn a_read_replica_accepts_no_appends() {
        let mut a = authorizer();
        a.publishes_for = PublishesFor::Nobody;
        let own: StreamId = "demand/310000/x".parse().expect("stream");
        let caller = a
            .authenticate(&request(Some("Bearer sh-member-token")))
            .expect("known");
        assert!(a.check(caller, Action::Append(&own)).is_err());
    }
}
