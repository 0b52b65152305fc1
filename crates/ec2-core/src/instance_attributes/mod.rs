//! Instance attributes: the names DescribeInstanceAttribute, ModifyInstanceAttribute and
//! ResetInstanceAttribute take, which of them may change and in which states, the change itself,
//! and the shutdown an instance's own operating system initiates (which honours
//! `instanceInitiatedShutdownBehavior`).

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::Text;

use crate::instances::lifecycle::user_initiated;
use crate::instances::model::{Pending, SecurityGroupRef, ShutdownBehavior, Transition};
use crate::instances::{Durations, Instance, InstanceState, RootDeviceType, StateChange, StateReason};

pub mod options;
pub use options::{LaunchOptions, MaintenanceOptions, PrivateDnsOptions};

/// The attributes an instance record keeps beyond its launch description. Records written before
/// these existed read with the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attributes {
    /// The user data as the wire carries it (base64), if any.
    pub user_data: Option<Text>,
    pub kernel_id: Option<Text>,
    pub ramdisk_id: Option<Text>,
    pub source_dest_check: bool,
    /// `simple` once enhanced networking with the Intel 82599 VF is enabled.
    pub sriov_net_support: Option<Text>,
    pub enclave_enabled: bool,
    /// The instance metadata service options (`MetadataOptions`).
    pub metadata: MetadataOptions,
    /// The IAM instance profile of the instance's current association, if any.
    pub iam_profile: Option<crate::iam_instance_profiles::Profile>,
    /// `PrivateDnsNameOptions`.
    pub private_dns: PrivateDnsOptions,
    /// `MaintenanceOptions`.
    pub maintenance: MaintenanceOptions,
    /// The CPU credit option set at launch or by ModifyInstanceCreditSpecification (`None`: the
    /// instance type's default, `credit_specifications::effective`).
    pub cpu_credits: Option<Text>,
    /// `NetworkPerformanceOptions.BandwidthWeighting` (`None` shows as `default`).
    pub bandwidth_weighting: Option<Text>,
    /// `Operator.Principal` of a managed instance.
    pub operator: Option<Text>,
}

crate::impl_dedup!(Attributes);

impl Attributes {
    /// The attributes of a new instance: what the launch asked for beyond its description.
    pub fn at_launch(
        user_data: Option<String>,
        metadata: MetadataOptions,
        iam_profile: Option<crate::iam_instance_profiles::Profile>,
        options: &LaunchOptions,
    ) -> Attributes {
        Attributes {
            user_data: user_data.filter(|u| !u.is_empty()).map(Into::into),
            kernel_id: options.kernel_id.clone(),
            ramdisk_id: options.ramdisk_id.clone(),
            enclave_enabled: options.enclave_enabled,
            metadata,
            iam_profile,
            private_dns: options.private_dns.clone(),
            maintenance: options.maintenance.clone(),
            cpu_credits: options.cpu_credits.clone(),
            bandwidth_weighting: options.bandwidth_weighting.clone(),
            operator: options.operator.clone(),
            ..Default::default()
        }
    }
}

impl Default for Attributes {
    fn default() -> Self {
        Attributes {
            user_data: None,
            kernel_id: None,
            ramdisk_id: None,
            source_dest_check: true,
            sriov_net_support: None,
            enclave_enabled: false,
            metadata: MetadataOptions::default(),
            iam_profile: None,
            private_dns: PrivateDnsOptions::default(),
            maintenance: MaintenanceOptions::default(),
            cpu_credits: None,
            bandwidth_weighting: None,
            operator: None,
        }
    }
}

/// The sixteen attribute names of the EC2 model (`InstanceAttributeName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    InstanceType,
    Kernel,
    Ramdisk,
    UserData,
    DisableApiTermination,
    InstanceInitiatedShutdownBehavior,
    RootDeviceName,
    BlockDeviceMapping,
    ProductCodes,
    SourceDestCheck,
    GroupSet,
    EbsOptimized,
    SriovNetSupport,
    EnaSupport,
    EnclaveOptions,
    DisableApiStop,
}

