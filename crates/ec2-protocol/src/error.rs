//! EC2 errors on the wire: a code, a message and an HTTP status, in the `Response/Errors/Error`
//! envelope. EC2's model has no error shapes, so the status of each code is kept here by hand
//! (sources in ../shared/spec/aws-semantics.md section 1.6).

use std::borrow::Cow;

use crate::decode::DecodeError;
use crate::xml::XmlWriter;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub code: Cow<'static, str>,
    pub message: String,
    pub status: u16,
}

/// AWS's HTTP status for an error code: 4xx for client mistakes, 5xx for server-side conditions.
pub fn status_for(code: &str) -> u16 {
    match code {
        "AuthFailure" => 401,
        "UnauthorizedOperation" | "SignatureDoesNotMatch" | "InvalidClientTokenId" | "OptInRequired" => 403,
        "DryRunOperation" => 412,
        "InsufficientInstanceCapacity" | "InternalError" | "InternalFailure" | "ServerInternal" => 500,
        "RequestLimitExceeded" | "Unavailable" | "ServiceUnavailable" => 503,
        _ => 400,
    }
}

impl Ec2Error {
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        let code = code.into();
        let status = status_for(&code);
        Ec2Error { code, message: message.into(), status }
    }

    pub fn missing_parameter(param: &str) -> Self {
        Self::new("MissingParameter", format!("The request must contain the parameter {param}"))
    }

    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", message)
    }

    pub fn invalid_action(action: &str) -> Self {
        Self::new("InvalidAction", format!("The action {action} is not valid for this web service."))
    }

    /// A real EC2 operation this server does not implement yet: 400, so clients do not retry it.
    pub fn not_implemented(action: &str) -> Self {
        Self::new(
            "NotImplemented",
            format!("The operation {action} is a valid EC2 operation, but ec2d does not implement it yet."),
        )
    }

    pub fn dry_run_operation() -> Self {
        Self::new("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalError", message)
    }

    /// The error body AWS sends: no namespace, `RequestID` with a capital ID.
    pub fn to_xml(&self, request_id: &str) -> String {
        let mut w = XmlWriter::with_declaration();
        w.open("Response");
        w.open("Errors");
        w.open("Error");
        w.text("Code", &self.code);
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
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Ec2Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_spec_table() {
        assert_eq!(status_for("DryRunOperation"), 412);
        assert_eq!(status_for("UnauthorizedOperation"), 403);
        assert_eq!(status_for("AuthFailure"), 401);
        assert_eq!(status_for("InsufficientInstanceCapacity"), 500);
        assert_eq!(status_for("InvalidInstanceID.NotFound"), 400);
        assert_eq!(Ec2Error::not_implemented("CreateVolume").status, 400);
    }

    #[test]
    fn envelope_shape() {
        let xml = Ec2Error::new("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist").to_xml("rid");
        assert!(xml.ends_with("<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID &apos;i-1&apos; does not exist</Message></Error></Errors><RequestID>rid</RequestID></Response>"));
    }
}
