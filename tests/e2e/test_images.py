"""User images end to end: RegisterImage, CopyImage, DeregisterImage, Describe/Modify/Reset image
attributes, DescribeImages merging the account's images with the catalogue, and the snapshots an
image holds on to."""

import botocore.exceptions
import pytest

from conftest import SECRET_KEY, error_of

AL2023 = "ami-08f6cfac8c54bafdd"
FAST = {"Delay": 0.2, "MaxAttempts": 25}


def raises(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return error_of(e)


def snapshot(c, size=8, **kw):
    vid = c.create_volume(AvailabilityZone="us-east-1a", Size=size, **kw)["VolumeId"]
    c.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
    sid = c.create_snapshot(VolumeId=vid)["SnapshotId"]
    c.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=FAST)
    return sid


def register(c, sid, name="my-image", **kw):
    return c.register_image(Name=name, RootDeviceName="/dev/xvda", Architecture="x86_64", VirtualizationType="hvm",
                            EnaSupport=True, BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                                                   "Ebs": {"SnapshotId": sid, "VolumeType": "gp3"}}],
                            **kw)["ImageId"]


def test_register_describe_and_deregister(ec2):
    sid = snapshot(ec2)
    ami = register(ec2, sid, Description="base",
                   TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "role", "Value": "web"}]}])
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    i = ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert (i["State"], i["Name"], i["OwnerId"], i["Public"], i["Architecture"]) == (
        "available", "my-image", "000000000000", False, "x86_64")
    assert i["BlockDeviceMappings"] == [{"DeviceName": "/dev/xvda", "Ebs": {
        "DeleteOnTermination": True, "SnapshotId": sid, "VolumeSize": 8, "VolumeType": "gp3", "Encrypted": False,
        "Iops": 3000, "Throughput": 125}}]
    assert i["Tags"] == [{"Key": "role", "Value": "web"}]
    assert [x["ImageId"] for x in ec2.describe_images(Owners=["self"])["Images"]] == [ami]
    assert ami not in [x["ImageId"] for x in ec2.describe_images(Owners=["amazon"])["Images"]]
    everything = [x["ImageId"] for x in ec2.describe_images()["Images"]]
    assert ami in everything and AL2023 in everything
    assert [x["ImageId"] for x in ec2.describe_images(Filters=[{"Name": "tag:role", "Values": ["web"]}])["Images"]] == [ami]
    assert [x["ImageId"] for x in ec2.describe_images(Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": [sid]}])["Images"]] == [ami]

    # The image holds on to its snapshot; its name is taken.
    assert raises(ec2.delete_snapshot, SnapshotId=sid) == (
        "InvalidSnapshot.InUse", f"The snapshot {sid} is currently in use by {ami}", 400)
    code, message, _ = raises(register, ec2, sid)
    assert code == "InvalidAMIName.Duplicate" and ami in message
    assert raises(register, ec2, sid, name="bad*name")[0] == "InvalidAMIName.Malformed"
    assert raises(ec2.register_image, Name="no-root", RootDeviceName="/dev/xvda",
                  BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 5}}])[0] == "InvalidBlockDeviceMapping"
    assert raises(register, ec2, "snap-0123456789abcdef0", name="ghost")[0] == "InvalidSnapshot.NotFound"
    assert len(ec2.describe_images(Owners=["self"])["Images"]) == 1, "refused registrations change nothing"

    ec2.deregister_image(ImageId=ami)
    assert raises(ec2.describe_images, ImageIds=[ami])[0] == "InvalidAMIID.NotFound"
    ec2.delete_snapshot(SnapshotId=sid)  # free once the image is gone
    assert raises(ec2.deregister_image, ImageId=AL2023)[0] == "AuthFailure"


def test_deregister_can_take_the_snapshots_along(ec2):
    sid = snapshot(ec2)
    ami = register(ec2, sid)
    out = ec2.deregister_image(ImageId=ami, DeleteAssociatedSnapshots=True)
    assert out["DeleteSnapshotResults"] == [{"SnapshotId": sid, "ReturnCode": "success"}]
    assert raises(ec2.describe_snapshots, SnapshotIds=[sid])[0] == "InvalidSnapshot.NotFound"


def test_launch_permissions_and_attributes(ec2):
    ami = register(ec2, snapshot(ec2), Description="first")
    attr = lambda a: ec2.describe_image_attribute(ImageId=ami, Attribute=a)
    assert attr("description")["Description"] == {"Value": "first"}
    ec2.modify_image_attribute(ImageId=ami, Description={"Value": "second"})
    assert attr("description")["Description"] == {"Value": "second"}
    assert attr("launchPermission")["LaunchPermissions"] == []
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": "444455556666"}, {"Group": "all"}]})
    assert attr("launchPermission")["LaunchPermissions"] == [{"Group": "all"}, {"UserId": "444455556666"}]
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["Public"] is True
    assert ami in [x["ImageId"] for x in ec2.describe_images(ExecutableUsers=["444455556666"], Owners=["self"])["Images"]]
    ec2.modify_image_attribute(ImageId=ami, Attribute="launchPermission", OperationType="remove", UserGroups=["all"])
    assert attr("launchPermission")["LaunchPermissions"] == [{"UserId": "444455556666"}]
    ec2.reset_image_attribute(ImageId=ami, Attribute="launchPermission")
    assert attr("launchPermission")["LaunchPermissions"] == []
    assert ec2.describe_images(ExecutableUsers=["444455556666"], Owners=["self"])["Images"] == []
    assert attr("blockDeviceMapping")["BlockDeviceMappings"][0]["DeviceName"] == "/dev/xvda"
    assert raises(ec2.describe_image_attribute, ImageId=ami, Attribute="color")[0] == "InvalidParameterValue"
    assert raises(ec2.modify_image_attribute, ImageId=AL2023, Description={"Value": "mine"})[0] == "AuthFailure"
    assert raises(ec2.reset_image_attribute, ImageId=ami, Attribute="description")[0] == "InvalidParameterValue"
    assert ec2.describe_image_attribute(ImageId=AL2023, Attribute="description")["Description"]["Value"]


