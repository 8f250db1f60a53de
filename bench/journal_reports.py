"""Row 9 of bench/run: ingest of Exchange-style journal reports against plain messages of
the same originals, in one run (issue 24). Each original (10 KB of text) is sent once as
plain mail to one node and inside two journal reports (other Bcc recipients each) to
another; both nodes archive only. A client process per session sends pre-built messages
over one connection each (smtplib), so the client's work per message is the same for both.

Reports: msg/s of report transactions against msg/s of plain transactions (target >= 0.8).
Storage: the arrival record of each second report (the original was stored by the first),
from the index, against the report's own text around the original (target: <= 1 KB plus
that envelope text).
"""
import multiprocessing
import os
import random
import smtplib
import sqlite3
import statistics
import time

WORDS = ("merger plan quarter revenue forecast board meeting minutes draft final review legal counsel "
         "contract signature pending approval budget audit compliance retention policy").split()


def original(n: int, size: int = 10240) -> bytes:
    rng = random.Random(n)
    head = (f"From: user{n % 50}@corp.example\r\nTo: team{n % 7}@corp.example\r\nSubject: memo {n}\r\n"
            f"Date: Mon, 07 Dec 2026 08:00:00 +0000\r\nMessage-ID: <memo-{n}@corp.example>\r\n\r\n").encode()
    lines = []
    length = len(head)
    while length < size:
        line = " ".join(rng.choice(WORDS) for _ in range(11)).encode() + b"\r\n"
        lines.append(line)
        length += len(line)
    return head + b"".join(lines)


def report(n: int, copy: int, body: bytes) -> bytes:
    boundary = f"JR-{n}-{copy}".encode()
    envelope = (f"Sender: user{n % 50}@corp.example\r\nSubject: memo {n}\r\nMessage-Id: <memo-{n}@corp.example>\r\n"
                f"To: team{n % 7}@corp.example\r\nBcc: auditor{copy}@corp.example\r\n").encode()
    return (b"X-MS-Journal-Report: \r\nFrom: journaling@corp.example\r\nTo: journal@archive.example\r\n"
            b"Subject: memo %d\r\nMessage-ID: <report-%d-%d@exchange.corp.example>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"" % (n, n, copy) + boundary + b"\"\r\n\r\n--" + boundary
            + b"\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + envelope
            + b"\r\n--" + boundary + b"\r\nContent-Type: message/rfc822\r\n\r\n" + body + b"\r\n--" + boundary + b"--\r\n")


def _send(args):
    port, messages = args
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        smtp.ehlo("bench.example")
        for message in messages:
            smtp.sendmail("journaling@corp.example", ["journal@archive.example"], message)
    return len(messages)


def rate(port: int, messages: list, sessions: int = 8) -> float:
    shares = [(port, messages[i::sessions]) for i in range(sessions)]
    start = time.time()
    with multiprocessing.Pool(sessions) as pool:
        sent = sum(pool.map(_send, shares))
    return sent / (time.time() - start)


def second_arrival_sizes(data_dir: str) -> list:
    """Stored size of each arrival record of its own (the second report of an original;
    the first is in the original's record), from the index."""
    db = sqlite3.connect(f"file:{data_dir}/archive/index.sqlite?mode=ro", uri=True)
    try:
        rows = db.execute("""SELECT a.stored_size FROM arrivals a JOIN messages m ON a.message = m.sha256
                             WHERE a.segment != m.segment OR a.offset != m.offset""").fetchall()
    except sqlite3.OperationalError:
        return []  # a binary from before arrivals (its index has no such table)
    finally:
        db.close()
    return [size for (size,) in rows]


def measure(plain_node, report_node, originals: int, rounds: int):
    """Median msg/s of each kind over `rounds` rounds taking turns (fresh originals each
    round), and the storage figures from the report node."""
    plain_rates, report_rates = [], []
    envelope_text = 0
    for r in range(rounds):
        base = r * originals
        bodies = [original(base + n) for n in range(originals)]
        plain = bodies
        reports = [report(base + n, copy, body) for n, body in enumerate(bodies) for copy in (1, 2)]
        envelope_text = statistics.median(len(report(base + n, 2, b)) - len(b) for n, b in enumerate(bodies[:50]))
        plain_rates.append(rate(plain_node.port, plain))
        report_rates.append(rate(report_node.port, reports))
    time.sleep(3)  # the index takes its batch within 2 s
    sizes = second_arrival_sizes(report_node.data)
    return {
        "plain": round(statistics.median(plain_rates)), "reports": round(statistics.median(report_rates)),
        "round_ratios": [round(b / a, 2) for a, b in zip(plain_rates, report_rates)],
        "second_arrival_bytes": round(statistics.median(sizes)) if sizes else 0,
        "report_text_bytes": round(envelope_text),
    }


def row(j) -> str:
    return (f"| 9 | journal reports (10 KB originals, two reports each) against plain messages of the same originals, "
            f"8 sessions, connections reused | reports {j['reports']} msg/s, plain {j['plain']} msg/s "
            f"(rounds: {', '.join(map(str, j['round_ratios']))}); a second report's arrival record "
            f"{j['second_arrival_bytes']} B for {j['report_text_bytes']} B of report text | "
            f"{j['reports'] / max(j['plain'], 1):.2f} of plain | >= 0.8; <= 1 KB + text |")
