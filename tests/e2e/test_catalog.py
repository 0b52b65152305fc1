"""The built-in catalogues and the default network: DescribeImages, DescribeInstanceTypes,
DescribeVpcs, DescribeSubnets and DescribeSecurityGroups."""

import ipaddress

import pytest

from conftest import AL2023, AL2023_ARM, fails

LINUX_INSTANCE_STORE = "ami-099b62c9122d51192"
WINDOWS_INSTANCE_STORE = "ami-0193dd2c1f96edc84"


def images(c, **kw):
    return c.describe_images(**kw)["Images"]


def image_filter(c, name, *values, **kw):
    return images(c, Filters=[{"Name": name, "Values": list(values)}], **kw)


# ---------------------------------------------------------------------------------------------
# DescribeImages


def test_describe_image_by_id(ec2):
    [img] = images(ec2, ImageIds=[AL2023])
    assert img["ImageId"] == AL2023
    assert img["Name"].startswith("al2023-ami-") and img["Name"].endswith("-x86_64")
    assert img["Architecture"] == "x86_64"
    assert img["RootDeviceType"] == "ebs" and img["RootDeviceName"] == "/dev/xvda"
    assert img["VirtualizationType"] == "hvm"
    assert img["OwnerId"] == "137112412989" and img["ImageOwnerAlias"] == "amazon"
    assert img["State"] == "available" and img["Public"] is True and img["ImageType"] == "machine"
    assert img["PlatformDetails"] == "Linux/UNIX"
    assert "Platform" not in img
    [bdm] = img["BlockDeviceMappings"]
    assert bdm["DeviceName"] == "/dev/xvda"
    assert bdm["Ebs"]["SnapshotId"].startswith("snap-") and bdm["Ebs"]["VolumeSize"] > 0
    both = images(ec2, ImageIds=[AL2023, AL2023_ARM])
    assert sorted(i["ImageId"] for i in both) == sorted([AL2023, AL2023_ARM])


def test_describe_images_errors(ec2):
    assert fails(ec2.describe_images, ImageIds=["ami-0123456789abcdef0"]) == (
        "InvalidAMIID.NotFound",
        "The image id '[ami-0123456789abcdef0]' does not exist",
        400,
    )
    code, message, _ = fails(ec2.describe_images, ImageIds=[AL2023, "ami-0123456789abcdef0"])
    assert code == "InvalidAMIID.NotFound" and "ami-0123456789abcdef0" in message and AL2023 not in message
    assert fails(ec2.describe_images, ImageIds=["ami-nothex"]) == (
        "InvalidAMIID.Malformed",
        'Invalid id: "ami-nothex"',
        400,
    )
    assert fails(ec2.describe_images, Filters=[{"Name": "colour", "Values": ["x"]}]) == (
        "InvalidParameterValue",
        "The filter 'colour' is invalid",
        400,
    )
    assert fails(ec2.describe_images, DryRun=True)[0] == "DryRunOperation"


def test_describe_images_owners(ec2):
    amazon = images(ec2, Owners=["amazon"])
    ids = {i["ImageId"] for i in amazon}
    assert AL2023 in ids and AL2023_ARM in ids and LINUX_INSTANCE_STORE in ids
    assert all(i["ImageOwnerAlias"] == "amazon" for i in amazon)
    canonical = images(ec2, Owners=["099720109477"])
    assert canonical and all(i["OwnerId"] == "099720109477" for i in canonical)
    assert all(i["Name"].startswith("ubuntu/") for i in canonical)
    by_account = images(ec2, Owners=["137112412989"])
    assert AL2023 in {i["ImageId"] for i in by_account}
    assert images(ec2, Owners=["123456789012"]) == []
    assert len(images(ec2, Owners=["amazon", "099720109477"])) == len(amazon) + len(canonical)