impl Attribute {
    pub const ALL: [Attribute; 16] = [
        Attribute::InstanceType,
        Attribute::Kernel,
        Attribute::Ramdisk,
        Attribute::UserData,
        Attribute::DisableApiTermination,
        Attribute::InstanceInitiatedShutdownBehavior,
        Attribute::RootDeviceName,
        Attribute::BlockDeviceMapping,
        Attribute::ProductCodes,
        Attribute::SourceDestCheck,
        Attribute::GroupSet,
        Attribute::EbsOptimized,
        Attribute::SriovNetSupport,
        Attribute::EnaSupport,
        Attribute::EnclaveOptions,
        Attribute::DisableApiStop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attribute::InstanceType => "instanceType",
            Attribute::Kernel => "kernel",
            Attribute::Ramdisk => "ramdisk",
            Attribute::UserData => "userData",
            Attribute::DisableApiTermination => "disableApiTermination",
            Attribute::InstanceInitiatedShutdownBehavior => "instanceInitiatedShutdownBehavior",
            Attribute::RootDeviceName => "rootDeviceName",
            Attribute::BlockDeviceMapping => "blockDeviceMapping",
            Attribute::ProductCodes => "productCodes",
            Attribute::SourceDestCheck => "sourceDestCheck",
            Attribute::GroupSet => "groupSet",
            Attribute::EbsOptimized => "ebsOptimized",
            Attribute::SriovNetSupport => "sriovNetSupport",
            Attribute::EnaSupport => "enaSupport",
            Attribute::EnclaveOptions => "enclaveOptions",
            Attribute::DisableApiStop => "disableApiStop",
        }
    }

    /// The attribute a wire name names (exact, as EC2 matches it).
    pub fn parse(name: &str) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether ModifyInstanceAttribute can change it.
    pub fn modifiable(self) -> bool {
        !matches!(self, Attribute::RootDeviceName | Attribute::ProductCodes | Attribute::EnclaveOptions)
    }

    /// Whether it changes only while the instance is stopped.
    pub fn only_while_stopped(self) -> bool {
        matches!(
            self,
            Attribute::InstanceType
                | Attribute::Kernel
                | Attribute::Ramdisk
                | Attribute::UserData
                | Attribute::EbsOptimized
                | Attribute::SriovNetSupport
                | Attribute::EnaSupport
        )
    }

    /// Whether ResetInstanceAttribute can reset it.
    pub fn resettable(self) -> bool {
        matches!(self, Attribute::Kernel | Attribute::Ramdisk | Attribute::SourceDestCheck)
    }
}

/// One checked modification (ModifyInstanceAttribute changes one attribute per call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    InstanceType(String),
    Kernel(String),
    Ramdisk(String),
    /// Base64, as the wire carries it; empty clears the user data.
    UserData(String),
    DisableApiTermination(bool),
    ShutdownBehavior(ShutdownBehavior),
    /// (device name, new DeleteOnTermination) for attached devices.
    BlockDevices(Vec<(String, Option<bool>)>),
    SourceDestCheck(bool),
    Groups(Vec<SecurityGroupRef>),
    EbsOptimized(bool),
    SriovNetSupport(String),
    EnaSupport(bool),
    DisableApiStop(bool),
}

impl Change {
    pub fn attribute(&self) -> Attribute {
        match self {
            Change::InstanceType(_) => Attribute::InstanceType,
            Change::Kernel(_) => Attribute::Kernel,
            Change::Ramdisk(_) => Attribute::Ramdisk,
            Change::UserData(_) => Attribute::UserData,
            Change::DisableApiTermination(_) => Attribute::DisableApiTermination,
            Change::ShutdownBehavior(_) => Attribute::InstanceInitiatedShutdownBehavior,
            Change::BlockDevices(_) => Attribute::BlockDeviceMapping,
            Change::SourceDestCheck(_) => Attribute::SourceDestCheck,
            Change::Groups(_) => Attribute::GroupSet,
            Change::EbsOptimized(_) => Attribute::EbsOptimized,
            Change::SriovNetSupport(_) => Attribute::SriovNetSupport,
            Change::EnaSupport(_) => Attribute::EnaSupport,
            Change::DisableApiStop(_) => Attribute::DisableApiStop,
        }
    }
}

