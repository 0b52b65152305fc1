//! Machine images: DescribeImages (the catalogue's public images merged with the account's own),
//! CreateImage, RegisterImage, DeregisterImage, CopyImage and Describe/Modify/ResetImageAttribute.
//! An image is `pending` until its snapshots and the image itself are done on the clock, then
//! `available`; its snapshots cannot be deleted while it is registered. Tags are central.

use std::collections::BTreeMap;

use ec2_core::catalog::images::IMAGES;
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::images::{self, Image, ImageBdm, ImageEbs, ImageState};
use ec2_core::instances::{InstanceState, RootDeviceType};
use ec2_core::snapshots::{Permissions, Snapshot, NO_VOLUME};
use ec2_core::volumes::{device_slot, limits, valid_device_name, Volume, VolumeType};
use ec2_core::{ebs_encryption, regions, Scope, UnixMillis};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::{Record, Txn, GLOBAL};
use serde::{Deserialize, Serialize};

use super::common::{
    fingerprint, five_to_thousand, new_id, not_found, paginate, remember, replay, tag_set, tag_specifications,
    tags_for, well_formed,
};
use super::snapshots::{self as snaps, permission_changes, permission_error, PermissionList};
use super::tags::ResourceTags;
use super::volumes::{self, encryption_error, put_tags, spec_error};
use super::{dry_run_gate, ebs_encryption as encryption, filters, instances, Ctx, Result};

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

/// Where an image shared with other accounts lives: one record per shared image in the global
/// scope, so that other accounts of its region find it without scanning every scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageShare {
    pub id: String,
    /// The owner's scope key (`account/region`).
    pub scope: String,
}

impl Record for ImageShare {
    const KIND: &'static str = "image_share";
    fn id(&self) -> &str {
        &self.id
    }
}

/// Keeps the share record of an image in step with its launch permissions.
fn index_share(ctx: &Ctx<'_>, tx: &mut Txn<'_>, image: &Image, registered: bool) -> Result<()> {
    let p = &image.launch_permission;
    if registered && (p.public || !p.users.is_empty()) {
        tx.put(GLOBAL, &ImageShare { id: image.id.clone(), scope: ctx.scope.key().to_string() })?;
    } else {
        tx.delete::<ImageShare>(GLOBAL, &image.id)?;
    }
    Ok(())
}

/// An image of another account of the caller's region that the caller may launch.
fn shared(ctx: &Ctx<'_>, tx: &mut Txn<'_>, share: &ImageShare) -> Result<Option<Image>> {
    let own = ctx.scope.key();
    let same_region = share.scope.rsplit_once('/').map(|(_, r)| r) == Some(ctx.scope.region.as_str());
    if share.scope == own || !same_region {
        return Ok(None);
    }
    Ok(tx.get::<Image>(&share.scope, &share.id)?.filter(|i| i.launchable_by(&ctx.scope.account)))
}

