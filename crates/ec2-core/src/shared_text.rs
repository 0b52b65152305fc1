//! [`SharedText`]: a string that many records hold equal (an instance's owner, image, type, zone,
//! VPC, subnet, ...: the same for every instance of a launch), kept once and pointed to.
//!
//! A record keeps an 8-byte pointer instead of a 24-byte [`Text`], and a launch of a thousand
//! instances holds one copy of each such string. Serialized as the plain string, so the stored JSON
//! and the wire are unchanged; derefs to `str` and compares with `str`, `String` and `Text`.
//!
//! Equal strings are found without a table that grows: making a `SharedText` looks the string up in
//! a small per-thread set of the strings made last (a few per hash of the string, the oldest
//! replaced on a miss). A launch makes its instances one after the other, and a store decodes records in ID order
//! (a launch's IDs are consecutive), so the copies that matter are found, and a thread holds at most
//! [`RECENT`] strings beyond the records'.

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Text;

/// A string shared by the records that hold an equal one (see the module's documentation).
#[derive(Clone)]
pub struct SharedText(Arc<Text>);

/// How many strings a thread remembers to share: [`SETS`] sets of [`WAYS`] (a string is looked for
/// in the set its hash names, so the 30-odd strings of a launch rarely push one another out).
pub const RECENT: usize = SETS * WAYS;
const SETS: usize = 64;
const WAYS: usize = 4;

type Set = [Option<Arc<Text>>; WAYS];

thread_local! {
    static LAST: RefCell<[Set; SETS]> = const { RefCell::new([const { [const { None }; WAYS] }; SETS]) };
}

/// The set of `s` among the recent strings (FNV-1a of its bytes).
fn set_of(s: &str) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s.as_bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (hash ^ (hash >> 32)) as usize % SETS
}

impl SharedText {
    /// The string, shared with an equal one made recently on this thread.
    pub fn new(s: &str) -> SharedText {
        LAST.with(|last| {
            let mut last = last.borrow_mut();
            let set = &mut last[set_of(s)];
            if let Some(known) = set.iter().flatten().find(|known| known.as_str() == s) {
                return SharedText(known.clone());
            }
            // The newest first; the oldest of the set is forgotten.
            let made = Arc::new(Text::from(s));
            set.rotate_right(1);
            set[0] = Some(made.clone());
            SharedText(made)
        })
    }

    // Inline across crates: the XML writer reads about twenty of these per instance.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether two values point at one copy (for tests: equality compares the strings).
    pub fn same_copy(a: &SharedText, b: &SharedText) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl Default for SharedText {
    fn default() -> Self {
        SharedText::new("")
    }
}

impl Deref for SharedText {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for SharedText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for SharedText {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for SharedText {
    fn from(s: &str) -> Self {
        SharedText::new(s)
    }
}

impl From<&String> for SharedText {
    fn from(s: &String) -> Self {
        SharedText::new(s)
    }
}

impl From<String> for SharedText {
    fn from(s: String) -> Self {
        SharedText::new(&s)
    }
}

impl From<&Text> for SharedText {
    fn from(s: &Text) -> Self {
        SharedText::new(s)
    }
}

impl From<Text> for SharedText {
    fn from(s: Text) -> Self {
        SharedText::new(&s)
    }
}

impl From<&SharedText> for SharedText {
    fn from(s: &SharedText) -> Self {
        s.clone()
    }
}

impl From<SharedText> for Text {
    fn from(s: SharedText) -> Self {
        Text::from(s.as_str())
    }
}

impl From<&SharedText> for Text {
    fn from(s: &SharedText) -> Self {
        Text::from(s.as_str())
    }
}

impl From<SharedText> for String {
    fn from(s: SharedText) -> Self {
        s.as_str().to_string()
    }
}

impl From<&SharedText> for String {
    fn from(s: &SharedText) -> Self {
        s.as_str().to_string()
    }
}

impl PartialEq for SharedText {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.as_str() == other.as_str()
    }
}

impl Eq for SharedText {}

impl PartialOrd for SharedText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedText {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for SharedText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

macro_rules! eq_with {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for SharedText {
            fn eq(&self, other: &$t) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }
        impl PartialEq<SharedText> for $t {
            fn eq(&self, other: &SharedText) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}

eq_with!(str, &str, String);

/// (`Text` compares with every `AsRef<str>`, a `SharedText` among them.)
impl PartialEq<Text> for SharedText {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SharedText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SharedText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SharedText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SharedText, E> {
                Ok(SharedText::new(s))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_made_one_after_the_other_share_one_copy() {
        let a = SharedText::new("us-east-1a");
        let b = SharedText::from(String::from("us-east-1a"));
        assert!(SharedText::same_copy(&a, &b));
        let c = SharedText::new("us-east-1b");
        assert!(!SharedText::same_copy(&a, &c));
        assert_ne!(a, c);
        assert_eq!(a, b);
    }

    #[test]
    fn many_strings_stay_equal_to_what_they_were_made_from() {
        // More distinct strings than the recent set holds: slots are replaced, values never mixed up.
        let made: Vec<(String, SharedText)> =
            (0..RECENT * 4).map(|n| (format!("value-{n}"), SharedText::new(&format!("value-{n}")))).collect();
        for (s, shared) in &made {
            assert_eq!(shared.as_str(), s);
            assert_eq!(SharedText::new(s), *shared);
        }
    }

    #[test]
    fn the_strings_of_a_launch_are_all_shared() {
        // Thirty strings made in turn, over and over as a launch makes its instances: each is made once.
        let strings: Vec<String> = (0..30).map(|n| format!("launch-string-{n}")).collect();
        let first: Vec<SharedText> = strings.iter().map(|s| SharedText::new(s)).collect();
        for _ in 0..3 {
            for (s, made) in strings.iter().zip(&first) {
                assert!(SharedText::same_copy(&SharedText::new(s), made), "{s}");
            }
        }
    }

    #[test]
    fn a_shared_text_is_a_pointer_and_an_optional_one_too() {
        assert_eq!(std::mem::size_of::<SharedText>(), 8);
        assert_eq!(std::mem::size_of::<Option<SharedText>>(), 8);
    }

    #[test]
    fn serializes_as_the_plain_string_and_compares_as_one() {
        let values = ["", "ami-08f6cfac8c54bafdd", "Primary network interface, a string longer than 24 bytes", "ü\"\\"];
        for v in values {
            let shared = SharedText::new(v);
            let json = serde_json::to_string(&shared).unwrap();
            assert_eq!(json, serde_json::to_string(v).unwrap());
            let back: SharedText = serde_json::from_str(&json).unwrap();
            assert_eq!(back, v);
            assert_eq!(back.as_str(), v);
            assert_eq!(format!("{back}"), v);
            assert_eq!(format!("{back:?}"), format!("{v:?}"));
            let (string, text) = (v.to_string(), Text::from(v));
            assert!(back == *v);
            assert!(*v == back);
            assert!(back == v);
            assert!(back == string);
            assert!(string == back);
            assert!(back == text);
        }
        let escaped: SharedText = serde_json::from_str(r#""a\"b\u00fc""#).unwrap();
        assert_eq!(escaped, "a\"bü");
        assert!(SharedText::new("a") < SharedText::new("b"));
    }
}
