//! The default network every account has in every region: one default VPC (172.31.0.0/16), one
//! default subnet per availability zone (a /20 each, in zone order), the VPC's `default` security
//! group, its main route table and its internet gateway. Their IDs are derived from the scope, so
//! the records the service writes the first time a scope is touched (`service::vpcs`) are the same
//! on every node and after every restart. Also: the refusals of the network families' rules
//! ([`NetError`]) and the DNS names and public addresses of instances.

use crate::ids::{IdGen, IdKind};
use crate::regions::{self, Zone};
use crate::Scope;

/// The counter-space offset of derived IDs, far above anything a store counter reaches.
const DERIVED: u64 = 1 << 62;

fn scope_hash(scope: &Scope, salt: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in scope.account.bytes().chain([0]).chain(scope.region.bytes()).chain([0]).chain(salt.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    DERIVED | (h >> 2)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultSubnet {
    pub id: String,
    pub zone: &'static Zone,
    /// 0-based position of the zone in the region: the subnet is 172.31.(16*index).0/20.
    pub index: u32,
}

impl DefaultSubnet {
    pub fn cidr(&self) -> String {
        format!("172.31.{}.0/20", self.index * 16)
    }

    /// Usable addresses: AWS reserves the first four and the last one of every subnet.
    pub const USABLE: u64 = 4096 - 5;

    /// The `n`-th usable address of the subnet (wrapping around).
    pub fn address(&self, n: u64) -> String {
        let offset = 4 + (n % Self::USABLE) as u32;
        let third = self.index * 16 + offset / 256;
        format!("172.31.{third}.{}", offset % 256)
    }

    pub fn contains(&self, ip: &str) -> bool {
        let parts: Vec<u32> = ip.split('.').filter_map(|p| p.parse().ok()).collect();
        parts.len() == 4
            && parts[0] == 172
            && parts[1] == 31
            && (self.index * 16..self.index * 16 + 16).contains(&parts[2])
            && parts[3] < 256
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultNetwork {
    pub vpc_id: String,
    pub security_group_id: String,
    pub subnets: Vec<DefaultSubnet>,
    pub cidr_association_id: String,
    pub dhcp_options_id: String,
    pub route_table_id: String,
    pub main_association_id: String,
    pub internet_gateway_id: String,
    /// The default group's rules: all traffic out, all traffic in from the group.
    pub security_group_rule_ids: [String; 2],
}

pub const VPC_CIDR: &str = "172.31.0.0/16";
pub const DEFAULT_GROUP_NAME: &str = "default";

impl DefaultNetwork {
    /// The scope's default network; no subnets in a region ec2d has no catalogue entry for.
    pub fn of(scope: &Scope, ids: IdGen) -> DefaultNetwork {
        let zones = regions::region(&scope.region).map(|r| r.zones).unwrap_or_default();
        DefaultNetwork {
            vpc_id: ids.id(IdKind::Vpc, scope_hash(scope, "vpc")),
            security_group_id: ids.id(IdKind::SecurityGroup, scope_hash(scope, "sg")),
            subnets: zones
                .iter()
                .enumerate()
                .map(|(i, zone)| DefaultSubnet {
                    id: ids.id(IdKind::Subnet, scope_hash(scope, zone.name)),
                    zone,
                    index: i as u32,
                })
                .collect(),
            cidr_association_id: ids.id(IdKind::VpcCidrAssociation, scope_hash(scope, "vpc-cidr-assoc")),
            dhcp_options_id: ids.id(IdKind::DhcpOptions, scope_hash(scope, "dopt")),
            route_table_id: ids.id(IdKind::RouteTable, scope_hash(scope, "rtb")),
            main_association_id: ids.id(IdKind::RouteTableAssociation, scope_hash(scope, "rtbassoc")),
            internet_gateway_id: ids.id(IdKind::InternetGateway, scope_hash(scope, "igw")),
            security_group_rule_ids: [
                ids.id(IdKind::SecurityGroupRule, scope_hash(scope, "sgr-egress")),
                ids.id(IdKind::SecurityGroupRule, scope_hash(scope, "sgr-ingress")),
            ],
        }
    }

    pub fn subnet(&self, id: &str) -> Option<&DefaultSubnet> {
        self.subnets.iter().find(|s| s.id == id)
    }

    pub fn subnet_in_zone(&self, zone_name: &str) -> Option<&DefaultSubnet> {
        self.subnets.iter().find(|s| s.zone.name == zone_name)
    }

    /// The subnet this network was created with that a launch without a subnet goes to, when it still is
    /// the default subnet of its zone: the one of the zone named (`zone_name`, else `zone_id`), or of the
    /// region's first zone. A store can read it by key instead of searching the scope's subnets; when it is
    /// gone (deleted, or the default VPC was made again with new IDs), the search decides.
    pub fn launch_subnet(&self, zone_name: Option<&str>, zone_id: Option<&str>) -> Option<&DefaultSubnet> {
        match (zone_name, zone_id) {
            (Some(name), _) => self.subnet_in_zone(name),
            (None, Some(id)) => self.subnets.iter().find(|s| s.zone.id == id),
            (None, None) => self.subnets.first(),
        }
    }
}

/// A refusal of the network families' rules (VPCs, subnets, security groups, gateways, route
/// tables, interfaces, addresses). The service maps each to EC2's code and message
/// (`service/errors.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// Not a CIDR block, or host bits set; `param` is the request parameter's wire name.
    InvalidCidr {
        cidr: String,
        param: &'static str,
    },
    /// A VPC block outside /16../28.
    VpcRange {
        cidr: String,
    },
    /// A subnet block outside /16../28 or outside the VPC's blocks.
    SubnetRange {
        cidr: String,
    },
    /// A subnet block overlapping another subnet of the VPC.
    SubnetConflict {
        cidr: String,
    },
    /// A sixth IPv4 block for a VPC.
    CidrLimit {
        vpc: String,
    },
    /// A block that overlaps one the VPC already has.
    CidrConflict {
        cidr: String,
        vpc: String,
    },
    /// The association ID names no block of the VPC.
    CidrAssociationNotFound {
        association_id: String,
    },
    /// The primary block cannot be disassociated.
    PrimaryCidr {
        association_id: String,
        vpc: String,
    },
    /// A block that still holds subnets.
    CidrInUse {
        association_id: String,
    },
    /// The resource still has dependents (`kind` as AWS words it: `vpc`, `subnet`, ...).
    Dependency {
        kind: &'static str,
        id: String,
    },
    DefaultVpcExists,
    NoDefaultVpc,
    DefaultSubnetExists {
        zone: String,
    },
    /// A private address that is already used in its subnet.
    AddressInUse {
        ip: String,
    },
    AddressOutsideSubnet {
        ip: String,
    },
    /// An address AWS keeps for itself (the first four and the last of the subnet).
    AddressReserved {
        ip: String,
    },
    SubnetFull {
        subnet: String,
    },
    /// A protocol that is neither a name EC2 knows nor a number 0..=255.
    InvalidProtocol {
        protocol: String,
    },
    /// Ports out of range, or missing where the protocol needs them.
    InvalidPorts {
        message: String,
    },
    /// A rule the group already has (`rule` in AWS's words).
    DuplicatePermission {
        rule: String,
    },
    /// Revoking a rule the group does not have.
    PermissionNotFound,
    /// A security group rule ID of no rule of the group.
    RuleNotFound {
        id: String,
    },
    /// More than [`crate::security_groups::MAX_RULES`] rules in one direction.
    RuleLimit,
    DuplicateGroup {
        name: String,
        vpc: String,
    },
    /// `default`, or a name that looks like a group ID.
    ReservedGroupName {
        name: String,
    },
    CannotDeleteDefaultGroup {
        id: String,
    },
    /// An Elastic IP that is associated cannot be released.
    AddressAssociated {
        allocation_id: String,
    },
    /// An association that does not exist.
    AssociationNotFound {
        association_id: String,
    },
    /// The gateway is already attached (to this or another VPC).
    GatewayAttached {
        igw: String,
    },
    /// The VPC already has an internet gateway.
    VpcHasGateway {
        vpc: String,
    },
    /// The gateway is not attached to the VPC.
    GatewayNotAttached {
        igw: String,
        vpc: String,
    },
    /// A route whose destination the table already has.
    RouteExists {
        table: String,
        destination: String,
    },
    /// No route with this destination in the table.
    RouteNotFound {
        table: String,
        destination: String,
    },
    /// The local route cannot be replaced or deleted.
    LocalRoute {
        table: String,
        destination: String,
    },
    /// A subnet is already associated with a route table.
    SubnetAssociated {
        subnet: String,
    },
}

/// `ip-172-31-1-2.ec2.internal` in us-east-1, `ip-172-31-1-2.<region>.compute.internal` elsewhere.
pub fn private_dns_name(region: &str, ip: &str) -> String {
    let mut name = String::with_capacity(ip.len() + region.len() + 20);
    write_private_dns_name(&mut name, region, ip);
    name
}

/// [`private_dns_name`], appended to `out`.
pub fn write_private_dns_name(out: &mut String, region: &str, ip: &str) {
    dns_host(out, "ip-", ip);
    if region == "us-east-1" {
        out.push_str(".ec2.internal");
    } else {
        out.push('.');
        out.push_str(region);
        out.push_str(".compute.internal");
    }
}

/// `prefix` and `ip` with its dots as dashes: the runs between dots copied whole rather than
/// character by character (two names per instance in every DescribeInstances answer).
fn dns_host(out: &mut String, prefix: &str, ip: &str) {
    out.push_str(prefix);
    // An IPv4 address (at most 15 bytes) is mapped on the stack and copied in one piece.
    let mut host = [0u8; 15];
    if let Some(mapped) = host.get_mut(..ip.len()) {
        for (m, &b) in mapped.iter_mut().zip(ip.as_bytes()) {
            *m = if b == b'.' { b'-' } else { b };
        }
        // Only ASCII dots became ASCII dashes: still the UTF-8 of a `str`, so this always succeeds.
        if let Ok(mapped) = std::str::from_utf8(mapped) {
            out.push_str(mapped);
            return;
        }
    }
    let mut from = 0;
    for (at, b) in ip.bytes().enumerate() {
        if b == b'.' {
            // A dot is ASCII, so `from` and `at` are character boundaries.
            out.push_str(&ip[from..at]);
            out.push('-');
            from = at + 1;
        }
    }
    out.push_str(&ip[from..]);
}

/// `ec2-3-0-1-2.compute-1.amazonaws.com` in us-east-1, `ec2-3-0-1-2.<region>.compute.amazonaws.com`
/// elsewhere.
pub fn public_dns_name(region: &str, ip: &str) -> String {
    let mut name = String::with_capacity(ip.len() + region.len() + 30);
    write_public_dns_name(&mut name, region, ip);
    name
}

/// [`public_dns_name`], appended to `out`.
pub fn write_public_dns_name(out: &mut String, region: &str, ip: &str) {
    dns_host(out, "ec2-", ip);
    if region == "us-east-1" {
        out.push_str(".compute-1.amazonaws.com");
    } else {
        out.push('.');
        out.push_str(region);
        out.push_str(".compute.amazonaws.com");
    }
}

/// The `n`-th public IPv4 address handed out (from 3.0.0.0/8, skipping .0 and .255).
pub fn public_ip(n: u64) -> String {
    let host = n % (254 * 256 * 256);
    format!("3.{}.{}.{}", host / (254 * 256), (host / 254) % 256, 1 + host % 254)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_network_is_stable_per_scope() {
        let a = DefaultNetwork::of(&Scope::new("000000000000", "us-east-1"), IdGen::new(0));
        let b = DefaultNetwork::of(&Scope::new("000000000000", "us-east-1"), IdGen::new(0));
        let other = DefaultNetwork::of(&Scope::new("111111111111", "us-east-1"), IdGen::new(0));
        assert_eq!(a, b);
        assert_ne!(a.vpc_id, other.vpc_id);
        assert_eq!(a.subnets.len(), 6);
        assert!(IdKind::Vpc.is_well_formed(&a.vpc_id));
        assert!(IdKind::Subnet.is_well_formed(&a.subnets[0].id));
        assert!(IdKind::SecurityGroup.is_well_formed(&a.security_group_id));
        assert_eq!(a.subnets[1].cidr(), "172.31.16.0/20");
    }

    #[test]
    fn the_launch_subnet_follows_the_zone_asked_for() {
        let net = DefaultNetwork::of(&Scope::new("000000000000", "us-east-1"), IdGen::new(0));
        assert_eq!(net.launch_subnet(None, None).map(|s| s.index), Some(0));
        let b = net.launch_subnet(Some("us-east-1b"), None).expect("us-east-1b");
        assert_eq!((b.zone.name, b.index), ("us-east-1b", 1));
        let by_id = net.launch_subnet(None, Some(b.zone.id)).expect("by zone ID");
        assert_eq!(by_id.id, b.id);
        // The name wins over the ID, as in the request.
        assert_eq!(net.launch_subnet(Some("us-east-1c"), Some(b.zone.id)).map(|s| s.zone.name), Some("us-east-1c"));
        assert!(net.launch_subnet(Some("us-west-2a"), None).is_none());
        assert!(net.launch_subnet(None, Some("use1-az999")).is_none());
    }

    #[test]
    fn addresses_stay_inside_their_subnet() {
        let net = DefaultNetwork::of(&Scope::new("0", "eu-west-1"), IdGen::new(0));
        let s = &net.subnets[2];
        assert_eq!(s.address(0), "172.31.32.4");
        for n in [0, 1, 251, 252, 4090, 4091, 100_000] {
            assert!(s.contains(&s.address(n)), "{}", s.address(n));
        }
        assert!(!s.contains("172.31.48.4"));
    }

    #[test]
    fn dns_names() {
        assert_eq!(private_dns_name("us-east-1", "172.31.1.2"), "ip-172-31-1-2.ec2.internal");
        assert_eq!(private_dns_name("eu-west-1", "172.31.1.2"), "ip-172-31-1-2.eu-west-1.compute.internal");
        assert_eq!(public_dns_name("us-east-1", "3.0.0.1"), "ec2-3-0-0-1.compute-1.amazonaws.com");
        assert_eq!(public_ip(0), "3.0.0.1");
        assert_eq!(public_ip(254), "3.0.1.1");
        // Every dot becomes a dash, at either end and in a row too; nothing else changes.
        for ip in [
            "",
            ".",
            "..1.",
            "a.b",
            "10.0.0.1",
            "fe80::1",
            ".x..y.",
            "255.255.255.255",
            "255.255.255.2555",
            "2001:db8:0:0:0:0:2:1",
            "é.ü.1",
            "1.2.3.\u{1f600}",
        ] {
            let expected: String = ip.chars().map(|c| if c == '.' { '-' } else { c }).collect();
            assert_eq!(private_dns_name("us-east-1", ip), format!("ip-{expected}.ec2.internal"), "{ip}");
        }
        // The writers append the same names to what is already there.
        let mut out = String::from("x");
        write_public_dns_name(&mut out, "eu-west-1", "3.0.0.1");
        write_private_dns_name(&mut out, "us-east-1", "172.31.1.2");
        assert_eq!(out, "xec2-3-0-0-1.eu-west-1.compute.amazonaws.comip-172-31-1-2.ec2.internal");
    }
}
