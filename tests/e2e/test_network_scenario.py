"""The networking scenario end to end: build a VPC with two subnets, an internet gateway, a route
table and a security group with rules; launch into it with a chosen private address and an Elastic
IP; tear it all down in the order AWS demands, each wrong order refused with nothing changed."""

import botocore.exceptions
import pytest

from conftest import error_of

AL2023 = "ami-08f6cfac8c54bafdd"


def refused(call, code, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    assert error_of(e)[0] == code, (call, kw, error_of(e))


def snapshot(ec2, vid):
    f = [{"Name": "vpc-id", "Values": [vid]}]
    return (
        ec2.describe_vpcs(VpcIds=[vid])["Vpcs"],
        ec2.describe_subnets(Filters=f)["Subnets"],
        ec2.describe_security_groups(Filters=f)["SecurityGroups"],
        ec2.describe_route_tables(Filters=f)["RouteTables"],
        ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vid]}])["InternetGateways"],
        ec2.describe_addresses()["Addresses"],
        ec2.describe_network_interfaces(Filters=f)["NetworkInterfaces"],
    )


def test_build_launch_and_tear_down(ec2):
    vid = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": True})
    sa = ec2.create_subnet(VpcId=vid, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    sb = ec2.create_subnet(VpcId=vid, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vid)
    rtb = ec2.create_route_table(VpcId=vid)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    assoc_a = ec2.associate_route_table(RouteTableId=rtb, SubnetId=sa)["AssociationId"]
    assoc_b = ec2.associate_route_table(RouteTableId=rtb, SubnetId=sb)["AssociationId"]
    sg = ec2.create_security_group(GroupName="web", Description="web servers", VpcId=vid)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]},
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ],
    )
    free_a = ec2.describe_subnets(SubnetIds=[sa])["Subnets"][0]["AvailableIpAddressCount"]
    assert free_a == 251

    # Launch into subnet A with a chosen private address; the address must be free and inside.
    kw = dict(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=sa, SecurityGroupIds=[sg])
    refused(ec2.run_instances, "InvalidParameterValue", PrivateIpAddress="10.0.2.10", **kw)
    refused(ec2.run_instances, "InvalidGroup.NotFound", **{**kw, "SecurityGroupIds": ["sg-0123456789abcdef0"]})
    inst = ec2.run_instances(PrivateIpAddress="10.0.1.10", **kw)["Instances"][0]
    iid = inst["InstanceId"]
    refused(ec2.run_instances, "InvalidIPAddress.InUse", PrivateIpAddress="10.0.1.10", **kw)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    alloc = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=alloc["AllocationId"], InstanceId=iid)
    got = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert (got["VpcId"], got["SubnetId"], got["PrivateIpAddress"]) == (vid, sa, "10.0.1.10")
    assert got["PublicIpAddress"] == alloc["PublicIp"]
    assert [g["GroupId"] for g in got["SecurityGroups"]] == [sg]
    [eni] = got["NetworkInterfaces"]
    assert eni["SubnetId"] == sa and eni["PrivateIpAddress"] == "10.0.1.10"
    [eni_rec] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])["NetworkInterfaces"]
    assert eni_rec["Attachment"]["InstanceId"] == iid and eni_rec["Attachment"]["DeviceIndex"] == 0
    assert ec2.describe_subnets(SubnetIds=[sa])["Subnets"][0]["AvailableIpAddressCount"] == free_a - 1
    addr = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [iid]}])["Addresses"]
    assert [a["PrivateIpAddress"] for a in addr] == ["10.0.1.10"]

    # Every wrong order is refused and changes nothing.
    before = snapshot(ec2, vid)
    refused(ec2.delete_vpc, "DependencyViolation", VpcId=vid)
    refused(ec2.delete_subnet, "DependencyViolation", SubnetId=sa)
    refused(ec2.delete_security_group, "DependencyViolation", GroupId=sg)
    refused(ec2.detach_internet_gateway, "DependencyViolation", InternetGatewayId=igw, VpcId=vid)
    refused(ec2.delete_internet_gateway, "DependencyViolation", InternetGatewayId=igw)
    refused(ec2.delete_route_table, "DependencyViolation", RouteTableId=rtb)
    refused(ec2.release_address, "InvalidIPAddress.InUse", AllocationId=alloc["AllocationId"])
    refused(ec2.delete_network_interface, "InvalidNetworkInterface.InUse", NetworkInterfaceId=eni["NetworkInterfaceId"])
    assert snapshot(ec2, vid) == before

    # The right order.
    ec2.disassociate_address(PublicIp=alloc["PublicIp"])
    ec2.release_address(AllocationId=alloc["AllocationId"])
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    assert ec2.describe_subnets(SubnetIds=[sa])["Subnets"][0]["AvailableIpAddressCount"] == free_a
    refused(ec2.describe_network_interfaces, "InvalidNetworkInterfaceID.NotFound",
            NetworkInterfaceIds=[eni["NetworkInterfaceId"]])
    ec2.delete_security_group(GroupId=sg)
    ec2.disassociate_route_table(AssociationId=assoc_a)
    ec2.disassociate_route_table(AssociationId=assoc_b)
    ec2.delete_route_table(RouteTableId=rtb)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vid)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_subnet(SubnetId=sa)
    ec2.delete_subnet(SubnetId=sb)
    ec2.delete_vpc(VpcId=vid)
    refused(ec2.describe_vpcs, "InvalidVpcID.NotFound", VpcIds=[vid])


def test_launch_defaults_follow_the_subnet(ec2):
    vid = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.4.0.0/28")["Subnet"]["SubnetId"]
    inst = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=sid)[
        "Instances"
    ][0]
    assert inst["PrivateIpAddress"] == "10.4.0.4", "the first address after AWS's four"
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vid]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [default]
    ec2.get_waiter("instance_running").wait(InstanceIds=[inst["InstanceId"]], WaiterConfig={"Delay": 1})
    got = ec2.describe_instances(InstanceIds=[inst["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert "PublicIpAddress" not in got, "the subnet does not map public addresses"
    # Names of groups belong to the default VPC: with a subnet of another VPC they are refused.
    with pytest.raises(botocore.exceptions.ClientError):
        ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=sid,
                          SecurityGroups=["default"])
    ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
    more = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=20, SubnetId=sid)
    assert len(more["Instances"]) == 10, "a /28 holds eleven addresses"
    ids = [i["InstanceId"] for i in more["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1})
    got = ec2.describe_instances(InstanceIds=ids[:1])["Reservations"][0]["Instances"][0]
    assert "PublicIpAddress" in got
    assert ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["AvailableIpAddressCount"] == 0


def test_security_group_by_name_and_no_default_vpc(ec2):
    gid = ec2.create_security_group(GroupName="named", Description="d")["GroupId"]
    inst = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             SecurityGroups=["named"])["Instances"][0]
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [gid]


def test_cli_launch_into_a_subnet(server, ec2):
    vid = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.6.1.0/24")["Subnet"]["SubnetId"]
    _, out, _ = server.cli("run-instances", "--image-id", AL2023, "--instance-type", "t3.micro", "--subnet-id", sid,
                           "--private-ip-address", "10.6.1.50")
    inst = out["Instances"][0]
    assert (inst["SubnetId"], inst["PrivateIpAddress"], inst["VpcId"]) == (sid, "10.6.1.50", vid)
