//! Machine images (AMIs): one view of the built-in catalogue's public images and of the images
//! accounts make (CreateImage, RegisterImage, CopyImage), with their block device mappings, launch
//! permissions and state on the clock (`pending` until `available_at`, then `available`).

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::catalog::images::ImageInfo;
use crate::snapshots::Permissions;
use crate::volumes::VolumeType;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageEbs {
    pub snapshot_id: Option<String>,
    pub volume_size: u32,
    pub volume_type: VolumeType,
    pub delete_on_termination: bool,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    pub iops: Option<u32>,
    pub throughput: Option<u32>,
}

/// One block device mapping of an image: an EBS volume or an instance store (`virtual_name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageBdm {
    pub device_name: String,
    pub virtual_name: Option<String>,
    pub ebs: Option<ImageEbs>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: String,
    pub owner_alias: Option<String>,
    pub architecture: String,
    pub platform: Option<String>,
    pub platform_details: String,
    pub usage_operation: String,
    pub root_device_type: String,
    pub root_device_name: String,
    pub virtualization_type: String,
    pub ena_support: bool,
    pub sriov_net_support: Option<String>,
    pub boot_mode: Option<String>,
    pub tpm_support: Option<String>,
    pub imds_support: Option<String>,
    pub kernel_id: Option<String>,
    pub ramdisk_id: Option<String>,
    pub hibernation_supported: bool,
    pub image_location: String,
    pub created_at: UnixMillis,
    pub available_at: UnixMillis,
    pub block_device_mappings: Vec<ImageBdm>,
    pub launch_permission: Permissions,
    pub source_instance_id: Option<String>,
    pub source_image_id: Option<String>,
    pub source_image_region: Option<String>,
    /// A built-in catalogue image (public, in every region, not deregistrable).
    pub catalog: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageState {
    Pending,
    Available,
}

impl ImageState {
    pub fn name(self) -> &'static str {
        match self {
            ImageState::Pending => "pending",
            ImageState::Available => "available",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// The name breaks AWS's rules (3-128 characters of letters, digits and `()[] ./-'@_`).
    BadName(String),
}

/// Checks an AMI name.
pub fn check_name(name: &str) -> Result<(), ImageError> {
    let ok = (3..=128).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ImageError::BadName(name.to_string()))
    }
}

impl Image {
    /// The catalogue image `info` as an image record.
    pub fn from_catalog(info: &ImageInfo) -> Image {
        let created = ec2_time::parse_iso8601(info.creation_date).unwrap_or(UnixMillis(0));
        let ebs = info.root_device_type == "ebs";
        Image {
            id: info.id.into(),
            name: info.name.into(),
            description: Some(info.description.into()),
            owner_id: info.owner_id.into(),
            owner_alias: info.owner_alias.map(String::from),
            architecture: info.architecture.into(),
            platform: info.platform.map(String::from),
            platform_details: info.platform_details.into(),
            usage_operation: info.usage_operation.into(),
            root_device_type: info.root_device_type.into(),
            root_device_name: info.root_device_name.into(),
            virtualization_type: info.virtualization_type.into(),
            ena_support: info.ena_support,
            sriov_net_support: Some("simple".into()),
            boot_mode: info.boot_mode.map(String::from),
            tpm_support: None,
            imds_support: None,
            kernel_id: None,
            ramdisk_id: None,
            hibernation_supported: info.hibernation_supported,
            image_location: info.image_location.into(),
            created_at: created,
            available_at: created,
            block_device_mappings: if ebs {
                vec![ImageBdm {
                    device_name: info.root_device_name.into(),
                    virtual_name: None,
                    ebs: Some(ImageEbs {
                        snapshot_id: info.snapshot_id.map(String::from),
                        volume_size: info.root_volume_gb,
                        volume_type: VolumeType::Gp3,
                        delete_on_termination: true,
                        encrypted: false,
                        kms_key_id: None,
                        iops: None,
                        throughput: None,
                    }),
                }]
            } else {
                Vec::new()
            },
            launch_permission: Permissions { public: true, users: Default::default() },
            source_instance_id: None,
            source_image_id: None,
            source_image_region: None,
            catalog: true,
        }
    }

