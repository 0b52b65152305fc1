//! Key generation for CreateKeyPair and the encodings AWS returns, with AWS's fingerprints.
//!
//! - RSA: 2048 bits, public exponent 65537. `pem` is the PKCS#1 private key (`BEGIN RSA PRIVATE
//!   KEY`). The fingerprint of a created RSA key is the SHA-1 of the PKCS#8 DER private key, in
//!   colon-separated lower-case hex (what `openssl pkcs8 -topk8 -nocrypt -outform DER | openssl
//!   sha1 -c` prints).
//! - ED25519: `pem` is the OpenSSH private key format (`BEGIN OPENSSH PRIVATE KEY`, unencrypted).
//!   The fingerprint is the SHA-256 of the OpenSSH public key blob, base64 with its padding.
//! - `ppk`: a PuTTY key file, format version 2, unencrypted, with the key name as comment and its
//!   HMAC-SHA-1 `Private-MAC` (key: SHA-1 of `putty-private-key-file-mac-key`, no passphrase).
//!
//! Everything is a function of the 32-byte seed the caller passes ([`key_seed`]), so the same
//! server seed and counter give the same key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use super::ssh::{put_mpint, put_string};
use super::{KeyFormat, KeyType};

/// RSA modulus size of a created key (CreateKeyPair makes 2048-bit RSA keys only).
pub const RSA_BITS: usize = 2048;

/// What CreateKeyPair hands back and keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The private key in the requested format (`KeyMaterial`).
    pub key_material: String,
    /// The public key as an OpenSSH line without comment (`ssh-rsa AAAA...`).
    pub public_key: String,
    pub fingerprint: String,
}

/// The generation seed of key number `counter` under the server's ID seed.
pub fn key_seed(id_seed: u64, counter: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"ec2d key pair v1");
    h.update(id_seed.to_be_bytes());
    h.update(counter.to_be_bytes());
    h.finalize().into()
}

/// Makes a key of `key_type` from `seed`, its private key encoded as `format`; `name` is the PPK
/// comment.
pub fn generate(key_type: KeyType, format: KeyFormat, seed: [u8; 32], name: &str) -> GeneratedKey {
    let mut rng = ChaCha20Rng::from_seed(seed);
    match key_type {
        KeyType::Rsa => {
            let key = RsaPrivateKey::new(&mut rng, RSA_BITS)
                .expect("2048-bit RSA key generation with exponent 65537 cannot fail");
            let blob = rsa_public_blob(&key.to_public_key());
            let key_material = match format {
                KeyFormat::Pem => rsa_pkcs1_pem(&key),
                KeyFormat::Ppk => ppk_v2("ssh-rsa", name, &blob, &rsa_ppk_private_blob(&key)),
            };
            GeneratedKey {
                key_material,
                public_key: openssh_line("ssh-rsa", &blob),
                fingerprint: rsa_created_fingerprint(&key),
            }
        }
        KeyType::Ed25519 => {
            let mut secret = [0u8; 32];
            rng.fill_bytes(&mut secret);
            let check = rng.next_u32();
            let public = ed25519_dalek::SigningKey::from_bytes(&secret).verifying_key().to_bytes();
            let blob = ed25519_public_blob(&public);
            let key_material = match format {
                KeyFormat::Pem => openssh_ed25519_private(&secret, &public, check),
                KeyFormat::Ppk => {
                    let mut private = Vec::new();
                    put_string(&mut private, &secret);
                    ppk_v2("ssh-ed25519", name, &blob, &private)
                }
            };
            GeneratedKey {
                key_material,
                public_key: openssh_line("ssh-ed25519", &blob),
                fingerprint: sha256_fingerprint(&blob),
            }
        }
    }
}

/// `ssh-rsa` public key blob: string "ssh-rsa", mpint e, mpint n.
pub(super) fn rsa_public_blob(key: &RsaPublicKey) -> Vec<u8> {
    let mut blob = Vec::new();
    put_string(&mut blob, b"ssh-rsa");
    put_mpint(&mut blob, &key.e().to_bytes_be());
    put_mpint(&mut blob, &key.n().to_bytes_be());
    blob
}

/// `ssh-ed25519` public key blob: string "ssh-ed25519", string of the 32-byte point.
pub(super) fn ed25519_public_blob(public: &[u8; 32]) -> Vec<u8> {
    let mut blob = Vec::new();
    put_string(&mut blob, b"ssh-ed25519");
    put_string(&mut blob, public);
    blob
}

