"""The exception hierarchy of twinhood.

Every error we raise on purpose is a :class:`TwinhoodError`; each carries the data a caller
needs to say what went wrong in one line (the CLI), a typed GraphQL error (the API) or a
dead letter (ingest)::

    TwinhoodError
    ├── ValidationError(field, value, reason)      bad input, names the field
    ├── UnknownEntity(uid)                         no node with this uid
    ├── MissingEndpoints(rel_type, uids)           a relationship names a node that is not there
    ├── GraphUnavailable(uri, reason)              the graph server cannot be reached
    └── StackError(service, reason)                a local server could not be installed or started
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class TwinhoodError(Exception):
    """Root of every error twinhood raises on purpose."""


class ValidationError(TwinhoodError, ValueError):
    """A value was rejected; `field` names where it was and `reason` why."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field}: {reason} (got {value!r})")

    @classmethod
    def from_pydantic(cls, model: str, error: Any) -> ValidationError:
        """Turn pydantic's first error into ours, with the field path named `Model.field`."""
        first = error.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        reason = first["msg"].removeprefix("Value error, ")
        return cls(f"{model}.{path}" if path else model, first.get("input"), reason)


class UnknownEntity(TwinhoodError, LookupError):
    """No node carries this uid."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        super().__init__(f"no entity with uid {uid!r}")


class MissingEndpoints(TwinhoodError):
    """Relationships were not written because a node they connect does not exist."""

    def __init__(self, rel_type: str, uids: Iterable[str]) -> None:
        self.rel_type, self.uids = rel_type, sorted(set(uids))
        shown = ", ".join(self.uids[:5]) + (" …" if len(self.uids) > 5 else "")
        super().__init__(f"{len(self.uids)} {rel_type} relationship(s) name missing nodes: {shown}")


class GraphUnavailable(TwinhoodError):
    """The graph server did not answer."""

    def __init__(self, uri: str, reason: str) -> None:
        self.uri, self.reason = uri, reason
        super().__init__(f"graph server at {uri} is unavailable: {reason}")


class StackError(TwinhoodError):
    """A local server could not be installed, started or reached."""

    def __init__(self, service: str, reason: str) -> None:
        self.service, self.reason = service, reason
        super().__init__(f"{service}: {reason}")
