//! The service layer: one module per EC2 resource family. A handler takes the request context, the
//! open transaction and the decoded DTO, calls the domain core, and returns the response DTO.
//! Every request runs in exactly one store transaction, opened here.

use ec2_core::bundle_tasks::BundleDurations;
use ec2_core::capacity_reservations::CrDurations;
use ec2_core::filters::{self, FilterError, FilterTable};
use ec2_core::ids::IdGen;
use ec2_core::instances::Durations;
use ec2_core::spot::SpotDurations;
use ec2_core::{Scope, UnixMillis};
use ec2_protocol::{dto, Ec2Error, Request, Response};
use ec2_store::{Store, StoreError, Txn};

pub mod bundle_tasks;
pub mod capacity_blocks;
pub mod capacity_pools;
pub mod capacity_reservations;
pub mod catalog;
pub mod common;
pub mod errors;
pub mod iam_instance_profiles;
pub mod instance_attributes;
pub mod instances;
pub mod key_pairs;
pub mod kinds;
pub mod launch;
pub mod network;
pub mod regions;
pub mod spot;
pub mod tags;

/// The server's settings a handler needs, built once by the pipeline from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub ids: IdGen,
    pub durations: Durations,
    pub bundle_durations: BundleDurations,
    pub spot_durations: SpotDurations,
    pub cr_durations: CrDurations,
    /// The capacity of a pool without a setting of its own (`--pool-capacity`).
    pub pool_capacity: u64,
}

/// The permission gate's side of the caller's permission (the pipeline decides it; see
/// `identity::Permission`): [`dry_run_gate`] asks it, and [`call`] checks that it was asked.
pub trait Gate: Sync {
    /// `Err(UnauthorizedOperation)` when the caller is denied; records that the gate was reached.
    fn check(&self) -> std::result::Result<(), Ec2Error>;
    /// Whether [`Gate::check`] ran since the last [`Gate::reset`].
    fn consulted(&self) -> bool;
    /// Forgets that the gate was reached (a transaction that is run again starts over).
    fn reset(&self);
}

/// The permission of the server's own work (control endpoints, catching up with the clock), outside
/// IAM; a caller's request replaces it with the caller's.
struct Operator;

impl Gate for Operator {
    fn check(&self) -> std::result::Result<(), Ec2Error> {
        Ok(())
    }
    fn consulted(&self) -> bool {
        true
    }
    fn reset(&self) {}
}

static OPERATOR: Operator = Operator;

/// What a handler knows about its request.
pub struct Ctx<'a> {
    pub scope: &'a Scope,
    pub now: UnixMillis,
    pub ids: IdGen,
    pub durations: &'a Durations,
    pub bundle_durations: &'a BundleDurations,
    pub spot_durations: &'a SpotDurations,
    pub cr_durations: &'a CrDurations,
    /// The capacity of a pool without a setting of its own (`--pool-capacity`).
    pub pool_capacity: u64,
    /// The caller's permission for this request, which [`dry_run_gate`] answers with.
    pub permission: &'a dyn Gate,
}

impl<'a> Ctx<'a> {
    /// The context of a request in `scope` at `now`, with the server's settings and every action
    /// allowed ([`call`] puts the caller's permission in).
    pub fn new(settings: &'a Settings, scope: &'a Scope, now: UnixMillis) -> Self {
        Ctx {
            scope,
            now,
            ids: settings.ids,
            durations: &settings.durations,
            bundle_durations: &settings.bundle_durations,
            spot_durations: &settings.spot_durations,
            cr_durations: &settings.cr_durations,
            pool_capacity: settings.pool_capacity,
            permission: &OPERATOR,
        }
    }
}

/// The scope a store scope key (`account/region`) names.
pub fn scope_of_key(key: &str) -> Scope {
    let (account, region) = key.split_once('/').unwrap_or((key, ""));
    Scope::new(account, region)
}

/// A handler's failure: an EC2 error for the client, or a store failure (500).
#[derive(Debug)]
pub enum Error {
    Ec2(Ec2Error),
    Store(StoreError),
}

