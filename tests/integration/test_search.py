from __future__ import annotations

import pytest
from sqlalchemy import Engine

from spatial.search import Document, index_documents, search

DOCS = [
    Document("person:P1", "Person", "张伟", "北京市朝阳区安立路85号"),
    Document("person:P2", "Person", "张玮", "北京市海淀区学院路12号"),
    Document("person:P3", "Person", "李娜", "北京市朝阳区望京街道"),
    Document("vehicle:京A12345", "Vehicle", "京A12345", "大众 白色"),
    Document("vehicle:京B54321", "Vehicle", "京B54321", "丰田 黑色"),
    Document("device:E01-GATE1-FACE", "Device", "E01-GATE1-FACE", "东门 人脸抓拍 face camera east gate"),
    Document("building:E01B01", "Building", "1号楼", "北京市朝阳区安立路85号枫林家园1号楼"),
]


@pytest.fixture
def engine(spatial_engine: Engine) -> Engine:
    with spatial_engine.begin() as conn:
        index_documents(conn, DOCS)
        index_documents(conn, DOCS[:1])  # re-indexing replaces, never duplicates
    return spatial_engine


def uids(engine: Engine, query: str, **kw: object) -> list[str]:
    return [h.uid for h in search(engine, query, **kw)]  # type: ignore[arg-type]


def test_exact_search_finds_plates_codes_and_names(engine: Engine) -> None:
    assert uids(engine, "京a12345", mode="exact") == ["vehicle:京A12345"]
    assert uids(engine, "E01-GATE1-FACE", mode="exact") == ["device:E01-GATE1-FACE"]
    assert uids(engine, "张伟", mode="exact") == ["person:P1"]
    assert uids(engine, "京A1234", mode="exact") == []


def test_fuzzy_search_tolerates_typos_and_partial_input(engine: Engine) -> None:
    assert uids(engine, "京A12354", mode="fuzzy")[0] == "vehicle:京A12345"
    assert uids(engine, "A123", mode="fuzzy") == ["vehicle:京A12345"]
    assert set(uids(engine, "张", mode="fuzzy")) == {"person:P1", "person:P2"}
    assert uids(engine, "GATE1", mode="fuzzy") == ["device:E01-GATE1-FACE"]


def test_full_text_supports_boolean_logic_over_chinese_text(engine: Engine) -> None:
    assert uids(engine, "朝阳区", kinds=["Person"]) == ["person:P1", "person:P3"]
    assert uids(engine, "朝阳区 -望京", kinds=["Person"]) == ["person:P1"]
    assert set(uids(engine, "学院路 or 望京")) == {"person:P2", "person:P3"}
    assert uids(engine, '"face camera"') == ["device:E01-GATE1-FACE"]
    assert uids(engine, "安立路", kinds=["Building"]) == ["building:E01B01"]


def test_empty_queries_and_unknown_modes_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="empty"):
        search(engine, "  ")
    with pytest.raises(ValueError, match="mode must be one of"):
        search(engine, "x", mode="regex")  # type: ignore[arg-type]
