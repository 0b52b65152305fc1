//! EBS snapshots: the record, its progress on the clock, and sharing (create-volume permissions).
//!
//! A snapshot is `pending` from its start until its duration has passed, with a progress that
//! grows linearly, then `completed` at 100%: a pure function of its start, its duration and `now`.
//! Permissions (also used for images' launch permissions) are a public flag and a set of accounts.

use std::collections::BTreeSet;

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

/// The `volumeId` AWS shows for snapshots that were not taken of a volume of the caller (copies).
pub const NO_VOLUME: &str = "vol-ffffffff";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// `Group=all`: every account.
    pub public: bool,
    pub users: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionError {
    /// A group other than `all`.
    BadGroup(String),
    /// A user ID that is not a 12-digit account.
    BadUser(String),
    /// Public sharing of an encrypted resource.
    EncryptedPublic,
}

/// One change of permissions: `(add, group all, users)`.
pub struct PermissionChange {
    pub add: bool,
    pub groups: Vec<String>,
    pub users: Vec<String>,
}

impl Permissions {
    /// Applies the changes in order, all or nothing. `encrypted` resources cannot be made public.
    pub fn apply(&mut self, changes: &[PermissionChange], encrypted: bool) -> Result<(), PermissionError> {
        let mut next = self.clone();
        for c in changes {
            for g in &c.groups {
                if g != "all" {
                    return Err(PermissionError::BadGroup(g.clone()));
                }
                if c.add && encrypted {
                    return Err(PermissionError::EncryptedPublic);
                }
                next.public = c.add;
            }
            for u in &c.users {
                if u.len() != 12 || !u.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(PermissionError::BadUser(u.clone()));
                }
                if c.add {
                    next.users.insert(u.clone());
                } else {
                    next.users.remove(u);
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// Whether `account` may use the resource (its owner always may).
    pub fn allows(&self, owner: &str, account: &str) -> bool {
        owner == account || self.public || self.users.contains(account)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotState {
    Pending,
    Completed,
}

impl SnapshotState {
    pub fn name(self) -> &'static str {
        match self {
            SnapshotState::Pending => "pending",
            SnapshotState::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub owner_id: String,
    /// The volume it was taken of ([`NO_VOLUME`] for copies).
    pub volume_id: String,
    pub volume_size: u32,
    pub description: String,
    pub start_time: UnixMillis,
    /// From the start until `completed`, in milliseconds.
    pub duration: i64,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    pub create_volume_permission: Permissions,
    /// For copies: the source region and snapshot.
    pub source: Option<(String, String)>,
}

/// Why a snapshot cannot be taken of a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// The description is longer than 255 characters.
    DescriptionTooLong,
}

pub const MAX_DESCRIPTION: usize = 255;

pub fn check_description(d: &str) -> Result<(), SnapshotError> {
    if d.chars().count() > MAX_DESCRIPTION {
        Err(SnapshotError::DescriptionTooLong)
    } else {
        Ok(())
    }
}

impl Snapshot {
    /// The state and progress (percent) at `now`, and when it completed (or will).
    pub fn view(&self, now: UnixMillis) -> (SnapshotState, u8) {
        let done = self.start_time.plus_millis(self.duration);
        if now >= done {
            return (SnapshotState::Completed, 100);
        }
        let elapsed = (now.0 - self.start_time.0).clamp(0, self.duration.max(1));
        (SnapshotState::Pending, (elapsed * 100 / self.duration.max(1)).min(99) as u8)
    }

    pub fn completion_time(&self) -> UnixMillis {
        self.start_time.plus_millis(self.duration)
    }

    pub fn is_completed(&self, now: UnixMillis) -> bool {
        self.view(now).0 == SnapshotState::Completed
    }
}

/// Whether DescribeSnapshots lists `s` for `account`: the account may create volumes from it (its
/// own, or shared with it or with everyone), it is owned by one of `owners` (none given: any
/// owner; `self` is the caller) and, when `restorable_by` names accounts, one of them may create
/// volumes from it (`self` is the caller).
pub fn listed_for(s: &Snapshot, account: &str, owners: &[String], restorable_by: &[String]) -> bool {
    let who = |u: &str| if u == "self" { account.to_string() } else { u.to_string() };
    s.create_volume_permission.allows(&s.owner_id, account)
        && (owners.is_empty() || owners.iter().any(|o| who(o) == s.owner_id))
        && (restorable_by.is_empty()
            || restorable_by.iter().any(|u| s.create_volume_permission.allows(&s.owner_id, &who(u))))
}

/// Whether a snapshot's owner shares it with other accounts (it then has a share record that
/// lets them find it).
pub fn is_shared(s: &Snapshot) -> bool {
    s.create_volume_permission.public || !s.create_volume_permission.users.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(duration: i64) -> Snapshot {
        Snapshot {
            id: "snap-1".into(),
            owner_id: "111122223333".into(),
            volume_id: "vol-1".into(),
            volume_size: 8,
            description: String::new(),
            start_time: UnixMillis(1000),
            duration,
            encrypted: false,
            kms_key_id: None,
            create_volume_permission: Permissions::default(),
            source: None,
        }
    }

    #[test]
    fn a_snapshot_is_listed_for_its_owner_and_the_accounts_it_is_shared_with() {
        let mut s = snap(0);
        let (owner, other, third) = ("111122223333", "444455556666", "777788889999");
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(listed_for(&s, owner, &[], &[]));
        assert!(!listed_for(&s, other, &[], &[]), "not shared yet");
        assert!(!is_shared(&s));
        s.create_volume_permission.users.insert(other.into());
        assert!(is_shared(&s));
        assert!(listed_for(&s, other, &[], &[]));
        assert!(!listed_for(&s, third, &[], &[]));
        assert!(listed_for(&s, other, &v(&[owner]), &[]));
        assert!(!listed_for(&s, other, &v(&["self"]), &[]), "the caller does not own it");
        assert!(listed_for(&s, owner, &v(&["self"]), &[]));
        assert!(listed_for(&s, other, &[], &v(&["self"])));
        assert!(listed_for(&s, owner, &[], &v(&[other])));
        assert!(!listed_for(&s, owner, &[], &v(&[third])));
        s.create_volume_permission.public = true;
        assert!(listed_for(&s, third, &[], &[]));
        assert!(listed_for(&s, owner, &[], &v(&[third])));
    }

    #[test]
    fn progress_grows_on_the_clock_until_completed() {
        let s = snap(30_000);
        assert_eq!(s.view(UnixMillis(1000)), (SnapshotState::Pending, 0));
        assert_eq!(s.view(UnixMillis(16_000)), (SnapshotState::Pending, 50));
        assert_eq!(s.view(UnixMillis(30_999)), (SnapshotState::Pending, 99));
        assert_eq!(s.view(UnixMillis(31_000)), (SnapshotState::Completed, 100));
        assert_eq!(snap(0).view(UnixMillis(1000)), (SnapshotState::Completed, 100));
    }

    #[test]
    fn permissions_add_and_remove_all_or_nothing() {
        let mut p = Permissions::default();
        let add = |groups: &[&str], users: &[&str]| PermissionChange {
            add: true,
            groups: groups.iter().map(|s| s.to_string()).collect(),
            users: users.iter().map(|s| s.to_string()).collect(),
        };
        p.apply(&[add(&["all"], &["444455556666"])], false).unwrap();
        assert!(p.public && p.allows("111122223333", "999999999999"));
        assert_eq!(p.apply(&[add(&[], &["444455556666", "bad"])], false), Err(PermissionError::BadUser("bad".into())));
        assert_eq!(p.users.len(), 1);
        p.apply(
            &[PermissionChange { add: false, groups: vec!["all".into()], users: vec!["444455556666".into()] }],
            false,
        )
        .unwrap();
        assert!(!p.allows("111122223333", "444455556666") && p.allows("111122223333", "111122223333"));
        assert_eq!(p.apply(&[add(&["all"], &[])], true), Err(PermissionError::EncryptedPublic));
        assert_eq!(p.apply(&[add(&["everyone"], &[])], false), Err(PermissionError::BadGroup("everyone".into())));
    }

    #[test]
    fn descriptions_are_limited() {
        assert!(check_description(&"x".repeat(255)).is_ok());
        assert_eq!(check_description(&"x".repeat(256)), Err(SnapshotError::DescriptionTooLong));
    }
}
