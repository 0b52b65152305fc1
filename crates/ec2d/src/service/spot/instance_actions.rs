//! The Spot rules of Stop/StartInstances on Spot Instances.

use super::*;

fn request_of(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &Instance) -> Result<Option<SpotRequest>> {
    match &inst.spot_request_id {
        Some(id) => Ok(tx.get::<SpotRequest>(ctx.scope.key(), id)?),
        None => Ok(None),
    }
}

/// StopInstances on Spot Instances: only instances of persistent requests that are not cancelled.
pub fn check_stop(ctx: &Ctx<'_>, tx: &mut Txn<'_>, instances: &[Instance]) -> Result<()> {
    for inst in instances {
        let Some(r) = request_of(ctx, tx, inst)? else { continue };
        if r.spot_type == SpotType::OneTime {
            return Err(Ec2Error::new(
                Code::UnsupportedOperation,
                format!(
                    "You can't stop the Spot Instance '{}' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.",
                    inst.id
                ),
            )
            .into());
        }
        if r.state == SpotState::Cancelled {
            return Err(Ec2Error::new(
                Code::UnsupportedOperation,
                format!(
                    "You can't stop the Spot Instance '{}' because its Spot Instance request is cancelled.",
                    inst.id
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// StartInstances on Spot Instances: only those their user stopped (EC2 restarts the ones it
/// interrupted).
pub fn check_start(ctx: &Ctx<'_>, tx: &mut Txn<'_>, instances: &[Instance]) -> Result<()> {
    for inst in instances {
        let Some(r) = request_of(ctx, tx, inst)? else { continue };
        if inst.state == InstanceState::Stopped && (r.stopped_by_interruption || r.state != SpotState::Disabled) {
            return Err(Ec2Error::new(
                Code::UnsupportedOperation,
                format!("You can't start the Spot Instance '{}': only Spot Instances stopped by their user can be started, and only while their request is active.", inst.id),
            )
            .into());
        }
    }
    Ok(())
}

/// After a user's stop or start: the request shows it.
pub fn after_user_action(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    instances: &[impl std::borrow::Borrow<Instance>],
    started: bool,
) -> Result<()> {
    for inst in instances.iter().map(std::borrow::Borrow::borrow) {
        let Some(mut r) = request_of(ctx, tx, inst)? else { continue };
        if started && inst.state == InstanceState::Pending {
            r.user_started(ctx.now);
        } else if !started && inst.state == InstanceState::Stopping {
            r.user_stopping(ctx.now);
        }
        save(ctx.ids.seed(), tx, ctx.scope.key(), &mut r)?;
    }
    Ok(())
}
