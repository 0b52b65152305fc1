//! The instance state machine: one function per action, each legal only from the states where EC2
//! allows it, and `settle`, which completes the transitions that are due by `now`.
//!
//! Actions change the record and schedule the end of their transition (`Instance::pending`) after a
//! duration from [`Durations`]; nothing here reads a clock. The whole table of (state, action) pairs
//! is in ../shared/spec/aws-semantics.md section 4.2; where AWS's answer is not documented, the
//! choice is written next to the match arm.

use ec2_time::{civil_from_days, UnixMillis, MILLIS_PER_DAY};

use super::model::{Instance, InstanceState, Pending, RootDeviceType, StateReason, Transition};
use crate::Shared;

/// How long each transition takes, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durations {
    pub launch: i64,
    pub start: i64,
    pub stop: i64,
    pub hibernate: i64,
    /// A forced stop, or a stop that skips the OS shutdown.
    pub force_stop: i64,
    pub terminate: i64,
    /// From entering `running` until the status checks pass.
    pub status_checks: i64,
    /// How long a terminated instance stays visible.
    pub terminated_visible: i64,
    /// From a Windows instance's first run until its password is ready (GetPasswordData).
    pub password: i64,
}

impl Durations {
    /// Every transition completes before the next request.
    pub const INSTANT: Durations = Durations {
        launch: 0,
        start: 0,
        stop: 0,
        hibernate: 0,
        force_stop: 0,
        terminate: 0,
        status_checks: 0,
        terminated_visible: 3_600_000,
        password: 0,
    };

    /// AWS-like durations (configurable at startup).
    pub const REALISTIC: Durations = Durations {
        launch: 8_000,
        start: 8_000,
        stop: 15_000,
        hibernate: 25_000,
        force_stop: 3_000,
        terminate: 8_000,
        status_checks: 60_000,
        terminated_visible: 3_600_000,
        password: 240_000,
    };

    /// Sets one duration by its name, as given on the command line.
    pub fn set(&mut self, name: &str, millis: i64) -> Result<(), String> {
        let slot = match name {
            "launch" => &mut self.launch,
            "start" => &mut self.start,
            "stop" => &mut self.stop,
            "hibernate" => &mut self.hibernate,
            "force-stop" => &mut self.force_stop,
            "terminate" => &mut self.terminate,
            "status-checks" => &mut self.status_checks,
            "terminated-visible" => &mut self.terminated_visible,
            "password" => &mut self.password,
            other => return Err(format!("unknown transition '{other}'")),
        };
        *slot = millis;
        Ok(())
    }

