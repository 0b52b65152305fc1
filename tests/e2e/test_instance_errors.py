"""Every error answer of the instance operations end to end (spec sections 2, 3, 4.5 and 5), and that
a refused request changes nothing."""

import botocore.exceptions
import pytest

from conftest import AL2023, AL2023_ARM, advance, error_of, fails, raw_error
from conftest import instance_state as state
from conftest import launch_ids as launch

DEBIAN = "ami-0dd3b9c3a3c8c3435"  # no hibernation support
LINUX_INSTANCE_STORE = "ami-099b62c9122d51192"  # paravirtual, instance-store root
WINDOWS_INSTANCE_STORE = "ami-0193dd2c1f96edc84"
UNKNOWN_I = "i-0123456789abcdef0"
UNKNOWN_I2 = "i-0fedcba9876543210"
DRY_RUN = ("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)


def all_ids(c):
    return sorted(i["InstanceId"] for r in c.describe_instances()["Reservations"] for i in r["Instances"])


# ---------------------------------------------------------------------------------------------
# StopInstances (spec 4.5), one row at a time


@pytest.mark.parametrize("action", ["StopInstances", "StartInstances", "TerminateInstances", "RebootInstances"])
def test_missing_instance_id(server, action):
    err = raw_error(server, f"Action={action}&Version=2016-11-15")
    assert err == ("MissingParameter", "The request must contain the parameter InstanceId", 400)


def test_missing_instance_id_with_force_and_hibernate(server):
    err = raw_error(server, "Action=StopInstances&Version=2016-11-15&Force=true&Hibernate=true")
    assert err == ("MissingParameter", "The request must contain the parameter InstanceId", 400)


@pytest.mark.parametrize(
    "bad", ["i-123", "i", "10.10.1.202", "i-01265b7abcdefghij", "i-0123456789ABCDEF0", "sir-12345678"]
)
def test_malformed_instance_id(ec2, bad):
    for call in (ec2.stop_instances, ec2.start_instances, ec2.terminate_instances, ec2.reboot_instances):
        assert fails(call, InstanceIds=[bad]) == ("InvalidInstanceID.Malformed", f'Invalid id: "{bad}"', 400)
    assert fails(ec2.describe_instances, InstanceIds=[bad]) == (
        "InvalidInstanceID.Malformed",
        f'Invalid id: "{bad}"',
        400,
    )


def test_legacy_short_instance_ids_are_well_formed(ec2):
    assert fails(ec2.stop_instances, InstanceIds=["i-0123abcd"]) == (
        "InvalidInstanceID.NotFound",
        "The instance ID 'i-0123abcd' does not exist",
        400,
    )


def test_unknown_instance_ids_singular_and_plural(ec2):
    known = launch(ec2)[0]
    assert fails(ec2.stop_instances, InstanceIds=[UNKNOWN_I]) == (
        "InvalidInstanceID.NotFound",
        f"The instance ID '{UNKNOWN_I}' does not exist",
        400,
    )
    assert fails(ec2.stop_instances, InstanceIds=[UNKNOWN_I, known, UNKNOWN_I2]) == (
        "InvalidInstanceID.NotFound",
        f"The instance IDs '{UNKNOWN_I}, {UNKNOWN_I2}' do not exist",
        400,
    )
    for call in (ec2.start_instances, ec2.terminate_instances, ec2.reboot_instances, ec2.describe_instances):
        code, message, status = fails(call, InstanceIds=[UNKNOWN_I])
        assert (code, message, status) == (
            "InvalidInstanceID.NotFound",
            f"The instance ID '{UNKNOWN_I}' does not exist",
            400,
        )
    assert fails(ec2.describe_instance_status, InstanceIds=[UNKNOWN_I])[0] == "InvalidInstanceID.NotFound"
    assert state(ec2, known) == "running"


def test_malformed_id_is_reported_before_unknown_ones(ec2):
    assert fails(ec2.stop_instances, InstanceIds=[UNKNOWN_I, "i-zz"]) == (
        "InvalidInstanceID.Malformed",
        'Invalid id: "i-zz"',
        400,
    )


@pytest.mark.parametrize("image", [LINUX_INSTANCE_STORE, WINDOWS_INSTANCE_STORE])
def test_instance_store_root_cannot_be_stopped(ec2, image):
    res = ec2.run_instances(ImageId=image, InstanceType="m1.small", MinCount=1, MaxCount=1)
    inst = res["Instances"][0]
    iid = inst["InstanceId"]
    assert inst["RootDeviceType"] == "instance-store"
    assert inst["BlockDeviceMappings"] == []
    assert state(ec2, iid) == "running"
    message = f"The instance '{iid}' does not have an 'ebs' root device type and cannot be stopped."
    assert fails(ec2.stop_instances, InstanceIds=[iid]) == ("UnsupportedOperation", message, 400)
    assert fails(ec2.stop_instances, InstanceIds=[iid], Force=True) == ("UnsupportedOperation", message, 400)
    assert state(ec2, iid) == "running"
    assert fails(ec2.start_instances, InstanceIds=[iid])[0] == "UnsupportedOperation"
    out = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert out["CurrentState"] == {"Code": 32, "Name": "shutting-down"}, "instance-store instances can be terminated"
    assert state(ec2, iid) == "terminated"


def test_instance_store_images_on_other_legacy_types(ec2):
    for itype in ("m3.medium", "c3.large"):
        inst = ec2.run_instances(ImageId=LINUX_INSTANCE_STORE, InstanceType=itype, MinCount=1, MaxCount=1)
        assert inst["Instances"][0]["RootDeviceType"] == "instance-store"
        assert inst["Instances"][0]["InstanceType"] == itype


def test_stop_protection(ec2):
    protected = launch(ec2, DisableApiStop=True)[0]
    message = (
        f"The instance '{protected}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again."
    )
    assert fails(ec2.stop_instances, InstanceIds=[protected]) == ("OperationNotPermitted", message, 400)
    assert fails(ec2.stop_instances, InstanceIds=[protected], Force=True)[0] == "OperationNotPermitted"
    assert state(ec2, protected) == "running"


def test_stop_protection_also_prevents_termination(ec2):
    """EC2 User Guide, "Enable stop protection": "Stop protection not only prevents your instance from
    being accidentally stopped, but also from accidental termination when using the console, AWS CLI,
    or API. However, it does not automatically set the DisableApiTermination attribute." """
    protected = launch(ec2, DisableApiStop=True)[0]
    code, message, status = fails(ec2.terminate_instances, InstanceIds=[protected])
    assert (code, status) == ("OperationNotPermitted", 400)
    assert protected in message
    assert state(ec2, protected) == "running"


def test_stop_protection_cannot_be_enabled_on_an_instance_store_root(ec2):
    """EC2 User Guide, "Enable stop protection": "You can't enable stop protection for instance
    store-backed instances." (The exact error code is not documented.)"""
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(
            ImageId=LINUX_INSTANCE_STORE, InstanceType="m1.small", MinCount=1, MaxCount=1, DisableApiStop=True
        )
    assert error_of(e)[2] == 400
    assert all_ids(ec2) == []


def test_termination_protection(ec2):
    protected = launch(ec2, DisableApiTermination=True)[0]
    message = (
        f"The instance '{protected}' may not be terminated. "
        "Modify its 'disableApiTermination' instance attribute and try again."
    )
    assert fails(ec2.terminate_instances, InstanceIds=[protected]) == ("OperationNotPermitted", message, 400)
    assert state(ec2, protected) == "running"
    ec2.stop_instances(InstanceIds=[protected])
    assert state(ec2, protected) == "stopped", "termination protection does not prevent a stop"
    assert fails(ec2.terminate_instances, InstanceIds=[protected])[0] == "OperationNotPermitted"


def test_never_running_pending_cannot_be_stopped(vserver):
    c = vserver.client()
    iid = launch(c)[0]
    message = f"Instance '{iid}' cannot be stopped as it has never reached the 'running' state."
    for kw in ({}, {"Force": True}, {"SkipOsShutdown": True}):
        assert fails(c.stop_instances, InstanceIds=[iid], **kw) == ("IncorrectInstanceState", message, 400)
    assert state(c, iid) == "pending"
    advance(vserver, 8)
    assert c.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]["CurrentState"]["Name"] == "stopping"


