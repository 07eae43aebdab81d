"""Graph ML: the community as a PyTorch Geometric snapshot, and a heterogeneous GraphSAGE that scores houses.

:func:`snapshot` turns a detection window (:class:`~analytics.detectors.Inputs`: the event frame and
the community's :class:`~analytics.context.Context`) into a :class:`Snapshot`, a ``HeteroData`` with
three node types and three relationship types:

- ``house``, ``person`` and ``unit`` nodes, rows in uid order, with the raw features named in
  :data:`FEATURES` (house: area, floor, residents, meters, door use; person: age, registration,
  passes; unit: houses, residents, door use);
- ``person -lives_in-> house`` (current residences on record), ``house -located_in-> unit``, and
  ``person -opened-> house`` from door openings in the window, with ``edge_weight`` = the distinct
  local days the person opened that door.

:func:`from_stores` builds the same snapshot from the graph server and the ledger. Persons are
everyone on record plus every person subject of the window's sightings (an unmatched face or card
is a person of its own, as the projector makes it); vehicles and devices are left out because the
houses' risks are carried by who lives in and opens them.

:class:`HouseScorer` is a GraphSAGE made heterogeneous with one ``SAGEConv`` per relationship type
and direction (``HeteroConv``); it reads ``log1p`` of the features standardised with the training
data's mean and spread, and gives a logit per house. :func:`train` fits it on simulated communities
whose planted ``group_rental`` houses are the positives (the loss weighs them by how rare they are),
deterministically for a given :class:`TrainConfig`. A trained model is saved under
:func:`model_dir` with a version that hashes its configuration and its training tensors;
:func:`write_scores` puts ``gnn_group_rental_score``, ``gnn_model_version`` and ``gnn_scored_at`` on
the House nodes; :func:`evaluate` gives the ROC AUC of the model and of the rule detector on an
unseen community.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine
from torch import Tensor, nn

from analytics import frame
from analytics.context import Context
from analytics.detectors import Inputs, configure, run
from graph import GraphStore, ValidationError

with warnings.catch_warnings():
    # PyG 2.8 still scripts a few classes with torch.jit.script at import, which torch 2.13 deprecates.
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning)
    from torch_geometric.data import HeteroData
    from torch_geometric.nn import HeteroConv, SAGEConv

__all__ = [
    "EDGE_TYPES",
    "FEATURES",
    "TARGET",
    "Evaluation",
    "HouseScorer",
    "ModelSettings",
    "Snapshot",
    "TrainConfig",
    "Trained",
    "auc",
    "evaluate",
    "fit",
    "from_stores",
    "labels",
    "load",
    "model_dir",
    "model_inputs",
    "save",
    "scores",
    "simulated",
    "snapshot",
    "train",
    "within",
    "write_scores",
]

TARGET: Final = "group_rental"
"""The detector whose planted truth the model learns, and whose findings it is compared with."""
NIGHT: Final = (22, 5)
"""Local hours of the night: from 22:00 to 05:00, as `night_active` reads them."""
REGULAR_DAYS: Final = 3
"""A regular door user opened the door on this many distinct days (as `group_rental` counts them)."""
FORMAT: Final = 1

FEATURES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "house": (
        ("area_m2", "floor area in m² (0 when unknown)"),
        ("floor", "floor number"),
        ("residents", "current residents on record"),
        ("registered", "current residents whose stay is registered"),
        ("rented", "1 when the house is let"),
        ("water_per_day", "mean daily water use in m³, from the first and last meter readings of the window"),
        ("power_per_day", "mean daily power use in kWh, likewise"),
        ("gas_per_day", "mean daily gas use in m³, likewise"),
        ("door_opens_per_day", "openings of the unit door that name this house, per day of the window"),
        ("door_users", "distinct people who opened it"),
        ("regular_door_users", f"distinct people who opened it on {REGULAR_DAYS} or more days"),
        ("door_users_not_living_there", "distinct people who opened it but do not live there on record"),
        ("door_night_share", "share of its openings between 22:00 and 05:00 local time"),
    ),
    "person": (
        ("age", "whole years at the end of the window (0 when unknown)"),
        ("on_record", "1 when they currently live in a house on record"),
        ("registered", "1 when that stay is registered with the police"),
        ("unregistered", "1 when known only from sensor events (an unmatched face or card)"),
        ("key_person", "1 for a key person (重点人员)"),
        ("passes_per_day", "sightings (face captures, door openings) per day of the window"),
        ("days_seen", "share of the window's days on which they were seen"),
        ("night_share", "share of their sightings between 22:00 and 05:00 local time"),
        ("doors_opened", "distinct houses whose door they opened"),
    ),
    "unit": (
        ("houses", "houses in the unit"),
        ("residents", "current residents on record"),
        ("door_opens_per_day", "door openings per day of the window"),
        ("door_users", "distinct people who opened the door"),
        ("door_night_share", "share of door openings between 22:00 and 05:00 local time"),
    ),
}
"""Each node type's features, in column order, with what they mean."""

