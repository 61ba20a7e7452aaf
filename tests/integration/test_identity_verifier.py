"""The HTTP identity verifier, against a real HTTP server on loopback."""

from __future__ import annotations

import pytest

from handover.identity import HttpDirectory, VerifierUnavailable
from tests.support.redis_server import free_port
from tests.support.verifier import verifier

pytestmark = pytest.mark.integration

KNOWN = {"cpf": "52998224725", "birth_date": "1988-03-14"}


SEEN: list[dict] = []


def known_or_not(fields: dict) -> dict:
    return (
        {"verified": True, "reference": "CRM-42", "name": "Ana Souza"}
        if fields == KNOWN
        else {"verified": False}
    )


@pytest.fixture
def verifier_url():
    with verifier(known_or_not, SEEN) as url:
        yield url


def test_verified_and_not(verifier_url):
    directory = HttpDirectory(verifier_url, timeout=2)
    assert directory.verify(KNOWN) == ("CRM-42", "Ana Souza")
    assert directory.verify({**KNOWN, "birth_date": "1990-01-01"}) is None
    assert SEEN[-2] == KNOWN  # cleaned values, as the rules' fields name them


def test_unreachable_verifier_is_reported_not_guessed():
    with pytest.raises(VerifierUnavailable):
        HttpDirectory(f"http://127.0.0.1:{free_port()}/verify", timeout=1).verify(KNOWN)
