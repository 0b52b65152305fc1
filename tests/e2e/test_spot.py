"""Spot Instance requests end to end: requests, the market, cancellations, interruptions, and the
Spot rules of the instance actions, on the instant and virtual clocks."""

import datetime as dt

import botocore.exceptions
import pytest

from conftest import AL2023 as AMI
from conftest import advance, error_of, instance_state

SPEC = {"ImageId": AMI, "InstanceType": "t3.micro"}


def look(c, sid):
    r = c.describe_spot_instance_requests(SpotInstanceRequestIds=[sid])["SpotInstanceRequests"][0]
    return r["State"], r["Status"]["Code"], r.get("InstanceId")




def request(c, **kw):
    kw.setdefault("LaunchSpecification", SPEC)
    return c.request_spot_instances(**kw)["SpotInstanceRequests"][0]["SpotInstanceRequestId"]


def fulfilled(server, c, **kw):
    """A request advanced (virtual clock) until its instance runs."""
    sid = request(c, **kw)
    advance(server, 5)  # evaluation 2 s + fulfilment 3 s
    advance(server, 8)  # launch 8 s
    state, code, iid = look(c, sid)
    assert (state, code) == ("active", "fulfilled")
    assert instance_state(c, iid) == "running"
    return sid, iid


def test_waiter_fulfil_cancel_keeps_the_instance_running(ec2):
    r = ec2.request_spot_instances(InstanceCount=1, LaunchSpecification=SPEC)["SpotInstanceRequests"][0]
    sid = r["SpotInstanceRequestId"]
    assert sid.startswith("sir-") and len(sid) == 12
    assert (r["State"], r["Status"]["Code"]) == ("open", "pending-evaluation")
    assert r["Type"] == "one-time" and r["InstanceInterruptionBehavior"] == "terminate"
    assert r["SpotPrice"] == "0.010400", "the default maximum price is the On-Demand price"
    assert r["Tags"] == []
    ec2.get_waiter("spot_instance_request_fulfilled").wait(SpotInstanceRequestIds=[sid], WaiterConfig={"Delay": 0.2, "MaxAttempts": 10})
    state, code, iid = look(ec2, sid)
    assert (state, code) == ("active", "fulfilled")
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["InstanceLifecycle"] == "spot" and inst["SpotInstanceRequestId"] == sid
    cancelled = ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=[sid])["CancelledSpotInstanceRequests"]
    assert cancelled == [{"SpotInstanceRequestId": sid, "State": "cancelled"}]
    assert look(ec2, sid) == ("cancelled", "request-canceled-and-instance-running", iid)
    assert instance_state(ec2, iid) == "running", "cancelling never terminates the instance"
    ec2.terminate_instances(InstanceIds=[iid])
    assert look(ec2, sid)[:2] == ("cancelled", "instance-terminated-by-user")


def test_virtual_clock_shows_every_step(vs):
    c = vs.client()
    sid = request(c)
    assert look(c, sid) == ("open", "pending-evaluation", None)
    advance(vs, 2)
    assert look(c, sid) == ("open", "pending-fulfillment", None)
    advance(vs, 3)
    state, code, iid = look(c, sid)
    assert (state, code) == ("active", "fulfilled") and instance_state(c, iid) == "pending"
    advance(vs, 8)
    assert instance_state(c, iid) == "running"


def test_one_time_request_closes_when_its_instance_is_terminated(vs):
    c = vs.client()
    sid, iid = fulfilled(vs, c)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.stop_instances(InstanceIds=[iid])
    code, message, _ = error_of(e)
    assert code == "UnsupportedOperation" and "one-time Spot Instance request" in message
    c.terminate_instances(InstanceIds=[iid])
    assert look(c, sid)[:2] == ("active", "fulfilled"), "the request reacts when the instance is gone"
    advance(vs, 8)
    assert look(c, sid) == ("closed", "instance-terminated-by-user", iid)


def test_persistent_request_survives_an_interruption(vs):
    c = vs.client()
    sid, first = fulfilled(vs, c, Type="persistent")
    body = vs.control("POST", f"spot/interrupt?instance-id={first}")
    assert body["interrupted"] == [first]
    assert look(c, sid) == ("active", "marked-for-termination", first)
    advance(vs, 119)
    assert instance_state(c, first) == "running", "the two-minute notice has not run out"
    advance(vs, 1)
    assert instance_state(c, first) == "shutting-down"
    advance(vs, 8)
    assert instance_state(c, first) == "terminated"
    assert look(c, sid)[:2] == ("open", "instance-terminated-no-capacity")
    advance(vs, 5)
    state, code, second = look(c, sid)
    assert (state, code) == ("active", "fulfilled") and second != first
    advance(vs, 8)
    assert instance_state(c, second) == "running"
    term = c.describe_instances(InstanceIds=[first])["Reservations"][0]["Instances"][0]
    assert term["StateReason"]["Code"] == "Server.SpotInstanceTermination"


