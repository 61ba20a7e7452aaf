"""What WhatsApp says of the messages we sent: the send's outcome recorded on its transcript entry, and
delivery statuses moved forward only, however late or out of order they come (the Lua scripts
record_send.lua and apply_status.lua hold the rules). Store (handover/store.py) is built on this."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis
from redis.client import Pipeline

from handover import keys, lua
from handover.message import SendOutcome, StatusUpdate

Located = dict[str, str]  # WhatsApp message id -> "<conversation id> <entry id>", or "" (see locate)
STATUS_MOVED = -2  # apply_status.lua: the send was recorded after the caller located it; nothing written


class Deliveries:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def locate(self, statuses: Iterable[StatusUpdate]) -> Located:
        """Where each status's sent message lives, read in one round trip before the caller's transaction
        (apply_status needs its keys): "<conversation id> <entry id>", or "" for a send not recorded yet."""
        ids = sorted({status.message_id for status in statuses})
        if not ids:
            return {}
        with self.client.pipeline(transaction=False) as pipe:
            for wamid in ids:
                pipe.get(keys.wamid_key(wamid))
            found = pipe.execute()
        return {wamid: keys.as_text(where) or "" for wamid, where in zip(ids, found, strict=True)}

    def apply_status(self, pipe: Pipeline, status: StatusUpdate, located: Located | None = None) -> None:
        """Move an outbound message's delivery forward; a status for a send not yet recorded waits for it.
        Where the message lives comes from `locate` (read now when not given); if a send was recorded
        since, the script writes nothing and `apply_moved`, after the transaction, applies it again."""
        where = (located if located is not None else self.locate([status])).get(status.message_id, "")
        code, title = _first_error(status.errors)
        conversation_id = where.split(" ", 1)[0] if where else ""
        wamid, orphans = keys.wamid_key(status.message_id), keys.orphan_status_key(status.message_id)
        conversation = (
            [
                keys.entries_key(conversation_id),
                keys.delivery_key(conversation_id),
                keys.conversation_key(conversation_id),
            ]
            if conversation_id
            else [wamid, wamid, wamid]  # placeholders: the script touches them only when located
        )
        lua.queue(
            pipe,
            "apply_status",
            [wamid, orphans, *conversation, keys.DESK_EVENTS],
            [where, status.status.value, status.timestamp, code, title, keys.ORPHAN_STATUS_TTL_SECONDS],
        )

    def apply_moved(self, statuses: list[StatusUpdate], located: Located) -> int:
        """After the transaction that applied `statuses` as `located`: apply again, each in a transaction of
        its own, those whose send was recorded in between (the script wrote nothing for them). Returns how
        many. Applying a status twice changes nothing: deliveries only move forward."""
        moved = 0
        while statuses:
            now = self.locate(statuses)
            statuses = [s for s in statuses if now[s.message_id] != located.get(s.message_id, "")]
            with self.client.pipeline(transaction=True) as pipe:
                for status in statuses:
                    self.apply_status(pipe, status, now)
                results = pipe.execute()
            moved += len(statuses)
            statuses = [s for s, result in zip(statuses, results, strict=True) if result == STATUS_MOVED]
            located = now
        return moved

    def record_send(
        self,
        pipe: Pipeline,
        conversation_id: str,
        entry_id: str,
        outcome: SendOutcome,
        attempts: int,
        at: float,
    ) -> None:
        """Store what a send achieved on its transcript entry: the WhatsApp id, or the error."""
        result = "sent" if outcome.ok else "retrying" if outcome.retryable else "failed"
        wamid = outcome.wa_message_id or ""
        lua.queue(
            pipe,
            "record_send",
            [
                keys.delivery_key(conversation_id),
                keys.entries_key(conversation_id),
                keys.wamid_key(wamid or "none"),
                keys.orphan_status_key(wamid or "none"),
                keys.conversation_key(conversation_id),
                keys.DESK_EVENTS,
            ],
            [
                entry_id,
                result,
                wamid,
                at,
                outcome.error_code or "",
                outcome.error_title or "",
                f"{conversation_id} {entry_id}",
                keys.WAMID_TTL_SECONDS,
                attempts,
            ],
        )


def _first_error(errors: list[dict[str, Any]]) -> tuple[str, str]:
    if not errors:
        return "", ""
    first = errors[0]
    return str(first.get("code", "")), str(first.get("title") or first.get("message") or "")[:200]
