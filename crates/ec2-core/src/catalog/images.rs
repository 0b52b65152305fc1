//! Built-in catalogue of public machine images (AMIs).
//!
//! The emulator lists these as the public images every account sees (`DescribeImages` with
//! `Owner=amazon`, an owner id or `ExecutableBy=all`) and launches instances from them. The set covers the
//! images people reach for first: Amazon Linux 2023 (x86_64 and arm64), Amazon Linux 2, Ubuntu 22.04 and
//! 24.04 (x86_64 and arm64), Debian 12, RHEL 9, SUSE Linux Enterprise Server 15 SP6 and Windows Server
//! 2019 and 2022, all EBS-backed; plus two instance-store (S3-backed) images for the legacy bundling
//! flows: a paravirtual minimal Amazon Linux AMI and a Windows Server 2008 R2 image.
//!
//! **Sources.** Names follow each publisher's naming scheme, owner ids are the publishers' real accounts
//! (Amazon 137112412989, Amazon Windows 801119661308, Canonical 099720109477, Red Hat 309956199498, SUSE
//! 013907871322, Debian 136693071363), and platform details, usage operations (`RunInstances:0002` for
//! Windows, `:0010` for RHEL, `:000g` for SUSE), root device names and boot modes are what
//! `DescribeImages` reports for those images. Hibernation support follows the user guide's list of AMIs
//! that support hibernation: Amazon Linux 2023 and 2, Ubuntu 22.04 and later and Windows Server do;
//! Debian is not listed and RHEL needs extra configuration, so both are marked as not supporting it;
//! instance-store images never do.
//!
//! **Choices.** Image and snapshot ids are made up (a `0` then 16 hex digits from a hash of the name), so
//! they are stable and never collide with real AMIs. Release dates, build serials and descriptions are
//! plausible but invented. The SUSE images are published from an AWS-owned account and carry the owner
//! alias `amazon` like the Amazon and Amazon Windows images; Canonical, Red Hat and Debian images carry no
//! alias. EBS images record the size of their root snapshot; instance-store images have neither a
//! snapshot nor a root volume size, and their `image_location` is the S3 manifest path
//! (`<bucket>/<name>.manifest.xml`) rather than `<owner>/<name>`. Windows images leave the boot mode unset
//! (legacy BIOS), as the published Windows AMIs do.

/// One public machine image, with the fields `DescribeImages` reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageInfo {
    /// The image id: `ami-` and 17 lower-case hex digits.
    pub id: &'static str,
    /// The image name.
    pub name: &'static str,
    /// A short description.
    pub description: &'static str,
    /// The publisher's AWS account id.
    pub owner_id: &'static str,
    /// `Some("amazon")` for images published from AWS-owned accounts.
    pub owner_alias: Option<&'static str>,
    /// `x86_64`, `arm64` or `i386`.
    pub architecture: &'static str,
    /// `Some("windows")` for Windows images.
    pub platform: Option<&'static str>,
    /// The platform details, e.g. `Linux/UNIX`, `Windows`, `Red Hat Enterprise Linux`, `SUSE Linux`.
    pub platform_details: &'static str,
    /// The billing usage operation, e.g. `RunInstances` or `RunInstances:0002`.
    pub usage_operation: &'static str,
    /// `ebs` or `instance-store`.
    pub root_device_type: &'static str,
    /// The root device name, e.g. `/dev/xvda` or `/dev/sda1`.
    pub root_device_name: &'static str,
    /// `hvm` or `paravirtual`.
    pub virtualization_type: &'static str,
    /// Always `xen`, as `DescribeImages` reports for every image.
    pub hypervisor: &'static str,
    /// Whether the image has ENA enabled.
    pub ena_support: bool,
    /// `uefi-preferred`, `legacy-bios` or `uefi`; `None` when the image does not set one.
    pub boot_mode: Option<&'static str>,
    /// Creation time, e.g. `2025-01-15T20:03:12.000Z`.
    pub creation_date: &'static str,
    /// Size of the root snapshot in GiB for EBS images; 0 for instance-store images.
    pub root_volume_gb: u32,
    /// The root snapshot (`snap-` and 17 hex digits) for EBS images.
    pub snapshot_id: Option<&'static str>,
    /// Whether instances launched from the image can be hibernated.
    pub hibernation_supported: bool,
    /// The image location: `<owner alias or id>/<name>`, or the S3 manifest for instance-store images.
    pub image_location: &'static str,
}

