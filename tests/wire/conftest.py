"""Fixtures of the wire conformance suite: one build of `ec2-wirecheck`, one long-lived process.

The harness (crates/ec2-protocol/src/bin/ec2-wirecheck.rs) reads one JSON request a line on stdin
and answers one JSON line on stdout. The session fixture builds it once with cargo, starts it once
and talks to it line by line; if it dies (a panic in the wire layer), the request that killed it
fails with the process's stderr and the next request starts a fresh process, so one crash does not
take every later case down with it.

`EC2D_ROOT` may point the suite at another checkout of the workspace (default: this one).
"""

import json
import os
import select
import subprocess
import tempfile
from pathlib import Path

import pytest

WORKSPACE = Path(os.environ.get("EC2D_ROOT", Path(__file__).resolve().parents[2])).resolve()
BUILD_CMD = ["cargo", "build", "-p", "ec2-protocol", "--features", "wirecheck", "--bin", "ec2-wirecheck"]
TIMEOUT_SECONDS = 60


class WirecheckDied(Exception):
    pass


def build_wirecheck():
    """Builds the harness and returns the path of the executable cargo reports."""
    proc = subprocess.run(
        BUILD_CMD + ["--message-format=json-render-diagnostics"],
        cwd=WORKSPACE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        pytest.exit(f"`{' '.join(BUILD_CMD)}` failed in {WORKSPACE}:\n{proc.stderr[-5000:]}", returncode=2)
    exe = None
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "ec2-wirecheck":
            exe = msg.get("executable") or exe
    if exe is None:
        exe = str(WORKSPACE / "target" / "debug" / "ec2-wirecheck")
    if not os.path.exists(exe):
        pytest.exit(f"cargo built ec2-wirecheck but {exe} does not exist", returncode=2)
    return exe


class Wirecheck:
    """A client of one `ec2-wirecheck` process: `request(dict) -> dict`, one line each way."""

    def __init__(self, exe):
        self.exe = exe
        self.proc = None
        self.buf = b""
        self.stderr_file = None

    def start(self):
        self.stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [self.exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr_file, bufsize=0
        )
        self.buf = b""

    def _stderr_text(self):
        if self.stderr_file is None:
            return ""
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode("utf-8", "replace")[-4000:]

    def _died(self, what):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        code = self.proc.returncode if self.proc is not None else None
        err = self._stderr_text()
        self.proc = None
        raise WirecheckDied(f"ec2-wirecheck {what} (exit status {code}); its stderr:\n{err}")

    def _read_line(self):
        deadline_left = TIMEOUT_SECONDS
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            ready, _, _ = select.select([fd], [], [], deadline_left)
            if not ready:
                self._died(f"gave no answer within {TIMEOUT_SECONDS}s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self._died("exited before answering")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8")

    def request(self, message):
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        line = json.dumps(message, ensure_ascii=False) + "\n"
        try:
            self.proc.stdin.write(line.encode("utf-8"))
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._died("closed its stdin")
        answer = self._read_line()
        try:
            return json.loads(answer)
        except ValueError:
            raise AssertionError(f"ec2-wirecheck answered a line that is not JSON: {answer!r}")

    def decode(self, pairs):
        """`pairs`: [[name, value], ...] -> {"action", "params"} or {"error": {"code", "message"}}."""
        return self.request({"op": "decode", "pairs": [[str(k), str(v)] for k, v in pairs]})

    def encode(self, action, output):
        """`output`: a JSON-able botocore-style output dict -> {"xml": ...} or {"error": ...}."""
        return self.request({"op": "encode", "action": action, "output": output})

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def wirecheck():
    client = Wirecheck(build_wirecheck())
    client.start()
    yield client
    client.close()
