//! The EC2 query protocol ("ec2" in botocore): the only crate that knows query strings and XML.
//!
//! - [`query`]: form and query-string pairs into a tree of dotted names.
//! - [`decode`]: the runtime the generated `FromQuery` impls call (scalars, lists, required members).
//! - [`xml`]: the XML writer and the runtime the generated `ToXml` impls call.
//! - [`codes`]: every error code with its HTTP status, one exhaustive table.
//! - [`error`]: [`Ec2Error`] and the `Response/Errors/Error` envelope.
//! - [`generated`]: DTOs, decoders, encoders and the operation table, written by `ec2-codegen` from the
//!   vendored botocore model. Never edit those files: change `model/ec2/` and run `cargo run -p ec2-codegen`.

pub mod codes;
pub mod decode;
pub mod error;
pub mod query;
pub mod xml;

#[cfg(feature = "wirecheck")]
pub mod wirecheck;

#[allow(clippy::all, non_snake_case, unused_imports)]
pub mod generated;

pub use codes::Code;
pub use error::Ec2Error;
pub use generated::ops::{is_operation, Request, Response, ALL_OPERATIONS, IMPLEMENTED_OPERATIONS};
pub use generated::types as dto;
pub use query::Node;

/// The XML namespace of every success response, with the trailing slash AWS writes.
pub const XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
/// The one API version this server speaks.
pub const API_VERSION: &str = "2016-11-15";

/// Writes a whole success response: `<{Action}Response xmlns=...><requestId>..</requestId>...`.
pub fn encode_response(response: &Response, request_id: &str) -> String {
    let mut w = xml::XmlWriter::with_declaration();
    let root = format!("{}Response", response.action());
    w.open_with_xmlns(&root, XMLNS);
    w.text("requestId", request_id);
    response.write_members(&mut w);
    w.close(&root);
    w.finish()
}