def test_describe_images_filters(ec2):
    everything = images(ec2)
    arm = image_filter(ec2, "architecture", "arm64")
    assert arm and all(i["Architecture"] == "arm64" for i in arm)
    assert AL2023_ARM in {i["ImageId"] for i in arm}
    assert len(arm) == sum(1 for i in everything if i["Architecture"] == "arm64")

    windows = image_filter(ec2, "platform", "windows")
    assert len(windows) >= 3 and all(i["Platform"] == "windows" for i in windows)
    assert WINDOWS_INSTANCE_STORE in {i["ImageId"] for i in windows}
    assert any(i["RootDeviceType"] == "ebs" for i in windows), "Windows EBS images exist"

    store = image_filter(ec2, "root-device-type", "instance-store")
    assert sorted(i["ImageId"] for i in store) == sorted([LINUX_INSTANCE_STORE, WINDOWS_INSTANCE_STORE])
    [pv] = [i for i in store if i["ImageId"] == LINUX_INSTANCE_STORE]
    assert pv["VirtualizationType"] == "paravirtual" and pv["BlockDeviceMappings"] == []

    al2023 = image_filter(ec2, "name", "al2023-ami-*")
    assert sorted(i["ImageId"] for i in al2023) == sorted([AL2023, AL2023_ARM])
    noble = image_filter(ec2, "name", "ubuntu/images/*/ubuntu-noble-24.04-???64-server-*")
    assert sorted(i["Architecture"] for i in noble) == ["arm64", "x86_64"]
    assert image_filter(ec2, "name", "AL2023-*") == [], "values are case-sensitive"

    both = images(
        ec2,
        Filters=[
            {"Name": "name", "Values": ["al2023-ami-*"]},
            {"Name": "architecture", "Values": ["x86_64"]},
        ],
    )
    assert [i["ImageId"] for i in both] == [AL2023]
    either = image_filter(ec2, "image-id", AL2023, AL2023_ARM)
    assert len(either) == 2
    linux_store = images(
        ec2,
        Owners=["amazon"],
        Filters=[
            {"Name": "root-device-type", "Values": ["instance-store"]},
            {"Name": "platform", "Values": ["windows"]},
        ],
    )
    assert [i["ImageId"] for i in linux_store] == [WINDOWS_INSTANCE_STORE]


# ---------------------------------------------------------------------------------------------
# DescribeInstanceTypes


def types(c, **kw):
    return c.describe_instance_types(**kw)["InstanceTypes"]


def type_names(c, *filters):
    out = []
    for page in c.get_paginator("describe_instance_types").paginate(
        Filters=[{"Name": n, "Values": list(v)} for n, v in filters]
    ):
        out += [t["InstanceType"] for t in page["InstanceTypes"]]
    return out


def test_describe_instance_type_by_name(ec2):
    [t] = types(ec2, InstanceTypes=["t3.micro"])
    assert t["InstanceType"] == "t3.micro"
    assert t["VCpuInfo"]["DefaultVCpus"] == 2
    assert t["MemoryInfo"]["SizeInMiB"] == 1024
    assert t["HibernationSupported"] is True
    assert t["ProcessorInfo"]["SupportedArchitectures"] == ["x86_64"]
    assert t["InstanceStorageSupported"] is False
    assert t["SupportedRootDeviceTypes"] == ["ebs"]
    assert t["BurstablePerformanceSupported"] is True and t["FreeTierEligible"] is True
    [small] = types(ec2, InstanceTypes=["m1.small"])
    assert small["InstanceStorageSupported"] is True
    assert "instance-store" in small["SupportedRootDeviceTypes"]
    assert "paravirtual" in small["SupportedVirtualizationTypes"]
    assert small["InstanceStorageInfo"]["TotalSizeInGB"] > 0
    assert small["HibernationSupported"] is False
    two = types(ec2, InstanceTypes=["t4g.micro", "m5.large"])
    assert sorted(t["InstanceType"] for t in two) == ["m5.large", "t4g.micro"]
    [arm] = [t for t in two if t["InstanceType"] == "t4g.micro"]
    assert arm["ProcessorInfo"]["SupportedArchitectures"] == ["arm64"]


