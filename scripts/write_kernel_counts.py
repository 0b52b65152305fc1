"""The kernel's side of a write request (StopInstances, then StartInstances, of one instance, as the bench's
write phase sends them) of an ec2d binary: system calls per request by kind (`perf stat` on the syscalls
tracepoints), context switches and CPU time per request and thread (`/proc/PID/task/*`), bytes the process
wrote (`/proc/PID/io`), commits (the write-ahead log's syncs) and write sets per commit. The counts do not
depend on the machine's load as a rate does (the write sets per commit do somewhat: they are the requests in
flight while the writer commits).

Usage: python3 scripts/write_kernel_counts.py BIN N [CONNECTIONS]   (default 16 connections, each stopping and
starting instances of its own, 4 per connection, as write_instructions.py). ENGINE=memory runs it with
--ephemeral; the default is the embedded engine (--data-dir, a fresh temporary directory). The client is an
asyncio loop in this process (one thread), slower than ec2d-bench's, so a commit holds fewer write sets than in
the bench. Needs `perf` with the syscalls tracepoints (root). Instead of counting: TRACE=FILE writes `perf trace
-s` (calls and times per thread), RECORD=FILE `perf record -g` (kernel stacks included), STRACE=FILE an strace
of the log's writes, syncs, locks and futexes (STRACE_TRACE=trace=... and STRACE_ARGS='-k' or '-s 4200' to
change it: with '-s 4200' the frames' pages can be read back)."""
import asyncio, os, re, signal, subprocess, sys, tempfile, time

from kernel_counts import HEADERS, connect, io, print_syscalls, print_threads, syscall_counts, threads


bin_, n = sys.argv[1], int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 16
port = 48300 + os.getpid() % 500
engine = os.environ.get("ENGINE", "embedded")
data = tempfile.mkdtemp(prefix="wk-")
store = ["--ephemeral"] if engine == "memory" else ["--data-dir", data]
server = subprocess.Popen([bin_, "serve", "--port", str(port), *store], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, env={"MIMALLOC_PURGE_DELAY": "0", **os.environ})
pid = server.pid


def request(conn, body):
    conn.request("POST", "/", body=body, headers=dict(line.split(": ", 1) for line in HEADERS.strip().split("\r\n")))
    r = conn.getresponse()
    return r.status, r.read()


c = connect(port)
st, text = request(c, f"Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd&InstanceType=t3.micro"
                      f"&MinCount={4 * conns}&MaxCount={4 * conns}")
assert st == 200, text
ids = re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text.decode())
assert len(ids) == 4 * conns
c.close()


async def one(c, k):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    mine = ids[c::conns]
    for j in range(k):
        iid = mine[(j // 2) % len(mine)]
        action = "StopInstances" if j % 2 == 0 else "StartInstances"
        body = f"Action={action}&Version=2016-11-15&InstanceId.1={iid}".encode()
        writer.write(f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n{HEADERS}Content-Length: {len(body)}\r\n\r\n".encode()
                     + body)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        await reader.readexactly(length)
    writer.close()


def drive(requests):
    per = [requests // conns + (1 if c < requests % conns else 0) for c in range(conns)]
    per = [k + (k % 2) for k in per]  # each connection ends on a start

    async def all_():
        await asyncio.gather(*(one(c, per[c]) for c in range(conns)))
    asyncio.run(all_())
    return sum(per)


drive(8 * conns)  # warm: every instance stopped and started once, the kinds loaded
perf_out = f"{data}.perf"
trace = os.environ.get("TRACE")  # TRACE=FILE: `perf trace -s` instead (per thread, with times), its summary to FILE
strace = os.environ.get("STRACE")  # STRACE=FILE: strace the writes, syncs and locks to FILE instead
record = os.environ.get("RECORD")  # RECORD=FILE: `perf record -g` (kernel stacks included) to FILE instead
perf_cmd = ["perf", "record", "-g", "-o", record] if record else ["strace", "-f", "-x", "-s", "8", "-y", "-o", strace, *os.environ.get("STRACE_ARGS", "").split(), "-e",
            os.environ.get("STRACE_TRACE", "trace=pwrite64,pread64,fdatasync,fsync,fcntl,ftruncate,futex")] if strace else \
    ["perf", "trace", "-s", "-o", trace] if trace else ["perf", "stat", "-x,", "-o", perf_out, "-e",
                                                               "syscalls:sys_enter_*"]
perf = subprocess.Popen([*perf_cmd, "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(2)  # perf attaches (a few hundred tracepoints)
t0, io0, w0 = threads(pid), io(pid), time.monotonic()
sent = drive(n)
wall = time.monotonic() - w0
t1, io1 = threads(pid), io(pid)
perf.send_signal(signal.SIGINT)
perf.wait()
server.terminate()
server.wait()

calls = syscall_counts(perf_out) if not (trace or strace or record) else {}
print(f"{engine}: {sent} requests over {conns} connections in {wall:.2f} s ({sent / wall:,.0f} req/s, client included)")
syncs = calls.get("fdatasync", 0)
if syncs:
    print(f"fdatasync {syncs} (commits): {sent / syncs:.2f} write sets per commit")
print_syscalls(calls, sent)
print(f"bytes written per request (wchar) {(io1['wchar'] - io0['wchar']) / sent:,.0f}, to disk (write_bytes) "
      f"{(io1['write_bytes'] - io0['write_bytes']) / sent:,.0f}, write calls {(io1['syscw'] - io0['syscw']) / sent:.2f}")
print_threads(t0, t1, sent)
