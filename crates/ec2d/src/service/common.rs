//! Helpers every resource family uses: ID syntax and lookups errors, new IDs, pagination, and
//! tag specifications. Error codes and messages for these live here, once.

use std::collections::BTreeSet;

use ec2_core::ids::IdKind;
use ec2_core::tags::{self, TagError};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::{kinds, Ctx, Result};

/// Checks the syntax of every ID (first malformed one fails the request, with AWS's
/// `Invalid id: "x"` message) and drops repeats, keeping the first occurrence.
pub fn well_formed(kind: IdKind, ids: &[String]) -> Result<Vec<String>> {
    Ok(well_formed_refs(kind, ids)?.into_iter().map(str::to_string).collect())
}

/// [`well_formed`], borrowing the IDs rather than copying them: what a read that only looks them up uses.
pub fn well_formed_refs(kind: IdKind, ids: &[String]) -> Result<Vec<&str>> {
    // A few IDs (most requests name one) are compared with those kept so far; only a longer list
    // gets a set.
    const FEW: usize = 8;
    let mut seen = BTreeSet::new();
    let mut out: Vec<&str> = Vec::with_capacity(ids.len());
    for id in ids {
        if !kind.is_well_formed(id) {
            return Err(Ec2Error::new(kinds::info(kind).malformed, format!("Invalid id: \"{id}\"")).into());
        }
        let new = if ids.len() <= FEW { !out.contains(&id.as_str()) } else { seen.insert(id.as_str()) };
        if new {
            out.push(id);
        }
    }
    Ok(out)
}

/// The NotFound error naming every missing ID.
pub fn not_found(kind: IdKind, missing: &[String]) -> Ec2Error {
    let e = kinds::info(kind);
    let (one, many) = e.not_found_message;
    let message =
        if missing.len() == 1 { one.replace("{}", &missing[0]) } else { many.replace("{}", &missing.join(", ")) };
    Ec2Error::new(e.not_found, message)
}

/// The records named by `ids`, in the order named, each passed through `keep` (which may drop a
/// record that is gone, such as a purged instance); every unknown ID is reported in one
/// `kind` NotFound error.
pub fn load_named_with<R: ec2_store::Record>(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    kind: IdKind,
    ids: &[String],
    mut keep: impl FnMut(&mut Txn<'_>, R) -> Result<Option<R>>,
) -> Result<Vec<R>> {
    let scope = ctx.scope.key();
    named(kind, ids, |id| match tx.get::<R>(scope, id)? {
        Some(r) => keep(tx, r),
        None => Ok(None),
    })
}

/// [`load_named_with`] of records shared with the store ([`Txn::get_shared`]) rather than copied.
pub fn load_named_shared_with<R: ec2_store::Record>(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    kind: IdKind,
    ids: &[impl AsRef<str>],
    mut keep: impl FnMut(&mut Txn<'_>, std::sync::Arc<R>) -> Result<Option<std::sync::Arc<R>>>,
) -> Result<Vec<std::sync::Arc<R>>> {
    let scope = ctx.scope.key();
    named(kind, ids, |id| match tx.get_shared::<R>(scope, id)? {
        Some(r) => keep(tx, r),
        None => Ok(None),
    })
}

/// What `find` finds for each of `ids`, in order; the IDs it finds nothing for make one `kind`
/// NotFound error.
fn named<T>(kind: IdKind, ids: &[impl AsRef<str>], mut find: impl FnMut(&str) -> Result<Option<T>>) -> Result<Vec<T>> {
    let mut found = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        let id = id.as_ref();
        match find(id)? {
            Some(r) => found.push(r),
            None => missing.push(id.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(not_found(kind, &missing).into());
    }
    Ok(found)
}

/// The records named by `ids`, in the order named; every unknown ID is reported at once.
pub fn load_named<R: ec2_store::Record>(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    kind: IdKind,
    ids: &[String],
) -> Result<Vec<R>> {
    load_named_with(ctx, tx, kind, ids, |_, r| Ok(Some(r)))
}

/// A fresh ID of `kind`, from the store's counter for it.
pub fn new_id(ctx: &Ctx<'_>, tx: &mut Txn<'_>, kind: IdKind) -> Result<String> {
    let n = tx.next_id(kind.counter())?;
    Ok(ctx.ids.id(kind, n))
}

/// The bounds of `MaxResults` for one operation, and how it words an out-of-range value.
pub struct PageBounds {
    pub min: i64,
    pub max: i64,
    /// Values above `max` are served as `max` (DescribeInstances) instead of refused.
    pub cap_above_max: bool,
    pub message: fn(i64) -> String,
}

pub fn describe_instances_bounds() -> PageBounds {
    PageBounds {
        min: 5,
        max: 1000,
        cap_above_max: true,
        message: |n| format!("Value ( {n} ) for parameter maxResults is invalid. Expecting a value greater than 5."),
    }
}

pub fn five_to_thousand() -> PageBounds {
    PageBounds {
        min: 5,
        max: 1000,
        cap_above_max: false,
        message: |n| {
            format!("Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.")
        },
    }
}

/// One page of `items` (already in their listing order), after the item whose key is encoded in
/// `next_token`. Returns the page and the token of the next one.
pub fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    max_results: Option<i64>,
    next_token: Option<&str>,
    bounds: &PageBounds,
) -> Result<(Vec<T>, Option<String>)> {
    let limit = match max_results {
        None => None,
        Some(n) if n < bounds.min || (n > bounds.max && !bounds.cap_above_max) => {
            return Err(Ec2Error::invalid_parameter_value((bounds.message)(n)).into())
        }
        Some(n) => Some(n.min(bounds.max) as usize),
    };
    let after = match next_token.filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            decode_token(t).ok_or_else(|| Ec2Error::invalid_parameter_value(format!("The token '{t}' is invalid")))?,
        ),
    };
    let mut rest: Vec<T> = match &after {
        None => items,
        Some(k) => items.into_iter().skip_while(|i| key(i) <= *k).collect(),
    };
    match limit {
        Some(n) if rest.len() > n => {
            rest.truncate(n);
            let token = rest.last().map(|i| encode_token(&key(i)));
            Ok((rest, token))
        }
        _ => Ok((rest, None)),
    }
}

