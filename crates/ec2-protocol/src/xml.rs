//! A small escaping XML writer, and the runtime of the generated `ToXml` impls.

use ec2_time::UnixMillis;

#[derive(Default)]
pub struct XmlWriter {
    buf: String,
}

/// Escapes text for element content. A carriage return is written as `&#xD;` (a raw one would be
/// read back as a line feed); control characters XML 1.0 cannot carry at all become U+FFFD.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\r' => out.push_str("&#xD;"),
            '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' => out.push('\u{fffd}'),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

impl XmlWriter {
    pub fn with_declaration() -> Self {
        XmlWriter { buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") }
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
        w.text(name, &self.to_string());
    }
}

impl ToXml for f64 {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        w.text(name, &self.to_string());
    }
}

impl ToXml for bool {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        w.text(name, if *self { "true" } else { "false" });
    }
}

impl ToXml for UnixMillis {
    fn write_xml(&self, w: &mut XmlWriter, name: &str) {
        w.text(name, &self.to_iso8601());
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
    }
}
