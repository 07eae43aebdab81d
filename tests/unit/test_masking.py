from __future__ import annotations

import doctest
from typing import Any

import pytest

import graph.masking
from graph.masking import (
    ANONYMOUS,
    SEE_FACE,
    SEE_ID_NUMBER,
    SEE_PHONE,
    SENSITIVE_FIELDS,
    SYSTEM,
    Viewer,
    mask_payload,
    mask_properties,
    mask_value,
    masked_fields,
)
from tests.samples import NODES

ID = "110105199001010037"


def test_sensitive_fields_are_derived_from_the_ontology() -> None:
    assert SENSITIVE_FIELDS["Person"] == {"id_number": "id_number", "phone": "phone", "face_photo": "face_photo"}
    assert SENSITIVE_FIELDS["Organisation"] == {"phone": "phone"}
    assert SENSITIVE_FIELDS["WatchEntry"] == {"id_number": "id_number"}
    assert SENSITIVE_FIELDS["DefenceMember"] == {"id_number": "id_number", "phone": "phone"}
    assert SENSITIVE_FIELDS["Vehicle"] == {"owner_phone": "phone", "photo": "face_photo"}
    assert SENSITIVE_FIELDS["NonMotorVehicle"] == {"photo": "face_photo"}
    assert "House" not in SENSITIVE_FIELDS


@pytest.mark.parametrize(
    ("field", "value", "masked"),
    [
        ("id_number", ID, "110105********0037"),
        ("id_number", "E12345678", "*********"),  # too short to keep 6 + 4
        ("id_number", "E1234567890", "E12345*7890"),
        ("phone", "13812345678", "138****5678"),
        ("owner_phone", "01062345678", "010****5678"),
        ("phone", "1234567", "*******"),
        ("face_photo", "faces/p1.jpg", None),
        ("name", "张伟", "张伟"),
        ("phone", None, None),
    ],
)
def test_mask_value_keeps_only_the_allowed_characters(field: str, value: Any, masked: Any) -> None:
    assert mask_value(field, value) == masked


def test_anonymous_viewer_sees_every_sensitive_person_field_masked() -> None:
    person = NODES["Person"].model_dump(mode="json")
    shown = mask_properties("Person", {**person, "face_photo": "faces/p1.jpg"}, ANONYMOUS)
    assert shown["id_number"] == mask_value("id_number", person["id_number"]) != person["id_number"]
    assert shown["phone"] == mask_value("phone", person["phone"]) != person["phone"]
    assert shown["face_photo"] is None
    assert {k: v for k, v in shown.items() if k not in SENSITIVE_FIELDS["Person"]} == {
        k: v for k, v in person.items() if k not in SENSITIVE_FIELDS["Person"]
    }


def test_each_permission_unlocks_only_its_own_kind_of_field() -> None:
    props = {"id_number": ID, "phone": "13812345678", "face_photo": "faces/p1.jpg"}
    assert mask_properties("Person", props, Viewer("a", frozenset({SEE_PHONE}))) == {
        "id_number": "110105********0037",
        "phone": "13812345678",
        "face_photo": None,
    }
    assert mask_properties("Person", props, Viewer("b", frozenset({SEE_ID_NUMBER, SEE_FACE}))) == {
        "id_number": ID,
        "phone": "138****5678",
        "face_photo": "faces/p1.jpg",
    }
    assert masked_fields("Person", Viewer("b", frozenset({SEE_ID_NUMBER, SEE_FACE}))) == ["phone"]


def test_system_viewer_sees_everything_and_the_input_is_not_changed() -> None:
    props = {"id_number": ID, "phone": "13812345678"}
    assert mask_properties("Person", props, SYSTEM) == props
    mask_properties("Person", props, ANONYMOUS)
    assert props == {"id_number": ID, "phone": "13812345678"}
    assert SYSTEM.may("anything:at_all") and not ANONYMOUS.may(SEE_PHONE)


def test_labels_without_sensitive_fields_pass_through_and_absent_fields_stay_absent() -> None:
    assert mask_properties("House", {"room": "1202", "phone": "13812345678"}, ANONYMOUS)["phone"] == "13812345678"
    assert mask_properties("Person", {"name": "张伟"}, ANONYMOUS) == {"name": "张伟"}


def test_face_capture_snapshots_are_masked_in_event_payloads() -> None:
    payload = {"person": "person:P1", "image": "snap/1.jpg", "similarity": 0.9}
    assert mask_payload("face_capture", payload, ANONYMOUS) == {**payload, "image": None}
    assert mask_payload("face_capture", payload, Viewer("c", frozenset({SEE_FACE}))) == payload
    assert mask_payload("plate_read", {"plate": "京A12345"}, ANONYMOUS) == {"plate": "京A12345"}


def test_module_example_holds() -> None:
    assert doctest.testmod(graph.masking).failed == 0
