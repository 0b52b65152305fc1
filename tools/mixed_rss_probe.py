"""Builds the bench's mixed state (10k us-east-1 instances, 1k us-west-2, 1k Spot requests, 200 reservations,
100 Windows instances + bundle tasks) on a server and prints the RSS after each step.
Usage: python3 tools/mixed_rss_probe.py BIN [serve args...] (default --ephemeral); HOLD=SECONDS keeps the
server running at the end; DESCRIBES=N describes everything N times per region, us-east-1's then us-west-2's
as ec2d-bench's mixed scenario does (N=11 is its count; default 2, the two regions alternated); SMAPS=1 prints
the server's /proc/PID/smaps_rollup and its largest mappings at the end; MIMALLOC_SHOW_STATS=1 prints the
allocator's statistics at its exit; STEPS=1 prints the RSS after each RequestSpotInstances too. The embedded
engine: pass --data-dir DIR (an empty directory) as the serve args. Run it with .venv/bin/python (conftest
imports pytest)."""
import os, sys, time, urllib.request, json
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from conftest import Server
import boto3

BIN = sys.argv[1]
EXTRA = sys.argv[2:] or ["--ephemeral"]
IMAGE = "ami-08f6cfac8c54bafdd"; WIN = "ami-0193dd2c1f96edc84"
UP = "eyJleHBpcmF0aW9uIjoiMjA5OS0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbeyJidWNrZXQiOiJiZW5jaCJ9LHsiYWNsIjoiZWMyLWJ1bmRsZS1yZWFkIn0sWyJzdGFydHMtd2l0aCIsIiRrZXkiLCJ3aW4iXV19"

def rss(pid):
    d = {l.split(":")[0]: l.split(":")[1].strip() for l in open(f"/proc/{pid}/status")}
    return f"rss {int(d['VmRSS'].split()[0])/1024:.1f} MiB (hwm {int(d['VmHWM'].split()[0])/1024:.1f})"

s = Server(BIN, *EXTRA).start()
pid = s.proc.pid
try:
    time.sleep(0.3)
    print("empty", rss(pid), flush=True)
    c = s.client()
    zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"]
    for n in range(10):
        c.run_instances(ImageId=IMAGE, InstanceType="t3.micro", MinCount=1000, MaxCount=1000, Placement={"AvailabilityZone": zones[n % 5]})
    print("10k launched", rss(pid), flush=True)
    w = boto3.client("ec2", endpoint_url=s.url, region_name="us-west-2", aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="test")
    wz = ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]
    for n in range(4):
        w.run_instances(ImageId=IMAGE, InstanceType="t3.micro", MinCount=250, MaxCount=250, Placement={"AvailabilityZone": wz[n]})
    print("+1k us-west-2", rss(pid), flush=True)
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    day = now + datetime.timedelta(days=1)
    for k in range(20):
        kw = dict(SpotPrice="0.05", InstanceCount=50, LaunchSpecification={"ImageId": IMAGE, "InstanceType": "t3.small", "Placement": {"AvailabilityZone": "us-east-1c"}})
        if k % 4 == 1: kw["SpotPrice"] = "0.001"
        if k % 4 == 2: kw.update(Type="persistent", ValidUntil=day)
        if k % 4 == 3: kw.update(ValidFrom=day)
        c.request_spot_instances(**kw)
        if os.environ.get("STEPS"): print(f"  spot call {k}", rss(pid), flush=True)
    print("+1k spot", rss(pid), flush=True)
    for i in range(200):
        kw = dict(InstanceType="t3.medium", InstancePlatform="Linux/UNIX", AvailabilityZone=zones[i % 5], InstanceCount=1 + i % 4)
        if i % 2: kw.update(EndDateType="limited", EndDate=now + datetime.timedelta(days=2))
        c.create_capacity_reservation(**kw)
    print("+200 reservations", rss(pid), flush=True)
    ids = [i["InstanceId"] for i in c.run_instances(ImageId=WIN, InstanceType="m1.small", MinCount=100, MaxCount=100, Placement={"AvailabilityZone": "us-east-1a"})["Instances"]]
    for i in ids:
        c.bundle_instance(InstanceId=i, Storage={"S3": {"Bucket": "bench", "Prefix": "win", "AWSAccessKeyId": "AKIAIOSFODNN7EXAMPLE", "UploadPolicy": __import__("base64").b64decode(UP), "UploadPolicySignature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}})
    print("+100 bundle", rss(pid), flush=True)
    if os.environ.get("DESCRIBES"):
        n = int(os.environ["DESCRIBES"])
        for cl in (c, w):
            for _ in range(n):
                cl.describe_instances()
            print(f"describe all x{n}", rss(pid), flush=True)
        time.sleep(0.2)
        print("200 ms later", rss(pid), flush=True)
    else:
        for _ in range(2):
            c.describe_instances(); w.describe_instances()
            print("describe all x1", rss(pid), flush=True)
    if os.environ.get("SMAPS"):
        print(len(os.listdir(f"/proc/{pid}/task")), "threads", flush=True)
        print(open(f"/proc/{pid}/smaps_rollup").read(), flush=True)
        maps, cur = [], None
        for l in open(f"/proc/{pid}/smaps"):
            f = l.split()
            if "-" in f[0] and not f[0].endswith(":"):
                cur = [l.strip()[:110], 0, 0]; maps.append(cur)
            elif f[0] == "Rss:": cur[1] = int(f[1])
            elif f[0] == "Anonymous:": cur[2] = int(f[1])
        for m in sorted(maps, key=lambda m: -m[1])[:12]:
            print(f"{m[1]/1024:7.1f} MiB rss {m[2]/1024:7.1f} anon  {m[0]}", flush=True)
    if os.environ.get("HOLD"):
        print("holding; pid", pid, flush=True); time.sleep(float(os.environ["HOLD"]))
finally:
    s.stop()
    if os.environ.get('MIMALLOC_SHOW_STATS'):
        print('\n'.join(l for l in s.stderr().splitlines() if 'INFO' not in l)[-20000:])
