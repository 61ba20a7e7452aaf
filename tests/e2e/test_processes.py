"""The real commands as processes over HTTP: the embedded sandbox, and serve + worker on a real Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fakes.graph_server import FakeGraph
from tests.support.processes import Process, http_json, is_up, wait_for
from tests.support.redis_server import free_port
from tests.support.webhook import RECENT, SECRET, body, signed, text_message

pytestmark = pytest.mark.e2e


@contextmanager
def bare_serve(tmp_path: Path, **env: str) -> Iterator[tuple[Process, str]]:
    """`handover serve` with nothing configured (none of the optional settings in its environment) but
    `env`."""
    port = free_port()
    serve = Process(["serve"], {"HANDOVER_PORT": str(port)}, tmp_path / "serve.log")
    for name in ("REDIS_URL", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):
        serve.env.pop(name, None)
    serve.env.update(env)
    serve.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: is_up(f"{base}/healthz"), 30, "serve to come up")
        yield serve, base
    finally:
        serve.stop()


def test_embedded_sandbox_from_a_bare_environment(tmp_path):
    """`handover serve` with nothing configured: in-process Redis and worker, sandbox phone."""
    with bare_serve(tmp_path) as (serve, base):
        status, answer = http_json(
            "POST",
            f"{base}/sandbox/messages",
            {"from": "5511987654321", "name": "Ana", "text": "oi, cadê meu pedido?"},
        )
        assert status == 202, answer

        def outbox():
            return http_json("GET", f"{base}/sandbox/outbox?to=5511987654321")[1]["messages"]

        sent = wait_for(lambda: len(outbox()) >= 2 and outbox(), 30, "the bot's answer in the sandbox outbox")
        receipt = next(m for m in sent if m["kind"] == "mark_read")
        assert receipt["message_id"] == answer["id"]
        assert [m.get("text") for m in sent if m["kind"] != "mark_read"] == [
            "Para sua segurança, qual é o seu CPF?"
        ], sent
        assert http_json("GET", f"{base}/readyz")[0] == 200
        metrics = http_json("GET", f"{base}/metrics")[1]
        assert "handover_messages_processed_total 1.0" in metrics
    assert "embedded_mode" in serve.log()


def test_serve_and_worker_on_real_redis_reach_the_graph_api(redis_url, tmp_path):
    graph = FakeGraph.start_in_thread(latency=0.0)
    port = free_port()
    env = {
        "REDIS_URL": redis_url,
        "WHATSAPP_ACCESS_TOKEN": "e2e-token",
        "WHATSAPP_APP_SECRET": SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "e2e-verify",
        "WHATSAPP_API_URL": graph.base_url,
        "HANDOVER_PORT": str(port),
        "HANDOVER_PARTITIONS": "4",
    }
    serve = Process(["serve"], env, tmp_path / "serve.log").start()
    worker = Process(["worker"], env, tmp_path / "worker.log").start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: is_up(f"{base}/readyz"), 30, "serve to be ready")
        assert (
            http_json(
                "GET", f"{base}/webhook?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=42"
            )[1]
            == 42
        )
        assert (
            http_json("POST", f"{base}/sandbox/messages", {"from": "1", "text": "x"})[0] == 404
        )  # not a sandbox
        raw, headers = signed(body([text_message("wamid.E2E", "5511912345678", "olá", RECENT)]))
        assert http_json("POST", f"{base}/webhook", data=raw, headers=headers)[0] == 200
        wait_for(lambda: graph.count(kind="read"), 30, "the read receipt at the Graph API")
        [receipt] = [r for r in graph.requests if r["json"].get("status") == "read"]
        assert receipt["json"]["message_id"] == "wamid.E2E"
        assert receipt["authorization"] == "Bearer e2e-token"
        metrics = http_json("GET", f"{base}/metrics")[1]
        assert "handover_webhooks_received_total 1.0" in metrics
        assert "handover_messages_processed_total 1.0" in metrics
    finally:
        worker.stop()
        serve.stop()
        graph.stop()
    logs = serve.log() + worker.log()
    assert "olá" not in logs and "5511912345678" not in logs  # no message text or phone numbers in logs
    for line in worker.log().splitlines():
        if line.startswith("{"):
            json.loads(line)  # JSON logs when not a terminal


def test_missing_required_setting_stops_with_one_line(tmp_path):
    proc = Process(["serve"], {"WHATSAPP_ACCESS_TOKEN": "x", "WHATSAPP_APP_SECRET": ""}, tmp_path / "s.log")
    proc.env.pop("WHATSAPP_APP_SECRET", None)
    proc.env.pop("WHATSAPP_VERIFY_TOKEN", None)
    proc.start()
    assert proc.popen is not None
    assert proc.popen.wait(timeout=30) == 2
    assert proc.log().strip() == (
        "handover: WHATSAPP_APP_SECRET is required when WHATSAPP_ACCESS_TOKEN is set (outside the sandbox)"
    )


def test_embedded_sandbox_offers_demo_agents_that_can_work(tmp_path):
    """Someone trying the project: `handover serve` alone gives a demo agent and supervisor to sign in as."""
    with bare_serve(tmp_path) as (_, base):
        agents = http_json("GET", f"{base}/sandbox/demo-agents")[1]["agents"]
        assert [a["role"] for a in agents] == ["agent", "supervisor"]
        for agent in agents:
            me = http_json("GET", f"{base}/api/v1/me", headers={"Authorization": f"Bearer {agent['token']}"})
            assert me[0] == 200 and (me[1]["name"], me[1]["status"]) == (agent["name"], "available")
        page = http_json("GET", f"{base}/")[1]
        assert "<html" in page.lower()


def test_embedded_beside_a_real_number_makes_no_demo_agents(tmp_path):
    """With Meta's token the embedded mode is no playground: no demo supervisor, no token in the logs."""
    real = {"WHATSAPP_ACCESS_TOKEN": "EAAG", "WHATSAPP_APP_SECRET": "s3cret", "WHATSAPP_VERIFY_TOKEN": "v"}
    with bare_serve(tmp_path, **real) as (serve, base):
        assert http_json("GET", f"{base}/sandbox/demo-agents")[0] == 404
        assert http_json("GET", f"{base}/simulator")[0] == 404
        wait_for(lambda: "embedded_without_agents" in serve.log(), 30, "the warning")
    assert "sandbox_agents_created" not in serve.log() and "token" not in serve.log().lower()


def test_the_sandbox_on_a_real_redis_is_asked_for_and_warned_about(redis_url, tmp_path):
    with bare_serve(tmp_path, REDIS_URL=redis_url, HANDOVER_SANDBOX="1") as (serve, base):
        assert http_json("GET", f"{base}/sandbox/outbox")[0] == 200
        assert "sandbox_on_real_redis" in serve.log()
