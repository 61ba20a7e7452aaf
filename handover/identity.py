"""Identity verification: field formats (CPF check digits...), and the directories that confirm who is who."""

from __future__ import annotations

import csv
import json
import re
import urllib.error
import urllib.request
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import yaml
from pydantic import BaseModel

from handover.clock import system_clock

_DIGITS = re.compile(r"\D")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class VerifiedIdentity(BaseModel):
    """What the packet and the conversation keep: the outcome, never the values typed to prove it."""

    verified: bool = True
    method: str  # e.g. "cpf+birth_date"
    level: str = "basic"
    verified_at: float
    customer_reference: str | None = None
    display_name: str | None = None

    def is_fresh(self, now: float, ttl_seconds: int) -> bool:
        return self.verified and now - self.verified_at < ttl_seconds


def is_valid_cpf(value: str) -> bool:
    """Brazil's CPF: 11 digits, not all equal, with both check digits right."""
    digits = [int(d) for d in _DIGITS.sub("", value)]
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits[:length], range(length + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != digits[length]:
            return False
    return True


def parse_birth_date(value: str) -> date | None:
    today = datetime.fromtimestamp(system_clock()).date()  # the process's local date, as date.today()
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            born = datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
        return born if date(1900, 1, 1) <= born <= today else None
    return None


def clean_field(field: str, value: str) -> str | None:
    """The canonical form of a typed value, or None if its format is wrong (the customer is asked again)."""
    value = value.strip()
    if field == "cpf":
        return _DIGITS.sub("", value) if is_valid_cpf(value) else None
    if field == "birth_date":
        born = parse_birth_date(value)
        return born.isoformat() if born else None
    if field == "zip_code":  # Brazilian CEP
        digits = _DIGITS.sub("", value)
        return digits if len(digits) == 8 else None
    if field == "account_number":
        digits = _DIGITS.sub("", value)
        return digits if 4 <= len(digits) <= 20 else None
    if field == "email":
        return value.lower() if _EMAIL.match(value) else None
    return None


class Directory(Protocol):
    """Confirms a set of cleaned fields belongs to a customer; returns their reference and name, or None."""

    def verify(self, fields: dict[str, str]) -> tuple[str, str | None] | None: ...


class FileDirectory:
    """Customers listed in a YAML list or a CSV file with one column per field, plus reference and name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        else:
            rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        self.rows = [{k: str(v) for k, v in row.items()} for row in rows]
        # the rows by the cleaned values of a set of fields, built the first time that set is asked for:
        # a check is a lookup, not a pass over every row (a retailer's file has millions)
        self._by_fields: dict[tuple[str, ...], dict[tuple[str | None, ...], dict[str, str]]] = {}

    def verify(self, fields: dict[str, str]) -> tuple[str, str | None] | None:
        names = tuple(sorted(fields))
        index = self._by_fields.get(names)
        if index is None:
            index = {}
            for row in self.rows:  # the first row listed wins, as it always has
                index.setdefault(tuple(clean_field(n, row.get(n, "")) for n in names), row)
            self._by_fields[names] = index
        found = index.get(tuple(fields[n] for n in names))
        if found is None:
            return None
        return found.get("reference") or found.get("id") or "unknown", found.get("name")


class HttpDirectory:
    """POSTs the fields as JSON to a verifier; expects {"verified": bool, "reference", "name"}."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout

    def verify(self, fields: dict[str, str]) -> tuple[str, str | None] | None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(fields).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise VerifierUnavailable(str(exc)) from exc
        if not answer.get("verified"):
            return None
        return str(answer.get("reference") or "unknown"), answer.get("name")


class VerifierUnavailable(Exception):
    """The HTTP verifier did not answer: the bot escalates as unverified rather than guess."""
