"""Throughput of IntermediateStore against raw fsspec on the same store, side by side.

For each backend (local disk, moto S3 started here on 127.0.0.1) and each repeat, writes and
reads the same random ``--size-mb`` object through ``IntermediateStore.put``/``get`` and through
raw ``fs.pipe_file``/``fs.cat_file`` (alternating, so both see the same machine load), then
prints medians and the throughput ratios ours/raw (target >= 0.8). Measures, never asserts.

    python benchmarks/bench_store.py [--size-mb 100] [--repeats 3] [--backends local,s3]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

import fsspec

from kedro_argo.runtime.store import IntermediateStore, _crc32


def _timed(action: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@contextmanager
def local_root() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        yield directory + "/"


@contextmanager
def moto_root() -> Iterator[str]:
    """A moto S3 server in this process, configured through env like a pod."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"])),
        }
    )
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    bucket = f"bench-{secrets.token_hex(4)}"
    fs.mkdir(bucket)
    try:
        yield f"s3://{bucket}/"
    finally:
        fs.rm(bucket, recursive=True)
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


BACKENDS = {"local": local_root, "s3": moto_root}


def bench(root: str, data: bytes, repeats: int) -> dict[str, list[float]]:
    """Each round writes fresh keys, as each workflow run does (overwrites happen on retries
    only); the previous round's objects are deleted outside the timed sections."""
    store = IntermediateStore()
    fs, _ = fsspec.core.url_to_fs(root)
    times: dict[str, list[float]] = {k: [] for k in ("ours_w", "ours_r", "raw_w", "raw_r")}
    for round_no in range(repeats + 1):  # round 0 is untimed: connections, first touches
        ours_uri, raw_uri = f"{root}run-{round_no}/ours", f"{root}run-{round_no}/raw"
        raw_path = fs._strip_protocol(raw_uri)
        fs.makedirs(fs._parent(raw_path), exist_ok=True)
        sample = {
            "raw_w": _timed(lambda: fs.pipe_file(raw_path, data)),  # noqa: B023
            "ours_w": _timed(lambda: store.put(ours_uri, data)),  # noqa: B023
            "raw_r": _timed(lambda: fs.cat_file(raw_path)),  # noqa: B023
            "ours_r": _timed(lambda: store.get(ours_uri)),  # noqa: B023
        }
        if round_no == 0:
            assert store.get(ours_uri) == data and fs.cat_file(raw_path) == data
        else:
            for key, seconds in sample.items():
                times[key].append(seconds)
        fs.rm(fs._strip_protocol(f"{root}run-{round_no}"), recursive=True)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0, help="object size in MiB")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per backend")
    parser.add_argument("--backends", default="local,s3", help="comma list of local,s3")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backends: {', '.join(unknown)}")

    size = int(args.size_mb * 2**20)
    data = os.urandom(size)
    mib = size / 2**20
    print(
        f"object {mib:.0f} MiB (bytes), median of {args.repeats}; CRC32 via "
        f"{_crc32.__module__}; MB/s = MiB/s"
    )
    header = (
        f"{'backend':8} {'op':11} {'raw s':>7} {'ours s':>7} {'raw MB/s':>9} "
        f"{'ours MB/s':>9} {'ours/raw':>8}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        with BACKENDS[name]() as root:
            times = bench(root, data, args.repeats)
        medians = {key: statistics.median(values) for key, values in times.items()}
        medians["raw_wr"] = medians["raw_w"] + medians["raw_r"]
        medians["ours_wr"] = medians["ours_w"] + medians["ours_r"]
        for label, key in (("write", "w"), ("read", "r"), ("write+read", "wr")):
            raw, ours = medians[f"raw_{key}"], medians[f"ours_{key}"]
            print(
                f"{name:8} {label:11} {raw:7.3f} {ours:7.3f} {mib / raw:9.0f} "
                f"{mib / ours:9.0f} {raw / ours:8.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
