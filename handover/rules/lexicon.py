"""The words of one rules version, and a message seen through them: synonyms, word forms, typos.

A message word meets a rules word at one of three levels: the same word (after synonyms), the same stem
in one of the rules' languages (Snowball: "pedidos"/"pedido", "returned"/"return") and the same sense
(never "comprar"/"compra": rules/senses.py), or one typo away (Damerau-Levenshtein 1, words of five letters
or more, never words with digits, never a word one of the rules' languages knows as it is).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import Stemmer
from rapidfuzz.distance import DamerauLevenshtein

from handover.rules import senses
from handover.rules.patterns import MAX_TEXT

EXACT, STEM, TYPO = 3, 2, 1
LEVEL_NAMES = {EXACT: "keyword", STEM: "word form", TYPO: "typo"}
TYPO_MIN_LENGTH = 5  # shorter words are too easy to confuse ("oi"/"os", "bom"/"boa")
STEM_MIN_LENGTH = 4  # "oi", "no", "ok" are what they are
_NON_WORD = re.compile(r"[^\w]+")  # our own pattern, Unicode-aware; RE2 is for ops' patterns
_STRETCHED = re.compile(r"(\w)\1{2,}")  # "oiii", "atendenteeee": a letter typed three times or more
# Snowball algorithms for the languages rules are written in (ISO 639-1 code -> algorithm)
STEMMERS = {
    "pt": "portuguese",
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "it": "italian",
    "de": "german",
    "nl": "dutch",
}


def normalize(text: str) -> str:
    """'Olá, CADÊ meu pedidooo?!' -> 'ola cade meu pedido'. Only the first MAX_TEXT characters count: the
    cost of matching grows with the words, and a customer's point is made by then."""
    decomposed = unicodedata.normalize("NFKD", text[:MAX_TEXT].casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    spaced: str = _NON_WORD.sub(" ", _STRETCHED.sub(r"\1", stripped))
    return spaced.replace("_", " ").strip()


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def emoji(text: str) -> set[str]:
    """The pictographs in a text (skin tones and variation selectors dropped): {'👍'} for '👍🏽!'."""
    return {c for c in text[:MAX_TEXT] if unicodedata.category(c) == "So"}


def within_one_edit(a: str, b: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped."""
    return DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1


@dataclass
class View:
    """A message as the rules see it: its words (synonyms applied) and, at each position, every rules
    word it meets with the level it meets it at."""

    words: list[str]
    meets: list[dict[str, int]] = field(default_factory=list)

    def level(self, position: int, word: str) -> int:
        return self.meets[position].get(word, 0)


class Lexicon:
    """Synonyms, stems and a typo index over every word the rules match on. Phrases register their words
    with `phrase()` while the rules compile; views are made per message."""

    def __init__(self, synonyms: Mapping[str, Iterable[str]] | None = None, languages: Iterable[str] = ()):
        self._variants: dict[tuple[str, ...], tuple[str, ...]] = {}
        for canonical, variants in (synonyms or {}).items():
            target = tuple(tokens(canonical))
            for variant in [canonical, *variants]:
                words = tuple(tokens(variant))
                if words and target:
                    self._variants[words] = target
        self._longest = max((len(v) for v in self._variants), default=0)
        # one-word spellings of each one-word canonical word: their typos and forms count for it too
        self._spellings: dict[str, set[str]] = defaultdict(set)
        for words, target in self._variants.items():
            if len(words) == 1 and len(target) == 1:
                self._spellings[target[0]].add(words[0])
        stemmed = [lang for lang in dict.fromkeys(languages) if lang in STEMMERS]
        self._stemmers = [Stemmer.Stemmer(STEMMERS[lang]) for lang in stemmed]
        self._senses = senses.Senses(stemmed)
        # words of the rules' languages: a real word is not a typo of a keyword ("sale" is not "salve")
        self._words = senses.known_in(tuple(dict.fromkeys(languages)))
        self.vocabulary: set[str] = set()
        self._by_stem: dict[str, set[tuple[str, str]]] = defaultdict(set)  # stem -> (spelling, rules word)
        self._by_deletion: dict[str, set[tuple[str, str]]] = defaultdict(set)  # -> (spelling, rules word)

    def canonical(self, words: list[str]) -> list[str]:
        """Synonyms replaced by their canonical words, longest variant first."""
        if not self._variants:
            return words
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                target = self._variants.get(tuple(words[i : i + n]))
                if target is not None:
                    out.extend(target)
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def phrase(self, text: str) -> list[str]:
        """A keyword or phrase of the rules, as words; remembered for stems and typos."""
        words = self.canonical(tokens(text))
        for word in words:
            if word in self.vocabulary:
                continue
            self.vocabulary.add(word)
            for spelling in {word, *self._spellings.get(word, ())}:
                if _can_stem(spelling):
                    for stem in self._stems(spelling):
                        self._by_stem[stem].add((spelling, word))
                if _can_have_typos(spelling):
                    for variant in _deletions(spelling):
                        self._by_deletion[variant].add((spelling, word))
        return words

    def view(self, text: str | None) -> View:
        words = self.canonical(tokens(text or ""))
        view = View(words)
        for word in words:
            meets: dict[str, int] = {}
            # a word the rules or their languages know as it is is not a typo of another ("pessoal" is
            # not "pessoa", "sale" is not "salve")
            typo_able = (
                word.isalpha()
                and len(word) >= TYPO_MIN_LENGTH - 1
                and word not in self.vocabulary
                and word not in self._words
            )
            for variant in _deletions(word) if typo_able else ():
                for spelling, known in self._by_deletion.get(variant, ()):
                    if spelling != word and within_one_edit(word, spelling):
                        meets[known] = TYPO
            if _can_stem(word):
                for stem in self._stems(word):
                    for spelling, known_word in self._by_stem.get(stem, ()):
                        if self._senses.same(word, spelling):
                            meets[known_word] = STEM
            if word in self.vocabulary:
                meets[word] = EXACT
            view.meets.append(meets)
        return view

    def _stems(self, word: str) -> set[str]:
        return {stemmer.stemWord(word) for stemmer in self._stemmers}


def _can_stem(word: str) -> bool:
    return len(word) >= STEM_MIN_LENGTH and word.isalpha()


def _can_have_typos(word: str) -> bool:
    return len(word) >= TYPO_MIN_LENGTH and word.isalpha()


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}
