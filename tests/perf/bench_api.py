"""Benchmark of the GraphQL API with 50 concurrent clients, beside the same reads through the driver.

A generated community is loaded into scratch databases (graph and PostGIS, dropped at the end);
`uvicorn api.app:create_app` serves it from processes of its own (one per CPU, as `twinhood
serve`, unless `--workers`; rate limit off), and a `police` account logs in. Three workloads, each
run by the baseline and by the API, alternating, best of `--rounds`:

- (a) one entity by uid: a person with a few fields. Baseline: the store's `nodes_by_uid`
  statement on the bare driver, as the store reads (an auto-commit transaction in a read
  session, as the API's reads are too).
- (b) building → houses → residents (3 levels): the API resolves it with DataLoaders in three
  graph reads; the baseline runs the same three statements (building by uid, its houses through
  its units, the residents of all those houses) through the bare driver.
- (c) a person's holistic profile: baseline, `analytics.profile.build_profile` called directly
  (the same graph and SQL reads without HTTP, GraphQL, auth and audit).

Beside both, `tests/perf/floor_app.py` answers (a) and (b): the same reads through strawberry on
uvicorn with nothing of ours (no auth, masking, audit, pydantic), served in as many processes.
floor ÷ baseline is what the framework costs whatever we write; API ÷ floor is what we add.

Clients: the baseline runs in as many processes as the API, each with its share of the 50
threads and a driver of its own, so both sides have the same parallelism; the API's clients are
50 asyncio tasks over HTTP/1.1 keep-alive connections (aiohttp) in this process. All run on the
same 2 cores as the server. Figures: requests/s and latency p50/p99 per side; target (issue 7)
API overhead ≤ 1.5x the baseline on (a) and (b), judged on requests/s. Run with `scripts/bench
api [--residents N] [--workers N]`."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.pool import Pool
from typing import Any

import aiohttp
import httpx
from sqlalchemy import Engine

from analytics.profile import build_profile
from api.anchoring import map_community, place
from api.security import Security, SecuritySettings
from graph import GraphSettings, GraphStore, cypher
from graph.generator import Community, generate
from graph.masking import Viewer
from graph.store import _neighbours_query
from spatial import SpatialSettings
from spatial.db import make_engine
from tests.perf.floor_app import HOUSES, RESIDENTS
from tests.perf.scratch import scratch_graph, scratch_postgis

TARGET = 1.5
PASSWORD = "benchmark password"
ENTITY = "query($u: ID!) { entity(uid: $u) { uid label caption ... on Person { name phone sex birthDate } } }"
NESTED = "query($u: ID!) { entity(uid: $u) { uid ... on Building { houses { uid room residents { uid name } } } } }"
PROFILE = "query($u: ID!) { profile(uid: $u) }"
FLOORED = ("a", "b")  # the workloads `tests/perf/floor_app.py` answers too


@dataclass
class Run:
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: int) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000


@dataclass(frozen=True)
class Target:
    """Where the baseline's processes read: the scratch graph and PostGIS databases, as whom."""

    graph: GraphSettings
    database: str
    postgis_url: str
    viewer: Viewer


class Baseline:
    """The baseline's three workloads through the bare driver, in one process."""

    def __init__(self, target: Target) -> None:
        self.store = GraphStore.from_settings(target.graph, target.database)
        self.engine = make_engine(SpatialSettings(database_url=target.postgis_url))
        self.viewer = target.viewer

    def a(self, uid: str) -> object:
        return self.store._read(cypher.nodes_by_uid("Person"), uids=[uid])

    def b(self, uid: str) -> object:
        read = self.store._read
        read(cypher.nodes_by_uid("Building"), uids=[uid])
        houses = read(_neighbours_query("Building", HOUSES), uids=[uid], limit=100_000)
        house_uids = [r["props"]["uid"] for r in houses]
        return read(_neighbours_query("House", RESIDENTS), uids=house_uids, limit=100_000)

    def c(self, uid: str) -> object:
        return build_profile(uid, self.viewer, self.store, self.engine)


_baseline: Baseline | None = None
_start: Any = None  # a barrier: every process starts its clock together


def _open(target: Target, start: Any) -> None:
    global _baseline, _start
    _baseline, _start = Baseline(target), start


def _share(workload: str, keys: list[str], clients: int) -> tuple[float, float, list[float]]:
    """Run one process's share of a workload from `clients` threads; return its start, end and latencies."""
    assert _baseline is not None
    work: Callable[[str], object] = getattr(_baseline, workload)

    def timed(key: str) -> float:
        started = time.perf_counter()
        work(key)
        return time.perf_counter() - started

    _start.wait()
    started = time.perf_counter()  # CLOCK_MONOTONIC: comparable between processes
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(timed, keys))
    return started, time.perf_counter(), latencies


