"""Event kinds, defined once: one pydantic model per kind and a registry of what each kind means.

Every event carries `id` (the producer's, or derived from its content so a resend gets the same
one), `device` (a device code; a `device:` uid is accepted and shortened), `ts` (ISO-8601 with a
zone), `kind` and `schema_version`, plus the fields of its kind. :data:`KINDS` maps each kind to a
:class:`KindSpec`: its model, unit, default alarm severity (1 = most severe) and how long the
ledger keeps it. :func:`parse_event` turns raw input into an :class:`Event` or raises
:class:`graph.errors.ValidationError` naming the field and the reason — never anything else.

Adding a kind is adding one model decorated with :func:`register`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Final, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from graph.codes import check_plate
from graph.errors import ValidationError

SCHEMA_VERSION = 1
MAX_EVENT_BYTES = 64 * 1024
"""An event larger than this (as JSON) is rejected: sensor events are small; a big one is a bug or abuse."""
MAX_FUTURE = timedelta(days=1)
"""How far ahead of the receiver's clock an event's timestamp may be (device clocks drift)."""

EventId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")]
Reading = Annotated[float, Field(allow_inf_nan=False)]
AlarmState = Literal["alarm", "normal"]


class Event(BaseModel):
    """What every event has: id, device, timestamp with zone, kind and schema version."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    kind: str
    id: EventId = ""  # empty means "derive from the content"
    device: str = Field(min_length=1, max_length=128, pattern=r"^[^\s]+$")
    ts: AwareDatetime
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)

    payload_fields: ClassVar[tuple[str, ...]] = ()

    @field_validator("device", mode="before")
    @classmethod
    def _device_code(cls, value: Any) -> Any:
        return value.removeprefix("device:") if isinstance(value, str) else value

    @field_validator("ts")
    @classmethod
    def _not_in_future(cls, value: datetime) -> datetime:
        if value - datetime.now(UTC) > MAX_FUTURE:
            raise ValueError(f"is more than {MAX_FUTURE} in the future")
        return value

    @model_validator(mode="after")
    def _derive_id(self) -> Event:
        if not self.id:
            self.__dict__["id"] = derive_id(self)
        return self

    def payload(self) -> dict[str, Any]:
        """Return the kind's own fields (not id, device, ts, kind, schema_version), as JSON values."""
        return self.model_dump(mode="json", by_alias=True, exclude={"id", "device", "ts", "kind", "schema_version"})

    @property
    def value(self) -> float | None:
        """The reading an alarm threshold applies to, if the kind has one."""
        return None

    @property
    def unit(self) -> str | None:
        return KINDS[self.kind].unit

    @property
    def state(self) -> str | None:
        """The state an alarm rule watches (`alarm`/`normal`, `open`/`closed`), if the kind has one."""
        return None


