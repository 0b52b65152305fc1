//! CreateTags, DeleteTags and DescribeTags, across every taggable resource family.
//!
//! Which kinds can be tagged, and where their tags live, is the kinds table's (service/kinds.rs).
//! Instances, Spot requests and capacity reservations carry their tags on their own records, so that
//! a Describe of them reads one record each; every other taggable kind keeps its tags in a central
//! `ResourceTags` record under the resource's ID. IDs of no taggable kind get `InvalidID`.

use std::collections::BTreeMap;

use ec2_core::addresses::Address;
use ec2_core::capacity_reservations::CapacityReservation;
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::internet_gateways::InternetGateway;
use ec2_core::key_pairs::KeyPair;
use ec2_core::route_tables::RouteTable;
use ec2_core::security_groups::SecurityGroup;
use ec2_core::spot::SpotRequest;
use ec2_core::subnets::Subnet;
use ec2_core::tags::{self, Deletion};
use ec2_core::vpcs::Vpc;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::{Record, Txn};
use serde::{Deserialize, Serialize};

use super::common::{dto_tags, five_to_thousand, load_named, not_found, paginate, tag_error, well_formed};
use super::kinds::{self, TagHome, Taggable};
use super::{dry_run_gate, filters, instances, launch_templates, Ctx, Result};

/// Tags of a resource that has no record of its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceTags {
    pub id: String,
    pub resource_type: String,
    pub tags: BTreeMap<String, String>,
}

impl Record for ResourceTags {
    const KIND: &'static str = "resource_tags";
    fn id(&self) -> &str {
        &self.id
    }
}

fn invalid_id(id: &str) -> Ec2Error {
    Ec2Error::new(Code::InvalidId, format!("The ID '{id}' is not valid"))
}

/// The kind of a resource ID and how it is tagged, from the kinds table; `InvalidID` for an ID of
/// no taggable kind, the kind's Malformed error for a bad ID of a taggable one.
fn target(id: &str) -> Result<(IdKind, Taggable)> {
    let kind = kinds::of_id(id).ok_or_else(|| invalid_id(id))?;
    let taggable = kinds::info(kind).taggable.ok_or_else(|| invalid_id(id))?;
    well_formed(kind, &[id.to_string()])?;
    Ok((kind, taggable))
}

/// The IDs of `kind` among `targets`, in the order named.
fn ids_of(targets: &[(String, IdKind, Taggable)], kind: IdKind) -> Vec<String> {
    targets.iter().filter(|(_, k, _)| *k == kind).map(|(id, _, _)| id.clone()).collect()
}

/// Loads, edits with `edit` and saves the tags of every resource, all or nothing.
fn edit_tags(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    ids: &[String],
    dry_run: Option<bool>,
    mut edit: impl FnMut(&mut BTreeMap<String, String>) -> Result<()>,
) -> Result<()> {
    let targets: Vec<(String, IdKind, Taggable)> = ids
        .iter()
        .map(|id| {
            let (kind, taggable) = target(id)?;
            Ok((id.clone(), kind, taggable))
        })
        .collect::<Result<_>>()?;
    dry_run_gate(ctx, dry_run)?;
    // Kinds whose tags live on their own records: load every named record first (one NotFound
    // for all unknown IDs of a kind), then edit.
    let mut found = instances::load_many(ctx, tx, &ids_of(&targets, IdKind::Instance))?;
    let mut spot_requests: Vec<SpotRequest> =
        load_named(ctx, tx, IdKind::SpotInstanceRequest, &ids_of(&targets, IdKind::SpotInstanceRequest))?;
    let mut reservations: Vec<CapacityReservation> =
        load_named(ctx, tx, IdKind::CapacityReservation, &ids_of(&targets, IdKind::CapacityReservation))?;
    let mut key_pairs: Vec<KeyPair> = load_named(ctx, tx, IdKind::KeyPair, &ids_of(&targets, IdKind::KeyPair))?;
    // Kinds whose tags are central: check that the resource exists, then edit its tags record.
    let scope = ctx.scope.key();
    let mut records = Vec::new();
    if targets.iter().any(|(_, _, t)| t.home == TagHome::Central) {
        super::vpcs::ensure_default_network(ctx, tx)?;
    }
    for (id, kind, taggable) in targets.iter().filter(|(_, _, t)| t.home == TagHome::Central) {
        if !exists_centrally_tagged(ctx, tx, *kind, id)? {
            return Err(not_found(*kind, std::slice::from_ref(id)).into());
        }
        let rec = tx.get::<ResourceTags>(scope, id)?.unwrap_or(ResourceTags {
            id: id.clone(),
            resource_type: taggable.resource_type.to_string(),
            tags: BTreeMap::new(),
        });
        records.push(rec);
    }
    for inst in found.iter_mut() {
        edit(&mut inst.tags)?;
        instances::save(ctx, tx, inst)?;
    }
    for r in spot_requests.iter_mut() {
        edit(&mut r.tags)?;
        tx.put(scope, r)?;
    }
    for r in reservations.iter_mut() {
        edit(&mut r.tags)?;
        tx.put(scope, r)?;
    }
    for k in key_pairs.iter_mut() {
        edit(&mut k.tags)?;
        tx.put(scope, k)?;
    }
    for rec in records.iter_mut() {
        edit(&mut rec.tags)?;
        if rec.tags.is_empty() {
            tx.delete::<ResourceTags>(scope, &rec.id)?;
        } else {
            tx.put(scope, rec)?;
        }
    }
    Ok(())
}

