"""The Graph API client: one pooled session, one `_request`, typed errors; text, buttons, lists, receipts."""

from __future__ import annotations

import json as jsonlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from graph.errors import GraphError, GraphTimeout, GraphUnreachable, error_from_response
from handover.media import Sink
from handover.message import OutboundKind, OutboundRequest, SendOutcome

# A business-scoped user id (BSUID), how customers known only by a username are addressed: an ISO country
# code, a dot, up to 128 alphanumerics ("BR.1502576394655843"); parent BSUIDs put "ENT." after the dot.
_BSUID = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")

# Customer media can be large (video up to 16 MB, documents up to 100 MB): more time than a send, as long
# as bytes keep coming (100 MB in 300 s is 2.7 Mbit/s).
MEDIA_TIMEOUT = aiohttp.ClientTimeout(total=300, sock_connect=10, sock_read=30)
MEDIA_CHUNK = 256 * 1024  # what a download holds in memory at a time, on its way to the sink


def make_session(limit: int, timeout: float = 10.0) -> aiohttp.ClientSession:
    """One pooled keep-alive session per process, at most `limit` connections; make it inside its loop."""
    connector = aiohttp.TCPConnector(limit=limit, keepalive_timeout=60, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout))


def is_business_scoped_id(address: str) -> bool:
    """True for a BSUID ("US.1234..."), which Meta takes in `recipient`; phone numbers go in `to`."""
    return bool(_BSUID.match(address))


def build_body(req: OutboundRequest) -> dict[str, Any]:
    """The Cloud API body for one outbound request (POST /{phone_number_id}/messages)."""
    if req.kind is OutboundKind.MARK_READ:
        receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": req.message_id}
        return receipt | ({"typing_indicator": {"type": "text"}} if req.typing else {})
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    body["recipient" if is_business_scoped_id(req.to) else "to"] = req.to
    if req.reply_to:
        body["context"] = {"message_id": req.reply_to}
    if req.kind is OutboundKind.TEXT:
        body |= {"type": "text", "text": {"body": req.text, "preview_url": False}}
    elif req.kind is OutboundKind.BUTTONS:
        body |= {"type": "interactive", "interactive": _buttons(req)}
    elif req.kind is OutboundKind.LIST:
        body |= {"type": "interactive", "interactive": _list(req)}
    elif req.kind is OutboundKind.TEMPLATE:
        body |= {"type": "template", "template": _template(req)}
    elif req.kind is OutboundKind.REACTION:  # an empty emoji takes the reaction back
        body |= {"type": "reaction", "reaction": {"message_id": req.message_id, "emoji": req.text or ""}}
    elif req.kind is OutboundKind.MEDIA and req.media_type is not None:
        media: dict[str, Any] = {"id": req.media_id}
        if req.text:
            media["caption"] = req.text
        if req.filename and req.media_type == "document":
            media["filename"] = req.filename
        body |= {"type": req.media_type, req.media_type: media}
    return body


