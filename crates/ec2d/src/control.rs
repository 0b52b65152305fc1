//! The control endpoints under `/_ec2d/`, outside the EC2 protocol. They answer JSON.
//!
//! - `GET /_ec2d/health`: liveness and the server's settings.
//! - `POST /_ec2d/reset`: drops all state (every account and region, and the virtual clock).
//! - `POST /_ec2d/clock/advance?seconds=N`: moves the virtual clock forward (400 in other modes).
//! - `GET /_ec2d/clock`: the clock's mode and current time.
//! - `POST /_ec2d/instances/{id}/hold-stopping`: the instance's host gets stuck: a stop in
//!   progress stops progressing, and later stops stay in `stopping`, until a `Force=true` stop or
//!   `POST /_ec2d/instances/{id}/release-stopping`.
//! - `POST /_ec2d/instances/{id}/guest-shutdown`: the running instance's operating system shuts
//!   down: it stops, or terminates when its `instanceInitiatedShutdownBehavior` is `terminate`.
//! - `POST /_ec2d/spot/interrupt?instance-id=i-...` or `?availability-zone=Z&instance-type=T`:
//!   interrupts one Spot Instance, or every one in the pool (`cause=capacity` by default, or
//!   `price`): the request shows the two-minute notice, then the interruption behaviour happens.
//! - `POST /_ec2d/spot/capacity?availability-zone=Z&instance-type=T&count=N`: at most N Spot
//!   Instances run in the pool (`count=unlimited` lifts the limit).
//! - `POST /_ec2d/capacity?availability-zone=Z&instance-type=T&count=N`: the pool holds N instances
//!   (`count=default` goes back to `--pool-capacity`); `GET /_ec2d/capacity?availability-zone=Z&instance-type=T`
//!   reads the pool's capacity, held units, unused reserved units and free units.
//! - `POST /_ec2d/capacity-reservations/{id}/delay?seconds=N`: a future-dated reservation is
//!   `delayed` (commitment waived) and becomes `active` N seconds from now;
//!   `POST /_ec2d/capacity-reservations/{id}/unsupported` makes it `unsupported`.
//! - `POST /_ec2d/bundle-tasks/{id}/fail?code=C&message=M`: a bundle task in progress fails now
//!   with that `BundleTaskError` (defaults: `Client.BundlingFailed`, a short message).

use serde_json::{json, Value};

use crate::app::App;
use crate::clock::AdvanceError;
use crate::service;

pub struct ControlReply {
    pub status: u16,
    pub body: Value,
}

fn ok(body: Value) -> ControlReply {
    ControlReply { status: 200, body }
}

