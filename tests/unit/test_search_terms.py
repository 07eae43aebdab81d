from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from spatial.search import segment, websearch_terms


def test_chinese_characters_become_tokens_and_latin_words_stay_whole() -> None:
    assert segment("北京市朝阳区 Anli Road 85号") == "北 京 市 朝 阳 区 Anli Road 85 号"


def test_unquoted_chinese_runs_become_phrases_and_operators_survive() -> None:
    assert websearch_terms("朝阳区 -望京 or gate") == '"朝 阳 区" -"望 京" or gate'
    assert websearch_terms('"安立路 85号"') == '"安 立 路 85 号"'


@given(st.text())
def test_segmenting_keeps_every_non_space_character_in_order(value: str) -> None:
    assert "".join(segment(value).split()) == "".join(value.split())
