"""Intermediate data exchanged between the pods of a workflow.

Each step pickles the free/memory datasets it produces to
``<data root>/<run id>/<escaped name>`` and the steps downstream read them back. An object is a
fixed header followed by the (optionally compressed) ``cloudpickle`` payload::

    magic     6 bytes   b"KARGO\\x00"
    version   1 byte    object format version (FORMAT_VERSION)
    codec     1 byte    0 none, 1 zlib, 2 lz4 frame
    length    8 bytes   big-endian length of the stored payload
    crc32     4 bytes   big-endian CRC32 of the stored payload
    payload   `length` bytes

The header lets a reader tell a missing object, a truncated one (killed writer, partial copy), a
corrupt one and one written by a newer kedro-argo apart, and say so in one line instead of a
pickle traceback.

Writes are atomic: local files go to a temporary sibling that is renamed into place; object
stores get the whole object in one ``pipe_file`` call, and commit it only once it is complete.
Storage options come from the environment only (``AWS_*``, ``STORAGE_EMULATOR_HOST``, workload
identity...), so nothing secret ever passes through this module.
"""

from __future__ import annotations

import io
import logging
import mmap
import os
import pickle
import re
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import cloudpickle
import fsspec
from fsspec.implementations.local import LocalFileSystem
from kedro.io import AbstractDataset, DatasetError

from kedro_argo import __version__
from kedro_argo.contract import COMPRESSION_ENV
from kedro_argo.errors import IntermediateDataError

__all__ = [
    "CODECS",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "IntermediateDataset",
    "IntermediateDatasetError",
    "IntermediateStore",
    "UnpicklableDataError",
    "check_compression",
    "compression_from_env",
    "intermediate_uri",
]

logger = logging.getLogger(__name__)

MAGIC = b"KARGO\x00"
FORMAT_VERSION = 1
PICKLE_PROTOCOL = 5
_HEADER = struct.Struct(">6sBBQI")
HEADER_SIZE = _HEADER.size  # 20

#: Compression name (``KEDRO_ARGO_COMPRESSION``) -> codec id stored in the header.
CODECS: Mapping[str, int] = {"none": 0, "zlib": 1, "lz4": 2}
_CODEC_NAMES = {codec_id: name for name, codec_id in CODECS.items()}
#: Intermediate data is written once and read a few times, minutes later: favour speed.
ZLIB_LEVEL = 1

_DRAIN_CHUNK = 8 << 20

try:  # ISA-L's CRC32 (same polynomial as zlib's) is ~5x faster: 5 ms instead of 25 per 100 MB.
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - depends on the environment
    from zlib import crc32 as _crc32


#: Folder of a run holding its sweep branches' own data: no escaped dataset name is ``~sweep``.
BRANCHES_FOLDER = "~sweep"


def intermediate_uri(
    data_root: str, run_id: str, escaped_name: str, branch: str | None = None
) -> str:
    """Return ``<data_root>/<run_id>/<escaped_name>`` for URLs and local paths alike, or
    ``<data_root>/<run_id>/~sweep/<branch>/<escaped_name>`` for data of a sweep's branch.

    ``data_root`` may end with ``/`` or not; ``run_id``, ``branch`` and ``escaped_name`` must be
    single path segments (``naming.escape_dataset_name`` guarantees that for dataset names).
    """
    segments = [("run id", run_id), ("escaped dataset name", escaped_name)]
    if branch is not None:
        segments.append(("sweep branch", branch))
    for label, segment in segments:
        if not segment or "/" in segment or segment in {".", ".."}:
            raise ValueError(f"Invalid {label} {segment!r}: it must be a single path segment")
    if not data_root:
        raise ValueError("The intermediate data root is empty (set KEDRO_ARGO_DATA_ROOT)")
    root = data_root if data_root.endswith("/") else data_root + "/"
    if branch is not None:
        return f"{root}{run_id}/{BRANCHES_FOLDER}/{branch}/{escaped_name}"
    return f"{root}{run_id}/{escaped_name}"


