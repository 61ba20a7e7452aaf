"""`rules whatif` and `rules export-golden` over conversations that came in through the signed webhook and
were handled by a real worker process, on a real redis-server: a candidate that adds one synonym changes
exactly the conversations that use the word, and nothing else; nothing is written while it replays."""

from __future__ import annotations

import asyncio
import functools
import json
import re
from pathlib import Path

import pytest
import redis
import redis.asyncio
import yaml
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from handover import keys
from handover.message import CustomerRef
from handover.store import Store
from tests.support.cli import assert_clear, handover
from tests.support.conversations import everything
from tests.support.processes import Process, wait_for
from tests.support.stack import always_open_rules
from tests.support.webhook import PNID, RECENT, SECRET, body, signed, text_message

pytestmark = pytest.mark.integration

NEW_WORD = "dono"  # the candidate makes it one more way to say `pessoa` (a person): a handover
# Two turns each; none says the new word (nor a form of it). Identity answers included: they are stored
# masked ("[cpf]"), and must not look like a change.
ORDINARY = [
    ("oi", "troca"),
    ("quero cancelar minha conta", "oi"),
    ("blablabla", "xyzzy"),
    ("obrigado", "ok"),
    ("cadê meu pedido", "529.982.247-25"),
    ("meu boleto", "ok"),
    ("oi, tudo bem?", "quero falar com um atendente"),
]
# the rules in force hand these over: churn (cancelar), two misses in a row, a person asked for
HANDED_OVER = [ORDINARY[1], ORDINARY[2], ORDINARY[6]]
SAYS_IT_FIRST = ("posso falar com o dono?", "obrigado")  # its second turn is then with a person
SAYS_IT_LAST = ("oi", "quero falar com o dono da loja")
CONVERSATIONS = 210


def scripts() -> dict[str, tuple[str, str]]:
    made = {f"55119700{n:05d}": ORDINARY[n % len(ORDINARY)] for n in range(CONVERSATIONS)}
    made |= {f"55119800{n:05d}": SAYS_IT_FIRST for n in range(6)}
    made |= {f"55119900{n:05d}": SAYS_IT_LAST for n in range(4)}
    return made


def _says(word: str, text: str) -> bool:
    return word in re.findall(r"\w+", text)


def post(settings: Settings, conversations: dict[str, tuple[str, str]]) -> None:
    messages = [
        text_message(f"wamid.{wa_id}.{turn}", wa_id, text, RECENT + 10 * turn)
        for turn in (0, 1)
        for wa_id, texts in conversations.items()
        for text in [texts[turn]]
    ]

    async def run() -> None:
        async with TestClient(TestServer(build_app(settings))) as client:
            for start in range(0, len(messages), 60):
                raw, headers = signed(body(messages[start : start + 60]))
                assert (await client.post("/webhook", data=raw, headers=headers)).status == 200

    asyncio.run(run())


def lasting(raw: redis.Redis) -> dict[object, object]:
    """What Redis holds but the keys that expire by themselves: the running worker's ticks and leases come
    and go while whatif runs, and are not what it might write."""
    return {k: v for k, v in everything(raw).items() if raw.ttl(k) == -1}


