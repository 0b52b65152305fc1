//! Query parameters as a tree of dotted names.
//!
//! `Filter.1.Value.2=x` becomes `Filter -> 1 -> Value -> 2 = "x"`. The first letter of every segment
//! is upper-cased, so `bundleId.1` (as some AWS examples write it) and `BundleId.1` are the same name;
//! wire names from the model are always written that way by the generated decoders.
//!
//! Requests are parsed before they are authenticated, so [`Node::parse_form_limited`] refuses a
//! request that has too many parameters, or a name too long or too deep, before it allocates the
//! tree; building and dropping a tree are both iterative, so no input can exhaust the stack.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ec2_words::{find_byte, word, zero_bytes, ONES};

/// Bounds on a request's parameters, checked while the form is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Parameters in the query string and the body together.
    pub max_params: usize,
    /// Bytes of one parameter name (after percent-decoding).
    pub max_name_len: usize,
    /// Dotted segments of one name (`Filter.1.Value.2` has 4).
    pub max_depth: usize,
}

impl Limits {
    /// EC2's deepest names have about 8 segments (`LaunchTemplateConfigs.1.Overrides.1.InstanceRequirements.
    /// AcceleratorCount.Min`), its longest are well under 200 bytes, and a request with a thousand
    /// instance IDs and fifty tags per resource stays far below 10,000 parameters.
    pub const DEFAULT: Limits = Limits { max_params: 10_000, max_name_len: 512, max_depth: 32 };
}

/// A request over [`Limits`]: the text says which limit and, truncated, which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError(pub String);

/// At most `max` characters of `text`, with `...` when it was cut: for error messages that echo
/// a caller's input.
pub fn truncate_echo(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    // At most `max` bytes are at most `max` characters: nothing to count (every request's action and
    // path are echoed into its log line this way).
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}...", &text[..cut])),
    }
}

/// A request's parameters as a tree. Names and values borrow the request's text where it needed no
/// decoding (every pair an SDK sends but for a few values), so a small request's tree copies no text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Node<'a> {
    pub value: Option<Cow<'a, str>>,
    pub children: Children<'a>,
}

/// A node's children by name, in name order (bytewise, as `str` orders): a sorted vector while they
/// are few (every node of a small request's tree: building, searching and dropping one costs less
/// than a B-tree's), a B-tree once a node has more than [`Children::FEW`] (a long list's node, whose
/// names a vector would shift on every insertion).
#[derive(Clone)]
pub struct Children<'a>(Repr<'a>);

#[derive(Clone)]
enum Repr<'a> {
    Few(Vec<(Cow<'a, str>, Node<'a>)>),
    Many(BTreeMap<Cow<'a, str>, Node<'a>>),
}

impl Default for Children<'_> {
    fn default() -> Self {
        Children(Repr::Few(Vec::new()))
    }
}

