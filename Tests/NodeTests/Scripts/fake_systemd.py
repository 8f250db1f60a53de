"""Poses as systemd for a Type=notify service: binds an AF_UNIX datagram socket at
argv[1] and appends each datagram it receives to argv[2] as a JSON line
{"datagram": text}. On the first READY=1 it connects to the SMTP port argv[3] at once and
reads the greeting, appending {"banner": line} or {"banner_error": reason}: the node
must accept mail by the time it says it is ready."""
import json
import socket
import sys

path, out, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
server.bind(path)


def record(entry):
    with open(out, "a") as f:
        f.write(json.dumps(entry) + "\n")


ready_seen = False
while True:
    data = server.recv(65536)
    text = data.decode("utf-8", "replace")
    record({"datagram": text})
    if not ready_seen and "READY=1" in text.split("\n"):
        ready_seen = True
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
                record({"banner": c.makefile("rb").readline().decode("ascii", "replace").strip()})
        except OSError as e:
            record({"banner_error": str(e)})
