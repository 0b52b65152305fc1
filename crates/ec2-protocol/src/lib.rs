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
pub use query::{truncate_echo, LimitError, Limits, Node};

/// The XML namespace of every success response, with the trailing slash AWS writes.
pub const XMLNS: &str = xmlns!();

/// [`XMLNS`] as a literal, for [`response_opening!`].
#[doc(hidden)]
#[macro_export]
macro_rules! xmlns {
    () => {
        "http://ec2.amazonaws.com/doc/2016-11-15/"
    };
}

/// What [`open_response`] writes for the action `$action` (a literal) before the request ID's text, as
/// one literal: the declaration, the root with its namespace and `<requestId>`. A hand-written encoder
/// writes it as one piece of markup, then the ID, escaped, and `</requestId>`.
#[macro_export]
macro_rules! response_opening {
    ($action:literal) => {
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<",
            $action,
            "Response xmlns=\"",
            $crate::xmlns!(),
            "\"><requestId>"
        )
    };
}
/// The one API version this server speaks.
pub const API_VERSION: &str = "2016-11-15";

/// Every `Version` EC2's query API has had, oldest first. A request naming one of them is answered
/// in the shapes of [`API_VERSION`]; any other version is refused with `NoSuchVersion`, as EC2
/// refuses it.
pub const KNOWN_API_VERSIONS: &[&str] = &[
    "2006-06-26",
    "2006-10-01",
    "2007-01-03",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2008-02-01",
    "2008-05-05",
    "2008-08-08",
    "2008-12-01",
    "2009-03-01",
    "2009-04-04",
    "2009-07-15",
    "2009-08-15",
    "2009-10-31",
    "2009-11-30",
    "2010-06-15",
    "2010-08-31",
    "2010-11-15",
    "2011-01-01",
    "2011-02-28",
    "2011-05-15",
    "2011-07-15",
    "2011-11-01",
    "2011-12-01",
    "2011-12-15",
    "2012-03-01",
    "2012-04-01",
    "2012-05-01",
    "2012-06-01",
    "2012-06-15",
    "2012-07-20",
    "2012-08-15",
    "2012-10-01",
    "2012-12-01",
    "2013-02-01",
    "2013-06-15",
    "2013-07-15",
    "2013-08-15",
    "2013-10-01",
    "2013-10-15",
    "2014-02-01",
    "2014-05-01",
    "2014-06-15",
    "2014-09-01",
    "2014-10-01",
    "2015-03-01",
    "2015-04-15",
    "2015-10-01",
    "2016-04-01",
    "2016-09-15",
    "2016-11-15",
];

/// Writes a whole success response: `<{Action}Response xmlns=...><requestId>..</requestId>...`.
pub fn encode_response(response: &Response, request_id: &str) -> String {
    encode_response_with(response.action(), request_id, 0, |w| response.write_members(w))
}

/// Writes a whole success response of `action` whose members `members` writes (as the generated
/// `write_output_members` of the action's result would), in one buffer of at least `size_hint` bytes:
/// for answers written from records without building the result's tree first.
pub fn encode_response_with(
    action: &str,
    request_id: &str,
    size_hint: usize,
    members: impl FnOnce(&mut xml::XmlWriter),
) -> String {
    let mut w = xml::XmlWriter::default();
    w.reserve(size_hint);
    open_response(&mut w, action, request_id);
    members(&mut w);
    close_response(&mut w, action);
    w.finish()
}

/// The start of a success response of `action`, up to its `requestId`: what [`encode_response_with`]
/// writes before the members, for an answer written (and sent) in pieces.
pub fn open_response(w: &mut xml::XmlWriter, action: &str, request_id: &str) {
    w.declaration();
    w.open_response_root(action, XMLNS);
    w.text("requestId", request_id);
}

/// The end of a success response of `action`, after its members.
pub fn close_response(w: &mut xml::XmlWriter, action: &str) {
    w.close_response_root(action);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_literal_is_what_open_response_writes_before_the_id() {
        for id in ["", "4c8c1a8e-52b6-4a45-b8b8-1d6c0e5b1f0a", "a<b&'c'\r"] {
            let mut written = xml::XmlWriter::default();
            open_response(&mut written, "DescribeInstances", id);
            let mut literal = xml::XmlWriter::default();
            literal.markup(response_opening!("DescribeInstances"));
            literal.escaped(id);
            literal.markup("</requestId>");
            assert_eq!(literal.finish(), written.finish());
        }
        assert_eq!(xmlns!(), XMLNS);
    }
}
