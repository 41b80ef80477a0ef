"""What a local run leaves to resume it: ``<log dir>/run.json``.

A record holds what makes a resumed run the *same* run — the manifest as it ran, the
workflow's name, uid (so the same prefix of the data root) and creation time (so the same
save version of versioned datasets), the workflow parameters and the data root — and the
phase each step ended in. ``kedro argo run-local --resume RUN`` runs that manifest again
with those values and does not run the steps that succeeded, as Argo's retry does.

The record is written before the first step starts and again when the run ends (also when it
is interrupted), atomically: a reader sees the old record or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_argo.errors import LocalRunError

RECORD_FILE = "run.json"
FORMAT = 1


@dataclass(frozen=True)
class RunRecord:
    workflow_name: str
    workflow_uid: str
    creation_timestamp: str  # RFC 3339, {{workflow.creationTimestamp}}
    parameters: Mapping[str, str]
    data_root: str
    manifest: Mapping[str, Any]
    steps: Mapping[str, str] = field(default_factory=dict)  # step name -> final phase
    phase: str = "Running"  # the workflow's, when it ended

    def succeeded_steps(self) -> frozenset[str]:
        return frozenset(name for name, phase in self.steps.items() if phase == "Succeeded")

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "workflow_name": self.workflow_name,
                "workflow_uid": self.workflow_uid,
                "creation_timestamp": self.creation_timestamp,
                "parameters": dict(self.parameters),
                "data_root": self.data_root,
                "phase": self.phase,
                "steps": dict(self.steps),
                "manifest": self.manifest,
            },
            indent=1,
            sort_keys=True,
        )


def write_record(log_dir: Path, record: RunRecord) -> Path:
    """Write ``record`` to ``<log_dir>/run.json`` atomically."""
    log_dir.mkdir(parents=True, exist_ok=True)
    target = log_dir / RECORD_FILE
    fd, tmp = tempfile.mkstemp(prefix=".run.", suffix=".json.tmp", dir=log_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(record.to_json())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_record(path: Path) -> RunRecord:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LocalRunError(f"cannot read the run record {str(path)!r}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LocalRunError(f"{str(path)!r} is not a run record this kedro-argo wrote")
    try:
        return RunRecord(
            workflow_name=str(data["workflow_name"]),
            workflow_uid=str(data["workflow_uid"]),
            creation_timestamp=str(data["creation_timestamp"]),
            parameters={str(k): str(v) for k, v in dict(data["parameters"]).items()},
            data_root=str(data["data_root"]),
            manifest=dict(data["manifest"]),
            steps={str(k): str(v) for k, v in dict(data.get("steps") or {}).items()},
            phase=str(data.get("phase") or "Running"),
        )
    except (KeyError, TypeError, ValueError):
        raise LocalRunError(f"{str(path)!r} is not a run record this kedro-argo wrote") from None


def find_record(logs_root: Path, run: str) -> tuple[Path, RunRecord]:
    """The record of the local run named ``run`` (its workflow name) or with that uid."""
    direct = logs_root / run / RECORD_FILE
    if direct.is_file():
        return direct.parent, read_record(direct)
    candidates: Iterable[Path] = sorted(logs_root.glob(f"*/{RECORD_FILE}"))
    for path in candidates:
        try:
            record = read_record(path)
        except LocalRunError:
            continue
        if record.workflow_uid == run:
            return path.parent, record
    known = sorted(p.parent.name for p in logs_root.glob(f"*/{RECORD_FILE}"))
    shown = ", ".join(known[-5:]) if known else "none"
    raise LocalRunError(
        f"No local run {run!r} to resume in {str(logs_root)!r} (give a workflow name or uid "
        f"printed by run-local; recent runs: {shown})"
    )
