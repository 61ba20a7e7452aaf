"""Issue 33 item 3: a hook's URL never reaches inside the deployment (SSRF) unless ops allow it."""

from __future__ import annotations

import pytest

from handover.hooks.safety import UnsafeUrl, allowed, check_url, refused_address


def resolving(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "addresses", "why"),
    [
        ("http://crm.example.com/hook", ["93.184.216.34"], "only https"),
        ("https://localhost/hook", ["127.0.0.1"], "127.0.0.1, a private, loopback"),
        ("https://10.0.0.8/hook", ["10.0.0.8"], "private"),
        ("https://metadata.internal/", ["169.254.169.254"], "169.254.169.254"),
        ("https://v6.example.com/", ["::1"], "::1"),
        ("https://mapped.example.com/", ["::ffff:127.0.0.1"], "127.0.0.1"),
        ("https://mixed.example.com/", ["93.184.216.34", "192.168.1.9"], "192.168.1.9"),
        ("https://user:pw@crm.example.com/", ["93.184.216.34"], "no user or password"),
        ("ftp://crm.example.com/", ["93.184.216.34"], "not a web address"),
        ("crm.example.com/hook", ["93.184.216.34"], "not a web address"),
    ],
)
def test_urls_that_could_reach_inside_are_refused_saying_why(url, addresses, why):
    with pytest.raises(UnsafeUrl, match=why):
        check_url(url, resolve=resolving(*addresses))


def test_a_public_https_url_is_taken_as_it_will_be_called():
    assert check_url("https://crm.example.com/hooks/x?a=1", resolve=resolving("93.184.216.34")) == (
        "https://crm.example.com/hooks/x?a=1"
    )


def test_the_allow_list_opens_http_and_private_addresses_by_name_or_network():
    assert check_url("http://receiver.internal:9000/in", ["receiver.internal"], resolving("10.1.2.3"))
    assert check_url("http://127.0.0.1:8081/in", ["127.0.0.0/8"], resolving("127.0.0.1"))
    with pytest.raises(UnsafeUrl):
        check_url("http://other.internal/in", ["receiver.internal"], resolving("10.1.2.3"))
    assert allowed("[::1]", ["::1/128"])
    assert not allowed("10.0.0.1", ["not a network"])


def test_an_address_is_judged_on_every_connection():
    assert refused_address("93.184.216.34", "crm.example.com", []) is None
    assert "loopback" in (refused_address("127.0.0.1", "crm.example.com", []) or "")
    assert refused_address("127.0.0.1", "crm.example.com", ["crm.example.com"]) is None


def test_a_name_that_does_not_resolve_is_refused():
    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeUrl, match="does not resolve"):
        check_url("https://nowhere.example/", resolve=fails)
