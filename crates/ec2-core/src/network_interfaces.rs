//! Network interfaces: the record, its private addresses (one primary, secondaries assigned and
//! unassigned), its attachment to an instance (device index 0 is the instance's primary interface,
//! which stays until the instance is gone), and what deletion needs.

use serde::{Deserialize, Serialize};

use crate::{Shared, SharedText, Text};

crate::impl_dedup!(Vec<Text>);

use crate::UnixMillis;

/// Private addresses per interface (the limit of common instance types).
pub const MAX_PRIVATE_IPS: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// `eni-attach-...`.
    pub id: Text,
    pub instance_id: Text,
    pub device_index: i64,
    pub delete_on_termination: bool,
    pub attach_time: UnixMillis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: Text,
    pub subnet_id: SharedText,
    pub vpc_id: SharedText,
    pub availability_zone: SharedText,
    pub owner_id: SharedText,
    pub description: SharedText,
    pub mac_address: Text,
    /// The primary address first.
    pub private_ips: Vec<Text>,
    /// The same for every interface of a launch: kept once ([`Shared`]).
    pub group_ids: Shared<Vec<Text>>,
    pub source_dest_check: bool,
    /// `interface` (ec2d makes no other type).
    pub interface_type: SharedText,
    pub attachment: Option<Attachment>,
}

/// The interfaces attached to an instance besides its primary one (device index 0, named by the
/// instance itself), by device index: kept by attach and detach, so what an instance holds is
/// found by its ID and never by a scan of the interfaces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInterfaces {
    pub instance_id: Text,
    pub by_device: std::collections::BTreeMap<i64, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EniError {
    /// Deleting or attaching an interface that is attached.
    InUse {
        id: String,
    },
    /// Detaching an interface that is not attached (or by another attachment ID).
    NotAttached {
        attachment_id: String,
    },
    /// The primary interface (device index 0) cannot be detached.
    PrimaryInterface {
        id: String,
    },
    /// Unassigning the primary address.
    PrimaryAddress {
        ip: String,
    },
    /// Unassigning an address the interface does not have.
    NotAssigned {
        ip: String,
        id: String,
    },
    TooManyAddresses {
        id: String,
    },
}

impl NetworkInterface {
    pub fn primary_ip(&self) -> &str {
        self.private_ips.first().map_or("", Text::as_str)
    }

    /// `in-use` while attached, `available` otherwise.
    pub fn status(&self) -> &'static str {
        if self.attachment.is_some() {
            "in-use"
        } else {
            "available"
        }
    }
}

pub fn check_delete(eni: &NetworkInterface) -> Result<(), EniError> {
    match eni.attachment {
        Some(_) => Err(EniError::InUse { id: eni.id.to_string() }),
        None => Ok(()),
    }
}

pub fn attach(eni: &mut NetworkInterface, attachment: Attachment) -> Result<(), EniError> {
    if eni.attachment.is_some() {
        return Err(EniError::InUse { id: eni.id.to_string() });
    }
    eni.attachment = Some(attachment);
    Ok(())
}

/// Detaches by attachment ID; the primary interface stays (`force` does not change that).
pub fn detach(eni: &mut NetworkInterface, attachment_id: &str) -> Result<Attachment, EniError> {
    match &eni.attachment {
        Some(a) if a.id == attachment_id => {
            if a.device_index == 0 {
                return Err(EniError::PrimaryInterface { id: eni.id.to_string() });
            }
            Ok(eni.attachment.take().expect("checked above"))
        }
        _ => Err(EniError::NotAttached { attachment_id: attachment_id.to_string() }),
    }
}

/// Adds secondary addresses (already reserved in the subnet by the caller).
pub fn assign(eni: &mut NetworkInterface, ips: &[String]) -> Result<(), EniError> {
    if eni.private_ips.len() + ips.len() > MAX_PRIVATE_IPS {
        return Err(EniError::TooManyAddresses { id: eni.id.to_string() });
    }
    eni.private_ips.extend(ips.iter().map(|ip| Text::from(ip.as_str())));
    Ok(())
}

/// Removes secondary addresses; every one must be a secondary address of the interface.
pub fn unassign(eni: &mut NetworkInterface, ips: &[String]) -> Result<(), EniError> {
    for ip in ips {
        if eni.primary_ip() == ip {
            return Err(EniError::PrimaryAddress { ip: ip.clone() });
        }
        if !eni.private_ips.iter().any(|p| p == ip) {
            return Err(EniError::NotAssigned { ip: ip.clone(), id: eni.id.to_string() });
        }
    }
    eni.private_ips.retain(|p| !ips.iter().any(|ip| p == ip));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eni() -> NetworkInterface {
        NetworkInterface {
            id: "eni-1".into(),
            subnet_id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "us-east-1a".into(),
            owner_id: "0".into(),
            description: String::new().into(),
            mac_address: "0e:00:00:00:00:01".into(),
            private_ips: vec!["10.0.0.4".into()],
            group_ids: vec!["sg-1".into()].into(),
            source_dest_check: true,
            interface_type: "interface".into(),
            attachment: None,
        }
    }

    fn att(index: i64) -> Attachment {
        Attachment {
            id: "eni-attach-1".into(),
            instance_id: "i-1".into(),
            device_index: index,
            delete_on_termination: false,
            attach_time: UnixMillis(0),
        }
    }

    #[test]
    fn attachments() {
        let mut e = eni();
        assert_eq!(e.status(), "available");
        attach(&mut e, att(1)).unwrap();
        assert_eq!(e.status(), "in-use");
        assert_eq!(attach(&mut e, att(2)), Err(EniError::InUse { id: "eni-1".into() }));
        assert_eq!(check_delete(&e), Err(EniError::InUse { id: "eni-1".into() }));
        assert!(matches!(detach(&mut e, "other"), Err(EniError::NotAttached { .. })));
        detach(&mut e, "eni-attach-1").unwrap();
        assert!(check_delete(&e).is_ok());
        attach(&mut e, att(0)).unwrap();
        assert_eq!(detach(&mut e, "eni-attach-1"), Err(EniError::PrimaryInterface { id: "eni-1".into() }));
    }

    #[test]
    fn secondary_addresses() {
        let mut e = eni();
        assign(&mut e, &["10.0.0.5".into(), "10.0.0.6".into()]).unwrap();
        assert_eq!(unassign(&mut e, &["10.0.0.4".into()]), Err(EniError::PrimaryAddress { ip: "10.0.0.4".into() }));
        assert!(matches!(unassign(&mut e, &["10.0.0.9".into()]), Err(EniError::NotAssigned { .. })));
        unassign(&mut e, &["10.0.0.5".into()]).unwrap();
        assert_eq!(e.private_ips, ["10.0.0.4", "10.0.0.6"]);
        let many: Vec<String> = (0..29).map(|i| format!("10.0.1.{i}")).collect();
        assert!(matches!(assign(&mut e, &many), Err(EniError::TooManyAddresses { .. })));
    }
}
