"""Instance attributes through the real binary: DescribeInstanceAttribute for all sixteen
attributes (the sequence Ansible's ec2_instance runs after a launch, and boto3's
Instance.describe_attribute / modify_attribute), ModifyInstanceAttribute with its stopped-only
rule and its errors, ResetInstanceAttribute, the AWS CLI, and the guest shutdown control endpoint
honouring instanceInitiatedShutdownBehavior."""

import base64

import boto3

from conftest import ACCESS_KEY, AL2023, SECRET_KEY, fails, instance_of, launch_ids, wait_for_state

ALL = [
    "instanceType",
    "kernel",
    "ramdisk",
    "userData",
    "disableApiTermination",
    "instanceInitiatedShutdownBehavior",
    "rootDeviceName",
    "blockDeviceMapping",
    "productCodes",
    "sourceDestCheck",
    "groupSet",
    "ebsOptimized",
    "sriovNetSupport",
    "enaSupport",
    "enclaveOptions",
    "disableApiStop",
]

def attr(c, iid, name):
    r = c.describe_instance_attribute(InstanceId=iid, Attribute=name)
    assert r["InstanceId"] == iid
    return r


def stopped(c, iid):
    c.stop_instances(InstanceIds=[iid])
    return wait_for_state(c, iid, "stopped")


