//! A small escaping XML writer, and the runtime of the generated `ToXml` impls.

use ec2_time::UnixMillis;
use ec2_words::{bytes_below, word, zero_bytes, ONES};

#[derive(Default)]
pub struct XmlWriter {
    buf: String,
}

/// A value written more than once (an instance's addresses and DNS names, its subnet, ...): searched
/// for the characters escaping replaces once, then copied as it is wherever it is written if it holds
/// none ([`XmlWriter::repeated`]).
#[derive(Clone, Copy)]
pub struct Repeated<'a> {
    text: &'a str,
    plain: bool,
}

impl<'a> Repeated<'a> {
    #[inline]
    pub fn new(text: &'a str) -> Repeated<'a> {
        Repeated { text, plain: first_special(text.as_bytes()).is_none() }
    }
}

/// Escapes text for element content. A carriage return is written as `&#xD;` (a raw one would be
/// read back as a line feed); control characters XML 1.0 cannot carry at all become U+FFFD. Runs of
/// characters that need nothing are copied whole.
#[inline(always)]
pub fn escape_into(out: &mut String, text: &str) {
    // Most values need nothing: they are found so eight bytes at a time, and copied whole.
    match first_special(text.as_bytes()) {
        None => out.push_str(text),
        Some(first) => escape_from(out, text, first),
    }
}

/// [`escape_into`] of a text whose first byte to replace is at `first`.
#[inline(never)]
fn escape_from(out: &mut String, text: &str, first: usize) {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut next = Some(first);
    // Runs of plain bytes are found through one table lookup per byte, and copied whole.
    while let Some(i) = next {
        let replacement = match bytes[i] {
            b'\r' => "&#xD;",
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            _ => "\u{fffd}",
        };
        // Every byte marked special is ASCII, so `i` is a character boundary.
        out.push_str(&text[start..i]);
        out.push_str(replacement);
        start = i + 1;
        next = bytes[start..].iter().position(|&b| SPECIAL[usize::from(b)]).map(|offset| start + offset);
    }
    out.push_str(&text[start..]);
}

/// The first byte [`escape_into`] replaces, if any. Words of eight bytes with none of them are
/// skipped whole, and so are the last bytes after them, read as the text's last eight; a text shorter
/// than a word is tested as one word ([`short_word`]), one of up to sixteen bytes as its first and last
/// eight (a word that may hold one is searched byte by byte through the table).
#[inline(always)]
fn first_special(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 8 {
        if bytes.is_empty() || !may_hold_special(short_word(bytes)) {
            return None;
        }
        return bytes.iter().position(|&b| SPECIAL[usize::from(b)]);
    }
    if bytes.len() <= 16 {
        // Its first eight bytes and its last eight (which overlap), tested together.
        let last = bytes.len() - 8;
        if !may_hold_special_either(word(&bytes[..8]), word(&bytes[last..])) {
            return None;
        }
        return bytes.iter().position(|&b| SPECIAL[usize::from(b)]);
    }
    let mut at = 0;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        if may_hold_special(word(w)) {
            break;
        }
        at += 8;
    }
    let rest = bytes.len() - at;
    // Every whole word was clear: the bytes left over are clear when the last eight are.
    if rest > 0 && rest < 8 && at >= 8 && !may_hold_special(word(&bytes[bytes.len() - 8..])) {
        return None;
    }
    bytes[at..].iter().position(|&b| SPECIAL[usize::from(b)]).map(|offset| at + offset)
}

/// The bytes of a text of one to seven bytes as one word holding each of them (some twice) and no
/// other byte but `a`: from four bytes up its first four and its last four, which overlap; below, its
/// first, middle and last byte (every byte of a text of three or fewer).
#[inline(always)]
fn short_word(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    if len >= 4 {
        let first = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let last = u32::from_le_bytes([bytes[len - 4], bytes[len - 3], bytes[len - 2], bytes[len - 1]]);
        u64::from(first) | (u64::from(last) << 32)
    } else {
        u64::from_le_bytes([bytes[0], bytes[len / 2], bytes[len - 1], b'a', b'a', b'a', b'a', b'a'])
    }
}

/// Whether the eight bytes of `x` may hold one that [`escape_into`] replaces (never false when one
/// does; when it says so, the bytes are searched one by one).
#[inline(always)]
fn may_hold_special(x: u64) -> bool {
    // A byte below 0x28 (the controls, '"', '&', '\'' and a few harmless ones) ...
    let low = bytes_below(x, 0x28);
    // ... or '<' or '>' (0x3c and 0x3e: with bit 1 set, exactly these are 0x3e).
    let angle = zero_bytes((x | (ONES * 0x02)) ^ (ONES * 0x3e));
    low | angle != 0
}

