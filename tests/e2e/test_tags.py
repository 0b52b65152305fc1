"""CreateTags, DeleteTags and DescribeTags (spec section 10) on instances and on the default VPC,
subnets and security group."""

import pytest

from conftest import fails, instance_of
from conftest import launch_ids as launch

UNKNOWN_I = "i-0123456789abcdef0"


def tags_of(c, iid):
    inst = instance_of(c, iid)
    return {t["Key"]: t["Value"] for t in inst.get("Tags", [])}


def described(c, **kw):
    return sorted((t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for t in c.describe_tags(**kw)["Tags"])


def tag(**kv):
    return [{"Key": k, "Value": v} for k, v in kv.items()]


@pytest.fixture
def network(ec2):
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    return vpc, subnet, group


def test_create_and_describe_instance_tags(ec2):
    a, b = launch(ec2, 2)
    out = ec2.create_tags(Resources=[a, b], Tags=tag(Name="web", env="prod"))
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert tags_of(ec2, a) == tags_of(ec2, b) == {"Name": "web", "env": "prod"}
    assert described(ec2) == sorted(
        [
            (a, "instance", "Name", "web"),
            (a, "instance", "env", "prod"),
            (b, "instance", "Name", "web"),
            (b, "instance", "env", "prod"),
        ]
    )
    ec2.create_tags(Resources=[a], Tags=tag(env="dev", empty=""))
    assert tags_of(ec2, a) == {"Name": "web", "env": "dev", "empty": ""}, "an existing key is overwritten"
    assert tags_of(ec2, b) == {"Name": "web", "env": "prod"}


def test_tags_on_the_default_network(ec2, network):
    vpc, subnet, group = network
    ec2.create_tags(Resources=[vpc, subnet, group], Tags=tag(owner="net-team"))
    assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Tags"] == tag(owner="net-team")
    assert ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["Tags"] == tag(owner="net-team")
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["Tags"] == tag(owner="net-team")
    assert described(ec2) == sorted(
        [
            (vpc, "vpc", "owner", "net-team"),
            (subnet, "subnet", "owner", "net-team"),
            (group, "security-group", "owner", "net-team"),
        ]
    )
    assert described(ec2, Filters=[{"Name": "resource-type", "Values": ["subnet"]}]) == [
        (subnet, "subnet", "owner", "net-team")
    ]
    found = ec2.describe_subnets(Filters=[{"Name": "tag:owner", "Values": ["net-team"]}])["Subnets"]
    assert [s["SubnetId"] for s in found] == [subnet]
    assert ec2.describe_vpcs(Filters=[{"Name": "tag-key", "Values": ["owner"]}])["Vpcs"][0]["VpcId"] == vpc
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:owner", "Values": ["other"]}])["Vpcs"] == []
    ec2.delete_tags(Resources=[vpc, subnet, group])
    assert "Tags" not in ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]
    assert described(ec2) == []


def test_delete_tags_by_key_by_value_and_all(ec2):
    iid = launch(ec2)[0]
    ec2.create_tags(Resources=[iid], Tags=tag(a="1", b="2", c="3", d="", e="5"))
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "a"}])
    assert tags_of(ec2, iid) == {"b": "2", "c": "3", "d": "", "e": "5"}, "key only deletes whatever the value"
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "b", "Value": "not-2"}])
    assert tags_of(ec2, iid)["b"] == "2", "a different value deletes nothing"
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "b", "Value": "2"}])
    assert "b" not in tags_of(ec2, iid)
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "c", "Value": ""}])
    assert tags_of(ec2, iid)["c"] == "3", "an empty value deletes only an empty-valued tag"
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "d", "Value": ""}])
    assert tags_of(ec2, iid) == {"c": "3", "e": "5"}
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "nope"}])
    assert tags_of(ec2, iid) == {"c": "3", "e": "5"}, "deleting a missing key is not an error"
    ec2.delete_tags(Resources=[iid])
    assert tags_of(ec2, iid) == {}, "no Tag.N deletes every tag"
    ec2.create_tags(Resources=[iid], Tags=tag(x="1"))
    ec2.delete_tags(Resources=[iid], Tags=[])
    assert tags_of(ec2, iid) == {}, "boto3 sends nothing for Tags=[], so everything goes"


