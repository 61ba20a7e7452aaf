"""Which URLs a hook may call: a webhook URL is typed by an admin but the request leaves from inside the
deployment, so it must not reach what only the inside can (the Redis host, a cloud's metadata service, the
desk itself). https only, and public addresses only, unless the host is on HANDOVER_HOOKS_ALLOW.

The address is checked twice: when the hook is added (its name resolved there and then) and on every
connection (workers/hooks.py resolves through `refused_address`), so a name that later resolves inside is
still refused."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from handover.errors import Invalid

Resolve = Callable[[str, int], list[str]]


class UnsafeUrl(Invalid):
    pass


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def allowed(host: str, allow: Iterable[str]) -> bool:
    """Whether the host is on the allow-list: a name (exactly) or an address inside a listed network."""
    host = host.lower().strip("[]")
    for entry in allow:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == host:
            return True
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def refused_address(address: str, host: str, allow: Iterable[str]) -> str | None:
    """Why connecting to `address` (one the host resolved to) is refused, or None when it may be used."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_global and not ip.is_multicast:
        return None
    if allowed(host, allow) or allowed(str(ip), allow):
        return None
    kind = "a private, loopback or reserved address"
    return f"{host} resolves to {ip}, {kind} (allow it with HANDOVER_HOOKS_ALLOW)"


def check_url(url: str, allow: Iterable[str] = (), resolve: Resolve = _resolve) -> str:
    """The URL as it will be called, or UnsafeUrl saying why not."""
    allow = list(allow)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrl(f"not a web address: {url!r} (https://host/path)")
    if parts.username or parts.password:
        raise UnsafeUrl("a hook's URL carries no user or password: give the receiver a secret instead")
    host = parts.hostname
    if parts.scheme == "http" and not allowed(host, allow):
        raise UnsafeUrl(f"{host}: only https, unless the host is on HANDOVER_HOOKS_ALLOW")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        raise UnsafeUrl(f"{host} does not resolve: {exc}") from exc
    for address in addresses:
        why = refused_address(address, host, allow)
        if why is not None:
            raise UnsafeUrl(why)
    return parts.geturl()
