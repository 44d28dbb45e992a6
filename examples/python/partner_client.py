"""A partner city's client for a Talent Hub node, written from proto/ and docs/protocol.md.

As Jiaxing (330400) it publishes events of the three families (and retries one append,
which must come back as a duplicate), subscribes and sees its own events, checks a subject
by national ID number; then, as an auditor, it verifies a signed tree head, an inclusion
proof, a consistency proof, the `prev_hash` chains and chain-head signatures of every
record, and the access trail. Every verification is also tried on a corrupted copy of its
input, which must fail, so that no check passes vacuously.

Usage: partner_client.py --endpoint 127.0.0.1:PORT --stubs BUILD_DIR --roster roster.toml

Exits 0 when every check passed, 1 otherwise.
"""

import argparse
import re
import sys
import time
import uuid

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import talenthub_wire as wire

MEMBER = "330400"
MEMBER_TOKEN = "dev-member-330400"
OTHER_TOKEN = "dev-member-310000"
AUDITOR_TOKEN = "dev-auditor"
# The development alliance key of config/default.toml (a real alliance keeps its own).
DEV_ALLIANCE_KEY = b"talenthub-dev-alliance-key-not-for-production"
NATIONAL_ID = "11010519491231002X"


class Checks:
    """Collects named checks; the run fails if any failed."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, ok, name, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed.append(name)
            print(f"FAIL {name}{': ' + detail if detail else ''}")
        return ok


def load_roster(path):
    """Member code -> ed25519 public key, from config/roster.toml's [[members]] tables."""
    text = open(path, encoding="utf-8").read()
    keys = {}
    for block in text.split("[[members]]")[1:]:
        code = re.search(r'^\s*code\s*=\s*"(\d{6})"', block, re.M)
        key = re.search(r'^\s*public_key\s*=\s*"([0-9a-f]{64})"', block, re.M)
        if code and key:
            keys[code.group(1)] = bytes.fromhex(key.group(1))
    if not keys:
        raise SystemExit(f"no members with public keys in {path}")
    return keys


def ed25519_ok(public_key, message, signature):
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def flipped(data, index=0):
    """A copy of `data` with one bit changed."""
    out = bytearray(data)
    out[index % len(out)] ^= 0x01
    return bytes(out)


class Client:
    def __init__(self, endpoint, pb):
        self.channel = grpc.insecure_channel(endpoint)
        self.pb = pb
        self.publisher = pb.publisher_grpc.PublisherStub(self.channel)
        self.query = pb.query_grpc.QueryStub(self.channel)
        self.streams = pb.streams_grpc.StreamsStub(self.channel)
        self.audit = pb.audit_grpc.AuditStub(self.channel)

    @staticmethod
    def auth(token):
        return (("authorization", f"Bearer {token}"),)

    def wait_ready(self, deadline_s=120):
        """Waits until the node answers a question (it replays its log before serving)."""
        end = time.monotonic() + deadline_s
        while True:
            try:
                self.query.ViewInfo(
                    self.pb.query.ViewInfoRequest(), metadata=self.auth(AUDITOR_TOKEN), timeout=5
                )
                return
            except grpc.RpcError as e:
                if time.monotonic() > end:
                    raise SystemExit(f"the node did not answer within {deadline_s}s: {e}")
                time.sleep(0.2)


class Stubs:
    """The generated modules, imported from the build directory."""

    def __init__(self, build_dir):
        sys.path.insert(0, build_dir)
        from talenthub.v1 import (  # noqa: E402 (generated at run time)
            audit_pb2,
            audit_pb2_grpc,
            events_pb2,
            publisher_pb2,
            publisher_pb2_grpc,
            query_pb2,
            query_pb2_grpc,
            streams_pb2,
            streams_pb2_grpc,
        )

        self.events = events_pb2
        self.publisher = publisher_pb2
        self.publisher_grpc = publisher_pb2_grpc
        self.query = query_pb2
        self.query_grpc = query_pb2_grpc
        self.streams = streams_pb2
        self.streams_grpc = streams_pb2_grpc
        self.audit = audit_pb2
        self.audit_grpc = audit_pb2_grpc


def new_id():
    return str(uuid.uuid4())


