"""Schema extensions: typed errors, the audit entry of each operation, and persisted queries.

- :class:`TypedErrors` gives every error an `extensions.code`: our errors keep their data
  (VALIDATION with `field` and `reason`, NOT_FOUND with `uid`, …), resolver refusals keep theirs
  (UNAUTHENTICATED, FORBIDDEN), and anything unexpected is logged and shown as INTERNAL without
  its message (no stack traces or SQL reach a client).
- :class:`AuditOperation` writes one audit entry per operation: the caller, `graphql <type>
  <name or root fields>`, the uids it returned, whether a person's data was among them, and the
  outcome (ok, denied, invalid, failed).
- :class:`NoNulText` refuses text holding a NUL character (PostgreSQL can neither store nor
  compare one) as VALIDATION naming the argument or `$variable`, before any resolver runs.
- :class:`PersistedQueries` follows Apollo's automatic persisted queries: a request may send
  `extensions.persistedQuery.sha256Hash` with the query (it is then remembered) or instead of
  it; an unknown hash answers PERSISTED_QUERY_NOT_FOUND so the client sends the text once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Final

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
    Visitor,
    visit,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types.execution import ExecutionResult

from api.graphql.context import Context
from api.routes.metrics import GRAPHQL
from api.security.audit import AuditEntry, Outcome
from api.security.errors import Forbidden, SecurityError, Unauthenticated
from graph.errors import GraphUnavailable, MissingEndpoints, TwinhoodError, UnknownEntity, ValidationError
from ingest.alarms import IllegalTransition
from ingest.events import nul_field

log = logging.getLogger(__name__)


def error_extensions(exc: Exception) -> dict[str, Any]:
    """Return the `extensions` of the GraphQL error that stands for one of our exceptions."""
    if isinstance(exc, ValidationError):
        return {"code": "VALIDATION", "field": exc.field, "reason": exc.reason}
    if isinstance(exc, UnknownEntity):
        return {"code": "NOT_FOUND", "uid": exc.uid}
    if isinstance(exc, IllegalTransition):
        return {"code": "ILLEGAL_TRANSITION", "uid": exc.alarm_uid, "current": exc.current, "to": exc.to}
    if isinstance(exc, MissingEndpoints):
        return {"code": "MISSING_ENDPOINTS", "uids": exc.uids}
    if isinstance(exc, Unauthenticated):
        return {"code": "UNAUTHENTICATED"}
    if isinstance(exc, Forbidden):
        return {"code": "FORBIDDEN", "permission": exc.permission}
    if isinstance(exc, GraphUnavailable):
        return {"code": "UNAVAILABLE"}
    if isinstance(exc, SecurityError):
        return {"code": "SECURITY"}
    return {"code": "ERROR"}


class TypedErrors(MaskErrors):
    """Give each error a code; hide unexpected ones."""

    def __init__(self) -> None:
        super().__init__(error_message="internal error")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        out = []
        for error in errors:
            original = error.original_error
            if isinstance(original, GraphQLError) or original is None:
                if not error.extensions or "code" not in error.extensions:
                    error.extensions = {**(error.extensions or {}), "code": "INVALID_QUERY"}
                out.append(error)
            elif isinstance(original, (TwinhoodError, ValueError)):
                out.append(
                    GraphQLError(
                        str(original),
                        nodes=error.nodes,
                        source=error.source,
                        positions=error.positions,
                        path=error.path,
                        extensions=error_extensions(original),
                    )
                )
            else:
                log.error("resolver failed", exc_info=original, extra={"path": error.path})
                masked = self.anonymise_error(error)
                masked.extensions = {"code": "INTERNAL"}
                out.append(masked)
        return out


_DENIED = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})
_INVALID = frozenset({"VALIDATION", "NOT_FOUND", "ILLEGAL_TRANSITION", "INVALID_QUERY", "PERSISTED_QUERY_NOT_FOUND"})


def _outcome(errors: list[GraphQLError] | None) -> Outcome:
    codes = {(e.extensions or {}).get("code") for e in errors or ()}
    if not codes:
        return "ok"
    if codes & _DENIED:
        return "denied"
    if codes <= _INVALID:
        return "invalid"
    return "failed"


class AuditOperation(SchemaExtension):
    """Write the audit entry of each GraphQL operation, and count it for /metrics."""

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context.context
        if not isinstance(ctx, Context):
            return
        result = self.execution_context.result
        errors = result.errors if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) else None
        errors = errors or self.execution_context.pre_execution_errors
        name = self._name()
        outcome = _outcome(errors)
        GRAPHQL.labels(name, outcome).inc()
        ctx.services.security.audit.record(
            AuditEntry(
                ctx.username,
                name,
                outcome,
                targets=tuple(ctx.targets),
                person_read=ctx.person_read,
                client=ctx.client,
                detail={"errors": [e.message for e in errors or ()][:5]} if errors else {},
            )
        )

    def _name(self) -> str:
        document = self.execution_context.graphql_document
        operation = next(
            (d for d in (document.definitions if document else ()) if isinstance(d, OperationDefinitionNode)), None
        )
        if operation is None:
            return "graphql unparsed"
        kind = operation.operation.value
        if operation.name:
            return f"graphql {kind} {operation.name.value}"
        roots = sorted({s.name.value for s in operation.selection_set.selections if hasattr(s, "name")})
        return f"graphql {kind} {','.join(roots)[:200]}"


class QueryStore:
    """The persisted queries of one process: sha256 → query text, the most recent `size` of them."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> str | None:
        with self._lock:
            query = self._queries.get(digest)
            if query is not None:
                self._queries.move_to_end(digest)
            return query

    def put(self, digest: str, query: str) -> None:
        with self._lock:
            self._queries[digest] = query
            self._queries.move_to_end(digest)
            while len(self._queries) > self.size:
                self._queries.popitem(last=False)


