//! UTC time as milliseconds since the Unix epoch, and its ISO 8601 text forms.
//!
//! This crate is the one place that knows the calendar. It reads no clock: callers pass instants in.
//! Both the wire layer (`ec2-protocol`, which parses request timestamps and writes response ones) and
//! the domain core (`ec2-core`, whose filters match `launch-time` and friends as text) use it, which is
//! why it is a crate of its own rather than a module of either.

use std::fmt;

/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct UnixMillis(pub i64);

pub const MILLIS_PER_SECOND: i64 = 1_000;
pub const MILLIS_PER_DAY: i64 = 86_400_000;

impl UnixMillis {
    pub fn plus_seconds(self, seconds: i64) -> UnixMillis {
        UnixMillis(self.0.saturating_add(seconds.saturating_mul(MILLIS_PER_SECOND)))
    }
    pub fn plus_millis(self, millis: i64) -> UnixMillis {
        UnixMillis(self.0.saturating_add(millis))
    }
    /// `2008-10-07T11:41:50.000Z`: the form EC2 writes in responses.
    pub fn to_iso8601(self) -> String {
        let mut s = String::with_capacity(24);
        write_iso8601(&mut s, self);
        s
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso8601())
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01: (year, month 1..=12, day 1..=31).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The days of `month` (1 to 12) of `year` of the proleptic Gregorian calendar.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Appends `YYYY-MM-DDTHH:MM:SS.mmmZ`. The instants of one answer repeat (an instance's launch time is
/// written three times and its volumes' attach time once more, and the instances of one launch share
/// both): the thread's last two renderings are copied when the instant is one of theirs.
pub fn write_iso8601(out: &mut String, t: UnixMillis) {
    thread_local! {
        static LAST: std::cell::RefCell<Rendered> = const {
            std::cell::RefCell::new(Rendered { at: [None; 2], text: [String::new(), String::new()] })
        };
    }
    let written = LAST.try_with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else { return false };
        if last.at[0] == Some(t.0) {
            out.push_str(&last.text[0]);
            return true;
        }
        if last.at[1] != Some(t.0) {
            // The older rendering gives way; a year outside 0 to 9999 is written without it.
            let Some(text) = render_iso8601(t) else {
                write_iso8601_formatted(out, t);
                return true;
            };
            last.at[1] = Some(t.0);
            last.text[1].clear();
            last.text[1].push_str(std::str::from_utf8(&text).unwrap_or_default());
        }
        last.at.swap(0, 1);
        last.text.swap(0, 1);
        out.push_str(&last.text[0]);
        true
    });
    if written != Ok(true) {
        match render_iso8601(t) {
            Some(text) => out.push_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => write_iso8601_formatted(out, t),
        }
    }
}

/// [`write_iso8601`]'s last two instants of a thread and their renderings, the latest first.
struct Rendered {
    at: [Option<i64>; 2],
    text: [String; 2],
}

/// An instant's year, month, day, hour, minute, second and millisecond (UTC).
fn calendar_fields(t: UnixMillis) -> (i64, u32, u32, u32, u32, u32, u32) {
    let (y, mo, d) = civil_from_days(t.0.div_euclid(MILLIS_PER_DAY));
    // Below 86,400,000: fits a u32.
    let in_day = t.0.rem_euclid(MILLIS_PER_DAY) as u32;
    let secs = in_day / 1000;
    (y, mo, d, secs / 3600, (secs / 60) % 60, secs % 60, in_day % 1000)
}

