"""What the customer reads from the bot: the rules' texts in the customer's language, filled in with what
is known of them, as WhatsApp requests (text, buttons, lists) to the number they wrote to."""

from __future__ import annotations

from typing import Any

from handover.message import PROFILE_NAME_MAX, Button, ListRow, ListSection, OutboundKind, OutboundRequest
from handover.rules.model import Intent, Texts
from handover.rules.texts import render, tidy
from handover.rules.turn import Turn


def variables(turn: Turn) -> dict[str, Any]:
    conversation = turn.conversation
    name = (
        conversation.identity.display_name if conversation.identity else None
    ) or conversation.profile_name
    # bounded here too: a conversation filed before names were bounded at the edge (webhooks/bounds.py)
    return {"name": (name or "").strip()[:PROFILE_NAME_MAX], **conversation.bot.collected}


def text(turn: Turn, texts: Texts, **extra: Any) -> str:
    template = (
        texts.get(turn.language) or texts.get(turn.rules.default_language) or next(iter(texts.values()))
    )
    text = render(template, variables(turn) | extra)
    return tidy(text)  # "Olá, !" when the name is unknown reads "Olá!"


def say(turn: Turn, texts: Texts, **extra: Any) -> OutboundRequest:
    return request(turn, OutboundKind.TEXT, text=text(turn, texts, **extra))


def say_message(turn: Turn, name: str, **extra: Any) -> list[OutboundRequest]:
    texts = turn.rules.messages.get(name)
    return [say(turn, texts, **extra)] if texts else []


def intent_replies(turn: Turn, intent: Intent) -> list[OutboundRequest]:
    if intent.reply is None:
        return []
    body = text(turn, intent.reply)
    if intent.buttons:
        buttons = [Button(id=b.id, title=text(turn, b.title)) for b in intent.buttons]
        return [request(turn, OutboundKind.BUTTONS, text=body, buttons=buttons)]
    if intent.choices is not None:
        rows = [
            ListRow(
                id=r.id,
                title=text(turn, r.title),
                description=text(turn, r.description) if r.description else None,
            )
            for r in intent.choices.rows
        ]
        return [
            request(
                turn,
                OutboundKind.LIST,
                text=body,
                list_button=text(turn, intent.choices.button),
                sections=[ListSection(rows=rows)],
            )
        ]
    return [request(turn, OutboundKind.TEXT, text=body)]


def request(turn: Turn, kind: OutboundKind, **fields: Any) -> OutboundRequest:
    return OutboundRequest(
        kind=kind,
        phone_number_id=turn.conversation.phone_number_id,
        to=turn.conversation.address,
        **fields,
    )
