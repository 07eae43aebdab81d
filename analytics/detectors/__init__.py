"""The risk detectors of REQUIREMENTS §3, one module each, behind one interface (:mod:`.base`).

:data:`DETECTORS` maps each detector's name to its class; :func:`configure` builds them with
thresholds from a mapping (a config file's content), naming any bad field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from analytics.detectors.abnormal_house import AbnormalHouse
from analytics.detectors.base import Detector, Finding, Inputs
from analytics.detectors.cloned_plate import ClonedPlate
from analytics.detectors.frequent_access import FrequentAccess
from analytics.detectors.group_rental import GroupRental
from analytics.detectors.house_occupancy import HouseOccupancy
from analytics.detectors.key_person_gathering import KeyPersonGathering
from analytics.detectors.key_unit_risk import KeyUnitRisk
from analytics.detectors.left_not_deregistered import LeftNotDeregistered
from analytics.detectors.long_in import LongIn
from analytics.detectors.long_out import LongOut
from analytics.detectors.night_active import NightActive
from analytics.detectors.unregistered_resident import UnregisteredResident
from analytics.detectors.watchlist_hit import WatchlistHit
from analytics.detectors.zombie_vehicle import ZombieVehicle
from graph.errors import ValidationError

DETECTORS: dict[str, type[Detector]] = {
    cls.name: cls
    for cls in (
        LongOut,
        LongIn,
        UnregisteredResident,
        LeftNotDeregistered,
        KeyPersonGathering,
        WatchlistHit,
        ClonedPlate,
        NightActive,
        ZombieVehicle,
        FrequentAccess,
        HouseOccupancy,
        AbnormalHouse,
        GroupRental,
        KeyUnitRisk,
    )
}


def configure(config: Mapping[str, Mapping[str, Any]] | None = None, only: Iterable[str] = ()) -> list[Detector]:
    """Build the detectors named in `only` (all when empty) with thresholds from `config` ({name: {field: value}})."""
    config = config or {}
    names = list(only) or list(DETECTORS)
    for name in [*names, *config]:
        if name not in DETECTORS:
            raise ValidationError("detector", name, f"unknown detector; known: {', '.join(DETECTORS)}")
    detectors: list[Detector] = []
    for name in names:
        try:
            detectors.append(DETECTORS[name].model_validate(dict(config.get(name, {}))))
        except PydanticValidationError as exc:
            raise ValidationError.from_pydantic(name, exc) from None
    return detectors


def run(detectors: Iterable[Detector], data: Inputs) -> list[Finding]:
    """Run each detector over the same inputs and return all findings, detector by detector."""
    return [finding for detector in detectors for finding in detector.detect(data)]


__all__ = ["DETECTORS", "Detector", "Finding", "Inputs", "configure", "run"]
