"""Settings of ingestion (the MQTT broker, topics, session and batching), read from `TWINHOOD_*` variables."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    """Where the MQTT broker is, what the worker subscribes to, and how it batches."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_", extra="ignore")

    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="mqtt://[user:password@]host[:port]")
    mqtt_client_id: str = Field(
        "twinhood-ingest", pattern=r"^[A-Za-z0-9_.-]{1,60}$", description="fixed, so the broker keeps the session"
    )
    mqtt_topic_root: str = Field("twinhood", pattern=r"^[^#+/$][^#+]*$", description="first topic level")
    mqtt_estate: str = Field("+", pattern=r"^[^#/]+$", description="estate code to subscribe to, + for all")
    mqtt_connections: int = Field(1, ge=1, le=64, description="subscriber connections (>1 needs a shared group)")
    mqtt_shared_group: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]+$", description="MQTT 5 shared subscription group ($share/<group>/…)"
    )
    mqtt_session_expiry_s: int = Field(7 * 86400, ge=0, description="how long the broker keeps our session offline")
    mqtt_receive_maximum: int = Field(
        20000,
        ge=1,
        le=65535,
        description="unacknowledged QoS 1 messages in flight: a worker that falls behind holds its backlog here, "
        "not in the broker's per-client queue (Mosquitto's default of 1000 messages drops the rest)",
    )
    batch_max: int = Field(5000, ge=1, le=100_000, description="events per ledger append")
    batch_ms: int = Field(50, ge=1, le=60_000, description="longest wait to fill a batch")
    project_batch: int = Field(5000, ge=1, le=100_000, description="ledger rows per projection pass")
    telemetry_nodes: bool = Field(
        False,
        description="give every telemetry reading an Event node, as before roll-ups (the graph then grows ~2x faster)",
    )
    retention_interval_s: float = Field(
        3600, ge=0, description="seconds between the worker's retention runs (the first at start); 0: never"
    )

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("mqtt", "mqtts"):
            raise ValueError("must start with mqtt:// or mqtts://")
        return value

    @field_validator("mqtt_shared_group")
    @classmethod
    def _shared_group(cls, value: str | None) -> str | None:
        return value or None

    @property
    def mqtt_username(self) -> str | None:
        return urlsplit(self.mqtt_url).username

    @property
    def mqtt_password(self) -> str | None:
        return urlsplit(self.mqtt_url).password

    @property
    def events_topic(self) -> str:
        """The subscription: `{root}/{estate}/{device_kind}/{device_id}/events`, shared if a group is set."""
        topic = f"{self.mqtt_topic_root}/{self.mqtt_estate}/+/+/events"
        return f"$share/{self.mqtt_shared_group}/{topic}" if self.mqtt_shared_group else topic

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
