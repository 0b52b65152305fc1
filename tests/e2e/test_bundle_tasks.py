"""Bundle tasks end to end: BundleInstance, DescribeBundleTasks, CancelBundleTask, on every clock."""

import base64
import hashlib
import hmac
import json

import botocore.exceptions
import pytest

from conftest import AL2023, FAST, advance, error_of

WINDOWS_STORE = "ami-0193dd2c1f96edc84"  # instance-store-backed Windows (catalogue)
LINUX_STORE = "ami-099b62c9122d51192"  # instance-store-backed Linux
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AKID = "AKIAIOSFODNN7EXAMPLE"


def storage(bucket="bundle-bucket", prefix="winami", policy_prefix=None, expiration="2099-01-01T00:00:00Z", policy_bucket=None):
    policy = json.dumps(
        {
            "expiration": expiration,
            "conditions": [
                {"bucket": policy_bucket or bucket},
                {"acl": "ec2-bundle-read"},
                ["starts-with", "$key", policy_prefix if policy_prefix is not None else prefix],
            ],
        }
    ).encode()
    b64 = base64.b64encode(policy)
    signature = base64.b64encode(hmac.new(SECRET.encode(), b64, hashlib.sha1).digest()).decode()
    return {"S3": {"AWSAccessKeyId": AKID, "Bucket": bucket, "Prefix": prefix, "UploadPolicy": policy, "UploadPolicySignature": signature}}


def windows_instance(c, wait=True):
    r = c.run_instances(ImageId=WINDOWS_STORE, InstanceType="m1.small", MinCount=1, MaxCount=1)
    iid = r["Instances"][0]["InstanceId"]
    if wait:
        c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    return iid


def running_windows_instance(s):
    """A Windows instance on the (reset) virtual-clock server `s`, advanced until it runs."""
    c = s.client()
    iid = windows_instance(c, wait=False)
    advance(s, 10)
    return c, iid


def test_bundle_completes_and_the_waiter_passes(ec2):
    iid = windows_instance(ec2)
    task = ec2.bundle_instance(InstanceId=iid, Storage=storage())["BundleTask"]
    assert task["BundleId"].startswith("bun-") and len(task["BundleId"]) == 12
    assert task["InstanceId"] == iid
    assert task["Storage"]["S3"] == {"Bucket": "bundle-bucket", "Prefix": "winami"}
    # On the instant clock the action answers the state it starts, as every family does; the next
    # read shows it done.
    assert task["State"] == "pending" and "Progress" not in task
    ec2.get_waiter("bundle_task_complete").wait(BundleIds=[task["BundleId"]], WaiterConfig={"Delay": 0.2, "MaxAttempts": 10})
    done = ec2.describe_bundle_tasks(BundleIds=[task["BundleId"]])["BundleTasks"][0]
    assert (done["State"], done["Progress"]) == ("complete", "100%")
    assert "BundleTaskError" not in done


def test_cli_bundle_instance_builds_its_own_policy(server):
    server.control("POST", "reset")
    iid = windows_instance(server.client())
    _, out, _ = server.cli(
        "bundle-instance", "--instance-id", iid, "--bucket", "cli-bucket", "--prefix", "cliami",
        "--owner-akid", AKID, "--owner-sak", SECRET,
    )
    assert out["BundleTask"]["InstanceId"] == iid
    assert out["BundleTask"]["Storage"]["S3"] == {"Bucket": "cli-bucket", "Prefix": "cliami"}
    _, listed, _ = server.cli("describe-bundle-tasks")
    assert [t["BundleId"] for t in listed["BundleTasks"]] == [out["BundleTask"]["BundleId"]]


