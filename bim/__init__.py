"""IFC building models into the graph and onto the map, and 3D scenes of them (not built yet)."""

__all__: list[str] = []
