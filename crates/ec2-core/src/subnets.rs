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
    /// Private addresses in use, each with what held it, as records written before `held` existed
    /// kept them; an address given back leaves it, and new holds go to `held`.
    #[serde(default)]
    pub used: BTreeMap<String, String>,
    /// Private addresses in use, as ascending runs of consecutive addresses: a launch's addresses
    /// are one run, so the record stays small however many addresses its instances hold (a map of
    /// every address was rewritten whole by every launch in the zone).
    #[serde(default, skip_serializing_if = "Held::is_empty")]
    pub held: Held,
}

impl Subnet {
    pub fn net(&self) -> Option<Ipv4Net> {
        Ipv4Net::parse(&self.cidr).ok()
    }

    /// How many addresses are held.
    pub fn in_use(&self) -> u64 {
        self.used.len() as u64 + self.held.len()
    }

    /// Free addresses: the usable ones minus those held.
    pub fn available(&self) -> u64 {
        let usable = self.net().map_or(0, |n| n.usable());
        usable.saturating_sub(self.in_use())
    }

    pub fn contains(&self, ip: &str) -> bool {
        match (self.net(), parse_ip(ip)) {
            (Some(n), Some(ip)) => n.contains_ip(ip),
            _ => false,
        }
    }

    fn is_held(&self, ip: u32) -> bool {
        self.held.contains(ip) || self.used.contains_key(&format_ip(ip))
    }

    /// Whether `ip` (inside the subnet, not one of AWS's five, and free) could be held now.
    pub fn check_free(&self, ip: &str) -> Result<u32, NetError> {
        let net = self.net().ok_or_else(|| NetError::AddressOutsideSubnet { ip: ip.to_string() })?;
        let addr = parse_ip(ip).filter(|a| net.contains_ip(*a));
        let Some(addr) = addr else {
            return Err(NetError::AddressOutsideSubnet { ip: ip.to_string() });
        };
        if net.is_reserved(addr) {
            return Err(NetError::AddressReserved { ip: ip.to_string() });
        }
        if self.is_held(addr) {
            return Err(NetError::AddressInUse { ip: format_ip(addr) });
        }
        Ok(addr)
    }

    /// Holds `ip`: it must be inside the subnet, not one of AWS's five, and free.
    pub fn reserve(&mut self, ip: &str) -> Result<(), NetError> {
        let addr = self.check_free(ip)?;
        self.held.insert(addr);
        Ok(())
    }

    /// The free addresses in ascending order as of now: one pass over the held runs, then each
    /// next free address in amortized constant time, so a launch of many instances hands out its
    /// addresses in time linear in the runs rather than in the addresses held.
    pub fn free_hosts(&self) -> FreeHosts {
        let mut runs: Vec<(u32, u32)> = self.held.runs.clone();
        runs.extend(self.used.keys().filter_map(|ip| parse_ip(ip)).map(|a| (a, a)));
        runs.sort_unstable();
        let (next, end) = self.net().map_or((1, 0), |n| (u64::from(n.base) + 4, u64::from(n.last())));
        FreeHosts { runs, at: 0, next, end }
    }

    /// Holds the lowest free address.
    pub fn allocate(&mut self) -> Result<String, NetError> {
        let mut free = self.free_hosts();
        self.allocate_from(&mut free)
    }

    /// Holds the next address of `free` (made by [`Subnet::free_hosts`] of this subnet, which
    /// only this call has changed since).
    pub fn allocate_from(&mut self, free: &mut FreeHosts) -> Result<String, NetError> {
        loop {
            let ip = free.next().ok_or_else(|| NetError::SubnetFull { subnet: self.id.clone() })?;
            // An address held since `free` was made (a fixed address) is skipped.
            if !self.is_held(ip) {
                self.held.insert(ip);
                return Ok(format_ip(ip));
            }
        }
    }

    /// Gives `ip` back.
    pub fn release(&mut self, ip: &str) {
        if self.used.remove(ip).is_none() {
            if let Some(addr) = parse_ip(ip) {
                self.held.remove(addr);
            }
        }
    }
}

/// Held addresses as ascending, disjoint, non-adjacent runs `(first, last)`, stored as strings
/// (`"10.0.1.4-10.0.1.9"`, or `"10.0.1.12"` for a run of one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    runs: Vec<(u32, u32)>,
}

impl Held {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// How many addresses the runs hold.
    pub fn len(&self) -> u64 {
        self.runs.iter().map(|(a, b)| u64::from(b - a) + 1).sum()
    }

    /// The index of the first run that ends at or after `ip`.
    fn find(&self, ip: u32) -> usize {
        self.runs.partition_point(|(_, last)| *last < ip)
    }

    pub fn contains(&self, ip: u32) -> bool {
        self.runs.get(self.find(ip)).is_some_and(|(first, _)| *first <= ip)
    }

