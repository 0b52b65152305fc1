//! Elastic IP addresses: Allocate/Release/Associate/Disassociate/Describe Addresses and
//! DescribeAddressesAttribute. An associated address is the public address of its instance (it
//! replaces the instance's automatic one).

use ec2_core::addresses::{self, Address, AssociateError, Target};
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::instances::{Instance, InstanceState};
use ec2_core::network;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{load_named, new_id, not_found, paginate, tag_set, tag_specifications, tags_for, well_formed};
use super::vpcs::{net_err, with_tags, Row};
use super::{dry_run_gate, filters, instances, tags, Ctx, Result};

/// Elastic IPs per account and region (AWS's default quota).
pub const MAX_ADDRESSES: usize = 5;

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn opt(s: &Option<String>) -> Vec<String> {
    s.iter().cloned().collect()
}

static ADDRESS_FILTERS: FilterTable<Row<Address>> = FilterTable {
    entries: &[
        ("allocation-id", |r| one(&r.item.allocation_id)),
        ("association-id", |r| r.item.association.iter().map(|a| a.association_id.clone()).collect()),
        ("domain", |_| one("vpc")),
        ("instance-id", |r| r.item.association.iter().flat_map(|a| opt(&a.instance_id)).collect()),
        ("network-border-group", |r| one(&r.item.network_border_group)),
        ("network-interface-id", |r| r.item.association.iter().flat_map(|a| opt(&a.network_interface_id)).collect()),
        ("network-interface-owner-id", |r| {
            r.item
                .association
                .iter()
                .filter(|a| a.network_interface_id.is_some())
                .map(|_| r.item.owner_id.clone())
                .collect()
        }),
        ("private-ip-address", |r| r.item.association.iter().flat_map(|a| opt(&a.private_ip)).collect()),
        ("public-ip", |r| one(&r.item.public_ip)),
        ("public-ipv4-pool", |_| one("amazon")),
    ],
    tags: Some(|r| &r.tags),
};

fn address_dto(r: &Row<Address>) -> dto::Address {
    let a = &r.item;
    let assoc = a.association.as_ref();
    dto::Address {
        allocation_id: Some(a.allocation_id.clone()),
        public_ip: Some(a.public_ip.clone()),
        domain: Some("vpc".into()),
        public_ipv4_pool: Some("amazon".into()),
        network_border_group: Some(a.network_border_group.clone()),
        association_id: assoc.map(|x| x.association_id.clone()),
        instance_id: assoc.and_then(|x| x.instance_id.clone()),
        network_interface_id: assoc.and_then(|x| x.network_interface_id.clone()),
        network_interface_owner_id: assoc.and_then(|x| x.network_interface_id.as_ref()).map(|_| a.owner_id.clone()),
        private_ip_address: assoc.and_then(|x| x.private_ip.clone()),
        tags: tag_set(&r.tags),
        ..Default::default()
    }
}

fn address_not_found(ip: &str) -> Ec2Error {
    Ec2Error::new(Code::InvalidAddressNotFound, format!("Address '{ip}' not found."))
}

/// The address a request names by allocation ID or by public IP.
fn resolve(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    allocation_id: &Option<String>,
    public_ip: &Option<String>,
) -> Result<Address> {
    match (allocation_id, public_ip) {
        (Some(id), _) => {
            let mut v: Vec<Address> = load_named(ctx, tx, IdKind::ElasticIp, std::slice::from_ref(id))?;
            Ok(v.remove(0))
        }
        (None, Some(ip)) => tx
            .scan::<Address>(ctx.scope.key())?
            .into_iter()
            .find(|a| &a.public_ip == ip)
            .ok_or_else(|| address_not_found(ip).into()),
        (None, None) => Err(Ec2Error::missing_parameter("allocationId").into()),
    }
}

