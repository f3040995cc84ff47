"""Faults on demand for tests/test_faults.py: a TCP proxy on loopback in front of a site's
data gateway (the revad template's ``$datagateway_url`` points clients at it), which passes
bytes on, swallows them without answering (a stalled server), refuses connections, or runs
an action when a request of a given method passes (a revad killed while a save's bytes are
on the wire)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import site_runner

BUFFER = 64 * 1024


class DataProxy:
    def __init__(self) -> None:
        self.port = site_runner.free_port()
        self.target: int | None = None  # the revad's HTTP port, set once the site runs
        self.mode = "pass"  # "pass" | "stall"
        self.methods: list[str] = []  # the method of each request that passed, in order
        self._trigger: tuple[str, int, Callable[[], None]] | None = None
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.accept()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/datagateway"

    def accept(self) -> None:
        """Listen (again) on the proxy's port."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._serve, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        """Stop listening: connections are refused until :meth:`accept`."""
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            self._listener.close()
            self._listener = None

    def when(self, method: str, action: Callable[[], None], nth: int = 1) -> None:
        """Run ``action`` once, when the ``nth`` request with ``method`` from now on has sent
        its first bytes, before they reach the data gateway."""
        with self._lock:
            self._trigger = (method, self.methods.count(method) + nth, action)

    def reset(self) -> None:
        self.mode, self._trigger = "pass", None
        self.methods.clear()
        if self._listener is None:
            self.accept()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by refuse()
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client:
            first = client.recv(BUFFER)
            if not first:
                return
            method = first.split(b" ", 1)[0].decode(errors="replace")
            if self.mode == "stall":
                while client.recv(BUFFER):  # take everything, answer nothing
                    pass
                return
            with self._lock:
                self.methods.append(method)
                count = self.methods.count(method)
                trigger = self._trigger
                if trigger and trigger[0] == method and trigger[1] == count:
                    self._trigger = None
                else:
                    trigger = None
            if trigger is not None:
                trigger[2]()
            try:
                server = socket.create_connection(("127.0.0.1", self.target or 0))
            except OSError:
                return  # the client sees its connection closed without an answer
            with server:
                server.sendall(first)
                back = threading.Thread(target=_pump, args=(server, client), daemon=True)
                back.start()
                _pump(client, server)
                back.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(BUFFER):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