def test_interruption_by_price_terminates_a_one_time_request(vs):
    c = vs.client()
    sid, iid = fulfilled(vs, c)
    vs.control("POST", f"spot/interrupt?instance-id={iid}&cause=price")
    advance(vs, 128)
    assert look(c, sid) == ("closed", "instance-terminated-by-price", iid)


def test_a_market_rise_above_the_maximum_price_interrupts(vs):
    c = vs.client()
    now = vs.now()
    history = c.describe_spot_price_history(
        InstanceTypes=["t3.micro"], ProductDescriptions=["Linux/UNIX"], AvailabilityZone="us-east-1a", EndTime=now
    )["SpotPriceHistory"]
    current = history[0]["SpotPrice"]
    sid, iid = fulfilled(vs, c, SpotPrice=current, LaunchSpecification={**SPEC, "Placement": {"AvailabilityZone": "us-east-1a"}})
    codes = []
    for _ in range(96):  # up to four days, an hour at a time
        advance(vs, 3600)
        codes.append(look(c, sid)[1])
        if codes[-1] != "fulfilled":
            break
    assert "instance-terminated-by-price" in codes or "marked-for-termination" in codes, codes


def test_price_too_low_then_schedule_expired(vs):
    c = vs.client()
    now = vs.now()
    sid = request(c, SpotPrice="0.001", ValidUntil=now + dt.timedelta(hours=2))
    advance(vs, 2)
    assert look(c, sid) == ("open", "price-too-low", None)
    advance(vs, 7200)
    assert look(c, sid) == ("cancelled", "schedule-expired", None)


def test_not_scheduled_yet_until_valid_from(vs):
    c = vs.client()
    now = vs.now()
    sid = request(c, ValidFrom=now + dt.timedelta(minutes=10))
    advance(vs, 2)
    assert look(c, sid)[:2] == ("open", "not-scheduled-yet")
    advance(vs, 600)
    assert look(c, sid)[:2] == ("open", "pending-fulfillment")


def test_capacity_not_available_until_the_pool_has_room(vs):
    c = vs.client()
    vs.control("POST", "spot/capacity?availability-zone=us-east-1b&instance-type=t3.small&count=0")
    spec = {"ImageId": AMI, "InstanceType": "t3.small", "Placement": {"AvailabilityZone": "us-east-1b"}}
    sid = request(c, LaunchSpecification=spec)
    advance(vs, 2)
    assert look(c, sid)[:2] == ("open", "capacity-not-available")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.run_instances(ImageId=AMI, InstanceType="t3.small", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1b"},
                        InstanceMarketOptions={"MarketType": "spot"})
    assert error_of(e)[0] == "InsufficientInstanceCapacity" and error_of(e)[2] == 500
    vs.control("POST", "spot/capacity?availability-zone=us-east-1b&instance-type=t3.small&count=1")
    advance(vs, 60)
    assert look(c, sid)[:2] == ("open", "pending-fulfillment")
    advance(vs, 3)
    assert look(c, sid)[:2] == ("active", "fulfilled")
    other = request(c, LaunchSpecification=spec)
    advance(vs, 2)
    assert look(c, other)[:2] == ("open", "capacity-not-available"), "the pool holds one instance"


