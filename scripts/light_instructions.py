"""Instructions per light request (DescribeInstances of one instance by ID) of an ec2d binary, counted by
callgrind (robust on a loaded machine): launch one instance, zero the counters, send N requests over one
keep-alive connection, dump, read the total Ir (every thread, user space only).

Usage: python3 scripts/light_instructions.py BIN N   (needs valgrind; open mode, so the signature is
parsed, not checked, as in ec2d-bench). It also prints the count without the tokio workers' parking,
which varies from run to run with how the two workers shared the requests. MIXED=1 first builds a large
state (10,000 instances, 1,000 Spot requests, 200 capacity reservations) so that the count can be
compared with the almost empty one; CACHE=1 adds callgrind's cache simulation (the dump's D1/LL miss
columns; CACHE=LL,SIZE,ASSOC,LINE also sets the simulated last level, e.g. CACHE=LL,1048576,16,64 for a core's
L2 on this machine, as callgrind otherwise takes the shared L3 for it).

STATE=empty or STATE=mixed instead builds one of the two states of ec2d-bench's mixed scenario the way the bench
does (scripts/mixed_state.py) and sends the bench's light request round-robin over the 64 instances its light
phase names in that state, so that the two states differ in the records the requests do not name (and in the named instances' own\ncontents: their launch times and addresses).
ENGINE=embedded runs the server on a fresh data directory instead of --ephemeral."""
import os, re, sys, tempfile

import mixed_state
from callgrind_server import Server, parking

bin_, n = sys.argv[1], int(sys.argv[2])
port = 47300 + os.getpid() % 500
store = ["--data-dir", tempfile.mkdtemp(prefix="li-")] if os.environ.get("ENGINE") == "embedded" else ["--ephemeral"]
cache = os.environ.get("CACHE", "")
sim = (["--cache-sim=yes"] + ([f"--LL={cache[3:]}"] if cache.startswith("LL,") else [])) if cache else []
s = Server(bin_, port, sim, ["serve", "--port", str(port), *store])
state = os.environ.get("STATE")


def req(body):
    st, text = s.req(body)
    return st, text.decode()


if state:
    named = mixed_state.build(s, port, state)
else:
    st, text = req("Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount=1&MaxCount=1")
    assert st == 200, text
    named = [re.search(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text).group(1)]
if not state and os.environ.get("MIXED") == "1":
    zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    for k in range(10):
        st, t = req(f"Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount=1000&MaxCount=1000&Placement.AvailabilityZone={zones[k % 4]}")
        assert st == 200, t[:500]
    for k in range(20):
        price = ["0.05", "0.001"][k % 2]
        st, t = req(f"Action=RequestSpotInstances&Version=2016-11-15&SpotPrice={price}&InstanceCount=50&LaunchSpecification.ImageId=ami-08f6cfac8c54bafdd&LaunchSpecification.InstanceType=t3.small&LaunchSpecification.Placement.AvailabilityZone=us-east-1c")
        assert st == 200, t[:500]
    for k in range(200):
        st, t = req(f"Action=CreateCapacityReservation&Version=2016-11-15&InstanceType=t3.medium&InstancePlatform=Linux%2FUNIX&AvailabilityZone={zones[k % 4]}&InstanceCount=1")
        assert st == 200, t[:500]
    st, t = req("Action=DescribeInstances&Version=2016-11-15")
    assert st == 200
bodies = [f"Action=DescribeInstances&Version=2016-11-15&InstanceId.1={i}" for i in named]
for k in range(max(50, 2 * len(bodies))):
    assert req(bodies[k % len(bodies)])[0] == 200


def run():
    for k in range(n):
        st, text = req(bodies[k % len(bodies)])
        assert st == 200, text


total, dump = s.count(run)
print(f"{bin_}: {total / n:.0f} instructions per request, {(total - parking(dump)) / n:.0f} without the workers' "
      f"parking ({n} requests, {dump})")
if cache:
    lines = open(dump).read().splitlines()
    names = next(line.split()[1:] for line in lines if line.startswith("events:"))
    values = next(line.split()[1:] for line in lines if line.startswith(("summary:", "totals:")))
    counts = dict(zip(names, (int(v) for v in values)))
    print("  per request: " + ", ".join(f"{k} {counts.get(k, 0) / n:.1f}" for k in names if k != "Ir"))
