"""The web console: static pages served by `handover serve`, calling only the public desk API."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"


async def desk_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def routes() -> list[web.AbstractRouteDef]:
    return [web.get("/", desk_page), web.static("/static", STATIC)]
