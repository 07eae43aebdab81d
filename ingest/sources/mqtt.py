"""The MQTT source: event messages from devices, QoS 1, a persistent session, acknowledged only once ledgered.

Topic layout: ``{root}/{estate}/{device_kind}/{device_id}/events``; the payload is one JSON event or
a JSON array of events (batching many events per message is what makes thousands of events a
second possible at QoS 1). An event without `device` takes the topic's `device_id`. Each
connection uses a fixed client id, `clean_start=False` and a session expiry, so the broker keeps
the subscription and unacknowledged messages while the worker is down; acks are manual (paho 2.x
``manual_ack=True``) and sent by :meth:`MqttSource.ack` after the ledger commit, so a worker
killed mid-batch gets the batch again. With ``mqtt_connections > 1`` the connections share one
MQTT 5 shared subscription (``$share/{group}/…``) and the broker spreads messages across them.
Commands (linkage) go out on ``{root}/{estate}/commands/{device_id}``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from graph.errors import TwinhoodError, ValidationError
from ingest.settings import IngestSettings

log = logging.getLogger(__name__)


class BrokerUnavailable(TwinhoodError):
    """The MQTT broker could not be reached or refused us."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"MQTT broker {url}: {reason}")


@dataclass(frozen=True)
class Message:
    """One received message: which connection got it (for the ack), its topic, payload and arrival time."""

    connection: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    received: float  # time.time()

    @property
    def device_id(self) -> str | None:
        """The `{device_id}` level of an events topic."""
        parts = self.topic.split("/")
        return parts[-2] if len(parts) >= 5 and parts[-1] == "events" else None


def command_topic(settings: IngestSettings, estate: str, device_id: str) -> str:
    """Return the topic commands to one device go out on."""
    return f"{settings.mqtt_topic_root}/{estate}/commands/{device_id}"


class MqttSource:
    """Subscriber connections to the broker; received messages wait in a queue until taken and acked."""

    def __init__(self, settings: IngestSettings, *, client_id: str | None = None, subscribe: bool = True) -> None:
        if settings.mqtt_connections > 1 and not settings.mqtt_shared_group:
            raise ValidationError(
                "mqtt_connections",
                settings.mqtt_connections,
                "needs mqtt_shared_group, or every connection gets every message",
            )
        self.settings = settings
        self.subscribe = subscribe
        self.client_id = client_id or settings.mqtt_client_id
        self.received: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._connected = [threading.Event() for _ in range(settings.mqtt_connections)]
        self._subscribed = [threading.Event() for _ in range(settings.mqtt_connections)]
        self.clients = [self._client(i) for i in range(settings.mqtt_connections)]

    def _client(self, index: int) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self.client_id}-{index}",
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if self.settings.mqtt_username:
            client.username_pw_set(self.settings.mqtt_username, self.settings.mqtt_password)
        if self.settings.mqtt_url.startswith("mqtts://"):
            client.tls_set()
        client.max_inflight_messages_set(self.settings.mqtt_receive_maximum)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 10)

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
            if reason.is_failure:
                log.error("mqtt connect refused", extra={"client": index, "reason": str(reason)})
                return
            self._connected[index].set()
            if self.subscribe:
                c.subscribe(self.settings.events_topic, qos=1)
            else:
                self._subscribed[index].set()

        def on_subscribe(_c: mqtt.Client, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any) -> None:
            if any(r.is_failure for r in reasons):
                log.error("mqtt subscribe refused", extra={"client": index, "reasons": [str(r) for r in reasons]})
                return
            self._subscribed[index].set()

        def on_message(_c: mqtt.Client, _u: Any, m: mqtt.MQTTMessage) -> None:
            self.received.put(Message(index, m.mid, m.qos, m.topic, bytes(m.payload), time.time()))

        def on_disconnect(_c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
            self._connected[index].clear()
            log.warning("mqtt disconnected", extra={"client": index, "reason": str(reason)})

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.on_disconnect = on_disconnect
        return client

    def connect(self, timeout_s: float = 10.0) -> None:
        """Connect every client with a persistent session and wait until each has subscribed (if it subscribes)."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.settings.mqtt_session_expiry_s
        properties.ReceiveMaximum = self.settings.mqtt_receive_maximum
        for client in self.clients:
            try:
                client.connect(
                    self.settings.mqtt_host,
                    self.settings.mqtt_port,
                    keepalive=30,
                    clean_start=False,
                    properties=properties,
                )
            except OSError as exc:
                raise BrokerUnavailable(self.settings.mqtt_url, str(exc)) from exc
            client.loop_start()
        deadline = time.monotonic() + timeout_s
        for done in self._subscribed:
            if not done.wait(max(0.0, deadline - time.monotonic())):
                self.close()
                raise BrokerUnavailable(self.settings.mqtt_url, f"no subscription to {self.settings.events_topic}")
        if self.subscribe:
            log.info("mqtt subscribed", extra={"topic": self.settings.events_topic, "connections": len(self.clients)})
        else:
            log.info("mqtt connected to publish", extra={"client": self.client_id})

    def take(self, max_events: int, max_wait_s: float, count: Callable[[Message], int] | None = None) -> list[Message]:
        """Return received messages: wait up to `max_wait_s` for the first, then until `max_events` are gathered.

        `count(message)` tells how many events a message holds (1 each by default).
        """
        out: list[Message] = []
        events = 0
        deadline = time.monotonic() + max_wait_s
        while events < max_events:
            remaining = deadline - time.monotonic()
            try:
                message = self.received.get(timeout=remaining) if remaining > 0 else self.received.get_nowait()
            except queue.Empty:
                break
            out.append(message)
            events += count(message) if count else 1
        return out

    def ack(self, messages: list[Message]) -> None:
        """Acknowledge messages to the broker (call only after they are safely ledgered)."""
        for m in messages:
            if m.qos > 0:
                self.clients[m.connection].ack(m.mid, m.qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> bool:
        """Publish a message (a linkage command) on the first connection; return whether the client took it."""
        info = self.clients[0].publish(topic, payload, qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.error("mqtt publish failed", extra={"topic": topic, "rc": int(info.rc)})
            return False
        return True

    def close(self) -> None:
        """Disconnect every client; unacknowledged messages stay with the broker for the next session."""
        for client in self.clients:
            client.disconnect()
            client.loop_stop()
