//! Who is calling, and what they may do.
//!
//! Every EC2 request is signed with SigV4. Without `--credentials-file`, ec2d runs open, as
//! emulator users expect: the signature must be well formed, but any access key is accepted
//! without checking the signature, a 12-digit access key is its own account and any other key is
//! account [`DEFAULT_ACCOUNT`], and every action is allowed. With a credentials file, the file lists
//! the identities (access key, secret, account, IAM-style policy): a request must be signed by one
//! of them within [`SKEW_SECONDS`] of the wall clock, and its policy decides every action. The file
//! is read at startup (a bad file stops the server with a clear message) and read again when it
//! changes (a bad new version is reported and the previous identities stay in force).
//!
//! The file is JSON:
//!
//! ```json
//! {"Identities": [{"Name": "ops", "AccessKeyId": "AKIAOPS0000000000001", "SecretAccessKey": "s3cret",
//!   "AccountId": "111122223333",
//!   "Policy": {"Version": "2012-10-17", "Statement": [
//!     {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
//!     {"Effect": "Deny", "Action": "ec2:StopInstances", "Resource": "arn:aws:ec2:*:*:instance/*"}]}}]}
//! ```
//!
//! Policy evaluation follows IAM's rules for one identity-based policy: a request names an action
//! (`ec2:StopInstances`) and the resources it acts on, as ARNs built from the IDs in the request
//! (`arn:aws:ec2:<region>:<account>:instance/<id>`), or `*` for actions that name none. An explicit
//! `Deny` matching the action and any resource wins; otherwise every resource needs a matching
//! `Allow`; no matching statement means denied. `*` and `?` are wildcards in both `Action` (matched
//! without regard to case) and `Resource` patterns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use ec2_core::ids::IdKind;
use ec2_core::Scope;
use ec2_protocol::{Code, Ec2Error, Request};
use ec2_sigv4::HttpRequest;
use ec2_time::UnixMillis;

use crate::service::kinds;
use serde_json::{json, Map, Value};

/// The account of a caller whose access key is not a 12-digit account number (open mode).
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// How far a signed request's time may be from the server's wall clock.
pub const SKEW_SECONDS: i64 = 15 * 60;
/// The service name every credential scope must carry.
pub const SERVICE: &str = "ec2";
/// How often the credentials file is checked for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_millis(500);

// ---------------------------------------------------------------------------------------------
// Permission: the decision the service's gate answers with

/// The caller's permission for one request: decided before the handler runs, and answered by
/// `service::dry_run_gate`, which every handler calls after its syntax checks and before it looks
/// anything up or changes anything. It records whether the gate was reached, so that the service
/// can refuse a denied request even from a handler that never called the gate.
#[derive(Debug)]
pub struct Permission {
    denial: Option<Ec2Error>,
    consulted: AtomicBool,
}

impl Permission {
    /// Every action allowed.
    pub const fn allowed() -> Permission {
        Permission { denial: None, consulted: AtomicBool::new(false) }
    }

    /// Denied, with the `UnauthorizedOperation` error the caller gets.
    pub fn denied(error: Ec2Error) -> Permission {
        Permission { denial: Some(error), consulted: AtomicBool::new(false) }
    }

    pub fn is_allowed(&self) -> bool {
        self.denial.is_none()
    }

