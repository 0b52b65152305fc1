//! Capacity Reservations (spec section 7) and interruptible allocations (section 8): the record,
//! its states, and the pure transitions.
//!
//! A reservation's timed steps are [`CrEvent`]s due at a time (assessment of a future-dated
//! request, payment of a Capacity Block, delivery at the start date, expiry at the end date, an
//! allocation becoming ready, the end of a reclaim notice). [`settle`] applies the due ones in time
//! order; the server carries out the [`Effect`] a step asks for on instances (terminating the
//! instances of a reclaimed allocation). Nothing here reads a clock or knows about pools: the
//! capacity model (pools, placement, accounting) is in [`pools`], Capacity Block offerings in
//! [`blocks`].

use std::collections::BTreeMap;

pub mod blocks;
pub mod pools;

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

/// The states of the installed model's `CapacityReservationState` that ec2d reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrState {
    Pending,
    Active,
    Expired,
    Cancelled,
    Failed,
    Scheduled,
    Assessing,
    Delayed,
    PaymentPending,
    PaymentFailed,
    Unsupported,
}

impl CrState {
    pub const ALL: [CrState; 11] = [
        CrState::Pending,
        CrState::Active,
        CrState::Expired,
        CrState::Cancelled,
        CrState::Failed,
        CrState::Scheduled,
        CrState::Assessing,
        CrState::Delayed,
        CrState::PaymentPending,
        CrState::PaymentFailed,
        CrState::Unsupported,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CrState::Pending => "pending",
            CrState::Active => "active",
            CrState::Expired => "expired",
            CrState::Cancelled => "cancelled",
            CrState::Failed => "failed",
            CrState::Scheduled => "scheduled",
            CrState::Assessing => "assessing",
            CrState::Delayed => "delayed",
            CrState::PaymentPending => "payment-pending",
            CrState::PaymentFailed => "payment-failed",
            CrState::Unsupported => "unsupported",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchCriteria {
    Open,
    Targeted,
}

impl MatchCriteria {
    pub fn name(self) -> &'static str {
        match self {
            MatchCriteria::Open => "open",
            MatchCriteria::Targeted => "targeted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReservationType {
    Default,
    CapacityBlock,
}

impl ReservationType {
    pub fn name(self) -> &'static str {
        match self {
            ReservationType::Default => "default",
            ReservationType::CapacityBlock => "capacity-block",
        }
    }
}

/// The status of an interruptible allocation, as the source reservation shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllocationStatus {
    Pending,
    Active,
    Updating,
    Canceling,
    Canceled,
    Failed,
}

impl AllocationStatus {
    pub fn name(self) -> &'static str {
        match self {
            AllocationStatus::Pending => "pending",
            AllocationStatus::Active => "active",
            AllocationStatus::Updating => "updating",
            AllocationStatus::Canceling => "canceling",
            AllocationStatus::Canceled => "canceled",
            AllocationStatus::Failed => "failed",
        }
    }

    /// Whether the allocation still lends capacity (or is about to).
    pub fn is_live(self) -> bool {
        !matches!(self, AllocationStatus::Canceled | AllocationStatus::Failed)
    }
}

/// The allocation a source reservation lends to its interruptible reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub interruptible_id: String,
    /// Instances lent now.
    pub instance_count: u32,
    /// Instances the owner asked for.
    pub target_instance_count: u32,
    pub status: AllocationStatus,
    /// The instances marked for interruption by a reclaim in progress.
    #[serde(default)]
    pub reclaiming: Vec<String>,
}

/// A timed step of a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrEvent {
    /// A future-dated request has been assessed: `scheduled`.
    Assessed,
    /// A Capacity Block's payment went through: `scheduled`.
    PaymentProcessed,
    /// The start date: `active` (from `scheduled` or `delayed`).
    Deliver,
    /// The end date: `expired`.
    Expire,
    /// An allocation's creation or resize completes: `active`.
    AllocationReady,
    /// A reclaim's notice ran out: interrupt the marked instances, then `active` or `canceled`.
    ReclaimNoticeExpired,
}

