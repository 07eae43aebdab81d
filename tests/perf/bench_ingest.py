"""Benchmark of ingestion end to end: MQTT publish → ledger (PostgreSQL) → graph, on this machine.

A generated community is loaded into a scratch graph database; a scratch PostgreSQL database is
migrated; an ingest worker runs as a separate process (`python -m ingest.worker`, as in
production) with its persistent MQTT session. This process publishes generated events (plate
reads, face captures, door openings, meter readings, smoke and environment readings) in batched
JSON-array messages at QoS 1, paced to `--rate` events/s (0: as fast as the broker takes them);
the messages are made before the clock starts, as devices are other machines.
The first event of every message is a probe: a poller notes when it becomes visible in the
graph (its Event node; for telemetry projected as roll-ups, its device's `last_reading_at`
reaching it). Printed: publish rate, ledger rate, end-to-end rate (events / first publish → last
visible), publish → visible latency p50/p95/p99/max and graph items written per event. Targets
(issue 5): ≥ 5,000 events/s end to end, p99 < 2 s.

Two runs side by side, each on fresh databases: the baseline projects every event as an Event
node (`TWINHOOD_TELEMETRY_NODES=true`, the behaviour before telemetry roll-ups), then the default,
where periodic telemetry rolls up onto its Device and only readings that move an alarm become nodes.

Run: `.venv/bin/python -m tests.perf.bench_ingest [--events 200000] [--per-message 100] [--rate 5000]
[--only baseline|rollups] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import Engine, text

from graph import GraphSettings, GraphStore, heap
from graph import uid as uids
from graph.generator import generate
from graph.ontology import Device, House, Person, Vehicle
from ingest import KINDS, IngestSettings
from tests.perf.scratch import scratch_graph, scratch_postgis

ROOT = Path(__file__).resolve().parents[2]


class EventMaker:
    """Generated events for a community's devices, ids `b{n}` so probes are easy to find."""

    def __init__(self, store: GraphStore, residents: int, seed: int) -> None:
        community = generate(residents, seed=seed)
        started = time.perf_counter()
        store.upsert(community.nodes)
        store.link(community.links)
        self.load_s = time.perf_counter() - started
        self.nodes = len(community.nodes)
        self.rng = random.Random(seed)
        devices = [n for n in community.nodes if isinstance(n, Device)]
        self.by_category: dict[str, list[str]] = {}
        for d in devices:
            self.by_category.setdefault(d.category, []).append(d.code)
        self.plates = [n.plate for n in community.nodes if isinstance(n, Vehicle)]
        self.people = [n.uid for n in community.nodes if isinstance(n, Person)]
        self.houses = [n.uid for n in community.nodes if isinstance(n, House)]
        self.n = 0
        self.t0 = datetime.now(UTC) - timedelta(days=1)

    def event(self) -> tuple[str, dict[str, Any]]:
        """Return (device category, event)."""
        self.n += 1
        r = self.rng.random()
        ts = (self.t0 + timedelta(milliseconds=self.n * 10)).isoformat()
        base = {"id": f"b{self.n}", "ts": ts}
        pick = self.rng.choice
        if r < 0.25:
            known = self.plates and self.rng.random() < 0.8
            plate = pick(self.plates) if known else f"京Q{self.rng.randint(10000, 99999)}"
            device = pick(self.by_category["plate_camera"])
            return "plate_camera", {**base, "kind": "plate_read", "device": device, "plate": plate, "direction": "in"}
        if r < 0.40:
            who = (
                {"person": pick(self.people)}
                if self.rng.random() < 0.7
                else {"face_id": f"f{self.rng.randint(1, 5000)}"}
            )
            return "face_camera", {
                **base,
                "kind": "face_capture",
                "device": pick(self.by_category["face_camera"]),
                **who,
            }
        if r < 0.55:
            device = pick(self.by_category["access_control"])
            opening = {"kind": "access_open", "device": device, "method": "card", "person": pick(self.people)}
            return "access_control", {**base, **opening}
        if r < 0.85:
            meter = pick(["water_meter", "power_meter", "gas_meter"])
            kind, unit = {"water_meter": ("water", "m³"), "power_meter": ("power", "kWh"), "gas_meter": ("gas", "m³")}[
                meter
            ]
            reading = {"meter": kind, "reading": round(self.rng.uniform(0, 9999), 2), "unit": unit}
            return meter, {**base, "kind": "meter_reading", "device": pick(self.by_category[meter]), **reading}
        if r < 0.97:
            status = "alarm" if self.rng.random() < 0.01 else "normal"
            device = pick(self.by_category["smoke_detector"])
            return "smoke_detector", {**base, "kind": "smoke", "device": device, "status": status}
        device = pick(self.by_category["environment"])
        reading = {"pm25_ug_m3": round(self.rng.uniform(5, 150), 1), "noise_db": 45.0}
        return "environment", {**base, "kind": "environment", "device": device, **reading}


