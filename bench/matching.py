"""The bot's matching cost per message: the shipped rules, and rules of 1,000 and 10,000 intents.

The baseline, measured in the same run, is what any matching must do anyway: normalise and split the
message. Messages are the evaluation corpus (tests/data/nlu), so their length and words are real.
"""

from __future__ import annotations

import random
import string
import time
from pathlib import Path

from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.rules.lexicon import tokens
from handover.rules.loader import load_rules
from handover.rules.model import Intent, Match, OutOfScope, Rules
from handover.rules.scope import out_of_scope
from handover.rules.tools.evaluation import load_corpus
from handover.rules.turn import Compiled

ROOT = Path(__file__).resolve().parents[1]


def synthetic(rules: Rules, intents: int, seed: int = 7) -> Rules:
    """The shipped rules plus `intents` made-up intents of six keywords each (a third of them phrases)."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10)))

    made = [
        Intent(
            name=f"made_up_{n}",
            match=Match(any=[" ".join(word() for _ in range(rng.choice((1, 1, 2, 3)))) for _ in range(6)]),
            reply={language: "..." for language in rules.languages},
        )
        for n in range(intents)
    ]
    return rules.model_copy(update={"intents": [*rules.intents, *made]})


def per_message(compiled: Compiled, messages: list[InboundMessage], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for message in messages:
            start = time.perf_counter()
            view = compiled.lexicon.view(message.text)
            intent, hit, _ = compiled.best(message, view)
            if intent is not None and hit is not None:  # is it out of the rules' scope (issue 30)
                out_of_scope(view, hit, OutOfScope())
            compiled.acknowledges(message.text, view)
            times.append(time.perf_counter() - start)
    return sorted(times)


def matching(rounds: int = 5) -> None:
    shipped = load_rules(ROOT / "config" / "rules.yaml").rules
    customer = CustomerRef(phone_number_id="bench", wa_id="5511900000000")
    texts = [case.say for category in load_corpus(ROOT / "tests" / "data" / "nlu") for case in category.cases]
    messages = [
        InboundMessage(
            id=f"m{i}", customer=customer, timestamp=0, kind=InboundKind.TEXT, wa_type="text", text=t
        )
        for i, t in enumerate(texts)
    ]
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            tokens(text)
    baseline = (time.perf_counter() - start) / (rounds * len(texts))
    print(
        f"(c) matching a message ({len(texts)} corpus messages x {rounds}; matching, out-of-scope and "
        "acknowledgement checks)"
    )
    print(f"    baseline: normalise and split   {baseline * 1000:7.3f} ms")
    for label, rules in (
        (f"shipped rules ({len(shipped.intents)} intents)", shipped),
        ("1,000 intents", synthetic(shipped, 1000)),
        ("10,000 intents", synthetic(shipped, 10_000)),
    ):
        started = time.perf_counter()
        compiled = Compiled(rules)
        built = time.perf_counter() - started
        times = per_message(compiled, messages, rounds)
        mean = sum(times) / len(times)
        p99 = times[int(len(times) * 0.99)]
        print(
            f"    {label:<26} mean {mean * 1000:6.3f} ms  p99 {p99 * 1000:6.3f} ms  "
            f"({mean / baseline:5.1f}x baseline; compiled in {built:.2f} s)"
        )
    print("    target: <= 2 ms per message with 1,000 intents")
