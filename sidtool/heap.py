"""How the process treats its heap while it builds a large model.

Reading a forest allocates millions of objects that live until the run ends
(principals, member DNs, permission entries). CPython's cyclic garbage collector
walks the whole older generation again and again while they pile up, so its cost
grows faster than the input (BENCHMARKS.md has the measured effect). These objects form no reference cycles that
need collecting (plain reference counting frees what is dropped), so the collector
is paused while the model is built and assessed, and what was built is then moved
out of its sight (``gc.freeze``) before it is switched back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived_allocations() -> Iterator[None]:
    """Pause the cyclic collector for the block; then freeze what survived and resume it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
