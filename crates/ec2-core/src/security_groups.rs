//! Security groups: the record, its rules (one rule per peer: an IPv4 or IPv6 range, a prefix list
//! or a group), the default rules, duplicate and missing rules, and the rule limit.

use serde::{Deserialize, Serialize};

use crate::cidr::{is_ipv6_cidr, Ipv4Net};
use crate::network::NetError;

/// Rules per direction (AWS's default quota).
pub const MAX_RULES: usize = 60;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Peer {
    Ipv4(String),
    Ipv6(String),
    PrefixList(String),
    Group { group_id: String, user_id: String },
}

/// A rule as requested: what makes two rules the same, plus a description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// `-1`, `tcp`, `udp`, `icmp`, `icmpv6` or a protocol number.
    pub protocol: String,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub peer: Peer,
    pub description: Option<String>,
}

impl RuleSpec {
    fn same_rule(&self, other: &RuleSpec) -> bool {
        self.protocol == other.protocol
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.peer == other.peer
    }

    /// AWS's wording of a rule in a duplicate error.
    pub fn describe(&self) -> String {
        let peer = match &self.peer {
            Peer::Ipv4(c) | Peer::Ipv6(c) => c.clone(),
            Peer::PrefixList(p) => p.clone(),
            Peer::Group { group_id, .. } => group_id.clone(),
        };
        let proto = match self.protocol.as_str() {
            "-1" => "ALL".to_string(),
            p => p.to_uppercase(),
        };
        match (self.from_port, self.to_port) {
            (Some(f), Some(t)) => format!("peer: {peer}, {proto}, from port: {f}, to port: {t}, ALLOW"),
            _ => format!("peer: {peer}, {proto}, ALLOW"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// `sgr-...`.
    pub id: String,
    pub egress: bool,
    pub spec: RuleSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub owner_id: String,
    pub rules: Vec<Rule>,
}

impl SecurityGroup {
    pub fn is_default(&self) -> bool {
        self.name == "default"
    }

    pub fn rules(&self, egress: bool) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.egress == egress)
    }
}

/// The canonical protocol: names in lower case, `6`/`17`/`1`/`58` as their names, `all` as `-1`.
pub fn normalize_protocol(p: &str) -> Result<String, NetError> {
    let lower = p.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "-1" | "all" => "-1".into(),
        "tcp" | "6" => "tcp".into(),
        "udp" | "17" => "udp".into(),
        "icmp" | "1" => "icmp".into(),
        "icmpv6" | "58" => "icmpv6".into(),
        n if !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()) => {
            let v: u32 = n.parse().map_err(|_| NetError::InvalidProtocol { protocol: p.to_string() })?;
            if v > 255 {
                return Err(NetError::InvalidProtocol { protocol: p.to_string() });
            }
            v.to_string()
        }
        _ => return Err(NetError::InvalidProtocol { protocol: p.to_string() }),
    })
}

/// Checks and normalizes one requested rule: protocol, ports (TCP/UDP need both, 0..=65535, from <=
/// to; ICMP types and codes -1..=255; other protocols carry none) and the peer's syntax.
pub fn check_spec(
    protocol: &str,
    from: Option<i64>,
    to: Option<i64>,
    peer: Peer,
    description: Option<String>,
) -> Result<RuleSpec, NetError> {
    let protocol = normalize_protocol(protocol)?;
    let (from_port, to_port) = match protocol.as_str() {
        "tcp" | "udp" => {
            let (Some(f), Some(t)) = (from, to) else {
                return Err(NetError::InvalidPorts {
                    message: "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange."
                        .to_string(),
                });
            };
            if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) || f > t {
                return Err(NetError::InvalidPorts {
                    message: format!("Invalid port range ({f}, {t}): the ports must be 0 to 65535, from before to."),
                });
            }
            (Some(f), Some(t))
        }
        "icmp" | "icmpv6" => {
            let f = from.unwrap_or(-1);
            let t = to.unwrap_or(-1);
            if !(-1..=255).contains(&f) || !(-1..=255).contains(&t) {
                return Err(NetError::InvalidPorts { message: format!("ICMP type or code out of range: ({f}, {t})") });
            }
            (Some(f), Some(t))
        }
        _ => (None, None),
    };
    match &peer {
        Peer::Ipv4(c) => {
            Ipv4Net::parse(c).map_err(|_| NetError::InvalidCidr { cidr: c.clone(), param: "cidrIp" })?;
        }
        Peer::Ipv6(c) if !is_ipv6_cidr(c) => {
            return Err(NetError::InvalidCidr { cidr: c.clone(), param: "cidrIpv6" });
        }
        _ => {}
    }
    Ok(RuleSpec { protocol, from_port, to_port, peer, description })
}

