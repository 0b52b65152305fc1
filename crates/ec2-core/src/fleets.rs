//! Fleets: the EC2 Fleet record (`fleet-`) and the Spot Fleet request (`sfr-`), which share one
//! shape, their states and history, and the pure choice of pools: how a target capacity in units
//! (or vCPUs, or MiB of memory) is split over the (launch template, override) pools by an
//! allocation strategy, from each pool's price, weight, priority and free capacity.
//!
//! No IO and no clock: the service passes prices and free capacity in, and `now`.

use std::collections::BTreeMap;

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::launch::LaunchPlan;

/// Which API a fleet belongs to: the names of its states, strategies and history events differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// EC2 Fleet (CreateFleet).
    Ec2Fleet,
    /// Spot Fleet (RequestSpotFleet).
    SpotFleet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetType {
    Instant,
    Request,
    Maintain,
}

impl FleetType {
    pub fn parse(text: &str) -> Option<FleetType> {
        match text {
            "instant" => Some(FleetType::Instant),
            "request" => Some(FleetType::Request),
            "maintain" => Some(FleetType::Maintain),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FleetType::Instant => "instant",
            FleetType::Request => "request",
            FleetType::Maintain => "maintain",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    OnDemand,
    Spot,
}

impl Lifecycle {
    pub fn parse(text: &str) -> Option<Lifecycle> {
        match text {
            "on-demand" => Some(Lifecycle::OnDemand),
            "spot" => Some(Lifecycle::Spot),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lifecycle::OnDemand => "on-demand",
            Lifecycle::Spot => "spot",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetState {
    Submitted,
    Active,
    Modifying,
    Failed,
    /// Deleted (EC2 Fleet) or cancelled (Spot Fleet) with its instances left running.
    DeletedRunning,
    /// Deleted or cancelled, its instances terminating.
    DeletedTerminating,
    /// Deleted or cancelled, no instance left.
    Deleted,
}

impl FleetState {
    pub fn name(self, flavor: Flavor) -> &'static str {
        match (self, flavor) {
            (FleetState::Submitted, _) => "submitted",
            (FleetState::Active, _) => "active",
            (FleetState::Modifying, _) => "modifying",
            (FleetState::Failed, _) => "failed",
            (FleetState::DeletedRunning, Flavor::Ec2Fleet) => "deleted_running",
            (FleetState::DeletedTerminating, Flavor::Ec2Fleet) => "deleted_terminating",
            (FleetState::Deleted, Flavor::Ec2Fleet) => "deleted",
            (FleetState::DeletedRunning, Flavor::SpotFleet) => "cancelled_running",
            (FleetState::DeletedTerminating, Flavor::SpotFleet) => "cancelled_terminating",
            (FleetState::Deleted, Flavor::SpotFleet) => "cancelled",
        }
    }

    /// Whether the fleet still launches instances.
    pub fn launches(self) -> bool {
        matches!(self, FleetState::Submitted | FleetState::Active | FleetState::Modifying)
    }

    pub fn is_deleted(self) -> bool {
        matches!(self, FleetState::DeletedRunning | FleetState::DeletedTerminating | FleetState::Deleted)
    }
}

/// Spot allocation strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpotStrategy {
    LowestPrice,
    Diversified,
    CapacityOptimized,
    CapacityOptimizedPrioritized,
    PriceCapacityOptimized,
}

impl SpotStrategy {
    const NAMES: [(SpotStrategy, &'static str, &'static str); 5] = [
        (SpotStrategy::LowestPrice, "lowest-price", "lowestPrice"),
        (SpotStrategy::Diversified, "diversified", "diversified"),
        (SpotStrategy::CapacityOptimized, "capacity-optimized", "capacityOptimized"),
        (SpotStrategy::CapacityOptimizedPrioritized, "capacity-optimized-prioritized", "capacityOptimizedPrioritized"),
        (SpotStrategy::PriceCapacityOptimized, "price-capacity-optimized", "priceCapacityOptimized"),
    ];

    pub fn parse(text: &str, flavor: Flavor) -> Option<SpotStrategy> {
        Self::NAMES.iter().find(|(_, e, s)| text == if flavor == Flavor::Ec2Fleet { *e } else { *s }).map(|n| n.0)
    }

    pub fn name(self, flavor: Flavor) -> &'static str {
        let n = Self::NAMES.iter().find(|n| n.0 == self).map_or(("", ""), |n| (n.1, n.2));
        if flavor == Flavor::Ec2Fleet {
            n.0
        } else {
            n.1
        }
    }
}

/// On-Demand allocation strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDemandStrategy {
    LowestPrice,
    Prioritized,
}

impl OnDemandStrategy {
    pub fn parse(text: &str, flavor: Flavor) -> Option<OnDemandStrategy> {
        match (text, flavor) {
            ("lowest-price", Flavor::Ec2Fleet) | ("lowestPrice", Flavor::SpotFleet) => {
                Some(OnDemandStrategy::LowestPrice)
            }
            ("prioritized", _) => Some(OnDemandStrategy::Prioritized),
            _ => None,
        }
    }

