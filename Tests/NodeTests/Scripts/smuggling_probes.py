"""The probes of the public smtpsmug scanner (github.com/hannob/smtpsmug), reimplemented
for NodeTests: each sends a message whose text contains a malformed end-of-data sequence,
waits to see whether the server takes it as the end (a reply would come), then ends the
message properly. A second probe pipelines a second transaction right after the first
final dot.

usage: smuggling_probes.py PORT
Prints one JSON object per probe:
  {"probe": NAME, "early_reply": "..." or null, "final_reply": "...", "marker": "..."}
early_reply is whatever the server answered within 1.5 s of the malformed ending (null =
nothing: it is still reading the message, as it must); final_reply is its answer to the
proper CRLF.CRLF. The message body carries a unique marker so the test can find it.
"""
import json
import socket
import sys
import uuid

# Seconds to wait for a reply the server must send: well under one on an idle machine, more
# with the test suite sharing two cores. Only the malformed ending's window is short, as
# the scanner's: nothing may come there, and a slow machine only makes that easier.
PATIENCE = 60
EARLY_WINDOW = 1.5

PROBES = {
    "lflf": "\n.\n",
    "crcr": "\r.\r",
    "crlf": "\r.\n",
    "lfcr": "\n.\r",
    "lfcrlf": "\n.\r\n",
    "crlflf": "\r\n.\n",
    "crcrlf": "\r.\r\n",
    "crlfcr": "\r\n.\r",
    "nullbefore": "\r\n\x00.\r\n",
    "nullafter": "\r\n.\x00\r\n",
}


def reply(sock, timeout):
    """One complete (possibly multi-line) reply, or None if nothing came in time."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return data.decode(errors="replace") or "<closed>"
            data += chunk
            lines = data.split(b"\r\n")
            complete = [l for l in lines[:-1]]
            if complete and len(complete[-1]) >= 4 and complete[-1][3:4] == b" ":
                return data.decode(errors="replace")
    except socket.timeout:
        return data.decode(errors="replace") if data else None


def session(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    reply(sock, PATIENCE)
    sock.sendall(b"EHLO probe.example.org\r\n")
    reply(sock, PATIENCE)
    return sock


def header(sock, marker):
    for line in ("MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.org>", "DATA"):
        sock.sendall(line.encode() + b"\r\n")
        answer = reply(sock, PATIENCE)
        if not answer or answer[0] not in "23":
            raise SystemExit(f"{line} refused: {answer!r}")
    sock.sendall(f"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: smtpsmug {marker}\r\n\r\n".encode())


def badend(port, name, ending):
    marker = uuid.uuid4().hex
    sock = session(port)
    header(sock, marker)
    sock.sendall(f"This is a test mail with an {name} ending.".encode() + ending.encode())
    early = reply(sock, EARLY_WINDOW)
    final = None
    if early is None:
        sock.sendall(f"This is after a bad mail {name} ending.\r\n.\r\n".encode())
        final = reply(sock, PATIENCE)
    sock.close()
    return {"probe": name, "early_reply": early, "final_reply": final, "marker": marker}


def pipelining(port):
    marker = uuid.uuid4().hex
    sock = session(port)
    header(sock, marker)
    second = (f"This is mail 1/2 to test pipelining\r\n.\r\n"
              f"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
              f"From: alice@example.org\r\nSubject: smtpsmug {marker} 2/2\r\n\r\n"
              f"This is mail 2/2 to test pipelining\r\n.\r\n")
    sock.sendall(second.encode())
    answers = ""
    while answers.count("\r\n") < 5:
        more = reply(sock, PATIENCE)
        if more is None:
            break
        answers += more
    sock.close()
    return {"probe": "pipelining", "early_reply": None, "final_reply": answers, "marker": marker}


if __name__ == "__main__":
    port = int(sys.argv[1])
    for name, ending in PROBES.items():
        print(json.dumps(badend(port, name, ending)), flush=True)
    print(json.dumps(pipelining(port)), flush=True)
