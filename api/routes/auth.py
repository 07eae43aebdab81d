"""Login over HTTP: `POST /auth/login` exchanges a username and password for a bearer token.

The body is JSON `{"username": …, "password": …}` or an OAuth2 password form (what `/docs`'
Authorize button sends). A refused login is 401 saying why in words that never tell whether the
user exists; the account locks after `TWINHOOD_MAX_FAILED_LOGINS` failures in a row. `GET
/auth/me` says who the token belongs to and what it may do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from api.security.dependencies import PrincipalDep, SecurityDep
from api.security.errors import LoginRefused

router = APIRouter(prefix="/auth", tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)

    @field_validator("username")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):  # PostgreSQL cannot even compare a NUL
            raise ValueError("must not contain control characters")
        return value


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the token expires (the session timeout)")
    expires_at: str


class Me(BaseModel):
    username: str
    roles: list[str]
    permissions: list[str]


async def _credentials(request: Request) -> Credentials:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        data = {"username": form.get("username"), "password": form.get("password")}
    else:
        try:
            data = await request.json()
        except ValueError:
            raise HTTPException(422, "the body must be JSON {username, password} or a password form") from None
    try:
        return Credentials.model_validate(data)
    except ValueError as exc:
        raise HTTPException(422, f"the body must name username and password: {exc}") from None


@router.post(
    "/login",
    response_model=TokenAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": Credentials.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": Credentials.model_json_schema()},
            },
        }
    },
    responses={401: {"description": "wrong credentials, or the account is locked, disabled or expired"}},
)
async def login(request: Request, security: SecurityDep) -> TokenAnswer:
    """Return a bearer token for a username and password."""
    credentials = await _credentials(request)
    client = request.client.host if request.client else None
    try:
        token = await run_in_threadpool(security.login, credentials.username, credentials.password, client)
    except LoginRefused as exc:
        raise HTTPException(401, exc.reason, headers={"WWW-Authenticate": "Bearer"}) from None
    return TokenAnswer(
        access_token=token.access_token, expires_in=token.expires_in, expires_at=token.expires_at.isoformat()
    )


@router.get("/me", response_model=Me, responses={401: {"description": "no valid token"}})
async def me(caller: PrincipalDep) -> Me:
    """Return the caller's username, roles and permissions."""
    return Me(username=caller.username, roles=sorted(caller.roles), permissions=sorted(caller.permissions))
