"""A TCP relay that makes one machine look like several hosts to a database server.

libpq cannot choose the source address of its connection, so a "host" of the
multi-host test connects to a relay listening on its own loopback address (for example
127.0.0.3); the relay opens the onward connection to the server *from that address*, so
the server (``pg_stat_activity.client_addr``) sees each host as a different machine.
Loopback only: the relay refuses any address outside 127.0.0.0/8.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import threading
from dataclasses import dataclass, field

_CHUNK = 65536


def _loopback(address: str) -> str:
    if not ipaddress.ip_address(address).is_loopback:
        raise ValueError(f"{address} is not a loopback address")
    return address


@dataclass
class Relay:
    """Listens on ``(source, port)`` and relays every connection to ``target`` from
    ``source``. Runs in daemon threads of the calling process until :meth:`close`."""

    source: str
    target: tuple[str, int]
    port: int = 0
    connections: int = 0
    _listener: socket.socket = field(init=False, repr=False)
    _closed: threading.Event = field(init=False, repr=False, default_factory=threading.Event)

    def __post_init__(self) -> None:
        _loopback(self.source)
        _loopback(self.target[0])
        self._listener = socket.create_server((self.source, self.port))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10, source_address=(self.source, 0))
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self.connections += 1
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


def _pump(a: socket.socket, b: socket.socket) -> None:
    """Copies bytes both ways until either side closes, then closes both."""
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        while True:
            for key, _ in sel.select():
                src: socket.socket = key.fileobj  # type: ignore[assignment]
                data = src.recv(_CHUNK)
                if not data:
                    return
                key.data.sendall(data)
    except OSError:
        return
    finally:
        sel.close()
        a.close()
        b.close()