EDGE_TYPES: Final[tuple[tuple[str, str, str], ...]] = (
    ("person", "lives_in", "house"),
    ("house", "located_in", "unit"),
    ("person", "opened", "house"),
)
"""The snapshot's relationship types; the model also passes messages along each one reversed."""


class ModelSettings(BaseSettings):
    """Where trained models are kept: ``TWINHOOD_MODEL_DIR``, else ``$TWINHOOD_HOME/models``."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_", extra="ignore")

    home: Path = Field(Path.home() / ".local" / "state" / "twinhood", description="the platform's state directory")
    model_dir: Path | None = Field(None, description="trained models (default: models/ under home)")


def model_dir(settings: ModelSettings | None = None) -> Path:
    """Return the directory trained models are saved in and loaded from."""
    settings = settings or ModelSettings()
    return settings.model_dir or settings.home / "models"


# --- the snapshot ---------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """A window of the community as ``HeteroData``, with the uid of every row of every node type."""

    data: HeteroData
    uids: dict[str, list[str]]
    start: datetime
    end: datetime
    seconds: float = 0.0

    def frame(self, node_type: str) -> pd.DataFrame:
        """One node type's features as a table indexed by uid, columns named as in :data:`FEATURES`."""
        names = [name for name, _ in FEATURES[node_type]]
        return pd.DataFrame(self.data[node_type].x.numpy(), index=self.uids[node_type], columns=names)


def _night(hours: pd.Series) -> pd.Series:
    return (hours >= NIGHT[0]) | (hours < NIGHT[1])


def _matrix(table: pd.DataFrame, order: Sequence[str], node_type: str) -> Tensor:
    names = [name for name, _ in FEATURES[node_type]]
    values = table.reindex(index=list(order), columns=names).fillna(0.0).to_numpy(dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(values))


def _edges(pairs: Iterable[tuple[str, str]], src: dict[str, int], dst: dict[str, int]) -> Tensor:
    rows = [(src[a], dst[b]) for a, b in pairs if a in src and b in dst]
    if not rows:
        return torch.zeros((2, 0), dtype=torch.long)
    return torch.tensor(rows, dtype=torch.long).t().contiguous()


def within(data: Inputs) -> Inputs:
    """`data` with only the events of its window, start <= ts < end (as the ledger returns them)."""
    ts = data.events["ts"]
    inside = (ts >= data.start) & (ts < data.end)
    if bool(inside.all()):
        return data
    return Inputs(data.events[inside].reset_index(drop=True), data.context, data.start, data.end, data.zone)


