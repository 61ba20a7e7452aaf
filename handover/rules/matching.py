"""Text matching as customers write: no case, no accents, no punctuation, and one typo forgiven."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from handover.rules import patterns
from handover.rules.model import Match
from handover.rules.patterns import MAX_TEXT

TYPO_MIN_LENGTH = 5  # shorter words are too easy to confuse ("oi"/"os", "bom"/"boa")
_NON_WORD = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """'Olá, CADÊ meu pedido?!' -> 'ola cade meu pedido'. Only the first MAX_TEXT characters count: the
    cost of matching grows with the words, and a customer's point is made by then."""
    decomposed = unicodedata.normalize("NFKD", text[:MAX_TEXT].casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", stripped).replace("_", " ").strip()


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of at most 1: one letter added, dropped, changed or two swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        if len(diffs) != 2 or diffs[1] != diffs[0] + 1:
            return False
        i, j = diffs
        return a[i] == b[j] and a[j] == b[i]  # two neighbours swapped
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@dataclass(frozen=True)
class Hit:
    """Why something matched, for the decision record: 'keyword "pedido"', 'typo "pedio"~"pedido"'..."""

    how: str


class Phrase:
    """A keyword or phrase, matched as whole words in order (so 'oi' never matches inside 'boi')."""

    def __init__(self, text: str, typos: bool) -> None:
        self.text = text
        self.words = tokens(text)
        self.typos = typos

    def find(self, words: list[str]) -> Hit | None:
        n = len(self.words)
        if n == 0:
            return None
        for start in range(len(words) - n + 1):
            window = words[start : start + n]
            if window == self.words:
                return Hit(f'keyword "{self.text}"')
            if self.typos and all(
                w == k or (len(k) >= TYPO_MIN_LENGTH and within_one_edit(w, k))
                for w, k in zip(window, self.words, strict=True)
            ):
                return Hit(f'typo "{" ".join(window)}"~"{self.text}"')
        return None


class Matcher:
    """One intent's `match`, compiled once when the rules load."""

    def __init__(self, spec: Match) -> None:
        self.any = [Phrase(p, spec.typos) for p in spec.any]
        self.all = [Phrase(p, spec.typos) for p in spec.all]
        self.regex = [patterns.pattern(p) for p in spec.regex]
        self.buttons = set(spec.buttons)

    def match(self, text: str | None, reply_id: str | None) -> Hit | None:
        if reply_id is not None and reply_id in self.buttons:
            return Hit(f'button "{reply_id}"')
        if not text:
            return None
        words = tokens(text)
        # exact hits first, so a typo of one keyword never hides the exact hit of another
        for phrase in self.any:
            if _exact(phrase, words):
                return Hit(f'keyword "{phrase.text}"')
        for phrase in self.any:
            hit = phrase.find(words)
            if hit is not None:
                return hit
        if self.all and all(p.find(words) for p in self.all):
            return Hit("all of " + ", ".join(f'"{p.text}"' for p in self.all))
        flat = " ".join(words)
        typed = text[:MAX_TEXT]
        for pattern in self.regex:
            if pattern.search(typed) or pattern.search(flat):
                return Hit(f"regex /{pattern.source}/")
        return None


def _exact(phrase: Phrase, words: list[str]) -> bool:
    n = len(phrase.words)
    return n > 0 and any(words[i : i + n] == phrase.words for i in range(len(words) - n + 1))


_LANGUAGE_HINTS = {
    "pt": {
        "oi",
        "ola",
        "bom",
        "boa",
        "dia",
        "tarde",
        "noite",
        "voce",
        "nao",
        "meu",
        "minha",
        "pedido",
        "quero",
        "obrigado",
        "obrigada",
        "por",
        "favor",
        "cade",
        "preciso",
        "falar",
        "com",
        "atendente",
        "sim",
        "tudo",
        "como",
        "que",
        "para",
        "uma",
        "um",
        "esta",
        "estou",
        "entrega",
        "boleto",
        "troca",
    },
    "en": {
        "hi",
        "hello",
        "hey",
        "good",
        "morning",
        "my",
        "order",
        "i",
        "want",
        "need",
        "the",
        "is",
        "please",
        "thanks",
        "thank",
        "you",
        "where",
        "talk",
        "to",
        "agent",
        "person",
        "yes",
        "no",
        "can",
        "help",
        "with",
        "delivery",
        "invoice",
        "refund",
        "return",
    },
}


def guess_language(text: str | None, languages: list[str]) -> str | None:
    """The language a message is most likely in, among the rules' languages; None when unsure."""
    words = set(tokens(text or ""))
    scores = {lang: len(words & _LANGUAGE_HINTS.get(lang, set())) for lang in languages}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]
