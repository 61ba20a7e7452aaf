"""Schemathesis over the desk's own OpenAPI document (/api/v1/openapi.json) against real processes: a
redis-server, `handover serve` and `handover worker`, an agent and a supervisor made with `handover agents
add`, and conversations waiting. Every operation gets valid and invalid requests, as either of them, on real
and made-up conversation ids: no answer is a 500, and each one is documented (status, headers, body)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import strategies as st

from desk.api import ROUTES
from desk.hooks import WEBHOOKS
from desk.http import PREFIX
from desk.openapi import openapi_document
from tests.support.fuzzing import EXPLORE, fuzz_settings
from tests.support.processes import http_json, wait_for
from tests.support.redis_server import RedisServer
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

POSITIVE_OK = ["2xx", "401", "403", "404", "409"]  # Schemathesis's own list, less 3xx, 429 and 5xx
EXAMPLES_PER_OPERATION = 25  # about 25 operations: a minute or so on two cores


@dataclass
class Desk:
    stack: Stack
    tokens: dict[str, str]  # "agent" and "supervisor"
    conversations: list[str]  # waiting when the run starts


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    server = RedisServer().start()
    stack = Stack(server.url, tmp_path_factory.mktemp("fuzz-desk"))
    try:
        # Schemathesis sends requests without a token or with a wrong one on purpose: the limit on wrong
        # tokens (tests/integration/test_desk_token_guessing.py) would answer the rest of the run 429
        stack.start(HANDOVER_TOKEN_FAILURES_PER_MINUTE="100000")
        agent = stack.add_agent("Ana", ["general"])
        supervisor = stack.add_agent("Bia", ["general", "billing"], role="supervisor")
        customers = [f"551190000{n:04d}" for n in range(4)]
        for wa_id in customers:
            stack.customer_says(wa_id, "quero falar com um atendente")

        def waiting() -> list[str]:
            listed = stack.api("GET", "/conversations?state=queued", supervisor["token"])[1]
            return [c["id"] for c in listed] if len(listed) == len(customers) else []

        conversations = wait_for(waiting, 30, "the customers waiting in a queue")
        assert http_json("GET", f"{stack.base}{PREFIX}/openapi.json") == (200, DOCUMENT)
        yield Desk(stack, {"agent": agent["token"], "supervisor": supervisor["token"]}, conversations)
    finally:
        stack.stop()
        server.stop()


# The document the app serves, built by the same code: loaded when the module is (Schemathesis makes one
# test per operation then); the `desk` fixture checks that the running stack serves this very document.
# (schemathesis.pytest.from_fixture, which would load it from the stack, fails on pytest 9.2: it sets the
# test item's `_nodeid`, gone from pytest.)
DOCUMENT = openapi_document(ROUTES, PREFIX, WEBHOOKS)
# (the event stream, excluded, never ends: its own tests hold it, tests/integration/test_desk_live.py)
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "deterministic": not EXPLORE,
                # the test signs every request in as the agent or the supervisor; the `ignored_auth` check
                # still sends each operation without a token, and wants a 401
                "with-security-parameters": False,
                # the desk, as most HTTP APIs, ignores query parameters it does not know (cache busters)
                "allow-extra-parameters": False,
            },
            # A well-formed request may still name what the rules do not have (a template, a queue, an
            # agent, a rules version): 422, which no schema can foresee.
            "checks": {"positive_data_acceptance": {"expected-statuses": [*POSITIVE_OK, "422"]}},
        }
    ),
).exclude(path=f"{PREFIX}/events")


@fuzz_settings(EXAMPLES_PER_OPERATION)
@schema.parametrize()
@schema.given(who=st.sampled_from(["agent", "supervisor"]), pick=st.integers(min_value=-1, max_value=3))
def test_no_answer_is_a_500_and_every_answer_is_documented(case, who, pick, desk):
    token = desk.tokens[who]
    # whatever an earlier example set, each starts available, so taking and holding conversations is reached
    assert desk.stack.api("PUT", "/me/status", token, {"status": "available"})[0] == 200
    if case.path_parameters and "id" in case.path_parameters and pick >= 0:
        case.path_parameters["id"] = desk.conversations[pick]  # else the made-up id (404)
    case.call_and_validate(base_url=desk.stack.base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
