//! Public key material for ImportKeyPair.
//!
//! Accepted: an OpenSSH public key line (`ssh-rsa AAAA... comment`, `ssh-ed25519 AAAA...`), an
//! RFC 4716 SSH2 public key file (`---- BEGIN SSH2 PUBLIC KEY ----`), and an RSA public key as
//! base64 DER SubjectPublicKeyInfo, bare or in a `BEGIN PUBLIC KEY` PEM. RSA keys must have 1024 to
//! 4096 bits; ED25519 keys are 32 bytes. Anything else is a typed [`MaterialError`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};

use super::material::{
    ed25519_public_blob, openssh_line, rsa_imported_fingerprint, rsa_public_blob, sha256_fingerprint,
};
use super::ssh::Reader;
use super::KeyType;

pub const RSA_MIN_BITS: usize = 1024;
pub const RSA_MAX_BITS: usize = 4096;

/// A public key accepted by ImportKeyPair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedKey {
    pub key_type: KeyType,
    /// The OpenSSH public key line, without comment.
    pub public_key: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaterialError {
    /// Not an OpenSSH, SSH2 or DER public key at all (or its encoding is corrupt).
    NotAPublicKey,
    /// A well-formed key of an algorithm EC2 key pairs do not take (e.g. `ecdsa-sha2-nistp256`).
    UnsupportedAlgorithm(String),
    /// An RSA key whose modulus is outside 1024..=4096 bits.
    RsaLength(usize),
}

/// Parses `material` (the bytes of the public key file as sent).
pub fn parse_public_key(material: &[u8]) -> Result<ImportedKey, MaterialError> {
    let text = std::str::from_utf8(material).map_err(|_| MaterialError::NotAPublicKey)?.trim();
    if text.is_empty() {
        return Err(MaterialError::NotAPublicKey);
    }
    if text.starts_with("---- BEGIN SSH2 PUBLIC KEY ----") {
        return from_blob(&b64(&rfc4716_body(text)?)?);
    }
    if let Some(body) = text.strip_prefix("-----BEGIN PUBLIC KEY-----") {
        let body = body.trim_end().strip_suffix("-----END PUBLIC KEY-----").ok_or(MaterialError::NotAPublicKey)?;
        let joined: String = body.split_whitespace().collect();
        return from_spki_der(&b64(&joined)?);
    }
    let mut fields = text.split_whitespace();
    let first = fields.next().ok_or(MaterialError::NotAPublicKey)?;
    match fields.next() {
        Some(encoded) => {
            let blob = b64(encoded)?;
            let key = from_blob(&blob)?;
            if key_type_name(key.key_type) != first {
                // The line names one algorithm, the blob holds another.
                return Err(MaterialError::NotAPublicKey);
            }
            Ok(key)
        }
        // One field only: a bare base64 DER public key.
        None => from_spki_der(&b64(first)?),
    }
}

fn key_type_name(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::Rsa => "ssh-rsa",
        KeyType::Ed25519 => "ssh-ed25519",
    }
}

fn b64(text: &str) -> Result<Vec<u8>, MaterialError> {
    STANDARD.decode(text).map_err(|_| MaterialError::NotAPublicKey)
}

/// The base64 body of an RFC 4716 file: lines between the markers, less headers (`Tag: value`,
/// continued by a trailing backslash).
fn rfc4716_body(text: &str) -> Result<String, MaterialError> {
    let mut lines = text.lines().map(str::trim);
    lines.next();
    let mut body = String::new();
    let mut continued = false;
    let mut ended = false;
    for line in lines {
        if line == "---- END SSH2 PUBLIC KEY ----" {
            ended = true;
            break;
        }
        if continued {
            continued = line.ends_with('\\');
            continue;
        }
        if line.contains(':') {
            continued = line.ends_with('\\');
            continue;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(MaterialError::NotAPublicKey);
    }
    Ok(body)
}

/// An OpenSSH public key blob.
fn from_blob(blob: &[u8]) -> Result<ImportedKey, MaterialError> {
    let mut r = Reader::new(blob);
    let algorithm = r.string().ok_or(MaterialError::NotAPublicKey)?;
    match algorithm {
        b"ssh-rsa" => {
            let e = r.positive_mpint().ok_or(MaterialError::NotAPublicKey)?;
            let n = r.positive_mpint().ok_or(MaterialError::NotAPublicKey)?;
            if !r.is_empty() {
                return Err(MaterialError::NotAPublicKey);
            }
            rsa_key(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
        }
        b"ssh-ed25519" => {
            let point = r.string().ok_or(MaterialError::NotAPublicKey)?;
            if !r.is_empty() {
                return Err(MaterialError::NotAPublicKey);
            }
            let point: [u8; 32] = point.try_into().map_err(|_| MaterialError::NotAPublicKey)?;
            let blob = ed25519_public_blob(&point);
            Ok(ImportedKey {
                key_type: KeyType::Ed25519,
                public_key: openssh_line("ssh-ed25519", &blob),
                fingerprint: sha256_fingerprint(&blob),
            })
        }
        other => match std::str::from_utf8(other) {
            Ok(name) if !name.is_empty() && name.is_ascii() => {
                Err(MaterialError::UnsupportedAlgorithm(name.to_string()))
            }
            _ => Err(MaterialError::NotAPublicKey),
        },
    }
}

fn from_spki_der(der: &[u8]) -> Result<ImportedKey, MaterialError> {
    let key = RsaPublicKey::from_public_key_der(der).map_err(|_| MaterialError::NotAPublicKey)?;
    rsa_key(key.n().clone(), key.e().clone())
}

fn rsa_key(n: BigUint, e: BigUint) -> Result<ImportedKey, MaterialError> {
    let bits = n.bits();
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(MaterialError::RsaLength(bits));
    }
    // The rsa crate checks the exponent (odd, > 1, small enough) and the modulus.
    let key = RsaPublicKey::new_with_max_size(n, e, RSA_MAX_BITS).map_err(|_| MaterialError::NotAPublicKey)?;
    let blob = rsa_public_blob(&key);
    Ok(ImportedKey {
        key_type: KeyType::Rsa,
        public_key: openssh_line("ssh-rsa", &blob),
        fingerprint: rsa_imported_fingerprint(&key),
    })
}