def test_ansible_sequence_every_attribute_after_run_instances(ec2):
    user_data = "#!/bin/bash\necho hello\n"
    r = ec2.run_instances(
        ImageId=AL2023,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        UserData=user_data,
        DisableApiTermination=True,
        InstanceInitiatedShutdownBehavior="terminate",
        EbsOptimized=True,
    )
    iid = r["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    inst = instance_of(ec2, iid)
    seen = {name: attr(ec2, iid, name) for name in ALL}
    assert seen["instanceType"]["InstanceType"] == {"Value": "t3.micro"}
    assert seen["kernel"]["KernelId"] == {}
    assert seen["ramdisk"]["RamdiskId"] == {}
    assert base64.b64decode(seen["userData"]["UserData"]["Value"]).decode() == user_data
    assert seen["disableApiTermination"]["DisableApiTermination"] == {"Value": True}
    assert seen["instanceInitiatedShutdownBehavior"]["InstanceInitiatedShutdownBehavior"] == {"Value": "terminate"}
    assert seen["rootDeviceName"]["RootDeviceName"] == {"Value": inst["RootDeviceName"]}
    bdm = seen["blockDeviceMapping"]["BlockDeviceMappings"]
    assert [b["DeviceName"] for b in bdm] == [b["DeviceName"] for b in inst["BlockDeviceMappings"]]
    assert bdm[0]["Ebs"]["VolumeId"] == inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    assert seen["productCodes"]["ProductCodes"] == []
    assert seen["sourceDestCheck"]["SourceDestCheck"] == {"Value": True}
    assert seen["groupSet"]["Groups"] == [
        {"GroupId": g["GroupId"], "GroupName": g["GroupName"]} for g in inst["SecurityGroups"]
    ]
    assert seen["ebsOptimized"]["EbsOptimized"] == {"Value": True}
    assert seen["sriovNetSupport"]["SriovNetSupport"] == {}
    assert seen["enaSupport"]["EnaSupport"] == {"Value": inst["EnaSupport"]}
    assert seen["enclaveOptions"]["EnclaveOptions"] == {"Enabled": False}
    assert seen["disableApiStop"]["DisableApiStop"] == {"Value": False}
    # Each response carries only the attribute asked for (ec2d writes top-level lists always, empty).
    others = set(seen["sourceDestCheck"]) - {"ResponseMetadata", "BlockDeviceMappings", "ProductCodes", "Groups"}
    assert others == {"InstanceId", "SourceDestCheck"}
    assert seen["sourceDestCheck"]["BlockDeviceMappings"] == []


def test_boto3_resource_describe_and_modify_attribute(server, ec2):
    res = boto3.resource(
        "ec2",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    iid = launch_ids(ec2)[0]
    inst = res.Instance(iid)
    assert inst.describe_attribute(Attribute="disableApiTermination")["DisableApiTermination"] == {"Value": False}
    inst.modify_attribute(DisableApiTermination={"Value": True})
    assert inst.describe_attribute(Attribute="disableApiTermination")["DisableApiTermination"] == {"Value": True}
    code, msg, status = fails(ec2.terminate_instances, InstanceIds=[iid])
    assert (code, status) == ("OperationNotPermitted", 400)
    inst.modify_attribute(Attribute="disableApiTermination", Value="false")
    inst.modify_attribute(SourceDestCheck={"Value": False})
    assert inst.describe_attribute(Attribute="sourceDestCheck")["SourceDestCheck"] == {"Value": False}
    assert instance_of(ec2, iid)["SourceDestCheck"] is False
    ec2.terminate_instances(InstanceIds=[iid])


def test_stopped_only_attributes(ec2):
    iid = launch_ids(ec2)[0]
    wait_for_state(ec2, iid, "running")
    for kw in [
        {"InstanceType": {"Value": "t3.large"}},
        {"UserData": {"Value": b"new"}},
        {"EbsOptimized": {"Value": False}},
        {"EnaSupport": {"Value": False}},
        {"SriovNetSupport": {"Value": "simple"}},
        {"Kernel": {"Value": "aki-12345678"}},
        {"Ramdisk": {"Value": "ari-12345678"}},
    ]:
        code, msg, status = fails(ec2.modify_instance_attribute, InstanceId=iid, **kw)
        assert (code, status) == ("IncorrectInstanceState", 400), kw
        assert msg == f"The instance '{iid}' is not in the 'stopped' state."
    # Nothing changed.
    assert attr(ec2, iid, "instanceType")["InstanceType"] == {"Value": "t3.micro"}
    stopped(ec2, iid)
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.large"})
    ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"#cloud-config\n"})
    ec2.modify_instance_attribute(InstanceId=iid, SriovNetSupport={"Value": "simple"})
    ec2.modify_instance_attribute(InstanceId=iid, Kernel={"Value": "aki-12345678"})
    assert attr(ec2, iid, "instanceType")["InstanceType"] == {"Value": "t3.large"}
    assert base64.b64decode(attr(ec2, iid, "userData")["UserData"]["Value"]) == b"#cloud-config\n"
    assert attr(ec2, iid, "sriovNetSupport")["SriovNetSupport"] == {"Value": "simple"}
    assert attr(ec2, iid, "kernel")["KernelId"] == {"Value": "aki-12345678"}
    ec2.start_instances(InstanceIds=[iid])
    inst = wait_for_state(ec2, iid, "running")
    assert inst["InstanceType"] == "t3.large"


