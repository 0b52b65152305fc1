"""Issue 16's scenario end to end: launch an instance with two volumes, attach a third, snapshot
them all, bake an AMI, launch from it (with the same mappings), terminate, and see which volumes
remain per DeleteOnTermination; each wrong move is refused with AWS's error and changes nothing.
With boto3 (resources, waiters) and the AWS CLI."""

import boto3
import botocore.exceptions
import pytest

from conftest import ACCESS_KEY, SECRET_KEY, error_of

AL2023 = "ami-08f6cfac8c54bafdd"  # root /dev/xvda, 8 GiB
FAST = {"Delay": 0.2, "MaxAttempts": 50}


def raises(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return error_of(e)


def volumes_of(c, iid):
    vols = c.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    return {v["Attachments"][0]["Device"]: v for v in vols}


def test_launch_attach_snapshot_bake_relaunch_terminate(server):
    server.control("POST", "reset")
    c = server.client()
    ec2 = boto3.resource("ec2", endpoint_url=server.url, region_name="us-east-1",
                         aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    mappings = [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 10, "VolumeType": "gp3"}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 20, "VolumeType": "gp2", "DeleteOnTermination": False}},
    ]
    inst = ec2.create_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                Placement={"AvailabilityZone": "us-east-1a"}, BlockDeviceMappings=mappings)[0]
    inst.wait_until_running(WaiterConfig=FAST)
    inst.reload()
    first = volumes_of(c, inst.id)
    assert sorted(first) == ["/dev/sdf", "/dev/xvda"]
    assert (first["/dev/xvda"]["Size"], first["/dev/xvda"]["VolumeType"], first["/dev/xvda"]["Attachments"][0]["DeleteOnTermination"]) == (10, "gp3", True)
    assert (first["/dev/sdf"]["Size"], first["/dev/sdf"]["Attachments"][0]["DeleteOnTermination"]) == (20, False)
    assert first["/dev/xvda"]["SnapshotId"].startswith("snap-"), "the root volume is made from the image's snapshot"
    assert sorted(v.id for v in inst.volumes.all()) == sorted(v["VolumeId"] for v in first.values())
    bdm = {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in inst.block_device_mappings}
    assert bdm == {d: v["VolumeId"] for d, v in first.items()}

    # A third volume, attached.
    third = c.create_volume(AvailabilityZone="us-east-1a", Size=5, VolumeType="gp3")["VolumeId"]
    c.get_waiter("volume_available").wait(VolumeIds=[third], WaiterConfig=FAST)
    c.attach_volume(VolumeId=third, InstanceId=inst.id, Device="/dev/sdg")
    c.get_waiter("volume_in_use").wait(VolumeIds=[third], WaiterConfig=FAST)
    inst.reload()
    assert sorted(m["DeviceName"] for m in inst.block_device_mappings) == ["/dev/sdf", "/dev/sdg", "/dev/xvda"]
    assert len(list(inst.volumes.all())) == 3

    # Wrong moves: refused, nothing changes.
    root = first["/dev/xvda"]["VolumeId"]
    assert raises(c.detach_volume, VolumeId=root)[:2] == (
        "IncorrectState", f"Unable to detach root volume '{root}' from instance '{inst.id}'")
    assert raises(c.delete_volume, VolumeId=third)[0] == "VolumeInUse"
    assert raises(c.attach_volume, VolumeId=third, InstanceId=inst.id, Device="/dev/sdh")[0] == "VolumeInUse"
    assert raises(c.create_image, InstanceId=inst.id, Name="bad*name")[0] == "InvalidAMIName.Malformed"
    assert c.describe_volumes(VolumeIds=[root])["Volumes"][0]["State"] == "in-use"

    # Snapshot them all, then bake an AMI.
    snaps = c.create_snapshots(InstanceSpecification={"InstanceId": inst.id}, Description="all three")["Snapshots"]
    assert sorted(s["VolumeId"] for s in snaps) == sorted([root, first["/dev/sdf"]["VolumeId"], third])
    c.get_waiter("snapshot_completed").wait(SnapshotIds=[s["SnapshotId"] for s in snaps], WaiterConfig=FAST)
    ami = c.create_image(InstanceId=inst.id, Name="baked", NoReboot=True)["ImageId"]
    c.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    image = c.describe_images(ImageIds=[ami])["Images"][0]
    baked = {m["DeviceName"]: m["Ebs"] for m in image["BlockDeviceMappings"]}
    assert {d: (e["VolumeSize"], e["DeleteOnTermination"]) for d, e in baked.items()} == {
        "/dev/xvda": (10, True), "/dev/sdf": (20, False), "/dev/sdg": (5, False)}
    assert (image["SourceInstanceId"], image["RootDeviceName"], image["Architecture"]) == (inst.id, "/dev/xvda", "x86_64")
    root_snap = baked["/dev/xvda"]["SnapshotId"]
    assert raises(c.delete_snapshot, SnapshotId=root_snap)[0] == "InvalidSnapshot.InUse"

    # Launch from it: the same mappings.
    child = ec2.create_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                 Placement={"AvailabilityZone": "us-east-1a"})[0]
    child.wait_until_running(WaiterConfig=FAST)
    second = volumes_of(c, child.id)
    assert {d: (v["Size"], v["Attachments"][0]["DeleteOnTermination"], v["SnapshotId"]) for d, v in second.items()} == {
        d: (e["VolumeSize"], e["DeleteOnTermination"], e["SnapshotId"]) for d, e in baked.items()}

    # Terminate both: only the DeleteOnTermination=false volumes remain, available.
    c.terminate_instances(InstanceIds=[inst.id, child.id])
    c.get_waiter("instance_terminated").wait(InstanceIds=[inst.id, child.id], WaiterConfig=FAST)
    left = c.describe_volumes()["Volumes"]
    kept = sorted(v["VolumeId"] for v in left)
    expected = sorted([first["/dev/sdf"]["VolumeId"], third, second["/dev/sdf"]["VolumeId"], second["/dev/sdg"]["VolumeId"]])
    assert kept == expected
    assert {v["State"] for v in left} == {"available"} and all(v["Attachments"] == [] for v in left)
    assert raises(c.describe_volumes, VolumeIds=[root])[0] == "InvalidVolume.NotFound"
    assert raises(c.attach_volume, VolumeId=third, InstanceId=inst.id, Device="/dev/sdg")[0] == "IncorrectInstanceState"


