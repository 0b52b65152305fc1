"""Elastic IPs and account attributes: allocate, associate (moving only when allowed), disassociate,
release (refused while associated); the Libcloud listing and the Ansible default-VPC lookup."""

import botocore.exceptions
import pytest

from conftest import error_of

AL2023 = "ami-08f6cfac8c54bafdd"


def fails(call, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return error_of(e)


def running(ec2, n=1):
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=n, MaxCount=n)["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1})
    return ids


def test_allocate_associate_move_release(ec2):
    a = ec2.allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "role", "Value": "web"}]}]
    )
    alloc, ip = a["AllocationId"], a["PublicIp"]
    assert alloc.startswith("eipalloc-") and a["Domain"] == "vpc"
    [d] = ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
    assert d["PublicIp"] == ip and "AssociationId" not in d and d["Tags"] == [{"Key": "role", "Value": "web"}]
    i1, i2 = running(ec2, 2)
    assoc = ec2.associate_address(AllocationId=alloc, InstanceId=i1)["AssociationId"]
    assert assoc.startswith("eipassoc-")
    inst = ec2.describe_instances(InstanceIds=[i1])["Reservations"][0]["Instances"][0]
    assert inst["PublicIpAddress"] == ip
    [d] = ec2.describe_addresses(PublicIps=[ip])["Addresses"]
    assert (d["InstanceId"], d["AssociationId"], d["PrivateIpAddress"]) == (i1, assoc, inst["PrivateIpAddress"])
    assert d["NetworkInterfaceId"] == inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
    by_filter = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [i1]}])["Addresses"]
    assert [x["AllocationId"] for x in by_filter] == [alloc]
    # Moving needs AllowReassociation.
    assert fails(ec2.associate_address, AllocationId=alloc, InstanceId=i2)[0] == "Resource.AlreadyAssociated"
    assoc2 = ec2.associate_address(AllocationId=alloc, InstanceId=i2, AllowReassociation=True)["AssociationId"]
    [d] = ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
    assert d["InstanceId"] == i2
    old = ec2.describe_instances(InstanceIds=[i1])["Reservations"][0]["Instances"][0]
    assert old.get("PublicIpAddress") != ip
    code, _, status = fails(ec2.release_address, AllocationId=alloc)
    assert (code, status) == ("InvalidIPAddress.InUse", 400)
    assert fails(ec2.disassociate_address, AssociationId=assoc)[0] == "InvalidAssociationID.NotFound"
    ec2.disassociate_address(AssociationId=assoc2)
    assert "AssociationId" not in ec2.describe_addresses(AllocationIds=[alloc])["Addresses"][0]
    ec2.release_address(AllocationId=alloc)
    assert fails(ec2.describe_addresses, AllocationIds=[alloc])[0] == "InvalidAllocationID.NotFound"
    assert fails(ec2.release_address, AllocationId=alloc)[0] == "InvalidAllocationID.NotFound"


def test_errors_and_limits(ec2):
    assert fails(ec2.describe_addresses, AllocationIds=["eipalloc-zz"])[0] == "InvalidAllocationID.Malformed"
    assert fails(ec2.describe_addresses, PublicIps=["198.51.100.1"])[0] == "InvalidAddress.NotFound"
    alloc = ec2.allocate_address()["AllocationId"]
    assert fails(ec2.associate_address, AllocationId=alloc, InstanceId="i-0123456789abcdef0")[0] == (
        "InvalidInstanceID.NotFound"
    )
    for _ in range(4):
        ec2.allocate_address(Domain="vpc")
    assert fails(ec2.allocate_address, Domain="vpc")[0] == "AddressLimitExceeded"
    assert len(ec2.describe_addresses()["Addresses"]) == 5
    assert fails(ec2.allocate_address, DryRun=True)[0] == "DryRunOperation"
    attrs = ec2.describe_addresses_attribute(AllocationIds=[alloc], Attribute="domain-name")["Addresses"]
    assert attrs[0]["AllocationId"] == alloc and attrs[0]["PtrRecord"].endswith(".amazonaws.com.")


def test_libcloud_list_nodes_sequence(ec2):
    """Libcloud's list_nodes: DescribeInstances, then DescribeAddresses to map Elastic IPs to nodes."""
    [iid] = running(ec2)
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=alloc, InstanceId=iid)
    reservations = ec2.describe_instances()["Reservations"]
    ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    assert iid in ids
    addresses = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": ids}])["Addresses"]
    assert [(a["InstanceId"], a["AllocationId"]) for a in addresses] == [(iid, alloc)]


def test_ansible_default_vpc_lookup(ec2):
    """Ansible's ec2_instance: the default VPC by `isDefault`, then its subnets by VPC and zone."""
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "defaultForAz", "Values": ["true"]}]
    )["Subnets"]
    assert len(subnets) == 6
    attrs = ec2.describe_account_attributes(AttributeNames=["default-vpc", "supported-platforms"])["AccountAttributes"]
    by_name = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]] for a in attrs}
    assert by_name == {"default-vpc": [vpc["VpcId"]], "supported-platforms": ["VPC"]}


def test_account_attributes(ec2):
    attrs = ec2.describe_account_attributes()["AccountAttributes"]
    names = [a["AttributeName"] for a in attrs]
    assert {"supported-platforms", "default-vpc", "max-instances", "max-elastic-ips", "vpc-max-elastic-ips"} <= set(names)
    assert fails(ec2.describe_account_attributes, AttributeNames=["colour"])[0] == "InvalidParameterValue"


def test_cli_addresses(server, ec2):
    [iid] = running(ec2)
    _, out, _ = server.cli("allocate-address", "--domain", "vpc")
    alloc = out["AllocationId"]
    _, out, _ = server.cli("associate-address", "--allocation-id", alloc, "--instance-id", iid)
    assoc = out["AssociationId"]
    _, out, _ = server.cli("describe-addresses")
    assert [a["InstanceId"] for a in out["Addresses"]] == [iid]
    rc, _, err = server.cli("release-address", "--allocation-id", alloc, check=False)
    assert rc != 0 and "InvalidIPAddress.InUse" in err
    server.cli("disassociate-address", "--association-id", assoc)
    server.cli("release-address", "--allocation-id", alloc)
    _, out, _ = server.cli("describe-account-attributes", "--attribute-names", "default-vpc")
    assert out["AccountAttributes"][0]["AttributeValues"][0]["AttributeValue"].startswith("vpc-")
