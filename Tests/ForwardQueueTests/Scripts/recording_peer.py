#!/usr/bin/python3
"""A test SMTP peer for the forward queue tests (aiosmtpd).

Listens on 127.0.0.1:PORT and records each message's bytes, in arrival order, as
OUTDIR/000001.eml, 000002.eml, ... (content exactly as received after dot-unstuffing).
A recipient containing "reject" gets 550 5.1.1, one containing "later" gets 451 4.3.0.
Writes OUTDIR/READY when listening; stops when OUTDIR/STOP appears or after --lifetime.

With --tls-cert and --tls-key it offers STARTTLS and requires it before MAIL.

With --hold-after N, a message that arrives once N are stored is held, unstored and
unanswered, until OUTDIR/RELEASE appears: a test acts while deliveries are surely under
way, however fast the machine delivers.

usage: recording_peer.py PORT OUTDIR [--name EHLO-NAME] [--lifetime SECONDS]
                         [--tls-cert PEM --tls-key PEM] [--hold-after N]
"""
import argparse
import asyncio
import os
import ssl
import threading
import time

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, outdir, hold_after=None):
        self.outdir = outdir
        self.hold_after = hold_after
        self.count = 0
        self.lock = threading.Lock()

    def held(self):
        return (self.hold_after is not None and self.count >= self.hold_after
                and not os.path.exists(os.path.join(self.outdir, "RELEASE")))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 rejected by the test peer"
        if "later" in address:
            return "451 4.3.0 try later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        while self.held():
            await asyncio.sleep(0.05)
        with self.lock:
            self.count += 1
            n = self.count
        path = os.path.join(self.outdir, "%06d.eml" % n)
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 stored %d" % n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("outdir")
    parser.add_argument("--name", default="peer.test")
    parser.add_argument("--lifetime", type=float, default=300)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--hold-after", type=int)
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    tls = {}
    if args.tls_cert and args.tls_key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        tls = {"tls_context": context, "require_starttls": True}
    controller = Controller(Recorder(args.outdir, args.hold_after), hostname="127.0.0.1", port=args.port,
                            server_hostname=args.name, decode_data=False, data_size_limit=10 * 1024 * 1024, **tls)
    controller.start()
    open(os.path.join(args.outdir, "READY"), "w").close()
    deadline = time.time() + args.lifetime
    try:
        while time.time() < deadline and not os.path.exists(os.path.join(args.outdir, "STOP")):
            time.sleep(0.05)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
