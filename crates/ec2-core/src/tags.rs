//! Tag rules shared by every taggable resource (spec section 10.1): keys of 1 to 128 characters that
//! do not start with `aws:`, values of at most 256 characters, at most 50 tags a resource, one value
//! a key (a new value overwrites).

use std::collections::BTreeMap;

pub const MAX_TAGS: usize = 50;
pub const MAX_KEY_CHARS: usize = 128;
pub const MAX_VALUE_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagError {
    EmptyKey,
    KeyTooLong,
    ValueTooLong,
    /// The key starts with the reserved `aws:` prefix.
    ReservedKey,
    /// More than [`MAX_TAGS`] tags on one resource.
    LimitExceeded,
}

/// Checks one tag as a client sent it. A missing value is the empty string, as EC2 documents.
pub fn validate(key: &str, value: &str) -> Result<(), TagError> {
    if key.is_empty() {
        return Err(TagError::EmptyKey);
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(TagError::KeyTooLong);
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(TagError::ValueTooLong);
    }
    if key.starts_with("aws:") {
        return Err(TagError::ReservedKey);
    }
    Ok(())
}

/// Adds or overwrites `new` on `tags`, refusing to go past [`MAX_TAGS`].
pub fn apply(tags: &mut BTreeMap<String, String>, new: &[(String, String)]) -> Result<(), TagError> {
    let mut next = tags.clone();
    for (k, v) in new {
        next.insert(k.clone(), v.clone());
    }
    if next.len() > MAX_TAGS {
        return Err(TagError::LimitExceeded);
    }
    *tags = next;
    Ok(())
}

/// One DeleteTags entry: a key, and optionally the value the tag must have to be deleted.
pub struct Deletion {
    pub key: String,
    pub value: Option<String>,
}

/// Removes the matching tags. With no entries at all, every tag goes (never `aws:` ones).
pub fn delete(tags: &mut BTreeMap<String, String>, entries: &[Deletion]) {
    if entries.is_empty() {
        tags.retain(|k, _| k.starts_with("aws:"));
        return;
    }
    for e in entries {
        if e.key.starts_with("aws:") {
            continue;
        }
        let matches = match (&e.value, tags.get(&e.key)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(want), Some(have)) => want == have,
        };
        if matches {
            tags.remove(&e.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn validation() {
        assert!(validate("Name", "").is_ok());
        assert!(validate("", "x").is_err());
        assert!(validate("aws:cloudformation:stack", "x").is_err());
        assert!(validate(&"k".repeat(128), &"v".repeat(256)).is_ok());
        assert!(validate(&"k".repeat(129), "").is_err());
        assert!(validate("k", &"v".repeat(257)).is_err());
    }

    #[test]
    fn limit_counts_distinct_keys_and_overwrites() {
        let mut t = BTreeMap::new();
        let fifty: Vec<(String, String)> = (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
        apply(&mut t, &fifty).unwrap();
        apply(&mut t, &[("k1".into(), "new".into())]).unwrap();
        assert_eq!(t["k1"], "new");
        assert_eq!(apply(&mut t, &[("k50".into(), "x".into())]), Err(TagError::LimitExceeded));
        assert_eq!(t.len(), 50, "a refused apply changes nothing");
    }

    #[test]
    fn delete_rules() {
        let mut t = map(&[("a", "1"), ("b", ""), ("c", "3")]);
        delete(&mut t, &[Deletion { key: "a".into(), value: Some("2".into()) }]);
        assert!(t.contains_key("a"), "a different value keeps the tag");
        delete(
            &mut t,
            &[Deletion { key: "a".into(), value: None }, Deletion { key: "b".into(), value: Some("".into()) }],
        );
        assert_eq!(t, map(&[("c", "3")]));
        let mut t = map(&[("x", "1"), ("aws:y", "2")]);
        delete(&mut t, &[]);
        assert_eq!(t, map(&[("aws:y", "2")]));
    }
}