pub fn describe_addresses(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeAddressesRequest,
) -> Result<dto::DescribeAddressesResult> {
    let ids = well_formed(IdKind::ElasticIp, req.allocation_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&ADDRESS_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let all: Vec<Address> = tx.scan(ctx.scope.key())?;
    let missing: Vec<String> = ids.iter().filter(|id| !all.iter().any(|a| &a.allocation_id == *id)).cloned().collect();
    if !missing.is_empty() {
        return Err(not_found(IdKind::ElasticIp, &missing).into());
    }
    let ips = req.public_ips.clone().unwrap_or_default();
    if let Some(ip) = ips.iter().find(|ip| !all.iter().any(|a| &a.public_ip == *ip)) {
        return Err(Ec2Error::new(Code::InvalidAddressNotFound, format!("Address '{ip}' not found.")).into());
    }
    let chosen: Vec<Address> = all
        .into_iter()
        .filter(|a| {
            (ids.is_empty() || ids.contains(&a.allocation_id)) && (ips.is_empty() || ips.contains(&a.public_ip))
        })
        .collect();
    let mut rows = with_tags(ctx, tx, chosen, |a| a.allocation_id.clone())?;
    rows.retain(|r| ADDRESS_FILTERS.matches(r, &filters));
    Ok(dto::DescribeAddressesResult { addresses: Some(rows.iter().map(address_dto).collect()) })
}

pub fn allocate_address(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AllocateAddressRequest,
) -> Result<dto::AllocateAddressResult> {
    if let Some(d) = req.domain.as_deref().filter(|d| *d != "vpc" && *d != "standard") {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({d}) for parameter domain is invalid. Expected 'vpc' or 'standard'."
        ))
        .into());
    }
    if req.address.is_some() || req.customer_owned_ipv4_pool.is_some() || req.ipam_pool_id.is_some() {
        return Err(Ec2Error::new(
            Code::NotImplemented,
            "ec2d does not implement AllocateAddress from your own address pools yet.",
        )
        .into());
    }
    if let Some(p) = req.public_ipv4_pool.as_deref().filter(|p| *p != "amazon") {
        return Err(Ec2Error::invalid_parameter_value(format!("The pool ID '{p}' is not valid")).into());
    }
    if let Some(g) = req.network_border_group.as_deref().filter(|g| *g != ctx.scope.region) {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({g}) for parameter networkBorderGroup is invalid. Expected '{}'.",
            ctx.scope.region
        ))
        .into());
    }
    let specs = tag_specifications(&req.tag_specifications, &["elastic-ip"])?;
    dry_run_gate(ctx, req.dry_run)?;
    let scope = ctx.scope.key();
    if tx.scan::<Address>(scope)?.len() >= MAX_ADDRESSES {
        return Err(
            Ec2Error::new(Code::AddressLimitExceeded, "The maximum number of addresses has been reached.").into()
        );
    }
    let addr = Address {
        allocation_id: new_id(ctx, tx, IdKind::ElasticIp)?,
        public_ip: network::public_ip(tx.next_id("public_ip")? - 1),
        owner_id: ctx.scope.account.clone(),
        network_border_group: ctx.scope.region.clone(),
        association: None,
    };
    tx.put(scope, &addr)?;
    tags::set_tags(ctx, tx, &addr.allocation_id, "elastic-ip", tags_for(&specs, "elastic-ip"))?;
    Ok(dto::AllocateAddressResult {
        allocation_id: Some(addr.allocation_id),
        public_ip: Some(addr.public_ip),
        domain: Some("vpc".into()),
        public_ipv4_pool: Some("amazon".into()),
        network_border_group: Some(addr.network_border_group),
        ..Default::default()
    })
}

pub fn release_address(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::ReleaseAddressRequest) -> Result<()> {
    if let Some(id) = &req.allocation_id {
        well_formed(IdKind::ElasticIp, std::slice::from_ref(id))?;
    }
    dry_run_gate(ctx, req.dry_run)?;
    let addr = resolve(ctx, tx, &req.allocation_id, &req.public_ip)?;
    addresses::check_release(&addr).map_err(net_err)?;
    tags::drop_tags(ctx, tx, &addr.allocation_id)?;
    tx.delete::<Address>(ctx.scope.key(), &addr.allocation_id)?;
    Ok(())
}

