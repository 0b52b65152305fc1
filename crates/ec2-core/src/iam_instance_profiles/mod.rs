//! IAM instance profiles as EC2 sees them: a profile named by ARN or name (IAM itself is another
//! service: ec2d checks the syntax and the account, never that the profile exists), its `AIPA...`
//! ID, and the association of a profile with an instance (`iip-assoc-`), with its states.

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::filters::{Accessor, FilterTable};

/// A profile as DescribeInstances and the associations show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub arn: String,
    /// `AIPA` and 17 upper-case letters and digits, derived from the ARN.
    pub id: String,
}

/// Why a profile specification is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileError {
    /// Neither `Arn` nor `Name`.
    Missing,
    /// Both `Arn` and `Name`.
    Both,
    BadArn(String),
    BadName(String),
    /// The ARN names another account's profile.
    OtherAccount(String),
}

fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// The profile ID of an ARN: stable, and distinct for distinct ARNs in practice (a 64-bit FNV-1a
/// hash spread over 17 base-36 digits).
pub fn profile_id(arn: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in arn.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    const DIGITS: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::from("AIPA");
    let mut x = u128::from(h) << 24 | u128::from(h >> 40);
    for _ in 0..17 {
        out.push(DIGITS[(x % 36) as usize] as char);
        x /= 36;
    }
    out
}

/// Resolves `IamInstanceProfile` (by ARN or by name, in `account`).
pub fn resolve(account: &str, arn: Option<&str>, name: Option<&str>) -> Result<Profile, ProfileError> {
    let arn = match (arn, name) {
        (None, None) => return Err(ProfileError::Missing),
        (Some(_), Some(_)) => return Err(ProfileError::Both),
        (None, Some(name)) => {
            if !valid_name(name) {
                return Err(ProfileError::BadName(name.to_string()));
            }
            format!("arn:aws:iam::{account}:instance-profile/{name}")
        }
        (Some(arn), None) => {
            let bad = || ProfileError::BadArn(arn.to_string());
            let rest = arn.strip_prefix("arn:aws:iam::").ok_or_else(bad)?;
            let (owner, resource) = rest.split_once(':').ok_or_else(bad)?;
            let path = resource.strip_prefix("instance-profile/").ok_or_else(bad)?;
            let name = path.rsplit('/').next().unwrap_or_default();
            if owner.len() != 12 || !owner.bytes().all(|b| b.is_ascii_digit()) || !valid_name(name) {
                return Err(bad());
            }
            if owner != account {
                return Err(ProfileError::OtherAccount(arn.to_string()));
            }
            arn.to_string()
        }
    };
    Ok(Profile { id: profile_id(&arn), arn })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssociationState {
    Associating,
    Associated,
    Disassociating,
    Disassociated,
}

impl AssociationState {
    pub fn name(self) -> &'static str {
        match self {
            AssociationState::Associating => "associating",
            AssociationState::Associated => "associated",
            AssociationState::Disassociating => "disassociating",
            AssociationState::Disassociated => "disassociated",
        }
    }
}

/// The association of a profile with an instance. ec2d completes an association (and a
/// disassociation) at once: requests answer `associating` (`disassociating`), and reads show
/// `associated`; a disassociated association is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Association {
    pub id: String,
    pub instance_id: String,
    pub profile: Profile,
    pub state: AssociationState,
    pub timestamp: UnixMillis,
}

/// Why an association request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssociationError {
    /// The instance already has an association (`IncorrectState`).
    Exists { instance_id: String, association_id: String },
}

/// An instance takes a new association only when it has none.
pub fn check_can_associate(existing: &[Association], instance_id: &str) -> Result<(), AssociationError> {
    match existing.iter().find(|a| a.instance_id == instance_id) {
        Some(a) => Err(AssociationError::Exists { instance_id: instance_id.to_string(), association_id: a.id.clone() }),
        None => Ok(()),
    }
}

const ENTRIES: &[(&str, Accessor<Association>)] =
    &[("instance-id", |a| vec![a.instance_id.clone()]), ("state", |a| vec![a.state.name().to_string()])];

/// DescribeIamInstanceProfileAssociations' filters.
pub const ASSOCIATION_FILTERS: FilterTable<Association> = FilterTable { entries: ENTRIES, tags: None };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_by_name_or_arn() {
        let p = resolve("123456789012", None, Some("web")).unwrap();
        assert_eq!(p.arn, "arn:aws:iam::123456789012:instance-profile/web");
        assert!(p.id.starts_with("AIPA") && p.id.len() == 21, "{}", p.id);
        assert!(p.id[4..].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let q = resolve("123456789012", Some("arn:aws:iam::123456789012:instance-profile/web"), None).unwrap();
        assert_eq!(p, q);
        let r = resolve("123456789012", Some("arn:aws:iam::123456789012:instance-profile/team/web"), None).unwrap();
        assert_ne!(r.id, p.id);
    }

    #[test]
    fn bad_specifications() {
        assert_eq!(resolve("123456789012", None, None), Err(ProfileError::Missing));
        assert_eq!(
            resolve("123456789012", Some("arn:aws:iam::123456789012:instance-profile/a"), Some("a")),
            Err(ProfileError::Both)
        );
        assert_eq!(resolve("123456789012", None, Some("a b")), Err(ProfileError::BadName("a b".into())));
        for arn in ["web", "arn:aws:iam::1234:instance-profile/web", "arn:aws:iam::123456789012:role/web"] {
            assert_eq!(resolve("123456789012", Some(arn), None), Err(ProfileError::BadArn(arn.into())));
        }
        let other = "arn:aws:iam::210987654321:instance-profile/web";
        assert_eq!(resolve("123456789012", Some(other), None), Err(ProfileError::OtherAccount(other.into())));
    }

    #[test]
    fn one_association_per_instance() {
        let a = Association {
            id: "iip-assoc-1".into(),
            instance_id: "i-1".into(),
            profile: resolve("123456789012", None, Some("web")).unwrap(),
            state: AssociationState::Associated,
            timestamp: UnixMillis(0),
        };
        assert!(check_can_associate(std::slice::from_ref(&a), "i-2").is_ok());
        assert_eq!(
            check_can_associate(&[a], "i-1"),
            Err(AssociationError::Exists { instance_id: "i-1".into(), association_id: "iip-assoc-1".into() })
        );
    }
}
