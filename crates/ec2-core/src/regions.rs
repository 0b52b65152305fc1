//! Built-in catalogue of the commercial AWS regions (partition `aws`) and their availability zones.
//!
//! The emulator answers `DescribeRegions` and `DescribeAvailabilityZones` from this table and uses it to
//! check every region and zone a request names. China (`aws-cn`), GovCloud (`aws-us-gov`), the European
//! Sovereign Cloud and the ISO partitions are left out, as are announced regions that have not launched,
//! Local Zones and Wavelength Zones: only the standard availability zones of each region are listed.
//!
//! **Sources.** The region list and long names follow the AWS "AWS Regions" page of the *Regions and
//! Availability Zones* guide and the `aws` partition of the SDK endpoint data (`partitions.json`); the
//! opt-in status follows the same page (regions launched after 20 March 2019 must be enabled); the zone
//! ids follow the guide's "AWS Availability Zones" table, which also lists the fourth London zone
//! (`euw2-az4`, added in 2026).
//!
//! **Zone ids.** A zone id (`use1-az6`) names the same physical zone in every account. A zone *name*
//! (`us-east-1a`) is mapped to an id per account in the oldest regions (us-east-1, us-west-1, us-west-2,
//! ap-southeast-1, ap-southeast-2, ap-northeast-1, eu-west-1, sa-east-1) and uniformly everywhere else.
//! The table therefore describes the zones as one account sees them: in uniformly mapped regions the
//! mapping is the one every account gets (so `eu-central-1a` is `euc1-az2`, `ap-south-1b` is `aps1-az3`,
//! `ap-northeast-3a` is `apne3-az3`, `ca-central-1d` is `cac1-az4`); in independently mapped regions it is
//! one real account's mapping as published in public infrastructure code (for example `us-east-1a` is
//! `use1-az4` and `us-west-2a` is `usw2-az2`).
//!
//! **Choices.** us-west-1 lists the two zones that newer accounts get (`us-west-1a`/`usw1-az1` and
//! `us-west-1c`/`usw1-az3`); ap-northeast-1 lists `a`, `c` and `d` (`apne1-az4`, `apne1-az1`,
//! `apne1-az2`), leaving out the constrained `apne1-az3` that newer accounts no longer see. The new
//! London zone is `eu-west-2d`/`euw2-az4`, as public notes about it name it; the ap-east-2 mapping
//! (`a`..`c` to `ape2-az1`..`az3`) is assumed from the pattern of the other new regions. Long names are
//! written as in the AWS regions page, so sa-east-1 is
//! "South America (São Paulo)" (the SDK endpoint data spells it "Sao Paulo").

/// A standard availability zone: its name as the account sees it and AWS's fixed zone id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    /// The zone name, e.g. `us-east-1a`.
    pub name: &'static str,
    /// The zone id, e.g. `use1-az4`.
    pub id: &'static str,
}

/// A commercial AWS region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The region code, e.g. `us-east-1`.
    pub name: &'static str,
    /// The display name as AWS writes it, e.g. `US East (N. Virginia)`.
    pub long_name: &'static str,
    /// Whether the region must be enabled before use (regions launched after 20 March 2019).
    pub opt_in_required: bool,
    /// The standard availability zones, sorted by name (no Local Zones, no Wavelength Zones).
    pub zones: &'static [Zone],
}

const fn z(name: &'static str, id: &'static str) -> Zone {
    Zone { name, id }
}

