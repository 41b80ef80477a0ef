"""Which datasets travel between steps: one rule, used at compile time and in the pod.

Exchanged = free (unknown to the catalog: ``name in catalog`` is the only test that also sees
dataset-factory matches, which ``catalog.filter()``/``keys()`` never list) or declared as a
MemoryDataset. Parameters never. Light on imports: the in-pod entrypoint uses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MEMORY_DATASET = "kedro.io.memory_dataset.MemoryDataset"
SHARED_MEMORY_DATASET = "kedro.io.shared_memory_dataset.SharedMemoryDataset"
MEMORY_TYPES = frozenset({MEMORY_DATASET, SHARED_MEMORY_DATASET})
#: Types whose data only ever exists in the process that made it.
PROCESS_ONLY_TYPES = frozenset({SHARED_MEMORY_DATASET})


def is_parameter(name: str) -> bool:
    return name == "parameters" or name.startswith("params:")


def is_exchanged(catalog: Any, name: str) -> bool:
    if is_parameter(name):
        return False
    if name not in catalog:
        return True
    try:
        return catalog.get_type(name) in MEMORY_TYPES
    except Exception:  # declared, but its package is missing here (e.g. pyspark on a laptop)
        return False


def exchanged_datasets(catalog: Any, names: Iterable[str]) -> list[str]:
    """The datasets among ``names`` that steps exchange through the object store, sorted."""
    return sorted(name for name in names if is_exchanged(catalog, name))


def is_memory_only(catalog: Any, name: str) -> bool:
    """A declared dataset whose data cannot leave its process: a ``SharedMemoryDataset``
    (a multiprocessing manager's proxy), or a ``MemoryDataset`` with ``copy_mode: assign``
    (declared so to hold objects that are not copied — Spark frames, connections, models on
    a GPU — which, as a rule, cannot be pickled either)."""
    if is_parameter(name) or name not in catalog:
        return False
    try:
        kind = catalog.get_type(name)
    except Exception:
        return False
    if kind in PROCESS_ONLY_TYPES:
        return True
    if kind != MEMORY_DATASET:
        return False
    return _copy_mode(catalog, name) == "assign"


def _copy_mode(catalog: Any, name: str) -> str | None:
    """A MemoryDataset is cheap to create, so ask the object (config or code alike)."""
    try:
        return getattr(catalog.get(name), "_copy_mode", None)
    except Exception:
        return None
