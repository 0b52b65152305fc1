//! The capacity model: pools, placement into reservations, and the accounting of held units.
//!
//! Every pool (availability zone, instance type) has a finite capacity. A [`CapacityPool`] counts
//! the instances that hold a unit of the pool (`held`: every instance from its launch or start
//! until a stop or termination is *requested*) and lists the reservations placed in it. Reservations
//! are few, so their part is computed from them:
//!
//! `free = capacity - held - Σ AvailableInstanceCount of the pool's active reservations`
//!
//! An instance running in a reservation is in `held` and in the reservation's `used`, so an active
//! reservation keeps exactly its total out of everyone else's reach. A launch into a reservation
//! needs room in the reservation, not in the pool.
//!
//! The pool also carries the Spot limit, a setting of the same pool: at most that many Spot
//! Instances (of every account) run in it, whatever room the pool has.
//!
//! Everything here works on records the caller loaded; the caller saves what changed.

use serde::{Deserialize, Serialize};

use super::{CapacityReservation, CrState, MatchCriteria, ReservationType};
use crate::catalog::images;
use crate::instances::Instance;

/// The capacity of a pool that has no setting of its own: large enough that 10,000 instances in
/// one pool fit.
pub const DEFAULT_POOL_CAPACITY: u64 = 10_000;

/// One pool's counters (a global record: every account shares the pools).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityPool {
    /// `{zone}/{instance type}`.
    pub id: String,
    /// The pool's own capacity; `None` uses the server's default.
    #[serde(default)]
    pub capacity: Option<u64>,
    /// Instances holding a unit of the pool (inside reservations or not).
    #[serde(default)]
    pub held: i64,
    /// The reservations placed in the pool, as `{scope}#{id}`.
    #[serde(default)]
    pub reservations: Vec<String>,
    /// At most this many Spot Instances (of every account) run in the pool; `None` is no limit.
    #[serde(default)]
    pub spot_limit: Option<u64>,
    /// The Spot requests of every account that count against the Spot limit (see
    /// `SpotRequest::occupied_pool`).
    #[serde(default)]
    pub spot_held: i64,
}

impl CapacityPool {
    pub fn id_of(zone: &str, instance_type: &str) -> String {
        format!("{zone}/{instance_type}")
    }

    /// A pool with no setting and nothing held.
    pub fn empty(zone: &str, instance_type: &str) -> Self {
        CapacityPool { id: Self::id_of(zone, instance_type), ..Default::default() }
    }

    /// The reservations placed in the pool, as `(scope, id)`.
    pub fn reservation_keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.reservations.iter().filter_map(|e| e.split_once('#'))
    }

    /// Places a reservation of `scope` in the pool; returns whether the pool changed.
    pub fn register(&mut self, scope: &str, id: &str) -> bool {
        let entry = format!("{scope}#{id}");
        if self.reservations.contains(&entry) {
            return false;
        }
        self.reservations.push(entry);
        true
    }

    /// One more (or, with a negative `delta`, fewer) instances hold a unit; never below zero.
    pub fn adjust_held(&mut self, delta: i64) {
        self.held = (self.held + delta).max(0);
    }

    /// The pool's counters, given its reservations as they stand at the time asked about.
    pub fn view<'a>(
        &self,
        default_capacity: u64,
        reservations: impl IntoIterator<Item = &'a CapacityReservation>,
    ) -> PoolView {
        let reserved: i64 =
            reservations.into_iter().filter(|cr| cr.is_active()).map(|cr| i64::from(cr.available())).sum();
        let capacity = self.capacity.unwrap_or(default_capacity);
        let free = (capacity as i64 - self.held - reserved).max(0);
        PoolView { capacity, held: self.held, reserved, free }
    }
}

/// A pool as the control API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolView {
    pub capacity: u64,
    pub held: i64,
    /// Unused units of the pool's active reservations.
    pub reserved: i64,
    pub free: i64,
}

/// `CapacityReservationPreference`, the closed set RunInstances accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preference {
    Open,
    None,
    ReservationsOnly,
}