def test_the_spot_limit_is_a_setting_of_the_capacity_pool(vs):
    c = vs.client()
    pool = "capacity?availability-zone=us-east-1c&instance-type=t3.small"
    view = vs.control("POST", pool + "&spot-limit=1")
    assert (view["spotLimit"], view["spotHeld"], view["held"]) == (1, 0, 0)
    spec = {"ImageId": AMI, "InstanceType": "t3.small", "Placement": {"AvailabilityZone": "us-east-1c"}}
    sid, iid = fulfilled(vs, c, LaunchSpecification=spec)
    view = vs.control("GET", pool)
    assert (view["spotLimit"], view["spotHeld"], view["held"]) == (1, 1, 1)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.run_instances(ImageId=AMI, InstanceType="t3.small", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1c"},
                        InstanceMarketOptions={"MarketType": "spot"})
    assert error_of(e)[0] == "InsufficientInstanceCapacity"
    # On-Demand launches are not bound by the Spot limit.
    c.run_instances(ImageId=AMI, InstanceType="t3.small", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1c"})
    # The older path sets the same limit.
    assert vs.control("POST", "spot/capacity?availability-zone=us-east-1c&instance-type=t3.small&count=unlimited")["limit"] is None
    assert vs.control("GET", pool)["spotLimit"] is None
    c.terminate_instances(InstanceIds=[iid])
    advance(vs, 30)
    assert look(c, sid)[:2] == ("closed", "instance-terminated-by-user")
    assert vs.control("GET", pool)["spotHeld"] == 0, "a closed request no longer counts"


def test_cancel_before_fulfilment(vs):
    c = vs.client()
    sid = request(c)
    c.cancel_spot_instance_requests(SpotInstanceRequestIds=[sid])
    assert look(c, sid) == ("cancelled", "canceled-before-fulfillment", None)
    advance(vs, 60)
    assert look(c, sid) == ("cancelled", "canceled-before-fulfillment", None), "a cancelled request never launches"


def test_persistent_stop_start_and_cancel_while_disabled(vs):
    c = vs.client()
    sid, iid = fulfilled(vs, c, Type="persistent", InstanceInterruptionBehavior="stop")
    c.stop_instances(InstanceIds=[iid])
    assert look(c, sid)[:2] == ("active", "marked-for-stop")
    advance(vs, 15)
    assert look(c, sid)[:2] == ("disabled", "instance-stopped-by-user")
    c.start_instances(InstanceIds=[iid])
    assert look(c, sid)[:2] == ("active", "fulfilled")
    advance(vs, 8)
    c.stop_instances(InstanceIds=[iid])
    advance(vs, 15)
    assert look(c, sid)[:2] == ("disabled", "instance-stopped-by-user")
    c.cancel_spot_instance_requests(SpotInstanceRequestIds=[sid])
    assert look(c, sid)[0] == "cancelled"
    advance(vs, 10)
    assert instance_state(c, iid) == "shutting-down", "EC2 terminates the stopped instance of a cancelled request"
    advance(vs, 8)
    assert look(c, sid)[:2] == ("cancelled", "instance-terminated-by-service")


def test_interruption_stop_then_ec2_restarts_it(vs):
    c = vs.client()
    sid, iid = fulfilled(vs, c, Type="persistent", InstanceInterruptionBehavior="stop")
    vs.control("POST", f"spot/interrupt?instance-id={iid}")
    assert look(c, sid)[:2] == ("active", "marked-for-stop")
    advance(vs, 120 + 15)
    assert look(c, sid)[:2] == ("disabled", "instance-stopped-no-capacity")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.start_instances(InstanceIds=[iid])
    assert error_of(e)[0] == "UnsupportedOperation", "only EC2 restarts an interrupted instance"
    advance(vs, 300)
    assert look(c, sid)[:2] == ("active", "fulfilled")
    advance(vs, 8)
    assert instance_state(c, iid) == "running"


def test_price_interruption_with_stop_and_hibernate(vs):
    c = vs.client()
    sid, iid = fulfilled(vs, c, Type="persistent", InstanceInterruptionBehavior="stop")
    vs.control("POST", f"spot/interrupt?instance-id={iid}&cause=price")
    advance(vs, 135)
    assert look(c, sid)[:2] == ("disabled", "instance-stopped-by-price")
    hsid, hiid = fulfilled(vs, c, Type="persistent", InstanceInterruptionBehavior="hibernate")
    vs.control("POST", f"spot/interrupt?instance-id={hiid}")
    assert look(c, hsid)[:2] == ("active", "marked-for-hibernation")
    advance(vs, 120 + 25)
    assert instance_state(c, hiid) == "stopped"
    assert c.describe_instances(InstanceIds=[hiid])["Reservations"][0]["Instances"][0]["StateReason"]["Code"] == "Server.SpotInstanceHibernate"


def test_interrupting_a_pool(vs):
    c = vs.client()
    spec = {"ImageId": AMI, "InstanceType": "t3.micro", "Placement": {"AvailabilityZone": "us-east-1c"}}
    a, ia = fulfilled(vs, c, LaunchSpecification=spec)
    b, ib = fulfilled(vs, c, LaunchSpecification=spec)
    body = vs.control("POST", "spot/interrupt?availability-zone=us-east-1c&instance-type=t3.micro")
    assert sorted(body["interrupted"]) == sorted([ia, ib])
    vs.control("POST", "spot/interrupt?instance-id=i-0123456789abcdef0", expect=404)


def test_run_instances_spot_market(ec2):
    r = ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=2, MaxCount=2, InstanceMarketOptions={"MarketType": "spot"},
                          TagSpecifications=[{"ResourceType": "spot-instances-request", "Tags": [{"Key": "team", "Value": "x"}]}])
    ids = [i["InstanceId"] for i in r["Instances"]]
    sids = [i["SpotInstanceRequestId"] for i in r["Instances"]]
    assert all(i["InstanceLifecycle"] == "spot" for i in r["Instances"])
    reqs = ec2.describe_spot_instance_requests(SpotInstanceRequestIds=sids)["SpotInstanceRequests"]
    assert [(q["State"], q["Status"]["Code"]) for q in reqs] == [("active", "fulfilled")] * 2
    assert sorted(q["InstanceId"] for q in reqs) == sorted(ids)
    assert all(q["Tags"] == [{"Key": "team", "Value": "x"}] for q in reqs)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                          InstanceMarketOptions={"MarketType": "spot", "SpotOptions": {"MaxPrice": "0.001"}})
    assert error_of(e)[0] == "SpotMaxPriceTooLow"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                          InstanceMarketOptions={"MarketType": "spot", "SpotOptions": {"SpotInstanceType": "persistent"}})
    assert error_of(e)[0] == "InvalidParameterCombination"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                          InstanceMarketOptions={"MarketType": "spot", "SpotOptions": {"MaxPrice": "0.0001"}})
    assert error_of(e)[0] == "InvalidParameterValue"


