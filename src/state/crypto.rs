//! Secrets at rest: sensitive attribute values (and interrupted-call intents, which may
//! hold secrets) are sealed with XChaCha20-Poly1305 before they reach the state database,
//! when a state key is configured (`BATON_STATE_KEY`, or a file named by
//! `BATON_STATE_KEY_FILE`: 32 random bytes in base64, as `baton state keygen` prints).
//!
//! A sealed value is the JSON object `{"$baton_sealed": 1, "key": FINGERPRINT, "data":
//! BASE64(nonce ‖ ciphertext)}`; the fingerprint (first 8 bytes of SHA-256 of the key,
//! hex) lets a wrong key be named precisely instead of failing with a cryptic error.

use base64::Engine;
use chacha20poly1305::aead::{Aead, Generate, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

const MARK: &str = "$baton_sealed";
const NONCE_LEN: usize = 24;

/// A state key.
#[derive(Clone)]
pub struct StateKey {
    cipher: XChaCha20Poly1305,
    fingerprint: String,
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateKey({})", self.fingerprint)
    }
}

impl StateKey {
    /// Parses a key: 32 bytes, standard base64.
    pub fn parse(text: &str) -> Result<StateKey, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| {
                "the state key must be 32 random bytes in base64 (`baton state keygen` prints one)"
                    .to_string()
            })?;
        if bytes.len() != 32 {
            return Err(format!(
                "the state key must be 32 bytes, not {} (`baton state keygen` prints one)",
                bytes.len()
            ));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| "invalid state key".to_string())?;
        let fingerprint = hex::encode(&Sha256::digest(&bytes)[..8]);
        Ok(StateKey {
            cipher,
            fingerprint,
        })
    }

    /// The key from `BATON_STATE_KEY` or `BATON_STATE_KEY_FILE`, if one is set.
    pub fn from_env() -> Result<Option<StateKey>, String> {
        Self::from_vars("BATON_STATE_KEY", "BATON_STATE_KEY_FILE")
    }

    /// The key `state rekey` seals with: `BATON_NEW_STATE_KEY` or
    /// `BATON_NEW_STATE_KEY_FILE`, if one is set (none: the state is unsealed).
    pub fn new_from_env() -> Result<Option<StateKey>, String> {
        Self::from_vars("BATON_NEW_STATE_KEY", "BATON_NEW_STATE_KEY_FILE")
    }

    /// The key from the named variables (value, or file), if one is set.
    pub fn from_vars(value_var: &str, file_var: &str) -> Result<Option<StateKey>, String> {
        if let Ok(v) = std::env::var(value_var) {
            return StateKey::parse(&v)
                .map(Some)
                .map_err(|e| format!("{value_var}: {e}"));
        }
        if let Ok(path) = std::env::var(file_var) {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{file_var}: cannot read {path}: {e}"))?;
            return StateKey::parse(&text)
                .map(Some)
                .map_err(|e| format!("{file_var} ({path}): {e}"));
        }
        Ok(None)
    }

    /// A new random key, base64.
    pub fn generate() -> String {
        let key = chacha20poly1305::Key::generate();
        base64::engine::general_purpose::STANDARD.encode(key.as_slice())
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Seals a JSON value.
    pub fn seal(&self, v: &Json) -> Json {
        let nonce = XNonce::generate();
        let plain = v.to_string();
        let ct = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("XChaCha20-Poly1305 encryption cannot fail");
        let mut data = nonce.to_vec();
        data.extend_from_slice(&ct);
        json!({ MARK: 1, "key": self.fingerprint, "data": base64::engine::general_purpose::STANDARD.encode(data) })
    }

    /// Opens a sealed value.
    pub fn open(&self, sealed: &Json) -> Result<Json, String> {
        let key = sealed["key"].as_str().unwrap_or("?");
        if key != self.fingerprint {
            return Err(format!(
                "secrets in the state were sealed with key {key}, but the configured key is {}",
                self.fingerprint
            ));
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(sealed["data"].as_str().unwrap_or(""))
            .map_err(|_| "a sealed value is corrupt".to_string())?;
        if data.len() < NONCE_LEN {
            return Err("a sealed value is corrupt".into());
        }
        let (nonce, ct) = data.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| "a sealed value is corrupt".to_string())?;
        let plain = self.cipher.decrypt(&nonce, ct).map_err(|_| {
            format!(
                "a sealed value does not open with key {} (corrupt or tampered)",
                self.fingerprint
            )
        })?;
        serde_json::from_slice(&plain).map_err(|_| "a sealed value is corrupt".to_string())
    }
}

/// True when a JSON value is a sealed secret.
pub fn is_sealed(v: &Json) -> bool {
    v.get(MARK).is_some()
}

/// The fingerprint a sealed value was made with.
pub fn sealed_with(v: &Json) -> Option<&str> {
    v.get("key").and_then(Json::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_and_wrong_keys_are_named() {
        let k1 = StateKey::parse(&StateKey::generate()).unwrap();
        let k2 = StateKey::parse(&StateKey::generate()).unwrap();
        let v = json!({"password": "hunter2"});
        let sealed = k1.seal(&v);
        assert!(is_sealed(&sealed));
        assert!(!sealed.to_string().contains("hunter2"));
        assert_eq!(k1.open(&sealed).unwrap(), v);
        let err = k2.open(&sealed).unwrap_err();
        assert!(
            err.contains(k1.fingerprint()) && err.contains(k2.fingerprint()),
            "{err}"
        );
        // Two seals of the same value differ (random nonces).
        assert_ne!(k1.seal(&v), k1.seal(&v));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(
            StateKey::parse("not base64!")
                .unwrap_err()
                .contains("base64")
        );
        assert!(
            StateKey::parse("c2hvcnQ=")
                .unwrap_err()
                .contains("32 bytes, not 5")
        );
    }
}
