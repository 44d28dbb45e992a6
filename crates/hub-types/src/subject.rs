//! National ID numbers (GB 11643) and the keyed hash that stands for them.
//!
//! The hub never stores, logs, replicates or returns an ID number: it is validated and
//! turned into a [`SubjectRef`] = HMAC-SHA256(alliance key, normalised ID) at the boundary.
//! Error messages here never repeat the number.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Result, ValidationError};
use crate::ids::SubjectRef;
use crate::time::Date;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [u8; 11] = *b"10X98765432";

/// The alliance's HMAC key; at least 32 bytes.
#[derive(Clone)]
pub struct AllianceKey(Vec<u8>);

impl std::fmt::Debug for AllianceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AllianceKey(..)")
    }
}

impl AllianceKey {
    /// Wraps key bytes, rejecting keys shorter than 32 bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() < 32 {
            return Err(ValidationError::reason(format!(
                "the alliance key must be at least 32 bytes, got {}",
                bytes.len()
            )));
        }
        Ok(Self(bytes))
    }

    /// Parses a key written as hex.
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| ValidationError::reason("the alliance key must be hex"))?;
        Self::new(bytes)
    }

    /// The subject reference of a national ID number.
    pub fn subject_ref(&self, national_id: &str) -> Result<SubjectRef> {
        let id = normalise_national_id(national_id)?;
        // HMAC accepts keys of any length; `new` checked ours.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .map_err(|_| ValidationError::reason("bad alliance key"))?;
        mac.update(id.as_bytes());
        Ok(SubjectRef::from_bytes(mac.finalize().into_bytes().into()))
    }

    /// Replaces a request's `national_id` by the `subject_ref` it stands for, when one is
    /// given: the number goes no further (it is cleared, and errors never repeat it).
    /// Errors name `national_id`, including when both fields are set.
    pub fn replace_national_id(
        &self,
        subject_ref: &mut String,
        national_id: &mut String,
    ) -> Result<()> {
        if national_id.is_empty() {
            return Ok(());
        }
        if !subject_ref.is_empty() {
            return Err(ValidationError::new(
                "national_id",
                "give subject_ref or national_id, not both",
            ));
        }
        let subject = self
            .subject_ref(national_id)
            .map_err(|e| ValidationError::new("national_id", e.reason))?;
        *subject_ref = subject.to_string();
        national_id.clear();
        Ok(())
    }

    /// A 32-byte key for another purpose, derived as HMAC-SHA256(alliance key, `label`).
    /// Labels contain `/`, so they never collide with a normalised ID number.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        debug_assert!(label.contains('/'), "derivation labels contain '/'");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Checks a national ID number (18 characters: 17 digits, a check character per GB 11643,
/// a real date of birth) and returns it normalised (trimmed, `x` upper-cased).
pub fn normalise_national_id(raw: &str) -> Result<String> {
    let id = raw.trim().to_ascii_uppercase();
    let bytes = id.as_bytes();
    if bytes.len() != 18 {
        return Err(ValidationError::reason(format!(
            "a national ID number has 18 characters, got {}",
            raw.trim().chars().count()
        )));
    }
    if !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err(ValidationError::reason(
            "the first 17 characters of a national ID number must be digits",
        ));
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    if bytes[17] != CHECK[(sum % 11) as usize] {
        return Err(ValidationError::reason(
            "the check character of the national ID number does not match (GB 11643)",
        ));
    }
    let num = |r: std::ops::Range<usize>| id[r].parse::<u32>().unwrap_or(0);
    if Date::from_ymd(num(6..10) as i32, num(10..12), num(12..14)).is_err() {
        return Err(ValidationError::reason(
            "the national ID number does not hold a valid date of birth",
        ));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AllianceKey {
        AllianceKey::new(vec![7; 32]).expect("key")
    }

    #[test]
    fn valid_numbers_are_normalised() {
        assert_eq!(
            normalise_national_id(" 11010519491231002x ").expect("valid"),
            "11010519491231002X"
        );
        let a = key().subject_ref("11010519491231002X").expect("ref");
        let b = key().subject_ref("11010519491231002x").expect("ref");
        assert_eq!(a, b, "normalisation makes one subject of both spellings");
        let other = AllianceKey::new(vec![8; 32]).expect("key");
        assert_ne!(other.subject_ref("11010519491231002X").expect("ref"), a);
    }

    #[test]
    fn bad_numbers_are_rejected_without_echoing_them() {
        for bad in [
            "11010519491231002",  // too short
            "110105194912310021", // wrong check character
            "1101051949123100AX", // letters inside
            "110105194913310026", // month 13 (check character recomputed below)
            "",
        ] {
            let err = normalise_national_id(bad).expect_err(bad);
            assert!(!err.to_string().contains(bad) || bad.is_empty(), "{err}");
        }
    }

    #[test]
    fn the_date_of_birth_must_exist() {
        // Build a number with a valid check character but an impossible date.
        let body = "11010519491331002";
        let sum: u32 = body
            .bytes()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let id = format!("{body}{}", CHECK[(sum % 11) as usize] as char);
        let err = normalise_national_id(&id).expect_err("month 13");
        assert!(err.reason.contains("date of birth"), "{err}");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(AllianceKey::new(vec![1; 31]).is_err());
        assert!(AllianceKey::from_hex("zz").is_err());
        assert!(AllianceKey::from_hex(&"ab".repeat(32)).is_ok());
    }
}
