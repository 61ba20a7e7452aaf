"""Issue 33 items 1-3 as ops use them: `handover hooks add|list|test|remove` against a real redis-server and
a real receiver on loopback, the signature checked with the Standard Webhooks library (not our code)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.fakes.hook_receiver import HookReceiver
from tests.support.cli import handover


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    running = HookReceiver.start_in_thread()
    yield running
    running.stop()


def env(redis_url: str, **more: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, **more}


def added(redis_url: str, tmp_path: Path, url: str, *more: str, **settings: str) -> dict[str, str]:
    argv = ["hooks", "add", url, "--events", "handed_over,resolved", "--by", "ops", "--json", *more]
    result = handover(argv, env(redis_url, **settings), tmp_path)
    assert result.returncode == 0, result.stderr
    hook: dict[str, str] = json.loads(result.stdout)
    return hook


def test_a_test_event_arrives_signed_so_that_the_receivers_library_accepts_it(redis_url, tmp_path, receiver):
    allow = {"HANDOVER_HOOKS_ALLOW": "127.0.0.1"}
    hook = added(redis_url, tmp_path, receiver.url, **allow)
    result = handover(["hooks", "test", hook["id"]], env(redis_url, **allow), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"delivered to {receiver.url}: 200 in ")
    [arrived] = receiver.taken()
    event = Webhook(hook["secret"]).verify(arrived.body, arrived.headers)
    assert event["type"] == "test" and event["data"]["hook_id"] == hook["id"]
    assert arrived.headers["webhook-id"].startswith("msg_")
    with pytest.raises(Exception):  # noqa: B017  # a wrong secret does not pass
        Webhook("whsec_" + "A" * 44).verify(arrived.body, arrived.headers)

    listing = handover(["hooks", "list"], env(redis_url), tmp_path)
    assert hook["id"] in listing.stdout and "events=handed_over,resolved" in listing.stdout
    assert (
        hook["secret"]
        not in listing.stdout + handover(["hooks", "list", "--json"], env(redis_url), tmp_path).stdout
    )

    removed = handover(["hooks", "remove", hook["id"], "--by", "ops"], env(redis_url), tmp_path)
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert "no hooks" in handover(["hooks", "list"], env(redis_url), tmp_path).stdout


def test_loopback_and_plain_http_are_refused_unless_allowed(redis_url, tmp_path, receiver):
    result = handover(["hooks", "add", receiver.url, "--events", "resolved"], env(redis_url), tmp_path)
    assert result.returncode == 2
    assert "only https" in result.stderr
    https_loopback = receiver.url.replace("http://", "https://")
    result = handover(["hooks", "add", https_loopback, "--events", "resolved"], env(redis_url), tmp_path)
    assert result.returncode == 2
    assert "127.0.0.1, a private, loopback or reserved address" in result.stderr
    assert receiver.taken() == []


def test_allowed_when_added_but_not_when_sent_is_still_refused(redis_url, tmp_path, receiver):
    hook = added(redis_url, tmp_path, receiver.url, HANDOVER_HOOKS_ALLOW="127.0.0.1")
    result = handover(["hooks", "test", hook["id"]], env(redis_url), tmp_path)  # the allow-list is gone
    assert result.returncode == 1
    assert "private, loopback or reserved" in result.stdout
    assert receiver.taken() == []


@pytest.mark.parametrize(("answer", "said"), [(500, "answered 500"), (302, "redirects are not followed")])
def test_a_receiver_that_fails_or_redirects_is_reported_as_not_delivered(
    redis_url, tmp_path, receiver, answer, said
):
    allow = {"HANDOVER_HOOKS_ALLOW": "127.0.0.1"}
    hook = added(redis_url, tmp_path, receiver.url, **allow)
    receiver.answer = answer
    result = handover(["hooks", "test", hook["id"]], env(redis_url, **allow), tmp_path)
    assert result.returncode == 1
    assert said in result.stdout
    assert [r.path for r in receiver.taken()] == ["/hooks/in"]  # the redirect's target was never called