/// Why an attribute change is refused. The service words these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrError {
    /// The attribute is read-only (`rootDeviceName`, `productCodes`, `enclaveOptions`).
    NotModifiable(Attribute),
    /// ResetInstanceAttribute resets only kernel, ramdisk and sourceDestCheck.
    NotResettable(Attribute),
    /// The attribute changes only while stopped, and the instance is not.
    NotStopped { id: String },
    /// The instance is shutting down or terminated.
    Gone { id: String, state: InstanceState },
    /// A BlockDeviceMapping names a device the instance does not have.
    NoDevice(String),
    /// The guest cannot shut down: the instance is not running.
    NotRunning { id: String, state: InstanceState },
}

fn check_state(inst: &Instance, attr: Attribute) -> Result<(), AttrError> {
    match inst.state {
        InstanceState::ShuttingDown | InstanceState::Terminated => {
            Err(AttrError::Gone { id: inst.id.to_string(), state: inst.state })
        }
        InstanceState::Stopped => Ok(()),
        InstanceState::Pending | InstanceState::Running | InstanceState::Stopping => {
            if attr.only_while_stopped() {
                Err(AttrError::NotStopped { id: inst.id.to_string() })
            } else {
                Ok(())
            }
        }
    }
}

/// Applies one modification, or refuses it leaving the instance unchanged.
pub fn modify(inst: &mut Instance, change: Change) -> Result<(), AttrError> {
    let attr = change.attribute();
    check_state(inst, attr)?;
    match change {
        Change::InstanceType(t) => inst.instance_type = t.into(),
        Change::Kernel(k) => inst.attributes.kernel_id = Some(k).filter(|k| !k.is_empty()).map(Into::into),
        Change::Ramdisk(r) => inst.attributes.ramdisk_id = Some(r).filter(|r| !r.is_empty()).map(Into::into),
        Change::UserData(u) => inst.attributes.user_data = Some(u).filter(|u| !u.is_empty()).map(Into::into),
        Change::DisableApiTermination(v) => inst.disable_api_termination = v,
        Change::ShutdownBehavior(b) => inst.shutdown_behavior = b,
        Change::BlockDevices(devices) => {
            if let Some((missing, _)) =
                devices.iter().find(|(name, _)| !inst.volumes.iter().any(|v| v.device_name == *name))
            {
                return Err(AttrError::NoDevice(missing.clone()));
            }
            for (name, delete) in devices {
                if let (Some(v), Some(d)) = (inst.volumes.iter_mut().find(|v| v.device_name == name), delete) {
                    v.delete_on_termination = d;
                }
            }
        }
        Change::SourceDestCheck(v) => inst.attributes.source_dest_check = v,
        Change::Groups(g) => inst.security_groups = g.into(),
        Change::EbsOptimized(v) => inst.ebs_optimized = v,
        Change::SriovNetSupport(v) => inst.attributes.sriov_net_support = Some(v.into()),
        Change::EnaSupport(v) => inst.ena_support = v,
        Change::DisableApiStop(v) => inst.disable_api_stop = v,
    }
    Ok(())
}

/// ResetInstanceAttribute: kernel and ramdisk (while stopped) back to none, sourceDestCheck to true.
pub fn reset(inst: &mut Instance, attr: Attribute) -> Result<(), AttrError> {
    if !attr.resettable() {
        return Err(AttrError::NotResettable(attr));
    }
    let stopped_only = matches!(attr, Attribute::Kernel | Attribute::Ramdisk);
    match inst.state {
        InstanceState::ShuttingDown | InstanceState::Terminated => {
            return Err(AttrError::Gone { id: inst.id.to_string(), state: inst.state })
        }
        InstanceState::Stopped => {}
        _ if stopped_only => return Err(AttrError::NotStopped { id: inst.id.to_string() }),
        _ => {}
    }
    match attr {
        Attribute::Kernel => inst.attributes.kernel_id = None,
        Attribute::Ramdisk => inst.attributes.ramdisk_id = None,
        _ => inst.attributes.source_dest_check = true,
    }
    Ok(())
}

