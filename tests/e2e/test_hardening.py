"""Hardening, end to end against the real binary: the control API behind authentication, limits
applied before authentication, a store that checks itself, health that checks the store, SigV2,
and the request log."""

import base64
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT, Server
from pg import Postgres

IMAGE = "ami-08f6cfac8c54bafdd"

ADMIN = ("AKIAADMIN00000000001", "admin-secret")  # ec2:* only
OPERATOR = ("AKIAOPERATOR00000002", "operator-secret")  # ec2:* and ec2d:*, but not ec2d:Reset
RESETTER = ("AKIARESETTER00000003", "resetter-secret")  # ec2d:Reset only


def code_of(text):
    m = re.search(r"<Code>([^<]*)</Code>", text)
    return m.group(1) if m else None


def message_of(text):
    m = re.search(r"<Message>([^<]*)</Message>", text, re.S)
    return m.group(1) if m else None


def write_credentials(tmp_path):
    def identity(key, account, statements):
        return {"AccessKeyId": key[0], "SecretAccessKey": key[1], "AccountId": account,
                "Policy": {"Version": "2012-10-17", "Statement": statements}}
    doc = {"Identities": [
        identity(ADMIN, "111122223333", [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]),
        identity(OPERATOR, "111122223333", [{"Effect": "Allow", "Action": ["ec2:*", "ec2d:*"], "Resource": "*"},
                                            {"Effect": "Deny", "Action": "ec2d:Reset", "Resource": "*"}]),
        identity(RESETTER, "111122223333", [{"Effect": "Allow", "Action": "ec2d:Reset", "Resource": "*"}]),
    ]}
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(doc))
    return str(path)


