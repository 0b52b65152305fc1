"""The kernel's side of a light request (DescribeInstances of one instance by ID, as the bench's light phase sends
it) of an ec2d binary, or of the bench's bare hyper reference: system calls per request by kind (`perf stat` on the
syscalls tracepoints, the whole server), bytes the server wrote to its sockets per request (`/proc/PID/io`),
context switches and CPU time per request. The counts do not depend on the machine's load as a rate does (the
epoll waits and reads that find nothing do somewhat: they depend on how often a worker finds its sockets empty).

Usage: python3 scripts/light_kernel_counts.py BIN N [CONNECTIONS]   (default 16 keep-alive connections, the
client an asyncio loop in this process, the same for both servers). REFERENCE=1: BIN is ec2d-bench, and its
`--reference-server` is measured instead (the light request's headers and body, answered with 4 KB). ONE=FILE:
instead of counting, strace the server while one connection sends N requests one after another, to FILE (each
request's system calls in order). Needs `perf` with the syscalls tracepoints (root)."""
import asyncio, os, re, signal, subprocess, sys, tempfile, time

from kernel_counts import HEADERS, connect, io, print_syscalls, print_threads, syscall_counts, threads


bin_, n = sys.argv[1], int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 16
port = 48800 + os.getpid() % 500
reference = os.environ.get("REFERENCE") == "1"
argv = [bin_, "--reference-server", str(port)] if reference else [bin_, "serve", "--port", str(port), "--ephemeral"]
server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={"MIMALLOC_PURGE_DELAY": "0", "MIMALLOC_GENERIC_COLLECT": "1000", **os.environ})
pid = server.pid

c = connect(port)
if reference:
    iid = "i-0123456789abcdef0"
else:
    c.request("POST", "/", body="Action=RunInstances&Version=2016-11-15&ImageId=ami-08f6cfac8c54bafdd"
              "&InstanceType=t3.micro&MinCount=1&MaxCount=1",
              headers=dict(line.split(": ", 1) for line in HEADERS.strip().split("\r\n")))
    r = c.getresponse()
    text = r.read()
    assert r.status == 200, text
    iid = re.search(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text.decode()).group(1)
c.close()
BODY = f"Action=DescribeInstances&Version=2016-11-15&InstanceId.1={iid}".encode()
REQUEST = f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{HEADERS}Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY


async def one(k, answers):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(k):
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        m = re.search(rb"(?i)content-length: *(\d+)", head)
        if m:
            await reader.readexactly(int(m.group(1)))
        else:  # chunked
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        answers.append(head)
    writer.close()


def drive(requests, connections):
    per = [requests // connections + (1 if i < requests % connections else 0) for i in range(connections)]
    answers = []

    async def all_():
        await asyncio.gather(*(one(k, answers) for k in per))
    asyncio.run(all_())
    return sum(per), answers


drive(4 * conns, conns)
one_file = os.environ.get("ONE")
out = tempfile.mktemp(prefix="lk-")
cmd = ["strace", "-f", "-x", "-s", "400", "-o", one_file] if one_file else \
    ["perf", "stat", "-x,", "-o", out, "-e", "syscalls:sys_enter_*"]
perf = subprocess.Popen([*cmd, "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(2 if not one_file else 1)
t0, io0, w0 = threads(pid), io(pid), time.monotonic()
sent, answers = drive(n, 1 if one_file else conns)
wall = time.monotonic() - w0
t1, io1 = threads(pid), io(pid)
time.sleep(0.2)
perf.send_signal(signal.SIGINT)
perf.wait()
server.terminate()
server.wait()
if one_file:
    print(f"strace of {sent} requests on one connection in {one_file}; a response head:\n{answers[-1].decode()}")
    sys.exit(0)

calls = syscall_counts(out)
print(f"{'reference' if reference else bin_}: {sent} light requests over {conns} connections in {wall:.2f} s "
      f"({sent / wall:,.0f} req/s, client included); response head {len(answers[-1])} bytes")
print_syscalls(calls, sent)
print(f"bytes written per request (wchar) {(io1['wchar'] - io0['wchar']) / sent:,.0f}, read (rchar) "
      f"{(io1['rchar'] - io0['rchar']) / sent:,.0f}, write calls {(io1['syscw'] - io0['syscw']) / sent:.3f}, "
      f"read calls {(io1['syscr'] - io0['syscr']) / sent:.3f}")
print_threads(t0, t1, sent)
