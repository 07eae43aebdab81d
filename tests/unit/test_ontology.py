from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from graph import NODE_TYPES, RELATIONS, LivesIn, Person, ValidationError, uid, validate
from graph.cypher import link_columns, schema_statements, upsert_links, upsert_nodes
from graph.store import _rows, node_from_props
from tests.samples import LINKS, NODES, SOURCE


def person(**overrides: Any) -> dict[str, Any]:
    return {**NODES["Person"].model_dump(), **overrides}


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"id_number": "110105199001010038"}, "Person.id_number", "check character should be 7"),
        ({"phone": "123"}, "Person.phone", "phone number"),
        ({"sex": "female"}, "Person.id_number", "contradicts sex 'female'"),
        ({"birth_date": "1991-01-01"}, "Person.id_number", "contradicts 1991-01-01"),
        ({"name": ""}, "Person.name", "at least 1 character"),
        ({"uid": "house:P1"}, "Person.uid", "is not a Person uid"),
        ({"uid": "P1"}, "Person.uid", "must look like 'prefix:key'"),
        ({"key_category": "drug_user"}, "Person.key_category", "key_person is false"),
        ({"colour": "red"}, "Person.colour", "Extra inputs are not permitted"),
    ],
)
def test_bad_person_values_are_rejected_naming_the_field(overrides: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate(Person, person(**overrides))
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_resident_ids_are_checked_when_written_not_again_when_read_back() -> None:
    unchecked = person(id_number="110105199001010038")  # as another tool may have stored it
    with pytest.raises(ValidationError):
        validate(Person, unchecked)
    read = node_from_props(["Person"], unchecked)
    assert isinstance(read, Person) and read.id_number == "110105199001010038"


def test_passport_numbers_are_not_checked_as_resident_ids() -> None:
    assert validate(Person, person(id_type="passport", id_number="E12345678", sex=None, birth_date=None))


@pytest.mark.parametrize(
    ("label", "field", "value"),
    [
        ("House", "floor", -1),
        ("House", "floor", 0),
        ("Building", "floors_above", 0),
        ("Vehicle", "plate", "京I00000"),
        ("Device", "category", "toaster"),
        ("Alarm", "severity", 9),
        ("Region", "code", "12"),
        ("Building", "year_built", 1200),
    ],
)
def test_out_of_range_values_are_rejected(label: str, field: str, value: Any) -> None:
    model = NODE_TYPES[label]
    with pytest.raises(ValidationError) as caught:
        validate(model, {**NODES[label].model_dump(), field: value})
    assert caught.value.field == f"{model.__name__}.{field}"


def test_every_label_and_relation_has_a_sample() -> None:
    assert set(NODES) == set(NODE_TYPES)
    assert set(LINKS) == set(RELATIONS)


def test_relationship_uid_derives_from_its_ends_and_start_time() -> None:
    since = datetime(2021, 3, 1, 8, tzinfo=timezone(timedelta(hours=8)))
    link = LivesIn(start=uid.person("P1"), end=uid.house("B1", 1, "101"), source=SOURCE, registered=True, since=since)
    assert link.uid == "LIVES_IN:person:P1>house:B1-1-101@2021-03-01"


def test_relationship_refuses_ends_of_the_wrong_label() -> None:
    with pytest.raises(ValidationError) as caught:
        validate(
            LivesIn,
            {
                "start": uid.house("B1", 1, "101"),
                "end": uid.house("B1", 1, "102"),
                "source": SOURCE,
                "registered": True,
            },
        )
    assert caught.value.field == "LivesIn.start"
    assert "LIVES_IN cannot start at a House" in caught.value.reason


def test_stay_cannot_end_before_it_starts() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="before since"):
        validate(
            LivesIn,
            {
                "start": uid.person("P1"),
                "end": uid.house("B1", 1, "101"),
                "source": SOURCE,
                "registered": True,
                "since": now,
                "until": now - timedelta(days=1),
            },
        )


def test_schema_has_a_uid_constraint_per_label_and_an_index_per_relationship() -> None:
    statements = "\n".join(schema_statements())
    for label in NODE_TYPES:
        assert f"FOR (n:{label}) REQUIRE n.uid IS UNIQUE" in statements
    for rel in RELATIONS:
        assert f"FOR ()-[r:{rel}]-() ON (r.uid)" in statements


def test_temporal_properties_travel_as_iso_strings_and_are_converted_in_cypher() -> None:
    (row,) = _rows([LINKS["LIVES_IN"]])
    assert row["t"]["since"] == "2024-05-01T09:30:00Z"
    assert "since" not in row["props"] and "start" not in row["props"]
    columns = link_columns("LIVES_IN")
    since = columns.index((0, "since"))
    assert f"r.since = datetime(row[{since}])" in upsert_links("LIVES_IN", "Person", "House", (False,) * len(columns))
    shared = tuple(name == "ingested_at" for _, name in columns)  # one ingest time for the batch, made once
    statement = upsert_links("LIVES_IN", "Person", "House", shared)
    assert statement.startswith("WITH [datetime($shared[0])] AS s ") and "r.ingested_at = s[0]" in statement
    assert "n.birth_date = date(row.t.birth_date)" in upsert_nodes(Person)


def test_every_node_row_carries_source_and_an_ingest_time() -> None:
    for node in NODES.values():
        (row,) = _rows([node])
        assert row["props"]["source"] == SOURCE
        assert datetime.fromisoformat(row["t"]["ingested_at"]).tzinfo is not None
    kept = NODES["Person"].model_copy(update={"ingested_at": datetime(2024, 1, 1, tzinfo=UTC)})
    first_seen, new = _rows([kept, NODES["Person"]])  # a known ingest time is kept; a new one is now
    assert first_seen["t"]["ingested_at"] == "2024-01-01T00:00:00Z" != new["t"]["ingested_at"]
