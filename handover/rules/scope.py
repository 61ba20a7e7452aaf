"""When a message is out of the rules' scope although one of its words matched (issue 30): a pre-sale
question that says "compra" once, a job application that mentions the store. The winning intent rests on
one word met once (no phrase, button or pattern, not said twice), the message has `words` content words or
more besides it, and the rules know less than `known_share` of them: the bot says it did not understand
(messages.out_of_scope, else messages.unrecognized) instead of starting a flow on a guess.

Content words are words of four letters or more that are not everyday function words (below); a word the
rules know is one that meets any rules word, at any level (intents, escalation keywords, acknowledgements).
"""

from __future__ import annotations

from dataclasses import dataclass

from handover.rules.language import word_set
from handover.rules.lexicon import EXACT, View
from handover.rules.matching import PHRASE_SCORE, Hit
from handover.rules.model import OutOfScope

ONE_WORD_SCORE = PHRASE_SCORE + EXACT  # a one-word keyword met once, at its best level


# Words of four letters or more that say nothing of a topic (shorter words never count).
FUNCTION_WORDS = word_set(
    """para como mais voce voces muito muita muitos muitas isso isto tambem quando esta este esse essa
    pelo pela pelos pelas sobre mesmo mesma pode posso podem podia tudo todo toda todos todas ainda aqui
    agora entao porque pois qual quais quem onde tenho temos tinha estou estava estao estamos seja sera
    seria fazer feito assim depois antes sempre nunca apenas algum alguma alguns algumas alguem nada cada
    qualquer quero queria gostaria preciso precisa favor tipo coisa coisas gente cara sabe saber acho
    dizer hoje ontem amanha meus minha minhas nosso nossa dele dela deles delas seus suas vamos estar
    ficar fica ficou outro outra outros outras pouco menos aquele aquela desse dessa deste desta nesse
    nessa neste nesta numa quanto porem kkkk voceis vcs tbm
    that with this have from your they will just like about what when more were their there which been
    would some also them other than only after into know make over think then could back these want
    because well most much very where even should here need really right being going before made still
    many never those down through while such something same every come around between always does
    things thing give again each without must sure ever might please someone away doing having done
    however anything nothing today enough everything once tell told would could should shall"""
)


@dataclass(frozen=True)
class Scope:
    """How much of a message the rules know: `known` of its `words` content words (the matched one aside),
    and the one hit the winning intent rested on."""

    known: int
    words: int
    hit: Hit

    def describe(self, intent: str, settings: OutOfScope) -> str:
        return (
            f"out of scope: {intent} rests on {self.hit.how} alone, and the rules know {self.known} of "
            f"the {self.words} other words (below {settings.known_share:g}, with {settings.words} or more)"
        )


def out_of_scope(view: View, hit: Hit, settings: OutOfScope) -> Scope | None:
    """The message's scope when it is out of the rules' (see the module), None when it is in."""
    if hit.score > ONE_WORD_SCORE or settings.words == 0:
        return None
    content = [i for i, word in enumerate(view.words) if _is_content(word)]
    known = [i for i in content if view.meets[i]]
    scope = Scope(known=max(len(known) - 1, 0), words=len(content) - (1 if known else 0), hit=hit)
    if scope.words < settings.words or scope.known >= settings.known_share * scope.words:
        return None
    return scope


def _is_content(word: str) -> bool:
    return len(word) >= 4 and word.isalpha() and word not in FUNCTION_WORDS
