//! Looking at eight bytes at a time: the form reader and the XML escaper (ec2-protocol), the JSON
//! writer (ec2-store) and the SigV4 header parser (ec2-sigv4) skip text that holds none of the bytes
//! they look for a word at a time, rather than byte by byte. One crate, so that the tricks and their
//! tests are written once.

/// The byte 0x01 eight times: `ONES * b` is the byte `b` eight times.
pub const ONES: u64 = u64::from_le_bytes([0x01; 8]);
/// The high bit of each of the eight bytes.
pub const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// The eight bytes of `w` (exactly eight) as a word, the first byte lowest.
#[inline(always)]
pub fn word(w: &[u8]) -> u64 {
    u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])
}

/// The high bit of every byte of `x` that is zero, and perhaps of bytes after a zero one (never
/// before the first): non-zero exactly when a byte is zero.
#[inline(always)]
pub fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The high bit of every byte of `x` below `n` (at most 0x80), and perhaps of bytes after one (never
/// before the first): non-zero exactly when a byte is below `n`.
#[inline(always)]
pub fn bytes_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
}

/// Where `needle` first is in `bytes`, looked for eight bytes at a time.
#[inline]
pub fn find_byte(bytes: &[u8], needle: u8) -> Option<usize> {
    let pattern = ONES * u64::from(needle);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let found = zero_bytes(word(w) ^ pattern);
        if found != 0 {
            // The lowest flagged byte is the first match (a false flag only follows a true one).
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words.remainder().iter().position(|&b| b == needle).map(|n| at + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_tests_find_exactly_the_bytes_they_name() {
        let fills = [0x00, 0x01, 0x27, 0x28, 0x29, 0x7f, 0x80, 0xff];
        for fill in fills {
            for at in 0..8 {
                for b in 0..=255u8 {
                    let mut bytes = [fill; 8];
                    bytes[at] = b;
                    let x = word(&bytes);
                    assert_eq!(zero_bytes(x) != 0, bytes.contains(&0), "{bytes:?}");
                    assert_eq!(bytes_below(x, 0x28) != 0, bytes.iter().any(|&c| c < 0x28), "{bytes:?}");
                    // The lowest flag is the first zero byte.
                    if let Some(first) = bytes.iter().position(|&c| c == 0) {
                        assert_eq!(zero_bytes(x).trailing_zeros() as usize / 8, first, "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_word_search_finds_the_first_byte() {
        for len in 0..=20 {
            for fill in [b'a', b'&' ^ 1, b'=' ^ 0x80, 0] {
                let mut bytes = vec![fill; len];
                assert_eq!(find_byte(&bytes, b'&'), None);
                for first in 0..len {
                    bytes[first] = b'&';
                    for second in first..len {
                        let mut two = bytes.clone();
                        two[second] = b'&';
                        assert_eq!(find_byte(&two, b'&'), Some(first), "{two:?}");
                    }
                    bytes[first] = fill;
                }
            }
        }
    }
}
