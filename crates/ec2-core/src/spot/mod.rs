//! Spot Instance requests: the record and its state machine (spec section 6).
//!
//! A request moves between the states `open`, `active`, `disabled`, `closed`, `cancelled` and
//! `failed`, with a status code for the reason (`pending-evaluation`, `fulfilled`,
//! `marked-for-termination`, ...). Timed steps (evaluation, fulfilment, the two-minute interruption
//! notice, EC2's restart of an interrupted instance) are [`SpotEvent`]s due at a time; the server
//! applies them in time order together with the transitions of the request's instance, and carries
//! out the [`Effect`] each one asks for on that instance.

pub mod market;
pub mod schedule;

use std::collections::BTreeMap;

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpotType {
    OneTime,
    Persistent,
}

impl SpotType {
    pub fn name(self) -> &'static str {
        match self {
            SpotType::OneTime => "one-time",
            SpotType::Persistent => "persistent",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpotState {
    Open,
    Active,
    Disabled,
    Closed,
    Cancelled,
    Failed,
}

impl SpotState {
    pub fn name(self) -> &'static str {
        match self {
            SpotState::Open => "open",
            SpotState::Active => "active",
            SpotState::Disabled => "disabled",
            SpotState::Closed => "closed",
            SpotState::Cancelled => "cancelled",
            SpotState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterruptionBehavior {
    Terminate,
    Stop,
    Hibernate,
}

impl InterruptionBehavior {
    pub fn name(self) -> &'static str {
        match self {
            InterruptionBehavior::Terminate => "terminate",
            InterruptionBehavior::Stop => "stop",
            InterruptionBehavior::Hibernate => "hibernate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "terminate" => Some(InterruptionBehavior::Terminate),
            "stop" => Some(InterruptionBehavior::Stop),
            "hibernate" => Some(InterruptionBehavior::Hibernate),
            _ => None,
        }
    }
}

/// Why EC2 interrupts a Spot Instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Spare capacity is needed back (`...-no-capacity`).
    Capacity,
    /// The market price rose above the request's maximum price (`...-by-price`).
    Price,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpotEvent {
    /// Decide: fulfil, hold (`price-too-low`, `capacity-not-available`, `not-scheduled-yet`) or expire.
    Evaluate,
    /// Launch the instance (`pending-fulfillment` -> `fulfilled`).
    Fulfil,
    /// The interruption notice ran out: act on the instance.
    NoticeExpired,
    /// EC2 starts an instance it stopped or hibernated, if price and capacity allow.
    Restart,
    /// EC2 terminates the stopped instance of a request cancelled while `disabled`.
    TerminateStopped,
}

/// What the server must do to the request's instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    Launch,
    Terminate,
    Stop { hibernate: bool },
    Start,
}

/// How long the request's timed steps take, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpotDurations {
    pub evaluation: i64,
    pub fulfillment: i64,
    /// The interruption notice (two minutes on AWS).
    pub notice: i64,
    /// From an interruption stop until EC2 tries to start the instance again.
    pub restart: i64,
    /// From cancelling a `disabled` request until EC2 terminates its stopped instance.
    pub service_terminate: i64,
    /// Between two evaluations of a request waiting for capacity.
    pub capacity_retry: i64,
}

impl SpotDurations {
    pub const INSTANT: SpotDurations =
        SpotDurations { evaluation: 0, fulfillment: 0, notice: 0, restart: 0, service_terminate: 0, capacity_retry: 0 };
    pub const REALISTIC: SpotDurations = SpotDurations {
        evaluation: 2_000,
        fulfillment: 3_000,
        notice: 120_000,
        restart: 300_000,
        service_terminate: 10_000,
        capacity_retry: 60_000,
    };
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotRequest {
    pub id: String,
    pub spot_type: SpotType,
    pub state: SpotState,
    pub status_code: String,
    pub status_time: UnixMillis,
    /// The maximum price, as the client gave it or the On-Demand price.
    pub max_price: f64,
    pub instance_type: String,
    pub product_description: String,
    pub instance_id: Option<String>,
    pub launched_zone: Option<String>,
    pub create_time: UnixMillis,
    pub valid_from: Option<UnixMillis>,
    pub valid_until: UnixMillis,
    pub interruption_behavior: InterruptionBehavior,
    pub launch_group: Option<String>,
    pub availability_zone_group: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The launch plan the request launches (and restarts) with. Documents written before it was
    /// typed hold it as a JSON string, which still reads.
    #[serde(deserialize_with = "crate::launch::plan_compat")]
    pub launch_plan: crate::launch::LaunchPlan,
    /// The zone the plan launches into (for the pool).
    pub zone: String,
    pub pending: Option<(UnixMillis, SpotEvent)>,
    /// The interruption in progress, if any.
    pub interruption: Option<Cause>,
    /// Whether the instance was stopped by an interruption (so only EC2 may start it).
    pub stopped_by_interruption: bool,
    /// Market price changes up to this time have been checked against `max_price`.
    pub price_checked_until: UnixMillis,
    /// The capacity pool whose Spot count includes this request, as last saved (`None` in documents
    /// written before pools counted Spot requests; they are counted at their next save).
    #[serde(default)]
    pub counted_in: Option<String>,
}

/// The status message for a status code (EC2's wording where it was captured, spec 6.2).
pub fn status_message(code: &str) -> &'static str {
    match code {
        "pending-evaluation" => "Your Spot request has been submitted for review, and is pending evaluation.",
        "pending-fulfillment" => "Your Spot request is pending fulfillment.",
        "fulfilled" => "Your spot request is fulfilled.",
        "not-scheduled-yet" => "Your Spot request will not be evaluated until the scheduled date.",
        "price-too-low" => "Your Spot request price is lower than the minimum required Spot request fulfillment price.",
        "capacity-not-available" => "There is no Spot capacity available that matches your request.",
        "schedule-expired" => "Your Spot request has expired before it could be fulfilled.",
        "canceled-before-fulfillment" => "Your Spot request was canceled before it was fulfilled.",
        "request-canceled-and-instance-running" => "Your Spot request is canceled, but your instance is still running.",
        "marked-for-termination" => "Your Spot Instance is marked for termination.",
        "marked-for-stop" => "Your Spot Instance is marked to be stopped.",
        "marked-for-hibernation" => "Your Spot Instance is marked to be hibernated.",
        "instance-terminated-by-user" => "Spot Instance terminated due to user-initiated termination.",
        "instance-terminated-by-price" => {
            "Your Spot Instance was terminated because the Spot price rose above your maximum price."
        }
        "instance-terminated-no-capacity" => "Your Spot Instance was terminated because there is no spare capacity.",
        "instance-terminated-by-service" => "Your Spot Instance was terminated by the Spot service.",
        "instance-stopped-by-user" => "Your Spot Instance was stopped by user.",
        "instance-stopped-by-price" => {
            "Your Spot Instance was stopped because the Spot price rose above your maximum price."
        }
        "instance-stopped-no-capacity" => "Your Spot Instance was stopped because there is no spare capacity.",
        "bad-parameters" => "One or more parameters of your Spot request are not valid.",
        _ => "",
    }
}

impl SpotRequest {
    fn set(&mut self, state: SpotState, code: &str, at: UnixMillis) {
        self.state = state;
        if self.status_code != code {
            self.status_time = at;
        }
        self.status_code = code.to_string();
    }

