"""The one settings class: every variable the processes read from the environment."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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
    handover_port: int = Field(default=8080, ge=1, le=65535)
    # Tuning; the defaults suit one Redis and a handful of workers.
    handover_partitions: int = Field(default=16, ge=1, le=1024)
    handover_lease_seconds: float = Field(default=15.0, gt=0)
    handover_batch_size: int = Field(default=200, ge=1, le=5000)
    handover_send_concurrency: int = Field(default=64, ge=1, le=1000)
    handover_transcript_max: int = Field(default=500, ge=10)
    # Private notes (handover/notes.py): at most this many on one conversation, kept outside the transcript's
    # cap; and at most this many written by one agent in a minute (429 with Retry-After past it).
    handover_notes_max: int = Field(default=200, ge=1, le=10_000)
    handover_notes_per_minute: int = Field(default=30, ge=1, le=100_000)
    # Closed conversations, and those left with the bot, are deleted with their transcripts this many days
    # after their last change (handover/retention.py); open ones are kept however old.
    handover_retention_days: int = Field(default=90, ge=1)
    # Coexistence (handover/coexistence.py): a message sent from the WhatsApp Business app on our number to
    # a customer the bot serves keeps the bot quiet there this long after the last one, unless released.
    handover_phone_pause_minutes: int = Field(default=240, ge=1, le=7 * 24 * 60)
    # An agent whose desk (the live event stream) has been gone this long goes offline, and their
    # conversations go back to the queue. Agents that never open the stream are not affected.
    handover_presence_grace_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    # Live event streams one agent may hold open at once (per web process): opening one more closes their
    # oldest, which is told why (`replaced`). A desk needs one per open console tab.
    handover_streams_per_agent: int = Field(default=5, ge=1, le=100)
    # Events out (handover/hooks/): hosts or networks a hook may call over http or at a private address
    handover_hooks_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    handover_hooks_retry_hours: float = Field(default=24.0, gt=0, le=7 * 24)
    # where people reach the console (https://desk.example.com): links in hooks' Slack messages
    handover_public_url: str = ""
    handover_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The sandbox (simulator, /sandbox/* routes, a signing secret everyone knows) on a real Redis: only when
    # asked for, since anyone reaching the port could then write as any customer and read every reply.
    handover_sandbox: bool = False
    # The HTTP edge (app/edge.py, webhooks/gate.py): what one slow or abusive client can hold.
    handover_body_timeout_seconds: float = Field(default=10.0, ge=1.0, le=300.0)
    handover_webhook_concurrency: int = Field(default=32, ge=1, le=10_000)
    handover_max_connections: int = Field(default=2048, ge=8, le=1_000_000)
    handover_idle_timeout_seconds: float = Field(default=15.0, ge=1.0, le=3600.0)
    # The event loop's damped lag past which new webhooks are refused with 503 (webhooks/pressure.py)
    handover_max_loop_lag_ms: int = Field(default=100, ge=10, le=3_600_000)
    # Desk requests one agent's token may have in flight at once, event streams included (desk/share.py)
    handover_requests_per_agent: int = Field(default=20, ge=1, le=10_000)
    # Proxies (addresses or networks) whose X-Forwarded-For names the client; empty: the peer is the client.
    handover_trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Unknown desk tokens one client may try a minute before 429 (desk/guard.py)
    handover_token_failures_per_minute: int = Field(default=10, ge=1, le=100_000)
    # Customers' media and agents' uploads (desk/spool.py, desk/budgets.py; issue 28 item 6): where the web
    # process keeps them on disk (unset: a folder of its own under the system's temp, removed at exit; set:
    # a folder of its own inside this one), how much disk they may take (at least a 100 MB document and
    # room), media requests and uploads one agent may have at once, and upload bytes under way per process.
    handover_media_dir: Path | None = None
    handover_media_disk_mb: int = Field(default=1024, ge=128, le=1_000_000)
    handover_media_per_agent: int = Field(default=8, ge=1, le=1000)
    handover_uploads_per_agent: int = Field(default=2, ge=1, le=100)
    handover_uploads_mb: int = Field(default=256, ge=17, le=100_000)

    @field_validator("handover_log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(REDIS_SCHEMES):
            shown = value.rsplit("@", 1)[-1]  # never echo a password
            raise ValueError(f"must start with redis://, rediss:// or unix:// (got {shown!r})")
        return value

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        for name in ("whatsapp_phone_number_ids", "handover_trusted_proxies", "handover_hooks_allow"):
            if isinstance(data, dict):
                raw = data.get(name, data.get(name.upper()))
                if isinstance(raw, str):
                    data = {k: v for k, v in data.items() if k.lower() != name}
                    data[name] = [p.strip() for p in raw.split(",") if p.strip()]
        return data

    @field_validator("handover_trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"must be addresses or networks, comma-separated (got {item!r})") from None
        return value

    @property
    def is_embedded(self) -> bool:
        """No REDIS_URL: the whole system runs in one process on an in-process Redis."""
        return not self.redis_url

    @property
    def is_sandbox(self) -> bool:
        """No access token: outbound messages go to the local outbox, not to Meta."""
        return self.whatsapp_access_token is None

    @property
    def sandbox_routes(self) -> bool:
        """The simulator and /sandbox/* are served: embedded (nothing real to reach), or asked for."""
        return self.is_sandbox and (self.is_embedded or self.handover_sandbox)

    @model_validator(mode="after")
    def _streams_within_the_share(self) -> Self:
        # an agent's event streams are requests in flight too: with no room left, their next call gets 429
        if self.handover_streams_per_agent >= self.handover_requests_per_agent:
            raise ValueError(
                "HANDOVER_REQUESTS_PER_AGENT must be above HANDOVER_STREAMS_PER_AGENT (streams count in it)"
            )
        return self

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
        """Whether this deployment answers for the business number (the webhook keeps the others aside)."""
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


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
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
        raise MissingSetting(f"{name}: {describe(first)}") from exc


def describe(error: Any) -> str:
    """A pydantic error about one variable, as a person would say it."""
    kind, value = error["type"], error.get("input")
    bounds = error.get("ctx") or {}
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"must be a whole number, got {value!r}"
    if kind in {"float_parsing", "float_type"}:
        return f"must be a number, got {value!r}"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        field = Settings.model_fields.get(str(error["loc"][0])) if error["loc"] else None
        low = high = None
        for rule in field.metadata if field is not None else []:
            low = getattr(rule, "ge", None) if low is None else low
            high = getattr(rule, "le", None) if high is None else high
        if low is not None and high is not None:
            return f"must be from {low} to {high}, got {value}"
        return f"must be {str(error['msg']).removeprefix('Input should be ')}, got {value}"
    if kind == "literal_error":
        choices = str(bounds.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"must be one of {choices} (got {value!r})"
    return str(error["msg"]).removeprefix("Value error, ")