impl<'a> Children<'a> {
    /// The most children kept in a sorted vector.
    pub const FEW: usize = 16;

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Few(v) => v.len(),
            Repr::Many(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, name: &str) -> Option<&Node<'a>> {
        self.get_key_value(name).map(|(_, node)| node)
    }

    pub fn get_key_value(&self, name: &str) -> Option<(&Cow<'a, str>, &Node<'a>)> {
        match &self.0 {
            // Found by equality: most names differ in length, and no bytes are compared.
            Repr::Few(v) => v.iter().find(|(k, _)| k.len() == name.len() && k.as_ref() == name).map(|(k, n)| (k, n)),
            Repr::Many(m) => m.get_key_value(name),
        }
    }

    /// The children in name order.
    pub fn iter(&self) -> ChildIter<'_, 'a> {
        match &self.0 {
            Repr::Few(v) => ChildIter::Few(v.iter()),
            Repr::Many(m) => ChildIter::Many(m.iter()),
        }
    }

    pub fn values(&self) -> impl Iterator<Item = &Node<'a>> {
        self.iter().map(|(_, node)| node)
    }

    /// The child `name`, made empty when there is none.
    fn entry_or_default(&mut self, name: Cow<'a, str>) -> &mut Node<'a> {
        // Found by equality (as `get_key_value` finds it), placed by order.
        let find = |v: &[(Cow<'a, str>, Node<'a>)], name: &str| {
            v.iter().position(|(k, _)| k.len() == name.len() && k.as_ref() == name)
        };
        if let Repr::Few(v) = &mut self.0 {
            if v.len() >= Self::FEW && find(v, &name).is_none() {
                self.0 = Repr::Many(std::mem::take(v).into_iter().collect());
            }
        }
        match &mut self.0 {
            Repr::Few(v) => {
                let i = find(v, &name).unwrap_or_else(|| {
                    if v.capacity() == 0 {
                        // Room for a few names at once, rather than through the vector's growth.
                        *v = Vec::with_capacity(4);
                    }
                    let i = v.partition_point(|(k, _)| k.as_ref() < name.as_ref());
                    v.insert(i, (name, Node::default()));
                    i
                });
                &mut v[i].1
            }
            Repr::Many(m) => m.entry(name).or_default(),
        }
    }

    /// Whether no child has a child with children of its own (for [`Node`]'s drop): looked at in the
    /// vectors directly, as nearly every node keeps its children in one.
    fn at_most_two_deep(&self) -> bool {
        let leaves = |children: &Children<'_>| match &children.0 {
            Repr::Few(v) => v.iter().all(|(_, node)| node.children.is_empty()),
            Repr::Many(m) => m.values().all(|node| node.children.is_empty()),
        };
        match &self.0 {
            Repr::Few(v) => v.iter().all(|(_, node)| leaves(&node.children)),
            Repr::Many(m) => m.values().all(|node| leaves(&node.children)),
        }
    }

    /// Each child's own children, taken out of it (for [`Node`]'s iterative drop).
    fn take_grandchildren(&mut self, into: &mut Vec<Children<'a>>) {
        let mut take = |node: &mut Node<'a>| {
            if !node.children.is_empty() {
                into.push(std::mem::take(&mut node.children));
            }
        };
        match &mut self.0 {
            Repr::Few(v) => v.iter_mut().for_each(|(_, node)| take(node)),
            Repr::Many(m) => m.values_mut().for_each(take),
        }
    }
}

/// [`Children::iter`]'s iterator.
pub enum ChildIter<'c, 'a> {
    Few(std::slice::Iter<'c, (Cow<'a, str>, Node<'a>)>),
    Many(std::collections::btree_map::Iter<'c, Cow<'a, str>, Node<'a>>),
}

impl<'c, 'a> Iterator for ChildIter<'c, 'a> {
    type Item = (&'c Cow<'a, str>, &'c Node<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ChildIter::Few(it) => it.next().map(|(k, v)| (k, v)),
            ChildIter::Many(it) => it.next(),
        }
    }
}

/// Equal when they hold the same names with equal nodes, however each is kept.
impl PartialEq for Children<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Children<'_> {}

impl std::fmt::Debug for Children<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// `segment` with its first letter upper-cased when it is an ASCII lower-case letter (borrowed when
/// there is nothing to change).
fn normalize(segment: &str) -> Cow<'_, str> {
    match segment.as_bytes().first() {
        Some(first) if first.is_ascii_lowercase() => {
            let mut s = String::with_capacity(segment.len());
            s.push(char::from(first.to_ascii_uppercase()));
            s.push_str(&segment[1..]);
            Cow::Owned(s)
        }
        _ => Cow::Borrowed(segment),
    }
}

/// [`normalize`] of a segment of a name the tree does not borrow: always an owned copy.
fn normalize_owned(segment: &str) -> Cow<'static, str> {
    Cow::Owned(normalize(segment).into_owned())
}