    /// A new request: `open`/`pending-evaluation`, evaluated after the evaluation delay.
    pub fn submitted(&mut self, now: UnixMillis, d: &SpotDurations) {
        self.state = SpotState::Open;
        self.status_code = "pending-evaluation".into();
        self.status_time = now;
        self.pending = Some((now.plus_millis(d.evaluation), SpotEvent::Evaluate));
    }

    /// The pool (`{zone}/{instance type}`) whose Spot limit this request counts against: while it
    /// owns an instance, or is `disabled` (its stopped instance will start again in that pool).
    pub fn occupied_pool(&self) -> Option<String> {
        let occupies = self.holds_instance() || self.state == SpotState::Disabled;
        match (&self.launched_zone, occupies) {
            (Some(zone), true) => {
                Some(crate::capacity_reservations::pools::CapacityPool::id_of(zone, &self.instance_type))
            }
            _ => None,
        }
    }

    /// Whether the request still owns a running (or starting) instance.
    pub fn holds_instance(&self) -> bool {
        matches!(self.state, SpotState::Active)
            || (self.state == SpotState::Cancelled && self.status_code == "request-canceled-and-instance-running")
    }

    /// `Evaluate` at `at`: `market` is the price then, `next_change` when it next changes,
    /// `capacity` whether the pool has room. `now` bounds retries so one settle makes progress.
    pub fn evaluate(
        &mut self,
        at: UnixMillis,
        now: UnixMillis,
        market: f64,
        next_change: UnixMillis,
        capacity: bool,
        d: &SpotDurations,
    ) {
        self.pending = None;
        if self.state != SpotState::Open {
            return;
        }
        if at >= self.valid_until {
            self.set(SpotState::Cancelled, "schedule-expired", at);
            return;
        }
        if let Some(from) = self.valid_from.filter(|f| *f > at) {
            self.set(SpotState::Open, "not-scheduled-yet", at);
            self.pending = Some((from, SpotEvent::Evaluate));
            return;
        }
        if self.max_price < market {
            self.set(SpotState::Open, "price-too-low", at);
            self.pending = Some((next_change.min(self.valid_until), SpotEvent::Evaluate));
            return;
        }
        if !capacity {
            self.set(SpotState::Open, "capacity-not-available", at);
            let retry = at.plus_millis(d.capacity_retry).max(now.plus_millis(1));
            self.pending = Some((retry.min(self.valid_until), SpotEvent::Evaluate));
            return;
        }
        self.set(SpotState::Open, "pending-fulfillment", at);
        self.pending = Some((at.plus_millis(d.fulfillment), SpotEvent::Fulfil));
    }

