"""The `twinhood` command line: the local stack, the demo community and graph look-ups."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import stack
from api.bootstrap import Services, build_services
from graph import GraphSettings, Subgraph, TwinhoodError, heap
from spatial import SpatialError, import_gis
from spatial.search import Mode
from spatial.search import search as search_documents_by

if TYPE_CHECKING:
    from analytics.simulate import Activity
    from graph.generator import Community
    from ingest.projector import ProjectionStats, Projector

app = typer.Typer(
    help="twinhood: a residential community as a living knowledge graph.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


def main() -> None:
    """Run the CLI, turning our errors (and refused values) into one clear line and exit code 1."""
    try:
        app()
    except (TwinhoodError, SpatialError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)


@contextmanager
def _services() -> Iterator[Services]:
    services = build_services()
    try:
        yield services
    finally:
        services.close()


def _progress() -> Progress:
    """A progress display for long work: a bar where the total is known, a count where it is not."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def _services_table(services: list[stack.Service]) -> Table:
    table = Table("service", "address", "state", title="twinhood stack")
    for s in services:
        table.add_row(s.name, s.url, s.action)
    return table


@app.command()
def up() -> None:
    """Start (installing if needed) the graph server, PostgreSQL/PostGIS and Mosquitto."""
    services = stack.up(report=lambda msg: console.print(f"[cyan]•[/] {msg}"))
    console.print(_services_table(services))


@app.command()
def down() -> None:
    """Stop the servers that `up` started itself (PostgreSQL, a system service, keeps running)."""
    stopped = stack.down(report=lambda msg: console.print(f"[cyan]•[/] {msg}"))
    if not stopped:
        console.print("nothing to stop")


def load_community(
    services: Services, residents: int, seed: int, gis: Path | None = None, gis_layer: str | None = None
) -> Community:
    """Generate a community, place it on the map and load graph, layers and search; return it as placed."""
    from api.anchoring import footprints_from, map_community, place
    from graph.generator import generate

    started = time.perf_counter()
    with console.status(f"generating {residents:,} residents (seed {seed})"):
        community = generate(residents, seed)
        placement = place(community, footprints_from(str(gis), gis_layer) if gis else None)
    where = f"on the footprints of {gis.name}" if gis else "on drawn footprints"
    console.print(
        f"[cyan]•[/] generated {len(community.nodes):,} nodes and {len(community.links):,} "
        f"relationships {where} in {time.perf_counter() - started:.1f} s"
    )
    store = services.graph
    with _progress() as progress:
        nodes = progress.add_task("nodes", total=len(community.nodes))
        store.progress = lambda n: progress.advance(nodes, n)
        store.upsert(community.nodes)
        links = progress.add_task("relationships", total=len(community.links))
        store.progress = lambda n: progress.advance(links, n)
        store.link(community.links)
    store.progress = None
    with console.status("writing map layers and the search index"), services.engine.begin() as conn:
        rows = map_community(conn, community, placement)
    console.print("[cyan]•[/] " + ", ".join(f"{n:,} {layer}" for layer, n in rows.items()))
    return community


GisOption = Annotated[
    Path | None,
    typer.Option(exists=True, dir_okay=False, help="place the community on this file's building footprints"),
]


@app.command()
def generate(
    residents: Annotated[int, typer.Option(min=1, help="people living in the community")] = 2000,
    seed: Annotated[int, typer.Option(help="same seed, same community")] = 7,
    gis: GisOption = None,
    gis_layer: Annotated[str | None, typer.Option(help="layer of the GIS file holding buildings")] = None,
) -> None:
    """Generate a synthetic community and load it into graph, map and search (idempotent for a seed)."""
    with _services() as services:
        summary = load_community(services, residents, seed, gis, gis_layer).summary()
    _print_counts(summary, "loaded")


DEMO_ADMIN = ("admin", "twinhood-demo-admin")
"""The demo's administrator account (created by `twinhood demo` only; never in production)."""
DEMO_BUILDING = "building:E01B01"
"""The demo building that `twinhood demo --ifc` gives an IFC model (and so a 3D scene)."""


def _demo_model(services: Services, path: Path) -> None:
    """Import an IFC model as the demo building, standing where the building stands on the map."""
    from bim import import_ifc

    building = services.graph.get(DEMO_BUILDING)
    where = (getattr(building, "lon", None), getattr(building, "lat", None))
    location = (where[0], where[1]) if where[0] is not None and where[1] is not None else None
    with console.status(f"importing {path.name} as {DEMO_BUILDING} for the 3D view"):
        summary = import_ifc(path, services.graph, services.engine, building_uid=DEMO_BUILDING, location=location)
    console.print(f"[cyan]•[/] {path.name}: {summary.storeys} storeys, {summary.spaces} spaces → {DEMO_BUILDING}")


@app.command()
def demo(
    residents: Annotated[int, typer.Option(min=1)] = 2000,
    seed: Annotated[int, typer.Option()] = 7,
    gis: GisOption = None,
    gis_layer: Annotated[str | None, typer.Option()] = None,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API when loaded")] = True,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    days: Annotated[int, typer.Option(min=0, help="days of simulated events to load and detect over (0: none)")] = 30,
    ifc: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help=f"an IFC model to stand as {DEMO_BUILDING}, for the 3D view"),
    ] = None,
) -> None:
    """The main job: start the stack, load a demo community and its month of events, run the detectors, serve."""
    up()
    with _services() as services:
        community = load_community(services, residents, seed, gis, gis_layer)
        if ifc is not None:
            _demo_model(services, ifc)
        if days:
            activity = load_month(services, community, max(days, 21))
            run_detectors(services, activity.start, activity.end)
        _print_counts(services.graph.counts(), "in the graph now")
        services.security.users.seed_roles()
        services.security.users.ensure_user(DEMO_ADMIN[0], DEMO_ADMIN[1], ["admin"])
    settings = GraphSettings()
    console.print(
        "\n[bold]Where to look[/]\n"
        f"  graph (Bolt):    {settings.neo4j_uri}  database {settings.neo4j_database!r}\n"
        f"  ArcadeDB studio: {settings.graph_admin_url}  (user {settings.neo4j_user})\n"
        f"  API:             http://127.0.0.1:{port}/healthz, /tiles/buildings.json, /docs\n"
        f"  GraphQL:         http://127.0.0.1:{port}/graphql  (user {DEMO_ADMIN[0]!r}, password {DEMO_ADMIN[1]!r})\n"
        f"  web UI:          http://127.0.0.1:{port}/  (same user; map, alarm desk, relationships, profiles;\n"
        f"                   a building in 3D: http://127.0.0.1:{port}/#/building/{DEMO_BUILDING} after --ifc)\n"
        "  try (in .venv/bin): twinhood show building:E01B01\n"
        "        twinhood neighbours house:E01B01-1-101 --hops 2\n"
        "        twinhood residents house:E01B01-1-101\n"
        "        twinhood path person:P000001 grid:E01G01\n"
        "        twinhood search 朝阳 --mode fulltext\n"
        "        twinhood detect --dry-run --since 2025-12-01 --until 2026-01-01 -d group_rental\n"
        "        twinhood counts"
    )
    if serve_api:
        serve(host="127.0.0.1", port=port)


