//! BundleInstance, DescribeBundleTasks and CancelBundleTask.
//!
//! Only a running, instance-store-backed Windows instance can be bundled, one task at a time. The
//! `Storage.S3` parameters are checked the way the AWS CLI builds them: a bucket name S3 accepts, a
//! prefix, an access key ID, an upload policy that is base64 of a JSON S3 POST policy (with an
//! `expiration` in the future, the same bucket, and a `$key` condition the prefix satisfies), and a
//! signature that is base64 of an HMAC-SHA1 (20 bytes). The signature cannot be verified: the secret
//! never reaches EC2. A task's state and progress follow `ec2_core::bundle_tasks`; while the guest is
//! shut down for bundling, DescribeInstanceStatus reports the instance unreachable.

use ec2_core::bundle_tasks::{BundleError, BundleState, BundleTask, BundleView};
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::instances::{Instance, InstanceState, RootDeviceType};
use ec2_core::text::base64_decode;
use ec2_core::UnixMillis;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{load_named, new_id, well_formed};
use super::{dry_run_gate, filters, instances, Ctx, Result};

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

/// S3's bucket naming rules: 3 to 63 characters of lower-case letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, no `..`, and not an IPv4 address.
fn valid_bucket(b: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&b.len())
        && b.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(b.chars().next())
        && edge(b.chars().last())
        && !b.contains("..")
        && b.split('.').filter(|p| p.parse::<u8>().is_ok()).count() != 4
}

fn valid_access_key(k: &str) -> bool {
    (16..=128).contains(&k.len()) && k.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Checks the upload policy: base64 JSON with a future `expiration`, a `bucket` condition naming
/// `bucket`, and a `starts-with $key` condition that `prefix` satisfies.
fn check_policy(policy_b64: &str, bucket: &str, prefix: &str, now: UnixMillis) -> Result<()> {
    let bytes = base64_decode(policy_b64)
        .ok_or_else(|| invalid("Value for parameter Storage.S3.UploadPolicy is invalid: it is not base64."))?;
    let policy: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        invalid("Value for parameter Storage.S3.UploadPolicy is invalid: it is not a JSON policy document.")
    })?;
    let expiration = policy
        .get("expiration")
        .and_then(|e| e.as_str())
        .and_then(ec2_time::parse_iso8601)
        .ok_or_else(|| invalid("The upload policy has no valid expiration."))?;
    if expiration <= now {
        return Err(invalid("The upload policy has expired.").into());
    }
    let conditions = policy
        .get("conditions")
        .and_then(|c| c.as_array())
        .ok_or_else(|| invalid("The upload policy has no conditions."))?;
    let names_bucket = conditions.iter().any(|c| {
        c.get("bucket").and_then(|b| b.as_str()) == Some(bucket)
            || c.as_array()
                .is_some_and(|a| a.len() == 3 && a[0] == "eq" && a[1] == "$bucket" && a[2].as_str() == Some(bucket))
    });
    if !names_bucket {
        return Err(invalid(format!("The upload policy does not grant access to bucket '{bucket}'.")).into());
    }
    let key_ok = conditions.iter().any(|c| {
        c.as_array().is_some_and(|a| {
            a.len() == 3
                && (a[0] == "starts-with" || a[0] == "eq")
                && a[1] == "$key"
                && a[2].as_str().is_some_and(|p| if a[0] == "eq" { prefix == p } else { prefix.starts_with(p) })
        })
    });
    if !key_ok {
        return Err(invalid(format!("The upload policy does not allow keys with the prefix '{prefix}'.")).into());
    }
    Ok(())
}

fn storage_dto(t: &BundleTask) -> dto::Storage {
    dto::Storage {
        s3: Some(dto::S3Storage {
            bucket: Some(t.bucket.clone()),
            prefix: Some(t.prefix.clone()),
            ..Default::default()
        }),
    }
}

fn task_dto(t: &BundleTask, v: &BundleView) -> dto::BundleTask {
    dto::BundleTask {
        instance_id: Some(t.instance_id.clone()),
        bundle_id: Some(t.id.clone()),
        state: Some(v.state.name().into()),
        start_time: Some(t.start_time),
        update_time: Some(v.update_time),
        storage: Some(storage_dto(t)),
        progress: v.progress.map(|p| format!("{p}%")),
        bundle_task_error: v
            .error
            .as_ref()
            .map(|e| dto::BundleTaskError { code: Some(e.code.clone()), message: Some(e.message.clone()) }),
    }
}

