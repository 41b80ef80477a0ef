"""Tests for kedro_argo.runtime.store: object format, atomic writes, errors, backends.

Storage tests run on a local directory, moto S3 and fake-gcs-server (``object_store_root``).
The store gets no storage options: in this process and in child processes it finds the
emulators through the environment the server fixtures export, as a pod would.
"""

from __future__ import annotations

import logging
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import fsspec
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kedro.io import DataCatalog, DatasetError

from kedro_argo.errors import IntermediateDataError, KedroArgoError
from kedro_argo.runtime import store as store_module
from kedro_argo.runtime.store import (
    FORMAT_VERSION,
    HEADER_SIZE,
    MAGIC,
    IntermediateDataset,
    IntermediateDatasetError,
    IntermediateStore,
    compression_from_env,
    intermediate_uri,
)

CODECS = ["none", "zlib", "lz4"]
CHILD_TIMEOUT_S = 60


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "engine": ["Quadruple", "Double", "Single"] * 50,
            "price": [1.5, 2.25, 3.0] * 50,
            "when": pd.date_range("2024-01-01", periods=150, freq="h", tz="UTC"),
        }
    )


def _make_closure(offset: int) -> Any:
    def shifted(x: int) -> int:
        return x + offset

    return shifted


def _raw_fs(uri: str) -> tuple[Any, str]:
    """The same env-configured filesystem the store uses, for raw reads and writes."""
    fs, path = fsspec.core.url_to_fs(uri)
    fs.invalidate_cache()
    return fs, path


def _read_raw(uri: str) -> bytes:
    fs, path = _raw_fs(uri)
    return fs.cat_file(path)


def _write_raw(uri: str, data: bytes) -> None:
    fs, path = _raw_fs(uri)
    fs.pipe_file(path, data)


