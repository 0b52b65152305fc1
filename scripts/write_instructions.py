"""Instructions per write request (StopInstances, then StartInstances, of one instance, as the bench's write
phase sends them) of an ec2d binary, counted by callgrind on every thread of the server, user space only,
and split by thread: the async workers, the embedded engine's writer, the log writer. Robust on a loaded
machine (a count, not a time), though valgrind runs one thread at a time, so the writer's batches (write sets
per commit) are not those of a native run: the count per write set on the writer is the firm number.

Usage: python3 scripts/write_instructions.py BIN N [CONNECTIONS]   (default 16 connections, each stopping
and starting instances of its own, 4 per connection). ENGINE=memory runs it with --ephemeral; the default is
the embedded engine (--data-dir, a fresh temporary directory). TOP=K prints the K functions of the writer
and of the workers with the most inclusive instructions. STATE=empty or STATE=mixed instead builds one of the
two states of ec2d-bench's mixed scenario the way the bench does (scripts/mixed_state.py) and stops and starts the
64 instances the bench's write phase names in that state (4 per connection at 16 connections)."""
import glob, http.client, os, re, subprocess, sys, tempfile, threading, time

import mixed_state
from callgrind_server import HEADERS, Server

bin_, n = sys.argv[1], int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 16
port = 47800 + os.getpid() % 500
engine = os.environ.get("ENGINE", "embedded")
store = ["--ephemeral"] if engine == "memory" else ["--data-dir", tempfile.mkdtemp(prefix="wi-")]
s = Server(bin_, port, ["--separate-threads=yes"], ["serve", "--port", str(port), *store])

state = os.environ.get("STATE")
if state:
    ids = mixed_state.build(s, port, state)
else:
    st, text = s.req(f"Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro"
                     f"&MinCount={4 * conns}&MaxCount={4 * conns}")
    assert st == 200, text
    ids = re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text.decode())
    assert len(ids) == 4 * conns


def drive(requests):
    """`requests` write requests over `conns` keep-alive connections at once; connection c stops, then starts,
    its instances c, c + conns, ... in turn."""
    def one(c, k):
        h = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        mine = ids[c::conns]
        for j in range(k):
            iid = mine[(j // 2) % len(mine)]
            action = "StopInstances" if j % 2 == 0 else "StartInstances"
            h.request("POST", "/", body=f"Action={action}&Version=2016-11-15&InstanceId.1={iid}", headers=HEADERS)
            r = h.getresponse()
            body = r.read()
            assert r.status == 200, body[:300]
        h.close()
    per = [requests // conns + (1 if c < requests % conns else 0) for c in range(conns)]
    # Each connection ends on a start, so that the next drive finds its instances running.
    per = [k + (k % 2) for k in per]
    threads = [threading.Thread(target=one, args=(c, per[c])) for c in range(conns)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return sum(per)


drive(8 * conns)  # warm: every instance stopped and started once, the kinds loaded
pid = s.p.pid
subprocess.run(["callgrind_control", "-z", str(pid)], check=True, stdout=subprocess.DEVNULL)
sent = drive(n)
time.sleep(0.5)
subprocess.run(["callgrind_control", "-d", str(pid)], check=True, stdout=subprocess.DEVNULL)
time.sleep(1)
s.p.terminate()
s.p.wait()
dumps = sorted(glob.glob(f"{s.out}/cg.{pid}*"))
# The dump made by `-d` is the newest set (one file per thread); the one at exit came later.
by_thread = {}
for d in dumps:
    m = re.search(r"\.(\d+)-(\d+)$", d)
    if not m:
        continue
    part, thread = int(m.group(1)), int(m.group(2))
    if part != 1:
        continue
    text = open(d).read()
    total = next(int(line.split()[1]) for line in text.splitlines() if line.startswith(("summary:", "totals:")))
    if "write_loop" in text and "sqlite3_step" in text:
        role = "writer"
    elif "logging" in text and "drain" in text.lower() and "tokio" not in text:
        role = "log"
    elif "tokio" in text:
        role = "workers"
    else:
        role = "other"
    by_thread.setdefault(role, []).append((thread, total, d))

def calls_to(dump, function):
    """How many times the code in `dump` called `function` (callgrind's `calls=` lines under each `cfn=`)."""
    names, total, current = {}, 0, None
    for line in open(dump):
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            current = names.get(m.group(2), "") if m.group(1) == "cfn" else None
        elif line.startswith("calls=") and current is not None:
            if current.endswith(function):
                total += int(line.split()[0][len("calls="):])
            current = None
    return total


grand = sum(t for v in by_thread.values() for _, t, _ in v)
print(f"{bin_} ({engine}, {conns} connections): {grand / sent:.0f} instructions per write request ({sent} requests)")
for role, threads in sorted(by_thread.items()):
    t = sum(x for _, x, _ in threads)
    print(f"  {role}: {t / sent:.0f} per request over {len(threads)} thread(s)")
for _, t, d in by_thread.get("writer", []):
    # Each commit is a BEGIN and a COMMIT, each one `execute_batch`.
    commits = calls_to(d, "rusqlite::Connection::execute_batch") // 2
    if commits:
        print(f"  writer: {commits} commits, {sent / commits:.1f} write sets per commit, {t / commits:.0f} per commit")


def functions(dump, k):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump], check=True,
                         capture_output=True, text=True).stdout
    rows = [line for line in out.splitlines() if re.match(r"\s*[\d,]+ \(", line)]
    return rows[:k]


k = int(os.environ.get("TOP", "0"))
if k:
    for role in ("writer", "workers"):
        for thread, t, d in by_thread.get(role, []):
            if t / sent < 1000:
                continue
            print(f"--- {role} thread {thread} ({d}), per request:")
            for row in functions(d, k):
                count = int(re.match(r"\s*([\d,]+)", row).group(1).replace(",", ""))
                name = row.split(")", 1)[1].strip()[:150]
                print(f"  {count / sent:9.0f}  {name}")
