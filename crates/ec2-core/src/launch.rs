//! Instance derivation: a checked launch request ([`LaunchPlan`]), whether its image fits its
//! instance type ([`check_fit`]), and the instance a launch creates from the plan, the image, the
//! type and the IDs the caller drew ([`derive`]). RunInstances and Spot fulfilment share it; a Spot
//! request stores its plan, typed.

use std::collections::BTreeMap;

use ec2_time::UnixMillis;
use serde::{Deserialize, Deserializer, Serialize};

use crate::catalog::instance_types::InstanceTypeInfo;
use crate::images::{Image, RequestedDevice};
use crate::instances::model::{Pending, SecurityGroupRef, ShutdownBehavior, Transition, Volume};
use crate::instances::{Durations, Instance, InstanceState, RootDeviceType, StateReason};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDevice {
    pub device_name: String,
    pub size_gb: Option<u32>,
    pub delete_on_termination: bool,
    /// The mapping as requested (type, IOPS, encryption, snapshot, `NoDevice`, `VirtualName`);
    /// plans stored before it existed have only the fields above.
    #[serde(default)]
    pub requested: Option<RequestedDevice>,
}

impl BlockDevice {
    /// The mapping in the form `images::launch_volumes` takes.
    pub fn request(&self) -> RequestedDevice {
        self.requested.clone().unwrap_or_else(|| RequestedDevice {
            device_name: self.device_name.clone(),
            size_gb: self.size_gb,
            delete_on_termination: Some(self.delete_on_termination),
            ..Default::default()
        })
    }
}

/// A checked launch request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchPlan {
    pub image_id: String,
    pub instance_type: String,
    pub key_name: Option<String>,
    pub zone: String,
    pub subnet_id: String,
    pub groups: Vec<SecurityGroupRef>,
    pub tenancy: String,
    pub fixed_ip: Option<String>,
    pub associate_public_ip: bool,
    pub hibernation: bool,
    pub disable_api_stop: bool,
    pub disable_api_termination: bool,
    pub shutdown: ShutdownBehavior,
    pub ebs_optimized: Option<bool>,
    pub monitoring: bool,
    pub cpu_cores: Option<u32>,
    pub threads_per_core: Option<u32>,
    pub block_devices: Vec<BlockDevice>,
    pub client_token: Option<String>,
    pub instance_tags: BTreeMap<String, String>,
    /// `CapacityReservationSpecification`: the preference and the targeted reservation.
    #[serde(default)]
    pub capacity_preference: Option<String>,
    #[serde(default)]
    pub capacity_target: Option<String>,
    /// `UserData` as the wire carries it (base64).
    #[serde(default)]
    pub user_data: Option<String>,
    /// `MetadataOptions`, checked.
    #[serde(default)]
    pub metadata: crate::instance_attributes::MetadataOptions,
    /// `IamInstanceProfile`, resolved.
    #[serde(default)]
    pub iam_profile: Option<crate::iam_instance_profiles::Profile>,
    /// Kernel, ramdisk, enclave, hostname, maintenance, credit, bandwidth and operator options.
    #[serde(default)]
    pub options: crate::instance_attributes::LaunchOptions,
}

/// Reads a stored plan: a JSON object, or (in Spot requests written before the plan was typed) a
/// string holding the plan's JSON.
pub fn plan_compat<'de, D: Deserializer<'de>>(d: D) -> Result<LaunchPlan, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Typed(Box<LaunchPlan>),
        Text(String),
    }
    match Stored::deserialize(d)? {
        Stored::Typed(plan) => Ok(*plan),
        Stored::Text(text) => serde_json::from_str(&text).map_err(serde::de::Error::custom),
    }
}

