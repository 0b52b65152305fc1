"""An instance's network through its life: an Elastic IP kept across stop and start, interfaces attached
beside the primary one shown in DescribeInstances, and everything given back when the instance terminates,
whichever path terminates it (TerminateInstances or a guest-initiated shutdown); subnet addresses handed out
lowest first and counted without scanning instances."""

from conftest import fails, instance_of, launch_ids, wait_for_state


def net(ec2, cidr="10.0.1.0/28"):
    vid = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock=cidr, AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    return vid, sid


def free(ec2, sid):
    return ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["AvailableIpAddressCount"]


def running(ec2, n=1, **kw):
    ids = launch_ids(ec2, n, **kw)
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1})
    return ids


def test_an_elastic_ip_stays_across_stop_and_start(ec2):
    [iid] = running(ec2)
    auto = instance_of(ec2, iid)["PublicIpAddress"]
    a = ec2.allocate_address(Domain="vpc")
    assoc = ec2.associate_address(AllocationId=a["AllocationId"], InstanceId=iid)["AssociationId"]
    assert instance_of(ec2, iid)["PublicIpAddress"] == a["PublicIp"] != auto
    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    stopped = instance_of(ec2, iid)
    assert stopped["PublicIpAddress"] == a["PublicIp"], "AWS keeps a VPC instance's Elastic IP while it is stopped"
    [d] = ec2.describe_addresses(AllocationIds=[a["AllocationId"]])["Addresses"]
    assert (d["InstanceId"], d["AssociationId"]) == (iid, assoc)
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    inst = instance_of(ec2, iid)
    assert inst["PublicIpAddress"] == a["PublicIp"]
    assert inst["NetworkInterfaces"][0]["Association"]["PublicIp"] == a["PublicIp"]
    # Without an Elastic IP, a stop gives the automatic address back and a start draws a new one.
    [other] = running(ec2)
    first = instance_of(ec2, other)["PublicIpAddress"]
    ec2.stop_instances(InstanceIds=[other])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[other], WaiterConfig={"Delay": 1})
    assert "PublicIpAddress" not in instance_of(ec2, other)
    ec2.start_instances(InstanceIds=[other])
    ec2.get_waiter("instance_running").wait(InstanceIds=[other], WaiterConfig={"Delay": 1})
    assert instance_of(ec2, other)["PublicIpAddress"] != first
    # Termination disassociates the Elastic IP; the account keeps it.
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    [d] = ec2.describe_addresses(AllocationIds=[a["AllocationId"]])["Addresses"]
    assert "AssociationId" not in d and "InstanceId" not in d
    ec2.release_address(AllocationId=a["AllocationId"])


