//! The runtime of the generated `FromQuery` impls: scalars, members, lists and the errors they raise.

use ec2_time::UnixMillis;

use crate::query::Node;
use crate::xml::push_decimal;

/// Why a request could not be decoded. Parameter names are wire names with their list indexes
/// (`Filter.1.Name`), as AWS reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Missing { param: String },
    Invalid { param: String, value: String, expected: &'static str },
}

pub trait FromQuery: Sized {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError>;

    /// The element `index` of the list at `list_path`, whose path (`list_path.index`) is written into
    /// `buffer` (reused from one element to the next) by the types that read it: a string never does.
    fn from_query_item(node: &Node, list_path: &str, index: u64, buffer: &mut String) -> Result<Self, DecodeError> {
        buffer.clear();
        buffer.push_str(list_path);
        buffer.push('.');
        push_decimal(buffer, index);
        Self::from_query(node, buffer)
    }
}

pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        let mut path = String::with_capacity(parent.len() + 1 + name.len());
        path.push_str(parent);
        path.push('.');
        path.push_str(name);
        path
    }
}

fn scalar<'n>(node: &'n Node<'_>) -> &'n str {
    node.value.as_deref().unwrap_or("")
}

/// How much of a refused value an error message echoes.
pub const ECHO_CHARS: usize = 128;

fn invalid(node: &Node, path: &str, expected: &'static str) -> DecodeError {
    let value = crate::query::truncate_echo(scalar(node), ECHO_CHARS).into_owned();
    DecodeError::Invalid { param: path.to_string(), value, expected }
}