def compression_from_env(environ: Mapping[str, str] | None = None) -> str:
    """Read and check ``KEDRO_ARGO_COMPRESSION`` (unset or empty means ``none``)."""
    env = os.environ if environ is None else environ
    value = (env.get(COMPRESSION_ENV) or "none").strip().lower()
    check_compression(value, source=f" ({COMPRESSION_ENV})")
    return value


def check_compression(compression: str, source: str = "") -> None:
    """Refuse an unknown codec, or lz4 without the lz4 package, before any node runs."""
    if compression not in CODECS:
        raise IntermediateDataError(
            f"Unknown intermediate data compression {compression!r}{source}: "
            f"use one of {', '.join(CODECS)}"
        )
    if compression == "lz4":
        _lz4_frame()


def _lz4_frame() -> Any:
    try:
        import lz4.frame
    except ImportError as exc:
        raise IntermediateDataError(
            "lz4 compression needs the 'lz4' package: pip install 'kedro-argo[lz4]'"
        ) from exc
    return lz4.frame


def _as_bytes_view(data: Any) -> memoryview:
    """A flat unsigned-byte view of whatever the pickler hands to ``write``."""
    if isinstance(data, pickle.PickleBuffer):
        return data.raw()
    view = memoryview(data)
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B")
    return view


class _PayloadWriter:
    """File-like target for the pickler: compresses, checksums and counts what it forwards."""

    def __init__(self, sink: BinaryIO, codec: int) -> None:
        self._sink = sink
        self.length = 0
        self.crc = 0
        self._compress: Callable[[Any], bytes] | None = None
        self._flush: Callable[[], bytes] | None = None
        if codec == CODECS["zlib"]:
            compressor = zlib.compressobj(ZLIB_LEVEL)
            self._compress, self._flush = compressor.compress, compressor.flush
        elif codec == CODECS["lz4"]:
            compressor = _lz4_frame().LZ4FrameCompressor()
            self._emit(compressor.begin())
            self._compress, self._flush = compressor.compress, compressor.flush

    def write(self, data: Any) -> int:
        view = _as_bytes_view(data)
        if self._compress is not None:
            self._emit(self._compress(view))
        else:
            self._emit(view)
        return view.nbytes

    def finish(self) -> None:
        if self._flush is not None:
            self._emit(self._flush())

    def _emit(self, data: bytes | memoryview) -> None:
        if data:
            self._sink.write(data)
            self.crc = _crc32(data, self.crc)
            self.length += len(data) if isinstance(data, bytes) else data.nbytes


class _ObjectRef:
    """Everything a message about one object needs: what it is, where, who should write it."""

    def __init__(self, uri: str, dataset_name: str | None, producer: str | None) -> None:
        self.uri = uri
        self.name = dataset_name or uri.rstrip("/").rsplit("/", 1)[-1]
        self.producer = producer

    @property
    def label(self) -> str:
        return f"Intermediate dataset '{self.name}' at {self.uri}"

    def error(self, problem: str) -> IntermediateDataError:
        return IntermediateDataError(f"{self.label} {problem}")

    def not_found(self) -> IntermediateDataError:
        if self.producer:
            why = (
                f"the step running node '{self.producer}' did not produce it "
                "(did it fail or run in another workflow?)"
            )
        else:
            why = "no step of this run produced it (did it fail or run in another workflow?)"
        return IntermediateDataError(
            f"Intermediate dataset '{self.name}' not found at {self.uri}: {why}"
        )


_SECRET_ENV = re.compile(r"SECRET|TOKEN|PASSWORD|CREDENTIAL|ACCESS_KEY|PRIVATE", re.IGNORECASE)


