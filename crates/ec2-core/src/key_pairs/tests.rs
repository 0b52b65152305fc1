//! Expected values below were computed once, independently of this code, with OpenSSH's
//! `ssh-keygen`, OpenSSL and PuTTY's `puttygen` (which checks a PPK file's MAC when it loads the
//! private key), from keys generated here with seed `[7; 32]` and from keys made by `ssh-keygen`:
//!
//! - `openssl pkcs8 -topk8 -nocrypt -outform DER < key.pem | openssl sha1 -c` (created RSA fingerprint)
//! - `ssh-keygen -e -m PKCS8 -f key.pub | openssl pkey -pubin -outform DER | openssl md5 -c` (imported RSA)
//! - `ssh-keygen -lf key` (ED25519, SHA256:<base64 without padding>)
//! - `puttygen key.ppk -O private-openssh` (accepts the file, so the MAC is right)

use super::*;
use crate::filters::Filter;

const SEED: [u8; 32] = [7; 32];

/// `ssh-keygen -y` of the RSA key generated from SEED.
const RSA_PUBLIC: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDqJ0GTJDj1WXxuI3CRydxvYLpUwUs5mBQzxwaMG7vY1SCA2DRA5U70HIKg5I8uyChwejRnCF4d/EbyB9cDhUvslG8fjZQr9g6TDFhpaR/+tMxEcMWphufiJNR7ZfW9hy0jmYMVZH+LGrvIol+1YrYiz/aCDyQHfOjuwpK/zBesquDypNp1eNKcCe9APEjJRiq3U6U59+3feeY1+994z0QtMwdKUVaqlzC6e1QNJXRr6AcRq9XkGPB139FEQQ3PAII8d83OODZBwgukMQSlLrqhzFPUz9wT/gE27DapdMrfYpHKyQhY2w4Oc11GUUOwsqZ/JLp3tTj6hL18rKHIIFxt";
const RSA_CREATED_FINGERPRINT: &str = "aa:07:09:61:29:fb:ab:20:2b:45:67:01:41:b2:75:97:64:0d:1b:92";
/// `openssl rsa -pubout -outform DER | openssl md5 -c` of the same key.
const RSA_IMPORTED_FINGERPRINT: &str = "bc:e9:b6:c1:17:6a:18:08:85:a5:d3:9b:26:30:75:0f";
const RSA_PPK_MAC: &str = "9fcae0c1d85587146d6fc781694c7546339680ad";

const ED_PUBLIC: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOeaTmIVg2dHhVhYZtyFT7heK10ghpNIOkzezZAfQ9hd";
const ED_FINGERPRINT: &str = "QgJKKsUN2DhV6dmOlNrK9ykHFyC4L09Q7DxhI4rzFzU=";
const ED_PPK: &str = "PuTTY-User-Key-File-2: ssh-ed25519
Encryption: none
Comment: fixture-key
Public-Lines: 2
AAAAC3NzaC1lZDI1NTE5AAAAIOeaTmIVg2dHhVhYZtyFT7heK10ghpNIOkzezZAf
Q9hd
Private-Lines: 1
AAAAIPQAknhXqvZBFPVhuqyzeXCMeaHcFHarVzIWpAIHZL3l
Private-MAC: 3986cba412bf81c65263a3146492bb8995532043
";