def test_describe_instance_types_errors(server, ec2):
    assert fails(ec2.describe_instance_types, InstanceTypes=["m5.huge"]) == (
        "InvalidInstanceType",
        "The following supplied instance types do not exist: [m5.huge]",
        400,
    )
    code, message, _ = fails(ec2.describe_instance_types, InstanceTypes=["t3.micro", "x9.tiny"])
    assert code == "InvalidInstanceType" and "x9.tiny" in message and "t3.micro" not in message
    assert (
        fails(ec2.describe_instance_types, Filters=[{"Name": "colour", "Values": ["x"]}])[0] == "InvalidParameterValue"
    )
    raw = server.client(validate=False)
    for n in (4, 101):
        code, message, status = fails(raw.describe_instance_types, MaxResults=n)
        assert (code, status) == ("InvalidParameterValue", 400), n
        assert str(n) in message


def test_describe_instance_types_filters(ec2):
    hib = type_names(ec2, ("hibernation-supported", ["true"]))
    assert "t3.micro" in hib and "m1.small" not in hib
    not_hib = type_names(ec2, ("hibernation-supported", ["false"]))
    assert "m1.small" in not_hib and not set(hib) & set(not_hib)
    store = type_names(ec2, ("instance-storage-supported", ["true"]))
    assert {"m1.small", "m3.medium", "c3.large"} <= set(store)
    assert "t3.micro" not in store
    arm = type_names(ec2, ("processor-info.supported-architecture", ["arm64"]))
    assert arm and "t4g.micro" in arm and "t3.micro" not in arm
    for t in types(ec2, InstanceTypes=arm[:5]):
        assert "arm64" in t["ProcessorInfo"]["SupportedArchitectures"]
    i386 = type_names(ec2, ("processor-info.supported-architecture", ["i386"]))
    assert "m1.small" in i386 and "t3.micro" not in i386
    t3 = type_names(ec2, ("instance-type", ["t3.*"]))
    assert sorted(t3) == sorted(["t3.2xlarge", "t3.large", "t3.medium", "t3.micro", "t3.nano", "t3.small", "t3.xlarge"])
    both = type_names(ec2, ("instance-type", ["t3.*"]), ("hibernation-supported", ["true"]))
    assert sorted(both) == sorted(t3)
    none = type_names(ec2, ("instance-type", ["t3.*"]), ("processor-info.supported-architecture", ["arm64"]))
    assert none == []
    legacy_store = type_names(
        ec2, ("instance-type", ["m1.small", "t3.micro", "c3.large"]), ("instance-storage-supported", ["true"])
    )
    assert sorted(legacy_store) == ["c3.large", "m1.small"]


@pytest.mark.parametrize("page_size", [5, 7, 100])
def test_describe_instance_types_pagination(ec2, page_size):
    everything = type_names(ec2)  # every page: without MaxResults, one page of 100
    assert len(everything) == len(set(everything)) > 20
    seen, token, pages = [], None, 0
    while True:
        out = ec2.describe_instance_types(MaxResults=page_size, **({"NextToken": token} if token else {}))
        assert len(out["InstanceTypes"]) <= page_size
        seen += [t["InstanceType"] for t in out["InstanceTypes"]]
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert pages == -(-len(everything) // page_size)
    assert len(seen) == len(set(seen)), "no duplicates"
    assert sorted(seen) == sorted(everything), "nothing missing"


# ---------------------------------------------------------------------------------------------
# Default VPC, subnets and security group


def test_default_vpc(ec2):
    [vpc] = ec2.describe_vpcs()["Vpcs"]
    assert vpc["VpcId"].startswith("vpc-")
    assert vpc["IsDefault"] is True
    assert vpc["CidrBlock"] == "172.31.0.0/16"
    assert vpc["State"] == "available"
    assert vpc["OwnerId"] == "000000000000"
    assert vpc["InstanceTenancy"] == "default"
    assert ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"] == [vpc]
    assert ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"] == [vpc]
    assert ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"] == []
    assert ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["172.31.*"]}])["Vpcs"] == [vpc]
    assert fails(ec2.describe_vpcs, VpcIds=["vpc-0123456789abcdef0"]) == (
        "InvalidVpcID.NotFound",
        "The vpc ID 'vpc-0123456789abcdef0' does not exist",
        400,
    )
    assert fails(ec2.describe_vpcs, VpcIds=["vpc-xyz"])[0] == "InvalidVpcID.Malformed"
    assert fails(ec2.describe_vpcs, Filters=[{"Name": "colour", "Values": ["x"]}])[0] == "InvalidParameterValue"


