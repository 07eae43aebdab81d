"""One valid instance of every node label and relationship type, for tests that cover them all."""

from __future__ import annotations

from datetime import UTC, date, datetime

from graph import ontology as o
from graph import uid

SOURCE = "test"
WHEN = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)

NODES: dict[str, o.Node] = {
    n.label: n
    for n in [
        o.Region(
            uid=uid.region("110105001001"),
            source=SOURCE,
            name="幸福社区",
            level="community",
            code="110105001001",
            lon=116.45,
            lat=39.92,
        ),
        o.Estate(uid=uid.estate("E01"), source=SOURCE, code="E01", name="阳光小区"),
        o.Building(
            uid=uid.building("E01B01"),
            source=SOURCE,
            code="E01B01",
            name="1号楼",
            floors_above=18,
            year_built=2008,
            structure="shear_wall",
        ),
        o.Storey(
            uid=uid.storey("E01B01", 12),
            source=SOURCE,
            building_code="E01B01",
            number=12,
            elevation_m=33.0,
            ifc_guid="2O2Fr$t4X7Zf8NOew3FLOH",
        ),
        o.Unit(uid=uid.unit("E01B01", 1), source=SOURCE, building_code="E01B01", number=1),
        o.House(
            uid=uid.house("E01B01", 1, "1202"),
            source=SOURCE,
            building_code="E01B01",
            unit_number=1,
            floor=12,
            room="1202",
            area_m2=89.5,
        ),
        o.Person(
            uid=uid.person("P000001"),
            source=SOURCE,
            name="张伟",
            sex="male",
            birth_date=date(1990, 1, 1),
            id_number="110105199001010037",
            phone="13800138000",
            tags=["volunteer"],
        ),
        o.Household(uid=uid.household("H0001"), source=SOURCE, code="H0001"),
        o.Organisation(uid=uid.organisation("O01"), source=SOURCE, name="阳光物业", category="property_management"),
        o.Vehicle(uid=uid.vehicle("京A12345"), source=SOURCE, plate="京A12345", brand="大众"),
        o.NonMotorVehicle(uid=uid.non_motor_vehicle("EB1"), source=SOURCE, plate="A12345"),
        o.DefenceMember(uid=uid.defence_member("D1"), source=SOURCE, name="李娜", force="volunteer"),
        o.Device(
            uid=uid.device("E01-GATE1-FACE"),
            source=SOURCE,
            code="E01-GATE1-FACE",
            name="东门人脸",
            category="face_camera",
            installed_on=date(2020, 6, 1),
        ),
        o.Grid(uid=uid.grid("E01G1"), source=SOURCE, code="E01G1", name="一网格"),
        o.Event(uid=uid.event("ev-1"), source=SOURCE, kind="face_capture", occurred_at=WHEN),
        o.Alarm(uid=uid.alarm("al-1"), source=SOURCE, kind="smoke", severity=1, opened_at=WHEN),
        o.RiskFlag(
            uid=uid.risk_flag("long_out", uid.person("P000001")),
            source=SOURCE,
            detector="long_out",
            version="1",
            score=0.8,
            explanation="not seen coming back for 5 days",
            clears_when="seen entering the estate",
            raised_at=WHEN,
        ),
        o.WatchEntry(uid=uid.watch_entry("W1"), source=SOURCE, reason="在逃", plate="京A12345"),
    ]
}


def _first(labels: tuple[str, ...]) -> str:
    return NODES[labels[0]].uid


LINKS: dict[str, o.Link] = {
    rel.type: rel.model.model_validate(
        {
            "start": _first(rel.sources),
            "end": _first(rel.targets),
            "source": SOURCE,
            **({"since": WHEN} if rel.temporal else {}),
            **{
                "LIVES_IN": {"registered": True},
                "RESPONSIBLE_FOR": {"role": "grid_worker"},
                "PASSED_THROUGH": {"count": 3, "first_seen": WHEN, "last_seen": WHEN},
                "ASSOCIATED_WITH": {
                    "kind": "co_travel",
                    "count": 4,
                    "first_seen": WHEN,
                    "last_seen": WHEN,
                    "evidence": ["ev-1"],
                    "confidence": 0.7,
                },
            }.get(rel.type, {}),
        }
    )
    for rel in o.RELATIONS.values()
}
