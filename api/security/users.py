"""Users and roles in PostgreSQL: argon2 password hashes, failed-login locks, validity periods (7.3).

:class:`UserStore` is the narrow door to the `users`, `roles`, `role_permissions` and `user_roles`
tables. :meth:`UserStore.authenticate` checks a password and keeps the account's state: each
failure counts, `max_failed_logins` in a row lock the account for `lock_minutes`, a success resets
the count; an account outside its validity period or disabled cannot log in (nor use a token it
already holds: :meth:`UserStore.principal` checks the same on every request, cached for a second).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, text

from api.security.errors import LoginRefused, UnknownRole, UnknownUser
from api.security.permissions import PERMISSIONS, SEED_ROLES
from api.security.settings import SecuritySettings
from graph.errors import ValidationError
from graph.masking import Viewer

USERNAME: Final = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
ROLE_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MIN_PASSWORD: Final = 10
PRINCIPAL_TTL_S: Final = 1.0
_HASHER: Final = PasswordHasher()
_DUMMY_HASH: Final = _HASHER.hash("not a password anyone has")


@dataclass(frozen=True)
class User:
    """An account as the API shows it (never its hash)."""

    username: str
    name: str | None
    phone: str | None
    organisation: str | None
    roles: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime | None
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None


@dataclass(frozen=True)
class Role:
    """A role and the permissions it grants."""

    name: str
    description: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, its roles and the permissions they grant together."""

    username: str
    roles: frozenset[str]
    permissions: frozenset[str]

    @cached_property
    def viewer(self) -> Viewer:
        """The masking view of this caller (:mod:`graph.masking`)."""
        return Viewer(self.username, self.permissions)

    def may(self, permission: str) -> bool:
        return self.viewer.may(permission)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError("password", "***", f"must be at least {MIN_PASSWORD} characters")


def _check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise ValidationError(
            "username", username, "must be 2-64 characters: lower-case letters, digits, _ . @ -, starting alphanumeric"
        )


def _check_permissions(permissions: Iterable[str]) -> list[str]:
    out = sorted(set(permissions))
    unknown = [p for p in out if p not in PERMISSIONS]
    if unknown:
        raise ValidationError("permissions", unknown, f"unknown permission(s); known: {', '.join(PERMISSIONS)}")
    return out


_USER_COLUMNS = (
    "u.username, u.name, u.phone, u.organisation, "
    "coalesce(array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL), '{}') AS roles, "
    "u.valid_from, u.valid_until, u.disabled, u.failed_logins, u.locked_until, u.last_login_at"
)


def _user(row: Any) -> User:
    data = dict(row._mapping)
    data["roles"] = tuple(data["roles"])
    return User(**data)


