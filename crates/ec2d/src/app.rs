//! The EC2 request pipeline, independent of HTTP:
//! verify the signature -> caller and scope -> `Action` -> decode and validate -> authorize ->
//! service -> XML.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ec2_core::bundle_tasks::BundleDurations;
use ec2_core::ids::IdGen;
use ec2_core::instances::Durations;
use ec2_core::spot::SpotDurations;
use ec2_core::Scope;
use ec2_protocol::{is_operation, Code, Ec2Error, Node, Request};
use ec2_sigv4::HttpRequest;
use ec2_store::Store;

use crate::clock::Clock;
use crate::config::Config;
use crate::identity::{self, Identities};
use crate::service;

pub struct App {
    pub store: Store,
    pub clock: Clock,
    pub ids: IdGen,
    pub durations: Durations,
    pub bundle_durations: BundleDurations,
    pub spot_durations: SpotDurations,
    pub storage_durations: ec2_core::volumes::StorageDurations,
    pub config: Config,
    /// Who may call: the credentials file's identities, or open mode (identity.rs).
    pub identities: Arc<Identities>,
    /// Request IDs come from the seeded generator with a per-process counter: they need to be
    /// unique for logs, not across nodes, so they cost no store round trip.
    request_counter: AtomicU64,
    /// Bounds on a request's parameters, checked before authentication.
    pub limits: ec2_protocol::Limits,
}

/// A finished answer, before it becomes HTTP: its body whole (`String`) or a [`ReplyBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<B = String> {
    pub status: u16,
    pub body: B,
    pub request_id: String,
    /// What the request log line says about it.
    pub log: RequestLog,
}

/// An EC2 answer's body: written whole, or (DescribeInstances) written piece by piece while it is
/// sent, so that a page of 10,000 instances never sits in one buffer.
pub enum ReplyBody {
    Whole(String),
    Pieces(Box<service::instances::ListingPieces>),
}

impl ReplyBody {
    /// The whole body, its pieces joined.
    pub fn into_string(self) -> String {
        match self {
            ReplyBody::Whole(body) => body,
            ReplyBody::Pieces(pieces) => pieces.collect(),
        }
    }
}

/// What one request's log line tells besides its status and latency: each part as far as the
/// request got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLog {
    /// The action's name: the operation's own (no copy) once the request decoded.
    pub action: Option<Cow<'static, str>>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The error code of a refused or failed request.
    pub code: Option<String>,
    /// A 5xx's message: its cause, for the log (the client gets it too).
    pub cause: Option<String>,
}

/// The longest error message sent: messages that echo a caller's input are cut here whatever the
/// handler wrote (values echoed by the decoder are already cut to 128 characters).
pub const MAX_ERROR_MESSAGE: usize = 2048;

/// The account of a caller whose access key is not a 12-digit account number, in open mode.
pub use crate::identity::DEFAULT_ACCOUNT;

impl App {
    pub fn new(config: Config, store: Store) -> Result<App, String> {
        let virtual_start = ec2_time::parse_iso8601(&config.clock_start)
            .ok_or_else(|| format!("--clock-start {:?} is not an ISO 8601 timestamp", config.clock_start))?;
        let (durations, bundle_durations, spot_durations) = config.durations()?;
        let identities = Arc::new(
            Identities::from_path(config.credentials_file.as_deref())?.with_default_account(&config.default_account),
        );
        identities.watch(identity::RELOAD_INTERVAL);
        Ok(App {
            identities,
            durations,
            bundle_durations,
            spot_durations,
            storage_durations: config.storage_durations(),
            store,
            clock: Clock { mode: config.clock, virtual_start },
            ids: IdGen::new(config.seed),
            config,
            request_counter: AtomicU64::new(0),
            limits: ec2_protocol::Limits::DEFAULT,
        })
    }

    /// The settings every handler's context carries.
    pub fn settings(&self) -> service::Settings {
        use ec2_core::capacity_reservations::CrDurations;
        service::Settings {
            ids: self.ids,
            durations: self.durations,
            bundle_durations: self.bundle_durations,
            spot_durations: self.spot_durations,
            cr_durations: match self.clock.mode {
                crate::config::ClockMode::Instant => CrDurations::INSTANT,
                crate::config::ClockMode::Realistic | crate::config::ClockMode::Virtual => CrDurations::REALISTIC,
            },
            storage_durations: self.storage_durations,
            strict_images: self.config.strict_images,
            pool_capacity: self.config.pool_capacity,
        }
    }

    pub fn next_request_id(&self) -> String {
        self.ids.request_id(self.request_counter.fetch_add(1, Ordering::Relaxed))
    }

    /// Handles one EC2 query request: the parameters of the URL's query string and of the
    /// form-encoded body are merged (the body wins on a duplicate); the signature covers the
    /// method, path, query, headers and body as they arrived.
    pub fn handle_ec2(&self, http: &HttpRequest<'_>) -> Reply {
        let r = self.handle_ec2_streamed(http);
        Reply { status: r.status, body: r.body.into_string(), request_id: r.request_id, log: r.log }
    }

