//! VPCs: the record, its IPv4 blocks and their rules (/16 to /28, at most five, no overlap, the
//! primary one never disassociated), and what must be gone before a VPC can be deleted.

use serde::{Deserialize, Serialize};

use crate::cidr::{CidrError, Ipv4Net};
use crate::network::NetError;

/// At most this many IPv4 blocks per VPC (AWS's default quota).
pub const MAX_CIDR_BLOCKS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CidrBlock {
    pub association_id: String,
    pub cidr: String,
    /// `associated` (disassociated blocks are dropped from the record).
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub owner_id: String,
    /// The primary block first.
    pub cidr_blocks: Vec<CidrBlock>,
    pub is_default: bool,
    pub instance_tenancy: String,
    pub dhcp_options_id: String,
    pub enable_dns_support: bool,
    pub enable_dns_hostnames: bool,
    pub enable_network_address_usage_metrics: bool,
    pub main_route_table_id: String,
    pub default_security_group_id: String,
}

impl Vpc {
    pub fn primary_cidr(&self) -> &str {
        self.cidr_blocks.first().map_or("", |b| b.cidr.as_str())
    }

    pub fn nets(&self) -> Vec<Ipv4Net> {
        self.cidr_blocks.iter().filter_map(|b| Ipv4Net::parse(&b.cidr).ok()).collect()
    }
}

/// A block in AWS's strict form; `param` names the request parameter in the error.
pub fn parse_cidr(cidr: &str, param: &'static str) -> Result<Ipv4Net, NetError> {
    Ipv4Net::parse(cidr).map_err(|_: CidrError| NetError::InvalidCidr { cidr: cidr.to_string(), param })
}

/// A VPC block: well formed, and from /16 to /28.
pub fn check_vpc_cidr(cidr: &str) -> Result<Ipv4Net, NetError> {
    let net = parse_cidr(cidr, "cidrBlock")?;
    if !(16..=28).contains(&net.len) {
        return Err(NetError::VpcRange { cidr: cidr.to_string() });
    }
    Ok(net)
}

/// Adds a secondary block to `vpc`.
pub fn associate_cidr(vpc: &mut Vpc, cidr: &str, association_id: String) -> Result<CidrBlock, NetError> {
    let net = check_vpc_cidr(cidr)?;
    if vpc.cidr_blocks.len() >= MAX_CIDR_BLOCKS {
        return Err(NetError::CidrLimit { vpc: vpc.id.clone() });
    }
    if vpc.nets().iter().any(|n| n.overlaps(&net)) {
        return Err(NetError::CidrConflict { cidr: cidr.to_string(), vpc: vpc.id.clone() });
    }
    let block = CidrBlock { association_id, cidr: net.to_string(), state: "associated".into() };
    vpc.cidr_blocks.push(block.clone());
    Ok(block)
}

/// Removes a secondary block, which must hold no subnet (`subnet_cidrs`: the VPC's subnets).
pub fn disassociate_cidr(vpc: &mut Vpc, association_id: &str, subnet_cidrs: &[String]) -> Result<CidrBlock, NetError> {
    let pos = vpc
        .cidr_blocks
        .iter()
        .position(|b| b.association_id == association_id)
        .ok_or_else(|| NetError::CidrAssociationNotFound { association_id: association_id.to_string() })?;
    if pos == 0 {
        return Err(NetError::PrimaryCidr { association_id: association_id.to_string(), vpc: vpc.id.clone() });
    }
    let block = Ipv4Net::parse(&vpc.cidr_blocks[pos].cidr).ok();
    let used =
        subnet_cidrs.iter().filter_map(|c| Ipv4Net::parse(c).ok()).any(|s| block.is_some_and(|b| b.contains(&s)));
    if used {
        return Err(NetError::CidrInUse { association_id: association_id.to_string() });
    }
    let mut removed = vpc.cidr_blocks.remove(pos);
    removed.state = "disassociated".into();
    Ok(removed)
}