def _error_line(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", CODECS)
def test_round_trip_of_frames_dicts_and_closures(object_store_root: str, compression: str) -> None:
    store = IntermediateStore(compression)
    uri = object_store_root + "run-1/model_input_table"
    value = {
        "frame": _frame(),
        "nested": {"a": [1, 2, (3, 4)], "b": {"c": None, "d": b"\x00\xff"}},
        "lambda": lambda x: x * 3,
        "closure": _make_closure(40),
    }

    store.put(uri, value)
    loaded = store.get(uri)

    pd.testing.assert_frame_equal(loaded["frame"], value["frame"])
    assert loaded["nested"] == value["nested"]
    assert loaded["lambda"](2) == 6
    assert loaded["closure"](2) == 42
    assert _read_raw(uri)[len(MAGIC) + 1] == store_module.CODECS[compression]


@pytest.fixture
def small_upload_parts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make s3fs/gcsfs upload a few MiB in several parts, as they do 100 MiB by default.

    Yields the names of the chunked-upload calls made, to prove those paths ran.
    """
    import gcsfs
    import gcsfs.core
    import s3fs

    calls: list[str] = []
    s3_pipe, s3_call = s3fs.S3FileSystem._pipe_file, s3fs.S3FileSystem._call_s3
    gcs_pipe, gcs_upload_chunk = gcsfs.GCSFileSystem._pipe_file, gcsfs.core.upload_chunk

    async def s3_pipe_small(self: Any, path: str, data: Any, **kwargs: Any) -> Any:
        return await s3_pipe(self, path, data, **{**kwargs, "chunksize": 5 << 20})

    async def s3_call_spy(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(method)
        return await s3_call(self, method, *args, **kwargs)

    async def gcs_pipe_small(self: Any, path: str, data: Any, **kwargs: Any) -> Any:
        return await gcs_pipe(self, path, data, **{**kwargs, "chunksize": 1 << 20})

    async def gcs_upload_chunk_spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("upload_chunk")
        return await gcs_upload_chunk(*args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_pipe_file", s3_pipe_small)
    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", s3_call_spy)
    monkeypatch.setattr(gcsfs.GCSFileSystem, "_pipe_file", gcs_pipe_small)
    monkeypatch.setattr(gcsfs.core, "upload_chunk", gcs_upload_chunk_spy)
    # Cached instances bound the original methods when they were created.
    s3fs.S3FileSystem.clear_instance_cache()
    gcsfs.GCSFileSystem.clear_instance_cache()
    yield calls
    s3fs.S3FileSystem.clear_instance_cache()
    gcsfs.GCSFileSystem.clear_instance_cache()


def test_large_bytes_round_trip_through_chunked_uploads(
    object_store_root: str, small_upload_parts: list[str]
) -> None:
    store = IntermediateStore()
    uri = object_store_root + "run-1/big"
    value = {"blob": os.urandom(11 << 20), "tail": bytearray(b"end")}

    store.put(uri, value)

    assert store.get(uri) == value
    if object_store_root.startswith("s3://"):
        assert small_upload_parts.count("upload_part") >= 3
        assert "complete_multipart_upload" in small_upload_parts
    elif object_store_root.startswith("gs://"):
        assert small_upload_parts.count("upload_chunk") >= 11


def test_object_layout_is_the_documented_header_then_cloudpickle(tmp_path: Path) -> None:
    value = {"x": [1, 2, 3], "f": _frame()}
    uri = str(tmp_path / "obj")

    IntermediateStore().put(uri, value)
    raw = Path(uri).read_bytes()

    payload = raw[HEADER_SIZE:]
    assert raw[:6] == b"KARGO\x00"
    assert raw[6] == FORMAT_VERSION == 1
    assert raw[7] == 0
    assert int.from_bytes(raw[8:16], "big") == len(payload)
    assert int.from_bytes(raw[16:20], "big") == zlib.crc32(payload)
    loaded = cloudpickle.loads(payload)
    assert loaded["x"] == value["x"]
    pd.testing.assert_frame_equal(loaded["f"], value["f"])


@pytest.mark.parametrize("compression", ["zlib", "lz4"])
def test_compression_shrinks_compressible_data(tmp_path: Path, compression: str) -> None:
    value = b"kedro-argo " * 100_000
    IntermediateStore("none").put(str(tmp_path / "plain"), value)
    IntermediateStore(compression).put(str(tmp_path / "packed"), value)

    packed = tmp_path / "packed"
    assert packed.stat().st_size < (tmp_path / "plain").stat().st_size / 10
    # Readers follow the header, whatever their own compression setting.
    assert IntermediateStore("none").get(str(packed)) == value


def test_overwrite_replaces_the_object_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = IntermediateStore()
    uri = str(tmp_path / "run" / "ds")

    store.put(uri, "first")
    store.put(uri, "second")

    assert store.get(uri) == "second"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["ds"]


@pytest.mark.parametrize("form", ["relative", "file_url", "memory"])
def test_plain_paths_file_and_memory_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = {
        "relative": "data/run-7/X_test",
        "file_url": f"file://{tmp_path}/data/run-7/X_test",
        "memory": f"memory://kedro-argo-tests/{os.getpid()}/{time.time_ns()}/X_test",
    }[form]
    store = IntermediateStore()

    assert not store.exists(uri)
    store.put(uri, [1, "two"])

    assert store.exists(uri)
    assert store.get(uri) == [1, "two"]
    if form != "memory":
        assert (tmp_path / "data" / "run-7" / "X_test").is_file()


def test_exists_is_true_only_for_stored_objects(object_store_root: str) -> None:
    store = IntermediateStore()
    uri = object_store_root + "run-1/companies"

    assert not store.exists(uri)
    store.put(uri, 1)

    assert store.exists(uri)
    assert not store.exists(object_store_root + "run-1/compan")


# -- errors ------------------------------------------------------------------------------------


def test_missing_object_names_dataset_uri_and_producer(object_store_root: str) -> None:
    uri = object_store_root + "run-1/X_train"

    with pytest.raises(IntermediateDataError) as excinfo:
        IntermediateStore().get(uri, dataset_name="X_train", producer="split_data_node")

    assert _error_line(excinfo) == (
        f"Intermediate dataset 'X_train' not found at {uri}: the step running node "
        "'split_data_node' did not produce it (did it fail or run in another workflow?)"
    )


def test_missing_object_without_producer(tmp_path: Path) -> None:
    uri = f"{tmp_path}/run-1/y%7Ex"

    with pytest.raises(IntermediateDataError) as excinfo:
        IntermediateStore().get(uri)

    message = _error_line(excinfo)
    assert message.startswith(f"Intermediate dataset 'y%7Ex' not found at {uri}: ")
    assert "did it fail or run in another workflow?" in message


def test_missing_bucket_is_reported_as_not_found(moto_s3: dict[str, Any]) -> None:
    uri = "s3://no-such-bucket-kedro-argo/run/X"

    with pytest.raises(IntermediateDataError, match="'X' not found at s3://no-such-bucket"):
        IntermediateStore().get(uri, dataset_name="X")


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        (0, r"is truncated: 0 bytes, shorter than the 20-byte header"),
        (11, r"is truncated: 11 bytes, shorter than the 20-byte header"),
        (HEADER_SIZE, r"is truncated: the header says \d+ payload bytes, found 0 "),
        (-1, r"is truncated: the header says (\d+) payload bytes, found (\d+) "),
    ],
)
def test_truncated_object_is_reported(object_store_root: str, keep: int, expected: str) -> None:
    uri = object_store_root + "run-1/X_train"
    IntermediateStore().put(uri, {"frame": _frame(), "blob": os.urandom(300_000)})
    raw = _read_raw(uri)
    _write_raw(uri, raw[:keep])

    with pytest.raises(IntermediateDataError) as excinfo:
        IntermediateStore().get(uri, dataset_name="X_train")

    message = _error_line(excinfo)
    assert message.startswith(f"Intermediate dataset 'X_train' at {uri} ")
    match = re.search(expected, message)
    assert match, message
    if keep == -1:
        assert int(match.group(1)) == len(raw) - HEADER_SIZE
        assert int(match.group(2)) == len(raw) - HEADER_SIZE - 1


@pytest.mark.parametrize("where", ["large bytes", "pickle opcodes", "last byte"])
def test_flipped_payload_byte_is_a_crc_mismatch(object_store_root: str, where: str) -> None:
    uri = object_store_root + "run-1/blob"
    IntermediateStore().put(uri, {"blob": os.urandom(200_000), "frame": _frame()})
    raw = bytearray(_read_raw(uri))
    position = {"large bytes": 100_000, "pickle opcodes": HEADER_SIZE + 3, "last byte": -1}[where]
    raw[position] ^= 0x01
    _write_raw(uri, bytes(raw))

    with pytest.raises(IntermediateDataError) as excinfo:
        IntermediateStore().get(uri, dataset_name="blob")

    message = _error_line(excinfo)
    header_crc = int.from_bytes(raw[16:20], "big")
    actual_crc = zlib.crc32(raw[HEADER_SIZE:])
    assert message == (
        f"Intermediate dataset 'blob' at {uri} is corrupt: CRC32 mismatch "
        f"(header 0x{header_crc:08x}, payload 0x{actual_crc:08x})"
    )


def test_extra_bytes_after_the_payload_are_corruption(tmp_path: Path) -> None:
    uri = str(tmp_path / "ds")
    IntermediateStore().put(uri, "value")
    with Path(uri).open("ab") as file:
        file.write(b"junk")

    with pytest.raises(IntermediateDataError, match=r"is corrupt: the header says \d+ payload"):
        IntermediateStore().get(uri)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 0, 255])
def test_unknown_format_version_is_refused(object_store_root: str, version: int) -> None:
    uri = object_store_root + "run-1/model"
    IntermediateStore().put(uri, "from a newer kedro-argo")
    raw = bytearray(_read_raw(uri))
    raw[6] = version
    _write_raw(uri, bytes(raw))

    with pytest.raises(IntermediateDataError) as excinfo:
        IntermediateStore().get(uri, dataset_name="model")

    message = _error_line(excinfo)
    assert message.startswith(
        f"Intermediate dataset 'model' at {uri} uses object format version {version}, "
        f"but this kedro-argo ("
    )
    assert f"reads version {FORMAT_VERSION} only" in message


def test_unknown_codec_is_refused(tmp_path: Path) -> None:
    uri = str(tmp_path / "ds")
    IntermediateStore().put(uri, "value")
    raw = bytearray(Path(uri).read_bytes())
    raw[7] = 9
    Path(uri).write_bytes(bytes(raw))

    with pytest.raises(IntermediateDataError, match="uses unknown codec id 9"):
        IntermediateStore().get(uri)


@pytest.mark.parametrize("content", [b"PAR1 not ours at all, long enough", b"{}"])
def test_foreign_object_is_not_mistaken_for_an_intermediate_one(
    tmp_path: Path, content: bytes
) -> None:
    uri = str(tmp_path / "ds")
    Path(uri).write_bytes(content)

    with pytest.raises(IntermediateDataError, match="is not a kedro-argo intermediate object"):
        IntermediateStore().get(uri)


@pytest.mark.parametrize("target", ["local", "memory"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_single_byte_change_or_truncation_is_detected(
    tmp_path: Path, target: str, data: st.DataObject
) -> None:
    """Damaged objects never load: every single-byte change or cut raises our error."""
    if target == "local":
        uri = f"{tmp_path}/ds"
    else:
        uri = f"memory://kedro-argo-tests/{os.getpid()}/{time.time_ns()}/ds"
    compression = data.draw(st.sampled_from(CODECS), label="compression")
    blob = random.Random(7).randbytes(3000)  # the same object, hence sizes, in every example
    IntermediateStore(compression).put(uri, {"f": _frame().head(20), "b": blob})
    raw = bytearray(_read_raw(uri))
    if data.draw(st.booleans(), label="truncate"):
        damaged = bytes(raw[: data.draw(st.integers(0, len(raw) - 1), label="keep")])
    else:
        position = data.draw(st.integers(0, len(raw) - 1), label="position")
        raw[position] ^= data.draw(st.integers(1, 255), label="xor")
        damaged = bytes(raw)
    _write_raw(uri, damaged)

    with pytest.raises(IntermediateDataError):
        IntermediateStore().get(uri)


def test_unpicklable_value_is_reported_and_leaves_nothing(tmp_path: Path) -> None:
    uri = str(tmp_path / "run" / "handle")
    store = IntermediateStore()

    with pytest.raises(IntermediateDataError) as excinfo:
        store.put(uri, {"ok": 1, "lock": __import__("threading").Lock()}, dataset_name="handle")

    message = _error_line(excinfo)
    assert message.startswith(f"Intermediate dataset 'handle' at {uri} cannot be pickled: ")
    assert "lock" in message
    assert list((tmp_path / "run").iterdir()) == []


def test_value_of_a_module_the_reader_lacks_is_an_unpickling_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "only_in_producer.py").write_text("class Model:\n    pass\n")
    monkeypatch.syspath_prepend(str(package))
    import only_in_producer  # type: ignore[import-not-found]

    uri = str(tmp_path / "model")
    IntermediateStore().put(uri, only_in_producer.Model())
    monkeypatch.delitem(sys.modules, "only_in_producer")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(package)])

    with pytest.raises(IntermediateDataError) as excinfo:
        IntermediateStore().get(uri, dataset_name="model")

    assert _error_line(excinfo) == (
        f"Intermediate dataset 'model' at {uri} could not be unpickled: ModuleNotFoundError: "
        "No module named 'only_in_producer' (does this image have the same code and packages "
        "as the producer's?)"
    )


def test_unknown_compression_is_refused() -> None:
    with pytest.raises(IntermediateDataError, match="Unknown intermediate data compression 'gz'"):
        IntermediateStore("gz")


def test_lz4_without_the_package_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = str(tmp_path / "ds")
    IntermediateStore("lz4").put(uri, "packed")
    monkeypatch.setitem(sys.modules, "lz4", None)
    monkeypatch.setitem(sys.modules, "lz4.frame", None)

    with pytest.raises(IntermediateDataError, match=r"pip install 'kedro-argo\[lz4\]'"):
        IntermediateStore("lz4")
    with pytest.raises(IntermediateDataError, match=r"lacks the 'lz4' package"):
        IntermediateStore().get(uri)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "none"), ("", "none"), ("zlib", "zlib"), (" LZ4 ", "lz4"), ("none", "none")],
)
def test_compression_from_env(value: str | None, expected: str) -> None:
    environ = {} if value is None else {"KEDRO_ARGO_COMPRESSION": value}
    assert compression_from_env(environ) == expected


def test_compression_from_env_rejects_unknown_values() -> None:
    with pytest.raises(IntermediateDataError, match=r"'brotli' \(KEDRO_ARGO_COMPRESSION\)"):
        compression_from_env({"KEDRO_ARGO_COMPRESSION": "brotli"})


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("s3://bucket", "s3://bucket/r-1/X~20train"),
        ("s3://bucket/", "s3://bucket/r-1/X~20train"),
        ("gs://bucket/prefix/deeper", "gs://bucket/prefix/deeper/r-1/X~20train"),
        ("/mnt/data", "/mnt/data/r-1/X~20train"),
        ("/mnt/data/", "/mnt/data/r-1/X~20train"),
        ("/", "/r-1/X~20train"),
        ("relative/dir", "relative/dir/r-1/X~20train"),
        ("file:///mnt/data", "file:///mnt/data/r-1/X~20train"),
    ],
)
def test_intermediate_uri(root: str, expected: str) -> None:
    assert intermediate_uri(root, "r-1", "X~20train") == expected


@pytest.mark.parametrize(
    ("root", "run_id", "name"),
    [("s3://b", "a/b", "x"), ("s3://b", "r", "x/y"), ("s3://b", "", "x"), ("", "r", "x"),
     ("s3://b", "..", "x"), ("s3://b", "r", ".")],
)  # fmt: skip
def test_intermediate_uri_rejects_non_segments(root: str, run_id: str, name: str) -> None:
    with pytest.raises(ValueError):
        intermediate_uri(root, run_id, name)


# -- the Kedro dataset -------------------------------------------------------------------------


def test_dataset_saves_and_loads_through_a_catalog(object_store_root: str) -> None:
    uri = object_store_root + "run-1/X_train"
    catalog = DataCatalog()
    catalog["X_train"] = IntermediateDataset(uri, "X_train", producer="split_data_node")

    assert not catalog.exists("X_train")
    catalog.save("X_train", _frame())

    assert catalog.exists("X_train")
    pd.testing.assert_frame_equal(catalog.load("X_train"), _frame())
    assert IntermediateStore().get(uri).shape == (150, 3)


def test_dataset_load_of_a_missing_object_raises_one_clear_line(tmp_path: Path) -> None:
    uri = f"{tmp_path}/run-1/X_train"
    dataset = IntermediateDataset(uri, "X_train", producer="split_data_node")

    with pytest.raises(IntermediateDatasetError) as excinfo:
        dataset.load()

    # Kedro passes DatasetErrors through unwrapped; the CLI reports KedroArgoErrors.
    assert isinstance(excinfo.value, DatasetError)
    assert isinstance(excinfo.value, KedroArgoError)
    assert _error_line(excinfo) == (
        f"Intermediate dataset 'X_train' not found at {uri}: the step running node "
        "'split_data_node' did not produce it (did it fail or run in another workflow?)"
    )


def test_dataset_save_errors_are_one_clear_line(tmp_path: Path) -> None:
    dataset = IntermediateDataset(f"{tmp_path}/run/gen", "gen")

    with pytest.raises(IntermediateDatasetError, match=r"^Intermediate dataset 'gen' at .*pickled"):
        dataset.save(x for x in range(3))


@pytest.mark.parametrize("compression", CODECS)
def test_dataset_describe_and_repr_show_the_uri(compression: str) -> None:
    dataset = IntermediateDataset("s3://b/run/X_train", "X_train", "split_data_node", compression)

    assert dataset._describe() == {
        "uri": "s3://b/run/X_train",
        "dataset_name": "X_train",
        "producer": "split_data_node",
        "compression": compression,
    }
    assert repr(dataset) == (
        "kedro_argo.runtime.store.IntermediateDataset(uri='s3://b/run/X_train', "
        f"dataset_name='X_train', producer='split_data_node', compression='{compression}')"
    )


# -- credentials -------------------------------------------------------------------------------


def test_credentials_never_appear_in_repr_errors_or_logs(
    s3_bucket: str, moto_s3: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    secret, token = moto_s3["secret"], moto_s3["token"]
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == secret  # the store really runs with it
    uri = s3_bucket + "run-1/X_train"
    dataset = IntermediateDataset(uri, "X_train", producer="split_data_node")
    texts: list[str] = [repr(dataset), str(dataset), str(dataset._describe())]

    with caplog.at_level(logging.DEBUG):
        for action in (dataset.load, lambda: IntermediateStore().get(s3_bucket + "nope/x")):
            with pytest.raises(IntermediateDataError) as excinfo:
                action()
            texts.append(str(excinfo.value))
        dataset.save({"frame": _frame()})
        assert dataset.exists()
        dataset.load()
        _write_raw(uri, _read_raw(uri)[:-5])
        with pytest.raises(IntermediateDataError) as excinfo:
            dataset.load()
        texts.append(str(excinfo.value))

    ours = [r.getMessage() for r in caplog.records if r.name.startswith("kedro_argo")]
    assert any(uri in message for message in ours)  # the store did log, with the URI
    assert len(texts) == 6
    for text in [*texts, *ours]:
        assert secret not in text
        assert token not in text
    assert secret not in caplog.text


def test_backend_error_text_is_scrubbed_of_secrets(
    moto_s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    class LeakyFileSystem:
        def cat_file(self, path: str) -> bytes:
            raise PermissionError(f"denied for {os.environ['AWS_SECRET_ACCESS_KEY']} on {path}")

    monkeypatch.setattr(
        IntermediateStore, "_filesystem", staticmethod(lambda ref: (LeakyFileSystem(), "b/x"))
    )

    with pytest.raises(IntermediateDataError) as excinfo:
        IntermediateStore().get("s3://b/x", dataset_name="x")

    message = _error_line(excinfo)
    assert message == (
        "Intermediate dataset 'x' at s3://b/x could not be read: "
        "PermissionError: denied for *** on b/x"
    )
    assert moto_s3["secret"] not in message


# -- other processes ---------------------------------------------------------------------------


def _run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that only has this process's environment."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize("backend", ["s3", "gcs"])
def test_child_process_with_only_env_reads_and_writes(
    request: pytest.FixtureRequest, backend: str
) -> None:
    root: str = request.getfixturevalue(f"{backend}_bucket")
    store = IntermediateStore()
    store.put(root + "run-1/from_parent", {"rows": list(range(150)), "f": _make_closure(1)})

    result = _run_child(
        """
        import sys
        from kedro_argo.runtime.store import IntermediateStore
        store = IntermediateStore()
        value = store.get(sys.argv[1] + "run-1/from_parent")
        print(len(value["rows"]), value["f"](1))
        store.put(sys.argv[1] + "run-1/from_child", {"rows": len(value["rows"])})
        """,
        root,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["150", "2"]
    assert store.get(root + "run-1/from_child") == {"rows": 150}


_LOCAL_STALLING_WRITER = """
    import os, sys, time
    from pathlib import Path
    from kedro_argo.runtime.store import IntermediateStore

    uri, marker = sys.argv[1], Path(sys.argv[2])

    class Stall:
        # Pickled after the big blob, so the blob is already on disk when this stalls.
        def __reduce__(self):
            marker.write_text("stalled")
            time.sleep(600)
            return (str, ("never",))

    IntermediateStore().put(uri, {"blob": os.urandom(8 << 20), "stall": Stall()})
"""

_S3_STALLING_WRITER = """
    import asyncio, os, sys
    from pathlib import Path
    import s3fs
    from kedro_argo.runtime.store import IntermediateStore

    uri, marker, stall_at = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    pipe_file, call_s3 = s3fs.S3FileSystem._pipe_file, s3fs.S3FileSystem._call_s3

    async def pipe_in_parts(self, path, data, **kwargs):
        # Multipart from 10 MiB instead of 100 MiB, with 5 MiB parts.
        return await pipe_file(self, path, data, **{**kwargs, "chunksize": 5 << 20})

    async def stalling_call(self, method, *args, **kwargs):
        if method == stall_at and kwargs.get("PartNumber", 2) == 2:
            marker.write_text("stalled")
            await asyncio.sleep(600)
        return await call_s3(self, method, *args, **kwargs)

    s3fs.S3FileSystem._pipe_file = pipe_in_parts
    s3fs.S3FileSystem._call_s3 = stalling_call
    IntermediateStore().put(uri, os.urandom(12 << 20))
"""

_GCS_STALLING_WRITER = """
    import asyncio, os, sys
    from pathlib import Path
    import gcsfs, gcsfs.core
    from kedro_argo.runtime.store import IntermediateStore

    uri, marker = sys.argv[1], Path(sys.argv[2])
    pipe_file, upload_chunk = gcsfs.GCSFileSystem._pipe_file, gcsfs.core.upload_chunk

    async def pipe_in_chunks(self, path, data, **kwargs):
        # Resumable upload from 1 MiB instead of 50 MiB, in 1 MiB chunks.
        return await pipe_file(self, path, data, **{**kwargs, "chunksize": 1 << 20})

    async def stalling_upload_chunk(fs, location, data, offset, size, content_type):
        if offset >= 2 << 20:
            marker.write_text("stalled")
            await asyncio.sleep(600)
        return await upload_chunk(fs, location, data, offset, size, content_type)

    gcsfs.GCSFileSystem._pipe_file = pipe_in_chunks
    gcsfs.core.upload_chunk = stalling_upload_chunk
    IntermediateStore().put(uri, os.urandom(5 << 20))
"""


def _kill_writer_mid_write(code: str, tmp_path: Path, *args: str) -> None:
    """Start a writer, wait until it stalls in the middle of its write, SIGKILL it."""
    marker = tmp_path / "stalled.marker"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), args[0], str(marker), *args[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        while not marker.exists():
            if child.poll() is not None:
                stderr = child.stderr.read().decode() if child.stderr else ""
                pytest.fail(f"the writer exited ({child.returncode}) before stalling:\n{stderr}")
            if time.monotonic() > deadline:
                pytest.fail("the writer never reached its stall point")
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=CHILD_TIMEOUT_S) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr:
            child.stderr.close()


@pytest.mark.parametrize("previous", [None, "complete previous object"])
def test_local_writer_killed_mid_write_leaves_old_state(
    tmp_path: Path, previous: str | None
) -> None:
    run_dir = tmp_path / "root" / "run-1"
    uri = str(run_dir / "X_train")
    store = IntermediateStore()
    if previous:
        store.put(uri, previous)

    _kill_writer_mid_write(_LOCAL_STALLING_WRITER, tmp_path, uri)

    # The kill really happened mid-write: a partial temporary sibling holds the blob.
    partial = [p for p in run_dir.iterdir() if p.name != "X_train"]
    assert len(partial) == 1
    assert partial[0].stat().st_size > 8 << 20
    if previous:
        assert store.get(uri) == previous
    else:
        assert not store.exists(uri)
        with pytest.raises(IntermediateDataError, match="'X_train' not found at"):
            store.get(uri, dataset_name="X_train")
    store.put(uri, "next attempt")  # and a retry of the step just works
    assert store.get(uri) == "next attempt"


@pytest.mark.parametrize(
    ("stall_at", "previous"),
    [("upload_part", None), ("complete_multipart_upload", "complete previous object")],
)
def test_s3_writer_killed_mid_upload_leaves_old_state(
    s3_bucket: str, moto_s3: dict[str, Any], tmp_path: Path, stall_at: str, previous: str | None
) -> None:
    import s3fs

    uri = s3_bucket + "run-1/X_train"
    store = IntermediateStore()
    if previous:
        store.put(uri, previous)

    _kill_writer_mid_write(_S3_STALLING_WRITER, tmp_path, uri, stall_at)

    # The kill really happened mid-write: a multipart upload was left open.
    fs = s3fs.S3FileSystem(**moto_s3)
    uploads = fs.list_multipart_uploads(s3_bucket.removeprefix("s3://").rstrip("/"))
    assert [u["Key"] for u in uploads] == ["run-1/X_train"]
    if previous:
        assert store.get(uri) == previous
    else:
        assert not store.exists(uri)
        with pytest.raises(IntermediateDataError, match="'X_train' not found at"):
            store.get(uri, dataset_name="X_train")


def test_gcs_writer_killed_mid_upload_leaves_old_state(gcs_bucket: str, tmp_path: Path) -> None:
    uri = gcs_bucket + "run-1/X_train"
    store = IntermediateStore()
    store.put(uri, "complete previous object")

    _kill_writer_mid_write(_GCS_STALLING_WRITER, tmp_path, uri)

    assert store.get(uri) == "complete previous object"
    fs, path = _raw_fs(uri)
    assert fs.ls(path.rsplit("/", 1)[0], detail=False) == [path]


def test_killed_writer_test_catches_a_writer_that_writes_in_place(tmp_path: Path) -> None:
    """The kill scenario above is meaningful: writing in place would expose a partial object."""
    uri = str(tmp_path / "root" / "X_train")
    code = _LOCAL_STALLING_WRITER.replace(
        "IntermediateStore().put(",
        "def put_in_place(self, ref, path, obj):\n"
        "        Path(path).parent.mkdir(parents=True, exist_ok=True)\n"
        "        with Path(path).open('wb') as sink:\n"
        "            return self._pickle_into(ref, sink, obj)\n"
        "    IntermediateStore._put_local = put_in_place\n"
        "    IntermediateStore().put(",
    )

    _kill_writer_mid_write(code, tmp_path, uri)

    assert IntermediateStore().exists(uri)  # the partial object is visible...
    with pytest.raises(IntermediateDataError, match="is incomplete: its header was never written"):
        IntermediateStore().get(uri)  # ...and only the header keeps it from loading


def test_a_sweep_branch_has_its_own_folder_of_the_run() -> None:
    assert intermediate_uri("s3://b/p", "r-1", "model", "alpha-0.1") == (
        "s3://b/p/r-1/~sweep/alpha-0.1/model"
    )
    for branch in ("a/b", "", ".."):
        with pytest.raises(ValueError):
            intermediate_uri("s3://b/p", "r-1", "model", branch)
