"""normalize() fuzzed with Hypothesis (tests/support/webhook_bodies.py): it never raises but the named
NotWhatsAppPayload, and each item is read or rejected alone: the messages and statuses read are exactly the
well-formed ones, whatever broken items and junk surround them."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.fuzzing import fuzz_settings
from tests.support.webhook_bodies import NASTY, ids_in, webhook_body
from webhooks.errors import NotWhatsAppPayload
from webhooks.normalize import OBJECT, normalize

pytestmark = pytest.mark.fuzz


@fuzz_settings(150)
@given(webhook_body())
def test_each_item_is_read_or_rejected_alone(body):
    result = normalize(body)
    assert {m.id for m in result.messages} == ids_in(body, "wamid.ok.")
    assert {s.message_id for s in result.statuses} == ids_in(body, "wamid.st.ok.")
    still_named = ids_in(body, "wamid.bad.") | ids_in(body, "wamid.st.bad.")
    assert len(result.rejected) >= len(still_named)  # each broken item that kept its id is named
    assert all(len(reason) <= 200 for reason in result.rejected)


@fuzz_settings(200)
@given(st.one_of(NASTY, st.fixed_dictionaries({"object": st.just(OBJECT), "entry": NASTY})))
def test_anything_else_is_read_or_named_as_not_whatsapp(body):
    with contextlib.suppress(NotWhatsAppPayload):
        normalize(body)
