//! Query parameters as a tree of dotted names.
//!
//! `Filter.1.Value.2=x` becomes `Filter -> 1 -> Value -> 2 = "x"`. The first letter of every segment
//! is upper-cased, so `bundleId.1` (as some AWS examples write it) and `BundleId.1` are the same name;
//! wire names from the model are always written that way by the generated decoders.

use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Node {
    pub value: Option<String>,
    pub children: BTreeMap<String, Node>,
}

fn normalize(segment: &str) -> String {
    let mut chars = segment.chars();
    match chars.next() {
        Some(first) if first.is_ascii_lowercase() => {
            let mut s = String::with_capacity(segment.len());
            s.push(first.to_ascii_uppercase());
            s.push_str(chars.as_str());
            s
        }
        _ => segment.to_string(),
    }
}

impl Node {
    /// Builds the tree from decoded pairs. A later duplicate of a name replaces an earlier one.
    pub fn from_pairs<I, K, V>(pairs: I) -> Node
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut root = Node::default();
        for (key, value) in pairs {
            let mut node = &mut root;
            for segment in key.as_ref().split('.') {
                node = node.children.entry(normalize(segment)).or_default();
            }
            node.value = Some(value.into());
        }
        root
    }

    /// Parses `application/x-www-form-urlencoded` text (a POST body or a URL query string).
    pub fn parse_form(text: &[u8]) -> Vec<(String, String)> {
        form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.get(name)
    }

    /// The value of a top-level parameter, such as `Action`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.child(name).and_then(|n| n.value.as_deref())
    }

    /// The elements of a list, in index order: `Name.1, Name.2, ...` and `Name.member.1, ...`.
    /// Gaps in the numbering are tolerated. A bare `Name=value` with no index counts as a one-element
    /// list; `Name=` with nothing after it (the generic Query serializer's empty list) as none.
    pub fn items<'a>(&'a self) -> Vec<(u64, &'a Node)> {
        let numbered = |node: &'a Node| node.children.iter().filter_map(|(k, v)| Some((k.parse::<u64>().ok()?, v)));
        let mut items: Vec<(u64, &'a Node)> = numbered(self).collect();
        if let Some(member) = self.children.get("Member") {
            items.extend(numbered(member));
        }
        items.sort_by_key(|(i, _)| *i);
        items
    }

    pub fn is_bare_value(&self) -> bool {
        self.children.is_empty() && self.value.as_deref().is_some_and(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_nested_tree_and_orders_lists_numerically() {
        let n = Node::from_pairs([
            ("Action", "DescribeInstances"),
            ("Filter.10.Name", "j"),
            ("Filter.2.Name", "b"),
            ("Filter.2.Value.1", "x"),
            ("filter.1.Name", "a"),
        ]);
        assert_eq!(n.get("Action"), Some("DescribeInstances"));
        let names: Vec<_> =
            n.child("Filter").unwrap().items().iter().map(|(_, f)| f.get("Name").unwrap().to_string()).collect();
        assert_eq!(names, ["a", "b", "j"]);
    }

    #[test]
    fn accepts_member_form() {
        let n = Node::from_pairs([("InstanceId.member.2", "i-2"), ("InstanceId.member.1", "i-1")]);
        let ids: Vec<_> =
            n.child("InstanceId").unwrap().items().iter().map(|(_, v)| v.value.clone().unwrap()).collect();
        assert_eq!(ids, ["i-1", "i-2"]);
    }

    #[test]
    fn parses_percent_encoding() {
        let pairs = Node::parse_form(b"Action=CreateTags&Tag.1.Value=a%20b%2Bc+d");
        assert_eq!(pairs[1], ("Tag.1.Value".to_string(), "a b+c d".to_string()));
    }
}
