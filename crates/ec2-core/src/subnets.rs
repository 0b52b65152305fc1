//! Subnets: the record, the rules of their blocks (inside one of the VPC's blocks, /16 to /28, no
//! overlap with another subnet of the VPC), and their private addresses: AWS keeps five of every
//! subnet, each other address is held by at most one holder, and the free count falls as they are
//! handed out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cidr::{format_ip, parse_ip, Ipv4Net};
use crate::network::NetError;
use crate::vpcs::{parse_cidr, Vpc};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub owner_id: String,
    pub cidr: String,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub default_for_az: bool,
    pub map_public_ip_on_launch: bool,
    pub assign_ipv6_address_on_creation: bool,
    pub map_customer_owned_ip_on_launch: bool,
    pub enable_dns64: bool,
    pub enable_lni_at_device_index: Option<i64>,
    /// `ip-name` or `resource-name`.
    pub hostname_type: String,
    pub enable_resource_name_dns_a_record: bool,
    pub enable_resource_name_dns_aaaa_record: bool,
    /// Private addresses in use, each with what holds it (an interface or instance ID).
    #[serde(default)]
    pub used: BTreeMap<String, String>,
}

impl Subnet {
    pub fn net(&self) -> Option<Ipv4Net> {
        Ipv4Net::parse(&self.cidr).ok()
    }

    /// Free addresses: the usable ones minus those held.
    pub fn available(&self) -> u64 {
        let usable = self.net().map_or(0, |n| n.usable());
        usable.saturating_sub(self.used.len() as u64)
    }

    pub fn contains(&self, ip: &str) -> bool {
        match (self.net(), parse_ip(ip)) {
            (Some(n), Some(ip)) => n.contains_ip(ip),
            _ => false,
        }
    }

    /// Holds `ip` for `holder`: it must be inside the subnet, not one of AWS's five, and free.
    pub fn reserve(&mut self, ip: &str, holder: &str) -> Result<(), NetError> {
        let net = self.net().ok_or_else(|| NetError::AddressOutsideSubnet { ip: ip.to_string() })?;
        let addr = parse_ip(ip).filter(|a| net.contains_ip(*a));
        let Some(addr) = addr else {
            return Err(NetError::AddressOutsideSubnet { ip: ip.to_string() });
        };
        if net.is_reserved(addr) {
            return Err(NetError::AddressReserved { ip: ip.to_string() });
        }
        let canonical = format_ip(addr);
        if self.used.contains_key(&canonical) {
            return Err(NetError::AddressInUse { ip: canonical });
        }
        self.used.insert(canonical, holder.to_string());
        Ok(())
    }

    /// The free addresses in ascending order as of now: one pass over the held ones, then each
    /// next free address in amortized constant time, so a launch of many instances hands out its
    /// addresses in time linear in the subnet's size rather than quadratic.
    pub fn free_hosts(&self) -> FreeHosts {
        let mut used: Vec<u32> = self.used.keys().filter_map(|ip| parse_ip(ip)).collect();
        used.sort_unstable();
        let (next, end) = self.net().map_or((1, 0), |n| (u64::from(n.base) + 4, u64::from(n.last())));
        FreeHosts { used, at: 0, next, end }
    }

    /// Holds the lowest free address for `holder`.
    pub fn allocate(&mut self, holder: &str) -> Result<String, NetError> {
        let mut free = self.free_hosts();
        self.allocate_from(&mut free, holder)
    }

    /// Holds the next address of `free` (made by [`Subnet::free_hosts`] of this subnet, which
    /// only this call has changed since) for `holder`.
    pub fn allocate_from(&mut self, free: &mut FreeHosts, holder: &str) -> Result<String, NetError> {
        loop {
            let ip = free.next().map(format_ip).ok_or_else(|| NetError::SubnetFull { subnet: self.id.clone() })?;
            // An address held since `free` was made (a fixed address) is skipped.
            if !self.used.contains_key(&ip) {
                self.used.insert(ip.clone(), holder.to_string());
                return Ok(ip);
            }
        }
    }

