"""Create and drop graph databases: ArcadeDB through its HTTP server, Neo4j through `system`.

Used to give each test run (or a scratch analysis) a database of its own.
"""

from __future__ import annotations

import re

import httpx
import neo4j

from graph.errors import GraphUnavailable, ValidationError
from graph.settings import GraphSettings

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _check(name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError("database", name, "must be lower-case letters, digits and _, starting with a letter")
    return name


def _arcadedb(settings: GraphSettings, command: str) -> None:
    assert settings.graph_admin_url
    try:
        response = httpx.post(
            f"{settings.graph_admin_url}/api/v1/server",
            json={"command": command},
            auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value()),
            timeout=60,
        )
    except httpx.HTTPError as exc:
        raise GraphUnavailable(settings.graph_admin_url, str(exc)) from exc
    if response.status_code != 200:
        raise GraphUnavailable(settings.graph_admin_url, f"{command!r} failed: {response.text[:300]}")


def _neo4j(settings: GraphSettings, query: str, name: str) -> None:
    auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=auth) as driver:
        driver.execute_query(query, {"name": name}, database_="system")


def create_database(settings: GraphSettings, name: str) -> None:
    """Create an empty graph database called `name`."""
    if settings.graph_admin_url:
        _arcadedb(settings, f"create database {_check(name)}")
    else:
        _neo4j(settings, "CREATE DATABASE $name IF NOT EXISTS WAIT", _check(name))


def drop_database(settings: GraphSettings, name: str) -> None:
    """Drop the graph database called `name` and all it holds."""
    if settings.graph_admin_url:
        _arcadedb(settings, f"drop database {_check(name)}")
    else:
        _neo4j(settings, "DROP DATABASE $name IF EXISTS WAIT", _check(name))
