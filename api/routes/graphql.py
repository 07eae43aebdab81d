"""`/graphql`: the GraphQL API (GraphiQL in a browser), and its subscriptions over WebSocket.

HTTP requests carry `Authorization: Bearer <token>`; a request without a valid token is 401
(only the GraphiQL page itself loads without one). A WebSocket (graphql-transport-ws) sends the
token in `connection_init`'s payload as ``{"Authorization": "Bearer <token>"}`` (or
``{"token": "<token>"}``); an invalid one closes the socket with 4403.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UnsetType

from api.graphql.context import Context
from api.graphql.schema import schema
from api.security.errors import Unauthenticated


def _token(connection: HTTPConnection) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def get_context(connection: HTTPConnection) -> Context:
    """Build the operation's context; an HTTP request without a valid token is refused with 401."""
    services = connection.app.state.services
    client = connection.client.host if connection.client else None
    if connection.scope["type"] == "websocket":
        return Context(services, None, client)
    token = _token(connection)
    ide_page = connection.scope["method"] == "GET" and "query" not in connection.query_params
    if token is None:
        if ide_page:
            return Context(services, None, client)
        raise HTTPException(401, "no bearer token; log in at POST /auth/login", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = await services.security.principal_async(token)
    except Unauthenticated as exc:
        raise HTTPException(401, exc.reason, headers={"WWW-Authenticate": "Bearer"}) from None
    connection.state.principal = principal
    return Context(services, principal, client)


class TwinhoodGraphQLRouter(GraphQLRouter[Context, None]):
    """The GraphQL router, authenticating WebSocket connections at `connection_init`."""

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


router = TwinhoodGraphQLRouter(schema, path="/graphql", context_getter=get_context, tags=["graphql"])
