"""Benchmark of the risk detectors: a batch run over about a million events, events per second.

A generated community's simulated month (6,000 residents by default: ~1 million events) is run
through every detector in memory. The baseline in the same run is the cheapest honest pass over the
same events: joining them to their devices and counting passes per subject and day, which every
detector needs at least once. The figure to watch is events/s for the whole batch; the ratio says
how much the fourteen detectors cost on top of touching each event once. Also reported: reading
the same window back from the PostgreSQL ledger is left to `scripts/bench ingest`, which measures
the ledger.
"""

from __future__ import annotations

import argparse
import statistics
import time

from analytics.context import Context
from analytics.detectors import Inputs, configure
from analytics.simulate import simulate
from graph.generator import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    community = generate(args.residents, 7)
    started = time.perf_counter()
    activity = simulate(community, 30, 7)
    events = activity.frame()
    print(f"{args.residents:,} residents: {len(events):,} events simulated in {time.perf_counter() - started:.1f} s")
    context = Context.from_graph([*community.nodes, *activity.nodes], [*community.links, *activity.links])
    detectors = configure()
    baseline, ours = [], []
    per_detector: dict[str, list[float]] = {d.name: [] for d in detectors}
    for _ in range(args.repeat):
        data = Inputs(events, context, activity.start, activity.end)
        t = time.perf_counter()
        data.sightings.groupby(["subject", "day"]).size()
        baseline.append(time.perf_counter() - t)
        data = Inputs(events, context, activity.start, activity.end)
        t = time.perf_counter()
        for detector in detectors:
            d0 = time.perf_counter()
            list(detector.detect(data))
            per_detector[detector.name].append(time.perf_counter() - d0)
        ours.append(time.perf_counter() - t)
    b, o = statistics.median(baseline), statistics.median(ours)
    print(f"{'':24}{'seconds':>10}{'events/s':>14}")
    print(f"{'baseline (one pass)':24}{b:10.2f}{len(events) / b:14,.0f}")
    print(f"{'all 14 detectors':24}{o:10.2f}{len(events) / o:14,.0f}   ratio {o / b:.1f}x the baseline")
    for name, times in sorted(per_detector.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {name:22}{statistics.median(times):10.2f}")


if __name__ == "__main__":
    main()
