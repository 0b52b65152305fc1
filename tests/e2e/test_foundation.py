"""The foundation: the query protocol, the error envelope, the control endpoints, and the region and
availability-zone catalogue, through boto3, the AWS CLI and raw HTTP."""

import re
import xml.etree.ElementTree as ET

import botocore.exceptions
import pytest

from conftest import error_of

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_cli_describe_regions(server):
    _, out, _ = server.cli("describe-regions")
    names = [r["RegionName"] for r in out["Regions"]]
    assert "us-east-1" in names and "eu-west-1" in names
    assert "af-south-1" not in names, "opt-in regions are listed only with --all-regions"
    assert names == sorted(names)
    assert all(r["Endpoint"] == f"ec2.{r['RegionName']}.amazonaws.com" for r in out["Regions"])
    _, everything, _ = server.cli("describe-regions", "--all-regions")
    statuses = {r["RegionName"]: r["OptInStatus"] for r in everything["Regions"]}
    assert statuses["af-south-1"] == "not-opted-in"
    assert statuses["us-east-1"] == "opt-in-not-required"
    assert len(statuses) > len(names)


def test_boto3_describe_availability_zones_with_any_credentials(server):
    for region in ["us-east-1", "eu-west-1", "ap-northeast-1"]:
        c = server.client(region=region, access_key="anything", secret="whatever")
        zones = c.describe_availability_zones()["AvailabilityZones"]
        assert zones, region
        for z in zones:
            assert z["RegionName"] == region
            assert z["ZoneName"].startswith(region)
            assert z["State"] == "available"
            assert z["ZoneType"] == "availability-zone"
            assert z["Messages"] == []
    us = server.client().describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in us] == [f"us-east-1{c}" for c in "abcdef"]
    assert len({z["ZoneId"] for z in us}) == 6


def test_zone_and_region_filters(server):
    c = server.client(region="eu-west-1")
    zones = c.describe_availability_zones(Filters=[{"Name": "zone-name", "Values": ["eu-west-1a", "eu-west-1c"]}])
    assert [z["ZoneName"] for z in zones["AvailabilityZones"]] == ["eu-west-1a", "eu-west-1c"]
    zones = c.describe_availability_zones(Filters=[{"Name": "zone-id", "Values": ["euw1-az?"]}, {"Name": "zone-name", "Values": ["*b"]}])
    assert [z["ZoneName"] for z in zones["AvailabilityZones"]] == ["eu-west-1b"]
    one = c.describe_availability_zones(ZoneNames=["eu-west-1b"])["AvailabilityZones"]
    assert [z["ZoneName"] for z in one] == ["eu-west-1b"]
    by_id = c.describe_availability_zones(ZoneIds=[one[0]["ZoneId"]])["AvailabilityZones"]
    assert by_id == one
    none = c.describe_availability_zones(Filters=[{"Name": "state", "Values": ["impaired"]}])
    assert none["AvailabilityZones"] == []
    regions = c.describe_regions(Filters=[{"Name": "region-name", "Values": ["eu-*"]}])["Regions"]
    assert regions and all(r["RegionName"].startswith("eu-") for r in regions)
    named = c.describe_regions(RegionNames=["af-south-1", "us-west-2"])["Regions"]
    assert [r["RegionName"] for r in named] == ["af-south-1", "us-west-2"]
    ep = c.describe_regions(Filters=[{"Name": "endpoint", "Values": ["ec2.us-west-2.amazonaws.com"]}])["Regions"]
    assert [r["RegionName"] for r in ep] == ["us-west-2"]


