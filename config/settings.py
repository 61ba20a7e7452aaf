"""The one settings class: every variable the processes read from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_RULES = Path(__file__).with_name("rules.yaml")


class MissingSetting(Exception):
    """A required variable is not set; the message names it."""


class Settings(BaseSettings):
    """Configuration from the environment (see the README's table). Tests build it by keyword."""

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", env_ignore_empty=True
    )

    redis_url: str | None = Field(default=None, description="unset: embedded in-process Redis (development)")
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_api_url: str = "https://graph.facebook.com/v23.0"
    # Business numbers this deployment answers for; empty: every number that reaches the webhook.
    whatsapp_phone_number_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    handover_rules: Path = DEFAULT_RULES
    handover_host: str = "127.0.0.1"
    handover_port: int = 8080
    # Tuning; the defaults suit one Redis and a handful of workers.
    handover_partitions: int = Field(default=16, ge=1, le=1024)
    handover_lease_seconds: float = Field(default=15.0, gt=0)
    handover_batch_size: int = Field(default=200, ge=1, le=5000)
    handover_send_concurrency: int = Field(default=64, ge=1, le=1000)
    handover_transcript_max: int = Field(default=500, ge=10)
    # An agent whose desk (the live event stream) has been gone this long goes offline, and their
    # conversations go back to the queue. Agents that never open the stream are not affected.
    handover_presence_grace_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    handover_log_level: str = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _split_number_ids(cls, data: object) -> object:
        if isinstance(data, dict):
            raw = data.get("whatsapp_phone_number_ids") or data.get("WHATSAPP_PHONE_NUMBER_IDS")
            if isinstance(raw, str):
                data = {k: v for k, v in data.items() if k.lower() != "whatsapp_phone_number_ids"}
                data["whatsapp_phone_number_ids"] = [p.strip() for p in raw.split(",") if p.strip()]
        return data

    @property
    def is_embedded(self) -> bool:
        """No REDIS_URL: the whole system runs in one process on an in-process Redis."""
        return not self.redis_url

    @property
    def is_sandbox(self) -> bool:
        """No access token: outbound messages go to the local outbox, not to Meta."""
        return self.whatsapp_access_token is None

    @model_validator(mode="after")
    def _require_secrets_outside_sandbox(self) -> Self:
        if not self.is_sandbox:
            for name in ("whatsapp_app_secret", "whatsapp_verify_token"):
                if getattr(self, name) is None:
                    raise MissingSetting(
                        f"{name.upper()} is required when WHATSAPP_ACCESS_TOKEN is set (outside the sandbox)"
                    )
        return self

    def serves_number(self, phone_number_id: str) -> bool:
        return not self.whatsapp_phone_number_ids or phone_number_id in self.whatsapp_phone_number_ids

    def app_secret(self) -> bytes:
        """The webhook signing secret; the sandbox signs its own posts with a fixed development secret."""
        if self.whatsapp_app_secret is not None:
            return self.whatsapp_app_secret.get_secret_value().encode()
        return SANDBOX_APP_SECRET

    def verify_token(self) -> str:
        if self.whatsapp_verify_token is not None:
            return self.whatsapp_verify_token.get_secret_value()
        return SANDBOX_VERIFY_TOKEN


SANDBOX_APP_SECRET = b"sandbox-app-secret"
SANDBOX_VERIFY_TOKEN = "sandbox-verify-token"


def load_settings() -> Settings:
    """Read the environment once, at process start; a bad or missing variable raises MissingSetting."""
    try:
        return Settings()
    except MissingSetting:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise MissingSetting(f"{name}: {first['msg']}") from exc
