#!/usr/bin/python3
"""archiverelay benchmark harness (issue 6): every figure in one run, on loopback, each as a
ratio to its reference measured in the same run. Run through `bench/run`, which installs
the Debian packages and builds the release binary. See bench/README.md.

usage: harness.py BINARY OUT_DIR [--quick | --forwarding | --memory | --journal | --search [--search-messages N]]
"""
import datetime
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import free_port, wait_port  # noqa: E402
from postfix_relay import PostfixRelay  # noqa: E402
import journal_reports  # noqa: E402
import search  # noqa: E402

BINARY, OUT = sys.argv[1], sys.argv[2]
QUICK = "--quick" in sys.argv
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "spamassassin")
MESSAGES = 4000 if QUICK else 20000
ROUNDS = 1 if QUICK else 3
SOURCE, SINK = "/usr/sbin/smtp-source", "/usr/sbin/smtp-sink"
work = tempfile.mkdtemp(prefix="archiverelay-bench-")
os.chmod(work, 0o755)  # Postfix's own processes (user postfix) work inside it
children = []


def spawn(args, **kw):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=kw.pop("stderr", subprocess.DEVNULL), **kw)
    children.append(p)
    return p


def sink(port):
    p = spawn([SINK, "-u", "nobody", f"127.0.0.1:{port}", "1000"])
    wait_port(port)
    return p


class Node:
    def __init__(self, name, extra=()):
        self.data = os.path.join(work, name)
        self.port, self.admin = free_port(), free_port()
        while self.admin == self.port:  # the kernel may hand out the same free port twice
            self.admin = free_port()
        # The node's errors go to a file, so a node that does not come up says why.
        self.log = os.path.join(work, name + ".log")
        with open(self.log, "ab") as log:
            self.proc = spawn([BINARY, "serve", "--listen", f"127.0.0.1:{self.port}", "--admin", f"127.0.0.1:{self.admin}",
                               "--data-dir", self.data, "--node-id", name, "--log-level", "error", *extra], stderr=log)
        try:
            wait_port(self.port)
        except RuntimeError as error:
            status = self.proc.poll()
            with open(self.log, errors="replace") as log:
                tail = log.read()[-2000:]
            raise RuntimeError(f"node {name} not listening (exit status {status}): {tail}") from error

    def rss_kib(self, field="VmRSS"):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def stats(self, *extra):
        out = subprocess.run([BINARY, "archive", "stats", "--json", "--data-dir", self.data, *extra], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def metric(self, prefix, default=0.0):
        """The first admin /metrics sample whose line starts with `prefix`; `default` when
        there is none."""
        import urllib.request
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=10).read().decode()
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line.split()[-1])
        return default

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)