    /// Gives `ip` back.
    pub fn release(&mut self, ip: &str) {
        self.used.remove(ip);
    }
}

/// A subnet's free addresses in ascending order ([`Subnet::free_hosts`]).
#[derive(Debug, Clone)]
pub struct FreeHosts {
    /// The held addresses, sorted.
    used: Vec<u32>,
    /// The first of `used` not below `next`.
    at: usize,
    next: u64,
    /// The broadcast address (not handed out).
    end: u64,
}

impl Iterator for FreeHosts {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.next < self.end {
            let candidate = self.next as u32;
            while self.used.get(self.at).is_some_and(|u| *u < candidate) {
                self.at += 1;
            }
            self.next += 1;
            if self.used.get(self.at) != Some(&candidate) {
                return Some(candidate);
            }
        }
        None
    }
}

/// A new subnet's block: well formed, /16 to /28, inside one of the VPC's blocks, and overlapping
/// none of `siblings` (the blocks of the VPC's other subnets).
pub fn check_subnet_cidr(vpc: &Vpc, cidr: &str, siblings: &[String]) -> Result<Ipv4Net, NetError> {
    let net = parse_cidr(cidr, "cidrBlock")?;
    if !(16..=28).contains(&net.len) || !vpc.nets().iter().any(|v| v.contains(&net)) {
        return Err(NetError::SubnetRange { cidr: cidr.to_string() });
    }
    if siblings.iter().filter_map(|s| Ipv4Net::parse(s).ok()).any(|s| s.overlaps(&net)) {
        return Err(NetError::SubnetConflict { cidr: cidr.to_string() });
    }
    Ok(net)
}