def control_cli(binary, server, *verb, key=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    args = [binary, "control", "--endpoint", server.url]
    if key:
        args += ["--access-key", key[0], "--secret-key", key[1]]
    p = subprocess.run([*args, *verb], capture_output=True, text=True, timeout=30, env=env)
    return p.returncode, p.stdout, p.stderr


def launch(client):
    r = client.run_instances(ImageId=IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    return r["Instances"][0]["InstanceId"]


def stderr_after_stop(server):
    return server.stderr_after_stop()


def raw_http(server, data, timeout=10):
    """Sends raw bytes; returns everything the server answered before closing (or the timeout)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"connection: close" not in b"".join(chunks).lower():
                    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                    m = re.search(rb"content-length: (\d+)", head.lower())
                    if m and len(body) >= int(m.group(1)):
                        break
        except socket.timeout:
            pass
    return b"".join(chunks).decode(errors="replace")


def status_of(answer):
    return int(answer.split(" ", 2)[1])


# ---------------------------------------------------------------------------------------------
# The control API with a credentials file


def test_an_unauthenticated_reset_is_refused_when_a_credentials_file_is_given(make_server, binary, tmp_path):
    s = make_server("--ephemeral", "--credentials-file", write_credentials(tmp_path))
    admin = s.client(access_key=ADMIN[0], secret=ADMIN[1])
    iid = launch(admin)

    def instance_exists():
        return bool(admin.describe_instances(Filters=[{"Name": "instance-id", "Values": [iid]}])["Reservations"])

    # unsigned: refused like an unsigned EC2 request
    req = urllib.request.Request(f"{s.url}/_ec2d/reset", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 400
    assert json.loads(e.value.read())["code"] == "MissingParameter"
    # the capacity and hold-stopping endpoints too
    for path in ["capacity?availability-zone=us-east-1a&instance-type=t3.micro&count=0",
                 f"instances/{iid}/hold-stopping", "clock/advance?seconds=1"]:
        req = urllib.request.Request(f"{s.url}/_ec2d/{path}", method="POST", data=b"")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert e.value.code == 400, path
    # signed, but by identities whose policy does not allow ec2d:Reset
    for key in [ADMIN, OPERATOR]:
        code, out, _ = control_cli(binary, s, "reset", key=key)
        assert code == 1 and json.loads(out)["code"] == "UnauthorizedOperation", out
    # a wrong secret
    code, out, _ = control_cli(binary, s, "reset", key=(RESETTER[0], "not-the-secret"))
    assert code == 1 and json.loads(out)["code"] == "SignatureDoesNotMatch", out
    assert instance_exists()
    # the operator may read the clock and the capacity, not reset
    code, out, _ = control_cli(binary, s, "clock", key=OPERATOR)
    assert code == 0 and json.loads(out)["mode"] == "instant", out
    code, out, _ = control_cli(binary, s, "call", "GET", "capacity?availability-zone=us-east-1a&instance-type=t3.micro",
                               key=OPERATOR)
    assert code == 0 and json.loads(out)["held"] == 1, out
    # the one allowed to reset does it
    code, out, _ = control_cli(binary, s, "reset", key=RESETTER)
    assert code == 0 and json.loads(out) == {"reset": True}, out
    assert not instance_exists()
    # health answers anyone, with the settings only for an allowed caller
    health = s.control("GET", "health")
    assert health["status"] == "ok" and "seed" not in health
    code, out, _ = control_cli(binary, s, "health", key=OPERATOR)
    assert code == 0 and json.loads(out)["seed"] == 0


def test_curl_can_sign_a_control_request(make_server, tmp_path):
    s = make_server("--ephemeral", "--credentials-file", write_credentials(tmp_path))
    p = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
                        "--aws-sigv4", "aws:amz:us-east-1:ec2", "--user", f"{RESETTER[0]}:{RESETTER[1]}",
                        f"{s.url}/_ec2d/reset"], capture_output=True, text=True, timeout=30)
    body, status = p.stdout.rsplit("\n", 1)
    assert (status, json.loads(body)) == ("200", {"reset": True}), p.stdout + p.stderr


def test_open_mode_on_a_non_loopback_address_warns_in_one_line(make_server):
    s = make_server("--ephemeral", "--host", "0.0.0.0")
    err = stderr_after_stop(s)
    lines = [line for line in err.splitlines() if "anyone who can reach" in line]
    assert len(lines) == 1, err
    assert "/_ec2d/reset" in lines[0]
    quiet = make_server("--ephemeral")
    assert "anyone who can reach" not in stderr_after_stop(quiet)


# ---------------------------------------------------------------------------------------------
# Limits before authentication


def test_a_deeply_nested_name_is_answered_400_and_the_server_lives(server):
    body = ("a." * 20000 + "a=1").encode()
    status, _, text = server.raw(body=body, sign=False)
    assert (status, code_of(text)) == (400, "InvalidParameterValue"), text[:300]
    assert "longer than 512 bytes" in message_of(text) and len(text) < 1000
    status, _, text = server.raw(body=("a." * 40 + "a=1").encode(), sign=False)
    assert (status, code_of(text)) == (400, "InvalidParameterValue") and "more than 32 dotted segments" in text
    # too many parameters, and a name too long
    status, _, text = server.raw(body="&".join(f"p{i}=1" for i in range(10_001)).encode(), sign=False)
    assert (status, code_of(text)) == (400, "InvalidParameterValue") and "10000 parameters" in text
    status, _, text = server.raw(body=b"A" * 600 + b"=1", sign=False)
    assert (status, code_of(text)) == (400, "InvalidParameterValue") and "longer than 512 bytes" in text
    assert server.client().describe_regions()["Regions"]


def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(make_server):
    s = make_server("--ephemeral", "--max-body-bytes", "100000")
    status, _, text = s.raw(body=b"Action=DescribeRegions&X=" + b"a" * 200_000, sign=False)
    assert (status, code_of(text)) == (413, "RequestEntityTooLarge"), text[:300]
    # 16 KB of user data with 50 tags fits the default limit
    status, _, text = s.raw(body=b"Action=DescribeRegions&X=" + b"a" * 90_000)
    assert status == 200, text[:300]


def test_user_data_and_many_tags_fit_the_default_body_limit(ec2):
    user_data = base64.b64encode(os.urandom(12 * 1024)).decode()
    tags = [{"Key": f"key-{i}-" + "k" * 100, "Value": "v" * 250} for i in range(50)]
    r = ec2.run_instances(ImageId=IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1, UserData=user_data,
                          TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    assert len(r["Instances"][0]["Tags"]) == 50


def test_bad_chunked_encoding_is_a_400(server):
    answer = raw_http(server, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    assert status_of(answer) == 400, answer
    assert "<Code>InvalidHttpRequest</Code>" in answer


def test_48_slow_connections_are_closed_by_the_timeout(make_server):
    s = make_server("--ephemeral", "--header-timeout", "1", "--body-timeout", "1")
    socks = []
    for _ in range(48):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        c.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # headers never finish
        socks.append(c)
    deadline = time.time() + 30
    closed = 0
    for c in socks:
        c.settimeout(max(0.1, deadline - time.time()))
        try:
            while c.recv(4096):
                pass
            closed += 1  # the server closed it
        except ConnectionResetError:
            closed += 1
        except socket.timeout:
            pass  # still open at the deadline
        finally:
            c.close()
    assert closed == 48
    # a body that stops arriving gets 408
    answer = raw_http(s, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nAction=", timeout=20)
    assert status_of(answer) == 408 and "RequestTimeout" in answer, answer
    assert s.client().describe_regions()["Regions"]


def test_connections_beyond_the_cap_wait_for_a_free_slot(make_server):
    s = make_server("--ephemeral", "--max-connections", "2", "--header-timeout", "60")
    idle = [socket.create_connection(("127.0.0.1", s.port), timeout=30) for _ in range(2)]
    time.sleep(0.2)  # let the server accept both
    answered = threading.Event()

    def request():
        s.raw(body=b"Action=DescribeRegions")
        answered.set()

    t = threading.Thread(target=request, daemon=True)
    t.start()
    # while both slots are held, the third connection is not served
    assert not answered.wait(1.0)
    for c in idle:
        c.close()
    assert answered.wait(20)


# ---------------------------------------------------------------------------------------------
# Input echoes, numbers, versions


def test_error_messages_truncate_the_input_they_echo(server):
    huge = "ami-" + "a" * 500_000
    status, _, text = server.raw(body=f"Action=RunInstances&ImageId={huge}&MinCount=1&MaxCount=1".encode())
    assert status == 400, text[:300]
    assert len(text) < 4000, len(text)
    status, _, text = server.raw(body=f"Action=DescribeInstances&MaxResults={'9' * 100_000}".encode())
    assert (status, code_of(text)) == (400, "InvalidParameterValue") and len(text) < 1000, text[:300]


@pytest.mark.parametrize("value", [" 1", "+1", "1 ", "1e0", "0x1"])
def test_numbers_must_be_plain_decimal(server, value):
    body = "Action=RunInstances&ImageId=ami-08f6cfac8c54bafdd&MinCount=1&MaxCount=" + urllib.parse.quote(value)
    status, _, text = server.raw(body=body.encode())
    assert (status, code_of(text)) == (400, "InvalidParameterValue"), text
    assert "MaxCount" in message_of(text)


def test_an_api_version_ec2_never_had_is_refused(server):
    status, _, text = server.raw(body=b"Action=DescribeRegions&Version=1999-01-01")
    assert (status, code_of(text)) == (400, "NoSuchVersion"), text
    assert message_of(text) == "The requested version (1999-01-01) of service AmazonEC2 does not exist"
    for version in ["2016-11-15", "2013-10-15"]:
        status, _, text = server.raw(body=f"Action=DescribeRegions&Version={version}".encode())
        assert status == 200, text


# ---------------------------------------------------------------------------------------------
# The embedded store checks its file; health checks the store


def damage_and_start(binary, data_dir, damage):
    db = os.path.join(data_dir, "ec2d.sqlite3")
    assert not os.path.exists(db + "-wal") or os.path.getsize(db + "-wal") == 0, "the WAL was not checkpointed"
    damage(db)
    p = subprocess.run([binary, "serve", "--port", "0", "--data-dir", data_dir], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stderr


def filled_store(make_server, tmp_path, name):
    data_dir = str(tmp_path / name)
    s = make_server("--data-dir", data_dir)
    c = s.client()
    tags = [{"Key": f"k{i}", "Value": "v" * 200} for i in range(20)]
    for _ in range(20):
        c.run_instances(ImageId=IMAGE, InstanceType="t3.micro", MinCount=10, MaxCount=10,
                        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    s.stop()
    return data_dir


def test_a_damaged_sqlite_file_is_refused_at_startup(make_server, binary, tmp_path):
    def scribble(db):
        size = os.path.getsize(db)
        rng = random.Random(7)
        with open(db, "r+b") as f:
            for page in range(2, size // 4096 - 1, 3):
                f.seek(page * 4096 + 100)
                f.write(bytes(rng.randrange(256) for _ in range(2000)))

    def truncate(db):
        with open(db, "r+b") as f:
            f.truncate(os.path.getsize(db) // 2)

    for name, damage in [("scribbled", scribble), ("truncated", truncate)]:
        data_dir = filled_store(make_server, tmp_path, name)
        code, err = damage_and_start(binary, data_dir, damage)
        assert code == 2, (name, err)
        assert "is damaged" in err and "mv " in err and "backup" in err, (name, err)
    # an intact one starts and keeps its instances
    data_dir = filled_store(make_server, tmp_path, "intact")
    s = make_server("--data-dir", data_dir)
    n = sum(len(r["Instances"]) for r in s.client().describe_instances()["Reservations"])
    assert n == 200


class Proxy:
    """A TCP proxy to PostgreSQL that the test can cut, as if the database went away."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.conns = []
        self.down = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.conns += [client, upstream]
            for a, b in [(client, upstream), (upstream, client)]:
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.down = True
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def restore(self):
        self.down = False


def test_health_answers_503_while_postgresql_is_down(make_server):
    pg = Postgres()
    try:
        url = urllib.parse.urlsplit(pg.url)
        proxy = Proxy(url.port)
        proxied = url._replace(netloc=url.netloc.rsplit(":", 1)[0] + f":{proxy.port}").geturl()
        s = make_server("--store", proxied)
        assert s.control("GET", "health")["status"] == "ok"
        assert s.client().describe_regions()["Regions"]
        proxy.cut()
        deadline = time.time() + 20
        while True:
            started = time.time()
            req = urllib.request.Request(f"{s.url}/_ec2d/health")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status, body = r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                status, body = e.code, json.loads(e.read())
            assert time.time() - started < 5, "health must stay cheap"
            if status == 503 or time.time() > deadline:
                break
            time.sleep(0.2)
        assert status == 503, body
        assert body["status"] == "unavailable" and "postgres" in body["reason"], body
        proxy.restore()
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{s.url}/_ec2d/health", timeout=10) as r:
                    if json.loads(r.read())["status"] == "ok":
                        break
            except urllib.error.HTTPError:
                pass
            assert time.time() < deadline, "health did not come back"
            time.sleep(0.2)
    finally:
        pg.stop()


# ---------------------------------------------------------------------------------------------
# Signature Version 2


def sigv2_params(key, secret, host, method="GET", path="/", signature_method="HmacSHA256", extra=None, when=None):
    """The parameters of a request signed as Apache Libcloud's EC2 driver signs it (SigV2)."""
    params = {
        "Action": "DescribeRegions",
        "AWSAccessKeyId": key,
        "SignatureMethod": signature_method,
        "SignatureVersion": "2",
        "Timestamp": (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2016-11-15",
        **(extra or {}),
    }
    qs = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(str(v), safe='-_.~')}"
                  for k, v in sorted(params.items()))
    string_to_sign = "\n".join([method, host, path, qs])
    digest = hashlib.sha256 if signature_method == "HmacSHA256" else hashlib.sha1
    params["Signature"] = base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), digest).digest()).decode()
    return params


