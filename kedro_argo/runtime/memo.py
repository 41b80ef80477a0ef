"""Skip unchanged steps (``--skip-unchanged`` / argo.yml's ``memoize``): a step whose code,
parameters and inputs are what they were in an earlier successful run of the same step is not
run again; its outputs are put back from the cache instead.

The check happens in the pod, where the inputs can be looked at (Argo's own memoization decides
before the pod starts, from a key fixed when the workflow was compiled or submitted, so it
cannot see that a raw input file changed, nor which run's intermediate data a step loads). The
key of a step is a SHA-256 of:

* the code: every ``.py`` file of the project's package (path and bytes), and the kedro-argo
  version; the pipeline, the step's node names, the Kedro environment and the sweep branch;
* the value of every parameter its nodes load (``params:…`` / ``parameters``), as loaded;
* the content of every input: an object of the data root or a declared file, by its bytes'
  SHA-256 on a local filesystem, else by the store's checksum of the object (S3 ETag, GCS
  md5/crc32c) and size. A declared input that is not a file (a table, an API) makes the step
  run every time: kedro-argo cannot tell whether it changed.

A cache entry, ``<data root>/~memo/<key>/entry.json``, is written once the step succeeded: it
holds where each declared output was saved and its checksum, and a copy of each output that
travels through the data root (``<data root>/~memo/<key>/data/``). On a hit, the copies are put
back into this run's prefix, a declared output saved elsewhere in this run (a new version, a
path naming the run) is copied there, and one saved at the same place must still have the
checksum recorded (else something overwrote it, and the step runs).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from kedro_argo import contract
from kedro_argo.datasets import NoFileError, dataset_file

logger = logging.getLogger(__name__)

FORMAT = 1
MEMO_FOLDER = "~memo"
ENTRY_FILE = "entry.json"
#: Checksums a store reports that follow the bytes, best first. Not GCS's ``etag``: it
#: changes with every write and copy of the same bytes (it follows the object's generation).
_CHECKSUM_KEYS = (
    "md5Hash",  # GCS
    "crc32c",  # GCS
    "ChecksumSHA256",  # S3 additional checksums
    "ChecksumCRC32C",
    "ETag",  # S3 (and MinIO): the MD5 of a single-part upload and of its copies
    "content_md5",  # Azure
)


class Unknowable(Exception):
    """What a key needs cannot be known (a dataset with no file): run the step."""


def code_version(source_dir: Path) -> str:
    """SHA-256 of every ``.py`` file under ``source_dir`` (relative path and bytes)."""
    digest = hashlib.sha256()
    found = 0
    for path in sorted(source_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        found += 1
        digest.update(str(path.relative_to(source_dir)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    if not found:  # e.g. only compiled files: a code change could not be seen
        raise Unknowable(f"no Python source of the project's package under {source_dir}")
    return digest.hexdigest()


def checksum(fs: Any, path: str) -> str:
    """What says whether the file (or folder) at ``path`` changed."""
    if isinstance(fs, LocalFileSystem):
        target = Path(path)
        if target.is_dir():
            return _folder_checksum(fs, path)
        digest = hashlib.sha256()
        with target.open("rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        return "sha256:" + digest.hexdigest()
    fs.invalidate_cache(path)
    info = fs.info(path)
    if info.get("type") == "directory":
        return _folder_checksum(fs, path)
    for key in _CHECKSUM_KEYS:
        if info.get(key):
            return f"{key}:{str(info[key]).strip(chr(34))}:{info.get('size')}"
    raise Unknowable(f"{path}: the store gives no checksum")


def _folder_checksum(fs: Any, path: str) -> str:
    parts = []
    for child in sorted(fs.find(path)):
        parts.append(f"{child[len(path) :]}={checksum(fs, child)}")
    return "folder:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def file_of(dataset: Any, *, saving: bool) -> tuple[Any, str]:
    """:func:`kedro_argo.datasets.dataset_file`; a dataset with no file is :class:`Unknowable`."""
    try:
        return dataset_file(dataset, saving=saving)
    except NoFileError as exc:
        raise Unknowable(str(exc)) from None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


def _kedro_argo_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kedro-argo")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class StepMemo:
    """One step's cache entry: its key, where the entry lives, what it puts back."""

    key: str
    entry_root: str  # <data root>/~memo/<key>
    catalog: Any
    exchanged_outputs: Mapping[str, str]  # dataset -> its URI in this run
    declared_outputs: tuple[str, ...]
    max_age: float | None = None
    recorder: Any = None  # the step's ResultsRecorder (argo.yml's ui), if any

    # -- reading

    def _entry(self) -> dict[str, Any] | None:
        fs, path = fsspec.core.url_to_fs(f"{self.entry_root}/{ENTRY_FILE}")
        try:
            if not isinstance(fs, LocalFileSystem):
                fs.invalidate_cache(path)
            entry = json.loads(fs.cat_file(path))
        except FileNotFoundError:
            return None
        except ValueError:
            logger.warning("Ignoring the damaged cache entry %s", path)
            return None
        except Exception as exc:  # a store that cannot be read: the step runs
            logger.warning("Cannot read the cache entry %s (%s): the step runs", path, exc)
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            return None
        if entry.get("key") != self.key:
            return None
        if self.max_age is not None and time.time() - float(entry.get("created", 0)) > self.max_age:
            return None
        return entry

    def try_reuse(self) -> dict[str, Any] | None:
        """Put the step's outputs back from its cache entry; the entry, or ``None`` (a miss:
        no entry, too old, or an output since changed or gone) when the step must run."""
        entry = self._entry()
        if entry is None:
            return None
        copies: list[tuple[Any, str, str]] = []
        try:
            for name, uri in self.exchanged_outputs.items():
                cached = f"{self.entry_root}/data/{_escaped(name)}"
                fs, source = fsspec.core.url_to_fs(cached)
                _, target = fsspec.core.url_to_fs(uri)
                if not fs.exists(source):
                    return None
                copies.append((fs, source, target))
            recorded = entry.get("declared") or {}
            for name in self.declared_outputs:
                record = recorded.get(name)
                if not isinstance(record, dict):
                    return None
                fs, current = file_of(self.catalog.get(name), saving=True)
                if current == record["path"]:
                    if not fs.exists(current) or checksum(fs, current) != record["checksum"]:
                        return None  # overwritten since (or deleted): run the step
                else:
                    if not fs.exists(record["path"]):
                        return None
                    if checksum(fs, record["path"]) != record["checksum"]:
                        return None
                    copies.append((fs, record["path"], current))
            for fs, source, target in copies:
                fs.makedirs(fs._parent(target), exist_ok=True)
                fs.copy(source, target, recursive=fs.isdir(source))
        except Exception as exc:  # a dataset with no file, a store that fails: just run
            logger.warning("Cannot reuse the cache entry %s (%s): the step runs", self.key, exc)
            return None
        if self.recorder is not None:
            texts = entry.get("results") or {}
            self.recorder.texts.update({k: str(v) for k, v in texts.items()})
        return entry

    # -- writing

    def record(self, run: Mapping[str, str]) -> None:
        """Once the step succeeded: copy its data-root outputs into the entry, note where each
        declared output was saved and its checksum, then write ``entry.json`` (last, so a
        reader sees a complete entry or none)."""
        try:
            declared = {}
            for name in self.declared_outputs:
                fs, path = file_of(self.catalog.get(name), saving=True)
                declared[name] = {"path": path, "checksum": checksum(fs, path)}
            for name, uri in self.exchanged_outputs.items():
                fs, source = fsspec.core.url_to_fs(uri)
                _, target = fsspec.core.url_to_fs(f"{self.entry_root}/data/{_escaped(name)}")
                fs.makedirs(fs._parent(target), exist_ok=True)
                if isinstance(fs, LocalFileSystem):  # a reader sees the old copy or the new
                    partial = f"{target}.{os.getpid()}.{secrets.token_hex(4)}.partial"
                    fs.copy(source, partial)
                    os.replace(partial, target)
                else:
                    fs.copy(source, target)  # one server-side copy: visible once complete
            entry = {
                "format": FORMAT,
                "key": self.key,
                "created": time.time(),
                "declared": declared,
                "exchanged": sorted(self.exchanged_outputs),
                "results": self.recorder.shown() if self.recorder is not None else {},
                **dict(run),
            }
            _write_entry(f"{self.entry_root}/{ENTRY_FILE}", _json(entry).encode())
        except Exception as exc:  # the step succeeded: only the next run's shortcut is lost
            logger.warning("Cannot record the cache entry of this step (%s)", exc)


