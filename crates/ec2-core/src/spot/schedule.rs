//! The Spot step scheduler: which step of a request (and of its instance) comes next, so that the
//! server applies them one at a time, in time order, each at its own time.
//!
//! A request and its instance depend on each other (a terminated instance closes or re-opens the
//! request; a request's notice running out stops or terminates the instance), so their steps are
//! interleaved: the earliest due step goes first, and at equal times the instance's own transition
//! goes before the request's event, which goes before the request's expiry, which goes before an
//! interruption for price.

use ec2_time::UnixMillis;

use super::market;
use super::{SpotEvent, SpotRequest, SpotState};
use crate::catalog::instance_types::InstanceTypeInfo;

/// One step of a request and its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// The instance's pending transition.
    Instance,
    /// The request's pending event.
    Request(SpotEvent),
    /// A persistent request reaches its `ValidUntil`.
    Expiry,
    /// The market price rises above the request's maximum.
    PriceRise,
}

/// The first price change in `(from, to]` that takes the market above the request's maximum.
pub fn price_rise(
    seed: u64,
    itype: &InstanceTypeInfo,
    r: &SpotRequest,
    from: UnixMillis,
    to: UnixMillis,
) -> Option<UnixMillis> {
    market::changes(seed, itype, &r.zone, from, to)
        .into_iter()
        .find(|(_, linux)| market::product_price(*linux, itype, &r.product_description) > r.max_price)
        .map(|(when, _)| when)
}

/// The next step due by `now`, if any: `instance_due` is when the request's instance's pending
/// transition is due (if it has one), `itype` the request's instance type (for the market).
pub fn next_step(
    seed: u64,
    itype: &InstanceTypeInfo,
    r: &SpotRequest,
    instance_due: Option<UnixMillis>,
    now: UnixMillis,
) -> Option<(UnixMillis, Step)> {
    let mut steps: Vec<(UnixMillis, Step)> = Vec::with_capacity(4);
    if let Some(due) = instance_due.filter(|due| *due <= now) {
        steps.push((due, Step::Instance));
    }
    if let Some((due, ev)) = r.pending.filter(|(due, _)| *due <= now) {
        steps.push((due, Step::Request(ev)));
    }
    if let Some(t) = r.expiry().filter(|t| *t <= now) {
        steps.push((t, Step::Expiry));
    }
    if r.holds_instance() && r.interruption.is_none() && r.price_checked_until < now {
        if let Some(t) = price_rise(seed, itype, r, r.price_checked_until, now) {
            steps.push((t, Step::PriceRise));
        }
    }
    steps.into_iter().min()
}

/// Whether the request can still change: it waits for a step, is live, or has an instance whose
/// end it has not seen yet. Only such requests are settled.
pub fn waits(r: &SpotRequest) -> bool {
    r.pending.is_some()
        || matches!(r.state, SpotState::Open | SpotState::Active | SpotState::Disabled)
        || (r.instance_id.is_some() && !r.status_code.starts_with("instance-terminated"))
}

/// How far ahead of `price_checked_until` [`next_due`] looks for a price rise; with none in that
/// window, the request is due at its end to look further.
pub const PRICE_HORIZON_MS: i64 = 7 * 86_400_000;

