"""What the desk reads and counts beside its services (assignment/claims.py and the rest), bound to the Redis
client once: the KPIs, the bot's numbers and misses, the audit log, rules versions, search, media and its
links, and unknown tokens. desk/ calls these, never a Redis client (tests/unit/test_one_owner.py). The figures
of "the last hours" count back from the clock they are made with, like the desk's other services."""

from __future__ import annotations

from collections.abc import Mapping

import redis

from handover import audit, botstats, fcr, guessing, kpireport, numbers, search
from handover.audit import AuditEntry
from handover.clock import Clock, system_clock
from handover.media import MediaRef, MediaTicket, issue_ticket, media_ref, ticket_of
from handover.rules import versions


class Readers:
    def __init__(self, client: redis.Redis, clock: Clock = system_clock) -> None:
        self._client = client
        self._clock = clock

    def kpis(
        self, hours: int, slas: Mapping[str, int | None], fcr_days: int, queue: str | None = None
    ) -> kpireport.Stats:
        return kpireport.report(self._client, hours, self._clock(), slas, fcr_days, queue)

    def bot_stats(self, hours: int, fcr_days: int, version: str | None) -> fcr.BotStatsWithFcr:
        return fcr.bot_stats(self._client, hours, self._clock(), fcr_days, version)

    def missed(self, hours: int) -> botstats.Unrecognized:
        return botstats.missed(self._client, hours, self._clock())

    def audit(self, hours: int) -> list[AuditEntry]:
        return audit.since(self._client, hours, self._clock)

    def known_numbers(self, listed: numbers.Numbers, configured: list[str]) -> list[str]:
        return numbers.known(self._client, listed, configured)

    def find(self, query: str) -> list[str]:
        return search.find(self._client, query)

    def media(self, media_id: str) -> MediaRef | None:
        return media_ref(self._client, media_id)

    def ticket(self, ticket: str) -> MediaTicket | None:
        return ticket_of(self._client, ticket)

    def issue_ticket(self, agent_id: str, media_id: str) -> str:
        return issue_ticket(self._client, agent_id, media_id)

    def live_processes(self) -> list[versions.ProcessReport]:
        return versions.live(self._client, self._clock)

    def current_version(
        self, processes: list[versions.ProcessReport], number: str | None = None
    ) -> str | None:
        return versions.current_version(self._client, processes, number)

    def rules_history(self, number: str | None = None) -> list[versions.VersionInfo]:
        return versions.history(self._client, number)

    def rules_version(self, ref: str, number: str | None = None) -> versions.RulesVersion:
        return versions.resolve(self._client, ref, self._clock, number)

    def token_failure(self, who: str, limit: int, window: float, now: float) -> guessing.Counted:
        return guessing.count_failure(self._client, who, limit, window, now)
