"""Guessing desk tokens: a client address that sent too many unknown tokens lately waits (429) before any
more of its tokens are checked. Kept in this process's memory, bounded however many addresses try."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class FailureLimiter:
    """At most `limit` failures per client in any `window` seconds; the clients that failed longest ago
    are forgotten first once `most_clients` are followed (an attacker rotating addresses cannot grow it)."""

    limit: int = 10
    window: float = 60.0
    most_clients: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict, init=False, repr=False)

    def wait(self, client: str) -> float:
        """Seconds before `client` may try again; 0 when it may now."""
        failures = self._failures.get(client)
        if failures is None:
            return 0.0
        now = self.clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return 0.0
        return failures[0] + self.window - now if len(failures) >= self.limit else 0.0

    def failed(self, client: str) -> None:
        now = self.clock()
        failures = self._failures.pop(client, None) or deque(maxlen=self.limit)
        failures.append(now)
        self._failures[client] = failures  # the most recent at the end
        if len(failures) == self.limit and failures[0] > now - self.window:
            # no address in the log (personal data): the proxy's access log has it, with the 429s
            log.warning("desk_token_guessing_blocked", failures=self.limit, seconds=self.window)
        while len(self._failures) > self.most_clients:
            self._failures.popitem(last=False)

    def retry_after(self, client: str) -> int:
        """Whole seconds for the Retry-After header (at least 1 while blocked)."""
        return max(1, math.ceil(self.wait(client)))


@dataclass
class TokenGuard:
    """The limiter, and who the client is: the peer address, or behind the trusted proxies the address
    they forwarded (X-Forwarded-For read from the right, past every trusted hop, as nginx's real_ip does;
    hops on the left were written by the client and may be forged)."""

    failures: FailureLimiter = field(default_factory=FailureLimiter)
    proxies: Sequence[Network] = ()

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
