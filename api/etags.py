"""Conditional requests: does an If-None-Match header name the ETag we would send?"""

from __future__ import annotations


def matches(if_none_match: str | None, etag: str) -> bool:
    """Return True when an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks)."""
    if if_none_match is None:
        return False
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or etag in candidates
