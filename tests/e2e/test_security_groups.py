"""Security groups: create, rules in and out (IPv4, IPv6, prefix lists, groups), duplicates and
missing rules refused, DescribeSecurityGroupRules, ModifySecurityGroupRules, and groups in use."""

import botocore.exceptions
import pytest

from conftest import error_of

AL2023 = "ami-08f6cfac8c54bafdd"


def fails(call, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return error_of(e)


def ssh(cidr="203.0.113.0/24"):
    return [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}]


def group(ec2, name="web", vpc=None):
    kw = {"VpcId": vpc} if vpc else {}
    return ec2.create_security_group(GroupName=name, Description="test group", **kw)["GroupId"]


def test_default_group_and_a_new_group(ec2):
    [default] = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert default["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert default["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == default["GroupId"]
    gid = group(ec2)
    ec2.get_waiter("security_group_exists").wait(GroupIds=[gid])
    [g] = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
    assert g["GroupName"] == "web" and g["VpcId"] == default["VpcId"]
    assert g["IpPermissions"] == [] and g["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    assert fails(ec2.create_security_group, GroupName="web", Description="again")[0] == "InvalidGroup.Duplicate"
    assert fails(ec2.create_security_group, GroupName="default", Description="x")[0] == "InvalidGroup.Reserved"
    assert fails(ec2.create_security_group, GroupName="sg-nope", Description="x")[0] == "InvalidParameterValue"
    assert fails(ec2.delete_security_group, GroupId=default["GroupId"])[0] == "CannotDelete"
    assert fails(ec2.describe_security_groups, GroupIds=["sg-0123456789abcdef0"])[0] == "InvalidGroup.NotFound"
    assert fails(ec2.describe_security_groups, GroupNames=["nope"])[0] == "InvalidGroup.NotFound"
    by_name = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web"]}])["SecurityGroups"]
    assert [x["GroupId"] for x in by_name] == [gid]


def test_rules_in_and_out(ec2):
    gid = group(ec2)
    other = group(ec2, "db")
    out = ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            },
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": other}]},
            {"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": "pl-0123abcd"}]},
        ],
    )
    assert out["Return"] is True and len(out["SecurityGroupRules"]) == 4
    assert all(r["SecurityGroupRuleId"].startswith("sgr-") for r in out["SecurityGroupRules"])
    [g] = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
    https = next(p for p in g["IpPermissions"] if p.get("FromPort") == 443)
    assert https["IpRanges"] == [{"CidrIp": "0.0.0.0/0", "Description": "https"}]
    assert https["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}]
    # The older top-level form.
    ec2.authorize_security_group_ingress(GroupId=gid, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.0.0.0/8")
    code, message, status = fails(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=ssh("10.0.0.0/8"))
    assert (code, status) == ("InvalidPermission.Duplicate", 400)
    assert "already exists" in message and "10.0.0.0/8" in message
    # A request with a duplicate changes nothing.
    with_dup = ssh("192.0.2.0/24") + ssh("10.0.0.0/8")
    assert fails(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=with_dup)[0] == (
        "InvalidPermission.Duplicate"
    )
    filt = [{"Name": "group-id", "Values": [gid]}]
    rules = ec2.describe_security_group_rules(Filters=filt)["SecurityGroupRules"]
    assert len(rules) == 6  # five in, one default out
    assert not any(r.get("CidrIpv4") == "192.0.2.0/24" for r in rules)
    egress = ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=ssh("198.51.100.0/24"))
    assert egress["SecurityGroupRules"][0]["IsEgress"] is True
    assert fails(ec2.revoke_security_group_ingress, GroupId=gid, IpPermissions=ssh("1.2.3.0/24"))[0] == (
        "InvalidPermission.NotFound"
    )
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=ssh("10.0.0.0/8"))
    ec2.revoke_security_group_egress(GroupId=gid, SecurityGroupRuleIds=[egress["SecurityGroupRules"][0]["SecurityGroupRuleId"]])
    assert len(ec2.describe_security_group_rules(Filters=filt)["SecurityGroupRules"]) == 5
    for bad, code in [
        ([{"IpProtocol": "tcp", "FromPort": 30, "ToPort": 20, "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}], "InvalidParameterValue"),
        ([{"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}], "InvalidParameterValue"),
        ([{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "1.0.0.1/8"}]}], "InvalidParameterValue"),
        ([{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]}], "InvalidGroup.NotFound"),
    ]:
        assert fails(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=bad)[0] == code, bad


def test_modify_rules_and_the_rule_limit(ec2):
    gid = group(ec2)
    rid = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=ssh())["SecurityGroupRules"][0][
        "SecurityGroupRuleId"
    ]
    ec2.modify_security_group_rules(
        GroupId=gid,
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": rid,
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 2222, "ToPort": 2222, "CidrIpv4": "10.9.0.0/16"},
            }
        ],
    )
    [r] = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"]
    assert (r["FromPort"], r["CidrIpv4"], r["GroupId"]) == (2222, "10.9.0.0/16", gid)
    assert fails(ec2.describe_security_group_rules, SecurityGroupRuleIds=["sgr-0123456789abcdef0"])[0] == (
        "InvalidSecurityGroupRuleId.NotFound"
    )
    perms = [
        {"IpProtocol": "tcp", "FromPort": 1000 + i, "ToPort": 1000 + i, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
        for i in range(59)
    ]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
    assert fails(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=ssh("1.1.1.1/32"))[0] == (
        "RulesPerSecurityGroupLimitExceeded"
    )


def test_a_group_in_use_cannot_be_deleted(ec2):
    gid = group(ec2)
    ref = group(ec2, "ref")
    ec2.authorize_security_group_ingress(
        GroupId=ref, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid}]}]
    )
    assert fails(ec2.delete_security_group, GroupId=gid)[:2] == (
        "DependencyViolation",
        f"resource {gid} has a dependent object",
    )
    ec2.delete_security_group(GroupId=ref)
    ec2.delete_security_group(GroupName="web")
    assert fails(ec2.describe_security_groups, GroupIds=[gid])[0] == "InvalidGroup.NotFound"


def test_groups_of_a_new_vpc_and_dependency(ec2):
    vid = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    gid = group(ec2, "app", vid)
    assert group(ec2, "web", vid) != group(ec2, "web"), "names are per VPC"
    assert fails(ec2.delete_vpc, VpcId=vid)[0] == "DependencyViolation"
    ec2.delete_security_group(GroupId=gid)
    ec2.delete_security_group(GroupId=ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vid]}, {"Name": "group-name", "Values": ["web"]}]
    )["SecurityGroups"][0]["GroupId"])
    ec2.delete_vpc(VpcId=vid)


def test_cli_security_group(server, ec2):
    _, out, _ = server.cli("create-security-group", "--group-name", "cli", "--description", "from the cli")
    gid = out["GroupId"]
    server.cli(
        "authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0"
    )
    rc, _, err = server.cli(
        "authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp", "--port", "80", "--cidr",
        "0.0.0.0/0", check=False,
    )
    assert rc != 0 and "InvalidPermission.Duplicate" in err
    _, out, _ = server.cli("describe-security-groups", "--group-ids", gid)
    assert out["SecurityGroups"][0]["IpPermissions"][0]["FromPort"] == 80
    server.cli("delete-security-group", "--group-id", gid)
