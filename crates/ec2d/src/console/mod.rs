//! The web console at `/_ec2d/console`: a page (plain HTML, CSS and JavaScript compiled into the
//! binary, nothing fetched from elsewhere) and the JSON API it reads under `/_ec2d/console/api/`.
//!
//! - `GET /_ec2d/console`: the page (`app.js` and `style.css` next to it).
//! - `GET /_ec2d/console/api/scopes`: the (account, region) scopes that hold resources.
//! - `GET /_ec2d/console/api/resources?scope=ACCOUNT/REGION`: every resource of the scope (instances,
//!   Spot requests, Capacity Reservations with their interruptible allocations, bundle tasks, key
//!   pairs), settled to now exactly as a Describe call would see it, and every capacity pool with
//!   its used, reserved and free units. Answered with an `ETag`; `If-None-Match` gets `304` while
//!   nothing changed, which the page's polling relies on.
//! - `GET /_ec2d/console/api/resource?scope=ACCOUNT/REGION&id=ID`: one resource's attributes and its
//!   state timeline (the `event` records of `service::events`).
//!
//! The page changes things only through the existing control endpoints (`/_ec2d/clock/advance`,
//! `/_ec2d/spot/interrupt`, ...), so it is under the same authentication as they are.

use ec2_core::bundle_tasks::BundleTask;
use ec2_core::capacity_reservations::pools::CapacityPool;
use ec2_core::capacity_reservations::CapacityReservation;
use ec2_core::events::EventLog;
use ec2_core::instances::Instance;
use ec2_core::key_pairs::KeyPair;
use ec2_core::spot::SpotRequest;
use ec2_core::{Scope, UnixMillis};
use ec2_store::{StoreError, Txn, GLOBAL};
use serde_json::{json, Value};

use crate::app::App;
use crate::service::{self, bundle_tasks, capacity_pools, instances, Ctx};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// What the console answers: a status, a content type, a body and maybe an ETag.
pub struct ConsoleReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub etag: Option<String>,
}

fn asset(content_type: &'static str, body: &str) -> ConsoleReply {
    ConsoleReply { status: 200, content_type, body: body.to_string(), etag: None }
}

fn json_reply(status: u16, body: Value) -> ConsoleReply {
    ConsoleReply { status, content_type: "application/json", body: body.to_string() + "\n", etag: None }
}

/// A strong ETag of a body: FNV-1a, 64 bits (a change detector, not a security measure).
fn etag_of(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

fn param(query: &str, name: &str) -> Option<String> {
    ec2_protocol::Node::parse_form(query.as_bytes()).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Routes a console request; `path` is what follows `/_ec2d/console` (empty, `/`, `/app.js`, ...).
pub fn handle(app: &App, method: &str, path: &str, query: &str, if_none_match: Option<&str>) -> ConsoleReply {
    if method != "GET" {
        return json_reply(
            405,
            json!({ "error": "the console answers GET only; changes go through /_ec2d/ control endpoints" }),
        );
    }
    let reply = match path {
        "" | "/" | "/index.html" => return asset("text/html; charset=utf-8", INDEX_HTML),
        "/app.js" => return asset("text/javascript; charset=utf-8", APP_JS),
        "/style.css" => return asset("text/css; charset=utf-8", STYLE_CSS),
        "/api/scopes" => scopes(app),
        "/api/resources" => match param(query, "scope") {
            Some(scope) if scope.contains('/') => resources(app, &scope),
            _ => Err((400, "give scope=ACCOUNT/REGION".to_string())),
        },
        "/api/resource" => match (param(query, "scope"), param(query, "id")) {
            (Some(scope), Some(id)) if scope.contains('/') => resource(app, &scope, &id),
            _ => Err((400, "give scope=ACCOUNT/REGION and id=ID".to_string())),
        },
        _ => Err((404, format!("no console page /_ec2d/console{path}"))),
    };
    match reply {
        Ok(body) => {
            let text = body.to_string() + "\n";
            let etag = etag_of(&text);
            if if_none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag)) {
                return ConsoleReply {
                    status: 304,
                    content_type: "application/json",
                    body: String::new(),
                    etag: Some(etag),
                };
            }
            ConsoleReply { status: 200, content_type: "application/json", body: text, etag: Some(etag) }
        }
        Err((status, message)) => json_reply(status, json!({ "error": message })),
    }
}

