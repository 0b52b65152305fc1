//! The SSH wire encoding (RFC 4251 section 5) that OpenSSH keys and PuTTY key files are made of.

/// Appends `string`: a big-endian u32 length, then the bytes.
pub fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Appends `mpint` from a big-endian unsigned magnitude: leading zeros dropped, one zero byte added
/// when the high bit is set so the number stays positive.
pub fn put_mpint(out: &mut Vec<u8>, magnitude_be: &[u8]) {
    let start = magnitude_be.iter().position(|&b| b != 0).unwrap_or(magnitude_be.len());
    let digits = &magnitude_be[start..];
    if digits.first().is_some_and(|&b| b & 0x80 != 0) {
        let mut padded = Vec::with_capacity(digits.len() + 1);
        padded.push(0);
        padded.extend_from_slice(digits);
        put_string(out, &padded);
    } else {
        put_string(out, digits);
    }
}

/// Reads SSH wire fields from a byte slice; every read is bounds-checked.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub fn u32(&mut self) -> Option<u32> {
        if self.rest.len() < 4 {
            return None;
        }
        let (head, tail) = self.rest.split_at(4);
        self.rest = tail;
        Some(u32::from_be_bytes([head[0], head[1], head[2], head[3]]))
    }

    pub fn string(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        if self.rest.len() < len {
            return None;
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Some(head)
    }

    /// An `mpint` that must be positive; returns its magnitude without leading zeros.
    pub fn positive_mpint(&mut self) -> Option<&'a [u8]> {
        let raw = self.string()?;
        if raw.first().is_some_and(|&b| b & 0x80 != 0) {
            return None;
        }
        let start = raw.iter().position(|&b| b != 0).unwrap_or(raw.len());
        Some(&raw[start..])
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpint_encoding_follows_rfc4251_examples() {
        // RFC 4251 section 5: 0 -> 00 00 00 00; 0x80 -> 00 00 00 02 00 80;
        // 0x9a378f9b2e332a7 -> 00 00 00 08 09 a3 78 f9 b2 e3 32 a7.
        let mut out = Vec::new();
        put_mpint(&mut out, &[0, 0]);
        assert_eq!(out, [0, 0, 0, 0]);
        out.clear();
        put_mpint(&mut out, &[0x80]);
        assert_eq!(out, [0, 0, 0, 2, 0, 0x80]);
        out.clear();
        put_mpint(&mut out, &[0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7]);
        assert_eq!(out, [0, 0, 0, 8, 0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7]);
    }

    #[test]
    fn reader_round_trips_and_rejects_truncation() {
        let mut out = Vec::new();
        put_string(&mut out, b"ssh-rsa");
        put_mpint(&mut out, &[0x80, 1]);
        let mut r = Reader::new(&out);
        assert_eq!(r.string(), Some(&b"ssh-rsa"[..]));
        assert_eq!(r.positive_mpint(), Some(&[0x80, 1][..]));
        assert!(r.is_empty());
        let mut short = Reader::new(&out[..6]);
        assert_eq!(short.string(), None);
        let mut negative = Reader::new(&[0, 0, 0, 1, 0x80]);
        assert_eq!(negative.positive_mpint(), None);
    }
}