/// Why an image cannot launch with a plan; the server maps each to an EC2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchError {
    /// The instance type's architectures do not include the image's.
    ArchitectureMismatch {
        instance_type: &'static str,
        type_architectures: String,
        image: String,
        image_architecture: String,
    },
    /// The instance type does not support the image's virtualization or root device type.
    RootDeviceUnsupported { instance_type: &'static str, virtualization_type: String, root_device_type: String },
    /// Stop protection needs an EBS-backed image.
    StopProtectionInstanceStore { image: String },
    /// Hibernation needs an instance type and an EBS-backed image that support it.
    HibernationUnsupported { instance_type: &'static str, image: String },
}

/// Checks that the image fits the instance type and the plan's options.
pub fn check_fit(plan: &LaunchPlan, image: &Image, itype: &InstanceTypeInfo) -> Result<(), LaunchError> {
    if !itype.architectures.contains(&image.architecture.as_str()) {
        return Err(LaunchError::ArchitectureMismatch {
            instance_type: itype.name,
            type_architectures: itype.architectures.join(", "),
            image: image.id.clone(),
            image_architecture: image.architecture.clone(),
        });
    }
    if !itype.root_device_types.contains(&image.root_device_type.as_str())
        || !itype.virtualization_types.contains(&image.virtualization_type.as_str())
    {
        return Err(LaunchError::RootDeviceUnsupported {
            instance_type: itype.name,
            virtualization_type: image.virtualization_type.clone(),
            root_device_type: image.root_device_type.clone(),
        });
    }
    if plan.disable_api_stop && image.root_device_type != "ebs" {
        return Err(LaunchError::StopProtectionInstanceStore { image: image.id.clone() });
    }
    if plan.hibernation
        && !(itype.hibernation_supported && image.hibernation_supported && image.root_device_type == "ebs")
    {
        return Err(LaunchError::HibernationUnsupported { instance_type: itype.name, image: image.id.clone() });
    }
    Ok(())
}

/// The MAC address EC2 would show for a network interface (derived from its ID).
pub fn mac_address(eni: &str) -> String {
    let hex = eni.trim_start_matches("eni-");
    let b = hex.as_bytes();
    let pair = |i: usize| std::str::from_utf8(b.get(i..i + 2).unwrap_or(b"00")).unwrap_or("00").to_string();
    format!("0e:{}:{}:{}:{}:{}", pair(7), pair(9), pair(11), pair(13), pair(15))
}

/// Where an instance lands, and the IDs and addresses the caller drew for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    pub id: String,
    pub reservation_id: String,
    pub owner_id: String,
    pub zone: String,
    pub zone_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub eni: String,
    pub private_ip: String,
    pub public_ip: Option<String>,
    /// One per volume the launch creates (`images::launch_volumes`), in that order.
    pub volume_ids: Vec<String>,
    pub spot_request_id: Option<String>,
}

