"""What an import did: counts per layer, the rejected features with reasons, the uids written."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LayerCounts:
    """Features of one of our layers: `imported` (repaired ones included), `repaired`, `rejected`."""

    imported: int = 0
    repaired: int = 0
    rejected: int = 0


@dataclass
class Rejection:
    """A feature that was not imported: our `layer`, the feature's key and why."""

    layer: str
    feature: str
    reason: str


@dataclass
class ImportSummary:
    """The outcome of one `import_gis` call.

    `layers` and `uids` are keyed by our layer name; `skipped` maps each layer of the file that
    was not imported (it maps to none of ours) to the reason.
    """

    path: str
    layers: dict[str, LayerCounts]
    rejections: list[Rejection]
    uids: dict[str, list[str]]
    skipped: dict[str, str] = field(default_factory=dict)
