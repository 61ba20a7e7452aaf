"""Customers' media and agents' uploads against a real `handover serve` and a fake Graph API on loopback
(issue 28, item 6): 16 clients that did not read a 100 MB document took the process to 3.7 GB, each request
downloading it again; 40 uploads of 15 MB by one agent took 1.5 GB. Now a media is downloaded once into a
file on disk and served from it by sendfile (ranges included), uploads go to disk as they arrive, one agent
has a few media requests and two uploads at once (429 past them), and past the process's budgets 503.

The process's memory is read from /proc/<pid>/status (VmRSS, sampled every 20 ms) against a bound; every
wait is a liveness bound, never a speed assertion. The large files are generated here, never committed."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from handover.agents import AgentStore, Role
from handover.conversation import Conversation, ConversationState
from handover.store import Store
from tests.fakes.graph_server import FakeGraph
from tests.support import edge
from tests.support.edge import BOUND, response_on
from tests.support.processes import wait_for

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
BIG = 50 * MB  # each large media here
RSS_ROOM = 150 * MB  # what the process may grow by while serving or taking them


def rss(pid: int) -> int:
    """The process's resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@contextmanager
def peak_rss(pid: int) -> Iterator[list[int]]:
    """The largest VmRSS seen while the block runs (sampled every 20 ms): `[peak]` once it ends."""
    peak, stop = [rss(pid)], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], rss(pid))
            except (OSError, AssertionError):
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join(5)


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two 50 MB "PDF"s, different bytes throughout (a range read shows which bytes came)."""
    folder = tmp_path_factory.mktemp("media")
    made = {}
    for name in ("big-a", "big-b"):
        path = folder / f"{name}.pdf"
        block = bytes(range(256)) * 4096  # 1 MB
        with path.open("wb") as file:
            file.write(b"%PDF-1.4\n")
            for n in range(BIG // len(block)):
                file.write(block[n % 256 :] + block[: n % 256])
        made[name] = path
    return made


@pytest.fixture
def graph(big_files: dict[str, Path]) -> Iterator[FakeGraph]:
    fake = FakeGraph.start_in_thread(keep_uploads=False)
    for media_id, path in big_files.items():
        fake.serve_file(media_id, path, "application/pdf")
    yield fake
    fake.stop()


def held_conversation(redis_url: str, agent_id: str, media: list[str]) -> str:
    """A conversation the agent holds, its window open, in which the customer sent `media` (documents)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    now = time.time()
    conversation = Conversation(
        id=f"c-{agent_id}",
        phone_number_id="1122334455667",
        customer_key="5511900000001",
        wa_id="5511900000001",
        state=ConversationState.ASSIGNED,
        queue="general",
        agent_id=agent_id,
        created_at=now,
        updated_at=now,
        last_customer_message_at=now,
        window_expires_at=now + 86400,
    )
    with client.pipeline() as pipe:
        Store(client).save_conversation(pipe, conversation)
        for media_id in media:
            where = {"conversation_id": conversation.id, "mime_type": "application/pdf", "filename": "a.pdf"}
            pipe.set(f"hv:media:{media_id}", json.dumps(where))
        pipe.execute()
    client.close()
    return conversation.id


