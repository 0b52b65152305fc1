//! The generator behind `ec2-protocol/src/generated/`.
//!
//! Pipeline: load `model/ec2/service-2.json` (botocore's model, stripped of documentation) and
//! `model/ec2/ops.txt` (the operations ec2d implements) -> compute the shapes reachable from those
//! operations' inputs and outputs -> render Rust text. Output is deterministic (model order for
//! members, sorted names elsewhere), carries no documentation, and is checked by the freshness test
//! in `tests/fresh.rs`. `catalog.rs` also renders ec2-core's instance type table from its committed data.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub mod catalog;

pub struct GeneratedFile {
    /// Relative to the workspace root.
    pub path: PathBuf,
    pub text: String,
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

const OUT_DIR: &str = "crates/ec2-protocol/src/generated";

#[derive(Debug, Clone)]
enum Kind {
    Struct { members: Vec<Member>, required: BTreeSet<String> },
    List { member: String, item_name: String },
    Str,
    Int,
    Bool,
    Float,
    Timestamp,
}

#[derive(Debug, Clone)]
struct Member {
    name: String,
    shape: String,
    wire_in: String,
    wire_out: String,
}

struct Model {
    shapes: BTreeMap<String, Kind>,
    /// name -> (input shape, output shape)
    operations: BTreeMap<String, (Option<String>, Option<String>)>,
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn load(root: &Path) -> Result<(Model, Vec<String>, String), String> {
    let dir = root.join("model/ec2");
    let text = std::fs::read_to_string(dir.join("service-2.json")).map_err(|e| format!("service-2.json: {e}"))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("service-2.json: {e}"))?;
    let source = std::fs::read_to_string(dir.join("SOURCE.md")).map_err(|e| format!("SOURCE.md: {e}"))?;
    let version = source
        .lines()
        .find_map(|l| l.strip_prefix("- botocore version: "))
        .ok_or("SOURCE.md names no botocore version")?
        .trim()
        .to_string();
    let ops_text = std::fs::read_to_string(dir.join("ops.txt")).map_err(|e| format!("ops.txt: {e}"))?;
    let implemented: Vec<String> =
        ops_text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect();

    let mut shapes = BTreeMap::new();
    for (name, s) in json["shapes"].as_object().ok_or("no shapes")? {
        let ty = s["type"].as_str().ok_or_else(|| format!("{name}: no type"))?;
        let kind = match ty {
            "structure" => {
                let mut members = Vec::new();
                for (mname, m) in s["members"].as_object().ok_or_else(|| format!("{name}: no members"))? {
                    let location = m["locationName"].as_str();
                    let wire_in = match (m["queryName"].as_str(), location) {
                        (Some(q), _) => q.to_string(),
                        (None, Some(l)) => capitalize(l),
                        (None, None) => mname.clone(),
                    };
                    members.push(Member {
                        name: mname.clone(),
                        shape: m["shape"].as_str().ok_or_else(|| format!("{name}.{mname}: no shape"))?.to_string(),
                        wire_in,
                        wire_out: location.unwrap_or(mname).to_string(),
                    });
                }
                let required = s["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                    .unwrap_or_default();
                Kind::Struct { members, required }
            }
            "list" => Kind::List {
                member: s["member"]["shape"]
                    .as_str()
                    .ok_or_else(|| format!("{name}: list without member"))?
                    .to_string(),
                item_name: s["member"]["locationName"].as_str().unwrap_or("member").to_string(),
            },
            "string" | "blob" => Kind::Str,
            "integer" | "long" => Kind::Int,
            "boolean" => Kind::Bool,
            "double" | "float" => Kind::Float,
            "timestamp" => Kind::Timestamp,
            other => return Err(format!("{name}: unsupported shape type {other}")),
        };
        shapes.insert(name.clone(), kind);
    }
    let mut operations = BTreeMap::new();
    for (name, op) in json["operations"].as_object().ok_or("no operations")? {
        let input = op["input"]["shape"].as_str().map(String::from);
        let output = op["output"]["shape"].as_str().map(String::from);
        operations.insert(name.clone(), (input, output));
    }
    for op in &implemented {
        if !operations.contains_key(op) {
            return Err(format!("ops.txt names {op}, which is not an EC2 operation"));
        }
    }
    Ok((Model { shapes, operations }, implemented, version))
}

fn reach(model: &Model, roots: impl Iterator<Item = String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = roots.collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        match &model.shapes[&name] {
            Kind::Struct { members, .. } => stack.extend(members.iter().map(|m| m.shape.clone())),
            Kind::List { member, .. } => stack.push(member.clone()),
            _ => {}
        }
    }
    seen
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "typeof", "unsafe", "use", "where", "while", "yield",
];

/// Rust structs that would shadow names the generated code uses.
const RESERVED_TYPE_NAMES: &[&str] =
    &["Option", "Result", "Vec", "String", "Box", "Node", "DecodeError", "XmlWriter", "UnixMillis", "Value", "Map"];

pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    if KEYWORDS.contains(&out.as_str()) {
        format!("r#{out}")
    } else {
        out
    }
}