impl<'a> Node<'a> {
    /// Builds the tree from decoded pairs. A later duplicate of a name replaces an earlier one.
    pub fn from_pairs<I, K, V>(pairs: I) -> Node<'a>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<Cow<'a, str>>,
        V: Into<Cow<'a, str>>,
    {
        let mut root = Node::default();
        for (key, value) in pairs {
            root.insert(key.into(), value.into());
        }
        root
    }

    /// Adds the pair `key=value` to the tree whose root this is (as [`Node::from_pairs`] adds each pair:
    /// a later duplicate of a name replaces an earlier one).
    pub fn insert(&mut self, key: Cow<'a, str>, value: Cow<'a, str>) {
        let node = match key {
            Cow::Borrowed(key) => {
                segments(key).fold(self, |node, segment| node.children.entry_or_default(normalize(segment)))
            }
            Cow::Owned(key) => {
                segments(&key).fold(self, |node, segment| node.children.entry_or_default(normalize_owned(segment)))
            }
        };
        node.value = Some(value);
    }

    /// Parses `application/x-www-form-urlencoded` text (a POST body or a URL query string).
    pub fn parse_form(text: &[u8]) -> Vec<(String, String)> {
        form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    /// Parses form text into `out`, refusing it as soon as `out` would exceed `limits` (counting
    /// the pairs already there) or a name is too long or too deep.
    pub fn parse_form_limited<'t>(
        text: &'t [u8],
        limits: &Limits,
        out: &mut Vec<(Cow<'t, str>, Cow<'t, str>)>,
    ) -> Result<(), LimitError> {
        let mut count = out.len();
        Node::read_form_limited(text, limits, &mut count, |k, v| out.push((k, v)))
    }

    /// [`Node::parse_form_limited`], handing each pair to `pair` rather than to a vector: `count` is the
    /// number of pairs read before (the query string's, when `text` is the body), counted on.
    pub fn read_form_limited<'t>(
        text: &'t [u8],
        limits: &Limits,
        count: &mut usize,
        pair: impl FnMut(Cow<'t, str>, Cow<'t, str>),
    ) -> Result<(), LimitError> {
        // A POST's empty query string (every SDK's request) has no pairs: no reader is set up for it.
        if text.is_empty() {
            return Ok(());
        }
        // Text with nothing to decode (as a rule) is read by a loop of its own, not through the general
        // reader's chain of iterators.
        match plain_text(text) {
            Some(plain) => push_limited(PlainPairs { text: plain, at: 0 }, limits, count, pair),
            None => push_limited(mixed_pairs(text), limits, count, pair),
        }
    }

    pub fn child(&self, name: &str) -> Option<&Node<'a>> {
        self.children.get(name)
    }

    /// The value of a top-level parameter, such as `Action`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.child(name).and_then(|n| n.value.as_deref())
    }

    /// The elements of a list, in index order: `Name.1, Name.2, ...` and `Name.member.1, ...`.
    /// Gaps in the numbering are tolerated. A bare `Name=value` with no index counts as a one-element
    /// list; `Name=` with nothing after it (the generic Query serializer's empty list) as none.
    pub fn items<'n>(&'n self) -> Vec<(u64, &'n Node<'a>)> {
        let numbered = |node: &'n Node<'a>| node.children.iter().filter_map(|(k, v)| Some((k.parse::<u64>().ok()?, v)));
        let member = self.children.get("Member");
        let mut items = Vec::with_capacity(self.children.len() + member.map_or(0, |m| m.children.len()));
        items.extend(numbered(self));
        if let Some(member) = member {
            items.extend(numbered(member));
        }
        items.sort_by_key(|(i, _)| *i);
        items
    }

    pub fn is_bare_value(&self) -> bool {
        self.children.is_empty() && self.value.as_deref().is_some_and(|v| !v.is_empty())
    }
}

