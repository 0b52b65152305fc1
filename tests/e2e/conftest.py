"""End-to-end harness: builds the real ec2d binary, starts it on a free port, and drives it with boto3
and the AWS CLI. Set EC2D_BIN to test a binary that is already built."""

import json
import os
import shutil
import socket
import datetime
import re
import subprocess
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions
import pytest

# The credentials every client of the suite uses unless a test says otherwise.
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "test"

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Images of the built-in catalog that many tests launch.
AL2023 = "ami-08f6cfac8c54bafdd"  # Amazon Linux 2023 x86_64, EBS root
AL2023_ARM = "ami-0157e459893bc2794"

# Instance state codes, and the {"Code", "Name"} shape boto3 shows for a state.
CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

# A waiter configuration for servers whose transitions end in at most a few seconds.
FAST = {"Delay": 0.2, "MaxAttempts": 50}

# How long (wall-clock seconds) the harness waits for something that should happen "soon": generous,
# so that a loaded machine only makes a passing test slower, never a failing one.
PATIENCE = 60


def _binary():
    path = os.environ.get("EC2D_BIN")
    if path:
        return path
    subprocess.run(["cargo", "build", "-q", "-p", "ec2d"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "debug", "ec2d")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running ec2d process."""

    def __init__(self, binary, *args):
        self.binary = binary
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self._stderr = None

    def start(self, env=None):
        """Starts `ec2d serve` on this server's port (with `env` as the whole environment when given)
        and waits until it answers its health check."""
        # The port was free when chosen; with the suite in two workers (scripts/test.sh) another
        # process can take it before ec2d binds it. A first start then picks another port; a restart
        # (the same server again) keeps its port, as the tests that restart expect.
        first = self.proc is None
        for attempt in range(3):
            cmd = [self.binary, "serve", "--port", str(self.port), *self.args]
            # stderr goes to a file, so that a test can read the log while the server runs (`stderr`).
            self._stderr = tempfile.TemporaryFile(mode="w+", prefix="ec2d-stderr-")
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._stderr, text=True, env=env)
            try:
                self.wait_healthy()
                return self
            except RuntimeError:
                if not (first and attempt < 2 and "Address already in use" in self.stderr()):
                    raise
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
        return self

    def wait_healthy(self, proc=None, timeout=PATIENCE):
        """Polls the health endpoint until it answers; fails early if `proc` (default: this server's
        process) exits. Returns the health document."""
        proc = proc or self.proc

        def healthy():
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"ec2d exited early: {self.stderr() if proc is self.proc else ''}")
            try:
                return self.control("GET", "health")
            except OSError:
                return None

        return poll(healthy, timeout, what="ec2d to become healthy")

    def stderr(self):
        """What the server has written to stderr so far."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stderr_after_stop(self):
        """Stops the server and returns all it wrote to stderr."""
        self.stop()
        return self.stderr()

    def control(self, method, path, expect=200):
        req = urllib.request.Request(f"{self.url}/_ec2d/{path}", method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=PATIENCE) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        assert status == expect, (status, body)
        return json.loads(body)

    def advance(self, seconds):
        """Moves a virtual clock forward by `seconds`; returns the clock document ({"now": ...})."""
        return self.control("POST", f"clock/advance?seconds={seconds}")

    def now(self):
        """The server's clock as an aware datetime (GET /_ec2d/clock)."""
        return parse_time(self.control("GET", "clock")["now"])

    def reset(self):
        """Empties the server (POST /_ec2d/reset; a virtual clock goes back to --clock-start)."""
        self.control("POST", "reset")
        return self

    def raw(self, method="POST", path="/", query="", body=b"", headers=None, sign=True, access_key=ACCESS_KEY,
            secret=SECRET_KEY, region="us-east-1"):
        """A raw HTTP request: (status, headers, body text). Signed with botocore's SigV4Auth and the
        suite's default credentials (or `access_key`, `secret`, `region`); with `sign=False` it goes
        exactly as given, for tests that send unsigned or hand-signed requests."""
        url = f"{self.url}{path}" + (f"?{query}" if query else "")
        hdrs = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})}
        data = body if method == "POST" else None
        if sign:
            signed = botocore.awsrequest.AWSRequest(method=method, url=url, data=data, headers=hdrs)
            creds = botocore.credentials.Credentials(access_key, secret)
            botocore.auth.SigV4Auth(creds, "ec2", region).add_auth(signed)
            hdrs = dict(signed.headers.items())
        req = urllib.request.Request(url, method=method, data=data, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=PATIENCE) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()

    def client(self, region="us-east-1", access_key=ACCESS_KEY, secret=SECRET_KEY, retries=0, validate=True):
        """A boto3 EC2 client of this server; `validate=False` turns botocore's parameter validation off,
        so that the server's own answer to a malformed request can be seen."""
        return boto3.client(
            "ec2",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            config=botocore.config.Config(
                retries={"max_attempts": retries + 1, "mode": "standard"}, parameter_validation=validate
            ),
        )

    def cli(self, *args, region="us-east-1", check=True, access_key=ACCESS_KEY, secret=SECRET_KEY):
        """Runs `aws ec2 ...` against this server; returns (returncode, parsed JSON or text, stderr)."""
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=access_key,
            AWS_SECRET_ACCESS_KEY=secret,
            AWS_DEFAULT_REGION=region,
            AWS_MAX_ATTEMPTS="1",
            AWS_PAGER="",
        )
        aws = shutil.which("aws") or "aws"
        cmd = [aws, "ec2", *args, "--endpoint-url", self.url, "--output", "json"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        if check:
            assert p.returncode == 0, p.stderr
        out = p.stdout
        try:
            out = json.loads(out) if out.strip() else {}
        except json.JSONDecodeError:
            pass
        return p.returncode, out, p.stderr


@pytest.fixture(scope="session")
def binary():
    return _binary()


@pytest.fixture(scope="session")
def server(binary):
    s = Server(binary, "--ephemeral").start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def virtual_server(binary):
    s = Server(binary, "--ephemeral", "--clock", "virtual").start()
    yield s
    s.stop()


@pytest.fixture
def make_server(binary):
    """Starts extra servers with chosen flags; all are stopped after the test."""
    started = []

    def make(*args):
        s = Server(binary, *args).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def ec2(server):
    server.control("POST", "reset")
    return server.client()


@pytest.fixture
def vserver(virtual_server):
    """The shared virtual-clock server, emptied (the reset also rewinds its clock to --clock-start)."""
    return virtual_server.reset()


@pytest.fixture
def vs(vserver):
    """Short name of `vserver`, for the files that drive the virtual clock in most tests."""
    return vserver


def error_of(excinfo):
    """(code, message, HTTP status) of a botocore ClientError."""
    r = excinfo.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def fails(call, **kw):
    """Calls a boto3 operation that must fail; returns (code, message, HTTP status)."""
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return error_of(e)


def error_in(text):
    """(code, message) of an EC2 error document (Response/Errors/Error)."""
    root = ET.fromstring(text)
    return root.find("Errors/Error/Code").text, root.find("Errors/Error/Message").text


def raw_error(server, body):
    """(code, message, HTTP status) of a signed raw POST whose form body is `body`."""
    status, _, text = server.raw(body=body.encode())
    return (*error_in(text), status)


def stderr_after_stop(server):
    """Stops `server` and returns all it wrote to stderr."""
    return server.stderr_after_stop()


def code_of(body):
    """The <Code> of an error body, or None (a regex, so it also works on bodies that are not XML)."""
    m = re.search(r"<Code>([^<]*)</Code>", body)
    return m.group(1) if m else None


def message_of(body):
    """The <Message> of an error body, or None."""
    m = re.search(r"<Message>([^<]*)</Message>", body)
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------
# Time: polling with a deadline, and the virtual clock


def poll(fn, timeout=PATIENCE, interval=0.05, what=None, ignore=()):
    """Calls `fn` until it returns something truthy and returns that. Exceptions of the types in
    `ignore` count as "not yet". Fails the test when `timeout` wall-clock seconds pass first: the
    timeout is a safety net, never the thing a test measures."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
            if value:
                return value
            last = value
        except ignore as e:  # noqa: PERF203 - polling
            last = e
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or getattr(fn, '__name__', 'a condition')}"
                        f" (last: {last!r})")
        time.sleep(interval)


def parse_time(text):
    """An ISO 8601 UTC time as the control endpoints write it ("2026-01-01T00:00:00.000Z")."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def advance(server, seconds):
    """Moves `server`'s virtual clock forward; returns the clock document."""
    return server.advance(seconds)


class Ticker:
    """Advances a virtual clock from a background thread (by `step` seconds every `every` wall-clock
    seconds) while the test polls or a waiter waits."""

    def __init__(self, server, step=5, every=0.05):
        self.server, self.step, self.every = server, step, every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.done.wait(self.every):
            advance(self.server, self.step)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(PATIENCE)


# ---------------------------------------------------------------------------------------------
# Instances


def st(name):
    """A state as boto3 shows it: {"Code": 16, "Name": "running"}."""
    return {"Code": CODES[name], "Name": name}


def launch(c, count=1, **kw):
    """RunInstances of `count` instances (AL2023, t3.micro unless given); returns the reservation."""
    kw.setdefault("ImageId", AL2023)
    kw.setdefault("InstanceType", "t3.micro")
    return c.run_instances(MinCount=count, MaxCount=count, **kw)


def launch_ids(c, count=1, **kw):
    """As `launch`, returning the instance IDs."""
    return [i["InstanceId"] for i in launch(c, count, **kw)["Instances"]]


def instance_of(c, iid):
    """The DescribeInstances record of one instance."""
    return c.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def instance_state(c, iid):
    """The state name of one instance."""
    return instance_of(c, iid)["State"]["Name"]


def wait_for_state(c, iid, state, timeout=PATIENCE, server=None, step=None):
    """Waits until instance `iid` is in `state` and returns its record. On a realistic or instant
    clock it polls; with `server` and `step`, it advances that server's virtual clock by `step`
    seconds between reads instead."""

    def there():
        if server is not None and step:
            advance(server, step)
        inst = instance_of(c, iid)
        return inst if inst["State"]["Name"] == state else None

    if server is not None and step and instance_state(c, iid) == state:
        return instance_of(c, iid)
    return poll(there, timeout, what=f"{iid} to be {state}")


def in_threads(fn, args_list, timeout=PATIENCE * 2):
    """Runs fn(*args) for every args in `args_list`, each in its own thread, all released together by
    a barrier; returns their results in order. An exception in a thread fails the test."""
    results = [None] * len(args_list)
    errors = []
    start = threading.Barrier(len(args_list))

    def run(i, args):
        try:
            start.wait()
            results[i] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, a), daemon=True) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), f"threads still running after {timeout} s"
    if errors:
        raise errors[0]
    return results
