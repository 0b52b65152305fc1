//! `ec2d control <verb>`: calls a control endpoint of a running ec2d over plain HTTP/1.1, signed
//! with SigV4 (service `ec2`) like any EC2 request when credentials are given, so that it passes a
//! server started with `--credentials-file`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use clap::{Args, Subcommand};
use ec2_sigv4::{HttpRequest, Signer};

#[derive(Debug, Clone, Args)]
pub struct ControlArgs {
    /// The server (http only).
    #[arg(long, env = "EC2D_ENDPOINT", default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// Access key to sign with (unsigned without it, which only a server without a credentials
    /// file accepts).
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    pub access_key: Option<String>,
    /// Secret key to sign with.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Region of the signature's credential scope.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Verb {
    /// GET /_ec2d/health
    Health,
    /// POST /_ec2d/reset: drops all state.
    Reset,
    /// GET /_ec2d/clock
    Clock,
    /// POST /_ec2d/clock/advance?seconds=N
    Advance { seconds: String },
    /// Any control endpoint: `ec2d control call POST 'capacity?availability-zone=us-east-1a&instance-type=t3.micro&count=0'`.
    Call { method: String, path: String },
}

impl Verb {
    /// (method, path after `/_ec2d/` with its query).
    fn request(&self) -> (String, String) {
        match self {
            Verb::Health => ("GET".into(), "health".into()),
            Verb::Reset => ("POST".into(), "reset".into()),
            Verb::Clock => ("GET".into(), "clock".into()),
            Verb::Advance { seconds } => ("POST".into(), format!("clock/advance?seconds={seconds}")),
            Verb::Call { method, path } => (method.to_ascii_uppercase(), path.trim_start_matches('/').to_string()),
        }
    }
}

/// Sends the request; (HTTP status, body).
pub fn run(args: &ControlArgs) -> Result<(u16, String), String> {
    let authority = args
        .endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("--endpoint {}: give an http:// URL", args.endpoint))?
        .trim_end_matches('/');
    let (method, rest) = args.verb.request();
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (format!("/_ec2d/{p}"), q.to_string()),
        None => (format!("/_ec2d/{rest}"), String::new()),
    };
    let timestamp = ec2_sigv4::format_timestamp(ec2d_wall_now());
    let mut headers: Vec<(String, String)> =
        vec![("host".into(), authority.into()), ("x-amz-date".into(), timestamp.clone())];
    match (&args.access_key, &args.secret_key) {
        (Some(key), Some(secret)) => {
            let pairs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
            let req = HttpRequest { method: &method, path: &path, query: &query, headers: &pairs, body: b"" };
            let signer = Signer { access_key: key, secret, region: &args.region, service: "ec2" };
            let authorization = signer.authorization(&req, &timestamp, "host;x-amz-date");
            headers.push(("authorization".into(), authorization));
        }
        (None, None) => {}
        _ => return Err("give both --access-key and --secret-key, or neither".into()),
    }
    let target = if query.is_empty() { path } else { format!("{path}?{query}") };
    let mut text = format!("{method} {target} HTTP/1.1\r\n");
    for (n, v) in &headers {
        text.push_str(&format!("{n}: {v}\r\n"));
    }
    text.push_str("content-length: 0\r\nconnection: close\r\n\r\n");
    let mut stream = TcpStream::connect(authority).map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    stream.write_all(text.as_bytes()).map_err(|e| format!("cannot send: {e}"))?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| format!("cannot read the answer: {e}"))?;
    parse_response(&answer)
}

fn parse_response(answer: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("the server's answer has no header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("the server's answer has no status")?;
    Ok((status, body.to_string()))
}

fn ec2d_wall_now() -> ec2_time::UnixMillis {
    crate::clock::wall_now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_name_their_endpoints() {
        assert_eq!(Verb::Reset.request(), ("POST".into(), "reset".into()));
        assert_eq!(
            Verb::Advance { seconds: "60".into() }.request(),
            ("POST".into(), "clock/advance?seconds=60".into())
        );
        assert_eq!(
            Verb::Call { method: "get".into(), path: "/capacity?a=b".into() }.request(),
            ("GET".into(), "capacity?a=b".into())
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 403 Forbidden\r\nx: y\r\n\r\n{\"e\":1}\n"),
            Ok((403, "{\"e\":1}\n".into()))
        );
        assert!(parse_response(b"garbage").is_err());
    }
}
