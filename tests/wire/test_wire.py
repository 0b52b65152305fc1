"""Wire conformance of ec2d's generated EC2 query layer, with botocore as the oracle.

For every operation in model/ec2/ops.txt (read at collection time, so the suite grows with it):

- Request direction: botocore's EC2 serializer turns a parameter dict into form pairs; ec2-wirecheck
  decodes them; the decoded dict must equal the input after normalization. Inputs are the examples
  of botocore's examples-1.json plus dicts generated from the operation's input shape. Dropping a
  required member must give MissingParameter naming its wire name; a malformed integer, boolean,
  float or timestamp must give InvalidParameterValue.
- Response direction: ec2-wirecheck encodes an output dict (examples and generated ones) as the XML
  response; botocore's EC2 parser must read back the same dict, the request id, under the root
  `<{Action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`, with absent top-level lists
  read back as empty lists.

Normalizations (each is a real, documented loss of the wire format, not a tolerance for bugs):
- timestamps are compared as UTC ISO 8601 text with milliseconds: ec2d keeps milliseconds, and
  botocore sends microseconds when the datetime has them; sub-millisecond digits are truncated,
  as botocore's own millisecond-precision mode does (`microsecond // 1000`);
- blobs are compared as the base64 text that is on the wire (botocore encodes on the way out and
  decodes on the way in);
- on requests, empty lists and empty structures are dropped from the expectation: the EC2 protocol
  serializer writes nothing for them, so no server can see them;
- numbers of float shapes are compared as floats (JSON and XML do not keep `1` apart from `1.0`);
  booleans are never equal to integers here, although Python says True == 1.
"""

import base64
import copy
import datetime as dt
import json
import os
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import botocore.session
import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.utils import parse_to_aware_datetime

WORKSPACE = Path(os.environ.get("EC2D_ROOT", Path(__file__).resolve().parents[2])).resolve()
XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"

_SESSION = botocore.session.get_session()
SERVICE = _SESSION.get_service_model("ec2")
EXAMPLES = (
    _SESSION.get_component("data_loader")
    .load_service_model("ec2", "examples-1", SERVICE.api_version)
    .get("examples", {})
)


def implemented_operations():
    """model/ec2/ops.txt, read the way ec2-codegen reads it."""
    text = (WORKSPACE / "model" / "ec2" / "ops.txt").read_text()
    ops = [line.strip() for line in text.splitlines()]
    return [op for op in ops if op and not op.startswith("#")]


OPERATIONS = implemented_operations()
# Cases are built for the operations botocore knows; test_ops_txt_lists_real_operations fails for the rest.
KNOWN_OPERATIONS = [op for op in OPERATIONS if op in SERVICE.operation_names]

# ---------------------------------------------------------------------------------------------------
# Wire names


def input_wire_name(member_shape, member_name):
    """The EC2 protocol's name of a request member: queryName, else the capitalized locationName,
    else the member name (botocore.serialize.EC2Serializer._get_serialized_name)."""
    s = member_shape.serialization
    if "queryName" in s:
        return s["queryName"]
    if "name" in s:
        return s["name"][0].upper() + s["name"][1:]
    return member_name


def join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


# ---------------------------------------------------------------------------------------------------
# Normalization: values are brought to one canonical, type-checked form on both sides.


