"""The rest of the instance surface through the real binary, with boto3 and the AWS CLI:
RunInstances options shown back (PrivateDnsNameOptions, MaintenanceOptions, EnclaveOptions,
CreditSpecification, NetworkPerformanceOptions, Operator, KernelId/RamdiskId) and the members ec2d
refuses; ModifyPrivateDnsNameOptions and ModifyInstanceMaintenanceOptions; CPU credit
specifications; GetPasswordData for Windows instances (decrypted with the key pair's private key);
--default-account; POST /moto-api/reset; unknown regions."""

import base64
import json
import os
import re
import subprocess
import urllib.request

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import (
    AL2023,
    FAST,
    Server,
    Ticker,
    fails,
    instance_of,
    launch_ids,
    wait_for_state,
)

WINDOWS = "ami-0234682ab52219022"  # Windows Server 2019 (catalogue)


def only_instance(c):
    rs = c.describe_instances()["Reservations"]
    return [i["InstanceId"] for r in rs for i in r["Instances"]]


# ---------------------------------------------------------------------------------------------
# RunInstances options shown back


def test_run_instances_options_are_shown_back(ec2):
    iid = launch_ids(
        ec2,
        InstanceType="m5.xlarge",
        EnclaveOptions={"Enabled": True},
        PrivateDnsNameOptions={"HostnameType": "resource-name", "EnableResourceNameDnsARecord": True},
        MaintenanceOptions={"AutoRecovery": "disabled"},
        NetworkPerformanceOptions={"BandwidthWeighting": "vpc-1"},
        KernelId="aki-0123456789abcdef0",
        RamdiskId="ari-0123456789abcdef0",
    )[0]
    inst = instance_of(ec2, iid)
    assert inst["EnclaveOptions"] == {"Enabled": True}
    assert inst["PrivateDnsNameOptions"] == {
        "HostnameType": "resource-name",
        "EnableResourceNameDnsARecord": True,
        "EnableResourceNameDnsAAAARecord": False,
    }
    assert inst["MaintenanceOptions"]["AutoRecovery"] == "disabled"
    assert inst["MaintenanceOptions"]["RebootMigration"] == "default"
    assert inst["NetworkPerformanceOptions"] == {"BandwidthWeighting": "vpc-1"}
    assert inst["Operator"] == {"Managed": False}
    assert inst["KernelId"] == "aki-0123456789abcdef0"
    assert inst["RamdiskId"] == "ari-0123456789abcdef0"
    enclave = ec2.describe_instance_attribute(InstanceId=iid, Attribute="enclaveOptions")
    assert enclave["EnclaveOptions"] == {"Enabled": True}
    kernel = ec2.describe_instance_attribute(InstanceId=iid, Attribute="kernel")
    assert kernel["KernelId"] == {"Value": "aki-0123456789abcdef0"}

    # the defaults
    plain = launch_ids(ec2)[0]
    inst = instance_of(ec2, plain)
    assert inst["EnclaveOptions"] == {"Enabled": False}
    assert inst["PrivateDnsNameOptions"]["HostnameType"] == "ip-name"
    assert inst["MaintenanceOptions"] == {"AutoRecovery": "default", "RebootMigration": "default"}
    assert inst["NetworkPerformanceOptions"] == {"BandwidthWeighting": "default"}
    assert "KernelId" not in inst


def test_operator_principal_is_shown(ec2):
    iid = launch_ids(ec2, Operator={"Principal": "eks.amazonaws.com"})[0]
    other = launch_ids(ec2)[0]
    assert instance_of(ec2, iid)["Operator"] == {"Managed": True, "Principal": "eks.amazonaws.com"}
    managed = ec2.describe_instances(Filters=[{"Name": "operator.managed", "Values": ["true"]}])["Reservations"]
    assert [i["InstanceId"] for r in managed for i in r["Instances"]] == [iid]
    by = ec2.describe_instances(Filters=[{"Name": "operator.principal", "Values": ["eks.*"]}])["Reservations"]
    assert [i["InstanceId"] for r in by for i in r["Instances"]] == [iid]
    status = ec2.describe_instance_status(InstanceIds=[iid, other], IncludeAllInstances=True)["InstanceStatuses"]
    assert {s["InstanceId"]: s["Operator"]["Managed"] for s in status} == {iid: True, other: False}