def sigv2_call(server, params, method="GET"):
    qs = urllib.parse.urlencode(params)
    if method == "GET":
        return server.raw(method="GET", query=qs, sign=False)
    return server.raw(method="POST", body=qs.encode(), sign=False)


def test_a_libcloud_style_sigv2_request_is_accepted_and_a_tampered_one_refused(make_server, tmp_path):
    s = make_server("--ephemeral", "--credentials-file", write_credentials(tmp_path))
    host = f"127.0.0.1:{s.port}"
    for signature_method in ["HmacSHA256", "HmacSHA1"]:
        for method in ["GET", "POST"]:
            params = sigv2_params(*ADMIN, host, method=method, signature_method=signature_method)
            status, _, text = sigv2_call(s, params, method)
            assert status == 200 and "<regionName>us-east-1</regionName>" in text, (signature_method, method, text)
            tampered = dict(params, Action="DescribeAvailabilityZones")
            status, _, text = sigv2_call(s, tampered, method)
            assert (status, code_of(text)) == (403, "SignatureDoesNotMatch"), text
    # Libcloud signs the host without its port
    status, _, text = sigv2_call(s, sigv2_params(*ADMIN, "127.0.0.1"))
    assert status == 200, text
    wrong = sigv2_params(ADMIN[0], "not-the-secret", host)
    assert code_of(sigv2_call(s, wrong)[2]) == "SignatureDoesNotMatch"
    unknown = sigv2_params("AKIANOBODY", "x", host)
    assert sigv2_call(s, unknown)[:1] == (401,)
    old = sigv2_params(*ADMIN, host, when=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
    assert code_of(sigv2_call(s, old)[2]) == "RequestExpired"
    # a SigV2 caller acts in its identity's account, with its policy
    resetter = sigv2_params(*RESETTER, host)
    assert sigv2_call(s, resetter)[:1] == (403,)
    launched = sigv2_params(*ADMIN, host, method="POST", extra={"Action": "RunInstances", "ImageId": IMAGE, "MinCount": "1",
                                                  "MaxCount": "1", "InstanceType": "t3.micro"})
    status, _, text = sigv2_call(s, launched, "POST")
    assert status == 200 and "<ownerId>111122223333</ownerId>" in text, text
    bad_method = sigv2_params(*ADMIN, host, signature_method="HmacSHA256")
    bad_method["SignatureMethod"] = "HmacMD5"
    assert code_of(sigv2_call(s, bad_method)[2]) == "IncompleteSignature"


def test_open_mode_accepts_sigv2_from_any_key(server):
    params = sigv2_params("111111111111", "whatever", f"127.0.0.1:{server.port}")
    status, _, text = sigv2_call(server, params)
    assert status == 200, text


# ---------------------------------------------------------------------------------------------
# The request log


def test_each_request_is_logged_in_one_line_and_shutdown_too(make_server):
    s = make_server("--ephemeral")
    c = s.client(access_key="111122223333")
    c.describe_regions()
    s.raw(body=b"Action=DescribeInstances&InstanceId.1=i-bad", access_key="111122223333")
    err = stderr_after_stop(s)
    ok = [line for line in err.splitlines() if "action=DescribeRegions" in line]
    assert len(ok) == 1, err
    for part in ["account=111122223333", "region=us-east-1", "status=200", "latency_us="]:
        assert part in ok[0], ok[0]
    bad = [line for line in err.splitlines() if "action=DescribeInstances" in line]
    assert len(bad) == 1 and "status=400" in bad[0] and "code=InvalidInstanceID.Malformed" in bad[0], err
    assert "shutting down on SIGTERM" in err, err
    quiet = make_server("--ephemeral", "--log-level", "warn")
    quiet.client().describe_regions()
    assert "action=DescribeRegions" not in stderr_after_stop(quiet)


def test_the_console_api_needs_an_identity_allowed_to_read_it(make_server, tmp_path):
    """With a credentials file, the console page itself loads for anyone (it holds no data), but its
    API answers only a signed caller whose policy allows ec2d:ReadConsole: an unsigned request gets
    MissingParameter, an identity allowed only ec2:* gets UnauthorizedOperation."""
    s = make_server("--ephemeral", "--credentials-file", write_credentials(tmp_path))
    launch(s.client(access_key=ADMIN[0], secret=ADMIN[1]))
    with urllib.request.urlopen(f"{s.url}/_ec2d/console", timeout=5) as r:
        assert r.status == 200 and b"<html" in r.read().lower()
    status, _, body = s.raw("GET", "/_ec2d/console/api/scopes", sign=False)
    assert (status, json.loads(body)["code"]) == (400, "MissingParameter")
    status, _, body = s.raw("GET", "/_ec2d/console/api/scopes", access_key=ADMIN[0], secret=ADMIN[1])
    assert (status, json.loads(body)["code"]) == (403, "UnauthorizedOperation")
    status, _, body = s.raw("GET", "/_ec2d/console/api/scopes", access_key=OPERATOR[0], secret=OPERATOR[1])
    assert status == 200, body
    assert "111122223333/us-east-1" in body


def environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)


