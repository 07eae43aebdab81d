"""Who may call the API and what they may do: users, roles, tokens, the audit log, request limits.

Accounts and roles live in PostgreSQL (:class:`UserStore`); a login issues a JWT
(:mod:`api.security.tokens`) that expires after the session timeout; every request's caller is a
:class:`Principal` whose permissions (:mod:`api.security.permissions`) gate routes and resolvers
and whose :class:`graph.masking.Viewer` masks sensitive fields; every operation lands in the
:class:`AuditLog`. :class:`Security` bundles them for one process.
"""

from api.security.audit import AuditEntry, AuditLog
from api.security.dependencies import PrincipalDep, SecurityDep, current_principal, require
from api.security.errors import Forbidden, LoginRefused, SecurityError, Unauthenticated, UnknownRole, UnknownUser
from api.security.permissions import PERMISSIONS, SEED_ROLES
from api.security.service import RateLimiter, Security
from api.security.settings import SecuritySettings
from api.security.users import Principal, Role, User, UserStore

__all__ = [
    "PERMISSIONS",
    "SEED_ROLES",
    "AuditEntry",
    "AuditLog",
    "Forbidden",
    "LoginRefused",
    "Principal",
    "PrincipalDep",
    "RateLimiter",
    "Role",
    "Security",
    "SecurityDep",
    "SecurityError",
    "SecuritySettings",
    "Unauthenticated",
    "UnknownRole",
    "UnknownUser",
    "User",
    "UserStore",
    "current_principal",
    "require",
]
