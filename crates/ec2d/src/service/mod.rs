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

pub mod account_attributes;
pub mod addresses;
pub mod bundle_tasks;
pub mod capacity_blocks;
pub mod capacity_pools;
pub mod capacity_reservations;
pub mod catalog;
pub mod common;
pub mod credit_specifications;
pub mod due;
pub mod ebs_encryption;
pub mod errors;
pub mod events;
pub mod fleets;
pub mod hints;
pub mod iam_instance_profiles;
pub mod images;
pub mod instance_attributes;
pub mod instances;
pub mod internet_gateways;
pub mod key_pairs;
pub mod kinds;
pub mod launch;
pub mod launch_templates;
pub mod network_interfaces;
pub mod passwords;
pub mod regions;
pub mod route_tables;
pub mod security_groups;
pub mod snapshots;
pub mod spot;
pub mod spot_fleets;
pub mod state_changes;
pub mod subnets;
pub mod tags;
pub mod volumes;
pub mod vpcs;

/// The server's settings a handler needs, built once by the pipeline from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub ids: IdGen,
    pub durations: Durations,
    pub bundle_durations: BundleDurations,
    pub spot_durations: SpotDurations,
    pub cr_durations: CrDurations,
    pub storage_durations: ec2_core::volumes::StorageDurations,
    /// `--strict-images`.
    pub strict_images: bool,
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
    pub storage_durations: &'a ec2_core::volumes::StorageDurations,
    /// `--strict-images`: unknown AMI IDs are refused instead of launched as a generic image.
    pub strict_images: bool,
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
            storage_durations: &settings.storage_durations,
            strict_images: settings.strict_images,
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
) -> std::result::Result<Answer, Ec2Error> {
    // Only an engine that uses them gets hints: the memory and embedded engines' requests skip making them.
    let hints = if store.takes_hints() { hints::of(settings, scope, request) } else { Vec::new() };
    store
        .transact_hinted(&hints, |tx: &mut Txn<'_>| {
            permission.reset();
            let now = clock(tx)?;
            let ctx = Ctx { permission, ..Ctx::new(settings, scope, now) };
            due::catch_up(&ctx, tx)?;
            let response = match request {
                Request::DescribeInstances(r) => Answer::Instances(instances::describe_instances_listing(&ctx, tx, r)?),
                Request::RunInstances(r) => Answer::Launched(instances::run_instances_launched(&ctx, tx, r)?),
                _ => Answer::Response(Box::new(dispatch(&ctx, tx, request)?)),
            };
            // A handler that never reached the gate must not let a denied caller through: failing
            // here rolls the transaction back.
            if !permission.consulted() {
                permission.check()?;
            }
            Ok::<_, Error>(response)
        })
        .map_err(Ec2Error::from)
}

/// What a request's transaction answers: a result to encode, or (DescribeInstances, RunInstances) the
/// records to write the XML from once the transaction is over, without building the result's tree.
/// The result is boxed: `Response` is the size of the largest of EC2's results (kilobytes), and an
/// `Answer` is moved several times on its way out of the transaction (a light request's copies of it
/// were about 1,100 instructions).
pub enum Answer {
    Response(Box<Response>),
    Instances(instances::Listing),
    Launched(instances::Launched),
}

impl Answer {
    /// The whole XML answer.
    pub fn encode(self, request_id: &str) -> String {
        match self {
            Answer::Response(response) => ec2_protocol::encode_response(&response, request_id),
            Answer::Instances(listing) => listing.encode(request_id),
            Answer::Launched(launched) => launched.encode(request_id),
        }
    }
}

