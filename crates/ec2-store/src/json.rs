//! The JSON of stored documents, written byte for byte as `serde_json::to_writer` writes it (compact), but
//! faster where a document spends its time: the escaping of strings. serde_json looks at a string one byte
//! at a time and writes each run between escapes through `io::Write`; here a string is checked eight bytes
//! at a time and copied in one piece when it needs no escape (every key, and nearly every value, of a
//! record). The embedded writer makes every document it writes this way (an instance's document is about
//! 2 KB and 150 strings).
//!
//! What a record's `Serialize` may ask for that this writer does not write itself (byte strings, map keys
//! other than strings, integers and unit variants) is refused with [`Unsupported`], and the caller writes
//! the whole document with serde_json instead ([`to_vec`]): the bytes are serde_json's either way. Numbers
//! are written by serde_json itself.

use serde::ser::{self, Serialize};

/// Appends the compact JSON of `value` to `out`, exactly as `serde_json::to_writer` would.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let start = out.len();
    match value.serialize(Writer { out: &mut *out }) {
        Ok(()) => Ok(()),
        Err(Unsupported) => {
            out.truncate(start);
            serde_json::to_writer(&mut *out, value)
        }
    }
}

/// Something this writer leaves to serde_json (or an error of the record's own `Serialize`, which serde_json
/// then reports as it would have).
#[derive(Debug)]
pub struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// Whether serde_json escapes `b` in a string: the control characters, the quote and the backslash.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

use ec2_words::{HIGHS, ONES};

/// Whether a byte of the eight in `x` needs an escape: one below 0x20 (its high bit clear, and set after
/// subtracting 0x20), or equal to '"' or '\\' (zero after the xor): the classic "has a byte less than n"
/// and "has a zero byte" tests. Exact as a yes or no (a borrow can mark a byte after a true hit, never a
/// word without one).
fn word_needs_escape(x: u64) -> bool {
    let below = x.wrapping_sub(ONES * 0x20) & !x;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    (below | (quote.wrapping_sub(ONES) & !quote) | (backslash.wrapping_sub(ONES) & !backslash)) & HIGHS != 0
}

fn word(bytes: &[u8], at: usize) -> u64 {
    ec2_words::word(&bytes[at..at + 8])
}

fn half_word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

/// Whether any byte of `bytes` needs an escape, looking at eight bytes at a time, the last word overlapping
/// the one before it (and a short string as two overlapping halves): no loop over single bytes, which cost
/// more than the rest for the short strings of a record (ids, names, states, its keys).
fn any_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if word_needs_escape(word(bytes, at)) {
                return true;
            }
            at += 8;
        }
        return word_needs_escape(word(bytes, n - 8));
    }
    if n >= 4 {
        return word_needs_escape(half_word(bytes, 0) | half_word(bytes, n - 4) << 32);
    }
    bytes.iter().any(|b| needs_escape(*b))
}

/// The index of the first byte of `bytes` that needs an escape, if any (for a string that has one).
fn first_escape(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| needs_escape(*b))
}

/// Writes `s` as a JSON string, escaped as serde_json escapes it.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let mut bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    if !any_escape(bytes) {
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    while let Some(i) = first_escape(bytes) {
        out.extend_from_slice(&bytes[..i]);
        let b = bytes[i];
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            }
        }
        bytes = &bytes[i + 1..];
    }
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// A number, written by serde_json (it cannot fail on a number into a `Vec`).
fn number<N: Serialize>(out: &mut Vec<u8>, n: N) -> Result<(), Unsupported> {
    serde_json::to_writer(&mut *out, &n).map_err(|_| Unsupported)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// Where a compound is: as serde_json's `State` (an empty compound was closed when it opened).
#[derive(PartialEq)]
enum State {
    Empty,
    First,
    Rest,
}

/// A sequence or a map being written: `close` ends it (`]` or `}`), and `variant` says that a variant's
/// object (`{"variant":...}`) encloses it.
pub struct Compound<'a> {
    out: &'a mut Vec<u8>,
    state: State,
    close: u8,
    variant: bool,
}

impl<'a> Compound<'a> {
    fn open(out: &'a mut Vec<u8>, open: u8, close: u8, len: Option<usize>, variant: bool) -> Compound<'a> {
        out.push(open);
        let state = if len == Some(0) {
            out.push(close);
            State::Empty
        } else {
            State::First
        };
        Compound { out, state, close, variant }
    }

    fn next(&mut self) {
        if self.state != State::First {
            self.out.push(b',');
        }
        self.state = State::Rest;
    }

    fn end(self) -> Result<(), Unsupported> {
        if self.state != State::Empty {
            self.out.push(self.close);
        }
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.next();
        value.serialize(Writer { out: &mut *self.out })
    }

    fn entry<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Unsupported> {
        self.next();
        write_str(self.out, key);
        self.out.push(b':');
        value.serialize(Writer { out: &mut *self.out })
    }
}

/// `{"variant":` before a newtype, tuple or struct variant's value.
fn open_variant(out: &mut Vec<u8>, variant: &str) {
    out.push(b'{');
    write_str(out, variant);
    out.push(b':');
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        number(self.out, v)
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        open_variant(self.out, variant);
        value.serialize(Writer { out: &mut *self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        Ok(Compound::open(self.out, b'[', b']', len, false))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Unsupported> {
        open_variant(self.out, variant);
        Ok(Compound::open(self.out, b'[', b']', Some(len), true))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        Ok(Compound::open(self.out, b'{', b'}', len, false))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Unsupported> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Unsupported> {
        open_variant(self.out, variant);
        Ok(Compound::open(self.out, b'{', b'}', Some(len), true))
    }
}

/// The sequence-like compounds: each element written as a value after a comma (but the first).
macro_rules! elements {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
                self.element(value)
            }
            fn end(self) -> Result<(), Unsupported> {
                Compound::end(self)
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.next();
        key.serialize(Key { out: &mut *self.out })?;
        self.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(Writer { out: &mut *self.out })
    }
    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
        self.entry(key, value)
    }
    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
        self.entry(key, value)
    }
    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

/// A map's key: a string, a unit variant (its name) or a newtype around one; integers quoted, as serde_json
/// writes them. Anything else is left to serde_json (which writes some and refuses others).
struct Key<'a> {
    out: &'a mut Vec<u8>,
}

impl Key<'_> {
    fn quoted<N: Serialize>(self, n: N) -> Result<(), Unsupported> {
        self.out.push(b'"');
        number(self.out, n)?;
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for Key<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        self.quoted(v)
    }
    fn serialize_bool(self, _: bool) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::json;