/// What the server must do when a step applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Terminate these instances of the interruptible reservation (a reclaim).
    Interrupt(Vec<String>),
    /// The reservation ended (expired): a Capacity Block's instances are terminated.
    Ended,
}

/// How long the timed steps take, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrDurations {
    /// `assessing` -> `scheduled` for a future-dated request.
    pub assessing: i64,
    /// `payment-pending` -> `scheduled` for a Capacity Block.
    pub payment: i64,
    /// An allocation's `pending`/`updating` -> `active` when no instance has to be interrupted.
    pub allocation: i64,
    /// The notice before a reclaim interrupts instances (EC2 warns two minutes ahead).
    pub reclaim_notice: i64,
}

impl CrDurations {
    pub const INSTANT: CrDurations = CrDurations { assessing: 0, payment: 0, allocation: 0, reclaim_notice: 0 };
    pub const REALISTIC: CrDurations =
        CrDurations { assessing: 60_000, payment: 5_000, allocation: 5_000, reclaim_notice: 120_000 };
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityReservation {
    pub id: String,
    pub owner_id: String,
    pub instance_type: String,
    pub instance_platform: String,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub tenancy: String,
    /// `TotalInstanceCount`.
    pub total: u32,
    /// Instances running in the reservation (`pending`/`running`); frozen once it has ended.
    pub used: u32,
    /// The count a future-dated request or Capacity Block delivers at its start date.
    pub requested: u32,
    pub ebs_optimized: bool,
    pub ephemeral_storage: bool,
    pub state: CrState,
    pub create_date: UnixMillis,
    pub start_date: UnixMillis,
    /// `EndDateType` is `limited` exactly when there is an end date.
    pub end_date: Option<UnixMillis>,
    pub match_criteria: MatchCriteria,
    pub reservation_type: ReservationType,
    pub capacity_block_id: Option<String>,
    /// The commitment of a future-dated reservation, in milliseconds.
    pub commitment_duration: Option<i64>,
    pub commitment_end: Option<UnixMillis>,
    pub delivery_preference: Option<String>,
    /// A delayed future-dated reservation has its commitment waived.
    pub commitment_waived: bool,
    /// Whether this is an interruptible reservation, and its source.
    pub interruptible: bool,
    pub source_id: Option<String>,
    /// On a source reservation: the allocation it lends.
    pub allocation: Option<Allocation>,
    /// Timed steps still to come, earliest first.
    pub events: Vec<(UnixMillis, CrEvent)>,
    pub tags: BTreeMap<String, String>,
}

/// Why an action is refused; the server maps each to an EC2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrError {
    /// `UnsupportedOperation`: Capacity Blocks cannot be cancelled or modified.
    CapacityBlock { verb: &'static str },
    /// `UnsupportedOperation`: interruptible reservations change only through their source.
    Interruptible { verb: &'static str },
    /// `IncorrectState`: the state does not allow the action.
    WrongState { id: String, state: CrState },
    /// `IncorrectState`: the commitment has not elapsed.
    InCommitment { id: String, until: UnixMillis },
    /// `IncorrectState`: the reservation lends capacity through an allocation.
    HasAllocation { id: String },
}

impl CapacityReservation {
    pub fn available(&self) -> u32 {
        self.total.saturating_sub(self.used)
    }

    pub fn end_date_type(&self) -> &'static str {
        if self.end_date.is_some() {
            "limited"
        } else {
            "unlimited"
        }
    }

    pub fn is_active(&self) -> bool {
        self.state == CrState::Active
    }

    /// Whether the reservation has ended for good (its counts are frozen).
    pub fn has_ended(&self) -> bool {
        matches!(
            self.state,
            CrState::Expired | CrState::Cancelled | CrState::Failed | CrState::PaymentFailed | CrState::Unsupported
        )
    }

    pub fn in_commitment(&self, now: UnixMillis) -> bool {
        !self.commitment_waived && self.commitment_end.is_some_and(|end| now < end)
    }

    fn schedule(&mut self, due: UnixMillis, event: CrEvent) {
        self.events.push((due, event));
        self.events.sort();
    }

    fn drop_events(&mut self, keep: impl Fn(CrEvent) -> bool) {
        self.events.retain(|(_, e)| keep(*e));
    }

    /// A new immediate reservation: `active` now, expiring at its end date.
    pub fn activate_now(&mut self, now: UnixMillis) {
        self.state = CrState::Active;
        self.start_date = now;
        self.total = self.requested;
        if let Some(end) = self.end_date {
            self.schedule(end.max(now), CrEvent::Expire);
        }
    }

    /// A new future-dated request: `assessing`, then `scheduled`, then `active` at its start date.
    pub fn submit_future_dated(&mut self, now: UnixMillis, d: &CrDurations) {
        self.state = CrState::Assessing;
        self.total = 0;
        self.schedule(now.plus_millis(d.assessing), CrEvent::Assessed);
    }

    /// A purchased Capacity Block: `payment-pending`, then `scheduled`, `active`, `expired`.
    pub fn submit_capacity_block(&mut self, now: UnixMillis, d: &CrDurations) {
        self.state = CrState::PaymentPending;
        self.total = 0;
        self.schedule(now.plus_millis(d.payment), CrEvent::PaymentProcessed);
    }

    /// The operator's hook: EC2 cannot deliver by the start date. The reservation is `delayed`,
    /// its commitment waived, and it becomes `active` at `deliver_at`.
    pub fn delay(&mut self, deliver_at: UnixMillis) -> Result<(), CrError> {
        match self.state {
            CrState::Assessing | CrState::Scheduled | CrState::Delayed => {
                self.state = CrState::Delayed;
                self.commitment_waived = true;
                self.drop_events(|e| !matches!(e, CrEvent::Assessed | CrEvent::Deliver));
                self.schedule(deliver_at, CrEvent::Deliver);
                Ok(())
            }
            other => Err(CrError::WrongState { id: self.id.clone(), state: other }),
        }
    }

    /// The operator's hook: EC2 cannot support a future-dated request at all.
    pub fn mark_unsupported(&mut self) -> Result<(), CrError> {
        match self.state {
            CrState::Assessing | CrState::Scheduled | CrState::Delayed => {
                self.state = CrState::Unsupported;
                self.events.clear();
                Ok(())
            }
            other => Err(CrError::WrongState { id: self.id.clone(), state: other }),
        }
    }

    /// CancelCapacityReservation (installed model): `assessing`, or `active` with no commitment
    /// left (none, elapsed, or waived after a delay). Capacity Blocks and interruptible
    /// reservations are never cancelled this way.
    pub fn cancel(&mut self, now: UnixMillis) -> Result<(), CrError> {
        if self.reservation_type == ReservationType::CapacityBlock {
            return Err(CrError::CapacityBlock { verb: "cancel" });
        }
        if self.interruptible {
            return Err(CrError::Interruptible { verb: "cancel" });
        }
        match self.state {
            CrState::Assessing => {}
            CrState::Active => {
                if let (true, Some(until)) = (self.in_commitment(now), self.commitment_end) {
                    return Err(CrError::InCommitment { id: self.id.clone(), until });
                }
                if self.allocation.as_ref().is_some_and(|a| a.status.is_live()) {
                    return Err(CrError::HasAllocation { id: self.id.clone() });
                }
            }
            CrState::Pending
            | CrState::Expired
            | CrState::Cancelled
            | CrState::Failed
            | CrState::Scheduled
            | CrState::Delayed
            | CrState::PaymentPending
            | CrState::PaymentFailed
            | CrState::Unsupported => return Err(CrError::WrongState { id: self.id.clone(), state: self.state }),
        }
        self.state = CrState::Cancelled;
        self.events.clear();
        Ok(())
    }

    /// Whether ModifyCapacityReservation may change the reservation at all.
    pub fn check_modifiable(&self) -> Result<(), CrError> {
        if self.reservation_type == ReservationType::CapacityBlock {
            return Err(CrError::CapacityBlock { verb: "modify" });
        }
        if self.interruptible {
            return Err(CrError::Interruptible { verb: "modify" });
        }
        match self.state {
            CrState::Active => Ok(()),
            other => Err(CrError::WrongState { id: self.id.clone(), state: other }),
        }
    }

    /// Sets (or with `None` removes) the end date, rescheduling the expiry.
    pub fn set_end_date(&mut self, end: Option<UnixMillis>, now: UnixMillis) {
        self.end_date = end;
        self.drop_events(|e| e != CrEvent::Expire);
        if let Some(end) = end {
            self.schedule(end.max(now), CrEvent::Expire);
        }
    }

    /// Starts lending `count` instances to `interruptible_id` (the caller has checked the count).
    pub fn lend(&mut self, interruptible_id: &str, count: u32, now: UnixMillis, d: &CrDurations) {
        self.total -= count;
        self.allocation = Some(Allocation {
            interruptible_id: interruptible_id.to_string(),
            instance_count: count,
            target_instance_count: count,
            status: AllocationStatus::Pending,
            reclaiming: vec![],
        });
        self.schedule(now.plus_millis(d.allocation), CrEvent::AllocationReady);
    }

    /// Completes the due steps up to `now`, each at its own time, and returns the effects for the
    /// server, each with the time it happened.
    /// When the reservation's next timed step is due (for the due-work index).
    pub fn next_due(&self) -> Option<UnixMillis> {
        self.events.iter().map(|(due, _)| *due).min()
    }

    /// Whether [`CapacityReservation::settle`] at `now` would change anything: a step is due. A reader
    /// that only looks can use the record as it is when none is.
    pub fn has_due_step(&self, now: UnixMillis) -> bool {
        self.events.first().is_some_and(|(due, _)| *due <= now)
    }

    pub fn settle(&mut self, now: UnixMillis) -> Vec<(UnixMillis, Effect)> {
        let mut effects = Vec::new();
        while let Some(&(due, event)) = self.events.first().filter(|(due, _)| *due <= now) {
            self.events.remove(0);
            match event {
                CrEvent::Assessed | CrEvent::PaymentProcessed => {
                    if matches!(self.state, CrState::Assessing | CrState::PaymentPending) {
                        self.state = CrState::Scheduled;
                        self.schedule(self.start_date.max(due), CrEvent::Deliver);
                    }
                }
                CrEvent::Deliver => {
                    if matches!(self.state, CrState::Scheduled | CrState::Delayed) {
                        self.state = CrState::Active;
                        self.start_date = due;
                        self.total = self.requested;
                        if let Some(c) = self.commitment_duration {
                            self.commitment_end = Some(due.plus_millis(c));
                        }
                        if let Some(end) = self.end_date {
                            self.schedule(end.max(due), CrEvent::Expire);
                        }
                    }
                }
                CrEvent::Expire => {
                    if self.state == CrState::Active {
                        self.state = CrState::Expired;
                        self.events.clear();
                        effects.push((due, Effect::Ended));
                    }
                }
                CrEvent::AllocationReady => {
                    if let Some(a) = self.allocation.as_mut() {
                        a.status = match a.status {
                            AllocationStatus::Canceling => AllocationStatus::Canceled,
                            AllocationStatus::Pending | AllocationStatus::Updating => AllocationStatus::Active,
                            other => other,
                        };
                    }
                }
                CrEvent::ReclaimNoticeExpired => {
                    if let Some(a) = self.allocation.as_mut() {
                        effects.push((due, Effect::Interrupt(std::mem::take(&mut a.reclaiming))));
                    }
                }
            }
        }
        effects
    }
}

/// What a resize asks the server to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resize {
    /// Instances moved from the source to the interruptible reservation now (negative: back).
    pub moved_now: i64,
    /// Running instances to interrupt after the notice.
    pub interrupt: Vec<String>,
}