    pub fn name(self, flavor: Flavor) -> &'static str {
        match (self, flavor) {
            (OnDemandStrategy::LowestPrice, Flavor::Ec2Fleet) => "lowest-price",
            (OnDemandStrategy::LowestPrice, Flavor::SpotFleet) => "lowestPrice",
            (OnDemandStrategy::Prioritized, _) => "prioritized",
        }
    }
}

/// What one unit of target capacity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitType {
    Units,
    Vcpu,
    MemoryMib,
}

impl UnitType {
    pub fn parse(text: &str) -> Option<UnitType> {
        match text {
            "units" => Some(UnitType::Units),
            "vcpu" => Some(UnitType::Vcpu),
            "memory-mib" => Some(UnitType::MemoryMib),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            UnitType::Units => "units",
            UnitType::Vcpu => "vcpu",
            UnitType::MemoryMib => "memory-mib",
        }
    }

    /// The capacity one instance of a type with `vcpus` and `memory_mib` counts for, unless its
    /// override gives a weight.
    pub fn default_weight(self, vcpus: u32, memory_mib: u64) -> f64 {
        match self {
            UnitType::Units => 1.0,
            UnitType::Vcpu => f64::from(vcpus),
            UnitType::MemoryMib => memory_mib as f64,
        }
    }
}

/// The target capacity, split by lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub total: u32,
    pub on_demand: u32,
    pub spot: u32,
    pub default_type: Lifecycle,
    pub unit_type: Option<UnitType>,
}

impl Target {
    /// The capacity wanted of each lifecycle: the explicit parts, the rest of the total going to the
    /// default type. `None` when the parts exceed the total.
    pub fn split(&self) -> Option<(u32, u32)> {
        let explicit = self.on_demand.checked_add(self.spot)?;
        let rest = self.total.checked_sub(explicit)?;
        Some(match self.default_type {
            Lifecycle::OnDemand => (self.on_demand + rest, self.spot),
            Lifecycle::Spot => (self.on_demand, self.spot + rest),
        })
    }
}

/// A launch template as a fleet names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub id: String,
    pub name: String,
    /// The version as the request gave it (`$Latest`, `$Default` or a number).
    pub version: String,
}

/// An override as the request gave it, shown back in `LaunchTemplateAndOverrides`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub instance_type: Option<String>,
    pub max_price: Option<String>,
    pub subnet_id: Option<String>,
    pub availability_zone: Option<String>,
    pub weighted_capacity: Option<f64>,
    pub priority: Option<f64>,
    pub image_id: Option<String>,
}

/// One pool a fleet can launch in: a launch template (or launch specification) with one override,
/// resolved into the plan of its launches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    /// The index of its launch template config (or launch specification) in the request.
    pub config: usize,
    pub template: Option<TemplateRef>,
    /// `None` for a config without overrides.
    pub shown: Option<Override>,
    pub plan: LaunchPlan,
    /// The capacity one instance counts for.
    pub weight: f64,
    pub priority: Option<f64>,
    /// The most the fleet pays per instance hour for a Spot Instance in this pool.
    pub max_price: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetInstance {
    pub id: String,
    pub pool: usize,
    pub lifecycle: Lifecycle,
    pub instance_type: String,
    pub spot_request_id: Option<String>,
    pub weight: f64,
    /// Until the fleet sees it shutting down or gone.
    pub live: bool,
}

/// A launch that failed in one pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetError {
    pub pool: usize,
    pub lifecycle: Lifecycle,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Instance,
    Fleet,
    Error,
}