def publish(c, pb, checks, run):
    """Publishes one event of every family (and follow-ups); returns the event ids."""
    ev = pb.events
    token = c.auth(MEMBER_TOKEN)
    ids = []

    def append(stream, bodies, expected=None):
        events = [ev.Event(event_id=new_id(), body=b) for b in bodies]
        req = pb.publisher.AppendRequest(stream=stream, events=events)
        if expected is not None:
            req.expected_version.CopyFrom(expected)
        resp = c.publisher.Append(req, metadata=token, timeout=10)
        ids.extend(e.event_id for e in events)
        return req, resp

    no_stream = pb.publisher.ExpectedVersion(no_stream=pb.publisher.Empty())

    # Recognition: Jiaxing recognises Shanghai's intermediate engineering titles.
    rule = f"jx-pt-sh-eng-{run}"
    _, r = append(
        f"recognition/{MEMBER}",
        [
            ev.EventBody(
                credential_recognized=ev.CredentialRecognized(
                    rule_id=rule,
                    credential=ev.Credential(
                        kind=ev.CREDENTIAL_KIND_PROFESSIONAL_TITLE,
                        code="engineering",
                        level="intermediate",
                    ),
                    issuer="310000",
                    local_equivalent="intermediate",
                    effective_from="2026-01-01",
                )
            )
        ],
    )
    checks.check(r.stream_version >= 1 and not r.duplicate, "append a recognition rule")

    # Demand: a signal published and closed in one atomic batch, on a new stream.
    signal = f"jx-ai-{run}"
    terms = dict(
        signal_id=signal,
        industry=ev.INDUSTRY_ARTIFICIAL_INTELLIGENCE,
        occupation_code="2-02-10-09",
        level="senior",
        headcount=12,
        period="2026-Q2",
        pay_band=ev.PayBand(min=18000, max=30000),
        education=ev.EDUCATION_MASTER,
    )
    demand_stream = f"demand/{MEMBER}/{signal}"
    req, r = append(
        demand_stream,
        [
            ev.EventBody(demand_signal_published=ev.DemandSignalPublished(**terms)),
            ev.EventBody(
                demand_signal_closed=ev.DemandSignalClosed(
                    signal_id=signal,
                    reason=ev.CLOSE_REASON_FILLED,
                    filled=12,
                    closed_at="2026-06-30",
                )
            ),
        ],
        expected=no_stream,
    )
    checks.check(
        r.last_position == r.first_position + 1 and r.stream_version == 2 and not r.duplicate,
        "append a two-event demand batch",
        str(r),
    )

    # The same request again is an idempotent retry: same answer, duplicate = true.
    again = c.publisher.Append(req, metadata=token, timeout=10)
    checks.check(
        again.duplicate
        and (again.first_position, again.last_position, again.stream_version)
        == (r.first_position, r.last_position, r.stream_version),
        "a retry comes back duplicate with the stored positions",
        str(again),
    )

    # A stale expected version is refused with the actual version in the trailers.
    stale = pb.publisher.AppendRequest(
        stream=demand_stream,
        expected_version=pb.publisher.ExpectedVersion(exact=1),
        events=[
            ev.Event(
                event_id=new_id(),
                body=ev.EventBody(demand_signal_revised=ev.DemandSignalRevised(**terms)),
            )
        ],
    )
    try:
        c.publisher.Append(stale, metadata=token, timeout=10)
        checks.check(False, "a stale expected version is refused")
    except grpc.RpcError as e:
        trailers = dict(e.trailing_metadata() or ())
        checks.check(
            e.code() == grpc.StatusCode.FAILED_PRECONDITION
            and trailers.get("th-actual-version") == "2",
            "a stale expected version is refused with th-actual-version",
            f"{e.code()} {trailers}",
        )

    # Bad input names the field.
    bad = pb.publisher.AppendRequest(
        stream=demand_stream,
        events=[
            ev.Event(
                event_id=new_id(),
                body=ev.EventBody(
                    demand_signal_revised=ev.DemandSignalRevised(**dict(terms, period="2026-Q5"))
                ),
            )
        ],
    )
    try:
        c.publisher.Append(bad, metadata=token, timeout=10)
        checks.check(False, "a bad period is refused")
    except grpc.RpcError as e:
        checks.check(
            e.code() == grpc.StatusCode.INVALID_ARGUMENT
            and e.details().startswith("events[0].body.demand_signal_revised.period: "),
            "a bad period is refused naming the field",
            f"{e.code()} {e.details()}",
        )

    # Many batches over one AppendStream call, answered in order.
    batches = []
    for n in range(8):
        sid = f"jx-ic-{run}-{n}"
        body = ev.EventBody(
            demand_signal_published=ev.DemandSignalPublished(
                **dict(terms, signal_id=sid, industry=ev.INDUSTRY_INTEGRATED_CIRCUITS, headcount=5 + n)
            )
        )
        batches.append(
            pb.publisher.AppendRequest(
                stream=f"demand/{MEMBER}/{sid}",
                expected_version=no_stream,
                events=[ev.Event(event_id=new_id(), body=body)],
            )
        )
    answers = list(c.publisher.AppendStream(iter(batches), metadata=token, timeout=30))
    positions = [a.first_position for a in answers]
    checks.check(
        len(answers) == len(batches)
        and positions == sorted(positions)
        and all(a.stream_version == 1 and not a.duplicate for a in answers),
        "AppendStream answers every batch in order",
        str(positions),
    )
    ids.extend(b.events[0].event_id for b in batches)

    # Another city publishes too, so that the log interleaves two origins' chains.
    other = c.publisher.Append(
        pb.publisher.AppendRequest(
            stream="recognition/310000",
            events=[
                ev.Event(
                    event_id=new_id(),
                    body=ev.EventBody(
                        credential_recognized=ev.CredentialRecognized(
                            rule_id=f"sh-sl-jx-{run}",
                            credential=ev.Credential(
                                kind=ev.CREDENTIAL_KIND_SKILL_LEVEL,
                                code="6-25-02-03",
                                level="3",
                            ),
                            issuer=MEMBER,
                            local_equivalent="skill-level-3",
                            effective_from="2026-01-01",
                        )
                    ),
                )
            ],
        ),
        metadata=c.auth(OTHER_TOKEN),
        timeout=10,
    )
    checks.check(not other.duplicate, "a second city appends to its own stream")

    # A member may not write another city's stream.
    try:
        c.publisher.Append(
            pb.publisher.AppendRequest(stream=f"recognition/{MEMBER}", events=[ev.Event(
                event_id=new_id(),
                body=ev.EventBody(
                    recognition_withdrawn=ev.RecognitionWithdrawn(
                        rule_id=rule, reason="not ours", effective_at="2026-07-01"
                    )
                ),
            )]),
            metadata=c.auth(OTHER_TOKEN),
            timeout=10,
        )
        checks.check(False, "another city's stream is refused")
    except grpc.RpcError as e:
        checks.check(
            e.code() == grpc.StatusCode.PERMISSION_DENIED,
            "another city's stream is refused",
            f"{e.code()} {e.details()}",
        )

    # Blacklist: the subject reference is computed here, the ID number never sent.
    entry = f"jx-{run}"
    subject = wire.subject_ref(DEV_ALLIANCE_KEY, NATIONAL_ID)
    _, r = append(
        f"blacklist/{MEMBER}/{entry}",
        [
            ev.EventBody(
                blacklist_entry_added=ev.BlacklistEntryAdded(
                    entry_id=entry,
                    subject_ref=subject,
                    subject_display="李*",
                    category=ev.BLACKLIST_CATEGORY_CREDENTIAL_FORGERY,
                    decision_ref="嘉人社信〔2026〕3号",
                    decided_at="2026-02-10",
                    effective_from="2026-02-15",
                    expires_at="2029-02-14",
                    measures=["三年内不得申报人才计划"],
                    decision_summary="伪造职业资格证书",
                )
            )
        ],
        expected=no_stream,
    )
    checks.check(r.stream_version == 1 and not r.duplicate, "append a blacklist entry")
    return ids, subject, entry


