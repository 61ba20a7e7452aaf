"""`handover serve` against slow and abusive clients, as a real process on a real Redis (issue 16, item 1):
slow bodies are cut off, body slots and connections are capped with a clean 503 + Retry-After, silent
connections are closed, /healthz keeps answering, and a flood of rejections does not flood the log.

The limits are set small (HANDOVER_*) so a handful of sockets shows what thousands once did. Every wait is a
liveness bound (the socket's 30 s timeout, wait_for), never a speed assertion."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from tests.support.edge import BOUND, closed_by_server, response_on, serving
from tests.support.processes import wait_for
from tests.support.webhook import RECENT, body, signed, text_message

pytestmark = pytest.mark.e2e

SHAPED = "sha256=" + "0" * 64  # the right shape, the wrong signature: the body has to be read to know


def post_head(length: int, signature: str) -> bytes:
    return (
        f"POST /webhook HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\nX-Hub-Signature-256: {signature}\r\n\r\n"
    ).encode()


def answer(sock: socket.socket) -> tuple[int, str | None, dict]:
    """The response on `sock`: (status, Retry-After, JSON body); fails if none comes within BOUND."""
    status, headers, raw = response_on(sock)
    return status, headers.get("Retry-After"), json.loads(raw or b"null")


def request(port: int, method: str, path: str, data: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND)
    try:
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, response.getheader("Retry-After"), json.loads(raw) if is_json else raw
    finally:
        connection.close()


def healthz(port: int) -> int:
    return request(port, "GET", "/healthz")[0]


def received(port: int, count: int) -> None:
    """Waits until the webhook counted `count` POSTs (their handlers run: each holds a body slot)."""

    def counted() -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND)
        try:
            connection.request("GET", "/metrics")
            return f"handover_webhooks_received_total {count:.1f}" in connection.getresponse().read().decode()
        finally:
            connection.close()

    wait_for(counted, BOUND, f"{count} webhooks to be received")


def a_message() -> tuple[bytes, dict[str, str]]:
    return signed(body([text_message("wamid.EDGE", "5511987650000", "oi", RECENT)]))


def test_a_slow_body_is_cut_off_with_408_and_closed_while_health_checks_answer(redis_url, tmp_path, connect):
    """Content-Length 3 MB, one byte sent: once held for 300+ s. Now 408 after the body timeout, closed."""
    with serving(redis_url, tmp_path, HANDOVER_BODY_TIMEOUT_SECONDS="2") as (_, port):
        slow = connect(port, post_head(3_000_000, SHAPED) + b"{")
        assert healthz(port) == 200  # while the slow body is held
        status, _, error = answer(slow)
        assert (status, error["error"]["code"]) == (408, "body_timeout")
        assert closed_by_server(slow)
        assert healthz(port) == 200


def test_with_every_body_slot_held_the_next_webhook_gets_503_and_health_checks_answer(
    redis_url, tmp_path, connect
):
    limits = {"HANDOVER_WEBHOOK_CONCURRENCY": "3", "HANDOVER_BODY_TIMEOUT_SECONDS": "60"}
    with serving(redis_url, tmp_path, **limits) as (_, port):
        slow = [connect(port, post_head(3 * 1024 * 1024, SHAPED) + b"{") for _ in range(3)]
        received(port, 3)  # the three handlers hold the slots, reading bodies of the largest size
        raw, headers = a_message()
        status, retry_after, error = request(port, "POST", "/webhook", raw, headers)
        assert (status, retry_after, error["error"]["code"]) == (503, "60", "busy")
        assert healthz(port) == 200
        for sock in slow:  # the slow clients give up: their slots are free again
            sock.close()
        wait_for(lambda: request(port, "POST", "/webhook", raw, headers)[0] == 200, BOUND, "a free slot")


def test_a_signature_of_the_wrong_shape_is_refused_before_the_body_and_rejections_do_not_flood_the_log(
    redis_url, tmp_path, connect
):
    """No body is sent at all, and the body timeout is 60 s: the 403 can only come from the headers."""
    with serving(redis_url, tmp_path, HANDOVER_BODY_TIMEOUT_SECONDS="60") as (serve, port):
        for _ in range(40):
            status, _, error = answer(connect(port, post_head(3_000_000, "sha256=junk")))
            assert (status, error["error"]["code"]) == (403, "bad_signature")
        assert healthz(port) == 200
    events = [
        json.loads(line).get("event") for line in serve.log_path.read_text().splitlines() if line[:1] == "{"
    ]
    assert events.count("webhook_rejected") == 20  # the rest are counted


def test_silent_and_header_less_connections_are_closed_after_the_idle_timeout(redis_url, tmp_path, connect):
    with serving(redis_url, tmp_path, HANDOVER_IDLE_TIMEOUT_SECONDS="2") as (_, port):
        silent = connect(port)
        headers_never_finished = connect(port, b"POST /webhook HTTP/1.1\r\nHost: edge\r\n")
        assert closed_by_server(silent) and closed_by_server(headers_never_finished)
        assert healthz(port) == 200


def test_past_the_connection_cap_new_connections_get_503_but_health_checks_answer(
    redis_url, tmp_path, connect
):
    limits = {"HANDOVER_MAX_CONNECTIONS": "8", "HANDOVER_IDLE_TIMEOUT_SECONDS": "60"}
    with serving(redis_url, tmp_path, **limits) as (_, port):
        held = [connect(port) for _ in range(8)]
        wait_for(lambda: request(port, "GET", "/readyz")[0] == 503, BOUND, "the cap to be reached")
        status, retry_after, error = request(port, "GET", "/webhook?hub.mode=subscribe")
        assert (status, error["error"]["code"]) == (503, "busy") and int(retry_after) > 0
        assert request(port, "GET", "/healthz") == (200, None, {"status": "ok"})  # alive, only full
        for sock in held:
            sock.close()
        wait_for(lambda: request(port, "GET", "/readyz")[0] == 200, BOUND, "room again")
