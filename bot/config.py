"""Settings read from `UPSIDE_*` environment variables and an optional `.env` file.

Every field here is listed in the README's configuration table; an invalid value
stops start-up with a message naming the variable (see `load_settings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from phonenumbers import SUPPORTED_REGIONS
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.ports import Address

ENV_PREFIX = "UPSIDE_"


class Settings(BaseSettings):
    """Upside's configuration; defaults run offline on SQLite with the bundled model."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        "sqlite:///upside.db", description="SQLAlchemy URL; SQLite file or PostgreSQL."
    )
    host: str = Field("0.0.0.0", description="Address the web server listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port the web server listens on.")
    webhook_token: SecretStr | None = Field(
        None, description="Bearer token for POST /api/feedback; unset disables the webhook."
    )
    model_dir: str | None = Field(
        None, description="Hugging Face model directory or hub id; unset uses the bundled model."
    )
    quantize: bool = Field(
        True, description="Run the model with int8 weights, made once into the cache directory."
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "upside", description="Where derived model files are kept."
    )
    topic_threshold: float = Field(
        0.25, ge=0.0, le=1.0, description="Topic confidence below which an item gets no topic."
    )
    max_text_length: int = Field(
        5000, ge=1, description="Longest feedback text accepted, in characters."
    )
    batch_size: int = Field(256, ge=1, le=4096, description="Items the worker classifies at once.")
    webhook_concurrency: int = Field(
        4, ge=1, le=256, description="Webhook requests stored at once; past it, 503 + Retry-After."
    )
    worker_interval: float = Field(
        2.0, gt=0, description="Seconds the background worker waits between empty polls."
    )
    web_only: bool = Field(
        False, description="`upside serve` answers requests only; `upside worker` classifies."
    )
    leader_interval: float = Field(
        5.0,
        gt=0,
        le=15,
        description="Seconds between the scheduler's checks that it still leads, or bids to.",
    )
    phone_regions: str = Field(
        "US,GB", description="Comma-separated regions whose local phone numbers are redacted."
    )
    log_level: str = Field("INFO", description="Python logging level.")
    complaint_severity: float = Field(
        0.5, ge=0.0, le=1.0, description="How negative (0-1) an item must be to be a complaint."
    )
    leadership_channel: str = Field(
        "", description="Channel id for the executives' month-end scoreboard; empty: not posted."
    )
    leadership_platform: Literal["slack", "teams"] = Field(
        "slack", description="Platform of the leadership channel: slack or teams."
    )
    spike_window_hours: int = Field(
        3, ge=1, le=48, description="Hours of negative feedback a spike alert looks at."
    )
    spike_factor: float = Field(
        3.0, gt=1.0, description="How many times the usual rate makes a spike."
    )
    spike_min_count: int = Field(
        5, ge=1, description="Fewest negative items in the window that can make a spike."
    )
    spike_cooldown_hours: int = Field(
        12, ge=1, description="Hours before the same topic can alert again."
    )
    slack_bot_token: SecretStr | None = Field(
        None, description="Bot token (xoxb-...) for a single workspace; enables Slack."
    )
    slack_signing_secret: SecretStr | None = Field(
        None, description="Signing secret that verifies Slack's requests."
    )
    slack_app_token: SecretStr | None = Field(
        None, description="App-level token (xapp-...) to use Socket Mode instead of a public URL."
    )
    slack_client_id: str | None = Field(
        None, description="OAuth client id: with the secret, installs into many workspaces."
    )
    slack_client_secret: SecretStr | None = Field(
        None, description="OAuth client secret, for multi-workspace installs."
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Slack Web API base URL (proxies, tests)."
    )
    slack_admins: str = Field("", description="Comma-separated Slack user ids of Upside admins.")
    slack_admin_group: str = Field(
        "", description="Slack user group id whose members are Upside admins."
    )
    slack_feedback_channels: str = Field(
        "", description="Comma-separated Slack channel ids always treated as feedback channels."
    )

    public_url: str = Field(
        "", description="The https URL where Upside is reachable, for images in Teams cards."
    )
    teams_app_id: str | None = Field(
        None,
        description="Entra app id of the Azure Bot; with the password and tenant, enables Teams.",
    )
    teams_app_password: SecretStr | None = Field(
        None, description="Client secret of the Entra app."
    )
    teams_tenant_id: str | None = Field(
        None, description="Entra tenant id of the single-tenant app."
    )
    teams_allowed_tenants: str = Field(
        "",
        description="Comma-separated tenant ids accepted; empty: the app's own.",
    )
    teams_admins: str = Field(
        "", description="Comma-separated Entra object ids of Upside admins in Teams."
    )
    teams_feedback_channels: str = Field(
        "", description="Comma-separated Teams channel ids always treated as feedback channels."
    )

    @model_validator(mode="after")
    def _teams_complete(self) -> Settings:
        # The SDK turns authentication off when the app id is missing: refuse half a setup.
        given = {
            "UPSIDE_TEAMS_APP_ID": self.teams_app_id,
            "UPSIDE_TEAMS_APP_PASSWORD": self.teams_app_password,
            "UPSIDE_TEAMS_TENANT_ID": self.teams_tenant_id,
        }
        missing = [name for name, value in given.items() if not value]
        if 0 < len(missing) < len(given):
            raise ValueError(f"Teams needs {', '.join(missing)} as well")
        return self

    @property
    def teams_enabled(self) -> bool:
        """Teams runs when its app id, password and tenant are all set."""
        return bool(self.teams_app_id and self.teams_app_password and self.teams_tenant_id)

    @property
    def teams_tenants(self) -> frozenset[str]:
        """Tenants whose activities are accepted: the configured list, else the app's own."""
        allowed = self.ids(self.teams_allowed_tenants)
        return allowed or frozenset({self.teams_tenant_id or ""}) - {""}

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, value: str) -> str:
        unknown = [r for r in value.split(",") if r.strip().upper() not in SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown region code(s): {', '.join(unknown)}")
        return value.upper().replace(" ", "")

    @property
    def leadership(self) -> Address | None:
        """The leadership channel, where the month-end scoreboard goes; None: not posted."""
        channel = self.leadership_channel.strip()
        return Address(self.leadership_platform, channel) if channel else None

    @property
    def slack_oauth(self) -> bool:
        """Multi-workspace mode: installs through OAuth, tokens kept in the database."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def slack_enabled(self) -> bool:
        """Slack runs with a signing secret and either a bot token or OAuth credentials."""
        has_token = self.slack_bot_token is not None or self.slack_oauth
        return self.slack_signing_secret is not None and has_token

    @staticmethod
    def ids(value: str) -> frozenset[str]:
        """A comma-separated setting as a set of ids."""
        return frozenset(part.strip() for part in value.split(",") if part.strip())

    @property
    def regions(self) -> tuple[str, ...]:
        """`phone_regions` as a tuple of ISO codes."""
        return tuple(self.phone_regions.split(","))

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # AsyncWebClient joins paths with urljoin, which drops a last segment without "/".
        return value if value.endswith("/") else value + "/"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level


class ConfigError(Exception):
    """A setting is invalid; the message names the environment variable."""


def load_settings(env_file: Path | None = None, **overrides: object) -> Settings:
    """Read settings, turning validation errors into one message per bad variable."""
    try:
        if env_file is not None:
            return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [
            f"{ENV_PREFIX}{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            if err["loc"]
            else err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        ]
        raise ConfigError("invalid setting\n  " + "\n  ".join(lines)) from None