struct Gen<'a> {
    model: &'a Model,
    boxed: BTreeSet<(String, String)>,
}

impl Gen<'_> {
    fn rust_type(&self, shape: &str) -> String {
        match &self.model.shapes[shape] {
            Kind::Struct { .. } => shape.to_string(),
            Kind::List { member, .. } => format!("Vec<{}>", self.rust_type(member)),
            Kind::Str => "String".into(),
            Kind::Int => "i64".into(),
            Kind::Bool => "bool".into(),
            Kind::Float => "f64".into(),
            Kind::Timestamp => "UnixMillis".into(),
        }
    }

    fn field_type(&self, owner: &str, m: &Member) -> String {
        let t = self.rust_type(&m.shape);
        if self.boxed.contains(&(owner.to_string(), m.name.clone())) {
            format!("Box<{t}>")
        } else {
            t
        }
    }

    fn is_list(&self, shape: &str) -> bool {
        matches!(self.model.shapes[shape], Kind::List { .. })
    }

    fn item_name(&self, shape: &str) -> &str {
        match &self.model.shapes[shape] {
            Kind::List { item_name, .. } => item_name,
            _ => unreachable!("{shape} is not a list"),
        }
    }

    fn members(&self, shape: &str) -> (&[Member], &BTreeSet<String>) {
        match &self.model.shapes[shape] {
            Kind::Struct { members, required } => (members, required),
            _ => unreachable!("{shape} is not a structure"),
        }
    }
}

/// Structure members that must be boxed: a direct (non-list) edge back into a cycle.
fn boxed_members(model: &Model, structs: &BTreeSet<String>) -> BTreeSet<(String, String)> {
    fn reaches(model: &Model, from: &str, target: &str, seen: &mut BTreeSet<String>) -> bool {
        if from == target {
            return true;
        }
        if !seen.insert(from.to_string()) {
            return false;
        }
        if let Kind::Struct { members, .. } = &model.shapes[from] {
            for m in members {
                if matches!(model.shapes[&m.shape], Kind::Struct { .. }) && reaches(model, &m.shape, target, seen) {
                    return true;
                }
            }
        }
        false
    }
    let mut out = BTreeSet::new();
    for s in structs {
        let (members, _) = match &model.shapes[s] {
            Kind::Struct { members, required } => (members, required),
            _ => continue,
        };
        for m in members {
            if matches!(model.shapes[&m.shape], Kind::Struct { .. })
                && reaches(model, &m.shape, s, &mut BTreeSet::new())
            {
                out.insert((s.clone(), m.name.clone()));
            }
        }
    }
    out
}

fn header(version: &str) -> String {
    format!("// @generated by ec2-codegen from botocore {version} (model/ec2/). Do not edit: run `cargo run -p ec2-codegen`.\n\n")
}

