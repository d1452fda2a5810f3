"""A real TCP proxy on 127.0.0.1 that cuts the connection at a chosen client command.

It forwards bytes both ways untouched; when the client has sent ``cut_at`` (e.g. ``b" FETCH "``)
for the ``times``-th time, it closes both sockets before that command reaches the server:
the client sees the connection die mid-session, as when a server restarts.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class CuttingProxy:
    port: int
    cut: threading.Event = field(default_factory=threading.Event)


@contextmanager
def cutting_proxy(target_port: int, cut_at: bytes, times: int) -> Iterator[CuttingProxy]:
    listener = socket.create_server(("127.0.0.1", 0))
    proxy = CuttingProxy(listener.getsockname()[1])
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket, watch: bool) -> None:
        seen = 0
        try:
            while not stop.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if watch:
                    seen += data.upper().count(cut_at.upper())
                    if seen >= times:
                        proxy.cut.set()
                        break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
