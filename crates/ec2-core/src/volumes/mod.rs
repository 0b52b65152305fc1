//! EBS volumes: the record, the limits of each volume type, device names, and the state machine.
//!
//! A volume is `creating` until its creation is due, then `available`; an attachment makes it
//! `in-use` at once, with the attachment `attaching` and then `attached`; a detach moves the
//! attachment to `detaching`, after which the volume is `available` again; a delete makes it
//! `deleting`, after which it is gone. As for instances, transitions are lazy: an action sets the
//! volume's `pending` step with the time it is due, and [`Volume::settle`] completes it once `now`
//! reaches that time. A modification (ModifyVolume) changes the volume's size, type and
//! performance at once and goes `modifying` -> `optimizing` -> `completed` on its own timeline.

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::SharedText;
use crate::Text;

use crate::instances::InstanceState;

pub mod limits;

pub use limits::{Spec, SpecError, VolumeType};

/// How long volume steps take, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageDurations {
    pub volume_create: i64,
    pub volume_attach: i64,
    pub volume_detach: i64,
    pub volume_delete: i64,
    pub volume_modify: i64,
    pub volume_optimize: i64,
    /// From the start of a snapshot until it is `completed`.
    pub snapshot: i64,
    /// From CreateImage/RegisterImage/CopyImage until the image is `available`.
    pub image: i64,
}

impl StorageDurations {
    pub const INSTANT: StorageDurations = StorageDurations {
        volume_create: 0,
        volume_attach: 0,
        volume_detach: 0,
        volume_delete: 0,
        volume_modify: 0,
        volume_optimize: 0,
        snapshot: 0,
        image: 0,
    };
    pub const REALISTIC: StorageDurations = StorageDurations {
        volume_create: 3_000,
        volume_attach: 2_000,
        volume_detach: 2_000,
        volume_delete: 2_000,
        volume_modify: 10_000,
        volume_optimize: 60_000,
        snapshot: 30_000,
        image: 30_000,
    };

    /// The names `--transition-seconds` knows.
    pub const NAMES: [&'static str; 8] = [
        "volume-create",
        "volume-attach",
        "volume-detach",
        "volume-delete",
        "volume-modify",
        "volume-optimize",
        "snapshot",
        "image",
    ];

