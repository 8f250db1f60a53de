"""SMTP client for the NodeTests end-to-end tests (driven by NodeTests.swift).

usage:
  smtp_client.py load PORT OUT_DIR STOP_FILE THREADS PAUSE
      THREADS threads send distinct messages (2-10 KB, unique Message-ID and body, CRLF,
      no line starting with ".") until STOP_FILE exists. For every message answered 250
      the exact bytes sent go to OUT_DIR/<seq>.eml and "<seq> <archive id>" is appended to
      OUT_DIR/manifest-<thread>.txt. Any connection error or non-250 reply counts as not
      acknowledged; the thread reconnects and keeps going. Each thread waits PAUSE
      seconds after each message (keeps the number to read back bounded).
  smtp_client.py fill PORT OUT_DIR COUNT SIZE
      Sends COUNT messages of SIZE bytes of random base64 (incompressible), one session,
      RSET after a refusal. Acknowledged ones go to OUT_DIR as for `load` (manifest-0.txt).
      Prints the reply code of every message on one line: 250 stored, otherwise the
      code of the refusal (MAIL or DATA), 0 for a connection error.
  smtp_client.py rcpt PORT RECIPIENT
      One transaction to RECIPIENT; prints the RCPT reply code, then the final reply code
      of a short message when the recipient was accepted ("550" or "250 250").
  smtp_client.py send PORT IN_DIR OUT_FILE
      Sends every file of IN_DIR (sorted, already canonical CRLF bytes) in one session and
      writes "<file> <archive id>" per 250 reply to OUT_FILE; exits 1 on any other reply.

Both print a one-line summary on stdout.
"""
import os
import random
import re
import smtplib
import sys
import threading
import time
import uuid

STORED = re.compile(rb"stored as (\S+)")
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def archive_id(reply: bytes) -> str:
    m = STORED.search(reply)
    if not m:
        raise RuntimeError(f"250 without an id: {reply!r}")
    return m.group(1).decode()


def make_message(seq: str, rng: random.Random) -> bytes:
    token = uuid.uuid4().hex
    head = (f"From: load@example.com\r\nTo: journal@archive.example\r\n"
            f"Subject: load {seq}\r\nMessage-ID: <{seq}.{token}@load.test>\r\n\r\n")
    target = rng.randint(2048, 10240)
    lines = [f"message {seq} token {token}"]
    size = len(head) + len(lines[0]) + 2
    while size < target:
        line = f"{seq} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + f" {rng.getrandbits(64):016x}"
        lines.append(line)
        size += len(line) + 2
    data = (head + "\r\n".join(lines) + "\r\n").encode()
    assert b"\r\n." not in data and not data.startswith(b".")
    return data


def load(port: int, out_dir: str, stop_file: str, threads: int, pause: float) -> None:
    totals = {"acked": 0, "refused": 0, "errors": 0}
    lock = threading.Lock()

    def count(key):
        with lock:
            totals[key] += 1

    def worker(t: int) -> None:
        rng = random.Random()
        n = 0
        manifest = open(os.path.join(out_dir, f"manifest-{t}.txt"), "a")
        while not os.path.exists(stop_file):
            try:
                with smtplib.SMTP("127.0.0.1", port, local_hostname="load.test", timeout=10) as s:
                    s.ehlo()
                    for _ in range(rng.randint(1, 8)):
                        if os.path.exists(stop_file):
                            break
                        seq = f"{t}-{n}"
                        n += 1
                        data = make_message(seq, rng)
                        code, _ = s.mail("load@example.com")
                        if code != 250:
                            count("refused"); continue
                        code, _ = s.rcpt("journal@archive.example")
                        if code != 250:
                            s.rset(); count("refused"); continue
                        code, reply = s.data(data)
                        if code != 250:
                            count("refused"); continue
                        ident = archive_id(reply)
                        path = os.path.join(out_dir, f"{seq}.eml")
                        with open(path + ".tmp", "wb") as f:
                            f.write(data)
                        os.replace(path + ".tmp", path)
                        manifest.write(f"{seq} {ident}\n")
                        manifest.flush()
                        count("acked")
                        time.sleep(pause)
            except (OSError, smtplib.SMTPException):
                count("errors")
                time.sleep(0.02)
        manifest.close()

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(f"acked {totals['acked']} refused {totals['refused']} errors {totals['errors']}")


def fill(port: int, out_dir: str, count: int, size: int) -> None:
    import base64
    codes = []
    manifest = open(os.path.join(out_dir, "manifest-0.txt"), "a")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="fill.test", timeout=60) as s:
        s.ehlo()
        for n in range(count):
            seq = f"fill-{time.time_ns()}-{n}"
            body = base64.encodebytes(os.urandom(size * 3 // 4)).replace(b"\n", b"\r\n")
            data = f"From: fill@example.com\r\nSubject: {seq}\r\n\r\n".encode() + body
            try:
                code, _ = s.mail("fill@example.com")
                if code != 250:
                    codes.append(code); s.rset(); continue
                code, _ = s.rcpt("journal@archive.example")
                if code != 250:
                    codes.append(code); s.rset(); continue
                code, reply = s.data(data)
            except smtplib.SMTPServerDisconnected:
                codes.append(0); break
            codes.append(code)
            if code == 250:
                path = os.path.join(out_dir, f"{seq}.eml")
                with open(path, "wb") as f:
                    f.write(data)
                manifest.write(f"{seq} {archive_id(reply)}\n")
                manifest.flush()
    manifest.close()
    print(" ".join(map(str, codes)))


def rcpt(port: int, recipient: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, local_hostname="rcpt.test", timeout=30) as s:
        s.ehlo()
        s.mail("route@example.com")
        code, _ = s.rcpt(recipient)
        if code != 250:
            print(code)
            return
        code2, _ = s.data(f"Subject: route test {uuid.uuid4().hex}\r\n\r\nfor {recipient}\r\n".encode())
        print(code, code2)


def send(port: int, in_dir: str, out_file: str) -> None:
    names = sorted(os.listdir(in_dir))
    with smtplib.SMTP("127.0.0.1", port, local_hostname="corpus.test", timeout=60) as s, open(out_file, "w") as out:
        s.ehlo()
        for name in names:
            data = open(os.path.join(in_dir, name), "rb").read()
            code, _ = s.mail("corpus@example.com")
            code2, _ = s.rcpt("journal@archive.example")
            if code != 250 or code2 != 250:
                print(f"{name}: envelope refused {code} {code2}")
                sys.exit(1)
            code, reply = s.data(data)  # smtplib dot-stuffs; data ends with CRLF already
            if code != 250:
                print(f"{name}: DATA answered {code} {reply!r}")
                sys.exit(1)
            out.write(f"{name} {archive_id(reply)}\n")
    print(f"sent {len(names)}")


def one(port: int, path: str) -> None:
    """Sends one file as a message; prints the reply code to the final dot, the seconds it
    took from the end of the data, and the archive id."""
    data = open(path, "rb").read()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="one.test", timeout=60) as s:
        s.ehlo()
        code, _ = s.mail("journal@corp.example")
        code2, _ = s.rcpt("journal@archive.example")
        if code != 250 or code2 != 250:
            print(f"{code2 if code == 250 else code} 0 -")
            return
        started = time.monotonic()
        code, reply = s.data(data)
        print(f"{code} {time.monotonic() - started:.3f} {archive_id(reply) if code == 250 else '-'}")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "load":
        load(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    elif mode == "fill":
        fill(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "rcpt":
        rcpt(int(sys.argv[2]), sys.argv[3])
    elif mode == "send":
        send(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif mode == "one":
        one(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}")