    /// Adds `ip` (not held), joining the runs it touches.
    pub fn insert(&mut self, ip: u32) {
        let i = self.find(ip);
        let joins_before = i > 0 && self.runs[i - 1].1.checked_add(1) == Some(ip);
        let joins_after = self.runs.get(i).is_some_and(|(first, _)| ip.checked_add(1) == Some(*first));
        match (joins_before, joins_after) {
            (true, true) => {
                self.runs[i - 1].1 = self.runs[i].1;
                self.runs.remove(i);
            }
            (true, false) => self.runs[i - 1].1 = ip,
            (false, true) => self.runs[i].0 = ip,
            (false, false) => self.runs.insert(i, (ip, ip)),
        }
    }

    /// Removes `ip` if held, splitting its run.
    pub fn remove(&mut self, ip: u32) {
        let i = self.find(ip);
        let Some(&(first, last)) = self.runs.get(i).filter(|(first, _)| *first <= ip) else { return };
        match (first == ip, last == ip) {
            (true, true) => {
                self.runs.remove(i);
            }
            (true, false) => self.runs[i].0 = ip + 1,
            (false, true) => self.runs[i].1 = ip - 1,
            (false, false) => {
                self.runs[i].1 = ip - 1;
                self.runs.insert(i + 1, (ip + 1, last));
            }
        }
    }
}

impl Serialize for Held {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.runs.iter().map(|&(a, b)| {
            if a == b {
                format_ip(a)
            } else {
                format!("{}-{}", format_ip(a), format_ip(b))
            }
        }))
    }
}

impl<'de> Deserialize<'de> for Held {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        let mut runs = Vec::with_capacity(texts.len());
        for t in &texts {
            let (a, b) = t.split_once('-').unwrap_or((t, t));
            match (parse_ip(a), parse_ip(b)) {
                (Some(a), Some(b)) if a <= b => runs.push((a, b)),
                _ => return Err(serde::de::Error::custom(format!("bad address run {t:?}"))),
            }
        }
        runs.sort_unstable();
        if runs.windows(2).any(|w| w[0].1.saturating_add(1) >= w[1].0) {
            return Err(serde::de::Error::custom("address runs overlap or touch"));
        }
        Ok(Held { runs })
    }
}

/// A subnet's free addresses in ascending order ([`Subnet::free_hosts`]).
#[derive(Debug, Clone)]
pub struct FreeHosts {
    /// The held runs, sorted (a legacy address is a run of one; runs may touch).
    runs: Vec<(u32, u32)>,
    /// The first of `runs` that does not end below `next`.
    at: usize,
    next: u64,
    /// The broadcast address (not handed out).
    end: u64,
}

impl Iterator for FreeHosts {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.next < self.end {
            while self.runs.get(self.at).is_some_and(|(_, last)| u64::from(*last) < self.next) {
                self.at += 1;
            }
            match self.runs.get(self.at) {
                // Inside a held run: jump past it.
                Some(&(first, last)) if u64::from(first) <= self.next => self.next = u64::from(last) + 1,
                _ => {
                    let candidate = self.next as u32;
                    self.next += 1;
                    return Some(candidate);
                }
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
            held: Held::default(),
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
        assert_eq!(s.allocate().unwrap(), "10.0.1.4");
        s.reserve("10.0.1.5").unwrap();
        assert_eq!(s.allocate().unwrap(), "10.0.1.6");
        assert_eq!(s.available(), 8);
        s.release("10.0.1.5");
        assert_eq!(s.reserve("10.0.1.4"), Err(NetError::AddressInUse { ip: "10.0.1.4".into() }));
        assert_eq!(s.reserve("10.0.1.3"), Err(NetError::AddressReserved { ip: "10.0.1.3".into() }));
        assert_eq!(s.reserve("10.0.1.15"), Err(NetError::AddressReserved { ip: "10.0.1.15".into() }));
        assert_eq!(s.reserve("10.0.2.4"), Err(NetError::AddressOutsideSubnet { ip: "10.0.2.4".into() }));
        s.reserve("10.0.1.14").unwrap();
        s.release("10.0.1.4");
        assert_eq!(s.available(), 9);
        for _ in 0..9 {
            s.allocate().unwrap();
        }
        assert_eq!(s.allocate(), Err(NetError::SubnetFull { subnet: "subnet-1".into() }));
    }

