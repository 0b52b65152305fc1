#!/usr/bin/env python3
"""A soak of mixed load against a real ec2d binary, over loopback only: N client connections for a
bounded time send RunInstances, DescribeInstances (all, by ID, with a filter), CreateTags,
Stop/Start/TerminateInstances, DescribeRegions and refused requests (bad IDs, unsigned, unknown
actions). Each client keeps at most a few instances alive and terminates the rest, and terminated
instances stay visible for a short time (--transition-seconds terminated-visible), so the state
the server holds is bounded: what grows beyond it is the server's own.

Reports the server's RSS after the first minute and at the end (VmRSS of /proc/PID/status), its
thread count, and the requests served; exits 1 when the end RSS is more than twice the first-minute
RSS, or when a request got a 5xx.

    python3 scripts/soak.py [--seconds 300] [--connections 64] [--binary target/release/ec2d]
                            [--engine embedded|memory]
"""

import argparse
import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
IMAGE = "ami-08f6cfac8c54bafdd"
# Open mode checks that a signature is well formed, not its value: one fixed header serves all.
AUTH = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=111122223333/20260101/us-east-1/ec2/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "X-Amz-Date": "20260101T000000Z",
    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        text = f.read()
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))
    threads = int(re.search(r"Threads:\s+(\d+)", text).group(1))
    return rss, threads


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_status = {}
        self.errors = 0

    def add(self, status):
        with self.lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1


def client(port, stop_at, stats, seed):
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine = []

    def call(body, headers=AUTH):
        nonlocal conn
        try:
            conn.request("POST", "/", body=body, headers=headers)
            r = conn.getresponse()
            text = r.read().decode()
            stats.add(r.status)
            return r.status, text
        except (OSError, http.client.HTTPException):
            with stats.lock:
                stats.errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            return 0, ""

    while time.time() < stop_at:
        roll = rng.random()
        if roll < 0.15 or not mine:
            status, text = call(f"Action=RunInstances&ImageId={IMAGE}&InstanceType=t3.micro&MinCount=1&MaxCount=2"
                                "&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=soak"
                                f"&TagSpecification.1.Tag.1.Value={seed}")
            mine += re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text)
            while len(mine) > 6:
                call(f"Action=TerminateInstances&InstanceId.1={mine.pop(0)}")
        elif roll < 0.40:
            call("Action=DescribeInstances")
        elif roll < 0.55:
            call(f"Action=DescribeInstances&InstanceId.1={rng.choice(mine)}")
        elif roll < 0.62:
            call("Action=DescribeInstances&Filter.1.Name=instance-state-name&Filter.1.Value.1=running"
                 f"&Filter.2.Name=tag:soak&Filter.2.Value.1={seed}")
        elif roll < 0.70:
            call(f"Action=CreateTags&ResourceId.1={rng.choice(mine)}&Tag.1.Key=k{rng.randrange(5)}&Tag.1.Value=v")
        elif roll < 0.76:
            call(f"Action=StopInstances&InstanceId.1={rng.choice(mine)}")
        elif roll < 0.82:
            call(f"Action=StartInstances&InstanceId.1={rng.choice(mine)}")
        elif roll < 0.90:
            call("Action=DescribeRegions")
        elif roll < 0.94:
            call("Action=DescribeInstances&InstanceId.1=i-bad")
        elif roll < 0.97:
            call("Action=NoSuchAction")
        else:
            call("Action=DescribeRegions", headers={"Content-Type": AUTH["Content-Type"]})
    for iid in mine:
        call(f"Action=TerminateInstances&InstanceId.1={iid}")
    conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--binary", default=None)
    ap.add_argument("--engine", choices=["embedded", "memory"], default="embedded")
    args = ap.parse_args()
    binary = args.binary
    if binary is None:
        release = os.path.join(ROOT, "target", "release", "ec2d")
        binary = release if os.path.exists(release) else os.path.join(ROOT, "target", "debug", "ec2d")
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="ec2d-soak-")
    store = ["--ephemeral"] if args.engine == "memory" else ["--data-dir", data_dir]
    cmd = [binary, "serve", "--port", str(port), *store, "--log-level", "warn",
           "--transition-seconds", "terminated-visible=10"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    sys.exit("ec2d did not start")
                time.sleep(0.05)
        start_rss, _ = rss_kib(proc.pid)
        stats = Stats()
        stop_at = time.time() + args.seconds
        threads = [threading.Thread(target=client, args=(port, stop_at, stats, i), daemon=True)
                   for i in range(args.connections)]
        for t in threads:
            t.start()
        samples = []
        t0 = time.time()
        first_minute = None
        while any(t.is_alive() for t in threads):
            time.sleep(5)
            rss, nthreads = rss_kib(proc.pid)
            elapsed = time.time() - t0
            samples.append((elapsed, rss, nthreads))
            if first_minute is None and elapsed >= 60:
                first_minute = rss
            print(f"{elapsed:6.0f}s rss={rss / 1024:7.1f} MiB threads={nthreads}", flush=True)
        for t in threads:
            t.join(60)
        end_rss, end_threads = rss_kib(proc.pid)
        first_minute = first_minute or samples[0][1]
        total = sum(stats.by_status.values())
        print(f"engine={args.engine} connections={args.connections} seconds={args.seconds} binary={binary}")
        print(f"requests={total} ({total / args.seconds:.0f}/s) by status={dict(sorted(stats.by_status.items()))} "
              f"connection errors={stats.errors}")
        print(f"rss: start={start_rss / 1024:.1f} MiB, after 1 min={first_minute / 1024:.1f} MiB, "
              f"end={end_rss / 1024:.1f} MiB (x{end_rss / first_minute:.2f}), peak={max(s[1] for s in samples) / 1024:.1f} MiB, "
              f"threads at end={end_threads}")
        failed = end_rss > 2 * first_minute or any(s >= 500 for s in stats.by_status)
        print("FAIL" if failed else "OK")
        return 1 if failed else 0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
