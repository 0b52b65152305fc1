//! Just enough AWS Signature Version 4 to sign the bench's `POST /` form requests.
//!
//! Signed headers are always `content-type;host;x-amz-date`, the path is `/` and the query string is empty,
//! which is exactly what an EC2 query-protocol client sends.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

pub struct Credentials<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The `Authorization` header value for `POST /` with the given headers and payload hash (hex SHA-256 of the body).
/// `amz_date` is the `X-Amz-Date` value, `%Y%m%dT%H%M%SZ`. (The bench itself caches the day's key and calls
/// [`authorization_with_key`]; this one-shot form is what the AWS test vectors check.)
#[cfg(test)]
pub fn authorization(
    creds: &Credentials,
    amz_date: &str,
    host: &str,
    content_type: &str,
    payload_hash: &str,
) -> String {
    authorization_with_key(creds, &signing_key(creds, &amz_date[..8]), amz_date, host, content_type, payload_hash)
}

/// The SigV4 signing key of one day (`date` is `%Y%m%d`): the HMAC chain over date, region, service, which only
/// changes once a day, so a client that signs every request separately can compute it once.
pub fn signing_key(creds: &Credentials, date: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{}", creds.secret_key).as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, creds.region.as_bytes());
    let k_service = hmac_sha256(&k_region, creds.service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// [`authorization`] with the day's [`signing_key`] already computed (it must be the key of `amz_date`'s day).
pub fn authorization_with_key(
    creds: &Credentials,
    signing_key: &[u8],
    amz_date: &str,
    host: &str,
    content_type: &str,
    payload_hash: &str,
) -> String {
    let date = &amz_date[..8];
    let signed_headers = "content-type;host;x-amz-date";
    let canonical_request = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\nx-amz-date:{}\n\n{}\n{}",
        content_type.trim(),
        host.trim(),
        amz_date,
        signed_headers,
        payload_hash
    );
    let scope = format!("{date}/{}/{}/aws4_request", creds.region, creds.service);
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let signature = hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key
    )
}

/// `X-Amz-Date` (`%Y%m%dT%H%M%SZ`, UTC) for a Unix time in seconds.
pub fn amz_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs_of_day = unix_secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from AWS's published SigV4 test suite (post-x-www-form-urlencoded and
    // post-x-www-form-urlencoded-parameters).
    const SUITE: Credentials = Credentials {
        access_key: "AKIDEXAMPLE",
        secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region: "us-east-1",
        service: "service",
    };

    #[test]
    fn aws_suite_post_x_www_form_urlencoded() {
        let auth = authorization(
            &SUITE,
            "20150830T123600Z",
            "example.amazonaws.com",
            "application/x-www-form-urlencoded",
            &sha256_hex(b"Param1=value1"),
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn aws_suite_post_x_www_form_urlencoded_parameters() {
        let auth = authorization(
            &SUITE,
            "20150830T123600Z",
            "example.amazonaws.com",
            "application/x-www-form-urlencoded; charset=utf8",
            &sha256_hex(b"Param1=value1"),
        );
        assert!(auth.ends_with("Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"), "{auth}");
    }

    #[test]
    fn amz_date_formats_utc() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_825_599), "20000229T115959Z");
        assert_eq!(amz_date(4_102_444_800), "21000101T000000Z");
    }
}
