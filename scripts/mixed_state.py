"""The two states of ec2d-bench's mixed scenario (crates/ec2d-bench/src/mixed.rs), built the same way over a
`callgrind_server.Server`, for the scripts that count instructions per request on each (light_instructions.py,
write_instructions.py with STATE=empty or STATE=mixed):

- `empty`: the almost empty state, `EMPTY_INSTANCES` instances (the bench's `EMPTY_INSTANCES`), launched in as
  many calls in the same zones as the instances the phases name on the mixed state (the bench's `empty_launches`);
- `mixed`: `INSTANCES` On-Demand instances in us-east-1 (RunInstances of 1,000 at a time, round-robin over the
  bench's zones), `SIDE_INSTANCES` in us-west-2, `SPOT_REQUESTS` Spot requests in the bench's four kinds (made 50
  at a time: fulfilled, open under the market, persistent with an expiry a day away, valid only from tomorrow;
  the dates relative to the server's clock), `RESERVATIONS` capacity reservations (every other one ending in two
  days) and `BUNDLE_TASKS` bundle tasks of Windows instances; then DescribeInstances of everything in each region,
  as the bench's describe-all measurement does before its phases.

`build` returns the IDs the phases name: all of the almost empty state's, or `EMPTY_INSTANCES` of the mixed
state's main-region instances, evenly spaced (the bench's `spread`), so both states' requests name the same
number of distinct instances and differ only in the records they do not name. Sizes can be lowered with the
environment (INSTANCES, SPOT_REQUESTS, RESERVATIONS, BUNDLE_TASKS) as the bench's options do."""
import http.client, os, re

EMPTY_INSTANCES = 64
SIDE_INSTANCES = 1000
SIDE_REGION = "us-west-2"
SIDE_ZONES = ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"]
IMAGE_ID = "ami-08f6cfac8c54bafdd"
WINDOWS_STORE_IMAGE = "ami-0193dd2c1f96edc84"
UPLOAD_POLICY = ("eyJleHBpcmF0aW9uIjoiMjA5OS0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbeyJidWNrZXQiOiJiZW5jaCJ9LHsiYWNsIjoiZWMyLWJ1"
                 "bmRsZS1yZWFkIn0sWyJzdGFydHMtd2l0aCIsIiRrZXkiLCJ3aW4iXV19")
UPLOAD_SIGNATURE = "AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"
LAUNCH_BATCH = 1000
SPOT_BATCH = 50


def size(name, default):
    return int(os.environ.get(name, default))


def ids_of(xml):
    """The distinct instance IDs of an answer, in order."""
    seen, out = set(), []
    for i in re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", xml):
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def call(s, body, region="us-east-1"):
    st, text = s.req(body, region)
    text = text.decode()
    assert st == 200, text[:500]
    return text


def launch(s, region, zones, count):
    ids = []
    while len(ids) < count:
        n = min(count - len(ids), LAUNCH_BATCH)
        zone = zones[(len(ids) // LAUNCH_BATCH) % len(zones)]
        got = ids_of(call(s, f"Action=RunInstances&Version=2016-11-15&ImageId={IMAGE_ID}&InstanceType=t3.micro"
                             f"&MinCount={n}&MaxCount={n}&Placement.AvailabilityZone={zone}", region))
        assert len(got) == n
        ids += got
    return ids


def plus_days_iso(now, days):
    """`now` (the server's clock, ISO 8601) plus `days` days, in the same form."""
    import datetime
    t = datetime.datetime.strptime(now[:19], "%Y-%m-%dT%H:%M:%S") + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + now[19:]


def spot_body(kind, count, now):
    day = plus_days_iso(now, 1)
    price, extra = [("0.05", ""), ("0.001", ""), ("0.05", f"&Type=persistent&ValidUntil={day}"),
                    ("0.05", f"&ValidFrom={day}")][kind % 4]
    return (f"Action=RequestSpotInstances&Version=2016-11-15&SpotPrice={price}&InstanceCount={count}{extra}"
            f"&LaunchSpecification.ImageId={IMAGE_ID}&LaunchSpecification.InstanceType=t3.small"
            f"&LaunchSpecification.Placement.AvailabilityZone=us-east-1c")


def reservation_body(i, now):
    end = f"&EndDateType=limited&EndDate={plus_days_iso(now, 2)}" if i % 2 == 1 else ""
    return ("Action=CreateCapacityReservation&Version=2016-11-15&InstanceType=t3.medium&InstancePlatform=Linux%2FUNIX"
            f"&AvailabilityZone={ZONES[i % len(ZONES)]}&InstanceCount={1 + i % 4}{end}")


def bundle_body(instance):
    return (f"Action=BundleInstance&Version=2016-11-15&InstanceId={instance}&Storage.S3.Bucket=bench"
            f"&Storage.S3.Prefix=win&Storage.S3.AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE"
            f"&Storage.S3.UploadPolicy={UPLOAD_POLICY}&Storage.S3.UploadPolicySignature={UPLOAD_SIGNATURE}")


def server_now(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("GET", "/_ec2d/clock")
    text = c.getresponse().read().decode()
    c.close()
    return re.search(r'"now":"([^"]+)"', text).group(1)


def spread(ids, n):
    if len(ids) <= n:
        return list(ids)
    return [ids[k * len(ids) // n] for k in range(n)]


def empty_launches(instances):
    """The almost empty state's RunInstances calls, (zone, count), as the bench's `empty_launches`: as many
    instances in each launch's zone as the mixed state's phases name from that launch."""
    calls = []
    for k in range(EMPTY_INSTANCES):
        batch = k * max(instances, EMPTY_INSTANCES) // EMPTY_INSTANCES // LAUNCH_BATCH
        if calls and calls[-1][0] == batch:
            calls[-1][2] += 1
        else:
            calls.append([batch, ZONES[batch % len(ZONES)], 1])
    return [(zone, n) for _, zone, n in calls]


def build(s, port, state):
    """Builds `state` ("empty" or "mixed") on the server `s` listening on `port`; the IDs the phases name."""
    if state == "empty":
        ids = []
        for zone, n in empty_launches(size("INSTANCES", 10_000)):
            ids += launch(s, "us-east-1", [zone], n)
        return ids
    assert state == "mixed", state
    ids = launch(s, "us-east-1", ZONES, size("INSTANCES", 10_000))
    launch(s, SIDE_REGION, SIDE_ZONES, SIDE_INSTANCES)
    now = server_now(port)
    spot = size("SPOT_REQUESTS", 1000)
    made = 0
    while made < spot:
        n = min(spot - made, SPOT_BATCH)
        call(s, spot_body(made // SPOT_BATCH, n, now))
        made += n
    for i in range(size("RESERVATIONS", 200)):
        call(s, reservation_body(i, now))
    bundles = size("BUNDLE_TASKS", 100)
    if bundles:
        windows = ids_of(call(s, f"Action=RunInstances&Version=2016-11-15&ImageId={WINDOWS_STORE_IMAGE}"
                                 f"&InstanceType=m1.small&MinCount={bundles}&MaxCount={bundles}"
                                 f"&Placement.AvailabilityZone=us-east-1a"))
        for i in windows:
            call(s, bundle_body(i))
    # The bench describes everything in each region before its phases (the first call settles the launches).
    call(s, "Action=DescribeInstances&Version=2016-11-15")
    call(s, "Action=DescribeInstances&Version=2016-11-15", SIDE_REGION)
    return spread(ids, EMPTY_INSTANCES)
