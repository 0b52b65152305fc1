"""Internet gateways and route tables: attach and detach, the main table and its local route,
routes created, replaced and deleted, subnet associations, and the order deletions need."""

import botocore.exceptions
import pytest

from conftest import error_of


def fails(call, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return error_of(e)


def test_default_vpc_has_a_gateway_and_a_main_table(ec2):
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    [igw] = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])[
        "InternetGateways"
    ]
    assert igw["Attachments"] == [{"State": "available", "VpcId": vpc["VpcId"]}]
    [main] = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    routes = {r["DestinationCidrBlock"]: r for r in main["Routes"]}
    assert routes["172.31.0.0/16"]["GatewayId"] == "local" and routes["172.31.0.0/16"]["State"] == "active"
    assert routes["0.0.0.0/0"]["GatewayId"] == igw["InternetGatewayId"]


def test_gateway_and_routes(ec2):
    vid = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway(
        TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": "gw"}]}]
    )["InternetGateway"]
    gid = igw["InternetGatewayId"]
    assert igw["Attachments"] == [] and igw["Tags"] == [{"Key": "Name", "Value": "gw"}]
    ec2.get_waiter("internet_gateway_exists").wait(InternetGatewayIds=[gid])
    ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    assert fails(ec2.attach_internet_gateway, InternetGatewayId=gid, VpcId=vid)[0] == "Resource.AlreadyAssociated"
    other = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    assert fails(ec2.attach_internet_gateway, InternetGatewayId=other, VpcId=vid)[0] == "Resource.AlreadyAssociated"
    rt = ec2.create_route_table(VpcId=vid)["RouteTable"]
    rid = rt["RouteTableId"]
    assert [(r["DestinationCidrBlock"], r["GatewayId"]) for r in rt["Routes"]] == [("10.0.0.0/16", "local")]
    assert rt["Associations"] == []
    ec2.create_route(RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)
    assert fails(ec2.create_route, RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)[0] == (
        "RouteAlreadyExists"
    )
    assert fails(ec2.create_route, RouteTableId=rid, DestinationCidrBlock="1.0.0.0/8", GatewayId=other)[0] == (
        "InvalidParameterValue"
    )
    assert fails(ec2.delete_route, RouteTableId=rid, DestinationCidrBlock="10.0.0.0/16")[0] == "InvalidParameterValue"
    assert fails(ec2.delete_route, RouteTableId=rid, DestinationCidrBlock="9.0.0.0/8")[0] == "InvalidRoute.NotFound"
    assoc = ec2.associate_route_table(RouteTableId=rid, SubnetId=sid)
    assert assoc["AssociationState"]["State"] == "associated"
    assert fails(ec2.associate_route_table, RouteTableId=rid, SubnetId=sid)[0] == "Resource.AlreadyAssociated"
    [t] = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [sid]}])["RouteTables"]
    assert t["RouteTableId"] == rid
    # Deletions in the wrong order are refused and change nothing.
    assert fails(ec2.delete_route_table, RouteTableId=rid)[0] == "DependencyViolation"
    assert fails(ec2.delete_internet_gateway, InternetGatewayId=gid)[0] == "DependencyViolation"
    assert fails(ec2.delete_vpc, VpcId=vid)[0] == "DependencyViolation"
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vid]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]
    assert fails(ec2.delete_route_table, RouteTableId=main["RouteTableId"])[0] == "DependencyViolation"
    main_assoc = main["Associations"][0]["RouteTableAssociationId"]
    assert fails(ec2.disassociate_route_table, AssociationId=main_assoc)[0] == "InvalidParameterValue"
    # Detached, the gateway's routes are blackholes.
    ec2.detach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    assert fails(ec2.detach_internet_gateway, InternetGatewayId=gid, VpcId=vid)[0] == "Gateway.NotAttached"
    routes = ec2.describe_route_tables(RouteTableIds=[rid])["RouteTables"][0]["Routes"]
    assert {r["DestinationCidrBlock"]: r["State"] for r in routes} == {"10.0.0.0/16": "active", "0.0.0.0/0": "blackhole"}
    ec2.delete_route(RouteTableId=rid, DestinationCidrBlock="0.0.0.0/0")
    ec2.disassociate_route_table(AssociationId=assoc["AssociationId"])
    ec2.delete_route_table(RouteTableId=rid)
    ec2.delete_internet_gateway(InternetGatewayId=gid)
    ec2.delete_internet_gateway(InternetGatewayId=other)
    ec2.delete_subnet(SubnetId=sid)
    ec2.delete_vpc(VpcId=vid)
    assert fails(ec2.describe_route_tables, RouteTableIds=[main["RouteTableId"]])[0] == "InvalidRouteTableID.NotFound"


def test_replace_route_and_client_token(ec2):
    vid = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_route_table(VpcId=vid, ClientToken="rt-once")["RouteTable"]["RouteTableId"]
    assert ec2.create_route_table(VpcId=vid, ClientToken="rt-once")["RouteTable"]["RouteTableId"] == a
    g1 = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=g1, VpcId=vid)
    ec2.create_route(RouteTableId=a, DestinationCidrBlock="192.0.2.0/24", GatewayId=g1)
    iid = ec2.describe_route_tables(RouteTableIds=[a])["RouteTables"][0]["RouteTableId"]
    assert iid == a
    assert fails(ec2.replace_route, RouteTableId=a, DestinationCidrBlock="10.5.0.0/16", GatewayId=g1)[0] == (
        "InvalidParameterValue"
    )
    assert fails(ec2.replace_route, RouteTableId=a, DestinationCidrBlock="198.51.100.0/24", GatewayId=g1)[0] == (
        "InvalidRoute.NotFound"
    )


def test_cli_gateway_and_route_table(server, ec2):
    _, out, _ = server.cli("create-vpc", "--cidr-block", "10.8.0.0/16")
    vid = out["Vpc"]["VpcId"]
    _, out, _ = server.cli("create-internet-gateway")
    gid = out["InternetGateway"]["InternetGatewayId"]
    server.cli("attach-internet-gateway", "--internet-gateway-id", gid, "--vpc-id", vid)
    _, out, _ = server.cli("create-route-table", "--vpc-id", vid)
    rid = out["RouteTable"]["RouteTableId"]
    server.cli("create-route", "--route-table-id", rid, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", gid)
    _, out, _ = server.cli("describe-route-tables", "--route-table-ids", rid)
    assert len(out["RouteTables"][0]["Routes"]) == 2
    server.cli("delete-route-table", "--route-table-id", rid)
    server.cli("detach-internet-gateway", "--internet-gateway-id", gid, "--vpc-id", vid)
    server.cli("delete-internet-gateway", "--internet-gateway-id", gid)
    server.cli("delete-vpc", "--vpc-id", vid)
