"""Network interfaces: create with chosen and automatic addresses (held in the subnet, whose free
count follows), secondary addresses, attributes, attach/detach, and deletion rules."""

import botocore.exceptions
import pytest

from conftest import error_of

AL2023 = "ami-08f6cfac8c54bafdd"


def fails(call, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return error_of(e)


def net(ec2):
    vid = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.0.1.0/28", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    return vid, sid


def free(ec2, sid):
    return ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["AvailableIpAddressCount"]


def test_interfaces_hold_subnet_addresses(ec2):
    vid, sid = net(ec2)
    assert free(ec2, sid) == 11
    e = ec2.create_network_interface(SubnetId=sid, PrivateIpAddress="10.0.1.10", Description="fixed")[
        "NetworkInterface"
    ]
    eid = e["NetworkInterfaceId"]
    assert e["PrivateIpAddress"] == "10.0.1.10" and e["Status"] == "available" and e["VpcId"] == vid
    assert [g["GroupName"] for g in e["Groups"]] == ["default"]
    auto = ec2.create_network_interface(SubnetId=sid, SecondaryPrivateIpAddressCount=2)["NetworkInterface"]
    assert auto["PrivateIpAddress"] == "10.0.1.4"
    assert [p["PrivateIpAddress"] for p in auto["PrivateIpAddresses"]] == ["10.0.1.4", "10.0.1.5", "10.0.1.6"]
    assert free(ec2, sid) == 7
    assert fails(ec2.create_network_interface, SubnetId=sid, PrivateIpAddress="10.0.1.10")[0] == (
        "InvalidIPAddress.InUse"
    )
    assert fails(ec2.create_network_interface, SubnetId=sid, PrivateIpAddress="10.0.2.10")[0] == "InvalidParameterValue"
    assert fails(ec2.create_network_interface, SubnetId=sid, PrivateIpAddress="10.0.1.1")[0] == "InvalidParameterValue"
    assigned = ec2.assign_private_ip_addresses(NetworkInterfaceId=eid, SecondaryPrivateIpAddressCount=1)
    assert assigned["AssignedPrivateIpAddresses"] == [{"PrivateIpAddress": "10.0.1.7"}]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eid, PrivateIpAddresses=["10.0.1.12"])
    assert free(ec2, sid) == 5
    assert fails(ec2.unassign_private_ip_addresses, NetworkInterfaceId=eid, PrivateIpAddresses=["10.0.1.10"])[0] == (
        "InvalidParameterValue"
    )
    ec2.unassign_private_ip_addresses(NetworkInterfaceId=eid, PrivateIpAddresses=["10.0.1.12"])
    assert free(ec2, sid) == 6
    # The subnet is full after six more.
    for _ in range(6):
        ec2.create_network_interface(SubnetId=sid)
    assert fails(ec2.create_network_interface, SubnetId=sid)[0] == "InsufficientFreeAddressesInSubnet"
    assert free(ec2, sid) == 0
    assert fails(ec2.delete_subnet, SubnetId=sid)[0] == "DependencyViolation"
    assert fails(ec2.delete_vpc, VpcId=vid)[0] == "DependencyViolation"
    by_filter = ec2.describe_network_interfaces(Filters=[{"Name": "private-ip-address", "Values": ["10.0.1.10"]}])
    assert [x["NetworkInterfaceId"] for x in by_filter["NetworkInterfaces"]] == [eid]
    ec2.delete_network_interface(NetworkInterfaceId=eid)
    assert fails(ec2.describe_network_interfaces, NetworkInterfaceIds=[eid])[0] == "InvalidNetworkInterfaceID.NotFound"
    assert free(ec2, sid) == 2, "its primary and secondary address come back"


def test_attributes_and_attachments(ec2):
    vid, sid = net(ec2)
    gid = ec2.create_security_group(GroupName="eni", Description="d", VpcId=vid)["GroupId"]
    eid = ec2.create_network_interface(SubnetId=sid)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.get_waiter("network_interface_available").wait(NetworkInterfaceIds=[eid])
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eid, Groups=[gid])
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eid, SourceDestCheck={"Value": False})
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eid, Description={"Value": "edge"})
    [e] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eid])["NetworkInterfaces"]
    assert ([g["GroupId"] for g in e["Groups"]], e["SourceDestCheck"], e["Description"]) == ([gid], False, "edge")
    assert fails(ec2.delete_security_group, GroupId=gid)[0] == "DependencyViolation"
    iid = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                            Placement={"AvailabilityZone": "us-east-1a"})["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    att = ec2.attach_network_interface(NetworkInterfaceId=eid, InstanceId=iid, DeviceIndex=1)["AttachmentId"]
    [e] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eid])["NetworkInterfaces"]
    assert e["Status"] == "in-use" and e["Attachment"]["InstanceId"] == iid and e["Attachment"]["DeviceIndex"] == 1
    assert fails(ec2.delete_network_interface, NetworkInterfaceId=eid)[0] == "InvalidNetworkInterface.InUse"
    assert fails(ec2.attach_network_interface, NetworkInterfaceId=eid, InstanceId=iid, DeviceIndex=2)[0] == (
        "InvalidNetworkInterface.InUse"
    )
    ec2.detach_network_interface(AttachmentId=att)
    assert fails(ec2.detach_network_interface, AttachmentId=att)[0] == "InvalidAttachmentID.NotFound"
    ec2.delete_network_interface(NetworkInterfaceId=eid)


def test_cli_network_interface(server, ec2):
    vid, sid = net(ec2)
    _, out, _ = server.cli("create-network-interface", "--subnet-id", sid, "--private-ip-address", "10.0.1.9")
    eid = out["NetworkInterface"]["NetworkInterfaceId"]
    _, out, _ = server.cli("describe-network-interfaces", "--network-interface-ids", eid)
    assert out["NetworkInterfaces"][0]["PrivateIpAddress"] == "10.0.1.9"
    server.cli("delete-network-interface", "--network-interface-id", eid)
