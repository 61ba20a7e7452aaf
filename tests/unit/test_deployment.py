"""The compose file, the Dockerfile and .env.example agree with the real CLI and settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.cli import parser
from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {name.upper() for name in Settings.model_fields}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_redis_with_aof_one_web_and_two_workers():
    services = compose()["services"]
    assert set(services) == {"redis", "web", "worker"}
    redis_cmd = services["redis"]["command"]
    assert redis_cmd[1:3] == ["--appendonly", "yes"] and "always" in redis_cmd and "noeviction" in redis_cmd
    assert services["worker"]["deploy"]["replicas"] == 2
    assert all("healthcheck" in s for s in services.values())


def test_compose_commands_are_real_subcommands_and_variables_are_real_settings():
    services = compose()["services"]
    cli = parser()
    for name in ("web", "worker"):
        cli.parse_args(services[name]["command"])  # raises SystemExit on an unknown command
        assert set(services[name]["environment"]) <= SETTINGS, name
    assert services["web"]["command"] == ["serve"] and services["worker"]["command"] == ["worker"]
    env_example = [
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert set(env_example) <= SETTINGS


def test_compose_publishes_the_web_port_on_loopback_only_and_the_example_names_the_trusted_proxies():
    """The TLS proxy goes in front (issue 28, item 8): 8080 on every interface served tokens over plain HTTP."""
    assert compose()["services"]["web"]["ports"] == ["127.0.0.1:8080:8080"]
    assert "# HANDOVER_TRUSTED_PROXIES=" in (ROOT / ".env.example").read_text()


def test_dockerfile_runs_the_handover_command_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["handover"]' in dockerfile
    assert "USER handover" in dockerfile
    for package in ("config", "handover", "webhooks", "graph", "workers", "desk", "app"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in SETTINGS if f"`{name}`" not in readme and name not in readme]
    assert missing == []


def test_the_example_lists_every_setting():
    """A production deployment sees every setting in one place (issue 32, item 6), set or commented."""
    text = (ROOT / ".env.example").read_text()
    named = {line.lstrip("# ").split("=", 1)[0] for line in text.splitlines() if "=" in line}
    assert named >= SETTINGS, sorted(SETTINGS - named)


def test_the_web_process_and_every_worker_read_one_rules_folder():
    """An edit and `rules reload` must reach every process: one mounted folder, not a copy per image."""
    services = compose()["services"]
    mounts = {name: services[name]["volumes"] for name in ("web", "worker")}
    assert mounts["web"] == mounts["worker"] == ["./config:/etc/handover:ro"]
    for name in ("web", "worker"):
        assert services[name]["environment"]["HANDOVER_RULES"] == "/etc/handover/rules.yaml"
    assert (ROOT / "config" / "rules.yaml").is_file()