def source_rate(port, count=MESSAGES, size=10240, sessions=20, reuse=False):
    """msg/s of smtp-source against `port`; `reuse` sends every session's messages over one
    connection (`-d`) instead of a connection per message."""
    start = time.time()
    subprocess.run([SOURCE, *(["-d"] if reuse else []), "-l", str(size), "-m", str(count), "-s", str(sessions),
                    "-f", "bench@example.com", "-t", "journal@archive.example", f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL)
    return count / (time.time() - start)


def interleaved(ports, rounds=None, **kw):
    """Median msg/s per port over ROUNDS rounds, the ports taking turns; `rounds`, a dict,
    receives each port's figures in order."""
    rates = {p: [] for p in ports}
    for _ in range(ROUNDS):
        for p in ports:
            rates[p].append(source_rate(p, **kw))
    if rounds is not None:
        rounds.update({p: [round(x) for x in r] for p, r in rates.items()})
    return {p: round(statistics.median(r)) for p, r in rates.items()}


class ConfigNode(Node):
    """A node started from a TOML file: a journal listener, an HA listener (trust_trace),
    and whatever connections and routes `extra` adds."""

    def __init__(self, name, extra, node_extra=""):
        self.data = os.path.join(work, name)
        os.makedirs(self.data, exist_ok=True)
        self.port, self.ha, self.admin = free_port(), free_port(), free_port()
        config = self.config = os.path.join(work, name + ".toml")
        with open(config, "w") as f:
            f.write(f"""[node]
id = "{name}"
data_dir = "{self.data}"
admin = "127.0.0.1:{self.admin}"
{node_extra}

[[listener]]
name = "journal"
address = "127.0.0.1:{self.port}"
max_connections = 2000

[[listener]]
name = "ha"
address = "127.0.0.1:{self.ha}"
trust_trace = true

{extra}
""")
        self.proc = spawn([BINARY, "serve", "--config", config, "--log-level", "error"])
        wait_port(self.port)


def connection(name, port, max_connections=4):
    return f"""[[connection]]
name = "{name}"
host = "127.0.0.1"
port = {port}
tls = "none"
max_connections = {max_connections}
min_backoff_seconds = 1
max_backoff_seconds = 1
"""


# 1 + 2 ---------------------------------------------------------------------------------

def ceiling_and_single():
    """(1), (2) with the default configuration, and (2) with one event loop thread (what
    an operator sets on a machine the node shares with its clients, as here with
    smtp-source), in the same interleaved rounds."""
    sp = free_port()
    sink(sp)
    node = Node("single")
    one_loop = ConfigNode("single-one-loop", "", node_extra="event_loop_threads = 1")
    each = {}
    rates = interleaved([sp, node.port, one_loop.port], rounds=each)
    stats = node.stats()
    node.stop()
    # For comparison, not a target: the same with connections reused, which takes the
    # connection's setup and teardown (accept, greeting, EHLO, QUIT, close) out of both.
    each_reused = {}
    reused = interleaved([sp, one_loop.port], rounds=each_reused, reuse=True)
    one_loop.stop()
    ratios = [[round(n / c, 2) for n, c in zip(each[port], each[sp])] for port in (node.port, one_loop.port)]
    ratios.append([round(n / c, 2) for n, c in zip(each_reused[one_loop.port], each_reused[sp])])
    return rates[sp], rates[node.port], rates[one_loop.port], stats, ratios, {"sink": reused[sp], "node": reused[one_loop.port]}


# 3: Postfix relay reference ------------------------------------------------------------

def postfix_reference():
    sp, pp = free_port(), free_port()
    sink(sp)
    relay = PostfixRelay(work, pp, sp)
    relay.start()
    try:
        wait_port(pp)
        count = MESSAGES // 4
        start = time.time()
        accepted = source_rate(pp, count=count)
        drained = relay.wait_empty()
        end_to_end = count / (drained - start)
    finally:
        relay.stop()
    return round(accepted), round(end_to_end)


# 3: chain A -> B ------------------------------------------------------------------------

def chain():
    """smtp-source -> A (archive + forward) -> B (archive): msg/s from the first message
    sent to the moment B has archived the last one."""
    b = ConfigNode("chain-b", '[[route]]\nname = "ha"\nlisteners = ["ha"]\n')
    a = ConfigNode("chain-a", connection("b", b.ha) + '[[route]]\nname = "journal"\nlisteners = ["journal"]\nforward = ["b"]\n')
    count = MESSAGES // 2
    start = time.time()
    accepted = source_rate(a.port, count=count)
    while b.metric("smtp_messages_received_total{listener=\"ha\"") < count:
        time.sleep(0.05)
    done = time.time()
    a.stop(); b.stop()
    return round(accepted), round(count / (done - start))


def relay_and_chain():
    """(3) as medians of ROUNDS rounds, Postfix and the chain taking turns: on this shared
    machine one Postfix run alone ranged 463-721 msg/s end to end within an hour."""
    rounds = []
    for _ in range(ROUNDS):
        rounds.append((postfix_reference(), chain()))

    def summary(which):
        runs = [r[which] for r in rounds]
        return {"accepted": round(statistics.median(a for a, _ in runs)),
                "end_to_end": round(statistics.median(e for _, e in runs)),
                "rounds": [{"accepted": a, "end_to_end": e} for a, e in runs]}
    return summary(0), summary(1)


# 4: catch-up ---------------------------------------------------------------------------

def catch_up():
    """A backlog queued while smtp-sink is down, then drained to it: msg/s from the
    sink's start to an empty queue."""
    count = 10000 if QUICK else 50000
    sp = free_port()
    # 16 parallel connections (the default is 4): a peer on the same LAN, drained the way
    # smtp-source's 20 sessions fill the ceiling. With 4 the drain is bound by latency
    # (one message in flight per connection), not by CPU.
    a = ConfigNode("catch-up", connection("sink", sp, max_connections=16) + '[[route]]\nname = "all"\nforward = ["sink"]\n')
    source_rate(a.port, count=count)
    while a.metric('forward_queue_depth{connection="sink"') < count:
        time.sleep(0.2)
    start = time.time()
    sink(sp)
    while a.metric('forward_queue_depth{connection="sink"') > 0:
        time.sleep(0.02)
    rate = count / (time.time() - start)
    a.stop()
    return count, round(rate)


# 5: latency at half the maximum --------------------------------------------------------

def smtp_reply(f):
    """Reads one (possibly multi-line) SMTP reply from a socket file; returns its last line."""
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    return line


def fdatasync_times(directory, n=400):
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    block = os.urandom(4096)
    for i in range(n):
        os.pwrite(fd, block, i * 4096)
        t = time.perf_counter()
        os.fdatasync(fd)
        times.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    return times


def latency(max_rate):
    node = Node("latency")
    os.makedirs(node.data, exist_ok=True)
    # The disk's sync time drifts with the host's other I/O (medians of 0.125 and 0.198 ms
    # a minute apart): it is probed before and after the run, and the reference is the
    # median of both probes' samples.
    fsync_before = fdatasync_times(node.data)
    target = max_rate / 2
    duration = 5 if QUICK else 15
    clients = 8
    per_client = target / clients
    samples = []
    body = (b"X" * 78 + b"\r\n") * 128  # 10 KB

    # The clients' schedules are staggered by 1/target: arrivals spread evenly instead of
    # all eight dots landing together every 8/target seconds, a burst no real load has.
    begin = time.perf_counter() + 0.5

    def client(i):
        s = socket.create_connection(("127.0.0.1", node.port))
        # The final dot goes out as its own small write: without NODELAY, Nagle holds it
        # for the server's delayed ACK (40 ms) and the figure measures TCP, not us.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")

        def reply():
            return smtp_reply(f)

        reply()
        s.sendall(b"EHLO latency.test\r\n")
        reply()
        mine = []
        start = begin + i / target
        n = 0
        while time.perf_counter() - start < duration:
            due = start + n / per_client
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            s.sendall(b"MAIL FROM:<l@example.com>\r\nRCPT TO:<j@archive.example>\r\nDATA\r\n")
            reply(); reply(); reply()
            s.sendall(b"Subject: latency %d %d\r\n\r\n" % (i, n) + body)
            t = time.perf_counter()
            s.sendall(b".\r\n")
            if reply()[:3] == b"250":
                mine.append(time.perf_counter() - t)
            n += 1
        s.sendall(b"QUIT\r\n")
        s.close()
        samples.extend(mine)

    # One process per client, not one thread: in one Python process a thread whose reply
    # has arrived can wait for the GIL up to its 5 ms switch interval while another client
    # builds its next message, and p99.9 then measured Python (until 2026-11-30).
    def run(i, conn):
        client(i)
        conn.send(samples)
        conn.close()

    pipes, procs = [], []
    for i in range(clients):
        parent, child = multiprocessing.Pipe(duplex=False)
        proc = multiprocessing.get_context("fork").Process(target=run, args=(i, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for parent in pipes:
        samples.extend(parent.recv())
    for proc in procs:
        proc.join()
    fsync_after = fdatasync_times(node.data)
    node.stop()
    fsync = statistics.median(fsync_before + fsync_after)
    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(p * len(samples)))] * 1000

    return {"offered_msgs_per_s": round(target), "achieved_msgs_per_s": round(len(samples) / duration),
            "p50_ms": round(pct(0.5), 3), "p99_ms": round(pct(0.99), 3), "p999_ms": round(pct(0.999), 3),
            "fdatasync_median_ms": round(fsync * 1000, 3),
            "fdatasync_median_before_ms": round(statistics.median(fsync_before) * 1000, 3),
            "fdatasync_median_after_ms": round(statistics.median(fsync_after) * 1000, 3),
            "samples": len(samples)}


# 6: memory -----------------------------------------------------------------------------

def at_once(count, session):
    """Runs session(i) for i in range(count), each in its own thread, all at once; returns
    their results by i."""
    results = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, session(i))) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def memory():
    node = Node("memory")
    base = node.rss_kib()
    conns = []
    for _ in range(1000):
        s = socket.create_connection(("127.0.0.1", node.port))
        conns.append(s)
    for s in conns:
        s.recv(512)
        s.sendall(b"EHLO idle.test\r\n")
    time.sleep(2)
    idle = node.rss_kib()
    for s in conns:
        s.close()
    time.sleep(1)
    # 20 concurrent 25 MB messages (just under the default 25 MiB limit... of 25 MB).
    size = 24 * 1000 * 1000
    line = b"Y" * 998 + b"\r\n"
    chunk = line * 1000

    def big(i):
        s = socket.create_connection(("127.0.0.1", node.port))
        f = s.makefile("rb")

        def reply():
            return smtp_reply(f)

        reply()
        s.sendall(b"EHLO big.test\r\n"); reply()
        s.sendall(b"MAIL FROM:<b@example.com>\r\n"); reply()
        s.sendall(b"RCPT TO:<j@archive.example>\r\n"); reply()
        s.sendall(b"DATA\r\n"); reply()
        s.sendall(b"Subject: big %d %f\r\n\r\n" % (i, time.time()))
        sent = 0
        while sent < size:
            s.sendall(chunk)
            sent += len(chunk)
        s.sendall(b".\r\n")
        code = reply()[:3]
        s.close()
        return code

    results = at_once(20, big)
    peak = node.rss_kib("VmHWM")
    node.stop()
    return {"baseline_mib": round(base / 1024, 1), "idle_1000_connections_mib": round(idle / 1024, 1),
            "peak_20x24MB_mib": round(peak / 1024, 1), "big_replies": sorted(set(r.decode() for r in results.values()))}


