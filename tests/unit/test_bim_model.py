"""Opening IFC files: schemas from the header, refusals, and the uids chosen for IFC elements."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell.guid
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bim import CorruptModel, UnsupportedSchema
from bim.identity import (
    UNIT_NUMBER_BASE,
    UNIT_NUMBER_SPAN,
    building_code,
    code_of_building_uid,
    device_uid,
    guid_hex,
    room_key,
    unit_numbers,
)
from bim.model import header_schema, open_model, schema_to_read
from graph import uid
from tests.conftest import SHARED_DATA

HEADER = """ISO-10303-21;
HEADER;
FILE_DESCRIPTION(('ViewDefinition [CoordinationView]'),'2;1');
FILE_NAME('x.ifc','2024-01-01T00:00:00',(''),(''),'','','');
/* a comment with FILE_SCHEMA(('NOPE')) in it */
FILE_SCHEMA (( '{schema}' ));
ENDSEC;
DATA;
"""


def _write(tmp_path: Path, text: str, name: str = "m.ifc") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


@pytest.mark.parametrize("schema", ["IFC2X3", "IFC4", "IFC4X3_ADD2", "ifc4"])
def test_header_schema_is_read_without_parsing_the_data(tmp_path: Path, schema: str) -> None:
    path = _write(tmp_path, HEADER.format(schema=schema) + "#1=IFCNOTHINGATALL(;\n")
    assert header_schema(path) == schema.upper()


@pytest.mark.parametrize(
    ("written", "read_as"),
    [
        ("IFC2X3", "IFC2X3"),
        ("IFC2X3_TC1", "IFC2X3"),
        ("IFC4", "IFC4"),
        ("IFC4RC4", "IFC4"),
        ("IFC4_ADD2_TC1", "IFC4"),
        ("IFC4X3", "IFC4X3"),
        ("IFC4X3_TC1", "IFC4X3_ADD2"),
    ],
)
def test_released_and_pre_release_schema_names_are_read(written: str, read_as: str) -> None:
    assert schema_to_read(Path("m.ifc"), written) == read_as


@pytest.mark.parametrize("schema", ["IFC2X_FINAL", "IFC2X2_FINAL", "IFC4X1", "CIS2"])
def test_other_schemas_are_refused_naming_them(schema: str) -> None:
    with pytest.raises(UnsupportedSchema) as caught:
        schema_to_read(Path("m.ifc"), schema)
    assert caught.value.schema == schema
    assert repr(schema) in str(caught.value)


def test_an_old_schema_is_refused_before_parsing(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER.format(schema="IFC2X_FINAL") + "garbage that would not parse\n")
    with pytest.raises(UnsupportedSchema, match="IFC2X_FINAL"):
        open_model(path)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("PK\x03\x04 a zip file", "ISO-10303-21"),
        (HEADER.replace("FILE_SCHEMA (( '{schema}' ));", ""), "FILE_SCHEMA"),
        (HEADER.format(schema="IFC4") + "#1=IFCPERSON($,$,$,$,$,$,$,$);\n", "truncated"),
        (HEADER.format(schema="IFC4") + "#1=IFCPERSON($,$,$,$,$,$,$,$);\nENDSEC;\nEND-ISO-10303-21;\n", "IfcProject"),
    ],
)
def test_files_that_are_not_whole_ifc_models_are_corrupt(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(CorruptModel, match=reason):
        open_model(_write(tmp_path, text))


def test_a_missing_file_is_corrupt_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(CorruptModel, match="no such file"):
        open_model(tmp_path / "absent.ifc")


def test_a_pre_release_ifc4_file_opens_as_ifc4_with_a_warning() -> None:
    model = open_model(SHARED_DATA / "ifc" / "ifc4.ifc")
    assert (model.header_schema, model.schema) == ("IFC4RC4", "IFC4")
    assert model.warnings == ["schema IFC4RC4 read as IFC4"]
    assert model.length_scale == 0.001 and model.source == "ifc:ifc4.ifc"


def test_an_area_unit_left_undeclared_follows_the_length_unit() -> None:
    model = open_model(SHARED_DATA / "ifc" / "xbim-House.ifc")
    assert model.length_scale == 0.001
    assert model.area_scale == pytest.approx(1e-6)


# --- identity -----------------------------------------------------------------------------------


@given(st.uuids())
def test_guid_hex_is_the_uuid_a_global_id_encodes(value: object) -> None:
    hex_ = str(value).replace("-", "")
    assert guid_hex(ifcopenshell.guid.compress(hex_)) == hex_


def test_uids_of_ifc_elements_are_valid_and_stable() -> None:
    code = building_code("2hQBAVPOr5VxhS3Jl0O47h")
    assert code == "IFC-ab68b29f65"
    assert code_of_building_uid(uid.building(code)) == code
    door = device_uid(code, "2jTRqchjf7oB0yhQ6462T0")
    assert uid.label_of(door) == "Device" and door == device_uid(code, "2jTRqchjf7oB0yhQ6462T0")
    assert room_key("Room  I", "2jTRqchjf7oB0yhQ6462T0") == "Room_I"
    assert room_key(" ", "2jTRqchjf7oB0yhQ6462T0") == guid_hex("2jTRqchjf7oB0yhQ6462T0")[:12]


@given(st.lists(st.uuids(), min_size=1, max_size=50, unique=True))
def test_unit_numbers_are_distinct_stable_and_clear_of_stairwell_units(values: list[object]) -> None:
    guids = [ifcopenshell.guid.compress(str(v).replace("-", "")) for v in values]
    numbers = unit_numbers(guids)
    assert len(set(numbers.values())) == len(guids)
    assert all(UNIT_NUMBER_BASE <= n < UNIT_NUMBER_BASE + UNIT_NUMBER_SPAN for n in numbers.values())
    assert unit_numbers(reversed(guids)) == numbers
    assert unit_numbers(guids[:1]) == {guids[0]: numbers[guids[0]]}


def test_unit_numbers_step_past_ones_taken() -> None:
    guid = ifcopenshell.guid.new()
    first = unit_numbers([guid])[guid]
    moved = unit_numbers([guid], taken=[first])[guid]
    assert moved != first and UNIT_NUMBER_BASE <= moved < UNIT_NUMBER_BASE + UNIT_NUMBER_SPAN
