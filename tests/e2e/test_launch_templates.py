"""Launch templates end to end: Create/Describe/Delete LaunchTemplate(s), Create/Describe/Delete
LaunchTemplateVersions, ModifyLaunchTemplate, GetLaunchTemplateData, tags, ClientToken and DryRun, with
boto3 and the AWS CLI."""

import base64

import pytest

from conftest import AL2023, error_of, fails, launch_ids

DATA = {
    "ImageId": AL2023,
    "InstanceType": "t3.micro",
    "KeyName": "deployer",
    "SecurityGroupIds": ["sg-0123456789abcdef0"],
    "UserData": base64.b64encode(b"#!/bin/sh\necho hi\n").decode(),
    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": True}}],
    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
    "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "web"}]}],
    "Monitoring": {"Enabled": True},
    "Placement": {"AvailabilityZone": "us-east-1a"},
}


def create(c, name="web", data=None, **kw):
    return c.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data or DATA, **kw)["LaunchTemplate"]


def versions(c, **kw):
    return c.describe_launch_template_versions(**kw)["LaunchTemplateVersions"]


def test_create_and_describe_round_trip_every_member(ec2):
    t = create(ec2, VersionDescription="first", TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "team", "Value": "a"}]}])
    assert t["LaunchTemplateId"].startswith("lt-") and len(t["LaunchTemplateId"]) == 20
    assert (t["LaunchTemplateName"], t["DefaultVersionNumber"], t["LatestVersionNumber"]) == ("web", 1, 1)
    assert t["Tags"] == [{"Key": "team", "Value": "a"}]
    assert t["CreatedBy"].startswith("arn:aws:iam::")
    listed = ec2.describe_launch_templates()["LaunchTemplates"]
    assert [x["LaunchTemplateId"] for x in listed] == [t["LaunchTemplateId"]]
    by_name = ec2.describe_launch_templates(LaunchTemplateNames=["web"])["LaunchTemplates"]
    assert by_name[0]["LaunchTemplateId"] == t["LaunchTemplateId"]
    v = versions(ec2, LaunchTemplateId=t["LaunchTemplateId"])
    assert len(v) == 1
    assert (v[0]["VersionNumber"], v[0]["DefaultVersion"], v[0]["VersionDescription"]) == (1, True, "first")
    assert v[0]["LaunchTemplateData"] == DATA


def test_names_are_unique_and_checked(server, ec2):
    create(ec2)
    code, msg, status = fails(ec2.create_launch_template, LaunchTemplateName="web", LaunchTemplateData=DATA)
    assert (code, status) == ("InvalidLaunchTemplateName.AlreadyExistsException", 400)
    code, _, status = fails(ec2.create_launch_template, LaunchTemplateName="no spaces", LaunchTemplateData=DATA)
    assert (code, status) == ("InvalidLaunchTemplateName.MalformedException", 400)
    lax = server.client(validate=False)
    code, _, _ = fails(lax.create_launch_template, LaunchTemplateName="ab", LaunchTemplateData=DATA)
    assert code == "InvalidLaunchTemplateName.MalformedException"
    assert len(ec2.describe_launch_templates()["LaunchTemplates"]) == 1


def test_not_found_and_malformed(ec2):
    code, msg, status = fails(ec2.describe_launch_templates, LaunchTemplateNames=["nope"])
    assert (code, status) == ("InvalidLaunchTemplateName.NotFoundException", 400)
    assert "nope" in msg
    code, msg, _ = fails(ec2.describe_launch_templates, LaunchTemplateIds=["lt-0123456789abcdef0"])
    assert code == "InvalidLaunchTemplateId.NotFound" and "lt-0123456789abcdef0" in msg
    code, _, _ = fails(ec2.describe_launch_templates, LaunchTemplateIds=["lt-xyz"])
    assert code == "InvalidLaunchTemplateId.Malformed"
    code, _, _ = fails(ec2.describe_launch_template_versions, LaunchTemplateName="nope")
    assert code == "InvalidLaunchTemplateName.NotFoundException"
    code, _, _ = fails(ec2.delete_launch_template, LaunchTemplateId="lt-0123456789abcdef0")
    assert code == "InvalidLaunchTemplateId.NotFound"
    code, _, _ = fails(ec2.create_launch_template_version, LaunchTemplateName="nope", LaunchTemplateData={"KeyName": "k2"})
    assert code == "InvalidLaunchTemplateName.NotFoundException"
    code, _, _ = fails(ec2.create_launch_template_version, LaunchTemplateId="lt-0123456789abcdef0", LaunchTemplateName="x1y", LaunchTemplateData={"KeyName": "k2"})
    assert code == "InvalidParameterCombination"