fn dispatch(ctx: &Ctx<'_>, tx: &mut Txn<'_>, request: &Request) -> Result<Response> {
    use Request as Q;
    use Response as A;
    Ok(match request {
        Q::AssignPrivateIpAddresses(r) => {
            A::AssignPrivateIpAddresses(network_interfaces::assign_private_ip_addresses(ctx, tx, r)?)
        }
        Q::AttachNetworkInterface(r) => {
            A::AttachNetworkInterface(network_interfaces::attach_network_interface(ctx, tx, r)?)
        }
        Q::CreateNetworkInterface(r) => {
            A::CreateNetworkInterface(network_interfaces::create_network_interface(ctx, tx, r)?)
        }
        Q::DeleteNetworkInterface(r) => {
            network_interfaces::delete_network_interface(ctx, tx, r).map(|()| A::DeleteNetworkInterface)?
        }
        Q::DescribeNetworkInterfaces(r) => {
            A::DescribeNetworkInterfaces(network_interfaces::describe_network_interfaces(ctx, tx, r)?)
        }
        Q::DetachNetworkInterface(r) => {
            network_interfaces::detach_network_interface(ctx, tx, r).map(|()| A::DetachNetworkInterface)?
        }
        Q::ModifyNetworkInterfaceAttribute(r) => network_interfaces::modify_network_interface_attribute(ctx, tx, r)
            .map(|()| A::ModifyNetworkInterfaceAttribute)?,
        Q::UnassignPrivateIpAddresses(r) => {
            network_interfaces::unassign_private_ip_addresses(ctx, tx, r).map(|()| A::UnassignPrivateIpAddresses)?
        }
        Q::AllocateAddress(r) => A::AllocateAddress(addresses::allocate_address(ctx, tx, r)?),
        Q::AssociateAddress(r) => A::AssociateAddress(addresses::associate_address(ctx, tx, r)?),
        Q::AssociateRouteTable(r) => A::AssociateRouteTable(route_tables::associate_route_table(ctx, tx, r)?),
        Q::AttachInternetGateway(r) => {
            internet_gateways::attach_internet_gateway(ctx, tx, r).map(|()| A::AttachInternetGateway)?
        }
        Q::CreateInternetGateway(r) => {
            A::CreateInternetGateway(internet_gateways::create_internet_gateway(ctx, tx, r)?)
        }
        Q::CreateRoute(r) => A::CreateRoute(route_tables::create_route(ctx, tx, r)?),
        Q::CreateRouteTable(r) => A::CreateRouteTable(route_tables::create_route_table(ctx, tx, r)?),
        Q::DeleteInternetGateway(r) => {
            internet_gateways::delete_internet_gateway(ctx, tx, r).map(|()| A::DeleteInternetGateway)?
        }
        Q::DeleteRoute(r) => route_tables::delete_route(ctx, tx, r).map(|()| A::DeleteRoute)?,
        Q::DeleteRouteTable(r) => route_tables::delete_route_table(ctx, tx, r).map(|()| A::DeleteRouteTable)?,
        Q::DescribeAccountAttributes(r) => {
            A::DescribeAccountAttributes(account_attributes::describe_account_attributes(ctx, tx, r)?)
        }
        Q::DescribeAddresses(r) => A::DescribeAddresses(addresses::describe_addresses(ctx, tx, r)?),
        Q::DescribeAddressesAttribute(r) => {
            A::DescribeAddressesAttribute(addresses::describe_addresses_attribute(ctx, tx, r)?)
        }
        Q::DescribeInternetGateways(r) => {
            A::DescribeInternetGateways(internet_gateways::describe_internet_gateways(ctx, tx, r)?)
        }
        Q::DescribeRouteTables(r) => A::DescribeRouteTables(route_tables::describe_route_tables(ctx, tx, r)?),
        Q::DetachInternetGateway(r) => {
            internet_gateways::detach_internet_gateway(ctx, tx, r).map(|()| A::DetachInternetGateway)?
        }
        Q::DisassociateAddress(r) => addresses::disassociate_address(ctx, tx, r).map(|()| A::DisassociateAddress)?,
        Q::DisassociateRouteTable(r) => {
            route_tables::disassociate_route_table(ctx, tx, r).map(|()| A::DisassociateRouteTable)?
        }
        Q::ReleaseAddress(r) => addresses::release_address(ctx, tx, r).map(|()| A::ReleaseAddress)?,
        Q::ReplaceRoute(r) => route_tables::replace_route(ctx, tx, r).map(|()| A::ReplaceRoute)?,
        Q::AssociateVpcCidrBlock(r) => A::AssociateVpcCidrBlock(vpcs::associate_vpc_cidr_block(ctx, tx, r)?),
        Q::AuthorizeSecurityGroupEgress(r) => {
            A::AuthorizeSecurityGroupEgress(security_groups::authorize_security_group_egress(ctx, tx, r)?)
        }
        Q::AuthorizeSecurityGroupIngress(r) => {
            A::AuthorizeSecurityGroupIngress(security_groups::authorize_security_group_ingress(ctx, tx, r)?)
        }
        Q::CreateDefaultSubnet(r) => A::CreateDefaultSubnet(subnets::create_default_subnet(ctx, tx, r)?),
        Q::CreateDefaultVpc(r) => A::CreateDefaultVpc(vpcs::create_default_vpc(ctx, tx, r)?),
        Q::CreateSecurityGroup(r) => A::CreateSecurityGroup(security_groups::create_security_group(ctx, tx, r)?),
        Q::CreateSubnet(r) => A::CreateSubnet(subnets::create_subnet(ctx, tx, r)?),
        Q::CreateVpc(r) => A::CreateVpc(vpcs::create_vpc(ctx, tx, r)?),
        Q::DeleteSecurityGroup(r) => A::DeleteSecurityGroup(security_groups::delete_security_group(ctx, tx, r)?),
        Q::DeleteSubnet(r) => subnets::delete_subnet(ctx, tx, r).map(|()| A::DeleteSubnet)?,
        Q::DeleteVpc(r) => vpcs::delete_vpc(ctx, tx, r).map(|()| A::DeleteVpc)?,
        Q::DescribeSecurityGroupRules(r) => {
            A::DescribeSecurityGroupRules(security_groups::describe_security_group_rules(ctx, tx, r)?)
        }
        Q::DescribeVpcAttribute(r) => A::DescribeVpcAttribute(vpcs::describe_vpc_attribute(ctx, tx, r)?),
        Q::DisassociateVpcCidrBlock(r) => A::DisassociateVpcCidrBlock(vpcs::disassociate_vpc_cidr_block(ctx, tx, r)?),
        Q::ModifySecurityGroupRules(r) => {
            A::ModifySecurityGroupRules(security_groups::modify_security_group_rules(ctx, tx, r)?)
        }
        Q::ModifySubnetAttribute(r) => {
            subnets::modify_subnet_attribute(ctx, tx, r).map(|()| A::ModifySubnetAttribute)?
        }
        Q::ModifyVpcAttribute(r) => vpcs::modify_vpc_attribute(ctx, tx, r).map(|()| A::ModifyVpcAttribute)?,
        Q::RevokeSecurityGroupEgress(r) => {
            A::RevokeSecurityGroupEgress(security_groups::revoke_security_group_egress(ctx, tx, r)?)
        }
        Q::RevokeSecurityGroupIngress(r) => {
            A::RevokeSecurityGroupIngress(security_groups::revoke_security_group_ingress(ctx, tx, r)?)
        }
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
        Q::DescribeImages(r) => A::DescribeImages(images::describe_images(ctx, tx, r)?),
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
        Q::ModifyPrivateDnsNameOptions(r) => {
            A::ModifyPrivateDnsNameOptions(instance_attributes::modify_private_dns_name_options(ctx, tx, r)?)
        }
        Q::ModifyInstanceMaintenanceOptions(r) => {
            A::ModifyInstanceMaintenanceOptions(instance_attributes::modify_instance_maintenance_options(ctx, tx, r)?)
        }
        Q::GetPasswordData(r) => A::GetPasswordData(passwords::get_password_data(ctx, tx, r)?),
        Q::DescribeInstanceCreditSpecifications(r) => A::DescribeInstanceCreditSpecifications(
            credit_specifications::describe_instance_credit_specifications(ctx, tx, r)?,
        ),
        Q::ModifyInstanceCreditSpecification(r) => A::ModifyInstanceCreditSpecification(
            credit_specifications::modify_instance_credit_specification(ctx, tx, r)?,
        ),
        Q::GetDefaultCreditSpecification(r) => {
            A::GetDefaultCreditSpecification(credit_specifications::get_default_credit_specification(ctx, tx, r)?)
        }
        Q::ModifyDefaultCreditSpecification(r) => {
            A::ModifyDefaultCreditSpecification(credit_specifications::modify_default_credit_specification(ctx, tx, r)?)
        }
        Q::ResetInstanceAttribute(r) => {
            instance_attributes::reset_instance_attribute(ctx, tx, r).map(|()| A::ResetInstanceAttribute)?
        }
        Q::DescribeRegions(r) => A::DescribeRegions(regions::describe_regions(ctx, r)?),
        Q::DescribeSecurityGroups(r) => {
            A::DescribeSecurityGroups(security_groups::describe_security_groups(ctx, tx, r)?)
        }
        Q::DescribeSpotInstanceRequests(r) => {
            A::DescribeSpotInstanceRequests(spot::describe_spot_instance_requests(ctx, tx, r)?)
        }
        Q::DescribeSpotPriceHistory(r) => A::DescribeSpotPriceHistory(spot::describe_spot_price_history(ctx, r)?),
        Q::DescribeSubnets(r) => A::DescribeSubnets(subnets::describe_subnets(ctx, tx, r)?),
        Q::DescribeTags(r) => A::DescribeTags(tags::describe_tags(ctx, tx, r)?),
        Q::DescribeVpcs(r) => A::DescribeVpcs(vpcs::describe_vpcs(ctx, tx, r)?),
        Q::RebootInstances(r) => instances::reboot_instances(ctx, tx, r).map(|()| A::RebootInstances)?,
        Q::RequestSpotInstances(r) => A::RequestSpotInstances(spot::request_spot_instances(ctx, tx, r)?),
        Q::CreateFleet(r) => A::CreateFleet(fleets::create_fleet(ctx, tx, r)?),
        Q::DescribeFleets(r) => A::DescribeFleets(fleets::describe_fleets(ctx, tx, r)?),
        Q::DescribeFleetInstances(r) => A::DescribeFleetInstances(fleets::describe_fleet_instances(ctx, tx, r)?),
        Q::DescribeFleetHistory(r) => A::DescribeFleetHistory(fleets::describe_fleet_history(ctx, tx, r)?),
        Q::ModifyFleet(r) => A::ModifyFleet(fleets::modify_fleet(ctx, tx, r)?),
        Q::DeleteFleets(r) => A::DeleteFleets(fleets::delete_fleets(ctx, tx, r)?),
        Q::RequestSpotFleet(r) => A::RequestSpotFleet(spot_fleets::request_spot_fleet(ctx, tx, r)?),
        Q::DescribeSpotFleetRequests(r) => {
            A::DescribeSpotFleetRequests(spot_fleets::describe_spot_fleet_requests(ctx, tx, r)?)
        }
        Q::DescribeSpotFleetInstances(r) => {
            A::DescribeSpotFleetInstances(spot_fleets::describe_spot_fleet_instances(ctx, tx, r)?)
        }
        Q::DescribeSpotFleetRequestHistory(r) => {
            A::DescribeSpotFleetRequestHistory(spot_fleets::describe_spot_fleet_request_history(ctx, tx, r)?)
        }
        Q::ModifySpotFleetRequest(r) => A::ModifySpotFleetRequest(spot_fleets::modify_spot_fleet_request(ctx, tx, r)?),
        Q::CancelSpotFleetRequests(r) => {
            A::CancelSpotFleetRequests(spot_fleets::cancel_spot_fleet_requests(ctx, tx, r)?)
        }
        Q::RunInstances(r) => A::RunInstances(instances::run_instances(ctx, tx, r)?),
        Q::StartInstances(r) => A::StartInstances(instances::start_instances(ctx, tx, r)?),
        Q::StopInstances(r) => A::StopInstances(instances::stop_instances(ctx, tx, r)?),
        Q::TerminateInstances(r) => A::TerminateInstances(instances::terminate_instances(ctx, tx, r)?),
        Q::CreateLaunchTemplate(r) => A::CreateLaunchTemplate(launch_templates::create_launch_template(ctx, tx, r)?),
        Q::CreateLaunchTemplateVersion(r) => {
            A::CreateLaunchTemplateVersion(launch_templates::create_launch_template_version(ctx, tx, r)?)
        }
        Q::DeleteLaunchTemplate(r) => A::DeleteLaunchTemplate(launch_templates::delete_launch_template(ctx, tx, r)?),
        Q::DeleteLaunchTemplateVersions(r) => {
            A::DeleteLaunchTemplateVersions(launch_templates::delete_launch_template_versions(ctx, tx, r)?)
        }
        Q::DescribeLaunchTemplateVersions(r) => {
            A::DescribeLaunchTemplateVersions(launch_templates::describe_launch_template_versions(ctx, tx, r)?)
        }
        Q::DescribeLaunchTemplates(r) => {
            A::DescribeLaunchTemplates(launch_templates::describe_launch_templates(ctx, tx, r)?)
        }
        Q::GetLaunchTemplateData(r) => {
            A::GetLaunchTemplateData(launch_templates::get_launch_template_data(ctx, tx, r)?)
        }
        Q::ModifyLaunchTemplate(r) => A::ModifyLaunchTemplate(launch_templates::modify_launch_template(ctx, tx, r)?),
        // Storage and images.
        Q::AttachVolume(r) => A::AttachVolume(volumes::attach_volume(ctx, tx, r)?),
        Q::CreateVolume(r) => A::CreateVolume(volumes::create_volume(ctx, tx, r)?),
        Q::DeleteVolume(r) => volumes::delete_volume(ctx, tx, r).map(|()| A::DeleteVolume)?,
        Q::DescribeVolumeAttribute(r) => A::DescribeVolumeAttribute(volumes::describe_volume_attribute(ctx, tx, r)?),
        Q::DescribeVolumeStatus(r) => A::DescribeVolumeStatus(volumes::describe_volume_status(ctx, tx, r)?),
        Q::DescribeVolumes(r) => A::DescribeVolumes(volumes::describe_volumes(ctx, tx, r)?),
        Q::DescribeVolumesModifications(r) => {
            A::DescribeVolumesModifications(volumes::describe_volumes_modifications(ctx, tx, r)?)
        }
        Q::DetachVolume(r) => A::DetachVolume(volumes::detach_volume(ctx, tx, r)?),
        Q::ModifyVolume(r) => A::ModifyVolume(volumes::modify_volume(ctx, tx, r)?),
        Q::ModifyVolumeAttribute(r) => {
            volumes::modify_volume_attribute(ctx, tx, r).map(|()| A::ModifyVolumeAttribute)?
        }
        Q::CopyImage(r) => A::CopyImage(images::copy_image(ctx, tx, r)?),
        Q::CreateImage(r) => A::CreateImage(images::create_image(ctx, tx, r)?),
        Q::DeregisterImage(r) => A::DeregisterImage(images::deregister_image(ctx, tx, r)?),
        Q::DescribeImageAttribute(r) => A::DescribeImageAttribute(images::describe_image_attribute(ctx, tx, r)?),
        Q::ModifyImageAttribute(r) => images::modify_image_attribute(ctx, tx, r).map(|()| A::ModifyImageAttribute)?,
        Q::RegisterImage(r) => A::RegisterImage(images::register_image(ctx, tx, r)?),
        Q::ResetImageAttribute(r) => images::reset_image_attribute(ctx, tx, r).map(|()| A::ResetImageAttribute)?,
        Q::CopySnapshot(r) => A::CopySnapshot(snapshots::copy_snapshot(ctx, tx, r)?),
        Q::CreateSnapshot(r) => A::CreateSnapshot(snapshots::create_snapshot(ctx, tx, r)?),
        Q::CreateSnapshots(r) => A::CreateSnapshots(snapshots::create_snapshots(ctx, tx, r)?),
        Q::DeleteSnapshot(r) => snapshots::delete_snapshot(ctx, tx, r).map(|()| A::DeleteSnapshot)?,
        Q::DescribeSnapshotAttribute(r) => {
            A::DescribeSnapshotAttribute(snapshots::describe_snapshot_attribute(ctx, tx, r)?)
        }
        Q::DescribeSnapshots(r) => A::DescribeSnapshots(snapshots::describe_snapshots(ctx, tx, r)?),
        Q::ModifySnapshotAttribute(r) => {
            snapshots::modify_snapshot_attribute(ctx, tx, r).map(|()| A::ModifySnapshotAttribute)?
        }
        Q::ResetSnapshotAttribute(r) => {
            snapshots::reset_snapshot_attribute(ctx, tx, r).map(|()| A::ResetSnapshotAttribute)?
        }
        Q::DisableEbsEncryptionByDefault(r) => {
            A::DisableEbsEncryptionByDefault(ebs_encryption::disable_ebs_encryption_by_default(ctx, tx, r)?)
        }
        Q::EnableEbsEncryptionByDefault(r) => {
            A::EnableEbsEncryptionByDefault(ebs_encryption::enable_ebs_encryption_by_default(ctx, tx, r)?)
        }
        Q::GetEbsEncryptionByDefault(r) => {
            A::GetEbsEncryptionByDefault(ebs_encryption::get_ebs_encryption_by_default(ctx, tx, r)?)
        }
        Q::GetEbsDefaultKmsKeyId(r) => {
            A::GetEbsDefaultKmsKeyId(ebs_encryption::get_ebs_default_kms_key_id(ctx, tx, r)?)
        }
        Q::ModifyEbsDefaultKmsKeyId(r) => {
            A::ModifyEbsDefaultKmsKeyId(ebs_encryption::modify_ebs_default_kms_key_id(ctx, tx, r)?)
        }
        Q::ResetEbsDefaultKmsKeyId(r) => {
            A::ResetEbsDefaultKmsKeyId(ebs_encryption::reset_ebs_default_kms_key_id(ctx, tx, r)?)
        }
    })
}