def random_memory(sessions=10, size=50 * 1000 * 1000):
    """Row 6, incompressible: peak RSS while `sessions` clients send `size` bytes of random
    content each by BDAT at once (issue 22: 617 MiB held, 1,099 MiB peak before the
    records of messages in flight had a budget). Fresh random bytes per piece: a repeated
    block would compress within zstd's window."""
    node = Node("memory-random")
    base = node.rss_kib()
    piece = 1 << 20

    def big(i):
        s = socket.create_connection(("127.0.0.1", node.port))
        f = s.makefile("rb")
        smtp_reply(f)
        for command in (b"EHLO random.test\r\n", b"MAIL FROM:<b@example.com>\r\n", b"RCPT TO:<j@archive.example>\r\n"):
            s.sendall(command)
            smtp_reply(f)
        header = b"Subject: random %d %f\r\n\r\n" % (i, time.time())
        s.sendall(b"BDAT %d LAST\r\n" % (len(header) + size) + header)
        sent = 0
        while sent < size:
            n = min(piece, size - sent)
            s.sendall(os.urandom(n))
            sent += n
        code = smtp_reply(f)[:3]
        s.close()
        return code

    results = at_once(sessions, big)
    peak = node.rss_kib("VmHWM")
    node.stop()
    return {"baseline_mib": round(base / 1024, 1), "sessions": sessions, "size": size,
            "peak_mib": round(peak / 1024, 1), "replies": sorted(set(r.decode() for r in results.values()))}