def snapshot(data: Inputs) -> Snapshot:
    """Export the window of `data` as a heterogeneous snapshot (see the module's description).

    Events outside the window are left out, so a simulated month in memory gives the same tensors
    as the ledger's window of it.
    """
    started = time.perf_counter()
    data = within(data)
    ctx, days = data.context, max(data.window_days, 1e-9)
    seen = data.sightings[["id", "kind", "subject", "house", "day", "hour"]]
    seen = seen[seen["kind"] != "plate_read"]  # a plate's subject is its vehicle; faces and doors name people
    seen = seen.assign(night=_night(seen["hour"]), day=pd.factorize(seen["day"])[0])  # days as numbers count faster
    doors = seen[(seen["kind"] == "access_open") & seen["house"].isin(ctx.houses.keys())]

    houses = sorted(ctx.houses)
    units = sorted(set(ctx.house_unit.values()))
    persons = sorted(set(ctx.persons) | set(ctx.home) | set(seen["subject"].unique()))
    index = {kind: {uid: i for i, uid in enumerate(order)} for kind, order in (("house", houses), ("unit", units))}
    index["person"] = {uid: i for i, uid in enumerate(persons)}

    opened = doors.groupby(["subject", "house"])["day"].nunique()
    pairs = opened.reset_index(name="days")
    resident = [ctx.home.get(s) == h for s, h in zip(pairs["subject"].tolist(), pairs["house"].tolist(), strict=True)]
    pairs["resident"] = np.array(resident, dtype=bool)  # typed even when empty, so `~` and masks still work

    # houses
    house = pd.DataFrame(index=pd.Index(houses))
    nodes = [ctx.houses[h] for h in houses]
    house["area_m2"] = [n.area_m2 or 0.0 for n in nodes]
    house["floor"] = [n.floor for n in nodes]
    house["residents"] = [len(ctx.occupants.get(h, [])) for h in houses]
    house["registered"] = [sum(bool(ctx.registered.get(p)) for p in ctx.occupants.get(h, [])) for h in houses]
    house["rented"] = [float(n.rented) for n in nodes]
    use = data.consumption
    for meter in ("water", "power", "gas"):
        house[f"{meter}_per_day"] = use.get(meter, 0.0)
    per_house = doors.groupby("house").agg(opens=("id", "size"), night=("night", "mean"))
    house["door_opens_per_day"] = per_house["opens"] / days
    house["door_night_share"] = per_house["night"]
    by_house = pairs.groupby("house")
    house["door_users"] = by_house.size()
    house["regular_door_users"] = pairs[pairs["days"] >= REGULAR_DAYS].groupby("house").size()
    house["door_users_not_living_there"] = pairs[~pairs["resident"]].groupby("house").size()

    # persons
    person = pd.DataFrame(index=pd.Index(persons))
    ages = [data.age(p) if p in ctx.persons else None for p in persons]
    person["age"] = [float(a) if a is not None else 0.0 for a in ages]
    person["on_record"] = [float(p in ctx.home) for p in persons]
    person["registered"] = [float(bool(ctx.registered.get(p))) for p in persons]
    person["unregistered"] = [float(p not in ctx.persons or ctx.persons[p].unregistered) for p in persons]
    person["key_person"] = [float(p in ctx.persons and ctx.persons[p].key_person) for p in persons]
    per_person = seen.groupby("subject").agg(passes=("id", "size"), days=("day", "nunique"), night=("night", "mean"))
    person["passes_per_day"] = per_person["passes"] / days
    person["days_seen"] = per_person["days"] / days
    person["night_share"] = per_person["night"]
    person["doors_opened"] = pairs.groupby("subject").size()

    # units
    unit = pd.DataFrame(index=pd.Index(units))
    unit_of = pd.Series(ctx.house_unit, dtype=object)
    unit["houses"] = unit_of.value_counts()
    unit["residents"] = house["residents"].groupby(unit_of.reindex(house.index)).sum()
    unit_doors = doors.assign(unit=doors["house"].map(ctx.house_unit))
    per_unit = unit_doors.groupby("unit").agg(
        opens=("id", "size"), users=("subject", "nunique"), night=("night", "mean")
    )
    unit["door_opens_per_day"] = per_unit["opens"] / days
    unit["door_users"] = per_unit["users"]
    unit["door_night_share"] = per_unit["night"]

    out = HeteroData()
    for kind, table, order in (("house", house, houses), ("person", person, persons), ("unit", unit, units)):
        out[kind].x = _matrix(table, order, kind)
        out[kind].num_nodes = len(order)
    out["person", "lives_in", "house"].edge_index = _edges(ctx.home.items(), index["person"], index["house"])
    out["house", "located_in", "unit"].edge_index = _edges(ctx.house_unit.items(), index["house"], index["unit"])
    out["person", "opened", "house"].edge_index = _edges(
        zip(pairs["subject"].tolist(), pairs["house"].tolist(), strict=True), index["person"], index["house"]
    )
    out["person", "opened", "house"].edge_weight = torch.tensor(pairs["days"].to_numpy(), dtype=torch.float32)
    uids = {"house": houses, "person": persons, "unit": units}
    return Snapshot(out, uids, data.start, data.end, time.perf_counter() - started)


def from_stores(
    store: GraphStore, engine: Engine, since: datetime, until: datetime, zone: str | None = None
) -> Snapshot:
    """Export the snapshot of [since, until) from the graph server (the community) and the ledger (events)."""
    context = Context.from_store(store)
    events = frame.from_ledger(engine, since, until)
    data = Inputs(events, context, since, until) if zone is None else Inputs(events, context, since, until, zone)
    return snapshot(data)