fn all_tasks(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<BundleTask>> {
    Ok(tx.scan::<BundleTask>(ctx.scope.key())?)
}

pub fn bundle_instance(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::BundleInstanceRequest,
) -> Result<dto::BundleInstanceResult> {
    let instance_id = req.instance_id.clone().unwrap_or_default();
    well_formed(IdKind::Instance, std::slice::from_ref(&instance_id))?;
    let s3 = req.storage.as_ref().and_then(|s| s.s3.clone()).unwrap_or_default();
    let need = |v: &Option<String>, name: &str| -> Result<String> {
        v.clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Ec2Error::missing_parameter(&format!("Storage.S3.{name}")).into())
    };
    let bucket = need(&s3.bucket, "Bucket")?;
    let prefix = need(&s3.prefix, "Prefix")?;
    let access_key = need(&s3.aws_access_key_id, "AWSAccessKeyId")?;
    let policy = need(&s3.upload_policy, "UploadPolicy")?;
    let signature = need(&s3.upload_policy_signature, "UploadPolicySignature")?;
    if !valid_bucket(&bucket) {
        return Err(invalid(format!(
            "Value ({bucket}) for parameter Storage.S3.Bucket is invalid. It is not a valid S3 bucket name."
        ))
        .into());
    }
    if !valid_access_key(&access_key) {
        return Err(invalid(format!(
            "Value ({access_key}) for parameter Storage.S3.AWSAccessKeyId is invalid. It is not an access key ID."
        ))
        .into());
    }
    check_policy(&policy, &bucket, &prefix, ctx.now)?;
    if base64_decode(&signature).map(|s| s.len()) != Some(20) {
        return Err(invalid(
            "Value for parameter Storage.S3.UploadPolicySignature is invalid. Expected the base64 of an HMAC-SHA1 signature.",
        )
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let inst = instances::load_many(ctx, tx, std::slice::from_ref(&instance_id))?.remove(0);
    if inst.platform.as_deref() != Some("windows") || inst.root_device_type != RootDeviceType::InstanceStore {
        return Err(Ec2Error::new(
            Code::InvalidInstanceType,
            format!(
                "The instance '{instance_id}' cannot be bundled: only instance store-backed Windows instances can."
            ),
        )
        .into());
    }
    if inst.state != InstanceState::Running {
        return Err(Ec2Error::new(
            Code::IncorrectInstanceState,
            format!("The instance '{instance_id}' is not in a state from which it can be bundled."),
        )
        .into());
    }
    if let Some(busy) = all_tasks(ctx, tx)?.iter().find(|t| t.instance_id == instance_id && t.in_progress(ctx.now)) {
        return Err(Ec2Error::new(
            Code::BundlingInProgress,
            format!("The instance '{instance_id}' is already being bundled by task '{}'.", busy.id),
        )
        .into());
    }
    let id = new_id(ctx, tx, IdKind::BundleTask)?;
    let task = BundleTask::new(id, instance_id, bucket, prefix, ctx.now, ctx.bundle_durations);
    tx.put(ctx.scope.key(), &task)?;
    record_transitions(tx, ctx.scope.key(), &task, ctx.now)?;
    Ok(dto::BundleInstanceResult { bundle_task: Some(task_dto(&task, &task.started())) })
}

/// A task seen at a moment, for filters.
pub struct TaskRow {
    pub task: BundleTask,
    pub view: BundleView,
}

static BUNDLE_FILTERS: FilterTable<TaskRow> = FilterTable {
    entries: &[
        ("bundle-id", |r| vec![r.task.id.clone()]),
        ("error-code", |r| r.view.error.iter().map(|e| e.code.clone()).collect()),
        ("error-message", |r| r.view.error.iter().map(|e| e.message.clone()).collect()),
        ("instance-id", |r| vec![r.task.instance_id.clone()]),
        ("progress", |r| r.view.progress.map(|p| format!("{p}%")).into_iter().collect()),
        ("s3-bucket", |r| vec![r.task.bucket.clone()]),
        ("s3-prefix", |r| vec![r.task.prefix.clone()]),
        ("start-time", |r| vec![r.task.start_time.to_iso8601()]),
        ("state", |r| vec![r.view.state.name().to_string()]),
        ("update-time", |r| vec![r.view.update_time.to_iso8601()]),
    ],
    tags: None,
};

/// Bundle IDs have no documented `.Malformed` error: any ID that is not a task is NotFound.
fn load(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &[String]) -> Result<Vec<BundleTask>> {
    load_named(ctx, tx, IdKind::BundleTask, ids)
}

pub fn describe_bundle_tasks(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeBundleTasksRequest,
) -> Result<dto::DescribeBundleTasksResult> {
    let filters = filters(&BUNDLE_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let ids = req.bundle_ids.clone().unwrap_or_default();
    let tasks = if ids.is_empty() { all_tasks(ctx, tx)? } else { load(ctx, tx, &ids)? };
    let rows: Vec<TaskRow> = tasks
        .into_iter()
        .map(|task| TaskRow { view: task.view(ctx.now), task })
        .filter(|r| BUNDLE_FILTERS.matches(r, &filters))
        .collect();
    Ok(dto::DescribeBundleTasksResult { bundle_tasks: Some(rows.iter().map(|r| task_dto(&r.task, &r.view)).collect()) })
}

pub fn cancel_bundle_task(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CancelBundleTaskRequest,
) -> Result<dto::CancelBundleTaskResult> {
    let id = req.bundle_id.clone().unwrap_or_default();
    dry_run_gate(ctx, req.dry_run)?;
    let mut task = load(ctx, tx, std::slice::from_ref(&id))?.remove(0);
    task.cancel(ctx.now).map_err(|state| {
        Ec2Error::new(
            Code::IncorrectState,
            format!("The bundle task '{id}' is in state '{}' and cannot be cancelled.", state.name()),
        )
    })?;
    tx.put(ctx.scope.key(), &task)?;
    record_transitions(tx, ctx.scope.key(), &task, ctx.now)?;
    Ok(dto::CancelBundleTaskResult { bundle_task: Some(task_dto(&task, &task.view(ctx.now))) })
}

/// The control API: fails a task in progress now with `code` and `message`. `Ok(None)` when no
/// scope has the task; `Err` (an EC2 error) when it has already ended.
pub fn fail_task(
    tx: &mut Txn<'_>,
    now: UnixMillis,
    id: &str,
    code: &str,
    message: &str,
) -> Result<Option<dto::BundleTask>> {
    for scope in tx.scopes::<BundleTask>()? {
        if let Some(mut task) = tx.get::<BundleTask>(&scope, id)? {
            task.fail(now, BundleError { code: code.into(), message: message.into() }).map_err(|state| {
                Ec2Error::new(
                    Code::IncorrectState,
                    format!("The bundle task '{id}' has already ended ({}).", state.name()),
                )
            })?;
            tx.put(&scope, &task)?;
            record_transitions(tx, &scope, &task, now)?;
            return Ok(Some(task_dto(&task, &task.view(now))));
        }
    }
    Ok(None)
}

/// Records the task's states reached by `now` on its timeline, each at the time it began (a task's
/// course is a pure function of time, so nothing is missed between two reads).
pub fn record_transitions(
    tx: &mut Txn<'_>,
    scope: &str,
    task: &BundleTask,
    now: UnixMillis,
) -> std::result::Result<(), ec2_store::StoreError> {
    for v in task.transitions(now) {
        let reason = match (&v.error, v.progress) {
            (Some(e), _) => format!("{}: {}", e.code, e.message),
            (None, Some(p)) => format!("{p}%"),
            (None, None) => String::new(),
        };
        super::events::record(tx, scope, "bundle_task", &task.id, v.update_time, v.state.name(), &reason)?;
    }
    Ok(())
}

/// Whether the instance's guest is shut down for a bundle task at `now` (for its status checks).
pub fn shut_down_for_bundling(tasks: &[BundleTask], inst: &Instance, now: UnixMillis) -> bool {
    tasks.iter().filter(|t| t.instance_id == inst.id).any(|t| {
        let (from, to) = t.shutdown_window();
        let v = t.view(now);
        from <= now && now < to && matches!(v.state, BundleState::WaitingForShutdown | BundleState::Bundling)
    })
}

/// The bundle tasks of the scope, for DescribeInstanceStatus.
pub fn scope_tasks(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<BundleTask>> {
    all_tasks(ctx, tx)
}
