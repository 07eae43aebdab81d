"""Risk detectors (:mod:`.detectors`) over event windows (:mod:`.frame`, :mod:`.context`), the simulated
month that plants their cases (:mod:`.simulate`), flags and evaluation (:mod:`.findings`), detection on the
stream (:mod:`.stream`), inferred relationships (:mod:`.inference`), holistic profiles (:mod:`.profile`),
graph algorithms (:mod:`.projection`, :mod:`.algorithms`) and graph ML (:mod:`.gnn`)."""

__all__: list[str] = []