    /// `Fulfil` at `at`: the server launched `instance_id` in `zone`.
    pub fn fulfilled(&mut self, at: UnixMillis, instance_id: String, zone: String) {
        self.pending = None;
        self.instance_id = Some(instance_id);
        self.launched_zone = Some(zone);
        self.interruption = None;
        self.stopped_by_interruption = false;
        self.price_checked_until = at;
        self.set(SpotState::Active, "fulfilled", at);
    }

    /// Starts an interruption (from the control API, or a price rise): the notice shows on the
    /// request, and the behaviour happens when it runs out. `false` when nothing is running.
    pub fn interrupt(&mut self, at: UnixMillis, cause: Cause, d: &SpotDurations) -> bool {
        if !self.holds_instance() || self.interruption.is_some() {
            return false;
        }
        self.interruption = Some(cause);
        let code = match self.interruption_behavior {
            InterruptionBehavior::Terminate => "marked-for-termination",
            InterruptionBehavior::Stop => "marked-for-stop",
            InterruptionBehavior::Hibernate => "marked-for-hibernation",
        };
        let state = self.state;
        self.set(state, code, at);
        self.pending = Some((at.plus_millis(d.notice), SpotEvent::NoticeExpired));
        true
    }

    /// `NoticeExpired`: what happens to the instance.
    pub fn notice_expired(&mut self) -> Effect {
        self.pending = None;
        match self.interruption_behavior {
            InterruptionBehavior::Terminate => Effect::Terminate,
            InterruptionBehavior::Stop => Effect::Stop { hibernate: false },
            InterruptionBehavior::Hibernate => Effect::Stop { hibernate: true },
        }
    }

    /// The user stopped the instance (only persistent requests allow it).
    pub fn user_stopping(&mut self, at: UnixMillis) {
        if self.state == SpotState::Active {
            self.set(SpotState::Active, "marked-for-stop", at);
        }
    }

    /// The user started the instance again.
    pub fn user_started(&mut self, at: UnixMillis) {
        if self.state == SpotState::Disabled {
            self.stopped_by_interruption = false;
            self.set(SpotState::Active, "fulfilled", at);
        }
    }

    /// The instance finished stopping at `at`.
    pub fn instance_stopped(&mut self, at: UnixMillis, d: &SpotDurations) {
        match self.interruption.take() {
            Some(cause) => {
                self.stopped_by_interruption = true;
                let code =
                    if cause == Cause::Price { "instance-stopped-by-price" } else { "instance-stopped-no-capacity" };
                if self.state != SpotState::Cancelled {
                    self.set(SpotState::Disabled, code, at);
                    self.pending = Some((at.plus_millis(d.restart), SpotEvent::Restart));
                }
            }
            None => {
                if self.state != SpotState::Cancelled {
                    self.set(SpotState::Disabled, "instance-stopped-by-user", at);
                }
            }
        }
    }

    /// The instance finished terminating at `at`. `by_service` when EC2 terminated it after a
    /// cancel of a `disabled` request.
    pub fn instance_terminated(&mut self, at: UnixMillis, by_service: bool, d: &SpotDurations) {
        self.pending = None;
        let code = match (by_service, self.interruption.take()) {
            (true, _) => "instance-terminated-by-service",
            (false, Some(Cause::Price)) => "instance-terminated-by-price",
            (false, Some(Cause::Capacity)) => "instance-terminated-no-capacity",
            (false, None) => "instance-terminated-by-user",
        };
        match (self.state, self.spot_type) {
            (SpotState::Cancelled, _) => self.set(SpotState::Cancelled, code, at),
            (_, SpotType::OneTime) => self.set(SpotState::Closed, code, at),
            (_, SpotType::Persistent) => {
                // The request opens again and launches a new instance.
                self.set(SpotState::Open, code, at);
                self.pending = Some((at.plus_millis(d.evaluation), SpotEvent::Evaluate));
            }
        }
    }

