"""The HTTP identity verifier, against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from handover.identity import HttpDirectory, VerifierUnavailable
from tests.support.redis_server import free_port

pytestmark = pytest.mark.integration

KNOWN = {"cpf": "52998224725", "birth_date": "1988-03-14"}


class Verifier(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self) -> None:
        fields = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Verifier.seen.append(fields)
        answer = (
            {"verified": True, "reference": "CRM-42", "name": "Ana Souza"}
            if fields == KNOWN
            else {"verified": False}
        )
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def verifier_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Verifier)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/verify"
    server.shutdown()
    server.server_close()


def test_verified_and_not(verifier_url):
    directory = HttpDirectory(verifier_url, timeout=2)
    assert directory.verify(KNOWN) == ("CRM-42", "Ana Souza")
    assert directory.verify({**KNOWN, "birth_date": "1990-01-01"}) is None
    assert Verifier.seen[-2] == KNOWN  # cleaned values, as the rules' fields name them


def test_unreachable_verifier_is_reported_not_guessed():
    with pytest.raises(VerifierUnavailable):
        HttpDirectory(f"http://127.0.0.1:{free_port()}/verify", timeout=1).verify(KNOWN)