def _buttons(req: OutboundRequest) -> dict[str, Any]:
    buttons = [{"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in req.buttons]
    return {"type": "button", "body": {"text": req.text}, "action": {"buttons": buttons}}


def _list(req: OutboundRequest) -> dict[str, Any]:
    sections = [
        {
            **({"title": s.title} if s.title else {}),
            "rows": [r.model_dump(exclude_none=True) for r in s.rows],
        }
        for s in req.sections
    ]
    return {
        "type": "list",
        "body": {"text": req.text},
        "action": {"button": req.list_button, "sections": sections},
    }


def _template(req: OutboundRequest) -> dict[str, Any]:
    template: dict[str, Any] = {"name": req.template_name, "language": {"code": req.template_language}}
    if req.template_params:
        parameters = [{"type": "text", "text": p} for p in req.template_params]
        template["components"] = [{"type": "body", "parameters": parameters}]
    return template


class GraphClient:
    """Calls the Graph API over a session the caller owns (built once per process, reused by every send).

    Failures raise `GraphError` subclasses whose `retryable` tells the caller whether to try again.
    Nothing here logs; errors carry method, URL (never the token) and Meta's code, not message text.
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: str, access_token: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {access_token}"}

    def __repr__(self) -> str:
        return f"GraphClient({self.base_url!r})"

    async def send(self, req: OutboundRequest) -> SendOutcome:
        """Send one request; raises GraphError (see `retryable`) when Meta refuses or cannot be reached."""
        path = f"/{quote(req.phone_number_id, safe='')}/messages"
        answer = await self._request("POST", path, build_body(req))
        if req.kind is OutboundKind.MARK_READ:
            return SendOutcome(ok=True)
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else {}
        return SendOutcome(ok=True, wa_message_id=first.get("id") if isinstance(first, dict) else None)

    async def download_media(self, media_id: str, sink: Sink) -> str:
        """A customer's media written into `sink` as it arrives (MEDIA_CHUNK at a time, never whole in
        memory); its MIME type. Meta's URL lasts five minutes, so it is fetched at once."""
        meta = await self._request("GET", f"/{quote(media_id, safe='')}")
        url = meta.get("url")
        if not isinstance(url, str) or not url:
            raise GraphError("GET", self.base_url + f"/{media_id}", 200, title="media answer has no url")
        # the URL's query is a short-lived capability: errors show scheme, host and path only
        shown = urlsplit(url)._replace(query="", fragment="").geturl()
        status, content, content_type = await self._exchange(
            "GET", url, shown, timeout=MEDIA_TIMEOUT, sink=sink
        )
        if status >= 400:
            raise error_from_response("GET", shown, status, _decode(content))
        return str(meta.get("mime_type") or content_type)

    async def upload_media(self, phone_number_id: str, file: Path, mime_type: str, filename: str) -> str:
        """Upload a file for this business number (`POST /{phone-number-id}/media`), read from disk as it
        goes; its media id."""
        with file.open("rb") as content:
            form = aiohttp.FormData()
            form.add_field("messaging_product", "whatsapp")
            form.add_field("type", mime_type)
            form.add_field("file", content, filename=filename, content_type=mime_type)
            answer = await self._request(
                "POST", f"/{quote(phone_number_id, safe='')}/media", data=form, timeout=MEDIA_TIMEOUT
            )
        media_id = answer.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise GraphError(
                "POST", self.base_url + f"/{phone_number_id}/media", 200, title="upload gave no id"
            )
        return media_id

    async def _request(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | None = None,
        data: aiohttp.FormData | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> dict[str, Any]:
        """One Graph call: the decoded JSON object, or a typed GraphError."""
        url = self.base_url + path
        status, content, _ = await self._exchange(method, url, url, json=json, data=data, timeout=timeout)
        body = _decode(content)
        if status >= 400 or not isinstance(body, dict) or "error" in body:
            raise error_from_response(method, url, status, body)
        return body

    async def _exchange(
        self,
        method: str,
        url: str,
        shown: str,
        json: dict[str, Any] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        data: aiohttp.FormData | None = None,
        sink: Sink | None = None,
    ) -> tuple[int, bytes, str]:
        """The only place that talks HTTP and holds the token: status, raw body, content type. With a
        `sink`, a successful answer's body goes there chunk by chunk and the body returned is empty."""
        options: dict[str, Any] = {"headers": self._headers}
        options |= {"data": data} if data is not None else {"json": json}
        if timeout is not None:
            options["timeout"] = timeout
        try:
            async with self.session.request(method, url, **options) as response:
                if sink is None or response.status >= 400:
                    return response.status, await response.read(), response.content_type
                async for chunk in response.content.iter_chunked(MEDIA_CHUNK):
                    sink.write(chunk)
                return response.status, b"", response.content_type
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutError (some also ClientError)
            raise GraphTimeout(method, shown, 0, title="no answer in time") from exc
        except aiohttp.ClientError as exc:
            reason = str(exc).replace(url, shown)[:200]
            raise GraphUnreachable(method, shown, 0, title=f"{type(exc).__name__}: {reason}") from exc


def _decode(content: bytes) -> Any:
    """The JSON answer, or its text when it is not JSON (a proxy's or load balancer's page)."""
    try:
        return jsonlib.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")
