"""Every Redis key the project uses, built in one place (like arq's constants)."""

from __future__ import annotations

import zlib
from enum import StrEnum
from typing import Any

PREFIX = "hv:"
GROUP = "hv"  # the consumer group on every partition stream
CONSUMER = "drainer"  # one lease holder per partition at a time, so one consumer name suffices

SEEN_TTL_SECONDS = 8 * 24 * 3600  # Meta retries for 7 days
WAMID_TTL_SECONDS = 30 * 24 * 3600
ORPHAN_STATUS_TTL_SECONDS = 24 * 3600


class Lane(StrEnum):
    """The two kinds of partitioned work: inbound webhook items and outbound sends."""

    INBOUND = "in"
    OUTBOUND = "out"


def partition_of(customer_key: str, partitions: int) -> int:
    """A customer's partition: stable across processes and restarts (crc32, not Python's salted hash)."""
    return zlib.crc32(customer_key.encode()) % partitions


def stream_key(lane: Lane, partition: int) -> str:
    return f"{PREFIX}{lane}:{partition}"


def lease_key(lane: Lane, partition: int) -> str:
    return f"{PREFIX}lease:{lane}:{partition}"


def lease_fence_key(lane: Lane, partition: int) -> str:
    """Touched when a commit finds the lease not its own, so that its transaction is refused
    (handover/traffic/fenced.py)."""
    return f"{PREFIX}fence:{lane}:{partition}"


def commit_mark_key(lane: Lane, partition: int) -> str:
    """The id of the partition's last commit, written in its transaction: whether a commit whose reply was
    lost applied (handover/traffic/streams.py)."""
    return f"{PREFIX}committed:{lane}:{partition}"


def wake_key(lane: Lane, partition: int) -> str:
    return f"{PREFIX}wake:{lane}:{partition}"


def held_sends_key(conversation_id: str) -> str:
    """A conversation's sends waiting for an earlier one to finish, by number (traffic/outbound.py)."""
    return f"{PREFIX}out:held:{conversation_id}"


WAKEUPS = f"{PREFIX}wakeups"  # list of "lane:partition" a drainer should be started for
URGENT_WAKEUPS = f"{PREFIX}wakeups:urgent"  # the same, for partitions whose drainer died (taken first)
SEND_NUMBERS = f"{PREFIX}out:numbers"  # hash: conversation -> the last number given to one of its sends
SEND_CURSORS = f"{PREFIX}out:next"  # hash: conversation -> "<next number to send> <since ms>"
RETRIES = f"{PREFIX}out:retries"  # sorted set of outbound sends waiting for their backoff, by due time
EVENTS = f"{PREFIX}events"  # capped stream of webhook changes we keep but do not act on
UNROUTED = f"{PREFIX}unrouted"  # capped stream of items addressed to numbers we do not serve
COUNTERS = f"{PREFIX}counters"  # hash of counters the workers keep for /metrics
PARTITIONS = f"{PREFIX}partitions"  # how many partitions the streams were created with
# every business number that ever reached the webhook (handover/numbers.py `known`), beside the configured
NUMBERS = f"{PREFIX}{{global}}:numbers"
CONVERSATIONS = f"{PREFIX}conversations"  # zset conversation id -> started_at: what-if reads the newest


def kpi_hour_key(hour: int) -> str:
    """Support KPIs counted in one hour (hours since the epoch); see handover/kpis.py."""
    return f"{PREFIX}kpi:{hour}"


def kpi_waits_key(hour: int, reason: str) -> str:
    """Waits before abandoning in one hour, for one reason (`<queue> <seconds>`, capped): their median."""
    return f"{PREFIX}kpi:{hour}:waits:{reason}"


def fcr_hour_key(hour: int) -> str:
    """Resolutions of one hour and how many of their customers came back within fcr_days (handover/fcr.py)."""
    return f"{PREFIX}fcr:{hour}"


def seen_key(item_id: str) -> str:
    return f"{PREFIX}seen:{item_id}"


def customer_key(phone_number_id: str, customer: str) -> str:
    return f"{PREFIX}cust:{phone_number_id}:{customer}"


def media_key(media_id: str) -> str:
    """A customer's media: the conversation it came in and its file name (who may fetch it, and as what)."""
    return f"{PREFIX}media:{media_id}"