def _describe_exception(exc: BaseException) -> str:
    """``Type: message`` of a backend error, with any secret-looking env value blanked out.

    Backends do not put secrets in their messages, but these lines end up in pod logs and the
    Argo UI, so a cheap second line of defence is worth it.
    """
    text = " ".join(str(exc).split())[:500]
    for name, value in os.environ.items():
        if len(value) >= 6 and _SECRET_ENV.search(name) and value in text:
            text = text.replace(value, "***")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _parse_header(ref: _ObjectRef, header: bytes, total_size: int) -> tuple[int, int, int]:
    """Check magic, version, codec and length; return (codec, length, crc)."""
    if len(header) < HEADER_SIZE:
        if MAGIC.startswith(header[: len(MAGIC)]):
            raise ref.error(
                f"is truncated: {total_size} bytes, shorter than the {HEADER_SIZE}-byte header "
                "(was its writer killed?)"
            )
        raise ref.error("is not a kedro-argo intermediate object (no kedro-argo header)")
    magic, version, codec, length, crc = _HEADER.unpack(header)
    if header == bytes(HEADER_SIZE):
        # What a writer leaves before its final header write (never visible with atomic puts).
        raise ref.error("is incomplete: its header was never written (was its writer killed?)")
    if magic != MAGIC:
        raise ref.error("is not a kedro-argo intermediate object (no kedro-argo header)")
    if version != FORMAT_VERSION:
        raise ref.error(
            f"uses object format version {version}, but this kedro-argo ({__version__}) reads "
            f"version {FORMAT_VERSION} only: run the same kedro-argo version in every step"
        )
    if codec not in _CODEC_NAMES:
        raise ref.error(
            f"uses unknown codec id {codec} (this kedro-argo knows "
            f"{', '.join(f'{i} {n}' for i, n in _CODEC_NAMES.items())})"
        )
    stored = total_size - HEADER_SIZE
    if stored < length:
        raise ref.error(
            f"is truncated: the header says {length} payload bytes, found {stored} "
            "(was its writer killed, or the object copied partially?)"
        )
    if stored > length:
        raise ref.error(
            f"is corrupt: the header says {length} payload bytes, found {stored} "
            "(extra bytes after the payload)"
        )
    return codec, length, crc


def _crc_mismatch(ref: _ObjectRef, expected: int, actual: int) -> IntermediateDataError:
    return ref.error(
        f"is corrupt: CRC32 mismatch (header 0x{expected:08x}, payload 0x{actual:08x})"
    )


def _unpickle_failed(ref: _ObjectRef, exc: BaseException) -> IntermediateDataError:
    return ref.error(
        f"could not be unpickled: {_describe_exception(exc)} (does this image have the same "
        "code and packages as the producer's?)"
    )


