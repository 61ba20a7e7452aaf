"""The supervisors' search: by a number or its last digits, any word of a name or its start, a user id or an
id; conversations from before the index are filed by the first search."""

from __future__ import annotations

import fakeredis
import pytest

from handover import keys, search
from handover.conversation import Conversation
from handover.store import Store


def started(store: Store, cid: str, **fields) -> Conversation:
    conversation = Conversation(
        id=cid,
        phone_number_id="PN",
        customer_key=fields.get("wa_id") or fields["user_id"],
        created_at=1.0,
        updated_at=1.0,
        **fields,
    )
    with store.client.pipeline() as pipe:
        store.save_conversation(pipe, conversation)
        store.link_to_customer(pipe, conversation)
        pipe.execute()
    return conversation


@pytest.fixture
def store() -> Store:
    return Store(fakeredis.FakeRedis(decode_responses=True))


def test_numbers_names_user_ids_and_ids_find_their_conversations(store):
    started(store, "c1", wa_id="5511987004001", profile_name="João Pedro Souza")
    started(store, "c2", wa_id="5521998887777", profile_name="Ana Paula")
    started(store, "c3", user_id="br.ana_123", profile_name="ANA")
    find = lambda q: sorted(search.find(store.client, q))  # noqa: E731
    assert find("5511987004001") == ["c1"]
    assert find("+55 (11) 98700-4001") == ["c1"]
    assert find("4001") == ["c1"]  # the last digits, as people read a number out
    assert find("400") == []  # fewer than MIN_DIGITS of the tail is not a number's end
    assert find("joao") == find("JOÃO") == find("Sou") == ["c1"]
    assert find("ana") == ["c2", "c3"]
    assert find("ana paula") == ["c2"]
    assert find("br.ana") == ["c3"]
    assert find("c2") == ["c2"]  # an id is itself
    assert find("maria") == find("   ") == []


def test_conversations_from_before_the_index_are_filed_by_the_first_search(store):
    started(store, "old", wa_id="5511900000001", profile_name="Velho Cliente")
    store.client.delete(keys.SEARCH)  # as data written before the index existed
    assert search.find(store.client, "velho") == []
    search.ensure_built(store)
    assert search.find(store.client, "velho") == ["old"]
    assert store.client.exists(keys.SEARCH_BUILT)


@pytest.mark.parametrize(
    "fields",
    [
        {"wa_id": "5" * 3_000},  # all its tails: 4.5M characters (24k digits filed 655 MB)
        {"wa_id": "55" + "-1" * 3_000},
        {"user_id": "br." + "x" * 100_000},
        {"wa_id": "5511987004001", "profile_name": " ".join(f"w{i}" for i in range(20_000))},
        {"wa_id": "5511987004001", "profile_name": "a" * 100_000},
    ],
    ids=["digits", "dashed digits", "user id", "many words", "one long word"],
)
def test_a_conversation_is_filed_under_a_bounded_number_of_short_terms(store, fields):
    started(store, "c1", **fields)
    members = store.client.zrange(keys.SEARCH, 0, -1)
    assert 0 < len(members) <= search.MOST_TERMS
    assert sum(len(m) for m in members) <= search.MOST_TERMS * 300


def test_a_long_number_is_still_found_by_its_last_digits(store):
    started(store, "c1", wa_id="9" * 30 + "5511987004001")
    assert search.find(store.client, "4001") == ["c1"]
    assert search.find(store.client, "87004001") == ["c1"]


def test_names_in_any_script_are_found_by_their_start(store):
    started(store, "ru", wa_id="79161234567", profile_name="Алексей Йорданов")
    started(store, "gr", wa_id="306912345678", profile_name="Σωκράτης Παπαδόπουλος")
    started(store, "ar", wa_id="971501234567", profile_name="محمد علي")
    started(store, "jp", wa_id="819012345678", profile_name="山田 太郎")
    started(store, "pt", wa_id="5511987004001", profile_name="Élodie Müller")
    find = lambda q: sorted(search.find(store.client, q))  # noqa: E731
    assert find("Алекс") == find("алексей") == find("АЛЕКСЕЙ") == ["ru"]
    assert find("Йор") == ["ru"]  # Й is a letter of its own, not И with a breve
    assert find("Иор") == []
    assert find("σωκ") == find("ΣΩΚΡΆΤΗΣ") == ["gr"]
    assert find("مح") == find("علي") == ["ar"]
    assert find("山田") == find("太") == ["jp"]
    assert find("elo") == find("ÉLODIE") == find("mull") == find("Mül") == ["pt"]  # Latin: accents ignored