class UserStore:
    """Accounts, roles and permissions; every method runs its own short transaction."""

    def __init__(self, engine: Engine, settings: SecuritySettings) -> None:
        self.engine, self.settings = engine, settings
        self._principals: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    # --- roles -------------------------------------------------------------------------------

    def seed_roles(self) -> int:
        """Create the seed roles that are missing (existing roles keep their permissions); return how many."""
        created = 0
        with self.engine.begin() as conn:
            for name, (description, permissions) in SEED_ROLES.items():
                new = conn.execute(
                    text("INSERT INTO roles (name, description) VALUES (:n, :d) ON CONFLICT DO NOTHING RETURNING name"),
                    {"n": name, "d": description},
                ).first()
                if new is not None:
                    created += 1
                    self._grant(conn, name, permissions)
        return created

    def _grant(self, conn: Connection, role: str, permissions: Iterable[str]) -> None:
        rows = [{"r": role, "p": p} for p in _check_permissions(permissions)]
        if rows:
            conn.execute(
                text("INSERT INTO role_permissions (role, permission) VALUES (:r, :p) ON CONFLICT DO NOTHING"), rows
            )

    def roles(self) -> list[Role]:
        """Return every role with its permissions, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT r.name, r.description, coalesce(array_agg(p.permission ORDER BY p.permission) "
                    "FILTER (WHERE p.permission IS NOT NULL), '{}') FROM roles r "
                    "LEFT JOIN role_permissions p ON p.role = r.name GROUP BY r.name ORDER BY r.name"
                )
            ).all()
        return [Role(name, description, tuple(perms)) for name, description, perms in rows]

    def role(self, name: str) -> Role:
        for role in self.roles():
            if role.name == name:
                return role
        raise UnknownRole(name)

    def create_role(self, name: str, description: str, permissions: Iterable[str]) -> Role:
        """Create a role granting `permissions`; a taken name is a ValidationError naming `name`."""
        if not ROLE_NAME.match(name):
            raise ValidationError("name", name, "must be 2-40 characters: lower-case letters, digits and _")
        perms = _check_permissions(permissions)
        with self.engine.begin() as conn:
            new = conn.execute(
                text("INSERT INTO roles (name, description) VALUES (:n, :d) ON CONFLICT DO NOTHING RETURNING name"),
                {"n": name, "d": description},
            ).first()
            if new is None:
                raise ValidationError("name", name, "a role of that name exists")
            self._grant(conn, name, perms)
        return self.role(name)

    def set_permissions(self, name: str, grant: Iterable[str] = (), revoke: Iterable[str] = ()) -> Role:
        """Grant and revoke permissions of a role."""
        revoked = _check_permissions(revoke)
        with self.engine.begin() as conn:
            if conn.execute(text("SELECT 1 FROM roles WHERE name = :n"), {"n": name}).first() is None:
                raise UnknownRole(name)
            self._grant(conn, name, grant)
            if revoked:
                conn.execute(
                    text("DELETE FROM role_permissions WHERE role = :r AND permission = ANY(:p)"),
                    {"r": name, "p": revoked},
                )
        self._forget()
        return self.role(name)

    def delete_role(self, name: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(text("DELETE FROM roles WHERE name = :n RETURNING name"), {"n": name}).first() is None:
                raise UnknownRole(name)
        self._forget()

    # --- users -------------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password: str,
        roles: Iterable[str] = (),
        *,
        name: str | None = None,
        phone: str | None = None,
        organisation: str | None = None,
        valid_until: datetime | None = None,
    ) -> User:
        """Create an account with an argon2 hash of `password`; a taken name is a ValidationError naming `username`."""
        _check_username(username)
        _check_password(password)
        if valid_until is not None and valid_until.tzinfo is None:
            raise ValidationError("valid_until", valid_until, "must carry a time zone")
        with self.engine.begin() as conn:
            new = conn.execute(
                text(
                    "INSERT INTO users (username, password_hash, name, phone, organisation, valid_until) "
                    "VALUES (:u, :h, :n, :p, :o, :v) ON CONFLICT DO NOTHING RETURNING username"
                ),
                {
                    "u": username,
                    "h": _HASHER.hash(password),
                    "n": name,
                    "p": phone,
                    "o": organisation,
                    "v": valid_until,
                },
            ).first()
            if new is None:
                raise ValidationError("username", username, "a user of that name exists")
            self._set_roles(conn, username, add=roles)
        return self.user(username)

    def ensure_user(self, username: str, password: str, roles: Iterable[str]) -> bool:
        """Create the account unless it exists (the demo's admin); return True when created."""
        try:
            self.user(username)
        except UnknownUser:
            self.create_user(username, password, roles)
            return True
        return False

    def _set_roles(self, conn: Connection, username: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        add, remove = sorted(set(add)), sorted(set(remove))
        known = {r for (r,) in conn.execute(text("SELECT name FROM roles WHERE name = ANY(:r)"), {"r": add + remove})}
        for role in add + remove:
            if role not in known:
                raise UnknownRole(role)
        if add:
            conn.execute(
                text("INSERT INTO user_roles (username, role) VALUES (:u, :r) ON CONFLICT DO NOTHING"),
                [{"u": username, "r": r} for r in add],
            )
        if remove:
            conn.execute(
                text("DELETE FROM user_roles WHERE username = :u AND role = ANY(:r)"), {"u": username, "r": remove}
            )

    def set_roles(self, username: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> User:
        """Give a user roles and take others away."""
        with self.engine.begin() as conn:
            if conn.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": username}).first() is None:
                raise UnknownUser(username)
            self._set_roles(conn, username, add, remove)
        self._forget(username)
        return self.user(username)

    def update_user(self, username: str, **changes: Any) -> User:
        """Change password, disabled, valid_until, name, phone or organisation; `unlock=True` unlocks."""
        allowed = {"password", "disabled", "valid_until", "name", "phone", "organisation", "unlock"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationError(
                sorted(unknown)[0], None, f"cannot be changed; changeable: {', '.join(sorted(allowed))}"
            )
        sets: list[str] = []
        params: dict[str, Any] = {"u": username}
        if (password := changes.pop("password", None)) is not None:
            _check_password(password)
            sets.append("password_hash = :h")
            params["h"] = _HASHER.hash(password)
        if changes.pop("unlock", False):
            sets.append("failed_logins = 0, locked_until = NULL")
        for column, value in changes.items():
            sets.append(f"{column} = :{column}")
            params[column] = value
        if sets:
            with self.engine.begin() as conn:
                found = conn.execute(
                    text(f"UPDATE users SET {', '.join(sets)} WHERE username = :u RETURNING username"), params
                ).first()
                if found is None:
                    raise UnknownUser(username)
        self._forget(username)
        return self.user(username)

    def delete_user(self, username: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(text("DELETE FROM users WHERE username = :u RETURNING 1"), {"u": username}).first() is None:
                raise UnknownUser(username)
        self._forget(username)

    def users(self) -> list[User]:
        """Return every account, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {_USER_COLUMNS} FROM users u LEFT JOIN user_roles r ON r.username = u.username "
                    "GROUP BY u.username ORDER BY u.username"
                )
            ).all()
        return [_user(r) for r in rows]

    def user(self, username: str) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    f"SELECT {_USER_COLUMNS} FROM users u LEFT JOIN user_roles r ON r.username = u.username "
                    "WHERE u.username = :u GROUP BY u.username"
                ),
                {"u": username},
            ).first()
        if row is None:
            raise UnknownUser(username)
        return _user(row)

    # --- login and principals -----------------------------------------------------------------

    def authenticate(self, username: str, password: str, now: datetime | None = None) -> User:
        """Check a password and keep the account's login state; raise LoginRefused saying why."""
        now = now or datetime.now(UTC)
        refusal: str | None = None
        # the transaction commits the failure count before the refusal is raised
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "SELECT password_hash, disabled, valid_from, valid_until, failed_logins, locked_until "
                    "FROM users WHERE username = :u FOR UPDATE"
                ),
                {"u": username},
            ).first()
            if row is None:
                _verify(_DUMMY_HASH, password)  # same cost as a real check: no user enumeration by timing
                refusal = "wrong username or password"
            elif row.locked_until is not None and row.locked_until > now:
                refusal = f"the account is locked until {row.locked_until.isoformat(timespec='seconds')}"
            elif not _verify(row.password_hash, password):
                failures = row.failed_logins + 1
                locked = now + timedelta(minutes=self.settings.lock_minutes)
                lock = failures >= self.settings.max_failed_logins
                conn.execute(
                    text("UPDATE users SET failed_logins = :f, locked_until = :l WHERE username = :u"),
                    {"f": 0 if lock else failures, "l": locked if lock else None, "u": username},
                )
                refusal = "wrong username or password" + (
                    f"; {failures} failures in a row locked the account until {locked.isoformat(timespec='seconds')}"
                    if lock
                    else ""
                )
            elif row.disabled:
                refusal = "the account is disabled"
            elif row.valid_from > now or (row.valid_until is not None and row.valid_until <= now):
                refusal = "the account is outside its validity period"
            else:
                rehash = _HASHER.check_needs_rehash(row.password_hash)
                conn.execute(
                    text(
                        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = :now"
                        + (", password_hash = :h" if rehash else "")
                        + " WHERE username = :u"
                    ),
                    {"now": now, "u": username, **({"h": _HASHER.hash(password)} if rehash else {})},
                )
        if refusal is not None:
            self._forget(username)
            raise LoginRefused(refusal)
        self._forget(username)
        return self.user(username)

    def principal(self, username: str) -> Principal | None:
        """Return the caller's roles and permissions, or None when the account may not act now.

        Cached for :data:`PRINCIPAL_TTL_S` per user, so that a request costs no query while a
        disabled, locked or expired account (or a changed role) takes effect within a second.
        """
        now = time.monotonic()
        with self._lock:
            cached = self._principals.get(username)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT ur.role, rp.permission FROM users u "
                    "LEFT JOIN user_roles ur ON ur.username = u.username "
                    "LEFT JOIN role_permissions rp ON rp.role = ur.role "
                    "WHERE u.username = :u AND NOT u.disabled AND u.valid_from <= now() "
                    "AND (u.valid_until IS NULL OR u.valid_until > now()) "
                    "AND (u.locked_until IS NULL OR u.locked_until <= now())"
                ),
                {"u": username},
            ).all()
        found = (
            Principal(
                username,
                frozenset(r for r, _ in rows if r is not None),
                frozenset(p for _, p in rows if p is not None),
            )
            if rows
            else None
        )
        with self._lock:
            self._principals[username] = (now + PRINCIPAL_TTL_S, found)
        return found

    def cached_principal(self, username: str) -> tuple[bool, Principal | None]:
        """Return (True, the principal) when a fresh one is cached, else (False, None): no query, no wait."""
        with self._lock:
            cached = self._principals.get(username)
        if cached is not None and cached[0] > time.monotonic():
            return True, cached[1]
        return False, None

    def _forget(self, username: str | None = None) -> None:
        with self._lock:
            if username is None:
                self._principals.clear()
            else:
                self._principals.pop(username, None)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