/// `pairs` handed to `pair`, refused as soon as `count` (the pairs handed so far, counted on) would exceed
/// `limits` or a name is too long or too deep.
fn push_limited<'t>(
    pairs: impl Iterator<Item = (Cow<'t, str>, Cow<'t, str>)>,
    limits: &Limits,
    count: &mut usize,
    mut pair: impl FnMut(Cow<'t, str>, Cow<'t, str>),
) -> Result<(), LimitError> {
    for (k, v) in pairs {
        if *count >= limits.max_params {
            return Err(LimitError(format!("The request has more than {} parameters.", limits.max_params)));
        }
        if k.len() > limits.max_name_len {
            return Err(LimitError(format!(
                "The parameter name {} is longer than {} bytes.",
                truncate_echo(&k, 64),
                limits.max_name_len
            )));
        }
        // A name of fewer bytes than the limit cannot hold that many dots: only longer ones are counted.
        if k.len() >= limits.max_depth && k.bytes().filter(|&b| b == b'.').count() + 1 > limits.max_depth {
            return Err(LimitError(format!(
                "The parameter name {} has more than {} dotted segments.",
                truncate_echo(&k, 64),
                limits.max_depth
            )));
        }
        *count += 1;
        pair(k, v);
    }
    Ok(())
}

/// The pairs of form text that has something to decode somewhere, exactly as [`form_urlencoded::parse`]
/// reads them (split at `&`, empty pieces skipped, name and value split at the first `=`, `+` a space,
/// `%XX` decoded, invalid UTF-8 replaced), with a pair that has nothing to decode (every pair an SDK
/// sends but for a few values) borrowed as it is rather than taken through the decoder. Text with
/// nothing to decode anywhere (a small request's whole body, as a rule) is checked once and split as
/// text by [`PlainPairs`] instead ([`Node::read_form_limited`] chooses).
fn mixed_pairs(text: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    text.split(|&b| b == b'&').filter(|piece| !piece.is_empty()).map(|piece| {
        if let Some((name, value)) = plain_pair(piece) {
            return (Cow::Borrowed(name), Cow::Borrowed(value));
        }
        // A piece holds no `&`: the decoder reads it as one pair.
        form_urlencoded::parse(piece).next().unwrap_or((Cow::Borrowed(""), Cow::Borrowed("")))
    })
}

/// The pairs of text with nothing to decode: split at `&` (empty pieces skipped), then at the first
/// `=`, as byte positions (both are ASCII, so every piece is on character boundaries).
struct PlainPairs<'t> {
    text: &'t str,
    /// Where the next piece starts.
    at: usize,
}

impl<'t> Iterator for PlainPairs<'t> {
    type Item = (Cow<'t, str>, Cow<'t, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        while self.at < bytes.len() {
            let start = self.at;
            let end = find_byte(&bytes[start..], b'&').map_or(bytes.len(), |n| start + n);
            self.at = end + 1;
            if end > start {
                let (name, value) = match find_byte(&bytes[start..end], b'=') {
                    Some(n) => (&self.text[start..start + n], &self.text[start + n + 1..end]),
                    None => (&self.text[start..end], ""),
                };
                return Some((Cow::Borrowed(name), Cow::Borrowed(value)));
            }
        }
        None
    }
}

/// The dotted segments of a parameter name, as `name.split('.')` gives them (empty ones included), the
/// dots found eight bytes at a time ([`find_byte`]) rather than through `str::split`'s searcher, whose
/// setup cost more than a short name's search.
fn segments(name: &str) -> Segments<'_> {
    Segments { rest: Some(name) }
}

struct Segments<'n> {
    /// What is left to split; `None` once the last segment was given.
    rest: Option<&'n str>,
}

impl<'n> Iterator for Segments<'n> {
    type Item = &'n str;