def agent(redis_url: str, name: str) -> tuple[str, str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    made, token = AgentStore(client).add(name, ["general"], capacity=3, role=Role.AGENT)
    client.close()
    return made.id, token


def serving(redis_url: str, tmp_path: Path, graph: FakeGraph, **limits: str):  # type: ignore[no-untyped-def]
    """The edge's serve, on the fake Graph API, its media kept under tmp_path/media (made by serve)."""
    media = {"WHATSAPP_API_URL": graph.base_url, "HANDOVER_MEDIA_DIR": str(tmp_path / "media")}
    return edge.serving(redis_url, tmp_path, **(media | limits))


def get(port: int, token: str, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}", **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def head_only(port: int, token: str, path: str) -> tuple[socket.socket, bytes]:
    """A GET whose answer's head is read, and nothing of its body ever: (the socket, the head)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: desk\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "closed before the answer's head"
        head += chunk
    return sock, head


def test_slow_readers_of_a_large_media_share_one_download_and_no_memory(redis_url, tmp_path, graph):
    """Before: each of these requests downloaded the 50 MB again and held it until its client read it."""
    ana, token = agent(redis_url, "Ana")
    held_conversation(redis_url, ana, ["big-a"])
    with serving(redis_url, tmp_path, graph, HANDOVER_MEDIA_PER_AGENT="8") as (serve, port):
        before = rss(serve.pid)
        with peak_rss(serve.pid) as peak:
            readers = [head_only(port, token, "/api/v1/media/big-a") for _ in range(8)]
            assert all(head.startswith(b"HTTP/1.1 200") for _, head in readers)
            time.sleep(1)  # what the answers could take of memory, they would have by now
        assert peak[0] - before < RSS_ROOM, f"serve grew by {(peak[0] - before) // MB} MB"
        assert graph.downloads_of("big-a") == 1
        # past the agent's media requests: 429, the others' unaffected
        status, headers, body = get(port, token, "/api/v1/media/big-a")
        assert (status, json.loads(body)["error"]["code"]) == (429, "too_many_requests")
        assert headers["Retry-After"] == "10"
        for sock, _ in readers:
            sock.close()
        wait_for(
            lambda: get(port, token, "/api/v1/media/big-a", {"Range": "bytes=0-9"})[0] == 206, BOUND, "a slot"
        )
        assert rss(serve.pid) - before < RSS_ROOM


def test_a_range_is_served_from_the_file_with_the_headers_of_a_media(redis_url, tmp_path, graph, big_files):
    ana, token = agent(redis_url, "Ana")
    held_conversation(redis_url, ana, ["big-b"])
    content = big_files["big-b"].read_bytes()
    with serving(redis_url, tmp_path, graph) as (_, port):
        status, headers, body = get(port, token, "/api/v1/media/big-b", {"Range": "bytes=1000000-1000999"})
        assert status == 206 and body == content[1_000_000:1_001_000]
        assert headers["Content-Range"] == f"bytes 1000000-1000999/{len(content)}"
        assert headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"] == "attachment; filename*=UTF-8''a.pdf"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert headers["Cache-Control"] == "private, max-age=3600"
        status, headers, body = get(port, token, "/api/v1/media/big-b", {"Range": "bytes=-10"})
        assert status == 206 and body == content[-10:]
        status, headers, _ = get(port, token, "/api/v1/media/big-b", {"Range": f"bytes={len(content)}-"})
        assert status == 416 and headers["Content-Range"] == f"bytes */{len(content)}"
        status, _, body = get(port, token, "/api/v1/media/big-b")
        assert status == 200 and body == content
        assert graph.downloads_of("big-b") == 1


def test_past_the_disk_budget_a_media_waits_with_503(redis_url, tmp_path, graph):
    """128 MB of disk: one 50 MB media held by a client that does not read, one being downloaded... the
    third cannot fit until one of them is let go."""
    ana, token = agent(redis_url, "Ana")
    bia, bia_token = agent(redis_url, "Bia")
    held_conversation(redis_url, ana, ["big-a", "big-b"])
    held_conversation(redis_url, bia, ["big-c"])
    graph.serve_file("big-c", graph.files["big-a"][0], "application/pdf")
    with serving(redis_url, tmp_path, graph, HANDOVER_MEDIA_DISK_MB="128") as (_, port):
        holding = [head_only(port, token, f"/api/v1/media/{m}") for m in ("big-a", "big-b")]
        status, headers, body = get(port, bia_token, "/api/v1/media/big-c")
        assert (status, json.loads(body)["error"]["code"], headers["Retry-After"]) == (503, "busy", "10")
        holding[0][0].close()  # big-a is let go: it may be evicted for big-c
        wait_for(lambda: get(port, bia_token, "/api/v1/media/big-c")[0] == 200, BOUND, "room for big-c")
        holding[1][0].close()


def upload_head(token: str, conversation: str, size: int) -> tuple[bytes, bytes]:
    """An upload's request head and its body (a `size` byte PDF in a multipart form)."""
    boundary = "----media-budget"
    opening = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    closing = f"\r\n--{boundary}--\r\n".encode()
    content = b"%PDF-1.4\n" + b"\0" * (size - 9)
    form = opening + content + closing
    head = (
        f"POST /api/v1/conversations/{conversation}/media HTTP/1.1\r\nHost: desk\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    ).encode()
    return head, form


def status_of(sock: socket.socket) -> tuple[int, dict[str, str]]:
    status, _, body = response_on(sock)
    return status, json.loads(body) if body else {}


def rest_and_answer(sock: socket.socket, rest: bytes) -> tuple[int, dict[str, str]]:
    with contextlib.suppress(OSError):  # refused from its head, and closed
        sock.sendall(rest)
    return status_of(sock)


def test_many_uploads_by_one_agent_two_at_a_time_on_disk(redis_url, tmp_path, graph):
    """Before: 40 uploads of 15 MB by one agent were all read into memory at once (1.5 GB)."""
    ana, token = agent(redis_url, "Ana")
    conversation = held_conversation(redis_url, ana, [])
    head, form = upload_head(token, conversation, 15 * MB)
    with serving(redis_url, tmp_path, graph, HANDOVER_REQUESTS_PER_AGENT="60") as (serve, port):
        before = rss(serve.pid)
        with peak_rss(serve.pid) as peak:
            socks = []
            for _ in range(40):  # every one begun before any has ended
                sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
                sock.sendall(head + form[:MB])
                socks.append(sock)
            with ThreadPoolExecutor(len(socks)) as pool:  # the rest of every body, all at once
                answers = list(pool.map(lambda sock: rest_and_answer(sock, form[MB:]), socks))
        assert peak[0] - before < RSS_ROOM, f"serve grew by {(peak[0] - before) // MB} MB"
        assert Counter(status for status, _ in answers) == {202: 2, 429: 38}
        assert {a["error"]["code"] for s, a in answers if s == 429} == {"too_many_requests"}
        assert [u["size"] for u in graph.uploads] == [15 * MB, 15 * MB]
        for sock in socks:
            sock.close()
        assert not list((tmp_path / "media").glob("**/upload-*.part"))  # removed once sent or refused


def test_past_the_upload_budget_an_upload_gets_503(redis_url, tmp_path, graph):
    ana, token = agent(redis_url, "Ana")
    bia, bia_token = agent(redis_url, "Bia")
    head, form = upload_head(token, held_conversation(redis_url, ana, []), 15 * MB)
    other_head, _ = upload_head(bia_token, held_conversation(redis_url, bia, []), 15 * MB)
    with serving(redis_url, tmp_path, graph, HANDOVER_UPLOADS_MB="20") as (_, port):
        first = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
        first.sendall(head + form[:MB])  # holds 15 MB of the 20 while it comes
        time.sleep(0.5)
        second = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
        second.sendall(other_head)
        status, body = status_of(second)
        assert (status, body["error"]["code"]) == (503, "busy")
        first.sendall(form[MB:])
        assert status_of(first)[0] == 202
        second.close()
        first.close()
