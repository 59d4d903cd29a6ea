"""A guard for the wire tests: any TCP connection to an address other than 127.0.0.1 raises."""

from __future__ import annotations

import socket

LOCAL = "127.0.0.1"


class NonLocalConnection(OSError):
    pass


def refuse_non_local_connections(monkeypatch=None) -> None:
    """Patch socket.socket.connect/connect_ex (through `monkeypatch` when given, else for the whole process)."""
    real = {"connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex}

    def guarded(name):
        def method(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] != LOCAL:
                raise NonLocalConnection(f"refused a connection to {address!r}: the wire tests stay on {LOCAL}")
            return real[name](self, address)

        return method

    for name in real:
        if monkeypatch is None:
            setattr(socket.socket, name, guarded(name))
        else:
            monkeypatch.setattr(socket.socket, name, guarded(name))
