"""Instructions per light request (DescribeInstances of one instance by ID) of an ec2d binary, counted by
callgrind (robust on a loaded machine): launch one instance, zero the counters, send N requests over one
keep-alive connection, dump, read the total Ir (every thread, user space only).

Usage: python3 scripts/light_instructions.py BIN N   (needs valgrind; open mode, so the signature is
parsed, not checked, as in ec2d-bench). MIXED=1 first builds a large state (10,000 instances, 1,000
Spot requests, 200 capacity reservations) so that the count can be compared with the almost empty
one; CACHE=1 adds callgrind's cache simulation (the dump's D1/LL miss columns)."""
import http.client, os, re, subprocess, sys, time, glob, tempfile

bin_, n = sys.argv[1], int(sys.argv[2])
port = 47300 + os.getpid() % 500
out = tempfile.mkdtemp(prefix="ir-")
p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p", *(["--cache-sim=yes"] if os.environ.get("CACHE") else []), bin_, "serve",
                      "--port", str(port), "--ephemeral"], stdout=subprocess.DEVNULL, stderr=open(f"{out}/err", "w"))
def req(body):
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Amz-Date": "20261126T120000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=111122223333/20261126/us-east-1/ec2/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64,
    }
    c.request("POST", "/", body=body, headers=headers)
    r = c.getresponse()
    return r.status, r.read().decode()
deadline = time.time() + 300
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600); c.connect(); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.5)
st, text = req("Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount=1&MaxCount=1")
assert st == 200, text
iid = re.search(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text).group(1)
MIXED = os.environ.get("MIXED") == "1"
if MIXED:
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
pid = p.pid
subprocess.run(["callgrind_control", "-z", str(pid)], check=True, stdout=subprocess.DEVNULL)
for _ in range(n):
    st, text = req(body)
    assert st == 200, text
time.sleep(0.5)
subprocess.run(["callgrind_control", "-d", str(pid)], check=True, stdout=subprocess.DEVNULL)
time.sleep(1)
p.terminate(); p.wait()
dumps = sorted(glob.glob(f"{out}/cg.{pid}.*"), key=os.path.getmtime)
total = 0
for line in open(dumps[0]):
    if line.startswith("summary:") or line.startswith("totals:"):
        total = int(line.split()[1]); break
print(f"{bin_}: {total / n:.0f} instructions per request ({n} requests, {dumps[0]})")
