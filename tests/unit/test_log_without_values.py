"""A dead-lettered entry's log line tells where and what failed, never what the customer sent: pydantic's
ValidationError quotes each `input_value` (names, texts) in its message, so the exception is formatted by
its errors' locations and types only (app/logging.py format_exc_without_values)."""

from __future__ import annotations

import logging

import fakeredis
import orjson
import pydantic
import structlog
from structlog.testing import capture_logs

from app.logging import configure_logging, format_exc_without_values
from handover import keys
from handover.keys import Lane
from handover.traffic.streams import drain, ensure_groups

SECRET = "Maria Secreta da Silva quer cancelar o cartão 4111"


class Inbound(pydantic.BaseModel):
    name: str
    age: int


def test_a_dead_lettered_entrys_log_line_has_no_customer_text():
    client = fakeredis.FakeRedis(decode_responses=True)
    ensure_groups(client, 1)
    client.xadd(keys.stream_key(Lane.INBOUND, 0), {"name": SECRET, "age": SECRET})

    def handler(batch):  # type: ignore[no-untyped-def]
        for _, fields in batch.entries:
            try:
                Inbound.model_validate({"name": fields["name"], "age": fields["age"], "extra": 1})
            except pydantic.ValidationError as exc:
                raise RuntimeError("could not read the entry") from exc

    with capture_logs(processors=[format_exc_without_values]) as logs:
        drain(client, Lane.INBOUND, 0, handler, batch_size=10, lease_seconds=5)
    [line] = [e for e in logs if e["event"] == "entry_dead_lettered"]
    assert line["log_level"] == "error" and "exc_info" not in line
    told = orjson.dumps(line).decode()
    assert "Secreta" not in told and "4111" not in told
    assert "ValidationError: 1 errors for Inbound (age: int_parsing)" in line["exception"]
    assert "RuntimeError: could not read the entry" in line["exception"]
    assert "handler" in line["exception"]  # the frames still say where
    assert client.xlen(keys.dead_letter_key(Lane.INBOUND)) == 1


def test_the_processes_log_exceptions_through_it():
    saved, handlers, level = structlog.get_config(), logging.root.handlers[:], logging.root.level
    try:
        configure_logging("INFO", json_logs=True)
        chain = structlog.get_config()["processors"]
        assert format_exc_without_values in chain
        assert structlog.processors.format_exc_info not in chain
    finally:
        structlog.configure(**saved)
        logging.root.handlers[:] = handlers
        logging.root.setLevel(level)
