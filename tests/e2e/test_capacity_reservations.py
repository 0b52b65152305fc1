"""Capacity Reservations end to end: the capacity model, matching, cancel, interruptible
allocations, future-dated states and Capacity Blocks, on the instant and virtual clocks."""

import datetime as dt

import botocore.exceptions
import pytest

from conftest import AL2023 as AMI
from conftest import advance, error_of
from conftest import instance_of as inst
from conftest import instance_state as state

ZONE = "us-east-1a"
TYPE = "t3.micro"


def pool(server, zone=ZONE, itype=TYPE):
    return server.control("GET", f"capacity?availability-zone={zone}&instance-type={itype}")


def set_pool(server, count, zone=ZONE, itype=TYPE):
    return server.control("POST", f"capacity?availability-zone={zone}&instance-type={itype}&count={count}")


def reserve(c, count, **kw):
    kw.setdefault("InstanceType", TYPE)
    kw.setdefault("InstancePlatform", "Linux/UNIX")
    kw.setdefault("AvailabilityZone", ZONE)
    return c.create_capacity_reservation(InstanceCount=count, **kw)["CapacityReservation"]


def cr(c, crid):
    return c.describe_capacity_reservations(CapacityReservationIds=[crid])["CapacityReservations"][0]


def counts(c, crid):
    r = cr(c, crid)
    return r["State"], r["TotalInstanceCount"], r["AvailableInstanceCount"]


def run(c, count=1, **kw):
    out = c.run_instances(ImageId=AMI, InstanceType=TYPE, MinCount=count, MaxCount=count,
                          Placement={"AvailabilityZone": ZONE}, **kw)
    return [i["InstanceId"] for i in out["Instances"]]


def targeting(crid):
    return {"CapacityReservationTarget": {"CapacityReservationId": crid}}