/// The instance a launch creates: `pending` until the launch duration has passed, holding no
/// capacity yet (the caller places it).
#[allow(clippy::too_many_arguments)]
pub fn derive(
    plan: &LaunchPlan,
    image: &Image,
    itype: &InstanceTypeInfo,
    new_volumes: &[crate::images::NewVolume],
    drawn: Drawn,
    index: u32,
    now: UnixMillis,
    durations: &Durations,
) -> Instance {
    let volumes = new_volumes
        .iter()
        .zip(drawn.volume_ids)
        .map(|(v, volume_id)| Volume {
            device_name: v.device_name.clone().into(),
            volume_id: volume_id.into(),
            size_gb: v.spec.size_gb,
            delete_on_termination: v.delete_on_termination,
            attach_time: now,
        })
        .collect();
    Instance {
        id: drawn.id.into(),
        reservation_id: drawn.reservation_id.into(),
        owner_id: drawn.owner_id.into(),
        image_id: image.id.clone().into(),
        instance_type: itype.name.into(),
        key_name: plan.key_name.clone().map(Into::into),
        launch_time: UnixMillis(now.0 - now.0.rem_euclid(1000)),
        ami_launch_index: index,
        client_token: plan.client_token.clone().map(Into::into),
        availability_zone: drawn.zone.into(),
        availability_zone_id: drawn.zone_id.into(),
        tenancy: plan.tenancy.clone().into(),
        vpc_id: drawn.vpc_id.into(),
        subnet_id: drawn.subnet_id.into(),
        private_ip: drawn.private_ip.into(),
        public_ip: drawn.public_ip.map(Into::into),
        public_ip_elastic: false,
        security_groups: plan.groups.clone().into(),
        attachment_id: format!("eni-attach-{}", drawn.eni.trim_start_matches("eni-")).into(),
        mac_address: mac_address(&drawn.eni).into(),
        network_interface_id: drawn.eni.into(),
        root_device_type: if image.root_device_type == "ebs" {
            RootDeviceType::Ebs
        } else {
            RootDeviceType::InstanceStore
        },
        root_device_name: image.root_device_name.clone().into(),
        volumes,
        architecture: image.architecture.clone().into(),
        virtualization_type: image.virtualization_type.clone().into(),
        hypervisor: "xen".into(),
        platform: image.platform.clone().map(Into::into),
        platform_details: image.platform_details.clone().into(),
        usage_operation: image.usage_operation.clone().into(),
        ena_support: image.ena_support,
        boot_mode: image.boot_mode.clone().map(Into::into),
        cpu_cores: plan.cpu_cores.unwrap_or(itype.cores),
        threads_per_core: plan.threads_per_core.unwrap_or(itype.threads_per_core),
        ebs_optimized: plan.ebs_optimized.unwrap_or(itype.ebs_optimized_support == "default"),
        monitoring: plan.monitoring,
        hibernation_configured: plan.hibernation,
        disable_api_stop: plan.disable_api_stop,
        disable_api_termination: plan.disable_api_termination,
        shutdown_behavior: plan.shutdown,
        tags: plan.instance_tags.clone(),
        state: InstanceState::Pending,
        state_transition_reason: String::new().into(),
        state_reason: Some(StateReason::new("pending", "pending")),
        ever_running: false,
        stuck_stopping: false,
        pending: Some(Pending { due: now.plus_millis(durations.launch), transition: Transition::BecomeRunning }),
        status_ok_at: None,
        terminated_at: None,
        spot_request_id: drawn.spot_request_id.map(Into::into),
        capacity_reservation_id: None,
        capacity_preference: plan.capacity_preference.clone().map(Into::into),
        capacity_target: plan.capacity_target.clone().map(Into::into),
        reservation_lifecycle: None,
        attributes: crate::instance_attributes::Attributes::at_launch(
            plan.user_data.clone(),
            plan.metadata.clone(),
            plan.iam_profile.clone(),
            &plan.options,
        )
        .into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::{images, instance_types};

    const NOW: UnixMillis = UnixMillis(1_767_225_600_123);

    pub fn plan() -> LaunchPlan {
        LaunchPlan {
            image_id: "ami-08f6cfac8c54bafdd".into(),
            instance_type: "t3.micro".into(),
            key_name: None,
            zone: "us-east-1a".into(),
            subnet_id: "subnet-1".into(),
            groups: vec![],
            tenancy: "default".into(),
            fixed_ip: None,
            associate_public_ip: true,
            hibernation: false,
            disable_api_stop: false,
            disable_api_termination: false,
            shutdown: ShutdownBehavior::Stop,
            ebs_optimized: None,
            monitoring: false,
            cpu_cores: None,
            threads_per_core: None,
            block_devices: vec![],
            client_token: None,
            instance_tags: BTreeMap::new(),
            capacity_preference: None,
            capacity_target: None,
            user_data: None,
            metadata: Default::default(),
            iam_profile: None,
            options: Default::default(),
        }
    }

    fn drawn(volume_ids: Vec<String>) -> Drawn {
        Drawn {
            id: "i-0123456789abcdef0".into(),
            reservation_id: "r-1".into(),
            owner_id: "000000000000".into(),
            zone: "us-east-1a".into(),
            zone_id: "use1-az6".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-1".into(),
            eni: "eni-0123456789abcdef0".into(),
            private_ip: "172.31.0.4".into(),
            public_ip: Some("3.0.0.1".into()),
            volume_ids,
            spot_request_id: None,
        }
    }

    #[test]
    fn an_instance_takes_its_image_type_and_plan() {
        let image = Image::from_catalog(images::image("ami-08f6cfac8c54bafdd").unwrap());
        let image = &image;
        let itype = instance_types::instance_type("t3.micro").unwrap();
        let mut p = plan();
        p.block_devices = vec![
            BlockDevice {
                device_name: image.root_device_name.clone(),
                size_gb: Some(30),
                delete_on_termination: true,
                requested: None,
            },
            BlockDevice {
                device_name: "/dev/sdf".into(),
                size_gb: Some(8),
                delete_on_termination: false,
                requested: None,
            },
        ];
        p.cpu_cores = Some(1);
        let scope = crate::Scope::new("000000000000", "us-east-1");
        let requested: Vec<RequestedDevice> = p.block_devices.iter().map(BlockDevice::request).collect();
        let wanted =
            crate::images::launch_volumes(&scope, image, &requested, &Default::default(), |_: &str| None).unwrap();
        assert_eq!(wanted.len(), 2);
        let d = Durations::REALISTIC;
        let inst = derive(&p, image, itype, &wanted, drawn(vec!["vol-a".into(), "vol-b".into()]), 0, NOW, &d);
        assert_eq!(inst.state, InstanceState::Pending);
        assert_eq!(inst.pending.unwrap().due, NOW.plus_millis(d.launch));
        assert_eq!(inst.launch_time, UnixMillis(1_767_225_600_000), "whole seconds");
        assert_eq!((inst.volumes[0].size_gb, inst.volumes[0].volume_id.as_str()), (30, "vol-a"));
        assert_eq!((inst.volumes[1].size_gb, inst.volumes[1].delete_on_termination), (8, false));
        assert_eq!(inst.cpu_cores, 1);
        assert_eq!(inst.threads_per_core, itype.threads_per_core);
        assert_eq!(inst.platform_details, image.platform_details);
        assert_eq!(inst.mac_address, "0e:78:9a:bc:de:f0", "from the last ten hex digits");
        assert_eq!(inst.attachment_id, "eni-attach-0123456789abcdef0");
        assert!(!inst.holds_capacity() || inst.capacity_reservation_id.is_none());
    }

    #[test]
    fn an_image_must_fit_the_type_and_options() {
        let image = Image::from_catalog(images::image("ami-08f6cfac8c54bafdd").unwrap());
        let image = &image;
        let x86 = instance_types::instance_type("t3.micro").unwrap();
        assert_eq!(check_fit(&plan(), image, x86), Ok(()));
        let arm = instance_types::instance_type("t4g.micro").unwrap();
        assert!(matches!(check_fit(&plan(), image, arm), Err(LaunchError::ArchitectureMismatch { .. })));
        let mut hib = plan();
        hib.hibernation = true;
        let fits = x86.hibernation_supported && image.hibernation_supported;
        assert_eq!(check_fit(&hib, image, x86).is_ok(), fits);
    }

    #[test]
    fn a_plan_stored_as_a_json_string_still_reads() {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(deserialize_with = "plan_compat")]
            launch_plan: LaunchPlan,
        }
        let typed = serde_json::to_value(plan()).unwrap();
        let old = serde_json::json!({ "launch_plan": typed.to_string() });
        let new = serde_json::json!({ "launch_plan": typed });
        assert_eq!(serde_json::from_value::<Doc>(old).unwrap().launch_plan, plan());
        assert_eq!(serde_json::from_value::<Doc>(new).unwrap().launch_plan, plan());
        assert!(serde_json::from_value::<Doc>(serde_json::json!({ "launch_plan": "{" })).is_err());
    }
}
