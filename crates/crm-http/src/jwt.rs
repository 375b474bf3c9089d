//! EdDSA (Ed25519) JSON Web Tokens and JWKS, kept to the compact JWS form we issue.
//!
//! Only `alg: EdDSA` with a `kid` is accepted: a token naming any other algorithm (including
//! `none`) is refused before its signature is looked at.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crm_core::{Actor, Error, Result, Role};

pub const ISSUER: &str = "crm";

/// Claims of an access token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user.
    pub sub: Uuid,
    /// The tenant.
    pub tid: Uuid,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

impl Claims {
    pub fn new(actor: &Actor, ttl_secs: i64) -> Self {
        let now = chrono::Utc::now().timestamp();
        Claims {
            iss: ISSUER.to_owned(),
            sub: actor.user_id,
            tid: actor.tenant_id,
            role: actor.role,
            iat: now,
            exp: now + ttl_secs,
            jti: Uuid::new_v4(),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::new(self.tid, self.sub, self.role)
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// A signing key with its key id.
#[derive(Clone)]
pub struct Signer {
    pub kid: String,
    key: SigningKey,
}

impl Signer {
    pub fn new(kid: impl Into<String>, key: SigningKey) -> Self {
        Signer {
            kid: kid.into(),
            key,
        }
    }

    /// A signer with a fresh random key.
    pub fn generate(kid: impl Into<String>) -> Self {
        Signer::new(kid, SigningKey::generate(&mut rand::rngs::OsRng))
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".into(),
            typ: Some("JWT".into()),
            kid: Some(self.kid.clone()),
        };
        let mut token = format!(
            "{}.{}",
            B64.encode(serde_json::to_vec(&header).expect("header serialises")),
            B64.encode(serde_json::to_vec(claims).expect("claims serialise"))
        );
        let sig = self.key.sign(token.as_bytes());
        token.push('.');
        token.push_str(&B64.encode(sig.to_bytes()));
        token
    }

    pub fn jwk(&self) -> Jwk {
        Jwk::from_key(&self.kid, &self.key.verifying_key())
    }
}

fn unauthorized(why: &str) -> Error {
    Error::Unauthorized(format!("invalid token: {why}"))
}

/// The `kid` of a token, read before its signature is checked (to find the key).
pub fn key_id(token: &str) -> Result<String> {
    let header = token.split('.').next().unwrap_or_default();
    let bytes = B64.decode(header).map_err(|_| unauthorized("malformed"))?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|_| unauthorized("malformed"))?;
    if header.alg != "EdDSA" {
        return Err(unauthorized("unsupported algorithm"));
    }
    header.kid.ok_or_else(|| unauthorized("no key id"))
}

/// Verifies signature, issuer and expiry; returns the claims.
pub fn verify(token: &str, key: &VerifyingKey) -> Result<Claims> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized("malformed"));
    };
    key_id(token)?;
    let sig = B64
        .decode(s)
        .map_err(|_| unauthorized("malformed signature"))?;
    let sig = Signature::from_slice(&sig).map_err(|_| unauthorized("malformed signature"))?;
    let signed = &token[..h.len() + 1 + p.len()];
    key.verify_strict(signed.as_bytes(), &sig)
        .map_err(|_| unauthorized("bad signature"))?;
    let claims: Claims =
        serde_json::from_slice(&B64.decode(p).map_err(|_| unauthorized("malformed"))?)
            .map_err(|_| unauthorized("malformed claims"))?;
    if claims.iss != ISSUER {
        return Err(unauthorized("wrong issuer"));
    }
    if claims.exp <= chrono::Utc::now().timestamp() {
        return Err(Error::Unauthorized("token expired; refresh it".into()));
    }
    Ok(claims)
}

/// One public key in a JWKS (RFC 8037 OKP / Ed25519).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

impl Jwk {
    pub fn from_key(kid: &str, key: &VerifyingKey) -> Self {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: B64.encode(key.as_bytes()),
            kid: kid.to_owned(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        }
    }

    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return None;
        }
        let bytes: [u8; 32] = B64.decode(&self.x).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes).ok()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new("k1", SigningKey::generate(&mut rand::rngs::OsRng))
    }

    fn actor() -> Actor {
        Actor::new(Uuid::new_v4(), Uuid::new_v4(), Role::Rep)
    }

    #[test]
    fn a_signed_token_verifies_and_round_trips() {
        let s = signer();
        let claims = Claims::new(&actor(), 60);
        let token = s.sign(&claims);
        assert_eq!(key_id(&token).unwrap(), "k1");
        let key = s.jwk().verifying_key().unwrap();
        assert_eq!(verify(&token, &key).unwrap(), claims);
    }

    #[test]
    fn tampered_expired_and_foreign_tokens_are_refused() {
        let s = signer();
        let key = s.jwk().verifying_key().unwrap();
        let token = s.sign(&Claims::new(&actor(), 60));
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut evil = Claims::new(&actor(), 60);
        evil.role = Role::Admin;
        let forged = B64.encode(serde_json::to_vec(&evil).unwrap());
        parts[1] = &forged;
        assert!(verify(&parts.join("."), &key).is_err());

        let expired = s.sign(&Claims::new(&actor(), -1));
        assert!(
            matches!(verify(&expired, &key), Err(Error::Unauthorized(m)) if m.contains("expired"))
        );

        let other = signer().sign(&Claims::new(&actor(), 60));
        assert!(verify(&other, &key).is_err());

        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","kid":"k1"}"#),
            parts[1]
        );
        assert!(verify(&none, &key).is_err());
        assert!(verify("a.b", &key).is_err());
    }
}