fn fail(status: u16, message: impl Into<String>) -> ControlReply {
    ControlReply { status, body: json!({ "error": message.into() }) }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

fn guest_shutdown(app: &App, id: &str) -> ControlReply {
    let result = app.store.transact(|tx| {
        let now = app.clock.now(tx)?;
        service::instance_attributes::guest_shutdown(&app.settings(), tx, now, id)
    });
    match result {
        Ok(Some(state)) => ok(json!({ "instanceId": id, "state": state.name() })),
        Ok(None) => fail(404, format!("no instance {id}")),
        Err(service::Error::Ec2(e)) => fail(409, e.message),
        Err(e) => fail(500, ec2_protocol::Ec2Error::from(e).message),
    }
}

/// Routes a control request; `path` is everything after `/_ec2d/`.
pub fn handle(app: &App, method: &str, path: &str, query: &str) -> ControlReply {
    match (method, path) {
        ("GET", "health") => ok(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "clock": app.clock.mode.name(),
            "store": app.store.engine_name(),
            "seed": app.config.seed,
        })),
        ("POST", "reset") => match app.store.reset() {
            Ok(()) => ok(json!({ "reset": true })),
            Err(e) => fail(500, e.to_string()),
        },
        ("GET", "clock") => match app.store.transact(|tx| app.clock.now(tx)) {
            Ok(now) => ok(json!({ "mode": app.clock.mode.name(), "now": now.to_iso8601() })),
            Err(e) => fail(500, e.to_string()),
        },
        ("POST", "clock/advance") => {
            let seconds = match query_param(query, "seconds").map(str::parse::<f64>) {
                Some(Ok(s)) if (0.0..=1e10).contains(&s) => s,
                _ => return fail(400, "seconds must be a non-negative number, as in /_ec2d/clock/advance?seconds=60"),
            };
            let millis = (seconds * 1000.0).round() as i64;
            match app.store.transact(|tx| app.clock.advance(tx, millis)) {
                Ok(now) => ok(json!({ "mode": "virtual", "now": now.to_iso8601() })),
                Err(AdvanceError::NotVirtual(mode)) => fail(
                    400,
                    format!("the clock is {}; only a virtual clock (--clock virtual) can be advanced", mode.name()),
                ),
                Err(AdvanceError::Store(e)) => fail(500, e.to_string()),
            }
        }
        ("POST", p) if p.starts_with("instances/") => {
            let rest = &p["instances/".len()..];
            if let Some((id, "guest-shutdown")) = rest.split_once('/') {
                return guest_shutdown(app, id);
            }
            let (id, hold) = match rest.split_once('/') {
                Some((id, "hold-stopping")) => (id, true),
                Some((id, "release-stopping")) => (id, false),
                _ => return fail(404, format!("no control endpoint /_ec2d/{path}")),
            };
            let result = app.store.transact(|tx| {
                let now = app.clock.now(tx)?;
                service::instances::set_held_in_stopping(&app.settings(), tx, now, id, hold)
            });
            match result {
                Ok(Some(state)) => ok(json!({ "instanceId": id, "state": state.name(), "held": hold })),
                Ok(None) => fail(404, format!("no instance {id}")),
                Err(e) => fail(500, ec2_protocol::Ec2Error::from(e).message),
            }
        }
        ("POST", "spot/interrupt") => {
            let params: Vec<(String, String)> = ec2_protocol::Node::parse_form(query.as_bytes());
            let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let cause = match param("cause").as_deref() {
                None | Some("capacity") => ec2_core::spot::Cause::Capacity,
                Some("price") => ec2_core::spot::Cause::Price,
                Some(other) => return fail(400, format!("cause must be capacity or price, not {other}")),
            };
            let instance = param("instance-id");
            let pool = param("availability-zone").zip(param("instance-type"));
            if instance.is_none() && pool.is_none() {
                return fail(400, "give instance-id, or availability-zone and instance-type");
            }
            let result = app.store.transact(|tx| {
                let now = app.clock.now(tx)?;
                service::spot::interrupt(
                    &app.settings(),
                    tx,
                    now,
                    instance.as_deref(),
                    pool.as_ref().map(|(z, t)| (z.as_str(), t.as_str())),
                    cause,
                )
            });
            match result {
                Ok(ids) if ids.is_empty() => fail(404, "no running Spot Instance matches"),
                Ok(ids) => ok(json!({ "interrupted": ids })),
                Err(e) => fail(500, ec2_protocol::Ec2Error::from(e).message),
            }
        }
        // The Spot limit's older path, kept as an alias of `POST /_ec2d/capacity?spot-limit=N`.
        ("POST", "spot/capacity") => capacity(app, method, query, Form::SpotAlias),
        ("POST" | "GET", "capacity") => capacity(app, method, query, Form::Pool),
        ("POST", p) if p.starts_with("capacity-reservations/") => {
            let rest = &p["capacity-reservations/".len()..];
            let Some((id, action @ ("delay" | "unsupported"))) = rest.split_once('/') else {
                return fail(404, format!("no control endpoint /_ec2d/{path}"));
            };
            let seconds = match (action, query_param(query, "seconds").map(str::parse::<f64>)) {
                ("delay", Some(Ok(s))) if (0.0..=1e10).contains(&s) => s,
                ("delay", _) => return fail(400, "give seconds=N, the delay before the reservation becomes active"),
                _ => 0.0,
            };
            let result = app.store.transact(|tx| {
                let now = app.clock.now(tx)?;
                service::capacity_reservations::operator_hook(tx, now, app.settings().ids.seed(), id, action, seconds)
            });
            match result {
                Ok(Some(state)) => ok(json!({ "capacityReservationId": id, "state": state.name() })),
                Ok(None) => fail(404, format!("no capacity reservation {id}")),
                Err(e) => {
                    let e = ec2_protocol::Ec2Error::from(e);
                    fail(if e.status() >= 500 { 500 } else { 409 }, e.message)
                }
            }
        }
        ("POST", p) if p.starts_with("bundle-tasks/") && p.ends_with("/fail") => {
            let id = &p["bundle-tasks/".len()..p.len() - "/fail".len()];
            let params: Vec<(String, String)> = ec2_protocol::Node::parse_form(query.as_bytes());
            let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let code = param("code").unwrap_or_else(|| "Client.BundlingFailed".into());
            let message = param("message").unwrap_or_else(|| "The bundle task failed.".into());
            let result = app.store.transact(|tx| {
                let now = app.clock.now(tx)?;
                service::bundle_tasks::fail_task(tx, now, id, &code, &message)
            });
            match result {
                Ok(Some(task)) => {
                    ok(json!({ "bundleId": id, "state": task.state, "error": { "code": code, "message": message } }))
                }
                Ok(None) => fail(404, format!("no bundle task {id}")),
                Err(e) => {
                    let e = ec2_protocol::Ec2Error::from(e);
                    fail(if e.status() >= 500 { 500 } else { 409 }, e.message)
                }
            }
        }
        (_, "health" | "reset" | "clock" | "clock/advance") => fail(405, format!("{method} is not allowed here")),
        _ => fail(404, format!("no control endpoint /_ec2d/{path}")),
    }
}

