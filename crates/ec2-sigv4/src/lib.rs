//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`) on the server side: parses the signature of a
//! request, whether it travels in the `Authorization` header or in the query string (a presigned
//! URL), and verifies it.
//!
//! The crate is pure: the request parts, the secret lookup and the current time are arguments, and
//! it reads no clock and no configuration. [`parse`] only checks that a request is signed and that
//! the signature is well formed (what an emulator that accepts any key needs); [`verify`] also looks
//! the access key up, checks the request time against `now`, and recomputes the signature.
//!
//! The canonical form follows what botocore's `SigV4Auth` and `SigV4QueryAuth` sign, so that every
//! AWS SDK is accepted:
//!
//! - the path is normalized (`.` and `..` segments resolved, empty segments dropped) and then
//!   percent-encoded, `%` included, as the client encodes the path it sends;
//! - query parameters are decoded, re-encoded with only RFC 3986 unreserved characters left as they
//!   are, and sorted by name and then value (`X-Amz-Signature` left out of a presigned request);
//! - the signed headers are the `SignedHeaders` list, each header's values trimmed, inner runs of
//!   white space folded to one space, repeated headers joined with commas;
//! - the payload hash is the hex SHA-256 of the body (an `X-Amz-Content-Sha256` header, if sent,
//!   must equal it).

use ec2_time::{civil_from_days, days_from_civil, days_in_month, UnixMillis, MILLIS_PER_SECOND};
use ec2_words::{find_byte, word, HIGHS, ONES};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub mod v2;

/// At most 64 characters of a caller's text, for error messages that echo it.
pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(64) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}...", &text[..cut]),
    }
}

/// The only algorithm SigV4 defines for requests.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of every credential scope.
pub const TERMINATOR: &str = "aws4_request";
/// The longest a presigned request may stay valid (`X-Amz-Expires`), in seconds: seven days.
pub const MAX_EXPIRES_SECONDS: i64 = 7 * 24 * 3600;

/// RFC 3986 unreserved characters stay as they are; every other byte becomes `%XX`.
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// The same for a path, whose `/` separators stay.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The parts of an HTTP request that its signature covers, as they arrived.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path of the request target, still percent-encoded (`/`, `/a%20b`).
    pub path: &'a str,
    /// The query string after `?`, still percent-encoded; empty when there is none.
    pub query: &'a str,
    /// Every header in arrival order, repeated names included; names in any case.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

impl<'a> HttpRequest<'a> {
    /// The values of every header called `name` (compared without case), in arrival order. Names
    /// equal as they are (the server's are lower case, as `name` is) are found without comparing the case
    /// of each byte.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.len() == name.len() && (*n == name || n.eq_ignore_ascii_case(name)))
            .map(|(_, v)| *v)
    }

    /// The first value of the header `name`.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.header_values(name).next()
    }
}

/// Where the signature travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
    Header,
    /// A presigned URL: `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
    /// `X-Amz-SignedHeaders` and `X-Amz-Signature` in the query string.
    Query,
}

/// `<access key>/<yyyymmdd>/<region>/<service>/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
}

impl Credential {
    /// Parses the credential; `None` unless it has five non-empty `/`-separated parts and an
    /// eight-digit date.
    pub fn parse(text: &str) -> Option<Credential> {
        CredentialRef::parse(text).map(|c| c.owned())
    }

    /// `<yyyymmdd>/<region>/<service>/aws4_request`: the credential without the access key.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/{}", self.date, self.region, self.service, self.terminator)
    }
}

/// A request's signature, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub location: Location,
    pub credential: Credential,
    /// The signed header names as the caller listed them, `;`-separated.
    pub signed_headers: String,
    /// The signature as the caller sent it (64 lowercase hex digits when well formed).
    pub signature: String,
    /// The request time in the basic ISO 8601 form that the string to sign holds (`20150830T123600Z`).
    pub timestamp: String,
    /// The same instant.
    pub time: UnixMillis,
    /// How many seconds after [`Signed::time`] a presigned request stays valid.
    pub expires: Option<i64>,
}

/// A [`Credential`] borrowed from the request it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialRef<'a> {
    pub access_key: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub terminator: &'a str,
}

impl<'a> CredentialRef<'a> {
    /// [`Credential::parse`], borrowing the parts.
    pub fn parse(text: &'a str) -> Option<CredentialRef<'a>> {
        // Split at its slashes, each found eight bytes at a time ([`find_byte`]).
        let mut rest = text;
        let mut next = || {
            let end = find_byte(rest.as_bytes(), b'/').unwrap_or(rest.len());
            // A slash is ASCII: both sides are on character boundaries.
            let part = rest.get(..end)?;
            rest = rest.get(end + 1..).unwrap_or("");
            Some(part).filter(|p| !p.is_empty())
        };
        let (access_key, date, region, service, terminator) = (next()?, next()?, next()?, next()?, next()?);
        // Nothing after the fifth part, not even a slash.
        if terminator.len() + access_key.len() + date.len() + region.len() + service.len() + 4 != text.len() {
            return None;
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(CredentialRef { access_key, date, region, service, terminator })
    }

    pub fn owned(&self) -> Credential {
        Credential {
            access_key: self.access_key.to_string(),
            date: self.date.to_string(),
            region: self.region.to_string(),
            service: self.service.to_string(),
            terminator: self.terminator.to_string(),
        }
    }
}

impl Credential {
    pub fn view(&self) -> CredentialRef<'_> {
        CredentialRef {
            access_key: &self.access_key,
            date: &self.date,
            region: &self.region,
            service: &self.service,
            terminator: &self.terminator,
        }
    }
}

/// A [`Signed`] borrowed from the request it was parsed from: what the server reads of every
/// request's signature without copying its parts ([`parse_then`], [`verify_cached_then`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRef<'a> {
    pub location: Location,
    pub credential: CredentialRef<'a>,
    pub signed_headers: &'a str,
    pub signature: &'a str,
    /// Borrowed unless the request gave its time as an RFC 1123 `Date`.
    pub timestamp: std::borrow::Cow<'a, str>,
    pub time: UnixMillis,
    pub expires: Option<i64>,
}

impl SignedRef<'_> {
    pub fn owned(&self) -> Signed {
        Signed {
            location: self.location,
            credential: self.credential.owned(),
            signed_headers: self.signed_headers.to_string(),
            signature: self.signature.to_string(),
            timestamp: self.timestamp.to_string(),
            time: self.time,
            expires: self.expires,
        }
    }
}

impl Signed {
    pub fn view(&self) -> SignedRef<'_> {
        SignedRef {
            location: self.location,
            credential: self.credential.view(),
            signed_headers: &self.signed_headers,
            signature: &self.signature,
            timestamp: std::borrow::Cow::Borrowed(&self.timestamp),
            time: self.time,
            expires: self.expires,
        }
    }
}

/// Why a request's signature is refused. [`Error::code`] and [`Error::message`] give AWS's error
/// code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not signed at all: no `Authorization` header and no presigned query parameters.
    Missing,
    /// Signed, but the signature is malformed or incomplete; the text says what is wrong.
    Incomplete(String),
    /// The access key is not known.
    UnknownKey,
    /// The request time is outside the accepted window; the text says how.
    Expired(String),
    /// The signature does not match the request, or its scope does not fit the request (the text
    /// says how; `None` for a plain signature mismatch).
    Mismatch(Option<String>),
}

