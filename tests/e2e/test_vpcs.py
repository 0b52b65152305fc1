"""VPCs and subnets as records: create, describe (with the old filter spellings), attributes, CIDR
blocks, the default VPC deleted and brought back, and deletions refused while something depends."""

import botocore.exceptions
import pytest

from conftest import error_of

AL2023 = "ami-08f6cfac8c54bafdd"


def fails(call, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return error_of(e)


def test_create_describe_and_delete_a_vpc(ec2):
    vpc = ec2.create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "lab"}]}],
    )["Vpc"]
    vid = vpc["VpcId"]
    assert vpc["CidrBlock"] == "10.0.0.0/16" and vpc["IsDefault"] is False
    assert vpc["Tags"] == [{"Key": "Name", "Value": "lab"}]
    ec2.get_waiter("vpc_available").wait(VpcIds=[vid])
    ec2.get_waiter("vpc_exists").wait(VpcIds=[vid])
    [got] = ec2.describe_vpcs(VpcIds=[vid])["Vpcs"]
    assert got["State"] == "available" and got["InstanceTenancy"] == "default"
    assert {v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["lab"]}])["Vpcs"]} == {vid}
    # Ansible's spelling and the documented one.
    for name in ["isDefault", "is-default"]:
        non_default = ec2.describe_vpcs(Filters=[{"Name": name, "Values": ["false"]}])["Vpcs"]
        assert [v["VpcId"] for v in non_default] == [vid]
        [default] = ec2.describe_vpcs(Filters=[{"Name": name, "Values": ["true"]}])["Vpcs"]
        assert default["CidrBlock"] == "172.31.0.0/16"
    # A new VPC has a main route table and a default group.
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    ec2.delete_vpc(VpcId=vid)
    assert fails(ec2.describe_vpcs, VpcIds=[vid])[:1] == ("InvalidVpcID.NotFound",)
    assert ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"] == []
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"] == []


def test_vpc_cidr_rules(ec2):
    for cidr, code in [
        ("10.0.0.0/15", "InvalidVpc.Range"),
        ("10.0.0.0/29", "InvalidVpc.Range"),
        ("10.0.0.1/16", "InvalidParameterValue"),
        ("banana", "InvalidParameterValue"),
    ]:
        assert fails(ec2.create_vpc, CidrBlock=cidr)[0] == code, cidr
    assert fails(ec2.create_vpc, CidrBlock="10.0.0.0/16", InstanceTenancy="host")[0] == "InvalidParameterValue"
    before = ec2.describe_vpcs()["Vpcs"]
    assert len(before) == 1, "failed creations change nothing"
    assert fails(ec2.create_vpc, CidrBlock="10.0.0.0/16", DryRun=True)[0] == "DryRunOperation"
    assert len(ec2.describe_vpcs()["Vpcs"]) == 1


def test_attributes(ec2):
    vid = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    assert ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsSupport")["EnableDnsSupport"] == {"Value": True}
    assert ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"] == {
        "Value": False
    }
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": True})
    assert ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"] == {
        "Value": True
    }
    assert fails(ec2.describe_vpc_attribute, VpcId=vid, Attribute="colour")[0] == "InvalidParameterValue"
    code = fails(
        ec2.modify_vpc_attribute, VpcId=vid, EnableDnsHostnames={"Value": True}, EnableDnsSupport={"Value": True}
    )[0]
    assert code == "InvalidParameterCombination"
    assert fails(ec2.modify_vpc_attribute, VpcId="vpc-0123456789abcdef0", EnableDnsSupport={"Value": True})[:1] == (
        "InvalidVpcID.NotFound",
    )
    default = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    assert ec2.describe_vpc_attribute(VpcId=default, Attribute="enableDnsHostnames")["EnableDnsHostnames"] == {
        "Value": True
    }


def test_secondary_cidr_blocks(ec2):
    vid = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    assoc = ec2.associate_vpc_cidr_block(VpcId=vid, CidrBlock="10.1.0.0/16")["CidrBlockAssociation"]
    assert assoc["CidrBlock"] == "10.1.0.0/16" and assoc["AssociationId"].startswith("vpc-cidr-assoc-")
    assert fails(ec2.associate_vpc_cidr_block, VpcId=vid, CidrBlock="10.1.128.0/17")[0] == "CidrConflict"
    [vpc] = ec2.describe_vpcs(VpcIds=[vid])["Vpcs"]
    blocks = [b["CidrBlock"] for b in vpc["CidrBlockAssociationSet"]]
    assert blocks == ["10.0.0.0/16", "10.1.0.0/16"] and vpc["CidrBlock"] == "10.0.0.0/16"
    primary = vpc["CidrBlockAssociationSet"][0]["AssociationId"]
    assert fails(ec2.disassociate_vpc_cidr_block, AssociationId=primary)[0] == "OperationNotPermitted"
    # A subnet may use the new block; the block then stays.
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.1.2.0/24")["Subnet"]["SubnetId"]
    assert fails(ec2.disassociate_vpc_cidr_block, AssociationId=assoc["AssociationId"])[0] == "DependencyViolation"
    ec2.delete_subnet(SubnetId=sid)
    ec2.disassociate_vpc_cidr_block(AssociationId=assoc["AssociationId"])
    assert len(ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]["CidrBlockAssociationSet"]) == 1
    for i in range(2, 6):
        ec2.associate_vpc_cidr_block(VpcId=vid, CidrBlock=f"10.{i}.0.0/16")
    assert fails(ec2.associate_vpc_cidr_block, VpcId=vid, CidrBlock="10.9.0.0/16")[0] == "CidrLimitExceeded"


