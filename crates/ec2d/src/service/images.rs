//! User images (AMIs).

use ec2_store::Txn;

use super::{Ctx, Result};

/// The image of the scope that uses a snapshot, if any.
pub fn using_snapshot(_ctx: &Ctx<'_>, _tx: &mut Txn<'_>, _snapshot_id: &str) -> Result<Option<String>> {
    Ok(None)
}