def media_ticket_key(ticket: str) -> str:
    """A short-lived media link (handover/media.py): the agent it was given to and the one media it opens."""
    return f"{PREFIX}media-ticket:{ticket}"


MEDIA_KEPT_SECONDS = 30 * 24 * 3600  # Meta keeps a customer's media 30 days; the reference no longer


def history_key(phone_number_id: str, customer: str) -> str:
    """The customer's conversations on one number, newest first (the packet lists the past ones)."""
    return f"{PREFIX}cust:{phone_number_id}:{customer}:history"


def conversation_key(conversation_id: str) -> str:
    return f"{PREFIX}conv:{conversation_id}"


def transcript_key(conversation_id: str) -> str:
    """Sorted set of entry ids scored by WhatsApp time in milliseconds."""
    return f"{PREFIX}tx:{conversation_id}"


def entries_key(conversation_id: str) -> str:
    """Hash of entry id -> the entry's JSON (content; delivery lives beside it)."""
    return f"{PREFIX}txe:{conversation_id}"


def typing_key(conversation_id: str) -> str:
    """Set while WhatsApp shows the customer "typing…" (handover/gestures.py): one call per 25 s."""
    return f"{PREFIX}typing:{conversation_id}"


def delivery_key(conversation_id: str) -> str:
    """Hash of outbound entry id -> delivery JSON (status, wamid, error), updated forward-only."""
    return f"{PREFIX}txd:{conversation_id}"


def wamid_key(wa_message_id: str) -> str:
    """Where a WhatsApp message id we sent lives: "<conversation id> <entry id>"."""
    return f"{PREFIX}wamid:{wa_message_id}"


def orphan_status_key(wa_message_id: str) -> str:
    """Statuses that arrived before we stored the id of the send they are about."""
    return f"{PREFIX}orphan:{wa_message_id}"


def outbox_key(to: str) -> str:
    """The sandbox's outbox for one customer address."""
    return f"{PREFIX}sandbox:outbox:{to}"


SANDBOX_OUTBOX_ALL = f"{PREFIX}sandbox:outbox"


def dead_letter_key(lane: Lane) -> str:
    """Entries the code could not handle, kept whole with the error, so nothing is lost or blocks."""
    return f"{PREFIX}dead:{lane}"


def attempts_key(lane: Lane, partition: int) -> str:
    """A partition's entries read again after their drainer died or outlived its lease: entry id -> how
    many times one was started alone since (handover/traffic/streams.py sets it aside past REDELIVERIES)."""
    return f"{PREFIX}attempts:{lane}:{partition}"


ATTEMPTS_TTL_MS = (
    24 * 3600 * 1000
)  # an attempts hash left behind (its worker died between commit and cleanup)


def as_text(value: Any) -> Any:
    """A Redis reply as str, whether or not the client decodes responses (rq's connection does not)."""
    return value.decode() if isinstance(value, bytes) else value


def number_tag(number: str) -> str:
    """The hash tag of a business number's keys (`hv:{<phone_number_id>}:`): one Redis Cluster slot each."""
    return f"{PREFIX}{{{number}}}:"


def queue_key(number: str, queue: str) -> str:
    """Sorted set of the conversations of one business number waiting in one of its queues: higher
    priority first, then the longest waiting. A queue is a number's: two numbers' `general` never mix."""
    return f"{number_tag(number)}queue:{queue}"


def queue_waits_key(number: str, queue: str) -> str:
    """Recent waits of conversations taken from a number's queue, newest first, each `waited began band`
    (seconds, epoch seconds, priority band): the wait estimate (handover/waits.py)."""
    return f"{number_tag(number)}queue:{queue}:waits"


# Before queues were per number (handover/upgrades.py moves what they hold): hv:queue:<name>[:waits] and
# hv:activity:waiting:<name>. Nothing but the upgrade reads them.
def old_queue_key(queue: str) -> str:
    return f"{PREFIX}queue:{queue}"


def old_queue_waits_key(queue: str) -> str:
    return f"{PREFIX}queue:{queue}:waits"


def old_activity_waiting_key(queue: str) -> str:
    return f"{PREFIX}activity:waiting:{queue}"


