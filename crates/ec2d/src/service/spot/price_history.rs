//! DescribeSpotPriceHistory over the seeded market.

use super::*;

pub fn describe_spot_price_history(
    ctx: &Ctx<'_>,
    req: &dto::DescribeSpotPriceHistoryRequest,
) -> Result<dto::DescribeSpotPriceHistoryResult> {
    let filters_list = filters(&PRICE_FILTERS, &req.filters)?;
    if req.availability_zone.is_some() && req.availability_zone_id.is_some() {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameters AvailabilityZone and AvailabilityZoneId cannot be used together.",
        )
        .into());
    }
    let types: Vec<&'static InstanceTypeInfo> = match req.instance_types.as_deref() {
        Some(names) if !names.is_empty() => names
            .iter()
            .map(|n| {
                instance_types::instance_type(n)
                    .ok_or_else(|| invalid(format!("Invalid value '{n}' for InstanceType.")))
            })
            .collect::<std::result::Result<_, _>>()?,
        _ => instance_types::INSTANCE_TYPES.iter().collect(),
    };
    let products: Vec<Rc<str>> = match req.product_descriptions.as_deref() {
        Some(p) if !p.is_empty() => p.iter().map(|p| Rc::from(p.as_str())).collect(),
        _ => PRODUCTS.iter().map(|p| Rc::from(*p)).collect(),
    };
    let end = req.end_time.unwrap_or(ctx.now).min(ctx.now);
    let start = req.start_time.unwrap_or(end.plus_millis(-24 * HOUR_MS));
    if start > end {
        return Err(invalid("The start time must be before the end time.").into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let zones: Vec<(&'static str, &'static str)> = regions::region(&ctx.scope.region)
        .map(|r| r.zones.iter().map(|z| (z.name, z.id)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, id)| {
            req.availability_zone.as_deref().is_none_or(|z| z == *name)
                && req.availability_zone_id.as_deref().is_none_or(|z| z == *id)
        })
        .collect();
    let seed = ctx.ids.seed();
    let mut points: Vec<PricePoint> = Vec::new();
    for t in &types {
        for (zone, zone_id) in &zones {
            // The price in force at the start, then every change up to the end.
            let first = market::last_change(seed, t, zone, start);
            let mut series = vec![(first, market::price(seed, t, zone, first))];
            series.extend(market::changes(seed, t, zone, start, end));
            for (when, linux) in series {
                for product in &products {
                    points.push(PricePoint {
                        zone,
                        zone_id,
                        instance_type: t.name,
                        product: product.clone(),
                        price: market::product_price(linux, t, product),
                        at: when,
                    });
                }
            }
        }
    }
    points.retain(|p| PRICE_FILTERS.matches(p, &filters_list));
    // Newest first, as EC2 lists them.
    let key = |p: &PricePoint| format!("{:016}/{}/{}/{}", i64::MAX - p.at.0, p.zone, p.instance_type, p.product);
    // The same order as `key`, without building a string per comparison.
    points.sort_by(|a, b| {
        (std::cmp::Reverse(a.at.0), a.zone, a.instance_type, &a.product).cmp(&(
            std::cmp::Reverse(b.at.0),
            b.zone,
            b.instance_type,
            &b.product,
        ))
    });
    let bounds = crate::service::common::PageBounds {
        min: 1,
        max: 1000,
        cap_above_max: true,
        message: |n| {
            format!("Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 1 and 1000.")
        },
    };
    let max = Some(req.max_results.unwrap_or(1000));
    let (page, next) = paginate(points, key, max, req.next_token.as_deref(), &bounds)?;
    Ok(dto::DescribeSpotPriceHistoryResult {
        spot_price_history: Some(
            page.into_iter()
                .map(|p| dto::SpotPrice {
                    availability_zone: Some(p.zone.into()),
                    availability_zone_id: Some(p.zone_id.into()),
                    instance_type: Some(p.instance_type.into()),
                    product_description: Some(p.product.to_string()),
                    spot_price: Some(format_price(p.price)),
                    timestamp: Some(p.at),
                })
                .collect(),
        ),
        next_token: Some(next.unwrap_or_default()),
    })
}

pub struct PricePoint {
    pub zone: &'static str,
    pub zone_id: &'static str,
    pub instance_type: &'static str,
    pub product: Rc<str>,
    /// The price, formatted only when shown or filtered on (the history of every type is large).
    pub price: f64,
    pub at: UnixMillis,
}

static PRICE_FILTERS: FilterTable<PricePoint> = FilterTable {
    entries: &[
        ("availability-zone", |p| vec![p.zone.to_string()]),
        ("availability-zone-id", |p| vec![p.zone_id.to_string()]),
        ("instance-type", |p| vec![p.instance_type.to_string()]),
        ("product-description", |p| vec![p.product.to_string()]),
        ("spot-price", |p| vec![format_price(p.price)]),
        ("timestamp", |p| vec![p.at.to_iso8601()]),
    ],
    tags: None,
};