@pytest.mark.parametrize(
    "extra, code, pattern",
    [
        ({"Ipv6AddressCount": 1}, "NotImplemented", r"Ipv6AddressCount"),
        ({"EnablePrimaryIpv6": True}, "NotImplemented", r"EnablePrimaryIpv6"),
        ({"ElasticGpuSpecification": [{"Type": "eg1.medium"}]}, "Unsupported", r"Elastic Graphics"),
        ({"ElasticInferenceAccelerators": [{"Type": "eia1.medium"}]}, "Unsupported", r"Elastic Inference"),
        (
            {"LicenseSpecifications": [{"LicenseConfigurationArn": "arn:aws:license-manager:us-east-1:000000000000:license-configuration:lic-1"}]},
            "NotImplemented",
            r"LicenseSpecifications",
        ),
        ({"EnclaveOptions": {"Enabled": True}}, "Unsupported", r"t3\.micro does not support Nitro Enclaves"),
        (
            {"InstanceType": "m5.xlarge", "EnclaveOptions": {"Enabled": True}, "HibernationOptions": {"Configured": True}},
            "InvalidParameterCombination",
            r"Nitro Enclaves and hibernation",
        ),
        ({"CreditSpecification": {"CpuCredits": "fast"}}, "InvalidParameterValue", r"\(fast\) for parameter CpuCredits"),
        ({"PrivateDnsNameOptions": {"HostnameType": "fancy-name"}}, "InvalidParameterValue", r"PrivateDnsHostnameType"),
        ({"MaintenanceOptions": {"AutoRecovery": "sometimes"}}, "InvalidParameterValue", r"AutoRecovery"),
        ({"NetworkPerformanceOptions": {"BandwidthWeighting": "fast"}}, "InvalidParameterValue", r"BandwidthWeighting"),
        ({"KernelId": "ami-0123456789abcdef0"}, "InvalidParameterValue", r"kernelId"),
    ],
)
def test_members_ec2d_cannot_honour_are_refused_and_launch_nothing(server, extra, code, pattern):
    server.reset()
    c = server.client(validate=False)
    got, message, status = fails(c.run_instances, **{"ImageId": AL2023, "InstanceType": "t3.micro", "MinCount": 1,
                                                      "MaxCount": 1, **extra})
    assert (got, status) == (code, 400), message
    assert re.search(pattern, message), message
    assert only_instance(c) == []


def test_credit_specification_on_a_type_without_credits_is_refused(ec2):
    code, message, status = fails(ec2.run_instances, ImageId=AL2023, InstanceType="m5.large", MinCount=1,
                                  MaxCount=1, CreditSpecification={"CpuCredits": "standard"})
    assert (code, status) == ("InstanceCreditSpecification.NotSupported", 400)
    assert "m5.large" in message
    assert only_instance(ec2) == []


def test_run_instances_options_with_the_cli(server):
    server.reset()
    _, out, _ = server.cli(
        "run-instances", "--image-id", AL2023, "--instance-type", "t3.micro",
        "--private-dns-name-options", "HostnameType=resource-name,EnableResourceNameDnsAAAARecord=true",
        "--maintenance-options", "AutoRecovery=disabled",
        "--credit-specification", "CpuCredits=standard",
    )
    iid = out["Instances"][0]["InstanceId"]
    assert out["Instances"][0]["PrivateDnsNameOptions"]["HostnameType"] == "resource-name"
    _, out, _ = server.cli("describe-instances", "--instance-ids", iid)
    inst = out["Reservations"][0]["Instances"][0]
    assert inst["PrivateDnsNameOptions"]["EnableResourceNameDnsAAAARecord"] is True
    assert inst["MaintenanceOptions"]["AutoRecovery"] == "disabled"
    _, out, _ = server.cli("describe-instance-credit-specifications", "--instance-ids", iid)
    assert out["InstanceCreditSpecifications"] == [{"InstanceId": iid, "CpuCredits": "standard"}]


# ---------------------------------------------------------------------------------------------
# ModifyPrivateDnsNameOptions / ModifyInstanceMaintenanceOptions


