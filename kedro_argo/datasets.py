"""Which datasets travel between steps: one rule, used at compile time and in the pod.

Exchanged = free (unknown to the catalog: ``name in catalog`` is the only test that also sees
dataset-factory matches, which ``catalog.filter()``/``keys()`` never list) or declared as a
MemoryDataset. Parameters never. Light on imports: the in-pod entrypoint uses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MEMORY_TYPES = frozenset(
    {"kedro.io.memory_dataset.MemoryDataset", "kedro.io.shared_memory_dataset.SharedMemoryDataset"}
)


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
