"""`/graphql`: the GraphQL API (GraphiQL in a browser), and its subscriptions over WebSocket.

HTTP requests carry `Authorization: Bearer <token>`; a request without a valid token is 401
(only the GraphiQL page itself loads without one). A WebSocket (graphql-transport-ws) sends the
token in `connection_init`'s payload as ``{"Authorization": "Bearer <token>"}`` (or
``{"token": "<token>"}``); an invalid one closes the socket with 4403.

It is strawberry's ASGI app on a plain Starlette route, not a FastAPI router: FastAPI's
dependency solving and routing layers cost a fifth of a small query's time and give GraphQL
nothing. OpenAPI describes the endpoint (:data:`OPENAPI`); its operations are the SDL in
`api/schema.graphql`.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from api.graphql.context import Context
from api.graphql.schema import schema
from api.security.errors import Unauthenticated


def _token(connection: HTTPConnection) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})


class TwinhoodGraphQL(GraphQL[Context, None]):
    """The GraphQL app: a context per operation, HTTP callers authenticated by their bearer token,
    WebSocket callers at `connection_init`."""

    async def get_context(self, request: HTTPConnection, response: Response | WebSocket) -> Context:
        """Build the operation's context; an HTTP request without a valid token is refused with 401."""
        services, reads = request.app.state.services, request.app.state.reads
        client = request.client.host if request.client else None
        if request.scope["type"] == "websocket":
            return Context(services, reads, None, client)
        token = _token(request)
        if token is None:
            if request.scope["method"] == "GET" and "query" not in request.query_params:
                return Context(services, reads, None, client)  # the GraphiQL page: it asks for nothing yet
            raise _unauthorized("no bearer token; log in at POST /auth/login")
        try:
            principal = await services.security.principal_async(token)
        except Unauthenticated as exc:
            raise _unauthorized(exc.reason) from None
        request.state.principal = principal
        return Context(services, reads, principal, client)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params: dict[str, Any] = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        token = str(raw).partition(" ")[2].strip() if raw else str(params.get("token") or "")
        if not token:
            raise ConnectionRejectionError({"reason": "no token in connection_init"})
        try:
            context.principal = await context.services.security.principal_async(token)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"reason": exc.reason}) from None
        return await super().on_ws_connect(context)


graphql_app = TwinhoodGraphQL(schema)
ROUTES: list[BaseRoute] = [
    Route("/graphql", graphql_app, methods=["GET", "POST"]),
    WebSocketRoute("/graphql", graphql_app),
]
"""`/graphql` over HTTP (GraphiQL on a GET without a query) and WebSocket."""

_ANSWER = {
    "200": {"description": "the GraphQL response: `data` and/or `errors` (with `extensions.code`)"},
    "401": {"description": "no valid bearer token"},
}
OPENAPI: dict[str, Any] = {
    "get": {
        "tags": ["graphql"],
        "summary": "GraphiQL in a browser; with `query`, a query operation",
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in ("query", "variables", "operationName")
        ],
        "responses": _ANSWER,
    },
    "post": {
        "tags": ["graphql"],
        "summary": "Run a GraphQL operation (see api/schema.graphql)",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "query": {"type": "string"},
                            "variables": {"type": "object"},
                            "operationName": {"type": "string"},
                            "extensions": {"type": "object"},
                        },
                    }
                }
            },
        },
        "responses": _ANSWER,
    },
}
"""How OpenAPI describes `/graphql` (the app adds it to the REST routes' document)."""
