"""Manifests as text: stable YAML, and files written atomically (a failed command never
leaves a half-written file behind)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from kedro_argo.errors import OutputError

__all__ = ["to_yaml", "write_text"]


def _file_mode(target: Path) -> int:
    """Keep an existing file's mode; new files get the usual 0666 minus the umask."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# libyaml's emitter when PyYAML has it (5× faster on big manifests, same text); the pure
# Python one otherwise.
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_STR, _INT, _BOOL, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "bool", "null"))
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


class _Dumper(_BaseDumper):  # type: ignore[misc]
    """Block-style YAML; multi-line strings as literal blocks; never aliases.

    The plain types a manifest is made of are turned into YAML nodes directly (the generic
    representer's dispatch costs more than libyaml's whole emitter); anything else, and the
    resolution of which scalars need quotes, is PyYAML's own.
    """

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_data(self, data: Any) -> yaml.Node:
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data, style="|" if "\n" in data else None)
        if kind is dict:
            pairs = [(self.represent_data(k), self.represent_data(v)) for k, v in data.items()]
            return yaml.MappingNode(_MAP, pairs, flow_style=False)
        if kind is list:
            return yaml.SequenceNode(_SEQ, [self.represent_data(v) for v in data], flow_style=False)
        if kind is bool:
            return yaml.ScalarNode(_BOOL, "true" if data else "false")
        if kind is int:
            return yaml.ScalarNode(_INT, str(data))
        if data is None:
            return yaml.ScalarNode(_NULL, "null")
        return super().represent_data(data)


def _str_representer(dumper: Any, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(*manifests: Mapping[str, Any]) -> str:
    """Stable YAML text: key order as built, one document per manifest."""
    return yaml.dump_all(
        [dict(m) for m in manifests],
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )


def write_text(text: str, path: str | Path) -> None:
    """Write ``text`` to ``path`` atomically (``-`` means stdout).

    The text goes to a hidden temporary sibling, then replaces the target in one rename, so a
    reader never sees half a manifest. Any failure is one :class:`OutputError` naming the
    path and the reason, and leaves no temporary file behind.
    """
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"Cannot write {target}: it is a directory (give a file name).")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"Cannot write {target}: {_reason(exc)}.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).chmod(_file_mode(target))
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"Cannot write {target}: {_reason(exc)}.") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()
