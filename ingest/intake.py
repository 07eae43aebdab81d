"""Intake: parsed input into the ledger, rejects into dead letters, one outcome per event.

Every source (MQTT, HTTP, files) ends here, inside the caller's transaction, so "accepted" means
"in the ledger once the caller commits".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection

from graph.errors import ValidationError
from ingest import deadletters, ledger
from ingest.events import Event

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True)
class Outcome:
    """What became of one event: accepted (new in the ledger), duplicate, or rejected with field and reason."""

    index: int
    status: Status
    id: str | None = None
    field: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def accept(conn: Connection, items: Iterable[tuple[Any, Event | ValidationError]], source: str) -> list[Outcome]:
    """Append the valid events to the ledger and the invalid ones to dead letters; return an outcome per item."""
    events: list[Event] = []
    raws: list[Any] = []
    positions: list[int] = []
    rejects: list[deadletters.Rejected] = []
    outcomes: dict[int, Outcome] = {}
    for index, (raw, result) in enumerate(items):
        if isinstance(result, ValidationError):
            rejects.append(deadletters.Rejected(source, raw, result))
            outcomes[index] = Outcome(index, "rejected", field=result.field, reason=result.reason)
        else:
            events.append(result)
            raws.append(raw if isinstance(raw, dict) else result.model_dump(mode="json", by_alias=True))
            positions.append(index)
    if events:
        new = set(ledger.append(conn, events, source=source, raw=raws).new)
        for index, event in zip(positions, events, strict=True):
            fresh = event.id in new
            new.discard(event.id)  # a repeat within the batch is a duplicate
            outcomes[index] = Outcome(index, "accepted" if fresh else "duplicate", id=event.id)
    deadletters.record(conn, rejects)
    return [outcomes[i] for i in sorted(outcomes)]