/// Every built-in image, sorted by id, ids unique.
pub static IMAGES: &[ImageInfo] = &[
    ImageInfo {
        id: "ami-0157e459893bc2794",
        name: "al2023-ami-2023.6.20250115.0-kernel-6.1-arm64",
        description: "Amazon Linux 2023 with kernel 6.1 for 64-bit Arm, January 2025 release",
        owner_id: "137112412989",
        owner_alias: Some("amazon"),
        architecture: "arm64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "ebs",
        root_device_name: "/dev/xvda",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi"),
        creation_date: "2025-01-15T20:03:15.000Z",
        root_volume_gb: 8,
        snapshot_id: Some("snap-0935f4699a97e75e4"),
        hibernation_supported: true,
        image_location: "amazon/al2023-ami-2023.6.20250115.0-kernel-6.1-arm64",
    },
    ImageInfo {
        id: "ami-0193dd2c1f96edc84",
        name: "Windows_Server-2008-R2_SP1-English-64Bit-Base-2019.01.10",
        description: "Windows Server 2008 R2 SP1 Base, English, S3-backed (instance store)",
        owner_id: "801119661308",
        owner_alias: Some("amazon"),
        architecture: "x86_64",
        platform: Some("windows"),
        platform_details: "Windows",
        usage_operation: "RunInstances:0002",
        root_device_type: "instance-store",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: false,
        boot_mode: None,
        creation_date: "2019-01-10T05:32:11.000Z",
        root_volume_gb: 0,
        snapshot_id: None,
        hibernation_supported: false,
        image_location:
            "amazon-windows-us-east-1/Windows_Server-2008-R2_SP1-English-64Bit-Base-2019.01.10.manifest.xml",
    },
    ImageInfo {
        id: "ami-0234682ab52219022",
        name: "Windows_Server-2019-English-Full-Base-2025.01.15",
        description: "Windows Server 2019 Base with Desktop Experience, English",
        owner_id: "801119661308",
        owner_alias: Some("amazon"),
        architecture: "x86_64",
        platform: Some("windows"),
        platform_details: "Windows",
        usage_operation: "RunInstances:0002",
        root_device_type: "ebs",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: None,
        creation_date: "2025-01-15T07:52:38.000Z",
        root_volume_gb: 30,
        snapshot_id: Some("snap-0f2ca027ab1235d33"),
        hibernation_supported: true,
        image_location: "amazon/Windows_Server-2019-English-Full-Base-2025.01.15",
    },
    ImageInfo {
        id: "ami-02e0ff79dde03e059",
        name: "RHEL-9.5.0_HVM-20241211-x86_64-0-Hourly2-GP3",
        description: "Red Hat Enterprise Linux 9.5, pay-as-you-go, x86_64",
        owner_id: "309956199498",
        owner_alias: None,
        architecture: "x86_64",
        platform: None,
        platform_details: "Red Hat Enterprise Linux",
        usage_operation: "RunInstances:0010",
        root_device_type: "ebs",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi-preferred"),
        creation_date: "2024-12-11T19:28:36.000Z",
        root_volume_gb: 10,
        snapshot_id: Some("snap-07ee82eaee2dbf014"),
        hibernation_supported: false,
        image_location: "309956199498/RHEL-9.5.0_HVM-20241211-x86_64-0-Hourly2-GP3",
    },
    ImageInfo {
        id: "ami-052ce2e2ba6f55a06",
        name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250115",
        description: "Canonical Ubuntu Server 24.04 LTS (Noble) for arm64",
        owner_id: "099720109477",
        owner_alias: None,
        architecture: "arm64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "ebs",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi"),
        creation_date: "2025-01-15T06:14:02.000Z",
        root_volume_gb: 8,
        snapshot_id: Some("snap-0f1b2ccbe259d1e9a"),
        hibernation_supported: true,
        image_location: "099720109477/ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250115",
    },
    ImageInfo {
        id: "ami-0614899f0e0091c82",
        name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20250112",
        description: "Canonical Ubuntu Server 22.04 LTS (Jammy) for amd64",
        owner_id: "099720109477",
        owner_alias: None,
        architecture: "x86_64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "ebs",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi-preferred"),
        creation_date: "2025-01-12T08:41:20.000Z",
        root_volume_gb: 8,
        snapshot_id: Some("snap-079704e46a27bb8bb"),
        hibernation_supported: true,
        image_location: "099720109477/ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20250112",
    },
    ImageInfo {
        id: "ami-08e18d750bcbe972e",
        name: "amzn2-ami-kernel-5.10-hvm-2.0.20250116.0-x86_64-gp2",
        description: "Amazon Linux 2 with kernel 5.10 for x86_64 on a gp2 root volume",
        owner_id: "137112412989",
        owner_alias: Some("amazon"),
        architecture: "x86_64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "ebs",
        root_device_name: "/dev/xvda",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi-preferred"),
        creation_date: "2025-01-17T00:54:28.000Z",
        root_volume_gb: 8,
        snapshot_id: Some("snap-09ad8b170f012552c"),
        hibernation_supported: true,
        image_location: "amazon/amzn2-ami-kernel-5.10-hvm-2.0.20250116.0-x86_64-gp2",
    },
    ImageInfo {
        id: "ami-08f6cfac8c54bafdd",
        name: "al2023-ami-2023.6.20250115.0-kernel-6.1-x86_64",
        description: "Amazon Linux 2023 with kernel 6.1 for x86_64, January 2025 release",
        owner_id: "137112412989",
        owner_alias: Some("amazon"),
        architecture: "x86_64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "ebs",
        root_device_name: "/dev/xvda",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi-preferred"),
        creation_date: "2025-01-15T20:03:12.000Z",
        root_volume_gb: 8,
        snapshot_id: Some("snap-0e72f21de22fcff6f"),
        hibernation_supported: true,
        image_location: "amazon/al2023-ami-2023.6.20250115.0-kernel-6.1-x86_64",
    },
    ImageInfo {
        id: "ami-099b62c9122d51192",
        name: "amzn-ami-minimal-pv-2018.03.0.20231218.0-x86_64-s3",
        description: "Minimal Amazon Linux AMI 2018.03, paravirtual, S3-backed (instance store)",
        owner_id: "137112412989",
        owner_alias: Some("amazon"),
        architecture: "x86_64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "instance-store",
        root_device_name: "/dev/sda1",
        virtualization_type: "paravirtual",
        hypervisor: "xen",
        ena_support: false,
        boot_mode: None,
        creation_date: "2023-12-19T02:21:47.000Z",
        root_volume_gb: 0,
        snapshot_id: None,
        hibernation_supported: false,
        image_location: "amzn-ami-us-east-1/amzn-ami-minimal-pv-2018.03.0.20231218.0-x86_64-s3.manifest.xml",
    },
    ImageInfo {
        id: "ami-0a8378a372bc15589",
        name: "Windows_Server-2022-English-Full-Base-2025.01.15",
        description: "Windows Server 2022 Base with Desktop Experience, English",
        owner_id: "801119661308",
        owner_alias: Some("amazon"),
        architecture: "x86_64",
        platform: Some("windows"),
        platform_details: "Windows",
        usage_operation: "RunInstances:0002",
        root_device_type: "ebs",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: None,
        creation_date: "2025-01-15T08:03:51.000Z",
        root_volume_gb: 30,
        snapshot_id: Some("snap-0f9e70180f0e0af13"),
        hibernation_supported: true,
        image_location: "amazon/Windows_Server-2022-English-Full-Base-2025.01.15",
    },
    ImageInfo {
        id: "ami-0dd3b9c3a3c8c3435",
        name: "debian-12-amd64-20250112-1990",
        description: "Debian 12 (bookworm) for amd64, build 20250112-1990",
        owner_id: "136693071363",
        owner_alias: None,
        architecture: "x86_64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "ebs",
        root_device_name: "/dev/xvda",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi-preferred"),
        creation_date: "2025-01-12T22:10:51.000Z",
        root_volume_gb: 8,
        snapshot_id: Some("snap-04d1d4649fad33962"),
        hibernation_supported: false,
        image_location: "136693071363/debian-12-amd64-20250112-1990",
    },
    ImageInfo {
        id: "ami-0ea27eee680bf3230",
        name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250115",
        description: "Canonical Ubuntu Server 24.04 LTS (Noble) for amd64",
        owner_id: "099720109477",
        owner_alias: None,
        architecture: "x86_64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "ebs",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi-preferred"),
        creation_date: "2025-01-15T06:12:44.000Z",
        root_volume_gb: 8,
        snapshot_id: Some("snap-001ac03861228c761"),
        hibernation_supported: true,
        image_location: "099720109477/ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250115",
    },
    ImageInfo {
        id: "ami-0ea883966e7ac2d5c",
        name: "suse-sles-15-sp6-v20250113-hvm-ssd-x86_64",
        description: "SUSE Linux Enterprise Server 15 SP6, pay-as-you-go, x86_64",
        owner_id: "013907871322",
        owner_alias: Some("amazon"),
        architecture: "x86_64",
        platform: None,
        platform_details: "SUSE Linux",
        usage_operation: "RunInstances:000g",
        root_device_type: "ebs",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi-preferred"),
        creation_date: "2025-01-13T21:05:17.000Z",
        root_volume_gb: 10,
        snapshot_id: Some("snap-0d2de10c40df07d16"),
        hibernation_supported: false,
        image_location: "amazon/suse-sles-15-sp6-v20250113-hvm-ssd-x86_64",
    },
    ImageInfo {
        id: "ami-0ffab4ac7054f277f",
        name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-20250112",
        description: "Canonical Ubuntu Server 22.04 LTS (Jammy) for arm64",
        owner_id: "099720109477",
        owner_alias: None,
        architecture: "arm64",
        platform: None,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
        root_device_type: "ebs",
        root_device_name: "/dev/sda1",
        virtualization_type: "hvm",
        hypervisor: "xen",
        ena_support: true,
        boot_mode: Some("uefi"),
        creation_date: "2025-01-12T08:43:05.000Z",
        root_volume_gb: 8,
        snapshot_id: Some("snap-06fd77232eeab735c"),
        hibernation_supported: true,
        image_location: "099720109477/ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-20250112",
    },
];

