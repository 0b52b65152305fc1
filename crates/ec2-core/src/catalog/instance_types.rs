//! The catalogue of EC2 instance types: every type EC2 lists, current and previous generation.
//!
//! The emulator answers `DescribeInstanceTypes` and `DescribeInstanceTypeOfferings` from this table and
//! checks every instance type a request names against it (`RunInstances`, `ModifyInstanceAttribute`,
//! launch templates, spot requests).
//!
//! **Sources.** The table is generated (`instance_types_data.rs`, by `cargo run -p ec2-codegen`) from
//! `crates/ec2-core/data/instance_types.json`, which `tools/gen_instance_types.py` extracts from a public
//! dataset of `DescribeInstanceTypes` and `DescribeInstanceTypeOfferings` output (the provenance, with
//! checksums, is in `crates/ec2-core/data/SOURCE.md`). Processor, memory, instance storage, networking,
//! EBS/ENA support, hypervisor, boot, generation, burstable and free-tier flags are the dataset's.
//! Hibernation support is the API's `HibernationSupported` flag within the user guide's hibernation
//! prerequisites: never bare metal and never more than 150 GiB of memory (so `m5.12xlarge` and up are
//! out, `m5.8xlarge` is in; the generator clears the flag where the dataset sets it beyond those limits).
//! The free-tier flag follows the current free plan (`t3.micro`, `t3.small`, `t4g.micro`, `t4g.small`;
//! `t2.micro` no longer reports it).
//!
//! **Prices.** The dataset has no prices. `on_demand_usd_per_hour` is a plausible Linux On-Demand price in
//! us-east-1 (US dollars per hour) that only seeds the emulated spot market and Capacity Block fees: the 82
//! types of `data/reference_prices.tsv` keep their price; another type of one of their families is priced
//! in proportion to its vCPUs; any other type gets `0.037 * vCPUs + 0.00275 * GiB`, plus `0.045` per GiB
//! of GPU memory and `0.35` per other accelerator (rounded to 4 decimals).
//!
//! **Choices.** `current_generation` is copied from the API, which now reports `m5`, `c5`, `r5`, `m6i` and
//! `r6i` as previous generation while `m5d`, `c5d` and `c6i` stay current; the emulator keeps that as is.
//! Types that the API lists without a sustained clock speed (`m1.*`) have `clock_speed_ghz: None`; bare
//! metal has no hypervisor. Offerings (which region and zone offers which type) are in
//! [`crate::catalog::offerings`].

/// The instance storage (local disks) of an instance type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceStorage {
    /// Total local storage in GB (`disks * disk_size_gb`).
    pub total_gb: u32,
    /// Number of local disks.
    pub disks: u32,
    /// Size of each disk in GB.
    pub disk_size_gb: u32,
    /// `ssd` or `hdd`.
    pub disk_type: &'static str,
    /// NVMe support of the local disks: `required`, `supported` or `unsupported`.
    pub nvme: &'static str,
    /// Encryption of the local disks: `required` or `unsupported`.
    pub encryption: &'static str,
}

