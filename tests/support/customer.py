"""A customer on a real WhatsApp line: writes through Meta's signed webhook, and reads what the business
asked Meta (the fake Graph API on loopback) to deliver. For stacks run with a token, not the sandbox."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.graph_server import FakeGraph
from tests.support.processes import http_json
from tests.support.stack import Stack
from tests.support.webhook import body, signed, text_message


class Customer:
    """Plays the customer through Meta's signed webhook; reads what Meta was asked to deliver."""

    def __init__(self, stack: Stack, graph: FakeGraph, wa_id: str, name: str) -> None:
        self.stack, self.graph, self.wa_id, self.name, self.n = stack, graph, wa_id, name, 0

    def post(self, message: dict[str, Any]) -> None:
        raw, headers = signed(body([message], names={self.wa_id: self.name}))
        status, answer = http_json("POST", f"{self.stack.base}/webhook", data=raw, headers=headers)
        assert status == 200, answer

    def says(self, text: str) -> None:
        self.n += 1
        self.post(text_message(f"wamid.{self.wa_id}.{self.n}", self.wa_id, text, int(time.time())))

    def taps(self, button_id: str, title: str) -> None:
        self.n += 1
        self.post(
            {
                "from": self.wa_id,
                "id": f"wamid.{self.wa_id}.{self.n}",
                "timestamp": str(int(time.time())),
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
            }
        )

    def received(self) -> list[dict[str, Any]]:
        bodies = [r["json"] for r in self.graph.snapshot()]
        return [b for b in bodies if b.get("to") == self.wa_id and b.get("status") != "read"]

    def texts(self) -> list[str]:
        return [b["text"]["body"] for b in self.received() if b.get("type") == "text"]
