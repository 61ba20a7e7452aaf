"""normalize(): statuses, and the webhook changes we keep as events without acting on them."""

from __future__ import annotations

import pytest

from handover.message import DeliveryStatus
from tests.unit.test_normalize import ALL, BIA, LOJA
from webhooks.normalize import normalize

# scenario -> (status, recipient, error codes)
STATUSES = {
    "ours/statuses/failed_outside_window": (DeliveryStatus.FAILED, "5511987654321", [131047]),
    "ours/statuses/username_recipient": (DeliveryStatus.DELIVERED, BIA, []),
    "pywa/message_status/sent": (DeliveryStatus.SENT, "972987654321", []),
    "pywa/message_status/delivered": (DeliveryStatus.DELIVERED, "972987654321", []),
    "pywa/message_status/read": (DeliveryStatus.READ, "972987654321", []),
    "pywa/message_status/played": (DeliveryStatus.PLAYED, "972987654321", []),
    "pywa/message_status/failed": (DeliveryStatus.FAILED, "972987654321", [130472]),
    "pywa/message_status/with_tracker": (DeliveryStatus.SENT, "972987654321", []),
    "pywa/message_status/group": (DeliveryStatus.READ, "fowefinoewcnw", []),  # the group, not the participant
}


@pytest.mark.parametrize("name", sorted(STATUSES))
def test_status_reads_as_expected(name):
    [update] = normalize(ALL[name]).statuses
    assert (update.status, update.recipient_id, [e["code"] for e in update.errors]) == STATUSES[name]


def test_a_failed_status_keeps_the_whole_error():
    [update] = normalize(ALL["ours/statuses/failed_outside_window"]).statuses
    assert update.timestamp == 1776160300 and update.phone_number_id == LOJA
    assert update.errors[0]["title"] == "Re-engagement message"
    assert "24 hours" in update.errors[0]["error_data"]["details"]


# scenario -> (field, summary, phone_number_id)
OTHERS = {
    "pywa/template_status_update/approved": (
        "message_template_status_update",
        "template order_confirmation APPROVED",
        None,
    ),
    "pywa/template_status_update/rejected": (
        "message_template_status_update",
        "template abandoned_cart REJECTED",
        None,
    ),
    "pywa/template_category_update/marketing": (
        "template_category_update",
        "template my_message_template category MARKETING",
        None,
    ),
    "pywa/template_quality_update/yellow": (
        "message_template_quality_update",
        "template welcome_template quality YELLOW",
        None,
    ),
    "pywa/template_components_update/element": (
        "message_template_components_update",
        "template my_message_template updated",
        None,
    ),
    "pywa/account_update/account_deleted": ("account_update", "ACCOUNT_DELETED", None),
    "pywa/account_update/partner_removed_wa_app_disconnection": ("account_update", "PARTNER_REMOVED", None),
    "pywa/call_connect/user_initiated": ("calls", "calls connect", "743897493242"),
    "pywa/call_terminate/call_terminate": ("calls", "calls terminate", "37489742"),
    "pywa/call_status/call_status": ("calls", "statuses RINGING", "5483758353"),  # a call's status: not ours
    # coexistence echoes (smb_message_echoes) are messages now: test_normalize.py
    "pywa/user_marketing_preferences/resume": (
        "user_preferences",
        "user_preferences resume",
        "106540352242922",
    ),
    "pywa/message/interactive_message_with_err": ("errors", "131000 Something went wrong", "1122334455667"),
}


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_changes_we_do_not_act_on_are_kept_as_events(name):
    body = ALL[name]
    [event] = normalize(body).others
    assert (event.field, event.summary, event.phone_number_id) == OTHERS[name]
    if event.field != "errors":
        assert event.value == body["entry"][0]["changes"][0]["value"]  # kept as received
