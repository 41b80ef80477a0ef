"""A step's results for the Argo UI (argo.yml's ``ui``, the contract's ``--results``).

Once the step's nodes ran, each result parameter's value (as its node saved it, caught by
Kedro's ``after_dataset_saved`` hook) is written as JSON, and each result artifact's saved
file (the version this run saved, for a versioned dataset) is copied, to
:func:`kedro_argo.contract.result_path`, where the template's outputs read them. Nothing is
written for a step that fails. A result that cannot be written is a warning, never a failed
step: the data itself was saved.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from kedro_argo import contract
from kedro_argo.datasets import dataset_file

logger = logging.getLogger(__name__)


def results_root() -> str:
    return os.environ.get(contract.RESULTS_DIR_ENV) or contract.RESULTS_DIR


def json_text(value: Any, limit: int = contract.RESULT_PARAMETER_LIMIT) -> str:
    """``value`` as compact, sorted JSON (numpy and pandas values as plain ones); a value
    larger than ``limit`` bytes is replaced by a notice saying so."""
    try:
        text = json.dumps(
            value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain
        )
    except TypeError:  # keys of mixed types ({1: …, "b": …}) cannot be sorted: as they come
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plain)
    size = len(text.encode())
    if size > limit:
        logger.warning("Result is %d bytes, over the %d-byte limit: not shown", size, limit)
        return json.dumps(f"too large to show here: {size} bytes (see the dataset itself)")
    return text


def _plain(value: Any) -> Any:
    for method in ("to_dict", "tolist", "item"):  # pandas objects (labels kept), numpy ones
        if callable(getattr(value, method, None)):
            return getattr(value, method)()
    return str(value)


class ResultsRecorder:
    """Kedro hooks registered on the step's session: keeps the catalog and the values saved
    of the result parameters; :meth:`write` writes the results once the nodes ran."""

    def __init__(self, parameters: Sequence[str], artifacts: Sequence[str]) -> None:
        self.parameters = tuple(parameters)
        self.artifacts = tuple(artifacts)
        self.values: dict[str, Any] = {}
        #: JSON texts of results put back from the cache of a skipped step (--skip-unchanged)
        self.texts: dict[str, str] = {}
        self.catalog: Any = None

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        self.catalog = catalog

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        if dataset_name in self.parameters:
            self.values[dataset_name] = data

    def shown(self) -> dict[str, str]:
        """The JSON texts of the result parameters its nodes saved (kept by a cache entry)."""
        texts = dict(self.texts)
        for name in self.parameters:
            if name in self.values:
                try:
                    texts[name] = json_text(self.values[name])
                except (TypeError, ValueError):
                    continue
        return texts

    def write(self, root: str | None = None) -> None:
        base = root or results_root()
        for name in self.parameters:
            try:
                if name in self.values:
                    text = json_text(self.values[name])
                elif name in self.texts:  # a skipped step: the text its run showed
                    text = self.texts[name]
                else:
                    continue
                _write(contract.result_path("parameters", name, base), text)
            except Exception as exc:  # the data is saved; only its display is lost
                logger.warning("Cannot show %s in the Argo UI: %s", name, exc)
        for name in self.artifacts:
            try:
                copy_saved_file(self.catalog, name, contract.result_path("artifacts", name, base))
            except Exception as exc:  # the data is saved; only its display is lost
                logger.warning("Cannot show %s in the Argo UI: %s", name, exc)


def _write(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)


def copy_saved_file(catalog: Any, name: str, target: str) -> None:
    if catalog is None:
        raise ValueError("the catalog was not created")
    filesystem, path = dataset_file(catalog.get(name), saving=True)
    if not filesystem.exists(path):
        raise ValueError(f"{path} was not saved")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    filesystem.get(path, target, recursive=filesystem.isdir(path))
