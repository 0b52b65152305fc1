"""The full instance type catalogue and its offerings, through boto3 and the AWS CLI:
DescribeInstanceTypes over every type (paginated), DescribeInstanceTypeOfferings at each location
type with its filters and pagination, launching old types, and RunInstances refused (Unsupported)
in a zone that lacks the type."""

import botocore.config
import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, SECRET_KEY, error_of

AL2023 = "ami-08f6cfac8c54bafdd"  # Amazon Linux 2023 x86_64, EBS root, hvm
OLD_TYPES = ["t1.micro", "t2.nano", "c4.2xlarge", "m1.small"]


def all_type_names(c, **kw):
    names, pages = [], 0
    for page in c.get_paginator("describe_instance_types").paginate(**kw):
        pages += 1
        assert len(page["InstanceTypes"]) <= 100
        names += [t["InstanceType"] for t in page["InstanceTypes"]]
    return names, pages


def offerings(c, **kw):
    out = []
    for page in c.get_paginator("describe_instance_type_offerings").paginate(**kw):
        out += page["InstanceTypeOfferings"]
    return out


def unvalidated(server):
    return boto3.client(
        "ec2",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=botocore.config.Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


# ---------------------------------------------------------------------------------------------
# DescribeInstanceTypes over the whole catalogue


def test_paginator_lists_at_least_700_types(ec2):
    names, pages = all_type_names(ec2)
    assert len(names) >= 700 and pages >= 7
    assert len(set(names)) == len(names), "a type listed twice across pages"
    assert names == sorted(names)
    assert set(OLD_TYPES + ["t3.micro", "m5.large", "p5.48xlarge", "m7i-flex.large"]) <= set(names)
    previous = [n for n in names if n.startswith(("t1.", "m1.", "c1.", "m2."))]
    assert previous, "previous-generation types are listed"


def test_old_types_carry_their_facts(ec2):
    by = {t["InstanceType"]: t for t in ec2.describe_instance_types(InstanceTypes=OLD_TYPES)["InstanceTypes"]}
    assert set(by) == set(OLD_TYPES)
    t1 = by["t1.micro"]
    assert t1["CurrentGeneration"] is False and t1["Hypervisor"] == "xen"
    assert t1["VCpuInfo"]["DefaultVCpus"] == 1 and t1["MemoryInfo"]["SizeInMiB"] == 627
    assert set(t1["ProcessorInfo"]["SupportedArchitectures"]) == {"i386", "x86_64"}
    assert "paravirtual" in t1["SupportedVirtualizationTypes"]
    assert t1["NetworkInfo"]["NetworkPerformance"] == "Very Low"
    nano = by["t2.nano"]
    assert nano["BurstablePerformanceSupported"] is True and nano["MemoryInfo"]["SizeInMiB"] == 512
    c4 = by["c4.2xlarge"]
    assert c4["VCpuInfo"]["DefaultVCpus"] == 8 and c4["EbsInfo"]["EbsOptimizedSupport"] == "default"
    assert c4["EbsInfo"]["EbsOptimizedInfo"]["MaximumIops"] > 0


def test_accelerators_and_cpu_options_are_reported(ec2):
    [p5] = ec2.describe_instance_types(InstanceTypes=["p5.48xlarge"])["InstanceTypes"]
    gpu = p5["GpuInfo"]
    assert gpu["Gpus"][0]["Manufacturer"] == "NVIDIA" and gpu["Gpus"][0]["Count"] == 8
    assert gpu["TotalGpuMemoryInMiB"] == 8 * gpu["Gpus"][0]["MemoryInfo"]["SizeInMiB"]
    assert p5["NetworkInfo"]["EfaSupported"] is True
    [m5] = ec2.describe_instance_types(InstanceTypes=["m5.xlarge"])["InstanceTypes"]
    assert m5["VCpuInfo"]["ValidCores"] and m5["VCpuInfo"]["ValidThreadsPerCore"] == [1, 2]
    assert m5["ProcessorInfo"]["Manufacturer"] == "Intel"
    assert "GpuInfo" not in m5


def test_new_filters_work_with_the_paginator(ec2):
    efa, _ = all_type_names(ec2, Filters=[{"Name": "network-info.efa-supported", "Values": ["true"]}])
    assert "p5.48xlarge" in efa and "t3.micro" not in efa
    amd, _ = all_type_names(ec2, Filters=[{"Name": "processor-info.manufacturer", "Values": ["AMD"]}])
    assert "t3a.micro" in amd and "t3.micro" not in amd
    previous, _ = all_type_names(ec2, Filters=[{"Name": "current-generation", "Values": ["false"]}])
    assert {"t1.micro", "c4.2xlarge", "m1.small"} <= set(previous) and "t2.nano" not in previous
    # Filters combine with the names asked for.
    both, _ = all_type_names(
        ec2, InstanceTypes=["t1.micro", "t3.micro"], Filters=[{"Name": "current-generation", "Values": ["true"]}]
    )
    assert both == ["t3.micro"]


# ---------------------------------------------------------------------------------------------
# Launching old types


@pytest.mark.parametrize("itype", ["t1.micro", "t2.nano", "c4.2xlarge"])
def test_old_types_launch(ec2, itype):
    [inst] = ec2.run_instances(ImageId=AL2023, InstanceType=itype, MinCount=1, MaxCount=1)["Instances"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[inst["InstanceId"]], WaiterConfig={"Delay": 1})
    [r] = ec2.describe_instances(InstanceIds=[inst["InstanceId"]])["Reservations"]
    got = r["Instances"][0]
    assert got["InstanceType"] == itype and got["State"]["Name"] == "running"


# ---------------------------------------------------------------------------------------------
# DescribeInstanceTypeOfferings


def test_region_offerings_are_the_default(ec2):
    rows = offerings(ec2)
    assert len(rows) >= 700
    assert {r["LocationType"] for r in rows} == {"region"} and {r["Location"] for r in rows} == {"us-east-1"}
    assert set(OLD_TYPES) <= {r["InstanceType"] for r in rows}
    explicit = offerings(ec2, LocationType="region")
    assert explicit == rows
    # Every offered type is a catalogue type.
    names, _ = all_type_names(ec2)
    assert {r["InstanceType"] for r in rows} <= set(names)


def test_zone_offerings_by_name_and_by_id(ec2):
    zones = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    by_name = offerings(ec2, LocationType="availability-zone")
    assert {r["Location"] for r in by_name} == set(zones)
    assert {r["LocationType"] for r in by_name} == {"availability-zone"}
    by_id = offerings(ec2, LocationType="availability-zone-id")
    assert {r["Location"] for r in by_id} == set(zones.values())
    # The same offerings seen through names and through ids.
    assert sorted((zones[r["Location"]], r["InstanceType"]) for r in by_name) == sorted(
        (r["Location"], r["InstanceType"]) for r in by_id
    )
    # Some zones lack some types: us-east-1e lacks t3.micro, which us-east-1a has.
    t3 = offerings(
        ec2, LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["t3.micro"]}]
    )
    t3_zones = {r["Location"] for r in t3}
    assert "us-east-1a" in t3_zones and "us-east-1e" not in t3_zones
    one_zone = offerings(ec2, LocationType="availability-zone", Filters=[{"Name": "location", "Values": ["us-east-1e"]}])
    assert 0 < len(one_zone) < len([r for r in by_name if r["Location"] == "us-east-1a"])
    by_zone_id = offerings(
        ec2,
        LocationType="availability-zone-id",
        Filters=[{"Name": "location", "Values": ["use1-az4"]}, {"Name": "instance-type", "Values": ["t1.*", "t2.nano"]}],
    )
    assert {r["InstanceType"] for r in by_zone_id} == {"t1.micro", "t2.nano"}
    assert {r["Location"] for r in by_zone_id} == {"use1-az4"}


