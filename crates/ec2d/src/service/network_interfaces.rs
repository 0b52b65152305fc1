//! Network interfaces. Every instance has a primary interface (`Instance::network_interface_id`),
//! which lives and dies with the instance.

use ec2_store::Txn;

use super::vpcs::live_instances;
use super::{Ctx, Result};

/// Whether the interface exists (the primary interface of an instance that is not terminated).
pub fn exists(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<bool> {
    Ok(live_instances(ctx, tx)?.iter().any(|i| i.network_interface_id == id))
}

/// Whether an interface uses the group (primary interfaces carry their instance's groups, which
/// the caller checks on the instances).
pub fn group_in_use(_ctx: &Ctx<'_>, _tx: &mut Txn<'_>, _group_id: &str) -> Result<bool> {
    Ok(false)
}
