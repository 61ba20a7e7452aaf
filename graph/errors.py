"""Graph API errors, typed by what the caller must do: retry later, or record and show the agent."""

from __future__ import annotations

from typing import Any, ClassVar

from handover.message import SendOutcome


class GraphError(Exception):
    """A Graph API call failed. Permanent unless a subclass says otherwise; never carries the token.

    `codes` lists the Meta error codes a class covers (https://developers.facebook.com/docs/whatsapp/
    cloud-api/support/error-codes); `status` is the HTTP status, 0 when no answer came back at all.
    """

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
        fbtrace_id: str | None = None,
    ) -> None:
        # every argument goes to Exception so the error pickles (rq may keep it) and compares whole
        super().__init__(method, url, status, code, subcode, title, details, fbtrace_id)
        self.method, self.url, self.status = method, url, status
        self.code, self.subcode = code, subcode
        self.title, self.details, self.fbtrace_id = title, details, fbtrace_id

    @property
    def message(self) -> str:
        """Meta's `error.message` (its title), or our own description when Meta did not answer."""
        return self.title

    def __str__(self) -> str:
        code = f" code={self.code}" if self.code is not None else ""
        subcode = f" subcode={self.subcode}" if self.subcode is not None else ""
        title = f": {self.title}" if self.title else ""
        details = f" ({self.details})" if self.details and self.details != self.title else ""
        trace = f" fbtrace_id={self.fbtrace_id}" if self.fbtrace_id else ""
        return f"{self.method} {self.url} -> {self.status}{code}{subcode}{title}{details}{trace}"

    def to_outcome(self) -> SendOutcome:
        """What to record on the message: Meta's code (else the HTTP status) and a short title."""
        return SendOutcome(
            ok=False,
            error_code=self.code if self.code is not None else self.status,
            error_title=(self.title or self.details or type(self).__name__)[:200],
            retryable=self.retryable,
        )


class RateLimited(GraphError):
    """Throughput (130429), pair rate (131056), app (4) or account (80007) rate limit: back off, retry."""

    codes = frozenset({4, 80007, 130429, 131056})
    retryable = True


class ServerError(GraphError):
    """Meta had a problem (HTTP 5xx; 1, 2, 131000 unknown, 131016 unavailable, 131057 maintenance): retry."""

    codes = frozenset({1, 2, 131000, 131016, 131057})
    retryable = True


class GraphUnreachable(GraphError):
    """No answer: connection refused or reset, DNS, TLS, a broken response. Retry."""

    retryable = True


class GraphTimeout(GraphUnreachable):
    """No answer in time. Retry (Meta may have sent it: a retry can duplicate, which beats losing it)."""


class OutsideWindow(GraphError):
    """131047: more than 24 hours since the customer last wrote; only a template may be sent."""

    codes = frozenset({131047})


class RecipientUnavailable(GraphError):
    """131026: the recipient cannot receive it (not on WhatsApp, old app, terms not accepted);
    131030: not in the test number's allowed list."""

    codes = frozenset({131026, 131030})


NotAWhatsAppUser = RecipientUnavailable


class UnsupportedMessageType(GraphError):
    """131051 unsupported message type; 131062 this message cannot go to a business-scoped user id."""

    codes = frozenset({131051, 131062})


class AuthError(GraphError):
    """190 expired/invalid token, 0/3/10/200-299 permissions: nothing works until someone fixes the token."""

    codes = frozenset({0, 3, 10, 190, *range(200, 300)})


class InvalidParameter(GraphError):
    """100 bad parameter, 131008 missing, 131009 invalid value, 131021 recipient is the sender, media and
    template mismatches: the request itself is wrong, sending it again will not help."""

    codes = frozenset({100, 131008, 131009, 131021, 131053, 132000, 132001, 132005, 132007, 132012})


# Every class that claims Meta codes; a code belongs to one class only (a test checks it).
CODED: tuple[type[GraphError], ...] = (
    RateLimited,
    ServerError,
    OutsideWindow,
    RecipientUnavailable,
    UnsupportedMessageType,
    AuthError,
    InvalidParameter,
)
_BY_CODE: dict[int, type[GraphError]] = {code: cls for cls in CODED for code in cls.codes}


def error_from_response(method: str, url: str, status: int, body: Any) -> GraphError:
    """Type a failed answer: by Meta's `error.code` first, then by HTTP status (429 limit, 5xx server).

    `body` is the decoded JSON, or the raw text when the answer was not JSON (a proxy's HTML page).
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        text = " ".join(body.split())[:200] if isinstance(body, str) else ""
        error = {"message": f"unexpected answer{': ' + text if text else ''}"}
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else data if isinstance(data, str) else None
    cls = _BY_CODE.get(code) if code is not None else None
    if cls is None:
        cls = RateLimited if status == 429 else ServerError if status >= 500 else GraphError
    return cls(
        method,
        url,
        status,
        code,
        subcode,
        title=str(error.get("message") or error.get("title") or ""),
        details=str(details or ""),
        fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
    )


def _int(value: Any) -> int | None:
    """Meta sends codes as numbers; some proxies pass them on as strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
