//! Domain errors to EC2 error codes: the one place where the domain core's refusals get their wire
//! code and message.

use ec2_core::capacity_reservations::pools::CapacityError;
use ec2_core::capacity_reservations::CrError;
use ec2_core::instances::LifecycleError;
use ec2_core::launch::LaunchError;
use ec2_core::network::NetError;
use ec2_core::network_interfaces::EniError;
use ec2_protocol::{Code, Ec2Error};

pub fn lifecycle(e: LifecycleError) -> Ec2Error {
    match e {
        LifecycleError::IncorrectState { message, .. } => Ec2Error::new(Code::IncorrectInstanceState, message),
        LifecycleError::InstanceStoreRoot { id, verb } => Ec2Error::new(
            Code::UnsupportedOperation,
            format!("The instance '{id}' does not have an 'ebs' root device type and cannot be {verb}."),
        ),
        LifecycleError::StopProtected { id } => Ec2Error::new(
            Code::OperationNotPermitted,
            format!(
                "The instance '{id}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again."
            ),
        ),
        LifecycleError::TerminationProtected { id, attribute } => Ec2Error::new(
            Code::OperationNotPermitted,
            format!(
                "The instance '{id}' may not be terminated. Modify its '{attribute}' instance attribute and try again."
            ),
        ),
        LifecycleError::HibernationNotConfigured { id } => Ec2Error::new(
            Code::UnsupportedHibernationConfiguration,
            format!("The instance '{id}' cannot be hibernated because it was not launched with hibernation enabled."),
        ),
    }
}

