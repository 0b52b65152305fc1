//! AssociateIamInstanceProfile, DescribeIamInstanceProfileAssociations,
//! ReplaceIamInstanceProfileAssociation and DisassociateIamInstanceProfile, and the association a
//! launch with `IamInstanceProfile` makes. The rules are `ec2_core::iam_instance_profiles`.

use ec2_core::iam_instance_profiles::{
    self, Association, AssociationError, AssociationState, Profile, ProfileError, ASSOCIATION_FILTERS,
};
use ec2_core::ids::IdKind;
use ec2_core::instances::{Instance, InstanceState};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{load_named_with, new_id, paginate, well_formed, PageBounds};
use super::instances::{load_many, save};
use super::{dry_run_gate, filters, Ctx, Result};

fn profile_error(e: ProfileError) -> Ec2Error {
    match e {
        ProfileError::Missing => Ec2Error::missing_parameter("IamInstanceProfile"),
        ProfileError::Both => Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameter 'iamInstanceProfile.name' may not be used in combination with 'iamInstanceProfile.arn'",
        ),
        ProfileError::BadArn(arn) => Ec2Error::invalid_parameter_value(format!(
            "Value ({arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"
        )),
        ProfileError::BadName(name) => Ec2Error::invalid_parameter_value(format!(
            "Value ({name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
        )),
        ProfileError::OtherAccount(arn) => Ec2Error::invalid_parameter_value(format!(
            "Value ({arn}) for parameter iamInstanceProfile.arn is invalid. The instance profile belongs to another account"
        )),
    }
}

/// The profile an `IamInstanceProfile` specification names in the caller's account.
pub fn profile(ctx: &Ctx<'_>, spec: Option<&dto::IamInstanceProfileSpecification>) -> Result<Profile> {
    let spec = spec.cloned().unwrap_or_default();
    iam_instance_profiles::resolve(&ctx.scope.account, spec.arn.as_deref(), spec.name.as_deref())
        .map_err(|e| profile_error(e).into())
}

/// `RunInstances`' `IamInstanceProfile`, when given.
pub fn launch_profile(ctx: &Ctx<'_>, spec: Option<&dto::IamInstanceProfileSpecification>) -> Result<Option<Profile>> {
    spec.map(|s| profile(ctx, Some(s))).transpose()
}

pub fn profile_dto(p: &Profile) -> dto::IamInstanceProfile {
    dto::IamInstanceProfile { arn: Some(p.arn.clone()), id: Some(p.id.clone()) }
}

fn association_dto(a: &Association, state: AssociationState) -> dto::IamInstanceProfileAssociation {
    dto::IamInstanceProfileAssociation {
        association_id: Some(a.id.clone()),
        instance_id: Some(a.instance_id.clone()),
        iam_instance_profile: Some(profile_dto(&a.profile)),
        state: Some(state.name().into()),
        timestamp: Some(a.timestamp),
    }
}