class Mismatch:
    """A value of the wrong type. Equal only to the same mismatch, so it always shows in a diff."""

    def __init__(self, why, value):
        self.why, self.value = why, value

    def __eq__(self, other):
        return isinstance(other, Mismatch) and (self.why, repr(self.value)) == (other.why, repr(other.value))

    def __hash__(self):
        return hash(self.why)

    def __repr__(self):
        return f"<{self.why}: {self.value!r}>"


ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def iso_ms(value):
    """UTC ISO 8601 with exactly three fractional digits, truncating sub-millisecond digits."""
    d = parse_to_aware_datetime(value).astimezone(dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{d.microsecond // 1000:03d}Z"


def iso_full(value):
    """UTC ISO 8601 keeping microseconds when there are any (what we hand to `encode`)."""
    d = parse_to_aware_datetime(value).astimezone(dt.timezone.utc)
    if d.microsecond:
        return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).decode("ascii")


def canon(value, shape, side):
    """`side`: "expected" (a Python input/output dict), "decoded" (wirecheck's JSON params) or
    "parsed" (botocore's parsed response)."""
    if shape is None:
        return value if value == {} else Mismatch("operation has no such shape", value)
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return Mismatch("not a structure", value)
        out = {}
        for k, v in value.items():
            if k not in shape.members:
                out[k] = Mismatch("not a member of " + shape.name, v)
            elif v is not None:
                out[k] = canon(v, shape.members[k], side)
        return out
    if t == "list":
        if not isinstance(value, list):
            return Mismatch("not a list", value)
        return [canon(v, shape.member, side) for v in value]
    if t == "boolean":
        return value if isinstance(value, bool) else Mismatch("not a boolean", value)
    if t in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value if ok else Mismatch("not an integer", value)
    if t in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else Mismatch("not a number", value)
    if t == "timestamp":
        if side == "decoded":
            # The harness promises `2024-01-01T00:00:00.000Z`: check the text itself.
            if isinstance(value, str) and ISO_MS.match(value):
                return value
            return Mismatch("not an ISO 8601 timestamp with milliseconds", value)
        if isinstance(value, (dt.datetime, str)):
            return iso_ms(value)
        return Mismatch("not a timestamp", value)
    if t == "blob":
        if side == "expected" or (side == "parsed" and isinstance(value, bytes)):
            return b64(value) if isinstance(value, (bytes, str)) else Mismatch("not a blob", value)
        return value if isinstance(value, str) else Mismatch("not base64 text", value)
    if t == "string":
        return value if isinstance(value, str) else Mismatch("not a string", value)
    raise AssertionError(f"shape type {t} ({shape.name}) is not handled by the suite")


def first_difference(got, want, path="$"):
    """The first place two canonical values differ, as `path: got ... want ...` (None if equal)."""
    if isinstance(got, dict) and isinstance(want, dict):
        for k in list(want) + [k for k in got if k not in want]:
            if k not in got:
                return f"{path}.{k}: missing, want {want[k]!r}"
            if k not in want:
                return f"{path}.{k}: got {got[k]!r}, want no such member"
            d = first_difference(got[k], want[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(got, list) and isinstance(want, list):
        for i, (g, w) in enumerate(zip(got, want)):
            d = first_difference(g, w, f"{path}[{i}]")
            if d:
                return d
        if len(got) != len(want):
            return f"{path}: got {len(got)} elements, want {len(want)}"
        return None
    if type(got) is not type(want) or got != want:
        return f"{path}: got {got!r}, want {want!r}"
    return None


def drop_empty(value):
    """The EC2 serializer sends nothing for an empty list or a structure with nothing in it."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = drop_empty(v)
            if v == [] or v == {}:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        items = [drop_empty(v) for v in value]
        # `[{}, {"Name": "x"}]` goes out as `Filter.2.Name=x` only: the empty element is not on the wire.
        return [v for v in items if not (v == [] or v == {})]
    return value


def expected_request(params, shape):
    return drop_empty(canon(params, shape, "expected"))


def expected_response(output, shape):
    exp = canon(output, shape, "expected")
    if shape is not None:
        for name, member in shape.members.items():
            # A top-level list that is absent comes back as an empty list (ec2d always writes it).
            if member.type_name == "list" and name not in exp:
                exp[name] = []
    return exp


def to_wire_json(value, shape):
    """An output dict as the JSON `encode` takes: timestamps as ISO text, blobs as base64 text."""
    if value is None or shape is None:
        return value
    t = shape.type_name
    if t == "structure":
        return {k: to_wire_json(v, shape.members[k]) for k, v in value.items() if v is not None}
    if t == "list":
        return [to_wire_json(v, shape.member) for v in value]
    if t == "timestamp":
        return iso_full(value)
    if t == "blob":
        return b64(value)
    return value


def coerce_example(value, shape):
    """examples-1.json is documentation and a few values are of the wrong JSON type (CreateImage sends
    VolumeSize "100", DescribeInstanceAttribute answers Value "false"): bring them to the model's type,
    as a user reading the example would, so botocore's validator accepts them."""
    if shape is None or value is None:
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        return {k: coerce_example(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if t == "list" and isinstance(value, list):
        return [coerce_example(v, shape.member) for v in value]
    if t in ("integer", "long") and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if t in ("float", "double") and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if t == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if t == "timestamp" and isinstance(value, (str, int, float)):
        return parse_to_aware_datetime(value)
    return value


# ---------------------------------------------------------------------------------------------------
# Generated values


BASE_TIME = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
SPECIAL_STRINGS = [
    "",
    "a b",
    "x&y<z>\"q'",
    "ünïcødé ✓ 日本",
    "+/=%2B?#",
    "1.5",
    "true",
    "  padded  ",
    "line1\nline2\ttab",
    "emoji 🎉 beyond the BMP",
    "Filter.1.Name",
    "i-0123456789abcdef0",
]
# XML 1.0 turns a literal CR (and CR LF) into LF in character data (section 2.11), so a writer must
# escape CR as &#xD; to keep it; the AWS SDKs escape it on their side. Kept out of SPECIAL_STRINGS so
# that it fails in one case of its own ("carriage-returns") instead of in every random one.
CR_STRING = "crlf\r\nand a lone cr\r."
SPECIAL_TIMES = [
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),  # whole seconds: botocore sends no fraction
    dt.datetime(2030, 12, 31, 23, 59, 59, 999000, tzinfo=dt.timezone.utc),
    dt.datetime(2021, 6, 7, 8, 9, 10, 123456, tzinfo=dt.timezone.utc),  # sub-millisecond digits
    dt.datetime(2000, 2, 29, 0, 0, 0, 1000, tzinfo=dt.timezone.utc),
    dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc),
    dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=dt.timezone.utc),  # before the epoch
]
SPECIAL_FLOATS = [0.0, 1.5, -2.75, 0.1, 1e-07, 1e20, 123456.789, 3.0]
SPECIAL_BLOBS = [b"", b"\x00\x01\xfe\xffblob", b"hello world", bytes(range(256))]
DEPTH_LIMIT = 4


def _bounds(shape):
    return shape.metadata.get("min"), shape.metadata.get("max")


class Generator:
    """Fills a shape with values of its types.

    mode "full": every member, lists of two; "required": only required members, lists of their
    minimum length (at least one); "empty-lists": every member, lists of structures with one element
    and every other list empty where the model allows it (so empty lists nested in structures are
    exercised too); "random": each optional member below the top level with probability 0.6, list
    lengths 0 to 3, values drawn from the special pools above, with `random.Random(seed)`;
    "special-strings": like "full", with the strings cycling through SPECIAL_STRINGS; "long-lists":
    like "full", the outermost lists with 11 elements (so `.10` and `.11` must sort
    after `.2`), inner lists with one; "carriage-returns": like "full" with every free-form string
    CR_STRING.
    """

    def __init__(self, mode, seed=None):
        self.mode = mode
        self.rng = random.Random(seed) if mode == "random" else None
        self.counter = 0
        self.list_nesting = 0

    def _next(self):
        self.counter += 1
        return self.counter

    def structure(self, shape, depth, nonempty=False):
        out = {}
        required = set(shape.required_members)
        for name, member in shape.members.items():
            if name not in required:
                if self.mode == "required":
                    continue
                if self.mode == "random" and depth > 0 and self.rng.random() > 0.6:
                    continue
                if depth >= DEPTH_LIMIT and member.type_name in ("structure", "list"):
                    continue
            out[name] = self.value(member, name, depth + 1, name in required)
        if nonempty and not drop_empty(out):
            # A required structure with nothing in it is not on the wire at all (the MissingParameter
            # case): give it one member, a scalar if it has one.
            scalars = [n for n, m in shape.members.items() if m.type_name not in ("structure", "list")]
            name = (scalars or list(shape.members))[0]
            out[name] = self.value(shape.members[name], name, depth + 1, True)
        return out

    def list_length(self, shape, required):
        lo, hi = _bounds(shape)
        lo = lo or 0
        if self.mode in ("full", "special-strings", "carriage-returns"):
            n = 2
        elif self.mode == "long-lists":
            n = 11 if self.list_nesting == 0 else 1
        elif self.mode == "required":
            n = max(lo, 1)
        elif self.mode == "empty-lists":
            n = 1 if shape.member.type_name == "structure" else 0
        else:
            n = self.rng.choice([0, 1, 1, 2, 3])
        if required:
            # An empty required list is not on the wire at all: that is the MissingParameter case.
            n = max(n, 1)
        n = max(n, lo)
        if hi is not None:
            n = min(n, hi)
        return n

    def value(self, shape, name, depth, required=False):
        t = shape.type_name
        n = self._next()
        if t == "structure":
            return self.structure(shape, depth, nonempty=required)
        if t == "list":
            n = self.list_length(shape, required)
            self.list_nesting += 1
            try:
                return [self.value(shape.member, name, depth, required) for _ in range(n)]
            finally:
                self.list_nesting -= 1
        if t == "string":
            return self.string(shape, name, n)
        if t in ("integer", "long"):
            return self.integer(shape, n)
        if t == "boolean":
            return self.rng.random() < 0.5 if self.rng else n % 2 == 0
        if t in ("float", "double"):
            lo, hi = _bounds(shape)
            v = self.rng.choice(SPECIAL_FLOATS) if self.rng else 1.5 + n
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                v = float(lo if lo is not None else hi)
            return v
        if t == "timestamp":
            if self.rng:
                return self.rng.choice(SPECIAL_TIMES)
            return BASE_TIME + dt.timedelta(days=n, seconds=n)
        if t == "blob":
            return self.rng.choice(SPECIAL_BLOBS) if self.rng else b"\x00\x01\xfe\xffblob-%d" % n
        raise AssertionError(f"shape type {t} ({shape.name}) is not handled by the generator")

    def string(self, shape, name, n):
        if shape.enum:
            return self.rng.choice(shape.enum) if self.rng else shape.enum[n % len(shape.enum)]
        lo, hi = _bounds(shape)
        if self.rng:
            s = self.rng.choice(SPECIAL_STRINGS)
        elif self.mode == "special-strings":
            s = SPECIAL_STRINGS[n % len(SPECIAL_STRINGS)]
        elif self.mode == "carriage-returns":
            s = CR_STRING
        else:
            s = f"{name}-{n}"
        if lo is not None and len(s) < lo:
            s = s + "x" * (lo - len(s))
        if hi is not None and len(s) > hi:
            s = s[:hi]
        return s

    def integer(self, shape, n):
        lo, hi = _bounds(shape)
        if self.rng:
            pool = [0, 1, -1, 7, 2**31 - 1, -(2**31)]
            if shape.type_name == "long":
                pool += [2**53 + 1, -(2**62)]
            pool = [v for v in pool if (lo is None or v >= lo) and (hi is None or v <= hi)]
            if pool:
                return self.rng.choice(pool)
            return self.rng.randint(int(lo), int(hi))
        v = 10 + n
        if lo is not None and v < lo:
            v = int(lo) + n % 3
        if hi is not None and v > hi:
            v = int(hi)
        return v


RANDOM_SEEDS = 5


def generated_cases(shape):
    """[(case name, dict)] for a shape (or [("none", {})] when the operation has none)."""
    if shape is None:
        return [("none", {})]
    cases = [
        ("full", Generator("full").structure(shape, 0)),
        ("required-only", Generator("required").structure(shape, 0)),
        ("empty-lists", Generator("empty-lists").structure(shape, 0)),
        ("special-strings", Generator("special-strings").structure(shape, 0)),
        ("long-lists", Generator("long-lists").structure(shape, 0)),
        ("carriage-returns", Generator("carriage-returns").structure(shape, 0)),
    ]
    top_lists = [name for name, member in shape.members.items() if member.type_name == "list"]
    if top_lists:
        empty_top = Generator("full").structure(shape, 0)
        empty_top.update({name: [] for name in top_lists if name not in shape.required_members})
        cases.append(("empty-top-level-lists", empty_top))
    for i in range(RANDOM_SEEDS):
        cases.append((f"seed-{i}", Generator("random", seed=f"{shape.name}:{i}").structure(shape, 0)))
    return cases


# ---------------------------------------------------------------------------------------------------
# Cases


def operation_model(op):
    return SERVICE.operation_model(op)


def example_cases(op, key):
    out = []
    for i, ex in enumerate(EXAMPLES.get(op, [])):
        if key == "output" and "output" not in ex:
            continue
        shape = operation_model(op).input_shape if key == "input" else operation_model(op).output_shape
        # An example without "input" is a call with no parameters.
        value = coerce_example(copy.deepcopy(ex.get(key, {})), shape)
        out.append((f"example-{ex.get('id', i)}", value))
    return out


def request_cases():
    params = []
    for op in KNOWN_OPERATIONS:
        shape = operation_model(op).input_shape
        for name, value in example_cases(op, "input") + generated_cases(shape):
            params.append(pytest.param(op, value, id=f"{op}:{name}"))
    return params


def response_cases():
    params = []
    for op in KNOWN_OPERATIONS:
        shape = operation_model(op).output_shape
        for name, value in example_cases(op, "output") + generated_cases(shape):
            params.append(pytest.param(op, value, id=f"{op}:{name}"))
    return params


def serialize(op, params, validate=True):
    """botocore's form pairs for `params`, values as urlencode writes them (str())."""
    serializer = create_serializer("ec2", include_validation=validate)
    body = serializer.serialize_to_request(params, operation_model(op))["body"]
    assert isinstance(body, dict), body
    return [[k, str(v)] for k, v in body.items()]


def walk_input(value, shape, wire, path, required, leaves):
    """Collects the required members (value path, wire name) of every structure in `value` (first
    element of each list only) and its scalar leaves (value path, wire name, type)."""
    t = shape.type_name
    if t == "structure":
        for name, member in shape.members.items():
            w = join(wire, input_wire_name(member, name))
            if name in shape.required_members:
                required.append((path + [name], w))
            if name in value:
                walk_input(value[name], member, w, path + [name], required, leaves)
    elif t == "list":
        if value:
            walk_input(value[0], shape.member, f"{wire}.1", path + [0], required, leaves)
    else:
        leaves.append((path, wire, t))


def without(value, path):
    value = copy.deepcopy(value)
    target = value
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return value


BAD_VALUES = {
    "integer": ["seven", "1.5"],
    "long": ["seven", "1.5"],
    "boolean": ["maybe"],
    "float": ["abc"],
    "double": ["abc"],
    "timestamp": ["not-a-timestamp"],
}


def error_cases():
    params = []
    for op in KNOWN_OPERATIONS:
        shape = operation_model(op).input_shape
        if shape is None:
            continue
        full = Generator("full").structure(shape, 0)
        required, leaves = [], []
        walk_input(full, shape, "", [], required, leaves)
        for path, wire in required:
            dropped = without(full, path)
            pairs = serialize(op, dropped, validate=False)
            parent = wire.rsplit(".", 1)[0] if "." in wire else ""
            if parent and not any(k.startswith(parent + ".") for k, _ in pairs):
                # Dropping the member emptied its parent structure, which then is not on the wire at
                # all: no server can tell this request from one without the parent (whose own drop,
                # if it is required, is a case of its own).
                continue
            params.append(pytest.param(op, pairs, "MissingParameter", wire, id=f"{op}:missing:{wire}"))
        full_pairs = serialize(op, full)
        for path, wire, t in leaves:
            for bad in BAD_VALUES.get(t, []):
                assert wire in dict(full_pairs), f"the suite's wire name {wire} is not in botocore's {full_pairs}"
                pairs = [[k, bad if k == wire else v] for k, v in full_pairs]
                params.append(
                    pytest.param(op, pairs, "InvalidParameterValue", wire, id=f"{op}:invalid-{t}:{wire}={bad}")
                )
    return params


# ---------------------------------------------------------------------------------------------------
# Tests


def test_ops_txt_lists_real_operations():
    assert OPERATIONS, "model/ec2/ops.txt lists no operation"
    unknown = [op for op in OPERATIONS if op not in SERVICE.operation_names]
    assert not unknown, f"ops.txt names operations botocore does not know: {unknown}"


@pytest.mark.parametrize("op,params", request_cases())
def test_request_decodes_like_botocore_sent_it(wirecheck, op, params):
    shape = operation_model(op).input_shape
    pairs = serialize(op, params)
    answer = wirecheck.decode(pairs)
    assert "error" not in answer, f"decode failed: {answer['error']}\npairs: {pairs}"
    assert answer.get("action") == op
    got = canon(answer.get("params"), shape, "decoded")
    want = expected_request(params, shape)
    assert got == want, f"{first_difference(got, want)}\npairs: {pairs}"


@pytest.mark.parametrize("op,pairs,code,wire", error_cases())
def test_request_errors(wirecheck, op, pairs, code, wire):
    answer = wirecheck.decode(pairs)
    assert "error" in answer, f"expected {code} for {wire}, got a decoded request: {answer}\npairs: {pairs}"
    assert answer["error"]["code"] == code, answer["error"]
    message = answer["error"].get("message", "")
    assert re.search(r"(?<![\w.])" + re.escape(wire) + r"(?![\w.])", message), (
        f"the message does not name the parameter {wire}: {message!r}"
    )


def xml_root_start_tag(xml):
    m = re.match(r"\s*(?:<\?xml[^>]*\?>)?\s*<([^\s>/]+)((?:\s[^>]*)?)>", xml)
    assert m, f"no root element at the start of {xml[:200]!r}"
    return m.group(1), m.group(2).strip()


@pytest.mark.parametrize("op,output", response_cases())
def test_response_parses_back_in_botocore(wirecheck, op, output):
    shape = operation_model(op).output_shape
    answer = wirecheck.encode(op, to_wire_json(output, shape))
    assert "error" not in answer, f"encode failed: {answer['error']}\noutput: {output}"
    xml = answer["xml"]

    tag, attrs = xml_root_start_tag(xml)
    assert (tag, attrs) == (f"{op}Response", f'xmlns="{XMLNS}"'), xml[:300]
    root = ET.fromstring(xml.encode("utf-8"))
    first = list(root)[0] if len(root) else None
    assert first is not None and first.tag == f"{{{XMLNS}}}requestId" and first.text, (
        f"the first child of the root must be a non-empty requestId: {xml[:300]}"
    )

    parsed = create_parser("ec2").parse(
        {"body": xml.encode("utf-8"), "headers": {}, "status_code": 200}, shape
    )
    metadata = parsed.pop("ResponseMetadata")
    assert metadata.get("RequestId") == first.text
    got, want = canon(parsed, shape, "parsed"), expected_response(output, shape)
    assert got == want, f"{first_difference(got, want)}\nxml: {xml[:3000]}"
    if shape is not None:
        for name, member in shape.members.items():
            if member.type_name == "list" and not output.get(name):
                assert parsed.get(name) == [], f"top-level list {name} must read back as []: {xml}"
