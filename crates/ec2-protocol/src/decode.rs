//! The runtime of the generated `FromQuery` impls: scalars, members, lists and the errors they raise.

use ec2_time::UnixMillis;

use crate::query::Node;

/// Why a request could not be decoded. Parameter names are wire names with their list indexes
/// (`Filter.1.Name`), as AWS reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Missing { param: String },
    Invalid { param: String, value: String, expected: &'static str },
}

pub trait FromQuery: Sized {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError>;
}

pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

fn scalar(node: &Node) -> &str {
    node.value.as_deref().unwrap_or("")
}

fn invalid(node: &Node, path: &str, expected: &'static str) -> DecodeError {
    DecodeError::Invalid { param: path.to_string(), value: scalar(node).to_string(), expected }
}

impl FromQuery for String {
    fn from_query(node: &Node, _path: &str) -> Result<Self, DecodeError> {
        Ok(scalar(node).to_string())
    }
}

impl FromQuery for i64 {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {
        scalar(node).trim().parse().map_err(|_| invalid(node, path, "an integer"))
    }
}

impl FromQuery for f64 {
    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {
        scalar(node).trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| invalid(node, path, "a number"))
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
        node.items().into_iter().map(|(i, item)| T::from_query(item, &format!("{path}.{i}"))).collect()
    }
}

/// An optional member `wire` of `parent`.
pub fn member<T: FromQuery>(parent: &Node, parent_path: &str, wire: &str) -> Result<Option<T>, DecodeError> {
    match parent.child(wire) {
        None => Ok(None),
        Some(node) => T::from_query(node, &join(parent_path, wire)).map(Some),
    }
}

/// An optional list member `wire.N` of `parent`; absent means `None`.
pub fn list<T: FromQuery>(parent: &Node, parent_path: &str, wire: &str) -> Result<Option<Vec<T>>, DecodeError> {
    member::<Vec<T>>(parent, parent_path, wire)
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

    fn node(pairs: &[(&str, &str)]) -> Node {
        Node::from_pairs(pairs.iter().copied())
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
    fn list_errors_carry_the_index() {
        let n = node(&[("Count.1", "1"), ("Count.2", "two")]);
        let err = list::<i64>(&n, "", "Count").unwrap_err();
        assert_eq!(err, DecodeError::Invalid { param: "Count.2".into(), value: "two".into(), expected: "an integer" });
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
