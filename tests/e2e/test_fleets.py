"""EC2 Fleet end to end: instant fleets filling mixed capacity with per-override errors, the
allocation strategies on the market's prices and the pools' free capacity, maintain fleets
replacing interrupted Spot Instances on the virtual clock, ModifyFleet, DeleteFleets, history."""

import datetime as dt
import json

import pytest

from conftest import AL2023 as AMI
from conftest import advance, error_of, fails

import botocore.exceptions


def template(c, name="fleet-lt", itype="t3.micro"):
    r = c.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": AMI, "InstanceType": itype})
    return r["LaunchTemplate"]["LaunchTemplateId"]


def pool(server, zone, itype, count):
    server.control("POST", f"capacity?availability-zone={zone}&instance-type={itype}&count={count}")


def config(tid, overrides):
    return [{"LaunchTemplateSpecification": {"LaunchTemplateId": tid, "Version": "$Latest"}, "Overrides": overrides}]


def fleet_instances(c, fid):
    return {i["InstanceId"]: i for i in c.describe_fleet_instances(FleetId=fid)["ActiveInstances"]}


def describe(c, fid):
    return c.describe_fleets(FleetIds=[fid])["Fleets"][0]


def spot_price(c, itype, zone):
    h = c.describe_spot_price_history(
        InstanceTypes=[itype], AvailabilityZone=zone, ProductDescriptions=["Linux/UNIX"], MaxResults=1
    )["SpotPriceHistory"]
    return float(h[0]["SpotPrice"])


def test_instant_fleet_fills_mixed_capacity_and_reports_an_exhausted_pool(server, ec2):
    tid = template(ec2)
    pool(server, "us-east-1b", "t3.small", 0)
    overrides = [
        {"InstanceType": "t3.micro", "AvailabilityZone": "us-east-1a", "Priority": 1},
        {"InstanceType": "t3.small", "AvailabilityZone": "us-east-1b", "Priority": 0},
        {"InstanceType": "t3.micro", "AvailabilityZone": "us-east-1c", "Priority": 2},
    ]
    r = ec2.create_fleet(
        Type="instant",
        LaunchTemplateConfigs=config(tid, overrides),
        TargetCapacitySpecification={
            "TotalTargetCapacity": 5,
            "OnDemandTargetCapacity": 2,
            "SpotTargetCapacity": 3,
            "DefaultTargetCapacityType": "spot",
        },
        OnDemandOptions={"AllocationStrategy": "prioritized"},
        SpotOptions={"AllocationStrategy": "diversified"},
        TagSpecifications=[{"ResourceType": "fleet", "Tags": [{"Key": "team", "Value": "batch"}]}],
    )
    fid = r["FleetId"]
    assert fid.startswith("fleet-")
    # The exhausted pool (the On-Demand priority, and one of the diversified Spot pools) failed for
    # both lifecycles, each error naming its template and override.
    errors = {(e["Lifecycle"], e["LaunchTemplateAndOverrides"]["Overrides"]["InstanceType"]): e for e in r["Errors"]}
    assert set(errors) == {("on-demand", "t3.small"), ("spot", "t3.small")}
    for e in errors.values():
        assert e["ErrorCode"] == "InsufficientInstanceCapacity"
        lto = e["LaunchTemplateAndOverrides"]
        assert lto["LaunchTemplateSpecification"]["LaunchTemplateId"] == tid
        assert lto["Overrides"]["AvailabilityZone"] == "us-east-1b"
    by_lifecycle = {}
    for s in r["Instances"]:
        assert s["LaunchTemplateAndOverrides"]["LaunchTemplateSpecification"]["Version"] == "$Latest"
        zone = s["LaunchTemplateAndOverrides"]["Overrides"]["AvailabilityZone"]
        by_lifecycle.setdefault(s["Lifecycle"], []).extend((zone, i) for i in s["InstanceIds"])
    assert sorted(z for z, _ in by_lifecycle["on-demand"]) == ["us-east-1a", "us-east-1a"]
    spot_zones = sorted(z for z, _ in by_lifecycle["spot"])
    assert len(spot_zones) == 3 and set(spot_zones) == {"us-east-1a", "us-east-1c"}
    ids = [i for v in by_lifecycle.values() for _, i in v]
    res = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    insts = {i["InstanceId"]: i for rr in res for i in rr["Instances"]}
    assert len(insts) == 5
    assert sum(1 for i in insts.values() if i.get("InstanceLifecycle") == "spot") == 3
    for i in insts.values():
        tags = {t["Key"]: t["Value"] for t in i["Tags"]}
        assert tags["aws:ec2:fleet-id"] == fid
        assert tags["aws:ec2launchtemplate:id"] == tid
    f = describe(ec2, fid)
    assert f["Type"] == "instant" and f["FleetState"] == "active"
    assert f["FulfilledCapacity"] == 5.0 and f["FulfilledOnDemandCapacity"] == 2.0
    assert {t["Key"]: t["Value"] for t in f["Tags"]} == {"team": "batch"}
    assert len(f["Errors"]) == 2 and sum(len(s["InstanceIds"]) for s in f["Instances"]) == 5
    assert set(fleet_instances(ec2, fid)) == set(ids)
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [fid]}])["Tags"][0]["ResourceType"] == "fleet"