impl HistoryKind {
    pub fn name(self, flavor: Flavor) -> &'static str {
        match (self, flavor) {
            (HistoryKind::Instance, Flavor::Ec2Fleet) => "instance-change",
            (HistoryKind::Fleet, Flavor::Ec2Fleet) => "fleet-change",
            (HistoryKind::Error, Flavor::Ec2Fleet) => "service-error",
            (HistoryKind::Instance, Flavor::SpotFleet) => "instanceChange",
            (HistoryKind::Fleet, Flavor::SpotFleet) => "fleetRequestChange",
            (HistoryKind::Error, Flavor::SpotFleet) => "error",
        }
    }

    pub fn parse(text: &str, flavor: Flavor) -> Option<HistoryKind> {
        [HistoryKind::Instance, HistoryKind::Fleet, HistoryKind::Error].into_iter().find(|k| k.name(flavor) == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub time: UnixMillis,
    pub kind: HistoryKind,
    pub sub_type: String,
    pub description: String,
    pub instance_id: Option<String>,
}

/// The most history entries a fleet keeps (the oldest go first).
pub const HISTORY_LIMIT: usize = 1000;

/// A fleet of either flavor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub id: String,
    pub flavor: Flavor,
    pub fleet_type: FleetType,
    pub state: FleetState,
    pub create_time: UnixMillis,
    pub client_token: Option<String>,
    pub target: Target,
    pub spot_strategy: SpotStrategy,
    pub on_demand_strategy: OnDemandStrategy,
    /// How a fleet Spot Instance is interrupted (`terminate`, `stop` or `hibernate`).
    pub interruption_behavior: String,
    pub pools_to_use: Option<u32>,
    /// The fleet-wide maximum Spot price (Spot Fleet's `SpotPrice`).
    pub spot_max_price: Option<f64>,
    pub capacity_rebalance: bool,
    pub pools: Vec<Pool>,
    pub valid_from: Option<UnixMillis>,
    pub valid_until: Option<UnixMillis>,
    pub replace_unhealthy: bool,
    pub terminate_with_expiration: bool,
    pub excess_policy: Option<String>,
    pub iam_fleet_role: Option<String>,
    pub context: Option<String>,
    /// A Spot Fleet made of launch specifications rather than launch templates.
    pub launch_specifications: bool,
    pub instances: Vec<FleetInstance>,
    pub errors: Vec<FleetError>,
    pub history: Vec<HistoryEntry>,
    /// Whether the fleet has tried to launch (a `request` fleet tries once).
    pub attempted: bool,
    /// When the fleet has work next (a retry of unfilled capacity, its expiry, the end of its
    /// instances' termination).
    pub next_check: Option<UnixMillis>,
}

/// A Spot Fleet request: a fleet of the Spot Fleet flavor, stored under its own kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SpotFleetRequest(pub Fleet);

/// The tag AWS puts on every instance of an EC2 Fleet.
pub const FLEET_TAG: &str = "aws:ec2:fleet-id";
/// The tag AWS puts on every instance of a Spot Fleet.
pub const SPOT_FLEET_TAG: &str = "aws:ec2spot:fleet-request-id";

/// The fleet an instance belongs to, from its tags.
pub fn owner_of(tags: &BTreeMap<String, String>) -> Option<(Flavor, &str)> {
    if let Some(id) = tags.get(FLEET_TAG) {
        return Some((Flavor::Ec2Fleet, id));
    }
    tags.get(SPOT_FLEET_TAG).map(|id| (Flavor::SpotFleet, id.as_str()))
}