impl Error {
    /// AWS's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Missing => "MissingParameter",
            Error::Incomplete(_) => "IncompleteSignature",
            Error::UnknownKey => "AuthFailure",
            Error::Expired(_) => "RequestExpired",
            Error::Mismatch(_) => "SignatureDoesNotMatch",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Error::Missing => "The request must contain the parameter AWSAccessKeyId".into(),
            Error::UnknownKey => "AWS was not able to validate the provided access credentials".into(),
            Error::Mismatch(None) => "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
                .into(),
            Error::Incomplete(m) | Error::Expired(m) | Error::Mismatch(Some(m)) => m.clone(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for Error {}

/// `text` split at every `sep` (an ASCII byte), as `str::split` splits it, for a long text whose pieces are long (the Authorization header, the signature's 64
/// digits in its last piece): each separator is found with `memchr` rather than a byte at a time.
fn long_pieces(text: &str, sep: u8) -> impl Iterator<Item = &str> {
    pieces_found_by(text, move |t: &[u8]| memchr::memchr(sep, t))
}

/// `text` split at the ASCII separator `find` finds first in what is left.
fn pieces_found_by(text: &str, find: impl Fn(&[u8]) -> Option<usize>) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match find(t.as_bytes()) {
            Some(i) => {
                rest = t.get(i + 1..);
                t.get(..i)
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

/// `text.trim()`, skipping its search when `text` starts and ends with a visible ASCII character (as
/// every part of a header an SDK writes does): any white space, ASCII or not, takes the full trim.
fn trimmed(text: &str) -> &str {
    // Leading ASCII spaces (the one after each comma of an Authorization header) are skipped first: what
    // is left, starting and ending with a visible ASCII character, is then the trimmed text.
    let start = text.bytes().position(|b| b != b' ').unwrap_or(text.len());
    let rest = text.get(start..).unwrap_or(text);
    match (rest.as_bytes().first(), rest.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => rest,
        _ => text.trim(),
    }
}

/// `text` split at its first `sep` (an ASCII byte), as `str::split_once` splits it.
fn split_once_at(text: &str, sep: u8) -> Option<(&str, &str)> {
    let i = find_byte(text.as_bytes(), sep)?;
    Some((text.get(..i)?, text.get(i + 1..)?))
}

/// Whether every byte of `bytes` is visible ASCII (`!` to `~`) other than `:`, as the bytes of a list of
/// header names are (`;` included), looked at eight at a time.
fn only_name_bytes(bytes: &[u8]) -> bool {
    let name_byte = |b: u8| b.wrapping_sub(b'!') <= b'~' - b'!' && b != b':';
    let mut words = bytes.chunks_exact(8);
    let mut bad = 0;
    for w in &mut words {
        let x = word(w);
        // A byte below `!` (the subtraction borrows into its top bit, which the byte did not have); above
        // `~` (adding one carries it into the top bit, or the top bit was set); equal to `:` (zero once
        // `:` is taken away). A flag may be false only beside a true one: enough to say whether any is.
        let below = x.wrapping_sub(ONES * u64::from(b'!')) & !x;
        let above = x.wrapping_add(ONES) | x;
        let colon = x ^ (ONES * u64::from(b':'));
        bad |= (below | above | (colon.wrapping_sub(ONES) & !colon)) & HIGHS;
    }
    bad == 0 && words.remainder().iter().all(|&b| name_byte(b))
}

/// The query string's parameters, decoded (`+` stays a plus sign, as SigV4 wants).
fn query_params(query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode_str(k).collect(), percent_decode_str(v).collect())
    })
}

/// The presigning parameters of the query string, by name: each must appear at most once.
#[derive(Default)]
struct QueryAuth {
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    signed_headers: Option<String>,
    signature: Option<String>,
    duplicate: Option<&'static str>,
}

impl QueryAuth {
    fn of(query: &str) -> QueryAuth {
        let mut auth = QueryAuth::default();
        for (k, v) in query_params(query) {
            let (name, slot) = match k.as_slice() {
                b"X-Amz-Algorithm" => ("X-Amz-Algorithm", &mut auth.algorithm),
                b"X-Amz-Credential" => ("X-Amz-Credential", &mut auth.credential),
                b"X-Amz-Date" => ("X-Amz-Date", &mut auth.date),
                b"X-Amz-Expires" => ("X-Amz-Expires", &mut auth.expires),
                b"X-Amz-SignedHeaders" => ("X-Amz-SignedHeaders", &mut auth.signed_headers),
                b"X-Amz-Signature" => ("X-Amz-Signature", &mut auth.signature),
                _ => continue,
            };
            if slot.is_some() {
                auth.duplicate.get_or_insert(name);
            }
            *slot = Some(String::from_utf8_lossy(&v).into_owned());
        }
        auth
    }

    fn present(&self) -> bool {
        self.algorithm.is_some() || self.credential.is_some() || self.signature.is_some()
    }
}

/// Checks that the request is signed with SigV4 and that the signature is well formed, without
/// looking the key up or checking the signature or the time.
pub fn parse(req: &HttpRequest<'_>) -> Result<Signed, Error> {
    parse_then(req, |signed| signed.owned())
}

/// [`parse`], handing the signature's parts to `then` borrowed from the request rather than copied.
pub fn parse_then<T>(req: &HttpRequest<'_>, then: impl FnOnce(SignedRef<'_>) -> T) -> Result<T, Error> {
    // At most the first two Authorization headers matter (one is fine, two are one too many).
    let mut values = req.header_values("authorization");
    let headers: ([&[u8]; 2], usize) = match (values.next(), values.next()) {
        (None, _) => ([b"", b""], 0),
        (Some(one), None) => ([one, b""], 1),
        (Some(one), Some(two)) => ([one, two], 2),
    };
    let headers = &headers.0[..headers.1];
    let query = if req.query.is_empty() { QueryAuth::default() } else { QueryAuth::of(req.query) };
    match (headers, query.present()) {
        ([], false) => Err(Error::Missing),
        ([], true) => parse_query(&query).map(then),
        ([one], false) => parse_header(req, one).map(then),
        ([_, ..], true) => Err(Error::Incomplete(
            "Only one authentication mechanism is allowed: sign with the Authorization header or with the \
             X-Amz-* query parameters, not both."
                .into(),
        )),
        ([_, _, ..], false) => Err(Error::Incomplete("The request has more than one Authorization header.".into())),
    }
}

fn parse_header<'a>(req: &HttpRequest<'a>, value: &'a [u8]) -> Result<SignedRef<'a>, Error> {
    let value = trimmed(
        std::str::from_utf8(value)
            .map_err(|_| Error::Incomplete("The Authorization header is not valid UTF-8.".into()))?,
    );
    let rest = value.strip_prefix(ALGORITHM).filter(|r| r.starts_with([' ', '\t'])).ok_or_else(|| {
        Error::Incomplete(format!("Unsupported Authorization type: the header must start with '{ALGORITHM} '."))
    })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for component in long_pieces(rest, b',') {
        let component = trimmed(component);
        let (name, v) = split_once_at(component, b'=').ok_or_else(|| {
            Error::Incomplete(format!("Authorization header component '{component}' is not of the form name=value."))
        })?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => {
                return Err(Error::Incomplete(format!("Authorization header has an unknown component '{other}'.")))
            }
        };
        if slot.replace(trimmed(v)).is_some() {
            return Err(Error::Incomplete(format!("Authorization header has '{name}' more than once.")));
        }
    }
    let mut problems = Vec::new();
    for (name, v) in [("Credential", credential), ("Signature", signature), ("SignedHeaders", signed_headers)] {
        if v.is_none_or(str::is_empty) {
            problems.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let date = match req.header("x-amz-date") {
        Some(d) => Some(timestamp_of(d, "X-Amz-Date")),
        None => req.header("date").map(|d| timestamp_of(d, "Date")),
    };
    if date.is_none() {
        problems.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into());
    }
    if !problems.is_empty() {
        return Err(Error::Incomplete(problems.join(" ")));
    }
    let (timestamp, time) = date.unwrap_or(Err(Error::Missing))?;
    Ok(SignedRef {
        location: Location::Header,
        credential: credential_of(credential.unwrap_or_default())?,
        signed_headers: signed_headers_of(signed_headers.unwrap_or_default())?,
        signature: signature.unwrap_or_default(),
        timestamp,
        time,
        expires: None,
    })
}