/// Adds rules to the group, one per spec with its ID from `ids`; all or nothing. A rule the group
/// already has, or one repeated in the request, is a duplicate.
pub fn authorize(
    group: &mut SecurityGroup,
    egress: bool,
    specs: Vec<RuleSpec>,
    ids: Vec<String>,
) -> Result<Vec<Rule>, NetError> {
    let mut added: Vec<Rule> = Vec::new();
    for (spec, id) in specs.into_iter().zip(ids) {
        let dup = group.rules(egress).chain(added.iter()).any(|r| r.spec.same_rule(&spec));
        if dup {
            return Err(NetError::DuplicatePermission { rule: spec.describe() });
        }
        added.push(Rule { id, egress, spec });
    }
    if group.rules(egress).count() + added.len() > MAX_RULES {
        return Err(NetError::RuleLimit);
    }
    group.rules.extend(added.iter().cloned());
    Ok(added)
}

/// Removes the rules matching `specs`; every spec must match a rule.
pub fn revoke(group: &mut SecurityGroup, egress: bool, specs: &[RuleSpec]) -> Result<Vec<Rule>, NetError> {
    let mut ids = Vec::new();
    for spec in specs {
        let rule = group.rules(egress).find(|r| r.spec.same_rule(spec)).ok_or(NetError::PermissionNotFound)?;
        ids.push(rule.id.clone());
    }
    revoke_ids(group, egress, &ids)
}

/// Removes the rules with these IDs; every ID must name a rule of the group in that direction.
pub fn revoke_ids(group: &mut SecurityGroup, egress: bool, ids: &[String]) -> Result<Vec<Rule>, NetError> {
    for id in ids {
        if !group.rules(egress).any(|r| &r.id == id) {
            return Err(NetError::RuleNotFound { id: id.clone() });
        }
    }
    let (gone, kept): (Vec<Rule>, Vec<Rule>) =
        std::mem::take(&mut group.rules).into_iter().partition(|r| r.egress == egress && ids.contains(&r.id));
    group.rules = kept;
    Ok(gone)
}

/// Replaces a rule's definition in place (ModifySecurityGroupRules), keeping its ID and direction.
pub fn modify_rule(group: &mut SecurityGroup, id: &str, spec: RuleSpec) -> Result<(), NetError> {
    let egress = group
        .rules
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.egress)
        .ok_or_else(|| NetError::RuleNotFound { id: id.to_string() })?;
    if group.rules(egress).any(|r| r.id != id && r.spec.same_rule(&spec)) {
        return Err(NetError::DuplicatePermission { rule: spec.describe() });
    }
    if let Some(r) = group.rules.iter_mut().find(|r| r.id == id) {
        r.spec = spec;
    }
    Ok(())
}

/// The rules of a new group: all traffic out to anywhere, and for a VPC's default group all traffic
/// in from the group itself. `ids` gives the rule IDs (egress first).
pub fn default_rules(group_id: &str, owner: &str, default_group: bool, ids: [String; 2]) -> Vec<Rule> {
    let [egress_id, ingress_id] = ids;
    let mut rules = vec![Rule {
        id: egress_id,
        egress: true,
        spec: RuleSpec {
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            peer: Peer::Ipv4("0.0.0.0/0".into()),
            description: None,
        },
    }];
    if default_group {
        rules.push(Rule {
            id: ingress_id,
            egress: false,
            spec: RuleSpec {
                protocol: "-1".into(),
                from_port: None,
                to_port: None,
                peer: Peer::Group { group_id: group_id.to_string(), user_id: owner.to_string() },
                description: None,
            },
        });
    }
    rules
}