def _print_counts(counts: dict[str, int], title: str) -> None:
    table = Table("label / relationship", "count", title=title)
    for key, n in counts.items():
        table.add_row(key, f"{n:,}")
    console.print(table)


def _json(data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _subgraph(sub: Subgraph) -> dict[str, Any]:
    return {"nodes": [asdict(n) for n in sub.nodes], "edges": [asdict(e) for e in sub.edges]}


@app.command()
def show(uid: str) -> None:
    """Print one entity by uid."""
    with _services() as services:
        store = services.graph
        node = store.get(uid)
    _json({"label": node.label, **node.model_dump(mode="json")})


@app.command()
def neighbours(
    uid: str,
    hops: Annotated[int, typer.Option(min=1, max=3)] = 1,
    label: Annotated[list[str] | None, typer.Option(help="keep nodes of these labels")] = None,
    rel: Annotated[list[str] | None, typer.Option(help="follow only these relationship types")] = None,
) -> None:
    """Print the k-hop neighbourhood of an entity as nodes and edges."""
    with _services() as services:
        store = services.graph
        _json(_subgraph(store.neighbourhood(uid, hops=hops, labels=label, rel_types=rel)))


@app.command()
def path(
    start: str, end: str, rel: Annotated[list[str] | None, typer.Option(help="follow only these types")] = None
) -> None:
    """Print a shortest path between two entities."""
    with _services() as services:
        store = services.graph
        found = store.shortest_path(start, end, rel_types=rel)
    if found is None:
        err.print(f"no path between {start} and {end} within 8 hops")
        raise typer.Exit(1)
    _json(_subgraph(found))


@app.command()
def residents(house: str) -> None:
    """Print the residence history of a house, oldest first."""
    with _services() as services:
        store = services.graph
        history = store.residence_history(house)
    table = Table("person", "name", "role", "registered", "since", "until", title=house)
    for r in history:
        table.add_row(
            r.person,
            r.name,
            r.role,
            "yes" if r.registered else "no",
            f"{r.since:%Y-%m-%d}" if r.since else "",
            f"{r.until:%Y-%m-%d}" if r.until else "",
        )
    console.print(table)


imports = typer.Typer(help="Bring real data in: GIS files, IFC models.", no_args_is_help=True)
app.add_typer(imports, name="import")


@imports.command("gis")
def import_gis_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    layer: Annotated[str | None, typer.Option(help="layer inside the file (default: every layer we can map)")] = None,
    target: Annotated[str | None, typer.Option(help="our layer to import it into, e.g. buildings")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that names none, e.g. EPSG:3857")] = None,
) -> None:
    """Import GeoJSON, GeoPackage or OSM XML/PBF into the map; buildings join the graph."""
    from api.anchoring import anchor_buildings, link_to_grids

    with _services() as services:
        store, engine = services.graph, services.engine
        with console.status(f"importing {path.name}"):
            summary = import_gis(engine, path, layer=layer, target=target, crs=crs)
        table = Table("layer", "imported", "repaired", "rejected", title=str(path.name))
        for name, c in summary.layers.items():
            table.add_row(name, f"{c.imported:,}", f"{c.repaired:,}", f"{c.rejected:,}")
        console.print(table)
        for file_layer, reason in summary.skipped.items():
            console.print(f"[yellow]skipped[/] {file_layer}: {reason}")
        for r in summary.rejections[:20]:
            console.print(f"[red]rejected[/] {r.layer} {r.feature}: {r.reason}")
        if len(summary.rejections) > 20:
            console.print(f"… {len(summary.rejections) - 20} more in the rejected_features table")
        with engine.begin() as conn:
            matched, created = anchor_buildings(store, conn, summary.uids.get("buildings", []), f"gis:{path.name}")
            in_grids = link_to_grids(store, conn, ["buildings"])
    console.print(
        f"[cyan]•[/] graph buildings: {matched:,} matched by code, {created:,} created; {in_grids:,} in grids"
    )


@imports.command("ifc")
def import_ifc_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    building_uid: Annotated[
        str | None, typer.Option(help="the graph building this model is (default: from the model)")
    ] = None,
    lon: Annotated[float | None, typer.Option(help="longitude, for a model that does not say where it stands")] = None,
    lat: Annotated[float | None, typer.Option(help="latitude, with --lon")] = None,
) -> None:
    """Import an IFC model: storeys, spaces, doors, stairs, lifts and devices into the graph, footprint onto the map."""
    from bim import import_ifc

    if (lon is None) != (lat is None):
        raise typer.BadParameter("give both --lon and --lat, or neither")
    location = (lon, lat) if lon is not None and lat is not None else None
    with _services() as services, _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total or None)
            progress.update(tasks[stage], completed=done, total=total or None)

        summary = import_ifc(
            path, services.graph, services.engine, building_uid=building_uid, location=location, progress=report
        )
    counts = ("storeys", "spaces", "houses", "units", "doors", "stairs", "lifts", "devices", "adjacencies")
    table = Table("what", "count", title=f"{path.name} ({summary.schema}) → {summary.building_uid}")
    for name in counts:
        table.add_row(name, str(getattr(summary, name)))
    console.print(table)
    console.print(f"[cyan]•[/] located by {summary.georeference} at {summary.lon:.7f}, {summary.lat:.7f}")  # ~1 cm
    for warning in summary.warnings:
        console.print(f"[yellow]warning[/] {warning}")


