//! AWS Signature Version 2, the query-parameter signature that older clients still send (Apache
//! Libcloud's EC2 driver, boto 2): `AWSAccessKeyId`, `SignatureVersion=2`, `SignatureMethod`
//! (`HmacSHA256` or `HmacSHA1`), `Timestamp` or `Expires`, and `Signature` travel among the
//! request's parameters, in the query string or the form body.
//!
//! The string to sign is the method, the `Host` header in lower case, the path (`/` when empty),
//! and every parameter but `Signature`, each name and value percent-encoded with only RFC 3986
//! unreserved characters left as they are, sorted by name byte by byte and joined with `&`; one
//! per line. The signature is the base64 HMAC of that string under the secret key.
//!
//! Pure, like the SigV4 half of the crate: the parameters, the secret lookup and `now` are arguments.

use base64::Engine as _;
use ec2_time::UnixMillis;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::percent_encode;
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{Error, UNRESERVED};

/// The two HMACs SigV2 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    HmacSha256,
    HmacSha1,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::HmacSha256 => "HmacSHA256",
            Method::HmacSha1 => "HmacSHA1",
        }
    }

    fn parse(text: &str) -> Option<Method> {
        match text {
            "HmacSHA256" => Some(Method::HmacSha256),
            "HmacSHA1" => Some(Method::HmacSha1),
            _ => None,
        }
    }
}

/// A request's SigV2 signature, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedV2 {
    pub access_key: String,
    pub method: Method,
    /// The signature as sent (base64).
    pub signature: String,
    /// `Timestamp` (the request time) or `Expires` (the end of its validity).
    pub time: When,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Timestamp(UnixMillis),
    Expires(UnixMillis),
}

/// Whether the parameters ask for Signature Version 2 (or any other query-parameter signature
/// version, which [`parse`] then refuses by name).
pub fn is_present(params: &[(String, String)]) -> bool {
    params.iter().any(|(k, _)| k == "SignatureVersion")
}

fn one<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, Error> {
    let mut found = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(Error::Incomplete(format!("The parameter {name} appears more than once.")));
    }
    Ok(first)
}

fn required<'a>(params: &'a [(String, String)], name: &str) -> Result<&'a str, Error> {
    match one(params, name)? {
        Some(v) if !v.is_empty() => Ok(v),
        _ if name == "AWSAccessKeyId" => Err(Error::Missing),
        _ => Err(Error::Incomplete(format!("The request must contain the parameter {name}"))),
    }
}

/// Checks that the parameters carry a well-formed SigV2 signature, without looking the key up or
/// checking the signature or the time.
pub fn parse(params: &[(String, String)]) -> Result<SignedV2, Error> {
    let version = required(params, "SignatureVersion")?;
    if version != "2" {
        return Err(Error::Incomplete(format!(
            "SignatureVersion {} is not supported: sign with Signature Version 2 or 4.",
            crate::truncate(version)
        )));
    }
    let access_key = required(params, "AWSAccessKeyId")?.to_string();
    let method_text = required(params, "SignatureMethod")?;
    let method = Method::parse(method_text).ok_or_else(|| {
        Error::Incomplete(format!(
            "Value ({}) for parameter SignatureMethod is invalid: use HmacSHA256 or HmacSHA1.",
            crate::truncate(method_text)
        ))
    })?;
    let signature = required(params, "Signature")?.to_string();
    let time = match (one(params, "Timestamp")?, one(params, "Expires")?) {
        (Some(_), Some(_)) => {
            return Err(Error::Incomplete("Give the parameter Timestamp or Expires, not both.".into()))
        }
        (None, None) => {
            return Err(Error::Incomplete("The request must contain the parameter Timestamp or Expires".into()))
        }
        (Some(t), None) => When::Timestamp(instant("Timestamp", t)?),
        (None, Some(t)) => When::Expires(instant("Expires", t)?),
    };
    Ok(SignedV2 { access_key, method, signature, time })
}