    fn next(&mut self) -> Option<&'n str> {
        let rest = self.rest?;
        match find_byte(rest.as_bytes(), b'.') {
            // A dot is ASCII, so both sides are on character boundaries.
            Some(dot) => {
                self.rest = Some(&rest[dot + 1..]);
                Some(&rest[..dot])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// `text` as it is when it has nothing to decode: no `+`, no `%` (looked for eight bytes at a time)
/// and valid UTF-8.
fn plain_text(text: &[u8]) -> Option<&str> {
    let (plus, percent) = (ONES * u64::from(b'+'), ONES * u64::from(b'%'));
    let mut words = text.chunks_exact(8);
    for w in &mut words {
        let x = word(w);
        if zero_bytes(x ^ plus) | zero_bytes(x ^ percent) != 0 {
            return None;
        }
    }
    if words.remainder().iter().any(|&b| b == b'+' || b == b'%') {
        return None;
    }
    std::str::from_utf8(text).ok()
}

/// A piece with nothing to decode (no `+`, no `%`, valid UTF-8), split at its first `=`: the bytes are
/// looked at once for both, rather than once for each.
fn plain_pair(piece: &[u8]) -> Option<(&str, &str)> {
    let mut eq = None;
    for (i, &b) in piece.iter().enumerate() {
        match b {
            b'+' | b'%' => return None,
            b'=' if eq.is_none() => eq = Some(i),
            _ => {}
        }
    }
    let plain = std::str::from_utf8(piece).ok()?;
    // `=` is ASCII: both sides of it are on character boundaries.
    Some(match eq {
        Some(i) => (plain.get(..i)?, plain.get(i + 1..)?),
        None => (plain, ""),
    })
}

/// Dropping is iterative: a tree built from a name nested thousands of levels deep must not
/// overflow the stack on its way out.
impl Drop for Node<'_> {
    fn drop(&mut self) {
        // A tree two levels deep drops without going deeper (most requests' trees are that
        // shallow: `InstanceId.1`): only the maps of grandchildren go on the stack, each emptied of its
        // nodes' own children before it is dropped.
        if self.children.at_most_two_deep() {
            return;
        }
        let mut stack: Vec<Children<'_>> = vec![std::mem::take(&mut self.children)];
        while let Some(mut children) = stack.pop() {
            children.take_grandchildren(&mut stack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name's segments are those `str::split('.')` gives, for names of every length around the
    /// eight-byte words the dots are looked for in, dots anywhere, and text that is not ASCII.
    #[test]
    fn segments_are_what_split_at_dots_gives() {
        let mut names: Vec<String> =
            ["", ".", "..", "a", "a.", ".a", "a..b", "InstanceId.1", "Filter.1.Value.2", "é.ü", "x.\u{1f600}.y"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        for len in 0..26 {
            for dot in 0..len {
                let mut name: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                name[dot] = b'.';
                names.push(String::from_utf8(name.clone()).unwrap());
                name[len - 1 - dot / 2] = b'.';
                names.push(String::from_utf8(name).unwrap());
            }
            names.push("b".repeat(len));
        }
        for name in &names {
            assert_eq!(segments(name).collect::<Vec<_>>(), name.split('.').collect::<Vec<_>>(), "{name:?}");
        }
    }

    #[test]
    fn a_very_deep_name_builds_and_drops_without_recursion() {
        let name = vec!["a"; 200_000].join(".");
        let n = Node::from_pairs([(name.as_str(), "1")]);
        assert!(n.child("A").is_some());
        drop(n);
    }

    #[test]
    fn limits_refuse_before_building_the_tree() {
        let limits = Limits { max_params: 3, max_name_len: 10, max_depth: 3 };
        let mut out = Vec::new();
        assert!(Node::parse_form_limited(b"a=1&b=2&c.d.e=3", &limits, &mut out).is_ok());
        assert_eq!(out.len(), 3);
        let e = Node::parse_form_limited(b"d=4", &limits, &mut out).unwrap_err();
        assert!(e.0.contains("more than 3 parameters"), "{e:?}");
        let mut out = Vec::new();
        let e = Node::parse_form_limited(b"a.b.c.d=1", &limits, &mut out).unwrap_err();
        assert!(e.0.contains("more than 3 dotted segments"), "{e:?}");
        let e = Node::parse_form_limited(b"abcdefghijk=1", &limits, &mut out).unwrap_err();
        assert!(e.0.contains("longer than 10 bytes"), "{e:?}");
        let deep = vec!["a"; 20_000].join(".");
        let e = Node::parse_form_limited(deep.as_bytes(), &Limits::DEFAULT, &mut Vec::new()).unwrap_err();
        assert!(e.0.len() < 200, "{}", e.0.len());
    }

    /// Text with nothing to decode and text with something (a `%` or `+` anywhere) are read by two loops:
    /// both give the decoder's pairs and refuse at the same limits with the same messages.
    #[test]
    fn both_readers_give_the_decoders_pairs_within_the_same_limits() {
        let limits = Limits { max_params: 3, max_name_len: 10, max_depth: 3 };
        for text in [
            "a=1&b=2&c.d.e=3",
            "a=1&b=2&c=3&d=4",
            "a.b.c.d=1",
            "abcdefghijk=1",
            "a.b.c=1&&b=&=x",
            "abcdefghij=1",
            "x=1&x=2",
            "k=v=w&&",
        ] {
            for extra in ["", "&p=%41", "&p=a+b", "&%70=1"] {
                let text = format!("{text}{extra}");
                let mut out = Vec::new();
                let got = Node::parse_form_limited(text.as_bytes(), &limits, &mut out);
                let decoded: Vec<(String, String)> =
                    form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                let refusal = decoded.iter().enumerate().find_map(|(i, (k, _))| {
                    if i >= 3 {
                        Some("The request has more than 3 parameters.".to_string())
                    } else if k.len() > 10 {
                        Some(format!("The parameter name {k} is longer than 10 bytes."))
                    } else if k.split('.').count() > 3 {
                        Some(format!("The parameter name {k} has more than 3 dotted segments."))
                    } else {
                        None
                    }
                });
                match refusal {
                    Some(message) => assert_eq!(got, Err(LimitError(message)), "{text}"),
                    None => {
                        assert_eq!(got, Ok(()), "{text}");
                        let out: Vec<(String, String)> =
                            out.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                        assert_eq!(out, decoded, "{text}");
                    }
                }
            }
        }
    }

    /// The tree built while the query string and the body are read (as the server builds it) is the tree
    /// of the decoder's pairs, for odd inputs: duplicate names (the body's win), empty names and values,
    /// `%` errors, `+`, bytes that are not UTF-8, lower-case first letters, lists with gaps.
    #[test]
    fn the_tree_built_while_reading_is_the_tree_of_the_decoders_pairs() {
        let texts: [&[u8]; 14] = [
            b"",
            b"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1",
            b"InstanceId.1=i-2&instanceId.1=i-3&InstanceId.3=",
            b"a=1&a=2&&a&=x&b==c",
            b"x=%zz%4&y=%E2%82%AC&z=a+b",
            b"bad=\xff\xfe&ok=1&\xc3=\xa9",
            b"Filter.1.Name=tag%3Ak&Filter.1.Value.2=v+w&filter.1.value.1=u",
            b"k=v=w&Tag.member.1.Key=a",
            b"+=+&%2B=%2b",
            b"a.b.c=1&a.b=2&a=3",
            b"...=1&.a=2&a.=3",
            b"caf\xc3\xa9=th\xc3\xa9",
            b"&&&",
            b"Version=2016-11-15&Action=RunInstances&MinCount=1&MaxCount=1&ImageId=ami-1",
        ];
        for query in texts {
            for body in texts {
                let (mut tree, mut count) = (Node::default(), 0);
                let mut pair = |k, v| tree.insert(k, v);
                Node::read_form_limited(query, &Limits::DEFAULT, &mut count, &mut pair).unwrap();
                Node::read_form_limited(body, &Limits::DEFAULT, &mut count, &mut pair).unwrap();
                let pairs: Vec<(String, String)> = form_urlencoded::parse(query)
                    .chain(form_urlencoded::parse(body))
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                assert_eq!(count, pairs.len());
                assert_eq!(
                    tree,
                    Node::from_pairs(pairs),
                    "{:?} {:?}",
                    String::from_utf8_lossy(query),
                    String::from_utf8_lossy(body)
                );
            }
        }
    }

    #[test]
    fn echoes_are_truncated_on_a_character_boundary() {
        assert_eq!(truncate_echo("abc", 3), "abc");
        assert_eq!(truncate_echo("abcd", 3), "abc...");
        assert_eq!(truncate_echo("ééé", 2), "éé...");
        // More bytes than `max`, not more characters.
        assert_eq!(truncate_echo("éé", 2), "éé");
        assert_eq!(truncate_echo("", 0), "");
        assert_eq!(truncate_echo("a", 0), "...");
    }

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
    fn top_level_names_are_normalized_like_dotted_ones() {
        let n = Node::from_pairs([
            ("action".to_string(), "A".to_string()),
            ("Version".to_string(), "V".to_string()),
            ("éx".to_string(), "E".to_string()),
            (String::new(), "empty".to_string()),
            ("dryRun".to_string(), "1".to_string()),
            ("DryRun".to_string(), "2".to_string()),
        ]);
        assert_eq!(
            (n.get("Action"), n.get("Version"), n.get("éx"), n.get("")),
            (Some("A"), Some("V"), Some("E"), Some("empty"))
        );
        assert_eq!(n.get("DryRun"), Some("2"));
        assert_eq!(n.children.len(), 5);
    }

    #[test]
    fn accepts_member_form() {
        let n = Node::from_pairs([("InstanceId.member.2", "i-2"), ("InstanceId.member.1", "i-1")]);
        let ids: Vec<_> =
            n.child("InstanceId").unwrap().items().iter().map(|(_, v)| v.value.clone().unwrap()).collect();
        assert_eq!(ids, ["i-1", "i-2"]);
    }

    #[test]
    fn form_pairs_read_exactly_as_the_decoder_reads_them() {
        // The server's reader, either loop (plain text or not), within limits none of these texts reach.
        let read = |text: &[u8]| -> Vec<(String, String)> {
            let mut pairs = Vec::new();
            Node::parse_form_limited(text, &Limits::DEFAULT, &mut pairs).unwrap();
            pairs.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
        };
        let texts: [&[u8]; 16] = [
            b"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123&InstanceId.2=i-4567&x%",
            b"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123&InstanceId.2=i-4567+",
            b"Action=DescribeInstances&Version=2016-11-15&Instance+Id.1=i-0123&InstanceId.2=i-4567",
            b"Action=DescribeInstances&Version=2016-11-15&Instance%49d.1=i-0123&InstanceId.2=i-4567",
            b"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123",
            b"a=1&&b=2&",
            b"&=&a&=x&b==c",
            b"k=v=w",
            b"Tag.1.Value=a%20b%2Bc+d",
            b"x=%zz%4&y=%E2%82%AC",
            b"bad=\xff\xfe&ok=1",
            b"name%3Dx=1",
            b"caf\xc3\xa9=th\xc3\xa9",
            b"",
            b"&&&",
            b"+=+",
        ];
        for text in texts {
            assert_eq!(
                plain_text(text).is_some(),
                !text.iter().any(|&b| b == b'+' || b == b'%') && std::str::from_utf8(text).is_ok()
            );
            let ours = read(text);
            let theirs: Vec<(String, String)> =
                form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(text));
        }
        let mut raw = b"bad=".to_vec();
        raw.extend_from_slice(&[0xff, 0xfe]);
        let ours = read(&raw);
        let theirs: Vec<_> = form_urlencoded::parse(&raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn a_plain_request_s_tree_borrows_its_text() {
        let text = b"Action=DescribeInstances&InstanceId.1=i-1&filter.1.Name=a%2Fb";
        let mut pairs = Vec::new();
        Node::parse_form_limited(text, &Limits::DEFAULT, &mut pairs).unwrap();
        assert!(matches!(pairs[0], (Cow::Borrowed("Action"), Cow::Borrowed("DescribeInstances"))));
        assert!(matches!(pairs[2].1, Cow::Owned(_)), "a decoded value is a copy");
        let n = Node::from_pairs(pairs);
        let borrowed = |c: &Cow<'_, str>| matches!(c, Cow::Borrowed(_));
        let (action, node) = n.children.get_key_value("Action").unwrap();
        assert!(borrowed(action) && borrowed(node.value.as_ref().unwrap()));
        let (ids, ids_node) = n.children.get_key_value("InstanceId").unwrap();
        let (one, item) = ids_node.children.get_key_value("1").unwrap();
        assert!(borrowed(ids) && borrowed(one) && borrowed(item.value.as_ref().unwrap()));
        // A lower-case segment is upper-cased into a copy.
        let (filter, _) = n.children.get_key_value("Filter").unwrap();
        assert!(!borrowed(filter));
        assert_eq!(n.child("Filter").and_then(|f| f.child("1")).and_then(|f| f.get("Name")), Some("a/b"));
        // A name that needed decoding is copied segment by segment, the same tree as a plain one's.
        let decoded = Node::from_pairs([(String::from("InstanceId.1"), String::from("i-1"))]);
        assert_eq!(decoded.child("InstanceId"), n.child("InstanceId"));
    }

    #[test]
    fn a_tree_of_any_shape_drops() {
        let n = Node::from_pairs([("A", "1"), ("B.1", "2"), ("B.2.C.3", "3"), ("D.1.E", "4"), ("F", "5")]);
        assert_eq!(
            n.child("B").and_then(|b| b.child("2")).and_then(|c| c.child("C")).map(|c| c.children.len()),
            Some(1)
        );
        drop(n);
        drop(Node::from_pairs([("A", "1"), ("B", "2")]));
        drop(Node::default());
    }

    #[test]
    fn children_past_the_few_read_as_a_map_reads_them() {
        // Names in an order that is neither bytewise nor numeric, duplicates included, on both sides of
        // the switch from the sorted vector to the B-tree.
        for count in [1, Children::FEW - 1, Children::FEW, Children::FEW + 1, 3 * Children::FEW] {
            let names: Vec<String> =
                (0..count).rev().chain(0..count).map(|i| format!("{}", (i * 7) % count + 1)).collect();
            let pairs: Vec<(String, String)> =
                names.iter().enumerate().map(|(k, n)| (format!("Id.{n}"), k.to_string())).collect();
            let n = Node::from_pairs(pairs.clone());
            let mut expected = BTreeMap::new();
            for (name, value) in &pairs {
                expected.insert(name.trim_start_matches("Id.").to_string(), value.clone());
            }
            let ids = n.child("Id").unwrap();
            assert_eq!(ids.children.len(), expected.len());
            let got: Vec<(String, String)> =
                ids.children.iter().map(|(k, v)| (k.to_string(), v.value.clone().unwrap().into_owned())).collect();
            assert_eq!(got, expected.clone().into_iter().collect::<Vec<_>>(), "{count}");
            for (name, value) in &expected {
                assert_eq!(ids.get(name), Some(value.as_str()));
            }
            assert_eq!(ids.get("0"), None);
            let items: Vec<u64> = ids.items().iter().map(|(i, _)| *i).collect();
            assert_eq!(items, (1..=expected.len() as u64).collect::<Vec<_>>());
            // The same children equal whichever way each tree keeps them.
            let sorted = Node::from_pairs(expected.iter().map(|(k, v)| (format!("Id.{k}"), v.clone())));
            assert_eq!(sorted, n);
        }
    }

    #[test]
    fn parses_percent_encoding() {
        let pairs = Node::parse_form(b"Action=CreateTags&Tag.1.Value=a%20b%2Bc+d");
        assert_eq!(pairs[1], ("Tag.1.Value".to_string(), "a b+c d".to_string()));
    }
}