pub fn render_all(root: &Path) -> Result<Vec<GeneratedFile>, String> {
    let (model, implemented, version) = load(root)?;
    let op_io = |op: &String| model.operations[op].clone();
    let input_roots: Vec<String> = implemented.iter().filter_map(|op| op_io(op).0).collect();
    let output_roots: Vec<String> = implemented.iter().filter_map(|op| op_io(op).1).collect();
    let input = reach(&model, input_roots.iter().cloned());
    let output = reach(&model, output_roots.iter().cloned());
    let is_struct = |s: &String| matches!(model.shapes[s], Kind::Struct { .. });
    let in_structs: BTreeSet<String> = input.iter().filter(|s| is_struct(s)).cloned().collect();
    let out_structs: BTreeSet<String> = output.iter().filter(|s| is_struct(s)).cloned().collect();
    let all_structs: BTreeSet<String> = in_structs.union(&out_structs).cloned().collect();
    for s in &all_structs {
        if RESERVED_TYPE_NAMES.contains(&s.as_str()) {
            return Err(format!("structure {s} would shadow a name the generated code uses"));
        }
    }
    let gen = Gen { model: &model, boxed: boxed_members(&model, &all_structs) };
    let h = header(&version);

    // types.rs
    let mut types = h.clone();
    types.push_str("//! One struct per structure shape reachable from the implemented operations. Every member is optional.\n\nuse ec2_time::UnixMillis;\n");
    for s in &all_structs {
        let (members, _) = gen.members(s);
        let _ = write!(types, "\n#[derive(Debug, Clone, Default, PartialEq)]\npub struct {s} {{\n");
        for m in members {
            let _ = writeln!(types, "    pub {}: Option<{}>,", snake_case(&m.name), gen.field_type(s, m));
        }
        types.push_str("}\n");
    }

    // decode.rs
    let mut decode = h.clone();
    decode.push_str("//! `FromQuery` for every structure reachable from an implemented operation's input.\n\nuse crate::decode::{list_at, member_at, required, required_list, DecodeError, FromQuery};\nuse crate::query::Node;\nuse super::types::*;\n");
    for s in &in_structs {
        let (members, req) = gen.members(s);
        let _ = write!(
            decode,
            "\nimpl FromQuery for {s} {{\n    fn from_query(node: &Node, path: &str) -> Result<Self, DecodeError> {{\n"
        );
        // The node's children are looked at once, each given to the member it names (names are unique
        // in a node and matched exactly, as a lookup by name would), rather than looked up once per member.
        if members.is_empty() {
            decode.push_str("        let _ = node;\n        let v = ");
            let _ = writeln!(decode, "{s} {{");
        } else {
            let _ = writeln!(
                decode,
                "        let mut found: [Option<&Node>; {}] = [None; {}];",
                members.len(),
                members.len()
            );
            decode.push_str(
                "        for (name, child) in node.children.iter() {\n            let at = match name.as_ref() {\n",
            );
            for (i, m) in members.iter().enumerate() {
                let _ = writeln!(decode, "                {:?} => {i},", m.wire_in);
            }
            decode.push_str(
                "                _ => continue,\n            };\n            found[at] = Some(child);\n        }\n",
            );
            let _ = writeln!(decode, "        let v = {s} {{");
        }
        for (i, m) in members.iter().enumerate() {
            let f = if gen.is_list(&m.shape) { "list_at" } else { "member_at" };
            let _ = writeln!(decode, "            {}: {f}(found[{i}], path, {:?})?,", snake_case(&m.name), m.wire_in);
        }
        decode.push_str("        };\n");
        for m in members.iter().filter(|m| req.contains(&m.name)) {
            let f = if gen.is_list(&m.shape) { "required_list" } else { "required" };
            let _ = writeln!(decode, "        {f}(&v.{}, path, {:?})?;", snake_case(&m.name), m.wire_in);
        }
        decode.push_str("        Ok(v)\n    }\n}\n");
    }

    // encode.rs
    let mut encode = h.clone();
    encode.push_str("//! `ToXml` for every structure reachable from an implemented operation's output.\n\nuse crate::xml::{write_list, ToXml, XmlWriter};\nuse super::types::*;\n");
    let output_shapes: BTreeSet<String> = output_roots.iter().cloned().collect();
    for s in &out_structs {
        let (members, _) = gen.members(s);
        let _ = write!(encode, "\nimpl ToXml for {s} {{\n    fn write_xml(&self, w: &mut XmlWriter, name: &str) {{\n        w.open(name);\n        self.write_members(w);\n        w.close(name);\n    }}\n}}\n\nimpl {s} {{\n    /// The members as child elements; absent members are left out.\n    pub fn write_members(&self, w: &mut XmlWriter) {{\n");
        for m in members {
            let field = snake_case(&m.name);
            if gen.is_list(&m.shape) {
                let _ = writeln!(
                    encode,
                    "        if let Some(v) = &self.{field} {{ write_list(w, {:?}, {:?}, v); }}",
                    m.wire_out,
                    gen.item_name(&m.shape)
                );
            } else {
                let _ =
                    writeln!(encode, "        if let Some(v) = &self.{field} {{ v.write_xml(w, {:?}); }}", m.wire_out);
            }
        }
        encode.push_str("    }\n");
        if output_shapes.contains(s) {
            encode.push_str("\n    /// The members of a whole response: lists are always written, empty ones as an empty element.\n    pub fn write_output_members(&self, w: &mut XmlWriter) {\n");
            for m in members {
                let field = snake_case(&m.name);
                if gen.is_list(&m.shape) {
                    let _ = writeln!(
                        encode,
                        "        write_list(w, {:?}, {:?}, self.{field}.as_deref().unwrap_or_default());",
                        m.wire_out,
                        gen.item_name(&m.shape)
                    );
                } else {
                    let _ = writeln!(
                        encode,
                        "        if let Some(v) = &self.{field} {{ v.write_xml(w, {:?}); }}",
                        m.wire_out
                    );
                }
            }
            encode.push_str("    }\n");
        }
        encode.push_str("}\n");
    }

    // ops.rs
    let mut ops = h.clone();
    ops.push_str("//! The table of every EC2 operation, and the request and response enums of the implemented ones.\n\nuse crate::decode::{DecodeError, FromQuery};\nuse crate::query::Node;\nuse crate::xml::XmlWriter;\nuse super::types::*;\n\n");
    let _ =
        writeln!(ops, "/// Every operation of the EC2 API version 2016-11-15, sorted ({}).", model.operations.len());
    let _ = writeln!(ops, "pub const ALL_OPERATIONS: [&str; {}] = [", model.operations.len());
    for name in model.operations.keys() {
        let _ = writeln!(ops, "    {name:?},");
    }
    ops.push_str("];\n\n");
    let _ = writeln!(ops, "/// The operations ec2d implements (model/ec2/ops.txt), sorted.\npub const IMPLEMENTED_OPERATIONS: [&str; {}] = [", implemented.len());
    let mut impl_sorted = implemented.clone();
    impl_sorted.sort();
    for name in &impl_sorted {
        let _ = writeln!(ops, "    {name:?},");
    }
    ops.push_str("];\n\n/// Whether `name` is a real EC2 operation (implemented or not).\npub fn is_operation(name: &str) -> bool {\n    ALL_OPERATIONS.binary_search(&name).is_ok()\n}\n\n");
    ops.push_str("#[derive(Debug, Clone, PartialEq)]\npub enum Request {\n");
    for op in &impl_sorted {
        match &op_io(op).0 {
            Some(i) => {
                let _ = writeln!(ops, "    {op}({i}),");
            }
            None => {
                let _ = writeln!(ops, "    {op},");
            }
        }
    }
    ops.push_str("}\n\n#[derive(Debug, Clone, PartialEq)]\npub enum Response {\n");
    for op in &impl_sorted {
        match &op_io(op).1 {
            Some(o) => {
                let _ = writeln!(ops, "    {op}({o}),");
            }
            None => {
                let _ = writeln!(ops, "    {op},");
            }
        }
    }
    ops.push_str("}\n\nimpl Request {\n    /// Decodes and validates an implemented operation's parameters; `None` when `action` is not implemented.\n    pub fn decode(action: &str, node: &Node) -> Option<Result<Request, DecodeError>> {\n        Some(match action {\n");
    for op in &impl_sorted {
        match &op_io(op).0 {
            Some(i) => {
                let _ = writeln!(ops, "            {op:?} => {i}::from_query(node, \"\").map(Request::{op}),");
            }
            None => {
                let _ = writeln!(ops, "            {op:?} => Ok(Request::{op}),");
            }
        }
    }
    ops.push_str("            _ => return None,\n        })\n    }\n\n    pub fn action(&self) -> &'static str {\n        match self {\n");
    for op in &impl_sorted {
        let pat = if op_io(op).0.is_some() { format!("Request::{op}(_)") } else { format!("Request::{op}") };
        let _ = writeln!(ops, "            {pat} => {op:?},");
    }
    ops.push_str("        }\n    }\n\n    /// The request's `DryRun` flag (false when the operation has none).\n    pub fn dry_run(&self) -> bool {\n        match self {\n");
    for op in &impl_sorted {
        let has = op_io(op).0.as_ref().is_some_and(|i| gen.members(i).0.iter().any(|m| m.name == "DryRun"));
        if has {
            let _ = writeln!(ops, "            Request::{op}(v) => v.dry_run == Some(true),");
        }
    }
    ops.push_str("            #[allow(unreachable_patterns)]\n            _ => false,\n        }\n    }\n}\n\nimpl Response {\n    pub fn action(&self) -> &'static str {\n        match self {\n");
    for op in &impl_sorted {
        let pat = if op_io(op).1.is_some() { format!("Response::{op}(_)") } else { format!("Response::{op}") };
        let _ = writeln!(ops, "            {pat} => {op:?},");
    }
    ops.push_str("        }\n    }\n\n    /// The children of the `{Action}Response` root after `requestId`. Operations without an output\n    /// shape answer `<return>true</return>`, as EC2 does.\n    pub fn write_members(&self, w: &mut XmlWriter) {\n        match self {\n");
    for op in &impl_sorted {
        if op_io(op).1.is_some() {
            let _ = writeln!(ops, "            Response::{op}(v) => v.write_output_members(w),");
        } else {
            let _ = writeln!(ops, "            Response::{op} => w.text(\"return\", \"true\"),");
        }
    }
    ops.push_str("        }\n    }\n}\n");

    // wirecheck.rs
    let mut wc = h.clone();
    wc.push_str("//! JSON views of the DTOs for the wire conformance tests, keyed by model member names as botocore's\n//! dicts are. Compiled only with the `wirecheck` feature.\n\nuse serde_json::{Map, Value};\nuse crate::wirecheck::{field, FromJson, ToJson};\nuse super::ops::{Request, Response};\nuse super::types::*;\n");
    for s in &in_structs {
        let (members, _) = gen.members(s);
        let _ = write!(
            wc,
            "\nimpl ToJson for {s} {{\n    fn to_json(&self) -> Value {{\n        let mut m = Map::new();\n"
        );
        for m in members {
            let _ = writeln!(
                wc,
                "        if let Some(v) = &self.{} {{ m.insert({:?}.into(), v.to_json()); }}",
                snake_case(&m.name),
                m.name
            );
        }
        wc.push_str("        Value::Object(m)\n    }\n}\n");
    }
    for s in &out_structs {
        let (members, _) = gen.members(s);
        let _ = write!(wc, "\nimpl FromJson for {s} {{\n    fn from_json(v: &Value) -> Result<Self, String> {{\n        let o = v.as_object().ok_or(\"{s}: expected an object\")?;\n        Ok({s} {{\n");
        for m in members {
            let _ = writeln!(wc, "            {}: field(o, {:?})?,", snake_case(&m.name), m.name);
        }
        wc.push_str("        })\n    }\n}\n");
    }
    wc.push_str("\nimpl Request {\n    pub fn to_json(&self) -> Value {\n        match self {\n");
    for op in &impl_sorted {
        if op_io(op).0.is_some() {
            let _ = writeln!(wc, "            Request::{op}(v) => v.to_json(),");
        } else {
            let _ = writeln!(wc, "            Request::{op} => Value::Object(Map::new()),");
        }
    }
    wc.push_str("        }\n    }\n}\n\nimpl Response {\n    /// Builds the response of `action` from botocore's output dict (as JSON).\n    pub fn from_json(action: &str, v: &Value) -> Result<Response, String> {\n        Ok(match action {\n");
    for op in &impl_sorted {
        match &op_io(op).1 {
            Some(o) => {
                let _ = writeln!(wc, "            {op:?} => Response::{op}({o}::from_json(v)?),");
            }
            None => {
                let _ = writeln!(wc, "            {op:?} => Response::{op},");
            }
        }
    }
    wc.push_str("            other => return Err(format!(\"{other} is not implemented\")),\n        })\n    }\n}\n");

    let mut module = h.clone();
    module.push_str("#[rustfmt::skip]\npub mod decode;\n#[rustfmt::skip]\npub mod encode;\n#[rustfmt::skip]\npub mod ops;\n#[rustfmt::skip]\npub mod types;\n#[cfg(feature = \"wirecheck\")]\n#[rustfmt::skip]\npub mod wirecheck;\n");

    let file = |name: &str, text: String| GeneratedFile { path: Path::new(OUT_DIR).join(name), text };
    Ok(vec![
        file("mod.rs", module),
        file("types.rs", types),
        file("decode.rs", decode),
        file("encode.rs", encode),
        file("ops.rs", ops),
        file("wirecheck.rs", wc),
        catalog::render(root)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_handles_acronyms_and_keywords() {
        assert_eq!(snake_case("InstanceIds"), "instance_ids");
        assert_eq!(snake_case("AWSAccessKeyId"), "aws_access_key_id");
        assert_eq!(snake_case("S3"), "s3");
        assert_eq!(snake_case("Ipv6Addresses"), "ipv6_addresses");
        assert_eq!(snake_case("Type"), "r#type");
        assert_eq!(snake_case("DryRun"), "dry_run");
    }
}
