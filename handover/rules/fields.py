"""What every part of the rules format shares: names, texts per language, and models that refuse unknown
keys (ops owns the YAML, we own this)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
Texts = dict[str, str]  # language -> text; every language of the file must be present (checked on load)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