def test_modify_private_dns_name_options_changes_the_hostname_type_only_while_stopped(ec2):
    iid = launch_ids(ec2)[0]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    code, message, status = fails(ec2.modify_private_dns_name_options, InstanceId=iid,
                                  PrivateDnsHostnameType="resource-name")
    assert (code, status) == ("IncorrectInstanceState", 400)
    assert iid in message
    assert instance_of(ec2, iid)["PrivateDnsNameOptions"]["HostnameType"] == "ip-name"
    # the DNS record switches change in any state
    assert ec2.modify_private_dns_name_options(InstanceId=iid, EnableResourceNameDnsARecord=True)["Return"] is True
    assert instance_of(ec2, iid)["PrivateDnsNameOptions"]["EnableResourceNameDnsARecord"] is True
    ec2.stop_instances(InstanceIds=[iid])
    wait_for_state(ec2, iid, "stopped")
    ec2.modify_private_dns_name_options(InstanceId=iid, PrivateDnsHostnameType="resource-name")
    opts = instance_of(ec2, iid)["PrivateDnsNameOptions"]
    assert opts == {"HostnameType": "resource-name", "EnableResourceNameDnsARecord": True,
                    "EnableResourceNameDnsAAAARecord": False}
    # errors: bad value, unknown and malformed instance, dry run
    c = ec2
    assert fails(c.modify_private_dns_name_options, InstanceId=iid, PrivateDnsHostnameType="x")[0] == \
        "InvalidParameterValue"
    assert fails(c.modify_private_dns_name_options, InstanceId="i-0000000000000dead",
                 EnableResourceNameDnsARecord=True)[0] == "InvalidInstanceID.NotFound"
    assert fails(c.modify_private_dns_name_options, InstanceId="i-bad", EnableResourceNameDnsARecord=True)[0] == \
        "InvalidInstanceID.Malformed"
    assert fails(c.modify_private_dns_name_options, InstanceId=iid, EnableResourceNameDnsARecord=False,
                 DryRun=True)[0] == "DryRunOperation"
    assert instance_of(ec2, iid)["PrivateDnsNameOptions"]["EnableResourceNameDnsARecord"] is True


def test_modify_instance_maintenance_options(ec2):
    iid = launch_ids(ec2)[0]
    r = ec2.modify_instance_maintenance_options(InstanceId=iid, AutoRecovery="disabled")
    assert (r["InstanceId"], r["AutoRecovery"], r["RebootMigration"]) == (iid, "disabled", "default")
    r = ec2.modify_instance_maintenance_options(InstanceId=iid, RebootMigration="disabled")
    assert (r["AutoRecovery"], r["RebootMigration"]) == ("disabled", "disabled")
    assert instance_of(ec2, iid)["MaintenanceOptions"] == {"AutoRecovery": "disabled", "RebootMigration": "disabled"}
    ec2.terminate_instances(InstanceIds=[iid])
    code, message, status = fails(ec2.modify_instance_maintenance_options, InstanceId=iid, AutoRecovery="default")
    assert (code, status) == ("IncorrectInstanceState", 400)
    assert instance_of(ec2, iid)["MaintenanceOptions"]["AutoRecovery"] == "disabled"


def test_modify_instance_maintenance_options_refuses_bad_values(server):
    server.reset()
    c = server.client(validate=False)
    iid = launch_ids(c)[0]
    code, message, status = fails(c.modify_instance_maintenance_options, InstanceId=iid, AutoRecovery="maybe")
    assert (code, status) == ("InvalidParameterValue", 400)
    assert "maybe" in message
    _, out, _ = server.cli("modify-instance-maintenance-options", "--instance-id", iid, "--auto-recovery", "disabled")
    assert out["AutoRecovery"] == "disabled"
    _, out, _ = server.cli("modify-private-dns-name-options", "--instance-id", iid,
                           "--enable-resource-name-dns-aaaa-record")
    assert out["Return"] is True
    assert instance_of(c, iid)["PrivateDnsNameOptions"]["EnableResourceNameDnsAAAARecord"] is True


# ---------------------------------------------------------------------------------------------
# CPU credit specifications


