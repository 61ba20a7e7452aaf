"""The desk API's errors on fakeredis: whatever a client sends, the answer is JSON with a code and never a 500
for input; a bug of ours is a JSON 500 `internal`, logged with its traceback and without what it carried."""

from __future__ import annotations

import fakeredis
import pytest
from structlog.testing import capture_logs

from app.web import build_app
from config.settings import Settings
from desk import service
from handover.agents import AgentStore, Role
from tests.support.fake_redis import sync_beside


@pytest.fixture
async def desk(aiohttp_client):
    fake = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    sync = sync_beside(fake)
    settings = Settings(
        redis_url="redis://unused",
        whatsapp_access_token="t",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
        handover_partitions=2,
    )
    client = await aiohttp_client(build_app(settings, redis_client=fake, sync_client=sync))
    _, token = AgentStore(sync).add("Ana", ["general"], capacity=3, role=Role.AGENT)
    client.auth = {"Authorization": f"Bearer {token}"}
    return client


async def error_of(response) -> tuple[int, str]:
    assert response.content_type == "application/json", await response.text()
    return response.status, (await response.json())["error"]["code"]


# deeper than the parser goes (once a RecursionError and a 500), and within a desk body's 64 KB
NESTED = b"[" * 30_000 + b"]" * 30_000


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("POST", "/api/v1/conversations/c1/messages", NESTED),
        ("POST", "/api/v1/conversations/c1/transfer", b'{"reason": ' + NESTED + b"}"),
        ("PUT", "/api/v1/me/status", NESTED),
        ("POST", "/api/v1/conversations/c1/messages", b"\xff\xfe not utf-8"),
        ("POST", "/api/v1/conversations/c1/messages", b'{"text": "oi'),
    ],
    ids=["nested array", "nested in a field", "nested status", "not utf-8", "cut short"],
)
async def test_a_body_that_cannot_be_read_is_a_json_422(desk, method, path, raw):
    response = await desk.request(method, path, data=raw, headers=desk.auth)
    assert await error_of(response) == (422, "invalid_body")


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
async def test_a_desk_body_over_64_kb_is_413_and_the_connection_closes(desk, chunked):
    """Declared too large: refused before a byte is read; sent in chunks: cut off at 64 KB."""
    raw = b'{"text": "' + b"a" * 70_000 + b'"}'

    async def chunks():
        for start in range(0, len(raw), 4096):
            yield raw[start : start + 4096]

    data = chunks() if chunked else raw
    response = await desk.post("/api/v1/conversations/c1/messages", data=data, headers=desk.auth)
    assert await error_of(response) == (413, "too_large")
    assert response.headers.get("Connection", "").lower() == "close"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/nowhere", (404, "not_found")),
        ("GET", "/api/v1/conversations/c1/nowhere", (404, "not_found")),
        ("DELETE", "/api/v1/me", (405, "method_not_allowed")),
        ("GET", "/api/v1/conversations/c1/messages", (405, "method_not_allowed")),
    ],
)
async def test_unknown_paths_and_wrong_methods_are_json_errors(desk, method, path, expected):
    response = await desk.request(method, path, headers=desk.auth)
    assert await error_of(response) == expected
    if expected[0] == 405:
        assert response.headers["Allow"]  # what the path does take


async def test_a_bug_of_ours_is_a_json_500_logged_with_its_traceback_and_not_its_text(desk, monkeypatch):
    said = {"wa_id": "5511987654321", "text": "meu cpf é 52998224725"}

    def broken(*args, **kwargs):
        raise RuntimeError(f"customer {said['wa_id']} wrote: {said['text']}")

    monkeypatch.setattr(service, "me", broken)
    with capture_logs() as logs:
        response = await desk.get("/api/v1/me", headers=desk.auth)
    assert await error_of(response) == (500, "internal")
    assert "5511987654321" not in await response.text()
    [failed] = [e for e in logs if e["event"] == "desk_request_failed"]
    assert failed["error"] == "RuntimeError" and failed["route"] == "/api/v1/me"
    assert "in broken" in failed["traceback"]  # where it happened...
    assert "52998224725" not in str(failed) and "5511987654321" not in str(failed)  # ...not what it carried
