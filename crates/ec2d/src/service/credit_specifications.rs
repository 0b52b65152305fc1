//! DescribeInstanceCreditSpecifications, ModifyInstanceCreditSpecification,
//! GetDefaultCreditSpecification and ModifyDefaultCreditSpecification. The rules (which families,
//! their defaults, what is listed, what may change) are `ec2_core::credit_specifications`; the
//! account's defaults are one `credit_defaults` record per account and region.

use ec2_core::credit_specifications::{self as credits, CreditError, Defaults, DEFAULTS_ID, FILTERS};
use ec2_core::ids::IdKind;
use ec2_core::instances::Instance;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{describe_instances_bounds, paginate, well_formed};
use super::instances::{load_all, load_many, save};
use super::{dry_run_gate, filters, Ctx, Result};

/// The wire form of a credit option refusal.
pub fn credit_error(e: CreditError) -> Ec2Error {
    match e {
        CreditError::BadValue(v) => Ec2Error::invalid_parameter_value(format!(
            "Value ({v}) for parameter CpuCredits is invalid. Expected 'standard' or 'unlimited'."
        )),
        CreditError::NotSupported { instance_type } => Ec2Error::new(
            Code::InstanceCreditSpecificationNotSupported,
            format!("The {instance_type} instance type does not support CPU credit options (T2, T3, T3a and T4g do)."),
        ),
        CreditError::BadFamily(f) => Ec2Error::invalid_parameter_value(format!(
            "Value ({f}) for parameter InstanceFamily is invalid. Expected one of: {}.",
            credits::FAMILIES.join(", ")
        )),
        CreditError::Gone { id, state } => Ec2Error::new(
            Code::IncorrectInstanceState,
            format!("The instance '{id}' is in the '{}' state.", state.name()),
        ),
    }
}