    /// Cancels the request. Returns the effect on a stopped instance (EC2 terminates it later).
    pub fn cancel(&mut self, at: UnixMillis, d: &SpotDurations) {
        match self.state {
            SpotState::Open => {
                self.pending = None;
                self.set(SpotState::Cancelled, "canceled-before-fulfillment", at);
            }
            SpotState::Active => {
                // An interruption notice in progress still runs out.
                if self.interruption.is_none() {
                    self.pending = None;
                }
                self.set(SpotState::Cancelled, "request-canceled-and-instance-running", at);
            }
            SpotState::Disabled => {
                let code = self.status_code.clone();
                self.set(SpotState::Cancelled, &code, at);
                self.status_time = at;
                self.pending = Some((at.plus_millis(d.service_terminate), SpotEvent::TerminateStopped));
            }
            SpotState::Closed | SpotState::Cancelled | SpotState::Failed => {}
        }
    }

    /// The request's validity ran out at `at` (persistent requests that are not open).
    pub fn expire(&mut self, at: UnixMillis, d: &SpotDurations) {
        match self.state {
            SpotState::Active => self.set(SpotState::Cancelled, "request-canceled-and-instance-running", at),
            SpotState::Disabled => self.cancel(at, d),
            _ => {}
        }
    }

    /// `Restart` at `at`: whether EC2 may start the stopped instance now (else it retries later).
    pub fn restart(&mut self, at: UnixMillis, possible: bool, retry_at: UnixMillis) -> Effect {
        self.pending = None;
        if self.state != SpotState::Disabled || !self.stopped_by_interruption {
            return Effect::None;
        }
        if !possible {
            self.pending = Some((retry_at, SpotEvent::Restart));
            return Effect::None;
        }
        self.stopped_by_interruption = false;
        self.set(SpotState::Active, "fulfilled", at);
        Effect::Start
    }

