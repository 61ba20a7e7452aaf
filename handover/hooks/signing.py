"""The Standard Webhooks signature (https://www.standardwebhooks.com): the receiver checks it with any of
the scheme's libraries. The same webhook-id on every retry of one event lets the receiver drop repeats."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A secret as the scheme writes them: whsec_ and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(secret: str, message_id: str, at: float, body: bytes) -> dict[str, str]:
    """The three headers of one delivery of `body` (the exact bytes sent), made at `at` (epoch seconds)."""
    when = datetime.fromtimestamp(int(at), tz=UTC)
    signature = Webhook(secret).sign(message_id, when, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at)),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