fn parse_query(q: &QueryAuth) -> Result<SignedRef<'_>, Error> {
    if let Some(name) = q.duplicate {
        return Err(Error::Incomplete(format!("The query parameter '{name}' appears more than once.")));
    }
    let missing: Vec<&str> = [
        ("X-Amz-Algorithm", &q.algorithm),
        ("X-Amz-Credential", &q.credential),
        ("X-Amz-Date", &q.date),
        ("X-Amz-Expires", &q.expires),
        ("X-Amz-SignedHeaders", &q.signed_headers),
        ("X-Amz-Signature", &q.signature),
    ]
    .into_iter()
    .filter(|(_, v)| v.as_deref().is_none_or(str::is_empty))
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        return Err(Error::Incomplete(format!(
            "A presigned request must include the query parameters {}.",
            missing.join(", ")
        )));
    }
    let algorithm = q.algorithm.as_deref().unwrap_or_default();
    if algorithm != ALGORITHM {
        return Err(Error::Incomplete(format!("X-Amz-Algorithm only supports '{ALGORITHM}', got '{algorithm}'.")));
    }
    let (timestamp, time) = timestamp_of(q.date.as_deref().unwrap_or_default().as_bytes(), "X-Amz-Date")?;
    let expires_text = q.expires.as_deref().unwrap_or_default();
    let expires =
        expires_text.parse::<i64>().ok().filter(|e| (1..=MAX_EXPIRES_SECONDS).contains(e)).ok_or_else(|| {
            Error::Incomplete(format!(
                "X-Amz-Expires must be a whole number of seconds from 1 to {MAX_EXPIRES_SECONDS}, got '{expires_text}'."
            ))
        })?;
    Ok(SignedRef {
        location: Location::Query,
        credential: credential_of(q.credential.as_deref().unwrap_or_default())?,
        signed_headers: signed_headers_of(q.signed_headers.as_deref().unwrap_or_default())?,
        signature: q.signature.as_deref().unwrap_or_default(),
        timestamp,
        time,
        expires: Some(expires),
    })
}

fn credential_of(text: &str) -> Result<CredentialRef<'_>, Error> {
    CredentialRef::parse(text).ok_or_else(|| {
        Error::Incomplete(format!(
            "The credential '{text}' is not of the form <access key>/<yyyymmdd>/<region>/<service>/{TERMINATOR}."
        ))
    })
}

fn signed_headers_of(text: &str) -> Result<&str, Error> {
    // A malformed name is reported before a missing `host`, wherever either comes. The bytes are checked
    // eight at a time, the names split at `;`s found the same way.
    let bytes = text.as_bytes();
    let mut host = false;
    let mut well_formed = only_name_bytes(bytes);
    let mut rest = bytes;
    loop {
        let end = find_byte(rest, b';');
        let name = rest.get(..end.unwrap_or(rest.len())).unwrap_or_default();
        well_formed &= !name.is_empty();
        host |= name.len() == 4 && name.eq_ignore_ascii_case(b"host");
        match end {
            Some(end) => rest = rest.get(end + 1..).unwrap_or_default(),
            None => break,
        }
    }
    if !well_formed {
        return Err(Error::Incomplete(format!("SignedHeaders '{text}' is not a ';'-separated list of header names.")));
    }
    if !host {
        return Err(Error::Incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.".into()));
    }
    Ok(text)
}

/// The request time from `X-Amz-Date` (basic ISO 8601) or `Date` (that, or RFC 1123), as the
/// string-to-sign form and an instant.
fn timestamp_of<'a>(value: &'a [u8], header: &str) -> Result<(std::borrow::Cow<'a, str>, UnixMillis), Error> {
    let text = trimmed(std::str::from_utf8(value).unwrap_or(""));
    if let Some(t) = parse_timestamp(text) {
        // Valid basic ISO 8601 is already the form the string to sign holds.
        return Ok((std::borrow::Cow::Borrowed(text), t));
    }
    let time = if header == "Date" { parse_http_date(text) } else { None };
    match time {
        Some(t) => Ok((std::borrow::Cow::Owned(format_timestamp(t)), t)),
        None => Err(Error::Incomplete(format!(
            "{header} must be in the ISO 8601 basic format (yyyyMMddTHHmmssZ), got '{}'.",
            String::from_utf8_lossy(value)
        ))),
    }
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // At most 18 digits: no overflow.
    Some(text.bytes().fold(0, |n, b| n * 10 + i64::from(b - b'0')))
}