/// Every commercial region, sorted by name.
pub static REGIONS: &[Region] = &[
    Region {
        name: "af-south-1",
        long_name: "Africa (Cape Town)",
        opt_in_required: true,
        zones: &[z("af-south-1a", "afs1-az1"), z("af-south-1b", "afs1-az2"), z("af-south-1c", "afs1-az3")],
    },
    Region {
        name: "ap-east-1",
        long_name: "Asia Pacific (Hong Kong)",
        opt_in_required: true,
        zones: &[z("ap-east-1a", "ape1-az1"), z("ap-east-1b", "ape1-az2"), z("ap-east-1c", "ape1-az3")],
    },
    Region {
        name: "ap-east-2",
        long_name: "Asia Pacific (Taipei)",
        opt_in_required: true,
        zones: &[z("ap-east-2a", "ape2-az1"), z("ap-east-2b", "ape2-az2"), z("ap-east-2c", "ape2-az3")],
    },
    Region {
        name: "ap-northeast-1",
        long_name: "Asia Pacific (Tokyo)",
        opt_in_required: false,
        zones: &[
            z("ap-northeast-1a", "apne1-az4"),
            z("ap-northeast-1c", "apne1-az1"),
            z("ap-northeast-1d", "apne1-az2"),
        ],
    },
    Region {
        name: "ap-northeast-2",
        long_name: "Asia Pacific (Seoul)",
        opt_in_required: false,
        zones: &[
            z("ap-northeast-2a", "apne2-az1"),
            z("ap-northeast-2b", "apne2-az2"),
            z("ap-northeast-2c", "apne2-az3"),
            z("ap-northeast-2d", "apne2-az4"),
        ],
    },
    Region {
        name: "ap-northeast-3",
        long_name: "Asia Pacific (Osaka)",
        opt_in_required: false,
        zones: &[
            z("ap-northeast-3a", "apne3-az3"),
            z("ap-northeast-3b", "apne3-az1"),
            z("ap-northeast-3c", "apne3-az2"),
        ],
    },
    Region {
        name: "ap-south-1",
        long_name: "Asia Pacific (Mumbai)",
        opt_in_required: false,
        zones: &[z("ap-south-1a", "aps1-az1"), z("ap-south-1b", "aps1-az3"), z("ap-south-1c", "aps1-az2")],
    },
    Region {
        name: "ap-south-2",
        long_name: "Asia Pacific (Hyderabad)",
        opt_in_required: true,
        zones: &[z("ap-south-2a", "aps2-az1"), z("ap-south-2b", "aps2-az2"), z("ap-south-2c", "aps2-az3")],
    },
    Region {
        name: "ap-southeast-1",
        long_name: "Asia Pacific (Singapore)",
        opt_in_required: false,
        zones: &[
            z("ap-southeast-1a", "apse1-az1"),
            z("ap-southeast-1b", "apse1-az2"),
            z("ap-southeast-1c", "apse1-az3"),
        ],
    },
    Region {
        name: "ap-southeast-2",
        long_name: "Asia Pacific (Sydney)",
        opt_in_required: false,
        zones: &[
            z("ap-southeast-2a", "apse2-az1"),
            z("ap-southeast-2b", "apse2-az3"),
            z("ap-southeast-2c", "apse2-az2"),
        ],
    },
    Region {
        name: "ap-southeast-3",
        long_name: "Asia Pacific (Jakarta)",
        opt_in_required: true,
        zones: &[
            z("ap-southeast-3a", "apse3-az1"),
            z("ap-southeast-3b", "apse3-az2"),
            z("ap-southeast-3c", "apse3-az3"),
        ],
    },
    Region {
        name: "ap-southeast-4",
        long_name: "Asia Pacific (Melbourne)",
        opt_in_required: true,
        zones: &[
            z("ap-southeast-4a", "apse4-az1"),
            z("ap-southeast-4b", "apse4-az2"),
            z("ap-southeast-4c", "apse4-az3"),
        ],
    },
    Region {
        name: "ap-southeast-5",
        long_name: "Asia Pacific (Malaysia)",
        opt_in_required: true,
        zones: &[
            z("ap-southeast-5a", "apse5-az1"),
            z("ap-southeast-5b", "apse5-az2"),
            z("ap-southeast-5c", "apse5-az3"),
        ],
    },
    Region {
        name: "ap-southeast-6",
        long_name: "Asia Pacific (New Zealand)",
        opt_in_required: true,
        zones: &[
            z("ap-southeast-6a", "apse6-az1"),
            z("ap-southeast-6b", "apse6-az2"),
            z("ap-southeast-6c", "apse6-az3"),
        ],
    },
    Region {
        name: "ap-southeast-7",
        long_name: "Asia Pacific (Thailand)",
        opt_in_required: true,
        zones: &[
            z("ap-southeast-7a", "apse7-az1"),
            z("ap-southeast-7b", "apse7-az2"),
            z("ap-southeast-7c", "apse7-az3"),
        ],
    },
    Region {
        name: "ca-central-1",
        long_name: "Canada (Central)",
        opt_in_required: false,
        zones: &[z("ca-central-1a", "cac1-az1"), z("ca-central-1b", "cac1-az2"), z("ca-central-1d", "cac1-az4")],
    },
    Region {
        name: "ca-west-1",
        long_name: "Canada West (Calgary)",
        opt_in_required: true,
        zones: &[z("ca-west-1a", "caw1-az1"), z("ca-west-1b", "caw1-az2"), z("ca-west-1c", "caw1-az3")],
    },
    Region {
        name: "eu-central-1",
        long_name: "Europe (Frankfurt)",
        opt_in_required: false,
        zones: &[z("eu-central-1a", "euc1-az2"), z("eu-central-1b", "euc1-az3"), z("eu-central-1c", "euc1-az1")],
    },
    Region {
        name: "eu-central-2",
        long_name: "Europe (Zurich)",
        opt_in_required: true,
        zones: &[z("eu-central-2a", "euc2-az1"), z("eu-central-2b", "euc2-az2"), z("eu-central-2c", "euc2-az3")],
    },
    Region {
        name: "eu-north-1",
        long_name: "Europe (Stockholm)",
        opt_in_required: false,
        zones: &[z("eu-north-1a", "eun1-az1"), z("eu-north-1b", "eun1-az2"), z("eu-north-1c", "eun1-az3")],
    },
    Region {
        name: "eu-south-1",
        long_name: "Europe (Milan)",
        opt_in_required: true,
        zones: &[z("eu-south-1a", "eus1-az1"), z("eu-south-1b", "eus1-az2"), z("eu-south-1c", "eus1-az3")],
    },
    Region {
        name: "eu-south-2",
        long_name: "Europe (Spain)",
        opt_in_required: true,
        zones: &[z("eu-south-2a", "eus2-az1"), z("eu-south-2b", "eus2-az2"), z("eu-south-2c", "eus2-az3")],
    },
    Region {
        name: "eu-west-1",
        long_name: "Europe (Ireland)",
        opt_in_required: false,
        zones: &[z("eu-west-1a", "euw1-az2"), z("eu-west-1b", "euw1-az3"), z("eu-west-1c", "euw1-az1")],
    },
    Region {
        name: "eu-west-2",
        long_name: "Europe (London)",
        opt_in_required: false,
        zones: &[
            z("eu-west-2a", "euw2-az2"),
            z("eu-west-2b", "euw2-az3"),
            z("eu-west-2c", "euw2-az1"),
            z("eu-west-2d", "euw2-az4"),
        ],
    },
    Region {
        name: "eu-west-3",
        long_name: "Europe (Paris)",
        opt_in_required: false,
        zones: &[z("eu-west-3a", "euw3-az1"), z("eu-west-3b", "euw3-az2"), z("eu-west-3c", "euw3-az3")],
    },
    Region {
        name: "il-central-1",
        long_name: "Israel (Tel Aviv)",
        opt_in_required: true,
        zones: &[z("il-central-1a", "ilc1-az1"), z("il-central-1b", "ilc1-az2"), z("il-central-1c", "ilc1-az3")],
    },
    Region {
        name: "me-central-1",
        long_name: "Middle East (UAE)",
        opt_in_required: true,
        zones: &[z("me-central-1a", "mec1-az1"), z("me-central-1b", "mec1-az2"), z("me-central-1c", "mec1-az3")],
    },
    Region {
        name: "me-south-1",
        long_name: "Middle East (Bahrain)",
        opt_in_required: true,
        zones: &[z("me-south-1a", "mes1-az1"), z("me-south-1b", "mes1-az2"), z("me-south-1c", "mes1-az3")],
    },
    Region {
        name: "mx-central-1",
        long_name: "Mexico (Central)",
        opt_in_required: true,
        zones: &[z("mx-central-1a", "mxc1-az1"), z("mx-central-1b", "mxc1-az2"), z("mx-central-1c", "mxc1-az3")],
    },
    Region {
        name: "sa-east-1",
        long_name: "South America (São Paulo)",
        opt_in_required: false,
        zones: &[z("sa-east-1a", "sae1-az1"), z("sa-east-1b", "sae1-az2"), z("sa-east-1c", "sae1-az3")],
    },
    Region {
        name: "us-east-1",
        long_name: "US East (N. Virginia)",
        opt_in_required: false,
        zones: &[
            z("us-east-1a", "use1-az4"),
            z("us-east-1b", "use1-az6"),
            z("us-east-1c", "use1-az1"),
            z("us-east-1d", "use1-az2"),
            z("us-east-1e", "use1-az3"),
            z("us-east-1f", "use1-az5"),
        ],
    },
    Region {
        name: "us-east-2",
        long_name: "US East (Ohio)",
        opt_in_required: false,
        zones: &[z("us-east-2a", "use2-az1"), z("us-east-2b", "use2-az2"), z("us-east-2c", "use2-az3")],
    },
    Region {
        name: "us-west-1",
        long_name: "US West (N. California)",
        opt_in_required: false,
        zones: &[z("us-west-1a", "usw1-az1"), z("us-west-1c", "usw1-az3")],
    },
    Region {
        name: "us-west-2",
        long_name: "US West (Oregon)",
        opt_in_required: false,
        zones: &[
            z("us-west-2a", "usw2-az2"),
            z("us-west-2b", "usw2-az1"),
            z("us-west-2c", "usw2-az3"),
            z("us-west-2d", "usw2-az4"),
        ],
    },
];

