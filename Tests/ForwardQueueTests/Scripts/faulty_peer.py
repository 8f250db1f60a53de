#!/usr/bin/python3
"""A misbehaving SMTP peer for the forward queue's fault tests (standard library only).

Listens on 127.0.0.1:PORT and misbehaves as MODE says:

  drip            every reply goes out one byte at a time, --drip seconds apart
  reset-mid-data  after 354, reads --reset-after content bytes, then resets (RST)
  greet-421       greets with 421 and closes
  silent-dot      reads the whole message, never answers the final dot
  dot-250-twice   answers the final dot with two 250 lines in one write
  dot-250-late    answers the final dot with 250, then another 250 --late seconds later
  data-354-250    answers DATA with 354 and, in the same write, a 250
  mail-250-twice  answers MAIL with two 250 lines

A message is stored (OUTDIR/000001.eml, ..., content after dot-unstuffing, written before
the reply) only when the peer gives its one genuine 250 to the final dot: in drip mode
always, in the dot-250-* modes for the first message of each connection. Every other
final dot gets 451 4.3.0, so a client that takes a stale 250 for a later message loses it.

OUTDIR/events.log gets one line per event: "TIME CONN EVENT [DETAIL]", where EVENT is
connect, cmd, dot (a whole message read), stored, refused, unsolicited (a reply that
answers no command was sent), reset, close. Writes OUTDIR/READY when listening; stops
when OUTDIR/STOP appears or after --lifetime seconds.

usage: faulty_peer.py PORT OUTDIR MODE [--pipelining] [--drip S] [--reset-after N]
                      [--late S] [--lifetime S]
"""
import argparse
import asyncio
import os
import socket
import struct
import time

MODES = ("drip", "reset-mid-data", "greet-421", "silent-dot", "dot-250-twice", "dot-250-late",
         "data-354-250", "mail-250-twice")


class Peer:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        self.connections = 0
        self.stored = 0
        self.log = open(os.path.join(args.outdir, "events.log"), "a", buffering=1)

    def event(self, conn, what):
        self.log.write("%.3f %d %s\n" % (time.time(), conn, what))

    async def reply(self, writer, text):
        data = (text + "\r\n").encode()
        if self.mode == "drip":
            for byte in data:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.args.drip)
        else:
            writer.write(data)
            await writer.drain()

    async def handle(self, reader, writer):
        self.connections += 1
        conn = self.connections
        self.event(conn, "connect")
        try:
            await self.session(conn, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self.event(conn, "close")
            try:
                writer.close()
            except Exception:
                pass

    def store(self, content):
        self.stored += 1
        path = os.path.join(self.args.outdir, "%06d.eml" % self.stored)
        with open(path + ".tmp", "wb") as f:
            f.write(content)
        os.rename(path + ".tmp", path)
        return self.stored

    async def session(self, conn, reader, writer):
        if self.mode == "greet-421":
            await self.reply(writer, "421 4.3.2 faulty.test busy, try later")
            return
        await self.reply(writer, "220 faulty.test ESMTP test peer, misbehaving on purpose")
        messages = 0
        while True:
            line = await reader.readline()
            if not line:
                return
            command = line.decode("latin-1").rstrip("\r\n")
            verb = command[:4].upper()
            self.event(conn, "cmd " + verb)
            if verb == "EHLO":
                lines = ["faulty.test", "SIZE 10485760", "8BITMIME"] + (["PIPELINING"] if self.args.pipelining else [])
                await self.reply(writer, "\r\n".join("250%s%s" % ("-" if i < len(lines) - 1 else " ", l) for i, l in enumerate(lines)))
            elif verb == "HELO":
                await self.reply(writer, "250 faulty.test")
            elif verb == "MAIL":
                if self.mode == "mail-250-twice":
                    await self.reply(writer, "250 2.1.0 ok\r\n250 2.1.0 ok again")
                    self.event(conn, "unsolicited")
                else:
                    await self.reply(writer, "250 2.1.0 ok")
            elif verb == "RCPT":
                await self.reply(writer, "250 2.1.5 ok")
            elif verb in ("RSET", "NOOP"):
                await self.reply(writer, "250 2.0.0 ok")
            elif verb == "QUIT":
                await self.reply(writer, "221 2.0.0 bye")
                return
            elif verb == "DATA":
                if self.mode == "data-354-250":
                    await self.reply(writer, "354 go ahead\r\n250 2.0.0 ok")
                    self.event(conn, "unsolicited")
                else:
                    await self.reply(writer, "354 go ahead")
                if self.mode == "reset-mid-data":
                    await reader.readexactly(self.args.reset_after)
                    self.event(conn, "reset")
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                content = await self.read_content(reader)
                messages += 1
                self.event(conn, "dot %d" % len(content))
                await self.end_of_data(conn, reader, writer, content, messages)
            else:
                await self.reply(writer, "500 5.5.2 unknown command")

    async def read_content(self, reader):
        content = bytearray()
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("closed inside DATA")
            if line == b".\r\n":
                return bytes(content)
            content += line[1:] if line.startswith(b".") else line

    async def end_of_data(self, conn, reader, writer, content, messages):
        if self.mode == "silent-dot":
            while await reader.read(4096):
                pass
            raise ConnectionError("client left")
        genuine = self.mode == "drip" or (self.mode.startswith("dot-250-") and messages == 1)
        if not genuine:
            self.event(conn, "refused")
            await self.reply(writer, "451 4.3.0 not stored")
            return
        n = self.store(content)
        self.event(conn, "stored %d" % n)
        if self.mode == "dot-250-twice":
            await self.reply(writer, "250 2.0.0 stored %d\r\n250 2.0.0 stored %d again" % (n, n))
            self.event(conn, "unsolicited")
        elif self.mode == "dot-250-late":
            await self.reply(writer, "250 2.0.0 stored %d" % n)
            await asyncio.sleep(self.args.late)
            await self.reply(writer, "250 2.0.0 stored %d again" % n)
            self.event(conn, "unsolicited")
        else:
            await self.reply(writer, "250 2.0.0 stored %d" % n)


async def serve(args):
    peer = Peer(args)
    server = await asyncio.start_server(peer.handle, "127.0.0.1", args.port, reuse_address=True)
    open(os.path.join(args.outdir, "READY"), "w").close()
    deadline = time.time() + args.lifetime
    while time.time() < deadline and not os.path.exists(os.path.join(args.outdir, "STOP")):
        await asyncio.sleep(0.05)
    server.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("outdir")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--pipelining", action="store_true")
    parser.add_argument("--drip", type=float, default=0.075)
    parser.add_argument("--reset-after", type=int, default=16)
    parser.add_argument("--late", type=float, default=0.3)
    parser.add_argument("--lifetime", type=float, default=120)
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
