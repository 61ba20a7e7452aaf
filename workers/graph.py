"""The Graph API client: one pooled session, one `_request`, typed errors; text, buttons, lists, receipts."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from handover.message import OutboundKind, OutboundRequest, SendOutcome
from workers.errors import GraphError, GraphUnreachable, error_from_response

# A business-scoped user id (customers known by username): two-letter country code, a dot, the id.
_BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9.]+$")


def make_session(limit: int, timeout: float = 10.0) -> aiohttp.ClientSession:
    """Keep-alive connections, at most `limit` at once; call inside the loop that will use it."""
    connector = aiohttp.TCPConnector(limit=limit, keepalive_timeout=60)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout))


def build_body(req: OutboundRequest) -> dict[str, Any]:
    """The Cloud API request body for one outbound request."""
    if req.kind is OutboundKind.MARK_READ:
        return {"messaging_product": "whatsapp", "status": "read", "message_id": req.message_id}
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    # Customers who hide their number behind a username are addressed by their business-scoped id.
    body["recipient" if _BSUID.match(req.to) else "to"] = req.to
    if req.reply_to:
        body["context"] = {"message_id": req.reply_to}
    if req.kind is OutboundKind.TEXT:
        body |= {"type": "text", "text": {"body": req.text, "preview_url": False}}
    elif req.kind is OutboundKind.BUTTONS:
        buttons = [{"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in req.buttons]
        body |= {
            "type": "interactive",
            "interactive": {"type": "button", "body": {"text": req.text}, "action": {"buttons": buttons}},
        }
    elif req.kind is OutboundKind.LIST:
        sections = [
            {
                **({"title": s.title} if s.title else {}),
                "rows": [r.model_dump(exclude_none=True) for r in s.rows],
            }
            for s in req.sections
        ]
        body |= {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": req.text},
                "action": {"button": req.list_button, "sections": sections},
            },
        }
    elif req.kind is OutboundKind.TEMPLATE:
        template: dict[str, Any] = {"name": req.template_name, "language": {"code": req.template_language}}
        if req.template_params:
            template["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in req.template_params]}
            ]
        body |= {"type": "template", "template": template}
    return body


class GraphClient:
    """Calls the Graph API over a session the caller owns (built once per process, reused by every send)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, access_token: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._token = access_token

    async def send(self, req: OutboundRequest) -> SendOutcome:
        """Send one request; raises GraphError (see `retryable`) when Meta refuses or cannot be reached."""
        answer = await self._request("POST", f"/{req.phone_number_id}/messages", build_body(req))
        if req.kind is OutboundKind.MARK_READ:
            return SendOutcome(ok=True)
        messages = answer.get("messages") or [{}]
        return SendOutcome(ok=True, wa_message_id=messages[0].get("id"))

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """Fetch a customer's media by id: its URL lasts five minutes, so it is fetched at once."""
        meta = await self._request("GET", f"/{media_id}")
        url = meta.get("url")
        if not url:
            raise GraphError("GET", f"/{media_id}", 200, title="media has no url")
        try:
            async with self.session.get(url, headers=self._auth()) as response:
                if response.status >= 400:
                    raise error_from_response("GET", "<media url>", response.status, await _json(response))
                return await response.read(), str(meta.get("mime_type") or response.content_type)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GraphUnreachable("GET", "<media url>", 0, title=type(exc).__name__) from exc

    async def _request(self, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self.base_url + path
        try:
            async with self.session.request(method, url, json=json, headers=self._auth()) as response:
                body = await _json(response)
                if response.status >= 400 or (isinstance(body, dict) and "error" in body):
                    raise error_from_response(method, path, response.status, body)
                return body if isinstance(body, dict) else {}
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GraphUnreachable(method, path, 0, title=type(exc).__name__) from exc

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return {"error": {"message": (await response.text())[:200]}}