impl Preference {
    /// The preference a stored value names; absent means `open`.
    pub fn of(text: Option<&str>) -> Option<Preference> {
        match text {
            None | Some("open") => Some(Preference::Open),
            Some("none") => Some(Preference::None),
            Some("capacity-reservations-only") => Some(Preference::ReservationsOnly),
            Some(_) => None,
        }
    }
}

/// What an instance (or a launch) asks of the capacity model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want<'a> {
    pub instance_type: &'a str,
    pub zone: &'a str,
    pub platform: &'a str,
    pub tenancy: &'a str,
    pub preference: Preference,
    pub target: Option<&'a str>,
}

impl<'a> Want<'a> {
    /// What a (re)starting instance asks for.
    pub fn of_instance(inst: &'a Instance) -> Self {
        Want {
            instance_type: &inst.instance_type,
            zone: &inst.availability_zone,
            platform: &inst.platform_details,
            tenancy: &inst.tenancy,
            preference: Preference::of(inst.capacity_preference.as_deref()).unwrap_or(Preference::Open),
            target: inst.capacity_target.as_deref(),
        }
    }

    /// What a launch of `image_id` asks for (the platform comes from the image).
    pub fn of_launch(
        image_id: &str,
        instance_type: &'a str,
        zone: &'a str,
        tenancy: &'a str,
        preference: Option<&str>,
        target: Option<&'a str>,
    ) -> Self {
        Want {
            instance_type,
            zone,
            platform: images::image(image_id).map(|i| i.platform_details).unwrap_or("Linux/UNIX"),
            tenancy,
            preference: Preference::of(preference).unwrap_or(Preference::Open),
            target,
        }
    }
}

/// Why the capacity model refuses; the server maps each to an EC2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapacityError {
    /// The pool (or, with `capacity-reservations-only`, the matching reservations) has no room.
    InsufficientCapacity,
    /// The targeted reservation cannot take the instance.
    ReservationCapacityExceeded,
    /// The targeted Capacity Block has not started yet.
    PendingActivation,
}

/// Whether an instance described by `w` can run in `cr` (attributes only, not room or state).
pub fn fits(cr: &CapacityReservation, w: &Want<'_>) -> bool {
    cr.instance_type == w.instance_type
        && cr.availability_zone == w.zone
        && cr.instance_platform == w.platform
        && cr.tenancy == w.tenancy
}

/// Checks that the targeted reservation (settled to now) can take one more instance.
pub fn check_target(cr: &CapacityReservation, w: &Want<'_>) -> Result<(), CapacityError> {
    if cr.reservation_type == ReservationType::CapacityBlock
        && matches!(cr.state, CrState::PaymentPending | CrState::Scheduled)
    {
        return Err(CapacityError::PendingActivation);
    }
    if !cr.is_active() || !fits(cr, w) || cr.available() == 0 {
        return Err(CapacityError::ReservationCapacityExceeded);
    }
    Ok(())
}

/// The open reservations among `scope_reservations` an untargeted instance may run in, oldest
/// first (by creation date, then ID), copied: the others are only looked at. None with the
/// preference `none`.
pub fn open_candidates<'r>(
    w: &Want<'_>,
    scope_reservations: impl IntoIterator<Item = &'r CapacityReservation>,
) -> Vec<CapacityReservation> {
    if w.preference == Preference::None {
        return vec![];
    }
    let mut open: Vec<CapacityReservation> = scope_reservations
        .into_iter()
        .filter(|cr| {
            cr.is_active()
                && cr.match_criteria == MatchCriteria::Open
                && !cr.interruptible
                && cr.reservation_type == ReservationType::Default
                && fits(cr, w)
                && cr.available() > 0
        })
        .cloned()
        .collect();
    open.sort_by(|a, b| (a.create_date, &a.id).cmp(&(b.create_date, &b.id)));
    open
}

/// Whether taking a unit for `inst` looks for a reservation first (Spot Instances never run in
/// one).
pub fn looks_for_reservation(inst: &Instance) -> bool {
    inst.spot_request_id.is_none()
}