def test_instant_fleet_with_the_cli(server, ec2):
    tid = template(ec2, "cli-fleet")
    _, out, _ = server.cli(
        "create-fleet",
        "--type", "instant",
        "--launch-template-configs",
        json.dumps(config(tid, [{"InstanceType": "t3.small", "AvailabilityZone": "us-east-1a"}])),
        "--target-capacity-specification",
        "TotalTargetCapacity=2,DefaultTargetCapacityType=on-demand",
    )
    fid = out["FleetId"]
    assert out["Errors"] == []
    assert out["Instances"][0]["InstanceType"] == "t3.small" and len(out["Instances"][0]["InstanceIds"]) == 2
    _, out, _ = server.cli("describe-fleets", "--fleet-ids", fid)
    assert out["Fleets"][0]["FulfilledCapacity"] == 2.0
    _, out, _ = server.cli("describe-fleet-instances", "--fleet-id", fid)
    assert len(out["ActiveInstances"]) == 2
    rc, _, err = server.cli("delete-fleets", "--fleet-ids", fid, "--no-terminate-instances", check=False)
    assert rc == 0
    _, out, _ = server.cli("delete-fleets", "--fleet-ids", fid, "--terminate-instances")
    assert out["SuccessfulFleetDeletions"][0]["CurrentFleetState"] == "deleted_terminating"


def test_price_capacity_optimized_follows_prices_and_free_capacity(server, ec2):
    tid = template(ec2, "pco")
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    prices = {z: spot_price(ec2, "m5.large", z) for z in zones}
    cheap, mid, _ = sorted(zones, key=lambda z: prices[z])
    assert prices[cheap] < prices[mid], prices

    def instant(count):
        r = ec2.create_fleet(
            Type="instant",
            LaunchTemplateConfigs=config(tid, [{"InstanceType": "m5.large", "AvailabilityZone": z} for z in zones]),
            TargetCapacitySpecification={"TotalTargetCapacity": count, "DefaultTargetCapacityType": "spot"},
            SpotOptions={"AllocationStrategy": "price-capacity-optimized"},
        )
        return r, {s["LaunchTemplateAndOverrides"]["Overrides"]["AvailabilityZone"]: len(s["InstanceIds"]) for s in r["Instances"]}

    # Room everywhere: the cheapest pool takes it all.
    r, placed = instant(3)
    assert placed == {cheap: 3} and r["Errors"] == []
    # The cheapest pool can no longer take the whole request: the next cheapest deep pool does.
    pool(server, cheap, "m5.large", 4)  # 3 held: one unit free
    r, placed = instant(3)
    assert placed == {mid: 3} and r["Errors"] == []
    # lowest-price, by contrast, takes the one free unit of the cheapest pool first and reports it short.
    r = ec2.create_fleet(
        Type="instant",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "m5.large", "AvailabilityZone": z} for z in zones]),
        TargetCapacitySpecification={"TotalTargetCapacity": 3, "DefaultTargetCapacityType": "spot"},
        SpotOptions={"AllocationStrategy": "lowest-price"},
    )
    placed = {s["LaunchTemplateAndOverrides"]["Overrides"]["AvailabilityZone"]: len(s["InstanceIds"]) for s in r["Instances"]}
    assert placed == {cheap: 1, mid: 2}
    assert [e["LaunchTemplateAndOverrides"]["Overrides"]["AvailabilityZone"] for e in r["Errors"]] == [cheap]


