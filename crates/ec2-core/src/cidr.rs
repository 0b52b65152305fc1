//! IPv4 addresses and CIDR blocks: parsing in AWS's strict form, containment, overlap, and the
//! addresses of a subnet that AWS reserves (the first four and the last one).

use std::fmt;

/// An IPv4 address as a number.
pub fn parse_ip(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut v: u32 = 0;
    for p in parts {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = p.parse().ok()?;
        if n > 255 {
            return None;
        }
        v = (v << 8) | n;
    }
    Some(v)
}

pub fn format_ip(ip: u32) -> String {
    format!("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255)
}

/// An IPv4 CIDR block whose address is its network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ipv4Net {
    pub base: u32,
    pub len: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// Not `a.b.c.d/n` with `n` in 0..=32.
    Syntax,
    /// Host bits are set (`10.0.0.1/16`).
    NotNetworkAddress,
}

impl Ipv4Net {
    pub fn parse(s: &str) -> Result<Ipv4Net, CidrError> {
        let (ip, len) = s.split_once('/').ok_or(CidrError::Syntax)?;
        let base = parse_ip(ip).ok_or(CidrError::Syntax)?;
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::Syntax);
        }
        let len: u8 = len.parse().map_err(|_| CidrError::Syntax)?;
        if len > 32 {
            return Err(CidrError::Syntax);
        }
        let net = Ipv4Net { base, len };
        if base & !net.mask() != 0 {
            return Err(CidrError::NotNetworkAddress);
        }
        Ok(net)
    }

    pub fn mask(&self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.len))
        }
    }

    /// The number of addresses in the block.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }

    pub fn last(&self) -> u32 {
        self.base | !self.mask()
    }

    pub fn contains_ip(&self, ip: u32) -> bool {
        ip & self.mask() == self.base
    }

    /// Whether `other` lies entirely inside this block.
    pub fn contains(&self, other: &Ipv4Net) -> bool {
        other.len >= self.len && self.contains_ip(other.base)
    }

    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// Whether AWS keeps `ip` for itself in a subnet of this block: the network address, the next
    /// three (router, DNS, future use) and the broadcast address.
    pub fn is_reserved(&self, ip: u32) -> bool {
        ip.wrapping_sub(self.base) < 4 || ip == self.last()
    }

    /// The addresses a subnet of this block can hand out.
    pub fn usable(&self) -> u64 {
        self.size().saturating_sub(5)
    }

    /// The usable addresses in order.
    pub fn hosts(&self) -> impl Iterator<Item = u32> + '_ {
        let first = u64::from(self.base) + 4;
        let last = u64::from(self.last());
        (first..last).map(|ip| ip as u32)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", format_ip(self.base), self.len)
    }
}

/// Whether `s` is an IPv6 CIDR block (`2001:db8::/32`): hex groups with at most one `::`, and a
/// prefix length up to 128. Only the syntax is checked.
pub fn is_ipv6_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else { return false };
    let len_ok = !len.is_empty() && len.len() <= 3 && len.parse::<u32>().is_ok_and(|n| n <= 128);
    len_ok && addr.parse::<std::net::Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_network_addresses() {
        let n = Ipv4Net::parse("10.0.0.0/16").unwrap();
        assert_eq!(n.to_string(), "10.0.0.0/16");
        assert_eq!(n.size(), 65536);
        assert_eq!(Ipv4Net::parse("10.0.0.1/16"), Err(CidrError::NotNetworkAddress));
        for bad in ["10.0.0.0", "10.0.0/16", "10.0.0.0/33", "10.0.0.256/32", "a.b.c.d/8", "10.0.0.0/", "10.0.0.0/-1"] {
            assert_eq!(Ipv4Net::parse(bad), Err(CidrError::Syntax), "{bad}");
        }
        assert_eq!(Ipv4Net::parse("0.0.0.0/0").unwrap().size(), 1 << 32);
    }

    #[test]
    fn containment_and_overlap() {
        let vpc = Ipv4Net::parse("10.0.0.0/16").unwrap();
        let a = Ipv4Net::parse("10.0.1.0/24").unwrap();
        let b = Ipv4Net::parse("10.0.1.128/25").unwrap();
        let c = Ipv4Net::parse("10.1.0.0/24").unwrap();
        assert!(vpc.contains(&a) && a.contains(&b) && !b.contains(&a));
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!vpc.contains(&c) && !vpc.overlaps(&c));
        assert!(vpc.contains_ip(parse_ip("10.0.255.255").unwrap()));
        assert!(!vpc.contains_ip(parse_ip("10.1.0.0").unwrap()));
    }

    #[test]
    fn five_addresses_of_a_subnet_are_reserved() {
        let s = Ipv4Net::parse("10.0.1.0/28").unwrap();
        assert_eq!(s.usable(), 11);
        let hosts: Vec<String> = s.hosts().map(format_ip).collect();
        assert_eq!(hosts.first().map(String::as_str), Some("10.0.1.4"));
        assert_eq!(hosts.last().map(String::as_str), Some("10.0.1.14"));
        assert_eq!(hosts.len(), 11);
        for r in ["10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.15"] {
            assert!(s.is_reserved(parse_ip(r).unwrap()), "{r}");
        }
        assert!(!s.is_reserved(parse_ip("10.0.1.4").unwrap()));
    }

    #[test]
    fn ipv6_syntax() {
        assert!(is_ipv6_cidr("::/0"));
        assert!(is_ipv6_cidr("2001:db8::/32"));
        assert!(!is_ipv6_cidr("2001:db8::"));
        assert!(!is_ipv6_cidr("10.0.0.0/8"));
        assert!(!is_ipv6_cidr("2001:db8::/129"));
    }
}
