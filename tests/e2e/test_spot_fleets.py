"""Spot Fleet end to end: RequestSpotFleet from launch specifications and launch templates, the
instances and history, ModifySpotFleetRequest, and CancelSpotFleetRequests with and without
terminating the instances (cancelled_terminating, cancelled_running, then cancelled)."""

import datetime as dt
import json

from conftest import AL2023 as AMI
from conftest import advance, fails

ROLE = "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role"
START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def specs(*types, zone="us-east-1a"):
    return [{"ImageId": AMI, "InstanceType": t, "Placement": {"AvailabilityZone": zone}} for t in types]


def request(c, target=2, **kw):
    cfg = {"IamFleetRole": ROLE, "TargetCapacity": target}
    cfg.setdefault("LaunchSpecifications", specs("t3.micro", "t3.small"))
    cfg.update(kw)
    if "LaunchTemplateConfigs" in kw:
        cfg.pop("LaunchSpecifications")
    return c.request_spot_fleet(SpotFleetRequestConfig=cfg)["SpotFleetRequestId"]


def state(c, sfr):
    return c.describe_spot_fleet_requests(SpotFleetRequestIds=[sfr])["SpotFleetRequestConfigs"][0]


def active(c, sfr):
    return {i["InstanceId"]: i for i in c.describe_spot_fleet_instances(SpotFleetRequestId=sfr)["ActiveInstances"]}


def states(c, ids):
    return {i["InstanceId"]: i["State"]["Name"] for r in c.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]}


def test_request_spot_fleet_from_launch_specifications(ec2):
    sfr = request(ec2, target=3, AllocationStrategy="diversified",
                  TagSpecifications=[{"ResourceType": "spot-fleet-request", "Tags": [{"Key": "k", "Value": "v"}]}])
    assert sfr.startswith("sfr-")
    s = state(ec2, sfr)
    assert s["SpotFleetRequestState"] == "active" and s["ActivityStatus"] == "fulfilled"
    assert {t["Key"]: t["Value"] for t in s["Tags"]} == {"k": "v"}
    cfg = s["SpotFleetRequestConfig"]
    assert cfg["AllocationStrategy"] == "diversified" and cfg["TargetCapacity"] == 3 and cfg["FulfilledCapacity"] == 3.0
    assert cfg["IamFleetRole"] == ROLE and cfg["Type"] == "maintain"
    assert [x["InstanceType"] for x in cfg["LaunchSpecifications"]] == ["t3.micro", "t3.small"]
    insts = active(ec2, sfr)
    assert len(insts) == 3
    assert {i["InstanceType"] for i in insts.values()} == {"t3.micro", "t3.small"}, "diversified over both pools"
    assert all(i["SpotInstanceRequestId"].startswith("sir-") for i in insts.values())
    desc = ec2.describe_instances(InstanceIds=list(insts))["Reservations"]
    for r in desc:
        for i in r["Instances"]:
            assert i["InstanceLifecycle"] == "spot"
            assert {t["Key"]: t["Value"] for t in i["Tags"]}["aws:ec2spot:fleet-request-id"] == sfr
    h = ec2.describe_spot_fleet_request_history(SpotFleetRequestId=sfr, StartTime=START)["HistoryRecords"]
    assert [x["EventType"] for x in h[:2]] == ["fleetRequestChange", "fleetRequestChange"]
    assert sum(1 for x in h if x["EventType"] == "instanceChange") == 3
    only = ec2.describe_spot_fleet_request_history(SpotFleetRequestId=sfr, StartTime=START, EventType="instanceChange")
    assert {x["EventInformation"]["EventSubType"] for x in only["HistoryRecords"]} == {"launched"}


