//! Capacity Blocks: DescribeCapacityBlockOfferings and PurchaseCapacityBlock. The offerings and
//! their rules are in [`ec2_core::capacity_reservations::blocks`]; a purchased block is a
//! Capacity Reservation of type `capacity-block`, settled like every other reservation.

use std::collections::BTreeMap;

use ec2_core::capacity_reservations::blocks::{self, CapacityBlockOfferingRecord};
use ec2_core::capacity_reservations::{CapacityReservation, CrState, MatchCriteria, ReservationType};
use ec2_core::catalog::instance_types;
use ec2_core::ids::IdKind;
use ec2_core::regions;
use ec2_protocol::{dto, Ec2Error};
use ec2_store::Txn;

use super::capacity_pools::register;
use super::capacity_reservations::{cr_dto, durations, PLATFORMS};
use super::common::{new_id, paginate, tag_specifications, tags_for, PageBounds};
use super::{dry_run_gate, Ctx, Result};

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

pub fn describe_capacity_block_offerings(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeCapacityBlockOfferingsRequest,
) -> Result<dto::DescribeCapacityBlockOfferingsResult> {
    let type_name = req.instance_type.clone().ok_or_else(|| Ec2Error::missing_parameter("InstanceType"))?;
    let itype = instance_types::instance_type(&type_name)
        .filter(|t| blocks::is_block_type(t.name))
        .ok_or_else(|| invalid(format!("Capacity Blocks are not offered for the instance type '{type_name}'.")))?;
    let count = req.instance_count.unwrap_or(1);
    if !(1..=64).contains(&count) {
        return Err(
            invalid(format!("Value ({count}) for parameter instanceCount is invalid. Expected 1 to 64.")).into()
        );
    }
    let hours = req.capacity_duration_hours.unwrap_or(0);
    if !(1..=4368).contains(&hours) || (hours > 24 && hours % 24 != 0) {
        return Err(invalid(format!(
            "Value ({hours}) for parameter capacityDurationHours is invalid. Expected 1 to 24 hours, or whole days up to 182 days."
        ))
        .into());
    }
    let bounds = PageBounds {
        min: 1,
        max: 1000,
        cap_above_max: false,
        message: |n| format!("{n} is an invalid value for MaxResults. MaxResults must be null, or between 1 and 1000."),
    };
    dry_run_gate(ctx, req.dry_run)?;
    let from = req.start_date_range.unwrap_or(ctx.now).max(ctx.now);
    let until = req.end_date_range;
    let zones: Vec<&regions::Zone> =
        regions::region(&ctx.scope.region).map(|r| r.zones.iter().take(2).collect()).unwrap_or_default();
    let search = blocks::BlockSearch { instance_type: itype, count: count as u32, hours, from, until };
    let offers = blocks::offerings(ctx.ids.seed(), &search, &zones);
    for rec in &offers {
        tx.put(ctx.scope.key(), rec)?;
    }
    let (page, next) = paginate(
        offers,
        |o| format!("{:016}/{}", o.start.0, o.availability_zone),
        req.max_results,
        req.next_token.as_deref(),
        &bounds,
    )?;
    Ok(dto::DescribeCapacityBlockOfferingsResult {
        capacity_block_offerings: Some(
            page.iter()
                .map(|o| dto::CapacityBlockOffering {
                    capacity_block_offering_id: Some(o.id.clone()),
                    instance_type: Some(o.instance_type.clone()),
                    availability_zone: Some(o.availability_zone.clone()),
                    instance_count: Some(i64::from(o.instance_count)),
                    start_date: Some(o.start),
                    end_date: Some(o.end),
                    capacity_block_duration_hours: Some(o.hours),
                    upfront_fee: Some(o.upfront_fee.clone()),
                    currency_code: Some("USD".into()),
                    tenancy: Some("default".into()),
                    ..Default::default()
                })
                .collect(),
        ),
        next_token: next,
    })
}

pub fn purchase_capacity_block(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::PurchaseCapacityBlockRequest,
) -> Result<dto::PurchaseCapacityBlockResult> {
    let offering_id = req.capacity_block_offering_id.clone().unwrap_or_default();
    let platform = req.instance_platform.clone().unwrap_or_default();
    if !PLATFORMS.contains(&platform.as_str()) {
        return Err(invalid(format!("Value ({platform}) for parameter instancePlatform is invalid.")).into());
    }
    let specs = tag_specifications(&req.tag_specifications, &["capacity-reservation", "capacity-block"])?;
    dry_run_gate(ctx, req.dry_run)?;
    let offer = tx
        .get::<CapacityBlockOfferingRecord>(ctx.scope.key(), &offering_id)?
        .filter(|o| blocks::purchasable(o, ctx.now))
        .ok_or_else(|| {
            invalid(format!("The Capacity Block offering '{offering_id}' does not exist or is no longer available."))
        })?;
    tx.delete::<CapacityBlockOfferingRecord>(ctx.scope.key(), &offering_id)?;
    let id = new_id(ctx, tx, IdKind::CapacityReservation)?;
    let block_id = blocks::block_id_of(&id);
    let mut cr = CapacityReservation {
        id,
        owner_id: ctx.scope.account.clone(),
        instance_type: offer.instance_type.clone(),
        instance_platform: platform,
        availability_zone: offer.availability_zone.clone(),
        availability_zone_id: offer.availability_zone_id.clone(),
        tenancy: "default".into(),
        total: 0,
        used: 0,
        requested: offer.instance_count,
        ebs_optimized: true,
        ephemeral_storage: false,
        state: CrState::Pending,
        create_date: ctx.now,
        start_date: offer.start,
        end_date: Some(offer.end),
        match_criteria: MatchCriteria::Targeted,
        reservation_type: ReservationType::CapacityBlock,
        capacity_block_id: Some(block_id.clone()),
        commitment_duration: None,
        commitment_end: None,
        delivery_preference: None,
        commitment_waived: false,
        interruptible: false,
        source_id: None,
        allocation: None,
        events: vec![],
        tags: tags_for(&specs, "capacity-reservation").into_iter().collect(),
    };
    cr.submit_capacity_block(ctx.now, &durations(ctx));
    super::capacity_reservations::save(ctx.ids.seed(), tx, ctx.scope.key(), &cr, ctx.now)?;
    register(ctx, tx, &cr)?;
    let block_tags: BTreeMap<String, String> = tags_for(&specs, "capacity-block").into_iter().collect();
    Ok(dto::PurchaseCapacityBlockResult {
        capacity_reservation: Some(cr_dto(ctx, &cr)),
        capacity_blocks: Some(vec![dto::CapacityBlock {
            capacity_block_id: Some(block_id),
            availability_zone: Some(cr.availability_zone.clone()),
            availability_zone_id: Some(cr.availability_zone_id.clone()),
            capacity_reservation_ids: Some(vec![cr.id.clone()]),
            start_date: Some(offer.start),
            end_date: Some(offer.end),
            create_date: Some(ctx.now),
            state: Some("scheduled".into()),
            tags: Some(
                block_tags.iter().map(|(k, v)| dto::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect(),
            ),
            ..Default::default()
        }]),
    })
}
