//! The console's session: a signed cookie (HMAC-SHA256 under a key derived
//! from `JWT_SECRET`) holding the user id, when it was issued, when it was
//! last used and a random nonce. The session also lives on the server, as a
//! row keyed by a hash of the nonce (`app::sessions::open_console_session`,
//! in the refresh-token table): signing out, disabling the account or
//! resetting its password ends it, so a copied cookie stops working. The
//! user is read again on every request; the idle timeout is the "last used"
//! time, renewed at most once a minute; the CSRF token of every form is
//! derived from the nonce.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The session cookie's name.
pub const COOKIE: &str = "kiemtra_console";
/// The sign-in form's cookie (its CSRF nonce, before any session exists).
pub const LOGIN_COOKIE: &str = "kiemtra_console_login";
/// A session ends this long after sign-in, however busy (12 hours).
pub const MAX_AGE_SECS: i64 = 12 * 3600;
/// The last-used time is renewed when it is older than this.
pub const RENEW_AFTER_SECS: i64 = 60;

/// Signing key of the console's cookies and tokens.
#[derive(Clone)]
pub struct Keys {
    key: [u8; 32],
}

fn mac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg);
    m.finalize().into_bytes().into()
}

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user_id: String,
    /// Unix seconds of sign-in.
    pub issued: i64,
    /// Unix seconds of the last use.
    pub seen: i64,
    /// Random, per session: the CSRF token derives from it.
    pub nonce: String,
}

impl Keys {
    /// The console's key, derived from the service secret.
    pub fn new(secret: &[u8]) -> Keys {
        Keys {
            key: mac(secret, b"kiemtra console session v1"),
        }
    }

    fn sign(&self, msg: &str) -> String {
        hex::encode(mac(&self.key, msg.as_bytes()))
    }

    /// The cookie value of `s`.
    pub fn encode(&self, s: &Session) -> String {
        let body = format!("{}.{}.{}.{}", s.user_id, s.issued, s.seen, s.nonce);
        let sig = self.sign(&body);
        format!("{body}.{sig}")
    }

    /// The session in `value` if its signature holds and it has not
    /// expired at `now` (idle for more than `idle_secs`, or older than
    /// [`MAX_AGE_SECS`]).
    pub fn decode(&self, value: &str, now: i64, idle_secs: i64) -> Option<Session> {
        let (body, sig) = value.rsplit_once('.')?;
        let expected = self.sign(body);
        // Compared in constant time.
        let sig = hex::decode(sig).ok()?;
        let expected = hex::decode(expected).ok()?;
        if sig.len() != expected.len()
            || sig
                .iter()
                .zip(&expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0
        {
            return None;
        }
        let mut parts = body.split('.');
        let user_id = parts.next()?.to_string();
        let issued: i64 = parts.next()?.parse().ok()?;
        let seen: i64 = parts.next()?.parse().ok()?;
        let nonce = parts.next()?.to_string();
        if parts.next().is_some() {
            return None;
        }
        if now - seen > idle_secs || now - issued > MAX_AGE_SECS || seen > now + 60 {
            return None;
        }
        Some(Session {
            user_id,
            issued,
            seen,
            nonce,
        })
    }

    /// The CSRF token of forms shown in session `nonce`.
    pub fn csrf(&self, nonce: &str) -> String {
        self.sign(&format!("csrf.{nonce}"))[..32].to_string()
    }

    /// The CSRF token of the sign-in form whose cookie holds `nonce`.
    pub fn login_csrf(&self, nonce: &str) -> String {
        self.sign(&format!("login.{nonce}"))[..32].to_string()
    }
}

/// A new random nonce (128 bits, hex).
pub fn nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Compares two tokens in constant time.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_expires() {
        let k = Keys::new(b"0123456789abcdef0123456789abcdef");
        let s = Session {
            user_id: "u1".into(),
            issued: 1000,
            seen: 1000,
            nonce: nonce(),
        };
        let v = k.encode(&s);
        assert_eq!(k.decode(&v, 1100, 1800), Some(s.clone()));
        assert_eq!(k.decode(&v, 1000 + 1801, 1800), None, "idle too long");
        let other = Keys::new(b"another secret of at least 32 bytes!");
        assert_eq!(other.decode(&v, 1100, 1800), None, "signed by another key");
        let forged = v.replacen("u1", "u2", 1);
        assert_eq!(k.decode(&forged, 1100, 1800), None, "tampered");
        assert_ne!(k.csrf(&s.nonce), k.csrf(&nonce()));
    }
}
