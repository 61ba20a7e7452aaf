"""`rules whatif` over 10,000 stored conversations (target: under 10 s on two cores, Redis read included).

The conversations are stored the way the worker stores them (webhook items drained through the real
Processor and rule bot) in a redis-server started for the run: one to six customer turns each, texts
from the evaluation corpus (tests/data/nlu) mixed with greetings, identity answers, order numbers,
button taps, voice notes and thanks, spread over a week so business hours vary. The candidate is the
shipped rules with one phrase added to an intent. The baseline, measured in the same run, is a plain
pipelined read of the same transcripts (what any replay must do anyway).
"""

from __future__ import annotations

import functools
import logging
import random
import time
from pathlib import Path

import redis
import redis.asyncio
import structlog

from handover import keys
from handover.rules.loader import load_rules, parse_rules
from handover.rules.tools.evaluation import load_corpus
from handover.rules.tools.whatif import whatif
from handover.store import Store
from tests.support.conversations import Say, store_conversations
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "config" / "rules.yaml"
CANDIDATE_EDIT = ('"quero gente", ', '"quero gente", "falar com o dono", ')


def scripts(count: int, seed: int = 13) -> dict[str, list[tuple[int, Say]]]:
    rng = random.Random(seed)
    corpus = [
        case.say for category in load_corpus(ROOT / "tests" / "data" / "nlu") for case in category.cases
    ]
    extras = [
        Say("oi"),
        Say("bom dia"),
        Say("529.982.247-25"),
        Say("12/03/1990"),
        Say("123456"),
        Say("obrigado"),
        Say("ok"),
        Say("Meu pedido", button="menu_pedido"),
        Say("Trocas e devoluções", button="menu_troca"),
        Say(media="audio"),
        Say(media="image"),
        Say("quero falar com o dono da loja"),
    ]
    start = int(time.time()) - 7 * 24 * 3600
    made = {}
    for n in range(count):
        at = start + n * 60
        turns = []
        for _ in range(rng.randint(1, 6)):
            turns.append((at, Say(rng.choice(corpus)) if rng.random() < 0.6 else rng.choice(extras)))
            at += rng.randint(5, 120)
        made[f"55119{n:08d}"] = turns
    return made


def plain_read(client: redis.Redis, ids: list[str], chunk: int = 500) -> int:
    """The baseline: every transcript's order and entries, pipelined, parsed as nothing."""
    entries = 0
    for start in range(0, len(ids), chunk):
        with client.pipeline(transaction=False) as pipe:
            for conversation_id in ids[start : start + chunk]:
                pipe.zrange(keys.transcript_key(conversation_id), 0, -1)
                pipe.hgetall(keys.entries_key(conversation_id))
            entries += sum(len(r) for r in pipe.execute()[1::2])
    return entries


def bench_whatif(count: int = 10_000) -> None:
    # the storing logs a line per message: only warnings here (the bench prints its own figures)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    current = load_rules(RULES)
    text = RULES.read_text(encoding="utf-8")
    assert CANDIDATE_EDIT[0] in text, "the shipped rules changed: update CANDIDATE_EDIT"
    candidate = parse_rules(text.replace(*CANDIDATE_EDIT, 1), str(RULES.parent / "candidate.yaml"))
    server = RedisServer().start()
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        started = time.perf_counter()
        store_conversations(
            client, redis.asyncio.Redis.from_url(server.url, decode_responses=True), current, scripts(count)
        )
        stored = time.perf_counter() - started
        ids = Store(client).newest_conversations(count)
        started = time.perf_counter()
        entries = plain_read(client, ids)
        baseline = time.perf_counter() - started
        connect = functools.partial(redis.Redis.from_url, server.url, decode_responses=True)
        report = whatif(client, current, candidate, last=count, connect=connect).as_dict()
    finally:
        server.stop()
    seconds = report["seconds"]
    print(
        f"(e) rules whatif, {report['conversations']} stored conversations "
        f"({report['turns']} customer turns, "
        f"{entries} transcript entries; stored in {stored:.0f} s)"
    )
    print(f"    baseline: pipelined read of the transcripts  {baseline:6.2f} s")
    print(
        f"    whatif (read + replay through two rules)   {seconds:6.2f} s  "
        f"{report['conversations'] / seconds:7.0f} conversations/s  ({seconds / baseline:.1f}x baseline)"
    )
    print(f"    {report['changed']} turns changed; target: 10,000 conversations in under 10 s")
