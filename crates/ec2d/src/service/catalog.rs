//! DescribeInstanceTypes and DescribeInstanceTypeOfferings, answered from the built-in catalogues
//! (`ec2_core::catalog`). DescribeImages merges the image catalogue with the account's own images
//! (service/images.rs).

use ec2_core::catalog::instance_types::{EbsBandwidth, InstanceTypeInfo, INSTANCE_TYPES};
use ec2_core::catalog::offerings;
use ec2_core::filters::{Accessor, FilterTable};
use ec2_core::network::{DefaultNetwork, DefaultSubnet};
use ec2_core::regions::{self, Region};
use ec2_protocol::{dto, Code, Ec2Error};

use super::common::{five_to_thousand, paginate, PageBounds};
use super::{dry_run_gate, filters, Ctx, Result};

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn flag(b: bool) -> Vec<String> {
    one(if b { "true" } else { "false" })
}

fn num(n: impl ToString) -> Vec<String> {
    one(n.to_string())
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn ebs_bw(t: &InstanceTypeInfo, f: fn(&EbsBandwidth) -> String) -> Vec<String> {
    t.ebs_bandwidth.as_ref().map(|b| vec![f(b)]).unwrap_or_default()
}

const TYPE_ENTRIES: &[(&str, Accessor<&'static InstanceTypeInfo>)] = &[
    ("auto-recovery-supported", |t| flag(t.auto_recovery_supported)),
    ("bare-metal", |t| flag(t.bare_metal)),
    ("burstable-performance-supported", |t| flag(t.burstable)),
    ("current-generation", |t| flag(t.current_generation)),
    ("dedicated-hosts-supported", |t| flag(t.dedicated_hosts_supported)),
    ("ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps", |t| ebs_bw(t, |b| b.baseline_mbps.to_string())),
    ("ebs-info.ebs-optimized-info.baseline-iops", |t| ebs_bw(t, |b| b.baseline_iops.to_string())),
    ("ebs-info.ebs-optimized-info.baseline-throughput-in-mbps", |t| {
        ebs_bw(t, |b| b.baseline_throughput_mb_per_s.to_string())
    }),
    ("ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps", |t| ebs_bw(t, |b| b.maximum_mbps.to_string())),
    ("ebs-info.ebs-optimized-info.maximum-iops", |t| ebs_bw(t, |b| b.maximum_iops.to_string())),
    ("ebs-info.ebs-optimized-info.maximum-throughput-in-mbps", |t| {
        ebs_bw(t, |b| b.maximum_throughput_mb_per_s.to_string())
    }),
    ("ebs-info.ebs-optimized-support", |t| one(t.ebs_optimized_support)),
    ("ebs-info.encryption-support", |_| one("supported")),
    ("ebs-info.nvme-support", |t| one(t.ebs_nvme_support)),
    ("free-tier-eligible", |t| flag(t.free_tier_eligible)),
    ("hibernation-supported", |t| flag(t.hibernation_supported)),
    ("hypervisor", |t| t.hypervisor.map(one).unwrap_or_default()),
    ("instance-storage-info.disk.count", |t| t.instance_storage.map(|s| num(s.disks)).unwrap_or_default()),
    ("instance-storage-info.disk.size-in-gb", |t| t.instance_storage.map(|s| num(s.disk_size_gb)).unwrap_or_default()),
    ("instance-storage-info.disk.type", |t| t.instance_storage.map(|s| one(s.disk_type)).unwrap_or_default()),
    ("instance-storage-info.encryption-support", |t| t.instance_storage.map(|s| one(s.encryption)).unwrap_or_default()),
    ("instance-storage-info.nvme-support", |t| t.instance_storage.map(|s| one(s.nvme)).unwrap_or_default()),
    ("instance-storage-info.total-size-in-gb", |t| t.instance_storage.map(|s| num(s.total_gb)).unwrap_or_default()),
    ("instance-storage-supported", |t| flag(t.instance_storage.is_some())),
    ("instance-type", |t| one(t.name)),
    ("memory-info.size-in-mib", |t| num(t.memory_mib)),
    ("network-info.efa-supported", |t| flag(t.efa_supported)),
    ("network-info.ena-support", |t| one(t.ena_support)),
    ("network-info.encryption-in-transit-supported", |t| flag(t.encryption_in_transit_supported)),
    ("network-info.ipv4-addresses-per-interface", |t| num(t.ipv4_per_interface)),
    ("network-info.ipv6-addresses-per-interface", |t| num(t.ipv6_per_interface)),
    ("network-info.ipv6-supported", |t| flag(t.ipv6_supported)),
    ("network-info.maximum-network-cards", |t| num(t.max_network_cards)),
    ("network-info.maximum-network-interfaces", |t| num(t.max_network_interfaces)),
    ("network-info.network-performance", |t| one(t.network_performance)),
    ("nitro-enclaves-support", |t| one(t.nitro_enclaves_support)),
    ("nitro-tpm-support", |t| one(t.nitro_tpm_support)),
    ("processor-info.manufacturer", |t| t.manufacturer.map(one).unwrap_or_default()),
    ("processor-info.supported-architecture", |t| strs(t.architectures)),
    ("processor-info.sustained-clock-speed-in-ghz", |t| t.clock_speed_ghz.map(num).unwrap_or_default()),
    ("supported-boot-mode", |t| strs(t.boot_modes)),
    ("supported-root-device-type", |t| strs(t.root_device_types)),
    ("supported-usage-class", |t| strs(t.usage_classes)),
    ("supported-virtualization-type", |t| strs(t.virtualization_types)),
    ("vcpu-info.default-cores", |t| num(t.cores)),
    ("vcpu-info.default-threads-per-core", |t| num(t.threads_per_core)),
    ("vcpu-info.default-vcpus", |t| num(t.vcpus)),
    ("vcpu-info.valid-cores", |t| t.valid_cores.iter().map(u32::to_string).collect()),
    ("vcpu-info.valid-threads-per-core", |t| t.valid_threads_per_core.iter().map(u32::to_string).collect()),
];

static TYPE_FILTERS: FilterTable<&'static InstanceTypeInfo> = FilterTable { entries: TYPE_ENTRIES, tags: None };

fn strings(v: &[&str]) -> Option<Vec<String>> {
    Some(strs(v))
}

fn nonempty_nums(v: &[u32]) -> Option<Vec<i64>> {
    (!v.is_empty()).then(|| v.iter().map(|n| i64::from(*n)).collect())
}

fn instance_type_dto(t: &'static InstanceTypeInfo) -> dto::InstanceTypeInfo {
    dto::InstanceTypeInfo {
        instance_type: Some(t.name.into()),
        current_generation: Some(t.current_generation),
        free_tier_eligible: Some(t.free_tier_eligible),
        supported_usage_classes: strings(t.usage_classes),
        supported_root_device_types: strings(t.root_device_types),
        supported_virtualization_types: strings(t.virtualization_types),
        bare_metal: Some(t.bare_metal),
        hypervisor: t.hypervisor.map(String::from),
        processor_info: Some(dto::ProcessorInfo {
            supported_architectures: strings(t.architectures),
            sustained_clock_speed_in_ghz: t.clock_speed_ghz,
            manufacturer: t.manufacturer.map(String::from),
            ..Default::default()
        }),
        v_cpu_info: Some(dto::VCpuInfo {
            default_v_cpus: Some(i64::from(t.vcpus)),
            default_cores: Some(i64::from(t.cores)),
            default_threads_per_core: Some(i64::from(t.threads_per_core)),
            valid_cores: nonempty_nums(t.valid_cores),
            valid_threads_per_core: nonempty_nums(t.valid_threads_per_core),
        }),
        memory_info: Some(dto::MemoryInfo { size_in_mi_b: Some(t.memory_mib as i64) }),
        instance_storage_supported: Some(t.instance_storage.is_some()),
        instance_storage_info: t.instance_storage.map(|s| dto::InstanceStorageInfo {
            total_size_in_gb: Some(i64::from(s.total_gb)),
            disks: Some(vec![dto::DiskInfo {
                size_in_gb: Some(i64::from(s.disk_size_gb)),
                count: Some(i64::from(s.disks)),
                r#type: Some(s.disk_type.into()),
            }]),
            nvme_support: Some(s.nvme.into()),
            encryption_support: Some(s.encryption.into()),
        }),
        ebs_info: Some(dto::EbsInfo {
            ebs_optimized_support: Some(t.ebs_optimized_support.into()),
            encryption_support: Some("supported".into()),
            nvme_support: Some(t.ebs_nvme_support.into()),
            ebs_optimized_info: t.ebs_bandwidth.map(|b| dto::EbsOptimizedInfo {
                baseline_bandwidth_in_mbps: Some(i64::from(b.baseline_mbps)),
                baseline_throughput_in_m_bps: Some(b.baseline_throughput_mb_per_s),
                baseline_iops: Some(i64::from(b.baseline_iops)),
                maximum_bandwidth_in_mbps: Some(i64::from(b.maximum_mbps)),
                maximum_throughput_in_m_bps: Some(b.maximum_throughput_mb_per_s),
                maximum_iops: Some(i64::from(b.maximum_iops)),
            }),
            maximum_ebs_attachments: t.max_ebs_attachments.map(i64::from),
            ..Default::default()
        }),
        network_info: Some(dto::NetworkInfo {
            network_performance: Some(t.network_performance.into()),
            maximum_network_interfaces: Some(i64::from(t.max_network_interfaces)),
            maximum_network_cards: Some(i64::from(t.max_network_cards)),
            default_network_card_index: Some(0),
            network_cards: Some(vec![dto::NetworkCardInfo {
                network_card_index: Some(0),
                network_performance: Some(t.network_performance.into()),
                maximum_network_interfaces: Some(i64::from(t.max_network_interfaces)),
                baseline_bandwidth_in_gbps: t.baseline_bandwidth_gbps,
                peak_bandwidth_in_gbps: t.peak_bandwidth_gbps,
                ..Default::default()
            }]),
            ipv4_addresses_per_interface: Some(i64::from(t.ipv4_per_interface)),
            ipv6_addresses_per_interface: Some(i64::from(t.ipv6_per_interface)),
            ipv6_supported: Some(t.ipv6_supported),
            ena_support: Some(t.ena_support.into()),
            efa_supported: Some(t.efa_supported),
            encryption_in_transit_supported: Some(t.encryption_in_transit_supported),
            ..Default::default()
        }),
        gpu_info: t.gpus.map(|g| dto::GpuInfo {
            gpus: Some(vec![dto::GpuDeviceInfo {
                name: Some(g.name.into()),
                manufacturer: Some(g.manufacturer.into()),
                count: Some(i64::from(g.count)),
                memory_info: Some(dto::GpuDeviceMemoryInfo { size_in_mi_b: Some(i64::from(g.memory_mib)) }),
                ..Default::default()
            }]),
            total_gpu_memory_in_mi_b: Some(i64::from(g.count) * i64::from(g.memory_mib)),
        }),
        placement_group_info: Some(dto::PlacementGroupInfo { supported_strategies: strings(t.placement_strategies) }),
        hibernation_supported: Some(t.hibernation_supported),
        burstable_performance_supported: Some(t.burstable),
        dedicated_hosts_supported: Some(t.dedicated_hosts_supported),
        auto_recovery_supported: Some(t.auto_recovery_supported),
        supported_boot_modes: strings(t.boot_modes),
        nitro_enclaves_support: Some(t.nitro_enclaves_support.into()),
        nitro_tpm_support: Some(t.nitro_tpm_support.into()),
        ..Default::default()
    }
}

pub fn describe_instance_types(
    ctx: &Ctx<'_>,
    req: &dto::DescribeInstanceTypesRequest,
) -> Result<dto::DescribeInstanceTypesResult> {
    let filters = filters(&TYPE_FILTERS, &req.filters)?;
    let names = req.instance_types.as_deref().unwrap_or_default();
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| ec2_core::catalog::instance_types::instance_type(n).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(Ec2Error::new(
            Code::InvalidInstanceType,
            format!("The following supplied instance types do not exist: [{}]", unknown.join(", ")),
        )
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let types: Vec<&'static InstanceTypeInfo> = INSTANCE_TYPES
        .iter()
        .filter(|t| names.is_empty() || names.iter().any(|n| n == t.name))
        .filter(|t| TYPE_FILTERS.matches(t, &filters))
        .collect();
    let bounds = PageBounds {
        min: 5,
        max: 100,
        cap_above_max: false,
        message: |n| format!("Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 5 and 100."),
    };
    // Like EC2, a request without MaxResults gets one page of 100 and a NextToken.
    let max_results = req.max_results.or(Some(100));
    let (page, next) = paginate(types, |t| t.name.to_string(), max_results, req.next_token.as_deref(), &bounds)?;
    Ok(dto::DescribeInstanceTypesResult {
        instance_types: Some(page.into_iter().map(instance_type_dto).collect()),
        next_token: next,
    })
}

/// One row of `DescribeInstanceTypeOfferings`: a type offered at a location of the request's type.
#[derive(Clone, Copy)]
struct Offering {
    instance_type: &'static str,
    location: &'static str,
}

const OFFERING_ENTRIES: &[(&str, Accessor<Offering>)] =
    &[("instance-type", |o| one(o.instance_type)), ("location", |o| one(o.location))];

static OFFERING_FILTERS: FilterTable<Offering> = FilterTable { entries: OFFERING_ENTRIES, tags: None };

const LOCATION_TYPES: [&str; 4] = ["region", "availability-zone", "availability-zone-id", "outpost"];

/// The offerings of the caller's region at one location type, sorted by (location, instance type).
fn offerings(region: Option<&'static Region>, location_type: &str) -> Vec<Offering> {
    let Some(region) = region else { return Vec::new() };
    let of = |location: &'static str, types: &mut dyn Iterator<Item = &'static InstanceTypeInfo>| {
        types.map(|t| Offering { instance_type: t.name, location }).collect::<Vec<_>>()
    };
    let mut rows = match location_type {
        "region" => of(region.name, &mut offerings::region_types(region)),
        "availability-zone" => {
            region.zones.iter().flat_map(|z| of(z.name, &mut offerings::zone_types(region, z))).collect()
        }
        "availability-zone-id" => {
            region.zones.iter().flat_map(|z| of(z.id, &mut offerings::zone_types(region, z))).collect()
        }
        // ec2d has no Outposts.
        _ => Vec::new(),
    };
    rows.sort_by(|a, b| (a.location, a.instance_type).cmp(&(b.location, b.instance_type)));
    rows
}

pub fn describe_instance_type_offerings(
    ctx: &Ctx<'_>,
    req: &dto::DescribeInstanceTypeOfferingsRequest,
) -> Result<dto::DescribeInstanceTypeOfferingsResult> {
    let location_type = req.location_type.as_deref().unwrap_or("region");
    if !LOCATION_TYPES.contains(&location_type) {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({location_type}) for parameter locationType is invalid. Valid values are {}.",
            LOCATION_TYPES.join(", ")
        ))
        .into());
    }
    let filters = filters(&OFFERING_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let rows: Vec<Offering> = offerings(regions::region(&ctx.scope.region), location_type)
        .into_iter()
        .filter(|o| OFFERING_FILTERS.matches(o, &filters))
        .collect();
    let key = |o: &Offering| format!("{} {}", o.location, o.instance_type);
    let (page, next) = paginate(rows, key, req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeInstanceTypeOfferingsResult {
        instance_type_offerings: Some(
            page.into_iter()
                .map(|o| dto::InstanceTypeOffering {
                    instance_type: Some(o.instance_type.into()),
                    location_type: Some(location_type.into()),
                    location: Some(o.location.into()),
                })
                .collect(),
        ),
        next_token: next,
    })
}

/// The subnet of a RunInstances-shaped launch of `itype`, given the one `launch::placement` chose: a
/// requested zone (by name, id or subnet) must offer the type (else `Unsupported`, as EC2 answers);
/// without one, a zone that offers it (`offerings::place`).
pub fn offered_subnet<'n>(
    ctx: &Ctx<'_>,
    net: &'n DefaultNetwork,
    req: &dto::RunInstancesRequest,
    itype: &InstanceTypeInfo,
    chosen: &'n DefaultSubnet,
) -> Result<&'n DefaultSubnet> {
    let Some(region) = regions::region(&ctx.scope.region) else { return Ok(chosen) };
    let nic_subnet = req.network_interfaces.as_ref().and_then(|n| n.first()).and_then(|n| n.subnet_id.as_ref());
    let requested = req.subnet_id.is_some()
        || nic_subnet.is_some()
        || req.placement.as_ref().is_some_and(|p| p.availability_zone.is_some() || p.availability_zone_id.is_some());
    let zone = offerings::place(region, itype.name, requested.then_some(chosen.zone), chosen.zone)
        .map_err(super::errors::unsupported)?;
    Ok(net.subnets.iter().find(|s| s.zone == zone).unwrap_or(chosen))
}