/// The scope's associations whose instance is still there (an association ends with its instance).
fn all(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<Association>> {
    let mut out = Vec::new();
    for a in tx.scan::<Association>(ctx.scope.key())? {
        let alive = tx
            .get::<Instance>(ctx.scope.key(), &a.instance_id)?
            .is_some_and(|i| !matches!(i.state, InstanceState::ShuttingDown | InstanceState::Terminated));
        if alive {
            out.push(a);
        } else {
            tx.delete::<Association>(ctx.scope.key(), &a.id)?;
        }
    }
    Ok(out)
}

/// Records a new association of `profile` with `inst` (and shows the profile on the instance).
pub fn associate(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &mut Instance, profile: Profile) -> Result<Association> {
    let a = Association {
        id: new_id(ctx, tx, IdKind::IamInstanceProfileAssociation)?,
        instance_id: inst.id.to_string(),
        profile: profile.clone(),
        state: AssociationState::Associated,
        timestamp: ctx.now,
    };
    tx.put(ctx.scope.key(), &a)?;
    inst.attributes.iam_profile = Some(profile);
    Ok(a)
}

fn one_instance(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Instance> {
    load_many(ctx, tx, &[id.to_string()])?
        .pop()
        .ok_or_else(|| super::common::not_found(IdKind::Instance, &[id.to_string()]).into())
}

fn one_association(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: Option<&str>) -> Result<Association> {
    let id = id.ok_or_else(|| Ec2Error::missing_parameter("AssociationId"))?.to_string();
    let mut found =
        load_named_with(ctx, tx, IdKind::IamInstanceProfileAssociation, std::slice::from_ref(&id), |_, a| Ok(Some(a)))?;
    let a: Association =
        found.pop().ok_or_else(|| super::common::not_found(IdKind::IamInstanceProfileAssociation, &[id]))?;
    // An association whose instance has gone is gone too.
    if !all(ctx, tx)?.iter().any(|x| x.id == a.id) {
        return Err(super::common::not_found(IdKind::IamInstanceProfileAssociation, &[a.id]).into());
    }
    Ok(a)
}

pub fn associate_iam_instance_profile(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AssociateIamInstanceProfileRequest,
) -> Result<dto::AssociateIamInstanceProfileResult> {
    let id = req.instance_id.clone().ok_or_else(|| Ec2Error::missing_parameter("InstanceId"))?;
    well_formed(IdKind::Instance, std::slice::from_ref(&id))?;
    let profile = profile(ctx, req.iam_instance_profile.as_ref())?;
    dry_run_gate(ctx, None)?;
    let mut inst = one_instance(ctx, tx, &id)?;
    if matches!(inst.state, InstanceState::ShuttingDown | InstanceState::Terminated) {
        return Err(Ec2Error::new(
            Code::IncorrectInstanceState,
            format!("The instance '{id}' is not in a state in which an instance profile can be associated."),
        )
        .into());
    }
    let existing = all(ctx, tx)?;
    iam_instance_profiles::check_can_associate(&existing, &id).map_err(|e| match e {
        AssociationError::Exists { instance_id, association_id } => Ec2Error::new(
            Code::IncorrectState,
            format!("There is an existing association for instance {instance_id} ({association_id})"),
        ),
    })?;
    let a = associate(ctx, tx, &mut inst, profile)?;
    save(ctx, tx, &inst)?;
    Ok(dto::AssociateIamInstanceProfileResult {
        iam_instance_profile_association: Some(association_dto(&a, AssociationState::Associating)),
    })
}

fn bounds() -> PageBounds {
    PageBounds {
        min: 5,
        max: 1000,
        cap_above_max: false,
        message: |n| {
            format!("Value ( {n} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.")
        },
    }
}

pub fn describe_iam_instance_profile_associations(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeIamInstanceProfileAssociationsRequest,
) -> Result<dto::DescribeIamInstanceProfileAssociationsResult> {
    let ids = well_formed(IdKind::IamInstanceProfileAssociation, req.association_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&ASSOCIATION_FILTERS, &req.filters)?;
    dry_run_gate(ctx, None)?;
    let mut list = all(ctx, tx)?;
    if !ids.is_empty() {
        let missing: Vec<String> = ids.iter().filter(|id| !list.iter().any(|a| &a.id == *id)).cloned().collect();
        if !missing.is_empty() {
            return Err(super::common::not_found(IdKind::IamInstanceProfileAssociation, &missing).into());
        }
        list.retain(|a| ids.contains(&a.id));
    }
    list.retain(|a| ASSOCIATION_FILTERS.matches(a, &filters));
    let (page, next) = paginate(list, |a| a.id.clone(), req.max_results, req.next_token.as_deref(), &bounds())?;
    Ok(dto::DescribeIamInstanceProfileAssociationsResult {
        iam_instance_profile_associations: Some(page.iter().map(|a| association_dto(a, a.state)).collect()),
        next_token: next,
    })
}

pub fn replace_iam_instance_profile_association(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ReplaceIamInstanceProfileAssociationRequest,
) -> Result<dto::ReplaceIamInstanceProfileAssociationResult> {
    if let Some(id) = &req.association_id {
        well_formed(IdKind::IamInstanceProfileAssociation, std::slice::from_ref(id))?;
    }
    let profile = profile(ctx, req.iam_instance_profile.as_ref())?;
    dry_run_gate(ctx, None)?;
    let old = one_association(ctx, tx, req.association_id.as_deref())?;
    let mut inst = one_instance(ctx, tx, &old.instance_id)?;
    tx.delete::<Association>(ctx.scope.key(), &old.id)?;
    let a = associate(ctx, tx, &mut inst, profile)?;
    save(ctx, tx, &inst)?;
    Ok(dto::ReplaceIamInstanceProfileAssociationResult {
        iam_instance_profile_association: Some(association_dto(&a, AssociationState::Associating)),
    })
}

pub fn disassociate_iam_instance_profile(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DisassociateIamInstanceProfileRequest,
) -> Result<dto::DisassociateIamInstanceProfileResult> {
    if let Some(id) = &req.association_id {
        well_formed(IdKind::IamInstanceProfileAssociation, std::slice::from_ref(id))?;
    }
    dry_run_gate(ctx, None)?;
    let a = one_association(ctx, tx, req.association_id.as_deref())?;
    let mut inst = one_instance(ctx, tx, &a.instance_id)?;
    inst.attributes.iam_profile = None;
    save(ctx, tx, &inst)?;
    tx.delete::<Association>(ctx.scope.key(), &a.id)?;
    Ok(dto::DisassociateIamInstanceProfileResult {
        iam_instance_profile_association: Some(association_dto(&a, AssociationState::Disassociating)),
    })
}