/// Looks a region up by its code, e.g. `us-east-1`.
pub fn region(name: &str) -> Option<&'static Region> {
    // A server answers mostly one region: the thread's last one is compared first (one comparison rather
    // than a binary search's half dozen, on every request's scope).
    thread_local! {
        static LAST: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    LAST.with(|last| {
        if let Some(r) = REGIONS.get(last.get()).filter(|r| r.name == name) {
            return Some(r);
        }
        let i = REGIONS.binary_search_by(|r| r.name.cmp(name)).ok()?;
        last.set(i);
        Some(&REGIONS[i])
    })
}

/// Looks a zone up by its name, e.g. `us-east-1a`, and returns it with its region.
pub fn zone(name: &str) -> Option<(&'static Region, &'static Zone)> {
    // A zone name is its region's code followed by one letter.
    let (last, _) = name.char_indices().last()?;
    let region = region(&name[..last])?;
    let zone = region.zones.iter().find(|z| z.name == name)?;
    Some((region, zone))
}

/// Looks a zone up by its zone id, e.g. `use1-az6`, and returns it with its region.
pub fn zone_by_id(id: &str) -> Option<(&'static Region, &'static Zone)> {
    REGIONS.iter().find_map(|r| r.zones.iter().find(|z| z.id == id).map(|z| (r, z)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn regions_are_sorted_and_unique() {
        assert!(REGIONS.windows(2).all(|w| w[0].name < w[1].name), "REGIONS must be strictly sorted by name");
        let names: HashSet<_> = REGIONS.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), REGIONS.len());
    }

    /// The thread's last region is only a shortcut: every name finds its region in any order, repeated or
    /// not, and a name next to a known one (a prefix, one byte more) finds none.
    #[test]
    fn region_finds_each_name_whatever_came_before() {
        for _ in 0..2 {
            for r in REGIONS.iter().chain(REGIONS.iter().rev()) {
                assert_eq!(region(r.name).map(|f| f.name), Some(r.name));
                assert_eq!(region(r.name).map(|f| f.name), Some(r.name));
                assert!(region(&r.name[..r.name.len() - 1]).is_none_or(|f| f.name != r.name));
                assert!(region(&format!("{}0", r.name)).is_none(), "{}", r.name);
                assert!(region("").is_none());
            }
        }
        assert!(region("us-east-1").is_some_and(|r| r.name == "us-east-1"));
        assert!(region("US-EAST-1").is_none());
    }

    #[test]
    fn every_region_has_zones_and_a_long_name() {
        for r in REGIONS {
            assert!(r.zones.len() >= 2, "{} has too few zones", r.name);
            assert!(!r.long_name.is_empty(), "{} has no long name", r.name);
        }
    }

    #[test]
    fn zone_names_extend_their_region_name() {
        for r in REGIONS {
            assert!(r.zones.windows(2).all(|w| w[0].name < w[1].name), "zones of {} must be sorted", r.name);
            for z in r.zones {
                let suffix = z.name.strip_prefix(r.name).unwrap_or_else(|| panic!("{} not in {}", z.name, r.name));
                assert_eq!(suffix.len(), 1, "{}", z.name);
                assert!(suffix.bytes().all(|b| b.is_ascii_lowercase()), "{}", z.name);
            }
        }
    }

    #[test]
    fn zone_ids_are_unique_and_well_formed() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for r in REGIONS {
            // All zones of a region share one short prefix, e.g. `use1` in `use1-az4`.
            let mut prefixes = HashSet::new();
            for z in r.zones {
                assert!(ids.insert(z.id), "zone id {} appears twice", z.id);
                assert!(names.insert(z.name), "zone name {} appears twice", z.name);
                let (prefix, number) = z.id.split_once("-az").unwrap_or_else(|| panic!("bad zone id {}", z.id));
                assert!(!prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_alphanumeric()), "{}", z.id);
                assert!(number.parse::<u8>().is_ok_and(|n| n > 0), "{}", z.id);
                // The prefix ends with the region's trailing number (`use1` for `us-east-1`).
                let region_number = r.name.rsplit('-').next().unwrap();
                assert!(prefix.ends_with(region_number), "{} in {}", z.id, r.name);
                prefixes.insert(prefix);
            }
            assert_eq!(prefixes.len(), 1, "zone ids of {} use more than one prefix", r.name);
        }
    }

    #[test]
    fn region_lookup() {
        let r = region("us-east-1").unwrap();
        assert_eq!(r.long_name, "US East (N. Virginia)");
        assert!(!r.opt_in_required);
        assert_eq!(r.zones.len(), 6);
        assert_eq!(
            r.zones.iter().map(|z| z.name).collect::<Vec<_>>(),
            ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]
        );
        assert!(region("af-south-1").unwrap().opt_in_required);
        assert_eq!(region("sa-east-1").unwrap().long_name, "South America (São Paulo)");
        for r in REGIONS {
            assert_eq!(region(r.name), Some(r));
        }
        assert_eq!(region("us-east-9"), None);
        assert_eq!(region("cn-north-1"), None);
        assert_eq!(region("us-gov-west-1"), None);
        assert_eq!(region(""), None);
        assert_eq!(region("US-EAST-1"), None);
    }

    #[test]
    fn zone_lookup() {
        let (r, z) = zone("us-east-1a").unwrap();
        assert_eq!(r.name, "us-east-1");
        assert_eq!(z.name, "us-east-1a");
        let (r, z) = zone("ap-northeast-1a").unwrap();
        assert_eq!((r.name, z.id), ("ap-northeast-1", "apne1-az4"));
        assert_eq!(zone("us-west-1c").unwrap().1.id, "usw1-az3");
        for r in REGIONS {
            for z in r.zones {
                assert_eq!(zone(z.name), Some((r, z)));
            }
        }
        assert_eq!(zone("us-west-1b"), None);
        assert_eq!(zone("ap-northeast-1b"), None);
        assert_eq!(zone("us-east-1z"), None);
        assert_eq!(zone("us-east-1"), None);
        assert_eq!(zone("us-east-1aa"), None);
        assert_eq!(zone("nowhere-1a"), None);
        assert_eq!(zone("us-east-1-bos-1a"), None);
        assert_eq!(zone("us-east-1é"), None);
        assert_eq!(zone(""), None);
    }

    #[test]
    fn zone_by_id_lookup() {
        let (r, z) = zone_by_id("use1-az6").unwrap();
        assert_eq!(r.name, "us-east-1");
        assert_eq!(z.id, "use1-az6");
        let (r, z) = zone_by_id("apne1-az1").unwrap();
        assert_eq!((r.name, z.name), ("ap-northeast-1", "ap-northeast-1c"));
        for r in REGIONS {
            for z in r.zones {
                assert_eq!(zone_by_id(z.id), Some((r, z)));
            }
        }
        assert_eq!(zone_by_id("use1-az7"), None);
        assert_eq!(zone_by_id("us-east-1a"), None);
        assert_eq!(zone_by_id("use1-bos1-az1"), None);
        assert_eq!(zone_by_id(""), None);
    }

    #[test]
    fn opt_in_regions() {
        let opt_in: Vec<_> = REGIONS.iter().filter(|r| r.opt_in_required).map(|r| r.name).collect();
        assert_eq!(
            opt_in,
            [
                "af-south-1",
                "ap-east-1",
                "ap-east-2",
                "ap-south-2",
                "ap-southeast-3",
                "ap-southeast-4",
                "ap-southeast-5",
                "ap-southeast-6",
                "ap-southeast-7",
                "ca-west-1",
                "eu-central-2",
                "eu-south-1",
                "eu-south-2",
                "il-central-1",
                "me-central-1",
                "me-south-1",
                "mx-central-1",
            ]
        );
    }
}
