"""Customer text fit to show ops: digit runs and e-mail addresses masked, so no CPF, phone, card number
or address is ever shown in stats, what-if examples or exported golden files.

    mask("meu cpf é 529.982.247-25, email ana@x.com.br") -> "meu cpf é #, email <email>"

A digit run is digits with the separators people type inside numbers ("529.982.247-25", "(11) 99999-0000",
"4111 1111 1111 1111"): one "#" each, so texts that differ only in their numbers group together.
"""

from __future__ import annotations

import re

from handover.rules.lexicon import normalize

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DIGITS = re.compile(r"\(?\d[\d\s().\-/]*\d\)?|\d")
MASKED_EMAIL = "<email>"
MASKED_DIGITS = "#"


def mask(text: str) -> str:
    """The text with every e-mail address and digit run replaced."""
    return DIGITS.sub(MASKED_DIGITS, EMAIL.sub(MASKED_EMAIL, text))


def group_key(text: str) -> str:
    """What groups texts that say the same: normalised (case, accents, punctuation, stretched letters) and
    masked. 'Meu pedido 123!!' and 'meu PEDIDO 98765' -> 'meu pedido #'."""
    masked = mask(text)
    # normalize() drops '#' and '<email>' with the punctuation: keep them as words
    words = [
        MASKED_DIGITS if part == MASKED_DIGITS else MASKED_EMAIL if part == MASKED_EMAIL else normalize(part)
        for part in re.split(r"(#|<email>)", masked)
    ]
    return " ".join(w for w in words if w)
