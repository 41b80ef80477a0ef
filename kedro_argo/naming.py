"""Kedro names -> valid, unique, deterministic names for Argo and Kubernetes.

Kedro allows almost anything in node, pipeline, parameter and dataset names (dots, ``@``,
spaces, unicode, any length). Argo and Kubernetes do not, and the API server rejects a
manifest with a bad name. Every function here is pure and deterministic: the same input
(set) always yields the same output, so recompiling a project gives a byte-identical
manifest and task names stay stable between runs (retries, memoisation, ``argo logs``).
Where sanitising loses information, a short SHA-256 suffix of the *original* name keeps
distinct inputs distinct.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator

from kedro_argo.argo import LABEL_VALUE_MAX_LENGTH, PARAMETER_NAME_MAX_LENGTH
from kedro_argo.errors import CompileError

__all__ = [
    "escape_dataset_name",
    "to_argo_name",
    "to_argo_names",
    "to_dns_name",
    "to_label_value",
    "to_parameter_names",
    "unescape_dataset_name",
]

_HASH_LENGTH = 8
# "<prefix>-<8 hex>": the shortest limit that still leaves one character of readable prefix.
_MIN_HASHED_LENGTH = 1 + 1 + _HASH_LENGTH

_NON_ALNUM_RUN = re.compile(r"[^a-z0-9]+")
_NON_LABEL_RUN = re.compile(r"[^A-Za-z0-9_.-]+")
_NON_PARAMETER_CHAR = re.compile(r"[^-A-Za-z0-9_]")
_DATASET_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_HEX_UPPER = "0123456789ABCDEF"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _ascii(text: str) -> str:
    """NFKD-normalise and drop what is left outside ASCII (``é`` -> ``e``, emoji -> ``''``)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _argo_base(name: str) -> str:
    """The readable part of an Argo name: lower-case alnum runs joined by ``-``."""
    base = _NON_ALNUM_RUN.sub("-", _ascii(name).lower()).strip("-")
    if not base:
        return "node"
    # Argo rejects DAG task names that start with a digit.
    return f"n-{base}" if base[0].isdigit() else base


def _parameter_base(key: str) -> str:
    """``model_options.test_size`` -> ``model_options__test_size``; other bad chars -> ``-``."""
    base = _NON_PARAMETER_CHAR.sub("-", _ascii(key).replace(".", "__"))
    return base or "param"


def _unique_names(
    names: Iterable[str],
    base_of: Callable[[str], str],
    *,
    max_length: int,
    reserved: Collection[str],
    trim: str,
    what: str,
) -> dict[str, str]:
    """Map names to unique names, keeping readable bases and hashing only where needed.

    A name keeps its sanitised base when that base is unique among the inputs, not reserved
    and short enough. Otherwise it becomes ``<base prefix>-<sha256(name)[:8]>``; should that
    still clash (with another name's readable base, a reserved name or another hashed name),
    the hash grows one hex digit at a time (salted hashes once ``max_length`` leaves no room
    to grow). Names are handled in sorted order, so the result
    depends only on the set of inputs, never on their order.
    """
    if max_length < _MIN_HASHED_LENGTH:
        raise ValueError(f"max_length must be at least {_MIN_HASHED_LENGTH}, got {max_length}")
    unique = sorted(set(names))
    bases = {name: base_of(name) for name in unique}
    counts = Counter(bases.values())
    reserved_set = frozenset(reserved)

    result: dict[str, str] = {}
    to_hash: list[str] = []
    for name in unique:
        base = bases[name]
        if counts[base] == 1 and base not in reserved_set and len(base) <= max_length:
            result[name] = base
        else:
            to_hash.append(name)

    taken = set(result.values()) | reserved_set
    for name in to_hash:
        for candidate in _hashed_candidates(name, bases[name], max_length, trim, len(taken)):
            if candidate not in taken:
                break
        else:  # pragma: no cover - needs more SHA-256 prefix collisions than names exist
            raise CompileError(
                f"Cannot derive a unique {what} for {name!r} within {max_length} characters; "
                "rename it or the names it clashes with."
            )
        result[name] = candidate
        taken.add(candidate)
    return result


def _hashed_candidates(
    name: str, base: str, max_length: int, trim: str, taken_count: int
) -> Iterator[str]:
    """``<base prefix>-<hash>`` candidates: the hash of ``name`` growing a digit at a time,
    then (when ``max_length`` leaves no room to grow) salted hashes ``sha256(name + NUL + k)``.
    Enough distinct candidates to get past ``taken_count`` taken names.
    """
    digest = _sha256(name)
    for hash_length in range(_HASH_LENGTH, min(len(digest), max_length - 2) + 1):
        prefix = base[: max_length - 1 - hash_length].rstrip(trim)
        yield f"{prefix}-{digest[:hash_length]}"
    prefix = base[: max_length - 1 - _HASH_LENGTH].rstrip(trim)
    for salt in range(1, taken_count + 2):
        salted = _sha256(name + "\0" + str(salt))
        yield f"{prefix}-{salted[:_HASH_LENGTH]}"


