//! EBS encryption defaults of an (account, region): Enable/Disable/GetEbsEncryptionByDefault and
//! Get/Modify/ResetEbsDefaultKmsKeyId. The rules are `ec2_core::ebs_encryption`'s.

use ec2_core::ebs_encryption::{self, EbsEncryption};
use ec2_protocol::{dto, Ec2Error};
use ec2_store::Txn;

use super::volumes::encryption_error;
use super::{dry_run_gate, Ctx, Result};

const ID: &str = "default";

/// The scope's settings (defaults when never set).
pub fn settings(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<EbsEncryption> {
    Ok(tx.get::<EbsEncryption>(ctx.scope.key(), ID)?.unwrap_or(EbsEncryption { id: ID.into(), ..Default::default() }))
}

fn save(ctx: &Ctx<'_>, tx: &mut Txn<'_>, s: &EbsEncryption) -> Result<()> {
    tx.put(ctx.scope.key(), s)?;
    Ok(())
}

fn set_by_default(ctx: &Ctx<'_>, tx: &mut Txn<'_>, dry_run: Option<bool>, on: bool) -> Result<bool> {
    dry_run_gate(ctx, dry_run)?;
    let mut s = settings(ctx, tx)?;
    s.by_default = on;
    save(ctx, tx, &s)?;
    Ok(on)
}

pub fn enable_ebs_encryption_by_default(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::EnableEbsEncryptionByDefaultRequest,
) -> Result<dto::EnableEbsEncryptionByDefaultResult> {
    let on = set_by_default(ctx, tx, req.dry_run, true)?;
    Ok(dto::EnableEbsEncryptionByDefaultResult { ebs_encryption_by_default: Some(on) })
}

pub fn disable_ebs_encryption_by_default(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DisableEbsEncryptionByDefaultRequest,
) -> Result<dto::DisableEbsEncryptionByDefaultResult> {
    let on = set_by_default(ctx, tx, req.dry_run, false)?;
    Ok(dto::DisableEbsEncryptionByDefaultResult { ebs_encryption_by_default: Some(on) })
}

pub fn get_ebs_encryption_by_default(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::GetEbsEncryptionByDefaultRequest,
) -> Result<dto::GetEbsEncryptionByDefaultResult> {
    dry_run_gate(ctx, req.dry_run)?;
    let s = settings(ctx, tx)?;
    Ok(dto::GetEbsEncryptionByDefaultResult { ebs_encryption_by_default: Some(s.by_default), sse_type: None })
}

pub fn get_ebs_default_kms_key_id(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::GetEbsDefaultKmsKeyIdRequest,
) -> Result<dto::GetEbsDefaultKmsKeyIdResult> {
    dry_run_gate(ctx, req.dry_run)?;
    Ok(dto::GetEbsDefaultKmsKeyIdResult { kms_key_id: Some(settings(ctx, tx)?.default_key()) })
}

pub fn modify_ebs_default_kms_key_id(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyEbsDefaultKmsKeyIdRequest,
) -> Result<dto::ModifyEbsDefaultKmsKeyIdResult> {
    let key = req.kms_key_id.clone().ok_or_else(|| Ec2Error::missing_parameter("KmsKeyId"))?;
    let arn = ebs_encryption::key_arn(ctx.scope, &key).map_err(encryption_error)?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut s = settings(ctx, tx)?;
    s.kms_key_id = Some(arn.clone());
    save(ctx, tx, &s)?;
    Ok(dto::ModifyEbsDefaultKmsKeyIdResult { kms_key_id: Some(arn) })
}

pub fn reset_ebs_default_kms_key_id(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ResetEbsDefaultKmsKeyIdRequest,
) -> Result<dto::ResetEbsDefaultKmsKeyIdResult> {
    dry_run_gate(ctx, req.dry_run)?;
    let mut s = settings(ctx, tx)?;
    s.kms_key_id = None;
    save(ctx, tx, &s)?;
    let arn = ebs_encryption::key_arn(ctx.scope, ebs_encryption::MANAGED_ALIAS).map_err(encryption_error)?;
    Ok(dto::ResetEbsDefaultKmsKeyIdResult { kms_key_id: Some(arn) })
}
