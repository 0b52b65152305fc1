//! DescribeInstanceTypes, answered from the built-in catalogue (`ec2_core::catalog`). DescribeImages
//! merges the image catalogue with the account's own images (service/images.rs).

use ec2_core::catalog::instance_types::{InstanceTypeInfo, INSTANCE_TYPES};
use ec2_core::filters::{Accessor, FilterTable};
use ec2_protocol::{dto, Code, Ec2Error};

use super::common::{paginate, PageBounds};
use super::{dry_run_gate, filters, Ctx, Result};

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn flag(b: bool) -> Vec<String> {
    one(if b { "true" } else { "false" })
}

const TYPE_ENTRIES: &[(&str, Accessor<&'static InstanceTypeInfo>)] = &[
    ("auto-recovery-supported", |t| flag(!t.bare_metal && t.instance_storage.is_none())),
    ("bare-metal", |t| flag(t.bare_metal)),
    ("burstable-performance-supported", |t| flag(t.burstable)),
    ("current-generation", |t| flag(t.current_generation)),
    ("dedicated-hosts-supported", |t| flag(!t.burstable)),
    ("ebs-info.ebs-optimized-support", |t| one(t.ebs_optimized_support)),
    ("ebs-info.encryption-support", |_| one("supported")),
    ("ebs-info.nvme-support", |t| one(if t.hypervisor == Some("xen") { "unsupported" } else { "required" })),
    ("free-tier-eligible", |t| flag(t.free_tier_eligible)),
    ("hibernation-supported", |t| flag(t.hibernation_supported)),
    ("hypervisor", |t| t.hypervisor.map(one).unwrap_or_default()),
    ("instance-storage-info.disk.count", |t| t.instance_storage.map(|s| one(s.disks.to_string())).unwrap_or_default()),
    ("instance-storage-info.disk.size-in-gb", |t| {
        t.instance_storage.map(|s| one(s.disk_size_gb.to_string())).unwrap_or_default()
    }),
    ("instance-storage-info.disk.type", |t| t.instance_storage.map(|s| one(s.disk_type)).unwrap_or_default()),
    ("instance-storage-info.nvme-support", |t| t.instance_storage.map(|s| one(s.nvme)).unwrap_or_default()),
    ("instance-storage-info.total-size-in-gb", |t| {
        t.instance_storage.map(|s| one(s.total_gb.to_string())).unwrap_or_default()
    }),
    ("instance-storage-supported", |t| flag(t.instance_storage.is_some())),
    ("instance-type", |t| one(t.name)),
    ("memory-info.size-in-mib", |t| one(t.memory_mib.to_string())),
    ("network-info.ena-support", |t| one(t.ena_support)),
    ("network-info.ipv4-addresses-per-interface", |t| one(t.ipv4_per_interface.to_string())),
    ("network-info.ipv6-supported", |t| flag(t.hypervisor != Some("xen") || t.current_generation)),
    ("network-info.maximum-network-interfaces", |t| one(t.max_network_interfaces.to_string())),
    ("network-info.network-performance", |t| one(t.network_performance)),
    ("processor-info.supported-architecture", |t| t.architectures.iter().map(|a| a.to_string()).collect()),
    ("processor-info.sustained-clock-speed-in-ghz", |t| {
        t.clock_speed_ghz.map(|c| one(c.to_string())).unwrap_or_default()
    }),
    ("supported-boot-mode", |t| {
        if t.architectures.contains(&"arm64") {
            one("uefi")
        } else {
            vec!["legacy-bios".into(), "uefi".into()]
        }
    }),
    ("supported-root-device-type", |t| t.root_device_types.iter().map(|a| a.to_string()).collect()),
    ("supported-usage-class", |_| vec!["on-demand".into(), "spot".into()]),
    ("supported-virtualization-type", |t| t.virtualization_types.iter().map(|a| a.to_string()).collect()),
    ("vcpu-info.default-cores", |t| one(t.cores.to_string())),
    ("vcpu-info.default-threads-per-core", |t| one(t.threads_per_core.to_string())),
    ("vcpu-info.default-vcpus", |t| one(t.vcpus.to_string())),
];

static TYPE_FILTERS: FilterTable<&'static InstanceTypeInfo> = FilterTable { entries: TYPE_ENTRIES, tags: None };

fn values_of(t: &'static InstanceTypeInfo, name: &str) -> Vec<String> {
    TYPE_ENTRIES.iter().find(|(n, _)| *n == name).map(|(_, get)| get(&t)).unwrap_or_default()
}

fn instance_type_dto(t: &'static InstanceTypeInfo) -> dto::InstanceTypeInfo {
    dto::InstanceTypeInfo {
        instance_type: Some(t.name.into()),
        current_generation: Some(t.current_generation),
        free_tier_eligible: Some(t.free_tier_eligible),
        supported_usage_classes: Some(values_of(t, "supported-usage-class")),
        supported_root_device_types: Some(t.root_device_types.iter().map(|s| s.to_string()).collect()),
        supported_virtualization_types: Some(t.virtualization_types.iter().map(|s| s.to_string()).collect()),
        bare_metal: Some(t.bare_metal),
        hypervisor: t.hypervisor.map(String::from),
        processor_info: Some(dto::ProcessorInfo {
            supported_architectures: Some(t.architectures.iter().map(|s| s.to_string()).collect()),
            sustained_clock_speed_in_ghz: t.clock_speed_ghz,
            ..Default::default()
        }),
        v_cpu_info: Some(dto::VCpuInfo {
            default_v_cpus: Some(i64::from(t.vcpus)),
            default_cores: Some(i64::from(t.cores)),
            default_threads_per_core: Some(i64::from(t.threads_per_core)),
            ..Default::default()
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
            encryption_support: Some(if s.nvme == "required" { "required" } else { "unsupported" }.into()),
        }),
        ebs_info: Some(dto::EbsInfo {
            ebs_optimized_support: Some(t.ebs_optimized_support.into()),
            encryption_support: Some("supported".into()),
            nvme_support: values_of(t, "ebs-info.nvme-support").pop(),
            ..Default::default()
        }),
        network_info: Some(dto::NetworkInfo {
            network_performance: Some(t.network_performance.into()),
            maximum_network_interfaces: Some(i64::from(t.max_network_interfaces)),
            maximum_network_cards: Some(1),
            default_network_card_index: Some(0),
            ipv4_addresses_per_interface: Some(i64::from(t.ipv4_per_interface)),
            ipv6_addresses_per_interface: Some(i64::from(t.ipv4_per_interface)),
            ipv6_supported: values_of(t, "network-info.ipv6-supported").first().map(|v| v == "true"),
            ena_support: Some(t.ena_support.into()),
            efa_supported: Some(false),
            encryption_in_transit_supported: Some(t.hypervisor == Some("nitro")),
            ..Default::default()
        }),
        placement_group_info: Some(dto::PlacementGroupInfo {
            supported_strategies: Some(vec!["cluster".into(), "partition".into(), "spread".into()]),
        }),
        hibernation_supported: Some(t.hibernation_supported),
        burstable_performance_supported: Some(t.burstable),
        dedicated_hosts_supported: Some(!t.burstable),
        auto_recovery_supported: Some(!t.bare_metal && t.instance_storage.is_none()),
        supported_boot_modes: Some(values_of(t, "supported-boot-mode")),
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
    let (page, next) = paginate(types, |t| t.name.to_string(), req.max_results, req.next_token.as_deref(), &bounds)?;
    Ok(dto::DescribeInstanceTypesResult {
        instance_types: Some(page.into_iter().map(instance_type_dto).collect()),
        next_token: next,
    })
}