def test_unknown_filter_and_unknown_names(server):
    c = server.client()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_regions(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert error_of(e) == ("InvalidParameterValue", "The filter 'no-such-filter' is invalid", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_availability_zones(ZoneNames=["us-east-1z"])
    assert error_of(e)[0] == "InvalidParameterValue" and error_of(e)[2] == 400
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_regions(RegionNames=["xx-nowhere-1"])
    assert error_of(e)[0] == "InvalidParameterValue"


def test_dry_run(server):
    c = server.client()
    for call in (lambda: c.describe_regions(DryRun=True), lambda: c.describe_availability_zones(DryRun=True)):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_of(e) == ("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)


def test_unknown_action_is_invalid_action(server):
    status, headers, body = server.raw(body=b"Action=DescribeUnicorns&Version=2016-11-15")
    assert status == 400
    root = ET.fromstring(body)
    assert root.tag == "Response"
    assert root.find("Errors/Error/Code").text == "InvalidAction"
    assert "DescribeUnicorns" in root.find("Errors/Error/Message").text
    assert UUID.match(root.find("RequestID").text)
    assert headers["x-amzn-requestid"] == root.find("RequestID").text


def test_missing_action(server):
    status, _, body = server.raw(body=b"Version=2016-11-15")
    assert status == 400
    assert ET.fromstring(body).find("Errors/Error/Code").text == "MissingAction"


def test_not_implemented_operation_is_a_4xx_naming_it(server):
    c = server.client()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_vpn_gateway(Type="ipsec.1")
    code, message, status = error_of(e)
    assert (code, status) == ("NotImplemented", 400)
    assert "CreateVpnGateway" in message
    rc, _, err = server.cli("describe-vpn-gateways", check=False)
    assert rc != 0 and "NotImplemented" in err and "DescribeVpnGateways" in err


def test_every_ec2_operation_name_is_known(server):
    """Every one of the model's operations is either implemented or a NotImplemented 4xx, never
    InvalidAction and never a 5xx."""
    import botocore.session

    names = botocore.session.get_session().get_service_model("ec2").operation_names
    assert len(names) == 765
    for name in names:
        status, _, body = server.raw(body=f"Action={name}&Version=2016-11-15".encode())
        code = ET.fromstring(body).find("Errors/Error/Code") if status != 200 else None
        assert status < 500, (name, status, body)
        assert code is None or code.text != "InvalidAction", name


def test_malformed_values_are_invalid_parameter_value(server):
    for body in [b"Action=DescribeRegions&DryRun=perhaps", b"Action=DescribeRegions&AllRegions=2"]:
        status, _, text = server.raw(body=body)
        root = ET.fromstring(text)
        assert status == 400, text
        assert root.find("Errors/Error/Code").text == "InvalidParameterValue"
        assert "Value (" in root.find("Errors/Error/Message").text


def test_get_form_and_response_shape(server):
    status, headers, body = server.raw(method="GET", query="Action=DescribeRegions&Version=2016-11-15")
    assert status == 200
    assert headers["content-type"].startswith("text/xml")
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' in body
    root = ET.fromstring(body)
    ns = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
    rid = root.find(f"{ns}requestId").text
    assert UUID.match(rid) and headers["x-amzn-requestid"] == rid
    assert root.find(f"{ns}regionInfo/{ns}item/{ns}regionName") is not None


def test_request_ids_are_deterministic_per_seed(make_server):
    def ids(server):
        c = server.client()
        return [c.describe_regions()["ResponseMetadata"]["RequestId"] for _ in range(3)]

    a, b, c = make_server("--ephemeral", "--seed", "42"), make_server("--ephemeral", "--seed", "42"), make_server("--ephemeral", "--seed", "43")
    assert ids(a) == ids(b)
    assert ids(a) != ids(c)


def test_control_endpoints(make_server):
    s = make_server("--ephemeral", "--clock", "virtual", "--clock-start", "2030-05-01T00:00:00Z")
    assert s.control("GET", "health")["clock"] == "virtual"
    assert s.control("GET", "clock")["now"] == "2030-05-01T00:00:00.000Z"
    assert s.control("POST", "clock/advance?seconds=90")["now"] == "2030-05-01T00:01:30.000Z"
    assert s.control("GET", "clock")["now"] == "2030-05-01T00:01:30.000Z"
    s.control("POST", "clock/advance?seconds=-1", expect=400)
    s.control("POST", "clock/advance", expect=400)
    assert s.control("POST", "reset") == {"reset": True}
    assert s.control("GET", "clock")["now"] == "2030-05-01T00:00:00.000Z", "reset drops the virtual time too"
    s.control("GET", "nothing-here", expect=404)


def test_clock_advance_refused_outside_virtual_mode(server):
    body = server.control("POST", "clock/advance?seconds=5", expect=400)
    assert "virtual" in body["error"]


def test_env_variables_configure_the_server(binary):
    import os
    import subprocess

    from conftest import Server, free_port

    port = free_port()
    env = dict(os.environ, EC2D_PORT=str(port), EC2D_EPHEMERAL="true", EC2D_CLOCK="virtual", EC2D_SEED="9")
    p = subprocess.Popen([binary, "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        s = Server(binary)
        s.port, s.url = port, f"http://127.0.0.1:{port}"
        h = s.wait_healthy(p)
        assert h["clock"] == "virtual" and h["seed"] == 9
    finally:
        p.terminate()
        p.wait(5)


@pytest.mark.parametrize("value", ["1", "yes", "on"])
def test_boolean_env_variables_take_what_people_type(binary, value):
    import os
    import subprocess

    from conftest import Server, free_port

    port = free_port()
    env = dict(os.environ, EC2D_PORT=str(port), EC2D_EPHEMERAL=value)
    env.pop("EC2D_DATA_DIR", None)
    p = subprocess.Popen([binary, "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        s = Server(binary)
        s.port, s.url = port, f"http://127.0.0.1:{port}"
        assert s.wait_healthy(p)["store"] == "memory"
    finally:
        p.terminate()
        p.wait(5)


def test_same_seed_and_requests_give_the_same_bytes(make_server):
    """With a virtual clock, the same seed and the same request sequence give byte-identical
    responses (IDs, request IDs, addresses, timestamps); another seed gives other IDs."""

    def transcript(server):
        bodies = []

        def call(body, advance=None):
            if advance:
                server.control("POST", f"clock/advance?seconds={advance}")
            status, _, text = server.raw(body=body.encode())
            assert status == 200, text
            bodies.append(text)
            return text

        run = call(
            "Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro"
            "&MinCount=2&MaxCount=2&ClientToken=same-token"
        )
        first = re.search(r"<instanceId>(i-[0-9a-f]+)</instanceId>", run).group(1)
        call("Action=DescribeInstances&Version=2016-11-15", advance=10)
        call(f"Action=StopInstances&Version=2016-11-15&InstanceId.1={first}")
        call("Action=DescribeInstances&Version=2016-11-15", advance=20)
        call("Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true")
        return bodies

    args = ("--ephemeral", "--clock", "virtual")
    a = transcript(make_server(*args, "--seed", "7"))
    b = transcript(make_server(*args, "--seed", "7"))
    c = transcript(make_server(*args, "--seed", "8"))
    assert a == b
    assert a[0] != c[0]
    assert "<name>stopped</name>" in a[3]