def labels(snap: Snapshot, positives: Iterable[str]) -> Tensor:
    """1.0 for the snapshot's houses among `positives` (planted truth), 0.0 for the others."""
    wanted = set(positives)
    return torch.tensor([float(h in wanted) for h in snap.uids["house"]], dtype=torch.float32)


@contextmanager
def _threads(count: int) -> Iterator[None]:
    """Run torch on `count` threads: these graphs are small, and more threads only contend on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- the model ------------------------------------------------------------------------------------


def _rev(edge: tuple[str, str, str]) -> tuple[str, str, str]:
    return (edge[2], f"rev_{edge[1]}", edge[0])


class HouseScorer(nn.Module):
    """Heterogeneous GraphSAGE: encode each node type, `layers` rounds of messages both ways, a logit per house."""

    def __init__(self, hidden: int = 32, layers: int = 2, without: Iterable[str] = ()) -> None:
        super().__init__()
        left_out = set(without)
        self.encode = nn.ModuleDict({kind: nn.Linear(len(cols), hidden) for kind, cols in FEATURES.items()})
        for kind, cols in FEATURES.items():
            self.register_buffer(f"mean_{kind}", torch.zeros(len(cols)))
            self.register_buffer(f"scale_{kind}", torch.ones(len(cols)))
            keep = [float(f"{kind}.{name}" not in left_out) for name, _ in cols]
            self.register_buffer(f"keep_{kind}", torch.tensor(keep))  # a left-out feature reads as 0
        edges = [*EDGE_TYPES, *(_rev(e) for e in EDGE_TYPES)]
        self.convs = nn.ModuleList(
            HeteroConv({e: SAGEConv((hidden, hidden), hidden) for e in edges}, aggr="sum") for _ in range(layers)
        )
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def standardise_with(self, snapshots: Sequence[Snapshot]) -> None:
        """Set the features' mean and spread (after ``log1p``) from training snapshots."""
        for kind in FEATURES:
            x = torch.log1p(torch.cat([s.data[kind].x for s in snapshots]))
            getattr(self, f"mean_{kind}").copy_(x.mean(0))
            getattr(self, f"scale_{kind}").copy_(x.std(0).clamp(min=1e-6))

    def forward(self, x: dict[str, Tensor], edge_index: dict[tuple[str, str, str], Tensor]) -> Tensor:
        """Return one logit per house."""
        h = {
            kind: torch.relu(
                self.encode[kind](
                    (torch.log1p(x[kind]) - getattr(self, f"mean_{kind}"))
                    / getattr(self, f"scale_{kind}")
                    * getattr(self, f"keep_{kind}")
                )
            )
            for kind in FEATURES
        }
        for conv in self.convs:
            out = conv(h, edge_index)
            h = {kind: torch.relu(out[kind]) + h[kind] if kind in out else h[kind] for kind in h}
        logits: Tensor = self.head(h["house"]).squeeze(-1)
        return logits


def model_inputs(snap: Snapshot) -> tuple[dict[str, Tensor], dict[tuple[str, str, str], Tensor]]:
    """The model's inputs from a snapshot: features by node type, edges by type, each also reversed."""
    x = {kind: snap.data[kind].x for kind in FEATURES}
    edges: dict[tuple[str, str, str], Tensor] = {}
    for edge in EDGE_TYPES:
        index = snap.data[edge].edge_index
        edges[edge] = index
        edges[_rev(edge)] = index.flip(0)
    return x, edges