def test_credit_specifications_of_burstable_instances(ec2):
    t2 = launch_ids(ec2, InstanceType="t2.micro")[0]
    t3 = launch_ids(ec2, InstanceType="t3.micro")[0]
    t4g_standard = launch_ids(ec2, InstanceType="t4g.micro", ImageId="ami-0157e459893bc2794",
                              CreditSpecification={"CpuCredits": "standard"})[0]
    m5 = launch_ids(ec2, InstanceType="m5.large")[0]
    r = ec2.describe_instance_credit_specifications(InstanceIds=[t2, t3, t4g_standard])
    assert {s["InstanceId"]: s["CpuCredits"] for s in r["InstanceCreditSpecifications"]} == {
        t2: "standard", t3: "unlimited", t4g_standard: "standard"}
    # without IDs: the instances running unlimited
    r = ec2.describe_instance_credit_specifications()
    assert [s["InstanceId"] for s in r["InstanceCreditSpecifications"]] == [t3]
    r = ec2.describe_instance_credit_specifications(Filters=[{"Name": "instance-id", "Values": [t2]}])
    assert r["InstanceCreditSpecifications"] == []
    code, message, status = fails(ec2.describe_instance_credit_specifications, InstanceIds=[m5])
    assert (code, status) == ("InstanceCreditSpecification.NotSupported", 400)
    assert "m5.large" in message
    assert fails(ec2.describe_instance_credit_specifications, InstanceIds=["i-0000000000000dead"])[0] == \
        "InvalidInstanceID.NotFound"
    assert fails(ec2.describe_instance_credit_specifications, Filters=[{"Name": "cpu", "Values": ["x"]}])[0] == \
        "InvalidParameterValue"

    # modify: per-instance outcomes
    r = ec2.modify_instance_credit_specification(InstanceCreditSpecifications=[
        {"InstanceId": t2, "CpuCredits": "unlimited"},
        {"InstanceId": m5, "CpuCredits": "unlimited"},
        {"InstanceId": "i-0000000000000dead", "CpuCredits": "unlimited"},
        {"InstanceId": "i-bad", "CpuCredits": "unlimited"},
    ])
    assert r["SuccessfulInstanceCreditSpecifications"] == [{"InstanceId": t2}]
    failed = {u["InstanceId"]: u["Error"]["Code"] for u in r["UnsuccessfulInstanceCreditSpecifications"]}
    assert failed == {m5: "InstanceCreditSpecification.NotSupported",
                      "i-0000000000000dead": "InvalidInstanceID.NotFound",
                      "i-bad": "InvalidInstanceID.Malformed"}
    r = ec2.describe_instance_credit_specifications()
    assert sorted(s["InstanceId"] for s in r["InstanceCreditSpecifications"]) == sorted([t2, t3])
    # a bad value refuses the whole request
    code, _, status = fails(ec2.modify_instance_credit_specification,
                            InstanceCreditSpecifications=[{"InstanceId": t3, "CpuCredits": "turbo"}])
    assert (code, status) == ("InvalidParameterValue", 400)
    assert fails(ec2.modify_instance_credit_specification, DryRun=True,
                 InstanceCreditSpecifications=[{"InstanceId": t3, "CpuCredits": "standard"}])[0] == "DryRunOperation"
    assert ec2.describe_instance_credit_specifications(InstanceIds=[t3])["InstanceCreditSpecifications"][0][
        "CpuCredits"] == "unlimited"
    # a resized unlimited instance keeps its option and stays listed
    ec2.stop_instances(InstanceIds=[t2])
    wait_for_state(ec2, t2, "stopped")
    ec2.modify_instance_attribute(InstanceId=t2, InstanceType={"Value": "m5.large"})
    assert ec2.describe_instance_credit_specifications(InstanceIds=[t2])["InstanceCreditSpecifications"] == [
        {"InstanceId": t2, "CpuCredits": "unlimited"}]


def test_default_credit_specification_applies_to_later_launches(ec2):
    assert ec2.get_default_credit_specification(InstanceFamily="t3")["InstanceFamilyCreditSpecification"] == {
        "InstanceFamily": "t3", "CpuCredits": "unlimited"}
    assert ec2.get_default_credit_specification(InstanceFamily="t2")["InstanceFamilyCreditSpecification"][
        "CpuCredits"] == "standard"
    before = launch_ids(ec2, InstanceType="t3.micro")[0]
    r = ec2.modify_default_credit_specification(InstanceFamily="t3", CpuCredits="standard")
    assert r["InstanceFamilyCreditSpecification"] == {"InstanceFamily": "t3", "CpuCredits": "standard"}
    after = launch_ids(ec2, InstanceType="t3.small")[0]
    specs = ec2.describe_instance_credit_specifications(InstanceIds=[before, after])["InstanceCreditSpecifications"]
    assert {s["InstanceId"]: s["CpuCredits"] for s in specs} == {before: "unlimited", after: "standard"}
    assert fails(ec2.get_default_credit_specification, InstanceFamily="m5")[0] == "InvalidParameterValue"
    assert fails(ec2.modify_default_credit_specification, InstanceFamily="t3", CpuCredits="x")[0] == \
        "InvalidParameterValue"


