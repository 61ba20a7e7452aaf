"""Transfers follow the rules of the conversation's number (handover/transfers.py): the reasons told to
the customer, and the queues it may go to, are that number's, whatever the default rules say."""

from __future__ import annotations

import pytest

from handover.errors import Invalid, NotFound
from handover.transfers import TransferRequest, Transfers
from tests.support.clocked import held_by, rules, system_said
from tests.support.world import PNID, World
from tests.unit.test_clocks_per_number import Book

ONLY_LANGUAGE = {"customer_reasons": {"language": {"pt": "No seu idioma.", "en": "In your language."}}}
DEFAULT = rules(top={"transfers": ONLY_LANGUAGE})  # no `specialist`, no `vendas` queue
SALES = rules(top={"queues": {"vendas": {"label": {"pt": "Vendas", "en": "Sales"}}}})


async def test_a_conversation_moves_by_its_numbers_reasons_and_queues() -> None:
    world = World(rules=SALES)
    transfers = Transfers(
        world.store, world.agents, Book(DEFAULT, {PNID: SALES}), world.partitions, world.clock
    )
    conversation, ana = await held_by(world)
    move = TransferRequest(reason="sales lead", to_queue="vendas", customer_reason="specialist")
    moved = transfers.transfer(ana, conversation.id, move)
    assert (moved.state, moved.queue) == ("queued", "vendas")
    assert system_said(world, conversation.id)[-1].startswith("Vou te transferir para a equipe de Vendas.")
    assert "Essa equipe é especialista no seu caso." in system_said(world, conversation.id)[-1]


async def test_the_default_rules_do_not_answer_for_a_listed_number() -> None:
    world = World(rules=SALES)
    book = Book(SALES, {PNID: DEFAULT})
    transfers = Transfers(world.store, world.agents, book, world.partitions, world.clock)
    conversation, ana = await held_by(world)
    with pytest.raises(Invalid, match="unknown customer_reason 'specialist'"):
        transfers.transfer(
            ana,
            conversation.id,
            TransferRequest(reason="x", to_queue="general", customer_reason="specialist"),
        )
    with pytest.raises(NotFound, match="vendas"):
        transfers.transfer(ana, conversation.id, TransferRequest(reason="x", to_queue="vendas"))
