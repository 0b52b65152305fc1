//! Domain errors to EC2 error codes: the one place where the domain core's refusals get their wire
//! code and message.

use ec2_core::instances::LifecycleError;
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
