"""EBS snapshots end to end: Create/Describe/Delete/Copy snapshots, CreateSnapshots of an
instance, create-volume permissions, volumes from snapshots, progress on the virtual clock."""

import boto3
import botocore.exceptions
import pytest

from conftest import SECRET_KEY, error_of

AL2023 = "ami-08f6cfac8c54bafdd"
FAST = {"Delay": 0.2, "MaxAttempts": 25}


def raises(call, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return error_of(e)


def volume(c, zone="us-east-1a", **kw):
    kw.setdefault("Size", 10)
    vid = c.create_volume(AvailabilityZone=zone, **kw)["VolumeId"]
    c.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
    return vid


def test_snapshot_a_volume_and_make_a_volume_of_it(ec2):
    vid = volume(ec2, Size=12, VolumeType="gp3")
    s = ec2.create_snapshot(VolumeId=vid, Description="nightly",
                            TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "k", "Value": "v"}]}])
    sid = s["SnapshotId"]
    assert sid.startswith("snap-0") and len(sid) == 22
    assert (s["State"], s["VolumeId"], s["VolumeSize"], s["Description"], s["OwnerId"]) == (
        "pending", vid, 12, "nightly", "000000000000")
    assert s["Tags"] == [{"Key": "k", "Value": "v"}]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=FAST)
    d = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
    assert (d["State"], d["Progress"], d["StorageTier"]) == ("completed", "100%", "standard")
    assert [x["SnapshotId"] for x in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]] == [sid]
    assert ec2.describe_snapshots(OwnerIds=["amazon"])["Snapshots"] == []
    assert [x["SnapshotId"] for x in ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [vid]}])["Snapshots"]] == [sid]
    assert [x["SnapshotId"] for x in ec2.describe_snapshots(Filters=[{"Name": "tag:k", "Values": ["v"]}])["Snapshots"]] == [sid]

    restored = ec2.create_volume(AvailabilityZone="us-east-1b", SnapshotId=sid)
    assert (restored["SnapshotId"], restored["Size"]) == (sid, 12)
    bigger = ec2.create_volume(AvailabilityZone="us-east-1b", SnapshotId=sid, Size=20)
    assert bigger["Size"] == 20
    code, message, _ = raises(ec2.create_volume, AvailabilityZone="us-east-1b", SnapshotId=sid, Size=5)
    assert code == "InvalidParameterValue" and "smaller than snapshot" in message
    assert raises(ec2.create_volume, AvailabilityZone="us-east-1b", SnapshotId="snap-0123456789abcdef0")[:2] == (
        "InvalidSnapshot.NotFound", "The snapshot 'snap-0123456789abcdef0' does not exist.")
    from_snap = ec2.describe_volumes(Filters=[{"Name": "snapshot-id", "Values": [sid]}])["Volumes"]
    assert sorted(x["VolumeId"] for x in from_snap) == sorted([restored["VolumeId"], bigger["VolumeId"]])

    ec2.delete_snapshot(SnapshotId=sid)
    assert raises(ec2.describe_snapshots, SnapshotIds=[sid])[0] == "InvalidSnapshot.NotFound"
    assert raises(ec2.delete_snapshot, SnapshotId=sid)[0] == "InvalidSnapshot.NotFound"
    assert raises(ec2.delete_snapshot, SnapshotId="snap-x")[0] == "InvalidSnapshotID.Malformed"
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [sid]}])["Tags"] == []


def test_encryption_carries_over(ec2):
    vid = volume(ec2, Encrypted=True)
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    s = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
    assert s["Encrypted"] and s["KmsKeyId"].startswith("arn:aws:kms:")
    v = ec2.create_volume(AvailabilityZone="us-east-1a", SnapshotId=sid)
    assert v["Encrypted"] and v["KmsKeyId"] == s["KmsKeyId"]
    assert raises(ec2.create_volume, AvailabilityZone="us-east-1a", SnapshotId=sid, Encrypted=False)[0] == (
        "InvalidParameterCombination")
    code, message, _ = raises(ec2.modify_snapshot_attribute, SnapshotId=sid, Attribute="createVolumePermission",
                              OperationType="add", GroupNames=["all"])
    assert code == "InvalidParameter" and "publicly" in message