def test_fifty_tags_and_no_more(ec2):
    iid = launch(ec2)[0]
    ec2.create_tags(Resources=[iid], Tags=[{"Key": f"k{n:02}", "Value": str(n)} for n in range(50)])
    assert len(tags_of(ec2, iid)) == 50
    ec2.create_tags(Resources=[iid], Tags=tag(k00="overwritten"))
    assert len(tags_of(ec2, iid)) == 50, "overwriting does not count as a new tag"
    code, _, status = fails(ec2.create_tags, Resources=[iid], Tags=tag(k50="x"))
    assert (code, status) == ("TagLimitExceeded", 400)
    assert len(tags_of(ec2, iid)) == 50 and "k50" not in tags_of(ec2, iid)
    other = launch(ec2)[0]
    too_many = [{"Key": f"k{n}", "Value": "v"} for n in range(51)]
    assert fails(ec2.create_tags, Resources=[other], Tags=too_many)[0] == "TagLimitExceeded"
    assert tags_of(ec2, other) == {}


def test_invalid_tags(ec2):
    iid = launch(ec2)[0]
    for bad in (tag(**{"aws:owner": "me"}), tag(**{"k" * 129: "v"}), tag(k="v" * 257), [{"Key": "", "Value": "v"}]):
        code, _, status = fails(ec2.create_tags, Resources=[iid], Tags=bad)
        assert (code, status) == ("InvalidParameterValue", 400), bad
    ec2.create_tags(Resources=[iid], Tags=tag(**{"k" * 128: "v" * 256, "AWS-is-fine": "x", "aws": "y"}))
    assert len(tags_of(ec2, iid)) == 3, "128-character keys and 256-character values are allowed"
    ec2.create_tags(Resources=[iid], Tags=tag(**{"ünïcödé key": "välue with spaces & symbols <>"}))
    assert tags_of(ec2, iid)["ünïcödé key"] == "välue with spaces & symbols <>"


def test_invalid_and_unknown_resources(ec2, network):
    iid = launch(ec2)[0]
    assert fails(ec2.create_tags, Resources=["eipassoc-0578b4e3415869944"], Tags=tag(a="b")) == (
        "InvalidID",
        "The ID 'eipassoc-0578b4e3415869944' is not valid",
        400,
    )
    assert fails(ec2.delete_tags, Resources=["bun-c1a540a8"], Tags=[{"Key": "a"}])[0] == "InvalidID"
    assert fails(ec2.create_tags, Resources=[UNKNOWN_I], Tags=tag(a="b")) == (
        "InvalidInstanceID.NotFound",
        f"The instance ID '{UNKNOWN_I}' does not exist",
        400,
    )
    assert fails(ec2.delete_tags, Resources=[UNKNOWN_I])[0] == "InvalidInstanceID.NotFound"
    assert fails(ec2.create_tags, Resources=["i-123"], Tags=tag(a="b")) == (
        "InvalidInstanceID.Malformed",
        'Invalid id: "i-123"',
        400,
    )
    assert fails(ec2.create_tags, Resources=["vpc-0123456789abcdef0"], Tags=tag(a="b")) == (
        "InvalidVpcID.NotFound",
        "The vpc ID 'vpc-0123456789abcdef0' does not exist",
        400,
    )
    assert fails(ec2.create_tags, Resources=["subnet-0123456789abcdef0"], Tags=tag(a="b"))[0] == (
        "InvalidSubnetID.NotFound"
    )
    assert fails(ec2.create_tags, Resources=["sg-0123456789abcdef0"], Tags=tag(a="b"))[0] == "InvalidGroup.NotFound"
    # All or nothing: the known resources of a failing call get no tags.
    vpc = network[0]
    assert fails(ec2.create_tags, Resources=[iid, vpc, UNKNOWN_I], Tags=tag(a="b"))[0] == "InvalidInstanceID.NotFound"
    assert tags_of(ec2, iid) == {}
    assert described(ec2) == []


def test_dry_run_tags_nothing(ec2):
    iid = launch(ec2)[0]
    assert fails(ec2.create_tags, Resources=[iid], Tags=tag(a="b"), DryRun=True) == (
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
        412,
    )
    assert tags_of(ec2, iid) == {}
    ec2.create_tags(Resources=[iid], Tags=tag(a="b"))
    assert fails(ec2.delete_tags, Resources=[iid], DryRun=True)[0] == "DryRunOperation"
    assert tags_of(ec2, iid) == {"a": "b"}
    assert fails(ec2.describe_tags, DryRun=True)[0] == "DryRunOperation"