def derive_id(event: Event) -> str:
    """Return a deterministic id from device, kind, timestamp (as UTC) and payload: a resend gets the same id."""
    canonical = json.dumps(
        [event.device, event.kind, event.ts.astimezone(UTC).isoformat(), event.payload()],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "h" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class KindSpec:
    """What one event kind means: its model, unit, default severity, ledger retention, and whether it is telemetry.

    Telemetry is what devices report periodically (readings, states): the ledger keeps every one,
    the graph keeps a roll-up on the Device and an Event node only for a reading that opens or
    clears an alarm.
    """

    kind: str
    model: type[Event]
    unit: str | None
    severity: int
    retention_days: int
    description: str
    telemetry: bool = False


KINDS: dict[str, KindSpec] = {}
E = TypeVar("E", bound=type[Event])


def register(
    kind: str, *, unit: str | None = None, severity: int, retention_days: int, telemetry: bool = False
) -> Callable[[E], E]:
    """Register an event model under `kind` (a class decorator)."""
    if not 1 <= severity <= 4:
        raise ValueError(f"severity must be 1..4, got {severity}")

    def decorate(model: E) -> E:
        if kind in KINDS:
            raise ValueError(f"event kind {kind!r} is registered twice")
        KINDS[kind] = KindSpec(kind, model, unit, severity, retention_days, (model.__doc__ or "").strip(), telemetry)
        return model

    return decorate


# --- security ---------------------------------------------------------------------------------


@register("face_capture", severity=4, retention_days=180)
class FaceCapture(Event):
    """A face camera captured a face: a matched person's uid, or only the camera's face id (a stranger)."""

    kind: Literal["face_capture"] = "face_capture"
    person: str | None = Field(default=None, max_length=64, description="person uid or code from the face library")
    face_id: str | None = Field(default=None, max_length=128, description="the camera's id of an unmatched face")
    similarity: float | None = Field(default=None, ge=0, le=1)
    image: str | None = Field(default=None, max_length=512, description="reference to the snapshot, not the image")

    @model_validator(mode="after")
    def _someone(self) -> FaceCapture:
        if not self.person and not self.face_id:
            raise ValueError("needs person or face_id")
        return self


@register("plate_read", severity=4, retention_days=180)  # ≥ 180 days, 6.2.1.4 c
class PlateRead(Event):
    """A plate camera read a vehicle plate at a gate or car park entrance, going in or out."""

    kind: Literal["plate_read"] = "plate_read"
    plate: str
    direction: Literal["in", "out"]
    site: Literal["gate", "car_park"] = "gate"
    confidence: float | None = Field(default=None, ge=0, le=1)

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        return check_plate(value)


@register("access_open", severity=4, retention_days=180)
class AccessOpen(Event):
    """An access-control door opened for someone: by person uid or card id, into a house or unit."""

    kind: Literal["access_open"] = "access_open"
    method: Literal["card", "app", "face", "qr", "password"]
    person: str | None = Field(default=None, max_length=64)
    card: str | None = Field(default=None, max_length=64)
    house: str | None = Field(default=None, pattern=r"^house:\S+$", description="house uid the person is going to")


@register("door_forced", severity=2, retention_days=365)
class DoorForced(Event):
    """A door was forced open (or returned to normal)."""

    kind: Literal["door_forced"] = "door_forced"
    status: AlarmState = "alarm"

    @property
    def state(self) -> str | None:
        return self.status


@register("door_left_open", severity=4, retention_days=365)
class DoorLeftOpen(Event):
    """A door stayed open longer than allowed (or was closed again)."""

    kind: Literal["door_left_open"] = "door_left_open"
    status: AlarmState = "alarm"
    open_s: float | None = Field(default=None, ge=0, le=7 * 86400)

    @property
    def state(self) -> str | None:
        return self.status


@register("perimeter_intrusion", severity=2, retention_days=365)
class PerimeterIntrusion(Event):
    """The perimeter fence sensed an intrusion (or is quiet again)."""

    kind: Literal["perimeter_intrusion"] = "perimeter_intrusion"
    status: AlarmState = "alarm"
    zone: str | None = Field(default=None, max_length=64)

    @property
    def state(self) -> str | None:
        return self.status


# --- fire -------------------------------------------------------------------------------------


@register("smoke", unit="%/m", severity=1, retention_days=365, telemetry=True)
class Smoke(Event):
    """A smoke detector's state, with its obscuration reading when it sends one."""

    kind: Literal["smoke"] = "smoke"
    status: AlarmState
    obscuration: Reading | None = Field(default=None, ge=0, le=100, description="%/m")

    @property
    def state(self) -> str | None:
        return self.status

    @property
    def value(self) -> float | None:
        return self.obscuration


@register("heat", unit="°C", severity=1, retention_days=365, telemetry=True)
class Heat(Event):
    """A heat detector's temperature (°C)."""

    kind: Literal["heat"] = "heat"
    temperature: Reading = Field(ge=-40, le=300)
    unit_: Literal["°C", "C", "degC"] = Field(default="°C", alias="unit")

    model_config = ConfigDict(populate_by_name=True)

    @property
    def value(self) -> float | None:
        return self.temperature


@register("gas", unit="%LEL", severity=1, retention_days=365, telemetry=True)
class Gas(Event):
    """A combustible gas detector's concentration, in ppm or %LEL (ppm is converted at 20,000 ppm = 40 %LEL)."""

    kind: Literal["gas"] = "gas"
    concentration: Reading = Field(ge=0)
    unit_: Literal["ppm", "%LEL"] = Field(alias="unit")
    gas: str = Field(default="methane", max_length=32)

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _range(self) -> Gas:
        top = 100.0 if self.unit_ == "%LEL" else 1_000_000.0
        if self.concentration > top:
            raise ValueError(f"concentration {self.concentration} {self.unit_} is above {top:g}")
        return self

    @property
    def value(self) -> float | None:
        # methane's LEL is 5 % by volume = 50,000 ppm
        return self.concentration if self.unit_ == "%LEL" else self.concentration / 500.0


@register("fire_lane_blocked", severity=3, retention_days=365)
class FireLaneBlocked(Event):
    """A fire lane camera saw the lane blocked (or clear again)."""

    kind: Literal["fire_lane_blocked"] = "fire_lane_blocked"
    status: AlarmState = "alarm"
    blocked_s: float | None = Field(default=None, ge=0)

    @property
    def state(self) -> str | None:
        return self.status


@register("fire_door_open", severity=3, retention_days=365)
class FireDoorOpen(Event):
    """A fire door was opened (it should stay closed) or closed again."""

    kind: Literal["fire_door_open"] = "fire_door_open"
    door: Literal["open", "closed"] = "open"

    @property
    def state(self) -> str | None:
        return "alarm" if self.door == "open" else "normal"


@register("hydrant_pressure", unit="MPa", severity=2, retention_days=365, telemetry=True)
class HydrantPressure(Event):
    """A hydrant's water pressure (MPa); too low means it cannot fight a fire."""

    kind: Literal["hydrant_pressure"] = "hydrant_pressure"
    pressure: Reading = Field(ge=0, le=5)
    unit_: Literal["MPa"] = Field(default="MPa", alias="unit")

    model_config = ConfigDict(populate_by_name=True)

    @property
    def value(self) -> float | None:
        return self.pressure


@register("ebike_in_building", severity=3, retention_days=365)
class EbikeInBuilding(Event):
    """An e-bike was seen entering a building entrance or a lift (6.2.2)."""

    kind: Literal["ebike_in_building"] = "ebike_in_building"
    where: Literal["entrance", "lift"] = "lift"
    plate: str | None = Field(default=None, max_length=16)


# --- public utilities -------------------------------------------------------------------------


@register("manhole", severity=3, retention_days=365)
class Manhole(Event):
    """A manhole cover's condition: tilted, opened, faulty, or normal again."""

    kind: Literal["manhole"] = "manhole"
    condition: Literal["tilt", "open", "fault", "normal"]
    tilt_deg: Reading | None = Field(default=None, ge=0, le=180)

    @property
    def state(self) -> str | None:
        return "normal" if self.condition == "normal" else "alarm"


@register("street_light_fault", severity=4, retention_days=365)
class StreetLightFault(Event):
    """A street light's lamp, terminal or cable is faulty, or normal again."""

    kind: Literal["street_light_fault"] = "street_light_fault"
    fault: Literal["lamp", "terminal", "cable", "normal"]

    @property
    def state(self) -> str | None:
        return "normal" if self.fault == "normal" else "alarm"


@register("water_tank", unit="m", severity=2, retention_days=730, telemetry=True)
class WaterTank(Event):
    """A water tank's level (m) and quality: turbidity NTU, residual chlorine mg/L, pH, conductivity µS/cm, colour."""

    kind: Literal["water_tank"] = "water_tank"
    level_m: Reading | None = Field(default=None, ge=0, le=100)
    turbidity_ntu: Reading | None = Field(default=None, ge=0, le=4000)
    chlorine_mg_l: Reading | None = Field(default=None, ge=0, le=20)
    ph: Reading | None = Field(default=None, ge=0, le=14)
    conductivity_us_cm: Reading | None = Field(default=None, ge=0, le=200_000)
    colour_pt_co: Reading | None = Field(default=None, ge=0, le=500, description="platinum-cobalt colour units")

    @model_validator(mode="after")
    def _something(self) -> WaterTank:
        if all(getattr(self, f) is None for f in WATER_QUALITY):
            raise ValueError("needs at least one reading")
        return self

    @property
    def value(self) -> float | None:
        return self.level_m


WATER_QUALITY = ("level_m", "turbidity_ntu", "chlorine_mg_l", "ph", "conductivity_us_cm", "colour_pt_co")


@register("elevator_fault", severity=2, retention_days=730)
class ElevatorFault(Event):
    """A lift reports a fault (a code, whether someone is trapped) or normal operation again."""

    kind: Literal["elevator_fault"] = "elevator_fault"
    status: AlarmState = "alarm"
    code: str | None = Field(default=None, max_length=32)
    trapped: bool = False

    @property
    def state(self) -> str | None:
        return self.status


@register("heating", unit="MPa", severity=3, retention_days=730, telemetry=True)
class Heating(Event):
    """A heating substation's supply pressure (MPa), temperature (°C) and flow (m³/h)."""

    kind: Literal["heating"] = "heating"
    pressure_mpa: Reading | None = Field(default=None, ge=0, le=5)
    supply_c: Reading | None = Field(default=None, ge=-20, le=200)
    return_c: Reading | None = Field(default=None, ge=-20, le=200)
    flow_m3_h: Reading | None = Field(default=None, ge=0, le=10_000)

    @property
    def value(self) -> float | None:
        return self.pressure_mpa


METER_UNITS: dict[str, str] = {"water": "m³", "power": "kWh", "gas": "m³", "heat": "GJ"}
_UNIT_SPELLINGS = {"m3": "m³", "m^3": "m³", "kwh": "kWh", "gj": "GJ"}


@register("meter_reading", severity=4, retention_days=1095, telemetry=True)
class MeterReading(Event):
    """A cumulative meter reading: water m³, power kWh, gas m³ or heat GJ."""

    kind: Literal["meter_reading"] = "meter_reading"
    meter: Literal["water", "power", "gas", "heat"]
    reading: Reading = Field(ge=0, le=1e9)
    unit_: str = Field(alias="unit")

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _unit_matches_meter(self) -> MeterReading:
        unit = _UNIT_SPELLINGS.get(self.unit_.lower(), self.unit_)
        if unit != METER_UNITS[self.meter]:
            raise ValueError(f"a {self.meter} meter reads in {METER_UNITS[self.meter]}, not {self.unit_!r}")
        self.__dict__["unit_"] = unit
        return self

    @property
    def value(self) -> float | None:
        return self.reading

    @property
    def unit(self) -> str | None:
        return self.unit_


# --- environment and the rest -----------------------------------------------------------------


@register("environment", severity=4, retention_days=365, telemetry=True)
class Environment(Event):
    """Environment readings: noise dB, PM2.5 µg/m³, temperature °C, humidity %, pressure hPa, wind."""

    kind: Literal["environment"] = "environment"
    noise_db: Reading | None = Field(default=None, ge=0, le=194)
    pm25_ug_m3: Reading | None = Field(default=None, ge=0, le=2000)
    temperature_c: Reading | None = Field(default=None, ge=-60, le=60)
    humidity_pct: Reading | None = Field(default=None, ge=0, le=100)
    pressure_hpa: Reading | None = Field(default=None, ge=800, le=1100)
    wind_speed_m_s: Reading | None = Field(default=None, ge=0, le=75)
    wind_direction_deg: Reading | None = Field(default=None, ge=0, le=360)

    @property
    def value(self) -> float | None:
        return self.pm25_ug_m3


@register("falling_object", severity=2, retention_days=730)
class FallingObject(Event):
    """A camera watching a façade saw something fall from height (8.2.1.2.3)."""

    kind: Literal["falling_object"] = "falling_object"
    floor: int | None = Field(default=None, ge=1, le=200)
    clip: str | None = Field(default=None, max_length=512)


@register("report", severity=3, retention_days=1095)
class Report(Event):
    """A report by a citizen or grid worker, with or without a device (an app)."""

    kind: Literal["report"] = "report"
    device: str = Field(default="app", min_length=1, max_length=128, pattern=r"^[^\s]+$")
    reporter_role: Literal["citizen", "grid_worker"]
    reporter: str | None = Field(default=None, max_length=64, description="person uid or code")
    category: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=4000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)


