"""A stand-in for a business's identity verifier (rules' `identity.directory.url`): an HTTP server on
loopback that answers each POST with what `answer(fields)` returns, keeping the fields it was asked."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def verifier(
    answer: Callable[[dict[str, Any]], dict[str, Any]], asked: list[dict] | None = None
) -> Iterator[str]:
    """Serve `answer` on a free loopback port and yield its URL; every request's fields go to `asked`."""
    seen = asked if asked is not None else []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            fields = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(fields)
            body = json.dumps(answer(fields)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/verify"
    finally:
        server.shutdown()
        server.server_close()
