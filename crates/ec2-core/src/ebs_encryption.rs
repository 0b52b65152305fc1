//! EBS encryption: the account's per-region defaults (encryption by default, the default KMS key)
//! and how a new volume's encryption follows from the request, the defaults and its snapshot.
//!
//! KMS is another service: ec2d checks the syntax of a KMS key identifier (a key ID, `alias/NAME`,
//! or the ARN of a key or an alias) and records its ARN; it does not check that the key exists. The
//! AWS managed key `alias/aws/ebs` is given a stable key ID derived from the scope.

use serde::{Deserialize, Serialize};

use crate::Scope;

/// The defaults of one (account, region).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EbsEncryption {
    /// Always `default`: one record per scope.
    pub id: String,
    pub by_default: bool,
    /// The default KMS key as the caller set it (`None`: `alias/aws/ebs`).
    pub kms_key_id: Option<String>,
}

pub const MANAGED_ALIAS: &str = "alias/aws/ebs";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionError {
    /// The KMS key identifier is not one.
    BadKmsKey(String),
    /// `KmsKeyId` without `Encrypted` (and without encryption by default).
    KmsKeyWithoutEncrypted,
    /// `Encrypted=false` for a volume of an encrypted snapshot, or with encryption by default.
    CannotBeUnencrypted,
    /// A key ARN of another region than the request's (a KMS key serves its own region only).
    KeyInOtherRegion { key: String, region: String },
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
}

/// The key ID of the AWS managed key `aws/ebs` of a scope.
pub fn managed_key_id(scope: &Scope) -> String {
    let a = fnv(&format!("{}/{}/aws/ebs", scope.account, scope.region));
    let b = fnv(&format!("{a:x}"));
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// The ARN of the key a KMS key identifier names in `scope`.
pub fn key_arn(scope: &Scope, key: &str) -> Result<String, EncryptionError> {
    let bad = || EncryptionError::BadKmsKey(key.to_string());
    if let Some(rest) = key.strip_prefix("arn:aws:kms:") {
        let parts: Vec<&str> = rest.splitn(3, ':').collect();
        let [region, account, resource] = parts[..] else { return Err(bad()) };
        let ok_resource = resource.strip_prefix("key/").is_some_and(is_uuid)
            || resource.strip_prefix("alias/").is_some_and(|a| !a.is_empty());
        if region.is_empty() || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) || !ok_resource {
            return Err(bad());
        }
        if region != scope.region {
            return Err(EncryptionError::KeyInOtherRegion { key: key.to_string(), region: scope.region.clone() });
        }
        if resource == MANAGED_ALIAS {
            return Ok(format!("arn:aws:kms:{region}:{account}:key/{}", managed_key_id(scope)));
        }
        return Ok(key.to_string());
    }
    if key == MANAGED_ALIAS {
        return Ok(format!("arn:aws:kms:{}:{}:key/{}", scope.region, scope.account, managed_key_id(scope)));
    }
    if let Some(alias) = key.strip_prefix("alias/") {
        let valid = !alias.is_empty()
            && alias.len() <= 250
            && alias.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b));
        return if valid { Ok(format!("arn:aws:kms:{}:{}:{key}", scope.region, scope.account)) } else { Err(bad()) };
    }
    if is_uuid(key) {
        return Ok(format!("arn:aws:kms:{}:{}:key/{key}", scope.region, scope.account));
    }
    Err(bad())
}

impl EbsEncryption {
    /// The default key as GetEbsDefaultKmsKeyId reports it.
    pub fn default_key(&self) -> String {
        self.kms_key_id.clone().unwrap_or_else(|| MANAGED_ALIAS.to_string())
    }
}