def test_versions_inherit_from_their_source_and_the_default_moves(ec2):
    t = create(ec2)
    tid = t["LaunchTemplateId"]
    v2 = ec2.create_launch_template_version(
        LaunchTemplateId=tid, SourceVersion="1", VersionDescription="bigger", LaunchTemplateData={"InstanceType": "m5.large"}
    )["LaunchTemplateVersion"]
    assert (v2["VersionNumber"], v2["DefaultVersion"]) == (2, False)
    assert v2["LaunchTemplateData"] == {**DATA, "InstanceType": "m5.large"}
    v3 = ec2.create_launch_template_version(LaunchTemplateName="web", LaunchTemplateData={"ImageId": AL2023})["LaunchTemplateVersion"]
    assert v3["LaunchTemplateData"] == {"ImageId": AL2023}
    assert [v["VersionNumber"] for v in versions(ec2, LaunchTemplateId=tid, Versions=["$Latest"])] == [3]
    assert [v["VersionNumber"] for v in versions(ec2, LaunchTemplateId=tid, Versions=["$Default"])] == [1]
    assert [v["VersionNumber"] for v in versions(ec2, LaunchTemplateId=tid, MinVersion="2", MaxVersion="3")] == [2, 3]
    m = ec2.modify_launch_template(LaunchTemplateId=tid, DefaultVersion="2")["LaunchTemplate"]
    assert (m["DefaultVersionNumber"], m["LatestVersionNumber"]) == (2, 3)
    assert [v["VersionNumber"] for v in versions(ec2, LaunchTemplateId=tid, Versions=["$Default"])] == [2]
    assert [v["VersionNumber"] for v in versions(ec2, LaunchTemplateId=tid, Filters=[{"Name": "is-default-version", "Values": ["true"]}])] == [2]
    assert [v["VersionNumber"] for v in versions(ec2, LaunchTemplateId=tid, Filters=[{"Name": "instance-type", "Values": ["m5.*"]}])] == [2]
    code, _, _ = fails(ec2.modify_launch_template, LaunchTemplateId=tid, DefaultVersion="9")
    assert code == "InvalidLaunchTemplateId.VersionNotFound"
    code, _, _ = fails(ec2.describe_launch_template_versions, LaunchTemplateId=tid, Versions=["7"])
    assert code == "InvalidLaunchTemplateId.VersionNotFound"
    code, _, _ = fails(ec2.describe_launch_template_versions, LaunchTemplateId=tid, Filters=[{"Name": "bogus", "Values": ["x"]}])
    assert code == "InvalidParameterValue"


def test_delete_versions_reports_each_and_keeps_the_default(ec2):
    tid = create(ec2)["LaunchTemplateId"]
    for _ in range(2):
        ec2.create_launch_template_version(LaunchTemplateId=tid, SourceVersion="$Latest", LaunchTemplateData={"KeyName": "k2"})
    r = ec2.delete_launch_template_versions(LaunchTemplateId=tid, Versions=["1", "3", "8"])
    assert [x["VersionNumber"] for x in r["SuccessfullyDeletedLaunchTemplateVersions"]] == [3]
    errors = {x["VersionNumber"]: x["ResponseError"]["Code"] for x in r["UnsuccessfullyDeletedLaunchTemplateVersions"]}
    assert errors == {1: "unexpectedError", 8: "launchTemplateVersionDoesNotExist"}
    t = ec2.describe_launch_templates(LaunchTemplateIds=[tid])["LaunchTemplates"][0]
    assert (t["DefaultVersionNumber"], t["LatestVersionNumber"]) == (1, 2)
    assert [v["VersionNumber"] for v in versions(ec2, LaunchTemplateId=tid)] == [1, 2]
    # Numbers are never reused.
    v = ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"KeyName": "k2"})["LaunchTemplateVersion"]
    assert v["VersionNumber"] == 4
    gone = ec2.delete_launch_template_versions(LaunchTemplateName="nope", Versions=["1"])
    assert gone["UnsuccessfullyDeletedLaunchTemplateVersions"][0]["ResponseError"]["Code"] == "launchTemplateNameDoesNotExist"