    /// The slot of a `--transition-seconds` name, if it is one of these.
    pub fn slot(&mut self, name: &str) -> Option<&mut i64> {
        Some(match name {
            "volume-create" => &mut self.volume_create,
            "volume-attach" => &mut self.volume_attach,
            "volume-detach" => &mut self.volume_detach,
            "volume-delete" => &mut self.volume_delete,
            "volume-modify" => &mut self.volume_modify,
            "volume-optimize" => &mut self.volume_optimize,
            "snapshot" => &mut self.snapshot,
            "image" => &mut self.image,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeState {
    Creating,
    Available,
    InUse,
    Deleting,
}

impl VolumeState {
    pub fn name(self) -> &'static str {
        match self {
            VolumeState::Creating => "creating",
            VolumeState::Available => "available",
            VolumeState::InUse => "in-use",
            VolumeState::Deleting => "deleting",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttachmentState {
    Attaching,
    Attached,
    Detaching,
}

impl AttachmentState {
    pub fn name(self) -> &'static str {
        match self {
            AttachmentState::Attaching => "attaching",
            AttachmentState::Attached => "attached",
            AttachmentState::Detaching => "detaching",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub instance_id: Text,
    pub device: Text,
    pub attach_time: UnixMillis,
    pub state: AttachmentState,
    pub delete_on_termination: bool,
}

/// What a step in progress ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// creating -> available.
    Created,
    /// attachment attaching -> attached.
    Attached,
    /// attachment detaching -> gone; the volume becomes available.
    Detached,
    /// deleting -> gone.
    Deleted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingStep {
    pub due: UnixMillis,
    pub step: Step,
}

/// One ModifyVolume request and its course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modification {
    pub original: Spec,
    pub target: Spec,
    pub start_time: UnixMillis,
    /// Durations of the `modifying` and `optimizing` phases it was started with.
    pub modifying: i64,
    pub optimizing: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModificationState {
    Modifying,
    Optimizing,
    Completed,
}

impl ModificationState {
    pub fn name(self) -> &'static str {
        match self {
            ModificationState::Modifying => "modifying",
            ModificationState::Optimizing => "optimizing",
            ModificationState::Completed => "completed",
        }
    }
}

impl Modification {
    /// The state, progress (percent) and end time (once completed) at `now`.
    pub fn view(&self, now: UnixMillis) -> (ModificationState, i64, Option<UnixMillis>) {
        let optimizing_at = self.start_time.plus_millis(self.modifying);
        let end = optimizing_at.plus_millis(self.optimizing);
        if now >= end {
            return (ModificationState::Completed, 100, Some(end));
        }
        let total = (self.modifying + self.optimizing).max(1);
        let progress = ((now.0 - self.start_time.0).clamp(0, total) * 100 / total).min(99);
        let state = if now < optimizing_at { ModificationState::Modifying } else { ModificationState::Optimizing };
        (state, progress, None)
    }

    pub fn in_progress(&self, now: UnixMillis) -> bool {
        self.view(now).0 == ModificationState::Modifying
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub id: Text,
    pub spec: Spec,
    pub availability_zone: SharedText,
    pub availability_zone_id: SharedText,
    pub encrypted: bool,
    /// The KMS key's ARN, for encrypted volumes.
    pub kms_key_id: Option<SharedText>,
    pub snapshot_id: Option<SharedText>,
    pub create_time: UnixMillis,
    pub state: VolumeState,
    pub attachment: Option<Attachment>,
    pub pending: Option<PendingStep>,
    pub auto_enable_io: bool,
    pub modifications: Vec<Modification>,
    pub client_token: Option<SharedText>,
}

/// Why an action on a volume is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeError {
    /// The volume is not in a state for this action.
    IncorrectState(VolumeState),
    /// The volume is attached (to this instance).
    InUse(String),
    /// The instance is in another zone.
    ZoneMismatch { volume_zone: String, instance_zone: String },
    /// The instance is not in a state volumes can be attached to (or detached from).
    InstanceState(InstanceState),
    /// The device name is not valid.
    BadDevice(String),
    /// The device name is taken on the instance.
    DeviceInUse(String),
    /// The volume is not attached to the instance named (or at the device named).
    NotAttached { instance_id: Option<String> },
    /// The root volume of an instance that is not stopped.
    RootOfRunningInstance(String),
    /// A modification is still in its `modifying` phase.
    ModificationInProgress,
    /// The modification would shrink the volume.
    Shrink { from: u32, to: u32 },
    /// The modification changes nothing.
    NoChange,
}

/// Whether `device` is a device name EBS accepts: `/dev/sd[a-z]`, `/dev/sd[a-z][1-15]`,
/// `/dev/sd[a-z][a-z]`, the same with `xvd` (with or without `/dev/`, as Windows names them),
/// and `/dev/hd[a-z]`.
pub fn valid_device_name(device: &str) -> bool {
    let rest = device.strip_prefix("/dev/").unwrap_or(device);
    let (prefix_ok, tail) = if let Some(t) = rest.strip_prefix("xvd") {
        (true, t)
    } else if let Some(t) = rest.strip_prefix("sd") {
        (device.starts_with("/dev/"), t)
    } else if let Some(t) = rest.strip_prefix("hd") {
        (device.starts_with("/dev/"), t)
    } else {
        (false, "")
    };
    if !prefix_ok {
        return false;
    }
    let b = tail.as_bytes();
    match b {
        [l] => l.is_ascii_lowercase(),
        [l, m] if m.is_ascii_lowercase() => l.is_ascii_lowercase(),
        [l, rest @ ..] if l.is_ascii_lowercase() => {
            let n: Option<u32> = std::str::from_utf8(rest).ok().and_then(|s| s.parse().ok());
            !rest.is_empty() && rest[0] != b'0' && n.is_some_and(|n| (1..=15).contains(&n))
        }
        _ => false,
    }
}

/// The slot a device name takes: `/dev/sdf`, `/dev/xvdf` and `xvdf` name the same one.
pub fn device_slot(device: &str) -> String {
    let rest = device.strip_prefix("/dev/").unwrap_or(device);
    for p in ["xvd", "sd", "hd"] {
        if let Some(t) = rest.strip_prefix(p) {
            return t.to_string();
        }
    }
    rest.to_string()
}

impl Volume {
    /// A new volume, `creating` until `durations.volume_create` has passed (the next settle).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        spec: Spec,
        zone: (&str, &str),
        encryption: (bool, Option<String>),
        snapshot_id: Option<String>,
        now: UnixMillis,
        d: &StorageDurations,
    ) -> Volume {
        Volume {
            id: id.into(),
            spec,
            availability_zone: zone.0.into(),
            availability_zone_id: zone.1.into(),
            encrypted: encryption.0,
            kms_key_id: encryption.1.map(Into::into),
            snapshot_id: snapshot_id.map(Into::into),
            create_time: now,
            state: VolumeState::Creating,
            attachment: None,
            pending: Some(PendingStep { due: now.plus_millis(d.volume_create), step: Step::Created }),
            auto_enable_io: false,
            modifications: Vec::new(),
            client_token: None,
        }
    }

    /// A volume created with an instance: already attached (the instance's launch is the wait).
    #[allow(clippy::too_many_arguments)]
    pub fn for_instance(
        id: String,
        spec: Spec,
        zone: (&str, &str),
        encryption: (bool, Option<String>),
        snapshot_id: Option<String>,
        instance_id: &str,
        device: &str,
        delete_on_termination: bool,
        now: UnixMillis,
    ) -> Volume {
        Volume {
            id: id.into(),
            spec,
            availability_zone: zone.0.into(),
            availability_zone_id: zone.1.into(),
            encrypted: encryption.0,
            kms_key_id: encryption.1.map(Into::into),
            snapshot_id: snapshot_id.map(Into::into),
            create_time: now,
            state: VolumeState::InUse,
            attachment: Some(Attachment {
                instance_id: instance_id.into(),
                device: device.into(),
                attach_time: now,
                state: AttachmentState::Attached,
                delete_on_termination,
            }),
            pending: None,
            auto_enable_io: false,
            modifications: Vec::new(),
            client_token: None,
        }
    }

    /// Completes the step in progress if it is due by `now`. Returns `false` once the volume is
    /// gone (deleted).
    pub fn settle(&mut self, now: UnixMillis) -> bool {
        let Some(p) = self.pending else { return true };
        if p.due > now {
            return true;
        }
        self.pending = None;
        match p.step {
            Step::Created => self.state = VolumeState::Available,
            Step::Attached => {
                if let Some(a) = self.attachment.as_mut() {
                    a.state = AttachmentState::Attached;
                }
            }
            Step::Detached => {
                self.attachment = None;
                self.state = VolumeState::Available;
            }
            Step::Deleted => return false,
        }
        true
    }

    /// Attaches the volume to an instance at `device`. `devices_in_use` are the device names the
    /// instance already has.
    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        &mut self,
        instance_id: &str,
        instance_zone: &str,
        instance_state: InstanceState,
        device: &str,
        devices_in_use: &[String],
        now: UnixMillis,
        d: &StorageDurations,
    ) -> Result<(), VolumeError> {
        if !valid_device_name(device) {
            return Err(VolumeError::BadDevice(device.to_string()));
        }
        match self.state {
            VolumeState::Available => {}
            VolumeState::InUse => {
                let on = self.attachment.as_ref().map(|a| a.instance_id.clone()).unwrap_or_default();
                return Err(VolumeError::InUse(on.to_string()));
            }
            s @ (VolumeState::Creating | VolumeState::Deleting) => return Err(VolumeError::IncorrectState(s)),
        }
        if self.availability_zone != instance_zone {
            return Err(VolumeError::ZoneMismatch {
                volume_zone: self.availability_zone.to_string(),
                instance_zone: instance_zone.to_string(),
            });
        }
        match instance_state {
            InstanceState::Running | InstanceState::Stopped => {}
            s @ (InstanceState::Pending
            | InstanceState::ShuttingDown
            | InstanceState::Terminated
            | InstanceState::Stopping) => return Err(VolumeError::InstanceState(s)),
        }
        let slot = device_slot(device);
        if devices_in_use.iter().any(|d| device_slot(d) == slot) {
            return Err(VolumeError::DeviceInUse(device.to_string()));
        }
        self.state = VolumeState::InUse;
        self.attachment = Some(Attachment {
            instance_id: instance_id.into(),
            device: device.into(),
            attach_time: now,
            state: AttachmentState::Attaching,
            delete_on_termination: false,
        });
        self.pending = Some(PendingStep { due: now.plus_millis(d.volume_attach), step: Step::Attached });
        Ok(())
    }

    /// Starts detaching the volume. `instance_id` and `device`, when given, must name its
    /// attachment; `root_of` is the instance's state when the volume is that instance's root
    /// device (a root volume only comes off a stopped instance).
    pub fn detach(
        &mut self,
        instance_id: Option<&str>,
        device: Option<&str>,
        root_of: Option<InstanceState>,
        now: UnixMillis,
        d: &StorageDurations,
    ) -> Result<(), VolumeError> {
        let Some(a) = self.attachment.as_mut() else {
            return Err(VolumeError::IncorrectState(self.state));
        };
        if instance_id.is_some_and(|i| i != a.instance_id)
            || device.is_some_and(|dv| device_slot(dv) != device_slot(&a.device))
        {
            return Err(VolumeError::NotAttached { instance_id: instance_id.map(String::from) });
        }
        if a.state == AttachmentState::Detaching {
            return Err(VolumeError::IncorrectState(self.state));
        }
        if let Some(s) = root_of {
            if s != InstanceState::Stopped {
                return Err(VolumeError::RootOfRunningInstance(a.instance_id.to_string()));
            }
        }
        a.state = AttachmentState::Detaching;
        self.pending = Some(PendingStep { due: now.plus_millis(d.volume_detach), step: Step::Detached });
        Ok(())
    }

    /// Detaches at once (the instance is gone), for a volume kept after its instance's termination.
    pub fn release(&mut self) {
        self.attachment = None;
        self.state = VolumeState::Available;
        self.pending = None;
    }

    /// Starts deleting the volume.
    pub fn delete(&mut self, now: UnixMillis, d: &StorageDurations) -> Result<(), VolumeError> {
        match self.state {
            VolumeState::Available => {
                self.state = VolumeState::Deleting;
                self.pending = Some(PendingStep { due: now.plus_millis(d.volume_delete), step: Step::Deleted });
                Ok(())
            }
            VolumeState::InUse => Err(VolumeError::InUse(
                self.attachment.as_ref().map(|a| a.instance_id.clone()).unwrap_or_default().to_string(),
            )),
            s @ (VolumeState::Creating | VolumeState::Deleting) => Err(VolumeError::IncorrectState(s)),
        }
    }

    /// Deletes the volume together with its instance (DeleteOnTermination).
    pub fn delete_with_instance(&mut self, now: UnixMillis, d: &StorageDurations) {
        self.attachment = None;
        self.state = VolumeState::Deleting;
        self.pending = Some(PendingStep { due: now.plus_millis(d.volume_delete), step: Step::Deleted });
    }

    /// Starts a modification to `target` (already checked against the type's limits).
    pub fn modify(&mut self, target: Spec, now: UnixMillis, d: &StorageDurations) -> Result<(), VolumeError> {
        match self.state {
            VolumeState::Available | VolumeState::InUse => {}
            s @ (VolumeState::Creating | VolumeState::Deleting) => return Err(VolumeError::IncorrectState(s)),
        }
        if self.modifications.last().is_some_and(|m| m.in_progress(now)) {
            return Err(VolumeError::ModificationInProgress);
        }
        if target.size_gb < self.spec.size_gb {
            return Err(VolumeError::Shrink { from: self.spec.size_gb, to: target.size_gb });
        }
        if target == self.spec {
            return Err(VolumeError::NoChange);
        }
        self.modifications.push(Modification {
            original: self.spec,
            target,
            start_time: now,
            modifying: d.volume_modify,
            optimizing: d.volume_optimize,
        });
        self.spec = target;
        Ok(())
    }

    /// The attachment's instance, if any.
    pub fn attached_to(&self) -> Option<&str> {
        self.attachment.as_ref().map(|a| a.instance_id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> StorageDurations {
        StorageDurations::REALISTIC
    }

    fn vol(now: UnixMillis) -> Volume {
        let spec = limits::resolve(VolumeType::Gp3, 10, None, None, false).unwrap();
        Volume::new("vol-1".into(), spec, ("us-east-1a", "use1-az1"), (false, None), None, now, &d())
    }

    #[test]
    fn a_volume_is_created_then_attached_detached_and_deleted_on_the_clock() {
        let t0 = UnixMillis(1_000_000);
        let mut v = vol(t0);
        assert_eq!(v.state, VolumeState::Creating);
        assert_eq!(
            v.attach("i-1", "us-east-1a", InstanceState::Running, "/dev/sdf", &[], t0, &d()),
            Err(VolumeError::IncorrectState(VolumeState::Creating))
        );
        let t1 = t0.plus_millis(d().volume_create);
        assert!(v.settle(t1));
        assert_eq!(v.state, VolumeState::Available);
        v.attach("i-1", "us-east-1a", InstanceState::Running, "/dev/sdf", &[], t1, &d()).unwrap();
        assert_eq!(v.state, VolumeState::InUse);
        assert_eq!(v.attachment.as_ref().unwrap().state, AttachmentState::Attaching);
        assert_eq!(v.delete(t1, &d()), Err(VolumeError::InUse("i-1".into())));
        let t2 = t1.plus_millis(d().volume_attach);
        v.settle(t2);
        assert_eq!(v.attachment.as_ref().unwrap().state, AttachmentState::Attached);
        assert_eq!(
            v.detach(Some("i-2"), None, None, t2, &d()),
            Err(VolumeError::NotAttached { instance_id: Some("i-2".into()) })
        );
        v.detach(Some("i-1"), Some("/dev/xvdf"), None, t2, &d()).unwrap();
        assert_eq!(v.attachment.as_ref().unwrap().state, AttachmentState::Detaching);
        let t3 = t2.plus_millis(d().volume_detach);
        v.settle(t3);
        assert_eq!((v.state, v.attachment.is_none()), (VolumeState::Available, true));
        v.delete(t3, &d()).unwrap();
        assert_eq!(v.state, VolumeState::Deleting);
        assert!(v.settle(t3));
        assert!(!v.settle(t3.plus_millis(d().volume_delete)));
    }

    #[test]
    fn attach_checks_zone_instance_state_and_device() {
        let t = UnixMillis(0);
        let mut v = vol(t);
        v.settle(t.plus_millis(10_000));
        let t = t.plus_millis(10_000);
        assert!(matches!(
            v.attach("i-1", "us-east-1b", InstanceState::Running, "/dev/sdf", &[], t, &d()),
            Err(VolumeError::ZoneMismatch { .. })
        ));
        assert_eq!(
            v.attach("i-1", "us-east-1a", InstanceState::Terminated, "/dev/sdf", &[], t, &d()),
            Err(VolumeError::InstanceState(InstanceState::Terminated))
        );
        assert_eq!(
            v.attach("i-1", "us-east-1a", InstanceState::Running, "/dev/foo", &[], t, &d()),
            Err(VolumeError::BadDevice("/dev/foo".into()))
        );
        assert_eq!(
            v.attach("i-1", "us-east-1a", InstanceState::Running, "/dev/sdf", &["/dev/xvdf".into()], t, &d()),
            Err(VolumeError::DeviceInUse("/dev/sdf".into()))
        );
        assert_eq!(v.state, VolumeState::Available);
    }

    #[test]
    fn a_root_volume_comes_off_only_a_stopped_instance() {
        let t = UnixMillis(0);
        let spec = limits::resolve(VolumeType::Gp3, 8, None, None, false).unwrap();
        let mut v =
            Volume::for_instance("vol-1".into(), spec, ("z", "zid"), (false, None), None, "i-1", "/dev/xvda", true, t);
        assert_eq!(
            v.detach(None, None, Some(InstanceState::Running), t, &d()),
            Err(VolumeError::RootOfRunningInstance("i-1".into()))
        );
        v.detach(None, None, Some(InstanceState::Stopped), t, &d()).unwrap();
    }

    #[test]
    fn device_names() {
        for ok in ["/dev/sdf", "/dev/xvdf", "xvdf", "/dev/sda1", "/dev/sdf15", "/dev/xvdba", "/dev/hda"] {
            assert!(valid_device_name(ok), "{ok}");
        }
        for bad in ["/dev/sdf16", "/dev/sdf0", "sdf", "/dev/nvme0n1", "/dev/sd", "/dev/sdF", "", "/dev/xvdabc"] {
            assert!(!valid_device_name(bad), "{bad}");
        }
        assert_eq!(device_slot("/dev/sdf"), device_slot("xvdf"));
    }

    #[test]
    fn modifications_grow_only_one_at_a_time_and_complete_on_the_clock() {
        let t = UnixMillis(0);
        let mut v = vol(t);
        let t = t.plus_millis(10_000);
        v.settle(t);
        let bigger = limits::resolve(VolumeType::Gp3, 20, Some(4000), None, false).unwrap();
        assert_eq!(v.modify(v.spec, t, &d()), Err(VolumeError::NoChange));
        let smaller = limits::resolve(VolumeType::Gp3, 5, None, None, false).unwrap();
        assert_eq!(v.modify(smaller, t, &d()), Err(VolumeError::Shrink { from: 10, to: 5 }));
        v.modify(bigger, t, &d()).unwrap();
        assert_eq!(v.spec.size_gb, 20);
        let even_bigger = limits::resolve(VolumeType::Gp3, 30, None, None, false).unwrap();
        assert_eq!(v.modify(even_bigger, t, &d()), Err(VolumeError::ModificationInProgress));
        let m = v.modifications.last().unwrap().clone();
        assert_eq!(m.view(t).0, ModificationState::Modifying);
        assert_eq!(m.view(t.plus_millis(d().volume_modify)).0, ModificationState::Optimizing);
        let end = t.plus_millis(d().volume_modify + d().volume_optimize);
        assert_eq!(m.view(end), (ModificationState::Completed, 100, Some(end)));
        v.modify(even_bigger, t.plus_millis(d().volume_modify), &d()).unwrap();
    }
}
