"""Identity: SigV4 verification, accounts and regions, and IAM-style policies, against the real
binary. Open mode (no --credentials-file) accepts any well-formed signature; a credentials file
makes every request prove its identity and runs every action past that identity's policy."""

import base64
import datetime
import http.client
import json
import os
import random
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest

from conftest import PATIENCE, code_of, error_of, launch_ids, message_of, poll, stderr_after_stop

ALICE = ("AKIAALICE00000000001", "alice-secret/with+odd=chars", "111122223333")
BOB = ("AKIABOB0000000000002", "bob-secret", "444455556666")
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


def identity(key, secret, account, statements, name=None):
    out = {"AccessKeyId": key, "SecretAccessKey": secret, "AccountId": account,
           "Policy": {"Version": "2012-10-17", "Statement": statements}}
    if name:
        out["Name"] = name
    return out


ALLOW_ALL = [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]
NO_STOP = [
    {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
    {"Sid": "NoStopping", "Effect": "Deny", "Action": "ec2:StopInstances", "Resource": "arn:aws:ec2:*:*:instance/*"},
]


def write_credentials(path, *identities):
    path.write_text(json.dumps({"Identities": list(identities)}))
    return str(path)


@pytest.fixture(scope="module")
def secured(binary, tmp_path_factory):
    """A server with a credentials file: Alice may do anything, Bob anything but StopInstances."""
    from conftest import Server

    path = write_credentials(tmp_path_factory.mktemp("creds") / "credentials.json",
                             identity(*ALICE, ALLOW_ALL, name="alice"), identity(*BOB, NO_STOP, name="bob"))
    s = Server(binary, "--ephemeral", "--credentials-file", path).start()
    yield s
    s.stop()


def alice(server, region="us-east-1"):
    return server.client(region=region, access_key=ALICE[0], secret=ALICE[1])


def bob(server, region="us-east-1"):
    return server.client(region=region, access_key=BOB[0], secret=BOB[1])


def launch(client):
    return launch_ids(client)[0]


# ---------------------------------------------------------------------------------------------
# Open mode


def test_an_unsigned_request_is_refused_with_awss_error(server):
    for method, query, body in [("POST", "", b"Action=DescribeRegions&Version=2016-11-15"),
                                ("GET", "Action=DescribeRegions&Version=2016-11-15", b""),
                                ("POST", "", b"")]:
        status, headers, text = server.raw(method=method, query=query, body=body, sign=False)
        assert status == 400, text
        assert code_of(text) == "MissingParameter"
        assert message_of(text) == "The request must contain the parameter AWSAccessKeyId"
        assert headers["x-amzn-requestid"]


def test_a_malformed_authorization_is_an_incomplete_signature(server):
    for auth in ["AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/ec2/aws4_request",
                 "AWS AKIAX:c2lnbmF0dXJl",
                 "AWS4-HMAC-SHA256 Credential=AKIAX, SignedHeaders=host, Signature=00"]:
        status, _, text = server.raw(body=b"Action=DescribeRegions", sign=False,
                                     headers={"Authorization": auth, "X-Amz-Date": "20260101T000000Z"})
        assert (status, code_of(text)) == (400, "IncompleteSignature"), (auth, text)


def test_open_mode_says_so_in_one_startup_line(make_server):
    s = make_server("--ephemeral")
    err = stderr_after_stop(s)
    lines = [line for line in err.splitlines() if "credentials-file" in line]
    assert len(lines) == 1, err
    assert "any access key is accepted" in lines[0] and "every action is allowed" in lines[0]
    assert "000000000000" in lines[0]


def test_open_mode_maps_keys_to_stable_accounts(server):
    server.control("POST", "reset")
    a = server.client(access_key="111111111111", secret="x")
    b = server.client(access_key="222222222222", secret="y")
    anyone = server.client(access_key="AKIAANYONE", secret="z")
    iid = launch(a)
    assert [i["InstanceId"] for r in a.describe_instances()["Reservations"] for i in r["Instances"]] == [iid]
    assert b.describe_instances()["Reservations"] == []
    assert anyone.describe_instances()["Reservations"] == []
    # the same key with another secret is the same account
    again = server.client(access_key="111111111111", secret="another")
    assert again.describe_instances(InstanceIds=[iid])["Reservations"]
    # any non-12-digit key shares account 000000000000
    other = launch(server.client(access_key="AKIASOMEONEELSE", secret="w"))
    assert anyone.describe_instances(InstanceIds=[other])["Reservations"]


# ---------------------------------------------------------------------------------------------
# A credentials file


def test_the_startup_line_names_the_credentials_file(make_server, tmp_path):
    path = write_credentials(tmp_path / "c.json", identity(*ALICE, ALLOW_ALL))
    err = stderr_after_stop(make_server("--ephemeral", "--credentials-file", path))
    assert f"1 identities from {path}" in err, err


def test_botocore_and_the_cli_pass_with_the_right_secret(secured):
    assert alice(secured).describe_regions()["Regions"]
    assert bob(secured, "eu-west-1").describe_availability_zones()["AvailabilityZones"][0]["RegionName"] == "eu-west-1"
    _, out, _ = secured.cli("describe-regions", access_key=ALICE[0], secret=ALICE[1])
    assert out["Regions"]
    _, out, _ = secured.cli("describe-availability-zones", region="ap-south-1", access_key=BOB[0], secret=BOB[1])
    assert {z["RegionName"] for z in out["AvailabilityZones"]} == {"ap-south-1"}


def test_a_wrong_secret_is_refused(secured):
    wrong = secured.client(access_key=ALICE[0], secret="not-alices-secret")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        wrong.describe_regions()
    assert error_of(e) == ("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
    code, _, err = secured.cli("describe-regions", check=False, access_key=ALICE[0], secret="nope")
    assert code != 0 and "SignatureDoesNotMatch" in err


def test_an_unknown_key_is_an_auth_failure(secured):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        secured.client(access_key="AKIANOBODY0000000000", secret="x").describe_regions()
    assert error_of(e) == ("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
    # a 12-digit key is not an account of its own once a credentials file is given
    with pytest.raises(botocore.exceptions.ClientError) as e:
        secured.client(access_key="111122223333", secret="x").describe_regions()
    assert error_of(e)[0] == "AuthFailure"
    status, _, text = secured.raw(body=b"Action=DescribeRegions", sign=False)
    assert (status, code_of(text)) == (400, "MissingParameter")


def signed_at(server, when, key, secret):
    """A DescribeRegions request signed by botocore as if the clock said `when`."""
    real = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda *a, **k: when
    try:
        req = botocore.awsrequest.AWSRequest(method="POST", url=server.url + "/", data=b"Action=DescribeRegions",
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "ec2", "us-east-1").add_auth(req)
    finally:
        botocore.auth.get_current_datetime = real
    return dict(req.headers.items())


def test_a_request_outside_the_fifteen_minute_window_has_expired(secured):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    for offset, expect in [(-16, (400, "RequestExpired")), (16, (400, "RequestExpired")),
                           (-14, (200, None)), (14, (200, None))]:
        headers = signed_at(secured, now + datetime.timedelta(minutes=offset), ALICE[0], ALICE[1])
        status, _, text = secured.raw(body=b"Action=DescribeRegions", headers=headers, sign=False)
        assert (status, code_of(text)) == expect, (offset, text)


def test_accounts_are_isolated(secured):
    a, b = alice(secured), bob(secured)
    iid = launch(a)
    assert a.describe_instances(InstanceIds=[iid])["Reservations"]
    for client in (b, alice(secured, "eu-west-1")):
        mine = [i["InstanceId"] for r in client.describe_instances()["Reservations"] for i in r["Instances"]]
        assert iid not in mine
        with pytest.raises(botocore.exceptions.ClientError) as e:
            client.describe_instances(InstanceIds=[iid])
        assert error_of(e)[0] == "InvalidInstanceID.NotFound"
        with pytest.raises(botocore.exceptions.ClientError) as e:
            client.terminate_instances(InstanceIds=[iid])
        assert error_of(e)[0] == "InvalidInstanceID.NotFound"
        with pytest.raises(botocore.exceptions.ClientError) as e:
            client.create_tags(Resources=[iid], Tags=[{"Key": "owner", "Value": "mallory"}])
        assert error_of(e)[0] == "InvalidInstanceID.NotFound"
    assert a.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    assert a.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"] == []


def decoded_failure(message):
    prefix = "You are not authorized to perform this operation. Encoded authorization failure message: "
    assert message.startswith(prefix), message
    return json.loads(base64.b64decode(message[len(prefix):]))


def test_a_policy_that_denies_stop_instances(secured):
    b = bob(secured)
    iid = launch(b)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        b.stop_instances(InstanceIds=[iid])
    code, message, status = error_of(e)
    assert (code, status) == ("UnauthorizedOperation", 403)
    failure = decoded_failure(message)
    assert failure["explicitDeny"] is True
    assert failure["context"]["action"] == "ec2:StopInstances"
    assert failure["context"]["resource"] == f"arn:aws:ec2:us-east-1:{BOB[2]}:instance/{iid}"
    assert failure["matchedStatements"][0]["statementId"] == "NoStopping"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        b.stop_instances(InstanceIds=[iid], DryRun=True)
    assert error_of(e)[0::2] == ("UnauthorizedOperation", 403)
    # nothing changed, and what the policy allows still works
    state = b.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "running"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        b.reboot_instances(InstanceIds=[iid], DryRun=True)
    assert error_of(e)[0::2] == ("DryRunOperation", 412)
    code, _, err = secured.cli("stop-instances", "--instance-ids", iid, check=False, access_key=BOB[0], secret=BOB[1])
    assert code != 0 and "UnauthorizedOperation" in err
    _, out, _ = secured.cli("describe-instances", "--instance-ids", iid, access_key=BOB[0], secret=BOB[1])
    assert out["Reservations"][0]["Instances"][0]["InstanceId"] == iid
    b.terminate_instances(InstanceIds=[iid])


def test_permission_is_checked_before_existence(secured):
    missing = "i-0123456789abcdef0"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob(secured).stop_instances(InstanceIds=[missing])
    assert error_of(e)[0] == "UnauthorizedOperation", "a denied caller must not learn whether the instance exists"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        alice(secured).stop_instances(InstanceIds=[missing], DryRun=True)
    assert error_of(e)[0::2] == ("DryRunOperation", 412)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        alice(secured).stop_instances(InstanceIds=[missing])
    assert error_of(e)[0] == "InvalidInstanceID.NotFound"
    # syntax comes first, whoever asks
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob(secured).stop_instances(InstanceIds=["i-nothex"])
    assert error_of(e)[0] == "InvalidInstanceID.Malformed"


def test_the_credentials_file_is_read_again_when_it_changes(make_server, tmp_path):
    path = tmp_path / "credentials.json"
    write_credentials(path, identity(*ALICE, ALLOW_ALL))
    s = make_server("--ephemeral", "--credentials-file", str(path))
    carol = ("AKIACAROL00000000003", "carol-secret", "777788889999")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s.client(access_key=carol[0], secret=carol[1]).describe_regions()
    assert error_of(e)[0] == "AuthFailure"

    write_credentials(path, identity(*ALICE, NO_STOP), identity(*carol, ALLOW_ALL))
    poll(lambda: s.client(access_key=carol[0], secret=carol[1]).describe_regions(),
         ignore=botocore.exceptions.ClientError, what="the new identity to be picked up")
    # Alice's new policy is in force too
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s.client(access_key=ALICE[0], secret=ALICE[1]).stop_instances(InstanceIds=["i-0123456789abcdef0"])
    assert error_of(e)[0] == "UnauthorizedOperation"

    # a bad version is reported and the identities in force stay
    path.write_text('{"Identities": [{"AccessKeyId": "AKIA"}]}')
    # Wait until the server has read the bad file (it says so on stderr) instead of a fixed sleep.
    poll(lambda: "Identities[0].SecretAccessKey: required" in s.stderr(), what="the bad credentials file to be read")
    assert s.client(access_key=carol[0], secret=carol[1]).describe_regions()["Regions"]
    err = stderr_after_stop(s)
    assert "Identities[0].SecretAccessKey: required; keeping the previous identities" in err, err


@pytest.mark.parametrize("text, expected", [
    ("{not json", "not valid JSON (line 1, column 2)"),
    ('{"Identities": [{"AccessKeyId": "AKIA1", "SecretAccessKey": "s", "AccountId": "12",'
     ' "Policy": {"Statement": []}}]}', "Identities[0].AccountId: '12' is not a 12-digit account ID"),
    ('{"Identities": [{"AccessKeyId": "AKIA1", "SecretAccessKey": "s", "AccountId": "111122223333",'
     ' "Policy": {"Statement": [{"Effect": "Permit", "Action": "ec2:*", "Resource": "*"}]}}]}',
     "Identities[0].Policy.Statement[0].Effect: expected \"Allow\" or \"Deny\""),
])
def test_a_bad_credentials_file_stops_the_server_with_a_clear_message(binary, tmp_path, text, expected):
    from conftest import Server

    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(RuntimeError) as e:
        Server(binary, "--ephemeral", "--credentials-file", str(path)).start()
    assert str(path) in str(e.value) and expected in str(e.value), str(e.value)


def test_a_missing_credentials_file_stops_the_server(binary, tmp_path):
    from conftest import Server

    with pytest.raises(RuntimeError) as e:
        Server(binary, "--ephemeral", "--credentials-file", str(tmp_path / "nope.json")).start()
    assert "nope.json" in str(e.value)


# ---------------------------------------------------------------------------------------------
# Property: botocore's signer against ec2d's verifier, on generated requests

AUTH_CODES = {"MissingParameter", "IncompleteSignature", "AuthFailure", "SignatureDoesNotMatch", "RequestExpired"}
ALPHANUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ODD = "-_.~ +&=/%?#:;,@!$'()*[]\u00e9\u4e2d\U0001f600"


def random_text(rng, n, alphabet=ALPHANUM + ODD):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))


def canonical_quote(s, *_args, **_kwargs):
    return urllib.parse.quote(s, safe="-_.~")


def random_request(rng, server):
    """A random EC2 request, signed by botocore in the header or presigned in the query string.
    Returns (method, target, headers, body, spans) where spans lists the (part, start, end) ranges
    whose characters are covered by the signature and may be flipped."""
    key, secret, _ = rng.choice([ALICE, BOB])
    region = rng.choice(["us-east-1", "eu-west-1", "ap-southeast-2"])
    presign = rng.random() < 0.4
    method = rng.choice(["GET", "POST"])
    params = [("Action", "DescribeRegions"), ("Version", "2016-11-15")]
    params += [(f"X{random_text(rng, 6)}", random_text(rng, 12)) for _ in range(rng.randint(0, 4))]
    rng.shuffle(params)
    segments = ["", *[rng.choice([random_text(rng, 5), ".", "..", "a" + str(rng.randint(0, 99))]) for _ in range(rng.randint(0, 3))]]
    path = "/".join(urllib.parse.quote(s, safe="~.-_") for s in segments) or "/"
    if not path.startswith("/"):
        path = "/" + path
    if path.startswith("/_ec2d"):
        path = "/x" + path
    form = urllib.parse.urlencode(params, quote_via=canonical_quote)
    query = form if method == "GET" else ""
    body = b"" if method == "GET" else form.encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    for i in range(rng.randint(0, 2)):
        words = [random_text(rng, 6, ALPHANUM + "-_.~+&=/%?#:;,@!$'()*[]") or "v" for _ in range(3)]
        headers[f"X-Test-Header{i}"] = "  " + "   ".join(words) + " "
    url = server.url + path + (f"?{query}" if query else "")
    # botocore's query serializer hands the presigner a dict of parameters, not the encoded body
    data = (dict(params) if presign else body) if method == "POST" else None
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=data, headers=headers)
    creds = botocore.credentials.Credentials(key, secret)
    if presign:
        botocore.auth.SigV4QueryAuth(creds, "ec2", region, expires=rng.randint(60, 3600)).add_auth(req)
    else:
        botocore.auth.SigV4Auth(creds, "ec2", region).add_auth(req)
    prepared = req.prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    out_headers = dict(prepared.headers.items())
    out_body = prepared.body or b""
    if isinstance(out_body, str):
        out_body = out_body.encode()
    return method, target, out_headers, out_body, presign