impl Fleet {
    /// A new fleet in state submitted, with AWS's defaults for what the request leaves out
    /// (lowest-price strategies, terminate on interruption); the caller sets what the request says.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        flavor: Flavor,
        fleet_type: FleetType,
        now: UnixMillis,
        client_token: Option<String>,
        target: Target,
        pools: Vec<Pool>,
    ) -> Fleet {
        Fleet {
            id,
            flavor,
            fleet_type,
            state: FleetState::Submitted,
            create_time: now,
            client_token,
            target,
            spot_strategy: SpotStrategy::LowestPrice,
            on_demand_strategy: OnDemandStrategy::LowestPrice,
            interruption_behavior: "terminate".into(),
            pools_to_use: None,
            spot_max_price: None,
            capacity_rebalance: false,
            pools,
            valid_from: None,
            valid_until: None,
            replace_unhealthy: false,
            terminate_with_expiration: false,
            excess_policy: None,
            iam_fleet_role: None,
            context: None,
            launch_specifications: false,
            instances: Vec::new(),
            errors: Vec::new(),
            history: Vec::new(),
            attempted: false,
            next_check: None,
        }
    }

    pub fn record(
        &mut self,
        time: UnixMillis,
        kind: HistoryKind,
        sub_type: &str,
        description: String,
        instance_id: Option<String>,
    ) {
        self.history.push(HistoryEntry { time, kind, sub_type: sub_type.to_string(), description, instance_id });
        if self.history.len() > HISTORY_LIMIT {
            let extra = self.history.len() - HISTORY_LIMIT;
            self.history.drain(..extra);
        }
    }

    /// The capacity of the live instances of a lifecycle.
    pub fn fulfilled(&self, lifecycle: Option<Lifecycle>) -> f64 {
        self.instances.iter().filter(|i| i.live && lifecycle.is_none_or(|l| i.lifecycle == l)).map(|i| i.weight).sum()
    }

    /// What is still wanted of each lifecycle, in capacity units: the On-Demand part of the target
    /// first, and Spot for the rest of the total (so an On-Demand overshoot from weights counts
    /// towards the total).
    pub fn missing(&self) -> (f64, f64) {
        let (od, _) = self.target.split().unwrap_or((0, 0));
        let od_missing = (f64::from(od) - self.fulfilled(Some(Lifecycle::OnDemand))).max(0.0);
        let spot_missing = (f64::from(self.target.total) - self.fulfilled(None) - od_missing).max(0.0);
        (od_missing, spot_missing)
    }

    /// `fulfilled`, `pending_fulfillment` or `error`, as DescribeFleets reports it.
    pub fn activity(&self) -> &'static str {
        let (od, spot) = self.missing();
        if od <= 0.0 && spot <= 0.0 {
            "fulfilled"
        } else if self.instances.is_empty() && !self.errors.is_empty() {
            "error"
        } else {
            "pending_fulfillment"
        }
    }

    /// Deletes (cancels) the fleet: with `terminate`, the caller terminates the live instances.
    pub fn delete(&mut self, now: UnixMillis, terminate: bool) -> FleetState {
        let previous = self.state;
        let live = self.instances.iter().any(|i| i.live);
        self.state = match (terminate, live) {
            (_, false) => FleetState::Deleted,
            (true, true) => FleetState::DeletedTerminating,
            (false, true) => FleetState::DeletedRunning,
        };
        let sub = self.state.name(self.flavor);
        self.record(now, HistoryKind::Fleet, sub, String::new(), None);
        previous
    }

    /// The instance is shutting down or gone: it no longer counts; a deleted fleet whose last
    /// instance went is fully deleted.
    pub fn instance_gone(&mut self, now: UnixMillis, id: &str) -> bool {
        let Some(i) = self.instances.iter_mut().find(|i| i.id == id && i.live) else { return false };
        i.live = false;
        self.record(now, HistoryKind::Instance, "terminated", String::new(), Some(id.to_string()));
        self.after_instances_changed(now);
        true
    }

    pub fn after_instances_changed(&mut self, now: UnixMillis) {
        if matches!(self.state, FleetState::DeletedRunning | FleetState::DeletedTerminating)
            && !self.instances.iter().any(|i| i.live)
        {
            self.state = FleetState::Deleted;
            let sub = self.state.name(self.flavor);
            self.record(now, HistoryKind::Fleet, sub, String::new(), None);
        }
    }

    /// Whether a settle at `now` should launch more instances (a maintain fleet below its target,
    /// or a request fleet that has not tried yet, while it is valid).
    pub fn wants_more(&self, now: UnixMillis) -> bool {
        let (od, spot) = self.missing();
        let keeps_trying = match self.fleet_type {
            FleetType::Maintain => true,
            FleetType::Request => !self.attempted,
            FleetType::Instant => false,
        };
        self.state.launches()
            && keeps_trying
            && self.valid_from.is_none_or(|f| f <= now)
            && self.valid_until.is_none_or(|u| now < u)
            && (od > 0.0 || spot > 0.0)
    }

    /// Whether the fleet has expired by `now` (its `ValidUntil` passed while it could launch).
    pub fn expired(&self, now: UnixMillis) -> bool {
        self.fleet_type != FleetType::Instant && self.state.launches() && self.valid_until.is_some_and(|u| u <= now)
    }
}

