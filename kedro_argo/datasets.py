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


class NoFileError(ValueError):
    """A declared dataset that does not save to a file (a table, an API)."""


def dataset_file(dataset: Any, *, saving: bool) -> tuple[Any, str]:
    """The filesystem and path a file dataset loads from (``saving=False``: for a versioned
    one, the version it loads) or saves to (for a versioned one, this run's save version).
    Reads Kedro's file-dataset attributes; :class:`NoFileError` for a dataset without them."""
    from kedro.io.core import AbstractVersionedDataset, get_filepath_str

    filesystem = getattr(dataset, "_fs", None)
    filepath = getattr(dataset, "_filepath", None)
    if filesystem is None or filepath is None:
        raise NoFileError(f"{type(dataset).__name__} does not save to a file")
    if isinstance(dataset, AbstractVersionedDataset) and dataset._version is not None:
        if saving:
            filepath = dataset._get_versioned_path(dataset.resolve_save_version())
        else:
            filepath = dataset._get_load_path()
    return filesystem, get_filepath_str(filepath, getattr(dataset, "_protocol", "file"))