/// UpdateInterruptibleCapacityReservationAllocation on the source `src` and its interruptible
/// reservation `irr`. Growing lends unused source capacity at once. Shrinking first takes back the
/// interruptible reservation's unused capacity at once, then marks `running` (the instances that
/// run in it, in the order given) for interruption after the notice; the capacity they free goes
/// back to the source when the notice runs out ([`finish_reclaim`]). The caller has checked that
/// the source has room for a growth.
pub fn resize(
    src: &mut CapacityReservation,
    irr: &mut CapacityReservation,
    target: u32,
    running: &[String],
    now: UnixMillis,
    d: &CrDurations,
) -> Resize {
    let Some(mut a) = src.allocation.take() else { return Resize { moved_now: 0, interrupt: vec![] } };
    a.target_instance_count = target;
    src.events.retain(|(_, e)| !matches!(e, CrEvent::AllocationReady | CrEvent::ReclaimNoticeExpired));
    let out = if target >= a.instance_count {
        let grow = target - a.instance_count;
        src.total -= grow;
        irr.total += grow;
        a.instance_count = target;
        a.status = AllocationStatus::Updating;
        a.reclaiming.clear();
        src.schedule(now.plus_millis(d.allocation), CrEvent::AllocationReady);
        Resize { moved_now: i64::from(grow), interrupt: vec![] }
    } else {
        let shrink = a.instance_count - target;
        let unused = shrink.min(irr.available());
        irr.total -= unused;
        src.total += unused;
        a.instance_count -= unused;
        let rest = (shrink - unused) as usize;
        a.reclaiming = running.iter().take(rest).cloned().collect();
        a.status = if target == 0 { AllocationStatus::Canceling } else { AllocationStatus::Updating };
        let interrupt = a.reclaiming.clone();
        if interrupt.is_empty() {
            finish_counts(&mut a, irr, src);
            src.schedule(now.plus_millis(d.allocation), CrEvent::AllocationReady);
        } else {
            src.schedule(now.plus_millis(d.reclaim_notice), CrEvent::ReclaimNoticeExpired);
        }
        Resize { moved_now: -i64::from(unused), interrupt }
    };
    src.allocation = Some(a);
    out
}