fn encode_token(key: &str) -> String {
    let mut s = String::from("ec2d");
    for b in key.bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The key a token of [`paginate`] encodes (`None` for a malformed token).
pub fn decode_token(token: &str) -> Option<String> {
    let hex = token.strip_prefix("ec2d")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

pub fn tag_error(e: TagError) -> Ec2Error {
    match e {
        TagError::EmptyKey => Ec2Error::invalid_parameter_value("Tag keys cannot be empty."),
        TagError::KeyTooLong => Ec2Error::invalid_parameter_value(format!(
            "Tag key exceeds the maximum length of {} characters.",
            tags::MAX_KEY_CHARS
        )),
        TagError::ValueTooLong => Ec2Error::invalid_parameter_value(format!(
            "Tag value exceeds the maximum length of {} characters.",
            tags::MAX_VALUE_CHARS
        )),
        TagError::ReservedKey => {
            Ec2Error::invalid_parameter_value("Tag keys starting with 'aws:' are reserved for internal use.")
        }
        TagError::LimitExceeded => {
            Ec2Error::new(Code::TagLimitExceeded, "The maximum number of Tags for a resource has been reached.")
        }
    }
}

/// Tags by resource type, as a request's tag specifications give them.
pub type TagsByType = Vec<(String, Vec<(String, String)>)>;

/// The tags of a request's `TagSpecification.N` for `resource_type`, after checking that every
/// specification names a type this operation can tag and that every tag is valid.
pub fn tag_specifications(specs: &Option<Vec<dto::TagSpecification>>, allowed: &[&str]) -> Result<TagsByType> {
    let mut out = Vec::new();
    for spec in specs.iter().flatten() {
        let rt = spec.resource_type.clone().unwrap_or_default();
        if !allowed.contains(&rt.as_str()) {
            return Err(Ec2Error::invalid_parameter_value(format!(
                "'{rt}' is not a valid taggable resource type for this operation."
            ))
            .into());
        }
        let tags = dto_tags(spec.tags.as_deref().unwrap_or_default())?;
        if tags.is_empty() {
            return Err(Ec2Error::invalid_parameter_value("Tag specification must have at least one tag").into());
        }
        if tags.len() > tags::MAX_TAGS {
            return Err(tag_error(TagError::LimitExceeded).into());
        }
        out.push((rt, tags));
    }
    Ok(out)
}

/// Validated `(key, value)` pairs from DTO tags; a missing value is the empty string.
pub fn dto_tags(tags: &[dto::Tag]) -> Result<Vec<(String, String)>> {
    tags.iter()
        .map(|t| {
            let key = t.key.clone().unwrap_or_default();
            let value = t.value.clone().unwrap_or_default();
            tags::validate(&key, &value).map_err(tag_error)?;
            Ok((key, value))
        })
        .collect()
}

/// The tags of one resource type from [`tag_specifications`]' output.
pub fn tags_for(specs: &TagsByType, resource_type: &str) -> Vec<(String, String)> {
    specs.iter().filter(|(rt, _)| rt == resource_type).flat_map(|(_, t)| t.iter().cloned()).collect()
}

/// A resource's tags as a DTO list; `None` when there are none (EC2 leaves `tagSet` out then).
pub fn tag_set(tags: &std::collections::BTreeMap<String, String>) -> Option<Vec<dto::Tag>> {
    if tags.is_empty() {
        return None;
    }
    Some(tags.iter().map(|(k, v)| dto::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect())
}

/// The idempotency record of a client token (spec 3.2): a digest of the request's parameters and
/// the IDs of what it created, in an order its operation defines.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClientToken {
    /// `{Operation}/{scope of the token}/{token}`.
    pub id: String,
    pub fingerprint: String,
    pub resources: Vec<String>,
}

impl ec2_store::Record for ClientToken {
    const KIND: &'static str = "client_token";
    fn id(&self) -> &str {
        &self.id
    }
}

/// A stable digest of a request whose client token and DryRun flag the caller has cleared.
pub fn fingerprint<T: std::fmt::Debug>(canonical: &T) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{canonical:?}").bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub fn idempotent_mismatch() -> Ec2Error {
    Ec2Error::new(
        Code::IdempotentParameterMismatch,
        "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
    )
}

/// What an earlier request with the same client token created: `None` the first time the token
/// is seen, the resources for a repeat with the same parameters, and `IdempotentParameterMismatch`
/// for a repeat with other parameters.
pub fn replay(ctx: &Ctx<'_>, tx: &mut Txn<'_>, key: Option<&str>, fingerprint: &str) -> Result<Option<Vec<String>>> {
    let Some(key) = key else { return Ok(None) };
    match tx.get::<ClientToken>(ctx.scope.key(), key)? {
        None => Ok(None),
        Some(rec) if rec.fingerprint == fingerprint => Ok(Some(rec.resources)),
        Some(_) => Err(idempotent_mismatch().into()),
    }
}

/// Records what a request with a client token created.
pub fn remember(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    key: Option<String>,
    fingerprint: String,
    resources: Vec<String>,
) -> Result<()> {
    if let Some(id) = key {
        tx.put(ctx.scope.key(), &ClientToken { id, fingerprint, resources })?;
    }
    Ok(())
}

pub fn flag(b: bool) -> Option<bool> {
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_ids_are_kept_once_in_the_order_first_named() {
        for n in [3, 8, 9, 40] {
            let ids: Vec<String> =
                (0..n).flat_map(|i| [format!("i-{:017x}", i % 5), format!("i-{:017x}", i)]).collect();
            let mut expected: Vec<String> = Vec::new();
            for id in &ids {
                if !expected.contains(id) {
                    expected.push(id.clone());
                }
            }
            assert_eq!(well_formed(IdKind::Instance, &ids).unwrap(), expected, "{n}");
        }
        assert!(well_formed(IdKind::Instance, &["i-1".to_string(), "nope".to_string()]).is_err());
        let (a, b) = ("i-0123456789abcdef0", "i-0123456789abcdef1");
        let ids: Vec<String> = [a, b, a].map(String::from).into();
        assert_eq!(well_formed_refs(IdKind::Instance, &ids).unwrap(), [a, b]);
    }

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let t = encode_token("0001700000000000/r-1/00002");
        assert_eq!(decode_token(&t).as_deref(), Some("0001700000000000/r-1/00002"));
        assert_eq!(decode_token("garbage"), None);
        assert_eq!(decode_token("ec2dzz"), None);
    }

    #[test]
    fn pages_follow_each_other() {
        let items: Vec<u32> = (0..12).collect();
        let b = describe_instances_bounds();
        let key = |i: &u32| format!("{i:04}");
        let (p1, t1) = paginate(items.clone(), key, Some(5), None, &b).unwrap();
        assert_eq!(p1, [0, 1, 2, 3, 4]);
        let (p2, t2) = paginate(items.clone(), key, Some(5), t1.as_deref(), &b).unwrap();
        assert_eq!(p2, [5, 6, 7, 8, 9]);
        let (p3, t3) = paginate(items.clone(), key, Some(5), t2.as_deref(), &b).unwrap();
        assert_eq!((p3, t3), (vec![10, 11], None));
        assert!(paginate(items.clone(), key, Some(4), None, &b).is_err());
        assert_eq!(paginate(items, key, Some(5000), None, &b).unwrap().0.len(), 12);
    }
}
