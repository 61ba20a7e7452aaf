"""Which rule wins for a sentence, and why: the bot's own turn, run offline on a conversation of its own.

    handover rules explain "meu pedido atrasou, vou no procon"
    escalation.legal_or_churn -> escalate (retention, urgent, churn_risk)
      matched: procon
      runner-up: intents.order_status (13)

Nothing is sent, stored or verified: identity answers meet no directory, queues are a fixed view (first in
line, a minute's typical wait), so the same sentence always explains the same way under the same rules.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ValidationError

from handover.clock import Clock, system_clock
from handover.conversation import BotState, Conversation, ConversationState
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.rules import waiting
from handover.rules.bot import RuleBot
from handover.rules.lexicon import normalize
from handover.rules.loader import LoadedRules
from handover.rules.model import Hours, Priority
from handover.rules.turn import Compiled

_COMPILED: dict[str, Compiled] = {}  # by rules version, shared by every explanation (the last few kept)
_KEPT = 4
CUSTOMER = CustomerRef(phone_number_id="explain", wa_id="5500000000000", profile_name="Cliente")
WITH_A_PERSON = "with_a_person"


class RunnerUp(BaseModel):
    rule: str
    score: int


class EscalationView(BaseModel):
    queue: str
    reason: str
    priority: str


class Explanation(BaseModel):
    """What the bot would do with one customer message (`rules explain --json`, POST /api/v1/bot/explain)."""

    rule: str
    action: str
    score: int | None
    matched: list[str]  # the rules' words, phrases, buttons or patterns the message met
    runner_up: RunnerUp | None  # the best intent that did not make the decision
    language: str
    how: str | None
    replies: list[str]
    escalation: EscalationView | None


class BadState(ValueError):
    """--state is neither a conversation state nor the bot's memory as JSON."""


def parse_state(text: str | None) -> tuple[ConversationState, BotState]:
    """`queued`, `assigned`... (the bot stays out of it), or the bot's memory as JSON, e.g.
    '{"awaiting": {"kind": "identity", "intent": "order_status", "field": "cpf"}}'."""
    if not text:
        return ConversationState.BOT, BotState()
    try:
        return ConversationState(text.strip()), BotState()
    except ValueError:
        pass
    try:
        return ConversationState.BOT, BotState.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        states = ", ".join(s.value for s in ConversationState)
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not JSON"
        raise BadState(
            f"--state must be one of {states}, or the bot's memory as JSON "
            f'(e.g. {{"awaiting": {{"kind": "identity", "intent": "...", "field": "cpf"}}}}): {detail}'
        ) from None


class _FirstInLine:
    def position(self, number: str, queue: str, priority: Priority, at: float) -> int:
        return 1

    def typical_wait(
        self,
        number: str,
        queue: str,
        priority: Priority,
        hours: Hours | None,
        now: float,
    ) -> float | None:
        return 60.0


def _first_in_line(language: str) -> waiting.Standing:
    """Where an explained waiting customer stands: first in an open queue, about a minute away (two
    minutes a place: the one being served counts half, handover/waits.py)."""
    return waiting.Standing(position=1, typical_wait=120.0)


def _explained(waited: waiting.WaitingTurn, compiled: Compiled, message: InboundMessage) -> Explanation:
    """A waiting customer's message that an intent heard while waiting (handover/rules/waiting.py)."""
    decision, winner = waited.decision, waited.intent.name
    ranked = [(i, h) for i, h in compiled.ranked(message) if waiting.is_heard_while_waiting(i)]
    matched = next(h.matched for i, h in ranked if i.name == winner)
    others = [(i, h) for i, h in ranked if i.name != winner]
    return Explanation(
        rule=decision.rule,
        action=decision.action,
        score=decision.score,
        matched=list(dict.fromkeys(matched)),
        runner_up=RunnerUp(rule=f"intents.{others[0][0].name}", score=others[0][1].score) if others else None,
        language=waited.language,
        how=decision.how,
        replies=[r.text or "" for r in waited.replies],
        escalation=None,
    )