/// When the request's first step can come due (for the due-work index): never later than the
/// time at which [`next_step`] first answers a step, given that the instance's pending transition
/// is due at `instance_due`. `None` when the request waits for nothing.
pub fn next_due(
    seed: u64,
    itype: &InstanceTypeInfo,
    r: &SpotRequest,
    instance_due: Option<UnixMillis>,
) -> Option<UnixMillis> {
    if !waits(r) {
        return None;
    }
    let mut due = [instance_due, r.pending.map(|(t, _)| t), r.expiry()].into_iter().flatten().min();
    if r.holds_instance() && r.interruption.is_none() {
        let to = r.price_checked_until.plus_millis(PRICE_HORIZON_MS);
        let rise = price_rise(seed, itype, r, r.price_checked_until, to).unwrap_or(to);
        due = Some(due.map_or(rise, |d| d.min(rise)));
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::instance_types::instance_type;
    use crate::spot::tests::{request, T};
    use crate::spot::{InterruptionBehavior, SpotDurations, SpotState, SpotType};

    const D: SpotDurations = SpotDurations::REALISTIC;

    fn itype() -> &'static InstanceTypeInfo {
        instance_type("t3.micro").unwrap()
    }

    #[test]
    fn nothing_is_due_before_its_time() {
        let r = request(SpotType::OneTime, InterruptionBehavior::Terminate);
        assert_eq!(next_step(1, itype(), &r, None, T), None);
        assert_eq!(
            next_step(1, itype(), &r, None, T.plus_millis(D.evaluation)),
            Some((T.plus_millis(D.evaluation), Step::Request(SpotEvent::Evaluate)))
        );
    }

    #[test]
    fn the_earliest_step_goes_first_and_ties_go_instance_first() {
        let mut r = request(SpotType::Persistent, InterruptionBehavior::Stop);
        r.state = SpotState::Active;
        r.instance_id = Some("i-1".into());
        r.max_price = 1e9; // no price rise
        r.pending = Some((T.plus_seconds(20), SpotEvent::NoticeExpired));
        r.valid_until = T.plus_seconds(30);
        let now = T.plus_seconds(60);
        assert_eq!(
            next_step(1, itype(), &r, Some(T.plus_seconds(10)), now),
            Some((T.plus_seconds(10), Step::Instance))
        );
        assert_eq!(
            next_step(1, itype(), &r, Some(T.plus_seconds(25)), now),
            Some((T.plus_seconds(20), Step::Request(SpotEvent::NoticeExpired)))
        );
        assert_eq!(
            next_step(1, itype(), &r, Some(T.plus_seconds(20)), now),
            Some((T.plus_seconds(20), Step::Instance))
        );
        r.pending = None;
        assert_eq!(next_step(1, itype(), &r, None, now), Some((T.plus_seconds(30), Step::Expiry)));
        assert!(Step::Instance < Step::Request(SpotEvent::Evaluate));
        assert!(Step::Request(SpotEvent::TerminateStopped) < Step::Expiry);
        assert!(Step::Expiry < Step::PriceRise);
    }

    #[test]
    fn a_price_above_the_maximum_interrupts_at_the_first_change_that_crosses_it() {
        let mut r = request(SpotType::OneTime, InterruptionBehavior::Terminate);
        r.state = SpotState::Active;
        r.instance_id = Some("i-1".into());
        r.pending = None;
        let week = T.plus_seconds(7 * 86_400);
        let first = market::changes(1, itype(), &r.zone, T, week)[0].0;
        r.max_price = 0.0; // every change crosses it
        assert_eq!(price_rise(1, itype(), &r, T, week), Some(first));
        assert_eq!(next_step(1, itype(), &r, None, week), Some((first, Step::PriceRise)));
        r.interruption = Some(crate::spot::Cause::Price);
        assert_eq!(next_step(1, itype(), &r, None, week), None, "already interrupted");
        r.interruption = None;
        r.max_price = 1e9;
        assert_eq!(price_rise(1, itype(), &r, T, week), None);
        r.price_checked_until = week;
        r.max_price = 0.0;
        assert_eq!(next_step(1, itype(), &r, None, week), None, "checked up to now");
    }

    #[test]
    fn next_due_is_never_after_the_first_step_next_step_answers() {
        let mut r = request(SpotType::Persistent, InterruptionBehavior::Stop);
        // Open, evaluation pending.
        let due = next_due(1, itype(), &r, None).unwrap();
        assert_eq!(next_step(1, itype(), &r, None, due.plus_millis(-1)), None);
        assert!(next_step(1, itype(), &r, None, due).is_some());
        // Active with an instance: the earliest of the instance's transition, expiry and a price rise.
        r.state = SpotState::Active;
        r.instance_id = Some("i-1".into());
        r.pending = None;
        r.max_price = 1e9;
        r.valid_until = T.plus_seconds(30 * 86_400);
        r.price_checked_until = T;
        assert_eq!(next_due(1, itype(), &r, Some(T.plus_seconds(5))), Some(T.plus_seconds(5)));
        let horizon = T.plus_millis(PRICE_HORIZON_MS);
        assert_eq!(next_due(1, itype(), &r, None), Some(horizon), "no rise: look again at the horizon");
        assert_eq!(next_step(1, itype(), &r, None, horizon), None);
        r.max_price = 0.0;
        let rise = next_due(1, itype(), &r, None).unwrap();
        assert_eq!(next_step(1, itype(), &r, None, rise), Some((rise, Step::PriceRise)));
        assert_eq!(next_step(1, itype(), &r, None, rise.plus_millis(-1)), None);
        // A request that has seen its instance end waits for nothing.
        r.state = SpotState::Closed;
        r.status_code = "instance-terminated-by-price".into();
        assert!(!waits(&r));
        assert_eq!(next_due(1, itype(), &r, Some(T)), None);
    }
}
