"""Records golden documents: starts an ec2d binary on a fresh data directory with the virtual clock,
creates at least one record of every stored kind through the API, and writes
`format<N>/documents.json` (every stored document and counter, as the store holds them) and
`format<N>/expected.json` (what the API answers about them) next to this file.

Run it with the ec2d of a format before changing that format, and commit its output:
    python3 crates/ec2-store/tests/golden/record.py target/debug/ec2d 1
`crates/ec2-store/tests/golden.rs` and `tests/e2e/test_stored_formats.py` load every recorded format."""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "tests", "e2e"))

from conftest import Server  # noqa: E402

AMI = "ami-08f6cfac8c54bafdd"  # Amazon Linux 2023, EBS-backed
WINDOWS_STORE = "ami-0193dd2c1f96edc84"  # instance-store-backed Windows
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "7"


def storage():
    policy = json.dumps({"expiration": "2099-01-01T00:00:00Z", "conditions": [
        {"bucket": "golden"}, {"acl": "ec2-bundle-read"}, ["starts-with", "$key", "win"]]}).encode()
    b64 = base64.b64encode(policy)
    sig = base64.b64encode(hmac.new(SECRET.encode(), b64, hashlib.sha1).digest()).decode()
    return {"S3": {"AWSAccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Bucket": "golden", "Prefix": "win",
                   "UploadPolicy": policy, "UploadPolicySignature": sig}}


def tags(kind, **kv):
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in kv.items()]}]


def populate(s):
    c = s.client()
    adv = lambda n: s.control("POST", f"clock/advance?seconds={n}")  # noqa: E731
    ids = [i["InstanceId"] for i in c.run_instances(
        ImageId=AMI, InstanceType="t3.micro", MinCount=2, MaxCount=2, ClientToken="golden-token",
        Placement={"AvailabilityZone": "us-east-1a"}, TagSpecifications=tags("instance", Name="golden"))["Instances"]]
    adv(30)
    c.stop_instances(InstanceIds=[ids[1]])
    c.create_tags(Resources=[ids[0]], Tags=[{"Key": "role", "Value": "web"}])
    vpc = c.describe_vpcs()["Vpcs"][0]["VpcId"]
    c.create_tags(Resources=[vpc], Tags=[{"Key": "net", "Value": "default"}])
    win = c.run_instances(ImageId=WINDOWS_STORE, InstanceType="m1.small", MinCount=1, MaxCount=1)["Instances"][0]
    adv(30)
    c.bundle_instance(InstanceId=win["InstanceId"], Storage=storage())
    s.control("POST", "spot/capacity?availability-zone=us-east-1c&instance-type=t3.small&count=5")
    spec = {"ImageId": AMI, "InstanceType": "t3.small", "Placement": {"AvailabilityZone": "us-east-1c"}}
    c.request_spot_instances(SpotPrice="0.05", InstanceCount=1, LaunchSpecification=spec,
                             TagSpecifications=tags("spot-instances-request", team="a"))
    c.request_spot_instances(SpotPrice="0.05", InstanceCount=1, Type="persistent", LaunchSpecification=spec)
    c.request_spot_instances(SpotPrice="0.001", InstanceCount=1, LaunchSpecification=spec)
    src = c.create_capacity_reservation(InstanceType="t3.medium", InstancePlatform="Linux/UNIX",
                                        AvailabilityZone="us-east-1b", InstanceCount=4,
                                        TagSpecifications=tags("capacity-reservation", env="golden"))
    adv(10)
    c.create_interruptible_capacity_reservation_allocation(
        CapacityReservationId=src["CapacityReservation"]["CapacityReservationId"], InstanceCount=2)
    offer = c.describe_capacity_block_offerings(InstanceType="p5.48xlarge", InstanceCount=1,
                                                CapacityDurationHours=24)["CapacityBlockOfferings"][0]
    c.purchase_capacity_block(CapacityBlockOfferingId=offer["CapacityBlockOfferingId"], InstancePlatform="Linux/UNIX")
    adv(5)
    s.control("POST", "capacity?availability-zone=us-east-1d&instance-type=c5.large&count=3")


def answers(s):
    """What the API says about the recorded state: compared field by field after loading it again."""
    c = s.client()
    strip = lambda r: json.loads(json.dumps({k: v for k, v in r.items() if k != "ResponseMetadata"},  # noqa: E731
                                            default=str, sort_keys=True))
    return {
        "clock": s.control("GET", "clock"),
        "DescribeInstances": strip(c.describe_instances()),
        "DescribeInstanceStatus": strip(c.describe_instance_status(IncludeAllInstances=True)),
        "DescribeSpotInstanceRequests": strip(c.describe_spot_instance_requests()),
        "DescribeCapacityReservations": strip(c.describe_capacity_reservations()),
        "DescribeBundleTasks": strip(c.describe_bundle_tasks()),
        "DescribeTags": strip(c.describe_tags()),
    }


def main():
    binary, fmt = sys.argv[1], sys.argv[2]
    out = os.path.join(HERE, f"format{fmt}")
    with tempfile.TemporaryDirectory() as data:
        s = Server(binary, "--data-dir", data, "--clock", "virtual", "--seed", SEED).start()
        try:
            populate(s)
            expected = answers(s)
        finally:
            s.stop()
        db = sqlite3.connect(os.path.join(data, "ec2d.sqlite3"))
        docs = [{"scope": a, "kind": b, "id": c, "doc": json.loads(d)}
                for a, b, c, d in db.execute("SELECT scope, kind, id, doc FROM docs ORDER BY kind, scope, id")]
        counters = dict(db.execute("SELECT name, value FROM counters ORDER BY name"))
        schema = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "documents.json"), "w") as f:
        json.dump({"seed": int(SEED), "schema_version": schema, "documents": docs, "counters": counters}, f,
                  indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(docs)} documents of kinds {sorted({d['kind'] for d in docs})} in {out}")


if __name__ == "__main__":
    main()