def test_offerings_pagination(ec2):
    all_rows = ec2.describe_instance_type_offerings(LocationType="availability-zone")["InstanceTypeOfferings"]
    pages = list(
        ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone", PaginationConfig={"PageSize": 500}
        )
    )
    assert len(pages) > 2 and all(len(p["InstanceTypeOfferings"]) <= 500 for p in pages)
    paged = [r for p in pages for r in p["InstanceTypeOfferings"]]
    assert paged == all_rows
    first = ec2.describe_instance_type_offerings(MaxResults=5)
    assert len(first["InstanceTypeOfferings"]) == 5 and first["NextToken"]
    second = ec2.describe_instance_type_offerings(MaxResults=5, NextToken=first["NextToken"])
    assert not {r["InstanceType"] for r in first["InstanceTypeOfferings"]} & {
        r["InstanceType"] for r in second["InstanceTypeOfferings"]
    }


def test_offerings_in_another_region(server):
    c = server.client(region="eu-west-1")
    rows = offerings(c, Filters=[{"Name": "instance-type", "Values": ["m5.large", "t3.micro"]}])
    assert {(r["Location"], r["InstanceType"]) for r in rows} == {("eu-west-1", "m5.large"), ("eu-west-1", "t3.micro")}
    zones = offerings(c, LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["m5.large"]}])
    assert zones and all(r["Location"].startswith("eu-west-1") for r in zones)