def explain(
    loaded: LoadedRules,
    text: str,
    state: ConversationState = ConversationState.BOT,
    memory: BotState | None = None,
    clock: Clock = system_clock,
) -> Explanation:
    at = clock()
    conversation = Conversation.start(CUSTOMER, at)
    conversation.state = state
    conversation.bot = memory.model_copy(deep=True) if memory is not None else BotState()
    language = conversation.bot.language or loaded.rules.default_language
    message = InboundMessage(
        id="wamid.explain",
        customer=CUSTOMER,
        timestamp=int(at),
        kind=InboundKind.TEXT,
        wa_type="text",
        text=text,
    )
    if loaded.version not in _COMPILED and len(_COMPILED) >= _KEPT:
        _COMPILED.pop(next(iter(_COMPILED)))
    bot = RuleBot(lambda *_: loaded, _FirstInLine(), directory=None, clock=lambda: at, compiled=_COMPILED)
    compiled = bot.compiled(loaded)
    waits = ""
    if state == ConversationState.QUEUED:  # waiting: only leave_queue and queue_status intents are heard
        waited = waiting.answer(loaded, compiled, conversation, message, at, _first_in_line)
        if waited is not None:
            return _explained(waited, compiled, message)
        waits = " (while waiting only leave_queue and queue_status intents are heard: none matched)"
    if state != ConversationState.BOT:  # with a person: the worker never asks the bot
        return Explanation(
            rule=WITH_A_PERSON,
            action="silent",
            score=None,
            matched=[],
            runner_up=None,
            language=language,
            how=f"the conversation is {state.value}: a person answers, the bot stays silent{waits}",
            replies=[],
            escalation=None,
        )
    turn = bot.handle(conversation, message)
    decision = turn.decision
    view = compiled.lexicon.view(text)
    ranked = compiled.ranked(message, view)
    winner = decision.rule.split(".")[1] if decision.rule.startswith("intents.") else None
    matched: dict[str, None] = {}
    for intent, hit in ranked:
        if intent.name == winner:
            matched.update(dict.fromkeys(hit.matched))
    if decision.rule.startswith("escalation."):
        index = next(
            i for i, t in enumerate(loaded.rules.escalation) if f"escalation.{t.name}" == decision.rule
        )
        trigger = loaded.rules.escalation[index]
        for phrase in compiled.keywords[index]:
            if phrase.find(view):
                matched[phrase.text] = None
        for intent, hit in ranked:
            if trigger.when.intents and intent.name in trigger.when.intents:
                matched.update(dict.fromkeys(hit.matched))
                break
    if decision.rule == "acknowledgements":
        matched.update(dict.fromkeys(normalize(text).split()))
    others = [(i, h) for i, h in ranked if i.name != winner]
    escalation = turn.escalation
    return Explanation(
        rule=decision.rule,
        action=decision.action,
        score=decision.score,
        matched=list(matched),
        runner_up=RunnerUp(rule=f"intents.{others[0][0].name}", score=others[0][1].score) if others else None,
        language=conversation.bot.language or language,
        how=decision.how,
        replies=[r.text or "" for r in turn.replies],
        escalation=EscalationView(
            queue=escalation.queue, reason=escalation.reason, priority=escalation.priority
        )
        if escalation
        else None,
    )


def render(explanation: Explanation) -> str:
    """The explanation as ops read it in a terminal."""
    e = explanation
    head = f"{e.rule} -> {e.action}"
    if e.escalation is not None:
        head += f" ({e.escalation.queue}, {e.escalation.priority}, {e.escalation.reason})"
    if e.score is not None:
        head += f"  score {e.score}"
    lines = [head, f"  language: {e.language}"]
    if e.how:
        lines.append(f"  how: {e.how}")
    lines.append(f"  matched: {', '.join(e.matched) if e.matched else '(nothing)'}")
    lines.append(
        f"  runner-up: {e.runner_up.rule} ({e.runner_up.score})" if e.runner_up else "  runner-up: none"
    )
    lines.extend(f"  says: {reply}" for reply in e.replies)
    return "\n".join(lines)
