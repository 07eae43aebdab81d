"""Alarms and events over GraphQL: a WebSocket subscription receives the alarm that ingest raised, the
workflow moves it, and an event subscription follows a device; all through a real uvicorn."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from graph import Device
from ingest.alarms import AlarmEngine
from ingest.devices import DeviceDirectory
from ingest.projector import Projector
from tests.integration import test_graphql
from tests.integration.test_graphql import World, codes

world = test_graphql.world  # the served community, built once for this module too
ALARMS = 'subscription { alarmChanged(kinds: ["smoke"]) { change alarm { uid kind status entityUid count } } }'


def ws_url(world: World) -> str:
    return str(world.http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"


@contextmanager
def subscribe(
    world: World, query: str, init: dict[str, str], variables: dict[str, Any] | None = None
) -> Iterator[ClientConnection]:
    """Open a graphql-transport-ws connection with `init` as its payload and subscribe to `query`."""
    with connect(ws_url(world), subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        socket.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(socket.recv(timeout=5))["type"] == "connection_ack"
        payload = {"query": query, "variables": variables or {}}
        socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        yield socket


def bearer(world: World, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def next_message(socket: ClientConnection, timeout: float = 15) -> dict[str, Any]:
    while True:
        message = json.loads(socket.recv(timeout=timeout))
        if message["type"] != "ping":
            return message  # type: ignore[no-any-return]


def wait_for_feed(world: World) -> None:
    deadline = time.monotonic() + 10
    while not getattr(getattr(world.services, "_graphql_live", None), "feed", None) or not (
        world.services._graphql_live.feed._ready.is_set()  # type: ignore[attr-defined]
    ):
        assert time.monotonic() < deadline, "the alarm feed did not start listening"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def detector(world: World) -> Device:
    found: Device = next(d for d in world.nodes("Device") if d.category == "smoke_detector")
    return found


def push(world: World, events: list[dict[str, Any]]) -> None:
    """Send events as a device does (POST /ingest/events), then project the ledger as a worker would."""
    answer = world.http.post(
        "/ingest/events", json=events, headers={"Authorization": f"Bearer {world.tokens['device']}"}
    )
    assert answer.status_code == 200 and answer.json()["rejected"] == 0, answer.text
    store = world.services.graph
    directory = DeviceDirectory(store)
    alarms = AlarmEngine(world.services.engine, store, directory)
    Projector(world.services.engine, store, directory=directory, alarms=alarms).project_pending()


def smoke(device: Device, status: str, minute: int) -> dict[str, Any]:
    at = datetime(2026, 6, 1, 9, tzinfo=UTC) + timedelta(minutes=minute)
    return {"kind": "smoke", "device": device.code, "ts": at.isoformat(), "status": status}


def test_a_subscriber_gets_the_alarm_ingest_raised_and_its_workflow(
    world: World,
    detector: Device,
) -> None:
    with subscribe(world, ALARMS, bearer(world, "grid_worker")) as socket:
        wait_for_feed(world)
        push(world, [smoke(detector, "alarm", 0)])
        opened = next_message(socket)
        assert opened["type"] == "next", opened
        alarm = opened["payload"]["data"]["alarmChanged"]
        assert alarm["change"] == "opened" and alarm["alarm"]["kind"] == "smoke"
        assert alarm["alarm"]["status"] == "open" and alarm["alarm"]["count"] == 1
        uid = alarm["alarm"]["uid"]

        push(world, [smoke(detector, "alarm", 1)])
        repeated = next_message(socket)["payload"]["data"]["alarmChanged"]
        assert (repeated["change"], repeated["alarm"]["uid"], repeated["alarm"]["count"]) == ("repeated", uid, 2)

        listed = world.gql("analyst", '{ alarms(kinds: ["smoke"], liveOnly: true) { uid status nextStatuses } }')
        assert listed["data"]["alarms"] == [{"uid": uid, "status": "open", "nextStatuses": ["acknowledged"]}]

        move = """mutation($u: ID!, $to: AlarmStatus!) { transitionAlarm(uid: $u, to: $to) { __typename
          ... on AlarmState { status handler } ... on IllegalTransitionProblem { current allowed } } }"""
        assert codes(world.gql("analyst", move, {"u": uid, "to": "ACKNOWLEDGED"})) == ["FORBIDDEN"]
        acked = world.gql("grid_worker", move, {"u": uid, "to": "ACKNOWLEDGED"})["data"]["transitionAlarm"]
        assert acked == {"__typename": "AlarmState", "status": "acknowledged", "handler": "gridworker1"}
        illegal = world.gql("grid_worker", move, {"u": uid, "to": "CLOSED"})["data"]["transitionAlarm"]
        assert illegal == {
            "__typename": "IllegalTransitionProblem",
            "current": "acknowledged",
            "allowed": ["dispatched", "resolved"],
        }
        moved = next_message(socket)["payload"]["data"]["alarmChanged"]
        assert (moved["change"], moved["alarm"]["status"]) == ("transition", "acknowledged")


def test_an_event_subscription_follows_one_device(world: World, detector: Device) -> None:
    other = next(d for d in world.nodes("Device") if d.category == "smoke_detector" and d.uid != detector.uid)
    query = "subscription($d: String!) { events(device: $d) { id kind device payload } }"
    with subscribe(world, query, {"token": world.tokens["analyst"]}, {"d": detector.code}) as socket:
        time.sleep(0.5)  # the subscription notes the ledger's newest row before anything is sent
        push(world, [smoke(other, "normal", 30), smoke(detector, "normal", 31)])
        event = next_message(socket)["payload"]["data"]["events"]
        assert event["device"] == detector.code and event["payload"]["status"] == "normal"


def test_a_websocket_with_a_bad_token_is_closed_4403(world: World) -> None:
    with connect(ws_url(world), subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}}))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_a_role_without_alarms_cannot_subscribe_to_them(world: World) -> None:
    with subscribe(world, ALARMS, bearer(world, "viewer")) as socket:
        message = next_message(socket, timeout=5)
    assert message["type"] == "error" or codes(message["payload"]) == ["FORBIDDEN"], message