/// The image `id` as the caller sees it: its own image, a catalogue image, or an image another
/// account shares with it.
pub fn find(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Option<Image>> {
    if let Some(i) = tx.get::<Image>(ctx.scope.key(), id)? {
        return Ok(Some(i));
    }
    if let Some(i) = ec2_core::catalog::images::image(id) {
        return Ok(Some(Image::from_catalog(i)));
    }
    match tx.get::<ImageShare>(GLOBAL, id)? {
        Some(share) => shared(ctx, tx, &share),
        None => Ok(None),
    }
}

/// The image a launch names: a `resolve:ssm:` parameter of AWS's public AMIs, the caller's own
/// image (once available), a catalogue image, or, for a well-formed ID no image has, a generic
/// image of `architecture` (refused with `--strict-images`).
pub fn for_launch(ctx: &Ctx<'_>, tx: &mut Txn<'_>, image_id: &str, architecture: &str) -> Result<Image> {
    let id = match images::resolve_ssm(image_id) {
        Some(Ok(id)) => id.to_string(),
        Some(Err(parameter)) => {
            return Err(invalid(format!(
                "Invalid value '{image_id}' for ImageId: the parameter {parameter} is not one of AWS's public AMI parameters ec2d knows."
            ))
            .into())
        }
        None => image_id.to_string(),
    };
    well_formed(IdKind::Image, std::slice::from_ref(&id))?;
    match find(ctx, tx, &id)? {
        Some(i) if i.state(ctx.now) != ImageState::Available => {
            Err(Ec2Error::new(Code::InvalidAmiIdUnavailable, format!("Image {id} is not available yet (pending)."))
                .into())
        }
        Some(i) => Ok(i),
        None if ctx.strict_images => Err(not_found(IdKind::Image, &[id]).into()),
        None => Ok(images::generic(&id, architecture)),
    }
}

fn load(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Image> {
    find(ctx, tx, id)?.ok_or_else(|| not_found(IdKind::Image, &[id.to_string()]).into())
}

/// The caller's own image `id` (a catalogue image or a shared one is not the caller's to change).
fn load_own(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Image> {
    let image = load(ctx, tx, id)?;
    if image.catalog || image.owner_id != ctx.scope.account {
        return Err(Ec2Error::new(Code::AuthFailure, format!("Not authorized for image:{id}")).into());
    }
    Ok(image)
}

/// Whether the caller has an image `id` (for CreateTags).
pub fn exists(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<bool> {
    Ok(tx.get::<Image>(ctx.scope.key(), id)?.is_some())
}

/// The image of the scope that uses a snapshot, if any.
pub fn using_snapshot(ctx: &Ctx<'_>, tx: &mut Txn<'_>, snapshot_id: &str) -> Result<Option<String>> {
    Ok(tx
        .scan::<Image>(ctx.scope.key())?
        .into_iter()
        .find(|i| i.snapshot_ids().any(|s| s == snapshot_id))
        .map(|i| i.id))
}

fn tags_of(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<BTreeMap<String, String>> {
    Ok(tx.get::<ResourceTags>(ctx.scope.key(), id)?.map(|r| r.tags).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Domain -> DTO

fn bdm_dto(b: &ImageBdm) -> dto::BlockDeviceMapping {
    dto::BlockDeviceMapping {
        device_name: Some(b.device_name.clone()),
        virtual_name: b.virtual_name.clone(),
        ebs: b.ebs.as_ref().map(|e| dto::EbsBlockDevice {
            delete_on_termination: Some(e.delete_on_termination),
            snapshot_id: e.snapshot_id.clone(),
            volume_size: Some(i64::from(e.volume_size)),
            volume_type: Some(e.volume_type.name().into()),
            encrypted: Some(e.encrypted),
            kms_key_id: e.kms_key_id.clone(),
            iops: e.iops.map(i64::from),
            throughput: e.throughput.map(i64::from),
            ..Default::default()
        }),
        no_device: None,
    }
}

pub fn image_dto(i: &Image, tags: &BTreeMap<String, String>, now: UnixMillis) -> dto::Image {
    dto::Image {
        image_id: Some(i.id.clone()),
        image_location: Some(i.image_location.clone()),
        state: Some(i.state(now).name().into()),
        owner_id: Some(i.owner_id.clone()),
        creation_date: Some(i.created_at.to_iso8601()),
        public: Some(i.launch_permission.public),
        product_codes: Some(vec![]),
        architecture: Some(i.architecture.clone()),
        image_type: Some("machine".into()),
        platform: i.platform.clone(),
        platform_details: Some(i.platform_details.clone()),
        usage_operation: Some(i.usage_operation.clone()),
        block_device_mappings: Some(i.block_device_mappings.iter().map(bdm_dto).collect()),
        description: i.description.clone(),
        ena_support: Some(i.ena_support),
        hypervisor: Some("xen".into()),
        image_owner_alias: i.owner_alias.clone(),
        name: Some(i.name.clone()),
        root_device_name: Some(i.root_device_name.clone()),
        root_device_type: Some(i.root_device_type.clone()),
        sriov_net_support: i.sriov_net_support.clone(),
        virtualization_type: Some(i.virtualization_type.clone()),
        boot_mode: i.boot_mode.clone(),
        tpm_support: i.tpm_support.clone(),
        imds_support: i.imds_support.clone(),
        kernel_id: i.kernel_id.clone(),
        ramdisk_id: i.ramdisk_id.clone(),
        source_instance_id: i.source_instance_id.clone(),
        source_image_id: i.source_image_id.clone(),
        source_image_region: i.source_image_region.clone(),
        image_allowed: Some(true),
        free_tier_eligible: Some(i.catalog && i.platform.is_none() && i.root_device_type == "ebs"),
        deregistration_protection: (!i.catalog).then(|| "disabled".into()),
        tags: tag_set(tags),
        ..Default::default()
    }
}

/// An image with its tags and state, for filters.
pub struct ImageRow {
    pub image: Image,
    pub tags: BTreeMap<String, String>,
    pub state: ImageState,
}

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn flag(b: bool) -> Vec<String> {
    one(if b { "true" } else { "false" })
}

fn ebs_values(r: &ImageRow, f: fn(&ImageEbs) -> Option<String>) -> Vec<String> {
    r.image.block_device_mappings.iter().filter_map(|b| b.ebs.as_ref()).filter_map(f).collect()
}

static IMAGE_FILTERS: FilterTable<ImageRow> = FilterTable {
    entries: &[
        ("architecture", |r| one(r.image.architecture.clone())),
        ("block-device-mapping.delete-on-termination", |r| {
            ebs_values(r, |e| Some(e.delete_on_termination.to_string()))
        }),
        ("block-device-mapping.device-name", |r| {
            r.image.block_device_mappings.iter().map(|b| b.device_name.clone()).collect()
        }),
        ("block-device-mapping.snapshot-id", |r| ebs_values(r, |e| e.snapshot_id.clone())),
        ("block-device-mapping.volume-size", |r| ebs_values(r, |e| Some(e.volume_size.to_string()))),
        ("block-device-mapping.volume-type", |r| ebs_values(r, |e| Some(e.volume_type.name().to_string()))),
        ("block-device-mapping.encrypted", |r| ebs_values(r, |e| Some(e.encrypted.to_string()))),
        ("creation-date", |r| one(r.image.created_at.to_iso8601())),
        ("description", |r| r.image.description.iter().cloned().collect()),
        ("ena-support", |r| flag(r.image.ena_support)),
        ("free-tier-eligible", |r| {
            flag(r.image.catalog && r.image.platform.is_none() && r.image.root_device_type == "ebs")
        }),
        ("hypervisor", |_| one("xen")),
        ("image-allowed", |_| flag(true)),
        ("image-id", |r| one(r.image.id.clone())),
        ("image-type", |_| one("machine")),
        ("is-public", |r| flag(r.image.launch_permission.public)),
        ("kernel-id", |r| r.image.kernel_id.iter().cloned().collect()),
        ("manifest-location", |r| one(r.image.image_location.clone())),
        ("name", |r| one(r.image.name.clone())),
        ("owner-alias", |r| r.image.owner_alias.iter().cloned().collect()),
        ("owner-id", |r| one(r.image.owner_id.clone())),
        ("platform", |r| r.image.platform.iter().cloned().collect()),
        ("product-code", |_| Vec::new()),
        ("product-code.type", |_| Vec::new()),
        ("ramdisk-id", |r| r.image.ramdisk_id.iter().cloned().collect()),
        ("root-device-name", |r| one(r.image.root_device_name.clone())),
        ("root-device-type", |r| one(r.image.root_device_type.clone())),
        ("source-image-id", |r| r.image.source_image_id.iter().cloned().collect()),
        ("source-image-region", |r| r.image.source_image_region.iter().cloned().collect()),
        ("source-instance-id", |r| r.image.source_instance_id.iter().cloned().collect()),
        ("state", |r| one(r.state.name())),
        ("state-reason-code", |_| Vec::new()),
        ("state-reason-message", |_| Vec::new()),
        ("sriov-net-support", |r| r.image.sriov_net_support.iter().cloned().collect()),
        ("virtualization-type", |r| one(r.image.virtualization_type.clone())),
        ("platform-details", |r| one(r.image.platform_details.clone())),
        ("usage-operation", |r| one(r.image.usage_operation.clone())),
        ("boot-mode", |r| r.image.boot_mode.iter().cloned().collect()),
        ("tpm-support", |r| r.image.tpm_support.iter().cloned().collect()),
        ("imds-support", |r| r.image.imds_support.iter().cloned().collect()),
    ],
    tags: Some(|r| &r.tags),
};

pub fn describe_images(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeImagesRequest,
) -> Result<dto::DescribeImagesResult> {
    let ids = well_formed(IdKind::Image, req.image_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&IMAGE_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let account = ctx.scope.account.as_str();
    let mut all: Vec<Image> = tx.scan::<Image>(ctx.scope.key())?;
    all.extend(IMAGES.iter().map(Image::from_catalog));
    for share in tx.scan::<ImageShare>(GLOBAL)? {
        all.extend(shared(ctx, tx, &share)?);
    }
    let missing: Vec<String> = ids.iter().filter(|id| !all.iter().any(|i| &i.id == *id)).cloned().collect();
    if !missing.is_empty() {
        return Err(not_found(IdKind::Image, &missing).into());
    }
    let owners = req.owners.as_deref().unwrap_or_default();
    let owned_by = |i: &Image| {
        owners.is_empty()
            || owners.iter().any(|o| {
                (o == "self" && i.owner_id == account) || *o == i.owner_id || Some(o) == i.owner_alias.as_ref()
            })
    };
    let users = req.executable_users.as_deref().unwrap_or_default();
    let executable = |i: &Image| {
        users.is_empty()
            || users.iter().any(|u| match u.as_str() {
                "all" => i.launch_permission.public,
                "self" => i.launchable_by(account),
                other => i.launchable_by(other),
            })
    };
    let mut rows = Vec::new();
    for image in all {
        if !(ids.is_empty() || ids.contains(&image.id)) || !owned_by(&image) || !executable(&image) {
            continue;
        }
        let tags = if image.owner_id == account { tags_of(ctx, tx, &image.id)? } else { BTreeMap::new() };
        let row = ImageRow { state: image.state(ctx.now), image, tags };
        if IMAGE_FILTERS.matches(&row, &filters) {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| a.image.id.cmp(&b.image.id));
    let (page, next) =
        paginate(rows, |r| r.image.id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeImagesResult {
        images: Some(page.iter().map(|r| image_dto(&r.image, &r.tags, ctx.now)).collect()),
        next_token: next,
    })
}

// ---------------------------------------------------------------------------------------------
// Making images

fn check_name(name: &Option<String>) -> Result<String> {
    let name = name.clone().ok_or_else(|| Ec2Error::missing_parameter("Name"))?;
    images::check_name(&name).map_err(|_| {
        Ec2Error::new(
            Code::InvalidAmiNameMalformed,
            format!(
                "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', \
                 '-', '/', '_', spaces, brackets, apostrophes and '@' ({name})"
            ),
        )
    })?;
    Ok(name)
}

fn check_description(d: &Option<String>) -> Result<()> {
    if d.as_ref().is_some_and(|d| d.chars().count() > 255) {
        return Err(invalid("Value for parameter description is invalid: it is longer than 255 characters.").into());
    }
    Ok(())
}

fn unique_name(ctx: &Ctx<'_>, tx: &mut Txn<'_>, name: &str) -> Result<()> {
    if let Some(other) = tx.scan::<Image>(ctx.scope.key())?.into_iter().find(|i| i.name == name) {
        return Err(Ec2Error::new(
            Code::InvalidAmiNameDuplicate,
            format!("AMI name {name} is already in use by AMI {}", other.id),
        )
        .into());
    }
    Ok(())
}

/// A request's block device mapping, checked for syntax.
struct BdmRequest {
    device: String,
    no_device: bool,
    virtual_name: Option<String>,
    ebs: Option<dto::EbsBlockDevice>,
}

fn bdm_requests(list: &Option<Vec<dto::BlockDeviceMapping>>) -> Result<Vec<BdmRequest>> {
    let mut out: Vec<BdmRequest> = Vec::new();
    for b in list.iter().flatten() {
        let device =
            b.device_name.clone().ok_or_else(|| Ec2Error::missing_parameter("BlockDeviceMapping.DeviceName"))?;
        if !valid_device_name(&device) {
            return Err(Ec2Error::new(Code::InvalidBlockDeviceMapping, format!("Invalid device name {device}")).into());
        }
        if out.iter().any(|o| device_slot(&o.device) == device_slot(&device)) {
            return Err(Ec2Error::new(
                Code::InvalidBlockDeviceMapping,
                format!("The device {device} is named more than once."),
            )
            .into());
        }
        if let Some(s) = b.ebs.as_ref().and_then(|e| e.snapshot_id.as_ref()) {
            well_formed(IdKind::Snapshot, std::slice::from_ref(s))?;
        }
        out.push(BdmRequest {
            device,
            no_device: b.no_device.is_some(),
            virtual_name: b.virtual_name.clone(),
            ebs: b.ebs.clone(),
        });
    }
    Ok(out)
}

/// An EBS mapping of a request, from `snapshot` (id, size, encrypted, key) when it has one.
fn ebs_of(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    device: &str,
    e: &dto::EbsBlockDevice,
    base: Option<ImageEbs>,
) -> Result<ImageEbs> {
    let from_snapshot = match (&e.snapshot_id, &base) {
        (Some(s), _) => {
            let src = snaps::volume_source(ctx, tx, s)?;
            Some((Some(s.clone()), src.size_gb, src.encrypted, src.kms_key_id))
        }
        (None, Some(b)) => Some((b.snapshot_id.clone(), b.volume_size, b.encrypted, b.kms_key_id.clone())),
        (None, None) => None,
    };
    let min = from_snapshot.as_ref().map(|s| s.1).unwrap_or(0);
    let size = match (e.volume_size, min) {
        (Some(n), m) if n < i64::from(m) => {
            return Err(Ec2Error::new(
                Code::InvalidBlockDeviceMapping,
                format!("Volume of {n}GiB is smaller than the snapshot of {device}, expect size >= {m}GiB"),
            )
            .into())
        }
        (Some(n), _) => n,
        (None, 0) => {
            return Err(Ec2Error::missing_parameter(&format!("BlockDeviceMapping {device} Ebs.VolumeSize")).into())
        }
        (None, m) => i64::from(m),
    };
    let vtype = match &e.volume_type {
        Some(t) => volumes::volume_type(Some(t))?,
        None => base.as_ref().map(|b| b.volume_type).unwrap_or(VolumeType::Gp2),
    };
    let spec = limits::resolve(vtype, size, e.iops, e.throughput, false).map_err(spec_error)?;
    let defaults = encryption::settings(ctx, tx)?;
    let snapshot_enc = from_snapshot.as_ref().map(|s| (s.2, s.3.as_deref()));
    let (encrypted, key) =
        ebs_encryption::resolve(ctx.scope, &defaults, e.encrypted, e.kms_key_id.as_deref(), snapshot_enc)
            .map_err(encryption_error)?;
    Ok(ImageEbs {
        snapshot_id: from_snapshot.and_then(|s| s.0),
        volume_size: spec.size_gb,
        volume_type: spec.volume_type,
        delete_on_termination: e
            .delete_on_termination
            .unwrap_or(base.as_ref().map(|b| b.delete_on_termination).unwrap_or(true)),
        encrypted,
        kms_key_id: key,
        iops: spec.iops.filter(|_| !matches!(vtype, VolumeType::Gp2)),
        throughput: spec.throughput,
    })
}

/// The image's mappings: `base` (by device) with the request's changes applied (NoDevice drops a
/// device, an EBS entry changes or adds one, a virtual name adds an instance store).
fn apply_requests(ctx: &Ctx<'_>, tx: &mut Txn<'_>, base: Vec<ImageBdm>, reqs: &[BdmRequest]) -> Result<Vec<ImageBdm>> {
    let mut out = base;
    for r in reqs {
        let pos = out.iter().position(|b| device_slot(&b.device_name) == device_slot(&r.device));
        if r.no_device {
            if let Some(p) = pos {
                out.remove(p);
            }
            continue;
        }
        let bdm = match (&r.virtual_name, &r.ebs) {
            (Some(v), _) => ImageBdm { device_name: r.device.clone(), virtual_name: Some(v.clone()), ebs: None },
            (None, Some(e)) => {
                let base = pos.and_then(|p| out[p].ebs.clone());
                ImageBdm {
                    device_name: r.device.clone(),
                    virtual_name: None,
                    ebs: Some(ebs_of(ctx, tx, &r.device, e, base)?),
                }
            }
            (None, None) => {
                return Err(Ec2Error::new(
                    Code::InvalidBlockDeviceMapping,
                    format!("The block device mapping of {} names neither Ebs, VirtualName nor NoDevice.", r.device),
                )
                .into())
            }
        };
        match pos {
            Some(p) => out[p] = bdm,
            None => out.push(bdm),
        }
    }
    Ok(out)
}

fn save_image(ctx: &Ctx<'_>, tx: &mut Txn<'_>, image: &Image, tags: &[(String, String)]) -> Result<()> {
    tx.put(ctx.scope.key(), image)?;
    put_tags(ctx, tx, &image.id, "image", tags)
}

/// When an image made now is available: after its snapshots and its own registration.
fn available_at(ctx: &Ctx<'_>) -> UnixMillis {
    ctx.now.plus_millis(ctx.storage_durations.image.max(ctx.storage_durations.snapshot))
}

pub fn create_image(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CreateImageRequest) -> Result<dto::CreateImageResult> {
    let specs = tag_specifications(&req.tag_specifications, &["image", "snapshot"])?;
    let name = check_name(&req.name)?;
    check_description(&req.description)?;
    let instance_id = req.instance_id.clone().unwrap_or_default();
    well_formed(IdKind::Instance, std::slice::from_ref(&instance_id))?;
    let reqs = bdm_requests(&req.block_device_mappings)?;
    dry_run_gate(ctx, req.dry_run)?;
    let inst = instances::load_many(ctx, tx, std::slice::from_ref(&instance_id))?.remove(0);
    if !matches!(inst.state, InstanceState::Running | InstanceState::Stopped) {
        return Err(Ec2Error::new(
            Code::IncorrectInstanceState,
            format!("The instance '{instance_id}' is not in the 'running' or 'stopped' state."),
        )
        .into());
    }
    if inst.root_device_type != RootDeviceType::Ebs {
        return Err(Ec2Error::new(
            Code::UnsupportedOperation,
            format!("The instance '{instance_id}' is not backed by Amazon EBS: CreateImage needs an EBS root volume."),
        )
        .into());
    }
    unique_name(ctx, tx, &name)?;
    let image_id = new_id(ctx, tx, IdKind::Image)?;
    let source = find(ctx, tx, &inst.image_id)?;
    // Each volume attached to the instance becomes a snapshot, except those the request drops.
    let attached: Vec<Volume> = volumes::attached_to(ctx, tx, &inst.id)?;
    let snapshot_tags = tags_for(&specs, "snapshot");
    let mut base = Vec::new();
    for v in &attached {
        let Some(a) = &v.attachment else { continue };
        if reqs.iter().any(|r| r.no_device && device_slot(&r.device) == device_slot(&a.device)) {
            continue;
        }
        let description = format!("Created by CreateImage({instance_id}) for {image_id}");
        let s = snaps::take(ctx, tx, v, &description)?;
        put_tags(ctx, tx, &s.id, "snapshot", &snapshot_tags)?;
        base.push(ImageBdm {
            device_name: a.device.to_string(),
            virtual_name: None,
            ebs: Some(ImageEbs {
                snapshot_id: Some(s.id),
                volume_size: v.spec.size_gb,
                volume_type: v.spec.volume_type,
                delete_on_termination: a.delete_on_termination,
                encrypted: v.encrypted,
                kms_key_id: v.kms_key_id.clone().map(Into::into),
                iops: v.spec.iops.filter(|_| v.spec.volume_type != VolumeType::Gp2),
                throughput: v.spec.throughput,
            }),
        });
    }
    let mappings = apply_requests(ctx, tx, base, &reqs)?;
    if !mappings.iter().any(|b| device_slot(&b.device_name) == device_slot(&inst.root_device_name)) {
        return Err(Ec2Error::new(
            Code::InvalidBlockDeviceMapping,
            format!("The image would have no root device ({}).", inst.root_device_name),
        )
        .into());
    }
    if req.no_reboot != Some(true) && inst.state == InstanceState::Running {
        // Without NoReboot, EC2 reboots the instance to take consistent snapshots.
        instances::reboot_instances(
            ctx,
            tx,
            &dto::RebootInstancesRequest { instance_ids: Some(vec![inst.id.to_string()]), dry_run: None },
        )?;
    }
    let image = Image {
        id: image_id.clone(),
        name: name.clone(),
        description: req.description.clone(),
        owner_id: ctx.scope.account.clone(),
        owner_alias: None,
        architecture: inst.architecture.to_string(),
        platform: inst.platform.clone().map(Into::into),
        platform_details: inst.platform_details.to_string(),
        usage_operation: inst.usage_operation.to_string(),
        root_device_type: "ebs".into(),
        root_device_name: inst.root_device_name.to_string(),
        virtualization_type: inst.virtualization_type.to_string(),
        ena_support: inst.ena_support,
        sriov_net_support: Some("simple".into()),
        boot_mode: inst.boot_mode.clone().map(Into::into),
        tpm_support: None,
        imds_support: source.as_ref().and_then(|s| s.imds_support.clone()),
        kernel_id: None,
        ramdisk_id: None,
        hibernation_supported: source.as_ref().is_some_and(|s| s.hibernation_supported),
        image_location: format!("{}/{name}", ctx.scope.account),
        created_at: ctx.now,
        available_at: available_at(ctx),
        block_device_mappings: mappings,
        launch_permission: Permissions::default(),
        source_instance_id: Some(inst.id.to_string()),
        source_image_id: None,
        source_image_region: None,
        catalog: false,
    };
    save_image(ctx, tx, &image, &tags_for(&specs, "image"))?;
    Ok(dto::CreateImageResult { image_id: Some(image_id) })
}

pub fn register_image(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::RegisterImageRequest,
) -> Result<dto::RegisterImageResult> {
    let specs = tag_specifications(&req.tag_specifications, &["image"])?;
    let name = check_name(&req.name)?;
    check_description(&req.description)?;
    let reqs = bdm_requests(&req.block_device_mappings)?;
    if reqs.is_empty() {
        return Err(match &req.image_location {
            Some(_) => Ec2Error::new(
                Code::UnsupportedOperation,
                "ec2d registers EBS-backed images only: give BlockDeviceMappings with a snapshot for the root device.",
            ),
            None => Ec2Error::missing_parameter("BlockDeviceMapping"),
        }
        .into());
    }
    let root = req.root_device_name.clone().ok_or_else(|| Ec2Error::missing_parameter("RootDeviceName"))?;
    let root_req = reqs.iter().find(|r| device_slot(&r.device) == device_slot(&root));
    let root_snapshot = root_req.and_then(|r| r.ebs.as_ref()).and_then(|e| e.snapshot_id.as_ref());
    if root_snapshot.is_none() {
        return Err(Ec2Error::new(
            Code::InvalidBlockDeviceMapping,
            format!("The root device {root} must be mapped to an EBS snapshot."),
        )
        .into());
    }
    let architecture = req.architecture.clone().unwrap_or_else(|| "i386".into());
    if !matches!(architecture.as_str(), "i386" | "x86_64" | "arm64" | "x86_64_mac" | "arm64_mac") {
        return Err(invalid(format!("Value ({architecture}) for parameter architecture is invalid.")).into());
    }
    let virtualization = req.virtualization_type.clone().unwrap_or_else(|| "paravirtual".into());
    if !matches!(virtualization.as_str(), "hvm" | "paravirtual") {
        return Err(invalid(format!("Value ({virtualization}) for parameter virtualizationType is invalid.")).into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    unique_name(ctx, tx, &name)?;
    let mappings = apply_requests(ctx, tx, Vec::new(), &reqs)?;
    let id = new_id(ctx, tx, IdKind::Image)?;
    let image = Image {
        id: id.clone(),
        name: name.clone(),
        description: req.description.clone(),
        owner_id: ctx.scope.account.clone(),
        owner_alias: None,
        architecture,
        platform: None,
        platform_details: "Linux/UNIX".into(),
        usage_operation: "RunInstances".into(),
        root_device_type: "ebs".into(),
        root_device_name: root,
        virtualization_type: virtualization,
        ena_support: req.ena_support.unwrap_or(false),
        sriov_net_support: req.sriov_net_support.clone(),
        boot_mode: req.boot_mode.clone(),
        tpm_support: req.tpm_support.clone(),
        imds_support: req.imds_support.clone(),
        kernel_id: req.kernel_id.clone(),
        ramdisk_id: req.ramdisk_id.clone(),
        hibernation_supported: false,
        image_location: format!("{}/{name}", ctx.scope.account),
        created_at: ctx.now,
        available_at: ctx.now.plus_millis(ctx.storage_durations.image),
        block_device_mappings: mappings,
        launch_permission: Permissions::default(),
        source_instance_id: None,
        source_image_id: None,
        source_image_region: None,
        catalog: false,
    };
    save_image(ctx, tx, &image, &tags_for(&specs, "image"))?;
    Ok(dto::RegisterImageResult { image_id: Some(id) })
}

pub fn deregister_image(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DeregisterImageRequest,
) -> Result<dto::DeregisterImageResult> {
    let id = req.image_id.clone().unwrap_or_default();
    well_formed(IdKind::Image, std::slice::from_ref(&id))?;
    dry_run_gate(ctx, req.dry_run)?;
    let image = load_own(ctx, tx, &id)?;
    index_share(ctx, tx, &image, false)?;
    tx.delete::<Image>(ctx.scope.key(), &id)?;
    tx.delete::<ResourceTags>(ctx.scope.key(), &id)?;
    let mut results = None;
    if req.delete_associated_snapshots == Some(true) {
        let mut out = Vec::new();
        for s in image.snapshot_ids() {
            // A snapshot another image still uses stays.
            let code = if using_snapshot(ctx, tx, s)?.is_some() {
                "snapshot-in-use"
            } else if tx.get::<Snapshot>(ctx.scope.key(), s)?.is_some() {
                tx.delete::<Snapshot>(ctx.scope.key(), s)?;
                tx.delete::<ResourceTags>(ctx.scope.key(), s)?;
                "success"
            } else {
                "missing-permissions"
            };
            out.push(dto::DeleteSnapshotReturnCode {
                snapshot_id: Some(s.to_string()),
                return_code: Some(code.into()),
            });
        }
        results = Some(out);
    }
    Ok(dto::DeregisterImageResult { r#return: Some(true), delete_snapshot_results: results })
}

pub fn copy_image(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CopyImageRequest) -> Result<dto::CopyImageResult> {
    let specs = tag_specifications(&req.tag_specifications, &["image"])?;
    let name = check_name(&req.name)?;
    check_description(&req.description)?;
    let source_region = req.source_region.clone().ok_or_else(|| Ec2Error::missing_parameter("SourceRegion"))?;
    let source_id = req.source_image_id.clone().ok_or_else(|| Ec2Error::missing_parameter("SourceImageId"))?;
    well_formed(IdKind::Image, std::slice::from_ref(&source_id))?;
    if regions::region(&source_region).is_none() {
        return Err(
            invalid(format!("Value ({source_region}) for parameter SourceRegion is invalid. Unknown region.")).into()
        );
    }
    dry_run_gate(ctx, req.dry_run)?;
    let token_key = req.client_token.as_ref().map(|t| format!("CopyImage/{t}"));
    let print = fingerprint(&dto::CopyImageRequest { client_token: None, dry_run: None, ..req.clone() });
    if let Some(ids) = replay(ctx, tx, token_key.as_deref(), &print)? {
        return Ok(dto::CopyImageResult { image_id: ids.into_iter().next() });
    }
    let source_scope = Scope::new(ctx.scope.account.clone(), source_region.clone());
    let source = match tx.get::<Image>(source_scope.key(), &source_id)? {
        Some(i) => i,
        None => ec2_core::catalog::images::image(&source_id)
            .map(Image::from_catalog)
            .ok_or_else(|| not_found(IdKind::Image, std::slice::from_ref(&source_id)))?,
    };
    if source.state(ctx.now) != ImageState::Available {
        return Err(Ec2Error::new(
            Code::InvalidAmiIdUnavailable,
            format!("Image {source_id} is not in a state from which it can be copied (pending)."),
        )
        .into());
    }
    if source.root_device_type != "ebs" {
        return Err(Ec2Error::new(Code::UnsupportedOperation, "ec2d copies EBS-backed images only.").into());
    }
    unique_name(ctx, tx, &name)?;
    let id = new_id(ctx, tx, IdKind::Image)?;
    let defaults = encryption::settings(ctx, tx)?;
    let mut mappings = Vec::new();
    for b in &source.block_device_mappings {
        let ebs = match &b.ebs {
            None => None,
            Some(e) => {
                let (encrypted, key) = ebs_encryption::resolve(
                    ctx.scope,
                    &defaults,
                    req.encrypted,
                    req.kms_key_id.as_deref(),
                    Some((e.encrypted, None)),
                )
                .map_err(encryption_error)?;
                let snap = Snapshot {
                    id: new_id(ctx, tx, IdKind::Snapshot)?,
                    owner_id: ctx.scope.account.clone(),
                    volume_id: NO_VOLUME.into(),
                    volume_size: e.volume_size,
                    description: format!(
                        "Copied for DestinationAmi {id} from SourceAmi {source_id} for SourceSnapshot {}",
                        e.snapshot_id.clone().unwrap_or_default()
                    ),
                    start_time: ctx.now,
                    duration: ctx.storage_durations.snapshot,
                    encrypted,
                    kms_key_id: key.clone(),
                    create_volume_permission: Permissions::default(),
                    source: e.snapshot_id.clone().map(|s| (source_region.clone(), s)),
                };
                tx.put(ctx.scope.key(), &snap)?;
                Some(ImageEbs { snapshot_id: Some(snap.id), encrypted, kms_key_id: key, ..e.clone() })
            }
        };
        mappings.push(ImageBdm { ebs, ..b.clone() });
    }
    let mut tags = tags_for(&specs, "image");
    if req.copy_image_tags == Some(true) && !source.catalog {
        let src_tags = tx.get::<ResourceTags>(source_scope.key(), &source_id)?.map(|r| r.tags).unwrap_or_default();
        for (k, v) in src_tags {
            if !tags.iter().any(|(tk, _)| *tk == k) {
                tags.push((k, v));
            }
        }
    }
    let image = Image {
        id: id.clone(),
        name: name.clone(),
        description: req.description.clone().or(source.description.clone()),
        owner_id: ctx.scope.account.clone(),
        owner_alias: None,
        image_location: format!("{}/{name}", ctx.scope.account),
        created_at: ctx.now,
        available_at: available_at(ctx),
        block_device_mappings: mappings,
        launch_permission: Permissions::default(),
        source_instance_id: None,
        source_image_id: Some(source_id),
        source_image_region: Some(source_region),
        catalog: false,
        ..source
    };
    save_image(ctx, tx, &image, &tags)?;
    remember(ctx, tx, token_key, print, vec![id.clone()])?;
    Ok(dto::CopyImageResult { image_id: Some(id) })
}

// ---------------------------------------------------------------------------------------------
// Attributes

const ATTRIBUTES: &[&str] = &[
    "description",
    "kernel",
    "ramdisk",
    "launchPermission",
    "productCodes",
    "blockDeviceMapping",
    "sriovNetSupport",
    "bootMode",
    "tpmSupport",
    "uefiData",
    "lastLaunchedTime",
    "imdsSupport",
    "deregistrationProtection",
];

fn attribute_error(a: &str) -> Ec2Error {
    invalid(format!("Value ({a}) for parameter attribute is invalid. Unknown attribute."))
}

fn value(v: Option<String>) -> Option<dto::AttributeValue> {
    Some(dto::AttributeValue { value: v })
}

pub fn launch_permissions_dto(p: &Permissions) -> Vec<dto::LaunchPermission> {
    let mut out = Vec::new();
    if p.public {
        out.push(dto::LaunchPermission { group: Some("all".into()), ..Default::default() });
    }
    out.extend(p.users.iter().map(|u| dto::LaunchPermission { user_id: Some(u.clone()), ..Default::default() }));
    out
}

pub fn describe_image_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeImageAttributeRequest,
) -> Result<dto::ImageAttribute> {
    let id = req.image_id.clone().unwrap_or_default();
    well_formed(IdKind::Image, std::slice::from_ref(&id))?;
    let attribute = req.attribute.clone().ok_or_else(|| Ec2Error::missing_parameter("Attribute"))?;
    if !ATTRIBUTES.contains(&attribute.as_str()) {
        return Err(attribute_error(&attribute).into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let i = if attribute == "launchPermission" { load_own(ctx, tx, &id)? } else { load(ctx, tx, &id)? };
    let mut out = dto::ImageAttribute { image_id: Some(i.id.clone()), ..Default::default() };
    match attribute.as_str() {
        "description" => out.description = value(i.description.clone()),
        "kernel" => out.kernel_id = value(i.kernel_id.clone()),
        "ramdisk" => out.ramdisk_id = value(i.ramdisk_id.clone()),
        "launchPermission" => out.launch_permissions = Some(launch_permissions_dto(&i.launch_permission)),
        "productCodes" => out.product_codes = Some(vec![]),
        "blockDeviceMapping" => out.block_device_mappings = Some(i.block_device_mappings.iter().map(bdm_dto).collect()),
        "sriovNetSupport" => out.sriov_net_support = value(i.sriov_net_support.clone()),
        "bootMode" => out.boot_mode = value(i.boot_mode.clone()),
        "tpmSupport" => out.tpm_support = value(i.tpm_support.clone()),
        "uefiData" => out.uefi_data = value(None),
        "lastLaunchedTime" => out.last_launched_time = value(None),
        "imdsSupport" => out.imds_support = value(i.imds_support.clone()),
        _ => out.deregistration_protection = value(Some("disabled".into())),
    }
    Ok(out)
}

pub fn modify_image_attribute(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::ModifyImageAttributeRequest) -> Result<()> {
    let id = req.image_id.clone().unwrap_or_default();
    well_formed(IdKind::Image, std::slice::from_ref(&id))?;
    let attribute = req.attribute.clone().unwrap_or_else(|| {
        if req.description.is_some() {
            "description".into()
        } else if req.imds_support.is_some() {
            "imdsSupport".into()
        } else {
            "launchPermission".into()
        }
    });
    let pair = |l: &Option<Vec<dto::LaunchPermission>>| -> PermissionList {
        l.iter().flatten().map(|p| (p.user_id.clone(), p.group.clone())).collect()
    };
    enum Change {
        Description(String),
        Imds(String),
        Permissions(Vec<ec2_core::snapshots::PermissionChange>),
    }
    let change = match attribute.as_str() {
        "description" => Change::Description(
            req.description.as_ref().and_then(|d| d.value.clone()).or(req.value.clone()).unwrap_or_default(),
        ),
        "imdsSupport" => {
            let v = req.imds_support.as_ref().and_then(|d| d.value.clone()).or(req.value.clone()).unwrap_or_default();
            if v != "v2.0" {
                return Err(invalid(format!(
                    "Value ({v}) for parameter imdsSupport is invalid. Only v2.0 is allowed."
                ))
                .into());
            }
            Change::Imds(v)
        }
        "launchPermission" => {
            let structured = req.launch_permission.as_ref().map(|m| (pair(&m.add), pair(&m.remove)));
            Change::Permissions(permission_changes(structured, &req.operation_type, &req.user_ids, &req.user_groups)?)
        }
        other if ATTRIBUTES.contains(&other) => {
            return Err(invalid(format!("The attribute {other} cannot be modified.")).into());
        }
        other => return Err(attribute_error(other).into()),
    };
    if let Change::Description(d) = &change {
        check_description(&Some(d.clone()))?;
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut image = load_own(ctx, tx, &id)?;
    match change {
        Change::Description(d) => image.description = Some(d),
        Change::Imds(v) => image.imds_support = Some(v),
        Change::Permissions(changes) => {
            let encrypted = image.block_device_mappings.iter().any(|b| b.ebs.as_ref().is_some_and(|e| e.encrypted));
            image.launch_permission.apply(&changes, encrypted).map_err(|e| permission_error(e, "images"))?;
        }
    }
    index_share(ctx, tx, &image, true)?;
    tx.put(ctx.scope.key(), &image)?;
    Ok(())
}

pub fn reset_image_attribute(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::ResetImageAttributeRequest) -> Result<()> {
    let id = req.image_id.clone().unwrap_or_default();
    well_formed(IdKind::Image, std::slice::from_ref(&id))?;
    let attribute = req.attribute.clone().ok_or_else(|| Ec2Error::missing_parameter("Attribute"))?;
    if attribute != "launchPermission" {
        return Err(invalid(format!(
            "Value ({attribute}) for parameter attribute is invalid. Only launchPermission can be reset."
        ))
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut image = load_own(ctx, tx, &id)?;
    image.launch_permission = Permissions::default();
    index_share(ctx, tx, &image, true)?;
    tx.put(ctx.scope.key(), &image)?;
    Ok(())
}
