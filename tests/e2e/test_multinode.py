"""Several ec2d processes on one PostgreSQL database (--store postgres://...): conflicting requests
through both nodes at once leave a history a single server could have produced, no ID is issued twice,
ClientToken idempotency and the virtual clock hold across nodes.

The database is $EC2D_TEST_POSTGRES_URL, or a throwaway server (tests/e2e/pg.py): never skipped."""

import random
import threading
from collections import Counter
from functools import lru_cache

import botocore.exceptions
import pytest

from conftest import AL2023 as AMI
from conftest import advance, in_threads, instance_state
from pg import Postgres


# Where each state settles with the instant clock (the next request already sees the end state).
SETTLED = {
    "pending": "running",
    "running": "running",
    "stopping": "stopped",
    "stopped": "stopped",
    "shutting-down": "terminated",
    "terminated": "terminated",
}

# (action, PreviousState, CurrentState) that one server answers with the instant clock: every
# previous state is settled, and the current one is where the action starts.
LEGAL = {
    ("stop", "running", "stopping"),
    ("stop", "stopped", "stopped"),
    ("start", "stopped", "pending"),
    ("start", "running", "running"),
    ("terminate", "running", "shutting-down"),
    ("terminate", "stopped", "shutting-down"),
    ("terminate", "terminated", "terminated"),
}

# What a refused action answers (any other error fails the test).
REFUSALS = {"IncorrectInstanceState"}


@pytest.fixture(scope="module")
def postgres_url():
    pg = Postgres()
    yield pg.url
    pg.stop()


@pytest.fixture
def nodes(make_server, postgres_url):
    def make(*args):
        a = make_server("--store", postgres_url, *args)
        b = make_server("--store", postgres_url, *args)
        a.control("POST", "reset")
        assert a.control("GET", "health")["store"] == b.control("GET", "health")["store"] == "postgres"
        return a, b

    return make


def chain(steps, start, end):
    """An order of `steps` ((from, to) pairs) that forms one path from `start` to `end`, or None."""
    kinds = sorted(Counter(steps).items())
    edges = [k for k, _ in kinds]

    @lru_cache(maxsize=None)
    def go(state, counts):
        if not any(counts):
            return () if state == end else None
        for i, (a, b) in enumerate(edges):
            if counts[i] and a == state:
                rest = go(b, counts[:i] + (counts[i] - 1,) + counts[i + 1 :])
                if rest is not None:
                    return ((a, b),) + rest
        return None

    return go(start, tuple(n for _, n in kinds))


def test_chain_finds_orders_and_rejects_impossible_histories():
    r, s, t = "running", "stopped", "terminated"
    assert chain([(s, r), (r, s), (r, r)], r, r) == ((r, r), (r, s), (s, r))
    assert chain([(s, r), (r, s), (r, r)], r, s) is None
    assert chain([(r, s), (s, r), (r, s)], r, s) is not None
    assert chain([(r, s), (r, s)], r, s) is None, "two stops from running need a start between them"
    assert chain([(r, t), (s, t), (r, s)], r, t) is None, "terminated twice"
    assert chain([(r, s)], r, r) is None, "ends elsewhere than described"
    assert chain([(t, t), (r, t)], r, t) == ((r, t), (t, t))