    /// The gate's answer: `Err(UnauthorizedOperation)` when denied.
    pub fn check(&self) -> Result<(), Ec2Error> {
        self.consulted.store(true, Ordering::Relaxed);
        match &self.denial {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Whether [`Permission::check`] ran since the last [`Permission::reset`].
    pub fn consulted(&self) -> bool {
        self.consulted.load(Ordering::Relaxed)
    }

    /// Forgets that the gate was reached (a transaction that is run again starts over).
    pub fn reset(&self) {
        self.consulted.store(false, Ordering::Relaxed);
    }
}

impl crate::service::Gate for Permission {
    fn check(&self) -> Result<(), Ec2Error> {
        Permission::check(self)
    }
    fn consulted(&self) -> bool {
        Permission::consulted(self)
    }
    fn reset(&self) {
        Permission::reset(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Policies

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    actions: Vec<String>,
    resources: Vec<String>,
}

impl Statement {
    fn matches(&self, action: &str, resource: &str) -> bool {
        self.actions.iter().any(|p| glob(p.as_bytes(), action.as_bytes(), true))
            && self.resources.iter().any(|p| glob(p.as_bytes(), resource.as_bytes(), false))
    }
}

/// An IAM-style identity policy: `Allow` and `Deny` statements over action and resource patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// What a policy says about one action on some resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No `Allow` statement covers `resource`.
    ImplicitDeny {
        resource: String,
    },
    /// A `Deny` statement (`sid`, when it has one) covers `resource`.
    ExplicitDeny {
        resource: String,
        sid: Option<String>,
    },
}

impl Policy {
    /// A policy that allows every action on every resource.
    pub fn allow_all() -> Policy {
        Policy {
            statements: vec![Statement {
                sid: None,
                effect: Effect::Allow,
                actions: vec!["*".into()],
                resources: vec!["*".into()],
            }],
        }
    }

    /// Parses a policy document; `at` names where it is, for error messages.
    pub fn from_json(doc: &Value, at: &str) -> Result<Policy, String> {
        let obj = doc.as_object().ok_or_else(|| format!("{at}: expected an object with a \"Statement\""))?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(format!("{at}.{key}: unknown policy element (known: Version, Id, Statement)"));
            }
        }
        if let Some(v) = obj.get("Version") {
            if !matches!(v.as_str(), Some("2012-10-17" | "2008-10-17")) {
                return Err(format!("{at}.Version: expected \"2012-10-17\", got {v}"));
            }
        }
        let statements = match obj.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
            Some(one @ Value::Object(_)) => vec![one],
            Some(other) => return Err(format!("{at}.Statement: expected a statement or a list of them, got {other}")),
            None => return Err(format!("{at}: a policy needs a \"Statement\"")),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| Statement::from_json(s, &format!("{at}.Statement[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { statements })
    }

    /// Decides `action` (`ec2:StopInstances`) on every one of `resources`: an explicit `Deny`
    /// wins, then every resource needs an `Allow`.
    pub fn decide(&self, action: &str, resources: &[String]) -> Decision {
        for resource in resources {
            if let Some(s) = self.statements.iter().find(|s| s.effect == Effect::Deny && s.matches(action, resource)) {
                return Decision::ExplicitDeny { resource: resource.clone(), sid: s.sid.clone() };
            }
        }
        for resource in resources {
            if !self.statements.iter().any(|s| s.effect == Effect::Allow && s.matches(action, resource)) {
                return Decision::ImplicitDeny { resource: resource.clone() };
            }
        }
        Decision::Allow
    }
}

fn string_or_list(
    v: Option<&Value>,
    at: &str,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, String> {
    let list: Vec<&Value> = match v {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(s @ Value::String(_)) => vec![s],
        Some(other) => return Err(format!("{at}: expected a string or a non-empty list of strings, got {other}")),
        None => return Err(format!("{at}: required")),
    };
    list.into_iter()
        .enumerate()
        .map(|(i, item)| {
            let s = item.as_str().ok_or_else(|| format!("{at}[{i}]: expected a string, got {item}"))?;
            check(s).map_err(|e| format!("{at}: {e}"))?;
            Ok(s.to_string())
        })
        .collect()
}

impl Statement {
    fn from_json(v: &Value, at: &str) -> Result<Statement, String> {
        let obj = v.as_object().ok_or_else(|| format!("{at}: expected an object, got {v}"))?;
        for key in obj.keys() {
            match key.as_str() {
                "Sid" | "Effect" | "Action" | "Resource" => {}
                "NotAction" | "NotResource" | "Condition" | "Principal" | "NotPrincipal" => {
                    return Err(format!("{at}.{key}: not supported by ec2d (use Effect, Action and Resource)"))
                }
                other => return Err(format!("{at}.{other}: unknown statement element")),
            }
        }
        let sid = match obj.get("Sid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(format!("{at}.Sid: expected a string, got {other}")),
        };
        let effect = match obj.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => {
                return Err(format!(
                    "{at}.Effect: expected \"Allow\" or \"Deny\", got {}",
                    obj.get("Effect").map_or("nothing".to_string(), Value::to_string)
                ))
            }
        };
        let actions = string_or_list(obj.get("Action"), &format!("{at}.Action"), |a| {
            let ok = a == "*" || a.split_once(':').is_some_and(|(svc, name)| !svc.is_empty() && !name.is_empty());
            if ok {
                Ok(())
            } else {
                Err(format!("'{a}' is not an action pattern such as \"ec2:StopInstances\", \"ec2:Describe*\" or \"*\""))
            }
        })?;
        let resources = string_or_list(obj.get("Resource"), &format!("{at}.Resource"), |r| {
            if r == "*" || r.starts_with("arn:") {
                Ok(())
            } else {
                Err(format!("'{r}' is neither \"*\" nor an ARN such as \"arn:aws:ec2:*:*:instance/*\""))
            }
        })?;
        Ok(Statement { sid, effect, actions, resources })
    }
}

/// Glob matching with `*` (any run, empty included) and `?` (any one character).
fn glob(pattern: &[u8], text: &[u8], ignore_case: bool) -> bool {
    let eq = |a: u8, b: u8| if ignore_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || (pattern[p] != b'*' && eq(pattern[p], text[t]))) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

// ---------------------------------------------------------------------------------------------
// The resources a request acts on

/// The ARNs of the resources `request` names, for policy evaluation: instances, images, subnets,
/// security groups and tagged resources by their IDs; `*` for actions that name none (every
/// `Describe*`), as IAM does for actions without resource-level permissions. One arm per implemented
/// operation and no wildcard arm: a new operation does not compile until it says what it acts on.
pub fn request_resources(scope: &Scope, request: &Request) -> Vec<String> {
    let arn = |kind: IdKind, id: &str| kinds::arn(scope, kind, id);
    let instances = |ids: &Option<Vec<String>>| ids.iter().flatten().map(|id| arn(IdKind::Instance, id)).collect();
    // A launch template named by its name is evaluated against `*` of its kind.
    let launch_template = |id: &Option<String>| match id.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => vec![arn(IdKind::LaunchTemplate, id)],
        None => vec![arn(IdKind::LaunchTemplate, "*")],
    };
    let key_pair = |name: &Option<String>| vec![arn(IdKind::KeyPair, name.as_deref().unwrap_or("*"))];
    let tagged = |ids: &Option<Vec<String>>| ids.iter().flatten().map(|id| tagged_resource(scope, id)).collect();
    let mut out: Vec<String> = match request {
        Request::StartInstances(r) => instances(&r.instance_ids),
        Request::StopInstances(r) => instances(&r.instance_ids),
        Request::TerminateInstances(r) => instances(&r.instance_ids),
        Request::RebootInstances(r) => instances(&r.instance_ids),
        Request::DescribeInstanceAttribute(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        Request::ModifyInstanceAttribute(r) => (r.instance_id.iter().map(|id| arn(IdKind::Instance, id)))
            .chain(r.groups.iter().flatten().map(|id| arn(IdKind::SecurityGroup, id)))
            .collect(),
        Request::MonitorInstances(r) => instances(&r.instance_ids),
        Request::AssociateIamInstanceProfile(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        // The association names its instance only through the store: `*`.
        Request::ReplaceIamInstanceProfileAssociation(_) | Request::DisassociateIamInstanceProfile(_) => {
            vec!["*".into()]
        }
        Request::UnmonitorInstances(r) => instances(&r.instance_ids),
        Request::GetConsoleOutput(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        Request::ModifyInstanceMetadataOptions(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        Request::ResetInstanceAttribute(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        Request::GetPasswordData(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        Request::ModifyPrivateDnsNameOptions(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        Request::ModifyInstanceMaintenanceOptions(r) => {
            r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect()
        }
        Request::ModifyInstanceCreditSpecification(r) => r
            .instance_credit_specifications
            .iter()
            .flatten()
            .filter_map(|c| c.instance_id.as_ref())
            .map(|id| arn(IdKind::Instance, id))
            .collect(),
        Request::DescribeInstanceCreditSpecifications(r) => instances(&r.instance_ids),
        // The account's defaults per instance family name no resource.
        Request::GetDefaultCreditSpecification(_) | Request::ModifyDefaultCreditSpecification(_) => Vec::new(),
        Request::BundleInstance(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        Request::CreateTags(r) => tagged(&r.resources),
        // Key pairs are named by name in their ARNs (`key-pair/{name}`); one named only by its ID
        // (DeleteKeyPair with KeyPairId) acts on `key-pair/*`.
        Request::CreateKeyPair(r) => key_pair(&r.key_name),
        Request::ImportKeyPair(r) => key_pair(&r.key_name),
        Request::DeleteKeyPair(r) => key_pair(&r.key_name),
        Request::DeleteTags(r) => tagged(&r.resources),
        Request::RunInstances(r) => {
            let mut v = vec![arn(IdKind::Instance, "*")];
            v.extend(r.image_id.iter().map(|id| arn(IdKind::Image, id)));
            v.extend(r.subnet_id.iter().map(|id| arn(IdKind::Subnet, id)));
            v.extend(r.security_group_ids.iter().flatten().map(|id| arn(IdKind::SecurityGroup, id)));
            v.extend(
                r.launch_template
                    .iter()
                    .filter_map(|t| t.launch_template_id.as_ref())
                    .map(|id| arn(IdKind::LaunchTemplate, id)),
            );
            v.extend(r.key_name.iter().map(|name| arn(IdKind::KeyPair, name)));
            v
        }
        // The network families: the resource the request acts on, or the kind's `*` when it creates one.
        Request::CreateVpc(_) | Request::CreateDefaultVpc(_) => vec![arn(IdKind::Vpc, "*")],
        Request::DeleteVpc(r) => r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)).collect(),
        Request::ModifyVpcAttribute(r) => r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)).collect(),
        Request::DescribeVpcAttribute(r) => r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)).collect(),
        Request::AssociateVpcCidrBlock(r) => r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)).collect(),
        Request::CreateSubnet(r) => {
            let mut v = vec![arn(IdKind::Subnet, "*")];
            v.extend(r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)));
            v
        }
        Request::CreateDefaultSubnet(_) => vec![arn(IdKind::Subnet, "*")],
        Request::DeleteSubnet(r) => r.subnet_id.iter().map(|id| arn(IdKind::Subnet, id)).collect(),
        Request::ModifySubnetAttribute(r) => r.subnet_id.iter().map(|id| arn(IdKind::Subnet, id)).collect(),
        Request::CreateSecurityGroup(r) => {
            let mut v = vec![arn(IdKind::SecurityGroup, "*")];
            v.extend(r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)));
            v
        }
        Request::DeleteSecurityGroup(r) => r.group_id.iter().map(|id| arn(IdKind::SecurityGroup, id)).collect(),
        Request::AuthorizeSecurityGroupIngress(r) => {
            r.group_id.iter().map(|id| arn(IdKind::SecurityGroup, id)).collect()
        }
        Request::AuthorizeSecurityGroupEgress(r) => {
            r.group_id.iter().map(|id| arn(IdKind::SecurityGroup, id)).collect()
        }
        Request::RevokeSecurityGroupIngress(r) => r.group_id.iter().map(|id| arn(IdKind::SecurityGroup, id)).collect(),
        Request::RevokeSecurityGroupEgress(r) => r.group_id.iter().map(|id| arn(IdKind::SecurityGroup, id)).collect(),
        Request::ModifySecurityGroupRules(r) => r.group_id.iter().map(|id| arn(IdKind::SecurityGroup, id)).collect(),
        // The association ID does not name its VPC: evaluated against `*`.
        Request::DisassociateVpcCidrBlock(_) => Vec::new(),
        Request::AllocateAddress(_) => vec![arn(IdKind::ElasticIp, "*")],
        Request::ReleaseAddress(r) => r.allocation_id.iter().map(|id| arn(IdKind::ElasticIp, id)).collect(),
        Request::AssociateAddress(r) => {
            let mut v: Vec<String> = r.allocation_id.iter().map(|id| arn(IdKind::ElasticIp, id)).collect();
            v.extend(r.instance_id.iter().map(|id| arn(IdKind::Instance, id)));
            v.extend(r.network_interface_id.iter().map(|id| arn(IdKind::NetworkInterface, id)));
            v
        }
        Request::CreateInternetGateway(_) => vec![arn(IdKind::InternetGateway, "*")],
        Request::DeleteInternetGateway(r) => {
            r.internet_gateway_id.iter().map(|id| arn(IdKind::InternetGateway, id)).collect()
        }
        Request::AttachInternetGateway(r) => {
            let mut v: Vec<String> = r.internet_gateway_id.iter().map(|id| arn(IdKind::InternetGateway, id)).collect();
            v.extend(r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)));
            v
        }
        Request::DetachInternetGateway(r) => {
            let mut v: Vec<String> = r.internet_gateway_id.iter().map(|id| arn(IdKind::InternetGateway, id)).collect();
            v.extend(r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)));
            v
        }
        Request::CreateRouteTable(r) => {
            let mut v = vec![arn(IdKind::RouteTable, "*")];
            v.extend(r.vpc_id.iter().map(|id| arn(IdKind::Vpc, id)));
            v
        }
        Request::DeleteRouteTable(r) => r.route_table_id.iter().map(|id| arn(IdKind::RouteTable, id)).collect(),
        Request::AssociateRouteTable(r) => {
            let mut v: Vec<String> = r.route_table_id.iter().map(|id| arn(IdKind::RouteTable, id)).collect();
            v.extend(r.subnet_id.iter().map(|id| arn(IdKind::Subnet, id)));
            v
        }
        Request::CreateRoute(r) => r.route_table_id.iter().map(|id| arn(IdKind::RouteTable, id)).collect(),
        Request::ReplaceRoute(r) => r.route_table_id.iter().map(|id| arn(IdKind::RouteTable, id)).collect(),
        Request::DeleteRoute(r) => r.route_table_id.iter().map(|id| arn(IdKind::RouteTable, id)).collect(),
        // These name an association, not its resource: evaluated against `*`.
        Request::DisassociateAddress(_) | Request::DisassociateRouteTable(_) => Vec::new(),
        Request::CreateNetworkInterface(r) => {
            let mut v = vec![arn(IdKind::NetworkInterface, "*")];
            v.extend(r.subnet_id.iter().map(|id| arn(IdKind::Subnet, id)));
            v
        }
        Request::DeleteNetworkInterface(r) => {
            r.network_interface_id.iter().map(|id| arn(IdKind::NetworkInterface, id)).collect()
        }
        Request::AttachNetworkInterface(r) => {
            let mut v: Vec<String> =
                r.network_interface_id.iter().map(|id| arn(IdKind::NetworkInterface, id)).collect();
            v.extend(r.instance_id.iter().map(|id| arn(IdKind::Instance, id)));
            v
        }
        Request::ModifyNetworkInterfaceAttribute(r) => {
            r.network_interface_id.iter().map(|id| arn(IdKind::NetworkInterface, id)).collect()
        }
        Request::AssignPrivateIpAddresses(r) => {
            r.network_interface_id.iter().map(|id| arn(IdKind::NetworkInterface, id)).collect()
        }
        Request::UnassignPrivateIpAddresses(r) => {
            r.network_interface_id.iter().map(|id| arn(IdKind::NetworkInterface, id)).collect()
        }
        Request::DetachNetworkInterface(_) => Vec::new(),
        Request::CreateLaunchTemplate(_) => vec![arn(IdKind::LaunchTemplate, "*")],
        Request::CreateLaunchTemplateVersion(r) => launch_template(&r.launch_template_id),
        Request::DeleteLaunchTemplate(r) => launch_template(&r.launch_template_id),
        Request::DeleteLaunchTemplateVersions(r) => launch_template(&r.launch_template_id),
        Request::ModifyLaunchTemplate(r) => launch_template(&r.launch_template_id),
        Request::GetLaunchTemplateData(r) => r.instance_id.iter().map(|id| arn(IdKind::Instance, id)).collect(),
        // Storage: the volumes (and instances) an action names.
        Request::AttachVolume(r) => {
            let mut v: Vec<String> = r.volume_id.iter().map(|id| arn(IdKind::Volume, id)).collect();
            v.extend(r.instance_id.iter().map(|id| arn(IdKind::Instance, id)));
            v
        }
        Request::DetachVolume(r) => {
            let mut v: Vec<String> = r.volume_id.iter().map(|id| arn(IdKind::Volume, id)).collect();
            v.extend(r.instance_id.iter().map(|id| arn(IdKind::Instance, id)));
            v
        }
        Request::CreateVolume(_) => vec![arn(IdKind::Volume, "*")],
        Request::DeleteVolume(r) => r.volume_id.iter().map(|id| arn(IdKind::Volume, id)).collect(),
        Request::ModifyVolume(r) => r.volume_id.iter().map(|id| arn(IdKind::Volume, id)).collect(),
        Request::ModifyVolumeAttribute(r) => r.volume_id.iter().map(|id| arn(IdKind::Volume, id)).collect(),
        Request::DescribeVolumeAttribute(r) => r.volume_id.iter().map(|id| arn(IdKind::Volume, id)).collect(),
        Request::CreateSnapshot(r) => {
            let mut v = vec![arn(IdKind::Snapshot, "*")];
            v.extend(r.volume_id.iter().map(|id| arn(IdKind::Volume, id)));
            v
        }
        Request::CreateSnapshots(r) => {
            let mut v = vec![arn(IdKind::Snapshot, "*")];
            v.extend(
                r.instance_specification.iter().flat_map(|s| s.instance_id.iter()).map(|id| arn(IdKind::Instance, id)),
            );
            v
        }
        Request::CreateImage(r) => {
            let mut v = vec![arn(IdKind::Image, "*"), arn(IdKind::Snapshot, "*")];
            v.extend(r.instance_id.iter().map(|id| arn(IdKind::Instance, id)));
            v
        }
        Request::RegisterImage(_) | Request::CopyImage(_) => vec![arn(IdKind::Image, "*")],
        Request::DeregisterImage(r) => r.image_id.iter().map(|id| arn(IdKind::Image, id)).collect(),
        Request::DescribeImageAttribute(r) => r.image_id.iter().map(|id| arn(IdKind::Image, id)).collect(),
        Request::ModifyImageAttribute(r) => r.image_id.iter().map(|id| arn(IdKind::Image, id)).collect(),
        Request::ResetImageAttribute(r) => r.image_id.iter().map(|id| arn(IdKind::Image, id)).collect(),
        Request::CopySnapshot(_) => vec![arn(IdKind::Snapshot, "*")],
        Request::DeleteSnapshot(r) => r.snapshot_id.iter().map(|id| arn(IdKind::Snapshot, id)).collect(),
        Request::DescribeSnapshotAttribute(r) => r.snapshot_id.iter().map(|id| arn(IdKind::Snapshot, id)).collect(),
        Request::ModifySnapshotAttribute(r) => r.snapshot_id.iter().map(|id| arn(IdKind::Snapshot, id)).collect(),
        Request::ResetSnapshotAttribute(r) => r.snapshot_id.iter().map(|id| arn(IdKind::Snapshot, id)).collect(),
        // Account settings name no resource.
        Request::EnableEbsEncryptionByDefault(_)
        | Request::DisableEbsEncryptionByDefault(_)
        | Request::GetEbsEncryptionByDefault(_)
        | Request::GetEbsDefaultKmsKeyId(_)
        | Request::ModifyEbsDefaultKmsKeyId(_)
        | Request::ResetEbsDefaultKmsKeyId(_)
        | Request::DescribeVolumes(_)
        | Request::DescribeVolumeStatus(_)
        | Request::DescribeVolumesModifications(_)
        | Request::DescribeSnapshots(_) => Vec::new(),
        // Fleets are named by their IDs; creating one and the reads name none.
        Request::DeleteFleets(r) => r.fleet_ids.iter().flatten().map(|id| arn(IdKind::Fleet, id)).collect(),
        Request::ModifyFleet(r) => r.fleet_id.iter().map(|id| arn(IdKind::Fleet, id)).collect(),
        Request::CancelSpotFleetRequests(r) => {
            r.spot_fleet_request_ids.iter().flatten().map(|id| arn(IdKind::SpotFleetRequest, id)).collect()
        }
        Request::ModifySpotFleetRequest(r) => {
            r.spot_fleet_request_id.iter().map(|id| arn(IdKind::SpotFleetRequest, id)).collect()
        }
        Request::CreateFleet(_)
        | Request::RequestSpotFleet(_)
        | Request::DescribeFleets(_)
        | Request::DescribeFleetInstances(_)
        | Request::DescribeFleetHistory(_)
        | Request::DescribeSpotFleetRequests(_)
        | Request::DescribeSpotFleetInstances(_)
        | Request::DescribeSpotFleetRequestHistory(_) => Vec::new(),
        // Spot, capacity-reservation and bundle-task actions are evaluated against `*` (README).
        Request::RequestSpotInstances(_)
        | Request::CancelSpotInstanceRequests(_)
        | Request::CancelBundleTask(_)
        | Request::CancelCapacityReservation(_)
        | Request::CreateCapacityReservation(_)
        | Request::ModifyCapacityReservation(_)
        | Request::CreateInterruptibleCapacityReservationAllocation(_)
        | Request::UpdateInterruptibleCapacityReservationAllocation(_)
        | Request::PurchaseCapacityBlock(_)
        | Request::GetCapacityReservationUsage(_) => Vec::new(),
        // Reads name no resource.
        Request::DescribeAvailabilityZones(_)
        | Request::DescribeIamInstanceProfileAssociations(_)
        | Request::DescribeBundleTasks(_)
        | Request::DescribeCapacityBlockOfferings(_)
        | Request::DescribeCapacityReservations(_)
        | Request::DescribeImages(_)
        | Request::DescribeInstanceStatus(_)
        | Request::DescribeInstanceTypeOfferings(_)
        | Request::DescribeInstanceTypes(_)
        | Request::DescribeInstances(_)
        | Request::DescribeKeyPairs(_)
        | Request::DescribeRegions(_)
        | Request::DescribeSecurityGroups(_)
        | Request::DescribeSecurityGroupRules(_)
        | Request::DescribeAccountAttributes(_)
        | Request::DescribeAddresses(_)
        | Request::DescribeAddressesAttribute(_)
        | Request::DescribeInternetGateways(_)
        | Request::DescribeRouteTables(_)
        | Request::DescribeNetworkInterfaces(_)
        | Request::DescribeSpotInstanceRequests(_)
        | Request::DescribeSpotPriceHistory(_)
        | Request::DescribeSubnets(_)
        | Request::DescribeTags(_)
        | Request::DescribeVpcs(_)
        | Request::DescribeLaunchTemplates(_)
        | Request::DescribeLaunchTemplateVersions(_) => Vec::new(),
    };
    if out.is_empty() {
        out.push("*".into());
    }
    out
}