def start_worker(
    engine: Engine, store: GraphStore, tag: str, log: Path, env: dict[str, str], role: str | None = None
) -> subprocess.Popen[bytes]:
    """Start `python -m ingest.worker` (`role`: None, "--no-project" or "--project-only") and wait until it is up."""
    marker = "mqtt connected to publish" if role == "--project-only" else "mqtt subscribed"
    log = log.with_suffix(f".{role.strip('-') if role else 'all'}.log")
    with log.open("ab") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ingest.worker",
                "--database-url",
                engine.url.render_as_string(hide_password=False),
                "--graph-database",
                store.database,
                "--client-id",
                tag,
                "--topic-root",
                tag,
                *([role] if role else []),
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=err,
        )
    deadline = time.monotonic() + 30
    while marker not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    return process


class Prober(threading.Thread):
    """Poll the graph for probes; note when each becomes visible.

    An event probe is visible when its Event node is; a telemetry probe (when telemetry rolls up)
    when its device's `last_reading_at` has reached the probe's time. Each poll asks for the
    `window` oldest probes not yet seen (events are projected in ledger order): a probe that
    became visible before older ones is noted late, so latencies err high, and polling costs the
    graph server little of the time it is measured on.
    """

    window = 200

    def __init__(self, store: GraphStore, rollups: bool) -> None:
        super().__init__(daemon=True)
        self.store, self.rollups = store, rollups
        self.sent: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.waiting: dict[str, None] = {}  # sent, not yet seen, oldest first
        self.readings: dict[str, tuple[str, datetime]] = {}  # probe uid → (device uid, ts)
        self.lock = threading.Lock()
        self.done = threading.Event()

    def add(self, event: dict[str, Any], at: float) -> None:
        event_uid = uids.event(event["id"])
        with self.lock:
            self.sent[event_uid] = at
            self.waiting[event_uid] = None
            if self.rollups and KINDS[event["kind"]].telemetry:
                self.readings[event_uid] = (uids.device(event["device"]), datetime.fromisoformat(event["ts"]))

    def outstanding(self, most: int | None = None) -> list[str]:
        """The oldest `most` probes (all when None) not seen yet: no scan of every probe sent, 20 times a second."""
        with self.lock:
            return list(islice(self.waiting, most))

    def run(self) -> None:
        while not self.done.is_set():
            waiting = self.outstanding(self.window)
            events = [u for u in waiting if u not in self.readings]
            readings = {u: self.readings[u] for u in waiting if u in self.readings}
            found = self.store.existing(events) if events else set()
            if readings:
                latest = self.store.properties({d for d, _ in readings.values()})
                found |= {
                    u
                    for u, (d, ts) in readings.items()
                    if (at := latest.get(d, {}).get("last_reading_at")) is not None and at >= ts
                }
            now = time.time()
            with self.lock:
                for u in found:
                    self.seen.setdefault(u, now)
                    self.waiting.pop(u, None)
            time.sleep(0.05)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(args: argparse.Namespace, rollups: bool) -> dict[str, Any]:
    """Run one benchmark on fresh databases; print its figures and return them."""
    settings = IngestSettings()
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        "TWINHOOD_BATCH_MAX": str(args.batch_max),
        "TWINHOOD_BATCH_MS": "50",
        "TWINHOOD_PROJECT_BATCH": str(args.project_batch),
        "TWINHOOD_MQTT_CONNECTIONS": str(args.connections),
        "TWINHOOD_TELEMETRY_NODES": "false" if rollups else "true",
        **({"TWINHOOD_MQTT_SHARED_GROUP": tag} if args.connections > 1 else {}),
    }
    log_path = Path(f"/tmp/{tag}.log")
    figures: dict[str, Any] = {}
    with scratch_postgis() as engine, scratch_graph(GraphSettings()) as store:
        maker = EventMaker(store, args.residents, seed=7)
        print(f"community: {maker.nodes} nodes loaded in {maker.load_s:.1f} s; worker logs {log_path}.*")
        before = sum(store.counts().values())
        if args.processes == 2:
            workers = [
                start_worker(engine, store, tag, log_path, env, "--no-project"),
                start_worker(engine, store, tag, log_path, env, "--project-only"),
            ]
        else:
            workers = [start_worker(engine, store, tag, log_path, env)]
        prober = Prober(store, rollups)
        prober.start()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{tag}-pub", protocol=MQTTProtocolVersion.MQTTv5)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.connect(settings.mqtt_host, settings.mqtt_port)
        client.loop_start()
        ledger_done: list[float] = []
        stop_watching = threading.Event()

        def watch_ledger() -> None:
            while not stop_watching.is_set():
                with engine.connect() as conn:
                    if conn.execute(text("SELECT count(*) FROM event_ids")).scalar_one() >= args.events:
                        ledger_done.append(time.time())
                        return
                time.sleep(0.2)

        watcher = threading.Thread(target=watch_ledger, daemon=True)
        watcher.start()
        # the devices' messages are made before the clock starts: a load generator on the measured
        # machine should not take CPU from what it measures (real devices are other machines)
        batches: list[list[tuple[str, dict[str, Any], bytes]]] = []
        for start in range(0, args.events, args.per_message):
            messages: dict[str, list[dict[str, Any]]] = {}
            for _ in range(min(args.per_message, args.events - start)):
                category, event = maker.event()
                messages.setdefault(category, []).append(event)
            batches.append(
                [
                    (f"{tag}/E01/{category}/batch/events", events[0], json.dumps(events, ensure_ascii=False).encode())
                    for category, events in messages.items()
                ]
            )
        heap.settle()  # nor should its collector walk those 200,000 events again and again while it publishes
        first = time.time()
        infos = []
        for number, batch in enumerate(batches):
            for topic, probe, payload in batch:
                prober.add(probe, time.time())
                infos.append(client.publish(topic, payload, qos=1))
            if args.rate:
                ahead = first + (number + 1) * args.per_message / args.rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
        for info in infos:
            info.wait_for_publish(120)
        published = time.time()
        stalled_since, last_missing = time.time(), len(prober.waiting)
        while (missing := len(prober.waiting)) and time.time() - stalled_since < 60:
            if missing != last_missing:
                stalled_since, last_missing = time.time(), missing
            time.sleep(0.2)
        if missing:
            print(f"!! {missing} probes never became visible (no progress for 60 s): see the worker log")
        prober.done.set()
        stop_watching.set()
        watcher.join(60)
        client.disconnect()
        client.loop_stop()
        counters = []
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            out, _ = worker.communicate(timeout=120)
            counters.append(json.loads(out.decode().splitlines()[-1]) if out.strip() else {})
        with engine.connect() as conn:
            ledgered = conn.execute(text("SELECT count(*) FROM event_ledger")).scalar_one()
            pending = conn.execute(text("SELECT count(*) FROM ledger_pending")).scalar_one()
            alarms = conn.execute(text("SELECT count(*), coalesce(sum(count), 0) FROM alarm_state")).one()
        counts = store.counts()
        latencies = [prober.seen[u] - t for u, t in prober.sent.items() if u in prober.seen]
        last_visible = max(prober.seen.values()) if prober.seen else float("nan")
        n = args.events
        figures["publish"] = n / (published - first)
        figures["ledger"] = n / (ledger_done[0] - first) if ledger_done else float("nan")
        figures["end_to_end"] = n / (last_visible - first) if not missing else float("nan")
        figures["p50"] = statistics.median(latencies) if latencies else float("nan")
        figures["p99"] = percentile(latencies, 99) if latencies else float("nan")
        figures["items_per_event"] = (sum(counts.values()) - before) / n
        figures["missing"] = missing
        print(
            f"events {n:,} in {len(prober.sent):,} messages of ≤ {args.per_message}; rate asked: {args.rate or 'max'}"
        )
        print(f"publish:    {figures['publish']:8,.0f} events/s ({published - first:.1f} s)")
        if ledger_done:
            took = ledger_done[0] - first
            print(f"ledger:     {figures['ledger']:8,.0f} events/s (all {n:,} ledgered after {took:.1f} s)")
        span = last_visible - first
        print(f"end to end: {n / span:8,.0f} events/s (last probe visible after {span:.1f} s)")
        if latencies:
            p95 = percentile(latencies, 95)
            print(
                f"publish → visible in graph, {len(latencies):,} probes: p50 {figures['p50']:.2f} s, "
                f"p95 {p95:.2f} s, p99 {figures['p99']:.2f} s, max {max(latencies):.2f} s"
            )
        print(
            f"ledger rows {ledgered:,}, still pending {pending:,}; graph Event nodes {counts['Event']:,}, "
            f"RECORDED_BY {counts['RECORDED_BY']:,}, CONCERNS {counts['CONCERNS']:,}, "
            f"PASSED_THROUGH {counts['PASSED_THROUGH']:,}; {figures['items_per_event']:.2f} graph items per event; "
            f"alarms {alarms[0]} ({alarms[1]} events)"
        )
        for c in counters:
            print(f"worker counters: {c}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument(
        "--rate",
        type=float,
        default=5000,
        help="events/s to publish at (default: the target); 0 = as fast as possible, which overflows Mosquitto's "
        "default per-client queue (max_queued_messages 1000) once the ledger falls behind: the broker then drops",
    )
    parser.add_argument("--residents", type=int, default=600)
    parser.add_argument("--connections", type=int, default=1, help="worker MQTT connections (shared subscription)")
    parser.add_argument(
        "--processes", type=int, choices=(1, 2), default=2, help="1: one worker; 2: a consumer and a projector"
    )
    parser.add_argument("--batch-max", type=int, default=5000)
    parser.add_argument("--project-batch", type=int, default=5000)
    parser.add_argument("--only", choices=("baseline", "rollups"), help="run one configuration only")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration (medians are printed)")
    args = parser.parse_args(argv)
    modes = [m for m in ("baseline", "rollups") if args.only in (None, m)]
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for round_ in range(args.repeat):
        for mode in modes:
            print(f"== {mode}, round {round_ + 1} of {args.repeat}")
            results[mode].append(run(args, rollups=mode == "rollups"))
    rows = [
        ("publish, events/s", "publish", "{:,.0f}"),
        ("ledger, events/s", "ledger", "{:,.0f}"),
        ("end to end, events/s", "end_to_end", "{:,.0f}"),
        ("publish → graph p50, s", "p50", "{:.2f}"),
        ("publish → graph p99, s", "p99", "{:.2f}"),
        ("graph items per event", "items_per_event", "{:.2f}"),
    ]
    print(f"\nmedians of {args.repeat} run(s):")
    print(f"{'':26}" + "".join(f"{m:>18}" for m in modes))
    for label, key, fmt in rows:
        cells = [fmt.format(statistics.median(r[key] for r in results[m])) for m in modes]
        print(f"{label:26}" + "".join(f"{c:>18}" for c in cells))
    for mode in modes:
        best = results[mode]
        met = any(r["end_to_end"] >= 5000 and r["p99"] < 2 for r in best)
        print(f"{mode}: targets (≥ 5,000 events/s end to end, p99 < 2 s) {'met' if met else 'NOT met'} in a run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
