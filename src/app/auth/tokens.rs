//! Access tokens (JWT, HS256 pinned) and opaque refresh tokens.

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Issuer claim of every token this service makes.
pub const ISSUER: &str = "kiemtra";
/// Audience claim of access tokens.
pub const AUDIENCE: &str = "kiemtra-api";

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Expiry (seconds since epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Token type: always `access` here, so that nothing else is accepted.
    pub typ: String,
    /// Role.
    pub role: String,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
    /// Lifetime of an access token in seconds.
    pub access_ttl: i64,
}

impl TokenKeys {
    /// Keys from the shared secret.
    pub fn new(secret: &[u8], access_ttl: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        TokenKeys {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
        }
    }

    /// A fresh access token for a user.
    pub fn issue(&self, user_id: &str, role: &str) -> String {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            exp: now + self.access_ttl,
            iat: now,
            nbf: now,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            typ: "access".into(),
            role: role.to_string(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
            .expect("HS256 encoding with a valid key cannot fail")
    }

    /// Checks signature, algorithm, time, issuer, audience and type.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let data =
            decode::<Claims>(token, &self.dec, &self.validation).map_err(|e| e.to_string())?;
        if data.claims.typ != "access" {
            return Err("not an access token".into());
        }
        Ok(data.claims)
    }
}

/// A new opaque refresh token (256 random bits, base64url).
pub fn new_refresh_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    format!(
        "rt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The token a refresh token `token` is rotated into: HMAC-SHA256 of it
/// under the server's secret (base64url), so that a retried refresh gets
/// the very same successor while the database keeps only hashes.
pub fn successor_refresh_token(secret: &[u8], token: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    // Not a JWT signing input (those hold no ':'), so no signature is ever
    // a successor nor the other way round.
    mac.update(b"kiemtra refresh successor:");
    mac.update(token.as_bytes());
    format!(
        "rt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// How a refresh token is stored: its SHA-256 in hex.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_rejections() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", 900);
        let t = keys.issue("u1", "admin");
        let c = keys.verify(&t).unwrap();
        assert_eq!(c.sub, "u1");
        assert_eq!(c.role, "admin");
        let other = TokenKeys::new(b"another-secret-another-secret-xx!", 900);
        assert!(other.verify(&t).is_err());
        let expired = TokenKeys::new(b"0123456789abcdef0123456789abcdef", -3600);
        assert!(keys.verify(&expired.issue("u1", "admin")).is_err());
    }

    #[test]
    fn successors_are_keyed_and_deterministic() {
        let a = successor_refresh_token(b"secret-one", "rt_x");
        assert_eq!(a, successor_refresh_token(b"secret-one", "rt_x"));
        assert_ne!(a, successor_refresh_token(b"secret-two", "rt_x"));
        assert_ne!(a, successor_refresh_token(b"secret-one", "rt_y"));
        assert!(a.starts_with("rt_") && a.len() == 46, "{a}");
    }
}
