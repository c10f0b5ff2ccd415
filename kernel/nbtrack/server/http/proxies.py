"""Who a request came from and which URL it used, when a trusted proxy stands in between.

Behind a TLS-terminating load balancer the server sees the proxy's address and a plain-HTTP
request; the URLs it hands out (upload URLs, links) must carry the scheme and host the
client used. Those come from ``Forwarded`` (RFC 7239) or ``X-Forwarded-Proto`` /
``-Host`` / ``-For``, but only when the connecting peer is in ``--trusted-proxies``:
from anyone else such headers are ignored, since any client could send them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from nbtrack.server.context import Network

__all__ = ["Origin", "origin", "parse_networks"]

_HOST = re.compile(r"^[A-Za-z0-9.\-_:\[\]]{1,255}$")


class Headers(Protocol):
    def get(self, name: str, /) -> str | None: ...


@dataclass(frozen=True)
class Origin:
    scheme: str  # http or https
    host: str | None  # host[:port] the client asked for; None: the Host header was absent
    client: str  # the client's address (the proxy's own when not trusted)


def parse_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses), comma- or space-separated; ValueError names a bad one."""
    out: list[Network] = []
    for spec in specs:
        for item in re.split(r"[,\s]+", spec.strip()):
            if not item:
                continue
            try:
                out.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"--trusted-proxies: {item!r} is not an address or CIDR") from None
    return tuple(out)


def _trusted(addr: str, nets: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in nets)


def _forwarded(value: str) -> dict[str, str]:
    """The first (client-side) element of a ``Forwarded`` header: proto, host, for."""
    first = value.split(",")[0]
    out = {}
    for pair in first.split(";"):
        k, _, v = pair.strip().partition("=")
        out[k.strip().lower()] = v.strip().strip('"')
    return out


def _client_of(value: str) -> str:
    """``for=`` / X-Forwarded-For item: the address without port or brackets."""
    v = value.strip()
    if v.startswith("["):
        return v[1:].split("]")[0]
    return v.split(":")[0] if v.count(":") == 1 else v


def origin(peer: str, headers: Headers, nets: tuple[Network, ...]) -> Origin:
    """The scheme, host and client address of a request from ``peer``."""
    host = headers.get("Host")
    if not nets or not _trusted(peer, nets):
        return Origin("http", host, peer)
    scheme, client = "http", peer
    fwd = headers.get("Forwarded")
    if fwd:
        f = _forwarded(fwd)
        scheme = f.get("proto", scheme).lower()
        host = f.get("host") or host
        client = _client_of(f["for"]) if f.get("for") else client
    else:
        proto, fhost, ffor = (headers.get(f"X-Forwarded-{k}") for k in ("Proto", "Host", "For"))
        if proto:
            scheme = proto.split(",")[0].strip().lower()
        if fhost:
            host = fhost.split(",")[0].strip()
        if ffor:
            client = _client_of(ffor.split(",")[0])
    if scheme not in ("http", "https"):
        scheme = "http"
    if host is not None and not _HOST.match(host):
        host = headers.get("Host")
    return Origin(scheme, host, client)