def test_only_instance_store_windows_can_be_bundled(ec2):
    for image, itype in [(LINUX_STORE, "m1.small"), (AL2023, "t3.micro")]:
        iid = ec2.run_instances(ImageId=image, InstanceType=itype, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ec2.bundle_instance(InstanceId=iid, Storage=storage())
        assert error_of(e)[0] == "InvalidInstanceType", image
    assert ec2.describe_bundle_tasks()["BundleTasks"] == []


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"bucket": "Bad_Bucket"}, "Storage.S3.Bucket"),
        ({"policy_bucket": "someone-elses"}, "bucket 'bundle-bucket'"),
        ({"policy_prefix": "other"}, "prefix 'winami'"),
        ({"expiration": "2001-01-01T00:00:00Z"}, "expired"),
    ],
)
def test_storage_is_validated(ec2, kwargs, fragment):
    iid = windows_instance(ec2)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.bundle_instance(InstanceId=iid, Storage=storage(**kwargs))
    code, message, status = error_of(e)
    assert (code, status) == ("InvalidParameterValue", 400)
    assert fragment in message


def test_missing_storage_members_and_bad_signature(ec2):
    iid = windows_instance(ec2)
    s = storage()
    del s["S3"]["UploadPolicySignature"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.bundle_instance(InstanceId=iid, Storage=s)
    assert error_of(e)[:2] == ("MissingParameter", "The request must contain the parameter Storage.S3.UploadPolicySignature")
    s = storage()
    s["S3"]["UploadPolicySignature"] = "bm90IGEgc2hhMQ=="
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.bundle_instance(InstanceId=iid, Storage=s)
    assert error_of(e)[0] == "InvalidParameterValue"


def test_unknown_ids_and_dry_run(ec2):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.bundle_instance(InstanceId="i-0123456789abcdef0", Storage=storage())
    assert error_of(e)[0] == "InvalidInstanceID.NotFound"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_bundle_tasks(BundleIds=["bun-c1a540a8"])
    assert error_of(e)[:2] == ("InvalidBundleID.NotFound", "The bundle ID 'bun-c1a540a8' does not exist")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.cancel_bundle_task(BundleId="bun-c1a540a8")
    assert error_of(e)[0] == "InvalidBundleID.NotFound"
    iid = windows_instance(ec2)
    for call in (
        lambda: ec2.bundle_instance(InstanceId=iid, Storage=storage(), DryRun=True),
        lambda: ec2.describe_bundle_tasks(DryRun=True),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_of(e)[2] == 412
    assert ec2.describe_bundle_tasks()["BundleTasks"] == [], "a dry run creates nothing"


def test_virtual_clock_steps_through_states_and_the_instance_comes_back(vserver):
    s = vserver
    c, iid = running_windows_instance(s)
    bid = c.bundle_instance(InstanceId=iid, Storage=storage())["BundleTask"]["BundleId"]

    def look():
        return c.describe_bundle_tasks(BundleIds=[bid])["BundleTasks"][0]

    def instance_status():
        st = c.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"][0]
        return st["InstanceStatus"]["Status"]

    first = look()
    assert first["State"] == "pending" and "Progress" not in first
    seen = [(first["State"], None)]
    for step in [5, 30, 60, 60, 60]:  # pending 5 s, shutdown 30 s, bundling 120 s, storing 60 s
        advance(s, step)
        t = look()
        seen.append((t["State"], t.get("Progress")))
        if t["State"] == "bundling":
            assert instance_status() == "impaired", "the guest is shut down while bundling"
    assert seen == [
        ("pending", None),
        ("waiting-for-shutdown", "0%"),
        ("bundling", "10%"),
        ("bundling", "40%"),
        ("storing", "70%"),
        ("complete", "100%"),
    ]
    assert c.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    assert instance_status() == "ok", "the instance comes back after bundling"
    assert look()["UpdateTime"] > first["UpdateTime"]


def test_cancel_half_way_ends_cancelled(vserver):
    s = vserver
    c, iid = running_windows_instance(s)
    bid = c.bundle_instance(InstanceId=iid, Storage=storage())["BundleTask"]["BundleId"]
    advance(s, 95)  # half-way through bundling
    mid = c.describe_bundle_tasks(BundleIds=[bid])["BundleTasks"][0]
    assert (mid["State"], mid["Progress"]) == ("bundling", "40%")
    cancelled = c.cancel_bundle_task(BundleId=bid)["BundleTask"]
    assert (cancelled["State"], cancelled["Progress"]) == ("cancelling", "40%")
    assert c.cancel_bundle_task(BundleId=bid)["BundleTask"]["State"] == "cancelling", "cancelling twice is harmless"
    advance(s, 5)
    end = c.describe_bundle_tasks(BundleIds=[bid])["BundleTasks"][0]
    assert end["State"] == "failed"
    assert end["BundleTaskError"]["Code"] == "Client.Cancelled"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.cancel_bundle_task(BundleId=bid)
    assert error_of(e)[0] == "IncorrectState"
    assert c.describe_bundle_tasks(Filters=[{"Name": "error-code", "Values": ["Client.Cancelled"]}])["BundleTasks"][0]["BundleId"] == bid
    # With the task over, the instance can be bundled again.
    again = c.bundle_instance(InstanceId=iid, Storage=storage())["BundleTask"]
    assert again["BundleId"] != bid


def test_a_second_bundle_while_one_runs_is_refused(vserver):
    s = vserver
    c, iid = running_windows_instance(s)
    c.bundle_instance(InstanceId=iid, Storage=storage())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.bundle_instance(InstanceId=iid, Storage=storage(prefix="again"))
    assert error_of(e)[0] == "BundlingInProgress"


def test_injected_failure_carries_its_error_and_stops_the_waiter(vserver):
    s = vserver
    c, iid = running_windows_instance(s)
    bid = c.bundle_instance(InstanceId=iid, Storage=storage())["BundleTask"]["BundleId"]
    advance(s, 40)
    body = s.control("POST", f"bundle-tasks/{bid}/fail?code=Client.S3AccessDenied&message=Access%20denied%20to%20bucket")
    assert body["state"] == "failed"
    task = c.describe_bundle_tasks(BundleIds=[bid])["BundleTasks"][0]
    assert task["State"] == "failed"
    assert task["BundleTaskError"] == {"Code": "Client.S3AccessDenied", "Message": "Access denied to bucket"}
    with pytest.raises(botocore.exceptions.WaiterError) as w:
        c.get_waiter("bundle_task_complete").wait(BundleIds=[bid], WaiterConfig={"Delay": 0.1, "MaxAttempts": 3})
    assert "failed" in str(w.value)
    s.control("POST", f"bundle-tasks/{bid}/fail", expect=409)
    s.control("POST", "bundle-tasks/bun-00000000/fail", expect=404)


def test_filters(ec2):
    iid = windows_instance(ec2)
    bid = ec2.bundle_instance(InstanceId=iid, Storage=storage(bucket="alpha-bucket", prefix="alpha"))["BundleTask"]["BundleId"]
    f = lambda name, *values: ec2.describe_bundle_tasks(Filters=[{"Name": name, "Values": list(values)}])["BundleTasks"]
    assert [t["BundleId"] for t in f("s3-bucket", "alpha-*")] == [bid]
    assert f("s3-prefix", "beta") == []
    assert [t["BundleId"] for t in f("instance-id", iid)] == [bid]
    assert [t["BundleId"] for t in f("state", "complete")] == [bid]
    assert [t["BundleId"] for t in f("progress", "100%")] == [bid]
    assert [t["BundleId"] for t in f("bundle-id", bid)] == [bid]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        f("no-such-filter", "x")
    assert error_of(e)[0] == "InvalidParameterValue"


def test_realistic_clock_progresses_on_its_own(make_server):
    # The task stays pending for 3 s of wall time, so that reading it right after BundleInstance sees
    # "pending" even on a loaded machine; the later steps are short.
    s = make_server(
        "--ephemeral", "--clock", "realistic",
        "--transition-seconds", "launch=0.2,status-checks=0.2,bundle-pending=3,bundle-shutdown=0.3,bundling=0.3,bundle-storing=0.3",
    )
    c = s.client()
    iid = windows_instance(c)
    bid = c.bundle_instance(InstanceId=iid, Storage=storage())["BundleTask"]["BundleId"]
    assert c.describe_bundle_tasks(BundleIds=[bid])["BundleTasks"][0]["State"] == "pending"
    c.get_waiter("bundle_task_complete").wait(BundleIds=[bid], WaiterConfig={"Delay": 0.3, "MaxAttempts": 200})