pub fn network(e: NetError) -> Ec2Error {
    use NetError as N;
    match e {
        N::InvalidCidr { cidr, param } => Ec2Error::new(
            Code::InvalidParameterValue,
            format!("Value ({cidr}) for parameter {param} is invalid. This is not a valid CIDR block."),
        ),
        N::VpcRange { cidr } => Ec2Error::new(Code::InvalidVpcRange, format!("The CIDR '{cidr}' is invalid.")),
        N::SubnetRange { cidr } => Ec2Error::new(Code::InvalidSubnetRange, format!("The CIDR '{cidr}' is invalid.")),
        N::SubnetConflict { cidr } => {
            Ec2Error::new(Code::InvalidSubnetConflict, format!("The CIDR '{cidr}' conflicts with another subnet"))
        }
        N::CidrLimit { vpc } => Ec2Error::new(
            Code::CidrLimitExceeded,
            format!("This network '{vpc}' has met its maximum number of allowed CIDRs: 5"),
        ),
        N::CidrConflict { cidr, vpc } => Ec2Error::new(
            Code::CidrConflict,
            format!("The CIDR '{cidr}' overlaps with a CIDR block of the network '{vpc}'."),
        ),
        N::CidrAssociationNotFound { association_id } => Ec2Error::new(
            Code::InvalidVpcCidrBlockAssociationIdNotFound,
            format!("The vpc CIDR block association ID '{association_id}' does not exist"),
        ),
        N::PrimaryCidr { association_id, vpc } => Ec2Error::new(
            Code::OperationNotPermitted,
            format!(
                "The vpc CIDR block with association ID {association_id} may not be disassociated. It is the primary IPv4 CIDR block of the VPC {vpc}."
            ),
        ),
        N::CidrInUse { association_id } => Ec2Error::new(
            Code::DependencyViolation,
            format!("The vpc CIDR block with association ID {association_id} has dependencies and cannot be disassociated."),
        ),
        N::Dependency { kind, id } => Ec2Error::new(
            Code::DependencyViolation,
            format!("The {kind} '{id}' has dependencies and cannot be deleted."),
        ),
        N::DefaultVpcExists => Ec2Error::new(
            Code::DefaultVpcAlreadyExists,
            "A Default VPC already exists for this account in this region.",
        ),
        N::NoDefaultVpc => {
            Ec2Error::new(Code::DefaultVpcDoesNotExist, "No default VPC exists for this account in this region.")
        }
        N::DefaultSubnetExists { zone } => Ec2Error::new(
            Code::DefaultSubnetAlreadyExistsInAvailabilityZone,
            format!("A Default Subnet already exists in availability zone {zone}."),
        ),
        N::AddressInUse { ip } => Ec2Error::new(Code::InvalidIpAddressInUse, format!("Address {ip} is in use.")),
        N::AddressOutsideSubnet { ip } => Ec2Error::new(
            Code::InvalidParameterValue,
            format!("Address {ip} does not fall within the subnet's address range"),
        ),
        N::AddressReserved { ip } => Ec2Error::new(
            Code::InvalidParameterValue,
            format!("Address {ip} is reserved by AWS and cannot be assigned."),
        ),
        N::SubnetFull { subnet } => Ec2Error::new(
            Code::InsufficientFreeAddressesInSubnet,
            format!("The subnet '{subnet}' does not have enough free addresses to satisfy the request."),
        ),
        N::InvalidProtocol { protocol } => Ec2Error::new(
            Code::InvalidParameterValue,
            format!("Invalid value '{protocol}' for IP protocol. Unknown protocol."),
        ),
        N::InvalidPorts { message } => Ec2Error::new(Code::InvalidParameterValue, message),
        N::DuplicatePermission { rule } => Ec2Error::new(
            Code::InvalidPermissionDuplicate,
            format!("the specified rule \"{rule}\" already exists"),
        ),
        N::PermissionNotFound => Ec2Error::new(
            Code::InvalidPermissionNotFound,
            "The specified rule does not exist in this security group.",
        ),
        N::RuleNotFound { id } => Ec2Error::new(
            Code::InvalidSecurityGroupRuleIdNotFound,
            format!("The security group rule ID '{id}' does not exist"),
        ),
        N::RuleLimit => Ec2Error::new(
            Code::RulesPerSecurityGroupLimitExceeded,
            "The maximum number of rules per security group has been reached.",
        ),
        N::DuplicateGroup { name, vpc } => Ec2Error::new(
            Code::InvalidGroupDuplicate,
            format!("The security group '{name}' already exists for VPC '{vpc}'"),
        ),
        N::ReservedGroupName { name } if name == "default" => {
            Ec2Error::new(Code::InvalidGroupReserved, "The security group 'default' is reserved")
        }
        N::ReservedGroupName { name } if name.starts_with("sg-") => {
            Ec2Error::new(Code::InvalidParameterValue, "Group names may not be in the format sg-*.")
        }
        N::ReservedGroupName { name } => Ec2Error::new(
            Code::InvalidParameterValue,
            format!("Value ({name}) for parameter groupName is invalid. Group names must be 1 to 255 characters."),
        ),
        N::CannotDeleteDefaultGroup { id } => Ec2Error::new(
            Code::CannotDelete,
            format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
        ),
        N::AddressAssociated { allocation_id } => Ec2Error::new(
            Code::InvalidIpAddressInUse,
            format!("The address with allocation id [{allocation_id}] is in use."),
        ),
        N::AssociationNotFound { association_id } => Ec2Error::new(
            Code::InvalidAssociationIdNotFound,
            format!("The association ID '{association_id}' does not exist"),
        ),
        N::GatewayAttached { igw } => {
            Ec2Error::new(Code::ResourceAlreadyAssociated, format!("resource {igw} is already attached to a network"))
        }
        N::VpcHasGateway { vpc } => Ec2Error::new(
            Code::ResourceAlreadyAssociated,
            format!("Network {vpc} already has an internet gateway attached"),
        ),
        N::GatewayNotAttached { igw, vpc } => {
            Ec2Error::new(Code::GatewayNotAttached, format!("resource {igw} is not attached to network {vpc}"))
        }
        N::RouteExists { destination, .. } => Ec2Error::new(
            Code::RouteAlreadyExists,
            format!("The route identified by {destination} already exists."),
        ),
        N::RouteNotFound { table, destination } => Ec2Error::new(
            Code::InvalidRouteNotFound,
            format!("no route with destination-cidr-block {destination} in route table {table}"),
        ),
        N::LocalRoute { table, destination } => Ec2Error::new(
            Code::InvalidParameterValue,
            format!("cannot remove local route {destination} in route table {table}"),
        ),
        N::SubnetAssociated { subnet } => Ec2Error::new(
            Code::ResourceAlreadyAssociated,
            format!("the subnet {subnet} is already associated with a route table"),
        ),
    }
}

