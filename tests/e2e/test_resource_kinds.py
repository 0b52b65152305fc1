"""The resource-kind table: CreateTags, DeleteTags and DescribeTags work on every taggable kind
(capacity reservations here, whose tags CreateTags once refused), and IDs of kinds that cannot be
tagged get InvalidID."""

import botocore.exceptions
import pytest

from conftest import error_of


def reservation(c, **kw):
    return c.create_capacity_reservation(
        InstanceType="t3.micro", InstancePlatform="Linux/UNIX", AvailabilityZone="us-east-1a", InstanceCount=1, **kw
    )["CapacityReservation"]


def tags_of_reservation(c, cr_id):
    cr = c.describe_capacity_reservations(CapacityReservationIds=[cr_id])["CapacityReservations"][0]
    return {t["Key"]: t["Value"] for t in cr.get("Tags", [])}


def test_capacity_reservations_are_tagged_like_any_taggable_kind(ec2):
    cr = reservation(
        ec2, TagSpecifications=[{"ResourceType": "capacity-reservation", "Tags": [{"Key": "team", "Value": "a"}]}]
    )
    cid = cr["CapacityReservationId"]
    ec2.create_tags(Resources=[cid], Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "b"}])
    assert tags_of_reservation(ec2, cid) == {"env": "test", "team": "b"}

    rows = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [cid]}])["Tags"]
    assert sorted((t["ResourceType"], t["Key"], t["Value"]) for t in rows) == [
        ("capacity-reservation", "env", "test"),
        ("capacity-reservation", "team", "b"),
    ]
    typed = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["capacity-reservation"]}])["Tags"]
    assert {t["ResourceId"] for t in typed} == {cid}

    ec2.delete_tags(Resources=[cid], Tags=[{"Key": "team"}])
    assert tags_of_reservation(ec2, cid) == {"env": "test"}
    filtered = ec2.describe_capacity_reservations(Filters=[{"Name": "tag:env", "Values": ["test"]}])
    assert [c["CapacityReservationId"] for c in filtered["CapacityReservations"]] == [cid]


def test_tagging_an_unknown_or_malformed_reservation_changes_nothing(ec2):
    cid = reservation(ec2)["CapacityReservationId"]
    missing = "cr-0123456789abcdef0"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_tags(Resources=[cid, missing], Tags=[{"Key": "k", "Value": "v"}])
    code, message, status = error_of(e)
    assert (code, status) == ("InvalidCapacityReservationId.NotFound", 400)
    assert missing in message
    assert tags_of_reservation(ec2, cid) == {}

    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_tags(Resources=["cr-xyz"], Tags=[{"Key": "k", "Value": "v"}])
    assert error_of(e)[0] == "InvalidCapacityReservationId.Malformed"


def test_kinds_that_cannot_be_tagged_are_invalid_ids(ec2):
    for rid in ["bun-0123abcd", "r-0123456789abcdef0", "nothing-1"]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ec2.create_tags(Resources=[rid], Tags=[{"Key": "k", "Value": "v"}])
        assert error_of(e)[:1] == ("InvalidID",), rid


def test_cli_tags_a_capacity_reservation(server, ec2):
    cid = reservation(ec2)["CapacityReservationId"]
    server.cli("create-tags", "--resources", cid, "--tags", "Key=owner,Value=cli")
    _, out, _ = server.cli("describe-tags", "--filters", f"Name=resource-id,Values={cid}")
    assert [(t["ResourceType"], t["Key"], t["Value"]) for t in out["Tags"]] == [("capacity-reservation", "owner", "cli")]
