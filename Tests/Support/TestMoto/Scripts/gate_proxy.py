"""A TCP gate in front of a server, for tests of an endpoint that goes away and comes back.

Usage: gate_proxy.py TARGET_PORT. Listens on 127.0.0.1 port 0 and prints {"port": N}.
Closed (its state at start), it accepts each connection and closes it at once: the client
sees the endpoint fail. Open, it relays each connection to 127.0.0.1:TARGET_PORT. A line
"open" or "close" on standard input switches it (it answers "ok" on standard output); end
of input, or MAX_SECONDS, stops it.
"""
import asyncio
import json
import sys

MAX_SECONDS = 3600


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(target):
    state = {"open": False}

    async def handle(reader, writer):
        if not state["open"]:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    async def commands():
        while line := await stdin.readline():
            state["open"] = line.strip() == b"open"
            print("ok", flush=True)

    await asyncio.wait_for(commands(), MAX_SECONDS)


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except asyncio.TimeoutError:
        pass