    pub fn state(&self, now: UnixMillis) -> ImageState {
        if now >= self.available_at {
            ImageState::Available
        } else {
            ImageState::Pending
        }
    }

    /// The root device's EBS mapping, if the image is EBS-backed.
    pub fn root_ebs(&self) -> Option<&ImageEbs> {
        self.block_device_mappings.iter().find(|b| b.device_name == self.root_device_name).and_then(|b| b.ebs.as_ref())
    }

    /// The root volume's size in GiB (0 for instance-store images).
    pub fn root_volume_gb(&self) -> u32 {
        self.root_ebs().map(|e| e.volume_size).unwrap_or(0)
    }

    /// Every snapshot the image uses.
    pub fn snapshot_ids(&self) -> impl Iterator<Item = &str> {
        self.block_device_mappings.iter().filter_map(|b| b.ebs.as_ref()?.snapshot_id.as_deref())
    }

    /// Whether `account` may launch it.
    pub fn launchable_by(&self, account: &str) -> bool {
        self.launch_permission.allows(&self.owner_id, account)
    }
}

/// AWS's public SSM parameters for the catalogue's images (`resolve:ssm:<parameter>` ImageIds):
/// the parameter names AWS publishes, mapped to the catalogue image of that family.
pub const SSM_PARAMETERS: &[(&str, &str)] = &[
    ("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64", "ami-0157e459893bc2794"),
    ("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64", "ami-0157e459893bc2794"),
    ("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", "ami-08f6cfac8c54bafdd"),
    ("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64", "ami-08f6cfac8c54bafdd"),
    ("/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2", "ami-08e18d750bcbe972e"),
    ("/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-x86_64-gp2", "ami-08e18d750bcbe972e"),
    ("/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id", "ami-0614899f0e0091c82"),
    ("/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id", "ami-0ffab4ac7054f277f"),
    ("/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id", "ami-0ea27eee680bf3230"),
    ("/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id", "ami-052ce2e2ba6f55a06"),
    ("/aws/service/debian/release/12/latest/amd64", "ami-0dd3b9c3a3c8c3435"),
    ("/aws/service/ami-windows-latest/Windows_Server-2019-English-Full-Base", "ami-0234682ab52219022"),
    ("/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base", "ami-0a8378a372bc15589"),
    ("/aws/service/suse/sles/15-sp6/x86_64/latest", "ami-0ea883966e7ac2d5c"),
];

/// The catalogue image a `resolve:ssm:<parameter>` ImageId names: `None` when `image_id` is not of
/// that form, `Some(Err(parameter))` for a parameter ec2d does not know.
pub fn resolve_ssm(image_id: &str) -> Option<Result<&'static str, String>> {
    let parameter = image_id.strip_prefix("resolve:ssm:")?;
    // A version or label suffix (`:3`, `:latest`) names the same image here.
    let name = match parameter.rsplit_once(':') {
        Some((n, _)) if n.starts_with('/') => n,
        _ => parameter,
    };
    Some(SSM_PARAMETERS.iter().find(|(p, _)| *p == name).map(|(_, id)| *id).ok_or_else(|| parameter.to_string()))
}

