"""A PostgreSQL server for the e2e tests: $EC2D_TEST_POSTGRES_URL when set (CI starts one: .ci/run),
or else a throwaway one started with scripts/throwaway-postgres.sh (which installs PostgreSQL if it is
missing), so that the PostgreSQL tests never skip. Tests may wipe the database (POST /_ec2d/reset)."""

import os
import shutil
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "throwaway-postgres.sh")


class Postgres:
    def __init__(self):
        self.dir = None
        self.url = os.environ.get("EC2D_TEST_POSTGRES_URL") or None
        if self.url:
            return
        # The script wants an empty directory the server's owner can reach (/tmp is).
        self.dir = tempfile.mkdtemp(prefix="ec2d-e2e-pg-", dir="/tmp")
        p = subprocess.run(
            ["bash", SCRIPT, "start", self.dir, "--watch", str(os.getpid())],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if p.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"cannot start a throwaway PostgreSQL (set EC2D_TEST_POSTGRES_URL to use another): {p.stderr}")
        self.url = p.stdout.strip()

    def stop(self):
        if self.dir:
            subprocess.run(["bash", SCRIPT, "stop", self.dir], capture_output=True, timeout=60)
            self.dir = None
