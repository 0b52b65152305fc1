"""IAM instance profiles through the real binary: IamInstanceProfile on RunInstances (by name and by
ARN, shown in DescribeInstances with an AIPA... ID), and Associate/Describe/Replace/
DisassociateIamInstanceProfile with their iip-assoc- IDs, states and errors."""

import re

from conftest import fails, instance_of, launch_ids, wait_for_state

ACCOUNT = "000000000000"


def arn(name):
    return f"arn:aws:iam::{ACCOUNT}:instance-profile/{name}"


def test_run_instances_records_the_profile_by_name_or_arn(ec2):
    a = launch_ids(ec2, IamInstanceProfile={"Name": "web"})[0]
    b = launch_ids(ec2, IamInstanceProfile={"Arn": arn("web")})[0]
    pa = instance_of(ec2, a)["IamInstanceProfile"]
    pb = instance_of(ec2, b)["IamInstanceProfile"]
    assert pa["Arn"] == arn("web") and pa == pb
    assert re.fullmatch(r"AIPA[A-Z0-9]{17}", pa["Id"])
    assocs = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
    assert sorted(x["InstanceId"] for x in assocs) == sorted([a, b])
    assert {x["State"] for x in assocs} == {"associated"}
    assert all(re.fullmatch(r"iip-assoc-[0-9a-f]{17}", x["AssociationId"]) for x in assocs)
    assert "IamInstanceProfile" not in instance_of(ec2, launch_ids(ec2)[0])
    bad = ec2
    code, msg, _ = fails(bad.run_instances, ImageId="ami-08f6cfac8c54bafdd", MinCount=1, MaxCount=1,
                         IamInstanceProfile={"Arn": "arn:aws:iam::123456789012:role/web"})
    assert code == "InvalidParameterValue" and "iamInstanceProfile.arn" in msg
    code, _, _ = fails(bad.run_instances, ImageId="ami-08f6cfac8c54bafdd", MinCount=1, MaxCount=1,
                       IamInstanceProfile={"Arn": arn("web"), "Name": "web"})
    assert code == "InvalidParameterCombination"


def test_associate_describe_replace_disassociate(server, ec2):
    iid = launch_ids(ec2)[0]
    r = ec2.associate_iam_instance_profile(InstanceId=iid, IamInstanceProfile={"Name": "app"})
    assoc = r["IamInstanceProfileAssociation"]
    assert assoc["State"] == "associating" and assoc["InstanceId"] == iid
    aid = assoc["AssociationId"]
    assert instance_of(ec2, iid)["IamInstanceProfile"]["Arn"] == arn("app")
    code, msg, _ = fails(ec2.associate_iam_instance_profile, InstanceId=iid, IamInstanceProfile={"Name": "other"})
    assert code == "IncorrectState" and iid in msg
    got = ec2.describe_iam_instance_profile_associations(AssociationIds=[aid])["IamInstanceProfileAssociations"]
    assert [(x["AssociationId"], x["State"]) for x in got] == [(aid, "associated")]
    got = ec2.describe_iam_instance_profile_associations(Filters=[{"Name": "instance-id", "Values": [iid]}])
    assert len(got["IamInstanceProfileAssociations"]) == 1
    r = ec2.replace_iam_instance_profile_association(AssociationId=aid, IamInstanceProfile={"Arn": arn("other")})
    new = r["IamInstanceProfileAssociation"]
    assert new["AssociationId"] != aid and new["IamInstanceProfile"]["Arn"] == arn("other")
    assert instance_of(ec2, iid)["IamInstanceProfile"]["Arn"] == arn("other")
    code, _, _ = fails(ec2.describe_iam_instance_profile_associations, AssociationIds=[aid])
    assert code == "InvalidAssociationID.NotFound"
    _, out, _ = server.cli("disassociate-iam-instance-profile", "--association-id", new["AssociationId"])
    assert out["IamInstanceProfileAssociation"]["State"] == "disassociating"
    assert "IamInstanceProfile" not in instance_of(ec2, iid)
    assert ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"] == []
    code, _, _ = fails(ec2.disassociate_iam_instance_profile, AssociationId=new["AssociationId"])
    assert code == "InvalidAssociationID.NotFound"
    code, _, _ = fails(ec2.disassociate_iam_instance_profile, AssociationId="bogus")
    assert code == "InvalidAssociationID.Malformed"
    code, _, _ = fails(ec2.associate_iam_instance_profile, InstanceId="i-0123456789abcdef0",
                       IamInstanceProfile={"Name": "app"})
    assert code == "InvalidInstanceID.NotFound"
    _, out, _ = server.cli("associate-iam-instance-profile", "--instance-id", iid, "--iam-instance-profile", "Name=cli")
    assert out["IamInstanceProfileAssociation"]["IamInstanceProfile"]["Arn"] == arn("cli")


def test_associations_end_with_their_instance(ec2):
    iid = launch_ids(ec2, IamInstanceProfile={"Name": "web"})[0]
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for_state(ec2, iid, "terminated")
    assert ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"] == []