ingestion = typer.Typer(help="Sensor events: the MQTT worker, files, templates, retention.", no_args_is_help=True)
app.add_typer(ingestion, name="ingest")


@ingestion.command("worker")
def ingest_worker(
    project: Annotated[bool, typer.Option("--project/--no-project", help="also project into the graph")] = True,
    consume: Annotated[bool, typer.Option("--consume/--project-only", help="consume MQTT into the ledger")] = True,
    client_id: Annotated[str | None, typer.Option(help="fixed MQTT client id (the broker keeps its session)")] = None,
) -> None:
    """Consume device events from MQTT into the ledger and the graph until Ctrl-C or SIGTERM."""
    import logging
    import signal
    import threading

    from ingest import IngestSettings, Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with _services() as services:
        worker = Worker(
            services.engine, services.graph, IngestSettings(), client_id=client_id, consume=consume, project=project
        )
        console.print(f"[cyan]•[/] consuming {IngestSettings().mqtt_url}; Ctrl-C to stop")
        heap.settle()
        counters = worker.run(stop)
    _json(asdict(counters))


@ingestion.command("file")
def ingest_events_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    kind: Annotated[str | None, typer.Option(help="event kind of every row (else a 'kind' column)")] = None,
) -> None:
    """Ingest events from CSV, JSONL or Excel (see `twinhood ingest template`) into the ledger."""
    from ingest import ingest_file

    with _services() as services, _progress() as progress:
        task = progress.add_task(f"{path.name} rows", total=None)
        summary = ingest_file(services.engine, path, kind=kind, progress=lambda n: progress.advance(task, n))
    console.print(
        f"{summary.rows:,} rows: {summary.accepted:,} accepted, {summary.duplicates:,} duplicates, "
        f"{summary.rejected:,} rejected (kept as dead letters)"
    )
    for row, field, reason in summary.rejections[:20]:
        console.print(f"[red]row {row}[/] {field}: {reason}")