def test_credit_specifications_with_the_cli(server):
    server.reset()
    c = server.client()
    iid = launch_ids(c, InstanceType="t2.micro")[0]
    _, out, _ = server.cli("modify-instance-credit-specification", "--instance-credit-specification",
                           f"InstanceId={iid},CpuCredits=unlimited")
    assert out["SuccessfulInstanceCreditSpecifications"] == [{"InstanceId": iid}]
    _, out, _ = server.cli("describe-instance-credit-specifications")
    assert out["InstanceCreditSpecifications"] == [{"InstanceId": iid, "CpuCredits": "unlimited"}]
    _, out, _ = server.cli("modify-default-credit-specification", "--instance-family", "t2", "--cpu-credits",
                           "unlimited")
    assert out["InstanceFamilyCreditSpecification"]["CpuCredits"] == "unlimited"
    _, out, _ = server.cli("get-default-credit-specification", "--instance-family", "t2")
    assert out["InstanceFamilyCreditSpecification"] == {"InstanceFamily": "t2", "CpuCredits": "unlimited"}


# ---------------------------------------------------------------------------------------------
# GetPasswordData


def decrypt(key_material, password_data):
    key = serialization.load_pem_private_key(key_material.encode(), password=None)
    return key.decrypt(base64.b64decode(password_data), padding.PKCS1v15()).decode()


def test_windows_password_is_ready_after_the_delay_and_decrypts_with_the_key(vs):
    c = vs.client()
    key = c.create_key_pair(KeyName="win")
    win = launch_ids(c, ImageId=WINDOWS, InstanceType="t3.large", KeyName="win")[0]
    linux = launch_ids(c, KeyName="win")[0]
    # not running yet, then running but the password not ready yet: empty
    r = c.get_password_data(InstanceId=win)
    assert (r["InstanceId"], r["PasswordData"]) == (win, "")
    vs.advance(30)
    assert instance_of(c, win)["State"]["Name"] == "running"
    assert c.get_password_data(InstanceId=win)["PasswordData"] == ""
    vs.advance(240)
    r = c.get_password_data(InstanceId=win)
    assert r["PasswordData"]
    password = decrypt(key["KeyMaterial"], r["PasswordData"])
    assert len(password) == 32
    assert re.search(r"[A-Z]", password) and re.search(r"[a-z]", password) and re.search(r"[0-9]", password)
    # the same password every time (the encryption's padding may differ, the plaintext not)
    assert decrypt(key["KeyMaterial"], c.get_password_data(InstanceId=win)["PasswordData"]) == password
    # a Linux instance has no password
    assert c.get_password_data(InstanceId=linux)["PasswordData"] == ""
    # errors and dry run
    assert fails(c.get_password_data, InstanceId="i-0000000000000dead")[0] == "InvalidInstanceID.NotFound"
    assert fails(c.get_password_data, InstanceId="i-bad")[0] == "InvalidInstanceID.Malformed"
    assert fails(c.get_password_data, InstanceId=win, DryRun=True)[0] == "DryRunOperation"


def test_password_data_available_waiter_and_cli_decryption(vs, tmp_path):
    c = vs.client()
    key = c.create_key_pair(KeyName="win-cli")
    pem = tmp_path / "win.pem"
    pem.write_text(key["KeyMaterial"])
    win = launch_ids(c, ImageId=WINDOWS, InstanceType="t3.large", KeyName="win-cli")[0]
    with Ticker(vs, step=20):
        c.get_waiter("password_data_available").wait(InstanceId=win, WaiterConfig=FAST)
    data = c.get_password_data(InstanceId=win)["PasswordData"]
    _, out, _ = vs.cli("get-password-data", "--instance-id", win, "--priv-launch-key", str(pem))
    assert out["InstanceId"] == win
    assert out["PasswordData"] == decrypt(key["KeyMaterial"], data)


# ---------------------------------------------------------------------------------------------
# --default-account, /moto-api/reset, unknown regions


def owner_of_launch(c):
    return c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1)["OwnerId"]