    /// When the request's validity ends, if that still matters for it.
    pub fn expiry(&self) -> Option<UnixMillis> {
        match (self.state, self.spot_type) {
            (SpotState::Active | SpotState::Disabled, SpotType::Persistent) => Some(self.valid_until),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const T: UnixMillis = UnixMillis(1_767_225_600_000);
    const D: SpotDurations = SpotDurations::REALISTIC;

    pub fn request(spot_type: SpotType, behavior: InterruptionBehavior) -> SpotRequest {
        let mut r = SpotRequest {
            id: "sir-12345678".into(),
            spot_type,
            state: SpotState::Open,
            status_code: String::new(),
            status_time: T,
            max_price: 0.1,
            instance_type: "t3.micro".into(),
            product_description: "Linux/UNIX".into(),
            instance_id: None,
            launched_zone: None,
            create_time: T,
            valid_from: None,
            valid_until: T.plus_seconds(7 * 86_400),
            interruption_behavior: behavior,
            launch_group: None,
            availability_zone_group: None,
            tags: BTreeMap::new(),
            launch_plan: crate::launch::tests::plan(),
            zone: "us-east-1a".into(),
            pending: None,
            interruption: None,
            stopped_by_interruption: false,
            price_checked_until: T,
            counted_in: None,
        };
        r.submitted(T, &D);
        r
    }

    fn fulfil(r: &mut SpotRequest, at: UnixMillis) {
        r.evaluate(at, at, 0.01, at.plus_seconds(3600), true, &D);
        assert_eq!(r.status_code, "pending-fulfillment");
        r.fulfilled(at.plus_millis(D.fulfillment), "i-1".into(), "us-east-1a".into());
    }

    #[test]
    fn holding_codes() {
        let mut r = request(SpotType::OneTime, InterruptionBehavior::Terminate);
        assert_eq!((r.state, r.status_code.as_str()), (SpotState::Open, "pending-evaluation"));
        r.evaluate(T, T, 0.5, T.plus_seconds(3600), true, &D);
        assert_eq!(r.status_code, "price-too-low");
        assert_eq!(r.pending, Some((T.plus_seconds(3600), SpotEvent::Evaluate)));
        r.evaluate(T, T, 0.01, T.plus_seconds(3600), false, &D);
        assert_eq!(r.status_code, "capacity-not-available");
        r.valid_from = Some(T.plus_seconds(60));
        r.evaluate(T, T, 0.01, T.plus_seconds(3600), true, &D);
        assert_eq!(r.status_code, "not-scheduled-yet");
        r.evaluate(r.valid_until, r.valid_until, 0.01, T, true, &D);
        assert_eq!((r.state, r.status_code.as_str()), (SpotState::Cancelled, "schedule-expired"));
    }

    #[test]
    fn one_time_closes_and_persistent_reopens_on_termination() {
        let mut one = request(SpotType::OneTime, InterruptionBehavior::Terminate);
        fulfil(&mut one, T);
        assert_eq!((one.state, one.status_code.as_str()), (SpotState::Active, "fulfilled"));
        one.instance_terminated(T.plus_seconds(60), false, &D);
        assert_eq!((one.state, one.status_code.as_str()), (SpotState::Closed, "instance-terminated-by-user"));
        let mut p = request(SpotType::Persistent, InterruptionBehavior::Terminate);
        fulfil(&mut p, T);
        assert!(p.interrupt(T.plus_seconds(10), Cause::Capacity, &D));
        assert_eq!(p.status_code, "marked-for-termination");
        assert_eq!(p.notice_expired(), Effect::Terminate);
        p.instance_terminated(T.plus_seconds(200), false, &D);
        assert_eq!((p.state, p.status_code.as_str()), (SpotState::Open, "instance-terminated-no-capacity"));
        assert_eq!(p.pending.map(|e| e.1), Some(SpotEvent::Evaluate));
    }

    #[test]
    fn cancel_rules() {
        let mut open = request(SpotType::OneTime, InterruptionBehavior::Terminate);
        open.cancel(T, &D);
        assert_eq!((open.state, open.status_code.as_str()), (SpotState::Cancelled, "canceled-before-fulfillment"));
        let mut active = request(SpotType::OneTime, InterruptionBehavior::Terminate);
        fulfil(&mut active, T);
        active.cancel(T.plus_seconds(5), &D);
        assert_eq!(active.status_code, "request-canceled-and-instance-running");
        active.instance_terminated(T.plus_seconds(50), false, &D);
        assert_eq!((active.state, active.status_code.as_str()), (SpotState::Cancelled, "instance-terminated-by-user"));
        let before = active.clone();
        active.cancel(T.plus_seconds(60), &D);
        assert_eq!(active, before, "cancelling a cancelled request changes nothing");
    }

    #[test]
    fn interruption_stop_disables_then_ec2_restarts() {
        let mut p = request(SpotType::Persistent, InterruptionBehavior::Stop);
        fulfil(&mut p, T);
        p.interrupt(T.plus_seconds(10), Cause::Price, &D);
        assert_eq!(p.status_code, "marked-for-stop");
        assert_eq!(p.notice_expired(), Effect::Stop { hibernate: false });
        p.instance_stopped(T.plus_seconds(200), &D);
        assert_eq!((p.state, p.status_code.as_str()), (SpotState::Disabled, "instance-stopped-by-price"));
        let (due, ev) = p.pending.unwrap();
        assert_eq!(ev, SpotEvent::Restart);
        assert_eq!(p.restart(due, false, due.plus_seconds(60)), Effect::None);
        assert_eq!(p.restart(due.plus_seconds(60), true, due), Effect::Start);
        assert_eq!((p.state, p.status_code.as_str()), (SpotState::Active, "fulfilled"));
    }

    #[test]
    fn user_stop_and_cancel_while_disabled() {
        let mut p = request(SpotType::Persistent, InterruptionBehavior::Stop);
        fulfil(&mut p, T);
        p.user_stopping(T.plus_seconds(10));
        assert_eq!(p.status_code, "marked-for-stop");
        p.instance_stopped(T.plus_seconds(30), &D);
        assert_eq!((p.state, p.status_code.as_str()), (SpotState::Disabled, "instance-stopped-by-user"));
        p.cancel(T.plus_seconds(40), &D);
        assert_eq!(p.state, SpotState::Cancelled);
        assert_eq!(p.pending.map(|e| e.1), Some(SpotEvent::TerminateStopped));
        p.instance_terminated(T.plus_seconds(60), true, &D);
        assert_eq!((p.state, p.status_code.as_str()), (SpotState::Cancelled, "instance-terminated-by-service"));
    }
}