def test_serve_runs_with_mimallocs_purge_delay_at_0_unless_the_caller_chose_one(binary, tmp_path):
    # `ec2d serve` runs itself again (the same process: the pid the caller started answers) with
    # MIMALLOC_PURGE_DELAY=0 in its environment, which mimalloc reads only when the process loads.
    env = {k: v for k, v in os.environ.items() if k != "MIMALLOC_PURGE_DELAY"}
    s = Server(binary, "--ephemeral").start(env=env)
    try:
        assert environ(s.proc.pid).get(b"MIMALLOC_PURGE_DELAY") == b"0"
        assert s.client().describe_regions()["Regions"]
    finally:
        s.stop()
    chosen = Server(binary, "--data-dir", str(tmp_path / "d")).start(env={**env, "MIMALLOC_PURGE_DELAY": "250"})
    try:
        assert environ(chosen.proc.pid).get(b"MIMALLOC_PURGE_DELAY") == b"250"
    finally:
        chosen.stop()


def test_serve_runs_with_mimallocs_generic_collect_at_1000_unless_the_caller_chose_one(binary, tmp_path):
    # Also set on the run again (crates/ec2d/src/allocator.rs): a thread collects its whole heap every
    # 1,000 allocations that found no room at hand rather than every 10,000.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMALLOC_")}
    s = Server(binary, "--ephemeral").start(env=env)
    try:
        assert environ(s.proc.pid).get(b"MIMALLOC_GENERIC_COLLECT") == b"1000"
    finally:
        s.stop()
    # The caller's value stands, and the other option is still added.
    chosen = Server(binary, "--data-dir", str(tmp_path / "d")).start(env={**env, "MIMALLOC_GENERIC_COLLECT": "5000"})
    try:
        got = environ(chosen.proc.pid)
        assert (got.get(b"MIMALLOC_GENERIC_COLLECT"), got.get(b"MIMALLOC_PURGE_DELAY")) == (b"5000", b"0")
    finally:
        chosen.stop()


def test_the_embedded_engine_keeps_a_few_threads_through_its_first_loads(make_server, tmp_path):
    # A first request loads a dozen (scope, kind)s from the file, each a wait through tokio's
    # block_in_place; with the blocking pool uncapped each made a thread (27 after one RunInstances).
    s = make_server("--data-dir", str(tmp_path / "d"))
    c = s.client()
    c.run_instances(ImageId="ami-08f6cfac8c54bafdd", InstanceType="t3.micro", MinCount=1, MaxCount=1)
    c.describe_instances()
    c.describe_volumes()
    threads = os.listdir(f"/proc/{s.proc.pid}/task")
    # main, two async workers, at most two pool threads, the log writer, the SQLite writer, an encoder.
    assert len(threads) <= 8, threads