def memory_row(m):
    return (f"| 6 | RSS: 1,000 idle connections / 20 concurrent 24 MB messages | {m['idle_1000_connections_mib']} MiB / "
            f"{m['peak_20x24MB_mib']} MiB peak (baseline {m['baseline_mib']} MiB) | | <= 64 / <= 256 MiB |")


def random_memory_row(m):
    return (f"| 6 | RSS: {m['sessions']} concurrent {m['size'] // 1000 // 1000} MB random (incompressible) BDAT messages | "
            f"{m['peak_mib']} MiB peak (baseline {m['baseline_mib']} MiB; replies {', '.join(m['replies'])}) | | <= 512 MiB |")


# 7: storage ----------------------------------------------------------------------------

def storage(single_stats):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "corpus_ratio.py"), BINARY, CORPUS, work],
                         capture_output=True, text=True, check=True)
    corpus = json.loads(out.stdout.strip().splitlines()[-1])
    return {"corpus_steady": corpus["steady"], "corpus_cold": corpus["cold"],
            "corpus_dictionary_bytes": corpus["dictionary_bytes"],
            "smtp_source_10k": round(single_stats["stored_bytes"] / single_stats["raw_bytes"], 3)}


# 8: scaling ----------------------------------------------------------------------------

def scaling():
    sp = free_port()
    sink(sp)
    node = Node("scaling")
    rows = []
    for sessions in (1, 5, 20, 100):
        count = max(1000, MESSAGES // 4)
        r = interleaved([sp, node.port], count=count, sessions=sessions)
        rows.append({"sessions": sessions, "size": 10240, "sink": r[sp], "archiverelay": r[node.port]})
    for size in (1024, 10240, 102400, 1048576):
        count = max(200, min(MESSAGES // 4, (200 << 20) // size))
        r = interleaved([sp, node.port], count=count, size=size)
        rows.append({"sessions": 20, "size": size, "sink": r[sp], "archiverelay": r[node.port]})
    node.stop()
    return rows


# report --------------------------------------------------------------------------------

def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = results["scaling"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    by_sessions = [r for r in rows if r["size"] == 10240 and r in rows[:4]]
    a.plot([r["sessions"] for r in by_sessions], [r["sink"] for r in by_sessions], "o--", label="smtp-sink (no storage)")
    a.plot([r["sessions"] for r in by_sessions], [r["archiverelay"] for r in by_sessions], "o-", label="archiverelay serve")
    a.axhline(results["postfix_relay"]["accepted"], color="gray", linestyle=":", label="Postfix relay (accepted)")
    a.set_xscale("log"); a.set_xlabel("sessions (10 KB messages)"); a.set_ylabel("msg/s"); a.legend(); a.grid(alpha=.3)
    by_size = rows[4:]
    b.plot([r["size"] for r in by_size], [r["sink"] for r in by_size], "o--", label="smtp-sink")
    b.plot([r["size"] for r in by_size], [r["archiverelay"] for r in by_size], "o-", label="archiverelay serve")
    b.set_xscale("log"); b.set_yscale("log"); b.set_xlabel("message size, bytes (20 sessions)"); b.legend(); b.grid(alpha=.3)
    fig.suptitle(f"archiverelay vs references, {results['date']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def rounds(figure):
    """The end-to-end figure of each round, in order."""
    return "rounds: " + ", ".join(str(x["end_to_end"]) for x in figure.get("rounds", []))


def markdown(r):
    c, s = r["ceiling"], r["single_node"]
    lines = ["| # | measure | value | ratio | target |", "| --- | --- | --- | --- | --- |",
             f"| 1 | ceiling: smtp-source -> smtp-sink, 10 KB, 20 sessions | {c} msg/s | 1 | |",
             f"| 2 | single node, archive only, durable | {s} msg/s | {s / c:.2f} of (1) "
             f"(rounds: {', '.join(map(str, r['single_node_round_ratios']))}) | >= 0.7 |",
             f"| 2 | the same with `event_loop_threads = 1` | {r['single_node_one_loop']} msg/s | "
             f"{r['single_node_one_loop'] / c:.2f} of (1) (rounds: {', '.join(map(str, r['single_node_one_loop_round_ratios']))}) | >= 0.7 |",
             f"| 2 | for comparison: one event loop, connections reused (`smtp-source -d`), against smtp-sink also with `-d` | "
             f"{r['connections_reused']['node']} msg/s (smtp-sink {r['connections_reused']['sink']}) | "
             f"{r['connections_reused']['node'] / r['connections_reused']['sink']:.2f} of smtp-sink (rounds: "
             f"{', '.join(map(str, r['connections_reused']['round_ratios']))}) | |",
             f"| 3 | Postfix relay (queue on disk) -> smtp-sink, median of {r['rounds']} | {r['postfix_relay']['accepted']} msg/s accepted, "
             f"{r['postfix_relay']['end_to_end']} msg/s end to end ({rounds(r['postfix_relay'])}) | | |",
             f"| 3 | chain A -> B end to end (A archives and forwards, B archives), median of {r['rounds']} | {r['chain']['end_to_end']} msg/s "
             f"({r['chain']['accepted']} msg/s accepted by A; {rounds(r['chain'])}) | {r['chain']['end_to_end'] / max(r['postfix_relay']['end_to_end'], 1):.1f}x Postfix end to end | >= 3x Postfix |",
             f"| 4 | catch-up of {r['catch_up']['backlog']:,} queued, drained to smtp-sink | {r['catch_up']['rate']} msg/s | "
             f"{r['catch_up']['rate'] / c:.2f} of (1) | >= 0.6 of (1) |"]
    l = r["latency"]
    lines.append(f"| 5 | latency final dot -> 250 at {l['offered_msgs_per_s']} msg/s offered | p50 {l['p50_ms']} ms, "
                 f"p99 {l['p99_ms']} ms, p99.9 {l['p999_ms']} ms; median fdatasync {l['fdatasync_median_ms']} ms | "
                 f"p99 = {l['p99_ms'] / max(l['fdatasync_median_ms'], 1e-6):.1f}x fdatasync | <= 10x |")
    m = r["memory"]
    lines.append(memory_row(m))
    lines.append(random_memory_row(r["random_memory"]))
    st = r["storage"]
    lines.append(f"| 7 | stored / raw: corpus steady state / cold; 10 KB smtp-source | {st['corpus_steady']} / "
                 f"{st['corpus_cold']}; {st['smtp_source_10k']} | | <= 0.40 (corpus) |")
    if "journal" in r:
        lines.append(journal_reports.row(r["journal"]))
    if "search" in r:
        lines += search.rows(r["search"]) if "error" not in r["search"] else [f"| 10 | search | failed: {r['search']['error']} | | |"]
    for row in r["scaling"]:
        lines.append(f"| 8 | {row['sessions']} sessions, {row['size']} B | sink {row['sink']}, archiverelay "
                     f"{row['archiverelay']} msg/s | {row['archiverelay'] / row['sink']:.2f} | |")
    return "\n".join(lines)


def journal():
    """(9): journal reports against plain messages of the same originals (bench/journal_reports.py)."""
    plain, reports = Node("journal-plain"), Node("journal-reports")
    try:
        return journal_reports.measure(plain, reports, originals=1000 if QUICK else 4000, rounds=ROUNDS)
    finally:
        plain.stop()
        reports.stop()


def search_row():
    """(10): search against notmuch (bench/search.py): the archive generated, ingested by a
    fresh node, queried on both sides; then `archive reindex` on the stopped node."""
    index = sys.argv.index("--search-messages") if "--search-messages" in sys.argv else None
    count = int(sys.argv[index + 1]) if index else (5000 if QUICK else 100000)
    node = Node("search")
    try:
        result = search.measure(node, BINARY, work, CORPUS, count)
    finally:
        node.stop()
    result["reindex"] = search.reindex(BINARY, node.data)
    return result


def clean_up():
    """Kills what the run started and removes its work directory."""
    for p in children:
        if p.poll() is None:
            p.kill()
            p.wait()
    subprocess.run(["rm", "-rf", work])


def main():
    os.makedirs(OUT, exist_ok=True)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M")
    results = {"date": date, "messages": MESSAGES, "rounds": ROUNDS, "cpus": os.cpu_count()}
    try:
        ceiling, single, one_loop, single_stats, ratios, reused = ceiling_and_single()
        results["ceiling"], results["single_node"], results["single_node_one_loop"] = ceiling, single, one_loop
        results["single_node_round_ratios"], results["single_node_one_loop_round_ratios"], reused_ratios = ratios
        results["connections_reused"] = {**reused, "round_ratios": reused_ratios}
        results["postfix_relay"], results["chain"] = relay_and_chain()
        backlog, rate = catch_up()
        results["catch_up"] = {"backlog": backlog, "rate": rate}
        results["latency"] = latency(single)
        results["memory"] = memory()
        results["random_memory"] = random_memory()
        results["storage"] = storage(single_stats)
        results["scaling"] = scaling()
        results["journal"] = journal()
        try:
            results["search"] = search_row()
        except Exception as error:  # the newest row must not cost the run the other nine
            results["search"] = {"error": f"{type(error).__name__}: {error}"}
    finally:
        clean_up()
    with open(os.path.join(OUT, f"{date}.json"), "w") as f:
        json.dump(results, f, indent=2)
    table = markdown(results)
    with open(os.path.join(OUT, f"{date}.md"), "w") as f:
        f.write(table + "\n")
    plotted = plot(results, os.path.join(OUT, f"{date}.png"))
    print(table)
    print(f"\nwritten: {OUT}/{date}.json, .md" + (", .png" if plotted else " (no matplotlib: no plot)"))


def forwarding_only():
    """`--forwarding`: only the chain and catch-up figures, with the ceiling they are
    compared with (quick to re-run while working on the forward queue)."""
    try:
        sp = free_port()
        sink(sp)
        ceiling = round(statistics.median(source_rate(sp) for _ in range(ROUNDS)))
        accepted, end_to_end = chain()
        backlog, rate = catch_up()
        print(f"ceiling {ceiling} msg/s; chain accepted {accepted}, end to end {end_to_end} msg/s; "
              f"catch-up of {backlog}: {rate} msg/s = {rate / ceiling:.2f} of the ceiling")
    finally:
        clean_up()


def memory_only():
    """`--memory`: only row 6, compressible and random (the row to re-run after a change
    to how messages in flight are held)."""
    try:
        m, r = memory(), random_memory()
        print(memory_row(m))
        print(random_memory_row(r))
    finally:
        clean_up()


def journal_only():
    """`--journal`: only row 9."""
    try:
        print(journal_reports.row(journal()))
    finally:
        clean_up()


def search_only():
    """`--search`: only row 10; writes bench/results/<date>-search.json and .md."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M")
    try:
        result = search_row()
    finally:
        clean_up()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{date}-search.json"), "w") as f:
        json.dump({"date": date, "cpus": os.cpu_count(), "search": result}, f, indent=2)
    table = "\n".join(["| # | measure | value | ratio | target |", "| --- | --- | --- | --- | --- |", *search.rows(result)])
    with open(os.path.join(OUT, f"{date}-search.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    print(f"\nwritten: {OUT}/{date}-search.json, .md")


def latency_only():
    """`--latency RATE`: only row 5, at half of RATE msg/s (an A/B of two binaries)."""
    try:
        rate = int(sys.argv[sys.argv.index("--latency") + 1])
        l = latency(rate)
        print(f"p50 {l['p50_ms']} ms, p99 {l['p99_ms']} ms, p99.9 {l['p999_ms']} ms at {l['offered_msgs_per_s']} msg/s; "
              f"fdatasync {l['fdatasync_median_ms']} ms; p99 = {l['p99_ms'] / max(l['fdatasync_median_ms'], 1e-6):.1f}x")
    finally:
        clean_up()


def encryption_only():
    """`--encryption`: rows (2) and (7) without and with encryption at rest, in the same
    interleaved rounds against smtp-sink: two nodes alike but for `[archive]
    encryption_keys_file` (issue 27)."""
    try:
        keys = os.path.join(work, "keys.toml")
        with open(keys, "w") as f:
            f.write(subprocess.run([BINARY, "key", "create", "--id", "1"], capture_output=True, text=True, check=True).stdout)
        os.chmod(keys, 0o600)
        sp = free_port()
        sink(sp)
        plain = ConfigNode("plain", "", node_extra="event_loop_threads = 1")
        sealed = ConfigNode("encrypted", f'[archive]\nencryption_keys_file = "{keys}"', node_extra="event_loop_threads = 1")
        each = {}
        rates = interleaved([sp, plain.port, sealed.port], rounds=each)
        result = {"sink": rates[sp]}
        for name, node in (("plain", plain), ("encrypted", sealed)):
            stats = node.stats("--config", node.config)  # the keys, for the encrypted one
            result[name] = {"msgs_per_s": rates[node.port], "of_sink": round(rates[node.port] / rates[sp], 2),
                            "round_ratios": [round(n / c, 2) for n, c in zip(each[node.port], each[sp])],
                            "stored_over_raw": round(stats["stored_bytes"] / stats["raw_bytes"], 4)}
            node.stop()
        result["encrypted_over_plain"] = round(result["encrypted"]["msgs_per_s"] / result["plain"]["msgs_per_s"], 3)
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M")
        with open(os.path.join(OUT, f"{date}-encryption.json"), "w") as f:
            json.dump(result, f, indent=2)
        print(json.dumps(result, indent=2))
        print(f"\nwritten: {OUT}/{date}-encryption.json")
    finally:
        clean_up()


if "--latency" in sys.argv:
    latency_only()
elif "--encryption" in sys.argv:
    encryption_only()
elif "--journal" in sys.argv:
    journal_only()
elif "--search" in sys.argv:
    search_only()
elif "--forwarding" in sys.argv:
    forwarding_only()
elif "--memory" in sys.argv:
    memory_only()
else:
    main()
