"""Graph API errors, typed by what the caller must do: retry later, or record and show the agent."""

from __future__ import annotations

from typing import Any, ClassVar

from handover.message import SendOutcome


class GraphError(Exception):
    """A Graph API call failed. Permanent unless a subclass says otherwise; never carries the token."""

    codes: ClassVar[frozenset[int]] = frozenset()
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        code: int | None = None,
        subcode: int | None = None,
        title: str = "",
        details: str = "",
    ) -> None:
        self.method, self.url, self.status = method, url, status
        self.code, self.subcode, self.title, self.details = code, subcode, title, details
        super().__init__(f"{method} {url} -> {status} code={code} {title}".strip())

    def to_outcome(self) -> SendOutcome:
        return SendOutcome(
            ok=False,
            error_code=self.code if self.code is not None else self.status,
            error_title=(self.title or self.details)[:200],
            retryable=self.retryable,
        )


class RateLimited(GraphError):
    """Throughput (130429), pair rate (131056) or app/account rate limits: back off and retry."""

    codes = frozenset({4, 80007, 130429, 131056})
    retryable = True


class ServerError(GraphError):
    """Meta had a problem (5xx, 1, 2, 131000, 131016): retry."""

    codes = frozenset({1, 2, 131000, 131016})
    retryable = True


class GraphUnreachable(GraphError):
    """Timeout or network failure before an answer: retry."""

    retryable = True


class OutsideWindow(GraphError):
    """131047: more than 24 hours since the customer last wrote; only a template may be sent."""

    codes = frozenset({131047})


class RecipientUnavailable(GraphError):
    """131026: the recipient cannot receive this message (not on WhatsApp, old version, blocked...)."""

    codes = frozenset({131026})


class UnsupportedMessageType(GraphError):
    codes = frozenset({131051})


class AuthError(GraphError):
    """190 expired/invalid token, 0/10/200-299 permissions: nothing works until someone fixes the token."""

    codes = frozenset({0, 10, 190, *range(200, 300)})


class InvalidParameter(GraphError):
    codes = frozenset({100, 131008, 131009, 131021, 131053, 132000, 132001, 132012})


_BY_CODE: dict[int, type[GraphError]] = {
    code: cls
    for cls in (
        RateLimited,
        ServerError,
        OutsideWindow,
        RecipientUnavailable,
        UnsupportedMessageType,
        AuthError,
        InvalidParameter,
    )
    for code in cls.codes
}


def error_from_response(method: str, url: str, status: int, body: Any) -> GraphError:
    """Pick the error class by Meta's code first, then by HTTP status (429 rate limit, 5xx server)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    details = (
        (error.get("error_data") or {}).get("details", "")
        if isinstance(error.get("error_data"), dict)
        else ""
    )
    title = str(error.get("message") or error.get("title") or "")
    cls: type[GraphError] | None = _BY_CODE.get(code) if code is not None else None
    if cls is None:
        cls = RateLimited if status == 429 else ServerError if status >= 500 else GraphError
    return cls(method, url, status, code, subcode, title, str(details))