    pub const NAMES: [&'static str; 9] = [
        "launch",
        "start",
        "stop",
        "hibernate",
        "force-stop",
        "terminate",
        "status-checks",
        "terminated-visible",
        "password",
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub instance_id: String,
    pub previous: InstanceState,
    pub current: InstanceState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StopOptions {
    pub hibernate: bool,
    pub force: bool,
    pub skip_os_shutdown: bool,
}

/// Why an action is refused. Each variant maps to one EC2 error code (in the server's errors table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleError {
    /// `IncorrectInstanceState`, with AWS's message for the case.
    IncorrectState { id: String, message: String },
    /// `UnsupportedOperation`: an instance-store root cannot be stopped or started.
    InstanceStoreRoot { id: String, verb: &'static str },
    /// `OperationNotPermitted`: stop protection.
    StopProtected { id: String },
    /// `OperationNotPermitted`: termination protection, or stop protection (which also guards
    /// against termination); `attribute` names the one that is set.
    TerminationProtected { id: String, attribute: &'static str },
    /// `UnsupportedHibernationConfiguration`.
    HibernationNotConfigured { id: String },
}

/// `User initiated (2024-08-09 07:00:48 GMT)`.
pub fn user_initiated(now: UnixMillis) -> String {
    let days = now.0.div_euclid(MILLIS_PER_DAY);
    let secs = now.0.rem_euclid(MILLIS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!("User initiated ({y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} GMT)", secs / 3600, (secs / 60) % 60, secs % 60)
}

fn change(inst: &Instance, previous: InstanceState) -> StateChange {
    StateChange { instance_id: inst.id.to_string(), previous, current: inst.state }
}

fn schedule(inst: &mut Instance, due: UnixMillis, transition: Transition) {
    inst.pending = Some(Pending { due, transition });
}

pub fn stop(
    inst: &mut Instance,
    now: UnixMillis,
    opts: StopOptions,
    d: &Durations,
) -> Result<StateChange, LifecycleError> {
    use InstanceState as S;
    let id = inst.id.clone();
    if inst.root_device_type == RootDeviceType::InstanceStore {
        return Err(LifecycleError::InstanceStoreRoot { id: id.to_string(), verb: "stopped" });
    }
    if inst.disable_api_stop {
        return Err(LifecycleError::StopProtected { id: id.to_string() });
    }
    if opts.hibernate && !inst.hibernation_configured {
        return Err(LifecycleError::HibernationNotConfigured { id: id.to_string() });
    }
    let previous = inst.state;
    match inst.state {
        S::Pending if !inst.ever_running => Err(LifecycleError::IncorrectState {
            message: format!("Instance '{id}' cannot be stopped as it has never reached the 'running' state."),
            id: id.to_string(),
        }),
        // A start in progress can be stopped (spec 4.2, inferred): it goes straight to stopping.
        S::Pending | S::Running => {
            inst.state = S::Stopping;
            inst.state_transition_reason = user_initiated(now).into();
            inst.state_reason = Some(if opts.hibernate {
                StateReason::new(
                    "Client.UserInitiatedHibernate",
                    "Client.UserInitiatedHibernate: User initiated hibernate",
                )
            } else {
                StateReason::new(
                    "Client.UserInitiatedShutdown",
                    "Client.UserInitiatedShutdown: User initiated shutdown",
                )
            });
            inst.status_ok_at = None;
            inst.pending = None;
            if !inst.stuck_stopping || opts.force {
                inst.stuck_stopping = false;
                let took = if opts.force || opts.skip_os_shutdown {
                    d.force_stop
                } else if opts.hibernate {
                    d.hibernate
                } else {
                    d.stop
                };
                schedule(inst, now.plus_millis(took), Transition::BecomeStopped);
            }
            Ok(change(inst, previous))
        }
        // Stopping again is a no-op; a forced stop finishes a stuck (or slow) one quickly.
        S::Stopping => {
            if opts.force || opts.skip_os_shutdown {
                inst.stuck_stopping = false;
                let due = now.plus_millis(d.force_stop);
                let sooner = inst.pending.is_none_or(|p| p.due > due);
                if sooner {
                    schedule(inst, due, Transition::BecomeStopped);
                }
            }
            Ok(change(inst, previous))
        }
        S::Stopped => Ok(change(inst, previous)),
        S::ShuttingDown | S::Terminated => Err(LifecycleError::IncorrectState {
            message: format!("This instance '{id}' is not in a state from which it can be stopped."),
            id: id.to_string(),
        }),
    }
}

pub fn start(inst: &mut Instance, now: UnixMillis, d: &Durations) -> Result<StateChange, LifecycleError> {
    use InstanceState as S;
    let id = inst.id.clone();
    if inst.root_device_type == RootDeviceType::InstanceStore {
        return Err(LifecycleError::InstanceStoreRoot { id: id.to_string(), verb: "started" });
    }
    let previous = inst.state;
    match inst.state {
        S::Stopped => {
            inst.state = S::Pending;
            inst.state_transition_reason = String::new().into();
            inst.state_reason = None;
            schedule(inst, now.plus_millis(d.start), Transition::BecomeRunning);
            Ok(change(inst, previous))
        }
        // Starting a pending or running instance is a no-op (spec 4.2, inferred as moto does).
        S::Pending | S::Running => Ok(change(inst, previous)),
        // Stopping is not a state a start can come from (spec 4.2, inferred).
        S::Stopping | S::ShuttingDown | S::Terminated => Err(LifecycleError::IncorrectState {
            message: format!("The instance '{id}' is not in a state from which it can be started."),
            id: id.to_string(),
        }),
    }
}

pub fn terminate(inst: &mut Instance, now: UnixMillis, d: &Durations) -> Result<StateChange, LifecycleError> {
    use InstanceState as S;
    let id = inst.id.clone();
    let previous = inst.state;
    match inst.state {
        // Terminating again succeeds and changes nothing.
        S::ShuttingDown | S::Terminated => Ok(change(inst, previous)),
        S::Pending | S::Running | S::Stopping | S::Stopped => {
            if inst.disable_api_termination {
                return Err(LifecycleError::TerminationProtected {
                    id: id.to_string(),
                    attribute: "disableApiTermination",
                });
            }
            if inst.disable_api_stop {
                return Err(LifecycleError::TerminationProtected { id: id.to_string(), attribute: "disableApiStop" });
            }
            inst.state = S::ShuttingDown;
            inst.state_transition_reason = user_initiated(now).into();
            inst.state_reason = Some(StateReason::new(
                "Client.UserInitiatedShutdown",
                "Client.UserInitiatedShutdown: User initiated shutdown",
            ));
            inst.status_ok_at = None;
            inst.stuck_stopping = false;
            schedule(inst, now.plus_millis(d.terminate), Transition::BecomeTerminated);
            Ok(change(inst, previous))
        }
    }
}

/// EC2 terminates the instance on its own (a Spot interruption or clean-up), whatever protection
/// it has. Nothing happens to an instance already shutting down or terminated.
pub fn service_terminate(inst: &mut Instance, now: UnixMillis, d: &Durations, reason: Shared<StateReason>) {
    use InstanceState as S;
    if matches!(inst.state, S::ShuttingDown | S::Terminated) {
        return;
    }
    inst.state = S::ShuttingDown;
    inst.state_transition_reason = service_initiated(now).into();
    inst.state_reason = Some(reason);
    inst.status_ok_at = None;
    inst.stuck_stopping = false;
    schedule(inst, now.plus_millis(d.terminate), Transition::BecomeTerminated);
}

/// EC2 stops (or hibernates) a running instance on its own (a Spot interruption).
pub fn service_stop(inst: &mut Instance, now: UnixMillis, d: &Durations, hibernate: bool) {
    use InstanceState as S;
    if !matches!(inst.state, S::Pending | S::Running) {
        return;
    }
    inst.state = S::Stopping;
    inst.state_transition_reason = service_initiated(now).into();
    inst.state_reason = Some(if hibernate {
        StateReason::new("Server.SpotInstanceHibernate", "Server.SpotInstanceHibernate: Spot instance hibernation")
    } else {
        StateReason::new("Server.SpotInstanceShutdown", "Server.SpotInstanceShutdown: Spot instance shutdown")
    });
    inst.status_ok_at = None;
    schedule(inst, now.plus_millis(if hibernate { d.hibernate } else { d.stop }), Transition::BecomeStopped);
}

/// `Service initiated (2024-08-09 07:00:48 GMT)`: the reason EC2 gives for its own actions.
pub fn service_initiated(now: UnixMillis) -> String {
    user_initiated(now).replacen("User", "Service", 1)
}

/// A reboot changes no state. Terminated instances are ignored, as EC2 documents; the other
/// non-running states are refused (spec 4.2, inferred).
pub fn reboot(inst: &Instance) -> Result<(), LifecycleError> {
    use InstanceState as S;
    match inst.state {
        S::Running | S::Terminated => Ok(()),
        S::Pending | S::Stopping | S::Stopped | S::ShuttingDown => Err(LifecycleError::IncorrectState {
            message: format!("The instance '{}' is not in a state from which it can be rebooted.", inst.id),
            id: inst.id.to_string(),
        }),
    }
}

/// Holds the instance in `stopping` (a stuck host): a stop in progress stops progressing, and the
/// next stop gets stuck too, until a forced stop or [`release_stopping`].
pub fn hold_stopping(inst: &mut Instance) {
    inst.stuck_stopping = true;
    if inst.state == InstanceState::Stopping {
        inst.pending = None;
    }
}

pub fn release_stopping(inst: &mut Instance, now: UnixMillis, d: &Durations) {
    inst.stuck_stopping = false;
    if inst.state == InstanceState::Stopping && inst.pending.is_none() {
        schedule(inst, now.plus_millis(d.stop), Transition::BecomeStopped);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Unchanged,
    Changed,
    /// The record is gone (terminated long enough ago).
    Purged,
}

/// Completes every transition due by `now`, each at its own due time.
pub fn settle(inst: &mut Instance, now: UnixMillis, d: &Durations) -> Settled {
    let mut outcome = Settled::Unchanged;
    while let Some(p) = inst.pending.filter(|p| p.due <= now) {
        inst.pending = None;
        outcome = Settled::Changed;
        match p.transition {
            Transition::BecomeRunning => {
                inst.state = InstanceState::Running;
                inst.ever_running = true;
                inst.state_reason = None;
                inst.status_ok_at = Some(p.due.plus_millis(d.status_checks));
            }
            Transition::BecomeStopped => {
                inst.state = InstanceState::Stopped;
                // An automatic public address goes back to AWS; an Elastic IP stays associated.
                if !inst.public_ip_elastic {
                    inst.public_ip = None;
                }
            }
            Transition::BecomeTerminated => {
                inst.state = InstanceState::Terminated;
                inst.public_ip = None;
                inst.public_ip_elastic = false;
                inst.terminated_at = Some(p.due);
                inst.volumes.retain(|v| !v.delete_on_termination);
                schedule(inst, p.due.plus_millis(d.terminated_visible), Transition::Purge);
            }
            Transition::Purge => return Settled::Purged,
        }
    }
    outcome
}

/// The status checks of a running instance: `initializing` until they pass, then `ok`.
pub fn status_checks_passed(inst: &Instance, now: UnixMillis) -> bool {
    inst.state == InstanceState::Running && inst.status_ok_at.is_some_and(|t| t <= now)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::instances::model::{SecurityGroupRef, ShutdownBehavior, Volume};

    pub fn fixture(state: InstanceState) -> Instance {
        Instance {
            id: "i-0123456789abcdef0".into(),
            reservation_id: "r-0123456789abcdef0".into(),
            owner_id: "000000000000".into(),
            image_id: "ami-0123456789abcdef0".into(),
            instance_type: "t3.micro".into(),
            key_name: None,
            launch_time: UnixMillis(0),
            ami_launch_index: 0,
            client_token: None,
            availability_zone: "us-east-1a".into(),
            availability_zone_id: "use1-az4".into(),
            tenancy: "default".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-1".into(),
            private_ip: "172.31.0.4".into(),
            public_ip: Some("3.0.0.1".into()),
            public_ip_elastic: false,
            security_groups: vec![SecurityGroupRef { id: "sg-1".into(), name: "default".into() }].into(),
            network_interface_id: "eni-1".into(),
            attachment_id: "eni-attach-1".into(),
            mac_address: "02:00:00:00:00:01".into(),
            root_device_type: RootDeviceType::Ebs,
            root_device_name: "/dev/xvda".into(),
            volumes: vec![Volume {
                device_name: "/dev/xvda".into(),
                volume_id: "vol-1".into(),
                size_gb: 8,
                delete_on_termination: true,
                attach_time: UnixMillis(0),
            }],
            architecture: "x86_64".into(),
            virtualization_type: "hvm".into(),
            hypervisor: "xen".into(),
            platform: None,
            platform_details: "Linux/UNIX".into(),
            usage_operation: "RunInstances".into(),
            ena_support: true,
            boot_mode: None,
            cpu_cores: 1,
            threads_per_core: 2,
            ebs_optimized: false,
            monitoring: false,
            hibernation_configured: false,
            disable_api_stop: false,
            disable_api_termination: false,
            shutdown_behavior: ShutdownBehavior::Stop,
            tags: BTreeMap::new(),
            state,
            state_transition_reason: String::new().into(),
            state_reason: None,
            ever_running: state != InstanceState::Pending,
            stuck_stopping: false,
            pending: None,
            status_ok_at: None,
            terminated_at: None,
            spot_request_id: None,
            capacity_reservation_id: None,
            capacity_preference: None,
            capacity_target: None,
            reservation_lifecycle: None,
            attributes: Default::default(),
        }
    }

    const NOW: UnixMillis = UnixMillis(1_700_000_000_000);

    #[derive(Debug, Clone, Copy)]
    enum Action {
        Stop,
        ForceStop,
        Hibernate,
        Start,
        Terminate,
        Reboot,
    }

    fn run(action: Action, inst: &mut Instance) -> Result<InstanceState, &'static str> {
        let d = Durations::REALISTIC;
        let kind = |e: LifecycleError| match e {
            LifecycleError::IncorrectState { .. } => "IncorrectInstanceState",
            LifecycleError::InstanceStoreRoot { .. } => "UnsupportedOperation",
            LifecycleError::StopProtected { .. } | LifecycleError::TerminationProtected { .. } => {
                "OperationNotPermitted"
            }
            LifecycleError::HibernationNotConfigured { .. } => "UnsupportedHibernationConfiguration",
        };
        let opts = |force, hibernate| StopOptions { force, hibernate, skip_os_shutdown: false };
        match action {
            Action::Stop => stop(inst, NOW, opts(false, false), &d).map(|c| c.current).map_err(kind),
            Action::ForceStop => stop(inst, NOW, opts(true, false), &d).map(|c| c.current).map_err(kind),
            Action::Hibernate => stop(inst, NOW, opts(false, true), &d).map(|c| c.current).map_err(kind),
            Action::Start => start(inst, NOW, &d).map(|c| c.current).map_err(kind),
            Action::Terminate => terminate(inst, NOW, &d).map(|c| c.current).map_err(kind),
            Action::Reboot => reboot(inst).map(|()| inst.state).map_err(kind),
        }
    }

    /// Every (state, action) pair, with the answer EC2 gives (spec 4.2 and 4.5).
    #[test]
    fn every_state_action_pair() {
        use InstanceState as S;
        const INCORRECT: Result<S, &str> = Err("IncorrectInstanceState");
        let table: [(S, [Result<S, &str>; 6]); 6] = [
            // state            stop              force-stop        hibernate(configured) start        terminate             reboot
            (S::Pending, [INCORRECT, INCORRECT, INCORRECT, Ok(S::Pending), Ok(S::ShuttingDown), INCORRECT]),
            (
                S::Running,
                [
                    Ok(S::Stopping),
                    Ok(S::Stopping),
                    Ok(S::Stopping),
                    Ok(S::Running),
                    Ok(S::ShuttingDown),
                    Ok(S::Running),
                ],
            ),
            (S::ShuttingDown, [INCORRECT, INCORRECT, INCORRECT, INCORRECT, Ok(S::ShuttingDown), INCORRECT]),
            (S::Terminated, [INCORRECT, INCORRECT, INCORRECT, INCORRECT, Ok(S::Terminated), Ok(S::Terminated)]),
            (
                S::Stopping,
                [Ok(S::Stopping), Ok(S::Stopping), Ok(S::Stopping), INCORRECT, Ok(S::ShuttingDown), INCORRECT],
            ),
            (
                S::Stopped,
                [Ok(S::Stopped), Ok(S::Stopped), Ok(S::Stopped), Ok(S::Pending), Ok(S::ShuttingDown), INCORRECT],
            ),
        ];
        let actions =
            [Action::Stop, Action::ForceStop, Action::Hibernate, Action::Start, Action::Terminate, Action::Reboot];
        for (state, expected) in table {
            for (action, want) in actions.iter().zip(expected) {
                let mut inst = fixture(state);
                inst.hibernation_configured = true;
                let before = inst.clone();
                let got = run(*action, &mut inst);
                assert_eq!(got, want, "{state:?} + {action:?}");
                if got.is_err() {
                    assert_eq!(inst, before, "a refused {action:?} changes nothing");
                }
            }
        }
    }

    #[test]
    fn pending_after_a_start_can_stop_but_a_fresh_launch_cannot() {
        let mut fresh = fixture(InstanceState::Pending);
        fresh.ever_running = false;
        let err = stop(&mut fresh, NOW, StopOptions::default(), &Durations::REALISTIC).unwrap_err();
        assert_eq!(
            err,
            LifecycleError::IncorrectState {
                id: fresh.id.to_string(),
                message: format!(
                    "Instance '{}' cannot be stopped as it has never reached the 'running' state.",
                    fresh.id
                )
            }
        );
        let mut restarting = fixture(InstanceState::Pending);
        restarting.ever_running = true;
        assert!(stop(&mut restarting, NOW, StopOptions::default(), &Durations::REALISTIC).is_ok());
    }

    #[test]
    fn refusals_by_attribute() {
        let d = Durations::REALISTIC;
        let mut store_root = fixture(InstanceState::Running);
        store_root.root_device_type = RootDeviceType::InstanceStore;
        assert!(matches!(
            stop(&mut store_root, NOW, StopOptions::default(), &d),
            Err(LifecycleError::InstanceStoreRoot { .. })
        ));
        assert!(terminate(&mut store_root, NOW, &d).is_ok(), "instance-store instances can be terminated");
        let mut protected = fixture(InstanceState::Running);
        protected.disable_api_stop = true;
        assert!(matches!(
            stop(&mut protected, NOW, StopOptions::default(), &d),
            Err(LifecycleError::StopProtected { .. })
        ));
        assert!(
            matches!(
                terminate(&mut protected.clone(), NOW, &d),
                Err(LifecycleError::TerminationProtected { attribute: "disableApiStop", .. })
            ),
            "stop protection also guards against termination"
        );
        protected.disable_api_stop = false;
        protected.disable_api_termination = true;
        assert!(matches!(terminate(&mut protected, NOW, &d), Err(LifecycleError::TerminationProtected { .. })));
        let mut plain = fixture(InstanceState::Running);
        let hib = StopOptions { hibernate: true, ..Default::default() };
        assert!(matches!(stop(&mut plain, NOW, hib, &d), Err(LifecycleError::HibernationNotConfigured { .. })));
    }

    #[test]
    fn an_elastic_ip_stays_across_a_stop_and_goes_at_termination() {
        let d = Durations::REALISTIC;
        let mut i = fixture(InstanceState::Running);
        i.public_ip_elastic = true;
        stop(&mut i, NOW, StopOptions::default(), &d).unwrap();
        settle(&mut i, NOW.plus_millis(d.stop), &d);
        assert_eq!(i.state, InstanceState::Stopped);
        assert_eq!(i.visible_public_ip(), Some("3.0.0.1"), "shown while stopped");
        start(&mut i, NOW.plus_seconds(60), &d).unwrap();
        assert_eq!(i.visible_public_ip(), Some("3.0.0.1"), "and while pending");
        terminate(&mut i, NOW.plus_seconds(600), &d).unwrap();
        settle(&mut i, NOW.plus_seconds(6000), &d);
        assert_eq!((i.public_ip.as_deref(), i.public_ip_elastic), (None, false));
    }

    #[test]
    fn transitions_complete_on_time_and_purge_after_an_hour() {
        let d = Durations::REALISTIC;
        let mut i = fixture(InstanceState::Running);
        stop(&mut i, NOW, StopOptions::default(), &d).unwrap();
        assert_eq!(i.state_transition_reason, "User initiated (2023-11-14 22:13:20 GMT)");
        assert_eq!(settle(&mut i, NOW.plus_millis(d.stop - 1), &d), Settled::Unchanged);
        assert_eq!(i.state, InstanceState::Stopping);
        assert_eq!(settle(&mut i, NOW.plus_millis(d.stop), &d), Settled::Changed);
        assert_eq!(i.state, InstanceState::Stopped);
        assert_eq!(i.public_ip, None, "a stop releases the public address");
        start(&mut i, NOW.plus_seconds(60), &d).unwrap();
        settle(&mut i, NOW.plus_seconds(600), &d);
        assert_eq!(i.state, InstanceState::Running);
        assert!(status_checks_passed(&i, NOW.plus_seconds(600)));
        terminate(&mut i, NOW.plus_seconds(700), &d).unwrap();
        assert_eq!(settle(&mut i, NOW.plus_seconds(700).plus_millis(d.terminate), &d), Settled::Changed);
        assert_eq!(i.state, InstanceState::Terminated);
        assert!(i.volumes.is_empty(), "delete-on-termination volumes go");
        let gone = NOW.plus_seconds(700).plus_millis(d.terminate + d.terminated_visible);
        assert_eq!(settle(&mut i.clone(), gone.plus_millis(-1), &d), Settled::Unchanged);
        assert_eq!(settle(&mut i, gone, &d), Settled::Purged);
    }

    #[test]
    fn a_held_instance_stays_stopping_until_forced() {
        let d = Durations::REALISTIC;
        let mut i = fixture(InstanceState::Running);
        hold_stopping(&mut i);
        stop(&mut i, NOW, StopOptions::default(), &d).unwrap();
        settle(&mut i, NOW.plus_seconds(86_400), &d);
        assert_eq!(i.state, InstanceState::Stopping);
        let later = NOW.plus_seconds(86_400);
        stop(&mut i, later, StopOptions { force: true, ..Default::default() }, &d).unwrap();
        settle(&mut i, later.plus_millis(d.force_stop), &d);
        assert_eq!(i.state, InstanceState::Stopped);
    }

    #[test]
    fn hibernate_records_its_reason() {
        let mut i = fixture(InstanceState::Running);
        i.hibernation_configured = true;
        stop(&mut i, NOW, StopOptions { hibernate: true, ..Default::default() }, &Durations::INSTANT).unwrap();
        assert_eq!(i.state_reason.as_ref().unwrap().code, "Client.UserInitiatedHibernate");
    }
}
