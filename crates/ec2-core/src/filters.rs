//! The one filter engine for every `Describe*` call.
//!
//! Semantics (EC2's `Filter` shape): filter names and values are case-sensitive; the values of one
//! filter are OR-ed; different filters are AND-ed; `*` matches any run of characters and `?` exactly
//! one, `\` escapes either. `tag:<key>` matches the value of tag `key`, `tag-key` any tag's key,
//! `tag-value` any tag's value. A name the resource's table does not know is an error.
//!
//! Each resource family declares a [`FilterTable`]: filter name -> a function that lists the
//! record's values for that filter.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

impl Filter {
    pub fn new(name: &str, values: &[&str]) -> Self {
        Filter { name: name.to_string(), values: values.iter().map(|v| v.to_string()).collect() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    UnknownFilter(String),
}

pub type Accessor<T> = fn(&T) -> Vec<String>;
/// A record's tags.
pub type TagsOf<T> = fn(&T) -> &BTreeMap<String, String>;

pub struct FilterTable<T: 'static> {
    pub entries: &'static [(&'static str, Accessor<T>)],
    /// The record's tags, for `tag:<key>`, `tag-key` and `tag-value`; `None` for untaggable records.
    pub tags: Option<TagsOf<T>>,
}

/// `*`/`?` wildcard matching with `\` escapes, over characters.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        Any,
        One,
    }
    let mut toks = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            '*' => Tok::Any,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with one backtrack point (the last `*`): linear in practice.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Any)
}

fn any_match(values: &[String], candidates: impl IntoIterator<Item = impl AsRef<str>>) -> bool {
    candidates.into_iter().any(|c| values.iter().any(|v| wildcard_match(v, c.as_ref())))
}

impl<T> FilterTable<T> {
    /// Checks every filter name before anything is matched.
    pub fn validate(&self, filters: &[Filter]) -> Result<(), FilterError> {
        for f in filters {
            let tag_filter =
                self.tags.is_some() && (f.name == "tag-key" || f.name == "tag-value" || f.name.starts_with("tag:"));
            if !tag_filter && !self.entries.iter().any(|(n, _)| *n == f.name) {
                return Err(FilterError::UnknownFilter(f.name.clone()));
            }
        }
        Ok(())
    }

    /// Whether `record` passes every filter. Call [`FilterTable::validate`] first: an unknown name
    /// matches nothing here.
    pub fn matches(&self, record: &T, filters: &[Filter]) -> bool {
        filters.iter().all(|f| self.matches_one(record, f))
    }

    fn matches_one(&self, record: &T, f: &Filter) -> bool {
        if let Some(tags) = self.tags {
            let tags = tags(record);
            if f.name == "tag-key" {
                return any_match(&f.values, tags.keys());
            }
            if f.name == "tag-value" {
                return any_match(&f.values, tags.values());
            }
            if let Some(key) = f.name.strip_prefix("tag:") {
                return any_match(&f.values, tags.get(key));
            }
        }
        match self.entries.iter().find(|(n, _)| *n == f.name) {
            Some((_, get)) => any_match(&f.values, get(record)),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("us-*", "us-east-1"));
        assert!(wildcard_match("us-east-?", "us-east-1"));
        assert!(!wildcard_match("us-east-?", "us-east-12"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("\\*", "*"));
        assert!(!wildcard_match("\\*", "x"));
        assert!(!wildcard_match("US-*", "us-east-1"), "values are case-sensitive");
        assert!(wildcard_match("*-1", "eu-west-1"));
    }

    struct Rec {
        name: &'static str,
        tags: BTreeMap<String, String>,
    }
    static TABLE: FilterTable<Rec> =
        FilterTable { entries: &[("name", |r: &Rec| vec![r.name.to_string()])], tags: Some(|r: &Rec| &r.tags) };

    #[test]
    fn and_across_filters_or_across_values() {
        let mut tags = BTreeMap::new();
        tags.insert("env".to_string(), "prod".to_string());
        let r = Rec { name: "web-1", tags };
        assert!(TABLE.matches(&r, &[Filter::new("name", &["db-*", "web-*"])]));
        assert!(TABLE.matches(&r, &[Filter::new("name", &["web-*"]), Filter::new("tag:env", &["prod"])]));
        assert!(!TABLE.matches(&r, &[Filter::new("name", &["web-*"]), Filter::new("tag:env", &["dev"])]));
        assert!(TABLE.matches(&r, &[Filter::new("tag-key", &["e*"])]));
        assert!(TABLE.matches(&r, &[Filter::new("tag-value", &["pr?d"])]));
        assert!(!TABLE.matches(&r, &[Filter::new("tag:missing", &["*"])]));
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert_eq!(TABLE.validate(&[Filter::new("nmae", &["x"])]), Err(FilterError::UnknownFilter("nmae".into())));
        assert_eq!(TABLE.validate(&[Filter::new("tag:anything", &["x"])]), Ok(()));
    }
}