def test_errors_ids_and_batches(ec2):
    sid = request(ec2)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=[sid, "sir-zzzzzzzz"])
    assert error_of(e) == ("InvalidSpotInstanceRequestID.NotFound", "The spot instance request ID 'sir-zzzzzzzz' does not exist", 400)
    assert look(ec2, sid)[0] == "active", "a failing batch cancels nothing"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_spot_instance_requests(SpotInstanceRequestIds=["sir-BAD"])
    assert error_of(e)[0] == "InvalidSpotInstanceRequestID.Malformed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.request_spot_instances(LaunchSpecification=SPEC, Type="one-time", InstanceInterruptionBehavior="stop")
    assert error_of(e)[0] == "InvalidParameterCombination"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.request_spot_instances(LaunchSpecification={**SPEC, "ImageId": "ami-0123456789abcdef0xyz"})
    assert error_of(e)[0] == "InvalidAMIID.Malformed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.request_spot_instances(LaunchSpecification=SPEC, TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}])
    assert error_of(e)[:2] == ("InvalidParameterValue", "'instance' is not a valid taggable resource type for this operation.")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.request_spot_instances(LaunchSpecification=SPEC, InstanceCount=3001)
    assert error_of(e)[0] == "RequestResourceCountExceeded"


def test_missing_request_id(server):
    status, _, body = server.raw(body=b"Action=CancelSpotInstanceRequests&Version=2016-11-15")
    assert status == 400
    assert "<Code>MissingParameter</Code>" in body
    assert "The request must contain the parameter SpotInstanceRequestId" in body


def test_dry_run_everywhere(ec2):
    sid = request(ec2)
    calls = [
        lambda: ec2.request_spot_instances(LaunchSpecification=SPEC, DryRun=True),
        lambda: ec2.describe_spot_instance_requests(DryRun=True),
        lambda: ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=[sid], DryRun=True),
        lambda: ec2.describe_spot_price_history(DryRun=True, InstanceTypes=["t3.micro"]),
    ]
    for call in calls:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_of(e)[::2] == ("DryRunOperation", 412)
    assert len(ec2.describe_spot_instance_requests()["SpotInstanceRequests"]) == 1
    assert look(ec2, sid)[0] == "active"


def test_client_token_idempotency(ec2):
    a = ec2.request_spot_instances(LaunchSpecification=SPEC, ClientToken="tok-1")["SpotInstanceRequests"]
    b = ec2.request_spot_instances(LaunchSpecification=SPEC, ClientToken="tok-1")["SpotInstanceRequests"]
    assert [r["SpotInstanceRequestId"] for r in a] == [r["SpotInstanceRequestId"] for r in b]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.request_spot_instances(LaunchSpecification={**SPEC, "InstanceType": "t3.small"}, ClientToken="tok-1")
    assert error_of(e)[0] == "IdempotentParameterMismatch"


