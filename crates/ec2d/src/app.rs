//! The EC2 request pipeline, independent of HTTP:
//! pairs -> tree -> caller -> `Action` -> decode and validate -> service -> XML.

use std::sync::atomic::{AtomicU64, Ordering};

use ec2_core::bundle_tasks::BundleDurations;
use ec2_core::ids::IdGen;
use ec2_core::instances::Durations;
use ec2_core::spot::SpotDurations;
use ec2_core::Scope;
use ec2_protocol::{encode_response, is_operation, Ec2Error, Node, Request};
use ec2_store::Store;

use crate::clock::Clock;
use crate::config::Config;
use crate::service;

pub struct App {
    pub store: Store,
    pub clock: Clock,
    pub ids: IdGen,
    pub durations: Durations,
    pub bundle_durations: BundleDurations,
    pub spot_durations: SpotDurations,
    pub config: Config,
    /// Request IDs come from the seeded generator with a per-process counter: they need to be
    /// unique for logs, not across nodes, so they cost no store round trip.
    request_counter: AtomicU64,
}

/// A finished answer, before it becomes HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub request_id: String,
}

/// The default account of a caller whose access key is not a 12-digit account number.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The region of an unsigned request.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Who is calling, read from the SigV4 credential scope (`Authorization` header or the presigned
/// `X-Amz-Credential` parameter): the region is the scope's region; the account is the access key
/// itself when it is 12 digits (so `AWS_ACCESS_KEY_ID=111111111111` is account 111111111111), and
/// [`DEFAULT_ACCOUNT`] otherwise. Signatures are not verified yet.
pub fn caller_scope(authorization: Option<&str>, node: &Node) -> Scope {
    let credential = authorization
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|c| c.split([',', ' ']).next().unwrap_or(""))
        .or_else(|| node.get("X-Amz-Credential"));
    let mut parts = credential.unwrap_or("").split('/');
    let key = parts.next().unwrap_or("");
    let region = parts.nth(1).filter(|r| !r.is_empty()).unwrap_or(DEFAULT_REGION);
    let account = if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) { key } else { DEFAULT_ACCOUNT };
    Scope::new(account, region)
}

impl App {
    pub fn new(config: Config, store: Store) -> Result<App, String> {
        let virtual_start = ec2_time::parse_iso8601(&config.clock_start)
            .ok_or_else(|| format!("--clock-start {:?} is not an ISO 8601 timestamp", config.clock_start))?;
        let (durations, bundle_durations, spot_durations) = config.durations()?;
        Ok(App {
            durations,
            bundle_durations,
            spot_durations,
            store,
            clock: Clock { mode: config.clock, virtual_start },
            ids: IdGen::new(config.seed),
            config,
            request_counter: AtomicU64::new(0),
        })
    }

    pub fn next_request_id(&self) -> String {
        self.ids.request_id(self.request_counter.fetch_add(1, Ordering::Relaxed))
    }

    /// Handles one EC2 query request. `query` is the URL's query string and `form` the
    /// form-encoded body; their parameters are merged (the body wins on a duplicate).
    pub fn handle_ec2(&self, query: &[u8], form: &[u8], authorization: Option<&str>) -> Reply {
        let request_id = self.next_request_id();
        let mut pairs = Node::parse_form(query);
        pairs.extend(Node::parse_form(form));
        let node = Node::from_pairs(pairs);
        match self.run(&node, authorization, &request_id) {
            Ok(body) => Reply { status: 200, body, request_id },
            Err(e) => Reply { status: e.status, body: e.to_xml(&request_id), request_id },
        }
    }

    fn run(&self, node: &Node, authorization: Option<&str>, request_id: &str) -> Result<String, Ec2Error> {
        let action = match node.get("Action") {
            Some(a) if !a.is_empty() => a,
            _ => return Err(Ec2Error::new("MissingAction", "The request must contain the parameter Action")),
        };
        let request = match Request::decode(action, node) {
            Some(decoded) => decoded?,
            None if is_operation(action) => return Err(Ec2Error::not_implemented(action)),
            None => return Err(Ec2Error::invalid_action(action)),
        };
        let scope = caller_scope(authorization, node);
        let response = service::call(self, &scope, &request)?;
        Ok(encode_response(&response, request_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_scope_reads_the_credential() {
        let n = Node::default();
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(caller_scope(Some(auth), &n), Scope::new(DEFAULT_ACCOUNT, "eu-west-1"));
        let auth = "AWS4-HMAC-SHA256 Credential=123456789012/20240101/ap-south-1/ec2/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(caller_scope(Some(auth), &n), Scope::new("123456789012", "ap-south-1"));
        assert_eq!(caller_scope(None, &n), Scope::new(DEFAULT_ACCOUNT, DEFAULT_REGION));
        let presigned = Node::from_pairs([("X-Amz-Credential", "111111111111/20240101/us-west-2/ec2/aws4_request")]);
        assert_eq!(caller_scope(None, &presigned), Scope::new("111111111111", "us-west-2"));
    }
}
