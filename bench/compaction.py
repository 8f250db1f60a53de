#!/usr/bin/env python3
"""Compaction throughput (issue 26's closing figure): MB/s of segments expiry rewrites,
against a plain sequential copy (read, write, fsync) of the same segment files on the same
disk, in one run.

    python3 bench/compaction.py BINARY OUT_DIR [--messages N] [--segment-mib M]

A node archives N distinct messages made from the shared corpus (a new Message-ID and
sender each; every other one from @expire.example), sealed into segments of M MiB. With
the node stopped, the sealed segments are copied once (the reference), then
`archive expire` removes the @expire.example half as of two days later
(ARCHIVERELAY_EXPIRY_SKEW_DAYS, the tests' clock hook) and reports how many segment bytes
it rewrote and how long the rewrite took. Both read segments the node has just written,
so both find them in the page cache: what differs is what each writes and syncs.
"""
import json
import multiprocessing
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

CORPUS = "/work/shared/corpus/spamassassin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def templates():
    names = sorted(n for n in os.listdir(CORPUS) if n != "LICENSE.txt")
    out = []
    for name in names:
        raw = open(os.path.join(CORPUS, name), "rb").read().replace(b"\r\n", b"\n")
        head, _, body = raw.partition(b"\n\n")
        keep = [l for l in head.split(b"\n") if not l.lower().startswith((b"message-id:", b"from:"))]
        out.append((b"\r\n".join(keep), body.replace(b"\n", b"\r\n")))
    return out


def send(args):
    port, start, count = args
    parts = templates()
    with smtplib.SMTP("127.0.0.1", port) as s:
        for i in range(start, start + count):
            head, body = parts[i % len(parts)]
            sender = f"s{i}@{'expire' if i % 2 else 'keep'}.example"
            message = b"Message-ID: <compaction-%d@bench.example>\r\nFrom: %s\r\n" % (i, sender.encode()) + head + b"\r\n\r\n" + body
            s.sendmail(sender, ["journal@archive.example"], message)


def sequential_copy(paths, into):
    """Seconds to copy the files one after another, each written and fsynced."""
    started = time.perf_counter()
    for path in paths:
        target = os.path.join(into, os.path.basename(path))
        with open(path, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(4 << 20):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
    fd = os.open(into, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - started


def main():
    binary, out = sys.argv[1], sys.argv[2]
    messages = int(sys.argv[sys.argv.index("--messages") + 1]) if "--messages" in sys.argv else 60000
    segment_mib = int(sys.argv[sys.argv.index("--segment-mib") + 1]) if "--segment-mib" in sys.argv else 32
    work = tempfile.mkdtemp(prefix="compaction-", dir=os.environ.get("BENCH_TMP", "/work/wt/tmp"))
    try:
        data, port, admin = os.path.join(work, "data"), free_port(), free_port()
        config = os.path.join(work, "node.toml")
        open(config, "w").write(f"""
[node]
id = "bench"
data_dir = "{data}"
admin = "127.0.0.1:{admin}"

[[listener]]
name = "journal"
address = "127.0.0.1:{port}"

[archive]
segment_max_bytes = {segment_mib << 20}
search_index = true

[retention]
default = "forever"
expire_every_seconds = 2592000

[[retention.rule]]
name = "expire"
keep = "1d"
senders = ["@expire.example"]
""")
        node = subprocess.Popen([binary, "serve", "--config", config, "--log-level", "error"], stderr=open(os.path.join(work, "node.log"), "w"))
        wait_port(port)
        started = time.perf_counter()
        workers = 8
        per = messages // workers
        with multiprocessing.Pool(workers) as pool:
            pool.map(send, [(port, w * per, per) for w in range(workers)])
        ingest = time.perf_counter() - started
        node.terminate()
        node.wait(timeout=600)
        archive = os.path.join(data, "archive")
        segments = sorted(os.path.join(archive, n) for n in os.listdir(archive) if n.endswith(".seg"))
        sealed = segments[:-1]  # the newest is the active segment: expiry leaves it
        sealed_bytes = sum(os.path.getsize(p) for p in sealed)
        copy_dir = os.path.join(work, "copy")
        os.mkdir(copy_dir)
        copy_seconds = sequential_copy(sealed, copy_dir)
        shutil.rmtree(copy_dir)
        du_before = int(subprocess.check_output(["du", "-sk", archive]).split()[0])
        if "--stop-before-expire" in sys.argv:  # for profiling: the archive stays, nothing expired
            print("archive at", data, "config", config)
            return
        run = subprocess.run([binary, "archive", "expire", "--config", config, "--json"], capture_output=True,
                             env={**os.environ, "ARCHIVERELAY_EXPIRY_SKEW_DAYS": "2"}, check=True)
        report = json.loads(run.stdout.decode().strip().splitlines()[-1])
        du_after = int(subprocess.check_output(["du", "-sk", archive]).split()[0])
        verify = subprocess.run([binary, "archive", "verify", "--data-dir", data], capture_output=True)
        mib = 1 << 20
        result = {
            "messages": messages, "ingest_seconds": round(ingest, 1), "segment_mib": segment_mib,
            "sealed_segments": len(sealed), "sealed_bytes": sealed_bytes,
            "copy_seconds": round(copy_seconds, 3), "copy_mib_s": round(sealed_bytes / mib / copy_seconds, 1),
            "expire": report,
            "compaction_mib_s": round(report["segment_bytes"] / mib / report["compaction_seconds"], 1),
            "expire_run_mib_s": round(report["segment_bytes"] / mib / report["seconds"], 1),
            "du_kib_before": du_before, "du_kib_after": du_after,
            "verify_exit": verify.returncode,
        }
        result["ratio_to_copy"] = round(result["compaction_mib_s"] / result["copy_mib_s"], 2)
        stamp = time.strftime("%Y-%m-%dT%H%M", time.gmtime())
        path = os.path.join(out, f"{stamp}-compaction.json")
        json.dump(result, open(path, "w"), indent=2)
        print(json.dumps(result, indent=2))
        print("written", path)
    finally:
        if "--stop-before-expire" not in sys.argv:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
