"""DescribeInstances-of-everything probe: launches N instances on an `--ephemeral` server (1,000 per
RunInstances call, over the us-east-1 zones that offer t3.micro), then prints the p50 and minimum of REPS
sequential DescribeInstances of everything on one keep-alive connection (after one that is not measured:
it settles the instances just launched), the answer's size, the server's CPU per call and its RSS before
and after. Usage: python3 tools/describe_all_probe.py BINARY N REPS [serve args...]"""
import os, sys, time, http.client
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from conftest import Server, AL2023
import botocore.auth, botocore.awsrequest, botocore.credentials

BIN, N, REPS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
EXTRA = sys.argv[4:] or ["--ephemeral"]
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"]


def signed(url, body):
    r = botocore.awsrequest.AWSRequest(method="POST", url=url, data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("AKIAIOSFODNN7EXAMPLE", "test"), "ec2", "us-east-1").add_auth(r)
    return dict(r.headers.items())


def rss(pid):
    return [l.split(":")[1].strip() for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0]


s = Server(BIN, *EXTRA).start()
try:
    c = s.client()
    n = 0
    while n < N:
        k = min(1000, N - n)
        c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=k, MaxCount=k,
                        Placement={"AvailabilityZone": ZONES[(n // 1000) % len(ZONES)]})
        n += k
    before = rss(s.proc.pid)
    body = b"Action=DescribeInstances&Version=2016-11-15"
    headers = signed(s.url + "/", body)
    conn = http.client.HTTPConnection("127.0.0.1", s.port)
    lat, size = [], 0
    # The server's own CPU (user + system) over the calls: the client's reading is not in it.
    def cpu_seconds(pid):
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    # Each answer is read in pieces and dropped, as a parser working on the stream would: the time is
    # not that of joining 41 MB into one buffer.
    def call():
        conn.request("POST", "/", body=body, headers=headers)
        r = conn.getresponse()
        head, size, last = b"", 0, b""
        while chunk := r.read(65536):
            head = head or chunk[:300]
            size += len(chunk)
            last = (last + chunk)[-64:]
        assert r.status == 200, head
        assert last.rstrip().endswith(b"</DescribeInstancesResponse>"), last
        return size
    call()  # the first call settles the instances just launched: not measured
    cpu_before = cpu_seconds(s.proc.pid)
    for _ in range(REPS):
        t = time.perf_counter()
        size = call()
        lat.append(time.perf_counter() - t)
    cpu_ms = (cpu_seconds(s.proc.pid) - cpu_before) * 1000 / REPS
    lat.sort()
    print(f"N={N} p50 {lat[len(lat) // 2] * 1000:.1f} ms min {lat[0] * 1000:.1f} ms size {size} "
          f"server cpu {cpu_ms:.1f} ms/call rss before {before} after {rss(s.proc.pid)}")
finally:
    s.stop()
