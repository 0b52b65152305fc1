//! Which region and which availability zone offers which instance type (`DescribeInstanceTypeOfferings`,
//! and the zone check of `RunInstances`).
//!
//! **Source.** The generated bitsets of `instance_types_data.rs` (`REGION_OFFERINGS` by region name,
//! `ZONE_OFFERINGS` by zone id) come from the same dataset as the types (see `data/SOURCE.md`). Zones are
//! matched by zone id, which names the same physical zone in every account, so ec2d's own zone-name
//! mapping does not matter. Some zones lack some types (in us-east-1, `use1-az3` offers few types and
//! `m1.small` is missing from `use1-az5`); some types are offered in no zone of a region.
//!
//! **Choices.** A region the dataset does not cover offers what us-east-1 offers; a zone the dataset does
//! not cover offers what its region offers. The region level is the dataset's region list (a type can be
//! listed for a region without any zone of it offering the type).

use super::instance_types::{index_of, InstanceTypeInfo, INSTANCE_TYPES};
use super::instance_types_data::{REGION_OFFERINGS, WORDS, ZONE_OFFERINGS};
use crate::regions::{Region, Zone};

type Bits = [u64; WORDS];

/// The region whose offerings stand in for a region the dataset does not cover.
pub const FALLBACK_REGION: &str = "us-east-1";

fn lookup(table: &'static [(&'static str, Bits)], key: &str) -> Option<&'static Bits> {
    table.binary_search_by(|(k, _)| (*k).cmp(key)).ok().map(|i| &table[i].1)
}

fn region_bits(region: &str) -> &'static Bits {
    lookup(REGION_OFFERINGS, region)
        .or_else(|| lookup(REGION_OFFERINGS, FALLBACK_REGION))
        .expect("the dataset covers the fallback region")
}

fn zone_bits(region: &Region, zone: &Zone) -> &'static Bits {
    lookup(ZONE_OFFERINGS, zone.id).unwrap_or_else(|| region_bits(region.name))
}

fn has(bits: &Bits, index: usize) -> bool {
    bits[index / 64] >> (index % 64) & 1 == 1
}

fn members(bits: &'static Bits) -> impl Iterator<Item = &'static InstanceTypeInfo> {
    INSTANCE_TYPES.iter().enumerate().filter(move |(i, _)| has(bits, *i)).map(|(_, t)| t)
}

/// Whether the region offers the named type.
pub fn offered_in_region(region: &Region, instance_type: &str) -> bool {
    index_of(instance_type).is_some_and(|i| has(region_bits(region.name), i))
}

/// Whether the zone (of `region`) offers the named type.
pub fn offered_in_zone(region: &Region, zone: &Zone, instance_type: &str) -> bool {
    index_of(instance_type).is_some_and(|i| has(zone_bits(region, zone), i))
}

/// The types the region offers, sorted by name.
pub fn region_types(region: &Region) -> impl Iterator<Item = &'static InstanceTypeInfo> {
    members(region_bits(region.name))
}

/// The types the zone offers, sorted by name.
pub fn zone_types(region: &Region, zone: &Zone) -> impl Iterator<Item = &'static InstanceTypeInfo> {
    members(zone_bits(region, zone))
}

/// The region's zones that offer the named type, in the region's zone order (by name).
pub fn zones_offering(region: &'static Region, instance_type: &str) -> Vec<&'static Zone> {
    region.zones.iter().filter(|z| offered_in_zone(region, z, instance_type)).collect()
}

/// Why a launch cannot place the type in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// The requested zone lacks the type; `offered_in` names the region's zones that have it.
    Zone { instance_type: String, zone: String, offered_in: Vec<String> },
    /// No zone of the region offers the type.
    Region { instance_type: String, region: String },
}

