//! The instance record as ec2d stores it.

use std::collections::BTreeMap;

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::{Shared, SharedText, Text};

/// EC2's six instance states. Codes are the low byte AWS documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl InstanceState {
    pub const ALL: [InstanceState; 6] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::ShuttingDown,
        InstanceState::Terminated,
        InstanceState::Stopping,
        InstanceState::Stopped,
    ];

    pub fn code(self) -> i64 {
        match self {
            InstanceState::Pending => 0,
            InstanceState::Running => 16,
            InstanceState::ShuttingDown => 32,
            InstanceState::Terminated => 48,
            InstanceState::Stopping => 64,
            InstanceState::Stopped => 80,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReason {
    pub code: Text,
    pub message: Text,
}

crate::impl_dedup!(StateReason);

impl StateReason {
    /// The reason, shared with the last equal one made on this thread ([`Shared`]): every instance
    /// an action stops or terminates at once holds one copy.
    pub fn new(code: &str, message: &str) -> Shared<StateReason> {
        Shared::new(StateReason { code: code.into(), message: message.into() })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootDeviceType {
    Ebs,
    InstanceStore,
}

impl RootDeviceType {
    pub fn name(self) -> &'static str {
        match self {
            RootDeviceType::Ebs => "ebs",
            RootDeviceType::InstanceStore => "instance-store",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShutdownBehavior {
    Stop,
    Terminate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub device_name: Text,
    pub volume_id: Text,
    pub size_gb: u32,
    pub delete_on_termination: bool,
    pub attach_time: UnixMillis,
}

/// What a transition in progress ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transition {
    /// pending -> running (after a launch or a start).
    BecomeRunning,
    /// stopping -> stopped.
    BecomeStopped,
    /// shutting-down -> terminated.
    BecomeTerminated,
    /// terminated -> gone from every listing.
    Purge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub due: UnixMillis,
    pub transition: Transition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRef {
    pub id: Text,
    pub name: Text,
}

crate::impl_dedup!(Vec<SecurityGroupRef>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: Text,
    pub reservation_id: SharedText,
    pub owner_id: SharedText,
    pub image_id: SharedText,
    pub instance_type: SharedText,
    pub key_name: Option<SharedText>,
    pub launch_time: UnixMillis,
    pub ami_launch_index: u32,
    pub client_token: Option<SharedText>,

    pub availability_zone: SharedText,
    pub availability_zone_id: SharedText,
    pub tenancy: SharedText,
    pub vpc_id: SharedText,
    pub subnet_id: SharedText,
    pub private_ip: Text,
    pub public_ip: Option<Text>,
    /// Whether `public_ip` is an Elastic IP (kept across a stop, unlike an automatic address).
    #[serde(default)]
    pub public_ip_elastic: bool,
    /// The same for every instance of a launch: kept once ([`Shared`]).
    pub security_groups: Shared<Vec<SecurityGroupRef>>,
    pub network_interface_id: Text,
    pub attachment_id: Text,
    pub mac_address: Text,

    pub root_device_type: RootDeviceType,
    pub root_device_name: SharedText,
    pub volumes: Vec<Volume>,
    pub architecture: SharedText,
    pub virtualization_type: SharedText,
    pub hypervisor: SharedText,
    pub platform: Option<SharedText>,
    pub platform_details: SharedText,
    pub usage_operation: SharedText,
    pub ena_support: bool,
    pub boot_mode: Option<SharedText>,
    pub cpu_cores: u32,
    pub threads_per_core: u32,
    pub ebs_optimized: bool,
    pub monitoring: bool,
    pub hibernation_configured: bool,
    pub disable_api_stop: bool,
    pub disable_api_termination: bool,
    pub shutdown_behavior: ShutdownBehavior,

    pub tags: BTreeMap<String, String>,

    pub state: InstanceState,
    pub state_transition_reason: SharedText,
    /// The same for every instance an action stops or terminates at once: kept once ([`Shared`]).
    pub state_reason: Option<Shared<StateReason>>,
    /// Whether the instance has ever reached `running` (a never-run pending instance cannot stop).
    pub ever_running: bool,
    /// Held in `stopping` by the control API (a stuck host), until a forced stop or a release.
    pub stuck_stopping: bool,
    /// The transition in progress, if any.
    pub pending: Option<Pending>,
    /// When the status checks of the current run pass (`initializing` until then).
    pub status_ok_at: Option<UnixMillis>,
    pub terminated_at: Option<UnixMillis>,
    /// The Spot request that launched the instance (its lifecycle is then `spot`).
    #[serde(default)]
    pub spot_request_id: Option<SharedText>,
    /// The Capacity Reservation the instance runs (or last ran) in. It holds one unit of it
    /// while `pending` or `running`.
    #[serde(default)]
    pub capacity_reservation_id: Option<SharedText>,
    /// `CapacityReservationSpecification.CapacityReservationPreference` (`None` is `open`).
    #[serde(default)]
    pub capacity_preference: Option<SharedText>,
    /// The reservation the instance targets, if any.
    #[serde(default)]
    pub capacity_target: Option<SharedText>,
    /// `capacity-block` or `interruptible-capacity-reservation` for instances in such reservations.
    #[serde(default)]
    pub reservation_lifecycle: Option<SharedText>,
    /// User data, kernel, ramdisk, source/destination check, SR-IOV and enclave settings.
    #[serde(default)]
    pub attributes: Shared<crate::instance_attributes::Attributes>,
}

impl Instance {
    /// Whether the instance holds a unit of capacity (in its pool, and in its reservation if it
    /// has one): from the launch or start until a stop or termination is requested.
    pub fn holds_capacity(&self) -> bool {
        matches!(self.state, InstanceState::Pending | InstanceState::Running)
    }

    /// The public address, once the instance has left `pending`; an Elastic IP in every state
    /// but `terminated`.
    pub fn visible_public_ip(&self) -> Option<&str> {
        match self.state {
            InstanceState::Running | InstanceState::Stopping | InstanceState::ShuttingDown => self.public_ip.as_deref(),
            InstanceState::Pending | InstanceState::Stopped if self.public_ip_elastic => self.public_ip.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// A record is kept behind an `Arc` (16 bytes of counts before it). The attributes, the groups
    /// and the strings every instance of a launch holds equal ([`Shared`], [`SharedText`]: 8-byte
    /// pointers to one copy) keep the instance record within the allocator's 512-byte size class
    /// (1 KiB with those strings inline), its primary interface's within 224 and its volume's within 224.
    #[test]
    fn the_records_kept_per_instance_fit_their_size_classes() {
        let instance = std::mem::size_of::<Instance>();
        assert!(instance + 16 <= 512, "an instance record takes {instance} bytes inline");
        let interface = std::mem::size_of::<crate::network_interfaces::NetworkInterface>();
        assert!(interface + 16 <= 224, "an interface record takes {interface} bytes inline");
        let volume = std::mem::size_of::<crate::volumes::Volume>();
        assert!(volume + 16 <= 224, "a volume record takes {volume} bytes inline");
    }
}
