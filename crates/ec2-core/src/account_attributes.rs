//! The account attributes DescribeAccountAttributes reports: the platforms, the default VPC and the
//! account's limits as ec2d enforces them.

/// Every attribute name, in AWS's order.
pub const NAMES: [&str; 6] = [
    "supported-platforms",
    "default-vpc",
    "max-instances",
    "vpc-max-security-groups-per-interface",
    "max-elastic-ips",
    "vpc-max-elastic-ips",
];

/// The values of attribute `name`, `None` for a name AWS does not have. `default_vpc` is the
/// scope's default VPC (`none` when it has none); `max_elastic_ips` the address quota.
pub fn values(
    name: &str,
    default_vpc: Option<&str>,
    max_instances: u64,
    max_elastic_ips: usize,
) -> Option<Vec<String>> {
    Some(match name {
        "supported-platforms" => vec!["VPC".to_string()],
        "default-vpc" => vec![default_vpc.unwrap_or("none").to_string()],
        "max-instances" => vec![max_instances.to_string()],
        "vpc-max-security-groups-per-interface" => vec!["5".to_string()],
        "max-elastic-ips" | "vpc-max-elastic-ips" => vec![max_elastic_ips.to_string()],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_values() {
        for n in NAMES {
            assert!(values(n, None, 20, 5).is_some_and(|v| !v.is_empty()), "{n}");
        }
        assert_eq!(values("default-vpc", None, 20, 5), Some(vec!["none".to_string()]));
        assert_eq!(values("default-vpc", Some("vpc-1"), 20, 5), Some(vec!["vpc-1".to_string()]));
        assert_eq!(values("nope", None, 20, 5), None);
    }
}
