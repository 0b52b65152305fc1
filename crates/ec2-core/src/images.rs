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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::images::IMAGES;

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