    use super::*;

    /// The bytes of `value` from this writer, checked equal to serde_json's.
    fn same<T: Serialize + ?Sized>(value: &T) -> String {
        let mut ours = b"prefix".to_vec();
        to_vec(value, &mut ours).unwrap();
        let theirs = serde_json::to_vec(value).unwrap();
        assert_eq!(String::from_utf8_lossy(&ours[6..]), String::from_utf8_lossy(&theirs));
        String::from_utf8(ours[6..].to_vec()).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them_wherever_the_escape_falls() {
        let specials: Vec<char> =
            (0u8..0x80).map(char::from).chain(['é', '€', '😀', '\u{7f}', '\u{2028}', '\u{fffd}']).collect();
        for len in 0..20 {
            for at in 0..len.max(1) {
                for &c in &specials {
                    let s: String = (0..len).map(|i| if i == at { c } else { 'a' }).collect();
                    same(&s);
                    // Two escapes side by side, and one after a multibyte character.
                    same(&format!("{s}\"{c}é\\"));
                }
            }
        }
        assert_eq!(same("a\"b\\c\u{1}\u{1f}\n\t\r\u{8}\u{c}"), r#""a\"b\\c\u0001\u001f\n\t\r\b\f""#);
    }

    #[test]
    fn any_escape_sees_every_byte_of_every_length() {
        let all: Vec<u8> = (0u8..=255).collect();
        for start in 0..all.len() {
            assert_eq!(any_escape(&all[start..]), start <= usize::from(b'\\'), "{start}");
        }
        // Each byte value at each position of strings of 0 to 40 bytes otherwise clean (and among bytes one off
        // an escaped one, or with the high bit set: a borrow between bytes must neither hide nor invent a hit).
        for len in 0..40 {
            for at in 0..len {
                for b in 0u8..=255 {
                    for fill in [b'a', 0x21, 0xff, 0x5d, 0x1f + 1] {
                        let mut s = vec![fill; len];
                        s[at] = b;
                        assert_eq!(any_escape(&s), needs_escape(b), "{len} {at} {b} among {fill}");
                    }
                }
            }
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u32),
        Tuple(i64, String),
        EmptyTuple(),
        Struct { a: Option<u8>, b: Vec<String> },
        EmptyStruct {},
    }

    #[derive(Serialize)]
    struct Record {
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<String>,
        flag: bool,
        small: i8,
        big: u64,
        negative: i64,
        float: f64,
        nan: f64,
        ch: char,
        unit: (),
        shapes: Vec<Shape>,
        empty: Vec<u8>,
        tuple: (u8, &'static str),
        by_name: BTreeMap<String, u32>,
        by_number: BTreeMap<u64, String>,
        by_variant: BTreeMap<Key2, bool>,
        nested: serde_json::Value,
        #[serde(flatten)]
        flattened: BTreeMap<String, String>,
    }

    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    enum Key2 {
        First,
        Second,
    }

    #[test]
    fn records_are_written_as_serde_json_writes_them() {
        let record = Record {
            id: "i-0123456789abcdef0".into(),
            skipped: None,
            flag: true,
            small: -3,
            big: u64::MAX,
            negative: i64::MIN,
            float: 0.1,
            nan: f64::NAN,
            ch: '"',
            unit: (),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-1, "x\ny".into()),
                Shape::EmptyTuple(),
                Shape::Struct { a: Some(1), b: vec![] },
                Shape::Struct { a: None, b: vec!["q".into(), String::new()] },
                Shape::EmptyStruct {},
            ],
            empty: vec![],
            tuple: (1, "t"),
            by_name: [("a\"b".to_string(), 1), ("c".to_string(), 2)].into(),
            by_number: [(10, "ten".to_string()), (2, "two".to_string())].into(),
            by_variant: [(Key2::Second, false), (Key2::First, true)].into(),
            nested: json!({"a": [1, 2.5, null, {"b": {}}, []], "c": "d", "e": -0.0, "f": 1e300}),
            flattened: [("extra".to_string(), "value".to_string())].into(),
        };
        same(&record);
        same(&Vec::<Shape>::new());
        same(&Some(Shape::EmptyStruct {}));
    }

    #[test]
    fn what_it_does_not_write_is_left_to_serde_json() {
        #[derive(Serialize)]
        struct Bytes<'a> {
            #[serde(with = "serde_bytes_like")]
            raw: &'a [u8],
        }
        mod serde_bytes_like {
            pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(v)
            }
        }
        same(&Bytes { raw: b"\x00\xff" });
        let by_bool: BTreeMap<bool, u8> = [(true, 1)].into();
        same(&by_bool);
        // serde_json's own errors stay its errors.
        let by_seq: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(to_vec(&by_seq, &mut Vec::new()).is_err());
        assert!(serde_json::to_vec(&by_seq).is_err());
    }
}
