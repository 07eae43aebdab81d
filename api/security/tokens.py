"""Access tokens: JWTs (HS256) that carry the username and expire after the session timeout."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

import jwt

from api.security.errors import Unauthenticated
from api.security.settings import SecuritySettings

ISSUER: Final = "twinhood"
ALGORITHM: Final = "HS256"


@dataclass(frozen=True)
class Token:
    """An issued access token and when it expires."""

    access_token: str
    expires_at: datetime
    expires_in: int


def issue(username: str, settings: SecuritySettings, now: datetime | None = None) -> Token:
    """Return a signed token for `username`, valid for the session timeout from `now`."""
    now = now or datetime.now(UTC)
    expires = now + timedelta(minutes=settings.session_minutes)
    claims = {"iss": ISSUER, "sub": username, "iat": now, "nbf": now, "exp": expires, "jti": uuid.uuid4().hex}
    encoded = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return Token(encoded, expires, int((expires - now).total_seconds()))


def username_of(token: str, settings: SecuritySettings) -> str:
    """Return the username a valid token names; raise Unauthenticated saying why it is not valid."""
    username, expires = _verified(token, settings.jwt_secret.get_secret_value())
    if time.time() >= expires:  # PyJWT's own test, for a token verified while it was still valid
        raise Unauthenticated("the token has expired; log in again")
    return username


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[str, float]:
    """Return a valid token's subject and expiry; raise Unauthenticated saying why it is not valid.

    Cached: a client sends the same token with every request, and checking its signature and
    claims is a tenth of the CPU of a small GraphQL read. A token's text fixes its claims and the
    key its signature, so only the expiry needs checking again (refusals are not cached).
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired; log in again") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"the token is invalid: {exc}") from None
    return str(claims["sub"]), float(claims["exp"])
