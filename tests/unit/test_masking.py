"""What ops see of customer text: no CPF, phone, card number or e-mail address, and texts that differ only
in those grouped together."""

import re

import pytest

from handover.masking import group_key, mask


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "meu cpf é 529.982.247-25, se não resolver vou no procon",
            "meu cpf é #, se não resolver vou no procon",
        ),
        ("cpf 52998224725", "cpf #"),
        ("me liga no (11) 99999-0000 por favor", "me liga no # por favor"),
        ("+55 11 98765-4321", "+#"),
        ("cartão 4111 1111 1111 1111 recusado", "cartão # recusado"),
        ("cartão 4111-1111-1111-1111", "cartão #"),
        ("nasci em 12/03/1990", "nasci em #"),
        ("escreve pra ana.b+loja@mail.com.br", "escreve pra <email>"),
        ("sem números aqui", "sem números aqui"),
    ],
)
def test_masks_numbers_and_addresses(text: str, masked: str) -> None:
    assert mask(text) == masked
    assert not re.search(r"\d", mask(text))
    assert "@" not in mask(text)


def test_texts_that_differ_only_in_numbers_and_form_group_together() -> None:
    assert group_key("Meu pedido 123!!") == group_key("meu PEDIDO 98765") == "meu pedido #"
    assert group_key("Cadê meu pedidoooo?") == group_key("cade meu pedido") == "cade meu pedido"
    assert group_key("fala com ana@x.com") == group_key("fala com bia@y.org") == "fala com <email>"


def test_texts_that_say_different_things_stay_apart() -> None:
    assert group_key("quero cancelar") != group_key("quero trocar")
