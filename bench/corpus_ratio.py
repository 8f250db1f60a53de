#!/usr/bin/env python3
"""Stored/raw bytes of the shared corpus, sent over SMTP into fresh `archiverelay serve` nodes.

Two figures, both from the archive's on-disk segment files (records, dictionary records,
segment headers and footers: everything the archive keeps except the derived index):

- cold: the whole corpus, shuffled with a fixed seed, into an empty archive. The node
  starts with no dictionary, so this includes the messages stored before the first one
  was trained, and the dictionary records themselves.
- steady: two-fold. A node receives one half first (its "recent traffic", from which it
  trains its dictionary), then the other half; only the records of the second half count
  (their full on-disk record size: framing, compressed metadata and body). Done both
  ways round and summed. This is what a node that has been running a while stores per
  message: no message is ever compressed with a dictionary trained on itself. The
  dictionary record itself (at most 112 KiB, once per 256 MiB segment, i.e. <0.05%) is
  reported apart as dictionary_bytes.

Usage: corpus_ratio.py BINARY CORPUS_DIR WORK_DIR   -> prints JSON {"cold": r, "steady": r}
"""
import json, os, random, smtplib, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import free_port, wait_port  # noqa: E402

binary, corpus, work = sys.argv[1:4]

def messages():
    out = []
    for name in sorted(os.listdir(corpus)):
        if not name.startswith(("nice_", "spam_")):
            continue
        data = open(os.path.join(corpus, name), "rb").read()
        if data.startswith(b"From "):
            data = data.split(b"\n", 1)[1]
        out.append(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    random.Random(7).shuffle(out)
    return out

def listing(data_dir):
    out = subprocess.run([binary, "archive", "list", "--json", "--data-dir", data_dir], capture_output=True, check=True).stdout
    return {row["id"]: row for row in map(json.loads, out.decode().splitlines())}

def dictionary_bytes(data_dir):
    import struct
    d, total = os.path.join(data_dir, "archive"), 0
    for name in sorted(f for f in os.listdir(d) if f.endswith(".seg")):
        b, off = open(os.path.join(d, name), "rb").read(), 72
        while off + 24 <= len(b):
            magic, _, kind, body, meta = struct.unpack_from("<IHHII", b, off)
            if magic != 0x52435241 or kind != 2:
                break  # dictionary records only precede a segment's messages
            length = ((24 + body + meta + 7) & ~7) + 8
            total += length; off += length
    return total

def arrival_bytes(data_dir, originals):
    """Bytes of the arrival records of `originals` that have a record of their own (a
    later arrival; the first is in the original's record), from the index."""
    import sqlite3
    db = sqlite3.connect(f"file:{data_dir}/archive/index.sqlite?mode=ro", uri=True)
    try:
        rows = db.execute("""SELECT a.message, a.stored_size FROM arrivals a JOIN messages m ON a.message = m.sha256
                             WHERE a.segment != m.segment OR a.offset != m.offset""").fetchall()
        return sum(size for message, size in rows if message in originals)
    except sqlite3.OperationalError:
        return 0  # a binary from before arrivals: nothing but message records
    finally:
        db.close()

def archive_bytes(data_dir):
    d = os.path.join(data_dir, "archive")
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".seg"))

class Node:
    def __init__(self, name):
        self.data = os.path.join(work, name)
        self.port = free_port()
        os.makedirs(work, exist_ok=True)
        self.log = os.path.join(work, name + ".log")
        self.proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{self.port}",
                                      "--admin", f"127.0.0.1:{free_port()}", "--data-dir", self.data,
                                      "--node-id", name, "--log-level", "info"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"))
        try:
            wait_port(self.port)
        except RuntimeError:
            raise SystemExit("node did not start")

    def send(self, batch, settle=True):
        with smtplib.SMTP("127.0.0.1", self.port) as s:
            for m in batch:
                s.sendmail("corpus@example.com", ["journal@archive.example"], m)
        if settle:
            self.await_training()

    def await_training(self, seconds=120):
        # Half the corpus makes one training (its samples pass 256 KiB once). It runs at
        # niceness 10, so on a busy machine it can take seconds: until 2026-11-30 a fixed
        # 1 s sleep stood here, and one run measured part of the second half without the
        # dictionary (0.394 against 0.391).
        deadline = time.time() + seconds
        while time.time() < deadline:
            text = open(self.log, "rb").read()
            if b"compression dictionary trained" in text or b"dictionary not trained" in text:
                return
            time.sleep(0.05)
        raise SystemExit("no dictionary training finished within %d s" % seconds)

    def stop(self):
        self.proc.terminate(); self.proc.wait(30)

msgs = messages()
raw = sum(map(len, msgs))
# Measured after a clean stop: a running node keeps up to 1 MiB of written zeros after the
# last record of its active segment (preallocation, FORMAT.md), cut at shutdown.
node = Node("cold"); node.send(msgs, settle=False); node.stop(); cold = archive_bytes(node.data) / raw

half = len(msgs) // 2
stored = measured_raw = dictionaries = 0
for fold, (first, second) in enumerate(((msgs[:half], msgs[half:]), (msgs[half:], msgs[:half]))):
    node = Node(f"steady{fold}")
    node.send(first)
    before = listing(node.data)
    node.send(second, settle=False)
    node.stop()
    new = [row for key, row in listing(node.data).items() if key not in before]
    stored += sum(row["stored_size"] for row in new) + arrival_bytes(node.data, {row["sha256"] for row in new})
    measured_raw += sum(row["size"] for row in new)
    dictionaries += dictionary_bytes(node.data)
print(json.dumps({"messages": len(msgs), "raw_bytes": raw, "cold": round(cold, 3),
                  "steady": round(stored / measured_raw, 3), "dictionary_bytes": dictionaries // 2}))
