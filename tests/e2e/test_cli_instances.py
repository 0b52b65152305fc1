"""The instance lifecycle through the AWS CLI: the commands work and print the JSON shapes the AWS
CLI documentation shows (for example `StoppingInstances` with `CurrentState`/`PreviousState`
`Code` + `Name`)."""

import re

import pytest

from conftest import AL2023, st


@pytest.fixture
def cli(server):
    server.control("POST", "reset")
    return server.cli


def run(cli, *extra):
    _, out, _ = cli("run-instances", "--image-id", AL2023, "--instance-type", "t3.micro", *extra)
    return out


def describe_one(cli, iid):
    _, out, _ = cli("describe-instances", "--instance-ids", iid)
    [reservation] = out["Reservations"]
    [inst] = reservation["Instances"]
    return inst


def test_cli_run_instances_shape(cli):
    out = run(
        cli,
        "--count",
        "2",
        "--tag-specifications",
        "ResourceType=instance,Tags=[{Key=Name,Value=from-cli}]",
        "--placement",
        "AvailabilityZone=us-east-1b",
    )
    assert set(out) >= {"ReservationId", "OwnerId", "Groups", "Instances"}
    assert re.fullmatch(r"r-[0-9a-f]{17}", out["ReservationId"])
    assert out["Groups"] == []
    assert len(out["Instances"]) == 2
    for n, inst in enumerate(out["Instances"]):
        assert re.fullmatch(r"i-[0-9a-f]{17}", inst["InstanceId"])
        assert inst["State"] == st("pending")
        assert inst["StateReason"] == {"Code": "pending", "Message": "pending"}
        assert inst["AmiLaunchIndex"] == n
        assert inst["ImageId"] == AL2023 and inst["InstanceType"] == "t3.micro"
        assert inst["Placement"]["AvailabilityZone"] == "us-east-1b"
        assert inst["Tags"] == [{"Key": "Name", "Value": "from-cli"}]
        # As the CLI documentation prints it: "2013-07-19T02:42:39.000Z" (CLI v1) or "...+00:00" (v2).
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.000Z|\+00:00)", inst["LaunchTime"]), inst["LaunchTime"]
        assert inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"].startswith("vol-")


def test_cli_describe_instances(cli):
    iid = run(cli)["Instances"][0]["InstanceId"]
    inst = describe_one(cli, iid)
    assert inst["InstanceId"] == iid
    assert inst["State"] == st("running")
    assert inst["PublicIpAddress"] and inst["PublicDnsName"].endswith(".compute-1.amazonaws.com")
    _, out, _ = cli("describe-instances", "--filters", "Name=instance-state-name,Values=stopped")
    assert out == {"Reservations": []}
    _, out, _ = cli(
        "describe-instances", "--query", "Reservations[].Instances[].[InstanceId,State.Name]", "--output", "json"
    )
    assert out == [[iid, "running"]]


def test_cli_stop_start_terminate(cli):
    iid = run(cli)["Instances"][0]["InstanceId"]
    cli("wait", "instance-running", "--instance-ids", iid)
    _, out, _ = cli("stop-instances", "--instance-ids", iid)
    assert out == {
        "StoppingInstances": [{"InstanceId": iid, "CurrentState": st("stopping"), "PreviousState": st("running")}]
    }
    cli("wait", "instance-stopped", "--instance-ids", iid)
    inst = describe_one(cli, iid)
    assert inst["State"] == st("stopped")
    assert re.fullmatch(r"User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)", inst["StateTransitionReason"])
    assert inst["StateReason"]["Code"] == "Client.UserInitiatedShutdown"

    _, out, _ = cli("start-instances", "--instance-ids", iid)
    assert out == {
        "StartingInstances": [{"InstanceId": iid, "CurrentState": st("pending"), "PreviousState": st("stopped")}]
    }
    cli("wait", "instance-running", "--instance-ids", iid)

    _, out, _ = cli("terminate-instances", "--instance-ids", iid)
    assert out == {
        "TerminatingInstances": [
            {"InstanceId": iid, "CurrentState": st("shutting-down"), "PreviousState": st("running")}
        ]
    }
    cli("wait", "instance-terminated", "--instance-ids", iid)
    assert describe_one(cli, iid)["State"] == st("terminated")


