"""Settings from the environment: defaults, sandbox and embedded modes, and one-line errors."""

from __future__ import annotations

import pytest

from config.settings import DEFAULT_RULES, MissingSetting, Settings, load_settings


def test_bare_environment_is_embedded_sandbox_on_loopback(monkeypatch):
    for name in ("REDIS_URL", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.is_embedded and settings.is_sandbox
    assert (settings.handover_host, settings.handover_port) == ("127.0.0.1", 8080)
    assert settings.whatsapp_api_url == "https://graph.facebook.com/v23.0"
    assert settings.handover_rules == DEFAULT_RULES


def test_production_environment(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "EAAG")
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "s3cret")
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "v")
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_IDS", " 111, 222 ,")
    monkeypatch.setenv("HANDOVER_PORT", "9000")
    settings = load_settings()
    assert not settings.is_embedded and not settings.is_sandbox
    assert settings.whatsapp_phone_number_ids == ["111", "222"]
    assert settings.serves_number("222") and not settings.serves_number("333")
    assert settings.handover_port == 9000
    assert "s3cret" not in repr(settings) and "EAAG" not in repr(settings)


def test_empty_variables_count_as_unset(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "")
    settings = load_settings()
    assert settings.is_embedded and settings.is_sandbox


@pytest.mark.parametrize("missing", ["WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"])
def test_missing_secret_outside_the_sandbox_names_the_variable(monkeypatch, missing):
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "EAAG")
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "s")
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "v")
    monkeypatch.delenv(missing)
    with pytest.raises(MissingSetting, match=rf"^{missing} is required"):
        load_settings()


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("HANDOVER_PORT", "eighty")
    with pytest.raises(MissingSetting, match=r"^HANDOVER_PORT: "):
        load_settings()


def test_every_number_is_served_when_none_is_configured():
    assert Settings().serves_number("anything")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HANDOVER_PORT", "http", "HANDOVER_PORT: must be a whole number, got 'http'"),
        ("HANDOVER_PORT", "70000", "HANDOVER_PORT: must be from 1 to 65535, got 70000"),
        ("HANDOVER_PARTITIONS", "0", "HANDOVER_PARTITIONS: must be from 1 to 1024, got 0"),
        ("HANDOVER_LEASE_SECONDS", "0", "HANDOVER_LEASE_SECONDS: must be greater than 0, got 0"),
        ("HANDOVER_LEASE_SECONDS", "soon", "HANDOVER_LEASE_SECONDS: must be a number, got 'soon'"),
        (
            "HANDOVER_RETENTION_DAYS",
            "0",
            "HANDOVER_RETENTION_DAYS: must be greater than or equal to 1, got 0",
        ),
        (
            "HANDOVER_LOG_LEVEL",
            "LOUD",
            "HANDOVER_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR (got 'LOUD')",
        ),
        (
            "REDIS_URL",
            "admin:s3cret@localhost:6379",
            "REDIS_URL: must start with redis://, rediss:// or unix:// (got 'localhost:6379')",
        ),
    ],
)
def test_each_bad_value_is_explained_in_one_line(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(MissingSetting) as caught:
        load_settings()
    assert str(caught.value) == message


def test_log_level_in_any_case(monkeypatch):
    monkeypatch.setenv("HANDOVER_LOG_LEVEL", "debug")
    assert load_settings().handover_log_level == "DEBUG"


def test_trusted_proxies_are_addresses_or_networks(monkeypatch):
    monkeypatch.setenv("HANDOVER_TRUSTED_PROXIES", " 127.0.0.1, 10.0.0.0/8 ,")
    assert load_settings().handover_trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]
    monkeypatch.setenv("HANDOVER_TRUSTED_PROXIES", "127.0.0.1,proxy.local")
    with pytest.raises(MissingSetting, match=r"^HANDOVER_TRUSTED_PROXIES: must be addresses or networks"):
        load_settings()


def test_an_agents_streams_must_fit_in_its_share_of_requests(monkeypatch):
    """Streams are requests in flight (desk/share.py): as many as the share leaves the console no room."""
    monkeypatch.setenv("HANDOVER_STREAMS_PER_AGENT", "20")
    with pytest.raises(MissingSetting) as caught:
        load_settings()
    assert "HANDOVER_REQUESTS_PER_AGENT must be above HANDOVER_STREAMS_PER_AGENT" in str(caught.value)
    monkeypatch.setenv("HANDOVER_REQUESTS_PER_AGENT", "21")
    assert load_settings().handover_requests_per_agent == 21
