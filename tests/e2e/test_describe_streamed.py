"""DescribeInstances of many instances: the answer is written while it is sent (chunked, in pieces of
about 64 KiB) and reads back whole through boto3, its paginator and the AWS CLI."""
import xml.etree.ElementTree as ET

from conftest import AL2023

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def launch_many(c, per_zone):
    ids = []
    for zone in ZONES:
        r = c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=per_zone, MaxCount=per_zone,
                            Placement={"AvailabilityZone": zone},
                            TagSpecifications=[{"ResourceType": "instance",
                                                "Tags": [{"Key": "Name", "Value": f"<{zone}> & 'co'"}]}])
        ids += [i["InstanceId"] for i in r["Instances"]]
    return ids


def test_a_large_page_is_sent_in_pieces_and_reads_back_whole(ec2, server):
    ids = launch_many(ec2, 40)
    status, headers, body = server.raw(body=b"Action=DescribeInstances&Version=2016-11-15")
    assert status == 200, body[:300]
    assert headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in headers
    assert len(body) > 3 * 64 * 1024
    root = ET.fromstring(body)
    assert root.tag == f"{NS}DescribeInstancesResponse"
    assert root.find(f"{NS}requestId").text == headers["x-amzn-requestid"]
    reservations = root.find(f"{NS}reservationSet").findall(f"{NS}item")
    assert len(reservations) == len(ZONES)
    listed = [i.find(f"{NS}instanceId").text
              for r in reservations for i in r.find(f"{NS}instancesSet").findall(f"{NS}item")]
    assert sorted(listed) == sorted(ids)
    names = {t.text for t in root.iter(f"{NS}value")}
    assert names == {f"<{z}> & 'co'" for z in ZONES}

    seen = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert sorted(seen) == sorted(ids)
    paged = [i["InstanceId"]
             for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 7})
             for r in page["Reservations"] for i in r["Instances"]]
    assert paged == listed
    _, out, _ = server.cli("describe-instances")
    assert sorted(i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]) == sorted(ids)


def test_small_answers_and_errors_keep_their_length(ec2, server):
    status, headers, body = server.raw(body=b"Action=DescribeRegions&Version=2016-11-15")
    assert status == 200
    assert headers.get("content-length") == str(len(body.encode()))
    status, headers, body = server.raw(body=b"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0")
    assert status == 400
    assert "InvalidInstanceID.NotFound" in body
    assert headers.get("content-length") == str(len(body.encode()))
    # An empty page is one piece, chunked like any other DescribeInstances answer.
    status, headers, body = server.raw(body=b"Action=DescribeInstances&Version=2016-11-15")
    assert status == 200
    assert "<reservationSet/>" in body
    assert ET.fromstring(body).find(f"{NS}reservationSet") is not None


def instance_items(body):
    """(reservation ID, instance ID, the instance's `<item>` as bytes) for every instance of a
    DescribeInstances answer."""
    root = ET.fromstring(body)
    return [(r.find(f"{NS}reservationId").text, i.find(f"{NS}instanceId").text, ET.tostring(i))
            for r in root.find(f"{NS}reservationSet").findall(f"{NS}item")
            for i in r.find(f"{NS}instancesSet").findall(f"{NS}item")]


def test_a_page_large_enough_for_two_encoders_is_the_pages_joined(ec2, server):
    # 3 x 70 instances: a page of 210 is written by two encoders (128 and more), pages of 50 by one; a
    # reservation of 70 spans several pieces of either.
    ids = launch_many(ec2, 70)
    ec2.stop_instances(InstanceIds=ids[:5])
    status, headers, body = server.raw(body=b"Action=DescribeInstances&Version=2016-11-15")
    assert status == 200, body[:300]
    assert headers.get("transfer-encoding") == "chunked"
    assert body.rstrip().endswith("</DescribeInstancesResponse>")
    whole = instance_items(body)
    assert sorted(i for _, i, _ in whole) == sorted(ids)
    paged, token = [], None
    while True:
        form = "Action=DescribeInstances&Version=2016-11-15&MaxResults=50" + (f"&NextToken={token}" if token else "")
        status, _, page = server.raw(body=form.encode())
        assert status == 200, page[:300]
        paged += instance_items(page)
        t = ET.fromstring(page).find(f"{NS}nextToken")
        if t is None:
            break
        token = t.text
    assert paged == whole
    seen = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert len(seen) == len(ids) and set(seen) == set(ids)
    _, out, _ = server.cli("describe-instances", "--no-paginate")
    assert [i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]] == seen


def test_a_client_that_leaves_in_the_middle_of_a_large_page_leaves_the_server_serving(ec2, server):
    import socket
    import botocore.auth, botocore.awsrequest, botocore.credentials
    from conftest import ACCESS_KEY, SECRET_KEY
    ids = launch_many(ec2, 70)
    body = b"Action=DescribeInstances&Version=2016-11-15"
    for _ in range(3):
        req = botocore.awsrequest.AWSRequest(method="POST", url=server.url + "/", data=body,
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), "ec2", "us-east-1").add_auth(req)
        head = "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body)
            got = s.recv(4096)
            assert got.startswith(b"HTTP/1.1 200"), got[:200]
    # The server goes on answering, the whole page included.
    seen = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert sorted(seen) == sorted(ids)
