"""Stored documents of every earlier format load: a data directory holding the golden documents that an
older ec2d wrote (crates/ec2-store/tests/golden/format<N>/, recorded by record.py there) is served by
today's ec2d exactly as that ec2d served it, and a record written back carries today's format."""

import copy
import json
import os
import sqlite3
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "..", "crates", "ec2-store", "tests", "golden")
sys.path.insert(0, GOLDEN)

from record import SEED, answers  # noqa: E402

FORMATS = sorted(d for d in os.listdir(GOLDEN) if d.startswith("format"))


def load(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return json.load(f)


def stored(data_dir, kind, id_):
    db = sqlite3.connect(os.path.join(data_dir, "ec2d.sqlite3"))
    try:
        row = db.execute("SELECT doc FROM docs WHERE kind = ? AND id = ?", (kind, id_)).fetchone()
    finally:
        db.close()
    return json.loads(row[0])


@pytest.fixture(params=FORMATS)
def golden_dir(request, make_server, tmp_path):
    """A data directory holding the golden documents of one format, in a schema made by today's ec2d."""
    fmt = request.param
    golden = load(f"{fmt}/documents.json")
    data = str(tmp_path / "data")
    make_server("--data-dir", data).stop()  # creates the database and its schema
    db = sqlite3.connect(os.path.join(data, "ec2d.sqlite3"))
    with db:
        db.executemany(
            "INSERT INTO docs (scope, kind, id, doc) VALUES (?, ?, ?, ?)",
            [(d["scope"], d["kind"], d["id"], json.dumps(d["doc"], separators=(",", ":"))) for d in golden["documents"]],
        )
        db.executemany("INSERT INTO counters (name, value) VALUES (?, ?)", list(golden["counters"].items()))
    db.close()
    return fmt, data


def without_later_instance_members(answer, fmt):
    """DescribeInstances less the members issue 14 added to every instance (the defaults of
    records that predate them: bandwidth weighting, operator, reboot migration), which the ec2d of
    the older format did not write; every other member is as it was."""
    answer = copy.deepcopy(answer)
    for r in answer["Reservations"]:
        for i in r["Instances"]:
            assert i.pop("NetworkPerformanceOptions") == {"BandwidthWeighting": "default"}, fmt
            assert i.pop("Operator") == {"Managed": False}, fmt
            assert i["MaintenanceOptions"].pop("RebootMigration") == "default", fmt
    return answer


def test_an_older_format_is_served_as_it_was(golden_dir, make_server):
    fmt, data = golden_dir
    s = make_server("--data-dir", data, "--clock", "virtual", "--seed", SEED)
    got = answers(s)
    expected = load(f"{fmt}/expected.json")
    assert got.keys() == expected.keys()
    for call in expected:
        answer = got[call]
        if call == "DescribeTags":
            # The ec2d of format 1 left capacity reservations out of DescribeTags (issue 11 fixed
            # that): their rows are new; every other row is as it was.
            rows = answer["Tags"]
            assert any(t["ResourceType"] == "capacity-reservation" for t in rows), f"{fmt}: reservation tags"
            answer = {**answer, "Tags": [t for t in rows if t["ResourceType"] != "capacity-reservation"]}
        if call == "DescribeInstances":
            answer = without_later_instance_members(answer, fmt)
        assert answer == expected[call], f"{fmt}: {call} differs"


def test_records_of_an_older_format_change_and_are_written_in_todays(golden_dir, make_server):
    fmt, data = golden_dir
    s = make_server("--data-dir", data, "--clock", "virtual", "--seed", SEED)
    c = s.client()
    stopped = [i["InstanceId"] for r in c.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}])["Reservations"] for i in r["Instances"]]
    assert stopped, "the golden state has a stopped instance"
    c.start_instances(InstanceIds=stopped[:1])
    s.control("POST", "clock/advance?seconds=60")
    [inst] = c.describe_instances(InstanceIds=stopped[:1])["Reservations"][0]["Instances"]
    assert inst["State"]["Name"] == "running"
    c.create_tags(Resources=stopped[:1], Tags=[{"Key": "after", "Value": fmt}])
    # New IDs continue from the stored counters: no ID of the golden state is issued again.
    new = c.run_instances(ImageId="ami-08f6cfac8c54bafdd", InstanceType="t3.micro", MinCount=1, MaxCount=1)
    old_ids = {d["id"] for d in load(f"{fmt}/documents.json")["documents"]}
    assert new["Instances"][0]["InstanceId"] not in old_ids
    s.stop()
    doc = stored(data, "instance", stopped[0])
    assert isinstance(doc.get("_format"), int) and doc["_format"] >= 1
    assert next(iter(doc)) == "_format"
    untouched = [d for d in load(f"{fmt}/documents.json")["documents"] if d["kind"] == "bundle_task"][0]
    assert stored(data, "bundle_task", untouched["id"]) == untouched["doc"], "a record nobody wrote stays as it was"
