//! Password hashing with argon2id (19 MiB, t=2, p=1: the OWASP minimum).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// At most this many argon2 computations run at once (each takes 19 MiB and
/// tens of milliseconds of one core): a burst of logins queues here instead
/// of multiplying memory and starving the other requests.
fn gate() -> &'static (std::sync::Mutex<usize>, std::sync::Condvar, usize) {
    static GATE: std::sync::OnceLock<(std::sync::Mutex<usize>, std::sync::Condvar, usize)> =
        std::sync::OnceLock::new();
    GATE.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (
            std::sync::Mutex::new(0),
            std::sync::Condvar::new(),
            cores.clamp(1, 4),
        )
    })
}

/// Runs `f` (an argon2 computation) once a slot of the gate is free; blocks,
/// so call it off the async executor.
fn gated<T>(f: impl FnOnce() -> T) -> T {
    let (busy, freed, max) = gate();
    {
        let mut n = busy.lock().unwrap_or_else(|p| p.into_inner());
        while *n >= *max {
            n = freed.wait(n).unwrap_or_else(|p| p.into_inner());
        }
        *n += 1;
    }
    let out = f();
    *busy.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
    freed.notify_one();
    out
}

/// Hashes a password into a PHC string.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    gated(|| {
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 hashing with valid parameters cannot fail")
            .to_string()
    })
}

/// Checks a password against a PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => gated(|| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }),
        Err(_) => false,
    }
}

/// A hash of a random password, verified against when the user does not
/// exist so that timing does not reveal which usernames exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-for-timing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_rejects() {
        let h = hash_password("s3cret-pass");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("s3cret-pass", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("s3cret-pass", "garbage"));
    }
}
