"""Business hours: is a queue open now, and when does it open next (in the customer's language)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from handover.rules.model import Hours

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_GROUPS = {"mon-fri": _DAYS[:5], "mon-sat": _DAYS[:6], "sat-sun": _DAYS[5:]}
_DAY_NAMES = {
    "pt": [
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_TODAY = {"pt": "hoje às {t}", "en": "today at {t}"}
_TOMORROW = {"pt": "amanhã às {t}", "en": "tomorrow at {t}"}
_LATER = {"pt": "{day} às {t}", "en": "{day} at {t}"}


def spans(hours: Hours) -> dict[int, tuple[time, time]]:
    """Weekday (0 = Monday) -> opening and closing time; a specific day overrides its group. A closing time
    at or before the opening one (22:00-06:00, 18:00-00:00) is the next morning's."""
    result: dict[int, tuple[time, time]] = {}
    for key in sorted(hours.days, key=lambda k: k in _GROUPS, reverse=True):  # groups first, days override
        start, end = hours.days[key].split("-")
        span = (time.fromisoformat(start), time.max if end == "24:00" else time.fromisoformat(end))
        for day in _GROUPS.get(key, [key]):
            result[_DAYS.index(day)] = span
    return result


def is_open(hours: Hours | None, now: float) -> bool:
    """Open now: today's span has begun and not ended, or yesterday's overnight span has not ended yet."""
    if hours is None:
        return True
    local = datetime.fromtimestamp(now, ZoneInfo(hours.timezone))
    table, at = spans(hours), local.time()
    today = table.get(local.weekday())
    if today is not None and today[0] <= at and (at < today[1] or _overnight(today)):
        return True
    yesterday = table.get((local.weekday() - 1) % 7)
    return yesterday is not None and _overnight(yesterday) and at < yesterday[1]


def _overnight(span: tuple[time, time]) -> bool:
    """A span that closes after midnight, on the day after the one it is listed under."""
    return span[1] <= span[0]


def next_opening(hours: Hours, now: float) -> datetime | None:
    """The next moment the queue opens (None if it never does)."""
    zone = ZoneInfo(hours.timezone)
    local = datetime.fromtimestamp(now, zone)
    table = spans(hours)
    for ahead in range(8):
        day = (local + timedelta(days=ahead)).date()
        span = table.get(day.weekday())
        if span is None:
            continue
        opening = datetime.combine(day, span[0], zone)
        if opening > local:
            return opening
    return None


def describe_opening(hours: Hours, now: float, language: str) -> str:
    """'amanhã às 08:00', 'segunda-feira às 08:00', 'today at 09:00'."""
    opening = next_opening(hours, now)
    lang = language if language in _DAY_NAMES else "en"
    if opening is None:
        return "—"
    today = datetime.fromtimestamp(now, ZoneInfo(hours.timezone)).date()
    t = opening.strftime("%H:%M")
    if opening.date() == today:
        return _TODAY[lang].format(t=t)
    if opening.date() == today + timedelta(days=1):
        return _TOMORROW[lang].format(t=t)
    return _LATER[lang].format(day=_DAY_NAMES[lang][opening.weekday()], t=t)