def test_default_account_flag_and_variable(make_server, binary):
    s = make_server("--ephemeral", "--default-account", "123456789012")
    assert owner_of_launch(s.client(access_key="test")) == "123456789012"
    # a 12-digit key is still its own account
    assert owner_of_launch(s.client(access_key="111122223333")) == "111122223333"
    env = {**os.environ, "EC2D_DEFAULT_ACCOUNT": "210987654321"}
    s2 = Server(binary, "--ephemeral")
    try:
        s2.start(env=env)
        assert owner_of_launch(s2.client(access_key="AKIAIOSFODNN7EXAMPLE")) == "210987654321"
        _, out, _ = s2.cli("describe-security-groups", access_key="test")
        assert {g["OwnerId"] for g in out["SecurityGroups"]} == {"210987654321"}
    finally:
        s2.stop()
    # not 12 digits: refused at startup, naming the flag
    p = subprocess.run([binary, "serve", "--ephemeral", "--port", "0", "--default-account", "12345"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "--default-account" in p.stderr and "12345" in p.stderr


def test_without_the_flag_the_default_account_is_zeroes(ec2):
    assert owner_of_launch(ec2) == "000000000000"


def test_moto_api_reset_empties_the_server(server):
    server.reset()
    c = server.client()
    launch_ids(c)
    assert only_instance(c)
    req = urllib.request.Request(f"{server.url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
        json.loads(r.read())
    assert only_instance(c) == []
    # only POST
    req = urllib.request.Request(f"{server.url}/moto-api/reset", method="GET")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 405


def test_moto_api_reset_needs_the_reset_permission(make_server, tmp_path):
    doc = {"Identities": [
        {"AccessKeyId": "AKIAADMIN00000000001", "SecretAccessKey": "admin", "AccountId": "111122223333",
         "Policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}},
        {"AccessKeyId": "AKIARESETTER00000003", "SecretAccessKey": "resetter", "AccountId": "111122223333",
         "Policy": {"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "ec2d:Reset", "Resource": "*"}]}},
    ]}
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(doc))
    s = make_server("--ephemeral", "--credentials-file", str(path))
    admin = s.client(access_key="AKIAADMIN00000000001", secret="admin")
    launch_ids(admin)
    status, _, body = s.raw(path="/moto-api/reset", sign=False)
    assert status == 400 and json.loads(body)["code"] == "MissingParameter"
    status, _, body = s.raw(path="/moto-api/reset", access_key="AKIAADMIN00000000001", secret="admin")
    assert status == 403 and json.loads(body)["code"] == "UnauthorizedOperation"
    assert only_instance(admin)
    status, _, body = s.raw(path="/moto-api/reset", access_key="AKIARESETTER00000003", secret="resetter")
    assert status == 200, body
    assert only_instance(admin) == []


def test_an_unknown_region_is_refused_naming_it(server):
    c = server.client(region="xx-fake-1")
    code, message, status = fails(c.describe_instances)
    assert (code, status) == ("AuthFailure", 401)
    assert "xx-fake-1" in message
    rc, _, err = server.cli("describe-instances", region="mars-east-1", check=False)
    assert rc != 0
    assert "mars-east-1" in err
    # a known region still works, opt-in ones included
    assert server.client(region="af-south-1").describe_instances()["Reservations"] == []


def test_launch_template_data_carries_the_options_to_the_next_launch(ec2):
    iid = launch_ids(ec2, InstanceType="t3.micro", CreditSpecification={"CpuCredits": "standard"},
                     PrivateDnsNameOptions={"HostnameType": "resource-name"},
                     MaintenanceOptions={"AutoRecovery": "disabled"})[0]
    data = ec2.get_launch_template_data(InstanceId=iid)["LaunchTemplateData"]
    assert data["CreditSpecification"] == {"CpuCredits": "standard"}
    assert data["PrivateDnsNameOptions"]["HostnameType"] == "resource-name"
    assert data["MaintenanceOptions"] == {"AutoRecovery": "disabled"}
    assert data["EnclaveOptions"] == {"Enabled": False}
    ec2.create_launch_template(LaunchTemplateName="from-instance", LaunchTemplateData={
        "ImageId": AL2023, "InstanceType": "t3.micro",
        "CreditSpecification": data["CreditSpecification"],
        "PrivateDnsNameOptions": data["PrivateDnsNameOptions"],
        "MaintenanceOptions": data["MaintenanceOptions"]})
    again = ec2.run_instances(LaunchTemplate={"LaunchTemplateName": "from-instance"}, MinCount=1,
                              MaxCount=1)["Instances"][0]["InstanceId"]
    inst = instance_of(ec2, again)
    assert inst["PrivateDnsNameOptions"]["HostnameType"] == "resource-name"
    assert inst["MaintenanceOptions"]["AutoRecovery"] == "disabled"
    assert ec2.describe_instance_credit_specifications(InstanceIds=[again])["InstanceCreditSpecifications"] == [
        {"InstanceId": again, "CpuCredits": "standard"}]