/// The instance takes a unit of `cr` (the first candidate) and of its pool.
pub fn take_in_reservation(inst: &mut Instance, cr: &mut CapacityReservation, pool: &mut CapacityPool) {
    cr.used += 1;
    inst.capacity_reservation_id = Some(cr.id.clone().into());
    inst.reservation_lifecycle = if cr.reservation_type == ReservationType::CapacityBlock {
        Some("capacity-block".into())
    } else if cr.interruptible {
        Some("interruptible-capacity-reservation".into())
    } else {
        None
    };
    pool.adjust_held(1);
}

/// The instance takes a unit of its pool outside any reservation. `free` is the pool's free room
/// when the take is strict (On-Demand launches and starts refuse when it is full), `None` when it
/// is not (Spot fulfilment checked room when it evaluated). `searched` says whether reservations
/// were looked for and none found, which `capacity-reservations-only` refuses.
pub fn take_in_pool(
    inst: &mut Instance,
    pool: &mut CapacityPool,
    searched: bool,
    free: Option<i64>,
) -> Result<(), CapacityError> {
    let w = Want::of_instance(inst);
    if searched && w.preference == Preference::ReservationsOnly {
        return Err(CapacityError::InsufficientCapacity);
    }
    if free.is_some_and(|f| f < 1) {
        return Err(CapacityError::InsufficientCapacity);
    }
    inst.capacity_reservation_id = None;
    inst.reservation_lifecycle = None;
    pool.adjust_held(1);
    Ok(())
}

/// The instance gives its unit back to the pool, and to its reservation while that is active (an
/// ended reservation's counts are frozen).
pub fn release(pool: &mut CapacityPool, reservation: Option<&mut CapacityReservation>) {
    pool.adjust_held(-1);
    if let Some(cr) = reservation.filter(|cr| cr.is_active()) {
        cr.used = cr.used.saturating_sub(1);
    }
}

/// What a state change does to the instance's unit, from whether it held one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Take,
    Release,
    Keep,
}

pub fn transition(held_before: bool, holds_now: bool) -> Transition {
    match (held_before, holds_now) {
        (false, true) => Transition::Take,
        (true, false) => Transition::Release,
        (false, false) | (true, true) => Transition::Keep,
    }
}

/// Whether a launch counts the pool's free room (a targeted launch and an On-Demand
/// `capacity-reservations-only` launch run only in reservations).
pub fn launch_counts_pool(w: &Want<'_>, spot: bool) -> bool {
    !(w.target.is_some() || (!spot && w.preference == Preference::ReservationsOnly))
}

/// How many of a RunInstances request's instances (between `min` and `max`) fit, given the
/// candidates' room (none for Spot) and the pool's free room (0 when it does not count).
pub fn launchable(
    w: &Want<'_>,
    candidates: &[CapacityReservation],
    pool_free: i64,
    min: i64,
    max: i64,
) -> Result<usize, CapacityError> {
    let in_reservations: i64 = candidates.iter().map(|cr| i64::from(cr.available())).sum();
    let room = in_reservations + pool_free;
    if room < min {
        return Err(if w.target.is_some() {
            CapacityError::ReservationCapacityExceeded
        } else {
            CapacityError::InsufficientCapacity
        });
    }
    Ok(room.min(max).max(0) as usize)
}

/// Whether the Spot limit of a pool leaves room for one more Spot Instance, given how many of
/// every account already hold a place in it.
pub fn spot_limit_allows(limit: Option<u64>, spot_in_pool: u64) -> bool {
    limit.is_none_or(|l| spot_in_pool < l)
}

impl CapacityPool {
    /// Whether the pool's Spot limit leaves room for the request `counted_in` describes (a request
    /// already counted in this pool does not count against itself).
    pub fn spot_room_for(&self, counted_in: Option<&str>) -> bool {
        let own = i64::from(counted_in == Some(self.id.as_str()));
        spot_limit_allows(self.spot_limit, (self.spot_held - own).max(0) as u64)
    }
}