def test_shutting_down_and_terminated_cannot_be_stopped(vserver):
    c = vserver.client()
    a, b = launch(c, count=2)
    advance(vserver, 8)
    c.terminate_instances(InstanceIds=[a, b])
    advance(vserver, 8)
    c2 = launch(c)[0]
    advance(vserver, 8)
    c.terminate_instances(InstanceIds=[c2])
    assert (state(c, a), state(c, c2)) == ("terminated", "shutting-down")
    for iid in (a, c2):
        message = f"This instance '{iid}' is not in a state from which it can be stopped."
        assert fails(c.stop_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", message, 400)
        assert fails(c.stop_instances, InstanceIds=[iid], Force=True) == ("IncorrectInstanceState", message, 400)
        message = f"The instance '{iid}' is not in a state from which it can be started."
        assert fails(c.start_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", message, 400)
    assert (state(c, a), state(c, c2)) == ("terminated", "shutting-down")


def test_hibernate_needs_hibernation_configured(ec2):
    iid = launch(ec2)[0]
    code, message, status = fails(ec2.stop_instances, InstanceIds=[iid], Hibernate=True)
    assert (code, status) == ("UnsupportedHibernationConfiguration", 400)
    assert iid in message
    assert state(ec2, iid) == "running"
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["HibernationOptions"] == {"Configured": False}
    assert "StateReason" not in inst


def test_hibernation_cannot_be_configured_where_unsupported(ec2):
    for image, itype in [(AL2023, "m1.small"), (DEBIAN, "t3.micro")]:
        code, _, status = fails(
            ec2.run_instances,
            ImageId=image,
            InstanceType=itype,
            MinCount=1,
            MaxCount=1,
            HibernationOptions={"Configured": True},
        )
        assert (code, status) == ("UnsupportedHibernationConfiguration", 400), (image, itype)
    assert all_ids(ec2) == []


def test_dry_run_changes_nothing(ec2):
    a, b = launch(ec2, count=2)
    ec2.stop_instances(InstanceIds=[b])
    assert fails(ec2.stop_instances, InstanceIds=[a], DryRun=True) == DRY_RUN
    assert fails(ec2.stop_instances, InstanceIds=[a], DryRun=True, Force=True) == DRY_RUN
    assert fails(ec2.terminate_instances, InstanceIds=[a], DryRun=True) == DRY_RUN
    assert fails(ec2.reboot_instances, InstanceIds=[a], DryRun=True) == DRY_RUN
    assert fails(ec2.start_instances, InstanceIds=[b], DryRun=True) == DRY_RUN
    assert (state(ec2, a), state(ec2, b)) == ("running", "stopped")
    assert fails(ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, DryRun=True) == DRY_RUN
    assert fails(ec2.describe_instances, DryRun=True) == DRY_RUN
    assert fails(ec2.describe_instance_status, DryRun=True) == DRY_RUN
    assert all_ids(ec2) == sorted([a, b]), "a dry run launches nothing"
    fresh = launch(ec2)[0]
    assert fresh not in (a, b)


def test_dry_run_still_checks_id_syntax(ec2):
    assert fails(ec2.stop_instances, InstanceIds=["i-123"], DryRun=True)[0] == "InvalidInstanceID.Malformed"


# ---------------------------------------------------------------------------------------------
# All or nothing


def test_a_batch_with_one_unknown_id_changes_nothing(ec2):
    a, b = launch(ec2, count=2)
    err = fails(ec2.stop_instances, InstanceIds=[a, b, UNKNOWN_I])
    assert err == ("InvalidInstanceID.NotFound", f"The instance ID '{UNKNOWN_I}' does not exist", 400)
    assert (state(ec2, a), state(ec2, b)) == ("running", "running")
    assert fails(ec2.terminate_instances, InstanceIds=[UNKNOWN_I, a])[0] == "InvalidInstanceID.NotFound"
    assert state(ec2, a) == "running", "none of the instances are terminated"
    ec2.stop_instances(InstanceIds=[a])
    assert fails(ec2.start_instances, InstanceIds=[a, UNKNOWN_I])[0] == "InvalidInstanceID.NotFound"
    assert state(ec2, a) == "stopped"


def test_a_batch_with_one_refused_instance_changes_nothing(vserver):
    c = vserver.client()
    running = launch(c, count=2)
    advance(vserver, 8)
    fresh = launch(c)[0]
    message = f"Instance '{fresh}' cannot be stopped as it has never reached the 'running' state."
    assert fails(c.stop_instances, InstanceIds=running + [fresh]) == ("IncorrectInstanceState", message, 400)
    assert [state(c, i) for i in running] == ["running", "running"]
    protected = launch(c, DisableApiTermination=True)[0]
    assert fails(c.terminate_instances, InstanceIds=running + [protected])[0] == "OperationNotPermitted"
    assert [state(c, i) for i in running] == ["running", "running"]
    hib = launch(c, HibernationOptions={"Configured": True},
                 BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True}}])[0]
    advance(vserver, 8)
    assert fails(c.stop_instances, InstanceIds=[hib, running[0]], Hibernate=True)[0] == (
        "UnsupportedHibernationConfiguration"
    )
    assert (state(c, hib), state(c, running[0])) == ("running", "running")


