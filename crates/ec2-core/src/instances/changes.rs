//! What follows from a change of an instance's state, decided in one place: whether the instance
//! takes or gives back a unit of capacity (its pool, and its reservation), whether its Spot request
//! must look at it (its entry in the due-work index must come due by the instance's next
//! transition), and the state-change event a timeline can record. The service applies the answer
//! (`service::state_changes::apply`) at every place an instance's state changes.

use ec2_time::UnixMillis;

use super::{Instance, InstanceState};
use crate::capacity_reservations::pools::{self, Transition};

/// The instance as it was before the change (`state` is `None` for a launch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Before {
    pub state: Option<InstanceState>,
    pub held: bool,
}

impl Before {
    /// A new instance: no state, holding nothing.
    pub const LAUNCH: Before = Before { state: None, held: false };

    pub fn of(inst: &Instance) -> Before {
        Before { state: Some(inst.state), held: inst.holds_capacity() }
    }

    /// From the state an action reports as previous.
    pub fn state(state: InstanceState) -> Before {
        Before { state: Some(state), held: matches!(state, InstanceState::Pending | InstanceState::Running) }
    }
}

/// A change of a resource's state, for a future console timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEvent {
    pub resource_id: String,
    pub kind: &'static str,
    pub old: Option<&'static str>,
    pub new: &'static str,
    pub at: UnixMillis,
    /// The state reason code, when the change has one.
    pub reason: Option<String>,
}

/// Everything that follows from one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consequences {
    /// The instance takes a unit, gives it back, or keeps what it has.
    pub capacity: Transition,
    /// The instance's Spot request, and the time by which it must next be settled.
    pub spot_due: Option<(String, UnixMillis)>,
    /// The state change, when the state changed.
    pub event: Option<StateEvent>,
    /// The instance has just begun to terminate: it gives back its interfaces (and their
    /// addresses) and its Elastic IPs, whichever path terminated it.
    pub releases_network: bool,
}

/// The consequences of the instance's change from `before` to its current state at `at`.
pub fn consequences(before: Before, inst: &Instance, at: UnixMillis) -> Consequences {
    let capacity = pools::transition(before.held, inst.holds_capacity());
    let spot_due = match (&inst.spot_request_id, &inst.pending) {
        (Some(id), Some(p)) => Some((id.to_string(), p.due)),
        _ => None,
    };
    let event = (before.state != Some(inst.state)).then(|| StateEvent {
        resource_id: inst.id.to_string(),
        kind: "instance",
        old: before.state.map(InstanceState::name),
        new: inst.state.name(),
        at,
        reason: inst.state_reason.as_ref().map(|r| r.code.to_string()),
    });
    let gone = |s: InstanceState| matches!(s, InstanceState::ShuttingDown | InstanceState::Terminated);
    let releases_network = gone(inst.state) && !before.state.is_some_and(gone);
    Consequences { capacity, spot_due, event, releases_network }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instances::lifecycle::tests::fixture;
    use crate::instances::lifecycle::{self, Durations, StopOptions};

    const T: UnixMillis = UnixMillis(1_700_000_000_000);

    #[test]
    fn a_launch_takes_a_unit_and_records_its_first_state() {
        let inst = fixture(InstanceState::Pending);
        let c = consequences(Before::LAUNCH, &inst, T);
        assert_eq!(c.capacity, Transition::Take);
        assert_eq!(c.spot_due, None, "not a Spot Instance");
        let ev = c.event.unwrap();
        assert_eq!((ev.old, ev.new, ev.at), (None, "pending", T));
        assert!(!c.releases_network);
    }

    #[test]
    fn the_network_is_given_back_once_when_termination_begins() {
        let mut inst = fixture(InstanceState::Running);
        let before = Before::of(&inst);
        lifecycle::terminate(&mut inst, T, &Durations::REALISTIC).unwrap();
        assert!(consequences(before, &inst, T).releases_network, "running -> shutting-down");
        let mut done = fixture(InstanceState::Terminated);
        assert!(!consequences(Before::state(InstanceState::ShuttingDown), &done, T).releases_network);
        // Straight to terminated (a launch that fails at once, or a stopped instance in instant mode).
        done.state = InstanceState::Terminated;
        assert!(consequences(Before::state(InstanceState::Stopped), &done, T).releases_network);
        let stopped = fixture(InstanceState::Stopped);
        assert!(!consequences(Before::state(InstanceState::Stopping), &stopped, T).releases_network, "a stop keeps it");
    }

    #[test]
    fn a_stop_gives_the_unit_back_and_a_spot_instance_wakes_its_request() {
        let mut inst = fixture(InstanceState::Running);
        inst.spot_request_id = Some("sir-1".into());
        let before = Before::of(&inst);
        lifecycle::stop(&mut inst, T, StopOptions::default(), &Durations::REALISTIC).unwrap();
        let c = consequences(before, &inst, T);
        assert_eq!(c.capacity, Transition::Release);
        let due = inst.pending.unwrap().due;
        assert_eq!(c.spot_due, Some(("sir-1".to_string(), due)));
        let ev = c.event.unwrap();
        assert_eq!((ev.old, ev.new), (Some("running"), "stopping"));
    }

    #[test]
    fn settling_into_running_keeps_the_unit_and_no_change_is_no_event() {
        let inst = fixture(InstanceState::Running);
        let c = consequences(Before::state(InstanceState::Pending), &inst, T);
        assert_eq!(c.capacity, Transition::Keep);
        assert_eq!(c.event.unwrap().new, "running");
        let same = consequences(Before::of(&inst), &inst, T);
        assert_eq!(same.event, None);
        assert_eq!(same.capacity, Transition::Keep);
        let stopped = fixture(InstanceState::Stopped);
        assert_eq!(consequences(Before::state(InstanceState::Stopping), &stopped, T).capacity, Transition::Keep);
    }
}
