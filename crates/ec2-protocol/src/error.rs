//! EC2 errors on the wire: a code from the table in [`crate::codes`], a message, and the code's HTTP
//! status, in the `Response/Errors/Error` envelope.

use crate::codes::Code;
use crate::decode::DecodeError;
use crate::xml::XmlWriter;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub code: Code,
    pub message: String,
}

impl Ec2Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Ec2Error { code, message: message.into() }
    }

    /// The HTTP status of the error's code.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn missing_parameter(param: &str) -> Self {
        Self::new(Code::MissingParameter, format!("The request must contain the parameter {param}"))
    }

    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidParameterValue, message)
    }

    pub fn invalid_action(action: &str) -> Self {
        Self::new(Code::InvalidAction, format!("The action {action} is not valid for this web service."))
    }

    /// A real EC2 operation this server does not implement yet: 400, so clients do not retry it.
    pub fn not_implemented(action: &str) -> Self {
        Self::new(
            Code::NotImplemented,
            format!("The operation {action} is a valid EC2 operation, but ec2d does not implement it yet."),
        )
    }

    pub fn dry_run_operation() -> Self {
        Self::new(Code::DryRunOperation, "Request would have succeeded, but DryRun flag is set.")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::InternalError, message)
    }

    /// The error body AWS sends: no namespace, `RequestID` with a capital ID.
    pub fn to_xml(&self, request_id: &str) -> String {
        let mut w = XmlWriter::with_declaration();
        w.open("Response");
        w.open("Errors");
        w.open("Error");
        w.text("Code", self.code.as_str());
        w.text("Message", &self.message);
        w.close("Error");
        w.close("Errors");
        w.text("RequestID", request_id);
        w.close("Response");
        w.finish()
    }
}

impl From<DecodeError> for Ec2Error {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Missing { param } => Ec2Error::missing_parameter(&param),
            DecodeError::Invalid { param, value, expected } => Ec2Error::invalid_parameter_value(format!(
                "Value ({value}) for parameter {param} is invalid. Expected {expected}."
            )),
        }
    }
}

impl std::fmt::Display for Ec2Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Ec2Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_has_its_codes_status() {
        assert_eq!(Ec2Error::not_implemented("CreateVolume").status(), 400);
        assert_eq!(Ec2Error::dry_run_operation().status(), 412);
    }

    #[test]
    fn envelope_shape() {
        let xml = Ec2Error::new(Code::InvalidInstanceIdNotFound, "The instance ID 'i-1' does not exist").to_xml("rid");
        assert!(xml.ends_with("<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID &apos;i-1&apos; does not exist</Message></Error></Errors><RequestID>rid</RequestID></Response>"));
    }
}