/// A Spot request's move between pools' Spot counts when it is saved: the pool it leaves and the
/// pool it joins (both `None` when nothing changes).
pub fn spot_move(counted_in: Option<&str>, occupied: Option<&str>) -> (Option<String>, Option<String>) {
    if counted_in == occupied {
        return (None, None);
    }
    (counted_in.map(str::to_string), occupied.map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity_reservations::tests::fixture;
    use crate::instances::InstanceState;
    use ec2_time::UnixMillis;

    const NOW: UnixMillis = UnixMillis(1_767_225_600_000);

    fn want(preference: Preference, target: Option<&str>) -> Want<'_> {
        Want {
            instance_type: "t3.micro",
            zone: "us-east-1a",
            platform: "Linux/UNIX",
            tenancy: "default",
            preference,
            target,
        }
    }

    fn active(id: &str, total: u32, created: i64) -> CapacityReservation {
        let mut cr = fixture(id);
        cr.requested = total;
        cr.create_date = NOW.plus_seconds(created);
        cr.activate_now(NOW);
        cr
    }

    fn instance() -> Instance {
        crate::instances::lifecycle::tests::fixture(InstanceState::Pending)
    }

    #[test]
    fn free_room_is_capacity_minus_held_minus_unused_active_reservations() {
        let mut pool = CapacityPool::empty("us-east-1a", "t3.micro");
        pool.held = 3;
        let mut a = active("cr-a", 5, 0);
        a.used = 2;
        let mut ended = active("cr-b", 7, 0);
        ended.cancel(NOW).unwrap();
        let v = pool.view(10, [&a, &ended]);
        assert_eq!(v, PoolView { capacity: 10, held: 3, reserved: 3, free: 4 });
        pool.capacity = Some(4);
        assert_eq!(pool.view(10, [&a]).free, 0, "never negative");
    }

    #[test]
    fn open_reservations_take_untargeted_instances_oldest_first() {
        let older = active("cr-2", 1, 0);
        let newer = active("cr-1", 1, 10);
        let mut targeted = active("cr-0", 1, -10);
        targeted.match_criteria = MatchCriteria::Targeted;
        let mut other_type = active("cr-3", 1, -20);
        other_type.instance_type = "m5.large".into();
        let mut full = active("cr-4", 1, -30);
        full.used = 1;
        let all = vec![newer.clone(), targeted, other_type, full, older.clone()];
        let found = open_candidates(&want(Preference::Open, None), &all);
        assert_eq!(found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["cr-2", "cr-1"]);
        assert!(open_candidates(&want(Preference::None, None), &all).is_empty());
    }

    #[test]
    fn a_targeted_reservation_must_be_active_fitting_and_not_full() {
        let w = want(Preference::Open, Some("cr-1"));
        let mut cr = active("cr-1", 1, 0);
        cr.match_criteria = MatchCriteria::Targeted;
        assert_eq!(check_target(&cr, &w), Ok(()));
        cr.used = 1;
        assert_eq!(check_target(&cr, &w), Err(CapacityError::ReservationCapacityExceeded));
        cr.used = 0;
        cr.tenancy = "dedicated".into();
        assert_eq!(check_target(&cr, &w), Err(CapacityError::ReservationCapacityExceeded));
        let mut block = fixture("cr-2");
        block.reservation_type = ReservationType::CapacityBlock;
        block.state = CrState::Scheduled;
        assert_eq!(check_target(&block, &w), Err(CapacityError::PendingActivation));
    }

    #[test]
    fn placement_into_a_reservation_counts_in_it_and_in_the_pool_and_release_gives_both_back() {
        let mut pool = CapacityPool::empty("us-east-1a", "t3.micro");
        let mut cr = active("cr-1", 2, 0);
        let mut inst = instance();
        take_in_reservation(&mut inst, &mut cr, &mut pool);
        assert_eq!((cr.used, pool.held), (1, 1));
        assert_eq!(inst.capacity_reservation_id.as_deref(), Some("cr-1"));
        assert_eq!(inst.reservation_lifecycle, None);
        release(&mut pool, Some(&mut cr));
        assert_eq!((cr.used, pool.held), (0, 0));
        // An ended reservation's counts are frozen.
        take_in_reservation(&mut inst, &mut cr, &mut pool);
        cr.cancel(NOW).unwrap();
        release(&mut pool, Some(&mut cr));
        assert_eq!((cr.used, pool.held), (1, 0));
    }

    #[test]
    fn a_capacity_block_marks_the_instance_lifecycle() {
        let mut pool = CapacityPool::empty("us-east-1a", "t3.micro");
        let mut cr = active("cr-1", 2, 0);
        cr.reservation_type = ReservationType::CapacityBlock;
        let mut inst = instance();
        take_in_reservation(&mut inst, &mut cr, &mut pool);
        assert_eq!(inst.reservation_lifecycle.as_deref(), Some("capacity-block"));
    }

    #[test]
    fn a_full_pool_refuses_strict_takes_with_insufficient_capacity_but_not_lenient_ones() {
        let mut pool = CapacityPool::empty("us-east-1a", "t3.micro");
        let mut inst = instance();
        assert_eq!(take_in_pool(&mut inst, &mut pool, true, Some(0)), Err(CapacityError::InsufficientCapacity));
        assert_eq!(pool.held, 0, "a refusal changes nothing");
        assert_eq!(take_in_pool(&mut inst, &mut pool, false, None), Ok(()));
        assert_eq!(take_in_pool(&mut inst, &mut pool, true, Some(1)), Ok(()));
        assert_eq!(pool.held, 2);
        inst.capacity_preference = Some("capacity-reservations-only".into());
        assert_eq!(take_in_pool(&mut inst, &mut pool, true, Some(5)), Err(CapacityError::InsufficientCapacity));
    }

    #[test]
    fn transitions_take_on_entering_pending_and_release_on_leaving_running() {
        assert_eq!(transition(false, true), Transition::Take);
        assert_eq!(transition(true, false), Transition::Release);
        assert_eq!(transition(true, true), Transition::Keep);
        assert_eq!(transition(false, false), Transition::Keep);
    }

    #[test]
    fn launchable_counts_reservations_and_pool_and_refuses_below_min() {
        let cands = vec![active("cr-1", 2, 0), active("cr-2", 1, 0)];
        let w = want(Preference::Open, None);
        assert!(launch_counts_pool(&w, false));
        assert_eq!(launchable(&w, &cands, 4, 1, 5), Ok(5));
        assert_eq!(launchable(&w, &cands, 0, 1, 5), Ok(3));
        assert_eq!(launchable(&w, &[], 2, 3, 5), Err(CapacityError::InsufficientCapacity));
        let t = want(Preference::Open, Some("cr-1"));
        assert!(!launch_counts_pool(&t, false));
        assert_eq!(launchable(&t, &cands[..1], 0, 3, 3), Err(CapacityError::ReservationCapacityExceeded));
        let only = want(Preference::ReservationsOnly, None);
        assert!(!launch_counts_pool(&only, false));
        assert!(launch_counts_pool(&only, true), "Spot never runs in reservations");
    }

    #[test]
    fn the_spot_limit_is_a_setting_of_the_pool() {
        assert!(spot_limit_allows(None, 1_000_000));
        assert!(spot_limit_allows(Some(2), 1));
        assert!(!spot_limit_allows(Some(2), 2));
        assert!(!spot_limit_allows(Some(0), 0));
    }

    #[test]
    fn a_spot_request_counts_once_in_the_pool_it_occupies_and_not_against_itself() {
        assert_eq!(spot_move(None, None), (None, None));
        assert_eq!(spot_move(Some("a/t"), Some("a/t")), (None, None));
        assert_eq!(spot_move(None, Some("a/t")), (None, Some("a/t".into())));
        assert_eq!(spot_move(Some("a/t"), None), (Some("a/t".into()), None));
        let mut pool = CapacityPool::empty("a", "t");
        assert!(pool.spot_room_for(None), "no limit");
        pool.spot_limit = Some(1);
        assert!(pool.spot_room_for(None));
        pool.spot_held = 1;
        assert!(!pool.spot_room_for(None));
        assert!(pool.spot_room_for(Some("a/t")), "its own place");
        assert!(!pool.spot_room_for(Some("b/t")));
    }

    #[test]
    fn registering_a_reservation_twice_keeps_one_entry() {
        let mut pool = CapacityPool::empty("us-east-1a", "t3.micro");
        assert!(pool.register("111/us-east-1", "cr-1"));
        assert!(!pool.register("111/us-east-1", "cr-1"));
        assert_eq!(pool.reservation_keys().collect::<Vec<_>>(), [("111/us-east-1", "cr-1")]);
        pool.adjust_held(-3);
        assert_eq!(pool.held, 0);
    }
}