fn instant(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<UnixMillis> {
    let (month, day) = (u32::try_from(month).ok()?, u32::try_from(day).ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None; // 31 April, 29 February of a common year, ...
    }
    let days = days_from_civil(year, month, day);
    Some(UnixMillis((days * 86_400 + hour * 3600 + minute * 60 + second) * MILLIS_PER_SECOND))
}

/// `20150830T123600Z`.
pub fn parse_timestamp(text: &str) -> Option<UnixMillis> {
    let b: &[u8; 16] = text.as_bytes().try_into().ok()?;
    if b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    // The digits read where they stand (any other byte, ASCII or not, is refused).
    let digit = |i: usize| {
        let d = b[i].wrapping_sub(b'0');
        (d < 10).then_some(i64::from(d))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    instant(two(0)? * 100 + two(2)?, two(4)?, two(6)?, two(9)?, two(11)?, two(13)?)
}

/// `Sun, 30 Aug 2015 12:36:00 GMT` (RFC 1123).
fn parse_http_date(text: &str) -> Option<UnixMillis> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let parts: Vec<&str> = text.split_ascii_whitespace().collect();
    let [_weekday, day, month, year, clock, "GMT"] = parts.as_slice() else { return None };
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let hms: Vec<&str> = clock.split(':').collect();
    let [h, m, s] = hms.as_slice() else { return None };
    if year.len() != 4 || day.len() > 2 || [h, m, s].iter().any(|x| x.len() != 2) {
        return None;
    }
    instant(digits(year)?, month, digits(day)?, digits(h)?, digits(m)?, digits(s)?)
}

/// The basic ISO 8601 form of an instant: `20150830T123600Z`.
pub fn format_timestamp(t: UnixMillis) -> String {
    let secs = t.0.div_euclid(MILLIS_PER_SECOND);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Looks the access key up, checks the request time against `now` (at most `max_skew_seconds`
/// away for a signed header; from `max_skew_seconds` before its time to `X-Amz-Expires` after it
/// for a presigned request), that the credential is scoped to `service` and to the request's day,
/// and that the signature matches, compared in constant time.
pub fn verify<S: AsRef<[u8]>>(
    req: &HttpRequest<'_>,
    service: &str,
    now: UnixMillis,
    max_skew_seconds: i64,
    secret_of: impl FnOnce(&str) -> Option<S>,
) -> Result<Signed, Error> {
    verify_with(req, service, now, max_skew_seconds, secret_of, derive_key, |signed| signed.owned())
}

/// [`verify`], with the signing keys of a [`KeyCache`]: the four HMACs that derive a credential scope's key are
/// computed once per (secret, date, region, service), not once per request. The signature itself is still
/// computed and compared for every request.
pub fn verify_cached<S: AsRef<[u8]>>(
    req: &HttpRequest<'_>,
    service: &str,
    now: UnixMillis,
    max_skew_seconds: i64,
    secret_of: impl FnOnce(&str) -> Option<S>,
    keys: &KeyCache,
) -> Result<Signed, Error> {
    verify_cached_then(req, service, now, max_skew_seconds, secret_of, keys, |signed| signed.owned())
}

/// [`verify_cached`], handing the verified signature's parts to `then` borrowed from the request
/// rather than copied.
pub fn verify_cached_then<S: AsRef<[u8]>, T>(
    req: &HttpRequest<'_>,
    service: &str,
    now: UnixMillis,
    max_skew_seconds: i64,
    secret_of: impl FnOnce(&str) -> Option<S>,
    keys: &KeyCache,
    then: impl FnOnce(SignedRef<'_>) -> T,
) -> Result<T, Error> {
    let key = |secret: &[u8], credential: &CredentialRef<'_>| keys.key_of(secret, credential);
    verify_with(req, service, now, max_skew_seconds, secret_of, key, then)
}

/// Parses the request's signature and checks it ([`verify_signed`]) with the signing keys of
/// `signing_key`, handing the verified parts to `then` borrowed.
fn verify_with<S: AsRef<[u8]>, T>(
    req: &HttpRequest<'_>,
    service: &str,
    now: UnixMillis,
    max_skew_seconds: i64,
    secret_of: impl FnOnce(&str) -> Option<S>,
    signing_key: impl FnOnce(&[u8], &CredentialRef<'_>) -> [u8; 32],
    then: impl FnOnce(SignedRef<'_>) -> T,
) -> Result<T, Error> {
    parse_then(req, |signed| {
        verify_signed(req, signed, service, now, max_skew_seconds, secret_of, signing_key).map(then)
    })?
}

/// The checks of [`verify`] on a parsed signature.
fn verify_signed<'a, S: AsRef<[u8]>>(
    req: &HttpRequest<'_>,
    signed: SignedRef<'a>,
    service: &str,
    now: UnixMillis,
    max_skew_seconds: i64,
    secret_of: impl FnOnce(&str) -> Option<S>,
    signing_key: impl FnOnce(&[u8], &CredentialRef<'_>) -> [u8; 32],
) -> Result<SignedRef<'a>, Error> {
    let secret = secret_of(signed.credential.access_key).ok_or(Error::UnknownKey)?;
    check_time(&signed, now, max_skew_seconds)?;
    check_scope(&signed, service)?;
    if let Some(claimed) = req.header("x-amz-content-sha256") {
        if claimed != hex32(&Sha256::digest(req.body)).as_slice() {
            return Err(Error::Mismatch(Some(
                "The X-Amz-Content-Sha256 header does not match the SHA-256 of the request body.".into(),
            )));
        }
    }
    let expected = signature_hex(&signing_key(secret.as_ref(), &signed.credential), req, &signed);
    if bool::from(expected.as_slice().ct_eq(signed.signature.as_bytes())) {
        Ok(signed)
    } else {
        Err(Error::Mismatch(None))
    }
}

fn check_time(signed: &SignedRef<'_>, now: UnixMillis, max_skew_seconds: i64) -> Result<(), Error> {
    let skew = max_skew_seconds.saturating_mul(MILLIS_PER_SECOND);
    let too_early = signed.time.0.saturating_sub(skew) > now.0;
    let too_late = match signed.expires {
        None => signed.time.0.saturating_add(skew) < now.0,
        Some(expires) => signed.time.plus_seconds(expires).0 < now.0,
    };
    let now_text = format_timestamp(now);
    if too_early {
        return Err(Error::Expired(format!(
            "Request is not yet valid: its time {} is more than {max_skew_seconds} seconds after the server's time {now_text}.",
            signed.timestamp
        )));
    }
    if too_late {
        return Err(Error::Expired(match signed.expires {
            None => format!(
                "Request has expired: its time {} is more than {max_skew_seconds} seconds before the server's time {now_text}.",
                signed.timestamp
            ),
            Some(e) => format!(
                "Request has expired: it was signed at {} for {e} seconds, and the server's time is {now_text}.",
                signed.timestamp
            ),
        }));
    }
    Ok(())
}

fn check_scope(signed: &SignedRef<'_>, service: &str) -> Result<(), Error> {
    let c = &signed.credential;
    let problem = if c.terminator != TERMINATOR {
        format!("Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'.", c.terminator)
    } else if c.service != service {
        format!("Credential should be scoped to correct service: '{service}'.")
    } else if c.date != &signed.timestamp[..8] {
        format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'.",
            c.date,
            &signed.timestamp[..8]
        )
    } else {
        return Ok(());
    };
    Err(Error::Mismatch(Some(problem)))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Lowercase hex of 32 bytes, on the stack.
fn hex32(bytes: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    // Cannot fail: the output is exactly twice the input.
    let _ = hex::encode_to_slice(bytes, &mut out);
    out
}

/// Where the canonical request is written: a buffer (to show it) or straight into its SHA-256 (to
/// sign it, without building it).
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// The signing key of one credential scope: HMAC-SHA256 chained over the date, the region, the
/// service and the terminator, starting from `AWS4` followed by the secret.
pub fn signing_key(secret: &[u8], credential: &Credential) -> [u8; 32] {
    derive_key(secret, &credential.view())
}

fn derive_key(secret: &[u8], credential: &CredentialRef<'_>) -> [u8; 32] {
    let mut key = b"AWS4".to_vec();
    key.extend_from_slice(secret);
    let k_date = hmac_sha256(&key, credential.date.as_bytes());
    let k_region = hmac_sha256(&k_date, credential.region.as_bytes());
    let k_service = hmac_sha256(&k_region, credential.service.as_bytes());
    hmac_sha256(&k_service, credential.terminator.as_bytes())
}

/// Derived signing keys by (secret, date, region, service, terminator): a key is good for a whole day of
/// one credential scope, so a server verifying many requests derives it once. Bounded: when it holds
/// [`KeyCache::CAPACITY`] keys it starts over.
#[derive(Default)]
pub struct KeyCache {
    keys: std::sync::Mutex<KeysBySecret>,
}

/// Secret -> credential scope (`date/region/service/terminator`) -> signing key.
type KeysBySecret = std::collections::HashMap<Vec<u8>, std::collections::HashMap<String, [u8; 32]>>;

impl KeyCache {
    /// The most keys kept (a few per identity and day in practice).
    pub const CAPACITY: usize = 4096;

    pub fn new() -> Self {
        KeyCache::default()
    }

    /// The signing key of `credential` under `secret`: [`signing_key`], derived at most once per scope.
    pub fn signing_key(&self, secret: &[u8], credential: &Credential) -> [u8; 32] {
        self.key_of(secret, &credential.view())
    }

    fn key_of(&self, secret: &[u8], credential: &CredentialRef<'_>) -> [u8; 32] {
        // The scope's text (`date/region/service/terminator`), on the stack when it fits (it always
        // does for AWS's names).
        let parts = [credential.date, credential.region, credential.service, credential.terminator];
        let len = parts.iter().map(|p| p.len()).sum::<usize>() + parts.len() - 1;
        let mut buf = [0u8; 128];
        let long;
        let scope: &str = if len <= buf.len() {
            let mut at = 0;
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    buf[at] = b'/';
                    at += 1;
                }
                buf[at..at + part.len()].copy_from_slice(part.as_bytes());
                at += part.len();
            }
            // The parts are `str`s joined by an ASCII byte: valid UTF-8.
            std::str::from_utf8(&buf[..len]).unwrap_or_default()
        } else {
            long = parts.join("/");
            &long
        };
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(key) = keys.get(secret).and_then(|scopes| scopes.get(scope)) {
            return *key;
        }
        let key = derive_key(secret, credential);
        if keys.values().map(std::collections::HashMap::len).sum::<usize>() >= Self::CAPACITY {
            keys.clear();
        }
        keys.entry(secret.to_vec()).or_default().insert(scope.to_string(), key);
        key
    }

    /// How many keys are kept.
    pub fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).values().map(|s| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The hex HMAC-SHA256 of the string to sign under the signing key.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

/// [`signature`] of [`string_to_sign`], as hex bytes, computed without building either string: the
/// canonical request goes straight into its hash and the string to sign straight into the HMAC.
fn signature_hex(signing_key: &[u8; 32], req: &HttpRequest<'_>, signed: &SignedRef<'_>) -> [u8; 64] {
    let mut creq = Sha256::new();
    write_canonical_request(req, signed.location, signed.signed_headers, &mut creq);
    let creq_hex = hex32(&creq.finalize());
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key).expect("HMAC takes a key of any length");
    let c = &signed.credential;
    for part in [
        ALGORITHM.as_bytes(),
        b"\n",
        signed.timestamp.as_bytes(),
        b"\n",
        c.date.as_bytes(),
        b"/",
        c.region.as_bytes(),
        b"/",
        c.service.as_bytes(),
        b"/",
        c.terminator.as_bytes(),
        b"\n",
        &creq_hex,
    ] {
        mac.update(part);
    }
    hex32(&mac.finalize().into_bytes())
}

/// The path as it is signed: normalized, then every byte but unreserved characters and `/`
/// percent-encoded.
pub fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut normalized = String::with_capacity(path.len() + 1);
    normalized.push('/');
    normalized.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    percent_encode(normalized.as_bytes(), UNRESERVED_AND_SLASH).to_string()
}

/// The query string as it is signed: each name and value decoded and re-encoded, sorted by name
/// and then value, `X-Amz-Signature` left out when the request is presigned.
pub fn canonical_query(query: &str, location: Location) -> String {
    let mut pairs: Vec<(String, String)> = query_params(query)
        .filter(|(k, _)| location == Location::Header || k != b"X-Amz-Signature")
        .map(|(k, v)| (percent_encode(&k, UNRESERVED).to_string(), percent_encode(&v, UNRESERVED).to_string()))
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len());
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A header value as it is signed: surrounding white space dropped, inner runs folded to one space.
fn trim_all(value: &[u8], out: &mut impl Sink) {
    let mut first = true;
    for word in value.split(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)).filter(|w| !w.is_empty()) {
        if !first {
            out.put(b" ");
        }
        out.put(word);
        first = false;
    }
}

/// The canonical request: method, canonical URI, canonical query, the signed headers and their
/// list, and the payload hash, one per line.
pub fn canonical_request(req: &HttpRequest<'_>, location: Location, signed_headers: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + req.query.len());
    write_canonical_request(req, location, signed_headers, &mut out);
    out
}

/// [`canonical_request`], written piece by piece to `out`.
fn write_canonical_request(req: &HttpRequest<'_>, location: Location, signed_headers: &str, out: &mut impl Sink) {
    out.put(req.method.as_bytes());
    out.put(b"\n");
    // `/` and an empty query (every POST of an SDK) are their own canonical forms.
    if req.path == "/" {
        out.put(b"/");
    } else {
        out.put(canonical_uri(req.path).as_bytes());
    }
    out.put(b"\n");
    if !req.query.is_empty() {
        out.put(canonical_query(req.query, location).as_bytes());
    }
    out.put(b"\n");
    for name in signed_headers.split(';') {
        out.put(name.as_bytes());
        out.put(b":");
        for (i, value) in req.header_values(name).enumerate() {
            if i > 0 {
                out.put(b",");
            }
            trim_all(value, out);
        }
        out.put(b"\n");
    }
    out.put(b"\n");
    out.put(signed_headers.as_bytes());
    out.put(b"\n");
    match req.header("x-amz-content-sha256") {
        Some(claimed) => out.put(claimed),
        None => out.put(&hex32(&Sha256::digest(req.body))),
    }
}

/// The string to sign: the algorithm, the request time, the credential scope and the hex SHA-256
/// of the canonical request.
pub fn string_to_sign(req: &HttpRequest<'_>, signed: &Signed) -> String {
    let creq = canonical_request(req, signed.location, &signed.signed_headers);
    format!("{ALGORITHM}\n{}\n{}\n{}", signed.timestamp, signed.credential.scope(), sha256_hex(&creq))
}

/// What a client signs with.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub access_key: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl Signer<'_> {
    fn credential(&self, timestamp: &str) -> Credential {
        Credential {
            access_key: self.access_key.into(),
            date: timestamp.get(..8).unwrap_or_default().into(),
            region: self.region.into(),
            service: self.service.into(),
            terminator: TERMINATOR.into(),
        }
    }

    /// The `Authorization` header value for `req` signed at `timestamp` (basic ISO 8601) over
    /// `signed_headers` (lowercase names, sorted, `;`-separated; `req` must carry them, with
    /// `X-Amz-Date` equal to `timestamp`). For tests and tools: the server only verifies.
    pub fn authorization(&self, req: &HttpRequest<'_>, timestamp: &str, signed_headers: &str) -> String {
        let signed = Signed {
            location: Location::Header,
            credential: self.credential(timestamp),
            signed_headers: signed_headers.into(),
            signature: String::new(),
            timestamp: timestamp.into(),
            time: UnixMillis(0),
            expires: None,
        };
        let sig = signature(&signing_key(self.secret.as_bytes(), &signed.credential), &string_to_sign(req, &signed));
        format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={signed_headers}, Signature={sig}",
            self.access_key,
            signed.credential.scope()
        )
    }

    /// The query string of `req` presigned at `timestamp` for `expires` seconds over
    /// `signed_headers`: `req.query` followed by the `X-Amz-*` parameters. For tests and tools.
    pub fn presigned_query(
        &self,
        req: &HttpRequest<'_>,
        timestamp: &str,
        expires: i64,
        signed_headers: &str,
    ) -> String {
        let credential = self.credential(timestamp);
        let enc = |s: &str| percent_encode(s.as_bytes(), UNRESERVED).to_string();
        let mut query = req.query.to_string();
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!(
            "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={}&X-Amz-Date={timestamp}&X-Amz-Expires={expires}&X-Amz-SignedHeaders={}",
            enc(&format!("{}/{}", self.access_key, credential.scope())),
            enc(signed_headers),
        ));
        let signed = Signed {
            location: Location::Query,
            credential,
            signed_headers: signed_headers.into(),
            signature: String::new(),
            timestamp: timestamp.into(),
            time: UnixMillis(0),
            expires: Some(expires),
        };
        let with_params = HttpRequest { query: &query, ..*req };
        let sig =
            signature(&signing_key(self.secret.as_bytes(), &signed.credential), &string_to_sign(&with_params, &signed));
        format!("{query}&X-Amz-Signature={sig}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20150830T123600Z";
    const SIGNER: Signer<'static> = Signer { access_key: KEY, secret: SECRET, region: "us-east-1", service: "ec2" };

    fn at(ts: &str) -> UnixMillis {
        parse_timestamp(ts).unwrap()
    }

    fn secret(key: &str) -> Option<&'static str> {
        (key == KEY).then_some(SECRET)
    }

    /// A signed `POST /` with the given extra headers, plus the Authorization header.
    fn signed_post(extra: &[(&'static str, &'static str)], signed_headers: &str) -> Vec<(String, Vec<u8>)> {
        let mut h: Vec<(String, Vec<u8>)> =
            vec![("Host".into(), b"localhost".to_vec()), ("X-Amz-Date".into(), DATE.as_bytes().to_vec())];
        h.extend(extra.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())));
        let auth = {
            let view: Vec<(&str, &[u8])> = h.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
            SIGNER.authorization(&post(&view), DATE, signed_headers)
        };
        h.push(("Authorization".into(), auth.into_bytes()));
        h
    }

    fn post<'a>(headers: &'a [(&'a str, &'a [u8])]) -> HttpRequest<'a> {
        HttpRequest { method: "POST", path: "/", query: "", headers, body: b"Action=DescribeRegions" }
    }

    fn view(h: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
        h.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect()
    }

    fn with_auth(auth: &str) -> Vec<(String, Vec<u8>)> {
        vec![
            ("Host".into(), b"localhost".to_vec()),
            ("X-Amz-Date".into(), DATE.as_bytes().to_vec()),
            ("Authorization".into(), auth.as_bytes().to_vec()),
        ]
    }

    fn incomplete(h: &[(String, Vec<u8>)]) -> String {
        match parse(&post(&view(h))) {
            Err(Error::Incomplete(m)) => m,
            other => panic!("expected IncompleteSignature, got {other:?}"),
        }
    }

    #[test]
    fn a_signed_request_verifies_and_tells_who_signed_it() {
        let h = signed_post(&[], "host;x-amz-date");
        let signed = verify(&post(&view(&h)), "ec2", at(DATE), 900, secret).unwrap();
        assert_eq!(signed.credential.access_key, KEY);
        assert_eq!(signed.credential.region, "us-east-1");
        assert_eq!(signed.timestamp, DATE);
        assert_eq!(signed.time, at(DATE));
        assert_eq!(parse(&post(&view(&h))).unwrap(), signed);
    }

    #[test]
    fn cached_keys_verify_exactly_as_derived_ones() {
        let keys = KeyCache::new();
        let h = signed_post(&[], "host;x-amz-date");
        for _ in 0..3 {
            let cached = verify_cached(&post(&view(&h)), "ec2", at(DATE), 900, secret, &keys).unwrap();
            assert_eq!(cached, verify(&post(&view(&h)), "ec2", at(DATE), 900, secret).unwrap());
        }
        assert_eq!(keys.len(), 1, "one scope, one key");
        // A wrong secret, a wrong signature and another region are still refused, with a key each.
        let wrong = |_: &str| Some("not the secret");
        assert_eq!(verify_cached(&post(&view(&h)), "ec2", at(DATE), 900, wrong, &keys), Err(Error::Mismatch(None)));
        let mut tampered = h.clone();
        let auth = &mut tampered.last_mut().unwrap().1;
        let last = auth.last_mut().unwrap();
        *last = if *last == b'0' { b'1' } else { b'0' };
        assert_eq!(
            verify_cached(&post(&view(&tampered)), "ec2", at(DATE), 900, secret, &keys),
            Err(Error::Mismatch(None))
        );
        let west = Signer { region: "us-west-2", ..SIGNER };
        let mut h2: Vec<(String, Vec<u8>)> = h[..2].to_vec();
        let auth = west.authorization(&post(&view(&h2)), DATE, "host;x-amz-date");
        h2.push(("Authorization".into(), auth.into_bytes()));
        let signed = verify_cached(&post(&view(&h2)), "ec2", at(DATE), 900, secret, &keys).unwrap();
        assert_eq!(signed.credential.region, "us-west-2");
        assert_eq!(keys.len(), 3, "the wrong secret's key and us-west-2's");
        let cred = &signed.credential;
        assert_eq!(keys.signing_key(SECRET.as_bytes(), cred), signing_key(SECRET.as_bytes(), cred));
    }

    #[test]
    fn signed_headers_report_a_malformed_name_before_a_missing_host() {
        let malformed = |t: &str| format!("SignedHeaders '{t}' is not a ';'-separated list of header names.");
        for (text, expected) in [
            ("host;x-amz-date", None),
            ("HOST", None),
            ("x-amz-date", Some("'Host' must be a 'SignedHeader' in the AWS Authorization.".to_string())),
            ("x-amz-date;;host", Some(malformed("x-amz-date;;host"))),
            ("host;a:b", Some(malformed("host;a:b"))),
            ("a b;x", Some(malformed("a b;x"))),
            ("", Some(malformed(""))),
        ] {
            let got = signed_headers_of(text).err().map(|e| match e {
                Error::Incomplete(m) => m,
                other => format!("{other:?}"),
            });
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn trimmed_is_trim() {
        for text in ["", " ", "a", " a", "a ", "\ta\t", "a b", "\u{a0}a", "a\u{2003}", "\u{3000}", "é", " é ", "=x,"]
        {
            assert_eq!(trimmed(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn pieces_split_as_str_split_does() {
        for text in ["", "a", "a,b", ",a,,b,", "éa,ü,", "Credential=x/y, SignedHeaders=host, Signature=0"] {
            assert_eq!(find_byte(text.as_bytes(), b','), text.find(','), "{text:?}");
            assert_eq!(long_pieces(text, b',').collect::<Vec<_>>(), text.split(',').collect::<Vec<_>>(), "{text:?}");
            assert_eq!(split_once_at(text, b','), text.split_once(','), "{text:?}");
        }
        assert_eq!(digits("20150830"), Some(20150830));
        assert_eq!(digits("0"), Some(0));
        assert_eq!((digits(""), digits("1a"), digits("-1"), digits("+1")), (None, None, None, None));
    }

    #[test]
    fn header_names_are_found_in_any_case() {
        let headers: Vec<(&str, &[u8])> =
            vec![("Host", b"a"), ("x-amz-date", b"b"), ("X-AMZ-DATE", b"c"), ("x-amz-datE", b"d"), ("x-amz-dat", b"e")];
        let req = HttpRequest { method: "POST", path: "/", query: "", headers: &headers, body: b"" };
        assert_eq!(req.header_values("x-amz-date").collect::<Vec<_>>(), [b"b", b"c", b"d"]);
        assert_eq!(req.header("host"), Some(&b"a"[..]));
        assert_eq!(req.header("Host"), Some(&b"a"[..]));
        assert_eq!(req.header("hos"), None);
    }

    #[test]
    fn borrowed_parts_are_the_owned_ones() {
        let keys = KeyCache::new();
        let h = signed_post(&[], "host;x-amz-date");
        let headers = view(&h);
        let req = post(&headers);
        let owned = parse(&req).unwrap();
        assert_eq!(parse_then(&req, |s| s.owned()).unwrap(), owned);
        assert_eq!(owned.view().owned(), owned);
        let verified = verify_cached_then(&req, "ec2", at(DATE), 900, secret, &keys, |s| s.owned()).unwrap();
        assert_eq!(verified, verify(&req, "ec2", at(DATE), 900, secret).unwrap());
        let wrong = |_: &str| Some("not the secret");
        assert_eq!(verify_cached_then(&req, "ec2", at(DATE), 900, wrong, &keys, |_| ()), Err(Error::Mismatch(None)));
        assert_eq!(
            verify_cached_then(&req, "ec2", at(DATE), 900, |_| None::<&str>, &keys, |_| ()),
            Err(Error::UnknownKey)
        );
        let unsigned = [("Host", &b"localhost"[..])];
        assert_eq!(parse_then(&post(&unsigned), |_| ()), Err(Error::Missing));
    }

    #[test]
    fn a_scope_too_long_for_the_stack_is_cached_as_well() {
        let keys = KeyCache::new();
        let region = "r".repeat(200);
        let long = Signer { region: &region, ..SIGNER };
        let mut h: Vec<(String, Vec<u8>)> = signed_post(&[], "host;x-amz-date")[..2].to_vec();
        let auth = long.authorization(&post(&view(&h)), DATE, "host;x-amz-date");
        h.push(("Authorization".into(), auth.into_bytes()));
        for _ in 0..2 {
            let signed = verify_cached(&post(&view(&h)), "ec2", at(DATE), 900, secret, &keys).unwrap();
            assert_eq!(signed.credential.region, region);
        }
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn an_unsigned_request_is_missing_its_access_key() {
        let h = [("Host", &b"localhost"[..])];
        let e = parse(&post(&h)).unwrap_err();
        assert_eq!(e, Error::Missing);
        assert_eq!(e.code(), "MissingParameter");
        assert_eq!(e.message(), "The request must contain the parameter AWSAccessKeyId");
    }

    #[test]
    fn malformed_authorization_headers_are_incomplete() {
        assert!(incomplete(&with_auth("AWS AKIDEXAMPLE:abc")).contains("AWS4-HMAC-SHA256"));
        assert!(incomplete(&with_auth("AWS4-HMAC-SHA256Credential=x")).contains("AWS4-HMAC-SHA256"));
        let m = incomplete(&with_auth("AWS4-HMAC-SHA256 SignedHeaders=host"));
        assert!(m.contains("requires 'Credential' parameter") && m.contains("requires 'Signature' parameter"), "{m}");
        assert!(!m.contains("'SignedHeaders'"), "{m}");
        let ok_parts =
            "Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
        assert!(
            incomplete(&with_auth(&format!("AWS4-HMAC-SHA256 {ok_parts}, Signature=11"))).contains("more than once")
        );
        assert!(incomplete(&with_auth(&format!("AWS4-HMAC-SHA256 {ok_parts}, Extra=1"))).contains("unknown component"));
        assert!(incomplete(&with_auth(&format!("AWS4-HMAC-SHA256 {ok_parts},"))).contains("name=value"));
        let bad_credential = ok_parts.replace("20150830/", "");
        assert!(incomplete(&with_auth(&format!("AWS4-HMAC-SHA256 {bad_credential}"))).contains("not of the form"));
        let bad_date = ok_parts.replace("20150830", "2015083x");
        assert!(incomplete(&with_auth(&format!("AWS4-HMAC-SHA256 {bad_date}"))).contains("not of the form"));
        let no_host = ok_parts.replace("host;", "");
        assert!(incomplete(&with_auth(&format!("AWS4-HMAC-SHA256 {no_host}"))).contains("'Host'"));
        let empty_name = ok_parts.replace("host;", "host;;");
        assert!(incomplete(&with_auth(&format!("AWS4-HMAC-SHA256 {empty_name}"))).contains("SignedHeaders"));

        let mut no_date = with_auth(&format!("AWS4-HMAC-SHA256 {ok_parts}"));
        no_date.remove(1);
        assert!(incomplete(&no_date).contains("'X-Amz-Date' or a 'Date' header"));
        let mut bad_date = with_auth(&format!("AWS4-HMAC-SHA256 {ok_parts}"));
        bad_date[1].1 = b"2015-08-30T12:36:00Z".to_vec();
        assert!(incomplete(&bad_date).contains("ISO 8601 basic format"));
        let mut twice = with_auth(&format!("AWS4-HMAC-SHA256 {ok_parts}"));
        twice.push(twice[2].clone());
        assert!(incomplete(&twice).contains("more than one Authorization header"));
        assert_eq!(parse(&post(&view(&with_auth(&format!("AWS4-HMAC-SHA256 {ok_parts}"))))).unwrap().signature, "00");
    }

    #[test]
    fn header_and_query_signatures_together_are_refused() {
        let h = signed_post(&[], "host;x-amz-date");
        let v = view(&h);
        let req = HttpRequest { query: "X-Amz-Algorithm=AWS4-HMAC-SHA256", ..post(&v) };
        assert!(matches!(parse(&req), Err(Error::Incomplete(m)) if m.contains("Only one")));
    }

    #[test]
    fn an_unknown_key_is_an_auth_failure() {
        let h = signed_post(&[], "host;x-amz-date");
        let e = verify(&post(&view(&h)), "ec2", at(DATE), 900, |_| None::<&str>).unwrap_err();
        assert_eq!(
            (e.code(), e.message().as_str()),
            ("AuthFailure", "AWS was not able to validate the provided access credentials")
        );
    }

    #[test]
    fn the_request_time_must_be_within_the_skew_window() {
        let h = signed_post(&[], "host;x-amz-date");
        let v = view(&h);
        let req = post(&v);
        let check = |now: &str| verify(&req, "ec2", at(now), 900, secret).map(|_| ()).map_err(|e| e.code());
        assert_eq!(check("20150830T125100Z"), Ok(()), "15 minutes later");
        assert_eq!(check("20150830T122100Z"), Ok(()), "15 minutes earlier");
        assert_eq!(check("20150830T125101Z"), Err("RequestExpired"));
        assert_eq!(check("20150830T122059Z"), Err("RequestExpired"));
        // the window is a parameter
        assert!(verify(&req, "ec2", at("20150830T125101Z"), 901, secret).is_ok());
    }

    #[test]
    fn the_scope_must_fit_the_request() {
        let h = signed_post(&[], "host;x-amz-date");
        let v = view(&h);
        let req = post(&v);
        assert!(
            matches!(verify(&req, "sts", at(DATE), 900, secret), Err(Error::Mismatch(Some(m))) if m.contains("'sts'"))
        );
        // the scope's day must be the request's day
        let mut h2 = h.clone();
        h2[1].1 = b"20150831T000000Z".to_vec();
        let e = verify(&post(&view(&h2)), "ec2", at("20150831T000000Z"), 900, secret).unwrap_err();
        assert!(matches!(&e, Error::Mismatch(Some(m)) if m.contains("Date in Credential scope")), "{e:?}");
        // and its terminator aws4_request
        let auth = String::from_utf8(h[2].1.clone()).unwrap().replace("aws4_request", "aws5_request");
        let e = verify(&post(&view(&with_auth(&auth))), "ec2", at(DATE), 900, secret).unwrap_err();
        assert!(matches!(&e, Error::Mismatch(Some(m)) if m.contains("terminator")), "{e:?}");
    }

    #[test]
    fn the_signature_computed_without_strings_is_the_one_of_the_string_to_sign() {
        let key = signing_key(SECRET.as_bytes(), &SIGNER.credential(DATE));
        let headers: [(&str, &[u8]); 4] = [
            ("Host", b"example.amazonaws.com"),
            ("X-Amz-Date", DATE.as_bytes()),
            ("My-Header", b"  a   b\tc "),
            ("my-header", b"second"),
        ];
        let body_hash = sha256_hex(b"x=1");
        let with_hash: [(&str, &[u8]); 2] = [("Host", b"h"), ("X-Amz-Content-Sha256", body_hash.as_bytes())];
        let cases = [
            (
                HttpRequest {
                    method: "POST",
                    path: "/",
                    query: "",
                    headers: &headers,
                    body: b"Action=DescribeRegions",
                },
                "host;my-header;x-amz-date",
            ),
            (
                HttpRequest {
                    method: "GET",
                    path: "/a/./b/../c d/",
                    query: "b=2&a=1&a=0&x=%41+b",
                    headers: &headers,
                    body: b"",
                },
                "host;x-amz-date",
            ),
            (
                HttpRequest { method: "GET", path: "", query: "X-Amz-Signature=zz&k", headers: &headers, body: b"" },
                "host",
            ),
            (
                HttpRequest { method: "POST", path: "//", query: "", headers: &with_hash, body: b"x=1" },
                "host;x-amz-content-sha256",
            ),
        ];
        for (req, signed_headers) in cases {
            for (location, expires) in [(Location::Header, None), (Location::Query, Some(60))] {
                let signed = Signed {
                    location,
                    credential: SIGNER.credential(DATE),
                    signed_headers: signed_headers.into(),
                    signature: String::new(),
                    timestamp: DATE.into(),
                    time: at(DATE),
                    expires,
                };
                let streamed = signature_hex(&key, &req, &signed.view());
                let expected = signature(&key, &string_to_sign(&req, &signed));
                assert_eq!(std::str::from_utf8(&streamed).unwrap(), expected, "{req:?} {location:?}");
            }
        }
    }

    #[test]
    fn a_content_sha256_header_must_be_the_body_hash() {
        let body_hash: &'static str = Box::leak(sha256_hex(b"Action=DescribeRegions").into_boxed_str());
        let h = signed_post(&[("X-Amz-Content-Sha256", body_hash)], "host;x-amz-content-sha256;x-amz-date");
        assert!(verify(&post(&view(&h)), "ec2", at(DATE), 900, secret).is_ok());
        let h = signed_post(&[("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")], "host;x-amz-content-sha256;x-amz-date");
        assert!(matches!(verify(&post(&view(&h)), "ec2", at(DATE), 900, secret), Err(Error::Mismatch(Some(_)))));
    }

    #[test]
    fn a_date_header_may_carry_the_time() {
        let mut h: Vec<(&str, &[u8])> = vec![("Host", b"localhost"), ("Date", b"Sun, 30 Aug 2015 12:36:00 GMT")];
        let auth = SIGNER.authorization(&post(&h), DATE, "date;host");
        h.push(("Authorization", auth.as_bytes()));
        let signed = verify(&post(&h), "ec2", at(DATE), 900, secret).unwrap();
        assert_eq!(signed.timestamp, DATE);
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 UTC"), None);
        assert_eq!(parse_http_date("Sun, 31 Sep 2015 12:36:00 GMT"), None);
    }

    #[test]
    fn presigned_queries_need_every_parameter_once() {
        let h = [("Host", &b"localhost"[..])];
        let req = |q: &'static str| HttpRequest { method: "GET", path: "/", query: q, headers: &h, body: b"" };
        let presigned = SIGNER.presigned_query(&req("Action=DescribeRegions"), DATE, 60, "host");
        let presigned: &'static str = Box::leak(presigned.into_boxed_str());
        assert!(verify(&req(presigned), "ec2", at(DATE), 900, secret).is_ok());
        let without = |param: &str| -> &'static str {
            let q: Vec<&str> = presigned.split('&').filter(|p| !p.starts_with(param)).collect();
            Box::leak(q.join("&").into_boxed_str())
        };
        for param in ["X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"] {
            assert!(matches!(parse(&req(without(param))), Err(Error::Incomplete(m)) if m.contains(param)), "{param}");
        }
        let twice: &'static str = Box::leak(format!("{presigned}&X-Amz-Date={DATE}").into_boxed_str());
        assert!(matches!(parse(&req(twice)), Err(Error::Incomplete(m)) if m.contains("more than once")));
        for bad in ["0", "604801", "-5", "ten"] {
            let q: &'static str =
                Box::leak(presigned.replace("X-Amz-Expires=60", &format!("X-Amz-Expires={bad}")).into_boxed_str());
            assert!(matches!(parse(&req(q)), Err(Error::Incomplete(m)) if m.contains("X-Amz-Expires")), "{bad}");
        }
        let q: &'static str = Box::leak(presigned.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512").into_boxed_str());
        assert!(matches!(parse(&req(q)), Err(Error::Incomplete(m)) if m.contains("X-Amz-Algorithm")));
    }

    /// The readings before the one-pass parsers: each new one must agree with them on every input.
    mod before {
        use super::super::*;

        pub fn trimmed(text: &str) -> &str {
            match (text.as_bytes().first(), text.as_bytes().last()) {
                (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
                _ => text.trim(),
            }
        }

        pub fn credential(text: &str) -> Option<CredentialRef<'_>> {
            let mut parts = text.split('/');
            let mut next = || parts.next().filter(|p| !p.is_empty());
            let (access_key, date, region, service, terminator) = (next()?, next()?, next()?, next()?, next()?);
            if parts.next().is_some() || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(CredentialRef { access_key, date, region, service, terminator })
        }

        pub fn signed_headers(text: &str) -> Result<&str, Error> {
            let mut host = false;
            for n in text.split(';') {
                if n.is_empty() || !n.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                    return Err(Error::Incomplete(format!(
                        "SignedHeaders '{text}' is not a ';'-separated list of header names."
                    )));
                }
                host |= n.eq_ignore_ascii_case("host");
            }
            if !host {
                return Err(Error::Incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.".into()));
            }
            Ok(text)
        }

        pub fn timestamp(text: &str) -> Option<UnixMillis> {
            let b = text.as_bytes();
            if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
                return None;
            }
            let n = |r: std::ops::Range<usize>| text.get(r).and_then(digits);
            let (year, month, day) = (n(0..4)?, u32::try_from(n(4..6)?).ok()?, u32::try_from(n(6..8)?).ok()?);
            let (hour, minute, second) = (n(9..11)?, n(11..13)?, n(13..15)?);
            if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
                return None;
            }
            let days = days_from_civil(year, month, day);
            if civil_from_days(days) != (year, month, day) {
                return None;
            }
            Some(UnixMillis((days * 86_400 + hour * 3600 + minute * 60 + second) * MILLIS_PER_SECOND))
        }
    }

    /// Texts around the shapes the parsers read: separators doubled, leading, trailing and alone, white
    /// space of every kind, bytes that are not ASCII.
    fn odd_texts(separator: char) -> Vec<String> {
        let s = separator;
        let mut texts: Vec<String> = [
            "",
            " ",
            "  ",
            "\t",
            "a",
            " a",
            "  a",
            "a ",
            " a ",
            "\ta",
            "\u{a0}a",
            " \u{a0}a",
            "a\u{2003}",
            "\u{3000}",
            "é",
            " é ",
            "=x,",
            " =x",
            "host",
            "HOST",
            " host",
            "Host",
            "hosts",
            "hos",
            "a:b",
            "a b",
            "x-amz-date",
            "\u{7f}",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let parts = ["", "host", "a", "20150830", "us-east-1", "é", " ", ":", "aws4_request"];
        for a in parts {
            for b in parts {
                for c in parts {
                    texts.push(format!("{a}{s}{b}{s}{c}"));
                    texts.push(format!("{a}{s}{b}{s}{c}{s}{a}{s}{b}"));
                    texts.push(format!("{a}{s}{b}{s}{c}{s}{a}{s}{b}{s}"));
                    texts.push(format!("{s}{a}{s}{b}{s}{c}{s}{a}{s}{b}{s}{c}"));
                }
            }
        }
        texts
    }

    /// The word-at-a-time check of a list's bytes agrees with a byte-at-a-time one, for every byte value
    /// at every position of a word and of the remainder, beside bytes that are and are not allowed.
    #[test]
    fn name_bytes_are_checked_as_one_at_a_time() {
        let one_at_a_time = |bytes: &[u8]| bytes.iter().all(|&b| (b'!'..=b'~').contains(&b) && b != b':');
        for len in [1, 7, 8, 9, 16, 19] {
            for at in 0..len {
                for fill in [b'a', b';', b'!', b'~', b'9'] {
                    for b in 0..=255u8 {
                        let mut bytes = vec![fill; len];
                        bytes[at] = b;
                        assert_eq!(only_name_bytes(&bytes), one_at_a_time(&bytes), "{bytes:?}");
                    }
                }
            }
        }
        for bytes in [&b""[..], b"\xff\xff\xff\xff\xff\xff\xff\xff", b"\x00\x00\x00\x00\x00\x00\x00\x00", b"\x20\x20"] {
            assert_eq!(only_name_bytes(bytes), one_at_a_time(bytes), "{bytes:?}");
        }
    }

    #[test]
    fn one_pass_parsers_read_as_before() {
        for text in odd_texts('/') {
            assert_eq!(CredentialRef::parse(&text), before::credential(&text), "{text:?}");
            assert_eq!(trimmed(&text), before::trimmed(&text), "{text:?}");
        }
        for text in odd_texts(';') {
            assert_eq!(signed_headers_of(&text), before::signed_headers(&text), "{text:?}");
            assert_eq!(trimmed(&text), before::trimmed(&text), "{text:?}");
        }
        assert!(CredentialRef::parse("AKIA/20150830/us-east-1/ec2/aws4_request").is_some());
        assert!(signed_headers_of("content-type;host;x-amz-date").is_ok());
        // Every day of four centuries' months (leap years and their exceptions), days past the month's
        // end, and every digit position spoiled once.
        for year in (1896..=2104).chain([0, 1, 4, 100, 400, 9999]) {
            for month in 0..=13 {
                for day in 0..=32 {
                    let text = format!("{year:04}{month:02}{day:02}T235959Z");
                    assert_eq!(parse_timestamp(&text), before::timestamp(&text), "{text}");
                }
            }
        }
        let good = "20160229T123456Z";
        for i in 0..good.len() {
            for replacement in ["0", "9", "a", "/", ":", "T", "Z", " ", "é"] {
                let text = format!("{}{replacement}{}", &good[..i], &good[i + 1..]);
                assert_eq!(parse_timestamp(&text), before::timestamp(&text), "{text}");
            }
        }
        for text in ["20150830T246000Z", "20150830T236000Z", "20150830T235960Z", "2015083 T123600Z", "+2015830T123600Z"]
        {
            assert_eq!(parse_timestamp(text), before::timestamp(text), "{text}");
        }
    }

    #[test]
    fn timestamps_parse_only_when_valid() {
        assert_eq!(parse_timestamp("19700101T000000Z"), Some(UnixMillis(0)));
        assert_eq!(format_timestamp(at(DATE)), DATE);
        assert_eq!(format_timestamp(UnixMillis(1_440_938_160_999)), DATE);
        for bad in [
            "20150230T000000Z",
            "20151301T000000Z",
            "20150830T240000Z",
            "20150830T123660Z",
            "20150830 123600Z",
            "2015083T123600Z",
            "+0150830T123600Z",
            "",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert!(parse_timestamp("20160229T000000Z").is_some());
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a%20b/"), "/a%2520b/");
        assert_eq!(canonical_uri("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(canonical_query("b=2&a=1&&a=0&c", Location::Header), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("x=a+b%2fc%7E", Location::Header), "x=a%2Bb%2Fc~");
        assert_eq!(canonical_query("X-Amz-Signature=ab&z=1", Location::Query), "z=1");
        assert_eq!(canonical_query("X-Amz-Signature=ab&z=1", Location::Header), "X-Amz-Signature=ab&z=1");
        let mut out = Vec::new();
        trim_all(b"  a \t b\r\n c  ", &mut out);
        assert_eq!(out, b"a b c");
    }
}
