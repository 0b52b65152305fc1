"""An ec2d server run under callgrind, for the scripts that count instructions (light_instructions.py,
describe_instructions.py): start it, send open-mode requests over one keep-alive connection, and count
the instructions of what a function sends, every thread's, user space only."""
import glob, http.client, os, re, subprocess, tempfile, time



def headers(region):
    """Open-mode headers of a request to `region` (the signature is parsed, not checked)."""
    return {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Amz-Date": "20261126T120000Z",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=111122223333/20261126/{region}/ec2/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64,
    }


HEADERS = headers("us-east-1")


class Server:
    """`bin_ serve --ephemeral` under callgrind on a port of its own (open mode: the signature is parsed,
    not checked, as in ec2d-bench); `argv` replaces the arguments (the bench's reference server)."""

    def __init__(self, bin_, port, valgrind_args=(), argv=None):
        self.out = tempfile.mkdtemp(prefix="ir-")
        self.p = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}/cg.%p", *valgrind_args,
             bin_, *(argv if argv is not None else ["serve", "--port", str(port), "--ephemeral"])],
            stdout=subprocess.DEVNULL, stderr=open(f"{self.out}/err", "w"),
            # What `ec2d serve` would run itself again with (crates/ec2d/src/allocator.rs): set here, so that it
            # does not, which would leave valgrind (it does not follow an exec) counting nothing.
            env={"MIMALLOC_PURGE_DELAY": "0", "MIMALLOC_GENERIC_COLLECT": "1000", **os.environ})
        deadline = time.time() + 300
        while True:
            try:
                self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                self.c.connect()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)

    def req(self, body, region="us-east-1"):
        """Status and body (bytes) of one POST of the form `body` (to `region`)."""
        self.c.request("POST", "/", body=body, headers=HEADERS if region == "us-east-1" else headers(region))
        r = self.c.getresponse()
        return r.status, r.read()

    def count(self, run):
        """Zeroes the counters, calls `run()`, dumps, stops the server: the total instructions and the dump."""
        pid = self.p.pid
        subprocess.run(["callgrind_control", "-z", str(pid)], check=True, stdout=subprocess.DEVNULL)
        run()
        time.sleep(0.5)
        subprocess.run(["callgrind_control", "-d", str(pid)], check=True, stdout=subprocess.DEVNULL)
        time.sleep(1)
        self.p.terminate()
        self.p.wait()
        dump = sorted(glob.glob(f"{self.out}/cg.{pid}.*"), key=os.path.getmtime)[0]
        for line in open(dump):
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1]), dump
        raise RuntimeError(f"no total in {dump}")


def parking(dump):
    """The instructions of the tokio workers' parking in `dump` (inclusive cost of `park_internal`):
    how often a worker parks depends on how the two workers happened to share the requests, so it moves
    by several hundred instructions a request from one run of the same binary to the next."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "worker::Context::park_internal" in line:
            return int(re.match(r"\s*([\d,]+)", line).group(1).replace(",", ""))
    return 0
