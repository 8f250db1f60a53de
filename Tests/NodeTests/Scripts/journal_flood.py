"""Journal flood for NginxChainTests: COUNT distinct messages over SESSIONS concurrent SMTP
connections to 127.0.0.1:PORT (nginx in front of an HA pair), each sent until it gets 250.

usage: journal_flood.py PORT COUNT SESSIONS MANIFEST DEADLINE_SECONDS

Every message is built once from its number and a per-run token, so a retry after a
refusal or a broken connection sends the very same bytes (CRLF, no line starting with
"."; smtplib sends them unchanged, so the archive's SHA-256 is the SHA-256 of these
bytes). When a message gets 250 its SHA-256 (hex) is appended to MANIFEST as one line,
flushed at once: the test reads the line count as progress. A session sends 1 to 20
messages, then QUITs and a new one starts. Stops when every message got 250 (exit 0) or
after DEADLINE_SECONDS (exit 1). Prints one summary line.
"""
import hashlib
import queue
import random
import smtplib
import sys
import threading
import time
import uuid

DEPARTMENTS = "legal finance trading compliance research sales".split()


def message(number: int, token: str) -> bytes:
    department = DEPARTMENTS[number % len(DEPARTMENTS)]
    lines = [
        f"From: {department}-{number % 97}@corp.example",
        "To: journal@archive.example",
        f"Subject: {department} report {number}",
        f"Message-ID: <{number}.{token}@flood.corp.example>",
        "",
        f"Journal copy {number} of run {token}.",
    ]
    lines += [f"{department} line {n}: figures {number * 31 + n:08d} checked" for n in range(number % 40)]
    return ("\r\n".join(lines) + "\r\n").encode()


def main(port: int, count: int, sessions: int, manifest_path: str, deadline_seconds: float) -> int:
    token = uuid.uuid4().hex
    pending = queue.Queue()
    for number in range(count):
        pending.put(number)
    lock = threading.Lock()
    totals = {"acked": 0, "retries": 0, "broken": 0}
    deadline = time.monotonic() + deadline_seconds
    manifest = open(manifest_path, "a")

    def record(key: str, sha: str = "") -> None:
        with lock:
            totals[key] += 1
            if sha:
                manifest.write(sha + "\n")
                manifest.flush()

    def session(rng: random.Random) -> None:
        """One connection: up to 20 messages; a message not acknowledged goes back in line."""
        number = None
        try:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.corp.example", timeout=15) as smtp:
                for _ in range(rng.randint(1, 20)):
                    number = pending.get_nowait()
                    data = message(number, token)
                    smtp.sendmail("journal@corp.example", ["journal@archive.example"], data)  # raises unless 250
                    record("acked", hashlib.sha256(data).hexdigest())
                    number = None
        except queue.Empty:
            return
        except smtplib.SMTPResponseException:
            record("retries")
        except (OSError, smtplib.SMTPException):
            record("broken")
            time.sleep(0.05)
        if number is not None:
            pending.put(number)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            with lock:
                if totals["acked"] == count:
                    return
            if pending.empty():
                time.sleep(0.01)  # the last messages may still come back for a retry
                continue
            session(rng)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(sessions)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    manifest.close()
    print(f"acked {totals['acked']} of {count}, refused {totals['retries']}, broken sessions {totals['broken']}")
    return 0 if totals["acked"] == count else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])))
