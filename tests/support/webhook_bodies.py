"""Hypothesis strategies for WhatsApp webhook bodies: well-formed messages and statuses, each tagged with
an id that says whether it is `ok` or `bad`, mixed with broken ones and junk at every level (wrong types,
missing fields, huge strings, any unicode, lone surrogates, nested lists and objects).

A `bad` item is broken in a way the normaliser must notice (no id, a timestamp that is not one, not an
object...); junk entries and changes carry no `ok` item. So after `normalize`, the messages read are
exactly the `ok` ones, whatever surrounds them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from webhooks.normalize import OBJECT

PNID = "1122334455667"
DELIVERY = ("sent", "delivered", "read", "failed")

# any text: every plane, with lone UTF-16 halves and controls, sometimes very long
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.one_of(st.characters(), SURROGATES), max_size=20),
    st.builds(
        lambda piece, n: piece * n,
        st.sampled_from(["a", "é", "😀", "\ud83d", "\x00"]),
        st.sampled_from([0, 4097, 20_000]),
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    ANY_TEXT,
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _nested(inner: Any, depth: int, objects: bool) -> Any:
    """`inner` inside `depth` lists, or objects and lists by turns: deep, within what a JSON parser takes."""
    for level in range(depth):
        inner = {"x": inner} if objects and level % 2 else [inner]
    return inner


DEEP = st.builds(_nested, SCALARS, st.sampled_from([100, 255, 400]), st.booleans())
NASTY = st.one_of(JUNK, DEEP)
WA_ID = st.integers(min_value=551100000000, max_value=5599999999999).map(str)
TIMESTAMP = st.one_of(st.integers(min_value=0, max_value=2**40), st.integers(0, 2**31).map(str))


def _content(kind: str, text: str, junk: Any) -> dict[str, Any]:
    """The type-specific object of a well-formed message of `kind`, with a field we do not know."""
    objects: dict[str, dict[str, Any]] = {
        "text": {"body": text},
        "image": {"id": "media.1", "mime_type": "image/jpeg", "caption": text},
        "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": text}},
        "button": {"text": text, "payload": "p1"},
        "reaction": {"message_id": "wamid.x", "emoji": text},
        "location": {"latitude": 1.5, "longitude": 2.5, "name": text},
        "edit": {"original_message_id": "wamid.x", "message": {"type": "text", "text": {"body": text}}},
        "order": {"catalog_id": "c", "text": text, "product_items": []},
        "unsupported": {},
        "brand_new_type": {"anything": junk},
    }
    return {**objects[kind], "novo_campo": junk}


@st.composite
def good_message(draw: st.DrawFn, n: int) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "text",
                "image",
                "interactive",
                "button",
                "reaction",
                "location",
                "edit",
                "order",
                "unsupported",
                "brand_new_type",
            ]
        )
    )
    message = {
        "from": draw(WA_ID),
        "id": f"wamid.ok.{n}",
        "timestamp": draw(TIMESTAMP),
        "type": kind,
        kind: _content(kind, draw(ANY_TEXT), draw(JUNK)),
    }
    if draw(st.booleans()):
        message["unknown_field"] = draw(JUNK)  # unknown fields are kept or ignored, never fatal
    return message


# ways to break a message that no reading may forgive
_BREAKS = {
    "no id": lambda m, junk: {k: v for k, v in m.items() if k != "id"},
    "empty id": lambda m, junk: {**m, "id": ""},
    "id not a string": lambda m, junk: {**m, "id": junk if not isinstance(junk, str) else [junk]},
    "no timestamp": lambda m, junk: {k: v for k, v in m.items() if k != "timestamp"},
    "timestamp a word": lambda m, junk: {**m, "timestamp": "ontem"},
    "timestamp negative": lambda m, junk: {**m, "timestamp": -1},
    "timestamp junk": lambda m, junk: {**m, "timestamp": [junk]},
    "not an object": lambda m, junk: [m],
    "nested too deep": lambda m, junk: {**m, "unknown_field": _nested(junk, 100, False)},
}


@st.composite
def bad_message(draw: st.DrawFn, n: int) -> Any:
    message = draw(good_message(n))
    message["id"] = f"wamid.bad.{n}"
    if draw(st.integers(0, 9)) == 0:
        return draw(SCALARS)  # not even a message
    return _BREAKS[draw(st.sampled_from(sorted(_BREAKS)))](message, draw(NASTY))


@st.composite
def status(draw: st.DrawFn, n: int, good: bool) -> Any:
    raw: dict[str, Any] = {
        "id": f"wamid.st.{'ok' if good else 'bad'}.{n}",
        "status": draw(st.sampled_from(DELIVERY)),
        "timestamp": draw(TIMESTAMP),
        "recipient_id": draw(WA_ID),
    }
    if draw(st.booleans()):
        raw["errors"] = [{"code": 131047, "title": draw(ANY_TEXT)}]
    if good:
        return raw
    broken = draw(st.sampled_from(["no id", "no status", "timestamp a word", "status junk", "not an object"]))
    if broken == "no id":
        raw.pop("id")
    elif broken == "no status":
        raw.pop("status")
    elif broken == "timestamp a word":
        raw["timestamp"] = "x"
    elif broken == "status junk":
        raw["status"] = [draw(JUNK)]
    else:
        return draw(SCALARS)
    return raw


@st.composite
def messages_change(draw: st.DrawFn, counter: list[int]) -> dict[str, Any]:
    """A well-formed `messages` change holding good and bad messages and statuses, in any order."""

    def next_n() -> int:
        counter[0] += 1
        return counter[0]

    items = [
        draw(good_message(next_n())) if draw(st.booleans()) else draw(bad_message(next_n()))
        for _ in range(draw(st.integers(0, 4)))
    ]
    statuses = [draw(status(next_n(), draw(st.booleans()))) for _ in range(draw(st.integers(0, 3)))]
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PNID}}
    if items:
        value["messages"] = items
    if statuses:
        value["statuses"] = statuses
    senders = [m["from"] for m in items if isinstance(m, dict) and isinstance(m.get("from"), str)]
    contacts: list[Any] = [{"profile": {"name": draw(ANY_TEXT)}, "wa_id": s} for s in senders]
    if draw(st.booleans()):
        contacts.append(draw(NASTY))  # a broken contact costs only itself
    if contacts:
        value["contacts"] = contacts
    if draw(st.booleans()):
        value["errors"] = draw(st.lists(JUNK, max_size=2))
    if draw(st.booleans()):
        value["unknown_part"] = draw(NASTY)
    return {"field": "messages", "value": value}


def junk_change() -> st.SearchStrategy[Any]:
    """A change that holds no good message: another field with any value, a broken value, or junk."""
    other_value = st.dictionaries(
        st.sampled_from(
            ["event", "message_template_name", "new_category", "calls", "statuses", "metadata", "x"]
        ),
        NASTY,
        max_size=4,
    )
    return st.one_of(
        st.fixed_dictionaries(
            {"field": st.sampled_from(["account_update", "calls", "x", ""]), "value": other_value}
        ),
        st.fixed_dictionaries(
            {
                "field": st.just("messages"),
                "value": st.dictionaries(
                    st.sampled_from(["messages", "statuses", "contacts", "metadata"]), NASTY, max_size=3
                ),
            }
        ),
        st.fixed_dictionaries({"field": NASTY, "value": NASTY}),
        NASTY,
    )


@st.composite
def webhook_body(draw: st.DrawFn) -> dict[str, Any]:
    """A WhatsApp webhook body: good entries holding good and bad items, beside junk entries and changes."""
    counter = [0]
    entries: list[Any] = []
    for position in range(draw(st.integers(1, 3))):
        changes: list[Any] = []
        for _ in range(draw(st.integers(0, 3))):
            changes.append(draw(messages_change(counter)) if draw(st.booleans()) else draw(junk_change()))
        entries.append({"id": f"waba.{position}", "changes": changes})
        if draw(st.integers(0, 3)) == 0:
            entries.append(draw(st.one_of(NASTY, st.fixed_dictionaries({"changes": NASTY}))))
    body: dict[str, Any] = {"object": OBJECT, "entry": draw(st.permutations(entries))}
    if draw(st.booleans()):
        body["unknown_top"] = draw(NASTY)
    return body


def ids_in(body: Any, marker: str) -> set[str]:
    """The ids tagged `marker` (e.g. "wamid.ok.") anywhere in a well-formed change of `body`."""
    found = set()
    for entry in body["entry"]:
        if not (isinstance(entry, dict) and isinstance(entry.get("changes"), list)):
            continue
        for change in entry["changes"]:
            if not (isinstance(change, dict) and change.get("field") == "messages"):
                continue
            value = change.get("value")
            if not (isinstance(value, dict) and isinstance(value.get("metadata"), dict)):
                continue
            items = [value.get(part) for part in ("messages", "statuses")]
            for item in [item for part in items if isinstance(part, list) for item in part]:
                if (
                    isinstance(item, dict)
                    and isinstance(item.get("id"), str)
                    and item["id"].startswith(marker)
                ):
                    found.add(item["id"])
    return found
