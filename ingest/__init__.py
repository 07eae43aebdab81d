"""Sensor events into the ledger and the graph: schemas, sources (MQTT, HTTP, files), alarms.

So far: where the MQTT broker is (:class:`IngestSettings`).
"""

from ingest.settings import IngestSettings

__all__ = ["IngestSettings"]
