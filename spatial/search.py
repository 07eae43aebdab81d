"""Search over names, plates, addresses and codes in PostgreSQL (7.2.4): exact, fuzzy, full text.

Documents are (uid, kind, title, body); results return uids. Full text uses the `simple`
configuration with every CJK character as its own token (Chinese has no spaces between words),
so `张伟` matches the phrase 张 伟 and `websearch_to_tsquery` syntax works: quotes, `or`, `-`.
Fuzzy search uses pg_trgm similarity plus substring matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, Engine, delete, text
from sqlalchemy.dialects.postgresql import insert

from spatial.schema import search_documents

Mode = Literal["exact", "fuzzy", "fulltext"]
_CJK = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")


@dataclass(frozen=True)
class Document:
    """Something to find: `title` is its name (person, plate, device code); `body` more words."""

    uid: str
    kind: str
    title: str
    body: str = ""


@dataclass(frozen=True)
class SearchHit:
    uid: str
    kind: str
    title: str
    score: float


def segment(value: str) -> str:
    """Return `value` with every CJK character set apart as a token of its own."""
    return " ".join(_CJK.sub(r" \1 ", value).split())


def websearch_terms(query: str) -> str:
    """Segment a websearch query, quoting each unquoted CJK run so it stays one phrase."""
    parts = re.split(r'("[^"]*")', query)
    out = []
    for part in parts:
        if part.startswith('"'):
            out.append(f'"{segment(part[1:-1])}"')
        else:
            out.append(_CJK_RUN.sub(lambda m: f'"{segment(m.group(0))}"', part))
    return " ".join(" ".join(out).split())


def index_documents(conn: Connection, documents: Iterable[Document], batch: int = 2000) -> int:
    """Insert or replace search documents by uid; return how many were written."""
    written = 0
    rows = []
    for d in documents:
        terms = segment(f"{d.title} {d.body}")
        rows.append({"uid": d.uid, "kind": d.kind, "title": d.title, "body": d.body, "terms": terms})
        if len(rows) >= batch:
            written += _upsert(conn, rows)
            rows = []
    return written + (_upsert(conn, rows) if rows else 0)


def remove_documents(conn: Connection, uids: Iterable[str]) -> int:
    """Delete the search documents of these uids (deleted entities, or ones left without a name); return how many."""
    wanted = list(uids)
    if not wanted:
        return 0
    return conn.execute(delete(search_documents).where(search_documents.c.uid.in_(wanted))).rowcount


def _upsert(conn: Connection, rows: list[dict[str, str]]) -> int:
    statement = insert(search_documents)
    statement = statement.on_conflict_do_update(
        index_elements=["uid"], set_={c: statement.excluded[c] for c in ("kind", "title", "body", "terms")}
    )
    conn.execute(statement, rows)
    return len(rows)


_SQL: dict[Mode, str] = {
    "exact": (
        "SELECT uid, kind, title, 1.0 FROM search_documents "
        "WHERE (upper(title) = upper(:q) OR upper(:q) = ANY(string_to_array(upper(body), ' '))) {kinds} "
        "ORDER BY uid LIMIT :limit"
    ),
    "fuzzy": (
        "SELECT uid, kind, title, greatest(similarity(title, :q), word_similarity(:q, body), "
        "  CASE WHEN title ILIKE '%' || :q || '%' THEN 0.9 ELSE 0 END) AS score "
        "FROM search_documents "
        "WHERE (title % :q OR :q <% body OR title ILIKE '%' || :q || '%') {kinds} "
        "ORDER BY score DESC, uid LIMIT :limit"
    ),
    "fulltext": (
        "SELECT uid, kind, title, ts_rank(tsv, query) AS score "
        "FROM search_documents, websearch_to_tsquery('simple', :terms) AS query "
        "WHERE tsv @@ query {kinds} ORDER BY score DESC, uid LIMIT :limit"
    ),
}


def search(
    conn: Connection | Engine,
    query: str,
    *,
    mode: Mode = "fulltext",
    kinds: Sequence[str] | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Return documents matching `query`, best first; `kinds` keeps only those kinds (e.g. "Person")."""
    if not query.strip():
        raise ValueError("the search query is empty")
    if mode not in _SQL:
        raise ValueError(f"search mode must be one of {', '.join(_SQL)}")
    sql = _SQL[mode].format(kinds="AND kind = ANY(:kinds)" if kinds else "")
    params = {"q": query.strip(), "terms": websearch_terms(query), "kinds": list(kinds or []), "limit": limit}
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return [SearchHit(*row) for row in c.execute(text(sql), params)]
    return [SearchHit(*row) for row in conn.execute(text(sql), params)]