/// Checks the change against `modifiable` before the service builds it.
pub fn check_modifiable(attr: Attribute) -> Result<(), AttrError> {
    if attr.modifiable() {
        Ok(())
    } else {
        Err(AttrError::NotModifiable(attr))
    }
}

/// The operating system of a running instance shuts itself down (`shutdown -h now`): the instance
/// stops, or terminates when its `instanceInitiatedShutdownBehavior` is `terminate` or its root
/// device is an instance store. Neither stop nor termination protection applies: they guard the API.
pub fn guest_shutdown(inst: &mut Instance, now: UnixMillis, d: &Durations) -> Result<StateChange, AttrError> {
    if inst.state != InstanceState::Running {
        return Err(AttrError::NotRunning { id: inst.id.to_string(), state: inst.state });
    }
    let previous = inst.state;
    let terminate =
        inst.shutdown_behavior == ShutdownBehavior::Terminate || inst.root_device_type == RootDeviceType::InstanceStore;
    inst.state_transition_reason = user_initiated(now).into();
    inst.state_reason = Some(StateReason::new(
        "Client.InstanceInitiatedShutdown",
        "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
    ));
    inst.status_ok_at = None;
    inst.stuck_stopping = false;
    let (state, took, transition) = if terminate {
        (InstanceState::ShuttingDown, d.terminate, Transition::BecomeTerminated)
    } else {
        (InstanceState::Stopping, d.stop, Transition::BecomeStopped)
    };
    inst.state = state;
    inst.pending = Some(Pending { due: now.plus_millis(took), transition });
    Ok(StateChange { instance_id: inst.id.to_string(), previous, current: inst.state })
}

/// The instance metadata service options of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetadataOptions {
    /// `optional` or `required` (IMDSv2 only).
    pub http_tokens: Text,
    /// 1 to 64.
    pub hop_limit: i64,
    /// `enabled` or `disabled`.
    pub http_endpoint: Text,
    /// `enabled` or `disabled`.
    pub http_protocol_ipv6: Text,
    /// `enabled` or `disabled`.
    pub instance_metadata_tags: Text,
}

impl Default for MetadataOptions {
    fn default() -> Self {
        MetadataOptions {
            http_tokens: "required".into(),
            hop_limit: 2,
            http_endpoint: "enabled".into(),
            http_protocol_ipv6: "disabled".into(),
            instance_metadata_tags: "disabled".into(),
        }
    }
}

/// A change of the metadata options: each member given replaces the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataChange {
    pub http_tokens: Option<String>,
    pub hop_limit: Option<i64>,
    pub http_endpoint: Option<String>,
    pub http_protocol_ipv6: Option<String>,
    pub instance_metadata_tags: Option<String>,
}

/// A metadata option value out of its range: (the parameter, the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMetadataValue {
    pub parameter: &'static str,
    pub value: String,
}

pub const MAX_HOP_LIMIT: i64 = 64;

impl MetadataOptions {
    /// `self` with `change` applied, or the first value out of range.
    pub fn with(&self, change: &MetadataChange) -> Result<MetadataOptions, BadMetadataValue> {
        fn pick(
            parameter: &'static str,
            current: &str,
            new: &Option<String>,
            allowed: &[&str],
        ) -> Result<String, BadMetadataValue> {
            match new {
                None => Ok(current.to_string()),
                Some(v) if allowed.contains(&v.as_str()) => Ok(v.clone()),
                Some(v) => Err(BadMetadataValue { parameter, value: v.clone() }),
            }
        }
        const SWITCH: &[&str] = &["enabled", "disabled"];
        let hop_limit = match change.hop_limit {
            None => self.hop_limit,
            Some(h) if (1..=MAX_HOP_LIMIT).contains(&h) => h,
            Some(h) => return Err(BadMetadataValue { parameter: "HttpPutResponseHopLimit", value: h.to_string() }),
        };
        Ok(MetadataOptions {
            http_tokens: pick("HttpTokens", &self.http_tokens, &change.http_tokens, &["optional", "required"])?.into(),
            hop_limit,
            http_endpoint: pick("HttpEndpoint", &self.http_endpoint, &change.http_endpoint, SWITCH)?.into(),
            http_protocol_ipv6: pick("HttpProtocolIpv6", &self.http_protocol_ipv6, &change.http_protocol_ipv6, SWITCH)?
                .into(),
            instance_metadata_tags: pick(
                "InstanceMetadataTags",
                &self.instance_metadata_tags,
                &change.instance_metadata_tags,
                SWITCH,
            )?
            .into(),
        })
    }
}

