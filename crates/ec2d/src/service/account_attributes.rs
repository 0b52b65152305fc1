//! DescribeAccountAttributes.

use ec2_core::account_attributes;
use ec2_protocol::{dto, Ec2Error};
use ec2_store::Txn;

use super::vpcs::{default_vpc, ensure_default_network};
use super::{addresses, dry_run_gate, Ctx, Result};

/// The instance quota ec2d reports (`max-instances`).
pub const MAX_INSTANCES: u64 = 20;

pub fn describe_account_attributes(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeAccountAttributesRequest,
) -> Result<dto::DescribeAccountAttributesResult> {
    let names: Vec<String> = match &req.attribute_names {
        Some(n) if !n.is_empty() => n.clone(),
        _ => account_attributes::NAMES.iter().map(|n| n.to_string()).collect(),
    };
    if let Some(bad) = names.iter().find(|n| account_attributes::values(n, None, 0, 0).is_none()) {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({bad}) for parameter attributeName is invalid. Unknown attribute."
        ))
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let vpc = default_vpc(ctx, tx)?.map(|v| v.id);
    let attrs = names
        .iter()
        .map(|n| dto::AccountAttribute {
            attribute_name: Some(n.clone()),
            attribute_values: Some(
                account_attributes::values(n, vpc.as_deref(), MAX_INSTANCES, addresses::MAX_ADDRESSES)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| dto::AccountAttributeValue { attribute_value: Some(v) })
                    .collect(),
            ),
        })
        .collect();
    Ok(dto::DescribeAccountAttributesResult { account_attributes: Some(attrs) })
}