def test_weights_count_capacity_units(ec2):
    tid = template(ec2, "weights")
    r = ec2.create_fleet(
        Type="instant",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "m5.xlarge", "WeightedCapacity": 4.0}]),
        TargetCapacitySpecification={"TotalTargetCapacity": 10, "DefaultTargetCapacityType": "on-demand"},
    )
    assert len(r["Instances"][0]["InstanceIds"]) == 3
    assert describe(ec2, r["FleetId"])["FulfilledCapacity"] == 12.0
    r = ec2.create_fleet(
        Type="instant",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "m5.xlarge"}]),
        TargetCapacitySpecification={
            "TotalTargetCapacity": 8, "DefaultTargetCapacityType": "on-demand", "TargetCapacityUnitType": "vcpu"
        },
    )
    assert len(r["Instances"][0]["InstanceIds"]) == 2, "m5.xlarge has 4 vCPUs"


def test_maintain_fleet_replaces_an_interrupted_spot_instance(vs):
    c = vs.client()
    tid = template(c, "maintain")
    r = c.create_fleet(
        Type="maintain",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "t3.micro", "AvailabilityZone": "us-east-1a"}]),
        TargetCapacitySpecification={"TotalTargetCapacity": 2, "DefaultTargetCapacityType": "spot"},
    )
    fid = r["FleetId"]
    assert r["Instances"] == []
    first = fleet_instances(c, fid)
    assert len(first) == 2 and all(i["SpotInstanceRequestId"].startswith("sir-") for i in first.values())
    victim = sorted(first)[0]
    assert vs.control("POST", f"spot/interrupt?instance-id={victim}")["interrupted"] == [victim]
    advance(vs, 60)
    assert set(fleet_instances(c, fid)) == set(first), "still running during the two-minute notice"
    advance(vs, 61)
    now = fleet_instances(c, fid)
    assert victim not in now and len(now) == 2
    (replacement,) = set(now) - set(first)
    inst = c.describe_instances(InstanceIds=[replacement])["Reservations"][0]["Instances"][0]
    assert inst["InstanceLifecycle"] == "spot"
    assert c.describe_instances(InstanceIds=[victim])["Reservations"][0]["Instances"][0]["State"]["Name"] in (
        "shutting-down", "terminated")
    f = describe(c, fid)
    assert f["FleetState"] == "active" and f["ActivityStatus"] == "fulfilled" and f["FulfilledCapacity"] == 2.0
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    h = c.describe_fleet_history(FleetId=fid, StartTime=start)["HistoryRecords"]
    events = [(x["EventType"], x["EventInformation"]["EventSubType"], x["EventInformation"].get("InstanceId")) for x in h]
    assert ("instance-change", "terminated", victim) in events
    assert ("instance-change", "launched", replacement) in events
    assert events[:2] == [("fleet-change", "submitted", None), ("fleet-change", "active", None)]
    # The replacement came at the end of the notice, on the virtual clock.
    t_repl = [x["Timestamp"] for x in h if x["EventInformation"].get("InstanceId") == replacement][0]
    assert (t_repl - h[0]["Timestamp"]).total_seconds() == pytest.approx(120, abs=2)
    only = c.describe_fleet_history(FleetId=fid, StartTime=start, EventType="instance-change")["HistoryRecords"]
    assert {x["EventType"] for x in only} == {"instance-change"}


def test_maintain_fleet_retries_when_capacity_returns(vs):
    c = vs.client()
    tid = template(c, "retry")
    pool(vs, "us-east-1a", "c5.large", 1)
    r = c.create_fleet(
        Type="maintain",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "c5.large", "AvailabilityZone": "us-east-1a"}]),
        TargetCapacitySpecification={"TotalTargetCapacity": 3, "DefaultTargetCapacityType": "on-demand"},
    )
    fid = r["FleetId"]
    assert len(fleet_instances(c, fid)) == 1
    assert describe(c, fid)["ActivityStatus"] == "pending_fulfillment"
    pool(vs, "us-east-1a", "c5.large", 10)
    advance(vs, 61)
    assert len(fleet_instances(c, fid)) == 3
    assert describe(c, fid)["ActivityStatus"] == "fulfilled"


