"""Settings of the API's security: token signing, sessions, login limits, rate limits, blacklist, CORS."""

from __future__ import annotations

import json
import os
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_JWT_SECRET = "twinhood-dev-jwt-secret-change-me-in-production"


def _cpus() -> int:
    """The CPUs this process may run on (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _split(value: object) -> object:
    """Read a comma-separated environment value as a list (a JSON list is read as one too)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class SecuritySettings(BaseSettings):
    """How the API authenticates, limits and audits its callers (`TWINHOOD_*` variables)."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), description="HS256 key that signs access tokens")
    session_minutes: float = Field(30, gt=0, le=24 * 60, description="session timeout: a token's lifetime")
    max_failed_logins: int = Field(5, ge=1, le=100, description="failed logins in a row that lock the account")
    lock_minutes: float = Field(15, gt=0, description="how long a locked account stays locked")
    workers: int = Field(
        default_factory=lambda: min(8, _cpus()),
        ge=1,
        le=64,
        description="processes `twinhood serve` runs; each keeps rate-limit buckets of 1/workers of the budget",
    )
    rate_limit_per_minute: int = Field(1200, ge=0, description="requests per client IP a minute; 0: no limit")
    rate_limit_burst: int = Field(200, ge=1, description="requests a client may send at once above the rate")
    ip_blacklist: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="IP addresses or CIDR networks refused with 403 (comma-separated)"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"],
        description="browser origins allowed to call the API (comma-separated)",
    )
    graphql_max_depth: int = Field(8, ge=2, le=50, description="deepest GraphQL selection accepted")
    graphql_max_aliases: int = Field(30, ge=1, description="most aliases in one GraphQL document")
    graphql_max_tokens: int = Field(5000, ge=100, description="most tokens in one GraphQL document")

    @field_validator("ip_blacklist", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("ip_blacklist")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network: {exc}") from None
        return value

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> SecuritySettings:
        if self.environment != "development" and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
            raise ValueError("TWINHOOD_JWT_SECRET is the development default; set a real one")
        if len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("TWINHOOD_JWT_SECRET must be at least 32 characters")
        return self

    def blacklisted_networks(self) -> list[IPv4Network | IPv6Network]:
        """Return the blacklist as networks (a bare address is a /32 or /128)."""
        return [ip_network(item, strict=False) for item in self.ip_blacklist]
