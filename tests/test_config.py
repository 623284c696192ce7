"""Settings: environment, .env file, clear errors, and the README's table kept complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ENV_PREFIX, ConfigError, Settings, load_settings

README = Path(__file__).parents[1] / "README.md"


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("UPSIDE_PORT", "9000")
    monkeypatch.setenv("UPSIDE_PHONE_REGIONS", "de, fr")
    settings = load_settings(env_file=None)
    assert settings.port == 9000
    assert settings.regions == ("DE", "FR")


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("UPSIDE_TOPIC_THRESHOLD", raising=False)
    env = tmp_path / ".env"
    env.write_text("UPSIDE_TOPIC_THRESHOLD=0.5\nUPSIDE_WEBHOOK_TOKEN=abc\n")
    settings = load_settings(env_file=env)
    assert settings.topic_threshold == 0.5
    assert settings.webhook_token.get_secret_value() == "abc"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("UPSIDE_TOPIC_THRESHOLD", "1.5"),
        ("UPSIDE_PORT", "not-a-port"),
        ("UPSIDE_DATABASE_URL", "mysql://localhost/x"),
        ("UPSIDE_PHONE_REGIONS", "US,XX"),
        ("UPSIDE_LOG_LEVEL", "LOUD"),
        ("UPSIDE_LEADER_INTERVAL", "16"),  # failover within 15 s
    ],
)
def test_an_invalid_setting_is_named(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(env_file=None)


def test_readme_lists_every_setting():
    readme = README.read_text(encoding="utf-8")
    missing = [
        name for name in Settings.model_fields if f"`{ENV_PREFIX}{name.upper()}`" not in readme
    ]
    assert not missing, f"README configuration table lacks {missing}"


def test_half_a_teams_setup_stops_start_up_naming_what_is_missing(monkeypatch):
    monkeypatch.setenv("UPSIDE_TEAMS_APP_ID", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "UPSIDE_TEAMS_APP_PASSWORD" in str(refused.value)
    assert "UPSIDE_TEAMS_TENANT_ID" in str(refused.value)
    monkeypatch.setenv("UPSIDE_TEAMS_APP_PASSWORD", "secret")
    monkeypatch.setenv("UPSIDE_TEAMS_TENANT_ID", "5f3c6b1e-2d4a-4c8e-9b7a-1e2d3c4b5a69")
    settings = load_settings()
    assert settings.teams_enabled
    assert settings.teams_tenants == {"5f3c6b1e-2d4a-4c8e-9b7a-1e2d3c4b5a69"}