def test_repeated_ids_are_answered_once(ec2):
    a = launch(ec2)[0]
    out = ec2.stop_instances(InstanceIds=[a, a])["StoppingInstances"]
    assert out == [
        {
            "InstanceId": a,
            "CurrentState": {"Code": 64, "Name": "stopping"},
            "PreviousState": {"Code": 16, "Name": "running"},
        }
    ]


# ---------------------------------------------------------------------------------------------
# RunInstances


def test_min_and_max_count_rules(server, ec2):
    code, _, status = fails(ec2.run_instances, ImageId=AL2023, MinCount=0, MaxCount=1)
    assert (code, status) == ("InvalidParameterValue", 400)
    code, _, status = fails(ec2.run_instances, ImageId=AL2023, MinCount=3, MaxCount=2)
    assert (code, status) == ("InvalidParameterValue", 400)
    code, _, status = fails(ec2.run_instances, ImageId=AL2023, MinCount=-1, MaxCount=1)
    assert (code, status) == ("InvalidParameterValue", 400)
    assert raw_error(server, f"Action=RunInstances&Version=2016-11-15&ImageId={AL2023}&MaxCount=1")[:2] == (
        "MissingParameter",
        "The request must contain the parameter MinCount",
    )
    assert raw_error(server, "Action=RunInstances&Version=2016-11-15&MinCount=1&MaxCount=1") == (
        "MissingParameter",
        "The request must contain the parameter ImageId",
        400,
    )
    assert all_ids(ec2) == []


