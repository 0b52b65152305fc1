//! [`Shared`]: a part of a record that many records hold the same (an instance's attributes, its
//! security groups: the same for every instance of a launch), kept once and pointed to.
//!
//! A record keeps a pointer (8 bytes) instead of the part itself (hundreds of bytes for an
//! instance's attributes), and a launch of a thousand instances holds one copy of it. Reads go through
//! `Deref`; a write through `DerefMut` copies the part first if another record shares it, so sharing
//! never shows: a `Shared<T>` behaves as a `T` held by value. Serialized as the `T` itself, so the
//! stored JSON is unchanged.
//!
//! Equal values are found without a table: making a `Shared` (from a value, or decoding one)
//! compares the value with the last one made of that type on the same thread and reuses it when
//! equal. The instances of a launch are made one after the other, and a store decodes records in ID
//! order (a launch's IDs are consecutive), so that finds the copies that matter and holds nothing
//! beyond one value per type and thread.

use std::cell::RefCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that [`Shared`] keeps once for equal copies: `last` is the one remembered per thread.
pub trait Dedup: Clone + PartialEq + Sized + 'static {
    /// Runs `f` on this thread's last shared value of the type.
    fn with_last<R>(f: impl FnOnce(&RefCell<Option<Arc<Self>>>) -> R) -> R;
}

/// Implements [`Dedup`] for a type, with its own per-thread slot.
#[macro_export]
macro_rules! impl_dedup {
    ($t:ty) => {
        impl $crate::shared::Dedup for $t {
            fn with_last<R>(f: impl FnOnce(&::std::cell::RefCell<Option<::std::sync::Arc<Self>>>) -> R) -> R {
                ::std::thread_local! {
                    static LAST: ::std::cell::RefCell<Option<::std::sync::Arc<$t>>> =
                        const { ::std::cell::RefCell::new(None) };
                }
                LAST.with(f)
            }
        }
    };
}

/// A `T` shared by the records that hold an equal one (see the module's documentation).
pub struct Shared<T>(Arc<T>);

impl<T: Dedup> Shared<T> {
    /// The value, shared with the last equal one made on this thread.
    pub fn new(value: T) -> Shared<T> {
        T::with_last(|last| {
            let mut last = last.borrow_mut();
            if let Some(known) = last.as_ref().filter(|known| ***known == value) {
                return Shared(known.clone());
            }
            let made = Arc::new(value);
            *last = Some(made.clone());
            Shared(made)
        })
    }
}

impl<T: Dedup> From<T> for Shared<T> {
    fn from(value: T) -> Shared<T> {
        Shared::new(value)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A write to a shared value changes this record's copy alone.
impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

/// `for x in &record.part` as over the part itself.
impl<'a, T> IntoIterator for &'a Shared<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        (&*self.0).into_iter()
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Dedup + Default> Default for Shared<T> {
    fn default() -> Self {
        Shared::new(T::default())
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Dedup + Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Shared::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    struct Part {
        name: String,
        n: u32,
    }
    crate::impl_dedup!(Part);

    fn part(name: &str, n: u32) -> Part {
        Part { name: name.into(), n }
    }

    #[test]
    fn equal_values_made_in_a_row_share_one_copy() {
        let a = Shared::new(part("a", 1));
        let b = Shared::new(part("a", 1));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        let c = Shared::new(part("c", 1));
        assert!(!Arc::ptr_eq(&a.0, &c.0));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_write_changes_only_its_own_copy() {
        let a = Shared::new(part("a", 1));
        let mut b = a.clone();
        b.n = 2;
        assert_eq!(a.n, 1);
        assert_eq!(b.n, 2);
        assert_eq!(*b, part("a", 2));
    }

    #[test]
    fn serialized_as_the_value_itself() {
        let a = Shared::new(part("a", 7));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, serde_json::to_string(&part("a", 7)).unwrap());
        let back: Shared<Part> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        // Decoded right after an equal value: the same copy.
        assert!(Arc::ptr_eq(&back.0, &a.0));
        let other: Shared<Part> = serde_json::from_str(r#"{"name":"b","n":1}"#).unwrap();
        assert_eq!(*other, part("b", 1));
    }
}
