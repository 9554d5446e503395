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

    /// The JSON of a refused event with its `user_id` replaced by the pseudonym, or `None` when
    /// the input is not an object with a string `user_id` and so cannot be made safe to store.
    pub fn scrub(&self, input: &serde_json::Value) -> Option<Vec<u8>> {
        let mut object = input.as_object()?.clone();
        match object.get("user_id") {
            Some(serde_json::Value::String(raw)) => {
                let pseudonym = self.pseudonym(raw);
                object.insert("user_id".into(), serde_json::Value::String(pseudonym));
            }
            None => {}
            Some(_) => return None,
        }
        serde_json::to_vec(&object).ok()
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
    fn scrub_refuses_what_it_cannot_make_safe() {
        let p = Pseudonymizer::new(&Secret::new("0123456789abcdef"));
        assert_eq!(p.scrub(&serde_json::json!({"user_id": ["alice"]})), None);
        assert_eq!(p.scrub(&serde_json::json!("alice")), None);
    }
}