def test_create_volume_permissions(ec2):
    sid = ec2.create_snapshot(VolumeId=volume(ec2))["SnapshotId"]
    attr = lambda: ec2.describe_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")["CreateVolumePermissions"]
    assert attr() == []
    ec2.modify_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission", OperationType="add",
                                  UserIds=["444455556666"])
    ec2.modify_snapshot_attribute(SnapshotId=sid, CreateVolumePermission={"Add": [{"Group": "all"}]})
    assert attr() == [{"Group": "all"}, {"UserId": "444455556666"}]
    assert [s["SnapshotId"] for s in ec2.describe_snapshots(RestorableByUserIds=["444455556666"])["Snapshots"]] == [sid]
    ec2.modify_snapshot_attribute(SnapshotId=sid, CreateVolumePermission={"Remove": [{"Group": "all"}]})
    assert attr() == [{"UserId": "444455556666"}]
    assert raises(ec2.modify_snapshot_attribute, SnapshotId=sid, OperationType="add", UserIds=["nope"])[0] == (
        "InvalidParameterValue")
    assert attr() == [{"UserId": "444455556666"}], "a refused change changes nothing"
    ec2.reset_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")
    assert attr() == []
    assert ec2.describe_snapshot_attribute(SnapshotId=sid, Attribute="productCodes")["ProductCodes"] == []
    assert raises(ec2.describe_snapshot_attribute, SnapshotId=sid, Attribute="volumeSize")[0] == "InvalidParameterValue"
    assert raises(ec2.modify_snapshot_attribute, SnapshotId=sid, Attribute="createVolumePermission")[0] == (
        "InvalidParameterCombination")


def test_copy_snapshot_between_regions(server):
    server.control("POST", "reset")
    east = server.client("us-east-1")
    west = server.client("us-west-2")
    sid = east.create_snapshot(VolumeId=volume(east), Description="orig")["SnapshotId"]
    east.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=FAST)
    copy = west.copy_snapshot(SourceRegion="us-east-1", SourceSnapshotId=sid, Description="copy")["SnapshotId"]
    assert copy != sid
    c = west.describe_snapshots(SnapshotIds=[copy])["Snapshots"][0]
    assert (c["VolumeId"], c["VolumeSize"], c["Description"]) == ("vol-ffffffff", 10, "copy")
    assert raises(east.describe_snapshots, SnapshotIds=[copy])[0] == "InvalidSnapshot.NotFound"
    enc = west.copy_snapshot(SourceRegion="us-east-1", SourceSnapshotId=sid, Encrypted=True)["SnapshotId"]
    e = west.describe_snapshots(SnapshotIds=[enc])["Snapshots"][0]
    assert e["Encrypted"] and ":us-west-2:" in e["KmsKeyId"]
    assert raises(west.copy_snapshot, SourceRegion="us-east-1", SourceSnapshotId="snap-0123456789abcdef0")[0] == (
        "InvalidSnapshot.NotFound")
    assert raises(west.copy_snapshot, SourceRegion="mars-1", SourceSnapshotId=sid)[0] == "InvalidParameterValue"
    # Another account sees none of it.
    other = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="111122223333",
                         aws_secret_access_key=SECRET_KEY)
    assert raises(other.describe_snapshots, SnapshotIds=[sid])[0] == "InvalidSnapshot.NotFound"


def test_create_snapshots_of_an_instance(ec2):
    iid = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                            Placement={"AvailabilityZone": "us-east-1a"})["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    a = volume(ec2, TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "src", "Value": "a"}]}])
    b = volume(ec2)
    for vid, dev in [(a, "/dev/sdf"), (b, "/dev/sdg")]:
        ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device=dev)
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[a, b], WaiterConfig=FAST)
    out = ec2.create_snapshots(InstanceSpecification={"InstanceId": iid, "ExcludeDataVolumeIds": [b]},
                               Description="all", CopyTagsFromSource="volume",
                               TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "set", "Value": "1"}]}])
    snaps = {s["VolumeId"]: s for s in out["Snapshots"]}
    assert a in snaps and b not in snaps
    assert {(t["Key"], t["Value"]) for t in snaps[a]["Tags"]} == {("src", "a"), ("set", "1")}
    assert raises(ec2.create_snapshots, InstanceSpecification={"InstanceId": "i-0123456789abcdef0"})[0] == (
        "InvalidInstanceID.NotFound")


def test_wrong_order_is_refused(ec2):
    vid = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    assert raises(ec2.create_snapshot, VolumeId="vol-0123456789abcdef0")[0] == "InvalidVolume.NotFound"
    assert raises(ec2.create_snapshot, VolumeId=vid, Description="x" * 256)[0] == "InvalidParameterValue"
    assert raises(ec2.create_snapshot, VolumeId=vid, DryRun=True)[0] == "DryRunOperation"
    assert ec2.describe_snapshots()["Snapshots"] == []


def test_progress_on_the_virtual_clock(virtual_server):
    s = virtual_server
    s.control("POST", "reset")
    c = s.client()
    vid = c.create_volume(AvailabilityZone="us-east-1a", Size=4)["VolumeId"]
    s.control("POST", "clock/advance?seconds=5")
    sid = c.create_snapshot(VolumeId=vid)["SnapshotId"]
    look = lambda: c.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
    assert (look()["State"], look()["Progress"]) == ("pending", "0%")
    assert raises(c.create_volume, AvailabilityZone="us-east-1a", SnapshotId=sid)[0] == "IncorrectState"
    s.control("POST", "clock/advance?seconds=15")
    assert (look()["State"], look()["Progress"]) == ("pending", "50%")
    s.control("POST", "clock/advance?seconds=15")
    assert (look()["State"], look()["Progress"]) == ("completed", "100%")
    assert "CompletionTime" in look()
    c.create_volume(AvailabilityZone="us-east-1a", SnapshotId=sid)