/// The 24 bytes of `YYYY-MM-DDTHH:MM:SS.mmmZ`, for a year from 0 to 9999.
fn render_iso8601(t: UnixMillis) -> Option<[u8; 24]> {
    let (y, mo, d, h, mi, s, ms) = calendar_fields(t);
    let year = u32::try_from(y).ok().filter(|y| *y <= 9999)?;
    // Every field has a fixed width: the digits go in place, without the formatting machinery.
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let fields = [(0, 4, year), (5, 2, mo), (8, 2, d), (11, 2, h), (14, 2, mi), (17, 2, s), (20, 3, ms)];
    for (at, width, mut n) in fields {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    Some(text)
}

/// [`write_iso8601`] of a year outside 0 to 9999, through `write!`.
#[cold]
fn write_iso8601_formatted(out: &mut String, t: UnixMillis) {
    use std::fmt::Write;
    let (y, mo, d, h, mi, s, ms) = calendar_fields(t);
    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z");
}

/// Parses the ISO 8601 forms clients send: `2024-01-01`, `2024-01-01T00:00:00Z`,
/// `2030-01-01T00:00:00.123000Z`, with 0 to 9 fractional digits (kept to the millisecond), a `Z`,
/// a numeric offset (`+02:00`, `-0530`) or no zone at all (taken as UTC), and a space instead of
/// the `T`. A whole number is read as seconds since the epoch. Anything else is `None`.
pub fn parse_iso8601(text: &str) -> Option<UnixMillis> {
    let s = text.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() <= 12 {
        return s.parse::<i64>().ok().map(|v| UnixMillis(v * MILLIS_PER_SECOND));
    }
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = u32::try_from(num(5, 2)?).ok()?;
    let day = u32::try_from(num(8, 2)?).ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis = days_from_civil(year, month, day) * MILLIS_PER_DAY;
    if b.len() == 10 {
        return Some(UnixMillis(millis));
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let (second, mut i) = if b.get(16) == Some(&b':') { (num(17, 2)?, 19) } else { (0, 16) };
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    millis += ((hour * 60 + minute) * 60 + second) * MILLIS_PER_SECOND;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        let mut frac: i64 = 0;
        for (k, c) in digits.bytes().take(3).enumerate() {
            frac += i64::from(c - b'0') * [100, 10, 1][k];
        }
        millis += frac;
    }
    match b.get(i) {
        None => Some(UnixMillis(millis)),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(UnixMillis(millis)),
        Some(sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, 2)?;
            let om = match b.len() - (i + 3) {
                0 => 0,
                2 => num(i + 3, 2)?,
                3 if b[i + 3] == b':' => num(i + 4, 2)?,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let offset = (oh * 60 + om) * 60 * MILLIS_PER_SECOND;
            Some(UnixMillis(if *sign == b'+' { millis - offset } else { millis + offset }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_in_place_matches_the_formatted_form() {
        let reference = |t: UnixMillis| {
            let days = t.0.div_euclid(MILLIS_PER_DAY);
            let in_day = t.0.rem_euclid(MILLIS_PER_DAY);
            let (y, mo, d) = civil_from_days(days);
            let secs = in_day / 1000;
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                y,
                mo,
                d,
                secs / 3600,
                (secs / 60) % 60,
                secs % 60,
                in_day % 1000
            )
        };
        let mut t: i64 = -62_167_219_200_000 - 86_400_000; // a day before 0000-01-01
        let end: i64 = 253_402_300_800_000 + 86_400_000; // a day after 9999-12-31
        let step = 7_919_993_777; // about three months, never a round number
        while t < end {
            for probe in [t, t + 999, t + 59_999] {
                let mut s = String::new();
                write_iso8601(&mut s, UnixMillis(probe));
                assert_eq!(s, reference(UnixMillis(probe)), "{probe}");
            }
            t += step;
        }
        let mut s = String::new();
        write_iso8601(&mut s, UnixMillis(1_700_000_000_123));
        assert_eq!(s, "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn a_repeated_instant_is_written_as_the_first_time() {
        // The same instant twice (the second from the thread's last rendering), two instants in turn
        // (both kept), a third between (the older gives way), years out of range: each written as
        // on its own.
        let instants = [
            1_700_000_000_123,
            1_700_000_000_123,
            0,
            1_700_000_000_124,
            0,
            1_700_000_000_124,
            -1,
            1_700_000_000_123,
            i64::MIN,
            1_700_000_000_123,
        ];
        let mut joined = String::new();
        for t in instants {
            write_iso8601(&mut joined, UnixMillis(t));
        }
        let alone: String = instants
            .iter()
            .map(|&t| {
                let mut one = String::new();
                write_iso8601_formatted(&mut one, UnixMillis(t));
                one
            })
            .collect();
        assert_eq!(joined, alone);
    }

    #[test]
    fn civil_round_trip_over_many_years() {
        for days in (-800_000..800_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn formats_like_ec2() {
        assert_eq!(UnixMillis(0).to_iso8601(), "1970-01-01T00:00:00.000Z");
        assert_eq!(UnixMillis(1_223_379_710_000).to_iso8601(), "2008-10-07T11:41:50.000Z");
        assert_eq!(UnixMillis(1_704_067_200_123).to_iso8601(), "2024-01-01T00:00:00.123Z");
    }

    #[test]
    fn parses_client_forms() {
        let jan1 = Some(UnixMillis(1_704_067_200_000));
        assert_eq!(parse_iso8601("2024-01-01T00:00:00Z"), jan1);
        assert_eq!(parse_iso8601("2024-01-01T00:00:00.000Z"), jan1);
        assert_eq!(parse_iso8601("2024-01-01"), jan1);
        assert_eq!(parse_iso8601("2024-01-01T00:00:00"), jan1);
        assert_eq!(parse_iso8601("2024-01-01T02:00:00+02:00"), jan1);
        assert_eq!(parse_iso8601("2023-12-31T19:00:00-0500"), jan1);
        assert_eq!(parse_iso8601("1704067200"), jan1);
        assert_eq!(parse_iso8601("2030-01-01T00:00:00.123000Z"), Some(UnixMillis(1_893_456_000_123)));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-02-30",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00Q",
            "2024-01-01T00:00:00.Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn format_then_parse_is_identity() {
        for ms in [0, 1, 999, 86_399_999, 1_700_000_000_123, -1_000] {
            assert_eq!(parse_iso8601(&UnixMillis(ms).to_iso8601()), Some(UnixMillis(ms)));
        }
    }
}
