"""FastAPI dependencies: who is calling (a bearer token) and whether they may (a permission).

A route guarded by ``Depends(require("read:devices"))`` answers 401 with ``WWW-Authenticate:
Bearer`` when the token is missing, invalid or expired, and 403 naming the permission when the
caller's roles lack it. The caller is kept in ``request.state.principal`` for the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.security.errors import Unauthenticated
from api.security.service import Security
from api.security.users import Principal


def get_security(request: Request) -> Security:
    """Return the app's security services (a FastAPI dependency)."""
    security: Security = request.app.state.services.security
    return security


SecurityDep = Annotated[Security, Depends(get_security)]


def bearer(request: Request) -> str | None:
    """Return the bearer token of a request (header `Authorization: Bearer …`), or None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def principal_of(request: Request, security: Security) -> Principal:
    """Return the caller of a request, or raise Unauthenticated."""
    token = bearer(request)
    if token is None:
        raise Unauthenticated("no bearer token; log in at POST /auth/login and send Authorization: Bearer <token>")
    found = await security.principal_async(token)
    request.state.principal = found
    return found


async def current_principal(request: Request, security: SecurityDep) -> Principal:
    """The authenticated caller (a FastAPI dependency): 401 without a valid token."""
    try:
        return await principal_of(request, security)
    except Unauthenticated as exc:
        raise HTTPException(401, exc.reason, headers={"WWW-Authenticate": "Bearer"}) from None


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Callable[..., object]:
    """Return a dependency that lets only callers holding `permission` through (403 otherwise)."""

    async def check(caller: PrincipalDep) -> Principal:
        if not caller.may(permission):
            raise HTTPException(403, f"permission {permission!r} is required; your roles do not grant it")
        return caller

    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check
