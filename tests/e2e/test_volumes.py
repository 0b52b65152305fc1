"""EBS volumes end to end: Create/Describe/Delete/Attach/Detach/Modify volumes, their status,
modifications and attributes, encryption by default, on the instant and the virtual clock, with
boto3 and the AWS CLI."""

import botocore.exceptions
import pytest

from conftest import error_of

AL2023 = "ami-08f6cfac8c54bafdd"  # Amazon Linux 2023 x86_64, EBS root /dev/xvda
FAST = {"Delay": 0.2, "MaxAttempts": 25}


def raises(call, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return error_of(e)


def instance(c, zone="us-east-1a", wait=True):
    iid = c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                          Placement={"AvailabilityZone": zone})["Instances"][0]["InstanceId"]
    if wait:
        c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    return iid


def volume(c, zone="us-east-1a", **kw):
    kw.setdefault("Size", 10)
    v = c.create_volume(AvailabilityZone=zone, **kw)
    c.get_waiter("volume_available").wait(VolumeIds=[v["VolumeId"]], WaiterConfig=FAST)
    return v["VolumeId"]


def test_create_describe_tag_and_delete(ec2):
    v = ec2.create_volume(AvailabilityZone="us-east-1a", Size=20, VolumeType="gp3",
                          TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "team", "Value": "db"}]}])
    vid = v["VolumeId"]
    assert vid.startswith("vol-0") and len(vid) == 21
    assert (v["Size"], v["VolumeType"], v["Iops"], v["Throughput"], v["Encrypted"]) == (20, "gp3", 3000, 125, False)
    assert v["AvailabilityZone"] == "us-east-1a" and v["Tags"] == [{"Key": "team", "Value": "db"}]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
    d = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    assert d["State"] == "available" and d["Attachments"] == [] and d["SnapshotId"] == ""
    ec2.create_tags(Resources=[vid], Tags=[{"Key": "env", "Value": "test"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"]
    assert {(t["Key"], t["Value"], t["ResourceType"]) for t in tags} == {("team", "db", "volume"), ("env", "test", "volume")}
    assert [x["VolumeId"] for x in ec2.describe_volumes(Filters=[{"Name": "tag:env", "Values": ["test"]}])["Volumes"]] == [vid]
    assert ec2.describe_volumes(Filters=[{"Name": "volume-type", "Values": ["io1"]}])["Volumes"] == []
    gp2 = ec2.create_volume(AvailabilityZoneId="use1-az2", Size=100)
    assert (gp2["VolumeType"], gp2["Iops"], gp2["AvailabilityZone"]) == ("gp2", 300, "us-east-1d")
    assert "Throughput" not in gp2
    ec2.delete_volume(VolumeId=vid)
    ec2.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=FAST)
    assert raises(ec2.describe_volumes, VolumeIds=[vid]) == ("InvalidVolume.NotFound", f"The volume '{vid}' does not exist.", 400)
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"] == [], "tags go with the volume"


@pytest.mark.parametrize("kw,code,fragment", [
    ({"Size": 10, "VolumeType": "io1"}, "MissingParameter", "iops"),
    ({"Size": 10, "VolumeType": "gp2", "Iops": 300}, "InvalidParameterCombination", "iops is not supported for gp2"),
    ({"Size": 20000, "VolumeType": "gp3"}, "InvalidParameterValue", "too large"),
    ({"Size": 10, "VolumeType": "st1"}, "InvalidParameterValue", "too small"),
    ({"Size": 10, "VolumeType": "io1", "Iops": 1000}, "InvalidParameterValue", "ratio"),
    ({"Size": 10, "VolumeType": "gp3", "Throughput": 2000}, "InvalidParameterValue", "throughput"),
    ({"Size": 10, "VolumeType": "io2", "Iops": 500, "Throughput": 200}, "InvalidParameterCombination", "throughput"),
    ({"Size": 10, "VolumeType": "gp3", "MultiAttachEnabled": True}, "InvalidParameterCombination", "Multi-Attach"),
    ({"Size": 10, "VolumeType": "gp9"}, "InvalidParameterValue", "volumeType"),
    ({"VolumeType": "gp3"}, "MissingParameter", "size"),
])
def test_type_limits_are_enforced_and_nothing_is_created(ec2, kw, code, fragment):
    c, message, status = raises(ec2.create_volume, AvailabilityZone="us-east-1a", **kw)
    assert (c, status) == (code, 400) and fragment in message, message
    assert ec2.describe_volumes()["Volumes"] == []


def test_zone_and_id_errors(ec2):
    assert raises(ec2.create_volume, AvailabilityZone="us-east-1z", Size=1)[:2] == (
        "InvalidParameterValue", "Invalid availability zone: [us-east-1z]")
    assert raises(ec2.create_volume, AvailabilityZone="eu-west-1a", Size=1)[0] == "InvalidParameterValue"
    assert raises(ec2.describe_volumes, VolumeIds=["vol-nope"]) == ("InvalidVolumeID.Malformed", 'Invalid id: "vol-nope"', 400)
    assert raises(ec2.delete_volume, VolumeId="vol-0123456789abcdef0")[0] == "InvalidVolume.NotFound"
    assert raises(ec2.create_volume, AvailabilityZone="us-east-1a", Size=1, DryRun=True)[0] == "DryRunOperation"
    assert ec2.describe_volumes()["Volumes"] == []


def test_attach_detach_and_the_rules_of_attachment(ec2):
    iid = instance(ec2)
    vid = volume(ec2)
    other_zone = volume(ec2, zone="us-east-1b")
    a = ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    assert (a["State"], a["Device"], a["InstanceId"], a["VolumeId"]) == ("attaching", "/dev/sdf", iid, vid)
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=FAST)
    d = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    assert d["State"] == "in-use"
    assert [(x["InstanceId"], x["Device"], x["State"], x["DeleteOnTermination"]) for x in d["Attachments"]] == [
        (iid, "/dev/sdf", "attached", False)]
    filt = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    assert vid in [x["VolumeId"] for x in filt]

    # Each wrong move is refused and changes nothing.
    assert raises(ec2.attach_volume, VolumeId=vid, InstanceId=iid, Device="/dev/sdg") == (
        "VolumeInUse", f"{vid} is already attached to an instance", 400)
    assert raises(ec2.attach_volume, VolumeId=other_zone, InstanceId=iid, Device="/dev/sdg")[:2] == (
        "InvalidVolume.ZoneMismatch", f"The volume '{other_zone}' is not in the same availability zone as instance '{iid}'")
    third = volume(ec2)
    code, message, _ = raises(ec2.attach_volume, VolumeId=third, InstanceId=iid, Device="/dev/xvdf")
    assert code == "InvalidParameterValue" and "already in use" in message
    code, message, _ = raises(ec2.attach_volume, VolumeId=third, InstanceId=iid, Device="/dev/bogus")
    assert code == "InvalidParameterValue" and "not a valid EBS device name" in message
    assert raises(ec2.attach_volume, VolumeId=third, InstanceId=iid, Device="/dev/xvda")[0] == "InvalidParameterValue"
    assert raises(ec2.delete_volume, VolumeId=vid)[:2] == ("VolumeInUse", f"Volume {vid} is currently attached to {iid}")
    assert raises(ec2.detach_volume, VolumeId=vid, InstanceId="i-0123456789abcdef0")[0] == "InvalidAttachment.NotFound"
    assert raises(ec2.detach_volume, VolumeId=third)[0] == "IncorrectState"
    assert raises(ec2.attach_volume, VolumeId=third, InstanceId="i-0123456789abcdef0", Device="/dev/sdh")[0] == (
        "InvalidInstanceID.NotFound")
    assert ec2.describe_volumes(VolumeIds=[third])["Volumes"][0]["State"] == "available"

    det = ec2.detach_volume(VolumeId=vid, InstanceId=iid)
    assert (det["State"], det["Device"]) == ("detaching", "/dev/sdf")
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Attachments"] == []
    # A stopped instance takes volumes too; a terminated one does not.
    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    kept = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    assert (kept["State"], kept["Attachments"]) == ("available", []), "an attached volume outlives its instance"
    assert raises(ec2.attach_volume, VolumeId=vid, InstanceId=iid, Device="/dev/sdf")[0] == "IncorrectInstanceState"


def test_modify_volume_and_its_modifications(ec2):
    vid = volume(ec2, VolumeType="gp2", Size=10)
    m = ec2.modify_volume(VolumeId=vid, Size=50, VolumeType="gp3", Iops=4000, Throughput=250)["VolumeModification"]
    assert (m["OriginalSize"], m["TargetSize"], m["OriginalVolumeType"], m["TargetVolumeType"]) == (10, 50, "gp2", "gp3")
    assert (m["TargetIops"], m["TargetThroughput"], m["OriginalIops"]) == (4000, 250, 100)
    d = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    assert (d["Size"], d["VolumeType"], d["Iops"], d["Throughput"]) == (50, "gp3", 4000, 250)
    mods = ec2.describe_volumes_modifications(VolumeIds=[vid])["VolumesModifications"]
    assert [(x["ModificationState"], x["Progress"]) for x in mods] == [("completed", 100)]
    assert raises(ec2.modify_volume, VolumeId=vid, Size=20)[0] == "InvalidParameterValue"
    assert raises(ec2.modify_volume, VolumeId=vid, Iops=20000)[0] == "InvalidParameterValue"
    assert raises(ec2.modify_volume, VolumeId=vid, Size=50)[0] == "InvalidParameterCombination"
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"] == 50
    filt = ec2.describe_volumes_modifications(Filters=[{"Name": "target-volume-type", "Values": ["gp3"]}])
    assert [x["VolumeId"] for x in filt["VolumesModifications"]] == [vid]


def test_volume_attribute_and_status(ec2):
    vid = volume(ec2, VolumeType="io2", Iops=1000)
    assert ec2.describe_volume_attribute(VolumeId=vid, Attribute="autoEnableIO")["AutoEnableIO"] == {"Value": False}
    ec2.modify_volume_attribute(VolumeId=vid, AutoEnableIO={"Value": True})
    assert ec2.describe_volume_attribute(VolumeId=vid, Attribute="autoEnableIO")["AutoEnableIO"] == {"Value": True}
    assert ec2.describe_volume_attribute(VolumeId=vid, Attribute="productCodes")["ProductCodes"] == []
    assert raises(ec2.describe_volume_attribute, VolumeId=vid, Attribute="size")[0] == "InvalidParameterValue"
    st = ec2.describe_volume_status(VolumeIds=[vid])["VolumeStatuses"][0]
    assert st["VolumeStatus"]["Status"] == "ok"
    assert {d["Name"]: d["Status"] for d in st["VolumeStatus"]["Details"]} == {"io-enabled": "passed", "io-performance": "normal"}
    none = ec2.describe_volume_status(Filters=[{"Name": "volume-status.status", "Values": ["impaired"]}])
    assert none["VolumeStatuses"] == []


def server_client(c, region):
    import boto3
    return boto3.client("ec2", endpoint_url=c.meta.endpoint_url, region_name=region,
                        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="test")


def test_encryption_by_default_and_kms_keys(ec2):
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False
    assert ec2.get_ebs_default_kms_key_id()["KmsKeyId"] == "alias/aws/ebs"
    ec2.enable_ebs_encryption_by_default()
    assert server_client(ec2, "eu-west-1").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False
    ec2.disable_ebs_encryption_by_default()
    code, message, _ = raises(ec2.create_volume, AvailabilityZone="us-east-1a", Size=1, KmsKeyId="alias/mine")
    assert code == "InvalidParameterDependency"
    enc = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=True)
    assert enc["Encrypted"] and enc["KmsKeyId"].startswith("arn:aws:kms:us-east-1:000000000000:key/")
    assert ec2.enable_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
    v = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)
    assert v["Encrypted"] and v["KmsKeyId"] == enc["KmsKeyId"], "the AWS managed key is the same key"
    assert raises(ec2.create_volume, AvailabilityZone="us-east-1a", Size=1, Encrypted=False)[0] == "InvalidParameterCombination"
    key = "1234abcd-12ab-34cd-56ef-1234567890ab"
    assert ec2.modify_ebs_default_kms_key_id(KmsKeyId=key)["KmsKeyId"] == f"arn:aws:kms:us-east-1:000000000000:key/{key}"
    assert ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["KmsKeyId"].endswith(key)
    assert raises(ec2.modify_ebs_default_kms_key_id, KmsKeyId="not a key")[0] == "InvalidParameterValue"
    ec2.reset_ebs_default_kms_key_id()
    assert ec2.get_ebs_default_kms_key_id()["KmsKeyId"] == "alias/aws/ebs"
    assert ec2.disable_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False
    assert ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["Encrypted"] is False
    assert len(ec2.describe_volumes(Filters=[{"Name": "encrypted", "Values": ["true"]}])["Volumes"]) == 3


