"""One-off repairs of data written by an earlier version, run when a worker starts (each once per Redis: a
marker key says it was done; running it twice changes nothing)."""

from __future__ import annotations

import json

import redis
import structlog

from handover import keys

log = structlog.get_logger(__name__)


def forget_typed_identity(client: redis.Redis, batch: int = 1000) -> int:
    """Before identity values got a key of their own with a TTL (hv:identity:<id>), the bot kept the CPF or
    birth date typed so far in the conversation hash (`bot.pending_identity`), with no end. Drop them from
    every conversation; how many were cleaned."""
    if client.exists(keys.UPGRADED_TYPED_IDENTITY):
        return 0
    cleaned = 0
    for key in client.scan_iter(match=keys.conversation_key("*"), count=batch, _type="hash"):
        raw = client.hget(key, "bot")
        if not raw or "pending_identity" not in keys.as_text(raw):
            continue
        bot = json.loads(raw)
        bot.pop("pending_identity", None)
        client.hset(key, "bot", json.dumps(bot, ensure_ascii=False))
        cleaned += 1
    client.set(keys.UPGRADED_TYPED_IDENTITY, "1")
    if cleaned:
        log.info("upgrade_typed_identity_forgotten", conversations=cleaned)
    return cleaned
