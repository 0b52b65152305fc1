//! The administrator password of a Windows instance (GetPasswordData): when it is ready, the
//! password itself (a function of the server's seed and the instance), and its encryption with the
//! RSA public key of the instance's key pair, PKCS#1 v1.5, as EC2 hands it out (base64).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ec2_time::UnixMillis;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rsa::{BigUint, Pkcs1v15Encrypt, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::instances::{Durations, Instance};
use crate::key_pairs::ssh::Reader;

/// Characters of a generated password (letters, digits and a few symbols, as Windows requires).
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!$%&*()-=.?;@";
pub const PASSWORD_LEN: usize = 32;

/// Whether the instance runs Windows (its image's platform).
pub fn is_windows(inst: &Instance) -> bool {
    inst.platform.as_deref() == Some("windows")
}

/// When the password of a Windows instance is ready: `password` after the instance first runs
/// (its launch plus the launch duration). `None` for other platforms and before the first run.
pub fn ready_at(inst: &Instance, d: &Durations) -> Option<UnixMillis> {
    (is_windows(inst) && inst.ever_running).then(|| inst.launch_time.plus_millis(d.launch + d.password))
}

/// The seed of an instance's password (and of its encryption padding) under the server's ID seed.
pub fn seed(id_seed: u64, instance_id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"ec2d windows password v1");
    h.update(id_seed.to_be_bytes());
    h.update(instance_id.as_bytes());
    h.finalize().into()
}

/// The password of the instance whose seed is `seed`: at least one upper-case letter, one
/// lower-case letter, one digit and one symbol.
pub fn password(seed: [u8; 32]) -> String {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let classes: [&[u8]; 4] = [&ALPHABET[..24], &ALPHABET[24..48], &ALPHABET[48..56], &ALPHABET[56..]];
    let mut out: Vec<u8> = Vec::with_capacity(PASSWORD_LEN);
    for class in classes {
        out.push(class[(rng.next_u32() as usize) % class.len()]);
    }
    while out.len() < PASSWORD_LEN {
        out.push(ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()]);
    }
    // Shuffle so the classes are not always in front (Fisher-Yates).
    for i in (1..out.len()).rev() {
        let j = (rng.next_u32() as usize) % (i + 1);
        out.swap(i, j);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Why a password cannot be encrypted for a key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// The key pair is not RSA (EC2 encrypts Windows passwords with RSA keys only).
    NotRsa,
    /// The stored public key does not parse.
    BadKey,
}

/// The RSA public key of an OpenSSH `ssh-rsa AAAA...` line.
pub fn rsa_public_key(openssh_line: &str) -> Result<RsaPublicKey, PasswordError> {
    let mut fields = openssh_line.split_whitespace();
    if fields.next() != Some("ssh-rsa") {
        return Err(PasswordError::NotRsa);
    }
    let blob = STANDARD.decode(fields.next().ok_or(PasswordError::BadKey)?).map_err(|_| PasswordError::BadKey)?;
    let mut r = Reader::new(&blob);
    if r.string() != Some(b"ssh-rsa".as_slice()) {
        return Err(PasswordError::BadKey);
    }
    let e = r.positive_mpint().ok_or(PasswordError::BadKey)?;
    let n = r.positive_mpint().ok_or(PasswordError::BadKey)?;
    RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)).map_err(|_| PasswordError::BadKey)
}

/// `PasswordData`: the password encrypted with the key pair's public key (PKCS#1 v1.5), base64.
/// The padding's randomness comes from `seed`, so one server seed gives one answer.
pub fn password_data(openssh_line: &str, seed: [u8; 32]) -> Result<String, PasswordError> {
    let key = rsa_public_key(openssh_line)?;
    let plain = password(seed);
    let mut pad_seed = seed;
    pad_seed[0] ^= 0x5a;
    let mut rng = ChaCha20Rng::from_seed(pad_seed);
    let cipher = key.encrypt(&mut rng, Pkcs1v15Encrypt, plain.as_bytes()).map_err(|_| PasswordError::BadKey)?;
    Ok(STANDARD.encode(cipher))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instances::lifecycle::tests::fixture;
    use crate::instances::InstanceState;
    use crate::key_pairs::material::generate;
    use crate::key_pairs::{KeyFormat, KeyType};
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::RsaPrivateKey;

    #[test]
    fn passwords_are_deterministic_and_mixed() {
        let p = password(seed(7, "i-0123456789abcdef0"));
        assert_eq!(p.len(), PASSWORD_LEN);
        assert_eq!(p, password(seed(7, "i-0123456789abcdef0")));
        assert_ne!(p, password(seed(8, "i-0123456789abcdef0")));
        assert!(p.bytes().any(|c| c.is_ascii_uppercase()));
        assert!(p.bytes().any(|c| c.is_ascii_lowercase()));
        assert!(p.bytes().any(|c| c.is_ascii_digit()));
        assert!(p.bytes().any(|c| !c.is_ascii_alphanumeric()));
    }

    #[test]
    fn the_key_pairs_private_key_decrypts_the_password() {
        let key = generate(KeyType::Rsa, KeyFormat::Pem, [3; 32], "k");
        let s = seed(1, "i-1");
        let data = password_data(&key.public_key, s).unwrap();
        let private = RsaPrivateKey::from_pkcs1_pem(&key.key_material).unwrap();
        let plain = private.decrypt(Pkcs1v15Encrypt, &STANDARD.decode(data).unwrap()).unwrap();
        assert_eq!(String::from_utf8(plain).unwrap(), password(s));
        let ed = generate(KeyType::Ed25519, KeyFormat::Pem, [3; 32], "e");
        assert_eq!(password_data(&ed.public_key, s), Err(PasswordError::NotRsa));
        assert_eq!(password_data("ssh-rsa AAAA", s), Err(PasswordError::BadKey));
    }

    #[test]
    fn ready_after_the_first_run_plus_the_delay_and_only_on_windows() {
        let d = Durations { launch: 8_000, password: 240_000, ..Durations::INSTANT };
        let mut i = fixture(InstanceState::Running);
        assert_eq!(ready_at(&i, &d), None, "Linux has no password");
        i.platform = Some("windows".into());
        assert_eq!(ready_at(&i, &d), Some(UnixMillis(248_000)));
        i.ever_running = false;
        assert_eq!(ready_at(&i, &d), None);
    }
}