def test_modify_errors(ec2):
    iid = launch_ids(ec2)[0]
    stopped(ec2, iid)
    code, msg, status = fails(
        ec2.modify_instance_attribute, InstanceId=iid, InstanceType={"Value": "t3.huge"}
    )
    assert (code, status, msg) == ("InvalidInstanceAttributeValue", 400, "Value (t3.huge) for parameter instanceType is invalid.")
    code, msg, _ = fails(ec2.modify_instance_attribute, InstanceId=iid, InstanceType={"Value": "m6g.large"})
    assert code == "InvalidInstanceAttributeValue" and "x86_64" in msg
    code, msg, _ = fails(
        ec2.modify_instance_attribute,
        InstanceId=iid,
        InstanceType={"Value": "t3.large"},
        DisableApiStop={"Value": True},
    )
    assert code == "InvalidParameterCombination" and "multiple attribute" in msg
    code, msg, _ = fails(ec2.modify_instance_attribute, InstanceId=iid)
    assert code == "InvalidParameterCombination"
    code, msg, _ = fails(ec2.modify_instance_attribute, InstanceId=iid, Attribute="rootDeviceName", Value="/dev/sda1")
    assert code == "InvalidParameterValue" and "rootDeviceName" in msg
    code, msg, _ = fails(
        ec2.modify_instance_attribute, InstanceId=iid, InstanceInitiatedShutdownBehavior={"Value": "explode"}
    )
    assert code == "InvalidParameterValue" and "explode" in msg
    code, msg, _ = fails(
        ec2.modify_instance_attribute,
        InstanceId=iid,
        BlockDeviceMappings=[{"DeviceName": "/dev/sdz", "Ebs": {"DeleteOnTermination": False}}],
    )
    assert (code, msg) == ("InvalidInstanceAttributeValue", "No device is currently mapped at /dev/sdz")
    code, msg, _ = fails(ec2.modify_instance_attribute, InstanceId=iid, Groups=["sg-0123456789abcdef0"])
    assert code == "InvalidGroup.NotFound"
    code, _, _ = fails(ec2.modify_instance_attribute, InstanceId="i-0123456789abcdef0", DisableApiStop={"Value": True})
    assert code == "InvalidInstanceID.NotFound"
    code, _, _ = fails(ec2.modify_instance_attribute, InstanceId="bogus", DisableApiStop={"Value": True})
    assert code == "InvalidInstanceID.Malformed"
    code, _, _ = fails(ec2.modify_instance_attribute, InstanceId=iid, DisableApiStop={"Value": True}, DryRun=True)
    assert code == "DryRunOperation"
    assert attr(ec2, iid, "disableApiStop")["DisableApiStop"] == {"Value": False}
    # Delete-on-termination of the root volume changes while running or stopped.
    root = instance_of(ec2, iid)["RootDeviceName"]
    ec2.modify_instance_attribute(
        InstanceId=iid, BlockDeviceMappings=[{"DeviceName": root, "Ebs": {"DeleteOnTermination": False}}]
    )
    assert attr(ec2, iid, "blockDeviceMapping")["BlockDeviceMappings"][0]["Ebs"]["DeleteOnTermination"] is False
    # The default security group by ID is accepted.
    sg = instance_of(ec2, iid)["SecurityGroups"][0]["GroupId"]
    ec2.modify_instance_attribute(InstanceId=iid, Groups=[sg])


def test_describe_errors(ec2):
    iid = launch_ids(ec2)[0]
    code, msg, status = fails(ec2.describe_instance_attribute, InstanceId=iid, Attribute="bogus")
    assert (code, status) == ("InvalidParameterValue", 400) and "bogus" in msg
    code, _, _ = fails(ec2.describe_instance_attribute, InstanceId="i-0123456789abcdef0", Attribute="instanceType")
    assert code == "InvalidInstanceID.NotFound"
    code, _, _ = fails(ec2.describe_instance_attribute, InstanceId=iid, Attribute="instanceType", DryRun=True)
    assert code == "DryRunOperation"


def test_reset_instance_attribute(ec2):
    iid = launch_ids(ec2)[0]
    wait_for_state(ec2, iid, "running")
    ec2.modify_instance_attribute(InstanceId=iid, SourceDestCheck={"Value": False})
    ec2.reset_instance_attribute(InstanceId=iid, Attribute="sourceDestCheck")
    assert attr(ec2, iid, "sourceDestCheck")["SourceDestCheck"] == {"Value": True}
    code, _, _ = fails(ec2.reset_instance_attribute, InstanceId=iid, Attribute="kernel")
    assert code == "IncorrectInstanceState"
    code, msg, _ = fails(ec2.reset_instance_attribute, InstanceId=iid, Attribute="userData")
    assert code == "InvalidParameterValue" and "userData" in msg
    stopped(ec2, iid)
    ec2.modify_instance_attribute(InstanceId=iid, Ramdisk={"Value": "ari-12345678"})
    ec2.reset_instance_attribute(InstanceId=iid, Attribute="ramdisk")
    assert attr(ec2, iid, "ramdisk")["RamdiskId"] == {}


