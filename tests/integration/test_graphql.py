"""The GraphQL API through a real uvicorn over a generated community in real stores: every query family,
mutations with typed problems, roles and masking, the audit log, limits, persisted queries."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from api.anchoring import map_community, place
from api.app import create_app
from api.bootstrap import Services
from api.security.tokens import issue
from api.stack import libpq_url
from graph import Device, Flags, GraphSettings, GraphStore, Person, RiskFlag, uid
from graph.admin import create_database, drop_database
from graph.generator import Community, generate
from graph.masking import mask_value
from graph.store import AsyncReads, Step
from ingest.events import parse_message
from ingest.intake import accept
from spatial import SpatialSettings
from tests.integration.test_tiles import serve

PASSWORD = "correct horse battery"
ROLES = ("admin", "police", "grid_worker", "property_manager", "analyst", "viewer", "device")


@dataclass
class World:
    """A served app over one generated community, with a logged-in user per seed role."""

    http: httpx.Client
    services: Services
    community: Community
    tokens: dict[str, str]

    def gql(self, role: str | None, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        answer = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def nodes(self, label: str) -> list[Any]:
        return [n for n in self.community.nodes if n.label == label]


def _admin(sql: str) -> None:
    with psycopg.connect(libpq_url(SpatialSettings().database_url), autocommit=True) as conn:
        conn.execute(sql)


def load(community: Community, store: GraphStore, engine: Engine) -> None:
    """Load a generated community into graph, map layers and the search index, as `twinhood generate` does."""
    placement = place(community)
    store.upsert(community.nodes)
    store.link(community.links)
    with engine.begin() as conn:
        map_community(conn, community, placement)


@pytest.fixture(scope="module")
def world(graph_settings: GraphSettings, postgis_template: str) -> Iterator[World]:
    graph_name, pg_name = f"test_{uuid.uuid4().hex[:12]}", f"test_{uuid.uuid4().hex[:12]}"
    create_database(graph_settings, graph_name)
    _admin(f"CREATE DATABASE {pg_name} TEMPLATE {postgis_template}")
    engine = create_engine(make_url(SpatialSettings().database_url).set(database=pg_name))
    store = GraphStore.from_settings(graph_settings, graph_name)
    try:
        store.ensure_schema()
        community = generate(60, 7)
        load(community, store, engine)
        services = Services(engine, store)
        services.security.users.seed_roles()
        for role in ROLES:
            services.security.users.create_user(f"{role.replace('_', '')}1", PASSWORD, [role])
        with serve(create_app(services)) as http:
            tokens = {}
            for role in ROLES:
                answer = http.post("/auth/login", json={"username": f"{role.replace('_', '')}1", "password": PASSWORD})
                tokens[role] = answer.json()["access_token"]
            yield World(http, services, community, tokens)
        services.security.close()
    finally:
        store.close()
        engine.dispose()
        drop_database(graph_settings, graph_name)
        _admin(f"DROP DATABASE {pg_name} WITH (FORCE)")


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


# --- entities and relationships --------------------------------------------------------------------


def test_an_entity_by_uid_has_its_typed_fields(world: World) -> None:
    building = world.nodes("Building")[0]
    body = world.gql(
        "viewer",
        "query($uid: ID!) { entity(uid: $uid) { uid label caption ... on Building { code name floorsAbove use } } }",
        {"uid": building.uid},
    )
    assert body["data"]["entity"] == {
        "uid": building.uid,
        "label": "Building",
        "caption": building.name,
        "code": building.code,
        "name": building.name,
        "floorsAbove": building.floors_above,
        "use": building.use,
    }


def test_an_unknown_uid_is_null_and_a_malformed_one_names_the_argument(world: World) -> None:
    assert world.gql("viewer", '{ entity(uid: "building:NOPE") { uid } }')["data"]["entity"] is None
    bad = world.gql("viewer", '{ entity(uid: "nonsense") { uid } }')
    assert codes(bad) == ["VALIDATION"] and bad["errors"][0]["extensions"]["field"] == "uid"


NESTED = """query($uid: ID!) { entity(uid: $uid) { ... on Building {
  units { uid houses { uid room residents { uid name } } } } } }"""


def test_building_units_houses_residents_match_the_graph_with_one_read_per_level(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    building = world.nodes("Building")[0]
    store = world.services.graph
    reads: list[str] = []
    original = AsyncReads._read

    async def counting(self: AsyncReads, query: str, params: dict[str, Any]) -> Any:
        reads.append(query)
        return await original(self, query, params)

    monkeypatch.setattr(AsyncReads, "_read", counting)
    body = world.gql("police", NESTED, {"uid": building.uid})
    units = body["data"]["entity"]["units"]
    expected_units = store.neighbours([building.uid], [Step("LOCATED_IN", "in", "Unit")])[building.uid]
    assert sorted(u["uid"] for u in units) == sorted(n.uid for n, _ in expected_units)
    houses = [h for u in units for h in u["houses"]]
    assert len(houses) == len(world.nodes("House"))
    for house in houses[:5]:
        current = {s.person for s in store.residence_history(house["uid"]) if s.until is None}
        assert {r["uid"] for r in house["residents"]} == current
    assert len(reads) == 4, reads  # the building, its units, their houses, their residents


def test_a_person_lists_vehicles_and_a_house_its_residence_history(world: World) -> None:
    owner = next(
        link.start for link in world.community.links if link.type == "OWNS" and link.end.startswith("vehicle:")
    )
    body = world.gql(
        "police",
        "query($uid: ID!) { entity(uid: $uid) { ... on Person { "
        "vehicles { uid ... on Vehicle { plate } } homes { uid } } } }",
        {"uid": owner},
    )
    owned = {link.end for link in world.community.links if link.type == "OWNS" and link.start == owner}
    assert {v["uid"] for v in body["data"]["entity"]["vehicles"]} == {u for u in owned if u.startswith("vehicle:")}
    house = body["data"]["entity"]["homes"][0]["uid"]
    history = world.gql(
        "police",
        "query($uid: ID!) { entity(uid: $uid) { ... on House { residenceHistory { uid via { name value } } } } }",
        {"uid": house},
    )["data"]["entity"]["residenceHistory"]
    assert {p["uid"] for p in history} == {s.person for s in world.services.graph.residence_history(house)}
    assert all({"since", "role", "registered"} <= {v["name"] for v in p["via"]} for p in history)


# --- masking per role ----------------------------------------------------------------------------


PERSON = """query($uid: ID!) { entity(uid: $uid) { maskedFields ... on Person { name phone idNumber facePhoto } } }"""


@pytest.mark.parametrize(
    ("role", "masked"),
    [
        ("police", set()),
        ("admin", set()),
        ("grid_worker", {"idNumber", "facePhoto"}),
        ("property_manager", {"idNumber", "facePhoto"}),
        ("analyst", {"idNumber", "phone", "facePhoto"}),
    ],
)
def test_identity_fields_are_masked_unless_the_role_may_see_them(world: World, role: str, masked: set[str]) -> None:
    person: Person = next(p for p in world.nodes("Person") if p.phone and p.id_number and p.face_photo)
    data = world.gql(role, PERSON, {"uid": person.uid})["data"]["entity"]
    assert set(data["maskedFields"]) == masked
    assert data["name"] == person.name
    assert data["phone"] == (mask_value("phone", person.phone) if "phone" in masked else person.phone)
    assert data["idNumber"] == (mask_value("id_number", person.id_number) if "idNumber" in masked else person.id_number)
    assert data["facePhoto"] == (None if "facePhoto" in masked else person.face_photo)


def test_a_viewer_may_not_read_a_person_at_all(world: World) -> None:
    person = world.nodes("Person")[0]
    body = world.gql("viewer", PERSON, {"uid": person.uid})
    assert body["data"]["entity"] is None
    assert codes(body) == ["FORBIDDEN"] and body["errors"][0]["extensions"]["permission"] == "read:person"


def test_residents_of_a_house_are_forbidden_to_a_viewer_but_the_house_is_not(world: World) -> None:
    house = next(link.end for link in world.community.links if link.type == "LIVES_IN")
    body = world.gql(
        "viewer", "query($u: ID!) { entity(uid: $u) { uid ... on House { residents { uid } } } }", {"u": house}
    )
    assert codes(body) == ["FORBIDDEN"] and body["errors"][0]["path"] == ["entity", "residents"]


# --- search, neighbourhood, path ----------------------------------------------------------------


def test_search_finds_a_person_by_name_and_resolves_the_entity_masked(world: World) -> None:
    person: Person = world.nodes("Person")[3]
    body = world.gql(
        "analyst",
        'query($q: String!) { search(query: $q, mode: EXACT, labels: ["Person"]) { uid kind title '
        "entity { uid ... on Person { phone } } } }",
        {"q": person.name},
    )
    hits = body["data"]["search"]
    assert person.uid in [h["uid"] for h in hits]
    hit = next(h for h in hits if h["uid"] == person.uid)
    assert hit["entity"]["phone"] == (mask_value("phone", person.phone) if person.phone else None)


def test_text_with_a_nul_character_is_refused_naming_the_argument(world: World) -> None:
    # found by the GraphQL fuzzer: PostgreSQL cannot store or compare a NUL, and search answered INTERNAL
    literal = world.gql("admin", 'query { search(query: "a\\u0000b") { uid } }')
    assert codes(literal) == ["VALIDATION"] and literal["errors"][0]["extensions"]["field"] == "query"
    update = 'mutation { updateEntity(uid: "person:X", properties: {name: "\\u0000"}) { __typename } }'
    nested = world.gql("admin", update)
    assert codes(nested) == ["VALIDATION"] and nested["errors"][0]["extensions"]["field"] == "properties"
    variable = world.gql("admin", "query($q: String!) { search(query: $q) { uid } }", {"q": "a\x00b"})
    assert codes(variable) == ["VALIDATION"] and variable["errors"][0]["extensions"]["field"] == "$q"


def test_neighbourhood_and_shortest_path_are_subgraphs(world: World) -> None:
    house = next(link.end for link in world.community.links if link.type == "LIVES_IN")
    body = world.gql(
        "police",
        "query($u: ID!) { neighbourhood(uid: $u, hops: 2) { nodes { uid label caption } edges { type start end } } }",
        {"u": house},
    )
    sub = body["data"]["neighbourhood"]
    expected = world.services.graph.neighbourhood(house, hops=2)
    assert {n["uid"] for n in sub["nodes"]} == set(expected.uids())
    assert len(sub["edges"]) == len(expected.edges)
    person = next(link.start for link in world.community.links if link.type == "LIVES_IN" and link.end == house)
    grid = world.nodes("Grid")[0].uid
    path = world.gql(
        "police",
        "query($a: ID!, $b: ID!) { shortestPath(start: $a, end: $b) { nodes { uid } edges { type } } }",
        {"a": person, "b": grid},
    )["data"]["shortestPath"]
    assert path["nodes"][0]["uid"] == person and path["nodes"][-1]["uid"] == grid
    assert len(path["edges"]) == len(path["nodes"]) - 1


def test_a_neighbourhood_shows_an_analyst_no_names_of_people_but_their_uids(world: World) -> None:
    house = next(link.end for link in world.community.links if link.type == "LIVES_IN")
    sub = world.gql("viewer", "query($u: ID!) { neighbourhood(uid: $u) { nodes { uid label caption } } }", {"u": house})
    people = [n for n in sub["data"]["neighbourhood"]["nodes"] if n["label"] == "Person"]
    assert people and all(n["caption"] == n["uid"] for n in people)


# --- events, alarms, spatial, statistics ---------------------------------------------------------


def _ledger(world: World, events: list[dict[str, Any]]) -> None:
    items = parse_message(json.dumps(events).encode())
    with world.services.engine.begin() as conn:
        accept(conn, list(items), source="test")


def test_the_events_timeline_pages_by_cursor_and_filters(world: World) -> None:
    device = next(d for d in world.nodes("Device") if d.category == "water_meter")
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    readings = [
        {
            "kind": "meter_reading",
            "device": device.code,
            "ts": (start + timedelta(minutes=m)).isoformat(),
            "meter": "water",
            "reading": 100 + m,
            "unit": "m3",
            "id": f"wm-{m}",
        }
        for m in range(7)
    ]
    _ledger(world, readings)
    query = """query($d: String!, $after: String) {
      events(first: 3, after: $after, device: $d, kinds: ["meter_reading"],
      since: "2026-03-01T00:00:00Z", until: "2026-03-02T00:00:00Z") {
      edges { cursor node { id kind device ts } } pageInfo { hasNextPage endCursor } } }"""
    seen, after = [], None
    while True:
        page = world.gql("analyst", query, {"d": device.code, "after": after})["data"]["events"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"wm-{m}" for m in reversed(range(7))]
    early = world.gql(
        "analyst",
        'query($d: String!) { events(device: $d, until: "2026-03-01T08:03:00Z") { edges { node { id } } } }',
        {"d": device.code},
    )["data"]["events"]["edges"]
    assert [e["node"]["id"] for e in early] == ["wm-2", "wm-1", "wm-0"]
    bad = world.gql("analyst", '{ events(after: "garbage") { edges { cursor } } }')
    assert codes(bad) == ["VALIDATION"] and bad["errors"][0]["extensions"]["field"] == "after"


def test_events_by_subject_and_counts_by_kind(world: World) -> None:
    person = world.nodes("Person")[5]
    door = next(d for d in world.nodes("Device") if d.category == "access_control")
    _ledger(
        world,
        [
            {
                "kind": "access_open",
                "device": door.code,
                "ts": f"2026-04-0{d}T07:00:00+08:00",
                "person": person.uid,
                "method": "card",
                "id": f"door-{person.uid}-{d}",
            }
            for d in range(1, 4)
        ],
    )
    body = world.gql(
        "police", "query($s: ID!) { events(subject: $s) { edges { node { id kind } } } }", {"s": person.uid}
    )
    assert [e["node"]["id"] for e in body["data"]["events"]["edges"]] == [f"door-{person.uid}-{d}" for d in (3, 2, 1)]
    stats = world.gql(
        "analyst",
        '{ statistics { entities { key count } events(by: KIND, since: "2026-03-31T00:00:00Z", '
        'until: "2026-04-04T00:00:00Z") { key count } } }',
    )["data"]["statistics"]
    assert {"key": "access_open", "count": 3} in stats["events"]
    entities = {c["key"]: c["count"] for c in stats["entities"]}
    assert entities["Person"] >= len(world.nodes("Person")) and entities["Building"] == len(world.nodes("Building"))
    by_day = world.gql(
        "analyst", '{ statistics { events(by: BUCKET, bucket: DAY, kinds: ["access_open"]) { key count } } }'
    )["data"]["statistics"]["events"]
    days = {c["key"][:10]: c["count"] for c in by_day if c["key"] >= "2026-03-31"}
    assert days == {"2026-03-31": 1, "2026-04-01": 1, "2026-04-02": 1}  # 07:00 in Beijing is the day before in UTC


def test_spatial_queries_find_the_building_at_its_own_point(world: World) -> None:
    building = world.nodes("Building")[0]
    assert building.lon is not None and building.lat is not None
    body = world.gql(
        "viewer",
        """query($lon: Float!, $lat: Float!) {
          atPoint(lon: $lon, lat: $lat) { uid layer entity { uid } }
          withinRadius(lon: $lon, lat: $lat, metres: 50, layers: ["buildings"]) { uid distanceM }
          inBbox(layer: "buildings", west: -180, south: -90, east: 180, north: 90, first: 10) {
            items { uid } nextAfter }
        }""",
        {"lon": building.lon, "lat": building.lat},
    )["data"]
    assert building.uid in [h["uid"] for h in body["atPoint"] if h["layer"] == "buildings"]
    assert body["withinRadius"][0] == {"uid": building.uid, "distanceM": 0.0}
    assert [h["uid"] for h in body["inBbox"]["items"]] == [building.uid]
    grid = world.nodes("Grid")[0].uid
    inside = world.gql("viewer", 'query($g: ID!) { inGrid(grid: $g, layers: ["buildings"]) { uid } }', {"g": grid})
    assert building.uid in [h["uid"] for h in inside["data"]["inGrid"]]
    bad = world.gql("viewer", "{ atPoint(lon: 500, lat: 0) { uid } }")
    assert codes(bad) == ["VALIDATION"]


# --- mutations ------------------------------------------------------------------------------------


CREATE = """mutation($uid: ID!, $p: JSON!) { createEntity(label: "Person", uid: $uid, properties: $p) {
  __typename ... on EntityPayload { entity { uid ... on Person { name phone } } }
  ... on ValidationProblem { field reason value } } }"""


def test_create_update_delete_with_problems_naming_the_field(world: World) -> None:
    bad = world.gql("admin", CREATE, {"uid": "person:NEW1", "p": {"name": "王五", "phone": "12"}})
    problem = bad["data"]["createEntity"]
    assert problem["__typename"] == "ValidationProblem" and problem["field"] == "phone" and problem["value"] == "12"
    made = world.gql("admin", CREATE, {"uid": "person:NEW1", "p": {"name": "王五", "phone": "13812345678"}})
    assert made["data"]["createEntity"]["entity"] == {"uid": "person:NEW1", "name": "王五", "phone": "13812345678"}
    again = world.gql("admin", CREATE, {"uid": "person:NEW1", "p": {"name": "王五"}})["data"]["createEntity"]
    assert again["field"] == "uid" and "exists" in again["reason"]
    changed = world.gql(
        "admin",
        'mutation { updateEntity(uid: "person:NEW1", properties: {name: "王六"}) '
        "{ ... on EntityPayload { entity { caption } } } }",
    )
    assert changed["data"]["updateEntity"]["entity"]["caption"] == "王六"
    assert world.services.graph.get("person:NEW1").name == "王六"  # type: ignore[attr-defined]
    gone = world.gql("admin", 'mutation { deleteEntity(uid: "person:NEW1") { __typename ... on Deleted { uid } } }')
    assert gone["data"]["deleteEntity"] == {"__typename": "Deleted", "uid": "person:NEW1"}
    missing = world.gql("admin", 'mutation { deleteEntity(uid: "person:NEW1") { __typename } }')
    assert missing["data"]["deleteEntity"]["__typename"] == "NotFound"


SEARCH = 'query($q: String!) { search(query: $q, mode: EXACT, labels: ["Person", "Device"]) { uid } }'


def test_search_and_the_map_follow_renames_and_deletes(world: World) -> None:
    def found(name: str) -> list[str]:
        return [hit["uid"] for hit in world.gql("admin", SEARCH, {"q": name})["data"]["search"]]

    world.gql("admin", CREATE, {"uid": "person:SRCH1", "p": {"name": "钱八"}})
    assert "person:SRCH1" in found("钱八")
    world.gql("admin", 'mutation { updateEntity(uid: "person:SRCH1", properties: {name: "孙九"}) { __typename } }')
    assert "person:SRCH1" in found("孙九") and "person:SRCH1" not in found("钱八")
    device: Device = world.nodes("Device")[-1]
    assert device.uid in found(device.code)
    with world.services.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM devices WHERE uid = :u"), {"u": device.uid}).scalar() == 1
    for gone in ("person:SRCH1", device.uid):
        deleted = world.gql("admin", "mutation($u: ID!) { deleteEntity(uid: $u) { __typename } }", {"u": gone})
        assert deleted["data"]["deleteEntity"]["__typename"] == "Deleted"
    assert "person:SRCH1" not in found("孙九") and device.uid not in found(device.code)
    with world.services.engine.connect() as conn:  # nor on the map: a deleted device is not drawn
        assert conn.execute(text("SELECT count(*) FROM devices WHERE uid = :u"), {"u": device.uid}).scalar() == 0


def test_an_analyst_may_not_write(world: World) -> None:
    body = world.gql("analyst", CREATE, {"uid": "person:NEW2", "p": {"name": "赵七"}})
    assert codes(body) == ["FORBIDDEN"] and body["data"] is None


def test_the_watch_list_takes_a_vehicle_and_gives_it_back(world: World) -> None:
    vehicle = world.nodes("Vehicle")[0]
    added = world.gql(
        "police",
        'mutation($t: ID!) { addWatch(target: $t, reason: "stolen", level: 1) { ... on EntityPayload { entity { uid '
        "... on WatchEntry { plate level addedBy vehicles { uid } } } } } }",
        {"t": vehicle.uid},
    )["data"]["addWatch"]["entity"]
    assert added["plate"] == vehicle.plate and added["level"] == 1 and added["addedBy"] == "police1"
    assert added["vehicles"] == [{"uid": vehicle.uid}]
    listed = world.gql("police", "{ watchList { uid } }")["data"]["watchList"]
    assert {"uid": added["uid"]} in listed
    assert codes(world.gql("analyst", "{ watchList { uid } }")) == ["FORBIDDEN"]
    removed = world.gql("police", "mutation($u: ID!) { removeWatch(uid: $u) { __typename } }", {"u": added["uid"]})
    assert removed["data"]["removeWatch"]["__typename"] == "Deleted"


def test_users_and_roles_are_managed_by_an_admin_only(world: World) -> None:
    made = world.gql(
        "admin",
        'mutation { createUser(username: "newcomer", password: "long enough pw", roles: ["analyst"]) '
        "{ __typename ... on UserAccount { username roles } } }",
    )["data"]["createUser"]
    assert made == {"__typename": "UserAccount", "username": "newcomer", "roles": ["analyst"]}
    weak = world.gql(
        "admin",
        'mutation { createUser(username: "weak", password: "short", roles: []) '
        "{ ... on ValidationProblem { field } } }",
    )
    assert weak["data"]["createUser"] == {"field": "password"}
    role = world.gql(
        "admin",
        'mutation { createRole(name: "auditor", permissions: ["read:audit"]) '
        "{ ... on RoleInfo { name permissions } } }",
    )["data"]["createRole"]
    assert role == {"name": "auditor", "permissions": ["read:audit"]}
    granted = world.gql(
        "admin", 'mutation { updateUser(username: "newcomer", addRoles: ["auditor"]) { ... on UserAccount { roles } } }'
    )
    assert granted["data"]["updateUser"]["roles"] == ["analyst", "auditor"]
    gone = world.gql("admin", 'mutation { deleteRole(name: "auditor") { __typename } }')["data"]["deleteRole"]
    assert gone == {"__typename": "Deleted"}
    assert world.services.security.users.user("newcomer").roles == ("analyst",)
    assert codes(world.gql("police", "{ users { username } }")) == ["FORBIDDEN"]
    assert "viewer1" in [u["username"] for u in world.gql("admin", "{ users { username } }")["data"]["users"]]


# --- auth, audit, limits --------------------------------------------------------------------------


def test_graphql_without_a_token_or_with_an_expired_one_is_401(world: World) -> None:
    query = {"query": "{ me { username } }"}
    assert world.http.post("/graphql", json=query).status_code == 401
    old = issue("viewer1", world.services.security.settings, now=datetime.now(UTC) - timedelta(days=1)).access_token
    expired = world.http.post("/graphql", json=query, headers={"Authorization": f"Bearer {old}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert world.http.get("/graphql", headers={"Accept": "text/html"}).status_code == 200  # GraphiQL


def test_reading_a_person_is_audited_with_the_uid_and_the_user(world: World) -> None:
    person = world.nodes("Person")[7]
    world.gql("grid_worker", PERSON, {"uid": person.uid})
    rows = world.services.security.audit.entries(target=person.uid, username="gridworker1")
    assert rows and rows[0]["person_read"] is True and rows[0]["outcome"] == "ok"
    assert rows[0]["operation"] == "graphql query entity"
    denied = world.gql("viewer", PERSON, {"uid": person.uid})
    assert codes(denied) == ["FORBIDDEN"]
    rows = world.services.security.audit.entries(username="viewer1", operation="graphql query entity")
    assert rows[0]["outcome"] == "denied"
    log = world.gql("admin", "query($t: ID!) { auditLog(target: $t) { username personRead } }", {"t": person.uid})
    assert {"username": "gridworker1", "personRead": True} in log["data"]["auditLog"]


def test_deep_queries_and_many_aliases_are_refused(world: World) -> None:
    levels = "units { houses { residents { homes { residents { homes { residents { homes { uid } } } } } } } }"
    deep = '{ entity(uid: "building:E01B01") { ... on Building { ' + levels + " } } }"
    assert "exceeds maximum operation depth" in world.gql("police", deep)["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: me {{ username }}" for i in range(40)) + " }"
    assert "aliases" in world.gql("viewer", aliases)["errors"][0]["message"]


def test_a_persisted_query_runs_by_its_hash_once_registered(world: World) -> None:
    query = "{ me { username roles } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = {"Authorization": f"Bearer {world.tokens['viewer']}"}
    unknown = world.http.post("/graphql", json={"extensions": ext}, headers=headers).json()
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    first = world.http.post("/graphql", json={"query": query, "extensions": ext}, headers=headers).json()
    again = world.http.post("/graphql", json={"extensions": ext}, headers=headers).json()
    assert first["data"] == again["data"] == {"me": {"username": "viewer1", "roles": ["viewer"]}}
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    mismatch = world.http.post("/graphql", json={"query": query, "extensions": wrong}, headers=headers).json()
    assert codes(mismatch) == ["VALIDATION"]


PROFILE = "query($u: ID!) { profile(uid: $u) }"


def test_a_profile_is_masked_for_the_caller_and_needs_its_permission(world: World) -> None:
    residents = {link.start: link.end for link in world.community.links if link.type == "LIVES_IN"}
    person: Person = next(p for p in world.nodes("Person") if p.phone and p.id_number and p.uid in residents)
    police = world.gql("police", PROFILE, {"u": person.uid})["data"]["profile"]
    assert police["uid"] == person.uid and police["attributes"]["phone"] == person.phone and police["masked"] == []
    home = residents[person.uid]
    assert home in {stay["house"] for stay in police["residence_history"]}
    admin = world.gql("admin", PROFILE, {"u": person.uid})["data"]["profile"]
    assert admin["attributes"]["id_number"] == person.id_number
    denied = world.gql("grid_worker", PROFILE, {"u": person.uid})
    assert codes(denied) == ["FORBIDDEN"]
    assert world.gql("police", PROFILE, {"u": "person:NOBODY"})["data"]["profile"] is None
    rows = world.services.security.audit.entries(username="police1", target=person.uid)
    assert rows[0]["operation"] == "graphql query profile" and rows[0]["person_read"] is True


def test_risk_flags_links_and_more_spatial_and_statistics_families(world: World) -> None:
    person = world.nodes("Person")[9]
    flag = RiskFlag(
        uid=uid.risk_flag("night_active", person.uid),
        source="test",
        detector="night_active",
        version="1",
        score=0.8,
        explanation="out between 01:00 and 04:00 on 5 nights",
        clears_when="a week without night activity",
        raised_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    world.services.graph.upsert([flag])
    world.services.graph.link([Flags(start=flag.uid, end=person.uid, source="test")])
    flags = world.gql(
        "police",
        "query($s: ID!) { riskFlags(subject: $s) { uid ... on RiskFlag { detector score } } }",
        {"s": person.uid},
    )["data"]["riskFlags"]
    assert flags == [{"uid": flag.uid, "detector": "night_active", "score": 0.8}]
    assert world.gql("police", '{ riskFlags(detector: "night_active") { uid } }')["data"]["riskFlags"] == [
        {"uid": flag.uid}
    ]
    assert codes(world.gql("viewer", "{ riskFlags { uid } }")) == ["FORBIDDEN"]

    vehicle = world.nodes("Vehicle")[1]
    linked = world.gql(
        "admin",
        'mutation($s: ID!, $e: ID!) { link(type: "OWNS", start: $s, end: $e, properties: {share: 0.5}) '
        "{ __typename ... on LinkPayload { type } ... on ValidationProblem { field } } }",
        {"s": person.uid, "e": vehicle.uid},
    )["data"]["link"]
    assert linked == {"__typename": "LinkPayload", "type": "OWNS"}
    owners = world.gql(
        "police", "query($v: ID!) { entity(uid: $v) { ... on Vehicle { owners { uid } } } }", {"v": vehicle.uid}
    )
    assert {"uid": person.uid} in owners["data"]["entity"]["owners"]
    wrong = world.gql(
        "admin",
        'mutation($s: ID!) { link(type: "OWNS", start: $s, end: "grid:E01G01") '
        "{ __typename ... on ValidationProblem { field } } }",
        {"s": person.uid},
    )["data"]["link"]
    assert wrong == {"__typename": "ValidationProblem", "field": "end"}

    camera = next(d for d in world.nodes("Device") if d.category == "face_camera")
    near = world.gql(
        "analyst",
        'query($lon: Float!, $lat: Float!) { nearestDevices(lon: $lon, lat: $lat, category: "face_camera", k: 1) '
        "{ uid distanceM } }",
        {"lon": camera.lon, "lat": camera.lat},
    )["data"]["nearestDevices"]
    assert near == [{"uid": camera.uid, "distanceM": 0.0}]
    building = world.nodes("Building")[0]
    assert building.lon is not None and building.lat is not None
    square = [
        [building.lon - 0.0001, building.lat - 0.0001],
        [building.lon + 0.0001, building.lat - 0.0001],
        [building.lon + 0.0001, building.lat + 0.0001],
        [building.lon - 0.0001, building.lat + 0.0001],
    ]
    inside = world.gql(
        "viewer",
        'query($c: [[Float!]!]!) { withinPolygon(coordinates: $c, layers: ["buildings"]) { uid } }',
        {"c": square},
    )["data"]["withinPolygon"]
    assert inside == [{"uid": building.uid}]

    meter = next(d for d in world.nodes("Device") if d.category == "water_meter")  # inside a building and a grid
    reading = {"kind": "meter_reading", "device": meter.code, "ts": "2026-07-01T10:00:00+08:00", "meter": "water"}
    _ledger(world, [reading | {"reading": 12.5, "unit": "m3", "id": "grid-stat-1"}])
    window = 'since: "2026-07-01T00:00:00Z", until: "2026-07-02T00:00:00Z"'
    stats = world.gql(
        "analyst",
        f"{{ statistics {{ g: events(by: GRID, {window}) {{ key count }} "
        f"d: events(by: DEVICE, {window}) {{ key count }} b: events(by: BUILDING, {window}) {{ key count }} }} }}",
    )["data"]["statistics"]
    assert stats["d"] == [{"key": meter.code, "count": 1}]
    assert stats["g"] == [{"key": world.nodes("Grid")[0].uid, "count": 1}]
    assert stats["b"] == [{"key": building.uid, "count": 1}]