def _escaped(name: str) -> str:
    from kedro_argo.naming import escape_dataset_name

    return escape_dataset_name(name)


def _write_entry(uri: str, data: bytes) -> None:
    fs, path = fsspec.core.url_to_fs(uri)
    if isinstance(fs, LocalFileSystem):
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.partial")
        partial.write_bytes(data)
        partial.replace(target)
    else:
        fs.pipe_file(path, data)  # one PUT: visible only once complete


def prepare(
    *,
    call: contract.StepCall,
    pod: contract.PodEnvironment,
    source_dir: Path,
    catalog: Any,
    pipeline: Any,
    exchanged: Mapping[str, str],
    in_memory: Iterable[str],
    recorder: Any = None,
) -> StepMemo | None:
    """The step's cache entry, or ``None`` when the step cannot be skipped: the exit handler
    (``call.nodes`` empty), no data root, or an input kedro-argo cannot look at."""
    if not call.nodes or not pod.data_root:
        return None
    memory = set(in_memory)
    try:
        code = code_version(source_dir)
    except (Unknowable, OSError) as exc:
        logger.warning("Cannot tell whether this step's code changed (%s): it runs", exc)
        return None
    parts: dict[str, Any] = {
        "format": FORMAT,
        "kedro-argo": _kedro_argo_version(),
        "code": code,
        "pipeline": call.pipeline,
        "nodes": sorted(n.name for n in pipeline.nodes),
        "env": call.env,
        "sweep": call.sweep,
        "parameters": {},
        "inputs": {},
    }
    try:
        for name in sorted(pipeline.inputs()):
            if name == "parameters" or name.startswith("params:"):
                parts["parameters"][name] = _json(catalog.load(name))
            elif name in exchanged:
                fs, path = fsspec.core.url_to_fs(exchanged[name])
                parts["inputs"][name] = checksum(fs, path)
            else:
                fs, path = file_of(catalog.get(name), saving=False)
                parts["inputs"][name] = checksum(fs, path)
    except Unknowable as exc:
        logger.warning("Cannot tell whether this step's inputs changed (%s): it runs", exc)
        return None
    except FileNotFoundError:
        return None  # a missing input: the step runs and says which
    except Exception as exc:  # e.g. no version of a versioned input: Kedro says it better
        logger.warning("Cannot look at this step's inputs (%s): it runs", exc)
        return None
    key = hashlib.sha256(_json(parts).encode()).hexdigest()
    outputs = sorted(pipeline.all_outputs())
    return StepMemo(
        key=key,
        entry_root=f"{pod.data_root.rstrip('/')}/{MEMO_FOLDER}/{key}",
        catalog=catalog,
        exchanged_outputs={n: exchanged[n] for n in outputs if n in exchanged},
        declared_outputs=tuple(n for n in outputs if n not in exchanged and n not in memory),
        max_age=pod.memo_max_age,
        recorder=recorder,
    )