def test_modify_fleet_grows_and_shrinks(ec2):
    tid = template(ec2, "modify")
    fid = ec2.create_fleet(
        Type="maintain",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "t3.micro"}]),
        TargetCapacitySpecification={"TotalTargetCapacity": 2, "DefaultTargetCapacityType": "on-demand"},
    )["FleetId"]
    assert ec2.modify_fleet(FleetId=fid, TargetCapacitySpecification={"TotalTargetCapacity": 4})["Return"] is True
    assert len(fleet_instances(ec2, fid)) == 4
    ec2.modify_fleet(FleetId=fid, TargetCapacitySpecification={"TotalTargetCapacity": 1})
    assert len(fleet_instances(ec2, fid)) == 1
    assert describe(ec2, fid)["TargetCapacitySpecification"]["TotalTargetCapacity"] == 1
    instant = ec2.create_fleet(
        Type="instant",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "t3.micro"}]),
        TargetCapacitySpecification={"TotalTargetCapacity": 1, "DefaultTargetCapacityType": "on-demand"},
    )["FleetId"]
    code, _, status = fails(ec2.modify_fleet, FleetId=instant, TargetCapacitySpecification={"TotalTargetCapacity": 2})
    assert (code, status) == ("IncorrectState", 400)


def test_delete_fleets_with_and_without_terminating(ec2):
    tid = template(ec2, "delete")
    mk = lambda t: ec2.create_fleet(  # noqa: E731
        Type=t,
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "t3.micro"}]),
        TargetCapacitySpecification={"TotalTargetCapacity": 2, "DefaultTargetCapacityType": "on-demand"},
    )["FleetId"]
    keep, kill, instant = mk("request"), mk("maintain"), mk("instant")
    keep_ids, kill_ids = list(fleet_instances(ec2, keep)), list(fleet_instances(ec2, kill))
    r = ec2.delete_fleets(FleetIds=[keep], TerminateInstances=False)
    assert r["SuccessfulFleetDeletions"] == [
        {"CurrentFleetState": "deleted_running", "PreviousFleetState": "active", "FleetId": keep}
    ]
    assert describe(ec2, keep)["FleetState"] == "deleted_running"
    states = {i["State"]["Name"] for rr in ec2.describe_instances(InstanceIds=keep_ids)["Reservations"] for i in rr["Instances"]}
    assert states == {"running"}
    r = ec2.delete_fleets(FleetIds=[kill], TerminateInstances=True)
    assert r["SuccessfulFleetDeletions"][0]["CurrentFleetState"] == "deleted_terminating"
    assert describe(ec2, kill)["FleetState"] == "deleted"
    states = {i["State"]["Name"] for rr in ec2.describe_instances(InstanceIds=kill_ids)["Reservations"] for i in rr["Instances"]}
    assert states <= {"shutting-down", "terminated"}
    # An instant fleet must terminate its instances; unknown and malformed IDs fail one by one.
    missing = "fleet-00000000-0000-4000-8000-000000000000"
    r = ec2.delete_fleets(FleetIds=[instant, missing, "fleet-bad"], TerminateInstances=False)
    assert r["SuccessfulFleetDeletions"] == []
    codes = {e["FleetId"]: e["Error"]["Code"] for e in r["UnsuccessfulFleetDeletions"]}
    assert codes == {instant: "fleetNotInDeletableState", missing: "fleetIdDoesNotExist", "fleet-bad": "fleetIdMalformed"}
    assert ec2.delete_fleets(FleetIds=[instant], TerminateInstances=True)["SuccessfulFleetDeletions"][0]["FleetId"] == instant
    # Terminating the last instance of a deleted_running fleet ends it.
    ec2.terminate_instances(InstanceIds=keep_ids)
    assert describe(ec2, keep)["FleetState"] == "deleted"


