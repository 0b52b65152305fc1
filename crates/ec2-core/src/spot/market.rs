//! The seeded Spot market: a price per (instance type, zone, product) that changes on some hour
//! boundaries and not others, deterministic for a seed. Prices stay between 25% and 70% of the
//! On-Demand price, so a request whose maximum price is the On-Demand price (the default) is never
//! interrupted by price; a lower maximum price can be too low.

use ec2_time::UnixMillis;

use crate::catalog::instance_types::InstanceTypeInfo;

const HOUR: i64 = 3_600_000;
/// Every pool changes price at least every this many hours.
const MAX_GAP_HOURS: i64 = 24;

/// The product descriptions a price exists for, Linux first.
pub const PRODUCTS: [&str; 4] = ["Linux/UNIX", "Linux/UNIX (Amazon VPC)", "Windows", "Windows (Amazon VPC)"];

fn hash(seed: u64, parts: &[&str], n: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    for b in n.to_le_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

fn changes_at_hour(seed: u64, itype: &str, zone: &str, hour: i64) -> bool {
    hour.rem_euclid(MAX_GAP_HOURS) == 0 || hash(seed, &[itype, zone, "change"], hour).is_multiple_of(3)
}

/// The Linux price set at the change on `hour`.
fn linux_price_at_change(seed: u64, itype: &InstanceTypeInfo, zone: &str, hour: i64) -> f64 {
    let u = (hash(seed, &[itype.name, zone, "price"], hour) % 10_000) as f64 / 10_000.0;
    round6(itype.on_demand_usd_per_hour * (0.25 + 0.45 * u))
}

fn round6(v: f64) -> f64 {
    (v * 1_000_000.0).round() / 1_000_000.0
}

/// The product's price given the Linux price (Windows carries a per-vCPU licence premium).
pub fn product_price(linux: f64, itype: &InstanceTypeInfo, product: &str) -> f64 {
    if product.starts_with("Windows") {
        round6(linux + 0.018 * f64::from(itype.vcpus))
    } else {
        linux
    }
}

/// The time of the last price change at or before `t`.
pub fn last_change(seed: u64, itype: &InstanceTypeInfo, zone: &str, t: UnixMillis) -> UnixMillis {
    let mut hour = t.0.div_euclid(HOUR);
    while !changes_at_hour(seed, itype.name, zone, hour) {
        hour -= 1;
    }
    UnixMillis(hour * HOUR)
}

/// The Linux/UNIX price in force at `t`.
pub fn price(seed: u64, itype: &InstanceTypeInfo, zone: &str, t: UnixMillis) -> f64 {
    linux_price_at_change(seed, itype, zone, last_change(seed, itype, zone, t).0 / HOUR)
}

/// The price changes in `(after, upto]`, oldest first, with their Linux prices.
pub fn changes(
    seed: u64,
    itype: &InstanceTypeInfo,
    zone: &str,
    after: UnixMillis,
    upto: UnixMillis,
) -> Vec<(UnixMillis, f64)> {
    let first = after.0.div_euclid(HOUR) + 1;
    let last = upto.0.div_euclid(HOUR);
    (first..=last)
        .filter(|h| changes_at_hour(seed, itype.name, zone, *h))
        .map(|h| (UnixMillis(h * HOUR), linux_price_at_change(seed, itype, zone, h)))
        .collect()
}

/// The next price change strictly after `t`.
pub fn next_change(seed: u64, itype: &InstanceTypeInfo, zone: &str, t: UnixMillis) -> UnixMillis {
    let mut hour = t.0.div_euclid(HOUR) + 1;
    while !changes_at_hour(seed, itype.name, zone, hour) {
        hour += 1;
    }
    UnixMillis(hour * HOUR)
}

/// Formats a price as EC2 does: six decimals.
pub fn format_price(p: f64) -> String {
    format!("{p:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::instance_types::instance_type;

    #[test]
    fn prices_are_deterministic_bounded_and_step_at_changes() {
        let t = instance_type("m5.large").unwrap();
        let day = UnixMillis(1_767_225_600_000); // 2026-01-01
        let p = price(1, t, "us-east-1a", day);
        assert_eq!(p, price(1, t, "us-east-1a", day));
        for h in 0..200 {
            let v = price(1, t, "us-east-1a", day.plus_seconds(h * 1800));
            assert!(v >= 0.25 * t.on_demand_usd_per_hour - 1e-9 && v <= 0.70 * t.on_demand_usd_per_hour + 1e-9, "{v}");
        }
        let ch = changes(1, t, "us-east-1a", day, day.plus_seconds(48 * 3600));
        assert!(ch.len() >= 2, "at least one change a day");
        for (at, v) in &ch {
            assert_eq!(*v, price(1, t, "us-east-1a", *at));
            assert_eq!(last_change(1, t, "us-east-1a", at.plus_seconds(1)), *at);
        }
        let next = next_change(1, t, "us-east-1a", day);
        assert!(next > day && next == ch[0].0);
        assert_ne!(price(1, t, "us-east-1a", day), price(2, t, "us-east-1a", day), "another seed, another market");
    }

    #[test]
    fn windows_costs_more_and_formatting_has_six_decimals() {
        let t = instance_type("t3.micro").unwrap();
        assert!(product_price(0.004, t, "Windows") > 0.004);
        assert_eq!(product_price(0.004, t, "Linux/UNIX (Amazon VPC)"), 0.004);
        assert_eq!(format_price(0.0052), "0.005200");
    }
}
