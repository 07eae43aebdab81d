"""The ASGI middleware in front of every route: IP blacklist, rate limit, metrics and the REST audit log.

A blacklisted address gets 403 and a client over its rate 429 with `Retry-After`, before any
route runs. Every other HTTP request is counted and timed per route template; a request to a
guarded REST route (`/ingest`, `/bim`, protected tiles, `/auth`) and every refusal (401, 403, 429)
is written to the audit log with the caller, the path's uids and the outcome. GraphQL operations
are audited by the GraphQL layer, one entry per operation.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.routes.metrics import LATENCY, REFUSED, REQUESTS
from api.security.audit import AuditEntry, Outcome
from api.security.service import Security

UNAUDITED = ("/healthz", "/metrics", "/docs", "/redoc", "/openapi.json", "/graphql")
AUDITED = ("/ingest", "/bim", "/auth", "/tiles/devices", "/tiles/trajectories")


def _outcome(status: int) -> Outcome:
    if status in (401, 403, 429):
        return "denied"
    if status in (400, 404, 413, 422):
        return "invalid"
    return "failed" if status >= 500 else "ok"


class Gatekeeper:
    """Refuse blacklisted and too-eager clients; count, time and audit the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        security: Security | None = getattr(getattr(scope["app"].state, "services", None), "security", None)
        client = scope["client"][0] if scope.get("client") else None
        if security is not None:
            if security.blacklisted(client):
                REFUSED.labels("blacklist").inc()
                await self._refuse(scope, send, 403, "your address is blacklisted", security, client)
                return
            wait = security.limiter.allow(client or "?")
            if wait > 0:
                REFUSED.labels("rate_limit").inc()
                await self._refuse(
                    scope, send, 429, "too many requests", security, client, {"retry-after": str(math.ceil(wait))}
                )
                return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)
            if security is not None:
                self._audit(scope, status, security, client)

    def _audit(self, scope: Scope, status: int, security: Security, client: str | None) -> None:
        path: str = scope["path"]
        if path.startswith(UNAUDITED) or path == "/auth/login":
            return  # the login route audits itself, GraphQL per operation
        if not path.startswith(AUDITED) and status not in (401, 403, 429):
            return
        principal = scope.get("state", {}).get("principal")
        params: dict[str, Any] = scope.get("path_params", {})
        targets = tuple(str(v) for v in params.values() if ":" in str(v))
        security.audit.record(
            AuditEntry(
                principal.username if principal else None,
                f"{scope['method']} {getattr(scope.get('route'), 'path', path)}",
                _outcome(status),
                targets=targets,
                client=client,
                detail={"status": status, "path": path},
            )
        )

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        detail: str,
        security: Security,
        client: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        security.audit.record(
            AuditEntry(
                None, f"{scope.get('method', 'WS')} {scope['path']}", "denied", client=client, detail={"reason": detail}
            )
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": detail})
            return
        body = json.dumps({"detail": detail}).encode()
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
