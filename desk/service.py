"""What each desk route does, as one synchronous call returning the response: a handler hops to a worker
thread once per request (issue 14 measured this against redis.asyncio in the handlers and against a hop
per Redis call; see docs/development.md, "Layers and contracts"; bench/desk.py measures the routes now)."""

from __future__ import annotations

from desk import scope
from desk.http import DeskContext
from desk.models import AgentView, ConversationDetail, ConversationSummary, QueueStats
from handover import search
from handover.agents import Agent, Presence
from handover.conversation import Conversation, ConversationState
from handover.errors import NotFound, NotYours
from handover.inbox import Filters
from handover.kpireport import Stats
from handover.rules.model import Queue
from handover.transfers import TransferRequest


def me(ctx: DeskContext, agent: Agent) -> AgentView:
    return AgentView.of(agent, ctx.agents.load(agent.id))


def set_status(ctx: DeskContext, agent: Agent, status: Presence) -> AgentView:
    ctx.agents.set_status(agent.id, status)
    if status is Presence.OFFLINE:  # nobody left to answer them: back to their queues, ahead of newer ones
        ctx.transfers.requeue_held(agent)
    return AgentView.of(ctx.agents.get(agent.id), ctx.agents.load(agent.id))


def offers(ctx: DeskContext, agent: Agent) -> list[ConversationSummary]:
    """What is offered to the agent now, warm transfers and push queues' offers, oldest first. Offers are
    few (they last seconds to minutes), so they are listed whole: a desk finds them without paging through
    what waits, where an old waiting conversation offered to them sits far down the list."""
    now = ctx.clock()
    mine = sorted(scope.visible(agent, ctx.inbox.offered_to(agent)), key=lambda c: (c.updated_at, c.id))
    return [ConversationSummary.of(c, now) for c in mine]


def agents(ctx: DeskContext, agent: Agent) -> list[AgentView]:
    """Colleagues, for transfers and the supervisor's view: presence and load, never tokens (a person of
    some numbers sees those who serve one of them)."""
    everyone = sorted(scope.colleagues(agent, ctx.agents.all()), key=lambda a: a.name.lower())
    loads = ctx.agents.loads([a.id for a in everyone])
    return [AgentView.of(a, loads[a.id]) for a in everyone]


def stats(ctx: DeskContext, hours: int, queue: str | None = None, number: str | None = None) -> Stats:
    """The KPIs (handover/kpireport.py) of the last `hours`, of one queue if asked (NotFound: no such
    queue in the rules of `number`, default rules without one)."""
    rules = ctx.rules(number).rules
    if queue is not None and queue not in rules.queues:
        raise NotFound(f"queue {queue}")
    slas = {name: q.sla_seconds for name, q in rules.queues.items()}
    return ctx.reads.kpis(hours, slas, rules.kpis.fcr_days, queue)


def queues(ctx: DeskContext, agent: Agent, everything: bool) -> list[QueueStats]:
    """The agent's queues in each number they serve (`everything`: every queue of every number): waiting
    counts, oldest wait and SLA breaches, one entry per (number, queue), each by its number's rules."""
    specs: dict[tuple[str, str], Queue] = {}
    # before any number is known (none configured, no customer yet) the default rules' queues, all empty,
    # under no number: an agent still sees where they will take from
    for number in ctx.known() or [""]:
        if everything or not number or agent.serves(number):
            rules = ctx.rules(number or None).rules
            names = list(rules.queues) if everything else [q for q in agent.queues if q in rules.queues]
            specs |= {(number, name): rules.queues[name] for name in names}
    now = ctx.clock()
    figures = ctx.queues.stats(list(specs), {pair: spec.sla_seconds for pair, spec in specs.items()})
    return [
        QueueStats(
            number=f.number,
            name=f.name,
            label=specs[(f.number, f.name)].label,
            mine=f.name in agent.queues and (not f.number or agent.serves(f.number)),
            waiting=f.waiting,
            sla_seconds=specs[(f.number, f.name)].sla_seconds,
            oldest_wait_seconds=_age(f.oldest_enqueued_at, now),
            sla_breaches=f.sla_breaches,
        )
        for f in figures
    ]