    /// [`App::handle_ec2`], with DescribeInstances' body left to be written while it is sent.
    pub fn handle_ec2_streamed(&self, http: &HttpRequest<'_>) -> Reply<ReplyBody> {
        let request_id = self.next_request_id();
        let mut log = RequestLog::default();
        match self.run(http, &mut log) {
            Ok(service::Answer::Instances(listing)) => {
                let body = ReplyBody::Pieces(listing.pieces(&request_id));
                Reply { status: 200, body, request_id, log }
            }
            Ok(answer) => Reply { status: 200, body: ReplyBody::Whole(answer.encode(&request_id)), request_id, log },
            Err(mut e) => {
                if e.message.len() > MAX_ERROR_MESSAGE {
                    e.message = ec2_protocol::truncate_echo(&e.message, MAX_ERROR_MESSAGE).into_owned();
                }
                log.code = Some(e.code.as_str().to_string());
                if e.status() >= 500 {
                    log.cause = Some(e.message.clone());
                }
                Reply { status: e.status(), body: ReplyBody::Whole(e.to_xml(&request_id)), request_id, log }
            }
        }
    }

    /// The parameters of the query string and the body (the body's win on a duplicate name) as a tree,
    /// within [`ec2_protocol::Limits`]: checked while they are read, before the signature and before a
    /// pair goes into the tree. With it, whether a name is a presigned URL's
    /// ([`identity::is_presigning_name`]).
    fn parameters<'a>(&self, http: &HttpRequest<'a>) -> Result<(Node<'a>, bool), Ec2Error> {
        let (mut node, mut presigned, mut count) = (Node::default(), false, 0);
        let mut pair = |k: Cow<'a, str>, v| {
            presigned |= identity::is_presigning_name(&k);
            node.insert(k, v);
        };
        Node::read_form_limited(http.query.as_bytes(), &self.limits, &mut count, &mut pair)
            .and_then(|()| Node::read_form_limited(http.body, &self.limits, &mut count, &mut pair))
            .map_err(|e| Ec2Error::invalid_parameter_value(e.0))?;
        Ok((node, presigned))
    }

    fn run(&self, http: &HttpRequest<'_>, log: &mut RequestLog) -> Result<service::Answer, Ec2Error> {
        let (node, presigned) = self.parameters(http)?;
        // The pairs in order, as they were read, only for a request signed with SigV2 (a rare one): read
        // again, as the decoder reads them.
        let pairs = || {
            let (query, body) = (Node::parse_form(http.query.as_bytes()), Node::parse_form(http.body));
            query.into_iter().chain(body).collect()
        };
        // The skew window is about real time: the wall clock, never the virtual one.
        let caller = self.identities.authenticate_read(http, presigned, pairs, crate::clock::wall_now)?;
        // The scope takes the caller's account and region strings rather than copies of them when no
        // policy will read them (open mode), and the log line takes them from the scope at the end.
        let (scope, caller) = match caller.identity {
            None => (Scope::new(caller.account, caller.region), None),
            Some(_) => (caller.scope(), Some(caller)),
        };
        let answer = self.run_in_scope(&node, &scope, caller.as_ref(), log);
        log.account = Some(scope.account);
        log.region = Some(scope.region);
        answer
    }

    /// [`App::run`] once the caller is known: `caller` is `None` in open mode, where every action is
    /// allowed.
    fn run_in_scope(
        &self,
        node: &Node<'_>,
        scope: &Scope,
        caller: Option<&identity::Caller>,
        log: &mut RequestLog,
    ) -> Result<service::Answer, Ec2Error> {
        // A region ec2d does not serve (ec2_core::regions) is refused, naming it, as AWS refuses a
        // credential scoped to a region that does not exist, rather than answering empty lists.
        if ec2_core::regions::region(&scope.region).is_none() {
            return Err(Ec2Error::new(
                Code::AuthFailure,
                format!(
                    "Credential should be scoped to a valid region, not '{}'. The regions are those DescribeRegions lists with AllRegions=true.",
                    ec2_protocol::truncate_echo(&scope.region, 64)
                ),
            ));
        }
        if let Some(version) = node.get("Version") {
            // Every SDK sends the current version: the list of the older ones is for the others.
            if version != ec2_protocol::API_VERSION && !ec2_protocol::KNOWN_API_VERSIONS.contains(&version) {
                return Err(Ec2Error::new(
                    Code::NoSuchVersion,
                    format!(
                        "The requested version ({}) of service AmazonEC2 does not exist",
                        ec2_protocol::truncate_echo(version, 64)
                    ),
                ));
            }
        }
        let action = match node.get("Action") {
            Some(a) if !a.is_empty() => a,
            _ => return Err(Ec2Error::new(Code::MissingAction, "The request must contain the parameter Action")),
        };
        // The request is used where it was decoded rather than moved out of the result (the enum is as
        // large as its largest operation's request, about 2 KB).
        let decoded = Request::decode(action, node);
        let Some(Ok(request)) = &decoded else {
            log.action = Some(ec2_protocol::truncate_echo(action, 64).into_owned().into());
            return Err(match decoded {
                Some(Err(e)) => e.into(),
                _ if is_operation(action) => Ec2Error::not_implemented(action),
                _ => Ec2Error::invalid_action(&ec2_protocol::truncate_echo(action, 128)),
            });
        };
        // The decoded operation's name is the action's text (decode matched it exactly).
        log.action = Some(Cow::Borrowed(request.action()));
        let permission = match caller {
            None => identity::Permission::allowed(),
            Some(caller) => caller.authorize_lazily(action, || identity::request_resources(scope, request)),
        };
        let clock = |tx: &mut ec2_store::Txn<'_>| self.clock.now(tx);
        service::call(&self.store, &self.settings(), &clock, scope, request, &permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ec2_sigv4::Signer;
    use serde_json::json;

    /// Accounts of the test credentials file: one that may do anything, one that may do nothing,
    /// one that may not stop instances.
    const ALL: &str = "AKIAALLOWALL";
    const NONE: &str = "AKIADENYALL";
    const NO_STOP: &str = "AKIANOSTOP";

    fn app(credentials: Option<&str>) -> App {
        let credentials_file = credentials.map(|text| {
            static FILES: AtomicU64 = AtomicU64::new(0);
            let n = FILES.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("ec2d-app-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("credentials.json");
            std::fs::write(&path, text).unwrap();
            path
        });
        App::new(Config { credentials_file, ..Config::default() }, ec2_store::Store::memory()).unwrap()
    }

    fn credentials() -> String {
        let identity = |key: &str, account: &str, statements: serde_json::Value| json!({"AccessKeyId": key, "SecretAccessKey": "secret", "AccountId": account, "Policy": {"Statement": statements}});
        json!({"Identities": [
            identity(ALL, "111122223333", json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}])),
            identity(NONE, "111122223333", json!([{"Effect": "Allow", "Action": "ec2:NoSuchAction", "Resource": "*"}])),
            identity(NO_STOP, "111122223333", json!([
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "ec2:StopInstances", "Resource": "arn:aws:ec2:*:*:instance/*"}])),
        ]})
        .to_string()
    }

    /// `body` as a `POST /`, signed now by `key` in `region` (`None`: unsigned).
    fn call(app: &App, key: Option<&str>, region: &str, body: &str) -> Reply {
        let ts = ec2_sigv4::format_timestamp(crate::clock::wall_now());
        let unsigned: Vec<(&str, &[u8])> = vec![("host", b"localhost"), ("x-amz-date", ts.as_bytes())];
        let req = HttpRequest { method: "POST", path: "/", query: "", headers: &unsigned, body: body.as_bytes() };
        let auth = key.map(|k| {
            Signer { access_key: k, secret: "secret", region, service: "ec2" }.authorization(
                &req,
                &ts,
                "host;x-amz-date",
            )
        });
        let mut headers = unsigned.clone();
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_bytes()));
        }
        app.handle_ec2(&HttpRequest { headers: &headers, ..req })
    }

    fn code(reply: &Reply) -> (u16, String) {
        let code = reply.body.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("");
        (reply.status, code.to_string())
    }

    fn launch(app: &App, key: &str, region: &str) -> String {
        let r = call(
            app,
            Some(key),
            region,
            "Action=RunInstances&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount=1&MaxCount=1",
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.body.split("<instanceId>").nth(1).unwrap().split("</instanceId>").next().unwrap().to_string()
    }

    /// The documents `service::hints` names for a launch (its subnet and capacity pool) and for a stop (its
    /// instances) are documents those requests change.
    #[test]
    fn hints_name_documents_the_request_changes() {
        use ec2_protocol::{dto, Request};
        use ec2_store::Hint;
        let app = app(Some(&credentials()));
        let scope = ec2_core::Scope::new("111122223333", "us-east-1");
        let texts = |hints: &[Hint]| -> Vec<Option<String>> {
            app.store
                .transact(|tx| {
                    let mut found = Vec::new();
                    for h in hints {
                        let doc = tx.raw().get(&h.scope, h.kind, &h.id)?;
                        found.push(doc.map(|d| d.text().map(str::to_string)).transpose()?);
                    }
                    Ok::<_, ec2_store::StoreError>(found)
                })
                .unwrap()
        };
        let changes = |hints: &[Hint], body: &str| -> Reply {
            let before = texts(hints);
            let r = call(&app, Some(ALL), "us-east-1", body);
            assert_eq!(r.status, 200, "{}", r.body);
            let after = texts(hints);
            for (h, (b, a)) in hints.iter().zip(before.iter().zip(&after)) {
                assert!(a.is_some() && a != b, "{h:?} unchanged by {body}");
            }
            r
        };
        let mut launched = Vec::new();
        for (zone, instance_type) in [(None, None), (Some("us-east-1c"), Some("t3.micro"))] {
            let placement = zone.map(|z| dto::Placement { availability_zone: Some(z.into()), ..Default::default() });
            let request = Request::RunInstances(dto::RunInstancesRequest {
                placement,
                instance_type: instance_type.map(Into::into),
                ..Default::default()
            });
            let hints = service::hints::of(&app.settings(), &scope, &request);
            assert_eq!(hints.iter().map(|h| h.kind).collect::<Vec<_>>(), ["subnet", "capacity_pool"]);
            let mut body = "Action=RunInstances&ImageId=ami-08f6cfac8c54bafdd&MinCount=2&MaxCount=2".to_string();
            body += &zone.map(|z| format!("&Placement.AvailabilityZone={z}")).unwrap_or_default();
            body += &instance_type.map(|t| format!("&InstanceType={t}")).unwrap_or_default();
            let r = changes(&hints, &body);
            launched.extend(
                r.body.split("<instanceId>").skip(1).map(|p| p.split("</instanceId>").next().unwrap().to_string()),
            );
        }
        let request = Request::StopInstances(dto::StopInstancesRequest {
            instance_ids: Some(launched.clone()),
            ..Default::default()
        });
        let hints = service::hints::of(&app.settings(), &scope, &request);
        assert_eq!(hints.len(), 4);
        let ids: String = launched.iter().enumerate().map(|(i, id)| format!("&InstanceId.{}={id}", i + 1)).collect();
        changes(&hints, &format!("Action=StopInstances{ids}"));
    }

    #[test]
    fn an_unsigned_request_is_refused_before_anything_else() {
        let app = app(None);
        for body in ["Action=DescribeRegions", "", "Action=NoSuchThing"] {
            let r = call(&app, None, "us-east-1", body);
            assert_eq!(code(&r), (400, "MissingParameter".into()), "{body}");
            assert!(r.body.contains("The request must contain the parameter AWSAccessKeyId"));
        }
        assert_eq!(call(&app, Some("AKIAANY"), "us-east-1", "Action=DescribeRegions").status, 200);
    }

    #[test]
    fn limits_come_before_the_signature_and_versions_ec2_never_had_are_refused() {
        let app = app(None);
        let deep = format!("Action=DescribeRegions&{}a=1", "a.".repeat(20_000));
        for key in [None, Some("AKIAANY")] {
            let r = call(&app, key, "us-east-1", &deep);
            assert_eq!(code(&r), (400, "InvalidParameterValue".into()), "{key:?}");
        }
        let r = call(&app, Some("AKIAANY"), "us-east-1", "Action=DescribeRegions&Version=1999-01-01");
        assert_eq!(code(&r), (400, "NoSuchVersion".into()));
        assert!(r.body.contains("The requested version (1999-01-01) of service AmazonEC2 does not exist"));
        assert_eq!(call(&app, Some("AKIAANY"), "us-east-1", "Action=DescribeRegions&Version=2016-11-15").status, 200);
        let long = format!("Action=DescribeInstances&InstanceId.1=i-{}", "0".repeat(100_000));
        let r = call(&app, Some("AKIAANY"), "us-east-1", &long);
        assert_eq!(r.status, 400);
        assert!(r.body.len() < MAX_ERROR_MESSAGE + 400, "{}", r.body.len());
        assert_eq!(r.log.code.as_deref(), Some(code(&r).1.as_str()));
        assert_eq!(r.log.account.as_deref(), Some(DEFAULT_ACCOUNT));
    }

    #[test]
    fn accounts_and_regions_are_isolated() {
        let app = app(None);
        let id = launch(&app, "111111111111", "us-east-1");
        let describe = format!("Action=DescribeInstances&InstanceId.1={id}");
        assert_eq!(call(&app, Some("111111111111"), "us-east-1", &describe).status, 200);
        for (key, region) in [("222222222222", "us-east-1"), ("AKIAOTHER", "us-east-1"), ("111111111111", "eu-west-1")]
        {
            let r = call(&app, Some(key), region, &describe);
            assert_eq!(code(&r), (400, "InvalidInstanceID.NotFound".into()), "{key} {region}");
            let r = call(&app, Some(key), region, &format!("Action=StopInstances&InstanceId.1={id}"));
            assert_eq!(code(&r), (400, "InvalidInstanceID.NotFound".into()), "{key} {region}");
            let r = call(&app, Some(key), region, "Action=DescribeInstances");
            assert!(!r.body.contains(&id), "{key} {region} sees {id}");
        }
    }

    /// A request for every implemented operation that passes the operation's syntax checks.
    fn valid_request(op: &str) -> Option<String> {
        let iid = "i-0123456789abcdef0";
        let cr = "cr-0123456789abcdef0";
        let vol = "vol-0123456789abcdef0";
        let snap = "snap-0123456789abcdef0";
        let policy = crate::identity::base64(
            br#"{"expiration":"2099-01-01T00:00:00Z","conditions":[{"bucket":"bundle-bucket"},["starts-with","$key","ami"]]}"#,
        );
        Some(match op {
            "BundleInstance" => format!(
                "InstanceId={iid}&Storage.S3.Bucket=bundle-bucket&Storage.S3.Prefix=ami&Storage.S3.AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE\
                 &Storage.S3.UploadPolicy={}&Storage.S3.UploadPolicySignature={}",
                policy.replace('+', "%2B").replace('=', "%3D"),
                crate::identity::base64(&[0; 20]).replace('=', "%3D")
            ),
            "CancelBundleTask" => "BundleId=bun-12345678".into(),
            "CancelSpotInstanceRequests" => "SpotInstanceRequestId.1=sir-12345678".into(),
            "CancelCapacityReservation" | "GetCapacityReservationUsage" => format!("CapacityReservationId={cr}"),
            "CreateCapacityReservation" => {
                "InstanceType=t3.micro&InstancePlatform=Linux/UNIX&AvailabilityZone=us-east-1a&InstanceCount=1".into()
            }
            "CreateInterruptibleCapacityReservationAllocation" => format!("CapacityReservationId={cr}&InstanceCount=1"),
            "DescribeCapacityBlockOfferings" => "InstanceType=p5.48xlarge&InstanceCount=1&CapacityDurationHours=24".into(),
            "ModifyCapacityReservation" => format!("CapacityReservationId={cr}&InstanceCount=2"),
            "PurchaseCapacityBlock" => "CapacityBlockOfferingId=cb-0123456789abcdef0&InstancePlatform=Linux/UNIX".into(),
            "UpdateInterruptibleCapacityReservationAllocation" => {
                format!("CapacityReservationId={cr}&TargetInstanceCount=1")
            }
            "CreateKeyPair" | "DeleteKeyPair" => "KeyName=k".into(),
            "ImportKeyPair" => format!(
                "KeyName=k&PublicKeyMaterial={}",
                crate::identity::base64(
                    b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOeaTmIVg2dHhVhYZtyFT7heK10ghpNIOkzezZAfQ9hd"
                )
                .replace('+', "%2B")
                .replace('=', "%3D")
            ),
            "DescribeInstanceAttribute" | "ResetInstanceAttribute" => {
                format!("InstanceId={iid}&Attribute=sourceDestCheck")
            }
            "ModifyInstanceAttribute" => format!("InstanceId={iid}&SourceDestCheck.Value=false"),
            "AssociateIamInstanceProfile" => format!("InstanceId={iid}&IamInstanceProfile.Name=web"),
            "ReplaceIamInstanceProfileAssociation" => {
                "AssociationId=iip-assoc-0123456789abcdef0&IamInstanceProfile.Name=web".into()
            }
            "DisassociateIamInstanceProfile" => "AssociationId=iip-assoc-0123456789abcdef0".into(),
            "MonitorInstances" | "UnmonitorInstances" => format!("InstanceId.1={iid}"),
            "GetConsoleOutput" => format!("InstanceId={iid}"),
            "ModifyInstanceMetadataOptions" => format!("InstanceId={iid}&HttpTokens=optional"),
            "GetPasswordData" => format!("InstanceId={iid}"),
            "ModifyPrivateDnsNameOptions" => format!("InstanceId={iid}&EnableResourceNameDnsARecord=true"),
            "ModifyInstanceMaintenanceOptions" => format!("InstanceId={iid}&AutoRecovery=disabled"),
            "DescribeInstanceCreditSpecifications" => format!("InstanceId.1={iid}"),
            "ModifyInstanceCreditSpecification" => format!(
                "InstanceCreditSpecification.1.InstanceId={iid}&InstanceCreditSpecification.1.CpuCredits=unlimited"
            ),
            "GetDefaultCreditSpecification" => "InstanceFamily=t3".into(),
            "ModifyDefaultCreditSpecification" => "InstanceFamily=t3&CpuCredits=standard".into(),
            "CreateTags" => format!("ResourceId.1={iid}&Tag.1.Key=k&Tag.1.Value=v"),
            "DeleteTags" => format!("ResourceId.1={iid}"),
            "RebootInstances" | "StartInstances" | "StopInstances" | "TerminateInstances" => format!("InstanceId.1={iid}"),
            "RequestSpotInstances" => "LaunchSpecification.ImageId=ami-08f6cfac8c54bafdd&LaunchSpecification.InstanceType=t3.micro".into(),
            "RunInstances" => "ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount=1&MaxCount=1".into(),
            // The network families.
            "CreateVpc" => "CidrBlock=10.0.0.0/16".into(),
            "DeleteVpc" => "VpcId=vpc-0123456789abcdef0".into(),
            "DescribeVpcAttribute" => "VpcId=vpc-0123456789abcdef0&Attribute=enableDnsSupport".into(),
            "ModifyVpcAttribute" => "VpcId=vpc-0123456789abcdef0&EnableDnsSupport.Value=true".into(),
            "AssociateVpcCidrBlock" => "VpcId=vpc-0123456789abcdef0&CidrBlock=10.1.0.0/16".into(),
            "DisassociateVpcCidrBlock" => "AssociationId=vpc-cidr-assoc-0123456789abcdef0".into(),
            "CreateDefaultVpc" | "AllocateAddress" | "CreateInternetGateway" => String::new(),
            "CreateSubnet" => "VpcId=vpc-0123456789abcdef0&CidrBlock=10.0.1.0/24".into(),
            "CreateDefaultSubnet" => "AvailabilityZone=us-east-1a".into(),
            "DeleteSubnet" | "ModifySubnetAttribute" => "SubnetId=subnet-0123456789abcdef0".into(),
            "CreateSecurityGroup" => "GroupName=web&GroupDescription=d".into(),
            "DeleteSecurityGroup" => "GroupId=sg-0123456789abcdef0".into(),
            "AuthorizeSecurityGroupIngress"
            | "AuthorizeSecurityGroupEgress"
            | "RevokeSecurityGroupIngress"
            | "RevokeSecurityGroupEgress" => "GroupId=sg-0123456789abcdef0&IpPermissions.1.IpProtocol=tcp\
                 &IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8"
                .into(),
            "ModifySecurityGroupRules" => "GroupId=sg-0123456789abcdef0&SecurityGroupRule.1.SecurityGroupRuleId=sgr-0123456789abcdef0\
                 &SecurityGroupRule.1.SecurityGroupRule.IpProtocol=tcp&SecurityGroupRule.1.SecurityGroupRule.CidrIpv4=10.0.0.0/8"
                .into(),
            "ReleaseAddress" => "AllocationId=eipalloc-0123456789abcdef0".into(),
            "AssociateAddress" => format!("AllocationId=eipalloc-0123456789abcdef0&InstanceId={iid}"),
            "DisassociateAddress" => "AssociationId=eipassoc-0123456789abcdef0".into(),
            "DeleteInternetGateway" => "InternetGatewayId=igw-0123456789abcdef0".into(),
            "AttachInternetGateway" | "DetachInternetGateway" => {
                "InternetGatewayId=igw-0123456789abcdef0&VpcId=vpc-0123456789abcdef0".into()
            }
            "CreateRouteTable" => "VpcId=vpc-0123456789abcdef0".into(),
            "DeleteRouteTable" => "RouteTableId=rtb-0123456789abcdef0".into(),
            "AssociateRouteTable" => "RouteTableId=rtb-0123456789abcdef0&SubnetId=subnet-0123456789abcdef0".into(),
            "DisassociateRouteTable" => "AssociationId=rtbassoc-0123456789abcdef0".into(),
            "CreateRoute" | "ReplaceRoute" => {
                "RouteTableId=rtb-0123456789abcdef0&DestinationCidrBlock=0.0.0.0/0&GatewayId=igw-0123456789abcdef0".into()
            }
            "DeleteRoute" => "RouteTableId=rtb-0123456789abcdef0&DestinationCidrBlock=0.0.0.0/0".into(),
            "CreateNetworkInterface" => "SubnetId=subnet-0123456789abcdef0".into(),
            "DeleteNetworkInterface" | "ModifyNetworkInterfaceAttribute" => {
                "NetworkInterfaceId=eni-0123456789abcdef0".into()
            }
            "AttachNetworkInterface" => format!("NetworkInterfaceId=eni-0123456789abcdef0&InstanceId={iid}&DeviceIndex=1"),
            "DetachNetworkInterface" => "AttachmentId=eni-attach-0123456789abcdef0".into(),
            "AssignPrivateIpAddresses" => {
                "NetworkInterfaceId=eni-0123456789abcdef0&SecondaryPrivateIpAddressCount=1".into()
            }
            "UnassignPrivateIpAddresses" => {
                "NetworkInterfaceId=eni-0123456789abcdef0&PrivateIpAddress.1=10.0.0.5".into()
            }
            "CreateLaunchTemplate" => "LaunchTemplateName=web&LaunchTemplateData.InstanceType=t3.micro".into(),
            "CreateFleet" => "Type=instant&TargetCapacitySpecification.TotalTargetCapacity=1\
                 &TargetCapacitySpecification.DefaultTargetCapacityType=on-demand\
                 &LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateName=web"
                .into(),
            "DeleteFleets" => "FleetId.1=fleet-12345678-1234-4234-8234-123456789012&TerminateInstances=true".into(),
            "ModifyFleet" => "FleetId=fleet-12345678-1234-4234-8234-123456789012\
                 &TargetCapacitySpecification.TotalTargetCapacity=2"
                .into(),
            "DescribeFleetInstances" => "FleetId=fleet-12345678-1234-4234-8234-123456789012".into(),
            "DescribeFleetHistory" => {
                "FleetId=fleet-12345678-1234-4234-8234-123456789012&StartTime=2026-01-01T00:00:00Z".into()
            }
            "RequestSpotFleet" => "SpotFleetRequestConfig.IamFleetRole=arn:aws:iam::123456789012:role/fleet\
                 &SpotFleetRequestConfig.TargetCapacity=1\
                 &SpotFleetRequestConfig.LaunchSpecifications.1.ImageId=ami-08f6cfac8c54bafdd\
                 &SpotFleetRequestConfig.LaunchSpecifications.1.InstanceType=t3.micro"
                .into(),
            "CancelSpotFleetRequests" => {
                "SpotFleetRequestId.1=sfr-12345678-1234-4234-8234-123456789012&TerminateInstances=true".into()
            }
            "ModifySpotFleetRequest" => {
                "SpotFleetRequestId=sfr-12345678-1234-4234-8234-123456789012&TargetCapacity=2".into()
            }
            "DescribeSpotFleetInstances" => "SpotFleetRequestId=sfr-12345678-1234-4234-8234-123456789012".into(),
            "DescribeSpotFleetRequestHistory" => {
                "SpotFleetRequestId=sfr-12345678-1234-4234-8234-123456789012&StartTime=2026-01-01T00:00:00Z".into()
            }
            "CreateLaunchTemplateVersion" => "LaunchTemplateName=web&LaunchTemplateData.InstanceType=t3.micro".into(),
            "DeleteLaunchTemplate" | "ModifyLaunchTemplate" => "LaunchTemplateName=web".into(),
            "DeleteLaunchTemplateVersions" => "LaunchTemplateName=web&LaunchTemplateVersion.1=1".into(),
            "DescribeLaunchTemplateVersions" => "LaunchTemplateName=web".into(),
            "GetLaunchTemplateData" => format!("InstanceId={iid}"),
            // Storage and images.
            "AttachVolume" => format!("VolumeId={vol}&InstanceId={iid}&Device=/dev/sdf"),
            "CreateVolume" => "AvailabilityZone=us-east-1a&Size=1".into(),
            "DeleteVolume" | "DetachVolume" | "ModifyVolume" => format!("VolumeId={vol}"),
            "DescribeVolumeAttribute" => format!("VolumeId={vol}&Attribute=autoEnableIO"),
            "ModifyVolumeAttribute" => format!("VolumeId={vol}&AutoEnableIO.Value=true"),
            "ModifyEbsDefaultKmsKeyId" => "KmsKeyId=alias%2Fmine".into(),
            "CreateSnapshot" => format!("VolumeId={vol}"),
            "CreateImage" => format!("InstanceId={iid}&Name=my-image"),
            "RegisterImage" => format!(
                "Name=my-image&RootDeviceName=/dev/xvda&BlockDeviceMapping.1.DeviceName=/dev/xvda\
                 &BlockDeviceMapping.1.Ebs.SnapshotId={snap}"
            ),
            "CopyImage" => "Name=my-copy&SourceRegion=us-east-1&SourceImageId=ami-08f6cfac8c54bafdd".into(),
            "DeregisterImage" => "ImageId=ami-0123456789abcdef0".into(),
            "DescribeImageAttribute" | "ResetImageAttribute" => {
                "ImageId=ami-0123456789abcdef0&Attribute=launchPermission".into()
            }
            "ModifyImageAttribute" => "ImageId=ami-0123456789abcdef0&Attribute=description&Value=x".into(),
            "CreateSnapshots" => format!("InstanceSpecification.InstanceId={iid}"),
            "CopySnapshot" => format!("SourceRegion=us-east-1&SourceSnapshotId={snap}"),
            "DeleteSnapshot" => format!("SnapshotId={snap}"),
            "DescribeSnapshotAttribute" | "ResetSnapshotAttribute" => {
                format!("SnapshotId={snap}&Attribute=createVolumePermission")
            }
            "ModifySnapshotAttribute" => format!("SnapshotId={snap}&OperationType=add&UserId.1=444455556666"),
            "EnableEbsEncryptionByDefault"
            | "DisableEbsEncryptionByDefault"
            | "GetEbsEncryptionByDefault"
            | "GetEbsDefaultKmsKeyId"
            | "ResetEbsDefaultKmsKeyId" => String::new(),
            op if op.starts_with("Describe") => String::new(),
            _ => return None,
        })
    }

    /// Operations whose input has no `DryRun` member in the EC2 model.
    const NO_DRY_RUN: &[&str] = &[
        "AssociateIamInstanceProfile",
        "DescribeIamInstanceProfileAssociations",
        "DisassociateIamInstanceProfile",
        "ReplaceIamInstanceProfileAssociation",
    ];

    /// A request that does not decode still names its action in the log line (cut as echoed).
    #[test]
    fn the_log_names_the_action_of_a_request_that_does_not_decode() {
        let app = app(Some(&credentials()));
        for (body, action, expected) in [
            ("Action=NoSuchAction", "NoSuchAction".to_string(), "InvalidAction"),
            ("Action=AttachVolume", "AttachVolume".to_string(), "MissingParameter"),
            ("Action=DescribeInstances&MaxResults=x", "DescribeInstances".to_string(), "InvalidParameterValue"),
            (&format!("Action={}", "A".repeat(70)), format!("{}...", "A".repeat(64)), "InvalidAction"),
        ] {
            let r = call(&app, Some(ALL), "us-east-1", body);
            assert_eq!(code(&r).1, expected, "{body}: {}", r.body);
            assert_eq!(r.log.action.as_deref(), Some(action.as_str()), "{body}");
        }
    }

    #[test]
    fn every_operation_asks_for_permission_before_it_looks_anything_up() {
        let app = app(Some(&credentials()));
        for op in ec2_protocol::IMPLEMENTED_OPERATIONS {
            let params = valid_request(op)
                .unwrap_or_else(|| panic!("{op}: add a request that passes its syntax checks to valid_request"));
            let body = format!("Action={op}&{params}");
            let denied = call(&app, Some(NONE), "us-east-1", &body);
            assert_eq!(code(&denied), (403, "UnauthorizedOperation".into()), "{op}: {}", denied.body);
            assert!(denied.body.contains("Encoded authorization failure message: "), "{op}");
            // The log line names the action as sent (the decoded operation's own name).
            assert_eq!(denied.log.action.as_deref(), Some(op), "{op}");
            // Operations whose input has no DryRun member: their denial is checked above.
            if [
                "AssignPrivateIpAddresses",
                "AssociateVpcCidrBlock",
                "DisassociateVpcCidrBlock",
                "ModifySpotFleetRequest",
                "ModifySubnetAttribute",
                "ModifyVpcAttribute",
                "UnassignPrivateIpAddresses",
            ]
            .contains(&op)
            {
                continue;
            }
            let denied = call(&app, Some(NONE), "us-east-1", &format!("{body}&DryRun=true"));
            assert_eq!(code(&denied), (403, "UnauthorizedOperation".into()), "{op} DryRun: {}", denied.body);
            // The model gives the IAM instance profile association operations no DryRun member.
            if NO_DRY_RUN.contains(&op) {
                continue;
            }
            let allowed = call(&app, Some(ALL), "us-east-1", &format!("{body}&DryRun=true"));
            assert_eq!(code(&allowed), (412, "DryRunOperation".into()), "{op} DryRun: {}", allowed.body);
        }
        // nothing was created by any of them
        let r = call(&app, Some(ALL), "us-east-1", "Action=DescribeInstances");
        assert!(!r.body.contains("<instanceId>"), "{}", r.body);
    }

    #[test]
    fn syntax_then_permission_then_existence() {
        let app = app(Some(&credentials()));
        let missing = "Action=StopInstances&InstanceId.1=i-0123456789abcdef0";
        // a denied caller learns nothing about what exists
        assert_eq!(code(&call(&app, Some(NO_STOP), "us-east-1", missing)), (403, "UnauthorizedOperation".into()));
        let dry = format!("{missing}&DryRun=true");
        assert_eq!(code(&call(&app, Some(NO_STOP), "us-east-1", &dry)), (403, "UnauthorizedOperation".into()));
        // an allowed dry run does not look the instance up
        assert_eq!(code(&call(&app, Some(ALL), "us-east-1", &dry)), (412, "DryRunOperation".into()));
        // an allowed real run does
        assert_eq!(code(&call(&app, Some(ALL), "us-east-1", missing)), (400, "InvalidInstanceID.NotFound".into()));
        // a malformed request is malformed whoever sends it
        let malformed = "Action=StopInstances&InstanceId.1=i-xyz";
        assert_eq!(
            code(&call(&app, Some(NO_STOP), "us-east-1", malformed)),
            (400, "InvalidInstanceID.Malformed".into())
        );
        assert_eq!(
            code(&call(&app, Some(NONE), "us-east-1", "Action=StopInstances")),
            (400, "MissingParameter".into())
        );

        // a denied stop changes nothing; the allowed actions work
        let id = launch(&app, NO_STOP, "us-east-1");
        let stop = format!("Action=StopInstances&InstanceId.1={id}");
        assert_eq!(code(&call(&app, Some(NO_STOP), "us-east-1", &stop)), (403, "UnauthorizedOperation".into()));
        let describe = format!("Action=DescribeInstances&InstanceId.1={id}");
        let r = call(&app, Some(NO_STOP), "us-east-1", &describe);
        assert!(r.body.contains("<name>running</name>"), "{}", r.body);
        assert_eq!(call(&app, Some(ALL), "us-east-1", &stop).status, 200);
    }

    #[test]
    fn credentials_file_mode_refuses_bad_signatures() {
        let app = app(Some(&credentials()));
        let ts = ec2_sigv4::format_timestamp(crate::clock::wall_now());
        let unsigned: Vec<(&str, &[u8])> = vec![("host", b"localhost"), ("x-amz-date", ts.as_bytes())];
        let req =
            HttpRequest { method: "POST", path: "/", query: "", headers: &unsigned, body: b"Action=DescribeRegions" };
        let wrong = Signer { access_key: ALL, secret: "not-the-secret", region: "us-east-1", service: "ec2" }
            .authorization(&req, &ts, "host;x-amz-date");
        let mut headers = unsigned.clone();
        headers.push(("authorization", wrong.as_bytes()));
        let r = app.handle_ec2(&HttpRequest { headers: &headers, ..req });
        assert_eq!(code(&r), (403, "SignatureDoesNotMatch".into()));
        assert_eq!(
            code(&call(&app, Some("AKIAUNKNOWN"), "us-east-1", "Action=DescribeRegions")),
            (401, "AuthFailure".into())
        );
        assert_eq!(call(&app, Some(ALL), "us-east-1", "Action=DescribeRegions").status, 200);
    }
}
