//! The EC2 request pipeline, independent of HTTP:
//! verify the signature -> caller and scope -> `Action` -> decode and validate -> authorize ->
//! service -> XML.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ec2_core::bundle_tasks::BundleDurations;
use ec2_core::ids::IdGen;
use ec2_core::instances::Durations;
use ec2_core::spot::SpotDurations;
use ec2_protocol::{encode_response, is_operation, Code, Ec2Error, Node, Request};
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
    pub config: Config,
    /// Who may call: the credentials file's identities, or open mode (identity.rs).
    pub identities: Arc<Identities>,
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

/// The account of a caller whose access key is not a 12-digit account number, in open mode.
pub use crate::identity::DEFAULT_ACCOUNT;

impl App {
    pub fn new(config: Config, store: Store) -> Result<App, String> {
        let virtual_start = ec2_time::parse_iso8601(&config.clock_start)
            .ok_or_else(|| format!("--clock-start {:?} is not an ISO 8601 timestamp", config.clock_start))?;
        let (durations, bundle_durations, spot_durations) = config.durations()?;
        let identities = Arc::new(Identities::from_path(config.credentials_file.as_deref())?);
        identities.watch(identity::RELOAD_INTERVAL);
        Ok(App {
            identities,
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
        let request_id = self.next_request_id();
        let mut pairs = Node::parse_form(http.query.as_bytes());
        pairs.extend(Node::parse_form(http.body));
        let node = Node::from_pairs(pairs);
        match self.run(http, &node, &request_id) {
            Ok(body) => Reply { status: 200, body, request_id },
            Err(e) => Reply { status: e.status(), body: e.to_xml(&request_id), request_id },
        }
    }

    fn run(&self, http: &HttpRequest<'_>, node: &Node, request_id: &str) -> Result<String, Ec2Error> {
        // The skew window is about real time: the wall clock, never the virtual one.
        let caller = self.identities.authenticate(http, crate::clock::wall_now())?;
        let scope = caller.scope();
        let action = match node.get("Action") {
            Some(a) if !a.is_empty() => a,
            _ => return Err(Ec2Error::new(Code::MissingAction, "The request must contain the parameter Action")),
        };
        let request = match Request::decode(action, node) {
            Some(decoded) => decoded?,
            None if is_operation(action) => return Err(Ec2Error::not_implemented(action)),
            None => return Err(Ec2Error::invalid_action(action)),
        };
        let permission = caller.authorize(action, &identity::request_resources(&scope, &request));
        let clock = |tx: &mut ec2_store::Txn<'_>| self.clock.now(tx);
        let response = service::call(&self.store, &self.settings(), &clock, &scope, &request, &permission)?;
        Ok(encode_response(&response, request_id))
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
            "CreateTags" => format!("ResourceId.1={iid}&Tag.1.Key=k&Tag.1.Value=v"),
            "DeleteTags" => format!("ResourceId.1={iid}"),
            "RebootInstances" | "StartInstances" | "StopInstances" | "TerminateInstances" => format!("InstanceId.1={iid}"),
            "RequestSpotInstances" => "LaunchSpecification.ImageId=ami-08f6cfac8c54bafdd&LaunchSpecification.InstanceType=t3.micro".into(),
            "RunInstances" => "ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount=1&MaxCount=1".into(),
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