type ApiResult = Result<Value, (u16, String)>;

fn internal(e: service::Error) -> (u16, String) {
    (500, ec2_protocol::Ec2Error::from(e).message)
}

fn scopes(app: &App) -> ApiResult {
    let result = app.store.transact(|tx| {
        let mut all: Vec<String> = Vec::new();
        all.extend(tx.scopes::<Instance>()?);
        all.extend(tx.scopes::<SpotRequest>()?);
        all.extend(tx.scopes::<CapacityReservation>()?);
        all.extend(tx.scopes::<BundleTask>()?);
        all.extend(tx.scopes::<KeyPair>()?);
        all.extend(tx.scopes::<EventLog>()?);
        all.retain(|s| s != GLOBAL);
        all.sort();
        all.dedup();
        let now = app.clock.now(tx)?;
        Ok::<_, StoreError>((all, now))
    });
    let (all, now) = result.map_err(|e| (500, e.to_string()))?;
    let default = Scope::new(&app.config.default_account, "us-east-1").key().to_string();
    Ok(json!({ "scopes": all, "default": default, "now": now.to_iso8601(), "clock": app.clock.mode.name() }))
}

fn iso(t: UnixMillis) -> String {
    t.to_iso8601()
}

/// One row of the resource list.
fn row(kind: &str, id: &str, state: &str, zone: &str, itype: &str, detail: String) -> Value {
    json!({ "kind": kind, "id": id, "state": state, "zone": zone, "type": itype, "detail": detail })
}