/// Whether `x` or `y` may hold a byte [`escape_into`] replaces: [`may_hold_special`] of both, without
/// a branch between them.
#[inline(always)]
fn may_hold_special_either(x: u64, y: u64) -> bool {
    let low = bytes_below(x, 0x28) | bytes_below(y, 0x28);
    let angle = zero_bytes((x | (ONES * 0x02)) ^ (ONES * 0x3e)) | zero_bytes((y | (ONES * 0x02)) ^ (ONES * 0x3e));
    low | angle != 0
}

/// The bytes [`escape_into`] replaces: markup characters and the control characters but tab and line
/// feed.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != 0x09 && b != 0x0a;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t
};

impl XmlWriter {
    /// A writer that writes into `buffer`, emptied first (its room kept).
    pub fn with_buffer(mut buffer: String) -> Self {
        buffer.clear();
        XmlWriter { buf: buffer }
    }
    pub fn with_declaration() -> Self {
        let mut w = XmlWriter::default();
        w.declaration();
        w
    }
    /// `<?xml version="1.0" encoding="UTF-8"?>` and a line feed.
    pub fn declaration(&mut self) {
        self.buf.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    /// `<{action}Response xmlns="..">`.
    pub fn open_response_root(&mut self, action: &str, xmlns: &str) {
        self.buf.push('<');
        self.buf.push_str(action);
        self.buf.push_str("Response xmlns=\"");
        escape_into(&mut self.buf, xmlns);
        self.buf.push_str("\">");
    }
    /// `</{action}Response>`.
    pub fn close_response_root(&mut self, action: &str) {
        self.buf.push_str("</");
        self.buf.push_str(action);
        self.buf.push_str("Response>");
    }
    pub fn open(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
    }
    pub fn open_with_xmlns(&mut self, name: &str, xmlns: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(" xmlns=\"");
        escape_into(&mut self.buf, xmlns);
        self.buf.push_str("\">");
    }
    pub fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }
    pub fn empty(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str("/>");
    }
    pub fn text(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(&mut self.buf, text);
        self.close(name);
    }
    /// Markup written as it is: tags and constant element content, known when the program is built
    /// (so no value of a record or a request can reach it unescaped). Lets a hand-written encoder
    /// write a run of tags in one copy.
    #[inline]
    pub fn markup(&mut self, markup: &'static str) {
        self.buf.push_str(markup);
    }
    /// Element content: `text`, escaped as [`XmlWriter::text`] escapes it, without its tags.
    #[inline]
    pub fn escaped(&mut self, text: &str) {
        escape_into(&mut self.buf, text);
    }
    /// Element content: `value`'s text, escaped as [`XmlWriter::escaped`] escapes it. Inline always:
    /// left as a call, it cost more than the search it saves.
    #[inline(always)]
    pub fn repeated(&mut self, value: Repeated<'_>) {
        if value.plain {
            self.buf.push_str(value.text);
        } else {
            self.escaped_out_of_line(value.text);
        }
    }
    #[inline(never)]
    fn escaped_out_of_line(&mut self, text: &str) {
        escape_into(&mut self.buf, text);
    }
    /// Element content: `b` as [`XmlWriter::boolean`] writes it, without its tags.
    #[inline]
    pub fn boolean_value(&mut self, b: bool) {
        self.buf.push_str(if b { "true" } else { "false" });
    }
    /// Element content: `t` as [`XmlWriter::timestamp`] writes it, without its tags.
    #[inline]
    pub fn timestamp_value(&mut self, t: UnixMillis) {
        ec2_time::write_iso8601(&mut self.buf, t);
    }
    /// `<name>` followed by the decimal digits of `n` and `</name>`, without an intermediate string.
    pub fn integer(&mut self, name: &str, n: i64) {
        self.open(name);
        self.integer_value(n);
        self.close(name);
    }
    /// Element content: `n` as [`XmlWriter::integer`] writes it, without its tags.
    #[inline]
    pub fn integer_value(&mut self, n: i64) {
        if n < 0 {
            self.buf.push('-');
        }
        push_decimal(&mut self.buf, n.unsigned_abs());
    }
    /// `<name>true</name>` or `<name>false</name>`, as `bool`'s [`ToXml`] writes it.
    pub fn boolean(&mut self, name: &str, b: bool) {
        self.open(name);
        self.boolean_value(b);
        self.close(name);
    }
    /// `<name></name>`: an empty string's element, as [`XmlWriter::text`] writes it.
    pub fn empty_text(&mut self, name: &str) {
        self.open(name);
        self.close(name);
    }
    /// `<name>` with the ISO 8601 form of `t`, without an intermediate string.
    pub fn timestamp(&mut self, name: &str, t: UnixMillis) {
        self.open(name);
        self.timestamp_value(t);
        self.close(name);
    }
    /// Reserves room for `additional` more bytes.
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }
    /// The bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Takes what was written so far, leaving the writer empty with room for `capacity` bytes: for an
    /// answer sent in pieces while it is written.
    pub fn take(&mut self, capacity: usize) -> String {
        std::mem::replace(&mut self.buf, String::with_capacity(capacity))
    }
    pub fn finish(self) -> String {
        self.buf
    }
}

