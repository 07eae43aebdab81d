from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph import uid
from graph.codes import check_id_number, check_plate, id_number_birth_date, id_number_sex
from graph.generator import REFERENCE_DATE, Community, generate
from graph.ontology import (
    NODE_TYPES,
    RELATIONS,
    Building,
    DeviceCategory,
    Event,
    House,
    LivesIn,
    LocatedIn,
    Node,
    Person,
    Region,
    Unit,
)

RESIDENTS = 400
SEED = 11


@pytest.fixture(scope="module")
def community() -> Community:
    return generate(RESIDENTS, SEED)


def of(community: Community, label: str) -> list[Any]:
    return [n for n in community.nodes if n.label == label]


def links(community: Community, rel_type: str) -> list[Any]:
    return [link for link in community.links if link.type == rel_type]


def current_lives_in(community: Community) -> list[LivesIn]:
    return [link for link in links(community, "LIVES_IN") if link.until is None]


def dump(community: Community) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [n.model_dump() for n in community.nodes], [link.model_dump() for link in community.links]


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_identical_community(community: Community) -> None:
    assert dump(generate(RESIDENTS, SEED)) == dump(community)


def test_different_seeds_give_different_communities(community: Community) -> None:
    other = generate(RESIDENTS, SEED + 1)
    assert dump(other)[0] != dump(community)[0]
    assert {p.name for p in of(other, "Person")} != {p.name for p in of(community, "Person")}


def test_nothing_carries_wall_clock_time_and_everything_names_its_source(community: Community) -> None:
    records = [*community.nodes, *community.links]
    assert all(r.ingested_at is None for r in records)
    assert {r.source for r in records} == {f"generator:seed={SEED}"}


# --- integrity -------------------------------------------------------------------------------


@pytest.mark.parametrize("residents", [0, 1, 7, RESIDENTS])
def test_exactly_the_requested_number_live_in_the_community_now(residents: int) -> None:
    c = generate(residents, SEED)
    current = current_lives_in(c)
    assert len({link.start for link in current}) == residents
    assert len(current) == residents, "nobody lives in two houses at once"
    assert c.residents == residents


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(residents=st.integers(0, 60), seed=st.integers(0, 2**32))
def test_any_seed_gives_exact_residents_and_a_closed_graph(residents: int, seed: int) -> None:
    c = generate(residents, seed)
    assert len(current_lives_in(c)) == residents
    uids = {n.uid for n in c.nodes}
    assert all(link.start in uids and link.end in uids for link in c.links)


def test_every_link_end_exists_and_all_uids_are_unique(community: Community) -> None:
    node_uids = [n.uid for n in community.nodes]
    link_uids = [link.uid for link in community.links]
    assert len(set(node_uids)) == len(node_uids)
    assert len(set(link_uids)) == len(link_uids)
    present = set(node_uids)
    assert all(link.start in present and link.end in present for link in community.links)


def test_every_node_and_link_revalidates_from_its_dump(community: Community) -> None:
    for record in [*community.nodes, *community.links]:
        assert type(record).model_validate(record.model_dump()) == record


def test_summary_counts_match_the_lists(community: Community) -> None:
    summary = community.summary()
    assert set(summary) == set(NODE_TYPES) | set(RELATIONS)
    assert summary == {
        name: len(of(community, name) if name in NODE_TYPES else links(community, name)) for name in summary
    }
    assert sum(summary.values()) == len(community.nodes) + len(community.links)


def test_negative_residents_are_rejected() -> None:
    with pytest.raises(ValueError, match="residents"):
        generate(-1, SEED)


# --- places ----------------------------------------------------------------------------------


def test_regions_form_a_chain_from_province_to_community_holding_the_estates(community: Community) -> None:
    regions: dict[str, Region] = {r.uid: r for r in of(community, "Region")}
    parent = {link.start: link.end for link in links(community, "LOCATED_IN")}
    levels = ["community", "street", "district", "city", "province"]
    for estate in of(community, "Estate"):
        chain = []
        up = parent[estate.uid]
        while up in regions:
            chain.append(regions[up].level)
            up = parent.get(up, "")
        assert chain == levels
    codes = [r.code for r in regions.values()]
    assert all(
        child.code.startswith(regions[parent[child.uid]].code.rstrip("0"))
        for child in regions.values()
        if child.uid in parent
    )
    assert len(set(codes)) == len(codes)


def test_house_floors_are_within_their_buildings_floors(community: Community) -> None:
    buildings: dict[str, Building] = {b.code: b for b in of(community, "Building")}
    houses: list[House] = of(community, "House")
    assert houses
    for house in houses:
        assert 1 <= house.floor <= buildings[house.building_code].floors_above
        assert house.room.startswith(str(house.floor)) and len(house.room) == len(str(house.floor)) + 2