    #[test]
    fn a_run_of_allocations_takes_the_free_addresses_in_order_and_skips_those_held_meanwhile() {
        let mut s = subnet("10.0.1.0/28");
        for ip in ["10.0.1.4", "10.0.1.6", "10.0.1.7", "10.0.1.12"] {
            s.reserve(ip).unwrap();
        }
        let mut free = s.free_hosts();
        assert_eq!(s.allocate_from(&mut free).unwrap(), "10.0.1.5");
        // Held after the run began (a fixed address): skipped.
        s.reserve("10.0.1.8").unwrap();
        let got: Vec<String> = (0..4).map(|_| s.allocate_from(&mut free).unwrap()).collect();
        assert_eq!(got, ["10.0.1.9", "10.0.1.10", "10.0.1.11", "10.0.1.13"]);
        assert_eq!(s.allocate_from(&mut free).unwrap(), "10.0.1.14");
        assert_eq!(s.allocate_from(&mut free), Err(NetError::SubnetFull { subnet: "subnet-1".into() }));
        assert_eq!(s.available(), 0);
        // A released address is the lowest free one again.
        s.release("10.0.1.6");
        assert_eq!(s.free_hosts().collect::<Vec<_>>(), [parse_ip("10.0.1.6").unwrap()]);
    }

    #[test]
    fn held_addresses_are_runs_that_join_and_split() {
        let mut s = subnet("10.0.1.0/24");
        for _ in 0..10 {
            s.allocate().unwrap();
        }
        assert_eq!(serde_json::to_value(&s.held).unwrap(), serde_json::json!(["10.0.1.4-10.0.1.13"]));
        s.release("10.0.1.8");
        s.release("10.0.1.4");
        s.release("10.0.1.13");
        assert_eq!(
            serde_json::to_value(&s.held).unwrap(),
            serde_json::json!(["10.0.1.5-10.0.1.7", "10.0.1.9-10.0.1.12"])
        );
        assert_eq!((s.in_use(), s.available()), (7, 251 - 7));
        // The lowest free address is taken first, and joins the runs around it.
        assert_eq!(s.allocate().unwrap(), "10.0.1.4");
        assert_eq!(s.allocate().unwrap(), "10.0.1.8");
        s.reserve("10.0.1.20").unwrap();
        assert_eq!(serde_json::to_value(&s.held).unwrap(), serde_json::json!(["10.0.1.4-10.0.1.12", "10.0.1.20"]));
        assert_eq!(s.reserve("10.0.1.20"), Err(NetError::AddressInUse { ip: "10.0.1.20".into() }));
        let back: Held = serde_json::from_value(serde_json::to_value(&s.held).unwrap()).unwrap();
        assert_eq!(back, s.held);
        for bad in [serde_json::json!(["10.0.1.9-10.0.1.4"]), serde_json::json!(["10.0.1.4-10.0.1.9", "10.0.1.10"])] {
            assert!(serde_json::from_value::<Held>(bad).is_err());
        }
    }

    #[test]
    fn a_record_that_lists_its_addresses_one_by_one_still_counts_and_frees_them() {
        // A subnet stored before the runs: every address in `used`, with its holder.
        let mut s: Subnet = serde_json::from_value(serde_json::json!({
            "id": "subnet-1", "vpc_id": "vpc-1", "owner_id": "0", "cidr": "10.0.1.0/28",
            "availability_zone": "us-east-1a", "availability_zone_id": "use1-az1", "default_for_az": false,
            "map_public_ip_on_launch": false, "assign_ipv6_address_on_creation": false,
            "map_customer_owned_ip_on_launch": false, "enable_dns64": false, "enable_lni_at_device_index": null,
            "hostname_type": "ip-name", "enable_resource_name_dns_a_record": false,
            "enable_resource_name_dns_aaaa_record": false,
            "used": {"10.0.1.4": "eni-1", "10.0.1.5": "eni-2", "10.0.1.7": "eni-3"}
        }))
        .unwrap();
        assert!(s.held.is_empty());
        assert_eq!(s.available(), 8);
        // Written back untouched, its JSON has no runs.
        assert!(serde_json::to_value(&s).unwrap().get("held").is_none());
        assert_eq!(s.allocate().unwrap(), "10.0.1.6");
        assert_eq!(s.reserve("10.0.1.5"), Err(NetError::AddressInUse { ip: "10.0.1.5".into() }));
        s.release("10.0.1.5");
        assert_eq!(s.allocate().unwrap(), "10.0.1.5");
        assert_eq!(s.allocate().unwrap(), "10.0.1.8");
        assert_eq!((s.used.len(), s.held.len(), s.available()), (2, 3, 6));
        s.release("10.0.1.4");
        s.release("10.0.1.7");
        s.release("10.0.1.5");
        s.release("10.0.1.6");
        s.release("10.0.1.8");
        assert_eq!((s.in_use(), s.available()), (0, 11));
    }

    #[test]
    fn default_subnets_take_the_next_free_20() {
        let mut v = vpc();
        v.cidr_blocks[0].cidr = "172.31.0.0/16".into();
        assert_eq!(default_subnet_cidr(&v, &[]).as_deref(), Some("172.31.0.0/20"));
        assert_eq!(default_subnet_cidr(&v, &["172.31.0.0/20".into()]).as_deref(), Some("172.31.16.0/20"));
    }
}