/// The instance that has the primary interface `eni`.
fn instance_of_interface(ctx: &Ctx<'_>, tx: &mut Txn<'_>, eni: &str) -> Result<Instance> {
    super::vpcs::ensure_default_network(ctx, tx)?;
    let missing = || not_found(IdKind::NetworkInterface, &[eni.to_string()]);
    let record = super::network_interfaces::load_eni(ctx, tx, eni)?;
    let id = record.attachment.filter(|a| a.device_index == 0).map(|a| a.instance_id).ok_or_else(missing)?;
    let inst = instances::load_many(ctx, tx, &[id.to_string()])?.remove(0);
    if inst.state == InstanceState::Terminated {
        return Err(missing().into());
    }
    Ok(inst)
}

/// Gives the instance the address as its public address, or takes it back.
fn set_public_ip(ctx: &Ctx<'_>, tx: &mut Txn<'_>, instance_id: &str, ip: Option<String>) -> Result<()> {
    if let Some(mut inst) = instances::load_many(ctx, tx, &[instance_id.to_string()]).ok().and_then(|mut v| v.pop()) {
        inst.public_ip_elastic = ip.is_some();
        inst.public_ip = ip.map(Into::into);
        instances::save(ctx, tx, &inst)?;
    }
    Ok(())
}

pub fn associate_address(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AssociateAddressRequest,
) -> Result<dto::AssociateAddressResult> {
    if let Some(id) = &req.allocation_id {
        well_formed(IdKind::ElasticIp, std::slice::from_ref(id))?;
    }
    if let Some(id) = &req.instance_id {
        well_formed(IdKind::Instance, std::slice::from_ref(id))?;
    }
    if let Some(id) = &req.network_interface_id {
        well_formed(IdKind::NetworkInterface, std::slice::from_ref(id))?;
    }
    if req.instance_id.is_none() && req.network_interface_id.is_none() {
        return Err(Ec2Error::missing_parameter("instanceId").into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut addr = resolve(ctx, tx, &req.allocation_id, &req.public_ip)?;
    let inst = match (&req.instance_id, &req.network_interface_id) {
        (Some(id), _) => instances::load_many(ctx, tx, std::slice::from_ref(id))?.remove(0),
        (None, Some(eni)) => instance_of_interface(ctx, tx, eni)?,
        (None, None) => return Err(Ec2Error::missing_parameter("instanceId").into()),
    };
    if let Some(eni) = req.network_interface_id.as_ref().filter(|e| **e != inst.network_interface_id) {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            format!("The network interface '{eni}' is not attached to instance '{}'.", inst.id),
        )
        .into());
    }
    if matches!(inst.state, InstanceState::Terminated | InstanceState::ShuttingDown) {
        return Err(Ec2Error::new(
            Code::IncorrectInstanceState,
            format!("The instance '{}' is not in a valid state for this operation.", inst.id),
        )
        .into());
    }
    let private_ip = req.private_ip_address.clone().unwrap_or_else(|| inst.private_ip.to_string());
    if private_ip != inst.private_ip {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "The private IP address {private_ip} is not assigned to the network interface {}.",
            inst.network_interface_id
        ))
        .into());
    }
    let scope = ctx.scope.key();
    // An instance has one public address: an address already on it is taken off first.
    for mut other in tx.scan::<Address>(scope)? {
        let on_it = other.association.as_ref().and_then(|a| a.instance_id.as_deref()) == Some(inst.id.as_str());
        if on_it && other.allocation_id != addr.allocation_id {
            other.association = None;
            tx.put(scope, &other)?;
        }
    }
    let association_id = new_id(ctx, tx, IdKind::ElasticIpAssociation)?;
    let target = Target {
        instance_id: Some(inst.id.to_string()),
        network_interface_id: Some(inst.network_interface_id.to_string()),
        private_ip: Some(private_ip),
    };
    let replaced =
        addresses::associate(&mut addr, target, association_id.clone(), req.allow_reassociation == Some(true))
            .map_err(|AssociateError::AlreadyAssociated { allocation_id, association_id }| {
                Ec2Error::new(
                    Code::ResourceAlreadyAssociated,
                    format!("resource {allocation_id} is already associated with associate-id {association_id}"),
                )
            })?;
    if let Some(old) = replaced.and_then(|o| o.instance_id).filter(|i| *i != inst.id) {
        set_public_ip(ctx, tx, &old, None)?;
    }
    tx.put(scope, &addr)?;
    set_public_ip(ctx, tx, &inst.id, Some(addr.public_ip.clone()))?;
    Ok(dto::AssociateAddressResult { association_id: Some(association_id) })
}