/// Decides the zone of a launch of `instance_type` in `region`: the requested zone when it offers the
/// type (`requested = Some`), else a refusal; without a requested zone, `default` when it offers the
/// type, else the region's first zone (by name) that does, else a refusal.
pub fn place(
    region: &'static Region,
    instance_type: &str,
    requested: Option<&'static Zone>,
    default: &'static Zone,
) -> Result<&'static Zone, Unsupported> {
    let offering = zones_offering(region, instance_type);
    let refuse_region = || Unsupported::Region { instance_type: instance_type.into(), region: region.name.into() };
    match requested {
        Some(z) if offering.contains(&z) => Ok(z),
        Some(_) if offering.is_empty() => Err(refuse_region()),
        Some(z) => Err(Unsupported::Zone {
            instance_type: instance_type.into(),
            zone: z.name.into(),
            offered_in: offering.iter().map(|z| z.name.to_string()).collect(),
        }),
        None if offering.contains(&default) => Ok(default),
        None => offering.first().copied().ok_or_else(refuse_region),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions::{region, zone, REGIONS};

    fn z(name: &str) -> (&'static Region, &'static Zone) {
        zone(name).unwrap()
    }

    #[test]
    fn tables_are_sorted_and_cover_the_fallback() {
        for table in [REGION_OFFERINGS, ZONE_OFFERINGS] {
            for pair in table.windows(2) {
                assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
            }
        }
        assert!(lookup(REGION_OFFERINGS, FALLBACK_REGION).is_some());
        // No bit beyond the last type.
        for (_, bits) in REGION_OFFERINGS.iter().chain(ZONE_OFFERINGS) {
            for i in INSTANCE_TYPES.len()..WORDS * 64 {
                assert!(!has(bits, i));
            }
        }
    }

    #[test]
    fn every_region_and_zone_offers_types() {
        for r in REGIONS {
            assert!(region_types(r).count() > 100, "{}", r.name);
            for z in r.zones {
                assert!(zone_types(r, z).count() > 20, "{}", z.name);
            }
        }
        let r = region("us-east-1").unwrap();
        for t in ["t1.micro", "t2.nano", "c4.2xlarge", "m1.small", "t3.micro", "m5.large"] {
            assert!(offered_in_region(r, t) && offered_in_zone(r, &r.zones[0], t), "{t}");
        }
    }

    #[test]
    fn some_zones_lack_some_types() {
        let (r, lacking) = z("us-east-1e"); // use1-az3
        assert!(!offered_in_zone(r, lacking, "t3.micro"));
        assert!(offered_in_zone(r, z("us-east-1a").1, "t3.micro"));
        let n_all = region_types(r).count();
        let n_zone = zone_types(r, lacking).count();
        assert!(n_zone < n_all && n_zone > 0, "{n_zone} of {n_all}");
        assert!(!offered_in_region(r, "m5.huge"));
        assert!(!offered_in_zone(r, lacking, "m5.huge"));
    }

    #[test]
    fn uncovered_zones_and_regions_fall_back() {
        let r = region("mx-central-1").unwrap();
        assert!(lookup(REGION_OFFERINGS, r.name).is_none(), "the dataset now covers mx-central-1: pick another");
        let fallback = region(FALLBACK_REGION).unwrap();
        assert_eq!(region_types(r).count(), region_types(fallback).count());
        assert_eq!(zone_types(r, &r.zones[0]).count(), region_types(fallback).count());
    }

    #[test]
    fn place_follows_the_offering() {
        let (r, az_e) = z("us-east-1e");
        let (_, az_a) = z("us-east-1a");
        assert_eq!(place(r, "t3.micro", Some(az_a), az_a), Ok(az_a));
        let err = place(r, "t3.micro", Some(az_e), az_a).unwrap_err();
        let Unsupported::Zone { ref offered_in, ref instance_type, ref zone } = err else { panic!("{err:?}") };
        assert!(!offered_in.contains(&"us-east-1e".to_string()) && offered_in.contains(&"us-east-1a".to_string()));
        assert_eq!((instance_type.as_str(), zone.as_str()), ("t3.micro", "us-east-1e"));
        // Without a requested zone, the default zone when it offers the type, else the first that does.
        assert_eq!(place(r, "t3.micro", None, az_a), Ok(az_a));
        let first = zones_offering(r, "t3.micro")[0];
        assert_eq!(place(r, "t3.micro", None, az_e), Ok(first));
    }

    #[test]
    fn a_type_no_zone_offers_is_refused_for_the_region() {
        let r = region("us-east-1").unwrap();
        let absent = INSTANCE_TYPES.iter().find(|t| zones_offering(r, t.name).is_empty()).expect("such a type");
        let err = place(r, absent.name, None, &r.zones[0]).unwrap_err();
        assert!(matches!(err, Unsupported::Region { .. }));
        assert!(matches!(place(r, absent.name, Some(&r.zones[0]), &r.zones[0]), Err(Unsupported::Region { .. })));
    }
}