// ---------------------------------------------------------------------------------------------
// Allocation

/// One pool as an allocation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub pool: usize,
    pub weight: f64,
    pub priority: Option<f64>,
    /// The price per instance hour (the Spot market's, or On-Demand).
    pub price: f64,
    /// How many more instances the pool can take now.
    pub free: i64,
}

impl Candidate {
    fn unit_price(&self) -> f64 {
        if self.weight > 0.0 {
            self.price / self.weight
        } else {
            f64::INFINITY
        }
    }

    /// Instances needed here to cover `units`.
    fn needed(&self, units: f64) -> i64 {
        if self.weight <= 0.0 {
            return 0;
        }
        (units / self.weight - 1e-9).ceil().max(0.0) as i64
    }
}

/// How many instances to launch in which pools, and the pools that could not take what was asked
/// of them (an instant fleet reports those as `InsufficientInstanceCapacity`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allocation {
    pub launches: Vec<(usize, u32)>,
    pub short: Vec<usize>,
}

impl Allocation {
    fn add(&mut self, pool: usize, n: u32) {
        match self.launches.iter_mut().find(|(p, _)| *p == pool) {
            Some((_, c)) => *c += n,
            None => self.launches.push((pool, n)),
        }
    }
}

fn by_price(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    a.unit_price().total_cmp(&b.unit_price()).then(a.pool.cmp(&b.pool))
}

fn by_priority(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    let p = |c: &Candidate| c.priority.unwrap_or(f64::INFINITY);
    p(a).total_cmp(&p(b)).then(a.pool.cmp(&b.pool))
}

/// Fills `units` from the pools in `order`, each as far as its free capacity goes.
fn fill(order: &[&Candidate], units: f64) -> Allocation {
    let mut out = Allocation::default();
    let mut remaining = units;
    for c in order {
        if remaining <= 0.0 {
            break;
        }
        let want = c.needed(remaining);
        if want == 0 {
            continue;
        }
        let take = want.min(c.free.max(0));
        if take < want {
            out.short.push(c.pool);
        }
        if take > 0 {
            out.add(c.pool, take as u32);
            remaining -= take as f64 * c.weight;
        }
    }
    out
}

