"""Parameter sweeps: which values, which branches, which nodes fan out. Pure.

A sweep runs part of the pipeline once per combination of parameter values (the grid of every
swept key's values, in key order) inside one workflow. The nodes that load a swept parameter,
and every node downstream of them, run once per branch; the nodes upstream (and anything
independent of the swept parameters) run once and are shared by the branches.

A branch has a *label* made of its values (``test_size-0.3``, or ``alpha-0.1_beta-2`` for a
grid), safe as a path segment: in-memory data of a branch lives under its own prefix of the
run, its versioned datasets get their own save version, and ``${argo:sweep}`` in a catalog
path resolves to it (see ``docs/sweeps.md``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kedro_argo.compiler.facts import NodeSpec, transcoding_base
from kedro_argo.errors import CompileError

__all__ = [
    "MAX_BRANCHES",
    "Branch",
    "Sweep",
    "build_sweep",
    "parse_sweep_options",
    "swept_nodes",
]

#: Branches of one workflow at most: each is a subtree of pods (Argo itself has no cap, but
#: the workflow object and the UI do).
MAX_BRANCHES = 1000
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LABEL_LIMIT = 100


@dataclass(frozen=True)
class Branch:
    """One combination of values: ``values`` follows :attr:`Sweep.keys`."""

    label: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Sweep:
    """The grid: swept parameter keys (dotted, as in ``--params``) and one branch per
    combination of their values."""

    keys: tuple[str, ...]
    branches: tuple[Branch, ...]

    def assignments(self, branch: Branch) -> dict[str, Any]:
        return dict(zip(self.keys, branch.values, strict=True))


def parse_sweep_options(texts: Iterable[str]) -> dict[str, list[Any]]:
    """``--sweep key=v1,v2`` (or ``key=[v1, v2]``, a YAML list) options into key → values;
    values are YAML, read like ``--params`` values. ``ValueError`` with the option's text."""
    import yaml

    sweeps: dict[str, list[Any]] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            raise ValueError(f"{text!r} must look like KEY=VALUE1,VALUE2 (or KEY=[V1, V2])")
        if key in sweeps:
            raise ValueError(f"{key!r} is swept twice: give all its values in one --sweep")
        stripped = raw.strip()
        try:
            if stripped.startswith("["):
                values = yaml.safe_load(stripped)
                if not isinstance(values, list):
                    raise ValueError
            else:
                values = [yaml.safe_load(part) if part.strip() else "" for part in raw.split(",")]
        except (yaml.YAMLError, ValueError):
            raise ValueError(f"{text!r}: the values are not a YAML list") from None
        sweeps[key] = values
    return sweeps


def build_sweep(sweeps: Mapping[str, Sequence[Any]]) -> Sweep | None:
    """The grid of ``sweeps`` (``None`` when there is nothing to sweep)."""
    if not sweeps:
        return None
    keys = tuple(sweeps)
    for key, values in sweeps.items():
        if not values:
            raise CompileError(f"Sweep of '{key}' has no values: give at least one.")
        texts = [_value_text(v) for v in values]
        duplicates = sorted({t for t in texts if texts.count(t) > 1})
        if duplicates:
            raise CompileError(
                f"Sweep of '{key}' lists {', '.join(duplicates)} more than once: each value "
                "makes one branch."
            )
    count = 1
    for values in sweeps.values():
        count *= len(values)
    if count > MAX_BRANCHES:
        raise CompileError(
            f"The sweep makes {count} branches ({' x '.join(str(len(v)) for v in sweeps.values())}"
            f"), more than {MAX_BRANCHES}: sweep fewer values or split it into several workflows."
        )
    short = _short_keys(keys)
    labels: dict[str, int] = {}
    branches = []
    for combination in itertools.product(*(sweeps[k] for k in keys)):
        label = "_".join(
            f"{name}-{_value_text(value)}" for name, value in zip(short, combination, strict=True)
        )
        label = _LABEL_UNSAFE.sub("-", label).strip("-.") or "branch"
        label = label[:_LABEL_LIMIT]
        labels[label] = labels.get(label, 0) + 1
        if labels[label] > 1:
            label = f"{label}-{labels[label]}"
        branches.append(Branch(label, tuple(combination)))
    return Sweep(keys, tuple(branches))


def _short_keys(keys: Sequence[str]) -> list[str]:
    """The last segment of each key, longer where two keys would read the same."""
    depth = 1
    while True:
        short = [".".join(k.split(".")[-depth:]) for k in keys]
        if len(set(short)) == len(short) or depth > max(k.count(".") + 1 for k in keys):
            return short
        depth += 1


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def uses_parameter(dataset: str, key: str) -> bool:
    """Whether a node input ``dataset`` gives the node the value of parameter ``key``:
    ``parameters``, ``params:<key>``, a parent (``params:model_options`` for
    ``model_options.test_size``) or a child of it."""
    if dataset == "parameters":
        return True
    if not dataset.startswith("params:"):
        return False
    used = dataset[len("params:") :]
    return used == key or key.startswith(used + ".") or used.startswith(key + ".")


def swept_nodes(nodes: Sequence[NodeSpec], keys: Iterable[str]) -> frozenset[str]:
    """Nodes that load a swept parameter, and every node downstream of them (in Kedro's
    topological order, so one pass suffices)."""
    keys = tuple(keys)
    swept: set[str] = set()
    tainted: set[str] = set()  # transcoding bases of datasets a swept node saves
    for node in nodes:
        direct = any(uses_parameter(ds, k) for ds in node.inputs for k in keys)
        if direct or any(transcoding_base(ds) in tainted for ds in node.inputs):
            swept.add(node.name)
            tainted.update(transcoding_base(ds) for ds in node.outputs)
    return frozenset(swept)