/// Brings the scope up to `now` the way a request does (due Spot and reservation steps, settled
/// instances, bundle progress on the timelines) and lists its resources.
fn load_scope(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> service::Result<Vec<(Value, Value)>> {
    let scope = ctx.scope.key();
    service::due::catch_up(ctx, tx)?;
    let mut out: Vec<(Value, Value)> = Vec::new();
    for i in instances::load_all(ctx, tx)? {
        let lifecycle = if i.spot_request_id.is_some() { "spot" } else { "on-demand" };
        let detail = format!("{lifecycle}, {}", i.image_id);
        out.push((row("instance", &i.id, i.state.name(), &i.availability_zone, &i.instance_type, detail), attrs(&i)));
    }
    for r in tx.scan::<SpotRequest>(scope)? {
        let detail = format!("{} ({})", r.status_code, r.instance_id.as_deref().unwrap_or("no instance"));
        out.push((row("spot_request", &r.id, r.state.name(), &r.zone, &r.instance_type, detail), attrs(&r)));
    }
    for cr in tx.scan::<CapacityReservation>(scope)? {
        let detail = match (&cr.allocation, &cr.source_id) {
            (Some(a), _) => format!(
                "{}/{} used; interruptible allocation {} ({} of {})",
                cr.used, cr.total, a.interruptible_id, a.instance_count, a.target_instance_count
            ),
            (None, Some(src)) => format!("{}/{} used; interruptible, from {src}", cr.used, cr.total),
            (None, None) => format!("{}/{} used", cr.used, cr.total),
        };
        let kind = "capacity_reservation";
        out.push((row(kind, &cr.id, cr.state.name(), &cr.availability_zone, &cr.instance_type, detail), attrs(&cr)));
    }
    for t in tx.scan::<BundleTask>(scope)? {
        bundle_tasks::record_transitions(tx, scope, &t, ctx.now)?;
        let v = t.view(ctx.now);
        let detail = format!(
            "{} -> s3://{}/{}{}",
            t.instance_id,
            t.bucket,
            t.prefix,
            v.progress.map(|p| format!(", {p}%")).unwrap_or_default()
        );
        out.push((row("bundle_task", &t.id, v.state.name(), "", "", detail), attrs(&t)));
    }
    for k in tx.scan::<KeyPair>(scope)? {
        let detail = format!("{} {}", k.key_type.name(), k.fingerprint);
        out.push((row("key_pair", &k.id, "available", "", "", detail), json!({ "name": k.name, "attrs": attrs(&k) })));
    }
    Ok(out)
}

/// A stored record as JSON, for the attributes view.
fn attrs<T: serde::Serialize>(record: &T) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

fn pools(app: &App, tx: &mut Txn<'_>, now: UnixMillis) -> service::Result<Vec<Value>> {
    let mut out = Vec::new();
    for pool in tx.scan::<CapacityPool>(GLOBAL)? {
        let Some((zone, itype)) = pool.id.split_once('/') else { continue };
        let v = capacity_pools::pool_view(tx, now, app.config.pool_capacity, zone, itype)?;
        out.push(json!({
            "zone": zone,
            "type": itype,
            "capacity": v.capacity,
            "used": v.held,
            "reserved": v.reserved,
            "free": v.free,
            "spotLimit": pool.spot_limit,
            "spotHeld": pool.spot_held,
        }));
    }
    Ok(out)
}

fn resources(app: &App, scope_key: &str) -> ApiResult {
    let scope = service::scope_of_key(scope_key);
    let settings = app.settings();
    let result = app.store.transact(|tx| {
        let now = app.clock.now(tx)?;
        let ctx = Ctx::new(&settings, &scope, now);
        let list = load_scope(&ctx, tx)?;
        let pools = pools(app, tx, now)?;
        Ok::<_, service::Error>((now, list, pools))
    });
    let (now, list, pools) = result.map_err(internal)?;
    let rows: Vec<Value> = list.into_iter().map(|(r, _)| r).collect();
    Ok(json!({
        "scope": scope_key,
        "now": iso(now),
        "clock": app.clock.mode.name(),
        "resources": rows,
        "pools": pools,
    }))
}

fn resource(app: &App, scope_key: &str, id: &str) -> ApiResult {
    let scope = service::scope_of_key(scope_key);
    let settings = app.settings();
    let result = app.store.transact(|tx| {
        let now = app.clock.now(tx)?;
        let ctx = Ctx::new(&settings, &scope, now);
        let found = load_scope(&ctx, tx)?.into_iter().find(|(r, _)| r["id"] == id);
        let log = service::events::timeline(tx, scope.key(), id)?;
        Ok::<_, service::Error>((now, found, log))
    });
    let (now, found, log) = result.map_err(internal)?;
    let events: Vec<Value> = log
        .map(|l| l.events)
        .unwrap_or_default()
        .into_iter()
        .map(|e| json!({ "at": iso(e.at), "atMillis": e.at.0, "state": e.state, "reason": e.reason }))
        .collect();
    match found {
        Some((row, attrs)) => Ok(json!({
            "scope": scope_key,
            "now": iso(now),
            "nowMillis": now.0,
            "resource": row,
            "attributes": attrs,
            "timeline": events,
        })),
        None if !events.is_empty() => Ok(json!({
            "scope": scope_key,
            "now": iso(now),
            "nowMillis": now.0,
            "resource": { "id": id, "kind": "gone", "state": "gone" },
            "attributes": Value::Null,
            "timeline": events,
        })),
        None => Err((404, format!("no resource {id} in {scope_key}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_change_with_the_body() {
        assert_eq!(etag_of("a"), etag_of("a"));
        assert_ne!(etag_of("a"), etag_of("b"));
        assert!(etag_of("").starts_with('"') && etag_of("").ends_with('"'));
    }

    #[test]
    fn the_assets_are_compiled_in() {
        assert!(INDEX_HTML.contains("app.js") && INDEX_HTML.contains("style.css"));
        // Offline: nothing is fetched from another origin.
        for asset in [INDEX_HTML, APP_JS, STYLE_CSS] {
            let asset = asset.replace("http://www.w3.org/2000/svg", "");
            assert!(!asset.contains("http://") && !asset.contains("https://"), "an asset names another origin");
        }
    }
}
