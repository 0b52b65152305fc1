"""Instructions per light request (DescribeInstances of one instance by ID) of an ec2d binary, counted by
callgrind (robust on a loaded machine): launch one instance, zero the counters, send N requests over one
keep-alive connection, dump, read the total Ir (every thread, user space only).

Usage: python3 scripts/light_instructions.py BIN N   (needs valgrind; open mode, so the signature is
parsed, not checked, as in ec2d-bench)"""
import http.client, os, re, subprocess, sys, time, glob, tempfile

bin_, n = sys.argv[1], int(sys.argv[2])
port = 47300 + os.getpid() % 500
out = tempfile.mkdtemp(prefix="ir-")
p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p", bin_, "serve",
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
deadline = time.time() + 120
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60); c.connect(); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.5)
st, text = req("Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro&MinCount=1&MaxCount=1")
assert st == 200, text
iid = re.search(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text).group(1)
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
