from __future__ import annotations

import json
import subprocess
import sys

from graph.heap import THRESHOLDS

PROBE = """
import gc, json
from graph import heap
heap.settle()
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after start-up
del a, b
print(json.dumps({"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count(), "freed": gc.collect()}))
"""


def test_a_settled_worker_keeps_start_up_out_of_the_collector_and_still_frees_later_cycles() -> None:
    # in a process of its own: settling changes the interpreter's collector for good
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    found = json.loads(out)
    assert tuple(found["threshold"]) == THRESHOLDS
    assert found["frozen"] > 10_000  # the modules' objects, not walked again
    assert found["freed"] >= 2  # the collector still runs: the two nodes of the later cycle
