"""Settings of ingestion (the MQTT broker), read from `TWINHOOD_*` variables."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    """Where the MQTT broker is."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_", extra="ignore")

    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="mqtt://[user:password@]host[:port]")

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("mqtt", "mqtts"):
            raise ValueError("must start with mqtt:// or mqtts://")
        return value

    @property
    def mqtt_host(self) -> str:
        return urlsplit(self.mqtt_url).hostname or "127.0.0.1"

    @property
    def mqtt_port(self) -> int:
        parts = urlsplit(self.mqtt_url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def explicit_server(self) -> bool:
        """True when the user named a broker, so the local stack must not start one."""
        return "mqtt_url" in self.model_fields_set


@lru_cache
def get_settings() -> IngestSettings:
    return IngestSettings()
