//! Key pairs: SSH keys EC2 keeps by name for instances to trust.
//!
//! A key pair is created (EC2 generates it and returns the private key once: [`material`]) or
//! imported (the caller sends a public key: [`import`]). EC2 keeps the public key, the key type and
//! a fingerprint, whose definition depends on how the key arrived (see [`material`]). Names are
//! unique per account and region, up to 255 ASCII characters.

pub mod import;
pub mod material;
pub(crate) mod ssh;

use std::collections::BTreeMap;

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::filters::{Accessor, FilterTable};

pub use import::{parse_public_key, ImportedKey, MaterialError};
pub use material::{generate, key_seed, GeneratedKey};

/// Longest key pair name EC2 takes.
pub const MAX_NAME_LEN: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ed25519,
}

impl KeyType {
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }

    pub fn parse(text: &str) -> Option<KeyType> {
        match text {
            "rsa" => Some(KeyType::Rsa),
            "ed25519" => Some(KeyType::Ed25519),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    Pem,
    Ppk,
}

impl KeyFormat {
    pub fn parse(text: &str) -> Option<KeyFormat> {
        match text {
            "pem" => Some(KeyFormat::Pem),
            "ppk" => Some(KeyFormat::Ppk),
            _ => None,
        }
    }
}

/// A stored key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    pub id: String,
    pub name: String,
    pub key_type: KeyType,
    pub fingerprint: String,
    /// OpenSSH public key line without comment (`ssh-ed25519 AAAA...`).
    pub public_key: String,
    pub create_time: UnixMillis,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl KeyPair {
    /// The public key as DescribeKeyPairs shows it with IncludePublicKey: the OpenSSH line with the
    /// key name as its comment.
    pub fn public_key_with_name(&self) -> String {
        format!("{} {}", self.public_key, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPairError {
    /// A key pair of that name already exists.
    Duplicate(String),
    /// No key pair of that name.
    NameNotFound(String),
    /// No key pair of that ID.
    IdNotFound(String),
    /// A name longer than [`MAX_NAME_LEN`].
    NameTooLong(String),
    /// A name with characters outside ASCII.
    NameNotAscii(String),
    /// A name that is empty.
    NameEmpty,
}

/// A name CreateKeyPair or ImportKeyPair may give a new key pair in a scope holding `existing`.
pub fn check_new_name(existing: &[KeyPair], name: &str) -> Result<(), KeyPairError> {
    if name.is_empty() {
        return Err(KeyPairError::NameEmpty);
    }
    if !name.is_ascii() {
        return Err(KeyPairError::NameNotAscii(name.to_string()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(KeyPairError::NameTooLong(name.to_string()));
    }
    if existing.iter().any(|k| k.name == name) {
        return Err(KeyPairError::Duplicate(name.to_string()));
    }
    Ok(())
}

/// The key pairs DescribeKeyPairs lists for `names` and `ids` (each list, when not empty, restricts
/// the result), in `all`'s order. Any requested name or ID that names no key pair is an error,
/// names checked before IDs, in request order.
pub fn select<'a>(all: &'a [KeyPair], names: &[String], ids: &[String]) -> Result<Vec<&'a KeyPair>, KeyPairError> {
    if let Some(missing) = names.iter().find(|n| !all.iter().any(|k| &k.name == *n)) {
        return Err(KeyPairError::NameNotFound(missing.clone()));
    }
    if let Some(missing) = ids.iter().find(|i| !all.iter().any(|k| &k.id == *i)) {
        return Err(KeyPairError::IdNotFound(missing.clone()));
    }
    Ok(all
        .iter()
        .filter(|k| names.is_empty() || names.contains(&k.name))
        .filter(|k| ids.is_empty() || ids.contains(&k.id))
        .collect())
}

/// The key pair DeleteKeyPair removes: by ID when one is given, else by name. `None` when there is
/// none, which DeleteKeyPair answers with success, as EC2 does.
pub fn find_for_delete<'a>(all: &'a [KeyPair], name: Option<&str>, id: Option<&str>) -> Option<&'a KeyPair> {
    match (id, name) {
        (Some(id), Some(name)) => all.iter().find(|k| k.id == id && k.name == name),
        (Some(id), None) => all.iter().find(|k| k.id == id),
        (None, Some(name)) => all.iter().find(|k| k.name == name),
        (None, None) => None,
    }
}

/// The key pair RunInstances launches with (`KeyName`).
pub fn find_for_launch<'a>(all: &'a [KeyPair], name: &str) -> Result<&'a KeyPair, KeyPairError> {
    all.iter().find(|k| k.name == name).ok_or_else(|| KeyPairError::NameNotFound(name.to_string()))
}

const ENTRIES: &[(&str, Accessor<KeyPair>)] = &[
    ("key-pair-id", |k| vec![k.id.clone()]),
    ("key-name", |k| vec![k.name.clone()]),
    ("fingerprint", |k| vec![k.fingerprint.clone()]),
    ("key-type", |k| vec![k.key_type.name().to_string()]),
];

/// DescribeKeyPairs filters: `key-pair-id`, `key-name`, `fingerprint`, `key-type` and the tag filters.
pub const FILTERS: FilterTable<KeyPair> = FilterTable { entries: ENTRIES, tags: Some(|k| &k.tags) };

#[cfg(test)]
mod tests;