def test_fleet_errors_dry_run_and_idempotency(ec2):
    tid = template(ec2, "errors")
    base = dict(
        Type="instant",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "t3.micro"}]),
        TargetCapacitySpecification={"TotalTargetCapacity": 1, "DefaultTargetCapacityType": "on-demand"},
    )
    assert fails(ec2.create_fleet, DryRun=True, **base)[0] == "DryRunOperation"
    assert ec2.describe_fleets()["Fleets"] == []
    code, msg, status = fails(ec2.describe_fleets, FleetIds=["fleet-00000000-0000-4000-8000-000000000000"])
    assert (code, status) == ("InvalidFleetId.NotFound", 400) and "fleet-00000000" in msg
    assert fails(ec2.describe_fleets, FleetIds=["fleet-nope"])[0] == "InvalidFleetId.Malformed"
    bad = dict(base, LaunchTemplateConfigs=config("lt-0123456789abcdef0", []))
    assert fails(ec2.create_fleet, **bad)[0] == "InvalidLaunchTemplateId.NotFound"
    bad = dict(base, TargetCapacitySpecification={"TotalTargetCapacity": 1, "OnDemandTargetCapacity": 2,
                                                  "DefaultTargetCapacityType": "on-demand"})
    assert fails(ec2.create_fleet, **bad)[0] == "InvalidParameterValue"
    assert fails(ec2.create_fleet, **dict(base, Type="sometimes"))[0] == "InvalidParameterValue"
    assert fails(ec2.create_fleet, **dict(base, SpotOptions={"AllocationStrategy": "cheapest"}))[0] == "InvalidParameterValue"
    code, msg, _ = fails(ec2.create_fleet, **dict(base, SpotOptions={"MaxTotalPrice": "1.0"}))
    assert code == "NotImplemented" and "MaxTotalPrice" in msg
    assert ec2.describe_fleets()["Fleets"] == [], "failed requests create nothing"
    a = ec2.create_fleet(ClientToken="tok-1", **base)
    b = ec2.create_fleet(ClientToken="tok-1", **base)
    assert a["FleetId"] == b["FleetId"] and a["Instances"] == b["Instances"]
    other = dict(base, TargetCapacitySpecification={"TotalTargetCapacity": 2, "DefaultTargetCapacityType": "on-demand"})
    assert fails(ec2.create_fleet, ClientToken="tok-1", **other)[0] == "IdempotentParameterMismatch"
    assert len(ec2.describe_fleets()["Fleets"]) == 1


def test_validity_window_on_the_virtual_clock(vs):
    c = vs.client()
    tid = template(c, "window")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # the virtual clock's start
    fid = c.create_fleet(
        Type="request",
        LaunchTemplateConfigs=config(tid, [{"InstanceType": "t3.micro"}]),
        TargetCapacitySpecification={"TotalTargetCapacity": 2, "DefaultTargetCapacityType": "on-demand"},
        ValidFrom=t0 + dt.timedelta(minutes=10),
        ValidUntil=t0 + dt.timedelta(minutes=30),
        TerminateInstancesWithExpiration=True,
    )["FleetId"]
    assert fleet_instances(c, fid) == {}
    advance(vs, 9 * 60)
    assert fleet_instances(c, fid) == {}, "not valid yet"
    advance(vs, 61)
    ids = list(fleet_instances(c, fid))
    assert len(ids) == 2, "a request fleet launches when it becomes valid"
    advance(vs, 20 * 60)
    f = describe(c, fid)
    assert f["FleetState"] == "deleted"
    states = {i["State"]["Name"] for r in c.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]}
    assert states <= {"shutting-down", "terminated"}, "TerminateInstancesWithExpiration"
    h = c.describe_fleet_history(FleetId=fid, StartTime=t0, EventType="fleet-change")["HistoryRecords"]
    assert [x["EventInformation"]["EventSubType"] for x in h] == ["submitted", "active", "expired"]


def test_describe_fleets_filters_and_pages(ec2):
    tid = template(ec2, "filters")
    ids = []
    for t in ["instant", "maintain", "request"]:
        ids.append(ec2.create_fleet(
            Type=t,
            LaunchTemplateConfigs=config(tid, [{"InstanceType": "t3.micro"}]),
            TargetCapacitySpecification={"TotalTargetCapacity": 1, "DefaultTargetCapacityType": "on-demand"},
            TagSpecifications=[{"ResourceType": "fleet", "Tags": [{"Key": "kind", "Value": t}]}],
        )["FleetId"])
    got = ec2.describe_fleets(Filters=[{"Name": "type", "Values": ["maintain", "request"]}])["Fleets"]
    assert sorted(f["FleetId"] for f in got) == sorted(ids[1:])
    got = ec2.describe_fleets(Filters=[{"Name": "tag:kind", "Values": ["instant"]}])["Fleets"]
    assert [f["FleetId"] for f in got] == [ids[0]]
    ec2.delete_fleets(FleetIds=[ids[1]], TerminateInstances=True)
    got = ec2.describe_fleets(Filters=[{"Name": "fleet-state", "Values": ["deleted"]}])["Fleets"]
    assert [f["FleetId"] for f in got] == [ids[1]]
    assert fails(ec2.describe_fleets, Filters=[{"Name": "colour", "Values": ["x"]}])[0] == "InvalidParameterValue"
    page = ec2.describe_fleets(MaxResults=5)
    assert len(page["Fleets"]) == 3 and "NextToken" not in page
    pages = list(ec2.get_paginator("describe_fleets").paginate(PaginationConfig={"PageSize": 5}))
    assert sum(len(p["Fleets"]) for p in pages) == 3