class IntermediateStore:
    """Atomic, checked ``put``/``get``/``exists`` of pickled objects at any fsspec URL.

    ``compression`` is ``none`` (default), ``zlib`` or ``lz4``; it only affects writing: readers
    follow the codec recorded in each object's header.
    """

    def __init__(self, compression: str = "none") -> None:
        check_compression(compression)
        self.compression = compression
        self._codec = CODECS[compression]

    def __repr__(self) -> str:
        return f"IntermediateStore(compression={self.compression!r})"

    # -- writing -------------------------------------------------------------------------------

    def put(self, uri: str, obj: Any, *, dataset_name: str | None = None) -> None:
        """Store ``obj`` at ``uri``, replacing any previous object only once fully written."""
        ref = _ObjectRef(uri, dataset_name, None)
        started = time.perf_counter()
        fs, path = self._filesystem(ref)
        try:
            if isinstance(fs, LocalFileSystem):
                size = self._put_local(ref, path, obj)
            else:
                size = self._put_remote(ref, fs, path, obj)
        except IntermediateDataError:
            raise
        except Exception as exc:
            raise ref.error(f"could not be written: {_describe_exception(exc)}") from exc
        logger.debug(
            "Wrote %s (%d bytes, %s) in %.3f s",
            uri,
            size,
            self.compression,
            time.perf_counter() - started,
        )

    def _pickle_into(self, ref: _ObjectRef, sink: BinaryIO, obj: Any) -> int:
        """Write header placeholder + payload to ``sink``, then the real header; return size."""
        sink.write(bytes(HEADER_SIZE))
        writer = _PayloadWriter(sink, self._codec)
        try:
            cloudpickle.Pickler(writer, protocol=PICKLE_PROTOCOL).dump(obj)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
            raise UnpicklableDataError(
                ref.name, f"{ref.label} cannot be pickled: {_describe_exception(exc)}"
            ) from exc
        writer.finish()
        sink.seek(0)
        sink.write(_HEADER.pack(MAGIC, FORMAT_VERSION, self._codec, writer.length, writer.crc))
        return HEADER_SIZE + writer.length

    def _put_local(self, ref: _ObjectRef, path: str, obj: Any) -> int:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A sibling on the same filesystem so that the rename is atomic: a reader sees the old
        # object or the new one, and a killed writer leaves only this hidden temporary file.
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as sink:
                size = self._pickle_into(ref, sink, obj)
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def _put_remote(self, ref: _ObjectRef, fs: Any, path: str, obj: Any) -> int:
        buffer = io.BytesIO()
        size = self._pickle_into(ref, buffer, obj)
        # One upload call: object stores make the object visible only once it is complete.
        # getvalue() hands over BytesIO's own buffer without copying it.
        fs.pipe_file(path, buffer.getvalue())
        return size

    # -- reading -------------------------------------------------------------------------------

    def get(self, uri: str, *, dataset_name: str | None = None, producer: str | None = None) -> Any:
        """Load the object at ``uri`` after checking its header, length and CRC.

        ``producer`` (the node that should have written it) only improves the not-found message.
        """
        ref = _ObjectRef(uri, dataset_name, producer)
        started = time.perf_counter()
        fs, path = self._filesystem(ref)
        try:
            if isinstance(fs, LocalFileSystem):
                obj = self._get_local(ref, path)
            else:
                obj = self._get_remote(ref, fs, path)
        except IntermediateDataError:
            raise
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ref.not_found() from exc
        except Exception as exc:
            raise ref.error(f"could not be read: {_describe_exception(exc)}") from exc
        logger.debug("Read %s in %.3f s", uri, time.perf_counter() - started)
        return obj

    def _get_local(self, ref: _ObjectRef, path: str) -> Any:
        # The CRC is checked before anything is unpickled: unpickling damaged bytes can crash
        # the interpreter (C extensions trust their pickled sizes), not just raise. Mapping
        # the file lets the CRC and the unpickler read the page cache with no extra copy.
        with Path(path).open("rb") as source:
            total_size = os.fstat(source.fileno()).st_size
            codec, length, crc = _parse_header(ref, source.read(HEADER_SIZE), total_size)
            if length == 0:
                return self._decode(ref, codec, crc, memoryview(b""))
            with mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)[HEADER_SIZE : HEADER_SIZE + length]
                try:
                    return self._decode(ref, codec, crc, view)
                finally:
                    view.release()

    def _get_remote(self, ref: _ObjectRef, fs: Any, path: str) -> Any:
        # One GET: a consistent snapshot of one object version, even if a writer replaces it.
        data = fs.cat_file(path)
        view = memoryview(data)
        codec, _length, crc = _parse_header(ref, bytes(view[:HEADER_SIZE]), len(view))
        return self._decode(ref, codec, crc, view[HEADER_SIZE:])

    def _decode(self, ref: _ObjectRef, codec: int, crc: int, payload: memoryview) -> Any:
        actual = _crc32(payload)
        if actual != crc:
            raise _crc_mismatch(ref, crc, actual)
        try:
            if codec == CODECS["zlib"]:
                payload = memoryview(zlib.decompress(payload))
            elif codec == CODECS["lz4"]:
                payload = memoryview(_lz4_frame().decompress(payload))
        except IntermediateDataError:
            raise ref.error(
                "is lz4-compressed, and this image lacks the 'lz4' package: "
                "pip install 'kedro-argo[lz4]'"
            ) from None
        except Exception as exc:
            raise ref.error(
                f"could not be decompressed ({_CODEC_NAMES[codec]}): {_describe_exception(exc)}"
            ) from exc
        try:
            return pickle.loads(payload)
        except Exception as exc:
            raise _unpickle_failed(ref, exc) from exc

    # -- checking ------------------------------------------------------------------------------

    def exists(self, uri: str) -> bool:
        """Whether an object (complete or not: see ``get``) is stored at ``uri``."""
        ref = _ObjectRef(uri, None, None)
        fs, path = self._filesystem(ref)
        try:
            if isinstance(fs, LocalFileSystem):
                return Path(path).is_file()
            fs.invalidate_cache(path)
            return fs.info(path).get("type") == "file"
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise ref.error(f"could not be checked: {_describe_exception(exc)}") from exc

    @staticmethod
    def _filesystem(ref: _ObjectRef) -> tuple[Any, str]:
        try:
            return fsspec.core.url_to_fs(ref.uri)
        except Exception as exc:
            raise ref.error(
                f"has no usable filesystem: {_describe_exception(exc)} "
                "(is s3fs/gcsfs installed in this image?)"
            ) from exc