def test_cli(server, ec2):
    iid = launch_ids(ec2)[0]
    _, out, _ = server.cli("describe-instance-attribute", "--instance-id", iid, "--attribute", "instanceType")
    assert out["InstanceType"] == {"Value": "t3.micro"}
    server.cli("modify-instance-attribute", "--instance-id", iid, "--disable-api-stop")
    _, out, _ = server.cli("describe-instance-attribute", "--instance-id", iid, "--attribute", "disableApiStop")
    assert out["DisableApiStop"] == {"Value": True}
    server.cli("modify-instance-attribute", "--instance-id", iid, "--no-disable-api-stop")
    stopped(ec2, iid)
    server.cli("modify-instance-attribute", "--instance-id", iid, "--attribute", "instanceType", "--value", "t3.small")
    _, out, _ = server.cli("describe-instance-attribute", "--instance-id", iid, "--attribute", "instanceType")
    assert out["InstanceType"] == {"Value": "t3.small"}
    rc, _, err = server.cli(
        "modify-instance-attribute", "--instance-id", iid, "--attribute", "kernel", "--value", "nope", check=False
    )
    assert rc != 0 and "InvalidParameterValue" in err
    server.cli("reset-instance-attribute", "--instance-id", iid, "--attribute", "sourceDestCheck")