# --- parsing ----------------------------------------------------------------------------------


def _reject(field: str, value: Any, reason: str) -> ValidationError:
    return ValidationError(field, value if not isinstance(value, (bytes, str)) else value[:200], reason)


def _decode(raw: bytes | str) -> Any:
    if len(raw) > MAX_EVENT_BYTES:
        raise _reject("payload", f"{len(raw)} bytes", f"is larger than {MAX_EVENT_BYTES} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _reject("payload", raw, f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise _reject("payload", raw, "is nested too deeply") from None


_NUL_ESCAPED: Final = "\\u0000"
"""How JSON text writes a NUL character: what to look for before walking an event for one."""


def _escapes_nul(raw: bytes | str) -> bool:
    return _NUL_ESCAPED.encode() in raw if isinstance(raw, bytes) else _NUL_ESCAPED in raw


def nul_field(data: Any, path: str = "") -> str | None:
    """Return the dotted path of the first key or text holding a NUL character (escaped), or None."""
    if isinstance(data, str):
        return path if "\x00" in data else None
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        here = f"{path}.{key}" if path else str(key)
        if "\x00" in here:
            return here.replace("\x00", _NUL_ESCAPED)
        if (found := nul_field(value, here)) is not None:
            return found
    return None


def parse_event(raw: dict[str, Any] | bytes | str, *, small: bool = False) -> Event:
    """Return the event `raw` describes, or raise ValidationError naming the field and the reason.

    `small` says a dict came from JSON text no larger than MAX_EVENT_BYTES and without an escaped
    NUL character, so neither is looked for again. Text holding a NUL is refused: PostgreSQL can
    store it neither in the ledger nor in a dead letter's columns.
    """
    data = _decode(raw) if isinstance(raw, (bytes, str)) else raw
    if not isinstance(data, dict):
        raise _reject("payload", type(data).__name__, "must be a JSON object")
    suspect = isinstance(raw, (bytes, str)) and _escapes_nul(raw)
    if not small and not isinstance(raw, (bytes, str)):
        try:
            text = json.dumps(data, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError) as exc:
            raise _reject("payload", "…", f"cannot be encoded as JSON: {exc}") from None
        if len(text) > MAX_EVENT_BYTES:
            raise _reject("payload", f"{len(text)} bytes", f"is larger than {MAX_EVENT_BYTES} bytes")
        suspect = _NUL_ESCAPED in text
    if suspect and (where := nul_field(data)) is not None:
        raise _reject(where, None, "must not contain NUL characters")
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        raise _reject("kind", kind, "is missing" if kind is None else "must be a non-empty string")
    spec = KINDS.get(kind)
    if spec is None:
        raise _reject("kind", kind, f"is not a known event kind ({len(KINDS)} are: see ingest.events.KINDS)")
    if data.get("ts") in (None, ""):
        raise _reject("ts", None, "is missing (an ISO-8601 timestamp with a zone is required)")
    try:
        return spec.model.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or kind
        reason = first["msg"].removeprefix("Value error, ")
        if first["type"] == "timezone_aware":
            reason = "has no time zone (ISO-8601 with a zone is required, e.g. 2024-05-01T08:00:00+08:00)"
        raise _reject(field, first.get("input"), reason) from None
    except RecursionError:
        raise _reject("payload", "…", "is nested too deeply") from None


MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def parse_message(raw: bytes | str, *, device: str | None = None) -> Iterator[tuple[Any, Event | ValidationError]]:
    """Yield (raw event, Event or ValidationError) for one message: a JSON object or an array of them.

    An event object without `device` takes `device` (the topic's device id). A message that is not
    JSON at all yields one error carrying the whole message as its raw input.
    """
    if len(raw) > MAX_MESSAGE_BYTES:
        yield raw, _reject("payload", f"{len(raw)} bytes", f"message is larger than {MAX_MESSAGE_BYTES} bytes")
        return
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield raw, _reject("payload", raw, f"is not valid JSON: {exc}")
        return
    except RecursionError:
        yield raw, _reject("payload", raw, "is nested too deeply")
        return
    small = len(raw) <= MAX_EVENT_BYTES and not _escapes_nul(raw)  # then so is every event, and none holds a NUL
    for item in data if isinstance(data, list) else [data]:
        if device and isinstance(item, dict) and "device" not in item:
            item["device"] = device
        try:
            yield item, parse_event(item, small=small) if isinstance(item, dict) else parse_event(json.dumps(item))
        except ValidationError as exc:
            yield item, exc


def parse_ndjson(raw: bytes) -> Iterator[tuple[Any, Event | ValidationError]]:
    """Yield (raw line, Event or ValidationError) for each non-blank line of newline-delimited JSON."""
    for line in raw.splitlines():
        if line.strip():
            try:
                yield line, parse_event(line)
            except ValidationError as exc:
                yield line, exc