def test_filters_pagination_and_tags(ec2):
    ids = [request(ec2, TagSpecifications=[{"ResourceType": "spot-instances-request", "Tags": [{"Key": "n", "Value": str(i)}]}]) for i in range(7)]
    pages = list(ec2.get_paginator("describe_spot_instance_requests").paginate(PaginationConfig={"PageSize": 5}))
    seen = [r["SpotInstanceRequestId"] for p in pages for r in p["SpotInstanceRequests"]]
    assert sorted(seen) == sorted(ids) and len(pages) == 2
    f = lambda name, *v: [r["SpotInstanceRequestId"] for r in ec2.describe_spot_instance_requests(Filters=[{"Name": name, "Values": list(v)}])["SpotInstanceRequests"]]
    assert f("tag:n", "3") == [ids[3]]
    assert sorted(f("state", "active")) == sorted(ids)
    assert sorted(f("status-code", "fulfilled")) == sorted(ids)
    assert sorted(f("type", "one-time")) == sorted(ids)
    assert f("launch.instance-type", "m5.*") == []
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "extra", "Value": "yes"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["spot-instances-request"]}, {"Name": "key", "Values": ["extra"]}])["Tags"]
    assert tags == [{"Key": "extra", "ResourceId": ids[0], "ResourceType": "spot-instances-request", "Value": "yes"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        f("no-such-filter", "x")
    assert error_of(e)[0] == "InvalidParameterValue"


def test_price_history(vs):
    c = vs.client()
    advance(vs, 86400 * 2)
    now = vs.now()
    h = c.describe_spot_price_history(InstanceTypes=["m5.large"], ProductDescriptions=["Linux/UNIX"], AvailabilityZone="us-east-1a",
                                      StartTime=now - dt.timedelta(hours=24), EndTime=now)["SpotPriceHistory"]
    assert len(h) >= 2
    stamps = [p["Timestamp"] for p in h]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    assert stamps[-1] <= now - dt.timedelta(hours=24), "the price in force at the start time is included"
    assert all(p["AvailabilityZoneId"] == "use1-az4" and p["InstanceType"] == "m5.large" for p in h)
    assert all(0.25 * 0.096 <= float(p["SpotPrice"]) <= 0.70 * 0.096 for p in h)
    assert all(len(p["SpotPrice"].split(".")[1]) == 6 for p in h)
    again = c.describe_spot_price_history(InstanceTypes=["m5.large"], ProductDescriptions=["Linux/UNIX"], AvailabilityZone="us-east-1a",
                                          StartTime=now - dt.timedelta(hours=24), EndTime=now)["SpotPriceHistory"]
    assert again == h, "the market is deterministic"
    win = c.describe_spot_price_history(InstanceTypes=["m5.large"], ProductDescriptions=["Windows"], AvailabilityZone="us-east-1a",
                                        StartTime=now - dt.timedelta(hours=24), EndTime=now)["SpotPriceHistory"]
    assert float(win[0]["SpotPrice"]) > float(h[0]["SpotPrice"])
    pages = list(c.get_paginator("describe_spot_price_history").paginate(InstanceTypes=["t3.micro", "t3.small"], PaginationConfig={"PageSize": 10}))
    total = sum(len(p["SpotPriceHistory"]) for p in pages)
    single = len(c.describe_spot_price_history(InstanceTypes=["t3.micro", "t3.small"])["SpotPriceHistory"])
    assert total == single and len(pages) > 1
    filtered = c.describe_spot_price_history(Filters=[{"Name": "instance-type", "Values": ["t3.*"]}, {"Name": "availability-zone", "Values": ["us-east-1f"]}])["SpotPriceHistory"]
    assert filtered and all(p["InstanceType"].startswith("t3.") and p["AvailabilityZone"] == "us-east-1f" for p in filtered)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_spot_price_history(AvailabilityZone="us-east-1a", AvailabilityZoneId="use1-az4")
    assert error_of(e)[0] == "InvalidParameterCombination"


def test_cli_request_and_cancel(server):
    server.control("POST", "reset")
    import json

    _, out, _ = server.cli("request-spot-instances", "--launch-specification", json.dumps(SPEC))
    sid = out["SpotInstanceRequests"][0]["SpotInstanceRequestId"]
    _, out, _ = server.cli("cancel-spot-instance-requests", "--spot-instance-request-ids", sid)
    assert out == {"CancelledSpotInstanceRequests": [{"SpotInstanceRequestId": sid, "State": "cancelled"}]}
