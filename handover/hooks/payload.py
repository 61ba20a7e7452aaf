"""What a hook receives: the Standard Webhooks envelope `{"type", "timestamp", "data"}` as JSON, or, for
`--format slack`, an incoming-webhook message (plain text a channel reads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from handover.hooks.model import HookFormat


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(event_type: str, at: float, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": iso(at), "data": data}


def body(format: HookFormat, event: dict[str, Any], console_url: str = "") -> bytes:
    """The bytes posted (and signed) for one event envelope."""
    shown = event if format is HookFormat.JSON else slack(event, console_url)
    return json.dumps(shown, ensure_ascii=False, separators=(",", ":")).encode()


SLACK_TITLES = {
    "handed_over": "Handed over",
    "assigned": "Assigned",
    "transferred": "Transferred",
    "resolved": "Resolved",
    "released": "Back to the bot",
    "abandoned": "Left the queue",
    "agent_silent": "Agent silent",
    "csat": "Rated",
    "test": "Test",
}


def slack(event: dict[str, Any], console_url: str = "") -> dict[str, Any]:
    """Who, why, which queue, how long, and a link to the conversation in the console."""
    data = event.get("data") or {}
    conversation = data.get("conversation") or {}
    title = SLACK_TITLES.get(event.get("type", ""), event.get("type", ""))
    who = conversation.get("customer_name") or conversation.get("wa_id") or "a customer"
    parts = [f"*{title}*: {who}"]
    for label, value in (
        ("why", (data.get("escalation") or {}).get("reason") or data.get("reason")),
        ("queue", conversation.get("queue")),
        ("priority", conversation.get("priority")),
        ("waited", _seconds(data.get("waited_seconds"))),
        ("agent", conversation.get("agent_name") or conversation.get("agent_id")),
        ("score", data.get("score")),
    ):
        if value:
            parts.append(f"{label}: {value}")
    text = " · ".join(parts)
    cid = conversation.get("id")
    if console_url and cid:
        text += f"\n<{console_url.rstrip('/')}/#/conversations/{cid}|Open in the console>"
    if event.get("type") == "test":
        text = data.get("message") or "Test from whatsapp-handover"
    return {"text": text}


def _seconds(value: Any) -> str | None:
    if not isinstance(value, int | float):
        return None
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
