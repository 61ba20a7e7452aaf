"""normalize() on what WhatsApp says of a customer rather than what they write: a number or user id
changed (the customer as they were and as they are now), and echoes of messages the business sent from
its WhatsApp Business app (filed under the customer they went to). Recorded bodies: tests/data/webhooks
and pywa's."""

from __future__ import annotations

from tests.unit.test_normalize import ANA, MARCOS, only_message


def test_a_number_change_says_who_the_customer_was_and_who_they_are_now():
    message = only_message("ours/changes/number_changed")
    assert message.changed_from is not None and not message.echo
    assert (message.changed_from.wa_id, message.changed_from.user_id, message.changed_from.key) == (
        "5511987654321",
        ANA,
        ANA,
    )
    assert message.changed_from.parent_user_id == "BR.ENT.5502918374650012"
    assert (message.customer.wa_id, message.customer.user_id, message.customer.parent_user_id) == (
        "5521998877665",
        "BR.6610293847561120",
        "BR.ENT.7720394856612231",
    )


def test_a_user_id_change_keeps_no_number_and_names_the_previous_id():
    message = only_message("ours/changes/user_id_changed")
    assert message.changed_from is not None
    assert (message.changed_from.key, message.customer.key) == (MARCOS, "BR.5530172648893301")
    assert message.customer.wa_id is None


def test_pywas_number_change_without_user_ids_moves_from_number_to_number():
    message = only_message("pywa/system/phone_number_change")
    assert message.changed_from is not None
    assert (message.changed_from.key, message.customer.key) == ("972987654321", "972912345678")


def test_other_system_messages_change_nobody():
    message = only_message("pywa/system/identity_change")
    assert message.changed_from is None and message.customer.key == "972987654321"


def test_an_echo_is_marked_and_filed_under_the_customer_it_was_sent_to():
    message = only_message("ours/changes/echo_text")
    assert message.echo and message.changed_from is None
    assert (message.customer.wa_id, message.customer.user_id) == ("5511987654321", ANA)
    assert message.customer.profile_name == "Ana Souza"


def test_an_echo_whose_to_is_our_own_number_is_filed_under_from():
    message = only_message("pywa/outgoing_message/delete")
    assert message.echo and message.customer.wa_id == "972987654321"