@ingestion.command("adapter")
def ingest_real_log(
    name: Annotated[str, typer.Argument(help="seattle-alpr, ordonez, daiad or kasteren")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    residents: Annotated[int, typer.Option(min=1, help="the demo community the log is mapped onto")] = 2000,
    seed: Annotated[int, typer.Option()] = 7,
    limit: Annotated[int | None, typer.Option(min=1, help="source rows to read")] = None,
    shift_to: Annotated[datetime | None, typer.Option(help="move the log so its last event lands then")] = None,
) -> None:
    """Drive the demo community with a real public log: its devices replay the log's events."""
    from graph import Device
    from graph.generator import generate
    from ingest.adapters import devices_by_category, ingest_adapter

    community = generate(residents, seed)
    devices = devices_by_category((n.category, n.code) for n in community.nodes if isinstance(n, Device))
    when = shift_to.replace(tzinfo=UTC) if shift_to and shift_to.tzinfo is None else shift_to
    with _services() as services, _progress() as progress:
        task = progress.add_task(f"{name} events", total=None)
        summary = ingest_adapter(
            services.engine,
            name,
            path,
            devices,
            limit=limit,
            shift_to=when,
            progress=lambda n: progress.advance(task, n),
        )
    console.print(
        f"{summary.rows:,} events: {summary.accepted:,} accepted, {summary.duplicates:,} duplicates, "
        f"{summary.rejected:,} rejected; skipped source rows: {sum(summary.skipped.values()):,}"
    )
    for reason, n in summary.skipped.items():
        console.print(f"[yellow]skipped[/] {n:,}: {reason}")


@ingestion.command("template")
def ingest_template(kind: str, path: Path) -> None:
    """Write an empty .xlsx (with a field guide) or .csv template for an event kind (7.3.7 c)."""
    from ingest import write_template

    console.print(f"[cyan]•[/] wrote {write_template(kind, path)}")


@ingestion.command("retention")
def ingest_retention() -> None:
    """Delete ledger events older than their kind's retention (plate reads are kept 180 days)."""
    from ingest import apply_retention

    with _services() as services, services.engine.begin() as conn:
        deleted = apply_retention(conn)
    _print_counts(deleted, "deleted by retention")


@app.command()
def deadletters(
    resubmit_ids: Annotated[list[int] | None, typer.Option("--resubmit", help="parse these again")] = None,
    include_resubmitted: Annotated[bool, typer.Option("--all", help="also those resubmitted before")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """List rejected input with the field and reason, or resubmit some of it."""
    from ingest import list_dead_letters, resubmit

    with _services() as services, services.engine.begin() as conn:
        if resubmit_ids:
            for letter_id, outcome in resubmit(conn, resubmit_ids).items():
                console.print(f"{letter_id}: {outcome}")
            return
        letters = list_dead_letters(conn, include_resubmitted=include_resubmitted, limit=limit)
    table = Table("id", "received", "source", "field", "reason", "input", title="dead letters")
    for d in letters:
        table.add_row(str(d.id), f"{d.received_at:%Y-%m-%d %H:%M:%S}", d.source, d.field, d.reason, d.text[:60])
    console.print(table)


alarm_commands = typer.Typer(help="Alarms: retrospective statistics.", no_args_is_help=True)
app.add_typer(alarm_commands, name="alarms")


@alarm_commands.command("stats")
def alarm_stats(
    since: Annotated[datetime, typer.Option(help="alarms opened from then on (no zone: --tz)")],
    until: Annotated[datetime | None, typer.Option(help="and before then")] = None,
    by: Annotated[str, typer.Option(help="kind, building, grid, day, severity or handler")] = "kind",
    tz: Annotated[str, typer.Option(help="time zone of days and of times given without one")] = "Asia/Shanghai",
) -> None:
    """Count the alarms opened, cleared and closed, and the mean times to acknowledge and resolve them."""
    from zoneinfo import ZoneInfo

    from ingest import alarm_statistics

    def aware(moment: datetime | None) -> datetime | None:
        return moment.replace(tzinfo=ZoneInfo(tz)) if moment and moment.tzinfo is None else moment

    def minutes(seconds: float | None) -> str:
        return "" if seconds is None else f"{seconds / 60:,.1f}"

    start = aware(since)
    assert start is not None
    with _services() as services, services.engine.connect() as conn:
        rows = alarm_statistics(conn, start, aware(until), by=by, zone=tz)
    columns = ["opened", "live", "cleared", "acknowledged", "resolved", "closed", "events", "ack(min)", "resolve(min)"]
    table = Table(by, *columns, title=f"alarms opened since {start.isoformat()}")
    for r in rows:
        counts = (r.opened, r.live, r.cleared, r.acknowledged, r.resolved, r.closed, r.events)
        table.add_row(r.key, *(f"{n:,}" for n in counts), minutes(r.mean_acknowledge_s), minutes(r.mean_resolve_s))
    console.print(table)


@app.command()
def replay(
    since: Annotated[datetime, typer.Option(help="re-project ledger events that happened from then on")],
) -> None:
    """Rebuild the graph's events and alarms from the ledger and the alarm state (idempotent; announces nothing)."""
    when = since if since.tzinfo else since.replace(tzinfo=UTC)
    with _services() as services:
        n = _projector(services).replay(when)
    console.print(f"[cyan]•[/] re-projected {n:,} events since {when.isoformat()}, and the alarms active since")


def _moment(value: str | None, option: str, zone: str) -> datetime | None:
    """Parse an ISO-8601 time given on the command line; one without a zone is local time in `zone`."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 date or time", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


@app.command()
def infer(
    since: Annotated[
        str | None, typer.Option(help="ISO-8601 start (local time without a zone); default: window_days ago")
    ] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601 end (exclusive); default: now")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="co_travel, same_house_night or co_presence (repeatable)")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="rows to print per kind")] = 20,
) -> None:
    """Infer co-travel, same-house-at-night and co-presence from the ledger and write the edges to the graph."""
    from analytics.inference import KINDS, get_settings
    from analytics.inference import infer as run_inference

    settings = get_settings()
    unknown = [k for k in kind or () if k not in KINDS]
    if unknown:
        raise typer.BadParameter(
            f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}", param_hint="--kind"
        )
    kinds = [k for k in KINDS if k in (kind or KINDS)]
    start, end = _moment(since, "--since", settings.timezone), _moment(until, "--until", settings.timezone)
    with _services() as services:
        result = run_inference(services.engine, services.graph, since=start, until=end, kinds=kinds, settings=settings)
    for name, found in result.found.items():
        table = Table(
            "a", "b", "support", "count", "confidence", "first seen", "last seen", title=f"{name}: {len(found)} found"
        )
        for a in sorted(found, key=lambda a: -a.confidence)[:limit]:
            table.add_row(
                a.a,
                a.b,
                str(a.support),
                str(a.count),
                f"{a.confidence:.2f}",
                f"{a.first_seen:%Y-%m-%d %H:%M}",
                f"{a.last_seen:%Y-%m-%d %H:%M}",
            )
        console.print(table)
    console.print(
        f"[cyan]•[/] {result.since.isoformat()} to {result.until.isoformat()}: {result.written} written, "
        f"{result.skipped} skipped (a subject not in the graph)"
    )


@app.command()
def profile(
    uid: str,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole profile as JSON")] = False,
    events: Annotated[int, typer.Option(min=1, max=500, help="timeline events per page")] = 20,
    after: Annotated[str | None, typer.Option(help="the timeline cursor of the previous page")] = None,
    masked: Annotated[bool, typer.Option(help="show it as a viewer without permissions sees it")] = False,
) -> None:
    """Print the holistic profile (全息档案) of a person, vehicle or house, as the system (or --masked) sees it."""
    from analytics.profile import build_profile
    from graph.masking import ANONYMOUS, SYSTEM

    viewer = ANONYMOUS if masked else SYSTEM
    with _services() as services:
        found = build_profile(uid, viewer, services.graph, services.engine, events_after=after, events_limit=events)
    if as_json:
        _json(found.model_dump(mode="json"))
        return
    _json({"uid": found.uid, "label": found.label, **found.attributes})
    sections = Table("section", "items", title=f"{found.label} {found.caption}")
    for name in ("relationships", "residence_history", "trajectory", "bim", "alarms", "risk_flags"):
        sections.add_row(name, str(len(getattr(found, name))))
    console.print(sections)
    timeline = Table("time", "kind", "device", "payload", title="timeline, newest first")
    for e in found.timeline.events:
        timeline.add_row(f"{e.ts:%Y-%m-%d %H:%M:%S}", e.kind, e.device, json.dumps(e.payload, ensure_ascii=False)[:80])
    console.print(timeline)
    if found.timeline.next_cursor:
        console.print(f"next page: twinhood profile {uid} --after {found.timeline.next_cursor}")


detection = typer.Typer(help="Risk detectors: run them, simulate a month of events, evaluate against truth.")
app.add_typer(detection, name="detect", invoke_without_command=True)

ConfigOption = Annotated[
    Path | None, typer.Option(exists=True, dir_okay=False, help="JSON thresholds: {detector: {field: value}}")
]
DetectorOption = Annotated[list[str] | None, typer.Option("--detector", "-d", help="only these (repeatable)")]


def _detector_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{path} is not JSON: {exc}", param_hint="--config") from None
    if not isinstance(config, dict):
        raise typer.BadParameter(f"{path} must hold an object of detector names", param_hint="--config")
    return config


def _findings_table(findings: list[Any], limit: int) -> None:
    by_detector: dict[str, list[Any]] = {}
    for finding in findings:
        by_detector.setdefault(finding.detector, []).append(finding)
    for name, found in by_detector.items():
        table = Table("subject", "score", "why", title=f"{name}: {len(found)} found")
        for f in sorted(found, key=lambda f: -f.score)[:limit]:
            table.add_row(f.subject, f"{f.score:.2f}", f.explanation)
        console.print(table)


@detection.callback()
def detect_run(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="ISO-8601 window start (default: 30 days before --until)")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601 window end, exclusive (default: now)")] = None,
    detector: DetectorOption = None,
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print findings, write nothing")] = False,
    limit: Annotated[int, typer.Option(min=0, help="findings to print per detector")] = 10,
) -> None:
    """Run the risk detectors over the ledger's events and write their findings as RiskFlag nodes."""
    if ctx.invoked_subcommand:
        return
    from analytics.findings import detect

    zone = "Asia/Shanghai"
    started = time.perf_counter()
    with _services() as services, console.status("detecting"):
        findings, written = detect(
            services.engine,
            services.graph,
            since=_moment(since, "--since", zone),
            until=_moment(until, "--until", zone),
            only=detector or (),
            config=_detector_config(config),
            write_flags=not dry_run,
        )
    _findings_table(findings, limit)
    summary = f"{len(findings)} findings in {time.perf_counter() - started:.1f} s"
    if written:
        summary += f"; {written.raised} flags raised or refreshed, {written.cleared} cleared"
    console.print(f"[cyan]•[/] {summary}")


@detection.command("follow")
def detect_follow(
    every: Annotated[float, typer.Option(min=1, help="seconds between ticks")] = 60.0,
    window_days: Annotated[float, typer.Option(min=1, help="trailing window the detectors see")] = 30.0,
    detector: DetectorOption = None,
    config: ConfigOption = None,
    ticks: Annotated[int, typer.Option(min=0, help="stop after this many ticks (0: run until stopped)")] = 0,
) -> None:
    """Follow the ledger: read new events every few seconds and keep the flags current (raise, refresh, clear)."""
    from datetime import timedelta

    from analytics.stream import Follower

    with _services() as services:
        follower = Follower.configured(
            services.engine,
            services.graph,
            window=timedelta(days=window_days),
            only=detector or (),
            config=_detector_config(config),
        )
        done = 0
        while not ticks or done < ticks:
            started = time.perf_counter()
            tick = follower.tick()
            done += 1
            console.print(
                f"[cyan]•[/] {datetime.now(UTC):%H:%M:%S} read {tick.read:,} new events, {tick.window_events:,} in the "
                f"window: {len(tick.findings)} findings, {tick.written.raised} flags open, "
                f"{tick.written.cleared} cleared ({time.perf_counter() - started:.1f} s)"
            )
            if not ticks or done < ticks:
                time.sleep(max(0.0, every - (time.perf_counter() - started)))


def load_month(services: Services, community: Community, days: int) -> Activity:
    """Simulate a loaded community's month into the stores: additions in the graph, events in the ledger."""
    from analytics.simulate import simulate
    from ingest.sources.files import FileSummary, ingest_rows

    with console.status(f"simulating {days} days of {community.residents:,} residents"):
        activity = simulate(community, days, community.seed)
    services.graph.upsert(activity.nodes)
    services.graph.link(activity.links)
    with _progress() as progress:  # through the intake, as a file would go: an invalid event is a dead letter
        task = progress.add_task("events into the ledger", total=len(activity))
        summary = ingest_rows(
            services.engine,
            enumerate(activity.rows(), 1),
            "simulator",
            FileSummary("simulated month"),
            progress=lambda n: progress.advance(task, n),
        )
    accepted = summary.accepted
    console.print(
        f"[cyan]•[/] {accepted:,} of {len(activity):,} events new in the ledger "
        f"({activity.start:%Y-%m-%d} to {activity.end:%Y-%m-%d}); {len(activity.truth)} planted cases"
    )
    _project(services)
    return activity


def _projector(services: Services) -> Projector:
    """A projector with an alarm engine that publishes nothing (no MQTT: linkage and pushes are skipped)."""
    from ingest import AlarmEngine, IngestSettings, Projector
    from ingest.devices import DeviceDirectory

    alarms = AlarmEngine(services.engine, services.graph, DeviceDirectory(services.graph))
    return Projector(
        services.engine,
        services.graph,
        directory=alarms.directory,
        alarms=alarms,
        telemetry_nodes=IngestSettings().telemetry_nodes,
    )


def _project(services: Services) -> None:
    """Project what the ledger holds into the graph, as an ingest worker would (alarms raised, none pushed)."""
    import threading

    from ingest import ledger

    with services.engine.connect() as conn:
        queued = ledger.pending(conn)
    projector = _projector(services)
    opened = 0
    with _progress() as progress:
        task = progress.add_task("events into the graph", total=queued)

        def report(stats: ProjectionStats) -> None:
            nonlocal opened
            opened += sum(c.change == "opened" for c in stats.changes)
            progress.advance(task, stats.projected + stats.dead)

        projector.run(threading.Event(), threading.Event(), report, drain=True)
    console.print(f"[cyan]•[/] {queued:,} events projected into the graph; {opened:,} alarms opened")


def run_detectors(services: Services, since: datetime, until: datetime) -> None:
    """Run every detector over a window, write the flags and print how many each found."""
    from collections import Counter

    from analytics.findings import detect

    started = time.perf_counter()
    with console.status("running the risk detectors"):
        findings, written = detect(services.engine, services.graph, since=since, until=until)
    per = Counter(f.detector for f in findings)
    console.print(
        f"[cyan]•[/] detectors: {len(findings)} findings in {time.perf_counter() - started:.1f} s ("
        + ", ".join(f"{name} {n}" for name, n in per.most_common())
        + f"); {written.raised if written else 0} RiskFlag nodes open"
    )


@detection.command("simulate")
def detect_simulate(
    residents: Annotated[int, typer.Option(min=1, help="people living in the community")] = 2000,
    seed: Annotated[int, typer.Option(help="same seed, same community and month")] = 7,
    days: Annotated[int, typer.Option(min=21, help="days of events, ending at the community's reference date")] = 30,
    truth: Annotated[Path | None, typer.Option(dir_okay=False, help="write the planted cases here (JSON)")] = None,
) -> None:
    """Load a generated community with a month of simulated events (planted risk cases included) into the stores."""
    with _services() as services:
        activity = load_month(services, load_community(services, residents, seed), days)
    if truth:
        truth.write_text(json.dumps([asdict(t) for t in activity.truth], ensure_ascii=False, indent=1))
        console.print(f"[cyan]•[/] truth written to {truth}")
    window = f"--since {activity.start:%Y-%m-%dT%H:%M:%S%z} --until {activity.end:%Y-%m-%dT%H:%M:%S%z}"
    console.print(f"  now: twinhood detect {window}")


@app.command("evaluate")
@detection.command("evaluate")
def detect_evaluate(
    residents: Annotated[int, typer.Option(min=1)] = 10000,
    seed: Annotated[int, typer.Option()] = 7,
    days: Annotated[int, typer.Option(min=21)] = 30,
    detector: DetectorOption = None,
    config: ConfigOption = None,
    miss_rate: Annotated[float, typer.Option(min=0, max=0.5, help="share of passes devices miss")] = 0.03,
) -> None:
    """Generate a community and its month in memory, run the detectors, print precision and recall per detector."""
    from analytics.context import Context
    from analytics.detectors import Inputs, configure, run
    from analytics.findings import evaluate
    from analytics.simulate import simulate
    from graph.generator import generate

    detectors = configure(_detector_config(config), detector or ())
    with console.status("generating and simulating"):
        community = generate(residents, seed)
        activity = simulate(community, days, seed, miss_rate=miss_rate)
        events = activity.frame()
        context = Context.from_graph([*community.nodes, *activity.nodes], [*community.links, *activity.links])
    started = time.perf_counter()
    findings = run(detectors, Inputs(events, context, activity.start, activity.end))
    elapsed = time.perf_counter() - started
    table = Table(
        "detector", "planted", "found", "right", "precision", "recall", title="detectors against planted truth"
    )
    for s in evaluate(findings, activity.truth, detectors):
        table.add_row(s.detector, str(s.truth), str(s.found), str(s.hits), f"{s.precision:.2f}", f"{s.recall:.2f}")
    console.print(table)
    console.print(
        f"[cyan]•[/] {residents:,} residents, {len(events):,} events over {days} days; "
        f"detectors ran in {elapsed:.1f} s ({len(events) / elapsed:,.0f} events/s)"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="processes [default: TWINHOOD_WORKERS, else one per CPU, up to 8]")
    ] = None,
) -> None:
    """Serve the API: GraphQL (with GraphiQL), login, tiles, BIM scenes, ingestion, health and metrics."""
    import uvicorn

    from api.security import SecuritySettings

    workers = workers or SecuritySettings().workers
    os.environ["TWINHOOD_WORKERS"] = str(workers)  # each worker process's rate limiter takes its share
    console.print(
        f"[cyan]•[/] serving on http://{host}:{port} from {workers} process{'es' if workers > 1 else ''}  "
        "(GraphQL: /graphql, login: POST /auth/login, health: /healthz, tiles: /tiles/buildings.json)"
    )
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


@app.command()
def search(
    query: str,
    mode: Annotated[str, typer.Option(help="exact, fuzzy or fulltext (websearch syntax: quotes, or, -)")] = "fulltext",
    kind: Annotated[list[str] | None, typer.Option(help="only these labels, e.g. Person, Vehicle")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
) -> None:
    """Find entities by name, plate, address or code; prints uids, best first."""
    if mode not in ("exact", "fuzzy", "fulltext"):
        raise typer.BadParameter("mode must be exact, fuzzy or fulltext")
    search_mode: Mode = mode  # type: ignore[assignment]
    with _services() as services:
        hits = search_documents_by(services.engine, query, mode=search_mode, kinds=kind, limit=limit)
    table = Table("uid", "kind", "title", "score", title=f"{mode}: {query}")
    for h in hits:
        table.add_row(h.uid, h.kind, h.title, f"{h.score:.2f}")
    console.print(table)


@app.command()
def at(lon: float, lat: float) -> None:
    """Print what is at a point: building, grid, estate, parcel."""
    from spatial.queries import at_point

    with _services() as services:
        _print_hits(at_point(services.engine, lon, lat), f"at {lon}, {lat}")


@app.command()
def nearest(
    lon: float,
    lat: float,
    category: Annotated[str | None, typer.Option(help="device category, e.g. face_camera")] = None,
    k: Annotated[int, typer.Option(min=1, max=100)] = 5,
) -> None:
    """Print the devices nearest a point (e.g. the cameras nearest an alarm)."""
    from spatial.queries import nearest_devices

    with _services() as services:
        _print_hits(nearest_devices(services.engine, lon, lat, category=category, k=k), f"nearest to {lon}, {lat}")


def _print_hits(hits: list[Any], title: str) -> None:
    table = Table("layer", "uid", "name", "metres", title=title)
    for h in hits:
        table.add_row(h.layer, h.uid, h.name or "", "" if h.distance_m is None else f"{h.distance_m:.1f}")
    console.print(table)


@app.command()
def counts() -> None:
    """Print how many nodes of each label and relationships of each type the graph holds."""
    with _services() as services:
        store = services.graph
        _print_counts(store.counts(), "graph")


@app.command()
def schema() -> None:
    """Create missing constraints and indexes in the graph (also done before every load)."""
    with _services() as services:
        store = services.graph
        n = store.ensure_schema()
    console.print(f"{n} constraints and indexes in place")


algo = typer.Typer(help="Graph algorithms over a projection of the graph.", no_args_is_help=True)
app.add_typer(algo, name="algo")


@algo.command("run")
def algo_run(
    algorithm: Annotated[str, typer.Argument(help="pagerank, betweenness, core, component, louvain, leiden or path")],
    labels: Annotated[list[str] | None, typer.Option("--labels", help="node labels (default: Person, House)")] = None,
    types: Annotated[
        list[str] | None, typer.Option("--types", help="relationship types (default: all between the labels)")
    ] = None,
    since: Annotated[str | None, typer.Option(help="keep relationships that hold from then on (ISO-8601)")] = None,
    until: Annotated[str | None, typer.Option(help="and before then")] = None,
    tz: Annotated[str, typer.Option(help="time zone of times given without one")] = "Asia/Shanghai",
    estate: Annotated[str | None, typer.Option(help="keep only what belongs to this estate uid")] = None,
    fold: Annotated[str | None, typer.Option(help="fold this label away, e.g. House for a person graph")] = None,
    source: Annotated[str | None, typer.Option(help="path: where it starts")] = None,
    target: Annotated[str | None, typer.Option(help="path: where it ends")] = None,
    top: Annotated[int, typer.Option(min=1, help="how many top nodes or largest groups to print")] = 10,
    write: Annotated[bool, typer.Option("--write", help="write the results back as algo_* properties")] = False,
) -> None:
    """Project the graph, run one algorithm on it and print a summary; --write stores the results."""
    from analytics.algorithms import ALGORITHMS, Scores, shortest_path, write_back
    from analytics.projection import project

    if algorithm != "path" and algorithm not in ALGORITHMS:
        raise typer.BadParameter(
            f"unknown algorithm; known: {', '.join([*ALGORITHMS, 'path'])}", param_hint="ALGORITHM"
        )
    if algorithm == "path" and not (source and target):
        raise typer.BadParameter("path needs --source and --target", param_hint="--source/--target")
    if algorithm == "path" and write:
        raise typer.BadParameter("a path is printed, not written back", param_hint="--write")
    run_at = datetime.now(UTC)
    with _services() as services:
        with console.status("projecting"):
            projection = project(
                services.graph,
                labels or ["Person", "House"],
                types,
                since=_moment(since, "--since", tz),
                until=_moment(until, "--until", tz),
                estate=estate,
                fold=fold,
            )
        shape = projection.describe()
        console.print(
            f"[cyan]•[/] projected {shape['nodes']:,} nodes and {shape['edges']:,} edges "
            f"({', '.join(projection.rel_types) or 'no relationship types'}) in {projection.seconds:.2f} s"
        )
        if algorithm == "path":
            assert source and target  # checked before projecting
            found = shortest_path(projection.graph, source, target)
            console.print(f"[cyan]•[/] {found.length:g} hops in {found.seconds:.3f} s: " + " → ".join(found.nodes))
            return
        with console.status(f"running {algorithm}"):
            result = ALGORITHMS[algorithm].run(projection.graph)
        console.print(f"[cyan]•[/] {ALGORITHMS[algorithm].summary}: {result.seconds:.2f} s")
        if isinstance(result, Scores):
            table = Table("uid", algorithm, title=f"top {top}")
            for uid, value in result.top(top):
                table.add_row(uid, f"{value:.6g}")
        else:
            sizes = result.sizes()
            quality = f", modularity {result.modularity:.4f}" if result.modularity is not None else ""
            console.print(f"[cyan]•[/] {len(sizes):,} groups{quality}")
            table = Table("group", "size", title=f"largest {min(top, len(sizes))}")
            for group, size in enumerate(sizes[:top]):
                table.add_row(str(group), f"{size:,}")
        console.print(table)
        if write:
            written = write_back(services.graph, result, run_at)
            console.print(
                f"[cyan]•[/] written to {written:,} nodes as algo_{algorithm} "
                f"(version {ALGORITHMS[algorithm].version}, run_at {run_at.isoformat()})"
            )


@app.command(name="arcadedb-command", hidden=True)
def arcadedb_command() -> None:
    """Print the command line that runs the local ArcadeDB (for debugging the stack)."""
    console.print(" ".join(stack.arcadedb_command(GraphSettings(), stack.StackSettings())))


if __name__ == "__main__":  # pragma: no cover
    main()


users = typer.Typer(help="API accounts and roles: add, list, give roles, unlock.", no_args_is_help=True)
app.add_typer(users, name="user")


@contextmanager
def _security() -> Iterator[Any]:
    """The security services on a migrated database, without connecting to the graph."""
    from api.security import Security
    from spatial import SpatialSettings, make_engine, migrate

    engine = make_engine(SpatialSettings())
    try:
        migrate(engine)
        security = Security(engine)
        security.users.seed_roles()
        yield security
        security.close()
    finally:
        engine.dispose()


@users.command("add")
def user_add(
    username: str,
    role: Annotated[list[str], typer.Option(help="a role to give (repeat for more)")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    name: Annotated[str | None, typer.Option(help="the person's name")] = None,
    valid_days: Annotated[int | None, typer.Option(min=1, help="the account expires after this many days")] = None,
) -> None:
    """Create an API account with roles (the password is asked for unless --password is given)."""
    from datetime import timedelta

    until = datetime.now(UTC) + timedelta(days=valid_days) if valid_days else None
    with _security() as security:
        user = security.users.create_user(username, password, role, name=name, valid_until=until)
    console.print(f"[cyan]•[/] created {user.username} with roles {', '.join(user.roles) or '(none)'}")


@users.command("list")
def user_list() -> None:
    """List the accounts: roles, validity, locks and last login."""
    with _security() as security:
        found = security.users.users()
    table = Table("user", "roles", "valid until", "state", "last login", title="API accounts")
    for u in found:
        locked = f"locked until {u.locked_until:%Y-%m-%d %H:%M}" if u.locked_until else "ok"
        state = "disabled" if u.disabled else locked
        table.add_row(
            u.username,
            ", ".join(u.roles),
            f"{u.valid_until:%Y-%m-%d}" if u.valid_until else "",
            state,
            f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "",
        )
    console.print(table)


@users.command("role")
def user_role(
    username: str,
    add: Annotated[list[str] | None, typer.Option("--add", help="a role to give")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="a role to take away")] = None,
) -> None:
    """Give a user roles (--add) and take others away (--remove)."""
    with _security() as security:
        user = security.users.set_roles(username, add or [], remove or [])
    console.print(f"[cyan]•[/] {user.username} now has roles {', '.join(user.roles) or '(none)'}")


@users.command("unlock")
def user_unlock(username: str) -> None:
    """Unlock an account that failed logins locked."""
    with _security() as security:
        security.users.update_user(username, unlock=True)
    console.print(f"[cyan]•[/] unlocked {username}")


@users.command("roles")
def user_roles() -> None:
    """List the roles and the permissions each grants."""
    with _security() as security:
        found = security.users.roles()
    table = Table("role", "permissions", "description", title="roles")
    for r in found:
        table.add_row(r.name, ", ".join(r.permissions), r.description)
    console.print(table)


models = typer.Typer(help="Graph ML: train, score and evaluate the GNN that scores houses for group-rental risk.")
app.add_typer(models, name="model", no_args_is_help=True)
ModelDirOption = Annotated[
    Path | None, typer.Option(file_okay=False, help="where models are kept (default: $TWINHOOD_HOME/models)")
]
VersionOption = Annotated[str | None, typer.Option(help="the model version to use (default: the latest trained)")]


@models.command("train")
def model_train(
    residents: Annotated[int, typer.Option(min=50, help="residents of each training community")] = 1500,
    seed: Annotated[list[int] | None, typer.Option("--seed", help="a training community's seed (repeatable)")] = None,
    days: Annotated[int, typer.Option(min=21)] = 30,
    cases: Annotated[int | None, typer.Option(min=1, help="planted cases of each kind per community")] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 60,
    hidden: Annotated[int, typer.Option(min=4, max=512)] = 32,
    layers: Annotated[int, typer.Option(min=1, max=4)] = 2,
    torch_seed: Annotated[int, typer.Option(help="seed of the weights' initialisation")] = 0,
    without: Annotated[
        list[str] | None, typer.Option(help="a feature the model may not read, e.g. house.door_users (repeatable)")
    ] = None,
    model_dir: ModelDirOption = None,
) -> None:
    """Simulate communities with planted group rentals, train the house-scoring GNN on them and save it."""
    from analytics import gnn

    config = gnn.TrainConfig(
        residents=residents,
        seeds=tuple(seed or (1, 2, 3)),
        days=days,
        cases=cases,
        epochs=epochs,
        hidden=hidden,
        layers=layers,
        torch_seed=torch_seed,
        without=tuple(without or ()),
    )
    snapshots, ys = [], []
    with _progress() as progress:
        task = progress.add_task(f"simulating {residents:,}-resident communities", total=len(config.seeds))
        for s in config.seeds:
            snap, _, y = gnn.simulated(residents, s, days, cases)
            snapshots.append(snap)
            ys.append(y)
            progress.advance(task)
        task = progress.add_task("training", total=epochs)
        trained = gnn.fit(config, snapshots, ys, progress=lambda epoch, loss: progress.update(task, completed=epoch))
    path = gnn.save(trained, model_dir)
    console.print(
        f"[cyan]•[/] model {trained.version}: {trained.positives} planted group rentals among {trained.houses:,} "
        f"houses of {len(config.seeds)} communities; loss {trained.losses[0]:.3g} → {trained.losses[-1]:.3g}; "
        f"{trained.epoch_seconds * 1000:.0f} ms an epoch"
    )
    console.print(f"[cyan]•[/] saved to {path}")


@models.command("score")
def model_score(
    since: Annotated[str | None, typer.Option(help="ISO-8601 window start (default: 30 days before --until)")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601 window end, exclusive (default: now)")] = None,
    tz: Annotated[str, typer.Option(help="time zone of times given without one, and of nights")] = "Asia/Shanghai",
    version: VersionOption = None,
    model_dir: ModelDirOption = None,
    top: Annotated[int, typer.Option(min=0, help="highest-scored houses to print")] = 10,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the scores, write nothing")] = False,
) -> None:
    """Score the graph's houses over a window of the ledger and write gnn_group_rental_score to them."""
    from datetime import timedelta

    from analytics import gnn

    trained = gnn.load(model_dir, version)
    end = _moment(until, "--until", tz) or datetime.now(UTC)
    start = _moment(since, "--since", tz) or end - timedelta(days=30)
    with _services() as services:
        with console.status("exporting the snapshot"):
            snap = gnn.from_stores(services.graph, services.engine, start, end, zone=tz)
        house_scores = gnn.scores(trained.model, snap)
        written = 0 if dry_run else gnn.write_scores(services.graph, house_scores, trained.version)
    table = Table("house", "score", title=f"model {trained.version}: top {top}")
    for house, value in sorted(house_scores.items(), key=lambda kv: -kv[1])[:top]:
        table.add_row(house, f"{value:.3f}")
    console.print(table)
    console.print(
        f"[cyan]•[/] {len(house_scores):,} houses, {len(snap.uids['person']):,} people scored over "
        f"{start.isoformat()} to {end.isoformat()} (snapshot {snap.seconds:.1f} s)"
        + ("" if dry_run else f"; written to {written:,} House nodes")
    )


@models.command("evaluate")
def model_evaluate(
    residents: Annotated[int, typer.Option(min=50, help="residents of the unseen community")] = 2000,
    seed: Annotated[int, typer.Option(help="its seed: one the model was not trained on")] = 101,
    days: Annotated[int, typer.Option(min=21)] = 30,
    cases: Annotated[int | None, typer.Option(min=1, help="planted cases of each kind")] = None,
    version: VersionOption = None,
    model_dir: ModelDirOption = None,
) -> None:
    """Compare the GNN with the rule-based group_rental detector on an unseen simulated community (ROC AUC)."""
    from analytics import gnn

    trained = gnn.load(model_dir, version)
    with console.status(f"simulating a {residents:,}-resident community (seed {seed}) and scoring it"):
        result = gnn.evaluate(trained, residents, seed, days, cases)
    table = Table("house", "GNN score", "rule score", "planted", title=f"model {trained.version}: top houses")
    for house, model_score, rule_score, planted in result.top:
        table.add_row(house, f"{model_score:.3f}", f"{rule_score:.2f}", "yes" if planted else "")
    console.print(table)
    console.print(
        f"[cyan]•[/] {result.houses:,} houses, {result.positives} planted group rentals; ROC AUC: "
        f"GNN {result.auc_model:.4f}, rule detector {result.auc_rule:.4f}"
    )
    console.print(
        f"[cyan]•[/] snapshot {result.snapshot_seconds:.2f} s, GNN scoring {result.model_seconds:.3f} s, "
        f"rule detector {result.rule_seconds:.3f} s"
    )
