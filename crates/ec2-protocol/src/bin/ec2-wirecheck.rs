//! A test harness for the wire conformance suite (tests/wire): botocore is the oracle.
//!
//! Reads one JSON request a line on stdin and answers one JSON line on stdout:
//! - `{"op": "decode", "pairs": [[name, value], ...]}` -> `{"action": A, "params": {...}}`, the decoded
//!   request as botocore's parameter dict, or `{"error": {"code": C, "message": M}}`.
//! - `{"op": "encode", "action": A, "output": {...}}` -> `{"xml": "..."}`, the response ec2d would send
//!   for botocore's output dict, or `{"error": ...}`.

use std::io::{BufRead, Write};

use ec2_protocol::{encode_response, Ec2Error, Node, Request, Response};
use serde_json::{json, Value};

fn handle(line: &str) -> Value {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"error": {"code": "BadJson", "message": e.to_string()}}),
    };
    match v["op"].as_str() {
        Some("decode") => {
            let pairs: Vec<(String, String)> = v["pairs"]
                .as_array()
                .map(|a| {
                    a.iter().filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string()))).collect()
                })
                .unwrap_or_default();
            let node = Node::from_pairs(pairs);
            let action = node.get("Action").unwrap_or_default().to_string();
            match Request::decode(&action, &node) {
                None => json!({"error": {"code": "NotImplemented", "message": action}}),
                Some(Err(e)) => {
                    let e = Ec2Error::from(e);
                    json!({"error": {"code": e.code.as_str(), "message": e.message}})
                }
                Some(Ok(req)) => json!({"action": req.action(), "params": req.to_json()}),
            }
        }
        Some("encode") => {
            let action = v["action"].as_str().unwrap_or_default();
            match Response::from_json(action, &v["output"]) {
                Ok(resp) => json!({"xml": encode_response(&resp, "00000000-0000-4000-8000-000000000000")}),
                Err(e) => json!({"error": {"code": "BadOutput", "message": e}}),
            }
        }
        _ => json!({"error": {"code": "BadOp", "message": "op must be decode or encode"}}),
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}", handle(&line));
        let _ = out.flush();
    }
}
