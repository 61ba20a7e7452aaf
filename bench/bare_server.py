"""The ingestion baseline: a bare aiohttp handler that reads the body and answers 200."""

from __future__ import annotations

import sys

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="ok")


def main() -> None:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.add_routes([web.post("/webhook", receive), web.get("/healthz", lambda r: web.Response(text="ok"))])
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