def baseline(pool: Pool, processes: int, workload: str, keys: list[str], clients: int) -> Run:
    """Run `workload` on every key from `processes` processes of `clients / processes` threads each."""
    shares = pool.starmap(_share, [(workload, keys[i::processes], clients // processes) for i in range(processes)])
    return Run(
        max(end for _, end, _ in shares) - min(start for start, _, _ in shares), [t for *_, ts in shares for t in ts]
    )


def over_http(base: str, token: str, query: str, keys: list[str], clients: int) -> Run:
    """POST `query` for every key from `clients` concurrent tasks on keep-alive connections; fail on any error.

    aiohttp, not httpx: httpx's async pool itself slows down as concurrent connections grow, which
    would be measured as the API's slowness.
    """

    async def go() -> Run:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for key in keys:
            queue.put_nowait(key)
        latencies: list[float] = []
        connector = aiohttp.TCPConnector(limit=clients)
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(base, headers=headers, connector=connector) as http:

            async def worker() -> None:
                while not queue.empty():
                    key = queue.get_nowait()
                    started = time.perf_counter()
                    async with http.post("/graphql", json={"query": query, "variables": {"u": key}}) as answer:
                        body = await answer.json()
                    latencies.append(time.perf_counter() - started)
                    if answer.status != 200 or body.get("errors"):
                        raise RuntimeError(f"{answer.status}: {str(body)[:300]}")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            return Run(time.perf_counter() - started, latencies)

    return asyncio.run(go())


def load(community: Community, store: GraphStore, engine: Engine) -> None:
    placement = place(community)
    store.upsert(community.nodes)
    store.link(community.links)
    with engine.begin() as conn:
        map_community(conn, community, placement)


def serve(
    store: GraphStore, engine: Engine, workers: int, app: str = "api.app:create_app"
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `app` (the API unless told; `workers` processes) on the scratch databases; return it and its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "TWINHOOD_NEO4J_DATABASE": store.database,
        "TWINHOOD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "TWINHOOD_RATE_LIMIT_PER_MINUTE": "0",
        "TWINHOOD_WORKERS": str(workers),
    }
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port)]
    options = ["--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "300", "--workers", str(workers)]
    server = subprocess.Popen([*command, *options], env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError(f"{app} did not start")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000, help="requests per workload and side, for (a)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=SecuritySettings().workers, help="API processes, as `twinhood serve`"
    )
    args = parser.parse_args(argv)
    settings = GraphSettings()
    community = generate(args.residents, args.seed)
    rng = random.Random(args.seed)
    people = [n.uid for n in community.nodes if n.label == "Person"]
    buildings = [n.uid for n in community.nodes if n.label == "Building"]
    residents = sorted({link.start for link in community.links if link.type == "LIVES_IN"})
    keys = {
        "a": [rng.choice(people) for _ in range(args.requests)],
        "b": [rng.choice(buildings) for _ in range(max(200, args.requests // 4))],
        "c": [rng.choice(residents) for _ in range(max(200, args.requests // 4))],
    }
    print(
        f"community: {args.residents:,} residents, {len(community.nodes):,} nodes, {len(buildings)} buildings; "
        f"{args.clients} concurrent clients; API in {args.workers} processes; server {settings.neo4j_uri}"
    )
    with scratch_graph(settings) as store, scratch_postgis() as engine:
        load(community, store, engine)
        security = Security(engine)
        security.users.seed_roles()
        security.users.create_user("bench", PASSWORD, ["police"])
        viewer = Viewer("bench", frozenset(security.users.principal("bench").permissions))  # type: ignore[union-attr]
        target = Target(settings, store.database, engine.url.render_as_string(hide_password=False), viewer)
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(args.workers, _open, (target, context.Barrier(args.workers)))
        server, base = serve(store, engine, args.workers)
        floor, floor_base = serve(store, engine, args.workers, "tests.perf.floor_app:create_app")
        try:
            token = httpx.post(f"{base}/auth/login", json={"username": "bench", "password": PASSWORD}).json()
            token = token["access_token"]
            workloads = [
                ("a", "(a) entity by uid", ENTITY),
                ("b", "(b) building→houses→residents", NESTED),
                ("c", "(c) profile", PROFILE),
            ]
            for key, _, query in workloads:  # warm every side: JIT, pools, caches
                baseline(pool, args.workers, key, keys[key][:100], args.clients)
                over_http(base, token, query, keys[key][:100], args.clients)
                if key in FLOORED:
                    over_http(floor_base, token, query, keys[key][:100], args.clients)
            best: dict[tuple[str, str], Run] = {}
            for _ in range(args.rounds):
                for key, _, query in workloads:
                    runs = {
                        "baseline": baseline(pool, args.workers, key, keys[key], args.clients),
                        "api": over_http(base, token, query, keys[key], args.clients),
                    }
                    if key in FLOORED:
                        runs["floor"] = over_http(floor_base, token, query, keys[key], args.clients)
                    for side, run in runs.items():
                        if (key, side) not in best or run.rate > best[key, side].rate:
                            best[key, side] = run
        finally:
            pool.terminate()
            for process in (server, floor):
                process.terminate()
                process.wait(20)
            security.close()

    print(f"\n{'workload':<32}{'side':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    verdicts = []
    for key, name, _ in workloads:
        for side in ("baseline", "floor", "api"):
            if (key, side) in best:
                run = best[key, side]
                print(f"{name:<32}{side:<10}{run.rate:>9,.0f}{run.pct(50):>9.1f}{run.pct(99):>9.1f}")
        overhead = best[key, "baseline"].rate / best[key, "api"].rate
        p50 = best[key, "api"].pct(50) / best[key, "baseline"].pct(50)
        gated = key in ("a", "b")
        verdict = "PASS" if overhead <= TARGET else "FAIL"
        print(
            f"{'':<32}overhead: {overhead:.2f}x req/s, {p50:.2f}x p50"
            + (f" (target ≤ {TARGET}x) {verdict}" if gated else " (not gated)")
        )
        if key in FLOORED:
            floor_rate = best[key, "floor"].rate
            print(
                f"{'':<32}of which strawberry's floor: {best[key, 'baseline'].rate / floor_rate:.2f}x, "
                f"our layers on top: {floor_rate / best[key, 'api'].rate:.2f}x"
            )
        if gated:
            verdicts.append(overhead <= TARGET)
    mean = statistics.fmean(best[k, "api"].rate for k in ("a", "b"))
    print(f"\nAPI mean over (a) and (b): {mean:,.0f} req/s")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
