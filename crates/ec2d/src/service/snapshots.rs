//! EBS snapshots: CreateSnapshot, CreateSnapshots, DeleteSnapshot, DescribeSnapshots,
//! CopySnapshot and Describe/Modify/ResetSnapshotAttribute. A snapshot is `pending` with a growing
//! progress, then `completed` (`ec2_core::snapshots`); new volumes can be made from completed ones;
//! one an image uses cannot be deleted. Tags are central (`ResourceTags`).

use std::collections::BTreeMap;

use ec2_core::catalog::images::IMAGES;
use ec2_core::ebs_encryption;
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::snapshots::{self, PermissionChange, PermissionError, Permissions, Snapshot, NO_VOLUME};
use ec2_core::volumes::{device_slot, Volume, VolumeState};
use ec2_core::{regions, Scope};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::{Record, Txn, GLOBAL};
use serde::{Deserialize, Serialize};

use super::common::{
    five_to_thousand, load_named, new_id, not_found, paginate, tag_set, tag_specifications, tags_for, well_formed,
};
use super::tags::ResourceTags;
use super::volumes::{self, encryption_error, put_tags};
use super::{dry_run_gate, ebs_encryption as encryption, filters, images, instances, Ctx, Result};

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

/// What a new volume takes from the snapshot it is created from.
pub struct VolumeSource {
    pub size_gb: u32,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
}

/// Where a snapshot shared with other accounts lives: one record per shared snapshot in the
/// global scope, kept in step with its create-volume permissions, so that the accounts of its
/// region find it without scanning every scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotShare {
    pub id: String,
    /// The owner's scope key (`account/region`).
    pub scope: String,
}

impl Record for SnapshotShare {
    const KIND: &'static str = "snapshot_share";
    fn id(&self) -> &str {
        &self.id
    }
}

/// Keeps the share record of a snapshot (`None`: deleted) in step with its permissions.
fn index_share(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str, s: Option<&Snapshot>) -> Result<()> {
    match s.filter(|s| snapshots::is_shared(s)) {
        Some(_) => tx.put(GLOBAL, &SnapshotShare { id: id.to_string(), scope: ctx.scope.key().to_string() })?,
        None => {
            tx.delete::<SnapshotShare>(GLOBAL, id)?;
        }
    }
    Ok(())
}

/// A snapshot of another account of the caller's region that the caller may create volumes from.
fn shared(ctx: &Ctx<'_>, tx: &mut Txn<'_>, share: &SnapshotShare) -> Result<Option<Snapshot>> {
    let same_region = share.scope.rsplit_once('/').map(|(_, r)| r) == Some(ctx.scope.region.as_str());
    if share.scope == ctx.scope.key() || !same_region {
        return Ok(None);
    }
    let account = ctx.scope.account.as_str();
    Ok(tx.get::<Snapshot>(&share.scope, &share.id)?.filter(|s| snapshots::listed_for(s, account, &[], &[])))
}

