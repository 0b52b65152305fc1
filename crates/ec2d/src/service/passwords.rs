//! GetPasswordData: the administrator password of a Windows instance, encrypted with its key
//! pair's public key once it is ready on the clock (`ec2_core::passwords`). Linux instances, and
//! Windows instances whose password is not ready yet, answer an empty `PasswordData`, as EC2 does.

use ec2_core::ids::IdKind;
use ec2_core::key_pairs::{self, KeyPair};
use ec2_core::passwords;
use ec2_protocol::{dto, Ec2Error};
use ec2_store::Txn;

use super::common::{not_found, well_formed};
use super::instances::load_many;
use super::{dry_run_gate, Ctx, Result};

pub fn get_password_data(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::GetPasswordDataRequest,
) -> Result<dto::GetPasswordDataResult> {
    let id = req.instance_id.clone().ok_or_else(|| Ec2Error::missing_parameter("InstanceId"))?;
    well_formed(IdKind::Instance, std::slice::from_ref(&id))?;
    dry_run_gate(ctx, req.dry_run)?;
    let inst = load_many(ctx, tx, std::slice::from_ref(&id))?
        .pop()
        .ok_or_else(|| not_found(IdKind::Instance, std::slice::from_ref(&id)))?;
    let ready = passwords::ready_at(&inst, ctx.durations).filter(|at| *at <= ctx.now);
    let key: Option<KeyPair> = match (&inst.key_name, ready) {
        (Some(name), Some(_)) => {
            let all = tx.scan::<KeyPair>(ctx.scope.key())?;
            key_pairs::find_for_launch(&all, name).ok().cloned()
        }
        _ => None,
    };
    // The password is encrypted with the key pair of that name now; a deleted key pair (or an
    // ED25519 one, which cannot encrypt) leaves it empty.
    let data = key
        .and_then(|k| passwords::password_data(&k.public_key, passwords::seed(ctx.ids.seed(), &inst.id)).ok())
        .unwrap_or_default();
    Ok(dto::GetPasswordDataResult {
        instance_id: Some(inst.id.to_string()),
        timestamp: Some(ready.unwrap_or(ctx.now)),
        password_data: Some(data),
    })
}
