"""Detection on the event stream: follow the ledger and keep the flags up to date as events arrive.

A :class:`Follower` holds the trailing window of events in memory. Each :meth:`Follower.tick`
reads the ledger rows appended since the last one, by ledger position, so an event is seen however
late its timestamp is. Positions are handed out when a row is written but become visible when its
transaction commits, so a tick re-reads the last `lookback` positions too and skips ids it already
holds: an append still in flight at one tick is picked up at the next. It then drops events older
than the window, re-reads the community context every `context_every` ticks, runs the detectors and writes
the flags: new findings raise flags, repeated ones refresh them, and findings gone from the window
clear theirs. Detectors that depend on time passing (someone not seen for days) are judged at
each tick's clock, so they fire without any new event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from analytics import frame
from analytics.context import Context
from analytics.detectors import Detector, Finding, Inputs, configure, run
from analytics.findings import Written, write
from graph import GraphStore

log = logging.getLogger(__name__)


@dataclass
class Tick:
    """What one tick did."""

    read: int
    window_events: int
    findings: list[Finding]
    written: Written


@dataclass
class Follower:
    """Follows the ledger from a position, keeping `window` of events and the detectors' flags current."""

    engine: Engine
    store: GraphStore
    window: timedelta = timedelta(days=30)
    detectors: list[Detector] = field(default_factory=configure)
    context_every: int = 10
    lookback: int = 50_000
    position: int = 0
    events: pd.DataFrame = field(default_factory=frame.empty)
    _context: Context | None = None
    _ticks: int = 0

    @classmethod
    def configured(
        cls,
        engine: Engine,
        store: GraphStore,
        *,
        window: timedelta = timedelta(days=30),
        only: Sequence[str] = (),
        config: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Follower:
        return cls(engine, store, window, configure(config, only))

    def tick(self, now: datetime | None = None) -> Tick:
        """Read new ledger events, run the detectors over the window ending `now`, write the flags."""
        now = now or datetime.now(UTC)
        read, cursor = 0, max(self.position - self.lookback, 0)
        held = set(self.events["id"])
        while True:
            batch, cursor = frame.after(self.engine, cursor)
            if batch.empty:
                break
            new = batch[~batch["id"].isin(held)]
            held.update(new["id"])
            read += len(new)
            self.events = new if self.events.empty else pd.concat([self.events, new], ignore_index=True)
        self.position = max(self.position, cursor)
        start = now - self.window
        kept = self.events[self.events["ts"] >= start]  # events stamped after `now` wait for a later tick
        self.events = kept.sort_values("ts", kind="stable").reset_index(drop=True)
        window = self.events[self.events["ts"] < now]
        if self._context is None or self._ticks % self.context_every == 0:
            self._context = Context.from_store(self.store)
        self._ticks += 1
        findings = run(self.detectors, Inputs(window, self._context, start, now))
        written = write(self.store, findings, [d.name for d in self.detectors], datetime.now(UTC))
        log.info(
            "detection tick",
            extra={"read": read, "window": len(window), "findings": len(findings), "cleared": written.cleared},
        )
        return Tick(read, len(window), findings, written)