class TrainConfig(BaseModel):
    """How a model is trained: the simulated communities it learns from and the network's size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    residents: int = Field(1500, ge=50, description="residents of each training community")
    seeds: tuple[int, ...] = Field((1, 2, 3), min_length=1, description="one training community per seed")
    days: int = Field(30, ge=21, description="days of simulated events per community")
    cases: int | None = Field(None, ge=1, description="planted cases of each kind (default: one per 500 residents)")
    hidden: int = Field(32, ge=4, le=512)
    layers: int = Field(2, ge=1, le=4)
    epochs: int = Field(60, ge=1)
    lr: float = Field(0.01, gt=0)
    weight_decay: float = Field(5e-4, ge=0)
    torch_seed: int = 0
    without: tuple[str, ...] = Field((), description="features the model may not read, as kind.name")

    @field_validator("without")
    @classmethod
    def _known_features(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = {f"{kind}.{name}" for kind, cols in FEATURES.items() for name, _ in cols}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown features {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return tuple(sorted(set(value)))


@dataclass
class Trained:
    """A trained model with its configuration, version and how training went."""

    model: HouseScorer
    config: TrainConfig
    version: str
    trained_at: datetime
    losses: list[float] = field(default_factory=list)
    epoch_seconds: float = 0.0
    positives: int = 0
    houses: int = 0


def simulated(residents: int, seed: int, days: int = 30, cases: int | None = None) -> tuple[Snapshot, Inputs, Tensor]:
    """Generate and simulate a community in memory; return its snapshot, the window's inputs and the planted labels."""
    from analytics.simulate import simulate
    from graph.generator import generate

    community = generate(residents, seed)
    activity = simulate(community, days, seed, cases=cases)
    context = Context.from_graph([*community.nodes, *activity.nodes], [*community.links, *activity.links])
    data = within(Inputs(activity.frame(), context, activity.start, activity.end))
    snap = snapshot(data)
    return snap, data, labels(snap, (t.subject for t in activity.truth if t.detector == TARGET))


def _version(config: TrainConfig, snapshots: Sequence[Snapshot], ys: Sequence[Tensor]) -> str:
    digest = hashlib.sha256(json.dumps(config.model_dump(mode="json"), sort_keys=True).encode())
    for snap, y in zip(snapshots, ys, strict=True):
        for kind in FEATURES:
            digest.update(snap.data[kind].x.numpy().tobytes())
        for edge in EDGE_TYPES:
            digest.update(snap.data[edge].edge_index.numpy().tobytes())
        digest.update(y.numpy().tobytes())
    return digest.hexdigest()[:12]


def fit(
    config: TrainConfig,
    snapshots: Sequence[Snapshot],
    ys: Sequence[Tensor],
    progress: Callable[[int, float], None] | None = None,
    threads: int = 1,
) -> Trained:
    """Train a :class:`HouseScorer` on snapshots and their house labels, full batch, one step per epoch."""
    positives = int(sum(float(y.sum()) for y in ys))
    houses = sum(len(y) for y in ys)
    if positives == 0 or positives == houses:
        raise ValidationError("seeds", list(config.seeds), "the training communities need positive and negative houses")
    with _threads(threads):
        return _fit(config, snapshots, ys, positives, houses, progress)


def _fit(
    config: TrainConfig,
    snapshots: Sequence[Snapshot],
    ys: Sequence[Tensor],
    positives: int,
    houses: int,
    progress: Callable[[int, float], None] | None,
) -> Trained:
    torch.manual_seed(config.torch_seed)
    model = HouseScorer(config.hidden, config.layers, config.without)
    model.standardise_with(snapshots)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor((houses - positives) / positives))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    inputs = [model_inputs(s) for s in snapshots]
    losses: list[float] = []
    started = time.perf_counter()
    model.train()
    for epoch in range(config.epochs):
        optimiser.zero_grad()
        loss = sum(
            (loss_fn(model(*xs), y) * len(y) / houses for xs, y in zip(inputs, ys, strict=True)), torch.zeros(())
        )
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        if progress:
            progress(epoch + 1, losses[-1])
    elapsed = time.perf_counter() - started
    model.eval()
    return Trained(
        model,
        config,
        _version(config, snapshots, ys),
        datetime.now(UTC),
        losses,
        elapsed / config.epochs,
        positives,
        houses,
    )


def train(config: TrainConfig, progress: Callable[[str], None] | None = None) -> Trained:
    """Simulate a community per seed of `config` and train a model on their planted truth."""
    snapshots, ys = [], []
    for seed in config.seeds:
        if progress:
            progress(f"simulating community {seed} ({config.residents:,} residents)")
        snap, _, y = simulated(config.residents, seed, config.days, config.cases)
        snapshots.append(snap)
        ys.append(y)
    if progress:
        progress(f"training {config.epochs} epochs")
    return fit(config, snapshots, ys)


def scores(model: HouseScorer, snap: Snapshot, threads: int = 1) -> dict[str, float]:
    """Each house's risk score (a probability from 0 to 1) under `model`."""
    with _threads(threads), torch.no_grad():
        out = torch.sigmoid(model(*model_inputs(snap)))
    return dict(zip(snap.uids["house"], out.tolist(), strict=True))


# --- keeping and using models ---------------------------------------------------------------------


