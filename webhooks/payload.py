"""Meta's webhook envelope as frozen pydantic models. Items inside stay raw dicts, read one by one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# The envelope is strict where it must be (a list of entries of changes); what each change carries is read
# item by item in normalize.py, so one strange message never costs its neighbours.
_FROZEN = ConfigDict(frozen=True, extra="ignore")


class Profile(BaseModel):
    model_config = _FROZEN

    name: str | None = None
    username: str | None = None


class Contact(BaseModel):
    model_config = _FROZEN

    profile: Profile = Field(default_factory=Profile)
    wa_id: str | None = None
    user_id: str | None = None


class Metadata(BaseModel):
    model_config = _FROZEN

    display_phone_number: str | None = None
    phone_number_id: str | None = None


class ChangeValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    messaging_product: str | None = None
    metadata: Metadata = Field(default_factory=Metadata)
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[Any] = Field(default_factory=list)  # read one by one: a bad item rejects only itself
    statuses: list[Any] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)


class Change(BaseModel):
    model_config = _FROZEN

    field: str = ""
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(BaseModel):
    model_config = _FROZEN

    id: str | None = None
    changes: list[Change] = Field(default_factory=list)


class Envelope(BaseModel):
    model_config = _FROZEN

    object: str
    entry: list[Entry]