def test_delete_template_removes_versions_and_tags(ec2):
    tid = create(ec2, TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "k", "Value": "v"}]}])["LaunchTemplateId"]
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [tid]}])["Tags"][0]["ResourceType"] == "launch-template"
    d = ec2.delete_launch_template(LaunchTemplateName="web")["LaunchTemplate"]
    assert d["LaunchTemplateId"] == tid
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [tid]}])["Tags"] == []
    # The name is free again.
    assert create(ec2)["LaunchTemplateId"] != tid


def test_create_tags_on_a_template_and_tag_filters(ec2):
    a = create(ec2, "alpha")["LaunchTemplateId"]
    b = create(ec2, "beta")["LaunchTemplateId"]
    ec2.create_tags(Resources=[a], Tags=[{"Key": "env", "Value": "prod"}])
    found = ec2.describe_launch_templates(Filters=[{"Name": "tag:env", "Values": ["prod"]}])["LaunchTemplates"]
    assert [t["LaunchTemplateId"] for t in found] == [a]
    found = ec2.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": ["b*"]}])["LaunchTemplates"]
    assert [t["LaunchTemplateId"] for t in found] == [b]
    ec2.delete_tags(Resources=[a], Tags=[{"Key": "env"}])
    assert "Tags" not in ec2.describe_launch_templates(LaunchTemplateIds=[a])["LaunchTemplates"][0]
    code, _, _ = fails(ec2.create_tags, Resources=["lt-0123456789abcdef0"], Tags=[{"Key": "k", "Value": "v"}])
    assert code == "InvalidLaunchTemplateId.NotFound"


def test_pagination(ec2):
    ids = [create(ec2, f"t-{i}")["LaunchTemplateId"] for i in range(5)]
    seen, token = [], None
    while True:
        kw = {"MaxResults": 2, **({"NextToken": token} if token else {})}
        page = ec2.describe_launch_templates(**kw)
        seen += [t["LaunchTemplateId"] for t in page["LaunchTemplates"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    pages = ec2.get_paginator("describe_launch_templates").paginate(PaginationConfig={"PageSize": 3})
    assert sum(len(p["LaunchTemplates"]) for p in pages) == 5
    code, _, _ = fails(ec2.describe_launch_templates, MaxResults=500)
    assert code == "InvalidParameterValue"


def test_client_token_and_dry_run(ec2):
    a = create(ec2, ClientToken="tok-1")
    b = create(ec2, ClientToken="tok-1")
    assert a["LaunchTemplateId"] == b["LaunchTemplateId"]
    code, _, _ = fails(ec2.create_launch_template, LaunchTemplateName="other", LaunchTemplateData=DATA, ClientToken="tok-1")
    assert code == "IdempotentParameterMismatch"
    code, _, status = fails(ec2.create_launch_template, LaunchTemplateName="dry", LaunchTemplateData=DATA, DryRun=True)
    assert (code, status) == ("DryRunOperation", 412)
    v1 = ec2.create_launch_template_version(LaunchTemplateName="web", LaunchTemplateData={"KeyName": "k2"}, ClientToken="v")["LaunchTemplateVersion"]
    v2 = ec2.create_launch_template_version(LaunchTemplateName="web", LaunchTemplateData={"KeyName": "k2"}, ClientToken="v")["LaunchTemplateVersion"]
    assert v1["VersionNumber"] == v2["VersionNumber"] == 2
    code, _, _ = fails(ec2.delete_launch_template, LaunchTemplateName="web", DryRun=True)
    assert code == "DryRunOperation"
    assert len(ec2.describe_launch_templates()["LaunchTemplates"]) == 1


def test_get_launch_template_data_from_an_instance(ec2):
    [iid] = launch_ids(ec2, TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "box"}]}])
    d = ec2.get_launch_template_data(InstanceId=iid)["LaunchTemplateData"]
    assert (d["ImageId"], d["InstanceType"]) == (AL2023, "t3.micro")
    assert d["TagSpecifications"] == [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "box"}]}]
    assert d["NetworkInterfaces"][0]["DeviceIndex"] == 0
    # The data makes a template directly.
    t = ec2.create_launch_template(LaunchTemplateName="from-instance", LaunchTemplateData={"ImageId": d["ImageId"], "InstanceType": d["InstanceType"]})
    assert t["LaunchTemplate"]["LatestVersionNumber"] == 1
    code, _, _ = fails(ec2.get_launch_template_data, InstanceId="i-0123456789abcdef0")
    assert code == "InvalidInstanceID.NotFound"