def test_subnets_fit_their_vpc_and_count_addresses(ec2):
    vid = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    s = ec2.create_subnet(VpcId=vid, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1b")["Subnet"]
    assert s["AvailableIpAddressCount"] == 251, "five addresses are AWS's"
    assert s["AvailabilityZone"] == "us-east-1b" and s["DefaultForAz"] is False and s["MapPublicIpOnLaunch"] is False
    ec2.get_waiter("subnet_available").wait(SubnetIds=[s["SubnetId"]])
    small = ec2.create_subnet(VpcId=vid, CidrBlock="10.0.2.0/28")["Subnet"]
    assert small["AvailableIpAddressCount"] == 11
    for cidr, code in [
        ("10.0.1.128/25", "InvalidSubnet.Conflict"),
        ("10.1.0.0/24", "InvalidSubnet.Range"),
        ("10.0.3.0/29", "InvalidSubnet.Range"),
        ("10.0.3.1/24", "InvalidParameterValue"),
    ]:
        assert fails(ec2.create_subnet, VpcId=vid, CidrBlock=cidr)[0] == code, cidr
    assert fails(ec2.create_subnet, VpcId=vid, CidrBlock="10.0.9.0/24", AvailabilityZone="mars-1a")[0] == (
        "InvalidParameterValue"
    )
    assert fails(ec2.create_subnet, VpcId="vpc-0123456789abcdef0", CidrBlock="10.0.9.0/24")[0] == (
        "InvalidVpcID.NotFound"
    )
    mine = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}])["Subnets"]
    assert sorted(x["CidrBlock"] for x in mine) == ["10.0.1.0/24", "10.0.2.0/28"]
    # Old spellings.
    by_old = ec2.describe_subnets(Filters=[{"Name": "cidrBlock", "Values": ["10.0.2.0/28"]}])["Subnets"]
    assert [x["SubnetId"] for x in by_old] == [small["SubnetId"]]
    assert len(ec2.describe_subnets(Filters=[{"Name": "defaultForAz", "Values": ["true"]}])["Subnets"]) == 6
    ec2.modify_subnet_attribute(SubnetId=s["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    [s2] = ec2.describe_subnets(SubnetIds=[s["SubnetId"]])["Subnets"]
    assert s2["MapPublicIpOnLaunch"] is True
    # The VPC cannot go while it has subnets; nothing changes.
    assert fails(ec2.delete_vpc, VpcId=vid)[:2] == (
        "DependencyViolation",
        f"The vpc '{vid}' has dependencies and cannot be deleted.",
    )
    assert len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}])["Subnets"]) == 2
    ec2.delete_subnet(SubnetId=s["SubnetId"])
    ec2.delete_subnet(SubnetId=small["SubnetId"])
    assert fails(ec2.delete_subnet, SubnetId=small["SubnetId"])[0] == "InvalidSubnetID.NotFound"
    ec2.delete_vpc(VpcId=vid)


def test_a_subnet_with_an_instance_cannot_be_deleted(ec2):
    [default] = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1a"]}])["Subnets"]
    free = default["AvailableIpAddressCount"]
    iid = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=default["SubnetId"])[
        "Instances"
    ][0]["InstanceId"]
    [after] = ec2.describe_subnets(SubnetIds=[default["SubnetId"]])["Subnets"]
    assert after["AvailableIpAddressCount"] == free - 1
    assert fails(ec2.delete_subnet, SubnetId=default["SubnetId"])[0] == "DependencyViolation"
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    assert ec2.describe_subnets(SubnetIds=[default["SubnetId"]])["Subnets"][0]["AvailableIpAddressCount"] == free
    ec2.delete_subnet(SubnetId=default["SubnetId"])


