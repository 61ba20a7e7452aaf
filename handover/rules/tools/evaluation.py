"""How well a rules file handles realistic customer messages: a labelled corpus, run through the bot.

A corpus is a folder (or one file) of YAML files, one category each (`tests/data/nlu/` ships one):

    category: ask_for_person
    cases:
      - say: "me passa pra uma pessoa"
        expect: {intent: human_request, escalate: {queue: general, reason: customer_asked}}
      - say: "ok"
        before: ["oi"]                # said first, in the same conversation; only the last is judged
        expect: {acknowledged: true}

Each case is a fresh conversation; `expect` uses the keys of golden conversations' `expect`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from handover.message import CustomerRef
from handover.rules.loader import LoadedRules
from handover.rules.tools.golden import Expect, GoldenFailure, Turn, _FixedQueues, holds, play
from handover.rules.yamlfile import RulesError, Unreadable, load_model

# A weekday morning in São Paulo: every queue of the shipped rules is open.
AT = datetime.fromisoformat("2026-11-23T10:00:00-03:00").timestamp()


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    say: str = Field(min_length=1)
    before: list[str] = Field(default_factory=list)
    expect: Expect


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    description: str = ""
    cases: list[Case] = Field(min_length=1)


@dataclass
class Outcome:
    category: str
    say: str
    expected: str
    got: str
    passed: bool


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def share(self, category: str | None = None) -> tuple[int, int]:
        """(handled as expected, cases) in one category, or in all."""
        chosen = [o for o in self.outcomes if category is None or o.category == category]
        return sum(o.passed for o in chosen), len(chosen)

    @property
    def categories(self) -> list[str]:
        return sorted({o.category for o in self.outcomes})

    def confusions(self) -> list[tuple[str, str, int, str]]:
        """(expected, got, how many, an example), most frequent first."""
        pairs = Counter((o.expected, o.got) for o in self.outcomes if not o.passed)
        examples = {(o.expected, o.got): o.say for o in self.outcomes if not o.passed}
        return [(e, g, n, examples[(e, g)]) for (e, g), n in pairs.most_common()]

    def understood(self) -> tuple[int, int]:
        """(right, taken): of the messages the bot took for a topic (an intent or a hand-over), how many
        were the topic expected: the precision of "understood", which claiming too much lowers."""
        taken = [o for o in self.outcomes if not o.got.startswith(LEFT_ALONE)]
        return sum(o.passed for o in taken), len(taken)

    def left_out(self) -> tuple[int, int]:
        """(rightly, left out): of the messages the bot did not understand (or left out of scope), how
        many were meant to be."""
        left = [o for o in self.outcomes if o.got.startswith("unrecognized")]
        return sum(o.passed for o in left), len(left)

    def as_dict(self) -> dict[str, Any]:
        passed, total = self.share()
        return {
            "passed": passed,
            "total": total,
            "understood": dict(zip(("right", "taken"), self.understood(), strict=True)),
            "left_out": dict(zip(("rightly", "left_out"), self.left_out(), strict=True)),
            "categories": {
                c: dict(zip(("passed", "total"), self.share(c), strict=True)) for c in self.categories
            },
            "confusions": [
                {"expected": e, "got": g, "count": n, "example": x} for e, g, n, x in self.confusions()
            ],
        }


LEFT_ALONE = ("unrecognized", "acknowledged", "silent")  # outcomes that take no topic


def load_corpus(path: str | Path) -> list[Category]:
    """Every category file in a folder (or the one file); Unreadable, or GoldenFailure naming each problem."""
    path = Path(path)
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise GoldenFailure(f"{path}: no *.yaml corpus files")
    categories = []
    for file in files:
        try:
            categories.append(load_model(file, Category))
        except Unreadable:
            raise
        except RulesError as exc:
            raise GoldenFailure(str(exc)) from exc
    return categories


def evaluate(loaded: LoadedRules, categories: list[Category]) -> Report:
    """Run every case as the first words of a fresh conversation (after its `before`)."""
    report = Report()
    customer = CustomerRef(phone_number_id="eval", wa_id="5511900000000", profile_name="Cliente")
    for category in categories:
        for case in category.cases:
            turns = [Turn(say=said, expect=Expect()) for said in case.before]
            turns.append(Turn(say=case.say, expect=case.expect))
            *_, (_, actual) = play(loaded, turns, AT, customer, _FixedQueues(1, 60.0))
            expected = case.expect.model_dump(exclude_none=True)
            passed = all(holds(key, want, actual.get(key)) for key, want in expected.items())
            said, did = label(expected), label(actual)
            if "language" in expected:  # only where the language was the point of the case
                said, did = f"{said} [{expected['language']}]", f"{did} [{actual.get('language')}]"
            report.outcomes.append(Outcome(category.category, case.say, said, did, passed))
    return report


def label(outcome: dict[str, Any]) -> str:
    """One word for what happened (or should): the intent, the escalation, or how the bot took it."""
    parts = []
    if outcome.get("intent"):
        parts.append(str(outcome["intent"]))
    escalate = outcome.get("escalate")
    if isinstance(escalate, dict):
        parts.append(f"esc:{escalate.get('queue', '?')}/{escalate.get('reason', '?')}")
    if not parts:
        if outcome.get("unrecognized"):
            parts.append("unrecognized")
        elif outcome.get("acknowledged"):
            parts.append("acknowledged")
        elif outcome.get("silent"):
            parts.append("silent")
        else:
            parts.append(str(outcome.get("rule", "?")))
    return " ".join(parts)


def render(report: Report) -> str:
    """The report as ops read it: a line per category, the total, then what was taken for what."""
    lines = []
    width = max((len(c) for c in report.categories), default=10) + 2
    for category in report.categories:
        passed, total = report.share(category)
        lines.append(f"{category:<{width}}{passed:>4}/{total:<4} {100 * passed / total:5.1f}%")
    passed, total = report.share()
    lines.append(f"{'all':<{width}}{passed:>4}/{total:<4} {100 * passed / max(total, 1):5.1f}%")
    right, taken = report.understood()
    rightly, left = report.left_out()
    lines.append("")
    lines.append(f"understood: {right} of the {taken} messages taken for a topic were that topic")
    lines.append(f"left out: {rightly} of the {left} messages not understood were meant to be (out of scope)")
    confusions = report.confusions()
    if confusions:
        lines.append("")
        lines.append("expected → got (how many, e.g.):")
        for expected, got, count, example in confusions:
            lines.append(f"  {expected} → {got}  x{count}  e.g. {example[:70]!r}")
    return "\n".join(lines)