def test_cli_main_paths(server, ec2):
    _, out, _ = server.cli(
        "create-launch-template", "--launch-template-name", "cli-lt",
        "--launch-template-data", '{"ImageId":"%s","InstanceType":"t3.small"}' % AL2023,
    )
    tid = out["LaunchTemplate"]["LaunchTemplateId"]
    _, out, _ = server.cli(
        "create-launch-template-version", "--launch-template-id", tid, "--source-version", "1",
        "--launch-template-data", '{"InstanceType":"t3.large"}',
    )
    assert out["LaunchTemplateVersion"]["LaunchTemplateData"] == {"ImageId": AL2023, "InstanceType": "t3.large"}
    _, out, _ = server.cli("modify-launch-template", "--launch-template-name", "cli-lt", "--default-version", "2")
    assert out["LaunchTemplate"]["DefaultVersionNumber"] == 2
    _, out, _ = server.cli("describe-launch-template-versions", "--launch-template-id", tid, "--versions", "$Default")
    assert [v["VersionNumber"] for v in out["LaunchTemplateVersions"]] == [2]
    _, out, _ = server.cli("describe-launch-templates", "--launch-template-names", "cli-lt")
    assert out["LaunchTemplates"][0]["LatestVersionNumber"] == 2
    _, out, _ = server.cli("delete-launch-template-versions", "--launch-template-id", tid, "--versions", "1")
    assert out["SuccessfullyDeletedLaunchTemplateVersions"][0]["VersionNumber"] == 1
    rc, _, err = server.cli("describe-launch-templates", "--launch-template-names", "missing", check=False)
    assert rc != 0 and "InvalidLaunchTemplateName.NotFoundException" in err
    _, out, _ = server.cli("delete-launch-template", "--launch-template-id", tid)
    assert out["LaunchTemplate"]["LaunchTemplateId"] == tid


# ---------------------------------------------------------------------------------------------
# RunInstances from a template


def default_group(c):
    return c.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]


def run_template(ec2, **kw):
    return ec2.run_instances(MinCount=1, MaxCount=1, **kw)["Instances"][0]


