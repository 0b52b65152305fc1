//! EBS volumes: CreateVolume, DeleteVolume, DescribeVolumes, AttachVolume, DetachVolume,
//! ModifyVolume, DescribeVolumeStatus, DescribeVolumesModifications, DescribeVolumeAttribute and
//! ModifyVolumeAttribute. The rules (type limits, states, devices) are `ec2_core::volumes`'; this
//! module loads, calls them and saves. Volume tags are central (`ResourceTags`).
//!
//! A volume attached to an instance that is terminated is released as of the termination: deleted
//! when its attachment says DeleteOnTermination, available otherwise.

use std::collections::BTreeMap;

use ec2_core::ebs_encryption::{self, EncryptionError};
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::instances::model::Transition;
use ec2_core::instances::{Instance, InstanceState};
use ec2_core::volumes::limits::{self, SpecErrorKind};
use ec2_core::volumes::{device_slot, Modification, Spec, SpecError, Volume, VolumeError, VolumeState, VolumeType};
use ec2_core::{regions, UnixMillis};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    fingerprint, five_to_thousand, flag, load_named_with, not_found, paginate, remember, replay, tag_set,
    tag_specifications, tags_for, well_formed,
};
use super::tags::ResourceTags;
use super::{dry_run_gate, ebs_encryption as encryption, filters, instances, snapshots, Ctx, Result};

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

pub fn spec_error(e: SpecError) -> Ec2Error {
    let message = e.message();
    match e.kind() {
        SpecErrorKind::Missing => Ec2Error::new(Code::MissingParameter, message),
        SpecErrorKind::Combination => Ec2Error::new(Code::InvalidParameterCombination, message),
        SpecErrorKind::Value => invalid(message),
    }
}

pub fn encryption_error(e: EncryptionError) -> Ec2Error {
    match e {
        EncryptionError::BadKmsKey(k) => invalid(format!("Invalid KMS key identifier: '{k}'.")),
        EncryptionError::KeyInOtherRegion { key, region } => {
            invalid(format!("The KMS key '{key}' is not in region '{region}'; a volume's key must be of its region."))
        }
        EncryptionError::KmsKeyWithoutEncrypted => Ec2Error::new(
            Code::InvalidParameterDependency,
            "The parameter KmsKeyId requires the parameter Encrypted to be set.",
        ),
        EncryptionError::CannotBeUnencrypted => Ec2Error::new(
            Code::InvalidParameterCombination,
            "The volume must be encrypted: its snapshot is encrypted or encryption by default is enabled.",
        ),
    }
}

/// The volume type named by a request (`gp2` when absent, as the API defaults).
pub fn volume_type(name: Option<&str>) -> Result<VolumeType> {
    match name {
        None => Ok(VolumeType::Gp2),
        Some(n) => VolumeType::parse(n).ok_or_else(|| {
            invalid(format!(
                "Value ({n}) for parameter volumeType is invalid. Valid values: standard, io1, io2, gp2, gp3, sc1, st1."
            ))
            .into()
        }),
    }
}