/// The snapshot `id` as the caller sees it: its own, or one another account shares with it.
fn visible(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Option<Snapshot>> {
    if let Some(s) = tx.get::<Snapshot>(ctx.scope.key(), id)? {
        return Ok(Some(s));
    }
    match tx.get::<SnapshotShare>(GLOBAL, id)? {
        Some(share) => shared(ctx, tx, &share),
        None => Ok(None),
    }
}

fn find(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Snapshot> {
    visible(ctx, tx, id)?.ok_or_else(|| not_found(IdKind::Snapshot, &[id.to_string()]).into())
}

/// The snapshot a new volume is created from: a completed snapshot of the scope or shared with
/// the caller's account, or the root snapshot of a catalogue image.
pub fn volume_source(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<VolumeSource> {
    if let Some(i) = IMAGES.iter().find(|i| i.snapshot_id == Some(id)) {
        return Ok(VolumeSource { size_gb: i.root_volume_gb, encrypted: false, kms_key_id: None });
    }
    let s = find(ctx, tx, id)?;
    if !s.is_completed(ctx.now) {
        return Err(Ec2Error::new(Code::IncorrectState, format!("Snapshot '{id}' is not 'completed'.")).into());
    }
    Ok(VolumeSource { size_gb: s.volume_size, encrypted: s.encrypted, kms_key_id: s.kms_key_id })
}

pub fn load_all(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<Snapshot>> {
    Ok(tx.scan::<Snapshot>(ctx.scope.key())?)
}

pub fn load_many(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &[String]) -> Result<Vec<Snapshot>> {
    load_named(ctx, tx, IdKind::Snapshot, ids)
}

fn load_one(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Snapshot> {
    Ok(load_many(ctx, tx, &[id.to_string()])?.remove(0))
}

/// Whether a snapshot exists (for CreateTags).
pub fn exists(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<bool> {
    Ok(tx.get::<Snapshot>(ctx.scope.key(), id)?.is_some())
}

fn tags_of(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<BTreeMap<String, String>> {
    Ok(tx.get::<ResourceTags>(ctx.scope.key(), id)?.map(|r| r.tags).unwrap_or_default())
}

fn progress(s: &Snapshot, ctx: &Ctx<'_>) -> (String, String) {
    let (state, p) = s.view(ctx.now);
    (state.name().to_string(), format!("{p}%"))
}

pub fn snapshot_dto(ctx: &Ctx<'_>, s: &Snapshot, tags: &BTreeMap<String, String>) -> dto::Snapshot {
    let (state, progress) = progress(s, ctx);
    dto::Snapshot {
        snapshot_id: Some(s.id.clone()),
        volume_id: Some(s.volume_id.clone()),
        state: Some(state),
        start_time: Some(s.start_time),
        progress: Some(progress),
        owner_id: Some(s.owner_id.clone()),
        description: Some(s.description.clone()),
        volume_size: Some(i64::from(s.volume_size)),
        encrypted: Some(s.encrypted),
        kms_key_id: s.kms_key_id.clone(),
        storage_tier: Some("standard".into()),
        completion_time: s.is_completed(ctx.now).then(|| s.completion_time()),
        tags: tag_set(tags),
        ..Default::default()
    }
}

/// A snapshot as the response that starts it shows it: `pending` (the next request sees its
/// progress, even on the instant clock).
fn started_dto(ctx: &Ctx<'_>, s: &Snapshot, tags: &BTreeMap<String, String>) -> dto::Snapshot {
    dto::Snapshot {
        state: Some("pending".into()),
        progress: Some("0%".into()),
        completion_time: None,
        ..snapshot_dto(ctx, s, tags)
    }
}

/// Takes a snapshot of `volume` now (CreateSnapshot, CreateSnapshots, CreateImage).
pub fn take(ctx: &Ctx<'_>, tx: &mut Txn<'_>, volume: &Volume, description: &str) -> Result<Snapshot> {
    if matches!(volume.state, VolumeState::Creating | VolumeState::Deleting) {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("The volume '{}' is in the '{}' state.", volume.id, volume.state.name()),
        )
        .into());
    }
    let s = Snapshot {
        id: new_id(ctx, tx, IdKind::Snapshot)?,
        owner_id: ctx.scope.account.clone(),
        volume_id: volume.id.to_string(),
        volume_size: volume.spec.size_gb,
        description: description.to_string(),
        start_time: ctx.now,
        duration: ctx.storage_durations.snapshot,
        encrypted: volume.encrypted,
        kms_key_id: volume.kms_key_id.clone().map(Into::into),
        create_volume_permission: Permissions::default(),
        source: None,
    };
    tx.put(ctx.scope.key(), &s)?;
    Ok(s)
}

fn description(d: &Option<String>) -> Result<String> {
    let d = d.clone().unwrap_or_default();
    snapshots::check_description(&d)
        .map_err(|_| invalid("Value for parameter description is invalid: it is longer than 255 characters."))?;
    Ok(d)
}

pub fn create_snapshot(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CreateSnapshotRequest) -> Result<dto::Snapshot> {
    let specs = tag_specifications(&req.tag_specifications, &["snapshot"])?;
    let volume_id = req.volume_id.clone().unwrap_or_default();
    well_formed(IdKind::Volume, std::slice::from_ref(&volume_id))?;
    let description = description(&req.description)?;
    dry_run_gate(ctx, req.dry_run)?;
    let volume = volumes::load_many(ctx, tx, std::slice::from_ref(&volume_id))?.remove(0);
    let s = take(ctx, tx, &volume, &description)?;
    let tags = tags_for(&specs, "snapshot");
    put_tags(ctx, tx, &s.id, "snapshot", &tags)?;
    Ok(started_dto(ctx, &s, &tags.into_iter().collect()))
}

pub fn create_snapshots(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateSnapshotsRequest,
) -> Result<dto::CreateSnapshotsResult> {
    let specs = tag_specifications(&req.tag_specifications, &["snapshot"])?;
    let spec = req.instance_specification.clone().unwrap_or_default();
    let instance_id =
        spec.instance_id.clone().ok_or_else(|| Ec2Error::missing_parameter("InstanceSpecification.InstanceId"))?;
    well_formed(IdKind::Instance, std::slice::from_ref(&instance_id))?;
    let excluded = well_formed(IdKind::Volume, spec.exclude_data_volume_ids.as_deref().unwrap_or_default())?;
    let copy_tags = match req.copy_tags_from_source.as_deref() {
        None => false,
        Some("volume") => true,
        Some(other) => {
            return Err(invalid(format!("Value ({other}) for parameter CopyTagsFromSource is invalid.")).into())
        }
    };
    let description = description(&req.description)?;
    dry_run_gate(ctx, req.dry_run)?;
    let inst = instances::load_many(ctx, tx, std::slice::from_ref(&instance_id))?.remove(0);
    let attached = volumes::attached_to(ctx, tx, &inst.id)?;
    let root = device_slot(&inst.root_device_name);
    let chosen: Vec<&Volume> = attached
        .iter()
        .filter(|v| {
            let is_root = v.attachment.as_ref().is_some_and(|a| device_slot(&a.device) == root);
            !(excluded.iter().any(|e| *e == v.id) || is_root && spec.exclude_boot_volume == Some(true))
        })
        .collect();
    let base = tags_for(&specs, "snapshot");
    let mut out = Vec::new();
    for v in chosen {
        let s = take(ctx, tx, v, &description)?;
        let mut tags: BTreeMap<String, String> = BTreeMap::new();
        if copy_tags {
            tags.extend(tags_of(ctx, tx, &v.id)?);
        }
        tags.extend(base.iter().cloned());
        put_tags(ctx, tx, &s.id, "snapshot", &tags.clone().into_iter().collect::<Vec<_>>())?;
        let d = started_dto(ctx, &s, &tags);
        out.push(dto::SnapshotInfo {
            description: d.description,
            tags: d.tags,
            encrypted: d.encrypted,
            volume_id: d.volume_id,
            state: d.state,
            volume_size: d.volume_size,
            start_time: d.start_time,
            progress: d.progress,
            owner_id: d.owner_id,
            snapshot_id: d.snapshot_id,
            ..Default::default()
        });
    }
    Ok(dto::CreateSnapshotsResult { snapshots: Some(out) })
}

pub fn delete_snapshot(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DeleteSnapshotRequest) -> Result<()> {
    let id = req.snapshot_id.clone().unwrap_or_default();
    well_formed(IdKind::Snapshot, std::slice::from_ref(&id))?;
    dry_run_gate(ctx, req.dry_run)?;
    load_one(ctx, tx, &id)?;
    if let Some(ami) = images::using_snapshot(ctx, tx, &id)? {
        return Err(Ec2Error::new(
            Code::InvalidSnapshotInUse,
            format!("The snapshot {id} is currently in use by {ami}"),
        )
        .into());
    }
    tx.delete::<Snapshot>(ctx.scope.key(), &id)?;
    tx.delete::<ResourceTags>(ctx.scope.key(), &id)?;
    index_share(ctx, tx, &id, None)?;
    Ok(())
}

/// A snapshot with its tags and state, for filters.
pub struct SnapshotRow {
    pub snapshot: Snapshot,
    pub tags: BTreeMap<String, String>,
    pub state: String,
    pub progress: String,
}

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

static SNAPSHOT_FILTERS: FilterTable<SnapshotRow> = FilterTable {
    entries: &[
        ("description", |r| one(r.snapshot.description.clone())),
        ("encrypted", |r| one(if r.snapshot.encrypted { "true" } else { "false" })),
        ("kms-key-id", |r| r.snapshot.kms_key_id.iter().cloned().collect()),
        ("owner-alias", |_| Vec::new()),
        ("owner-id", |r| one(r.snapshot.owner_id.clone())),
        ("progress", |r| one(r.progress.clone())),
        ("snapshot-id", |r| one(r.snapshot.id.clone())),
        ("start-time", |r| one(r.snapshot.start_time.to_iso8601())),
        ("status", |r| one(r.state.clone())),
        ("storage-tier", |_| one("standard")),
        ("volume-id", |r| one(r.snapshot.volume_id.clone())),
        ("volume-size", |r| one(r.snapshot.volume_size.to_string())),
    ],
    tags: Some(|r| &r.tags),
};

pub fn describe_snapshots(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSnapshotsRequest,
) -> Result<dto::DescribeSnapshotsResult> {
    let filters = filters(&SNAPSHOT_FILTERS, &req.filters)?;
    let ids = well_formed(IdKind::Snapshot, req.snapshot_ids.as_deref().unwrap_or_default())?;
    dry_run_gate(ctx, req.dry_run)?;
    let account = ctx.scope.account.as_str();
    let owners = req.owner_ids.clone().unwrap_or_default();
    let restorable = req.restorable_by_user_ids.clone().unwrap_or_default();
    // The caller's own snapshots, and those other accounts of the region share with it (their
    // owners' tags are not shown).
    let mut snaps: Vec<(Snapshot, bool)> = Vec::new();
    if ids.is_empty() {
        snaps.extend(load_all(ctx, tx)?.into_iter().map(|s| (s, true)));
        for share in tx.scan::<SnapshotShare>(GLOBAL)? {
            snaps.extend(shared(ctx, tx, &share)?.map(|s| (s, false)));
        }
        snaps.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    } else {
        let mut missing = Vec::new();
        for id in &ids {
            match visible(ctx, tx, id)? {
                Some(s) => {
                    let own = s.owner_id == account;
                    snaps.push((s, own));
                }
                None => missing.push(id.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(not_found(IdKind::Snapshot, &missing).into());
        }
        snaps.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        snaps.dedup_by(|a, b| a.0.id == b.0.id);
    }
    let mut rows = Vec::new();
    for (s, own) in snaps {
        if !snapshots::listed_for(&s, account, &owners, &restorable) {
            continue;
        }
        let tags = if own { tags_of(ctx, tx, &s.id)? } else { BTreeMap::new() };
        let (state, progress) = progress(&s, ctx);
        let row = SnapshotRow { snapshot: s, tags, state, progress };
        if SNAPSHOT_FILTERS.matches(&row, &filters) {
            rows.push(row);
        }
    }
    let (page, next) =
        paginate(rows, |r| r.snapshot.id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeSnapshotsResult {
        snapshots: Some(page.iter().map(|r| snapshot_dto(ctx, &r.snapshot, &r.tags)).collect()),
        next_token: next,
    })
}

pub fn copy_snapshot(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CopySnapshotRequest,
) -> Result<dto::CopySnapshotResult> {
    let specs = tag_specifications(&req.tag_specifications, &["snapshot"])?;
    let source_region = req.source_region.clone().ok_or_else(|| Ec2Error::missing_parameter("SourceRegion"))?;
    let source_id = req.source_snapshot_id.clone().ok_or_else(|| Ec2Error::missing_parameter("SourceSnapshotId"))?;
    well_formed(IdKind::Snapshot, std::slice::from_ref(&source_id))?;
    if regions::region(&source_region).is_none() {
        return Err(
            invalid(format!("Value ({source_region}) for parameter SourceRegion is invalid. Unknown region.")).into()
        );
    }
    let description = description(&req.description)?;
    dry_run_gate(ctx, req.dry_run)?;
    let source_scope = Scope::new(ctx.scope.account.clone(), source_region.clone());
    let source = tx
        .get::<Snapshot>(source_scope.key(), &source_id)?
        .ok_or_else(|| not_found(IdKind::Snapshot, std::slice::from_ref(&source_id)))?;
    if !source.is_completed(ctx.now) {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("Snapshot '{source_id}' is not 'completed': only completed snapshots can be copied."),
        )
        .into());
    }
    let defaults = encryption::settings(ctx, tx)?;
    // A copy keeps the source's encryption, or is encrypted on request; a key of the source's
    // region is not one of this region, so an encrypted copy takes the request's or the default key.
    let (encrypted, key) = ebs_encryption::resolve(
        ctx.scope,
        &defaults,
        req.encrypted,
        req.kms_key_id.as_deref(),
        Some((source.encrypted, None)),
    )
    .map_err(encryption_error)?;
    let s = Snapshot {
        id: new_id(ctx, tx, IdKind::Snapshot)?,
        owner_id: ctx.scope.account.clone(),
        volume_id: NO_VOLUME.into(),
        volume_size: source.volume_size,
        description: if description.is_empty() {
            format!("[Copied {source_id} from {source_region}] {}", source.description).trim_end().to_string()
        } else {
            description
        },
        start_time: ctx.now,
        duration: ctx.storage_durations.snapshot,
        encrypted,
        kms_key_id: key,
        create_volume_permission: Permissions::default(),
        source: Some((source_region, source_id)),
    };
    tx.put(ctx.scope.key(), &s)?;
    let tags = tags_for(&specs, "snapshot");
    put_tags(ctx, tx, &s.id, "snapshot", &tags)?;
    Ok(dto::CopySnapshotResult { snapshot_id: Some(s.id), tags: tag_set(&tags.into_iter().collect()) })
}

fn attribute_of(name: &Option<String>, allowed: &[&str]) -> Result<String> {
    let a = name.clone().ok_or_else(|| Ec2Error::missing_parameter("Attribute"))?;
    if !allowed.contains(&a.as_str()) {
        return Err(invalid(format!("Value ({a}) for parameter attribute is invalid. Unknown attribute.")).into());
    }
    Ok(a)
}

pub fn permissions_dto(p: &Permissions) -> Vec<dto::CreateVolumePermission> {
    let mut out = Vec::new();
    if p.public {
        out.push(dto::CreateVolumePermission { group: Some("all".into()), user_id: None });
    }
    out.extend(p.users.iter().map(|u| dto::CreateVolumePermission { user_id: Some(u.clone()), group: None }));
    out
}

pub fn describe_snapshot_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSnapshotAttributeRequest,
) -> Result<dto::DescribeSnapshotAttributeResult> {
    let id = req.snapshot_id.clone().unwrap_or_default();
    well_formed(IdKind::Snapshot, std::slice::from_ref(&id))?;
    let attribute = attribute_of(&req.attribute, &["createVolumePermission", "productCodes"])?;
    dry_run_gate(ctx, req.dry_run)?;
    let s = load_one(ctx, tx, &id)?;
    Ok(dto::DescribeSnapshotAttributeResult {
        snapshot_id: Some(s.id.clone()),
        create_volume_permissions: (attribute == "createVolumePermission")
            .then(|| permissions_dto(&s.create_volume_permission)),
        product_codes: (attribute == "productCodes").then(Vec::new),
    })
}

/// `(user ID, group)` entries of a structured permission list.
pub type PermissionList = Vec<(Option<String>, Option<String>)>;

/// The permission changes of a Modify*Attribute request: the structured `Add`/`Remove` lists, or
/// `OperationType` with `UserIds`/`GroupNames`.
pub fn permission_changes(
    structured: Option<(PermissionList, PermissionList)>,
    operation_type: &Option<String>,
    user_ids: &Option<Vec<String>>,
    group_names: &Option<Vec<String>>,
) -> Result<Vec<PermissionChange>> {
    let mut changes = Vec::new();
    if let Some((add, remove)) = structured {
        for (is_add, list) in [(true, add), (false, remove)] {
            if list.is_empty() {
                continue;
            }
            changes.push(PermissionChange {
                add: is_add,
                groups: list.iter().filter_map(|(_, g)| g.clone()).collect(),
                users: list.iter().filter_map(|(u, _)| u.clone()).collect(),
            });
        }
    }
    let users = user_ids.clone().unwrap_or_default();
    let groups = group_names.clone().unwrap_or_default();
    if !users.is_empty() || !groups.is_empty() {
        let add = match operation_type.as_deref() {
            Some("add") => true,
            Some("remove") => false,
            None => return Err(Ec2Error::missing_parameter("OperationType").into()),
            Some(o) => return Err(invalid(format!("Value ({o}) for parameter OperationType is invalid.")).into()),
        };
        changes.push(PermissionChange { add, groups, users });
    }
    if changes.is_empty() {
        return Err(Ec2Error::new(Code::InvalidParameterCombination, "No attributes specified.").into());
    }
    Ok(changes)
}

pub fn permission_error(e: PermissionError, what: &str) -> Ec2Error {
    match e {
        PermissionError::BadGroup(g) => {
            invalid(format!("Value ({g}) for parameter group is invalid. Only 'all' is allowed."))
        }
        PermissionError::BadUser(u) => {
            invalid(format!("Value ({u}) for parameter userId is invalid. It is not an AWS account ID."))
        }
        PermissionError::EncryptedPublic => {
            Ec2Error::new(Code::InvalidParameter, format!("Encrypted {what} cannot be shared publicly."))
        }
    }
}

pub fn modify_snapshot_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifySnapshotAttributeRequest,
) -> Result<()> {
    let id = req.snapshot_id.clone().unwrap_or_default();
    well_formed(IdKind::Snapshot, std::slice::from_ref(&id))?;
    if let Some(a) = &req.attribute {
        if a != "createVolumePermission" {
            return Err(invalid(format!(
                "Value ({a}) for parameter attribute is invalid. Only createVolumePermission can be modified."
            ))
            .into());
        }
    }
    let pair = |l: &Option<Vec<dto::CreateVolumePermission>>| -> PermissionList {
        l.iter().flatten().map(|p| (p.user_id.clone(), p.group.clone())).collect()
    };
    let structured = req.create_volume_permission.as_ref().map(|m| (pair(&m.add), pair(&m.remove)));
    let changes = permission_changes(structured, &req.operation_type, &req.user_ids, &req.group_names)?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut s = load_one(ctx, tx, &id)?;
    s.create_volume_permission.apply(&changes, s.encrypted).map_err(|e| permission_error(e, "snapshots"))?;
    tx.put(ctx.scope.key(), &s)?;
    index_share(ctx, tx, &id, Some(&s))?;
    Ok(())
}

pub fn reset_snapshot_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ResetSnapshotAttributeRequest,
) -> Result<()> {
    let id = req.snapshot_id.clone().unwrap_or_default();
    well_formed(IdKind::Snapshot, std::slice::from_ref(&id))?;
    attribute_of(&req.attribute, &["createVolumePermission"])?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut s = load_one(ctx, tx, &id)?;
    s.create_volume_permission = Permissions::default();
    tx.put(ctx.scope.key(), &s)?;
    index_share(ctx, tx, &id, Some(&s))?;
    Ok(())
}