/// Whether MonitorInstances / UnmonitorInstances may change the instance: not once it is
/// shutting down or terminated.
pub fn set_monitoring(inst: &mut Instance, enabled: bool) -> Result<(), AttrError> {
    if matches!(inst.state, InstanceState::ShuttingDown | InstanceState::Terminated) {
        return Err(AttrError::Gone { id: inst.id.to_string(), state: inst.state });
    }
    inst.monitoring = enabled;
    Ok(())
}

/// The console output of an instance that has booted (`None` before its first boot), and when it
/// was written: a plausible boot log of its platform naming the instance, its address and its type.
pub fn console_output(inst: &Instance) -> Option<(String, UnixMillis)> {
    if !inst.ever_running {
        return None;
    }
    let at = inst.launch_time.plus_millis(14_000);
    let host = format!("ip-{}", inst.private_ip.replace('.', "-"));
    let when = at.to_iso8601();
    let text = if inst.platform.as_deref() == Some("windows") {
        [
            format!("{when}: Windows sysprep configuration complete."),
            format!("{when}: Message: Waiting for meta-data accessibility..."),
            format!("{when}: Message: Meta-data is now available."),
            format!("{when}: AMI Origin Version: {}", inst.image_id),
            format!("{when}: Instance ID: {}", inst.id),
            format!("{when}: Instance Type: {}", inst.instance_type),
            format!("{when}: Availability Zone: {}", inst.availability_zone),
            format!("{when}: Private IP: {}", inst.private_ip),
            format!("{when}: RDPCERTIFICATE-SUBJECTNAME: {}", inst.id.to_uppercase()),
            format!("{when}: Message: Windows is Ready to use"),
        ]
        .join("\r\n")
    } else {
        [
            format!("[    0.000000] Linux version 6.1.0-ec2d ({}) #1 SMP", inst.architecture),
            "[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz root=LABEL=/ ro console=ttyS0".to_string(),
            format!("[    0.000000] DMI: Amazon EC2 {}/, BIOS 1.0 10/16/2017", inst.instance_type),
            "[    0.000000] Hypervisor detected: KVM".to_string(),
            format!("[    2.118411] EXT4-fs ({}): mounted filesystem with ordered data mode", inst.root_device_name.trim_start_matches("/dev/")),
            format!("[    5.402310] cloud-init[1712]: Cloud-init v. 22.2.2 running 'init' at {when}. Up 5.40 seconds."),
            format!("[    5.512007] cloud-init[1712]: ci-info: | ens5 | True | {} | . | global | {} |", inst.private_ip, inst.mac_address),
            format!("[    6.017755] cloud-init[1712]: instance-id: {}", inst.id),
            "-----BEGIN SSH HOST KEY FINGERPRINTS-----".to_string(),
            format!("256 SHA256:{} no comment (ED25519)", inst.id.trim_start_matches("i-")),
            "-----END SSH HOST KEY FINGERPRINTS-----".to_string(),
            format!("[   12.000000] cloud-init[2003]: Cloud-init v. 22.2.2 finished at {when}. Datasource DataSourceEc2.  Up 12.00 seconds"),
            String::new(),
            format!("{host} login: "),
        ]
        .join("\n")
    };
    Some((text, at))
}

#[cfg(test)]
mod tests;
