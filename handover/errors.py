"""Domain errors; the desk API turns each into its HTTP status in one place."""


class DomainError(Exception):
    code = "error"


class NotFound(DomainError):
    code = "not_found"


class NotYours(DomainError):
    """The conversation is assigned to someone else (403)."""

    code = "not_yours"


class Conflict(DomainError):
    """Wrong state, or another agent got there first (409)."""

    code = "conflict"


class WindowClosed(Conflict):
    """More than 24 hours since the customer last wrote: only an approved template may be sent."""

    code = "window_closed"


class Unavailable(Conflict):
    code = "not_available"


class Closed(Conflict):
    """Resolved or abandoned (or still with the bot): read-only, e.g. for notes (409)."""

    code = "conversation_closed"


class TooManyNotes(Conflict):
    code = "too_many_notes"


class RateLimited(DomainError):
    """Too many of one kind of write lately (429, with Retry-After: `retry_after` seconds)."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, code: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        if code:
            self.code = code


class Invalid(DomainError):
    """A request that names something that does not exist in the rules, or misses what it needs (422)."""

    code = "invalid"
