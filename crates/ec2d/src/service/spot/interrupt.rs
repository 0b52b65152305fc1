//! The control API's interruptions on demand.

use super::*;

/// Interrupts the Spot Instance `instance_id` (any account), or every Spot Instance in the pool
/// (`zone`, `instance_type`). Returns the interrupted instance IDs.
pub fn interrupt(
    settings: &crate::service::Settings,
    tx: &mut Txn<'_>,
    now: UnixMillis,
    instance_id: Option<&str>,
    pool: Option<(&str, &str)>,
    cause: Cause,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for scope_key in tx.scopes::<SpotRequest>()? {
        let scope = crate::service::scope_of_key(&scope_key);
        let ctx = Ctx::new(settings, &scope, now);
        for r in tx.scan::<SpotRequest>(&scope_key)? {
            let wanted = match (instance_id, pool) {
                (Some(id), _) => r.instance_id.as_deref() == Some(id),
                (None, Some((zone, itype))) => r.launched_zone.as_deref() == Some(zone) && r.instance_type == itype,
                (None, None) => false,
            };
            if !wanted {
                continue;
            }
            let mut r = settle_request(&ctx, tx, r)?;
            let running = match &r.instance_id {
                Some(id) => tx
                    .get::<Instance>(&scope_key, id)?
                    .is_some_and(|i| matches!(i.state, InstanceState::Pending | InstanceState::Running)),
                None => false,
            };
            if running && r.interrupt(now, cause, &settings.spot_durations) {
                out.extend(r.instance_id.clone());
                save(settings.ids.seed(), tx, &scope_key, &mut r)?;
            }
        }
    }
    Ok(out)
}
