"""Manifests as text: stable YAML, and files written atomically (a failed command never
leaves a half-written file behind)."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
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


@contextlib.contextmanager
def garbage_collector_paused() -> Iterator[None]:
    """For building a big manifest or its text: many small objects, all alive until the end,
    which the cyclic collector would scan again and again (up to half the time at 10,000
    nodes, more in a process that holds a Kedro project's pipelines)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_DUMP_OPTIONS: dict[str, Any] = {
    "Dumper": _Dumper,
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": True,
    "width": 1_000_000,
}


def to_yaml(*manifests: Mapping[str, Any]) -> str:
    """Stable YAML text: key order as built, one document per manifest.

    A single manifest goes through :func:`_block_yaml`, which writes the text PyYAML would
    write (tests compare the two) several times faster; anything it does not handle, and
    several documents, go to PyYAML itself.
    """
    with garbage_collector_paused():
        if len(manifests) == 1:
            fast = _block_yaml(dict(manifests[0]))
            if fast is not None:
                return fast
        return yaml.dump_all([dict(m) for m in manifests], **_DUMP_OPTIONS)


class _NotPlain(Exception):
    """A value the fast writer leaves to PyYAML."""


# Strings PyYAML writes as they are (plain) in block context: a letter, '_', or '-' + letter
# or '-' (not '---') first; then nothing that is an indicator anywhere ('#', ':', ...); single
# spaces inside, none at either end.
_PLAIN = re.compile(
    r"(?!---)(?:[A-Za-z_]|-[-A-Za-z])[-A-Za-z0-9_./=&,{}()@+%]*(?: [-A-Za-z0-9_./=&,{}()@+%]+)*"
)
# ... unless YAML 1.1 would read them as a boolean or null.
_RESOLVED = frozenset(
    [
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "null",
        "Null",
        "NULL",
    ]
)
_LINE_BREAK = re.compile("[\r\n\x85\u2028\u2029]")
_SIMPLE_KEY_LIMIT = 128  # PyYAML writes longer keys in the '? key' form


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        if _PLAIN.fullmatch(value) and value not in _RESOLVED:
            return value
        return _pyyaml_scalar(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is float:  # not cached: 0.0 == -0.0, yet PyYAML writes them apart
        return _pyyaml_scalar.__wrapped__(value)
    raise _NotPlain


@functools.lru_cache(maxsize=4096)
def _pyyaml_scalar(value: str | float) -> str:
    """PyYAML's spelling of one scalar (quoted, escaped...), when it fits on one line."""
    if isinstance(value, str) and _LINE_BREAK.search(value):
        raise _NotPlain  # a block scalar's text depends on where it stands
    text = yaml.dump(value, **_DUMP_OPTIONS)
    text = text.removesuffix("\n...\n").removesuffix("\n")
    if "\n" in text:
        raise _NotPlain
    return text


def _key(value: Any) -> str:
    text = _scalar(value)
    if not text or len(text) >= _SIMPLE_KEY_LIMIT or value == "":
        raise _NotPlain
    return text


def _block_yaml(document: dict[str, Any]) -> str | None:
    if not document:
        return None  # PyYAML writes `{}`
    out: list[str] = []
    try:
        _mapping(document, 0, "", out)
    except _NotPlain:
        return None
    return "".join(out)


def _mapping(value: dict[Any, Any], indent: int, lead: str, out: list[str]) -> None:
    """Keys at column ``indent``; the first line starts with ``lead`` (e.g. ``'  - '``)."""
    pad = " " * indent
    start = lead
    for key, item in value.items():
        text = _key(key)
        kind = type(item)
        if kind is dict and item:
            out.append(f"{start}{text}:\n")
            _mapping(item, indent + 2, " " * (indent + 2), out)
        elif kind is list and item:
            out.append(f"{start}{text}:\n")
            _sequence(item, indent, pad, out)  # PyYAML does not indent a mapping's sequence
        else:
            out.append(f"{start}{text}: {_leaf(item)}\n")
        start = pad


def _sequence(value: list[Any], indent: int, lead: str, out: list[str]) -> None:
    """Dashes at column ``indent``; the first line starts with ``lead``."""
    pad = " " * indent
    start = lead
    for item in value:
        kind = type(item)
        if kind is dict and item:
            _mapping(item, indent + 2, f"{start}- ", out)
        elif kind is list and item:
            _sequence(item, indent + 2, f"{start}- ", out)
        else:
            out.append(f"{start}- {_leaf(item)}\n")
        start = pad


def _leaf(value: Any) -> str:
    if type(value) is dict:
        return "{}"
    if type(value) is list:
        return "[]"
    return _scalar(value)


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
