"""Meta's webhook signature: HMAC-SHA256 of the raw body bytes with the app secret."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"


def sign(body: bytes, secret: bytes) -> str:
    """The header value Meta would send for `body` (the sandbox and the tests sign with it)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def is_valid(body: bytes, header: str, secret: bytes) -> bool:
    """Compare in constant time; the raw bytes are hashed, never re-serialised JSON. Compared as bytes, so a
    header that is not ASCII is a mismatch like any other (compare_digest refuses non-ASCII text)."""
    given = header.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(sign(body, secret).encode(), given)
