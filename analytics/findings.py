"""Detection runs end to end: read a window, run detectors, write findings as RiskFlag nodes; and evaluation.

:func:`detect` reads the graph's context and the ledger's events of a window, runs the chosen
detectors and writes each finding as a ``RiskFlag`` node ``FLAGS`` its subject (uid per detector,
subject and episode, so a re-run updates rather than repeats). Open flags of the detectors that ran
which this run did not find again are cleared, with the time — that is "what clears it" applied.
:func:`evaluate` scores findings against planted truth: precision and recall per detector.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from analytics import frame
from analytics.context import Context
from analytics.detectors import Detector, Finding, Inputs, configure, run
from analytics.simulate import Truth
from graph import GraphStore
from graph import uid as uids
from graph.ontology import Flags, Node, Person, RiskFlag, Vehicle

log = logging.getLogger(__name__)
SOURCE = "detector"


@dataclass(frozen=True)
class Written:
    """What a detection run wrote: flags raised or refreshed, flags cleared, subjects created."""

    raised: int
    cleared: int
    created: int


@dataclass(frozen=True)
class Score:
    """One detector's precision and recall against planted truth."""

    detector: str
    truth: int
    found: int
    hits: int

    @property
    def precision(self) -> float:
        return self.hits / self.found if self.found else (1.0 if not self.truth else 0.0)

    @property
    def recall(self) -> float:
        return self.hits / self.truth if self.truth else 1.0


def flag_of(finding: Finding, now: datetime) -> RiskFlag:
    """The RiskFlag node of a finding."""
    return RiskFlag(
        uid=uids.risk_flag(finding.detector, finding.subject, finding.key),
        source=f"{SOURCE}:{finding.detector}@{finding.version}",
        detector=finding.detector,
        version=finding.version,
        score=finding.score,
        explanation=finding.explanation,
        clears_when=finding.clears_when,
        inputs=json.dumps(finding.inputs, ensure_ascii=False),
        thresholds=json.dumps(finding.thresholds, ensure_ascii=False),
        status="open",
        raised_at=now,
        window_start=finding.window[0],
        window_end=finding.window[1],
    )


def _unregistered(subject: str) -> Node | None:
    """The unregistered Person or Vehicle a finding's missing subject stands for (as the projector makes them)."""
    if subject.startswith("person:"):
        return Person(uid=subject, source=SOURCE, name="未登记人员", unregistered=True)
    if subject.startswith("vehicle:"):
        return Vehicle(uid=subject, source=SOURCE, plate=subject.removeprefix("vehicle:"), unregistered=True)
    return None


def write(store: GraphStore, findings: Sequence[Finding], detectors: Iterable[str], now: datetime) -> Written:
    """Write findings as open flags on their subjects; clear the detectors' open flags not found again."""
    flags = [flag_of(f, now) for f in findings]
    existing = store.get_many(f.subject for f in findings)
    created = [n for f in findings if f.subject not in existing and (n := _unregistered(f.subject))]
    store.upsert(created)
    linkable = set(existing) | {n.uid for n in created}
    kept = {flag.uid: flag for flag, f in zip(flags, findings, strict=True) if f.subject in linkable}
    skipped = len(flags) - len(kept)
    if skipped:
        log.warning("findings on subjects missing from the graph were not written", extra={"skipped": skipped})
    first_raised = {n.uid: n.raised_at for n in store.get_many(kept).values() if isinstance(n, RiskFlag)}
    fresh = [f.model_copy(update={"raised_at": first_raised.get(f.uid, now)}) for f in kept.values()]
    ran = set(detectors)
    stale = [
        n.model_copy(update={"status": "cleared", "cleared_at": now})
        for n in store.nodes("RiskFlag")
        if isinstance(n, RiskFlag) and n.status == "open" and n.detector in ran and n.uid not in kept
    ]
    store.upsert([*fresh, *stale])
    store.link(
        Flags(start=flag.uid, end=f.subject, source=SOURCE)
        for flag, f in zip(flags, findings, strict=True)
        if flag.uid in kept
    )
    return Written(len(fresh), len(stale), len(created))


def detect(
    engine: Engine,
    store: GraphStore,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    only: Sequence[str] = (),
    config: Mapping[str, Mapping[str, Any]] | None = None,
    write_flags: bool = True,
) -> tuple[list[Finding], Written | None]:
    """Run detectors over the ledger's events of [since, until) (default: the last 30 days) and write the flags."""
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=30)
    detectors = configure(config, only)
    data = Inputs(frame.from_ledger(engine, start, end), Context.from_store(store), start, end)
    findings = run(detectors, data)
    written = write(store, findings, [d.name for d in detectors], datetime.now(UTC)) if write_flags else None
    return findings, written


def evaluate(findings: Iterable[Finding], truth: Iterable[Truth], detectors: Iterable[Detector]) -> list[Score]:
    """Precision and recall of each detector's findings against the planted truth, by (detector, subject)."""
    found = {(f.detector, f.subject) for f in findings}
    planted = {(t.detector, t.subject) for t in truth}
    scores = []
    for detector in detectors:
        mine = {s for d, s in found if d == detector.name}
        real = {s for d, s in planted if d == detector.name}
        scores.append(Score(detector.name, len(real), len(mine), len(mine & real)))
    return scores