QUERIES: Final = QueryStore()


class PersistedQueries(SchemaExtension):
    """Apollo-style automatic persisted queries (version 1, sha256 of the query text)."""

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        persisted = (ctx.operation_extensions or {}).get("persistedQuery")
        if isinstance(persisted, dict):
            digest = str(persisted.get("sha256Hash", ""))
            if ctx.query:
                if hashlib.sha256(ctx.query.encode()).hexdigest() != digest:
                    raise GraphQLError(
                        "persistedQuery.sha256Hash is not the sha256 of the query",
                        extensions={"code": "VALIDATION", "field": "extensions.persistedQuery.sha256Hash"},
                    )
                QUERIES.put(digest, ctx.query)
            else:
                known = QUERIES.get(digest)
                if known is None:
                    raise GraphQLError(
                        "PersistedQueryNotFound", extensions={"code": "PERSISTED_QUERY_NOT_FOUND", "hash": digest}
                    )
                ctx.query = known
        yield


def _nul_in_literal(node: ValueNode) -> bool:
    if isinstance(node, StringValueNode):
        return "\x00" in node.value
    if isinstance(node, ListValueNode):
        return any(_nul_in_literal(v) for v in node.values)
    if isinstance(node, ObjectValueNode):
        return any(_nul_in_literal(f.value) for f in node.fields)
    return False


class _NulArguments(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        if _nul_in_literal(node.value):
            self.found.append(node.name.value)


_NUL_ARGUMENTS: dict[str, list[str]] = {}


def _nul_arguments(query: str, document: DocumentNode) -> list[str]:
    """The arguments whose literal text holds a NUL: looked for once per query text, as it is parsed once."""
    found = _NUL_ARGUMENTS.get(query)
    if found is None:
        finder = _NulArguments()
        visit(document, finder)
        if len(_NUL_ARGUMENTS) >= 1024:
            _NUL_ARGUMENTS.clear()
        found = _NUL_ARGUMENTS[query] = finder.found
    return found


class NoNulText(SchemaExtension):
    """Refuse text holding a NUL character, in an argument or a variable, naming where it is."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        bad = [f"${name}" for name, value in (ctx.variables or {}).items() if nul_field(value) is not None]
        if not bad and ctx.graphql_document is not None and ctx.query:
            bad = _nul_arguments(ctx.query, ctx.graphql_document)
        if bad:
            raise GraphQLError(
                f"{bad[0]}: text must not contain NUL characters",
                extensions={"code": "VALIDATION", "field": bad[0], "reason": "text must not contain NUL characters"},
            )
        yield