/// One instance type, with the fields `DescribeInstanceTypes` reports (and a price for the spot market).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceTypeInfo {
    /// The type name, e.g. `m5.large`.
    pub name: &'static str,
    /// Default number of vCPUs.
    pub vcpus: u32,
    /// Default number of physical cores.
    pub cores: u32,
    /// Default threads per core.
    pub threads_per_core: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Supported architectures: `x86_64`, `arm64`, `i386`, `x86_64_mac`, `arm64_mac`.
    pub architectures: &'static [&'static str],
    /// Sustained clock speed in GHz, when the API reports one.
    pub clock_speed_ghz: Option<f64>,
    /// Whether instances of this type can be hibernated.
    pub hibernation_supported: bool,
    /// Local instance storage, if any.
    pub instance_storage: Option<InstanceStorage>,
    /// Whether AWS lists the type as current generation.
    pub current_generation: bool,
    /// Whether the type is burstable (CPU credits).
    pub burstable: bool,
    /// Whether the type is free-tier eligible.
    pub free_tier_eligible: bool,
    /// Whether the type is a bare-metal type.
    pub bare_metal: bool,
    /// `nitro` or `xen`; `None` for bare metal.
    pub hypervisor: Option<&'static str>,
    /// Supported virtualization types: `hvm`, `paravirtual`.
    pub virtualization_types: &'static [&'static str],
    /// Supported root device types: `ebs`, `instance-store`.
    pub root_device_types: &'static [&'static str],
    /// Network performance as the API words it, e.g. `Up to 10 Gigabit`.
    pub network_performance: &'static str,
    /// Maximum number of network interfaces.
    pub max_network_interfaces: u32,
    /// Maximum number of private IPv4 addresses per interface.
    pub ipv4_per_interface: u32,
    /// EBS optimization: `default`, `supported` or `unsupported`.
    pub ebs_optimized_support: &'static str,
    /// ENA support: `required`, `supported` or `unsupported`.
    pub ena_support: &'static str,
    /// Linux on-demand price in us-east-1, USD per hour (used to seed the spot market).
    pub on_demand_usd_per_hour: f64,
    /// Valid core counts for CPU options (empty when the API lists none).
    pub valid_cores: &'static [u32],
    /// Valid threads per core for CPU options (empty when the API lists none).
    pub valid_threads_per_core: &'static [u32],
    /// The processor's manufacturer (`Intel`, `AMD`, `AWS`, `Apple`), when listed.
    pub manufacturer: Option<&'static str>,
    /// Supported boot modes: `legacy-bios`, `uefi`.
    pub boot_modes: &'static [&'static str],
    /// Supported usage classes: `on-demand`, `spot`, `capacity-block`.
    pub usage_classes: &'static [&'static str],
    /// Supported placement group strategies.
    pub placement_strategies: &'static [&'static str],
    /// Whether the type can run on Dedicated Hosts.
    pub dedicated_hosts_supported: bool,
    /// Whether simplified automatic recovery is supported.
    pub auto_recovery_supported: bool,
    /// Maximum number of network cards.
    pub max_network_cards: u32,
    /// Maximum number of IPv6 addresses per interface.
    pub ipv6_per_interface: u32,
    /// Whether IPv6 is supported.
    pub ipv6_supported: bool,
    /// Whether Elastic Fabric Adapter is supported.
    pub efa_supported: bool,
    /// Whether traffic is encrypted in transit between instances of this type.
    pub encryption_in_transit_supported: bool,
    /// Baseline bandwidth of the first network card, Gbps.
    pub baseline_bandwidth_gbps: Option<f64>,
    /// Peak bandwidth of the first network card, Gbps.
    pub peak_bandwidth_gbps: Option<f64>,
    /// NVMe support of EBS volumes: `required`, `supported` or `unsupported`.
    pub ebs_nvme_support: &'static str,
    /// EBS-optimized performance, when the type is EBS-optimized.
    pub ebs_bandwidth: Option<EbsBandwidth>,
    /// Maximum number of EBS volume attachments, when listed.
    pub max_ebs_attachments: Option<u32>,
    /// GPUs, if any.
    pub gpus: Option<Gpus>,
    /// Nitro Enclaves support: `supported` or `unsupported`.
    pub nitro_enclaves_support: &'static str,
    /// NitroTPM support: `supported` or `unsupported`.
    pub nitro_tpm_support: &'static str,
}

/// EBS-optimized performance of an instance type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EbsBandwidth {
    pub baseline_mbps: u32,
    pub maximum_mbps: u32,
    pub baseline_iops: u32,
    pub maximum_iops: u32,
    pub baseline_throughput_mb_per_s: f64,
    pub maximum_throughput_mb_per_s: f64,
}

/// The GPUs of an instance type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gpus {
    pub count: u32,
    pub name: &'static str,
    pub manufacturer: &'static str,
    /// Memory of each GPU, MiB.
    pub memory_mib: u32,
}

pub use super::instance_types_data::INSTANCE_TYPES;

/// The instance type with this exact name (for example `m5.large`), if any.
pub fn instance_type(name: &str) -> Option<&'static InstanceTypeInfo> {
    index_of(name).map(|i| &INSTANCE_TYPES[i])
}

