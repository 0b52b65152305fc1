//! Saving a request (the one place that keeps the pools' Spot counts and the request's entry in
//! the due-work index) and settling a request with its instance, their steps in time order.

use super::*;

/// Saves the request in `scope`, moving it between pools' Spot counts when what it occupies
/// changed, and setting its entry in the scope's due-work index. Every write of a Spot request goes
/// through here.
pub(super) fn save(seed: u64, tx: &mut Txn<'_>, scope: &str, r: &mut SpotRequest) -> Result<()> {
    let occupied = r.occupied_pool();
    let (leave, join) = pools::spot_move(r.counted_in.as_deref(), occupied.as_deref());
    if leave.is_some() || join.is_some() {
        capacity_pools::count_spot(tx, leave.as_deref(), join.as_deref())?;
        r.counted_in = occupied;
    }
    tx.put(scope, &*r)?;
    crate::service::events::spot_request(tx, scope, r)?;
    let due = next_due(seed, tx, scope, r)?;
    crate::service::due::set(seed, tx, scope, DueKind::SpotRequest, &r.id, due)
}

/// When the request (with its instance as stored) next has a step due.
pub fn next_due(seed: u64, tx: &mut Txn<'_>, scope: &str, r: &SpotRequest) -> Result<Option<UnixMillis>> {
    let instance_due = match &r.instance_id {
        Some(id) if schedule::waits(r) => tx.get::<Instance>(scope, id)?.and_then(|i| i.pending).map(|p| p.due),
        _ => None,
    };
    Ok(schedule::next_due(seed, itype(&r.instance_type)?, r, instance_due))
}

/// Whether the pool's Spot limit has room for one more instance for `r`.
pub(super) fn capacity_ok(tx: &mut Txn<'_>, zone: &str, instance_type: &str, r: &SpotRequest) -> Result<bool> {
    capacity_pools::spot_limit_room(tx, zone, instance_type, r.counted_in.as_deref())
}

// ---------------------------------------------------------------------------------------------
// Settling: requests and their instances, in time order

pub(super) fn itype(name: &str) -> Result<&'static InstanceTypeInfo> {
    instance_types::instance_type(name)
        .ok_or_else(|| Ec2Error::internal(format!("unknown instance type {name}")).into())
}

pub(super) fn market_price(ctx: &Ctx<'_>, r: &SpotRequest, t: UnixMillis) -> Result<f64> {
    let linux = market::price(ctx.ids.seed(), itype(&r.instance_type)?, &r.zone, t);
    Ok(market::product_price(linux, itype(&r.instance_type)?, &r.product_description))
}

