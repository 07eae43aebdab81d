"""Masking of sensitive fields: ID numbers, phone numbers and face images, unless the viewer may see them.

One policy for everything that shows a node or an event to someone (the API, profiles, exports,
tiles): a :class:`Viewer` carries permissions; a field is *sensitive* when its name says it holds
an ID number (``id_number``), a phone number (``phone``, ``owner_phone``, … any name ending in
``phone``) or a face image (``face_photo``; a vehicle's ``photo``, which shows its driver through
the windscreen or on the saddle; and a face capture's ``image``). The table of sensitive
fields per node label, :data:`SENSITIVE_FIELDS`, is derived from the ontology, so a label that gains
such a field is masked without touching this module. Each kind of field is unlocked by one
permission (:data:`PERMISSION_OF_KIND`)::

    >>> analyst = Viewer("analyst", frozenset({SEE_PHONE}))
    >>> mask_properties("Person", {"name": "张伟", "phone": "13812345678", "id_number": "110105199001010037"}, analyst)
    {'name': '张伟', 'phone': '13812345678', 'id_number': '110105********0037'}

A masked ID number keeps its first 6 characters (the area code) and last 4; a masked phone its
first 3 and last 4 (``138****5678``); a masked face reference becomes None. Values too short to
keep anything are all asterisks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from graph.ontology import NODE_TYPES

SensitiveKind = Literal["id_number", "phone", "face_photo"]

SEE_ID_NUMBER: Final = "see:id_number"
SEE_PHONE: Final = "see:phone"
SEE_FACE: Final = "see:face_photo"
ALL: Final = "*"
"""A permission that grants every other permission (held by :data:`SYSTEM`)."""

PERMISSION_OF_KIND: Final[dict[SensitiveKind, str]] = {
    "id_number": SEE_ID_NUMBER,
    "phone": SEE_PHONE,
    "face_photo": SEE_FACE,
}

EVENT_SENSITIVE_FIELDS: Final[dict[str, dict[str, SensitiveKind]]] = {
    "face_capture": {"image": "face_photo"},
}
"""Sensitive fields of event payloads, per event kind (a face capture's snapshot is a face image)."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and what they may see beyond the masked view."""

    name: str
    permissions: frozenset[str] = field(default_factory=frozenset)

    def may(self, permission: str) -> bool:
        """Return True when this viewer holds `permission` (or holds every permission)."""
        return permission in self.permissions or ALL in self.permissions


SYSTEM: Final = Viewer("system", frozenset({ALL}))
"""The viewer of internal jobs (detectors, inference, exports to trusted stores): sees everything."""
ANONYMOUS: Final = Viewer("anonymous")
"""A viewer with no permissions: every sensitive field is masked."""


def sensitive_kind(field_name: str) -> SensitiveKind | None:
    """Return which kind of sensitive value a field holds, judged by its name, or None."""
    if field_name == "id_number":
        return "id_number"
    if field_name.endswith("phone"):
        return "phone"
    if field_name in ("face_photo", "photo"):  # a vehicle's photo shows whoever drives it
        return "face_photo"
    return None


SENSITIVE_FIELDS: Final[dict[str, dict[str, SensitiveKind]]] = {
    label: kinds
    for label, model in NODE_TYPES.items()
    if (kinds := {name: kind for name in model.model_fields if (kind := sensitive_kind(name))})
}
"""Sensitive fields per node label, e.g. ``{"Person": {"id_number": "id_number", "phone": "phone", …}}``."""


def _keep(value: str, head: int, tail: int, stars: int | None = None) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (stars if stars is not None else len(value) - head - tail) + value[-tail:]


def mask_value(field_name: str, value: Any) -> Any:
    """Return the masked form of `value` held in a field named `field_name` (or of that kind).

    ID number → first 6 + asterisks + last 4; phone → first 3 + ``****`` + last 4; face → None.
    A field that is not sensitive, and None, come back unchanged.
    """
    kind = field_name if field_name in PERMISSION_OF_KIND else sensitive_kind(field_name)
    if value is None or kind is None:
        return value
    if kind == "face_photo":
        return None
    text = str(value)
    return _keep(text, 6, 4) if kind == "id_number" else _keep(text, 3, 4, stars=4)


def _mask(kinds: Mapping[str, SensitiveKind], props: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    out = dict(props)
    for name, kind in kinds.items():
        if name in out and not viewer.may(PERMISSION_OF_KIND[kind]):
            out[name] = mask_value(kind, out[name])
    return out


def mask_properties(label: str, props: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Return a copy of a `label` node's properties with what `viewer` may not see masked."""
    return _mask(SENSITIVE_FIELDS.get(label, {}), props, viewer)


def mask_payload(kind: str, payload: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Return a copy of an event payload of `kind` with what `viewer` may not see masked."""
    return _mask(EVENT_SENSITIVE_FIELDS.get(kind, {}), payload, viewer)


def masked_fields(label: str, viewer: Viewer) -> list[str]:
    """Return the fields of a `label` node that `viewer` sees masked."""
    return [n for n, k in SENSITIVE_FIELDS.get(label, {}).items() if not viewer.may(PERMISSION_OF_KIND[k])]
