"""Which business numbers a signed-in person sees (issue 32): the scope of every desk route, in one place.

A person given `numbers` (agents add|set --numbers) sees only those numbers' conversations; an admin, and
anyone given none, sees every number, as before numbers were scoped (and costs nothing more here). What
a route names is checked before the route runs (`check`, called by desk/http.py's `scoped` middleware for
every route): a conversation (`/conversations/{id}`, `?conversation_id=`), a media (`{media_id}`: its
conversation's number) or a number (`?phone_number_id=`, `?number=`) of a number they do not serve answers
404 exactly as one that does not exist, so nobody learns it does. Lists keep only what they serve
(`visible`, `colleagues`, and handover/inbox.py for the pages; desk/live.py for the events); figures not
yet split by number are for those who see every number (`FIGURES_NOT_SPLIT`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

from handover.agents import Agent, UnknownAgent
from handover.errors import Invalid, NotFound

if TYPE_CHECKING:
    from desk.http import DeskContext

FIGURES_NOT_SPLIT = "figures per number are not available yet; ask an admin"


class OfNumber(Protocol):
    @property
    def phone_number_id(self) -> str | None: ...


Item = TypeVar("Item", bound=OfNumber)
Kept = TypeVar("Kept")


def is_scoped(agent: Agent) -> bool:
    """Whether this person sees only some numbers (else every route answers as it always did)."""
    return not agent.is_admin and bool(agent.numbers)


def check(
    ctx: DeskContext, agent: Agent, route: str, path: Mapping[str, str], query: Mapping[str, str]
) -> None:
    """Raise NotFound, worded as for something unknown, when a route (`route`: its template, as
    `/api/v1/conversations/{id}/notes`) names what the agent may not see."""
    if not is_scoped(agent):
        return
    if "id" in path and "/conversations/{id}" in route:
        _conversation(ctx, agent, path["id"])
    if "conversation_id" in query:
        _conversation(ctx, agent, query["conversation_id"])
    if "media_id" in path:
        _media(ctx, agent, path["media_id"])
    for name in ("phone_number_id", "number"):
        number = query.get(name)
        if number is not None and not agent.serves(number):
            if "key" in path:  # a customer's history: as desk/history.py words an unknown customer
                raise NotFound(f"no conversations for customer {path['key']!r} on {number!r}")
            raise NotFound(f"no business number {number!r}")


def _conversation(ctx: DeskContext, agent: Agent, conversation_id: str) -> None:
    [found] = ctx.inbox.listed([conversation_id]) if conversation_id else [None]
    if found is not None and not agent.serves(found.phone_number_id):
        raise NotFound(conversation_id)  # what handover/assignment/claims.py says of an unknown one


def _media(ctx: DeskContext, agent: Agent, media_id: str) -> None:
    ref = ctx.reads.media(media_id)
    if ref is None:
        return  # the route says it is unknown
    [found] = ctx.inbox.listed([ref.conversation_id])
    if found is not None and not agent.serves(found.phone_number_id):
        raise NotFound(f"no media {media_id!r} in any conversation kept")  # as desk/media.py says


def visible(agent: Agent, items: Iterable[Item]) -> list[Item]:
    """What a list holds of the numbers the agent serves (items with no number are everyone's)."""
    return [i for i in items if i.phone_number_id is None or agent.serves(i.phone_number_id)]


def of_numbers(agent: Agent, items: Iterable[Kept]) -> list[Kept]:
    """Items that say their business number in a `number` field (a queue's figures), kept when the agent
    serves it; an item that says none belongs to every number."""
    kept = []
    for item in items:
        number = getattr(item, "number", None)
        if number is None or agent.serves(str(number)):
            kept.append(item)
    return kept


def colleagues(agent: Agent, others: Iterable[Agent]) -> list[Agent]:
    """The people a scoped agent sees: those who serve one of their numbers (and those who serve all)."""
    if not is_scoped(agent):
        return list(others)
    return [o for o in others if not is_scoped(o) or set(o.numbers) & set(agent.numbers)]


def check_transfer(ctx: DeskContext, agent: Agent, conversation_id: str, to_agent: str | None) -> None:
    """A conversation goes only to someone who serves its number (422 otherwise); a person the agent
    cannot see is unknown to them (404, as for an id nobody has)."""
    if to_agent is None:
        return
    try:
        target = ctx.agents.get(to_agent)
    except UnknownAgent:
        return  # the transfer says it is unknown
    if not colleagues(agent, [target]):
        raise NotFound(f"agent {to_agent}")
    if not is_scoped(target):
        return  # serves every number
    [found] = ctx.inbox.listed([conversation_id])
    if found is not None and not target.serves(found.phone_number_id):
        raise Invalid(f"{target.name} does not serve this conversation's business number")