/// Settles the request `id` of the scope, whose entry in the due-work index came due
/// (`service::due::catch_up`).
pub fn settle_due(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<()> {
    if let Some(r) = tx.get::<SpotRequest>(ctx.scope.key(), id)? {
        if schedule::waits(&r) {
            settle_request(ctx, tx, r)?;
        }
    }
    Ok(())
}

/// Applies the request's and its instance's due steps up to `ctx.now`, in time order.
pub fn settle_request(ctx: &Ctx<'_>, tx: &mut Txn<'_>, mut r: SpotRequest) -> Result<SpotRequest> {
    let scope = ctx.scope.key();
    let now = ctx.now;
    // A bound on steps per settle, far above any real sequence, so nothing can spin.
    for _ in 0..10_000 {
        let mut inst = match &r.instance_id {
            Some(id) => tx.get::<Instance>(scope, id)?,
            None => None,
        };
        let instance_due = inst.as_ref().and_then(|i| i.pending).map(|p| p.due);
        let next = schedule::next_step(ctx.ids.seed(), itype(&r.instance_type)?, &r, instance_due, now);
        let Some((t, step)) = next else {
            if r.holds_instance() {
                r.price_checked_until = now;
            }
            break;
        };
        let cx = at(ctx, t);
        match step {
            Step::Instance => {
                let Some(i) = inst.as_mut() else { continue };
                let before = Before::of(i);
                let outcome = settle(i, t, ctx.durations);
                if outcome == Settled::Purged {
                    tx.delete::<Instance>(scope, &i.id)?;
                    continue;
                }
                state_changes::apply(&cx, tx, before, i, Accounting::Lenient)?;
                match (before.state.unwrap_or(i.state), i.state) {
                    (InstanceState::ShuttingDown, InstanceState::Terminated) => {
                        let by_service = r.interruption.is_none()
                            && r.state == SpotState::Cancelled
                            && i.state_reason.as_ref().is_some_and(|s| s.code.starts_with("Server."));
                        r.instance_terminated(t, by_service, ctx.spot_durations);
                    }
                    (InstanceState::Stopping, InstanceState::Stopped) => r.instance_stopped(t, ctx.spot_durations),
                    _ => {}
                }
            }
            Step::Request(SpotEvent::Evaluate) => {
                let price = market_price(ctx, &r, t)?;
                let next = market::next_change(ctx.ids.seed(), itype(&r.instance_type)?, &r.zone, t);
                let room = capacity_ok(tx, &r.zone, &r.instance_type, &r)?
                    && crate::service::capacity_pools::spot_room(&cx, tx, &r.zone, &r.instance_type)?;
                r.evaluate(t, now, price, next, room, ctx.spot_durations);
            }
            Step::Request(SpotEvent::Fulfil) => {
                let plan = plan_of(&r)?;
                let reservation = new_id(&cx, tx, IdKind::Reservation)?;
                let launched = launch::launch(&cx, tx, &plan, 1, &reservation, Some(std::slice::from_ref(&r.id)))?;
                let inst = &launched[0];
                r.fulfilled(t, inst.id.to_string(), inst.availability_zone.to_string());
            }
            Step::Request(SpotEvent::NoticeExpired) => {
                let effect = r.notice_expired();
                if let Some(i) = inst.as_mut() {
                    let before = Before::of(i);
                    match effect {
                        Effect::Terminate => {
                            let reason = StateReason::new(
                                "Server.SpotInstanceTermination",
                                "Server.SpotInstanceTermination: Spot instance termination",
                            );
                            lifecycle::service_terminate(i, t, ctx.durations, reason);
                        }
                        Effect::Stop { hibernate } => lifecycle::service_stop(i, t, ctx.durations, hibernate),
                        Effect::None | Effect::Launch | Effect::Start => {}
                    }
                    state_changes::apply(&cx, tx, before, i, Accounting::Lenient)?;
                }
            }
            Step::Request(SpotEvent::Restart) => {
                let price_ok = market_price(ctx, &r, t)? <= r.max_price;
                let room = capacity_ok(tx, &r.zone, &r.instance_type, &r)?
                    && crate::service::capacity_pools::spot_room(&cx, tx, &r.zone, &r.instance_type)?;
                let retry = if price_ok {
                    t.plus_millis(ctx.spot_durations.capacity_retry).max(now.plus_millis(1))
                } else {
                    market::next_change(ctx.ids.seed(), itype(&r.instance_type)?, &r.zone, t)
                };
                if r.restart(t, price_ok && room, retry) == Effect::Start {
                    if let Some(i) = inst.as_mut() {
                        let before = Before::of(i);
                        if lifecycle::start(i, t, ctx.durations).is_ok() && i.public_ip.is_none() {
                            i.public_ip = Some(network::public_ip(tx.next_id("public_ip")? - 1).into());
                        }
                        state_changes::apply(&cx, tx, before, i, Accounting::Lenient)?;
                    }
                }
            }
            Step::Request(SpotEvent::TerminateStopped) => {
                r.pending = None;
                if let Some(i) = inst.as_mut() {
                    let reason = StateReason::new(
                        "Server.SpotInstanceTermination",
                        "Server.SpotInstanceTermination: Spot instance termination",
                    );
                    let before = Before::of(i);
                    lifecycle::service_terminate(i, t, ctx.durations, reason);
                    state_changes::apply(&cx, tx, before, i, Accounting::Lenient)?;
                }
            }
            Step::Expiry => r.expire(t, ctx.spot_durations),
            Step::PriceRise => {
                r.price_checked_until = t;
                r.interrupt(t, Cause::Price, ctx.spot_durations);
            }
        }
    }
    save(ctx.ids.seed(), tx, scope, &mut r)?;
    Ok(r)
}