def test_guest_shutdown_honours_the_behavior(vs):
    c = vs.client()
    stop_id = launch_ids(c, DisableApiStop=True)[0]
    term_id = launch_ids(c, InstanceInitiatedShutdownBehavior="terminate", DisableApiTermination=True)[0]
    wait_for_state(c, stop_id, "running", server=vs, step=10)
    wait_for_state(c, term_id, "running", server=vs, step=10)
    assert vs.control("POST", f"instances/{stop_id}/guest-shutdown")["state"] == "stopping"
    assert vs.control("POST", f"instances/{term_id}/guest-shutdown")["state"] == "shutting-down"
    inst = instance_of(c, stop_id)
    assert inst["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown"
    wait_for_state(c, stop_id, "stopped", server=vs, step=10)
    wait_for_state(c, term_id, "terminated", server=vs, step=10)
    # Only a running instance shuts itself down; unknown instances are 404.
    body = vs.control("POST", f"instances/{stop_id}/guest-shutdown", expect=409)
    assert "running" in body["error"]
    vs.control("POST", "instances/i-0123456789abcdef0/guest-shutdown", expect=404)
    # After a behaviour change to terminate, the next guest shutdown terminates.
    c.modify_instance_attribute(InstanceId=stop_id, InstanceInitiatedShutdownBehavior={"Value": "terminate"})
    c.start_instances(InstanceIds=[stop_id])
    wait_for_state(c, stop_id, "running", server=vs, step=10)
    vs.control("POST", f"instances/{stop_id}/guest-shutdown")
    wait_for_state(c, stop_id, "terminated", server=vs, step=10)


def test_monitor_and_unmonitor(server, ec2):
    a, b = launch_ids(ec2, 2)
    r = ec2.monitor_instances(InstanceIds=[a, b])
    assert [(m["InstanceId"], m["Monitoring"]["State"]) for m in r["InstanceMonitorings"]] == [
        (a, "pending"),
        (b, "pending"),
    ]
    assert instance_of(ec2, a)["Monitoring"] == {"State": "enabled"}
    assert ec2.describe_instances(Filters=[{"Name": "monitoring-state", "Values": ["enabled"]}])["Reservations"]
    r = ec2.unmonitor_instances(InstanceIds=[a])
    assert r["InstanceMonitorings"][0]["Monitoring"]["State"] == "disabling"
    assert instance_of(ec2, a)["Monitoring"] == {"State": "disabled"}
    assert instance_of(ec2, b)["Monitoring"] == {"State": "enabled"}
    # One unknown ID fails the batch and changes nothing.
    code, _, _ = fails(ec2.unmonitor_instances, InstanceIds=[b, "i-0123456789abcdef0"])
    assert code == "InvalidInstanceID.NotFound"
    assert instance_of(ec2, b)["Monitoring"] == {"State": "enabled"}
    code, _, _ = fails(ec2.monitor_instances, InstanceIds=[a], DryRun=True)
    assert code == "DryRunOperation"
    _, out, _ = server.cli("monitor-instances", "--instance-ids", a)
    assert out["InstanceMonitorings"][0]["Monitoring"]["State"] == "pending"
    ec2.terminate_instances(InstanceIds=[a])
    wait_for_state(ec2, a, "terminated")
    code, _, _ = fails(ec2.monitor_instances, InstanceIds=[a])
    assert code == "IncorrectInstanceState"


def test_console_output(vs):
    c = vs.client()
    iid = launch_ids(c)[0]
    r = c.get_console_output(InstanceId=iid)
    assert r["InstanceId"] == iid and "Output" not in r
    wait_for_state(c, iid, "running", server=vs, step=10)
    r = c.get_console_output(InstanceId=iid, Latest=True)
    # boto3 decodes the base64 output.
    assert iid in r["Output"] and "login:" in r["Output"]
    assert r["Timestamp"] >= instance_of(c, iid)["LaunchTime"]
    raw = c.get_console_output(InstanceId=iid)
    assert raw["Output"] == r["Output"]
    _, out, _ = vs.cli("get-console-output", "--instance-id", iid)
    assert iid in out["Output"]
    code, _, _ = fails(c.get_console_output, InstanceId="i-0123456789abcdef0")
    assert code == "InvalidInstanceID.NotFound"


def test_console_output_is_base64_on_the_wire(server, ec2):
    iid = launch_ids(ec2)[0]
    wait_for_state(ec2, iid, "running")
    status, _, body = server.raw(body=f"Action=GetConsoleOutput&Version=2016-11-15&InstanceId={iid}".encode())
    assert status == 200
    text = body.split("<output>")[1].split("</output>")[0]
    assert iid in base64.b64decode(text).decode()


def test_metadata_options(server, ec2):
    iid = launch_ids(
        ec2, MetadataOptions={"HttpTokens": "optional", "HttpPutResponseHopLimit": 1, "InstanceMetadataTags": "enabled"}
    )[0]
    m = instance_of(ec2, iid)["MetadataOptions"]
    assert (m["HttpTokens"], m["HttpPutResponseHopLimit"], m["InstanceMetadataTags"], m["HttpEndpoint"]) == (
        "optional",
        1,
        "enabled",
        "enabled",
    )
    r = ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="required", HttpPutResponseHopLimit=3)
    assert r["InstanceId"] == iid
    assert r["InstanceMetadataOptions"]["State"] == "pending"
    assert r["InstanceMetadataOptions"]["HttpTokens"] == "required"
    m = instance_of(ec2, iid)["MetadataOptions"]
    assert (m["HttpTokens"], m["HttpPutResponseHopLimit"], m["InstanceMetadataTags"]) == ("required", 3, "enabled")
    bad = server.client(validate=False)
    code, msg, _ = fails(bad.modify_instance_metadata_options, InstanceId=iid, HttpPutResponseHopLimit=65)
    assert code == "InvalidParameterValue" and "65" in msg
    code, msg, _ = fails(bad.modify_instance_metadata_options, InstanceId=iid, HttpTokens="sometimes")
    assert code == "InvalidParameterValue" and "HttpTokens" in msg
    code, _, _ = fails(bad.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, MetadataOptions={"HttpEndpoint": "on"})
    assert code == "InvalidParameterValue"
    assert instance_of(ec2, iid)["MetadataOptions"]["HttpPutResponseHopLimit"] == 3
    _, out, _ = server.cli("modify-instance-metadata-options", "--instance-id", iid, "--http-endpoint", "disabled")
    assert out["InstanceMetadataOptions"]["HttpEndpoint"] == "disabled"
