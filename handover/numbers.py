"""The business numbers a deployment serves: each number's display name, colour and rules file.

`HANDOVER_RULES` names either one rules file (every number answers by it, as before) or a folder holding
`numbers.yaml`:

    default: rules.yaml          # the rules of a number not listed (and of a one-number deployment)
    numbers:
      "106540352242922":         # the phone_number_id Meta sends in every webhook's metadata
        name: Vendas             # what the console shows beside the number's conversations
        rules: vendas.yaml       # relative to the folder
        colour: "#2563eb"        # optional: one is picked from the id otherwise

A number's rules, queues, agents and figures are its own (see the README's "Many numbers").
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from redis.asyncio import Redis as AsyncRedis

from handover import keys
from handover.rules.yamlfile import Positions, Problem, RulesError

NUMBERS_FILE = "numbers.yaml"
# Meta's phone_number_id is a decimal id; the sandbox's too. Anything else in a key or a label is refused.
NUMBER_ID = re.compile(r"^[0-9]{1,32}$")
# The console's colours for numbers that name none: distinct on white and on the dark theme.
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#dc2626", "#4d7c0f")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class NumberEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    rules: str = Field(min_length=1)
    colour: str | None = None

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is not None and not COLOUR.match(value):
            raise ValueError("a colour is written #rrggbb")
        return value


class NumbersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str = Field(default="rules.yaml", min_length=1)
    numbers: dict[str, NumberEntry] = Field(default_factory=dict)

    @field_validator("numbers")
    @classmethod
    def _ids(cls, value: dict[str, NumberEntry]) -> dict[str, NumberEntry]:
        for number in value:
            if not NUMBER_ID.match(number):
                raise ValueError(f"{number!r} is not a phone_number_id (digits, as Meta sends it)")
        return value


class BusinessNumber(BaseModel):
    """One number as the console and the desk API show it."""

    id: str
    name: str
    colour: str


class Numbers:
    """The numbers a deployment knows by configuration, with the rules file of each.

    `listed`: the numbers numbers.yaml names, in its order; every other number answers by `default_rules`.
    A deployment with one rules file lists none."""

    def __init__(self, default_rules: Path, entries: dict[str, NumberEntry] | None = None) -> None:
        self.default_rules = default_rules
        self.entries = dict(entries or {})

    @property
    def listed(self) -> list[str]:
        return list(self.entries)

    def rules_path(self, number: str | None) -> Path:
        entry = self.entries.get(number or "")
        return self.default_rules if entry is None else self.default_rules.parent / entry.rules

    def describe(self, number: str) -> BusinessNumber:
        entry = self.entries.get(number)
        name = entry.name if entry is not None else number
        colour = entry.colour if entry is not None and entry.colour else colour_of(number)
        return BusinessNumber(id=number, name=name, colour=colour)


def register(client: redis.Redis, number: str) -> None:
    """Note a number that reached the webhook: `known` lists it from then on (once per process is enough)."""
    client.sadd(keys.NUMBERS, number)


def known(client: redis.Redis, numbers: Numbers, configured: list[str] | None = None) -> list[str]:
    """Every number this deployment serves or has served, sorted: those numbers.yaml lists, those
    WHATSAPP_PHONE_NUMBER_IDS names (`configured`), and those that reached the webhook."""
    seen = {keys.as_text(n) for n in client.smembers(keys.NUMBERS)}
    return sorted(set(numbers.listed) | set(configured or ()) | seen)


def by_number(rules: Any, number: str) -> Any:
    """A number's rules from what a service was given: one LoadedRules (every number answers by it), or
    the rules by number (a Rulebook, or any callable taking the number)."""
    return rules(number) if callable(rules) else rules


def colour_of(number: str) -> str:
    """A number's colour when none is configured: the same in every process and every session."""
    return PALETTE[zlib.crc32(number.encode()) % len(PALETTE)]


def load_numbers(path: str | Path) -> Numbers:
    """The numbers of `HANDOVER_RULES`: a file answers for every number; a folder reads its numbers.yaml.
    Raises RulesError naming the file, line and key of what is wrong."""
    path = Path(path)
    if not path.is_dir():
        return Numbers(path)
    listing = path / NUMBERS_FILE
    if not listing.is_file():
        problem = Problem(str(listing), 0, 0, (), f"a rules folder needs {NUMBERS_FILE} (see the README)")
        raise RulesError([problem])
    text = listing.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text) or {}
        parsed = NumbersFile.model_validate(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise RulesError([Problem(str(listing), line, 0, (), f"not YAML: {exc}")]) from exc
    except ValidationError as exc:
        problems = [_problem(listing, text, error) for error in exc.errors()]
        raise RulesError(problems) from exc
    default = path / parsed.default
    missing = [(("default",), default)] + [
        (("numbers", number, "rules"), path / entry.rules) for number, entry in parsed.numbers.items()
    ]
    problems = [
        _problem_at(listing, text, loc, f"no such file: {file}")
        for loc, file in missing
        if not file.is_file()
    ]
    if problems:
        raise RulesError(problems)
    return Numbers(default, parsed.numbers)


def _problem(listing: Path, text: str, error: object) -> Problem:
    loc = tuple(str(part) for part in error["loc"])  # type: ignore[index]
    return _problem_at(listing, text, loc, str(error["msg"]))  # type: ignore[index]


def _problem_at(listing: Path, text: str, loc: tuple[str, ...], message: str) -> Problem:
    return Positions(yaml.compose(text)).problem(str(listing), loc, message)


async def register_async(client: AsyncRedis, number: str) -> None:
    """`register` from the webhook's event loop."""
    await client.sadd(keys.NUMBERS, number)


def knowing(
    client: redis.Redis, numbers: Numbers | None = None, configured: list[str] | None = None
) -> Callable[[], list[str]]:
    """`known`, asked afresh at each call (a number reaching the webhook joins at once): what services that
    walk every number's queues are given. Without `numbers`: only those the traffic registered (tests, and
    services built before the configuration is read)."""
    listing = numbers if numbers is not None else Numbers(Path(NUMBERS_FILE))
    return lambda: known(client, listing, configured)