def test_unknown_and_malformed_images(ec2, make_server):
    # Unknown AMIs launch as a generic image unless the server is strict, as AWS is.
    strict = make_server("--ephemeral", "--strict-images").client()
    assert fails(strict.run_instances, ImageId="ami-0123456789abcdef0", MinCount=1, MaxCount=1) == (
        "InvalidAMIID.NotFound",
        "The image id '[ami-0123456789abcdef0]' does not exist",
        400,
    )
    for bad in ("ami-xyz", "ami-0123456789ABCDEF0", "i-0123456789abcdef0"):
        assert fails(ec2.run_instances, ImageId=bad, MinCount=1, MaxCount=1) == (
            "InvalidAMIID.Malformed",
            f'Invalid id: "{bad}"',
            400,
        )
    assert all_ids(ec2) == []


def test_unknown_instance_type(ec2):
    code, message, status = fails(ec2.run_instances, ImageId=AL2023, InstanceType="t9.mega", MinCount=1, MaxCount=1)
    assert (code, status) == ("InvalidParameterValue", 400)
    assert "t9.mega" in message
    assert all_ids(ec2) == []


def test_architecture_mismatch(ec2):
    for image, itype in [(AL2023_ARM, "t3.micro"), (AL2023, "t4g.micro")]:
        code, message, status = fails(ec2.run_instances, ImageId=image, InstanceType=itype, MinCount=1, MaxCount=1)
        assert (code, status) == ("InvalidParameterValue", 400), (image, itype)
        assert "architecture" in message and image in message and itype in message
    ok = ec2.run_instances(ImageId=AL2023_ARM, InstanceType="t4g.micro", MinCount=1, MaxCount=1)
    assert ok["Instances"][0]["Architecture"] == "arm64"
    assert len(all_ids(ec2)) == 1


@pytest.mark.parametrize("resource_type", ["x", "vpc", "image"])
def test_tag_specification_with_a_wrong_resource_type(ec2, resource_type):
    specs = [{"ResourceType": resource_type, "Tags": [{"Key": "k", "Value": "v"}]}]
    assert fails(ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, TagSpecifications=specs) == (
        "InvalidParameterValue",
        f"'{resource_type}' is not a valid taggable resource type for this operation.",
        400,
    )
    assert all_ids(ec2) == []


def test_tag_specification_type_is_checked_before_dry_run(ec2):
    specs = [{"ResourceType": "x", "Tags": [{"Key": "k", "Value": "v"}]}]
    code = fails(ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, TagSpecifications=specs, DryRun=True)[0]
    assert code == "InvalidParameterValue"


def test_tag_specification_with_bad_tags(ec2):
    for tags in (
        [{"Key": "aws:owner", "Value": "v"}],
        [{"Key": "k" * 129, "Value": "v"}],
        [{"Key": "k", "Value": "v" * 257}],
    ):
        specs = [{"ResourceType": "instance", "Tags": tags}]
        code = fails(ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, TagSpecifications=specs)[0]
        assert code == "InvalidParameterValue", tags
    too_many = [{"ResourceType": "instance", "Tags": [{"Key": f"k{n}", "Value": "v"} for n in range(51)]}]
    code = fails(ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, TagSpecifications=too_many)[0]
    assert code == "TagLimitExceeded"
    assert all_ids(ec2) == [], "a launch whose tags cannot be applied is rolled back"


