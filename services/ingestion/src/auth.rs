//! API key checks for HTTP and gRPC.
//!
//! Keys are stored as SHA-256 hashes. API keys are long random strings, so a fast hash is enough;
//! comparing hashes also keeps the comparison time independent of the key's content.

use crate::{config::ApiKeyConfig, privacy::sha256_hex};

/// The allowed keys.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    keys: Vec<ApiKeyConfig>,
}

impl ApiKeys {
    /// From the configured hashes.
    pub fn new(keys: &[ApiKeyConfig]) -> Self {
        let keys = keys
            .iter()
            .map(|k| ApiKeyConfig {
                name: k.name.clone(),
                sha256: k.sha256.to_ascii_lowercase(),
            })
            .collect();
        ApiKeys { keys }
    }

    /// The name of the key in an `authorization: Bearer <key>` value, if it is allowed.
    pub fn check(&self, authorization: Option<&str>) -> Option<&str> {
        let (scheme, key) = authorization?.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        let hash = sha256_hex(key.as_bytes());
        self.keys
            .iter()
            .find(|k| k.sha256 == hash)
            .map(|k| k.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ApiKeys {
        // `printf %s s3cret-key | sha256sum`, upper-cased to check that case does not matter.
        ApiKeys::new(&[ApiKeyConfig {
            name: "mobile".into(),
            sha256: "817B823905CC7853F381992575A9041FCDB17FC70E776707ABFB4D7C59ECBF3F".into(),
        }])
    }

    #[test]
    fn accepts_the_key_whose_hash_is_configured() {
        assert_eq!(keys().check(Some("Bearer s3cret-key")), Some("mobile"));
        assert_eq!(keys().check(Some("bearer s3cret-key")), Some("mobile"));
    }

    #[test]
    fn refuses_missing_malformed_and_wrong_keys() {
        let keys = keys();
        assert_eq!(keys.check(None), None);
        assert_eq!(keys.check(Some("s3cret-key")), None);
        assert_eq!(keys.check(Some("Bearer ")), None);
        assert_eq!(keys.check(Some("Bearer wrong")), None);
    }
}
