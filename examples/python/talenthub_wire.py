"""The byte layouts of docs/protocol.md, written from that document alone.

Nothing here uses generated protobuf code for hashing: the record encoding is built by
hand field by field (docs/protocol.md, "The record hash"), so that a verifier does not
depend on any protobuf library serialising the way the hub does. The generated classes
are only used by the client to talk gRPC.
"""

import hashlib
import hmac
import struct

ZERO_HASH = bytes(32)
EMPTY_ROOT = hashlib.sha256(b"").digest()

CHAIN_HEAD_DOMAIN = b"talenthub.v1.chain-head\x00"
TREE_HEAD_DOMAIN = b"talenthub.v1.tree-head\x00"
ENTRY_KEY_DOMAIN = b"talenthub.v1.entry-key\x00"


# ---------------------------------------------------------------------------------------
# Protobuf wire encoding, the canonical subset the hub uses


def varint(n):
    """Base-128 varint of a non-negative integer below 2**64."""
    if n < 0 or n >= 1 << 64:
        raise ValueError(f"varint out of range: {n}")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field, wire_type):
    return varint((field << 3) | wire_type)


def _len_field(field, data):
    """A length-delimited field; empty values are left out (proto3 defaults)."""
    if not data:
        return b""
    return _key(field, 2) + varint(len(data)) + data


def _varint_field(field, value):
    """A varint field; 0 is left out. Negative values are 64-bit two's complement."""
    if value == 0:
        return b""
    if value < 0:
        value += 1 << 64
    return _key(field, 0) + varint(value)


def encode_timestamp(seconds, nanos):
    """google.protobuf.Timestamp: seconds (1, int64), nanos (2, int32)."""
    return _varint_field(1, seconds) + _varint_field(2, nanos)


def encode_record(
    event_id,
    origin,
    origin_seq,
    stream,
    stream_version,
    recorded_at,
    body,
    prev_hash,
    signature,
):
    """The canonical encoding of an EventRecord: fields in ascending number, defaults
    (empty strings and bytes, 0) left out, `recorded_at` present whenever it is set
    (`None` = absent), even as an empty message."""
    out = bytearray()
    out += _len_field(1, event_id.encode())
    out += _len_field(2, origin.encode())
    out += _varint_field(3, origin_seq)
    out += _len_field(4, stream.encode())
    out += _varint_field(5, stream_version)
    if recorded_at is not None:
        ts = encode_timestamp(*recorded_at)
        out += _key(6, 2) + varint(len(ts)) + ts
    out += _len_field(7, body)
    out += _len_field(8, prev_hash)
    out += _len_field(9, signature)
    return bytes(out)


def encode_record_message(record, with_signature=True):
    """`encode_record` for a decoded `talenthub.v1.EventRecord` message."""
    recorded_at = None
    if record.HasField("recorded_at"):
        recorded_at = (record.recorded_at.seconds, record.recorded_at.nanos)
    return encode_record(
        record.event_id,
        record.origin,
        record.origin_seq,
        record.stream,
        record.stream_version,
        recorded_at,
        record.body,
        record.prev_hash,
        record.signature if with_signature else b"",
    )


# ---------------------------------------------------------------------------------------
# Hashes and signed messages


def record_hash(record):
    """SHA-256 of the record's canonical encoding with `signature` cleared: the next
    event of the origin carries it as `prev_hash`, and the chain head signs it."""
    return hashlib.sha256(encode_record_message(record, with_signature=False)).digest()


def leaf_hash(data):
    """RFC 9162 leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    """RFC 9162 interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def record_leaf_hash(record):
    """Merkle leaf of a stored record: its full canonical encoding, signature included."""
    return leaf_hash(encode_record_message(record, with_signature=True))


def chain_head_message(origin, origin_seq, rec_hash):
    """70 bytes: domain (24) | origin, 6 ASCII digits | origin_seq u64 BE | record hash."""
    if len(origin) != 6 or not origin.isdigit() or not origin.isascii():
        raise ValueError(f"origin must be six ASCII digits, got {origin!r}")
    if len(rec_hash) != 32:
        raise ValueError("record hash must be 32 bytes")
    return CHAIN_HEAD_DOMAIN + origin.encode("ascii") + struct.pack(">Q", origin_seq) + rec_hash


def tree_head_message(tree_size, timestamp_micros, root, node):
    """Domain (23) | tree_size u64 BE | timestamp_micros i64 BE | root (32) | node UTF-8."""
    if len(root) != 32:
        raise ValueError("root must be 32 bytes")
    return (
        TREE_HEAD_DOMAIN
        + struct.pack(">Q", tree_size)
        + struct.pack(">q", timestamp_micros)
        + root
        + node.encode("utf-8")
    )


def entry_key_message(stream, wrapped):
    """Domain (23) | stream length u8 | stream UTF-8 | wrapped key."""
    raw = stream.encode("utf-8")
    if len(raw) > 255:
        raise ValueError("stream longer than 255 bytes")
    return ENTRY_KEY_DOMAIN + bytes([len(raw)]) + raw + wrapped


def access_entry_hash(prev_hash, seq, at_micros, caller_member, caller_role, subject_ref, results):
    """SHA-256(prev_hash | seq u64 BE | at_micros i64 BE | member 0 | role 0 | subject 0 |
    results u32 BE)."""
    h = hashlib.sha256()
    h.update(prev_hash)
    h.update(struct.pack(">Q", seq))
    h.update(struct.pack(">q", at_micros))
    for text in (caller_member, caller_role, subject_ref):
        h.update(text.encode("utf-8"))
        h.update(b"\x00")
    h.update(struct.pack(">I", results))
    return h.digest()


# ---------------------------------------------------------------------------------------
# Merkle tree (RFC 9162 section 2.1)


def _split(n):
    """Largest power of two strictly below n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def merkle_root(leaves):
    """MTH of a list of leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size, new_size, old_root, new_root, path):
    """RFC 9162 section 2.1.4.2."""
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if old_size == 0:
        return not path and old_root == EMPTY_ROOT
    if not path:
        return False
    path = list(path)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# ---------------------------------------------------------------------------------------
# Subjects (GB 11643)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalise_national_id(raw):
    """Trims, upper-cases `x`, and checks the GB 11643 check character."""
    nid = raw.strip().upper()
    if len(nid) != 18 or not nid[:17].isdigit():
        raise ValueError("a national ID number has 17 digits and a check character")
    total = sum(int(d) * w for d, w in zip(nid[:17], _WEIGHTS))
    if _CHECK[total % 11] != nid[17]:
        raise ValueError("the check character does not match")
    return nid


def subject_ref(alliance_key, national_id):
    """HMAC-SHA256(alliance key, normalised ID), 64 lowercase hex characters."""
    nid = normalise_national_id(national_id)
    return hmac.new(alliance_key, nid.encode("ascii"), hashlib.sha256).hexdigest()