def test_attached_interfaces_show_in_describe_instances(ec2, server):
    vid, sid = net(ec2)
    [iid] = running(ec2, SubnetId=sid)
    eid = ec2.create_network_interface(SubnetId=sid, Description="second")["NetworkInterface"]["NetworkInterfaceId"]
    att = ec2.attach_network_interface(NetworkInterfaceId=eid, InstanceId=iid, DeviceIndex=1)["AttachmentId"]
    nics = instance_of(ec2, iid)["NetworkInterfaces"]
    assert [n["Attachment"]["DeviceIndex"] for n in nics] == [0, 1]
    second = nics[1]
    assert second["NetworkInterfaceId"] == eid and second["Attachment"]["AttachmentId"] == att
    assert second["Attachment"]["Status"] == "attached" and second["Attachment"]["DeleteOnTermination"] is False
    assert second["Description"] == "second" and second["SubnetId"] == sid and second["VpcId"] == vid
    assert second["PrivateIpAddresses"][0]["Primary"] is True
    # The AWS CLI sees the same.
    _, out, _ = server.cli("describe-instances", "--instance-ids", iid)
    cli_nics = out["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
    assert [(n["NetworkInterfaceId"], n["Attachment"]["DeviceIndex"]) for n in cli_nics][1] == (eid, 1)
    # Device index 1 is taken; another interface goes to 2.
    e3 = ec2.create_network_interface(SubnetId=sid)["NetworkInterface"]["NetworkInterfaceId"]
    code, msg, status = fails(ec2.attach_network_interface, NetworkInterfaceId=e3, InstanceId=iid, DeviceIndex=1)
    assert (code, status) == ("InvalidParameterValue", 400) and "device index" in msg
    att3 = ec2.attach_network_interface(NetworkInterfaceId=e3, InstanceId=iid, DeviceIndex=2)["AttachmentId"]
    ec2.detach_network_interface(AttachmentId=att)
    nics = instance_of(ec2, iid)["NetworkInterfaces"]
    assert [n["NetworkInterfaceId"] for n in nics][1:] == [e3]
    # The index is free again.
    att = ec2.attach_network_interface(NetworkInterfaceId=eid, InstanceId=iid, DeviceIndex=1)["AttachmentId"]
    assert [n["Attachment"]["DeviceIndex"] for n in instance_of(ec2, iid)["NetworkInterfaces"]] == [0, 1, 2]
    before = free(ec2, sid)
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    # Attached interfaces are detached (not deleted), the primary one goes with its address.
    enis = ec2.describe_network_interfaces(NetworkInterfaceIds=[eid, e3])["NetworkInterfaces"]
    assert [e["Status"] for e in enis] == ["available", "available"]
    assert free(ec2, sid) == before + 1
    assert fails(ec2.detach_network_interface, AttachmentId=att3)[0] == "InvalidAttachmentID.NotFound"


def test_a_guest_shutdown_that_terminates_gives_the_network_back(vs):
    c = vs.client()
    vid, sid = net(c)
    [iid] = launch_ids(c, SubnetId=sid, InstanceInitiatedShutdownBehavior="terminate")
    wait_for_state(c, iid, "running", server=vs, step=10)
    eid = c.create_network_interface(SubnetId=sid)["NetworkInterface"]["NetworkInterfaceId"]
    c.attach_network_interface(NetworkInterfaceId=eid, InstanceId=iid, DeviceIndex=1)
    a = c.allocate_address(Domain="vpc")
    c.associate_address(AllocationId=a["AllocationId"], InstanceId=iid)
    primary = instance_of(c, iid)["NetworkInterfaces"][0]["NetworkInterfaceId"]
    assert free(c, sid) == 11 - 2
    assert vs.control("POST", f"instances/{iid}/guest-shutdown")["state"] == "shutting-down"
    # Given back as the instance began to terminate, not by TerminateInstances.
    [e] = c.describe_network_interfaces(NetworkInterfaceIds=[eid])["NetworkInterfaces"]
    assert e["Status"] == "available" and "Attachment" not in e
    assert "AssociationId" not in c.describe_addresses(AllocationIds=[a["AllocationId"]])["Addresses"][0]
    assert fails(c.describe_network_interfaces, NetworkInterfaceIds=[primary])[0] == (
        "InvalidNetworkInterfaceID.NotFound"
    )
    assert free(c, sid) == 11 - 1
    wait_for_state(c, iid, "terminated", server=vs, step=10)
    # The subnet and the group are free to go once the detached interface is.
    c.delete_network_interface(NetworkInterfaceId=eid)
    c.delete_subnet(SubnetId=sid)


def test_subnet_addresses_are_handed_out_lowest_first_and_counted(ec2):
    vid, sid = net(ec2)
    assert free(ec2, sid) == 11
    ids = running(ec2, 3, SubnetId=sid)
    ips = [instance_of(ec2, i)["PrivateIpAddress"] for i in ids]
    assert sorted(ips) == ["10.0.1.4", "10.0.1.5", "10.0.1.6"]
    assert free(ec2, sid) == 8
    fixed = running(ec2, SubnetId=sid, PrivateIpAddress="10.0.1.7")[0]
    code, msg, status = fails(
        ec2.run_instances, ImageId="ami-08f6cfac8c54bafdd", InstanceType="t3.micro", MinCount=1, MaxCount=1,
        SubnetId=sid, PrivateIpAddress="10.0.1.7",
    )
    assert (code, status) == ("InvalidIPAddress.InUse", 400) and "10.0.1.7" in msg
    # A launch of several skips the fixed address.
    more = running(ec2, 2, SubnetId=sid)
    assert sorted(instance_of(ec2, i)["PrivateIpAddress"] for i in more) == ["10.0.1.8", "10.0.1.9"]
    assert free(ec2, sid) == 5
    # More than the subnet has: refused below MinCount, nothing launched.
    code, _, status = fails(
        ec2.run_instances, ImageId="ami-08f6cfac8c54bafdd", InstanceType="t3.micro", MinCount=6, MaxCount=6,
        SubnetId=sid,
    )
    assert (code, status) == ("InsufficientFreeAddressesInSubnet", 400)
    assert free(ec2, sid) == 5
    # A terminated instance's address is the lowest free one again.
    ec2.terminate_instances(InstanceIds=[ids[0], fixed])
    assert free(ec2, sid) == 7
    [again] = running(ec2, SubnetId=sid)
    assert instance_of(ec2, again)["PrivateIpAddress"] == ips[0]
    # The group of live instances stays in use; the subnet is not empty.
    gid = ec2.create_security_group(GroupName="g", Description="d", VpcId=vid)["GroupId"]
    [with_group] = running(ec2, SubnetId=sid, SecurityGroupIds=[gid])
    code, _, status = fails(ec2.delete_security_group, GroupId=gid)
    assert (code, status) == ("DependencyViolation", 400)
    assert fails(ec2.delete_subnet, SubnetId=sid)[0] == "DependencyViolation"
    ec2.terminate_instances(InstanceIds=[with_group])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[with_group], WaiterConfig={"Delay": 1})
    ec2.delete_security_group(GroupId=gid)
