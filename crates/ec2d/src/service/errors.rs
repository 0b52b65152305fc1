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
