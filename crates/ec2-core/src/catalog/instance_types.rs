//! Built-in catalogue of EC2 instance types.
//!
//! The emulator answers `DescribeInstanceTypes` from this table and checks every instance type a request
//! names against it (`RunInstances`, `ModifyInstanceAttribute`, launch templates, spot requests). It holds
//! a deliberately small, representative set: the common families in a few sizes each, a bare-metal size,
//! a few accelerated and large-memory types, and the previous-generation Xen types with instance-store
//! roots and paravirtual support that AMI bundling (`BundleInstance`, `RegisterImage` from S3) needs.
//!
//! **Sources.** Processor, memory, instance storage, networking, EBS/ENA support, hypervisor, boot and
//! generation flags follow what `DescribeInstanceTypes` reports in us-east-1 (as captured in public SDK
//! and emulator test data, and cross-checked against the EC2 *Instance Types* guide). Hibernation support
//! is the API's `HibernationSupported` flag, which follows the user guide's hibernation prerequisites: the
//! listed families only, never bare metal, never more than 150 GiB of memory (so `m5.12xlarge` and up are
//! out, `m5.8xlarge` is in), never instance-store roots; the Graviton families (`t4g`, `m6g`, `m7g`,
//! `c6g`, `c7g`, `r7g`) are in, while `i4i`, `g4dn`, `g5`, `p3` and `x2idn` are out. The free-tier flag
//! follows the current free plan (`t3.micro`, `t3.small`, `t4g.micro`, `t4g.small`; `t2.micro` no longer
//! reports it). Prices are plausible Linux on-demand prices in us-east-1, in US dollars per hour; they
//! only seed the emulated spot market and are not a price list.
//!
//! **Choices.** `current_generation` is copied from the API, which now reports `m5`, `c5`, `r5`, `m6i` and
//! `r6i` as previous generation while `m5d`, `c5d` and `c6i` stay current; the emulator keeps that as is.
//! Network performance, interface and address limits are the per-type values of the API (note that
//! `t3a.small` has two interfaces where `t3.small` has three). Types that the API lists without a
//! sustained clock speed (`m1.*`) have `clock_speed_ghz: None`; bare metal has no hypervisor.

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
    /// Supported architectures: `x86_64`, `arm64`, `i386`.
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
}

const X86: &[&str] = &["x86_64"];
const X86_I386: &[&str] = &["i386", "x86_64"];
const ARM: &[&str] = &["arm64"];
const HVM: &[&str] = &["hvm"];
const HVM_PV: &[&str] = &["hvm", "paravirtual"];
const EBS: &[&str] = &["ebs"];
const EBS_IS: &[&str] = &["ebs", "instance-store"];

/// A current Nitro type: EBS root, HVM only, ENA required, EBS-optimized by default. The flags that vary
/// (hibernation, storage, bursting, ...) are set with the builder methods below.
#[allow(clippy::too_many_arguments)] // one table row: naming every field keeps the table readable
const fn nitro(
    name: &'static str,
    vcpus: u32,
    cores: u32,
    threads_per_core: u32,
    memory_mib: u64,
    architectures: &'static [&'static str],
    clock_speed_ghz: f64,
    network_performance: &'static str,
    max_network_interfaces: u32,
    ipv4_per_interface: u32,
    on_demand_usd_per_hour: f64,
) -> InstanceTypeInfo {
    InstanceTypeInfo {
        name,
        vcpus,
        cores,
        threads_per_core,
        memory_mib,
        architectures,
        clock_speed_ghz: Some(clock_speed_ghz),
        hibernation_supported: false,
        instance_storage: None,
        current_generation: true,
        burstable: false,
        free_tier_eligible: false,
        bare_metal: false,
        hypervisor: Some("nitro"),
        virtualization_types: HVM,
        root_device_types: EBS,
        network_performance,
        max_network_interfaces,
        ipv4_per_interface,
        ebs_optimized_support: "default",
        ena_support: "required",
        on_demand_usd_per_hour,
    }
}

/// A current Xen type (`t2`, `i3`, `p3`): EBS root, HVM only.
#[allow(clippy::too_many_arguments)] // one table row
const fn xen(
    name: &'static str,
    vcpus: u32,
    cores: u32,
    threads_per_core: u32,
    memory_mib: u64,
    architectures: &'static [&'static str],
    clock_speed_ghz: f64,
    network_performance: &'static str,
    max_network_interfaces: u32,
    ipv4_per_interface: u32,
    ena_support: &'static str,
    ebs_optimized_support: &'static str,
    on_demand_usd_per_hour: f64,
) -> InstanceTypeInfo {
    let mut t = nitro(
        name,
        vcpus,
        cores,
        threads_per_core,
        memory_mib,
        architectures,
        clock_speed_ghz,
        network_performance,
        max_network_interfaces,
        ipv4_per_interface,
        on_demand_usd_per_hour,
    );
    t.hypervisor = Some("xen");
    t.ena_support = ena_support;
    t.ebs_optimized_support = ebs_optimized_support;
    t
}