def test_describe_tags_filters(ec2, network):
    a, b = launch(ec2, 2)
    vpc = network[0]
    ec2.create_tags(Resources=[a], Tags=tag(Name="web-1", env="prod"))
    ec2.create_tags(Resources=[b], Tags=tag(Name="web-2", env="dev", Team="x"))
    ec2.create_tags(Resources=[vpc], Tags=tag(Name="main"))

    def f(*filters):
        return described(ec2, Filters=[{"Name": n, "Values": v} for n, v in filters])

    assert f(("key", ["env"])) == sorted([(a, "instance", "env", "prod"), (b, "instance", "env", "dev")])
    assert {r[0] for r in f(("key", ["Name"]))} == {a, b, vpc}
    assert f(("key", ["name"])) == [], "keys are case-sensitive"
    assert f(("value", ["web-*"])) == sorted([(a, "instance", "Name", "web-1"), (b, "instance", "Name", "web-2")])
    assert f(("value", ["web-?"]), ("resource-id", [b])) == [(b, "instance", "Name", "web-2")]
    assert f(("value", ["dev", "prod"])) == sorted([(a, "instance", "env", "prod"), (b, "instance", "env", "dev")])
    assert f(("resource-id", [a])) == sorted([(a, "instance", "Name", "web-1"), (a, "instance", "env", "prod")])
    assert f(("resource-type", ["vpc"])) == [(vpc, "vpc", "Name", "main")]
    assert len(f(("resource-type", ["instance"]))) == 5
    assert f(("resource-type", ["instance"]), ("key", ["Team"])) == [(b, "instance", "Team", "x")]
    # tag:<key> keeps every tag of the resources whose <key> tag matches.
    assert {r[0] for r in f(("tag:env", ["dev"]))} == {b}
    assert len(f(("tag:env", ["dev"]))) == 3
    assert f(("key", ["nothing"])) == []
    assert fails(ec2.describe_tags, Filters=[{"Name": "bogus", "Values": ["x"]}]) == (
        "InvalidParameterValue",
        "The filter 'bogus' is invalid",
        400,
    )


def test_describe_tags_pagination(server, ec2):
    ids = launch(ec2, 3)
    for n, iid in enumerate(ids):
        ec2.create_tags(Resources=[iid], Tags=[{"Key": f"k{k}", "Value": f"{n}-{k}"} for k in range(4)])
    everything = described(ec2)
    assert len(everything) == 12
    rows, token, pages = [], None, 0
    while True:
        out = ec2.describe_tags(MaxResults=5, **({"NextToken": token} if token else {}))
        pages += 1
        assert len(out["Tags"]) <= 5
        rows += [(t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for t in out["Tags"]]
        token = out.get("NextToken")
        if not token:
            break
    assert pages == 3
    assert len(rows) == len(set(rows)) == 12
    assert sorted(rows) == everything
    paged = [
        t for p in ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 5}) for t in p["Tags"]
    ]
    assert len(paged) == 12
    assert fails(ec2.describe_tags, MaxResults=4)[0] == "InvalidParameterValue"
    raw = server.client(validate=False)
    assert fails(raw.describe_tags, MaxResults=1001)[0] == "InvalidParameterValue"
    assert len(ec2.describe_tags(MaxResults=1000)["Tags"]) == 12


def test_terminated_instances_keep_their_tags_while_visible(ec2):
    iid = launch(ec2)[0]
    ec2.create_tags(Resources=[iid], Tags=tag(Name="doomed"))
    ec2.terminate_instances(InstanceIds=[iid])
    assert tags_of(ec2, iid) == {"Name": "doomed"}
    assert described(ec2, Filters=[{"Name": "resource-id", "Values": [iid]}]) == [(iid, "instance", "Name", "doomed")]


def test_tags_are_per_region(server):
    server.control("POST", "reset")
    east, west = server.client(), server.client(region="eu-west-1")
    iid = launch(east)[0]
    east.create_tags(Resources=[iid], Tags=tag(a="b"))
    assert west.describe_tags()["Tags"] == []
    assert fails(west.create_tags, Resources=[iid], Tags=tag(a="b"))[0] == "InvalidInstanceID.NotFound"
