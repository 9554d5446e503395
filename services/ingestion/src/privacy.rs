//! Pseudonymisation of user ids, and the hashing of inputs kept for correlation.
//!
//! The pseudonym is `hex(HMAC-SHA256(key, user_id))`: stable for a key, so features and joins
//! work across events, and not reversible without the key. Rotating the key starts new
//! pseudonyms (see docs/security.md once written).

use hmac::{Hmac, Mac};
use lucid_config::Secret;
use sha2::{Digest, Sha256};

/// Turns raw user ids into pseudonyms.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl Pseudonymizer {
    /// A pseudonymizer for `key`.
    pub fn new(key: &Secret) -> Self {
        let mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        Pseudonymizer { mac }
    }

    /// The pseudonym of `user_id`: 64 lowercase hex characters.
    pub fn pseudonym(&self, user_id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(user_id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A refused event made safe to store: only the fields the event schema knows are kept,
    /// the `user_id` becomes its pseudonym (or is dropped when it is not a string), and the names
    /// of unknown fields are listed under `_unknown_fields` without their values, because a
    /// client may put an identifier anywhere (`userId`, `{"events": [...]}`). `None` when the
    /// input is not an object.
    pub fn scrub(&self, input: &serde_json::Value) -> Option<Vec<u8>> {
        use serde_json::Value;

        let mut safe = serde_json::Map::new();
        let mut unknown = Vec::new();
        for (name, value) in input.as_object()? {
            match (name.as_str(), value) {
                ("user_id", Value::String(raw)) => {
                    safe.insert(name.clone(), Value::String(self.pseudonym(raw)));
                }
                ("user_id", _) => {
                    safe.insert(
                        name.clone(),
                        Value::String("[removed: not a string]".into()),
                    );
                }
                (known, _) if lucid_events::input::FIELDS.contains(&known) => {
                    safe.insert(name.clone(), keep_if_expected_type(known, value));
                }
                _ => unknown.push(Value::String(name.clone())),
            }
        }
        if !unknown.is_empty() {
            safe.insert("_unknown_fields".into(), Value::Array(unknown));
        }
        serde_json::to_vec(&safe).ok()
    }
}

/// A known field's value when it has the field's JSON type; otherwise a marker, because a value
/// in the wrong field may be anything, personal data included.
fn keep_if_expected_type(field: &str, value: &serde_json::Value) -> serde_json::Value {
    const NUMBERS: [&str; 6] = [
        "track_id",
        "position",
        "listened_ms",
        "track_duration_ms",
        "mood_valence",
        "mood_arousal",
    ];
    let expected = if NUMBERS.contains(&field) {
        value.is_number()
    } else {
        value.is_string()
    };
    if expected || value.is_null() {
        value.clone()
    } else {
        serde_json::Value::String("[removed: wrong type]".into())
    }
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonym_is_rfc4231_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let p = Pseudonymizer::new(&Secret::new("Jefe"));
        assert_eq!(
            p.pseudonym("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn scrub_replaces_the_user_id() {
        let p = Pseudonymizer::new(&Secret::new("0123456789abcdef"));
        let input = serde_json::json!({"user_id": "alice", "listened_ms": -1});
        let scrubbed: serde_json::Value =
            serde_json::from_slice(&p.scrub(&input).expect("object")).expect("json");
        assert_eq!(scrubbed["user_id"], p.pseudonym("alice"));
        assert_eq!(scrubbed["listened_ms"], -1);
    }

    #[test]
    fn scrub_keeps_no_value_it_does_not_know() {
        let p = Pseudonymizer::new(&Secret::new("0123456789abcdef"));
        let scrub = |v: serde_json::Value| -> String {
            String::from_utf8(p.scrub(&v).expect("an object")).expect("utf-8")
        };
        assert_eq!(
            scrub(serde_json::json!({"user_id": 4915112345678_i64})),
            r#"{"user_id":"[removed: not a string]"}"#
        );
        assert_eq!(
            scrub(serde_json::json!({"userId": "alice", "track_id": 2})),
            r#"{"_unknown_fields":["userId"],"track_id":2}"#
        );
        assert_eq!(
            scrub(serde_json::json!({"events": [{"user_id": "alice"}]})),
            r#"{"_unknown_fields":["events"]}"#
        );
        assert_eq!(p.scrub(&serde_json::json!("alice")), None);
        assert_eq!(
            scrub(serde_json::json!({"mood_valence": "carol-secret", "position": 3})),
            r#"{"mood_valence":"[removed: wrong type]","position":3}"#
        );
    }
}