/// The generic image an unknown but well-formed AMI ID launches as (unless images are strict):
/// Linux/UNIX, the instance type's architecture, an 8 GiB gp3 EBS root at `/dev/xvda`, hvm. It is
/// never listed by DescribeImages.
pub fn generic(id: &str, architecture: &str) -> Image {
    Image {
        id: id.to_string(),
        name: format!("ec2d-generic-{id}"),
        description: Some("A generic image for an AMI ID ec2d does not know".into()),
        owner_id: "000000000000".into(),
        owner_alias: None,
        architecture: architecture.to_string(),
        platform: None,
        platform_details: "Linux/UNIX".into(),
        usage_operation: "RunInstances".into(),
        root_device_type: "ebs".into(),
        root_device_name: "/dev/xvda".into(),
        virtualization_type: "hvm".into(),
        ena_support: true,
        sriov_net_support: Some("simple".into()),
        boot_mode: None,
        tpm_support: None,
        imds_support: None,
        kernel_id: None,
        ramdisk_id: None,
        hibernation_supported: true,
        image_location: format!("ec2d/generic/{id}"),
        created_at: UnixMillis(0),
        available_at: UnixMillis(0),
        block_device_mappings: vec![ImageBdm {
            device_name: "/dev/xvda".into(),
            virtual_name: None,
            ebs: Some(ImageEbs {
                snapshot_id: None,
                volume_size: 8,
                volume_type: VolumeType::Gp3,
                delete_on_termination: true,
                encrypted: false,
                kms_key_id: None,
                iops: None,
                throughput: None,
            }),
        }],
        launch_permission: Permissions::default(),
        source_instance_id: None,
        source_image_id: None,
        source_image_region: None,
        catalog: false,
    }
}

/// A block device mapping of a launch request (RunInstances' `BlockDeviceMapping.N`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedDevice {
    pub device_name: String,
    #[serde(default)]
    pub no_device: bool,
    #[serde(default)]
    pub virtual_name: Option<String>,
    #[serde(default)]
    pub size_gb: Option<u32>,
    #[serde(default)]
    pub volume_type: Option<String>,
    #[serde(default)]
    pub iops: Option<u32>,
    #[serde(default)]
    pub throughput: Option<u32>,
    #[serde(default)]
    pub encrypted: Option<bool>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub snapshot_id: Option<String>,
    #[serde(default)]
    pub delete_on_termination: Option<bool>,
}

/// A volume a launch creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVolume {
    pub device_name: String,
    pub spec: crate::volumes::Spec,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    pub snapshot_id: Option<String>,
    pub delete_on_termination: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchVolumeError {
    Spec(crate::volumes::SpecError),
    Encryption(crate::ebs_encryption::EncryptionError),
    UnknownVolumeType(String),
    SmallerThanSnapshot {
        device: String,
        size: u32,
        min: u32,
    },
    UnknownSnapshot(String),
    /// A new EBS device with neither a size nor a snapshot.
    NoSize(String),
}

/// What a snapshot gives a new volume: `(size GiB, encrypted, KMS key ARN)`.
pub type SnapshotFacts = (u32, bool, Option<String>);

