//! The entry-key vault: its slot file as read at open, and the sealed fields and wrapped
//! keys that arrive from other nodes.

use hub_log::vault::{self, KeyState, Vault};
use hub_proto::convert::personal_fields_from_proto;
use hub_types::event::Sealed;
use hub_types::StreamId;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::fixtures::scratch_dir;

/// Bytes of one slot of the `entry-keys` file (`hub_log::vault`).
pub const SLOT: usize = 138;
/// Where a slot's check starts: SHA-256 of the bytes before it, cut to 8 bytes.
pub const CHECK_AT: usize = 130;
/// The vault's file name in its directory.
pub const FILE: &str = "entry-keys";

/// Sets the check of every whole slot of `bytes`, so that the parse behind it is reached.
pub fn with_checks(bytes: &mut [u8]) {
    for slot in bytes.chunks_exact_mut(SLOT) {
        let check = Sha256::digest(&slot[..CHECK_AT]);
        slot[CHECK_AT..].copy_from_slice(&check[..8]);
    }
}

fn snapshot_of(vault: &Vault) -> Vec<(StreamId, Option<[u8; 32]>)> {
    vault
        .entries()
        .into_iter()
        .map(|(s, k)| (s, k.map(|k| *k)))
        .collect()
}

/// An `entry-keys` file (the first byte: even = as it is, odd = with every slot's check
/// set), opened as a node does at start. Opening either refuses a damaged slot before the
/// last, naming it inside the file, or succeeds and leaves the file in whole slots; a
/// second open finds the same keys; a new key and a destruction survive a third.
pub fn vault(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode % 2 == 1 {
        with_checks(&mut bytes);
    }
    let dir = scratch_dir();
    let path = dir.path().join(FILE);
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("cannot write the vault: {e}"));
    let first = match Vault::open(dir.path()) {
        Ok(vault) => vault,
        Err(vault::VaultError::Corrupt { slot, offset, .. }) => {
            assert!(
                (slot + 1) * (SLOT as u64) < (bytes.len() as u64) && offset == slot * (SLOT as u64),
                "slot {slot} at {offset} is refused, but it is not a slot before the last"
            );
            return;
        }
        Err(e) => panic!("open failed other than by naming a damaged slot: {e}"),
    };
    let held = snapshot_of(&first);
    assert!(
        held.len() <= bytes.len() / SLOT,
        "more keys than whole slots"
    );
    for (stream, key) in &held {
        match (first.get(stream), key) {
            (KeyState::Live(k), Some(key)) => assert_eq!(&*k, key),
            (KeyState::Destroyed, None) => {}
            (state, key) => panic!("{stream}: get says {state:?}, entries say {key:?}"),
        }
    }
    drop(first);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    // A torn last slot is cleared as a whole slot: the file ends on a slot boundary.
    let whole = bytes.len().div_ceil(SLOT) * SLOT;
    assert_eq!(size, whole as u64, "open left the file at another length");

    let second = Vault::open(dir.path()).unwrap_or_else(|e| panic!("reopen failed: {e}"));
    assert_eq!(
        snapshot_of(&second),
        held,
        "a reopened vault holds other keys"
    );
    let fresh: StreamId = "blacklist/310000/fuzz-new-entry"
        .parse()
        .expect("a valid stream");
    let created = match second.get_or_create(&fresh) {
        Ok(key) => Some(*key),
        Err(vault::VaultError::Erased(_)) => None,
        Err(e) => panic!("cannot create a key: {e}"),
    };
    let destroyed = held.first().map(|(s, _)| s.clone());
    if let Some(stream) = &destroyed {
        second
            .destroy(stream)
            .unwrap_or_else(|e| panic!("cannot destroy a key: {e}"));
    }
    drop(second);
    let third = Vault::open(dir.path()).unwrap_or_else(|e| panic!("third open failed: {e}"));
    if let Some(key) = created {
        assert!(matches!(third.get(&fresh), KeyState::Live(k) if *k == key));
    }
    if let Some(stream) = &destroyed {
        assert!(matches!(third.get(stream), KeyState::Destroyed));
    }
}

/// Sealed personal fields and wrapped entry keys from another node: opening or unwrapping
/// never panics and accepts only what was sealed or wrapped under the key; fields sealed
/// here open to themselves.
///
/// Input: key(32) ‖ stream selector(1) ‖ nonce length(1) ‖ rest (nonce, then ciphertext,
/// then, split at the first zero byte, a display name and a summary to seal).
pub fn sealed(data: &[u8]) {
    if data.len() < 34 {
        return;
    }
    let (key, rest) = data.split_at(32);
    let key: [u8; 32] = key.try_into().expect("32 bytes");
    let streams = [
        "blacklist/310000/e-1",
        "blacklist/320500/entry-two",
        "blacklist/330100/x",
    ];
    let stream: StreamId = streams[usize::from(rest[0]) % streams.len()]
        .parse()
        .expect("a valid stream");
    let nonce_len = usize::from(rest[1]).min(rest.len() - 2);
    let (nonce, body) = rest[2..].split_at(nonce_len);

    let foreign = Sealed {
        nonce: nonce.to_vec(),
        ciphertext: body.to_vec(),
    };
    let _ = vault::open(&key, &stream, &foreign);
    let _ = vault::unwrap(&key, &stream, body);

    let wrapped = vault::wrap(&key, &stream, &key);
    let unwrapped = vault::unwrap(&key, &stream, &wrapped).expect("a key wrapped here unwraps");
    assert_eq!(*unwrapped, key);
    let mut tampered = wrapped.clone();
    let at = usize::from(rest[0]) % tampered.len();
    tampered[at] ^= 1;
    assert!(
        vault::unwrap(&key, &stream, &tampered).is_none(),
        "a tampered key unwraps"
    );

    let text = String::from_utf8_lossy(body);
    let (display, summary) = text.split_once('\0').unwrap_or((&text, ""));
    let Ok(fields) = personal_fields_from_proto(display, summary) else {
        return;
    };
    let sealed = vault::seal(&key, &stream, &fields);
    assert_eq!(vault::open(&key, &stream, &sealed).as_ref(), Some(&fields));
    let again = vault::seal(&key, &stream, &fields);
    assert_eq!(again, sealed, "sealing is not deterministic");
    let mut other = Zeroizing::new(key);
    other[0] ^= 1;
    assert!(
        vault::open(&other, &stream, &sealed).is_none(),
        "opens under another key"
    );
}