/// Whether a resource of a kind with central tags exists.
fn exists_centrally_tagged(ctx: &Ctx<'_>, tx: &mut Txn<'_>, kind: IdKind, id: &str) -> Result<bool> {
    let scope = ctx.scope.key();
    Ok(match kind {
        IdKind::Vpc => tx.get::<Vpc>(scope, id)?.is_some(),
        IdKind::Subnet => tx.get::<Subnet>(scope, id)?.is_some(),
        IdKind::SecurityGroup => tx.get::<SecurityGroup>(scope, id)?.is_some(),
        IdKind::SecurityGroupRule => {
            tx.scan::<SecurityGroup>(scope)?.iter().any(|g| g.rules.iter().any(|r| r.id == id))
        }
        IdKind::InternetGateway => tx.get::<InternetGateway>(scope, id)?.is_some(),
        IdKind::RouteTable => tx.get::<RouteTable>(scope, id)?.is_some(),
        IdKind::ElasticIp => tx.get::<Address>(scope, id)?.is_some(),
        IdKind::NetworkInterface => super::network_interfaces::exists(ctx, tx, id)?,
        IdKind::Volume => super::volumes::exists(ctx, tx, id)?,
        IdKind::Snapshot => super::snapshots::exists(ctx, tx, id)?,
        IdKind::Image => super::images::exists(ctx, tx, id)?,
        // Kinds with tags on their records, or with no tags at all, never get here.
        IdKind::Instance
        | IdKind::SpotInstanceRequest
        | IdKind::CapacityReservation
        | IdKind::BundleTask
        | IdKind::Reservation
        | IdKind::RouteTableAssociation
        | IdKind::ElasticIpAssociation
        | IdKind::VpcCidrAssociation
        | IdKind::DhcpOptions
        | IdKind::NetworkInterfaceAttachment
        | IdKind::KeyPair
        | IdKind::IamInstanceProfileAssociation => false,
        IdKind::LaunchTemplate => launch_templates::exists(ctx, tx, id)?,
        IdKind::Fleet => tx.get::<ec2_core::fleets::Fleet>(scope, id)?.is_some(),
        IdKind::SpotFleetRequest => tx.get::<ec2_core::fleets::SpotFleetRequest>(scope, id)?.is_some(),
    })
}

/// Gives a new resource its tags (from its tag specifications); returns them.
pub fn set_tags(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    id: &str,
    resource_type: &str,
    tags: Vec<(String, String)>,
) -> Result<BTreeMap<String, String>> {
    let tags: BTreeMap<String, String> = tags.into_iter().collect();
    if !tags.is_empty() {
        let rec = ResourceTags { id: id.to_string(), resource_type: resource_type.to_string(), tags: tags.clone() };
        tx.put(ctx.scope.key(), &rec)?;
    }
    Ok(tags)
}