/// The volumes a launch of `image` creates: the image's EBS mappings, changed, dropped
/// (`NoDevice`) or added to by the request's, each checked against its type's limits, with its
/// encryption from the request, the snapshot and the account's defaults. Instance-store devices
/// (`VirtualName`) create no volume.
pub fn launch_volumes(
    scope: &crate::Scope,
    image: &Image,
    requested: &[RequestedDevice],
    defaults: &crate::ebs_encryption::EbsEncryption,
    snapshot: impl Fn(&str) -> Option<SnapshotFacts>,
) -> Result<Vec<NewVolume>, LaunchVolumeError> {
    use crate::volumes::device_slot;
    let slot_of = |d: &str| device_slot(d);
    let mut devices: Vec<String> =
        image.block_device_mappings.iter().filter(|b| b.ebs.is_some()).map(|b| b.device_name.clone()).collect();
    for r in requested {
        if !r.no_device && r.virtual_name.is_none() && !devices.iter().any(|d| slot_of(d) == slot_of(&r.device_name)) {
            devices.push(r.device_name.clone());
        }
    }
    let mut out = Vec::new();
    for device in devices {
        let req = requested.iter().find(|r| slot_of(&r.device_name) == slot_of(&device));
        if req.is_some_and(|r| r.no_device || r.virtual_name.is_some()) {
            continue;
        }
        let base = image.block_device_mappings.iter().find(|b| slot_of(&b.device_name) == slot_of(&device));
        let base_ebs = base.and_then(|b| b.ebs.clone());
        let req = req.cloned().unwrap_or_default();
        let snap_id = req.snapshot_id.clone().or(base_ebs.as_ref().and_then(|e| e.snapshot_id.clone()));
        let from_snapshot: Option<SnapshotFacts> = match (&req.snapshot_id, &base_ebs) {
            (Some(s), _) => Some(snapshot(s).ok_or_else(|| LaunchVolumeError::UnknownSnapshot(s.clone()))?),
            (None, Some(b)) => Some((b.volume_size, b.encrypted, b.kms_key_id.clone())),
            (None, None) => None,
        };
        let min = from_snapshot.as_ref().map(|s| s.0).unwrap_or(0);
        let size = match req.size_gb {
            Some(n) if n < min => return Err(LaunchVolumeError::SmallerThanSnapshot { device, size: n, min }),
            Some(n) => n,
            None if min == 0 => return Err(LaunchVolumeError::NoSize(device)),
            None => min,
        };
        let vtype = match &req.volume_type {
            Some(t) => VolumeType::parse(t).ok_or_else(|| LaunchVolumeError::UnknownVolumeType(t.clone()))?,
            None => base_ebs.as_ref().map(|b| b.volume_type).unwrap_or(VolumeType::Gp2),
        };
        let same_type = base_ebs.as_ref().is_some_and(|b| b.volume_type == vtype);
        let iops = req.iops.or(if same_type { base_ebs.as_ref().and_then(|b| b.iops) } else { None });
        let throughput = req.throughput.or(if same_type { base_ebs.as_ref().and_then(|b| b.throughput) } else { None });
        let spec = crate::volumes::limits::resolve(
            vtype,
            i64::from(size),
            iops.map(i64::from),
            throughput.map(i64::from),
            false,
        )
        .map_err(LaunchVolumeError::Spec)?;
        let (encrypted, kms_key_id) = crate::ebs_encryption::resolve(
            scope,
            defaults,
            req.encrypted,
            req.kms_key_id.as_deref(),
            from_snapshot.as_ref().map(|s| (s.1, s.2.as_deref())),
        )
        .map_err(LaunchVolumeError::Encryption)?;
        out.push(NewVolume {
            device_name: device,
            spec,
            encrypted,
            kms_key_id,
            snapshot_id: snap_id,
            delete_on_termination: req
                .delete_on_termination
                .unwrap_or(base_ebs.as_ref().map(|b| b.delete_on_termination).unwrap_or(true)),
        });
    }
    Ok(out)
}

/// Why a root volume cannot hold a hibernating instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HibernationRootError {
    NotEncrypted,
    /// The root volume (GiB) is smaller than the instance's memory (MiB).
    TooSmall {
        root_gb: u32,
        memory_mib: u64,
    },
}

