"""Durable state: the embedded engine (the default, --data-dir) keeps every acknowledged change across
a SIGKILL, and the store flags choose the engine."""

import subprocess
import threading
import time

from conftest import AL2023 as AMI
from conftest import advance

# The state an instance settles in after each action (instant clock).
SETTLES_AT = {"run": "running", "start": "running", "stop": "stopped"}


def test_sigkill_in_a_stream_of_acknowledged_changes_loses_none(make_server, tmp_path):
    data = str(tmp_path / "data")
    server = make_server("--data-dir", data)
    assert server.control("GET", "health")["store"] == "sqlite"

    acked = []  # (worker, instance, action), appended only after the 200 answer
    in_flight = {}  # worker -> (instance or None, action) of the request it was sending when the server died
    lock = threading.Lock()
    clients = [server.client() for _ in range(4)]  # made here: creating boto3 clients is not thread-safe

    def worker(w):
        c = clients[w]
        try:
            while True:
                in_flight[w] = (None, "run")
                r = c.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1)
                iid = r["Instances"][0]["InstanceId"]
                with lock:
                    acked.append((w, iid, "run"))
                for action in ["stop", "start", "stop", "start", "stop"]:
                    in_flight[w] = (iid, action)
                    if action == "stop":
                        c.stop_instances(InstanceIds=[iid])
                    else:
                        c.start_instances(InstanceIds=[iid])
                    with lock:
                        acked.append((w, iid, action))
        except Exception:  # the server died under this request: its outcome is unknown
            pass

    workers = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in workers:
        t.start()
    deadline = time.time() + 60
    while len(acked) < 150 and time.time() < deadline:
        time.sleep(0.01)
    server.proc.kill()  # SIGKILL, with requests in flight
    server.proc.wait(10)
    for t in workers:
        t.join(30)
    with lock:
        acked = list(acked)
    assert len(acked) >= 150, f"only {len(acked)} changes acknowledged before the deadline"
    assert in_flight, "every worker had finished before the kill: nothing was in flight"

    restarted = make_server("--data-dir", data)
    c = restarted.client()
    found = {
        i["InstanceId"]: i["State"]["Name"]
        for page in c.get_paginator("describe_instances").paginate()
        for r in page["Reservations"]
        for i in r["Instances"]
    }
    launched = {iid for _, iid, action in acked if action == "run"}
    assert launched <= set(found), f"acknowledged launches lost: {sorted(launched - set(found))}"
    # At most one more launch per worker may have committed without its answer arriving.
    assert len(found) <= len(launched) + sum(1 for iid, a in in_flight.values() if a == "run")

    last = {}
    for _, iid, action in acked:
        last[iid] = action
    for iid, action in last.items():
        allowed = {SETTLES_AT[action]}
        for target, pending in in_flight.values():
            if target == iid:  # this change may or may not have committed before the kill
                allowed.add(SETTLES_AT[pending])
        assert found[iid] in allowed, f"{iid}: last acknowledged {action}, found {found[iid]}"


def test_the_virtual_clock_survives_a_sigkill(make_server, tmp_path):
    data = str(tmp_path / "data")
    s = make_server("--data-dir", data, "--clock", "virtual", "--clock-start", "2030-01-01T00:00:00Z")
    iid = s.client().run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"
    ]
    assert advance(s, 3600)["now"] == "2030-01-01T01:00:00.000Z"
    s.proc.kill()
    s.proc.wait(10)
    again = make_server("--data-dir", data, "--clock", "virtual", "--clock-start", "2030-01-01T00:00:00Z")
    assert again.control("GET", "clock")["now"] == "2030-01-01T01:00:00.000Z"
    r = again.client().describe_instances(InstanceIds=[iid])
    assert r["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"


def test_a_data_dir_in_use_by_another_process_is_refused(make_server, binary, tmp_path):
    data = str(tmp_path / "data")
    make_server("--data-dir", data)
    p = subprocess.run([binary, "serve", "--port", "0", "--data-dir", data], capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "in use by another ec2d process" in p.stderr


def test_the_store_flags_choose_the_engine(make_server, binary, tmp_path):
    assert make_server("--ephemeral").control("GET", "health")["store"] == "memory"
    assert make_server("--data-dir", str(tmp_path / "d")).control("GET", "health")["store"] == "sqlite"
    for args, says in [
        (["--ephemeral", "--data-dir", str(tmp_path)], "cannot be used with"),
        (["--store", "postgres://x@127.0.0.1:1/db", "--ephemeral"], "cannot be used with"),
        (["--store", "postgres://x@127.0.0.1:1/db", "--data-dir", str(tmp_path)], "cannot be used with"),
        (["--store", "mysql://x"], "postgres://"),
        (["--store", "postgres://x@127.0.0.1:1/db"], "cannot connect"),
    ]:
        p = subprocess.run([binary, "serve", "--port", "0", *args], capture_output=True, text=True, timeout=30)
        assert p.returncode != 0, args
        assert says in p.stderr, (args, p.stderr)


def test_the_default_is_the_embedded_engine_in_the_xdg_data_directory(binary, tmp_path):
    import os

    from conftest import Server

    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    env.pop("EC2D_EPHEMERAL", None)
    env.pop("EC2D_DATA_DIR", None)
    env.pop("EC2D_STORE", None)
    s = Server(binary)
    p = subprocess.Popen([binary, "serve", "--port", str(s.port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert s.wait_healthy(p)["store"] == "sqlite"
        assert (tmp_path / "ec2d" / "ec2d.sqlite3").exists()
    finally:
        p.terminate()
        p.wait(10)
