//! The runtime of the generated JSON views (feature `wirecheck`): scalars, lists and members.

use ec2_time::UnixMillis;
use serde_json::{Map, Value};

pub trait ToJson {
    fn to_json(&self) -> Value;
}

pub trait FromJson: Sized {
    fn from_json(v: &Value) -> Result<Self, String>;
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}
impl ToJson for i64 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}
impl ToJson for f64 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}
impl ToJson for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}
impl ToJson for UnixMillis {
    fn to_json(&self) -> Value {
        Value::String(self.to_iso8601())
    }
}
impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(ToJson::to_json).collect())
    }
}
impl<T: ToJson> ToJson for Box<T> {
    fn to_json(&self) -> Value {
        (**self).to_json()
    }
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!("expected a string, got {other}")),
        }
    }
}
impl FromJson for i64 {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_i64().ok_or_else(|| format!("expected an integer, got {v}"))
    }
}
impl FromJson for f64 {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_f64().ok_or_else(|| format!("expected a number, got {v}"))
    }
}
impl FromJson for bool {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_bool().ok_or_else(|| format!("expected a boolean, got {v}"))
    }
}
impl FromJson for UnixMillis {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_str().and_then(ec2_time::parse_iso8601).ok_or_else(|| format!("expected a timestamp, got {v}"))
    }
}
impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_array().ok_or_else(|| format!("expected a list, got {v}"))?.iter().map(T::from_json).collect()
    }
}
impl<T: FromJson> FromJson for Box<T> {
    fn from_json(v: &Value) -> Result<Self, String> {
        T::from_json(v).map(Box::new)
    }
}

pub fn field<T: FromJson>(o: &Map<String, Value>, name: &str) -> Result<Option<T>, String> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::from_json(v).map(Some).map_err(|e| format!("{name}: {e}")),
    }
}
