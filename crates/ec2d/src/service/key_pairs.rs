//! CreateKeyPair, ImportKeyPair, DescribeKeyPairs and DeleteKeyPair, and the key check of
//! RunInstances. The rules (generation, encodings, fingerprints, import parsing, names, lookups,
//! filters) are `ec2_core::key_pairs`; this file loads, calls them, saves, and words their errors.

use ec2_core::ids::IdKind;
use ec2_core::key_pairs::{
    self, generate, key_seed, parse_public_key, KeyFormat, KeyPair, KeyPairError, KeyType, MaterialError,
};
use ec2_core::text::base64_decode;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{not_found, tag_set, tag_specifications, tags_for, well_formed, TagsByType};
use super::{dry_run_gate, filters, Ctx, Result};

const RESOURCE_TYPE: &str = "key-pair";

/// The wire form of a key pair rule's refusal.
fn key_pair_error(e: KeyPairError) -> Ec2Error {
    match e {
        KeyPairError::Duplicate(name) => {
            Ec2Error::new(Code::InvalidKeyPairDuplicate, format!("The keypair '{name}' already exists."))
        }
        KeyPairError::NameNotFound(name) => {
            Ec2Error::new(Code::InvalidKeyPairNotFound, format!("The key pair '{name}' does not exist"))
        }
        KeyPairError::IdNotFound(id) => not_found(IdKind::KeyPair, &[id]),
        KeyPairError::NameTooLong(name) => Ec2Error::invalid_parameter_value(format!(
            "Value ({name}) for parameter keyName is invalid. Length exceeds maximum of {} characters.",
            key_pairs::MAX_NAME_LEN
        )),
        KeyPairError::NameNotAscii(name) => Ec2Error::invalid_parameter_value(format!(
            "Value ({name}) for parameter keyName is invalid. Character sets beyond ASCII are not supported."
        )),
        KeyPairError::NameEmpty => Ec2Error::missing_parameter("KeyName"),
    }
}

/// The wire form of a refused ImportKeyPair material.
fn material_error(e: MaterialError) -> Ec2Error {
    let message = match e {
        MaterialError::NotAPublicKey => "Key is not in valid OpenSSH public key format".to_string(),
        MaterialError::UnsupportedAlgorithm(alg) => {
            format!("Key type '{alg}' is not supported: import an RSA or ED25519 public key")
        }
        MaterialError::RsaLength(bits) => format!(
            "Invalid RSA key length {bits}: supported lengths are {} to {} bits",
            key_pairs::import::RSA_MIN_BITS,
            key_pairs::import::RSA_MAX_BITS
        ),
    };
    Ec2Error::new(Code::InvalidKeyPairFormat, message)
}

