"""Guessing desk tokens: a client address that sent too many unknown tokens lately gets 429 for its next
unknown ones. A known token is always served, whoever else shares the address (ten bad tokens a minute
once locked a whole call centre behind one NAT out of the desk); tokens are `hv_` + 32 random bytes, so the
limit slows and shows a guesser rather than being what stops one. Counted in Redis, shared by every web
process, each key gone a minute after its last failure (handover/guessing.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import structlog
from aiohttp import web

from handover.readers import Readers

log = structlog.get_logger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class TokenGuard:
    """At most `limit` unknown tokens per client in any `window` seconds, and who the client is: the peer
    address, or behind the trusted proxies the address they forwarded (X-Forwarded-For read from the right,
    past every trusted hop, as nginx's real_ip does; hops on the left were written by the client and may be
    forged)."""

    limit: int = 10
    window: float = 60.0
    proxies: Sequence[Network] = ()

    def failed(self, reads: Readers, who: str, now: float) -> float:
        """Count an unknown token from `who`: seconds it must wait (a 429), or 0 when this one was counted."""
        counted = reads.token_failure(who, self.limit, self.window, now)
        if counted.wait == 0 and counted.failures == self.limit:
            # no address in the log (personal data): the proxy's access log has it, with the 429s
            log.warning("desk_token_guessing_blocked", failures=self.limit, seconds=self.window)
        return counted.wait

    def client_of(self, request: web.Request) -> str:
        peer = request.remote or ""
        if not self.proxies or not self._trusted(peer):
            return _bucket(peer)
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not self._trusted(hop):
                return _bucket(hop)
        return _bucket(peer)

    def _trusted(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.proxies)


def networks(items: Iterable[str]) -> tuple[Network, ...]:
    """The settings' HANDOVER_TRUSTED_PROXIES as networks (a bare address is a network of one)."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _bucket(address: str) -> str:
    """One IPv6 user holds a whole /64: count it as one client. Anything unreadable counts as itself."""
    ip = _ip(address)
    if ip is None:
        return address[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:  # a dual-stack listener
        return ip.ipv4_mapped
    return ip


GUARD = web.AppKey("desk_guard", TokenGuard)
