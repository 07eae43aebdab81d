"""Sensor events into the ledger and the graph: schemas, sources (MQTT, HTTP, files), alarms.

Events are validated against their kind's schema (:data:`KINDS`, :func:`parse_event`), appended
to the PostgreSQL ledger before any source is acknowledged (:mod:`ingest.ledger`; rejects become
dead letters, :mod:`ingest.deadletters`), then projected into the graph (:class:`Projector`) and
judged by the alarm engine (:class:`AlarmEngine`, changes pushed on an :class:`AlarmBus` and to
the grid's staff; :func:`alarm_statistics` looks back over them). A :class:`Worker` runs the MQTT
path and retention on a schedule; :func:`ingest_file` imports CSV, JSONL and Excel files.
"""

from ingest.alarm_statistics import AlarmStatistics, alarm_statistics
from ingest.alarms import AlarmBus, AlarmEngine, IllegalTransition
from ingest.deadletters import list_dead_letters, resubmit
from ingest.events import KINDS, Event, parse_event
from ingest.ledger import apply_retention
from ingest.projector import Projector
from ingest.settings import IngestSettings
from ingest.sources.files import ingest_file, write_template
from ingest.worker import Worker

__all__ = [
    "KINDS",
    "AlarmBus",
    "AlarmEngine",
    "AlarmStatistics",
    "Event",
    "IllegalTransition",
    "IngestSettings",
    "Projector",
    "Worker",
    "alarm_statistics",
    "apply_retention",
    "ingest_file",
    "list_dead_letters",
    "parse_event",
    "resubmit",
    "write_template",
]
