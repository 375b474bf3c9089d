//! Webhook secrets and signatures.
//!
//! Every delivery carries `X-Crm-Timestamp: <unix seconds>` and
//! `X-Crm-Signature: hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`. Signing the timestamp
//! with the body lets a receiver refuse old replays by checking the timestamp's age itself.

use std::fmt::Display;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crm_core::FieldError;

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret a client may choose.
pub const MIN_SECRET_LEN: usize = 16;
/// The longest secret a client may choose.
pub const MAX_SECRET_LEN: usize = 256;
/// How many leading characters of a secret reads show (`secret_prefix`).
pub const PREFIX_LEN: usize = 6;

fn mac(secret: &str, timestamp: impl Display, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`, the `X-Crm-Signature` value.
pub fn sign(secret: &str, timestamp: impl Display, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Whether `signature_hex` is the signature of `body` sent at `timestamp` (the
/// `X-Crm-Timestamp` value as received). The comparison takes constant time.
pub fn verify_signature(
    secret: &str,
    timestamp: impl Display,
    body: &[u8],
    signature_hex: &str,
) -> bool {
    let Ok(signature) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    mac(secret, timestamp, body)
        .verify_slice(&signature)
        .is_ok()
}

/// A new secret: 32 random bytes from the operating system, hex-encoded (64 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Checks a client-chosen secret. It is used byte for byte as the HMAC key, so it is not
/// trimmed: spaces and control characters are refused instead of silently dropped.
pub fn check_secret(field: &str, value: &str) -> Result<String, FieldError> {
    let n = value.chars().count();
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&n) {
        return Err(FieldError::new(
            field,
            format!("must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} characters"),
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            field,
            "must not contain spaces or control characters",
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_known_vector_signs_timestamp_dot_body() {
        // From: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
        let expected = "a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03";
        assert_eq!(sign("key", 1_700_000_000, br#"{"a":1}"#), expected);
        assert_eq!(sign("key", "1700000000", br#"{"a":1}"#), expected);
    }

    #[test]
    fn tampering_with_any_part_fails_verification() {
        let sig = sign("s3cret-s3cret-s3cret", 42, b"body");
        assert!(verify_signature("s3cret-s3cret-s3cret", 42, b"body", &sig));
        assert!(verify_signature(
            "s3cret-s3cret-s3cret",
            "42",
            b"body",
            &sig.to_uppercase()
        ));
        assert!(!verify_signature("other-secret-value", 42, b"body", &sig));
        assert!(!verify_signature("s3cret-s3cret-s3cret", 43, b"body", &sig));
        assert!(!verify_signature("s3cret-s3cret-s3cret", 42, b"bodY", &sig));
        assert!(!verify_signature(
            "s3cret-s3cret-s3cret",
            42,
            b"body",
            &sig[..62]
        ));
        assert!(!verify_signature("s3cret-s3cret-s3cret", 42, b"body", "zz"));
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(check_secret("secret", &a).is_ok());
    }

    #[test]
    fn client_secrets_are_checked_not_trimmed() {
        assert!(check_secret("secret", "short").is_err());
        assert!(check_secret("secret", " sixteen-chars-ok ").is_err());
        assert_eq!(
            check_secret("secret", "sixteen-chars-ok").unwrap(),
            "sixteen-chars-ok"
        );
    }

    proptest! {
        #[test]
        fn a_signature_verifies_and_only_for_its_body(
            secret in "[ -~]{16,40}",
            ts in 0i64..4_000_000_000,
            body in proptest::collection::vec(any::<u8>(), 0..200),
            other in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let sig = sign(&secret, ts, &body);
            prop_assert!(verify_signature(&secret, ts, &body, &sig));
            prop_assert_eq!(verify_signature(&secret, ts, &other, &sig), other == body);
        }
    }
}