/// Hibernation writes the instance's memory to its root volume: the volume must be encrypted and
/// at least as large as the memory (ec2d's reading of "large enough to store the RAM contents").
pub fn hibernation_root_check(encrypted: bool, root_gb: u32, memory_mib: u64) -> Result<(), HibernationRootError> {
    if !encrypted {
        return Err(HibernationRootError::NotEncrypted);
    }
    if u64::from(root_gb) * 1024 < memory_mib {
        return Err(HibernationRootError::TooSmall { root_gb, memory_mib });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::images::IMAGES;

    #[test]
    fn ssm_parameters_resolve_to_catalogue_images() {
        for (_, id) in SSM_PARAMETERS {
            assert!(crate::catalog::images::image(id).is_some(), "{id}");
        }
        let p = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
        assert_eq!(resolve_ssm(p), Some(Ok("ami-08f6cfac8c54bafdd")));
        assert_eq!(resolve_ssm(&format!("{p}:7")), Some(Ok("ami-08f6cfac8c54bafdd")));
        assert_eq!(resolve_ssm("resolve:ssm:/my/param"), Some(Err("/my/param".into())));
        assert_eq!(resolve_ssm("ami-08f6cfac8c54bafdd"), None);
    }

    #[test]
    fn generic_images_are_ebs_linux_of_the_given_architecture() {
        let g = generic("ami-0123456789abcdef0", "arm64");
        assert_eq!(
            (g.architecture.as_str(), g.root_volume_gb(), g.platform_details.as_str()),
            ("arm64", 8, "Linux/UNIX")
        );
        assert_eq!(g.state(UnixMillis(0)), ImageState::Available);
    }

    #[test]
    fn launch_volumes_follow_the_image_and_the_request() {
        let scope = crate::Scope::new("111122223333", "us-east-1");
        let image = Image::from_catalog(crate::catalog::images::image("ami-08f6cfac8c54bafdd").unwrap());
        let defaults = crate::ebs_encryption::EbsEncryption::default();
        let none = |_: &str| None;
        let v = launch_volumes(&scope, &image, &[], &defaults, none).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].device_name.as_str(), v[0].spec.size_gb, v[0].delete_on_termination), ("/dev/xvda", 8, true));
        let req = vec![
            RequestedDevice {
                device_name: "/dev/xvda".into(),
                size_gb: Some(20),
                encrypted: Some(true),
                ..Default::default()
            },
            RequestedDevice {
                device_name: "/dev/sdf".into(),
                size_gb: Some(50),
                volume_type: Some("io2".into()),
                iops: Some(1000),
                delete_on_termination: Some(false),
                ..Default::default()
            },
            RequestedDevice {
                device_name: "/dev/sdb".into(),
                virtual_name: Some("ephemeral0".into()),
                ..Default::default()
            },
        ];
        let v = launch_volumes(&scope, &image, &req, &defaults, none).unwrap();
        assert_eq!(v.len(), 2);
        assert!(v[0].encrypted && v[0].spec.size_gb == 20 && v[0].snapshot_id.is_some());
        assert_eq!(
            (v[1].spec.volume_type, v[1].delete_on_termination, v[1].encrypted),
            (VolumeType::Io2, false, false)
        );
        let small = [RequestedDevice { device_name: "/dev/xvda".into(), size_gb: Some(4), ..Default::default() }];
        assert!(matches!(
            launch_volumes(&scope, &image, &small, &defaults, none),
            Err(LaunchVolumeError::SmallerThanSnapshot { min: 8, .. })
        ));
        let drop_root = [RequestedDevice { device_name: "/dev/xvda".into(), no_device: true, ..Default::default() }];
        assert!(launch_volumes(&scope, &image, &drop_root, &defaults, none).unwrap().is_empty());
        let sized = [RequestedDevice { device_name: "/dev/sdg".into(), ..Default::default() }];
        assert_eq!(
            launch_volumes(&scope, &image, &sized, &defaults, none),
            Err(LaunchVolumeError::NoSize("/dev/sdg".into()))
        );
    }

    #[test]
    fn hibernation_needs_an_encrypted_root_that_holds_the_memory() {
        assert_eq!(hibernation_root_check(false, 100, 1024), Err(HibernationRootError::NotEncrypted));
        assert_eq!(
            hibernation_root_check(true, 8, 16 * 1024),
            Err(HibernationRootError::TooSmall { root_gb: 8, memory_mib: 16 * 1024 })
        );
        assert!(hibernation_root_check(true, 16, 16 * 1024).is_ok());
    }

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("my-image (v1) [2025] 'x'@home_01/a.b").is_ok());
        for bad in ["ab", "has*star", &"x".repeat(129), "tab\tname"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn catalogue_images_are_public_available_images_with_their_root_snapshot() {
        for info in IMAGES {
            let i = Image::from_catalog(info);
            assert!(i.catalog && i.launch_permission.public && i.launchable_by("123456789012"));
            assert_eq!(i.state(UnixMillis(i64::MAX)), ImageState::Available);
            assert_eq!(i.root_volume_gb(), info.root_volume_gb);
            assert_eq!(i.snapshot_ids().next(), info.snapshot_id);
        }
    }
}
