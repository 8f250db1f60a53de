#!/usr/bin/env python3
"""The object-storage tier (issue 27's bench row), one run: how fast the node uploads its
sealed segments against `aws s3 cp --recursive` of the same files to the same moto server,
and how long `archive get` takes for a message whose segment was evicted against one whose
segment is on disk.

    python3 bench/remote.py BINARY OUT_DIR [--mib M] [--segment-mib S] [--reads N] [--keep]

Needs `moto_server` and `aws` on PATH (`pip install 'moto[server]==5.2.1' awscli`); installs
nothing. moto runs on 127.0.0.1 with a bucket made by boto3 with Object Lock enabled (so
versioned, as a compliance user makes it). A node archives about M MiB of mail whose bodies
are random base64 (zstd keeps about 3/4 of it) in segments of S MiB and stops; then:
  - awscli copies the sealed segment files to the prefix awscli-1/ (its defaults: 10
    requests at once, multipart above 8 MiB);
  - the node starts again with [archive.remote] (upload_every_seconds = 1): seconds from its
    start until remote.sqlite records every segment sealed when it stopped (and, read
    every 0.1 s, until archive_remote_pending_segments is 0);
  - awscli again, to awscli-2/ (the reference is the mean of both copies), then once more
    the node's way, one file at a time in one PUT each (for comparison);
  - the CPU seconds of moto during each copy, of awscli and of the node;
  - the node starts a third time with local_max_bytes a quarter of the sealed bytes; once
    it has evicted (stubs NNNNNNNN.seg.remote) and stopped, `archive get` of N messages in
    evicted segments and N in local ones, taking turns, and `--version` (process start):
    p50/p95. A binary that does not evict skips this part and says so in the result.
Writes OUT_DIR/<date>-remote.json; --keep leaves the work directory (BENCH_TMP, else
/work/wt/tmp) in place.
"""
import base64
import json
import multiprocessing
import os
import random
import resource
import shutil
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import free_port, port_open, wait_port  # noqa: E402

MIB = 1 << 20
KEY_ID, SECRET = "bench", "bench-secret"  # moto_server alone checks no signature
BUCKET = "archive-bench"
EVICTION_WAIT = 60  # seconds the node gets to evict its first segment before the part is skipped