/// The block of the default subnet of a VPC's `index`-th zone: the `index`-th /20 of the VPC's
/// primary block that overlaps none of `siblings`.
pub fn default_subnet_cidr(vpc: &Vpc, siblings: &[String]) -> Option<String> {
    let primary = Ipv4Net::parse(vpc.primary_cidr()).ok()?;
    let len = primary.len.max(20);
    let step = 1u64 << (32 - u32::from(len));
    let taken: Vec<Ipv4Net> = siblings.iter().filter_map(|s| Ipv4Net::parse(s).ok()).collect();
    (0..primary.size() / step)
        .map(|i| Ipv4Net { base: primary.base + (i * step) as u32, len })
        .find(|n| !taken.iter().any(|t| t.overlaps(n)))
        .map(|n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vpcs::CidrBlock;

    fn vpc() -> Vpc {
        Vpc {
            id: "vpc-1".into(),
            owner_id: "0".into(),
            cidr_blocks: vec![CidrBlock {
                association_id: "a".into(),
                cidr: "10.0.0.0/16".into(),
                state: "associated".into(),
            }],
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

    fn subnet(cidr: &str) -> Subnet {
        Subnet {
            id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            owner_id: "0".into(),
            cidr: cidr.into(),
            availability_zone: "us-east-1a".into(),
            availability_zone_id: "use1-az1".into(),
            default_for_az: false,
            map_public_ip_on_launch: false,
            assign_ipv6_address_on_creation: false,
            map_customer_owned_ip_on_launch: false,
            enable_dns64: false,
            enable_lni_at_device_index: None,
            hostname_type: "ip-name".into(),
            enable_resource_name_dns_a_record: false,
            enable_resource_name_dns_aaaa_record: false,
            used: BTreeMap::new(),
        }
    }

    #[test]
    fn subnet_blocks_fit_the_vpc_and_each_other() {
        let v = vpc();
        assert!(check_subnet_cidr(&v, "10.0.1.0/24", &[]).is_ok());
        assert_eq!(
            check_subnet_cidr(&v, "10.1.0.0/24", &[]),
            Err(NetError::SubnetRange { cidr: "10.1.0.0/24".into() })
        );
        assert!(matches!(check_subnet_cidr(&v, "10.0.0.0/29", &[]), Err(NetError::SubnetRange { .. })));
        assert!(matches!(check_subnet_cidr(&v, "10.0.0.0/15", &[]), Err(NetError::SubnetRange { .. })));
        assert_eq!(
            check_subnet_cidr(&v, "10.0.1.128/25", &["10.0.1.0/24".into()]),
            Err(NetError::SubnetConflict { cidr: "10.0.1.128/25".into() })
        );
        assert!(matches!(check_subnet_cidr(&v, "10.0.1.1/24", &[]), Err(NetError::InvalidCidr { .. })));
    }

    #[test]
    fn addresses_are_handed_out_once_and_the_count_falls() {
        let mut s = subnet("10.0.1.0/28");
        assert_eq!(s.available(), 11);
        assert_eq!(s.allocate("eni-1").unwrap(), "10.0.1.4");
        s.reserve("10.0.1.5", "eni-x").unwrap();
        assert_eq!(s.allocate("eni-2").unwrap(), "10.0.1.6");
        assert_eq!(s.available(), 8);
        s.release("10.0.1.5");
        assert_eq!(s.reserve("10.0.1.4", "eni-3"), Err(NetError::AddressInUse { ip: "10.0.1.4".into() }));
        assert_eq!(s.reserve("10.0.1.3", "eni-3"), Err(NetError::AddressReserved { ip: "10.0.1.3".into() }));
        assert_eq!(s.reserve("10.0.1.15", "eni-3"), Err(NetError::AddressReserved { ip: "10.0.1.15".into() }));
        assert_eq!(s.reserve("10.0.2.4", "eni-3"), Err(NetError::AddressOutsideSubnet { ip: "10.0.2.4".into() }));
        s.reserve("10.0.1.14", "eni-3").unwrap();
        s.release("10.0.1.4");
        assert_eq!(s.available(), 9);
        for n in 0..9 {
            s.allocate(&format!("x{n}")).unwrap();
        }
        assert_eq!(s.allocate("y"), Err(NetError::SubnetFull { subnet: "subnet-1".into() }));
    }

    #[test]
    fn a_run_of_allocations_takes_the_free_addresses_in_order_and_skips_those_held_meanwhile() {
        let mut s = subnet("10.0.1.0/28");
        for ip in ["10.0.1.4", "10.0.1.6", "10.0.1.7", "10.0.1.12"] {
            s.reserve(ip, "held").unwrap();
        }
        let mut free = s.free_hosts();
        assert_eq!(s.allocate_from(&mut free, "a").unwrap(), "10.0.1.5");
        // Held after the run began (a fixed address): skipped.
        s.reserve("10.0.1.8", "fixed").unwrap();
        let got: Vec<String> = (0..4).map(|_| s.allocate_from(&mut free, "b").unwrap()).collect();
        assert_eq!(got, ["10.0.1.9", "10.0.1.10", "10.0.1.11", "10.0.1.13"]);
        assert_eq!(s.allocate_from(&mut free, "c").unwrap(), "10.0.1.14");
        assert_eq!(s.allocate_from(&mut free, "d"), Err(NetError::SubnetFull { subnet: "subnet-1".into() }));
        assert_eq!(s.available(), 0);
        // A released address is the lowest free one again.
        s.release("10.0.1.6");
        assert_eq!(s.free_hosts().collect::<Vec<_>>(), [parse_ip("10.0.1.6").unwrap()]);
    }

    #[test]
    fn default_subnets_take_the_next_free_20() {
        let mut v = vpc();
        v.cidr_blocks[0].cidr = "172.31.0.0/16".into();
        assert_eq!(default_subnet_cidr(&v, &[]).as_deref(), Some("172.31.0.0/20"));
        assert_eq!(default_subnet_cidr(&v, &["172.31.0.0/20".into()]).as_deref(), Some("172.31.16.0/20"));
    }
}