def test_the_default_vpc_can_be_deleted_and_created_again(ec2):
    [default] = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    assert fails(ec2.create_default_vpc)[0] == "DefaultVpcAlreadyExists"
    assert fails(ec2.delete_vpc, VpcId=default["VpcId"])[0] == "DependencyViolation"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default["VpcId"]]}])["Subnets"]
    for s in subnets:
        ec2.delete_subnet(SubnetId=s["SubnetId"])
    [igw] = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [default["VpcId"]]}]
    )["InternetGateways"]
    ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=default["VpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
    ec2.delete_vpc(VpcId=default["VpcId"])
    assert ec2.describe_vpcs()["Vpcs"] == []
    assert fails(ec2.create_default_subnet, AvailabilityZone="us-east-1a")[0] == "DefaultVpcDoesNotExist"
    new = ec2.create_default_vpc()["Vpc"]
    assert new["IsDefault"] is True and new["CidrBlock"] == "172.31.0.0/16" and new["VpcId"] != default["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [new["VpcId"]]}])["Subnets"]
    assert len(subnets) == 6 and all(s["DefaultForAz"] and s["MapPublicIpOnLaunch"] for s in subnets)
    one = next(s for s in subnets if s["AvailabilityZone"] == "us-east-1c")
    assert fails(ec2.create_default_subnet, AvailabilityZone="us-east-1c")[0] == (
        "DefaultSubnetAlreadyExistsInAvailabilityZone"
    )
    ec2.delete_subnet(SubnetId=one["SubnetId"])
    again = ec2.create_default_subnet(AvailabilityZone="us-east-1c")["Subnet"]
    assert again["DefaultForAz"] is True and again["CidrBlock"] == one["CidrBlock"]


def test_the_default_network_keeps_its_ids_across_restarts(make_server, tmp_path):
    first = make_server("--data-dir", str(tmp_path))
    vid = first.client().describe_vpcs()["Vpcs"][0]["VpcId"]
    first.stop()
    second = make_server("--data-dir", str(tmp_path))
    assert second.client().describe_vpcs()["Vpcs"][0]["VpcId"] == vid
    fresh = make_server("--ephemeral")
    assert fresh.client().describe_vpcs()["Vpcs"][0]["VpcId"] == vid, "derived from the scope, not from history"


def test_cli_creates_a_vpc_and_a_subnet(server, ec2):
    _, out, _ = server.cli("create-vpc", "--cidr-block", "10.20.0.0/16")
    vid = out["Vpc"]["VpcId"]
    _, out, _ = server.cli("create-subnet", "--vpc-id", vid, "--cidr-block", "10.20.1.0/24")
    sid = out["Subnet"]["SubnetId"]
    _, out, _ = server.cli("describe-vpcs", "--filters", "Name=isDefault,Values=false")
    assert [v["VpcId"] for v in out["Vpcs"]] == [vid]
    rc, _, err = server.cli("delete-vpc", "--vpc-id", vid, check=False)
    assert rc != 0 and "DependencyViolation" in err
    server.cli("delete-subnet", "--subnet-id", sid)
    server.cli("delete-vpc", "--vpc-id", vid)


def test_launches_without_a_subnet_follow_the_default_subnets_when_they_are_made_again(ec2):
    def launch(**placement):
        r = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, **placement)
        i = r["Instances"][0]
        return i["InstanceId"], i["SubnetId"], i["Placement"]["AvailabilityZone"]

    def default_in(zone):
        [s] = ec2.describe_subnets(
            Filters=[{"Name": "availability-zone", "Values": [zone]}, {"Name": "default-for-az", "Values": ["true"]}]
        )["Subnets"]
        return s

    first = default_in("us-east-1a")
    assert launch()[1:] == (first["SubnetId"], "us-east-1a")
    b = default_in("us-east-1b")
    assert launch(Placement={"AvailabilityZone": "us-east-1b"})[1] == b["SubnetId"]
    assert launch(Placement={"AvailabilityZoneId": b["AvailabilityZoneId"]})[1] == b["SubnetId"]
    # The first zone's default subnet deleted: a launch there is refused, one without a zone goes to the next zone.
    ids = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    ec2.terminate_instances(InstanceIds=ids)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig={"Delay": 1})
    ec2.delete_subnet(SubnetId=first["SubnetId"])
    code, message, status = fails(
        ec2.run_instances,
        ImageId=AL2023,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        Placement={"AvailabilityZone": "us-east-1a"},
    )
    assert (code, status) == ("InvalidParameterValue", 400) and "us-east-1a" in message, message
    assert launch()[1:] == (b["SubnetId"], "us-east-1b")
    # Made again, under a new ID: launches find it.
    again = ec2.create_default_subnet(AvailabilityZone="us-east-1a")["Subnet"]
    assert again["SubnetId"] != first["SubnetId"]
    assert launch()[1:] == (again["SubnetId"], "us-east-1a")
    assert launch(Placement={"AvailabilityZone": "us-east-1a"})[1] == again["SubnetId"]
