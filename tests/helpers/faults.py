"""A socket-level fault-injecting HTTP proxy driven by a seeded schedule.

``ChaosProxy(upstream_url, schedule)`` listens on 127.0.0.1 and relays HTTP/1.1
requests (keep-alive, ``Content-Length`` bodies) byte for byte to the real server,
Host header included, so upload URLs the server signs point at the proxy too.
Each request takes the next entry of the schedule (after it runs out: ``pass``):

=================  ==========================================================
``pass``           forward, answer
``refuse``         stop listening for ``refuse_seconds`` (connects are refused), drop
                   this connection with a RST; the server never sees the request
``reset_request``  read the headers and half the body, then RST (server never sees it)
``reset_response`` forward (the server commits), send half the answer, then RST
``drop_response``  forward (the server commits), close without a byte of answer
``delay``          hold the request ``delay_seconds`` (longer than the client's read
                   timeout), then forward it (the server commits after the client gave up)
``s500`` ``s502`` ``s503``
                   answer that status without forwarding
``s429``           429 without Retry-After; ``s429ra`` 429 with ``Retry-After: 1``
=================  ==========================================================

``make_schedule(seed)`` builds a schedule where every kind occurs at least once, in a
seeded order, with a seeded number of clean requests between faults (so retries
converge); ``proxy.log`` records what happened to every request.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from helpers.wait import wait_until

FAULT_KINDS = ("refuse", "reset_request", "reset_response", "drop_response", "delay",
               "s500", "s502", "s503", "s429", "s429ra")
STATUS_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
               429: "Too Many Requests"}


def make_schedule(seed: int, *, rounds: int = 1, max_gap: int = 2,
                  kinds: tuple[str, ...] = FAULT_KINDS) -> list[str]:
    """Every kind ``rounds`` times in a seeded order, 0..max_gap clean requests between."""
    rng = random.Random(seed)
    faults = [k for k in kinds for _ in range(rounds)]
    rng.shuffle(faults)
    out: list[str] = []
    for kind in faults:
        out.append(kind)
        out.extend(["pass"] * rng.randint(0, max_gap))
    return out


@dataclass
class Event:
    kind: str
    method: str
    path: str
    status: int  # what the server answered (0: not forwarded)
    t: float = field(default_factory=time.monotonic)


class _Closed(Exception):
    pass


def _rst(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _read_head(sock: socket.socket, buf: bytearray) -> bytes:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buf.extend(chunk)
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    del buf[:end]
    return head


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _read_exact(sock: socket.socket, buf: bytearray, n: int) -> bytes:
    while len(buf) < n:
        chunk = sock.recv(max(65536, n - len(buf)))
        if not chunk:
            raise _Closed
        buf.extend(chunk)
    out = bytes(buf[:n])
    del buf[:n]
    return out


class ChaosProxy:
    """Relay to ``upstream`` and inject the faults of ``schedule`` one per request.

    ``match(method, path)`` selects the requests the schedule applies to (others pass).
    ``on_request(method, path, body)`` is called for every request before it is
    handled (tests use it to SIGKILL a client at the moment a request arrives);
    returning ``"hold"`` keeps the request unanswered until ``release()``.
    """

    def __init__(self, upstream: str, schedule: list[str] | None = None, *,
                 delay_seconds: float = 3.0, refuse_seconds: float = 0.5,
                 match: Callable[[str, str], bool] | None = None,
                 on_request: Callable[[str, str, bytes], str | None] | None = None) -> None:
        u = urlparse(upstream)
        self._upstream = (u.hostname or "127.0.0.1", int(u.port or 80))
        self.schedule = list(schedule or [])
        self.delay_seconds = delay_seconds
        self.refuse_seconds = refuse_seconds
        self.match = match or (lambda method, path: True)
        self.on_request = on_request
        self.log: list[Event] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._stopped = threading.Event()
        self._listening = threading.Event()  # cleared while a ``refuse`` fault runs
        self._listening.set()
        self._listener = self._listen(0)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name="chaos-accept")
        self._accept_thread.start()

    # ------------------------------------------------------------------ control
    def _listen(self, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        s.settimeout(0.1)
        return s

    def release(self) -> None:
        self._released.set()

    def remaining(self) -> int:
        with self._lock:
            return len(self.schedule)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in list(self.log):
            out[e.kind] = out.get(e.kind, 0) + 1
        return out

    def close(self) -> None:
        self._stopped.set()
        self._released.set()
        self._listening.set()
        self._accept_thread.join(2.0)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _next(self, method: str, path: str) -> str:
        if not self.match(method, path):
            return "pass"
        with self._lock:
            return self.schedule.pop(0) if self.schedule else "pass"

    def _refuse_for_a_while(self) -> None:
        with self._lock:
            self._listening.clear()
            self._listener.close()
        # why: this sleep is the fault itself, a window of refused connects; nothing to wait for
        time.sleep(self.refuse_seconds)

        def listen_again() -> socket.socket | None:
            with contextlib.suppress(OSError):
                return self._listen(self.port)
            return None

        new = wait_until(listen_again, timeout=2.5,
                         message="could not listen again on the proxy port (port stolen?)")
        with self._lock:
            self._listener = new
            self._listening.set()

    # ------------------------------------------------------------------ loops
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                listener = self._listener
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed while refusing: wait for the new listener
                self._listening.wait()
                continue
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name="chaos-conn").start()

    def _serve(self, client: socket.socket) -> None:
        buf = bytearray()
        try:
            while not self._stopped.is_set():
                head = _read_head(client, buf)
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                method, path = ([*request_line.split(" "), "", ""])[:2]
                length = _content_length(head)
                kind = self._next(method, path)
                if kind == "reset_request":
                    _read_exact(client, buf, length // 2)
                    self.log.append(Event(kind, method, path, 0))
                    _rst(client)
                    return
                body = _read_exact(client, buf, length)
                if self.on_request is not None and \
                        self.on_request(method, path, body) == "hold":
                    self._released.wait()
                if kind == "refuse":
                    self.log.append(Event(kind, method, path, 0))
                    _rst(client)
                    self._refuse_for_a_while()
                    return
                if kind.startswith("s"):
                    status = int(kind[1:4])
                    extra = "Retry-After: 1\r\n" if kind == "s429ra" else ""
                    payload = b'{"error": "injected"}'
                    client.sendall(
                        f"HTTP/1.1 {status} {STATUS_TEXT[status]}\r\n{extra}"
                        f"Content-Type: application/json\r\nContent-Length: {len(payload)}"
                        "\r\n\r\n".encode() + payload)
                    self.log.append(Event(kind, method, path, 0))
                    continue
                if kind == "delay":
                    self.log.append(Event(kind, method, path, 0))  # the client gives up now
                    # why: the fault is the time itself, an answer later than the client's
                    # read timeout; no event can stand for "too late"
                    time.sleep(self.delay_seconds)
                    kind = "delayed-forward"
                status, response = self._forward(head, body)
                self.log.append(Event(kind, method, path, status))
                if kind == "drop_response":
                    _rst(client)
                    return
                if kind == "reset_response":
                    client.sendall(response[: max(1, len(response) // 2)])
                    _rst(client)
                    return
                client.sendall(response)
                if b"connection: close" in response.split(b"\r\n\r\n", 1)[0].lower():
                    client.close()
                    return
        except (_Closed, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                client.close()

    def _forward(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """One request to the server on a fresh connection; the whole raw response."""
        up = socket.create_connection(self._upstream, timeout=60)
        try:
            up.sendall(head + body)
            buf = bytearray()
            rhead = _read_head(up, buf)
            status = int(rhead.split(b" ", 2)[1])
            rbody = _read_exact(up, buf, _content_length(rhead))
            return status, rhead + rbody
        finally:
            up.close()