def test_conflicting_stop_start_terminate_through_two_nodes_is_serializable(nodes):
    a, b = nodes()
    ids = [i["InstanceId"] for i in a.client().run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=6, MaxCount=6)["Instances"]]
    threads_per_node, requests_per_thread = 4, 30
    clients = [(n, s.client()) for s in (a, b) for n in range(threads_per_node)]
    acked = []  # (instance, action, previous, current), after each 200 answer
    refused = Counter()
    unexpected = []
    lock = threading.Lock()

    def worker(seed, c):
        rng = random.Random(seed)
        for _ in range(requests_per_thread):
            iid = rng.choice(ids)
            action = rng.choices(["stop", "start", "terminate"], weights=[45, 45, 4])[0]
            try:
                if action == "stop":
                    items = c.stop_instances(InstanceIds=[iid])["StoppingInstances"]
                elif action == "start":
                    items = c.start_instances(InstanceIds=[iid])["StartingInstances"]
                else:
                    items = c.terminate_instances(InstanceIds=[iid])["TerminatingInstances"]
            except botocore.exceptions.ClientError as e:
                code = e.response["Error"]["Code"]
                with lock:
                    (refused.update([code]) if code in REFUSALS else unexpected.append((action, iid, code)))
                continue
            with lock:
                for it in items:
                    acked.append((it["InstanceId"], action, it["PreviousState"]["Name"], it["CurrentState"]["Name"]))

    in_threads(worker, [(n * 1000 + i, c) for i, (n, c) in enumerate(clients)])
    assert not unexpected, unexpected[:5]
    assert len(acked) + sum(refused.values()) == len(clients) * requests_per_thread
    assert len(acked) >= 100, f"only {len(acked)} acknowledged transitions: {refused}"

    final = {}
    for page in b.client().get_paginator("describe_instances").paginate(InstanceIds=ids):
        for r in page["Reservations"]:
            for i in r["Instances"]:
                final[i["InstanceId"]] = i["State"]["Name"]
    assert set(final) == set(ids)
    for iid in ids:
        mine = [(action, prev, cur) for i, action, prev, cur in acked if i == iid]
        illegal = [t for t in mine if t not in LEGAL]
        assert not illegal, f"{iid}: transitions no single server answers: {illegal}"
        steps = [(prev, SETTLED[cur]) for _, prev, cur in mine]
        assert final[iid] in SETTLED.values()
        order = chain(steps, "running", final[iid])
        assert order is not None, (
            f"{iid}: no serial order of {Counter(steps)} leads from running to {final[iid]}: an update was lost "
            "or a transition applied twice"
        )


def test_no_id_is_issued_twice_across_nodes(nodes):
    a, b = nodes()
    clients = [s.client() for s in (a, b) for _ in range(4)]
    reservations = []
    lock = threading.Lock()

    def worker(c):
        for _ in range(5):
            r = c.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=3, MaxCount=3)
            with lock:
                reservations.append(r)

    in_threads(worker, [(c,) for c in clients])
    assert len(reservations) == 40
    instance_ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    assert len(set(instance_ids)) == len(instance_ids) == 120
    assert len({r["ReservationId"] for r in reservations}) == 40
    private_ips = [i["PrivateIpAddress"] for r in reservations for i in r["Instances"]]
    assert len(set(private_ips)) == 120, "two nodes handed out one private address twice"
    seen = {i["InstanceId"] for p in a.client().get_paginator("describe_instances").paginate() for r in p["Reservations"] for i in r["Instances"]}
    assert seen == set(instance_ids)


def test_client_token_idempotency_holds_across_nodes(nodes):
    a, b = nodes()
    clients = [s.client() for s in (a, b) for _ in range(4)]
    answers = []
    lock = threading.Lock()

    def worker(c):
        r = c.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=2, MaxCount=2, ClientToken="same-token-1")
        with lock:
            answers.append((r["ReservationId"], sorted(i["InstanceId"] for i in r["Instances"])))

    in_threads(worker, [(c,) for c in clients])
    assert len(answers) == 8
    assert len(set((rid, tuple(ids)) for rid, ids in answers)) == 1, answers
    reservation, ids = answers[0]
    later = b.client().run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=2, MaxCount=2, ClientToken="same-token-1")
    assert later["ReservationId"] == reservation
    everything = [i["InstanceId"] for p in a.client().get_paginator("describe_instances").paginate() for r in p["Reservations"] for i in r["Instances"]]
    assert sorted(everything) == ids, "one launch, whichever node answered"


def test_the_virtual_clock_and_due_transitions_are_shared(nodes):
    a, b = nodes("--clock", "virtual", "--clock-start", "2030-01-01T00:00:00Z", "--transition-seconds", "launch=60")
    iid = a.client().run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    assert instance_state(b.client(), iid) == "pending"
    assert advance(b, 60)["now"] == "2030-01-01T00:01:00.000Z"
    assert a.control("GET", "clock")["now"] == "2030-01-01T00:01:00.000Z"
    assert instance_state(a.client(), iid) == "running"