def test_cli_snapshots(server):
    server.control("POST", "reset")
    vid = volume(server.client())
    _, snap, _ = server.cli("create-snapshot", "--volume-id", vid, "--description", "cli")
    sid = snap["SnapshotId"]
    server.cli("wait", "snapshot-completed", "--snapshot-ids", sid)
    _, d, _ = server.cli("describe-snapshots", "--owner-ids", "self")
    assert [x["SnapshotId"] for x in d["Snapshots"]] == [sid]
    server.cli("modify-snapshot-attribute", "--snapshot-id", sid, "--attribute", "createVolumePermission",
               "--operation-type", "add", "--user-ids", "444455556666")
    _, a, _ = server.cli("describe-snapshot-attribute", "--snapshot-id", sid, "--attribute", "createVolumePermission")
    assert a["CreateVolumePermissions"] == [{"UserId": "444455556666"}]
    _, copy, _ = server.cli("copy-snapshot", "--source-region", "us-east-1", "--source-snapshot-id", sid)
    assert copy["SnapshotId"].startswith("snap-")
    server.cli("delete-snapshot", "--snapshot-id", sid)


def test_a_shared_snapshot_is_seen_and_restorable_by_the_accounts_it_is_shared_with(server):
    server.control("POST", "reset")
    owner = server.client(access_key="111122223333")
    friend = server.client(access_key="444455556666")
    stranger = server.client(access_key="777788889999")
    sid = owner.create_snapshot(VolumeId=volume(owner), Description="base",
                                TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "k", "Value": "v"}]}])["SnapshotId"]
    owner.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=FAST)
    assert raises(friend.describe_snapshots, SnapshotIds=[sid])[0] == "InvalidSnapshot.NotFound"
    assert raises(friend.create_volume, AvailabilityZone="us-east-1a", SnapshotId=sid)[0] == "InvalidSnapshot.NotFound"
    owner.modify_snapshot_attribute(SnapshotId=sid, CreateVolumePermission={"Add": [{"UserId": "444455556666"}]})
    [seen] = friend.describe_snapshots(SnapshotIds=[sid])["Snapshots"]
    assert (seen["OwnerId"], seen["Description"], seen["State"]) == ("111122223333", "base", "completed")
    assert "Tags" not in seen or seen["Tags"] == [], "the owner's tags stay the owner's"
    mine = lambda c, **kw: [s["SnapshotId"] for s in c.describe_snapshots(**kw)["Snapshots"]]
    assert mine(friend, RestorableByUserIds=["self"]) == [sid]
    assert mine(friend, OwnerIds=["111122223333"]) == [sid]
    assert mine(friend, OwnerIds=["self"]) == []
    assert mine(friend) == [sid]
    assert mine(stranger) == [] and mine(stranger, OwnerIds=["111122223333"]) == []
    assert raises(stranger.describe_snapshots, SnapshotIds=[sid])[0] == "InvalidSnapshot.NotFound"
    # Another region of the friend's account does not see it.
    assert mine(server.client("eu-west-1", access_key="444455556666"), OwnerIds=["111122223333"]) == []
    # The friend makes a volume of it; only the owner may change or delete it.
    vid = friend.create_volume(AvailabilityZone="us-east-1a", SnapshotId=sid)["VolumeId"]
    friend.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
    v = friend.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    assert (v["SnapshotId"], v["Size"]) == (sid, 10)
    assert raises(friend.delete_snapshot, SnapshotId=sid)[0] == "InvalidSnapshot.NotFound"
    assert raises(friend.modify_snapshot_attribute, SnapshotId=sid,
                  CreateVolumePermission={"Add": [{"UserId": "777788889999"}]})[0] == "InvalidSnapshot.NotFound"
    # The AWS CLI of the friend's account sees it too.
    _, out, _ = server.cli("describe-snapshots", "--restorable-by-user-ids", "self", access_key="444455556666")
    assert [s["SnapshotId"] for s in out["Snapshots"]] == [sid]
    # Public: everyone of the region sees it.
    owner.modify_snapshot_attribute(SnapshotId=sid, CreateVolumePermission={"Add": [{"Group": "all"}]})
    assert mine(stranger, SnapshotIds=[sid]) == [sid]
    # Unshared: gone for the others, and a launch from it is refused.
    owner.reset_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")
    assert raises(friend.describe_snapshots, SnapshotIds=[sid])[0] == "InvalidSnapshot.NotFound"
    assert mine(stranger) == []
    assert raises(friend.create_volume, AvailabilityZone="us-east-1a", SnapshotId=sid)[0] == "InvalidSnapshot.NotFound"
    # Deleting it drops the share.
    owner.modify_snapshot_attribute(SnapshotId=sid, CreateVolumePermission={"Add": [{"Group": "all"}]})
    owner.delete_snapshot(SnapshotId=sid)
    assert mine(stranger) == []
