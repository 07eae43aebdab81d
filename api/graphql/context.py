"""What every resolver receives: the services, the caller, DataLoaders, and what the operation touched.

:meth:`Context.require` is how a resolver enforces a permission: it raises a GraphQL error with
`extensions.code` UNAUTHENTICATED or FORBIDDEN (naming the permission). :meth:`Context.note`
collects the uids an operation returned, and whether any was a person's, for its audit entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final, TypeVar
from weakref import WeakKeyDictionary

import anyio.to_thread
from anyio import CapacityLimiter
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from api.bootstrap import Services
from api.security.users import Principal
from graph.masking import ANONYMOUS, Viewer
from graph.store import AsyncReads, Step, StoredNode

Neighbours = list[tuple[StoredNode, dict[str, Any]]]
T = TypeVar("T")

STORE_THREADS: Final = 4
"""Threads one process gives GraphQL's blocking store calls. Few on purpose: threads waiting for the
GIL slow the event loop, and with the shared pool's 40 a nested read (building → houses →
residents) served 9.8 requests/s against 14 with 2–4; single reads did not change."""

_store_threads: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = WeakKeyDictionary()


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking store call in one of GraphQL's own few threads."""
    loop = asyncio.get_running_loop()
    limiter = _store_threads.get(loop) or _store_threads.setdefault(loop, CapacityLimiter(STORE_THREADS))
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=limiter)


class Loaders:
    """The DataLoaders of one operation: nodes by uid, and neighbours along each path asked for.

    They read through the serving event loop's asyncio driver (:class:`graph.store.AsyncReads`),
    not the blocking store in a thread, and give nodes as :class:`graph.store.StoredNode` (not
    validated again: :func:`api.graphql.nodes.view_of` only shows them).
    """

    def __init__(self, reads: AsyncReads) -> None:
        self.reads = reads
        self.nodes: DataLoader[str, StoredNode | None] = DataLoader(load_fn=self._load_nodes)
        self._neighbours: dict[tuple[Step, ...], DataLoader[str, Neighbours]] = {}

    async def _load_nodes(self, uids: Sequence[str]) -> list[StoredNode | None]:
        found = await self.reads.get_many(uids)
        return [found.get(u) for u in uids]

    def neighbours(self, steps: tuple[Step, ...]) -> DataLoader[str, Neighbours]:
        """Return the loader of the nodes reached along `steps` (one graph read per batch of parents)."""
        loader = self._neighbours.get(steps)
        if loader is None:

            async def load(uids: Sequence[str]) -> list[Neighbours]:
                found = await self.reads.neighbours(uids, steps)
                return [found.get(u, []) for u in uids]

            loader = self._neighbours[steps] = DataLoader(load_fn=load)
        return loader


class Context(BaseContext):
    """The context of one GraphQL operation (or one WebSocket connection)."""

    def __init__(self, services: Services, reads: AsyncReads, principal: Principal | None, client: str | None) -> None:
        super().__init__()
        self.services, self.reads, self.principal, self.client = services, reads, principal, client
        self.loaders = Loaders(reads)
        self.targets: dict[str, None] = {}
        self.person_read = False
        self.now = datetime.now(UTC)
        self.connection_params: dict[str, Any] | None = None

    @property
    def viewer(self) -> Viewer:
        """The caller as :mod:`graph.masking` sees them."""
        return self.principal.viewer if self.principal else ANONYMOUS

    @property
    def username(self) -> str | None:
        return self.principal.username if self.principal else None

    def require(self, permission: str) -> Principal:
        """Return the caller when they hold `permission`; raise UNAUTHENTICATED or FORBIDDEN otherwise."""
        if self.principal is None:
            raise GraphQLError(
                "not authenticated: send Authorization: Bearer <token> (POST /auth/login gives one)",
                extensions={"code": "UNAUTHENTICATED"},
            )
        if not self.principal.may(permission):
            raise GraphQLError(
                f"permission {permission!r} is required; your roles do not grant it",
                extensions={"code": "FORBIDDEN", "permission": permission},
            )
        return self.principal

    def note(self, uid: str, person: bool = False) -> None:
        """Record that the operation returned `uid` (a person's data when `person`)."""
        self.targets[uid] = None
        self.person_read = self.person_read or person

    def fresh(self) -> None:
        """Forget cached loads and noted targets (between the events of one subscription)."""
        self.loaders = Loaders(self.reads)
        self.targets, self.person_read, self.now = {}, False, datetime.now(UTC)