/// Forgets the tags of a deleted resource.
pub fn drop_tags(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<()> {
    tx.delete::<ResourceTags>(ctx.scope.key(), id)?;
    Ok(())
}

pub fn create_tags(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CreateTagsRequest) -> Result<()> {
    let new = dto_tags(req.tags.as_deref().unwrap_or_default())?;
    let ids = req.resources.clone().unwrap_or_default();
    edit_tags(ctx, tx, &ids, req.dry_run, |t| tags::apply(t, &new).map_err(|e| tag_error(e).into()))
}

pub fn delete_tags(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DeleteTagsRequest) -> Result<()> {
    let entries: Vec<Deletion> = req
        .tags
        .iter()
        .flatten()
        .map(|t| Deletion { key: t.key.clone().unwrap_or_default(), value: t.value.clone() })
        .collect();
    let ids = req.resources.clone().unwrap_or_default();
    edit_tags(ctx, tx, &ids, req.dry_run, |t| {
        tags::delete(t, &entries);
        Ok(())
    })
}

/// One row of DescribeTags.
pub struct TagRow {
    pub resource_id: String,
    pub resource_type: String,
    pub key: String,
    pub value: String,
    /// All tags of the resource, for `tag:<key>` filters.
    pub tags: BTreeMap<String, String>,
}

static TAG_FILTERS: FilterTable<TagRow> = FilterTable {
    entries: &[
        ("key", |r| vec![r.key.clone()]),
        ("resource-id", |r| vec![r.resource_id.clone()]),
        ("resource-type", |r| vec![r.resource_type.clone()]),
        ("value", |r| vec![r.value.clone()]),
    ],
    tags: Some(|r| &r.tags),
};

fn rows(resource_id: &str, resource_type: &str, tags: &BTreeMap<String, String>) -> Vec<TagRow> {
    tags.iter()
        .map(|(k, v)| TagRow {
            resource_id: resource_id.to_string(),
            resource_type: resource_type.to_string(),
            key: k.clone(),
            value: v.clone(),
            tags: tags.clone(),
        })
        .collect()
}

pub fn describe_tags(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeTagsRequest,
) -> Result<dto::DescribeTagsResult> {
    let filters = filters(&TAG_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut all: Vec<TagRow> = Vec::new();
    for inst in instances::load_all(ctx, tx)? {
        all.extend(rows(&inst.id, "instance", &inst.tags));
    }
    for r in tx.scan::<SpotRequest>(ctx.scope.key())? {
        all.extend(rows(&r.id, "spot-instances-request", &r.tags));
    }
    for r in tx.scan::<CapacityReservation>(ctx.scope.key())? {
        all.extend(rows(&r.id, "capacity-reservation", &r.tags));
    }
    for k in tx.scan::<KeyPair>(ctx.scope.key())? {
        all.extend(rows(&k.id, "key-pair", &k.tags));
    }
    for rec in tx.scan::<ResourceTags>(ctx.scope.key())? {
        all.extend(rows(&rec.id, &rec.resource_type, &rec.tags));
    }
    all.retain(|r| TAG_FILTERS.matches(r, &filters));
    let key = |r: &TagRow| format!("{}\u{0}{}\u{0}{}", r.resource_type, r.resource_id, r.key);
    all.sort_by_key(key);
    let (page, next) = paginate(all, key, req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeTagsResult {
        tags: Some(
            page.into_iter()
                .map(|r| dto::TagDescription {
                    resource_id: Some(r.resource_id),
                    resource_type: Some(r.resource_type),
                    key: Some(r.key),
                    value: Some(r.value),
                })
                .collect(),
        ),
        next_token: next,
    })
}

/// The tags of a default network resource.
pub fn network_tags(tx: &mut Txn<'_>, ctx: &Ctx<'_>, id: &str) -> Result<BTreeMap<String, String>> {
    Ok(tx.get::<ResourceTags>(ctx.scope.key(), id)?.map(|r| r.tags).unwrap_or_default())
}