/// A new volume's encryption and key ARN, from the request's `Encrypted` and `KmsKeyId`, the
/// defaults, and the encryption of the snapshot it is made from (`Some((encrypted, key))`).
pub fn resolve(
    scope: &Scope,
    defaults: &EbsEncryption,
    encrypted: Option<bool>,
    kms_key_id: Option<&str>,
    snapshot: Option<(bool, Option<&str>)>,
) -> Result<(bool, Option<String>), EncryptionError> {
    let from_snapshot = snapshot.is_some_and(|s| s.0);
    if encrypted == Some(false) && (from_snapshot || defaults.by_default) {
        return Err(EncryptionError::CannotBeUnencrypted);
    }
    if kms_key_id.is_some() && encrypted != Some(true) && !defaults.by_default && !from_snapshot {
        return Err(EncryptionError::KmsKeyWithoutEncrypted);
    }
    let encrypt = encrypted == Some(true) || from_snapshot || defaults.by_default;
    if !encrypt {
        return Ok((false, None));
    }
    let key = match (kms_key_id, snapshot.and_then(|s| s.1)) {
        (Some(k), _) => key_arn(scope, k)?,
        (None, Some(snapshot_key)) => snapshot_key.to_string(),
        (None, None) => key_arn(scope, &defaults.default_key())?,
    };
    Ok((true, Some(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new("111122223333", "us-east-1")
    }

    #[test]
    fn key_identifiers_become_arns() {
        let s = scope();
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(key_arn(&s, id).unwrap(), format!("arn:aws:kms:us-east-1:111122223333:key/{id}"));
        assert_eq!(key_arn(&s, "alias/mine").unwrap(), "arn:aws:kms:us-east-1:111122223333:alias/mine");
        let managed = key_arn(&s, MANAGED_ALIAS).unwrap();
        assert!(managed.starts_with("arn:aws:kms:us-east-1:111122223333:key/"));
        assert!(is_uuid(managed.rsplit('/').next().unwrap()), "{managed}");
        assert_eq!(managed, key_arn(&s, MANAGED_ALIAS).unwrap());
        assert_ne!(managed, key_arn(&Scope::new("111122223333", "eu-west-1"), MANAGED_ALIAS).unwrap());
        for bad in ["nope", "alias/", "arn:aws:kms:us-east-1:1:key/x", "1234ABCD-12ab-34cd-56ef-1234567890ab"] {
            assert!(matches!(key_arn(&s, bad), Err(EncryptionError::BadKmsKey(_))), "{bad}");
        }
        // Another account's key of the region may be granted to the caller; another region's never.
        let theirs = format!("arn:aws:kms:us-east-1:444455556666:key/{id}");
        assert_eq!(key_arn(&s, &theirs).unwrap(), theirs);
        let west = format!("arn:aws:kms:us-west-2:111122223333:key/{id}");
        assert_eq!(
            key_arn(&s, &west),
            Err(EncryptionError::KeyInOtherRegion { key: west.clone(), region: "us-east-1".into() })
        );
    }

    #[test]
    fn encryption_follows_request_defaults_and_snapshot() {
        let s = scope();
        let off = EbsEncryption::default();
        let on = EbsEncryption { by_default: true, ..Default::default() };
        assert_eq!(resolve(&s, &off, None, None, None).unwrap(), (false, None));
        let (enc, key) = resolve(&s, &off, Some(true), None, None).unwrap();
        assert!(enc && key.unwrap().contains(&managed_key_id(&s)));
        assert!(resolve(&s, &on, None, None, None).unwrap().0);
        assert_eq!(resolve(&s, &on, Some(false), None, None), Err(EncryptionError::CannotBeUnencrypted));
        assert_eq!(resolve(&s, &off, None, Some("alias/x"), None), Err(EncryptionError::KmsKeyWithoutEncrypted));
        let snap_key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(resolve(&s, &off, None, None, Some((true, Some(snap_key)))).unwrap(), (true, Some(snap_key.into())));
        assert_eq!(
            resolve(&s, &off, Some(false), None, Some((true, Some(snap_key)))),
            Err(EncryptionError::CannotBeUnencrypted)
        );
        let custom = EbsEncryption { by_default: true, kms_key_id: Some("alias/team".into()), ..Default::default() };
        assert_eq!(
            resolve(&s, &custom, None, None, None).unwrap().1.unwrap(),
            "arn:aws:kms:us-east-1:111122223333:alias/team"
        );
    }
}
