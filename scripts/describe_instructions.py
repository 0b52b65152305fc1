"""Instructions per instance of DescribeInstances of everything, counted by callgrind over every thread
(the connection's task and the helper encoder; robust on a loaded machine): launch N instances, two
untimed calls (the first settles them), zero the counters, REPS calls over one keep-alive
connection, dump, read the total Ir.

Usage: python3 scripts/describe_instructions.py BIN N REPS   (needs valgrind; memory engine, open
mode, as scripts/light_instructions.py)."""
import http.client, os, re, subprocess, sys, time, glob, tempfile
bin_, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
port = 47900 + os.getpid() % 90
out = tempfile.mkdtemp(prefix="dir-")
p = subprocess.Popen(["valgrind", "--tool=callgrind", "--separate-threads=no", f"--callgrind-out-file={out}/cg.%p", bin_, "serve",
                      "--port", str(port), "--ephemeral"], stdout=subprocess.DEVNULL, stderr=open(f"{out}/err", "w"))
def req(body):
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "X-Amz-Date": "20261126T120000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=111122223333/20261126/us-east-1/ec2/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64}
    c.request("POST", "/", body=body, headers=headers)
    r = c.getresponse()
    return r.status, r.read()
deadline = time.time() + 300
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600); c.connect(); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.5)
left, launch = n, 0
zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]  # a default subnet holds about 4,000
while left:
    k = min(left, 1000)
    st, t = req(f"Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount={k}&MaxCount={k}&Placement.AvailabilityZone={zones[launch % 4]}")
    launch += 1
    assert st == 200, t[:300]
    left -= k
body = "Action=DescribeInstances&Version=2016-11-15"
st, first = req(body); assert st == 200
st, t = req(body); assert st == 200
pid = p.pid
subprocess.run(["callgrind_control", "-z", str(pid)], check=True, stdout=subprocess.DEVNULL)
size = 0
for _ in range(reps):
    st, t = req(body); assert st == 200; size = len(t)
time.sleep(0.5)
subprocess.run(["callgrind_control", "-d", str(pid)], check=True, stdout=subprocess.DEVNULL)
time.sleep(1)
p.terminate(); p.wait()
dumps = sorted(glob.glob(f"{out}/cg.{pid}.*"), key=os.path.getmtime)
total = 0
for line in open(dumps[0]):
    if line.startswith("summary:") or line.startswith("totals:"):
        total = int(line.split()[1]); break
print(f"{bin_}: {total / reps / n:.0f} instructions per instance ({total/reps:.0f} per call, {reps} calls of {n}, {size} bytes, {dumps[0]})")