/// The position of the named type in [`INSTANCE_TYPES`] (its bit in the offering bitsets).
pub fn index_of(name: &str) -> Option<usize> {
    INSTANCE_TYPES.binary_search_by(|t| t.name.cmp(name)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EBS: &[&str] = &["ebs"];
    const HVM: &[&str] = &["hvm"];
    const ARM: &[&str] = &["arm64"];

    #[test]
    fn sorted_and_unique() {
        for pair in INSTANCE_TYPES.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} must sort before {}", pair[0].name, pair[1].name);
        }
    }

    #[test]
    fn names_are_family_dot_size() {
        for t in INSTANCE_TYPES {
            let (family, size) = t.name.split_once('.').expect(t.name);
            assert!(!family.is_empty() && !size.is_empty(), "{}", t.name);
            assert!(
                t.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'),
                "{}",
                t.name
            );
        }
    }

    #[test]
    fn every_type_is_consistent() {
        for t in INSTANCE_TYPES {
            assert!(!t.architectures.is_empty(), "{}: no architecture", t.name);
            for a in t.architectures {
                assert!(["x86_64", "arm64", "i386", "x86_64_mac", "arm64_mac"].contains(a), "{}: {a}", t.name);
            }
            assert_eq!(t.vcpus, t.cores * t.threads_per_core, "{}: vcpus", t.name);
            assert!(t.memory_mib > 0 && t.on_demand_usd_per_hour > 0.0, "{}", t.name);
            assert!(t.max_network_interfaces >= 2 && t.ipv4_per_interface >= 2, "{}: network limits", t.name);
            assert!(!t.virtualization_types.is_empty() && !t.root_device_types.is_empty(), "{}", t.name);
            assert!(["default", "supported", "unsupported"].contains(&t.ebs_optimized_support), "{}", t.name);
            assert!(["required", "supported", "unsupported"].contains(&t.ena_support), "{}", t.name);
            assert_eq!(t.bare_metal, t.hypervisor.is_none(), "{}: only bare metal lacks a hypervisor", t.name);
            if let Some(h) = t.hypervisor {
                assert!(h == "nitro" || h == "xen", "{}: {h}", t.name);
            }
            if let Some(s) = t.instance_storage {
                assert_eq!(s.total_gb, s.disks * s.disk_size_gb, "{}: storage total", t.name);
                assert!(s.disk_type == "ssd" || s.disk_type == "hdd", "{}", t.name);
                assert!(["required", "supported", "unsupported"].contains(&s.nvme), "{}", t.name);
            }
            if t.root_device_types.contains(&"instance-store") {
                assert!(t.instance_storage.is_some(), "{}: instance-store root without local disks", t.name);
            }
            if t.hypervisor == Some("nitro") {
                assert_eq!(t.root_device_types, EBS, "{}", t.name);
                assert_eq!(t.virtualization_types, HVM, "{}", t.name);
            }
            if t.burstable {
                assert!(t.name.starts_with('t'), "{}", t.name);
            }
        }
    }

    #[test]
    fn hibernation_follows_the_prerequisites() {
        for t in INSTANCE_TYPES.iter().filter(|t| t.hibernation_supported) {
            assert!(!t.bare_metal, "{}: bare metal cannot hibernate", t.name);
            assert!(t.memory_mib <= 150 * 1024, "{}: more than 150 GiB cannot hibernate", t.name);
        }
        for name in
            ["t2.micro", "t3.micro", "t3a.small", "t4g.micro", "m5.large", "m5.8xlarge", "m5d.large", "c5.large"]
        {
            assert!(instance_type(name).unwrap().hibernation_supported, "{name}");
        }
        for name in ["m6i.large", "c6i.large", "m7i.large", "m6g.large", "c6g.large", "r7g.large", "i3.large"] {
            assert!(instance_type(name).unwrap().hibernation_supported, "{name}");
        }
        // r6i.large: the dataset (the API's own flag) says no, where ec2d's old hand-kept table said yes.
        for name in [
            "m5.12xlarge",
            "m5.24xlarge",
            "m5.metal",
            "x2idn.16xlarge",
            "i4i.large",
            "g4dn.xlarge",
            "m1.small",
            "r6i.large",
        ] {
            assert!(!instance_type(name).unwrap().hibernation_supported, "{name}");
        }
    }

    #[test]
    fn legacy_types_support_bundling() {
        for name in ["m1.small", "m1.medium", "m1.large", "m3.medium", "m3.large", "c3.large", "c3.xlarge"] {
            let t = instance_type(name).unwrap();
            assert!(!t.current_generation, "{name}");
            assert_eq!(t.hypervisor, Some("xen"), "{name}");
            assert!(t.root_device_types.contains(&"instance-store"), "{name}");
            assert!(t.virtualization_types.contains(&"paravirtual"), "{name}");
            assert!(t.instance_storage.is_some(), "{name}");
        }
    }

    #[test]
    fn a_few_known_values() {
        let t = instance_type("m5.large").unwrap();
        assert_eq!((t.vcpus, t.memory_mib, t.network_performance), (2, 8192, "Up to 10 Gigabit"));
        assert_eq!((t.max_network_interfaces, t.ipv4_per_interface), (3, 10));
        assert_eq!(t.on_demand_usd_per_hour, 0.096);
        let t = instance_type("t3.micro").unwrap();
        assert!(t.burstable && t.free_tier_eligible);
        assert_eq!(t.on_demand_usd_per_hour, 0.0104);
        let t = instance_type("t4g.small").unwrap();
        assert_eq!(t.architectures, ARM);
        let t = instance_type("m5.metal").unwrap();
        assert!(t.bare_metal && t.hypervisor.is_none());
        let t = instance_type("m5d.large").unwrap();
        assert_eq!(t.instance_storage.unwrap().nvme, "required");
        assert!(INSTANCE_TYPES.iter().any(|t| t.architectures.contains(&"i386")));
        assert!(INSTANCE_TYPES.iter().any(|t| t.architectures == ARM));
    }

    #[test]
    fn unknown_names_are_not_found() {
        assert!(instance_type("m5.huge").is_none());
        assert!(instance_type("").is_none());
        assert!(instance_type("M5.LARGE").is_none());
        assert!(instance_type("m5.large ").is_none());
        for t in INSTANCE_TYPES {
            assert_eq!(instance_type(t.name).map(|f| f.name), Some(t.name));
        }
    }
}