def test_request_spot_fleet_from_a_launch_template(ec2):
    tid = ec2.create_launch_template(
        LaunchTemplateName="sf-lt", LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    sfr = request(
        ec2,
        target=4,
        OnDemandTargetCapacity=1,
        LaunchTemplateConfigs=[{
            "LaunchTemplateSpecification": {"LaunchTemplateId": tid, "Version": "1"},
            "Overrides": [{"InstanceType": "m5.large", "WeightedCapacity": 2.0, "AvailabilityZone": "us-east-1b"}],
        }],
    )
    cfg = state(ec2, sfr)["SpotFleetRequestConfig"]
    assert cfg["LaunchTemplateConfigs"][0]["Overrides"][0]["InstanceType"] == "m5.large"
    assert cfg["OnDemandFulfilledCapacity"] == 2.0 and cfg["FulfilledCapacity"] == 4.0
    insts = active(ec2, sfr)
    assert len(insts) == 2
    lifecycles = sorted(
        i.get("InstanceLifecycle", "on-demand")
        for r in ec2.describe_instances(InstanceIds=list(insts))["Reservations"] for i in r["Instances"]
    )
    assert lifecycles == ["on-demand", "spot"]


def test_cancel_spot_fleet_with_and_without_terminating(ec2):
    keep = request(ec2)
    kill = request(ec2)
    keep_ids, kill_ids = list(active(ec2, keep)), list(active(ec2, kill))
    r = ec2.cancel_spot_fleet_requests(SpotFleetRequestIds=[keep], TerminateInstances=False)
    assert r["SuccessfulFleetRequests"] == [{
        "CurrentSpotFleetRequestState": "cancelled_running",
        "PreviousSpotFleetRequestState": "active",
        "SpotFleetRequestId": keep,
    }]
    assert state(ec2, keep)["SpotFleetRequestState"] == "cancelled_running"
    assert set(states(ec2, keep_ids).values()) == {"running"}
    r = ec2.cancel_spot_fleet_requests(SpotFleetRequestIds=[kill], TerminateInstances=True)
    assert r["SuccessfulFleetRequests"][0]["CurrentSpotFleetRequestState"] == "cancelled_terminating"
    assert state(ec2, kill)["SpotFleetRequestState"] == "cancelled"
    assert set(states(ec2, kill_ids).values()) <= {"shutting-down", "terminated"}
    assert active(ec2, kill) == {}
    # Cancelled requests stay cancelled; unknown and malformed IDs fail one by one.
    missing = "sfr-00000000-0000-4000-8000-000000000000"
    r = ec2.cancel_spot_fleet_requests(SpotFleetRequestIds=[kill, missing, "sfr-x"], TerminateInstances=True)
    codes = {e["SpotFleetRequestId"]: e["Error"]["Code"] for e in r["UnsuccessfulFleetRequests"]}
    assert codes == {kill: "fleetRequestNotInCancellableState", missing: "fleetRequestIdDoesNotExist",
                     "sfr-x": "fleetRequestIdMalformed"}
    # The running fleet ends once its last instance is gone.
    ec2.terminate_instances(InstanceIds=keep_ids)
    assert state(ec2, keep)["SpotFleetRequestState"] == "cancelled"


def test_cancel_spot_fleet_with_the_cli(server, ec2):
    cfg = {"IamFleetRole": ROLE, "TargetCapacity": 2, "LaunchSpecifications": specs("t3.micro")}
    _, out, _ = server.cli("request-spot-fleet", "--spot-fleet-request-config", json.dumps(cfg))
    sfr = out["SpotFleetRequestId"]
    assert sfr.startswith("sfr-")
    ids = list(active(ec2, sfr))
    _, out, _ = server.cli("describe-spot-fleet-requests", "--spot-fleet-request-ids", sfr)
    assert out["SpotFleetRequestConfigs"][0]["SpotFleetRequestState"] == "active"
    _, out, _ = server.cli("describe-spot-fleet-instances", "--spot-fleet-request-id", sfr)
    assert sorted(i["InstanceId"] for i in out["ActiveInstances"]) == sorted(ids)
    _, out, _ = server.cli("cancel-spot-fleet-requests", "--spot-fleet-request-ids", sfr, "--no-terminate-instances")
    assert out["SuccessfulFleetRequests"][0]["CurrentSpotFleetRequestState"] == "cancelled_running"
    other = request(ec2)
    _, out, _ = server.cli("cancel-spot-fleet-requests", "--spot-fleet-request-ids", other, "--terminate-instances")
    assert out["SuccessfulFleetRequests"][0]["CurrentSpotFleetRequestState"] == "cancelled_terminating"
    _, out, _ = server.cli("describe-spot-fleet-requests", "--spot-fleet-request-ids", other)
    assert out["SpotFleetRequestConfigs"][0]["SpotFleetRequestState"] == "cancelled"


def test_modify_spot_fleet_request(ec2):
    sfr = request(ec2, target=2, LaunchSpecifications=specs("t3.micro"))
    assert ec2.modify_spot_fleet_request(SpotFleetRequestId=sfr, TargetCapacity=4)["Return"] is True
    assert len(active(ec2, sfr)) == 4
    ec2.modify_spot_fleet_request(SpotFleetRequestId=sfr, TargetCapacity=1, ExcessCapacityTerminationPolicy="default")
    assert len(active(ec2, sfr)) == 1
    ec2.modify_spot_fleet_request(SpotFleetRequestId=sfr, TargetCapacity=0, ExcessCapacityTerminationPolicy="noTermination")
    assert len(active(ec2, sfr)) == 1, "noTermination keeps the excess"
    assert state(ec2, sfr)["SpotFleetRequestConfig"]["TargetCapacity"] == 0


def test_spot_fleet_replaces_an_interrupted_instance(vs):
    c = vs.client()
    sfr = request(c, target=1, LaunchSpecifications=specs("t3.micro"))
    (first,) = active(c, sfr)
    vs.control("POST", f"spot/interrupt?instance-id={first}")
    advance(vs, 121)
    (second,) = active(c, sfr)
    assert second != first
    h = c.describe_spot_fleet_request_history(SpotFleetRequestId=sfr, StartTime=START, EventType="instanceChange")
    assert [(x["EventInformation"]["EventSubType"], x["EventInformation"]["InstanceId"]) for x in h["HistoryRecords"]] == [
        ("launched", first), ("terminated", first), ("launched", second)]


def test_spot_fleet_errors(ec2):
    code, _, status = fails(ec2.describe_spot_fleet_requests, SpotFleetRequestIds=["sfr-00000000-0000-4000-8000-000000000000"])
    assert (code, status) == ("InvalidSpotFleetRequestId.NotFound", 400)
    assert fails(ec2.describe_spot_fleet_instances, SpotFleetRequestId="sfr-bad")[0] == "InvalidSpotFleetRequestId.Malformed"
    cfg = {"IamFleetRole": ROLE, "TargetCapacity": 1}
    code, _, _ = fails(ec2.request_spot_fleet, SpotFleetRequestConfig=cfg)
    assert code == "InvalidSpotFleetRequestConfig"
    code, _, _ = fails(ec2.request_spot_fleet, SpotFleetRequestConfig=dict(cfg, LaunchSpecifications=specs("t3.micro"),
                                                                            AllocationStrategy="lowest-price"))
    assert code == "InvalidSpotFleetRequestConfig", "Spot Fleet spells it lowestPrice"
    assert fails(ec2.request_spot_fleet, DryRun=True,
                 SpotFleetRequestConfig=dict(cfg, LaunchSpecifications=specs("t3.micro")))[0] == "DryRunOperation"
    assert ec2.describe_spot_fleet_requests()["SpotFleetRequestConfigs"] == []