/// The ARN of a resource named by its ID, from the kinds table; `*` for an ID of no known kind (the
/// handler refuses those IDs before it asks for permission).
fn tagged_resource(scope: &Scope, id: &str) -> String {
    match kinds::of_id(id) {
        Some(kind) => kinds::arn(scope, kind, id),
        None => "*".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Identities and callers

/// One identity of the credentials file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: Option<String>,
    pub access_key_id: String,
    secret_access_key: String,
    pub account_id: String,
    pub policy: Policy,
}

/// The identities of one version of the credentials file, by access key.
#[derive(Debug, Default)]
pub struct CredentialSet {
    by_key: HashMap<String, Arc<Identity>>,
}

impl CredentialSet {
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn get(&self, access_key: &str) -> Option<&Arc<Identity>> {
        self.by_key.get(access_key)
    }

    /// Parses the credentials file's text; the error names the element at fault.
    pub fn parse(text: &str) -> Result<CredentialSet, String> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| format!("not valid JSON (line {}, column {}): {e}", e.line(), e.column()))?;
        let obj = doc.as_object().ok_or("expected a JSON object with an \"Identities\" list")?;
        if let Some(key) = obj.keys().find(|k| *k != "Identities") {
            return Err(format!("{key}: unknown element (the file has one: Identities)"));
        }
        let list =
            obj.get("Identities").and_then(Value::as_array).ok_or("Identities: expected a list of identities")?;
        let mut by_key = HashMap::new();
        for (i, item) in list.iter().enumerate() {
            let at = format!("Identities[{i}]");
            let identity = Identity::from_json(item, &at)?;
            if by_key.contains_key(&identity.access_key_id) {
                return Err(format!("{at}.AccessKeyId: '{}' is listed more than once", identity.access_key_id));
            }
            by_key.insert(identity.access_key_id.clone(), Arc::new(identity));
        }
        Ok(CredentialSet { by_key })
    }
}

