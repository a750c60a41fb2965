"""
Forward a TCP port here to a port inside a network namespace.

    python -m tools.rig.proxy LISTEN_PORT NETNS_PATH TARGET_PORT

It binds 127.0.0.1:LISTEN_PORT in the caller's namespace, then moves itself
into NETNS_PATH, so every connection it makes lands on 127.0.0.1:TARGET_PORT
there. It prints "ready" once listening and exits when its stdin closes (the
rig that started it is gone) or on SIGTERM. It ignores SIGINT: a Ctrl-C at the
terminal is for the rig that owns it, which then closes it; stopping on its own
(asyncio.run's shutdown then waited up to 300 s for a thread blocked reading
stdin) left the rig waiting for it, and develop hung on Ctrl-C.

A process, not threads in the test process: Home Assistant's test harness
fails a test that leaves a thread running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError, OSError:
        pass
    finally:
        writer.close()


async def _serve(listener: socket.socket, target_port: int) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_w.close()
            return
        for writer in (client_w, upstream_w):
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(_pipe(client_r, upstream_w), _pipe(upstream_r, client_w))

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # The end of stdin read on the loop, not by a thread: nothing can keep
    # the process from exiting once it is told to.
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    server = await asyncio.start_server(handle, sock=listener)
    print("ready", flush=True)
    stopper = asyncio.ensure_future(stop.wait())
    stdin_closed = asyncio.ensure_future(stdin.read())
    await asyncio.wait({stopper, stdin_closed}, return_when=asyncio.FIRST_COMPLETED)
    server.close()
    os._exit(0)  # open connections' tasks need no goodbye


def main() -> None:
    """Bind here, enter the namespace, forward."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listen_port, netns_path, target_port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    with open(netns_path, "rb") as ns:  # noqa: PTH123
        os.setns(ns.fileno(), os.CLONE_NEWNET)
    asyncio.run(_serve(listener, target_port))


if __name__ == "__main__":
    main()