/// The zone a request names by name or ID, in the caller's region: `(name, id)`.
pub fn zone_of(ctx: &Ctx<'_>, name: Option<&str>, id: Option<&str>) -> Result<(String, String)> {
    let region = regions::region(&ctx.scope.region);
    let zones = region.map(|r| r.zones).unwrap_or_default();
    match (name, id) {
        (Some(_), Some(_)) => Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameters AvailabilityZone and AvailabilityZoneId cannot be used together.",
        )
        .into()),
        (Some(n), None) => zones
            .iter()
            .find(|z| z.name == n)
            .map(|z| (z.name.to_string(), z.id.to_string()))
            .ok_or_else(|| invalid(format!("Invalid availability zone: [{n}]")).into()),
        (None, Some(i)) => zones
            .iter()
            .find(|z| z.id == i)
            .map(|z| (z.name.to_string(), z.id.to_string()))
            .ok_or_else(|| invalid(format!("Invalid availability zone ID: [{i}]")).into()),
        (None, None) => Err(Ec2Error::missing_parameter("AvailabilityZone").into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

/// Whether an instance record says the instance is terminating or gone, and since when.
fn terminated_since(inst: Option<&Instance>, now: UnixMillis) -> Option<UnixMillis> {
    match inst {
        None => Some(now),
        Some(i) => {
            let terminating = matches!(i.state, InstanceState::ShuttingDown | InstanceState::Terminated)
                || i.pending.is_some_and(|p| p.transition == Transition::BecomeTerminated);
            terminating.then(|| i.terminated_at.unwrap_or(now))
        }
    }
}

/// Settles a loaded volume: completes due steps and releases it from a terminated instance.
/// `None` once it is gone (its record and tags are deleted then).
fn settled(ctx: &Ctx<'_>, tx: &mut Txn<'_>, mut v: Volume) -> Result<Option<Volume>> {
    let scope = ctx.scope.key();
    let before = v.clone();
    let mut present = v.settle(ctx.now);
    if present {
        if let Some(a) = v.attachment.clone() {
            let inst = tx.get::<Instance>(scope, &a.instance_id)?;
            if let Some(at) = terminated_since(inst.as_ref(), ctx.now) {
                if a.delete_on_termination {
                    v.delete_with_instance(at, ctx.storage_durations);
                } else {
                    v.release();
                }
                present = v.settle(ctx.now);
            }
        }
    }
    if !present {
        tx.delete::<Volume>(scope, &v.id)?;
        tx.delete::<ResourceTags>(scope, &v.id)?;
        return Ok(None);
    }
    if v != before {
        tx.put(scope, &v)?;
    }
    Ok(Some(v))
}

/// Every volume of the scope, settled.
pub fn load_all(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<Volume>> {
    let all: Vec<Volume> = tx.scan(ctx.scope.key())?;
    let mut out = Vec::with_capacity(all.len());
    for v in all {
        if let Some(v) = settled(ctx, tx, v)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// The named volumes, settled, in the order named; every unknown ID is reported at once.
pub fn load_many(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &[String]) -> Result<Vec<Volume>> {
    load_named_with(ctx, tx, IdKind::Volume, ids, |tx, v| settled(ctx, tx, v))
}

fn load_one(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Volume> {
    Ok(load_many(ctx, tx, &[id.to_string()])?.remove(0))
}

pub fn save(ctx: &Ctx<'_>, tx: &mut Txn<'_>, v: &Volume) -> Result<()> {
    tx.put(ctx.scope.key(), v)?;
    Ok(())
}

/// Whether a volume exists (for CreateTags).
pub fn exists(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<bool> {
    match tx.get::<Volume>(ctx.scope.key(), id)? {
        Some(v) => Ok(settled(ctx, tx, v)?.is_some()),
        None => Ok(false),
    }
}

fn tags_of(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<BTreeMap<String, String>> {
    Ok(tx.get::<ResourceTags>(ctx.scope.key(), id)?.map(|r| r.tags).unwrap_or_default())
}

/// Saves the tags a new resource was created with (central tags).
pub fn put_tags(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    id: &str,
    resource_type: &str,
    tags: &[(String, String)],
) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let tags: BTreeMap<String, String> = tags.iter().cloned().collect();
    tx.put(ctx.scope.key(), &ResourceTags { id: id.to_string(), resource_type: resource_type.to_string(), tags })?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Domain -> DTO

fn attachment_dto(v: &Volume) -> Vec<dto::VolumeAttachment> {
    v.attachment
        .iter()
        .map(|a| dto::VolumeAttachment {
            attach_time: Some(a.attach_time),
            device: Some(a.device.to_string()),
            instance_id: Some(a.instance_id.to_string()),
            state: Some(a.state.name().into()),
            volume_id: Some(v.id.to_string()),
            delete_on_termination: Some(a.delete_on_termination),
            ..Default::default()
        })
        .collect()
}

pub fn volume_dto(v: &Volume, tags: &BTreeMap<String, String>) -> dto::Volume {
    dto::Volume {
        volume_id: Some(v.id.to_string()),
        size: Some(i64::from(v.spec.size_gb)),
        snapshot_id: Some(v.snapshot_id.clone().unwrap_or_default().to_string()),
        availability_zone: Some(v.availability_zone.to_string()),
        availability_zone_id: Some(v.availability_zone_id.to_string()),
        state: Some(v.state.name().into()),
        create_time: Some(v.create_time),
        attachments: Some(attachment_dto(v)),
        encrypted: Some(v.encrypted),
        kms_key_id: v.kms_key_id.clone().map(Into::into),
        volume_type: Some(v.spec.volume_type.name().into()),
        iops: v.spec.iops.map(i64::from),
        throughput: v.spec.throughput.map(i64::from),
        multi_attach_enabled: Some(v.spec.multi_attach),
        fast_restored: Some(false),
        tags: tag_set(tags),
        ..Default::default()
    }
}

/// A volume with its tags, for filters.
pub struct VolumeRow {
    pub volume: Volume,
    pub tags: BTreeMap<String, String>,
}

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn bool_str(b: bool) -> Vec<String> {
    one(if b { "true" } else { "false" })
}

static VOLUME_FILTERS: FilterTable<VolumeRow> = FilterTable {
    entries: &[
        ("attachment.attach-time", |r| r.volume.attachment.iter().map(|a| a.attach_time.to_iso8601()).collect()),
        ("attachment.delete-on-termination", |r| {
            r.volume.attachment.iter().flat_map(|a| bool_str(a.delete_on_termination)).collect()
        }),
        ("attachment.device", |r| r.volume.attachment.iter().map(|a| a.device.to_string()).collect()),
        ("attachment.instance-id", |r| r.volume.attachment.iter().map(|a| a.instance_id.to_string()).collect()),
        ("attachment.status", |r| r.volume.attachment.iter().map(|a| a.state.name().to_string()).collect()),
        ("availability-zone", |r| one(r.volume.availability_zone.clone())),
        ("availability-zone-id", |r| one(r.volume.availability_zone_id.clone())),
        ("create-time", |r| one(r.volume.create_time.to_iso8601())),
        ("encrypted", |r| bool_str(r.volume.encrypted)),
        ("fast-restored", |_| bool_str(false)),
        ("multi-attach-enabled", |r| bool_str(r.volume.spec.multi_attach)),
        ("size", |r| one(r.volume.spec.size_gb.to_string())),
        ("snapshot-id", |r| r.volume.snapshot_id.iter().map(|s| s.to_string()).collect()),
        ("status", |r| one(r.volume.state.name())),
        ("volume-id", |r| one(r.volume.id.clone())),
        ("volume-type", |r| one(r.volume.spec.volume_type.name())),
        ("iops", |r| r.volume.spec.iops.iter().map(|i| i.to_string()).collect()),
        ("throughput", |r| r.volume.spec.throughput.iter().map(|i| i.to_string()).collect()),
        ("kms-key-id", |r| r.volume.kms_key_id.iter().map(|s| s.to_string()).collect()),
    ],
    tags: Some(|r| &r.tags),
};

// ---------------------------------------------------------------------------------------------
// Handlers

pub fn create_volume(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CreateVolumeRequest) -> Result<dto::Volume> {
    let specs = tag_specifications(&req.tag_specifications, &["volume"])?;
    let vtype = volume_type(req.volume_type.as_deref())?;
    let zone = zone_of(ctx, req.availability_zone.as_deref(), req.availability_zone_id.as_deref())?;
    if req.outpost_arn.is_some() {
        return Err(Ec2Error::new(Code::UnsupportedOperation, "ec2d has no Outposts.").into());
    }
    let snapshot_id = req.snapshot_id.clone().filter(|s| !s.is_empty());
    if let Some(s) = &snapshot_id {
        well_formed(IdKind::Snapshot, std::slice::from_ref(s))?;
    }
    if req.size.is_none() && snapshot_id.is_none() {
        return Err(Ec2Error::missing_parameter("size/snapshot").into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let token_key = req.client_token.as_ref().map(|t| format!("CreateVolume/{t}"));
    let canonical = dto::CreateVolumeRequest { client_token: None, dry_run: None, ..req.clone() };
    let print = fingerprint(&canonical);
    if let Some(ids) = replay(ctx, tx, token_key.as_deref(), &print)? {
        if let Some(v) = load_many(ctx, tx, &ids).ok().and_then(|mut v| v.pop()) {
            let tags = tags_of(ctx, tx, &v.id)?;
            return Ok(volume_dto(&v, &tags));
        }
    }
    let source = match &snapshot_id {
        Some(s) => Some(snapshots::volume_source(ctx, tx, s)?),
        None => None,
    };
    let size = match (req.size, &source) {
        (Some(n), Some(src)) if n < i64::from(src.size_gb) => {
            return Err(invalid(format!(
                "Volume of {n}GiB is smaller than snapshot '{}', expect size >= {}GiB",
                snapshot_id.clone().unwrap_or_default(),
                src.size_gb
            ))
            .into())
        }
        (Some(n), _) => n,
        (None, Some(src)) => i64::from(src.size_gb),
        (None, None) => 0,
    };
    let spec = limits::resolve(vtype, size, req.iops, req.throughput, req.multi_attach_enabled == Some(true))
        .map_err(spec_error)?;
    let defaults = encryption::settings(ctx, tx)?;
    let (encrypted, key) = ebs_encryption::resolve(
        ctx.scope,
        &defaults,
        req.encrypted,
        req.kms_key_id.as_deref(),
        source.as_ref().map(|s| (s.encrypted, s.kms_key_id.as_deref())),
    )
    .map_err(encryption_error)?;
    let id = super::common::new_id(ctx, tx, IdKind::Volume)?;
    let mut v =
        Volume::new(id, spec, (&zone.0, &zone.1), (encrypted, key), snapshot_id, ctx.now, ctx.storage_durations);
    v.client_token = req.client_token.clone().map(Into::into);
    save(ctx, tx, &v)?;
    let tags = tags_for(&specs, "volume");
    put_tags(ctx, tx, &v.id, "volume", &tags)?;
    remember(ctx, tx, token_key, print, vec![v.id.to_string()])?;
    Ok(volume_dto(&v, &tags.into_iter().collect()))
}

pub fn delete_volume(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DeleteVolumeRequest) -> Result<()> {
    let id = req.volume_id.clone().unwrap_or_default();
    well_formed(IdKind::Volume, std::slice::from_ref(&id))?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut v = load_one(ctx, tx, &id)?;
    v.delete(ctx.now, ctx.storage_durations).map_err(|e| match e {
        VolumeError::InUse(inst) => {
            Ec2Error::new(Code::VolumeInUse, format!("Volume {id} is currently attached to {inst}"))
        }
        other => state_error(&id, &other),
    })?;
    if v.settle(ctx.now) {
        save(ctx, tx, &v)?;
    } else {
        tx.delete::<Volume>(ctx.scope.key(), &id)?;
        tx.delete::<ResourceTags>(ctx.scope.key(), &id)?;
    }
    Ok(())
}

fn state_error(id: &str, e: &VolumeError) -> Ec2Error {
    match e {
        VolumeError::IncorrectState(s) => {
            Ec2Error::new(Code::IncorrectState, format!("The volume '{id}' is in the '{}' state.", s.name()))
        }
        other => Ec2Error::new(Code::IncorrectState, format!("The volume '{id}' cannot do this now ({other:?}).")),
    }
}

pub fn describe_volumes(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeVolumesRequest,
) -> Result<dto::DescribeVolumesResult> {
    let filters = filters(&VOLUME_FILTERS, &req.filters)?;
    let ids = well_formed(IdKind::Volume, req.volume_ids.as_deref().unwrap_or_default())?;
    if !ids.is_empty() && req.max_results.is_some() {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameter volumeSet cannot be used with the parameter maxResults",
        )
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let vols = if ids.is_empty() { load_all(ctx, tx)? } else { load_many(ctx, tx, &ids)? };
    let mut rows = Vec::with_capacity(vols.len());
    for v in vols {
        let tags = tags_of(ctx, tx, &v.id)?;
        let row = VolumeRow { volume: v, tags };
        if VOLUME_FILTERS.matches(&row, &filters) {
            rows.push(row);
        }
    }
    let (page, next) =
        paginate(rows, |r| r.volume.id.to_string(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeVolumesResult {
        volumes: Some(page.iter().map(|r| volume_dto(&r.volume, &r.tags)).collect()),
        next_token: next,
    })
}

/// The device names an instance uses: its root device, its own block devices, and the volumes
/// attached to it.
fn devices_of(inst: &Instance, vols: &[Volume]) -> Vec<String> {
    let mut out = vec![inst.root_device_name.to_string()];
    out.extend(inst.volumes.iter().map(|v| v.device_name.to_string()));
    out.extend(
        vols.iter()
            .filter_map(|v| v.attachment.as_ref())
            .filter(|a| a.instance_id == inst.id)
            .map(|a| a.device.to_string()),
    );
    out
}

pub fn attach_volume(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::AttachVolumeRequest) -> Result<dto::VolumeAttachment> {
    let id = req.volume_id.clone().unwrap_or_default();
    let instance_id = req.instance_id.clone().unwrap_or_default();
    let device = req.device.clone().unwrap_or_default();
    well_formed(IdKind::Volume, std::slice::from_ref(&id))?;
    well_formed(IdKind::Instance, std::slice::from_ref(&instance_id))?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut v = load_one(ctx, tx, &id)?;
    let inst = instances::load_many(ctx, tx, std::slice::from_ref(&instance_id))?.remove(0);
    let all = load_all(ctx, tx)?;
    let devices = devices_of(&inst, &all);
    v.attach(&inst.id, &inst.availability_zone, inst.state, &device, &devices, ctx.now, ctx.storage_durations)
        .map_err(|e| match e {
            VolumeError::InUse(_) => {
                Ec2Error::new(Code::VolumeInUse, format!("{id} is already attached to an instance"))
            }
            VolumeError::IncorrectState(_) => Ec2Error::new(Code::IncorrectState, format!("{id} is not 'available'.")),
            VolumeError::ZoneMismatch { .. } => Ec2Error::new(
                Code::InvalidVolumeZoneMismatch,
                format!("The volume '{id}' is not in the same availability zone as instance '{instance_id}'"),
            ),
            VolumeError::InstanceState(_) => Ec2Error::new(
                Code::IncorrectInstanceState,
                format!("Instance '{instance_id}' is not 'running' or 'stopped'."),
            ),
            VolumeError::BadDevice(d) => {
                invalid(format!("Value ({d}) for parameter device is invalid. {d} is not a valid EBS device name."))
            }
            VolumeError::DeviceInUse(d) => {
                invalid(format!("Invalid value '{d}' for unixDevice. Attachment point {d} is already in use"))
            }
            other => state_error(&id, &other),
        })?;
    save(ctx, tx, &v)?;
    // DescribeInstances shows the volume among the instance's block devices.
    let mut inst = inst;
    inst.volumes.push(ec2_core::instances::model::Volume {
        device_name: device.clone().into(),
        volume_id: v.id.clone(),
        size_gb: v.spec.size_gb,
        delete_on_termination: false,
        attach_time: ctx.now,
    });
    instances::save(ctx, tx, &inst)?;
    let mut a = attachment_dto(&v).into_iter().next().unwrap_or_default();
    a.delete_on_termination = None;
    Ok(a)
}

pub fn detach_volume(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DetachVolumeRequest) -> Result<dto::VolumeAttachment> {
    let id = req.volume_id.clone().unwrap_or_default();
    well_formed(IdKind::Volume, std::slice::from_ref(&id))?;
    if let Some(i) = &req.instance_id {
        well_formed(IdKind::Instance, std::slice::from_ref(i))?;
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut v = load_one(ctx, tx, &id)?;
    let root_of = match &v.attachment {
        Some(a) => tx
            .get::<Instance>(ctx.scope.key(), &a.instance_id)?
            .filter(|i| device_slot(&i.root_device_name) == device_slot(&a.device))
            .map(|i| i.state),
        None => None,
    };
    let before = attachment_dto(&v);
    v.detach(req.instance_id.as_deref(), req.device.as_deref(), root_of, ctx.now, ctx.storage_durations).map_err(
        |e| match e {
            VolumeError::NotAttached { instance_id: Some(i) } => Ec2Error::new(
                Code::InvalidAttachmentNotFound,
                format!("The volume '{id}' is not attached to instance '{i}'."),
            ),
            VolumeError::NotAttached { instance_id: None } => Ec2Error::new(
                Code::InvalidAttachmentNotFound,
                format!("The volume '{id}' is not attached at device '{}'.", req.device.clone().unwrap_or_default()),
            ),
            VolumeError::RootOfRunningInstance(i) => {
                Ec2Error::new(Code::IncorrectState, format!("Unable to detach root volume '{id}' from instance '{i}'"))
            }
            VolumeError::IncorrectState(s) => {
                Ec2Error::new(Code::IncorrectState, format!("Volume '{id}' is in the '{}' state.", s.name()))
            }
            other => state_error(&id, &other),
        },
    )?;
    let mut out = before.into_iter().next().unwrap_or_default();
    out.state = Some("detaching".into());
    if let Some(instance_id) = &out.instance_id {
        if let Some(mut inst) = tx.get::<Instance>(ctx.scope.key(), instance_id)? {
            inst.volumes.retain(|e| e.volume_id != id);
            instances::save(ctx, tx, &inst)?;
        }
    }
    out.delete_on_termination = None;
    if v.settle(ctx.now) {
        save(ctx, tx, &v)?;
    }
    Ok(out)
}

fn modification_dto(v: &Volume, m: &Modification, now: UnixMillis) -> dto::VolumeModification {
    let (state, progress, end) = m.view(now);
    let spec = |s: &Spec| (i64::from(s.size_gb), s.iops.map(i64::from), s.volume_type.name().to_string());
    let (os, oi, ot) = spec(&m.original);
    let (ts, ti, tt) = spec(&m.target);
    dto::VolumeModification {
        volume_id: Some(v.id.to_string()),
        modification_state: Some(state.name().into()),
        target_size: Some(ts),
        target_iops: ti,
        target_volume_type: Some(tt),
        target_throughput: m.target.throughput.map(i64::from),
        target_multi_attach_enabled: Some(m.target.multi_attach),
        original_size: Some(os),
        original_iops: oi,
        original_volume_type: Some(ot),
        original_throughput: m.original.throughput.map(i64::from),
        original_multi_attach_enabled: Some(m.original.multi_attach),
        progress: Some(progress),
        start_time: Some(m.start_time),
        end_time: end,
        ..Default::default()
    }
}

pub fn modify_volume(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyVolumeRequest,
) -> Result<dto::ModifyVolumeResult> {
    let id = req.volume_id.clone().unwrap_or_default();
    well_formed(IdKind::Volume, std::slice::from_ref(&id))?;
    let new_type = match &req.volume_type {
        Some(t) => Some(volume_type(Some(t))?),
        None => None,
    };
    dry_run_gate(ctx, req.dry_run)?;
    let mut v = load_one(ctx, tx, &id)?;
    let vtype = new_type.unwrap_or(v.spec.volume_type);
    let size = req.size.unwrap_or(i64::from(v.spec.size_gb));
    // IOPS and throughput carry over when the type keeps taking them.
    let same_type = vtype == v.spec.volume_type;
    let iops = req.iops.or(if same_type && vtype != VolumeType::Gp2 { v.spec.iops.map(i64::from) } else { None });
    let iops = if vtype == VolumeType::Gp3 && !same_type && req.iops.is_none() { None } else { iops };
    let throughput = req.throughput.or(if same_type { v.spec.throughput.map(i64::from) } else { None });
    let multi = req.multi_attach_enabled.unwrap_or(v.spec.multi_attach);
    let target = limits::resolve(vtype, size, iops, throughput, multi).map_err(spec_error)?;
    v.modify(target, ctx.now, ctx.storage_durations).map_err(|e| match e {
        VolumeError::ModificationInProgress => Ec2Error::new(
            Code::IncorrectModificationState,
            format!("Cannot modify volume {id}: the volume is already being modified."),
        ),
        VolumeError::Shrink { from, to } => {
            invalid(format!("New size cannot be smaller than existing size ({to}GiB < {from}GiB) for volume {id}."))
        }
        VolumeError::NoChange => Ec2Error::new(
            Code::InvalidParameterCombination,
            format!("New parameters for volume {id} must differ from the existing ones."),
        ),
        other => state_error(&id, &other),
    })?;
    save(ctx, tx, &v)?;
    let m = v.modifications.last().cloned().unwrap_or_else(|| unreachable_modification(&v));
    Ok(dto::ModifyVolumeResult { volume_modification: Some(modification_dto(&v, &m, ctx.now)) })
}

/// `modify` always records a modification; this keeps the handler total without a panic.
fn unreachable_modification(v: &Volume) -> Modification {
    Modification { original: v.spec, target: v.spec, start_time: v.create_time, modifying: 0, optimizing: 0 }
}

/// One modification row, for filters.
pub struct ModRow {
    pub volume_id: String,
    pub m: Modification,
    pub state: &'static str,
}

static MODIFICATION_FILTERS: FilterTable<ModRow> = FilterTable {
    entries: &[
        ("modification-state", |r| one(r.state)),
        ("original-iops", |r| r.m.original.iops.iter().map(|i| i.to_string()).collect()),
        ("original-size", |r| one(r.m.original.size_gb.to_string())),
        ("original-volume-type", |r| one(r.m.original.volume_type.name())),
        ("original-multi-attach-enabled", |r| bool_str(r.m.original.multi_attach)),
        ("start-time", |r| one(r.m.start_time.to_iso8601())),
        ("target-iops", |r| r.m.target.iops.iter().map(|i| i.to_string()).collect()),
        ("target-size", |r| one(r.m.target.size_gb.to_string())),
        ("target-volume-type", |r| one(r.m.target.volume_type.name())),
        ("target-throughput", |r| r.m.target.throughput.iter().map(|i| i.to_string()).collect()),
        ("target-multi-attach-enabled", |r| bool_str(r.m.target.multi_attach)),
        ("volume-id", |r| one(r.volume_id.clone())),
    ],
    tags: None,
};

pub fn describe_volumes_modifications(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeVolumesModificationsRequest,
) -> Result<dto::DescribeVolumesModificationsResult> {
    let filters = filters(&MODIFICATION_FILTERS, &req.filters)?;
    let ids = well_formed(IdKind::Volume, req.volume_ids.as_deref().unwrap_or_default())?;
    dry_run_gate(ctx, req.dry_run)?;
    let vols = if ids.is_empty() { load_all(ctx, tx)? } else { load_many(ctx, tx, &ids)? };
    let mut rows = Vec::new();
    for v in &vols {
        // The latest modification of each volume, as EC2 reports it.
        if let Some(m) = v.modifications.last() {
            let row = ModRow { volume_id: v.id.to_string(), m: m.clone(), state: m.view(ctx.now).0.name() };
            if MODIFICATION_FILTERS.matches(&row, &filters) {
                rows.push((v.clone(), row));
            }
        }
    }
    let (page, next) =
        paginate(rows, |(v, _)| v.id.to_string(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeVolumesModificationsResult {
        volumes_modifications: Some(page.iter().map(|(v, r)| modification_dto(v, &r.m, ctx.now)).collect()),
        next_token: next,
    })
}

/// A volume's status, for filters.
pub struct StatusRow {
    pub volume: Volume,
    pub status: &'static str,
    pub io_performance: &'static str,
}

fn status_row(v: Volume) -> StatusRow {
    let status = if v.state == VolumeState::Creating { "insufficient-data" } else { "ok" };
    let io_performance =
        if matches!(v.spec.volume_type, VolumeType::Io1 | VolumeType::Io2) { "normal" } else { "not-applicable" };
    StatusRow { volume: v, status, io_performance }
}

static STATUS_FILTERS: FilterTable<StatusRow> = FilterTable {
    entries: &[
        ("availability-zone", |r| one(r.volume.availability_zone.clone())),
        ("volume-status.status", |r| one(r.status)),
        ("volume-status.details-name", |_| vec!["io-enabled".into(), "io-performance".into()]),
        ("volume-status.details-status", |r| vec!["passed".into(), r.io_performance.into()]),
        ("action.code", |_| Vec::new()),
        ("action.description", |_| Vec::new()),
        ("action.event-id", |_| Vec::new()),
        ("event.description", |_| Vec::new()),
        ("event.event-id", |_| Vec::new()),
        ("event.event-type", |_| Vec::new()),
        ("event.not-after", |_| Vec::new()),
        ("event.not-before", |_| Vec::new()),
    ],
    tags: None,
};

pub fn describe_volume_status(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeVolumeStatusRequest,
) -> Result<dto::DescribeVolumeStatusResult> {
    let filters = filters(&STATUS_FILTERS, &req.filters)?;
    let ids = well_formed(IdKind::Volume, req.volume_ids.as_deref().unwrap_or_default())?;
    dry_run_gate(ctx, req.dry_run)?;
    let vols = if ids.is_empty() { load_all(ctx, tx)? } else { load_many(ctx, tx, &ids)? };
    let rows: Vec<StatusRow> =
        vols.into_iter().map(status_row).filter(|r| STATUS_FILTERS.matches(r, &filters)).collect();
    let (page, next) =
        paginate(rows, |r| r.volume.id.to_string(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeVolumeStatusResult {
        volume_statuses: Some(
            page.iter()
                .map(|r| dto::VolumeStatusItem {
                    volume_id: Some(r.volume.id.to_string()),
                    availability_zone: Some(r.volume.availability_zone.to_string()),
                    availability_zone_id: Some(r.volume.availability_zone_id.to_string()),
                    volume_status: Some(dto::VolumeStatusInfo {
                        status: Some(r.status.into()),
                        details: Some(vec![
                            dto::VolumeStatusDetails { name: Some("io-enabled".into()), status: Some("passed".into()) },
                            dto::VolumeStatusDetails {
                                name: Some("io-performance".into()),
                                status: Some(r.io_performance.into()),
                            },
                        ]),
                    }),
                    actions: Some(vec![]),
                    events: Some(vec![]),
                    attachment_statuses: Some(
                        r.volume
                            .attachment
                            .iter()
                            .map(|a| dto::VolumeStatusAttachmentStatus {
                                instance_id: Some(a.instance_id.to_string()),
                                io_performance: Some(r.io_performance.into()),
                            })
                            .collect(),
                    ),
                    ..Default::default()
                })
                .collect(),
        ),
        next_token: next,
    })
}

fn attribute_error(name: &str) -> Ec2Error {
    invalid(format!("Value ({name}) for parameter attribute is invalid. Unknown attribute."))
}

pub fn describe_volume_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeVolumeAttributeRequest,
) -> Result<dto::DescribeVolumeAttributeResult> {
    let id = req.volume_id.clone().unwrap_or_default();
    well_formed(IdKind::Volume, std::slice::from_ref(&id))?;
    let attribute = req.attribute.clone().unwrap_or_default();
    if !matches!(attribute.as_str(), "autoEnableIO" | "productCodes") {
        return Err(attribute_error(&attribute).into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let v = load_one(ctx, tx, &id)?;
    Ok(dto::DescribeVolumeAttributeResult {
        volume_id: Some(v.id.to_string()),
        auto_enable_io: (attribute == "autoEnableIO")
            .then_some(dto::AttributeBooleanValue { value: flag(v.auto_enable_io) }),
        product_codes: (attribute == "productCodes").then(Vec::new),
    })
}

pub fn modify_volume_attribute(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::ModifyVolumeAttributeRequest) -> Result<()> {
    let id = req.volume_id.clone().unwrap_or_default();
    well_formed(IdKind::Volume, std::slice::from_ref(&id))?;
    let Some(value) = req.auto_enable_io.as_ref().and_then(|a| a.value) else {
        return Err(Ec2Error::new(Code::InvalidParameterCombination, "No attributes specified.").into());
    };
    dry_run_gate(ctx, req.dry_run)?;
    let mut v = load_one(ctx, tx, &id)?;
    v.auto_enable_io = value;
    save(ctx, tx, &v)?;
    Ok(())
}

/// The volumes attached to an instance, in device order (for DescribeInstances and CreateImage).
pub fn attached_to(ctx: &Ctx<'_>, tx: &mut Txn<'_>, instance_id: &str) -> Result<Vec<Volume>> {
    let mut v: Vec<Volume> = load_all(ctx, tx)?.into_iter().filter(|v| v.attached_to() == Some(instance_id)).collect();
    v.sort_by(|a, b| {
        let dev = |v: &Volume| v.attachment.as_ref().map(|a| a.device.clone()).unwrap_or_default();
        dev(a).cmp(&dev(b))
    });
    Ok(v)
}

/// `not_found` for volumes (used by other families that name volumes).
pub fn volume_not_found(id: &str) -> Ec2Error {
    not_found(IdKind::Volume, &[id.to_string()])
}