def wait_for(condition, timeout, what, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise RuntimeError(f"gave up after {timeout} s waiting for {what}")


def send(args):
    """One client: `count` messages of `size` bytes, each body random base64 lines."""
    port, start, count, size = args
    rng = random.Random(start)
    with smtplib.SMTP("127.0.0.1", port) as s:
        for i in range(start, start + count):
            text = base64.b64encode(rng.randbytes(size * 3 // 4)).decode()
            body = "\r\n".join(text[k:k + 76] for k in range(0, len(text), 76))
            message = (f"Message-ID: <remote-{i}@bench.example>\r\nFrom: s{i}@bench.example\r\n"
                       f"To: journal@archive.example\r\nSubject: tier bench {i}\r\n\r\n{body}\r\n")
            s.sendmail(f"s{i}@bench.example", ["journal@archive.example"], message)


class Node:
    def __init__(self, binary, work, endpoint, segment_mib):
        self.binary, self.work, self.endpoint, self.segment_mib = binary, work, endpoint, segment_mib
        self.data = os.path.join(work, "data")
        self.archive = os.path.join(self.data, "archive")
        self.config = os.path.join(work, "node.toml")
        self.smtp, self.admin = free_port(), free_port()
        self.env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
        self.process = None

    def configure(self, remote, local_max=None):
        text = f"""
[node]
id = "bench"
data_dir = "{self.data}"
admin = "127.0.0.1:{self.admin}"

[[listener]]
name = "journal"
address = "127.0.0.1:{self.smtp}"

[archive]
segment_max_bytes = {self.segment_mib * MIB}
search_index = false
"""
        if remote:
            text += f"""
[archive.remote]
endpoint = "{self.endpoint}"
region = "us-east-1"
bucket = "{BUCKET}"
upload_every_seconds = 1
"""
            if local_max:
                text += f"local_max_bytes = {local_max}\n"
        open(self.config, "w").write(text)

    def start(self, log, port):
        """Starts `serve` and waits until `port` listens; a node that exits first is an error."""
        self.log = os.path.join(self.work, log)
        self.process = subprocess.Popen([self.binary, "serve", "--config", self.config, "--log-level", "info"],
                                        env=self.env, stderr=open(self.log, "w"))

        def up():
            if self.process.poll() is not None:
                raise RuntimeError(f"the node exited ({self.process.returncode}): {open(self.log).read()[-2000:]}")
            return port_open(port)
        wait_for(up, 120, f"port {port}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=600)

    def metric(self, name):
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=10).read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.split()[-1])
        return None

    def recorded_segments(self):
        """Sequence -> uploaded_at (ms) of the segments remote.sqlite records as uploaded."""
        path = os.path.join(self.data, "remote", "remote.sqlite")
        if not os.path.exists(path):
            return {}
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
                return dict(db.execute("SELECT sequence, uploaded_at FROM objects WHERE kind = 'segment'"))
        except sqlite3.Error:
            return {}

    def files(self, suffix):
        return sorted(n for n in os.listdir(self.archive) if n.endswith(suffix))


def cpu_seconds(pid):
    """User + system CPU seconds of a running process so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def awscli_copy(source, endpoint, prefix, moto_pid, config=None):
    """Seconds of `aws s3 cp --recursive`, its CPU seconds and moto's meanwhile."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
    if config:
        env["AWS_CONFIG_FILE"] = config
    moto_before, aws_before = cpu_seconds(moto_pid), children_cpu()
    started = time.perf_counter()
    subprocess.run(["aws", "s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", endpoint,
                    source, f"s3://{BUCKET}/{prefix}"], check=True, env=env)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "aws_cpu_seconds": round(children_cpu() - aws_before, 2),
            "moto_cpu_seconds": round(cpu_seconds(moto_pid) - moto_before, 2)}


def listed_bytes(s3, prefix):
    total, count = 0, 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            if item["Key"].startswith(prefix):
                total, count = total + item["Size"], count + 1
    return count, total


def percentile(values, p):
    """Nearest rank, as the other rows of bench/ report it."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def upload_phase(node, s3, sealed, sealed_bytes, moto_pid):
    node.configure(remote=True)
    want = {int(name[:-4]) for name in sealed}
    moto_before = cpu_seconds(moto_pid)
    started, started_epoch = time.perf_counter(), time.time()
    node.start("node-upload.log", node.admin)
    drained, every_recorded = None, None
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline and (drained is None or every_recorded is None):
        if every_recorded is None and want <= set(node.recorded_segments()):
            every_recorded = time.perf_counter() - started
        if drained is None and node.metric("archive_remote_uploaded_objects_total") and node.metric("archive_remote_pending_segments") == 0:
            drained = time.perf_counter() - started
        time.sleep(0.1)
    if every_recorded is None:
        raise RuntimeError(f"the node did not record every sealed segment; see {node.log}")
    recorded = node.recorded_segments()
    stamps = sorted(recorded[s] for s in want)
    count, remote_bytes = listed_bytes(s3, "bench/segments/")
    uploaded_metric = node.metric("archive_remote_uploaded_bytes_total")
    node_cpu, moto_cpu = cpu_seconds(node.process.pid), cpu_seconds(moto_pid) - moto_before
    node.stop()
    # uploaded_at is when an upload began: the first one's is when the first pass got to work.
    first_upload = stamps[0] / 1000 - started_epoch
    return {
        "seconds_to_first_upload": round(first_upload, 2),
        "seconds_to_every_recorded": round(every_recorded, 2),
        "mib_s": round(sealed_bytes / MIB / every_recorded, 1),
        "seconds_to_pending_zero": round(drained, 2) if drained else None,
        "mib_s_from_first_upload": round(sealed_bytes / MIB / (every_recorded - first_upload), 1),
        "uploaded_bytes_metric": uploaded_metric,
        "bucket_segment_objects": count, "bucket_segment_bytes": remote_bytes,
        # Read once everything was recorded (up to 0.1 s later): the node's since its start.
        "node_cpu_seconds": round(node_cpu, 2), "moto_cpu_seconds": round(moto_cpu, 2),
    }


def eviction_phase(node, budget):
    node.configure(remote=True, local_max=budget)
    node.start("node-evict.log", node.admin)
    try:
        wait_for(lambda: node.files(".seg.remote"), EVICTION_WAIT, "a first eviction", every=0.5)
    except RuntimeError:
        node.stop()
        return None
    previous, stable_since = None, time.monotonic()
    while time.monotonic() - stable_since < 5:  # settled: no new stub for 5 s
        stubs = node.files(".seg.remote")
        if stubs != previous:
            previous, stable_since = stubs, time.monotonic()
        time.sleep(0.5)
    node.stop()
    return previous


def read_phase(node, stubs, reads):
    evicted = {int(name.split(".")[0]) for name in stubs}
    local = {int(name[:-4]) for name in node.files(".seg")} - evicted
    db = sqlite3.connect(f"file:{node.archive}/index.sqlite?mode=ro", uri=True)
    rows = db.execute("SELECT id, segment, size FROM messages ORDER BY id").fetchall()
    rng = random.Random(27)
    pick = {kind: rng.sample([r for r in rows if r[1] in sequences], min(reads, sum(r[1] in sequences for r in rows)))
            for kind, sequences in (("evicted", evicted), ("local", local))}
    times = {"evicted": [], "local": [], "version": []}
    failures = []
    out = os.path.join(node.work, "got.eml")

    def timed(kind, arguments, size=None):
        with open(out, "wb") as sink:
            started = time.perf_counter()
            run = subprocess.run([node.binary] + arguments, stdout=sink, stderr=subprocess.PIPE, env=node.env)
            elapsed = time.perf_counter() - started
        if run.returncode != 0 or (size is not None and os.path.getsize(out) != size):
            failures.append({"kind": kind, "arguments": arguments, "exit": run.returncode, "stderr": run.stderr.decode()[-500:]})
        times[kind].append(elapsed * 1000)

    for i in range(max(len(pick["evicted"]), len(pick["local"]))):
        for kind in ("evicted", "local"):
            if i < len(pick[kind]):
                message_id, _, size = pick[kind][i]
                timed(kind, ["archive", "get", message_id, "--config", node.config], size)
        timed("version", ["--version"])
    summary = {kind: {"n": len(v), "p50_ms": round(percentile(v, 50), 1), "p95_ms": round(percentile(v, 95), 1)}
               for kind, v in times.items() if v}
    summary["evicted_segments"], summary["local_segments"] = len(evicted), len(local)
    summary["failures"] = failures
    return summary


def main():
    binary, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    option = lambda name, default: int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default
    mib, segment_mib, reads = option("--mib", 384), option("--segment-mib", 16), option("--reads", 20)
    work = tempfile.mkdtemp(prefix="remote-", dir=os.environ.get("BENCH_TMP", "/work/wt/tmp"))
    moto_port = free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "moto.log"), "w"))
    node = None
    try:
        wait_port(moto_port, timeout=60)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)

        node = Node(binary, work, endpoint, segment_mib)
        node.configure(remote=False)
        node.start("node-ingest.log", node.smtp)
        size, clients = 256 << 10, 4
        per = mib * MIB // size // clients
        started = time.perf_counter()
        with multiprocessing.Pool(clients) as pool:
            pool.map(send, [(node.smtp, c * per, per, size) for c in range(clients)])
        ingest = time.perf_counter() - started
        node.stop()

        sealed = node.files(".seg")[:-1]  # the newest is the active segment
        sealed_bytes = sum(os.path.getsize(os.path.join(node.archive, n)) for n in sealed)
        source = os.path.join(work, "awscli-source")
        os.mkdir(source)
        for name in sealed:
            os.link(os.path.join(node.archive, name), os.path.join(source, name))

        aws_first = awscli_copy(source, endpoint, "awscli-1/", moto.pid)
        upload = upload_phase(node, s3, sealed, sealed_bytes, moto.pid)
        aws_second = awscli_copy(source, endpoint, "awscli-2/", moto.pid)
        aws_mean = (aws_first["seconds"] + aws_second["seconds"]) / 2
        # For comparison, awscli the node's way: one file at a time, each in one PUT.
        sequential_config = os.path.join(work, "aws-sequential.ini")
        open(sequential_config, "w").write("[default]\ns3 =\n  max_concurrent_requests = 1\n  multipart_threshold = 5GB\n")
        aws_sequential = awscli_copy(source, endpoint, "awscli-sequential/", moto.pid, sequential_config)

        budget = sealed_bytes // 4
        stubs = eviction_phase(node, budget)
        if stubs:
            reads_result = read_phase(node, stubs, reads)
        else:
            reads_result = {"skipped": f"no segment evicted within {EVICTION_WAIT} s with local_max_bytes = {budget}: "
                                       "this binary does not evict (eviction is issue 27's next part)"}
            print(reads_result["skipped"])

        result = {
            "messages": per * clients, "message_bytes": size, "ingest_seconds": round(ingest, 1), "segment_mib": segment_mib,
            "sealed_segments": len(sealed), "sealed_bytes": sealed_bytes,
            "awscli": [{**run, "mib_s": round(sealed_bytes / MIB / run["seconds"], 1), "listed": listed_bytes(s3, prefix)}
                       for run, prefix in ((aws_first, "awscli-1/"), (aws_second, "awscli-2/"))],
            "awscli_sequential": {**aws_sequential, "mib_s": round(sealed_bytes / MIB / aws_sequential["seconds"], 1),
                                  "listed": listed_bytes(s3, "awscli-sequential/")},
            "node": upload,
            "ratio_node_to_awscli": round(aws_mean / upload["seconds_to_every_recorded"], 2),
            "local_max_bytes": budget,
            "reads": reads_result,
            "versions": {"aws": " ".join(subprocess.run(["aws", "--version"], capture_output=True, text=True).stdout.split()[:1]),
                         "moto": subprocess.run([sys.executable, "-c", "import moto; print(moto.__version__)"],
                                                capture_output=True, text=True).stdout.strip()},
        }
        stamp = time.strftime("%Y-%m-%dT%H%M", time.gmtime())
        path = os.path.join(out, f"{stamp}-remote.json")
        json.dump(result, open(path, "w"), indent=2)
        print(json.dumps(result, indent=2))
        print("written", path)
    finally:
        if node and node.process and node.process.poll() is None:
            node.stop()
        moto.terminate()
        moto.wait(timeout=60)
        if "--keep" not in sys.argv:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
