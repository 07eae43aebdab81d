"""Errors of authentication and authorisation, under :class:`graph.errors.TwinhoodError`::

TwinhoodError
└── SecurityError
    ├── LoginRefused(reason)             wrong credentials, locked, disabled or expired account
    ├── Unauthenticated(reason)          no token, a bad one, or an expired one
    ├── Forbidden(permission)            the caller's roles do not grant the permission
    ├── UnknownUser(username)
    └── UnknownRole(role)
"""

from __future__ import annotations

from graph.errors import TwinhoodError


class SecurityError(TwinhoodError):
    """Root of the API's security errors."""


class LoginRefused(SecurityError):
    """A login was refused; `reason` is safe to show (it never says whether the user exists)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"login refused: {reason}")


class Unauthenticated(SecurityError):
    """A request carried no valid access token."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not authenticated: {reason}")


class Forbidden(SecurityError):
    """The caller lacks `permission`."""

    def __init__(self, permission: str, username: str | None = None) -> None:
        self.permission, self.username = permission, username
        super().__init__(f"permission {permission!r} is required" + (f" ({username} lacks it)" if username else ""))


class UnknownUser(SecurityError, LookupError):
    """No user has this name."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"no user named {username!r}")


class UnknownRole(SecurityError, LookupError):
    """No role has this name."""

    def __init__(self, role: str) -> None:
        self.role = role
        super().__init__(f"no role named {role!r}")
