//! Domain errors to EC2 error codes: the one place where the domain core's refusals get their wire
//! code and message.

use ec2_core::capacity_reservations::pools::CapacityError;
use ec2_core::capacity_reservations::CrError;
use ec2_core::instances::LifecycleError;
use ec2_core::launch::LaunchError;
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