/// The scope's defaults (EC2's own until ModifyDefaultCreditSpecification changes one).
pub fn defaults(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Defaults> {
    Ok(tx
        .get::<Defaults>(ctx.scope.key(), DEFAULTS_ID)?
        .unwrap_or(Defaults { id: DEFAULTS_ID.into(), ..Default::default() }))
}

/// The credit option a burstable instance of `instance_type` launches with when the request names
/// none: the account's default for its family at the time of the launch.
pub fn launch_default(ctx: &Ctx<'_>, tx: &mut Txn<'_>, instance_type: &str) -> Result<Option<String>> {
    match credits::family(instance_type) {
        Some(f) => Ok(Some(defaults(ctx, tx)?.of(f))),
        None => Ok(None),
    }
}

fn item(i: &Instance, cpu_credits: String) -> dto::InstanceCreditSpecification {
    dto::InstanceCreditSpecification { instance_id: Some(i.id.to_string()), cpu_credits: Some(cpu_credits) }
}

pub fn describe_instance_credit_specifications(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeInstanceCreditSpecificationsRequest,
) -> Result<dto::DescribeInstanceCreditSpecificationsResult> {
    let ids = well_formed(IdKind::Instance, req.instance_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&FILTERS, &req.filters)?;
    if !ids.is_empty() && req.max_results.is_some() {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let d = defaults(ctx, tx)?;
    let mut out = Vec::new();
    if ids.is_empty() {
        let mut all = load_all(ctx, tx)?;
        all.retain(|i| credits::listed(i, &d) && FILTERS.matches(i, &filters));
        all.sort_by(|a, b| a.id.cmp(&b.id));
        for i in &all {
            out.push(item(i, credits::effective(i, &d).unwrap_or_default()));
        }
    } else {
        for i in load_many(ctx, tx, &ids)?.iter().filter(|i| FILTERS.matches(i, &filters)) {
            out.push(item(i, credits::named(i, &d).map_err(credit_error)?));
        }
    }
    let (page, next) = paginate(
        out,
        |c| c.instance_id.clone().unwrap_or_default(),
        req.max_results,
        req.next_token.as_deref(),
        &describe_instances_bounds(),
    )?;
    Ok(dto::DescribeInstanceCreditSpecificationsResult { instance_credit_specifications: Some(page), next_token: next })
}

fn unsuccessful(id: &str, e: Ec2Error) -> dto::UnsuccessfulInstanceCreditSpecificationItem {
    dto::UnsuccessfulInstanceCreditSpecificationItem {
        instance_id: Some(id.to_string()),
        error: Some(dto::UnsuccessfulInstanceCreditSpecificationItemError {
            code: Some(e.code.as_str().to_string()),
            message: Some(e.message.clone()),
        }),
    }
}

pub fn modify_instance_credit_specification(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyInstanceCreditSpecificationRequest,
) -> Result<dto::ModifyInstanceCreditSpecificationResult> {
    let specs = req.instance_credit_specifications.clone().unwrap_or_default();
    if specs.is_empty() {
        return Err(Ec2Error::missing_parameter("InstanceCreditSpecifications").into());
    }
    let mut wanted = Vec::with_capacity(specs.len());
    for s in &specs {
        let id = s
            .instance_id
            .clone()
            .ok_or_else(|| Ec2Error::missing_parameter("InstanceCreditSpecification.N.InstanceId"))?;
        let value = s
            .cpu_credits
            .clone()
            .ok_or_else(|| Ec2Error::missing_parameter("InstanceCreditSpecification.N.CpuCredits"))?;
        credits::parse(&value).map_err(credit_error)?;
        wanted.push((id, value));
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (id, value) in wanted {
        if let Err(e) = well_formed(IdKind::Instance, std::slice::from_ref(&id)) {
            failed.push(unsuccessful(&id, e.into()));
            continue;
        }
        let found = match tx.get::<Instance>(ctx.scope.key(), &id)? {
            Some(_) => load_many(ctx, tx, std::slice::from_ref(&id)).ok().and_then(|mut v| v.pop()),
            None => None,
        };
        let Some(mut inst) = found else {
            failed.push(unsuccessful(&id, super::common::not_found(IdKind::Instance, std::slice::from_ref(&id))));
            continue;
        };
        match credits::modify(&mut inst, &value) {
            Ok(()) => {
                save(ctx, tx, &inst)?;
                ok.push(dto::SuccessfulInstanceCreditSpecificationItem { instance_id: Some(id) });
            }
            Err(e) => failed.push(unsuccessful(&id, credit_error(e))),
        }
    }
    Ok(dto::ModifyInstanceCreditSpecificationResult {
        successful_instance_credit_specifications: Some(ok),
        unsuccessful_instance_credit_specifications: Some(failed),
    })
}

fn family(name: Option<&str>) -> Result<String> {
    let name = name.ok_or_else(|| Ec2Error::missing_parameter("InstanceFamily"))?;
    credits::FAMILIES
        .into_iter()
        .find(|f| *f == name)
        .map(String::from)
        .ok_or_else(|| credit_error(CreditError::BadFamily(name.to_string())).into())
}

fn family_dto(family: String, cpu_credits: String) -> Option<dto::InstanceFamilyCreditSpecification> {
    Some(dto::InstanceFamilyCreditSpecification { instance_family: Some(family), cpu_credits: Some(cpu_credits) })
}

pub fn get_default_credit_specification(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::GetDefaultCreditSpecificationRequest,
) -> Result<dto::GetDefaultCreditSpecificationResult> {
    let f = family(req.instance_family.as_deref())?;
    dry_run_gate(ctx, req.dry_run)?;
    let value = defaults(ctx, tx)?.of(&f);
    Ok(dto::GetDefaultCreditSpecificationResult { instance_family_credit_specification: family_dto(f, value) })
}

pub fn modify_default_credit_specification(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyDefaultCreditSpecificationRequest,
) -> Result<dto::ModifyDefaultCreditSpecificationResult> {
    let f = family(req.instance_family.as_deref())?;
    let value = req.cpu_credits.clone().ok_or_else(|| Ec2Error::missing_parameter("CpuCredits"))?;
    credits::parse(&value).map_err(credit_error)?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut d = defaults(ctx, tx)?;
    let value = credits::set_default(&mut d, &f, &value).map_err(credit_error)?;
    tx.put(ctx.scope.key(), &d)?;
    Ok(dto::ModifyDefaultCreditSpecificationResult { instance_family_credit_specification: family_dto(f, value) })
}
