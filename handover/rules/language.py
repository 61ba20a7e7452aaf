"""Which of the rules' languages a message is written in, from the everyday words it uses.


Evidence must be clear: two words of one language more than of any other, or at least half the words of
a short message ("hello", "obrigado"). One ambiguous word never flips a conversation: "vou no procon"
stays Portuguese. Words spelled the same in two of the languages ("no", "a", "me", "do", "pedido") are in
neither list.
"""

from __future__ import annotations

from handover.rules.lexicon import tokens


def word_set(text: str) -> frozenset[str]:
    """A set of words written as one string (lists of everyday words, here and in rules/scope.py)."""
    return frozenset(text.split())


HINTS: dict[str, frozenset[str]] = {
    "pt": word_set(
        """oi ola bom boa dia tarde noite voce vc voces vcs nao sim meu minha meus minhas quero queria
        preciso gostaria obrigado obrigada obg vlw valeu pfv pf cade estou tudo que pq porque pra pro
        uma um da dos das na nos nas em ao com sem mas mais muito ja ainda aqui isso esse essa ela eles
        eu seu sua ate quando onde qual quanto falar fazer tem ter foi vai vou sou ser agora hoje ontem
        amanha alguem ninguem entrega boleto troca trocar devolver atendente pessoa chegou chega recebi
        comprei compra nota fiscal segunda via reembolso estorno cancelar atendimento tambem ai blz
        beleza entao certo tipo ne gente cara qro qr tb tbm td kd mim"""
    ),
    "en": word_set(
        """hi hii hello hey good morning afternoon evening night my i want need the is are was were been
        please pls thanks thank thx you where wheres talk to agent person someone somebody anyone human
        yes can could would should will help with delivery delivered invoice refund return order orders
        package parcel arrived hasnt havent didnt dont doesnt wont cant im ive ill id what when why how
        who which it its this that these those your our their they he she we get got just still cancel
        account money back speak representative customer service real bot of for and but not have has
        had be any there about after before from into over again never ever some every all tell write
        send resend copy bill tracking number status updated week day days last yet late broken wrong
        item exchange operator support chat live"""
    ),
    "es": word_set(
        """hola buenos buenas dias tardes noches usted ustedes gracias quiero necesito mi mis el los las
        y es estoy donde cuando hablar ayuda senor senora bien tengo puedo hay pero muy tambien ahora
        hoy ayer manana llego envio alguien quiere vale claro porque cual"""
    ),
}


def guess_language(text: str | None, languages: list[str]) -> str | None:
    """The language a message is clearly in, among the rules' languages; None when the words don't say."""
    words = tokens(text or "")
    if not words:
        return None
    scores = {lang: sum(word in HINTS.get(lang, frozenset()) for word in words) for lang in languages}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, count = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    clear = count - runner_up >= 2 or (count > runner_up and 2 * count >= len(words))
    return best if clear else None