def candidate_with_one_synonym(served: Path, folder: Path) -> Path:
    rules = yaml.safe_load(served.read_text(encoding="utf-8"))
    assert NEW_WORD not in rules["synonyms"]["pessoa"]
    rules["synonyms"]["pessoa"].append(NEW_WORD)
    path = folder / "candidate.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_whatif_reports_exactly_the_conversations_one_synonym_changes(redis_url, tmp_path):
    served = always_open_rules(tmp_path)
    env = {
        "REDIS_URL": redis_url,
        "WHATSAPP_APP_SECRET": SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "v",
        "HANDOVER_PARTITIONS": "4",
        "HANDOVER_RULES": str(served),
    }
    settings = Settings(
        redis_url=redis_url,
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        handover_partitions=4,
        handover_rules=str(served),
    )
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    conversations = scripts()
    post(settings, conversations)
    worker = Process(["worker"], env, tmp_path / "worker.log").start()
    try:
        wanted = 2 * len(conversations)
        wait_for(
            lambda: int(client.hget(keys.COUNTERS, "messages_processed") or 0) >= wanted,
            90,
            "every message to be processed",
        )
    finally:
        worker.stop()
    store = Store(client)
    ids = {
        wa_id: store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id)).id
        for wa_id in conversations
    }
    # computed from what was said: the turn with the word now hands over, and what follows is with a person
    saying_it = {w for w, texts in conversations.items() if any(_says(NEW_WORD, t) for t in texts)}
    assert len(saying_it) == 10
    first = [w for w in saying_it if NEW_WORD in conversations[w][0]]
    expected_changed = sum(2 if w in first else 1 for w in saying_it)

    candidate = candidate_with_one_synonym(served, tmp_path)
    raw = redis.Redis.from_url(redis_url)  # rq's job data is not text
    before = lasting(raw)
    result = handover(["rules", "whatif", str(candidate), "--last", "1000", "--json"], env, tmp_path)
    assert_clear(result, 0, [])
    report = json.loads(result.stdout)
    assert lasting(raw) == before  # offline: nothing written

    assert report["conversations"] == len(conversations)
    assert report["turns"] == 2 * len(conversations)
    assert report["changed"] == expected_changed
    assert {(c["from"], c["to"]): c["count"] for c in report["changes"]} == {
        ("messages.unrecognized", "intents.human_request"): len(saying_it),
        ("intents.thanks", "(with a person)"): len(first),
    }
    assert sorted(e["conversation_id"] for e in report["examples"]) == sorted(ids[w] for w in saying_it)
    assert all(e["to"] == "intents.human_request" for e in report["examples"])
    escalated_now = sum(1 for texts in conversations.values() if texts in HANDED_OVER)
    assert report["escalation_rate"]["current"] == round(escalated_now / len(conversations), 4)
    assert report["escalation_rate"]["candidate"] == round((escalated_now + 10) / len(conversations), 4)
    assert report["containment"]["candidate"] == round(1 - (escalated_now + 10) / len(conversations), 4)

    # the same conversations kept as golden ones: they pass `rules test` against the served rules as exported
    chosen = [ids[first[0]], *(ids[w] for w in list(conversations)[:4])]
    exported = handover(["rules", "export-golden", *chosen], env, tmp_path)
    assert_clear(exported, 0, [])
    (tmp_path / "new.golden.yaml").write_text(exported.stdout, encoding="utf-8")
    tested = handover(["rules", "test", "new.golden.yaml"], env, tmp_path)
    assert_clear(tested, 0, [])
    assert "10 turns checked, 0 conversations failed" in tested.stdout
    assert "529.982.247-25" not in exported.stdout

    unknown = handover(["rules", "export-golden", chosen[0], "no-such-id"], env, tmp_path)
    assert_clear(unknown, 2, ["no stored conversation no-such-id"])


def test_a_large_run_split_over_two_processes_reports_what_one_process_does(redis_url, monkeypatch):
    from handover.rules.loader import load_rules, parse_rules
    from handover.rules.tools import whatif as whatif_module
    from tests.support.conversations import Say, store_conversations

    served = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
    current = load_rules(served)
    rules = yaml.safe_load(served.read_text(encoding="utf-8"))
    rules["synonyms"]["pessoa"].append(NEW_WORD)
    candidate = parse_rules(yaml.safe_dump(rules, allow_unicode=True), str(served.parent / "candidate.yaml"))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    texts = [*ORDINARY, SAYS_IT_FIRST, SAYS_IT_LAST]
    store_conversations(
        client,
        redis.asyncio.Redis.from_url(redis_url, decode_responses=True),
        current,
        {
            f"55119600{n:05d}": [(RECENT + 5 * t, Say(s)) for t, s in enumerate(texts[n % len(texts)])]
            for n in range(90)
        },
    )
    alone = whatif_module.whatif(client, current, candidate, last=1000).as_dict()
    monkeypatch.setattr(whatif_module, "PARALLEL_FROM", 10)
    connect = functools.partial(redis.Redis.from_url, redis_url, decode_responses=True)
    split = whatif_module.whatif(client, current, candidate, last=1000, connect=connect).as_dict()
    assert alone["changed"] > 0 and alone["conversations"] == 90
    assert {k: v for k, v in split.items() if k != "seconds"} == {
        k: v for k, v in alone.items() if k != "seconds"
    }
