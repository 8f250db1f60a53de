"""Postfix journaling into a node, as operators set it up (`always_bcc`), for
PostfixJournalTests.swift.

usage: postfix_journal.py WORK RELAY_PORT NODE_PORT SINK_PORT MESSAGES_DIR

Starts a private Postfix instance (bench/postfix_relay.py) under WORK/postfix: smtpd on
127.0.0.1:RELAY_PORT, queue on disk, every message relayed to smtp-sink on SINK_PORT,
and a copy of every message (`always_bcc = journal@archive.example`) sent to the node on
NODE_PORT through `transport_maps`, with opportunistic STARTTLS
(`smtp_tls_security_level = may`). Submits every file of MESSAGES_DIR (sorted,
canonical CRLF bytes) over SMTP from sender@origin.example to user@dest.example, waits
until Postfix's queue is empty, stops Postfix and prints one JSON line:

  {"submitted": N, "journal_sent": N, "journal_tls": N, "deferred": [...log lines...]}

journal_sent counts the log's `status=sent` deliveries to the node, journal_tls its TLS
sessions to the node's port. Run as root (see bench/postfix_relay.py).
"""
import json
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench"))
from postfix_relay import PostfixRelay  # noqa: E402

JOURNAL = "journal@archive.example"
# Seconds Postfix may take to deliver everything: a few on an idle machine, more with the
# test suite sharing two cores. Below the test's time limit.
PATIENCE = 150


def journal_lines(relay):
    return [line for line in relay.log_lines() if f"to=<{JOURNAL}>" in line]


def settled(relay, count):
    """Every journal copy logged as sent and the queue empty, or a copy that was not sent."""
    journal = journal_lines(relay)
    if any("status=" in line and "status=sent" not in line for line in journal):
        return True
    return sum("status=sent" in line for line in journal) >= count and relay.queue_empty()


def main():
    work, relay_port, node_port, sink_port, messages_dir = sys.argv[1:6]
    relay = PostfixRelay(work, relay_port, sink_port, settings={
        "myhostname": "mta.origin.test",
        "always_bcc": JOURNAL,
        "transport_maps": f"inline:{{ {JOURNAL}=smtp:[127.0.0.1]:{node_port} }}",
        "smtp_tls_security_level": "may",
        "smtp_tls_loglevel": "1",
    })
    relay.start()
    try:
        names = sorted(os.listdir(messages_dir))
        with smtplib.SMTP("127.0.0.1", int(relay_port), timeout=60) as client:
            for name in names:
                content = open(os.path.join(messages_dir, name), "rb").read()
                client.sendmail("sender@origin.example", ["user@dest.example"], content)
        # Until the log shows every delivery (Postfix logs it a moment after the queue
        # empties): what was not delivered by then shows in the counts.
        deadline = time.time() + PATIENCE
        while time.time() < deadline and not settled(relay, len(names)):
            time.sleep(0.2)
        lines = relay.log_lines()
        journal = journal_lines(relay)
        print(json.dumps({
            "submitted": len(names),
            "journal_sent": sum("status=sent" in line for line in journal),
            "journal_tls": sum("TLS connection established to" in line and f":{node_port}:" in line for line in lines),
            "deferred": [line for line in journal if "status=sent" not in line][:5],
        }))
    finally:
        relay.stop()


if __name__ == "__main__":
    main()
