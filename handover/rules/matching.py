"""Which intent a message is about: every intent scored, the best one wins (ties go to file order).

A hit's score: a tapped button's id beats everything; then the longer the phrase the more specific, and
within a length an exact word beats a word form, which beats a typo. An intent met more than once (two of
its keywords, or one twice: at different places of the message) gains a little for each further place, so
the topic a message keeps coming back to wins over a phrase said in passing. `all` sums its phrases; a
regex counts as a two-word phrase. Weak intents (small talk) are ranked by the caller after every other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from handover.rules import patterns
from handover.rules.lexicon import EXACT, LEVEL_NAMES, TYPO, Lexicon, View, emoji, normalize, tokens
from handover.rules.model import Match
from handover.rules.patterns import MAX_TEXT

__all__ = ["Hit", "IntentIndex", "Matcher", "Phrase", "emoji", "normalize", "tokens"]

BUTTON_SCORE = 1000
PHRASE_SCORE = 10  # a phrase met; the level (3 exact, 2 word form, 1 typo) is added to it
WORD_SCORE = 4  # for each further word of the phrase
REPEAT_SCORE = 3  # for each further hit on the same intent, up to MAX_REPEATS
MAX_REPEATS = 3
REGEX_SCORE = PHRASE_SCORE + WORD_SCORE + EXACT


@dataclass(frozen=True)
class Hit:
    """Why something matched, for the decision record: 'keyword "pedido"', 'typo "pedio"~"pedido"'..."""

    how: str
    score: int = 0
    matched: tuple[str, ...] = ()  # the rules' words, phrases, buttons or patterns that met the message


# Words that, shortly before an escalation keyword, say the customer is not doing it: "não quero cancelar,
# só saber do pedido", "I don't want to cancel". Four words back at most ("não vou no procon" too).
NEGATIONS = frozenset({"nao", "n", "nem", "not", "dont", "don", "never", "wont", "didnt", "doesnt"})
NEGATION_REACH = 4
CONDITIONS = frozenset({"se", "caso", "if", "unless"})  # "se não trocarem, vou processar" is a threat


def negated(words: list[str], start: int) -> bool:
    """Whether a negation (not a condition's: "se não") comes within NEGATION_REACH words before `start`."""
    for at in range(max(0, start - NEGATION_REACH), start):
        if words[at] in NEGATIONS and (at == 0 or words[at - 1] not in CONDITIONS):
            return True
    return False


class Phrase:
    """A keyword or phrase, matched as whole words in order (so 'oi' never matches inside 'boi').
    `negatable`: not met where a negation comes just before it (escalation keywords)."""

    def __init__(self, text: str, lexicon: Lexicon, typos: bool = True, negatable: bool = False) -> None:
        self.text = text
        self.words = lexicon.phrase(text)
        self.typos = typos
        self.negatable = negatable and not NEGATIONS & set(self.words[:1])

    def at(self, view: View, start: int) -> int:
        """The level the phrase meets the message at from `start` (the weakest of its words), 0 if not."""
        if start + len(self.words) > len(view.words):
            return 0
        level = EXACT
        for offset, word in enumerate(self.words):
            met = view.level(start + offset, word)
            if met == 0 or (met == TYPO and not self.typos):
                return 0
            level = min(level, met)
        return level

    def score(self, level: int) -> int:
        return PHRASE_SCORE + WORD_SCORE * (len(self.words) - 1) + level

    def hit(self, view: View, start: int, level: int) -> Hit:
        score = self.score(level)
        if level == EXACT:
            return Hit(f'keyword "{self.text}"', score, (self.text,))
        seen = " ".join(view.words[start : start + len(self.words)])
        return Hit(f'{LEVEL_NAMES[level]} "{seen}"~"{self.text}"', score, (self.text,))

    def find(self, view: View) -> Hit | None:
        best: Hit | None = None
        for start in range(len(view.words) - len(self.words) + 1 if self.words else 0):
            if self.words[0] not in view.meets[start]:  # the common case, without a call (what-if runs
                continue  # every escalation keyword over every turn of thousands of conversations)
            if self.negatable and negated(view.words, start):
                continue
            level = self.at(view, start)
            if level and (best is None or self.score(level) > best.score):
                best = self.hit(view, start, level)
        return best


class IntentIndex:
    """Every intent's `match`, compiled once per rules version and indexed by first word, so a message
    costs what its own words meet, not what the rules hold."""

    def __init__(self, matches: list[Match], lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.size = len(matches)
        self.buttons: dict[str, list[int]] = defaultdict(list)
        self.starting: dict[str, list[tuple[int, Phrase, bool]]] = defaultdict(
            list
        )  # (intent, phrase, in all)
        self.alls: dict[int, list[Phrase]] = {}
        self.regexes: dict[int, list[patterns.Pattern]] = {}
        for index, spec in enumerate(matches):
            for button in spec.buttons:
                self.buttons[button].append(index)
            for text in spec.any:
                self._add(index, Phrase(text, lexicon, spec.typos), in_all=False)
            if spec.all:
                self.alls[index] = [Phrase(text, lexicon, spec.typos) for text in spec.all]
                for phrase in self.alls[index]:
                    self._add(index, phrase, in_all=True)
            if spec.regex:
                self.regexes[index] = [patterns.pattern(p) for p in spec.regex]

    def _add(self, index: int, phrase: Phrase, in_all: bool) -> None:
        if phrase.words:
            self.starting[phrase.words[0]].append((index, phrase, in_all))

    def ranked(
        self, text: str | None, reply_id: str | None = None, view: View | None = None
    ) -> list[tuple[int, Hit]]:
        """(intent index, its best hit) for every intent that matches, best first, ties in file order."""
        best: dict[int, Hit] = {}
        where: dict[int, set[int]] = defaultdict(set)  # the message positions each intent was met at
        met: dict[int, dict[str, None]] = defaultdict(dict)  # what met the message, in order, once each

        def offer(index: int, hit: Hit, position: int = -1) -> None:
            where[index].add(position)
            met[index].update(dict.fromkeys(hit.matched))
            if index not in best or hit.score > best[index].score:
                best[index] = hit

        for index in self.buttons.get(reply_id or "", []):
            offer(index, Hit(f'button "{reply_id}"', BUTTON_SCORE, (reply_id or "",)))
        view = view or self.lexicon.view(text)  # the caller's, when it has the message's view already
        found_in_all: dict[int, dict[int, Hit]] = defaultdict(dict)
        for start, meets in enumerate(view.meets):
            for word in meets:
                for index, phrase, in_all in self.starting.get(word, ()):
                    level = phrase.at(view, start)
                    if not level:
                        continue
                    hit = phrase.hit(view, start, level)
                    if in_all:
                        previous = found_in_all[index].get(id(phrase))
                        if previous is None or hit.score > previous.score:
                            found_in_all[index][id(phrase)] = hit
                    else:
                        offer(index, hit, start)
        for index, phrases in self.alls.items():
            found = found_in_all.get(index, {})
            if len(found) == len(phrases):
                names = ", ".join(f'"{p.text}"' for p in phrases)
                score = sum(h.score for h in found.values())
                offer(index, Hit(f"all of {names}", score, tuple(p.text for p in phrases)))
        if text and self.regexes:
            typed, flat = text[:MAX_TEXT], normalize(text)
            for index, compiled in self.regexes.items():
                for pattern in compiled:
                    if pattern.search(typed) or pattern.search(flat):
                        offer(index, Hit(f"regex /{pattern.source}/", REGEX_SCORE, (pattern.source,)))
                        break
        scored = {
            index: Hit(
                hit.how,
                hit.score + REPEAT_SCORE * min(len(where[index]) - 1, MAX_REPEATS),
                tuple(met[index]),
            )
            for index, hit in best.items()
        }
        return sorted(scored.items(), key=lambda item: (-item[1].score, item[0]))


class Matcher:
    """One `match` on its own (tests, tools): the same engine as the bot's, over a lexicon of its own."""

    def __init__(self, spec: Match, lexicon: Lexicon | None = None) -> None:
        self.index = IntentIndex([spec], lexicon or Lexicon(languages=["pt", "en"]))

    def match(self, text: str | None, reply_id: str | None) -> Hit | None:
        ranked = self.index.ranked(text, reply_id)
        return ranked[0][1] if ranked else None