def test_cli_stop_hibernate(cli):
    out = run(cli, "--hibernation-options", "Configured=true",
              "--block-device-mappings", '[{"DeviceName":"/dev/xvda","Ebs":{"Encrypted":true}}]')
    iid = out["Instances"][0]["InstanceId"]
    assert out["Instances"][0]["HibernationOptions"] == {"Configured": True}
    _, out, _ = cli("stop-instances", "--instance-ids", iid, "--hibernate")
    assert out == {
        "StoppingInstances": [{"InstanceId": iid, "CurrentState": st("stopping"), "PreviousState": st("running")}]
    }
    inst = describe_one(cli, iid)
    assert inst["State"] == st("stopped")
    assert inst["StateReason"] == {
        "Code": "Client.UserInitiatedHibernate",
        "Message": "Client.UserInitiatedHibernate: User initiated hibernate",
    }


def test_cli_stop_hibernate_without_hibernation_fails(cli):
    iid = run(cli)["Instances"][0]["InstanceId"]
    rc, _, err = cli("stop-instances", "--instance-ids", iid, "--hibernate", check=False)
    assert rc != 0
    assert "UnsupportedHibernationConfiguration" in err and "StopInstances" in err
    assert describe_one(cli, iid)["State"] == st("running")


def test_cli_stop_force_unsticks_a_held_stop(server, cli):
    iid = run(cli)["Instances"][0]["InstanceId"]
    server.control("POST", f"instances/{iid}/hold-stopping")
    cli("stop-instances", "--instance-ids", iid)
    assert describe_one(cli, iid)["State"] == st("stopping")
    _, out, _ = cli("stop-instances", "--instance-ids", iid, "--force")
    assert out == {
        "StoppingInstances": [{"InstanceId": iid, "CurrentState": st("stopping"), "PreviousState": st("stopping")}]
    }
    cli("wait", "instance-stopped", "--instance-ids", iid)
    assert describe_one(cli, iid)["State"] == st("stopped")


def test_cli_stop_several_in_order(cli):
    a, b = [i["InstanceId"] for i in run(cli, "--count", "2")["Instances"]]
    _, out, _ = cli("stop-instances", "--instance-ids", b, a, "--force")
    assert [i["InstanceId"] for i in out["StoppingInstances"]] == [b, a]
    assert all(i["CurrentState"] == st("stopping") for i in out["StoppingInstances"])


def test_cli_errors(cli):
    rc, _, err = cli("stop-instances", "--instance-ids", "i-123", check=False)
    assert rc != 0
    assert "(InvalidInstanceID.Malformed)" in err and 'Invalid id: "i-123"' in err
    rc, _, err = cli("stop-instances", "--instance-ids", "i-0123456789abcdef0", check=False)
    assert rc != 0
    assert "(InvalidInstanceID.NotFound)" in err and "The instance ID 'i-0123456789abcdef0' does not exist" in err
    iid = run(cli)["Instances"][0]["InstanceId"]
    rc, _, err = cli("stop-instances", "--instance-ids", iid, "--dry-run", check=False)
    assert rc != 0
    assert "(DryRunOperation)" in err and "Request would have succeeded, but DryRun flag is set." in err
    assert describe_one(cli, iid)["State"] == st("running")


def test_cli_describe_instances_paginates(cli):
    ids = []
    for _ in range(3):
        ids += [i["InstanceId"] for i in run(cli, "--count", "4")["Instances"]]
    _, out, _ = cli("describe-instances", "--page-size", "5")
    found = [i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]]
    assert sorted(found) == sorted(ids) and len(found) == 12, "the CLI follows NextToken through every page"
    _, out, _ = cli(
        "describe-instances", "--filters", "Name=instance-state-name,Values=running", "Name=launch-index,Values=0"
    )
    assert len([i for r in out["Reservations"] for i in r["Instances"]]) == 3