/// A new group's name: 1 to 255 characters, not `default`, not `sg-*`.
pub fn check_name(name: &str) -> Result<(), NetError> {
    if name.is_empty() || name.len() > 255 || name == "default" || name.starts_with("sg-") {
        return Err(NetError::ReservedGroupName { name: name.to_string() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> SecurityGroup {
        SecurityGroup {
            id: "sg-1".into(),
            name: "web".into(),
            description: "d".into(),
            vpc_id: "vpc-1".into(),
            owner_id: "0".into(),
            rules: default_rules("sg-1", "0", false, ["sgr-e".into(), "sgr-i".into()]),
        }
    }

    fn ssh(cidr: &str) -> RuleSpec {
        check_spec("tcp", Some(22), Some(22), Peer::Ipv4(cidr.into()), None).unwrap()
    }

    #[test]
    fn protocols_and_ports_are_normalized() {
        assert_eq!(normalize_protocol("TCP").unwrap(), "tcp");
        assert_eq!(normalize_protocol("6").unwrap(), "tcp");
        assert_eq!(normalize_protocol("all").unwrap(), "-1");
        assert_eq!(normalize_protocol("47").unwrap(), "47");
        assert!(normalize_protocol("256").is_err());
        assert!(normalize_protocol("tcpx").is_err());
        let all = check_spec("-1", Some(1), Some(2), Peer::Ipv4("0.0.0.0/0".into()), None).unwrap();
        assert_eq!((all.from_port, all.to_port), (None, None));
        assert!(check_spec("tcp", None, Some(2), Peer::Ipv4("0.0.0.0/0".into()), None).is_err());
        assert!(check_spec("tcp", Some(30), Some(20), Peer::Ipv4("0.0.0.0/0".into()), None).is_err());
        assert!(check_spec("tcp", Some(1), Some(70000), Peer::Ipv4("0.0.0.0/0".into()), None).is_err());
        assert!(check_spec("tcp", Some(1), Some(2), Peer::Ipv4("10.0.0.1/8".into()), None).is_err());
        assert!(check_spec("tcp", Some(1), Some(2), Peer::Ipv6("::/0".into()), None).is_ok());
        assert!(check_spec("tcp", Some(1), Some(2), Peer::Ipv6("10.0.0.0/8".into()), None).is_err());
    }

    #[test]
    fn duplicates_are_refused_and_nothing_changes() {
        let mut g = group();
        authorize(&mut g, false, vec![ssh("10.0.0.0/8")], vec!["sgr-1".into()]).unwrap();
        let before = g.clone();
        let e = authorize(&mut g, false, vec![ssh("192.168.0.0/16"), ssh("10.0.0.0/8")], vec!["a".into(), "b".into()]);
        assert_eq!(
            e,
            Err(NetError::DuplicatePermission {
                rule: "peer: 10.0.0.0/8, TCP, from port: 22, to port: 22, ALLOW".into()
            })
        );
        assert_eq!(g, before);
        // The same rule in the other direction is another rule.
        authorize(&mut g, true, vec![ssh("10.0.0.0/8")], vec!["sgr-2".into()]).unwrap();
        let e = authorize(&mut g, false, vec![ssh("1.0.0.0/8"), ssh("1.0.0.0/8")], vec!["a".into(), "b".into()]);
        assert!(matches!(e, Err(NetError::DuplicatePermission { .. })));
    }

    #[test]
    fn revoke_needs_an_existing_rule() {
        let mut g = group();
        authorize(&mut g, false, vec![ssh("10.0.0.0/8")], vec!["sgr-1".into()]).unwrap();
        assert_eq!(revoke(&mut g, false, &[ssh("11.0.0.0/8")]), Err(NetError::PermissionNotFound));
        assert_eq!(revoke(&mut g, true, &[ssh("10.0.0.0/8")]), Err(NetError::PermissionNotFound));
        assert_eq!(revoke(&mut g, false, &[ssh("10.0.0.0/8")]).unwrap()[0].id, "sgr-1");
        assert_eq!(g.rules(false).count(), 0);
        assert_eq!(revoke_ids(&mut g, true, &["sgr-x".into()]), Err(NetError::RuleNotFound { id: "sgr-x".into() }));
    }

    #[test]
    fn rule_limit_and_modification() {
        let mut g = group();
        let specs: Vec<RuleSpec> = (0..MAX_RULES).map(|i| ssh(&format!("10.0.{i}.0/24"))).collect();
        let ids = (0..MAX_RULES).map(|i| format!("sgr-{i}")).collect();
        authorize(&mut g, false, specs, ids).unwrap();
        assert_eq!(authorize(&mut g, false, vec![ssh("1.1.1.1/32")], vec!["x".into()]), Err(NetError::RuleLimit));
        modify_rule(&mut g, "sgr-0", ssh("1.1.1.1/32")).unwrap();
        assert!(matches!(modify_rule(&mut g, "sgr-1", ssh("1.1.1.1/32")), Err(NetError::DuplicatePermission { .. })));
        assert!(matches!(modify_rule(&mut g, "sgr-none", ssh("2.1.1.1/32")), Err(NetError::RuleNotFound { .. })));
    }

    #[test]
    fn default_group_lets_its_members_talk() {
        let rules = default_rules("sg-d", "0", true, ["a".into(), "b".into()]);
        assert_eq!(rules.len(), 2);
        assert!(matches!(&rules[1].spec.peer, Peer::Group { group_id, .. } if group_id == "sg-d"));
        assert!(check_name("default").is_err() && check_name("sg-x").is_err() && check_name("web").is_ok());
    }
}