fn required_string<'v>(obj: &'v Map<String, Value>, key: &str, at: &str) -> Result<&'v str, String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(other) => Err(format!("{at}.{key}: expected a non-empty string, got {other}")),
        None => Err(format!("{at}.{key}: required")),
    }
}

impl Identity {
    fn from_json(v: &Value, at: &str) -> Result<Identity, String> {
        let obj = v.as_object().ok_or_else(|| format!("{at}: expected an object"))?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "Name" | "AccessKeyId" | "SecretAccessKey" | "AccountId" | "Policy") {
                return Err(format!(
                    "{at}.{key}: unknown element (known: Name, AccessKeyId, SecretAccessKey, AccountId, Policy)"
                ));
            }
        }
        let name = match obj.get("Name") {
            None => None,
            Some(_) => Some(required_string(obj, "Name", at)?.to_string()),
        };
        let key = required_string(obj, "AccessKeyId", at)?;
        if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=.@-".contains(&b)) {
            return Err(format!("{at}.AccessKeyId: '{key}' may hold only letters, digits and _+=.@-"));
        }
        let secret = required_string(obj, "SecretAccessKey", at)?;
        let account = required_string(obj, "AccountId", at)?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{at}.AccountId: '{account}' is not a 12-digit account ID"));
        }
        let policy = match obj.get("Policy") {
            Some(p) => Policy::from_json(p, &format!("{at}.Policy"))?,
            None => {
                return Err(format!(
                    "{at}.Policy: required (for full access: {{\"Statement\": \
                     [{{\"Effect\": \"Allow\", \"Action\": \"ec2:*\", \"Resource\": \"*\"}}]}})"
                ))
            }
        };
        Ok(Identity {
            name,
            access_key_id: key.to_string(),
            secret_access_key: secret.to_string(),
            account_id: account.to_string(),
            policy,
        })
    }
}

/// An identity's secret, shared rather than copied for each signature check.
struct Secret(Arc<Identity>);

impl AsRef<[u8]> for Secret {
    fn as_ref(&self) -> &[u8] {
        self.0.secret_access_key.as_bytes()
    }
}

/// A request's verified caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: String,
    pub region: String,
    /// The identity of the credentials file; `None` in open mode, where every action is allowed.
    pub identity: Option<Arc<Identity>>,
}

impl Caller {
    /// The (account, region) every resource of the request lives in.
    pub fn scope(&self) -> Scope {
        Scope::new(&self.account, &self.region)
    }

    /// Whether the caller may run `action` (the operation name, `StopInstances`) on `resources`.
    /// A denial carries AWS's `UnauthorizedOperation` with an encoded authorization failure
    /// message: base64 of a JSON account of the decision.
    pub fn authorize(&self, action: &str, resources: &[String]) -> Permission {
        self.authorize_action(&format!("{SERVICE}:{action}"), resources)
    }

    /// [`Caller::authorize`] with the resources made only when a policy is evaluated (open mode allows
    /// everything without them).
    pub fn authorize_lazily(&self, action: &str, resources: impl FnOnce() -> Vec<String>) -> Permission {
        match self.identity {
            None => Permission::allowed(),
            Some(_) => self.authorize(action, &resources()),
        }
    }

    /// Whether the caller may use a control endpoint: `action` is its [`control_action`] name
    /// (`ec2d:Reset`), on resource `*`. Open mode allows every one.
    pub fn authorize_control(&self, action: &str) -> Result<(), Ec2Error> {
        self.authorize_action(action, &["*".to_string()]).check()
    }