UPGRADED_QUEUES = f"{PREFIX}upgraded:queues-per-number"  # handover/upgrades.py moved the old queues


def announced_key(conversation_id: str) -> str:
    """What a waiting customer was last told of their wait, and when."""
    return f"{PREFIX}announced:{conversation_id}"


PENDING_IDENTITY_TTL_SECONDS = 10 * 60  # how long an identity question waits for the customer's next answer


def pending_identity_key(conversation_id: str) -> str:
    """The identity values a customer typed so far (cleaned JSON, e.g. the CPF) while the bot asks for the
    rest: expiring with the question, deleted when the bot stops asking (Store.save_conversation)."""
    return f"{PREFIX}identity:{conversation_id}"


def packet_key(conversation_id: str) -> str:
    return f"{PREFIX}packet:{conversation_id}"


def decisions_key(conversation_id: str) -> str:
    """The bot's recent decisions in a conversation, newest first, each with its rule and rules version."""
    return f"{PREFIX}decisions:{conversation_id}"


AGENTS = f"{PREFIX}agents"  # set of agent ids
AGENTS_LIVE = f"{PREFIX}agents:live"  # zset agent id -> last moment a desk of theirs was connected (ms)


def agent_key(agent_id: str) -> str:
    return f"{PREFIX}agent:{agent_id}"


def agent_token_key(digest: str) -> str:
    """SHA-256 of a token -> agent id (tokens themselves are never stored)."""
    return f"{PREFIX}agent_token:{digest}"


def token_failures_key(client: str) -> str:
    """The unknown desk tokens one client (an address, an IPv6 /64) sent lately (lua/token_failure.lua)."""
    return f"{PREFIX}guesses:{client}"


def note_rate_key(agent_id: str, minute: int) -> str:
    """How many notes an agent wrote in one minute since the epoch (handover/notes.py); expires after it."""
    return f"{PREFIX}agent:{agent_id}:notes:{minute}"


def agent_load_key(agent_id: str) -> str:
    """Set of the conversations an agent holds now (capacity is checked against it)."""
    return f"{PREFIX}agent:{agent_id}:conversations"


OFFERS = f"{PREFIX}offers"  # warm transfer offers by expiry time
PUSH_OFFERS = f"{PREFIX}offers:push"  # conversations offered by the assigner, by expiry time
# the assigner's memory of agents, hashes agent id -> value: when each last got a conversation (or an offer),
# when each was last freed or came back, how many offers in a row each let expire
ROUTING_LAST = f"{PREFIX}routing:last"
ROUTING_FREED = f"{PREFIX}routing:freed"
ROUTING_MISSED = f"{PREFIX}routing:missed"
ASSIGNER_LEASE = f"{PREFIX}assigner:lease"  # held by the one process whose assigner decides (see workers/)


def agent_offers_key(agent_id: str) -> str:
    """Set of the conversations offered to an agent and not yet accepted: they count against capacity."""
    return f"{PREFIX}agent:{agent_id}:offers"


def skip_key(conversation_id: str) -> str:
    """Set of agents who declined or let an offer of this conversation expire: not offered it again."""
    return f"{PREFIX}conv:{conversation_id}:skip"


def assigned_today_key(day: int) -> str:
    """Hash agent id -> conversations given to them on this day (days since the epoch): fairness."""
    return f"{PREFIX}routing:assigned:{day}"


# The desk's activity index (handover/activity.py): open conversations scored by their last change
# (`updated_at`), so a page of the desk's list is a range read however many wait.
ACTIVITY_WAITING = f"{PREFIX}activity:waiting"  # zset: every waiting conversation -> updated_at
ACTIVITY_HELD = f"{PREFIX}activity:held"  # zset: every held (assigned, transferring) one -> updated_at
UPGRADED_TYPED_IDENTITY = f"{PREFIX}upgraded:typed-identity"  # handover/upgrades.py ran on this Redis
SEARCH = f"{PREFIX}search"  # `term NUL conversation_id` at score 0: supervisors' search (handover/search.py)
SEARCH_BUILT = f"{PREFIX}search:built"  # set once every conversation started before the index is filed
ACTIVITY_BUILT = f"{PREFIX}activity:built"  # set once the index holds every open conversation