def test_client_token_with_different_parameters(ec2):
    first = launch(ec2, ClientToken="token-1")
    code, _, status = fails(
        ec2.run_instances, ImageId=AL2023, InstanceType="t3.small", MinCount=1, MaxCount=1, ClientToken="token-1"
    )
    assert (code, status) == ("IdempotentParameterMismatch", 400)
    code = fails(
        ec2.run_instances, ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=2, ClientToken="token-1"
    )[0]
    assert code == "IdempotentParameterMismatch"
    assert all_ids(ec2) == first
    too_long = "t" * 65
    assert fails(ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, ClientToken=too_long)[0] in (
        "InvalidParameterValue",
        "InvalidClientToken",
    )


def test_bad_placement_and_subnet(ec2):
    code, message, _ = fails(
        ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1z"}
    )
    assert code == "InvalidParameterValue" and "us-east-1z" in message
    code, message, _ = fails(
        ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, Placement={"AvailabilityZoneId": "use1-az999"}
    )
    assert code == "InvalidParameterValue" and "availability zone ID" in message and "use1-az999" in message
    assert fails(ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, SubnetId="subnet-0123456789abcdef0") == (
        "InvalidSubnetID.NotFound",
        "The subnet ID 'subnet-0123456789abcdef0' does not exist",
        400,
    )
    assert fails(ec2.run_instances, ImageId=AL2023, MinCount=1, MaxCount=1, SubnetId="subnet-zz")[0] == (
        "InvalidSubnetID.Malformed"
    )
    subnet_b = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}])["Subnets"][0]
    code = fails(
        ec2.run_instances,
        ImageId=AL2023,
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet_b["SubnetId"],
        Placement={"AvailabilityZone": "us-east-1a"},
    )[0]
    assert code == "InvalidParameterValue", "a subnet in another zone than the one asked for"
    assert all_ids(ec2) == []


# ---------------------------------------------------------------------------------------------
# DescribeInstances / DescribeInstanceStatus


def test_describe_instances_parameter_errors(ec2):
    iid = launch(ec2)[0]
    assert fails(ec2.describe_instances, Filters=[{"Name": "x", "Values": ["1"]}]) == (
        "InvalidParameterValue",
        "The filter 'x' is invalid",
        400,
    )
    assert fails(ec2.describe_instances, Filters=[{"Name": "Instance-State-Name", "Values": ["running"]}])[:2] == (
        "InvalidParameterValue",
        "The filter 'Instance-State-Name' is invalid",
    ), "filter names are case-sensitive"
    for n in (4, 1, 0):
        assert fails(ec2.describe_instances, MaxResults=n) == (
            "InvalidParameterValue",
            f"Value ( {n} ) for parameter maxResults is invalid. Expecting a value greater than 5.",
            400,
        )
    assert fails(ec2.describe_instances, MaxResults=5, InstanceIds=[iid]) == (
        "InvalidParameterCombination",
        "The parameter instancesSet cannot be used with the parameter maxResults",
        400,
    )
    code, _, status = fails(ec2.describe_instances, NextToken="not-a-token")
    assert (code, status) == ("InvalidParameterValue", 400)


def test_describe_instance_status_parameter_errors(ec2):
    iid = launch(ec2)[0]
    assert fails(ec2.describe_instance_status, Filters=[{"Name": "x", "Values": ["1"]}]) == (
        "InvalidParameterValue",
        "The filter 'x' is invalid",
        400,
    )
    assert fails(ec2.describe_instance_status, MaxResults=5, InstanceIds=[iid])[0] == "InvalidParameterCombination"
    assert fails(ec2.describe_instance_status, InstanceIds=["i-1"])[0] == "InvalidInstanceID.Malformed"
    code, message, _ = fails(ec2.describe_instance_status, InstanceIds=[iid, UNKNOWN_I])
    assert code == "InvalidInstanceID.NotFound" and UNKNOWN_I in message and iid not in message


def test_describe_instance_status_takes_at_most_100_ids(ec2):
    ids = [f"i-{n:017x}" for n in range(101)]
    code, _, status = fails(ec2.describe_instance_status, InstanceIds=ids)
    assert (code, status) == ("InvalidParameterValue", 400)
