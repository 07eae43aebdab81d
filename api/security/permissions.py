"""Permissions and the seed roles: what each role may do, as data.

A permission names a function, resource or API operation as ``verb:object``. The masking
permissions (``see:id_number``, ``see:phone``, ``see:face_photo``) come from
:mod:`graph.masking`, so one string both unlocks a field here and is checked there; ``*`` grants
everything. The matrix (the roles ``twinhood`` seeds into an empty database; an admin may change
them afterwards through the API or the CLI):

================  =====  ======  ===========  ================  =======  ======  ======
permission        admin  police  grid_worker  property_manager  analyst  viewer  device
================  =====  ======  ===========  ================  =======  ======  ======
read:graph          x      x         x               x             x       x
read:person         x      x         x               x             x
see:id_number       x      x
see:phone           x      x         x               x
see:face_photo      x      x
read:events         x      x         x                             x
read:alarms         x      x         x               x             x
handle:alarms       x      x         x               x
read:risk           x      x         x                             x
read:profile        x      x
read:map            x      x         x               x             x       x
read:devices        x      x         x               x             x
read:trajectories   x      x                                       x
read:statistics     x      x         x               x             x       x
write:graph         x                                x
manage:watchlist    x      x
manage:users        x
read:audit          x
ingest:events       x                                                              x
================  =====  ======  ===========  ================  =======  ======  ======
"""

from __future__ import annotations

from typing import Final

from graph.masking import ALL, SEE_FACE, SEE_ID_NUMBER, SEE_PHONE

READ_GRAPH: Final = "read:graph"
READ_PERSON: Final = "read:person"
READ_EVENTS: Final = "read:events"
READ_ALARMS: Final = "read:alarms"
HANDLE_ALARMS: Final = "handle:alarms"
READ_RISK: Final = "read:risk"
READ_PROFILE: Final = "read:profile"
READ_MAP: Final = "read:map"
READ_DEVICES: Final = "read:devices"
READ_TRAJECTORIES: Final = "read:trajectories"
READ_STATISTICS: Final = "read:statistics"
WRITE_GRAPH: Final = "write:graph"
MANAGE_WATCHLIST: Final = "manage:watchlist"
MANAGE_USERS: Final = "manage:users"
READ_AUDIT: Final = "read:audit"
INGEST_EVENTS: Final = "ingest:events"

PERMISSIONS: Final[dict[str, str]] = {
    READ_GRAPH: "read entities other than persons: places, buildings, houses, devices, vehicles, organisations",
    READ_PERSON: "read a person's data (every read is audited)",
    SEE_ID_NUMBER: "see ID numbers unmasked",
    SEE_PHONE: "see phone numbers unmasked",
    SEE_FACE: "see face images",
    READ_EVENTS: "read the events timeline and subscribe to events",
    READ_ALARMS: "read alarms and subscribe to their changes",
    HANDLE_ALARMS: "move alarms along the disposal workflow",
    READ_RISK: "read risk flags",
    READ_PROFILE: "read holistic profiles",
    READ_MAP: "read base map tiles and building scenes",
    READ_DEVICES: "read device tiles",
    READ_TRAJECTORIES: "read trajectory tiles",
    READ_STATISTICS: "read statistics",
    WRITE_GRAPH: "create, update and delete entities",
    MANAGE_WATCHLIST: "add and remove watch-list entries",
    MANAGE_USERS: "manage users, roles and permissions",
    READ_AUDIT: "read the audit log",
    INGEST_EVENTS: "push events to /ingest",
    ALL: "every permission",
}
"""Every permission the API checks, with what it allows."""

_ANALYST = {READ_GRAPH, READ_PERSON, READ_EVENTS, READ_ALARMS, READ_RISK, READ_MAP, READ_DEVICES}
SEED_ROLES: Final[dict[str, tuple[str, frozenset[str]]]] = {
    "admin": ("everything, including users and roles", frozenset({ALL})),
    "police": (
        "community police: investigations with identities unmasked",
        frozenset(
            {
                READ_GRAPH,
                READ_PERSON,
                SEE_ID_NUMBER,
                SEE_PHONE,
                SEE_FACE,
                READ_EVENTS,
                READ_ALARMS,
                HANDLE_ALARMS,
                READ_RISK,
                READ_PROFILE,
                READ_MAP,
                READ_DEVICES,
                READ_TRAJECTORIES,
                READ_STATISTICS,
                MANAGE_WATCHLIST,
            }
        ),
    ),
    "grid_worker": (
        "grid worker: residents and alarms of the grid, phones visible",
        frozenset(
            {
                READ_GRAPH,
                READ_PERSON,
                SEE_PHONE,
                READ_EVENTS,
                READ_ALARMS,
                HANDLE_ALARMS,
                READ_RISK,
                READ_MAP,
                READ_DEVICES,
                READ_STATISTICS,
            }
        ),
    ),
    "property_manager": (
        "property manager: buildings, devices and alarms; keeps the records of the estate",
        frozenset(
            {
                READ_GRAPH,
                READ_PERSON,
                SEE_PHONE,
                READ_ALARMS,
                HANDLE_ALARMS,
                READ_MAP,
                READ_DEVICES,
                READ_STATISTICS,
                WRITE_GRAPH,
            }
        ),
    ),
    "analyst": (
        "analyst: everything read-only, identities masked",
        frozenset({*_ANALYST, READ_TRAJECTORIES, READ_STATISTICS}),
    ),
    "viewer": (
        "viewer: the map, non-personal entities and statistics",
        frozenset({READ_GRAPH, READ_MAP, READ_STATISTICS}),
    ),
    "device": ("a device or service that pushes events", frozenset({INGEST_EVENTS})),
}
"""The seed roles: name → (description, permissions)."""
