"""Mixed-state probe: p50 latency of a light (DescribeInstances of one ID) and a write (StopInstances /
StartInstances of one instance) request on an almost empty state and on a mixed one (10,000 instances,
1,000 Spot requests, 200 capacity reservations). Usage: python3 tools/mixed_state_probe.py BINARY [N]"""
import os, sys, time, http.client
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from conftest import Server, AL2023
import botocore.auth, botocore.awsrequest, botocore.credentials

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 400

def signed(url, body):
    r = botocore.awsrequest.AWSRequest(method="POST", url=url, data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("AKIAIOSFODNN7EXAMPLE", "test"), "ec2", "us-east-1").add_auth(r)
    return dict(r.headers.items())

def timed(s, body, n):
    h = signed(s.url + "/", body)
    c = http.client.HTTPConnection("127.0.0.1", s.port)
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("POST", "/", body=body, headers=h)
        r = c.getresponse(); data = r.read()
        assert r.status == 200, data[:300]
        lat.append(time.perf_counter() - t)
    lat.sort()
    return lat[len(lat)//2] * 1e6

def run(mixed):
    s = Server(BIN, "--ephemeral", "--clock", "virtual").start()
    try:
        c = s.client()
        ids = []
        n_inst = 10000 if mixed else 2
        while len(ids) < n_inst:
            k = min(1000, n_inst - len(ids))
            ids += [i["InstanceId"] for i in c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=k, MaxCount=k)["Instances"]]
        if mixed:
            for k in range(10):
                c.request_spot_instances(InstanceCount=100, Type="persistent" if k % 2 else "one-time",
                    LaunchSpecification={"ImageId": AL2023, "InstanceType": "m5.large"})
            for k in range(200):
                c.create_capacity_reservation(InstanceType="c5.large", InstancePlatform="Linux/UNIX",
                    AvailabilityZone="us-east-1a", InstanceCount=1)
            s.advance(30)
        s.advance(600)
        light = f"Action=DescribeInstances&Version=2016-11-15&InstanceId.1={ids[0]}".encode()
        stop = f"Action=StopInstances&Version=2016-11-15&InstanceId.1={ids[1]}".encode()
        start = f"Action=StartInstances&Version=2016-11-15&InstanceId.1={ids[1]}".encode()
        lp = timed(s, light, N)
        # write: stop+start alternately (virtual clock: stopping stays stopping, so use terminate-free pairs)
        w = []
        for _ in range(N // 20):
            w.append(timed(s, stop, 1)); s.advance(600); w.append(timed(s, start, 1)); s.advance(600)
        w.sort()
        print(f"{'mixed' if mixed else 'empty'}: light p50 {lp:.0f} us, write p50 {w[len(w)//2]:.0f} us")
    finally:
        s.stop()

run(False); run(True)