    fn authorize_action(&self, action: &str, resources: &[String]) -> Permission {
        let Some(identity) = &self.identity else { return Permission::allowed() };
        let action = action.to_string();
        let (resource, explicit, sid) = match identity.policy.decide(&action, resources) {
            Decision::Allow => return Permission::allowed(),
            Decision::ImplicitDeny { resource } => (resource, false, None),
            Decision::ExplicitDeny { resource, sid } => (resource, true, sid),
        };
        let user = identity.name.as_deref().unwrap_or(&identity.access_key_id);
        let failure = json!({
            "allowed": false,
            "explicitDeny": explicit,
            "matchedStatements": sid.map(|s| vec![json!({"statementId": s, "effect": "DENY"})]).unwrap_or_default(),
            "context": {
                "principal": {"id": identity.access_key_id, "arn": format!("arn:aws:iam::{}:user/{user}", identity.account_id)},
                "action": action,
                "resource": resource,
                "region": self.region,
            },
        });
        Permission::denied(Ec2Error::new(
            Code::UnauthorizedOperation,
            format!(
                "You are not authorized to perform this operation. Encoded authorization failure message: {}",
                base64(failure.to_string().as_bytes())
            ),
        ))
    }
}

/// Standard base64 with padding (RFC 4648), as the encoded authorization message uses it.
pub fn base64(data: &[u8]) -> String {
    ec2_core::text::base64_encode(data)
}

/// Whether `text` is an account ID: 12 digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The open-mode account of an access key: the key itself when it is 12 digits, else `default`
/// (`--default-account`, `000000000000` unless set).
pub fn open_account<'a>(access_key: &'a str, default: &'a str) -> &'a str {
    if is_account_id(access_key) {
        access_key
    } else {
        default
    }
}

/// The IAM action of a control endpoint (`method` and the path after `/_ec2d/`), which an
/// identity's policy must allow (on resource `*`) when a credentials file is in force.
pub fn control_action(method: &str, path: &str) -> &'static str {
    let segments: Vec<&str> = path.split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["health"]) => "ec2d:GetHealth",
        (_, ["reset"]) => "ec2d:Reset",
        ("GET", ["clock"]) => "ec2d:GetClock",
        (_, ["clock", "advance"]) => "ec2d:AdvanceClock",
        (_, ["instances", _, "hold-stopping"]) => "ec2d:HoldStopping",
        (_, ["instances", _, "release-stopping"]) => "ec2d:ReleaseStopping",
        (_, ["spot", "interrupt"]) => "ec2d:InterruptSpotInstances",
        (_, ["spot", "capacity"]) => "ec2d:SetSpotCapacity",
        ("GET", ["capacity"]) => "ec2d:GetCapacity",
        (_, ["capacity"]) => "ec2d:SetCapacity",
        (_, ["capacity-reservations", _, "delay"]) => "ec2d:DelayCapacityReservation",
        (_, ["capacity-reservations", _, "unsupported"]) => "ec2d:SetCapacityReservationUnsupported",
        (_, ["bundle-tasks", _, "fail"]) => "ec2d:FailBundleTask",
        ("GET", ["console", ..]) => "ec2d:ReadConsole",
        // any other path (a 404, or an endpoint added later without a name of its own)
        _ => "ec2d:Control",
    }
}

/// Whether a parameter's name is one of a presigned URL's that makes a request count as signed with
/// SigV4 (whose signature [`ec2_sigv4`] then reads from the query string).
pub fn is_presigning_name(name: &str) -> bool {
    name == "X-Amz-Algorithm" || name == "X-Amz-Signature"
}