/// A previous-generation Xen type: EBS or instance-store root, HVM or paravirtual, no ENA, local disks
/// `(count, size_gb, "ssd" | "hdd")` without NVMe.
#[allow(clippy::too_many_arguments)] // one table row
const fn legacy(
    name: &'static str,
    vcpus: u32,
    cores: u32,
    threads_per_core: u32,
    memory_mib: u64,
    architectures: &'static [&'static str],
    clock_speed_ghz: Option<f64>,
    network_performance: &'static str,
    max_network_interfaces: u32,
    ipv4_per_interface: u32,
    disks: (u32, u32, &'static str),
    ebs_optimized_support: &'static str,
    on_demand_usd_per_hour: f64,
) -> InstanceTypeInfo {
    InstanceTypeInfo {
        name,
        vcpus,
        cores,
        threads_per_core,
        memory_mib,
        architectures,
        clock_speed_ghz,
        hibernation_supported: false,
        instance_storage: Some(InstanceStorage {
            total_gb: disks.0 * disks.1,
            disks: disks.0,
            disk_size_gb: disks.1,
            disk_type: disks.2,
            nvme: "unsupported",
        }),
        current_generation: false,
        burstable: false,
        free_tier_eligible: false,
        bare_metal: false,
        hypervisor: Some("xen"),
        virtualization_types: HVM_PV,
        root_device_types: EBS_IS,
        network_performance,
        max_network_interfaces,
        ipv4_per_interface,
        ebs_optimized_support,
        ena_support: "unsupported",
        on_demand_usd_per_hour,
    }
}

impl InstanceTypeInfo {
    const fn hib(mut self) -> Self {
        self.hibernation_supported = true;
        self
    }

    const fn burstable(mut self) -> Self {
        self.burstable = true;
        self
    }

    const fn free_tier(mut self) -> Self {
        self.free_tier_eligible = true;
        self
    }

    const fn previous(mut self) -> Self {
        self.current_generation = false;
        self
    }

    const fn metal(mut self) -> Self {
        self.bare_metal = true;
        self.hypervisor = None;
        self
    }

    /// Local NVMe SSDs: `disks` disks of `size_gb` each.
    const fn nvme(mut self, disks: u32, size_gb: u32) -> Self {
        self.instance_storage = Some(InstanceStorage {
            total_gb: disks * size_gb,
            disks,
            disk_size_gb: size_gb,
            disk_type: "ssd",
            nvme: "required",
        });
        self
    }
}