def refused(checks, name, call, code, starts):
    """Runs `call`, which must fail with `code` and a message starting with `starts`."""
    try:
        call()
        checks.check(False, name, "accepted")
    except grpc.RpcError as e:
        checks.check(
            e.code() == code and e.details().startswith(starts),
            name,
            f"{e.code()} {e.details()[:300]}",
        )


def contract_rules(c, pb, checks, run):
    """The retry, entity and error rules of docs/protocol.md sections 4 and 7."""
    ev = pb.events
    token = c.auth(MEMBER_TOKEN)
    signal = f"jx-ls-{run}"
    terms = dict(
        signal_id=signal,
        industry=ev.INDUSTRY_LIFE_AND_HEALTH,
        occupation_code="2-05-01-01",
        level="senior",
        headcount=3,
        period="2026-Q3",
        pay_band=ev.PayBand(min=15000, max=25000),
        education=ev.EDUCATION_DOCTORATE,
    )
    published = ev.Event(
        event_id=new_id(),
        body=ev.EventBody(demand_signal_published=ev.DemandSignalPublished(**terms)),
    )
    closed = ev.Event(
        event_id=new_id(),
        body=ev.EventBody(
            demand_signal_closed=ev.DemandSignalClosed(
                signal_id=signal,
                reason=ev.CLOSE_REASON_CANCELLED,
                closed_at="2026-08-01",
            )
        ),
    )
    stream = f"demand/{MEMBER}/{signal}"

    def append(events, metadata=token):
        req = pb.publisher.AppendRequest(stream=stream, events=events)
        return c.publisher.Append(req, metadata=metadata, timeout=10)

    # The scheme is case-insensitive.
    try:
        c.query.ViewInfo(
            pb.query.ViewInfoRequest(),
            metadata=(("authorization", f"bearer {MEMBER_TOKEN}"),),
            timeout=10,
        )
        checks.check(True, "a lowercase bearer scheme is accepted")
    except grpc.RpcError as e:
        checks.check(False, "a lowercase bearer scheme is accepted", f"{e.code()} {e.details()}")
    stored = append([published, closed])
    exists = grpc.StatusCode.ALREADY_EXISTS
    refused(checks, "a reordered retry is refused", lambda: append([closed, published]), exists, "")
    refused(checks, "a partial retry is refused", lambda: append([published]), exists, "")
    fresh = ev.Event(event_id=new_id(), body=closed.body)
    refused(
        checks,
        "a retry with a new event is refused",
        lambda: append([published, closed, fresh]),
        exists,
        "",
    )
    again = append([published, closed])
    checks.check(
        again.duplicate
        and (again.first_position, again.last_position, again.stream_version)
        == (stored.first_position, stored.last_position, stored.stream_version),
        "the exact retry still answers the stored positions",
    )

    def recognize(issuer):
        body = ev.EventBody(
            credential_recognized=ev.CredentialRecognized(
                rule_id=f"jx-r-{run}",
                credential=ev.Credential(
                    kind=ev.CREDENTIAL_KIND_TALENT_TIER, code="jx-talent", level="B"
                ),
                issuer=issuer,
                local_equivalent="tier-B",
                effective_from="2026-01-01",
            )
        )
        req = pb.publisher.AppendRequest(
            stream=f"recognition/{MEMBER}", events=[ev.Event(event_id=new_id(), body=body)]
        )
        return lambda: c.publisher.Append(req, metadata=token, timeout=10)

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    issuer_field = "events[0].body.credential_recognized.issuer: "
    refused(checks, "an issuer off the roster is refused", recognize("110000"), invalid, issuer_field)
    refused(checks, "a city recognising itself is refused", recognize(MEMBER), invalid, issuer_field)

    withdraw = pb.publisher.AppendRequest(
        stream=f"recognition/{MEMBER}",
        events=[
            ev.Event(
                event_id=new_id(),
                body=ev.EventBody(
                    recognition_withdrawn=ev.RecognitionWithdrawn(
                        rule_id=f"no-such-rule-{run}", reason="gone", effective_at="2026-07-01"
                    )
                ),
            )
        ],
    )
    refused(
        checks,
        "withdrawing an unknown rule is refused naming it",
        lambda: c.publisher.Append(withdraw, metadata=token, timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
        "events[0].body.recognition_withdrawn.rule_id: ",
    )

    long_id = ev.Event(event_id="x" * 20000, body=published.body)
    try:
        c.publisher.Append(
            pb.publisher.AppendRequest(stream=stream, events=[long_id]),
            metadata=token,
            timeout=10,
        )
        checks.check(False, "a long bad value is quoted short")
    except grpc.RpcError as e:
        checks.check(
            e.code() == invalid
            and e.details().startswith("events[0].event_id: ")
            and len(e.details()) < 400,
            "a long bad value is quoted short",
            f"{e.code()} {len(e.details() or '')} characters",
        )

    # A request above the message limit (4 MiB by default) is refused as too large.
    huge = ev.Event(event_id=new_id(), body=published.body)
    huge.body.demand_signal_published.level = "x" * (5 << 20)
    refused(
        checks,
        "a request above the message limit is RESOURCE_EXHAUSTED",
        lambda: append([huge]),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "",
    )

    # A refused batch of an AppendStream is named by its index; earlier ones are applied.
    sid = f"jx-hy-{run}"
    first = pb.publisher.AppendRequest(
        stream=f"demand/{MEMBER}/{sid}",
        expected_version=pb.publisher.ExpectedVersion(no_stream=pb.publisher.Empty()),
        events=[
            ev.Event(
                event_id=new_id(),
                body=ev.EventBody(
                    demand_signal_published=ev.DemandSignalPublished(
                        **dict(terms, signal_id=sid, industry=ev.INDUSTRY_HYDROGEN_ENERGY)
                    )
                ),
            )
        ],
    )
    second = pb.publisher.AppendRequest()
    second.CopyFrom(first)
    second.events[0].event_id = new_id()
    answers = []
    try:
        for a in c.publisher.AppendStream(iter([first, second]), metadata=token, timeout=10):
            answers.append(a)
        checks.check(False, "a refused AppendStream batch is named by its index")
    except grpc.RpcError as e:
        trailers = dict(e.trailing_metadata() or ())
        checks.check(
            e.code() == grpc.StatusCode.FAILED_PRECONDITION
            and e.details().startswith("batch 1: ")
            and e.details().endswith(" (batch 0 was applied)")
            and trailers.get("th-actual-version") == "1"
            and len(answers) == 1,
            "a refused AppendStream batch is named by its index",
            f"{e.code()} {e.details()} {trailers} after {len(answers)} answers",
        )


def subscribe(c, pb, checks, ids):
    """Subscribes from the beginning, filtered to this city, until caught up."""
    req = pb.streams.SubscribeRequest(
        after_position=0, filter=pb.streams.SubscribeFilter(origins=[MEMBER])
    )
    seen = []
    call = c.streams.Subscribe(req, metadata=c.auth(MEMBER_TOKEN), timeout=30)
    try:
        for item in call:
            kind = item.WhichOneof("item")
            if kind == "event":
                seen.append(item.event)
            elif kind == "caught_up":
                break
    finally:
        call.cancel()
    got = {e.event_id for e in seen}
    checks.check(set(ids) <= got, "subscribe delivers every event published", f"{len(got)} seen")
    checks.check(
        all(e.origin == MEMBER for e in seen), "the origin filter holds", str(len(seen))
    )
    positions = [e.position for e in seen]
    checks.check(positions == sorted(set(positions)), "events arrive in position order")
    sealed = [
        e
        for e in seen
        if e.body.WhichOneof("kind") == "blacklist_entry_added" and e.event_id in ids
    ]
    checks.check(
        bool(sealed)
        and all(
            e.body.blacklist_entry_added.subject_display == ""
            and len(e.body.blacklist_entry_added.sealed.nonce) == 24
            for e in sealed
        ),
        "the stored blacklist entry holds its personal fields sealed",
    )


def read_all(c, pb, checks, ids):
    """Pages through the whole log with ReadAll, following next_position."""
    events, position, head = [], 1, None
    while position:
        resp = c.streams.ReadAll(
            pb.streams.ReadAllRequest(from_position=position, limit=5),
            metadata=c.auth(MEMBER_TOKEN),
            timeout=10,
        )
        head = resp.head_position
        events.extend(resp.events)
        position = resp.next_position
    checks.check(
        [e.position for e in events] == list(range(1, head + 1)),
        f"ReadAll pages through positions 1..={head} without gap",
    )
    checks.check(set(ids) <= {e.event_id for e in events}, "ReadAll holds every event published")


def check_subject(c, pb, checks, subject, entry):
    resp = c.query.CheckSubject(
        pb.query.CheckSubjectRequest(
            national_id=NATIONAL_ID, time=pb.query.TimeAxes(on_date="2026-06-30")
        ),
        metadata=c.auth(MEMBER_TOKEN),
        timeout=10,
    )
    mine = [e for e in resp.entries if e.origin == MEMBER and e.entry_id == entry]
    checks.check(len(mine) == 1, "check-subject finds the entry by national ID")
    if mine:
        e = mine[0]
        checks.check(e.subject_ref == subject, "the node's subject_ref equals HMAC-SHA256 here")
        checks.check(
            e.status == pb.query.ENTRY_STATUS_ACTIVE and resp.any_active,
            "the entry is active on 2026-06-30",
        )
        checks.check(
            e.subject_display == "李*" and e.personal == pb.query.PERSONAL_STATE_SHOWN,
            "a member sees the personal fields",
        )
    return resp


def read_records(c, pb, upto, page=7):
    """Every stored record at positions 1..=upto, paging on first_position (small pages,
    so that the continuation is exercised)."""
    records = []
    position = 1
    while position <= upto:
        resp = c.audit.ReadRecords(
            pb.audit.ReadRecordsRequest(from_position=position, limit=page),
            metadata=c.auth(AUDITOR_TOKEN),
            timeout=30,
        )
        if not resp.records:
            break
        if resp.first_position != position:
            raise SystemExit(f"ReadRecords answered from {resp.first_position}, not {position}")
        records.extend(resp.records)
        position += len(resp.records)
    return records[:upto]


def verify_sth(sth, roster, checks, label):
    key = roster.get(sth.node)
    checks.check(
        key is not None and sth.public_key == key.hex(),
        f"{label}: the node's key is its roster key",
        f"node {sth.node!r}",
    )
    if key is None:
        return False
    message = wire.tree_head_message(sth.tree_size, sth.timestamp_micros, sth.root_hash, sth.node)
    ok = checks.check(ed25519_ok(key, message, sth.signature), f"{label}: signature verifies")
    checks.check(
        not ed25519_ok(key, flipped(message, 30), sth.signature),
        f"{label}: a changed tree size or root does not verify",
    )
    return ok


def verify_chains(records, roster, checks):
    """prev_hash links, origin_seq order and chain-head signatures of every origin."""
    heads = {}
    problems = []
    signatures = 0
    for position, rec in enumerate(records, start=1):
        seq, prev = heads.get(rec.origin, (0, wire.ZERO_HASH))[:2]
        if rec.origin_seq != seq + 1:
            problems.append(f"position {position}: origin_seq {rec.origin_seq} after {seq}")
        if rec.prev_hash != prev:
            problems.append(f"position {position}: prev_hash does not link")
        h = wire.record_hash(rec)
        signed = bool(rec.signature)
        if signed:
            key = roster.get(rec.origin)
            message = wire.chain_head_message(rec.origin, rec.origin_seq, h)
            if key is None or not ed25519_ok(key, message, rec.signature):
                problems.append(f"position {position}: chain-head signature does not verify")
            signatures += 1
        heads[rec.origin] = (rec.origin_seq, h, signed)
    for origin, (_, _, signed) in heads.items():
        if not signed:
            problems.append(f"origin {origin}: its last event is not signed")
    checks.check(
        not problems,
        f"prev_hash chains and {signatures} chain-head signatures of {len(heads)} origins",
        "; ".join(problems[:5]),
    )
    # The same check must fail on a record whose content changed.
    if len(records) >= 2:
        tampered = [type(r)() for r in records]
        for t, r in zip(tampered, records):
            t.CopyFrom(r)
        tampered[0].body = flipped(tampered[0].body, 3)
        broken = any(
            wire.record_hash(a) != b.prev_hash
            for a, b in zip(tampered, tampered[1:])
            if a.origin == b.origin
        ) or (
            tampered[0].signature
            and not ed25519_ok(
                roster[tampered[0].origin],
                wire.chain_head_message(
                    tampered[0].origin, tampered[0].origin_seq, wire.record_hash(tampered[0])
                ),
                tampered[0].signature,
            )
        )
        checks.check(broken, "a changed record breaks its chain")


def verify_trail(c, pb, checks, subject):
    resp = c.audit.ListAccess(
        pb.audit.ListAccessRequest(from_seq=1, limit=0),
        metadata=c.auth(AUDITOR_TOKEN),
        timeout=10,
    )
    prev = wire.ZERO_HASH
    problems = []
    for n, e in enumerate(resp.entries, start=1):
        h = wire.access_entry_hash(
            e.prev_hash,
            e.seq,
            e.at_micros,
            e.caller_member,
            e.caller_role,
            e.subject_ref,
            e.results,
        )
        if e.seq != n or e.prev_hash != prev or e.hash != h:
            problems.append(f"entry {n}")
        prev = e.hash
    checks.check(
        resp.entries and not problems,
        f"the access trail's {len(resp.entries)} entries chain",
        ", ".join(problems[:5]),
    )
    mine = [e for e in resp.entries if e.subject_ref == subject and e.caller_member == MEMBER]
    checks.check(bool(mine), "the subject check is in the access trail")


def audit(c, pb, checks, roster, our_ids):
    token = c.auth(AUDITOR_TOKEN)
    sth = c.audit.GetTreeHead(pb.audit.GetTreeHeadRequest(), metadata=token, timeout=10)
    print(f"tree head: size {sth.tree_size}, root {sth.root_hash.hex()}, node {sth.node}")
    verify_sth(sth, roster, checks, "tree head")

    records = read_records(c, pb, sth.tree_size)
    checks.check(len(records) == sth.tree_size, "ReadRecords returns every leaf")
    leaves = [wire.record_leaf_hash(r) for r in records]
    checks.check(
        wire.merkle_root(leaves) == sth.root_hash, "the Merkle root of the records is the head's"
    )
    checks.check(
        wire.merkle_root(leaves[:-1] + [flipped(leaves[-1])]) != sth.root_hash,
        "a changed leaf changes the root",
    )
    verify_chains(records, roster, checks)

    # Inclusion of our blacklist entry (the last event we appended).
    position = next(
        i for i, r in enumerate(records, start=1) if r.event_id == our_ids[-1]
    )
    proof = c.audit.GetInclusionProof(
        pb.audit.GetInclusionProofRequest(position=position, tree_size=sth.tree_size),
        metadata=token,
        timeout=10,
    )
    leaf = wire.record_leaf_hash(proof.record)
    checks.check(proof.leaf_hash == leaf, "the inclusion proof's leaf hash is computed here too")
    path = list(proof.path)
    checks.check(
        wire.verify_inclusion(leaf, position - 1, sth.tree_size, path, sth.root_hash),
        f"inclusion proof of position {position} in the tree of {sth.tree_size}",
    )
    checks.check(
        not wire.verify_inclusion(
            leaf, position - 1, sth.tree_size, path[:-1] + [flipped(path[-1])], sth.root_hash
        )
        if path
        else True,
        "a changed inclusion path does not verify",
    )

    # Consistency between an older signed head and the current one.
    old_size = max(1, sth.tree_size * 2 // 5)
    old = c.audit.GetTreeHead(
        pb.audit.GetTreeHeadRequest(tree_size=old_size), metadata=token, timeout=10
    )
    verify_sth(old, roster, checks, f"tree head of size {old_size}")
    checks.check(
        wire.merkle_root(leaves[:old_size]) == old.root_hash,
        "the old head's root is the root of the first records",
    )
    cons = c.audit.GetConsistencyProof(
        pb.audit.GetConsistencyProofRequest(old_size=old_size, new_size=sth.tree_size),
        metadata=token,
        timeout=10,
    )
    cpath = list(cons.path)
    checks.check(
        wire.verify_consistency(old_size, sth.tree_size, old.root_hash, sth.root_hash, cpath),
        f"consistency proof from {old_size} to {sth.tree_size}",
    )
    checks.check(
        not wire.verify_consistency(
            old_size, sth.tree_size, flipped(old.root_hash), sth.root_hash, cpath
        ),
        "a consistency proof does not verify against another old root",
    )
    return sth


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="host:port of the node")
    parser.add_argument("--stubs", required=True, help="directory of the generated stubs")
    parser.add_argument("--roster", required=True, help="the alliance roster (roster.toml)")
    args = parser.parse_args()

    pb = Stubs(args.stubs)
    roster = load_roster(args.roster)
    c = Client(args.endpoint, pb)
    c.wait_ready()
    checks = Checks()
    run = uuid.uuid4().hex[:8]

    def step(title, fn, *args):
        """Runs one part; a call failing unexpectedly fails the part, not the run."""
        print(f"== {title}")
        try:
            return fn(*args)
        except grpc.RpcError as e:
            checks.check(False, title, f"unexpected {e.code()}: {e.details()}")
            return None

    published = step("publish (member 330400)", publish, c, pb, checks, run)
    if published is None:
        print("nothing published: stopping")
        return 1
    ids, subject, entry = published
    step("the contract's rules", contract_rules, c, pb, checks, run)
    step("subscribe", subscribe, c, pb, checks, ids)
    step("read the log", read_all, c, pb, checks, ids)
    step("check a subject", check_subject, c, pb, checks, subject, entry)
    step("audit (dev-auditor)", audit, c, pb, checks, roster, ids)
    step("access trail", verify_trail, c, pb, checks, subject)

    print(f"{checks.passed} checks passed, {len(checks.failed)} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
