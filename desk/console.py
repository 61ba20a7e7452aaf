"""The web console: static pages served by `handover serve`, calling only the public desk API."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"

# The pages load only their own files and talk only to this server: a customer's text that somehow
# reached the page as markup could neither run nor send anything elsewhere. Icons are inline SVG; the
# favicon is a data: URL.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page(path: Path) -> web.FileResponse:
    """One of the console's pages, with the headers above."""
    return web.FileResponse(path, headers=PAGE_HEADERS)


async def desk_page(request: web.Request) -> web.FileResponse:
    return page(STATIC / "index.html")


async def simulator_page(request: web.Request) -> web.FileResponse:
    """The phone simulator: a customer's WhatsApp over the sandbox routes (webhooks/sandbox.py)."""
    return page(STATIC / "simulator.html")


def routes(*, sandbox: bool) -> list[web.AbstractRouteDef]:
    """The desk at /, its files at /static; in the sandbox, the phone simulator at /simulator."""
    pages = [web.get("/", desk_page), web.static("/static", STATIC)]
    return [*pages, web.get("/simulator", simulator_page)] if sandbox else pages