/// Made by `ssh-keygen -t ed25519`; fingerprint from `ssh-keygen -lf`.
const IMPORT_ED: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGi6U2Bvy/H67hkSnwikQN26kIiSfyiGauqd6OPRaH1u alice@example";
const IMPORT_ED_FINGERPRINT: &str = "0ZdI9Wke475z+OvbYX89cQuTiRhjdTrPbnbVpNzHoZg=";
/// Made by `ssh-keygen -t rsa -b 3072`; fingerprint as above (MD5 of the DER public key).
const IMPORT_RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDNekxp5QlPnjED7anSSUEZJaw02tQwh7syK8cFWOwWmRdgVLdfDG4R0Vd67MmWTgXWKI0Th/UXz5Ix09yjvdRHDrrqK98fx8HlmesAsuMqELr3gasWbMo4UtzcG/m5bklAE32ubSnnmEncY81oVG3WeNy3gZgcSH37ZHoII2WNm3e0jTylvz0ZRlxIY0kkvjZEAnFZMCkS/CwJJ2k3QhVEGV9p2EXP8deALloupQIQRmtEWC6JRp8FfICxQPI6X+M5cg7XeukNm/PqQ29FmYdp1OfatII5ScXYjdMDqArmCrHo9/Tyb8mUfIr7WX/fDoKAebdX6H/XaeNwR4N9a/CCMM3tuJ1xU0I8L6UNxfw4RaopshkzLweEDpLHentC9woDGJK53kzumeNfXO63rxlDyF56YqjAbm4bRrIDAXidAE6AC63alVgkvCiDg+ZBu0igi0vByVRiccbODm5y1/H7CcfMhJhKjGl61E/XOTeqcJQPoV5SWr5Za5fdsiyJ05U= bob";
const IMPORT_RSA_FINGERPRINT: &str = "be:63:f6:d7:78:24:e9:d5:a5:53:39:80:0d:c7:d0:15";
/// The same RSA key as `ssh-keygen -e` (RFC 4716) and `ssh-keygen -e -m PKCS8` print it.
const IMPORT_RSA_RFC4716: &str = r#"---- BEGIN SSH2 PUBLIC KEY ----
Comment: "3072-bit RSA, converted by root@vm from OpenSSH"
AAAAB3NzaC1yc2EAAAADAQABAAABgQDNekxp5QlPnjED7anSSUEZJaw02tQwh7syK8cFWO
wWmRdgVLdfDG4R0Vd67MmWTgXWKI0Th/UXz5Ix09yjvdRHDrrqK98fx8HlmesAsuMqELr3
gasWbMo4UtzcG/m5bklAE32ubSnnmEncY81oVG3WeNy3gZgcSH37ZHoII2WNm3e0jTylvz
0ZRlxIY0kkvjZEAnFZMCkS/CwJJ2k3QhVEGV9p2EXP8deALloupQIQRmtEWC6JRp8FfICx
QPI6X+M5cg7XeukNm/PqQ29FmYdp1OfatII5ScXYjdMDqArmCrHo9/Tyb8mUfIr7WX/fDo
KAebdX6H/XaeNwR4N9a/CCMM3tuJ1xU0I8L6UNxfw4RaopshkzLweEDpLHentC9woDGJK5
3kzumeNfXO63rxlDyF56YqjAbm4bRrIDAXidAE6AC63alVgkvCiDg+ZBu0igi0vByVRicc
bODm5y1/H7CcfMhJhKjGl61E/XOTeqcJQPoV5SWr5Za5fdsiyJ05U=
---- END SSH2 PUBLIC KEY ----
"#;
const IMPORT_RSA_SPKI_PEM: &str = r#"-----BEGIN PUBLIC KEY-----
MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAzXpMaeUJT54xA+2p0klB
GSWsNNrUMIe7MivHBVjsFpkXYFS3XwxuEdFXeuzJlk4F1iiNE4f1F8+SMdPco73U
Rw666ivfH8fB5ZnrALLjKhC694GrFmzKOFLc3Bv5uW5JQBN9rm0p55hJ3GPNaFRt
1njct4GYHEh9+2R6CCNljZt3tI08pb89GUZcSGNJJL42RAJxWTApEvwsCSdpN0IV
RBlfadhFz/HXgC5aLqUCEEZrRFguiUafBXyAsUDyOl/jOXIO13rpDZvz6kNvRZmH
adTn2rSCOUnF2I3TA6gK5gqx6Pf08m/JlHyK+1l/3w6CgHm3V+h/12njcEeDfWvw
gjDN7bidcVNCPC+lDcX8OEWqKbIZMy8HhA6Sx3p7QvcKAxiSud5M7pnjX1zut68Z
Q8heemKowG5uG0ayAwF4nQBOgAut2pVYJLwog4PmQbtIoItLwclUYnHGzg5uctfx
+wnHzISYSoxpetRP1zk3qnCUD6FeUlq+WWuX3bIsidOVAgMBAAE=
-----END PUBLIC KEY-----
"#;
const IMPORT_ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJSTdy4imh1HgmETYyxsD1xIuAZ5Q/SGHEetXjkNz7r3xASfa1y0PD6By9NBHznMlKCx3aya5puJ4pfAbd75LDw= root@vm";