def test_run_instances_from_a_template_by_id_and_name_with_versions(ec2):
    ec2.create_key_pair(KeyName="tpl-key")
    sg = default_group(ec2)
    data = {"ImageId": AL2023, "InstanceType": "t3.small", "KeyName": "tpl-key", "SecurityGroupIds": [sg],
            "Placement": {"AvailabilityZone": "us-east-1b"}, "Monitoring": {"Enabled": True},
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "web"}, {"Key": "env", "Value": "dev"}]}]}
    tid = create(ec2, "runner", data)["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=tid, SourceVersion="1", LaunchTemplateData={"InstanceType": "t3.large"})
    # Default version ($Default is version 1) by ID.
    i = run_template(ec2, LaunchTemplate={"LaunchTemplateId": tid})
    assert (i["ImageId"], i["InstanceType"], i["KeyName"]) == (AL2023, "t3.small", "tpl-key")
    assert i["Placement"]["AvailabilityZone"] == "us-east-1b"
    assert i["Monitoring"]["State"] in ("enabled", "pending")
    assert [g["GroupId"] for g in i["SecurityGroups"]] == [sg]
    tags = {t["Key"]: t["Value"] for t in i["Tags"]}
    assert tags == {"role": "web", "env": "dev", "aws:ec2launchtemplate:id": tid, "aws:ec2launchtemplate:version": "1"}
    # $Latest by name, and a number.
    i = run_template(ec2, LaunchTemplate={"LaunchTemplateName": "runner", "Version": "$Latest"})
    assert i["InstanceType"] == "t3.large"
    assert {t["Key"]: t["Value"] for t in i["Tags"]}["aws:ec2launchtemplate:version"] == "2"
    i = run_template(ec2, LaunchTemplate={"LaunchTemplateName": "runner", "Version": "1"})
    assert i["InstanceType"] == "t3.small"
    # The default follows ModifyLaunchTemplate.
    ec2.modify_launch_template(LaunchTemplateId=tid, DefaultVersion="2")
    assert run_template(ec2, LaunchTemplate={"LaunchTemplateId": tid})["InstanceType"] == "t3.large"
    # DescribeInstances shows the same as RunInstances did, tags included.
    d = ec2.describe_instances(Filters=[{"Name": "tag:aws:ec2launchtemplate:id", "Values": [tid]}])
    assert sum(len(r["Instances"]) for r in d["Reservations"]) == 4


def test_the_request_overrides_the_template(ec2):
    for k in ("tpl-key", "mine"):
        ec2.create_key_pair(KeyName=k)
    sg = default_group(ec2)
    data = {"ImageId": AL2023, "InstanceType": "t3.small", "KeyName": "tpl-key", "SecurityGroupIds": [sg],
            "DisableApiTermination": True,
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "web"}, {"Key": "env", "Value": "dev"}]}]}
    tid = create(ec2, "over", data)["LaunchTemplateId"]
    i = run_template(
        ec2, LaunchTemplate={"LaunchTemplateId": tid, "Version": "$Latest"}, InstanceType="m5.large", KeyName="mine",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "env", "Value": "prod"}]}],
        Placement={"AvailabilityZone": "us-east-1c"},
    )
    assert (i["ImageId"], i["InstanceType"], i["KeyName"]) == (AL2023, "m5.large", "mine")
    assert i["Placement"]["AvailabilityZone"] == "us-east-1c"
    tags = {t["Key"]: t["Value"] for t in i["Tags"]}
    assert (tags["role"], tags["env"]) == ("web", "prod")
    # The template's DisableApiTermination holds: termination is refused.
    code, _, _ = fails(ec2.terminate_instances, InstanceIds=[i["InstanceId"]])
    assert code == "OperationNotPermitted"


def test_run_instances_template_errors_change_nothing(server, ec2):
    tid = create(ec2, "errs", {"ImageId": AL2023})["LaunchTemplateId"]
    code, _, _ = fails(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": "lt-0123456789abcdef0"})
    assert code == "InvalidLaunchTemplateId.NotFound"
    code, _, _ = fails(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "nope"})
    assert code == "InvalidLaunchTemplateName.NotFoundException"
    code, _, _ = fails(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": tid, "Version": "5"})
    assert code == "InvalidLaunchTemplateId.VersionNotFound"
    code, _, _ = fails(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": "lt-bad"})
    assert code == "InvalidLaunchTemplateId.Malformed"
    code, _, status = fails(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": tid}, DryRun=True)
    assert (code, status) == ("DryRunOperation", 412)
    # A template without an image, and no image in the request.
    create(ec2, "noimage", {"InstanceType": "t3.micro"})
    code, _, _ = fails(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "noimage"})
    assert code == "MissingParameter"
    assert ec2.describe_instances()["Reservations"] == []


def test_cli_runs_an_instance_from_a_template_with_an_override(server, ec2):
    tid = create(ec2, "cli-run", {"ImageId": AL2023, "InstanceType": "t3.micro"})["LaunchTemplateId"]
    _, out, _ = server.cli(
        "run-instances", "--launch-template", f"LaunchTemplateId={tid},Version=$Latest", "--instance-type", "c5.large",
    )
    i = out["Instances"][0]
    assert (i["ImageId"], i["InstanceType"]) == (AL2023, "c5.large")
    assert {"Key": "aws:ec2launchtemplate:id", "Value": tid} in i["Tags"]