def save(trained: Trained, directory: Path | None = None) -> Path:
    """Save a trained model as ``<dir>/group_rental-<version>.pt`` and return the path."""
    directory = directory or model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{TARGET}-{trained.version}.pt"
    torch.save(
        {
            "format": FORMAT,
            "target": TARGET,
            "version": trained.version,
            "config": trained.config.model_dump(mode="json"),
            "trained_at": trained.trained_at.isoformat(),
            "epoch_seconds": trained.epoch_seconds,
            "positives": trained.positives,
            "houses": trained.houses,
            "state": trained.model.state_dict(),
        },
        path,
    )
    return path


def load(directory: Path | None = None, version: str | None = None) -> Trained:
    """Load the model of `version`, or the most recently trained one, from `directory`."""
    directory = directory or model_dir()
    if version:
        path = directory / f"{TARGET}-{version}.pt"
        if not path.is_file():
            raise ValidationError("version", version, f"no such model in {directory}")
    else:
        found = sorted(directory.glob(f"{TARGET}-*.pt"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise ValidationError("model", str(directory), "no trained model here; run `twinhood model train`")
        path = found[-1]
    saved: dict[str, Any] = torch.load(path, weights_only=True)
    if saved.get("format") != FORMAT:
        raise ValidationError("model", str(path), f"format {saved.get('format')} is not {FORMAT}")
    config = TrainConfig.model_validate(saved["config"])
    model = HouseScorer(config.hidden, config.layers, config.without)
    model.load_state_dict(saved["state"])
    model.eval()
    return Trained(
        model,
        config,
        saved["version"],
        datetime.fromisoformat(saved["trained_at"]),
        epoch_seconds=saved["epoch_seconds"],
        positives=saved["positives"],
        houses=saved["houses"],
    )


def write_scores(
    store: GraphStore, house_scores: dict[str, float], version: str, scored_at: datetime | None = None
) -> int:
    """Write each house's score, the model version and the time as House properties; return houses written."""
    stamp = scored_at or datetime.now(UTC)
    return store.set_properties(
        (h, {f"gnn_{TARGET}_score": round(s, 6), "gnn_model_version": version, "gnn_scored_at": stamp})
        for h, s in house_scores.items()
    )


# --- evaluation -----------------------------------------------------------------------------------


def auc(score: Sequence[float] | np.ndarray[Any, Any], truth: Sequence[float] | np.ndarray[Any, Any]) -> float:
    """ROC AUC from rank statistics (Mann-Whitney U), ties counted half."""
    y = np.asarray(truth, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both positive and negative cases")
    ranks = pd.Series(np.asarray(score, dtype=float)).rank(method="average").to_numpy()
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


@dataclass(frozen=True)
class Evaluation:
    """The model and the rule detector on the same unseen community."""

    residents: int
    seed: int
    houses: int
    positives: int
    auc_model: float
    auc_rule: float
    model_seconds: float
    rule_seconds: float
    snapshot_seconds: float
    top: list[tuple[str, float, float, bool]]
    """The houses the model scores highest: uid, model score, rule score, planted."""


def evaluate(trained: Trained, residents: int, seed: int, days: int = 30, cases: int | None = None) -> Evaluation:
    """Score an unseen simulated community with the model and with the `group_rental` detector; compare their AUC."""
    if seed in trained.config.seeds and residents == trained.config.residents:
        raise ValidationError("seed", seed, "the model was trained on this community; pick an unseen seed")
    snap, data, y = simulated(residents, seed, days, cases)
    started = time.perf_counter()
    model_scores = scores(trained.model, snap)
    model_seconds = time.perf_counter() - started
    rule_data = Inputs(data.events, data.context, data.start, data.end, data.zone)  # its own derived tables
    started = time.perf_counter()
    found = {f.subject: f.score for f in run(configure(only=[TARGET]), rule_data)}
    rule_seconds = time.perf_counter() - started
    houses = snap.uids["house"]
    model_column = np.array([model_scores[h] for h in houses])
    rule_column = np.array([found.get(h, 0.0) for h in houses])
    planted = y.numpy().astype(bool)
    order = np.argsort(-model_column, kind="stable")[: max(10, int(planted.sum()) + 5)]
    return Evaluation(
        residents,
        seed,
        len(houses),
        int(planted.sum()),
        auc(model_column, planted),
        auc(rule_column, planted),
        model_seconds,
        rule_seconds,
        snap.seconds,
        [(houses[i], float(model_column[i]), float(rule_column[i]), bool(planted[i])) for i in order],
    )