def test_client_token_makes_create_idempotent(ec2):
    a = ec2.create_volume(AvailabilityZone="us-east-1a", Size=5, ClientToken="tok-1")
    b = ec2.create_volume(AvailabilityZone="us-east-1a", Size=5, ClientToken="tok-1")
    assert a["VolumeId"] == b["VolumeId"]
    assert raises(ec2.create_volume, AvailabilityZone="us-east-1a", Size=6, ClientToken="tok-1")[0] == (
        "IdempotentParameterMismatch")
    assert len(ec2.describe_volumes()["Volumes"]) == 1


def test_pagination(ec2):
    ids = sorted(ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"] for _ in range(7))
    seen = []
    for page in ec2.get_paginator("describe_volumes").paginate(PaginationConfig={"PageSize": 5}):
        seen.extend(v["VolumeId"] for v in page["Volumes"])
    assert sorted(seen) == ids
    assert raises(ec2.describe_volumes, VolumeIds=ids[:1], MaxResults=5)[0] == "InvalidParameterCombination"


def test_states_follow_the_virtual_clock(virtual_server):
    s = virtual_server
    s.control("POST", "reset")
    c = s.client()
    iid = instance(c, wait=False)
    s.control("POST", "clock/advance?seconds=10")
    vid = c.create_volume(AvailabilityZone="us-east-1a", Size=10, VolumeType="gp3")["VolumeId"]

    def state():
        v = c.describe_volumes(VolumeIds=[vid])["Volumes"][0]
        return v["State"], [a["State"] for a in v["Attachments"]]

    assert state() == ("creating", [])
    assert raises(c.attach_volume, VolumeId=vid, InstanceId=iid, Device="/dev/sdf")[:2] == (
        "IncorrectState", f"{vid} is not 'available'.")
    assert c.describe_volume_status(VolumeIds=[vid])["VolumeStatuses"][0]["VolumeStatus"]["Status"] == "insufficient-data"
    s.control("POST", "clock/advance?seconds=3")
    assert state() == ("available", [])
    c.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    assert state() == ("in-use", ["attaching"])
    s.control("POST", "clock/advance?seconds=2")
    assert state() == ("in-use", ["attached"])
    c.modify_volume(VolumeId=vid, Size=20)
    mod = lambda: c.describe_volumes_modifications(VolumeIds=[vid])["VolumesModifications"][0]
    assert mod()["ModificationState"] == "modifying"
    assert raises(c.modify_volume, VolumeId=vid, Size=30)[0] == "IncorrectModificationState"
    s.control("POST", "clock/advance?seconds=10")
    m = mod()
    assert m["ModificationState"] == "optimizing" and 0 < m["Progress"] < 100
    c.modify_volume(VolumeId=vid, Size=30)  # allowed once optimizing
    s.control("POST", "clock/advance?seconds=70")
    m = mod()
    assert (m["ModificationState"], m["Progress"], m["TargetSize"]) == ("completed", 100, 30) and "EndTime" in m
    c.detach_volume(VolumeId=vid)
    assert state() == ("in-use", ["detaching"])
    s.control("POST", "clock/advance?seconds=2")
    assert state() == ("available", [])
    c.delete_volume(VolumeId=vid)
    assert state() == ("deleting", [])
    s.control("POST", "clock/advance?seconds=2")
    assert raises(c.describe_volumes, VolumeIds=[vid])[0] == "InvalidVolume.NotFound"


def test_cli_volume_lifecycle(server):
    server.control("POST", "reset")
    iid = instance(server.client())
    _, v, _ = server.cli("create-volume", "--availability-zone", "us-east-1a", "--size", "8", "--volume-type", "gp3",
                         "--tag-specifications", "ResourceType=volume,Tags=[{Key=Name,Value=cli}]")
    vid = v["VolumeId"]
    server.cli("wait", "volume-available", "--volume-ids", vid)
    _, a, _ = server.cli("attach-volume", "--volume-id", vid, "--instance-id", iid, "--device", "/dev/sdf")
    assert a["State"] == "attaching"
    server.cli("wait", "volume-in-use", "--volume-ids", vid)
    _, d, _ = server.cli("describe-volumes", "--filters", "Name=tag:Name,Values=cli")
    assert [x["VolumeId"] for x in d["Volumes"]] == [vid]
    rc, _, err = server.cli("delete-volume", "--volume-id", vid, check=False)
    assert rc != 0 and "VolumeInUse" in err
    server.cli("detach-volume", "--volume-id", vid)
    server.cli("wait", "volume-available", "--volume-ids", vid)
    _, m, _ = server.cli("modify-volume", "--volume-id", vid, "--size", "16")
    assert m["VolumeModification"]["TargetSize"] == 16
    server.cli("delete-volume", "--volume-id", vid)
    server.cli("wait", "volume-deleted", "--volume-ids", vid)
    _, enc, _ = server.cli("enable-ebs-encryption-by-default")
    assert enc["EbsEncryptionByDefault"] is True
    _, got, _ = server.cli("get-ebs-encryption-by-default")
    assert got["EbsEncryptionByDefault"] is True


def test_kms_key_ids_are_checked_for_syntax_and_region(ec2, server):
    key = "1234abcd-12ab-34cd-56ef-1234567890ab"
    mk = lambda k: ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=True, KmsKeyId=k)["KmsKeyId"]
    # Key IDs, aliases and key or alias ARNs of the region are recorded as ARNs, never looked up.
    assert mk(key) == f"arn:aws:kms:us-east-1:000000000000:key/{key}"
    assert mk("alias/team") == "arn:aws:kms:us-east-1:000000000000:alias/team"
    assert mk(f"arn:aws:kms:us-east-1:444455556666:key/{key}") == f"arn:aws:kms:us-east-1:444455556666:key/{key}"
    before = len(ec2.describe_volumes()["Volumes"])
    for bad in ["not-a-key", "alias/", "arn:aws:kms:us-east-1:12:key/x", key.upper()]:
        code, msg, status = raises(ec2.create_volume, AvailabilityZone="us-east-1a", Size=1, Encrypted=True,
                                   KmsKeyId=bad)
        assert (code, status) == ("InvalidParameterValue", 400) and bad in msg, bad
    code, msg, _ = raises(ec2.create_volume, AvailabilityZone="us-east-1a", Size=1, Encrypted=True,
                          KmsKeyId=f"arn:aws:kms:us-west-2:000000000000:key/{key}")
    assert code == "InvalidParameterValue" and "us-east-1" in msg
    assert len(ec2.describe_volumes()["Volumes"]) == before, "a refused create makes nothing"
    rc, _, err = server.cli("create-volume", "--availability-zone", "us-east-1a", "--size", "1", "--encrypted",
                            "--kms-key-id", f"arn:aws:kms:eu-west-1:000000000000:key/{key}", check=False)
    assert rc != 0 and "InvalidParameterValue" in err
    _, out, _ = server.cli("create-volume", "--availability-zone", "us-east-1a", "--size", "1", "--encrypted",
                           "--kms-key-id", "alias/team")
    assert out["KmsKeyId"] == "arn:aws:kms:us-east-1:000000000000:alias/team"