def to_argo_names(
    names: Iterable[str], *, max_length: int = 63, reserved: Collection[str] = ()
) -> dict[str, str]:
    """Map Kedro names (nodes, pipelines, ...) to Argo template / DAG-task names.

    Every value matches :data:`ARGO_NAME_RE`, is lower-case, does not start with a digit, is at
    most ``max_length`` long, and is unique across the inputs and outside ``reserved``.
    Readable where possible (``train_model`` -> ``train-model``), hashed where not.
    ``max_length`` must be at least 10.
    """
    return _unique_names(
        names,
        _argo_base,
        max_length=max_length,
        reserved=reserved,
        trim="-",
        what="Argo name",
    )


def to_argo_name(name: str, *, max_length: int = 63, reserved: Collection[str] = ()) -> str:
    """:func:`to_argo_names` for a single name (unique only with respect to ``reserved``)."""
    return to_argo_names([name], max_length=max_length, reserved=reserved)[name]


def to_dns_name(text: str, *, max_length: int) -> str:
    """A DNS-1123 label for ``metadata.name`` / ``generateName`` bases.

    Lower-case alnum and ``-``, starting and ending with alnum, at most ``max_length``
    characters (63 for Workflow / WorkflowTemplate, 52 for CronWorkflow, 57 for a
    ``generateName`` base that gets a ``-`` appended). Empty results become ``kedro``.
    Truncation may merge long names: these are user-chosen object names, not keys.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be positive, got {max_length}")
    name = _NON_ALNUM_RUN.sub("-", _ascii(text).lower()).strip("-")
    name = name[:max_length].rstrip("-")
    return name or "kedro"[:max_length]


def to_label_value(text: str) -> str:
    """A Kubernetes label value (at most 63 characters, alnum at both ends, ``-_.`` inside).

    Valid values are kept as they are. Invalid characters become ``-``; values longer than 63
    characters are cut and end with ``-<sha256(text)[:8]>`` so distinct long inputs give
    distinct labels. An input with nothing usable gives ``''`` (a valid label value).
    """
    value = _NON_LABEL_RUN.sub("-", _ascii(text))
    value = value.strip("-_.")
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        keep = LABEL_VALUE_MAX_LENGTH - 1 - _HASH_LENGTH
        value = f"{value[:keep].rstrip('-_.')}-{_sha256(text)[:_HASH_LENGTH]}"
    return value


def to_parameter_names(
    keys: Iterable[str], *, max_length: int = PARAMETER_NAME_MAX_LENGTH
) -> dict[str, str]:
    """Map Kedro parameter keys to Argo workflow parameter names.

    ``.`` becomes ``__`` (``model_options.test_size`` -> ``model_options__test_size``), other
    characters outside ``[-a-zA-Z0-9_]`` become ``-``. Keys that clash after that (``a.b`` vs
    ``a__b``) or are too long get a hash suffix. Case is kept: parameter names are
    case-sensitive.
    """
    return _unique_names(
        keys,
        _parameter_base,
        max_length=max_length,
        reserved=(),
        trim="",
        what="Argo parameter name",
    )


def escape_dataset_name(name: str) -> str:
    """Escape a dataset name into one safe, reversible object-key / file-name segment.

    Bytes outside ``[A-Za-z0-9._-]`` of the UTF-8 encoding become ``~XX`` (upper-case hex),
    ``~`` and ``/`` included. A name made only of dots gets its first dot escaped so the
    segment is never ``.`` or ``..``; the empty name becomes ``~`` (which no other name
    produces), so the segment is never empty.
    """
    if not name:
        return "~"
    data = name.encode("utf-8", "surrogatepass")
    parts = [
        chr(byte) if byte in _DATASET_SAFE else f"~{_HEX_UPPER[byte >> 4]}{_HEX_UPPER[byte & 15]}"
        for byte in data
    ]
    if set(name) == {"."}:
        parts[0] = "~2E"
    return "".join(parts)


def unescape_dataset_name(escaped: str) -> str:
    """Inverse of :func:`escape_dataset_name`; raises ``ValueError`` on malformed input."""
    if escaped == "~":
        return ""
    out = bytearray()
    i = 0
    while i < len(escaped):
        char = escaped[i]
        if char == "~":
            pair = escaped[i + 1 : i + 3]
            if len(pair) != 2 or any(c not in _HEX_UPPER for c in pair):
                raise ValueError(f"Malformed escape at position {i} in {escaped!r}")
            out.append(int(pair, 16))
            i += 3
        elif char.isascii() and ord(char) in _DATASET_SAFE:
            out.append(ord(char))
            i += 1
        else:
            raise ValueError(f"Unexpected character {char!r} in escaped name {escaped!r}")
    try:
        return out.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise ValueError(f"Escaped name {escaped!r} is not valid UTF-8: {exc}") from exc
