"""What media may hold of a web process (issue 28, item 6): per agent, a few media requests and two uploads
at once (429 `too_many_requests` past them), and for the whole process a budget of upload bytes on their
way in, reserved by the size each upload declares (503 `busy` past it). Counted in this process: the
memory, disk and connections they protect are this process's."""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass
class PerAgent:
    """At most `most` of something at once per agent."""

    most: int
    _held: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def take(self, agent_id: str) -> bool:
        held = self._held.get(agent_id, 0)
        if held >= self.most:
            return False
        self._held[agent_id] = held + 1
        return True

    def give_back(self, agent_id: str) -> None:
        held = self._held.get(agent_id, 0) - 1
        if held > 0:
            self._held[agent_id] = held
        else:
            self._held.pop(agent_id, None)

    def held(self, agent_id: str) -> int:
        return self._held.get(agent_id, 0)


@dataclass
class ByteBudget:
    """At most `most` bytes reserved at once in the process."""

    most: int
    held: int = 0

    def take(self, size: int) -> bool:
        if self.held + size > self.most:
            return False
        self.held += size
        return True

    def give_back(self, size: int) -> None:
        self.held = max(0, self.held - size)


@dataclass
class MediaLimits:
    """The desk's media limits; `retry_after` is what a 429 or 503 of theirs tells the client to wait."""

    requests_per_agent: PerAgent = field(default_factory=lambda: PerAgent(6))  # HANDOVER_MEDIA_PER_AGENT
    uploads_per_agent: PerAgent = field(default_factory=lambda: PerAgent(2))  # HANDOVER_UPLOADS_PER_AGENT
    upload_bytes: ByteBudget = field(default_factory=lambda: ByteBudget(256 * MB))  # HANDOVER_UPLOADS_MB
    retry_after: int = 10