def activity_waiting_key(number: str, queue: str) -> str:
    """The conversations waiting in one queue of one business number, by their last change."""
    return f"{number_tag(number)}activity:waiting:{queue}"


def activity_held_key(agent_id: str) -> str:
    """The conversations one agent holds, by their last change."""
    return f"{PREFIX}activity:held:{agent_id}"


DESK_EVENTS = f"{PREFIX}desk:events"  # capped stream of desk events (see handover/events.py)


def bot_hour_key(hour: int) -> str:
    """What the bot did in one hour (hours since the epoch), per rule and version: handover/botstats.py."""
    return f"{PREFIX}bot:{hour}"


def bot_missed_key(kind: str) -> str:
    """Capped stream of grouped, masked texts the bot missed: `unrecognized` or `could_not_help`."""
    return f"{PREFIX}bot:missed:{kind}"


BOT_IDLE = f"{PREFIX}bot:idle"  # zset: conversation with the bot -> when the bot last answered

# Retention (handover/retention.py): every conversation, scored at or before its last change (filed when it
# starts, moved forward only by the sweep that looks at it), so the sweep finds the due ones by range.
RETAINED = f"{PREFIX}retained"
UPGRADED_RETAINED = f"{PREFIX}upgraded:retained"  # the SCAN cursor filing older conversations; "done" at end

RULES_VERSIONS = f"{PREFIX}rules:versions"  # hash: rules version -> JSON {hash, first loaded at, by}
RULES_CONTENTS = f"{PREFIX}rules:contents"  # hash: rules version -> the file's text (read one at a time)
RULES_VERSION_INDEX = f"{PREFIX}rules:versions:index"  # zset: rules version -> first loaded at
PROCESSES = f"{PREFIX}processes"  # zset: process id -> last report (its report key may have expired)


def rules_version_index_key(phone_number_id: str) -> str:
    """zset: the rules versions loaded for one number numbers.yaml lists -> first loaded at (its history;
    the versions themselves are kept once for all, under RULES_VERSIONS)."""
    return f"{PREFIX}{{{phone_number_id}}}:rules:versions:index"


def process_key(process_id: str) -> str:
    """What one process last reported (the rules version it runs), expiring when it stops reporting."""
    return f"{PREFIX}process:{process_id}"


# Events out (handover/hooks/): the subscriptions (hash id -> JSON) and the secrets made for them (hash id
# -> secret; none for a hook whose secret is in the workers' environment)
HOOKS = f"{PREFIX}{{global}}:hooks"
HOOK_SECRETS = f"{PREFIX}{{global}}:hooks:secrets"
# what is to be posted (hash delivery id -> JSON) and when (zset id -> due time, or the end of the lease of
# the worker posting it); the attempts (a capped list, newest first), the deliveries given up on (capped),
# each hook's breaker (hash hook id -> JSON) and counters for /metrics (hash `<what>:<hook id>` -> n)
HOOKS_PENDING = f"{PREFIX}{{global}}:hooks:pending"
HOOKS_DUE = f"{PREFIX}{{global}}:hooks:due"
HOOKS_LOG = f"{PREFIX}{{global}}:hooks:log"
HOOKS_DEAD = f"{PREFIX}{{global}}:hooks:dead"
HOOKS_BREAKERS = f"{PREFIX}{{global}}:hooks:breakers"
HOOKS_COUNTERS = f"{PREFIX}{{global}}:hooks:counters"
HOOKS_GROUP = "hooks"  # the consumer group on the desk events that turns them into deliveries
HOOKS_LOG_KEPT = 2_000
HOOKS_DEAD_KEPT = 10_000
AUDIT = f"{PREFIX}audit"  # zset: audit entry JSON -> when (handover/audit.py)


def tick_key(task: str) -> str:
    """Held for one period by the process elected to run a periodic task (workers/dispatcher.py)."""
    return f"{PREFIX}tick:{task}"


# How many entries each capped stream keeps (XADD MAXLEN ~): the one place each cap is written.
DESK_EVENTS_KEPT = 10_000
EVENTS_KEPT = 10_000
UNROUTED_KEPT = 10_000
DEAD_LETTERS_KEPT = 10_000  # per lane
BOT_MISSED_KEPT = 100_000  # per kind: what a month of misses at a big retailer's scale fits in
