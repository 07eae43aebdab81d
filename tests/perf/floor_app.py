"""The least a strawberry API on uvicorn can do for the API benchmark's (a) and (b): its floor.

The same two queries as `bench_api` (a person by uid; building → houses → residents), answered
with the same Cypher statements on the same asyncio driver (auto-commit reads in a read session)
and a DataLoader per level, as the API does. Everything else the API does is left out: no token,
no permissions, no masking, no audit entry, no typed errors, no limits, no middleware, and nodes
are built from the records' properties without pydantic (strawberry's parser and validation
caches are kept, as the API keeps them). Served by `bench_api` beside the API, it splits the
API's overhead over the bare driver into what strawberry, graphql-core and uvicorn cost whatever
we write (floor ÷ baseline) and what our own layers add on top (API ÷ floor).

Not part of the platform: `uvicorn tests.perf.floor_app:create_app --factory`, configured by
the same `TWINHOOD_NEO4J_*` variables as the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import neo4j
import strawberry
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.dataloader import DataLoader
from strawberry.extensions import ParserCache, ValidationCache

from graph import GraphSettings
from graph.ontology import NODE_TYPES
from graph.store import Step, _neighbours_query, _node_reads, typed

HOUSES = (Step("LOCATED_IN", "in", "Unit"), Step("LOCATED_IN", "in", "House"))
RESIDENTS = (Step("LIVES_IN", "in", "Person"),)
"""(b)'s two levels below the building, as the API's `houses` and `residents` fields follow them."""


@strawberry.interface
class Entity:
    uid: strawberry.ID
    label: str
    caption: str


@strawberry.type
class Person(Entity):
    name: str | None = None
    phone: str | None = None
    sex: str | None = None
    birth_date: date | None = None


@strawberry.type
class House(Entity):
    room: str | None = None

    @strawberry.field
    async def residents(self, info: strawberry.Info[Loaders]) -> list[Person]:
        return await info.context.residents.load(str(self.uid))


@strawberry.type
class Building(Entity):
    @strawberry.field
    async def houses(self, info: strawberry.Info[Loaders]) -> list[House]:
        return await info.context.houses.load(str(self.uid))


TYPES: dict[str, Any] = {"Person": Person, "House": House, "Building": Building}


class Props:
    """A node as its record's properties, read as attributes (dates parsed: the statements send them as text)."""

    def __init__(self, label: str, props: dict[str, Any]) -> None:
        self.__dict__.update(typed(NODE_TYPES[label], props))
        self.label = label
        self.caption = str(props.get(NODE_TYPES[label].caption) or props["uid"])

    def __getattr__(self, name: str) -> None:
        if name.startswith("_"):  # not a property: graphql-core asks for `__await__`
            raise AttributeError(name)
        return None  # a property the node does not have (nulls are not stored)


def _cast(labels: list[str], props: dict[str, Any]) -> Any:
    label = next(lbl for lbl in labels if lbl in TYPES)
    return strawberry.cast(TYPES[label], Props(label, props))


class Loaders:
    """One operation's DataLoaders: nodes by uid, houses of buildings, residents of houses."""

    def __init__(self, driver: neo4j.AsyncDriver, database: str) -> None:
        self.driver, self.database = driver, database
        self.nodes = DataLoader(load_fn=self._nodes)
        self.houses = DataLoader(load_fn=self._neighbours("Building", HOUSES))
        self.residents = DataLoader(load_fn=self._neighbours("House", RESIDENTS))

    async def _read(self, query: str, **params: Any) -> list[neo4j.Record]:
        async with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
            return [record async for record in await session.run(query, params)]

    async def _nodes(self, uids: Sequence[str]) -> list[Any]:
        found = {
            r["uid"]: _cast(r["labels"], r["props"])
            for query, params in _node_reads(uids)
            for r in await self._read(query, **params)
        }
        return [found.get(u) for u in uids]

    def _neighbours(self, label: str, steps: tuple[Step, ...]) -> Any:
        query = _neighbours_query(label, steps)

        async def load(uids: Sequence[str]) -> list[list[Any]]:
            found: dict[str, list[Any]] = {u: [] for u in uids}
            for r in await self._read(query, uids=list(uids), limit=100_000):
                found[r["source"]].append(_cast(r["labels"], r["props"]))
            return [found[u] for u in uids]

        return load


@strawberry.type
class Query:
    @strawberry.field
    async def entity(self, uid: strawberry.ID, info: strawberry.Info[Loaders]) -> Entity | None:
        return await info.context.nodes.load(str(uid))  # type: ignore[no-any-return]


class FloorGraphQL(GraphQL[Loaders, None]):
    async def get_context(self, request: HTTPConnection, response: Response | WebSocket) -> Loaders:
        return Loaders(request.app.state.driver, request.app.state.database)


def create_app() -> Starlette:
    settings = GraphSettings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
        app.state.driver = neo4j.AsyncGraphDatabase.driver(settings.neo4j_uri, auth=auth)
        app.state.database = settings.neo4j_database
        yield
        await app.state.driver.close()

    # parse and validate each query text once, as the API does: the cost of doing it every time is not the floor's
    extensions = [lambda: ParserCache(maxsize=64), lambda: ValidationCache(maxsize=64)]
    graphql = FloorGraphQL(strawberry.Schema(query=Query, types=[Person, House, Building], extensions=extensions))
    routes = [Route("/graphql", graphql, methods=["POST"]), Route("/healthz", lambda _: PlainTextResponse("ok"))]
    return Starlette(routes=routes, lifespan=lifespan)