def test_last_capacity_reserved_then_cancelled(server, ec2):
    set_pool(server, 5)
    assert pool(server)["free"] == 5
    # Two on-demand instances that avoid reservations, then a targeted reservation for the rest.
    od = run(ec2, 2, CapacityReservationSpecification={"CapacityReservationPreference": "none"})
    r = reserve(ec2, 3, InstanceMatchCriteria="targeted", TagSpecifications=[
        {"ResourceType": "capacity-reservation", "Tags": [{"Key": "team", "Value": "ml"}]}])
    crid = r["CapacityReservationId"]
    assert crid.startswith("cr-") and len(crid) == 20
    assert (r["State"], r["TotalInstanceCount"], r["AvailableInstanceCount"]) == ("active", 3, 3)
    assert r["InstanceMatchCriteria"] == "targeted" and r["EndDateType"] == "unlimited"
    assert r["ReservationType"] == "default" and r["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert r["CapacityReservationArn"] == f"arn:aws:ec2:us-east-1:000000000000:capacity-reservation/{crid}"
    assert pool(server) == {**pool(server), "held": 2, "reserved": 3, "free": 0}

    # The pool is full: an unreserved launch fails, as does a start; a targeted one succeeds.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        run(ec2, 1)
    assert error_of(e) == ("InsufficientInstanceCapacity", "Insufficient capacity.", 500)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        reserve(ec2, 1)
    assert error_of(e)[0] == "InsufficientInstanceCapacity"
    [a, b] = run(ec2, 2, CapacityReservationSpecification=targeting(crid))
    i = inst(ec2, a)
    assert i["CapacityReservationId"] == crid
    assert i["CapacityReservationSpecification"] == {"CapacityReservationTarget": {"CapacityReservationId": crid}}
    assert counts(ec2, crid) == ("active", 3, 1)
    assert cr(ec2, crid)["CapacityAllocations"] == [{"AllocationType": "used", "Count": 2}]
    usage = ec2.get_capacity_reservation_usage(CapacityReservationId=crid)
    assert usage["InstanceUsages"] == [{"AccountId": "000000000000", "UsedInstanceCount": 2}]
    assert (usage["TotalInstanceCount"], usage["AvailableInstanceCount"], usage["State"]) == (3, 1, "active")
    found = ec2.describe_instances(Filters=[{"Name": "capacity-reservation-id", "Values": [crid]}])
    assert sorted(x["InstanceId"] for res in found["Reservations"] for x in res["Instances"]) == sorted([a, b])

    # A targeted launch beyond the reservation's room.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        run(ec2, 2, CapacityReservationSpecification=targeting(crid))
    assert error_of(e)[0] == "ReservationCapacityExceeded"

    # Stop gives the unit back to the reservation; start takes it again.
    ec2.stop_instances(InstanceIds=[b])
    assert counts(ec2, crid) == ("active", 3, 2)
    ec2.start_instances(InstanceIds=[b])
    assert counts(ec2, crid) == ("active", 3, 1)
    ec2.stop_instances(InstanceIds=[b])
    # An on-demand stop frees a pool unit, and a start takes it back.
    ec2.stop_instances(InstanceIds=[od[0]])
    assert pool(server)["free"] == 1
    ec2.start_instances(InstanceIds=[od[0]])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.start_instances(InstanceIds=[od[1]]) if state(ec2, od[1]) == "stopped" else run(ec2, 1)
    assert error_of(e)[0] == "InsufficientInstanceCapacity"

    # DryRun changes nothing.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.cancel_capacity_reservation(CapacityReservationId=crid, DryRun=True)
    assert error_of(e)[0] == "DryRunOperation"

    assert ec2.cancel_capacity_reservation(CapacityReservationId=crid)["Return"] is True
    # The record stays visible, with its counts; the running instance keeps running.
    assert counts(ec2, crid) == ("cancelled", 3, 2)
    assert state(ec2, a) == "running"
    assert ec2.describe_capacity_reservations(Filters=[{"Name": "state", "Values": ["cancelled"]}])[
        "CapacityReservations"][0]["CapacityReservationId"] == crid
    # The unused reserved units went back to the pool: a, plus the two on-demand ones, hold 3.
    assert pool(server) == {**pool(server), "held": 3, "reserved": 0, "free": 2}
    run(ec2, 1)
    # The stopped instance that targets the cancelled reservation cannot start again.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.start_instances(InstanceIds=[b])
    assert error_of(e)[0] == "ReservationCapacityExceeded"
    assert state(ec2, b) == "stopped"
    # Cancelling twice is refused.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.cancel_capacity_reservation(CapacityReservationId=crid)
    assert error_of(e) == ("IncorrectState",
                           f"The Capacity Reservation {crid} is in an incorrect state ('cancelled') for this operation.", 400)
    # Terminating the instance that ran in it frees its pool unit; the cancelled counts stay.
    ec2.terminate_instances(InstanceIds=[a])
    assert pool(server)["free"] == 2
    assert counts(ec2, crid) == ("cancelled", 3, 2)


def test_open_reservations_are_used_by_matching_launches(server, ec2):
    crid = reserve(ec2, 2)["CapacityReservationId"]
    other = reserve(ec2, 1, InstanceType="t3.small")["CapacityReservationId"]
    [a] = run(ec2, 1)
    assert inst(ec2, a)["CapacityReservationId"] == crid
    [b] = run(ec2, 1, CapacityReservationSpecification={"CapacityReservationPreference": "none"})
    assert "CapacityReservationId" not in inst(ec2, b)
    assert inst(ec2, b)["CapacityReservationSpecification"] == {"CapacityReservationPreference": "none"}
    assert counts(ec2, crid) == ("active", 2, 1)
    assert counts(ec2, other) == ("active", 1, 1), "another instance type does not match"
    [c, d] = run(ec2, 2)
    assert inst(ec2, c).get("CapacityReservationId") == crid
    assert "CapacityReservationId" not in inst(ec2, d), "the rest runs on demand"
    # capacity-reservations-only fails when no open reservation has room.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        run(ec2, 1, CapacityReservationSpecification={"CapacityReservationPreference": "capacity-reservations-only"})
    assert error_of(e)[0] == "InsufficientInstanceCapacity"
    ec2.terminate_instances(InstanceIds=[a])
    assert counts(ec2, crid) == ("active", 2, 1)
    [e1] = run(ec2, 1, CapacityReservationSpecification={"CapacityReservationPreference": "capacity-reservations-only"})
    assert inst(ec2, e1)["CapacityReservationId"] == crid
    f = ec2.describe_instances(Filters=[{"Name": "capacity-reservation-specification.capacity-reservation-preference",
                                         "Values": ["none"]}])
    assert [x["InstanceId"] for r in f["Reservations"] for x in r["Instances"]] == [b]
    # Both preference and target: refused.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        run(ec2, 1, CapacityReservationSpecification={"CapacityReservationPreference": "open", **targeting(crid)})
    assert error_of(e)[0] == "InvalidParameterCombination"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        run(ec2, 1, CapacityReservationSpecification=targeting("cr-0123456789abcdef0"))
    assert error_of(e)[0] == "InvalidCapacityReservationId.NotFound"


def test_describe_filters_pagination_and_errors(ec2):
    ids = [reserve(ec2, 1, InstanceType=t)["CapacityReservationId"] for t in ("t3.micro", "t3.small", "m5.large")]
    everything = ec2.describe_capacity_reservations()["CapacityReservations"]
    assert sorted(r["CapacityReservationId"] for r in everything) == sorted(ids)
    seen, token = [], None
    while True:
        kw = {"MaxResults": 2, **({"NextToken": token} if token else {})}
        page = ec2.describe_capacity_reservations(**kw)
        seen += [r["CapacityReservationId"] for r in page["CapacityReservations"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 3
    got = ec2.describe_capacity_reservations(Filters=[{"Name": "instance-type", "Values": ["t3.*"]}])
    assert len(got["CapacityReservations"]) == 2
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_capacity_reservations(MaxResults=1001)
    assert error_of(e) == ("InvalidParameterValue",
                           "1001 is an invalid value for MaxResults. MaxResults must be null, or between 1 and 1000.", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_capacity_reservations(CapacityReservationIds=["cr-0123456789abcdef0"])
    assert error_of(e)[0] == "InvalidCapacityReservationId.NotFound"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.cancel_capacity_reservation(CapacityReservationId="cr-nope")
    assert error_of(e)[0] == "InvalidCapacityReservationId.Malformed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_capacity_reservations(Filters=[{"Name": "bogus", "Values": ["x"]}])
    assert error_of(e)[0] == "InvalidParameterValue"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        reserve(ec2, 1, EndDateType="limited")
    assert error_of(e)[0] == "InvalidParameterCombination"
    for dry in (ec2.describe_capacity_reservations, lambda **k: reserve(ec2, 1, **k)):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            dry(DryRun=True)
        assert error_of(e)[0] == "DryRunOperation"


def test_client_token_and_modify(server, ec2):
    a = reserve(ec2, 2, ClientToken="tok-1")
    b = reserve(ec2, 2, ClientToken="tok-1")
    assert a["CapacityReservationId"] == b["CapacityReservationId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        reserve(ec2, 3, ClientToken="tok-1")
    assert error_of(e)[0] == "IdempotentParameterMismatch"
    crid = a["CapacityReservationId"]
    assert ec2.modify_capacity_reservation(CapacityReservationId=crid, InstanceCount=4)["Return"] is True
    assert counts(ec2, crid) == ("active", 4, 4)
    assert pool(server)["reserved"] == 4
    ec2.modify_capacity_reservation(CapacityReservationId=crid, InstanceMatchCriteria="targeted")
    assert cr(ec2, crid)["InstanceMatchCriteria"] == "targeted"
    set_pool(server, 4)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.modify_capacity_reservation(CapacityReservationId=crid, InstanceCount=5)
    assert error_of(e)[0] == "InsufficientInstanceCapacity"
    set_pool(server, "default")


def test_limited_reservation_expires_at_its_end_date(vs):
    c = vs.client()
    now = vs.now()
    crid = reserve(c, 2, EndDateType="limited", EndDate=now + dt.timedelta(hours=2))["CapacityReservationId"]
    [a] = run(c, 1)
    assert counts(c, crid) == ("active", 2, 1)
    advance(vs, 7199)
    assert counts(c, crid)[0] == "active"
    advance(vs, 1)
    assert counts(c, crid) == ("expired", 2, 1)
    assert state(c, a) == "running", "the instance runs on outside the reservation"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.cancel_capacity_reservation(CapacityReservationId=crid)
    assert error_of(e)[0] == "IncorrectState"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_interruptible_capacity_reservation_allocation(CapacityReservationId=crid, InstanceCount=1)
    assert error_of(e)[0] == "IncorrectState"


def future_dated(c, vs, **kw):
    now = vs.now()
    start = now + dt.timedelta(days=10)
    r = reserve(c, 8, InstanceType="m5.xlarge", InstanceMatchCriteria="targeted", StartDate=start,
                CommitmentDuration=14 * 86400, **kw)
    return r, start


def test_future_dated_states_and_the_commitment(vs):
    c = vs.client()
    r, start = future_dated(c, vs)
    crid = r["CapacityReservationId"]
    assert (r["State"], r["TotalInstanceCount"], r["DeliveryPreference"]) == ("assessing", 0, "incremental")
    advance(vs, 60)
    assert counts(c, crid) == ("scheduled", 0, 0)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.cancel_capacity_reservation(CapacityReservationId=crid)
    assert error_of(e)[0] == "IncorrectState"
    advance(vs, 10 * 86400)
    got = cr(c, crid)
    assert (got["State"], got["TotalInstanceCount"]) == ("active", 8)
    assert got["CommitmentInfo"]["CommittedInstanceCount"] == 8
    # Inside the commitment: refused.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.cancel_capacity_reservation(CapacityReservationId=crid)
    code, message, status = error_of(e)
    assert (code, status) == ("IncorrectState", 400) and "commitment" in message
    advance(vs, 14 * 86400)
    assert c.cancel_capacity_reservation(CapacityReservationId=crid)["Return"] is True
    # Assessing can be cancelled; too-early start dates are refused.
    r2, _ = future_dated(c, vs)
    assert c.cancel_capacity_reservation(CapacityReservationId=r2["CapacityReservationId"])["Return"] is True
    with pytest.raises(botocore.exceptions.ClientError) as e:
        reserve(c, 8, InstanceType="m5.xlarge", InstanceMatchCriteria="targeted",
                StartDate=vs.now(), CommitmentDuration=14 * 86400)
    assert error_of(e)[0] == "InvalidParameterValue"


def test_a_delayed_reservation_waives_the_commitment(vs):
    c = vs.client()
    r, _ = future_dated(c, vs)
    crid = r["CapacityReservationId"]
    advance(vs, 60)
    assert vs.control("POST", f"capacity-reservations/{crid}/delay?seconds={11 * 86400}")["state"] == "delayed"
    assert counts(c, crid)[0] == "delayed"
    advance(vs, 11 * 86400)
    assert counts(c, crid) == ("active", 8, 8)
    assert c.cancel_capacity_reservation(CapacityReservationId=crid)["Return"] is True


def test_capacity_block_cannot_be_cancelled_or_modified(vs):
    c = vs.client()
    offers = c.describe_capacity_block_offerings(InstanceType="p5.48xlarge", InstanceCount=1,
                                                 CapacityDurationHours=24)["CapacityBlockOfferings"]
    assert len(offers) >= 2 and offers[0]["CapacityBlockOfferingId"].startswith("cbr-")
    assert offers == c.describe_capacity_block_offerings(InstanceType="p5.48xlarge", InstanceCount=1,
                                                         CapacityDurationHours=24)["CapacityBlockOfferings"]
    o = offers[0]
    bought = c.purchase_capacity_block(CapacityBlockOfferingId=o["CapacityBlockOfferingId"],
                                       InstancePlatform="Linux/UNIX")
    r = bought["CapacityReservation"]
    crid = r["CapacityReservationId"]
    assert (r["State"], r["ReservationType"]) == ("payment-pending", "capacity-block")
    assert bought["CapacityBlocks"][0]["CapacityReservationIds"] == [crid]
    advance(vs, 5)
    assert counts(c, crid)[0] == "scheduled"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.run_instances(ImageId=AMI, InstanceType="p5.48xlarge", MinCount=1, MaxCount=1,
                        Placement={"AvailabilityZone": o["AvailabilityZone"]},
                        CapacityReservationSpecification=targeting(crid))
    assert error_of(e)[0] == "InvalidCapacityReservationState.PendingActivation"
    for call in (lambda: c.cancel_capacity_reservation(CapacityReservationId=crid),
                 lambda: c.modify_capacity_reservation(CapacityReservationId=crid, InstanceCount=2)):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_of(e)[0] in ("UnsupportedOperation", "IncorrectState")
    start = o["StartDate"]
    now = vs.now()
    advance(vs, int((start - now).total_seconds()))
    assert counts(c, crid) == ("active", 1, 1)
    iid = c.run_instances(ImageId=AMI, InstanceType="p5.48xlarge", MinCount=1, MaxCount=1,
                          Placement={"AvailabilityZone": o["AvailabilityZone"]},
                          CapacityReservationSpecification=targeting(crid))["Instances"][0]["InstanceId"]
    advance(vs, 10)
    assert inst(c, iid)["InstanceLifecycle"] == "capacity-block"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.cancel_capacity_reservation(CapacityReservationId=crid)
    assert error_of(e) == ("UnsupportedOperation", "You can't cancel a Capacity Block.", 400)
    advance(vs, 24 * 3600)
    assert counts(c, crid)[0] == "expired"
    assert state(c, iid) in ("shutting-down", "terminated")
    assert inst(c, iid)["StateReason"]["Code"] == "Server.CapacityBlockEnded"


def test_interruptible_allocation_lend_run_reclaim(vs):
    c = vs.client()
    src = reserve(c, 10)["CapacityReservationId"]
    [owner] = run(c, 1)  # runs in the open source reservation
    advance(vs, 10)
    assert counts(c, src) == ("active", 10, 9)
    # Too much, an end date, and DryRun are refused.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_interruptible_capacity_reservation_allocation(CapacityReservationId=src, InstanceCount=10)
    assert error_of(e)[0] == "InvalidParameterValue"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_interruptible_capacity_reservation_allocation(CapacityReservationId=src, InstanceCount=4, DryRun=True)
    assert error_of(e)[0] == "DryRunOperation"
    out = c.create_interruptible_capacity_reservation_allocation(
        CapacityReservationId=src, InstanceCount=4,
        TagSpecifications=[{"ResourceType": "capacity-reservation", "Tags": [{"Key": "k", "Value": "v"}]}])
    assert out["SourceCapacityReservationId"] == src
    assert (out["TargetInstanceCount"], out["Status"], out["InterruptionType"]) == (4, "pending", "adhoc")
    s = cr(c, src)
    alloc = s["InterruptibleCapacityAllocation"]
    irr = alloc["InterruptibleCapacityReservationId"]
    assert (s["TotalInstanceCount"], s["AvailableInstanceCount"]) == (6, 5)
    advance(vs, 5)
    assert cr(c, src)["InterruptibleCapacityAllocation"]["Status"] == "active"
    i = cr(c, irr)
    assert (i["Interruptible"], i["InstanceMatchCriteria"], i["TotalInstanceCount"]) == (True, "targeted", 4)
    assert i["InterruptionInfo"] == {"SourceCapacityReservationId": src, "InterruptionType": "adhoc"}
    assert i["Tags"] == [{"Key": "k", "Value": "v"}]
    assert [x["CapacityReservationId"] for x in c.describe_capacity_reservations(
        Filters=[{"Name": "interruptible", "Values": ["true"]}])["CapacityReservations"]] == [irr]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_interruptible_capacity_reservation_allocation(CapacityReservationId=src, InstanceCount=1)
    assert error_of(e)[0] == "IncorrectState", "one allocation per source"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.cancel_capacity_reservation(CapacityReservationId=irr)
    assert error_of(e)[0] == "UnsupportedOperation"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.cancel_capacity_reservation(CapacityReservationId=src)
    assert error_of(e)[0] == "IncorrectState"

    # Consumers run three instances in the interruptible reservation.
    ids = run(c, 3, InstanceMarketOptions={"MarketType": "interruptible-capacity-reservation"},
              CapacityReservationSpecification=targeting(irr))
    advance(vs, 10)
    assert inst(c, ids[0])["InstanceLifecycle"] == "interruptible-capacity-reservation"
    usage = c.get_capacity_reservation_usage(CapacityReservationId=irr)
    assert (usage["Interruptible"], usage["AvailableInstanceCount"]) == (True, 1)
    assert usage["InterruptionInfo"]["SourceCapacityReservationId"] == src
    assert c.get_capacity_reservation_usage(CapacityReservationId=src)["InterruptibleCapacityAllocation"]["InstanceCount"] == 4

    # Reclaim down to 1: the unused unit comes back at once, two instances get a notice.
    up = c.update_interruptible_capacity_reservation_allocation(CapacityReservationId=src, TargetInstanceCount=1)
    assert (up["InstanceCount"], up["TargetInstanceCount"], up["Status"]) == (3, 1, "updating")
    assert up["InterruptibleCapacityReservationId"] == irr
    assert counts(c, src) == ("active", 7, 6)
    advance(vs, 119)
    assert all(state(c, x) == "running" for x in ids)
    advance(vs, 1)
    gone = [x for x in ids if state(c, x) == "shutting-down"]
    assert len(gone) == 2
    assert inst(c, gone[0])["StateReason"]["Code"] == "Server.InterruptibleCapacityReservationReclaim"
    s = cr(c, src)
    assert s["InterruptibleCapacityAllocation"]["Status"] == "active"
    assert s["InterruptibleCapacityAllocation"]["InstanceCount"] == 1
    assert (s["TotalInstanceCount"], s["AvailableInstanceCount"]) == (9, 8)
    assert counts(c, irr) == ("active", 1, 0)
    advance(vs, 8)
    assert all(state(c, x) == "terminated" for x in gone)

    # Target 0 cancels the allocation and interrupts the last instance.
    [last] = [x for x in ids if x not in gone]
    up = c.update_interruptible_capacity_reservation_allocation(CapacityReservationId=src, TargetInstanceCount=0)
    assert up["Status"] == "canceling"
    advance(vs, 120)
    assert state(c, last) == "shutting-down"
    s = cr(c, src)
    assert s["InterruptibleCapacityAllocation"]["Status"] == "canceled"
    assert (s["TotalInstanceCount"], s["AvailableInstanceCount"]) == (10, 9)
    assert counts(c, irr)[0] == "cancelled"
    assert state(c, owner) == "running"
    # The source can be cancelled now.
    assert c.cancel_capacity_reservation(CapacityReservationId=src)["Return"] is True


def test_interruptible_source_checks(vs):
    c = vs.client()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_interruptible_capacity_reservation_allocation(CapacityReservationId="cr-0123456789abcdef0",
                                                               InstanceCount=1)
    assert error_of(e)[0] == "InvalidCapacityReservationId.NotFound"
    now = vs.now()
    limited = reserve(c, 2, EndDateType="limited", EndDate=now + dt.timedelta(days=1))["CapacityReservationId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_interruptible_capacity_reservation_allocation(CapacityReservationId=limited, InstanceCount=1)
    assert error_of(e)[0] == "IncorrectState"
    plain = reserve(c, 2)["CapacityReservationId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.update_interruptible_capacity_reservation_allocation(CapacityReservationId=plain, TargetInstanceCount=1)
    assert error_of(e)[0] == "IncorrectState"
    # Growth beyond the source's unused capacity is refused; growth within it lends more.
    c.create_interruptible_capacity_reservation_allocation(CapacityReservationId=plain, InstanceCount=1)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.update_interruptible_capacity_reservation_allocation(CapacityReservationId=plain, TargetInstanceCount=3)
    assert error_of(e)[0] == "InvalidParameterValue"
    up = c.update_interruptible_capacity_reservation_allocation(CapacityReservationId=plain, TargetInstanceCount=2)
    assert (up["InstanceCount"], up["Status"]) == (2, "updating")
    assert counts(c, plain) == ("active", 0, 0)
