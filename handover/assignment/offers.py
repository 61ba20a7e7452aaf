"""Who is offered what, read from the offer indexes: warm transfers (`hv:offers`) and the assigner's offers
(`hv:offers:push`, and each agent's pending set). Lifecycle writes them with the moves; these only read."""

from __future__ import annotations

import redis

from handover import keys


class OfferIndex:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def due_push_offers(self, now: float) -> list[tuple[str, str | None, str, str]]:
        """Offers made by the assigner that nobody accepted in time: (conversation, offered to, its business
        number, queue)."""
        due = [keys.as_text(c) for c in self.client.zrangebyscore(keys.PUSH_OFFERS, "-inf", now)]
        if not due:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            for conversation_id in due:
                pipe.hmget(keys.conversation_key(conversation_id), ["offer_to", "phone_number_id", "queue"])
            found = pipe.execute()
        return [
            (c, keys.as_text(agent) if agent else None, keys.as_text(number or ""), keys.as_text(queue or ""))
            for c, (agent, number, queue) in zip(due, found, strict=True)
        ]

    def next_push_offer_expiry(self) -> float | None:
        first = self.client.zrange(keys.PUSH_OFFERS, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def offers_to(self, agent_id: str) -> list[str]:
        """What the assigner offered this agent and they have not answered yet."""
        return sorted(keys.as_text(c) for c in self.client.smembers(keys.agent_offers_key(agent_id)))

    def warm_offers_to(self, agent_id: str) -> list[str]:
        """Warm transfers offered to this agent and not answered yet (few: offers last seconds to minutes)."""
        offered = [keys.as_text(c) for c in self.client.zrange(keys.OFFERS, 0, -1)]
        with self.client.pipeline(transaction=False) as pipe:
            for conversation_id in offered:
                pipe.hget(keys.conversation_key(conversation_id), "offer_to")
            targets = pipe.execute()
        return [c for c, to in zip(offered, targets, strict=True) if to and keys.as_text(to) == agent_id]

    def due_offers(self, now: float) -> list[str]:
        """Warm transfer offers nobody accepted in time."""
        return [keys.as_text(c) for c in self.client.zrangebyscore(keys.OFFERS, "-inf", now)]

    def offered(self) -> list[str]:
        """Conversations offered to someone now, warm transfers and the assigner's offers (few: offers last
        seconds to minutes)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zrange(keys.OFFERS, 0, -1)
            pipe.zrange(keys.PUSH_OFFERS, 0, -1)
            warm, push = pipe.execute()
        return [keys.as_text(c) for c in [*warm, *push]]