def _age(since: float | None, now: float) -> float | None:
    return None if since is None else round(now - since, 1)


def take_next(ctx: DeskContext, agent: Agent, number: str | None = None) -> ConversationDetail | None:
    """Claim the best waiting conversation for the agent as they are now (their presence may have changed
    since their token was read), of one business number when given; None when nothing waits."""
    conversation = ctx.assignments.claim_next(ctx.agents.get(agent.id), number)
    return None if conversation is None else _detail(ctx, conversation)


def conversations(
    ctx: DeskContext, agent: Agent, filters: Filters, limit: int, cursor: str | None
) -> tuple[list[ConversationSummary], str | None]:
    """A page of the agent's list, newest activity first, and the cursor of the next (None: the last)."""
    page = ctx.inbox.page(agent, filters, limit, cursor)
    now = ctx.clock()
    return [ConversationSummary.of(c, now) for c in page.conversations], page.next_cursor


def search_conversations(ctx: DeskContext, agent: Agent, query: str, limit: int) -> list[ConversationSummary]:
    """Supervisors: conversations found by phone number (or its last digits), name, user id or id, open or
    closed, newest started first (`limit` of them)."""
    if not agent.is_supervisor:
        raise NotYours("searching every conversation is for supervisors")
    search.ensure_built(ctx.store)
    found = scope.visible(agent, [c for c in ctx.store.conversations(ctx.reads.find(query)) if c is not None])
    found.sort(key=lambda c: (c.created_at, c.id), reverse=True)
    now = ctx.clock()
    return [ConversationSummary.of(c, now) for c in found[:limit]]


def conversation(ctx: DeskContext, agent: Agent, conversation_id: str) -> ConversationDetail:
    return _detail(ctx, ctx.assignments.conversation_for(agent, conversation_id))


def transfer(
    ctx: DeskContext, agent: Agent, conversation_id: str, move: TransferRequest
) -> ConversationDetail:
    scope.check_transfer(ctx, agent, conversation_id, move.to_agent)
    act = ctx.warm.offer if move.mode == "warm" else ctx.transfers.transfer
    return _detail(ctx, act(agent, conversation_id, move))


def accept(ctx: DeskContext, agent: Agent, conversation_id: str) -> ConversationDetail:
    """A warm transfer offered to the agent, or a waiting conversation the assigner offered them."""
    fresh = ctx.agents.get(agent.id)  # their capacity as it is now
    if _offered_by_assigner(ctx, fresh, conversation_id):
        return _detail(ctx, ctx.assignments.accept_offer(fresh, conversation_id))
    return _detail(ctx, ctx.warm.accept(fresh, conversation_id))


def decline(ctx: DeskContext, agent: Agent, conversation_id: str) -> ConversationDetail:
    if _offered_by_assigner(ctx, agent, conversation_id):
        return _detail(ctx, ctx.assignments.decline_offer(agent, conversation_id))
    return _detail(ctx, ctx.warm.decline(agent, conversation_id))


def _offered_by_assigner(ctx: DeskContext, agent: Agent, conversation_id: str) -> bool:
    """Waiting, and offered to this agent (a warm transfer's conversation is `transferring`)."""
    return ctx.assignments.conversation_for(agent, conversation_id).state == ConversationState.QUEUED


def resolve(ctx: DeskContext, agent: Agent, conversation_id: str) -> ConversationDetail:
    ctx.assignments.resolve(agent, conversation_id)
    return conversation(ctx, agent, conversation_id)


def release(ctx: DeskContext, agent: Agent, conversation_id: str) -> ConversationDetail:
    ctx.assignments.release_to_bot(agent, conversation_id)
    released = ctx.store.conversation(conversation_id)
    assert released is not None  # released, not deleted
    return _detail(ctx, released)


def _detail(ctx: DeskContext, c: Conversation) -> ConversationDetail:
    return ConversationDetail.load(ctx.store, c, ctx.clock())
