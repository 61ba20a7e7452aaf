"""What the mixed bench's customers say: scripted conversations with the shipped rules, the identities they
prove (valid CPFs in a directory file of their own) and the webhook message each turn becomes.

A script is a list of turns; each turn says how many messages the bot sends back (0: taken in silence, the
customer sees only the blue ticks), so a customer knows when the bot has answered in full before writing
again. tests/unit/test_bench_customers.py plays every script through the rule bot to keep the counts true.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.stack import always_open_rules

IDENTITIES = 500  # the directory's size: the file directory checks a CPF row by row (see bench/README)


def cpf_digits(base: int) -> str:
    """The 11 digits of the CPF whose first nine are `base` (zero-padded), with both check digits."""
    digits = [int(d) for d in f"{base:09d}"]
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(length + 1, 1, -1), strict=False))
        digits.append(total * 10 % 11 % 10)
    return "".join(map(str, digits))


def formatted_cpf(digits: str) -> str:
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


@dataclass(frozen=True)
class Identity:
    reference: str
    name: str
    cpf: str  # as a customer types it: 529.982.247-25
    birth_date: str  # DD/MM/YYYY


def identities(count: int = IDENTITIES) -> list[Identity]:
    """Fictional customers with valid CPFs (nine digits spread over the range, none all-equal)."""
    found = []
    for n in range(count):
        digits = cpf_digits(100_000_000 + n * 1_777_777)
        born = f"{1 + n % 28:02d}/{1 + n % 12:02d}/{1950 + n % 50}"
        found.append(Identity(f"BENCH-{n:05d}", f"Cliente {n}", formatted_cpf(digits), born))
    return found


def write_rules(workdir: Path, people: list[Identity]) -> Path:
    """The shipped rules, open around the clock, checking identities against a directory of `people`."""
    directory = workdir / "bench-customers.csv"
    with directory.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["reference", "name", "cpf", "birth_date"])
        writer.writerows([p.reference, p.name, p.cpf, p.birth_date] for p in people)
    path = always_open_rules(workdir)
    rules = yaml.safe_load(path.read_text())
    rules["identity"]["directory"]["file"] = str(directory)
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return path


@dataclass(frozen=True)
class Turn:
    """One customer message: text, or the tap of a button (`button`) or list row (`row`) with its title."""

    text: str
    replies: int  # messages the bot sends back (0: silent)
    button: str | None = None
    row: str | None = None


@dataclass(frozen=True)
class Script:
    name: str
    weight: float  # share of conversations
    escalates: bool
    turns: tuple[Turn, ...]


def scripts(person: Identity, order: str) -> list[Script]:
    """The mix: a fifth of the conversations reach a person (order status after identity, or a return
    the customer wants a person for); the rest are served by the bot."""
    return [
        Script(
            "order status -> identity -> order number -> person",
            0.15,
            True,
            (
                Turn("Oi, bom dia!", 1),
                Turn("Meu pedido", 1, row="menu_pedido"),
                Turn(person.cpf, 1),
                Turn(person.birth_date, 2),  # identity confirmed, and the order number asked
                Turn(order, 2),  # the bot's answer, then the place in the queue
            ),
        ),
        Script(
            "return -> 'Sim, atendente' button -> person",
            0.05,
            True,
            (
                Turn("quero devolver, o produto veio com defeito", 1),
                Turn("Sim, atendente", 1, button="falar_com_atendente"),
            ),
        ),
        Script(
            "greeting -> returns row -> thanks -> ack",
            0.30,
            False,
            (
                Turn("oi", 1),
                Turn("Trocas e devoluções", 1, row="menu_troca"),
                Turn("blz, valeu", 1),
                Turn("👍", 0),
            ),
        ),
        Script(
            "greeting -> thanks -> ack",
            0.25,
            False,
            (Turn("boa noite", 1), Turn("obrigado!", 1), Turn("ok", 0)),
        ),
        Script(
            "question the bot answers -> ack",
            0.25,
            False,
            (Turn("qual o prazo pra trocar um produto?", 1), Turn("entendi", 0)),
        ),
    ]


def pick(rng: random.Random, people: list[Identity]) -> Script:
    """A script drawn by weight, for one of the directory's customers."""
    options = scripts(rng.choice(people), str(rng.randrange(10_000, 99_999_999)))
    return rng.choices(options, weights=[s.weight for s in options])[0]


def message(turn: Turn, wa_id: str, message_id: str, timestamp: int) -> dict[str, Any]:
    """The turn as a message in a webhook body (tests/support/webhook.py shapes; taps are interactive)."""
    common = {"from": wa_id, "id": message_id, "timestamp": str(timestamp)}
    if turn.button is not None:
        tap = {"type": "button_reply", "button_reply": {"id": turn.button, "title": turn.text}}
        return {**common, "type": "interactive", "interactive": tap}
    if turn.row is not None:
        tap = {"type": "list_reply", "list_reply": {"id": turn.row, "title": turn.text}}
        return {**common, "type": "interactive", "interactive": tap}
    return {**common, "type": "text", "text": {"body": turn.text}}


def backlog_messages(count: int, run: str, first_timestamp: int) -> list[dict[str, Any]]:
    """`count` messages of the mix, each customer's turns in order and far apart (the customers take turns,
    as many talk at once): the processing section's webhooks, one message each."""
    rng, people = random.Random(3), identities()
    talks: list[list[Turn]] = []
    while sum(map(len, talks)) < count:
        talks.append(list(pick(rng, people).turns))
    said: list[dict[str, Any]] = []
    for step in range(max(map(len, talks))):
        for n, turns in enumerate(talks):
            if step < len(turns) and len(said) < count:
                wa_id = f"55119{n:08d}"
                said.append(
                    message(turns[step], wa_id, f"wamid.{run}.{n}.{step}", first_timestamp + len(said))
                )
    return said