#[test]
fn created_rsa_pem_is_pkcs1_with_the_sha1_of_pkcs8_fingerprint() {
    let key = generate(KeyType::Rsa, KeyFormat::Pem, SEED, "fixture-key");
    assert!(key.key_material.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(key.key_material.ends_with("\n-----END RSA PRIVATE KEY-----"));
    assert_eq!(key.public_key, RSA_PUBLIC);
    assert_eq!(key.fingerprint, RSA_CREATED_FINGERPRINT);
    // Deterministic from the seed, different for another seed.
    assert_eq!(generate(KeyType::Rsa, KeyFormat::Pem, SEED, "fixture-key"), key);
    assert_ne!(
        generate(KeyType::Ed25519, KeyFormat::Pem, [8; 32], "k").public_key,
        generate(KeyType::Ed25519, KeyFormat::Pem, SEED, "k").public_key
    );
}

#[test]
fn created_rsa_ppk_is_putty_v2_with_its_mac() {
    let key = generate(KeyType::Rsa, KeyFormat::Ppk, SEED, "fixture-key");
    let lines: Vec<&str> = key.key_material.lines().collect();
    assert_eq!(lines[0], "PuTTY-User-Key-File-2: ssh-rsa");
    assert_eq!(lines[1], "Encryption: none");
    assert_eq!(lines[2], "Comment: fixture-key");
    assert_eq!(*lines.last().unwrap(), format!("Private-MAC: {RSA_PPK_MAC}"));
    // The public part is the same key as the PEM's, and so is the fingerprint.
    assert_eq!(key.public_key, RSA_PUBLIC);
    assert_eq!(key.fingerprint, RSA_CREATED_FINGERPRINT);
}

#[test]
fn created_ed25519_pem_is_the_openssh_private_key_format() {
    let key = generate(KeyType::Ed25519, KeyFormat::Pem, SEED, "fixture-key");
    assert!(key.key_material.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    assert!(key.key_material.ends_with("-----END OPENSSH PRIVATE KEY-----\n"));
    assert!(key.key_material.lines().all(|l| l.len() <= 70));
    assert_eq!(key.public_key, ED_PUBLIC);
    assert_eq!(key.fingerprint, ED_FINGERPRINT);
}

#[test]
fn created_ed25519_ppk_matches_puttygen_checked_file() {
    let key = generate(KeyType::Ed25519, KeyFormat::Ppk, SEED, "fixture-key");
    assert_eq!(key.key_material, ED_PPK);
    assert_eq!(key.fingerprint, ED_FINGERPRINT);
}

#[test]
fn key_seeds_differ_by_counter_and_server_seed() {
    assert_eq!(key_seed(1, 1), key_seed(1, 1));
    assert_ne!(key_seed(1, 1), key_seed(1, 2));
    assert_ne!(key_seed(1, 1), key_seed(2, 1));
}

#[test]
fn imports_openssh_ed25519_with_sha256_fingerprint() {
    let key = parse_public_key(IMPORT_ED.as_bytes()).unwrap();
    assert_eq!(key.key_type, KeyType::Ed25519);
    assert_eq!(key.fingerprint, IMPORT_ED_FINGERPRINT);
    // The comment is dropped.
    assert_eq!(key.public_key, IMPORT_ED.rsplit_once(' ').unwrap().0);
}

#[test]
fn imports_rsa_in_every_accepted_encoding_with_the_md5_of_der_fingerprint() {
    let line = parse_public_key(IMPORT_RSA.as_bytes()).unwrap();
    assert_eq!(line.key_type, KeyType::Rsa);
    assert_eq!(line.fingerprint, IMPORT_RSA_FINGERPRINT);
    assert_eq!(line.public_key, IMPORT_RSA.rsplit_once(' ').unwrap().0);
    assert_eq!(parse_public_key(IMPORT_RSA_RFC4716.as_bytes()).unwrap(), line);
    assert_eq!(parse_public_key(IMPORT_RSA_SPKI_PEM.as_bytes()).unwrap(), line);
    let bare: String = IMPORT_RSA_SPKI_PEM.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(parse_public_key(bare.as_bytes()).unwrap(), line);
    // A key created here, imported back: the imported definition of the fingerprint applies.
    let imported = parse_public_key(RSA_PUBLIC.as_bytes()).unwrap();
    assert_eq!(imported.fingerprint, RSA_IMPORTED_FINGERPRINT);
    // Surrounding whitespace and a trailing newline are fine.
    assert_eq!(parse_public_key(format!("  {IMPORT_RSA}\n").as_bytes()).unwrap(), line);
}

fn rsa_blob_line(modulus: &[u8]) -> String {
    use base64::Engine;
    let mut blob = Vec::new();
    ssh::put_string(&mut blob, b"ssh-rsa");
    ssh::put_mpint(&mut blob, &[1, 0, 1]);
    ssh::put_mpint(&mut blob, modulus);
    format!("ssh-rsa {}", base64::engine::general_purpose::STANDARD.encode(blob))
}

#[test]
fn refuses_bad_material_with_typed_errors() {
    for bad in ["", "   ", "hello", "ssh-rsa", "ssh-rsa !!!notbase64", "ssh-rsa AAAA", "\u{ff}"] {
        assert_eq!(parse_public_key(bad.as_bytes()), Err(MaterialError::NotAPublicKey), "{bad:?}");
    }
    assert_eq!(parse_public_key(&[0xff, 0xfe]), Err(MaterialError::NotAPublicKey));
    assert_eq!(
        parse_public_key(IMPORT_ECDSA.as_bytes()),
        Err(MaterialError::UnsupportedAlgorithm("ecdsa-sha2-nistp256".to_string()))
    );
    // The line's algorithm must be the blob's.
    let mislabeled = IMPORT_ED.replacen("ssh-ed25519", "ssh-rsa", 1);
    assert_eq!(parse_public_key(mislabeled.as_bytes()), Err(MaterialError::NotAPublicKey));
    // A truncated blob.
    let (alg, rest) = IMPORT_RSA.split_once(' ').unwrap();
    let b64 = rest.split_once(' ').unwrap().0;
    let truncated = format!("{alg} {}", &b64[..b64.len() / 2 / 4 * 4]);
    assert_eq!(parse_public_key(truncated.as_bytes()), Err(MaterialError::NotAPublicKey));
    // An RFC 4716 file without its end marker.
    let open = IMPORT_RSA_RFC4716.replace("---- END SSH2 PUBLIC KEY ----", "");
    assert_eq!(parse_public_key(open.as_bytes()), Err(MaterialError::NotAPublicKey));
}

#[test]
fn rsa_length_must_be_1024_to_4096_bits() {
    assert_eq!(parse_public_key(rsa_blob_line(&[0xff; 64]).as_bytes()), Err(MaterialError::RsaLength(512)));
    assert_eq!(parse_public_key(rsa_blob_line(&[0xff; 513]).as_bytes()), Err(MaterialError::RsaLength(4104)));
    assert_eq!(parse_public_key(rsa_blob_line(&[0xff; 128]).as_bytes()).unwrap().key_type, KeyType::Rsa);
    assert_eq!(parse_public_key(rsa_blob_line(&[0xff; 512]).as_bytes()).unwrap().key_type, KeyType::Rsa);
}

fn pair(id: &str, name: &str, key_type: KeyType) -> KeyPair {
    KeyPair {
        id: id.to_string(),
        name: name.to_string(),
        key_type,
        fingerprint: format!("fp-{name}"),
        public_key: "ssh-ed25519 AAAA".to_string(),
        create_time: UnixMillis(0),
        tags: BTreeMap::new(),
    }
}

#[test]
fn names_are_unique_ascii_and_at_most_255_characters() {
    let all = vec![pair("key-01", "a", KeyType::Rsa)];
    assert_eq!(check_new_name(&all, "a"), Err(KeyPairError::Duplicate("a".into())));
    assert_eq!(check_new_name(&all, "b"), Ok(()));
    assert_eq!(check_new_name(&all, ""), Err(KeyPairError::NameEmpty));
    assert_eq!(check_new_name(&all, "clé"), Err(KeyPairError::NameNotAscii("clé".into())));
    assert_eq!(check_new_name(&all, &"x".repeat(255)), Ok(()));
    assert_eq!(check_new_name(&all, &"x".repeat(256)), Err(KeyPairError::NameTooLong("x".repeat(256))));
}

#[test]
fn select_restricts_by_names_and_ids_and_reports_the_first_missing() {
    let all = vec![pair("key-01", "a", KeyType::Rsa), pair("key-02", "b", KeyType::Ed25519)];
    let s = |names: &[&str], ids: &[&str]| {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        select(&all, &names, &ids).map(|v| v.iter().map(|k| k.id.clone()).collect::<Vec<_>>())
    };
    assert_eq!(s(&[], &[]), Ok(vec!["key-01".to_string(), "key-02".to_string()]));
    assert_eq!(s(&["b"], &[]), Ok(vec!["key-02".to_string()]));
    assert_eq!(s(&[], &["key-01"]), Ok(vec!["key-01".to_string()]));
    assert_eq!(s(&["a", "zz", "yy"], &[]), Err(KeyPairError::NameNotFound("zz".into())));
    assert_eq!(s(&["a"], &["key-09"]), Err(KeyPairError::IdNotFound("key-09".into())));
}

#[test]
fn delete_and_launch_lookups() {
    let all = vec![pair("key-01", "a", KeyType::Rsa), pair("key-02", "b", KeyType::Ed25519)];
    assert_eq!(find_for_delete(&all, Some("b"), None).map(|k| k.id.as_str()), Some("key-02"));
    assert_eq!(find_for_delete(&all, None, Some("key-01")).map(|k| k.name.as_str()), Some("a"));
    assert_eq!(find_for_delete(&all, Some("b"), Some("key-01")), None);
    assert_eq!(find_for_delete(&all, Some("zz"), None), None);
    assert_eq!(find_for_delete(&all, None, None), None);
    assert_eq!(find_for_launch(&all, "a").map(|k| k.id.as_str()), Ok("key-01"));
    assert_eq!(find_for_launch(&all, "zz"), Err(KeyPairError::NameNotFound("zz".into())));
}

#[test]
fn filters_cover_id_name_fingerprint_type_and_tags() {
    let mut a = pair("key-01", "web-a", KeyType::Rsa);
    a.tags.insert("env".into(), "prod".into());
    let b = pair("key-02", "db-b", KeyType::Ed25519);
    let hits = |f: Filter| {
        let fs = vec![f];
        FILTERS.validate(&fs).unwrap();
        [&a, &b].iter().filter(|k| FILTERS.matches(k, &fs)).map(|k| k.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(hits(Filter::new("key-pair-id", &["key-02"])), vec!["key-02"]);
    assert_eq!(hits(Filter::new("key-name", &["web-*"])), vec!["key-01"]);
    assert_eq!(hits(Filter::new("fingerprint", &["fp-db-b"])), vec!["key-02"]);
    assert_eq!(hits(Filter::new("key-type", &["ed25519"])), vec!["key-02"]);
    assert_eq!(hits(Filter::new("tag:env", &["prod"])), vec!["key-01"]);
    assert_eq!(hits(Filter::new("tag-key", &["env"])), vec!["key-01"]);
    assert!(FILTERS.validate(&[Filter::new("owner-id", &["1"])]).is_err());
}

#[test]
fn describe_shows_the_public_key_with_the_name_as_comment() {
    let k = pair("key-01", "web", KeyType::Ed25519);
    assert_eq!(k.public_key_with_name(), "ssh-ed25519 AAAA web");
    assert_eq!(KeyType::parse("ed25519"), Some(KeyType::Ed25519));
    assert_eq!(KeyType::parse("dsa"), None);
    assert_eq!(KeyFormat::parse("ppk"), Some(KeyFormat::Ppk));
    assert_eq!(KeyFormat::parse("PEM"), None);
}
