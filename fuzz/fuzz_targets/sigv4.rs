//! The SigV4 parser and verifier on arbitrary requests. The input is the request's parts separated
//! by NUL bytes: method, path, query, headers (one `name:value` a line), body. Whatever the bytes,
//! parsing and verifying must end in a value or an error, never a panic, and a request that
//! verifies must parse to the same signature.

#![no_main]

use ec2_sigv4::{parse, verify, HttpRequest, Location};
use ec2_time::UnixMillis;
use libfuzzer_sys::fuzz_target;

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(5, |&b| b == 0);
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (method, path, query) = (text(), text(), text());
    let header_block = parts.next().unwrap_or_default().to_vec();
    let body = parts.next().unwrap_or_default();
    let headers: Vec<(&str, &[u8])> = header_block
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some((std::str::from_utf8(&line[..colon]).ok()?, &line[colon + 1..]))
        })
        .collect();
    let req = HttpRequest { method: &method, path: &path, query: &query, headers: &headers, body };

    let parsed = parse(&req);
    if let Ok(signed) = &parsed {
        let _ = ec2_sigv4::string_to_sign(&req, signed);
        let _ = ec2_sigv4::canonical_request(&req, Location::Query, &signed.signed_headers);
    }
    // 2015-08-30T12:36:00Z, the time of the seed requests
    let now = UnixMillis(1_440_938_160_000);
    let verified = verify(&req, "ec2", now, 900, |k| (k == KEY).then_some(SECRET));
    if let Ok(signed) = &verified {
        assert_eq!(parsed.as_ref(), Ok(signed));
    }
});
