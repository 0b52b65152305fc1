//! Elastic IP addresses: the record, association (an address moves to a new target only when the
//! caller allows reassociation) and release (refused while associated).

use serde::{Deserialize, Serialize};

use crate::network::NetError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressAssociation {
    pub association_id: String,
    pub instance_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub private_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// `eipalloc-...`.
    pub allocation_id: String,
    pub public_ip: String,
    pub owner_id: String,
    pub network_border_group: String,
    pub association: Option<AddressAssociation>,
}

/// What an association targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub instance_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub private_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssociateError {
    /// The address is associated elsewhere and reassociation was not allowed.
    AlreadyAssociated { allocation_id: String, association_id: String },
}

/// Associates the address with `target` (replacing an earlier association when `allow_reassociation`
/// or when it is the same target). Returns the association that was replaced, if any.
pub fn associate(
    addr: &mut Address,
    target: Target,
    association_id: String,
    allow_reassociation: bool,
) -> Result<Option<AddressAssociation>, AssociateError> {
    if let Some(old) = &addr.association {
        let same = old.instance_id.is_some() && old.instance_id == target.instance_id
            || old.network_interface_id.is_some() && old.network_interface_id == target.network_interface_id;
        if !same && !allow_reassociation {
            return Err(AssociateError::AlreadyAssociated {
                allocation_id: addr.allocation_id.clone(),
                association_id: old.association_id.clone(),
            });
        }
    }
    let replaced = addr.association.take();
    addr.association = Some(AddressAssociation {
        association_id,
        instance_id: target.instance_id,
        network_interface_id: target.network_interface_id,
        private_ip: target.private_ip,
    });
    Ok(replaced)
}

/// Ends the association with this ID.
pub fn disassociate(addr: &mut Address, association_id: &str) -> Result<AddressAssociation, NetError> {
    match &addr.association {
        Some(a) if a.association_id == association_id => Ok(addr.association.take().expect("checked above")),
        _ => Err(NetError::AssociationNotFound { association_id: association_id.to_string() }),
    }
}

/// An address can be released only when it is not associated.
pub fn check_release(addr: &Address) -> Result<(), NetError> {
    match addr.association {
        Some(_) => Err(NetError::AddressAssociated { allocation_id: addr.allocation_id.clone() }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> Address {
        Address {
            allocation_id: "eipalloc-1".into(),
            public_ip: "3.0.0.1".into(),
            owner_id: "0".into(),
            network_border_group: "us-east-1".into(),
            association: None,
        }
    }

    fn to(i: &str) -> Target {
        Target { instance_id: Some(i.into()), network_interface_id: Some(format!("eni-{i}")), private_ip: None }
    }

    #[test]
    fn an_address_moves_only_when_allowed() {
        let mut a = addr();
        assert_eq!(associate(&mut a, to("i-1"), "as-1".into(), false), Ok(None));
        assert!(check_release(&a).is_err());
        assert_eq!(
            associate(&mut a, to("i-2"), "as-2".into(), false),
            Err(AssociateError::AlreadyAssociated {
                allocation_id: "eipalloc-1".into(),
                association_id: "as-1".into()
            })
        );
        // The same target again is fine.
        assert!(associate(&mut a, to("i-1"), "as-3".into(), false).is_ok());
        let old = associate(&mut a, to("i-2"), "as-4".into(), true).unwrap().unwrap();
        assert_eq!(old.instance_id.as_deref(), Some("i-1"));
        assert!(disassociate(&mut a, "as-3").is_err());
        disassociate(&mut a, "as-4").unwrap();
        assert!(check_release(&a).is_ok());
    }
}