/// The built-in image with this exact id (for example `ami-08f6cfac8c54bafdd`), if any.
pub fn image(id: &str) -> Option<&'static ImageInfo> {
    IMAGES.binary_search_by(|i| i.id.cmp(id)).ok().map(|i| &IMAGES[i])
}

#[cfg(test)]
mod tests {
    use super::super::instance_types::INSTANCE_TYPES;
    use super::*;

    fn is_resource_id(id: &str, prefix: &str) -> bool {
        id.strip_prefix(prefix)
            .is_some_and(|hex| hex.len() == 17 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    }

    fn named(prefix: &str) -> &'static ImageInfo {
        IMAGES.iter().find(|i| i.name.starts_with(prefix)).unwrap_or_else(|| panic!("no image named {prefix}*"))
    }

    #[test]
    fn sorted_and_unique() {
        for pair in IMAGES.windows(2) {
            assert!(pair[0].id < pair[1].id, "{} must sort before {}", pair[0].id, pair[1].id);
        }
        let mut names: Vec<_> = IMAGES.iter().map(|i| i.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), IMAGES.len(), "image names must be unique");
    }

    #[test]
    fn ids_are_well_formed() {
        for i in IMAGES {
            assert!(is_resource_id(i.id, "ami-"), "{}", i.id);
            match i.snapshot_id {
                Some(snap) => assert!(is_resource_id(snap, "snap-"), "{}: {snap}", i.id),
                None => assert_eq!(i.root_device_type, "instance-store", "{}: EBS image without snapshot", i.id),
            }
            assert!(i.owner_id.len() == 12 && i.owner_id.bytes().all(|b| b.is_ascii_digit()), "{}", i.id);
        }
        let mut snaps: Vec<_> = IMAGES.iter().filter_map(|i| i.snapshot_id).collect();
        snaps.sort_unstable();
        snaps.dedup();
        assert_eq!(snaps.len(), IMAGES.iter().filter(|i| i.snapshot_id.is_some()).count());
    }

    #[test]
    fn every_image_is_consistent() {
        for i in IMAGES {
            assert!(["x86_64", "arm64", "i386"].contains(&i.architecture), "{}", i.id);
            assert!(i.virtualization_type == "hvm" || i.virtualization_type == "paravirtual", "{}", i.id);
            assert_eq!(i.hypervisor, "xen", "{}", i.id);
            assert!(i.root_device_name.starts_with("/dev/"), "{}", i.id);
            assert!(i.creation_date.len() == 24 && i.creation_date.ends_with(".000Z"), "{}", i.id);
            if let Some(mode) = i.boot_mode {
                assert!(["uefi-preferred", "legacy-bios", "uefi"].contains(&mode), "{}", i.id);
            }
            match i.root_device_type {
                "ebs" => assert!(i.root_volume_gb > 0, "{}", i.id),
                "instance-store" => {
                    assert_eq!(i.root_volume_gb, 0, "{}", i.id);
                    assert!(!i.hibernation_supported, "{}: instance-store images cannot hibernate", i.id);
                }
                other => panic!("{}: root device type {other}", i.id),
            }
            let windows = i.platform == Some("windows");
            assert_eq!(windows, i.platform_details == "Windows", "{}", i.id);
            assert_eq!(windows, i.usage_operation == "RunInstances:0002", "{}", i.id);
            if i.platform_details == "Linux/UNIX" {
                assert_eq!(i.usage_operation, "RunInstances", "{}", i.id);
            }
            if i.owner_id == "137112412989" || i.owner_id == "801119661308" {
                assert_eq!(i.owner_alias, Some("amazon"), "{}", i.id);
            }
            if i.image_location.ends_with(".manifest.xml") {
                assert_eq!(i.root_device_type, "instance-store", "{}", i.id);
            } else {
                assert!(i.image_location.ends_with(i.name), "{}", i.id);
            }
        }
    }

    #[test]
    fn the_two_instance_store_images() {
        let pv = named("amzn-ami-minimal-pv-");
        assert_eq!((pv.root_device_type, pv.virtualization_type), ("instance-store", "paravirtual"));
        assert_eq!((pv.root_device_name, pv.platform, pv.snapshot_id), ("/dev/sda1", None, None));
        let win = named("Windows_Server-2008-R2");
        assert_eq!((win.root_device_type, win.virtualization_type), ("instance-store", "hvm"));
        assert_eq!((win.root_device_name, win.platform, win.snapshot_id), ("/dev/sda1", Some("windows"), None));
        assert_eq!(IMAGES.iter().filter(|i| i.root_device_type == "instance-store").count(), 2);
    }

    #[test]
    fn windows_ebs_images_exist() {
        let windows: Vec<_> =
            IMAGES.iter().filter(|i| i.platform == Some("windows") && i.root_device_type == "ebs").collect();
        assert!(windows.len() >= 2);
        for w in windows {
            assert_eq!((w.root_device_name, w.owner_id, w.virtualization_type), ("/dev/sda1", "801119661308", "hvm"));
        }
    }

    #[test]
    fn hibernation_capable_ebs_images_exist_for_both_architectures() {
        for arch in ["x86_64", "arm64"] {
            assert!(
                IMAGES.iter().any(|i| i.architecture == arch && i.root_device_type == "ebs" && i.hibernation_supported),
                "{arch}"
            );
        }
        assert!(named("al2023-ami-").hibernation_supported);
        assert!(!named("debian-12-").hibernation_supported);
    }

    #[test]
    fn every_image_runs_on_some_built_in_type() {
        for i in IMAGES {
            assert!(
                INSTANCE_TYPES.iter().any(|t| t.architectures.contains(&i.architecture)
                    && t.virtualization_types.contains(&i.virtualization_type)
                    && t.root_device_types.contains(&i.root_device_type)),
                "{} ({}) has no instance type to run on",
                i.id,
                i.name
            );
        }
    }

    #[test]
    fn lookups() {
        for i in IMAGES {
            assert_eq!(image(i.id).map(|f| f.name), Some(i.name));
        }
        assert!(image("ami-00000000000000000").is_none());
        assert!(image("ami-08F6CFAC8C54BAFDD").is_none());
        assert!(image("").is_none());
        assert!(image("snap-0e72f21de22fcff6f").is_none());
    }
}
