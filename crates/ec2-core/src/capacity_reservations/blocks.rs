//! Capacity Block offerings: which instance types are sold as Capacity Blocks, when blocks start,
//! and the offerings shown for a search (deterministic from the seed, so that a later
//! PurchaseCapacityBlock finds the one it names).

use serde::{Deserialize, Serialize};

use crate::catalog::instance_types::InstanceTypeInfo;
use crate::regions::Zone;
use ec2_time::UnixMillis;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// An offering shown by DescribeCapacityBlockOfferings, kept so that PurchaseCapacityBlock can
/// buy it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityBlockOfferingRecord {
    pub id: String,
    pub instance_type: String,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub instance_count: u32,
    pub start: UnixMillis,
    pub end: UnixMillis,
    pub hours: i64,
    pub upfront_fee: String,
}

/// Instance families sold as Capacity Blocks.
pub fn is_block_type(name: &str) -> bool {
    name.starts_with('p') || name.starts_with("trn")
}

fn offering_id(seed: u64, parts: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in parts.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("cbr-0{:016x}", h)
}

/// The next 11:30 UTC at or after `t` (Capacity Blocks start at 11:30 UTC).
pub fn next_block_start(t: UnixMillis) -> UnixMillis {
    let day = t.0.div_euclid(DAY_MS) * DAY_MS;
    let start = day + 11 * HOUR_MS + 30 * 60_000;
    UnixMillis(if start >= t.0 { start } else { start + DAY_MS })
}

/// What a search asks for (checked by the caller).
#[derive(Debug, Clone, Copy)]
pub struct BlockSearch<'a> {
    pub instance_type: &'a InstanceTypeInfo,
    pub count: u32,
    pub hours: i64,
    /// The earliest start (already at or after now).
    pub from: UnixMillis,
    /// The latest end, if any.
    pub until: Option<UnixMillis>,
}

/// The offerings of a search: blocks starting on each of the next three days from `from`, in each
/// of `zones`, leaving out those that would end after `until`. Priced at 60% of On-Demand.
pub fn offerings(seed: u64, search: &BlockSearch<'_>, zones: &[&Zone]) -> Vec<CapacityBlockOfferingRecord> {
    let itype = search.instance_type;
    let mut offers = Vec::new();
    for k in 0..3 {
        let start = next_block_start(search.from.plus_millis(k * DAY_MS));
        let end = start.plus_millis(search.hours * HOUR_MS);
        if search.until.is_some_and(|u| end > u) {
            continue;
        }
        for z in zones {
            let fee = itype.on_demand_usd_per_hour * 0.6 * f64::from(search.count) * search.hours as f64;
            offers.push(CapacityBlockOfferingRecord {
                id: offering_id(
                    seed,
                    &format!("{}/{}/{}/{}/{}", itype.name, z.name, start.0, search.hours, search.count),
                ),
                instance_type: itype.name.to_string(),
                availability_zone: z.name.to_string(),
                availability_zone_id: z.id.to_string(),
                instance_count: search.count,
                start,
                end,
                hours: search.hours,
                upfront_fee: format!("{fee:.2}"),
            });
        }
    }
    offers
}

/// Whether `offer` can still be bought at `now` (it has not started).
pub fn purchasable(offer: &CapacityBlockOfferingRecord, now: UnixMillis) -> bool {
    offer.start > now
}

/// The Capacity Block ID that goes with a reservation ID (`cr-X` gives `cb-X`).
pub fn block_id_of(reservation_id: &str) -> String {
    format!("cb-{}", reservation_id.trim_start_matches("cr-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::instance_types::instance_type;
    use crate::regions;

    const NOON: UnixMillis = UnixMillis(1_767_268_800_000); // 2026-01-01T12:00:00Z

    #[test]
    fn blocks_start_at_the_next_1130_utc() {
        assert_eq!(next_block_start(NOON).to_iso8601(), "2026-01-02T11:30:00.000Z");
        let at = UnixMillis(NOON.0 - 30 * 60_000);
        assert_eq!(next_block_start(at), at, "11:30 itself is a start");
        assert_eq!(next_block_start(UnixMillis(NOON.0 - 12 * HOUR_MS)).to_iso8601(), "2026-01-01T11:30:00.000Z");
    }

    #[test]
    fn only_p_and_trn_families_are_sold_as_blocks() {
        assert!(is_block_type("p5.48xlarge"));
        assert!(is_block_type("trn1.32xlarge"));
        assert!(!is_block_type("t3.micro"));
    }

    #[test]
    fn offerings_cover_three_days_in_each_zone_and_respect_the_end_of_the_range() {
        let itype = instance_type("p5.48xlarge").unwrap();
        let region = regions::region("us-east-1").unwrap();
        let zones: Vec<&Zone> = region.zones.iter().take(2).collect();
        let search = BlockSearch { instance_type: itype, count: 2, hours: 24, from: NOON, until: None };
        let all = offerings(7, &search, &zones);
        assert_eq!(all.len(), 6);
        assert_eq!(all[0].end, all[0].start.plus_millis(24 * HOUR_MS));
        assert_eq!(all[0].upfront_fee, format!("{:.2}", itype.on_demand_usd_per_hour * 0.6 * 2.0 * 24.0));
        let ids: std::collections::BTreeSet<&str> = all.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids.len(), 6, "distinct IDs");
        assert_eq!(offerings(7, &search, &zones), all, "deterministic");
        assert_ne!(offerings(8, &search, &zones)[0].id, all[0].id, "the seed matters");
        let until = Some(all[2].end);
        let bounded = offerings(7, &BlockSearch { until, ..search }, &zones);
        assert_eq!(bounded.len(), 4);
        assert!(purchasable(&all[0], NOON));
        assert!(!purchasable(&all[0], all[0].start));
        assert_eq!(block_id_of("cr-0abc"), "cb-0abc");
    }
}
