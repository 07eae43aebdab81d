from __future__ import annotations

import pytest
from pydantic import ValidationError

from graph import GraphSettings
from ingest import IngestSettings
from spatial import SpatialSettings


def test_development_defaults_name_no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TWINHOOD_NEO4J_URI", "TWINHOOD_DATABASE_URL", "TWINHOOD_MQTT_URL"):
        monkeypatch.delenv(var, raising=False)
    assert not GraphSettings().explicit_server
    assert not SpatialSettings().explicit_server
    assert not IngestSettings().explicit_server


def test_servers_named_in_the_environment_are_used_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINHOOD_NEO4J_URI", "neo4j://graph.example:7687")
    monkeypatch.setenv("TWINHOOD_MQTT_URL", "mqtts://broker.example")
    assert GraphSettings().explicit_server
    assert IngestSettings().mqtt_port == 8883


@pytest.mark.parametrize("settings", [GraphSettings, SpatialSettings])
def test_development_secrets_are_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, settings: type[GraphSettings | SpatialSettings]
) -> None:
    monkeypatch.setenv("TWINHOOD_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="development default"):
        settings()


def test_mqtt_url_needs_an_mqtt_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINHOOD_MQTT_URL", "http://broker")
    with pytest.raises(ValidationError, match="mqtt://"):
        IngestSettings()