/// A plain decimal integer, as EC2 reads one: an optional `-` and digits, nothing else (no sign
/// `+`, no white space, no exponent).
fn plain_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A plain decimal number: an optional `-`, digits, an optional fraction, and an optional exponent
/// (`1e+20`, as botocore writes large doubles).
fn plain_number(text: &str) -> Option<f64> {
    let mantissa = match text.split_once(['e', 'E']) {
        Some((m, exp)) => {
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            m
        }
        None => text,
    };
    let unsigned = mantissa.strip_prefix('-').unwrap_or(mantissa);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let ok = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !unsigned.ends_with('.');
    if !ok {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

impl FromQuery for String {
    fn from_query(node: &Node, _path: &str) -> Result<Self, DecodeError> {
        Ok(scalar(node).to_string())
    }

    fn from_query_item(node: &Node, _list_path: &str, _index: u64, _buffer: &mut String) -> Result<Self, DecodeError> {
        Ok(scalar(node).to_string())
    }
}

impl FromQuery for i64 {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {
        plain_integer(scalar(node)).ok_or_else(|| invalid(node, path, "an integer"))
    }
}

impl FromQuery for f64 {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {
        plain_number(scalar(node)).ok_or_else(|| invalid(node, path, "a number"))
    }
}

impl FromQuery for bool {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {
        let v = scalar(node);
        if v.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if v.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(invalid(node, path, "a boolean (true or false)"))
        }
    }
}

impl FromQuery for UnixMillis {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {
        ec2_time::parse_iso8601(scalar(node)).ok_or_else(|| invalid(node, path, "an ISO 8601 timestamp"))
    }
}

impl<T: FromQuery> FromQuery for Box<T> {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {
        T::from_query(node, path).map(Box::new)
    }
}

impl<T: FromQuery> FromQuery for Vec<T> {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {
        if node.is_bare_value() {
            return T::from_query(node, path).map(|v| vec![v]);
        }
        // Each element's path (`path.N`), for the elements that read it, written into one buffer, not
        // formatted anew per element.
        let mut item_path = String::new();
        // One numbered element and nothing else (a request that names one ID): no list of items to sort.
        let mut children = node.children.iter();
        if let (Some((key, item)), None) = (children.next(), children.next()) {
            if let Ok(i) = key.parse::<u64>() {
                return T::from_query_item(item, path, i, &mut item_path).map(|v| vec![v]);
            }
        }
        let items = node.items();
        let mut decoded = Vec::with_capacity(items.len());
        for (i, item) in items {
            decoded.push(T::from_query_item(item, path, i, &mut item_path)?);
        }
        Ok(decoded)
    }
}

/// An optional member `wire` of `parent`.
pub fn member<T: FromQuery>(parent: &Node, parent_path: &str, wire: &str) -> Result<Option<T>, DecodeError> {
    member_at(parent.child(wire), parent_path, wire)
}

/// [`member`], the child `wire` of the node at `parent_path` already found (`None`: there is none).
/// Inlined: an absent member (most of a request's) is then a test and a store where it is decoded.
#[inline]
pub fn member_at<T: FromQuery>(child: Option<&Node>, parent_path: &str, wire: &str) -> Result<Option<T>, DecodeError> {
    match child {
        None => Ok(None),
        // A top-level member's path is its wire name: nothing to join.
        Some(node) if parent_path.is_empty() => T::from_query(node, wire).map(Some),
        Some(node) => T::from_query(node, &join(parent_path, wire)).map(Some),
    }
}

/// An optional list member `wire.N` of `parent`; absent means `None`.
pub fn list<T: FromQuery>(parent: &Node, parent_path: &str, wire: &str) -> Result<Option<Vec<T>>, DecodeError> {
    member::<Vec<T>>(parent, parent_path, wire)
}

/// [`list`], the child `wire` already found ([`member_at`]).
#[inline]
pub fn list_at<T: FromQuery>(
    child: Option<&Node>,
    parent_path: &str,
    wire: &str,
) -> Result<Option<Vec<T>>, DecodeError> {
    member_at::<Vec<T>>(child, parent_path, wire)
}

/// Fails with `Missing` when a required member is absent.
pub fn required<T>(value: &Option<T>, parent_path: &str, wire: &str) -> Result<(), DecodeError> {
    match value {
        Some(_) => Ok(()),
        None => Err(DecodeError::Missing { param: join(parent_path, wire) }),
    }
}

/// Fails with `Missing` when a required list is absent or empty.
pub fn required_list<T>(value: &Option<Vec<T>>, parent_path: &str, wire: &str) -> Result<(), DecodeError> {
    match value {
        Some(v) if !v.is_empty() => Ok(()),
        _ => Err(DecodeError::Missing { param: join(parent_path, wire) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node<'a>(pairs: &[(&'a str, &'a str)]) -> Node<'a> {
        Node::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn decimals_are_written_as_format_writes_them() {
        for n in [0, 1, 9, 10, 99, 100, 12345, u64::MAX] {
            let mut out = String::from("a.");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("a.{n}"));
        }
    }

    #[test]
    fn scalars_decode_or_report_the_wire_name() {
        let n = node(&[("MaxResults", "7"), ("DryRun", "TRUE"), ("Bad", "x")]);
        assert_eq!(member::<i64>(&n, "", "MaxResults"), Ok(Some(7)));
        assert_eq!(member::<bool>(&n, "", "DryRun"), Ok(Some(true)));
        assert_eq!(member::<i64>(&n, "", "Absent"), Ok(None));
        assert_eq!(
            member::<i64>(&n, "", "Bad"),
            Err(DecodeError::Invalid { param: "Bad".into(), value: "x".into(), expected: "an integer" })
        );
    }

    #[test]
    fn numbers_are_plain_decimal() {
        for good in ["1", "-1", "0", "007"] {
            assert!(member::<i64>(&node(&[("N", good)]), "", "N").is_ok(), "{good}");
        }
        for bad in [" 1", "1 ", "+1", "1e3", "0x1", "", "-", "1.0", "99999999999999999999"] {
            assert!(member::<i64>(&node(&[("N", bad)]), "", "N").is_err(), "{bad:?}");
        }
        for good in ["1", "0.05", "-2.5", ".5", "1e3", "1e+20", "-2.5E-3"] {
            assert!(member::<f64>(&node(&[("N", good)]), "", "N").is_ok(), "{good}");
        }
        for bad in [" 1", "+1", "1e", "1e+", "e3", "inf", "NaN", "1.", ".", "", "1e400"] {
            assert!(member::<f64>(&node(&[("N", bad)]), "", "N").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_refused_value_is_echoed_truncated() {
        let long = "x".repeat(100_000);
        let Err(DecodeError::Invalid { value, .. }) = member::<i64>(&node(&[("N", &long)]), "", "N") else {
            panic!("accepted")
        };
        assert_eq!(value.len(), ECHO_CHARS + 3);
    }

    #[test]
    fn list_errors_carry_the_index() {
        let n = node(&[("Count.1", "1"), ("Count.2", "two")]);
        let err = list::<i64>(&n, "", "Count").unwrap_err();
        assert_eq!(err, DecodeError::Invalid { param: "Count.2".into(), value: "two".into(), expected: "an integer" });
    }

    /// A list's element is decoded with its path whether it is the list's only one or one of several,
    /// numbered directly or under `member`, and a string element reads no path.
    #[test]
    fn list_elements_carry_their_paths() {
        let invalid = |param: &str, value: &str| DecodeError::Invalid {
            param: param.into(),
            value: value.into(),
            expected: "an integer",
        };
        for (pairs, expected) in [
            (vec![("Count.7", "x")], Err(invalid("Count.7", "x"))),
            (vec![("Count.7", "7")], Ok(vec![7])),
            (vec![("Count.member.3", "x")], Err(invalid("Count.3", "x"))),
            (vec![("Count.2", "2"), ("Count.10", "10"), ("Count.1", "1")], Ok(vec![1, 2, 10])),
            (vec![("Count.2", "2"), ("Count.10", "x")], Err(invalid("Count.10", "x"))),
            (vec![("Count", "5")], Ok(vec![5])),
            (vec![("Count.x", "5")], Ok(vec![])),
        ] {
            let n = node(&pairs);
            assert_eq!(list::<i64>(&n, "", "Count"), expected.map(Some), "{pairs:?}");
        }
        let n = node(&[("Id.3", "i-3"), ("Id.1", "i-1"), ("Id.member.2", "i-2")]);
        assert_eq!(list::<String>(&n, "", "Id"), Ok(Some(vec!["i-1".to_string(), "i-2".into(), "i-3".into()])));
        let n = node(&[("Id.9", "i-9")]);
        assert_eq!(list::<String>(&n, "", "Id"), Ok(Some(vec!["i-9".to_string()])));
        assert_eq!(list::<Vec<String>>(&node(&[("Id.1.2", "x")]), "", "Id"), Ok(Some(vec![vec!["x".to_string()]])));
    }

    #[test]
    fn required_checks() {
        assert_eq!(
            required::<i64>(&None, "Storage.S3", "Bucket"),
            Err(DecodeError::Missing { param: "Storage.S3.Bucket".into() })
        );
        assert!(required_list::<String>(&Some(vec![]), "", "InstanceId").is_err());
        assert!(required_list(&Some(vec![1]), "", "InstanceId").is_ok());
    }
}