fn all(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<KeyPair>> {
    let mut v = tx.scan::<KeyPair>(ctx.scope.key())?;
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// Name and tag checks shared by create and import, before the permission gate.
fn checked_new(req_name: &Option<String>, specs: &Option<Vec<dto::TagSpecification>>) -> Result<(String, TagsByType)> {
    let name = req_name.clone().unwrap_or_default();
    key_pairs::check_new_name(&[], &name).map_err(key_pair_error)?;
    Ok((name, tag_specifications(specs, &[RESOURCE_TYPE])?))
}

/// Stores a new key pair under a fresh `key-` ID; returns it with the ID counter (the key's seed).
fn store_new(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    name: String,
    specs: &TagsByType,
    make: impl FnOnce(u64) -> (KeyType, String, String),
) -> Result<KeyPair> {
    let existing = all(ctx, tx)?;
    key_pairs::check_new_name(&existing, &name).map_err(key_pair_error)?;
    let n = tx.next_counter(IdKind::KeyPair.counter())?;
    let (key_type, public_key, fingerprint) = make(n);
    let kp = KeyPair {
        id: ctx.ids.id(IdKind::KeyPair, n),
        name,
        key_type,
        fingerprint,
        public_key,
        create_time: ctx.now,
        tags: tags_for(specs, RESOURCE_TYPE).into_iter().collect(),
    };
    tx.put(ctx.scope.key(), &kp)?;
    Ok(kp)
}

pub fn create_key_pair(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CreateKeyPairRequest) -> Result<dto::KeyPair> {
    let (name, specs) = checked_new(&req.key_name, &req.tag_specifications)?;
    let key_type = match req.key_type.as_deref() {
        None => KeyType::Rsa,
        Some(t) => KeyType::parse(t).ok_or_else(|| {
            Ec2Error::invalid_parameter_value(format!(
                "Value ({t}) for parameter keyType is invalid. Valid values are rsa and ed25519."
            ))
        })?,
    };
    let format = match req.key_format.as_deref() {
        None => KeyFormat::Pem,
        Some(f) => KeyFormat::parse(f).ok_or_else(|| {
            Ec2Error::invalid_parameter_value(format!(
                "Value ({f}) for parameter keyFormat is invalid. Valid values are pem and ppk."
            ))
        })?,
    };
    dry_run_gate(ctx, req.dry_run)?;
    let mut material = String::new();
    let kp = store_new(ctx, tx, name.clone(), &specs, |n| {
        let key = generate(key_type, format, key_seed(ctx.ids.seed(), n), &name);
        material = key.key_material;
        (key_type, key.public_key, key.fingerprint)
    })?;
    Ok(dto::KeyPair {
        key_pair_id: Some(kp.id.clone()),
        tags: tag_set(&kp.tags),
        key_name: Some(kp.name),
        key_fingerprint: Some(kp.fingerprint),
        key_material: Some(material),
    })
}

pub fn import_key_pair(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ImportKeyPairRequest,
) -> Result<dto::ImportKeyPairResult> {
    let (name, specs) = checked_new(&req.key_name, &req.tag_specifications)?;
    let bytes = base64_decode(req.public_key_material.as_deref().unwrap_or_default())
        .ok_or_else(|| material_error(MaterialError::NotAPublicKey))?;
    let key = parse_public_key(&bytes).map_err(material_error)?;
    dry_run_gate(ctx, req.dry_run)?;
    let kp = store_new(ctx, tx, name, &specs, |_| (key.key_type, key.public_key, key.fingerprint))?;
    Ok(dto::ImportKeyPairResult {
        key_fingerprint: Some(kp.fingerprint.clone()),
        key_name: Some(kp.name.clone()),
        key_pair_id: Some(kp.id.clone()),
        tags: tag_set(&kp.tags),
    })
}

pub fn describe_key_pairs(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeKeyPairsRequest,
) -> Result<dto::DescribeKeyPairsResult> {
    let filters = filters(&key_pairs::FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let all = all(ctx, tx)?;
    let names = req.key_names.clone().unwrap_or_default();
    let ids = req.key_pair_ids.clone().unwrap_or_default();
    let selected = key_pairs::select(&all, &names, &ids).map_err(key_pair_error)?;
    let with_public = req.include_public_key == Some(true);
    let key_pairs = selected
        .into_iter()
        .filter(|k| key_pairs::FILTERS.matches(k, &filters))
        .map(|k| dto::KeyPairInfo {
            key_pair_id: Some(k.id.clone()),
            key_type: Some(k.key_type.name().to_string()),
            tags: Some(tag_set(&k.tags).unwrap_or_default()),
            public_key: with_public.then(|| k.public_key_with_name()),
            create_time: Some(k.create_time),
            key_name: Some(k.name.clone()),
            key_fingerprint: Some(k.fingerprint.clone()),
        })
        .collect();
    Ok(dto::DescribeKeyPairsResult { key_pairs: Some(key_pairs) })
}

pub fn delete_key_pair(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DeleteKeyPairRequest,
) -> Result<dto::DeleteKeyPairResult> {
    let name = req.key_name.as_deref().filter(|n| !n.is_empty());
    let id = req.key_pair_id.as_deref().filter(|i| !i.is_empty());
    if name.is_none() && id.is_none() {
        return Err(Ec2Error::missing_parameter("KeyName").into());
    }
    if let Some(id) = id {
        well_formed(IdKind::KeyPair, &[id.to_string()])?;
    }
    dry_run_gate(ctx, req.dry_run)?;
    let all = all(ctx, tx)?;
    // A key pair that is not there: EC2 answers success, and names no ID.
    let gone = key_pairs::find_for_delete(&all, name, id).map(|k| k.id.clone());
    if let Some(gone) = &gone {
        tx.delete::<KeyPair>(ctx.scope.key(), gone)?;
    }
    Ok(dto::DeleteKeyPairResult { r#return: Some(true), key_pair_id: gone })
}

/// RunInstances' `KeyName`: the key pair must exist in the caller's account and region.
pub fn check_launch_key(ctx: &Ctx<'_>, tx: &mut Txn<'_>, key_name: Option<&str>) -> Result<()> {
    if let Some(name) = key_name {
        let all = all(ctx, tx)?;
        key_pairs::find_for_launch(&all, name).map_err(key_pair_error)?;
    }
    Ok(())
}