def test_offerings_errors(server, ec2):
    raw = unvalidated(server)
    with pytest.raises(ClientError) as e:
        raw.describe_instance_type_offerings(LocationType="galaxy")
    code, message, status = error_of(e)
    assert (code, status) == ("InvalidParameterValue", 400) and "galaxy" in message
    with pytest.raises(ClientError) as e:
        ec2.describe_instance_type_offerings(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert error_of(e)[0] == "InvalidParameterValue"
    for n in (4, 1001):
        with pytest.raises(ClientError) as e:
            raw.describe_instance_type_offerings(MaxResults=n)
        code, message, status = error_of(e)
        assert (code, status) == ("InvalidParameterValue", 400) and str(n) in message
    with pytest.raises(ClientError) as e:
        ec2.describe_instance_type_offerings(DryRun=True)
    assert error_of(e)[0] == "DryRunOperation"
    assert ec2.describe_instance_type_offerings(LocationType="outpost")["InstanceTypeOfferings"] == []


def test_cli_describe_instance_type_offerings(server):
    server.control("POST", "reset")
    _, out, _ = server.cli(
        "describe-instance-type-offerings",
        "--location-type",
        "availability-zone",
        "--filters",
        "Name=instance-type,Values=t2.nano",
    )
    rows = out["InstanceTypeOfferings"]
    assert rows and {r["InstanceType"] for r in rows} == {"t2.nano"}
    assert {r["LocationType"] for r in rows} == {"availability-zone"}
    _, out, _ = server.cli("describe-instance-type-offerings", "--location-type", "availability-zone-id",
                           "--filters", "Name=location,Values=use1-az4", "--max-items", "7")
    assert len(out["InstanceTypeOfferings"]) == 7 and out.get("NextToken")
    # The CLI paginates on its own: every region offering comes back without a token.
    _, out, _ = server.cli("describe-instance-type-offerings")
    assert len(out["InstanceTypeOfferings"]) >= 700 and "NextToken" not in out
    rc, _, err = server.cli("describe-instance-type-offerings", "--location-type", "availability-zone",
                            "--filters", "Name=size,Values=x", check=False)
    assert rc != 0 and "InvalidParameterValue" in err


def test_cli_describe_instance_types_lists_every_type(server):
    _, out, _ = server.cli("describe-instance-types", "--query", "InstanceTypes[].InstanceType")
    assert len(out) >= 700 and set(OLD_TYPES) <= set(out)


# ---------------------------------------------------------------------------------------------
# RunInstances and the zone offerings


def test_run_in_a_zone_that_lacks_the_type_is_unsupported(ec2):
    t3_zones = sorted(
        r["Location"]
        for r in offerings(
            ec2, LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["t3.micro"]}]
        )
    )
    with pytest.raises(ClientError) as e:
        ec2.run_instances(
            ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1e"}
        )
    assert error_of(e) == (
        "Unsupported",
        "Your requested instance type (t3.micro) is not supported in your requested Availability Zone (us-east-1e). "
        f"Please retry your request by not specifying an Availability Zone or choosing {', '.join(t3_zones)}.",
        400,
    )
    # The same through the zone's id and through its default subnet.
    with pytest.raises(ClientError) as e:
        ec2.run_instances(
            ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, Placement={"AvailabilityZoneId": "use1-az3"}
        )
    assert error_of(e)[0] == "Unsupported"
    [subnet] = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1e"]}])["Subnets"]
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"])
    assert error_of(e)[0] == "Unsupported"
    assert ec2.describe_instances()["Reservations"] == [], "a refused launch leaves nothing behind"
    # A zone that offers it launches.
    [inst] = ec2.run_instances(
        ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1a"}
    )["Instances"]
    assert inst["Placement"]["AvailabilityZone"] == "us-east-1a"


def test_a_type_the_region_lacks_is_unsupported(ec2):
    names, _ = all_type_names(ec2, Filters=[{"Name": "processor-info.supported-architecture", "Values": ["x86_64"]}])
    zone_offered = {r["InstanceType"] for r in offerings(ec2, LocationType="availability-zone")}
    absent = [n for n in names if n not in zone_offered]
    assert absent, "the dataset has x86_64 types no us-east-1 zone offers"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=AL2023, InstanceType=absent[0], MinCount=1, MaxCount=1)
    assert error_of(e) == (
        "Unsupported",
        "The requested configuration is currently not supported. Please check the documentation for supported "
        "configurations.",
        400,
    )
    assert ec2.describe_instances()["Reservations"] == []


def test_without_a_zone_a_launch_goes_where_the_type_is_offered(ec2):
    # m1.small is offered in us-east-1a (the default zone) but not in every zone.
    [inst] = ec2.run_instances(ImageId=AL2023, InstanceType="m1.small", MinCount=1, MaxCount=1)["Instances"]
    zones = {
        r["Location"]
        for r in offerings(
            ec2, LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["m1.small"]}]
        )
    }
    assert inst["Placement"]["AvailabilityZone"] in zones
