from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.alarms import RULES, TRANSITIONS, AlarmBus, AlarmChange, AlarmRecord, IllegalTransition, Rule, move, step
from ingest.events import Event, parse_event

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SMOKE: Rule = RULES["smoke"][0]
HEAT: Rule = RULES["heat"][0]
DEVICES = ("D1", "D2")


def reading(device: str, n: int, status: str) -> Event:
    return parse_event(
        {"kind": "smoke", "device": device, "ts": (T0 + timedelta(seconds=n)).isoformat(), "status": status}
    )


def heat(n: int, celsius: float) -> Event:
    return parse_event(
        {"kind": "heat", "device": "H1", "ts": (T0 + timedelta(seconds=n)).isoformat(), "temperature": celsius}
    )


def run(events: list[Event], rule: Rule) -> tuple[list[AlarmRecord], list[str | None]]:
    alarm: AlarmRecord | None = None
    alarms: dict[str, AlarmRecord] = {}
    changes: list[str | None] = []
    for event in events:
        alarm, change = step(alarm, rule, event, rule.verdict(event), condition=event.device, entity="unit:U")
        if alarm is not None:
            alarms[alarm.uid] = alarm
        changes.append(change)
    return list(alarms.values()), changes


def test_repeated_smoke_alarm_is_one_alarm_with_count() -> None:
    events = [reading("D1", n, "alarm") for n in range(50)] + [reading("D1", 50 + n, "normal") for n in range(3)]
    (alarm,), changes = run(events, SMOKE)
    assert alarm.count == 50 and alarm.status == "cleared" and alarm.cleared_at == T0 + timedelta(seconds=52)
    assert changes[:2] == ["opened", "repeated"] and changes[-3:] == [None, None, "cleared"]


def test_a_reading_inside_the_hysteresis_band_neither_raises_nor_clears() -> None:
    alarms, changes = run([heat(0, 60), heat(1, 55), heat(2, 55), heat(3, 55), heat(4, 49), heat(5, 45)], HEAT)
    assert changes == ["opened", None, None, None, None, None]
    alarms, changes = run([heat(0, 60), heat(1, 49), heat(2, 58), heat(3, 49), heat(4, 48), heat(5, 47)], HEAT)
    assert changes == ["opened", None, "repeated", None, None, "cleared"]
    assert alarms[0].count == 2


def test_illegal_transitions_are_refused_with_what_is_allowed() -> None:
    (alarm,), _ = run([reading("D1", 0, "alarm")], SMOKE)
    with pytest.raises(IllegalTransition, match=r"is open; it cannot become closed \(allowed: acknowledged\)"):
        move(alarm, "closed", "guard", T0)


events_and_moves = st.lists(
    st.one_of(
        st.tuples(st.just("reading"), st.sampled_from(DEVICES), st.sampled_from(["alarm", "normal"])),
        st.tuples(st.just("move"), st.sampled_from(DEVICES), st.sampled_from(sorted(TRANSITIONS))),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(events_and_moves)
def test_no_condition_ever_has_two_live_alarms_and_illegal_moves_are_refused(ops: list[tuple[str, str, str]]) -> None:
    records: dict[str, AlarmRecord] = {}
    latest: dict[str, str] = {}
    for n, (op, device, arg) in enumerate(ops):
        current = records.get(latest.get(device, ""))
        if op == "reading":
            event = reading(device, n, arg)
            after, _ = step(current, SMOKE, event, SMOKE.verdict(event), condition=device, entity="unit:U")
            if after is not None:
                records[after.uid] = after
                latest[device] = after.uid
        elif current is not None:
            if arg in TRANSITIONS[current.status]:
                moved = move(current, arg, "h", T0 + timedelta(seconds=n))
                assert moved.status == arg and moved.history[-1]["to"] == arg
                records[moved.uid] = moved
            else:
                with pytest.raises(IllegalTransition):
                    move(current, arg, "h", T0)
        for d in DEVICES:
            live = [r for r in records.values() if r.condition == d and r.live]
            assert len(live) <= 1
        for r in records.values():
            assert r.count >= 1 and 1 <= r.severity <= 4
            assert r.status != "closed" or r.closed_at is not None


def test_the_bus_streams_changes_to_async_subscribers_from_other_threads() -> None:
    (alarm,), _ = run([reading("D1", 0, "alarm")], SMOKE)
    bus = AlarmBus()

    async def listen() -> list[str]:
        subscription = bus.subscribe()
        sender = threading.Thread(
            target=bus.publish, args=([AlarmChange("opened", alarm), AlarmChange("repeated", alarm)],)
        )
        sender.start()
        got: list[str] = [(await anext(subscription)).change, (await anext(subscription)).change]
        sender.join()
        subscription.close()
        bus.publish([AlarmChange("cleared", alarm)])  # no longer delivered, and no error
        return got

    assert asyncio.run(listen()) == ["opened", "repeated"]
