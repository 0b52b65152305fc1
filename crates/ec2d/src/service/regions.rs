//! DescribeRegions and DescribeAvailabilityZones, answered from the built-in catalogue
//! (`ec2_core::regions`).
//!
//! Choices where AWS's behaviour depends on the account: regions that need opting in report
//! `not-opted-in` and are listed only with `AllRegions=true` or when named, as for a new account;
//! ec2d still serves requests in every region. Unknown names in `RegionName.N` or `ZoneName.N` /
//! `ZoneId.N` get `InvalidParameterValue` (message wording is ec2d's own; AWS's was not captured).

use ec2_core::filters::FilterTable;
use ec2_core::regions::{self, Region, Zone, REGIONS};
use ec2_protocol::{dto, Ec2Error};

use super::{dry_run_gate, filters, Ctx, Result};

fn opt_in_status(r: &Region) -> &'static str {
    if r.opt_in_required {
        "not-opted-in"
    } else {
        "opt-in-not-required"
    }
}

fn endpoint(r: &Region) -> String {
    format!("ec2.{}.amazonaws.com", r.name)
}

static REGION_FILTERS: FilterTable<&'static Region> = FilterTable {
    entries: &[
        ("endpoint", |r| vec![endpoint(r)]),
        ("opt-in-status", |r| vec![opt_in_status(r).to_string()]),
        ("region-name", |r| vec![r.name.to_string()]),
    ],
    tags: None,
};

pub fn describe_regions(ctx: &Ctx<'_>, req: &dto::DescribeRegionsRequest) -> Result<dto::DescribeRegionsResult> {
    let filters = filters(&REGION_FILTERS, &req.filters)?;
    let names = req.region_names.as_deref().unwrap_or_default();
    if let Some(bad) = names.iter().find(|n| regions::region(n).is_none()) {
        return Err(Ec2Error::invalid_parameter_value(format!("Invalid region: {bad}")).into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let all = req.all_regions == Some(true);
    let regions = REGIONS
        .iter()
        .filter(|r| if names.is_empty() { all || !r.opt_in_required } else { names.iter().any(|n| n == r.name) })
        .filter(|r| REGION_FILTERS.matches(r, &filters))
        .map(|r| dto::Region {
            region_name: Some(r.name.to_string()),
            endpoint: Some(endpoint(r)),
            opt_in_status: Some(opt_in_status(r).to_string()),
            geography: None,
        })
        .collect();
    Ok(dto::DescribeRegionsResult { regions: Some(regions) })
}

/// A zone with its region.
struct ZoneView {
    region: &'static Region,
    zone: &'static Zone,
}

impl ZoneView {
    fn group_long_name(&self) -> String {
        format!("{} 1", self.region.long_name)
    }
}

static ZONE_FILTERS: FilterTable<ZoneView> = FilterTable {
    entries: &[
        ("group-long-name", |z| vec![z.group_long_name()]),
        ("group-name", |z| vec![z.region.name.to_string()]),
        ("message", |_| vec![]),
        ("network-border-group", |z| vec![z.region.name.to_string()]),
        ("opt-in-status", |_| vec!["opt-in-not-required".to_string()]),
        ("parent-zone-id", |_| vec![]),
        ("parent-zone-name", |_| vec![]),
        ("region-name", |z| vec![z.region.name.to_string()]),
        ("state", |_| vec!["available".to_string()]),
        ("zone-id", |z| vec![z.zone.id.to_string()]),
        ("zone-name", |z| vec![z.zone.name.to_string()]),
        ("zone-type", |_| vec!["availability-zone".to_string()]),
    ],
    tags: None,
};

pub fn describe_availability_zones(
    ctx: &Ctx<'_>,
    req: &dto::DescribeAvailabilityZonesRequest,
) -> Result<dto::DescribeAvailabilityZonesResult> {
    let filters = filters(&ZONE_FILTERS, &req.filters)?;
    let zones: Vec<ZoneView> = regions::region(&ctx.scope.region)
        .map(|region| region.zones.iter().map(|zone| ZoneView { region, zone }).collect())
        .unwrap_or_default();
    let names = req.zone_names.as_deref().unwrap_or_default();
    let ids = req.zone_ids.as_deref().unwrap_or_default();
    let unknown: Vec<&String> = names
        .iter()
        .filter(|n| !zones.iter().any(|z| z.zone.name == n.as_str()))
        .chain(ids.iter().filter(|i| !zones.iter().any(|z| z.zone.id == i.as_str())))
        .collect();
    if !unknown.is_empty() {
        let list = unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        return Err(Ec2Error::invalid_parameter_value(format!("Invalid availability zone: [{list}]")).into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let availability_zones = zones
        .iter()
        .filter(|z| {
            (names.is_empty() && ids.is_empty())
                || names.iter().any(|n| n == z.zone.name)
                || ids.iter().any(|i| i == z.zone.id)
        })
        .filter(|z| ZONE_FILTERS.matches(z, &filters))
        .map(|z| dto::AvailabilityZone {
            state: Some("available".into()),
            opt_in_status: Some("opt-in-not-required".into()),
            messages: Some(vec![]),
            region_name: Some(z.region.name.into()),
            zone_name: Some(z.zone.name.into()),
            zone_id: Some(z.zone.id.into()),
            group_name: Some(z.region.name.into()),
            group_long_name: Some(z.group_long_name()),
            network_border_group: Some(z.region.name.into()),
            zone_type: Some("availability-zone".into()),
            ..Default::default()
        })
        .collect();
    Ok(dto::DescribeAvailabilityZonesResult { availability_zones: Some(availability_zones) })
}
