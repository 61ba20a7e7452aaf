"""Issue 33 item 1: subscriptions stored, listed without secrets, removed, every change audited."""

from __future__ import annotations

import fakeredis
import pytest

from handover import audit
from handover.errors import Invalid, NotFound
from handover.hooks import payload
from handover.hooks.model import HookFormat
from handover.hooks.safety import UnsafeUrl
from handover.hooks.store import HookStore


def public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


@pytest.fixture
def hooks() -> HookStore:
    return HookStore(fakeredis.FakeRedis(decode_responses=True), clock=lambda: 1_800_000_000.0)


def test_a_hook_is_kept_with_a_secret_shown_once_and_audited(hooks):
    hook, secret = hooks.add(
        "https://crm.example.com/in", ["resolved", "handed_over", "resolved"], by="ops", resolve=public
    )
    assert secret is not None and secret.startswith("whsec_")
    assert hook.events == ["handed_over", "resolved"]
    assert [h.id for h in hooks.all()] == [hook.id]
    assert hooks.secret(hook) == secret
    assert secret not in hooks.client.hget("hv:{global}:hooks", hook.id)  # the listing never holds it
    entries = audit.since(hooks.client, 1, clock=lambda: 1_800_000_000.0)
    # the audit log is read by supervisors: the URL's path (a Slack webhook's secret) is not in it
    assert [(e.action, e.who, e.detail["url"]) for e in entries] == [
        ("hooks.add", "ops", "https://crm.example.com/…")
    ]


def test_a_secret_in_the_environment_is_read_there_and_never_stored(hooks, monkeypatch):
    hook, secret = hooks.add(
        "https://crm.example.com/in", ["resolved"], secret_env="CRM_HOOK_SECRET", by="ops", resolve=public
    )
    assert secret is None
    assert hooks.client.hlen("hv:{global}:hooks:secrets") == 0
    assert hooks.secret(hook) is None
    monkeypatch.setenv("CRM_HOOK_SECRET", "whsec_c2VjcmV0")
    assert hooks.secret(hook) == "whsec_c2VjcmV0"


@pytest.mark.parametrize(
    ("events", "env", "why"),
    [
        (["resolvd"], None, "unknown events resolvd"),
        ([], None, "none given"),
        (["resolved"], "lower-case", "not an environment variable"),
    ],
)
def test_bad_subscriptions_are_refused_and_nothing_is_stored(hooks, events, env, why):
    with pytest.raises(Invalid, match=why):
        hooks.add("https://crm.example.com/in", events, secret_env=env, by="ops", resolve=public)
    assert hooks.all() == []


def test_an_unsafe_url_is_refused_before_anything_is_stored(hooks):
    with pytest.raises(UnsafeUrl):
        hooks.add("https://localhost/in", ["resolved"], by="ops", resolve=lambda h, p: ["127.0.0.1"])
    assert hooks.all() == []


def test_removing_a_hook_drops_its_secret_and_is_audited(hooks):
    hook, _ = hooks.add("https://crm.example.com/in", ["resolved"], by="ops", resolve=public)
    hooks.remove(hook.id, by="ana")
    assert hooks.all() == []
    assert hooks.client.hlen("hv:{global}:hooks:secrets") == 0
    with pytest.raises(NotFound):
        hooks.remove(hook.id, by="ana")
    actions = [e.action for e in audit.since(hooks.client, 1, clock=lambda: 1_800_000_000.0)]
    assert sorted(actions) == ["hooks.add", "hooks.remove"]


def test_a_hook_hears_only_its_events_and_numbers(hooks):
    hook, _ = hooks.add(
        "https://crm.example.com/in", ["resolved"], numbers=["106540352242922"], by="ops", resolve=public
    )
    assert hook.wants("resolved", "106540352242922")
    assert not hook.wants("resolved", "999")
    assert not hook.wants("assigned", "106540352242922")


def test_the_slack_format_says_who_why_where_and_links_to_the_console():
    event = payload.envelope(
        "handed_over",
        1_800_000_000.0,
        {
            "conversation": {"id": "c1", "customer_name": "Rita", "queue": "churn", "priority": "urgent"},
            "escalation": {"reason": "cancel_threat"},
            "waited_seconds": 75,
        },
    )
    assert event["timestamp"] == "2027-01-15T08:00:00.000Z"
    text = payload.slack(event, "https://desk.example.com/")["text"]
    assert text.startswith("*Handed over*: Rita")
    for part in ("why: cancel_threat", "queue: churn", "priority: urgent", "waited: 1 min 15 s"):
        assert part in text
    assert "<https://desk.example.com/#/conversations/c1|Open in the console>" in text
    assert payload.body(HookFormat.SLACK, event).startswith(b'{"text":')


def test_the_openapi_document_describes_every_event_a_hook_receives():
    from desk.api import PREFIX, ROUTES
    from desk.hooks import WEBHOOKS
    from desk.openapi import openapi_document
    from handover.hooks.model import EVENTS

    document = openapi_document(ROUTES, PREFIX, WEBHOOKS)
    assert list(document["webhooks"]) == list(EVENTS)
    body = document["webhooks"]["handed_over"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/HookEvent"}
    assert "HookConversation" in document["components"]["schemas"]