/// Spreads `units` one instance at a time over the pools in `order`, round robin.
fn spread(order: &[&Candidate], units: f64) -> Allocation {
    let mut out = Allocation::default();
    let mut remaining = units;
    let mut taken = vec![0i64; order.len()];
    for (i, c) in order.iter().enumerate() {
        if c.free <= 0 && c.weight > 0.0 {
            out.short.push(c.pool);
            taken[i] = i64::MAX;
        }
    }
    while remaining > 0.0 {
        let mut progressed = false;
        for (i, c) in order.iter().enumerate() {
            if remaining <= 0.0 {
                break;
            }
            if c.weight <= 0.0 || taken[i] == i64::MAX || taken[i] >= c.free {
                continue;
            }
            taken[i] += 1;
            out.add(c.pool, 1);
            remaining -= c.weight;
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    out
}

/// The Spot pools to launch `units` of capacity in.
///
/// - lowest-price: the cheapest pools per unit first (over the `pools_to_use` cheapest, spread
///   round robin, when more than one is asked for);
/// - diversified: spread over every pool;
/// - capacity-optimized: the pools with the most free capacity first;
/// - capacity-optimized-prioritized: the pools that can take the whole rest first, in priority
///   order, then by free capacity;
/// - price-capacity-optimized: among the pools that can take the whole rest, the cheapest; when
///   none can, the pools with the most free capacity first.
pub fn allocate_spot(strategy: SpotStrategy, pools_to_use: Option<u32>, cands: &[Candidate], units: f64) -> Allocation {
    if units <= 0.0 {
        return Allocation::default();
    }
    let mut order: Vec<&Candidate> = cands.iter().collect();
    match strategy {
        SpotStrategy::LowestPrice => {
            order.sort_by(|a, b| by_price(a, b));
            match pools_to_use.filter(|n| *n > 1) {
                Some(n) => {
                    order.truncate(n as usize);
                    spread(&order, units)
                }
                None => fill(&order, units),
            }
        }
        SpotStrategy::Diversified => {
            order.sort_by(|a, b| by_price(a, b));
            spread(&order, units)
        }
        SpotStrategy::CapacityOptimized => {
            order.sort_by(|a, b| b.free.cmp(&a.free).then_with(|| by_price(a, b)));
            fill(&order, units)
        }
        SpotStrategy::CapacityOptimizedPrioritized => {
            order.sort_by(|a, b| {
                let shallow = |c: &Candidate| c.free < c.needed(units);
                shallow(a).cmp(&shallow(b)).then_with(|| by_priority(a, b)).then(b.free.cmp(&a.free))
            });
            fill(&order, units)
        }
        SpotStrategy::PriceCapacityOptimized => {
            order.sort_by(|a, b| {
                let shallow = |c: &Candidate| c.free < c.needed(units);
                match (shallow(a), shallow(b)) {
                    (false, false) => by_price(a, b),
                    (true, true) => b.free.cmp(&a.free).then_with(|| by_price(a, b)),
                    (x, y) => x.cmp(&y),
                }
            });
            fill(&order, units)
        }
    }
}

/// The On-Demand pools to launch `units` of capacity in: the cheapest first, or by priority (the
/// lowest number first; pools without a priority last).
pub fn allocate_on_demand(strategy: OnDemandStrategy, cands: &[Candidate], units: f64) -> Allocation {
    if units <= 0.0 {
        return Allocation::default();
    }
    let mut order: Vec<&Candidate> = cands.iter().collect();
    match strategy {
        OnDemandStrategy::LowestPrice => order.sort_by(|a, b| by_price(a, b)),
        OnDemandStrategy::Prioritized => order.sort_by(|a, b| by_priority(a, b)),
    }
    fill(&order, units)
}

/// The excess to give back when the target went down: the live instances to terminate, the
/// most recently launched first, until what remains still covers the new target.
pub fn excess(fleet: &Fleet) -> Vec<String> {
    let (od, spot) = fleet.target.split().unwrap_or((0, 0));
    let mut out = Vec::new();
    for (lifecycle, target) in [(Lifecycle::OnDemand, f64::from(od)), (Lifecycle::Spot, f64::from(spot))] {
        let mut have = fleet.fulfilled(Some(lifecycle));
        for i in fleet.instances.iter().rev().filter(|i| i.live && i.lifecycle == lifecycle) {
            if have - i.weight < target - 1e-9 {
                continue;
            }
            have -= i.weight;
            out.push(i.id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pool: usize, price: f64, free: i64) -> Candidate {
        Candidate { pool, weight: 1.0, priority: None, price, free }
    }

    #[test]
    fn lowest_price_fills_the_cheapest_pool_and_reports_a_full_one() {
        let cands = [c(0, 0.05, 0), c(1, 0.02, 2), c(2, 0.03, 10)];
        let a = allocate_spot(SpotStrategy::LowestPrice, None, &cands, 5.0);
        assert_eq!(a.launches, vec![(1, 2), (2, 3)]);
        assert_eq!(a.short, vec![1]);
        let a = allocate_spot(SpotStrategy::LowestPrice, None, &[c(0, 0.01, 0), c(1, 0.02, 9)], 3.0);
        assert_eq!(a.launches, vec![(1, 3)]);
        assert_eq!(a.short, vec![0]);
    }

    #[test]
    fn weights_count_capacity_units() {
        let cands = [Candidate { pool: 0, weight: 4.0, priority: None, price: 0.08, free: 10 }, c(1, 0.03, 10)];
        // 0.02 per unit beats 0.03.
        let a = allocate_spot(SpotStrategy::LowestPrice, None, &cands, 10.0);
        assert_eq!(a.launches, vec![(0, 3)]);
    }

    #[test]
    fn diversified_spreads_over_every_pool() {
        let cands = [c(0, 0.05, 10), c(1, 0.02, 10), c(2, 0.03, 1)];
        let a = allocate_spot(SpotStrategy::Diversified, None, &cands, 7.0);
        let total: u32 = a.launches.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 7);
        assert_eq!(a.launches.iter().find(|(p, _)| *p == 2), Some(&(2, 1)));
        assert!(a.launches.iter().all(|(_, n)| *n >= 1));
    }

    #[test]
    fn lowest_price_over_n_pools() {
        let cands = [c(0, 0.05, 10), c(1, 0.02, 10), c(2, 0.03, 10)];
        let a = allocate_spot(SpotStrategy::LowestPrice, Some(2), &cands, 4.0);
        assert_eq!(a.launches, vec![(1, 2), (2, 2)]);
    }

    #[test]
    fn capacity_optimized_follows_free_capacity() {
        let cands = [c(0, 0.01, 3), c(1, 0.09, 50), c(2, 0.03, 10)];
        let a = allocate_spot(SpotStrategy::CapacityOptimized, None, &cands, 4.0);
        assert_eq!(a.launches, vec![(1, 4)]);
    }

    #[test]
    fn price_capacity_optimized_takes_the_cheapest_deep_pool() {
        // The cheapest pool cannot take the whole request: the cheapest pool that can wins.
        let cands = [c(0, 0.01, 2), c(1, 0.09, 50), c(2, 0.03, 10)];
        let a = allocate_spot(SpotStrategy::PriceCapacityOptimized, None, &cands, 4.0);
        assert_eq!(a.launches, vec![(2, 4)]);
        assert!(a.short.is_empty());
        // With room in the cheapest pool, it wins.
        let cands = [c(0, 0.01, 20), c(1, 0.09, 50), c(2, 0.03, 10)];
        assert_eq!(allocate_spot(SpotStrategy::PriceCapacityOptimized, None, &cands, 4.0).launches, vec![(0, 4)]);
        // No pool deep enough: the deepest first.
        let cands = [c(0, 0.01, 1), c(1, 0.09, 3), c(2, 0.03, 2)];
        let a = allocate_spot(SpotStrategy::PriceCapacityOptimized, None, &cands, 5.0);
        assert_eq!(a.launches, vec![(1, 3), (2, 2)]);
    }

    #[test]
    fn capacity_optimized_prioritized_honours_priority_among_deep_pools() {
        let mut cands = vec![c(0, 0.01, 10), c(1, 0.09, 10), c(2, 0.03, 1)];
        cands[0].priority = Some(3.0);
        cands[1].priority = Some(1.0);
        cands[2].priority = Some(0.0);
        let a = allocate_spot(SpotStrategy::CapacityOptimizedPrioritized, None, &cands, 4.0);
        assert_eq!(a.launches, vec![(1, 4)]);
    }

    #[test]
    fn on_demand_lowest_price_and_prioritized() {
        let mut cands = vec![c(0, 0.2, 10), c(1, 0.1, 10)];
        assert_eq!(allocate_on_demand(OnDemandStrategy::LowestPrice, &cands, 2.0).launches, vec![(1, 2)]);
        cands[0].priority = Some(1.0);
        cands[1].priority = Some(2.0);
        assert_eq!(allocate_on_demand(OnDemandStrategy::Prioritized, &cands, 2.0).launches, vec![(0, 2)]);
        cands[0].free = 1;
        let a = allocate_on_demand(OnDemandStrategy::Prioritized, &cands, 2.0);
        assert_eq!(a.launches, vec![(0, 1), (1, 1)]);
        assert_eq!(a.short, vec![0]);
    }

    #[test]
    fn nothing_wanted_launches_nothing() {
        assert_eq!(allocate_spot(SpotStrategy::Diversified, None, &[c(0, 0.1, 5)], 0.0), Allocation::default());
        assert_eq!(allocate_on_demand(OnDemandStrategy::LowestPrice, &[], 3.0), Allocation::default());
    }

    #[test]
    fn target_split_gives_the_rest_to_the_default_type() {
        let t = Target { total: 5, on_demand: 1, spot: 0, default_type: Lifecycle::Spot, unit_type: None };
        assert_eq!(t.split(), Some((1, 4)));
        let t = Target { total: 2, on_demand: 2, spot: 1, default_type: Lifecycle::Spot, unit_type: None };
        assert_eq!(t.split(), None);
    }

    fn fleet(target: Target) -> Fleet {
        let mut f = Fleet::new(
            "fleet-1".into(),
            Flavor::Ec2Fleet,
            FleetType::Maintain,
            UnixMillis(0),
            None,
            target,
            Vec::new(),
        );
        f.state = FleetState::Active;
        f
    }

    fn member(id: &str, lifecycle: Lifecycle, weight: f64) -> FleetInstance {
        FleetInstance {
            id: id.into(),
            pool: 0,
            lifecycle,
            instance_type: "m5.large".into(),
            spot_request_id: None,
            weight,
            live: true,
        }
    }

    #[test]
    fn missing_capacity_counts_an_on_demand_overshoot_towards_the_total() {
        let t = Target { total: 4, on_demand: 1, spot: 0, default_type: Lifecycle::Spot, unit_type: None };
        let mut f = fleet(t);
        assert_eq!(f.missing(), (1.0, 3.0));
        f.instances.push(member("i-1", Lifecycle::OnDemand, 2.0));
        assert_eq!(f.missing(), (0.0, 2.0));
        f.instances.push(member("i-2", Lifecycle::Spot, 2.0));
        assert_eq!(f.missing(), (0.0, 0.0));
        assert_eq!(f.activity(), "fulfilled");
        assert!(!f.wants_more(UnixMillis(0)));
    }

    #[test]
    fn deleting_and_losing_instances_moves_through_the_deleted_states() {
        let t = Target { total: 2, on_demand: 0, spot: 0, default_type: Lifecycle::Spot, unit_type: None };
        let mut f = fleet(t.clone());
        f.instances.push(member("i-1", Lifecycle::Spot, 1.0));
        f.instances.push(member("i-2", Lifecycle::Spot, 1.0));
        assert_eq!(f.delete(UnixMillis(5), false), FleetState::Active);
        assert_eq!(f.state, FleetState::DeletedRunning);
        assert!(f.instance_gone(UnixMillis(6), "i-1"));
        assert!(!f.instance_gone(UnixMillis(6), "i-1"), "only once");
        assert_eq!(f.state, FleetState::DeletedRunning);
        f.instance_gone(UnixMillis(7), "i-2");
        assert_eq!(f.state, FleetState::Deleted);
        assert_eq!(f.history.last().map(|h| h.sub_type.as_str()), Some("deleted"));
        let mut g = fleet(t);
        g.delete(UnixMillis(1), true);
        assert_eq!(g.state, FleetState::Deleted, "nothing to terminate");
    }

    #[test]
    fn a_smaller_target_gives_back_the_newest_instances() {
        let t = Target { total: 1, on_demand: 0, spot: 0, default_type: Lifecycle::Spot, unit_type: None };
        let mut f = fleet(t);
        for id in ["i-1", "i-2", "i-3"] {
            f.instances.push(member(id, Lifecycle::Spot, 1.0));
        }
        assert_eq!(excess(&f), vec!["i-3".to_string(), "i-2".to_string()]);
    }

    #[test]
    fn expiry_and_validity() {
        let t = Target { total: 1, on_demand: 0, spot: 0, default_type: Lifecycle::Spot, unit_type: None };
        let mut f = fleet(t);
        f.valid_from = Some(UnixMillis(10));
        f.valid_until = Some(UnixMillis(20));
        assert!(!f.wants_more(UnixMillis(5)));
        assert!(f.wants_more(UnixMillis(10)));
        assert!(!f.expired(UnixMillis(19)));
        assert!(f.expired(UnixMillis(20)));
        assert!(!f.wants_more(UnixMillis(20)));
        // A request fleet tries once.
        f.fleet_type = FleetType::Request;
        assert!(f.wants_more(UnixMillis(10)));
        f.attempted = true;
        assert!(!f.wants_more(UnixMillis(10)));
    }

    #[test]
    fn names_by_flavor() {
        assert_eq!(FleetState::DeletedRunning.name(Flavor::SpotFleet), "cancelled_running");
        assert_eq!(FleetState::DeletedTerminating.name(Flavor::Ec2Fleet), "deleted_terminating");
        assert_eq!(
            SpotStrategy::parse("priceCapacityOptimized", Flavor::SpotFleet),
            Some(SpotStrategy::PriceCapacityOptimized)
        );
        assert_eq!(SpotStrategy::parse("priceCapacityOptimized", Flavor::Ec2Fleet), None);
        assert_eq!(SpotStrategy::PriceCapacityOptimized.name(Flavor::Ec2Fleet), "price-capacity-optimized");
        assert_eq!(HistoryKind::parse("fleetRequestChange", Flavor::SpotFleet), Some(HistoryKind::Fleet));
    }
}