/// What still lives in a VPC, as the service counts it before a deletion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpcDependents {
    pub subnets: usize,
    pub attached_gateways: usize,
    /// Security groups other than the VPC's default group.
    pub extra_security_groups: usize,
    /// Route tables other than the main one.
    pub extra_route_tables: usize,
    pub network_interfaces: usize,
}

/// A VPC can be deleted once only its default group and main route table remain.
pub fn check_delete(vpc: &Vpc, deps: &VpcDependents) -> Result<(), NetError> {
    if *deps == VpcDependents::default() {
        Ok(())
    } else {
        Err(NetError::Dependency { kind: "vpc", id: vpc.id.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vpc(cidr: &str) -> Vpc {
        Vpc {
            id: "vpc-1".into(),
            owner_id: "0".into(),
            cidr_blocks: vec![CidrBlock { association_id: "a0".into(), cidr: cidr.into(), state: "associated".into() }],
            is_default: false,
            instance_tenancy: "default".into(),
            dhcp_options_id: "dopt-1".into(),
            enable_dns_support: true,
            enable_dns_hostnames: false,
            enable_network_address_usage_metrics: false,
            main_route_table_id: "rtb-1".into(),
            default_security_group_id: "sg-1".into(),
        }
    }

    #[test]
    fn vpc_blocks_are_16_to_28() {
        assert!(check_vpc_cidr("10.0.0.0/16").is_ok());
        assert!(check_vpc_cidr("10.0.0.0/28").is_ok());
        assert_eq!(check_vpc_cidr("10.0.0.0/15"), Err(NetError::VpcRange { cidr: "10.0.0.0/15".into() }));
        assert_eq!(check_vpc_cidr("10.0.0.0/29"), Err(NetError::VpcRange { cidr: "10.0.0.0/29".into() }));
        assert!(matches!(check_vpc_cidr("10.0.0.1/16"), Err(NetError::InvalidCidr { .. })));
        assert!(matches!(check_vpc_cidr("nonsense"), Err(NetError::InvalidCidr { .. })));
    }

    #[test]
    fn secondary_blocks_do_not_overlap_and_are_limited() {
        let mut v = vpc("10.0.0.0/16");
        assert!(matches!(associate_cidr(&mut v, "10.0.128.0/17", "a1".into()), Err(NetError::CidrConflict { .. })));
        associate_cidr(&mut v, "10.1.0.0/16", "a1".into()).unwrap();
        for (i, c) in ["10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16"].iter().enumerate() {
            associate_cidr(&mut v, c, format!("b{i}")).unwrap();
        }
        assert_eq!(associate_cidr(&mut v, "10.5.0.0/16", "x".into()), Err(NetError::CidrLimit { vpc: "vpc-1".into() }));
        assert_eq!(v.cidr_blocks.len(), 5);
    }

    #[test]
    fn the_primary_block_and_used_blocks_stay() {
        let mut v = vpc("10.0.0.0/16");
        associate_cidr(&mut v, "10.1.0.0/16", "a1".into()).unwrap();
        assert!(matches!(disassociate_cidr(&mut v, "a0", &[]), Err(NetError::PrimaryCidr { .. })));
        assert!(matches!(disassociate_cidr(&mut v, "a1", &["10.1.3.0/24".into()]), Err(NetError::CidrInUse { .. })));
        assert!(matches!(disassociate_cidr(&mut v, "zz", &[]), Err(NetError::CidrAssociationNotFound { .. })));
        assert_eq!(disassociate_cidr(&mut v, "a1", &["10.0.3.0/24".into()]).unwrap().state, "disassociated");
        assert_eq!(v.cidr_blocks.len(), 1);
    }

    #[test]
    fn deletion_needs_an_empty_vpc() {
        let v = vpc("10.0.0.0/16");
        assert!(check_delete(&v, &VpcDependents::default()).is_ok());
        let deps = VpcDependents { subnets: 1, ..Default::default() };
        assert_eq!(check_delete(&v, &deps), Err(NetError::Dependency { kind: "vpc", id: "vpc-1".into() }));
    }
}
