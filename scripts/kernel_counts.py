"""What light_kernel_counts.py and write_kernel_counts.py share: the open-mode request headers as raw text, waiting
for the server's port, and reading the kernel's counts of a server process (per thread CPU time and context
switches, its I/O, `perf stat`'s system call counts) and printing them per request."""
import collections, http.client, os, re, time

from callgrind_server import HEADERS as HEADER_MAP

HEADERS = "".join(f"{k}: {v}\r\n" for k, v in HEADER_MAP.items())


def connect(port, seconds=60):
    """A connection to the server at `port` once it accepts one (within `seconds`)."""
    deadline = time.time() + seconds
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            c.connect()
            return c
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def threads(pid):
    """Per thread id: (name, user ticks, system ticks, voluntary and involuntary context switches)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
            status = open(f"/proc/{pid}/task/{tid}/status").read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        vol = int(re.search(r"voluntary_ctxt_switches:\s*(\d+)", status).group(1))
        nonvol = int(re.search(r"nonvoluntary_ctxt_switches:\s*(\d+)", status).group(1))
        out[tid] = (name, int(fields[11]), int(fields[12]), vol, nonvol)
    return out


def io(pid):
    """The process's /proc/PID/io counters."""
    return dict((k, int(v)) for k, v in (line.split(": ") for line in open(f"/proc/{pid}/io").read().splitlines()))


def syscall_counts(path):
    """System call name -> count, from `perf stat -x,` output on the syscalls:sys_enter_* tracepoints."""
    calls = {}
    for line in open(path):
        parts = line.strip().split(",")
        if len(parts) > 2 and parts[2].startswith("syscalls:sys_enter_"):
            try:
                calls[parts[2][len("syscalls:sys_enter_"):]] = int(parts[0])
            except ValueError:
                pass
    return calls


def print_syscalls(calls, sent):
    print("system calls per request (whole server, including the 2 s before the drive):")
    for name, k in sorted(calls.items(), key=lambda kv: -kv[1]):
        if k:
            print(f"  {name:24} {k / sent:8.3f}")
    print(f"  {'(all)':24} {sum(calls.values()) / sent:8.3f}")


def print_threads(t0, t1, sent):
    """CPU time and context switches per request between two `threads` readings, by thread name, and in all."""
    tick = os.sysconf("SC_CLK_TCK")
    by_name = collections.defaultdict(lambda: [0, 0, 0, 0])
    for tid, (name, u, s, v, nv) in t1.items():
        b = t0.get(tid, (name, 0, 0, 0, 0))
        agg = by_name[re.sub(r"[-\d]+$", "", name)]
        for i, (x, y) in enumerate(zip((u, s, v, nv), b[1:])):
            agg[i] += x - y
    print("per request, by thread name: user µs, system µs, voluntary / involuntary context switches")
    for name, (u, s, v, nv) in sorted(by_name.items()):
        if u or s or v or nv:
            print(f"  {name:24} {u / tick / sent * 1e6:7.1f} {s / tick / sent * 1e6:7.1f} {v / sent:7.3f} {nv / sent:7.3f}")
    tot = [sum(x[i] for x in by_name.values()) for i in range(4)]
    print(f"  {'(all)':24} {tot[0] / tick / sent * 1e6:7.1f} {tot[1] / tick / sent * 1e6:7.1f} {tot[2] / sent:7.3f} "
          f"{tot[3] / sent:7.3f}")