class UnpicklableDataError(IntermediateDataError):
    """An object a node returned cannot travel to another pod (cloudpickle refused it)."""

    def __init__(self, dataset_name: str, message: str) -> None:
        super().__init__(message)
        self.dataset_name = dataset_name


class IntermediateDatasetError(IntermediateDataError, DatasetError):
    """An :class:`IntermediateDataError` Kedro passes through unwrapped (it is a DatasetError).

    Kedro prefixes any other exception from ``load``/``save`` with the dataset's repr; this one
    keeps the single clear line.
    """


class IntermediateDataset(AbstractDataset[Any, Any]):
    """The dataset the in-pod runtime puts in place of free and memory datasets.

    Saves and loads through :class:`IntermediateStore` at a URI fixed for this run.
    """

    def __init__(
        self,
        uri: str,
        dataset_name: str,
        producer: str | None = None,
        compression: str = "none",
        consumers: Callable[[str], list[str]] | None = None,
    ) -> None:
        self._uri = uri
        self._dataset_name = dataset_name
        self._producer = producer
        self._consumers = consumers
        self._store = IntermediateStore(compression)

    def load(self) -> Any:
        try:
            return self._store.get(
                self._uri, dataset_name=self._dataset_name, producer=self._producer
            )
        except IntermediateDataError as exc:
            raise IntermediateDatasetError(str(exc)) from exc

    def save(self, data: Any) -> None:
        try:
            self._store.put(self._uri, data, dataset_name=self._dataset_name)
        except UnpicklableDataError as exc:
            raise IntermediateDatasetError(self._unpicklable(exc)) from exc
        except IntermediateDataError as exc:
            raise IntermediateDatasetError(str(exc)) from exc

    def _unpicklable(self, exc: UnpicklableDataError) -> str:
        """Name both ends and the way to keep the object in one pod."""
        consumers = self._consumers(self._dataset_name) if self._consumers else []
        saved_by = f"node '{self._producer}'" if self._producer else "this step"
        loaded_by = (
            f"node{'s' if len(consumers) > 1 else ''} " + ", ".join(f"'{c}'" for c in consumers)
            if consumers
            else "a node of another step"
        )
        return (
            f"{exc} — it is saved by {saved_by} and loaded by {loaded_by} in another pod, so "
            "it must be pickled: keep both nodes in one pod (--group-by memory, or the same "
            "group. tag with --group-by tag; an object that cannot be copied either needs a "
            "catalog entry `type: MemoryDataset, copy_mode: assign`), return picklable data, "
            "or declare the dataset in the catalog as a file."
        )

    def _exists(self) -> bool:
        return self._store.exists(self._uri)

    def _describe(self) -> dict[str, Any]:
        return {
            "uri": self._uri,
            "dataset_name": self._dataset_name,
            "producer": self._producer,
            "compression": self._store.compression,
        }
