"""The rule-based bot: one turn per customer message, every decision tied to the rule that made it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping

import structlog

from handover.bot import BotTurn, EscalationDecision
from handover.clock import Clock, system_clock
from handover.conversation import Awaiting, Conversation
from handover.hours import describe_opening, is_open
from handover.identity import Directory, VerifiedIdentity, VerifierUnavailable, clean_field
from handover.message import (
    InboundKind,
    InboundMessage,
    OutboundRequest,
)
from handover.rules import patterns, wording
from handover.rules.directory import RulesDirectory
from handover.rules.language import guess_language
from handover.rules.lexicon import View
from handover.rules.loader import LoadedRules
from handover.rules.matching import Phrase
from handover.rules.model import Escalate, Intent, Trigger, When
from handover.rules.scope import out_of_scope
from handover.rules.turn import (
    MEDIA,
    READ,
    SILENT,
    Compiled,
    QueueView,
    Turn,
    trigger_how,
    wait_for,
)

log = structlog.get_logger(__name__)

# how identity answers are recorded (`how`): what-if replays them as lived from these (rules/tools/stored.py)
INVALID_FORMAT, FORMAT_EXHAUSTED = "invalid format", "format attempts exhausted"
NO_MATCH, NOT_VERIFIED = "no match", "not verified"
EXPIRED = "earlier answers expired"


class RuleBot:
    """Answers from the rules file; escalates with the queue, priority and reason of the rule that fired.

    `rules` is called with the conversation's phone_number_id (a Rulebook: each number answers by its own
    rules file); `directory`, a RulesDirectory, follows the directory the rules of the turn name."""

    def __init__(
        self,
        rules: Callable[..., LoadedRules],
        queues: QueueView,
        directory: Directory | None = None,
        clock: Clock = system_clock,
        compiled: dict[str, Compiled] | None = None,
    ) -> None:
        self.rules = rules
        self.queues = queues
        self.directory = directory
        self.clock = clock
        self._compiled = compiled if compiled is not None else {}  # by rules version; may be shared

    def compiled(self, loaded: LoadedRules) -> Compiled:
        """The matchers of a rules version, built on first use."""
        compiled = self._compiled.get(loaded.version)
        if compiled is None:
            compiled = self._compiled[loaded.version] = Compiled(loaded.rules)
        return compiled

    def handle(self, conversation: Conversation, message: InboundMessage) -> BotTurn:
        loaded = self.rules(conversation.phone_number_id)
        compiled = self.compiled(loaded)
        answered = compiled.by_name.get(conversation.bot.intent or "")  # the last topic, before this turn
        result = self._turn(loaded, compiled, conversation, message)
        rule = result.decision.rule
        said = compiled.by_name.get(rule.split(".")[1]) if rule.startswith("intents.") else None
        thanked = rule == "acknowledgements" or (said is not None and said.weak)
        result.done = (
            thanked
            and answered is not None
            and not answered.weak
            and result.escalation is None
            and conversation.bot.awaiting is None
        )
        return result

    def _directory(self, loaded: LoadedRules) -> Directory:
        """The directory the turn's rules (its number's) name, when it follows the rules."""
        assert self.directory is not None
        if isinstance(self.directory, RulesDirectory):
            return self.directory.following(loaded)
        return self.directory

    def _turn(
        self, loaded: LoadedRules, compiled: Compiled, conversation: Conversation, message: InboundMessage
    ) -> BotTurn:
        state = conversation.bot
        if message.kind in SILENT:
            turn = Turn(
                loaded, conversation, message, state.language or loaded.rules.default_language, self.clock()
            )
            return BotTurn(turn.decision("silent", "kind." + message.kind))
        state.turns += 1
        # every message may say which language: only clear evidence changes it (see rules/language.py)
        state.language = guess_language(message.text, loaded.rules.languages) or state.language
        turn = Turn(
            loaded, conversation, message, state.language or loaded.rules.default_language, self.clock()
        )
        view = compiled.lexicon.view(message.text)  # the message as the rules see it, made once
        intent, hit, turn.runner_up = compiled.best(message, view)
        turn.score = hit.score if hit else None
        left_out: str | None = None  # why the message is out of the rules' scope, when it is
        if intent is not None and hit is not None and not intent.hands_over_now:
            scope = out_of_scope(view, hit, turn.rules.out_of_scope)
            if scope is not None:  # one word among many the rules do not know: not a topic to act on
                turn.runner_up = f"{intent.name} ({hit.score})"
                left_out = scope.describe(intent.name, turn.rules.out_of_scope)
                intent, hit = None, None
        if intent is None and compiled.acknowledges(message.text, view):
            # "ok", "👍" after an answer: nothing to say back, and not a miss (a pending question waits)
            return BotTurn(turn.decision("silent", "acknowledgements"))
        # A pending question takes the message as its answer, unless the customer asks for a person or
        # says something an escalation rule is watching for.
        pending = state.awaiting is not None and not (intent is not None and intent.hands_over_now)
        if pending and self._trigger(compiled, turn, intent, 0, view) is None:
            return self._answer(compiled, turn)
        is_read = message.kind in READ
        unrecognized = 0 if intent is not None or not is_read else state.unrecognized + 1
        fired = self._trigger(compiled, turn, intent, unrecognized, view)
        if intent is not None:
            state.intent, state.intent_how = intent.name, hit.how if hit else None
        state.unrecognized = unrecognized
        if fired is not None:
            result = self._escalate(
                turn, fired.then, f"escalation.{fired.name}", trigger_how(fired.when, hit)
            )
            result.could_not_help = fired.when.unrecognized_in_a_row is not None
            return result
        if intent is not None:
            return self._run(compiled, turn, intent, hit.how if hit else None)
        if not is_read:
            state.unrecognized = 0
            said = _said_to(message.kind, turn.rules.messages)
            return BotTurn(turn.decision("reply", f"messages.{said}"), wording.say_message(turn, said))
        state.unrecognized_total += 1
        said = "out_of_scope" if left_out and "out_of_scope" in turn.rules.messages else "unrecognized"
        decision = turn.decision("unrecognized", f"messages.{said}", left_out)
        return BotTurn(decision, wording.say_message(turn, said))

    # matching and triggers

    def _trigger(
        self, compiled: Compiled, turn: Turn, intent: Intent | None, unrecognized: int, view: View
    ) -> Trigger | None:
        """The first escalation rule, in file order, whose conditions all hold."""
        for index, trigger in enumerate(turn.rules.escalation):
            if self._holds(trigger.when, compiled.keywords[index], turn, intent, unrecognized, view):
                return trigger
        return None

    def _holds(
        self,
        when: When,
        keywords: list[Phrase],
        turn: Turn,
        intent: Intent | None,
        unrecognized: int,
        view: View,
    ) -> bool:
        checks = []
        if when.unrecognized_in_a_row is not None:
            checks.append(unrecognized >= when.unrecognized_in_a_row)
        if when.keywords is not None:
            checks.append(any(p.find(view) for p in keywords))
        if when.media is not None:
            checks.append(MEDIA.get(turn.message.kind) in when.media)
        if when.intents is not None:
            checks.append(intent is not None and intent.name in when.intents)
        if when.customer_tags is not None:
            ids = {turn.conversation.wa_id, turn.conversation.user_id} - {None}
            checks.append(any(ids & set(turn.rules.customer_tags.get(tag, [])) for tag in when.customer_tags))
        if when.bot_turns_over is not None:
            checks.append(turn.conversation.bot.turns > when.bot_turns_over)
        return bool(checks) and all(checks)

    # intents, slots and identity

    def _run(
        self,
        compiled: Compiled,
        turn: Turn,
        intent: Intent,
        how: str | None,
        before: list[OutboundRequest] | None = None,
    ) -> BotTurn:
        state = turn.conversation.bot
        before = before or []
        identity = turn.rules.identity
        fresh = (
            turn.conversation.identity is not None
            and identity is not None
            and turn.conversation.identity.is_fresh(turn.now, identity.ttl_seconds)
        )
        if intent.requires_identity and identity is not None and not fresh:
            state.awaiting = Awaiting(kind="identity", intent=intent.name, field=identity.fields[0])
            state.pending_identity = {}
            ask = wording.say(turn, identity.ask[identity.fields[0]])
            return BotTurn(turn.decision("identity", f"intents.{intent.name}", how), [*before, ask])
        for slot in intent.collect:
            if slot.name not in state.collected:
                state.awaiting = Awaiting(kind="slot", intent=intent.name, field=slot.name)
                return BotTurn(
                    turn.decision("ask", f"intents.{intent.name}.collect.{slot.name}", how),
                    [*before, wording.say(turn, slot.ask)],
                )
        state.stop_awaiting()
        replies = [*before, *wording.intent_replies(turn, intent)]
        if intent.escalate is not None:
            return self._escalate(turn, intent.escalate, f"intents.{intent.name}", how, replies)
        # an intent with nothing to say to the bot's customers (leave_queue or queue_status alone): silence
        said = turn.decision("reply" if replies else "silent", f"intents.{intent.name}", how)
        return BotTurn(said, replies)

    def _answer(self, compiled: Compiled, turn: Turn) -> BotTurn:
        state = turn.conversation.bot
        awaiting = state.awaiting
        assert awaiting is not None
        intent = compiled.by_name.get(awaiting.intent)
        identity = turn.rules.identity
        asked = awaiting.kind == "identity"
        if intent is None or (asked and (identity is None or awaiting.field not in identity.fields)):
            # the rules changed under a pending question: start afresh (an identity answer still hidden)
            state.stop_awaiting()
            return BotTurn(
                turn.decision("unrecognized", "messages.unrecognized"),
                wording.say_message(turn, "unrecognized"),
                redact=awaiting.field if asked else None,
            )
        if asked:
            return self._identity_answer(compiled, turn, intent, awaiting)
        slot = next(s for s in intent.collect if s.name == awaiting.field)
        value = (turn.message.text or "").strip()
        if value and (slot.pattern is None or patterns.pattern(slot.pattern).search(value)):
            state.collected[slot.name] = value
            state.stop_awaiting()
            return self._run(compiled, turn, intent, f"answer to {slot.name}")
        awaiting.attempts += 1
        if awaiting.attempts >= slot.attempts:
            target = intent.escalate or Escalate(
                queue=next(iter(turn.rules.queues)), reason="could_not_collect"
            )
            spec = target.model_copy(update={"reason": f"could_not_collect_{slot.name}"})
            result = self._escalate(
                turn, spec, f"intents.{intent.name}.collect.{slot.name}", "attempts exhausted"
            )
            result.could_not_help = True
            return result
        retry = wording.say(turn, slot.invalid or slot.ask)
        return BotTurn(
            turn.decision("ask", f"intents.{intent.name}.collect.{slot.name}", "invalid answer"), [retry]
        )

    def _identity_answer(self, compiled: Compiled, turn: Turn, intent: Intent, awaiting: Awaiting) -> BotTurn:
        identity = turn.rules.identity
        assert identity is not None
        state = turn.conversation.bot
        rule = f"identity.{awaiting.field}"
        earlier = itertools.takewhile(lambda field: field != awaiting.field, identity.fields)
        if any(f not in state.pending_identity for f in earlier):
            # what was typed before expired unanswered (keys.PENDING_IDENTITY_TTL_SECONDS): from the start
            state.awaiting = Awaiting(kind="identity", intent=intent.name, field=identity.fields[0])
            state.pending_identity = {}
            ask = wording.say(turn, identity.ask[identity.fields[0]])
            return BotTurn(turn.decision("identity", rule, EXPIRED), [ask], redact=awaiting.field)
        value = clean_field(awaiting.field, turn.message.text or "")
        if value is None:
            awaiting.attempts += 1
            if awaiting.attempts >= identity.attempts:
                return self._identity_failed(turn, rule, FORMAT_EXHAUSTED)
            ask = wording.say(turn, identity.ask[awaiting.field])
            return BotTurn(turn.decision("identity", rule, INVALID_FORMAT), [ask], redact=awaiting.field)
        state.pending_identity[awaiting.field] = value
        remaining = [f for f in identity.fields if f not in state.pending_identity]
        if remaining:
            state.awaiting = Awaiting(kind="identity", intent=intent.name, field=remaining[0])
            ask = wording.say(turn, identity.ask[remaining[0]])
            return BotTurn(turn.decision("identity", rule, "accepted"), [ask], redact=awaiting.field)
        typed, state.pending_identity = state.pending_identity, {}  # never kept past the directory's answer
        try:
            found = self._directory(turn.loaded).verify(typed) if self.directory is not None else None
        except VerifierUnavailable as exc:
            log.warning(
                "identity_verifier_unavailable", conversation_id=turn.conversation.id, error=str(exc)[:200]
            )
            found = None
            state.identity_attempts = identity.attempts  # do not make the customer retry what cannot work
        if found is None:
            state.identity_attempts += 1
            if state.identity_attempts >= identity.attempts:
                turn_ = self._identity_failed(turn, "identity.failed", NOT_VERIFIED)
                turn_.redact = awaiting.field
                return turn_
            state.awaiting = Awaiting(kind="identity", intent=intent.name, field=identity.fields[0])
            replies = [
                *wording.say_message(turn, "identity_retry"),
                wording.say(turn, identity.ask[identity.fields[0]]),
            ]
            return BotTurn(
                turn.decision("identity", "identity.retry", NO_MATCH), replies, redact=awaiting.field
            )
        reference, name = found
        turn.conversation.identity = VerifiedIdentity(
            method="+".join(identity.fields),
            verified_at=turn.now,
            customer_reference=reference,
            display_name=name,
        )
        state.identity_attempts = 0
        state.stop_awaiting()
        result = self._run(
            compiled, turn, intent, "identity verified", wording.say_message(turn, "identity_verified")
        )
        result.redact = awaiting.field
        return result

    def _identity_failed(self, turn: Turn, rule: str, how: str) -> BotTurn:
        identity = turn.rules.identity
        assert identity is not None
        return self._escalate(turn, identity.failed, rule, how)

    # escalation

    def _escalate(
        self,
        turn: Turn,
        spec: Escalate,
        rule: str,
        how: str | None,
        before: list[OutboundRequest] | None = None,
    ) -> BotTurn:
        state = turn.conversation.bot
        state.stop_awaiting()  # whatever was asked, and whatever was typed to prove an identity
        queue = turn.rules.queues[spec.queue]
        hours = turn.rules.business_hours.get(queue.business_hours or "")
        open_now = is_open(hours, turn.now)
        wait: str | None = None
        if open_now or hours is None:
            number = turn.conversation.phone_number_id  # its own number's queue: nobody else's stands ahead
            position = self.queues.position(number, spec.queue, spec.priority, turn.now)
            wait = wait_for(
                self.queues, turn.rules, number, spec.queue, spec.priority, position, turn.now, turn.language
            )
            told = wording.say_message(turn, "queued", position=position, wait=wait)
        else:
            name = "leave_details" if hours.outside == "leave_details" else "outside_hours"
            told = wording.say_message(turn, name, reopens=describe_opening(hours, turn.now, turn.language))
        escalation = EscalationDecision(
            queue=spec.queue,
            priority=spec.priority.value,
            reason=spec.reason,
            skills=list(spec.skills),
            rule=rule,
            rules_version=turn.loaded.version,
            at=turn.now,
            trigger_message_id=turn.message.id,
            business_hours_open=open_now,
            wait_told=wait if told else None,
        )
        return BotTurn(turn.decision("escalate", rule, how), [*(before or []), *told], escalation)


# what a message the bot cannot read is answered with, by its kind; anything else (or a kind whose message
# the rules do not have) gets `non_text` ("Recebi seu arquivo"), which would be wrong for a place or a card
_NOT_A_FILE = {
    InboundKind.LOCATION: "location",
    InboundKind.CONTACTS: "contacts",
    # a Flow answer the bot did not ask for, or something WhatsApp could not deliver: not understood
    InboundKind.FLOW_REPLY: "unrecognized",
    InboundKind.UNSUPPORTED: "unrecognized",
}


def _said_to(kind: InboundKind, messages: Mapping[str, object]) -> str:
    said = _NOT_A_FILE.get(kind)
    return said if said is not None and said in messages else "non_text"
