//! AWS's published Signature Version 4 test suite (`aws-sig-v4-test-suite`, 2015-08-30), written
//! as data: each case is the request as the suite gives it and the signature AWS published for it.
//! Every case must verify, must be reproduced byte for byte by `Signer`, and must be refused once
//! any part of it changes. Two EC2 requests signed by botocore 1.43.11 (`SigV4Auth` and
//! `SigV4QueryAuth`) cover the presigned form, which the suite leaves out.

use ec2_sigv4::{canonical_request, parse_timestamp, string_to_sign, verify, Error, HttpRequest, Location, Signer};

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20150830T123600Z";
const HOST: &str = "example.amazonaws.com";
const UNRESERVED: &str = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const STS_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    query: &'static str,
    /// Headers besides `Host` and `X-Amz-Date`, which every case has.
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    signed_headers: &'static str,
    signature: &'static str,
}

const HOST_DATE: &str = "host;x-amz-date";
const GET_VANILLA: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

fn cases() -> Vec<Case> {
    let c = |name, method, path, query, signature| Case {
        name,
        method,
        path,
        query,
        headers: &[],
        body: "",
        signed_headers: HOST_DATE,
        signature,
    };
    let unreserved_query: &'static str = Box::leak(format!("{UNRESERVED}={UNRESERVED}").into_boxed_str());
    let unreserved_path: &'static str = Box::leak(format!("/{UNRESERVED}").into_boxed_str());
    vec![
        c("get-vanilla", "GET", "/", "", GET_VANILLA),
        c(
            "get-vanilla-empty-query-key",
            "GET",
            "/",
            "Param1=value1",
            "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
        ),
        c(
            "get-vanilla-query-order-key-case",
            "GET",
            "/",
            "Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        c(
            "get-vanilla-query-order-key",
            "GET",
            "/",
            "Param1=value2&Param1=Value1",
            "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
        ),
        c(
            "get-vanilla-query-order-value",
            "GET",
            "/",
            "Param1=value2&Param1=value1",
            "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
        ),
        c(
            "get-vanilla-query-unreserved",
            "GET",
            "/",
            unreserved_query,
            "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        ),
        c(
            "get-vanilla-utf8-query",
            "GET",
            "/",
            "\u{1234}=bar",
            "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        ),
        c(
            "get-unreserved",
            "GET",
            unreserved_path,
            "",
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        ),
        c("get-utf8", "GET", "/\u{1234}", "", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        c(
            "get-space",
            "GET",
            "/example space/",
            "",
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        ),
        // normalize-path: each path normalizes to `/`, so each signs like get-vanilla.
        c("normalize-path/get-relative", "GET", "/example/..", "", GET_VANILLA),
        c("normalize-path/get-relative-relative", "GET", "/example1/example2/../..", "", GET_VANILLA),
        c("normalize-path/get-slash", "GET", "//", "", GET_VANILLA),
        c("normalize-path/get-slash-dot-slash", "GET", "/./", "", GET_VANILLA),
        c(
            "normalize-path/get-slash-pointless-dot",
            "GET",
            "/./example",
            "",
            "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
        ),
        Case {
            headers: &[("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
            signed_headers: "host;my-header1;x-amz-date",
            ..c(
                "get-header-key-duplicate",
                "GET",
                "/",
                "",
                "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
            )
        },
        Case {
            headers: &[
                ("My-Header1", "value4"),
                ("My-Header1", "value1"),
                ("My-Header1", "value3"),
                ("My-Header1", "value2"),
            ],
            signed_headers: "host;my-header1;x-amz-date",
            ..c(
                "get-header-value-order",
                "GET",
                "/",
                "",
                "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
            )
        },
        Case {
            headers: &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
            signed_headers: "host;my-header1;my-header2;x-amz-date",
            ..c(
                "get-header-value-trim",
                "GET",
                "/",
                "",
                "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
            )
        },
        c("post-vanilla", "POST", "/", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        c(
            "post-vanilla-query",
            "POST",
            "/",
            "Param1=value1",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        ),
        Case {
            headers: &[("My-Header1", "value1")],
            signed_headers: "host;my-header1;x-amz-date",
            ..c(
                "post-header-key-sort",
                "POST",
                "/",
                "",
                "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
            )
        },
        Case {
            headers: &[("My-Header1", "VALUE1")],
            signed_headers: "host;my-header1;x-amz-date",
            ..c(
                "post-header-value-case",
                "POST",
                "/",
                "",
                "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
            )
        },
        Case {
            headers: &[("X-Amz-Security-Token", STS_TOKEN)],
            signed_headers: "host;x-amz-date;x-amz-security-token",
            ..c(
                "post-sts-token/post-sts-header-before",
                "POST",
                "/",
                "",
                "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
            )
        },
        Case {
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: "Param1=value1",
            signed_headers: "content-type;host;x-amz-date",
            ..c(
                "post-x-www-form-urlencoded",
                "POST",
                "/",
                "",
                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            )
        },
        Case {
            headers: &[("Content-Type", "application/x-www-form-urlencoded; charset=utf8")],
            body: "Param1=value1",
            signed_headers: "content-type;host;x-amz-date",
            ..c(
                "post-x-www-form-urlencoded-parameters",
                "POST",
                "/",
                "",
                "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
            )
        },
    ]
}

fn at(ts: &str) -> ec2_time::UnixMillis {
    parse_timestamp(ts).expect("a valid timestamp")
}

fn secret(key: &str) -> Option<&'static str> {
    (key == KEY).then_some(SECRET)
}

fn authorization(case: &Case) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={KEY}/20150830/us-east-1/service/aws4_request, SignedHeaders={}, Signature={}",
        case.signed_headers, case.signature
    )
}

fn headers<'a>(case: &'a Case, auth: &'a str) -> Vec<(&'a str, &'a [u8])> {
    let mut h: Vec<(&str, &[u8])> = vec![("Host", HOST.as_bytes()), ("X-Amz-Date", DATE.as_bytes())];
    h.extend(case.headers.iter().map(|(n, v)| (*n, v.as_bytes())));
    h.push(("Authorization", auth.as_bytes()));
    h
}

fn request<'a>(case: &'a Case, headers: &'a [(&'a str, &'a [u8])]) -> HttpRequest<'a> {
    HttpRequest { method: case.method, path: case.path, query: case.query, headers, body: case.body.as_bytes() }
}

#[test]
fn every_published_case_verifies() {
    for case in cases() {
        let auth = authorization(&case);
        let h = headers(&case, &auth);
        let signed = verify(&request(&case, &h), "service", at(DATE), 900, secret)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(signed.credential.access_key, KEY);
        assert_eq!(signed.credential.region, "us-east-1");
        assert_eq!(signed.location, Location::Header);
    }
}

#[test]
fn the_signer_reproduces_every_published_authorization() {
    let signer = Signer { access_key: KEY, secret: SECRET, region: "us-east-1", service: "service" };
    for case in cases() {
        let h = headers(&case, "");
        let h = &h[..h.len() - 1]; // without the Authorization header
        assert_eq!(
            signer.authorization(&request(&case, h), DATE, case.signed_headers),
            authorization(&case),
            "{}",
            case.name
        );
    }
}

#[test]
fn published_canonical_requests_and_strings_to_sign() {
    let all = cases();
    let find = |name: &str| all.iter().find(|c| c.name == name).unwrap();
    let case = find("get-vanilla-query-order-key");
    let auth = authorization(case);
    let h = headers(case, &auth);
    let req = request(case, &h);
    assert_eq!(
        String::from_utf8(canonical_request(&req, Location::Header, HOST_DATE)).unwrap(),
        "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let signed = ec2_sigv4::parse(&req).unwrap();
    assert_eq!(
        string_to_sign(&req, &signed),
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89"
    );

    let case = find("post-x-www-form-urlencoded");
    let auth = authorization(case);
    let h = headers(case, &auth);
    let req = request(case, &h);
    assert_eq!(
        String::from_utf8(canonical_request(&req, Location::Header, case.signed_headers)).unwrap(),
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
         content-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
    );
    assert!(string_to_sign(&req, &ec2_sigv4::parse(&req).unwrap())
        .ends_with("\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"));
}

/// Flips one character of `s` at `i` to another character of the same class (hex digit to hex
/// digit, letter to letter), so that the result stays well formed.
fn flip(s: &str, i: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[i] = match b[i] {
        b'0'..=b'8' | b'a'..=b'e' | b'A'..=b'Y' => b[i] + 1,
        b'9' => b'0',
        b'f' => b'a',
        b'Z' => b'A',
        b'z' => b'a',
        other => other ^ 1,
    };
    String::from_utf8(b).unwrap()
}

#[test]
fn any_change_to_a_signed_part_is_refused() {
    for case in cases() {
        let auth = authorization(&case);
        let mismatch = |req: &HttpRequest<'_>, what: &str| {
            assert_eq!(
                verify(req, "service", at(DATE), 900, secret),
                Err(Error::Mismatch(None)),
                "{}: {what}",
                case.name
            );
        };
        // the signature itself, every position
        for i in (auth.len() - 64)..auth.len() {
            let bad = flip(&auth, i);
            let h = headers(&case, &bad);
            mismatch(&request(&case, &h), &format!("signature digit {i}"));
        }
        let h = headers(&case, &auth);
        let req = request(&case, &h);
        // the method, the body, the path and the query
        mismatch(&HttpRequest { method: if case.method == "GET" { "PUT" } else { "GET" }, ..req }, "method");
        mismatch(&HttpRequest { body: b"Param1=value2", ..req }, "body");
        let path = format!("{}x", case.path);
        mismatch(&HttpRequest { path: &path, ..req }, "path");
        let query = if case.query.is_empty() { "a=b".to_string() } else { format!("{}&a=b", case.query) };
        mismatch(&HttpRequest { query: &query, ..req }, "query");
        // each signed header's value
        for (i, (name, value)) in h.iter().enumerate() {
            let lower = name.to_ascii_lowercase();
            if lower == "authorization" || lower == "x-amz-date" || !case.signed_headers.split(';').any(|n| n == lower)
            {
                continue;
            }
            let changed = [value, &b"x"[..]].concat();
            let mut h2 = h.clone();
            h2[i].1 = &changed;
            mismatch(&request(&case, &h2), &format!("header {name}"));
        }
    }
}

#[test]
fn the_wrong_secret_is_refused() {
    let case = &cases()[0];
    let auth = authorization(case);
    let h = headers(case, &auth);
    let other = flip(SECRET, 3);
    assert_eq!(
        verify(&request(case, &h), "service", at(DATE), 900, |_| Some(other.as_str())),
        Err(Error::Mismatch(None))
    );
}

/// botocore 1.43.11, `SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "ec2", "eu-west-1")` and
/// `SigV4QueryAuth(..., expires=300)` on `POST http://127.0.0.1:4566/` with the form body
/// `Action=DescribeRegions&Version=2016-11-15` (and `RegionName.1=eu-west-1` for the presigned one),
/// at 2015-08-30T12:36:00Z.
#[test]
fn botocore_signed_ec2_requests_verify() {
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/ec2/aws4_request, \
                SignedHeaders=content-type;host;x-amz-date, \
                Signature=ca711c22d264b6fcec1fc93ebf64d5b9910cdd0bba08c789fa070dba850e71d3";
    let h: Vec<(&str, &[u8])> = vec![
        ("Host", b"127.0.0.1:4566"),
        ("Content-Type", b"application/x-www-form-urlencoded; charset=utf-8"),
        ("X-Amz-Date", DATE.as_bytes()),
        ("Authorization", auth.as_bytes()),
        ("Content-Length", b"41"),
    ];
    let req = HttpRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &h,
        body: b"Action=DescribeRegions&Version=2016-11-15",
    };
    let signed = verify(&req, "ec2", at(DATE), 900, secret).unwrap();
    assert_eq!((signed.credential.region.as_str(), signed.credential.service.as_str()), ("eu-west-1", "ec2"));
    assert_eq!(verify(&req, "sts", at(DATE), 900, secret).unwrap_err().code(), "SignatureDoesNotMatch");

    let query = "Action=DescribeRegions&Version=2016-11-15&RegionName.1=eu-west-1&X-Amz-Algorithm=AWS4-HMAC-SHA256\
                 &X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Feu-west-1%2Fec2%2Faws4_request&X-Amz-Date=20150830T123600Z\
                 &X-Amz-Expires=300&X-Amz-SignedHeaders=host\
                 &X-Amz-Signature=a26eecb80c07e335f39ba11d715095587fd889b0d78dd85002fa89a95e5f7c5a";
    let h: Vec<(&str, &[u8])> = vec![("Host", b"127.0.0.1:4566"), ("Content-Length", b"0")];
    let req = HttpRequest { method: "POST", path: "/", query, headers: &h, body: b"" };
    let signed = verify(&req, "ec2", at(DATE), 900, secret).unwrap();
    assert_eq!((signed.location, signed.expires), (Location::Query, Some(300)));
    // valid until 300 s after its time, and not before 15 minutes ahead of it
    assert!(verify(&req, "ec2", at("20150830T124100Z"), 900, secret).is_ok());
    assert_eq!(verify(&req, "ec2", at("20150830T124101Z"), 900, secret).unwrap_err().code(), "RequestExpired");
    assert_eq!(verify(&req, "ec2", at("20150830T122059Z"), 900, secret).unwrap_err().code(), "RequestExpired");
    // the signer reproduces botocore's presigned query
    let bare = HttpRequest { query: "Action=DescribeRegions&Version=2016-11-15&RegionName.1=eu-west-1", ..req };
    let signer = Signer { access_key: KEY, secret: SECRET, region: "eu-west-1", service: "ec2" };
    assert_eq!(signer.presigned_query(&bare, DATE, 300, "host"), query);
    // a changed parameter or an added body breaks it
    let changed = query.replace("eu-west-1&X-Amz-Algorithm", "eu-west-2&X-Amz-Algorithm");
    assert_eq!(
        verify(&HttpRequest { query: &changed, ..req }, "ec2", at(DATE), 900, secret),
        Err(Error::Mismatch(None))
    );
    let with_body = HttpRequest { body: b"Action=TerminateInstances", ..req };
    assert_eq!(verify(&with_body, "ec2", at(DATE), 900, secret), Err(Error::Mismatch(None)));
}