def send(server, method, target, headers, body):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=PATIENCE)
    try:
        conn.request(method, target, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def flippable(text, start=0, end=None):
    """Positions of letters and digits in text[start:end] that are not part of a %XX escape."""
    end = len(text) if end is None else end
    out = []
    for i in range(start, end):
        if text[i] in ALPHANUM and not (i >= 1 and text[i - 1] == "%") and not (i >= 2 and text[i - 2] == "%"):
            out.append(i)
    return out


def flip_one(rng, text, positions):
    i = rng.choice(positions)
    replacement = rng.choice([c for c in ALPHANUM if c != text[i]])
    return text[:i] + replacement + text[i + 1:]


def tamper(rng, method, target, headers, body, presign):
    """The same request with one signed character changed."""
    path, _, query = target.partition("?")
    choices = []
    sig_key = "X-Amz-Signature=" if presign else "Signature="
    if presign:
        start = query.index(sig_key) + len(sig_key)
        choices.append(("query", start, len(query)))
        # the operation's own parameters come before botocore's X-Amz-* ones
        ops_end = query.index("X-Amz-Algorithm=")
        if flippable(query, 0, ops_end):
            choices.append(("query", 0, ops_end))
    else:
        auth = headers["Authorization"]
        choices.append(("auth", auth.index(sig_key) + len(sig_key), len(auth)))
        if flippable(query):
            choices.append(("query", 0, len(query)))
        if body:
            choices.append(("body", 0, len(body)))
        for name in headers:
            if name.startswith("X-Test-Header") and flippable(headers[name]):
                choices.append((name, 0, len(headers[name])))
    # a flip inside a segment that `..` removes would change nothing that is signed
    if flippable(path) and not {".", ".."} & set(path.split("/")):
        choices.append(("path", 0, len(path)))
    part, start, end = rng.choice(choices)
    headers = dict(headers)
    if part == "auth":
        auth = headers["Authorization"]
        positions = [i for i in range(start, end)]
        i = rng.choice(positions)
        headers["Authorization"] = auth[:i] + rng.choice([c for c in "0123456789abcdef" if c != auth[i]]) + auth[i + 1:]
    elif part == "query":
        digits = set("0123456789abcdef")
        if presign and start > 0:
            i = rng.randrange(start, end)
            query = query[:i] + rng.choice(sorted(digits - {query[i]})) + query[i + 1:]
        else:
            query = flip_one(rng, query, flippable(query, start, end))
    elif part == "body":
        text = body.decode()
        body = flip_one(rng, text, flippable(text)).encode()
    elif part == "path":
        path = flip_one(rng, path, flippable(path))
    else:
        headers[part] = flip_one(rng, headers[part], flippable(headers[part]))
    return part, path + (f"?{query}" if query else ""), headers, body


@pytest.mark.parametrize("seed", range(4))
def test_botocore_signed_requests_verify_and_any_flipped_byte_is_refused(secured, seed):
    rng = random.Random(int(os.environ.get("EC2D_PROPERTY_SEED", "7000")) + seed)
    accepted = 0
    for n in range(60):
        method, target, headers, body, presign = random_request(rng, secured)
        status, text = send(secured, method, target, headers, body)
        assert code_of(text) not in AUTH_CODES, (seed, n, method, target, headers, body, text)
        accepted += status == 200
        part, bad_target, bad_headers, bad_body = tamper(rng, method, target, headers, body, presign)
        status, text = send(secured, method, bad_target, bad_headers, bad_body)
        assert (status, code_of(text), message_of(text)) == (403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH), (
            seed, n, part, method, bad_target, bad_headers, bad_body, text)
    assert accepted > 30, "most generated requests are valid DescribeRegions calls"
