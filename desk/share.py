"""What one agent's token may hold of `handover serve` (issue 28, item 5): at most `most` of its requests at
once, event streams and slow uploads included, so no token can fill the process's connection cap (2,100
slow-body POSTs from one token once held 2,118 descriptors, and every route answered 503); past its share
an agent's next request gets 429 with Retry-After and its connection closes. Idle keep-alive connections
count too: at most `most` open connections carry an agent's requests, and one more is closed after its
answer (not refused: behind a proxy's pool a busy agent's requests may come on many). Counted in this
process: the cap it protects is this process's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import structlog

from desk.budgets import PerAgent

log = structlog.get_logger(__name__)


class Connection(Protocol):
    def is_closing(self) -> bool: ...


@dataclass
class AgentShare(PerAgent):
    most: int = 20
    retry_after: int = 10  # the body deadline: by then every slow request of the agent has ended
    _warned: set[str] = field(default_factory=set, init=False, repr=False)
    _open: dict[str, list[Connection]] = field(default_factory=dict, init=False, repr=False)

    def take(self, agent_id: str) -> bool:
        """One more request of the agent's, or False when it holds its share already."""
        if super().take(agent_id):
            return True
        if agent_id not in self._warned:  # once per time the share fills, not once per refusal
            self._warned.add(agent_id)
            log.warning("desk_agent_share_full", agent_id=agent_id, requests=self.most)
        return False

    def give_back(self, agent_id: str) -> None:
        super().give_back(agent_id)
        if self.held(agent_id) < self.most:
            self._warned.discard(agent_id)

    def keep(self, agent_id: str, connection: Connection | None) -> bool:
        """Whether `connection` may stay open after this request of the agent's: it is one of theirs already,
        or they have fewer than `most` open. The closed ones are forgotten here (at most `most` an agent)."""
        if connection is None:
            return False
        theirs = [c for c in self._open.get(agent_id, ()) if not c.is_closing()]
        self._open[agent_id] = theirs
        if any(c is connection for c in theirs):
            return True
        if len(theirs) >= self.most:
            return False
        theirs.append(connection)
        return True