/// Which path reached [`capacity`]: the pool endpoint, or the Spot limit's older path (whose
/// `count` is the Spot limit and whose answer keeps its older shape).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Pool,
    SpotAlias,
}

/// `GET` or `POST /_ec2d/capacity`: reads or sets one pool's capacity (`count`) and Spot limit
/// (`spot-limit`), one capacity model for On-Demand and Spot.
fn capacity(app: &App, method: &str, query: &str, form: Form) -> ControlReply {
    let params: Vec<(String, String)> = ec2_protocol::Node::parse_form(query.as_bytes());
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(zone), Some(itype)) = (param("availability-zone"), param("instance-type")) else {
        return fail(
            400,
            match form {
                Form::Pool => "give availability-zone and instance-type (and count=N to set the capacity)",
                Form::SpotAlias => "give availability-zone, instance-type and count (a number, or unlimited)",
            },
        );
    };
    let spot_text = match form {
        Form::Pool => param("spot-limit"),
        Form::SpotAlias => match param("count") {
            Some(n) => Some(n),
            None => return fail(400, "give availability-zone, instance-type and count (a number, or unlimited)"),
        },
    };
    let spot_limit = match spot_text.as_deref() {
        None => None,
        Some("unlimited") => Some(None),
        Some(n) => match n.parse::<u64>() {
            Ok(n) => Some(Some(n)),
            Err(_) if form == Form::SpotAlias => {
                return fail(400, format!("count must be a number or unlimited, not {n}"))
            }
            Err(_) => return fail(400, format!("spot-limit must be a number or unlimited, not {n}")),
        },
    };
    let set = if method == "POST" && form == Form::Pool {
        match param("count").as_deref() {
            Some("default") => Some(None),
            Some(n) => match n.parse::<u64>() {
                Ok(n) => Some(Some(n)),
                Err(_) => return fail(400, format!("count must be a number or default, not {n}")),
            },
            None if spot_limit.is_some() => None,
            None => return fail(400, "give count=N (or count=default), or spot-limit=N (or spot-limit=unlimited)"),
        }
    } else {
        None
    };
    let spot_limit = if method == "POST" { spot_limit } else { None };
    let result = app.store.transact(|tx| {
        if let Some(capacity) = set {
            service::capacity_pools::set_pool_capacity(tx, &zone, &itype, capacity)?;
        }
        if let Some(limit) = spot_limit {
            service::capacity_pools::set_spot_limit(tx, &zone, &itype, limit)?;
        }
        let now = app.clock.now(tx)?;
        let view = service::capacity_pools::pool_view(tx, now, app.config.pool_capacity, &zone, &itype)?;
        Ok::<_, service::Error>((view, service::capacity_pools::spot_view(tx, &zone, &itype)?))
    });
    match (result, form) {
        (Ok((_, (limit, _))), Form::SpotAlias) => {
            ok(json!({ "availabilityZone": zone, "instanceType": itype, "limit": limit }))
        }
        (Ok((v, (spot_limit, spot_held))), Form::Pool) => ok(json!({
            "availabilityZone": zone,
            "instanceType": itype,
            "capacity": v.capacity,
            "held": v.held,
            "reserved": v.reserved,
            "free": v.free,
            "spotLimit": spot_limit,
            "spotHeld": spot_held,
        })),
        (Err(e), _) => fail(500, ec2_protocol::Ec2Error::from(e).message),
    }
}