/// A value that writes itself as the element `name`.
pub trait ToXml {
    fn write_xml(&self, w: &mut XmlWriter, name: &str);
}

impl ToXml for String {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        w.text(name, self);
    }
}

impl ToXml for i64 {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        w.integer(name, *self);
    }
}

impl ToXml for f64 {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        w.text(name, &self.to_string());
    }
}

impl ToXml for bool {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        w.boolean(name, *self);
    }
}

impl ToXml for UnixMillis {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        w.timestamp(name, *self);
    }
}

impl<T: ToXml> ToXml for Box<T> {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        (**self).write_xml(w, name);
    }
}

impl<T: ToXml> ToXml for Vec<T> {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        write_list(w, name, "item", self);
    }
}

/// `<name><item>..</item>...</name>`, or `<name/>` when empty.
pub fn write_list<T: ToXml>(w: &mut XmlWriter, name: &str, item: &str, items: &[T]) {
    if items.is_empty() {
        w.empty(name);
        return;
    }
    w.open(name);
    for v in items {
        v.write_xml(w, item);
    }
    w.close(name);
}

/// Appends the decimal digits of `n` to `out`, without `format!`'s machinery (the XML writer's
/// numbers and the decoder's list paths).
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    // Most numbers written are below 100 (counts, codes, indexes): their digits go in directly.
    if n < 10 {
        out.push(char::from(b'0' + n as u8));
        return;
    }
    if n < 100 {
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
        return;
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_writes_lists() {
        let mut w = XmlWriter::default();
        write_list(&mut w, "set", "item", &["a<b".to_string(), "c&d".to_string()]);
        write_list::<String>(&mut w, "empty", "item", &[]);
        assert_eq!(w.finish(), "<set><item>a&lt;b</item><item>c&amp;d</item></set><empty/>");
        let mut s = String::new();
        escape_into(&mut s, "a\r\nb\u{1}\t");
        assert_eq!(s, "a&#xD;\nb\u{fffd}\t");
        let mut s = String::new();
        escape_into(&mut s, "é<\u{1f}>ü\"'&plain\u{7f}€");
        assert_eq!(s, "é&lt;\u{fffd}&gt;ü&quot;&apos;&amp;plain\u{7f}€");
    }

    #[test]
    fn every_ascii_character_is_escaped_as_one_at_a_time() {
        let reference = |c: char| match c {
            '\r' => "&#xD;".to_string(),
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            '\t' | '\n' => c.to_string(),
            c if (c as u32) < 0x20 => "\u{fffd}".to_string(),
            c => c.to_string(),
        };
        let all: String = (0u8..0x80).map(char::from).chain("é€😀".chars()).collect();
        let mut s = String::new();
        escape_into(&mut s, &all);
        assert_eq!(s, all.chars().map(reference).collect::<String>());
        let mut w = XmlWriter::default();
        w.boolean("a", true);
        false.write_xml(&mut w, "b");
        w.empty_text("c");
        assert_eq!(w.take(0), "<a>true</a><b>false</b><c></c>");
        assert!(w.is_empty());
    }

    #[test]
    fn the_word_search_finds_what_the_byte_table_finds() {
        let by_table = |bytes: &[u8]| bytes.iter().position(|&b| SPECIAL[usize::from(b)]);
        // Every byte value at every place of words around it made of every other byte value.
        for fill in 0..=255u8 {
            let plain = [fill; 19];
            assert_eq!(first_special(&plain), by_table(&plain), "fill {fill:#x}");
            for b in 0..=255u8 {
                for at in [0, 3, 7, 8, 12, 15, 16, 18] {
                    let mut bytes = plain;
                    bytes[at] = b;
                    assert_eq!(first_special(&bytes), by_table(&bytes), "fill {fill:#x} byte {b:#x} at {at}");
                }
            }
        }
        // Texts of every length up to 24 (the bytes after the last whole word are read as the last
        // eight), with every byte value at every place.
        for fill in [b'a', b'-', 0x27, 0x28, 0x3b, 0x3d, 0x3f, 0x80, 0xff] {
            for len in 0..=24 {
                let plain = vec![fill; len];
                assert_eq!(first_special(&plain), by_table(&plain), "fill {fill:#x} len {len}");
                for b in 0..=255u8 {
                    for at in 0..len {
                        let mut bytes = plain.clone();
                        bytes[at] = b;
                        assert_eq!(
                            first_special(&bytes),
                            by_table(&bytes),
                            "fill {fill:#x} byte {b:#x} at {at} of {len}"
                        );
                    }
                }
            }
        }
    }

    /// Texts of every length up to 40 drawn from a few characters (markup, controls, tab and line
    /// feed, plain ASCII, two- three- and four-byte characters), escaped as one character at a time
    /// escapes them: what any text's escaping wrote before the words were read in any way.
    #[test]
    fn any_text_is_escaped_as_one_character_at_a_time() {
        let reference = |text: &str| {
            let mut out = String::new();
            for c in text.chars() {
                match c {
                    '\r' => out.push_str("&#xD;"),
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&apos;"),
                    '\t' | '\n' => out.push(c),
                    c if (c as u32) < 0x20 => out.push('\u{fffd}'),
                    c => out.push(c),
                }
            }
            out
        };
        let alphabet = [
            'a', 'Z', '0', '-', '.', '/', ':', ' ', '<', '>', '&', '"', '\'', '\r', '\n', '\t', '\u{0}', '\u{1f}',
            '\u{7f}', 'é', '€', '😀', '(', '=', '?', '~',
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 41) as usize;
            // Mostly plain text, as records hold, with a special character now and then.
            let mut pick = state;
            let text: String = (0..len)
                .map(|_| {
                    pick = pick.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    let r = (pick >> 33) as usize;
                    if r.is_multiple_of(4) {
                        alphabet[r / 4 % alphabet.len()]
                    } else {
                        alphabet[r % 6]
                    }
                })
                .collect();
            let mut out = String::new();
            escape_into(&mut out, &text);
            assert_eq!(out, reference(&text), "{text:?}");
            let mut w = XmlWriter::default();
            let value = Repeated::new(&text);
            w.repeated(value);
            w.repeated(value);
            assert_eq!(w.finish(), out.repeat(2), "{text:?}");
        }
    }

    #[test]
    fn values_are_written_as_their_elements_write_them() {
        let mut tagged = XmlWriter::default();
        tagged.text("a", "x<y & 'z'\r");
        tagged.boolean("b", false);
        tagged.integer("c", -17);
        tagged.timestamp("d", UnixMillis(1_700_000_000_123));
        let mut parts = XmlWriter::default();
        parts.markup("<a>");
        parts.escaped("x<y & 'z'\r");
        parts.markup("</a><b>");
        parts.boolean_value(false);
        parts.markup("</b><c>");
        parts.integer_value(-17);
        parts.markup("</c><d>");
        parts.timestamp_value(UnixMillis(1_700_000_000_123));
        parts.markup("</d>");
        assert_eq!(parts.finish(), tagged.finish());
    }

    #[test]
    fn numbers_and_times_are_written_in_place() {
        let mut w = XmlWriter::default();
        (-42i64).write_xml(&mut w, "n");
        i64::MAX.write_xml(&mut w, "m");
        for n in [0, 7, -1, 9, 10, 42, 99, 100, -99, -100, 999, 1_000_000, i64::MIN] {
            let mut v = XmlWriter::default();
            n.write_xml(&mut v, "i");
            assert_eq!(v.finish(), format!("<i>{n}</i>"));
        }
        UnixMillis(1_700_000_000_123).write_xml(&mut w, "t");
        assert_eq!(w.finish(), "<n>-42</n><m>9223372036854775807</m><t>2023-11-14T22:13:20.123Z</t>");
    }
}
