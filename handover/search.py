"""Finding a conversation by what a supervisor knows: a phone number (whole, or its last digits), a name (any
word of it, or its start), a user id, or the conversation id. One lexicographic index (a sorted set of
`term NUL conversation_id`, all at score 0) filled when a conversation starts; a search is a range read of
the terms starting with what was typed."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import TYPE_CHECKING

import redis
from redis.client import Pipeline

from handover import keys
from handover.conversation import Conversation
from handover.message import PROFILE_NAME_MAX

if TYPE_CHECKING:  # the store files each new conversation through `index`
    from handover.store import Store

SEP = "\x00"
MIN_DIGITS = 4  # a number is found by its last digits from this many on ("4001" finds +55 11 98700-4001)
MOST = 200  # ids read per term: a search shows the newest of them
DIGITS_FILED = 20  # a number's last digits filed: every tail of 24k digits filed 655 MB (E.164 has 15)
WORDS_FILED = 32  # words of a name filed, each cut like the name to PROFILE_NAME_MAX characters
MOST_TERMS = DIGITS_FILED - MIN_DIGITS + 1 + 1 + WORDS_FILED + 1  # tails, user id, words, whole name
REMEMBERED = "search_terms"  # the conversation hash field holding the terms it was filed under
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """'Joã-O' -> 'joa-o': case does not matter, nor accents on Latin letters; other scripts keep their
    marks (Й is not И, ά is ά), composed, so that a name typed in any script finds its start."""
    kept, latin = [], False
    for c in unicodedata.normalize("NFKD", text.casefold()):
        if not unicodedata.combining(c):
            latin = unicodedata.name(c, "").startswith("LATIN")
        elif latin:
            continue
        kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept))


def _starting(start: str) -> tuple[bytes, bytes]:
    """The lexicographic range of the members starting with `start`: Redis compares bytes, and a letter
    past U+00FF (Cyrillic, Greek, Arabic, CJK) is UTF-8 bytes above that of "\xff", so the bound is the
    byte 0xFF, never the character."""
    prefix = start.encode()
    return b"[" + prefix, b"[" + prefix + b"\xff"


def terms(conversation: Conversation) -> set[str]:
    """What finds this conversation: every tail of its customer's number (from MIN_DIGITS digits), their
    user id, each word of their name, and the whole name."""
    return terms_of(conversation.wa_id, conversation.user_id, conversation.profile_name)


def terms_of(wa_id: str | None, user_id: str | None, profile_name: str | None) -> set[str]:
    """`terms` of a customer's number, user id and name."""
    found: set[str] = set()  # at most MOST_TERMS, however long what the customer sent
    if wa_id:
        digits = "".join(c for c in wa_id[-4 * DIGITS_FILED :] if c.isdigit())[-DIGITS_FILED:]
        found |= {digits[i:] for i in range(0, max(len(digits) - MIN_DIGITS + 1, 1))}
    if user_id:
        found.add(fold(user_id[:PROFILE_NAME_MAX]))
    if profile_name:
        words = _WORD.findall(fold(profile_name[:PROFILE_NAME_MAX]))[:WORDS_FILED]
        found |= set(words)
        found.add(" ".join(words))
    return {t for t in found if t}


def index(pipe: Pipeline, conversation: Conversation, remember: bool = True) -> None:
    """File a conversation under its terms, on the caller's transaction. `remember`: also keep the terms in
    its hash (REMEMBERED), so retention removes exactly these members even after the customer's name or
    number changed in the conversation (it is filed once, as it started)."""
    found = sorted(terms(conversation))
    if found:
        pipe.zadd(keys.SEARCH, {f"{term}{SEP}{conversation.id}": 0 for term in found})
        if remember:
            pipe.hset(keys.conversation_key(conversation.id), REMEMBERED, json.dumps(found))


def members_of(
    conversation_id: str,
    remembered: str | None,
    wa_id: str | None,
    user_id: str | None,
    profile_name: str | None,
) -> list[str]:
    """Every index member that may point at a conversation: those of the terms remembered when it was
    filed (a JSON list, None for conversations older than that field), and those of its number, user id
    and name as stored now (what `rebuild` files)."""
    found = set(json.loads(remembered)) if remembered else set()
    found |= terms_of(wa_id, user_id, profile_name)
    return sorted(f"{term}{SEP}{conversation_id}" for term in found)


def find(client: redis.Redis, query: str) -> list[str]:
    """Conversation ids whose terms start with what was typed (a conversation id matches itself); the
    caller loads and orders them. Digits typed with +, spaces or dashes count as the digits."""
    typed = fold(query.strip())
    if not typed:
        return []
    digits = re.sub(r"[\s+\-().]", "", typed)
    if digits.isdigit() and len(digits) < MIN_DIGITS:
        wanted = ""  # "40" would find half the customers
    else:
        wanted = digits if digits.isdigit() else " ".join(_WORD.findall(typed))
    found = []
    for start in dict.fromkeys([wanted, typed]):  # words of a name; a user id as typed ("br.ana")
        if start and (start == wanted or not digits.isdigit()):
            found += client.zrangebylex(keys.SEARCH, *_starting(start), 0, MOST)
    exact = [query.strip()] if client.exists(keys.conversation_key(query.strip())) else []
    return list(dict.fromkeys([*exact, *(keys.as_text(m).rsplit(SEP, 1)[1] for m in found)]))


def ensure_built(store: Store) -> None:
    """Conversations started before the index existed are filed by the first search after an upgrade."""
    if not store.client.exists(keys.SEARCH_BUILT):
        rebuild(store)


def rebuild(store: Store, batch: int = 1000) -> int:
    """File every conversation of the index of started ones (data from before the search index existed);
    how many were filed. Idempotent: members are a set."""
    client = store.client
    ids = [keys.as_text(c) for c in client.zrange(keys.CONVERSATIONS, 0, -1)]
    for start in range(0, len(ids), batch):
        with client.pipeline(transaction=False) as pipe:
            for conversation in store.conversations(ids[start : start + batch]):
                if conversation is not None:  # filed as it is now: retention finds these from its hash
                    index(pipe, conversation, remember=False)
            pipe.execute()
    client.set(keys.SEARCH_BUILT, "1")
    return len(ids)