pub fn network_interface(e: EniError) -> Ec2Error {
    match e {
        EniError::InUse { id } => {
            Ec2Error::new(Code::InvalidNetworkInterfaceInUse, format!("Interface: [{id}] in use."))
        }
        EniError::NotAttached { attachment_id } => Ec2Error::new(
            Code::InvalidAttachmentIdNotFound,
            format!("Interface attachment '{attachment_id}' does not exist."),
        ),
        EniError::PrimaryInterface { id } => Ec2Error::new(
            Code::OperationNotPermitted,
            format!("The network interface '{id}' is the primary interface of its instance and cannot be detached."),
        ),
        EniError::PrimaryAddress { ip } => Ec2Error::new(
            Code::InvalidParameterValue,
            format!("The primary private IP address {ip} cannot be unassigned."),
        ),
        EniError::NotAssigned { ip, id } => Ec2Error::new(
            Code::InvalidParameterValue,
            format!("Some of the specified addresses are not assigned to interface {id}: {ip}"),
        ),
        EniError::TooManyAddresses { id } => Ec2Error::new(
            Code::PrivateIpAddressLimitExceeded,
            format!("Number of private addresses exceeds the limit for interface {id}."),
        ),
    }
}

pub fn unsupported(e: ec2_core::catalog::offerings::Unsupported) -> Ec2Error {
    use ec2_core::catalog::offerings::Unsupported;
    let message = match e {
        Unsupported::Zone { instance_type, zone, offered_in } => format!(
            "Your requested instance type ({instance_type}) is not supported in your requested Availability Zone \
             ({zone}). Please retry your request by not specifying an Availability Zone or choosing {}.",
            offered_in.join(", ")
        ),
        Unsupported::Region { .. } => "The requested configuration is currently not supported. Please check the \
                                       documentation for supported configurations."
            .to_string(),
    };
    Ec2Error::new(Code::Unsupported, message)
}

/// The capacity model's refusals.
pub fn capacity(e: CapacityError) -> Ec2Error {
    match e {
        CapacityError::InsufficientCapacity => {
            Ec2Error::new(Code::InsufficientInstanceCapacity, "Insufficient capacity.")
        }
        CapacityError::ReservationCapacityExceeded => Ec2Error::new(
            Code::ReservationCapacityExceeded,
            "The requested reservation does not have sufficient compatible and available capacity for this request.",
        ),
        CapacityError::PendingActivation => Ec2Error::new(
            Code::InvalidCapacityReservationStatePendingActivation,
            "Your Capacity Block is not active yet.",
        ),
    }
}

/// A Capacity Reservation's refusals of an action.
pub fn capacity_reservation(e: CrError) -> Ec2Error {
    match e {
        CrError::CapacityBlock { verb } => {
            Ec2Error::new(Code::UnsupportedOperation, format!("You can't {verb} a Capacity Block."))
        }
        CrError::Interruptible { verb } => Ec2Error::new(
            Code::UnsupportedOperation,
            format!(
                "You can't {verb} an interruptible Capacity Reservation directly; change the allocation of its source reservation with UpdateInterruptibleCapacityReservationAllocation."
            ),
        ),
        CrError::WrongState { id, state } => Ec2Error::new(
            Code::IncorrectState,
            format!("The Capacity Reservation {id} is in an incorrect state ('{}') for this operation.", state.name()),
        ),
        CrError::InCommitment { id, until } => Ec2Error::new(
            Code::IncorrectState,
            format!(
                "The Capacity Reservation {id} can't be cancelled before the end of its commitment duration ({}).",
                until.to_iso8601()
            ),
        ),
        CrError::HasAllocation { id } => Ec2Error::new(
            Code::IncorrectState,
            format!(
                "The Capacity Reservation {id} lends capacity to an interruptible Capacity Reservation. Set the allocation's target instance count to 0 first."
            ),
        ),
    }
}

/// An image that does not fit the launch's instance type or options.
pub fn launch(e: LaunchError) -> Ec2Error {
    match e {
        LaunchError::ArchitectureMismatch { instance_type, type_architectures, image, image_architecture } => {
            Ec2Error::invalid_parameter_value(format!(
                "The architecture '{type_architectures}' of the instance type '{instance_type}' does not match the architecture '{image_architecture}' of the image '{image}'."
            ))
        }
        LaunchError::RootDeviceUnsupported { instance_type, virtualization_type, root_device_type } => Ec2Error::new(
            Code::InvalidParameterCombination,
            format!(
                "The instance type '{instance_type}' does not support {virtualization_type} images with a root device of type '{root_device_type}'."
            ),
        ),
        LaunchError::StopProtectionInstanceStore { image } => Ec2Error::new(
            Code::InvalidParameterCombination,
            format!("Stop protection (DisableApiStop) is not supported for instance store-backed image '{image}'."),
        ),
        LaunchError::HibernationUnsupported { instance_type, image } => Ec2Error::new(
            Code::UnsupportedHibernationConfiguration,
            format!("Hibernation is not supported for instance type '{instance_type}' with image '{image}'."),
        ),
    }
}