def test_cli_launch_bake_and_relaunch(server):
    server.control("POST", "reset")
    _, r, _ = server.cli("run-instances", "--image-id", AL2023, "--instance-type", "t3.micro", "--count", "1",
                         "--block-device-mappings",
                         '[{"DeviceName":"/dev/sdf","Ebs":{"VolumeSize":12,"DeleteOnTermination":false}}]')
    iid = r["Instances"][0]["InstanceId"]
    server.cli("wait", "instance-running", "--instance-ids", iid)
    _, v, _ = server.cli("describe-volumes", "--filters", f"Name=attachment.instance-id,Values={iid}")
    assert sorted(x["Size"] for x in v["Volumes"]) == [8, 12]
    _, img, _ = server.cli("create-image", "--instance-id", iid, "--name", "cli-baked")
    server.cli("wait", "image-available", "--image-ids", img["ImageId"])
    _, r2, _ = server.cli("run-instances", "--image-id", img["ImageId"], "--instance-type", "t3.micro", "--count", "1")
    child = r2["Instances"][0]["InstanceId"]
    _, v2, _ = server.cli("describe-volumes", "--filters", f"Name=attachment.instance-id,Values={child}")
    assert sorted(x["Size"] for x in v2["Volumes"]) == [8, 12]
    server.cli("terminate-instances", "--instance-ids", iid, child)
    server.cli("wait", "instance-terminated", "--instance-ids", iid, child)
    _, left, _ = server.cli("describe-volumes")
    assert sorted(x["Size"] for x in left["Volumes"]) == [12, 12]


def test_unknown_amis_launch_as_a_generic_image_unless_strict(make_server):
    lenient = make_server("--ephemeral")
    c = lenient.client()
    unknown = "ami-0123456789abcdef0"
    i = c.run_instances(ImageId=unknown, InstanceType="t4g.micro", MinCount=1, MaxCount=1)["Instances"][0]
    assert (i["ImageId"], i["Architecture"], i["RootDeviceName"], i["PlatformDetails"]) == (
        unknown, "arm64", "/dev/xvda", "Linux/UNIX")
    assert raises(c.describe_images, ImageIds=[unknown])[0] == "InvalidAMIID.NotFound", "generic images are not listed"
    assert raises(c.run_instances, ImageId="ami-bad", InstanceType="t3.micro", MinCount=1, MaxCount=1)[0] == (
        "InvalidAMIID.Malformed")
    ssm = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    j = c.run_instances(ImageId=ssm, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    assert j["ImageId"] == AL2023
    assert raises(c.run_instances, ImageId="resolve:ssm:/my/own/param", InstanceType="t3.micro", MinCount=1,
                  MaxCount=1)[0] == "InvalidParameterValue"
    strict = make_server("--ephemeral", "--strict-images").client()
    assert raises(strict.run_instances, ImageId=unknown, InstanceType="t3.micro", MinCount=1, MaxCount=1)[0] == (
        "InvalidAMIID.NotFound")
    assert strict.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"]
    spec = {"ImageId": unknown, "InstanceType": "t3.micro"}
    assert raises(strict.request_spot_instances, LaunchSpecification=spec)[0] == "InvalidAMIID.NotFound"
    assert c.request_spot_instances(LaunchSpecification=spec)["SpotInstanceRequests"]


def test_hibernation_needs_an_encrypted_root_large_enough(ec2):
    opts = {"ImageId": AL2023, "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1,
            "HibernationOptions": {"Configured": True}}
    code, message, _ = raises(ec2.run_instances, **opts)
    assert code == "UnsupportedHibernationConfiguration" and "encrypted" in message
    code, message, _ = raises(ec2.run_instances, BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeSize": 4}}], **opts)
    assert code == "InvalidBlockDeviceMapping" and "smaller" in message
    code, message, _ = raises(ec2.run_instances, InstanceType="r5.large", ImageId=AL2023, MinCount=1, MaxCount=1,
                              HibernationOptions={"Configured": True},
                              BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True}}])
    assert code == "UnsupportedHibernationConfiguration" and "memory" in message
    ok = ec2.run_instances(BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeSize": 16}}], **opts)
    iid = ok["Instances"][0]["InstanceId"]
    assert ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["HibernationOptions"] == {"Configured": True}
    assert len(ec2.describe_instances()["Reservations"]) == 1, "refused launches launch nothing"