fn finish_counts(a: &mut Allocation, irr: &mut CapacityReservation, src: &mut CapacityReservation) {
    let back = a.instance_count.saturating_sub(a.target_instance_count).min(irr.total);
    irr.total -= back;
    src.total += back;
    a.instance_count -= back;
    if a.target_instance_count == 0 && a.instance_count == 0 {
        irr.state = CrState::Cancelled;
        irr.events.clear();
    }
}

/// The end of a reclaim's notice, after the server has interrupted the marked instances (so they
/// no longer count as used in `irr`): the capacity goes back to the source, and the allocation
/// becomes `active` (or `canceled` at a target of 0).
pub fn finish_reclaim(src: &mut CapacityReservation, irr: &mut CapacityReservation) {
    let Some(mut a) = src.allocation.take() else { return };
    finish_counts(&mut a, irr, src);
    a.status = if a.target_instance_count == 0 { AllocationStatus::Canceled } else { AllocationStatus::Active };
    src.allocation = Some(a);
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = UnixMillis(1_767_225_600_000);
    const D: CrDurations = CrDurations::REALISTIC;

    pub fn fixture(id: &str) -> CapacityReservation {
        CapacityReservation {
            id: id.into(),
            owner_id: "000000000000".into(),
            instance_type: "t3.micro".into(),
            instance_platform: "Linux/UNIX".into(),
            availability_zone: "us-east-1a".into(),
            availability_zone_id: "use1-az6".into(),
            tenancy: "default".into(),
            total: 0,
            used: 0,
            requested: 4,
            ebs_optimized: false,
            ephemeral_storage: false,
            state: CrState::Pending,
            create_date: NOW,
            start_date: NOW,
            end_date: None,
            match_criteria: MatchCriteria::Open,
            reservation_type: ReservationType::Default,
            capacity_block_id: None,
            commitment_duration: None,
            commitment_end: None,
            delivery_preference: None,
            commitment_waived: false,
            interruptible: false,
            source_id: None,
            allocation: None,
            events: vec![],
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn next_due_is_the_first_timed_step_and_nothing_settles_before_it() {
        let mut cr = fixture("cr-1");
        assert_eq!(cr.next_due(), None);
        cr.end_date = Some(NOW.plus_seconds(3600));
        cr.activate_now(NOW);
        assert_eq!(cr.next_due(), Some(NOW.plus_seconds(3600)));
        assert!(!cr.has_due_step(NOW.plus_seconds(3599)));
        assert!(cr.has_due_step(NOW.plus_seconds(3600)));
        let mut early = cr.clone();
        assert!(early.settle(NOW.plus_seconds(3599)).is_empty());
        assert_eq!(early, cr, "nothing changes before it is due");
        cr.settle(NOW.plus_seconds(3600));
        assert_eq!(cr.next_due(), None, "an expired reservation waits for nothing");
    }

    #[test]
    fn immediate_limited_reservation_expires_exactly_at_its_end_date() {
        let mut cr = fixture("cr-1");
        cr.end_date = Some(NOW.plus_seconds(3600));
        cr.activate_now(NOW);
        assert_eq!((cr.state, cr.total, cr.available()), (CrState::Active, 4, 4));
        assert!(cr.settle(NOW.plus_seconds(3599)).is_empty());
        assert_eq!(cr.state, CrState::Active);
        assert_eq!(cr.settle(NOW.plus_seconds(3600)), vec![(NOW.plus_seconds(3600), Effect::Ended)]);
        assert_eq!(cr.state, CrState::Expired);
        assert_eq!(
            cr.cancel(NOW.plus_seconds(4000)),
            Err(CrError::WrongState { id: "cr-1".into(), state: CrState::Expired })
        );
    }

    #[test]
    fn future_dated_goes_through_assessing_and_scheduled_and_keeps_its_commitment() {
        let mut cr = fixture("cr-2");
        cr.match_criteria = MatchCriteria::Targeted;
        cr.start_date = NOW.plus_seconds(10 * 86_400);
        cr.commitment_duration = Some(14 * 86_400_000);
        cr.submit_future_dated(NOW, &D);
        assert_eq!((cr.state, cr.total), (CrState::Assessing, 0));
        cr.settle(NOW.plus_millis(D.assessing));
        assert_eq!((cr.state, cr.total), (CrState::Scheduled, 0));
        assert!(matches!(cr.cancel(NOW), Err(CrError::WrongState { state: CrState::Scheduled, .. })));
        let start = NOW.plus_seconds(10 * 86_400);
        cr.settle(start);
        assert_eq!((cr.state, cr.total), (CrState::Active, 4));
        assert_eq!(cr.commitment_end, Some(start.plus_millis(14 * 86_400_000)));
        let inside = start.plus_seconds(86_400);
        assert!(matches!(cr.clone().cancel(inside), Err(CrError::InCommitment { .. })));
        let after = start.plus_millis(14 * 86_400_000);
        assert_eq!(cr.cancel(after), Ok(()));
        assert_eq!(cr.state, CrState::Cancelled);
    }

    #[test]
    fn a_delay_waives_the_commitment() {
        let mut cr = fixture("cr-3");
        cr.start_date = NOW.plus_seconds(10 * 86_400);
        cr.commitment_duration = Some(14 * 86_400_000);
        cr.submit_future_dated(NOW, &D);
        cr.settle(NOW.plus_millis(D.assessing));
        let later = NOW.plus_seconds(12 * 86_400);
        cr.delay(later).unwrap();
        assert_eq!(cr.state, CrState::Delayed);
        assert!(cr.clone().cancel(later).is_err(), "a delayed reservation is not cancellable until active");
        cr.settle(NOW.plus_seconds(11 * 86_400));
        assert_eq!(cr.state, CrState::Delayed, "nothing happens at the original start date");
        cr.settle(later);
        assert_eq!(cr.state, CrState::Active);
        assert_eq!(cr.cancel(later.plus_seconds(1)), Ok(()), "the commitment is waived");
    }

    #[test]
    fn assessing_can_be_cancelled_and_capacity_blocks_never() {
        let mut cr = fixture("cr-4");
        cr.start_date = NOW.plus_seconds(10 * 86_400);
        cr.submit_future_dated(NOW, &D);
        assert_eq!(cr.cancel(NOW), Ok(()));
        let mut cb = fixture("cr-5");
        cb.reservation_type = ReservationType::CapacityBlock;
        cb.start_date = NOW.plus_seconds(86_400);
        cb.end_date = Some(NOW.plus_seconds(2 * 86_400));
        cb.submit_capacity_block(NOW, &D);
        assert_eq!(cb.state, CrState::PaymentPending);
        cb.settle(NOW.plus_millis(D.payment));
        assert_eq!(cb.state, CrState::Scheduled);
        cb.settle(NOW.plus_seconds(86_400));
        assert_eq!(cb.state, CrState::Active);
        assert_eq!(cb.cancel(NOW.plus_seconds(86_401)), Err(CrError::CapacityBlock { verb: "cancel" }));
        assert_eq!(cb.check_modifiable(), Err(CrError::CapacityBlock { verb: "modify" }));
        cb.settle(NOW.plus_seconds(2 * 86_400));
        assert_eq!(cb.state, CrState::Expired);
    }

    #[test]
    fn every_state_answers_cancel() {
        for state in CrState::ALL {
            let mut cr = fixture("cr-6");
            cr.state = state;
            let ok = cr.cancel(NOW).is_ok();
            assert_eq!(ok, matches!(state, CrState::Assessing | CrState::Active), "{state:?}");
        }
    }

    #[test]
    fn reclaim_takes_unused_capacity_first_then_interrupts_after_the_notice() {
        let mut src = fixture("cr-src");
        src.requested = 10;
        src.activate_now(NOW);
        let mut irr = fixture("cr-irr");
        irr.interruptible = true;
        irr.requested = 4;
        irr.activate_now(NOW);
        src.lend("cr-irr", 4, NOW, &D);
        assert_eq!((src.total, irr.total), (6, 4));
        src.settle(NOW.plus_millis(D.allocation));
        assert_eq!(src.allocation.as_ref().unwrap().status, AllocationStatus::Active);
        irr.used = 3;
        let running = vec!["i-1".to_string(), "i-2".to_string(), "i-3".to_string()];
        let r = resize(&mut src, &mut irr, 1, &running, NOW, &D);
        assert_eq!(r.moved_now, -1);
        assert_eq!(r.interrupt, vec!["i-1".to_string(), "i-2".to_string()]);
        assert_eq!((src.total, irr.total), (7, 3));
        let a = src.allocation.as_ref().unwrap();
        assert_eq!((a.instance_count, a.target_instance_count, a.status), (3, 1, AllocationStatus::Updating));
        assert!(src.settle(NOW.plus_millis(D.reclaim_notice - 1)).is_empty());
        let effects = src.settle(NOW.plus_millis(D.reclaim_notice));
        assert_eq!(effects, vec![(NOW.plus_millis(D.reclaim_notice), Effect::Interrupt(r.interrupt.clone()))]);
        irr.used = 1;
        finish_reclaim(&mut src, &mut irr);
        let a = src.allocation.as_ref().unwrap();
        assert_eq!((a.instance_count, a.status), (1, AllocationStatus::Active));
        assert_eq!((src.total, irr.total, irr.available()), (9, 1, 0));
        // Target 0: the rest goes back and the interruptible reservation is cancelled.
        let r = resize(&mut src, &mut irr, 0, &["i-3".to_string()], NOW, &D);
        assert_eq!(src.allocation.as_ref().unwrap().status, AllocationStatus::Canceling);
        irr.used = 0;
        let _ = r;
        finish_reclaim(&mut src, &mut irr);
        assert_eq!(src.allocation.as_ref().unwrap().status, AllocationStatus::Canceled);
        assert_eq!((src.total, irr.total, irr.state), (10, 0, CrState::Cancelled));
    }

    #[test]
    fn growth_lends_more_at_once() {
        let mut src = fixture("cr-src");
        src.requested = 10;
        src.activate_now(NOW);
        let mut irr = fixture("cr-irr");
        irr.requested = 2;
        irr.activate_now(NOW);
        src.lend("cr-irr", 2, NOW, &D);
        let r = resize(&mut src, &mut irr, 5, &[], NOW, &D);
        assert_eq!(r.moved_now, 3);
        assert_eq!((src.total, irr.total), (5, 5));
        src.settle(NOW.plus_millis(D.allocation));
        assert_eq!(src.allocation.as_ref().unwrap().status, AllocationStatus::Active);
    }
}
