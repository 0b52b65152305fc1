"""Instructions per request of the bench's bare hyper reference (`ec2d-bench --reference-server PORT`: a
fixed 4 KB body), counted as scripts/light_instructions.py counts ec2d's light request: the server under
callgrind, N requests of the light request's size and headers over one keep-alive connection, the total Ir
(every thread, user space only) divided by N. Kernel time is the same for both, so the issue's 1.5x
(timed) leaves a smaller ratio in these counts.

Usage: python3 scripts/reference_instructions.py BENCH_BIN N   (needs valgrind)."""
import os, sys

from callgrind_server import Server, parking

bench, n = sys.argv[1], int(sys.argv[2])
port = 47800 + os.getpid() % 500
s = Server(bench, port, argv=["--reference-server", str(port)])
body = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0"
for _ in range(50):
    assert s.req(body)[0] == 200


def run():
    for _ in range(n):
        st, text = s.req(body)
        assert st == 200 and len(text) == 4096, (st, len(text))


total, dump = s.count(run)
print(f"{bench} (reference): {total / n:.0f} instructions per request, {(total - parking(dump)) / n:.0f} without "
      f"the workers' parking ({n} requests, {dump})")
