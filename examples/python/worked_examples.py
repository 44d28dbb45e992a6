"""Computes the worked examples of docs/protocol.md from fixed inputs.

    python worked_examples.py            # prints every example
    python worked_examples.py --check docs/protocol.md

With --check it exits 1 unless every `name = hex` line printed here appears verbatim in
the document, so the document's examples stay what this independent code computes.
Signatures are ed25519 with the public development keys of config/keys/ (ed25519 is
deterministic, so they are reproducible).
"""

import argparse
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import talenthub_wire as wire

ROOT = Path(__file__).resolve().parents[2]


def dev_key(member):
    lines = (ROOT / "config" / "keys" / f"dev-{member}.key").read_text().split()
    if lines[0] != "talenthub-ed25519-secret-v1":
        raise SystemExit("unexpected key file header")
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(lines[1]))


def s(field, text):
    """A string field of a message body."""
    raw = text.encode("utf-8")
    return wire.varint(field << 3 | 2) + wire.varint(len(raw)) + raw


def examples():
    out = []

    def show(name, value):
        out.append(f"{name} = {value.hex() if isinstance(value, bytes) else value}")

    # A RecognitionWithdrawn body: EventBody field 2, holding rule_id (1), reason (2),
    # effective_at (3).
    inner = s(1, "jx-pt-sh-eng") + s(2, "superseded") + s(3, "2026-07-01")
    body = wire.varint(2 << 3 | 2) + wire.varint(len(inner)) + inner
    show("body", body)

    record = dict(
        event_id="0f4c2a6e-8d3b-4c1e-9a57-2b6d8e1f3c90",
        origin="330400",
        origin_seq=1,
        stream="recognition/330400",
        stream_version=1,
        recorded_at=(1767600000, 123456000),
        body=body,
        prev_hash=wire.ZERO_HASH,
    )
    unsigned = wire.encode_record(signature=b"", **record)
    show("record_unsigned", unsigned)
    rec_hash = __import__("hashlib").sha256(unsigned).digest()
    show("record_hash", rec_hash)

    message = wire.chain_head_message("330400", 1, rec_hash)
    show("chain_head_message", message)
    signature = dev_key("330400").sign(message)
    show("chain_head_signature", signature)

    signed = wire.encode_record(signature=signature, **record)
    show("record_signed", signed)
    leaf0 = wire.leaf_hash(signed)
    show("leaf_hash", leaf0)

    leaf1 = wire.leaf_hash(b"leaf 1")
    leaf2 = wire.leaf_hash(b"leaf 2")
    show("leaf1", leaf1)
    show("leaf2", leaf2)
    n01 = wire.node_hash(leaf0, leaf1)
    show("node_hash_0_1", n01)
    root = wire.node_hash(n01, leaf2)
    show("root_3", root)
    assert wire.merkle_root([leaf0, leaf1, leaf2]) == root
    assert wire.verify_inclusion(leaf0, 0, 3, [leaf1, leaf2], root)
    assert wire.verify_inclusion(leaf2, 2, 3, [n01], root)
    assert wire.verify_consistency(2, 3, n01, root, [leaf2])

    head = wire.tree_head_message(3, 1767600000123456, root, "310000")
    show("tree_head_message", head)
    show("tree_head_signature", dev_key("310000").sign(head))
    show("timestamp_minus_2", struct.pack(">q", -2))

    wrapped = bytes(range(24)) + bytes(range(0xA0, 0xA0 + 48))
    stream = "blacklist/330400/jx-2026-0003"
    show("wrapped", wrapped)
    ek = wire.entry_key_message(stream, wrapped)
    show("entry_key_message", ek)
    show("entry_key_signature", dev_key("330400").sign(ek))

    subject = wire.subject_ref(b"talenthub-dev-alliance-key-not-for-production", "11010519491231002x")
    show("subject_ref", subject)
    entry1 = wire.access_entry_hash(
        wire.ZERO_HASH, 1, 1767600000123456, "330400", "member", subject, 1
    )
    show("access_entry_1", entry1)
    entry2 = wire.access_entry_hash(entry1, 2, 1767600060000000, "310000", "auditor", subject, 0)
    show("access_entry_2", entry2)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", metavar="DOC", help="check that DOC holds every line")
    args = parser.parse_args()
    lines = examples()
    if not args.check:
        print("\n".join(lines))
        return 0
    text = Path(args.check).read_text(encoding="utf-8")
    missing = [line.split(" = ")[0] for line in lines if line not in text]
    for name in missing:
        print(f"FAIL worked example {name!r} in {args.check} differs from what is computed here")
    if not missing:
        print(f"ok   {len(lines)} worked examples in {args.check} match")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