def test_houses_sit_in_units_that_sit_in_their_buildings(community: Community) -> None:
    parent = {link.start: link.end for link in links(community, "LOCATED_IN")}
    units: dict[str, Unit] = {u.uid: u for u in of(community, "Unit")}
    for house in of(community, "House"):
        unit = units[parent[house.uid]]
        assert (unit.building_code, unit.number) == (house.building_code, house.unit_number)
        assert parent[unit.uid] == uid.building(house.building_code)


def test_building_codes_are_unique_across_estates() -> None:
    c = generate(3000, SEED)
    codes = [b.code for b in of(c, "Building")]
    assert len(of(c, "Estate")) == 2
    assert len(set(codes)) == len(codes)


def test_most_houses_are_occupied_and_about_a_third_of_those_rented() -> None:
    c = generate(2000, SEED)
    houses: list[House] = of(c, "House")
    occupied = {link.end for link in current_lives_in(c)}
    rented = [h for h in houses if h.rented]
    assert 0.80 <= len(occupied) / len(houses) <= 0.92
    assert 0.22 <= len(rented) / len(occupied) <= 0.38


# --- people ----------------------------------------------------------------------------------


def test_every_id_number_is_valid_and_agrees_with_sex_and_birth_date(community: Community) -> None:
    people: list[Person] = of(community, "Person")
    for person in people:
        assert person.id_number is not None and person.birth_date is not None
        assert check_id_number(person.id_number) == person.id_number
        assert id_number_sex(person.id_number) == person.sex
        assert id_number_birth_date(person.id_number) == person.birth_date
        assert person.birth_date < REFERENCE_DATE
    numbers = [p.id_number for p in people]
    assert len(set(numbers)) == len(numbers)
    for member in of(community, "DefenceMember"):
        assert id_number_sex(check_id_number(member.id_number)) == member.sex


def test_native_place_matches_the_area_of_the_id_number(community: Community) -> None:
    by_area = defaultdict(set)
    for person in of(community, "Person"):
        by_area[person.id_number[:6]].add(person.native_place)
    assert len(by_area) >= 5
    assert all(len(places) == 1 for places in by_area.values())


