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
    let series: Vec<(&'static InstanceTypeInfo, &'static str, &'static str)> =
        types.iter().flat_map(|t| zones.iter().map(move |(z, id)| (*t, *z, *id))).collect();
    // The points are listed newest first, so a page needs only the hours it shows: walk the hours
    // down from the end, each hour's points in listing order, and stop once the page (and one more
    // point, for the token) is known. The price in force at the start (its last change at or before
    // it) is at most a day older than the start.
    let limit = req.max_results.unwrap_or(1000).clamp(1, 1000) as usize;
    let token_time: Option<i64> = req
        .next_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .and_then(super::super::common::decode_token)
        .and_then(|k| k.split('/').next()?.parse::<i64>().ok())
        .map(|v| i64::MAX - v);
    let mut firsts: Option<Vec<UnixMillis>> = None;
    let mut points: Vec<PricePoint> = Vec::new();
    let mut counted = 0usize;
    let lowest = start.0.div_euclid(HOUR_MS) - 25;
    let mut hour = end.0.div_euclid(HOUR_MS);
    while hour >= lowest && counted <= limit {
        let at = UnixMillis(hour * HOUR_MS);
        hour -= 1;
        if token_time.is_some_and(|t| at.0 > t) {
            continue;
        }
        let mut here: Vec<PricePoint> = Vec::new();
        for (i, (t, zone, zone_id)) in series.iter().enumerate() {
            let linux = if at > start {
                market::changes(seed, t, zone, at.plus_millis(-1), at).first().map(|c| c.1)
            } else {
                let f = firsts.get_or_insert_with(|| {
                    series.iter().map(|(t, z, _)| market::last_change(seed, t, z, start)).collect()
                });
                (f[i] == at).then(|| market::price(seed, t, zone, at))
            };
            let Some(linux) = linux else { continue };
            for product in &products {
                here.push(PricePoint {
                    zone,
                    zone_id,
                    instance_type: t.name,
                    product: product.clone(),
                    price: market::product_price(linux, t, product),
                    at,
                });
            }
        }
        here.retain(|p| PRICE_FILTERS.matches(p, &filters_list));
        // The same order as `key`, without building a string per comparison.
        here.sort_by(|a, b| (a.zone, a.instance_type, &a.product).cmp(&(b.zone, b.instance_type, &b.product)));
        if token_time.is_none_or(|t| at.0 < t) {
            counted += here.len();
        }
        points.extend(here);
    }
    // Newest first, as EC2 lists them.
    let key = |p: &PricePoint| format!("{:016}/{}/{}/{}", i64::MAX - p.at.0, p.zone, p.instance_type, p.product);
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
