"""Words that share a Snowball stem but not a meaning, per language, and the words a language knows.

Snowball cuts words to a stem by rule, and some families it joins mean different things to a customer:
"comprar" (to buy: a question before buying) and "compra"/"comprei" (a purchase made: an order to track),
"pedir" (to ask) and "pedido" (an order), "contar" (to tell) and "conta" (an account, a bill). Each set
below is one sense of its stem family; a message word meets a rules word by its form only when both are in
the same set, or both in none. Lemmatising instead would need a model per language for a handful of
families: these sets are where Snowball over-reaches, found in the corpora and `rules explain`, and
tests/unit/test_senses.py holds the pairs that must and must not meet.

`known(language)`: the everyday words of a language (words/, from wordfreq's lists: see its README). A
word a rules language knows is not a typo of a keyword: "sale" (English) is not "salve" (a Portuguese
greeting) misspelt.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

WORDS = Path(__file__).with_name("words")

SENSES: dict[str, tuple[frozenset[str], ...]] = {
    "pt": (
        # to buy, before buying ("quero comprar um celular") ≠ a purchase made (compra, comprei, comprado)
        frozenset({"comprar", "compro", "comprando", "compraria", "comprarei", "compramos"}),
        # to ask ("vou pedir uma opinião") ≠ an order (pedido, pedidos; "pedi" is "I ordered" as often)
        frozenset({"pedir", "peco", "pedindo", "pede", "pedem", "pediria", "pedimos"}),
        # to tell ≠ an account or a bill (conta, contas)
        frozenset({"contar", "conto", "contando", "contou", "contei"}),
        # to notice ≠ a note, the invoice (nota, notas)
        frozenset({"notar", "noto", "notei", "notou", "notando"}),
        # change given back in cash ≠ an exchange (troca, trocar)
        frozenset({"troco", "trocos"}),
        # people ≠ what they do: an employee ≠ "funciona" (works), a consultant ≠ "consultar" (to look up)
        frozenset({"funcionario", "funcionaria", "funcionarios", "funcionarias"}),
        frozenset({"consultor", "consultora", "consultores", "consultoras"}),
        frozenset({"colaborador", "colaboradora", "colaboradores"}),
    ),
    "en": (
        # to order something new ≠ an order placed (order, orders, ordered)
        frozenset({"ordering"}),
    ),
}


class Senses:
    """The sense sets of some languages: `same(a, b)` when two words of one stem family mean alike."""

    def __init__(self, languages: Iterable[str]) -> None:
        self._of: dict[str, frozenset[str]] = {}  # word -> its sense set
        for language in languages:
            for words in SENSES.get(language, ()):
                self._of.update(dict.fromkeys(words, words))

    def same(self, a: str, b: str) -> bool:
        return self._of.get(a) is self._of.get(b)


@cache
def known(language: str) -> frozenset[str]:
    """The words of four letters or more a language uses every day (folded: no accents, lower case);
    empty for a language without a list."""
    path = WORDS / f"{language}.txt"
    if not path.exists():
        return frozenset()
    return frozenset(path.read_text(encoding="utf-8").split())


@cache
def known_in(languages: tuple[str, ...]) -> frozenset[str]:
    """The words any of `languages` knows (made once per set of languages)."""
    return frozenset().union(*(known(language) for language in languages))