fn instant(name: &str, text: &str) -> Result<UnixMillis, Error> {
    ec2_time::parse_iso8601(text).ok_or_else(|| {
        Error::Incomplete(format!("Value ({}) for parameter {name} is not an ISO 8601 time.", crate::truncate(text)))
    })
}

/// The string to sign: method, lower-case host, path, and the sorted, encoded parameters.
pub fn string_to_sign(method: &str, host: &str, path: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| {
            (percent_encode(k.as_bytes(), UNRESERVED).to_string(), percent_encode(v.as_bytes(), UNRESERVED).to_string())
        })
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let path = if path.is_empty() { "/" } else { path };
    format!("{method}\n{}\n{path}\n{}", host.to_ascii_lowercase(), query.join("&"))
}

/// The base64 signature of `string_to_sign` under `secret`.
pub fn sign(secret: &[u8], method: Method, string_to_sign: &str) -> String {
    let mac = match method {
        Method::HmacSha256 => {
            let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
            m.update(string_to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Method::HmacSha1 => {
            let mut m = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
            m.update(string_to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    };
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// Looks the key up, checks the time (a `Timestamp` within `max_skew_seconds` of `now`, or an
/// `Expires` not yet past) and the signature, compared in constant time. `host` is the `Host`
/// header as the client sent it; a signature over the host without its port is accepted too.
pub fn verify<S: AsRef<[u8]>>(
    method: &str,
    host: &str,
    path: &str,
    params: &[(String, String)],
    now: UnixMillis,
    max_skew_seconds: i64,
    secret_of: impl FnOnce(&str) -> Option<S>,
) -> Result<SignedV2, Error> {
    let signed = parse(params)?;
    let secret = secret_of(&signed.access_key).ok_or(Error::UnknownKey)?;
    let skew = max_skew_seconds.saturating_mul(ec2_time::MILLIS_PER_SECOND);
    match signed.time {
        When::Timestamp(t) if (t.0 - now.0).abs() > skew => {
            return Err(Error::Expired(format!(
                "Request timestamp is more than {max_skew_seconds} seconds away from the server's time {}.",
                crate::format_timestamp(now)
            )))
        }
        When::Expires(t) if t.0 < now.0 => {
            return Err(Error::Expired(format!(
                "Request has expired: Expires is before the server's time {}.",
                crate::format_timestamp(now)
            )))
        }
        _ => {}
    }
    // The host as sent; and without its port, which some clients (Libcloud) leave out of the
    // string to sign while their HTTP library puts it in the Host header.
    let without_port = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map(|(h, _)| h);
    for host in std::iter::once(host).chain(without_port) {
        let expected = sign(secret.as_ref(), signed.method, &string_to_sign(method, host, path, params));
        if bool::from(expected.as_bytes().ct_eq(signed.signature.as_bytes())) {
            return Ok(signed);
        }
    }
    Err(Error::Mismatch(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The string to sign of a DescribeImages request: `:` percent-encoded, names sorted byte by
    /// byte (`AWSAccessKeyId` before `Action`), `Signature` left out.
    #[test]
    fn the_string_to_sign_is_canonical() {
        let p = params(&[
            ("Action", "DescribeImages"),
            ("AWSAccessKeyId", "AKIAIOSFODNN7EXAMPLE"),
            ("SignatureMethod", "HmacSHA256"),
            ("SignatureVersion", "2"),
            ("Timestamp", "2011-10-03T15:19:30"),
            ("Version", "2011-10-01"),
            ("Signature", "x"),
        ]);
        let sts = string_to_sign("GET", "ec2.amazonaws.com", "/", &p);
        assert_eq!(
            sts,
            "GET\nec2.amazonaws.com\n/\nAWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Action=DescribeImages&SignatureMethod=HmacSHA256\
             &SignatureVersion=2&Timestamp=2011-10-03T15%3A19%3A30&Version=2011-10-01"
        );
    }

    fn signed(method: Method, secret: &str, time: &str) -> Vec<(String, String)> {
        let mut p = params(&[
            ("Action", "DescribeRegions"),
            ("AWSAccessKeyId", "AKID"),
            ("SignatureMethod", method.name()),
            ("SignatureVersion", "2"),
            ("Timestamp", time),
            ("Version", "2016-11-15"),
            ("RegionName.1", "a b/c~"),
        ]);
        let sig = sign(secret.as_bytes(), method, &string_to_sign("POST", "Localhost:4566", "/", &p));
        p.push(("Signature".into(), sig));
        p
    }

    #[test]
    fn both_methods_verify_and_anything_changed_is_refused() {
        let now = ec2_time::parse_iso8601("2026-01-01T00:00:00Z").unwrap();
        let secret_of = |k: &str| (k == "AKID").then_some("secret");
        for method in [Method::HmacSha256, Method::HmacSha1] {
            let p = signed(method, "secret", "2026-01-01T00:05:00Z");
            let ok = verify("POST", "localhost:4566", "/", &p, now, 900, secret_of).unwrap();
            assert_eq!(ok.method, method);
            assert_eq!(verify("GET", "localhost:4566", "/", &p, now, 900, secret_of), Err(Error::Mismatch(None)));
            assert_eq!(verify("POST", "localhost:4567", "/", &p, now, 900, secret_of), Err(Error::Mismatch(None)));
            assert_eq!(verify("POST", "otherhost:4566", "/", &p, now, 900, secret_of), Err(Error::Mismatch(None)));
            let mut tampered = p.clone();
            tampered[0].1 = "DescribeInstances".into();
            assert_eq!(
                verify("POST", "localhost:4566", "/", &tampered, now, 900, secret_of),
                Err(Error::Mismatch(None))
            );
            let wrong = signed(method, "not-the-secret", "2026-01-01T00:05:00Z");
            assert_eq!(verify("POST", "localhost:4566", "/", &wrong, now, 900, secret_of), Err(Error::Mismatch(None)));
            let late = signed(method, "secret", "2026-01-01T00:20:00Z");
            assert!(matches!(
                verify("POST", "localhost:4566", "/", &late, now, 900, secret_of),
                Err(Error::Expired(_))
            ));
        }
        let mut unknown = signed(Method::HmacSha256, "secret", "2026-01-01T00:00:00Z");
        unknown[1].1 = "AKIDOTHER".into();
        assert_eq!(verify("POST", "localhost:4566", "/", &unknown, now, 900, secret_of), Err(Error::UnknownKey));
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let base = signed(Method::HmacSha256, "s", "2026-01-01T00:00:00Z");
        let without = |name: &str| base.iter().filter(|(k, _)| k != name).cloned().collect::<Vec<_>>();
        assert_eq!(parse(&without("AWSAccessKeyId")), Err(Error::Missing));
        for name in ["Signature", "SignatureMethod", "Timestamp"] {
            assert!(matches!(parse(&without(name)), Err(Error::Incomplete(_))), "{name}");
        }
        let with = |name: &str, value: &str| {
            base.iter()
                .map(|(k, v)| (k.clone(), if k == name { value.to_string() } else { v.clone() }))
                .collect::<Vec<_>>()
        };
        assert!(matches!(parse(&with("SignatureVersion", "1")), Err(Error::Incomplete(_))));
        assert!(matches!(parse(&with("SignatureMethod", "HmacMD5")), Err(Error::Incomplete(_))));
        assert!(matches!(parse(&with("Timestamp", "yesterday")), Err(Error::Incomplete(_))));
        let mut twice = base.clone();
        twice.push(("Signature".into(), "again".into()));
        assert!(matches!(parse(&twice), Err(Error::Incomplete(_))));
    }
}