/// Every built-in instance type, sorted by name (byte order), names unique.
pub static INSTANCE_TYPES: &[InstanceTypeInfo] = &[
    legacy("c3.large", 2, 1, 2, 3840, X86_I386, Some(2.8), "Moderate", 3, 10, (2, 16, "ssd"), "unsupported", 0.105)
        .hib(),
    legacy("c3.xlarge", 4, 2, 2, 7680, X86, Some(2.8), "Moderate", 4, 15, (2, 40, "ssd"), "supported", 0.21).hib(),
    nitro("c5.2xlarge", 8, 4, 2, 16384, X86, 3.4, "Up to 10 Gigabit", 4, 15, 0.34).hib().previous(),
    nitro("c5.large", 2, 1, 2, 4096, X86, 3.4, "Up to 10 Gigabit", 3, 10, 0.085).hib().previous(),
    nitro("c5.xlarge", 4, 2, 2, 8192, X86, 3.4, "Up to 10 Gigabit", 4, 15, 0.17).hib().previous(),
    nitro("c5d.large", 2, 1, 2, 4096, X86, 3.4, "Up to 10 Gigabit", 3, 10, 0.096).nvme(1, 50).hib(),
    nitro("c5d.xlarge", 4, 2, 2, 8192, X86, 3.4, "Up to 10 Gigabit", 4, 15, 0.192).nvme(1, 100).hib(),
    nitro("c6g.large", 2, 2, 1, 4096, ARM, 2.5, "Up to 10 Gigabit", 3, 10, 0.068).hib(),
    nitro("c6g.medium", 1, 1, 1, 2048, ARM, 2.5, "Up to 10 Gigabit", 2, 4, 0.034).hib(),
    nitro("c6g.xlarge", 4, 4, 1, 8192, ARM, 2.5, "Up to 10 Gigabit", 4, 15, 0.136).hib(),
    nitro("c6i.large", 2, 1, 2, 4096, X86, 3.5, "Up to 12.5 Gigabit", 3, 10, 0.085).hib(),
    nitro("c6i.xlarge", 4, 2, 2, 8192, X86, 3.5, "Up to 12.5 Gigabit", 4, 15, 0.17).hib(),
    nitro("c7g.large", 2, 2, 1, 4096, ARM, 2.6, "Up to 12.5 Gigabit", 3, 10, 0.0725).hib(),
    nitro("c7g.medium", 1, 1, 1, 2048, ARM, 2.6, "Up to 12.5 Gigabit", 2, 4, 0.0363).hib(),
    nitro("c7g.xlarge", 4, 4, 1, 8192, ARM, 2.6, "Up to 12.5 Gigabit", 4, 15, 0.145).hib(),
    nitro("g4dn.xlarge", 4, 2, 2, 16384, X86, 2.5, "Up to 25 Gigabit", 3, 10, 0.526).nvme(1, 125),
    nitro("g5.xlarge", 4, 2, 2, 16384, X86, 3.3, "Up to 10 Gigabit", 4, 15, 1.006).nvme(1, 250),
    xen("i3.large", 2, 1, 2, 15616, X86, 2.3, "Up to 10 Gigabit", 3, 10, "supported", "default", 0.156)
        .nvme(1, 475)
        .hib(),
    xen("i3.xlarge", 4, 2, 2, 31232, X86, 2.3, "Up to 10 Gigabit", 4, 15, "supported", "default", 0.312)
        .nvme(1, 950)
        .hib(),
    nitro("i4i.large", 2, 1, 2, 16384, X86, 3.5, "Up to 10 Gigabit", 3, 10, 0.172).nvme(1, 468),
    nitro("i4i.xlarge", 4, 2, 2, 32768, X86, 3.5, "Up to 10 Gigabit", 4, 15, 0.343).nvme(1, 937),
    legacy("m1.large", 2, 2, 1, 7680, X86, None, "Moderate", 3, 10, (2, 420, "hdd"), "supported", 0.175),
    legacy("m1.medium", 1, 1, 1, 3788, X86_I386, None, "Moderate", 2, 6, (1, 410, "hdd"), "unsupported", 0.087),
    legacy("m1.small", 1, 1, 1, 1740, X86_I386, None, "Low", 2, 4, (1, 160, "hdd"), "unsupported", 0.044),
    legacy("m3.large", 2, 1, 2, 7680, X86, Some(2.5), "Moderate", 3, 10, (1, 32, "ssd"), "unsupported", 0.133).hib(),
    legacy("m3.medium", 1, 1, 1, 3840, X86, Some(2.5), "Moderate", 2, 6, (1, 4, "ssd"), "unsupported", 0.067).hib(),
    nitro("m5.12xlarge", 48, 24, 2, 196608, X86, 3.1, "12 Gigabit", 8, 30, 2.304).previous(),
    nitro("m5.16xlarge", 64, 32, 2, 262144, X86, 3.1, "20 Gigabit", 15, 50, 3.072).previous(),
    nitro("m5.24xlarge", 96, 48, 2, 393216, X86, 3.1, "25 Gigabit", 15, 50, 4.608).previous(),
    nitro("m5.2xlarge", 8, 4, 2, 32768, X86, 3.1, "Up to 10 Gigabit", 4, 15, 0.384).hib().previous(),
    nitro("m5.4xlarge", 16, 8, 2, 65536, X86, 3.1, "Up to 10 Gigabit", 8, 30, 0.768).hib().previous(),
    nitro("m5.8xlarge", 32, 16, 2, 131072, X86, 3.1, "10 Gigabit", 8, 30, 1.536).hib().previous(),
    nitro("m5.large", 2, 1, 2, 8192, X86, 3.1, "Up to 10 Gigabit", 3, 10, 0.096).hib().previous(),
    nitro("m5.metal", 96, 48, 2, 393216, X86, 3.1, "25 Gigabit", 15, 50, 4.608).metal().previous(),
    nitro("m5.xlarge", 4, 2, 2, 16384, X86, 3.1, "Up to 10 Gigabit", 4, 15, 0.192).hib().previous(),
    nitro("m5d.2xlarge", 8, 4, 2, 32768, X86, 3.1, "Up to 10 Gigabit", 4, 15, 0.452).nvme(1, 300).hib(),
    nitro("m5d.large", 2, 1, 2, 8192, X86, 3.1, "Up to 10 Gigabit", 3, 10, 0.113).nvme(1, 75).hib(),
    nitro("m5d.xlarge", 4, 2, 2, 16384, X86, 3.1, "Up to 10 Gigabit", 4, 15, 0.226).nvme(1, 150).hib(),
    nitro("m6g.large", 2, 2, 1, 8192, ARM, 2.5, "Up to 10 Gigabit", 3, 10, 0.077).hib(),
    nitro("m6g.medium", 1, 1, 1, 4096, ARM, 2.5, "Up to 10 Gigabit", 2, 4, 0.0385).hib(),
    nitro("m6g.xlarge", 4, 4, 1, 16384, ARM, 2.5, "Up to 10 Gigabit", 4, 15, 0.154).hib(),
    nitro("m6i.2xlarge", 8, 4, 2, 32768, X86, 3.5, "Up to 12.5 Gigabit", 4, 15, 0.384).hib().previous(),
    nitro("m6i.large", 2, 1, 2, 8192, X86, 3.5, "Up to 12.5 Gigabit", 3, 10, 0.096).hib().previous(),
    nitro("m6i.xlarge", 4, 2, 2, 16384, X86, 3.5, "Up to 12.5 Gigabit", 4, 15, 0.192).hib().previous(),
    nitro("m7g.large", 2, 2, 1, 8192, ARM, 2.6, "Up to 12.5 Gigabit", 3, 10, 0.0816).hib(),
    nitro("m7g.medium", 1, 1, 1, 4096, ARM, 2.6, "Up to 12.5 Gigabit", 2, 4, 0.0408).hib(),
    nitro("m7g.xlarge", 4, 4, 1, 16384, ARM, 2.6, "Up to 12.5 Gigabit", 4, 15, 0.1632).hib(),
    nitro("m7i.2xlarge", 8, 4, 2, 32768, X86, 3.2, "Up to 12.5 Gigabit", 4, 15, 0.4032).hib(),
    nitro("m7i.large", 2, 1, 2, 8192, X86, 3.2, "Up to 12.5 Gigabit", 3, 10, 0.1008).hib(),
    nitro("m7i.xlarge", 4, 2, 2, 16384, X86, 3.2, "Up to 12.5 Gigabit", 4, 15, 0.2016).hib(),
    xen("p3.2xlarge", 8, 4, 2, 62464, X86, 2.3, "Up to 10 Gigabit", 4, 15, "supported", "default", 3.06),
    // Sold as Capacity Blocks (DescribeCapacityBlockOfferings) as well as On-Demand.
    nitro("p5.48xlarge", 192, 96, 2, 2097152, X86, 3.6, "3200 Gigabit", 64, 50, 98.32).nvme(8, 3800),
    nitro("r5.2xlarge", 8, 4, 2, 65536, X86, 3.1, "Up to 10 Gigabit", 4, 15, 0.504).hib().previous(),
    nitro("r5.large", 2, 1, 2, 16384, X86, 3.1, "Up to 10 Gigabit", 3, 10, 0.126).hib().previous(),
    nitro("r5.xlarge", 4, 2, 2, 32768, X86, 3.1, "Up to 10 Gigabit", 4, 15, 0.252).hib().previous(),
    nitro("r5d.large", 2, 1, 2, 16384, X86, 3.1, "Up to 10 Gigabit", 3, 10, 0.144).nvme(1, 75).hib(),
    nitro("r5d.xlarge", 4, 2, 2, 32768, X86, 3.1, "Up to 10 Gigabit", 4, 15, 0.288).nvme(1, 150).hib(),
    nitro("r6i.large", 2, 1, 2, 16384, X86, 3.5, "Up to 12.5 Gigabit", 3, 10, 0.126).hib().previous(),
    nitro("r6i.xlarge", 4, 2, 2, 32768, X86, 3.5, "Up to 12.5 Gigabit", 4, 15, 0.252).hib().previous(),
    nitro("r7g.large", 2, 2, 1, 16384, ARM, 2.6, "Up to 12.5 Gigabit", 3, 10, 0.1071).hib(),
    nitro("r7g.medium", 1, 1, 1, 8192, ARM, 2.6, "Up to 12.5 Gigabit", 2, 4, 0.0536).hib(),
    nitro("r7g.xlarge", 4, 4, 1, 32768, ARM, 2.6, "Up to 12.5 Gigabit", 4, 15, 0.2142).hib(),
    xen("t2.large", 2, 2, 1, 8192, X86, 2.3, "Low to Moderate", 3, 12, "unsupported", "unsupported", 0.0928)
        .hib()
        .burstable(),
    xen("t2.medium", 2, 2, 1, 4096, X86_I386, 2.3, "Low to Moderate", 3, 6, "unsupported", "unsupported", 0.0464)
        .hib()
        .burstable(),
    xen("t2.micro", 1, 1, 1, 1024, X86_I386, 2.5, "Low to Moderate", 2, 2, "unsupported", "unsupported", 0.0116)
        .hib()
        .burstable(),
    xen("t2.small", 1, 1, 1, 2048, X86_I386, 2.5, "Low to Moderate", 3, 4, "unsupported", "unsupported", 0.023)
        .hib()
        .burstable(),
    nitro("t3.2xlarge", 8, 4, 2, 32768, X86, 2.5, "Up to 5 Gigabit", 4, 15, 0.3328).hib().burstable(),
    nitro("t3.large", 2, 1, 2, 8192, X86, 2.5, "Up to 5 Gigabit", 3, 12, 0.0832).hib().burstable(),
    nitro("t3.medium", 2, 1, 2, 4096, X86, 2.5, "Up to 5 Gigabit", 3, 6, 0.0416).hib().burstable(),
    nitro("t3.micro", 2, 1, 2, 1024, X86, 2.5, "Up to 5 Gigabit", 2, 2, 0.0104).hib().burstable().free_tier(),
    nitro("t3.nano", 2, 1, 2, 512, X86, 2.5, "Up to 5 Gigabit", 2, 2, 0.0052).hib().burstable(),
    nitro("t3.small", 2, 1, 2, 2048, X86, 2.5, "Up to 5 Gigabit", 3, 4, 0.0208).hib().burstable().free_tier(),
    nitro("t3.xlarge", 4, 2, 2, 16384, X86, 2.5, "Up to 5 Gigabit", 4, 15, 0.1664).hib().burstable(),
    nitro("t3a.large", 2, 1, 2, 8192, X86, 2.2, "Up to 5 Gigabit", 3, 12, 0.0752).hib().burstable(),
    nitro("t3a.medium", 2, 1, 2, 4096, X86, 2.2, "Up to 5 Gigabit", 3, 6, 0.0376).hib().burstable(),
    nitro("t3a.micro", 2, 1, 2, 1024, X86, 2.2, "Up to 5 Gigabit", 2, 2, 0.0094).hib().burstable(),
    nitro("t3a.small", 2, 1, 2, 2048, X86, 2.2, "Up to 5 Gigabit", 2, 4, 0.0188).hib().burstable(),
    nitro("t4g.large", 2, 2, 1, 8192, ARM, 2.5, "Up to 5 Gigabit", 3, 12, 0.0672).hib().burstable(),
    nitro("t4g.medium", 2, 2, 1, 4096, ARM, 2.5, "Up to 5 Gigabit", 3, 6, 0.0336).hib().burstable(),
    nitro("t4g.micro", 2, 2, 1, 1024, ARM, 2.5, "Up to 5 Gigabit", 2, 2, 0.0084).hib().burstable().free_tier(),
    nitro("t4g.nano", 2, 2, 1, 512, ARM, 2.5, "Up to 5 Gigabit", 2, 2, 0.0042).hib().burstable(),
    nitro("t4g.small", 2, 2, 1, 2048, ARM, 2.5, "Up to 5 Gigabit", 3, 4, 0.0168).hib().burstable().free_tier(),
    nitro("x2idn.16xlarge", 64, 32, 2, 1048576, X86, 3.5, "50 Gigabit", 15, 50, 6.669).nvme(1, 1900),
];

/// The built-in instance type with this exact name (for example `m5.large`), if any.
pub fn instance_type(name: &str) -> Option<&'static InstanceTypeInfo> {
    INSTANCE_TYPES.binary_search_by(|t| t.name.cmp(name)).ok().map(|i| &INSTANCE_TYPES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(t.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.'), "{}", t.name);
        }
    }

    #[test]
    fn every_type_is_consistent() {
        for t in INSTANCE_TYPES {
            assert!(!t.architectures.is_empty(), "{}: no architecture", t.name);
            for a in t.architectures {
                assert!(["x86_64", "arm64", "i386"].contains(a), "{}: {a}", t.name);
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
        for name in
            ["m6i.large", "c6i.large", "r6i.large", "m7i.large", "m6g.large", "c6g.large", "r7g.large", "i3.large"]
        {
            assert!(instance_type(name).unwrap().hibernation_supported, "{name}");
        }
        for name in ["m5.12xlarge", "m5.24xlarge", "m5.metal", "x2idn.16xlarge", "i4i.large", "g4dn.xlarge", "m1.small"]
        {
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
