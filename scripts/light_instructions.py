"""Instructions per light request (DescribeInstances of one instance by ID) of an ec2d binary, counted by
callgrind (robust on a loaded machine): launch one instance, zero the counters, send N requests over one
keep-alive connection, dump, read the total Ir (every thread, user space only).

Usage: python3 scripts/light_instructions.py BIN N   (needs valgrind; open mode, so the signature is
parsed, not checked, as in ec2d-bench). It also prints the count without the tokio workers' parking,
which varies from run to run with how the two workers shared the requests. MIXED=1 first builds a large
state (10,000 instances, 1,000 Spot requests, 200 capacity reservations) so that the count can be
compared with the almost empty one; CACHE=1 adds callgrind's cache simulation (the dump's D1/LL miss
columns)."""
import os, re, sys

from callgrind_server import Server, parking

bin_, n = sys.argv[1], int(sys.argv[2])
s = Server(bin_, 47300 + os.getpid() % 500, ["--cache-sim=yes"] if os.environ.get("CACHE") else [])


def req(body):
    st, text = s.req(body)
    return st, text.decode()


st, text = req("Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount=1&MaxCount=1")
assert st == 200, text
iid = re.search(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text).group(1)
if os.environ.get("MIXED") == "1":
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
body = f"Action=DescribeInstances&Version=2016-11-15&InstanceId.1={iid}"
for _ in range(50):
    assert req(body)[0] == 200


def run():
    for _ in range(n):
        st, text = req(body)
        assert st == 200, text


total, dump = s.count(run)
print(f"{bin_}: {total / n:.0f} instructions per request, {(total - parking(dump)) / n:.0f} without the workers' "
      f"parking ({n} requests, {dump})")