pub fn disassociate_address(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DisassociateAddressRequest) -> Result<()> {
    if let Some(id) = &req.association_id {
        well_formed(IdKind::ElasticIpAssociation, std::slice::from_ref(id))?;
    }
    dry_run_gate(ctx, req.dry_run)?;
    let scope = ctx.scope.key();
    let all: Vec<Address> = tx.scan(scope)?;
    let mut addr = match (&req.association_id, &req.public_ip) {
        (Some(id), _) => all
            .into_iter()
            .find(|a| a.association.as_ref().is_some_and(|x| &x.association_id == id))
            .ok_or_else(|| not_found(IdKind::ElasticIpAssociation, std::slice::from_ref(id)))?,
        (None, Some(ip)) => all.into_iter().find(|a| &a.public_ip == ip).ok_or_else(|| address_not_found(ip))?,
        (None, None) => return Err(Ec2Error::missing_parameter("associationId").into()),
    };
    let association_id = addr.association.as_ref().map(|a| a.association_id.clone()).unwrap_or_default();
    let old = addresses::disassociate(&mut addr, &association_id).map_err(net_err)?;
    tx.put(scope, &addr)?;
    if let Some(i) = old.instance_id {
        set_public_ip(ctx, tx, &i, None)?;
    }
    Ok(())
}

/// Releases the association of every address on `instance_id` (a terminated instance gives its
/// Elastic IPs back to the account).
pub fn release_instance(ctx: &Ctx<'_>, tx: &mut Txn<'_>, instance_id: &str) -> Result<()> {
    let scope = ctx.scope.key();
    for mut a in tx.scan::<Address>(scope)? {
        if a.association.as_ref().and_then(|x| x.instance_id.as_deref()) == Some(instance_id) {
            a.association = None;
            tx.put(scope, &a)?;
        }
    }
    Ok(())
}

pub fn describe_addresses_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeAddressesAttributeRequest,
) -> Result<dto::DescribeAddressesAttributeResult> {
    let ids = well_formed(IdKind::ElasticIp, req.allocation_ids.as_deref().unwrap_or_default())?;
    if let Some(a) = req.attribute.as_deref().filter(|a| *a != "domain-name") {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({a}) for parameter attribute is invalid. Expected 'domain-name'."
        ))
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let all: Vec<Address> =
        if ids.is_empty() { tx.scan(ctx.scope.key())? } else { load_named(ctx, tx, IdKind::ElasticIp, &ids)? };
    let bounds = super::common::PageBounds {
        min: 1,
        max: 1000,
        cap_above_max: false,
        message: |n| {
            format!("Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 1 and 1000.")
        },
    };
    let (page, next) = paginate(all, |a| a.allocation_id.clone(), req.max_results, req.next_token.as_deref(), &bounds)?;
    Ok(dto::DescribeAddressesAttributeResult {
        addresses: Some(
            page.iter()
                .map(|a| dto::AddressAttribute {
                    public_ip: Some(a.public_ip.clone()),
                    allocation_id: Some(a.allocation_id.clone()),
                    ptr_record: Some(format!("{}.", network::public_dns_name(&ctx.scope.region, &a.public_ip))),
                    ptr_record_update: None,
                })
                .collect(),
        ),
        next_token: next,
    })
}