def test_copy_image_to_another_region(server):
    server.control("POST", "reset")
    east, west = server.client("us-east-1"), server.client("eu-west-1")
    ami = register(east, snapshot(east), name="golden")
    east.create_tags(Resources=[ami], Tags=[{"Key": "t", "Value": "1"}])
    copy = west.copy_image(Name="golden-copy", SourceRegion="us-east-1", SourceImageId=ami, CopyImageTags=True,
                           ClientToken="copy-1")["ImageId"]
    again = west.copy_image(Name="golden-copy", SourceRegion="us-east-1", SourceImageId=ami, CopyImageTags=True,
                            ClientToken="copy-1")["ImageId"]
    assert copy == again, "a ClientToken makes CopyImage idempotent"
    west.get_waiter("image_available").wait(ImageIds=[copy], WaiterConfig=FAST)
    i = west.describe_images(ImageIds=[copy])["Images"][0]
    assert (i["SourceImageId"], i["SourceImageRegion"], i["Name"]) == (ami, "us-east-1", "golden-copy")
    assert i["Tags"] == [{"Key": "t", "Value": "1"}]
    snap = i["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    assert west.describe_snapshots(SnapshotIds=[snap])["Snapshots"][0]["VolumeId"] == "vol-ffffffff"
    assert raises(east.describe_images, ImageIds=[copy])[0] == "InvalidAMIID.NotFound"
    # A catalogue image can be copied too, and becomes the account's own.
    own = west.copy_image(Name="al2023-mine", SourceRegion="us-east-1", SourceImageId=AL2023)["ImageId"]
    assert west.describe_images(ImageIds=[own])["Images"][0]["OwnerId"] == "000000000000"
    assert raises(west.copy_image, Name="x-copy", SourceRegion="us-east-1", SourceImageId="ami-0123456789abcdef0")[0] == (
        "InvalidAMIID.NotFound")
    assert raises(west.copy_image, Name="x-copy", SourceRegion="nowhere-1", SourceImageId=ami)[0] == "InvalidParameterValue"


def test_pending_on_the_virtual_clock(virtual_server):
    s = virtual_server
    s.control("POST", "reset")
    c = s.client()
    vid = c.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    s.control("POST", "clock/advance?seconds=5")
    sid = c.create_snapshot(VolumeId=vid)["SnapshotId"]
    s.control("POST", "clock/advance?seconds=30")
    ami = register(c, sid)
    assert c.describe_images(ImageIds=[ami])["Images"][0]["State"] == "pending"
    assert raises(c.copy_image, Name="too-early", SourceRegion="us-east-1", SourceImageId=ami)[0] == "InvalidAMIID.Unavailable"
    s.control("POST", "clock/advance?seconds=30")
    assert c.describe_images(ImageIds=[ami])["Images"][0]["State"] == "available"


def test_cli_images(server):
    server.control("POST", "reset")
    sid = snapshot(server.client())
    _, r, _ = server.cli("register-image", "--name", "cli-image", "--root-device-name", "/dev/xvda",
                         "--architecture", "x86_64", "--virtualization-type", "hvm",
                         "--block-device-mappings", f"DeviceName=/dev/xvda,Ebs={{SnapshotId={sid}}}")
    ami = r["ImageId"]
    server.cli("wait", "image-available", "--image-ids", ami)
    _, d, _ = server.cli("describe-images", "--owners", "self")
    assert [x["ImageId"] for x in d["Images"]] == [ami]
    server.cli("modify-image-attribute", "--image-id", ami, "--launch-permission", "Add=[{UserId=444455556666}]")
    _, a, _ = server.cli("describe-image-attribute", "--image-id", ami, "--attribute", "launchPermission")
    assert a["LaunchPermissions"] == [{"UserId": "444455556666"}]
    server.cli("deregister-image", "--image-id", ami)


def test_shared_images_are_seen_by_the_accounts_they_are_shared_with(server):
    server.control("POST", "reset")
    owner = server.client(access_key="111122223333")
    friend = server.client(access_key="444455556666")
    stranger = server.client(access_key="777788889999")
    ami = register(owner, snapshot(owner), name="shared-one")
    assert raises(friend.describe_images, ImageIds=[ami])[0] == "InvalidAMIID.NotFound"
    owner.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": "444455556666"}]})
    seen = friend.describe_images(ImageIds=[ami])["Images"][0]
    assert (seen["OwnerId"], seen["Public"]) == ("111122223333", False)
    assert [i["ImageId"] for i in friend.describe_images(ExecutableUsers=["self"], Owners=["111122223333"])["Images"]] == [ami]
    assert raises(stranger.describe_images, ImageIds=[ami])[0] == "InvalidAMIID.NotFound"
    assert raises(friend.modify_image_attribute, ImageId=ami, Description={"Value": "mine now"})[0] == "AuthFailure"
    assert server.client("eu-west-1", access_key="444455556666").describe_images(Owners=["111122223333"])["Images"] == []
    owner.reset_image_attribute(ImageId=ami, Attribute="launchPermission")
    assert raises(friend.describe_images, ImageIds=[ami])[0] == "InvalidAMIID.NotFound"
