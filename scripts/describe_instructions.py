"""Instructions per instance of DescribeInstances of everything, counted by callgrind over every thread
(the connection's task and the helper encoder; robust on a loaded machine): launch N instances, two
untimed calls (the first settles them), zero the counters, REPS calls over one keep-alive
connection, dump, read the total Ir.

Usage: python3 scripts/describe_instructions.py BIN N REPS   (needs valgrind; memory engine, open
mode, as scripts/light_instructions.py)."""
import os, sys

from callgrind_server import Server

bin_, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = Server(bin_, 47900 + os.getpid() % 90, ["--separate-threads=no"])
left, launch = n, 0
zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]  # a default subnet holds about 4,000
while left:
    k = min(left, 1000)
    st, t = s.req(f"Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount={k}&MaxCount={k}&Placement.AvailabilityZone={zones[launch % 4]}")
    launch += 1
    assert st == 200, t[:300]
    left -= k
body = "Action=DescribeInstances&Version=2016-11-15"
for _ in range(2):
    assert s.req(body)[0] == 200
size = 0


def run():
    global size
    for _ in range(reps):
        st, t = s.req(body)
        assert st == 200
        size = len(t)


total, dump = s.count(run)
print(f"{bin_}: {total / reps / n:.0f} instructions per instance ({total / reps:.0f} per call, {reps} calls of {n}, {size} bytes, {dump})")