pub(super) fn openssh_line(algorithm: &str, blob: &[u8]) -> String {
    format!("{algorithm} {}", STANDARD.encode(blob))
}

fn colon_hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// SHA-1 of the PKCS#8 DER private key (created RSA keys).
fn rsa_created_fingerprint(key: &RsaPrivateKey) -> String {
    let der = key.to_pkcs8_der().expect("an RSA private key encodes as PKCS#8");
    colon_hex(&Sha1::digest(der.as_bytes()))
}

/// MD5 of the DER SubjectPublicKeyInfo (imported RSA keys).
pub(super) fn rsa_imported_fingerprint(key: &RsaPublicKey) -> String {
    let der = key.to_public_key_der().expect("an RSA public key encodes as DER");
    colon_hex(&md5::Md5::digest(der.as_bytes()))
}

/// SHA-256 of the OpenSSH public key blob, base64 with padding (ED25519 keys, created or imported).
pub(super) fn sha256_fingerprint(blob: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(blob))
}

fn rsa_pkcs1_pem(key: &RsaPrivateKey) -> String {
    let pem = key.to_pkcs1_pem(LineEnding::LF).expect("an RSA private key encodes as PKCS#1");
    pem.trim_end().to_string()
}

/// PuTTY's RSA private blob: mpint d, mpint p, mpint q, mpint iqmp (q^-1 mod p).
fn rsa_ppk_private_blob(key: &RsaPrivateKey) -> Vec<u8> {
    let primes = key.primes();
    let (p, q) = (&primes[0], &primes[1]);
    let iqmp = key.crt_coefficient().expect("distinct primes are invertible modulo each other");
    let mut blob = Vec::new();
    put_mpint(&mut blob, &key.d().to_bytes_be());
    put_mpint(&mut blob, &p.to_bytes_be());
    put_mpint(&mut blob, &q.to_bytes_be());
    put_mpint(&mut blob, &iqmp.to_bytes_be());
    blob
}

fn wrap(text: &str, width: usize) -> Vec<&str> {
    text.as_bytes().chunks(width).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect()
}

/// The MAC of an unencrypted PuTTY version 2 key file.
pub(super) fn ppk_v2_mac(algorithm: &str, comment: &str, public: &[u8], private: &[u8]) -> String {
    let key = Sha1::digest(b"putty-private-key-file-mac-key");
    let mut data = Vec::new();
    put_string(&mut data, algorithm.as_bytes());
    put_string(&mut data, b"none");
    put_string(&mut data, comment.as_bytes());
    put_string(&mut data, public);
    put_string(&mut data, private);
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(&data);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn ppk_v2(algorithm: &str, comment: &str, public: &[u8], private: &[u8]) -> String {
    let public_b64 = STANDARD.encode(public);
    let private_b64 = STANDARD.encode(private);
    let public_lines = wrap(&public_b64, 64);
    let private_lines = wrap(&private_b64, 64);
    let mut out = format!(
        "PuTTY-User-Key-File-2: {algorithm}\nEncryption: none\nComment: {comment}\nPublic-Lines: {}\n",
        public_lines.len()
    );
    for line in public_lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!("Private-Lines: {}\n", private_lines.len()));
    for line in private_lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!("Private-MAC: {}\n", ppk_v2_mac(algorithm, comment, public, private)));
    out
}

/// The unencrypted OpenSSH private key format (PROTOCOL.key) for one ED25519 key, no comment.
fn openssh_ed25519_private(secret: &[u8; 32], public: &[u8; 32], check: u32) -> String {
    let blob = ed25519_public_blob(public);
    let mut private = Vec::new();
    private.extend_from_slice(&check.to_be_bytes());
    private.extend_from_slice(&check.to_be_bytes());
    put_string(&mut private, b"ssh-ed25519");
    put_string(&mut private, public);
    let mut keypair = secret.to_vec();
    keypair.extend_from_slice(public);
    put_string(&mut private, &keypair);
    put_string(&mut private, b"");
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }
    let mut body = b"openssh-key-v1\0".to_vec();
    put_string(&mut body, b"none");
    put_string(&mut body, b"none");
    put_string(&mut body, b"");
    body.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut body, &blob);
    put_string(&mut body, &private);
    let b64 = STANDARD.encode(&body);
    let mut out = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for line in wrap(&b64, 70) {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("-----END OPENSSH PRIVATE KEY-----\n");
    out
}