def test_children_are_younger_than_the_parents_they_live_with(community: Community) -> None:
    people = {p.uid: p for p in of(community, "Person")}
    households: dict[str, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
    for link in links(community, "MEMBER_OF"):
        households[link.end][link.role].append(people[link.start].birth_date)
    checked = 0
    for roles in households.values():
        for child in roles["child"]:
            assert all(child > older for role in ("head", "spouse", "parent") for older in roles[role])
            checked += 1
    assert checked


def test_rented_houses_have_a_non_resident_owner_and_tenants(community: Community) -> None:
    current = current_lives_in(community)
    residents = {link.start for link in current}
    tenants = defaultdict(list)
    for link in current:
        tenants[link.end].append(link)
    owners = defaultdict(list)
    for link in links(community, "OWNS"):
        if link.end.startswith("house:") and link.until is None:
            owners[link.end].append(link.start)
    rented: list[House] = [h for h in of(community, "House") if h.rented]
    assert rented
    for house in rented:
        assert tenants[house.uid] and all(link.role == "tenant" for link in tenants[house.uid])
        assert owners[house.uid] and not set(owners[house.uid]) & residents
    all_tenants = [link for link in current if link.role == "tenant"]
    assert any(not link.registered for link in all_tenants)


def test_owner_occupied_houses_are_owned_by_a_resident_and_the_household_registered_there(community: Community) -> None:
    current = current_lives_in(community)
    living = defaultdict(set)
    for link in current:
        living[link.end].add(link.start)
    owners = defaultdict(set)
    for link in links(community, "OWNS"):
        if link.until is None:
            owners[link.end].add(link.start)
    registered_at = {link.end for link in links(community, "REGISTERED_AT")}
    owner_occupied = [h for h in of(community, "House") if h.uid in living and not h.rented]
    assert owner_occupied
    for house in owner_occupied:
        assert owners[house.uid] <= living[house.uid]
        assert house.uid in registered_at


def test_former_residents_have_closed_stays_and_live_elsewhere_now(community: Community) -> None:
    now = {link.start for link in current_lives_in(community)}
    former = [link for link in links(community, "LIVES_IN") if link.until is not None]
    assert former
    for link in former:
        reference = datetime(2026, 1, 1, tzinfo=link.until.tzinfo)
        assert link.since is not None and link.since < link.until <= reference
        assert link.start not in now


def test_former_residents_left_before_the_present_residents_arrived(community: Community) -> None:
    arrived: dict[str, datetime] = {}
    for link in current_lives_in(community):
        assert link.since is not None
        arrived[link.end] = min(link.since, arrived.get(link.end, link.since))
    for link in links(community, "LIVES_IN"):
        if link.until is not None and link.end in arrived:
            assert link.until <= arrived[link.end]


# --- vehicles, organisations, devices, grids ------------------------------------------------


def test_plates_are_valid_unique_and_mostly_beijing(community: Community) -> None:
    plates = [v.plate for v in of(community, "Vehicle")]
    assert plates
    assert all(check_plate(p) == p for p in plates)
    assert len(set(plates)) == len(plates)
    assert Counter(p[0] for p in plates).most_common(1)[0][0] == "京"
    owned = {link.end for link in links(community, "OWNS")}
    assert all(v.uid in owned for v in [*of(community, "Vehicle"), *of(community, "NonMotorVehicle")])


def test_new_energy_plates_are_green() -> None:
    vehicles = of(generate(2000, SEED), "Vehicle")
    electric = [v for v in vehicles if v.plate_type == "new_energy_small"]
    assert electric
    assert all(v.plate_colour == "green" and len(v.plate) == 8 for v in electric)


def test_organisations_have_a_legal_representative_and_key_units_exist(community: Community) -> None:
    organisations = of(community, "Organisation")
    represented = {link.end for link in links(community, "LEGAL_REPRESENTATIVE_OF")}
    assert {o.uid for o in organisations} == represented
    categories = {o.category for o in organisations}
    assert {"property_management", "shop", "school", "hospital"} <= categories
    assert {o.key_category for o in organisations if o.key_unit} >= {"school", "hospital", "fire_safety"}


def test_every_device_category_is_an_ontology_category_and_codes_are_unique(community: Community) -> None:
    devices = of(community, "Device")
    assert {d.category for d in devices} <= set(get_args(DeviceCategory))
    codes = [d.code for d in devices]
    assert len(set(codes)) == len(codes)
    installed = Counter(link.start for link in links(community, "INSTALLED_IN"))
    assert all(installed[d.uid] == 1 for d in devices)


def test_every_house_has_its_three_meters(community: Community) -> None:
    devices = {d.uid: d for d in of(community, "Device")}
    meters = defaultdict(set)
    for link in links(community, "INSTALLED_IN"):
        if link.end.startswith("house:"):
            meters[link.end].add(devices[link.start].category)
    assert all(meters[h.uid] == {"water_meter", "power_meter", "gas_meter"} for h in of(community, "House"))


def test_each_grid_has_its_three_staff_and_every_building_a_grid(community: Community) -> None:
    roles = defaultdict(set)
    for link in links(community, "RESPONSIBLE_FOR"):
        roles[link.end].add(link.role)
    staff_roles = {"grid_worker", "police_officer", "property_manager"}
    assert all(roles[g.uid] == staff_roles for g in of(community, "Grid"))
    in_grid = {link.start for link in links(community, "IN_GRID")}
    assert all(b.uid in in_grid for b in of(community, "Building"))
    residents = {link.start for link in current_lives_in(community)}
    staff = {link.start for link in links(community, "RESPONSIBLE_FOR")}
    assert not staff & residents


def test_defence_members_serve_in_an_estate(community: Community) -> None:
    members = of(community, "DefenceMember")
    serving = {link.start for link in links(community, "SERVES_IN")}
    assert {"security_guard", "volunteer", "owners_committee"} == {m.force for m in members}
    assert {m.uid for m in members} == serving


# --- planters --------------------------------------------------------------------------------


def plant_a_stranger(community: Community, rng: random.Random) -> list[dict[str, Any]]:
    event = Event(
        uid=uid.event(f"stranger-{rng.randrange(10**6)}"),
        source="planter:stranger",
        kind="face_capture",
        occurred_at=datetime(2025, 12, 31, 23, 0),
    )
    community.nodes.append(event)
    return [{"kind": "stranger", "uid": event.uid}, {"kind": "named", "planter": "someone_else"}]


def test_a_planter_can_add_nodes_and_its_truth_is_recorded_with_its_name() -> None:
    calls: list[int] = []

    def counting(community: Community, rng: random.Random) -> list[dict[str, Any]]:
        calls.append(len(community.nodes))
        return []

    c = generate(50, SEED, planters=[counting, plant_a_stranger])
    assert len(calls) == 1 and calls[0] > 0
    planted = [n for n in c.nodes if n.label == "Event"]
    assert len(planted) == 1
    assert c.truth == [
        {"planter": "plant_a_stranger", "kind": "stranger", "uid": planted[0].uid},
        {"planter": "someone_else", "kind": "named"},
    ]
    assert c.summary()["Event"] == 1


def test_planters_are_deterministic_for_a_seed() -> None:
    first = generate(50, SEED, planters=[plant_a_stranger])
    second = generate(50, SEED, planters=[plant_a_stranger])
    assert first.truth == second.truth
    assert generate(50, SEED).nodes == first.nodes[:-1]


def test_a_planter_leaving_a_dangling_link_is_an_error() -> None:
    def dangling(community: Community, rng: random.Random) -> list[dict[str, Any]]:
        ghost = LocatedIn(source="planter", start=uid.house("X", 1, "101"), end=uid.unit("X", 1))
        community.links.append(ghost)
        return []

    with pytest.raises(ValueError, match="outside the community"):
        generate(20, SEED, planters=[dangling])


def test_every_node_is_an_instance_of_its_registered_label(community: Community) -> None:
    assert all(isinstance(n, Node) and NODE_TYPES[n.label] is type(n) for n in community.nodes)
