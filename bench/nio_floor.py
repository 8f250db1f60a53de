#!/usr/bin/python3
"""Where a node's CPU per message goes, against two servers that store nothing: Postfix's
smtp-sink and NIOFloorSink (Benchmarks/Sources/NIOFloorSink, the leanest SMTP sink SwiftNIO
allows). Same load as row (2) of the harness: smtp-source, 10 KB messages, 20 sessions, a
connection per message. Servers take turns, ROUNDS times; for each, msg/s and the CPU time
per message of the server and of smtp-source (/proc). Run through bench/nio_floor.sh.

usage: nio_floor.py ARCHIVERELAY NIOFLOORSINK [ROUNDS]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import free_port, wait_port  # noqa: E402

NODE, FLOOR = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
MESSAGES = 20000
SOURCE, SINK = "/usr/sbin/smtp-source", "/usr/sbin/smtp-sink"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def send(port, messages):
    args = [SOURCE, "-l", "10240", "-m", str(messages), "-s", "20", "-f", "bench@example.com",
            "-t", "journal@archive.example", f"127.0.0.1:{port}"]
    start = time.monotonic()
    before = os.times()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = os.times()
    elapsed = time.monotonic() - start
    source_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return elapsed, source_cpu


def measure(name, start_server):
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="nio-floor-") as work:
        server = start_server(port, work)
        try:
            wait_port(port)
            send(port, 2000)  # warm-up (and a fresh node's dictionary samples)
            cpu_before = cpu_seconds(server.pid)
            elapsed, source_cpu = send(port, MESSAGES)
            server_cpu = cpu_seconds(server.pid) - cpu_before
        finally:
            server.kill()
            server.wait()
    return {"server": name, "msgs_per_s": MESSAGES / elapsed,
            "server_us": server_cpu * 1e6 / MESSAGES, "source_us": source_cpu * 1e6 / MESSAGES}


def quiet(args):
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def node(loops):
    def start(port, work):
        extra = []
        if loops:
            config = os.path.join(work, "node.toml")
            with open(config, "w") as f:
                f.write(f'[node]\nevent_loop_threads = {loops}\n[[listener]]\nname = "journal"\naddress = "127.0.0.1:{port}"\n')
            extra = ["--config", config]
        else:
            extra = ["--listen", f"127.0.0.1:{port}"]
        return quiet([NODE, "serve", *extra, "--admin", f"127.0.0.1:{free_port()}", "--data-dir",
                      os.path.join(work, "data"), "--node-id", "floor", "--log-level", "error"])
    return start


SERVERS = [
    ("smtp-sink", lambda port, work: quiet([SINK, "-u", "nobody", f"127.0.0.1:{port}", "1000"])),
    ("NIOFloorSink, 1 loop", lambda port, work: quiet([FLOOR, str(port), "1"])),
    ("NIOFloorSink, 2 loops", lambda port, work: quiet([FLOOR, str(port), "2"])),
    ("archiverelay, 1 loop", node(1)),
    ("archiverelay, default", node(None)),
]

results = {name: [] for name, _ in SERVERS}
for _ in range(ROUNDS):
    for name, start in SERVERS:
        results[name].append(measure(name, start))

sink_rate = statistics.median(r["msgs_per_s"] for r in results["smtp-sink"])
print(f"{ROUNDS} rounds of {MESSAGES} messages; medians (ranges)\n")
print("| server | msg/s | of smtp-sink | server CPU us/msg | smtp-source CPU us/msg |")
print("| --- | --- | --- | --- | --- |")
for name, runs in results.items():
    def cell(key, fmt="{:.0f}"):
        values = [r[key] for r in runs]
        return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"
    rate = statistics.median(r["msgs_per_s"] for r in runs)
    print(f"| {name} | {cell('msgs_per_s')} | {rate / sink_rate:.2f} | {cell('server_us')} | {cell('source_us')} |")