impl From<Ec2Error> for Error {
    fn from(e: Ec2Error) -> Self {
        Error::Ec2(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<Error> for Ec2Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Ec2(e) => e,
            Error::Store(e) => Ec2Error::internal(format!("An internal error has occurred ({e}).")),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The permission gate. Handlers call it after their syntax checks and before they look anything
/// up or change anything: a caller denied the action gets `UnauthorizedOperation` (with or without
/// `DryRun`), an allowed `DryRun` gets `DryRunOperation`, and otherwise the handler goes on. So a
/// malformed request is refused as malformed whoever calls, and a denied caller learns nothing about
/// which resources exist.
pub fn dry_run_gate(ctx: &Ctx<'_>, dry_run: Option<bool>) -> Result<()> {
    ctx.permission.check()?;
    if dry_run == Some(true) {
        Err(Ec2Error::dry_run_operation().into())
    } else {
        Ok(())
    }
}

/// The request's filters in domain form, checked against the resource's filter table.
pub fn filters<T>(table: &FilterTable<T>, filters: &Option<Vec<dto::Filter>>) -> Result<Vec<filters::Filter>> {
    let list: Vec<filters::Filter> = filters
        .iter()
        .flatten()
        .map(|f| filters::Filter {
            name: f.name.clone().unwrap_or_default(),
            values: f.values.clone().unwrap_or_default(),
        })
        .collect();
    table.validate(&list).map_err(|FilterError::UnknownFilter(name)| {
        Ec2Error::invalid_parameter_value(format!("The filter '{name}' is invalid"))
    })?;
    Ok(list)
}

/// Reads the time of a request inside its transaction (the pipeline's clock).
pub type ClockRead<'a> = &'a dyn Fn(&mut Txn<'_>) -> std::result::Result<UnixMillis, StoreError>;

/// Runs one decoded request in one transaction.
pub fn call(
    store: &Store,
    settings: &Settings,
    clock: ClockRead<'_>,
    scope: &Scope,
    request: &Request,
    permission: &dyn Gate,
) -> std::result::Result<Response, Ec2Error> {
    store
        .transact(|tx: &mut Txn<'_>| {
            permission.reset();
            let now = clock(tx)?;
            let ctx = Ctx { permission, ..Ctx::new(settings, scope, now) };
            spot::catch_up(&ctx, tx)?;
            capacity_reservations::catch_up(&ctx, tx)?;
            let response = dispatch(&ctx, tx, request)?;
            // A handler that never reached the gate must not let a denied caller through: failing
            // here rolls the transaction back.
            if !permission.consulted() {
                permission.check()?;
            }
            Ok::<_, Error>(response)
        })
        .map_err(Ec2Error::from)
}

fn dispatch(ctx: &Ctx<'_>, tx: &mut Txn<'_>, request: &Request) -> Result<Response> {
    use Request as Q;
    use Response as A;
    Ok(match request {
        Q::BundleInstance(r) => A::BundleInstance(bundle_tasks::bundle_instance(ctx, tx, r)?),
        Q::CancelBundleTask(r) => A::CancelBundleTask(bundle_tasks::cancel_bundle_task(ctx, tx, r)?),
        Q::CancelCapacityReservation(r) => {
            A::CancelCapacityReservation(capacity_reservations::cancel_capacity_reservation(ctx, tx, r)?)
        }
        Q::CreateCapacityReservation(r) => {
            A::CreateCapacityReservation(capacity_reservations::create_capacity_reservation(ctx, tx, r)?)
        }
        Q::CreateInterruptibleCapacityReservationAllocation(r) => A::CreateInterruptibleCapacityReservationAllocation(
            capacity_reservations::create_interruptible_capacity_reservation_allocation(ctx, tx, r)?,
        ),
        Q::DescribeCapacityBlockOfferings(r) => {
            A::DescribeCapacityBlockOfferings(capacity_blocks::describe_capacity_block_offerings(ctx, tx, r)?)
        }
        Q::DescribeCapacityReservations(r) => {
            A::DescribeCapacityReservations(capacity_reservations::describe_capacity_reservations(ctx, tx, r)?)
        }
        Q::GetCapacityReservationUsage(r) => {
            A::GetCapacityReservationUsage(capacity_reservations::get_capacity_reservation_usage(ctx, tx, r)?)
        }
        Q::ModifyCapacityReservation(r) => {
            A::ModifyCapacityReservation(capacity_reservations::modify_capacity_reservation(ctx, tx, r)?)
        }
        Q::PurchaseCapacityBlock(r) => A::PurchaseCapacityBlock(capacity_blocks::purchase_capacity_block(ctx, tx, r)?),
        Q::UpdateInterruptibleCapacityReservationAllocation(r) => A::UpdateInterruptibleCapacityReservationAllocation(
            capacity_reservations::update_interruptible_capacity_reservation_allocation(ctx, tx, r)?,
        ),
        Q::CancelSpotInstanceRequests(r) => {
            A::CancelSpotInstanceRequests(spot::cancel_spot_instance_requests(ctx, tx, r)?)
        }
        Q::CreateKeyPair(r) => A::CreateKeyPair(key_pairs::create_key_pair(ctx, tx, r)?),
        Q::ImportKeyPair(r) => A::ImportKeyPair(key_pairs::import_key_pair(ctx, tx, r)?),
        Q::DescribeKeyPairs(r) => A::DescribeKeyPairs(key_pairs::describe_key_pairs(ctx, tx, r)?),
        Q::DeleteKeyPair(r) => A::DeleteKeyPair(key_pairs::delete_key_pair(ctx, tx, r)?),
        Q::CreateTags(r) => tags::create_tags(ctx, tx, r).map(|()| A::CreateTags)?,
        Q::DeleteTags(r) => tags::delete_tags(ctx, tx, r).map(|()| A::DeleteTags)?,
        Q::DescribeBundleTasks(r) => A::DescribeBundleTasks(bundle_tasks::describe_bundle_tasks(ctx, tx, r)?),
        Q::DescribeAvailabilityZones(r) => A::DescribeAvailabilityZones(regions::describe_availability_zones(ctx, r)?),
        Q::DescribeImages(r) => A::DescribeImages(catalog::describe_images(ctx, r)?),
        Q::DescribeInstanceStatus(r) => A::DescribeInstanceStatus(instances::describe_instance_status(ctx, tx, r)?),
        Q::DescribeInstanceTypeOfferings(r) => {
            A::DescribeInstanceTypeOfferings(catalog::describe_instance_type_offerings(ctx, r)?)
        }
        Q::DescribeInstanceTypes(r) => A::DescribeInstanceTypes(catalog::describe_instance_types(ctx, r)?),
        Q::DescribeInstances(r) => A::DescribeInstances(instances::describe_instances(ctx, tx, r)?),
        Q::DescribeInstanceAttribute(r) => {
            A::DescribeInstanceAttribute(instance_attributes::describe_instance_attribute(ctx, tx, r)?)
        }
        Q::ModifyInstanceAttribute(r) => {
            instance_attributes::modify_instance_attribute(ctx, tx, r).map(|()| A::ModifyInstanceAttribute)?
        }
        Q::AssociateIamInstanceProfile(r) => {
            A::AssociateIamInstanceProfile(iam_instance_profiles::associate_iam_instance_profile(ctx, tx, r)?)
        }
        Q::DescribeIamInstanceProfileAssociations(r) => A::DescribeIamInstanceProfileAssociations(
            iam_instance_profiles::describe_iam_instance_profile_associations(ctx, tx, r)?,
        ),
        Q::ReplaceIamInstanceProfileAssociation(r) => A::ReplaceIamInstanceProfileAssociation(
            iam_instance_profiles::replace_iam_instance_profile_association(ctx, tx, r)?,
        ),
        Q::DisassociateIamInstanceProfile(r) => {
            A::DisassociateIamInstanceProfile(iam_instance_profiles::disassociate_iam_instance_profile(ctx, tx, r)?)
        }
        Q::MonitorInstances(r) => A::MonitorInstances(instance_attributes::monitor_instances(ctx, tx, r)?),
        Q::UnmonitorInstances(r) => A::UnmonitorInstances(instance_attributes::unmonitor_instances(ctx, tx, r)?),
        Q::GetConsoleOutput(r) => A::GetConsoleOutput(instance_attributes::get_console_output(ctx, tx, r)?),
        Q::ModifyInstanceMetadataOptions(r) => {
            A::ModifyInstanceMetadataOptions(instance_attributes::modify_instance_metadata_options(ctx, tx, r)?)
        }
        Q::ResetInstanceAttribute(r) => {
            instance_attributes::reset_instance_attribute(ctx, tx, r).map(|()| A::ResetInstanceAttribute)?
        }
        Q::DescribeRegions(r) => A::DescribeRegions(regions::describe_regions(ctx, r)?),
        Q::DescribeSecurityGroups(r) => A::DescribeSecurityGroups(network::describe_security_groups(ctx, tx, r)?),
        Q::DescribeSpotInstanceRequests(r) => {
            A::DescribeSpotInstanceRequests(spot::describe_spot_instance_requests(ctx, tx, r)?)
        }
        Q::DescribeSpotPriceHistory(r) => A::DescribeSpotPriceHistory(spot::describe_spot_price_history(ctx, r)?),
        Q::DescribeSubnets(r) => A::DescribeSubnets(network::describe_subnets(ctx, tx, r)?),
        Q::DescribeTags(r) => A::DescribeTags(tags::describe_tags(ctx, tx, r)?),
        Q::DescribeVpcs(r) => A::DescribeVpcs(network::describe_vpcs(ctx, tx, r)?),
        Q::RebootInstances(r) => instances::reboot_instances(ctx, tx, r).map(|()| A::RebootInstances)?,
        Q::RequestSpotInstances(r) => A::RequestSpotInstances(spot::request_spot_instances(ctx, tx, r)?),
        Q::RunInstances(r) => A::RunInstances(instances::run_instances(ctx, tx, r)?),
        Q::StartInstances(r) => A::StartInstances(instances::start_instances(ctx, tx, r)?),
        Q::StopInstances(r) => A::StopInstances(instances::stop_instances(ctx, tx, r)?),
        Q::TerminateInstances(r) => A::TerminateInstances(instances::terminate_instances(ctx, tx, r)?),
    })
}