def test_default_vpc_differs_per_region_and_account(server):
    east = server.client().describe_vpcs()["Vpcs"][0]["VpcId"]
    west = server.client(region="eu-west-1").describe_vpcs()["Vpcs"][0]["VpcId"]
    other = server.client(access_key="111111111111").describe_vpcs()["Vpcs"][0]
    assert len({east, west, other["VpcId"]}) == 3
    assert other["OwnerId"] == "111111111111"
    assert server.client().describe_vpcs()["Vpcs"][0]["VpcId"] == east, "stable"


def test_default_subnets(ec2):
    vpc = ec2.describe_vpcs()["Vpcs"][0]
    subnets = ec2.describe_subnets()["Subnets"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    assert sorted(s["AvailabilityZone"] for s in subnets) == sorted(zones), "one default subnet per zone"
    vpc_net = ipaddress.ip_network(vpc["CidrBlock"])
    nets = []
    for s in subnets:
        assert s["VpcId"] == vpc["VpcId"]
        assert s["DefaultForAz"] is True and s["MapPublicIpOnLaunch"] is True
        assert s["State"] == "available"
        net = ipaddress.ip_network(s["CidrBlock"])
        assert net.prefixlen == 20 and net.subnet_of(vpc_net)
        assert s["AvailableIpAddressCount"] == 4091
        nets.append(net)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    one = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}])["Subnets"]
    assert [s["AvailabilityZone"] for s in one] == ["us-east-1b"]
    assert ec2.describe_subnets(SubnetIds=[one[0]["SubnetId"]])["Subnets"] == one
    by_vpc = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len(by_vpc) == len(subnets)
    two = ec2.describe_subnets(
        Filters=[
            {"Name": "availability-zone", "Values": ["us-east-1a", "us-east-1c"]},
            {"Name": "default-for-az", "Values": ["true"]},
        ]
    )["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in two) == ["us-east-1a", "us-east-1c"]
    assert ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": ["vpc-0123456789abcdef0"]}])["Subnets"] == []
    assert fails(ec2.describe_subnets, SubnetIds=["subnet-0123456789abcdef0"]) == (
        "InvalidSubnetID.NotFound",
        "The subnet ID 'subnet-0123456789abcdef0' does not exist",
        400,
    )
    assert fails(ec2.describe_subnets, SubnetIds=["subnet-1"])[0] == "InvalidSubnetID.Malformed"


def test_subnet_free_addresses_follow_instances(ec2):
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1a"]}])["Subnets"][0]
    res = ec2.run_instances(ImageId=AL2023, MinCount=3, MaxCount=3, SubnetId=subnet["SubnetId"])
    now = ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]
    assert now["AvailableIpAddressCount"] == subnet["AvailableIpAddressCount"] - 3
    ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in res["Instances"]])
    now = ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]
    assert (
        now["AvailableIpAddressCount"] == subnet["AvailableIpAddressCount"]
    ), "terminated instances free their address"


def test_default_security_group(ec2):
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    [group] = ec2.describe_security_groups()["SecurityGroups"]
    assert group["GroupName"] == "default"
    assert group["GroupId"].startswith("sg-")
    assert group["VpcId"] == vpc
    assert group["OwnerId"] == "000000000000"
    assert group["Description"] == "default VPC security group"
    assert group["IpPermissionsEgress"][0]["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
    assert group["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == group["GroupId"]
    assert ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"] == [group]
    assert ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"] == [group]
    found = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["def*"]}, {"Name": "vpc-id", "Values": [vpc]}]
    )
    assert found["SecurityGroups"] == [group]
    assert ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web"]}])["SecurityGroups"] == []
    assert fails(ec2.describe_security_groups, GroupIds=["sg-0123456789abcdef0"]) == (
        "InvalidGroup.NotFound",
        "The security group 'sg-0123456789abcdef0' does not exist",
        400,
    )
    code, message, _ = fails(ec2.describe_security_groups, GroupNames=["nope"])
    assert code == "InvalidGroup.NotFound" and "'nope'" in message
    assert fails(ec2.describe_security_groups, GroupIds=["sg-xyz"])[0] == "InvalidGroupId.Malformed"
