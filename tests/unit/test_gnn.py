"""Graph ML on tiny simulated communities: the snapshot's shape and features, training, scores and AUC."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor

from analytics import frame, gnn
from analytics.detectors import Inputs
from graph import ValidationError

RESIDENTS = 300
CONFIG = gnn.TrainConfig(residents=RESIDENTS, seeds=(1, 2), cases=2, epochs=40)


@pytest.fixture(scope="module")
def training() -> tuple[list[gnn.Snapshot], list[Tensor]]:
    made = [gnn.simulated(RESIDENTS, seed, CONFIG.days, CONFIG.cases) for seed in CONFIG.seeds]
    return [s for s, _, _ in made], [y for _, _, y in made]


@pytest.fixture(scope="module")
def window() -> tuple[gnn.Snapshot, Inputs, Tensor]:
    return gnn.simulated(RESIDENTS, 1, CONFIG.days, CONFIG.cases)


@pytest.fixture(scope="module")
def trained(training: tuple[list[gnn.Snapshot], list[Tensor]]) -> gnn.Trained:
    return gnn.fit(CONFIG, *training)


def test_snapshot_has_a_row_per_entity_and_the_documented_features(window: tuple[gnn.Snapshot, Inputs, Tensor]) -> None:
    snap, data, _ = window
    ctx = data.context
    assert snap.uids["house"] == sorted(ctx.houses)
    assert snap.uids["unit"] == sorted(set(ctx.house_unit.values()))
    assert set(ctx.persons) <= set(snap.uids["person"])
    for kind, columns in gnn.FEATURES.items():
        x = snap.data[kind].x
        assert x.dtype == torch.float32 and x.shape == (len(snap.uids[kind]), len(columns))
        assert torch.isfinite(x).all() and (x >= 0).all()
    for src, rel, dst in gnn.EDGE_TYPES:
        index = snap.data[src, rel, dst].edge_index
        assert index.shape[0] == 2 and index.dtype == torch.long
        assert int(index[0].max()) < len(snap.uids[src]) and int(index[1].max()) < len(snap.uids[dst])
    assert snap.data["person", "lives_in", "house"].edge_index.shape[1] == len(ctx.home)
    assert snap.data["house", "located_in", "unit"].edge_index.shape[1] == len(ctx.house_unit)
    opened = snap.data["person", "opened", "house"]
    assert opened.edge_weight.shape == (opened.edge_index.shape[1],) and (opened.edge_weight >= 1).all()


def test_a_window_without_events_still_has_every_house_and_resident(
    window: tuple[gnn.Snapshot, Inputs, Tensor],
) -> None:
    _, data, _ = window
    snap = gnn.snapshot(Inputs(frame.empty(), data.context, data.start, data.end))
    assert snap.uids["house"] == sorted(data.context.houses)
    assert snap.data["person", "opened", "house"].edge_index.shape == (2, 0)
    houses = snap.frame("house")
    assert (houses["door_users"] == 0).all() and (houses["power_per_day"] == 0).all()
    assert int(houses["residents"].sum()) == len(data.context.home)


def test_features_count_what_the_documentation_says(window: tuple[gnn.Snapshot, Inputs, Tensor]) -> None:
    snap, data, y = window
    ctx = data.context
    houses, persons = snap.frame("house"), snap.frame("person")
    rental = snap.uids["house"][int(y.nonzero()[0, 0])]
    doors = data.events[(data.events["kind"] == "access_open") & (data.events["house"] == rental)]
    users = set(doors["subject"])
    house = houses.loc[rental].to_dict()
    assert house["door_users"] == len(users)
    assert house["door_users_not_living_there"] == len({u for u in users if ctx.home.get(u) != rental})
    assert house["door_users_not_living_there"] >= 6  # the planted tenants, by their cards
    assert house["door_opens_per_day"] == pytest.approx(len(doors) / data.window_days)
    assert house["residents"] == len(ctx.occupants[rental])
    assert house["power_per_day"] == pytest.approx(data.consumption.loc[rental, "power"])

    tenant = next(u for u in users if u not in ctx.home)
    assert persons.loc[tenant, ["on_record", "registered", "unregistered", "age"]].tolist() == [0, 0, 1, 0]
    resident = ctx.occupants[rental][0]
    assert persons.loc[resident, "on_record"] == 1 and persons.loc[resident, "age"] == data.age(resident)
    seen = data.sightings
    days = int(seen[(seen["subject"] == tenant) & (seen["house"] == rental)]["day"].nunique())
    opened = snap.data["person", "opened", "house"]
    p, h = snap.uids["person"].index(tenant), snap.uids["house"].index(rental)
    edge = ((opened.edge_index[0] == p) & (opened.edge_index[1] == h)).nonzero()
    assert float(opened.edge_weight[edge[0, 0]]) == days >= 20


def test_a_short_training_ranks_an_unseen_communitys_group_rentals_first(trained: gnn.Trained) -> None:
    assert trained.losses[-1] < trained.losses[0] / 10
    result = gnn.evaluate(trained, RESIDENTS, seed=11, cases=2)
    assert result.positives >= 2 and result.houses > 100
    assert result.auc_model >= 0.95
    assert result.auc_rule >= 0.95  # the rule detector finds these planted cases too: the bar to reach
    planted = [row for row in result.top if row[3]]
    assert [row[3] for row in result.top[: len(planted)]] == [True] * len(planted)


def test_without_the_houses_door_counts_it_finds_them_through_the_people_who_open_the_door(
    training: tuple[list[gnn.Snapshot], list[Tensor]],
) -> None:
    door = tuple(f"house.{name}" for name, _ in gnn.FEATURES["house"] if "door" in name)
    assert len(door) == 5
    blind = gnn.fit(CONFIG.model_copy(update={"without": door}), *training)
    result = gnn.evaluate(blind, RESIDENTS, seed=12, cases=2)
    assert result.auc_model >= 0.95


def test_a_feature_left_out_must_be_one_the_snapshot_has() -> None:
    with pytest.raises(ValueError, match=r"unknown features house\.colour"):
        gnn.TrainConfig(without=("house.colour",))


def test_training_is_deterministic_and_versioned_by_config_and_data(
    training: tuple[list[gnn.Snapshot], list[Tensor]], trained: gnn.Trained
) -> None:
    again = gnn.fit(CONFIG, *training)
    assert again.version == trained.version and again.losses == trained.losses
    for name, tensor in trained.model.state_dict().items():
        assert torch.equal(tensor, again.model.state_dict()[name]), name
    other = gnn.fit(CONFIG.model_copy(update={"epochs": 5}), *training)
    assert other.version != trained.version
    fewer = gnn.fit(CONFIG, training[0][:1], training[1][:1])
    assert fewer.version != trained.version


def test_a_saved_model_loads_and_scores_the_same(
    tmp_path: Path, trained: gnn.Trained, window: tuple[gnn.Snapshot, Inputs, Tensor]
) -> None:
    path = gnn.save(trained, tmp_path)
    assert path.name == f"group_rental-{trained.version}.pt"
    loaded = gnn.load(tmp_path)
    assert loaded.version == trained.version and loaded.config == trained.config
    assert gnn.scores(loaded.model, window[0]) == gnn.scores(trained.model, window[0])
    with pytest.raises(ValidationError, match="no such model"):
        gnn.load(tmp_path, "000000000000")
    with pytest.raises(ValidationError, match="no trained model"):
        gnn.load(tmp_path / "empty")


def test_model_dir_follows_the_settings(tmp_path: Path) -> None:
    assert gnn.model_dir(gnn.ModelSettings(home=tmp_path)) == tmp_path / "models"
    assert gnn.model_dir(gnn.ModelSettings(home=tmp_path, model_dir=tmp_path / "m")) == tmp_path / "m"


def test_evaluation_refuses_a_community_the_model_was_trained_on(trained: gnn.Trained) -> None:
    with pytest.raises(ValidationError, match="unseen"):
        gnn.evaluate(trained, RESIDENTS, seed=CONFIG.seeds[0])


def test_auc_is_the_share_of_rightly_ordered_pairs_with_ties_half() -> None:
    assert gnn.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert gnn.auc([0.0, 0.0, 0.0], [0, 1, 0]) == 0.5
    assert gnn.auc([0.9, 0.1], [0, 1]) == 0.0
    with pytest.raises(ValueError, match="both"):
        gnn.auc([0.2, 0.3], [1, 1])
