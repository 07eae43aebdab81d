"""Risk detectors, holistic profiles, graph algorithms and graph ML (not built yet)."""

__all__: list[str] = []
