"""End-to-end harness: builds the real ec2d binary, starts it on a free port, and drives it with boto3
and the AWS CLI. Set EC2D_BIN to test a binary that is already built."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import pytest

# The credentials every client of the suite uses unless a test says otherwise.
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "test"

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


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

    def start(self):
        cmd = [self.binary, "serve", "--port", str(self.port), *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ec2d exited early: {self.proc.stderr.read()}")
            try:
                self.control("GET", "health")
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("ec2d did not become healthy")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def control(self, method, path, expect=200):
        req = urllib.request.Request(f"{self.url}/_ec2d/{path}", method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        assert status == expect, (status, body)
        return json.loads(body)

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
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()

    def client(self, region="us-east-1", access_key=ACCESS_KEY, secret=SECRET_KEY, retries=0):
        return boto3.client(
            "ec2",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            config=botocore.config.Config(retries={"max_attempts": retries + 1, "mode": "standard"}),
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


def error_of(excinfo):
    """(code, message, HTTP status) of a botocore ClientError."""
    r = excinfo.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]
