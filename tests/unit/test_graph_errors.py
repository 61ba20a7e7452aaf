"""Graph API errors typed by Meta's code first, then the HTTP status: retryable or not, readable, picklable
(rq keeps them), every code in one class."""

from __future__ import annotations

import pickle

import pytest

from graph.errors import (
    CODED,
    AuthError,
    GraphError,
    GraphTimeout,
    GraphUnreachable,
    InvalidParameter,
    NotAWhatsAppUser,
    OutsideWindow,
    RateLimited,
    RecipientUnavailable,
    ServerError,
    UnsupportedMessageType,
    error_from_response,
)

URL = "https://graph.facebook.com/v23.0/1122334455667/messages"


@pytest.mark.parametrize(
    ("status", "code", "cls", "retryable"),
    [
        (429, 130429, RateLimited, True),
        (400, 131056, RateLimited, True),
        (400, 4, RateLimited, True),
        (400, 80007, RateLimited, True),
        (500, 131000, ServerError, True),
        (503, 131016, ServerError, True),
        (500, 1, ServerError, True),
        (500, 2, ServerError, True),
        (400, 131047, OutsideWindow, False),
        (400, 131026, RecipientUnavailable, False),
        (400, 131051, UnsupportedMessageType, False),
        (401, 190, AuthError, False),
        (403, 10, AuthError, False),
        (403, 200, AuthError, False),
        (403, 299, AuthError, False),
        (400, 100, InvalidParameter, False),
        (400, 131008, InvalidParameter, False),
        (400, 131009, InvalidParameter, False),
        (400, 131021, InvalidParameter, False),
        (400, 999999, GraphError, False),
        (500, 131047, OutsideWindow, False),  # the code wins over the status
    ],
)
def test_errors_are_typed_by_meta_code_first(status, code, cls, retryable):
    body = {"error": {"message": "m", "type": "OAuthException", "code": code, "fbtrace_id": "t"}}
    error = error_from_response("POST", URL, status, body)
    assert type(error) is cls and error.retryable is retryable
    outcome = error.to_outcome()
    assert (outcome.ok, outcome.retryable, outcome.error_code, outcome.error_title) == (
        False,
        retryable,
        code,
        "m",
    )


@pytest.mark.parametrize(
    ("status", "body", "cls", "retryable"),
    [
        (429, {}, RateLimited, True),
        (503, "<html>bad gateway</html>", ServerError, True),
        (502, b"", ServerError, True),
        (504, {"error": "upstream"}, ServerError, True),
        (404, "Not Found", GraphError, False),
        (200, "<html>captive portal</html>", GraphError, False),
    ],
)
def test_without_a_code_the_http_status_decides(status, body, cls, retryable):
    error = error_from_response("POST", URL, status, body)
    assert type(error) is cls and error.retryable is retryable and error.code is None
    assert error.to_outcome().error_code == status


def test_error_keeps_meta_fields_and_reads_well():
    body = {
        "error": {
            "message": "(#131047) Re-engagement message",
            "type": "OAuthException",
            "code": 131047,
            "error_subcode": 2494010,
            "error_data": {"messaging_product": "whatsapp", "details": "More than 24 hours have passed."},
            "fbtrace_id": "AbCd",
        }
    }
    error = error_from_response("POST", URL, 400, body)
    assert (error.method, error.url, error.status) == ("POST", URL, 400)
    assert (error.code, error.subcode, error.fbtrace_id) == (131047, 2494010, "AbCd")
    assert error.message == error.title == "(#131047) Re-engagement message"
    assert error.details == "More than 24 hours have passed."
    assert str(error) == (
        f"POST {URL} -> 400 code=131047 subcode=2494010: (#131047) Re-engagement message "
        "(More than 24 hours have passed.) fbtrace_id=AbCd"
    )


def test_codes_sent_as_strings_are_understood():
    error = error_from_response("POST", URL, 400, {"error": {"message": "m", "code": "131056"}})
    assert type(error) is RateLimited and error.code == 131056


def test_non_json_bodies_become_a_short_title():
    error = error_from_response("POST", URL, 502, "<html>\n<body>" + "x" * 1000 + "</body></html>")
    assert error.title.startswith("unexpected answer: <html> <body>xxx") and len(error.title) < 250


def test_network_errors_are_retryable_and_the_aliases_hold():
    assert GraphTimeout("POST", URL, 0).retryable and GraphUnreachable("POST", URL, 0).retryable
    assert issubclass(GraphTimeout, GraphUnreachable) and issubclass(GraphUnreachable, GraphError)
    assert NotAWhatsAppUser is RecipientUnavailable


def test_errors_survive_pickling():
    error = error_from_response(
        "POST", URL, 429, {"error": {"message": "m", "code": 130429, "fbtrace_id": "t"}}
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RateLimited and str(copy) == str(error) and copy.fbtrace_id == "t"


def test_every_code_belongs_to_one_class():
    seen: dict[int, type] = {}
    for cls in CODED:
        for code in cls.codes:
            assert code not in seen, f"{code} is in {seen[code].__name__} and {cls.__name__}"
            seen[code] = cls
