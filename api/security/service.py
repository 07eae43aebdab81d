"""The security services of one API process: accounts, tokens, the audit log, request limits."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from ipaddress import ip_address

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.security.audit import AuditEntry, AuditLog
from api.security.errors import LoginRefused, Unauthenticated
from api.security.settings import SecuritySettings
from api.security.tokens import Token, issue, username_of
from api.security.users import Principal, UserStore


class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute on average, `burst` at once."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate, self.burst = per_minute / 60.0, float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def of_worker(cls, settings: SecuritySettings) -> RateLimiter:
        """Return one worker process's limiter: 1/workers of the budget, so a client spreading its
        requests over every process still gets no more than the budget in all."""
        workers = settings.workers
        return cls(settings.rate_limit_per_minute / workers, max(1, settings.rate_limit_burst // workers))

    def allow(self, client: str) -> float:
        """Take a token for `client`; return 0 when allowed, else the seconds until one is free."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate


@dataclass
class Security:
    """Accounts, tokens, the audit log, the rate limiter and the IP blacklist, built from settings."""

    engine: Engine
    settings: SecuritySettings = field(default_factory=SecuritySettings)
    users: UserStore = field(init=False)
    audit: AuditLog = field(init=False)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.users = UserStore(self.engine, self.settings)
        self.audit = AuditLog(self.engine)
        self.limiter = RateLimiter.of_worker(self.settings)
        self._blacklist = self.settings.blacklisted_networks()

    def login(self, username: str, password: str, client: str | None = None) -> Token:
        """Check the password and issue a token; the attempt is audited either way."""
        try:
            self.users.authenticate(username, password)
        except LoginRefused as exc:
            self.audit.record(AuditEntry(username, "login", "denied", client=client, detail={"reason": exc.reason}))
            raise
        token = issue(username, self.settings)
        self.audit.record(AuditEntry(username, "login", "ok", client=client))
        return token

    def principal(self, token: str) -> Principal:
        """Return who a token belongs to; raise Unauthenticated when it or its account is not valid now."""
        username = username_of(token, self.settings)
        found = self.users.principal(username)
        if found is None:
            raise Unauthenticated(f"the account {username!r} is disabled, locked, expired or gone")
        return found

    async def principal_async(self, token: str) -> Principal:
        """:meth:`principal` for async code: answered on the event loop when the account is cached."""
        hit, found = self.users.cached_principal(username_of(token, self.settings))
        if not hit:
            return await run_in_threadpool(self.principal, token)
        if found is None:
            raise Unauthenticated("the account is disabled, locked, expired or gone")
        return found

    def blacklisted(self, client: str | None) -> bool:
        """Return True when the client's address is on the blacklist."""
        if not client or not self._blacklist:
            return False
        try:
            address = ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self._blacklist)

    def close(self) -> None:
        """Write the queued audit entries."""
        self.audit.close()