/// The region a SigV2 request is for: the one its endpoint names (`ec2.<region>.amazonaws.com`,
/// `<region>.ec2.amazonaws.com`), else `us-east-1` (SigV2 has no credential scope).
pub fn region_of_host(host: &str) -> String {
    let name =
        host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(n, _)| n);
    let labels: Vec<&str> = name.split('.').collect();
    let region = match labels.as_slice() {
        ["ec2", region, "amazonaws", ..] | [region, "ec2", "amazonaws", ..] => Some(*region),
        _ => None,
    };
    region
        .filter(|r| {
            !r.is_empty()
                && r.len() <= 32
                && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        .unwrap_or("us-east-1")
        .to_string()
}

fn auth_error(e: ec2_sigv4::Error) -> Ec2Error {
    let code = match &e {
        ec2_sigv4::Error::Missing => Code::MissingParameter,
        ec2_sigv4::Error::Incomplete(_) => Code::IncompleteSignature,
        ec2_sigv4::Error::UnknownKey => Code::AuthFailure,
        ec2_sigv4::Error::Expired(_) => Code::RequestExpired,
        ec2_sigv4::Error::Mismatch(_) => Code::SignatureDoesNotMatch,
    };
    Ec2Error::new(code, e.message())
}

// ---------------------------------------------------------------------------------------------
// The identity source: open mode, or the credentials file (reloaded when it changes)

struct Loaded {
    text: Vec<u8>,
    set: Arc<CredentialSet>,
    /// The last text that failed to parse, so that a bad file is reported once.
    rejected: Option<Vec<u8>>,
}

enum Source {
    Open,
    File { path: PathBuf, current: RwLock<Loaded> },
}

/// Where callers' identities come from.
pub struct Identities {
    source: Source,
    /// The account of open-mode access keys that are not 12 digits (`--default-account`).
    default_account: String,
    /// Derived SigV4 signing keys, per (secret, date, region, service): every signature is still verified.
    keys: ec2_sigv4::KeyCache,
}

impl Identities {
    /// Open mode: any well-signed access key, every action allowed.
    pub fn open() -> Identities {
        Identities {
            source: Source::Open,
            default_account: DEFAULT_ACCOUNT.to_string(),
            keys: ec2_sigv4::KeyCache::new(),
        }
    }

    /// The same identities, with `account` as the open-mode account of keys that are not 12 digits.
    pub fn with_default_account(mut self, account: &str) -> Identities {
        self.default_account = account.to_string();
        self
    }

    /// Reads the credentials file; the error says what is wrong with it.
    pub fn load(path: &Path) -> Result<Identities, String> {
        let text = std::fs::read(path).map_err(|e| format!("--credentials-file {}: {e}", path.display()))?;
        let set = parse_file(path, &text)?;
        Ok(Identities {
            source: Source::File {
                path: path.to_path_buf(),
                current: RwLock::new(Loaded { text, set, rejected: None }),
            },
            default_account: DEFAULT_ACCOUNT.to_string(),
            keys: ec2_sigv4::KeyCache::new(),
        })
    }

    /// The identities of `--credentials-file`, or open mode without it.
    pub fn from_path(path: Option<&Path>) -> Result<Identities, String> {
        match path {
            Some(p) => Identities::load(p),
            None => Ok(Identities::open()),
        }
    }

    /// One line for the startup log.
    pub fn summary(&self) -> String {
        match &self.source {
            Source::Open => format!(
                "no --credentials-file: any access key is accepted without checking its signature \
                 (a 12-digit key is its own account, any other key is account {}) and every action is allowed",
                self.default_account
            ),
            Source::File { path, .. } => format!(
                "{} identities from {}: signatures are verified and each identity's policy decides every action",
                self.current().map_or(0, |s| s.len()),
                path.display()
            ),
        }
    }

    fn current(&self) -> Option<Arc<CredentialSet>> {
        match &self.source {
            Source::Open => None,
            Source::File { current, .. } => {
                Some(Arc::clone(&current.read().unwrap_or_else(std::sync::PoisonError::into_inner).set))
            }
        }
    }

    /// Verifies the request's signature and says who is calling. `now` reads the wall clock (the
    /// skew window is about real time, never the virtual clock): only when a signature is checked.
    pub fn authenticate(&self, req: &HttpRequest<'_>, now: impl Fn() -> UnixMillis) -> Result<Caller, Ec2Error> {
        match self.current() {
            // The signature's parts are read where they lie in the request: only what the caller
            // keeps is copied.
            None => ec2_sigv4::parse_then(req, |signed| {
                let c = signed.credential;
                Caller {
                    account: open_account(c.access_key, &self.default_account).to_string(),
                    region: c.region.to_string(),
                    identity: None,
                }
            })
            .map_err(auth_error),
            Some(set) => {
                let mut identity = None;
                let secret_of = |key: &str| {
                    identity = set.get(key).cloned();
                    identity.clone().map(Secret)
                };
                let region =
                    ec2_sigv4::verify_cached_then(req, SERVICE, now(), SKEW_SECONDS, secret_of, &self.keys, |signed| {
                        signed.credential.region.to_string()
                    })
                    .map_err(auth_error)?;
                let identity = identity.ok_or_else(|| auth_error(ec2_sigv4::Error::UnknownKey))?;
                Ok(Caller { account: identity.account_id.clone(), region, identity: Some(identity) })
            }
        }
    }

    /// Verifies a request signed with SigV4 (the `Authorization` header or a presigned query) or
    /// with SigV2 (`SignatureVersion=2` among `params`, the query's and the body's parameters), and
    /// says who is calling. A SigV2 request's region comes from its `Host` ([`region_of_host`]).
    pub fn authenticate_request(
        &self,
        req: &HttpRequest<'_>,
        params: &[(impl AsRef<str>, impl AsRef<str>)],
        now: impl Fn() -> UnixMillis,
    ) -> Result<Caller, Ec2Error> {
        let presigned = params.iter().any(|(k, _)| is_presigning_name(k.as_ref()));
        let owned = || params.iter().map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string())).collect();
        self.authenticate_read(req, presigned, owned, now)
    }

    /// [`Identities::authenticate_request`] of a request whose parameters were read without being kept
    /// in a list: `presigned` says whether one of their names is [`is_presigning_name`], and `params`
    /// gives them all, in order, when a request not signed with SigV4 needs them (SigV2's).
    pub fn authenticate_read(
        &self,
        req: &HttpRequest<'_>,
        presigned: bool,
        params: impl FnOnce() -> Vec<(String, String)>,
        now: impl Fn() -> UnixMillis,
    ) -> Result<Caller, Ec2Error> {
        if presigned || req.header("authorization").is_some() {
            return self.authenticate(req, now);
        }
        // Not signed in a header: the parameters as SigV2 reads them (copied: such a request is rare).
        let params = params();
        let params = params.as_slice();
        if !ec2_sigv4::v2::is_present(params) {
            return self.authenticate(req, now);
        }
        let host = req.header("host").map(|h| String::from_utf8_lossy(h).into_owned()).unwrap_or_default();
        let region = region_of_host(&host);
        match self.current() {
            None => {
                let signed = ec2_sigv4::v2::parse(params).map_err(auth_error)?;
                Ok(Caller {
                    account: open_account(&signed.access_key, &self.default_account).to_string(),
                    region,
                    identity: None,
                })
            }
            Some(set) => {
                let mut identity = None;
                ec2_sigv4::v2::verify(req.method, &host, req.path, params, now(), SKEW_SECONDS, |key| {
                    identity = set.get(key).cloned();
                    identity.as_ref().map(|i| i.secret_access_key.clone())
                })
                .map_err(auth_error)?;
                let identity = identity.ok_or_else(|| auth_error(ec2_sigv4::Error::UnknownKey))?;
                Ok(Caller { account: identity.account_id.clone(), region, identity: Some(identity) })
            }
        }
    }

    /// Whether a credentials file is in force (control endpoints then need a signed, allowed caller).
    pub fn is_secured(&self) -> bool {
        matches!(self.source, Source::File { .. })
    }

    /// Reads the credentials file again and, when its text changed and parses, puts the new
    /// identities in force. `Ok(true)` when they changed; `Err` (the previous identities stay) when
    /// the new text is bad, reported once per bad text.
    pub fn reload(&self) -> Result<bool, String> {
        let Source::File { path, current } = &self.source else { return Ok(false) };
        let text = std::fs::read(path).map_err(|e| format!("--credentials-file {}: {e}", path.display()))?;
        {
            let loaded = current.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if loaded.text == text || loaded.rejected.as_ref() == Some(&text) {
                return Ok(false);
            }
        }
        let mut loaded = current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match parse_file(path, &text) {
            Ok(set) => {
                *loaded = Loaded { text, set, rejected: None };
                Ok(true)
            }
            Err(e) => {
                loaded.rejected = Some(text);
                Err(e)
            }
        }
    }

    /// With a credentials file, starts a thread that checks it every `interval` and logs each
    /// reload or rejected version. The thread ends when the identities are dropped.
    pub fn watch(self: &Arc<Self>, interval: Duration) {
        if matches!(self.source, Source::Open) {
            return;
        }
        let weak: Weak<Identities> = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("ec2d-credentials".into()).spawn(move || {
            let mut last_error: Option<String> = None;
            loop {
                std::thread::sleep(interval);
                let Some(ids) = weak.upgrade() else { return };
                match ids.reload() {
                    Ok(true) => {
                        last_error = None;
                        eprintln!("ec2d: credentials reloaded: {}", ids.summary());
                    }
                    Ok(false) => {}
                    Err(e) if last_error.as_ref() != Some(&e) => {
                        eprintln!("ec2d: {e}; keeping the previous identities");
                        last_error = Some(e);
                    }
                    Err(_) => {}
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!("ec2d: cannot watch the credentials file for changes: {e}");
        }
    }
}

fn parse_file(path: &Path, text: &[u8]) -> Result<Arc<CredentialSet>, String> {
    let text = std::str::from_utf8(text).map_err(|_| format!("--credentials-file {}: not UTF-8", path.display()))?;
    CredentialSet::parse(text).map(Arc::new).map_err(|e| format!("--credentials-file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ec2_sigv4::Signer;

    fn policy(statements: Value) -> Policy {
        Policy::from_json(&json!({ "Version": "2012-10-17", "Statement": statements }), "Policy").unwrap()
    }

    fn policy_error(doc: Value) -> String {
        Policy::from_json(&doc, "Policy").unwrap_err()
    }

    const INSTANCE: &str = "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0";

    #[test]
    fn glob_wildcards() {
        assert!(glob(b"ec2:*", b"ec2:StopInstances", true));
        assert!(glob(b"ec2:describe*", b"ec2:DescribeInstances", true));
        assert!(!glob(b"ec2:describe*", b"ec2:DescribeInstances", false));
        assert!(glob(b"ec2:?topInstances", b"ec2:StopInstances", true));
        assert!(!glob(b"ec2:?topInstances", b"ec2:StartInstances", true));
        assert!(glob(b"*", b"", false));
        assert!(glob(b"a*b*c", b"aXXbYYbZc", false));
        assert!(!glob(b"a*b*c", b"aXXbYYbZ", false));
        assert!(glob(b"arn:aws:ec2:*:*:instance/*", INSTANCE.as_bytes(), false));
        assert!(!glob(b"arn:aws:ec2:*:*:instance/*", b"*", false));
    }

    #[test]
    fn no_allow_means_denied_and_an_explicit_deny_wins() {
        let resources = vec![INSTANCE.to_string()];
        let p = policy(json!([{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]));
        assert_eq!(p.decide("ec2:DescribeInstances", &["*".into()]), Decision::Allow);
        assert_eq!(p.decide("ec2:StopInstances", &resources), Decision::ImplicitDeny { resource: INSTANCE.into() });

        let p = policy(json!([
            {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            {"Sid": "NoStop", "Effect": "Deny", "Action": ["ec2:StopInstances"], "Resource": "*"},
        ]));
        assert_eq!(p.decide("ec2:StartInstances", &resources), Decision::Allow);
        assert_eq!(
            p.decide("ec2:StopInstances", &resources),
            Decision::ExplicitDeny { resource: INSTANCE.into(), sid: Some("NoStop".into()) }
        );
        // action names are matched without case
        assert!(matches!(p.decide("EC2:stopinstances", &resources), Decision::ExplicitDeny { .. }));
    }

    #[test]
    fn resource_patterns_select_resources() {
        let p = policy(json!([
            {"Effect": "Allow", "Action": "ec2:*Instances", "Resource": "arn:aws:ec2:us-east-1:111122223333:instance/*"},
            {"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "arn:aws:ec2:*:*:instance/i-0123456789abcdef0"},
        ]));
        let other = "arn:aws:ec2:us-east-1:111122223333:instance/i-0fedcba9876543210".to_string();
        assert_eq!(p.decide("ec2:StopInstances", &[INSTANCE.into(), other.clone()]), Decision::Allow);
        assert_eq!(p.decide("ec2:TerminateInstances", std::slice::from_ref(&other)), Decision::Allow);
        assert!(matches!(
            p.decide("ec2:TerminateInstances", &[other.clone(), INSTANCE.into()]),
            Decision::ExplicitDeny { resource, .. } if resource == INSTANCE
        ));
        // an instance in another account, and an action that names no resource (`*`), are not allowed
        let foreign = "arn:aws:ec2:us-east-1:444455556666:instance/i-0fedcba9876543210".to_string();
        assert!(matches!(p.decide("ec2:StopInstances", &[other, foreign]), Decision::ImplicitDeny { .. }));
        assert!(matches!(p.decide("ec2:DescribeInstances", &["*".into()]), Decision::ImplicitDeny { .. }));
    }

    #[test]
    fn bad_policies_are_explained() {
        assert!(policy_error(json!([])).contains("expected an object"));
        assert!(policy_error(json!({})).contains("needs a \"Statement\""));
        assert!(policy_error(json!({"Version": "2020-01-01", "Statement": []})).contains("Policy.Version"));
        assert!(policy_error(json!({"Statment": []})).contains("Policy.Statment: unknown policy element"));
        let one = |s: Value| policy_error(json!({ "Statement": [s] }));
        let e = one(json!({"Effect": "allow", "Action": "ec2:*", "Resource": "*"}));
        assert!(e.starts_with("Policy.Statement[0].Effect: expected \"Allow\" or \"Deny\""), "{e}");
        assert!(one(json!({"Effect": "Allow", "Resource": "*"})).contains("Statement[0].Action: required"));
        assert!(one(json!({"Effect": "Allow", "Action": [], "Resource": "*"})).contains("non-empty list"));
        assert!(one(json!({"Effect": "Allow", "Action": "StopInstances", "Resource": "*"}))
            .contains("not an action pattern"));
        assert!(one(json!({"Effect": "Allow", "Action": ["ec2:*", 3], "Resource": "*"})).contains("Action[1]"));
        assert!(one(json!({"Effect": "Allow", "Action": "ec2:*"})).contains("Resource: required"));
        assert!(one(json!({"Effect": "Allow", "Action": "ec2:*", "Resource": "i-123"})).contains("nor an ARN"));
        assert!(one(json!({"Effect": "Allow", "NotAction": "ec2:*", "Resource": "*"})).contains("not supported"));
        assert!(one(json!({"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {}}))
            .contains("not supported"));
        assert!(one(json!({"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Sid": 1})).contains("Sid"));
    }

    fn identity_json(key: &str, account: &str, statements: Value) -> Value {
        json!({"Name": "n", "AccessKeyId": key, "SecretAccessKey": format!("secret-of-{key}"), "AccountId": account,
               "Policy": {"Statement": statements}})
    }

    fn file(identities: Vec<Value>) -> String {
        json!({ "Identities": identities }).to_string()
    }

    #[test]
    fn bad_credentials_files_are_explained() {
        let err = |text: &str| CredentialSet::parse(text).unwrap_err();
        assert!(err("{").contains("not valid JSON (line 1, column 1)"));
        assert!(err("[]").contains("JSON object"));
        assert!(err(r#"{"Identities": [], "Extra": 1}"#).contains("Extra: unknown element"));
        assert!(err(r#"{"Identities": {}}"#).contains("Identities: expected a list"));
        let allow = json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]);
        let mut one = identity_json("AKIA1", "111122223333", allow.clone());
        one["AccountId"] = json!("1111");
        assert!(err(&file(vec![one])).contains("Identities[0].AccountId: '1111' is not a 12-digit account ID"));
        let mut one = identity_json("AKIA1", "111122223333", allow.clone());
        one.as_object_mut().unwrap().remove("SecretAccessKey");
        assert!(err(&file(vec![one])).contains("Identities[0].SecretAccessKey: required"));
        let mut one = identity_json("AKIA 1", "111122223333", allow.clone());
        assert!(err(&file(vec![one.clone()])).contains("AccessKeyId: 'AKIA 1'"));
        one = identity_json("AKIA1", "111122223333", allow.clone());
        one.as_object_mut().unwrap().remove("Policy");
        assert!(err(&file(vec![one])).contains("Identities[0].Policy: required"));
        let twice =
            vec![identity_json("AKIA1", "111122223333", allow.clone()), identity_json("AKIA1", "444455556666", allow)];
        assert!(err(&file(twice)).contains("Identities[1].AccessKeyId: 'AKIA1' is listed more than once"));
        let bad_statement = identity_json("AKIA1", "111122223333", json!([{"Effect": "Allow"}]));
        assert!(err(&file(vec![bad_statement])).contains("Identities[0].Policy.Statement[0].Action: required"));
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    const NOW: &str = "20260101T000000Z";

    /// A signed `POST /` and its header list, kept alive by the caller.
    fn signed(key: &str, secret: &str, region: &str, ts: &str) -> Vec<(String, Vec<u8>)> {
        let mut h =
            vec![("host".to_string(), b"localhost".to_vec()), ("x-amz-date".to_string(), ts.as_bytes().to_vec())];
        let view: Vec<(&str, &[u8])> = h.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        let signer = Signer { access_key: key, secret, region, service: "ec2" };
        let auth = signer.authorization(&post(&view), ts, "host;x-amz-date");
        h.push(("authorization".into(), auth.into_bytes()));
        h
    }

    fn post<'a>(h: &'a [(&'a str, &'a [u8])]) -> HttpRequest<'a> {
        HttpRequest { method: "POST", path: "/", query: "", headers: h, body: b"Action=DescribeRegions" }
    }

    fn authenticate(ids: &Identities, h: &[(String, Vec<u8>)], now: &str) -> Result<Caller, Ec2Error> {
        let view: Vec<(&str, &[u8])> = h.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        ids.authenticate(&post(&view), || ec2_sigv4::parse_timestamp(now).unwrap())
    }

    #[test]
    fn open_mode_accepts_any_key_and_maps_it_to_an_account() {
        let ids = Identities::open();
        let c = authenticate(&ids, &signed("123456789012", "whatever", "eu-west-1", NOW), NOW).unwrap();
        assert_eq!(c.scope(), Scope::new("123456789012", "eu-west-1"));
        let c = authenticate(&ids, &signed("AKIAANYTHING", "x", "ap-south-1", NOW), NOW).unwrap();
        assert_eq!(c.scope(), Scope::new(DEFAULT_ACCOUNT, "ap-south-1"));
        assert!(c.authorize("TerminateInstances", &["*".into()]).is_allowed());
        // keys that are not exactly 12 digits
        assert_eq!(open_account("12345678901", DEFAULT_ACCOUNT), DEFAULT_ACCOUNT);
        assert_eq!(open_account("12345678901a", DEFAULT_ACCOUNT), DEFAULT_ACCOUNT);
        assert_eq!(open_account("AKIAEXAMPLE", "123456789012"), "123456789012");
        assert_eq!(open_account("111122223333", "123456789012"), "111122223333");
        // the signature's form is still checked (not its value or its time)
        let far = authenticate(&ids, &signed("AKIAANYTHING", "x", "us-east-1", "20000101T000000Z"), NOW);
        assert!(far.is_ok());
        let unsigned = vec![("host".to_string(), b"localhost".to_vec())];
        let e = authenticate(&ids, &unsigned, NOW).unwrap_err();
        assert_eq!((e.code.as_str(), e.status()), ("MissingParameter", 400));
        let mut broken = signed("AKIAANYTHING", "x", "us-east-1", NOW);
        broken[2].1 = b"AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/ec2/aws4_request".to_vec();
        assert_eq!(authenticate(&ids, &broken, NOW).unwrap_err().code.as_str(), "IncompleteSignature");
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ec2d-identity-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_credentials_file_decides_who_calls_and_what_they_may_do() {
        let allow_all = json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]);
        let no_stop = json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
                             {"Effect": "Deny", "Action": "ec2:StopInstances", "Resource": "*"}]);
        let path = temp_file(
            "decides",
            &file(vec![
                identity_json("AKIAALICE", "111122223333", allow_all),
                identity_json("AKIABOB", "444455556666", no_stop),
            ]),
        );
        let ids = Identities::load(&path).unwrap();
        assert!(ids.summary().starts_with("2 identities from"));
        let alice = authenticate(&ids, &signed("AKIAALICE", "secret-of-AKIAALICE", "us-west-2", NOW), NOW).unwrap();
        assert_eq!(alice.scope(), Scope::new("111122223333", "us-west-2"));
        assert!(alice.authorize("StopInstances", &[INSTANCE.into()]).is_allowed());
        let bob = authenticate(&ids, &signed("AKIABOB", "secret-of-AKIABOB", "us-east-1", NOW), NOW).unwrap();
        assert_eq!(bob.account, "444455556666");
        assert!(bob.authorize("DescribeInstances", &["*".into()]).is_allowed());
        let denied = bob.authorize("StopInstances", &[INSTANCE.into()]);
        let e = denied.check().unwrap_err();
        assert_eq!((e.code.as_str(), e.status()), ("UnauthorizedOperation", 403));
        let (prefix, encoded) = e.message.split_once("Encoded authorization failure message: ").unwrap();
        assert_eq!(prefix, "You are not authorized to perform this operation. ");
        assert!(!encoded.is_empty() && encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
        assert!(denied.consulted());

        let code = |h: Vec<(String, Vec<u8>)>, now: &str| authenticate(&ids, &h, now).unwrap_err().code.as_str();
        assert_eq!(code(signed("AKIAALICE", "wrong", "us-east-1", NOW), NOW), "SignatureDoesNotMatch");
        assert_eq!(code(signed("AKIACAROL", "x", "us-east-1", NOW), NOW), "AuthFailure");
        assert_eq!(
            code(signed("AKIAALICE", "secret-of-AKIAALICE", "us-east-1", "20251231T234459Z"), NOW),
            "RequestExpired"
        );
        assert!(authenticate(&ids, &signed("AKIAALICE", "secret-of-AKIAALICE", "us-east-1", "20251231T234500Z"), NOW)
            .is_ok());
    }

    #[test]
    fn control_endpoints_need_a_policy_that_allows_their_action() {
        let path = temp_file(
            "control",
            &file(vec![
                identity_json(
                    "AKIAEC2",
                    "111122223333",
                    json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]),
                ),
                identity_json(
                    "AKIAOPS",
                    "111122223333",
                    json!([{"Effect": "Allow", "Action": "ec2d:*", "Resource": "*"},
                    {"Effect": "Deny", "Action": "ec2d:Reset", "Resource": "*"}]),
                ),
            ]),
        );
        let ids = Identities::load(&path).unwrap();
        assert!(ids.is_secured() && !Identities::open().is_secured());
        let ec2 = authenticate(&ids, &signed("AKIAEC2", "secret-of-AKIAEC2", "us-east-1", NOW), NOW).unwrap();
        let e = ec2.authorize_control("ec2d:Reset").unwrap_err();
        assert_eq!((e.code.as_str(), e.status()), ("UnauthorizedOperation", 403));
        let ops = authenticate(&ids, &signed("AKIAOPS", "secret-of-AKIAOPS", "us-east-1", NOW), NOW).unwrap();
        assert!(ops.authorize_control("ec2d:AdvanceClock").is_ok());
        assert!(ops.authorize_control("ec2d:Reset").is_err());
        assert!(!ops.authorize("DescribeRegions", &["*".into()]).is_allowed());

        assert_eq!(control_action("POST", "reset"), "ec2d:Reset");
        assert_eq!(control_action("POST", "clock/advance"), "ec2d:AdvanceClock");
        assert_eq!(control_action("POST", "instances/i-1/hold-stopping"), "ec2d:HoldStopping");
        assert_eq!(control_action("GET", "capacity"), "ec2d:GetCapacity");
        assert_eq!(control_action("POST", "capacity"), "ec2d:SetCapacity");
        assert_eq!(control_action("POST", "no/such/thing"), "ec2d:Control");
    }

    #[test]
    fn a_sigv2_request_names_its_region_by_its_host() {
        assert_eq!(region_of_host("ec2.eu-west-1.amazonaws.com"), "eu-west-1");
        assert_eq!(region_of_host("us-west-2.ec2.amazonaws.com:443"), "us-west-2");
        assert_eq!(region_of_host("127.0.0.1:4566"), "us-east-1");
        assert_eq!(region_of_host("ec2.amazonaws.com"), "us-east-1");
        assert_eq!(region_of_host("ec2.BAD_REGION.amazonaws.com"), "us-east-1");
    }

    #[test]
    fn the_credentials_file_is_read_again_when_it_changes() {
        let allow_all = json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]);
        let path = temp_file("reload", &file(vec![identity_json("AKIAONE", "111122223333", allow_all.clone())]));
        let ids = Identities::load(&path).unwrap();
        assert_eq!(ids.reload(), Ok(false), "unchanged");
        let two = file(vec![
            identity_json("AKIAONE", "111122223333", allow_all.clone()),
            identity_json("AKIATWO", "444455556666", allow_all),
        ]);
        std::fs::write(&path, &two).unwrap();
        assert_eq!(ids.reload(), Ok(true));
        assert!(authenticate(&ids, &signed("AKIATWO", "secret-of-AKIATWO", "us-east-1", NOW), NOW).is_ok());
        // a bad version is reported once, and the previous identities stay
        std::fs::write(&path, "{\"Identities\": [").unwrap();
        assert!(ids.reload().unwrap_err().contains("not valid JSON"));
        assert_eq!(ids.reload(), Ok(false));
        assert!(authenticate(&ids, &signed("AKIATWO", "secret-of-AKIATWO", "us-east-1", NOW), NOW).is_ok());
        // a missing file at startup is an error naming it
        let missing = path.with_file_name("missing.json");
        assert!(Identities::load(&missing).err().unwrap().contains("missing.json"));
    }

    #[test]
    fn requests_name_their_resources() {
        let scope = Scope::new("111122223333", "us-east-1");
        let decode = |q: &str| {
            let node = ec2_protocol::Node::from_pairs(ec2_protocol::Node::parse_form(q.as_bytes()));
            Request::decode(node.get("Action").unwrap(), &node).unwrap().unwrap()
        };
        assert_eq!(
            request_resources(&scope, &decode("Action=StopInstances&InstanceId.1=i-0123456789abcdef0")),
            vec![INSTANCE.to_string()]
        );
        assert_eq!(request_resources(&scope, &decode("Action=DescribeInstances")), vec!["*".to_string()]);
        assert_eq!(
            request_resources(
                &scope,
                &decode("Action=CreateTags&ResourceId.1=vpc-1&ResourceId.2=ami-2&ResourceId.3=zz-3&Tag.1.Key=k")
            ),
            vec![
                "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-1".to_string(),
                "arn:aws:ec2:us-east-1::image/ami-2".to_string(),
                "*".to_string()
            ]
        );
        assert_eq!(
            request_resources(
                &scope,
                &decode("Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=1&SubnetId=subnet-2")
            ),
            vec![
                "arn:aws:ec2:us-east-1:111122223333:instance/*".to_string(),
                "arn:aws:ec2:us-east-1::image/ami-1".to_string(),
                "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-2".to_string()
            ]
        );
        // Key pairs are named by name; a delete by ID alone acts on every key pair.
        assert_eq!(
            request_resources(&scope, &decode("Action=CreateKeyPair&KeyName=web")),
            vec!["arn:aws:ec2:us-east-1:111122223333:key-pair/web".to_string()]
        );
        assert_eq!(
            request_resources(&scope, &decode("Action=DeleteKeyPair&KeyPairId=key-0123456789abcdef0")),
            vec!["arn:aws:ec2:us-east-1:111122223333:key-pair/*".to_string()]
        );
        assert!(request_resources(
            &scope,
            &decode("Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=1&KeyName=web")
        )
        .contains(&"arn:aws:ec2:us-east-1:111122223333:key-pair/web".to_string()));
    }
}
